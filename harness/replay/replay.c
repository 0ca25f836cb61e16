/* replay.c: transcript -> model -> case, the conforming simulation, YAML, ddmin (see replay.h). */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "replay/replay.h"
#include "check/invariant.h"
#include "model/match.h"
#include "replay/record.h"
#include "wc_buf.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

struct hn_replay_model {
    json_t *sessions;   /* array of {label, id, provider} */
    json_t *runs;       /* array of {label, session, conn} */
    json_t *items;      /* array of items (see build) */
    json_t *received;   /* object conn -> array of frames the connection received */
    json_t *violations; /* array of requirement ids from the invariant checkers, in order */
    json_t *notes;      /* array of strings */
};

/* Kinds a gateway makes itself; never a provider event. */
static const char *const gateway_kinds[] = {
    "chat_subscribed",   "protocol_error",   "session_upserted",    "chat_ack",
    "history_truncated", "loading_progress", "permission_resolved", NULL};
/* Kinds the default `ignore` of a case skips. */
static const char *const ignored_kinds[] = {"session_upserted", "loading_progress", NULL};
/* Fields a gateway adds to a provider event; not part of the provider's script. */
static const char *const gateway_fields[] = {"id",        "seq",      "timestamp",
                                             "sessionId", "provider", NULL};
static const char *const known_types[] = {"chat.send", "chat.abort", "chat.subscribe",
                                          "chat.permission-response", NULL};

static bool in_set(const char *s, const char *const *set)
{
    for (size_t i = 0; s && set[i]; i++) {
        if (!strcmp(s, set[i]))
            return true;
    }
    return false;
}

static void add_unique(json_t *arr, const char *s)
{
    size_t i;
    json_t *e;
    if (!s)
        return;
    json_array_foreach(arr, i, e)
    {
        if (!strcmp(json_string_value(e), s))
            return;
    }
    json_array_append_new(arr, json_string(s));
}

/* ---- building the model ---------------------------------------------------------------- */

struct build {
    struct hn_replay_model *m;
    json_t *sess_by_id; /* app id -> label */
    json_t *current;    /* session label -> run label (the newest chat.send) */
    json_t *announced;  /* run label -> true */
    json_t *abort_wait; /* session label -> number of aborts waiting for their complete */
    json_t *seen;       /* event identity -> true */
    json_t *conn_run;   /* conn -> newest run label it sent */
    json_t *closed;     /* conn -> true */
};

static const char *session_label(struct build *b, const char *id, const char *provider)
{
    json_t *l;
    if (!id || !strncmp(id, "gwspec-sentinel-", 16) || !strncmp(id, "gwspec-sync-", 12))
        return NULL;
    l = json_object_get(b->sess_by_id, id);
    if (!l) {
        char *name = wc_xasprintf("s%zu", json_array_size(b->m->sessions) + 1);
        json_array_append_new(b->m->sessions,
                              json_pack("{s:s, s:s, s:s}", "label", name, "id", id, "provider",
                                        in_set(provider, hn_provider_names) ? provider : ""));
        json_object_set_new(b->sess_by_id, id, json_string(name));
        free(name);
        l = json_object_get(b->sess_by_id, id);
    }
    return json_string_value(l);
}

static json_t *session_obj(const struct hn_replay_model *m, const char *label)
{
    size_t i;
    json_t *s;
    json_array_foreach(m->sessions, i, s)
    {
        if (!strcmp(wc_json_str(s, "label"), label))
            return s;
    }
    return NULL;
}

/* A copy of a client frame with every known session id replaced by "$sN". */
static json_t *template_frame(struct build *b, const json_t *frame)
{
    json_t *c = json_deep_copy(frame);
    const char *k;
    json_t *v;

    if (json_is_object(c)) {
        json_object_foreach(c, k, v)
        {
            if (!strcmp(k, "sessionId") && json_is_string(v)) {
                json_t *l = json_object_get(b->sess_by_id, json_string_value(v));
                if (l) {
                    char *var = wc_xasprintf("$%s", json_string_value(l));
                    json_object_set_new(c, k, json_string(var));
                    free(var);
                }
            } else if (json_is_object(v) || json_is_array(v)) {
                json_t *t = template_frame(b, v);
                json_object_set_new(c, k, t);
            }
        }
    } else if (json_is_array(c)) {
        size_t i;
        json_array_foreach(c, i, v) json_array_set_new(c, i, template_frame(b, v));
    }
    return c;
}

static void add_item(struct build *b, json_t *item)
{
    json_object_set_new(item, "i", json_integer((json_int_t)json_array_size(b->m->items)));
    json_array_append_new(b->m->items, item);
}

static void note(struct build *b, const char *fmt, const char *arg)
{
    char *s = wc_xasprintf(fmt, arg ? arg : "");
    add_unique(b->m->notes, s);
    free(s);
}

static void on_send(struct build *b, const json_t *rec, const char *conn)
{
    const json_t *frame = json_object_get(rec, "frame");
    const char *type = wc_json_str(frame, "type");

    if (wc_json_bool(rec, "sentinel", false) || (frame && hn_frame_is_sentinel(frame)))
        return;
    if (!frame || (!json_is_object(frame) && !json_is_array(frame) && !json_is_string(frame) &&
                   !json_is_number(frame) && !json_is_boolean(frame) && !json_is_null(frame))) {
        json_t *it = json_pack("{s:s, s:s, s:b}", "k", "raw", "conn", conn, "binary",
                               wc_json_bool(rec, "binary", false));
        if (wc_json_str(rec, "text"))
            json_object_set_new(it, "text", json_string(wc_json_str(rec, "text")));
        else if (wc_json_str(rec, "hex"))
            json_object_set_new(it, "hex", json_string(wc_json_str(rec, "hex")));
        else
            json_object_set_new(it, "text", json_string(""));
        add_item(b, it);
        return;
    }
    if (wc_json_bool(rec, "binary", false) || !json_is_object(frame)) {
        /* a binary frame or a JSON value that is not an object: resend its text */
        char *text = json_dumps(frame, JSON_COMPACT | JSON_ENCODE_ANY);
        add_item(b, json_pack("{s:s, s:s, s:s, s:b}", "k", "raw", "conn", conn, "text",
                              text ? text : "", "binary", wc_json_bool(rec, "binary", false)));
        free(text);
        return;
    }
    const char *sid = wc_json_str(frame, "sessionId");
    if (type && (!strcmp(type, "chat.send") || !strcmp(type, "chat.abort")) && sid)
        session_label(b, sid, NULL);
    if (type && !strcmp(type, "chat.subscribe")) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(frame, "sessions"), i, e)
            session_label(b, wc_json_str(e, "sessionId"), NULL);
    }
    json_t *tf = template_frame(b, frame);
    json_t *it = json_pack("{s:s, s:s, s:o}", "k", "send", "conn", conn, "frame", tf);
    const char *sl = sid ? json_string_value(json_object_get(b->sess_by_id, sid)) : NULL;
    if (sl)
        json_object_set_new(it, "session", json_string(sl));
    if (type && !strcmp(type, "chat.send") && sl) {
        char *run = wc_xasprintf("r%zu", json_array_size(b->m->runs) + 1);
        char *var = wc_xasprintf("$script.%s", run);
        json_object_set_new(tf, "content", json_string(var));
        json_object_set_new(it, "run", json_string(run));
        json_array_append_new(
            b->m->runs, json_pack("{s:s, s:s, s:s}", "label", run, "session", sl, "conn", conn));
        json_object_set_new(b->current, sl, json_string(run));
        json_object_set_new(b->conn_run, conn, json_string(run));
        free(var);
        free(run);
    } else if (type && !strcmp(type, "chat.abort") && sl) {
        json_t *n = json_object_get(b->abort_wait, sl);
        json_object_set_new(b->abort_wait, sl, json_integer(n ? json_integer_value(n) + 1 : 1));
    }
    add_item(b, it);
}

