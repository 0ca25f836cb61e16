/*
 * core.h: the gateway's state in one object: connections (id -> user), the session store, the
 * run registry, the provider seam, pending permissions and the outbox.
 *
 * Sans-I/O: the core never touches a socket or a timer. Its output is the outbox (frames and
 * closes per connection id); time comes in through gw_core_tick() and the clock in the options,
 * and the glue asks gw_core_next_deadline() when to tick next. protocol.c (WebSocket frames) and
 * rest.c (HTTP) call into it. Depends on store, registry, writer, outbox, provider, lib/.
 */
#ifndef GW_CORE_H
#define GW_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "outbox.h"
#include "provider.h"
#include "registry.h"
#include "store.h"
#include "wc_time.h"
#include "wc_rand.h"

struct gw_core;

/* Defaults of struct gw_core_memory (README "Memory and retention"). */
#define GW_DEFAULT_REPLAY_BYTES  ((size_t)16 << 20) /* 16 MiB per run */
#define GW_DEFAULT_REPLAY_BUDGET ((size_t)64 << 20) /* 64 MiB for every ring together */
#define GW_DEFAULT_RETAIN_MS     ((int64_t)300000)  /* 5 minutes, CloudCLI's retention */
#define GW_DEFAULT_STORE_BYTES   ((size_t)64 << 20) /* 64 MiB of history */

/*
 * What the gateway keeps in memory (struct gw_retention in registry.h, gw_store_set_budget in
 * store.h say how each limit acts). 0 in a field takes its default; SIZE_MAX (for retain_ms a
 * negative value) means no limit.
 */
struct gw_core_memory {
    size_t replay_bytes;  /* one run's replay ring, in bytes of JSON text */
    size_t replay_budget; /* the rings of every run together */
    int64_t retain_ms;    /* a completed run stays current this long after its complete */
    size_t store_bytes;   /* event history in the store (sum of the stored rows) */
};

struct gw_core_opts {
    const char *db_path;                    /* NULL: ":memory:" */
    size_t replay_cap;                      /* 0: 5000 */
    int64_t permission_timeout_ms;          /* 0: 55000 */
    uint64_t seed;                          /* PRNG seed for app ids, event ids, request ids */
    const struct gw_provider_ops *provider; /* borrowed */
    void *provider_self;                    /* passed to provider->open */
    int64_t (*clock_ms)(void);              /* monotonic ms; NULL: wc_now_ms */
    const char *const *disabled_providers;  /* NULL-terminated names without a runtime, or NULL */
    struct gw_core_memory memory;           /* retention limits; all 0: the defaults */
    size_t flow_high; /* 0: 1 MiB. Replay bytes queued per pull (the glue's high-water mark) */
    size_t hold_cap;  /* 0: 8 MiB. Bytes held back for one socket during its replay */
};

/* New core. NULL and *err (new) when the store cannot be opened. */
struct gw_core *gw_core_new(const struct gw_core_opts *opts, char **err);
/* Releases every provider run, then frees everything. Accepts NULL. */
void gw_core_free(struct gw_core *c);

/* R-SEND-4: false for a provider name this gateway has no runtime for (unknown or disabled). */
bool gw_core_provider_available(const struct gw_core *c, const char *provider);

struct gw_outbox *gw_core_outbox(struct gw_core *c);     /* borrowed */
struct gw_store *gw_core_store(struct gw_core *c);       /* borrowed */
struct gw_registry *gw_core_registry(struct gw_core *c); /* borrowed */
struct wc_rand *gw_core_rand(struct gw_core *c);         /* borrowed */

/* A connection opened for user (copied); glue is the I/O layer's pointer. Returns its id (>0). */
uint64_t gw_core_conn_open(struct gw_core *c, const char *user, void *glue);
/* The connection closed: detach it from every run. */
void gw_core_conn_close(struct gw_core *c, uint64_t conn);
void *gw_core_conn_glue(struct gw_core *c, uint64_t conn);       /* NULL when unknown */
const char *gw_core_conn_user(struct gw_core *c, uint64_t conn); /* borrowed, NULL if unknown */

