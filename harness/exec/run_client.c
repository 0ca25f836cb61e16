/* run_client.c: the client-socket steps: connect, disconnect, send, send_raw, expect, expect_close,
 * expect_ping, group, quiet, pause, resume (runner_int.h). */
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

char *hn_rt_expand_str(struct rt *rt, const json_t *step, const char *s)
{
    char *err = NULL;
    json_t *tmpl = json_string(s);
    json_t *v = hn_expand(tmpl, &rt->scope, &err);
    json_decref(tmpl);
    if (!v) {
        hn_rt_step_error(rt, step, "%s", err ? err : "expansion failed");
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
            hn_rt_step_error(rt, step, "target %s has no user '%s'", rt->t->name, of ? of : "?");
            *ok = false;
            return NULL;
        }
        if (wc_json_int(v, "cut", &cut) && cut > 0) {
            size_t n = strlen(base);
            if ((size_t)cut >= n) {
                hn_rt_step_error(rt, step,
                                 "the token of '%s' has only %zu characters: cannot cut %lld", of,
                                 n, (long long)cut);
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
        char *t = hn_rt_expand_str(rt, step, tok);
        *ok = t != NULL;
        return t;
    }
    const char *t = hn_target_token(rt->t, user);
    if (!t && !strcmp(rt->t->auth_kind, "none"))
        return NULL; /* a target with no auth: no token */
    if (!t) {
        hn_rt_step_error(rt, step, "target %s has no user '%s'", rt->t->name, user ? user : "?");
        *ok = false;
        return NULL;
    }
    return wc_xstrdup(t);
}

/* The token for a connect/http step (its `token`, else the user's). */
char *hn_rt_token_for(struct rt *rt, const json_t *step, const json_t *spec, const char *user,
                      bool *ok)
{
    return token_value(rt, step, json_object_get(spec, "token"), user, ok);
}

/* What a connect step asks for: the upgrade's path with its query, the extra headers, the user. */
struct upgrade {
    char *user;
    char *full; /* the path with ?token=... when the token goes in the query */
    char *hdrs; /* "Authorization: Bearer ...\r\n" or NULL */
};

static void upgrade_release(struct upgrade *u)
{
    free(u->user);
    free(u->full);
    free(u->hdrs);
}

/* The user, the token(s) and the path of a connect step, as the request will carry them (auth:
 * query, header or both). false when an expansion failed (the step has failed). */
static bool upgrade_request(struct rt *rt, const json_t *step, const json_t *spec,
                            struct upgrade *u)
{
    const char *auth = spec && wc_json_str(spec, "auth") ? wc_json_str(spec, "auth") : "query";
    bool both = !strcmp(auth, "both"), ok;
    char *token, *htoken = NULL, *path;

    memset(u, 0, sizeof(*u));
    if (spec && wc_json_str(spec, "user")) {
        if (!(u->user = hn_rt_expand_str(rt, step, wc_json_str(spec, "user"))))
            return false;
    } else {
        u->user = wc_xstrdup(rt->t->default_user ? rt->t->default_user : "");
    }
    token = hn_rt_token_for(rt, step, spec, u->user, &ok);
    if (!ok)
        return false;
    if (both) {
        /* auth: both: the query carries `token`, the header `header_token` or `header_user`'s
         * token (default: the same token) */
        const json_t *hv = json_object_get(spec, "header_token");
        const char *hu = wc_json_str(spec, "header_user");
        if (hv || hu)
            htoken = token_value(rt, step, hv, hu ? hu : u->user, &ok);
        else
            htoken = token ? wc_xstrdup(token) : NULL;
        if (!ok) {
            free(token);
            return false;
        }
    }
    if (spec && wc_json_str(spec, "path"))
        path = hn_rt_expand_str(rt, step, wc_json_str(spec, "path"));
    else
        path = wc_xstrdup(rt->t->ws_path);
    if (!path) {
        free(token);
        free(htoken);
        return false;
    }
    if (token && (both || !strcmp(auth, "query"))) {
        char *enc = url_encode(token);
        u->full = wc_xasprintf("%s%stoken=%s", path, strchr(path, '?') ? "&" : "?", enc);
        free(enc);
    } else {
        u->full = wc_xstrdup(path);
    }
    if (both ? htoken != NULL : token && strcmp(auth, "query"))
        u->hdrs = wc_xasprintf("Authorization: Bearer %s\r\n", both ? htoken : token);
    free(htoken);
    free(token);
    free(path);
    return true;
}

/*
 * connect's `early`: frames written in the same write as the upgrade request, before the 101
 * is read (a client that does not wait for it, RFC 6455 section 4.1). Queued on the socket now,
 * recorded once the upgrade's outcome is (*early: their frames). false when one does not expand.
 */
static bool queue_early(struct rt *rt, const json_t *step, struct client *c, const json_t *spec,
                        json_t **early)
{
    const json_t *list = json_object_get(spec, "early");
    size_t i;
    json_t *m;

    *early = json_array();
    json_array_foreach(list, i, m)
    {
        char *err = NULL, *text;
        json_t *frame = hn_expand(m, &rt->scope, &err);
        if (!frame) {
            hn_rt_step_error(rt, step, "connect: early: %s", err);
            free(err);
            hn_rt_client_finish(c);
            return false;
        }
        text = wc_json_compact(frame);
        hn_ws_frame(&c->ws, HN_WS_TEXT, true, text, strlen(text));
        free(text);
        json_array_append_new(*early, frame);
    }
    return true;
}

/*
 * connect: {pong: late}: every pong goes out halfway between one ping interval and the
 * target's pong timeout (profile pong_timeout_ms, else two intervals, R-HB-2), and never later
 * than two intervals: after the next ping was sent, long before the socket may be dropped.
 */
static bool late_pongs(struct rt *rt, const json_t *step, struct client *c)
{
    int64_t iv = rt->t->ping_interval_ms,
            k = rt->t->pong_timeout_ms > 0 ? rt->t->pong_timeout_ms : 2 * iv;

    if (iv <= 0) {
        hn_rt_step_error(rt, step, "'pong: late' needs the profile's ping_interval_ms");
        return false;
    }
    if (k <= iv) {
        hn_rt_step_error(rt, step,
                         "'pong: late': the profile's pong_timeout_ms (%lld) leaves no room for a "
                         "pong later than one interval (%lld ms)",
                         (long long)k, (long long)iv);
        return false;
    }
    c->ws.pong_delay_ms = (iv + (k < 2 * iv ? k : 2 * iv)) / 2;
    return true;
}

/* The early frames as send records, after the record of the upgrade's outcome. */
static void record_early(struct rt *rt, const struct client *c, const json_t *early)
{
    size_t i;
    json_t *f;

    json_array_foreach(early, i, f)
        hn_rt_add_record(rt, json_pack("{s:s, s:s, s:O, s:b, s:b}", "t", "send", "conn", c->name,
                                       "frame", f, "binary", 0, "early", 1));
}

/* The upgrade was accepted (101): record the open; a step that expected a refusal fails. */
static void upgrade_accepted(struct rt *rt, const json_t *step, struct client *c, const char *user,
                             bool tuned, int64_t expect_status, const json_t *early)
{
    c->state = C_OPEN;
    json_t *orec = json_pack("{s:s, s:s, s:s}", "t", "open", "conn", c->name, "user", user);
    if (c->ws.no_pong)
        json_object_set_new(orec, "pong", json_false());
    if (c->ws.pong_delay_ms > 0)
        json_object_set_new(orec, "pong_delay_ms", json_integer(c->ws.pong_delay_ms));
    if (tuned)
        json_object_set_new(orec, "tcp",
                            json_pack("{s:i, s:i}", "rcvbuf", PAUSED_RCVBUF, "mss", PAUSED_MSS));
    hn_rt_add_record(rt, orec);
    record_early(rt, c, early);
    hn_rt_client_process(rt, c); /* frames that came with the 101 */
    if (expect_status && expect_status != 101) {
        json_t *exp = json_pack("{s:I}", "status", (json_int_t)expect_status);
        json_t *rec = json_pack("{s:i}", "status", 101);
        char *diff =
            wc_xasprintf("at .status: expected %lld, received 101", (long long)expect_status);
        hn_rt_step_fail(rt, step, "the upgrade was accepted but should have been refused", exp, rec,
                        diff, 0);
        free(diff);
        json_decref(exp);
        json_decref(rec);
        hn_ws_close(&c->ws, 1000, NULL);
        hn_ws_flush(&c->ws);
        hn_rt_record_close(rt, c, "client", 1000, NULL);
        hn_rt_client_finish(c);
    }
}

/* The upgrade was refused with `status`: it must be the end of the connection (R-AUTH-1), and
 * the status the step expected. */
static void upgrade_refused(struct rt *rt, const json_t *step, struct client *c, int status,
                            int64_t expect_status, int64_t deadline, const json_t *early)
{
    int64_t n = hn_rt_add_record(
        rt, json_pack("{s:s, s:s, s:i}", "t", "reject", "conn", c->name, "status", status));
    record_early(rt, c, early);
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
        hn_rt_step_fail(rt, step, "the server went on after refusing the upgrade", exp, rec, diff,
                        n);
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
        hn_rt_step_fail(rt, step,
                        expect_status ? "the upgrade was refused with another status"
                                      : "the upgrade was refused",
                        exp, rec, diff, n);
        free(diff);
        json_decref(exp);
        json_decref(rec);
    }
}

