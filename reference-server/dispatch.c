/* dispatch.c: the Dispatch front-end, dialect dispatch-ws/1 (see dispatch.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "mutants.h"
#include "wc_buf.h"
#include "wc_json.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_time.h"

#include "wc_banned.h"

#define QUEUE_SURFACE "message-queue"
#define BUSY_TEXT     "a turn is already generating for this conversation"

struct dturn;

/* One provider run; it outlives its turn until the provider has ended. */
struct drun {
    struct gw_dispatch *d;
    struct dconv *conv; /* while t is set */
    struct dturn *t;    /* NULL: detached (the turn is over), events are dropped */
    struct gw_prun *p;  /* NULL until open returned */
    bool ended;
    bool released;
    struct drun *next;
};

struct dqueued {
    char *id;
    char *text;
};

struct dturn {
    char id[48];
    json_t *buffer; /* every event so far, for late joiners (R-D-SUB-2) */
    struct drun *run;
    uint64_t sender;         /* 0: a carried turn */
    int step;                /* the current step's number, 1-based */
    bool step_open;          /* the current step has begun and has no step-complete yet */
    json_t *calls;           /* the current step's tool-calls: [{toolCallId, toolName}] */
    json_t *results;         /* its tool-results held until step-complete (R-D-TURN-3) */
    struct wc_buf text;      /* its text, for history */
    struct wc_buf reasoning; /* its reasoning, for history */
    int next_call;           /* generated toolCallIds */
    int64_t started_ms;
};

struct dconv {
    char *id;
    char *workspace;
    uint64_t *subs; /* chat subscribers: persistent, outlive turns (R-D-SUB-4) */
    size_t nsubs;
    struct dturn *turn; /* the in-flight turn, or NULL */
    json_t *sealed;     /* the last turn's buffer (the dispatch-replay-after-seal mutant only) */
    struct dqueued *q;
    size_t nq;
    json_t *history; /* [{seq, role, chunk}] */
    struct dconv *next;
};

struct dsurf {
    uint64_t conn;
    char *conv; /* NULL: no conversation */
};

struct gw_dispatch {
    struct gw_core *core;
    const struct gw_provider_ops *ops;
    void *ops_self;
    char **models;
    size_t nmodels;
    int64_t (*clock_ms)(void);
    uint64_t *conns; /* open connections: the broadcast set */
    size_t nconns;
    struct dconv *convs;
    struct dsurf *surfs; /* message-queue surface subscriptions */
    size_t nsurfs;
    struct drun *runs;
    uint64_t next_msg;
};

static void start_turn(struct gw_dispatch *d, struct dconv *c, const char *text, uint64_t sender,
                       const char *model, json_t *options);

/* --- small helpers ------------------------------------------------------------------------ */

static bool in_set(const uint64_t *v, size_t n, uint64_t x)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] == x)
            return true;
    }
    return false;
}

static bool set_add(uint64_t **v, size_t *n, uint64_t x)
{
    if (in_set(*v, *n, x))
        return false;
    *v = wc_xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = x;
    return true;
}

static bool set_del(uint64_t *v, size_t *n, uint64_t x)
{
    for (size_t i = 0; i < *n; i++) {
        if (v[i] == x) {
            memmove(v + i, v + i + 1, (*n - i - 1) * sizeof(*v));
            (*n)--;
            return true;
        }
    }
    return false;
}

static struct gw_outbox *ob(struct gw_dispatch *d)
{
    return gw_core_outbox(d->core);
}

/* Queue v (taken) for conn. */
static void send_to(struct gw_dispatch *d, uint64_t conn, json_t *v)
{
    gw_outbox_send_json(ob(d), conn, v);
    json_decref(v);
}

/* Queue v (taken) for every open connection. */
static void broadcast(struct gw_dispatch *d, json_t *v)
{
    struct gw_frame *f = gw_frame_from_json(v);

    for (size_t i = 0; i < d->nconns; i++)
        gw_outbox_send(ob(d), d->conns[i], f);
    gw_frame_unref(f);
    json_decref(v);
}

static void chat_error(struct gw_dispatch *d, uint64_t conn, const char *conv, const char *msg)
{
    json_t *v = json_pack("{s:s}", "type", "chat.error");

    if (conv && !gw_mutant_on(GW_MUT_DISPATCH_ERROR_NO_CONVERSATION))
        json_object_set_new(v, "conversationId", json_string(conv));
    json_object_set_new(v, "message", json_string(msg));
    send_to(d, conn, v);
}

static void plain_error(struct gw_dispatch *d, uint64_t conn, const char *surface, const char *msg)
{
    json_t *v = json_pack("{s:s}", "type", "error");

    if (surface)
        json_object_set_new(v, "surfaceId", json_string(surface));
    json_object_set_new(v, "message", json_string(msg));
    send_to(d, conn, v);
}

static const char *nonempty_str(const json_t *o, const char *key)
{
    const char *s = wc_json_str(o, key);
    return s && *s ? s : NULL;
}

static bool blank(const char *s)
{
    for (; *s; s++) {
        if (!isspace((unsigned char)*s))
            return false;
    }
    return true;
}

/* JavaScript's String(v) for a JSON value, as the router's template literal shows it. */
static char *js_string(const json_t *v)
{
    if (json_is_string(v))
        return wc_xstrdup(json_string_value(v));
    if (json_is_object(v))
        return wc_xstrdup("[object Object]");
    if (json_is_array(v)) {
        struct wc_buf b;
        size_t i;
        json_t *e;
        wc_buf_init(&b, 0);
        json_array_foreach(v, i, e)
        {
            char *s = json_is_null(e) ? wc_xstrdup("") : js_string(e);
            if (i)
                wc_buf_adds(&b, ",");
            wc_buf_adds(&b, s);
            free(s);
        }
        return wc_buf_detach(&b, NULL);
    }
    return wc_json_compact(v); /* null, true, false, numbers */
}

static char *new_uuid(struct gw_dispatch *d)
{
    char id[40];
    wc_rand_uuid(gw_core_rand(d->core), id);
    return wc_xstrdup(id);
}

/* --- conversations ------------------------------------------------------------------------ */

