/*
 * test_dispatch.c: the Dispatch front-end (dispatch.c) over the core's outbox and the fake
 * provider. Each scenario returns true when the clean behaviour is seen; the suite checks every
 * scenario with no mutant on, and each dispatch-* mutant's scenario with that mutant on (it must
 * then be false): gw_dispatch_mutant_rows, counted by test_mutants.c's completeness test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "../dispatch.h"
#include "../mutants.h"
#include "fake.h"
#include "wc_buf.h"
#include "wc_json.h"
#include "wc_mem.h"

#include "wc_banned.h"

static struct gw_fake fake;
static struct gw_core *core;
static struct gw_dispatch *d;
static json_t *log_; /* drained {conn, frame|close}, not yet taken */
static int64_t now = 1000;

static int64_t clock_ms(void)
{
    return now;
}

static void up(void)
{
    struct gw_dispatch_opts o = {0};

    gw_fake_reset(&fake);
    core = gw_test_core(&fake, clock_ms);
    o.core = core;
    o.provider = &gw_fake_ops;
    o.provider_self = &fake;
    o.models = "mock,big";
    o.clock_ms = clock_ms;
    d = gw_dispatch_new(&o);
    log_ = json_array();
}

static void down(void)
{
    gw_dispatch_free(d);
    gw_core_free(core);
    gw_fake_reset(&fake);
    json_decref(log_);
    d = NULL;
    core = NULL;
}

static uint64_t open_conn(void)
{
    uint64_t c = gw_core_conn_open(core, "dispatch", NULL);
    gw_dispatch_conn_open(d, c);
    return c;
}

static void close_conn(uint64_t c)
{
    gw_dispatch_conn_close(d, c);
    gw_core_conn_close(core, c);
}

static void pump(void)
{
    json_t *more = gw_test_drain(core);
    json_array_extend(log_, more);
    json_decref(more);
}

/* conn's frames since the last take (new array; a close is {"(close)": code}). */
static json_t *take(uint64_t conn)
{
    json_t *out = json_array(), *rest = json_array(), *e;
    size_t i;

    pump();
    json_array_foreach(log_, i, e)
    {
        if ((uint64_t)json_integer_value(json_object_get(e, "conn")) != conn)
            json_array_append(rest, e);
        else if (json_object_get(e, "frame"))
            json_array_append(out, json_object_get(e, "frame"));
        else
            json_array_append_new(out, json_pack("{s:O}", "(close)", json_object_get(e, "close")));
    }
    json_decref(log_);
    log_ = rest;
    return out;
}

/* The frames as one line: a chat.delta is its event's type, a status change "status:<s>". */
static char *types(const json_t *frames)
{
    struct wc_buf b;
    size_t i;
    json_t *f;

    wc_buf_init(&b, 0);
    json_array_foreach(frames, i, f)
    {
        const char *t = wc_json_str(f, "type");
        if (i)
            wc_buf_adds(&b, " ");
        if (t && !strcmp(t, "chat.delta"))
            wc_buf_adds(&b, wc_json_str(json_object_get(f, "event"), "type"));
        else if (t && !strcmp(t, "conversation.statusChanged"))
            wc_buf_addf(&b, "status:%s", wc_json_str(f, "status"));
        else
            wc_buf_adds(&b, t ? t : "(close)");
    }
    return wc_buf_detach(&b, NULL);
}

/* take(conn) as a line, compared with want. */
static bool got(uint64_t conn, const char *want)
{
    json_t *fr = take(conn);
    char *s = types(fr);
    bool ok = !strcmp(s, want);

    if (!ok && !gw_mutant_active())
        fprintf(stderr, "\n    conn %llu: got  '%s'\n    want '%s'\n", (unsigned long long)conn, s,
                want);
    free(s);
    json_decref(fr);
    return ok;
}

static void frame(uint64_t conn, const char *text)
{
    gw_dispatch_frame(d, conn, text, strlen(text));
}

