/*
 * cmd_record.c: `gwspec record`, a transparent recording proxy (see record.h for the sans-I/O
 * half). One poll loop, nonblocking sockets, TCP_NODELAY both ways.
 *
 * Bytes are relayed exactly as they arrive, in both directions, so frames, fragmentation,
 * masking, pings and close codes reach the other side unchanged; copies of the bytes are parsed
 * on the side to write the transcript. Only the upgrade request is touched: Host names the
 * upstream and Sec-WebSocket-Extensions is dropped, so no compression hides the payloads.
 * Plain HTTP requests are forwarded with "Connection: close", one request per connection.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "exec/budget.h"
#include "exec/net.h"
#include "exec/ws.h"
#include "model/transcript.h"
#include "replay/record.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"
#include "wc_banned.h"

#define OUT_CAP           (16u * 1024 * 1024) /* stop reading a side while the other's queue is this big */
#define BODY_CAP          (4u * 1024 * 1024)                /* HTTP bodies kept for the record */
#define REQ_CAP           (HN_HTTP_MAX_HEAD + 4 * BODY_CAP) /* a client's request held before forwarding */
#define MAX_BYTES_DEFAULT (1ull << 30)                      /* --max-bytes: the transcript's size */

enum pstate { P_REQ, P_RESP, P_WS, P_DRAIN };

struct side {
    int fd;
    struct wc_buf out; /* bytes waiting to be written to fd */
    bool eof;          /* read side ended */
    bool wshut;        /* we shut down our write side */
};

struct pconn {
    struct pconn *next;
    enum pstate st;
    struct side c, u;
    struct wc_buf in; /* client bytes of the request (P_REQ), response bytes (P_RESP, http) */
    bool ws;          /* an upgrade */
    char name[16];    /* "c3" once the upgrade is answered */
    char *method, *path, *auth, *identity;
    json_t *req_body;    /* the HTTP request body for the record, or NULL */
    struct hn_ws cp, sp; /* parsers for client->server and server->client */
    bool cp_broken, sp_broken, close_recorded, recorded;
    struct hn_record_head resp;
    bool resp_head;
    bool body_cut; /* the response went past BODY_CAP: the record keeps its start */
    bool dead;     /* finished: freed after this poll round (sweep_dead) */
};

struct rec {
    FILE *fp;
    int64_t n;
    int64_t t0;
    json_t *fields;  /* JSON field names to redact */
    json_t *secrets; /* object: secret -> identity ("token-1") */
    char *up_host;
    int up_port;
    char *up_path;
    int conns;
    struct wc_rand rng;
    struct pconn *list;
    uint64_t max_bytes; /* --max-bytes: the transcript stops at this size (0: no cap) */
    uint64_t bytes;     /* written so far, header included */
    bool cut;           /* the cap was reached: nothing more is recorded, the proxy stops */
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/*
 * The record that would take the transcript past --max-bytes is not written: a `note` of the
 * cut is (past the cap by its own size), then nothing more, and the proxy stops (relay). Every
 * line written before is a whole record, so the file is a valid transcript up to the cut.
 */
static void cut_note(struct rec *r, int64_t us, size_t len)
{
    char *t = wc_xasprintf("record: the transcript reached --max-bytes %llu (%llu bytes written, "
                           "the next record has %zu): recording stopped here and the proxy "
                           "closed its connections",
                           (unsigned long long)r->max_bytes, (unsigned long long)r->bytes, len);
    json_t *o = json_pack("{s:I, s:s, s:I, s:s}", "n", (json_int_t)++r->n, "t", "note", "us",
                          (json_int_t)us, "text", t);
    char *s = json_dumps(o, JSON_COMPACT);

    fprintf(stderr, "gwspec record: %s\n", t);
    if (s) {
        fputs(s, r->fp);
        fputc('\n', r->fp);
        r->bytes += strlen(s) + 1;
        free(s);
    }
    json_decref(o);
    free(t);
    r->cut = true;
}

/* Append one record (taken) with n, t and us first. */
static void emit(struct rec *r, const char *type, int64_t us, json_t *fields)
{
    if (r->cut) {
        json_decref(fields);
        return;
    }
    json_t *o =
        json_pack("{s:I, s:s, s:I}", "n", (json_int_t)++r->n, "t", type, "us", (json_int_t)us);
    json_object_update(o, fields);
    json_decref(fields);
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) {
        size_t len = strlen(s) + 1;
        if (r->max_bytes && r->bytes + len > r->max_bytes) {
            r->n--;
            cut_note(r, us, len);
        } else {
            fputs(s, r->fp);
            fputc('\n', r->fp);
            r->bytes += len;
        }
        free(s);
    }
    json_decref(o);
}

static int64_t now_us(const struct rec *r)
{
    return wc_now_us() - r->t0;
}