static struct dconv *conv_find(struct gw_dispatch *d, const char *id)
{
    for (struct dconv *c = d->convs; c; c = c->next) {
        if (!strcmp(c->id, id))
            return c;
    }
    return NULL;
}

static struct dconv *conv_get(struct gw_dispatch *d, const char *id)
{
    struct dconv *c = conv_find(d, id);

    if (c)
        return c;
    c = wc_xcalloc(1, sizeof(*c));
    c->id = wc_xstrdup(id);
    c->workspace = wc_xstrdup("default");
    c->history = json_array();
    c->next = d->convs;
    d->convs = c;
    return c;
}

static void conv_set_workspace(struct dconv *c, const json_t *req)
{
    const char *w = nonempty_str(req, "workspaceId");
    if (w) {
        free(c->workspace);
        c->workspace = wc_xstrdup(w);
    }
}

static void status_changed(struct gw_dispatch *d, struct dconv *c, const char *status)
{
    json_t *v = json_pack("{s:s, s:s, s:s, s:s}", "type", "conversation.statusChanged",
                          "conversationId", c->id, "status", status, "workspaceId", c->workspace);

    if (gw_mutant_on(GW_MUT_DISPATCH_STATUS_SUBSCRIBERS_ONLY)) {
        struct gw_frame *f = gw_frame_from_json(v);
        for (size_t i = 0; i < c->nsubs; i++)
            gw_outbox_send(ob(d), c->subs[i], f);
        gw_frame_unref(f);
        json_decref(v);
        return;
    }
    broadcast(d, v);
}

static void persist(struct dconv *c, const char *role, json_t *chunk)
{
    json_int_t seq = (json_int_t)json_array_size(c->history) + 1;

    if (gw_mutant_on(GW_MUT_DISPATCH_HISTORY_SEQ_ZERO))
        seq--;
    json_array_append_new(c->history,
                          json_pack("{s:I, s:s, s:o}", "seq", seq, "role", role, "chunk", chunk));
}

/* The queued texts joined by a blank line (R-D-QUEUE-4), and the queue emptied. */
static char *take_queue(struct dconv *c)
{
    struct wc_buf b;
    const char *sep = gw_mutant_on(GW_MUT_DISPATCH_CARRY_JOIN) ? "\n" : "\n\n";

    wc_buf_init(&b, 0);
    for (size_t i = 0; i < c->nq; i++) {
        if (i)
            wc_buf_adds(&b, sep);
        wc_buf_adds(&b, c->q[i].text);
        free(c->q[i].id);
        free(c->q[i].text);
    }
    free(c->q);
    c->q = NULL;
    c->nq = 0;
    return wc_buf_detach(&b, NULL);
}

/* --- the message-queue surface ------------------------------------------------------------ */

static json_t *surface_spec(struct gw_dispatch *d, const char *conv)
{
    struct dconv *c = conv ? conv_find(d, conv) : NULL;
    json_t *fields = json_array();

    for (size_t i = 0; c && i < c->nq; i++)
        json_array_append_new(fields, json_pack("{s:s, s:s, s:s}", "id", c->q[i].id, "type",
                                                "queued-message", "text", c->q[i].text));
    return json_pack("{s:s, s:s, s:s, s:o}", "id", QUEUE_SURFACE, "region", "conversation", "title",
                     "Message queue", "fields", fields);
}

static void surface_changed(struct gw_dispatch *d, struct dconv *c)
{
    for (size_t i = 0; i < d->nsurfs; i++) {
        if (!d->surfs[i].conv || strcmp(d->surfs[i].conv, c->id))
            continue;
        send_to(d, d->surfs[i].conn,
                json_pack("{s:s, s:{s:s, s:o, s:s}}", "type", "update", "update", "surfaceId",
                          QUEUE_SURFACE, "spec", surface_spec(d, c->id), "conversationId", c->id));
    }
}

static bool surf_same(const struct dsurf *s, uint64_t conn, const char *conv)
{
    return s->conn == conn && ((!s->conv && !conv) || (s->conv && conv && !strcmp(s->conv, conv)));
}

/* --- chat subscriptions and the turn's events --------------------------------------------- */

static void deliver(struct gw_dispatch *d, uint64_t conn, json_t *ev)
{
    send_to(d, conn, json_pack("{s:s, s:O}", "type", "chat.delta", "event", ev));
}

/* R-D-SUB-1/2: subscribe conn to c; a new subscriber gets the in-flight turn's buffer. */
static void chat_subscribe(struct gw_dispatch *d, struct dconv *c, uint64_t conn)
{
    const json_t *replay;
    size_t i;
    json_t *ev;

    if (!set_add(&c->subs, &c->nsubs, conn)) {
        if (!gw_mutant_on(GW_MUT_DISPATCH_RESUBSCRIBE_DUPLICATES))
            return;
        /* the mutant: a second listener for the same connection */
        c->subs = wc_xrealloc(c->subs, (c->nsubs + 1) * sizeof(*c->subs));
        c->subs[c->nsubs++] = conn;
    }
    replay = c->turn ? c->turn->buffer : NULL;
    if (!replay && gw_mutant_on(GW_MUT_DISPATCH_REPLAY_AFTER_SEAL))
        replay = c->sealed;
    if (gw_mutant_on(GW_MUT_DISPATCH_NO_REPLAY))
        replay = NULL;
    json_array_foreach(replay, i, ev) deliver(d, conn, ev);
}

/* Emit ev (taken) in c's turn: conversationId and turnId added, buffered, fanned out. */
static void emit(struct gw_dispatch *d, struct dconv *c, json_t *ev)
{
    struct dturn *t = c->turn;
    json_t *frame;
    struct gw_frame *f;
    bool text = !strcmp(wc_json_str(ev, "type") ? wc_json_str(ev, "type") : "", "text-delta");

    json_object_set_new(ev, "conversationId", json_string(c->id));
    json_object_set_new(ev, "turnId", json_string(t->id));
    json_array_append(t->buffer, ev);
    frame = json_pack("{s:s, s:o}", "type", "chat.delta", "event", ev);
    f = gw_frame_from_json(frame);
    for (size_t i = 0; i < c->nsubs; i++) {
        if (text && i > 0 && gw_mutant_on(GW_MUT_DISPATCH_FANOUT_DROPS))
            break;
        gw_outbox_send(ob(d), c->subs[i], f);
    }
    gw_frame_unref(f);
    json_decref(frame);
}

