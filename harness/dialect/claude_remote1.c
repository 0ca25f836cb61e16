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
#include "check/claude_remote.h"
#include "check/sdkctl.h"
#include "dialect/dialect.h"
#include "wc_banned.h"

static const char *const versions[] = {"claude-remote/1", NULL};
static const char *const none[] = {NULL};
static const char *const ignore[] = {"keep_alive", NULL};

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
    .sentinel_frame = hn_sc_sentinel_frame,
    .sentinel_answer = "control_response error",
    .sentinel_reply = hn_sc_sentinel_reply,
    .frame_id = hn_sc_frame_id,
    .checks = hn_claude_remote_table,
    .check_run = hn_claude_remote_run,
    .catalog_required = false,
    .sentinel_requirement = "CR-CTL-2",
};
