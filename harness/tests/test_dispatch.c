/*
 * test_dispatch.c: CUnit tests for harness/check/dispatch.c (suite hn_dispatch) and the
 * dialect table (harness/dialect/).
 *
 * Every Dispatch checker is run over the golden transcripts in fixtures/transcripts/dispatch/:
 * a <checker>-pass file must pass every checker, and each <checker>-fail-<what> file must fail
 * that checker with the exact requirement and witness, and fail no other checker (unless
 * listed). The goldens are made by hand-written scenarios (see each file's records). Run from
 * the repository root.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "check/dispatch.h"
#include "dialect/dialect.h"
#include "model/scenario.h"
#include "model/transcript.h"
#include "wc_json.h"

#define DGOLDEN_DIR "fixtures/transcripts/dispatch"

static const struct dgolden {
    const char *file;
    const char *checker;
    const char *verdict;
    const char *requirement;
    long witness[3];
    const char *also_fail;
} goldens[] = {
    {"d_catalog_first-pass", "d_catalog_first", "pass", NULL, {0}, NULL},
    {"d_catalog_first-fail-no-catalog", "d_catalog_first", "fail", "R-D-WS-1", {6}, NULL},
    {"d_turn_grammar-pass", "d_turn_grammar", "pass", NULL, {0}, NULL},
    {"d_turn_grammar-fail-turn-start-first", "d_turn_grammar", "fail", "R-D-TURN-1", {9}, NULL},
    {"d_turn_grammar-fail-event-after-seal",
     "d_turn_grammar",
     "fail",
     "R-D-TURN-2",
     {16, 17},
     NULL},
    {"d_turn_grammar-fail-tool-result-before-step-complete",
     "d_turn_grammar",
     "fail",
     "R-D-TURN-3",
     {9, 10},
     NULL},
    {"d_one_terminal-pass", "d_one_terminal", "pass", NULL, {0}, NULL},
    {"d_one_terminal-fail-missing", "d_one_terminal", "fail", "R-D-TURN-2", {15, 18}, NULL},
    {"d_one_terminal-fail-two-done",
     "d_one_terminal",
     "fail",
     "R-D-TURN-2",
     {15, 16},
     "d_turn_grammar"},
    {"d_tool_pairing-pass", "d_tool_pairing", "pass", NULL, {0}, NULL},
    {"d_tool_pairing-fail-result-without-call", "d_tool_pairing", "fail", "R-D-TURN-3", {12}, NULL},
    {"d_late_join_replay-pass", "d_late_join_replay", "pass", NULL, {0}, NULL},
    {"d_late_join_replay-fail-replay-gap",
     "d_late_join_replay",
     "fail",
     "R-D-SUB-2",
     {15, 26},
     NULL},
    {"d_no_replay_after_seal-pass", "d_no_replay_after_seal", "pass", NULL, {0}, NULL},
    {"d_no_replay_after_seal-fail-replayed",
     "d_no_replay_after_seal",
     "fail",
     "R-D-SUB-3",
     {42, 43},
     NULL},
    {"d_fanout_equal-pass", "d_fanout_equal", "pass", NULL, {0}, NULL},
    {"d_fanout_equal-fail-subscriber-got-nothing",
     "d_fanout_equal",
     "fail",
     "R-D-SUB-4",
     {6, 9},
     NULL},
    {"d_fanout_equal-fail-duplicate", "d_fanout_equal", "fail", "R-D-FAN-1", {12, 23}, NULL},
    {"d_disconnect_no_abort-pass", "d_disconnect_no_abort", "pass", NULL, {0}, NULL},
    {"d_disconnect_no_abort-fail-aborted",
     "d_disconnect_no_abort",
     "fail",
     "R-D-CLOSE-1",
     {15, 22},
     NULL},
    {"d_error_strings-pass", "d_error_strings", "pass", NULL, {0}, NULL},
    {"d_error_strings-fail-wrong-string", "d_error_strings", "fail", "R-D-SEND-2", {7, 8}, NULL},
    {"d_error_strings-fail-no-reply", "d_error_strings", "fail", "R-D-QUEUE-5", {13, 15}, NULL},
    {"d_busy_ordering-pass", "d_busy_ordering", "pass", NULL, {0}, NULL},
    {"d_busy_ordering-fail-error-before-replay",
     "d_busy_ordering",
     "fail",
     "R-D-SEND-6",
     {11, 12},
     NULL},
    {"d_status_order-pass", "d_status_order", "pass", NULL, {0}, NULL},
    {"d_status_order-fail-last-active", "d_status_order", "fail", "R-D-STATUS-1", {29, 32}, NULL},
    {"d_history_equal-pass", "d_history_equal", "pass", NULL, {0}, NULL},
    {"d_history_equal-fail-seq-gap", "d_history_equal", "fail", "R-D-HIST-1", {36}, NULL},
    {"d_history_equal-fail-text-differs", "d_history_equal", "fail", "R-D-HIST-2", {36}, NULL},
};

#define NGOLDEN (sizeof(goldens) / sizeof(goldens[0]))

static bool listed(const char *list, const char *name)
{
    return list && strstr(list, name) != NULL;
}

static json_t *run_file(const char *file)
{
    char *path = NULL, *err = NULL;
    struct hn_transcript *t;
    json_t *res;

    if (asprintf(&path, "%s/%s.jsonl", DGOLDEN_DIR, file) < 0)
        return NULL;
    t = hn_transcript_load(path, &err);
    free(path);
    if (!t) {
        printf("\n  %s\n", err);
        free(err);
        return NULL;
    }
    /* the dialect comes from the header's spec, as `gwspec check` takes it */
    res = hn_dialect_for(wc_json_str(hn_transcript_header(t), "spec"))->check_run(t, NULL);
    hn_transcript_free(t);
    return res;
}

