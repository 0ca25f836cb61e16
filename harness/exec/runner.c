/*
 * runner.c: the step engine for one case (see runner.h).
 *
 * Everything happens on one thread around poll(): client sockets (our own RFC 6455 framing,
 * ws.h), the control listener and its provider connections (control.h). A waiting step loops
 * "is my condition met? else pump until the deadline"; the deadline is the case's safety
 * timeout and its expiry is ERROR. Received frames are queued per client with a global arrival
 * number; consuming a frame stamps it, so `alternatives` can roll back to a snapshot.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/runner.h"
#include "check/invariant.h"
#include "check/verdict.h"
#include "exec/control.h"
#include "exec/http.h"
#include "exec/net.h"
#include "exec/ws.h"
#include "model/match.h"
#include "model/steps.h"
#include "model/transcript.h"
#include "wc_err.h"
#include "wc_io.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"
#include "wc_banned.h"

#define MAX_POLL         256
#define TEXT_RECORD_MAX  (1024u * 1024) /* larger payloads are recorded truncated */
#define TEXT_RECORD_HEAD 1024u
#define PAUSED_RCVBUF    16384 /* a paused client's socket: buffers of a real link */
#define PAUSED_MSS       1400

enum cstate { C_NONE, C_OPEN, C_CLOSING, C_CLOSED };

struct item {
    json_t *frame;    /* parsed JSON, or NULL */
    json_t *raw;      /* the record's payload fields (for failures): {frame|text|hex} */
    const char *kind; /* borrowed from frame, or NULL */
    uint64_t arrival;
    uint64_t consumed; /* 0 or the stamp that consumed it */
    bool sentinel;
    int64_t rec_n; /* transcript record number */
    int64_t at_ms; /* when we read it (monotonic ms): `within_ms` grades it */
    int64_t lo_ms; /* it arrived after lo_ms and at or before hi_ms (hn_ws_arrival) */
    int64_t hi_ms;
};

struct client {
    char name[24];
    char *user;
    struct hn_ws ws;
    enum cstate state;
    struct item *items;
    size_t n, cap;
    size_t hint;       /* items before this index are all consumed or sentinels */
    json_t *sentinels; /* object: pending sentinel ids */
    int close_code;
    char *close_reason;
    const char *closed_by;
    int64_t close_rec_n;
    bool corked;         /* frames queued for a burst: pump does not write them yet */
    bool paused;         /* `pause`: the socket is not read (pings unanswered) until `resume` */
    uint64_t npings;     /* pings received on this socket */
    int64_t *ping_at;    /* when each of them arrived (monotonic ms) */
    int64_t close_at_ms; /* when the close was seen */
    int64_t close_lo_ms; /* it arrived after this time, at or before close_hi_ms */
    int64_t close_hi_ms;
};

struct ctlmsg {
    char *label;
    char *run;
    json_t *msg;
    uint64_t arrival;
    uint64_t consumed;
    int64_t rec_n;
    int64_t at_ms;
    int64_t lo_ms;
    int64_t hi_ms;
};

/*
 * A time bound on a waiting step (`within_ms`, cases/README.md; expect_ping has its own). The
 * clock starts at t0; what the step waited for arrived at seen_ms. At or before max_ms it is on
 * time, up to twice max_ms it is late (NON-STRICT), later or never it is FAILED, and before
 * min_ms (when given) it is early (FAILED). The wait itself ends at twice the bound.
 *
 * Times are when we read a frame, not when it arrived: a harness that was descheduled reads
 * late, and two frames read together look simultaneous however far apart they came. Late is
 * graded on the read times (the tolerance absorbs our delays). Early must be proven, or a busy
 * machine would fail a correct gateway: it is graded on seen_hi - t0_lo, where t0_lo is a time
 * the clock-starting frame cannot have arrived before and seen_hi one the awaited thing cannot
 * have arrived after (hn_ws_arrival: the kernel's receive timestamp when it ends a read, else
 * the last time its socket was seen empty, and our read), so the real interval is at most that.
 * When the clock started at the end of a step (a send), t0_lo is t0: the gateway cannot answer
 * before it was asked.
 */
struct within {
    bool on;
    int64_t min_ms; /* -1: no lower bound */
    int64_t max_ms;
    int64_t t0;
    int64_t t0_lo;         /* at or before t0 */
    bool settled;          /* the end of the tolerance was judged (within_settle) */
    int64_t overloaded_ms; /* > 0: a load probe took this long (the machine was too busy) */
    /* load probes over the tolerance window (within_probe) */
    char probe_id[48]; /* the sentinel in flight, "" when none */
    struct client *probe_c;
    int64_t probe_sent_ms;
    int64_t probe_next_ms;
    int64_t probe_worst_ms; /* the longest a probe took to be answered */
    int64_t probe_from_ms;  /* when probing began, and the CPU pressure then (-1: unknown) */
    int64_t psi_from_us;
};

struct rt {
    const struct hn_case *c;
    struct hn_target *t;
    const struct hn_runner_opts *o;
    struct hn_transcript *tr;
    struct hn_ctl *ctl;
    struct client *clients;
    size_t nclients;
    struct ctlmsg *msgs;
    size_t nmsgs, capmsgs;
    json_t *vars;
    struct hn_scope scope;
    struct wc_rand rng;
    char case_token[160];
    uint64_t arrival;
    uint64_t stamp;
    int sentinel_n;
    int run_n;
    json_t *pending_release; /* array of {label, barrier} not yet deliverable */
    int64_t timeout_ms;
    json_t *failures;         /* array of failure objects */
    bool failed;              /* a step failed: stop running steps */
    bool errored;             /* harness/target problem: ERROR */
    const char *burst_client; /* the next step is also a send to this client: hold the write */
    int alt_depth;            /* > 0 while trying an alternative */
    json_t *alt_failure;      /* the first failure inside the current alternative */
    bool alt_timeout;
    const char *alt_grade; /* the grade of the winning alternative, worst so far */
    int64_t step_index;
    struct within within; /* the current step's time bound, if any */
    int64_t seen_ms;      /* the latest arrival the current step consumed, or -1 */
    int64_t seen_lo_ms;   /* it arrived after seen_lo_ms, at or before seen_hi_ms */
    int64_t seen_hi_ms;
    int64_t mark_ms;      /* where the previous step left the clock (its arrival or end) */
    int64_t mark_lo_ms;   /* the earliest that can really have been */
    int64_t poll_prev_ms; /* when the previous pump round began to poll */
    int64_t poll_ms;      /* when this one did */
};

/* ---- small helpers ---------------------------------------------------------------------- */

static int64_t timeout_of(const struct rt *rt)
{
    return rt->timeout_ms;
}

static bool json_str_in(const json_t *arr, const char *s)
{
    size_t i;
    json_t *e;
    if (!s)
        return false;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e) && !strcmp(json_string_value(e), s))
            return true;
    }
    return false;
}

static bool valid_utf8(const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    bool ok = v != NULL;
    json_decref(v);
    return ok;
}

static char *to_hex(const char *s, size_t n)
{
    static const char d[] = "0123456789abcdef";
    char *h = wc_xmalloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        h[2 * i] = d[(unsigned char)s[i] >> 4];
        h[2 * i + 1] = d[(unsigned char)s[i] & 15];
    }
    h[2 * n] = '\0';
    return h;
}

/* The payload fields of a send/recv record: frame, text or hex (truncated when huge). */
static json_t *payload_fields(const char *data, size_t len, json_t **parsed)
{
    json_t *f = json_object();
    json_t *v = NULL;

    if (len <= TEXT_RECORD_MAX * 16)
        v = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (v) {
        json_object_set(f, "frame", v);
        if (parsed)
            *parsed = v;
        else
            json_decref(v);
        return f;
    }
    if (parsed)
        *parsed = NULL;
    size_t keep = len > TEXT_RECORD_MAX ? TEXT_RECORD_HEAD : len;
    if (valid_utf8(data, len)) {
        json_t *s = json_stringn(data, keep);
        if (!s) /* the cut fell inside a UTF-8 sequence */
            s = json_stringn(data, keep > 4 ? keep - 4 : 0);
        json_object_set_new(f, "text", s ? s : json_string(""));
    } else {
        char *h = to_hex(data, keep);
        json_object_set_new(f, "hex", json_string(h));
        free(h);
    }
    if (keep < len) {
        json_object_set_new(f, "len", json_integer((json_int_t)len));
        json_object_set_new(f, "truncated", json_true());
    }
    return f;
}

static int64_t add_record(struct rt *rt, json_t *rec)
{
    hn_transcript_add(rt->tr, rec);
    int64_t n = 0;
    wc_json_int(rec, "n", &n);
    return n;
}

static void note(struct rt *rt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct rt *rt, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = wc_xstrdup(fmt);
    va_end(ap);
    json_t *s = json_string(msg);
    if (!s)
        s = json_string("(note not UTF-8)");
    add_record(rt, json_pack("{s:s, s:o}", "t", "note", "text", s));
    free(msg);
}

/* ---- failures ---------------------------------------------------------------------------- */

static const char *step_requirement(const struct rt *rt, const json_t *step)
{
    const char *r = wc_json_str(step, "requirement");
    if (r)
        return r;
    return json_string_value(json_array_get(rt->c->spec, 0));
}

static void add_failure(struct rt *rt, const json_t *step, const char *kind, const char *message,
                        const json_t *expected, const json_t *received, const char *diff,
                        json_t *witness)
{
    json_t *f = json_pack("{s:s?, s:s, s:s, s:O?, s:O?, s:s?, s:o}", "requirement",
                          step ? step_requirement(rt, step) : NULL, "kind", kind, "message",
                          message, "expected", expected, "received", received, "diff", diff,
                          "witness", witness ? witness : json_array());
    if (!f) {
        f = json_pack("{s:s, s:s}", "kind", kind, "message", "(failure text not UTF-8)");
        json_decref(witness);
    }
    if (rt->step_index >= 0)
        json_object_set_new(f, "step", json_integer(rt->step_index));
    else
        json_object_set_new(f, "step", json_null());
    if (!json_object_get(f, "expected"))
        json_object_set_new(f, "expected", json_null());
    if (!json_object_get(f, "received"))
        json_object_set_new(f, "received", json_null());
    if (!json_object_get(f, "diff"))
        json_object_set_new(f, "diff", json_null());
    if (rt->alt_depth > 0) {
        if (!rt->alt_failure)
            rt->alt_failure = f;
        else
            json_decref(f);
        return;
    }
    json_array_append_new(rt->failures, f);
}

static void step_fail(struct rt *rt, const json_t *step, const char *message,
                      const json_t *expected, const json_t *received, const char *diff,
                      int64_t witness_n)
{
    json_t *w = json_array();
    if (witness_n > 0)
        json_array_append_new(w, json_integer(witness_n));
    add_failure(rt, step, "step", message, expected, received, diff, w);
    rt->failed = true;
    note(rt, "step %lld failed: %s%s%s", (long long)rt->step_index, message, diff ? ": " : "",
         diff ? diff : "");
}

