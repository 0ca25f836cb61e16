/* test_protocol.c: inbound validation, exact errors, send/abort/subscribe, multi-user, perms. */
#include <string.h>

#include <CUnit/CUnit.h>

#include "fake.h"
#include "../mutants.h"
#include "../protocol.h"
#include "wc_json.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_time.h"

#include "wc_banned.h"

static struct gw_fake fake;
static struct gw_core *core;
static uint64_t a1, a2, b1; /* alice's two sockets, bob's */
static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

static void setup(void)
{
    gw_fake_reset(&fake);
    gw_mutant_force(GW_MUT_NONE);
    fake_now = 1000;
    core = gw_test_core(&fake, fake_clock);
    a1 = gw_core_conn_open(core, "alice", NULL);
    a2 = gw_core_conn_open(core, "alice", NULL);
    b1 = gw_core_conn_open(core, "bob", NULL);
}

static void teardown(void)
{
    gw_core_free(core);
    core = NULL;
    gw_fake_reset(&fake);
    gw_mutant_force(GW_MUT_NONE);
}

/* Send text from conn and return the frames conn got (new array). Others' frames dropped. */
static json_t *roundtrip(uint64_t conn, const char *text)
{
    json_t *all, *mine;

    gw_test_send(core, conn, text);
    all = gw_test_drain(core);
    mine = gw_test_frames_for(all, conn);
    json_decref(all);
    return mine;
}

static void assert_one_error(json_t *frames, const char *code, const char *error, const char *sid)
{
    json_t *f = json_array_get(frames, 0);

    CU_ASSERT_EQUAL_FATAL(json_array_size(frames), 1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(f, "kind"), "protocol_error");
    CU_ASSERT_STRING_EQUAL(wc_json_str(f, "code"), code);
    CU_ASSERT_STRING_EQUAL(wc_json_str(f, "error"), error);
    if (sid) {
        CU_ASSERT_STRING_EQUAL(wc_json_str(f, "sessionId"), sid);
    } else {
        CU_ASSERT_TRUE(json_is_null(json_object_get(f, "sessionId")));
    }
    CU_ASSERT_TRUE(wc_is_iso8601(wc_json_str(f, "timestamp")));
}

static void test_protocol_malformed_and_unknown_types(void)
{
    static const struct {
        const char *in;
        const char *code;
        const char *error;
    } rows[] = {
        {"", "INTERNAL_ERROR", "Invalid websocket payload"},
        {"   ", "INTERNAL_ERROR", "Invalid websocket payload"},
        {"{not json", "INTERNAL_ERROR", "Invalid websocket payload"},
        {"[1,2]", "INTERNAL_ERROR", "Invalid websocket payload"},
        {"42", "INTERNAL_ERROR", "Invalid websocket payload"},
        {"\"chat.send\"", "INTERNAL_ERROR", "Invalid websocket payload"},
        {"null", "INTERNAL_ERROR", "Invalid websocket payload"},
        {"{}", "UNKNOWN_MESSAGE_TYPE", "Unknown message type \"\"."},
        {"{\"type\":7}", "UNKNOWN_MESSAGE_TYPE", "Unknown message type \"\"."},
        {"{\"type\":null}", "UNKNOWN_MESSAGE_TYPE", "Unknown message type \"\"."},
        {"{\"type\":\"chat.foo\"}", "UNKNOWN_MESSAGE_TYPE", "Unknown message type \"chat.foo\"."},
        {"{\"type\":\"CHAT.SEND\"}", "UNKNOWN_MESSAGE_TYPE", "Unknown message type \"CHAT.SEND\"."},
    };

    setup();
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *got = roundtrip(a1, rows[i].in);
        assert_one_error(got, rows[i].code, rows[i].error, NULL);
        json_decref(got);
    }
    /* Nothing went to the other sockets (R-IN-3). */
    gw_test_send(core, a1, "{oops");
    {
        json_t *all = gw_test_drain(core);
        CU_ASSERT_EQUAL(json_array_size(all), 1);
        json_decref(all);
    }
    teardown();
}

