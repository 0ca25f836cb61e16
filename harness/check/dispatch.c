/*
 * dispatch.c: the dispatch-ws/1 checkers (dispatch.h), D-1 ... D-12 of
 * ../shared/protocol/others.md A.11, over one transcript.
 *
 * The model, built once: connection instances (an `open` to its `close`), each one's received
 * chat.delta events grouped by turn ((conversationId, turnId)), and per turn the record at
 * which any connection first saw it and the record at which it first ended anywhere
 * (`turn-sealed`, or an `error` that ends a connection's view of the turn with no `done`: the
 * orchestrator-level error). Live events carry no seq, so identity is the turn key plus
 * arrival order, and copies are compared as whole JSON events.
 *
 * A checker asserts only what the transcript constrains: a missing frame is judged at a point
 * that proves the gateway had sent it (a later sentinel answer on the same connection, which
 * Dispatch handles in order; the transcript's end after every provider run reported `done`).
 * Sentinel records (`sentinel: true`) are not frames of the case and are skipped, except as
 * such proof.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/dispatch.h"
#include "check/invariant.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

#define NONE (-1L)
#define BUSY "a turn is already generating for this conversation"

struct inst {
    const char *conn;
    long open_i, close_i; /* record indexes; close_i NONE when open at the end */
};

struct ev {
    size_t inst;
    long i; /* record index */
    const json_t *event;
    const char *type;
};

struct turn {
    const char *conv, *turn;
    long first_i, end_i;
    struct ev *evs; /* every copy received, in transcript order */
    size_t n, cap;
};

struct model {
    json_t *recs; /* borrowed */
    size_t nrec;
    long *inst_of; /* record index -> instance, or NONE */
    struct inst *insts;
    size_t ninst;
    struct turn *turns;
    size_t nturn;
    bool providers_done; /* there are provider runs and every one reported done */
};

struct ctx {
    const struct model *m;
    json_t *violations;
    const char *checker;
    int reported, suppressed;
    bool exercised;
};

/* ---- helpers ------------------------------------------------------------------------------ */

static json_t *rec(const struct model *m, long i)
{
    return json_array_get(m->recs, (size_t)i);
}

static const char *rtype(const struct model *m, long i)
{
    return wc_json_str(rec(m, i), "t");
}

static json_int_t rn(const struct model *m, long i)
{
    json_t *n = json_object_get(rec(m, i), "n");
    return json_is_integer(n) ? json_integer_value(n) : (json_int_t)i + 1;
}

static bool is_sentinel(const struct model *m, long i)
{
    return json_is_true(json_object_get(rec(m, i), "sentinel"));
}

/* The frame of a send/recv record that parsed as a JSON object, else NULL. */
static json_t *frame_obj(const struct model *m, long i)
{
    json_t *f = json_object_get(rec(m, i), "frame");
    return json_is_object(f) ? f : NULL;
}

