/*
 * serve.c: the server role's listener and the server half of the upgrade (see serve.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "exec/serve.h"
#include "wc_err.h"
#include "wc_mem.h"
#include "wc_time.h"
#include "wc_banned.h"

int hn_srv_open(struct hn_srv *s, char **err)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);

    memset(s, 0, sizeof(*s));
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(s->lfd, 64) != 0 || getsockname(s->lfd, (struct sockaddr *)&a, &alen) != 0) {
        *err = wc_xasprintf("server role: cannot listen on 127.0.0.1:0: %s", strerror(errno));
        if (s->lfd >= 0)
            close(s->lfd);
        s->lfd = -1;
        return WC_ERR_IO;
    }
    s->port = ntohs(a.sin_port);
    s->empty_ms = wc_now_ms();
    return 0;
}

void hn_srv_close(struct hn_srv *s)
{
    if (s->lfd >= 0)
        close(s->lfd);
    s->lfd = -1;
    for (size_t i = 0; i < s->n; i++) {
        if (s->at[i].fd >= 0 && !s->at[i].taken)
            close(s->at[i].fd);
        wc_buf_release(&s->at[i].req);
    }
    free(s->at);
    s->at = NULL;
    s->n = s->cap = 0;
}

static bool waiting_request(const struct hn_srv_attempt *a)
{
    return a->fd >= 0 && !a->taken && !a->hdr_len && !a->eof;
}

size_t hn_srv_pollfds(const struct hn_srv *s, struct pollfd *fds, size_t max)
{
    size_t n = 0;

    if (s->lfd < 0 || max == 0)
        return 0;
    fds[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
    for (size_t i = 0; i < s->n && n < max; i++) {
        if (waiting_request(&s->at[i]))
            fds[n++] = (struct pollfd){.fd = s->at[i].fd, .events = POLLIN};
    }
    return n;
}

static void read_request(struct hn_srv_attempt *a)
{
    char buf[4096];

    for (;;) {
        ssize_t r = recv(a->fd, buf, sizeof(buf), 0);
        if (r > 0) {
            wc_buf_add(&a->req, buf, (size_t)r);
            char *end = memmem(a->req.buf, a->req.len, "\r\n\r\n", 4);
            if (end) {
                a->hdr_len = (size_t)(end - a->req.buf) + 4;
                return;
            }
            if (a->req.len > HN_SRV_REQUEST_MAX) {
                a->eof = true;
                return;
            }
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            a->eof = true;
        return;
    }
}

size_t hn_srv_handle(struct hn_srv *s, const struct pollfd *fds, size_t n, int64_t poll_ms)
{
    size_t added = 0;

    if (n == 0)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        for (size_t j = 0; j < s->n; j++) {
            if (s->at[j].fd == fds[i].fd && waiting_request(&s->at[j]))
                read_request(&s->at[j]);
        }
    }
    if (!(fds[0].revents & POLLIN)) {
        if (poll_ms > s->empty_ms)
            s->empty_ms = poll_ms;
        return 0;
    }
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 8;
            s->at = wc_xrealloc(s->at, s->cap * sizeof(*s->at));
        }
        struct hn_srv_attempt *a = &s->at[s->n++];
        memset(a, 0, sizeof(*a));
        a->fd = fd;
        a->seen_ms = wc_now_ms();
        a->lo_ms = s->empty_ms;
        wc_buf_init(&a->req, 0);
        read_request(a);
        added++;
    }
    s->empty_ms = wc_now_ms();
    return added;
}

json_t *hn_srv_parse_request(const char *buf, size_t len, char **why)
{
    char *text = wc_xstrndup(buf, len), *save = NULL;
    char *line = strtok_r(text, "\r\n", &save);
    char method[16], path[4096];
    json_t *hdrs = json_object();

    if (!line || sscanf(line, "%15s %4095s HTTP/1.1", method, path) != 2) {
        *why = wc_xasprintf("not an HTTP/1.1 request line: \"%.80s\"", line ? line : "");
        free(text);
        json_decref(hdrs);
        return NULL;
    }
    while ((line = strtok_r(NULL, "\r\n", &save))) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        for (char *p = line; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        json_object_set_new(hdrs, line, json_string(v));
    }
    const char *up = json_string_value(json_object_get(hdrs, "upgrade"));
    const char *key = json_string_value(json_object_get(hdrs, "sec-websocket-key"));
    json_t *r = json_pack("{s:s, s:s, s:o, s:b}", "method", method, "path", path, "headers", hdrs,
                          "upgrade", up && !strcasecmp(up, "websocket") && key);
    free(text);
    return r;
}

void hn_srv_accept_value(const char *key, char *out, size_t outlen)
{
    char cat[256];
    unsigned char sha[20];

    snprintf(cat, sizeof(cat), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    lws_SHA1((const unsigned char *)cat, strlen(cat), sha);
    lws_b64_encode_string((const char *)sha, 20, out, (int)outlen);
}

int hn_srv_write_all(int fd, const char *buf, size_t len, int64_t deadline_ms)
{
    size_t off = 0;

    while (off < len) {
        ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return WC_ERR_IO;
        int64_t left = deadline_ms - wc_now_ms();
        if (left <= 0)
            return WC_ERR_IO;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        (void)poll(&p, 1, (int)left);
    }
    return 0;
}
