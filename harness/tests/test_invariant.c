/*
 * test_invariant.c: CUnit tests for harness/check/invariant.c (suite hn_invariant).
 *
 * Every checker is run over the golden transcripts in fixtures/transcripts/golden/: a
 * <checker>-pass file must pass that checker with no violation anywhere, and each
 * <checker>-fail-<what> file must fail it with the exact requirement and witness, and fail no
 * other checker (unless listed). Then edge cases written inline. Run from the repository root.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "check/invariant.h"
#include "model/msgcat.h"
#include "model/transcript.h"
#include "wc_json.h"

#define GOLDEN_DIR "fixtures/transcripts/golden"

static struct hn_msgcat *cat;

static int invariant_init(void)
{
    char *err = NULL;

    cat = hn_msgcat_load("spec/chatgw-1.0", NULL, NULL, &err);
    if (!cat) {
        fprintf(stderr, "hn_invariant: %s (run the tests from the repository root)\n", err);
        free(err);
        return 1;
    }
    return 0;
}

static int invariant_cleanup(void)
{
    hn_msgcat_free(cat);
    return 0;
}

static const struct golden {
    const char *file;        /* GOLDEN_DIR/<file>.jsonl */
    const char *checker;     /* the checker it is about */
    const char *verdict;     /* that checker's expected verdict */
    const char *requirement; /* of its first violation (fail only) */
    long witness[3];         /* record numbers of that violation, 0-terminated */
    const char *also_fail;   /* other checkers that may fail too, comma separated, or NULL */
} goldens[] = {
    {"seq_contiguous-pass", "seq_contiguous", "pass", NULL, {0}, NULL},
    {"seq_contiguous-fail-gap", "seq_contiguous", "fail", "R-SEQ-1", {3, 4}, NULL},
    {"seq_contiguous-fail-duplicate", "seq_contiguous", "fail", "R-SEQ-1", {4, 5}, NULL},
    {"seq_contiguous-fail-new-run-continues", "seq_contiguous", "fail", "R-SEQ-2", {5, 6}, NULL},
    {"seq_contiguous-fail-replay-gap", "seq_contiguous", "fail", "R-SUB-3", {8, 9}, NULL},
    {"seq_contiguous-fail-stale-cursor", "seq_contiguous", "fail", "R-SUB-7", {7, 9}, NULL},
    {"one_terminal-pass", "one_terminal", "pass", NULL, {0}, NULL},
    {"one_terminal-fail-two-completes", "one_terminal", "fail", "R-TERM-1", {10, 12}, NULL},
    {"one_terminal-fail-event-after-complete", "one_terminal", "fail", "R-TERM-2", {4, 5}, NULL},
    {"one_terminal-fail-missing-terminal", "one_terminal", "fail", "R-TERM-1", {8, 16}, NULL},
    {"one_terminal-fail-stuck-single-writer", "one_terminal", "fail", "R-FAN-2", {8, 16}, NULL},
    {"one_terminal-fail-late-event-of-old-run", "one_terminal", "fail", "R-TERM-2", {5, 8}, NULL},
    {"no_native_ids-pass", "no_native_ids", "pass", NULL, {0}, NULL},
    {"no_native_ids-fail-leaked-sessionId", "no_native_ids", "fail", "R-MAP-2", {5, 10}, NULL},
    {"no_native_ids-fail-leaked-in-tool-input", "no_native_ids", "fail", "R-MAP-2", {5, 8}, NULL},
    {"no_native_ids-fail-wrong-actualSessionId", "no_native_ids", "fail", "R-MAP-1", {10}, NULL},
    {"no_native_ids-fail-leak-from-second-script",
     "no_native_ids",
     "fail",
     "R-MAP-2",
     {14, 16},
     NULL},
    /* a session_created with an empty newSessionId names its id in sessionId (R-MAP-3) */
    {"no_native_ids-fail-leak-named-by-session-created-sessionId",
     "no_native_ids",
     "fail",
     "R-MAP-2",
     {5, 10},
     NULL},
    {"no_session_created-pass", "no_session_created", "pass", NULL, {0}, NULL},
    {"no_session_created-fail-forwarded", "no_session_created", "fail", "R-MAP-3", {3}, NULL},
    {"ack_before_replay-pass", "ack_before_replay", "pass", NULL, {0}, NULL},
    {"ack_before_replay-fail-replay-first", "ack_before_replay", "fail", "R-SUB-2", {5, 6}, NULL},
    {"replay_consistent-pass", "replay_consistent", "pass", NULL, {0}, NULL},
    {"replay_consistent-fail-replay-timestamp",
     "replay_consistent",
     "fail",
     "R-SEQ-3",
     {3, 7},
     NULL},
    {"replay_consistent-fail-fanout-differs", "replay_consistent", "fail", "R-FAN-1", {7, 8}, NULL},
    {"replay_consistent-fail-replay-fresh-id",
     "replay_consistent",
     "fail",
     "R-SEQ-3",
     {3, 8},
     NULL},
    {"catalog_valid-pass", "catalog_valid", "pass", NULL, {0}, NULL},
    {"catalog_valid-fail-undeclared-kind", "catalog_valid", "fail", "R-CAT-1", {4}, NULL},
    {"catalog_valid-fail-bare-complete", "catalog_valid", "fail", "R-TERM-3", {4}, NULL},
    {"catalog_valid-fail-missing-timestamp", "catalog_valid", "fail", "R-EVT-1", {4}, NULL},
    {"catalog_valid-fail-success-mismatch", "catalog_valid", "fail", "R-TERM-3", {4}, NULL},
    {"catalog_valid-fail-not-json", "catalog_valid", "fail", "R-CAT-1", {3}, NULL},
    {"errors_to_requester-pass", "errors_to_requester", "pass", NULL, {0}, NULL},
    {"errors_to_requester-fail-wrong-socket",
     "errors_to_requester",
     "fail",
     "R-IN-3",
     {3, 4},
     NULL},
    {"connection_survives-pass", "connection_survives", "pass", NULL, {0}, NULL},
    {"connection_survives-fail-closed-after-error",
     "connection_survives",
     "fail",
     "R-IN-4",
     {2, 4},
     NULL},
    {"cwd_is_project_path-pass", "cwd_is_project_path", "pass", NULL, {0}, NULL},
    {"cwd_is_project_path-fail-client-cwd-wins",
     "cwd_is_project_path",
     "fail",
     "R-TRUST-1",
     {1, 4},
     NULL},
    {"provider_to_client-pass", "provider_to_client", "pass", NULL, {0}, NULL},
    {"provider_to_client-fail-dropped-event",
     "provider_to_client",
     "fail",
     "R-FWD-1",
     {9, 11},
     NULL},
    {"provider_to_client-fail-truncated", "provider_to_client", "fail", "R-FWD-1", {9, 11}, NULL},
    /* R-TERM-4: one informational error may precede the synthetic complete of a crashed provider */
    {"provider_to_client-pass-crash-error", "provider_to_client", "pass", NULL, {0}, NULL},
    {"provider_to_client-fail-error-before-provider-complete",
     "provider_to_client",
     "fail",
     "R-FWD-1",
     {10},
     NULL},
    {"provider_to_client-fail-two-errors-after-crash",
     "provider_to_client",
     "fail",
     "R-FWD-1",
     {10},
     NULL},
    /* requests answered in order: pipelined bad input, errors, skipped entries, a late send error
     */
    {"answers_in_order-pass", "answers_in_order", "pass", NULL, {0}, NULL},
    /* fixtures/transcripts/unknown-type-ignored.jsonl: chat.nope unanswered, the sentinel answered
     */
    {"answers_in_order-fail-unknown-type-unanswered",
     "answers_in_order",
     "fail",
     "R-IN-2",
     {3, 8, 9},
     NULL},
    {"answers_in_order-fail-subscribe-entry-skipped",
     "answers_in_order",
     "fail",
     "R-SUB-1",
     {3, 4, 5},
     NULL},
};

