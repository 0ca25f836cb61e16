/* test_writer.c: remapping, decoration and complete normalisation. */
#include <string.h>

#include <CUnit/CUnit.h>

#include "../mutants.h"
#include "wc_json.h"
#include "wc_rand.h"
#include "wc_time.h"
#include "../writer.h"

#include "wc_log.h"

#include "wc_banned.h"

static struct wc_rand rnd;

static json_t *decorate(struct gw_writer *w, const char *text, enum gw_writer_action *act,
                        bool *announced)
{
    json_t *out = NULL;
    *act = gw_writer_decorate(w, json_loads(text, 0, NULL), &out, announced);
    return out;
}

static void test_writer_remaps_session_id_and_fills_envelope(void)
{
    struct gw_writer w;
    enum gw_writer_action act;
    bool ann;
    json_t *out;

    wc_rand_init(&rnd, 1);
    gw_writer_init(&w, "app-1", "claude", "nat-1", &rnd);
    out = decorate(&w,
                   "{\"kind\":\"stream_delta\",\"content\":\"a\",\"sessionId\":\"nat-1\","
                   "\"other\":\"nat-1\"}",
                   &act, &ann);
    CU_ASSERT_EQUAL(act, GW_WRITER_FORWARD);
    CU_ASSERT_STRING_EQUAL(wc_json_str(out, "sessionId"), "app-1");
    CU_ASSERT_STRING_EQUAL(wc_json_str(out, "other"), "app-1");
    CU_ASSERT_STRING_EQUAL(wc_json_str(out, "provider"), "claude");
    CU_ASSERT_STRING_EQUAL(wc_json_str(out, "content"), "a");
    CU_ASSERT(strncmp(wc_json_str(out, "id"), "stream_delta_", 13) == 0);
    CU_ASSERT(wc_is_iso8601(wc_json_str(out, "timestamp")));
    CU_ASSERT_PTR_NULL(json_object_get(out, "seq"));
    json_decref(out);
    /* A provider-set id and timestamp are kept. */
    out = decorate(&w, "{\"kind\":\"text\",\"id\":\"x1\",\"timestamp\":\"t\"}", &act, &ann);
    CU_ASSERT_STRING_EQUAL(wc_json_str(out, "id"), "x1");
    CU_ASSERT_STRING_EQUAL(wc_json_str(out, "timestamp"), "t");
    json_decref(out);
    gw_writer_release(&w);
}

static void test_writer_swallows_session_created(void)
{
    struct gw_writer w;
    enum gw_writer_action act;
    bool ann;
    json_t *out;

    gw_writer_init(&w, "app-1", "cursor", NULL, &rnd);
    out = decorate(&w, "{\"kind\":\"session_created\",\"newSessionId\":\"nat-9\"}", &act, &ann);
    CU_ASSERT_EQUAL(act, GW_WRITER_SWALLOW);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_TRUE(ann);
    CU_ASSERT_STRING_EQUAL(w.native_id, "nat-9");
    /* The same id again is not news. */
    out = decorate(&w, "{\"kind\":\"session_created\",\"sessionId\":\"nat-9\"}", &act, &ann);
    CU_ASSERT_EQUAL(act, GW_WRITER_SWALLOW);
    CU_ASSERT_FALSE(ann);
    CU_ASSERT_FALSE(gw_writer_capture(&w, "nat-9"));
    CU_ASSERT_TRUE(gw_writer_capture(&w, "nat-10"));
    gw_writer_release(&w);
}

/* Issue 18: an id that is not valid UTF-8 is refused (it made session_upserted "null"). */
static void test_writer_refuses_invalid_utf8_native_id(void)
{
    struct gw_writer w;

    wc_log_setup("test-reference-server", WC_LOG_QUIET);
    gw_writer_init(&w, "app-1", "cursor", NULL, &rnd);
    CU_ASSERT_FALSE(gw_writer_capture(&w, "nat-\xff"));
    CU_ASSERT_FALSE(gw_writer_capture(&w, "\xc3("));
    CU_ASSERT_PTR_NULL(w.native_id);
    CU_ASSERT_TRUE(gw_writer_capture(&w, "nat-\xc3\xa9"));
    CU_ASSERT_FALSE(gw_writer_capture(&w, "\xed\xa0\x80")); /* a UTF-16 surrogate */
    CU_ASSERT_STRING_EQUAL(w.native_id, "nat-\xc3\xa9");
    wc_log_setup("test-reference-server", WC_LOG_ERROR);
    gw_writer_release(&w);
}

static void test_writer_drops_non_kind_objects(void)
{
    struct gw_writer w;
    enum gw_writer_action act;
    bool ann;

    gw_writer_init(&w, "app-1", "codex", NULL, &rnd);
    CU_ASSERT_PTR_NULL(decorate(&w, "{\"type\":\"x\"}", &act, &ann));
    CU_ASSERT_EQUAL(act, GW_WRITER_DROP);
    CU_ASSERT_PTR_NULL(decorate(&w, "{\"kind\":3}", &act, &ann));
    CU_ASSERT_EQUAL(act, GW_WRITER_DROP);
    gw_writer_release(&w);
}

