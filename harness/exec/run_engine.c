/* run_engine.c: the machinery every step uses: failures, clients, the control channel, the pump,
 * frame queues (runner_int.h). */
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

#include "exec/runner_int.h"
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

/* ---- small helpers ---------------------------------------------------------------------- */

int64_t hn_rt_timeout_of(const struct rt *rt)
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
json_t *hn_rt_payload_fields(const char *data, size_t len, json_t **parsed)
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

int64_t hn_rt_add_record(struct rt *rt, json_t *rec)
{
    hn_transcript_add(rt->tr, rec);
    int64_t n = 0;
    wc_json_int(rec, "n", &n);
    return n;
}
void hn_rt_note(struct rt *rt, const char *fmt, ...)
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
    hn_rt_add_record(rt, json_pack("{s:s, s:o}", "t", "note", "text", s));
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

/* What a failure shows as expected: the step's pattern with the variables bound so far put in
 * (`${s1}` and `$s1` as their values), wildcards and unbound names left as written. New. */
static json_t *expected_shown(const struct rt *rt, const json_t *p)
{
    const char *name, *k;
    json_t *out, *v;
    size_t i;

    if (json_is_string(p)) {
        const char *s = json_string_value(p);
        if (hn_var_ref(s, &name) && !hn_wildcard_known(s)) {
            json_t *val = hn_scope_get(&rt->scope, name);
            return val ? val : json_incref((json_t *)p);
        }
        if (strstr(s, "${")) {
            char *t = hn_interp(s, &rt->scope, NULL);
            if (t) {
                json_t *r = json_string(t);
                free(t);
                if (r)
                    return r;
            }
        }
        return json_incref((json_t *)p);
    }
    if (json_is_object(p)) {
        out = json_object();
        json_object_foreach((json_t *)p, k, v) json_object_set_new(out, k, expected_shown(rt, v));
        return out;
    }
    if (json_is_array(p)) {
        out = json_array();
        json_array_foreach(p, i, v) json_array_append_new(out, expected_shown(rt, v));
        return out;
    }
    return json_incref((json_t *)p);
}

void hn_rt_add_failure(struct rt *rt, const json_t *step, const char *kind, const char *message,
                       const json_t *expected, const json_t *received, const char *diff,
                       json_t *witness)
{
    if (rt->budget.over) { /* the cap's ERROR is the verdict: what the cut-off case did next is
                              not evidence (the budget's own failure is added directly) */
        json_decref(witness);
        return;
    }
    json_t *shown = expected ? expected_shown(rt, expected) : NULL;
    json_t *f = json_pack("{s:s?, s:s, s:s, s:o?, s:O?, s:s?, s:o}", "requirement",
                          step ? step_requirement(rt, step) : NULL, "kind", kind, "message",
                          message, "expected", shown, "received", received, "diff", diff, "witness",
                          witness ? witness : json_array());
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

void hn_rt_step_fail(struct rt *rt, const json_t *step, const char *message, const json_t *expected,
                     const json_t *received, const char *diff, int64_t witness_n)
{
    if (rt->budget.over) {
        rt->failed = true;
        return;
    }
    json_t *w = json_array();
    if (witness_n > 0)
        json_array_append_new(w, json_integer(witness_n));
    hn_rt_add_failure(rt, step, "step", message, expected, received, diff, w);
    rt->failed = true;
    hn_rt_note(rt, "step %lld failed: %s%s%s", (long long)rt->step_index, message, diff ? ": " : "",
               diff ? diff : "");
}

void hn_rt_step_error(struct rt *rt, const json_t *step, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    if (rt->budget.over) {
        rt->failed = true;
        return;
    }
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = wc_xstrdup(fmt);
    va_end(ap);
    if (rt->alt_depth > 0)
        rt->alt_timeout = true;
    hn_rt_add_failure(rt, step, "error", msg, NULL, NULL, NULL, NULL);
    if (rt->alt_depth == 0)
        rt->errored = true;
    rt->failed = true;
    hn_rt_note(rt, "step %lld error: %s", (long long)rt->step_index, msg);
    free(msg);
}

/* ---- clients ------------------------------------------------------------------------------ */

struct client *hn_rt_client_get(struct rt *rt, const char *name, bool create)
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

void hn_rt_client_reset(struct client *c)
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
    c->ping_watch = 0;
    c->ping_watch_ms = -1;
    c->close_at_ms = 0;
}

