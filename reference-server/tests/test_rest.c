/* test_rest.c: the REST endpoints, sans-I/O. */
#include <string.h>

#include <CUnit/CUnit.h>

#include "../mutants.h"
#include "../rest.h"
#include "fake.h"
#include "wc_json.h"
#include "wc_mem.h"

#include "wc_banned.h"

static struct gw_fake fake;

static int call(struct gw_core *c, const char *method, const char *path, const char *user,
                const char *body, json_t **out)
{
    struct gw_rest_request req = {
        .method = method,
        .path = path,
        .user = user,
        .token_present = user != NULL,
        .body = body,
        .body_len = body ? strlen(body) : 0,
    };
    return gw_rest_handle(c, &req, out);
}

static const char *err_code(json_t *b)
{
    return wc_json_str(json_object_get(b, "error"), "code");
}

static void test_rest_create_session(void)
{
    struct gw_core *c = gw_test_core(&fake, NULL);
    json_t *b = NULL, *d;

    CU_ASSERT_EQUAL(call(c, "POST", "/api/providers/sessions", "alice",
                         "{\"provider\":\"  Codex \",\"projectPath\":\" /tmp/p \","
                         "\"initialMessage\":\"fix the  flaky test please now\"}",
                         &b),
                    201);
    d = json_object_get(b, "data");
    CU_ASSERT_TRUE(wc_json_bool(b, "success", false));
    CU_ASSERT_EQUAL(strlen(wc_json_str(d, "sessionId")), 36);
    CU_ASSERT_STRING_EQUAL(wc_json_str(d, "provider"), "codex");
    CU_ASSERT_STRING_EQUAL(wc_json_str(d, "projectPath"), "/tmp/p");
    CU_ASSERT_STRING_EQUAL(wc_json_str(d, "sessionName"), "fix the flaky test");
    json_decref(b);
    CU_ASSERT_EQUAL(call(c, "POST", "/api/providers/sessions", "alice",
                         "{\"provider\":\"gemini\",\"projectPath\":\"/p\"}", &b),
                    400);
    CU_ASSERT_STRING_EQUAL(err_code(b), "UNSUPPORTED_PROVIDER");
    CU_ASSERT_FALSE(wc_json_bool(b, "success", true));
    CU_ASSERT_PTR_NOT_NULL(wc_json_str(json_object_get(b, "error"), "message"));
    json_decref(b);
    CU_ASSERT_EQUAL(call(c, "POST", "/api/providers/sessions", "alice",
                         "{\"provider\":\"claude\",\"projectPath\":\"   \"}", &b),
                    400);
    CU_ASSERT_STRING_EQUAL(err_code(b), "PROJECT_PATH_REQUIRED");
    json_decref(b);
    CU_ASSERT_EQUAL(
        call(c, "POST", "/api/providers/sessions", "alice", "{\"provider\":\"claude\"}", &b), 400);
    json_decref(b);
    CU_ASSERT_EQUAL(call(c, "POST", "/api/providers/sessions", "alice", "[1]", &b), 400);
    json_decref(b);
    CU_ASSERT_EQUAL(call(c, "POST", "/api/providers/sessions", NULL,
                         "{\"provider\":\"claude\",\"projectPath\":\"/p\"}", &b),
                    401);
    CU_ASSERT_STRING_EQUAL(wc_json_str(b, "error"), "Access denied. No token provided.");
    CU_ASSERT_STRING_EQUAL(wc_json_str(b, "code"), "AUTH_TOKEN_INVALID");
    json_decref(b);
    gw_mutant_force(GW_MUT_REST_200_ON_CREATE);
    CU_ASSERT_EQUAL(call(c, "POST", "/api/providers/sessions", "alice",
                         "{\"provider\":\"claude\",\"projectPath\":\"/p\"}", &b),
                    200);
    json_decref(b);
    gw_mutant_force(GW_MUT_REST_ACCEPTS_EMPTY_PATH);
    CU_ASSERT_EQUAL(call(c, "POST", "/api/providers/sessions", "alice",
                         "{\"provider\":\"claude\",\"projectPath\":\"\"}", &b),
                    201);
    json_decref(b);
    gw_mutant_force(GW_MUT_NONE);
    gw_core_free(c);
    gw_fake_reset(&fake);
}

