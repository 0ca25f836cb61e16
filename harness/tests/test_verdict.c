/* test_verdict.c: CUnit tests for harness/check/verdict.c (suite hn_verdict). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "check/verdict.h"
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

static const char *baseline_yaml = "target: cloudcli-1.37.2\n"
                                   "known:\n"
                                   "  - case: 5.2.1-codex-bare-complete\n"
                                   "    requirement: R-TERM-3\n"
                                   "    witness: step-3/complete\n"
                                   "    reason: Codex ends a turn with a bare complete\n"
                                   "    upstream: siteboon/claudecodeui#959\n"
                                   "  - case: 7.3.1-stale-cursor\n"
                                   "    requirement: R-SUB-7\n"
                                   "    witness: [step-2/chat_subscribed, step-2/none]\n"
                                   "    reason: CloudCLI replays nothing for a stale cursor\n"
                                   "  - case: 6.2.1-abort-setup\n"
                                   "    requirement: R-ABORT-1\n"
                                   "    witness: step-4/stream_delta\n"
                                   "    reason: abort during setup is not stopped\n"
                                   "  - case: 4.1.1-seq-basic\n"
                                   "    requirement: R-SEQ-1\n"
                                   "    witness: seq_contiguous/stream_delta\n"
                                   "    reason: fixed since\n"
                                   "  - case: 9.9.9-not-in-this-run\n"
                                   "    requirement: R-FAN-1\n"
                                   "    witness: step-1/none\n"
                                   "    reason: filtered out\n"
                                   "  - case: 5.2.2-status-after-complete\n"
                                   "    requirement: R-TERM-2\n"
                                   "    witness: one_terminal/status\n"
                                   "    reason: a status after the complete\n"
                                   "  - case: 5.5.1-other-requirement\n"
                                   "    requirement: R-TERM-1\n"
                                   "    witness: one_terminal/complete\n"
                                   "    reason: excuses R-TERM-1 only\n";

/* A failure with its witness key given (as run.c sets it) under requirement req. */
static json_t *failure(const char *req, const char *key)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "requirement", req, "kind", "step", "message", "m",
                     "witness_key", key);
}

static json_t *case_json(const char *id, const char *verdict, json_t *f1, json_t *f2)
{
    json_t *c = json_pack("{s:s, s:s, s:[]}", "id", id, "verdict", verdict, "failures");

    if (f1)
        json_array_append_new(json_object_get(c, "failures"), f1);
    if (f2)
        json_array_append_new(json_object_get(c, "failures"), f2);
    return c;
}

static json_t *find_case(json_t *run, const char *id)
{
    json_t *c;
    size_t i;

    json_array_foreach(json_object_get(run, "cases"), i, c)
    {
        if (!strcmp(wc_json_str(c, "id"), id))
            return c;
    }
    return NULL;
}

/* The stale entry of case id, or NULL. */
static json_t *stale_entry(json_t *run, const char *id)
{
    json_t *e;
    size_t i;

    json_array_foreach(json_object_get(json_object_get(run, "baseline"), "stale_entries"), i, e)
    {
        if (!strcmp(wc_json_str(e, "case"), id))
            return e;
    }
    return NULL;
}

