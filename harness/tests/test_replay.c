/*
 * test_replay.c: CUnit tests for harness/replay/replay.c (transcript -> model -> case, the
 * conforming simulation, findings, YAML that lints, ddmin). Suite table: hn_replay_suites.
 * record.c's tests are in test_record.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "model/scenario.h"
#include "model/transcript.h"
#include "replay/replay.h"
#include "wc_err.h"
#include "wc_json.h"
#include "wc_mem.h"

/* ---- replay.c ------------------------------------------------------------------------------ */

#define S1 "7d0c6a52-3b9e-4f11-8a2d-5e6f7a8b9c01"

/* A client-only transcript as `gwspec record` writes it: codex, complete, then a status. */
static const char after_complete[] =
    "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\",\"spec\":\"chatgw/1.0\"}\n"
    "{\"n\":1,\"t\":\"http\",\"method\":\"POST\",\"path\":\"/api/providers/"
    "sessions\",\"status\":201,"
    "\"request\":{\"provider\":\"codex\",\"projectPath\":\"/"
    "p\"},\"body\":{\"success\":true,\"data\":{\"sessionId\":\"" S1 "\"}}}\n"
    "{\"n\":2,\"t\":\"open\",\"conn\":\"c1\"}\n"
    "{\"n\":3,\"t\":\"send\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat.send\",\"sessionId\":\"" S1
    "\",\"content\":\"hi\"}}\n"
    "{\"n\":4,\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"kind\":\"session_upserted\","
    "\"sessionId\":\"" S1 "\",\"providerSessionId\":\"nat-1\"}}\n"
    "{\"n\":5,\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"kind\":\"text\",\"role\":\"assistant\","
    "\"content\":\"done\",\"id\":\"e1\",\"seq\":1,\"sessionId\":\"" S1
    "\",\"provider\":\"codex\"}}\n"
    "{\"n\":6,\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"kind\":\"complete\",\"exitCode\":0,"
    "\"success\":true,\"aborted\":false,\"id\":\"e2\",\"seq\":2,\"sessionId\":\"" S1 "\"}}\n"
    "{\"n\":7,\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"kind\":\"status\",\"text\":\"token_"
    "budget\",\"id\":\"e3\",\"seq\":3,\"sessionId\":\"" S1 "\"}}\n"
    "{\"n\":8,\"t\":\"send\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat.subscribe\",\"sessions\":[{"
    "\"sessionId\":\"gwspec-sentinel-1\"}]},\"sentinel\":true}\n"
    "{\"n\":9,\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"kind\":\"chat_subscribed\",\"sessionId\":"
    "\"gwspec-sentinel-1\"},\"sentinel\":true}\n"
    "{\"n\":10,\"t\":\"close\",\"conn\":\"c1\",\"by\":\"client\",\"code\":1000,\"reason\":\"\"}\n";

/* An unknown type ignored, and an abort during setup. */
static const char unknown_and_abort[] =
    "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\"}\n"
    "{\"t\":\"open\",\"conn\":\"c1\"}\n"
    "{\"t\":\"send\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat.nope\",\"sessionId\":\"" S1 "\"}}\n"
    "{\"t\":\"send\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat.send\",\"sessionId\":\"" S1
    "\",\"content\":\"x\"}}\n"
    "{\"t\":\"send\",\"conn\":\"c1\",\"frame\":{\"type\":\"chat.abort\",\"sessionId\":\"" S1
    "\"}}\n"
    "{\"t\":\"recv\",\"conn\":\"c1\",\"frame\":{\"kind\":\"complete\",\"aborted\":true,"
    "\"exitCode\":1,\"id\":\"a\",\"seq\":1,\"sessionId\":\"" S1 "\"}}\n"
    "{\"t\":\"send\",\"conn\":\"c1\",\"text\":\"{broken\"}\n";

