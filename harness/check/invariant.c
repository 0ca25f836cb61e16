/*
 * invariant.c: the invariant checkers and their table (see invariant.h). Each walks the
 * records with the transcript model of tmodel.h, built once per transcript.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check/invariant.h"
#include "check/tmodel.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

/* --- reporting ------------------------------------------------------------------------- */

struct ctx {
    struct model *m;     /* the model */
    json_t *violations;  /* the result array */
    const char *checker; /* the running checker */
    bool exercised;      /* something applied */
    int reported;        /* violations of this checker */
    int suppressed;      /* past the cap */
};

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Record a violation with up to three witness records (NONE to leave out). */
static void violate(struct ctx *x, const char *req, long w1, long w2, long w3, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void violate(struct ctx *x, const char *req, long w1, long w2, long w3, const char *fmt, ...)
{
    long w[3] = {w1, w2, w3};
    json_t *v, *wit, *frames;
    char *msg;
    va_list ap;
    int i;

    if (x->reported >= HN_INVARIANT_MAX_REPORTS) {
        x->suppressed++;
        return;
    }
    x->reported++;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    qsort(w, 3, sizeof(w[0]), cmp_long);
    wit = json_array();
    frames = json_array();
    for (i = 0; i < 3; i++) {
        if (w[i] == NONE || (i > 0 && w[i] == w[i - 1]))
            continue;
        json_array_append_new(wit, json_integer(x->m->ri[w[i]].n));
        json_array_append_new(frames, json_deep_copy(hn_tm_rec_at(x->m, w[i])));
    }
    v = json_object();
    json_object_set_new(v, "checker", json_string(x->checker));
    json_object_set_new(v, "requirement", json_string(req));
    json_object_set_new(v, "message", json_string(msg ? msg : "(out of memory)"));
    json_object_set_new(v, "witness", wit);
    json_object_set_new(v, "frames", frames);
    json_array_append_new(x->violations, v);
    free(msg);
}

static const char *cname(const struct ctx *x, long conn)
{
    return conn >= 0 ? x->m->conns[conn].name : "?";
}

#define RN(i) ((long long)x->m->ri[(i)].n) /* record number for messages */

/* Run-event filter shared by the checkers: a received frame with a seq (and a session). */
static bool is_ev(const struct model *m, size_t i)
{
    return m->ri[i].type == RT_RECV && m->ri[i].run_event;
}

/* --- seq_contiguous (R-SEQ-1, R-SEQ-2, R-SUB-3, R-SUB-7) --------------------------------- */

struct seq_state {
    long last_run;    /* run of the previous event on this (conn, session), or NONE */
    int64_t last_seq; /* its seq */
    long last_idx;    /* its record */
    bool had_event;   /* any event yet */
    bool expect;      /* the next event starts a replay */
    int64_t l, mm;    /* the ack's lastSeq asked for and reported */
    long ack_idx;     /* the ack */
    bool trunc_ok;    /* a history_truncated allows one jump */
    long max_run;     /* the newest run seen here */
};

/* The earlier event on conn with the same run and seq, for a duplicate's witness. */
static long find_same_seq(const struct model *m, size_t upto, long conn, long run, int64_t seq)
{
    size_t i;

    for (i = 0; i < upto; i++) {
        if (is_ev(m, i) && m->ri[i].conn == conn && m->ri[i].run == run && m->ri[i].seq == seq)
            return (long)i;
    }
    return NONE;
}

static void seq_replay_start(struct ctx *x, struct seq_state *st, size_t i)
{
    const struct rinfo *ri = &x->m->ri[i];
    bool stale = st->l > st->mm;
    int64_t want = stale ? 1 : st->l + 1;
    bool gap_ok = !stale && (st->mm - st->l > x->m->replay_cap || st->trunc_ok);
    char *sn = hn_tm_sess_name(x->m, ri->sess);

    if (ri->seq == want || (gap_ok && ri->seq > want)) {
        free(sn);
        return;
    }
    if (stale && ri->seq == st->mm + 1)
        violate(
            x, "R-SUB-7", st->ack_idx, (long)i, NONE,
            "%s: stale cursor for %s: subscribed with lastSeq %lld above the run's lastSeq %lld "
            "(record %lld); expected a replay of the whole run from seq 1, but the next event is "
            "the live seq %lld (record %lld)",
            cname(x, ri->conn), sn, (long long)st->l, (long long)st->mm, RN(st->ack_idx),
            (long long)ri->seq, RN(i));
    else
        violate(
            x, "R-SUB-3", st->ack_idx, (long)i, NONE,
            "%s: after chat_subscribed for %s (record %lld: lastSeq asked %lld, run at %lld) the "
            "next event has seq %lld (record %lld), expected %lld%s",
            cname(x, ri->conn), sn, RN(st->ack_idx), (long long)st->l, (long long)st->mm,
            (long long)ri->seq, RN(i), (long long)want,
            ri->seq < want ? ": it replays events the client already has" : ": a gap");
    free(sn);
}

static void seq_event(struct ctx *x, struct seq_state *st, size_t i)
{
    const struct model *m = x->m;
    const struct rinfo *ri = &m->ri[i];
    const struct run *ru = &m->runs[ri->run];
    char *sn;

    x->exercised = true;
    if (st->had_event && ri->run < st->max_run)
        return; /* a late event of an older run: one_terminal reports it */
    if (!st->had_event || ri->run > st->max_run)
        st->max_run = ri->run;
    if (st->expect) {
        seq_replay_start(x, st, i);
        st->expect = false;
        st->trunc_ok = false;
    } else if (!st->had_event || ri->run != st->last_run) {
        /* a run this connection started must begin at 1; joining without asking is unconstrained */
        if (ri->seq != 1 && ru->starter == ri->conn) {
            sn = hn_tm_sess_name(m, ri->sess);
            violate(x, ru->k > 0 ? "R-SEQ-2" : "R-SEQ-1", ru->start_send_idx, (long)i, NONE,
                    "%s: the run of %s started by its chat.send (record %lld) begins at seq %lld "
                    "(record %lld), expected 1",
                    cname(x, ri->conn), sn, RN(ru->start_send_idx), (long long)ri->seq, RN(i));
            free(sn);
        }
    } else if (ri->seq == st->last_seq + 1) {
        /* contiguous */
    } else if (ri->seq > st->last_seq + 1 && st->trunc_ok) {
        st->trunc_ok = false;
    } else if (ri->seq > st->last_seq) {
        sn = hn_tm_sess_name(m, ri->sess);
        violate(x, "R-SEQ-1", st->last_idx, (long)i, NONE,
                "%s: gap in %s: seq %lld (record %lld) follows seq %lld (record %lld)",
                cname(x, ri->conn), sn, (long long)ri->seq, RN(i), (long long)st->last_seq,
                RN(st->last_idx));
        free(sn);
    } else {
        long prev = find_same_seq(m, i, ri->conn, ri->run, ri->seq);
        sn = hn_tm_sess_name(m, ri->sess);
        if (prev == NONE)
            prev = st->last_idx;
        violate(x, "R-SEQ-1", prev, (long)i, NONE,
                "%s: duplicate or out of order in %s: seq %lld (record %lld) after seq %lld "
                "(record %lld)",
                cname(x, ri->conn), sn, (long long)ri->seq, RN(i), (long long)st->last_seq,
                RN(st->last_idx));
        free(sn);
    }
    if (!st->had_event || ri->run != st->last_run || ri->seq > st->last_seq)
        st->last_seq = ri->seq;
    st->last_run = ri->run;
    st->last_idx = (long)i;
    st->had_event = true;
}

static void check_seq_contiguous(struct ctx *x)
{
    struct model *m = x->m;
    struct cs_table cs;
    size_t i;

    hn_tm_cs_init(&cs, m->nconns, sizeof(struct seq_state));
    for (i = 0; i < m->nrec; i++) {
        struct rinfo *ri = &m->ri[i];
        struct seq_state *st;
        if (ri->type != RT_RECV || ri->sess == NONE || !ri->kind)
            continue;
        st = hn_tm_cs_get(&cs, ri->conn, ri->sess);
        if (ri->ack) {
            st->expect = ri->ack_processing && ri->ack_has_m && ri->ack_has_l;
            st->l = ri->ack_l;
            st->mm = ri->ack_m;
            st->ack_idx = (long)i;
        } else if (!strcmp(ri->kind, "history_truncated")) {
            st->trunc_ok = true;
        } else if (ri->run_event) {
            seq_event(x, st, i);
        }
    }
    hn_tm_cs_release(&cs, NULL);
}

/* --- one_terminal (R-TERM-1, R-TERM-2, R-SUB-6, R-FAN-2) --------------------------------- */

struct term_state {
    bool active;         /* a segment (events of one run on this conn) is open */
    long run;            /* its run */
    long complete_idx;   /* its first complete on this conn, or NONE */
    long last_idx;       /* its last event (or the attaching ack) */
    bool via_sub;        /* attached by a subscribe that found the run processing */
    bool after_reported; /* one report per segment for events after the terminal */
    bool dup_reported;   /* one report per segment for a second complete */
    long old_reported;   /* 1 + the older run whose late events were reported, 0 = none */
    size_t nevents;      /* events in the segment */
};

/* Did another connection's subscribe take the run over in (from, to) without fan-out? */
static bool displaced(const struct model *m, long conn, long sess, long from, long to)
{
    long i;

    if (m->fanout)
        return false;
    for (i = from + 1; i < to && i < (long)m->nrec; i++) {
        const struct rinfo *ri = &m->ri[i];
        if (ri->type == RT_RECV && ri->ack && ri->ack_processing && ri->sess == sess &&
            ri->conn != conn)
            return true;
    }
    return false;
}

static void report_missing(struct ctx *x, long conn, long sess, const struct term_state *st,
                           long evidence, const char *how)
{
    const struct run *ru = &x->m->runs[st->run];
    const char *req = displaced(x->m, conn, sess, st->last_idx, evidence) ? "R-FAN-2"
                      : st->via_sub                                       ? "R-SUB-6"
                                                                          : "R-TERM-1";
    char *sn = hn_tm_sess_name(x->m, sess);

    violate(x, req, st->last_idx, evidence, NONE,
            "%s: missing terminal: %s run %zu of %s (last at record %lld) and never got its "
            "complete; the run ended: %s (record %lld)",
            cname(x, conn), st->via_sub ? "a subscribe attached it to" : "it received events of",
            ru->k + 1, sn, RN(st->last_idx), how, RN(evidence));
    free(sn);
}

static void term_event(struct ctx *x, struct term_state *st, size_t i)
{
    const struct rinfo *ri = &x->m->ri[i];
    bool is_complete = !strcmp(ri->kind, "complete");
    long old_end;
    char *sn;

    x->exercised = true;
    if (st->active && st->via_sub && st->nevents == 0)
        st->run = ri->run; /* the subscribe's run is known only from its events */
    if (st->active && ri->run < st->run) {
        old_end = x->m->runs[ri->run].complete_idx;
        if (is_complete && old_end != NONE && old_end < (long)i) {
            /* a duplicate terminal of the older run: named as such, whatever was reported */
            sn = hn_tm_sess_name(x->m, ri->sess);
            violate(
                x, "R-TERM-1", old_end, (long)i, NONE,
                "%s: duplicate terminal: complete seq %lld (record %lld) is a second complete "
                "for run %zu of %s, after its complete seq %lld (record %lld) and after run %zu "
                "began",
                cname(x, ri->conn), (long long)ri->seq, RN(i), x->m->runs[ri->run].k + 1, sn,
                (long long)x->m->ri[old_end].seq, RN(old_end), x->m->runs[st->run].k + 1);
            free(sn);
            return;
        }
        if (st->old_reported == ri->run + 1)
            return;
        st->old_reported = ri->run + 1;
        sn = hn_tm_sess_name(x->m, ri->sess);
        old_end = old_end != NONE ? old_end : st->last_idx;
        violate(x, "R-TERM-2", old_end, (long)i, NONE,
                "%s: event after terminal: %s seq %lld (record %lld) continues run %zu of %s (its "
                "complete: record %lld) after run %zu began",
                cname(x, ri->conn), ri->kind, (long long)ri->seq, RN(i), x->m->runs[ri->run].k + 1,
                sn, RN(old_end), x->m->runs[st->run].k + 1);
        free(sn);
        return;
    }
    if (st->active && ri->run != st->run) {
        if (st->complete_idx == NONE)
            report_missing(x, ri->conn, ri->sess, st, (long)i,
                           "a new run of the session began on this connection");
        st->active = false;
    }
    if (!st->active) {
        *st = (struct term_state){
            .active = true, .run = ri->run, .complete_idx = NONE, .last_idx = (long)i};
    } else if (st->complete_idx != NONE && is_complete && !st->dup_reported) {
        /* the duplicate terminal is reported on its own, even after an event after the terminal
         * was (a baseline that excuses a status after complete must not hide a second complete) */
        sn = hn_tm_sess_name(x->m, ri->sess);
        violate(x, "R-TERM-1", st->complete_idx, (long)i, NONE,
                "%s: duplicate terminal: complete seq %lld (record %lld) is a second complete for "
                "run %zu of %s, after its complete seq %lld (record %lld)",
                cname(x, ri->conn), (long long)ri->seq, RN(i), x->m->runs[ri->run].k + 1, sn,
                (long long)x->m->ri[st->complete_idx].seq, RN(st->complete_idx));
        free(sn);
        st->dup_reported = true;
    } else if (st->complete_idx != NONE && !is_complete && !st->after_reported) {
        sn = hn_tm_sess_name(x->m, ri->sess);
        violate(x, "R-TERM-2", st->complete_idx, (long)i, NONE,
                "%s: event after terminal: %s seq %lld (record %lld) after the complete of run "
                "%zu of %s (record %lld)",
                cname(x, ri->conn), ri->kind, (long long)ri->seq, RN(i), x->m->runs[ri->run].k + 1,
                sn, RN(st->complete_idx));
        free(sn);
        st->after_reported = true;
    }
    if (is_complete && st->complete_idx == NONE)
        st->complete_idx = (long)i;
    st->last_idx = (long)i;
    st->nevents++;
}

static void term_ack(struct ctx *x, struct term_state *st, size_t i)
{
    const struct rinfo *ri = &x->m->ri[i];

    x->exercised = true;
    if (st->active && st->run == ri->run)
        return;
    if (st->active && st->complete_idx == NONE && st->nevents > 0 && ri->run > st->run)
        report_missing(x, ri->conn, ri->sess, st, (long)i,
                       "a subscribe on this connection found a newer run processing");
    *st = (struct term_state){
        .active = true, .run = ri->run, .complete_idx = NONE, .last_idx = (long)i, .via_sub = true};
}

/* Did conn send something after `after` and receive something after that (a round trip)? */
static bool round_trip_after(const struct model *m, long conn, long after)
{
    long i;
    bool sent = false;

    for (i = after + 1; i < (long)m->nrec; i++) {
        if (m->ri[i].conn != conn)
            continue;
        if (m->ri[i].type == RT_SEND)
            sent = true;
        else if (sent && m->ri[i].type == RT_RECV)
            return true;
    }
    return false;
}

/* At the end: an open connection that never got the complete of a run that has ended. */
static void term_finish(struct ctx *x, long conn, long sess, struct term_state *st)
{
    const struct model *m = x->m;
    const struct run *ru;
    long ev = NONE;
    const char *how = NULL;

    /* the connection need not stay open to the end (the harness closes every client when a
     * case ends): the round trip below proves it was open, and quiet, after the run ended */
    if (!st->active || st->complete_idx != NONE)
        return;
    ru = &m->runs[st->run];
    if (ru->complete_idx != NONE) {
        ev = ru->complete_idx;
        how = "another connection received its complete";
    }
    if (ru->prun != NONE) {
        const struct prun *p = &m->pruns[ru->prun];
        long pe = p->done_idx != NONE ? p->done_idx : p->aborted_idx;
        if (pe != NONE && (ev == NONE || pe < ev)) {
            ev = pe;
            how =
                p->done_idx == pe ? "the provider reported done" : "the provider reported aborted";
        }
    }
    if (ru->k + 1 < m->sessions[sess].nruns) {
        long nx = m->runs[m->sessions[sess].runs[ru->k + 1]].first_idx;
        if (ev == NONE || nx < ev) {
            ev = nx;
            how = "a new run of the session began";
        }
    }
    if (ev == NONE)
        return;
    /* only when a later round trip on this connection proves the complete is not in flight */
    if (!round_trip_after(m, conn, ev > st->last_idx ? ev : st->last_idx))
        return;
    report_missing(x, conn, sess, st, ev, how);
}

static void check_one_terminal(struct ctx *x)
{
    struct model *m = x->m;
    struct cs_table cs;
    size_t i, c, k;

    hn_tm_cs_init(&cs, m->nconns, sizeof(struct term_state));
    for (i = 0; i < m->nrec; i++) {
        struct rinfo *ri = &m->ri[i];
        if (ri->type != RT_RECV || ri->sess == NONE)
            continue;
        if (ri->run_event)
            term_event(x, hn_tm_cs_get(&cs, ri->conn, ri->sess), i);
        else if (ri->ack && ri->ack_processing && ri->run != NONE)
            term_ack(x, hn_tm_cs_get(&cs, ri->conn, ri->sess), i);
    }
    for (c = 0; c < cs.nconn; c++) {
        for (k = 0; k < cs.per[c].n; k++)
            term_finish(x, (long)c, cs.per[c].slots[k].sess, cs.per[c].slots[k].state);
    }
    hn_tm_cs_release(&cs, NULL);
}

/* --- no_native_ids (R-MAP-2, R-MAP-1) ----------------------------------------------------- */

struct native {
    const char *id; /* the native id */
    long idx;       /* the record that announced it */
};

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Does s contain id? Ids shorter than 8 characters must stand alone as a token. */
static bool contains_id(const char *s, const char *id)
{
    size_t len = strlen(id);
    const char *p = s;

    if (!len)
        return false;
    while ((p = strstr(p, id)) != NULL) {
        if (len >= 8 || ((p == s || !id_char(p[-1])) && !id_char(p[len])))
            return true;
        p++;
    }
    return false;
}

/* The path (".a.b[2]") of the first string value in v containing id, into out; false if none. */
static bool find_in_value(const json_t *v, const char *id, char *out, size_t outlen, bool top,
                          bool upserted)
{
    const char *key;
    json_t *e;
    size_t i, used = strlen(out);

    if (json_is_string(v))
        return contains_id(json_string_value(v), id);
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, e)
        {
            /* R-MAP-4: session_upserted.providerSessionId may carry the native id */
            if (top && upserted && !strcmp(key, "providerSessionId"))
                continue;
            snprintf(out + used, outlen - used, ".%s", key);
            if (find_in_value(e, id, out, outlen, false, false))
                return true;
            out[used] = '\0';
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e)
        {
            snprintf(out + used, outlen - used, "[%zu]", i);
            if (find_in_value(e, id, out, outlen, false, false))
                return true;
            out[used] = '\0';
        }
    }
    return false;
}