/* ---- connection bookkeeping ------------------------------------------------------------ */

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static struct pconn *pconn_new(struct rec *r, int fd)
{
    struct pconn *p = wc_xcalloc(1, sizeof(*p));

    p->c.fd = fd;
    p->u.fd = -1;
    wc_buf_init(&p->c.out, 0);
    wc_buf_init(&p->u.out, 0);
    wc_buf_init(&p->in, 0);
    hn_ws_init(&p->cp, -1, &r->rng);
    hn_ws_init(&p->sp, -1, &r->rng);
    p->cp.close_sent = p->sp.close_sent = true; /* never answer pings: we only watch */
    p->next = r->list;
    r->list = p;
    return p;
}

/* Close and free one pair (already out of the list). */
static void pconn_destroy(struct pconn *p)
{
    if (p->c.fd >= 0)
        close(p->c.fd);
    if (p->u.fd >= 0)
        close(p->u.fd);
    wc_buf_release(&p->c.out);
    wc_buf_release(&p->u.out);
    wc_buf_release(&p->in);
    hn_ws_release(&p->cp);
    hn_ws_release(&p->sp);
    hn_record_head_release(&p->resp);
    free(p->method);
    free(p->path);
    free(p->auth);
    free(p->identity);
    json_decref(p->req_body);
    free(p);
}

/* The stable pseudonym of a secret ("token-1"), so a transcript still shows who is who. */
static const char *identity_of(struct rec *r, const char *secret)
{
    json_t *v = json_object_get(r->secrets, secret);
    if (!v) {
        char *name = wc_xasprintf("token-%zu", json_object_size(r->secrets) + 1);
        v = json_string(name);
        free(name);
        json_object_set_new(r->secrets, secret, v);
    }
    return json_string_value(v);
}

/* The value of query parameter `name` in target (new), or NULL. */
static char *query_param(const char *target, const char *name)
{
    const char *q = strchr(target, '?');
    size_t n = strlen(name);
    for (const char *p = q ? q + 1 : NULL; p && *p;) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) > n && !strncmp(p, name, n) && p[n] == '=')
            return wc_xstrndup(p + n + 1, (size_t)(end - p - (ptrdiff_t)n - 1));
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* ---- the request ----------------------------------------------------------------------- */

/* Rewrite the request head for the upstream into out. */
static void rewrite_head(const struct rec *r, const struct pconn *p, const struct hn_record_head *h,
                         struct wc_buf *out)
{
    size_t i;
    json_t *e;
    const char *target = h->target;
    char *fixed = NULL;

    /* a client that asks for "/" or "/?query" on a WebSocket means the upstream's path */
    if (p->ws && target[0] == '/' && (target[1] == '\0' || target[1] == '?')) {
        fixed = wc_xasprintf("%s%s", r->up_path, target + 1);
        target = fixed;
    }
    wc_buf_addf(out, "%s %s HTTP/1.1\r\n", h->method, target);
    free(fixed);
    wc_buf_addf(out, "Host: %s:%d\r\n", r->up_host, r->up_port);
    json_array_foreach(h->headers, i, e)
    {
        const char *name = json_string_value(json_array_get(e, 0));
        const char *val = json_string_value(json_array_get(e, 1));
        if (!strcasecmp(name, "Host"))
            continue;
        if (p->ws && !strcasecmp(name, "Sec-WebSocket-Extensions"))
            continue;
        if (!p->ws && (!strcasecmp(name, "Connection") || !strcasecmp(name, "Keep-Alive")))
            continue;
        wc_buf_addf(out, "%s: %s\r\n", name, val);
    }
    if (!p->ws)
        wc_buf_adds(out, "Connection: close\r\n");
    wc_buf_adds(out, "\r\n");
}

static void answer_error(struct pconn *p, int status, const char *text)
{
    wc_buf_addf(&p->c.out,
                "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                "Connection: close\r\n\r\n%s\n",
                status,
                status == 502   ? "Bad Gateway"
                : status == 413 ? "Content Too Large"
                                : "Bad Request",
                strlen(text) + 1, text);
    p->st = P_DRAIN;
}

/*
 * P_REQ: is the whole request here? Then connect upstream and forward it. Returns false when
 * the connection must go.
 */
