/*
 * tmodel.c: the transcript model of the invariant checkers (see tmodel.h).
 *
 * First a prescan ties sessions, script labels (through the chat.send directives) and announced
 * native ids together; then one pass builds a model of the transcript: client connections (an
 * `open` starts a new instance of a name), sessions (from `session` records and from frames),
 * runs and which run every received run event belongs to, subscribe acks and their replays, and
 * the provider runs seen on the control channel. Then each checker walks the records again with
 * that model. The control channel is recorded as it arrives, often after the client frames of
 * the same run, so nothing here depends on the order between the two sides except where a
 * checker says so (quiescence is proven by a round trip on the client socket).
 *
 * How a received run event (a frame with an integer `seq`) is attributed to a run of its
 * session, since frames carry no run id: an `id` already seen in that session belongs to that
 * id's run (a replay or a fan-out copy); a copy inside a replay under a new id belongs to the run
 * being replayed; otherwise seq 1, or a chat.send for the session since its last run completed,
 * starts a new run; an event that continues the previous run exactly (and not the latest one)
 * is a late event of that previous run; anything else continues the latest run.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check/tmodel.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

void *hn_tm_grow(void *p, size_t n, size_t size)
{
    /* capacity doubles at powers of two, so amortised O(1) appends */
    if (n == 0 || (n & (n - 1)) == 0)
        p = wc_xrealloc(p, (n ? n * 2 : 4) * size);
    return p;
}

void hn_tm_cs_init(struct cs_table *t, size_t nconn, size_t state_size)
{
    t->state_size = state_size;
    t->nconn = nconn;
    t->per = wc_xcalloc(nconn + 1, sizeof(*t->per));
}

void *hn_tm_cs_get(struct cs_table *t, long conn, long sess)
{
    struct cs_list *l;
    size_t i;

    if (conn < 0 || (size_t)conn >= t->nconn)
        WC_BUG("cs_get: bad connection index");
    l = &t->per[conn];
    for (i = 0; i < l->n; i++) {
        if (l->slots[i].sess == sess)
            return l->slots[i].state;
    }
    l->slots = hn_tm_grow(l->slots, l->n, sizeof(*l->slots));
    l->slots[l->n].sess = sess;
    l->slots[l->n].state = wc_xcalloc(1, t->state_size);
    return l->slots[l->n++].state;
}

void hn_tm_cs_release(struct cs_table *t, void (*free_state)(void *))
{
    size_t c, i;

    for (c = 0; c < t->nconn; c++) {
        for (i = 0; i < t->per[c].n; i++) {
            if (free_state)
                free_state(t->per[c].slots[i].state);
            free(t->per[c].slots[i].state);
        }
        free(t->per[c].slots);
    }
    free(t->per);
}

const json_t *hn_tm_rec_at(const struct model *m, long i)
{
    return json_array_get(m->records, (size_t)i);
}

static long conn_lookup(struct model *m, const char *name, bool open)
{
    json_t *v = json_object_get(m->conn_by_name, name);

    if (v && !open)
        return (long)json_integer_value(v);
    m->conns = hn_tm_grow(m->conns, m->nconns, sizeof(*m->conns));
    m->conns[m->nconns] = (struct conn_inst){.name = name};
    json_object_set_new(m->conn_by_name, name, json_integer((int64_t)m->nconns));
    return (long)m->nconns++;
}

long hn_tm_sess_lookup(struct model *m, const char *sid, bool create)
{
    json_t *v = json_object_get(m->sess_by_sid, sid);

    if (v)
        return (long)json_integer_value(v);
    if (!create)
        return NONE;
    m->sessions = hn_tm_grow(m->sessions, m->nsess, sizeof(*m->sessions));
    memset(&m->sessions[m->nsess], 0, sizeof(m->sessions[m->nsess]));
    m->sessions[m->nsess].sid = wc_xstrdup(sid);
    m->sessions[m->nsess].rec_idx = NONE;
    m->sessions[m->nsess].idmap = json_object();
    m->sessions[m->nsess].pending_conn = NONE;
    m->sessions[m->nsess].pending_idx = NONE;
    json_object_set_new(m->sess_by_sid, sid, json_integer((int64_t)m->nsess));
    return (long)m->nsess++;
}

