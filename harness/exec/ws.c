/*
 * ws.c: the harness's own WebSocket client framing and handshake (see ws.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "exec/ws.h"
#include "wc_err.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"
#include "wc_banned.h"

#define HANDSHAKE_MAX 16384

void hn_ws_init(struct hn_ws *ws, int fd, struct wc_rand *rng)
{
    memset(ws, 0, sizeof(*ws));
    ws->fd = fd;
    ws->rng = rng;
    ws->empty_ms = ws->rx_lo_ms = wc_now_ms(); /* nothing can arrive before the socket exists */
    ws->rx_last_ms = -1;
    if (fd >= 0) {
        int on = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)); /* hn_ws_arrival */
    }
    wc_buf_init(&ws->rx, 0);
    wc_buf_init(&ws->msg, HN_WS_MAX_MESSAGE);
    wc_buf_init(&ws->tx, 0);
}

void hn_ws_release(struct hn_ws *ws)
{
    if (ws->fd >= 0)
        close(ws->fd);
    ws->fd = -1;
    wc_buf_release(&ws->rx);
    wc_buf_release(&ws->msg);
    wc_buf_release(&ws->tx);
    free(ws->late);
    ws->late = NULL;
    ws->nlate = 0;
}

void hn_ws_event_release(struct hn_ws_event *ev)
{
    free(ev->data);
    memset(ev, 0, sizeof(*ev));
}

size_t hn_ws_pending(const struct hn_ws *ws)
{
    return ws->msg.len + (ws->rx.len - ws->rx_off);
}

void hn_ws_feed(struct hn_ws *ws, const void *data, size_t len)
{
    wc_buf_add(&ws->rx, data, len);
}

