/*
 * mutants.h: named deliberate bugs of the reference gateway (`--mutant NAME`).
 *
 * Each mutant is one `if (gw_mutant_on(GW_MUT_X))` at the place where the real bug would live,
 * never a separate code path. At most one mutant is on per process. The table names the
 * requirement(s) each mutant breaks, so `make mutants` can select the cases that must kill it.
 * Depends on nothing but libc.
 */
#ifndef GW_MUTANTS_H
#define GW_MUTANTS_H

#include <stdbool.h>
#include <stdio.h>

/* X(ENUM, name, requirements (comma separated, no spaces), description) */
/* clang-format off */
#define GW_MUTANT_TABLE(X)                                                                       \
    X(DUP_COMPLETE, "dup-complete", "R-TERM-1", "a second complete from the provider is forwarded") \
    X(NO_SYNTHETIC_COMPLETE, "no-synthetic-complete", "R-TERM-4",                                \
      "a provider that ends without a terminal event yields no complete")                       \
    X(LEAK_PROVIDER_ID, "leak-provider-id", "R-MAP-2,R-MAP-1",                                   \
      "run events keep the provider-native sessionId")                                          \
    X(REMAP_TOP_LEVEL_ONLY, "remap-top-level-only", "R-MAP-2",                                   \
      "the native id is remapped only in an event's top-level strings, not in objects or arrays") \
    X(FORWARD_SESSION_CREATED, "forward-session-created", "R-MAP-3",                             \
      "session_created is forwarded to the client")                                             \
    X(SEQ_GAP, "seq-gap", "R-SEQ-1", "seq skips a number after seq 2")                           \
    X(SEQ_NO_RESET, "seq-no-reset", "R-SEQ-2", "a new run continues the previous run's seq")     \
    X(REPLAY_BEFORE_ACK, "replay-before-ack", "R-SUB-2", "the replay is sent before chat_subscribed") \
    X(REPLAY_IGNORES_LASTSEQ, "replay-ignores-lastseq", "R-SUB-2,R-SUB-3",                       \
      "the replay starts at seq 1 whatever lastSeq says")                                       \
    X(NO_REPLAY, "no-replay", "R-SUB-3,R-SUB-2", "subscribe never replays buffered events")      \
    X(EVENTS_AFTER_COMPLETE, "events-after-complete", "R-TERM-2",                                \
      "provider events after the run's complete are forwarded")                                 \
    X(ABORT_COMPLETES_NEWER_RUN, "abort-completes-newer-run", "R-ABORT-2",                       \
      "abort and the end-of-provider safety net complete the session's current run, not theirs") \
    X(ABORT_KEEPS_PROVIDER, "abort-keeps-provider", "R-ABORT-4",                                 \
      "abort does not stop a provider that has not announced its native id")                    \
    X(BUSY_ACCEPTS_SECOND_SEND, "busy-accepts-second-send", "R-BUSY-1",                          \
      "chat.send while a run is running starts a second run")                                   \
    X(UNKNOWN_TYPE_SILENT, "unknown-type-silent", "R-IN-2", "an unknown type gets no protocol_error") \
    X(INVALID_JSON_CLOSES, "invalid-json-closes", "R-IN-1,R-IN-4",                               \
      "malformed input closes the connection (1003) instead of a protocol_error")               \
    X(UTF8_UNCHECKED, "utf8-unchecked", "R-IN-6",                                              \
      "a text frame that is not UTF-8 is answered in-band (INTERNAL_ERROR), not closed with 1007") \
    X(CWD_FROM_CLIENT, "cwd-from-client", "R-TRUST-1", "a client-supplied options.cwd wins")     \
    X(CROSS_USER_ACCESS, "cross-user-access", "R-MU-1",                                          \
      "any user may send, abort and subscribe on any session")                                  \
    X(BROADCAST_TO_OTHER_USERS, "broadcast-to-other-users", "R-MU-2",                            \
      "session_upserted goes to every socket of every user")                                    \
    X(ERROR_TO_ALL_SOCKETS, "error-to-all-sockets", "R-IN-3", "protocol errors go to every socket") \
    X(SINGLE_WRITER, "single-writer", "R-FAN-1,R-FAN-2",                                         \
      "a subscribe takes the run's stream away from every other socket (CloudCLI 1.37.2)")      \
    X(NO_AUTH, "no-auth", "R-AUTH-1", "a missing or bad token is accepted as the first user")    \
    X(BEARER_IGNORED, "bearer-ignored", "R-AUTH-2", "the WebSocket upgrade ignores Authorization: Bearer") \
    X(BAD_LENGTH_WAITS, "bad-length-waits", "R-LIMIT-4",                                        \
      "a Content-Length that is not digits is read as a number and its body waited for")        \
    X(REST_200_ON_CREATE, "rest-200-on-create", "R-REST-1", "session creation answers 200, not 201") \
    X(REST_ACCEPTS_EMPTY_PATH, "rest-accepts-empty-path", "R-REST-2",                            \
      "session creation accepts an empty projectPath")                                          \
    X(RUNNING_LISTS_COMPLETED, "running-lists-completed", "R-REST-3",                            \
      "GET /sessions/running also lists completed runs")                                        \
    X(HISTORY_HAS_SEQ, "history-has-seq", "R-REST-4", "GET /sessions/:id/messages keeps seq")    \
    X(HISTORY_PROMPT_ID_REUSED, "history-prompt-id-reused", "R-REST-4",                          \
      "every user prompt stored in a session's history gets the same id")                      \
    X(WHITESPACE_ID_NOT_TRIMMED, "whitespace-id-not-trimmed", "R-SEND-1",                        \
      "sessionId is not trimmed: a whitespace id gets SESSION_NOT_FOUND")                       \
    X(WRONG_NOT_FOUND_TEXT, "wrong-not-found-text", "R-SEND-2",                                  \
      "SESSION_NOT_FOUND carries a different error text")                                       \
    X(SEND_ACK, "send-ack", "R-SEND-3,R-CAT-1", "an accepted chat.send is acknowledged with {kind:chat_ack}") \
    X(NO_TIMESTAMP, "no-timestamp", "R-EVT-1", "run events get no timestamp")                    \
    X(REPLAY_FRESH_IDS, "replay-fresh-ids", "R-SEQ-3",                                           \
      "replayed copies get a fresh id and timestamp")                                           \
    X(BUSY_UNTIL_PROVIDER_EXITS, "busy-until-provider-exits", "R-BUSY-2",                        \
      "the session stays busy until the provider ends, not until complete")                     \
    X(REORDER_EVENTS, "reorder-events", "R-FWD-1",                                               \
      "the first two forwarded events of a run swap their payloads")                            \
    X(COMPLETE_SUCCESS_WHEN_ABORTED, "complete-success-when-aborted", "R-TERM-3,R-ABORT-1",      \
      "complete.success ignores aborted")                                                       \
    X(ABORT_NOT_FLAGGED, "abort-not-flagged", "R-ABORT-1", "the abort's complete has aborted:false") \
    X(ABORT_SILENT_WHEN_IDLE, "abort-silent-when-idle", "R-ABORT-3",                             \
      "an abort with no running run gets no NO_ACTIVE_RUN")                                     \
    X(SUBSCRIBE_SKIPS_UNKNOWN, "subscribe-skips-unknown", "R-SUB-1",                             \
      "subscribe sends no chat_subscribed for an unknown session")                              \
    X(REPLAY_COMPLETED_RUN, "replay-completed-run", "R-SUB-4", "subscribe replays completed runs too") \
    X(LASTSEQ_PARSES_STRINGS, "lastseq-parses-strings", "R-SUB-5",                               \
      "a numeric string lastSeq is parsed as a number")                                         \
    X(SUBSCRIBE_NO_ATTACH, "subscribe-no-attach", "R-SUB-6",                                     \
      "a subscribe that finds the run processing does not attach the socket")                   \
    X(STALE_CURSOR_NO_REPLAY, "stale-cursor-no-replay", "R-SUB-7",                               \
      "a lastSeq above the current run's replays nothing (CloudCLI)")                           \
    X(TRUNCATION_RENUMBERS, "truncation-renumbers", "R-CAP-1",                                   \
      "a truncated replay is renumbered from lastSeq+1, hiding the gap")                        \
    X(NO_HISTORY_TRUNCATED, "no-history-truncated", "R-CAP-2",                                   \
      "a truncated replay is not announced with history_truncated")                             \
    X(PENDING_NOT_LISTED, "pending-not-listed", "R-PERM-1",                                      \
      "chat_subscribed.pendingPermissions is always empty")                                     \
    X(PERMISSION_RESPONSE_ACKS, "permission-response-acks", "R-PERM-2",                          \
      "chat.permission-response is answered with a frame")                                      \
    X(PERMISSION_NO_TIMEOUT, "permission-no-timeout", "R-PERM-3", "permissions never time out")  \
    X(PERMISSION_ALWAYS_DENY, "permission-always-deny", "R-PERM-4",                              \
      "every permission answer reaches the provider as deny")                                   \
    X(PENDING_KEPT_AFTER_END, "pending-kept-after-end", "R-PERM-5",                              \
      "a run that ends with a pending permission never answers its provider")                   \
    X(NO_RESUME, "no-resume", "R-RES-1", "the provider is never given the native id to resume")  \
    X(NO_PERSIST, "no-persist", "R-RES-2", "sessions live in memory only, whatever --db says")   \
    X(NO_FRAME_CAP, "no-frame-cap", "R-LIMIT-1", "inbound messages have no size cap")            \
    X(NO_SEND_CAP, "no-send-cap", "R-LIMIT-2", "a client that stops reading is never disconnected") \
    X(NO_PING, "no-ping", "R-HB-1", "the server never pings")                                   \
    X(UNAVAILABLE_PROVIDER_RUNS, "unavailable-provider-runs", "R-SEND-4",                         \
      "chat.send starts a run although the session's provider has no runtime")                  \
    X(PONG_IGNORED, "pong-ignored", "R-HB-3",                                                    \
      "pongs are not seen: every socket is dropped two intervals after its first ping")         \
    X(DROP_ABORTS_RUN, "drop-aborts-run", "R-HB-3",                                              \
      "a socket that goes away aborts the runs it was attached to")                            \
    X(COMMIT_AT_EXIT, "commit-at-exit", "R-RES-2",                                               \
      "store writes are committed only at a clean shutdown: a crash loses sessions and native ids") \
    X(DROPPED_TAKE_SEQ, "dropped-take-seq", "R-SEQ-1,R-SUB-4",                                   \
      "an event dropped after the run's complete still takes a seq (CloudCLI's only gaps)")     \
    X(REPLAY_QUEUED_WHOLE, "replay-queued-whole", "R-LIMIT-5",                                    \
      "a replay is queued whole: a refreshed tab with a replay over the send cap is dropped")   \
    X(PROVIDER_NEVER_PAUSED, "provider-never-paused", "R-LIMIT-5",                                \
      "the provider is never paused: a burst over the send cap drops a socket that reads")      \
    X(NUL_TRUNCATES_IDS, "nul-truncates-ids", "R-IN-2,R-SEND-1,R-SUB-1,R-PERM-2",                \
      "a type or id holding a NUL is cut at it: chat.send<NUL>x is chat.send, <id><NUL>x is <id>") \
    X(CLOSING_KEEPS_FLOW, "closing-keeps-flow", "R-LIMIT-5",                                      \
      "a socket closed for a lagging replay still counts as a reader that is not full: the "     \
      "provider goes on unpaused and the socket that reads is dropped at its send cap") \
    X(DISPATCH_ABORT_ON_CLOSE, "dispatch-abort-on-close", "R-D-CLOSE-1", \
      "closing the sender's socket aborts its turn (done reason aborted), the pre-fix mobile-reload bug") \
    X(DISPATCH_TURN_LISTENERS, "dispatch-turn-listeners", "R-D-SUB-4", \
      "listeners live in the per-turn record: a subscriber from before the turn (not its sender) gets nothing") \
    X(DISPATCH_REPLAY_AFTER_SEAL, "dispatch-replay-after-seal", "R-D-SUB-3", \
      "a subscribe after turn-sealed replays the sealed turn") \
    X(DISPATCH_BUSY_BEFORE_REPLAY, "dispatch-busy-before-replay", "R-D-SEND-6", \
      "a busy chat.send gets its chat.error before the replay of the running turn") \
    X(DISPATCH_CARRY_JOIN, "dispatch-carry-join", "R-D-QUEUE-4", \
      "queued texts are joined by one newline, not a blank line (carry and steering)") \
    X(DISPATCH_TOOL_RESULT_EARLY, "dispatch-tool-result-early", "R-D-TURN-3", \
      "a tool-result is sent when the provider gives it, before its step-complete") \
    X(DISPATCH_NO_CATALOG, "dispatch-no-catalog", "R-D-WS-1", \
      "no catalog frame on open") \
    X(DISPATCH_HTTP_200, "dispatch-http-200", "R-D-WS-2", \
      "a plain HTTP request on the WebSocket endpoint gets 200, not 426") \
    X(DISPATCH_INVALID_JSON_SILENT, "dispatch-invalid-json-silent", "R-D-IN-1", \
      "a frame that is not JSON gets no reply") \
    X(DISPATCH_BAD_TYPE_CLOSES, "dispatch-bad-type-closes", "R-D-IN-3", \
      "an unknown type closes the connection (1003)") \
    X(DISPATCH_MESSAGE_TRIMMED, "dispatch-message-trimmed", "R-D-SEND-1", \
      "chat.send's message is trimmed: a blank message is refused") \
    X(DISPATCH_EFFORT_UNCHECKED, "dispatch-effort-unchecked", "R-D-SEND-2", \
      "chat.send's reasoningEffort is not checked") \
    X(DISPATCH_IMAGES_UNCHECKED, "dispatch-images-unchecked", "R-D-SEND-3", \
      "chat.send's images is not checked") \
    X(DISPATCH_ERROR_NO_CONVERSATION, "dispatch-error-no-conversation-id", "R-D-SEND-4", \
      "a chat.error for a malformed request never carries the conversationId") \
    X(DISPATCH_NO_AUTO_SUBSCRIBE, "dispatch-no-auto-subscribe", "R-D-SEND-5", \
      "chat.send does not subscribe its sender") \
    X(DISPATCH_TURN_START_FIRST, "dispatch-turn-start-first", "R-D-TURN-1", \
      "turn-start comes before user-message") \
    X(DISPATCH_SEAL_BEFORE_DONE, "dispatch-seal-before-done", "R-D-TURN-2", \
      "turn-sealed comes before done") \
    X(DISPATCH_ERROR_TERMINAL, "dispatch-error-terminal", "R-D-TURN-4", \
      "a provider error ends the turn with the error alone (no step-complete, done, turn-sealed)") \
    X(DISPATCH_ORCH_ERROR_SEALS, "dispatch-orchestrator-error-seals", "R-D-TURN-5", \
      "an unknown model's error is followed by done and turn-sealed") \
    X(DISPATCH_RESUBSCRIBE_DUPLICATES, "dispatch-resubscribe-duplicates", "R-D-SUB-1", \
      "a second chat.subscribe replays again and adds a second listener") \
    X(DISPATCH_NO_REPLAY, "dispatch-no-replay", "R-D-SUB-2", \
      "a late chat.subscribe gets live events only") \
    X(DISPATCH_UNKNOWN_CONVERSATION_ERROR, "dispatch-unknown-conversation-error", "R-D-SUB-5", \
      "chat.subscribe of a conversation that never had a turn gets chat.error unknown conversation") \
    X(DISPATCH_UNSUBSCRIBE_IGNORED, "dispatch-unsubscribe-ignored", "R-D-SUB-7", \
      "chat.unsubscribe does not stop delivery") \
    X(DISPATCH_FANOUT_DROPS, "dispatch-fanout-drops", "R-D-FAN-1", \
      "only a conversation's first subscriber gets text-delta events") \
    X(DISPATCH_STATUS_SUBSCRIBERS_ONLY, "dispatch-status-subscribers-only", "R-D-STATUS-1", \
      "conversation.statusChanged goes to the conversation's subscribers only") \
    X(DISPATCH_QUEUE_UNTRIMMED, "dispatch-queue-untrimmed", "R-D-QUEUE-1", \
      "chat.queue's text is not trimmed: a blank text is queued") \
    X(DISPATCH_QUEUE_IDLE_NO_SUBSCRIBE, "dispatch-queue-idle-no-subscribe", "R-D-QUEUE-3", \
      "chat.queue on an idle conversation starts the turn without subscribing its sender") \
    X(DISPATCH_CANCEL_ORDER, "dispatch-cancel-order", "R-D-QUEUE-5", \
      "chat.queue.cancel checks messageId before conversationId") \
    X(DISPATCH_CANCEL_IGNORED, "dispatch-cancel-ignored", "R-D-QUEUE-6", \
      "chat.queue.cancel cancels nothing") \
    X(DISPATCH_CLOSE_NO_SEAL, "dispatch-close-no-seal", "R-D-CLOSE-2", \
      "POST close ends the turn with done aborted and no turn-sealed") \
    X(DISPATCH_HISTORY_SEQ_ZERO, "dispatch-history-seq-zero", "R-D-HIST-1", \
      "history seqs start at 0") \
    X(DISPATCH_HISTORY_STEP_TWICE, "dispatch-history-step-twice", "R-D-HIST-2", \
      "a step's assistant text is persisted twice") \
    X(DISPATCH_UNKNOWN_SURFACE_SILENT, "dispatch-unknown-surface-silent", "R-D-SURF-1", \
      "subscribe of an unknown surface gets no error")