static void add_event(struct build *b, const char *run, json_t *step)
{
    const char *name = json_object_iter_key(json_object_iter(step));
    if (strcmp(name, "announce") && strcmp(name, "session_created") &&
        !json_object_get(b->announced, run)) {
        add_item(b, json_pack("{s:s, s:s, s:{s:s}}", "k", "event", "run", run, "step", "announce",
                              "auto"));
        json_object_set_new(b->announced, run, json_true());
    }
    if (!strcmp(name, "announce"))
        json_object_set_new(b->announced, run, json_true());
    add_item(b, json_pack("{s:s, s:s, s:o}", "k", "event", "run", run, "step", step));
}

static void on_recv(struct build *b, const json_t *rec, const char *conn)
{
    const json_t *frame = json_object_get(rec, "frame");
    const char *kind = wc_json_str(frame, "kind");
    const char *sid = wc_json_str(frame, "sessionId");

    if (wc_json_bool(rec, "sentinel", false) || (frame && hn_frame_is_sentinel(frame)))
        return;
    /* what the connection received, for the findings */
    if (!kind || !in_set(kind, ignored_kinds)) {
        json_t *arr = json_object_get(b->m->received, conn);
        if (!arr) {
            arr = json_array();
            json_object_set_new(b->m->received, conn, arr);
        }
        json_array_append_new(arr, frame ? json_deep_copy(frame) : json_null());
    }
    if (!json_is_object(frame) || !kind)
        return;
    const char *sl = sid ? json_string_value(json_object_get(b->sess_by_id, sid)) : NULL;
    if (!strcmp(kind, "session_upserted")) {
        /* the provider announced its native id */
        const char *run = sl ? json_string_value(json_object_get(b->current, sl)) : NULL;
        if (run && wc_json_str(frame, "providerSessionId") && !json_object_get(b->announced, run))
            add_event(b, run, json_pack("{s:s}", "announce", "auto"));
        return;
    }
    if (in_set(kind, gateway_kinds))
        return;
    if (!strncmp(kind, "permission", 10)) {
        note(b, "permission requests are not replayed (%s)", kind);
        return;
    }
    /* a run event: one copy of each (replays and fan-out send copies with the same id) */
    const char *id = wc_json_str(frame, "id");
    char *key = id ? wc_xstrdup(id) : wc_json_canon(frame);
    if (json_object_get(b->seen, key)) {
        free(key);
        return;
    }
    json_object_set_new(b->seen, key, json_true());
    free(key);
    const char *run = NULL;
    if (sl) {
        run = json_string_value(json_object_get(b->current, sl));
    } else {
        /* a session id the client never used (a leaked native id): the receiver's run */
        run = json_string_value(json_object_get(b->conn_run, conn));
        if (run) {
            size_t i;
            json_t *r;
            json_array_foreach(b->m->runs, i, r)
            {
                if (!strcmp(wc_json_str(r, "label"), run))
                    sl = wc_json_str(r, "session");
            }
        }
    }
    if (!run || !sl)
        return;
    json_t *so = session_obj(b->m, sl);
    if (so && !*wc_json_str(so, "provider") &&
        in_set(wc_json_str(frame, "provider"), hn_provider_names))
        json_object_set_new(so, "provider", json_string(wc_json_str(frame, "provider")));
    if (!strcmp(kind, "complete")) {
        json_t *n = json_object_get(b->abort_wait, sl);
        if (wc_json_bool(frame, "aborted", false) && n && json_integer_value(n) > 0) {
            /* the gateway's answer to chat.abort, not the provider's */
            json_object_set_new(b->abort_wait, sl, json_integer(json_integer_value(n) - 1));
            return;
        }
        int64_t code = 0;
        wc_json_int(frame, "exitCode", &code);
        add_event(b, run, json_pack("{s:I}", "complete", (json_int_t)code));
        return;
    }
    if (!strcmp(kind, "session_created")) {
        add_event(b, run, json_pack("{s:s}", "session_created", "auto"));
        return;
    }
    json_t *ev = json_deep_copy(frame);
    for (size_t i = 0; gateway_fields[i]; i++)
        json_object_del(ev, gateway_fields[i]);
    add_event(b, run, json_pack("{s:o}", "emit", ev));
}

struct hn_replay_model *hn_replay_model_build(const struct hn_transcript *t,
                                              const struct hn_msgcat *catalog)
{
    struct hn_replay_model *m = wc_xcalloc(1, sizeof(*m));
    struct build b = {.m = m,
                      .sess_by_id = json_object(),
                      .current = json_object(),
                      .announced = json_object(),
                      .abort_wait = json_object(),
                      .seen = json_object(),
                      .conn_run = json_object(),
                      .closed = json_object()};
    size_t i;
    json_t *rec;

    m->sessions = json_array();
    m->runs = json_array();
    m->items = json_array();
    m->received = json_object();
    m->violations = json_array();
    m->notes = json_array();

    json_array_foreach(hn_transcript_records(t), i, rec)
    {
        const char *type = wc_json_str(rec, "t"), *conn = wc_json_str(rec, "conn");
        if (!type)
            continue;
        if (!strcmp(type, "http")) {
            const char *path = wc_json_str(rec, "path"), *method = wc_json_str(rec, "method");
            json_t *data = json_object_get(json_object_get(rec, "body"), "data");
            int64_t st = 0;
            wc_json_int(rec, "status", &st);
            if (method && path && !strcmp(method, "POST") &&
                !strncmp(path, "/api/providers/sessions", 23) && st >= 200 && st < 300 &&
                wc_json_str(data, "sessionId")) {
                const char *prov = wc_json_str(json_object_get(rec, "request"), "provider");
                session_label(&b, wc_json_str(data, "sessionId"),
                              prov ? prov : wc_json_str(data, "provider"));
            } else if (method && path) {
                note(&b, "REST calls other than session creation are not replayed (%s)", path);
            }
        } else if (!strcmp(type, "session")) {
            session_label(&b, wc_json_str(rec, "sessionId"), wc_json_str(rec, "provider"));
        } else if (!conn) {
            continue;
        } else if (!strcmp(type, "open")) {
            add_item(&b, json_pack("{s:s, s:s}", "k", "connect", "conn", conn));
        } else if (!strcmp(type, "reject")) {
            note(&b, "refused upgrades are not replayed (%s)", conn);
        } else if (!strcmp(type, "send") && !json_object_get(b.closed, conn)) {
            on_send(&b, rec, conn);
        } else if (!strcmp(type, "recv")) {
            on_recv(&b, rec, conn);
        } else if (!strcmp(type, "close") && !json_object_get(b.closed, conn)) {
            const char *by = wc_json_str(rec, "by");
            const char *side = wc_json_str(rec, "side");
            int64_t code = 1000;
            wc_json_int(rec, "code", &code);
            json_object_set_new(b.closed, conn, json_true());
            if (!strcmp(by, "client"))
                add_item(&b, json_pack("{s:s, s:s, s:I}", "k", "disconnect", "conn", conn, "code",
                                       (json_int_t)code));
            else if (!strcmp(by, "drop") && (!side || !strcmp(side, "client")))
                add_item(&b, json_pack("{s:s, s:s}", "k", "drop", "conn", conn));
            else
                note(&b, "closes by the server are not replayed (%s)", conn);
        }
    }
    json_t *inv = hn_invariants_run(t, catalog);
    json_t *v;
    json_array_foreach(json_object_get(inv, "violations"), i, v)
        add_unique(m->violations, wc_json_str(v, "requirement"));
    json_decref(inv);
    json_decref(b.sess_by_id);
    json_decref(b.current);
    json_decref(b.announced);
    json_decref(b.abort_wait);
    json_decref(b.seen);
    json_decref(b.conn_run);
    json_decref(b.closed);
    return m;
}