static void check_golden(const struct dgolden *g)
{
    json_t *res = run_file(g->file), *checks, *viol, *v, *first = NULL;
    const char *name;
    size_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    checks = json_object_get(res, "checks");
    viol = json_object_get(res, "violations");
    if (!wc_json_str(checks, g->checker) || strcmp(wc_json_str(checks, g->checker), g->verdict))
        printf("\n  %s: %s is %s, want %s\n", g->file, g->checker,
               wc_json_str(checks, g->checker) ? wc_json_str(checks, g->checker) : "absent",
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
        json_t *want = json_array();
        CU_ASSERT_PTR_NOT_NULL_FATAL(first);
        CU_ASSERT_STRING_EQUAL(wc_json_str(first, "requirement"), g->requirement);
        for (i = 0; i < 3 && g->witness[i]; i++)
            json_array_append_new(want, json_integer(g->witness[i]));
        if (!json_equal(json_object_get(first, "witness"), want)) {
            char *a = json_dumps(json_object_get(first, "witness"), JSON_COMPACT);
            printf("\n  %s: witness %s\n", g->file, a);
            free(a);
        }
        CU_ASSERT(json_equal(json_object_get(first, "witness"), want));
        CU_ASSERT_EQUAL(json_array_size(json_object_get(first, "frames")), json_array_size(want));
        json_decref(want);
    }
    json_decref(res);
}

static void test_dispatch_goldens(void)
{
    for (size_t i = 0; i < NGOLDEN; i++)
        check_golden(&goldens[i]);
}

/* Every golden file is in the table, and every checker has a pass and a fail golden. */
static void test_dispatch_goldens_cover_every_checker(void)
{
    size_t n;
    const struct hn_invariant_info *tab = hn_dispatch_table(&n);
    DIR *d = opendir(DGOLDEN_DIR);
    struct dirent *de;

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        bool found = false;
        if (len < 7 || strcmp(de->d_name + len - 6, ".jsonl"))
            continue;
        for (size_t i = 0; i < NGOLDEN; i++)
            found |= strlen(goldens[i].file) == len - 6 &&
                     !strncmp(goldens[i].file, de->d_name, len - 6);
        if (!found)
            printf("\n  %s is not in the golden table\n", de->d_name);
        CU_ASSERT(found);
    }
    closedir(d);
    for (size_t k = 0; k < n; k++) {
        bool pass = false, fail = false;
        for (size_t i = 0; i < NGOLDEN; i++) {
            if (strcmp(goldens[i].checker, tab[k].name))
                continue;
            pass |= !strcmp(goldens[i].verdict, "pass");
            fail |= !strcmp(goldens[i].verdict, "fail");
        }
        if (!pass || !fail)
            printf("\n  checker %s lacks a %s golden\n", tab[k].name, pass ? "fail" : "pass");
        CU_ASSERT(pass && fail);
    }
}

