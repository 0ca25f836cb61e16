/* test_verdict.c: CUnit tests for harness/verdict.c (suite hn_verdict). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "../verdict.h"
#include "wc_err.h"
#include "wc_json.h"

static void test_verdict_names_round_trip(void)
{
    enum hn_verdict v, out;

    for (v = HN_OK; v <= HN_ERROR; v++) {
        CU_ASSERT_EQUAL(hn_verdict_parse(hn_verdict_name(v), &out), 0);
        CU_ASSERT_EQUAL(out, v);
    }
    CU_ASSERT_STRING_EQUAL(hn_verdict_name(HN_NON_STRICT), "NON-STRICT");
    CU_ASSERT_EQUAL(hn_verdict_parse("non_strict", &out), 0);
    CU_ASSERT_EQUAL(out, HN_NON_STRICT);
    CU_ASSERT_EQUAL(hn_verdict_parse("ok", &out), 0);
    CU_ASSERT_EQUAL(out, HN_OK);
    out = HN_SKIPPED;
    CU_ASSERT_EQUAL(hn_verdict_parse("OKAY", &out), WC_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(hn_verdict_parse("", &out), WC_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(hn_verdict_parse(NULL, &out), WC_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(out, HN_SKIPPED);
}

static void test_verdict_grading(void)
{
    CU_ASSERT_EQUAL(hn_verdict_for_level("MUST"), HN_FAILED);
    CU_ASSERT_EQUAL(hn_verdict_for_level("SHOULD"), HN_NON_STRICT);
    CU_ASSERT_EQUAL(hn_verdict_for_level("MAY"), HN_INFORMATIONAL);
    CU_ASSERT_EQUAL(hn_verdict_for_level(NULL), HN_FAILED);
    CU_ASSERT_EQUAL(hn_verdict_worst(HN_OK, HN_NON_STRICT), HN_NON_STRICT);
    CU_ASSERT_EQUAL(hn_verdict_worst(HN_FAILED, HN_NON_STRICT), HN_FAILED);
    CU_ASSERT_EQUAL(hn_verdict_worst(HN_FAILED, HN_ERROR), HN_ERROR);
    CU_ASSERT_EQUAL(hn_verdict_worst(HN_INFORMATIONAL, HN_UNIMPLEMENTED), HN_INFORMATIONAL);
    CU_ASSERT(hn_verdict_is_pass(HN_NON_STRICT));
    CU_ASSERT(!hn_verdict_is_pass(HN_SKIPPED));
    CU_ASSERT(!hn_verdict_is_pass(HN_FAILED));
}

static const char *baseline_yaml =
    "target: cloudcli-1.37.2\n"
    "known:\n"
    "  - case: 5.2.1-codex-bare-complete\n"
    "    requirement: R-TERM-3\n"
    "    reason: Codex ends a turn with a bare complete\n"
    "    upstream: siteboon/claudecodeui#959\n"
    "  - case: 7.3.1-stale-cursor\n"
    "    reason: CloudCLI replays nothing for a stale cursor\n"
    "  - case: 6.2.1-abort-setup\n"
    "    requirement: R-ABORT-1\n"
    "    reason: abort during setup is not stopped\n"
    "  - case: 4.1.1-seq-basic\n"
    "    requirement: R-SEQ-1\n"
    "    reason: fixed since\n"
    "  - case: 9.9.9-not-in-this-run\n"
    "    reason: filtered out\n";

static json_t *case_json(const char *id, const char *verdict, const char *req1, const char *req2)
{
    json_t *c = json_pack("{s:s, s:s, s:[]}", "id", id, "verdict", verdict, "failures");

    if (req1)
        json_array_append_new(json_object_get(c, "failures"), json_pack("{s:s, s:s}", "requirement", req1, "message", "m"));
    if (req2)
        json_array_append_new(json_object_get(c, "failures"), json_pack("{s:s, s:s}", "requirement", req2, "message", "m"));
    return c;
}

static json_t *find_case(json_t *run, const char *id)
{
    json_t *c;
    size_t i;

    json_array_foreach(json_object_get(run, "cases"), i, c) {
        if (!strcmp(wc_json_str(c, "id"), id))
            return c;
    }
    return NULL;
}

static void test_verdict_baseline_marks_known_and_stale(void)
{
    char *err = NULL;
    struct hn_baseline *b = hn_baseline_load_string("base.yaml", baseline_yaml, &err);
    json_t *run = json_pack("{s:s, s:[]}", "target", "cloudcli-1.37.2", "cases"), *cases, *info;

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    cases = json_object_get(run, "cases");
    json_array_append_new(cases, case_json("5.2.1-codex-bare-complete", "FAILED", "R-TERM-3", NULL));
    json_array_append_new(cases, case_json("7.3.1-stale-cursor", "NON-STRICT", "R-SUB-7", NULL));
    /* a second, new failure next to the known one: not known */
    json_array_append_new(cases, case_json("6.2.1-abort-setup", "FAILED", "R-ABORT-1", "R-TERM-2"));
    /* listed but passes now: stale */
    json_array_append_new(cases, case_json("4.1.1-seq-basic", "OK", NULL, NULL));
    json_array_append_new(cases, case_json("8.1.1-other", "FAILED", "R-FAN-1", NULL));
    hn_baseline_apply(b, run);

    CU_ASSERT(json_is_true(json_object_get(find_case(run, "5.2.1-codex-bare-complete"), "known")));
    CU_ASSERT_STRING_EQUAL(wc_json_str(find_case(run, "5.2.1-codex-bare-complete"), "known_reason"),
                           "Codex ends a turn with a bare complete (siteboon/claudecodeui#959)");
    CU_ASSERT(json_is_true(json_object_get(find_case(run, "7.3.1-stale-cursor"), "known")));
    CU_ASSERT(json_is_false(json_object_get(find_case(run, "6.2.1-abort-setup"), "known")));
    CU_ASSERT(json_is_false(json_object_get(find_case(run, "8.1.1-other"), "known")));
    info = json_object_get(run, "baseline");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(info, "known")), 2);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(info, "stale")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(info, "stale"), 0)), "4.1.1-seq-basic");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(info, "not_run")), 1);
    CU_ASSERT_PTR_NULL(json_object_get(info, "warning"));
    json_decref(run);
    hn_baseline_free(b);
}