void hn_replay_model_free(struct hn_replay_model *m)
{
    if (!m)
        return;
    json_decref(m->sessions);
    json_decref(m->runs);
    json_decref(m->items);
    json_decref(m->received);
    json_decref(m->violations);
    json_decref(m->notes);
    free(m);
}

size_t hn_replay_items(const struct hn_replay_model *m)
{
    return json_array_size(m->items);
}

const json_t *hn_replay_item_list(const struct hn_replay_model *m)
{
    return m->items;
}

const json_t *hn_replay_notes(const struct hn_replay_model *m)
{
    return m->notes;
}

/* ---- rendering: the conforming simulation ----------------------------------------------- */

struct rrun {
    const char *label, *session, *sender;
    int sess;     /* index into sessions */
    bool started; /* its chat.send was accepted */
    bool live;    /* the conforming gateway still runs it */
    bool aborted; /* ended by an abort (its provider is stopped unless it ignores) */
    bool announced;
    bool provider_over; /* provider_done was waited for, or it is known stopped */
    bool probed;        /* it got the late-end probe (on_abort: ignore) */
    int seq;
    int last_item; /* index of its last kept event item, -1 none */
    int nbar;
    char held[24];    /* the barrier it is held at now, "" none */
    json_t *events;   /* patterns of its events, for replays */
    json_t *attached; /* connections attached */
    json_t *script;
};

struct rsess {
    const char *label;
    int current; /* run index of the conforming gateway's current run, -1 none */
};

struct rctx {
    const struct hn_replay_model *m;
    const bool *keep;
    const struct hn_replay_opts *o;
    const char *primary;
    json_t *steps;
    struct rrun *runs;
    size_t nruns;
    struct rsess *sess;
    size_t nsess;
    json_t *connected;    /* conn -> true */
    json_t *pending;      /* conn -> [ {pat, req, stream} ] */
    json_t *expected_all; /* conn -> [ {pat, req} ], the whole conforming stream */
    json_t *used;         /* requirement ids used by steps */
    int sync_n;
    bool dirty; /* something may have reached a client since the last flush */
    bool async; /* deliveries now may come after the answer to a later frame */
};

static int run_index(const struct rctx *x, const char *label)
{
    for (size_t i = 0; i < x->nruns; i++) {
        if (label && !strcmp(x->runs[i].label, label))
            return (int)i;
    }
    return -1;
}

static int sess_index(const struct rctx *x, const char *label)
{
    for (size_t i = 0; i < x->nsess; i++) {
        if (label && !strcmp(x->sess[i].label, label))
            return (int)i;
    }
    return -1;
}

static void step(struct rctx *x, json_t *s)
{
    json_array_append_new(x->steps, s);
}

static void step_req(struct rctx *x, json_t *s, const char *req)
{
    if (req) {
        json_object_set_new(s, "requirement", json_string(req));
        add_unique(x->used, req);
    }
    step(x, s);
}

static char *var(const char *label)
{
    return wc_xasprintf("$%s", label);
}

static void deliver(struct rctx *x, const char *conn, json_t *pat, const char *req,
                    const char *stream)
{
    if (!json_object_get(x->connected, conn)) {
        json_decref(pat);
        return;
    }
    json_t *p = json_object_get(x->pending, conn), *a = json_object_get(x->expected_all, conn);
    if (!p) {
        p = json_array();
        json_object_set_new(x->pending, conn, p);
    }
    if (!a) {
        a = json_array();
        json_object_set_new(x->expected_all, conn, a);
    }
    json_array_append_new(a, json_pack("{s:O, s:s}", "pat", pat, "req", req));
    json_array_append_new(p, json_pack("{s:o, s:s, s:s, s:b}", "pat", pat, "req", req, "stream",
                                       stream, "async", x->async));
}

/* A run event reaches every attached connection. */
static void deliver_run(struct rctx *x, struct rrun *r, json_t *pat, const char *req)
{
    size_t i;
    json_t *c;
    json_array_foreach(r->attached, i, c)
    {
        const char *conn = json_string_value(c);
        const char *rq = req;
        if (!strcmp(req, "R-FWD-1") && json_array_size(r->attached) > 1)
            rq = "R-FAN-1";
        deliver(x, conn, json_deep_copy(pat), rq, r->label);
    }
    json_decref(pat);
}

/*
 * The expectations of one client at a sync point: its pending frames, then the sync ack.
 * Frames of one stream (a run, or "resp") keep their order. Frames of several streams form a
 * group (each run in order, runs in any order) before the ack. An ASYNC frame (the complete of an
 * abort: the gateway stops the provider first, cloudcli-notes.md §4.2 awaits runtime.abort) may
 * also come after the ack, which answers a frame sent after the abort: a gateway whose handlers are
 * async (cloudcli-notes.md §4) answers the subscribe at once. Then the ack joins the group, after
 * every frame that is not async, and the group is charged to the async frame's requirement.
 */
