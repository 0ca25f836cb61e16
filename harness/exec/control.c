/*
 * control.c: control-channel listener and connections (see control.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exec/control.h"
#include "wc_buf.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

struct conn {
    int fd;
    struct wc_buf rx;
    char *label;
    char *run;
    unsigned long seq; /* accept order, for "newest" */
};

struct hn_ctl {
    int lfd;
    int port;
    struct conn *conns;
    size_t n, cap;
    unsigned long accepted;
    hn_ctl_cb cb;
    void *ctx;
    char *case_token; /* or NULL: accept any */
};

void hn_ctl_set_case(struct hn_ctl *c, const char *case_token)
{
    free(c->case_token);
    c->case_token = case_token ? wc_xstrdup(case_token) : NULL;
}

struct hn_ctl *hn_ctl_new(hn_ctl_cb cb, void *ctx, char **err)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t al = sizeof(a);
    struct hn_ctl *c;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        *err = wc_xasprintf("control listener: socket: %s", strerror(errno));
        return NULL;
    }
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        *err = wc_xasprintf("control listener: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    c = wc_xcalloc(1, sizeof(*c));
    c->lfd = fd;
    c->port = ntohs(a.sin_port);
    c->cb = cb;
    c->ctx = ctx;
    return c;
}

int hn_ctl_port(const struct hn_ctl *c)
{
    return c->port;
}

size_t hn_ctl_pollfds(const struct hn_ctl *c, struct pollfd *fds, size_t max)
{
    size_t k = 0;

    if (k < max)
        fds[k++] = (struct pollfd){.fd = c->lfd, .events = POLLIN};
    for (size_t i = 0; i < c->n && k < max; i++)
        fds[k++] = (struct pollfd){.fd = c->conns[i].fd, .events = POLLIN};
    return k;
}

static void conn_close(struct hn_ctl *c, size_t i)
{
    close(c->conns[i].fd);
    wc_buf_release(&c->conns[i].rx);
    free(c->conns[i].label);
    free(c->conns[i].run);
    c->conns[i] = c->conns[--c->n];
}

/* Returns false when the connection must be closed (a provider of another case). */
static bool deliver_lines(struct hn_ctl *c, struct conn *k, int idx)
{
    char *nl;

    while ((nl = memchr(k->rx.buf, '\n', k->rx.len)) != NULL) {
        size_t n = (size_t)(nl - k->rx.buf);
        char *line = wc_xstrndup(k->rx.buf, n);
        wc_buf_consume(&k->rx, n + 1);
        if (n && line[n - 1] == '\r')
            line[n - 1] = '\0';
        if (!*line) {
            free(line);
            continue;
        }
        json_t *msg = json_loads(line, JSON_ALLOW_NUL, NULL);
        if (json_is_object(msg)) {
            const char *type = wc_json_str(msg, "type");
            if (!type) /* the client control channel's messages say `t` */
                type = wc_json_str(msg, "t");
            if (type && !strcmp(type, "hello") && !k->label) {
                const char *l = wc_json_str(msg, "label"), *r = wc_json_str(msg, "run");
                const char *ct = wc_json_str(msg, "case");
                if (c->case_token && (!ct || strcmp(ct, c->case_token))) {
                    char *why = wc_xasprintf("hello from another case (%s); connection closed",
                                             ct ? ct : "no case");
                    c->cb(c->ctx, idx, NULL, NULL, NULL, why);
                    free(why);
                    json_decref(msg);
                    free(line);
                    return false;
                }
                k->label = wc_xstrdup(l ? l : "");
                k->run = wc_xstrdup(r ? r : "");
            }
            c->cb(c->ctx, idx, k->label, k->run, msg, NULL);
        } else {
            c->cb(c->ctx, idx, k->label, k->run, NULL, line);
        }
        json_decref(msg);
        free(line);
    }
    return true;
}

void hn_ctl_handle(struct hn_ctl *c, const struct pollfd *fds, size_t n)
{
    /* connections first (their indexes follow the listener), newest last so closing is safe */
    for (size_t j = n; j-- > 1;) {
        size_t i = j - 1;
        if (i >= c->n || fds[j].fd != c->conns[i].fd || !fds[j].revents)
            continue;
        struct conn *k = &c->conns[i];
        bool dead = false;
        for (int rounds = 0; rounds < 64; rounds++) { /* then let the caller look around */
            char buf[16384];
            ssize_t r = recv(k->fd, buf, sizeof(buf), 0);
            if (r > 0) {
                if (wc_buf_add(&k->rx, buf, (size_t)r) != 0) {
                    /* one line longer than the cap: a broken provider */
                    c->cb(c->ctx, (int)i, k->label, k->run, NULL, "(control line over 4 MiB)");
                    dead = true;
                    break;
                }
                if (!deliver_lines(c, k, (int)i)) {
                    dead = true;
                    wc_buf_reset(&k->rx);
                    break;
                }
                continue;
            }
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            dead = true;
            break;
        }
        if (!dead && !deliver_lines(c, k, (int)i)) {
            dead = true;
            wc_buf_reset(&k->rx);
        }
        if (dead) {
            if (k->rx.len)
                c->cb(c->ctx, (int)i, k->label, k->run, NULL, k->rx.buf);
            conn_close(c, i);
        }
    }
    if (n > 0 && fds[0].fd == c->lfd && (fds[0].revents & POLLIN)) {
        for (;;) {
            int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                break;
            if (c->n == c->cap) {
                c->cap = c->cap ? 2 * c->cap : 8;
                c->conns = wc_xrealloc(c->conns, c->cap * sizeof(*c->conns));
            }
            struct conn *k = &c->conns[c->n++];
            memset(k, 0, sizeof(*k));
            k->fd = fd;
            k->seq = ++c->accepted;
            wc_buf_init(&k->rx, HN_CTL_MAX_LINE);
        }
    }
}

int hn_ctl_send(struct hn_ctl *c, const char *label, const char *run, const json_t *msg)
{
    char *text = wc_json_compact(msg);
    char *line = wc_xasprintf("%s\n", text);
    int sent = 0;
    struct conn *newest = NULL;

    for (size_t i = 0; i < c->n; i++) {
        struct conn *k = &c->conns[i];
        if (!k->label || strcmp(k->label, label))
            continue;
        if (run && strcmp(k->run, run))
            continue;
        if (!run) {
            if (!newest || k->seq > newest->seq)
                newest = k;
            continue;
        }
        if (send(k->fd, line, strlen(line), MSG_NOSIGNAL) == (ssize_t)strlen(line))
            sent++;
    }
    if (newest && send(newest->fd, line, strlen(line), MSG_NOSIGNAL) == (ssize_t)strlen(line))
        sent++;
    free(text);
    free(line);
    return sent;
}

bool hn_ctl_has(const struct hn_ctl *c, const char *label, const char *run)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct conn *k = &c->conns[i];
        if (k->label && !strcmp(k->label, label) && (!run || !strcmp(k->run, run)))
            return true;
    }
    return false;
}

void hn_ctl_free(struct hn_ctl *c)
{
    if (!c)
        return;
    while (c->n)
        conn_close(c, c->n - 1);
    free(c->conns);
    close(c->lfd);
    free(c->case_token);
    free(c);
}
