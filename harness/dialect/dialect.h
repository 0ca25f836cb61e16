/*
 * dialect.h: the wire dialects the harness speaks (chatgw/1, dispatch-ws/1), one ops table
 * per dialect in its own file (chatgw1.c, dispatch_ws1.c). Everything that differs between
 * two gateways' client protocols is here; the runner, the matcher, the transcript, the
 * verdicts and the reports are dialect-free and ask the table.
 *
 * Selection: the spec version (`--spec-version`, default chatgw/1.0; a transcript's header
 * `spec`) names the dialect: hn_dialect_for("dispatch-ws/1") is Dispatch's table. One version
 * string thus chooses the spec directory, the requirement ids, the cases' directory, the
 * checkers and the wire.
 *
 * Layer dialect/ (harness/README.md): below exec/ and cmd/, above model/ and check/.
 */
#ifndef HN_DIALECT_H
#define HN_DIALECT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "check/invariant.h"
#include "model/msgcat.h"
#include "model/scenario.h"
#include "model/transcript.h"

/* How a case's `sessions:` become ids before the steps. */
enum hn_session_mode {
    HN_SESSIONS_REST,     /* POST to the profile's session path (chatgw/1) */
    HN_SESSIONS_CLIENT_ID /* the harness makes the id; the first chat.send creates it (Dispatch) */
};

struct hn_dialect {
    const char *name;                /* "chatgw/1" */
    const char *const *versions;     /* the spec versions it serves, NULL-terminated */
    const char *default_version;     /* "chatgw/1.0" */
    const char *case_dir;            /* where its cases live: "cases", "cases/dispatch-ws-1" */
    const char *const *foreign_dirs; /* directories under case_dir holding another dialect's
                                        cases, skipped by the default walk; NULL-terminated */
    struct hn_wire wire;             /* frame identity key, default ignore, broadcasts */
    enum hn_session_mode sessions;
    const char *provider_field; /* the chat.send field the directive travels in: "content" */
    /* The sentinel: a request a gateway answers at once with a frame naming the id. */
    json_t *(*sentinel_frame)(const char *id);
    const char *sentinel_answer; /* what answers it, for messages: "chat_subscribed" */
    /* The sentinel id a received frame answers (borrowed from frame), or NULL. */
    const char *(*sentinel_reply)(const json_t *frame);
    /* The identity of a frame or pattern (borrowed), or NULL: what `ignore` and expect name. */
    const char *(*frame_id)(const json_t *frame);
    /* The checker table and the run over a transcript (check/invariant.h shapes). */
    const struct hn_invariant_info *(*checks)(size_t *n);
    json_t *(*check_run)(const struct hn_transcript *t, const struct hn_msgcat *catalog);
    bool catalog_required; /* `gwspec check` needs the spec's catalog.yaml */
    /* The requirement that obliges the target to answer the sentinel, or NULL: when set (a client
     * dialect: claude-remote/1's CR-CTL-2), an unanswered sentinel on an open connection is a
     * failure of it, not a harness ERROR. */
    const char *sentinel_requirement;
};

extern const struct hn_dialect hn_dialect_chatgw1;
extern const struct hn_dialect hn_dialect_dispatch_ws1;
extern const struct hn_dialect hn_dialect_claude_remote1;  /* the server role: a client target */
extern const struct hn_dialect hn_dialect_claude_control1; /* the server role: the SDK */

/* The dialect of a spec version ("chatgw/1.0", "dispatch-ws/1"): the one whose name (the
 * part before the '/') the version starts with. Never NULL: NULL, and a version no dialect
 * names (a spec author's draft in $GWSPEC_SPEC_PATH), are chatgw/1. */
const struct hn_dialect *hn_dialect_for(const char *version);

/* Every dialect, NULL-terminated. */
extern const struct hn_dialect *const hn_dialects[];

#endif
