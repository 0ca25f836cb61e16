/*
 * test_session.c: the reference client's state machine with fake I/O (fake.h), reference
 * behaviour only: every promise of claude-remote/1 it keeps (the ids are the spec's).
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "fake.h"
#include "policy.h"
#include "wc_banned.h"

#define CAN_USE(id)                                                                                \
    "{\"type\":\"control_request\",\"request_id\":\"" id "\",\"request\":{\"subtype\":"            \
    "\"can_use_tool\",\"tool_name\":\"Bash\",\"input\":{\"command\":\"ls\"},\"tool_use_id\":"      \
    "\"t1\"}}"
#define CANCEL(id) "{\"type\":\"control_cancel_request\",\"request_id\":\"" id "\"}"

static const char *acted_result(struct fake *f)
{
    static char buf[64];
    json_t *a = fake_last_acted(f);
    const char *r = a ? json_string_value(json_object_get(a, "result")) : NULL;

    buf[0] = 0;
    if (r)
        snprintf(buf, sizeof(buf), "%s", r);
    json_decref(a);
    return buf;
}

static void test_hello_and_connect(void)
{
    struct fake *f = fake_new(RC_MUT_NONE, 1);
    json_t *n;

    rc_session_hello(f->s, 77);
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"t\":\"hello\""), 1);
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"dialect\":\"claude-remote/1\""), 1);
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"case\":\"case#1\""), 1);
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"pid\":77"), 1);
    rc_session_start(f->s);
    CU_ASSERT_EQUAL(fake_count(f, "connect"), 1);
    CU_ASSERT_EQUAL(rc_session_state(f->s), RC_ST_CONNECTING);
    rc_session_opened(f->s);
    CU_ASSERT_EQUAL(rc_session_state(f->s), RC_ST_OPEN);
    n = fake_notes(f, "connected");
    CU_ASSERT_EQUAL(json_array_size(n), 1);
    json_decref(n);
    /* nothing is sent first (CR-CONN-1: no auth frame) */
    CU_ASSERT_EQUAL(fake_count(f, "send "), 0);
    fake_free(f);
}

/* CR-CTL-1: allow with updatedInput, deny with message; one answer each. */
static void test_permission_round_trip(void)
{
    struct fake *f = fake_open(RC_MUT_NONE, 1);
    json_t *sent, *r;

    fake_frame(f, CAN_USE("r1"));
    CU_ASSERT_EQUAL(fake_count(f, "send "), 0); /* waits for the user */
    fake_act(f, 1, "{\"answer_permission\":\"allow\"}");
    CU_ASSERT_STRING_EQUAL(acted_result(f), "sent");
    fake_frame(f, CAN_USE("r2"));
    fake_act(f, 2, "{\"answer_permission\":{\"behavior\":\"deny\",\"message\":\"no\"}}");
    fake_act(f, 3, "{\"answer_permission\":\"allow\"}"); /* nothing left */
    CU_ASSERT_STRING_EQUAL(acted_result(f), "refused");
    sent = fake_sent(f);
    CU_ASSERT_EQUAL(json_array_size(sent), 2);
    r = json_array_get(sent, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "type")), "control_response");
    r = json_object_get(r, "response");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "subtype")), "success");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "request_id")), "r1");
    r = json_object_get(r, "response");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "behavior")), "allow");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(r, "updatedInput"), "command")), "ls");
    r = json_object_get(json_object_get(json_array_get(sent, 1), "response"), "response");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "behavior")), "deny");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "message")), "no");
    json_decref(sent);
    fake_free(f);
}

