/*
 * control.c: the claude-control/1 session of control.h. The requirement ids in the comments are
 * spec/claude-control-1's; each mutant (mutants.h, its `control` column) bends one of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

#include "book.h"
#include "control.h"
#include "wc_json.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_banned.h"

#define UNSUPPORTED "Unsupported control request subtype: "
#define OWN_MAX     64 /* own requests awaiting their response */

struct own {
    char id[37];
    char subtype[32];
};

struct rc_cc {
    struct rc_cc_config cfg;
    struct rc_cc_io io;
    bool input_open, started, saw_result;
    struct rc_book book;     /* the CLI's control requests */
    json_t *tool_use_ids;    /* request_id -> tool_use_id (the wrong-request-id mutant) */
    struct own own[OWN_MAX]; /* own requests in the order sent, oldest first */
    size_t nown;
    char session_id[128]; /* from the CLI's system/init; "" before */
    char fixed_id[37];    /* the reused-request-id mutant's one id */
    struct wc_rand rand;
};

static bool mut(const struct rc_cc *s, enum rc_mutant m)
{
    return s->cfg.mutant == m;
}

/* ---- output ------------------------------------------------------------------------------ */

static void ctl_json(struct rc_cc *s, json_t *obj)
{
    char *line = json_dumps(obj, JSON_COMPACT);

    if (line) {
        s->io.ctl(s->io.ctx, line);
        free(line);
    }
    json_decref(obj);
}

static void note(struct rc_cc *s, const char *what, json_t *fields)
{
    json_t *n = json_pack("{s:s, s:s}", "t", "note", "what", what);

    if (fields) {
        json_object_update(n, fields);
        json_decref(fields);
    }
    ctl_json(s, n);
}

static void acted(struct rc_cc *s, json_int_t id, bool ok, const char *result, const char *error)
{
    json_t *a = json_pack("{s:s, s:I, s:b}", "t", "acted", "id", id, "ok", ok);

    if (result)
        json_object_set_new(a, "result", json_string(result));
    if (error)
        json_object_set_new(a, "error", json_string(error));
    ctl_json(s, a);
}

/* One stream-json line to the CLI; takes frame. "sent", or "dropped" when its stdin is closed. */
static const char *send_line(struct rc_cc *s, json_t *frame, int copies)
{
    char *text = json_dumps(frame, JSON_COMPACT);
    const char *type = wc_json_str(frame, "type");
    bool ok = s->input_open && text;

    for (int i = 0; ok && i < copies; i++)
        ok = s->io.write(s->io.ctx, text, strlen(text));
    if (!ok) {
        wc_info("cannot send %s: the CLI's stdin is closed", type ? type : "a line");
        note(s, "dropped",
             json_pack("{s:s, s:s}", "frame", type ? type : "?", "reason", "stdin closed"));
    }
    free(text);
    json_decref(frame);
    return ok ? "sent" : "dropped";
}

/* An own control_request (initialize, interrupt) with a fresh request_id (CC-CTL-5). */
static const char *send_own(struct rc_cc *s, const char *subtype)
{
    char id[37];

    if (mut(s, RC_MUT_REUSED_REQUEST_ID))
        memcpy(id, s->fixed_id, sizeof(id));
    else
        wc_rand_uuid(&s->rand, id);
    if (s->nown == OWN_MAX) { /* the oldest is forgotten: its response will be unmatched */
        memmove(s->own, s->own + 1, (OWN_MAX - 1) * sizeof(s->own[0]));
        s->nown--;
    }
    struct own *o = &s->own[s->nown++];
    memcpy(o->id, id, sizeof(o->id));
    snprintf(o->subtype, sizeof(o->subtype), "%s", subtype);
    return send_line(s,
                     json_pack("{s:s, s:s, s:{s:s}}", "type", "control_request", "request_id", id,
                               "request", "subtype", subtype),
                     1);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

struct rc_cc *rc_cc_new(const struct rc_cc_config *cfg, const struct rc_cc_io *io)
{
    struct rc_cc *s = wc_xcalloc(1, sizeof(*s));

    s->cfg = *cfg;
    s->io = *io;
    rc_book_init(&s->book);
    s->tool_use_ids = json_object();
    wc_rand_init(&s->rand, cfg->seed);
    wc_rand_uuid(&s->rand, s->fixed_id);
    return s;
}

void rc_cc_free(struct rc_cc *s)
{
    if (!s)
        return;
    rc_book_release(&s->book);
    json_decref(s->tool_use_ids);
    free(s);
}

bool rc_cc_input_open(const struct rc_cc *s)
{
    return s->input_open;
}

const char *const *rc_cc_cli_args(enum rc_mutant m)
{
    /* CC-SPAWN-1, CC-SPAWN-2: what the Agent SDK passes (spec/claude-control-1 notes) */
    static const char *const full[] = {"--output-format", "stream-json", "--verbose",
                                       "--input-format",  "stream-json", "--permission-prompt-tool",
                                       "stdio",           NULL};
    static const char *const no_verbose[] = {"--output-format",
                                             "stream-json",
                                             "--input-format",
                                             "stream-json",
                                             "--permission-prompt-tool",
                                             "stdio",
                                             NULL};
    static const char *const no_tool[] = {"--output-format", "stream-json", "--verbose",
                                          "--input-format",  "stream-json", NULL};
    if (m == RC_MUT_NO_VERBOSE)
        return no_verbose;
    if (m == RC_MUT_NO_PERMISSION_PROMPT_TOOL)
        return no_tool;
    return full;
}

void rc_cc_hello(struct rc_cc *s, long pid)
{
    ctl_json(s, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "t", "hello", "role", "client", "case",
                          s->cfg.case_token ? s->cfg.case_token : "", "label", "client", "dialect",
                          "claude-control/1", "pid", (int)pid));
}