#define NGOLDEN (sizeof(goldens) / sizeof(goldens[0]))

static bool listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    const char *p = list;

    while (p && (p = strstr(p, name)) != NULL) {
        if ((p == list || p[-1] == ',') && (p[len] == ',' || !p[len]))
            return true;
        p += len;
    }
    return false;
}

static json_t *run_file(const char *file)
{
    char *path = NULL, *err = NULL;
    struct hn_transcript *t;
    json_t *res;

    if (asprintf(&path, "%s/%s.jsonl", GOLDEN_DIR, file) < 0)
        return NULL;
    t = hn_transcript_load(path, &err);
    free(path);
    if (!t) {
        printf("\n  %s\n", err);
        free(err);
        return NULL;
    }
    res = hn_invariants_run(t, cat);
    hn_transcript_free(t);
    return res;
}

static void check_golden(const struct golden *g)
{
    json_t *res = run_file(g->file), *checks, *viol, *v, *first = NULL;
    const char *name;
    size_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    checks = json_object_get(res, "checks");
    viol = json_object_get(res, "violations");
    if (strcmp(wc_json_str(checks, g->checker), g->verdict))
        printf("\n  %s: %s is %s, want %s\n", g->file, g->checker, wc_json_str(checks, g->checker),
               g->verdict);
    CU_ASSERT_STRING_EQUAL(wc_json_str(checks, g->checker), g->verdict);
    json_object_foreach(checks, name, v)
    {
        bool bad = !strcmp(json_string_value(v), "fail") && strcmp(name, g->checker) &&
                   !listed(g->also_fail, name);
        if (bad)
            printf("\n  %s: unexpected failure of %s\n", g->file, name);
        CU_ASSERT(!bad);
    }
    json_array_foreach(viol, i, v)
    {
        if (!strcmp(wc_json_str(v, "checker"), g->checker)) {
            first = v;
            break;
        }
    }
    if (!g->requirement) {
        CU_ASSERT_PTR_NULL(first);
    } else {
        json_t *wit, *want = json_array();
        CU_ASSERT_PTR_NOT_NULL_FATAL(first);
        CU_ASSERT_STRING_EQUAL(wc_json_str(first, "requirement"), g->requirement);
        for (i = 0; i < 3 && g->witness[i]; i++)
            json_array_append_new(want, json_integer(g->witness[i]));
        wit = json_object_get(first, "witness");
        if (!json_equal(wit, want)) {
            char *a = wc_json_compact(wit);
            printf("\n  %s: witness %s\n", g->file, a);
            free(a);
        }
        CU_ASSERT(json_equal(wit, want));
        /* the frames are copies of exactly the witness records */
        CU_ASSERT_EQUAL(json_array_size(json_object_get(first, "frames")), json_array_size(want));
        CU_ASSERT(wc_json_str(first, "message") && *wc_json_str(first, "message"));
        json_decref(want);
    }
    json_decref(res);
}

static void test_invariant_goldens(void)
{
    size_t i;

    for (i = 0; i < NGOLDEN; i++)
        check_golden(&goldens[i]);
}

/* Every golden file is in the table, and every checker has a pass and a fail golden. */
static void test_invariant_goldens_cover_every_checker(void)
{
    size_t n, i, k;
    const struct hn_invariant_info *tab = hn_invariant_table(&n);
    DIR *d = opendir(GOLDEN_DIR);
    struct dirent *de;

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        bool found = false;
        if (len < 7 || strcmp(de->d_name + len - 6, ".jsonl"))
            continue;
        for (i = 0; i < NGOLDEN; i++) {
            if (strlen(goldens[i].file) == len - 6 &&
                !strncmp(goldens[i].file, de->d_name, len - 6))
                found = true;
        }
        if (!found)
            printf("\n  %s is not in the golden table\n", de->d_name);
        CU_ASSERT(found);
    }
    closedir(d);
    for (k = 0; k < n; k++) {
        bool pass = false, fail = false;
        for (i = 0; i < NGOLDEN; i++) {
            if (strcmp(goldens[i].checker, tab[k].name))
                continue;
            pass |= !strcmp(goldens[i].verdict, "pass");
            fail |= !strcmp(goldens[i].verdict, "fail");
        }
        if (!pass || !fail)
            printf("\n  checker %s lacks a %s golden\n", tab[k].name, pass ? "fail" : "pass");
        CU_ASSERT(pass && fail);
        CU_ASSERT(tab[k].requirements && !strncmp(tab[k].requirements, "R-", 2));
        CU_ASSERT(tab[k].description && *tab[k].description);
    }
}

/* --- inline transcripts ----------------------------------------------------------------- */

#define HDR "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\"%s}\n"
#define APP "7d0c6a52-3b9e-4f11-8a2d-5e6f7a8b9c01"
#define EV(kind, seq, id, more)                                                                    \
    "{\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"id\":\"" id "\",\"sessionId\":\"" APP "\","      \
    "\"timestamp\":\"2026-11-22T02:30:00.001Z\",\"provider\":\"claude\",\"kind\":\"" kind          \
    "\",\"seq\":" #seq more "}}\n"
#define DELTA(seq, id) EV("stream_delta", seq, id, ",\"content\":\"x\"")
#define SEND                                                                                       \
    "{\"t\":\"send\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat.send\",\"sessionId\":\"" APP       \
    "\",\"content\":\"hi\"}}\n"

static json_t *run_text(const char *text, const struct hn_msgcat *c)
{
    char *err = NULL;
    struct hn_transcript *t = hn_transcript_load_string("inline", text, &err);
    json_t *res;

    if (!t) {
        printf("\n  %s\n", err);
        free(err);
        return NULL;
    }
    res = hn_invariants_run(t, c);
    hn_transcript_free(t);
    return res;
}

static const char *verdict_of(const json_t *res, const char *checker)
{
    return wc_json_str(json_object_get(res, "checks"), checker);
}