static void test_rest_running_and_messages(void)
{
    struct gw_core *c = gw_test_core(&fake, NULL);
    uint64_t a = gw_core_conn_open(c, "alice", NULL);
    char *sid = gw_test_create_session(c, "alice", "claude", "/tmp/p");
    char *msg, *path;
    json_t *b = NULL, *l, *m;

    msg = wc_xasprintf("{\"type\":\"chat.send\",\"sessionId\":\"%s\",\"content\":\"hi\"}", sid);
    gw_test_send(c, a, msg);
    gw_fake_announce(fake.runs, "nat-1");
    gw_fake_emitf(fake.runs, "{\"kind\":\"stream_delta\",\"content\":\"a\"}");
    CU_ASSERT_EQUAL(call(c, "GET", "/api/providers/sessions/running", "alice", NULL, &b), 200);
    l = json_object_get(json_object_get(b, "data"), "sessions");
    CU_ASSERT_EQUAL_FATAL(json_array_size(l), 1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(l, 0), "sessionId"), sid);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(l, 0), "provider"), "claude");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(l, 0), "lastSeq")), 1);
    CU_ASSERT_TRUE(json_is_integer(json_object_get(json_array_get(l, 0), "startedAt")));
    json_decref(b);
    CU_ASSERT_EQUAL(call(c, "GET", "/api/providers/sessions/running", "bob", NULL, &b), 200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_object_get(b, "data"), "sessions")), 0);
    json_decref(b);
    gw_fake_emitf(fake.runs, "{\"kind\":\"complete\",\"exitCode\":0}");
    path = wc_xasprintf("/api/providers/sessions/%s/messages", sid);
    CU_ASSERT_EQUAL(call(c, "GET", path, "alice", NULL, &b), 200);
    m = json_object_get(json_object_get(b, "data"), "messages");
    CU_ASSERT_EQUAL_FATAL(json_array_size(m), 3); /* user text, delta, complete */
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(m, 0), "role"), "user");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(m, 1), "kind"), "stream_delta");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(m, 1), "sessionId"), sid);
    CU_ASSERT_PTR_NULL(json_object_get(json_array_get(m, 1), "seq"));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(b, "data"), "total")), 3);
    CU_ASSERT_FALSE(wc_json_bool(json_object_get(b, "data"), "hasMore", true));
    json_decref(b);
    CU_ASSERT_EQUAL(call(c, "GET", "/api/providers/sessions/running", "alice", NULL, &b), 200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_object_get(b, "data"), "sessions")), 0);
    json_decref(b);
    CU_ASSERT_EQUAL(call(c, "GET", path, "bob", NULL, &b), 404);
    CU_ASSERT_STRING_EQUAL(err_code(b), "SESSION_NOT_FOUND");
    json_decref(b);
    CU_ASSERT_EQUAL(call(c, "GET", "/api/providers/sessions/nope/messages", "alice", NULL, &b),
                    404);
    json_decref(b);
    CU_ASSERT_EQUAL(call(c, "GET", "/api/providers/sessions/a%20b/messages", "alice", NULL, &b),
                    400);
    json_decref(b);
    CU_ASSERT_EQUAL(call(c, "GET", "/api/nothing", "alice", NULL, &b), 404);
    json_decref(b);
    free(path);
    free(msg);
    free(sid);
    gw_core_free(c);
    gw_fake_reset(&fake);
}

static CU_TestInfo rest_tests[] = {
    {"create_session", test_rest_create_session},
    {"running_and_messages", test_rest_running_and_messages},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo gw_rest_suites[] = {
    {.pName = "gw_rest", .pTests = rest_tests},
    CU_SUITE_INFO_NULL,
};