static const char reqs[] = "requirements:\n"
                           "  - {id: R-FWD-1, level: MUST, section: 4}\n"
                           "  - {id: R-TERM-1, level: MUST, section: 5}\n"
                           "  - {id: R-TERM-2, level: MUST, section: 5}\n"
                           "  - {id: R-TERM-4, level: MUST, section: 5}\n"
                           "  - {id: R-ABORT-1, level: MUST, section: 6}\n"
                           "  - {id: R-ABORT-2, level: MUST, section: 6}\n"
                           "  - {id: R-ABORT-3, level: MUST, section: 6}\n"
                           "  - {id: R-ABORT-4, level: MUST, section: 6}\n"
                           "  - {id: R-IN-1, level: MUST, section: 3}\n"
                           "  - {id: R-IN-2, level: MUST, section: 3}\n"
                           "  - {id: R-SUB-1, level: MUST, section: 7}\n"
                           "  - {id: R-SUB-3, level: MUST, section: 7}\n"
                           "  - {id: R-SUB-7, level: SHOULD, section: 7}\n"
                           "  - {id: R-BUSY-1, level: MUST, section: 4}\n"
                           "  - {id: R-FAN-1, level: MUST, section: 8, capability: fan-out}\n";

static struct hn_replay_model *model_of(const char *text)
{
    char *err = NULL;
    struct hn_transcript *t = hn_transcript_load_string("t.jsonl", text, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    struct hn_replay_model *m = hn_replay_model_build(t, NULL);
    hn_transcript_free(t);
    return m;
}

/* The case lints against a small spec. */
static bool case_lints(const json_t *c)
{
    char *err = NULL;
    struct hn_spec *spec = hn_spec_load_string("r.yaml", reqs, &err);
    struct hn_caselist l = {0};
    json_t *errs = json_array();
    char *yaml = hn_replay_yaml(c);
    char *name = wc_xasprintf("%s.yaml", wc_json_str(c, "id"));
    int rc = spec ? hn_case_load_string(name, yaml, spec, &l, errs) : -1;
    if (rc != 0) {
        size_t i;
        json_t *e;
        fprintf(stderr, "%s\n", yaml);
        json_array_foreach(errs, i, e) fprintf(stderr, "lint: %s\n", json_string_value(e));
    }
    hn_caselist_release(&l);
    json_decref(errs);
    hn_spec_free(spec);
    free(err);
    free(name);
    free(yaml);
    return rc == 0;
}

static const json_t *find_step(const json_t *c, const char *name, size_t nth)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(c, "steps"), i, s)
    {
        if (json_object_get(s, name) && nth-- == 0)
            return s;
    }
    return NULL;
}

static void test_model_and_findings(void)
{
    struct hn_replay_model *m = model_of(after_complete);
    const json_t *items = hn_replay_item_list(m);
    /* connect, send, announce, emit, complete, emit, disconnect; the sentinel is gone */
    CU_ASSERT_EQUAL(hn_replay_items(m), 7);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(items, 0), "k"), "connect");
    CU_ASSERT_STRING_EQUAL(
        wc_json_str(json_object_get(json_array_get(items, 1), "frame"), "content"), "$script.r1");
    CU_ASSERT_STRING_EQUAL(
        wc_json_str(json_object_get(json_array_get(items, 1), "frame"), "sessionId"), "$s1");
    CU_ASSERT_STRING_EQUAL(
        wc_json_str(json_object_get(json_array_get(items, 2), "step"), "announce"), "auto");
    json_t *emit = json_object_get(json_object_get(json_array_get(items, 3), "step"), "emit");
    CU_ASSERT_PTR_NULL(json_object_get(emit, "seq"));
    CU_ASSERT_PTR_NULL(json_object_get(emit, "id"));
    CU_ASSERT_PTR_NULL(json_object_get(emit, "sessionId"));
    CU_ASSERT_STRING_EQUAL(wc_json_str(emit, "content"), "done");
    json_t *f = hn_replay_findings(m);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(f, 0)), "R-TERM-2");
    json_decref(f);
    hn_replay_model_free(m);
}