static json_t *event(const char *type)
{
    return json_pack("{s:s}", "type", type);
}

static const char *step_id(struct dturn *t, char *buf, size_t n)
{
    snprintf(buf, n, "%s-s%d", t->id, t->step);
    return buf;
}

/* Open a step if none is open (a new step after a closed one). */
static void step_begin(struct dturn *t)
{
    if (t->step_open)
        return;
    t->step++;
    t->step_open = true;
    json_array_clear(t->calls);
    json_array_clear(t->results);
    wc_buf_reset(&t->text);
    wc_buf_reset(&t->reasoning);
}

static void persist_step(struct dconv *c, struct dturn *t, bool with_calls)
{
    size_t i;
    json_t *call;

    if (t->reasoning.len)
        persist(c, "assistant",
                json_pack("{s:s, s:s%}", "type", "reasoning", "text", t->reasoning.buf,
                          t->reasoning.len));
    if (t->text.len) {
        persist(c, "assistant",
                json_pack("{s:s, s:s%}", "type", "text", "text", t->text.buf, t->text.len));
        if (gw_mutant_on(GW_MUT_DISPATCH_HISTORY_STEP_TWICE))
            persist(c, "assistant",
                    json_pack("{s:s, s:s%}", "type", "text", "text", t->text.buf, t->text.len));
    }
    json_array_foreach(with_calls ? t->calls : NULL, i, call) persist(
        c, "assistant",
        json_pack("{s:s, s:O, s:O, s:O}", "type", "tool-call", "toolCallId",
                  json_object_get(call, "toolCallId"), "toolName",
                  json_object_get(call, "toolName"), "input", json_object_get(call, "input")));
}

static void emit_result(struct gw_dispatch *d, struct dconv *c, json_t *res)
{
    persist(c, "tool",
            json_pack("{s:s, s:O, s:O, s:O, s:O}", "type", "tool-result", "toolCallId",
                      json_object_get(res, "toolCallId"), "toolName",
                      json_object_get(res, "toolName"), "content", json_object_get(res, "content"),
                      "isError", json_object_get(res, "isError")));
    emit(d, c, json_incref(res));
}

/* End the open step: step-complete, its held tool-results in call order, then steering. */
static void step_end(struct gw_dispatch *d, struct dconv *c)
{
    struct dturn *t = c->turn;
    char sid[80];
    size_t i, j, nres;
    json_t *call, *res;

    if (!t->step_open)
        return;
    t->step_open = false;
    persist_step(c, t, true);
    emit(d, c,
         json_pack("{s:s, s:s}", "type", "step-complete", "stepId", step_id(t, sid, sizeof(sid))));
    nres = json_array_size(t->results);
    json_array_foreach(t->calls, i, call)
    {
        json_array_foreach(t->results, j, res)
        {
            if (json_equal(json_object_get(res, "toolCallId"), json_object_get(call, "toolCallId")))
                emit_result(d, c, res);
        }
    }
    json_array_clear(t->results);
    /* R-D-QUEUE-4: a tool-result boundary drains the queue as one steering event */
    if (nres && c->nq) {
        char *text = take_queue(c);
        persist(c, "user", json_pack("{s:s, s:s}", "type", "text", "text", text));
        emit(d, c, json_pack("{s:s, s:s}", "type", "steering", "text", text));
        free(text);
        surface_changed(d, c);
    }
}

/* Free t but its buffer (the caller keeps or drops that). */
static void turn_free(struct dturn *t)
{
    json_decref(t->calls);
    json_decref(t->results);
    wc_buf_release(&t->text);
    wc_buf_release(&t->reasoning);
    free(t);
}

enum end_how { END_DONE, END_ABORTED, END_ORCH };

/* The turn's terminal. reason: done's reason (END_DONE); message: the orchestrator error's. */
static void turn_end(struct gw_dispatch *d, struct dconv *c, enum end_how how, const char *reason,
                     const char *message)
{
    struct dturn *t = c->turn;
    struct drun *r = t->run;
    char *carry = NULL;

    if (how == END_ORCH) {
        emit(d, c, json_pack("{s:s, s:s}", "type", "error", "message", message));
        if (gw_mutant_on(GW_MUT_DISPATCH_ORCH_ERROR_SEALS)) {
            emit(d, c, json_pack("{s:s, s:s}", "type", "done", "reason", "error"));
            emit(d, c, event("turn-sealed"));
        }
    } else {
        json_t *done = json_pack("{s:s, s:s, s:I}", "type", "done", "reason",
                                 how == END_ABORTED ? "aborted" : reason, "durationMs",
                                 (json_int_t)(d->clock_ms() - t->started_ms));
        if (how == END_ABORTED) {
            /* partial text stays; the aborted step's tool calls are dropped (others.md A.8) */
            if (t->step_open)
                persist_step(c, t, false);
        } else {
            step_end(d, c);
        }
        if (gw_mutant_on(GW_MUT_DISPATCH_SEAL_BEFORE_DONE)) {
            emit(d, c, event("turn-sealed"));
            emit(d, c, done);
        } else {
            emit(d, c, done);
            if (!(how == END_ABORTED && gw_mutant_on(GW_MUT_DISPATCH_CLOSE_NO_SEAL)))
                emit(d, c, event("turn-sealed"));
        }
    }
    /* the buffer goes with the turn (R-D-SUB-3) */
    json_decref(c->sealed);
    c->sealed = t->buffer;
    c->turn = NULL;
    if (r) {
        r->t = NULL;
        r->conv = NULL;
        /* an abort, an orchestrator error or a provider error stops the provider; after a
         * normal complete its remaining steps run out unheard */
        if (!r->ended && r->p && (how != END_DONE || strcmp(reason, "stop")))
            d->ops->abort(r->p);
    }
    turn_free(t);
    if (how == END_ABORTED) {
        free(take_queue(c)); /* nothing is carried after an abort */
        surface_changed(d, c);
        return;
    }
    if (how == END_DONE && c->nq) {
        /* R-D-QUEUE-4: the post-seal carry, at once */
        carry = take_queue(c);
        surface_changed(d, c);
        start_turn(d, c, carry, 0, NULL, NULL);
        free(carry);
        return;
    }
    status_changed(d, c, "idle");
}

