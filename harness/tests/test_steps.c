/* test_steps.c: CUnit tests for harness/model/steps.c (suite hn_steps): the step vocabulary is
 * one table, and cases/README.md documents exactly the steps in it. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "model/steps.h"
#include "wc_mem.h"

static void lookup_and_flags(void)
{
    size_t n;
    const struct hn_step_kind *k = hn_step_kinds(&n);

    CU_ASSERT_EQUAL(n, HN_STEP__COUNT);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(k[i].id, (enum hn_step_id)i);
        CU_ASSERT_PTR_EQUAL(hn_step_kind(k[i].name), &k[i]);
    }
    CU_ASSERT_PTR_NULL(hn_step_kind("nope"));
    CU_ASSERT_PTR_NULL(hn_step_kind(NULL));
    CU_ASSERT_PTR_NULL(hn_step_kind("Expect"));
    CU_ASSERT_EQUAL(hn_step_kind("expect")->flags, HN_STEP_WAITS | HN_STEP_IN_ALT);
    CU_ASSERT_EQUAL(hn_step_kind("expect_close")->flags, HN_STEP_WAITS | HN_STEP_IN_ALT);
    CU_ASSERT_EQUAL(hn_step_kind("send")->flags, 0);
    CU_ASSERT_EQUAL(hn_step_kind("note")->flags, HN_STEP_IN_ALT);
    char *w = hn_step_names_with(HN_STEP_WAITS | HN_STEP_IN_ALT);
    CU_ASSERT_STRING_EQUAL(w, "expect, expect_close, expect_ping, group, reached, "
                              "provider_done, provider_hello, provider_event");
    free(w);
}

/* Every step of the table has its row in cases/README.md's step table, and every row there
 * names a step of the table: the format's documentation cannot drift from the code. */
static void readme_lists_every_step(void)
{
    FILE *f = fopen("cases/README.md", "r");
    char line[2048];
    bool seen[HN_STEP__COUNT] = {false};
    int rows = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof(line), f)) {
        char name[64];
        if (sscanf(line, "| `%63[a-z_]` |", name) != 1 &&
            sscanf(line, "| `%63[a-z_]` (", name) != 1)
            continue;
        const struct hn_step_kind *k = hn_step_kind(name);
        if (!k) {
            /* the other tables of the file (top-level keys, ...) have rows of the same shape */
            continue;
        }
        seen[k->id] = true;
        rows++;
    }
    fclose(f);
    for (int i = 0; i < HN_STEP__COUNT; i++) {
        size_t n;
        if (!seen[i])
            fprintf(stderr, "cases/README.md has no row for step '%s'\n",
                    hn_step_kinds(&n)[i].name);
        CU_ASSERT_TRUE(seen[i]);
    }
    CU_ASSERT_TRUE(rows >= HN_STEP__COUNT);
}

static CU_TestInfo steps_tests[] = {
    {"lookup_and_flags", lookup_and_flags},
    {"readme_lists_every_step", readme_lists_every_step},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_steps_suites[] = {
    {.pName = "hn_steps", .pTests = steps_tests},
    CU_SUITE_INFO_NULL,
};