/* The answer by request_id, not only the newest; an unknown id is refused. */
static void test_answer_by_id(void)
{
    struct fake *f = fake_open(RC_MUT_NONE, 1);

    fake_frame(f, CAN_USE("r1"));
    fake_frame(f, CAN_USE("r2"));
    fake_act(f, 1, "{\"answer_permission\":{\"behavior\":\"allow\",\"request_id\":\"zz\"}}");
    CU_ASSERT_STRING_EQUAL(acted_result(f), "refused");
    fake_act(f, 2, "{\"answer_permission\":{\"behavior\":\"allow\",\"request_id\":\"r1\"}}");
    CU_ASSERT_EQUAL(fake_count_sub(f, "send ", "\"request_id\":\"r1\""), 1);
    fake_act(f, 3, "{\"answer_permission\":{\"behavior\":\"allow\"}}");
    CU_ASSERT_EQUAL(fake_count_sub(f, "send ", "\"request_id\":\"r2\""), 1);
    fake_act(f, 4, "{\"answer_permission\":{\"behavior\":\"maybe\"}}");
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"ok\":false"), 1);
    fake_free(f);
}

/* CR-CTL-2: the exact error text, also for known subtypes and an absent one. */
static void test_unsupported_subtypes(void)
{
    struct fake *f = fake_open(RC_MUT_NONE, 1);
    json_t *sent, *r;

    fake_frame(f, "{\"type\":\"control_request\",\"request_id\":\"x1\",\"request\":{\"subtype\":"
                  "\"frobnicate\"}}");
    fake_frame(f, "{\"type\":\"control_request\",\"request_id\":\"x2\",\"request\":{\"subtype\":"
                  "\"interrupt\"}}");
    fake_frame(f, "{\"type\":\"control_request\",\"request_id\":\"x3\",\"request\":{}}");
    fake_frame(f, "{\"type\":\"control_request\",\"request_id\":\"x4\"}");
    sent = fake_sent(f);
    CU_ASSERT_EQUAL(json_array_size(sent), 4);
    r = json_object_get(json_array_get(sent, 0), "response");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "subtype")), "error");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "request_id")), "x1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "error")),
                           "Unsupported control request subtype: frobnicate");
    r = json_object_get(json_array_get(sent, 1), "response");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "error")),
                           "Unsupported control request subtype: interrupt");
    r = json_object_get(json_array_get(sent, 2), "response");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "error")),
                           "Unsupported control request subtype: undefined");
    json_decref(sent);
    /* CR-CTL-4: a repeat of an answered id gets nothing */
    fake_clear(f);
    fake_frame(f, "{\"type\":\"control_request\",\"request_id\":\"x1\",\"request\":{\"subtype\":"
                  "\"frobnicate\"}}");
    CU_ASSERT_EQUAL(fake_count(f, "send "), 0);
    fake_free(f);
}

/* CR-CTL-3 (and the bookkeeping behind "the newest"). */
static void test_cancel(void)
{
    struct fake *f = fake_open(RC_MUT_NONE, 1);
    json_t *n;

    fake_frame(f, CAN_USE("r1"));
    fake_frame(f, CANCEL("r1"));
    n = fake_notes(f, "cancelled");
    CU_ASSERT_EQUAL(json_array_size(n), 1);
    json_decref(n);
    fake_act(f, 1, "{\"answer_permission\":\"allow\"}");
    CU_ASSERT_STRING_EQUAL(acted_result(f), "refused");
    fake_act(f, 2, "{\"answer_permission\":{\"behavior\":\"allow\",\"request_id\":\"r1\"}}");
    CU_ASSERT_STRING_EQUAL(acted_result(f), "refused");
    fake_frame(f, CAN_USE("r1")); /* a repeat of the cancelled id adds nothing */
    fake_act(f, 3, "{\"answer_permission\":\"allow\"}");
    CU_ASSERT_STRING_EQUAL(acted_result(f), "refused");
    CU_ASSERT_EQUAL(fake_count(f, "send "), 0);
    /* cancelling one of two answers the other on "the newest" */
    fake_frame(f, CAN_USE("r2"));
    fake_frame(f, CAN_USE("r3"));
    fake_frame(f, CANCEL("r3"));
    fake_act(f, 4, "{\"answer_permission\":\"allow\"}");
    CU_ASSERT_EQUAL(fake_count_sub(f, "send ", "\"request_id\":\"r2\""), 1);
    CU_ASSERT_EQUAL(fake_count_sub(f, "send ", "\"request_id\":\"r3\""), 0);
    fake_free(f);
}

