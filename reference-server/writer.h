/*
 * writer.h: the per-run writer: turns a provider's event into a client run event.
 *
 * Every event gets sessionId = the app id, every occurrence of the native id in any string value
 * at any depth (objects and arrays) becomes the app id (R-MAP-2 wins over R-FWD-1), an id
 * `<kind>_<uuid>` if it has none, an ISO-8601 timestamp if it has none, and the run's provider.
 * `session_created` is swallowed and only records the native id. A `complete` is normalised:
 * exitCode a number (1 when missing), aborted a bool, success = exitCode == 0 && !aborted,
 * actualSessionId = the app id. seq is not the writer's business (the registry numbers what it
 * forwards). Sans-I/O. Depends on jansson and lib/.
 */
#ifndef GW_WRITER_H
#define GW_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "wc_json.h"
#include "wc_rand.h"

/*
 * The deepest nesting the remap walks (the event object is depth 0). Provider events reach the
 * writer parsed by jansson, which refuses input nested deeper than JSON_PARSER_MAX_DEPTH
 * whatever the frame cap lets through; an event deeper than that cannot have been parsed and
 * is dropped rather than forwarded half remapped.
 */
#define GW_WRITER_MAX_DEPTH JSON_PARSER_MAX_DEPTH

/* A native id shorter than this is remapped only where it stands alone as a token. */
#define GW_WRITER_SHORT_ID 8

struct gw_writer {
    char *app_id;         /* read-only: the app session id */
    char *provider;       /* read-only: claude | cursor | codex | opencode */
    char *native_id;      /* read-only: the provider-native id known so far, or NULL */
    struct wc_rand *rand; /* borrowed: for generated ids */
};

enum gw_writer_action {
    GW_WRITER_FORWARD, /* *out is the decorated event (new) */
    GW_WRITER_SWALLOW, /* session_created: nothing to forward (see *announced) */
    GW_WRITER_DROP,    /* not a kind-based object, or nested past GW_WRITER_MAX_DEPTH: dropped */
};

/* Initialise. native_id (the stored id being resumed) may be NULL. Strings are copied. */
void gw_writer_init(struct gw_writer *w, const char *app_id, const char *provider,
                    const char *native_id, struct wc_rand *rand);
void gw_writer_release(struct gw_writer *w);

/*
 * Record the provider's native id. Returns true when it is new or changed (persist + upsert);
 * false for NULL, "", the current id, and an id that is not valid UTF-8 (refused: not recorded).
 */
bool gw_writer_capture(struct gw_writer *w, const char *native_id);

/*
 * Decorate one provider event. Takes ev, which must be the only reference: it is decorated in
 * place and becomes *out on GW_WRITER_FORWARD (*out is NULL otherwise). *announced is set to
 * true when the event was a session_created that announced a new native id (read it from
 * w->native_id).
 */
enum gw_writer_action gw_writer_decorate(struct gw_writer *w, json_t *ev, json_t **out,
                                         bool *announced);

/*
 * Remap the native id known so far in every string value of v, at any depth, in place (what
 * decorate does to an event), for provider data that reaches clients outside an event (a
 * pending permission's input in chat_subscribed). False when v nests deeper than
 * GW_WRITER_MAX_DEPTH (v is then partly remapped: do not send it).
 */
bool gw_writer_remap(struct gw_writer *w, json_t *v);

/* A new synthetic complete {kind, exitCode, aborted} (undecorated: pass it to decorate). */
json_t *gw_writer_complete_event(int exit_code, bool aborted);

/* JavaScript truthiness of a JSON value (NULL is false), as Boolean(x). */
bool gw_json_truthy(const json_t *v);

#endif
