/*
 * provider.h: the seam between the gateway core and a provider runtime.
 *
 * The core starts one provider run per chat.send through struct gw_provider_ops and hears back
 * through struct gw_provider_sink, whose callbacks the provider may call at any time from the
 * event loop (also synchronously from inside open/start/abort/permission). The mock runtime
 * implements the ops (provider_mock.c); unit tests plug in a recording fake.
 *
 * Lifetime: after `ended` the provider calls nothing more. The core calls `release` exactly once
 * per run (after `ended`, or at shutdown for a run that never ended); `release` may be called
 * from inside a sink callback, and the provider then frees the run after that callback returns.
 * Depends on jansson only.
 */
#ifndef GW_PROVIDER_H
#define GW_PROVIDER_H

#include <stdbool.h>

#include <jansson.h>

struct gw_prun;

struct gw_provider_args {
    const char *provider;       /* claude | cursor | codex | opencode */
    const char *app_session_id; /* for logs only: the provider never sees the app id otherwise */
    const char *prompt;         /* chat.send content */
    const char *cwd;            /* the working directory: the session's projectPath (R-TRUST-1) */
    json_t *options;            /* borrowed object: what the gateway passes on */
    const char *resume;         /* the native id to resume, or NULL (R-RES-1) */
};

struct gw_provider_sink {
    /* A normalized event (takes the reference). */
    void (*event)(void *ctx, json_t *ev);
    /* The provider announced its native session id. */
    void (*announce)(void *ctx, const char *native_id);
    /* The provider asks permission for a tool (input borrowed). timeout_ms > 0: the provider
     * asks for a shorter approval window than the gateway's own (a mock-provider test hook). */
    void (*permission)(void *ctx, const char *tool_name, json_t *input, int64_t timeout_ms);
    /* The run is over; exit_code is the provider's exit status. Nothing follows. */
    void (*ended)(void *ctx, int exit_code);
};

struct gw_provider_ops {
    /* Create a run (not started yet). NULL and *err (new) on failure. */
    struct gw_prun *(*open)(void *self, const struct gw_provider_args *args,
                            const struct gw_provider_sink *sink, void *sink_ctx, char **err);
    /* Start it: it may emit (and even end) before this returns. */
    void (*start)(struct gw_prun *p);
    /* Stop it. Returns true when the run was still going ("found"). */
    bool (*abort)(struct gw_prun *p);
    /* Answer its pending permission request (cancelled: with reason, e.g. "timeout"). */
    void (*permission)(struct gw_prun *p, const char *request_id, bool allow, bool cancelled,
                       const char *reason);
    /* The core forgets the run (see the lifetime note above). */
    void (*release)(struct gw_prun *p);
    /*
     * Optional (issue 18): paused true when every socket attached to the run is full; the
     * provider stops producing (stops reading its CLI's output) until it is called with false.
     * Called from anywhere, also from inside a sink callback; it must not call the sink.
     */
    void (*flow)(struct gw_prun *p, bool paused);
};

/* True for the four providers a session may use (exact, lower case). */
bool gw_provider_is_known(const char *name);

#endif