/* CR-CONN-2, CR-CTL-8, CR-CONN-3: bad frames change nothing. */
static void test_bad_frames(void)
{
    static const char *const bad[] = {
        "not json{",
        "[1,2]",
        "42",
        "{\"no\":\"type\"}",
        "{\"type\":7}",
        "",
        "{\"type\":\"control_request\",\"request\":{\"subtype\":\"x\"}}",
        "{\"type\":\"control_request\",\"request_id\":5}",
        "{\"type\":\"control_cancel_request\"}",
        "{\"type\":\"who-knows\",\"x\":1}",
        "{\"type\":\"user\"}",
        "{\"type\":\"user\",\"uuid\":3}",
        "{\"type\":\"assistant\"}"};
    struct fake *f = fake_open(RC_MUT_NONE, 1);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        fake_frame(f, bad[i]);
    rc_session_frame(f->s, "\x01\x02", 2, true);
    CU_ASSERT_EQUAL(fake_count(f, "close"), 0);
    CU_ASSERT_EQUAL(fake_count(f, "send "), 0);
    CU_ASSERT_EQUAL(rc_session_state(f->s), RC_ST_OPEN);
    /* and it still answers */
    fake_frame(f, "{\"type\":\"control_request\",\"request_id\":\"q\",\"request\":{\"subtype\":"
                  "\"frobnicate\"}}");
    CU_ASSERT_EQUAL(fake_count_sub(f, "send ", "\"request_id\":\"q\""), 1);
    fake_free(f);
}

/* CR-MSG-1, CR-MSG-2 */
static void test_dedup(void)
{
    struct fake *f = fake_open(RC_MUT_NONE, 1);
    json_t *sent, *m, *n;
    const char *echo = "{\"type\":\"user\",\"uuid\":\"u-1\",\"message\":{\"role\":\"user\","
                       "\"content\":\"hi\"},\"session_id\":\"S1\"}";
    const char *other = "{\"type\":\"user\",\"uuid\":\"u-2\",\"message\":{\"role\":\"user\","
                        "\"content\":\"from elsewhere\"}}";

    fake_act(f, 1, "{\"send_user\":{\"text\":\"hi\",\"uuid\":\"u-1\"}}");
    CU_ASSERT_STRING_EQUAL(acted_result(f), "sent");
    sent = fake_sent(f);
    m = json_array_get(sent, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "type")), "user");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "uuid")), "u-1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "session_id")), "S1");
    CU_ASSERT_TRUE(json_is_null(json_object_get(m, "parent_tool_use_id")));
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(m, "message"), "content")), "hi");
    json_decref(sent);
    fake_frame(f, echo);
    fake_frame(f, echo); /* broadcast plus worker echo */
    fake_frame(f, other);
    fake_frame(f, other);
    fake_frame(f, "{\"type\":\"assistant\",\"uuid\":\"a-1\",\"message\":{}}");
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"what\":\"rendered\""), 3);
    n = fake_notes(f, "rendered");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(n, 0), "uuid")), "u-1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(n, 0), "origin")),
                           "local");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(n, 1), "uuid")), "u-2");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(n, 2), "type")),
                           "assistant");
    json_decref(n);
    n = fake_notes(f, "deduplicated");
    CU_ASSERT_EQUAL(json_array_size(n), 3);
    json_decref(n);
    /* a generated uuid is a fresh one each time */
    fake_clear(f);
    fake_act(f, 2, "{\"send_user\":{\"text\":\"a\"}}");
    fake_act(f, 3, "{\"send_user\":{\"text\":\"b\"}}");
    sent = fake_sent(f);
    CU_ASSERT_EQUAL(json_array_size(sent), 2);
    CU_ASSERT_STRING_NOT_EQUAL(json_string_value(json_object_get(json_array_get(sent, 0), "uuid")),
                               json_string_value(json_object_get(json_array_get(sent, 1), "uuid")));
    json_decref(sent);
    fake_act(f, 4, "{\"send_user\":{}}");
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"ok\":false"), 1);
    fake_free(f);
}

