/*
 * client.c: lws glue for session.h (client.h). Every connection attempt has its own struct
 * conn (the wsi's opaque data), so that the events of a closing socket never reach the
 * session once a newer attempt exists. The session decides; this file only moves bytes and
 * arms timers.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "client.h"
#include "policy.h"
#include "session.h"
#include "wc_buf.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_time.h"
#include "wc_banned.h"

#define RX_MAX     (16u << 20) /* the biggest inbound message kept; bigger ones are dropped */
#define CTL_IN_MAX (1u << 20)
#define CTL_CHUNK  4096

struct frame {
    struct frame *next;
    size_t len;
    bool ping;
    unsigned char buf[]; /* LWS_PRE + len */
};

struct rc_client;

struct conn {
    struct rc_client *c;
    struct lws *wsi;
    struct frame *out, **tail;
    struct wc_buf rx;
    bool rx_binary, rx_too_big;
    int peer_code;         /* the server's close code, 0 when none came */
    int close_code;        /* > 0: the client closes with it */
    bool reported;         /* rc_session_closed was called for this attempt */
    bool in_connect, dead; /* the attempt failed inside lws_client_connect_via_info */
};

struct rc_client {
    const struct rc_client_opts *o;
    struct lws_context *ctx;
    struct rc_session *s;
    struct conn *cur; /* the current attempt, NULL when none */
    /* the URL, split */
    char *url_copy, *host, *path;
    int port;
    bool tls;
    /* the control channel */
    struct lws *ctl_wsi;
    char *ctl_host;
    int ctl_port;
    bool ctl_up, ctl_ended;
    struct wc_buf ctl_out, ctl_in;
    /* timers */
    lws_sorted_usec_list_t sul[RC_TIMER_COUNT];
    bool quitting, stop, destroying;
    int status;
};

static volatile sig_atomic_t got_signal;
static struct lws_context *signal_ctx;

static void on_signal(int sig)
{
    (void)sig;
    got_signal = 1;
    if (signal_ctx)
        lws_cancel_service(signal_ctx);
}

/* ---- the session socket ----------------------------------------------------------------- */

static void conn_free(struct conn *k)
{
    while (k->out) {
        struct frame *f = k->out;
        k->out = f->next;
        free(f);
    }
    wc_buf_release(&k->rx);
    free(k);
}

static void report_closed(struct conn *k, int code)
{
    struct rc_client *c = k->c;

    if (k->reported || c->cur != k || c->destroying)
        return;
    k->reported = true;
    rc_session_closed(c->s, code);
}

static void io_connect(void *ctx)
{
    struct rc_client *c = ctx;
    struct lws_client_connect_info ci;
    struct conn *k = wc_xcalloc(1, sizeof(*k));

    k->c = c;
    k->tail = &k->out;
    wc_buf_init(&k->rx, RX_MAX);
    c->cur = k;
    memset(&ci, 0, sizeof(ci));
    ci.context = c->ctx;
    ci.address = c->host;
    ci.port = c->port;
    ci.path = c->path;
    ci.host = c->host;
    ci.origin = c->host;
    ci.ssl_connection = c->tls ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = "rc-ws";
    ci.opaque_user_data = k;
    ci.pwsi = &k->wsi;
    wc_info("connecting to %s:%d%s", c->host, c->port, c->path);
    k->in_connect = true;
    if (!lws_client_connect_via_info(&ci))
        k->wsi = NULL;
    k->in_connect = false;
    if (!k->wsi) { /* failed at once; CONNECTION_ERROR may have run already */
        report_closed(k, RC_CLOSE_ABNORMAL);
        if (c->cur == k)
            c->cur = NULL;
        conn_free(k);
    }
}

static void push(struct conn *k, const void *data, size_t len, bool ping)
{
    struct frame *f = wc_xmalloc(sizeof(*f) + LWS_PRE + len);

    f->next = NULL;
    f->len = len;
    f->ping = ping;
    if (len)
        memcpy(f->buf + LWS_PRE, data, len);
    *k->tail = f;
    k->tail = &f->next;
    if (k->wsi)
        lws_callback_on_writable(k->wsi);
}

static void io_send(void *ctx, const char *text, size_t len)
{
    struct rc_client *c = ctx;

    if (c->cur && c->cur->wsi && !c->cur->close_code && !c->cur->peer_code)
        push(c->cur, text, len, false);
}

static void io_ping(void *ctx)
{
    struct rc_client *c = ctx;

    if (c->cur && c->cur->wsi && !c->cur->close_code && !c->cur->peer_code)
        push(c->cur, NULL, 0, true);
}