static void test_writer_normalises_complete(void)
{
    static const struct {
        const char *in;
        int64_t exit;
        bool success;
        bool aborted;
    } rows[] = {
        {"{\"kind\":\"complete\",\"exitCode\":0}", 0, true, false},
        {"{\"kind\":\"complete\"}", 1, false, false},
        {"{\"kind\":\"complete\",\"exitCode\":null}", 1, false, false},
        {"{\"kind\":\"complete\",\"exitCode\":\"0\"}", 1, false, false},
        {"{\"kind\":\"complete\",\"exitCode\":2}", 2, false, false},
        {"{\"kind\":\"complete\",\"exitCode\":0,\"aborted\":true}", 0, false, true},
        {"{\"kind\":\"complete\",\"exitCode\":0,\"aborted\":1}", 0, false, true},
        {"{\"kind\":\"complete\",\"exitCode\":0,\"aborted\":\"\"}", 0, true, false},
    };
    struct gw_writer w;

    gw_writer_init(&w, "app-1", "codex", "nat-2", &rnd);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        enum gw_writer_action act;
        bool ann;
        int64_t code = -1;
        json_t *out = decorate(&w, rows[i].in, &act, &ann);
        CU_ASSERT_TRUE_FATAL(wc_json_int(out, "exitCode", &code));
        CU_ASSERT_EQUAL(code, rows[i].exit);
        CU_ASSERT_EQUAL(wc_json_bool(out, "success", !rows[i].success), rows[i].success);
        CU_ASSERT_EQUAL(wc_json_bool(out, "aborted", !rows[i].aborted), rows[i].aborted);
        CU_ASSERT_STRING_EQUAL(wc_json_str(out, "actualSessionId"), "app-1");
        json_decref(out);
    }
    gw_writer_release(&w);
}

static void test_writer_mutants_flip(void)
{
    struct gw_writer w;
    enum gw_writer_action act;
    bool ann;
    json_t *out;

    gw_writer_init(&w, "app-1", "claude", "nat-1", &rnd);
    gw_mutant_force(GW_MUT_LEAK_PROVIDER_ID);
    out = decorate(&w, "{\"kind\":\"text\",\"sessionId\":\"nat-1\"}", &act, &ann);
    CU_ASSERT_STRING_EQUAL(wc_json_str(out, "sessionId"), "nat-1");
    json_decref(out);
    gw_mutant_force(GW_MUT_FORWARD_SESSION_CREATED);
    out = decorate(&w, "{\"kind\":\"session_created\",\"newSessionId\":\"nat-1\"}", &act, &ann);
    CU_ASSERT_EQUAL(act, GW_WRITER_FORWARD);
    json_decref(out);
    gw_mutant_force(GW_MUT_NO_TIMESTAMP);
    out = decorate(&w, "{\"kind\":\"text\"}", &act, &ann);
    CU_ASSERT_PTR_NULL(json_object_get(out, "timestamp"));
    json_decref(out);
    gw_mutant_force(GW_MUT_COMPLETE_SUCCESS_WHEN_ABORTED);
    out = decorate(&w, "{\"kind\":\"complete\",\"exitCode\":0,\"aborted\":true}", &act, &ann);
    CU_ASSERT_TRUE(wc_json_bool(out, "success", false));
    json_decref(out);
    gw_mutant_force(GW_MUT_NONE);
    gw_writer_release(&w);
}

/* R-MAP-2 over R-FWD-1: the native id becomes the app id in every string value at any depth. */
static void test_writer_remaps_at_any_depth(void)
{
    struct gw_writer w;
    enum gw_writer_action act;
    bool ann;
    json_t *out, *in;

    gw_writer_init(&w, "app-1", "claude", "nat-0123456789", &rnd);
    out = decorate(&w,
                   "{\"kind\":\"tool_use\",\"toolId\":\"nat-0123456789\","
                   "\"toolInput\":{\"command\":\"cat x/nat-0123456789.jsonl\","
                   "\"meta\":{\"thread\":\"nat-0123456789\",\"n\":3}},"
                   "\"list\":[\"a\",[\"nat-0123456789\"],{\"s\":\"nat-0123456789\"}],"
                   "\"nat-0123456789\":\"kept as a key\"}",
                   &act, &ann);
    CU_ASSERT_EQUAL_FATAL(act, GW_WRITER_FORWARD);
    CU_ASSERT_STRING_EQUAL(wc_json_str(out, "toolId"), "app-1");
    in = json_object_get(out, "toolInput");
    CU_ASSERT_STRING_EQUAL(wc_json_str(in, "command"), "cat x/app-1.jsonl");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_object_get(in, "meta"), "thread"), "app-1");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(in, "meta"), "n")), 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(out, "list"), 0)), "a");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_array_get(json_array_get(json_object_get(out, "list"), 1), 0)),
        "app-1");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(json_object_get(out, "list"), 2), "s"),
                           "app-1");
    /* keys are names, not values */
    CU_ASSERT_STRING_EQUAL(wc_json_str(out, "nat-0123456789"), "kept as a key");
    json_decref(out);
    /* the old behaviour, behind its mutant: nested values keep the native id */
    gw_mutant_force(GW_MUT_REMAP_TOP_LEVEL_ONLY);
    out = decorate(&w,
                   "{\"kind\":\"text\",\"a\":\"nat-0123456789\",\"b\":{\"c\":\"nat-0123456789\"}}",
                   &act, &ann);
    CU_ASSERT_STRING_EQUAL(wc_json_str(out, "a"), "app-1");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_object_get(out, "b"), "c"), "nat-0123456789");
    json_decref(out);
    gw_mutant_force(GW_MUT_NONE);
    gw_writer_release(&w);
}