static bool try_request(struct rec *r, struct pconn *p)
{
    struct hn_record_head h;
    char *why = NULL, *err = NULL;
    int rc = hn_record_head_parse(p->in.buf, p->in.len, true, &h, &why);
    size_t body_len = 0, total;
    const char *cl, *te, *up;

    if (rc == 0)
        return true;
    if (rc < 0) {
        fprintf(stderr, "gwspec record: bad request from a client: %s\n", why);
        free(why);
        answer_error(p, 400, "gwspec record: bad request");
        return true;
    }
    up = hn_record_head_get(&h, "Upgrade");
    p->ws = up && hn_record_header_has_token(up, "websocket");
    cl = hn_record_head_get(&h, "Content-Length");
    te = hn_record_head_get(&h, "Transfer-Encoding");
    total = h.head_len;
    if (!p->ws && te && hn_record_header_has_token(te, "chunked")) {
        char *body = NULL;
        size_t blen = 0, used = 0;
        int d =
            hn_http_dechunk(p->in.buf + h.head_len, p->in.len - h.head_len, &body, &blen, &used);
        if (d == 0) {
            hn_record_head_release(&h);
            return true;
        }
        if (d < 0) {
            hn_record_head_release(&h);
            answer_error(p, 400, "gwspec record: bad chunked body");
            return true;
        }
        p->req_body = hn_record_body(body, blen, r->fields);
        free(body);
        total += used;
    } else if (!p->ws && cl) {
        char *end;
        unsigned long long v = strtoull(cl, &end, 10);
        if (*end || v > BODY_CAP * 4ULL) {
            hn_record_head_release(&h);
            answer_error(p, 400, "gwspec record: bad Content-Length");
            return true;
        }
        body_len = (size_t)v;
        if (p->in.len - h.head_len < body_len) {
            hn_record_head_release(&h);
            return true;
        }
        p->req_body = hn_record_body(p->in.buf + h.head_len, body_len, r->fields);
        total += body_len;
    }
    p->method = wc_xstrdup(h.method);
    p->path = hn_redact_target(h.target, r->fields);
    const char *authz = hn_record_head_get(&h, "Authorization");
    char *qtok = query_param(h.target, "token");
    if (authz) {
        /* the same token as a query parameter and as a Bearer header is one identity */
        const char *tok = authz;
        if (!strncasecmp(tok, "Bearer ", 7))
            tok += 7;
        p->auth = wc_xstrdup("header");
        p->identity = wc_xstrdup(identity_of(r, tok));
    } else if (qtok) {
        p->auth = wc_xstrdup("query");
        p->identity = wc_xstrdup(identity_of(r, qtok));
    } else {
        p->auth = wc_xstrdup("none");
    }
    free(qtok);

    p->u.fd = hn_net_connect(r->up_host, r->up_port, wc_now_ms() + 5000, &err);
    if (p->u.fd < 0) {
        fprintf(stderr, "gwspec record: upstream: %s\n", err);
        free(err);
        hn_record_head_release(&h);
        answer_error(p, 502, "gwspec record: upstream unreachable");
        return true;
    }
    set_nodelay(p->u.fd);
    rewrite_head(r, p, &h, &p->u.out);
    wc_buf_add(&p->u.out, p->in.buf + h.head_len, total - h.head_len);
    /* bytes a WebSocket client sent right behind its upgrade go on as frames */
    if (p->in.len > total) {
        wc_buf_add(&p->u.out, p->in.buf + total, p->in.len - total);
        if (p->ws)
            hn_ws_feed(&p->cp, p->in.buf + total, p->in.len - total);
    }
    wc_buf_reset(&p->in);
    hn_record_head_release(&h);
    p->st = P_RESP;
    return true;
}

/* ---- WebSocket messages ---------------------------------------------------------------- */

static void parse_ws(struct rec *r, struct pconn *p, bool from_client, int64_t us)
{
    struct hn_ws *ws = from_client ? &p->cp : &p->sp;
    bool *broken = from_client ? &p->cp_broken : &p->sp_broken;

    while (!*broken) {
        struct hn_ws_event ev;
        char *why = NULL;
        int rc = hn_ws_next(ws, &ev, &why);
        wc_buf_reset(&ws->tx);
        if (rc == 0)
            break;
        if (rc < 0) {
            char *t = wc_xasprintf("record: %s: the %s stream is not parseable any more (%s); "
                                   "its bytes are still forwarded",
                                   p->name, from_client ? "client" : "server", why);
            emit(r, "note", us, json_pack("{s:s}", "text", t));
            free(t);
            free(why);
            *broken = true;
            break;
        }
        if (ev.type == HN_WS_EV_MESSAGE) {
            json_t *f = json_pack("{s:s}", "conn", p->name);
            hn_record_payload(f, ev.data, ev.len, ev.binary, r->fields);
            json_t *fr = json_object_get(f, "frame");
            if (fr && hn_frame_is_sentinel(fr))
                json_object_set_new(f, "sentinel", json_true());
            emit(r, from_client ? "send" : "recv", us, f);
        } else if (ev.type == HN_WS_EV_PING && !from_client) {
            /* the server's heartbeat (R-HB-1); the client's pong is relayed, not recorded */
            emit(r, "ping", us,
                 json_pack("{s:s, s:I}", "conn", p->name, "len", (json_int_t)ev.len));
        } else if (ev.type == HN_WS_EV_CLOSE && !p->close_recorded) {
            json_t *reason = json_stringn(ev.data ? ev.data : "", ev.len);
            p->close_recorded = true;
            emit(r, "close", us,
                 json_pack("{s:s, s:s, s:i, s:o}", "conn", p->name, "by",
                           from_client ? "client" : "server", "code", ev.code, "reason",
                           reason ? reason : json_string("(not UTF-8)")));
        }
        hn_ws_event_release(&ev);
    }
}