static void io_close(void *ctx, int code)
{
    struct rc_client *c = ctx;
    struct conn *k = c->cur;

    if (!k || !k->wsi || k->close_code)
        return;
    k->close_code = code;
    /* an attempt still in its handshake has no close frame to send: drop it */
    if (rc_session_state(c->s) == RC_ST_CONNECTING)
        lws_set_timeout(k->wsi, PENDING_TIMEOUT_AWAITING_PROXY_RESPONSE, LWS_TO_KILL_ASYNC);
    else
        lws_callback_on_writable(k->wsi);
}

static int conn_write(struct lws *wsi, struct conn *k)
{
    if (k->close_code) {
        if (k->close_code > 0) {
            lws_close_reason(wsi, (enum lws_close_status)k->close_code, NULL, 0);
            k->close_code = -k->close_code; /* once: lws may call WRITEABLE again */
        }
        return -1;
    }
    while (k->out && !lws_send_pipe_choked(wsi)) {
        struct frame *f = k->out;
        int n = lws_write(wsi, f->buf + LWS_PRE, f->len, f->ping ? LWS_WRITE_PING : LWS_WRITE_TEXT);
        if (n < (int)f->len)
            return -1;
        k->out = f->next;
        if (!k->out)
            k->tail = &k->out;
        free(f);
    }
    if (k->out)
        lws_callback_on_writable(wsi);
    return 0;
}

static void conn_rx(struct lws *wsi, struct conn *k, const void *in, size_t len)
{
    if (lws_is_first_fragment(wsi)) {
        wc_buf_reset(&k->rx);
        k->rx_too_big = false;
        k->rx_binary = lws_frame_is_binary(wsi);
    }
    if (!k->rx_too_big && wc_buf_add(&k->rx, in, len)) {
        k->rx_too_big = true;
        wc_warn("inbound message over %u bytes dropped", RX_MAX);
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return;
    if (!k->rx_too_big && k->c->cur == k)
        rc_session_frame(k->c->s, k->rx.buf ? k->rx.buf : "", k->rx.len, k->rx_binary);
    wc_buf_reset(&k->rx);
}

static int add_headers(struct lws *wsi, struct rc_client *c, void *in, size_t len)
{
    unsigned char **p = in, *end = *p + len;
    char auth[4096];

    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"anthropic-version:",
                                    (const unsigned char *)"2023-06-01", 10, p, end))
        return -1;
    if (c->o->token) {
        int n = snprintf(auth, sizeof(auth), "Bearer %s", c->o->token);
        if (n < 0 || (size_t)n >= sizeof(auth) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *)"authorization:",
                                        (const unsigned char *)auth, n, p, end))
            return -1;
    }
    return 0;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct conn *k = lws_get_opaque_user_data(wsi);
    const unsigned char *b = in;

    (void)user;
    if (!k)
        return reason == LWS_CALLBACK_CLIENT_WRITEABLE ? -1 : 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return add_headers(wsi, k->c, in, len);
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (k->c->cur == k)
            rc_session_opened(k->c->s);
        if (k->out)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        conn_rx(wsi, k, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return conn_write(wsi, k);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        k->peer_code = (b && len >= 2) ? (b[0] << 8 | b[1]) : 1005;
        report_closed(k, k->peer_code);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        wc_info("connection failed: %s", in ? (const char *)in : "?");
        /* FALLTHROUGH */
    case LWS_CALLBACK_CLIENT_CLOSED:
        lws_set_opaque_user_data(wsi, NULL);
        k->wsi = NULL;
        report_closed(k, k->peer_code ? k->peer_code
                                      : (k->close_code ? abs(k->close_code) : RC_CLOSE_ABNORMAL));
        if (k->in_connect) /* io_connect frees it */
            return 0;
        if (k->c->cur == k)
            k->c->cur = NULL;
        conn_free(k);
        return 0;
    default:
        return 0;
    }
}

/* ---- the control channel ---------------------------------------------------------------- */

static void ctl_kick(struct rc_client *c)
{
    if (c->ctl_wsi && c->ctl_up && (c->ctl_out.len || c->quitting))
        lws_callback_on_writable(c->ctl_wsi);
}

static void io_ctl(void *ctx, const char *line)
{
    struct rc_client *c = ctx;

    if (c->destroying)
        return;
    wc_debug("ctl> %s", line);
    if (!c->o->ctl)
        return;
    if (wc_buf_adds(&c->ctl_out, line) || wc_buf_adds(&c->ctl_out, "\n"))
        wc_warn("control channel: output over its limit, line dropped");
    ctl_kick(c);
}