/* The one frame conn got, which must be a chat.error / error with message want. */
static bool one_error(uint64_t conn, const char *type, const char *want, const char *conv)
{
    json_t *fr = take(conn), *f = json_array_get(fr, 0);
    bool ok =
        json_array_size(fr) == 1 && wc_json_str(f, "type") &&
        !strcmp(wc_json_str(f, "type"), type) && wc_json_str(f, "message") &&
        !strcmp(wc_json_str(f, "message"), want) &&
        (conv ? wc_json_str(f, "conversationId") && !strcmp(wc_json_str(f, "conversationId"), conv)
              : !json_object_get(f, "conversationId"));

    if (!ok && !gw_mutant_active()) {
        char *s = json_dumps(fr, 0);
        fprintf(stderr, "\n    conn %llu: %s, want %s '%s'\n", (unsigned long long)conn, s, type,
                want);
        free(s);
    }
    json_decref(fr);
    return ok;
}

static const char *str_or(const json_t *o, const char *key)
{
    const char *v = wc_json_str(o, key);
    return v ? v : "";
}

/* Field key of the event in frame i of fr, or "" (never NULL). */
static const char *ev_str(const json_t *fr, size_t i, const char *key)
{
    const char *v = wc_json_str(json_object_get(json_array_get(fr, i), "event"), key);
    return v ? v : "";
}

static struct gw_fake_run *run(void)
{
    return fake.runs;
}

static void emit(const char *json_text)
{
    if (run() && !run()->ended)
        gw_fake_emitf(run(), json_text);
}

/* A connection that has read its catalog. */
static uint64_t conn_ready(void)
{
    uint64_t c = open_conn();
    json_decref(take(c));
    return c;
}

static void send_c(uint64_t conn, const char *conv, const char *message)
{
    char *t = wc_xasprintf("{\"type\":\"chat.send\",\"conversationId\":\"%s\",\"message\":\"%s\"}",
                           conv, message);
    frame(conn, t);
    free(t);
}

static void sub_c(uint64_t conn, const char *conv)
{
    char *t = wc_xasprintf("{\"type\":\"chat.subscribe\",\"conversationId\":\"%s\"}", conv);
    frame(conn, t);
    free(t);
}

#define TURN_OPEN   "status:active user-message turn-start"
#define TURN_CLOSED "done turn-sealed status:idle"

/* --- scenarios ---------------------------------------------------------------------------- */

static bool sc_catalog(void)
{
    uint64_t a = open_conn();
    json_t *fr = take(a);
    bool ok = json_array_size(fr) == 1 && wc_json_str(json_array_get(fr, 0), "type") &&
              !strcmp(wc_json_str(json_array_get(fr, 0), "type"), "catalog") &&
              json_is_array(json_object_get(json_array_get(fr, 0), "catalog"));
    json_decref(fr);
    return ok;
}

static bool sc_http_426(void)
{
    struct gw_dispatch_http_req q = {.method = "GET", .path = "/"};
    const char *ct;
    char *body;
    int st = gw_dispatch_http(d, &q, &ct, &body);
    bool ok = st == 426 && !strcmp(body, "expected websocket");
    free(body);
    return ok;
}

static bool sc_invalid_json(void)
{
    uint64_t a = conn_ready();
    frame(a, "{");
    return one_error(a, "error", "Invalid JSON", NULL);
}

static bool sc_bad_type_keeps_socket(void)
{
    uint64_t a = conn_ready();
    bool ok;
    frame(a, "{\"type\":\"nope\"}");
    ok = one_error(a, "error", "Unknown message type: nope", NULL);
    frame(a, "null");
    ok = one_error(a, "error", "Invalid message", NULL) && ok;
    frame(a, "{\"type\":\"subscribe\",\"surfaceId\":\"x\"}");
    return one_error(a, "error", "Unknown surface: x", NULL) && ok;
}

static bool sc_send_message(void)
{
    uint64_t a = conn_ready();
    bool ok;
    frame(a, "{\"type\":\"chat.send\",\"message\":\"\"}");
    ok = one_error(a, "chat.error", "chat.send requires a non-empty string `message`", NULL);
    frame(a, "{\"type\":\"chat.send\",\"conversationId\":\"c1\",\"message\":\"   \"}");
    return got(a, TURN_OPEN) && ok;
}

static bool sc_send_effort(void)
{
    uint64_t a = conn_ready();
    bool ok;
    frame(a, "{\"type\":\"chat.send\",\"message\":\"x\",\"reasoningEffort\":\"ultra\"}");
    ok = one_error(a, "chat.error",
                   "chat.send: invalid reasoningEffort \"ultra\" \xe2\x80\x94 must be one of: low, "
                   "medium, high, xhigh, max",
                   NULL);
    frame(a, "{\"type\":\"chat.send\",\"message\":\"x\",\"reasoningEffort\":3}");
    return one_error(a, "chat.error",
                     "chat.send: invalid reasoningEffort \"3\" \xe2\x80\x94 must be one of: low, "
                     "medium, high, xhigh, max",
                     NULL) &&
           ok;
}

