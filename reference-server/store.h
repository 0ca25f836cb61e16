/*
 * store.h: the session store (SQLite): app sessions, their owner, provider, projectPath and
 * name, the provider-native id mapping, and the history of forwarded run events served by
 * GET /api/providers/sessions/:id/messages (without seq).
 *
 * A file database survives a restart: a restarted gateway resumes a session with the native id
 * the previous process stored. ":memory:" (the default) lives as long as the process.
 * Depends on sqlite3, jansson and lib/. No lws, no sockets.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "wc_json.h"
#include "wc_rand.h"

struct gw_store;

struct gw_session {
    char *id;           /* app session id (UUID v4) */
    char *owner;        /* user name */
    char *provider;     /* claude | cursor | codex | opencode */
    char *project_path; /* trimmed projectPath */
    char *name;         /* sessionName */
    char *native_id;    /* provider-native id, or NULL before the first announce */
};

/* Open (and create) the store at path (":memory:" or a file). NULL and *err (new) on failure. */
struct gw_store *gw_store_open(const char *path, char **err);
void gw_store_free(struct gw_store *st); /* accepts NULL */
/*
 * How many times this database has been opened, this time included (1 for ":memory:"). The core
 * mixes it into its seed so a restarted gateway with the same --seed does not repeat ids.
 */
int64_t gw_store_opens(const struct gw_store *st);

/*
 * Create a session with a fresh UUID v4 from rand. Fills out (release with
 * gw_session_release). Returns 0 or WC_ERR_IO.
 */
int gw_store_create(struct gw_store *st, struct wc_rand *rand, const char *owner,
                    const char *provider, const char *project_path, const char *name,
                    struct gw_session *out);
/* Look up by app id. Returns 0 and fills out, WC_ERR_NOTFOUND, or WC_ERR_IO. */
int gw_store_get(struct gw_store *st, const char *id, struct gw_session *out);
/* Record the native id of a session. Returns 0, WC_ERR_NOTFOUND or WC_ERR_IO. */
int gw_store_set_native(struct gw_store *st, const char *id, const char *native_id);
/*
 * Append one history message (borrowed; stored as compact JSON). Appends are batched in one
 * transaction until gw_store_flush (reads on this store see them at once). Returns 0 or
 * WC_ERR_IO.
 */
int gw_store_add_message(struct gw_store *st, const char *id, const json_t *msg);
/*
 * Page of a session's history, taken from the tail: offset 0 is the newest page; inside a page
 * the messages are oldest first. limit < 0 means all; offset must be >= 0 (the REST layer never
 * passes a negative one). *total gets the count. New array.
 */
json_t *gw_store_messages(struct gw_store *st, const char *id, int64_t limit, int64_t offset,
                          int64_t *total);

/*
 * The byte budget of the history (0: none, the default of gw_store_open). A message costs the
 * bytes of its JSON text plus those of its session id (SQLite's pages and index come on top).
 * When an append takes the history over the budget, the store prunes it down to 90% of it:
 * sessions in the order of their newest message (the least recently active first) lose their
 * oldest messages, a whole history at a time, the last one only as much as needed. The message
 * just appended is never pruned. A pruned session keeps its newest messages and its row (its
 * native id too): GET .../messages then pages over what is left, total included (R-REST-4).
 * A lower budget prunes at the next append.
 */
void gw_store_set_budget(struct gw_store *st, size_t bytes);
/* Bytes the history holds by that count. */
size_t gw_store_bytes(const struct gw_store *st);

/* Commit batched appends (the glue calls it when the loop goes idle; free does it too). st is
 * not NULL. */
void gw_store_flush(struct gw_store *st);

void gw_session_release(struct gw_session *s);

#endif