/* clang-format on */

enum gw_mutant {
    GW_MUT_NONE = 0,
/* clang-format off */
#define GW_MUT_ENUM(e, n, r, d) GW_MUT_##e,
    GW_MUTANT_TABLE(GW_MUT_ENUM)
#undef GW_MUT_ENUM
    GW_MUT_COUNT
    /* clang-format on */
};

struct gw_mutant_info {
    const char *name;         /* e.g. "dup-complete" */
    const char *requirements; /* comma separated requirement ids */
    const char *description;  /* one line */
};

/* True when mutant m is the one switched on. */
bool gw_mutant_on(enum gw_mutant m);
/* Switch on the mutant called name (only one at a time). Returns 0 or WC_ERR_NOTFOUND. */
int gw_mutant_set(const char *name);
/* Switch on mutant m directly (GW_MUT_NONE: all off). For tests. */
void gw_mutant_force(enum gw_mutant m);
/* The active mutant, or GW_MUT_NONE. */
enum gw_mutant gw_mutant_active(void);
/* Static info for m (GW_MUT_NONE < m < GW_MUT_COUNT), or NULL. */
const struct gw_mutant_info *gw_mutant_info(enum gw_mutant m);
/* Print `name  requirements  description`, one line per mutant. */
void gw_mutant_list(FILE *out);

#endif
