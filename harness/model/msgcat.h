/*
 * msgcat.h: the message catalog of a spec version (spec/<version>/catalog.yaml): which inbound
 * `type`s and outbound `kind`s exist, their fields and the envelope of run events, and frame
 * validation against it (R-CAT-1, R-EVT-1, R-TERM-3 through the catalog_valid checker).
 *
 * Extensions (chat.edit-send, permission_resolved, ...) are valid only when the target declares
 * them by name; a kind nobody declared is always reported, never silently accepted. Extra fields
 * beyond those listed are allowed. Sans-I/O apart from loading the file. Depends on lib/
 * (wc_yaml, wc_json, wc_mem) and jansson.
 */
#ifndef HN_MSGCAT_H
#define HN_MSGCAT_H

#include <stdbool.h>

#include <jansson.h>

struct hn_msgcat;

/*
 * Load spec_dir/catalog.yaml (e.g. spec_dir "spec/chatgw-1.0") and enable the extension kinds
 * and inbound types the target declares (JSON arrays of strings, or NULL for none). Returns a
 * new catalog, or NULL with *err a new "file:line:col: message" (free()): unreadable file, a
 * malformed catalog, or a declared extension the catalog does not define.
 */
struct hn_msgcat *hn_msgcat_load(const char *spec_dir, const json_t *ext_kinds,
                                 const json_t *ext_types, char **err);

/* The same from YAML text; `name` is used in messages. */
struct hn_msgcat *hn_msgcat_load_string(const char *name, const char *yaml, const json_t *ext_kinds,
                                        const json_t *ext_types, char **err);

/*
 * Validate an outbound (server -> client) frame: an object with a string `kind` that the
 * catalog (or a declared extension) defines, not in `never`, with the envelope when the kind is
 * a run event, and its fields. 0 if valid; else WC_ERR_PROTOCOL and *why = a new message
 * naming every problem ("stream_delta: missing required field 'content'; ...").
 */
int hn_msgcat_check_outbound(const struct hn_msgcat *c, const json_t *frame, char **why);

/* Validate an inbound (client -> server) frame by its `type`. Same return convention. */
int hn_msgcat_check_inbound(const struct hn_msgcat *c, const json_t *frame, char **why);

/*
 * Only the run-event envelope (id, sessionId, timestamp, provider, seq) of an outbound frame.
 * 0 or WC_ERR_PROTOCOL with *why. Lets catalog_valid tell R-EVT-1 from R-CAT-1.
 */
int hn_msgcat_check_envelope(const struct hn_msgcat *c, const json_t *frame, char **why);

/* True when `kind` is an outbound kind of this catalog (or a declared extension) with seq: true. */
bool hn_msgcat_is_run_event(const struct hn_msgcat *c, const char *kind);
/* True when `type` is an inbound type of this catalog (or a declared extension type). */
bool hn_msgcat_has_inbound(const struct hn_msgcat *c, const char *type);
/* True when `kind` is listed in `never` (session_created). */
bool hn_msgcat_is_never(const struct hn_msgcat *c, const char *kind);
/* The catalog's `version` string (borrowed), e.g. "chatgw/1.0". */
const char *hn_msgcat_version(const struct hn_msgcat *c);

/* Accepts NULL. */
void hn_msgcat_free(struct hn_msgcat *c);

#endif
