/*
 * writer.h: the per-run writer: turns a provider's event into a client run event.
 *
 * Every event gets sessionId = the app id (and any top-level string equal to the native id is
 * remapped too), an id `<kind>_<uuid>` if it has none, an ISO-8601 timestamp if it has none,
 * and the run's provider. `session_created` is swallowed and only records the native id. A
 * `complete` is normalised: exitCode a number (1 when missing), aborted a bool,
 * success = exitCode == 0 && !aborted, actualSessionId = the app id. seq is not the writer's
 * business (the registry numbers what it forwards). Sans-I/O. Depends on jansson and lib/.
 */
#ifndef GW_WRITER_H
#define GW_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "wc_json.h"

struct gw_writer {
    char *app_id;          /* read-only: the app session id */
    char *provider;        /* read-only: claude | cursor | codex | opencode */
    char *native_id;       /* read-only: the provider-native id known so far, or NULL */
    struct wc_rand *rand;  /* borrowed: for generated ids */
};

enum gw_writer_action {
    GW_WRITER_FORWARD,   /* *out is the decorated event (new) */
    GW_WRITER_SWALLOW,   /* session_created: nothing to forward (see *announced) */
    GW_WRITER_DROP,      /* not a kind-based object: dropped */
};

/* Initialise. native_id (the stored id being resumed) may be NULL. Strings are copied. */
void gw_writer_init(struct gw_writer *w, const char *app_id, const char *provider,
                    const char *native_id, struct wc_rand *rand);
void gw_writer_release(struct gw_writer *w);

/* Record the provider's native id. Returns true when it is new or changed (persist + upsert). */
bool gw_writer_capture(struct gw_writer *w, const char *native_id);

/*
 * Decorate one provider event. Takes ev. *announced is set to true when the event was a
 * session_created that announced a new native id (read it from w->native_id).
 */
enum gw_writer_action gw_writer_decorate(struct gw_writer *w, json_t *ev, json_t **out,
                                         bool *announced);

/* A new synthetic complete {kind, exitCode, aborted} (undecorated: pass it to decorate). */
json_t *gw_writer_complete_event(int exit_code, bool aborted);

/* JavaScript truthiness of a JSON value (NULL is false), as Boolean(x). */
bool gw_json_truthy(const json_t *v);

#endif