/* A short native id is an occurrence only as a token of its own; a kind may be remapped too. */
static void test_writer_remaps_short_ids_as_tokens(void)
{
    struct gw_writer w;
    enum gw_writer_action act;
    bool ann;
    json_t *out;

    gw_writer_init(&w, "app-1", "codex", "t42", &rnd);
    out = decorate(&w, "{\"kind\":\"text\",\"content\":\"t42 and t420 and xt42 and (t42)\"}", &act,
                   &ann);
    CU_ASSERT_STRING_EQUAL(wc_json_str(out, "content"), "app-1 and t420 and xt42 and (app-1)");
    json_decref(out);
    /* the kind itself equal to the native id: the generated id uses the remapped kind */
    out = decorate(&w, "{\"kind\":\"t42\"}", &act, &ann);
    CU_ASSERT_EQUAL(act, GW_WRITER_FORWARD);
    CU_ASSERT_STRING_EQUAL(wc_json_str(out, "kind"), "app-1");
    CU_ASSERT(strncmp(wc_json_str(out, "id"), "app-1_", 6) == 0);
    json_decref(out);
    gw_writer_release(&w);
}

/* Nesting up to GW_WRITER_MAX_DEPTH is remapped; one level more is dropped, never half sent. */
static void test_writer_depth_bound(void)
{
    struct gw_writer w;
    enum gw_writer_action act;
    bool ann;
    json_t *ev, *v, *out = NULL;
    int d;

    gw_writer_init(&w, "app-1", "claude", "nat-0123456789", &rnd);
    for (int extra = 0; extra <= 1; extra++) {
        /* the event is depth 0, its field depth 1: the string sits at depth MAX + extra */
        v = json_string("nat-0123456789");
        for (d = GW_WRITER_MAX_DEPTH + extra; d > 1; d--) {
            json_t *a = json_array();
            json_array_append_new(a, v);
            v = a;
        }
        ev = json_pack("{s:s, s:o}", "kind", "text", "deep", v);
        act = gw_writer_decorate(&w, ev, &out, &ann);
        if (extra == 0) {
            CU_ASSERT_EQUAL(act, GW_WRITER_FORWARD);
            v = json_object_get(out, "deep");
            while (json_is_array(v))
                v = json_array_get(v, 0);
            CU_ASSERT_STRING_EQUAL(json_string_value(v), "app-1");
            json_decref(out);
        } else {
            CU_ASSERT_EQUAL(act, GW_WRITER_DROP);
            CU_ASSERT_PTR_NULL(out);
        }
    }
    gw_writer_release(&w);
}

/* gw_writer_remap: the same rule for provider data outside an event; no native id, no change */
static void test_writer_remap_api(void)
{
    struct gw_writer w;
    json_t *v = json_loads("{\"a\":[{\"b\":\"x nat-0123456789 y\"}]}", 0, NULL);

    gw_writer_init(&w, "app-1", "claude", NULL, &rnd);
    CU_ASSERT_TRUE(gw_writer_remap(&w, v));
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(json_object_get(v, "a"), 0), "b"),
                           "x nat-0123456789 y");
    CU_ASSERT_TRUE(gw_writer_capture(&w, "nat-0123456789"));
    CU_ASSERT_TRUE(gw_writer_remap(&w, v));
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(json_object_get(v, "a"), 0), "b"),
                           "x app-1 y");
    json_decref(v);
    gw_writer_release(&w);
}

static CU_TestInfo writer_tests[] = {
    {"remaps_session_id_and_fills_envelope", test_writer_remaps_session_id_and_fills_envelope},
    {"swallows_session_created", test_writer_swallows_session_created},
    {"refuses_invalid_utf8_native_id", test_writer_refuses_invalid_utf8_native_id},
    {"drops_non_kind_objects", test_writer_drops_non_kind_objects},
    {"normalises_complete", test_writer_normalises_complete},
    {"mutants_flip", test_writer_mutants_flip},
    {"remaps_at_any_depth", test_writer_remaps_at_any_depth},
    {"remaps_short_ids_as_tokens", test_writer_remaps_short_ids_as_tokens},
    {"depth_bound", test_writer_depth_bound},
    {"remap_api", test_writer_remap_api},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo gw_writer_suites[] = {
    {.pName = "gw_writer", .pTests = writer_tests},
    CU_SUITE_INFO_NULL,
};