static void io_quit(void *ctx)
{
    struct rc_client *c = ctx;

    c->quitting = true;
    if (c->cur && c->cur->wsi && !c->cur->close_code)
        io_close(c, 1000);
    if (!c->ctl_wsi || !c->ctl_up) {
        c->stop = true;
        lws_cancel_service(c->ctx);
    } else
        ctl_kick(c);
}

static int ctl_write(struct lws *wsi, struct rc_client *c)
{
    unsigned char buf[LWS_PRE + CTL_CHUNK];

    while (c->ctl_out.len && !lws_send_pipe_choked(wsi)) {
        size_t n = c->ctl_out.len < CTL_CHUNK ? c->ctl_out.len : CTL_CHUNK;
        memcpy(buf + LWS_PRE, c->ctl_out.buf, n);
        if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_RAW) < (int)n)
            return -1;
        wc_buf_consume(&c->ctl_out, n);
    }
    if (c->ctl_out.len || (c->quitting && lws_send_pipe_choked(wsi))) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->quitting) {
        c->stop = true;
        lws_cancel_service(c->ctx);
    }
    return 0;
}

static void ctl_read(struct rc_client *c, const char *in, size_t len)
{
    const char *nl;

    if (wc_buf_add(&c->ctl_in, in, len)) {
        wc_warn("control channel: line over %u bytes dropped", CTL_IN_MAX);
        wc_buf_reset(&c->ctl_in);
        return;
    }
    while (c->ctl_in.len && (nl = memchr(c->ctl_in.buf, '\n', c->ctl_in.len))) {
        size_t n = (size_t)(nl - c->ctl_in.buf);
        char *line = wc_xstrndup(c->ctl_in.buf, n);
        wc_buf_consume(&c->ctl_in, n + 1);
        wc_debug("ctl< %s", line);
        if (n && !c->quitting)
            rc_session_ctl_line(c->s, line, n);
        free(line);
    }
}

static void start_session(struct rc_client *c)
{
    rc_session_hello(c->s, (long)getpid());
    rc_session_start(c->s);
}

static int ctl_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    struct rc_client *c = lws_get_opaque_user_data(wsi);

    (void)user;
    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_RAW_CONNECTED:
        c->ctl_up = true;
        start_session(c);
        ctl_kick(c);
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        return ctl_write(wsi, c);
    case LWS_CALLBACK_RAW_RX:
        if (in && len)
            ctl_read(c, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        wc_log(WC_LOG_ERROR, "control channel %s:%d: cannot connect: %s", c->ctl_host, c->ctl_port,
               in ? (const char *)in : "?");
        c->status = 1;
        /* FALLTHROUGH */
    case LWS_CALLBACK_RAW_CLOSE:
        lws_set_opaque_user_data(wsi, NULL);
        c->ctl_wsi = NULL;
        c->ctl_up = false;
        c->ctl_ended = true;
        c->stop = true; /* nothing outlives the harness's channel */
        lws_cancel_service(c->ctx);
        return 0;
    default:
        return 0;
    }
}

static void ctl_connect(struct rc_client *c)
{
    struct lws_client_connect_info ci;

    memset(&ci, 0, sizeof(ci));
    ci.context = c->ctx;
    ci.address = c->ctl_host;
    ci.port = c->ctl_port;
    ci.host = c->ctl_host;
    ci.origin = c->ctl_host;
    ci.path = "/";
    ci.method = "RAW";
    ci.local_protocol_name = "rc-ctl";
    ci.opaque_user_data = c;
    ci.pwsi = &c->ctl_wsi;
    if (!lws_client_connect_via_info(&ci) && !c->ctl_ended) {
        wc_log(WC_LOG_ERROR, "control channel %s:%d: cannot connect", c->ctl_host, c->ctl_port);
        c->status = 1;
        c->stop = true;
    }
}

/* ---- timers ------------------------------------------------------------------------------ */

static void on_sul(lws_sorted_usec_list_t *sul);

static void io_timer(void *ctx, enum rc_timer which, int64_t ms)
{
    struct rc_client *c = ctx;

    if (ms < 0 || c->destroying) {
        lws_sul_cancel(&c->sul[which]);
        return;
    }
    lws_sul_schedule(c->ctx, 0, &c->sul[which], on_sul, ms * LWS_US_PER_MS);
}

/* ---- setup ------------------------------------------------------------------------------- */

static int split_url(struct rc_client *c)
{
    const char *proto = NULL, *addr = NULL, *path = NULL;

    c->url_copy = wc_xstrdup(c->o->url);
    if (lws_parse_uri(c->url_copy, &proto, &addr, &c->port, &path) || !addr || !*addr)
        return -1;
    if (!strcmp(proto, "wss"))
        c->tls = true;
    else if (strcmp(proto, "ws"))
        return -1;
    c->host = wc_xstrdup(addr);
    c->path = wc_xasprintf("/%s", path ? path : "");
    return 0;
}