static void test_protocol_send_validation(void)
{
    static const char *required[] = {
        "{\"type\":\"chat.send\"}",
        "{\"type\":\"chat.send\",\"sessionId\":\"\"}",
        "{\"type\":\"chat.send\",\"sessionId\":\"   \"}",
        "{\"type\":\"chat.send\",\"sessionId\":\"\\t\\n\\u00a0\\u2028\\ufeff\"}",
        "{\"type\":\"chat.send\",\"sessionId\":42}",
        "{\"type\":\"chat.send\",\"sessionId\":null}",
        "{\"type\":\"chat.send\",\"sessionId\":[\"x\"]}",
    };
    json_t *got;

    setup();
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        got = roundtrip(a1, required[i]);
        assert_one_error(got, "SESSION_ID_REQUIRED", "chat.send requires a sessionId.", NULL);
        json_decref(got);
    }
    got = roundtrip(a1, "{\"type\":\"chat.send\",\"sessionId\":\"  nope \",\"content\":\"x\"}");
    assert_one_error(got, "SESSION_NOT_FOUND",
                     "Session \"nope\" was not found. Create it via POST "
                     "/api/providers/sessions first.",
                     "nope");
    json_decref(got);
    got = roundtrip(a1, "{\"type\":\"chat.abort\",\"sessionId\":\" \"}");
    assert_one_error(got, "SESSION_ID_REQUIRED", "chat.abort requires a sessionId.", NULL);
    json_decref(got);
    got = roundtrip(a1, "{\"type\":\"chat.abort\",\"sessionId\":\"nope\"}");
    assert_one_error(got, "NO_ACTIVE_RUN", "Session \"nope\" has no active run.", "nope");
    json_decref(got);
    CU_ASSERT_EQUAL(fake.n_open, 0);
    teardown();
}

static void start_send(uint64_t conn, const char *sid, const char *extra)
{
    char *msg = wc_xasprintf("{\"type\":\"chat.send\",\"sessionId\":\"%s\",\"content\":\"hi\"%s}",
                             sid, extra ? extra : "");
    gw_test_send(core, conn, msg);
    free(msg);
}

static void test_protocol_send_runs_provider_in_project_path(void)
{
    char *sid;
    json_t *all, *mine;
    struct gw_fake_run *r;

    setup();
    sid = gw_test_create_session(core, "alice", "claude", "/tmp/p");
    start_send(a1, sid, ",\"options\":{\"cwd\":\"/etc\",\"model\":\"m1\"}");
    r = fake.runs;
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r->cwd, "/tmp/p");
    CU_ASSERT_STRING_EQUAL(wc_json_str(r->options, "cwd"), "/tmp/p");
    CU_ASSERT_STRING_EQUAL(wc_json_str(r->options, "model"), "m1");
    CU_ASSERT_STRING_EQUAL(r->prompt, "hi");
    CU_ASSERT_PTR_NULL(r->resume);
    gw_fake_announce(r, "nat-1");
    gw_fake_emitf(r, "{\"kind\":\"stream_delta\",\"content\":\"a\",\"sessionId\":\"nat-1\"}");
    gw_fake_emitf(r, "{\"kind\":\"complete\",\"exitCode\":0}");
    gw_fake_end(r, 0);
    all = gw_test_drain(core);
    mine = gw_test_frames_for(all, a1);
    /* session_upserted (owner's sockets), delta seq 1, complete seq 2. No chat.send ack. */
    CU_ASSERT_EQUAL_FATAL(json_array_size(mine), 3);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(mine, 0), "kind"), "session_upserted");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(mine, 0), "providerSessionId"), "nat-1");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(mine, 1), "sessionId"), sid);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(mine, 2), "kind"), "complete");
    CU_ASSERT_TRUE(r->released);
    json_decref(mine);
    mine = gw_test_frames_for(all, a2);
    CU_ASSERT_EQUAL(json_array_size(mine), 1); /* only the broadcast */
    json_decref(mine);
    mine = gw_test_frames_for(all, b1);
    CU_ASSERT_EQUAL(json_array_size(mine), 0); /* R-MU-2 */
    json_decref(mine);
    json_decref(all);
    /* Second run: resumes the native id, seq restarts, no second upsert. */
    start_send(a1, sid, NULL);
    CU_ASSERT_STRING_EQUAL(fake.runs->resume, "nat-1");
    CU_ASSERT_STRING_EQUAL(wc_json_str(fake.runs->options, "sessionId"), "nat-1");
    gw_fake_announce(fake.runs, "nat-1");
    gw_fake_emitf(fake.runs, "{\"kind\":\"text\",\"content\":\"b\"}");
    all = gw_test_drain(core);
    mine = gw_test_frames_for(all, a1);
    CU_ASSERT_EQUAL_FATAL(json_array_size(mine), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(mine, 0), "seq")), 1);
    json_decref(mine);
    json_decref(all);
    free(sid);
    teardown();
}