static void test_invariant_client_only_is_not_exercised_for_provider_checks(void)
{
    json_t *res =
        run_text("{\"t\":\"header\",\"format\":\"gwspec-transcript/1\"}\n" SEND DELTA(1, "e1")
                     EV("complete", 2, "e2",
                        ",\"exitCode\":0,\"success\":true,\"aborted\":false,"
                        "\"actualSessionId\":\"" APP "\""),
                 NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    CU_ASSERT_STRING_EQUAL(verdict_of(res, "seq_contiguous"), "pass");
    CU_ASSERT_STRING_EQUAL(verdict_of(res, "one_terminal"), "pass");
    CU_ASSERT_STRING_EQUAL(verdict_of(res, "cwd_is_project_path"), "not_exercised");
    CU_ASSERT_STRING_EQUAL(verdict_of(res, "provider_to_client"), "not_exercised");
    CU_ASSERT_STRING_EQUAL(verdict_of(res, "no_native_ids"), "not_exercised");
    CU_ASSERT_STRING_EQUAL(verdict_of(res, "catalog_valid"), "not_exercised"); /* no catalog */
    CU_ASSERT_STRING_EQUAL(verdict_of(res, "errors_to_requester"), "not_exercised");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(res, "violations")), 0);
    json_decref(res);
}

static void test_invariant_caps_reports_per_checker(void)
{
    char *text = NULL, *p;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    json_t *res;
    int i;

    fprintf(fp, "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\"}\n" SEND);
    for (i = 0; i < 30; i++) /* seq 1, 3, 5, ...: 29 gaps */
        fprintf(fp,
                "{\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"id\":\"e%d\",\"sessionId\":\"s\","
                "\"kind\":"
                "\"stream_delta\",\"seq\":%d}}\n",
                i, 2 * i + 1);
    fclose(fp);
    res = run_text(text, NULL);
    p = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(res, "violations")), HN_INVARIANT_MAX_REPORTS);
    CU_ASSERT_EQUAL(
        json_integer_value(json_object_get(json_object_get(res, "suppressed"), "seq_contiguous")),
        29 - HN_INVARIANT_MAX_REPORTS);
    (void)p;
    json_decref(res);
    free(text);
}

static void test_invariant_replay_gap_allowed_past_cap_or_truncation(void)
{
    /* c2 asks from 0 while the run is at 5 and the cap is 3: a replay starting at 3 is fine */
    const char *capped = "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\",\"replay_cap\":3}\n"
                         "{\"t\":\"send\",\"conn\":\"c2\",\"frame\":{\"type\":\"chat.subscribe\","
                         "\"sessions\":[{\"sessionId\":\"s\",\"lastSeq\":0}]}}\n"
                         "{\"t\":\"recv\",\"conn\":\"c2\",\"frame\":{\"kind\":\"chat_subscribed\","
                         "\"sessionId\":\"s\",\"isProcessing\":true,\"lastSeq\":5}}\n"
                         "{\"t\":\"recv\",\"conn\":\"c2\",\"frame\":{\"id\":\"e3\",\"sessionId\":"
                         "\"s\",\"kind\":\"stream_delta\",\"seq\":3}}\n"
                         "{\"t\":\"recv\",\"conn\":\"c2\",\"frame\":{\"id\":\"e4\",\"sessionId\":"
                         "\"s\",\"kind\":\"stream_delta\",\"seq\":4}}\n";
    const char *truncated =
        "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\"}\n"
        "{\"t\":\"send\",\"conn\":\"c2\",\"frame\":{\"type\":\"chat.subscribe\",\"sessions\":[{"
        "\"sessionId\":\"s\",\"lastSeq\":0}]}}\n"
        "{\"t\":\"recv\",\"conn\":\"c2\",\"frame\":{\"kind\":\"chat_subscribed\",\"sessionId\":"
        "\"s\",\"isProcessing\":true,\"lastSeq\":5}}\n"
        "{\"t\":\"recv\",\"conn\":\"c2\",\"frame\":{\"kind\":\"history_truncated\",\"sessionId\":"
        "\"s\",\"requestedFrom\":1,\"firstAvailable\":3}}\n"
        "{\"t\":\"recv\",\"conn\":\"c2\",\"frame\":{\"id\":\"e3\",\"sessionId\":\"s\",\"kind\":"
        "\"stream_delta\",\"seq\":3}}\n";
    json_t *res = run_text(capped, NULL);

    CU_ASSERT_STRING_EQUAL(verdict_of(res, "seq_contiguous"), "pass");
    json_decref(res);
    res = run_text(truncated, NULL);
    CU_ASSERT_STRING_EQUAL(verdict_of(res, "seq_contiguous"), "pass");
    json_decref(res);
}

static void test_invariant_codex_repeated_id_is_not_a_replay(void)
{
    /* one tool call, in progress then completed, same id, different seq and content */
    const char *text = "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\"}\n" SEND EV(
        "tool_use", 1, "codex_1",
        ",\"toolName\":\"Bash\",\"toolId\":\"t\",\"status\":\"in_progress\"")
        EV("tool_use", 2, "codex_1",
           ",\"toolName\":\"Bash\",\"toolId\":\"t\",\"status\":\"completed\"");
    json_t *res = run_text(text, NULL);

    CU_ASSERT_STRING_EQUAL(verdict_of(res, "replay_consistent"), "pass");
    CU_ASSERT_STRING_EQUAL(verdict_of(res, "seq_contiguous"), "pass");
    json_decref(res);
}

static void test_invariant_replay_copy_with_new_seq(void)
{
    const char *text = "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\"}\n" SEND DELTA(1, "e1")
        DELTA(2, "e1");
    json_t *res = run_text(text, NULL), *v;

    CU_ASSERT_STRING_EQUAL(verdict_of(res, "replay_consistent"), "fail");
    v = json_array_get(json_object_get(res, "violations"), 0);
    CU_ASSERT_STRING_EQUAL(wc_json_str(v, "requirement"), "R-SEQ-3");
    json_decref(res);
}

static void test_invariant_missing_terminal_needs_a_round_trip(void)
{
    /* the stuck transcript without its closing sentinel round trips: the complete may be in flight
     */
    const char *text =
        "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\",\"capabilities\":[\"fan-out\"]}\n"
        "{\"t\":\"open\",\"conn\":\"c1\"}\n" SEND DELTA(
            1, "e1") "{\"t\":\"send\",\"conn\":\"c2\",\"frame\":{\"type\":\"chat.subscribe\","
                     "\"sessions\":[{\"sessionId\":\"" APP "\",\"lastSeq\":1}]}}\n"
                     "{\"t\":\"recv\",\"conn\":\"c2\",\"frame\":{\"kind\":\"chat_subscribed\","
                     "\"sessionId\":\"" APP "\",\"isProcessing\":true,\"lastSeq\":1}}\n"
                     "{\"t\":\"recv\",\"conn\":\"c2\",\"frame\":{\"id\":\"e2\",\"sessionId\":\"" APP
                     "\",\"kind\":\"complete\",\"seq\":2}}\n";
    json_t *res = run_text(text, NULL);

    CU_ASSERT_STRING_EQUAL(verdict_of(res, "one_terminal"), "pass");
    json_decref(res);
}