static void step_error(struct rt *rt, const json_t *step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void step_error(struct rt *rt, const json_t *step, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = wc_xstrdup(fmt);
    va_end(ap);
    if (rt->alt_depth > 0)
        rt->alt_timeout = true;
    add_failure(rt, step, "error", msg, NULL, NULL, NULL, NULL);
    if (rt->alt_depth == 0)
        rt->errored = true;
    rt->failed = true;
    note(rt, "step %lld error: %s", (long long)rt->step_index, msg);
    free(msg);
}

/* ---- clients ------------------------------------------------------------------------------ */

static struct client *client_get(struct rt *rt, const char *name, bool create)
{
    for (size_t i = 0; i < rt->nclients; i++) {
        if (!strcmp(rt->clients[i].name, name))
            return &rt->clients[i];
    }
    if (!create)
        return NULL;
    rt->clients = wc_xrealloc(rt->clients, (rt->nclients + 1) * sizeof(*rt->clients));
    struct client *c = &rt->clients[rt->nclients++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->ws.fd = -1;
    c->sentinels = json_object();
    return c;
}

static void client_reset(struct client *c)
{
    for (size_t i = 0; i < c->n; i++) {
        json_decref(c->items[i].frame);
        json_decref(c->items[i].raw);
    }
    free(c->items);
    c->items = NULL;
    c->n = c->cap = c->hint = 0;
    if (c->state != C_NONE)
        hn_ws_release(&c->ws);
    c->ws.fd = -1;
    free(c->user);
    c->user = NULL;
    free(c->close_reason);
    c->close_reason = NULL;
    c->closed_by = NULL;
    c->close_code = 0;
    c->close_rec_n = 0;
    json_object_clear(c->sentinels);
    c->state = C_NONE;
    c->paused = false;
    c->corked = false;
    c->npings = 0;
    free(c->ping_at);
    c->ping_at = NULL;
    c->close_at_ms = 0;
}

static void record_close(struct rt *rt, struct client *c, const char *by, int code,
                         const char *reason)
{
    json_t *r =
        json_pack("{s:s, s:s, s:s, s:i}", "t", "close", "conn", c->name, "by", by, "code", code);
    json_t *rs = reason ? json_string(reason) : NULL;
    if (reason)
        json_object_set_new(r, "reason", rs ? rs : json_string("(not UTF-8)"));
    c->close_rec_n = add_record(rt, r);
    c->close_at_ms = wc_now_ms();
    hn_ws_arrival(&c->ws, &c->close_lo_ms, &c->close_hi_ms);
    c->close_code = code;
    free(c->close_reason);
    c->close_reason = reason ? wc_xstrdup(reason) : NULL;
    c->closed_by = by;
}

/* The socket is finished: close the fd, keep the queue. */
static void client_finish(struct client *c)
{
    if (c->ws.fd >= 0)
        close(c->ws.fd);
    c->ws.fd = -1;
    c->state = C_CLOSED;
}

static void on_message(struct rt *rt, struct client *c, struct hn_ws_event *ev)
{
    json_t *parsed = NULL;
    json_t *fields = payload_fields(ev->data, ev->len, &parsed);
    json_t *rec = json_pack("{s:s, s:s}", "t", "recv", "conn", c->name);
    struct item it = {0};

    json_object_update(rec, fields);
    json_object_set_new(rec, "binary", json_boolean(ev->binary));
    if (json_is_object(parsed) && json_is_string(json_object_get(parsed, "kind")))
        it.kind = json_string_value(json_object_get(parsed, "kind"));
    if (it.kind && !strcmp(it.kind, "chat_subscribed")) {
        const char *sid = wc_json_str(parsed, "sessionId");
        if (sid && json_object_get(c->sentinels, sid)) {
            it.sentinel = true;
            json_object_del(c->sentinels, sid);
            json_object_set_new(rec, "sentinel", json_true());
        }
    }
    it.frame = parsed;
    it.raw = fields;
    it.arrival = ++rt->arrival;
    it.at_ms = wc_now_ms();
    hn_ws_arrival(&c->ws, &it.lo_ms, &it.hi_ms);
    it.rec_n = add_record(rt, rec);
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 32;
        c->items = wc_xrealloc(c->items, c->cap * sizeof(*c->items));
    }
    c->items[c->n++] = it;
}

/*
 * A ping or pong from the server: a `ping` / `pong` record (spec/transcript.md). Pings are
 * counted for `expect_ping`; they are control frames, never items of the frame queue, so
 * `expect`, `quiet` and `expect ... none` do not see them.
 */
static void on_control_frame(struct rt *rt, struct client *c, const struct hn_ws_event *ev)
{
    bool ping = ev->type == HN_WS_EV_PING;
    json_t *rec = json_pack("{s:s, s:s, s:I}", "t", ping ? "ping" : "pong", "conn", c->name, "len",
                            (json_int_t)ev->len);

    if (ev->len > 0) {
        char *h = to_hex(ev->data, ev->len);
        json_object_set_new(rec, "hex", json_string(h));
        free(h);
    }
    if (ping) {
        json_object_set_new(rec, "answered", json_boolean(!c->ws.no_pong && !c->ws.close_sent));
        c->ping_at = wc_xrealloc(c->ping_at, (c->npings + 1) * sizeof(*c->ping_at));
        c->ping_at[c->npings++] = wc_now_ms();
    }
    add_record(rt, rec);
}

/* Parse whatever the client's rx holds. */
static void client_process(struct rt *rt, struct client *c)
{
    for (;;) {
        struct hn_ws_event ev;
        char *why = NULL;
        int r = hn_ws_next(&c->ws, &ev, &why);
        if (r == 0)
            break;
        if (r < 0) {
            note(rt, "%s: broken WebSocket stream from the server: %s", c->name, why);
            int code = r == WC_ERR_TOO_BIG ? 1009 : 1002;
            if (!c->ws.close_sent) {
                hn_ws_close(&c->ws, code, r == WC_ERR_TOO_BIG ? "too big" : "protocol error");
                hn_ws_flush(&c->ws);
            }
            if (c->state == C_OPEN)
                record_close(rt, c, "client", code, why);
            free(why);
            client_finish(c);
            return;
        }
        if (ev.type == HN_WS_EV_MESSAGE) {
            on_message(rt, c, &ev);
        } else if (ev.type == HN_WS_EV_PING || ev.type == HN_WS_EV_PONG) {
            on_control_frame(rt, c, &ev);
        } else if (ev.type == HN_WS_EV_CLOSE) {
            if (c->state == C_OPEN) {
                record_close(rt, c, "server", ev.code, ev.data);
                if (!c->ws.close_sent) {
                    hn_ws_close(&c->ws, ev.code == 1005 ? 0 : ev.code, NULL);
                    hn_ws_flush(&c->ws);
                }
            }
            hn_ws_event_release(&ev);
            client_finish(c);
            return;
        }
        hn_ws_event_release(&ev);
    }
    if (c->ws.masked_seen) {
        note(rt, "%s: the server sent a masked frame (RFC 6455 5.1 forbids it)", c->name);
        c->ws.masked_seen = false;
    }
    if (c->ws.eof && c->state != C_CLOSED) {
        if (c->state == C_OPEN)
            record_close(rt, c, "drop", 1006, NULL);
        client_finish(c);
    }
}

/* ---- control channel ---------------------------------------------------------------------- */

static void deliver_pending_releases(struct rt *rt, const char *label, const char *run);

static void on_ctl(void *ctx, int conn, const char *label, const char *run, json_t *msg,
                   const char *bad)
{
    struct rt *rt = ctx;
    (void)conn;

    if (!msg) {
        if (bad && !strncmp(bad, "hello from another case", 23))
            note(rt, "control channel: %s", bad);
        else
            note(rt, "control channel (%s): not a JSON object: %.200s", label ? label : "?", bad);
        return;
    }
    const char *type = wc_json_str(msg, "type");
    if (type && !strcmp(type, "hello")) {
        const char *ct = wc_json_str(msg, "case");
        if (!ct || strcmp(ct, rt->case_token)) {
            note(rt, "control hello from another case (%s), ignored", ct ? ct : "none");
            return;
        }
    }
    int64_t n = add_record(rt, json_pack("{s:s, s:s?, s:s?, s:O}", "t", "ctl", "label", label,
                                         "run", run, "msg", msg));
    if (!label)
        return;
    if (rt->nmsgs == rt->capmsgs) {
        rt->capmsgs = rt->capmsgs ? 2 * rt->capmsgs : 32;
        rt->msgs = wc_xrealloc(rt->msgs, rt->capmsgs * sizeof(*rt->msgs));
    }
    struct ctlmsg *m = &rt->msgs[rt->nmsgs++];
    memset(m, 0, sizeof(*m));
    m->label = wc_xstrdup(label);
    m->run = wc_xstrdup(run ? run : "");
    m->msg = json_incref(msg);
    m->arrival = ++rt->arrival;
    m->at_ms = wc_now_ms();
    m->lo_ms = rt->poll_prev_ms; /* the control socket was drained in the round before */
    m->hi_ms = m->at_ms;
    m->rec_n = n;
    if (type && !strcmp(type, "announced") && wc_json_str(msg, "nativeId")) {
        char *k = wc_xasprintf("native.%s", label);
        json_object_set_new(rt->vars, k, json_string(wc_json_str(msg, "nativeId")));
        free(k);
    }
    if (type && !strcmp(type, "hello"))
        deliver_pending_releases(rt, label, run);
}

static void send_release(struct rt *rt, const char *label, const char *run, const char *barrier)
{
    json_t *msg = json_pack("{s:s, s:s}", "type", "release", "barrier", barrier);
    int n = hn_ctl_send(rt->ctl, label, run, msg);
    if (n > 0)
        add_record(rt, json_pack("{s:s, s:s, s:s?, s:O}", "t", "ctl_send", "label", label, "run",
                                 run, "msg", msg));
    json_decref(msg);
}

static void deliver_pending_releases(struct rt *rt, const char *label, const char *run)
{
    size_t i = 0;
    while (i < json_array_size(rt->pending_release)) {
        json_t *p = json_array_get(rt->pending_release, i);
        if (!strcmp(wc_json_str(p, "label"), label)) {
            send_release(rt, label, run, wc_json_str(p, "barrier"));
            json_array_remove(rt->pending_release, i);
        } else {
            i++;
        }
    }
}

/* ---- the pump ---------------------------------------------------------------------------------
 */

/* Wait for I/O until deadline (ms clock) and process it. */
static void pump(struct rt *rt, int64_t deadline)
{
    struct pollfd fds[MAX_POLL];
    struct client *owner[MAX_POLL];
    size_t nctl = hn_ctl_pollfds(rt->ctl, fds, MAX_POLL / 2);
    size_t n = nctl;
    int64_t left = deadline - wc_now_ms();

    for (size_t i = 0; i < rt->nclients && n < MAX_POLL; i++) {
        struct client *c = &rt->clients[i];
        bool out = c->ws.tx.len && !c->corked;
        if (c->ws.fd < 0 || (c->paused && !out))
            continue; /* a paused socket is not read: only what we send to it is written */
        owner[n] = c;
        fds[n++] = (struct pollfd){.fd = c->ws.fd,
                                   .events = (c->paused ? 0 : POLLIN) | (out ? POLLOUT : 0)};
    }
    if (left < 0)
        left = 0;
    rt->poll_prev_ms = rt->poll_ms;
    rt->poll_ms = wc_now_ms();
    int r = poll(fds, n, (int)(left > 60000 ? 60000 : left));
    if (r < 0)
        return;
    /* a socket poll found nothing to read on was empty at some time after poll_ms */
    for (size_t i = nctl; i < n; i++) {
        if ((fds[i].events & POLLIN) && !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
            owner[i]->ws.fd == fds[i].fd && owner[i]->ws.empty_ms < rt->poll_ms)
            owner[i]->ws.empty_ms = rt->poll_ms;
    }
    if (r == 0)
        return;
    hn_ctl_handle(rt->ctl, fds, nctl);
    for (size_t i = nctl; i < n; i++) {
        struct client *c = owner[i];
        if (!fds[i].revents || c->ws.fd != fds[i].fd)
            continue;
        if (fds[i].revents & (c->paused ? POLLOUT | POLLHUP | POLLERR : POLLOUT)) {
            if (hn_ws_flush(&c->ws) != 0)
                c->ws.eof = true;
        }
        if (c->paused) {
            if (c->ws.eof) /* a write failed: the connection is gone */
                client_process(rt, c);
            continue;
        }
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
            hn_ws_read(&c->ws);
        client_process(rt, c);
    }
}

/* Process whatever is already readable, without waiting. */
static void drain(struct rt *rt)
{
    pump(rt, wc_now_ms());
}

typedef bool (*cond_fn)(struct rt *rt, void *arg);

static bool within_settle(struct rt *rt, int64_t *deadline);
static int64_t within_probe(struct rt *rt);

/* The kernel's count of microseconds during which some task waited for a CPU (PSI,
 * /proc/pressure/cpu "some ... total="), or -1 where the kernel has none. */
static int64_t cpu_pressure_us(void)
{
    FILE *f = fopen("/proc/pressure/cpu", "r");
    char line[256];
    long long total = -1;

    if (!f)
        return -1;
    if (fgets(line, sizeof(line), f)) {
        const char *t = strstr(line, "total=");
        if (!t || sscanf(t + 6, "%lld", &total) != 1)
            total = -1;
    }
    fclose(f);
    return total;
}

/*
 * 0 when cond holds, WC_ERR_TIMEOUT at the deadline. At the deadline whatever already waits in
 * the kernel's buffers is read first: a harness that was descheduled past the deadline must not
 * call late what came in time. A bounded wait (within_ms) is also settled there once
 * (within_settle): it may go on, and what it waited for may come in meanwhile.
 */
static int wait_until(struct rt *rt, cond_fn cond, void *arg, int64_t deadline)
{
    for (;;) {
        if (cond(rt, arg))
            return 0;
        if (wc_now_ms() >= deadline) {
            drain(rt);
            if (cond(rt, arg))
                return 0;
            if (!within_settle(rt, &deadline))
                return WC_ERR_TIMEOUT;
            continue;
        }
        int64_t wake = within_probe(rt);
        pump(rt, wake > 0 && wake < deadline ? wake : deadline);
    }
}

static void flush_client(struct rt *rt, struct client *c, int64_t deadline)
{
    c->corked = false; /* writing now: a held burst goes out with it */
    while (c->ws.fd >= 0 && c->ws.tx.len > 0 && wc_now_ms() < deadline) {
        if (hn_ws_flush(&c->ws) != 0) {
            c->ws.eof = true;
            hn_ws_read(&c->ws);
            client_process(rt, c);
            break;
        }
        if (c->ws.tx.len)
            pump(rt, deadline);
    }
}

/* ---- the directive --------------------------------------------------------------------------- */

static json_t *resolve(void *ctx, const char *name)
{
    struct rt *rt = ctx;

    if (!strncmp(name, "script.", 7)) {
        const char *label = name + 7;
        json_t *p = json_object_get(rt->c->providers, label);
        if (!p)
            return NULL;
        struct hn_scope sc = {.vars = rt->vars};
        char *err = NULL;
        json_t *script = hn_expand(json_object_get(p, "script"), &sc, &err);
        if (!script) {
            note(rt, "script %s: %s", label, err);
            free(err);
            script = json_deep_copy(json_object_get(p, "script"));
        }
        char run[32], ctl[64];
        snprintf(run, sizeof(run), "r%d", ++rt->run_n);
        snprintf(ctl, sizeof(ctl), "127.0.0.1:%d", hn_ctl_port(rt->ctl));
        json_t *d = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:o}", "v", 1, "ctl", ctl, "case",
                              rt->case_token, "label", label, "run", run, "seed",
                              (json_int_t)(wc_rand_next(&rt->rng) >> 12), "script", script);
        char *text = wc_json_compact(d);
        char *line = wc_xasprintf("gwspec:%s", text);
        json_t *out = json_string(line);
        free(text);
        free(line);
        json_decref(d);
        return out;
    }
    return NULL;
}

/* ---- frame queues ------------------------------------------------------------------------------
 */

static bool ignored(const struct rt *rt, const struct item *it, const char *except_kind)
{
    if (!it->kind)
        return false;
    if (except_kind && !strcmp(except_kind, it->kind))
        return false;
    return json_str_in(rt->c->ignore, it->kind);
}

static void advance_hint(struct client *c)
{
    while (c->hint < c->n && (c->items[c->hint].consumed || c->items[c->hint].sentinel))
        c->hint++;
}

static struct item *next_item(struct rt *rt, struct client *c, const char *except_kind)
{
    advance_hint(c);
    for (size_t i = c->hint; i < c->n; i++) {
        struct item *it = &c->items[i];
        if (it->consumed || it->sentinel || ignored(rt, it, except_kind))
            continue;
        return it;
    }
    return NULL;
}

struct next_arg {
    struct client *c;
    const char *except_kind;
};

static bool cond_next(struct rt *rt, void *arg)
{
    struct next_arg *a = arg;
    return next_item(rt, a->c, a->except_kind) != NULL || a->c->state != C_OPEN;
}

static json_t *close_value(const struct client *c)
{
    json_t *v =
        json_pack("{s:s, s:s?, s:i}", "closed", c->name, "by", c->closed_by, "code", c->close_code);
    if (c->close_reason)
        json_object_set_new(v, "reason", json_string(c->close_reason));
    return v;
}

static const char *pattern_kind(const json_t *pat)
{
    json_t *inner = json_object_get(pat, "$exact");
    if (inner && json_object_size(pat) == 1)
        pat = inner;
    return wc_json_str(pat, "kind");
}

static struct client *open_client(struct rt *rt, const json_t *step, const char *name)
{
    struct client *c = client_get(rt, name, false);
    if (!c || c->state == C_NONE) {
        step_error(rt, step, "client %s is not connected", name);
        return NULL;
    }
    return c;
}

/* A client a step waits on: connected and not paused (the linter says so already). */
static struct client *waiting_client(struct rt *rt, const json_t *step, const char *name)
{
    struct client *c = open_client(rt, step, name);
    if (c && c->paused) {
        step_error(rt, step, "client %s is paused: resume it before waiting on it", name);
        return NULL;
    }
    return c;
}

