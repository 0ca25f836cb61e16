/*
 * server.h: the lws glue of the reference gateway: one context, one vhost, HTTP (REST) and
 * WebSocket (/ws) on one port, token auth refused with HTTP 401 at the upgrade, message
 * reassembly with a size cap (close 1009), per-connection send queues with a byte cap,
 * heartbeat pings, and the timers the core asks for.
 *
 * Everything protocol-level is decided by the sans-I/O core (core/protocol/rest); this module
 * only moves bytes and carries out the outbox. Depends on lws, core.h, rest.h, protocol.h,
 * users.h, provider_mock.h and lib/.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "users.h"

struct gw_server;

enum gw_dialect {
    GW_DIALECT_CHATGW = 0, /* chatgw/1.0: core, protocol.c, rest.c */
    GW_DIALECT_DISPATCH,   /* dispatch-ws/1: dispatch.c on the same core */
};

struct gw_server_opts {
    const char *host;         /* listen address; NULL: "127.0.0.1" */
    int port;                 /* 0: a free port */
    struct gw_users *users;   /* borrowed */
    size_t max_frame;         /* inbound message cap in bytes; 0: 1 MiB */
    size_t send_cap;          /* per-connection send queue cap; 0: 8 MiB */
    int stall_s;              /* drop a full send queue that does not move this long; 0: 30 */
    int64_t ping_interval_ms; /* 0: no pings */
    int64_t pong_timeout_ms;  /* drop a socket whose ping has no pong this long; 0: 2 intervals */
    const char *fixtures_dir; /* for named provider scripts; NULL: default */
    const char *allow_ctl;    /* non-loopback control hosts, comma-separated; NULL: none */
    const char *db_path;      /* NULL: ":memory:" */
    size_t replay_cap;        /* 0: 5000 */
    struct gw_core_memory memory;          /* retention limits (core.h); all 0: the defaults */
    int64_t permission_timeout_ms;         /* 0: 55000 */
    const char *const *disabled_providers; /* NULL-terminated, or NULL (--disable-provider) */
    uint64_t seed;
    int lws_log_mask; /* lws log levels (LLL_*) */
    enum gw_dialect dialect;
    const char *models; /* dispatch: comma-separated known models; NULL: "mock" */
};

/* Create the server and bind. NULL and *err (new) on failure (bind, store, ...). */
struct gw_server *gw_server_new(const struct gw_server_opts *opts, char **err);
/* The port actually bound. */
int gw_server_port(const struct gw_server *s);
/* Serve until gw_server_stop. Returns 0, or WC_ERR_IO when the loop failed. */
int gw_server_run(struct gw_server *s);
/* Ask the loop to stop. Safe from a signal handler and from another thread. */
void gw_server_stop(struct gw_server *s);
/* Release providers and connections, destroy the context. Accepts NULL. */
void gw_server_free(struct gw_server *s);

#endif