static void test_invariant_closes_around_a_restart_are_not_blamed(void)
{
    const char *text = "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\"}\n"
                       "{\"t\":\"send\",\"conn\":\"c1\",\"text\":\"{bad\"}\n"
                       "{\"t\":\"note\",\"text\":\"restart: target\"}\n"
                       "{\"t\":\"close\",\"conn\":\"c1\",\"by\":\"drop\"}\n"
                       "{\"t\":\"send\",\"conn\":\"c2\",\"hex\":\"c328\"}\n"
                       "{\"t\":\"close\",\"conn\":\"c2\",\"by\":\"server\",\"code\":1007}\n"
                       "{\"t\":\"send\",\"conn\":\"c3\",\"text\":\"{bad\"}\n"
                       "{\"t\":\"close\",\"conn\":\"c3\",\"by\":\"client\",\"code\":1000}\n";
    json_t *res = run_text(text, NULL);

    CU_ASSERT_STRING_EQUAL(verdict_of(res, "connection_survives"), "pass");
    json_decref(res);
}

static void test_invariant_sentinel_subscribe_is_not_a_replay_subscribe(void)
{
    const char *text = "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\"}\n"
                       "{\"t\":\"send\",\"conn\":\"c1\",\"sentinel\":true,\"frame\":{\"type\":"
                       "\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"sentinel-1\"}]}}\n"
                       "{\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"kind\":\"chat_subscribed\","
                       "\"sessionId\":\"sentinel-1\",\"isProcessing\":false,\"lastSeq\":0}}\n";
    json_t *res = run_text(text, NULL);

    CU_ASSERT_STRING_EQUAL(verdict_of(res, "ack_before_replay"), "not_exercised");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(res, "violations")), 0);
    json_decref(res);
}

static void test_invariant_malformed_records_never_crash(void)
{
    struct hn_transcript *t = hn_transcript_new(NULL);
    json_t *res;

    hn_transcript_add(t, json_pack("{s:s}", "t", "recv")); /* no conn */
    hn_transcript_add(t, json_pack("{s:s, s:s, s:s}", "t", "recv", "conn", "c1", "frame", "str"));
    hn_transcript_add(t, json_pack("{s:s, s:s, s:{s:s, s:s}}", "t", "recv", "conn", "c1", "frame",
                                   "kind", "stream_delta", "seq", "1"));
    hn_transcript_add(t, json_pack("{s:s, s:s, s:{s:s, s:i, s:i}}", "t", "recv", "conn", "c1",
                                   "frame", "kind", "complete", "seq", 9, "sessionId", 4));
    hn_transcript_add(t,
                      json_pack("{s:s, s:s, s:{s:s, s:b, s:s}}", "t", "recv", "conn", "c9", "frame",
                                "kind", "chat_subscribed", "isProcessing", 1, "lastSeq", "x"));
    hn_transcript_add(t, json_pack("{s:s, s:s}", "t", "ctl", "label", "s1")); /* no msg */
    hn_transcript_add(
        t, json_pack("{s:s, s:s, s:{s:s}}", "t", "ctl", "label", "s1", "msg", "type", "done"));
    hn_transcript_add(t, json_pack("{s:s, s:s, s:{s:s, s:s}}", "t", "send", "conn", "c1", "frame",
                                   "type", "chat.subscribe", "sessions", "nope"));
    hn_transcript_add(t, json_pack("{s:s, s:s, s:{s:s, s:i}}", "t", "send", "conn", "c1", "frame",
                                   "type", "chat.send", "sessionId", 5));
    hn_transcript_add(t, json_pack("{s:s, s:s, s:s}", "t", "close", "conn", "c1", "by", "server"));
    hn_transcript_add(t, json_pack("{s:s, s:i}", "t", "session", "label", 3));
    res = hn_invariants_run(t, cat);
    CU_ASSERT_PTR_NOT_NULL(json_object_get(res, "checks"));
    CU_ASSERT_EQUAL(json_object_size(json_object_get(res, "checks")), 12);
    json_decref(res);
    hn_transcript_free(t);
}

/* The first violation of checker in res: its requirement, or NULL. */
static const char *first_req(const json_t *res, const char *checker)
{
    json_t *v;
    size_t i;

    json_array_foreach(json_object_get(res, "violations"), i, v)
    {
        if (!strcmp(wc_json_str(v, "checker"), checker))
            return wc_json_str(v, "requirement");
    }
    return NULL;
}

static void expect_check(const char *text, const struct hn_msgcat *c, const char *checker,
                         const char *verdict, const char *req)
{
    json_t *res = run_text(text, c);

    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    if (strcmp(verdict_of(res, checker), verdict) ||
        (req && (!first_req(res, checker) || strcmp(first_req(res, checker), req)))) {
        char *s = json_dumps(json_object_get(res, "violations"), JSON_INDENT(1));
        printf("\n  %s: %s, want %s %s\n%s\n", checker, verdict_of(res, checker), verdict,
               req ? req : "", s);
        free(s);
    }
    CU_ASSERT_STRING_EQUAL(verdict_of(res, checker), verdict);
    if (req)
        CU_ASSERT(first_req(res, checker) && !strcmp(first_req(res, checker), req));
    json_decref(res);
}

#define H "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\"}\n"
#define PERR(conn)                                                                                 \
    "{\"t\":\"recv\",\"conn\":\"" conn                                                             \
    "\",\"frame\":{\"kind\":\"protocol_error\",\"code\":\"INTERNAL_ERROR\",\"error\":\"x\","       \
    "\"sessionId\":null,\"timestamp\":\"2026-11-22T02:30:00Z\"}}\n"

/* catalog_valid names what a frame that is not JSON was: binary, text, or text not UTF-8 */
static void test_invariant_not_json_says_what_it_was(void)
{
    static const struct {
        const char *rec, *want;
    } t[] = {
        {"{\"t\":\"recv\",\"conn\":\"c1\",\"hex\":\"c328\",\"binary\":false}\n",
         "c1: received a text frame that is not valid UTF-8 (record 1)"},
        {"{\"t\":\"recv\",\"conn\":\"c1\",\"hex\":\"0001\",\"binary\":true}\n",
         "c1: received a binary frame that is not JSON (record 1)"},
        {"{\"t\":\"recv\",\"conn\":\"c1\",\"text\":\"{\",\"binary\":false}\n",
         "c1: received a text frame that is not JSON (record 1)"},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *text = NULL;
        CU_ASSERT(asprintf(&text, H "%s", t[i].rec) > 0);
        json_t *res = run_text(text, cat), *v;
        size_t k;
        const char *msg = NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(res);
        json_array_foreach(json_object_get(res, "violations"), k, v)
        {
            if (!strcmp(wc_json_str(v, "checker"), "catalog_valid"))
                msg = wc_json_str(v, "message");
        }
        CU_ASSERT_PTR_NOT_NULL(msg);
        if (msg && strcmp(msg, t[i].want))
            printf("\n  got '%s', want '%s'\n", msg, t[i].want);
        CU_ASSERT(msg && !strcmp(msg, t[i].want));
        json_decref(res);
        free(text);
    }
}