void hn_ws_frame(struct hn_ws *ws, int opcode, bool fin, const void *data, size_t len)
{
    unsigned char hdr[14];
    size_t h = 0;
    uint32_t key = ws->rng ? (uint32_t)wc_rand_next(ws->rng) : 0x37fa213dU;
    unsigned char mask[4] = {(unsigned char)(key >> 24), (unsigned char)(key >> 16),
                             (unsigned char)(key >> 8), (unsigned char)key};
    const unsigned char *p = data;

    hdr[h++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (ws->server) { /* a server's frames are not masked (RFC 6455 5.1) */
        if (len < 126) {
            hdr[h++] = (unsigned char)len;
        } else if (len <= 0xffff) {
            hdr[h++] = 126;
            hdr[h++] = (unsigned char)(len >> 8);
            hdr[h++] = (unsigned char)len;
        } else {
            hdr[h++] = 127;
            for (int i = 7; i >= 0; i--)
                hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
        }
        wc_buf_add(&ws->tx, hdr, h);
        wc_buf_add(&ws->tx, data, len);
        return;
    }
    if (len < 126) {
        hdr[h++] = (unsigned char)(0x80 | len);
    } else if (len <= 0xffff) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    memcpy(hdr + h, mask, 4);
    h += 4;
    wc_buf_add(&ws->tx, hdr, h);
    /* mask in chunks straight into the buffer */
    unsigned char chunk[4096];
    size_t off = 0;
    while (off < len) {
        size_t n = len - off < sizeof(chunk) ? len - off : sizeof(chunk);
        for (size_t i = 0; i < n; i++)
            chunk[i] = p[off + i] ^ mask[(off + i) & 3];
        wc_buf_add(&ws->tx, chunk, n);
        off += n;
    }
}

void hn_ws_close(struct hn_ws *ws, int code, const char *reason)
{
    unsigned char payload[125];
    size_t n = 0;

    if (code > 0) {
        payload[n++] = (unsigned char)(code >> 8);
        payload[n++] = (unsigned char)code;
        if (reason) {
            size_t r = strlen(reason);
            if (r > 123)
                r = 123;
            memcpy(payload + n, reason, r);
            n += r;
        }
    }
    hn_ws_frame(ws, HN_WS_CLOSE, true, payload, n);
    ws->close_sent = true;
}

static void hold_pong(struct hn_ws *ws, const unsigned char *payload, size_t len)
{
    struct hn_ws_late *l;

    ws->late = wc_xrealloc(ws->late, (ws->nlate + 1) * sizeof(*ws->late));
    l = &ws->late[ws->nlate++];
    l->due_ms = wc_now_ms() + ws->pong_delay_ms;
    l->len = len;
    memcpy(l->payload, payload, len);
}

int64_t hn_ws_late_pongs(struct hn_ws *ws, int64_t now)
{
    size_t i = 0;

    if (ws->close_sent)
        ws->nlate = 0;
    while (i < ws->nlate && ws->late[i].due_ms <= now) {
        hn_ws_frame(ws, HN_WS_PONG, true, ws->late[i].payload, ws->late[i].len);
        i++;
    }
    if (i) {
        memmove(ws->late, ws->late + i, (ws->nlate - i) * sizeof(*ws->late));
        ws->nlate -= i;
    }
    return ws->nlate ? ws->late[0].due_ms : -1;
}

/* A whole control frame (op >= 8; payload taken): the event, a pong answered. Returns 1, or
 * WC_ERR_PROTOCOL with *why. */
static int control_frame(struct hn_ws *ws, int op, bool fin, unsigned char *payload, uint64_t plen,
                         struct hn_ws_event *ev, char **why)
{
    if (!fin || plen > 125) {
        free(payload);
        *why = wc_xasprintf("control frame (opcode %d) %s", op,
                            !fin ? "fragmented" : "longer than 125 bytes");
        return WC_ERR_PROTOCOL;
    }
    if (op == HN_WS_CLOSE) {
        ev->type = HN_WS_EV_CLOSE;
        if (plen == 1) {
            free(payload);
            *why = wc_xstrdup("close frame with a 1-byte payload");
            return WC_ERR_PROTOCOL;
        }
        ev->code = plen >= 2 ? (payload[0] << 8 | payload[1]) : 1005;
        /* the reason as bytes: strndup would stop at a NUL inside it and leave len past the
         * copy (fuzz/corpus/wire/close-reason-with-nul) */
        ev->len = plen >= 2 ? (size_t)plen - 2 : 0;
        ev->data = wc_xmalloc(ev->len + 1);
        memcpy(ev->data, plen >= 2 ? (char *)payload + 2 : "", ev->len);
        ev->data[ev->len] = '\0';
        free(payload);
        return 1;
    }
    if (op == HN_WS_PING || op == HN_WS_PONG) {
        if (op == HN_WS_PING && !ws->close_sent && !ws->no_pong) {
            if (ws->pong_delay_ms > 0)
                hold_pong(ws, payload, (size_t)plen);
            else
                hn_ws_frame(ws, HN_WS_PONG, true, payload, (size_t)plen);
        }
        ev->type = op == HN_WS_PING ? HN_WS_EV_PING : HN_WS_EV_PONG;
        ev->data = (char *)payload;
        ev->len = (size_t)plen;
        return 1;
    }
    free(payload);
    *why = wc_xasprintf("reserved control opcode %d", op);
    return WC_ERR_PROTOCOL;
}

/* hn_ws_next without the compaction of rx: frames are taken by moving rx_off. */
static int next_frame(struct hn_ws *ws, struct hn_ws_event *ev, char **why)
{
    memset(ev, 0, sizeof(*ev));
    for (;;) {
        size_t avail = ws->rx.len - ws->rx_off, h = 2;
        uint64_t plen;
        bool fin, masked;
        int op;

        if (avail < 2)
            return 0;
        const unsigned char *b = (const unsigned char *)ws->rx.buf + ws->rx_off;
        fin = b[0] & 0x80;
        op = b[0] & 0x0f;
        masked = b[1] & 0x80;
        plen = b[1] & 0x7f;
        if (b[0] & 0x70) {
            *why = wc_xasprintf("frame with reserved bits set (0x%02x) and no extension", b[0]);
            return WC_ERR_PROTOCOL;
        }
        if (plen == 126) {
            if (avail < 4)
                return 0;
            plen = ((uint64_t)b[2] << 8) | b[3];
            h = 4;
        } else if (plen == 127) {
            if (avail < 10)
                return 0;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = (plen << 8) | b[2 + i];
            h = 10;
        }
        if (plen > HN_WS_MAX_MESSAGE) {
            *why = wc_xasprintf("frame of %llu bytes is over the harness cap of %u",
                                (unsigned long long)plen, HN_WS_MAX_MESSAGE);
            return WC_ERR_TOO_BIG;
        }
        if (masked)
            h += 4;
        if (avail < h + plen)
            return 0;
        /* a whole frame is here */
        unsigned char *payload = wc_xmalloc((size_t)plen + 1);
        memcpy(payload, b + h, (size_t)plen);
        payload[plen] = '\0';
        if (masked) {
            const unsigned char *mk = b + h - 4;
            for (uint64_t i = 0; i < plen; i++)
                payload[i] ^= mk[i & 3];
            ws->masked_seen = true;
        }
        ws->rx_off += h + (size_t)plen;

        if (op >= 8)
            return control_frame(ws, op, fin, payload, plen, ev, why);
        if (op == HN_WS_TEXT || op == HN_WS_BINARY) {
            if (ws->msg_op) {
                free(payload);
                *why = wc_xstrdup("a new data frame while a fragmented message is open");
                return WC_ERR_PROTOCOL;
            }
            ws->msg_op = op;
            wc_buf_reset(&ws->msg);
        } else if (op == HN_WS_CONT) {
            if (!ws->msg_op) {
                free(payload);
                *why = wc_xstrdup("a continuation frame with no message to continue");
                return WC_ERR_PROTOCOL;
            }
        } else {
            free(payload);
            *why = wc_xasprintf("reserved data opcode %d", op);
            return WC_ERR_PROTOCOL;
        }
        if (wc_buf_add(&ws->msg, payload, (size_t)plen) != 0) {
            free(payload);
            *why = wc_xasprintf("message over the harness cap of %u bytes", HN_WS_MAX_MESSAGE);
            return WC_ERR_TOO_BIG;
        }
        free(payload);
        if (fin) {
            ev->type = HN_WS_EV_MESSAGE;
            ev->binary = ws->msg_op == HN_WS_BINARY;
            ev->data = wc_buf_detach(&ws->msg, &ev->len);
            wc_buf_init(&ws->msg, HN_WS_MAX_MESSAGE);
            ws->msg_op = 0;
            return 1;
        }
    }
}

/*
 * Taking each frame off the front of rx would move what follows it every time: a read of many
 * small frames (a flood of pings: 43,000 in 256 KiB) would cost the square of its size. rx is
 * compacted once, when the frames in it stop (more bytes needed, or an error), or emptied when
 * the last one is taken.
 */
int hn_ws_next(struct hn_ws *ws, struct hn_ws_event *ev, char **why)
{
    int r = next_frame(ws, ev, why);

    if (ws->rx_off == ws->rx.len) {
        wc_buf_reset(&ws->rx);
        ws->rx_off = 0;
    } else if (r != 1 && ws->rx_off > 0) {
        wc_buf_consume(&ws->rx, ws->rx_off);
        ws->rx_off = 0;
    }
    return r;
}

/* A CLOCK_REALTIME kernel timestamp on the wc_now_ms clock, rounded down, less 1 ms for the
 * two clocks not being read at the same instant. */
static int64_t realtime_to_now_ms(const struct timespec *k)
{
    struct timespec rt;
    int64_t mono_us = wc_now_us();

    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t age_us = ((int64_t)rt.tv_sec - k->tv_sec) * 1000000 + (rt.tv_nsec - k->tv_nsec) / 1000;
    if (age_us < 0)
        age_us = 0;
    return (mono_us - age_us) / 1000 - 1;
}

/* recv() that also returns the kernel's receive timestamp of the last byte read (-1: none). */
static ssize_t recv_stamped(int fd, char *buf, size_t len, int64_t *stamp_ms)
{
    union {
        char b[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } cb;
    struct iovec io = {.iov_base = buf, .iov_len = len};
    struct msghdr m = {
        .msg_iov = &io, .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof(cb.b)};
    ssize_t n = recvmsg(fd, &m, 0);

    *stamp_ms = -1;
    if (n <= 0)
        return n;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec k;
            memcpy(&k, CMSG_DATA(h), sizeof(k));
            *stamp_ms = realtime_to_now_ms(&k);
        }
    }
    return n;
}