/* ---- responses ------------------------------------------------------------------------- */

static void record_http(struct rec *r, struct pconn *p, int64_t us)
{
    const char *cl = hn_record_head_get(&p->resp, "Content-Length");
    const char *te = hn_record_head_get(&p->resp, "Transfer-Encoding");
    const char *body = p->in.buf + p->resp.head_len;
    size_t blen = p->in.len - p->resp.head_len;
    json_t *b = NULL;

    if (p->recorded)
        return;
    p->recorded = true;
    if (te && hn_record_header_has_token(te, "chunked")) {
        char *dec = NULL;
        size_t dlen = 0, used = 0;
        if (hn_http_dechunk(body, blen, &dec, &dlen, &used) == 1)
            b = hn_record_body(dec, dlen, r->fields);
        free(dec);
    } else {
        if (cl) {
            unsigned long long v = strtoull(cl, NULL, 10);
            if (v < blen)
                blen = (size_t)v;
        }
        b = hn_record_body(body, blen, r->fields);
    }
    json_t *f = json_pack("{s:s, s:s, s:s, s:i}", "method", p->method, "path", p->path, "auth",
                          p->auth, "status", p->resp.status);
    if (p->identity)
        json_object_set_new(f, "identity", json_string(p->identity));
    if (p->req_body)
        json_object_set(f, "request", p->req_body);
    if (b)
        json_object_set_new(f, "body", b);
    emit(r, "http", us, f);
    if (p->body_cut) {
        char *t = wc_xasprintf("record: the response to %s %s is over %u bytes (the proxy's "
                               "body cap): relayed whole, its record keeps %s",
                               p->method, p->path, (unsigned)BODY_CAP,
                               b ? "the first bytes only" : "no body");
        emit(r, "note", us, json_pack("{s:s}", "text", t));
        free(t);
    }
}

/* True when the HTTP response in p->in is complete. */
static bool http_complete(const struct pconn *p)
{
    const char *cl = hn_record_head_get(&p->resp, "Content-Length");
    const char *te = hn_record_head_get(&p->resp, "Transfer-Encoding");
    size_t blen = p->in.len - p->resp.head_len;

    if (p->resp.status == 204 || p->resp.status == 304 ||
        (p->resp.status >= 100 && p->resp.status < 200) ||
        (p->method && !strcmp(p->method, "HEAD")))
        return true;
    if (te && hn_record_header_has_token(te, "chunked")) {
        char *dec = NULL;
        size_t dlen = 0, used = 0;
        int d = hn_http_dechunk(p->in.buf + p->resp.head_len, blen, &dec, &dlen, &used);
        free(dec);
        return d != 0;
    }
    if (cl)
        return blen >= strtoull(cl, NULL, 10);
    return false; /* until EOF */
}

/* Bytes from the upstream while the response head is pending or an HTTP body streams. */
static void on_response_bytes(struct rec *r, struct pconn *p, const char *buf, size_t n, int64_t us)
{
    if (p->st == P_WS) {
        parse_ws(r, p, false, us);
        return;
    }
    if (p->in.len < BODY_CAP + HN_HTTP_MAX_HEAD)
        wc_buf_add(&p->in, buf, n);
    else
        p->body_cut = true; /* relayed whole, recorded in part (record_http says so) */
    if (!p->resp_head) {
        char *why = NULL;
        int rc = hn_record_head_parse(p->in.buf, p->in.len, false, &p->resp, &why);
        if (rc == 0)
            return;
        if (rc < 0) {
            fprintf(stderr, "gwspec record: bad response from upstream: %s\n", why);
            free(why);
            p->recorded = true;
            p->st = P_DRAIN;
            return;
        }
        p->resp_head = true;
        if (p->ws) {
            snprintf(p->name, sizeof(p->name), "c%d", ++r->conns);
            if (p->resp.status == 101) {
                json_t *f =
                    json_pack("{s:s, s:s, s:s}", "conn", p->name, "path", p->path, "auth", p->auth);
                if (p->identity)
                    json_object_set_new(f, "identity", json_string(p->identity));
                emit(r, "open", us, f);
                p->st = P_WS;
                hn_ws_feed(&p->sp, p->in.buf + p->resp.head_len, p->in.len - p->resp.head_len);
                wc_buf_reset(&p->in);
                parse_ws(r, p, false, us);
                parse_ws(r, p, true, us); /* anything the client sent right behind its upgrade */
            } else {
                emit(r, "reject", us,
                     json_pack("{s:s, s:i, s:s, s:s}", "conn", p->name, "status", p->resp.status,
                               "path", p->path, "auth", p->auth));
                p->recorded = true;
            }
            return;
        }
    }
    if (!p->ws && http_complete(p)) {
        record_http(r, p, us);
        p->st = P_DRAIN;
    }
}