void hn_rt_record_close(struct rt *rt, struct client *c, const char *by, int code,
                        const char *reason)
{
    /* an sN of the server role: the harness is the server, the peer (the target) the client, so
     * `by` keeps its literal meaning in the transcript (spec/transcript.md, "The server role") */
    bool srv = c->ws.server;
    const char *peer_side = by; /* what the engine's steps read (closed_by): "server" = the peer */
    if (srv)
        by = !strcmp(by, "server") ? "client" : !strcmp(by, "client") ? "server" : by;
    json_t *r =
        json_pack("{s:s, s:s, s:s, s:i}", "t", "close", "conn", c->name, "by", by, "code", code);
    if (srv &&
        !strcmp(by, "drop")) /* which end ended TCP: the harness's drop step, or the client */
        json_object_set_new(r, "side", json_string(c->ws.eof ? "client" : "server"));
    json_t *rs = reason ? json_string(reason) : NULL;
    if (reason)
        json_object_set_new(r, "reason", rs ? rs : json_string("(not UTF-8)"));
    c->close_rec_n = hn_rt_add_record(rt, r);
    c->close_at_ms = wc_now_ms();
    hn_ws_arrival(&c->ws, &c->close_lo_ms, &c->close_hi_ms);
    c->close_code = code;
    free(c->close_reason);
    c->close_reason = reason ? wc_xstrdup(reason) : NULL;
    c->closed_by = peer_side;
}

/* The socket is finished: close the fd, keep the queue. */
void hn_rt_client_finish(struct client *c)
{
    if (c->ws.fd >= 0)
        close(c->ws.fd);
    c->ws.fd = -1;
    c->state = C_CLOSED;
}

/*
 * The case went past one of its caps (budget.h) with record rec_n (the failure's witness): the
 * case is ERROR with msg, every open connection is closed with 1008 and close_reason, and
 * nothing the target sends after is recorded. What came before stays, with the witnesses of
 * failures already found.
 */
static void over_cap(struct rt *rt, int64_t rec_n, const char *msg, const char *close_reason)
{
    int depth = rt->alt_depth;

    rt->budget.over = false; /* this one failure is added, and at the top level */
    rt->alt_depth = 0;
    hn_rt_add_failure(rt, NULL, "error", msg, NULL, NULL, NULL,
                      json_pack("[I]", (json_int_t)rec_n));
    rt->alt_depth = depth;
    rt->budget.over = true;
    rt->failed = rt->errored = true;
    hn_rt_note(rt, "%s", msg);
    for (size_t i = 0; i < rt->nclients; i++) {
        struct client *c = &rt->clients[i];
        if (c->state != C_OPEN)
            continue;
        if (!c->ws.close_sent) {
            hn_ws_close(&c->ws, 1008, close_reason);
            hn_ws_flush(&c->ws);
        }
        hn_rt_record_close(rt, c, "client", 1008, close_reason);
        hn_rt_client_finish(c);
    }
}

/* The records of the target's frames went past --max-case-bytes; detail (or NULL) says how. */
static void over_budget(struct rt *rt, int64_t rec_n, const char *detail)
{
    const struct hn_budget *b = &rt->budget;
    char *msg = wc_xasprintf(
        "case recorded over %llu bytes (--max-case-bytes): %sthe target sent %llu frames / %llu "
        "bytes; its connections were closed with 1008 and nothing after was recorded",
        (unsigned long long)b->max, detail ? detail : "", (unsigned long long)b->frames,
        (unsigned long long)b->bytes);

    over_cap(rt, rec_n, msg, "case record cap (--max-case-bytes)");
    free(msg);
}

