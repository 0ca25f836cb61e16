/* test_msgcat.c: CUnit tests for harness/model/msgcat.c (suite hn_msgcat). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "model/msgcat.h"
#include "wc_err.h"

static struct hn_msgcat *cat; /* spec/chatgw-1.0 with no extensions */

static int msgcat_init(void)
{
    char *err = NULL;

    cat = hn_msgcat_load("spec/chatgw-1.0", NULL, NULL, &err);
    if (!cat) {
        fprintf(stderr, "hn_msgcat: %s (run the tests from the repository root)\n", err);
        free(err);
        return 1;
    }
    return 0;
}

static int msgcat_cleanup(void)
{
    hn_msgcat_free(cat);
    cat = NULL;
    return 0;
}

/* Check `json` as outbound (out=1) or inbound; want NULL for valid, else the exact message. */
static void expect_frame(int out, const char *json, const char *want)
{
    json_error_t jerr;
    json_t *f = json_loads(json, JSON_DECODE_ANY, &jerr);
    char *why = NULL;
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    rc = out ? hn_msgcat_check_outbound(cat, f, &why) : hn_msgcat_check_inbound(cat, f, &why);
    if (!want) {
        if (rc)
            printf("\n  %s: unexpected: %s\n", json, why);
        CU_ASSERT_EQUAL(rc, 0);
    } else {
        CU_ASSERT_EQUAL(rc, WC_ERR_PROTOCOL);
        if (why && strcmp(why, want))
            printf("\n  %s:\n   got  %s\n   want %s\n", json, why, want);
        CU_ASSERT(why && !strcmp(why, want));
    }
    free(why);
    json_decref(f);
}

#define ENV                                                                                        \
    "\"id\":\"e1\",\"sessionId\":\"s\",\"timestamp\":\"2026-11-22T02:30:00.001Z\",\"provider\":"   \
    "\"claude\""

static void test_msgcat_valid_outbound_frames(void)
{
    expect_frame(
        1, "{" ENV ",\"kind\":\"stream_delta\",\"seq\":1,\"content\":\"a\",\"extra\":true}", NULL);
    expect_frame(1,
                 "{" ENV ",\"kind\":\"complete\",\"seq\":2,\"exitCode\":0,\"success\":true,"
                 "\"aborted\":false,\"actualSessionId\":\"s\"}",
                 NULL);
    expect_frame(
        1,
        "{\"kind\":\"protocol_error\",\"code\":\"INTERNAL_ERROR\",\"error\":\"Invalid websocket "
        "payload\",\"sessionId\":null,\"timestamp\":\"2026-11-22T02:30:00Z\"}",
        NULL);
    expect_frame(
        1,
        "{\"kind\":\"chat_subscribed\",\"sessionId\":\"s\",\"isProcessing\":false,\"lastSeq\":0,"
        "\"pendingPermissions\":[],\"timestamp\":\"2026-11-22T02:30:00.5Z\"}",
        NULL);
    /* seq: optional: with no seq the envelope does not apply */
    expect_frame(1,
                 "{\"kind\":\"history_truncated\",\"sessionId\":\"s\",\"requestedFrom\":1,"
                 "\"firstAvailable\":7,\"timestamp\":\"2026-11-22T02:30:00Z\"}",
                 NULL);
    /* an integral real is an integer */
    expect_frame(1, "{" ENV ",\"kind\":\"stream_end\",\"seq\":3.0}", NULL);
}

static void test_msgcat_reports_every_problem(void)
{
    expect_frame(1, "{" ENV ",\"kind\":\"stream_delta\",\"seq\":1}",
                 "stream_delta: missing required field 'content'");
    expect_frame(
        1, "{\"kind\":\"stream_delta\",\"seq\":0,\"content\":5}",
        "stream_delta: missing required field 'id'; missing required field 'sessionId'; "
        "missing required field 'timestamp'; missing required field 'provider'; field 'seq': "
        "0 is below the minimum 1; field 'content': expected string, got integer");
    expect_frame(1, "{" ENV ",\"kind\":\"complete\",\"seq\":2,\"actualSessionId\":\"s\"}",
                 "complete: missing required field 'exitCode'; missing required field 'success'; "
                 "missing required field 'aborted'");
    expect_frame(
        1,
        "{\"id\":\"e\",\"sessionId\":\"s\",\"timestamp\":\"yesterday\",\"provider\":\"gemini\","
        "\"kind\":\"thinking\",\"seq\":1.5,\"content\":\"x\"}",
        "thinking: field 'timestamp': expected iso8601, got string that is not ISO-8601; "
        "field 'provider': \"gemini\" is not one of the allowed values; field 'seq': "
        "expected integer, got number");
    expect_frame(1,
                 "{\"kind\":\"protocol_error\",\"code\":\"NOPE\",\"error\":\"x\",\"sessionId\":1,"
                 "\"timestamp\":\"2026-11-22T02:30:00Z\"}",
                 "protocol_error: field 'code': \"NOPE\" is not one of the allowed values; field "
                 "'sessionId': expected string or null, got integer");
}