static bool sc_send_images(void)
{
    uint64_t a = conn_ready();
    bool ok;
    frame(a, "{\"type\":\"chat.send\",\"message\":\"x\",\"images\":{}}");
    ok = one_error(a, "chat.error", "chat.send: 'images' must be an array", NULL);
    frame(a, "{\"type\":\"chat.send\",\"message\":\"x\",\"images\":[{\"url\":\"\"}]}");
    return one_error(a, "chat.error", "chat.send: each image must have a non-empty string 'url'",
                     NULL) &&
           ok;
}

static bool sc_error_echoes_conversation(void)
{
    uint64_t a = conn_ready();
    frame(a, "{\"type\":\"chat.send\",\"conversationId\":\"c9\",\"message\":5}");
    return one_error(a, "chat.error", "chat.send requires a non-empty string `message`", "c9");
}

/* A whole turn with a tool call: grammar, ordering, fan-out to a subscriber from before. */
static bool sc_turn_grammar(void)
{
    uint64_t a = conn_ready(), b = conn_ready(), c = conn_ready();
    bool ok;
    sub_c(b, "c1");
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"text-delta\",\"delta\":\"He\"}");
    emit("{\"kind\":\"tool-call\",\"toolCallId\":\"t1\",\"toolName\":\"Bash\",\"input\":{}}");
    emit("{\"kind\":\"tool-result\",\"toolCallId\":\"t1\",\"content\":\"ok\"}");
    emit("{\"kind\":\"step-complete\"}");
    emit("{\"kind\":\"text-delta\",\"delta\":\"llo\"}");
    emit("{\"kind\":\"complete\",\"exitCode\":0}");
#define GRAMMAR                                                                                    \
    TURN_OPEN                                                                                      \
    " text-delta tool-call step-complete tool-result text-delta step-complete " TURN_CLOSED
    ok = got(a, GRAMMAR);
    ok = got(b, GRAMMAR) && ok;
    return got(c, "status:active status:idle") && ok;
}

static bool sc_turn_start_second(void)
{
    uint64_t a = conn_ready();
    json_t *fr;
    bool ok;
    send_c(a, "c1", "hi");
    fr = take(a);
    ok = !strcmp(ev_str(fr, 1, "type"), "user-message") && !strcmp(ev_str(fr, 1, "text"), "hi") &&
         !strcmp(ev_str(fr, 2, "type"), "turn-start");
    json_decref(fr);
    return ok;
}

static bool sc_seal_after_done(void)
{
    uint64_t a = conn_ready();
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"complete\",\"exitCode\":0}");
    return got(a, TURN_OPEN " step-complete " TURN_CLOSED);
}

static bool sc_provider_error(void)
{
    uint64_t a = conn_ready();
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"text-delta\",\"delta\":\"x\"}");
    emit("{\"kind\":\"error\",\"content\":\"boom\"}");
    return got(a, TURN_OPEN " text-delta error step-complete " TURN_CLOSED);
}

static bool sc_unknown_model(void)
{
    uint64_t a = conn_ready();
    json_t *fr;
    bool ok;
    frame(a, "{\"type\":\"chat.send\",\"conversationId\":\"c1\",\"message\":\"x\","
             "\"model\":\"nope\"}");
    fr = take(a);
    {
        char *s = types(fr);
        ok = !strcmp(s, "status:active user-message error status:idle") &&
             !strcmp(ev_str(fr, 2, "message"), "unknown model: nope");
        free(s);
    }
    json_decref(fr);
    /* idle again: the next send starts a turn */
    send_c(a, "c1", "again");
    return got(a, TURN_OPEN) && ok;
}