/* ---- steps --------------------------------------------------------------------------------- */

static char *url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *o = wc_xmalloc(3 * strlen(s) + 1), *p = o;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            *p++ = (char)ch;
        } else {
            *p++ = '%';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        }
    }
    *p = '\0';
    return o;
}

static char *expand_str(struct rt *rt, const json_t *step, const char *s)
{
    char *err = NULL;
    json_t *tmpl = json_string(s);
    json_t *v = hn_expand(tmpl, &rt->scope, &err);
    json_decref(tmpl);
    if (!v) {
        step_error(rt, step, "%s", err ? err : "expansion failed");
        free(err);
        return NULL;
    }
    char *out = hn_value_text(v);
    json_decref(v);
    return out;
}

/* True when a `pause` step names the client (pause is never inside alternatives). */
static bool pauses_client(const json_t *steps, const char *name)
{
    size_t i;
    json_t *e;

    json_array_foreach(steps, i, e)
    {
        json_t *v = json_object_get(e, "pause");
        const char *c = json_is_string(v) ? json_string_value(v) : wc_json_str(v, "client");
        if (c && !strcmp(c, name))
            return true;
    }
    return false;
}

/*
 * A token value of a connect/http step: NULL (the user's own token), none, bad, a literal, or
 * {of: USER, cut: N} (USER's token without its last N characters: a prefix of a valid token) or
 * {of: USER, append: TEXT} (USER's token with TEXT appended). NULL result = send none; *ok false
 * on an error (recorded).
 */
static char *token_value(struct rt *rt, const json_t *step, const json_t *v, const char *user,
                         bool *ok)
{
    const char *tok = json_string_value(v);
    *ok = true;
    if (json_is_object(v)) {
        const char *of = wc_json_str(v, "of");
        const char *base = hn_target_token(rt->t, of);
        int64_t cut = 0;
        if (!base) {
            step_error(rt, step, "target %s has no user '%s'", rt->t->name, of ? of : "?");
            *ok = false;
            return NULL;
        }
        if (wc_json_int(v, "cut", &cut) && cut > 0) {
            size_t n = strlen(base);
            if ((size_t)cut >= n) {
                step_error(rt, step, "the token of '%s' has only %zu characters: cannot cut %lld",
                           of, n, (long long)cut);
                *ok = false;
                return NULL;
            }
            return wc_xstrndup(base, n - (size_t)cut);
        }
        return wc_xasprintf("%s%s", base, wc_json_str(v, "append") ? wc_json_str(v, "append") : "");
    }
    if (tok) {
        if (!strcmp(tok, "none"))
            return NULL;
        if (!strcmp(tok, "bad"))
            return wc_xstrdup("gwspec-bad-token");
        char *t = expand_str(rt, step, tok);
        *ok = t != NULL;
        return t;
    }
    const char *t = hn_target_token(rt->t, user);
    if (!t) {
        step_error(rt, step, "target %s has no user '%s'", rt->t->name, user ? user : "?");
        *ok = false;
        return NULL;
    }
    return wc_xstrdup(t);
}

/* The token for a connect/http step (its `token`, else the user's). */
static char *token_for(struct rt *rt, const json_t *step, const json_t *spec, const char *user,
                       bool *ok)
{
    return token_value(rt, step, json_object_get(spec, "token"), user, ok);
}

static void run_step_connect(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "connect");
    const char *name = json_is_string(v) ? json_string_value(v) : wc_json_str(v, "client");
    const json_t *spec = json_is_object(v) ? v : NULL;
    char *user = NULL, *token = NULL, *path = NULL, *err = NULL;
    const char *auth = spec && wc_json_str(spec, "auth") ? wc_json_str(spec, "auth") : "query";
    int64_t expect_status = 0;
    bool ok;
    struct client *c = client_get(rt, name, true);
    int64_t deadline = wc_now_ms() + timeout_of(rt);

    if (c->state == C_OPEN || c->state == C_CLOSING) {
        step_error(rt, step, "client %s is already connected", name);
        return;
    }
    client_reset(c);
    wc_json_int(spec, "expect_status", &expect_status);
    if (spec && wc_json_str(spec, "user")) {
        user = expand_str(rt, step, wc_json_str(spec, "user"));
        if (!user)
            return;
    } else {
        user = wc_xstrdup(rt->t->default_user ? rt->t->default_user : "");
    }
    token = token_for(rt, step, spec, user, &ok);
    if (!ok) {
        free(user);
        return;
    }
    char *htoken = NULL;
    bool both = !strcmp(auth, "both");
    if (both) {
        /* auth: both: the query carries `token`, the header `header_token` or `header_user`'s
         * token (default: the same token) */
        const json_t *hv = json_object_get(spec, "header_token");
        const char *hu = wc_json_str(spec, "header_user");
        if (hv || hu)
            htoken = token_value(rt, step, hv, hu ? hu : user, &ok);
        else
            htoken = token ? wc_xstrdup(token) : NULL;
        if (!ok) {
            free(user);
            free(token);
            return;
        }
    }
    if (spec && wc_json_str(spec, "path"))
        path = expand_str(rt, step, wc_json_str(spec, "path"));
    else
        path = wc_xstrdup(rt->t->ws_path);
    if (!path) {
        free(user);
        free(token);
        free(htoken);
        return;
    }
    char *full, *hdrs = NULL;
    if (token && (both || !strcmp(auth, "query"))) {
        char *enc = url_encode(token);
        full = wc_xasprintf("%s%stoken=%s", path, strchr(path, '?') ? "&" : "?", enc);
        free(enc);
    } else {
        full = wc_xstrdup(path);
    }
    if (both ? htoken != NULL : token && strcmp(auth, "query"))
        hdrs = wc_xasprintf("Authorization: Bearer %s\r\n", both ? htoken : token);
    free(htoken);
    /* a client the case pauses gets the buffers of a real network link (ws.h) */
    bool tuned = pauses_client(rt->c->steps, name);
    int fd = hn_net_connect_tuned(rt->t->host, rt->t->port, deadline, tuned ? PAUSED_RCVBUF : 0,
                                  tuned ? PAUSED_MSS : 0, &err);
    if (fd < 0) {
        step_error(rt, step, "connect %s: %s", name, err);
        goto out;
    }
    hn_ws_init(&c->ws, fd, &rt->rng);
    c->ws.no_pong = spec && json_is_false(json_object_get(spec, "pong"));
    c->state = C_CLOSED; /* until the upgrade succeeds */
    c->user = wc_xstrdup(user);
    int status = 0;
    int rc = hn_ws_handshake(&c->ws, rt->t->host, rt->t->port, full, hdrs, deadline, &status, &err);
    if (rc == WC_ERR_TIMEOUT || rc == WC_ERR_IO) {
        step_error(rt, step, "connect %s: %s", name, err);
        client_finish(c);
        goto out;
    }
    if (rc != 0) {
        add_record(rt, json_pack("{s:s, s:s, s:i, s:s}", "t", "reject", "conn", name, "status", 0,
                                 "reason", err));
        json_t *exp =
            json_pack("{s:I}", "status", (json_int_t)(expect_status ? expect_status : 101));
        json_t *rec = json_pack("{s:s}", "error", err);
        step_fail(rt, step, "the upgrade failed", exp, rec, err, 0);
        json_decref(exp);
        json_decref(rec);
        client_finish(c);
        goto out;
    }
    if (status == 101) {
        c->state = C_OPEN;
        json_t *orec = json_pack("{s:s, s:s, s:s}", "t", "open", "conn", name, "user", user);
        if (c->ws.no_pong)
            json_object_set_new(orec, "pong", json_false());
        if (tuned)
            json_object_set_new(
                orec, "tcp", json_pack("{s:i, s:i}", "rcvbuf", PAUSED_RCVBUF, "mss", PAUSED_MSS));
        add_record(rt, orec);
        client_process(rt, c); /* frames that came with the 101 */
        if (expect_status && expect_status != 101) {
            json_t *exp = json_pack("{s:I}", "status", (json_int_t)expect_status);
            json_t *rec = json_pack("{s:i}", "status", 101);
            char *diff =
                wc_xasprintf("at .status: expected %lld, received 101", (long long)expect_status);
            step_fail(rt, step, "the upgrade was accepted but should have been refused", exp, rec,
                      diff, 0);
            free(diff);
            json_decref(exp);
            json_decref(rec);
            hn_ws_close(&c->ws, 1000, NULL);
            hn_ws_flush(&c->ws);
            record_close(rt, c, "client", 1000, NULL);
            client_finish(c);
        }
    } else {
        int64_t n = add_record(
            rt, json_pack("{s:s, s:s, s:i}", "t", "reject", "conn", name, "status", status));
        /* R-AUTH-1: a refusal is the end of that connection, not a response before a 101 */
        char *extra = NULL;
        size_t more = hn_ws_refusal_trailer(&c->ws, deadline, &extra);
        hn_ws_release(&c->ws);
        c->state = C_NONE;
        if (expect_status == status && more) {
            json_t *exp = json_pack("{s:I, s:s}", "status", (json_int_t)status, "then",
                                    "the end of the connection");
            json_t *rec = json_pack("{s:i, s:s}", "status", status, "then", extra);
            char *diff = wc_xasprintf("after its %d response the server sent %zu more bytes: "
                                      "\"%s\"",
                                      status, more, extra);
            step_fail(rt, step, "the server went on after refusing the upgrade", exp, rec, diff, n);
            free(diff);
            json_decref(exp);
            json_decref(rec);
        }
        free(extra);
        if (expect_status != status) {
            json_t *exp =
                json_pack("{s:I}", "status", (json_int_t)(expect_status ? expect_status : 101));
            json_t *rec = json_pack("{s:i}", "status", status);
            char *diff = wc_xasprintf("at .status: expected %lld, received %d",
                                      (long long)(expect_status ? expect_status : 101), status);
            step_fail(rt, step,
                      expect_status ? "the upgrade was refused with another status"
                                    : "the upgrade was refused",
                      exp, rec, diff, n);
            free(diff);
            json_decref(exp);
            json_decref(rec);
        }
    }
out:
    free(err);
    free(user);
    free(token);
    free(path);
    free(full);
    free(hdrs);
}

static bool cond_closed(struct rt *rt, void *arg)
{
    (void)rt;
    return ((struct client *)arg)->state == C_CLOSED;
}

static void run_step_disconnect(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "disconnect");
    const char *name = json_is_string(v) ? json_string_value(v) : wc_json_str(v, "client");
    struct client *c = open_client(rt, step, name);
    int64_t code = 1000;
    const char *reason = json_is_object(v) ? wc_json_str(v, "reason") : NULL;

    if (!c)
        return;
    c->paused = false; /* closing reads the server's answer: a disconnect ends a pause */
    drain(rt);
    if (c->state != C_OPEN) {
        step_fail(rt, step, "the connection was already closed", NULL, NULL, NULL, c->close_rec_n);
        return;
    }
    if (json_is_object(v) && json_is_true(json_object_get(v, "drop"))) {
        record_close(rt, c, "drop", 1006, NULL);
        shutdown(c->ws.fd, SHUT_RDWR);
        client_finish(c);
        return;
    }
    wc_json_int(v, "code", &code);
    hn_ws_close(&c->ws, (int)code, reason);
    record_close(rt, c, "client", (int)code, reason);
    c->state = C_CLOSING;
    int64_t deadline = wc_now_ms() + timeout_of(rt);
    flush_client(rt, c, deadline);
    if (wait_until(rt, cond_closed, c, deadline) != 0) {
        note(rt, "%s: the server did not answer the close within %lld ms", name,
             (long long)timeout_of(rt));
        client_finish(c);
    }
}

static void send_payload(struct rt *rt, const json_t *step, struct client *c, int op,
                         const char *data, size_t len, json_t *fields, bool sentinel)
{
    json_t *rec = json_pack("{s:s, s:s}", "t", "send", "conn", c->name);
    json_object_update(rec, fields);
    json_object_set_new(rec, "binary", json_boolean(op == HN_WS_BINARY));
    if (sentinel)
        json_object_set_new(rec, "sentinel", json_true());
    add_record(rt, rec);
    hn_ws_frame(&c->ws, op, true, data, len);
    /* back-to-back send steps to one client are one burst: a single write, so the gateway
     * reads the frames together (cases/README.md, `send`) */
    c->corked = !sentinel && rt->burst_client && !strcmp(rt->burst_client, c->name);
    if (!c->corked)
        flush_client(rt, c, wc_now_ms() + timeout_of(rt));
    (void)step;
}

static void run_step_send(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "send");
    const char *k;
    json_t *m;

    json_object_foreach(v, k, m)
    {
        struct client *c = open_client(rt, step, k);
        char *err = NULL;
        if (!c)
            return;
        json_t *frame = hn_expand(m, &rt->scope, &err);
        if (!frame) {
            step_error(rt, step, "send: %s", err);
            free(err);
            return;
        }
        drain(rt);
        if (c->state != C_OPEN) {
            json_t *rec = close_value(c);
            step_fail(rt, step, "cannot send: the connection is closed", frame, rec, NULL,
                      c->close_rec_n);
            json_decref(rec);
            json_decref(frame);
            return;
        }
        char *text = wc_json_compact(frame);
        json_t *fields = json_pack("{s:O}", "frame", frame);
        send_payload(rt, step, c, HN_WS_TEXT, text, strlen(text), fields, false);
        json_decref(fields);
        free(text);
        json_decref(frame);
    }
}

static char *from_hex(const char *h, size_t *len)
{
    size_t n = strlen(h) / 2;
    char *o = wc_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned int b;
        sscanf(h + 2 * i, "%2x", &b);
        o[i] = (char)b;
    }
    o[n] = '\0';
    *len = n;
    return o;
}