/* --- the provider sink -------------------------------------------------------------------- */

static const char *first_str(const json_t *ev, const char *a, const char *b, const char *dflt)
{
    const char *s = wc_json_str(ev, a);
    if (!s && b)
        s = wc_json_str(ev, b);
    return s ? s : dflt;
}

/* The provider's events, by kind (chatgw/1's normalized name, then the AgentEvent's own). */

static void ev_text(struct gw_dispatch *d, struct dconv *c, struct dturn *t, json_t *ev)
{
    const char *s = first_str(ev, "delta", "content", "");

    step_begin(t);
    wc_buf_adds(&t->text, s);
    emit(d, c, json_pack("{s:s, s:s}", "type", "text-delta", "delta", s));
}

static void ev_reasoning(struct gw_dispatch *d, struct dconv *c, struct dturn *t, json_t *ev)
{
    const char *s = first_str(ev, "delta", "content", "");

    step_begin(t);
    wc_buf_adds(&t->reasoning, s);
    emit(d, c, json_pack("{s:s, s:s}", "type", "reasoning-delta", "delta", s));
}

static void ev_tool_call(struct gw_dispatch *d, struct dconv *c, struct dturn *t, json_t *ev)
{
    char gen[32], sid[80];
    const char *id, *name = first_str(ev, "toolName", "name", "tool");
    json_t *input = json_object_get(ev, "input");

    snprintf(gen, sizeof(gen), "call-%d", ++t->next_call);
    id = first_str(ev, "toolCallId", "toolId", gen);
    step_begin(t);
    json_array_append_new(t->calls, json_pack("{s:s, s:s, s:O}", "toolCallId", id, "toolName", name,
                                              "input", input ? input : json_null()));
    emit(d, c,
         json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", "tool-call", "stepId",
                   step_id(t, sid, sizeof(sid)), "toolCallId", id, "toolName", name, "input",
                   input ? json_incref(input) : json_object()));
}

/* R-D-TURN-3: a result is held until its step's step-complete (step_end sends it). */
static void ev_tool_result(struct gw_dispatch *d, struct dconv *c, struct dturn *t, json_t *ev)
{
    char sid[80];
    const char *id = first_str(ev, "toolCallId", "toolId", "");
    const char *name = first_str(ev, "toolName", "name", NULL);
    json_t *content = json_object_get(ev, "content"), *res, *call;
    size_t i;

    step_begin(t);
    json_array_foreach(t->calls, i, call)
    {
        if (!name && !strcmp(wc_json_str(call, "toolCallId"), id))
            name = wc_json_str(call, "toolName");
    }
    res =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "type", "tool-result", "stepId",
                  step_id(t, sid, sizeof(sid)), "toolCallId", id, "toolName", name ? name : "tool",
                  "content", content ? json_incref(content) : json_string(""), "isError",
                  wc_json_bool(ev, "isError", false));
    if (json_object_get(ev, "durationMs"))
        json_object_set(res, "durationMs", json_object_get(ev, "durationMs"));
    if (gw_mutant_on(GW_MUT_DISPATCH_TOOL_RESULT_EARLY))
        emit_result(d, c, res);
    else
        json_array_append(t->results, res);
    json_decref(res);
}

static void ev_tool_output(struct gw_dispatch *d, struct dconv *c, struct dturn *t, json_t *ev)
{
    step_begin(t);
    emit(d, c,
         json_pack("{s:s, s:s, s:s, s:s}", "type", "tool-output", "toolCallId",
                   first_str(ev, "toolCallId", NULL, ""), "data",
                   first_str(ev, "data", "content", ""), "stream",
                   first_str(ev, "stream", NULL, "stdout")));
}

static void ev_usage(struct gw_dispatch *d, struct dconv *c, struct dturn *t, json_t *ev)
{
    char sid[80];
    json_t *u = json_object_get(ev, "usage");

    step_begin(t);
    emit(d, c,
         json_pack("{s:s, s:s, s:O}", "type", "usage", "stepId", step_id(t, sid, sizeof(sid)),
                   "usage", json_is_object(u) ? u : json_object()));
}

static void ev_retry(struct gw_dispatch *d, struct dconv *c, struct dturn *t, json_t *ev)
{
    json_t *v = json_deep_copy(ev);

    (void)t;
    json_object_del(v, "kind");
    json_object_del(v, "sessionId");
    json_object_set_new(v, "type", json_string("provider-retry"));
    emit(d, c, v);
}

static void ev_step_end(struct gw_dispatch *d, struct dconv *c, struct dturn *t, json_t *ev)
{
    (void)ev;
    step_begin(t); /* an empty step is still a step */
    step_end(d, c);
}

/* The dispatch-error-terminal mutant: the turn just stops after its error. */
static void error_alone(struct gw_dispatch *d, struct dconv *c, struct dturn *t)
{
    struct drun *r = t->run;

    c->turn = NULL;
    r->t = NULL;
    r->conv = NULL;
    json_decref(c->sealed);
    c->sealed = t->buffer;
    turn_free(t);
    if (!r->ended && r->p)
        d->ops->abort(r->p);
    status_changed(d, c, "idle");
}

/* R-D-TURN-4: a provider error inside a step is not terminal. */
static void ev_error(struct gw_dispatch *d, struct dconv *c, struct dturn *t, json_t *ev)
{
    step_begin(t);
    emit(d, c,
         json_pack("{s:s, s:s}", "type", "error", "message",
                   first_str(ev, "message", "content", "provider error")));
    if (gw_mutant_on(GW_MUT_DISPATCH_ERROR_TERMINAL))
        error_alone(d, c, t);
    else
        turn_end(d, c, END_DONE, "error", NULL);
}

static void ev_orch_error(struct gw_dispatch *d, struct dconv *c, struct dturn *t, json_t *ev)
{
    (void)t;
    turn_end(d, c, END_ORCH, NULL, first_str(ev, "message", "content", "orchestrator error"));
}

static void ev_complete(struct gw_dispatch *d, struct dconv *c, struct dturn *t, json_t *ev)
{
    int64_t code = 0;
    const char *reason = wc_json_str(ev, "reason");

    wc_json_int(ev, "exitCode", &code);
    if (!t->step_open && t->step == 0)
        step_begin(t); /* a turn has at least one step */
    turn_end(d, c, END_DONE, reason ? reason : code ? "error" : "stop", NULL);
}