/* "s1" when the session has a label, else the quoted id. New string. */
char *hn_tm_sess_name(const struct model *m, long s)
{
    if (s < 0)
        return wc_xstrdup("(no session)");
    if (m->sessions[s].label)
        return wc_xstrdup(m->sessions[s].label);
    return wc_xasprintf("'%s'", m->sessions[s].sid);
}

/* The length of the JavaScript white space character (String.prototype.trim's set, R-SEND-1)
 * that starts at p, or 0. */
static size_t js_ws(const unsigned char *p)
{
    unsigned cp;

    if (*p == ' ' || (*p >= '\t' && *p <= '\r'))
        return 1;
    if (p[0] == 0xc2)
        return p[1] == 0xa0 ? 2 : 0;
    if ((p[0] & 0xf0) != 0xe0 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
        return 0;
    cp = ((p[0] & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
    return cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
                   cp == 0x202f || cp == 0x205f || cp == 0x3000 || cp == 0xfeff
               ? 3
               : 0;
}

/* The string member key of a client frame, borrowed; NULL when missing or holding U+0000. */
const char *hn_tm_str(const json_t *obj, const char *key)
{
    const char *s = wc_json_str(obj, key);

    return s && strlen(s) == json_string_length(json_object_get(obj, key)) ? s : NULL;
}

/* A sessionId trimmed as gateways do (JavaScript's trim); NULL when missing or blank. New. */
char *hn_tm_trimmed(const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *q, *end;
    size_t n;

    if (!s)
        return NULL;
    while ((n = js_ws(p)) > 0)
        p += n;
    end = p;
    for (q = p; *q;) {
        if ((n = js_ws(q)) > 0) {
            q += n;
            continue;
        }
        for (q++; (*q & 0xc0) == 0x80; q++)
            ;
        end = q;
    }
    return end > p ? wc_xstrndup((const char *)p, (size_t)(end - p)) : NULL;
}

/*
 * A sent text that jansson refused only for its numbers (an integer beyond int64, a real beyond
 * the double range) parsed as a JavaScript gateway reads it: integers as reals, a number that
 * overflows as null (JSON.parse's Infinity, no field's number). NULL when it is not JSON.
 */
static json_t *parse_like_js(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &err);
    char *t;
    size_t i, len;

    if (v || json_error_code(&err) != json_error_numeric_overflow)
        return v;
    len = strlen(text);
    t = wc_xstrdup(text);
    for (i = 0; i < len;) {
        if (t[i] == '"') {
            for (i++; i < len && t[i] != '"'; i += t[i] == '\\' ? 2 : 1)
                ;
            i++;
        } else if (t[i] == '-' || (t[i] >= '0' && t[i] <= '9')) {
            size_t j = i;
            while (j < len && (strchr("+-.eE", t[j]) || (t[j] >= '0' && t[j] <= '9')))
                j++;
            char *num = wc_xstrndup(t + i, j - i);
            if (j - i >= 4 && isinf(strtod(num, NULL))) {
                memcpy(t + i, "null", 4);
                memset(t + i + 4, ' ', j - i - 4);
            }
            free(num);
            i = j;
        } else {
            i++;
        }
    }
    v = json_loads(t, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
    free(t);
    return v;
}

/* Parse the `gwspec:{...}` directive in a prompt: its label and run. */
static void parse_directive(const char *content, char **label, char **run)
{
    const char *p = content ? strstr(content, "gwspec:") : NULL;
    json_error_t jerr;
    json_t *d;

    *label = *run = NULL;
    if (!p)
        return;
    d = json_loads(p + 7, JSON_DISABLE_EOF_CHECK, &jerr);
    if (json_is_object(d) && wc_json_str(d, "label") && wc_json_str(d, "run")) {
        *label = wc_xstrdup(wc_json_str(d, "label"));
        *run = wc_xstrdup(wc_json_str(d, "run"));
    }
    json_decref(d);
}

static long run_new(struct model *m, long s, long idx)
{
    struct sess *se = &m->sessions[s];
    struct run *r;

    m->runs = hn_tm_grow(m->runs, m->nruns, sizeof(*m->runs));
    r = &m->runs[m->nruns];
    memset(r, 0, sizeof(*r));
    r->sess = s;
    r->k = se->nruns;
    r->starter = NONE;
    r->start_send_idx = NONE;
    r->first_idx = idx;
    r->complete_idx = NONE;
    r->prun = NONE;
    if (se->pending) {
        r->starter = se->pending_conn;
        r->start_send_idx = se->pending_idx;
        parse_directive(se->pending_content, &r->dir_label, &r->dir_run);
        se->pending = false;
    }
    se->runs = hn_tm_grow(se->runs, se->nruns, sizeof(*se->runs));
    se->runs[se->nruns++] = (long)m->nruns;
    return (long)m->nruns++;
}

static long latest_run(const struct model *m, long s)
{
    const struct sess *se = &m->sessions[s];
    return se->nruns ? se->runs[se->nruns - 1] : NONE;
}

/* The run a received run event belongs to (see the file comment). */
static long attribute(struct model *m, long s, const char *id, int64_t seq, long idx)
{
    struct sess *se = &m->sessions[s];
    json_t *known = id ? json_object_get(se->idmap, id) : NULL;
    long last = latest_run(m, s), r;

    if (known)
        return (long)json_integer_value(known);
    if (last != NONE && m->runs[last].nevents == 0 && m->runs[last].complete_idx == NONE) {
        /* a run a subscribe found processing before anyone saw an event of it */
        r = last;
        if (se->pending && m->runs[r].starter == NONE) {
            m->runs[r].starter = se->pending_conn;
            m->runs[r].start_send_idx = se->pending_idx;
            parse_directive(se->pending_content, &m->runs[r].dir_label, &m->runs[r].dir_run);
            se->pending = false;
        }
    } else if (seq == 1 || last == NONE || (se->pending && m->runs[last].complete_idx != NONE)) {
        r = run_new(m, s, idx);
    } else if (se->nruns >= 2 && seq == m->runs[se->runs[se->nruns - 2]].max_seq + 1 &&
               seq != m->runs[last].max_seq + 1) {
        /* it continues the previous run exactly and not the latest: a late event of an old run
         * (cloudcli-notes.md §7.2 C), which one_terminal reports as an event after its terminal */
        r = se->runs[se->nruns - 2];
    } else {
        r = last;
    }
    m->runs[r].nevents++;
    if (seq > m->runs[r].max_seq)
        m->runs[r].max_seq = seq;
    if (id)
        json_object_set_new(se->idmap, id, json_integer(r));
    return r;
}

/* Per (connection, session) state of the model pass. */
struct mstate {
    int64_t *subs;      /* outstanding subscribe lastSeqs, FIFO */
    size_t nsubs;       /* entries */
    size_t head;        /* first outstanding */
    bool replay_active; /* after an ack with isProcessing true, until a seq above its lastSeq */
    int64_t replay_m;   /* that ack's lastSeq */
};

static void mstate_free(void *p)
{
    free(((struct mstate *)p)->subs);
}

/* lastSeq normalisation (R-SUB-5): a finite number floored and clamped at 0, else 0. */
static int64_t norm_last_seq(const json_t *v)
{
    double d;

    if (json_is_integer(v))
        return json_integer_value(v) < 0 ? 0 : json_integer_value(v);
    if (!json_is_real(v))
        return 0;
    d = floor(json_real_value(v));
    if (!isfinite(d) || d < 0)
        return 0;
    return d > 9e15 ? (int64_t)9e15 : (int64_t)d;
}

static bool inbound_known(const struct model *m, const char *type)
{
    static const char *const builtin[] = {"chat.send", "chat.abort", "chat.subscribe",
                                          "chat.permission-response", NULL};
    size_t i;

    if (!type)
        return false;
    if (m->cat)
        return hn_msgcat_has_inbound(m->cat, type);
    for (i = 0; builtin[i]; i++) {
        if (!strcmp(builtin[i], type))
            return true;
    }
    return false;
}

static void model_send(struct model *m, struct cs_table *cs, long i, const json_t *rec)
{
    struct rinfo *ri = &m->ri[i];
    const json_t *f = ri->frame;
    const char *type = hn_tm_str(f, "type");
    json_t *arr, *e;
    size_t k;

    ri->sentinel = wc_json_bool(rec, "sentinel", false);
    ri->kind = type;
    ri->bad_input = !f || !json_is_object(f) || !inbound_known(m, type);
    if (!type)
        return;
    if (!strcmp(type, "chat.send")) {
        char *sid = hn_tm_trimmed(hn_tm_str(f, "sessionId"));
        if (sid) {
            long s = hn_tm_sess_lookup(m, sid, true);
            m->sessions[s].pending = true;
            m->sessions[s].pending_conn = ri->conn;
            m->sessions[s].pending_idx = i;
            m->sessions[s].pending_content = wc_json_str(f, "content");
            ri->sess = s;
            free(sid);
        }
    } else if (!strcmp(type, "chat.subscribe") &&
               json_is_array(arr = json_object_get(f, "sessions"))) {
        json_array_foreach(arr, k, e)
        {
            char *sid = hn_tm_trimmed(hn_tm_str(e, "sessionId"));
            struct mstate *st;
            if (!sid)
                continue;
            st = hn_tm_cs_get(cs, ri->conn, hn_tm_sess_lookup(m, sid, true));
            free(sid);
            st->subs = hn_tm_grow(st->subs, st->nsubs, sizeof(*st->subs));
            st->subs[st->nsubs++] = norm_last_seq(json_object_get(e, "lastSeq"));
        }
    }
}

static void model_ack(struct model *m, struct cs_table *cs, long i)
{
    struct rinfo *ri = &m->ri[i];
    const char *sid = hn_tm_str(ri->frame, "sessionId");
    struct mstate *st;
    int64_t mm;
    long s, last;

    if (!sid)
        return;
    s = hn_tm_sess_lookup(m, sid, true);
    ri->sess = s;
    ri->ack = true;
    st = hn_tm_cs_get(cs, ri->conn, s);
    if (st->head < st->nsubs) {
        ri->ack_has_l = true;
        ri->ack_l = st->subs[st->head++];
    }
    ri->ack_processing = wc_json_bool(ri->frame, "isProcessing", false);
    ri->ack_has_m = wc_json_int(ri->frame, "lastSeq", &mm);
    ri->ack_m = ri->ack_has_m ? mm : 0;
    st->replay_active = ri->ack_processing && ri->ack_has_m;
    st->replay_m = ri->ack_m;
    if (ri->ack_processing) {
        last = latest_run(m, s);
        if (last == NONE || m->runs[last].complete_idx != NONE) {
            bool keep = m->sessions[s].pending;
            m->sessions[s].pending = false; /* an ack does not consume a chat.send */
            last = run_new(m, s, i);
            m->sessions[s].pending = keep;
        }
        ri->run = last; /* the run this subscribe attached the connection to */
    }
}

static void model_recv(struct model *m, struct cs_table *cs, long i)
{
    struct rinfo *ri = &m->ri[i];
    const json_t *f = ri->frame;
    const char *kind = wc_json_str(f, "kind"), *sid;
    int64_t seq;
    struct mstate *st;
    long s;

    ri->kind = kind;
    if (!kind)
        return;
    if (!strcmp(kind, "chat_subscribed")) {
        model_ack(m, cs, i);
        return;
    }
    sid = hn_tm_str(f, "sessionId");
    if (!strcmp(kind, "protocol_error")) {
        s = sid ? hn_tm_sess_lookup(m, sid, false) : NONE;
        if (s != NONE && m->sessions[s].pending && m->sessions[s].pending_conn == ri->conn)
            m->sessions[s].pending = false;
        ri->sess = s;
        return;
    }
    if (sid && json_object_get(m->native_sess, sid))
        s = (long)json_integer_value(json_object_get(m->native_sess, sid));
    else
        s = hn_tm_sess_lookup(m, sid ? sid : "", true);
    ri->sess = s;
    if (!wc_json_int(f, "seq", &seq) || !strcmp(kind, "history_truncated"))
        return;
    ri->run_event = true;
    ri->seq = seq;
    st = hn_tm_cs_get(cs, ri->conn, s);
    ri->replay = st->replay_active && seq <= st->replay_m;
    if (!ri->replay)
        st->replay_active = false;
    if (ri->replay && wc_json_str(f, "id") &&
        !json_object_get(m->sessions[s].idmap, wc_json_str(f, "id")) && latest_run(m, s) != NONE) {
        /* a replayed copy belongs to the run being replayed, whatever its id says */
        ri->fresh_replay = true;
        ri->run = latest_run(m, s);
        m->runs[ri->run].nevents++;
        json_object_set_new(m->sessions[s].idmap, wc_json_str(f, "id"), json_integer(ri->run));
    } else {
        ri->run = attribute(m, s, wc_json_str(f, "id"), seq, i);
    }
    if (!strcmp(kind, "complete") && m->runs[ri->run].complete_idx == NONE)
        m->runs[ri->run].complete_idx = i;
}

static long prun_session(const struct model *m, const char *label);

static long prun_get(struct model *m, const char *label, const char *run)
{
    char *key = wc_xasprintf("%s\x1f%s", label, run ? run : "");
    json_t *v = json_object_get(m->prun_by_key, key);
    long p;

    if (v) {
        free(key);
        return (long)json_integer_value(v);
    }
    m->pruns = hn_tm_grow(m->pruns, m->nprun, sizeof(*m->pruns));
    m->pruns[m->nprun] = (struct prun){.label = label,
                                       .run = run,
                                       .hello_idx = NONE,
                                       .sess = NONE,
                                       .done_idx = NONE,
                                       .aborted_idx = NONE,
                                       .crun = NONE};
    json_object_set_new(m->prun_by_key, key, json_integer((int64_t)m->nprun));
    free(key);
    p = (long)m->nprun++;
    return p;
}

static void model_ctl(struct model *m, long i, const json_t *rec)
{
    const json_t *msg = json_object_get(rec, "msg");
    const char *label = wc_json_str(rec, "label"), *type = wc_json_str(msg, "type");
    const char *run = wc_json_str(rec, "run");
    struct prun *p;
    long pi;

    if (!label || !type)
        return;
    if (!run)
        run = wc_json_str(msg, "run");
    pi = prun_get(m, label, run);
    m->ri[i].prun = pi;
    p = &m->pruns[pi];
    if (!strcmp(type, "hello") && p->hello_idx == NONE) {
        p->hello_idx = i;
    } else if (!strcmp(type, "emitted")) {
        p->emitted = hn_tm_grow(p->emitted, p->nemitted, sizeof(*p->emitted));
        p->emitted[p->nemitted++] = i;
    } else if (!strcmp(type, "aborted") && p->aborted_idx == NONE) {
        p->aborted_idx = i;
    } else if (!strcmp(type, "done") && p->done_idx == NONE) {
        p->done_idx = i;
        p->done_how = wc_json_str(msg, "how");
    }
}

static void model_record(struct model *m, struct cs_table *cs, long i, const json_t *rec)
{
    struct rinfo *ri = &m->ri[i];
    const char *t = wc_json_str(rec, "t"), *conn = wc_json_str(rec, "conn");
    int64_t n;

    ri->n = wc_json_int(rec, "n", &n) ? n : i + 1;
    ri->conn = ri->sess = ri->run = ri->prun = NONE;
    if (!t)
        return;
    if (!strcmp(t, "session") && wc_json_str(rec, "sessionId") && wc_json_str(rec, "label")) {
        long s = hn_tm_sess_lookup(m, wc_json_str(rec, "sessionId"), true);
        ri->type = RT_SESSION;
        m->sessions[s].label = wc_json_str(rec, "label");
        m->sessions[s].project = wc_json_str(rec, "projectPath");
        m->sessions[s].rec_idx = i;
        json_object_set_new(m->sess_by_label, m->sessions[s].label, json_integer(s));
        m->has_sessions = true;
    } else if (!strcmp(t, "ctl")) {
        ri->type = RT_CTL;
        model_ctl(m, i, rec);
    } else if (!strcmp(t, "note")) {
        ri->type = RT_NOTE;
    } else if (conn && !strcmp(t, "open")) {
        ri->type = RT_OPEN;
        ri->conn = conn_lookup(m, conn, true);
    } else if (conn && !strcmp(t, "close")) {
        ri->type = RT_CLOSE;
        ri->conn = conn_lookup(m, conn, false);
    } else if (conn && (!strcmp(t, "send") || !strcmp(t, "recv"))) {
        ri->type = !strcmp(t, "send") ? RT_SEND : RT_RECV;
        ri->conn = conn_lookup(m, conn, false);
        ri->frame = json_object_get(rec, "frame");
        if (!ri->frame && ri->type == RT_SEND && wc_json_str(rec, "text") &&
            !wc_json_bool(rec, "truncated", false)) {
            json_t *v = parse_like_js(wc_json_str(rec, "text"));
            if (v) {
                if (!m->owned)
                    m->owned = json_array();
                json_array_append_new(m->owned, v);
                ri->frame = v;
            }
        }
        if (ri->type == RT_SEND)
            model_send(m, cs, i, rec);
        else if (json_is_object(ri->frame))
            model_recv(m, cs, i);
    }
}

/*
 * The session a provider script label belongs to: the header's "scripts" map, else the
 * session of the chat.send whose directive carried that label, else the session label itself.
 */
static long prun_session(const struct model *m, const char *label)
{
    const char *slabel = wc_json_str(json_object_get(m->header, "scripts"), label);
    json_t *v = slabel ? json_object_get(m->sess_by_label, slabel) : NULL;

    if (!v)
        v = json_object_get(m->script_sess, label);
    if (!v)
        v = json_object_get(m->sess_by_label, label);
    return v ? (long)json_integer_value(v) : NONE;
}

/* Client runs <-> provider runs: by the directive in the chat.send, then by order. */
static void map_runs(struct model *m)
{
    size_t p, r, s;

    for (p = 0; p < m->nprun; p++)
        m->pruns[p].sess = prun_session(m, m->pruns[p].label);
    for (r = 0; r < m->nruns; r++) {
        struct run *ru = &m->runs[r];
        char *key;
        json_t *v;
        if (!ru->dir_label)
            continue;
        key = wc_xasprintf("%s\x1f%s", ru->dir_label, ru->dir_run);
        v = json_object_get(m->prun_by_key, key);
        free(key);
        if (v && m->pruns[json_integer_value(v)].crun == NONE) {
            ru->prun = (long)json_integer_value(v);
            m->pruns[ru->prun].crun = (long)r;
        }
    }
    for (s = 0; s < m->nsess; s++) {
        size_t k;
        p = 0;
        for (k = 0; k < m->sessions[s].nruns; k++) {
            struct run *ru = &m->runs[m->sessions[s].runs[k]];
            if (ru->prun != NONE || ru->nevents == 0)
                continue;
            while (p < m->nprun && (m->pruns[p].sess != (long)s || m->pruns[p].crun != NONE ||
                                    m->pruns[p].hello_idx == NONE))
                p++;
            if (p == m->nprun)
                break;
            ru->prun = (long)p;
            m->pruns[p].crun = m->sessions[s].runs[k];
        }
    }
}

static bool header_has_cap(const json_t *header, const char *cap)
{
    json_t *caps = json_object_get(header, "capabilities"), *v;
    size_t i;

    json_array_foreach(caps, i, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), cap))
            return true;
    }
    return false;
}