static void run_step_send_raw(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "send_raw");
    struct client *c = open_client(rt, step, wc_json_str(v, "client"));
    char *data = NULL;
    size_t len = 0;
    json_t *rep = json_object_get(v, "repeat");

    if (!c)
        return;
    if (wc_json_str(v, "text")) {
        data = expand_str(rt, step, wc_json_str(v, "text"));
        if (!data)
            return;
        len = strlen(data);
    } else if (wc_json_str(v, "hex")) {
        data = from_hex(wc_json_str(v, "hex"), &len);
    } else if (wc_json_str(v, "file")) {
        const char *f = wc_json_str(v, "file");
        FILE *fp = fopen(f, "rb");
        if (!fp) {
            step_error(rt, step, "send_raw: cannot open %s: %s", f, strerror(errno));
            return;
        }
        struct wc_buf b;
        char buf[65536];
        size_t r;
        wc_buf_init(&b, 64u * 1024 * 1024);
        while ((r = fread(buf, 1, sizeof(buf), fp)) > 0)
            wc_buf_add(&b, buf, r);
        fclose(fp);
        data = wc_buf_detach(&b, &len);
    } else if (rep) {
        int64_t count = 0;
        size_t ulen;
        char *unit;
        wc_json_int(rep, "count", &count);
        if (wc_json_str(rep, "hex"))
            unit = from_hex(wc_json_str(rep, "hex"), &ulen);
        else {
            unit = wc_xstrdup(wc_json_str(rep, "text") ? wc_json_str(rep, "text") : "");
            ulen = strlen(unit);
        }
        len = ulen * (size_t)count;
        data = wc_xmalloc(len + 1);
        for (int64_t i = 0; i < count; i++)
            memcpy(data + (size_t)i * ulen, unit, ulen);
        data[len] = '\0';
        free(unit);
    }
    drain(rt);
    if (c->state != C_OPEN) {
        json_t *rec = close_value(c);
        step_fail(rt, step, "cannot send: the connection is closed", NULL, rec, NULL,
                  c->close_rec_n);
        json_decref(rec);
        free(data);
        return;
    }
    bool binary = json_is_true(json_object_get(v, "binary"));
    json_t *fields = payload_fields(data ? data : "", len, NULL);
    send_payload(rt, step, c, binary ? HN_WS_BINARY : HN_WS_TEXT, data ? data : "", len, fields,
                 false);
    json_decref(fields);
    free(data);
}

static uint64_t sentinel_round(struct rt *rt, const json_t *step, struct client *c);

/* Send a sentinel on c (a subscribe for an id no session has, which a gateway answers at once
 * with an empty ack) and note its id, which is written into id. */
static void send_sentinel(struct rt *rt, const json_t *step, struct client *c, char *id,
                          size_t idlen)
{
    snprintf(id, idlen, "gwspec-sentinel-%d", ++rt->sentinel_n);
    json_t *frame =
        json_pack("{s:s, s:[{s:s}]}", "type", "chat.subscribe", "sessions", "sessionId", id);
    char *text = wc_json_compact(frame);
    json_t *fields = json_pack("{s:O}", "frame", frame);
    json_object_set_new(c->sentinels, id, json_true());
    send_payload(rt, step, c, HN_WS_TEXT, text, strlen(text), fields, true);
    free(text);
    json_decref(fields);
    json_decref(frame);
}

/*
 * Load probes. A correct gateway on a machine too busy to run it must not be FAILED for the
 * machine, so while a bounded wait is in its tolerance window (past the bound, before twice
 * it) without what it waits for, the harness keeps one sentinel in flight on an open client,
 * one every tenth of the bound at most: a request the gateway answers at once when it runs.
 * The longest any took to be answered (the one in flight counts with its age) measures how
 * long the gateway, or the harness, went without the CPU. Returns when the next probe is due
 * (0: none), for the wait's wake-up. Probes are sentinels: the transcript marks them, the
 * checkers skip them.
 */
static int64_t within_probe(struct rt *rt)
{
    struct within *w = &rt->within;
    int64_t now = wc_now_ms();

    if (!w->on || w->settled || now < w->t0 + w->max_ms)
        return w->on && !w->settled ? w->t0 + w->max_ms : 0;
    if (!w->probe_from_ms) {
        w->probe_from_ms = now;
        w->psi_from_us = cpu_pressure_us();
    }
    if (w->probe_id[0]) {
        if (w->probe_c->state == C_OPEN && json_object_get(w->probe_c->sentinels, w->probe_id))
            return 0; /* in flight: its answer wakes the wait */
        if (now - w->probe_sent_ms > w->probe_worst_ms)
            w->probe_worst_ms = now - w->probe_sent_ms;
        w->probe_id[0] = '\0';
    }
    if (now < w->probe_next_ms)
        return w->probe_next_ms;
    for (size_t i = 0; i < rt->nclients; i++) {
        struct client *c = &rt->clients[i];
        if (c->state != C_OPEN || c->paused)
            continue;
        send_sentinel(rt, NULL, c, w->probe_id, sizeof(w->probe_id));
        w->probe_c = c;
        w->probe_sent_ms = now;
        w->probe_next_ms = now + (w->max_ms / 10 > 1 ? w->max_ms / 10 : 1);
        return 0;
    }
    return 0;
}

/*
 * A bounded wait reached the end of its tolerance (twice the bound) without what it waited for.
 * When a load probe took more than half the bound to be answered (or the one in flight is that
 * old) and the machine was short of CPU meanwhile (some task waited for one during at least a
 * quarter of the probing, by the kernel's pressure count; assumed where the kernel keeps none),
 * the machine was too busy to judge the bound: the wait goes on to the safety timeout, and what
 * comes then is graded late (NON-STRICT), naming the probe's time; what never comes stays
 * FAILED. A responsive gateway (every probe answered quickly) that did not deliver is late
 * beyond the tolerance, and so is one that answers slowly on an idle machine: its slowness is
 * its own. Returns true when the wait goes on.
 */
static bool within_settle(struct rt *rt, int64_t *deadline)
{
    struct within *w = &rt->within;
    int64_t now = wc_now_ms(), worst = w->probe_worst_ms;

    if (!w->on || w->settled)
        return false;
    w->settled = true;
    if (w->probe_id[0] && w->probe_c->state == C_OPEN &&
        json_object_get(w->probe_c->sentinels, w->probe_id) && now - w->probe_sent_ms > worst)
        worst = now - w->probe_sent_ms;
    if (worst * 2 <= w->max_ms)
        return false;
    int64_t psi = cpu_pressure_us(), window = now - w->probe_from_ms;
    if (psi >= 0 && w->psi_from_us >= 0 && (psi - w->psi_from_us) / 1000 * 4 < window) {
        note(rt,
             "the bounded wait's end: a load probe took %lld ms, but the CPU was free for "
             "most of the %lld ms probed: the gateway's own delay",
             (long long)worst, (long long)window);
        return false;
    }
    w->overloaded_ms = worst;
    *deadline = now + timeout_of(rt);
    note(rt,
         "the bounded wait's end: a load probe took %lld ms, more than half the bound of %lld "
         "ms (an overloaded machine); waiting on to the safety timeout",
         (long long)worst, (long long)w->max_ms);
    return true;
}

/*
 * A wait ran into the safety timeout. Before calling that ERROR, prove the gateway is alive:
 * when the target answers sentinels, send one on an open client. If it is answered, the gateway
 * processed everything the case sent and has (for an in-process provider, spec/control-
 * channel.md §3) forwarded everything that follows from it, so the awaited thing is not coming:
 * that is FAILED, not ERROR. Only ever turns a timeout into a failure, never into a pass.
 */
static bool settled_after_timeout(struct rt *rt, struct client *prefer)
{
    struct client *c = prefer && prefer->state == C_OPEN && !prefer->paused ? prefer : NULL;

    /* A quiet_ms target (out-of-process providers) answers sentinels too; they only do not prove
     * quiescence while provider output may be in flight. After a whole safety timeout nothing of
     * the case is in flight any more, so an answered sentinel proves the same here. A target that
     * does not answer one costs one more timeout and stays ERROR. */
    for (size_t i = 0; !c && i < rt->nclients; i++) {
        if (rt->clients[i].state == C_OPEN && !rt->clients[i].paused)
            c = &rt->clients[i];
    }
    if (!c)
        return false;
    return sentinel_round(rt, NULL, c) != 0;
}

/* ---- time bounds (`within_ms`) ------------------------------------------------------------ */

/* The deadline of a wait that would otherwise last wait_ms: with a time bound, the end of its
 * tolerance (twice the bound after the clock started), since anything later is FAILED. */
static int64_t wait_deadline(const struct rt *rt, int64_t wait_ms)
{
    if (rt->within.on)
        return rt->within.t0 + 2 * rt->within.max_ms;
    return wc_now_ms() + wait_ms;
}

/* The step consumed something that we read at at_ms and that arrived in (lo_ms, hi_ms]. */
static void seen_at(struct rt *rt, int64_t at_ms, int64_t lo_ms, int64_t hi_ms)
{
    if (at_ms > rt->seen_ms) {
        rt->seen_ms = at_ms;
        rt->seen_lo_ms = lo_ms;
        rt->seen_hi_ms = hi_ms;
    }
}

static json_t *within_value(const struct rt *rt)
{
    json_t *v = json_pack("{s:I}", "within_ms", (json_int_t)rt->within.max_ms);
    if (rt->within.min_ms >= 0)
        json_object_set_new(v, "min_ms", json_integer(rt->within.min_ms));
    return v;
}

/*
 * A bounded wait reached the end of its tolerance without what it waited for (`what`). When the
 * gateway answers a sentinel, it is alive and the thing is late beyond the tolerance or never
 * comes: FAILED. When it answers none: ERROR, as for any wait. Returns false when the step has
 * no time bound (the caller's own timeout handling applies).
 */
static bool within_expired(struct rt *rt, const json_t *step, struct client *prefer,
                           const char *what)
{
    if (!rt->within.on)
        return false;
    if (!settled_after_timeout(rt, prefer)) {
        if (!rt->failed)
            step_error(rt, step,
                       "waited %lld ms (twice the bound of %lld ms) for %s, and the "
                       "gateway answered no sentinel",
                       (long long)(2 * rt->within.max_ms), (long long)rt->within.max_ms, what);
        return true;
    }
    json_t *exp = within_value(rt);
    char *diff =
        rt->within.overloaded_ms
            ? wc_xasprintf("%s did not come within %lld ms, twice the bound of %lld ms, nor by the "
                           "safety timeout after it (the machine was overloaded: a load probe took "
                           "%lld ms); the gateway answered a sentinel",
                           what, (long long)(2 * rt->within.max_ms), (long long)rt->within.max_ms,
                           (long long)rt->within.overloaded_ms)
            : wc_xasprintf("%s did not come within %lld ms, twice the bound of %lld ms (late "
                           "beyond the tolerance, or never); the gateway answered a sentinel",
                           what, (long long)(2 * rt->within.max_ms), (long long)rt->within.max_ms);
    step_fail(rt, step, "not within the time bound", exp, NULL, diff, 0);
    free(diff);
    json_decref(exp);
    return true;
}

/*
 * Grade the arrival time of what a bounded step consumed: early (before min_ms) and later than
 * twice the bound are FAILED; later than the bound but within twice it is a `late` failure
 * record, graded NON-STRICT, and the case goes on.
 */
static void within_grade(struct rt *rt, const json_t *step)
{
    const struct within *w = &rt->within;
    int64_t took;
    json_t *exp;
    char *diff = NULL;

    if (!w->on || rt->failed || rt->seen_ms < 0)
        return;
    /* late is judged on the arrival (the kernel's timestamp when we have it), not on our read */
    took = rt->seen_hi_ms - w->t0;
    exp = within_value(rt);
    if (w->min_ms >= 0 && rt->seen_hi_ms - w->t0_lo < w->min_ms) {
        diff = wc_xasprintf("it came at most %lld ms after the clock started, before the lower "
                            "bound of %lld ms",
                            (long long)(rt->seen_hi_ms - w->t0_lo), (long long)w->min_ms);
        step_fail(rt, step, "early: before the time bound's lower limit", exp, NULL, diff, 0);
    } else if (took > 2 * w->max_ms && !w->overloaded_ms) {
        diff = wc_xasprintf("it came after %lld ms, beyond twice the bound of %lld ms",
                            (long long)took, (long long)w->max_ms);
        step_fail(rt, step, "late beyond the tolerance", exp, NULL, diff, 0);
    } else if (took > 2 * w->max_ms) {
        diff = wc_xasprintf("it came after %lld ms, beyond twice the bound of %lld ms, on a "
                            "machine too loaded to judge: a load probe took %lld ms to be answered",
                            (long long)took, (long long)w->max_ms, (long long)w->overloaded_ms);
        if (rt->alt_depth > 0) {
            step_fail(rt, step, "late: after the time bound", exp, NULL, diff, 0);
        } else {
            add_failure(rt, step, "late", "late: after the time bound, on an overloaded machine",
                        exp, NULL, diff, NULL);
            note(rt, "step %lld late: %s", (long long)rt->step_index, diff);
        }
    } else if (took > w->max_ms) {
        diff = wc_xasprintf("it came after %lld ms: later than the bound of %lld ms, within twice "
                            "it (the tolerance)",
                            (long long)took, (long long)w->max_ms);
        if (rt->alt_depth > 0) {
            step_fail(rt, step, "late: after the time bound", exp, NULL, diff, 0);
        } else {
            add_failure(rt, step, "late", "late: after the time bound, within the tolerance", exp,
                        NULL, diff, NULL);
            note(rt, "step %lld late: %s", (long long)rt->step_index, diff);
        }
    }
    free(diff);
    json_decref(exp);
}

static json_t *item_value(const struct item *it)
{
    if (it->frame)
        return json_incref(it->frame);
    return json_incref(it->raw);
}

static void expect_none(struct rt *rt, const json_t *step, struct client *c)
{
    drain(rt);
    struct item *it = next_item(rt, c, NULL);
    if (it) {
        json_t *rec = item_value(it);
        char *s = wc_json_compact(rec);
        char *diff = wc_xasprintf("expected nothing, received %.300s", s);
        step_fail(rt, step, "a frame was waiting where none was expected", NULL, rec, diff,
                  it->rec_n);
        free(diff);
        free(s);
        json_decref(rec);
    }
}