static void test_protocol_busy_and_immediately_free(void)
{
    char *sid, *err;
    json_t *got;

    setup();
    sid = gw_test_create_session(core, "alice", "codex", "/tmp/p");
    start_send(a1, sid, NULL);
    json_decref(gw_test_drain(core));
    gw_test_send(core, a2, "{\"type\":\"chat.send\",\"sessionId\":\"x\"}");
    json_decref(gw_test_drain(core));
    {
        char *msg = wc_xasprintf("{\"type\":\"chat.send\",\"sessionId\":\"%s\"}", sid);
        got = roundtrip(a2, msg);
        free(msg);
    }
    err = wc_xasprintf("Session \"%s\" already has a run in progress.", sid);
    assert_one_error(got, "RUN_IN_PROGRESS", err, sid);
    free(err);
    json_decref(got);
    CU_ASSERT_EQUAL(fake.n_open, 1);
    /* The provider completes but keeps running: a new send is accepted at once (R-BUSY-2). */
    gw_fake_emitf(fake.runs, "{\"kind\":\"complete\",\"exitCode\":0}");
    json_decref(gw_test_drain(core));
    start_send(a1, sid, NULL);
    CU_ASSERT_EQUAL(fake.n_open, 2);
    /* The old provider's late events are dropped (R-TERM-2) ... */
    gw_fake_emitf(fake.runs->next, "{\"kind\":\"status\",\"text\":\"late\"}");
    got = gw_test_drain(core);
    CU_ASSERT_EQUAL(json_array_size(got), 0);
    json_decref(got);
    /* ... and its end does not complete the newer run (R-ABORT-2). */
    gw_fake_end(fake.runs->next, 1);
    got = gw_test_drain(core);
    CU_ASSERT_EQUAL(json_array_size(got), 0);
    json_decref(got);
    free(sid);
    teardown();
}

static void test_protocol_synthetic_complete_on_crash(void)
{
    char *sid;
    json_t *got, *c;

    setup();
    sid = gw_test_create_session(core, "alice", "cursor", "/tmp/p");
    start_send(a1, sid, NULL);
    gw_fake_emitf(fake.runs, "{\"kind\":\"stream_delta\",\"content\":\"a\"}");
    gw_fake_end(fake.runs, 0);
    got = roundtrip(a1, "{\"type\":\"chat.subscribe\",\"sessions\":[]}");
    CU_ASSERT_EQUAL_FATAL(json_array_size(got), 2);
    c = json_array_get(got, 1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(c, "kind"), "complete");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "exitCode")), 1);
    CU_ASSERT_FALSE(wc_json_bool(c, "success", true));
    CU_ASSERT_FALSE(wc_json_bool(c, "aborted", true));
    json_decref(got);
    /* Crash with status 2 -> exitCode 2. */
    start_send(a1, sid, NULL);
    gw_fake_end(fake.runs, 2);
    got = gw_test_take(core, a1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(got, 0), "exitCode")), 2);
    json_decref(got);
    free(sid);
    teardown();
}