void hn_ws_arrival(const struct hn_ws *ws, int64_t *lo, int64_t *hi)
{
    if (ws->rx.len == ws->rx_off && ws->rx_last_ms >= 0 && ws->rx_last_ms >= ws->rx_lo_ms) {
        *lo = *hi = ws->rx_last_ms;
        return;
    }
    *lo = ws->rx_lo_ms;
    *hi = wc_now_ms();
}

int hn_ws_read(struct hn_ws *ws)
{
    return hn_ws_read_max(ws, 0);
}

int hn_ws_read_max(struct hn_ws *ws, size_t max)
{
    char buf[65536];
    size_t room = max ? max : SIZE_MAX;

    if (ws->fd < 0)
        return WC_ERR_IO;
    /* Whatever this call reads was not in the queue when it was last seen empty: a lower bound
     * on its arrival that no delay of ours can push later (within_ms's lower limit needs it). */
    ws->rx_lo_ms = ws->empty_ms;
    /* at most 256 KiB per call, so the caller re-checks its conditions while a peer floods */
    for (int rounds = 0; rounds < 4 && room > 0; rounds++) {
        int64_t before = wc_now_ms(), stamp;
        ssize_t n = recv_stamped(ws->fd, buf, room < sizeof(buf) ? room : sizeof(buf), &stamp);
        if (n > 0) {
            wc_buf_add(&ws->rx, buf, (size_t)n);
            room -= (size_t)n;
            ws->rx_last_ms = stamp;
            if (ws->rx.len > 2 * (size_t)HN_WS_MAX_MESSAGE + 65536)
                return 0; /* let the parser reject it */
            continue;
        }
        if (n == 0) {
            ws->eof = true;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            ws->empty_ms = before;
            return 0;
        }
        ws->eof = true;
        return WC_ERR_IO;
    }
    return 0;
}