static void test_render_conforming_expectations(void)
{
    struct hn_replay_model *m = model_of(after_complete);
    struct hn_replay_opts o = {.id = "12.0.1-t"};
    json_t *c = hn_replay_render(m, NULL, &o);

    CU_ASSERT(case_lints(c));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(c, "spec"), 0)),
                           "R-TERM-2");
    CU_ASSERT_STRING_EQUAL(
        wc_json_str(json_object_get(json_object_get(c, "sessions"), "s1"), "provider"), "codex");
    /* the script keeps what the provider did, the status after the complete included */
    json_t *script =
        json_object_get(json_object_get(json_object_get(c, "providers"), "r1"), "script");
    CU_ASSERT_EQUAL(json_array_size(script), 5); /* barrier, announce, emit, complete, emit */
    /* the expectations are the conforming ones: seq 1, the complete as seq 2, then the sentinel */
    const json_t *e1 = find_step(c, "expect", 1), *e2 = find_step(c, "expect", 2),
                 *e3 = find_step(c, "expect", 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e3);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(
                        json_object_get(json_object_get(e1, "expect"), "c1"), "seq")),
                    1);
    CU_ASSERT_STRING_EQUAL(
        wc_json_str(json_object_get(json_object_get(e2, "expect"), "c1"), "kind"), "complete");
    CU_ASSERT_STRING_EQUAL(
        wc_json_str(json_object_get(json_object_get(e3, "expect"), "c1"), "kind"),
        "chat_subscribed");
    CU_ASSERT_STRING_EQUAL(wc_json_str(e3, "requirement"), "R-TERM-2");
    CU_ASSERT_PTR_NOT_NULL(find_step(c, "provider_done", 0));
    CU_ASSERT(hn_replay_case_size(c) > 10);
    json_decref(c);
    hn_replay_model_free(m);
}

static void test_render_unknown_type_abort_raw(void)
{
    struct hn_replay_model *m = model_of(unknown_and_abort);
    struct hn_replay_opts o = {.id = "12.0.2-t"};
    json_t *f = hn_replay_findings(m);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(f, 0)), "R-IN-2");
    json_decref(f);
    json_t *c = hn_replay_render(m, NULL, &o);
    CU_ASSERT(case_lints(c));
    char *yaml = hn_replay_yaml(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(yaml, "code: UNKNOWN_MESSAGE_TYPE"));
    /* the abort came while the provider was in setup: it is held there, and must be stopped */
    CU_ASSERT_PTR_NOT_NULL(strstr(yaml, "reached: {r1: b1}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(yaml, "provider_done: {r1: aborted}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(yaml, "aborted: true"));
    CU_ASSERT_PTR_NOT_NULL(strstr(yaml, "send_raw: {client: c1, text: \"{broken\"}"));
    free(yaml);
    json_decref(c);
    hn_replay_model_free(m);
}

/*
 * The abort's complete and the ack of the sync subscribe sent right after it may come in either
 * order (an async gateway answers the subscribe while it stops the provider): one group, charged
 * to R-ABORT-1, with no order between the two; the other sync acks stay plain expects.
 */