static void test_protocol_abort(void)
{
    char *sid, *msg;
    json_t *got, *c;

    setup();
    sid = gw_test_create_session(core, "alice", "claude", "/tmp/p");
    start_send(a1, sid, NULL);
    /* Before any announce: the provider is still stopped (R-ABORT-4). */
    fake.runs->end_on_abort = false;
    json_decref(gw_test_drain(core));
    msg = wc_xasprintf("{\"type\":\"chat.abort\",\"sessionId\":\"%s\"}", sid);
    got = roundtrip(a2, msg); /* from a socket that is not attached */
    CU_ASSERT_EQUAL(json_array_size(got), 0);
    json_decref(got);
    CU_ASSERT_TRUE(fake.runs->aborted);
    /* The provider keeps going: silence (R-ABORT-1). */
    gw_fake_emitf(fake.runs, "{\"kind\":\"text\",\"content\":\"late\"}");
    gw_fake_emitf(fake.runs, "{\"kind\":\"complete\",\"exitCode\":0}");
    gw_fake_end(fake.runs, 0);
    got = gw_test_drain(core);
    CU_ASSERT_EQUAL(json_array_size(got), 0);
    json_decref(got);
    /* The complete went to a1 (attached). Check via a fresh subscribe of the completed run. */
    got = roundtrip(a1, msg);
    {
        char *err = wc_xasprintf("Session \"%s\" has no active run.", sid);
        assert_one_error(got, "NO_ACTIVE_RUN", err, sid);
        free(err);
    }
    json_decref(got);
    /* Again, looking at the complete itself. */
    start_send(a1, sid, NULL);
    json_decref(gw_test_drain(core));
    gw_test_send(core, a1, msg);
    got = gw_test_take(core, a1);
    CU_ASSERT_EQUAL_FATAL(json_array_size(got), 1);
    c = json_array_get(got, 0);
    CU_ASSERT_STRING_EQUAL(wc_json_str(c, "kind"), "complete");
    CU_ASSERT_TRUE(wc_json_bool(c, "aborted", false));
    CU_ASSERT_FALSE(wc_json_bool(c, "success", true));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "exitCode")), 0);
    json_decref(got);
    free(msg);
    free(sid);
    teardown();
}

static void test_protocol_subscribe_edge_cases(void)
{
    json_t *got, *ack;

    setup();
    got = roundtrip(a1, "{\"type\":\"chat.subscribe\",\"sessions\":\"x\"}");
    CU_ASSERT_EQUAL(json_array_size(got), 0);
    json_decref(got);
    got = roundtrip(a1, "{\"type\":\"chat.subscribe\"}");
    CU_ASSERT_EQUAL(json_array_size(got), 0);
    json_decref(got);
    got = roundtrip(a1, "{\"type\":\"chat.subscribe\",\"sessions\":[1,null,\"s\",{},"
                        "{\"sessionId\":\"  \"},{\"sessionId\":5},{\"sessionId\":\" u1 \"},"
                        "{\"sessionId\":\"u2\",\"lastSeq\":3}]}");
    CU_ASSERT_EQUAL_FATAL(json_array_size(got), 2);
    ack = json_array_get(got, 0);
    CU_ASSERT_STRING_EQUAL(wc_json_str(ack, "kind"), "chat_subscribed");
    CU_ASSERT_STRING_EQUAL(wc_json_str(ack, "sessionId"), "u1");
    CU_ASSERT_FALSE(wc_json_bool(ack, "isProcessing", true));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(ack, "lastSeq")), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(ack, "pendingPermissions")), 0);
    CU_ASSERT_TRUE(wc_is_iso8601(wc_json_str(ack, "timestamp")));
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(got, 1), "sessionId"), "u2");
    json_decref(got);
    teardown();
}