void hn_run_step_connect(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "connect");
    const char *name = json_is_string(v) ? json_string_value(v) : wc_json_str(v, "client");
    const json_t *spec = json_is_object(v) ? v : NULL;
    char *err = NULL;
    int64_t expect_status = 0;
    struct client *c = hn_rt_client_get(rt, name, true);
    int64_t deadline = wc_now_ms() + hn_rt_timeout_of(rt);
    struct upgrade u;
    json_t *early = NULL;

    if (c->state == C_OPEN || c->state == C_CLOSING) {
        hn_rt_step_error(rt, step, "client %s is already connected", name);
        return;
    }
    hn_rt_client_reset(c);
    wc_json_int(spec, "expect_status", &expect_status);
    if (!upgrade_request(rt, step, spec, &u)) {
        upgrade_release(&u);
        return;
    }
    /* a client the case pauses gets the buffers of a real network link (ws.h) */
    bool tuned = pauses_client(rt->c->steps, name);
    int fd = hn_net_connect_tuned(rt->t->host, rt->t->port, deadline, tuned ? PAUSED_RCVBUF : 0,
                                  tuned ? PAUSED_MSS : 0, &err);
    if (fd < 0) {
        hn_rt_step_error(rt, step, "connect %s: %s", name, err);
        goto out;
    }
    hn_ws_init(&c->ws, fd, &rt->rng);
    if (!queue_early(rt, step, c, spec, &early))
        goto out;
    c->ws.no_pong = spec && json_is_false(json_object_get(spec, "pong"));
    if (spec && json_is_string(json_object_get(spec, "pong")) && !late_pongs(rt, step, c))
        goto out;
    c->state = C_CLOSED; /* until the upgrade succeeds */
    c->user = wc_xstrdup(u.user);
    int status = 0;
    int rc =
        hn_ws_handshake(&c->ws, rt->t->host, rt->t->port, u.full, u.hdrs, deadline, &status, &err);
    if (rc == WC_ERR_TIMEOUT || rc == WC_ERR_IO) {
        hn_rt_step_error(rt, step, "connect %s: %s", name, err);
        hn_rt_client_finish(c);
        goto out;
    }
    if (rc != 0) {
        hn_rt_add_record(rt, json_pack("{s:s, s:s, s:i, s:s}", "t", "reject", "conn", name,
                                       "status", 0, "reason", err));
        json_t *exp =
            json_pack("{s:I}", "status", (json_int_t)(expect_status ? expect_status : 101));
        json_t *rec = json_pack("{s:s}", "error", err);
        hn_rt_step_fail(rt, step, "the upgrade failed", exp, rec, err, 0);
        json_decref(exp);
        json_decref(rec);
        hn_rt_client_finish(c);
        goto out;
    }
    if (status == 101)
        upgrade_accepted(rt, step, c, u.user, tuned, expect_status, early);
    else
        upgrade_refused(rt, step, c, status, expect_status, deadline, early);