/*
 * Bytes are charged as they arrive, before any JSON parsing (issue 18: a 16 MiB frame was
 * parsed whole, then found over the cap): a message of len bytes, whole or (partial) still
 * arriving, that would take what the case holds past --max-case-bytes by its size alone is cut
 * here, unparsed. True when it was (the case is over).
 */
static bool over_before_parse(struct rt *rt, struct client *c, size_t len, bool partial)
{
    struct hn_budget *b = &rt->budget;

    if (!b->max || b->over || b->held + len <= b->max)
        return false;
    char *detail =
        wc_xasprintf("a message of %s%zu bytes on %s (the case held %llu) was cut "
                     "before it was parsed; ",
                     partial ? "at least " : "", len, c->name, (unsigned long long)b->held);
    char *text = wc_xasprintf("%s: a message of %s%zu bytes while the case held %llu: over "
                              "--max-case-bytes (%llu), cut before it was parsed",
                              c->name, partial ? "at least " : "", len, (unsigned long long)b->held,
                              (unsigned long long)b->max);
    json_t *rec = json_pack("{s:s, s:s}", "t", "note", "text", text);
    free(text);
    int64_t n = hn_rt_add_record(rt, rec);
    over_budget(rt, n, detail);
    free(detail);
    return true;
}

/*
 * Ping number HN_PING_RECORDS_MAX + 1 on one connection: a gateway does not heartbeat that
 * often (the catalog's profile pings every 250 ms; 1000 pings are four minutes), so it floods.
 * The case is ERROR at once, as at the byte cap, instead of waiting out its safety timeout.
 */
static void over_ping_cap(struct rt *rt, struct client *c)
{
    char *msg = wc_xasprintf(
        "%s: the target sent more than %d pings on one connection (the harness's ping cap per "
        "connection): a flood, not a heartbeat; its connections were closed with 1008 and "
        "nothing after was recorded",
        c->name, HN_PING_RECORDS_MAX);
    char *text = wc_xasprintf("%s: ping %d on this connection", c->name, HN_PING_RECORDS_MAX + 1);
    int64_t n = hn_rt_add_record(rt, json_pack("{s:s, s:s}", "t", "note", "text", text));

    free(text);

    over_cap(rt, n, msg, "case ping cap (1000 per connection)");
    free(msg);
}

static void on_message(struct rt *rt, struct client *c, struct hn_ws_event *ev)
{
    hn_budget_frame(&rt->budget, ev->len);
    if (rt->budget.over || over_before_parse(rt, c, ev->len, false))
        return;
    json_t *parsed = NULL;
    json_t *fields = hn_rt_payload_fields(ev->data, ev->len, &parsed);
    json_t *rec = json_pack("{s:s, s:s}", "t", "recv", "conn", c->name);
    struct item it = {0};

    json_object_update(rec, fields);
    json_object_set_new(rec, "binary", json_boolean(ev->binary));
    const struct hn_dialect *d = hn_rt_dialect(rt);
    if (json_is_object(parsed))
        it.kind = d->frame_id(parsed);
    if (it.kind) {
        const char *sid = d->sentinel_reply(parsed);
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
    /* the record, the queue item's own wrapper of the same values, and its slot */
    bool over = hn_budget_charge(&rt->budget,
                                 hn_json_cost(rec) + hn_json_cost_shallow(fields) + sizeof(it));
    it.rec_n = hn_rt_add_record(rt, rec);
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 32;
        c->items = wc_xrealloc(c->items, c->cap * sizeof(*c->items));
    }
    c->items[c->n++] = it;
    if (over)
        over_budget(rt, it.rec_n, NULL);
}

/*
 * A ping or pong from the server: a `ping` / `pong` record (spec/transcript.md). Pings are
 * counted for `expect_ping`; they are control frames, never items of the frame queue, so
 * `expect`, `quiet` and `expect ... none` do not see them. The ping after HN_PING_RECORDS_MAX
 * on one connection ends the case as ERROR (over_ping_cap).
 */