static void test_verdict_baseline_other_target_warns(void)
{
    char *err = NULL;
    struct hn_baseline *b = hn_baseline_load_string("b", "target: a\nknown: []\n", &err);
    json_t *run = json_pack("{s:s, s:[]}", "target", "b", "cases");

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    hn_baseline_apply(b, run);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_object_get(run, "baseline"), "warning"),
                           "the baseline is for target 'a', the run is against 'b'");
    json_decref(run);
    hn_baseline_free(b);
}

static void test_verdict_baseline_errors_have_positions(void)
{
    static const struct {
        const char *yaml;
        const char *want;
    } rows[] = {
        {"target: x\nknwon: []\n", "b.yaml:2:1: unknown key 'knwon' in a baseline"},
        {"known:\n  - case: 1.1.1-x\n", "b.yaml:2:5: baseline entry for '1.1.1-x' without 'reason'"},
        {"known:\n  - reason: r\n", "b.yaml:2:5: baseline entry without 'case'"},
        {"known:\n  - {case: a, reason: r, requirement: TERM-1}\n", "b.yaml:2:26: requirement 'TERM-1' is not a requirement id (R-...)"},
        {"known:\n  - {case: a, reason: r, why: x}\n", "b.yaml:2:26: unknown key 'why' in a baseline entry"},
        {"known: {case: a}\n", "b.yaml:1:1: 'known' must be a list of entries"},
        {"- 1\n", "b.yaml:1:3: a baseline must be a mapping {target, known}"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *err = NULL;
        struct hn_baseline *b = hn_baseline_load_string("b.yaml", rows[i].yaml, &err);
        CU_ASSERT_PTR_NULL(b);
        if (!err || strcmp(err, rows[i].want))
            printf("\n  row %zu: got \"%s\"\n", i, err ? err : "(null)");
        CU_ASSERT(err && !strcmp(err, rows[i].want));
        free(err);
    }
}

static CU_TestInfo verdict_tests[] = {
    {"names_round_trip", test_verdict_names_round_trip},
    {"grading", test_verdict_grading},
    {"baseline_marks_known_and_stale", test_verdict_baseline_marks_known_and_stale},
    {"baseline_other_target_warns", test_verdict_baseline_other_target_warns},
    {"baseline_errors_have_positions", test_verdict_baseline_errors_have_positions},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_verdict_suites[] = {
    {.pName = "hn_verdict", .pTests = verdict_tests},
    CU_SUITE_INFO_NULL,
};
