/* server.c: lws glue: HTTP + WebSocket on one vhost (see server.h). */
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include <libwebsockets.h>

#include "dispatch.h"
#include "mutants.h"
#include "protocol.h"
#include "provider_mock.h"
#include "rest.h"
#include "server.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_time.h"

#include "wc_banned.h"

_Static_assert(GW_FRAME_PRE >= LWS_PRE, "frame headroom must cover LWS_PRE");

#define HTTP_BODY_MAX (1024 * 1024)
#define WS_PATH       "/ws"

struct qnode {
    struct gw_frame *f; /* a reference */
    struct qnode *next;
};

/* Per-connection state (lws zero-fills it). HTTP and WS share the struct. */
struct pss {
    struct lws *wsi;
    /* HTTP */
    char method[8];
    char *path;
    const char *user; /* borrowed from the users table */
    bool token_present;
    char *limit;
    char *offset;
    char *since_seq;  /* dispatch */
    char *before_seq; /* dispatch */
    bool answered;    /* dispatch: this request has its response (lws may still report a body) */
    struct wc_buf body;
    bool body_init;
    bool body_over;
    bool length_required; /* a chunked body we cannot read */
    bool bad_length;      /* Content-Length not a byte count or over the cap: answer, close */
    unsigned char *resp;  /* LWS_PRE + body */
    size_t resp_len;
    /* WS */
    uint64_t conn;    /* core connection id, 0 before ESTABLISHED */
    struct wc_buf rx; /* the message being reassembled */
    bool rx_init;
    struct qnode *qhead;
    struct qnode *qtail;
    size_t qbytes;
    bool closing; /* close with close_code at the next WRITEABLE */
    int close_code;
    bool killed; /* send cap exceeded: being dropped */
    bool full;   /* qbytes reached the high-water mark (the core was told) */
    bool ping_due;
    bool ping_unanswered;     /* a ping was written and no pong came since */
    int64_t unanswered_since; /* when the first ping without a pong was written */
};

struct gw_server {
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct gw_core *core;
    struct gw_dispatch *dispatch; /* --dialect dispatch, or NULL */
    struct gw_mock *mock;
    struct gw_users *users;
    char *host;
    int port;
    size_t max_frame;
    size_t send_cap;
    size_t high_water; /* a socket's queue above this is full: its run's provider may pause */
    size_t low_water;  /* below this it asks the core for its backlog (a replay) */
    int stall_s;       /* a full queue that does not move for this long is dropped */
    int64_t ping_ms;
    int64_t pong_timeout_ms;
    volatile sig_atomic_t stop;
    lws_sorted_usec_list_t deadline_sul;
};

static struct gw_server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* --- outbox -> send queues ---------------------------------------------------------------- */

static void queue_free(struct pss *p)
{
    struct qnode *n, *next;

    for (n = p->qhead; n; n = next) {
        next = n->next;
        gw_frame_unref(n->f);
        free(n);
    }
    /* qbytes is left as it is: a freed queue belongs to a connection that is killed or closed,
     * and neither queues again (deliver, ws_writeable). */
    p->qhead = p->qtail = NULL;
}