static bool expect_one(struct rt *rt, const json_t *step, struct client *c, const json_t *pat)
{
    struct next_arg a = {.c = c, .except_kind = pattern_kind(pat)};
    int64_t deadline = wait_deadline(rt, timeout_of(rt));
    char *diff = NULL;

    if (wait_until(rt, cond_next, &a, deadline) != 0) {
        char *p = wc_json_compact(pat);
        char *what = wc_xasprintf("a frame on %s for %.300s", c->name, p);
        bool bounded = within_expired(rt, step, c, what);
        free(what);
        if (bounded) {
            free(p);
            return false;
        }
        if (settled_after_timeout(rt, c) && !cond_next(rt, &a)) {
            diff = wc_xasprintf("expected %.300s, received nothing: the gateway answered a "
                                "sentinel sent after %lld ms first",
                                p, (long long)timeout_of(rt));
            step_fail(rt, step, "the expected frame never arrived", pat, NULL, diff, 0);
            free(diff);
        } else if (!rt->failed) {
            step_error(rt, step, "timed out after %lld ms waiting on %s for %.300s",
                       (long long)timeout_of(rt), c->name, p);
        }
        free(p);
        return false;
    }
    struct item *it = next_item(rt, c, a.except_kind);
    if (!it) {
        json_t *rec = close_value(c);
        char *p = wc_json_compact(pat);
        diff =
            wc_xasprintf("expected %.300s, received a close (code %d) instead", p, c->close_code);
        step_fail(rt, step, "the connection closed before the expected frame", pat, rec, diff,
                  c->close_rec_n);
        free(p);
        free(diff);
        json_decref(rec);
        return false;
    }
    json_t *val = item_value(it);
    if (!hn_match(pat, it->frame ? it->frame : NULL, &rt->scope, &diff)) {
        if (!it->frame) {
            free(diff);
            char *p = wc_json_compact(pat);
            char *r = wc_json_compact(val);
            diff = wc_xasprintf("expected %.300s, received a frame that is not JSON: %.300s", p, r);
            free(p);
            free(r);
        }
        step_fail(rt, step, "the next frame does not match", pat, val, diff, it->rec_n);
        free(diff);
        json_decref(val);
        return false;
    }
    it->consumed = ++rt->stamp;
    seen_at(rt, it->at_ms, it->lo_ms, it->hi_ms);
    json_decref(val);
    return true;
}

static void run_step_expect(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "expect");
    const char *k;
    json_t *m;

    json_object_foreach(v, k, m)
    {
        struct client *c = waiting_client(rt, step, k);
        if (!c)
            return;
        if (json_is_string(m) && !strcmp(json_string_value(m), "none"))
            expect_none(rt, step, c);
        else if (!expect_one(rt, step, c, m))
            return;
        if (rt->failed)
            return;
    }
}

static int64_t ping_wait_ms(const struct rt *rt);

/*
 * How long expect_close waits: the step timeout, or, for a client that withholds pongs, at least
 * the time the target keeps a silent socket (profile pong_timeout_ms, else the two intervals of
 * R-HB-2) plus the wait for one more ping: the drop is due then, not at the step timeout.
 */
static int64_t close_wait_ms(const struct rt *rt, const struct client *c)
{
    int64_t wait = timeout_of(rt), iv = rt->t->ping_interval_ms, due;

    if (!c->ws.no_pong || iv <= 0)
        return wait;
    due = (rt->t->pong_timeout_ms > 0 ? rt->t->pong_timeout_ms : 2 * iv) + ping_wait_ms(rt);
    return due > wait ? due : wait;
}

static void run_step_expect_close(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "expect_close");
    const char *name = json_is_string(v) ? json_string_value(v) : wc_json_str(v, "client");
    struct client *c = waiting_client(rt, step, name);
    json_t *codes = json_is_object(v) ? json_object_get(v, "codes") : NULL;
    json_t *code = json_is_object(v) ? json_object_get(v, "code") : NULL;

    if (!c)
        return;
    int64_t wait = close_wait_ms(rt, c);
    if (wait_until(rt, cond_closed, c, wait_deadline(rt, wait)) != 0) {
        char *what = wc_xasprintf("the server's close of %s", name);
        bool bounded = within_expired(rt, step, c, what);
        free(what);
        if (bounded)
            return;
        /* still open and answering a sentinel: the server did not close it */
        if (settled_after_timeout(rt, c) && !cond_closed(rt, c)) {
            json_t *want = codes ? codes : code;
            step_fail(rt, step, "the server did not close the connection", want, NULL,
                      "expected a close, received nothing: the connection still answered a "
                      "sentinel",
                      0);
        } else if (!rt->failed) {
            step_error(rt, step, "timed out after %lld ms waiting for the server to close %s",
                       (long long)wait, name);
        }
        return;
    }
    if (c->closed_by && !strcmp(c->closed_by, "client")) {
        step_error(rt, step, "%s was closed by the harness, not the server", name);
        return;
    }
    seen_at(rt, c->close_at_ms, c->close_lo_ms, c->close_hi_ms);
    json_t *want = codes ? json_incref(codes) : code ? json_pack("[O]", code) : NULL;
    bool ok = !want;
    size_t i;
    json_t *e;
    json_array_foreach(want, i, e) ok = ok || json_integer_value(e) == c->close_code;
    if (!ok) {
        json_t *exp = json_pack("{s:O}", "codes", want);
        json_t *rec = close_value(c);
        char *w = wc_json_compact(want);
        char *diff = wc_xasprintf("at .code: expected one of %s, received %d", w, c->close_code);
        step_fail(rt, step, "the server closed with another code", exp, rec, diff, c->close_rec_n);
        free(diff);
        free(w);
        json_decref(exp);
        json_decref(rec);
    }
    json_decref(want);
}

/* ---- heartbeat ----------------------------------------------------------------------------- */

/*
 * How long `expect_ping` waits: two announced intervals plus a slack of half an interval, at least
 * 500 ms, so a loaded machine does not turn a late timer into a failure; the safety timeout when
 * the profile announces no interval.
 */
static int64_t ping_wait_ms(const struct rt *rt)
{
    int64_t iv = rt->t->ping_interval_ms;

    if (iv <= 0)
        return timeout_of(rt);
    return 2 * iv + (iv / 2 > 500 ? iv / 2 : 500);
}

struct ping_arg {
    struct client *c;
    uint64_t since;
};

static bool cond_ping(struct rt *rt, void *arg)
{
    struct ping_arg *a = arg;
    (void)rt;
    return a->c->npings > a->since || a->c->state != C_OPEN;
}

/*
 * expect_ping: a ping arrives on the client after the step starts. Its time bound is the step's
 * within_ms, else ping_wait_ms() when the profile announces an interval (graded like within_ms:
 * late up to twice the bound is NON-STRICT, later FAILED); the clock starts with the step, since a
 * ping that came before it does not count.
 */
static void run_step_expect_ping(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "expect_ping");
    const char *name = json_is_string(v) ? json_string_value(v) : wc_json_str(v, "client");
    struct client *c = waiting_client(rt, step, name);
    int64_t wait = ping_wait_ms(rt);

    if (!c)
        return;
    drain(rt);
    if (!rt->within.on && rt->t->ping_interval_ms > 0)
        rt->within = (struct within){.on = true, .min_ms = -1, .max_ms = wait};
    if (rt->within.on) {
        rt->within.t0 = rt->within.t0_lo = wc_now_ms();
        wait = rt->within.max_ms;
    }
    struct ping_arg a = {.c = c, .since = c->npings};
    json_t *exp = json_pack("{s:s, s:I}", "ping", name, "within_ms", (json_int_t)wait);
    int rc = c->state == C_OPEN ? wait_until(rt, cond_ping, &a, wait_deadline(rt, wait)) : 0;
    if (rc == 0 && c->npings > a.since) {
        seen_at(rt, c->ping_at[a.since], c->ping_at[a.since], c->ping_at[a.since]);
        goto out;
    }
    if (rc != 0) {
        char *what = wc_xasprintf("a ping on %s (profile ping_interval_ms %lld)", name,
                                  (long long)rt->t->ping_interval_ms);
        bool bounded = within_expired(rt, step, c, what);
        free(what);
        if (bounded)
            goto out;
        if (!settled_after_timeout(rt, c)) {
            if (!rt->failed)
                step_error(rt, step,
                           "timed out after %lld ms waiting for a ping on %s, and the "
                           "gateway answered no sentinel",
                           (long long)wait, name);
            goto out;
        }
        if (c->state == C_OPEN || c->npings > a.since) {
            char *diff =
                c->npings > a.since
                    ? wc_xasprintf("a ping arrived on %s only after more than %lld ms (the profile "
                                   "announces no ping_interval_ms)",
                                   name, (long long)wait)
                    : wc_xasprintf("no ping on %s within %lld ms (the profile announces no "
                                   "ping_interval_ms); the gateway answered a sentinel",
                                   name, (long long)wait);
            step_fail(rt, step, "the expected ping never arrived", exp, NULL, diff, 0);
            free(diff);
            goto out;
        }
    }
    /* the connection ended before a ping came */
    json_t *rec = close_value(c);
    char *diff = wc_xasprintf("expected a ping on %s, received a close (code %d) instead", name,
                              c->close_code);
    step_fail(rt, step, "the connection closed before a ping arrived", exp, rec, diff,
              c->close_rec_n);
    free(diff);
    json_decref(rec);
out:
    json_decref(exp);
}

/* ---- group ------------------------------------------------------------------------------------
 */

struct gitem {
    const char *client;
    const json_t *pattern;
    const char *as;
    bool matched;
    json_t *after; /* array of names */
};

struct group {
    struct gitem *items;
    size_t n;
};

static bool group_client_has(struct group *g, const char *client)
{
    for (size_t i = 0; i < g->n; i++) {
        if (!strcmp(g->items[i].client, client))
            return true;
    }
    return false;
}

static bool group_done(const struct group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        if (!g->items[i].matched)
            return false;
    }
    return true;
}

static bool name_matched(const struct group *g, const char *name)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->items[i].as && !strcmp(g->items[i].as, name))
            return g->items[i].matched;
    }
    return true;
}

static bool deps_ok(const struct group *g, const struct gitem *gi)
{
    size_t i;
    json_t *e;
    json_array_foreach(gi->after, i, e)
    {
        if (!name_matched(g, json_string_value(e)))
            return false;
    }
    return true;
}

/* The earliest pending frame among the group's clients (not ignored by any item's kind). */
static struct item *group_next(struct rt *rt, struct group *g, struct client **owner)
{
    struct item *best = NULL;
    for (size_t i = 0; i < rt->nclients; i++) {
        struct client *c = &rt->clients[i];
        if (!group_client_has(g, c->name))
            continue;
        advance_hint(c);
        for (size_t j = c->hint; j < c->n; j++) {
            struct item *it = &c->items[j];
            if (it->consumed || it->sentinel)
                continue;
            bool wanted = false;
            for (size_t k = 0; k < g->n && it->kind; k++) {
                const char *pk = pattern_kind(g->items[k].pattern);
                if (!g->items[k].matched && !strcmp(g->items[k].client, c->name) && pk &&
                    !strcmp(pk, it->kind))
                    wanted = true;
            }
            if (!wanted && ignored(rt, it, NULL))
                continue;
            if (!best || it->arrival < best->arrival) {
                best = it;
                *owner = c;
            }
            break;
        }
    }
    return best;
}

static bool cond_group(struct rt *rt, void *arg)
{
    struct group *g = arg;
    struct client *owner = NULL;
    if (group_next(rt, g, &owner))
        return true;
    for (size_t i = 0; i < g->n; i++) {
        struct client *c = client_get(rt, g->items[i].client, false);
        if (!g->items[i].matched && c && c->state != C_OPEN)
            return true;
    }
    return false;
}

static void run_step_group(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "group");
    struct group g = {.items = wc_xcalloc(json_array_size(v) + 1, sizeof(struct gitem))};
    size_t i;
    json_t *e;
    int64_t deadline = wait_deadline(rt, timeout_of(rt));

    json_array_foreach(v, i, e)
    {
        struct gitem *gi = &g.items[g.n++];
        const char *k;
        json_t *m;
        gi->as = wc_json_str(e, "as");
        gi->after = json_array();
        json_object_foreach(e, k, m)
        {
            if (hn_client_name_valid(k)) {
                gi->client = k;
                gi->pattern = m;
            }
        }
        if (json_is_array(json_object_get(e, "after")))
            json_array_extend(gi->after, json_object_get(e, "after"));
    }
    /* before: [x] on item A means x is after A */
    json_array_foreach(v, i, e)
    {
        json_t *before = json_object_get(e, "before");
        size_t j;
        json_t *b;
        if (!json_is_array(before) || !g.items[i].as)
            continue;
        json_array_foreach(before, j, b)
        {
            for (size_t k = 0; k < g.n; k++) {
                if (g.items[k].as && !strcmp(g.items[k].as, json_string_value(b)))
                    json_array_append_new(g.items[k].after, json_string(g.items[i].as));
            }
        }
    }
    for (i = 0; i < g.n; i++) {
        if (!waiting_client(rt, step, g.items[i].client))
            goto out;
    }
    while (!group_done(&g)) {
        if (wait_until(rt, cond_group, &g, deadline) != 0) {
            json_t *pending = json_array();
            for (i = 0; i < g.n; i++) {
                if (!g.items[i].matched)
                    json_array_append_new(
                        pending, json_pack("{s:O}", g.items[i].client, g.items[i].pattern));
            }
            char *p = wc_json_compact(pending);
            struct client *gc = client_get(rt, g.items[0].client, false);
            char *what = wc_xasprintf("the group's %.400s", p);
            bool bounded = within_expired(rt, step, gc, what);
            free(what);
            if (bounded) {
                free(p);
                json_decref(pending);
                goto out;
            }
            if (settled_after_timeout(rt, gc) && !cond_group(rt, &g)) {
                char *d = wc_xasprintf("still expecting %.400s; the gateway answered a sentinel "
                                       "first",
                                       p);
                step_fail(rt, step, "group: expected frames never arrived", pending, NULL, d, 0);
                free(d);
            } else if (!rt->failed) {
                step_error(rt, step, "group: timed out after %lld ms; still expecting %.400s",
                           (long long)timeout_of(rt), p);
            }
            free(p);
            json_decref(pending);
            goto out;
        }
        struct client *owner = NULL;
        struct item *it = group_next(rt, &g, &owner);
        if (!it) {
            /* a client closed with items outstanding */
            for (i = 0; i < g.n; i++) {
                struct client *c = client_get(rt, g.items[i].client, false);
                if (!g.items[i].matched && c && c->state != C_OPEN) {
                    json_t *rec = close_value(c);
                    step_fail(rt, step, "group: the connection closed before an expected frame",
                              g.items[i].pattern, rec, NULL, c->close_rec_n);
                    json_decref(rec);
                    goto out;
                }
            }
            continue;
        }
        /* match against the first eligible unmatched item of that client */
        bool matched = false;
        char *first_diff = NULL;
        const json_t *blocked = NULL;
        for (i = 0; i < g.n && !matched; i++) {
            struct gitem *gi = &g.items[i];
            char *diff = NULL;
            if (gi->matched || strcmp(gi->client, owner->name))
                continue;
            if (!it->frame || !hn_match(gi->pattern, it->frame, &rt->scope, &diff)) {
                if (!first_diff)
                    first_diff = diff ? diff : wc_xstrdup("the frame is not JSON");
                else
                    free(diff);
                continue;
            }
            if (!deps_ok(&g, gi)) {
                blocked = gi->pattern;
                continue;
            }
            gi->matched = true;
            matched = true;
        }
        if (!matched) {
            json_t *val = item_value(it);
            const json_t *exp = blocked;
            json_t *expl = NULL;
            if (!exp) {
                expl = json_array();
                for (i = 0; i < g.n; i++) {
                    if (!g.items[i].matched && !strcmp(g.items[i].client, owner->name))
                        json_array_append(expl, (json_t *)g.items[i].pattern);
                }
                exp = expl;
            }
            step_fail(rt, step,
                      blocked ? "group: a frame arrived before the items it must follow"
                              : "group: a frame matches no expected item",
                      exp, val, first_diff, it->rec_n);
            json_decref(expl);
            json_decref(val);
            free(first_diff);
            goto out;
        }
        free(first_diff);
        it->consumed = ++rt->stamp;
        seen_at(rt, it->at_ms, it->lo_ms, it->hi_ms);
    }