void rc_cc_started(struct rc_cc *s, long pid)
{
    if (s->started)
        return;
    s->started = true;
    s->input_open = true;
    note(s, "connected", json_pack("{s:i, s:i}", "attempt", 1, "pid", (int)pid));
    if (!mut(s, RC_MUT_NO_INITIALIZE)) /* CC-INIT-1: first, before any user message */
        send_own(s, "initialize");
}

void rc_cc_exited(struct rc_cc *s, int status)
{
    s->input_open = false;
    json_t *f = json_object();
    if (WIFEXITED(status))
        json_object_set_new(f, "status", json_integer(WEXITSTATUS(status)));
    else if (WIFSIGNALED(status))
        json_object_set_new(f, "signal", json_integer(WTERMSIG(status)));
    note(s, "cli_exited", f);
}

static void close_input(struct rc_cc *s, const char *why)
{
    if (!s->input_open)
        return;
    s->input_open = false;
    s->io.close_input(s->io.ctx);
    note(s, "input_closed", json_pack("{s:s}", "reason", why));
}

/* ---- lines from the CLI ------------------------------------------------------------------ */

static void bad_line(struct rc_cc *s, const char *why)
{
    wc_info("line from the CLI dropped: %s", why);
    note(s, "bad_frame", json_pack("{s:s}", "reason", why));
}

static void on_control_request(struct rc_cc *s, const json_t *f)
{
    const char *id = wc_json_str(f, "request_id"), *subtype;
    const json_t *req = json_object_get(f, "request");

    if (!id) {
        bad_line(s, "control_request without a string request_id");
        return;
    }
    if (mut(s, RC_MUT_DEAF_AFTER_RESULT) && s->saw_result)
        return;
    if (rc_book_state(&s->book, id) != RC_REQ_UNKNOWN) { /* CC-CTL-4 */
        note(s, "duplicate_request", json_pack("{s:s}", "request_id", id));
        return;
    }
    subtype = json_is_object(req) ? wc_json_str(req, "subtype") : NULL;
    if (subtype && !strcmp(subtype, "can_use_tool")) { /* CC-CTL-1: the user answers */
        const char *tool = wc_json_str(req, "tool_name"), *tu = wc_json_str(req, "tool_use_id");
        rc_book_add_pending(&s->book, id, tool, json_object_get(req, "input"));
        json_object_set_new(s->tool_use_ids, id, json_string(tu ? tu : ""));
        json_t *n = json_pack("{s:s, s:s}", "request_id", id, "tool_name", tool ? tool : "");
        if (tu) /* what an SDK's canUseTool sees (toolUseID), so cases can match on it */
            json_object_set_new(n, "tool_use_id", json_string(tu));
        note(s, "permission_pending", n);
        return;
    }
    /* CC-CTL-2: anything else is answered at once with the error */
    subtype = subtype ? subtype : "undefined";
    rc_book_mark_answered(&s->book, id);
    note(s, "unsupported", json_pack("{s:s, s:s}", "request_id", id, "subtype", subtype));
    if (mut(s, RC_MUT_SILENT_UNKNOWN_SUBTYPE))
        return;
    char *err = wc_xasprintf(UNSUPPORTED "%s", subtype);
    send_line(s,
              json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "control_response", "response",
                        "subtype", "error", "request_id", id, "error", err),
              1);
    free(err);
}