/* R-LIMIT-2: a client that stops reading is dropped at its cap; nobody else waits for it. */
static void kill_conn(struct gw_server *s, struct pss *p)
{
    wc_info("connection %llu: send queue over %zu bytes, dropped", (unsigned long long)p->conn,
            s->send_cap);
    p->killed = true;
    queue_free(p);
    lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void deliver(void *ctx, const struct gw_outmsg *m)
{
    struct gw_server *s = ctx;
    struct pss *p = s->core ? gw_core_conn_glue(s->core, m->conn) : NULL;
    struct qnode *n;

    if (!p || p->killed || p->closing)
        return;
    if (!m->frame && m->close_code == 0) {
        /* a kick: the core holds a backlog; ws_writeable asks for it when the queue is low */
        lws_callback_on_writable(p->wsi);
        return;
    }
    if (!m->frame) {
        p->closing = true;
        p->close_code = m->close_code;
        lws_callback_on_writable(p->wsi);
        return;
    }
    /* R-LIMIT-5: a frame larger than the cap still goes out to a socket whose queue is empty */
    if (s->send_cap && p->qbytes && p->qbytes + m->frame->len > s->send_cap &&
        !gw_mutant_on(GW_MUT_NO_SEND_CAP)) {
        kill_conn(s, p);
        return;
    }
    n = wc_xmalloc(sizeof(*n));
    n->f = gw_frame_ref(m->frame);
    n->next = NULL;
    if (p->qtail)
        p->qtail->next = n;
    else
        p->qhead = n;
    p->qtail = n;
    p->qbytes += m->frame->len;
    lws_callback_on_writable(p->wsi);
    if (!p->full && p->qbytes >= s->high_water) {
        /* R-LIMIT-2: a queue that stays full without moving belongs to a stalled reader */
        p->full = true;
        lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, s->stall_s);
        gw_core_conn_set_full(s->core, p->conn, true);
    }
}

static void outbox_notify(void *ctx)
{
    struct gw_server *s = ctx;

    if (s->core)
        gw_outbox_drain(gw_core_outbox(s->core), deliver, s);
}

/* --- core deadlines ----------------------------------------------------------------------- */

static void rearm(struct gw_server *s);

static void deadline_fired(lws_sorted_usec_list_t *sul)
{
    struct gw_server *s =
        (struct gw_server *)((char *)sul - offsetof(struct gw_server, deadline_sul));
    if (!s->core)
        return;
    gw_core_tick(s->core, wc_now_ms());
    rearm(s);
}

/* After each burst of core work: commit the store's batch, re-arm the next deadline. */
static void rearm(struct gw_server *s)
{
    int64_t next = s->core ? gw_core_next_deadline(s->core) : -1;
    int64_t delay;

    if (s->core)
        gw_core_flush(s->core);
    if (next < 0) {
        lws_sul_cancel(&s->deadline_sul);
        return;
    }
    delay = next - wc_now_ms();
    if (delay < 0)
        delay = 0;
    lws_sul_schedule(s->ctx, 0, &s->deadline_sul, deadline_fired,
                     (lws_usec_t)delay * LWS_US_PER_MS + 1);
}

static void after_provider_input(void *ctx)
{
    struct gw_server *s = ctx;

    if (s->dispatch)
        gw_dispatch_after_input(s->dispatch);
    outbox_notify(s);
    rearm(s);
}

/* --- auth --------------------------------------------------------------------------------- */

static const char *authenticate(struct gw_server *s, struct lws *wsi, bool upgrade, bool *present)
{
    char q[512];
    char auth[1024];
    const char *qt = lws_get_urlarg_by_name(wsi, "token=", q, (int)sizeof(q));
    int n = lws_hdr_copy(wsi, auth, (int)sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION);

    /* R-AUTH-2: the upgrade takes the token from the header too. */
    if (upgrade && gw_mutant_on(GW_MUT_BEARER_IGNORED))
        n = 0;
    return gw_users_authenticate(s->users, qt, n > 0 ? auth : NULL, present);
}

#define REFUSAL_HEAD                                                                               \
    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n"                              \
    "content-length: %zu\r\nconnection: close\r\n\r\n"
static const char unauthorized_body[] =
    "{\"error\":\"Access denied. No token provided.\",\"code\":\"AUTH_TOKEN_INVALID\"}";
static const char bad_token_body[] =
    "{\"error\":\"Invalid token.\",\"code\":\"AUTH_TOKEN_INVALID\"}";
/* The refusal is constant text: it always fits refuse_upgrade's buffer (20: the longest %zu). */
_Static_assert(sizeof(REFUSAL_HEAD) + 20 + sizeof(unauthorized_body) < 1024 &&
                   sizeof(REFUSAL_HEAD) + 20 + sizeof(bad_token_body) < 1024,
               "the 401 refusal must fit its buffer");

