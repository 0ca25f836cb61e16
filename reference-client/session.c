/*
 * session.c: the claude-remote/1 state machine of session.h. The requirement ids in the
 * comments are spec/claude-remote-1's; the mutants (mutants.h) bend exactly one of them each.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "book.h"
#include "policy.h"
#include "session.h"
#include "wc_json.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_banned.h"

#define RC_SEEN_UUIDS 1024 /* CR-MSG-1: at least the last 1000 */
#define UNSUPPORTED   "Unsupported control request subtype: "

struct queued {
    struct queued *next;
    char *text;
};

struct rc_session {
    struct rc_config cfg;
    struct rc_io io;
    enum rc_state state;
    unsigned attempts;
    unsigned streak;      /* CR-RETRY-2: place of the last 4001 in its streak, 0 when none */
    bool got_frame;       /* the current connection delivered a frame */
    bool own_close;       /* the client closes the current socket itself */
    bool saw_result;      /* for the deaf-after-result mutant */
    struct rc_book book;  /* the server's control requests */
    struct rc_idset seen; /* uuids of user messages rendered or sent */
    struct wc_rand rand;
    char fixed_id[37];             /* the reused-request-id mutant's one id */
    struct queued *queue, **qtail; /* the control-while-disconnected mutant's queue */
};

static bool mut(const struct rc_session *s, enum rc_mutant m)
{
    return s->cfg.mutant == m;
}

static int64_t scaled(const struct rc_session *s, int64_t ms)
{
    return (int64_t)llround((double)ms / s->cfg.time_scale);
}

/* ---- output --------------------------------------------------------------------------- */

static void ctl_json(struct rc_session *s, json_t *obj)
{
    char *line = json_dumps(obj, JSON_COMPACT);

    if (line) {
        s->io.ctl(s->io.ctx, line);
        free(line);
    }
    json_decref(obj);
}

/* A note: {"t":"note","what":what, ...fields}; fields is taken (may be NULL). */
static void note(struct rc_session *s, const char *what, json_t *fields)
{
    json_t *n = json_pack("{s:s, s:s}", "t", "note", "what", what);

    if (fields) {
        json_object_update(n, fields);
        json_decref(fields);
    }
    ctl_json(s, n);
}

static void acted(struct rc_session *s, json_int_t id, bool ok, const char *result,
                  const char *error)
{
    json_t *a = json_pack("{s:s, s:I, s:b}", "t", "acted", "id", id, "ok", ok);

    if (result)
        json_object_set_new(a, "result", json_string(result));
    if (error)
        json_object_set_new(a, "error", json_string(error));
    ctl_json(s, a);
}

static void send_now(struct rc_session *s, json_t *frame)
{
    char *text = json_dumps(frame, JSON_COMPACT);

    if (text) {
        s->io.send(s->io.ctx, text, strlen(text));
        free(text);
    }
}

/*
 * A control frame (control_request or control_response): sent when the socket is open,
 * otherwise dropped (CR-CTL-7) or, for the mutant, queued for the next connection. Takes frame.
 * Returns "sent" or "dropped" (the act's result).
 */
static const char *send_control(struct rc_session *s, json_t *frame, int copies)
{
    const char *type = wc_json_str(frame, "type");

    if (s->state == RC_ST_OPEN) {
        for (int i = 0; i < copies; i++)
            send_now(s, frame);
        json_decref(frame);
        return "sent";
    }
    if (mut(s, RC_MUT_CONTROL_WHILE_DISCONNECTED)) {
        struct queued *q = wc_xcalloc(1, sizeof(*q));
        q->text = json_dumps(frame, JSON_COMPACT);
        *s->qtail = q;
        s->qtail = &q->next;
        json_decref(frame);
        return "queued";
    }
    wc_info("cannot send %s: not connected", type ? type : "frame");
    note(s, "dropped",
         json_pack("{s:s, s:s}", "frame", type ? type : "?", "reason", "not connected"));
    json_decref(frame);
    return "dropped";
}