static bool sc_tool_result_after_step(void)
{
    uint64_t a = conn_ready();
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"tool-call\",\"toolCallId\":\"t1\",\"toolName\":\"A\"}");
    emit("{\"kind\":\"tool-call\",\"toolCallId\":\"t2\",\"toolName\":\"B\"}");
    emit("{\"kind\":\"tool-result\",\"toolCallId\":\"t2\",\"content\":\"2\"}");
    emit("{\"kind\":\"tool-result\",\"toolCallId\":\"t1\",\"content\":\"1\"}");
    {
        json_t *fr = take(a);
        char *s = types(fr);
        bool ok = !strcmp(s, TURN_OPEN " tool-call tool-call");
        free(s);
        json_decref(fr);
        emit("{\"kind\":\"step-complete\"}");
        fr = take(a);
        s = types(fr);
        ok = ok && !strcmp(s, "step-complete tool-result tool-result") &&
             !strcmp(ev_str(fr, 1, "toolCallId"), "t1");
        free(s);
        json_decref(fr);
        return ok;
    }
}

static bool sc_late_join(void)
{
    uint64_t a = conn_ready(), b = conn_ready();
    json_t *fa, *fb;
    bool ok;
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"text-delta\",\"delta\":\"1\"}");
    emit("{\"kind\":\"tool-call\",\"toolCallId\":\"t1\",\"toolName\":\"A\"}");
    sub_c(b, "c1");
    emit("{\"kind\":\"text-delta\",\"delta\":\"2\"}");
    emit("{\"kind\":\"complete\",\"exitCode\":0}");
    fa = take(a);
    fb = take(b);
    /* b: status:active came before it subscribed (broadcast); every chat.delta of a, equal */
    {
        json_t *da = json_array(), *db = json_array(), *f;
        size_t i;
        json_array_foreach(fa, i, f) if (!strcmp(str_or(f, "type"), "chat.delta"))
            json_array_append(da, f);
        json_array_foreach(fb, i, f) if (!strcmp(str_or(f, "type"), "chat.delta"))
            json_array_append(db, f);
        ok = json_array_size(da) == 8 && json_equal(da, db);
        json_decref(da);
        json_decref(db);
    }
    json_decref(fa);
    json_decref(fb);
    return ok;
}

static bool sc_no_replay_after_seal(void)
{
    uint64_t a = conn_ready(), b = conn_ready();
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"complete\",\"exitCode\":0}");
    json_decref(take(b));
    sub_c(b, "c1");
    return got(b, "");
}

static bool sc_subscriber_before_turn(void)
{
    uint64_t a = conn_ready(), b = conn_ready();
    sub_c(b, "c1");
    send_c(a, "c1", "one");
    emit("{\"kind\":\"complete\",\"exitCode\":0}");
    json_decref(take(a));
    return got(b, TURN_OPEN " step-complete " TURN_CLOSED);
}

static bool sc_subscribe_unknown_silent(void)
{
    uint64_t a = conn_ready();
    sub_c(a, "never-seen");
    return got(a, "");
}

static bool sc_resubscribe(void)
{
    uint64_t a = conn_ready(), b = conn_ready();
    send_c(a, "c1", "hi");
    sub_c(b, "c1");
    sub_c(b, "c1");
    emit("{\"kind\":\"text-delta\",\"delta\":\"1\"}");
    return got(b, "status:active user-message turn-start text-delta");
}

static bool sc_unsubscribe(void)
{
    uint64_t a = conn_ready(), b = conn_ready();
    bool ok;
    sub_c(b, "c1");
    send_c(a, "c1", "hi");
    ok = got(b, TURN_OPEN);
    json_decref(take(a));
    frame(b, "{\"type\":\"chat.unsubscribe\",\"conversationId\":\"c1\"}");
    emit("{\"kind\":\"text-delta\",\"delta\":\"1\"}");
    emit("{\"kind\":\"complete\",\"exitCode\":0}");
    ok = got(b, "status:idle") && ok;
    return got(a, "text-delta step-complete " TURN_CLOSED) && ok;
}

static bool sc_subscribe_needs_id(void)
{
    uint64_t a = conn_ready();
    frame(a, "{\"type\":\"chat.subscribe\"}");
    return one_error(a, "chat.error", "chat.subscribe requires a non-empty string `conversationId`",
                     NULL);
}

static bool sc_fanout(void)
{
    uint64_t a = conn_ready(), b = conn_ready();
    sub_c(b, "c1");
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"text-delta\",\"delta\":\"1\"}");
    emit("{\"kind\":\"complete\",\"exitCode\":0}");
    return got(a, TURN_OPEN " text-delta step-complete " TURN_CLOSED) &&
           got(b, TURN_OPEN " text-delta step-complete " TURN_CLOSED);
}