/*
 * Before the main pass: sessions, and the native ids the providers announced. The control
 * channel is recorded as it arrives, often after the client frames of the same run, and a frame
 * that leaks a native id as its sessionId still belongs to the app session.
 */
static void prescan(struct model *m)
{
    size_t i;

    for (i = 0; i < m->nrec; i++) {
        const json_t *rec = json_array_get(m->records, i);
        const char *t = wc_json_str(rec, "t");
        if (t && !strcmp(t, "session") && wc_json_str(rec, "sessionId") &&
            wc_json_str(rec, "label")) {
            long s = hn_tm_sess_lookup(m, wc_json_str(rec, "sessionId"), true);
            json_object_set_new(m->sess_by_label, wc_json_str(rec, "label"), json_integer(s));
        }
    }
    for (i = 0; i < m->nrec; i++) {
        const json_t *rec = json_array_get(m->records, i), *f = json_object_get(rec, "frame");
        const char *t = wc_json_str(rec, "t"), *type = hn_tm_str(f, "type");
        char *sid, *label = NULL, *run = NULL;
        if (!t || strcmp(t, "send") || !type || strcmp(type, "chat.send"))
            continue;
        parse_directive(wc_json_str(f, "content"), &label, &run);
        sid = hn_tm_trimmed(hn_tm_str(f, "sessionId"));
        if (label && sid && !json_object_get(m->script_sess, label))
            json_object_set_new(m->script_sess, label,
                                json_integer(hn_tm_sess_lookup(m, sid, true)));
        free(sid);
        free(label);
        free(run);
    }
    for (i = 0; i < m->nrec; i++) {
        const json_t *rec = json_array_get(m->records, i), *msg = json_object_get(rec, "msg");
        const char *t = wc_json_str(rec, "t"), *type = wc_json_str(msg, "type");
        const char *nat = wc_json_str(msg, "nativeId"), *label = wc_json_str(rec, "label");
        const json_t *ev = json_object_get(msg, "event");
        long s;
        /* a session_created event announces its id too (as collect_natives counts it) */
        if (type && !strcmp(type, "emitted") && hn_tm_is_kind(ev, "session_created")) {
            nat = hn_tm_session_created_id(ev);
            type = "announced";
        }
        if (!t || strcmp(t, "ctl") || !type || strcmp(type, "announced") || !nat || !*nat || !label)
            continue;
        s = prun_session(m, label);
        if (s != NONE && !json_object_get(m->sess_by_sid, nat))
            json_object_set_new(m->native_sess, nat, json_integer(s));
    }
}