static void test_msgcat_undeclared_and_never_kinds(void)
{
    expect_frame(1, "{\"kind\":\"usage_report\"}",
                 "usage_report: undeclared kind (not in the chatgw/1.0 catalog)");
    expect_frame(1, "{" ENV ",\"kind\":\"permission_resolved\",\"seq\":4,\"requestId\":\"r\"}",
                 "permission_resolved: an extension kind the target does not declare");
    expect_frame(1, "{\"kind\":\"session_created\",\"newSessionId\":\"n\"}",
                 "session_created: this kind must never reach a client");
    expect_frame(1, "{\"type\":\"x\"}", "frame has no 'kind'");
    expect_frame(1, "{\"kind\":7}", "'kind' is not a string");
    expect_frame(1, "[1]", "frame is a JSON array, not an object");
    CU_ASSERT(hn_msgcat_is_never(cat, "session_created"));
    CU_ASSERT(hn_msgcat_is_run_event(cat, "stream_delta"));
    CU_ASSERT(!hn_msgcat_is_run_event(cat, "chat_subscribed"));
    CU_ASSERT(!hn_msgcat_is_run_event(cat, "history_truncated"));
    CU_ASSERT_STRING_EQUAL(hn_msgcat_version(cat), "chatgw/1.0");
}

static void test_msgcat_inbound_frames(void)
{
    expect_frame(
        0, "{\"type\":\"chat.send\",\"sessionId\":\"s\",\"content\":\"hi\",\"options\":{}}", NULL);
    expect_frame(0, "{\"type\":\"chat.subscribe\",\"sessions\":[]}", NULL);
    expect_frame(0, "{\"type\":\"chat.permission-response\",\"requestId\":\"r\",\"allow\":1}",
                 NULL);
    expect_frame(0, "{\"type\":\"chat.send\",\"content\":5}",
                 "chat.send: missing required field 'sessionId'; field 'content': expected string, "
                 "got integer");
    expect_frame(0, "{\"type\":\"chat.edit-send\",\"sessionId\":\"s\",\"anchorId\":\"a\"}",
                 "chat.edit-send: an extension type the target does not declare");
    expect_frame(0, "{\"type\":\"chat.nope\"}",
                 "chat.nope: undeclared type (not in the chatgw/1.0 catalog)");
    expect_frame(0, "{}", "frame has no 'type'");
    CU_ASSERT(hn_msgcat_has_inbound(cat, "chat.abort"));
    CU_ASSERT(!hn_msgcat_has_inbound(cat, "chat.edit-send"));
}

static void test_msgcat_declared_extensions(void)
{
    json_t *kinds = json_pack("[s]", "permission_resolved"),
           *types = json_pack("[s]", "chat.edit-send");
    char *err = NULL, *why = NULL;
    struct hn_msgcat *c = hn_msgcat_load("spec/chatgw-1.0", kinds, types, &err);
    json_t *f;

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT(hn_msgcat_has_inbound(c, "chat.edit-send"));
    CU_ASSERT(hn_msgcat_is_run_event(c, "permission_resolved"));
    f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "id", "e", "sessionId", "s", "timestamp",
                  "2026-11-22T02:30:00Z", "provider", "claude", "kind", "permission_resolved",
                  "seq", 3, "requestId", "r");
    CU_ASSERT_EQUAL(hn_msgcat_check_outbound(c, f, &why), 0);
    json_decref(f);
    /* a declared extension type adds its protocol_error codes */
    f = json_pack("{s:s, s:s, s:s, s:n, s:s}", "kind", "protocol_error", "code", "ANCHOR_REQUIRED",
                  "error", "x", "sessionId", "timestamp", "2026-11-22T02:30:00Z");
    CU_ASSERT_EQUAL(hn_msgcat_check_outbound(c, f, &why), 0);
    CU_ASSERT_EQUAL(hn_msgcat_check_outbound(cat, f, &why), WC_ERR_PROTOCOL);
    free(why);
    json_decref(f);
    hn_msgcat_free(c);
    json_decref(kinds);
    json_decref(types);

    kinds = json_pack("[s]", "teleport");
    c = hn_msgcat_load("spec/chatgw-1.0", kinds, NULL, &err);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT(
        err &&
        strstr(err,
               "the target declares extension kind 'teleport' that the catalog does not define"));
    free(err);
    json_decref(kinds);
}