/* Is id the app id of a session the case created? */
static bool app_session(const struct model *m, const char *id)
{
    json_t *si = json_object_get(m->sess_by_sid, id);
    return si && m->sessions[json_integer_value(si)].rec_idx != NONE;
}

static size_t collect_natives(const struct model *m, struct native **out)
{
    struct native *nat = NULL;
    size_t i, n = 0;

    for (i = 0; i < m->nrec; i++) {
        const json_t *msg = json_object_get(hn_tm_rec_at(m, (long)i), "msg");
        const char *type = wc_json_str(msg, "type"), *id = NULL;
        if (m->ri[i].type != RT_CTL || !type)
            continue;
        if (!strcmp(type, "announced"))
            id = wc_json_str(msg, "nativeId");
        else if (!strcmp(type, "emitted") &&
                 hn_tm_is_kind(json_object_get(msg, "event"), "session_created"))
            id = hn_tm_session_created_id(json_object_get(msg, "event"));
        /* an id equal to an app session id cannot be told apart from it */
        if (!id || !*id || app_session(m, id))
            continue;
        nat = hn_tm_grow(nat, n, sizeof(*nat));
        nat[n++] = (struct native){.id = id, .idx = (long)i};
    }
    *out = nat;
    return n;
}

/* R-MAP-1: a run event's sessionId (and a complete's actualSessionId) is an app session id. */
static void check_app_ids(struct ctx *x, size_t i, const struct native *nat, size_t nn)
{
    static const char *const fields[] = {"sessionId", "actualSessionId"};
    const struct rinfo *ri = &x->m->ri[i];
    size_t f, k;

    for (f = 0; f < 2; f++) {
        const char *v = wc_json_str(ri->frame, fields[f]);
        json_t *si;
        if (f == 1 && strcmp(ri->kind, "complete"))
            continue;
        if (!v)
            continue;
        si = json_object_get(x->m->sess_by_sid, v);
        if (si && x->m->sessions[json_integer_value(si)].rec_idx != NONE)
            continue;
        for (k = 0; k < nn && strcmp(nat[k].id, v); k++)
            ;
        if (k < nn)
            continue; /* already a native-id leak (R-MAP-2) */
        violate(x, "R-MAP-1", (long)i, NONE, NONE,
                "%s: %s seq %lld (record %lld) has %s '%s', which is not the app id of any session "
                "the case created",
                cname(x, ri->conn), ri->kind, (long long)ri->seq, RN(i), fields[f], v);
    }
}