static void expect_pending(struct rctx *x, const char *cn, const json_t *p, const char *sync_id,
                           const char *tag)
{
    json_t *streams = json_array(), *e;
    const char *async_req = NULL;
    size_t k;

    json_array_foreach(p, k, e)
    {
        add_unique(streams, wc_json_str(e, "stream"));
        if (!async_req && wc_json_bool(e, "async", false))
            async_req = wc_json_str(e, "req");
    }
    json_t *ack = json_pack("{s:s, s:s}", "kind", "chat_subscribed", "sessionId", sync_id);
    if (json_array_size(streams) <= 1 && !async_req) {
        json_array_foreach(p, k, e)
            step_req(x, json_pack("{s:{s:O}}", "expect", cn, json_object_get(e, "pat")),
                     wc_json_str(e, "req"));
    } else {
        /* frames of several runs: each run in order, runs in any order */
        json_t *items = json_array(), *last = json_object(), *before_ack = json_array();
        json_array_foreach(p, k, e)
        {
            char *as = wc_xasprintf("%s_%zu", cn, k + 1);
            json_t *it = json_pack("{s:O, s:s}", cn, json_object_get(e, "pat"), "as", as);
            json_t *prev = json_object_get(last, wc_json_str(e, "stream"));
            if (prev)
                json_object_set_new(it, "after", json_pack("[O]", prev));
            json_object_set_new(last, wc_json_str(e, "stream"), json_string(as));
            json_array_append_new(items, it);
            if (!wc_json_bool(e, "async", false))
                json_array_append_new(before_ack, json_string(as));
            add_unique(x->used, wc_json_str(e, "req"));
            free(as);
        }
        if (async_req) {
            char *as = wc_xasprintf("%s_sync", cn);
            json_t *it = json_pack("{s:O, s:s}", cn, ack, "as", as);
            if (json_array_size(before_ack))
                json_object_set(it, "after", before_ack);
            json_array_append_new(items, it);
            if (tag)
                add_unique(x->used, tag);
            free(as);
        }
        step_req(x, json_pack("{s:o}", "group", items), async_req ? async_req : x->primary);
        json_decref(last);
        json_decref(before_ack);
    }
    if (!async_req)
        step_req(x, json_pack("{s:{s:O}}", "expect", cn, ack), tag);
    json_decref(ack);
    json_decref(streams);
}

/* Sentinel-bounded expectations on every open client: exactly the pending frames. */
static void flush(struct rctx *x, const char *first, const char *tag)
{
    const char *conn;
    json_t *v;
    json_t *order = json_array();

    if (first && json_object_get(x->connected, first))
        json_array_append_new(order, json_string(first));
    json_object_foreach(x->connected, conn, v)
    {
        if (!first || strcmp(conn, first))
            json_array_append_new(order, json_string(conn));
    }
    size_t i;
    json_t *c;
    json_t *ids = json_array();
    json_array_foreach(order, i, c)
    {
        char *id = wc_xasprintf("gwspec-sync-%d", ++x->sync_n);
        step(x, json_pack("{s:{s:{s:s, s:[{s:s}]}}}", "send", json_string_value(c), "type",
                          "chat.subscribe", "sessions", "sessionId", id));
        json_array_append_new(ids, json_string(id));
        free(id);
    }
    json_array_foreach(order, i, c)
    {
        const char *cn = json_string_value(c);
        expect_pending(x, cn, json_object_get(x->pending, cn),
                       json_string_value(json_array_get(ids, i)), tag);
        json_object_del(x->pending, cn);
    }
    json_decref(ids);
    json_decref(order);
    x->dirty = false;
}

static bool kept(const struct rctx *x, size_t i)
{
    return !x->keep || x->keep[i];
}

/* A conforming complete for a provider that ended without one. */
static void provider_ended(struct rctx *x, struct rrun *r)
{
    if (!r->live)
        return;
    r->seq++;
    json_t *pat = json_pack("{s:s, s:i, s:s}", "kind", "complete", "seq", r->seq, "sessionId", "");
    char *v = var(r->session);
    json_object_set_new(pat, "sessionId", json_string(v));
    free(v);
    deliver_run(x, r, pat, "R-TERM-4");
    r->live = false;
    x->sess[r->sess].current = -1;
}

static void wait_done(struct rctx *x, struct rrun *r)
{
    if (r->provider_over || !r->started)
        return;
    if (r->aborted && !r->probed)
        /* an accepted abort stops the provider, announced or not */
        step_req(x, json_pack("{s:{s:s}}", "provider_done", r->label, "aborted"), "R-ABORT-4");
    else
        step(x, json_pack("{s:s}", "provider_done", r->label));
    r->provider_over = true;
    provider_ended(x, r);
}

/* Hold every running provider before a client action (pos = the action's item index). */
static void sync_point(struct rctx *x, size_t pos)
{
    for (size_t i = 0; i < x->nruns; i++) {
        struct rrun *r = &x->runs[i];
        if (!r->started || r->provider_over || r->held[0])
            continue;
        bool more = r->last_item > (int)pos;
        if (r->aborted) {
            /* stopped by the abort (or ignoring it): no more holds, waited at the end */
            continue;
        }
        if (more || r->live) {
            snprintf(r->held, sizeof(r->held), "b%d", ++r->nbar);
            json_array_append_new(r->script, json_pack("{s:s}", "barrier", r->held));
            step(x, json_pack("{s:{s:s}}", "reached", r->label, r->held));
        } else {
            wait_done(x, r);
        }
    }
}

static void release_all(struct rctx *x)
{
    for (size_t i = 0; i < x->nruns; i++) {
        struct rrun *r = &x->runs[i];
        if (r->held[0]) {
            step(x, json_pack("{s:{s:s}}", "release", r->label, r->held));
            r->held[0] = '\0';
        }
    }
}

static int64_t norm_lastseq(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) < 0 ? 0 : json_integer_value(v);
    if (json_is_real(v))
        return json_real_value(v) < 0 ? 0 : (int64_t)floor(json_real_value(v));
    return 0;
}

static void do_subscribe(struct rctx *x, const char *conn, const json_t *frame)
{
    json_t *arr = json_object_get(frame, "sessions"), *e;
    size_t i;

    if (!json_is_array(arr)) {
        deliver(x, conn, json_pack("{s:s}", "kind", "protocol_error"), "R-IN-1", "resp");
        return;
    }
    json_array_foreach(arr, i, e)
    {
        const char *sid = wc_json_str(e, "sessionId");
        if (!sid)
            continue;
        int si = sid[0] == '$' ? sess_index(x, sid + 1) : -1;
        if (si < 0) {
            deliver(x, conn, json_pack("{s:s, s:s}", "kind", "chat_subscribed", "sessionId", sid),
                    "R-SUB-1", "resp");
            continue;
        }
        struct rsess *s = &x->sess[si];
        struct rrun *r = s->current >= 0 ? &x->runs[s->current] : NULL;
        if (!r || !r->live) {
            deliver(x, conn,
                    json_pack("{s:s, s:s, s:b}", "kind", "chat_subscribed", "sessionId", sid,
                              "isProcessing", 0),
                    "R-SUB-1", "resp");
            continue;
        }
        int64_t last = norm_lastseq(json_object_get(e, "lastSeq"));
        bool stale = last > r->seq;
        if (stale)
            last = 0;
        deliver(x, conn,
                json_pack("{s:s, s:s, s:b, s:i}", "kind", "chat_subscribed", "sessionId", sid,
                          "isProcessing", 1, "lastSeq", r->seq),
                "R-SUB-1", r->label);
        size_t k;
        json_t *ev;
        json_array_foreach(r->events, k, ev)
        {
            int64_t seq = 0;
            wc_json_int(ev, "seq", &seq);
            if (seq > last)
                deliver(x, conn, json_deep_copy(ev), stale ? "R-SUB-7" : "R-SUB-3", r->label);
        }
        bool att = false;
        json_t *c;
        json_array_foreach(r->attached, k, c) att = att || !strcmp(json_string_value(c), conn);
        if (!att)
            json_array_append_new(r->attached, json_string(conn));
    }
}