/* The spec version chooses the dialect; unknown versions are chatgw/1's drafts. */
static void test_dialect_for(void)
{
    CU_ASSERT_PTR_EQUAL(hn_dialect_for(NULL), &hn_dialect_chatgw1);
    CU_ASSERT_PTR_EQUAL(hn_dialect_for("chatgw/1.0"), &hn_dialect_chatgw1);
    CU_ASSERT_PTR_EQUAL(hn_dialect_for("chatgw/1.1"), &hn_dialect_chatgw1);
    CU_ASSERT_PTR_EQUAL(hn_dialect_for("draft-x"), &hn_dialect_chatgw1);
    CU_ASSERT_PTR_EQUAL(hn_dialect_for("dispatch-ws/1"), &hn_dialect_dispatch_ws1);
}

/* Each dialect's sentinel is answered by the reply its gateway gives, and nothing else. */
static void test_dialect_sentinels(void)
{
    for (size_t i = 0; hn_dialects[i]; i++) {
        const struct hn_dialect *d = hn_dialects[i];
        json_t *f = d->sentinel_frame("gwspec-sentinel-7");
        CU_ASSERT_PTR_NOT_NULL(f);
        CU_ASSERT_PTR_NULL(d->sentinel_reply(f)); /* the request is not its own answer */
        json_decref(f);
    }
    json_t *ack =
        json_pack("{s:s, s:s}", "kind", "chat_subscribed", "sessionId", "gwspec-sentinel-7");
    json_t *err = json_pack("{s:s, s:s, s:s}", "type", "error", "surfaceId", "gwspec-sentinel-7",
                            "message", "Unknown surface: gwspec-sentinel-7");
    json_t *other = json_pack("{s:s, s:s}", "type", "error", "message", "Invalid JSON");
    CU_ASSERT_STRING_EQUAL(hn_dialect_chatgw1.sentinel_reply(ack), "gwspec-sentinel-7");
    CU_ASSERT_PTR_NULL(hn_dialect_chatgw1.sentinel_reply(err));
    CU_ASSERT_STRING_EQUAL(hn_dialect_dispatch_ws1.sentinel_reply(err), "gwspec-sentinel-7");
    CU_ASSERT_PTR_NULL(hn_dialect_dispatch_ws1.sentinel_reply(ack));
    CU_ASSERT_PTR_NULL(hn_dialect_dispatch_ws1.sentinel_reply(other));
    CU_ASSERT_STRING_EQUAL(hn_dialect_dispatch_ws1.frame_id(err), "error");
    CU_ASSERT_STRING_EQUAL(hn_dialect_chatgw1.frame_id(ack), "chat_subscribed");
    json_decref(ack);
    json_decref(err);
    json_decref(other);
}