static void test_protocol_last_seq_normalisation(void)
{
    static const struct {
        const char *json;
        int64_t want;
    } rows[] = {
        {"3", 3},    {"3.9", 3}, {"-1", 0}, {"-0.5", 0},   {"0", 0},   {"\"5\"", 0}, {"null", 0},
        {"true", 0}, {"[]", 0},  {"{}", 0}, {"1e3", 1000}, {"2.0", 2}, {"-7.2", 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *v = json_loads(rows[i].json, JSON_DECODE_ANY, NULL);
        CU_ASSERT_EQUAL(gw_protocol_last_seq(v), rows[i].want);
        json_decref(v);
    }
    CU_ASSERT_EQUAL(gw_protocol_last_seq(NULL), 0);
    gw_mutant_force(GW_MUT_LASTSEQ_PARSES_STRINGS);
    {
        json_t *v = json_string("5");
        CU_ASSERT_EQUAL(gw_protocol_last_seq(v), 5);
        json_decref(v);
    }
    gw_mutant_force(GW_MUT_NONE);
}

static void test_protocol_subscribe_replays_then_live(void)
{
    char *sid, *msg;
    json_t *got;

    setup();
    sid = gw_test_create_session(core, "alice", "claude", "/tmp/p");
    start_send(a1, sid, NULL);
    for (int i = 0; i < 4; i++)
        gw_fake_emitf(fake.runs, "{\"kind\":\"stream_delta\",\"content\":\"x\"}");
    json_decref(gw_test_drain(core));
    msg = wc_xasprintf("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"%s\","
                       "\"lastSeq\":2.7}]}",
                       sid);
    got = roundtrip(a2, msg);
    CU_ASSERT_EQUAL_FATAL(json_array_size(got), 3);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(got, 0), "kind"), "chat_subscribed");
    CU_ASSERT_TRUE(wc_json_bool(json_array_get(got, 0), "isProcessing", false));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(got, 0), "lastSeq")), 4);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(got, 1), "seq")), 3);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(got, 2), "seq")), 4);
    json_decref(got);
    /* Both sockets now get the live events, complete included (fan-out, R-SUB-6). */
    gw_fake_emitf(fake.runs, "{\"kind\":\"complete\",\"exitCode\":0}");
    got = gw_test_drain(core);
    CU_ASSERT_EQUAL(json_array_size(got), 2);
    json_decref(got);
    /* Completed: ack with final lastSeq and no replay (R-SUB-4). */
    got = roundtrip(a2, msg);
    CU_ASSERT_EQUAL_FATAL(json_array_size(got), 1);
    CU_ASSERT_FALSE(wc_json_bool(json_array_get(got, 0), "isProcessing", true));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(got, 0), "lastSeq")), 5);
    json_decref(got);
    /* Another user sees nothing (R-MU-1). */
    got = roundtrip(b1, msg);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(got, 0), "lastSeq")), 0);
    json_decref(got);
    free(msg);
    free(sid);
    teardown();
}

static void test_protocol_other_user_session_is_unknown(void)
{
    char *sid, *msg, *err;
    json_t *got;

    setup();
    sid = gw_test_create_session(core, "alice", "claude", "/tmp/p");
    msg = wc_xasprintf("{\"type\":\"chat.send\",\"sessionId\":\"%s\"}", sid);
    got = roundtrip(b1, msg);
    err = wc_xasprintf("Session \"%s\" was not found. Create it via POST "
                       "/api/providers/sessions first.",
                       sid);
    assert_one_error(got, "SESSION_NOT_FOUND", err, sid);
    json_decref(got);
    free(err);
    free(msg);
    start_send(a1, sid, NULL);
    json_decref(gw_test_drain(core));
    msg = wc_xasprintf("{\"type\":\"chat.abort\",\"sessionId\":\"%s\"}", sid);
    got = roundtrip(b1, msg);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(got, 0), "code"), "NO_ACTIVE_RUN");
    json_decref(got);
    CU_ASSERT_FALSE(fake.runs->aborted);
    free(msg);
    free(sid);
    teardown();
}