static void test_invariant_double_error_on_own_socket_is_not_misrouted(void)
{
    expect_check(H "{\"t\":\"send\",\"conn\":\"c1\",\"text\":\"{\"}\n" PERR("c1") PERR("c1"), NULL,
                 "errors_to_requester", "pass", NULL);
    expect_check(H "{\"t\":\"send\",\"conn\":\"c2\",\"text\":\"{\"}\n" PERR(
                     "c2") "{\"t\":\"send\",\"conn\":\"c1\",\"text\":\"{\"}\n" PERR("c2"),
                 NULL, "errors_to_requester", "fail", "R-IN-3");
}

static void test_invariant_first_run_must_start_at_1(void)
{
    expect_check(H SEND DELTA(2, "e1") DELTA(3, "e2"), NULL, "seq_contiguous", "fail", "R-SEQ-1");
    /* a connection that joined without asking is not constrained */
    expect_check(H DELTA(7, "e1") DELTA(8, "e2"), NULL, "seq_contiguous", "pass", NULL);
}

static void test_invariant_event_of_an_older_run(void)
{
    expect_check(H SEND DELTA(1, "a1") DELTA(2, "a2") SEND DELTA(1, "b1") DELTA(3, "a3"), NULL,
                 "one_terminal", "fail", "R-TERM-1" /* run 1 ended without its complete on c1 */);
}

static void test_invariant_attached_live_events_before_ack_are_fine(void)
{
    expect_check(
        H SEND DELTA(1, "e1") "{\"t\":\"send\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat."
                              "subscribe\",\"sessions\":[{\"sessionId\":\"" APP
                              "\",\"lastSeq\":1}]}}\n" DELTA(
                                  2, "e2") "{\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"kind\":"
                                           "\"chat_subscribed\",\"sessionId\":\"" APP
                                           "\",\"isProcessing\":true,\"lastSeq\":2}}\n" DELTA(
                                               2, "e2") DELTA(3, "e3"),
        NULL, "ack_before_replay", "not_exercised", NULL);
}

#define SESS                                                                                       \
    "{\"t\":\"session\",\"label\":\"s1\",\"sessionId\":\"" APP "\",\"projectPath\":\"/tmp\"}\n"
#define SEND_DIR                                                                                   \
    "{\"t\":\"send\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat.send\",\"sessionId\":\"" APP       \
    "\",\"content\":\"x gwspec:{\\\"label\\\":\\\"s1\\\",\\\"run\\\":\\\"r1\\\"}\"}}\n"
#define CTL(msg)    "{\"t\":\"ctl\",\"label\":\"s1\",\"run\":\"r1\",\"msg\":" msg "}\n"
#define EMIT(i, ev) CTL("{\"type\":\"emitted\",\"index\":" #i ",\"event\":" ev "}")
#define COMPLETE(seq)                                                                              \
    EV("complete", seq, "done", ",\"exitCode\":0,\"success\":true,\"aborted\":false")

static void test_invariant_forwarding_edge_cases(void)
{
    /* an event the provider never emitted */
    expect_check(H SESS SEND_DIR CTL("{\"type\":\"hello\",\"cwd\":\"/tmp\"}")
                     EMIT(0, "{\"kind\":\"stream_delta\",\"content\":\"x\"}") DELTA(1, "e1")
                         EV("stream_delta", 2, "e2", ",\"content\":\"extra\"") COMPLETE(3)
                             CTL("{\"type\":\"done\",\"how\":\"completed\"}"),
                 NULL, "provider_to_client", "fail", "R-FWD-1");
    /* a permission_cancelled the gateway made itself (timeout) is skipped; requestIds are the
     * gateway's */
    expect_check(H SESS SEND_DIR CTL("{\"type\":\"hello\",\"cwd\":\"/tmp\"}")
                     EMIT(0, "{\"kind\":\"permission_request\",\"requestId\":\"p-1\",\"toolName\":"
                             "\"Bash\",\"input\":{}}")
                         EV("permission_request", 1, "e1",
                            ",\"requestId\":\"gw-9\",\"toolName\":\"Bash\",\"input\":{}")
                             EV("permission_cancelled", 2, "e2",
                                ",\"requestId\":\"gw-9\",\"reason\":\"timeout\"") COMPLETE(3)
                                 CTL("{\"type\":\"done\",\"how\":\"completed\"}"),
                 NULL, "provider_to_client", "pass", NULL);
    /* an aborted run: a prefix is enough */
    expect_check(H SESS SEND_DIR CTL("{\"type\":\"hello\",\"cwd\":\"/tmp\"}")
                     EMIT(0, "{\"kind\":\"stream_delta\",\"content\":\"x\"}")
                         EMIT(1, "{\"kind\":\"stream_delta\",\"content\":\"y\"}")
                             CTL("{\"type\":\"aborted\",\"during\":2}")
                                 EV("complete", 1, "done",
                                    ",\"exitCode\":0,\"success\":false,\"aborted\":true")
                                     CTL("{\"type\":\"done\",\"how\":\"aborted\"}"),
                 NULL, "provider_to_client", "pass", NULL);
}

#define ERR(seq, id) EV("error", seq, id, ",\"content\":\"Claude Code process exited with code 2\"")
#define CRASH_COMPLETE(seq)                                                                        \
    EV("complete", seq, "done", ",\"exitCode\":1,\"success\":false,\"aborted\":false")
#define EMIT_TEXT EMIT(0, "{\"kind\":\"stream_delta\",\"content\":\"x\"}")
#define HELLO     CTL("{\"type\":\"hello\",\"cwd\":\"/tmp\"}")

