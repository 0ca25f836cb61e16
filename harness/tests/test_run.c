/*
 * test_run.c: CUnit tests for harness/cmd/run.c (suite hn_run). What it exports besides hn_run
 * itself (which e2e drives) is the per-case seed: a case's seed depends only on the run's seed
 * and the case id, so a rerun line reproduces a case on any machine, in any order, at any -j.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "cmd/run.h"

static void test_case_seed(void)
{
    /* pinned: a change here changes every recorded rerun line */
    const uint64_t a = hn_case_seed(1, "6.2.1"), b = hn_case_seed(42, "9.1.6");
    if (a != UINT64_C(5513213714351883528) || b != UINT64_C(6861734260602429956))
        fprintf(stderr, "\n    seeds: %" PRIu64 " %" PRIu64 "\n", a, b);
    CU_ASSERT_EQUAL(a, UINT64_C(5513213714351883528));
    CU_ASSERT_EQUAL(b, UINT64_C(6861734260602429956));
    /* the same inputs, the same seed; either input changed, another seed */
    CU_ASSERT_EQUAL(hn_case_seed(7, "1.1.1"), hn_case_seed(7, "1.1.1"));
    CU_ASSERT_NOT_EQUAL(hn_case_seed(7, "1.1.1"), hn_case_seed(7, "1.1.2"));
    CU_ASSERT_NOT_EQUAL(hn_case_seed(7, "1.1.1"), hn_case_seed(8, "1.1.1"));
    CU_ASSERT_NOT_EQUAL(hn_case_seed(7, "1.1.1"), hn_case_seed(7, "1.1.1 "));
    /* always below 2^63: it is written to JSON reports as a signed integer */
    size_t changed = 0; /* from one case to the next */
    uint64_t prev = 0;
    for (uint64_t s = 0; s < 256; s++) {
        char id[16];
        snprintf(id, sizeof(id), "%u.%u.%u", (unsigned)(s % 9), (unsigned)(s / 9 % 7),
                 (unsigned)(s % 5));
        uint64_t v = hn_case_seed(s, id);
        CU_ASSERT_TRUE(v >> 63 == 0);
        changed += v != prev;
        prev = v;
    }
    CU_ASSERT_EQUAL(changed, 256);
}

static CU_TestInfo run_tests[] = {
    {"case seeds: pinned, from the run seed and the case id only", test_case_seed},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_run_suites[] = {
    {"hn_run", NULL, NULL, NULL, NULL, run_tests},
    CU_SUITE_INFO_NULL,
};