static bool sc_busy(void)
{
    uint64_t a = conn_ready(), b = conn_ready();
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"text-delta\",\"delta\":\"1\"}");
    json_decref(take(b));
    send_c(b, "c1", "second");
    emit("{\"kind\":\"text-delta\",\"delta\":\"2\"}");
    return got(b, "user-message turn-start text-delta chat.error text-delta") && fake.n_open == 1;
}

static bool sc_auto_subscribe(void)
{
    uint64_t a = conn_ready();
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"text-delta\",\"delta\":\"1\"}");
    return got(a, TURN_OPEN " text-delta");
}

static bool sc_close_does_not_abort(void)
{
    uint64_t a = conn_ready(), c = conn_ready();
    bool ok;
    sub_c(c, "c1");
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"text-delta\",\"delta\":\"1\"}");
    close_conn(a);
    ok = !run()->aborted;
    if (!run()->ended)
        emit("{\"kind\":\"complete\",\"exitCode\":0}");
    {
        json_t *fr = take(c);
        size_t n = json_array_size(fr);
        const json_t *done = json_object_get(json_array_get(fr, n - 3), "event");
        ok = ok && n >= 3 && !strcmp(str_or(done, "type"), "done") &&
             !strcmp(str_or(done, "reason"), "stop");
        json_decref(fr);
    }
    return ok;
}

static int http(const char *method, const char *path, const char *since, char **body)
{
    struct gw_dispatch_http_req q = {.method = method, .path = path, .since_seq = since};
    const char *ct;
    int st = gw_dispatch_http(d, &q, &ct, body);
    pump();
    return st;
}

static bool sc_http_close(void)
{
    uint64_t a = conn_ready(), o = conn_ready();
    char *body;
    bool ok;
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"text-delta\",\"delta\":\"1\"}");
    json_decref(take(o));
    ok = http("POST", "/conversations/c1/close", NULL, &body) == 200 &&
         !strcmp(body, "{\"abortedTurn\":true}");
    free(body);
    ok = got(a, TURN_OPEN " text-delta done turn-sealed status:closed") && ok;
    ok = got(o, "status:closed") && ok && run()->aborted;
    ok = http("POST", "/conversations/c1/close", NULL, &body) == 200 &&
         !strcmp(body, "{\"abortedTurn\":false}") && ok;
    free(body);
    return ok;
}

/* A path id that is not UTF-8 names no conversation: 400, and no broadcast (the fuzz find
 * fuzz/corpus/dispatch/close-path-not-utf8: its status change was the frame "null"). */
static bool sc_http_id_not_utf8(void)
{
    uint64_t a = conn_ready();
    char *body;
    bool ok = http("POST", "/conversations/\xff\xfe/close", NULL, &body) == 400 &&
              !strcmp(body, "{\"error\":\"conversation id is not UTF-8\"}");

    free(body);
    ok = http("GET", "/conversations/c\xc3", NULL, &body) == 400 && ok;
    free(body);
    return got(a, "") && ok;
}

static bool sc_history(void)
{
    uint64_t a = conn_ready();
    char *body;
    json_t *h;
    bool ok;
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"text-delta\",\"delta\":\"He\"}");
    emit("{\"kind\":\"text-delta\",\"delta\":\"llo\"}");
    emit("{\"kind\":\"complete\",\"exitCode\":0}");
    ok = http("GET", "/conversations/c1", "0", &body) == 200;
    h = json_loads(body, 0, NULL);
    free(body);
    ok = ok && json_array_size(json_object_get(h, "chunks")) == 2 &&
         json_integer_value(
             json_object_get(json_array_get(json_object_get(h, "chunks"), 0), "seq")) == 1 &&
         json_integer_value(json_object_get(h, "latestSeq")) == 2;
    json_decref(h);
    ok = http("GET", "/conversations/c1", "1", &body) == 200 && strstr(body, "\"latestSeq\":2") &&
         strstr(body, "\"text\":\"Hello\"") && ok;
    free(body);
    return ok;
}

static bool sc_history_once(void)
{
    uint64_t a = conn_ready();
    char *body;
    bool ok;
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"text-delta\",\"delta\":\"He\"}");
    emit("{\"kind\":\"complete\",\"exitCode\":0}");
    ok = http("GET", "/conversations/c1", "0", &body) == 200 &&
         strstr(body, "\"latestSeq\":2}") != NULL;
    free(body);
    return ok;
}