static void flush_queue(struct rc_session *s)
{
    while (s->queue) {
        struct queued *q = s->queue;
        s->queue = q->next;
        if (q->text)
            s->io.send(s->io.ctx, q->text, strlen(q->text));
        free(q->text);
        free(q);
    }
    s->qtail = &s->queue;
}

static void new_uuid(struct rc_session *s, char out[37])
{
    wc_rand_uuid(&s->rand, out);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

struct rc_session *rc_session_new(const struct rc_config *cfg, const struct rc_io *io)
{
    struct rc_session *s = wc_xcalloc(1, sizeof(*s));

    s->cfg = *cfg;
    if (!(s->cfg.time_scale > 0))
        s->cfg.time_scale = 1;
    s->io = *io;
    s->state = RC_ST_IDLE;
    rc_book_init(&s->book);
    rc_idset_init(&s->seen, RC_SEEN_UUIDS);
    wc_rand_init(&s->rand, cfg->seed);
    new_uuid(s, s->fixed_id);
    s->qtail = &s->queue;
    return s;
}

void rc_session_free(struct rc_session *s)
{
    if (!s)
        return;
    while (s->queue) {
        struct queued *q = s->queue;
        s->queue = q->next;
        free(q->text);
        free(q);
    }
    rc_book_release(&s->book);
    rc_idset_release(&s->seen);
    free(s);
}

enum rc_state rc_session_state(const struct rc_session *s)
{
    return s->state;
}

unsigned rc_session_attempts(const struct rc_session *s)
{
    return s->attempts;
}

void rc_session_hello(struct rc_session *s, long pid)
{
    ctl_json(s, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "t", "hello", "role", "client", "case",
                          s->cfg.case_token ? s->cfg.case_token : "", "label", "client", "dialect",
                          "claude-remote/1", "pid", (int)pid));
}

static void attempt(struct rc_session *s)
{
    s->state = RC_ST_CONNECTING;
    s->attempts++;
    s->got_frame = false;
    s->own_close = false;
    s->io.connect(s->io.ctx);
}

void rc_session_start(struct rc_session *s)
{
    if (s->state == RC_ST_IDLE)
        attempt(s);
}

void rc_session_opened(struct rc_session *s)
{
    if (s->state != RC_ST_CONNECTING)
        return;
    s->state = RC_ST_OPEN;
    note(s, "connected", json_pack("{s:i}", "attempt", (int)s->attempts));
    if (!mut(s, RC_MUT_NO_PING)) /* CR-PING-1 */
        s->io.timer(s->io.ctx, RC_TIMER_PING, scaled(s, RC_PING_INTERVAL_MS));
    flush_queue(s);
}

void rc_session_closed(struct rc_session *s, int code)
{
    struct rc_close c = {.code = code};
    int64_t delay;

    if (s->state != RC_ST_CONNECTING && s->state != RC_ST_OPEN && s->state != RC_ST_CLOSING)
        return;
    c.was_open = s->state != RC_ST_CONNECTING;
    c.own_close = s->own_close;
    s->io.timer(s->io.ctx, RC_TIMER_PING, -1);
    /* CR-RETRY-2: the 4001 streak */
    if (c.was_open && code == 4001)
        s->streak = s->got_frame ? 1 : s->streak + 1;
    else
        s->streak = 0;
    c.streak = s->streak;
    note(s, "disconnected", json_pack("{s:i, s:b}", "code", code, "was_open", c.was_open));
    delay = rc_retry_delay(&c, s->cfg.mutant);
    if (delay < 0) {
        s->state = RC_ST_GONE;
        note(s, c.own_close ? "closed" : "gave_up", json_pack("{s:i}", "code", code));
        return;
    }
    s->state = RC_ST_WAITING;
    note(s, "reconnecting", json_pack("{s:i, s:I}", "code", code, "delay_ms", (json_int_t)delay));
    /* 1 ms late rather than early: a server's clock started at its close write may start a
     * fraction of a ms after this one (the spec's bound is "no earlier than") */
    s->io.timer(s->io.ctx, RC_TIMER_RECONNECT, scaled(s, delay) + RC_RETRY_MARGIN_MS);
}

