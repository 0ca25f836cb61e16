/*
 * claude_remote1.c: the claude-remote/1 dialect (spec/claude-remote-1: the client side of Claude
 * Code's session socket, SessionsWebSocket, and the control protocol it carries). The first
 * dialect of the server role: the target is a client program, the harness plays the session
 * server (exec/run_server.c), so a case's steps are the server role's (accept, send {to},
 * expect {from}, close, drop, expect_connect, expect_no_connect, act, quiesce).
 *
 * Frames are named by `type` in both directions. The sentinel is a control_request of a subtype
 * no client knows; a conforming client answers it at once with control_response{subtype: error,
 * request_id} (CR-CTL-2), after everything it sent before. Nothing is ignored by default but
 * `keep_alive`. The checkers are check/claude_remote.c's.
 */
#include <string.h>

#include "check/claude_remote.h"
#include "dialect/dialect.h"
#include "wc_json.h"
#include "wc_banned.h"

#define SENTINEL_PREFIX "gwspec-sentinel-"

static const char *const versions[] = {"claude-remote/1", NULL};
static const char *const none[] = {NULL};
static const char *const ignore[] = {"keep_alive", NULL};

static json_t *sentinel_frame(const char *id)
{
    return json_pack("{s:s, s:s, s:{s:s}}", "type", "control_request", "request_id", id, "request",
                     "subtype", "gwspec_sentinel");
}

static const char *sentinel_reply(const json_t *frame)
{
    const char *type = wc_json_str(frame, "type");
    const json_t *resp = json_object_get(frame, "response");
    const char *id = wc_json_str(resp, "request_id");

    if (!type || strcmp(type, "control_response") || !id ||
        strncmp(id, SENTINEL_PREFIX, strlen(SENTINEL_PREFIX)))
        return NULL;
    return id;
}

static const char *frame_id(const json_t *frame)
{
    return json_is_object(frame) ? wc_json_str(frame, "type") : NULL;
}

const struct hn_dialect hn_dialect_claude_remote1 = {
    .name = "claude-remote/1",
    .versions = versions,
    .default_version = "claude-remote/1",
    .case_dir = "cases/claude-remote-1",
    .foreign_dirs = none,
    .wire = {.id_key = "type",
             .default_ignore = ignore,
             .broadcast = none,
             .broadcast_to_all = false,
             .capabilities = none,
             .client_sessions = true,
             .server_role = true},
    .sessions = HN_SESSIONS_CLIENT_ID,
    .provider_field = "message",
    .sentinel_frame = sentinel_frame,
    .sentinel_answer = "control_response error",
    .sentinel_reply = sentinel_reply,
    .frame_id = frame_id,
    .checks = hn_claude_remote_table,
    .check_run = hn_claude_remote_run,
    .catalog_required = false,
    .sentinel_requirement = "CR-CTL-2",
};