int hn_ws_flush(struct hn_ws *ws)
{
    while (ws->tx.len > 0) {
        ssize_t n = send(ws->fd, ws->tx.buf, ws->tx.len, MSG_NOSIGNAL);
        if (n > 0) {
            wc_buf_consume(&ws->tx, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return WC_ERR_IO;
    }
    return 0;
}

/* Value of header `name` in the header block (NUL-terminated copy in out), or false. */
static bool header_value(const char *hdrs, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = strstr(hdrs, "\r\n");

    while (p && p[2]) {
        p += 2;
        if (!strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1, *e = strstr(v, "\r\n");
            while (*v == ' ' || *v == '\t')
                v++;
            size_t n = e ? (size_t)(e - v) : strlen(v);
            while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = strstr(p, "\r\n");
    }
    return false;
}

int hn_ws_handshake(struct hn_ws *ws, const char *host, int port, const char *path,
                    const char *extra_headers, int64_t deadline_ms, int *status, char **err)
{
    unsigned char nonce[16];
    char key[32], accept_want[40], accept_got[128];
    unsigned char sha[20];
    char *req;
    char *end;

    for (int i = 0; i < 16; i++)
        nonce[i] = (unsigned char)(ws->rng ? wc_rand_next(ws->rng) : (uint64_t)i * 7u);
    lws_b64_encode_string((const char *)nonce, 16, key, sizeof(key));
    req = wc_xasprintf("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 13\r\n%s\r\n",
                       path, host, port, key, extra_headers ? extra_headers : "");
    {
        /* bytes queued before the handshake (connect's `early`: a client that does not wait
         * for the 101) go right behind the request, in the same write */
        size_t n = 0;
        char *queued = wc_buf_detach(&ws->tx, &n);
        wc_buf_add(&ws->tx, req, strlen(req));
        if (n)
            wc_buf_add(&ws->tx, queued, n);
        free(queued);
    }
    free(req);

    for (;;) {
        struct pollfd p = {.fd = ws->fd, .events = POLLIN | (ws->tx.len ? POLLOUT : 0)};
        int64_t left = deadline_ms - wc_now_ms();
        if (hn_ws_flush(ws) != 0) {
            *err = wc_xasprintf("upgrade request: write failed: %s", strerror(errno));
            return WC_ERR_IO;
        }
        end = ws->rx.len ? strstr(ws->rx.buf, "\r\n\r\n") : NULL;
        if (end)
            break;
        if (ws->eof) {
            *err = ws->rx.len
                       ? wc_xasprintf("the server closed the connection mid-response")
                       : wc_xasprintf("the server closed the connection without an HTTP response");
            return WC_ERR_PROTOCOL;
        }
        if (ws->rx.len > HANDSHAKE_MAX) {
            *err = wc_xstrdup("upgrade response headers are over 16 KiB");
            return WC_ERR_PROTOCOL;
        }
        if (left <= 0) {
            *err = wc_xstrdup("no upgrade response before the timeout");
            return WC_ERR_TIMEOUT;
        }
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno != EINTR) {
            *err = wc_xasprintf("poll: %s", strerror(errno));
            return WC_ERR_IO;
        }
        if (r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
            hn_ws_read(ws);
    }
    size_t hlen = (size_t)(end - ws->rx.buf) + 4;
    char *hdrs = wc_xstrndup(ws->rx.buf, hlen);
    int code = 0;
    if (sscanf(hdrs, "HTTP/1.%*1[01] %3d", &code) != 1 || code < 100 || code > 599) {
        char *line = wc_xstrndup(hdrs, strcspn(hdrs, "\r\n"));
        *err = wc_xasprintf("bad upgrade status line \"%.80s\"", line);
        free(line);
        free(hdrs);
        return WC_ERR_PROTOCOL;
    }
    *status = code;
    if (code == 101) {
        char *cat = wc_xasprintf("%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
        lws_SHA1((const unsigned char *)cat, strlen(cat), sha);
        free(cat);
        lws_b64_encode_string((const char *)sha, 20, accept_want, sizeof(accept_want));
        if (!header_value(hdrs, "Sec-WebSocket-Accept", accept_got, sizeof(accept_got)) ||
            strcmp(accept_got, accept_want)) {
            *err = wc_xasprintf("101 with a wrong or missing Sec-WebSocket-Accept");
            free(hdrs);
            return WC_ERR_PROTOCOL;
        }
        wc_buf_consume(&ws->rx, hlen);
    }
    free(hdrs);
    return 0;
}

size_t hn_ws_refusal_trailer(struct hn_ws *ws, int64_t deadline_ms, char **extra)
{
    const char *end = ws->rx.len ? strstr(ws->rx.buf, "\r\n\r\n") : NULL;
    char cl[32];
    size_t total, more;

    *extra = NULL;
    if (!end)
        return 0;
    total = (size_t)(end - ws->rx.buf) + 4;
    {
        char *hdrs = wc_xstrndup(ws->rx.buf, total);
        if (header_value(hdrs, "Content-Length", cl, sizeof(cl)))
            total += (size_t)strtoull(cl, NULL, 10);
        free(hdrs);
    }
    /* the end of the connection, or a byte past the response, whichever comes first */
    while (!ws->eof && ws->rx.len <= total) {
        struct pollfd p = {.fd = ws->fd, .events = POLLIN};
        int64_t left = deadline_ms - wc_now_ms();
        if (left <= 0)
            break;
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0 && hn_ws_read(ws) != 0)
            break;
    }
    if (ws->rx.len <= total)
        return 0;
    more = ws->rx.len - total;
    *extra = wc_xstrndup(ws->rx.buf + total, more < 80 ? more : 80);
    for (char *q = *extra; *q; q++) {
        if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
            *q = '.';
    }
    return more;
}