static void do_action(struct rctx *x, const json_t *it)
{
    const char *k = wc_json_str(it, "k"), *conn = wc_json_str(it, "conn");

    if (!strcmp(k, "connect")) {
        step(x, json_pack("{s:s}", "connect", conn));
        json_object_set_new(x->connected, conn, json_true());
        return;
    }
    if (!strcmp(k, "disconnect") || !strcmp(k, "drop")) {
        int64_t code = 1000;
        wc_json_int(it, "code", &code);
        if (!strcmp(k, "drop"))
            step(x, json_pack("{s:{s:s, s:b}}", "disconnect", "client", conn, "drop", 1));
        else if (code == 1000 || code < 1000 || code == 1005 || code == 1006)
            step(x, json_pack("{s:s}", "disconnect", conn));
        else
            step(x, json_pack("{s:{s:s, s:I}}", "disconnect", "client", conn, "code",
                              (json_int_t)code));
        json_object_del(x->connected, conn);
        for (size_t i = 0; i < x->nruns; i++) {
            json_t *a = x->runs[i].attached, *c;
            size_t j;
            json_array_foreach(a, j, c)
            {
                if (!strcmp(json_string_value(c), conn)) {
                    json_array_remove(a, j);
                    break;
                }
            }
        }
        return;
    }
    if (!strcmp(k, "raw")) {
        json_t *s = json_pack("{s:s}", "client", conn);
        if (wc_json_str(it, "hex"))
            json_object_set_new(s, "hex", json_string(wc_json_str(it, "hex")));
        else
            json_object_set_new(s, "text", json_string(wc_json_str(it, "text")));
        if (wc_json_bool(it, "binary", false))
            json_object_set_new(s, "binary", json_true());
        step(x, json_pack("{s:o}", "send_raw", s));
        deliver(x, conn, json_pack("{s:s}", "kind", "protocol_error"), "R-IN-1", "resp");
        return;
    }
    /* send */
    const json_t *frame = json_object_get(it, "frame");
    const char *type = wc_json_str(frame, "type");
    step(x, json_pack("{s:{s:O}}", "send", conn, frame));
    if (!type || !in_set(type, known_types)) {
        deliver(x, conn,
                json_pack("{s:s, s:s}", "kind", "protocol_error", "code", "UNKNOWN_MESSAGE_TYPE"),
                "R-IN-2", "resp");
        return;
    }
    int si = sess_index(x, wc_json_str(it, "session"));
    if (!strcmp(type, "chat.send")) {
        int ri = run_index(x, wc_json_str(it, "run"));
        if (si < 0 || ri < 0) {
            deliver(x, conn, json_pack("{s:s}", "kind", "protocol_error"), "R-IN-1", "resp");
            return;
        }
        struct rsess *s = &x->sess[si];
        if (s->current >= 0 && x->runs[s->current].live) {
            deliver(x, conn,
                    json_pack("{s:s, s:s}", "kind", "protocol_error", "code", "SESSION_BUSY"),
                    "R-BUSY-1", "resp");
            return;
        }
        struct rrun *r = &x->runs[ri];
        r->started = r->live = true;
        r->sender = conn;
        json_array_append_new(r->attached, json_string(conn));
        s->current = ri;
    } else if (!strcmp(type, "chat.abort")) {
        struct rrun *r = si >= 0 && x->sess[si].current >= 0 ? &x->runs[x->sess[si].current] : NULL;
        if (!r || !r->live) {
            deliver(x, conn,
                    json_pack("{s:s, s:s}", "kind", "protocol_error", "code", "NO_ACTIVE_RUN"),
                    "R-ABORT-3", "resp");
            return;
        }
        r->seq++;
        json_t *pat = json_pack("{s:s, s:b, s:b, s:i}", "kind", "complete", "aborted", 1, "success",
                                0, "seq", r->seq);
        char *v = var(r->session);
        json_object_set_new(pat, "sessionId", json_string(v));
        free(v);
        x->async =
            true; /* it waits for the provider to stop: a later frame may be answered first */
        deliver_run(x, r, pat, "R-ABORT-1");
        x->async = false;
        r->live = false;
        r->aborted = true;
    } else if (!strcmp(type, "chat.subscribe")) {
        do_subscribe(x, conn, frame);
    }
}

/* The late end of an aborted run r, released while the newer run nr is held. */
static void probe(struct rctx *x, struct rrun *r, struct rrun *nr, size_t pos)
{
    r->probed = true;
    json_array_append_new(r->script, json_pack("{s:s}", "barrier", "late"));
    if (!nr->held[0]) {
        snprintf(nr->held, sizeof(nr->held), "b%d", ++nr->nbar);
        json_array_append_new(nr->script, json_pack("{s:s}", "barrier", nr->held));
        step(x, json_pack("{s:{s:s}}", "reached", nr->label, nr->held));
    }
    step(x, json_pack("{s:s}", "note",
                      "the aborted run's provider ends only now, while the newer run is held: "
                      "nothing may reach the clients"));
    step(x, json_pack("{s:{s:s}}", "reached", r->label, "late"));
    step(x, json_pack("{s:{s:s}}", "release", r->label, "late"));
    step(x, json_pack("{s:s}", "provider_done", r->label));
    r->provider_over = true;
    flush(x, NULL, "R-ABORT-2");
    (void)pos;
}

static void do_event(struct rctx *x, const json_t *it, size_t pos)
{
    int ri = run_index(x, wc_json_str(it, "run"));
    if (ri < 0)
        return;
    struct rrun *r = &x->runs[ri];
    if (!r->started)
        return;
    if (r->aborted && r->provider_over)
        return;
    const json_t *st = json_object_get(it, "step");
    const char *name = json_object_iter_key(json_object_iter((json_t *)st));

    /* the newer run's last event: first let aborted older runs of the session end late */
    if (r->last_item == (int)pos) {
        for (size_t i = 0; i < x->nruns; i++) {
            struct rrun *o = &x->runs[i];
            if ((int)i != ri && o->started && o->aborted && !o->probed && !o->provider_over &&
                !strcmp(o->session, r->session) && i < (size_t)ri)
                probe(x, o, r, pos);
        }
        release_all(x);
    }
    if (!strcmp(name, "announce")) {
        if (r->announced)
            return;
        r->announced = true;
    } else if (!r->announced && strcmp(name, "session_created")) {
        json_array_append_new(r->script, json_pack("{s:s}", "announce", "auto"));
        r->announced = true;
    }
    json_array_append_new(r->script, json_deep_copy(st));
    if (!r->live || r->aborted)
        return;
    char *v = var(r->session);
    if (!strcmp(name, "emit")) {
        json_t *pat = json_deep_copy(json_object_get(st, "emit"));
        r->seq++;
        json_object_set_new(pat, "seq", json_integer(r->seq));
        json_object_set_new(pat, "sessionId", json_string(v));
        json_array_append(r->events, pat);
        deliver_run(x, r, pat, "R-FWD-1");
    } else if (!strcmp(name, "complete")) {
        int64_t code = json_integer_value(json_object_get(st, "complete"));
        r->seq++;
        deliver_run(x, r,
                    json_pack("{s:s, s:I, s:b, s:b, s:i, s:s}", "kind", "complete", "exitCode",
                              (json_int_t)code, "success", code == 0, "aborted", 0, "seq", r->seq,
                              "sessionId", v),
                    "R-TERM-1");
        r->live = false;
        x->sess[r->sess].current = ri;
    }
    free(v);
}