/* CR-CTL-5: fresh ids. */
static void test_interrupt(void)
{
    struct fake *f = fake_open(RC_MUT_NONE, 1);
    json_t *sent, *a, *b;

    fake_act(f, 1, "{\"interrupt\":{}}");
    fake_act(f, 2, "{\"interrupt\":{}}");
    sent = fake_sent(f);
    CU_ASSERT_EQUAL(json_array_size(sent), 2);
    a = json_array_get(sent, 0);
    b = json_array_get(sent, 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "type")), "control_request");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(a, "request"), "subtype")), "interrupt");
    CU_ASSERT_EQUAL(strlen(json_string_value(json_object_get(a, "request_id"))), 36);
    CU_ASSERT_STRING_NOT_EQUAL(json_string_value(json_object_get(a, "request_id")),
                               json_string_value(json_object_get(b, "request_id")));
    json_decref(sent);
    /* an inbound control_response is only an acknowledgement (CR-CTL-6) */
    fake_clear(f);
    fake_frame(f, "{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\","
                  "\"request_id\":\"x\"}}");
    CU_ASSERT_EQUAL(fake_count(f, "send "), 0);
    fake_free(f);
}

/* CR-CTL-7: nothing sent while disconnected, nothing later; the prompt is consumed. */
static void test_disconnected(void)
{
    struct fake *f = fake_open(RC_MUT_NONE, 10);

    fake_frame(f, CAN_USE("r1"));
    rc_session_closed(f->s, 1006);
    CU_ASSERT_EQUAL(rc_session_state(f->s), RC_ST_WAITING);
    CU_ASSERT_EQUAL(f->timer[RC_TIMER_RECONNECT],
                    200 + RC_RETRY_MARGIN_MS); /* 2000 ms at time scale 10 */
    CU_ASSERT_EQUAL(f->timer[RC_TIMER_PING], -1);
    fake_clear(f);
    fake_act(f, 1, "{\"interrupt\":{}}");
    CU_ASSERT_STRING_EQUAL(acted_result(f), "dropped");
    fake_act(f, 2, "{\"answer_permission\":\"allow\"}");
    CU_ASSERT_STRING_EQUAL(acted_result(f), "dropped");
    fake_act(f, 3, "{\"send_user\":{\"text\":\"x\"}}");
    CU_ASSERT_STRING_EQUAL(acted_result(f), "dropped");
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"what\":\"dropped\""), 3);
    fake_fire(f, RC_TIMER_RECONNECT);
    CU_ASSERT_EQUAL(fake_count(f, "connect"), 1);
    rc_session_opened(f->s);
    CU_ASSERT_EQUAL(fake_count(f, "send "), 0);
    fake_act(f, 4, "{\"answer_permission\":\"allow\"}");
    CU_ASSERT_STRING_EQUAL(acted_result(f), "refused");
    CU_ASSERT_EQUAL(fake_count(f, "send "), 0);
    fake_free(f);
}