out:
    free(err);
    json_decref(early);
    upgrade_release(&u);
}

static bool cond_closed(struct rt *rt, void *arg)
{
    (void)rt;
    return ((struct client *)arg)->state == C_CLOSED;
}

void hn_run_step_disconnect(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "disconnect");
    const char *name = json_is_string(v) ? json_string_value(v) : wc_json_str(v, "client");
    struct client *c = hn_rt_open_client(rt, step, name);
    int64_t code = 1000;
    const char *reason = json_is_object(v) ? wc_json_str(v, "reason") : NULL;

    if (!c)
        return;
    c->paused = false; /* closing reads the server's answer: a disconnect ends a pause */
    hn_rt_drain(rt);
    if (c->state != C_OPEN) {
        hn_rt_step_fail(rt, step, "the connection was already closed", NULL, NULL, NULL,
                        c->close_rec_n);
        return;
    }
    if (json_is_object(v) && json_is_true(json_object_get(v, "drop"))) {
        hn_rt_record_close(rt, c, "drop", 1006, NULL);
        shutdown(c->ws.fd, SHUT_RDWR);
        hn_rt_client_finish(c);
        return;
    }
    wc_json_int(v, "code", &code);
    hn_ws_close(&c->ws, (int)code, reason);
    hn_rt_record_close(rt, c, "client", (int)code, reason);
    c->state = C_CLOSING;
    int64_t deadline = wc_now_ms() + hn_rt_timeout_of(rt);
    hn_rt_flush_client(rt, c, deadline);
    if (hn_rt_wait_until(rt, cond_closed, c, deadline) != 0) {
        hn_rt_note(rt, "%s: the server did not answer the close within %lld ms", name,
                   (long long)hn_rt_timeout_of(rt));
        hn_rt_client_finish(c);
    }
}