static void check_no_native_ids(struct ctx *x)
{
    const struct model *m = x->m;
    struct native *nat;
    size_t nn = collect_natives(m, &nat), i, k;
    char path[512];

    for (i = 0; i < m->nrec; i++) {
        const struct rinfo *ri = &m->ri[i];
        const json_t *rec;
        if (ri->type != RT_RECV)
            continue;
        rec = hn_tm_rec_at(m, (long)i);
        if (nn)
            x->exercised = true;
        for (k = 0; k < nn; k++) {
            const char *text = wc_json_str(rec, "text");
            path[0] = '\0';
            if (ri->frame ? find_in_value(ri->frame, nat[k].id, path, sizeof(path), true,
                                          ri->kind && !strcmp(ri->kind, "session_upserted"))
                          : (text && contains_id(text, nat[k].id))) {
                violate(
                    x, "R-MAP-2", nat[k].idx, (long)i, NONE,
                    "%s: native id '%s' (announced at record %lld) appears in %s%s (record %lld)",
                    cname(x, ri->conn), nat[k].id, RN(nat[k].idx),
                    ri->kind ? ri->kind : "a text frame", ri->frame ? path : "", RN(i));
                break;
            }
        }
        if (m->has_sessions && ri->run_event) {
            x->exercised = true;
            check_app_ids(x, i, nat, nn);
        }
    }
    free(nat);
}

/* --- no_session_created (R-MAP-3) ---------------------------------------------------------- */

static void check_no_session_created(struct ctx *x)
{
    const struct model *m = x->m;
    size_t i;

    for (i = 0; i < m->nrec; i++) {
        const struct rinfo *ri = &m->ri[i];
        if (ri->type != RT_RECV)
            continue;
        x->exercised = true;
        if (ri->kind && !strcmp(ri->kind, "session_created"))
            violate(x, "R-MAP-3", (long)i, NONE, NONE,
                    "%s: received session_created (record %lld); the gateway must swallow it",
                    cname(x, ri->conn), RN(i));
    }
}

/* --- ack_before_replay (R-SUB-2) ----------------------------------------------------------- */

struct abr_state {
    bool pending_send; /* sent chat.send, not rejected yet, no event yet */
    long att_run1;     /* 1 + the run this conn receives live (events or an ack), 0 = none */
    bool att_done;     /* it got that run's complete */
    int waiting;       /* subscribes sent while detached, not acked yet */
    long wait_idx;     /* the first of them */
    bool reported;     /* one report per wait */
};

static void abr_send(struct ctx *x, struct cs_table *cs, size_t i)
{
    const struct model *m = x->m;
    const struct rinfo *ri = &m->ri[i];
    json_t *arr = json_object_get(ri->frame, "sessions"), *e;
    size_t k;

    if (!strcmp(ri->kind, "chat.send")) {
        if (ri->sess != NONE)
            ((struct abr_state *)hn_tm_cs_get(cs, ri->conn, ri->sess))->pending_send = true;
        return;
    }
    if (strcmp(ri->kind, "chat.subscribe") || ri->sentinel || !json_is_array(arr))
        return;
    json_array_foreach(arr, k, e)
    {
        char *sid = hn_tm_trimmed(hn_tm_str(e, "sessionId"));
        long s = sid ? hn_tm_sess_lookup((struct model *)m, sid, false) : NONE;
        struct abr_state *st;
        bool attached;
        free(sid);
        if (s == NONE)
            continue;
        st = hn_tm_cs_get(cs, ri->conn, s);
        attached = st->pending_send || (st->att_run1 && !st->att_done);
        if (attached)
            continue;
        x->exercised = true;
        if (!st->waiting++) {
            st->wait_idx = (long)i;
            st->reported = false;
        }
    }
}

static void check_ack_before_replay(struct ctx *x)
{
    struct model *m = x->m;
    struct cs_table cs;
    size_t i;

    hn_tm_cs_init(&cs, m->nconns, sizeof(struct abr_state));
    for (i = 0; i < m->nrec; i++) {
        const struct rinfo *ri = &m->ri[i];
        struct abr_state *st;
        if (ri->type == RT_SEND && ri->kind && json_is_object(ri->frame)) {
            abr_send(x, &cs, i);
            continue;
        }
        if (ri->type != RT_RECV || ri->sess == NONE || !ri->kind)
            continue;
        st = hn_tm_cs_get(&cs, ri->conn, ri->sess);
        if (!strcmp(ri->kind, "protocol_error")) {
            st->pending_send = false;
        } else if (ri->ack) {
            if (st->waiting && !--st->waiting)
                st->reported = false;
            if (ri->ack_processing && ri->run != NONE) {
                st->att_run1 = ri->run + 1;
                st->att_done = false;
            }
        } else if (ri->run_event) {
            if (st->waiting && !st->reported) {
                char *sn = hn_tm_sess_name(m, ri->sess);
                violate(x, "R-SUB-2", st->wait_idx, (long)i, NONE,
                        "%s: %s seq %lld of %s (record %lld) arrived before the chat_subscribed "
                        "answering the subscribe at record %lld",
                        cname(x, ri->conn), ri->kind, (long long)ri->seq, sn, RN(i),
                        RN(st->wait_idx));
                free(sn);
                st->reported = true;
            }
            st->pending_send = false;
            st->att_run1 = ri->run + 1;
            st->att_done = !strcmp(ri->kind, "complete");
        }
    }
    hn_tm_cs_release(&cs, NULL);
}