void hn_tm_build(struct model *m, const struct hn_transcript *t, const struct hn_msgcat *cat)
{
    struct cs_table cs;
    int64_t cap;
    size_t i, nconn_max;

    memset(m, 0, sizeof(*m));
    m->header = hn_transcript_header(t);
    m->records = hn_transcript_records(t);
    m->nrec = json_array_size(m->records);
    m->ri = wc_xcalloc(m->nrec + 1, sizeof(*m->ri));
    m->conn_by_name = json_object();
    m->sess_by_sid = json_object();
    m->sess_by_label = json_object();
    m->prun_by_key = json_object();
    m->native_sess = json_object();
    m->script_sess = json_object();
    m->cat = cat;
    m->fanout = header_has_cap(m->header, "fan-out");
    m->replay_cap = wc_json_int(m->header, "replay_cap", &cap) && cap > 0 ? cap : 5000;
    /* every connection instance comes from one record, so nrec bounds them */
    nconn_max = m->nrec;
    hn_tm_cs_init(&cs, nconn_max, sizeof(struct mstate));
    prescan(m);
    for (i = 0; i < m->nrec; i++)
        model_record(m, &cs, (long)i, json_array_get(m->records, i));
    hn_tm_cs_release(&cs, mstate_free);
    map_runs(m);
}