/*
 * R-AUTH-1: refuse the upgrade with a real HTTP 401 (C-LIBRARIES §2.4). The status line is
 * written by hand: lws says HTTP/1.0 at this point, which some clients reject.
 */
static int refuse_upgrade(struct lws *wsi, bool present)
{
    unsigned char buf[LWS_PRE + 1024];
    const char *body = present ? bad_token_body : unauthorized_body;
    int n = snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE, REFUSAL_HEAD "%s", strlen(body),
                     body);

    lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP_HEADERS);
    /* > 0: the response is written; lws ends the transaction, which closes an Upgrade request */
    return 1;
}

/* --- HTTP --------------------------------------------------------------------------------- */

static void http_release(struct pss *p)
{
    free(p->path);
    free(p->limit);
    free(p->offset);
    free(p->since_seq);
    free(p->before_seq);
    free(p->resp);
    if (p->body_init)
        wc_buf_release(&p->body);
    p->path = p->limit = p->offset = p->since_seq = p->before_seq = NULL;
    p->resp = NULL;
    p->body_init = false;
}

static char *urlarg(struct lws *wsi, const char *name)
{
    char buf[64];
    const char *v = lws_get_urlarg_by_name(wsi, name, buf, (int)sizeof(buf));
    return v ? wc_xstrdup(v) : NULL;
}

static int http_respond(struct gw_server *s, struct pss *p)
{
    struct gw_rest_request req = {
        .method = p->method,
        .path = p->path ? p->path : "/",
        .user = p->user,
        .token_present = p->token_present,
        .limit = p->limit,
        .offset = p->offset,
        .body = p->body_init ? p->body.buf : NULL,
        .body_len = p->body_init ? p->body.len : 0,
    };
    unsigned char hdr[LWS_PRE + 2048];
    unsigned char *start = hdr + LWS_PRE, *hp = start, *end = hdr + sizeof(hdr) - 1;
    json_t *body = NULL;
    int status;
    char *text = NULL;
    const char *ctype = "application/json";
    size_t len;

    if (p->bad_length && !p->body_over) {
        body = json_pack("{s:b, s:{s:s, s:s}}", "success", 0, "error", "code", "BAD_REQUEST",
                         "message", "Content-Length is not a decimal byte count.");
        status = 400;
    } else if (p->length_required) {
        body = json_pack("{s:b, s:{s:s, s:s}}", "success", 0, "error", "code", "LENGTH_REQUIRED",
                         "message", "Send the request body with a Content-Length.");
        status = 411;
    } else if (p->body_over) {
        body = json_pack("{s:b, s:{s:s, s:s}}", "success", 0, "error", "code", "PAYLOAD_TOO_LARGE",
                         "message", "The request body is too large.");
        status = 413;
    } else if (s->dispatch && p->answered) {
        return 0; /* BODY_COMPLETION after an empty POST that was answered at once */
    } else if (s->dispatch) {
        struct gw_dispatch_http_req dq = {
            .method = p->method,
            .path = req.path,
            .since_seq = p->since_seq,
            .before_seq = p->before_seq,
            .limit = p->limit,
        };
        status = gw_dispatch_http(s->dispatch, &dq, &ctype, &text);
        p->answered = true;
        rearm(s);
    } else {
        status = gw_rest_handle(s->core, &req, &body);
        rearm(s);
    }
    if (!text) {
        text = wc_json_compact(body);
        json_decref(body);
    }
    len = strlen(text);
    free(p->resp);
    p->resp = wc_xmalloc(LWS_PRE + len + 1);
    memcpy(p->resp + LWS_PRE, text, len);
    p->resp_len = len;
    free(text);
    if (lws_add_http_common_headers(p->wsi, (unsigned int)status, ctype, len, &hp, end) ||
        lws_finalize_write_http_header(p->wsi, start, &hp, end))
        return -1;
    lws_callback_on_writable(p->wsi);
    return 0;
}