/* ---- I/O --------------------------------------------------------------------------------- */

/* Write what out holds; false on a write error. */
static bool flush_side(struct side *s)
{
    while (s->out.len) {
        ssize_t w = send(s->fd, s->out.buf, s->out.len, MSG_NOSIGNAL);
        if (w > 0) {
            wc_buf_consume(&s->out, (size_t)w);
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (w < 0 && errno == EINTR)
            continue;
        return false;
    }
    return true;
}

/* A side's read ended: record a drop when no close frame was seen. */
static void on_eof(struct rec *r, struct pconn *p, bool client, int64_t us)
{
    struct side *s = client ? &p->c : &p->u;
    s->eof = true;
    if (p->st == P_WS && !p->close_recorded) {
        p->close_recorded = true;
        emit(r, "close", us,
             json_pack("{s:s, s:s, s:i, s:s, s:s}", "conn", p->name, "by", "drop", "code", 1006,
                       "reason", "", "side", client ? "client" : "server"));
    }
    if (!client && !p->ws && p->st == P_RESP) {
        if (p->resp_head)
            record_http(r, p, us);
        p->st = P_DRAIN;
    }
    if (!client && p->ws && p->st == P_RESP)
        p->st = P_DRAIN;
}

/* Read from one side; returns false when the connection must go. */
static bool read_side(struct rec *r, struct pconn *p, bool client)
{
    struct side *s = client ? &p->c : &p->u;
    struct side *o = client ? &p->u : &p->c;
    char buf[65536];

    for (;;) {
        ssize_t n = recv(s->fd, buf, sizeof(buf), 0);
        int64_t us = now_us(r);
        if (n > 0) {
            if (client && p->st == P_REQ) {
                if (p->in.len + (size_t)n > REQ_CAP) {
                    fprintf(stderr,
                            "gwspec record: a client's request is over %u bytes (the proxy's "
                            "request cap): answered 413\n",
                            (unsigned)REQ_CAP);
                    answer_error(p, 413, "gwspec record: request too large");
                    wc_buf_reset(&p->in);
                    return true;
                }
                wc_buf_add(&p->in, buf, (size_t)n);
                if (!try_request(r, p))
                    return false;
            } else {
                /* relay first, record second: the transcript never delays a frame */
                wc_buf_add(&o->out, buf, (size_t)n);
                if (o->fd >= 0 && !flush_side(o))
                    return false;
                if (client && !p->cp_broken) {
                    hn_ws_feed(&p->cp, buf, (size_t)n);
                    if (p->st == P_WS)
                        parse_ws(r, p, true, us);
                } else if (!client) {
                    if (p->st == P_WS && !p->sp_broken)
                        hn_ws_feed(&p->sp, buf, (size_t)n);
                    on_response_bytes(r, p, buf, (size_t)n, us);
                }
            }
            if (o->fd >= 0 && !flush_side(o))
                return false;
            if (o->out.len > OUT_CAP)
                return true;
            if ((size_t)n < sizeof(buf))
                return true;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (n < 0 && errno == EINTR)
            continue;
        on_eof(r, p, client, us);
        return true;
    }
}

/* After I/O: propagate half-closes, decide whether the pair is finished. */
static bool settle(struct pconn *p)
{
    if (p->st == P_REQ)
        return !p->c.eof;
    if (p->st == P_DRAIN) {
        if (p->u.fd >= 0) {
            close(p->u.fd);
            p->u.fd = -1;
        }
        return p->c.out.len > 0;
    }
    /* P_RESP and P_WS: a side that ended gets its peer's write side shut once flushed */
    if (p->c.eof && p->u.fd >= 0 && !p->u.out.len && !p->u.wshut) {
        shutdown(p->u.fd, SHUT_WR);
        p->u.wshut = true;
    }
    if (p->u.eof && !p->c.out.len && !p->c.wshut) {
        shutdown(p->c.fd, SHUT_WR);
        p->c.wshut = true;
    }
    return !(p->c.eof && p->u.eof && !p->c.out.len && !p->u.out.len);
}

static int parse_upstream(const char *url, struct rec *r)
{
    const char *p = url;
    if (!strncmp(p, "ws://", 5))
        p += 5;
    else if (!strncmp(p, "http://", 7))
        p += 7;
    else
        return -1;
    const char *slash = strchr(p, '/');
    const char *colon = memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p));
    if (!colon || colon == p)
        return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || port < 1 || port > 65535 || (*end && *end != '/'))
        return -1;
    r->up_host = wc_xstrndup(p, (size_t)(colon - p));
    r->up_port = (int)port;
    r->up_path = wc_xstrdup(slash ? slash : "/ws");
    return 0;
}