/* --- replay_consistent (R-SEQ-3, R-SUB-3, R-FAN-1) ------------------------------------------ */

/* The first key whose value differs between two objects (NULL when equal). */
static const char *first_diff_key(const json_t *a, const json_t *b)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)a, key, v)
    {
        if (!json_equal(v, json_object_get(b, key)))
            return key;
    }
    json_object_foreach((json_t *)b, key, v)
    {
        if (!json_object_get(a, key))
            return key;
    }
    return NULL;
}

static bool equal_but_seq(const json_t *a, const json_t *b)
{
    json_t *ca = json_copy((json_t *)a), *cb = json_copy((json_t *)b);
    bool eq;

    json_object_del(ca, "seq");
    json_object_del(cb, "seq");
    eq = json_equal(ca, cb);
    json_decref(ca);
    json_decref(cb);
    return eq;
}

/*
 * Linear in the records whatever the ids are: copies of an event are found by hashing, never by
 * comparing a copy with every earlier one (a gateway that gives every event the same id must
 * not make the check quadratic). Keys are "sid \x1f id \x1f part": by_seq has one
 * representative per (session, id, seq), the first copy with that seq; by_body the first
 * representative per (session, id, content without seq), under a 64-bit hash of its canonical
 * text, registered only for ids that occur twice; ids maps (session, id) to its first copy.
 */
struct copies {
    json_t *ids;     /* "sid\x1fid" -> first copy's record index * 2 + (its body is registered) */
    json_t *by_seq;  /* "sid\x1fid\x1fseq" -> representative */
    json_t *by_body; /* "sid\x1fid\x1fhash" -> first representative with that content */
    json_t *by_run;  /* "run\x1fseq" -> the first live (not replayed) event of that run and seq */
};

static char *copy_key(const char *a, const char *b, const char *part)
{
    return part ? wc_xasprintf("%s\x1f%s\x1f%s", a, b, part) : wc_xasprintf("%s\x1f%s", a, b);
}

/* The key of a frame's content without its seq (FNV-1a of the canonical text). */
static char *body_key(const char *sid, const char *id, const json_t *frame)
{
    json_t *c = json_copy((json_t *)frame);
    char *text, hex[17];
    uint64_t h = 0xcbf29ce484222325ULL;

    json_object_del(c, "seq");
    text = wc_json_canon(c);
    json_decref(c);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    free(text);
    snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)h);
    return copy_key(sid, id, hex);
}

static void register_body(struct copies *cp, const struct model *m, const char *sid, const char *id,
                          long j)
{
    char *k = body_key(sid, id, m->ri[j].frame);

    if (!json_object_get(cp->by_body, k))
        json_object_set_new(cp->by_body, k, json_integer((json_int_t)j));
    free(k);
}

/* A copy of an event (its session and id seen before): compare it with its representative. */
static void replay_compare(struct ctx *x, struct copies *cp, size_t i, const char *sid,
                           const char *id, json_int_t first)
{
    const struct model *m = x->m;
    const struct rinfo *ri = &m->ri[i];
    json_t *seq = json_object_get(ri->frame, "seq"), *rep;
    char *st = seq ? wc_json_canon(seq) : wc_xstrdup(""); /* a seq's canon is never empty */
    char *skey = copy_key(sid, id, st), *bkey;
    long j;

    free(st);
    x->exercised = true;
    if ((rep = json_object_get(cp->by_seq, skey))) {
        const struct rinfo *rj;
        j = (long)json_integer_value(rep);
        rj = &m->ri[j];
        if (!json_equal(ri->frame, rj->frame)) {
            const char *key = first_diff_key(rj->frame, ri->frame);
            bool replay = ri->replay || rj->replay || ri->conn == rj->conn;
            violate(x, replay ? "R-SEQ-3" : "R-FAN-1", j, (long)i, NONE,
                    "copies of event '%s' differ in '%s': %s got one at record %lld, %s at record "
                    "%lld%s",
                    id, key ? key : "?", cname(x, rj->conn), RN(j), cname(x, ri->conn), RN(i),
                    ri->replay ? " (a replay)" : "");
        }
        free(skey);
        return;
    }
    /* a seq no copy had: the id now repeats, so every representative's content is registered */
    if (!(first & 1)) {
        char *ikey = copy_key(sid, id, NULL);
        register_body(cp, m, sid, id, (long)(first >> 1));
        json_object_set_new(cp->ids, ikey, json_integer(first | 1));
        free(ikey);
    }
    bkey = body_key(sid, id, ri->frame);
    rep = json_object_get(cp->by_body, bkey);
    j = rep ? (long)json_integer_value(rep) : NONE;
    if (j != NONE && equal_but_seq(ri->frame, m->ri[j].frame)) {
        char *a = wc_json_compact(json_object_get(m->ri[j].frame, "seq"));
        char *b = wc_json_compact(seq);
        violate(x, "R-SEQ-3", j, (long)i, NONE,
                "a copy of event '%s' changed its seq: %s at record %lld, %s at record %lld", id, a,
                RN(j), b, RN(i));
        free(a);
        free(b);
    } else if (j == NONE) {
        json_object_set_new(cp->by_body, bkey, json_integer((json_int_t)i));
    }
    free(bkey);
    json_object_set_new(cp->by_seq, skey, json_integer((json_int_t)i));
    free(skey);
}

/* A replayed copy under a new id: the live original of the same run and seq had another id. */
static void replay_fresh_id(struct ctx *x, struct copies *cp, size_t i)
{
    const struct model *m = x->m;
    const struct rinfo *ri = &m->ri[i], *rj;
    char run[32], seqs[32], *key;
    json_t *v;
    long j;

    snprintf(run, sizeof(run), "%ld", ri->run);
    snprintf(seqs, sizeof(seqs), "%lld", (long long)ri->seq);
    key = copy_key(run, seqs, NULL);
    v = json_object_get(cp->by_run, key);
    free(key);
    if (!v)
        return;
    j = (long)json_integer_value(v);
    rj = &m->ri[j];
    x->exercised = true;
    violate(x, "R-SEQ-3", j, (long)i, NONE,
            "%s: the replayed copy of seq %lld has a new id '%s' (record %lld); the original has "
            "id '%s' (%s, record %lld)",
            cname(x, ri->conn), (long long)ri->seq, wc_json_str(ri->frame, "id"), RN(i),
            wc_json_str(rj->frame, "id") ? wc_json_str(rj->frame, "id") : "(none)",
            cname(x, rj->conn), RN(j));
}

/* Index a live run event by (run, seq), the first one only, for replay_fresh_id. */
static void index_live(struct copies *cp, const struct model *m, size_t i)
{
    char run[32], seqs[32], *key;

    if (!is_ev(m, i) || m->ri[i].replay)
        return;
    snprintf(run, sizeof(run), "%ld", m->ri[i].run);
    snprintf(seqs, sizeof(seqs), "%lld", (long long)m->ri[i].seq);
    key = copy_key(run, seqs, NULL);
    if (!json_object_get(cp->by_run, key))
        json_object_set_new(cp->by_run, key, json_integer((json_int_t)i));
    free(key);
}

static void check_replay_consistent(struct ctx *x)
{
    const struct model *m = x->m;
    struct copies cp = {json_object(), json_object(), json_object(), json_object()};
    size_t i;

    for (i = 0; i < m->nrec; i++) {
        const struct rinfo *ri = &m->ri[i];
        const char *id, *sid;
        json_t *first;
        char *key;
        if (ri->type == RT_RECV && json_is_object(ri->frame)) {
            if (ri->fresh_replay)
                replay_fresh_id(x, &cp, i);
            id = wc_json_str(ri->frame, "id");
            sid = wc_json_str(ri->frame, "sessionId");
            if (id && sid) {
                key = copy_key(sid, id, NULL);
                first = json_object_get(cp.ids, key);
                if (first) {
                    replay_compare(x, &cp, i, sid, id, json_integer_value(first));
                    free(key);
                } else {
                    char *st = json_object_get(ri->frame, "seq")
                                   ? wc_json_canon(json_object_get(ri->frame, "seq"))
                                   : wc_xstrdup("");
                    char *skey = copy_key(sid, id, st);
                    json_object_set_new(cp.by_seq, skey, json_integer((json_int_t)i));
                    json_object_set_new(cp.ids, key, json_integer((json_int_t)i * 2));
                    free(skey);
                    free(st);
                    free(key);
                }
            }
        }
        index_live(&cp, m, i);
    }
    json_decref(cp.ids);
    json_decref(cp.by_seq);
    json_decref(cp.by_body);
    json_decref(cp.by_run);
}

