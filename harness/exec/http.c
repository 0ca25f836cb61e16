/*
 * http.c: blocking HTTP/1.1 client over loopback TCP (see http.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exec/http.h"
#include "exec/net.h"
#include "exec/ws.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_time.h"
#include "wc_banned.h"

void hn_http_resp_release(struct hn_http_resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

static const char *find_header(const char *hdrs, size_t hlen, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = hdrs, *end = hdrs + hlen;

    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(eol - v);
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

/* Decode a chunked body. 0, WC_ERR_INCOMPLETE, WC_ERR_PARSE or WC_ERR_TOO_BIG (a chunk, or the
 * body so far, over HN_HTTP_MAX_BODY: out's cap). */
static int dechunk(const char *p, size_t len, struct wc_buf *out)
{
    const char *end = p + len;
    for (;;) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        char *e;
        if (!eol)
            return WC_ERR_INCOMPLETE;
        unsigned long n = strtoul(p, &e, 16);
        if (e == p)
            return WC_ERR_PARSE;
        if (n > HN_HTTP_MAX_BODY || out->len + n > HN_HTTP_MAX_BODY)
            return WC_ERR_TOO_BIG; /* before n + 2 below could wrap */
        p = eol + 2;
        if (n == 0)
            return 0;
        if ((size_t)(end - p) < n + 2)
            return WC_ERR_INCOMPLETE;
        if (wc_buf_add(out, p, n) != 0)
            return WC_ERR_TOO_BIG;
        p += n + 2;
    }
}

