/*
 * relay.c: gwspec-cli-relay, the Claude Code CLI as the claude-control/1 dialect's harness sees
 * it (spec/claude-control-1). A client under test (the Claude Agent SDK, or gwspec-client
 * --dialect claude-control) spawns a CLI executable and talks stream-json over its stdin and
 * stdout; pointed at this program instead, it talks to the harness, which plays the CLI on a
 * WebSocket:
 *
 *   GWSPEC_CLI_URL=ws://127.0.0.1:PORT/PATH gwspec-cli-relay [the SDK's own flags ...]
 *
 * - connects to $GWSPEC_CLI_URL (the SDK chooses the argv, so the URL travels in the
 *   environment) and sends its own argv (argv[1..], a JSON array) in the upgrade header
 *   X-Gwspec-Argv, so a case can check the flags it was spawned with;
 * - every line read on stdin (without its newline) becomes one text frame; every text frame
 *   received becomes one line on stdout. Lines and messages up to 16 MiB;
 * - stdin EOF: close 1000, wait for the harness's close, exit 0; the harness closing: exit 0 on
 *   1000, 1 otherwise; the connection ending without a close frame, a line too long, a connect
 *   or handshake failure: exit 1 with a message on stderr;
 * - `-v` or `--version` alone: prints "$GWSPEC_CLI_VERSION (gwspec-cli-relay)" (default 2.1.0)
 *   and exits 0 without connecting (an SDK's version check is not a session).
 *
 * A minimal blocking RFC 6455 client (masked frames out, fragments reassembled, pings answered);
 * no TLS (the harness listens on loopback). Depends on lib/ and jansson only.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "wc_buf.h"
#include "wc_io.h"
#include "wc_mem.h"
#include "wc_banned.h"

#define RELAY_LINE_MAX   (16u * 1024 * 1024)
#define RELAY_CLOSE_WAIT 5000 /* ms to wait for the harness's close after ours */

static int die(const char *what, const char *detail)
{
    fprintf(stderr, "gwspec-cli-relay: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

static void rand_bytes(unsigned char *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = getrandom(p + off, n - off, 0);
        if (r > 0)
            off += (size_t)r;
        else if (errno != EINTR)
            break;
    }
    for (; off < n; off++) /* no entropy at all: a key only has to be unpredictable to proxies */
        p[off] = (unsigned char)(rand() & 0xff);
}

static void b64(const unsigned char *in, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = t[(v >> 18) & 63];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
}

/* argv[1..] as a compact JSON array; a byte string that is not UTF-8 keeps its ASCII bytes. */
static char *argv_json(int argc, char **argv)
{
    json_t *a = json_array();
    for (int i = 1; i < argc; i++) {
        json_t *s = json_string(argv[i]);
        if (!s) {
            char *c = wc_xstrdup(argv[i]);
            for (char *p = c; *p; p++)
                if ((unsigned char)*p >= 0x80)
                    *p = '?';
            s = json_string(c);
            free(c);
        }
        json_array_append_new(a, s);
    }
    char *out = json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(a);
    return out;
}

/* ws://HOST[:PORT][/PATH] -> a connected socket; -1 with a message. */
static int connect_url(const char *url, char *host, size_t hostlen, const char **path)
{
    const char *p, *slash, *colon;
    char port[8] = "80";

    if (strncmp(url, "ws://", 5)) {
        die("GWSPEC_CLI_URL must be ws://HOST[:PORT]/PATH, not", url);
        return -1;
    }
    p = url + 5;
    slash = strchr(p, '/');
    *path = slash ? slash : "/";
    size_t hl = slash ? (size_t)(slash - p) : strlen(p);
    if (hl == 0 || hl >= hostlen) {
        die("GWSPEC_CLI_URL has no host", url);
        return -1;
    }
    memcpy(host, p, hl);
    host[hl] = '\0';
    colon = strrchr(host, ':');
    if (colon && !strchr(colon, ']')) {
        snprintf(port, sizeof(port), "%s", colon + 1);
        host[colon - host] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        die("cannot resolve the host of GWSPEC_CLI_URL", gai_strerror(rc));
        return -1;
    }
    int fd = -1, saved = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        saved = errno;
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        die("cannot connect to GWSPEC_CLI_URL", strerror(saved));
    if (colon) /* the Host header keeps the port */
        snprintf(host + strlen(host), hostlen - strlen(host), ":%s", port);
    return fd;
}

/* The upgrade: request, then the response's headers (a 101, or exit 1). Bytes read past the
 * response are frames; they stay in *rx. */
static int handshake(int fd, const char *host, const char *path, const char *argv_hdr,
                     struct wc_buf *rx)
{
    unsigned char nonce[16];
    char key[32], buf[4096];

    rand_bytes(nonce, sizeof(nonce));
    b64(nonce, sizeof(nonce), key);
    char *req = wc_xasprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                             "Sec-WebSocket-Version: 13\r\nX-Gwspec-Argv: %s\r\n\r\n",
                             path, host, key, argv_hdr);
    int wrc = wc_write_all(fd, req, strlen(req));
    free(req);
    if (wrc != 0)
        return die("cannot send the upgrade request", strerror(errno));
    for (;;) {
        char *end = rx->len ? memmem(rx->buf, rx->len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t hl = (size_t)(end - rx->buf) + 4;
            if (rx->len < 12 || strncmp(rx->buf, "HTTP/1.1 101", 12)) {
                char *nl = memchr(rx->buf, '\r', rx->len);
                *(nl ? nl : end) = '\0';
                return die("the upgrade was refused", rx->buf);
            }
            memmove(rx->buf, rx->buf + hl, rx->len - hl);
            rx->len -= hl;
            return 0;
        }
        if (rx->len > 65536)
            return die("the upgrade response has no end of headers", NULL);
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return die("the connection ended during the upgrade", r < 0 ? strerror(errno) : NULL);
        wc_buf_add(rx, buf, (size_t)r);
    }
}