out:
    for (i = 0; i < g.n; i++)
        json_decref(g.items[i].after);
    free(g.items);
}

/* ---- provider steps
 * ------------------------------------------------------------------------------ */

struct ctl_arg {
    const char *label;
    const char *type;    /* message type wanted, or NULL */
    const char *barrier; /* for reached */
    bool done_stops;     /* give up when the label's newest run is done */
    /* incremental scan state: messages before `scan` were looked at already */
    size_t scan;
    long found;             /* index of the match, or -1 */
    const char *newest_run; /* the newest run of the label that said hello */
    bool newest_done;
};

static bool ctl_matches(const struct ctlmsg *m, const struct ctl_arg *a)
{
    const char *t = wc_json_str(m->msg, "type");
    if (m->consumed || strcmp(m->label, a->label))
        return false;
    if (a->type && (!t || strcmp(t, a->type)))
        return false;
    if (a->barrier &&
        (!wc_json_str(m->msg, "barrier") || strcmp(wc_json_str(m->msg, "barrier"), a->barrier)))
        return false;
    return true;
}

/* Look at the messages that arrived since the last call. True when one matches (a->found) or
 * the label's newest run is done and done_stops is set. */
static bool cond_ctl(struct rt *rt, void *arg)
{
    struct ctl_arg *a = arg;
    if (a->found >= 0)
        return true;
    for (; a->scan < rt->nmsgs; a->scan++) {
        struct ctlmsg *m = &rt->msgs[a->scan];
        if (ctl_matches(m, a)) {
            a->found = (long)a->scan;
            return true;
        }
        if (strcmp(m->label, a->label))
            continue;
        const char *t = wc_json_str(m->msg, "type");
        if (t && !strcmp(t, "hello")) {
            a->newest_run = m->run;
            a->newest_done = false;
        } else if (t && !strcmp(t, "done") && a->newest_run && !strcmp(m->run, a->newest_run)) {
            a->newest_done = true;
        }
    }
    return a->done_stops && a->newest_done;
}

static struct ctlmsg *wait_ctl(struct rt *rt, const json_t *step, struct ctl_arg *a,
                               const char *what)
{
    a->scan = 0;
    a->found = -1;
    a->newest_run = NULL;
    a->newest_done = false;
    if (wait_until(rt, cond_ctl, a, wait_deadline(rt, timeout_of(rt))) != 0) {
        char *bwhat = wc_xasprintf("script %s reporting %s", a->label, what);
        bool bounded = within_expired(rt, step, NULL, bwhat);
        free(bwhat);
        if (bounded)
            return NULL;
        /* The gateway answered a sentinel, and a grace period of one more timeout for the
         * control socket passed: the provider was not made to do it. */
        if (settled_after_timeout(rt, NULL) &&
            wait_until(rt, cond_ctl, a, wc_now_ms() + timeout_of(rt)) != 0) {
            char *msg = wc_xasprintf("script %s never reported %s, though the gateway answered "
                                     "a sentinel",
                                     a->label, what);
            step_fail(rt, step, msg, NULL, NULL, NULL, 0);
            free(msg);
            return NULL;
        }
        if (!rt->failed && a->found < 0 && !cond_ctl(rt, a))
            step_error(rt, step, "timed out after %lld ms waiting for script %s to report %s",
                       (long long)timeout_of(rt), a->label, what);
        if (rt->failed || !cond_ctl(rt, a))
            return NULL;
    }
    if (a->found < 0) {
        char *msg = wc_xasprintf("script %s finished without reporting %s", a->label, what);
        step_fail(rt, step, msg, NULL, NULL, NULL, 0);
        free(msg);
        return NULL;
    }
    seen_at(rt, rt->msgs[a->found].at_ms, rt->msgs[a->found].lo_ms, rt->msgs[a->found].hi_ms);
    return &rt->msgs[a->found];
}

static void run_step_reached(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "reached");
    const char *k;
    json_t *m;
    json_object_foreach(v, k, m)
    {
        struct ctl_arg a = {
            .label = k, .type = "reached", .barrier = json_string_value(m), .done_stops = true};
        char *what = wc_xasprintf("reaching barrier '%s'", json_string_value(m));
        struct ctlmsg *cm = wait_ctl(rt, step, &a, what);
        free(what);
        if (!cm)
            return;
        cm->consumed = ++rt->stamp;
    }
}

static void run_step_release(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "release");
    const char *k;
    json_t *m;
    json_object_foreach(v, k, m)
    {
        const char *barrier = json_string_value(m);
        const char *run = NULL;
        drain(rt);
        /* the run that reached the barrier, else the newest run of the label */
        for (size_t i = 0; i < rt->nmsgs; i++) {
            struct ctlmsg *cm = &rt->msgs[i];
            const char *t = wc_json_str(cm->msg, "type");
            if (!strcmp(cm->label, k) && t && !strcmp(t, "reached") &&
                !strcmp(wc_json_str(cm->msg, "barrier") ? wc_json_str(cm->msg, "barrier") : "",
                        barrier))
                run = cm->run;
        }
        if (run && hn_ctl_has(rt->ctl, k, run))
            send_release(rt, k, run, barrier);
        else if (hn_ctl_has(rt->ctl, k, NULL))
            send_release(rt, k, NULL, barrier);
        else {
            json_array_append_new(rt->pending_release,
                                  json_pack("{s:s, s:s}", "label", k, "barrier", barrier));
            note(rt, "release %s/%s: script not connected yet; sent when it says hello", k,
                 barrier);
        }
    }
}

static void run_step_provider_done(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "provider_done");
    json_t *map = json_is_string(v) ? json_pack("{s:n}", json_string_value(v)) : json_incref(v);
    const char *k;
    json_t *m;
    json_object_foreach(map, k, m)
    {
        struct ctl_arg a = {.label = k, .type = "done"};
        struct ctlmsg *cm = wait_ctl(rt, step, &a, "done");
        if (!cm)
            break;
        cm->consumed = ++rt->stamp;
        if (json_is_string(m)) {
            json_t *pat = json_pack("{s:O}", "how", m);
            char *diff = NULL;
            if (!hn_match(pat, cm->msg, &rt->scope, &diff)) {
                char *msg = wc_xasprintf("script %s ended differently", k);
                step_fail(rt, step, msg, pat, cm->msg, diff, cm->rec_n);
                free(msg);
            }
            free(diff);
            json_decref(pat);
            if (rt->failed)
                break;
        }
    }
    json_decref(map);
}

static void do_provider_pattern(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, sname);
    bool hello = !strcmp(sname, "provider_hello");
    const char *k;
    json_t *pat;
    json_object_foreach(v, k, pat)
    {
        const char *type = hello ? "hello" : wc_json_str(pat, "type");
        struct ctl_arg a = {.label = k, .type = type, .done_stops = !hello};
        char *what = wc_xasprintf("%s", type ? type : "a message");
        struct ctlmsg *cm = wait_ctl(rt, step, &a, what);
        free(what);
        if (!cm)
            return;
        char *diff = NULL;
        if (!hn_match(pat, cm->msg, &rt->scope, &diff)) {
            char *msg = wc_xasprintf("script %s: the %s message does not match", k,
                                     type ? type : "control");
            step_fail(rt, step, msg, pat, cm->msg, diff, cm->rec_n);
            free(msg);
            free(diff);
            return;
        }
        cm->consumed = ++rt->stamp;
    }
}

/* ---- quiet
 * ---------------------------------------------------------------------------------------- */

struct sent_arg {
    struct client *c;
    char *id;
};

static bool cond_sentinel(struct rt *rt, void *arg)
{
    struct sent_arg *a = arg;
    (void)rt;
    return !json_object_get(a->c->sentinels, a->id) || a->c->state != C_OPEN;
}

/* Send a sentinel on c and wait for its reply. Returns the reply's arrival, or 0 on failure
 * (the failure is recorded when step is not NULL; a note otherwise). */
static uint64_t sentinel_round(struct rt *rt, const json_t *step, struct client *c)
{
    char id[64];
    send_sentinel(rt, step, c, id, sizeof(id));

    struct sent_arg a = {.c = c, .id = id};
    if (wait_until(rt, cond_sentinel, &a, wc_now_ms() + timeout_of(rt)) != 0) {
        if (step)
            step_error(rt, step,
                       "quiet: no chat_subscribed for the sentinel %s on %s within %lld ms", id,
                       c->name, (long long)timeout_of(rt));
        else
            note(rt, "final sentinel %s on %s not answered", id, c->name);
        return 0;
    }
    if (json_object_get(c->sentinels, id)) {
        if (step) {
            json_t *rec = close_value(c);
            step_fail(rt, step, "quiet: the connection closed before the sentinel's reply", NULL,
                      rec, NULL, c->close_rec_n);
            json_decref(rec);
        }
        return 0;
    }
    for (size_t i = c->n; i-- > 0;) {
        if (c->items[i].sentinel && c->items[i].kind &&
            !strcmp(wc_json_str(c->items[i].frame, "sessionId")
                        ? wc_json_str(c->items[i].frame, "sessionId")
                        : "",
                    id))
            return c->items[i].arrival;
    }
    return 1;
}

struct quiet_arg {
    int64_t last;
    uint64_t arrival;
};

static bool cond_never(struct rt *rt, void *arg)
{
    struct quiet_arg *q = arg;
    if (rt->arrival != q->arrival) {
        q->arrival = rt->arrival;
        q->last = wc_now_ms();
    }
    return false;
}

static void run_step_quiet(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "quiet");
    json_t *list = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
    size_t i;
    json_t *e;
    uint64_t *until = wc_xcalloc(json_array_size(list) + 1, sizeof(*until));

    if (!strcmp(rt->t->quiescence, "quiet_ms")) {
        /* the target cannot answer sentinels: a bounded quiet period (said in the transcript) */
        struct quiet_arg q = {.last = wc_now_ms(), .arrival = rt->arrival};
        note(rt, "quiescence by a quiet period of %lld ms (target profile)",
             (long long)rt->t->quiet_ms);
        while (wc_now_ms() - q.last < rt->t->quiet_ms)
            wait_until(rt, cond_never, &q, q.last + rt->t->quiet_ms);
        json_array_foreach(list, i, e) until[i] = UINT64_MAX;
    } else {
        json_array_foreach(list, i, e)
        {
            struct client *c = waiting_client(rt, step, json_string_value(e));
            if (!c)
                goto out;
            drain(rt);
            if (c->state != C_OPEN) {
                json_t *rec = close_value(c);
                step_fail(rt, step, "quiet: the connection is closed", NULL, rec, NULL,
                          c->close_rec_n);
                json_decref(rec);
                goto out;
            }
            until[i] = sentinel_round(rt, step, c);
            if (!until[i])
                goto out;
        }
    }
    json_array_foreach(list, i, e)
    {
        struct client *c = client_get(rt, json_string_value(e), false);
        if (!c)
            continue;
        advance_hint(c);
        for (size_t j = c->hint; j < c->n; j++) {
            struct item *it = &c->items[j];
            if (it->arrival > until[i])
                break;
            if (it->consumed || it->sentinel || ignored(rt, it, NULL))
                continue;
            json_t *val = item_value(it);
            char *s = wc_json_compact(val);
            char *diff = wc_xasprintf("on %s: expected nothing more, received %.300s", c->name, s);
            step_fail(rt, step, "quiet: an unexpected frame arrived", NULL, val, diff, it->rec_n);
            free(diff);
            free(s);
            json_decref(val);
            goto out;
        }
    }
out:
    free(until);
    json_decref(list);
}

/* ---- http
 * ----------------------------------------------------------------------------------------- */

/*
 * A POST to the profile's session path names a project directory: make it, as create_sessions
 * does for `sessions:`, because a real gateway runs the provider there (CloudCLI spawns it with
 * that cwd and does not check that it exists, cloudcli-notes.md §3). Surrounding blanks are
 * trimmed, as the gateway trims them; only absolute paths are made.
 */
static void make_project_dir(const struct rt *rt, const char *method, const char *path,
                             const json_t *body)
{
    const char *sp = wc_json_str(json_object_get(rt->t->profile, "sessions"), "path");
    const char *pp = wc_json_str(body, "projectPath");

    if (!sp)
        sp = "/api/providers/sessions";
    if (!pp || strcmp(method, "POST") || strcmp(path, sp))
        return;
    while (*pp == ' ' || *pp == '\t')
        pp++;
    size_t n = strlen(pp);
    while (n && (pp[n - 1] == ' ' || pp[n - 1] == '\t'))
        n--;
    if (n > 1 && pp[0] == '/') {
        char *dir = wc_xstrndup(pp, n);
        (void)wc_mkdir_p(dir, 0755);
        free(dir);
    }
}