static bool sc_queue_text(void)
{
    uint64_t a = conn_ready();
    frame(a, "{\"type\":\"chat.queue\",\"conversationId\":\"c1\",\"text\":\"  \"}");
    return one_error(a, "chat.error", "chat.queue requires a non-empty string `text`", "c1");
}

static bool sc_queue_idle(void)
{
    uint64_t a = conn_ready();
    frame(a, "{\"type\":\"chat.queue\",\"conversationId\":\"c1\",\"text\":\"go\"}");
    return got(a, TURN_OPEN) && fake.n_open == 1 && !strcmp(run()->prompt, "go");
}

static bool sc_queue_carry(void)
{
    uint64_t a = conn_ready();
    json_t *fr;
    bool ok;
    send_c(a, "c1", "hi");
    frame(a, "{\"type\":\"chat.queue\",\"conversationId\":\"c1\",\"text\":\"one\"}");
    frame(a, "{\"type\":\"chat.queue\",\"conversationId\":\"c1\",\"text\":\"two\"}");
    ok = got(a, TURN_OPEN);
    emit("{\"kind\":\"complete\",\"exitCode\":0}");
    fr = take(a);
    {
        char *s = types(fr);
        ok = ok && !strcmp(s, "step-complete done turn-sealed status:active user-message "
                              "turn-start");
        free(s);
    }
    ok = ok && !strcmp(ev_str(fr, 4, "text"), "one\n\ntwo") && !strcmp(run()->prompt, "one\n\ntwo");
    json_decref(fr);
    return ok;
}

static bool sc_queue_steering(void)
{
    uint64_t a = conn_ready();
    json_t *fr;
    bool ok;
    send_c(a, "c1", "hi");
    emit("{\"kind\":\"tool-call\",\"toolCallId\":\"t1\",\"toolName\":\"A\"}");
    emit("{\"kind\":\"tool-result\",\"toolCallId\":\"t1\",\"content\":\"1\"}");
    frame(a, "{\"type\":\"chat.queue\",\"conversationId\":\"c1\",\"text\":\"x\"}");
    frame(a, "{\"type\":\"chat.queue\",\"conversationId\":\"c1\",\"text\":\"y\"}");
    emit("{\"kind\":\"step-complete\"}");
    fr = take(a);
    {
        char *s = types(fr);
        ok = !strcmp(s, TURN_OPEN " tool-call step-complete tool-result steering");
        free(s);
    }
    ok = ok && !strcmp(ev_str(fr, 6, "text"), "x\n\ny");
    json_decref(fr);
    return ok;
}

static bool sc_queue_cancel_fields(void)
{
    uint64_t a = conn_ready();
    bool ok;
    frame(a, "{\"type\":\"chat.queue.cancel\"}");
    ok = one_error(a, "chat.error",
                   "chat.queue.cancel requires a non-empty string `conversationId`", NULL);
    frame(a, "{\"type\":\"chat.queue.cancel\",\"conversationId\":\"c1\"}");
    return one_error(a, "chat.error", "chat.queue.cancel requires a non-empty string `messageId`",
                     "c1") &&
           ok;
}

static bool sc_queue_cancel(void)
{
    uint64_t a = conn_ready();
    json_t *fr;
    bool ok;
    frame(a, "{\"type\":\"subscribe\",\"surfaceId\":\"message-queue\",\"conversationId\":\"c1\"}");
    send_c(a, "c1", "hi");
    frame(a, "{\"type\":\"chat.queue\",\"conversationId\":\"c1\",\"text\":\"one\"}");
    frame(a, "{\"type\":\"chat.queue\",\"conversationId\":\"c1\",\"text\":\"two\"}");
    fr = take(a);
    {
        /* surface, status, user-message, turn-start, update(one), update(one, two) */
        const json_t *spec =
            json_object_get(json_object_get(json_array_get(fr, 5), "update"), "spec");
        const char *mid = wc_json_str(json_array_get(json_object_get(spec, "fields"), 0), "id");
        char *t = wc_xasprintf(
            "{\"type\":\"chat.queue.cancel\",\"conversationId\":\"c1\",\"messageId\":\"%s\"}",
            mid ? mid : "?");
        frame(a, t);
        free(t);
    }
    json_decref(fr);
    json_decref(take(a));
    emit("{\"kind\":\"complete\",\"exitCode\":0}");
    ok = !strcmp(run()->prompt, "two");
    frame(a, "{\"type\":\"chat.queue.cancel\",\"conversationId\":\"c1\",\"messageId\":\"zz\"}");
    json_decref(take(a));
    return ok;
}