static int http_start(struct gw_server *s, struct pss *p, struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes tok;
        const char *method;
    } methods[] = {
        {WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
        {WSI_TOKEN_PUT_URI, "PUT"},       {WSI_TOKEN_PATCH_URI, "PATCH"},
        {WSI_TOKEN_DELETE_URI, "DELETE"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    };
    char path[1024];
    char cl[32];

    http_release(p);
    p->wsi = wsi;
    snprintf(p->method, sizeof(p->method), "GET");
    path[0] = '\0';
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
            snprintf(p->method, sizeof(p->method), "%s", methods[i].method);
            if (lws_hdr_copy(wsi, path, (int)sizeof(path), methods[i].tok) < 0)
                path[0] = '\0';
            break;
        }
    }
    p->path = wc_xstrdup(path);
    p->user = authenticate(s, wsi, false, &p->token_present);
    p->limit = urlarg(wsi, "limit=");
    p->offset = urlarg(wsi, "offset=");
    p->answered = false;
    p->since_seq = urlarg(wsi, "sinceSeq=");
    p->before_seq = urlarg(wsi, "beforeSeq=");
    wc_buf_init(&p->body, HTTP_BODY_MAX);
    p->body_init = true;
    p->body_over = false;
    p->length_required = false;
    p->bad_length = false;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        int n = lws_hdr_copy(wsi, cl, (int)sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH);
        /*
         * RFC 9110 8.6: 1*DIGIT. lws reads the value with atoll, so "-5" or "x" would leave it
         * waiting for a body that never comes: answer 400 at once and close.
         */
        if ((n <= 0 || strspn(cl, "0123456789") != (size_t)n) &&
            !gw_mutant_on(GW_MUT_BAD_LENGTH_WAITS)) {
            p->bad_length = true;
            return http_respond(s, p);
        }
        /* Over the cap: say so now rather than after reading what would be thrown away. */
        if (n > 9 || strtol(cl, NULL, 10) > HTTP_BODY_MAX) {
            p->body_over = p->bad_length = true;
            return http_respond(s, p);
        }
    }
    if (strcmp(p->method, "POST") == 0 || strcmp(p->method, "PUT") == 0 ||
        strcmp(p->method, "PATCH") == 0) {
        int n = lws_hdr_copy(wsi, cl, (int)sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH);
        /* A body is coming: answer at BODY_COMPLETION. */
        if (n > 0 && strspn(cl, "0") != (size_t)n)
            return 0; /* with bad-length-waits, "-5" too */
        /* lws 4.1 does not decode chunked request bodies: ask for a length instead. */
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
            p->length_required = true;
    }
    return http_respond(s, p);
}