/* --- catalog_valid (R-CAT-1, R-EVT-1, R-TERM-3) -------------------------------------------- */

static void catalog_recv(struct ctx *x, size_t i)
{
    const struct model *m = x->m;
    const struct rinfo *ri = &m->ri[i];
    const json_t *rec = hn_tm_rec_at(m, (long)i), *f = ri->frame;
    char *why = NULL;
    const char *req = "R-CAT-1";
    int64_t code;

    x->exercised = true;
    if (!f) {
        /* binary: the opcode; hex without it: a text frame whose bytes are not UTF-8 */
        bool bin = json_is_true(json_object_get(rec, "binary"));
        violate(x, "R-CAT-1", (long)i, NONE, NONE, "%s: received a %s (record %lld)",
                cname(x, ri->conn),
                bin                           ? "binary frame that is not JSON"
                : json_object_get(rec, "hex") ? "text frame that is not valid UTF-8"
                                              : "text frame that is not JSON",
                RN(i));
        return;
    }
    if (ri->kind && hn_msgcat_is_never(m->cat, ri->kind))
        return; /* no_session_created reports it */
    if (hn_msgcat_check_outbound(m->cat, f, &why)) {
        if (ri->kind && !strcmp(ri->kind, "complete")) {
            req = "R-TERM-3";
        } else if (ri->kind &&
                   (json_object_get(f, "seq") || hn_msgcat_is_run_event(m->cat, ri->kind))) {
            char *ewhy = NULL;
            if (hn_msgcat_check_envelope(m->cat, f, &ewhy))
                req = "R-EVT-1";
            free(ewhy);
        }
        violate(x, req, (long)i, NONE, NONE, "%s: record %lld: %s", cname(x, ri->conn), RN(i), why);
        free(why);
        return;
    }
    /* R-TERM-3: success = (exitCode is 0 and not aborted) */
    if (ri->kind && !strcmp(ri->kind, "complete") && wc_json_int(f, "exitCode", &code) &&
        json_is_boolean(json_object_get(f, "success")) &&
        json_is_boolean(json_object_get(f, "aborted"))) {
        bool want = code == 0 && !wc_json_bool(f, "aborted", false);
        if (wc_json_bool(f, "success", false) != want)
            violate(x, "R-TERM-3", (long)i, NONE, NONE,
                    "%s: complete (record %lld) has success %s with exitCode %lld and aborted %s",
                    cname(x, ri->conn), RN(i), want ? "false" : "true", (long long)code,
                    wc_json_bool(f, "aborted", false) ? "true" : "false");
    }
}

static void check_catalog_valid(struct ctx *x)
{
    const struct model *m = x->m;
    const char *source = wc_json_str(m->header, "source");
    bool recording = source && strstr(source, "record"); /* "gwspec record" */
    bool *answered;
    long *last_send;
    size_t i;

    if (!m->cat)
        return;
    answered = wc_xcalloc(m->nrec + 1, sizeof(*answered));
    last_send = wc_xcalloc(m->nconns + 1, sizeof(*last_send));
    for (i = 0; i < m->nconns; i++)
        last_send[i] = NONE;
    for (i = 0; i < m->nrec; i++) {
        const struct rinfo *ri = &m->ri[i];
        if (ri->type == RT_SEND)
            last_send[ri->conn] = (long)i;
        else if (ri->type == RT_RECV && ri->kind && !strcmp(ri->kind, "protocol_error") &&
                 last_send[ri->conn] != NONE)
            answered[last_send[ri->conn]] = true;
    }
    for (i = 0; i < m->nrec; i++) {
        const struct rinfo *ri = &m->ri[i];
        char *why = NULL;
        if (ri->type == RT_RECV) {
            catalog_recv(x, i);
        } else if (ri->type == RT_SEND && recording && json_is_object(ri->frame) && ri->kind &&
                   hn_msgcat_has_inbound(m->cat, ri->kind)) {
            /* a recording of a real client (header source: record): its own frames are checked
             * too, unless the gateway answered them with a protocol_error. A case's frames are
             * deliberate, often deliberately invalid, and say nothing about the gateway. */
            x->exercised = true;
            if (hn_msgcat_check_inbound(m->cat, ri->frame, &why) && !answered[i])
                violate(x, "R-CAT-1", (long)i, NONE, NONE, "%s: sent frame (record %lld): %s",
                        cname(x, ri->conn), RN(i), why);
            free(why);
        }
    }
    free(answered);
    free(last_send);
}

/* --- errors_to_requester (R-IN-3) ---------------------------------------------------------- */

static void check_errors_to_requester(struct ctx *x)
{
    const struct model *m = x->m;
    long *sent = wc_xcalloc(m->nconns + 1, sizeof(*sent)),
         *errs = wc_xcalloc(m->nconns + 1, sizeof(*errs));
    long last_send_any = NONE;
    size_t i;

    for (i = 0; i < m->nrec; i++) {
        const struct rinfo *ri = &m->ri[i];
        if (ri->type == RT_SEND) {
            sent[ri->conn]++;
            last_send_any = (long)i;
        } else if (ri->type == RT_RECV && ri->kind && !strcmp(ri->kind, "protocol_error")) {
            x->exercised = true;
            /* more errors than frames, and the latest frame came from another connection: that
             * frame's error reached this one (one frame answered twice on its own socket is a
             * different fault, which the cases check) */
            if (++errs[ri->conn] > sent[ri->conn] &&
                (last_send_any == NONE || m->ri[last_send_any].conn != ri->conn))
                violate(
                    x, "R-IN-3", last_send_any, (long)i, NONE,
                    "%s: protocol_error %s (record %lld) is its error number %ld, but it sent only "
                    "%ld frame%s; the latest frame before it was sent by %s (record %lld)",
                    cname(x, ri->conn),
                    wc_json_str(ri->frame, "code") ? wc_json_str(ri->frame, "code") : "", RN(i),
                    errs[ri->conn], sent[ri->conn], sent[ri->conn] == 1 ? "" : "s",
                    last_send_any != NONE ? cname(x, m->ri[last_send_any].conn) : "nobody",
                    last_send_any != NONE ? RN(last_send_any) : 0LL);
        }
    }
    free(sent);
    free(errs);
}

/* --- connection_survives (R-IN-4) ---------------------------------------------------------- */

static void check_connection_survives(struct ctx *x)
{
    const struct model *m = x->m;
    long *bad = wc_xcalloc(m->nconns + 1, sizeof(*bad));
    bool *bad_utf8 = wc_xcalloc(m->nconns + 1, sizeof(*bad_utf8));
    bool *asked = wc_xcalloc(m->nconns + 1, sizeof(*asked)); /* a valid frame sent since bad */
    size_t i, c;

    for (c = 0; c < m->nconns; c++)
        bad[c] = NONE;
    for (i = 0; i < m->nrec; i++) {
        const struct rinfo *ri = &m->ri[i];
        const json_t *rec = hn_tm_rec_at(m, (long)i);
        int64_t code = -1;
        char codebuf[40];
        const char *by;
        if (ri->type == RT_NOTE && wc_json_str(rec, "text") &&
            strstr(wc_json_str(rec, "text"), "restart")) {
            for (c = 0; c < m->nconns; c++)
                bad[c] = NONE; /* closes around a target restart are not about the input */
        } else if (ri->type == RT_SEND && ri->bad_input && !ri->sentinel) {
            x->exercised = true;
            if (bad[ri->conn] == NONE) {
                bad[ri->conn] = (long)i;
                asked[ri->conn] = false;
            }
            bad_utf8[ri->conn] |=
                json_object_get(rec, "hex") && !wc_json_bool(rec, "binary", false);
        } else if (ri->type == RT_SEND) {
            asked[ri->conn] = bad[ri->conn] != NONE;
        } else if (ri->type == RT_RECV && ri->kind && !strcmp(ri->kind, "protocol_error")) {
            x->exercised = true;
            if (bad[ri->conn] == NONE) { /* the witness is the first bad event of the streak */
                bad_utf8[ri->conn] = false;
                bad[ri->conn] = (long)i;
                asked[ri->conn] = false;
            }
        } else if (ri->type == RT_RECV && asked[ri->conn] &&
                   ((ri->kind && !strcmp(ri->kind, "chat_subscribed")) || ri->run_event)) {
            /* the connection handled a frame sent after the bad one: it survived. A frame that
             * answers nothing (another session's session_upserted, broadcast to every socket of
             * the user) proves nothing about the bad input, which may still be in flight */
            bad[ri->conn] = NONE;
            asked[ri->conn] = false;
        } else if (ri->type == RT_CLOSE && bad[ri->conn] != NONE) {
            by = wc_json_str(rec, "by");
            if (!by || !strcmp(by, "client"))
                continue;
            /* gwspec record: a drop says which end dropped */
            if (!strcmp(by, "drop") && wc_json_str(rec, "side") &&
                !strcmp(wc_json_str(rec, "side"), "client"))
                continue;
            wc_json_int(rec, "code", &code);
            /* R-LIMIT-1: oversize closes with 1009; RFC 6455 fails invalid UTF-8 with 1007 */
            if (code == 1009 || (code == 1007 && bad_utf8[ri->conn]))
                continue;
            codebuf[0] = '\0';
            if (code >= 0)
                snprintf(codebuf, sizeof(codebuf), " with code %lld", (long long)code);
            violate(x, "R-IN-4", bad[ri->conn], (long)i, NONE,
                    "%s: the server %s the connection%s (record %lld) after %s (record %lld)",
                    cname(x, ri->conn), strcmp(by, "drop") ? "closed" : "dropped", codebuf, RN(i),
                    m->ri[bad[ri->conn]].type == RT_SEND ? "its malformed input"
                                                         : "a protocol_error",
                    RN(bad[ri->conn]));
        }
    }
    free(bad);
    free(bad_utf8);
    free(asked);
}