static void test_msgcat_envelope_only(void)
{
    json_t *f = json_pack("{s:s, s:s, s:i, s:s}", "kind", "stream_delta", "sessionId", "s", "seq",
                          1, "content", "x");
    char *why = NULL;

    CU_ASSERT_EQUAL(hn_msgcat_check_envelope(cat, f, &why), WC_ERR_PROTOCOL);
    CU_ASSERT(why && !strcmp(why, "envelope: missing required field 'id'; missing required field "
                                  "'timestamp'; missing required field 'provider'"));
    free(why);
    json_decref(f);
}

static void test_msgcat_load_errors_have_positions(void)
{
    static const struct {
        const char *yaml;
        const char *want; /* substring of the error */
    } rows[] = {
        {"version: v\noutbound:\n  a: {seq: maybe}\n", "cat.yaml:3:"},
        {"version: v\noutbound:\n  a: {seq: maybe}\n", "'seq' must be true, false or optional"},
        {"version: v\noutbound:\n  a:\n    fields:\n      x: {type: strnig}\n", "cat.yaml:5:"},
        {"version: v\noutbound:\n  a:\n    fields:\n      x: {type: strnig}\n",
         "unknown field type"},
        {"version: v\noutbound:\n  a:\n    fields:\n      x: {type: string, requird: true}\n",
         "field spec: unknown key 'requird'"},
        {"version: v\nenvelop: {}\n", "catalog: unknown key 'envelop'"},
        {"outbound: {}\n", "the catalog has no string 'version'"},
        {"version: v\nnever: session_created\n", "'never' must be a list of kinds"},
        {"version: v\ninbound:\n  t:\n    fields: {x: {type: [string, [null]]}}\n",
         "nested type list"},
        {"- 1\n", "the catalog must be a mapping"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *err = NULL;
        struct hn_msgcat *c = hn_msgcat_load_string("cat.yaml", rows[i].yaml, NULL, NULL, &err);
        CU_ASSERT_PTR_NULL(c);
        if (!err || !strstr(err, rows[i].want))
            printf("\n  row %zu: got \"%s\", want \"%s\"\n", i, err ? err : "(null)", rows[i].want);
        CU_ASSERT(err && strstr(err, rows[i].want));
        free(err);
        hn_msgcat_free(c);
    }
}

static void test_msgcat_small_catalog_types(void)
{
    const char *yaml = "version: t/1\n"
                       "outbound:\n"
                       "  k:\n"
                       "    fields:\n"
                       "      n: {type: [integer, \"null\"], min: 2}\n"
                       "      a: {type: any, required: true}\n"
                       "      o: {type: object}\n"
                       "      b: {type: boolean}\n"
                       "      e: {type: string, enum: [x, y]}\n";
    char *err = NULL, *why = NULL;
    struct hn_msgcat *c = hn_msgcat_load_string("small", yaml, NULL, NULL, &err);
    json_t *f;

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    f = json_pack("{s:s, s:n, s:[], s:{}, s:b, s:s}", "kind", "k", "n", "a", "o", "b", 1, "e", "y");
    CU_ASSERT_EQUAL(hn_msgcat_check_outbound(c, f, &why), 0);
    json_decref(f);
    f = json_pack("{s:s, s:i, s:s, s:s}", "kind", "k", "n", 1, "o", "str", "e", "z");
    CU_ASSERT_EQUAL(hn_msgcat_check_outbound(c, f, &why), WC_ERR_PROTOCOL);
    CU_ASSERT(why &&
              !strcmp(why, "k: field 'n': 1 is below the minimum 2; missing required field 'a'; "
                           "field 'o': expected object, got string; field 'e': \"z\" is not one "
                           "of the allowed values"));
    free(why);
    json_decref(f);
    hn_msgcat_free(c);
}

static CU_TestInfo msgcat_tests[] = {
    {"valid_outbound_frames", test_msgcat_valid_outbound_frames},
    {"reports_every_problem", test_msgcat_reports_every_problem},
    {"undeclared_and_never_kinds", test_msgcat_undeclared_and_never_kinds},
    {"inbound_frames", test_msgcat_inbound_frames},
    {"declared_extensions", test_msgcat_declared_extensions},
    {"envelope_only", test_msgcat_envelope_only},
    {"load_errors_have_positions", test_msgcat_load_errors_have_positions},
    {"small_catalog_types", test_msgcat_small_catalog_types},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_msgcat_suites[] = {
    {.pName = "hn_msgcat",
     .pInitFunc = msgcat_init,
     .pCleanupFunc = msgcat_cleanup,
     .pTests = msgcat_tests},
    CU_SUITE_INFO_NULL,
};