static void test_protocol_permissions(void)
{
    char *sid, *msg;
    json_t *got, *pending, *req;
    char rid[64];

    setup();
    sid = gw_test_create_session(core, "alice", "claude", "/tmp/p");
    start_send(a1, sid, NULL);
    gw_fake_permission(fake.runs, "Bash", "{\"command\":\"ls\"}");
    got = gw_test_take(core, a1);
    req = json_array_get(got, 0);
    CU_ASSERT_STRING_EQUAL_FATAL(wc_json_str(req, "kind"), "permission_request");
    CU_ASSERT_STRING_EQUAL(wc_json_str(req, "toolName"), "Bash");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(req, "seq")), 1);
    snprintf(rid, sizeof(rid), "%s", wc_json_str(req, "requestId"));
    json_decref(got);
    /* Listed for another socket of the owner (R-PERM-1). */
    msg = wc_xasprintf("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"%s\","
                       "\"lastSeq\":1}]}",
                       sid);
    got = roundtrip(a2, msg);
    pending = json_object_get(json_array_get(got, 0), "pendingPermissions");
    CU_ASSERT_EQUAL_FATAL(json_array_size(pending), 1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(pending, 0), "requestId"), rid);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(pending, 0), "sessionId"), sid);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(pending, 0), "toolName"), "Bash");
    CU_ASSERT_TRUE(wc_is_iso8601(wc_json_str(json_array_get(pending, 0), "receivedAt")));
    json_decref(got);
    free(msg);
    /* Unknown ids and bob's answer are ignored; no frame ever (R-PERM-2). */
    got = roundtrip(a1, "{\"type\":\"chat.permission-response\",\"requestId\":\"nope\","
                        "\"allow\":true}");
    CU_ASSERT_EQUAL(json_array_size(got), 0);
    json_decref(got);
    msg = wc_xasprintf("{\"type\":\"chat.permission-response\",\"requestId\":\"%s\","
                       "\"allow\":true}",
                       rid);
    got = roundtrip(b1, msg);
    CU_ASSERT_EQUAL(fake.runs->n_answers, 0);
    json_decref(got);
    got = roundtrip(a1, msg);
    CU_ASSERT_EQUAL(json_array_size(got), 0);
    json_decref(got);
    CU_ASSERT_EQUAL(fake.runs->n_answers, 1);
    CU_ASSERT_TRUE(fake.runs->answer_allow);
    CU_ASSERT_STRING_EQUAL(fake.runs->answer_id, rid);
    CU_ASSERT_EQUAL(gw_core_next_deadline(core), -1); /* nothing pending */
    free(msg);
    /* A second one times out (R-PERM-3). */
    gw_fake_permission(fake.runs, "Edit", "{}");
    json_decref(gw_test_drain(core));
    CU_ASSERT_EQUAL(gw_core_next_deadline(core), 2000);
    gw_core_tick(core, 1999);
    CU_ASSERT_EQUAL(gw_core_next_deadline(core), 2000); /* still pending */
    gw_core_tick(core, 2000);
    got = gw_test_take(core, a1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(got, 0), "kind"), "permission_cancelled");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(got, 0), "reason"), "timeout");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(got, 0), "seq")), 3);
    json_decref(got);
    CU_ASSERT_TRUE(fake.runs->answer_cancelled);
    CU_ASSERT_STRING_EQUAL(fake.runs->answer_reason, "timeout");
    CU_ASSERT_EQUAL(gw_core_next_deadline(core), -1);
    free(sid);
    teardown();
}

/* Numbers beyond int64 and beyond the double range are numbers, as for JSON.parse: no
 * protocol_error; a huge negative cursor is 0, 1e400 (Infinity) is not finite, so 0. */
static void test_protocol_numbers_beyond_range(void)
{
    static const char *const texts[] = {
        "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"u1\",\"lastSeq\":"
        "-123456789012345678901234567890}]}",
        "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"u1\",\"lastSeq\":1e400}]}",
        "{\"type\":\"chat.subscribe\",\"pad\":\"1e400 \\\" -1e999\",\"n\":-1E999,"
        "\"sessions\":[{\"sessionId\":\"u1\",\"lastSeq\":1e400}]}",
    };
    json_t *got;

    setup();
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        got = roundtrip(a1, texts[i]);
        CU_ASSERT_EQUAL(json_array_size(got), 1);
        CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(got, 0), "kind"), "chat_subscribed");
        json_decref(got);
    }
    /* a number token that only looks huge inside a string is left alone, and bad JSON stays bad */
    got = roundtrip(a1, "{\"type\":\"chat.subscribe\",\"sessions\":[1e400,}");
    CU_ASSERT_EQUAL_FATAL(json_array_size(got), 1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(got, 0), "code"), "INTERNAL_ERROR");
    json_decref(got);
    teardown();
}