static int send_frame(int fd, int opcode, const void *p, size_t n)
{
    unsigned char hdr[14], mask[4];
    size_t h = 0;

    hdr[h++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        hdr[h++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(n >> 8);
        hdr[h++] = (unsigned char)n;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    rand_bytes(mask, 4);
    memcpy(hdr + h, mask, 4);
    h += 4;
    unsigned char *out = wc_xmalloc(h + n + 1);
    memcpy(out, hdr, h);
    for (size_t i = 0; i < n; i++)
        out[h + i] = ((const unsigned char *)p)[i] ^ mask[i & 3];
    int rc = wc_write_all(fd, out, h + n);
    free(out);
    return rc;
}

static int send_close(int fd, int code)
{
    unsigned char b[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    return send_frame(fd, 8, b, code ? 2 : 0);
}

struct relay {
    int fd;
    struct wc_buf rx;   /* socket bytes not yet parsed */
    struct wc_buf msg;  /* a fragmented message being reassembled */
    struct wc_buf line; /* stdin bytes of the line being read */
    bool in_msg, sent_close, stdin_eof;
    int exit_code; /* >= 0: done */
};

/* Parse the whole frames in rx. A close ends the relay (exit_code set). */
static void on_frames(struct relay *r)
{
    for (;;) {
        const unsigned char *b = (const unsigned char *)r->rx.buf;
        size_t have = r->rx.len, h = 2;
        if (have < 2)
            return;
        bool fin = b[0] & 0x80, masked = b[1] & 0x80;
        int op = b[0] & 0x0f;
        uint64_t n = b[1] & 0x7f;
        if (n == 126) {
            if (have < 4)
                return;
            n = (uint64_t)b[2] << 8 | b[3];
            h = 4;
        } else if (n == 127) {
            if (have < 10)
                return;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | b[2 + i];
            h = 10;
        }
        if (n > RELAY_LINE_MAX || r->msg.len + n > RELAY_LINE_MAX) {
            die("a message from the harness is over 16 MiB", NULL);
            send_close(r->fd, 1009);
            r->exit_code = 1;
            return;
        }
        size_t mh = masked ? 4 : 0;
        if (have < h + mh + n)
            return;
        unsigned char *pl = (unsigned char *)r->rx.buf + h + mh;
        if (masked)
            for (uint64_t i = 0; i < n; i++)
                pl[i] ^= b[h + (i & 3)];
        if (op == 9) {
            send_frame(r->fd, 10, pl, (size_t)n);
        } else if (op == 8) {
            int code = n >= 2 ? (pl[0] << 8 | pl[1]) : 1005;
            if (!r->sent_close)
                send_close(r->fd, n >= 2 ? code : 0);
            r->exit_code = code == 1000 ? 0 : (r->sent_close && code == 1005 ? 0 : 1);
            if (r->exit_code)
                fprintf(stderr, "gwspec-cli-relay: the harness closed with %d\n", code);
            return;
        } else if (op == 1 || op == 2 || op == 0) {
            wc_buf_add(&r->msg, (const char *)pl, (size_t)n);
            if (fin) {
                wc_buf_add(&r->msg, "\n", 1);
                if (wc_write_all(1, r->msg.buf, r->msg.len) != 0) {
                    die("cannot write to stdout", strerror(errno));
                    send_close(r->fd, 1001);
                    r->exit_code = 1;
                    return;
                }
                r->msg.len = 0;
            }
        }
        size_t used = h + mh + (size_t)n;
        memmove(r->rx.buf, r->rx.buf + used, r->rx.len - used);
        r->rx.len -= used;
    }
}

/* Every whole line in r->line becomes a frame. At EOF, the rest too (a last line without its
 * newline). */
static int on_stdin(struct relay *r, bool eof)
{
    size_t start = 0;
    for (size_t i = 0; i < r->line.len; i++) {
        if (r->line.buf[i] != '\n')
            continue;
        size_t n = i - start;
        if (n && r->line.buf[start + n - 1] == '\r')
            n--;
        if (n && send_frame(r->fd, 1, r->line.buf + start, n) != 0)
            return die("cannot write to the harness", strerror(errno));
        start = i + 1;
    }
    memmove(r->line.buf, r->line.buf + start, r->line.len - start);
    r->line.len -= start;
    if (r->line.len > RELAY_LINE_MAX) {
        send_close(r->fd, 1009);
        return die("a line on stdin is over 16 MiB", NULL);
    }
    if (eof && r->line.len) {
        if (send_frame(r->fd, 1, r->line.buf, r->line.len) != 0)
            return die("cannot write to the harness", strerror(errno));
        r->line.len = 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *url = getenv("GWSPEC_CLI_URL"), *path = NULL;
    char host[512], buf[65536];
    struct relay r = {.exit_code = -1};

    signal(SIGPIPE, SIG_IGN);
    wc_sanitize_stdfds();
    if (argc == 2 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        /* an SDK that checks the CLI's version first (the Python SDK runs `CLI -v`) gets one
         * without a connection, so that the case's first attempt is the session's */
        const char *v = getenv("GWSPEC_CLI_VERSION");
        printf("%s (gwspec-cli-relay)\n", v && *v ? v : "2.1.0");
        return 0;
    }
    if (!url || !*url)
        return die("GWSPEC_CLI_URL is not set (the harness's ws:// URL)", NULL);
    r.fd = connect_url(url, host, sizeof(host), &path);
    if (r.fd < 0)
        return 1;
    char *av = argv_json(argc, argv);
    wc_buf_init(&r.rx, 0);
    wc_buf_init(&r.msg, 0);
    wc_buf_init(&r.line, 0);
    int rc = handshake(r.fd, host, path, av ? av : "[]", &r.rx);
    free(av);
    if (rc != 0)
        return 1;
    on_frames(&r);
    int64_t close_deadline = -1;
    while (r.exit_code < 0) {
        struct pollfd p[2] = {{.fd = r.fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
        int np = r.stdin_eof ? 1 : 2, timeout = -1;
        if (close_deadline >= 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
            if (now >= close_deadline) {
                fprintf(stderr, "gwspec-cli-relay: no close from the harness within %d ms\n",
                        RELAY_CLOSE_WAIT);
                r.exit_code = 0; /* our side ended cleanly; the harness did not answer */
                break;
            }
            timeout = (int)(close_deadline - now);
        }
        if (poll(p, (nfds_t)np, timeout) < 0) {
            if (errno == EINTR)
                continue;
            r.exit_code = die("poll", strerror(errno));
            break;
        }
        if (p[0].revents) {
            ssize_t n = read(r.fd, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                if (!r.sent_close)
                    die("the connection ended without a close frame",
                        n < 0 ? strerror(errno) : NULL);
                r.exit_code = r.sent_close ? 0 : 1;
                break;
            }
            wc_buf_add(&r.rx, buf, (size_t)n);
            on_frames(&r);
            if (r.exit_code >= 0)
                break;
        }
        if (np == 2 && p[1].revents) {
            ssize_t n = read(0, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n > 0)
                wc_buf_add(&r.line, buf, (size_t)n);
            if (on_stdin(&r, n <= 0) != 0) {
                r.exit_code = 1;
                break;
            }
            if (n <= 0) { /* the SDK ended its input: the CLI's session is over */
                r.stdin_eof = true;
                r.sent_close = true;
                if (send_close(r.fd, 1000) != 0) {
                    r.exit_code = 0;
                    break;
                }
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                close_deadline =
                    (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + RELAY_CLOSE_WAIT;
            }
        }
    }
    close(r.fd);
    wc_buf_release(&r.rx);
    wc_buf_release(&r.msg);
    wc_buf_release(&r.line);
    return r.exit_code;
}