static int http_writeable(struct pss *p, struct lws *wsi)
{
    if (!p->resp)
        return 0;
    if (lws_write(wsi, p->resp + LWS_PRE, p->resp_len, LWS_WRITE_HTTP_FINAL) < (int)p->resp_len)
        return -1;
    free(p->resp);
    p->resp = NULL;
    /* After a bad length the next request's first byte is unknown: do not read on. */
    if (p->bad_length || lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

/* --- WebSocket ---------------------------------------------------------------------------- */

static void ws_release(struct pss *p)
{
    queue_free(p);
    if (p->rx_init)
        wc_buf_release(&p->rx);
    p->rx_init = false;
}

/* --dialect dispatch: no auth and any path (R-D-WS-3); the frame cap and the heartbeat as for
 * chatgw (its own mutation scope comes with the Dispatch cases' in make mutate) */
static int ws_established_dispatch(struct gw_server *s, struct pss *p, struct lws *wsi)
{
    wc_buf_init(&p->rx, gw_mutant_on(GW_MUT_NO_FRAME_CAP) ? 0 : s->max_frame);
    p->rx_init = true;
    p->conn = gw_core_conn_open(s->core, "dispatch", p);
    gw_dispatch_conn_open(s->dispatch, p->conn);
    if (s->ping_ms > 0 && !gw_mutant_on(GW_MUT_NO_PING))
        lws_set_timer_usecs(wsi, (lws_usec_t)s->ping_ms * LWS_US_PER_MS);
    return 0;
}

/* One whole inbound message to the dialect's front end. */
static void frame_in(struct gw_server *s, struct pss *p)
{
    if (s->dispatch)
        gw_dispatch_frame(s->dispatch, p->conn, p->rx.buf, p->rx.len);
    else
        gw_protocol_handle(s->core, p->conn, p->rx.buf, p->rx.len);
}

static int ws_established(struct gw_server *s, struct pss *p, struct lws *wsi)
{
    char path[256];
    bool present;
    const char *user;

    http_release(p);
    memset(p, 0, sizeof(*p));
    p->wsi = wsi;
    if (s->dispatch && s->core)
        return ws_established_dispatch(s, p, wsi);
    user = authenticate(s, wsi, true, &present);
    if (!user || !s->core)
        return -1;
    wc_buf_init(&p->rx, gw_mutant_on(GW_MUT_NO_FRAME_CAP) ? 0 : s->max_frame);
    p->rx_init = true;
    p->conn = gw_core_conn_open(s->core, user, p);
    if (lws_hdr_copy(wsi, path, (int)sizeof(path), WSI_TOKEN_GET_URI) < 0 ||
        strcmp(path, WS_PATH) != 0) {
        /* Any other path: accepted, then closed with no status (CloudCLI: 1005). */
        p->closing = true;
        p->close_code = LWS_CLOSE_STATUS_NOSTATUS;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (s->ping_ms > 0 && !gw_mutant_on(GW_MUT_NO_PING))
        lws_set_timer_usecs(wsi, (lws_usec_t)s->ping_ms * LWS_US_PER_MS);
    wc_debug("connection %llu: user '%s'", (unsigned long long)p->conn, user);
    return 0;
}

static int ws_receive(struct gw_server *s, struct pss *p, struct lws *wsi, const void *in,
                      size_t len)
{
    if (p->closing || p->killed || !p->rx_init)
        return 0;
    if (wc_buf_add(&p->rx, in, len)) {
        /* R-LIMIT-1: over the cap: close this connection only, with 1009. */
        static const char reason[] = "message too big";
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)reason,
                         sizeof(reason) - 1);
        return -1;
    }
    /* lws_is_final_fragment is false while the frame still has payload to come */
    if (!lws_is_final_fragment(wsi))
        return 0;
    frame_in(s, p);
    wc_buf_reset(&p->rx);
    rearm(s);
    return 0;
}

static int ws_writeable(struct gw_server *s, struct pss *p, struct lws *wsi)
{
    unsigned char ping[LWS_PRE + 4];
    bool wrote = false;

    if (p->killed)
        return -1;
    if (p->closing) {
        if (p->close_code == LWS_CLOSE_STATUS_NOSTATUS) {
            /* A close frame with no payload (the peer sees 1005); lws would send none. */
            unsigned char frame[LWS_PRE + 2];
            frame[LWS_PRE] = 0x88;
            frame[LWS_PRE + 1] = 0x00;
            lws_write(wsi, frame + LWS_PRE, 2, LWS_WRITE_RAW);
            return -1;
        }
        lws_close_reason(wsi, (enum lws_close_status)p->close_code, NULL, 0);
        return -1;
    }
    if (p->ping_due) {
        p->ping_due = false;
        /* a payload: lws 4.1 does not report an empty pong (LWS_CALLBACK_RECEIVE_PONG) */
        memcpy(ping + LWS_PRE, "gwhb", 4);
        if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 0)
            return -1;
        if (!p->ping_unanswered) {
            p->ping_unanswered = true;
            p->unanswered_since = wc_now_ms();
        }
    }
    while (p->qhead && !lws_send_pipe_choked(wsi)) {
        struct qnode *n = p->qhead;
        if (lws_write(wsi, n->f->data, n->f->len, LWS_WRITE_TEXT) < (int)n->f->len)
            return -1;
        p->qhead = n->next;
        if (!p->qhead)
            p->qtail = NULL;
        p->qbytes -= n->f->len;
        gw_frame_unref(n->f);
        free(n);
        wrote = true;
    }
    if (p->full && wrote && p->qbytes >= s->low_water)
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, s->stall_s); /* it moves: not stalled */
    if (p->qbytes < s->low_water && s->core) {
        if (p->full) {
            p->full = false;
            lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
            gw_core_conn_set_full(s->core, p->conn, false);
        }
        /* R-LIMIT-5: the next part of a replay, as the socket drains (may set p->full again) */
        if (gw_core_conn_has_backlog(s->core, p->conn))
            gw_core_conn_drain(s->core, p->conn, s->high_water - p->qbytes);
    }
    if (p->qhead || (s->core && gw_core_conn_has_backlog(s->core, p->conn)))
        lws_callback_on_writable(wsi);
    return 0;
}

