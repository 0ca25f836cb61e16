/*
 * serve.h: the server role's listener (issue 14): a loopback TCP listener private to one case
 * (port 0), the connection attempts it takes with the time each was seen, and the server half
 * of the RFC 6455 upgrade (reading a request, answering 101 or a refusal).
 *
 * Sans-loop like control.h: the caller polls hn_srv_pollfds and hands the results to
 * hn_srv_handle; an attempt becomes a WebSocket only when a step (accept) takes it.
 * Depends on lib/ and libwebsockets' SHA-1/base64 helpers only.
 */
#ifndef HN_SERVE_H
#define HN_SERVE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "wc_buf.h"

#define HN_SRV_REQUEST_MAX 16384 /* an upgrade request's headers */

/* One connection attempt: a TCP connection the listener took, its request as it arrives. */
struct hn_srv_attempt {
    int fd;            /* -1 once taken or closed */
    int64_t seen_ms;   /* when accept() returned it (wc_now_ms clock) */
    int64_t lo_ms;     /* it arrived after this time (the listener was seen empty then) */
    struct wc_buf req; /* bytes read so far */
    size_t hdr_len;    /* > 0: the request's headers end here (after the blank line) */
    bool eof;          /* the peer ended TCP before its request was whole */
    bool taken;        /* a step took it (accept, refuse) */
    bool counted;      /* expect_connect / expect_no_connect consumed it */
    int64_t rec_n;     /* its `attempt` record */
};

struct hn_srv {
    int lfd;
    int port;
    int64_t empty_ms; /* the latest time the listener was seen with nothing to accept */
    struct hn_srv_attempt *at;
    size_t n, cap;
};

/* Listen on 127.0.0.1:0. 0, or WC_ERR_IO with *err (new). */
int hn_srv_open(struct hn_srv *s, char **err);
void hn_srv_close(struct hn_srv *s);
/* Up to max pollfds (the listener and the attempts whose request is not whole). */
size_t hn_srv_pollfds(const struct hn_srv *s, struct pollfd *fds, size_t max);
/* Process poll results; returns how many new attempts were taken in (their index from n-k). */
size_t hn_srv_handle(struct hn_srv *s, const struct pollfd *fds, size_t n, int64_t poll_ms);

/*
 * A whole request's facts: method, path (with the query), headers (lowercase name -> value),
 * and whether it is a WebSocket upgrade with a key. NULL with *why (new) when it is not HTTP.
 */
json_t *hn_srv_parse_request(const char *buf, size_t len, char **why);
/* The Sec-WebSocket-Accept value of key (RFC 6455 4.2.2) into out (at least 32 bytes). */
void hn_srv_accept_value(const char *key, char *out, size_t outlen);
/* Write all of buf to a nonblocking fd before deadline_ms. 0 or WC_ERR_IO. */
int hn_srv_write_all(int fd, const char *buf, size_t len, int64_t deadline_ms);

#endif