void rc_session_timer(struct rc_session *s, enum rc_timer which)
{
    if (which == RC_TIMER_RECONNECT) {
        if (s->state == RC_ST_WAITING)
            attempt(s);
        return;
    }
    if (which == RC_TIMER_PING && s->state == RC_ST_OPEN && !mut(s, RC_MUT_NO_PING)) {
        s->io.ping(s->io.ctx);
        s->io.timer(s->io.ctx, RC_TIMER_PING, scaled(s, RC_PING_INTERVAL_MS));
    }
}

/* ---- inbound frames ------------------------------------------------------------------- */

static void bad_frame(struct rc_session *s, const char *why)
{
    wc_info("inbound frame dropped: %s", why);
    note(s, "bad_frame", json_pack("{s:s}", "reason", why));
    if (mut(s, RC_MUT_CLOSE_ON_BAD_FRAME) && s->state == RC_ST_OPEN)
        s->io.close(s->io.ctx, 1003);
}

static void on_control_request(struct rc_session *s, const json_t *f)
{
    const char *id = wc_json_str(f, "request_id"), *subtype;
    const json_t *req = json_object_get(f, "request");
    char *err;

    if (!id) { /* CR-CTL-8 */
        bad_frame(s, "control_request without a string request_id");
        return;
    }
    if (mut(s, RC_MUT_DEAF_AFTER_RESULT) && s->saw_result)
        return;
    if (rc_book_state(&s->book, id) != RC_REQ_UNKNOWN) { /* CR-CTL-4 */
        note(s, "duplicate_request", json_pack("{s:s}", "request_id", id));
        return;
    }
    subtype = json_is_object(req) ? wc_json_str(req, "subtype") : NULL;
    if (subtype && !strcmp(subtype, "can_use_tool")) {
        const char *tool = wc_json_str(req, "tool_name");
        rc_book_add_pending(&s->book, id, tool, json_object_get(req, "input"));
        note(s, "permission_pending",
             json_pack("{s:s, s:s}", "request_id", id, "tool_name", tool ? tool : ""));
        return;
    }
    /* CR-CTL-2: anything else is answered at once */
    subtype = subtype ? subtype : "undefined";
    rc_book_mark_answered(&s->book, id);
    note(s, "unsupported", json_pack("{s:s, s:s}", "request_id", id, "subtype", subtype));
    if (mut(s, RC_MUT_SILENT_UNKNOWN_SUBTYPE))
        return;
    err = wc_xasprintf(UNSUPPORTED "%s", subtype);
    send_control(s,
                 json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "control_response", "response",
                           "subtype", "error", "request_id", id, "error", err),
                 1);
    free(err);
}

static void on_cancel(struct rc_session *s, const json_t *f)
{
    const char *id = wc_json_str(f, "request_id");

    if (!id) {
        bad_frame(s, "control_cancel_request without a string request_id");
        return;
    }
    if (rc_book_state(&s->book, id) != RC_REQ_PENDING) {
        wc_info("control_cancel_request for %s, which is not pending", id);
        return;
    }
    /* CR-CTL-3; the mutant tells the UI but keeps the prompt answerable */
    if (!mut(s, RC_MUT_ANSWER_CANCELLED))
        rc_book_cancel(&s->book, id);
    note(s, "cancelled", json_pack("{s:s}", "request_id", id));
}

static void render(struct rc_session *s, const char *type, const char *uuid, const char *origin)
{
    json_t *f = json_pack("{s:s, s:s}", "type", type, "origin", origin);

    if (uuid)
        json_object_set_new(f, "uuid", json_string(uuid));
    note(s, "rendered", f);
}

static void on_user(struct rc_session *s, const json_t *f)
{
    const char *uuid = wc_json_str(f, "uuid");

    /* CR-MSG-1 */
    if (uuid && !mut(s, RC_MUT_ECHO_RENDERED_TWICE) && !rc_idset_add(&s->seen, uuid)) {
        note(s, "deduplicated", json_pack("{s:s}", "uuid", uuid));
        return;
    }
    render(s, "user", uuid, "server");
}

