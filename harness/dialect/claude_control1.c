/*
 * claude_control1.c: the claude-control/1 dialect (spec/claude-control-1: the Claude Agent
 * SDK's side of the SDK control protocol over stdio stream-json, with the Claude Code CLI as the
 * peer). The second dialect of the server role: the target is the SDK (or the reference client
 * in its claude-control dialect), the harness plays the CLI. The SDK spawns a CLI executable;
 * the profile points it at bin/gwspec-cli-relay with GWSPEC_CLI_URL set to the case's URL, so
 * an accepted connection is one spawned CLI process (its argv in the open record) and every
 * frame is one stream-json line. A case's steps are the server role's.
 *
 * Frames are named by `type` in both directions. The sentinel is a control_request of a subtype
 * no SDK knows; a conforming one answers it at once with control_response{subtype: error,
 * request_id} (CC-CTL-2), after every line it wrote before. `keep_alive` is ignored by default.
 * The checkers are check/claude_control.c's.
 */
#include "check/claude_control.h"
#include "check/sdkctl.h"
#include "dialect/dialect.h"
#include "wc_banned.h"

static const char *const versions[] = {"claude-control/1", NULL};
static const char *const none[] = {NULL};
static const char *const ignore[] = {"keep_alive", NULL};

const struct hn_dialect hn_dialect_claude_control1 = {
    .name = "claude-control/1",
    .versions = versions,
    .default_version = "claude-control/1",
    .case_dir = "cases/claude-control-1",
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
    .checks = hn_claude_control_table,
    .check_run = hn_claude_control_run,
    .catalog_required = false,
    .sentinel_requirement = "CC-CTL-2",
};