/*
 * Issue 18: a type or id holding U+0000 is invalid, never cut at the NUL: the type is unknown
 * (echoed whole), a send/abort sessionId is SESSION_ID_REQUIRED, a subscribe entry is skipped,
 * a requestId answers nothing. Nothing acts on the real session the prefix names.
 */
static void test_protocol_nul_in_type_and_ids(void)
{
    static const char whole[] = "Unknown message type \"chat.send\0junk\".";
    char *sid, *msg;
    json_t *got, *err;
    char rid[64];

    setup();
    sid = gw_test_create_session(core, "alice", "claude", "/tmp/p");
    msg = wc_xasprintf("{\"type\":\"chat.send\\u0000junk\",\"sessionId\":\"%s\"}", sid);
    got = roundtrip(a1, msg);
    free(msg);
    CU_ASSERT_EQUAL_FATAL(json_array_size(got), 1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(got, 0), "code"), "UNKNOWN_MESSAGE_TYPE");
    err = json_object_get(json_array_get(got, 0), "error");
    CU_ASSERT_EQUAL(json_string_length(err), sizeof(whole) - 1);
    CU_ASSERT_EQUAL(memcmp(json_string_value(err), whole, sizeof(whole) - 1), 0);
    CU_ASSERT_PTR_NULL(fake.runs);
    json_decref(got);
    msg = wc_xasprintf("{\"type\":\"chat.send\",\"sessionId\":\"%s\\u0000EVIL\"}", sid);
    got = roundtrip(a1, msg);
    free(msg);
    assert_one_error(got, "SESSION_ID_REQUIRED", "chat.send requires a sessionId.", NULL);
    CU_ASSERT_PTR_NULL(fake.runs);
    json_decref(got);
    /* a running run with a pending permission: none of the NUL forms touches it */
    start_send(a1, sid, NULL);
    gw_fake_permission(fake.runs, "Bash", "{}");
    got = gw_test_take(core, a1);
    snprintf(rid, sizeof(rid), "%s", wc_json_str(json_array_get(got, 0), "requestId"));
    json_decref(got);
    msg = wc_xasprintf("{\"type\":\"chat.permission-response\",\"requestId\":\"%s\\u0000x\","
                       "\"allow\":true}",
                       rid);
    got = roundtrip(a1, msg);
    free(msg);
    CU_ASSERT_EQUAL(json_array_size(got), 0);
    CU_ASSERT_EQUAL(fake.runs->n_answers, 0);
    json_decref(got);
    msg = wc_xasprintf(
        "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"%s\\u0000x\"}]}", sid);
    got = roundtrip(a2, msg);
    free(msg);
    CU_ASSERT_EQUAL(json_array_size(got), 0);
    json_decref(got);
    msg = wc_xasprintf("{\"type\":\"chat.abort\",\"sessionId\":\"%s\\u0000x\"}", sid);
    got = roundtrip(a1, msg);
    free(msg);
    assert_one_error(got, "SESSION_ID_REQUIRED", "chat.abort requires a sessionId.", NULL);
    CU_ASSERT_FALSE(fake.runs->aborted);
    json_decref(got);
    free(sid);
    teardown();
}

/* Issue 18: a native id that is not valid UTF-8 never makes the core send the frame "null". */
static void test_protocol_invalid_utf8_native_id_sends_no_null(void)
{
    char *sid;
    json_t *all, *e;
    size_t i;

    setup();
    wc_log_setup("test-reference-server", WC_LOG_QUIET);
    sid = gw_test_create_session(core, "alice", "claude", "/tmp/p");
    start_send(a1, sid, NULL);
    gw_fake_announce(fake.runs, "nat-\xff\xfe");
    gw_fake_emitf(fake.runs, "{\"kind\":\"stream_delta\",\"content\":\"x\"}");
    all = gw_test_drain(core);
    CU_ASSERT_TRUE(json_array_size(all) >= 1);
    json_array_foreach(all, i, e)
    {
        json_t *f = json_object_get(e, "frame");
        CU_ASSERT_TRUE(json_is_object(f)); /* "null" would parse to NULL here */
        CU_ASSERT_STRING_NOT_EQUAL(wc_json_str(f, "kind") ? wc_json_str(f, "kind") : "",
                                   "session_upserted");
    }
    e = json_array_get(all, json_array_size(all) - 1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_object_get(e, "frame"), "kind"), "stream_delta");
    json_decref(all);
    wc_log_setup("test-reference-server", WC_LOG_ERROR);
    free(sid);
    teardown();
}