static const struct {
    const char *kind, *alias;
    void (*fn)(struct gw_dispatch *d, struct dconv *c, struct dturn *t, json_t *ev);
} event_kinds[] = {
    {"stream_delta", "text-delta", ev_text},
    {"thinking", "reasoning-delta", ev_reasoning},
    {"tool_use", "tool-call", ev_tool_call},
    {"tool_result", "tool-result", ev_tool_result},
    {"tool-output", NULL, ev_tool_output},
    {"usage", NULL, ev_usage},
    {"provider-retry", NULL, ev_retry},
    {"step_end", "step-complete", ev_step_end},
    {"error", NULL, ev_error},
    {"orchestrator-error", NULL, ev_orch_error},
    {"complete", NULL, ev_complete},
};

static void on_event(void *ctx, json_t *ev)
{
    struct drun *r = ctx;
    const char *kind = first_str(ev, "kind", "type", "");

    /* everything else (session_created, status, ...) is the provider's own business, and so is
     * anything after the turn's terminal */
    for (size_t i = 0; r->t && i < sizeof(event_kinds) / sizeof(event_kinds[0]); i++) {
        if (!strcmp(kind, event_kinds[i].kind) ||
            (event_kinds[i].alias && !strcmp(kind, event_kinds[i].alias))) {
            event_kinds[i].fn(r->d, r->conv, r->t, ev);
            break;
        }
    }
    json_decref(ev);
}

static void on_announce(void *ctx, const char *native_id)
{
    (void)ctx;
    (void)native_id;
}

static void on_permission(void *ctx, const char *tool_name, json_t *input, int64_t timeout_ms)
{
    struct drun *r = ctx;
    (void)tool_name;
    (void)input;
    (void)timeout_ms;
    /* Dispatch has no permission round trip on this transport: allowed */
    if (r->p)
        r->d->ops->permission(r->p, "dispatch-auto", true, false, NULL);
}

static void on_ended(void *ctx, int exit_code)
{
    struct drun *r = ctx;

    r->ended = true;
    if (r->t) {
        /* the provider ended without a terminal: an error inside its step (R-D-TURN-4) */
        struct dconv *c = r->conv;
        char msg[64];
        snprintf(msg, sizeof(msg), "provider exited with code %d", exit_code);
        step_begin(r->t);
        emit(r->d, c, json_pack("{s:s, s:s}", "type", "error", "message", msg));
        turn_end(r->d, c, END_DONE, "error", NULL);
    }
}

static const struct gw_provider_sink sink = {on_event, on_announce, on_permission, on_ended};

/* Release the provider runs that have ended and whose turn is over. */
static void reap_runs(struct gw_dispatch *d)
{
    struct drun **pp = &d->runs;

    while (*pp) {
        struct drun *r = *pp;
        if (r->ended && !r->t) {
            *pp = r->next;
            if (r->p)
                d->ops->release(r->p);
            free(r);
        } else {
            pp = &r->next;
        }
    }
}

/* --- turns -------------------------------------------------------------------------------- */

static bool model_known(struct gw_dispatch *d, const char *model)
{
    for (size_t i = 0; i < d->nmodels; i++) {
        if (!strcmp(d->models[i], model))
            return true;
    }
    return false;
}

/* Start a turn of c (idle) for text. sender: the connection that asked (0: carried). */
static void start_turn(struct gw_dispatch *d, struct dconv *c, const char *text, uint64_t sender,
                       const char *model, json_t *options)
{
    struct dturn *t = wc_xcalloc(1, sizeof(*t));
    struct drun *r;
    struct gw_provider_args a;
    char *id = new_uuid(d), *err = NULL;

    snprintf(t->id, sizeof(t->id), "%s", id);
    free(id);
    t->buffer = json_array();
    t->calls = json_array();
    t->results = json_array();
    wc_buf_init(&t->text, 0);
    wc_buf_init(&t->reasoning, 0);
    t->sender = sender;
    t->started_ms = d->clock_ms();
    c->turn = t;
    json_decref(c->sealed);
    c->sealed = NULL;
    if (gw_mutant_on(GW_MUT_DISPATCH_TURN_LISTENERS)) {
        /* Wave-1: the listener set is the new per-turn record's; only the sender is in it */
        c->nsubs = 0;
        if (sender)
            set_add(&c->subs, &c->nsubs, sender);
    }
    status_changed(d, c, "active");
    persist(c, "user", json_pack("{s:s, s:s}", "type", "text", "text", text));
    if (gw_mutant_on(GW_MUT_DISPATCH_TURN_START_FIRST)) {
        emit(d, c, event("turn-start"));
        emit(d, c, json_pack("{s:s, s:s}", "type", "user-message", "text", text));
    } else {
        emit(d, c, json_pack("{s:s, s:s}", "type", "user-message", "text", text));
    }
    if (model && !model_known(d, model)) {
        char *msg = wc_xasprintf("unknown model: %s", model);
        turn_end(d, c, END_ORCH, NULL, msg); /* R-D-TURN-5: before the kernel's turn-start */
        free(msg);
        return;
    }
    if (!gw_mutant_on(GW_MUT_DISPATCH_TURN_START_FIRST))
        emit(d, c, event("turn-start"));
    t->step = 1;
    t->step_open = true;
    r = wc_xcalloc(1, sizeof(*r));
    r->d = d;
    r->conv = c;
    r->t = t;
    t->run = r;
    r->next = d->runs;
    d->runs = r;
    memset(&a, 0, sizeof(a));
    a.provider = "claude";
    a.app_session_id = c->id;
    a.prompt = text;
    a.cwd = options && wc_json_str(options, "cwd") ? wc_json_str(options, "cwd") : "";
    a.options = options;
    r->p = d->ops->open(d->ops_self, &a, &sink, r, &err);
    if (!r->p) {
        r->ended = true;
        emit(d, c, json_pack("{s:s, s:s}", "type", "error", "message", err ? err : "provider"));
        free(err);
        turn_end(d, c, END_DONE, "error", NULL);
        return;
    }
    d->ops->start(r->p);
}