static void test_verdict_baseline_marks_known_and_stale(void)
{
    char *err = NULL;
    struct hn_baseline *b = hn_baseline_load_string("base.yaml", baseline_yaml, &err);
    json_t *run = json_pack("{s:s, s:[]}", "target", "cloudcli-1.37.2", "cases"), *cases, *info, *e;

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    cases = json_object_get(run, "cases");
    json_array_append_new(cases, case_json("5.2.1-codex-bare-complete", "FAILED",
                                           failure("R-TERM-3", "step-3/complete"), NULL));
    json_array_append_new(cases, case_json("7.3.1-stale-cursor", "NON-STRICT",
                                           failure("R-SUB-7", "step-2/none"), NULL));
    /* a second, new failure next to the known one: not known */
    json_array_append_new(cases, case_json("6.2.1-abort-setup", "FAILED",
                                           failure("R-ABORT-1", "step-4/stream_delta"),
                                           failure("R-TERM-2", "one_terminal/status")));
    /* listed but passes now: stale */
    json_array_append_new(cases, case_json("4.1.1-seq-basic", "OK", NULL, NULL));
    json_array_append_new(
        cases, case_json("8.1.1-other", "FAILED", failure("R-FAN-1", "step-1/none"), NULL));
    /* the same requirement with another witness: a duplicate complete where the entry excuses
     * a status after the complete (issue 10 §4) */
    json_array_append_new(cases, case_json("5.2.2-status-after-complete", "FAILED",
                                           failure("R-TERM-2", "one_terminal/complete"), NULL));
    /* the case fails only under another requirement */
    json_array_append_new(cases, case_json("5.5.1-other-requirement", "FAILED",
                                           failure("R-TERM-2", "one_terminal/status"), NULL));
    hn_baseline_apply(b, run);

    CU_ASSERT(json_is_true(json_object_get(find_case(run, "5.2.1-codex-bare-complete"), "known")));
    CU_ASSERT_STRING_EQUAL(wc_json_str(find_case(run, "5.2.1-codex-bare-complete"), "known_reason"),
                           "Codex ends a turn with a bare complete (siteboon/claudecodeui#959)");
    CU_ASSERT(json_is_true(json_object_get(find_case(run, "7.3.1-stale-cursor"), "known")));
    CU_ASSERT(json_is_false(json_object_get(find_case(run, "6.2.1-abort-setup"), "known")));
    CU_ASSERT(json_is_false(json_object_get(find_case(run, "8.1.1-other"), "known")));
    CU_ASSERT(
        json_is_false(json_object_get(find_case(run, "5.2.2-status-after-complete"), "known")));
    CU_ASSERT(json_is_false(json_object_get(find_case(run, "5.5.1-other-requirement"), "known")));
    /* the new failure of a baselined case is named; a case without entries has none */
    e = json_array_get(json_object_get(find_case(run, "6.2.1-abort-setup"), "baseline_new"), 0);
    CU_ASSERT_STRING_EQUAL(wc_json_str(e, "requirement"), "R-TERM-2");
    CU_ASSERT_STRING_EQUAL(wc_json_str(e, "witness"), "one_terminal/status");
    CU_ASSERT_PTR_NULL(json_object_get(find_case(run, "8.1.1-other"), "baseline_new"));
    info = json_object_get(run, "baseline");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(info, "known")), 2);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(info, "new")), 3);
    /* stale: the case that passes, the other witness, the other requirement */
    CU_ASSERT_EQUAL(json_array_size(json_object_get(info, "stale")), 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(info, "stale"), 0)),
                           "4.1.1-seq-basic");
    CU_ASSERT_STRING_EQUAL(wc_json_str(stale_entry(run, "4.1.1-seq-basic"), "why"),
                           "the case passed: remove the entry");
    CU_ASSERT_STRING_EQUAL(wc_json_str(stale_entry(run, "5.2.2-status-after-complete"), "why"),
                           "R-TERM-2 failed with another witness (one_terminal/complete): a new "
                           "failure, not this one");
    CU_ASSERT_STRING_EQUAL(
        wc_json_str(stale_entry(run, "5.5.1-other-requirement"), "why"),
        "the case failed, but not under R-TERM-1: its failures are new and this entry excuses "
        "none of them");
    CU_ASSERT_PTR_NULL(stale_entry(run, "6.2.1-abort-setup"));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(info, "not_run")), 1);
    /* 7.3.1 matched one of its two witnesses: the other is listed, not stale */
    e = json_array_get(json_object_get(info, "unused_witness"), 0);
    CU_ASSERT_STRING_EQUAL(wc_json_str(e, "case"), "7.3.1-stale-cursor");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(e, "witness"), 0)),
                           "step-2/chat_subscribed");
    CU_ASSERT_PTR_NULL(json_object_get(info, "warning"));
    json_decref(run);
    hn_baseline_free(b);
}