/* R-TERM-4's informational error before a synthetic complete, and its near misses */
static void test_invariant_error_before_synthetic_complete(void)
{
    const char *pre = H SESS SEND_DIR HELLO EMIT_TEXT DELTA(1, "e1");

    /* allowed: the provider ended without a complete (any how but aborted), one error, the complete
     */
    const char *ok_how[] = {"crashed", "completed", "error"};
    size_t i;
    for (i = 0; i < sizeof(ok_how) / sizeof(ok_how[0]); i++) {
        char *t = NULL;
        CU_ASSERT(asprintf(&t,
                           "%s" ERR(2, "e2") CRASH_COMPLETE(3)
                               CTL("{\"type\":\"done\",\"how\":\"%s\"}"),
                           pre, ok_how[i]) > 0);
        expect_check(t, NULL, "provider_to_client", "pass", NULL);
        free(t);
    }
    /* allowed: a permission_cancelled the gateway made when the provider died may follow the error
     */
    expect_check(H SESS SEND_DIR HELLO EMIT_TEXT DELTA(1, "e1") ERR(2, "e2")
                     EV("permission_cancelled", 3, "e3",
                        ",\"requestId\":\"gw-9\",\"reason\":\"provider ended\"") CRASH_COMPLETE(4)
                         CTL("{\"type\":\"done\",\"how\":\"crashed\"}"),
                 NULL, "provider_to_client", "pass", NULL);
    /* the provider's own error, forwarded, and then the gateway's: still one invented */
    expect_check(H SESS SEND_DIR HELLO EMIT(0, "{\"kind\":\"error\",\"content\":\"boom\"}")
                     EV("error", 1, "e1", ",\"content\":\"boom\"") ERR(2, "e2") CRASH_COMPLETE(3)
                         CTL("{\"type\":\"done\",\"how\":\"crashed\"}"),
                 NULL, "provider_to_client", "pass", NULL);
    /* forbidden: no `done`: the provider has not ended (a hang the gateway gave up on is not
     * R-TERM-4) */
    expect_check(H SESS SEND_DIR HELLO EMIT_TEXT DELTA(1, "e1") ERR(2, "e2") CRASH_COMPLETE(3),
                 NULL, "provider_to_client", "fail", "R-FWD-1");
    /* forbidden: the run was aborted (R-ABORT-1: the aborting socket gets no other reply) */
    expect_check(H SESS SEND_DIR HELLO EMIT_TEXT DELTA(1, "e1") CTL(
                     "{\"type\":\"aborted\",\"during\":1}") ERR(2, "e2")
                     EV("complete", 3, "done", ",\"exitCode\":0,\"success\":false,\"aborted\":true")
                         CTL("{\"type\":\"done\",\"how\":\"aborted\"}"),
                 NULL, "provider_to_client", "fail", "R-FWD-1");
    expect_check(H SESS SEND_DIR HELLO EMIT_TEXT DELTA(1, "e1") ERR(2, "e2")
                     EV("complete", 3, "done", ",\"exitCode\":1,\"success\":false,\"aborted\":true")
                         CTL("{\"type\":\"done\",\"how\":\"crashed\"}"),
                 NULL, "provider_to_client", "fail", "R-FWD-1");
    /* forbidden: not at the end: an error, then a provider event it did not emit */
    expect_check(H SESS SEND_DIR HELLO EMIT_TEXT DELTA(1, "e1") ERR(2, "e2")
                     EV("stream_delta", 3, "e3", ",\"content\":\"extra\"") CRASH_COMPLETE(4)
                         CTL("{\"type\":\"done\",\"how\":\"crashed\"}"),
                 NULL, "provider_to_client", "fail", "R-FWD-1");
    /* forbidden: an error in place of an event the provider emitted */
    expect_check(H SESS SEND_DIR HELLO EMIT_TEXT ERR(1, "e1") CRASH_COMPLETE(2)
                     CTL("{\"type\":\"done\",\"how\":\"crashed\"}"),
                 NULL, "provider_to_client", "fail", "R-FWD-1");
    /* forbidden: another invented kind in the error's place */
    expect_check(H SESS SEND_DIR HELLO EMIT_TEXT DELTA(1, "e1")
                     EV("status", 2, "e2", ",\"text\":\"exited\"") CRASH_COMPLETE(3)
                         CTL("{\"type\":\"done\",\"how\":\"crashed\"}"),
                 NULL, "provider_to_client", "fail", "R-FWD-1");
}

static void test_invariant_short_native_ids_must_stand_alone(void)
{
    const char *pre = H SESS SEND_DIR CTL("{\"type\":\"announced\",\"nativeId\":\"ab12\"}");

    char *a = NULL, *b = NULL;
    CU_ASSERT(asprintf(&a, "%s%s", pre, EV("stream_delta", 1, "e1", ",\"content\":\"xab12y\"")) >
              0);
    CU_ASSERT(asprintf(&b, "%s%s", pre,
                       EV("stream_delta", 1, "e1", ",\"content\":\"resume ab12 now\"")) > 0);
    expect_check(a, NULL, "no_native_ids", "pass", NULL);
    expect_check(b, NULL, "no_native_ids", "fail", "R-MAP-2");
    free(a);
    free(b);
}

static void test_invariant_sent_frames_checked_only_in_recordings(void)
{
    const char *bad_send =
        "{\"t\":\"send\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat.send\",\"content\":5}}\n";
    char *rec = NULL, *answered = NULL, *live = NULL;

#define REC_H "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\",\"source\":\"record\"}\n"
    CU_ASSERT(asprintf(&rec, REC_H "%s", bad_send) > 0);
    CU_ASSERT(asprintf(&answered, REC_H "%s" PERR("c1"), bad_send) > 0);
    CU_ASSERT(asprintf(&live, H "%s", bad_send) > 0); /* a case's own frames: never judged */
    expect_check(rec, cat, "catalog_valid", "fail", "R-CAT-1");
    expect_check(answered, cat, "catalog_valid", "pass", NULL);
    expect_check(live, cat, "catalog_valid", "not_exercised", NULL);
    free(rec);
    free(answered);
    free(live);
}

static void test_invariant_cwd_resolves_links(void)
{
    char dir[] = "/tmp/hn-cwd-XXXXXX";
    char *link = NULL, *text = NULL, *cmd = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT(asprintf(&link, "%s-link", dir) > 0);
    CU_ASSERT_EQUAL_FATAL(symlink(dir, link), 0);
    CU_ASSERT(asprintf(&text,
                       H "{\"t\":\"session\",\"label\":\"s1\",\"sessionId\":\"" APP
                         "\",\"projectPath\":\"%s/./\"}\n"
                         "{\"t\":\"ctl\",\"label\":\"s1\",\"run\":\"r1\",\"msg\":{\"type\":"
                         "\"hello\",\"cwd\":\"%s\"}}\n",
                       link, dir) > 0);
    expect_check(text, NULL, "cwd_is_project_path", "pass", NULL);
    unlink(link);
    CU_ASSERT(asprintf(&cmd, "rmdir %s", dir) > 0);
    CU_ASSERT_EQUAL(system(cmd), 0);
    free(cmd);
    free(text);
    free(link);
}

#define ASEND(conn, frame) "{\"t\":\"send\",\"conn\":\"" conn "\",\"frame\":" frame "}\n"
#define ARECV(conn, frame) "{\"t\":\"recv\",\"conn\":\"" conn "\",\"frame\":" frame "}\n"
#define SUB(sid)           "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"" sid "\"}]}"
#define ACK(sid)                                                                                   \
    "{\"kind\":\"chat_subscribed\",\"sessionId\":\"" sid "\",\"isProcessing\":false,\"lastSeq\":"  \
    "0}"
#define PE(code, sid)                                                                              \
    "{\"kind\":\"protocol_error\",\"code\":\"" code "\",\"error\":\"e\",\"sessionId\":" sid "}"