/* CR-RETRY-*: the state machine feeds the policy the right facts. */
static void test_retry_sequences(void)
{
    struct fake *f = fake_open(RC_MUT_NONE, 1);
    json_t *n;

    /* a 4001 streak: 2, 4, 6 s, then it gives up */
    for (int i = 1; i <= 3; i++) {
        rc_session_closed(f->s, 4001);
        CU_ASSERT_EQUAL(f->timer[RC_TIMER_RECONNECT], 2000 * i + RC_RETRY_MARGIN_MS);
        fake_fire(f, RC_TIMER_RECONNECT);
        rc_session_opened(f->s);
    }
    rc_session_closed(f->s, 4001);
    CU_ASSERT_EQUAL(rc_session_state(f->s), RC_ST_GONE);
    CU_ASSERT_EQUAL(rc_session_attempts(f->s), 4);
    n = fake_notes(f, "gave_up");
    CU_ASSERT_EQUAL(json_array_size(n), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(n, 0), "code")), 4001);
    json_decref(n);
    fake_free(f);

    /* 4001 twice, then a working session (a frame): the next 4001 is the first again */
    f = fake_open(RC_MUT_NONE, 1);
    rc_session_closed(f->s, 4001);
    fake_fire(f, RC_TIMER_RECONNECT);
    rc_session_opened(f->s);
    rc_session_closed(f->s, 4001);
    CU_ASSERT_EQUAL(f->timer[RC_TIMER_RECONNECT], 4000 + RC_RETRY_MARGIN_MS);
    fake_fire(f, RC_TIMER_RECONNECT);
    rc_session_opened(f->s);
    fake_frame(f, "{\"type\":\"system\",\"subtype\":\"init\"}");
    rc_session_closed(f->s, 4001);
    CU_ASSERT_EQUAL(f->timer[RC_TIMER_RECONNECT], 2000 + RC_RETRY_MARGIN_MS);
    /* another code ends the streak too */
    fake_fire(f, RC_TIMER_RECONNECT);
    rc_session_opened(f->s);
    rc_session_closed(f->s, 4001);
    CU_ASSERT_EQUAL(f->timer[RC_TIMER_RECONNECT], 4000 + RC_RETRY_MARGIN_MS);
    fake_fire(f, RC_TIMER_RECONNECT);
    rc_session_opened(f->s);
    rc_session_closed(f->s, 1011);
    CU_ASSERT_EQUAL(f->timer[RC_TIMER_RECONNECT], 2000 + RC_RETRY_MARGIN_MS);
    fake_fire(f, RC_TIMER_RECONNECT);
    rc_session_opened(f->s);
    rc_session_closed(f->s, 4001);
    CU_ASSERT_EQUAL(f->timer[RC_TIMER_RECONNECT], 2000 + RC_RETRY_MARGIN_MS);
    fake_free(f);

    /* 4003 */
    f = fake_open(RC_MUT_NONE, 1);
    rc_session_closed(f->s, 4003);
    CU_ASSERT_EQUAL(rc_session_state(f->s), RC_ST_GONE);
    CU_ASSERT_EQUAL(fake_count(f, "timer reconnect"), 0);
    fake_free(f);

    /* a drop, then the retry fails before the open: it gives up */
    f = fake_open(RC_MUT_NONE, 1);
    rc_session_closed(f->s, 1006);
    CU_ASSERT_EQUAL(f->timer[RC_TIMER_RECONNECT], 2000 + RC_RETRY_MARGIN_MS);
    fake_fire(f, RC_TIMER_RECONNECT);
    rc_session_closed(f->s, 1006);
    CU_ASSERT_EQUAL(rc_session_state(f->s), RC_ST_GONE);
    CU_ASSERT_EQUAL(fake_count(f, "connect"), 2);
    fake_free(f);

    /* the first attempt never opens */
    f = fake_new(RC_MUT_NONE, 1);
    rc_session_start(f->s);
    rc_session_closed(f->s, 1006);
    CU_ASSERT_EQUAL(rc_session_state(f->s), RC_ST_GONE);
    fake_free(f);

    /* a stray timer or a second close changes nothing */
    f = fake_new(RC_MUT_NONE, 1);
    fake_fire(f, RC_TIMER_RECONNECT);
    rc_session_closed(f->s, 1006);
    CU_ASSERT_EQUAL(fake_count(f, "connect"), 0);
    fake_free(f);
}

/* CR-RETRY-5 */
static void test_own_close(void)
{
    struct fake *f = fake_open(RC_MUT_NONE, 1);

    fake_act(f, 1, "{\"close\":{}}");
    CU_ASSERT_EQUAL(fake_count_sub(f, "close", "1000"), 1);
    CU_ASSERT_EQUAL(rc_session_state(f->s), RC_ST_CLOSING);
    rc_session_closed(f->s, 1000);
    CU_ASSERT_EQUAL(rc_session_state(f->s), RC_ST_GONE);
    CU_ASSERT_EQUAL(fake_count(f, "timer reconnect"), 0);
    fake_free(f);
    /* during a reconnect gap: the scheduled attempt is cancelled */
    f = fake_open(RC_MUT_NONE, 1);
    rc_session_closed(f->s, 1006);
    fake_act(f, 1, "{\"close\":{}}");
    CU_ASSERT_EQUAL(f->timer[RC_TIMER_RECONNECT], -1);
    CU_ASSERT_EQUAL(rc_session_state(f->s), RC_ST_GONE);
    fake_fire(f, RC_TIMER_RECONNECT);
    CU_ASSERT_EQUAL(fake_count(f, "connect"), 1);
    fake_free(f);
}