/* Malformed records never crash a checker. */
static void test_dispatch_malformed_records(void)
{
    static const char text[] =
        "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\",\"spec\":\"dispatch-ws/1\"}\n"
        "{\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat.delta\"}}\n"
        "{\"t\":\"open\",\"conn\":\"c1\"}\n"
        "{\"t\":\"recv\",\"conn\":\"c1\",\"frame\":3}\n"
        "{\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat.delta\",\"event\":{\"type\":"
        "\"tool-result\",\"conversationId\":\"x\",\"turnId\":1}}}\n"
        "{\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat.delta\",\"event\":{\"type\":"
        "\"tool-result\",\"conversationId\":\"x\",\"turnId\":\"t\"}}}\n"
        "{\"t\":\"send\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat.send\",\"images\":[1]}}\n"
        "{\"t\":\"send\",\"conn\":\"c1\",\"hex\":\"ff\"}\n"
        "{\"t\":\"http\",\"method\":\"GET\",\"path\":\"/conversations/"
        "x\",\"body\":{\"chunks\":[1]}}\n"
        "{\"t\":\"close\",\"conn\":\"c1\",\"by\":\"client\"}\n";
    char *err = NULL;
    struct hn_transcript *t = hn_transcript_load_string("m.jsonl", text, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    json_t *res = hn_dispatch_run(t, NULL);
    CU_ASSERT_PTR_NOT_NULL(res);
    json_decref(res);
    hn_transcript_free(t);
}

/* ---- the linter on Dispatch cases ------------------------------------------------------------ */

static const char *DREQS = "version: dispatch-ws/1\n"
                           "requirements:\n"
                           "  - {id: R-D-TURN-1, level: MUST, title: a}\n"
                           "  - {id: R-D-STATUS-1, level: MUST, title: b}\n";

static const char *DNAME = "cases/dispatch-ws-1/22-turns/22.9.1-x.yaml";

static const char *DGOOD = "id: 22.9.1-x\n"                             /* 1 */
                           "title: t\n"                                 /* 2 */
                           "spec: [R-D-TURN-1]\n"                       /* 3 */
                           "description: d\n"                           /* 4 */
                           "expectation: e\n"                           /* 5 */
                           "sessions:\n"                                /* 6 */
                           "  s1: {}\n"                                 /* 7 */
                           "providers:\n"                               /* 8 */
                           "  s1:\n"                                    /* 9 */
                           "    - emit: {kind: text-delta, delta: a}\n" /* 10 */
                           "    - complete: 0\n"                        /* 11 */
                           "steps:\n"                                   /* 12 */
                           "  - connect: c1\n"                          /* 13 */
                           "  - send: {c1: {type: chat.send, conversationId: $s1, message: "
                           "$script.s1}}\n" /* 14 */
                           "  - expect: {c1: {type: chat.delta, event: {type: user-message}}}\n"
                           "  - quiet: c1\n"; /* 16 */

/* Lint text under dispatch-ws/1's wire; the errors (new). */
static json_t *dlint(const char *text, size_t *ncases)
{
    char *err = NULL;
    struct hn_spec *sp = hn_spec_load_string("requirements.yaml", DREQS, &err);
    struct hn_caselist l = {0};
    json_t *errs = json_array();

    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    sp->wire = &hn_dialect_dispatch_ws1.wire;
    hn_case_load_string(DNAME, text, sp, &l, errs);
    *ncases = l.n;
    hn_caselist_release(&l);
    hn_spec_free(sp);
    return errs;
}

static void dlint_one(const char *from, const char *to, const char *want)
{
    const char *p = strstr(DGOOD, from);
    size_t n;
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char *text = NULL;
    if (asprintf(&text, "%.*s%s%s", (int)(p - DGOOD), DGOOD, to, p + strlen(from)) < 0)
        return;
    json_t *errs = dlint(text, &n);
    const char *got = json_string_value(json_array_get(errs, 0));
    if (!got || strcmp(got, want))
        printf("\n  got %s\n  want %s\n", got ? got : "(no error)", want);
    CU_ASSERT(got && !strcmp(got, want));
    CU_ASSERT_EQUAL(n, 0);
    json_decref(errs);
    free(text);
}

/* A good Dispatch case loads (a session with no provider, its default ignore); bad ones give
 * file:line:col errors, like chatgw/1's. */
static void test_dispatch_lint(void)
{
    size_t n;
    json_t *errs = dlint(DGOOD, &n);
    CU_ASSERT_EQUAL(json_array_size(errs), 0);
    CU_ASSERT_EQUAL(n, 1);
    json_decref(errs);

    dlint_one("spec: [R-D-TURN-1]", "spec: [R-TERM-1]",
              "cases/dispatch-ws-1/22-turns/22.9.1-x.yaml:3:8: unknown requirement 'R-TERM-1' "
              "(not in dispatch-ws/1)");
    dlint_one("description: d\n", "needs: [heartbeat]\ndescription: d\n",
              "cases/dispatch-ws-1/22-turns/22.9.1-x.yaml:4:9: unknown needs 'heartbeat'");
    dlint_one("  - quiet: c1\n",
              "  - expect: {c1: {type: conversation.statusChanged, status: idle}}\n",
              "cases/dispatch-ws-1/22-turns/22.9.1-x.yaml:12:1: the case observes "
              "'conversation.statusChanged', a broadcast that reaches every connection of the "
              "target, so other cases running beside it cause it too: add 'own_target: true' (a "
              "private gateway instance)");
}

static CU_TestInfo dispatch_tests[] = {
    {"goldens", test_dispatch_goldens},
    {"goldens_cover_every_checker", test_dispatch_goldens_cover_every_checker},
    {"dialect_for", test_dialect_for},
    {"dialect_sentinels", test_dialect_sentinels},
    {"malformed_records", test_dispatch_malformed_records},
    {"lint", test_dispatch_lint},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_dispatch_suites[] = {
    {.pName = "hn_dispatch", .pTests = dispatch_tests},
    CU_SUITE_INFO_NULL,
};