/* The ack's lastSeq for sid on conn (the replay, if any, is dropped). */
static int64_t acked_last_seq(uint64_t conn, const char *sid)
{
    char *msg =
        wc_xasprintf("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"%s\"}]}", sid);
    json_t *got = roundtrip(conn, msg);
    int64_t seq = json_integer_value(json_object_get(json_array_get(got, 0), "lastSeq"));

    json_decref(got);
    free(msg);
    return seq;
}

static void test_protocol_completed_run_retention_through_tick(void)
{
    char *sid;

    setup();
    sid = gw_test_create_session(core, "alice", "claude", "/tmp/p");
    start_send(a1, sid, NULL);
    gw_fake_emitf(fake.runs, "{\"kind\":\"text\",\"content\":\"a\"}");
    CU_ASSERT_EQUAL(gw_core_next_deadline(core), -1); /* running: no retention deadline */
    fake_now = 5000;
    gw_fake_emitf(fake.runs, "{\"kind\":\"complete\",\"exitCode\":0}");
    json_decref(gw_test_drain(core));
    /* The default retention (5 minutes) runs from the complete, on the core's clock. */
    CU_ASSERT_EQUAL(gw_core_next_deadline(core), 5000 + GW_DEFAULT_RETAIN_MS);
    gw_core_tick(core, 5000 + GW_DEFAULT_RETAIN_MS - 1);
    CU_ASSERT_EQUAL(acked_last_seq(a2, sid), 2); /* R-SUB-4: still retained */
    gw_core_tick(core, 5000 + GW_DEFAULT_RETAIN_MS);
    CU_ASSERT_EQUAL(acked_last_seq(a2, sid), 0); /* released: "otherwise 0" */
    CU_ASSERT_EQUAL(gw_core_next_deadline(core), -1);
    CU_ASSERT_EQUAL(gw_registry_ring_bytes(gw_core_registry(core)), 0);
    /* The session itself goes on: the next send starts a run at seq 1. */
    start_send(a1, sid, NULL);
    gw_fake_emitf(fake.runs, "{\"kind\":\"text\",\"content\":\"b\"}");
    CU_ASSERT_EQUAL(acked_last_seq(a2, sid), 1);
    free(sid);
    teardown();
}

static CU_TestInfo protocol_tests[] = {
    {"invalid_utf8_native_id_sends_no_null", test_protocol_invalid_utf8_native_id_sends_no_null},
    {"nul_in_type_and_ids", test_protocol_nul_in_type_and_ids},
    {"numbers beyond int64 and double range", test_protocol_numbers_beyond_range},
    {"malformed_and_unknown_types", test_protocol_malformed_and_unknown_types},
    {"send_validation", test_protocol_send_validation},
    {"send_runs_provider_in_project_path", test_protocol_send_runs_provider_in_project_path},
    {"busy_and_immediately_free", test_protocol_busy_and_immediately_free},
    {"synthetic_complete_on_crash", test_protocol_synthetic_complete_on_crash},
    {"abort", test_protocol_abort},
    {"subscribe_edge_cases", test_protocol_subscribe_edge_cases},
    {"last_seq_normalisation", test_protocol_last_seq_normalisation},
    {"subscribe_replays_then_live", test_protocol_subscribe_replays_then_live},
    {"other_user_session_is_unknown", test_protocol_other_user_session_is_unknown},
    {"permissions", test_protocol_permissions},
    {"completed_run_retention_through_tick", test_protocol_completed_run_retention_through_tick},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo gw_protocol_suites[] = {
    {.pName = "gw_protocol", .pTests = protocol_tests},
    CU_SUITE_INFO_NULL,
};