/* answers_in_order: which frames must be answered, and which answer belongs to which request */
static void test_invariant_answers_in_order(void)
{
    /* not JSON, then a subscribe answered first: R-IN-1 */
    expect_check(H "{\"t\":\"send\",\"conn\":\"c1\",\"text\":\"{\"}\n" ASEND("c1", SUB("x"))
                     ARECV("c1", ACK("x")),
                 NULL, "answers_in_order", "fail", "R-IN-1");
    /* the same, answered in order */
    expect_check(H "{\"t\":\"send\",\"conn\":\"c1\",\"text\":\"{\"}\n" ASEND("c1", SUB("x"))
                     ARECV("c1", PE("INTERNAL_ERROR", "null")) ARECV("c1", ACK("x")),
                 NULL, "answers_in_order", "pass", NULL);
    /* a binary frame and a truncated oversize frame need no answer */
    expect_check(H "{\"t\":\"send\",\"conn\":\"c1\",\"hex\":\"00ff\",\"binary\":true}\n"
                   "{\"t\":\"send\",\"conn\":\"c1\",\"text\":\"aaaa\",\"len\":2000000,"
                   "\"truncated\":true}\n" ASEND("c1", SUB("x")) ARECV("c1", ACK("x")),
                 NULL, "answers_in_order", "pass", NULL);
    /* another connection's answer says nothing about c1 */
    expect_check(H ASEND("c1", "{\"type\":\"chat.nope\"}") ASEND("c2", SUB("x"))
                     ARECV("c2", ACK("x")),
                 NULL, "answers_in_order", "pass", NULL);
    /* a new instance of c1 (after open) starts afresh */
    expect_check(H "{\"t\":\"open\",\"conn\":\"c1\"}\n" ASEND(
                     "c1", "{\"type\":\"chat.nope\"}") "{\"t\":\"close\",\"conn\":\"c1\",\"by\":"
                                                       "\"server\",\"code\":1006}\n"
                                                       "{\"t\":\"open\",\"conn\":\"c1\"}\n" ASEND(
                                                           "c1", SUB("x")) ARECV("c1", ACK("x")),
                 NULL, "answers_in_order", "pass", NULL);
    /* a session error cannot answer an unknown type: chat.nope is skipped by the send's answer */
    expect_check(H ASEND("c1", "{\"type\":\"chat.nope\"}")
                     ASEND("c1", "{\"type\":\"chat.send\",\"sessionId\":\"s9\",\"content\":\"x\"}")
                         ARECV("c1", PE("SESSION_NOT_FOUND", "\"s9\"")),
                 NULL, "answers_in_order", "fail", "R-IN-2");
    /* UNKNOWN_MESSAGE_TYPE is never a chat.send's answer: it goes to the later chat.nope */
    expect_check(H ASEND("c1", "{\"type\":\"chat.send\",\"sessionId\":\"s9\",\"content\":\"x\"}")
                     ASEND("c1", "{\"type\":\"chat.nope\"}")
                         ARECV("c1", PE("UNKNOWN_MESSAGE_TYPE", "null")) ASEND("c1", SUB("x"))
                             ARECV("c1", ACK("x")),
                 NULL, "answers_in_order", "pass", NULL);
    /* two entries of one subscribe answered in reverse order: R-SUB-1 */
    expect_check(H ASEND("c1", "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"a\"},{"
                               "\"sessionId\":\"b\"}]}") ARECV("c1", ACK("b"))
                     ARECV("c1", ACK("a")),
                 NULL, "answers_in_order", "fail", "R-SUB-1");
    /* an entry with a padded id is answered with the trimmed id */
    expect_check(H ASEND("c1", SUB("  a ")) ASEND("c1", SUB("b")) ARECV("c1", ACK("a"))
                     ARECV("c1", ACK("b")),
                 NULL, "answers_in_order", "pass", NULL);
    /* JavaScript's trim: a no-break space, VT and U+3000 are trimmed, U+200B is not */
    expect_check(H ASEND("c1", SUB("\\u00a0a\\u000b")) ASEND("c1", SUB("\\u3000b"))
                     ASEND("c1", SUB("\\u200bc")) ARECV("c1", ACK("a")) ARECV("c1", ACK("b"))
                         ARECV("c1", ACK("\\u200bc")),
                 NULL, "answers_in_order", "pass", NULL);
    expect_check(H ASEND("c1", SUB("\\u200bc")) ASEND("c1", SUB("d")) ARECV("c1", ACK("c"))
                     ARECV("c1", ACK("d")),
                 NULL, "answers_in_order", "fail", "R-SUB-1");
    /* a text that is JSON with numbers beyond int64 or the double range is a request like any
     * other (JSON.parse reads it): its chat_subscribed answers it, no protocol_error is owed */
    expect_check(H "{\"t\":\"send\",\"conn\":\"c1\",\"text\":\"{\\\"type\\\":\\\"chat."
                   "subscribe\\\",\\\"sessions\\\":"
                   "[{\\\"sessionId\\\":\\\"x\\\",\\\"lastSeq\\\":123456789012345678901234567890}],"
                   "\\\"n\\\":1e400}\"}\n" ASEND("c1", SUB("y")) ARECV("c1", ACK("x"))
                       ARECV("c1", ACK("y")),
                 NULL, "answers_in_order", "pass", NULL);
    /* a request still unanswered at the end is not this checker's to judge (no later answer) */
    expect_check(H ASEND("c1", SUB("x")) ASEND("c1", "{\"type\":\"chat.nope\"}"), NULL,
                 "answers_in_order", "pass", NULL);
}

/* R-MAP-2 over R-FWD-1: a value that arrives with the native id remapped is the same value */
static void test_invariant_remapped_values_are_forwarded(void)
{
#define ANN CTL("{\"type\":\"announced\",\"nativeId\":\"nat-0123456789\"}")
    const char *pre = H SESS SEND_DIR HELLO ANN EMIT(
        0, "{\"kind\":\"tool_use\",\"toolId\":\"nat-0123456789\",\"toolInput\":{\"c\":\"x/"
           "nat-0123456789.jsonl\",\"l\":[\"nat-0123456789\",1]}}");
    char *t = NULL;

    /* remapped at every depth: no R-FWD-1, no R-MAP-2 */
    CU_ASSERT(asprintf(&t,
                       "%s" EV("tool_use", 1, "e1",
                               ",\"toolId\":\"" APP "\",\"toolInput\":{\"c\":\"x/" APP
                               ".jsonl\",\"l\":[\"" APP "\",1]}") COMPLETE(2)
                           CTL("{\"type\":\"done\",\"how\":\"completed\"}"),
                       pre) > 0);
    expect_check(t, NULL, "provider_to_client", "pass", NULL);
    expect_check(t, NULL, "no_native_ids", "pass", NULL);
    free(t);
    /* left as emitted: a leak (R-MAP-2), not a forwarding fault */
    CU_ASSERT(asprintf(&t,
                       "%s" EV("tool_use", 1, "e1",
                               ",\"toolId\":\"nat-0123456789\",\"toolInput\":{\"c\":\"x/"
                               "nat-0123456789.jsonl\",\"l\":[\"nat-0123456789\",1]}") COMPLETE(2)
                           CTL("{\"type\":\"done\",\"how\":\"completed\"}"),
                       pre) > 0);
    expect_check(t, NULL, "provider_to_client", "pass", NULL);
    expect_check(t, NULL, "no_native_ids", "fail", "R-MAP-2");
    free(t);
    /* a value that is neither as emitted nor remapped */
    CU_ASSERT(asprintf(&t,
                       "%s" EV("tool_use", 1, "e1",
                               ",\"toolId\":\"t\",\"toolInput\":{\"c\":\"x/" APP
                               ".jsonl\",\"l\":[\"" APP "\",1]}") COMPLETE(2)
                           CTL("{\"type\":\"done\",\"how\":\"completed\"}"),
                       pre) > 0);
    expect_check(t, NULL, "provider_to_client", "fail", "R-FWD-1");
    free(t);
    /* any other change is still R-FWD-1 */
    CU_ASSERT(asprintf(&t,
                       "%s" EV("tool_use", 1, "e1",
                               ",\"toolId\":\"" APP "\",\"toolInput\":{\"c\":\"x/" APP
                               ".jsonl\",\"l\":[\"" APP "\",2]}") COMPLETE(2)
                           CTL("{\"type\":\"done\",\"how\":\"completed\"}"),
                       pre) > 0);
    expect_check(t, NULL, "provider_to_client", "fail", "R-FWD-1");
    free(t);
#undef ANN
}