static void on_control_frame(struct rt *rt, struct client *c, const struct hn_ws_event *ev)
{
    bool ping = ev->type == HN_WS_EV_PING;

    hn_budget_frame(&rt->budget, ev->len);
    if (rt->budget.over)
        return;
    if (ping) {
        if (c->npings == HN_PING_RECORDS_MAX) {
            over_ping_cap(rt, c);
            return;
        }
        c->npings++;
        if (c->ping_watch_ms < 0 && c->npings > c->ping_watch)
            c->ping_watch_ms = wc_now_ms();
    }
    json_t *rec = json_pack("{s:s, s:s, s:I}", "t", ping ? "ping" : "pong", "conn", c->name, "len",
                            (json_int_t)ev->len);

    if (ev->len > 0) {
        char *h = to_hex(ev->data, ev->len);
        json_object_set_new(rec, "hex", json_string(h));
        free(h);
    }
    if (ping) {
        json_object_set_new(rec, "answered", json_boolean(!c->ws.no_pong && !c->ws.close_sent));
    }
    bool over = hn_budget_charge(&rt->budget, hn_json_cost(rec));
    int64_t n = hn_rt_add_record(rt, rec);
    if (over)
        over_budget(rt, n, NULL);
}

/* Parse whatever the client's rx holds. */
void hn_rt_client_process(struct rt *rt, struct client *c)
{
    for (;;) {
        struct hn_ws_event ev;
        char *why = NULL;
        int r = hn_ws_next(&c->ws, &ev, &why);
        if (r == 0) {
            /* a message still arriving is charged its bytes so far (over_before_parse) */
            size_t pending = hn_ws_pending(&c->ws);
            if (pending && c->state == C_OPEN && over_before_parse(rt, c, pending, true))
                return;
            break;
        }
        if (r < 0) {
            hn_rt_note(rt, "%s: broken WebSocket stream from the server: %s", c->name, why);
            int code = r == WC_ERR_TOO_BIG ? 1009 : 1002;
            if (!c->ws.close_sent) {
                hn_ws_close(&c->ws, code, r == WC_ERR_TOO_BIG ? "too big" : "protocol error");
                hn_ws_flush(&c->ws);
            }
            if (c->state == C_OPEN)
                hn_rt_record_close(rt, c, "client", code, why);
            free(why);
            hn_rt_client_finish(c);
            return;
        }
        if (ev.type == HN_WS_EV_MESSAGE) {
            on_message(rt, c, &ev);
        } else if (ev.type == HN_WS_EV_PING || ev.type == HN_WS_EV_PONG) {
            on_control_frame(rt, c, &ev);
        } else if (ev.type == HN_WS_EV_CLOSE) {
            if (c->state == C_OPEN) {
                hn_rt_record_close(rt, c, "server", ev.code, ev.data);
                if (!c->ws.close_sent) {
                    hn_ws_close(&c->ws, ev.code == 1005 ? 0 : ev.code, NULL);
                    hn_ws_flush(&c->ws);
                }
            }
            hn_ws_event_release(&ev);
            hn_rt_client_finish(c);
            return;
        }
        hn_ws_event_release(&ev);
        if (c->state == C_CLOSED) /* over_budget closed it */
            return;
    }
    if (c->ws.masked_seen && !c->ws.server) {
        hn_rt_note(rt, "%s: the server sent a masked frame (RFC 6455 5.1 forbids it)", c->name);
        c->ws.masked_seen = false;
    }
    if (c->ws.eof && c->state != C_CLOSED) {
        if (c->state == C_OPEN)
            hn_rt_record_close(rt, c, "drop", 1006, NULL);
        hn_rt_client_finish(c);
    }
}

/* ---- control channel ---------------------------------------------------------------------- */

static void deliver_pending_releases(struct rt *rt, const char *label, const char *run);

