/*
 * chatgw1.c: the chatgw/1 dialect (spec/chatgw-1.0): sessions over REST, server frames named
 * by `kind`, the sentinel `chat.subscribe` of an id no session has (answered by its
 * `chat_subscribed`), the directive in `chat.send.content`, the checkers of check/invariant.c.
 */
#include <string.h>

#include "dialect/dialect.h"
#include "wc_json.h"
#include "wc_banned.h"

static const char *const versions[] = {"chatgw/1.0", NULL};
static const char *const foreign[] = {"dispatch-ws-1", "claude-remote-1", "claude-control-1", NULL};
static const char *const broadcast[] = {"session_upserted", "loading_progress", NULL};

static json_t *sentinel_frame(const char *id)
{
    return json_pack("{s:s, s:[{s:s}]}", "type", "chat.subscribe", "sessions", "sessionId", id);
}

static const char *sentinel_reply(const json_t *frame)
{
    const char *kind = wc_json_str(frame, "kind");
    return kind && !strcmp(kind, "chat_subscribed") ? wc_json_str(frame, "sessionId") : NULL;
}

static const char *frame_id(const json_t *frame)
{
    return json_is_object(frame) ? wc_json_str(frame, "kind") : NULL;
}

const struct hn_dialect hn_dialect_chatgw1 = {
    .name = "chatgw/1",
    .versions = versions,
    .default_version = "chatgw/1.0",
    .case_dir = "cases",
    .foreign_dirs = foreign,
    .wire = {.id_key = "kind",
             .default_ignore = broadcast,
             .broadcast = broadcast,
             .capabilities = hn_capabilities},
    .sessions = HN_SESSIONS_REST,
    .provider_field = "content",
    .sentinel_frame = sentinel_frame,
    .sentinel_answer = "chat_subscribed",
    .sentinel_reply = sentinel_reply,
    .frame_id = frame_id,
    .checks = hn_invariant_table,
    .check_run = hn_invariants_run,
    .catalog_required = true,
};