static bool sc_unknown_surface(void)
{
    uint64_t a = conn_ready();
    json_t *fr;
    bool ok;
    frame(a, "{\"type\":\"subscribe\",\"surfaceId\":\"nope\"}");
    fr = take(a);
    ok = json_array_size(fr) == 1 &&
         !strcmp(str_or(json_array_get(fr, 0), "message"), "Unknown surface: nope") &&
         !strcmp(str_or(json_array_get(fr, 0), "surfaceId"), "nope");
    json_decref(fr);
    return ok;
}

static bool sc_queue_needs_conversation(void)
{
    uint64_t a = conn_ready();
    frame(a, "{\"type\":\"chat.queue\",\"text\":\"x\"}");
    return one_error(a, "chat.error", "chat.queue requires a non-empty string `conversationId`",
                     NULL);
}

/* --- the tables --------------------------------------------------------------------------- */

struct row {
    const char *name;
    bool (*scenario)(void);
    enum gw_mutant m; /* the mutant it kills, or GW_MUT_NONE */
};

static const struct row rows[] = {
    {"catalog", sc_catalog, GW_MUT_DISPATCH_NO_CATALOG},
    {"http_426", sc_http_426, GW_MUT_DISPATCH_HTTP_200},
    {"invalid_json", sc_invalid_json, GW_MUT_DISPATCH_INVALID_JSON_SILENT},
    {"bad_type_keeps_socket", sc_bad_type_keeps_socket, GW_MUT_DISPATCH_BAD_TYPE_CLOSES},
    {"send_message", sc_send_message, GW_MUT_DISPATCH_MESSAGE_TRIMMED},
    {"send_effort", sc_send_effort, GW_MUT_DISPATCH_EFFORT_UNCHECKED},
    {"send_images", sc_send_images, GW_MUT_DISPATCH_IMAGES_UNCHECKED},
    {"error_echoes_conversation", sc_error_echoes_conversation,
     GW_MUT_DISPATCH_ERROR_NO_CONVERSATION},
    {"auto_subscribe", sc_auto_subscribe, GW_MUT_DISPATCH_NO_AUTO_SUBSCRIBE},
    {"busy", sc_busy, GW_MUT_DISPATCH_BUSY_BEFORE_REPLAY},
    {"turn_start_second", sc_turn_start_second, GW_MUT_DISPATCH_TURN_START_FIRST},
    {"seal_after_done", sc_seal_after_done, GW_MUT_DISPATCH_SEAL_BEFORE_DONE},
    {"tool_result_after_step", sc_tool_result_after_step, GW_MUT_DISPATCH_TOOL_RESULT_EARLY},
    {"provider_error", sc_provider_error, GW_MUT_DISPATCH_ERROR_TERMINAL},
    {"unknown_model", sc_unknown_model, GW_MUT_DISPATCH_ORCH_ERROR_SEALS},
    {"resubscribe", sc_resubscribe, GW_MUT_DISPATCH_RESUBSCRIBE_DUPLICATES},
    {"late_join", sc_late_join, GW_MUT_DISPATCH_NO_REPLAY},
    {"no_replay_after_seal", sc_no_replay_after_seal, GW_MUT_DISPATCH_REPLAY_AFTER_SEAL},
    {"subscriber_before_turn", sc_subscriber_before_turn, GW_MUT_DISPATCH_TURN_LISTENERS},
    {"subscribe_unknown_silent", sc_subscribe_unknown_silent,
     GW_MUT_DISPATCH_UNKNOWN_CONVERSATION_ERROR},
    {"unsubscribe", sc_unsubscribe, GW_MUT_DISPATCH_UNSUBSCRIBE_IGNORED},
    {"fanout", sc_fanout, GW_MUT_DISPATCH_FANOUT_DROPS},
    {"turn_grammar", sc_turn_grammar, GW_MUT_DISPATCH_STATUS_SUBSCRIBERS_ONLY},
    {"queue_text", sc_queue_text, GW_MUT_DISPATCH_QUEUE_UNTRIMMED},
    {"queue_idle", sc_queue_idle, GW_MUT_DISPATCH_QUEUE_IDLE_NO_SUBSCRIBE},
    {"queue_carry", sc_queue_carry, GW_MUT_DISPATCH_CARRY_JOIN},
    {"queue_cancel_fields", sc_queue_cancel_fields, GW_MUT_DISPATCH_CANCEL_ORDER},
    {"queue_cancel", sc_queue_cancel, GW_MUT_DISPATCH_CANCEL_IGNORED},
    {"close_does_not_abort", sc_close_does_not_abort, GW_MUT_DISPATCH_ABORT_ON_CLOSE},
    {"http_close", sc_http_close, GW_MUT_DISPATCH_CLOSE_NO_SEAL},
    {"history", sc_history, GW_MUT_DISPATCH_HISTORY_SEQ_ZERO},
    {"history_once", sc_history_once, GW_MUT_DISPATCH_HISTORY_STEP_TWICE},
    {"unknown_surface", sc_unknown_surface, GW_MUT_DISPATCH_UNKNOWN_SURFACE_SILENT},
    /* no mutant of their own */
    {"queue_steering", sc_queue_steering, GW_MUT_NONE},
    {"subscribe_needs_id", sc_subscribe_needs_id, GW_MUT_NONE},
    {"queue_needs_conversation", sc_queue_needs_conversation, GW_MUT_NONE},
    {"http_id_not_utf8", sc_http_id_not_utf8, GW_MUT_NONE},
};