static void run_step_http(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "http");
    const char *method = wc_json_str(v, "method");
    char *path = expand_str(rt, step, wc_json_str(v, "path"));
    char *user = NULL, *token = NULL, *err = NULL;
    json_t *body = NULL;
    bool ok;
    struct hn_http_resp r;

    if (!path)
        return;
    user = wc_json_str(v, "user") ? expand_str(rt, step, wc_json_str(v, "user"))
                                  : wc_xstrdup(rt->t->default_user ? rt->t->default_user : "");
    if (!user)
        goto out;
    token = token_for(rt, step, v, user, &ok);
    if (!ok)
        goto out;
    if (json_object_get(v, "body")) {
        body = hn_expand(json_object_get(v, "body"), &rt->scope, &err);
        if (!body) {
            step_error(rt, step, "http body: %s", err);
            goto out;
        }
    }
    make_project_dir(rt, method, path, body);
    int rc = hn_http_request(rt->t->host, rt->t->port, method, path, token, body,
                             (int)timeout_of(rt), &r, &err);
    if (rc != 0) {
        step_error(rt, step, "%s %s: %s", method, path, err);
        goto out;
    }
    json_t *resp = json_pack("{s:i, s:O?}", "status", r.status, "body", r.json);
    if (!r.json && r.body_len) {
        json_t *s = json_stringn(r.body, r.body_len);
        json_object_set_new(resp, "body", s ? s : json_string("(not UTF-8)"));
    }
    int64_t n = add_record(rt, json_pack("{s:s, s:s, s:s, s:s, s:i, s:O?}", "t", "http", "method",
                                         method, "path", path, "user", user, "status", r.status,
                                         "body", json_object_get(resp, "body")));
    if (body && n > 0) {
        /* keep the request body next to the answer */
        json_t *recs = hn_transcript_records(rt->tr);
        json_t *last = json_array_get(recs, json_array_size(recs) - 1);
        if (last)
            json_object_set(last, "request", body);
    }
    hn_http_resp_release(&r);
    json_t *ex = json_object_get(v, "expect");
    if (ex) {
        char *diff = NULL;
        if (!hn_match(ex, resp, &rt->scope, &diff))
            step_fail(rt, step, "the HTTP answer does not match", ex, resp, diff, n);
        free(diff);
    }
    if (!rt->failed) {
        json_t *cap = json_object_get(v, "capture");
        const char *k;
        json_t *m;
        json_object_foreach(cap, k, m)
        {
            json_t *val = hn_json_path(resp, json_string_value(m));
            if (!val) {
                char *msg = wc_xasprintf("capture %s: nothing at %s", k, json_string_value(m));
                step_fail(rt, step, msg, NULL, resp, NULL, n);
                free(msg);
                break;
            }
            json_object_set(rt->vars, k, val);
        }
    }
    json_decref(resp);
out:
    free(err);
    free(path);
    free(user);
    free(token);
    json_decref(body);
}

/* ---- alternatives
 * -------------------------------------------------------------------------------- */

static void run_step(struct rt *rt, const json_t *step);

struct snapshot {
    uint64_t stamp;
    json_t *vars;
};

static void restore(struct rt *rt, struct snapshot *s)
{
    for (size_t i = 0; i < rt->nclients; i++) {
        struct client *c = &rt->clients[i];
        for (size_t j = 0; j < c->n; j++) {
            if (c->items[j].consumed > s->stamp) {
                c->items[j].consumed = 0;
                if (j < c->hint)
                    c->hint = j;
            }
        }
    }
    for (size_t i = 0; i < rt->nmsgs; i++) {
        if (rt->msgs[i].consumed > s->stamp)
            rt->msgs[i].consumed = 0;
    }
    json_object_clear(rt->vars);
    json_object_update(rt->vars, s->vars);
}

static int grade_rank(const char *g)
{
    if (!g || !strcmp(g, "ok"))
        return 0;
    if (!strcmp(g, "informational"))
        return 1;
    return 2; /* non_strict */
}

static void run_step_alternatives(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *alts = json_object_get(step, "alternatives");
    json_t *reasons = json_array();
    size_t i;
    json_t *alt;
    bool any_timeout = false;

    json_array_foreach(alts, i, alt)
    {
        struct snapshot s = {.stamp = rt->stamp, .vars = json_deep_copy(rt->vars)};
        json_t *steps = json_object_get(alt, "steps");
        size_t j;
        json_t *st;
        const char *grade = wc_json_str(alt, "grade");

        rt->alt_depth++;
        rt->failed = false;
        rt->alt_timeout = false;
        rt->alt_failure = NULL;
        note(rt, "alternatives: trying %zu (%s)", i + 1, grade);
        json_array_foreach(steps, j, st)
        {
            run_step(rt, st);
            if (rt->failed)
                break;
        }
        rt->alt_depth--;
        if (!rt->failed) {
            note(rt, "alternatives: %zu (%s) matched", i + 1, grade);
            if (grade_rank(grade) > grade_rank(rt->alt_grade))
                rt->alt_grade = grade;
            json_decref(s.vars);
            json_decref(reasons);
            json_decref(rt->alt_failure);
            rt->alt_failure = NULL;
            return;
        }
        any_timeout = any_timeout || rt->alt_timeout;
        if (rt->alt_failure) {
            json_object_set_new(rt->alt_failure, "alternative", json_integer((json_int_t)i + 1));
            json_array_append(reasons, rt->alt_failure);
            json_decref(rt->alt_failure);
            rt->alt_failure = NULL;
        }
        restore(rt, &s);
        json_decref(s.vars);
    }
    rt->failed = false;
    /* no alternative matched: report the first one's mismatch with all reasons attached */
    json_t *first = json_array_get(reasons, 0);
    char *msg = wc_xasprintf("no alternative matched (%zu tried)", json_array_size(alts));
    if (first && !any_timeout) {
        step_fail(rt, step, msg, json_object_get(first, "expected"),
                  json_object_get(first, "received"), wc_json_str(first, "diff"), 0);
    } else {
        step_error(rt, step, "%s; at least one timed out", msg);
    }
    json_t *last = json_array_get(rt->failures, json_array_size(rt->failures) - 1);
    if (last)
        json_object_set(last, "alternatives", reasons);
    free(msg);
    json_decref(reasons);
}

/* ---- the step dispatcher --------------------------------------------------------------------- */

/* pause / resume: stop reading a client's socket (the kernel buffers fill), and start again. */
static void do_pause(struct rt *rt, const json_t *step, bool pause)
{
    json_t *v = json_object_get(step, pause ? "pause" : "resume");
    const char *name = json_is_string(v) ? json_string_value(v) : wc_json_str(v, "client");
    struct client *c = open_client(rt, step, name);

    if (!c)
        return;
    if (pause) {
        c->paused = true;
        note(rt, "%s paused: its socket is not read until resume", name);
        return;
    }
    c->paused = false;
    note(rt, "%s resumed", name);
    drain(rt);
}

/* The providers a restart step disables (expanded), as a new array; NULL on an error. */
static json_t *restart_disabled(struct rt *rt, const json_t *step)
{
    json_t *v = json_object_get(step, "restart");
    json_t *d = json_is_object(v) ? json_object_get(v, "disable_provider") : NULL;
    json_t *list = json_is_string(d)  ? json_pack("[O]", d)
                   : json_is_array(d) ? json_incref(d)
                                      : json_array();
    json_t *out = json_array();
    size_t i;
    json_t *e;

    json_array_foreach(list, i, e)
    {
        char *name = expand_str(rt, step, json_string_value(e));
        if (!name) {
            json_decref(out);
            out = NULL;
            break;
        }
        json_array_append_new(out, json_string(name));
        free(name);
    }
    json_decref(list);
    return out;
}

static void run_step_restart(struct rt *rt, const json_t *step, const char *sname)
{
    char *err = NULL;
    json_t *disabled = restart_disabled(rt, step);
    const char *sig = wc_json_str(json_object_get(step, "restart"), "signal");
    bool crash = sig && !strcmp(sig, "KILL");

    if (!disabled)
        return;
    if (crash)
        note(rt, "killing the target with SIGKILL (a crash: nothing is flushed)");
    if (json_array_size(disabled)) {
        char *names = wc_json_compact(disabled);
        note(rt, "restarting the target with provider(s) %s unavailable", names);
        free(names);
    } else {
        note(rt, "restarting the target");
    }
    int rc = hn_target_set_disabled(rt->t, disabled, &err);
    json_decref(disabled);
    if (rc == 0)
        rc = hn_target_restart_signal(rt->t, crash ? SIGKILL : SIGTERM, (int)(timeout_of(rt) * 4),
                                      &err);
    if (rc != 0) {
        step_error(rt, step, "restart: %s", err);
        free(err);
        return;
    }
    /* the old sockets are gone with the old process */
    for (size_t i = 0; i < rt->nclients; i++) {
        struct client *c = &rt->clients[i];
        if (c->state == C_OPEN || c->state == C_CLOSING) {
            hn_ws_read(&c->ws);
            c->ws.eof = true;
            client_process(rt, c);
        }
    }
    note(rt, "target restarted on port %d", rt->t->port);
}

/* The step's within_ms (an integer, or {max, min}): the clock starts where the previous step
 * left it (the arrival of what it waited for, else its end). */
static void within_setup(struct rt *rt, const json_t *step)
{
    json_t *w = json_object_get(step, "within_ms");
    int64_t max = -1, min = -1;

    rt->within = (struct within){.on = false, .min_ms = -1};
    if (json_is_integer(w)) {
        max = json_integer_value(w);
    } else if (json_is_object(w)) {
        wc_json_int(w, "max", &max);
        wc_json_int(w, "min", &min);
    }
    if (max <= 0)
        return;
    rt->within = (struct within){
        .on = true, .min_ms = min, .max_ms = max, .t0 = rt->mark_ms, .t0_lo = rt->mark_lo_ms};
}

static void run_step_provider_hello(struct rt *rt, const json_t *step, const char *sname)
{
    do_provider_pattern(rt, step, sname);
}

static void run_step_provider_event(struct rt *rt, const json_t *step, const char *sname)
{
    do_provider_pattern(rt, step, sname);
}

static void run_step_pause(struct rt *rt, const json_t *step, const char *sname)
{
    do_pause(rt, step, true);
}

static void run_step_resume(struct rt *rt, const json_t *step, const char *sname)
{
    do_pause(rt, step, false);
}

static void run_step_note(struct rt *rt, const json_t *step, const char *sname)
{
    char *t = expand_str(rt, step, wc_json_str(step, "note"));
    if (t)
        note(rt, "%s", t);
    free(t);
}

/* One runner per step of model/steps.h, run_step_<name>: a step without one does not build. */
typedef void step_runner(struct rt *rt, const json_t *step, const char *sname);
static step_runner *const runners[HN_STEP__COUNT] = {
#define RUNNER(name, flags) [HN_STEP_##name] = run_step_##name,
    HN_STEPS(RUNNER)
#undef RUNNER
};

static void run_step(struct rt *rt, const json_t *step)
{
    const char *name = hn_step_name(step);
    const struct hn_step_kind *kind = hn_step_kind(name);
    struct within saved = rt->within;

    if (!name)
        return;
    if (!kind) { /* lint refuses it; a case built in memory might not have been linted */
        step_error(rt, step, "unknown step '%s'", name);
        return;
    }
    within_setup(rt, step);
    rt->seen_ms = -1;
    runners[kind->id](rt, step, name);
    within_grade(rt, step);
    if (rt->seen_ms >= 0) {
        rt->mark_ms = rt->seen_ms;
        rt->mark_lo_ms = rt->seen_lo_ms;
    } else {
        rt->mark_ms = rt->mark_lo_ms = wc_now_ms();
    }
    rt->within = saved;
}

/* ---- setup, teardown, grading ------------------------------------------------------------------
 */

static int create_sessions(struct rt *rt)
{
    const char *label;
    json_t *s;

    json_object_foreach(rt->c->sessions, label, s)
    {
        char *err = NULL, *id = NULL;
        json_t *reply = NULL;
        char *user = wc_json_str(s, "user")
                         ? expand_str(rt, NULL, wc_json_str(s, "user"))
                         : wc_xstrdup(rt->t->default_user ? rt->t->default_user : "");
        char *pp;
        if (!user)
            return WC_ERR_CONFIG;
        if (wc_json_str(s, "projectPath")) {
            pp = expand_str(rt, NULL, wc_json_str(s, "projectPath"));
        } else {
            pp = wc_xasprintf("/tmp/gwspec/%s/%s", rt->c->id, label);
            (void)wc_mkdir_p(pp, 0755);
        }
        if (!pp) {
            free(user);
            return WC_ERR_CONFIG;
        }
        const char *provider = wc_json_str(s, "provider");
        int rc = hn_target_create_session(rt->t, user, provider, pp, (int)timeout_of(rt), &id,
                                          &reply, &err);
        if (reply)
            add_record(rt,
                       json_pack("{s:s, s:s, s:s, s:s, s:i, s:O?}", "t", "http", "method", "POST",
                                 "path", "/api/providers/sessions", "user", user, "status",
                                 (int)json_integer_value(json_object_get(reply, "status")), "body",
                                 json_object_get(reply, "body")));
        if (rc != 0) {
            step_error(rt, NULL, "creating session %s: %s", label, err);
            free(err);
            free(user);
            free(pp);
            json_decref(reply);
            return rc;
        }
        add_record(rt, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "t", "session", "label", label,
                                 "sessionId", id, "provider", provider, "projectPath", pp, "user",
                                 user));
        json_object_set_new(rt->vars, label, json_string(id));
        char *k = wc_xasprintf("%s.projectPath", label);
        json_object_set_new(rt->vars, k, json_string(pp));
        free(k);
        free(id);
        free(user);
        free(pp);
        json_decref(reply);
    }
    return 0;
}

static enum hn_verdict level_verdict(const struct rt *rt, const char *req)
{
    const struct hn_req *r = hn_spec_find(rt->o->spec, req ? req : "");
    if (rt->c->strict)
        return HN_NON_STRICT;
    if (!r)
        return HN_FAILED;
    if (r->capability && !hn_target_has_capability(rt->t, r->capability))
        return HN_INFORMATIONAL;
    switch (r->level) {
    case HN_LEVEL_MUST:
        return HN_FAILED;
    case HN_LEVEL_SHOULD:
        return HN_NON_STRICT;
    case HN_LEVEL_MAY:
        return HN_INFORMATIONAL;
    }
    return HN_FAILED;
}

static enum hn_verdict worse(enum hn_verdict a, enum hn_verdict b)
{
    return hn_verdict_worst(a, b);
}

static json_t *base_result(const struct hn_case *c, uint64_t seed, const char *rerun)
{
    return json_pack("{s:s, s:s?, s:s, s:O, s:O, s:b, s:I, s:[], s:{}, s:[], s:s?}", "id", c->id,
                     "title", c->title, "file", c->file, "spec", c->spec, "tags", c->tags, "known",
                     0, "seed", (json_int_t)(seed & 0x7fffffffffffffffULL), "failures", "checks",
                     "transcript", "rerun", rerun);
}

json_t *hn_runner_result_norun(const struct hn_case *c, const char *verdict, const char *message,
                               uint64_t seed, const char *rerun)
{
    json_t *r = base_result(c, seed, rerun);
    json_object_set_new(r, "verdict", json_string(verdict));
    json_object_set_new(r, "duration_ms", json_integer(0));
    if (message) {
        json_t *f =
            json_pack("{s:n, s:s, s:s, s:n, s:n, s:n, s:n, s:[]}", "requirement", "kind", "error",
                      "message", message, "step", "expected", "received", "diff", "witness");
        if (strcmp(verdict, "ERROR")) {
            json_object_set_new(r, "reason", json_string(message));
            json_decref(f);
        } else {
            json_array_append_new(json_object_get(r, "failures"), f);
        }
    }
    return r;
}