void rc_session_frame(struct rc_session *s, const char *data, size_t len, bool binary)
{
    json_error_t jerr;
    json_t *f;
    const char *type;

    if (s->state != RC_ST_OPEN)
        return;
    s->got_frame = true;
    if (binary) {
        bad_frame(s, "binary frame");
        return;
    }
    f = json_loadb(data, len, 0, &jerr);
    if (!f) {
        bad_frame(s, "not JSON");
        return;
    }
    type = json_is_object(f) ? wc_json_str(f, "type") : NULL;
    if (!type) {
        bad_frame(s, json_is_object(f) ? "no string type" : "not an object");
        json_decref(f);
        return;
    }
    if (!strcmp(type, "control_request"))
        on_control_request(s, f);
    else if (!strcmp(type, "control_cancel_request"))
        on_cancel(s, f);
    else if (!strcmp(type, "control_response"))
        wc_info("control_response from the server (acknowledgement)"); /* CR-CTL-6 */
    else if (!strcmp(type, "user"))
        on_user(s, f);
    else if (!strcmp(type, "assistant"))
        render(s, "assistant", wc_json_str(f, "uuid"), "server");
    else if (!strcmp(type, "result"))
        s->saw_result = true; /* a turn ended, not the session (CR-CTL-9) */
    else
        wc_debug("frame of type %s", type); /* CR-CONN-3 */
    json_decref(f);
}

/* ---- acts ----------------------------------------------------------------------------- */

static void act_send_user(struct rc_session *s, json_int_t id, const json_t *args)
{
    const char *text = json_is_object(args) ? wc_json_str(args, "text") : NULL;
    const char *given = json_is_object(args) ? wc_json_str(args, "uuid") : NULL;
    char uuid[37];
    json_t *frame;

    if (!text) {
        acted(s, id, false, NULL, "bad act: send_user needs a string text");
        return;
    }
    if (given)
        snprintf(uuid, sizeof(uuid), "%s", given);
    else
        new_uuid(s, uuid);
    if (given && strlen(given) >= sizeof(uuid)) {
        acted(s, id, false, NULL, "bad act: send_user's uuid is longer than 36 characters");
        return;
    }
    if (s->state != RC_ST_OPEN) {
        note(s, "dropped", json_pack("{s:s, s:s}", "frame", "user", "reason", "not connected"));
        acted(s, id, true, "dropped", NULL);
        return;
    }
    frame = json_pack("{s:s, s:{s:s, s:s}, s:n, s:s, s:s}", "type", "user", "message", "role",
                      "user", "content", text, "parent_tool_use_id", "session_id",
                      s->cfg.session_id ? s->cfg.session_id : "", "uuid", uuid);
    send_now(s, frame);
    json_decref(frame);
    rc_idset_add(&s->seen, uuid);
    render(s, "user", uuid, "local");
    acted(s, id, true, "sent", NULL);
}

static void act_interrupt(struct rc_session *s, json_int_t id)
{
    char rid[37];

    if (mut(s, RC_MUT_REUSED_REQUEST_ID))
        memcpy(rid, s->fixed_id, sizeof(rid));
    else
        new_uuid(s, rid); /* CR-CTL-5 */
    acted(s, id, true,
          send_control(s,
                       json_pack("{s:s, s:s, s:{s:s}}", "type", "control_request", "request_id",
                                 rid, "request", "subtype", "interrupt"),
                       1),
          NULL);
}