static void on_cancel(struct rc_cc *s, const json_t *f)
{
    const char *id = wc_json_str(f, "request_id");

    if (!id) {
        bad_line(s, "control_cancel_request without a string request_id");
        return;
    }
    if (rc_book_state(&s->book, id) != RC_REQ_PENDING) {
        wc_info("control_cancel_request for %s, which is not pending", id);
        return;
    }
    /* CC-CTL-3; the mutant is the Agent SDK's behaviour: the callback's signal is aborted, its
     * late return still answers */
    if (!mut(s, RC_MUT_ANSWER_CANCELLED))
        rc_book_cancel(&s->book, id);
    json_t *n = json_pack("{s:s}", "request_id", id);
    const char *tu = wc_json_str(s->tool_use_ids, id);
    if (tu && *tu)
        json_object_set_new(n, "tool_use_id", json_string(tu));
    note(s, "cancelled", n);
}

/* CC-CTL-6: a control_response settles the own request with its request_id; none: unmatched. */
static void on_response(struct rc_cc *s, const json_t *f)
{
    const json_t *resp = json_object_get(f, "response");
    const char *id = wc_json_str(resp, "request_id"), *st = wc_json_str(resp, "subtype");
    size_t i;

    if (!id) {
        bad_line(s, "control_response without a string response.request_id");
        return;
    }
    if (mut(s, RC_MUT_RESPONSE_BY_ORDER) && s->nown)
        i = 0;
    else
        for (i = 0; i < s->nown && strcmp(s->own[i].id, id); i++)
            ;
    if (i == s->nown) {
        note(s, "unmatched_response", json_pack("{s:s}", "request_id", id));
        return;
    }
    json_t *n = json_pack("{s:s, s:s, s:s}", "request_id", s->own[i].id, "for", s->own[i].subtype,
                          "subtype", st ? st : "");
    if (wc_json_str(resp, "error"))
        json_object_set_new(n, "error", json_string(wc_json_str(resp, "error")));
    memmove(s->own + i, s->own + i + 1, (s->nown - i - 1) * sizeof(s->own[0]));
    s->nown--;
    note(s, "response", n);
}

static void render(struct rc_cc *s, const json_t *f, const char *type)
{
    json_t *n = json_pack("{s:s, s:s}", "type", type, "origin", "cli");
    const char *uuid = wc_json_str(f, "uuid"), *sub = wc_json_str(f, "subtype");

    if (uuid)
        json_object_set_new(n, "uuid", json_string(uuid));
    if (sub)
        json_object_set_new(n, "subtype", json_string(sub));
    note(s, "rendered", n);
}

void rc_cc_line(struct rc_cc *s, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *f;
    const char *type;

    if (len == 0)
        return;
    f = json_loadb(line, len, 0, &jerr);
    if (!f) {
        bad_line(s, "not JSON");
        return;
    }
    type = json_is_object(f) ? wc_json_str(f, "type") : NULL;
    if (!type) {
        bad_line(s, json_is_object(f) ? "no string type" : "not an object");
        json_decref(f);
        return;
    }
    if (!strcmp(type, "control_request")) {
        on_control_request(s, f);
    } else if (!strcmp(type, "control_cancel_request")) {
        on_cancel(s, f);
    } else if (!strcmp(type, "control_response")) {
        on_response(s, f);
    } else if (!strcmp(type, "keep_alive")) {
        wc_debug("keep_alive"); /* CC-CTL-7: accepted silently */
    } else if (!strcmp(type, "result")) {
        /* CC-TURN-1, CC-TURN-2: the end of a turn, not of the session */
        s->saw_result = true;
        json_t *n = json_object();
        if (wc_json_str(f, "subtype"))
            json_object_set_new(n, "subtype", json_string(wc_json_str(f, "subtype")));
        if (json_is_boolean(json_object_get(f, "is_error")))
            json_object_set(n, "is_error", json_object_get(f, "is_error"));
        note(s, "result", n);
        if (mut(s, RC_MUT_CLOSE_STDIN_AFTER_RESULT))
            close_input(s, "first result");
    } else if (!strcmp(type, "system") || !strcmp(type, "assistant") || !strcmp(type, "user")) {
        const char *sid = wc_json_str(f, "session_id"), *sub = wc_json_str(f, "subtype");
        if (!strcmp(type, "system") && sub && !strcmp(sub, "init") && sid)
            snprintf(s->session_id, sizeof(s->session_id), "%s", sid);
        render(s, f, type);
    } else {
        wc_debug("line of type %s", type);
    }
    json_decref(f);
}