/* R-HB-1/R-HB-2: ping every interval; drop a client silent for two intervals. */
static int ws_timer(struct gw_server *s, struct pss *p, struct lws *wsi)
{
    if (p->ping_unanswered && wc_now_ms() - p->unanswered_since >= s->pong_timeout_ms) {
        wc_info("connection %llu: no pong for %lld ms, dropped", (unsigned long long)p->conn,
                (long long)s->pong_timeout_ms);
        return -1;
    }
    p->ping_due = true;
    lws_callback_on_writable(wsi);
    lws_set_timer_usecs(wsi, (lws_usec_t)s->ping_ms * LWS_US_PER_MS);
    return 0;
}

static int callback_main(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct gw_server *s = server_of(wsi);
    struct pss *p = user;
    bool present;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (!s->core)
            return -1;
        return http_start(s, p, wsi);
    case LWS_CALLBACK_HTTP_BODY:
        if (p->body_init && !p->bad_length && !p->body_over && wc_buf_add(&p->body, in, len))
            p->body_over = true;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (p->bad_length) /* answered in http_start (lws read "x" as 0) */
            return 0;
        return s->core ? http_respond(s, p) : -1;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_writeable(p, wsi);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        /* only in the HTTP role: a chat socket gets CLOSED and WS_SERVER_DROP_PROTOCOL */
        if (p)
            http_release(p);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        /* R-D-WS-3: the Dispatch endpoint has no path or auth check */
        if (!s->dispatch && !authenticate(s, wsi, true, &present))
            return refuse_upgrade(wsi, present);
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return ws_established(s, p, wsi);
    case LWS_CALLBACK_RECEIVE:
        return ws_receive(s, p, wsi, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        if (gw_mutant_on(GW_MUT_PONG_IGNORED))
            return 0;
        p->ping_unanswered = false;
        return 0;
    case LWS_CALLBACK_TIMER:
        /* only ws_established and ws_timer arm the timer: p is a chat socket */
        return ws_timer(s, p, wsi);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(s, p, wsi);
    case LWS_CALLBACK_CLOSED:
        if (p->conn && s->dispatch)
            gw_dispatch_conn_close(s->dispatch, p->conn);
        if (p->conn && s->core)
            gw_core_conn_close(s->core, p->conn);
        ws_release(p);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"chatgw", callback_main, sizeof(struct pss), 16384, 0, NULL, 0},
    {GW_MOCK_CTL_PROTOCOL, gw_mock_ctl_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* --- lifecycle ---------------------------------------------------------------------------- */

static void lws_emit(int level, const char *line)
{
    (void)level;
    fprintf(stderr, "gwspec-gateway: lws: %s", line);
}

struct gw_server *gw_server_new(const struct gw_server_opts *o, char **err)
{
    struct gw_server *s = wc_xcalloc(1, sizeof(*s));
    struct lws_context_creation_info info;
    struct gw_core_opts co;

    s->users = o->users;
    s->host = wc_xstrdup(o->host ? o->host : "127.0.0.1");
    s->max_frame = o->max_frame ? o->max_frame : 1024 * 1024;
    s->send_cap = o->send_cap ? o->send_cap : 8 * 1024 * 1024;
    /* R-LIMIT-5: a quarter of the cap, so a burst that overshoots by a few events stays far from
     * it; the replay is pulled again below an eighth */
    s->high_water = s->send_cap / 4;
    s->low_water = s->send_cap / 8;
    s->stall_s = o->stall_s > 0 ? o->stall_s : 30;
    s->ping_ms = o->ping_interval_ms;
    /* R-HB-2 allows a drop after two intervals without a pong; a longer deadline keeps a client
     * that answers late (a busy or starved process reading a long burst first) */
    s->pong_timeout_ms = o->pong_timeout_ms > 0 ? o->pong_timeout_ms : 2 * o->ping_interval_ms;
    lws_set_log_level(o->lws_log_mask, lws_emit);
    memset(&info, 0, sizeof(info));
    info.port = o->port;
    info.iface = s->host;
    info.protocols = protocols;
    info.user = s;
    info.options = strchr(s->host, ':') ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6;
    /* R-IN-6: lws fails a text message that is not UTF-8 with 1007 only when asked to
     * (C-LIBRARIES §2.7); binary messages are not checked (R-IN-5) */
    if (!gw_mutant_on(GW_MUT_UTF8_UNCHECKED))
        info.options |= LWS_SERVER_OPTION_VALIDATE_UTF8;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        *err = wc_xasprintf("cannot listen on %s:%d", s->host, o->port);
        goto out_free;
    }
    s->vh = lws_get_vhost_by_name(s->ctx, "default");
    s->port = s->vh ? lws_get_vhost_listen_port(s->vh) : -1;
    s->mock = gw_mock_new(s->ctx, o->fixtures_dir, o->allow_ctl, after_provider_input, s);
    gw_mock_set_vhost(s->mock, s->vh);
    memset(&co, 0, sizeof(co));
    co.db_path = o->db_path;
    co.replay_cap = o->replay_cap;
    co.memory = o->memory;
    co.permission_timeout_ms = o->permission_timeout_ms;
    co.disabled_providers = o->disabled_providers;
    co.seed = o->seed;
    co.flow_high = s->high_water;
    co.hold_cap = s->send_cap;
    co.provider = &gw_mock_ops;
    co.provider_self = s->mock;
    s->core = gw_core_new(&co, err);
    if (!s->core)
        goto out_destroy;
    gw_core_outbox(s->core)->notify = outbox_notify;
    gw_core_outbox(s->core)->notify_ctx = s;
    if (o->dialect == GW_DIALECT_DISPATCH) {
        struct gw_dispatch_opts dopt = {
            .core = s->core,
            .provider = &gw_mock_ops,
            .provider_self = s->mock,
            .models = o->models,
        };
        s->dispatch = gw_dispatch_new(&dopt);
    }
    return s;

out_destroy:
    lws_context_destroy(s->ctx);
    gw_mock_free(s->mock);
out_free:
    free(s->host);
    free(s);
    return NULL;
}

int gw_server_port(const struct gw_server *s)
{
    return s->port;
}

int gw_server_run(struct gw_server *s)
{
    while (!s->stop) {
        if (lws_service(s->ctx, 0) < 0)
            return WC_ERR_IO;
    }
    return WC_OK;
}

void gw_server_stop(struct gw_server *s)
{
    s->stop = 1;
    lws_cancel_service(s->ctx);
}

void gw_server_free(struct gw_server *s)
{
    struct gw_core *core;

    if (!s)
        return;
    lws_sul_cancel(&s->deadline_sul);
    /* Providers first (their control sockets close with the context), then the sockets. */
    gw_dispatch_free(s->dispatch); /* its provider runs first, on the live core */
    s->dispatch = NULL;
    core = s->core;
    s->core = NULL;
    gw_outbox_clear(gw_core_outbox(core));
    gw_core_outbox(core)->notify = NULL;
    gw_core_free(core);
    lws_context_destroy(s->ctx);
    gw_mock_free(s->mock);
    free(s->host);
    free(s);
}