static void act_answer(struct rc_session *s, json_int_t id, const json_t *args)
{
    const char *behavior = json_is_string(args) ? json_string_value(args) : NULL;
    const char *rid = NULL, *message = NULL;
    const json_t *updated = NULL;
    const struct rc_pending *p;
    json_t *resp, *frame;
    char *request_id;
    const char *result;

    if (json_is_object(args)) {
        behavior = wc_json_str(args, "behavior");
        rid = wc_json_str(args, "request_id");
        message = wc_json_str(args, "message");
        updated = json_object_get(args, "updatedInput");
    }
    if (!behavior || (strcmp(behavior, "allow") && strcmp(behavior, "deny"))) {
        acted(s, id, false, NULL, "bad act: answer_permission needs behavior allow or deny");
        return;
    }
    p = rc_book_find(&s->book, rid);
    if (!p) { /* refused locally: unknown, answered or cancelled (CR-CTL-3) */
        acted(s, id, true, "refused", "no pending permission request");
        return;
    }
    if (!strcmp(behavior, "allow"))
        resp = json_pack("{s:s, s:O}", "behavior", "allow", "updatedInput",
                         json_is_object(updated) ? updated : p->input);
    else
        resp = json_pack("{s:s, s:s}", "behavior", "deny", "message",
                         message ? message : "Denied by user");
    frame = json_pack("{s:s, s:{s:s, s:s, s:o}}", "type", "control_response", "response", "subtype",
                      "success", "request_id", p->request_id, "response", resp);
    request_id = wc_xstrdup(p->request_id);
    /* CR-CTL-1: once (the mutant twice); consumed even when dropped (CR-CTL-7) */
    result = send_control(s, frame, mut(s, RC_MUT_DOUBLE_ANSWER) ? 2 : 1);
    rc_book_answered(&s->book, request_id);
    free(request_id);
    acted(s, id, true, result, NULL);
}

static void act_close(struct rc_session *s, json_int_t id)
{
    switch (s->state) {
    case RC_ST_OPEN:
    case RC_ST_CONNECTING:
        s->own_close = true;
        if (s->state == RC_ST_OPEN)
            s->state = RC_ST_CLOSING;
        s->io.timer(s->io.ctx, RC_TIMER_PING, -1);
        s->io.close(s->io.ctx, 1000);
        acted(s, id, true, "sent", NULL);
        return;
    case RC_ST_WAITING:
        s->io.timer(s->io.ctx, RC_TIMER_RECONNECT, -1);
        s->state = RC_ST_GONE;
        note(s, "closed", json_pack("{s:i}", "code", 1000));
        acted(s, id, true, "sent", NULL);
        return;
    default:
        acted(s, id, true, "dropped", NULL);
        return;
    }
}

void rc_session_ctl_line(struct rc_session *s, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *msg = json_loadb(line, len, 0, &jerr), *act, *args;
    json_int_t id;
    const char *name;

    if (!msg || !json_is_object(msg)) {
        wc_warn("control channel: not a JSON object: %s", msg ? "" : jerr.text);
        json_decref(msg);
        return;
    }
    if (!wc_json_str(msg, "t") || strcmp(wc_json_str(msg, "t"), "act")) {
        wc_info("control channel: ignoring a line with t=%s",
                wc_json_str(msg, "t") ? wc_json_str(msg, "t") : "(none)");
        json_decref(msg);
        return;
    }
    id = json_integer_value(json_object_get(msg, "id"));
    act = json_object_get(msg, "act");
    if (!json_is_object(act) || json_object_size(act) != 1) {
        acted(s, id, false, NULL, "bad act: 'act' must be an object with one key");
        json_decref(msg);
        return;
    }
    name = json_object_iter_key(json_object_iter(act));
    args = json_object_iter_value(json_object_iter(act));
    if (!strcmp(name, "send_user"))
        act_send_user(s, id, args);
    else if (!strcmp(name, "interrupt"))
        act_interrupt(s, id);
    else if (!strcmp(name, "answer_permission"))
        act_answer(s, id, args);
    else if (!strcmp(name, "close"))
        act_close(s, id);
    else if (!strcmp(name, "quit")) {
        acted(s, id, true, "sent", NULL);
        s->io.quit(s->io.ctx);
    } else {
        char *err = wc_xasprintf("unknown act %s", name);
        acted(s, id, false, NULL, err);
        free(err);
    }
    json_decref(msg);
}