/* --- cwd_is_project_path (R-TRUST-1) ------------------------------------------------------- */

/* Lexical normal form: no repeated '/', no "/." segments, no trailing '/'. New string. */
static char *norm_path(const char *p)
{
    char *out = wc_xmalloc(strlen(p) + 2);
    size_t o = 0;

    while (*p) {
        if (*p == '/' && (p[1] == '/' || (p[1] == '.' && (p[2] == '/' || !p[2])))) {
            p += p[1] == '/' ? 1 : 2;
            continue;
        }
        out[o++] = *p++;
    }
    while (o > 1 && out[o - 1] == '/')
        o--;
    out[o] = '\0';
    return out;
}

static bool same_path(const char *a, const char *b)
{
    char *na = norm_path(a), *nb = norm_path(b), *ra, *rb;
    bool same = !strcmp(na, nb);

    free(na);
    free(nb);
    if (same)
        return true;
    /* both exist here (the usual case when checking on the machine that ran it): resolve links */
    ra = realpath(a, NULL);
    rb = realpath(b, NULL);
    same = ra && rb && !strcmp(ra, rb);
    free(ra);
    free(rb);
    return same;
}

static void check_cwd_is_project_path(struct ctx *x)
{
    const struct model *m = x->m;
    size_t i;

    for (i = 0; i < m->nrec; i++) {
        const json_t *msg = json_object_get(hn_tm_rec_at(m, (long)i), "msg");
        const char *type = wc_json_str(msg, "type"), *cwd = wc_json_str(msg, "cwd");
        const struct sess *se;
        long s;
        if (m->ri[i].type != RT_CTL || m->ri[i].prun == NONE || !type || !cwd ||
            (strcmp(type, "hello") && strcmp(type, "report")))
            continue;
        s = m->pruns[m->ri[i].prun].sess;
        if (s == NONE || !m->sessions[s].project)
            continue;
        se = &m->sessions[s];
        x->exercised = true;
        if (!same_path(cwd, se->project))
            violate(x, "R-TRUST-1", se->rec_idx, (long)i, NONE,
                    "script %s of session %s ran in '%s' (%s, record %lld), not the session's "
                    "projectPath '%s' (record %lld)",
                    m->pruns[m->ri[i].prun].label, se->label, cwd, type, RN(i), se->project,
                    RN(se->rec_idx));
    }
}

/* --- provider_to_client (R-FWD-1) ---------------------------------------------------------- */

static bool is_envelope_key(const char *key, const char *kind)
{
    static const char *const keys[] = {"id", "sessionId", "timestamp", "provider", "seq", NULL};
    size_t i;

    for (i = 0; keys[i]; i++) {
        if (!strcmp(keys[i], key))
            return true;
    }
    /* permission request ids are made by the gateway (cloudcli-notes.md §5.3) */
    return !strcmp(key, "requestId") && kind && !strncmp(kind, "permission_", 11);
}

static bool value_same(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal(a, b);
}

/* s with every occurrence of id (as contains_id counts them) replaced by app; NULL if none. */
static char *replace_native(const char *s, const char *id, const char *app)
{
    size_t len = strlen(id), at = 0;
    const char *p;
    char *out = NULL, *tmp;
    bool hit = false;

    out = wc_xstrdup("");
    while (len && (p = strstr(s + at, id)) != NULL) {
        size_t off = (size_t)(p - s);
        bool counts = len >= 8 || ((off == 0 || !id_char(s[off - 1])) && !id_char(s[off + len]));
        tmp = wc_xasprintf("%s%.*s%s", out, (int)(off - at + (counts ? 0 : 1)), s + at,
                           counts ? app : "");
        free(out);
        out = tmp;
        at = off + (counts ? len : 1);
        hit |= counts;
    }
    if (!hit) {
        free(out);
        return NULL;
    }
    tmp = wc_xasprintf("%s%s", out, s + at);
    free(out);
    return tmp;
}

/* In place: every native id of session s inside a string value of v, at any depth, -> app id. */
static void remap_natives(const struct model *m, json_t *v, long s, int depth)
{
    const char *key;
    json_t *e, *sv;
    size_t i;

    if (depth > JSON_PARSER_MAX_DEPTH)
        return;
    if (json_is_string(v)) {
        json_object_foreach(m->native_sess, key, sv)
        {
            char *to;
            if (json_integer_value(sv) != s)
                continue;
            to = replace_native(json_string_value(v), key, m->sessions[s].sid);
            if (!to)
                continue;
            json_string_set(v, to);
            free(to);
        }
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, e) remap_natives(m, e, s, depth + 1);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e) remap_natives(m, e, s, depth + 1);
    }
}

/*
 * The first payload field of the provider's event that the client's copy lacks or changes.
 * R-MAP-2 wins over R-FWD-1: a value may arrive as emitted or with the session's native ids
 * remapped to its app id (as emitted with a native id left in, no_native_ids reports it).
 */
static const char *payload_diff(const struct model *m, long sess, const json_t *emitted,
                                const json_t *got)
{
    const char *key, *kind = wc_json_str(emitted, "kind");
    json_t *v, *mapped = NULL;

    json_object_foreach((json_t *)emitted, key, v)
    {
        json_t *g = json_object_get(got, key);
        if (is_envelope_key(key, kind))
            continue;
        if (g && value_same(v, g))
            continue;
        if (g && sess != NONE && !mapped) {
            mapped = json_deep_copy(emitted);
            remap_natives(m, mapped, sess, 0);
        }
        if (g && mapped && value_same(json_object_get(mapped, key), g))
            continue;
        json_decref(mapped);
        return key;
    }
    json_decref(mapped);
    return NULL;
}

/*
 * The provider's events the client should see: up to its first complete, minus session_created.
 * *completed: the provider emitted a complete.
 */
static size_t expected_events(const struct model *m, const struct prun *p, long *out,
                              bool *completed)
{
    size_t k, n = 0;

    *completed = false;
    for (k = 0; k < p->nemitted; k++) {
        const json_t *ev =
            json_object_get(json_object_get(hn_tm_rec_at(m, p->emitted[k]), "msg"), "event");
        if (hn_tm_is_kind(ev, "complete")) {
            *completed = true;
            break;
        }
        if (json_is_object(ev) && !hn_tm_is_kind(ev, "session_created"))
            out[n++] = p->emitted[k];
    }
    return n;
}

/* The run's events as `conn` received them live, up to (not including) its complete. */
static size_t received_events(const struct model *m, long run, long conn, long *out, long *complete)
{
    size_t i, n = 0;

    *complete = NONE;
    for (i = 0; i < m->nrec; i++) {
        const struct rinfo *ri = &m->ri[i];
        if (!is_ev(m, i) || ri->conn != conn || ri->run != run || ri->replay)
            continue;
        if (!strcmp(ri->kind, "complete")) {
            *complete = (long)i;
            break;
        }
        if (!strcmp(ri->kind, "session_created") ||
            (m->cat && hn_msgcat_is_never(m->cat, ri->kind)))
            continue; /* no_session_created reports it */
        out[n++] = (long)i;
    }
    return n;
}