/* Abort c's turn, if any, as POST close does (R-D-CLOSE-2). True when there was one. */
static bool abort_turn(struct gw_dispatch *d, struct dconv *c)
{
    if (!c || !c->turn)
        return false;
    turn_end(d, c, END_ABORTED, NULL, NULL);
    return true;
}

/* --- inbound frames ----------------------------------------------------------------------- */

static json_t *send_options(const json_t *req)
{
    static const char *const keys[] = {"model",       "cwd",    "computerId", "reasoningEffort",
                                       "workspaceId", "images", NULL};
    json_t *o = json_object();

    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(req, keys[i]);
        if (v)
            json_object_set(o, keys[i], v);
    }
    return o;
}

static void on_chat_send(struct gw_dispatch *d, uint64_t conn, json_t *req)
{
    static const char *const efforts[] = {"low", "medium", "high", "xhigh", "max", NULL};
    const char *conv_id = wc_json_str(req, "conversationId");
    const char *msg = wc_json_str(req, "message");
    json_t *effort = json_object_get(req, "reasoningEffort");
    json_t *images = json_object_get(req, "images");
    char *id;
    struct dconv *c;

    if (!msg || !*msg || (gw_mutant_on(GW_MUT_DISPATCH_MESSAGE_TRIMMED) && blank(msg))) {
        chat_error(d, conn, conv_id, "chat.send requires a non-empty string `message`");
        return;
    }
    if (effort && !gw_mutant_on(GW_MUT_DISPATCH_EFFORT_UNCHECKED)) {
        bool ok = false;
        for (size_t i = 0; json_is_string(effort) && efforts[i]; i++)
            ok = ok || !strcmp(json_string_value(effort), efforts[i]);
        if (!ok) {
            char *v = js_string(effort);
            char *m = wc_xasprintf("chat.send: invalid reasoningEffort \"%s\" \xe2\x80\x94 must "
                                   "be one of: low, medium, high, xhigh, max",
                                   v);
            chat_error(d, conn, conv_id, m);
            free(m);
            free(v);
            return;
        }
    }
    if (images && !gw_mutant_on(GW_MUT_DISPATCH_IMAGES_UNCHECKED)) {
        size_t i;
        json_t *im;
        if (!json_is_array(images)) {
            chat_error(d, conn, conv_id, "chat.send: 'images' must be an array");
            return;
        }
        json_array_foreach(images, i, im)
        {
            if (!json_is_object(im) || !nonempty_str(im, "url")) {
                chat_error(d, conn, conv_id,
                           "chat.send: each image must have a non-empty string 'url'");
                return;
            }
        }
    }
    id = conv_id ? wc_xstrdup(conv_id) : new_uuid(d);
    c = conv_get(d, id);
    free(id);
    conv_set_workspace(c, req);
    if (c->turn) {
        /* R-D-SEND-6: the sender is subscribed (and replayed to) before the busy answer */
        if (gw_mutant_on(GW_MUT_DISPATCH_BUSY_BEFORE_REPLAY)) {
            chat_error(d, conn, c->id, BUSY_TEXT);
            chat_subscribe(d, c, conn);
        } else {
            chat_subscribe(d, c, conn);
            chat_error(d, conn, c->id, BUSY_TEXT);
        }
        return;
    }
    if (!gw_mutant_on(GW_MUT_DISPATCH_NO_AUTO_SUBSCRIBE))
        chat_subscribe(d, c, conn);
    {
        json_t *o = send_options(req);
        start_turn(d, c, msg, conn, wc_json_str(req, "model"), o);
        json_decref(o);
    }
}

static void on_chat_subscribe(struct gw_dispatch *d, uint64_t conn, json_t *req, bool sub)
{
    const char *id = nonempty_str(req, "conversationId");
    struct dconv *c;

    if (!id) {
        chat_error(d, conn, NULL,
                   sub ? "chat.subscribe requires a non-empty string `conversationId`"
                       : "chat.unsubscribe requires a non-empty string `conversationId`");
        return;
    }
    if (!sub) {
        c = conv_find(d, id);
        if (c && !gw_mutant_on(GW_MUT_DISPATCH_UNSUBSCRIBE_IGNORED)) {
            while (set_del(c->subs, &c->nsubs, conn))
                ;
        }
        return;
    }
    if (!conv_find(d, id) && gw_mutant_on(GW_MUT_DISPATCH_UNKNOWN_CONVERSATION_ERROR)) {
        chat_error(d, conn, id, "unknown conversation");
        return;
    }
    c = conv_get(d, id);
    chat_subscribe(d, c, conn);
}

static void on_chat_queue(struct gw_dispatch *d, uint64_t conn, json_t *req)
{
    const char *text = wc_json_str(req, "text");
    const char *id = wc_json_str(req, "conversationId");
    struct dconv *c;
    char mid[32];

    if (!text || (gw_mutant_on(GW_MUT_DISPATCH_QUEUE_UNTRIMMED) ? !*text : blank(text))) {
        chat_error(d, conn, id, "chat.queue requires a non-empty string `text`");
        return;
    }
    if (!id || !*id) {
        chat_error(d, conn, NULL, "chat.queue requires a non-empty string `conversationId`");
        return;
    }
    c = conv_get(d, id);
    conv_set_workspace(c, req);
    if (!c->turn) {
        /* R-D-QUEUE-3: an idle conversation starts a turn, and the sender is subscribed */
        if (!gw_mutant_on(GW_MUT_DISPATCH_QUEUE_IDLE_NO_SUBSCRIBE))
            chat_subscribe(d, c, conn);
        start_turn(d, c, text, conn, NULL, NULL);
        return;
    }
    snprintf(mid, sizeof(mid), "msg-%llu", (unsigned long long)++d->next_msg);
    c->q = wc_xrealloc(c->q, (c->nq + 1) * sizeof(*c->q));
    c->q[c->nq].id = wc_xstrdup(mid);
    c->q[c->nq].text = wc_xstrdup(text);
    c->nq++;
    surface_changed(d, c);
}