static void final_round(struct rt *rt)
{
    /* a client still paused is read again, so the last sentinel and the close can work */
    for (size_t i = 0; i < rt->nclients; i++) {
        if (rt->clients[i].paused) {
            rt->clients[i].paused = false;
            note(rt, "%s resumed for the end of the case", rt->clients[i].name);
        }
    }
    /* a last sentinel on every open client so the transcript holds everything, then close */
    if (!rt->failed && !strcmp(rt->t->quiescence, "sentinel")) {
        for (size_t i = 0; i < rt->nclients; i++) {
            struct client *c = &rt->clients[i];
            if (c->state == C_OPEN)
                sentinel_round(rt, NULL, c);
        }
    }
    /* A quiet_ms target: one quiet period (bounded by the safety timeout) before closing, after a
     * failed step too, so frames still in flight from out-of-process providers (events after a
     * terminal, say) are in the transcript every time and the checkers judge the same frames in
     * every run. */
    if (!rt->errored && !strcmp(rt->t->quiescence, "quiet_ms") && rt->t->quiet_ms > 0) {
        bool open = false;
        for (size_t i = 0; i < rt->nclients; i++)
            open |= rt->clients[i].state == C_OPEN;
        if (open) {
            struct quiet_arg q = {.last = wc_now_ms(), .arrival = rt->arrival};
            int64_t cap = wc_now_ms() + timeout_of(rt);
            while (wc_now_ms() - q.last < rt->t->quiet_ms && wc_now_ms() < cap)
                wait_until(rt, cond_never, &q,
                           q.last + rt->t->quiet_ms < cap ? q.last + rt->t->quiet_ms : cap);
        }
    }
    drain(rt);
    for (size_t i = 0; i < rt->nclients; i++) {
        struct client *c = &rt->clients[i];
        if (c->state == C_OPEN) {
            hn_ws_close(&c->ws, 1000, NULL);
            hn_ws_flush(&c->ws);
            record_close(rt, c, "client", 1000, NULL);
            client_finish(c);
        } else if (c->state == C_CLOSING) {
            client_finish(c);
        }
    }
}

/* The client of a `send` step that names exactly one client, or NULL. */
static const char *send_client(const json_t *step)
{
    const json_t *v = json_object_get(step, "send");
    const char *k;
    json_t *m;

    if (!json_is_object(v) || json_object_size(v) != 1 || json_object_size(step) != 1)
        return NULL;
    json_object_foreach((json_t *)v, k, m) return k;
    return NULL;
}

/* step and next are both sends to the same single client: the client of that burst. */
static const char *burst_with_next(const json_t *step, const json_t *next)
{
    const char *a = send_client(step), *b = next ? send_client(next) : NULL;

    return a && b && !strcmp(a, b) ? a : NULL;
}

/*
 * The first literal user name (no variable) that a session, connect or http step of the case
 * names and the target does not have, or NULL. A single-user target (CloudCLI) cannot run such a
 * case: that is UNIMPLEMENTED, like a missing capability, not a harness error.
 */
static const char *missing_user(const struct hn_case *c, const struct hn_target *t)
{
    const char *k, *u;
    json_t *v, *e;
    size_t i;

    json_object_foreach(c->sessions, k, v)
    {
        u = wc_json_str(v, "user");
        if (u && !strchr(u, '$') && !hn_target_token(t, u))
            return u;
    }
    json_array_foreach(c->steps, i, e)
    {
        json_t *body = json_object_get(e, "connect");
        if (!json_is_object(body))
            body = json_object_get(e, "http");
        const char *const keys[] = {"user", "header_user", NULL};
        for (size_t j = 0; json_is_object(body) && keys[j]; j++) {
            u = wc_json_str(body, keys[j]);
            if (u && !strchr(u, '$') && !hn_target_token(t, u))
                return u;
        }
        const char *const toks[] = {"token", "header_token", NULL};
        for (size_t j = 0; json_is_object(body) && toks[j]; j++) {
            u = wc_json_str(json_object_get(body, toks[j]), "of");
            if (u && !strchr(u, '$') && !hn_target_token(t, u))
                return u;
        }
    }
    return NULL;
}

/* True when a `restart` step of the case makes a provider unavailable. */
static bool needs_disable(const struct hn_case *c)
{
    size_t i;
    json_t *e;

    json_array_foreach(c->steps, i, e)
    {
        json_t *r = json_object_get(e, "restart");
        if (json_is_object(r) && json_object_get(r, "disable_provider"))
            return true;
    }
    return false;
}

json_t *hn_runner_run(const struct hn_case *c, struct hn_target *shared,
                      const struct hn_runner_opts *o)
{
    struct rt rt_s, *rt = &rt_s;
    int64_t t0 = wc_now_ms();
    size_t i;
    json_t *e;
    char *err = NULL;
    struct hn_target *own = NULL;

    /* capabilities and providers the case needs */
    json_array_foreach(c->needs, i, e)
    {
        if (!hn_target_has_capability(shared, json_string_value(e))) {
            char *m =
                wc_xasprintf("the target does not declare capability '%s'", json_string_value(e));
            json_t *r = hn_runner_result_norun(c, "UNIMPLEMENTED", m, o->seed, o->rerun);
            free(m);
            return r;
        }
    }
    json_array_foreach(c->providers_needed, i, e)
    {
        if (!hn_target_has_provider(shared, json_string_value(e))) {
            char *m = wc_xasprintf("the target has no provider '%s'", json_string_value(e));
            json_t *r = hn_runner_result_norun(c, "UNIMPLEMENTED", m, o->seed, o->rerun);
            free(m);
            return r;
        }
    }
    const char *sk;
    json_t *sv;
    json_object_foreach(c->sessions, sk, sv)
    {
        const char *p = wc_json_str(sv, "provider");
        if (p && !hn_target_has_provider(shared, p)) {
            char *m = wc_xasprintf("the target has no provider '%s'", p);
            json_t *r = hn_runner_result_norun(c, "UNIMPLEMENTED", m, o->seed, o->rerun);
            free(m);
            return r;
        }
    }
    if (needs_disable(c) && !hn_target_can_disable(shared)) {
        return hn_runner_result_norun(c, "UNIMPLEMENTED",
                                      "the target profile has no disable_provider_args: it "
                                      "cannot be restarted with a provider unavailable",
                                      o->seed, o->rerun);
    }
    int64_t cap = 0;
    if (wc_json_int(c->root, "replay_cap", &cap) && cap != shared->replay_cap) {
        char *m = wc_xasprintf("the case is written for a replay cap of %lld events; the target "
                               "declares %lld (replay_cap)",
                               (long long)cap, (long long)shared->replay_cap);
        json_t *r = hn_runner_result_norun(c, "UNIMPLEMENTED", m, o->seed, o->rerun);
        free(m);
        return r;
    }
    if (c->own_target && !hn_target_spawns(shared)) {
        return hn_runner_result_norun(c, "UNIMPLEMENTED",
                                      "the case needs a private gateway (own_target) and the "
                                      "target profile cannot start one (it has no 'start')",
                                      o->seed, o->rerun);
    }
    const char *mu = missing_user(c, shared);
    if (mu) {
        char *m = wc_xasprintf("the case uses user '%s'; the target has no such user%s", mu,
                               hn_target_has_capability(shared, "multi-user")
                                   ? ""
                                   : " (it does not declare multi-user)");
        json_t *r = hn_runner_result_norun(c, "UNIMPLEMENTED", m, o->seed, o->rerun);
        free(m);
        return r;
    }
    if (c->own_target) {
        own = hn_target_clone(shared);
        if (hn_target_start(own, 20000, &err) != 0) {
            char *m = wc_xasprintf("own target: %s", err);
            json_t *r = hn_runner_result_norun(c, "ERROR", m, o->seed, o->rerun);
            free(m);
            free(err);
            hn_target_free(own);
            return r;
        }
    }

    memset(rt, 0, sizeof(*rt));
    rt->c = c;
    rt->t = own ? own : shared;
    rt->o = o;
    rt->step_index = -1;
    rt->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : c->timeout_ms;
    rt->failures = json_array();
    rt->pending_release = json_array();
    rt->vars = json_object();
    rt->scope = (struct hn_scope){.vars = rt->vars, .resolve = resolve, .ctx = rt};
    rt->within.min_ms = -1;
    rt->seen_ms = -1;
    rt->mark_ms = rt->mark_lo_ms = rt->poll_ms = rt->poll_prev_ms = wc_now_ms();
    wc_rand_init(&rt->rng, o->seed);
    snprintf(rt->case_token, sizeof(rt->case_token), "%s#%04llx", c->id,
             (unsigned long long)(wc_rand_next(&rt->rng) & 0xffff));
    json_object_set_new(rt->vars, "case", json_string(c->id));
    json_object_set_new(rt->vars, "seed",
                        json_integer((json_int_t)(o->seed & 0x7fffffffffffffffULL)));
    json_object_set_new(rt->vars, "user",
                        json_string(rt->t->default_user ? rt->t->default_user : ""));
    if (c->matrix)
        json_object_update(rt->vars, c->matrix);

    json_t *header = json_pack("{s:s, s:I, s:s, s:s, s:O, s:O, s:I}", "case", c->id, "seed",
                               (json_int_t)(o->seed & 0x7fffffffffffffffULL), "target", rt->t->name,
                               "spec", o->spec_version ? o->spec_version : "chatgw/1.0",
                               "capabilities", rt->t->capabilities, "extensions", rt->t->extensions,
                               "replay_cap", (json_int_t)rt->t->replay_cap);
    if (rt->t->ping_interval_ms)
        json_object_set_new(header, "ping_interval_ms", json_integer(rt->t->ping_interval_ms));
    if (rt->t->mutant)
        json_object_set_new(header, "mutant", json_string(rt->t->mutant));
    rt->tr = hn_transcript_new(header);

    rt->ctl = hn_ctl_new(on_ctl, rt, &err);
    if (rt->ctl)
        hn_ctl_set_case(rt->ctl, rt->case_token);
    if (!rt->ctl) {
        step_error(rt, NULL, "%s", err);
        free(err);
    } else if (create_sessions(rt) == 0) {
        json_array_foreach(c->steps, i, e)
        {
            rt->step_index = (int64_t)i;
            rt->burst_client = burst_with_next(e, json_array_get(c->steps, i + 1));
            run_step(rt, e);
            rt->burst_client = NULL;
            if (rt->failed)
                break;
        }
        rt->step_index = -1;
    }
    if (rt->ctl)
        final_round(rt);

    /* invariants */
    json_t *inv = hn_invariants_run(rt->tr, o->catalog);
    enum hn_verdict verdict = HN_OK;
    json_array_foreach(rt->failures, i, e)
    {
        if (!strcmp(wc_json_str(e, "kind"), "error"))
            verdict = worse(verdict, HN_ERROR);
        else if (!strcmp(wc_json_str(e, "kind"), "late"))
            verdict = worse(verdict, HN_NON_STRICT); /* late within the tolerance */
        else
            verdict = worse(verdict, level_verdict(rt, wc_json_str(e, "requirement")));
    }
    json_array_foreach(json_object_get(inv, "violations"), i, e)
    {
        json_t *f = json_pack("{s:s?, s:s, s:s?, s:n, s:n, s:n, s:n, s:O?, s:s?, s:O?}",
                              "requirement", wc_json_str(e, "requirement"), "kind", "invariant",
                              "message", wc_json_str(e, "message"), "step", "expected", "received",
                              "diff", "witness", json_object_get(e, "witness"), "checker",
                              wc_json_str(e, "checker"), "frames", json_object_get(e, "frames"));
        if (f) {
            if (!json_object_get(f, "witness"))
                json_object_set_new(f, "witness", json_array());
            json_array_append_new(rt->failures, f);
        }
        verdict = worse(verdict, level_verdict(rt, wc_json_str(e, "requirement")));
    }
    if (rt->alt_grade && verdict != HN_ERROR && verdict != HN_FAILED) {
        enum hn_verdict g = !strcmp(rt->alt_grade, "non_strict")      ? HN_NON_STRICT
                            : !strcmp(rt->alt_grade, "informational") ? HN_INFORMATIONAL
                                                                      : HN_OK;
        verdict = worse(verdict, g);
        /* When the alternative's grade is the only reason for the verdict, say so in a failure
         * record naming the case's first requirement of that level: reports then show why, and a
         * baseline can name the case (a known NON-STRICT needs a failure to match). */
        if (g == verdict && (g == HN_NON_STRICT || g == HN_INFORMATIONAL) &&
            json_array_size(rt->failures) == 0) {
            const char *req = NULL;
            json_array_foreach(c->spec, i, e)
            {
                if (!req && level_verdict(rt, json_string_value(e)) == g)
                    req = json_string_value(e);
            }
            char *m = wc_xasprintf("an alternative graded %s matched", rt->alt_grade);
            json_array_append_new(rt->failures,
                                  json_pack("{s:s?, s:s, s:s, s:n, s:n, s:n, s:n, s:[]}",
                                            "requirement", req, "kind", "alternative", "message", m,
                                            "step", "expected", "received", "diff", "witness"));
            free(m);
        }
    }

    json_t *result = base_result(c, o->seed, o->rerun);
    json_object_set_new(result, "verdict", json_string(hn_verdict_name(verdict)));
    json_object_set_new(result, "duration_ms", json_integer(wc_now_ms() - t0));
    json_object_set(result, "failures", rt->failures);
    json_object_set(result, "checks",
                    json_object_get(inv, "checks") ? json_object_get(inv, "checks")
                                                   : json_object());
    json_t *tr = json_array();
    json_array_append(tr, hn_transcript_header(rt->tr));
    json_array_extend(tr, hn_transcript_records(rt->tr));
    json_object_set_new(result, "transcript", tr);
    if (rt->alt_grade)
        json_object_set_new(result, "alternative_grade", json_string(rt->alt_grade));
    json_decref(inv);

    /* teardown */
    for (i = 0; i < rt->nclients; i++) {
        client_reset(&rt->clients[i]);
        json_decref(rt->clients[i].sentinels);
    }
    free(rt->clients);
    for (i = 0; i < rt->nmsgs; i++) {
        free(rt->msgs[i].label);
        free(rt->msgs[i].run);
        json_decref(rt->msgs[i].msg);
    }
    free(rt->msgs);
    hn_ctl_free(rt->ctl);
    hn_transcript_free(rt->tr);
    json_decref(rt->failures);
    json_decref(rt->pending_release);
    json_decref(rt->vars);
    json_decref(rt->alt_failure);
    hn_target_free(own);
    return result;
}