static long run_recipient(const struct model *m, long run)
{
    size_t i;

    if (m->runs[run].starter != NONE)
        return m->runs[run].starter;
    for (i = 0; i < m->nrec; i++) {
        if (is_ev(m, i) && m->ri[i].run == run && m->ri[i].seq == 1 && !m->ri[i].replay)
            return m->ri[i].conn;
    }
    return NONE;
}

/*
 * A permission_* event the gateway made itself: the provider's permission step asks through
 * the provider interface, and the gateway emits permission_request (with its own requestId),
 * permission_cancelled on a timeout and permission_resolved; none is an `emitted` event.
 */
static bool gateway_made(const json_t *got, const json_t *expected)
{
    const char *k = wc_json_str(got, "kind");
    return k && !strncmp(k, "permission_", 11) && !hn_tm_is_kind(expected, k);
}

/*
 * R-TERM-4: the provider's process or runtime ended (`done`, not by an abort) without having
 * emitted a complete, the run was not aborted, and the gateway sent its synthetic complete; then
 * one informational `error` MAY precede that complete. It reports the end of the provider, so it
 * comes after every event the provider emitted: got[g] is that error when it is followed by
 * nothing but gateway-made permission events up to the complete. Anything else (a second error,
 * an error before the provider's own complete or before an aborted complete, an error followed by
 * a provider event) is still an invented event.
 */
static bool synthetic_end_error(const struct model *m, const struct prun *p, bool completed,
                                bool aborted, const long *got, size_t g, size_t ng, long complete)
{
    if (completed || aborted || complete == NONE || p->done_idx == NONE)
        return false;
    if (!hn_tm_is_kind(m->ri[got[g]].frame, "error"))
        return false;
    for (g++; g < ng; g++) {
        if (!gateway_made(m->ri[got[g]].frame, NULL))
            return false;
    }
    return true;
}

static void fwd_compare(struct ctx *x, const struct prun *p, long conn, const long *exp, size_t ne,
                        bool completed, const long *got, size_t ng, long complete)
{
    const struct model *m = x->m;
    bool aborted = p->aborted_idx != NONE || (p->done_how && !strcmp(p->done_how, "aborted")) ||
                   (complete != NONE && wc_json_bool(m->ri[complete].frame, "aborted", false));
    bool full = !aborted && complete != NONE && p->done_idx != NONE;
    size_t e = 0, g = 0;

    while (e < ne && g < ng) {
        const json_t *ev =
            json_object_get(json_object_get(hn_tm_rec_at(m, exp[e]), "msg"), "event");
        const json_t *rf = m->ri[got[g]].frame;
        const char *key = payload_diff(m, p->sess, ev, rf);
        if (!key) {
            e++, g++;
            continue;
        }
        if (gateway_made(rf, ev)) {
            g++;
            continue;
        }
        {
            char *a = wc_json_compact(json_object_get(ev, key)),
                 *b = wc_json_compact(json_object_get(rf, key));
            violate(x, "R-FWD-1", exp[e], got[g], NONE,
                    "script %s run %s: event %zu differs: the provider emitted %s with %s %s "
                    "(record %lld), %s received %s with %s %s (record %lld)",
                    p->label, p->run ? p->run : "?", e + 1, wc_json_str(ev, "kind"), key, a,
                    RN(exp[e]), cname(x, conn), m->ri[got[g]].kind, key,
                    json_object_get(rf, key) ? b : "missing", RN(got[g]));
            free(a);
            free(b);
        }
        return;
    }
    while (g < ng && gateway_made(m->ri[got[g]].frame, NULL))
        g++;
    if (g < ng && e == ne && synthetic_end_error(m, p, completed, aborted, got, g, ng, complete))
        g = ng;
    if (g < ng)
        violate(
            x, "R-FWD-1", got[g], NONE, NONE,
            "script %s run %s: %s received %s seq %lld (record %lld), which the provider did not "
            "emit before its complete (it emitted %zu events)",
            p->label, p->run ? p->run : "?", cname(x, conn), m->ri[got[g]].kind,
            (long long)m->ri[got[g]].seq, RN(got[g]), ne);
    else if (full && e < ne)
        violate(
            x, "R-FWD-1", exp[e], complete, NONE,
            "script %s run %s: %s got the run's complete (record %lld) after %zu of the %zu events "
            "the provider emitted; event %zu (record %lld) never arrived",
            p->label, p->run ? p->run : "?", cname(x, conn), RN(complete), g, ne, e + 1,
            RN(exp[e]));
}

static void check_provider_to_client(struct ctx *x)
{
    const struct model *m = x->m;
    long *exp = wc_xcalloc(m->nrec + 1, sizeof(*exp)), *got = wc_xcalloc(m->nrec + 1, sizeof(*got));
    size_t p;

    for (p = 0; p < m->nprun; p++) {
        const struct prun *pr = &m->pruns[p];
        long conn, complete;
        size_t ne, ng;
        bool completed;
        if (pr->crun == NONE || pr->hello_idx == NONE)
            continue;
        conn = run_recipient(m, pr->crun);
        if (conn == NONE)
            continue;
        x->exercised = true;
        ne = expected_events(m, pr, exp, &completed);
        ng = received_events(m, pr->crun, conn, got, &complete);
        fwd_compare(x, pr, conn, exp, ne, completed, got, ng, complete);
    }
    free(exp);
    free(got);
}

/* --- answers_in_order (R-IN-1, R-IN-2, R-SUB-1) -------------------------------------------- */

/*
 * What a sent frame asks for. A gateway answers one connection's requests in the order it
 * received them, so once a later request of the same connection has its answer, an earlier
 * request that must be answered and has not been never will be.
 */
enum ask {
    ASK_BAD, /* malformed or unknown type: exactly one protocol_error (R-IN-1, R-IN-2) */
    ASK_SUB, /* one valid chat.subscribe entry: its chat_subscribed (R-SUB-1) */
    ASK_MAY, /* chat.send, chat.abort, chat.permission-response: an error or nothing */
    ASK_ANY, /* an extension type, a binary or truncated frame: may get any error */
};

struct unit {
    long send_idx; /* the request */
    enum ask ask;  /* what it asks for */
    char *sid;     /* ASK_SUB: the trimmed session id */
    bool done;     /* answered, reported, or past an answer to a later request */
};

struct aio_conn {
    struct unit *u; /* the connection's requests in send order */
    size_t n;       /* entries */
    size_t head;    /* the first one not done */
};

static void aio_add(struct aio_conn *c, long idx, enum ask ask, char *sid)
{
    c->u = hn_tm_grow(c->u, c->n, sizeof(*c->u));
    c->u[c->n++] = (struct unit){.send_idx = idx, .ask = ask, .sid = sid};
}

/* The requests one sent frame makes, appended to its connection. */
static void aio_send(struct ctx *x, struct aio_conn *c, size_t i)
{
    const struct rinfo *ri = &x->m->ri[i];
    const json_t *rec = hn_tm_rec_at(x->m, (long)i), *arr, *e;
    const char *type = ri->kind;
    size_t k;

    if (ri->bad_input) {
        /* a binary frame or a payload kept only in part (over 1 MiB, which a SHOULD-level cap
         * closes with 1009) is not required to be answered */
        bool any = wc_json_bool(rec, "binary", false) || wc_json_bool(rec, "truncated", false);
        aio_add(c, (long)i, any ? ASK_ANY : ASK_BAD, NULL);
        x->exercised |= !any;
        return;
    }
    if (!strcmp(type, "chat.subscribe")) {
        arr = json_object_get(ri->frame, "sessions");
        json_array_foreach(arr, k, e)
        {
            char *sid = json_is_object(e) ? hn_tm_trimmed(hn_tm_str(e, "sessionId")) : NULL;
            if (sid) {
                aio_add(c, (long)i, ASK_SUB, sid);
                x->exercised = true;
            }
        }
    } else if (!strcmp(type, "chat.send") || !strcmp(type, "chat.abort") ||
               !strcmp(type, "chat.permission-response")) {
        aio_add(c, (long)i, ASK_MAY, NULL);
    } else {
        aio_add(c, (long)i, ASK_ANY, NULL);
    }
}