/* ---- acts -------------------------------------------------------------------------------- */

static void act_send_user(struct rc_cc *s, json_int_t id, const json_t *args)
{
    const char *text = json_is_object(args) ? wc_json_str(args, "text") : NULL;
    const char *uuid = json_is_object(args) ? wc_json_str(args, "uuid") : NULL;

    if (!text) {
        acted(s, id, false, NULL, "bad act: send_user needs a string text");
        return;
    }
    /* CC-MSG-1 */
    json_t *frame =
        json_pack("{s:s, s:{s:s, s:s}, s:n, s:s}", "type", "user", "message", "role", "user",
                  "content", text, "parent_tool_use_id", "session_id", s->session_id);
    if (uuid)
        json_object_set_new(frame, "uuid", json_string(uuid));
    acted(s, id, true, send_line(s, frame, 1), NULL);
}

static void act_answer(struct rc_cc *s, json_int_t id, const json_t *args)
{
    const char *behavior = json_is_string(args) ? json_string_value(args) : NULL;
    const char *rid = NULL, *message = NULL;
    const json_t *updated = NULL;
    const struct rc_pending *p;
    json_t *resp, *frame;

    if (json_is_object(args)) {
        behavior = wc_json_str(args, "behavior");
        rid = wc_json_str(args, "request_id");
        message = wc_json_str(args, "message");
        const char *tu = wc_json_str(args, "tool_use_id");
        if (!rid && tu) { /* the prompt of that tool call, pending or not */
            const char *k;
            json_t *v;
            rid = "";
            json_object_foreach(s->tool_use_ids, k, v)
            {
                if (json_string_value(v) && !strcmp(json_string_value(v), tu))
                    rid = k;
            }
        }
        updated = json_object_get(args, "updatedInput");
    }
    if (!behavior || (strcmp(behavior, "allow") && strcmp(behavior, "deny"))) {
        acted(s, id, false, NULL, "bad act: answer_permission needs behavior allow or deny");
        return;
    }
    p = rc_book_find(&s->book, rid);
    if (!p) { /* unknown, answered or cancelled (CC-CTL-3) */
        acted(s, id, true, "refused", "no pending permission request");
        return;
    }
    if (!strcmp(behavior, "allow"))
        resp = json_pack("{s:s, s:O}", "behavior", "allow", "updatedInput",
                         json_is_object(updated) ? updated : p->input);
    else
        resp = json_pack("{s:s, s:s}", "behavior", "deny", "message",
                         message ? message : "Denied by user");
    char *request_id = wc_xstrdup(p->request_id);
    const char *named = request_id;
    if (mut(s, RC_MUT_WRONG_REQUEST_ID))
        named = wc_json_str(s->tool_use_ids, request_id);
    frame = json_pack("{s:s, s:{s:s, s:s, s:o}}", "type", "control_response", "response", "subtype",
                      "success", "request_id", named ? named : "", "response", resp);
    /* CC-CTL-1: once (the mutant twice) */
    const char *result = send_line(s, frame, mut(s, RC_MUT_DOUBLE_ANSWER) ? 2 : 1);
    rc_book_answered(&s->book, request_id);
    free(request_id);
    acted(s, id, true, result, NULL);
}

void rc_cc_ctl_line(struct rc_cc *s, const char *line, size_t len)
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
    if (!strcmp(name, "send_user")) {
        act_send_user(s, id, args);
    } else if (!strcmp(name, "interrupt")) {
        acted(s, id, true, send_own(s, "interrupt"), NULL);
    } else if (!strcmp(name, "answer_permission")) {
        act_answer(s, id, args);
    } else if (!strcmp(name, "close")) { /* end of input: the CLI's stdin (CC-TURN-3) */
        bool was = s->input_open;
        close_input(s, "close act");
        acted(s, id, true, was ? "sent" : "dropped", NULL);
    } else if (!strcmp(name, "quit")) {
        acted(s, id, true, "sent", NULL);
        s->io.quit(s->io.ctx);
    } else {
        char *err = wc_xasprintf("unknown act %s", name);
        acted(s, id, false, NULL, err);
        free(err);
    }
    json_decref(msg);
}