/* one_terminal names the duplicate terminal itself, even after it reported an event after it */
static void test_invariant_duplicate_terminal_is_named(void)
{
    json_t *res = run_text(
        H SEND DELTA(1, "e1") COMPLETE(2) EV("status", 3, "e3", ",\"text\":\"token_budget\"")
            EV("complete", 4, "dup", ",\"exitCode\":0,\"success\":true,\"aborted\":false"),
        NULL);
    json_t *v, *dup = NULL;
    size_t i;
    int term2 = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    json_array_foreach(json_object_get(res, "violations"), i, v)
    {
        if (strcmp(wc_json_str(v, "checker"), "one_terminal"))
            continue;
        if (!strcmp(wc_json_str(v, "requirement"), "R-TERM-2"))
            term2++;
        else if (!strcmp(wc_json_str(v, "requirement"), "R-TERM-1"))
            dup = v;
    }
    CU_ASSERT_EQUAL(term2, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dup);
    /* the witness is the first complete and the duplicate (records 3 and 5), the duplicate's frame
     * last */
    CU_ASSERT_EQUAL(json_array_size(json_object_get(dup, "witness")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(json_object_get(dup, "witness"), 1)), 5);
    CU_ASSERT_STRING_EQUAL(
        wc_json_str(json_object_get(json_array_get(json_object_get(dup, "frames"), 1), "frame"),
                    "id"),
        "dup");
    CU_ASSERT_PTR_NOT_NULL(strstr(wc_json_str(dup, "message"), "complete seq 4 (record 5)"));
    json_decref(res);
    /* a late complete of an older run that already completed is a duplicate terminal too */
    expect_check(H SEND DELTA(1, "a1") COMPLETE(2) SEND DELTA(1, "b1") EV(
                     "complete", 3, "a-dup", ",\"exitCode\":0,\"success\":true,\"aborted\":false"),
                 NULL, "one_terminal", "fail", "R-TERM-1");
}

/* connection_survives: only an answer to a frame sent after the bad one proves survival */
static void test_invariant_broadcast_does_not_prove_survival(void)
{
#define UPS                                                                                        \
    "{\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"kind\":\"session_upserted\",\"sessionId\":"      \
    "\"other\"}}\n"
#define BAD                                                                                        \
    "{\"t\":\"send\",\"conn\":\"c1\",\"text\":\"aaaa\",\"len\":1100000,\"truncated\":true}\n"
    /* a broadcast between the bad frame and a 1008 close: still the bad frame's close */
    expect_check(H BAD UPS "{\"t\":\"close\",\"conn\":\"c1\",\"by\":\"server\",\"code\":1008}\n",
                 NULL, "connection_survives", "fail", "R-IN-4");
    /* 1009 for the oversize frame is allowed */
    expect_check(H BAD UPS "{\"t\":\"close\",\"conn\":\"c1\",\"by\":\"server\",\"code\":1009}\n",
                 NULL, "connection_survives", "pass", NULL);
    /* a subscribe sent after it and answered: the connection survived; a later close is not blamed
     */
    expect_check(
        H BAD ASEND("c1", SUB("x")) ARECV(
            "c1", ACK("x")) "{\"t\":\"close\",\"conn\":\"c1\",\"by\":\"server\",\"code\":1001}\n",
        NULL, "connection_survives", "pass", NULL);
#undef UPS
#undef BAD
}

static CU_TestInfo invariant_tests[] = {
    {"goldens", test_invariant_goldens},
    {"goldens_cover_every_checker", test_invariant_goldens_cover_every_checker},
    {"client_only_is_not_exercised_for_provider_checks",
     test_invariant_client_only_is_not_exercised_for_provider_checks},
    {"caps_reports_per_checker", test_invariant_caps_reports_per_checker},
    {"replay_gap_allowed_past_cap_or_truncation",
     test_invariant_replay_gap_allowed_past_cap_or_truncation},
    {"codex_repeated_id_is_not_a_replay", test_invariant_codex_repeated_id_is_not_a_replay},
    {"replay_copy_with_new_seq", test_invariant_replay_copy_with_new_seq},
    {"missing_terminal_needs_a_round_trip", test_invariant_missing_terminal_needs_a_round_trip},
    {"closes_around_a_restart_are_not_blamed",
     test_invariant_closes_around_a_restart_are_not_blamed},
    {"sentinel_subscribe_is_not_a_replay_subscribe",
     test_invariant_sentinel_subscribe_is_not_a_replay_subscribe},
    {"malformed_records_never_crash", test_invariant_malformed_records_never_crash},
    {"double_error_on_own_socket_is_not_misrouted",
     test_invariant_double_error_on_own_socket_is_not_misrouted},
    {"not_json_says_what_it_was", test_invariant_not_json_says_what_it_was},
    {"first_run_must_start_at_1", test_invariant_first_run_must_start_at_1},
    {"event_of_an_older_run", test_invariant_event_of_an_older_run},
    {"attached_live_events_before_ack_are_fine",
     test_invariant_attached_live_events_before_ack_are_fine},
    {"forwarding_edge_cases", test_invariant_forwarding_edge_cases},
    {"error_before_synthetic_complete", test_invariant_error_before_synthetic_complete},
    {"short_native_ids_must_stand_alone", test_invariant_short_native_ids_must_stand_alone},
    {"sent_frames_checked_only_in_recordings",
     test_invariant_sent_frames_checked_only_in_recordings},
    {"cwd_resolves_links", test_invariant_cwd_resolves_links},
    {"answers_in_order", test_invariant_answers_in_order},
    {"broadcast_does_not_prove_survival", test_invariant_broadcast_does_not_prove_survival},
    {"duplicate_terminal_is_named", test_invariant_duplicate_terminal_is_named},
    {"remapped_values_are_forwarded", test_invariant_remapped_values_are_forwarded},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_invariant_suites[] = {
    {.pName = "hn_invariant",
     .pInitFunc = invariant_init,
     .pCleanupFunc = invariant_cleanup,
     .pTests = invariant_tests},
    CU_SUITE_INFO_NULL,
};
