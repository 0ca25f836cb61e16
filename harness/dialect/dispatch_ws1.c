/*
 * dispatch_ws1.c: the dispatch-ws/1 dialect (spec/dispatch-ws-1: Dispatch's transport-ws,
 * ../shared/protocol/others.md Part A). Every frame is named by `type`, live events travel as
 * `chat.delta{event}` with no seq. A case's conversation ids are made by the harness (Dispatch
 * takes the `conversationId` of the first `chat.send`), the directive travels in
 * `chat.send.message`. The sentinel is a surface `subscribe` of an id no surface has, which the
 * router answers at once with `error "Unknown surface: <id>"` (router.ts@01928fe). The default
 * `ignore` is the catalog sent on open and the conversation broadcasts, which reach every
 * connection (A.4): a case that observes them needs own_target. The checkers are D-1 ... D-12
 * (check/dispatch.c).
 */
#include <string.h>

#include "check/dispatch.h"
#include "dialect/dialect.h"
#include "wc_json.h"
#include "wc_banned.h"

#define UNKNOWN_SURFACE "Unknown surface: "

static const char *const versions[] = {"dispatch-ws/1", NULL};
static const char *const none[] = {NULL};
/* spec/dispatch-ws-1/requirements.yaml's capabilities */
static const char *const capabilities[] = {"http-api", "orchestrator-error", "queue-surface", NULL};
static const char *const ignore[] = {"catalog", "conversation.open", "conversation.statusChanged",
                                     "conversation.compacted", NULL};
static const char *const broadcast[] = {"conversation.open", "conversation.statusChanged",
                                        "conversation.compacted", NULL};

static json_t *sentinel_frame(const char *id)
{
    return json_pack("{s:s, s:s}", "type", "subscribe", "surfaceId", id);
}

static const char *sentinel_reply(const json_t *frame)
{
    const char *type = wc_json_str(frame, "type"), *msg = wc_json_str(frame, "message");
    if (!type || strcmp(type, "error") || !msg ||
        strncmp(msg, UNKNOWN_SURFACE, strlen(UNKNOWN_SURFACE)))
        return NULL;
    return msg + strlen(UNKNOWN_SURFACE);
}

static const char *frame_id(const json_t *frame)
{
    return json_is_object(frame) ? wc_json_str(frame, "type") : NULL;
}

const struct hn_dialect hn_dialect_dispatch_ws1 = {
    .name = "dispatch-ws/1",
    .versions = versions,
    .default_version = "dispatch-ws/1",
    .case_dir = "cases/dispatch-ws-1",
    .foreign_dirs = none,
    .wire = {.id_key = "type",
             .default_ignore = ignore,
             .broadcast = broadcast,
             .broadcast_to_all = true,
             .capabilities = capabilities,
             .client_sessions = true},
    .sessions = HN_SESSIONS_CLIENT_ID,
    .provider_field = "message",
    .sentinel_frame = sentinel_frame,
    .sentinel_answer = "error \"Unknown surface\"",
    .sentinel_reply = sentinel_reply,
    .frame_id = frame_id,
    .checks = hn_dispatch_table,
    .check_run = hn_dispatch_run,
    .catalog_required = false,
};