static int listen_on(const char *spec, int *port_out, char **err)
{
    char host[64] = "127.0.0.1";
    const char *colon = strrchr(spec, ':');
    const char *portstr = spec;
    char *end;

    if (colon) {
        size_t n = (size_t)(colon - spec);
        if (n == 0 || n >= sizeof(host)) {
            *err = wc_xasprintf("bad --listen '%s'", spec);
            return -1;
        }
        memcpy(host, spec, n);
        host[n] = '\0';
        portstr = colon + 1;
    }
    long port = strtol(portstr, &end, 10);
    if (*end || end == portstr || port < 0 || port > 65535) {
        *err = wc_xasprintf("bad --listen port '%s'", portstr);
        return -1;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        *err = wc_xasprintf("--listen takes an IPv4 address, not '%s'", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0) {
        *err = wc_xasprintf("socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 128) != 0) {
        *err = wc_xasprintf("cannot listen on %s:%ld: %s", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    socklen_t sl = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &sl);
    *port_out = ntohs(a.sin_port);
    return fd;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: gwspec record --listen [HOST:]PORT --upstream ws://HOST:PORT/PATH [OPTIONS]\n"
            "\n"
            "A transparent recording proxy. Clients connect to it instead of the gateway; every\n"
            "WebSocket frame is relayed both ways unchanged (close codes, pings, fragmentation\n"
            "included) and written to a transcript (spec/transcript.md: open, send, recv, close,\n"
            "reject records), several connections into one file. Plain HTTP requests (REST) are\n"
            "forwarded too and recorded as `http` records. PORT 0 picks a free port; the\n"
            "address is printed on stderr as 'gwspec record: listening on HOST:PORT'. Runs until\n"
            "SIGINT or SIGTERM.\n"
            "\n"
            "  --out FILE        the transcript (default: stdout)\n"
            "  --redact FIELD    also redact JSON members and query parameters named FIELD\n"
            "                    (repeatable). Always redacted: the Authorization header and\n"
            "                    query tokens (token, access_token, auth, jwt, apikey, api_key,\n"
            "                    key, password), JSON members token and password\n"
            "  --case NAME       the header's \"case\" (default: record)\n"
            "  --meta KEY=VALUE  an extra header field (repeatable), e.g. mutant=dup-complete;\n"
            "                    a VALUE that is a JSON array or object is stored as one, e.g.\n"
            "                    capabilities='[\"fan-out\"]'\n"
            "  --max-bytes N     stop when the transcript would pass N bytes (K, M, G: 1024s;\n"
            "                    0: no cap; default 1G): a last `note` says where it was cut,\n"
            "                    the connections are closed and the exit status is 1\n"
            "\n"
            "Memory is bounded whatever the peers send: a WebSocket message over 16 MiB stops\n"
            "that stream's recording (a note; its bytes are still relayed), an HTTP response\n"
            "body is recorded up to 4 MiB (a note when cut), a client's request over 16 MiB\n"
            "gets 413, and a side is not read while 16 MiB wait to be written to the other.\n");
}

/* What the command line asks for. */
struct record_opts {
    const char *listen_spec; /* --listen [HOST:]PORT */
    const char *upstream;    /* --upstream ws://HOST:PORT/PATH */
    const char *out;         /* --out FILE, NULL for stdout */
    const char *case_name;   /* --case, the header's "case" */
    json_t *meta;            /* --meta KEY=VALUE: extra header fields */
};

/* A transcript that stopped at --max-bytes: the exit status. */
#define EXIT_CUT 1

/* --meta KEY=VALUE into ro->meta; false (after saying why) when it is not KEY=VALUE. */
static bool add_meta(struct record_opts *ro, const char *kv)
{
    const char *eq = strchr(kv, '=');

    if (!eq || eq == kv) {
        fprintf(stderr, "gwspec record: --meta takes KEY=VALUE, not '%s'\n", kv);
        return false;
    }
    char *k = wc_xstrndup(kv, (size_t)(eq - kv));
    /* a JSON array or object stays one (capabilities=["fan-out"]); else a string */
    json_t *jv = eq[1] && strchr("[{", eq[1]) ? json_loads(eq + 1, 0, NULL) : NULL;
    json_object_set_new(ro->meta, k, jv ? jv : json_string(eq + 1));
    free(k);
    return true;
}

/* Phase 1: the options into ro and r->fields. Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct record_opts *ro, struct rec *r)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"upstream", required_argument, NULL, 'u'},
        {"out", required_argument, NULL, 'o'},
        {"redact", required_argument, NULL, 'r'},
        {"case", required_argument, NULL, 'c'},
        {"meta", required_argument, NULL, 'm'},
        {"max-bytes", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case 'l':
            ro->listen_spec = optarg;
            break;
        case 'u':
            ro->upstream = optarg;
            break;
        case 'o':
            ro->out = optarg;
            break;
        case 'r':
            json_array_append_new(r->fields, json_string(optarg));
            break;
        case 'c':
            ro->case_name = optarg;
            break;
        case 'm':
            if (!add_meta(ro, optarg))
                return 2;
            break;
        case 'b':
            if (!hn_budget_parse_bytes(optarg, &r->max_bytes)) {
                fprintf(stderr,
                        "gwspec record: --max-bytes takes a byte count (K, M, G: 1024s), not "
                        "'%s'\n",
                        optarg);
                return 2;
            }
            break;
        default:
            fprintf(stderr, "gwspec record: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gwspec record: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!ro->listen_spec || !ro->upstream) {
        fprintf(stderr, "gwspec record: --listen and --upstream are required\n");
        usage(stderr);
        return 2;
    }
    for (size_t i = 0; hn_redact_default_fields[i]; i++)
        json_array_append_new(r->fields, json_string(hn_redact_default_fields[i]));
    return -1;
}

/* Phase 2: the upstream, the transcript file and the listening socket (*lfd). Returns -1 to go
 * on, else the exit status (2 a bad --upstream, 3 a file or socket that cannot be had). */
static int open_all(const struct record_opts *ro, struct rec *r, int *lfd, int *port)
{
    char *err = NULL;

    if (parse_upstream(ro->upstream, r) != 0) {
        fprintf(stderr, "gwspec record: --upstream must be ws://HOST:PORT[/PATH], not '%s'\n",
                ro->upstream);
        return 2;
    }
    r->fp = ro->out ? fopen(ro->out, "w") : stdout;
    if (!r->fp) {
        fprintf(stderr, "gwspec record: %s: %s\n", ro->out, strerror(errno));
        return 3;
    }
    *lfd = listen_on(ro->listen_spec, port, &err);
    if (*lfd < 0) {
        fprintf(stderr, "gwspec record: %s\n", err);
        free(err);
        return 3;
    }
    return -1;
}

/* The transcript's header line, flushed at once. */
static void write_header(struct rec *r, const struct record_opts *ro)
{
    char started[40];

    wc_iso8601_now(started, sizeof(started));
    json_t *h = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "t", "header", "format",
                          HN_TRANSCRIPT_FORMAT, "case", ro->case_name, "source", "gwspec record",
                          "upstream", ro->upstream, "started", started);
    json_object_update_missing(h, ro->meta);
    char *s = json_dumps(h, JSON_COMPACT);
    fputs(s, r->fp);
    fputc('\n', r->fp);
    fflush(r->fp);
    r->bytes += strlen(s) + 1;
    free(s);
    json_decref(h);
}

static void install_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The poll set: the listener, then each pair's client side and (once connected) its upstream
 * side; owner[i] is the pair of fds[i]. Returns the number of entries; *fds, *owner are new. */
static size_t build_pollset(const struct rec *r, int lfd, struct pollfd **fds_out,
                            struct pconn ***owner_out)
{
    size_t n = 1, cap = 1;

    for (struct pconn *p = r->list; p; p = p->next)
        cap += 2;
    struct pollfd *fds = wc_xcalloc(cap, sizeof(*fds));
    struct pconn **owner = wc_xcalloc(cap, sizeof(*owner));
    fds[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
    for (struct pconn *p = r->list; p; p = p->next) {
        short ce = 0, ue = 0;
        if (!p->c.eof && p->st != P_DRAIN && p->st != P_RESP && p->u.out.len <= OUT_CAP)
            ce |= POLLIN;
        if (p->c.out.len)
            ce |= POLLOUT;
        /* a side that ended and has nothing to write is not watched (POLLHUP would spin) */
        fds[n] = (struct pollfd){.fd = (p->c.eof && !p->c.out.len) ? -1 : p->c.fd, .events = ce};
        owner[n++] = p;
        if (p->u.fd >= 0) {
            if (!p->u.eof && p->c.out.len <= OUT_CAP)
                ue |= POLLIN;
            if (p->u.out.len)
                ue |= POLLOUT;
            fds[n] =
                (struct pollfd){.fd = (p->u.eof && !p->u.out.len) ? -1 : p->u.fd, .events = ue};
            owner[n++] = p;
        }
    }
    *fds_out = fds;
    *owner_out = owner;
    return n;
}

/* One side of a pair had events: read, write, settle. A pair that is finished is marked dead
 * (freed by sweep_dead), so the other fd of the same pair sees the mark, not freed memory. */
static void service(struct rec *r, struct pconn *p, const struct pollfd *pfd)
{
    bool is_client = pfd->fd == p->c.fd;
    struct side *s = is_client ? &p->c : &p->u;
    bool gone = false;

    if (pfd->revents & (POLLIN | POLLHUP | POLLERR))
        gone = !read_side(r, p, is_client);
    if (!gone && s->fd >= 0 && (pfd->revents & POLLOUT))
        gone = !flush_side(s);
    if (!gone && p->c.out.len)
        gone = !flush_side(&p->c);
    if (!gone && p->u.fd >= 0 && p->u.out.len)
        gone = !flush_side(&p->u);
    if (gone || !settle(p)) {
        if (gone && p->st == P_WS && !p->close_recorded) {
            p->close_recorded = true;
            emit(r, "close", now_us(r),
                 json_pack("{s:s, s:s, s:i, s:s}", "conn", p->name, "by", "drop", "code", 1006,
                           "reason", ""));
        }
        p->dead = true;
    }
}

/* Free the pairs service marked dead: one walk over the list. */
static void sweep_dead(struct rec *r)
{
    struct pconn **pp = &r->list;

    while (*pp) {
        struct pconn *p = *pp;
        if (p->dead) {
            *pp = p->next;
            pconn_destroy(p);
        } else {
            pp = &p->next;
        }
    }
}

static void accept_all(struct rec *r, int lfd)
{
    for (;;) {
        int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            break;
        set_nodelay(cfd);
        pconn_new(r, cfd);
    }
}

/*
 * Phase 3: relay until a signal. After SIGINT/SIGTERM, keep relaying until 200 ms pass without
 * any event (at most 2 s), so the closes of clients that just finished still reach the
 * transcript.
 */
static void relay(struct rec *r, int lfd)
{
    int64_t stop_at = 0, last_event = 0;

    for (;;) {
        int timeout = -1;
        if (r->cut) /* --max-bytes: the note of the cut is the last record */
            break;
        if (stop_flag) {
            int64_t now = wc_now_ms();
            if (!stop_at) {
                stop_at = now + 2000;
                last_event = now;
            }
            if (!r->list || now >= stop_at || now - last_event >= 200)
                break;
            timeout = (int)(200 - (now - last_event));
        }
        struct pollfd *fds;
        struct pconn **owner;
        size_t n = build_pollset(r, lfd, &fds, &owner);
        /* the transcript is flushed whenever the loop is about to wait, not per record */
        fflush(r->fp);
        int pr = poll(fds, n, timeout);
        if (pr > 0)
            last_event = wc_now_ms();
        if (pr < 0) {
            free(fds);
            free(owner);
            if (errno == EINTR)
                continue;
            fprintf(stderr, "gwspec record: poll: %s\n", strerror(errno));
            break;
        }
        for (size_t i = 1; i < n; i++) {
            if (fds[i].revents && !owner[i]->dead)
                service(r, owner[i], &fds[i]);
        }
        sweep_dead(r);
        if ((fds[0].revents & POLLIN) && !stop_flag)
            accept_all(r, lfd);
        free(fds);
        free(owner);
    }
}

/* Phase 4: the connections still open when the proxy stops, noted and closed. */
static void close_all(struct rec *r)
{
    while (r->list) {
        struct pconn *p = r->list;
        if (p->st == P_WS && !p->close_recorded) {
            p->close_recorded = true;
            emit(r, "note", now_us(r),
                 json_pack("{s:s}", "text", "record: stopped with this connection still open"));
        }
        r->list = p->next;
        pconn_destroy(p);
    }
}

int hn_cmd_record(int argc, char **argv)
{
    struct record_opts ro = {.case_name = "record", .meta = json_object()};
    struct rec r = {
        .fields = json_array(), .secrets = json_object(), .max_bytes = MAX_BYTES_DEFAULT};
    int lfd = -1, port = 0;
    int rc = parse_args(argc, argv, &ro, &r);

    if (rc < 0)
        rc = open_all(&ro, &r, &lfd, &port);
    if (rc < 0) {
        wc_rand_init(&r.rng, (uint64_t)getpid());
        r.t0 = wc_now_us();
        write_header(&r, &ro);
        install_signals();
        fprintf(stderr, "gwspec record: listening on 127.0.0.1:%d\n", port);
        fflush(stderr);
        relay(&r, lfd);
        close_all(&r);
        rc = r.cut ? EXIT_CUT : 0;
    }
    if (lfd >= 0)
        close(lfd);
    if (r.fp && r.fp != stdout)
        fclose(r.fp);
    free(r.up_host);
    free(r.up_path);
    json_decref(r.fields);
    json_decref(r.secrets);
    json_decref(ro.meta);
    return rc;
}
