/*
 * registry.h: the run registry: at most one run per app session, seq, replay buffer, completion,
 * attached sockets (fan-out).
 *
 * A run is `running` until its first `complete` is forwarded, then `completed`; a completed run
 * stays the session's current run (its lastSeq is still reported) until the next send replaces
 * it. Each forwarded event gets the next seq (1, 2, ...), goes into a capped replay ring and to
 * every attached connection. After the complete nothing more of the run is forwarded, and a
 * second complete is dropped without a seq. gw_registry_complete_if_current only ever completes
 * the exact run it is given (CloudCLI's completeRunIfCurrent).
 *
 * Sans-I/O: output goes to a struct gw_outbox; connections are plain ids. Runs are reference
 * counted: the registry holds one reference while the run is its session's current run; the core
 * holds more (a live provider, pending permissions). Depends on writer.h, outbox.h and lib/.
 */
#ifndef GW_REGISTRY_H
#define GW_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "outbox.h"
#include "writer.h"
#include "wc_rand.h"

struct gw_registry;
struct gw_prun;

enum gw_run_status { GW_RUN_RUNNING, GW_RUN_COMPLETED };

struct gw_run {
    unsigned refs;             /* private */
    struct gw_registry *reg;   /* read-only */
    char *session_id;          /* read-only: the app id */
    char *owner;               /* read-only: the user that owns the session */
    enum gw_run_status status; /* read-only */
    int64_t last_seq;          /* read-only: the last seq assigned */
    int64_t started_at_ms;     /* read-only: wall clock, epoch ms */
    bool current;              /* read-only: this is its session's run in the registry */
    struct gw_writer writer;   /* read-only outside registry.c (native_id is readable) */
    bool aborting;             /* core: an abort is in progress; provider events are dropped */
    bool provider_alive;       /* core: the provider has not ended yet */
    struct gw_prun *prun;      /* core: the provider's handle, or NULL */
    json_t **ring;             /* private: replay ring of forwarded events */
    size_t *ring_size;         /* private: bytes of each ring entry (its compact JSON text) */
    size_t ring_cap;           /* private */
    size_t ring_head;          /* private: index of the oldest */
    size_t ring_n;             /* private */
    size_t ring_bytes;         /* read-only: sum of ring_size over the ring */
    int64_t completed_at_ms;   /* read-only: monotonic ms of the complete (retention), or 0 */
    uint64_t *conns;           /* private: attached connection ids */
    size_t n_conns;            /* private */
    json_t *held;              /* private: reorder-events mutant only */
    struct gw_run *next;       /* private: the registry's list */
};

struct gw_registry_hooks {
    /* A new or changed native id was captured (read run->writer.native_id). */
    void (*native_id)(void *ctx, struct gw_run *run);
    /* An event was forwarded (borrowed, with seq): history. */
    void (*forwarded)(void *ctx, struct gw_run *run, const json_t *ev);
    /* The run has just completed. */
    void (*completed)(void *ctx, struct gw_run *run);
    /* Optional: fan-out of a live event f (borrowed) to conn; NULL: straight to the outbox. The
     * core uses it to hold events back from a socket that is still being replayed to. */
    void (*fanout)(void *ctx, struct gw_run *run, uint64_t conn, struct gw_frame *f);
};

/*
 * New registry keeping replay_cap (at least 1) events per run. ob, rand and hooks are borrowed
 * and must outlive it. Never NULL.
 */
struct gw_registry *gw_registry_new(size_t replay_cap, struct gw_outbox *ob, struct wc_rand *rand,
                                    const struct gw_registry_hooks *hooks, void *hooks_ctx);
/* Frees every run, whatever its references. Accepts NULL. */
void gw_registry_free(struct gw_registry *reg);

/*
 * Memory retention of the replay rings. Sizes are bytes of the events' compact JSON text (what
 * a socket is sent; the json_t tree in memory costs somewhat more).
 * - ring_bytes: a run's ring drops its oldest events while it holds more than this (the newest
 *   event always stays, however large), on top of the event cap. 0: no byte cap.
 * - budget_bytes: while the rings of all runs together hold more than this, the rings of
 *   replaced runs, then of completed runs no socket is attached to, then of the other
 *   completed runs are emptied (the one that completed first first); then the
 *   largest ring of a running run drops its oldest event, again and again (its newest stays).
 *   A completed run is never replayed (R-SUB-4), so emptying its ring changes no answer; a
 *   running run's dropped events are announced at replay (R-CAP-1, R-CAP-2). 0: no budget.
 * - retain_ms: a completed run stays its session's current run (its lastSeq reported,
 *   R-SUB-4) this long after its complete, then the registry releases it (and its ring) at the
 *   next gw_registry_expire. 0: until the next send replaces it.
 * - clock_ms: the monotonic clock that stamps completions; NULL: wc_now_ms.
 */