static void test_verdict_witness_key_names_checker_or_step_and_frame_kind(void)
{
    static const struct {
        const char *failure;
        const char *want;
    } rows[] = {
        /* the last witness frame is the one that broke the invariant */
        {"{\"kind\":\"invariant\",\"checker\":\"one_terminal\",\"frames\":[{\"t\":\"recv\","
         "\"frame\":{\"kind\":"
         "\"complete\"}},{\"t\":\"recv\",\"frame\":{\"kind\":\"status\"}}]}",
         "one_terminal/status"},
        {"{\"kind\":\"invariant\",\"checker\":\"one_terminal\",\"frames\":[{\"t\":\"recv\","
         "\"frame\":{\"kind\":"
         "\"complete\"}},{\"t\":\"recv\",\"frame\":{\"kind\":\"complete\"}}]}",
         "one_terminal/complete"},
        {"{\"kind\":\"invariant\",\"checker\":\"ack_before_replay\",\"frames\":[{\"t\":\"recv\","
         "\"frame\":"
         "{\"type\":\"chat_subscribed\"}}]}",
         "ack_before_replay/chat_subscribed"},
        {"{\"kind\":\"invariant\",\"checker\":\"survives_bad_input\",\"frames\":[{\"t\":\"close\","
         "\"code\":1011}]}",
         "survives_bad_input/close"},
        {"{\"kind\":\"invariant\",\"checker\":\"no_native_ids\",\"frames\":[{\"t\":\"recv\","
         "\"text\":\"x\"}]}",
         "no_native_ids/raw"},
        {"{\"kind\":\"invariant\",\"checker\":\"provider_to_client\",\"frames\":[{\"t\":\"ctl\","
         "\"msg\":"
         "{\"type\":\"emitted\"}}]}",
         "provider_to_client/emitted"},
        {"{\"kind\":\"invariant\",\"checker\":\"x\",\"frames\":[]}", "x/none"},
        /* the client frame, not the provider record that happens to be recorded after it (the
         * CloudCLI 1.37.3 interop run of 2026-12-03 showed both orders of one failure) */
        {"{\"kind\":\"invariant\",\"checker\":\"provider_to_client\",\"frames\":[{\"t\":\"recv\","
         "\"frame\":"
         "{\"kind\":\"text\"}},{\"t\":\"ctl\",\"msg\":{\"type\":\"emitted\"}}]}",
         "provider_to_client/text"},
        {"{\"kind\":\"invariant\",\"checker\":\"provider_to_client\",\"frames\":[{\"t\":\"ctl\","
         "\"msg\":"
         "{\"type\":\"emitted\"}},{\"t\":\"recv\",\"frame\":{\"kind\":\"text\"}}]}",
         "provider_to_client/text"},
        /* a step: its index and what came instead */
        {"{\"kind\":\"step\",\"step\":4,\"received\":{\"kind\":\"text\",\"seq\":1}}",
         "step-4/text"},
        {"{\"kind\":\"step\",\"step\":0,\"received\":null}", "step-0/none"},
        {"{\"kind\":\"step\",\"step\":7,\"received\":{\"t\":\"close\",\"code\":1000}}",
         "step-7/close"},
        {"{\"kind\":\"step\",\"step\":2,\"received\":{\"status\":404,\"body\":{}}}", "step-2/http"},
        {"{\"kind\":\"alternative\",\"step\":null}", "alternative"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *f = json_loads(rows[i].failure, 0, NULL);
        char *key = hn_baseline_witness_key(f);
        if (strcmp(key, rows[i].want))
            printf("\n  row %zu: got \"%s\"\n", i, key);
        CU_ASSERT_STRING_EQUAL(key, rows[i].want);
        free(key);
        json_decref(f);
    }
}

/* Without a witness_key field (a result from an older harness), the key is computed. */
static void test_verdict_baseline_computes_missing_keys(void)
{
    char *err = NULL;
    struct hn_baseline *b = hn_baseline_load_string(
        "b",
        "known:\n  - {case: a, requirement: R-TERM-1, witness: one_terminal/complete, reason: r}\n",
        &err);
    json_t *run =
        json_pack("{s:s, s:[{s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:[{s:s, s:{s:s}}]}]}]}", "target",
                  "x", "cases", "id", "a", "verdict", "FAILED", "failures", "requirement",
                  "R-TERM-1", "kind", "invariant", "message", "m", "checker", "one_terminal",
                  "frames", "t", "recv", "frame", "kind", "complete");

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    hn_baseline_apply(b, run);
    CU_ASSERT(json_is_true(json_object_get(find_case(run, "a"), "known")));
    json_decref(run);
    hn_baseline_free(b);
}

/* Entries of one case with one race label: the outcome a run did not take is not stale; when
 * none of them matched, every one is. */
static void test_verdict_baseline_race_alternatives(void)
{
    static const char *yaml = "known:\n"
                              "  - {case: a, requirement: R-ABORT-1, witness: "
                              "step-7/chat_subscribed, race: r, reason: x}\n"
                              "  - {case: a, requirement: R-SUB-2, witness: "
                              "ack_before_replay/permission_cancelled, race: r, reason: y}\n"
                              "  - {case: b, requirement: R-ABORT-1, witness: "
                              "step-7/chat_subscribed, race: r, reason: x}\n"
                              "  - {case: b, requirement: R-SUB-2, witness: "
                              "ack_before_replay/permission_cancelled, race: r, reason: y}\n";
    char *err = NULL;
    struct hn_baseline *b = hn_baseline_load_string("b", yaml, &err);
    json_t *run = json_pack("{s:s, s:[]}", "target", "x", "cases"), *info;

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    json_array_append_new(json_object_get(run, "cases"),
                          case_json("a", "FAILED",
                                    failure("R-SUB-2", "ack_before_replay/permission_cancelled"),
                                    NULL));
    json_array_append_new(
        json_object_get(run, "cases"),
        case_json("b", "FAILED", failure("R-SUB-2", "one_terminal/status"), NULL));
    hn_baseline_apply(b, run);
    info = json_object_get(run, "baseline");
    CU_ASSERT(json_is_true(json_object_get(find_case(run, "a"), "known")));
    CU_ASSERT(json_is_false(json_object_get(find_case(run, "b"), "known")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(info, "stale")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(info, "stale"), 0)),
                           "b");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(info, "stale_entries")), 2);
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