static void on_chat_queue_cancel(struct gw_dispatch *d, uint64_t conn, json_t *req)
{
    const char *id = nonempty_str(req, "conversationId");
    const char *mid = nonempty_str(req, "messageId");
    const char *raw = wc_json_str(req, "conversationId");
    struct dconv *c;

    if (gw_mutant_on(GW_MUT_DISPATCH_CANCEL_ORDER) && !mid) {
        chat_error(d, conn, raw, "chat.queue.cancel requires a non-empty string `messageId`");
        return;
    }
    if (!id) {
        chat_error(d, conn, raw, "chat.queue.cancel requires a non-empty string `conversationId`");
        return;
    }
    if (!mid) {
        chat_error(d, conn, id, "chat.queue.cancel requires a non-empty string `messageId`");
        return;
    }
    c = conv_find(d, id);
    for (size_t i = 0; c && i < c->nq && !gw_mutant_on(GW_MUT_DISPATCH_CANCEL_IGNORED); i++) {
        if (!strcmp(c->q[i].id, mid)) {
            free(c->q[i].id);
            free(c->q[i].text);
            memmove(c->q + i, c->q + i + 1, (c->nq - i - 1) * sizeof(*c->q));
            c->nq--;
            surface_changed(d, c);
            break;
        }
    }
}

static void on_surface(struct gw_dispatch *d, uint64_t conn, json_t *req, const char *type)
{
    json_t *sv = json_object_get(req, "surfaceId");
    const char *sid = json_string_value(sv);
    const char *conv = wc_json_str(req, "conversationId");

    if (!sid || strcmp(sid, QUEUE_SURFACE)) {
        char *shown = sv ? js_string(sv) : wc_xstrdup("undefined");
        char *m = wc_xasprintf("Unknown surface: %s", shown);
        if (strcmp(type, "unsubscribe") && !gw_mutant_on(GW_MUT_DISPATCH_UNKNOWN_SURFACE_SILENT))
            plain_error(d, conn, sid, m);
        free(m);
        free(shown);
        return;
    }
    if (!strcmp(type, "subscribe")) {
        json_t *v;
        bool have = false;
        for (size_t i = 0; i < d->nsurfs; i++)
            have = have || surf_same(&d->surfs[i], conn, conv);
        if (!have) {
            d->surfs = wc_xrealloc(d->surfs, (d->nsurfs + 1) * sizeof(*d->surfs));
            d->surfs[d->nsurfs].conn = conn;
            d->surfs[d->nsurfs].conv = conv ? wc_xstrdup(conv) : NULL;
            d->nsurfs++;
        }
        v = json_pack("{s:s, s:o}", "type", "surface", "spec", surface_spec(d, conv));
        if (conv)
            json_object_set_new(v, "conversationId", json_string(conv));
        send_to(d, conn, v);
    } else if (!strcmp(type, "unsubscribe")) {
        for (size_t i = 0; i < d->nsurfs; i++) {
            if (surf_same(&d->surfs[i], conn, conv)) {
                free(d->surfs[i].conv);
                d->surfs[i] = d->surfs[--d->nsurfs];
                break;
            }
        }
    } else if (!strcmp(type, "invoke")) {
        /* action "cancel" {messageId}: the surface's own way to cancel a queued message */
        const char *action = wc_json_str(req, "actionId");
        json_t *payload = json_object_get(req, "payload");
        if (action && !strcmp(action, "cancel") && conv && wc_json_str(payload, "messageId")) {
            json_t *r = json_pack("{s:s, s:s}", "conversationId", conv, "messageId",
                                  wc_json_str(payload, "messageId"));
            on_chat_queue_cancel(d, conn, r);
            json_decref(r);
        }
    }
}

void gw_dispatch_frame(struct gw_dispatch *d, uint64_t conn, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    const char *type;

    if (!req) {
        /* R-D-IN-1 */
        if (!gw_mutant_on(GW_MUT_DISPATCH_INVALID_JSON_SILENT))
            plain_error(d, conn, NULL, "Invalid JSON");
        return;
    }
    type = wc_json_str(req, "type");
    if (!json_is_object(req) || !type) {
        /* R-D-IN-2 (SHOULD; Dispatch sends nothing) */
        plain_error(d, conn, NULL, "Invalid message");
    } else if (!strcmp(type, "chat.send")) {
        on_chat_send(d, conn, req);
    } else if (!strcmp(type, "chat.subscribe")) {
        on_chat_subscribe(d, conn, req, true);
    } else if (!strcmp(type, "chat.unsubscribe")) {
        on_chat_subscribe(d, conn, req, false);
    } else if (!strcmp(type, "chat.queue")) {
        on_chat_queue(d, conn, req);
    } else if (!strcmp(type, "chat.queue.cancel")) {
        on_chat_queue_cancel(d, conn, req);
    } else if (!strcmp(type, "subscribe") || !strcmp(type, "unsubscribe") ||
               !strcmp(type, "invoke")) {
        on_surface(d, conn, req, type);
    } else if (gw_mutant_on(GW_MUT_DISPATCH_BAD_TYPE_CLOSES)) {
        gw_outbox_close(ob(d), conn, 1003);
    } else {
        char *m = wc_xasprintf("Unknown message type: %s", type);
        plain_error(d, conn, NULL, m);
        free(m);
    }
    json_decref(req);
    reap_runs(d);
    gw_core_flush(d->core);
}

void gw_dispatch_after_input(struct gw_dispatch *d)
{
    reap_runs(d);
    gw_core_flush(d->core);
}

/* --- connections -------------------------------------------------------------------------- */

void gw_dispatch_conn_open(struct gw_dispatch *d, uint64_t conn)
{
    set_add(&d->conns, &d->nconns, conn);
    if (gw_mutant_on(GW_MUT_DISPATCH_NO_CATALOG))
        return;
    send_to(d, conn,
            json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "type", "catalog", "catalog", "id",
                      QUEUE_SURFACE, "region", "conversation", "title", "Message queue"));
}

void gw_dispatch_conn_close(struct gw_dispatch *d, uint64_t conn)
{
    set_del(d->conns, &d->nconns, conn);
    for (size_t i = 0; i < d->nsurfs;) {
        if (d->surfs[i].conn == conn) {
            free(d->surfs[i].conv);
            d->surfs[i] = d->surfs[--d->nsurfs];
        } else {
            i++;
        }
    }
    for (struct dconv *c = d->convs; c; c = c->next) {
        while (set_del(c->subs, &c->nsubs, conn))
            ;
        /* R-D-CLOSE-1: nothing else. The mutant is the old per-connection AbortController. */
        if (c->turn && c->turn->sender == conn && gw_mutant_on(GW_MUT_DISPATCH_ABORT_ON_CLOSE))
            abort_turn(d, c);
    }
    reap_runs(d);
}