struct gw_retention {
    size_t ring_bytes;
    size_t budget_bytes;
    int64_t retain_ms;
    int64_t (*clock_ms)(void);
};

/* Set the retention (copied). The default of gw_registry_new is all zero: no limits. */
void gw_registry_set_retention(struct gw_registry *reg, const struct gw_retention *r);
/* Release every completed current run whose retention ended at or before now_ms. Returns how
 * many were released. */
size_t gw_registry_expire(struct gw_registry *reg, int64_t now_ms);
/* When the next completed run's retention ends (monotonic ms), or -1 when none will. */
int64_t gw_registry_next_expiry(const struct gw_registry *reg);
/* Bytes held by the rings of every run together. */
size_t gw_registry_ring_bytes(const struct gw_registry *reg);

/* The session's current run (running or completed), or NULL. Borrowed. */
struct gw_run *gw_registry_current(struct gw_registry *reg, const char *session_id);
/* Every run still referenced, current or not (for shutdown). Borrowed; follow ->next. */
struct gw_run *gw_registry_first(struct gw_registry *reg);

/*
 * Start a new run for session_id, attached to conn (0: none), replacing a completed run.
 * native_id is the stored id to resume (may be NULL). Returns 0 and *out (borrowed, held by the
 * registry), or WC_ERR_STATE when the current run is still running (RUN_IN_PROGRESS).
 */
int gw_registry_start_run(struct gw_registry *reg, const char *session_id, const char *owner,
                          const char *provider, const char *native_id, uint64_t conn,
                          struct gw_run **out);

/* One event from the run's provider (takes ev): decorate, number, buffer, fan out. */
void gw_registry_emit(struct gw_registry *reg, struct gw_run *run, json_t *ev);
/* The provider announced its native id (writer.setSessionId). */
void gw_registry_announce(struct gw_registry *reg, struct gw_run *run, const char *native_id);

/*
 * Complete `run` with a synthetic complete{exitCode, aborted} if it is still current and running.
 * Returns true when a complete was forwarded.
 */
bool gw_registry_complete_if_current(struct gw_registry *reg, struct gw_run *run, int exit_code,
                                     bool aborted);

/* Attach conn to the run (fan-out; idempotent). */
void gw_registry_attach(struct gw_registry *reg, struct gw_run *run, uint64_t conn);
/* Forget conn everywhere (it closed). */
void gw_registry_detach_all(struct gw_registry *reg, uint64_t conn);
/* True when conn is attached to run. */
bool gw_registry_is_attached(const struct gw_run *run, uint64_t conn);
bool gw_run_is_attached(const struct gw_run *run, uint64_t conn);

/*
 * Queue for conn the replay after a chat_subscribed with cursor last_seq: an optional
 * history_truncated, then the buffered events with seq > cursor, ascending. A cursor above the
 * run's lastSeq (an older run's) replays the whole run (R-SUB-7).
 */
void gw_registry_replay(struct gw_registry *reg, struct gw_run *run, uint64_t conn,
                        int64_t last_seq);

/*
 * The first half of gw_registry_replay, for a replay streamed as the socket drains (issue 18):
 * normalise the cursor and queue the optional history_truncated. Returns the seq after which the
 * replay starts (the buffered events with a greater seq are to be replayed, ascending).
 */
int64_t gw_registry_replay_start(struct gw_registry *reg, struct gw_run *run, uint64_t conn,
                                 int64_t last_seq);
/* The buffered event with the smallest seq greater than seq, or NULL. Borrowed. */
const json_t *gw_run_buffered_after(const struct gw_run *run, int64_t seq);
/* The seq of the oldest buffered event, or last_seq + 1 when none is buffered. */
int64_t gw_run_first_buffered(const struct gw_run *run);

/* New array [{sessionId, provider, startedAt, lastSeq}] of owner's running runs (NULL: all). */
json_t *gw_registry_list_running(struct gw_registry *reg, const char *owner);

struct gw_run *gw_run_ref(struct gw_run *run);
void gw_run_unref(struct gw_run *run);

#endif