void hn_rt_send_payload(struct rt *rt, const json_t *step, struct client *c, int op,
                        const char *data, size_t len, json_t *fields, bool sentinel)
{
    json_t *rec = json_pack("{s:s, s:s}", "t", "send", "conn", c->name);
    json_object_update(rec, fields);
    json_object_set_new(rec, "binary", json_boolean(op == HN_WS_BINARY));
    if (sentinel)
        json_object_set_new(rec, "sentinel", json_true());
    hn_rt_add_record(rt, rec);
    hn_ws_frame(&c->ws, op, true, data, len);
    /* back-to-back send steps to one client are one burst: a single write, so the gateway
     * reads the frames together (cases/README.md, `send`) */
    c->corked = !sentinel && rt->burst_client && !strcmp(rt->burst_client, c->name);
    if (!c->corked)
        hn_rt_flush_client(rt, c, wc_now_ms() + hn_rt_timeout_of(rt));
    (void)step;
}

void hn_run_step_send(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "send");
    const char *k;
    json_t *m;
    json_t *sv = hn_rt_server_form(v, "to"); /* send: {to: s1, frame} (run_server.c) */

    if (sv) {
        json_t *s2 = json_deep_copy(step);
        json_object_set_new(s2, "send", sv);
        hn_run_step_send(rt, s2, sname);
        json_decref(s2);
        return;
    }

    json_object_foreach(v, k, m)
    {
        struct client *c = hn_rt_open_client(rt, step, k);
        char *err = NULL;
        if (!c)
            return;
        json_t *frame = hn_expand(m, &rt->scope, &err);
        if (!frame) {
            hn_rt_step_error(rt, step, "send: %s", err);
            free(err);
            return;
        }
        hn_rt_drain(rt);
        if (c->state != C_OPEN) {
            json_t *rec = hn_rt_close_value(c);
            hn_rt_step_fail(rt, step, "cannot send: the connection is closed", frame, rec, NULL,
                            c->close_rec_n);
            json_decref(rec);
            json_decref(frame);
            return;
        }
        char *text = wc_json_compact(frame);
        json_t *fields = json_pack("{s:O}", "frame", frame);
        hn_rt_send_payload(rt, step, c, HN_WS_TEXT, text, strlen(text), fields, false);
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

void hn_run_step_send_raw(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "send_raw");
    struct client *c = hn_rt_open_client(rt, step, wc_json_str(v, "client"));
    char *data = NULL;
    size_t len = 0;
    json_t *rep = json_object_get(v, "repeat");

    if (!c)
        return;
    if (wc_json_str(v, "text")) {
        data = hn_rt_expand_str(rt, step, wc_json_str(v, "text"));
        if (!data)
            return;
        len = strlen(data);
    } else if (wc_json_str(v, "hex")) {
        data = from_hex(wc_json_str(v, "hex"), &len);
    } else if (wc_json_str(v, "file")) {
        const char *f = wc_json_str(v, "file");
        FILE *fp = fopen(f, "rb");
        if (!fp) {
            hn_rt_step_error(rt, step, "send_raw: cannot open %s: %s", f, strerror(errno));
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
    hn_rt_drain(rt);
    if (c->state != C_OPEN) {
        json_t *rec = hn_rt_close_value(c);
        hn_rt_step_fail(rt, step, "cannot send: the connection is closed", NULL, rec, NULL,
                        c->close_rec_n);
        json_decref(rec);
        free(data);
        return;
    }
    bool binary = json_is_true(json_object_get(v, "binary"));
    json_t *fields = hn_rt_payload_fields(data ? data : "", len, NULL);
    hn_rt_send_payload(rt, step, c, binary ? HN_WS_BINARY : HN_WS_TEXT, data ? data : "", len,
                       fields, false);
    json_decref(fields);
    free(data);
}

void hn_run_step_expect(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "expect");
    const char *k;
    json_t *m;
    json_t *sv = hn_rt_server_form(v, "from"); /* expect: {from: s1, frame} (run_server.c) */

    if (sv) {
        json_t *s2 = json_deep_copy(step);
        json_object_set_new(s2, "expect", sv);
        hn_run_step_expect(rt, s2, sname);
        json_decref(s2);
        return;
    }

    json_object_foreach(v, k, m)
    {
        struct client *c = hn_rt_waiting_client(rt, step, k);
        if (!c)
            return;
        if (json_is_string(m) && !strcmp(json_string_value(m), "none"))
            hn_rt_expect_none(rt, step, c);
        else if (!hn_rt_expect_one(rt, step, c, m))
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
    int64_t wait = hn_rt_timeout_of(rt), iv = rt->t->ping_interval_ms, due;

    if (!c->ws.no_pong || iv <= 0)
        return wait;
    due = (rt->t->pong_timeout_ms > 0 ? rt->t->pong_timeout_ms : 2 * iv) + ping_wait_ms(rt);
    return due > wait ? due : wait;
}

void hn_run_step_expect_close(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "expect_close");
    const char *name = json_is_string(v) ? json_string_value(v) : wc_json_str(v, "client");
    struct client *c = hn_rt_waiting_client(rt, step, name);
    json_t *codes = json_is_object(v) ? json_object_get(v, "codes") : NULL;
    json_t *code = json_is_object(v) ? json_object_get(v, "code") : NULL;

    if (!c)
        return;
    int64_t wait = close_wait_ms(rt, c);
    if (hn_rt_wait_until(rt, cond_closed, c, hn_rt_wait_deadline(rt, wait)) != 0) {
        char *what = wc_xasprintf("the server's close of %s", name);
        bool bounded = hn_rt_within_expired(rt, step, c, what);
        free(what);
        if (bounded)
            return;
        /* still open and answering a sentinel: the server did not close it */
        if (hn_rt_settled_after_timeout(rt, c) && !cond_closed(rt, c)) {
            json_t *want = codes ? codes : code;
            hn_rt_step_fail(rt, step, "the server did not close the connection", want, NULL,
                            "expected a close, received nothing: the connection still answered a "
                            "sentinel",
                            0);
        } else if (!rt->failed) {
            hn_rt_step_error(rt, step, "timed out after %lld ms waiting for the server to close %s",
                             (long long)wait, name);
        }
        return;
    }
    if (c->closed_by && !strcmp(c->closed_by, "client")) {
        hn_rt_step_error(rt, step, "%s was closed by the harness, not the server", name);
        return;
    }
    hn_rt_seen_at(rt, c->close_at_ms, c->close_lo_ms, c->close_hi_ms);
    json_t *want = codes ? json_incref(codes) : code ? json_pack("[O]", code) : NULL;
    bool ok = !want;
    size_t i;
    json_t *e;
    json_array_foreach(want, i, e) ok = ok || json_integer_value(e) == c->close_code;
    if (!ok) {
        json_t *exp = json_pack("{s:O}", "codes", want);
        json_t *rec = hn_rt_close_value(c);
        char *w = wc_json_compact(want);
        char *diff = wc_xasprintf("at .code: expected one of %s, received %d", w, c->close_code);
        hn_rt_step_fail(rt, step, "the server closed with another code", exp, rec, diff,
                        c->close_rec_n);
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
        return hn_rt_timeout_of(rt);
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
void hn_run_step_expect_ping(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "expect_ping");
    const char *name = json_is_string(v) ? json_string_value(v) : wc_json_str(v, "client");
    struct client *c = hn_rt_waiting_client(rt, step, name);
    int64_t wait = ping_wait_ms(rt);

    if (!c)
        return;
    hn_rt_drain(rt);
    if (!rt->within.on && rt->t->ping_interval_ms > 0)
        rt->within = (struct within){.on = true, .min_ms = -1, .max_ms = wait};
    if (rt->within.on) {
        rt->within.t0 = rt->within.t0_lo = wc_now_ms();
        wait = rt->within.max_ms;
    }
    struct ping_arg a = {.c = c, .since = c->npings};
    c->ping_watch = c->npings;
    c->ping_watch_ms = -1;
    json_t *exp = json_pack("{s:s, s:I}", "ping", name, "within_ms", (json_int_t)wait);
    int rc =
        c->state == C_OPEN ? hn_rt_wait_until(rt, cond_ping, &a, hn_rt_wait_deadline(rt, wait)) : 0;
    if (rc == 0 && c->npings > a.since) {
        hn_rt_seen_at(rt, c->ping_watch_ms, c->ping_watch_ms, c->ping_watch_ms);
        goto out;
    }
    if (rc != 0) {
        char *what = wc_xasprintf("a ping on %s (profile ping_interval_ms %lld)", name,
                                  (long long)rt->t->ping_interval_ms);
        bool bounded = hn_rt_within_expired(rt, step, c, what);
        free(what);
        if (bounded)
            goto out;
        if (!hn_rt_settled_after_timeout(rt, c)) {
            if (!rt->failed)
                hn_rt_step_error(rt, step,
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
            hn_rt_step_fail(rt, step, "the expected ping never arrived", exp, NULL, diff, 0);
            free(diff);
            goto out;
        }
    }
    /* the connection ended before a ping came */
    json_t *rec = hn_rt_close_value(c);
    char *diff = wc_xasprintf("expected a ping on %s, received a close (code %d) instead", name,
                              c->close_code);
    hn_rt_step_fail(rt, step, "the connection closed before a ping arrived", exp, rec, diff,
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
        hn_rt_advance_hint(c);
        for (size_t j = c->hint; j < c->n; j++) {
            struct item *it = &c->items[j];
            if (it->consumed || it->sentinel)
                continue;
            bool wanted = false;
            for (size_t k = 0; k < g->n && it->kind; k++) {
                const char *pk = hn_rt_pattern_kind(rt, g->items[k].pattern);
                if (!g->items[k].matched && !strcmp(g->items[k].client, c->name) && pk &&
                    !strcmp(pk, it->kind))
                    wanted = true;
            }
            if (!wanted && hn_rt_ignored(rt, it, NULL))
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
        struct client *c = hn_rt_client_get(rt, g->items[i].client, false);
        if (!g->items[i].matched && c && c->state != C_OPEN)
            return true;
    }
    return false;
}

/* The group's items from the step: each one's client, pattern, `as` name and `after` list
 * (`before: [x]` on item A is written into x's `after` as A). */
static void group_parse(const json_t *v, struct group *g)
{
    size_t i;
    json_t *e;

    json_array_foreach(v, i, e)
    {
        struct gitem *gi = &g->items[g->n++];
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
    json_array_foreach(v, i, e)
    {
        json_t *before = json_object_get(e, "before");
        size_t j;
        json_t *b;
        if (!json_is_array(before) || !g->items[i].as)
            continue;
        json_array_foreach(before, j, b)
        {
            for (size_t k = 0; k < g->n; k++) {
                if (g->items[k].as && !strcmp(g->items[k].as, json_string_value(b)))
                    json_array_append_new(g->items[k].after, json_string(g->items[i].as));
            }
        }
    }
}

/* The wait ended without the group complete: a time bound, a proven absence, or ERROR. */
static void group_timed_out(struct rt *rt, const json_t *step, struct group *g)
{
    json_t *pending = json_array();
    size_t i;

    for (i = 0; i < g->n; i++) {
        if (!g->items[i].matched)
            json_array_append_new(pending,
                                  json_pack("{s:O}", g->items[i].client, g->items[i].pattern));
    }
    char *p = wc_json_compact(pending);
    struct client *gc = hn_rt_client_get(rt, g->items[0].client, false);
    char *what = wc_xasprintf("the group's %.400s", p);
    bool bounded = hn_rt_within_expired(rt, step, gc, what);
    free(what);
    if (bounded) {
        /* the time bound judged it */
    } else if (hn_rt_settled_after_timeout(rt, gc) && !cond_group(rt, g)) {
        char *d = wc_xasprintf("still expecting %.400s; the gateway answered a sentinel first", p);
        hn_rt_step_fail(rt, step, "group: expected frames never arrived", pending, NULL, d, 0);
        free(d);
    } else if (!rt->failed) {
        hn_rt_step_error(rt, step, "group: timed out after %lld ms; still expecting %.400s",
                         (long long)hn_rt_timeout_of(rt), p);
    }
    free(p);
    json_decref(pending);
}

/* No frame to take: a client closed with items outstanding. true when that failed the step. */
static bool group_closed(struct rt *rt, const json_t *step, struct group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        struct client *c = hn_rt_client_get(rt, g->items[i].client, false);
        if (!g->items[i].matched && c && c->state != C_OPEN) {
            json_t *rec = hn_rt_close_value(c);
            hn_rt_step_fail(rt, step, "group: the connection closed before an expected frame",
                            g->items[i].pattern, rec, NULL, c->close_rec_n);
            json_decref(rec);
            return true;
        }
    }
    return false;
}

/* Match a frame against the first eligible unmatched item of its client and consume it; false
 * (the step failed) when it matches none, or only one whose `after` items are not yet in. */
static bool group_take(struct rt *rt, const json_t *step, struct group *g, struct item *it,
                       const struct client *owner)
{
    bool matched = false;
    char *first_diff = NULL;
    const json_t *blocked = NULL;
    size_t i;

    for (i = 0; i < g->n && !matched; i++) {
        struct gitem *gi = &g->items[i];
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
        if (!deps_ok(g, gi)) {
            blocked = gi->pattern;
            continue;
        }
        gi->matched = true;
        matched = true;
    }
    if (!matched) {
        json_t *val = hn_rt_item_value(it);
        const json_t *exp = blocked;
        json_t *expl = NULL;
        if (!exp) {
            expl = json_array();
            for (i = 0; i < g->n; i++) {
                if (!g->items[i].matched && !strcmp(g->items[i].client, owner->name))
                    json_array_append(expl, (json_t *)g->items[i].pattern);
            }
            exp = expl;
        }
        hn_rt_step_fail(rt, step,
                        blocked ? "group: a frame arrived before the items it must follow"
                                : "group: a frame matches no expected item",
                        exp, val, first_diff, it->rec_n);
        json_decref(expl);
        json_decref(val);
        free(first_diff);
        return false;
    }
    free(first_diff);
    it->consumed = ++rt->stamp;
    hn_rt_seen_at(rt, it->at_ms, it->lo_ms, it->hi_ms);
    return true;
}

void hn_run_step_group(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "group");
    struct group g = {.items = wc_xcalloc(json_array_size(v) + 1, sizeof(struct gitem))};
    size_t i;
    int64_t deadline = hn_rt_wait_deadline(rt, hn_rt_timeout_of(rt));

    group_parse(v, &g);
    for (i = 0; i < g.n; i++) {
        if (!hn_rt_waiting_client(rt, step, g.items[i].client))
            goto out;
    }
    while (!group_done(&g)) {
        struct client *owner = NULL;
        struct item *it;
        if (hn_rt_wait_until(rt, cond_group, &g, deadline) != 0) {
            group_timed_out(rt, step, &g);
            break;
        }
        it = group_next(rt, &g, &owner);
        if (!it) {
            if (group_closed(rt, step, &g))
                break;
            continue;
        }
        if (!group_take(rt, step, &g, it, owner))
            break;
    }
out:
    for (i = 0; i < g.n; i++)
        json_decref(g.items[i].after);
    free(g.items);
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
uint64_t hn_rt_sentinel_round(struct rt *rt, const json_t *step, struct client *c)
{
    char id[64];
    hn_rt_send_sentinel(rt, step, c, id, sizeof(id));

    struct sent_arg a = {.c = c, .id = id};
    if (hn_rt_wait_until(rt, cond_sentinel, &a, wc_now_ms() + hn_rt_timeout_of(rt)) != 0) {
        const char *sreq = hn_rt_dialect(rt)->sentinel_requirement;
        if (sreq && c->state == C_OPEN) { /* answering it is a requirement of the dialect */
            json_t *s2 = json_pack("{s:s, s:s}", "quiet", c->name, "requirement", sreq);
            const json_t *waiting =
                !step && rt->step_index >= 0 ? json_array_get(rt->c->steps, rt->step_index) : NULL;
            if (waiting) {
                /* Called for a wait that timed out: the target is at fault either way, so the
                 * step fails on its own requirement first (what the case exists for), and the
                 * unanswered round trip is a second failure on the dialect's. */
                char *d = wc_xasprintf("it did not come within %lld ms, and %s then answered "
                                       "no sentinel either",
                                       (long long)hn_rt_timeout_of(rt), c->name);
                hn_rt_step_fail(rt, waiting, "the awaited frame never arrived", NULL, NULL, d, 0);
                free(d);
            }
            char *m = wc_xasprintf("the %s round trip: no answer to the sentinel %s on %s "
                                   "within %lld ms",
                                   hn_rt_dialect(rt)->sentinel_answer, id, c->name,
                                   (long long)hn_rt_timeout_of(rt));
            hn_rt_step_fail(rt, s2, m, NULL, NULL, NULL, 0); /* FAILED: the caller adds no ERROR */
            free(m);
            json_decref(s2);
        } else if (step)
            hn_rt_step_error(rt, step, "quiet: no %s for the sentinel %s on %s within %lld ms",
                             hn_rt_dialect(rt)->sentinel_answer, id, c->name,
                             (long long)hn_rt_timeout_of(rt));
        else
            hn_rt_note(rt, "final sentinel %s on %s not answered", id, c->name);
        return 0;
    }
    if (json_object_get(c->sentinels, id)) {
        if (step) {
            json_t *rec = hn_rt_close_value(c);
            hn_rt_step_fail(rt, step, "quiet: the connection closed before the sentinel's reply",
                            NULL, rec, NULL, c->close_rec_n);
            json_decref(rec);
        }
        return 0;
    }
    for (size_t i = c->n; i-- > 0;) {
        const char *sid =
            c->items[i].sentinel ? hn_rt_dialect(rt)->sentinel_reply(c->items[i].frame) : NULL;
        if (sid && c->items[i].kind && !strcmp(sid, id))
            return c->items[i].arrival;
    }
    return 1;
}

bool hn_rt_cond_never(struct rt *rt, void *arg)
{
    struct quiet_arg *q = arg;
    if (rt->arrival != q->arrival) {
        q->arrival = rt->arrival;
        q->last = wc_now_ms();
    }
    return false;
}

void hn_run_step_quiet(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "quiet");
    json_t *list = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
    size_t i;
    json_t *e;
    uint64_t *until = wc_xcalloc(json_array_size(list) + 1, sizeof(*until));

    if (!strcmp(rt->t->quiescence, "quiet_ms")) {
        /* the target cannot answer sentinels: a bounded quiet period (said in the transcript) */
        struct quiet_arg q = {.last = wc_now_ms(), .arrival = rt->arrival};
        hn_rt_note(rt, "quiescence by a quiet period of %lld ms (target profile)",
                   (long long)rt->t->quiet_ms);
        while (wc_now_ms() - q.last < rt->t->quiet_ms)
            hn_rt_wait_until(rt, hn_rt_cond_never, &q, q.last + rt->t->quiet_ms);
        json_array_foreach(list, i, e) until[i] = UINT64_MAX;
    } else {
        json_array_foreach(list, i, e)
        {
            struct client *c = hn_rt_waiting_client(rt, step, json_string_value(e));
            if (!c)
                goto out;
            hn_rt_drain(rt);
            if (c->state != C_OPEN) {
                json_t *rec = hn_rt_close_value(c);
                hn_rt_step_fail(rt, step, "quiet: the connection is closed", NULL, rec, NULL,
                                c->close_rec_n);
                json_decref(rec);
                goto out;
            }
            until[i] = hn_rt_sentinel_round(rt, step, c);
            if (!until[i])
                goto out;
        }
    }
    json_array_foreach(list, i, e)
    {
        struct client *c = hn_rt_client_get(rt, json_string_value(e), false);
        if (!c)
            continue;
        hn_rt_advance_hint(c);
        for (size_t j = c->hint; j < c->n; j++) {
            struct item *it = &c->items[j];
            if (it->arrival > until[i])
                break;
            if (it->consumed || it->sentinel || hn_rt_ignored(rt, it, NULL))
                continue;
            json_t *val = hn_rt_item_value(it);
            char *s = wc_json_compact(val);
            char *diff = wc_xasprintf("on %s: expected nothing more, received %.300s", c->name, s);
            hn_rt_step_fail(rt, step, "quiet: an unexpected frame arrived", NULL, val, diff,
                            it->rec_n);
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

/* ---- the step dispatcher --------------------------------------------------------------------- */

/* pause / resume: stop reading a client's socket (the kernel buffers fill), and start again. */
static void do_pause(struct rt *rt, const json_t *step, bool pause)
{
    json_t *v = json_object_get(step, pause ? "pause" : "resume");
    const char *name = json_is_string(v) ? json_string_value(v) : wc_json_str(v, "client");
    struct client *c = hn_rt_open_client(rt, step, name);

    if (!c)
        return;
    if (pause) {
        c->paused = true;
        hn_rt_note(rt, "%s paused: its socket is not read until resume", name);
        return;
    }
    c->paused = false;
    hn_rt_note(rt, "%s resumed", name);
    hn_rt_drain(rt);
}

void hn_run_step_pause(struct rt *rt, const json_t *step, const char *sname)
{
    do_pause(rt, step, true);
}

void hn_run_step_resume(struct rt *rt, const json_t *step, const char *sname)
{
    do_pause(rt, step, false);
}