/* Can frame f (a chat_subscribed or a protocol_error) be the answer to u? */
static bool aio_answers(const struct unit *u, const json_t *f, bool subscribed)
{
    const char *code = wc_json_str(f, "code"), *err = wc_json_str(f, "error");
    char *sid;
    bool same;

    switch (u->ask) {
    case ASK_SUB:
        if (!subscribed)
            return false;
        sid = hn_tm_trimmed(hn_tm_str(f, "sessionId"));
        same = sid && !strcmp(sid, u->sid);
        free(sid);
        return same;
    case ASK_BAD:
        /* any code (a wrong one is R-IN-1's and R-IN-2's cases' to judge), except those only a
         * well-formed chat.send or chat.abort earns */
        if (subscribed)
            return false;
        return !code || (strcmp(code, "SESSION_ID_REQUIRED") && strcmp(code, "SESSION_NOT_FOUND") &&
                         strcmp(code, "UNSUPPORTED_PROVIDER") && strcmp(code, "RUN_IN_PROGRESS") &&
                         strcmp(code, "NO_ACTIVE_RUN"));
    case ASK_ANY:
        return !subscribed;
    case ASK_MAY:
        /* a well-formed request of a known type earns neither of the payload errors, except
         * a handler's own exception reported as INTERNAL_ERROR (cloudcli-notes.md §4) */
        if (subscribed || (code && !strcmp(code, "UNKNOWN_MESSAGE_TYPE")))
            return false;
        return !(code && !strcmp(code, "INTERNAL_ERROR") && err &&
                 !strcmp(err, "Invalid websocket payload"));
    }
    return false;
}

static const char *aio_requirement(const struct model *m, const struct unit *u)
{
    const json_t *f = m->ri[u->send_idx].frame;

    if (u->ask == ASK_SUB)
        return "R-SUB-1";
    return f && json_is_object(f) ? "R-IN-2" : "R-IN-1";
}

static char *aio_what(const struct model *m, const struct unit *u)
{
    const struct rinfo *ri = &m->ri[u->send_idx];

    if (u->ask == ASK_SUB)
        return wc_xasprintf("the chat.subscribe entry for '%s'", u->sid);
    if (ri->frame && json_is_object(ri->frame))
        return ri->kind ? wc_xasprintf("the %s frame", ri->kind)
                        : wc_xstrdup("a frame with no string type");
    return wc_xstrdup(ri->frame ? "a JSON frame that is not an object"
                                : "a frame that is not JSON");
}

/* An answer arrived: match it to the oldest request it can answer, and report what it skips. */
static void aio_recv(struct ctx *x, struct aio_conn *c, size_t i)
{
    const struct model *m = x->m;
    const struct rinfo *ri = &m->ri[i];
    bool subscribed = !strcmp(ri->kind, "chat_subscribed");
    size_t j, k;

    for (j = c->head; j < c->n; j++) {
        if (!c->u[j].done && aio_answers(&c->u[j], ri->frame, subscribed))
            break;
    }
    if (j == c->n)
        return; /* answers nothing we know of: errors_to_requester and the cases judge it */
    for (k = c->head; k < j; k++) {
        struct unit *u = &c->u[k];
        char *what, *later;
        if (u->done)
            continue;
        u->done = true;
        if (u->ask != ASK_BAD && u->ask != ASK_SUB)
            continue; /* it may go unanswered */
        what = aio_what(m, u);
        later = aio_what(m, &c->u[j]);
        violate(x, aio_requirement(m, u), u->send_idx, c->u[j].send_idx, (long)i,
                "%s: %s (record %lld) was never answered, but %s %s (record %lld) got its "
                "answer, %s (record %lld): a connection's requests are answered in order",
                cname(x, ri->conn), what, RN(u->send_idx), later,
                u->send_idx == c->u[j].send_idx ? "after it in the same frame" : "sent after it",
                RN(c->u[j].send_idx), ri->kind, RN(i));
        free(what);
        free(later);
    }
    c->u[j].done = true;
    while (c->head < c->n && c->u[c->head].done)
        c->head++;
}

static void check_answers_in_order(struct ctx *x)
{
    const struct model *m = x->m;
    struct aio_conn *conns = wc_xcalloc(m->nconns + 1, sizeof(*conns));
    size_t i, c, k;

    for (i = 0; i < m->nrec; i++) {
        const struct rinfo *ri = &m->ri[i];
        if (ri->conn == NONE)
            continue;
        if (ri->type == RT_SEND)
            aio_send(x, &conns[ri->conn], i);
        else if (ri->type == RT_RECV && ri->kind &&
                 (!strcmp(ri->kind, "chat_subscribed") || !strcmp(ri->kind, "protocol_error")))
            aio_recv(x, &conns[ri->conn], i);
    }
    for (c = 0; c < m->nconns; c++) {
        for (k = 0; k < conns[c].n; k++)
            free(conns[c].u[k].sid);
        free(conns[c].u);
    }
    free(conns);
}

/* --- the table ----------------------------------------------------------------------------- */

struct checker {
    struct hn_invariant_info info;
    void (*fn)(struct ctx *x);
};

static const struct checker checkers[] = {
    {{"seq_contiguous", "R-SEQ-1,R-SEQ-2,R-SUB-3,R-SUB-7",
      "per connection and session, run events go 1,2,3...; a replay continues at lastSeq+1 (or 1 "
      "for "
      "a stale cursor); no gap, no duplicate"},
     check_seq_contiguous},
    {{"one_terminal", "R-TERM-1,R-TERM-2,R-SUB-6,R-FAN-2",
      "at most one complete per run per connection, nothing after it, and an open attached "
      "connection gets the complete of a run that ended"},
     check_one_terminal},
    {{"no_native_ids", "R-MAP-2,R-MAP-1",
      "no provider-native id in any received frame (session_upserted.providerSessionId excepted); "
      "run events carry the app session id"},
     check_no_native_ids},
    {{"no_session_created", "R-MAP-3", "no client ever receives session_created"},
     check_no_session_created},
    {{"ack_before_replay", "R-SUB-2",
      "a connection that subscribes to a run it is not attached to gets chat_subscribed before any "
      "event of that session"},
     check_ack_before_replay},
    {{"replay_consistent", "R-SEQ-3,R-SUB-3,R-FAN-1",
      "every copy of an event (replayed or fanned out) is identical, seq, id and timestamp "
      "included"},
     check_replay_consistent},
    {{"catalog_valid", "R-CAT-1,R-EVT-1,R-TERM-3",
      "every received frame is JSON and valid against the message catalog; complete.success is "
      "exitCode 0 and not aborted"},
     check_catalog_valid},
    {{"errors_to_requester", "R-IN-3",
      "a connection never receives more protocol_errors than it sent frames"},
     check_errors_to_requester},
    {{"connection_survives", "R-IN-4",
      "the server does not close a connection because of malformed input or a protocol error "
      "(1009 for oversize excepted)"},
     check_connection_survives},
    {{"cwd_is_project_path", "R-TRUST-1",
      "the provider's working directory (hello, report) is its session's projectPath"},
     check_cwd_is_project_path},
    {{"provider_to_client", "R-FWD-1",
      "what the provider emitted reaches the sending connection one to one and in order, up to the "
      "complete; nothing else but gateway-made permission events and, before the synthetic "
      "complete "
      "of a provider that ended without one, one informational error (R-TERM-4)"},
     check_provider_to_client},
    {{"answers_in_order", "R-IN-2,R-IN-1,R-SUB-1",
      "on one connection requests are answered in order: a malformed or unknown-type frame (its "
      "protocol_error) or a valid subscribe entry (its chat_subscribed) still unanswered when a "
      "later request's answer arrives is never answered"},
     check_answers_in_order},
};

#define NCHECKERS (sizeof(checkers) / sizeof(checkers[0]))

const struct hn_invariant_info *hn_invariant_table(size_t *n)
{
    static struct hn_invariant_info infos[NCHECKERS];
    size_t i;

    for (i = 0; i < NCHECKERS; i++)
        infos[i] = checkers[i].info;
    *n = NCHECKERS;
    return infos;
}

void hn_check_outcome(json_t *checks, json_t **supp, const char *checker, int reported,
                      bool exercised, int suppressed)
{
    json_object_set_new(checks, checker,
                        json_string(reported    ? "fail"
                                    : exercised ? "pass"
                                                : "not_exercised"));
    if (suppressed) {
        if (!*supp)
            *supp = json_object();
        json_object_set_new(*supp, checker, json_integer(suppressed));
    }
}

json_t *hn_check_result(json_t *checks, json_t *violations, json_t *supp)
{
    json_t *out = json_object();

    json_object_set_new(out, "checks", checks);
    json_object_set_new(out, "violations", violations);
    if (supp)
        json_object_set_new(out, "suppressed", supp);
    return out;
}

json_t *hn_invariants_run(const struct hn_transcript *t, const struct hn_msgcat *catalog)
{
    struct model m;
    json_t *checks = json_object(), *viol = json_array(), *supp = NULL;
    size_t i;

    hn_tm_build(&m, t, catalog);
    for (i = 0; i < NCHECKERS; i++) {
        struct ctx x = {.m = &m, .violations = viol, .checker = checkers[i].info.name};
        checkers[i].fn(&x);
        hn_check_outcome(checks, &supp, x.checker, x.reported, x.exercised, x.suppressed);
    }
    hn_tm_free(&m);
    return hn_check_result(checks, viol, supp);
}
