/*
 * tests/badgw.c: a deliberately broken gateway, for the harness's own robustness tests.
 *
 * It answers REST session creation like a gateway, accepts WebSocket upgrades on /ws, and then
 * misbehaves in one way chosen by --mode:
 *   silent   never sends a frame
 *   garbage  answers every frame with text that is not JSON
 *   huge     answers the first frame with one 20 MiB text frame
 *   big-json answers the first frame with one 15 MiB text frame that is valid JSON (under the
 *            harness's 16 MiB frame cap: what --max-case-bytes must cut before parsing it)
 *   close    closes the connection with 1011 on the first frame
 *   ping-flood   from the upgrade on, pings (4-byte payload) as fast as the socket drains
 *   frame-flood  from the upgrade on, small valid JSON text frames as fast as it drains
 * The harness must turn each into ERROR or FAILED within its safety timeout, never a hang, and
 * the floods must not grow its memory without bound (issue 18: --max-case-bytes, ping counts).
 * Prints "listening on 127.0.0.1:PORT" like gwspec-gateway. Not part of the product.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "wc_mem.h"
#include "wc_banned.h"

enum mode {
    MODE_SILENT,
    MODE_GARBAGE,
    MODE_HUGE,
    MODE_CLOSE,
    MODE_PING_FLOOD,
    MODE_FRAME_FLOOD,
    MODE_BIG_JSON
};

static enum mode mode;
static volatile sig_atomic_t stopping;

struct pss {
    int pending;         /* frames owed to this client */
    int closing;         /* close requested */
    unsigned long sent;  /* flood frames sent */
    unsigned char *body; /* HTTP response */
    size_t body_len;
};

static const char created[] =
    "{\"success\":true,\"data\":{\"sessionId\":\"11111111-2222-4333-8444-555555555555\","
    "\"provider\":\"claude\",\"projectPath\":\"/tmp/x\",\"sessionName\":\"Untitled Session\"}}";

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    struct pss *p = user;
    unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *pos = start,
                                      *end = hdr + sizeof(hdr);

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
            return 0; /* wait for the body */
        /* FALLTHROUGH */
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        p->body_len = sizeof(created) - 1;
        p->body = wc_xmalloc(LWS_PRE + p->body_len);
        memcpy(p->body + LWS_PRE, created, p->body_len);
        if (lws_add_http_common_headers(wsi, 201, "application/json", p->body_len, &pos, end) ||
            lws_finalize_write_http_header(wsi, start, &pos, end))
            return 1;
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_HTTP_BODY:
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!p->body)
            return 0;
        lws_write(wsi, p->body + LWS_PRE, p->body_len, LWS_WRITE_HTTP_FINAL);
        free(p->body);
        p->body = NULL;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        free(p->body);
        p->body = NULL;
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* Write flood frames until the socket would block, then ask to be called again. */
static void flood(struct lws *wsi, struct pss *p)
{
    unsigned char buf[LWS_PRE + 128];

    for (int i = 0; i < 256 && !lws_send_pipe_choked(wsi); i++) {
        int n;
        if (mode == MODE_PING_FLOOD) {
            n = snprintf((char *)buf + LWS_PRE, 5, "%04lu", p->sent % 10000);
            if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_PING) < 0)
                return;
        } else {
            n = snprintf((char *)buf + LWS_PRE, 100, "{\"kind\":\"noise\",\"n\":%lu}", p->sent);
            if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < 0)
                return;
        }
        p->sent++;
    }
    lws_callback_on_writable(wsi);
}

static int ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    struct pss *p = user;
    static const char junk[] = "this is not json \x01\x02";

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        if (mode == MODE_PING_FLOOD || mode == MODE_FRAME_FLOOD)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (mode == MODE_SILENT || mode == MODE_PING_FLOOD || mode == MODE_FRAME_FLOOD)
            return 0;
        if (mode == MODE_CLOSE)
            p->closing = 1;
        p->pending++;
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (p->closing) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, (unsigned char *)"bad", 3);
            return -1;
        }
        if (mode == MODE_PING_FLOOD || mode == MODE_FRAME_FLOOD) {
            flood(wsi, p);
            return 0;
        }
        if (!p->pending)
            return 0;
        p->pending--;
        if (mode == MODE_HUGE || mode == MODE_BIG_JSON) {
            size_t n = mode == MODE_HUGE ? 20u << 20 : 15u << 20;
            unsigned char *buf = wc_xmalloc(LWS_PRE + n);
            memset(buf + LWS_PRE, 'x', n);
            if (mode == MODE_BIG_JSON) { /* {"kind":"noise","pad":"xxx...x"} */
                static const char head[] = "{\"kind\":\"noise\",\"pad\":\"";
                memcpy(buf + LWS_PRE, head, sizeof(head) - 1);
                memcpy(buf + LWS_PRE + n - 2, "\"}", 2);
            }
            lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
            free(buf);
            mode = MODE_SILENT;
        } else {
            unsigned char buf[LWS_PRE + sizeof(junk)];
            memcpy(buf + LWS_PRE, junk, sizeof(junk) - 1);
            lws_write(wsi, buf + LWS_PRE, sizeof(junk) - 1, LWS_WRITE_TEXT);
        }
        if (p->pending)
            lws_callback_on_writable(wsi);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"http", http_cb, sizeof(struct pss), 0, 0, NULL, 0},
    {"chat", ws_cb, sizeof(struct pss), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const struct lws_protocol_vhost_options pvo_default = {NULL, NULL, "default", ""};
static const struct lws_protocol_vhost_options pvo = {NULL, &pvo_default, "chat", ""};

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

int main(int argc, char **argv)
{
    struct lws_context_creation_info info;
    struct lws_context *ctx;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
            const char *m = argv[++i];
            mode = !strcmp(m, "garbage")       ? MODE_GARBAGE
                   : !strcmp(m, "huge")        ? MODE_HUGE
                   : !strcmp(m, "close")       ? MODE_CLOSE
                   : !strcmp(m, "ping-flood")  ? MODE_PING_FLOOD
                   : !strcmp(m, "frame-flood") ? MODE_FRAME_FLOOD
                   : !strcmp(m, "big-json")    ? MODE_BIG_JSON
                                               : MODE_SILENT;
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    lws_set_log_level(LLL_ERR, NULL);
    memset(&info, 0, sizeof(info));
    info.port = 0;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.pvo = &pvo;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    ctx = lws_create_context(&info);
    if (!ctx)
        return 1;
    printf("listening on 127.0.0.1:%d\n",
           lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default")));
    fflush(stdout);
    while (!stopping && lws_service(ctx, 0) >= 0)
        ;
    lws_context_destroy(ctx);
    return 0;
}