void hn_rt_on_ctl(void *ctx, int conn, const char *label, const char *run, json_t *msg,
                  const char *bad)
{
    struct rt *rt = ctx;
    (void)conn;

    if (!msg) {
        if (bad && !strncmp(bad, "hello from another case", 23))
            hn_rt_note(rt, "control channel: %s", bad);
        else
            hn_rt_note(rt, "control channel (%s): not a JSON object: %.200s", label ? label : "?",
                       bad);
        return;
    }
    const char *type = wc_json_str(msg, "type");
    if (!type) /* the client control channel names its messages by `t` (the server role) */
        type = wc_json_str(msg, "t");
    if (type && !strcmp(type, "hello")) {
        const char *ct = wc_json_str(msg, "case");
        if (!ct || strcmp(ct, rt->case_token)) {
            hn_rt_note(rt, "control hello from another case (%s), ignored", ct ? ct : "none");
            return;
        }
    }
    int64_t n = hn_rt_add_record(rt, json_pack("{s:s, s:s?, s:s?, s:O}", "t", "ctl", "label", label,
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
        json_object_set_new(rt->arrived, k, json_string(wc_json_str(msg, "nativeId")));
        free(k);
    }
    if (type && !strcmp(type, "hello"))
        deliver_pending_releases(rt, label, run);
}

void hn_rt_send_release(struct rt *rt, const char *label, const char *run, const char *barrier)
{
    json_t *msg = json_pack("{s:s, s:s}", "type", "release", "barrier", barrier);
    int n = hn_ctl_send(rt->ctl, label, run, msg);
    if (n > 0)
        hn_rt_add_record(rt, json_pack("{s:s, s:s, s:s?, s:O}", "t", "ctl_send", "label", label,
                                       "run", run, "msg", msg));
    json_decref(msg);
}

static void deliver_pending_releases(struct rt *rt, const char *label, const char *run)
{
    size_t i = 0;
    while (i < json_array_size(rt->pending_release)) {
        json_t *p = json_array_get(rt->pending_release, i);
        if (!strcmp(wc_json_str(p, "label"), label)) {
            hn_rt_send_release(rt, label, run, wc_json_str(p, "barrier"));
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
    size_t nctl0 = hn_ctl_pollfds(rt->ctl, fds, MAX_POLL / 2);
    size_t nsrv = rt->srv_on ? hn_srv_pollfds(&rt->srv, fds + nctl0, MAX_POLL / 4) : 0;
    if (rt->cpid_fd >= 0 && !rt->client_gone) /* readable when the client program exits */
        fds[nctl0 + nsrv++] = (struct pollfd){.fd = rt->cpid_fd, .events = POLLIN};
    size_t nctl = nctl0 + nsrv; /* the fds before the clients' */
    size_t n = nctl;
    int64_t now = wc_now_ms(), left = deadline - now;

    for (size_t i = 0; i < rt->nclients && n < MAX_POLL; i++) {
        struct client *c = &rt->clients[i];
        if (c->ws.fd >= 0 && c->ws.nlate) { /* held-back pongs (connect: {pong: late}) */
            int64_t due = hn_ws_late_pongs(&c->ws, now);
            if (due >= 0 && due - now < left)
                left = due - now;
        }
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
    if (rt->cpid > 0 && !rt->client_gone)
        hn_rt_server_reap(rt);
    if (r == 0)
        return;
    hn_ctl_handle(rt->ctl, fds, nctl0);
    if (nsrv) {
        size_t added = hn_srv_handle(&rt->srv, fds + nctl0, nsrv, rt->poll_ms);
        if (added)
            hn_rt_server_attempts(rt, added);
    }
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
                hn_rt_client_process(rt, c);
            continue;
        }
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
            hn_ws_read(&c->ws);
        hn_rt_client_process(rt, c);
    }
}

/* Process whatever is already readable, without waiting. */
void hn_rt_drain(struct rt *rt)
{
    pump(rt, wc_now_ms());
}

/* The kernel's count of microseconds during which some task waited for a CPU (PSI,
 * /proc/pressure/cpu "some ... total="), or -1 where the kernel has none. */
int64_t hn_rt_cpu_pressure_us(void)
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
int hn_rt_wait_until(struct rt *rt, cond_fn cond, void *arg, int64_t deadline)
{
    for (;;) {
        if (cond(rt, arg))
            return 0;
        if (hn_rt_server_dead(rt)) /* the client program exited: nothing more can come */
            return WC_ERR_TIMEOUT;
        if (wc_now_ms() >= deadline) {
            hn_rt_drain(rt);
            if (cond(rt, arg))
                return 0;
            if (!hn_rt_within_settle(rt, &deadline))
                return WC_ERR_TIMEOUT;
            continue;
        }
        int64_t wake = hn_rt_within_probe(rt);
        pump(rt, wake > 0 && wake < deadline ? wake : deadline);
    }
}

void hn_rt_flush_client(struct rt *rt, struct client *c, int64_t deadline)
{
    c->corked = false; /* writing now: a held burst goes out with it */
    while (c->ws.fd >= 0 && c->ws.tx.len > 0 && wc_now_ms() < deadline) {
        if (hn_ws_flush(&c->ws) != 0) {
            c->ws.eof = true;
            hn_ws_read(&c->ws);
            hn_rt_client_process(rt, c);
            break;
        }
        if (c->ws.tx.len)
            pump(rt, deadline);
    }
}

/* ---- the directive --------------------------------------------------------------------------- */

json_t *hn_rt_resolve(void *ctx, const char *name)
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
            hn_rt_note(rt, "script %s: %s", label, err);
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

bool hn_rt_ignored(const struct rt *rt, const struct item *it, const char *except_kind)
{
    if (!it->kind)
        return false;
    if (except_kind && !strcmp(except_kind, it->kind))
        return false;
    return json_str_in(rt->c->ignore, it->kind);
}

void hn_rt_advance_hint(struct client *c)
{
    while (c->hint < c->n && (c->items[c->hint].consumed || c->items[c->hint].sentinel))
        c->hint++;
}

struct item *hn_rt_next_item(struct rt *rt, struct client *c, const char *except_kind)
{
    hn_rt_advance_hint(c);
    for (size_t i = c->hint; i < c->n; i++) {
        struct item *it = &c->items[i];
        if (it->consumed || it->sentinel || hn_rt_ignored(rt, it, except_kind))
            continue;
        return it;
    }
    return NULL;
}

bool hn_rt_cond_next(struct rt *rt, void *arg)
{
    struct next_arg *a = arg;
    return hn_rt_next_item(rt, a->c, a->except_kind) != NULL || a->c->state != C_OPEN;
}

json_t *hn_rt_close_value(const struct client *c)
{
    const char *by = c->closed_by;
    if (by && c->ws.server) /* as the transcript says it (hn_rt_record_close) */
        by = !strcmp(by, "server") ? "client" : !strcmp(by, "client") ? "server" : by;
    json_t *v = json_pack("{s:s, s:s?, s:i}", "closed", c->name, "by", by, "code", c->close_code);
    if (c->close_reason)
        json_object_set_new(v, "reason", json_string(c->close_reason));
    return v;
}

const struct hn_dialect *hn_rt_dialect(const struct rt *rt)
{
    return rt->o && rt->o->dialect ? rt->o->dialect : &hn_dialect_chatgw1;
}

const char *hn_rt_pattern_kind(const struct rt *rt, const json_t *pat)
{
    json_t *inner = json_object_get(pat, "$exact");
    if (inner && json_object_size(pat) == 1)
        pat = inner;
    return hn_rt_dialect(rt)->frame_id(pat);
}

struct client *hn_rt_open_client(struct rt *rt, const json_t *step, const char *name)
{
    struct client *c = hn_rt_client_get(rt, name, false);
    if (!c || c->state == C_NONE) {
        hn_rt_step_error(rt, step, "client %s is not connected", name);
        return NULL;
    }
    return c;
}

/* A client a step waits on: connected and not paused (the linter says so already). */
struct client *hn_rt_waiting_client(struct rt *rt, const json_t *step, const char *name)
{
    struct client *c = hn_rt_open_client(rt, step, name);
    if (c && c->paused) {
        hn_rt_step_error(rt, step, "client %s is paused: resume it before waiting on it", name);
        return NULL;
    }
    return c;
}