/* Queue v (borrowed) for conn. */
void gw_core_send(struct gw_core *c, uint64_t conn, const json_t *v);
/* Queue v for every connection of user (NULL: every connection). */
void gw_core_send_user(struct gw_core *c, const char *user, const json_t *v);
/* Queue a protocol_error for conn (session_id NULL gives sessionId:null). */
void gw_core_protocol_error(struct gw_core *c, uint64_t conn, const char *code, const char *error,
                            const char *session_id);
/* The same with an error text of error_len bytes, which may hold NULs (valid UTF-8). */
void gw_core_protocol_error_n(struct gw_core *c, uint64_t conn, const char *code, const char *error,
                              size_t error_len, const char *session_id);

/*
 * The session id as user may see it (R-MU-1: another user's session is unknown).
 * Returns 0 (fill out, release with gw_session_release), WC_ERR_NOTFOUND or WC_ERR_IO.
 */
int gw_core_session_for(struct gw_core *c, const char *user, const char *id,
                        struct gw_session *out);
/* The session's current run if user owns the session, else NULL. Borrowed. */
struct gw_run *gw_core_run_for(struct gw_core *c, const char *user, const char *id);

/*
 * Start the provider for a run that was just registered. The provider's cwd is `cwd`, it
 * resumes `resume` (NULL: new), options borrowed. If the provider cannot be created, the run is
 * completed with exitCode 1 right away (an error event, then the complete: reported in-band, so
 * there is nothing to return).
 */
void gw_core_start_provider(struct gw_core *c, struct gw_run *run, const char *prompt,
                            const char *cwd, json_t *options, const char *resume);
/*
 * Abort a running run: stop the provider (even before it announced its native id, R-ABORT-4),
 * then complete exactly this run as aborted (exitCode 0 if the provider was found, else 1).
 */
void gw_core_abort_run(struct gw_core *c, struct gw_run *run);

/*
 * Flow control (issue 18, R-LIMIT-5). A replay is not queued whole: the core keeps a cursor per
 * socket into the run's replay ring and queues the events as the socket drains. While a socket
 * has a replay (or frames held behind one) everything else for it waits behind, in order, and the
 * run's live events reach it through the cursor. A provider is paused while every socket
 * attached to its run is full (the glue says so) or still being replayed to.
 */

/*
 * Replay for conn the run's buffered events with seq > last_seq after its chat_subscribed (as
 * gw_registry_replay: an optional history_truncated, then ascending). Queues up to flow_high
 * bytes at once unless conn is full; the rest is announced with a kick (outbox.h).
 */
void gw_core_replay(struct gw_core *c, struct gw_run *run, uint64_t conn, int64_t last_seq);
/* The glue's queue for conn went above its high-water mark (true) or below its low-water mark. */
void gw_core_conn_set_full(struct gw_core *c, uint64_t conn, bool full);
/* True when the core holds something for conn (a replay not finished, held frames). */
bool gw_core_conn_has_backlog(struct gw_core *c, uint64_t conn);
/* conn's queue is low: queue up to about budget bytes (at least one frame) of its backlog. */
void gw_core_conn_drain(struct gw_core *c, uint64_t conn, size_t budget);
/* True while the run's provider is paused (tests, logs). */
bool gw_core_run_is_paused(struct gw_core *c, struct gw_run *run);

/* New array of the run's pending permissions for chat_subscribed.pendingPermissions. */
json_t *gw_core_pending_permissions(struct gw_core *c, struct gw_run *run);
/* chat.permission-response from user. Unknown or foreign ids are ignored. */
void gw_core_permission_response(struct gw_core *c, const char *user, const char *request_id,
                                 bool allow);

/* Make batched store writes durable (call after each burst of work). */
void gw_core_flush(struct gw_core *c);

/* Fire every deadline at or before now_ms (permission timeouts, completed-run retention). */
void gw_core_tick(struct gw_core *c, int64_t now_ms);
/* The next deadline (monotonic ms), or -1 when there is none. */
int64_t gw_core_next_deadline(struct gw_core *c);

#endif
