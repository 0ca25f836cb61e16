/*
 * dispatch.h: the Dispatch front-end (dialect dispatch-ws/1, spec/dispatch-ws-1): the chat hub
 * of Dispatch's transport-ws and session orchestrator on the gateway's core.
 *
 * Sans-I/O like protocol.c: frames come in through gw_dispatch_frame, HTTP requests through
 * gw_dispatch_http; everything goes out through the core's outbox (one shared frame per
 * fan-out) to connections the glue opened with gw_core_conn_open. Provider runs go through the
 * same struct gw_provider_ops as chatgw's (the mock runtime in the server, the fake in tests);
 * the hub maps the provider's events to AgentEvents and owns the turn grammar (user-message,
 * turn-start, steps, done, turn-sealed), the persistent subscriber sets, the in-flight replay
 * buffer, the queue (steering, post-seal carry) and the history with 1-based seqs.
 * Depends on core.h (outbox, connections, PRNG), provider.h, mutants.h, lib/.
 */
#ifndef GW_DISPATCH_H
#define GW_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "provider.h"

struct gw_dispatch;

struct gw_dispatch_opts {
    struct gw_core *core;                   /* borrowed: outbox, PRNG, connection ids */
    const struct gw_provider_ops *provider; /* borrowed */
    void *provider_self;
    const char *models;        /* comma-separated model names chat.send may name; NULL: "mock" */
    int64_t (*clock_ms)(void); /* NULL: wc_now_ms (done.durationMs only) */
};

struct gw_dispatch *gw_dispatch_new(const struct gw_dispatch_opts *o);
/* Releases every provider run. Accepts NULL. */
void gw_dispatch_free(struct gw_dispatch *d);

/* A WebSocket connection opened (conn from gw_core_conn_open): it gets the catalog. */
void gw_dispatch_conn_open(struct gw_dispatch *d, uint64_t conn);
/* It closed: its subscriptions go; no turn is touched (R-D-CLOSE-1). */
void gw_dispatch_conn_close(struct gw_dispatch *d, uint64_t conn);
/* One text frame of len bytes from conn. */
void gw_dispatch_frame(struct gw_dispatch *d, uint64_t conn, const char *text, size_t len);

/* After the provider runtime handled an input on the loop: release the runs that ended. */
void gw_dispatch_after_input(struct gw_dispatch *d);

struct gw_dispatch_http_req {
    const char *method;    /* "GET", "POST", ... */
    const char *path;      /* without the query */
    const char *since_seq; /* query arguments, or NULL */
    const char *before_seq;
    const char *limit;
};

/*
 * A plain HTTP request on the gateway's port. Returns the status and sets *ctype (static) and
 * *body (new, NUL-terminated). /conversations/... is the HTTP API; every other request gets
 * 426 `expected websocket` (R-D-WS-2).
 */
int gw_dispatch_http(struct gw_dispatch *d, const struct gw_dispatch_http_req *req,
                     const char **ctype, char **body);

/* True when the path is the HTTP API's (the glue reads a body for it). */
int gw_dispatch_is_api_path(const char *path);

#endif