/* The session id of /v1/sessions/ws/<id>/subscribe, or "" (new). */
static char *session_id_of(const char *path)
{
    const char *p = strstr(path, "/sessions/ws/"), *e;

    if (!p)
        return wc_xstrdup("");
    p += strlen("/sessions/ws/");
    e = p + strcspn(p, "/?");
    return wc_xstrndup(p, (size_t)(e - p));
}

static int split_ctl(struct rc_client *c)
{
    const char *colon = strrchr(c->o->ctl, ':');
    char *end;
    long port;

    if (!colon || colon == c->o->ctl)
        return -1;
    port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return -1;
    c->ctl_host = wc_xstrndup(c->o->ctl, (size_t)(colon - c->o->ctl));
    c->ctl_port = (int)port;
    return 0;
}

static struct rc_client *the_client; /* for on_sul: lws 4.1's sul callback has no user pointer */

static void on_sul(lws_sorted_usec_list_t *sul)
{
    struct rc_client *c = the_client;

    for (int i = 0; c && i < RC_TIMER_COUNT; i++) {
        if (sul == &c->sul[i]) {
            rc_session_timer(c->s, (enum rc_timer)i);
            return;
        }
    }
}

int rc_client_run(const struct rc_client_opts *o)
{
    static const struct lws_protocols protocols[] = {
        {"rc-ws", ws_callback, 0, 0, 0, NULL, 0},
        {"rc-ctl", ctl_callback, 0, 0, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    struct rc_client c;
    struct lws_context_creation_info info;
    struct rc_io io = {.ctx = &c,
                       .connect = io_connect,
                       .send = io_send,
                       .close = io_close,
                       .ping = io_ping,
                       .timer = io_timer,
                       .ctl = io_ctl,
                       .quit = io_quit};
    struct rc_config cfg;
    struct sigaction sa;
    char *sid;
    int status;

    memset(&c, 0, sizeof(c));
    c.o = o;
    if (split_url(&c)) {
        fprintf(stderr, "gwspec-client: --url: not a ws:// or wss:// URL: %s\n", o->url);
        free(c.url_copy);
        free(c.host);
        free(c.path);
        return 1;
    }
    if (o->ctl && split_ctl(&c)) {
        fprintf(stderr, "gwspec-client: --ctl: expected HOST:PORT, got %s\n", o->ctl);
        free(c.url_copy);
        free(c.host);
        free(c.path);
        return 1;
    }
    wc_buf_init(&c.ctl_out, 0);
    wc_buf_init(&c.ctl_in, CTL_IN_MAX);
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.fd_limit_per_thread = 64;
    if (c.tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    lws_set_log_level(wc_log_get_level() >= WC_LOG_DEBUG ? LLL_ERR | LLL_WARN : 0, NULL);
    c.ctx = lws_create_context(&info);
    sid = session_id_of(c.path);
    memset(&cfg, 0, sizeof(cfg));
    cfg.session_id = sid;
    cfg.case_token = o->case_token;
    cfg.time_scale = o->time_scale;
    cfg.mutant = o->mutant;
    cfg.seed = (uint64_t)wc_now_us() ^ ((uint64_t)getpid() << 32);
    status = 1;
    if (!c.ctx) {
        fprintf(stderr, "gwspec-client: cannot create the lws context\n");
        goto out;
    }
    c.s = rc_session_new(&cfg, &io);
    the_client = &c;
    signal_ctx = c.ctx;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (o->ctl)
        ctl_connect(&c);
    else
        start_session(&c);
    while (!c.stop && !got_signal) {
        if (lws_service(c.ctx, 0) < 0)
            break;
        /* unattended, nobody can make a client that gave up do anything more */
        if (!o->ctl && rc_session_state(c.s) == RC_ST_GONE && !c.cur)
            break;
    }
    status = c.status;
    c.destroying = true;
    for (int i = 0; i < RC_TIMER_COUNT; i++)
        lws_sul_cancel(&c.sul[i]);
    lws_context_destroy(c.ctx);
    signal_ctx = NULL;
    the_client = NULL;
    if (c.cur)
        conn_free(c.cur);
out:
    rc_session_free(c.s);
    wc_buf_release(&c.ctl_out);
    wc_buf_release(&c.ctl_in);
    free(sid);
    free(c.ctl_host);
    free(c.url_copy);
    free(c.host);
    free(c.path);
    return status;
}