int hn_http_parse_response(const char *buf, size_t len, bool eof, struct hn_http_resp *resp,
                           char **err)
{
    const char *hend = memmem(buf, len, "\r\n\r\n", 4);
    const char *v;
    size_t vlen, hlen, blen;
    int code = 0;

    memset(resp, 0, sizeof(*resp));
    if (!hend) {
        if (eof) {
            *err = wc_xstrdup(len ? "the response ended inside its headers" : "empty response");
            return WC_ERR_PARSE;
        }
        return WC_ERR_INCOMPLETE;
    }
    hlen = (size_t)(hend - buf) + 2;
    if (sscanf(buf, "HTTP/1.%*1[01] %3d", &code) != 1 || code < 100 || code > 599) {
        *err = wc_xasprintf("bad status line \"%.60s\"", buf);
        return WC_ERR_PARSE;
    }
    const char *body = hend + 4;
    blen = len - (size_t)(body - buf);
    if ((v = find_header(buf, hlen, "Transfer-Encoding", &vlen)) && vlen >= 7 &&
        !strncasecmp(v, "chunked", 7)) {
        struct wc_buf b;
        int rc;
        wc_buf_init(&b, HN_HTTP_MAX_BODY);
        rc = dechunk(body, blen, &b);
        if (rc != 0) {
            wc_buf_release(&b);
            if (rc == WC_ERR_INCOMPLETE && !eof)
                return rc;
            if (rc == WC_ERR_TOO_BIG) {
                *err = wc_xasprintf("chunked response body over the harness's cap of %u bytes "
                                    "(8 MiB, HN_HTTP_MAX_BODY)",
                                    HN_HTTP_MAX_BODY);
                return rc;
            }
            *err = wc_xstrdup("bad chunked body");
            return WC_ERR_PARSE;
        }
        resp->body = wc_buf_detach(&b, &resp->body_len);
    } else if ((v = find_header(buf, hlen, "Content-Length", &vlen))) {
        unsigned long n = strtoul(v, NULL, 10);
        if (n > HN_HTTP_MAX_BODY) { /* said at once: not after 8 MiB were read */
            *err = wc_xasprintf("Content-Length %lu is over the harness's cap of %u bytes "
                                "(8 MiB, HN_HTTP_MAX_BODY)",
                                n, HN_HTTP_MAX_BODY);
            return WC_ERR_TOO_BIG;
        }
        if (blen < n) {
            if (!eof)
                return WC_ERR_INCOMPLETE;
            *err = wc_xasprintf("body shorter than its Content-Length (%zu < %lu)", blen, n);
            return WC_ERR_PARSE;
        }
        resp->body = wc_xstrndup(body, n);
        resp->body_len = n;
    } else {
        if (!eof && code != 204 && code != 304)
            return WC_ERR_INCOMPLETE;
        resp->body = wc_xstrndup(body, blen);
        resp->body_len = blen;
    }
    resp->status = code;
    if (resp->body_len)
        resp->json = json_loadb(resp->body, resp->body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    return 0;
}

int hn_http_request(const char *host, int port, const char *method, const char *path,
                    const char *bearer, const json_t *body, int timeout_ms,
                    struct hn_http_resp *resp, char **err)
{
    return hn_http_request_cl(host, port, method, path, bearer, body, NULL, timeout_ms, resp, err);
}

int hn_http_request_cl(const char *host, int port, const char *method, const char *path,
                       const char *bearer, const json_t *body, const char *content_length,
                       int timeout_ms, struct hn_http_resp *resp, char **err)
{
    int64_t deadline = wc_now_ms() + timeout_ms;
    char *payload = body && !content_length ? wc_json_compact(body) : NULL;
    char *auth = bearer ? wc_xasprintf("Authorization: Bearer %s\r\n", bearer) : wc_xstrdup("");
    char *ctype;

    if (content_length)
        ctype = wc_xasprintf("Content-Type: application/json\r\nContent-Length: %s\r\n",
                             content_length);
    else if (payload)
        ctype = wc_xasprintf("Content-Type: application/json\r\nContent-Length: %zu\r\n",
                             strlen(payload));
    else if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
        ctype = wc_xstrdup("");
    else
        ctype = wc_xstrdup("Content-Length: 0\r\n");
    char *req = wc_xasprintf("%s %s HTTP/1.1\r\nHost: %s:%d\r\n%s%sAccept: application/json\r\n"
                             "Connection: close\r\n\r\n%s",
                             method, path, host, port, auth, ctype, payload ? payload : "");
    struct wc_buf in;
    size_t off = 0, rlen = strlen(req);
    int fd, rc = WC_ERR_IO;
    bool eof = false;

    free(payload);
    free(auth);
    free(ctype);
    memset(resp, 0, sizeof(*resp));
    wc_buf_init(&in, HN_HTTP_MAX_BODY + 65536);
    fd = hn_net_connect(host, port, deadline, err);
    if (fd < 0) {
        free(req);
        wc_buf_release(&in);
        return WC_ERR_IO;
    }
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (off < rlen ? POLLOUT : 0)};
        int64_t left = deadline - wc_now_ms();
        if (off >= rlen || eof) {
            rc = hn_http_parse_response(in.buf, in.len, eof, resp, err);
            if (rc != WC_ERR_INCOMPLETE)
                break;
        }
        if (left <= 0) {
            *err =
                wc_xasprintf("%s %s: no complete response within %d ms", method, path, timeout_ms);
            rc = WC_ERR_TIMEOUT;
            break;
        }
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *err = wc_xasprintf("poll: %s", strerror(errno));
            break;
        }
        if (p.revents & POLLOUT) {
            ssize_t n = send(fd, req + off, rlen - off, MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                off = rlen; /* the peer may have answered and closed already */
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[16384];
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n > 0) {
                if (wc_buf_add(&in, buf, (size_t)n) != 0) {
                    *err = wc_xasprintf("%s %s: response over the harness's cap of %u bytes "
                                        "(8 MiB, HN_HTTP_MAX_BODY, and 64 KiB of head)",
                                        method, path, HN_HTTP_MAX_BODY);
                    rc = WC_ERR_TOO_BIG;
                    break;
                }
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                eof = true;
                off = rlen;
            }
        }
    }
    close(fd);
    free(req);
    wc_buf_release(&in);
    return rc;
}
