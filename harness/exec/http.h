/*
 * http.h: a tiny blocking HTTP/1.1 client for loopback REST calls (session creation, auth, the
 * `http` step). One request per connection (Connection: close), JSON bodies, a deadline.
 *
 * Depends on net.h (hn_net_connect) and lib/.
 */
#ifndef HN_HTTP_H
#define HN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The body cap of a response: past it (a Content-Length over it is refused at once) the request
 * is WC_ERR_TOO_BIG with an error naming the cap; the harness never holds more. */
#define HN_HTTP_MAX_BODY (8u * 1024 * 1024)

struct hn_http_resp {
    int status;
    char *body; /* new, NUL-terminated (may hold NULs) */
    size_t body_len;
    json_t *json; /* the body parsed as JSON, or NULL */
};

/*
 * Send `method path` to host:port with an optional Bearer token and JSON body (NULL: none).
 * Returns 0 with *resp filled, or a negative wc_err with *err (new).
 */
int hn_http_request(const char *host, int port, const char *method, const char *path,
                    const char *bearer, const json_t *body, int timeout_ms,
                    struct hn_http_resp *resp, char **err);
/*
 * The same with the Content-Length header's value given as is (content_length non-NULL: no body
 * is sent, whatever body says): for cases that send a header a client should never send.
 */
int hn_http_request_cl(const char *host, int port, const char *method, const char *path,
                       const char *bearer, const json_t *body, const char *content_length,
                       int timeout_ms, struct hn_http_resp *resp, char **err);
void hn_http_resp_release(struct hn_http_resp *r);

/* Parse a complete HTTP/1.x response held in buf (tests). 0, WC_ERR_INCOMPLETE, WC_ERR_PARSE or
 * WC_ERR_TOO_BIG (a body over HN_HTTP_MAX_BODY, or a Content-Length saying so). */
int hn_http_parse_response(const char *buf, size_t len, bool eof, struct hn_http_resp *resp,
                           char **err);

#endif