/* CR-PING-1 */
static void test_ping(void)
{
    struct fake *f = fake_open(RC_MUT_NONE, 1);

    CU_ASSERT_EQUAL(f->timer[RC_TIMER_PING], 30000);
    fake_fire(f, RC_TIMER_PING);
    CU_ASSERT_EQUAL(fake_count(f, "ping"), 1);
    CU_ASSERT_EQUAL(f->timer[RC_TIMER_PING], 30000);
    rc_session_closed(f->s, 1006);
    CU_ASSERT_EQUAL(f->timer[RC_TIMER_PING], -1);
    fake_fire(f, RC_TIMER_PING); /* late: no ping on a closed socket */
    CU_ASSERT_EQUAL(fake_count(f, "ping"), 1);
    fake_free(f);
    f = fake_open(RC_MUT_NONE, 10);
    CU_ASSERT_EQUAL(f->timer[RC_TIMER_PING], 3000);
    fake_free(f);
}

/* CR-CTL-9 */
static void test_after_result(void)
{
    struct fake *f = fake_open(RC_MUT_NONE, 1);

    fake_frame(f, "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false}");
    fake_frame(f, "{\"type\":\"system\",\"subtype\":\"task_notification\"}");
    fake_frame(f, CAN_USE("r1"));
    fake_act(f, 1, "{\"answer_permission\":\"allow\"}");
    fake_frame(f, "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false}");
    fake_frame(f, "{\"type\":\"control_request\",\"request_id\":\"x\",\"request\":{\"subtype\":"
                  "\"frobnicate\"}}");
    CU_ASSERT_EQUAL(fake_count_sub(f, "send ", "\"request_id\":\"r1\""), 1);
    CU_ASSERT_EQUAL(fake_count_sub(f, "send ", "\"request_id\":\"x\""), 1);
    fake_free(f);
}

static void test_acts(void)
{
    struct fake *f = fake_open(RC_MUT_NONE, 1);

    fake_act(f, 7, "{\"frobnicate\":{}}");
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"error\":\"unknown act frobnicate\""), 1);
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"id\":7"), 1);
    fake_act(f, 8, "{}");
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"ok\":false"), 2);
    rc_session_ctl_line(f->s, "garbage", 7);
    rc_session_ctl_line(f->s, "{\"t\":\"other\"}", 13);
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"t\":\"acted\""), 2);
    fake_act(f, 9, "{\"quit\":{}}");
    CU_ASSERT_EQUAL(fake_count(f, "quit"), 1);
    CU_ASSERT_EQUAL(fake_count_sub(f, "ctl ", "\"id\":9"), 1);
    fake_free(f);
}

static CU_TestInfo tests[] = {
    {"hello, connect, nothing sent first", test_hello_and_connect},
    {"permission round trip (CR-CTL-1)", test_permission_round_trip},
    {"answer by request_id", test_answer_by_id},
    {"unsupported subtypes (CR-CTL-2, CR-CTL-4)", test_unsupported_subtypes},
    {"cancel (CR-CTL-3)", test_cancel},
    {"bad frames (CR-CONN-2, CR-CTL-8)", test_bad_frames},
    {"uuid de-duplication (CR-MSG-1, CR-MSG-2)", test_dedup},
    {"interrupt ids (CR-CTL-5)", test_interrupt},
    {"nothing while disconnected (CR-CTL-7)", test_disconnected},
    {"reconnect sequences (CR-RETRY-1..4)", test_retry_sequences},
    {"own close (CR-RETRY-5)", test_own_close},
    {"ping (CR-PING-1)", test_ping},
    {"after a result (CR-CTL-9)", test_after_result},
    {"acts", test_acts},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo rc_session_suites[] = {
    {"rc_session", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