/* The generated description. */
static char *describe(const struct rctx *x)
{
    struct wc_buf b;
    wc_buf_init(&b, 0);
    wc_buf_addf(&b, "Replayed by gwspec replay from %s. ",
                x->o->source ? x->o->source : "a transcript");
    wc_buf_addf(&b, "The client's frames are the steps; each chat.send's run events became a "
                    "provider script; the expectations are what a conforming gateway sends. ");
    if (x->primary)
        wc_buf_addf(&b, "The recording breaks %s.", x->primary);
    return wc_buf_detach(&b, NULL);
}

/* Phase 1 of render: the sessions and runs of the model, and each run's last kept event. */
static void rctx_init(struct rctx *x)
{
    const struct hn_replay_model *m = x->m;
    size_t i;
    json_t *e;

    if (x->primary)
        add_unique(x->used, x->primary);
    x->nsess = json_array_size(m->sessions);
    x->sess = wc_xcalloc(x->nsess + 1, sizeof(*x->sess));
    json_array_foreach(m->sessions, i, e)
    {
        x->sess[i].label = wc_json_str(e, "label");
        x->sess[i].current = -1;
    }
    x->nruns = json_array_size(m->runs);
    x->runs = wc_xcalloc(x->nruns + 1, sizeof(*x->runs));
    json_array_foreach(m->runs, i, e)
    {
        struct rrun *r = &x->runs[i];
        r->label = wc_json_str(e, "label");
        r->session = wc_json_str(e, "session");
        r->sess = sess_index(x, r->session);
        r->sender = wc_json_str(e, "conn");
        r->last_item = -1;
        r->events = json_array();
        r->attached = json_array();
        r->script = json_array();
    }
    /* last kept event of each run whose chat.send is kept */
    json_array_foreach(m->items, i, e)
    {
        if (!kept(x, i) || strcmp(wc_json_str(e, "k"), "event"))
            continue;
        int ri = run_index(x, wc_json_str(e, "run"));
        const char *nm = json_object_iter_key(json_object_iter(json_object_get(e, "step")));
        if (ri >= 0 && strcmp(nm, "announce"))
            x->runs[ri].last_item = (int)i;
    }
}

static void rctx_release(struct rctx *x)
{
    for (size_t i = 0; i < x->nruns; i++) {
        json_decref(x->runs[i].events);
        json_decref(x->runs[i].attached);
        json_decref(x->runs[i].script);
    }
    free(x->runs);
    free(x->sess);
    json_decref(x->connected);
    json_decref(x->pending);
    json_decref(x->expected_all);
    json_decref(x->used);
}

/* Expectations on every open client, when something may have reached one since the last. */
static void flush_dirty(struct rctx *x, const char *first)
{
    if (json_object_size(x->connected) && x->dirty)
        flush(x, first, x->primary);
}

/*
 * Phase 2 of render: the timeline. Client actions come in groups (the actions between two
 * provider events); every running provider is held before each action, and before the next
 * provider event the clients' expectations are flushed and the providers released.
 */
static void simulate(struct rctx *x)
{
    const struct hn_replay_model *m = x->m;
    json_t *conns = json_object(); /* conn -> connected in the kept items */
    bool group_open = false;
    const char *last_actor = NULL;
    size_t i;
    json_t *e;

    json_array_foreach(m->items, i, e)
    {
        const char *k = wc_json_str(e, "k"), *conn = wc_json_str(e, "conn");
        if (!kept(x, i))
            continue;
        if (!strcmp(k, "event")) {
            if (group_open) {
                /* the gateway has handled the actions before any provider goes on: hold the
                 * runs this group started too, then check what the clients got */
                sync_point(x, i - 1);
                flush_dirty(x, last_actor);
                release_all(x);
                group_open = false;
            }
            do_event(x, e, i);
            x->dirty = true;
            continue;
        }
        if (!strcmp(k, "connect")) {
            if (json_object_get(conns, conn))
                continue;
            json_object_set_new(conns, conn, json_true());
        } else if (!json_object_get(x->connected, conn)) {
            continue; /* its connect was removed, or it is closed */
        }
        /* every running provider is held before every action, including the runs the
         * previous actions of this group started */
        sync_point(x, i);
        group_open = true;
        flush_dirty(x, last_actor);
        do_action(x, e);
        if (strcmp(k, "connect"))
            x->dirty = true;
        last_actor = conn;
    }
    if (group_open) {
        sync_point(x, json_array_size(m->items));
        flush_dirty(x, last_actor);
    }
    release_all(x);
    for (i = 0; i < x->nruns; i++)
        wait_done(x, &x->runs[i]);
    flush_dirty(x, last_actor);
    json_decref(conns);
}

/* Phase 3 of render: the case's head (id, title, spec, tags, needs, strict, the texts). */
static json_t *case_head(const struct rctx *x)
{
    const struct hn_replay_opts *o = x->o;
    json_t *c = json_object();
    json_t *spec = json_array(), *needs = json_array(), *tags = json_array();
    bool strict = false;
    size_t i;
    json_t *e;

    json_array_foreach(x->used, i, e)
    {
        const struct hn_req *rq = o->spec ? hn_spec_find(o->spec, json_string_value(e)) : NULL;
        if (o->spec && !rq)
            continue;
        add_unique(spec, json_string_value(e));
        if (rq && rq->capability)
            add_unique(needs, rq->capability);
    }
    if (x->primary && o->spec) {
        const struct hn_req *rq = hn_spec_find(o->spec, x->primary);
        strict = rq && rq->level != HN_LEVEL_MUST;
    }
    add_unique(tags, "replayed");
    json_array_foreach(o->tags, i, e) add_unique(tags, json_string_value(e));
    char *desc = describe(x);
    json_object_set_new(c, "id", json_string(o->id ? o->id : "12.0.1-replayed"));
    if (o->title) {
        json_object_set_new(c, "title", json_string(o->title));
    } else {
        char *t = wc_xasprintf("replay of %s%s%s", o->source ? o->source : "a transcript",
                               x->primary ? ": " : "", x->primary ? x->primary : "");
        json_object_set_new(c, "title", json_string(t));
        free(t);
    }
    json_object_set_new(c, "spec", spec);
    json_object_set_new(c, "tags", tags);
    if (json_array_size(needs))
        json_object_set_new(c, "needs", needs);
    else
        json_decref(needs);
    if (strict)
        json_object_set_new(c, "strict", json_true());
    json_object_set_new(c, "description", json_string(o->description ? o->description : desc));
    json_object_set_new(c, "expectation",
                        json_string(o->expectation
                                        ? o->expectation
                                        : "every client receives exactly what the expect steps "
                                          "list, in order: one complete per run, seq 1..n, the "
                                          "app session id, nothing after the complete"));
    free(desc);
    return c;
}