static const char *str_or(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static void violate(struct ctx *x, const char *req, long w1, long w2, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void violate(struct ctx *x, const char *req, long w1, long w2, const char *fmt, ...)
{
    long w[2] = {w1, w2};
    json_t *wit = json_array(), *frames = json_array(), *v = json_object();
    char *msg;
    va_list ap;

    x->exercised = true;
    if (x->reported >= HN_INVARIANT_MAX_REPORTS) {
        x->suppressed++;
        json_decref(wit);
        json_decref(frames);
        json_decref(v);
        return;
    }
    x->reported++;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    qsort(w, 2, sizeof(w[0]), cmp_long);
    for (int i = 0; i < 2; i++) {
        if (w[i] == NONE || (i > 0 && w[i] == w[i - 1]))
            continue;
        json_array_append_new(wit, json_integer(rn(x->m, w[i])));
        json_array_append_new(frames, json_deep_copy(rec(x->m, w[i])));
    }
    json_object_set_new(v, "checker", json_string(x->checker));
    json_object_set_new(v, "requirement", json_string(req));
    json_object_set_new(v, "message", json_string(msg ? msg : "(out of memory)"));
    json_object_set_new(v, "witness", wit);
    json_object_set_new(v, "frames", frames);
    json_array_append_new(x->violations, v);
    free(msg);
}

static const char *cname(const struct model *m, size_t inst)
{
    return m->insts[inst].conn;
}

/* ---- the model ---------------------------------------------------------------------------- */

static struct turn *turn_get(struct model *m, const char *conv, const char *tid, long i)
{
    for (size_t k = 0; k < m->nturn; k++) {
        if (!strcmp(m->turns[k].conv, conv) && !strcmp(m->turns[k].turn, tid))
            return &m->turns[k];
    }
    m->turns = wc_xrealloc(m->turns, (m->nturn + 1) * sizeof(*m->turns));
    struct turn *t = &m->turns[m->nturn++];
    memset(t, 0, sizeof(*t));
    t->conv = conv;
    t->turn = tid;
    t->first_i = i;
    t->end_i = NONE;
    return t;
}

/* The index in t->evs of the first event of inst, the count in *n. */
static size_t turn_view(const struct turn *t, size_t inst, size_t *n, size_t *idx, size_t cap)
{
    size_t k = 0;
    for (size_t j = 0; j < t->n; j++) {
        if (t->evs[j].inst == inst && k < cap)
            idx[k++] = j;
    }
    *n = k;
    return k;
}

static void model_build(struct model *m, const struct hn_transcript *tr)
{
    json_t *cur = json_object(), *runs = json_object();
    size_t nhello = 0, ndone = 0;

    memset(m, 0, sizeof(*m));
    m->recs = hn_transcript_records(tr);
    m->nrec = json_array_size(m->recs);
    m->inst_of = wc_xcalloc(m->nrec + 1, sizeof(*m->inst_of));
    for (size_t i = 0; i < m->nrec; i++) {
        const char *t = rtype(m, (long)i), *conn = wc_json_str(rec(m, (long)i), "conn");
        m->inst_of[i] = NONE;
        if (!t)
            continue;
        if (!strcmp(t, "ctl")) {
            const char *mt = wc_json_str(json_object_get(rec(m, (long)i), "msg"), "type");
            nhello += mt && !strcmp(mt, "hello");
            ndone += mt && !strcmp(mt, "done");
            continue;
        }
        if (!conn)
            continue;
        if (!strcmp(t, "open")) {
            m->insts = wc_xrealloc(m->insts, (m->ninst + 1) * sizeof(*m->insts));
            m->insts[m->ninst] = (struct inst){.conn = conn, .open_i = (long)i, .close_i = NONE};
            json_object_set_new(cur, conn, json_integer((json_int_t)m->ninst++));
        }
        json_t *ci = json_object_get(cur, conn);
        if (!ci)
            continue;
        size_t inst = (size_t)json_integer_value(ci);
        m->inst_of[i] = (long)inst;
        if (!strcmp(t, "close")) {
            if (m->insts[inst].close_i == NONE)
                m->insts[inst].close_i = (long)i;
            continue;
        }
        json_t *f = frame_obj(m, (long)i);
        if (strcmp(t, "recv") || !f || is_sentinel(m, (long)i))
            continue;
        const char *ft = wc_json_str(f, "type");
        json_t *e = json_object_get(f, "event");
        const char *conv = wc_json_str(e, "conversationId"), *tid = wc_json_str(e, "turnId");
        const char *et = wc_json_str(e, "type");
        if (!ft || strcmp(ft, "chat.delta") || !conv || !tid || !et)
            continue;
        struct turn *tu = turn_get(m, conv, tid, (long)i);
        if (tu->n == tu->cap) {
            tu->cap = tu->cap ? 2 * tu->cap : 16;
            tu->evs = wc_xrealloc(tu->evs, tu->cap * sizeof(*tu->evs));
        }
        tu->evs[tu->n++] = (struct ev){.inst = inst, .i = (long)i, .event = e, .type = et};
    }
    /* where each turn first ended: a turn-sealed, or an error that ends a view with no done */
    for (size_t k = 0; k < m->nturn; k++) {
        struct turn *tu = &m->turns[k];
        for (size_t inst = 0; inst < m->ninst; inst++) {
            long last_err = NONE, end = NONE;
            bool done = false, after = false;
            for (size_t j = 0; j < tu->n; j++) {
                if (tu->evs[j].inst != inst)
                    continue;
                const char *ty = tu->evs[j].type;
                if (!strcmp(ty, "turn-sealed") && end == NONE)
                    end = tu->evs[j].i;
                done |= !strcmp(ty, "done");
                if (!strcmp(ty, "error")) {
                    last_err = tu->evs[j].i;
                    after = false;
                } else {
                    after = true;
                }
            }
            if (end == NONE && last_err != NONE && !done && !after)
                end = last_err;
            if (end != NONE && (tu->end_i == NONE || end < tu->end_i))
                tu->end_i = end;
        }
    }
    m->providers_done = nhello > 0 && ndone >= nhello;
    json_decref(cur);
    json_decref(runs);
}

static void model_free(struct model *m)
{
    for (size_t k = 0; k < m->nturn; k++)
        free(m->turns[k].evs);
    free(m->turns);
    free(m->insts);
    free(m->inst_of);
}

/* Whether inst was subscribed to conv at record i: a chat.subscribe or chat.send naming conv
 * sent on it before i, with no chat.unsubscribe of conv between. */
static bool subscribed_at(const struct model *m, size_t inst, const char *conv, long i)
{
    bool sub = false;
    for (long r = m->insts[inst].open_i; r < i && r < (long)m->nrec; r++) {
        if (m->inst_of[r] != (long)inst || strcmp(rtype(m, r), "send"))
            continue;
        json_t *f = frame_obj(m, r);
        const char *ty = wc_json_str(f, "type"), *c = wc_json_str(f, "conversationId");
        if (!ty || !c || strcmp(c, conv))
            continue;
        if (!strcmp(ty, "chat.subscribe") || !strcmp(ty, "chat.send"))
            sub = true;
        else if (!strcmp(ty, "chat.unsubscribe"))
            sub = false;
    }
    return sub;
}

/* Whether inst unsubscribed from conv at or after record i. */
static bool unsubscribed_after(const struct model *m, size_t inst, const char *conv, long i)
{
    for (long r = i; r < (long)m->nrec; r++) {
        json_t *f =
            m->inst_of[r] == (long)inst && !strcmp(rtype(m, r), "send") ? frame_obj(m, r) : NULL;
        if (f &&
            !strcmp(wc_json_str(f, "type") ? wc_json_str(f, "type") : "", "chat.unsubscribe") &&
            !strcmp(wc_json_str(f, "conversationId") ? wc_json_str(f, "conversationId") : "", conv))
            return true;
    }
    return false;
}

/* ---- D-1: the catalog first ---------------------------------------------------------------- */

static void check_catalog_first(struct ctx *x)
{
    const struct model *m = x->m;
    for (size_t inst = 0; inst < m->ninst; inst++) {
        for (long r = m->insts[inst].open_i; r < (long)m->nrec; r++) {
            if (m->inst_of[r] != (long)inst || strcmp(rtype(m, r), "recv"))
                continue;
            x->exercised = true;
            const char *ty = wc_json_str(frame_obj(m, r), "type");
            if (!ty || strcmp(ty, "catalog"))
                violate(x, "R-D-WS-1", r, NONE,
                        "%s: the first frame the server sent is %s, not the catalog",
                        cname(m, inst), ty ? ty : "not a typed JSON object");
            break;
        }
    }
}

/* ---- D-2: the grammar of a turn, per connection --------------------------------------------- */

static bool step_completed(const struct turn *tu, size_t inst, size_t upto, const char *step)
{
    for (size_t j = 0; j < upto; j++) {
        if (tu->evs[j].inst == inst && !strcmp(tu->evs[j].type, "step-complete") &&
            !strcmp(str_or(wc_json_str(tu->evs[j].event, "stepId"), ""), step))
            return true;
    }
    return false;
}

static void check_grammar(struct ctx *x)
{
    const struct model *m = x->m;
    for (size_t k = 0; k < m->nturn; k++) {
        const struct turn *tu = &m->turns[k];
        for (size_t inst = 0; inst < m->ninst; inst++) {
            size_t pos = 0;
            long prev = NONE;
            bool done = false, sealed = false;
            for (size_t j = 0; j < tu->n; j++) {
                const struct ev *e = &tu->evs[j];
                if (e->inst != inst)
                    continue;
                x->exercised = true;
                const char *ty = e->type, *bad = NULL, *req = "R-D-TURN-1";
                if (sealed)
                    bad = "an event after turn-sealed", req = "R-D-TURN-2";
                else if (done && strcmp(ty, "turn-sealed"))
                    bad = "an event other than turn-sealed after done", req = "R-D-TURN-2";
                else if (pos == 0 && strcmp(ty, "user-message"))
                    bad = "the turn's first event is not user-message";
                else if (pos > 0 && !strcmp(ty, "user-message"))
                    bad = "a second user-message in one turn";
                else if (pos == 1 && strcmp(ty, "turn-start") && strcmp(ty, "error"))
                    bad = "user-message is not followed by turn-start";
                else if (pos > 1 && !strcmp(ty, "turn-start"))
                    bad = "turn-start after the turn's first events";
                else if (!strcmp(ty, "turn-sealed") && !done)
                    bad = "turn-sealed with no done before it", req = "R-D-TURN-2";
                else if (!strcmp(ty, "tool-result") &&
                         !step_completed(tu, inst, j, str_or(wc_json_str(e->event, "stepId"), "")))
                    bad = "tool-result before its step's step-complete", req = "R-D-TURN-3";
                if (bad) {
                    violate(x, req, prev, e->i, "%s: %s (%s, turn %s of %s)", cname(m, inst), bad,
                            ty, tu->turn, tu->conv);
                    break;
                }
                done |= !strcmp(ty, "done");
                sealed |= !strcmp(ty, "turn-sealed");
                prev = e->i;
                pos++;
            }
        }
    }
}

/* ---- D-3: exactly one terminal per turn ------------------------------------------------------ */

static void check_one_terminal(struct ctx *x)
{
    const struct model *m = x->m;
    for (size_t k = 0; k < m->nturn; k++) {
        const struct turn *tu = &m->turns[k];
        for (size_t inst = 0; inst < m->ninst; inst++) {
            long seal = NONE, done = NONE, last = NONE, first = NONE;
            const char *last_ty = NULL;
            bool reported = false;
            for (size_t j = 0; j < tu->n && !reported; j++) {
                const struct ev *e = &tu->evs[j];
                if (e->inst != inst)
                    continue;
                x->exercised = true;
                if (first == NONE)
                    first = e->i;
                if (!strcmp(e->type, "turn-sealed")) {
                    if (seal != NONE) {
                        violate(x, "R-D-TURN-2", seal, e->i,
                                "%s: two turn-sealed for turn %s of %s", cname(m, inst), tu->turn,
                                tu->conv);
                        reported = true;
                    }
                    seal = e->i;
                } else if (!strcmp(e->type, "done")) {
                    if (done != NONE) {
                        violate(x, "R-D-TURN-2", done, e->i, "%s: two done for turn %s of %s",
                                cname(m, inst), tu->turn, tu->conv);
                        reported = true;
                    }
                    done = e->i;
                }
                last = e->i;
                last_ty = e->type;
            }
            if (reported || last == NONE || seal != NONE || (last_ty && !strcmp(last_ty, "error")))
                continue;
            /* neither: judged when the connection stayed, subscribed, past every provider's end */
            if (m->providers_done && m->insts[inst].close_i == NONE &&
                !unsubscribed_after(m, inst, tu->conv, first))
                violate(x, "R-D-TURN-2", last, (long)m->nrec - 1,
                        "%s: turn %s of %s never ended (no turn-sealed, no terminal error) though "
                        "every provider run is done",
                        cname(m, inst), tu->turn, tu->conv);
        }
    }
}

/* ---- D-4: tool calls and results ------------------------------------------------------------ */

static void check_tool_pairing(struct ctx *x)
{
    const struct model *m = x->m;
    for (size_t k = 0; k < m->nturn; k++) {
        const struct turn *tu = &m->turns[k];
        for (size_t inst = 0; inst < m->ninst; inst++) {
            json_t *calls = json_object(), *results = json_object();
            for (size_t j = 0; j < tu->n; j++) {
                const struct ev *e = &tu->evs[j];
                if (e->inst != inst)
                    continue;
                const char *id = wc_json_str(e->event, "toolCallId");
                const char *step = wc_json_str(e->event, "stepId");
                if (!strcmp(e->type, "tool-call") && id) {
                    x->exercised = true;
                    json_object_set_new(
                        calls, id, json_pack("{s:s?, s:I}", "step", step, "i", (json_int_t)e->i));
                } else if (!strcmp(e->type, "tool-result")) {
                    x->exercised = true;
                    json_t *c = id ? json_object_get(calls, id) : NULL;
                    json_t *prev = id ? json_object_get(results, id) : NULL;
                    if (!c) {
                        violate(x, "R-D-TURN-3", NONE, e->i,
                                "%s: tool-result %s has no tool-call before it (turn %s)",
                                cname(m, inst), id ? id : "(no toolCallId)", tu->turn);
                        break;
                    }
                    if (!step || !wc_json_str(c, "step") || strcmp(step, wc_json_str(c, "step"))) {
                        violate(x, "R-D-TURN-3", (long)json_integer_value(json_object_get(c, "i")),
                                e->i, "%s: tool-result %s names step %s, its tool-call step %s",
                                cname(m, inst), id, step ? step : "(none)",
                                wc_json_str(c, "step") ? wc_json_str(c, "step") : "(none)");
                        break;
                    }
                    if (prev) {
                        violate(x, "R-D-TURN-3", (long)json_integer_value(prev), e->i,
                                "%s: a second tool-result for tool call %s", cname(m, inst), id);
                        break;
                    }
                    json_object_set_new(results, id, json_integer((json_int_t)e->i));
                }
            }
            json_decref(calls);
            json_decref(results);
        }
    }
}

/* ---- D-5, D-7: every copy of a turn equals the reference view -------------------------------- */

/* The record of inst's first subscribe (chat.subscribe or chat.send) to conv, or NONE. */
static long first_sub(const struct model *m, size_t inst, const char *conv)
{
    for (long r = m->insts[inst].open_i; r < (long)m->nrec; r++) {
        if (m->inst_of[r] != (long)inst || strcmp(rtype(m, r), "send"))
            continue;
        json_t *f = frame_obj(m, r);
        const char *ty = wc_json_str(f, "type"), *c = wc_json_str(f, "conversationId");
        if (ty && c && !strcmp(c, conv) &&
            (!strcmp(ty, "chat.subscribe") || !strcmp(ty, "chat.send")))
            return r;
    }
    return NONE;
}

/* Joined late: the instance's first subscribe to the conversation was sent after the turn had
 * begun (someone had its user-message). */
static bool late(const struct model *m, const struct turn *tu, size_t inst)
{
    long s = first_sub(m, inst, tu->conv);
    return s != NONE && s > tu->first_i;
}

/* Whether inst's view of the turn ends with its terminal (turn-sealed, or the error). */
static bool view_complete(const struct turn *tu, size_t inst)
{
    const char *last = NULL;
    for (size_t j = 0; j < tu->n; j++) {
        if (tu->evs[j].inst == inst)
            last = tu->evs[j].type;
    }
    return last && (!strcmp(last, "turn-sealed") || !strcmp(last, "error"));
}

/* The reference view of a turn: the longest complete view of one who was subscribed before
 * the turn began, else the longest view. (size_t)-1 when nobody saw the turn. */
static size_t reference_view(const struct model *m, const struct turn *tu, bool *complete)
{
    size_t best = (size_t)-1, bestn = 0, any = (size_t)-1, anyn = 0;
    for (size_t inst = 0; inst < m->ninst; inst++) {
        size_t n = 0;
        for (size_t j = 0; j < tu->n; j++)
            n += tu->evs[j].inst == inst;
        if (n > anyn) {
            any = inst;
            anyn = n;
        }
        if (n > bestn && !late(m, tu, inst) && view_complete(tu, inst)) {
            best = inst;
            bestn = n;
        }
    }
    if (best == (size_t)-1)
        best = any;
    *complete = best != (size_t)-1 && view_complete(tu, best);
    return best;
}

/* Every view of a turn is the reference view or a prefix of it: D-5 (want_late, the late
 * joiners) or D-7 (the others). */
static void compare_views(struct ctx *x, bool want_late, const char *req)
{
    const struct model *m = x->m;
    size_t *a = NULL, *b = NULL;
    for (size_t k = 0; k < m->nturn; k++) {
        const struct turn *tu = &m->turns[k];
        size_t na, nb;
        bool ended;
        size_t best = reference_view(m, tu, &ended);
        if (best == (size_t)-1)
            continue;
        free(a);
        free(b);
        a = wc_xcalloc(tu->n + 1, sizeof(*a));
        b = wc_xcalloc(tu->n + 1, sizeof(*b));
        turn_view(tu, best, &na, a, tu->n);
        for (size_t inst = 0; inst < m->ninst; inst++) {
            if (inst == best || late(m, tu, inst) != want_late)
                continue;
            turn_view(tu, inst, &nb, b, tu->n);
            bool subscribed_before = !want_late && subscribed_at(m, inst, tu->conv, tu->first_i) &&
                                     m->insts[inst].open_i < tu->first_i;
            if (nb == 0 && !subscribed_before)
                continue;
            x->exercised = true;
            size_t j = 0;
            while (j < nb && j < na && json_equal(tu->evs[a[j]].event, tu->evs[b[j]].event))
                j++;
            if (j < nb && j < na) {
                violate(x, req, tu->evs[a[j]].i, tu->evs[b[j]].i,
                        "%s: event %zu of turn %s differs from what %s received (%s vs %s)",
                        cname(m, inst), j + 1, tu->turn, cname(m, best), tu->evs[b[j]].type,
                        tu->evs[a[j]].type);
            } else if (j < nb && ended) {
                violate(x, req, tu->evs[a[na - 1]].i, tu->evs[b[j]].i,
                        "%s: %zu more events of turn %s than %s received (a duplicate?)",
                        cname(m, inst), nb - na, tu->turn, cname(m, best));
            } else if (nb < na && ended && m->insts[inst].close_i == NONE &&
                       !unsubscribed_after(m, inst, tu->conv, tu->first_i)) {
                violate(x, nb || want_late ? req : "R-D-SUB-4",
                        nb ? tu->evs[b[nb - 1]].i : first_sub(m, inst, tu->conv), tu->evs[a[nb]].i,
                        "%s: received %zu of the %zu events of turn %s that %s received%s",
                        cname(m, inst), nb, na, tu->turn, cname(m, best),
                        nb ? "" : " (a subscriber from before the turn got nothing)");
            }
        }
    }
    free(a);
    free(b);
}

static void check_late_join(struct ctx *x)
{
    compare_views(x, true, "R-D-SUB-2");
}

static void check_fanout(struct ctx *x)
{
    compare_views(x, false, "R-D-FAN-1");
}

/* ---- D-6: no replay after seal ----------------------------------------------------------------
 */

static void check_no_replay_after_seal(struct ctx *x)
{
    const struct model *m = x->m;
    for (long r = 0; r < (long)m->nrec; r++) {
        if (m->inst_of[r] == NONE || strcmp(rtype(m, r), "send") || is_sentinel(m, r))
            continue;
        json_t *f = frame_obj(m, r);
        const char *ty = wc_json_str(f, "type"), *conv = wc_json_str(f, "conversationId");
        size_t inst = (size_t)m->inst_of[r];
        if (!ty || strcmp(ty, "chat.subscribe") || !conv || subscribed_at(m, inst, conv, r))
            continue;
        for (size_t k = 0; k < m->nturn; k++) {
            const struct turn *tu = &m->turns[k];
            if (strcmp(tu->conv, conv) || tu->end_i == NONE || tu->end_i > r)
                continue;
            x->exercised = true;
            for (size_t j = 0; j < tu->n; j++) {
                if (tu->evs[j].inst == inst && tu->evs[j].i > r) {
                    violate(x, "R-D-SUB-3", r, tu->evs[j].i,
                            "%s: subscribed after turn %s had ended and received its %s",
                            cname(m, inst), tu->turn, tu->evs[j].type);
                    break;
                }
            }
        }
    }
}

/* ---- D-8: a closed socket never aborts a turn ------------------------------------------------ */

static bool closed_over_http(const struct model *m, const char *conv)
{
    for (long r = 0; r < (long)m->nrec; r++) {
        const char *meth = wc_json_str(rec(m, r), "method"), *p = wc_json_str(rec(m, r), "path");
        if (!strcmp(rtype(m, r), "http") && meth && !strcmp(meth, "POST") && p && strstr(p, conv) &&
            (strstr(p, "/close") || strstr(p, "/stop")))
            return true;
    }
    return false;
}

static void check_disconnect(struct ctx *x)
{
    const struct model *m = x->m;
    for (size_t inst = 0; inst < m->ninst; inst++) {
        long c = m->insts[inst].close_i;
        if (c == NONE)
            continue;
        for (size_t k = 0; k < m->nturn; k++) {
            const struct turn *tu = &m->turns[k];
            if (!(tu->first_i < c && (tu->end_i == NONE || tu->end_i > c)) ||
                !subscribed_at(m, inst, tu->conv, c) || closed_over_http(m, tu->conv))
                continue;
            x->exercised = true;
            for (size_t j = 0; j < tu->n; j++) {
                const char *why = wc_json_str(tu->evs[j].event, "reason");
                if (!strcmp(tu->evs[j].type, "done") && why && !strcmp(why, "aborted")) {
                    violate(x, "R-D-CLOSE-1", c, tu->evs[j].i,
                            "%s closed its socket while turn %s ran, and the turn was aborted "
                            "(done reason aborted, no close over HTTP)",
                            cname(m, inst), tu->turn);
                    break;
                }
            }
        }
    }
}

/* ---- D-9: malformed requests get exactly the documented reply -------------------------------- */

/* The reply a request must get: type "" for none; message NULL for any message. */
struct want {
    const char *type, *req;
    char *msg;
    bool known; /* false: the checker cannot tell (a binary frame) */
};

static struct want want_of(const char *type, const char *req, const char *msg)
{
    return (struct want){
        .type = type, .req = req, .msg = msg ? wc_xstrdup(msg) : NULL, .known = true};
}

static bool blank(const char *t)
{
    while (t && (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r' || *t == '\f' || *t == '\v'))
        t++;
    return !t || !*t;
}

static struct want want_send(const json_t *f)
{
    static const char *const efforts[] = {"low", "medium", "high", "xhigh", "max", NULL};
    const char *msg = wc_json_str(f, "message");
    json_t *re = json_object_get(f, "reasoningEffort"), *im = json_object_get(f, "images");
    size_t i;
    json_t *e;

    if (!msg || !*msg)
        return want_of("chat.error", "R-D-SEND-1",
                       "chat.send requires a non-empty string `message`");
    if (re) {
        bool ok = false;
        for (i = 0; json_is_string(re) && efforts[i]; i++)
            ok |= !strcmp(json_string_value(re), efforts[i]);
        if (!ok && !json_is_string(re))
            return want_of("chat.error", "R-D-SEND-2", NULL);
        if (!ok) {
            struct want w = want_of("chat.error", "R-D-SEND-2", NULL);
            w.msg = wc_xasprintf("chat.send: invalid reasoningEffort \"%s\" \xe2\x80\x94 must "
                                 "be one of: low, medium, high, xhigh, max",
                                 json_string_value(re));
            return w;
        }
    }
    if (im && !json_is_array(im))
        return want_of("chat.error", "R-D-SEND-3", "chat.send: 'images' must be an array");
    json_array_foreach(im, i, e)
    {
        const char *u = wc_json_str(e, "url");
        if (!json_is_object(e) || !u || !*u)
            return want_of("chat.error", "R-D-SEND-3",
                           "chat.send: each image must have a non-empty string 'url'");
    }
    return want_of("", NULL, NULL);
}

/* The reply the request of send record r must get (spec/dispatch-ws-1 §2's table). */
static struct want expected_reply(const struct model *m, long r)
{
    static const char *const client_types[] = {
        "subscribe",  "unsubscribe",       "invoke",
        "chat.send",  "chat.subscribe",    "chat.unsubscribe",
        "chat.queue", "chat.queue.cancel", NULL};
    json_t *R = rec(m, r), *f = json_object_get(R, "frame");
    if (!f) {
        if (wc_json_str(R, "text") && !json_is_true(json_object_get(R, "binary")))
            return want_of("error", "R-D-IN-1", "Invalid JSON");
        return (struct want){.known = false};
    }
    const char *ty = wc_json_str(f, "type");
    bool known = false;
    for (size_t i = 0; ty && client_types[i]; i++)
        known |= !strcmp(ty, client_types[i]);
    if (!json_is_object(f) || !known)
        return want_of("error", "R-D-IN-2", NULL); /* SHOULD: one error, any text */
    if (!strcmp(ty, "chat.send"))
        return want_send(f);
    const char *conv = wc_json_str(f, "conversationId");
    if (!strcmp(ty, "chat.queue")) {
        if (blank(wc_json_str(f, "text")))
            return want_of("chat.error", "R-D-QUEUE-1",
                           "chat.queue requires a non-empty string `text`");
        if (!conv || !*conv)
            return want_of("chat.error", "R-D-QUEUE-2",
                           "chat.queue requires a non-empty string `conversationId`");
    } else if (!strcmp(ty, "chat.queue.cancel")) {
        const char *id = wc_json_str(f, "messageId");
        if (!conv || !*conv)
            return want_of("chat.error", "R-D-QUEUE-5",
                           "chat.queue.cancel requires a non-empty string `conversationId`");
        if (!id || !*id)
            return want_of("chat.error", "R-D-QUEUE-5",
                           "chat.queue.cancel requires a non-empty string `messageId`");
    } else if (!strcmp(ty, "chat.subscribe") || !strcmp(ty, "chat.unsubscribe")) {
        if (!conv || !*conv)
            return want_of("chat.error", "R-D-SUB-6",
                           !strcmp(ty, "chat.subscribe")
                               ? "chat.subscribe requires a non-empty string `conversationId`"
                               : "chat.unsubscribe requires a non-empty string `conversationId`");
    }
    return want_of("", NULL, NULL); /* surface ops: their `error`s are not judged here */
}

/* An error reply D-9 judges: error / chat.error, not a sentinel's, a surface's or busy. */
static bool judged_error(const json_t *f)
{
    const char *ty = wc_json_str(f, "type"), *msg = wc_json_str(f, "message");
    if (!ty || (strcmp(ty, "error") && strcmp(ty, "chat.error")))
        return false;
    if (msg && !strncmp(msg, "Unknown surface: ", 17))
        return false;
    return !(msg && !strcmp(msg, BUSY));
}

/* The requirement an error reply to a request that wants none breaks. */
static const char *unwanted_req(const struct model *m, long last_send)
{
    const char *ty = last_send == NONE ? NULL : wc_json_str(frame_obj(m, last_send), "type");
    if (!ty)
        return "R-D-IN-3";
    if (!strcmp(ty, "chat.subscribe"))
        return "R-D-SUB-5";
    if (!strcmp(ty, "chat.unsubscribe"))
        return "R-D-SUB-7";
    if (!strcmp(ty, "chat.queue.cancel"))
        return "R-D-QUEUE-6";
    if (!strcmp(ty, "chat.queue"))
        return "R-D-QUEUE-3";
    if (!strcmp(ty, "chat.send"))
        return "R-D-SEND-5";
    return "R-D-IN-3";
}

/* The errors about a missing conversationId carry none (R-D-SUB-6, R-D-QUEUE-2). */
static bool nocid(const struct want *w)
{
    return w->req && (!strcmp(w->req, "R-D-SUB-6") || !strcmp(w->req, "R-D-QUEUE-2"));
}

/* R-D-SEND-4: the request's string conversationId is echoed; none, none; an empty one either
 * way. */
static bool echo_ok(const struct want *w, const char *rc, const json_t *ec)
{
    if (nocid(w) || !rc)
        return ec == NULL;
    if (!*rc)
        return ec == NULL || (json_is_string(ec) && !*json_string_value(ec));
    return json_is_string(ec) && !strcmp(json_string_value(ec), rc);
}

static void judge_reply(struct ctx *x, size_t inst, long s, long r)
{
    const struct model *m = x->m;
    struct want w = expected_reply(m, s);
    json_t *f = frame_obj(m, r), *ec = json_object_get(f, "conversationId");
    const char *ty = wc_json_str(f, "type"), *msg = wc_json_str(f, "message");
    const char *rc = wc_json_str(json_object_get(rec(m, s), "frame"), "conversationId");

    if (strcmp(ty, w.type) || !msg || (w.msg && strcmp(msg, w.msg)))
        violate(x, w.req, s, r, "%s: the reply is %s \"%s\", want %s \"%s\"", cname(m, inst), ty,
                msg ? msg : "(none)", w.type, w.msg ? w.msg : "(any message)");
    else if (!strcmp(w.type, "chat.error") && !echo_ok(&w, rc, ec))
        violate(x, "R-D-SEND-4", s, r, "%s: the chat.error %s the request's conversationId",
                cname(m, inst),
                rc && *rc && !nocid(&w) ? "does not echo" : "names a conversationId absent from");
    else if (!strcmp(w.type, "error") && json_object_get(f, "surfaceId"))
        violate(x, w.req, s, r, "%s: the error reply names a surfaceId", cname(m, inst));
    free(w.msg);
}

/*
 * Per connection, the requests that want a reply are a queue, and each judged error reply
 * answers the oldest (Dispatch handles a connection's frames in order, each at once). A
 * sentinel answered while the queue is not empty: a reply is missing.
 */
static void check_error_strings(struct ctx *x)
{
    const struct model *m = x->m;
    for (size_t inst = 0; inst < m->ninst; inst++) {
        long *q = wc_xcalloc(m->nrec + 1, sizeof(*q)), last = NONE;
        size_t qh = 0, qt = 0;
        for (long r = m->insts[inst].open_i; r < (long)m->nrec; r++) {
            if (m->inst_of[r] != (long)inst)
                continue;
            const char *t = rtype(m, r);
            if (!strcmp(t, "send") && !is_sentinel(m, r)) {
                struct want w = expected_reply(m, r);
                free(w.msg);
                if (!w.known)
                    break; /* nothing after it can be attributed */
                if (*w.type)
                    q[qt++] = r;
                last = r;
            } else if (!strcmp(t, "recv") && is_sentinel(m, r)) {
                if (qh < qt) {
                    struct want w = expected_reply(m, q[qh]);
                    violate(x, w.req, q[qh], r,
                            "%s: a malformed request got no reply (want %s \"%s\"; the gateway "
                            "answered a later sentinel)",
                            cname(m, inst), w.type, w.msg ? w.msg : "(any message)");
                    free(w.msg);
                    break;
                }
            } else if (!strcmp(t, "recv") && frame_obj(m, r) && judged_error(frame_obj(m, r))) {
                json_t *f = frame_obj(m, r);
                x->exercised = true;
                if (qh == qt) {
                    violate(x, unwanted_req(m, last), last, r,
                            "%s: an error reply (%s) to a request that wants none", cname(m, inst),
                            wc_json_str(f, "message") ? wc_json_str(f, "message") : "(none)");
                    break;
                }
                judge_reply(x, inst, q[qh++], r);
            }
        }
        if (qt)
            x->exercised = true;
        free(q);
    }
}

/* ---- D-10: a busy send: the replay, then exactly one chat.error -------------------------------
 */

static const struct turn *running(const struct model *m, const char *conv, long r)
{
    for (size_t k = 0; k < m->nturn; k++) {
        const struct turn *tu = &m->turns[k];
        if (!strcmp(tu->conv, conv) && tu->first_i < r && (tu->end_i == NONE || tu->end_i > r))
            return tu;
    }
    return NULL;
}

static void check_busy(struct ctx *x)
{
    const struct model *m = x->m;
    for (long s = 0; s < (long)m->nrec; s++) {
        if (m->inst_of[s] == NONE || strcmp(rtype(m, s), "send") || is_sentinel(m, s))
            continue;
        json_t *f = frame_obj(m, s);
        const char *ty = wc_json_str(f, "type"), *conv = wc_json_str(f, "conversationId");
        bool valid = false;
        if (ty && !strcmp(ty, "chat.send")) {
            struct want w = expected_reply(m, s);
            valid = w.known && !*w.type;
            free(w.msg);
        }
        const struct turn *tu = valid && conv ? running(m, conv, s) : NULL;
        if (!tu)
            continue;
        size_t inst = (size_t)m->inst_of[s];
        bool was_sub = subscribed_at(m, inst, conv, s), replayed = false;
        long err = NONE;
        x->exercised = true;
        for (long r = s + 1; r < (long)m->nrec; r++) {
            if (m->inst_of[r] != (long)inst || strcmp(rtype(m, r), "recv"))
                continue;
            json_t *g = frame_obj(m, r);
            const char *gt = wc_json_str(g, "type"), *gm = wc_json_str(g, "message");
            json_t *e = json_object_get(g, "event");
            if (gt && !strcmp(gt, "chat.delta") &&
                !strcmp(str_or(wc_json_str(e, "conversationId"), ""), conv)) {
                const char *et = str_or(wc_json_str(e, "type"), "");
                if (!strcmp(et, "user-message") &&
                    strcmp(str_or(wc_json_str(e, "turnId"), ""), tu->turn) && err == NONE) {
                    violate(x, "R-D-SEND-6", s, r,
                            "%s: a chat.send while turn %s ran started another turn",
                            cname(m, inst), tu->turn);
                    break;
                }
                replayed |= !strcmp(et, "user-message");
            } else if (gt && !strcmp(gt, "chat.error") && gm && !strcmp(gm, BUSY)) {
                if (err != NONE) {
                    violate(x, "R-D-SEND-6", err, r, "%s: two busy chat.errors for one chat.send",
                            cname(m, inst));
                    break;
                }
                err = r;
                if (!json_is_string(json_object_get(g, "conversationId")) ||
                    strcmp(wc_json_str(g, "conversationId"), conv)) {
                    violate(x, "R-D-SEND-6", s, r, "%s: the busy chat.error does not name %s",
                            cname(m, inst), conv);
                    break;
                }
                if (!was_sub && !replayed) {
                    violate(x, "R-D-SEND-6", s, r,
                            "%s: the busy chat.error came before the replay of turn %s",
                            cname(m, inst), tu->turn);
                    break;
                }
            } else if (is_sentinel(m, r) && err == NONE) {
                violate(x, "R-D-SEND-6", s, r,
                        "%s: a chat.send while turn %s ran got no busy chat.error (a later "
                        "sentinel was answered)",
                        cname(m, inst), tu->turn);
                break;
            } else if (frame_obj(m, r) && gt && !strcmp(gt, "chat.send")) {
                break;
            }
        }
    }
}

/* ---- D-11: status broadcasts ------------------------------------------------------------------
 */

static void check_status(struct ctx *x)
{
    const struct model *m = x->m;
    for (size_t k = 0; k < m->nturn; k++) {
        const struct turn *tu = &m->turns[k];
        bool later = false; /* this is the conversation's last turn */
        for (size_t o = 0; o < m->nturn; o++)
            later |=
                o != k && !strcmp(m->turns[o].conv, tu->conv) && m->turns[o].first_i > tu->first_i;
        if (later || tu->end_i == NONE)
            continue;
        for (size_t inst = 0; inst < m->ninst; inst++) {
            long last = NONE, queued = NONE, seal = NONE;
            const char *last_st = NULL;
            for (size_t j = 0; j < tu->n; j++) {
                if (tu->evs[j].inst == inst && !strcmp(tu->evs[j].type, "turn-sealed"))
                    seal = tu->evs[j].i;
            }
            for (long r = m->insts[inst].open_i; r < (long)m->nrec; r++) {
                json_t *f = m->inst_of[r] == (long)inst && !strcmp(rtype(m, r), "recv")
                                ? frame_obj(m, r)
                                : NULL;
                const char *st = wc_json_str(f, "status");
                if (!f ||
                    strcmp(str_or(wc_json_str(f, "type"), ""), "conversation.statusChanged") ||
                    strcmp(str_or(wc_json_str(f, "conversationId"), ""), tu->conv) || !st)
                    continue;
                x->exercised = true;
                if (!strcmp(st, "queued")) {
                    if (queued != NONE) {
                        violate(x, "R-D-STATUS-1", queued, r,
                                "%s: two queued statuses of %s with no active between",
                                cname(m, inst), tu->conv);
                        break;
                    }
                    queued = r;
                } else if (!strcmp(st, "active")) {
                    queued = NONE;
                }
                last = r;
                last_st = st;
            }
            if (seal == NONE || last == NONE || m->insts[inst].close_i != NONE)
                continue;
            if (last_st && !strcmp(last_st, "closed"))
                continue;
            if (last < seal || strcmp(last_st, "idle"))
                violate(x, "R-D-STATUS-1", seal, last,
                        "%s: the last status of %s after its turn sealed is %s, not idle",
                        cname(m, inst), tu->conv, last < seal ? "from before the seal" : last_st);
        }
    }
}

/* ---- D-12: transcript equals history ------------------------------------------------------------
 */

/* The text of a stored chunk (StoredChunk: an assistant text part), or NULL. */
static const char *chunk_text(const json_t *c)
{
    const json_t *ch = json_object_get(c, "chunk");
    const char *role = wc_json_str(c, "role");
    if (role && strcmp(role, "assistant"))
        return NULL;
    if (json_is_string(ch))
        return json_string_value(ch);
    const char *ty = wc_json_str(ch, "type");
    if (ty && strcmp(ty, "text"))
        return NULL;
    return wc_json_str(ch, "text") ? wc_json_str(ch, "text") : wc_json_str(ch, "content");
}

static void check_history(struct ctx *x)
{
    const struct model *m = x->m;
    for (long r = 0; r < (long)m->nrec; r++) {
        json_t *R = rec(m, r), *body = json_object_get(R, "body");
        const char *p = wc_json_str(R, "path"), *meth = wc_json_str(R, "method");
        json_t *chunks = json_object_get(body, "chunks");
        if (strcmp(rtype(m, r), "http") || !p || !meth || strcmp(meth, "GET") ||
            strncmp(p, "/conversations/", 15) || !json_is_array(chunks))
            continue;
        x->exercised = true;
        const char *q = strchr(p, '?'), *since = q ? strstr(q, "sinceSeq=") : NULL;
        json_int_t expect = since ? strtoll(since + 9, NULL, 10) + 1 : 1;
        size_t i;
        json_t *c;
        bool bad = false;
        json_array_foreach(chunks, i, c)
        {
            json_t *sq = json_object_get(c, "seq");
            if (!json_is_integer(sq) || json_integer_value(sq) != expect) {
                violate(x, "R-D-HIST-1", NONE, r,
                        "GET %s: chunk %zu has seq %s, want %lld (1-based, gap-free)", p, i + 1,
                        json_is_integer(sq) ? "another" : "none", (long long)expect);
                bad = true;
                break;
            }
            expect++;
        }
        if (bad || q)
            continue;
        /* the conversation: /conversations/<id> */
        char *conv = wc_xstrdup(p + 15);
        conv[strcspn(conv, "/?")] = '\0';
        bool all_sealed = true, any = false;
        char *seen = wc_xstrdup(""), *hist = wc_xstrdup("");
        for (size_t k = 0; k < m->nturn; k++) {
            const struct turn *tu = &m->turns[k];
            if (strcmp(tu->conv, conv))
                continue;
            any = true;
            all_sealed &= tu->end_i != NONE && tu->end_i < r;
            size_t ref = tu->n ? tu->evs[0].inst : 0;
            for (size_t j = 0; j < tu->n; j++) {
                const char *d = wc_json_str(tu->evs[j].event, "delta");
                if (tu->evs[j].inst == ref && !strcmp(tu->evs[j].type, "text-delta") && d) {
                    char *n = wc_xasprintf("%s%s", seen, d);
                    free(seen);
                    seen = n;
                }
            }
        }
        json_array_foreach(chunks, i, c)
        {
            const char *t = chunk_text(c);
            if (t) {
                char *n = wc_xasprintf("%s%s", hist, t);
                free(hist);
                hist = n;
            }
        }
        if (any && all_sealed && strcmp(seen, hist))
            violate(x, "R-D-HIST-2", NONE, r,
                    "GET %s: the history's assistant text (%zu bytes) is not the streamed text "
                    "(%zu bytes)",
                    p, strlen(hist), strlen(seen));
        free(seen);
        free(hist);
        free(conv);
    }
}

/* ---- the table --------------------------------------------------------------------------------
 */

static const struct checker {
    struct hn_invariant_info info;
    void (*fn)(struct ctx *);
} checkers[] = {
    {{"d_catalog_first", "R-D-WS-1", "D-1: the first frame on every connection is the catalog"},
     check_catalog_first},
    {{"d_turn_grammar", "R-D-TURN-1,R-D-TURN-2,R-D-TURN-3",
      "D-2: per connection and turn: user-message, turn-start, ..., done, turn-sealed; nothing "
      "after the seal; tool-result after its step-complete"},
     check_grammar},
    {{"d_one_terminal", "R-D-TURN-2,R-D-TURN-5",
      "D-3: exactly one terminal per turn: one turn-sealed after a done, or an orchestrator-level "
      "error with neither"},
     check_one_terminal},
    {{"d_tool_pairing", "R-D-TURN-3",
      "D-4: every tool-result has an earlier tool-call of the same id and step; one result per "
      "call"},
     check_tool_pairing},
    {{"d_late_join_replay", "R-D-SUB-2",
      "D-5: a late joiner's replay and live frames equal what an always-subscribed observer "
      "received for the turn, element by element"},
     check_late_join},
    {{"d_no_replay_after_seal", "R-D-SUB-3",
      "D-6: a subscribe after a turn ended replays none of it"},
     check_no_replay_after_seal},
    {{"d_fanout_equal", "R-D-FAN-1,R-D-SUB-4",
      "D-7: every subscriber of a conversation receives the same chat.delta sequence per turn"},
     check_fanout},
    {{"d_disconnect_no_abort", "R-D-CLOSE-1",
      "D-8: a socket closed mid-turn never aborts the turn (no done reason aborted without a "
      "close over HTTP)"},
     check_disconnect},
    {{"d_error_strings",
      "R-D-IN-1,R-D-IN-2,R-D-IN-3,R-D-SEND-1,R-D-SEND-2,R-D-SEND-3,R-D-SEND-4,R-D-SEND-5,R-D-QUEUE-"
      "1,R-D-QUEUE-2,R-D-QUEUE-3,R-D-QUEUE-5,R-D-QUEUE-6,R-D-SUB-5,R-D-SUB-6,R-D-SUB-7",
      "D-9: every malformed request gets exactly one reply of the documented type and string, "
      "echoing its conversationId"},
     check_error_strings},
    {{"d_busy_ordering", "R-D-SEND-6",
      "D-10: a chat.send while a turn runs gets the replay, then exactly one busy chat.error "
      "naming the conversation, and starts no turn"},
     check_busy},
    {{"d_status_order", "R-D-STATUS-1",
      "D-11: at most one queued before each active; the last status after the last seal is idle "
      "(or closed)"},
     check_status},
    {{"d_history_equal", "R-D-HIST-1,R-D-HIST-2",
      "D-12: history seqs are 1..N gap-free; once sealed, the streamed text equals the history's"},
     check_history},
};

#define NCHECKERS (sizeof(checkers) / sizeof(checkers[0]))

const struct hn_invariant_info *hn_dispatch_table(size_t *n)
{
    static struct hn_invariant_info infos[NCHECKERS];
    for (size_t i = 0; i < NCHECKERS; i++)
        infos[i] = checkers[i].info;
    *n = NCHECKERS;
    return infos;
}

json_t *hn_dispatch_run(const struct hn_transcript *t, const struct hn_msgcat *catalog)
{
    struct model m;
    json_t *checks = json_object(), *viol = json_array(), *supp = NULL;

    (void)catalog;
    model_build(&m, t);
    for (size_t i = 0; i < NCHECKERS; i++) {
        struct ctx x = {.m = &m, .violations = viol, .checker = checkers[i].info.name};
        checkers[i].fn(&x);
        hn_check_outcome(checks, &supp, x.checker, x.reported, x.exercised, x.suppressed);
    }
    model_free(&m);
    return hn_check_result(checks, viol, supp);
}