/* --- HTTP --------------------------------------------------------------------------------- */

int gw_dispatch_is_api_path(const char *path)
{
    return path && !strncmp(path, "/conversations/", 15);
}

static bool parse_count(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!s || !*s)
        return false;
    v = strtoll(s, &end, 10);
    if (*end || v < 0)
        return false;
    *out = v;
    return true;
}

/* True when s is UTF-8 that a JSON string can hold (jansson's own check). */
static bool utf8_ok(const char *s)
{
    json_t *v = json_string(s);

    json_decref(v);
    return v != NULL;
}

static int http_json(json_t *v, const char **ctype, char **body, int status)
{
    *ctype = "application/json";
    *body = wc_json_compact(v);
    json_decref(v);
    return status;
}

int gw_dispatch_http(struct gw_dispatch *d, const struct gw_dispatch_http_req *req,
                     const char **ctype, char **body)
{
    const char *rest, *slash;
    char *id;
    struct dconv *c;
    int status;

    if (!gw_dispatch_is_api_path(req->path)) {
        /* R-D-WS-2 */
        *ctype = "text/plain";
        *body = wc_xstrdup("expected websocket");
        return gw_mutant_on(GW_MUT_DISPATCH_HTTP_200) ? 200 : 426;
    }
    rest = req->path + 15;
    slash = strchr(rest, '/');
    id = slash ? wc_xstrndup(rest, (size_t)(slash - rest)) : wc_xstrdup(rest);
    if (!*id) {
        free(id);
        return http_json(json_pack("{s:s}", "error", "not found"), ctype, body, 404);
    }
    if (!utf8_ok(id)) {
        /* a path byte string that no conversation id (a JSON string) can be: POST close would
         * make a conversation whose status broadcasts cannot be encoded (fuzz/corpus/dispatch/
         * close-path-not-utf8) */
        free(id);
        return http_json(json_pack("{s:s}", "error", "conversation id is not UTF-8"), ctype, body,
                         400);
    }
    c = conv_find(d, id);
    if (slash && !strcmp(slash, "/close") && !strcmp(req->method, "POST")) {
        bool aborted;
        c = conv_get(d, id);
        aborted = abort_turn(d, c);
        status_changed(d, c, "closed");
        reap_runs(d);
        gw_core_flush(d->core);
        status = http_json(json_pack("{s:b}", "abortedTurn", aborted), ctype, body, 200);
    } else if (!slash && !strcmp(req->method, "GET")) {
        int64_t since = 0, before = INT64_MAX, limit = INT64_MAX, latest;
        json_t *chunks = json_array(), *ch;
        size_t i, first = 0;
        if ((req->since_seq && !parse_count(req->since_seq, &since)) ||
            (req->before_seq && !parse_count(req->before_seq, &before)) ||
            (req->limit && !parse_count(req->limit, &limit))) {
            json_decref(chunks);
            free(id);
            return http_json(json_pack("{s:s}", "error", "bad query"), ctype, body, 400);
        }
        json_array_foreach(c ? c->history : NULL, i, ch)
        {
            int64_t seq = json_integer_value(json_object_get(ch, "seq"));
            if (seq > since && seq < before)
                json_array_append(chunks, ch);
        }
        /* the newest `limit` of a beforeSeq backfill, the oldest of a forward page */
        if ((int64_t)json_array_size(chunks) > limit) {
            json_t *page = json_array();
            if (req->before_seq)
                first = json_array_size(chunks) - (size_t)limit;
            for (i = first; i < first + (size_t)limit; i++)
                json_array_append(page, json_array_get(chunks, i));
            json_decref(chunks);
            chunks = page;
        }
        latest = json_array_size(chunks)
                     ? json_integer_value(json_object_get(
                           json_array_get(chunks, json_array_size(chunks) - 1), "seq"))
                     : since;
        status =
            http_json(json_pack("{s:o, s:I}", "chunks", chunks, "latestSeq", (json_int_t)latest),
                      ctype, body, 200);
    } else {
        status = http_json(json_pack("{s:s}", "error", "not found"), ctype, body, 404);
    }
    free(id);
    return status;
}

/* --- lifecycle ---------------------------------------------------------------------------- */

struct gw_dispatch *gw_dispatch_new(const struct gw_dispatch_opts *o)
{
    struct gw_dispatch *d = wc_xcalloc(1, sizeof(*d));
    char *list = wc_xstrdup(o->models ? o->models : "mock"), *save = NULL;

    d->core = o->core;
    d->ops = o->provider;
    d->ops_self = o->provider_self;
    d->clock_ms = o->clock_ms ? o->clock_ms : wc_now_ms;
    for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        d->models = wc_xrealloc(d->models, (d->nmodels + 1) * sizeof(*d->models));
        d->models[d->nmodels++] = wc_xstrdup(m);
    }
    free(list);
    return d;
}

void gw_dispatch_free(struct gw_dispatch *d)
{
    struct dconv *c, *cn;
    struct drun *r, *rn;

    if (!d)
        return;
    for (r = d->runs; r; r = rn) {
        rn = r->next;
        r->t = NULL;
        if (r->p)
            d->ops->release(r->p);
        free(r);
    }
    for (c = d->convs; c; c = cn) {
        cn = c->next;
        if (c->turn) {
            json_decref(c->turn->buffer);
            turn_free(c->turn);
        }
        for (size_t i = 0; i < c->nq; i++) {
            free(c->q[i].id);
            free(c->q[i].text);
        }
        free(c->q);
        json_decref(c->sealed);
        json_decref(c->history);
        free(c->subs);
        free(c->workspace);
        free(c->id);
        free(c);
    }
    for (size_t i = 0; i < d->nsurfs; i++)
        free(d->surfs[i].conv);
    free(d->surfs);
    for (size_t i = 0; i < d->nmodels; i++)
        free(d->models[i]);
    free(d->models);
    free(d->conns);
    free(d);
}