/* The sessions (label -> $var) and scripts ($script.label) the send steps name. */
static void steps_use(const struct rctx *x, json_t *used_s, json_t *used_r)
{
    size_t i;
    json_t *e;

    json_array_foreach(x->steps, i, e)
    {
        const json_t *snd = json_object_get(e, "send");
        const char *cn;
        json_t *fr;
        json_object_foreach((json_t *)snd, cn, fr)
        {
            const char *sid = wc_json_str(fr, "sessionId"), *ct = wc_json_str(fr, "content");
            if (sid && sid[0] == '$')
                json_object_set_new(used_s, sid + 1, json_true());
            if (ct && !strncmp(ct, "$script.", 8))
                json_object_set_new(used_r, ct + 8, json_true());
            size_t k;
            json_t *se;
            json_array_foreach(json_object_get(fr, "sessions"), k, se)
            {
                const char *s2 = wc_json_str(se, "sessionId");
                if (s2 && s2[0] == '$')
                    json_object_set_new(used_s, s2 + 1, json_true());
            }
        }
    }
}

/* Phase 4 of render: the sessions and provider scripts, only those the steps use. */
static void case_sessions(const struct rctx *x, json_t *c)
{
    json_t *sessions = json_object(), *providers = json_object();
    size_t i;

    for (i = 0; i < x->nsess; i++) {
        json_t *s = json_object();
        const char *prov = wc_json_str(json_array_get(x->m->sessions, i), "provider");
        json_object_set_new(s, "provider", json_string(prov && *prov ? prov : "claude"));
        json_object_set_new(sessions, x->sess[i].label, s);
    }
    for (i = 0; i < x->nruns; i++) {
        struct rrun *r = &x->runs[i];
        json_t *script = json_array();
        if (r->probed)
            json_array_append_new(script, json_pack("{s:s}", "on_abort", "ignore"));
        json_array_extend(script, r->script);
        if (!json_array_size(script))
            json_array_append_new(script, json_pack("{s:i}", "exit", 0));
        json_object_set_new(providers, r->label,
                            json_pack("{s:s, s:o}", "session", r->session, "script", script));
    }
    json_t *used_s = json_object(), *used_r = json_object();
    steps_use(x, used_s, used_r);
    const char *key;
    json_t *val;
    void *tmp;
    json_object_foreach_safe(providers, tmp, key, val)
    {
        if (!json_object_get(used_r, key))
            json_object_del(providers, key);
        else
            json_object_set_new(used_s, wc_json_str(val, "session"), json_true());
    }
    json_object_foreach_safe(sessions, tmp, key, val)
    {
        if (!json_object_get(used_s, key))
            json_object_del(sessions, key);
    }
    json_decref(used_s);
    json_decref(used_r);
    if (json_object_size(sessions))
        json_object_set_new(c, "sessions", sessions);
    else
        json_decref(sessions);
    if (json_object_size(providers))
        json_object_set_new(c, "providers", providers);
    else
        json_decref(providers);
}

/* Render with a given primary requirement; *expected (new) gets the conforming stream. */
static json_t *render(const struct hn_replay_model *m, const bool *keep,
                      const struct hn_replay_opts *o, const char *primary, json_t **expected)
{
    struct rctx x = {.m = m,
                     .keep = keep,
                     .o = o,
                     .steps = json_array(),
                     .connected = json_object(),
                     .pending = json_object(),
                     .expected_all = json_object(),
                     .used = json_array(),
                     .primary = primary};

    rctx_init(&x);
    simulate(&x);
    json_t *c = case_head(&x);
    case_sessions(&x, c);
    if (!json_array_size(x.steps))
        json_array_append_new(x.steps, json_pack("{s:s}", "note", "nothing left to replay"));
    json_object_set_new(c, "steps", x.steps);
    if (expected)
        *expected = json_incref(x.expected_all);
    rctx_release(&x);
    return c;
}

json_t *hn_replay_render(const struct hn_replay_model *m, const bool *keep,
                         const struct hn_replay_opts *o)
{
    json_t *findings = NULL, *c;
    const char *primary = o->requirement;

    if (!primary) {
        findings = hn_replay_findings(m);
        primary = json_string_value(json_array_get(findings, 0));
    }
    c = render(m, keep, o, primary, NULL);
    json_decref(findings);
    return c;
}

/* ---- findings ---------------------------------------------------------------------------- */

static json_t *find_findings(const struct hn_replay_model *m, const json_t *expected_all)
{
    json_t *out = json_array(), *vars = json_object();
    struct hn_scope sc = {.vars = vars};
    const char *conn;
    json_t *exp;
    size_t i;
    json_t *s;

    json_array_foreach(m->sessions, i, s)
        json_object_set_new(vars, wc_json_str(s, "label"), json_string(wc_json_str(s, "id")));
    json_object_foreach((json_t *)expected_all, conn, exp)
    {
        json_t *got = json_object_get(m->received, conn);
        size_t n = json_array_size(exp) > json_array_size(got) ? json_array_size(exp)
                                                               : json_array_size(got);
        const char *last_kind = NULL;
        for (i = 0; i < n; i++) {
            json_t *e = json_array_get(exp, i), *g = json_array_get(got, i);
            if (e && g && hn_match(json_object_get(e, "pat"), g, &sc, NULL)) {
                last_kind = wc_json_str(json_object_get(e, "pat"), "kind");
                continue;
            }
            if (e)
                add_unique(out, wc_json_str(e, "req"));
            else
                add_unique(out,
                           last_kind && !strcmp(last_kind, "complete") ? "R-TERM-2" : "R-FWD-1");
            break;
        }
    }
    /* connections that received frames the simulation gives them none of */
    json_t *got;
    json_object_foreach(m->received, conn, got)
    {
        if (!json_object_get(expected_all, conn) && json_array_size(got))
            add_unique(out, "R-FWD-1");
    }
    json_decref(vars);
    return out;
}

json_t *hn_replay_findings(const struct hn_replay_model *m)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;
    struct hn_replay_opts o = {.requirement = NULL};
    json_t *expected = NULL;

    json_array_foreach(m->violations, i, e) add_unique(out, json_string_value(e));
    /* the conforming stream of the whole recording */
    json_t *c = render(m, NULL, &o, NULL, &expected);
    json_t *dev = find_findings(m, expected);
    json_decref(expected);
    json_array_foreach(dev, i, e) add_unique(out, json_string_value(e));
    json_decref(dev);
    json_decref(c);
    return out;
}

/* ---- case size, YAML ------------------------------------------------------------------ */

size_t hn_replay_case_size(const json_t *c)
{
    size_t n = json_array_size(json_object_get(c, "steps"));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(c, "providers"), k, v) n +=
        json_array_size(json_is_array(v) ? v : json_object_get(v, "script"));
    return n;
}