static void test_render_abort_complete_may_follow_the_sync_ack(void)
{
    struct hn_replay_model *m = model_of(unknown_and_abort);
    struct hn_replay_opts o = {.id = "12.0.4-t"};
    json_t *c = hn_replay_render(m, NULL, &o);
    const json_t *g = find_step(c, "group", 0), *items, *it;
    size_t i, acks = 0, completes = 0;

    CU_ASSERT(case_lints(c));
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_PTR_NULL(find_step(c, "group", 1));
    CU_ASSERT_STRING_EQUAL(wc_json_str(g, "requirement"), "R-ABORT-1");
    items = json_object_get(g, "group");
    CU_ASSERT_EQUAL(json_array_size(items), 2);
    json_array_foreach(items, i, it)
    {
        const char *kind = wc_json_str(json_object_get(it, "c1"), "kind");
        CU_ASSERT_PTR_NULL(json_object_get(it, "after"));
        CU_ASSERT_PTR_NULL(json_object_get(it, "before"));
        if (kind && !strcmp(kind, "complete")) {
            completes++;
            CU_ASSERT(json_is_true(json_object_get(json_object_get(it, "c1"), "aborted")));
        } else if (kind && !strcmp(kind, "chat_subscribed")) {
            acks++;
            CU_ASSERT_STRING_EQUAL(wc_json_str(json_object_get(it, "c1"), "sessionId"),
                                   "gwspec-sync-3");
        }
    }
    CU_ASSERT_EQUAL(completes, 1);
    CU_ASSERT_EQUAL(acks, 1);
    /* no separate expect for that ack: it is in the group */
    for (i = 0; (it = find_step(c, "expect", i)) != NULL; i++) {
        const char *sid =
            wc_json_str(json_object_get(json_object_get(it, "expect"), "c1"), "sessionId");
        CU_ASSERT(!sid || strcmp(sid, "gwspec-sync-3"));
    }
    /* the group renders one item per line */
    char *yaml = hn_replay_yaml(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(yaml, "  - group:\n      - {c1: {kind: complete, aborted: true"));
    CU_ASSERT_PTR_NOT_NULL(strstr(
        yaml, "\n      - {c1: {kind: chat_subscribed, sessionId: gwspec-sync-3}, as: c1_sync}\n"
              "    requirement: R-ABORT-1\n"));
    free(yaml);
    json_decref(c);
    hn_replay_model_free(m);
}

static void test_render_subsets_always_lint(void)
{
    struct hn_replay_model *m = model_of(after_complete);
    struct hn_replay_opts o = {.id = "12.0.3-t", .requirement = "R-TERM-2"};
    size_t n = hn_replay_items(m);
    bool *keep = wc_xcalloc(n, sizeof(bool));
    /* every subset of the items renders into a case that lints */
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        for (size_t i = 0; i < n; i++)
            keep[i] = mask & (1u << i);
        json_t *c = hn_replay_render(m, keep, &o);
        CU_ASSERT(case_lints(c));
        json_decref(c);
    }
    free(keep);
    hn_replay_model_free(m);
}

static void test_yaml_quoting(void)
{
    json_t *c = json_pack("{s:s, s:[s, s, s, s, s, s]}", "id", "1.1.1-q", "x", "true", "12", "a: b",
                          "$s1", "<iso8601>", "it's");
    char *y = hn_replay_yaml(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(y, "[\"true\", \"12\", \"a: b\", $s1, <iso8601>, \"it's\"]"));
    free(y);
    json_decref(c);
}

struct dd_target {
    size_t calls;
};

/* Fails (reproduces) when items 3 and 7 are both kept. */
static bool dd_pred(const bool *keep, size_t n, void *ctx)
{
    struct dd_target *t = ctx;
    t->calls++;
    return n > 7 && keep[3] && keep[7];
}

static void test_ddmin(void)
{
    bool keep[12];
    struct dd_target t = {0};
    for (size_t i = 0; i < 12; i++)
        keep[i] = true;
    size_t tests = hn_ddmin(12, keep, dd_pred, &t);
    for (size_t i = 0; i < 12; i++)
        CU_ASSERT_EQUAL(keep[i], i == 3 || i == 7);
    CU_ASSERT_EQUAL(tests, t.calls);
    CU_ASSERT(tests > 0 && tests < 60);
}

static CU_TestInfo replay_tests[] = {
    {"model and findings of a client-only transcript", test_model_and_findings},
    {"rendered case expects the conforming frames", test_render_conforming_expectations},
    {"unknown type, abort in setup, raw text", test_render_unknown_type_abort_raw},
    {"an abort's complete may follow the sync ack",
     test_render_abort_complete_may_follow_the_sync_ack},
    {"every subset renders a case that lints", test_render_subsets_always_lint},
    {"YAML scalars are quoted when needed", test_yaml_quoting},
    {"ddmin finds the two items that matter", test_ddmin},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_replay_suites[] = {
    {"hn_replay", NULL, NULL, NULL, NULL, replay_tests},
    CU_SUITE_INFO_NULL,
};