/* For test_mutants.c: how many dispatch-* mutants this file proves. */
size_t gw_dispatch_mutant_rows(void);
size_t gw_dispatch_mutant_rows(void)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        n += rows[i].m != GW_MUT_NONE;
    return n;
}

static bool run_row(const struct row *r)
{
    bool v;
    up();
    v = r->scenario();
    down();
    return v;
}

static void test_dispatch_clean(void)
{
    gw_mutant_force(GW_MUT_NONE);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool ok = run_row(&rows[i]);
        if (!ok)
            fprintf(stderr, "\n    scenario %s fails with no mutant\n", rows[i].name);
        CU_ASSERT_TRUE(ok);
    }
}

static void test_dispatch_mutants_flip(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool v;
        if (rows[i].m == GW_MUT_NONE)
            continue;
        gw_mutant_force(rows[i].m);
        v = run_row(&rows[i]);
        gw_mutant_force(GW_MUT_NONE);
        if (v)
            fprintf(stderr, "\n    mutant %s survives scenario %s\n",
                    gw_mutant_info(rows[i].m)->name, rows[i].name);
        CU_ASSERT_FALSE(v);
    }
}

/* Every dispatch-* mutant has a row (each row a different mutant). */
static void test_dispatch_mutants_covered(void)
{
    for (int m = GW_MUT_NONE + 1; m < GW_MUT_COUNT; m++) {
        const char *name = gw_mutant_info((enum gw_mutant)m)->name;
        int n = 0;
        if (strncmp(name, "dispatch-", 9))
            continue;
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
            n += rows[i].m == (enum gw_mutant)m;
        if (n != 1)
            fprintf(stderr, "\n    mutant %s has %d rows\n", name, n);
        CU_ASSERT_EQUAL(n, 1);
    }
}

/* A carried turn, an abort and shutdown with runs in flight leak nothing (ASan's job). */
static void test_dispatch_shutdown_mid_turn(void)
{
    uint64_t a;
    up();
    a = conn_ready();
    send_c(a, "c1", "hi");
    frame(a, "{\"type\":\"chat.queue\",\"conversationId\":\"c1\",\"text\":\"later\"}");
    emit("{\"kind\":\"complete\",\"exitCode\":0}");
    send_c(a, "c2", "held");
    json_decref(take(a));
    down();
}

static CU_TestInfo dispatch_tests[] = {
    {"every scenario passes with no mutant", test_dispatch_clean},
    {"each dispatch-* mutant fails its scenario", test_dispatch_mutants_flip},
    {"every dispatch-* mutant has one scenario", test_dispatch_mutants_covered},
    {"shutdown with turns in flight", test_dispatch_shutdown_mid_turn},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo gw_dispatch_suites[] = {
    {"gw_dispatch", NULL, NULL, NULL, NULL, dispatch_tests},
    CU_SUITE_INFO_NULL,
};