static bool plain_ok(const char *s)
{
    static const char *const words[] = {"true", "false", "yes", "no", "on", "off",
                                        "null", "y",     "n",   "~",  NULL};
    size_t n = strlen(s);
    char *end;

    if (!n || s[0] == ' ' || s[n - 1] == ' ' || strchr("-?:,[]{}#&*!|>'\"%@`", s[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x80 || !(isalnum(ch) || strchr("_.$/<>+- ", ch)))
            return false;
    }
    for (size_t i = 0; words[i]; i++) {
        if (!strcasecmp(s, words[i]))
            return false;
    }
    strtod(s, &end);
    return *end != '\0';
}

static void y_string(struct wc_buf *b, const char *s)
{
    if (plain_ok(s)) {
        wc_buf_adds(b, s);
    } else {
        json_t *v = json_string(s);
        char *q = json_dumps(v, JSON_ENCODE_ANY);
        wc_buf_adds(b, q ? q : "\"\"");
        free(q);
        json_decref(v);
    }
}

static void y_flow(struct wc_buf *b, const json_t *v)
{
    const char *k;
    json_t *m;
    size_t i;
    bool first = true;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        wc_buf_adds(b, "{");
        json_object_foreach((json_t *)v, k, m)
        {
            wc_buf_adds(b, first ? "" : ", ");
            first = false;
            y_string(b, k);
            wc_buf_adds(b, ": ");
            y_flow(b, m);
        }
        wc_buf_adds(b, "}");
        break;
    case JSON_ARRAY:
        wc_buf_adds(b, "[");
        json_array_foreach(v, i, m)
        {
            wc_buf_adds(b, i ? ", " : "");
            y_flow(b, m);
        }
        wc_buf_adds(b, "]");
        break;
    case JSON_STRING:
        y_string(b, json_string_value(v));
        break;
    default: {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        wc_buf_adds(b, s ? s : "null");
        free(s);
    }
    }
}

static void y_folded(struct wc_buf *b, const char *key, const char *text)
{
    size_t col = 2;
    const char *p = text;

    wc_buf_addf(b, "%s: >\n  ", key);
    while (*p) {
        while (*p == ' ' || *p == '\n')
            p++;
        size_t w = strcspn(p, " \n");
        if (!w)
            break;
        if (col > 2 && col + 1 + w > 96) {
            wc_buf_adds(b, "\n  ");
            col = 2;
        } else if (col > 2) {
            wc_buf_adds(b, " ");
            col++;
        }
        wc_buf_add(b, p, w);
        col += w;
        p += w;
    }
    wc_buf_adds(b, "\n");
}

/* "- key: value" plus modifier keys on their own lines; a group's items one per line. */
static void y_step(struct wc_buf *b, const json_t *st, const char *indent)
{
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach((json_t *)st, k, v)
    {
        wc_buf_addf(b, "%s%s", indent, first ? "- " : "  ");
        y_string(b, k);
        if (first && !strcmp(k, "group") && json_is_array(v) && json_array_size(v)) {
            size_t i;
            json_t *it;
            wc_buf_adds(b, ":\n");
            json_array_foreach(v, i, it)
            {
                wc_buf_addf(b, "%s    - ", indent);
                y_flow(b, it);
                wc_buf_adds(b, "\n");
            }
        } else {
            wc_buf_adds(b, ": ");
            y_flow(b, v);
            wc_buf_adds(b, "\n");
        }
        first = false;
    }
}

char *hn_replay_yaml(const json_t *c)
{
    struct wc_buf b;
    const char *k;
    json_t *v;
    size_t i;

    wc_buf_init(&b, 0);
    json_object_foreach((json_t *)c, k, v)
    {
        if (!strcmp(k, "description") || !strcmp(k, "expectation")) {
            y_folded(&b, k, json_string_value(v));
        } else if (!strcmp(k, "sessions")) {
            const char *sk;
            json_t *sv;
            wc_buf_adds(&b, "sessions:\n");
            json_object_foreach(v, sk, sv)
            {
                wc_buf_adds(&b, "  ");
                y_string(&b, sk);
                wc_buf_adds(&b, ": ");
                y_flow(&b, sv);
                wc_buf_adds(&b, "\n");
            }
        } else if (!strcmp(k, "providers")) {
            const char *pk;
            json_t *pv, *st;
            wc_buf_adds(&b, "providers:\n");
            json_object_foreach(v, pk, pv)
            {
                wc_buf_adds(&b, "  ");
                y_string(&b, pk);
                wc_buf_adds(&b, ":\n    session: ");
                y_string(&b, wc_json_str(pv, "session"));
                wc_buf_adds(&b, "\n    script:\n");
                json_array_foreach(json_object_get(pv, "script"), i, st) y_step(&b, st, "      ");
            }
        } else if (!strcmp(k, "steps")) {
            json_t *st;
            wc_buf_adds(&b, "steps:\n");
            json_array_foreach(v, i, st) y_step(&b, st, "  ");
        } else {
            y_string(&b, k);
            wc_buf_adds(&b, ": ");
            y_flow(&b, v);
            wc_buf_adds(&b, "\n");
        }
    }
    return wc_buf_detach(&b, NULL);
}

/* ---- ddmin ------------------------------------------------------------------------------- */

struct dd {
    size_t n;
    hn_ddmin_test test;
    void *ctx;
    json_t *cache; /* mask string -> bool */
    size_t tests;
};

static bool dd_try(struct dd *d, const size_t *idx, size_t cnt)
{
    bool *mask = wc_xcalloc(d->n + 1, sizeof(bool));
    char *key = wc_xmalloc(d->n + 1);
    bool ok;

    for (size_t i = 0; i < cnt; i++)
        mask[idx[i]] = true;
    for (size_t i = 0; i < d->n; i++)
        key[i] = mask[i] ? '1' : '0';
    key[d->n] = '\0';
    json_t *c = json_object_get(d->cache, key);
    if (c) {
        ok = json_is_true(c);
    } else {
        ok = d->test(mask, d->n, d->ctx);
        d->tests++;
        json_object_set_new(d->cache, key, json_boolean(ok));
    }
    free(key);
    free(mask);
    return ok;
}

size_t hn_ddmin(size_t n, bool *keep, hn_ddmin_test test, void *ctx)
{
    struct dd d = {.n = n, .test = test, .ctx = ctx, .cache = json_object()};
    size_t *cur = wc_xcalloc(n + 1, sizeof(size_t)), *cand = wc_xcalloc(n + 1, sizeof(size_t));
    size_t len = 0, gran = 2;

    for (size_t i = 0; i < n; i++) {
        if (keep[i])
            cur[len++] = i;
    }
    while (len >= 2) {
        bool reduced = false;
        if (gran > len)
            gran = len;
        /* chunk j is [start(j), start(j+1)) */
        for (size_t pass = 0; pass < 2 && !reduced; pass++) {
            for (size_t j = 0; j < gran && !reduced; j++) {
                size_t a = j * len / gran, z = (j + 1) * len / gran, cnt = 0;
                if (pass == 0) {
                    if (gran == 2 && j == 1)
                        continue; /* with two chunks, subsets and complements are the same */
                    for (size_t i = a; i < z; i++)
                        cand[cnt++] = cur[i];
                } else {
                    for (size_t i = 0; i < len; i++) {
                        if (i < a || i >= z)
                            cand[cnt++] = cur[i];
                    }
                }
                if (cnt == 0 || cnt == len || !dd_try(&d, cand, cnt))
                    continue;
                memcpy(cur, cand, cnt * sizeof(size_t));
                len = cnt;
                gran = pass == 0 ? 2 : (gran > 2 ? gran - 1 : 2);
                reduced = true;
            }
        }
        if (!reduced) {
            if (gran >= len)
                break;
            gran = gran * 2 < len ? gran * 2 : len;
        }
    }
    for (size_t i = 0; i < n; i++)
        keep[i] = false;
    for (size_t i = 0; i < len; i++)
        keep[cur[i]] = true;
    free(cur);
    free(cand);
    json_decref(d.cache);
    return d.tests;
}