void hn_tm_free(struct model *m)
{
    size_t i;

    json_decref(m->owned);
    for (i = 0; i < m->nsess; i++) {
        json_decref(m->sessions[i].idmap);
        free(m->sessions[i].sid);
        free(m->sessions[i].runs);
    }
    for (i = 0; i < m->nruns; i++) {
        free(m->runs[i].dir_label);
        free(m->runs[i].dir_run);
    }
    for (i = 0; i < m->nprun; i++)
        free(m->pruns[i].emitted);
    free(m->sessions);
    free(m->runs);
    free(m->pruns);
    free(m->conns);
    free(m->ri);
    json_decref(m->conn_by_name);
    json_decref(m->sess_by_sid);
    json_decref(m->sess_by_label);
    json_decref(m->prun_by_key);
    json_decref(m->native_sess);
    json_decref(m->script_sess);
}

/* The id a session_created announces (R-MAP-3): newSessionId, else sessionId when that is missing
 * or empty (CloudCLI's `newSessionId || sessionId`). NULL when neither is a non-empty string. */
const char *hn_tm_session_created_id(const json_t *ev)
{
    const char *id = wc_json_str(ev, "newSessionId");

    if (!id || !*id)
        id = wc_json_str(ev, "sessionId");
    return id && *id ? id : NULL;
}

bool hn_tm_is_kind(const json_t *ev, const char *kind)
{
    const char *k = wc_json_str(ev, "kind");
    return k && !strcmp(k, kind);
}