/* a client dialect's baseline names its own ids: claude-remote/1 CR-, claude-control/1 CC- */
static void test_verdict_baseline_client_dialect_ids(void)
{
    static const char *const ok[] = {
        "known:\n  - {case: a, reason: r, requirement: CR-CTL-3, witness: "
        "step-4/control_request}\n",
        "known:\n  - {case: a, reason: r, requirement: CC-CTL-3, witness: "
        "step-4/control_response}\n",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *err = NULL;
        struct hn_baseline *b = hn_baseline_load_string("b.yaml", ok[i], &err);
        CU_ASSERT_PTR_NOT_NULL(b);
        CU_ASSERT_PTR_NULL(err);
        free(err);
        hn_baseline_free(b);
    }
}

static void test_verdict_baseline_errors_have_positions(void)
{
    static const struct {
        const char *yaml;
        const char *want;
    } rows[] = {
        {"target: x\nknwon: []\n", "b.yaml:2:1: unknown key 'knwon' in a baseline"},
        {"known:\n  - case: 1.1.1-x\n",
         "b.yaml:2:5: baseline entry for '1.1.1-x' without 'reason'"},
        {"known:\n  - reason: r\n", "b.yaml:2:5: baseline entry without 'case'"},
        {"known:\n  - {case: a, reason: r, requirement: TERM-1, witness: x/y}\n",
         "b.yaml:2:26: requirement 'TERM-1' is not a requirement id (R-..., CR-..., CC-...)"},
        {"known:\n  - {case: a, reason: r, why: x}\n",
         "b.yaml:2:26: unknown key 'why' in a baseline entry"},
        /* issue 10 §4: an entry names the requirement it excuses, and the witness */
        {"target: x\nknown:\n  - case: 5.1.1-x\n    reason: r\n",
         "b.yaml:3:5: baseline entry for '5.1.1-x' without 'requirement': an entry excuses one "
         "requirement of a "
         "case, never the whole case"},
        {"known:\n  - {case: a, reason: r, requirement: R-TERM-1}\n",
         "b.yaml:2:6: baseline entry for 'a' R-TERM-1 without 'witness': name the witness key of "
         "the known failure "
         "(gwspec prints it after each failure)"},
        {"known:\n  - {case: a, reason: r, requirement: R-TERM-1, witness: []}\n",
         "b.yaml:2:49: 'witness' must name at least one witness key"},
        {"known:\n  - {case: a, reason: r, requirement: R-TERM-1, witness: [ok/x, 'two words']}\n",
         "b.yaml:2:66: a witness key is one word such as 'one_terminal/status' or 'step-4/text' "
         "(gwspec prints it "
         "after each failure)"},
        {"known:\n  - {case: a, reason: r, requirement: R-TERM-1, witness: {a: 1}}\n",
         "b.yaml:2:49: 'witness' must be a string"},
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

/* hn_failures_charge: a step failure that shares a witness record with an invariant failure is
 * charged to the invariant's requirement; "requirement" stays. */
static void test_failures_charge(void)
{
    json_t *c = json_pack("{s:[{s:s, s:s, s:[i]}, {s:s, s:s, s:s, s:[i, i]}, {s:s, s:s, s:[i]}]}",
                          "failures", "requirement", "R-IN-2", "kind", "step", "witness", 14,
                          "requirement", "R-MAP-2", "kind", "invariant", "checker", "no_native_ids",
                          "witness", 9, 14, "requirement", "R-IN-3", "kind", "step", "witness", 20);
    json_t *fails = json_object_get(c, "failures");

    CU_ASSERT_EQUAL(hn_failures_charge(c), 1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(fails, 0), "charged_to"), "R-MAP-2");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(fails, 0), "requirement"), "R-IN-2");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(fails, 0), "cause")), 1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(fails, 1), "charged_to"), "R-MAP-2");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(fails, 2), "charged_to"), "R-IN-3");
    CU_ASSERT_PTR_NULL(json_object_get(json_array_get(fails, 2), "cause"));
    json_t *ch = json_object_get(c, "charged");
    CU_ASSERT_EQUAL(json_array_size(ch), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(ch, 0)), "R-MAP-2");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(ch, 1)), "R-IN-3");
    json_decref(c);

    /* no shared record: nothing is charged elsewhere */
    c = json_pack("{s:[{s:s, s:s, s:[i]}, {s:s, s:s, s:[i]}]}", "failures", "requirement", "R-IN-2",
                  "kind", "step", "witness", 3, "requirement", "R-MAP-2", "kind", "invariant",
                  "witness", 4);
    CU_ASSERT_EQUAL(hn_failures_charge(c), 0);
    CU_ASSERT_STRING_EQUAL(
        wc_json_str(json_array_get(json_object_get(c, "failures"), 0), "charged_to"), "R-IN-2");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(c, "charged"), 0)),
                           "R-IN-2");
    json_decref(c);
}

static CU_TestInfo verdict_tests[] = {
    {"failures_charge", test_failures_charge},
    {"names_round_trip", test_verdict_names_round_trip},
    {"grading", test_verdict_grading},
    {"baseline_marks_known_and_stale", test_verdict_baseline_marks_known_and_stale},
    {"witness_key_names_checker_or_step_and_frame_kind",
     test_verdict_witness_key_names_checker_or_step_and_frame_kind},
    {"baseline_computes_missing_keys", test_verdict_baseline_computes_missing_keys},
    {"baseline_race_alternatives", test_verdict_baseline_race_alternatives},
    {"baseline_other_target_warns", test_verdict_baseline_other_target_warns},
    {"baseline_errors_have_positions", test_verdict_baseline_errors_have_positions},
    {"baseline_client_dialect_ids", test_verdict_baseline_client_dialect_ids},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_verdict_suites[] = {
    {.pName = "hn_verdict", .pTests = verdict_tests},
    CU_SUITE_INFO_NULL,
};
