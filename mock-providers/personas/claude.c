/*
 * claude.c: the `claude` persona: stream-json on stdin and stdout, as the Agent SDK drives it
 * (cloudcli-notes.md §8.1).
 *
 * stdin: control_request initialize/interrupt/... (each answered with a success
 * control_response), one `user` message (the prompt), control_response answers to our
 * can_use_tool requests. stdout: system/init, assistant/user messages, stream_event deltas,
 * result. An interrupt aborts the run; the abort ends with a result error_during_execution, as
 * the real CLI does.
 *
 * Partial messages: the real CLI writes `stream_event` lines only when it was started with
 * --include-partial-messages (the SDK's includePartialMessages); otherwise text arrives only as
 * whole assistant messages. So without that flag a stream_delta event becomes an assistant
 * text message and a stream_end has no native form (unsupported); with it they are
 * stream_event content_block_delta / content_block_stop lines.
 *
 * Usage: an assistant message or a result carries `usage` only when the script's event has a
 * `usage` object (copied as given). Gateways derive events from usage (CloudCLI sends a
 * token_budget `status` per message that has one), so a persona that invented usage on every
 * line would make the gateway emit events the script never asked for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persona.h"
#include "wc_mem.h"
#include "wc_banned.h"

#define MODEL "gwspec-mock"

/* --include-partial-messages was given (set by parse_args; one persona per process). */
static bool partial_messages;

static int parse_args(int argc, char **argv, struct mp_persona_args *out, char **err)
{
    static const char *const bools[] = {"--verbose",  "--include-partial-messages",
                                        "--continue", "--dangerously-skip-permissions",
                                        "--print",    "-p",
                                        NULL};
    json_t *positional = json_array();
    int rc;

    out->options = json_object();
    rc = mp_persona_parse_flags(argc, argv, bools, out->options, positional, err);
    partial_messages = rc == 0 && wc_json_bool(out->options, "include-partial-messages", false);
    if (rc == 0 && wc_json_str(out->options, "resume"))
        out->resume = wc_xstrdup(wc_json_str(out->options, "resume"));
    /* `claude -p PROMPT`: the prompt in argv, as a person types it; the SDK's way is a
     * stream-json `user` message on stdin instead (then there is no positional argument). */
    if (rc == 0 && json_array_size(positional) > 0)
        out->prompt = wc_xstrdup(json_string_value(json_array_get(positional, 0)));
    json_decref(positional);
    return rc;
}

static const char *check(const struct mp_step *step, const json_t *event)
{
    static const char *const kinds[] = {"text",     "stream_delta",    "stream_end",
                                        "thinking", "tool_use",        "tool_result",
                                        "complete", "session_created", NULL};
    const char *kind;

    if (!event)
        return NULL; /* every step, permission included, has a native form */
    kind = wc_json_str(event, "kind");
    if (kind && !partial_messages && strcmp(kind, "stream_end") == 0)
        return "claude writes no stream_end without --include-partial-messages";
    for (size_t i = 0; kind && kinds[i]; i++) {
        if (strcmp(kinds[i], kind) == 0)
            return NULL;
    }
    return mp_persona_no_kind("claude", event);
}

static void init_line(struct mp_persona_state *s, const char *id, struct wc_buf *out)
{
    char uuid[37];

    mp_persona_uuid(s, uuid);
    mp_persona_line(out,
                    json_pack("{s:s, s:s, s:s, s:s, s:[], s:s}", "type", "system", "subtype",
                              "init", "session_id", id, "model", MODEL, "tools", "uuid", uuid));
}

static void announce(struct mp_persona_state *s, const char *id, struct wc_buf *out)
{
    init_line(s, id, out);
}

/* The event's `usage` object, when it has one, into obj. */
static void add_usage(json_t *obj, const json_t *ev)
{
    const json_t *usage = ev ? json_object_get(ev, "usage") : NULL;

    if (json_is_object(usage))
        json_object_set_new(obj, "usage", json_deep_copy(usage));
}

/* {type: assistant|user, message: {...content}, parent_tool_use_id, session_id, uuid} */
static void message_line(struct mp_persona_state *s, const json_t *ev, const char *role,
                         json_t *part, struct wc_buf *out)
{
    char uuid[37], *msg_id;
    json_t *message;

    mp_persona_uuid(s, uuid);
    if (strcmp(role, "assistant") == 0) {
        msg_id = wc_xasprintf("msg_gwspec_%d", s->n_items++);
        message = json_pack("{s:s, s:s, s:s, s:s, s:[o], s:n}", "id", msg_id, "type", "message",
                            "role", role, "model", MODEL, "content", part, "stop_reason");
        add_usage(message, ev);
        free(msg_id);
    } else {
        message = json_pack("{s:s, s:[o]}", "role", role, "content", part);
    }
    mp_persona_line(out, json_pack("{s:s, s:o, s:n, s:s?, s:s}", "type", role, "message", message,
                                   "parent_tool_use_id", "session_id", mp_persona_session(s, ev),
                                   "uuid", uuid));
}

static void stream_line(struct mp_persona_state *s, const json_t *ev, json_t *inner,
                        struct wc_buf *out)
{
    char uuid[37];

    mp_persona_uuid(s, uuid);
    mp_persona_line(out, json_pack("{s:s, s:o, s:n, s:s?, s:s}", "type", "stream_event", "event",
                                   inner, "parent_tool_use_id", "session_id",
                                   mp_persona_session(s, ev), "uuid", uuid));
}

static void result_line(struct mp_persona_state *s, const json_t *ev, int code, const char *subtype,
                        struct wc_buf *out)
{
    char uuid[37];

    json_t *line;

    mp_persona_uuid(s, uuid);
    line = json_pack("{s:s, s:s, s:b, s:i, s:i, s:i, s:s, s:s?, s:i}", "type", "result", "subtype",
                     subtype, "is_error", code != 0, "duration_ms", 0, "duration_api_ms", 0,
                     "num_turns", 1, "result", "", "session_id", mp_persona_session(s, ev),
                     "total_cost_usd", 0);
    add_usage(line, ev);
    /* An error result carries `errors`: the Claude SDK joins it and throws without it. */
    if (code != 0)
        json_object_set_new(line, "errors",
                            json_pack("[s]", "gwspec: the scripted provider completed with a "
                                             "non-zero status"));
    json_object_set_new(line, "uuid", json_string(uuid));
    mp_persona_line(out, line);
    s->wrote_result = true;
}

static void tool_use(struct mp_persona_state *s, const json_t *ev, struct wc_buf *out)
{
    const json_t *input = json_object_get(ev, "toolInput");
    char *id = wc_json_str(ev, "toolId") ? wc_xstrdup(wc_json_str(ev, "toolId"))
                                         : wc_xasprintf("toolu_gwspec_%d", s->n_items);

    message_line(s, ev, "assistant",
                 json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id", id, "name",
                           mp_persona_text(ev, "toolName"), "input",
                           input ? json_deep_copy(input) : json_object()),
                 out);
    free(id);
}

static void event(struct mp_persona_state *s, const json_t *ev, struct wc_buf *out,
                  struct wc_buf *err)
{
    const char *kind = mp_persona_text(ev, "kind");
    const json_t *content = json_object_get(ev, "content");
    int64_t code = 0;

    if (strcmp(kind, "text") == 0) {
        message_line(
            s, ev, "assistant",
            json_pack("{s:s, s:s}", "type", "text", "text", mp_persona_text(ev, "content")), out);
    } else if (strcmp(kind, "thinking") == 0) {
        message_line(s, ev, "assistant",
                     json_pack("{s:s, s:s, s:s}", "type", "thinking", "thinking",
                               mp_persona_text(ev, "content"), "signature", ""),
                     out);
    } else if (strcmp(kind, "tool_use") == 0) {
        tool_use(s, ev, out);
    } else if (strcmp(kind, "tool_result") == 0) {
        message_line(s, ev, "user",
                     json_pack("{s:s, s:s, s:o, s:b}", "type", "tool_result", "tool_use_id",
                               mp_persona_text(ev, "toolId"), "content",
                               content ? json_deep_copy(content) : json_string(""), "is_error",
                               wc_json_bool(ev, "isError", false)),
                     out);
    } else if (strcmp(kind, "stream_delta") == 0 && !partial_messages) {
        message_line(
            s, ev, "assistant",
            json_pack("{s:s, s:s}", "type", "text", "text", mp_persona_text(ev, "content")), out);
    } else if (strcmp(kind, "stream_delta") == 0) {
        stream_line(s, ev,
                    json_pack("{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_delta", "index", 0,
                              "delta", "type", "text_delta", "text",
                              mp_persona_text(ev, "content")),
                    out);
    } else if (strcmp(kind, "stream_end") == 0) {
        stream_line(s, ev, json_pack("{s:s, s:i}", "type", "content_block_stop", "index", 0), out);
    } else if (strcmp(kind, "complete") == 0) {
        wc_json_int(ev, "exitCode", &code);
        result_line(s, ev, (int)code, code == 0 ? "success" : "error_during_execution", out);
    } else if (strcmp(kind, "session_created") == 0) {
        init_line(s, mp_persona_text(ev, "newSessionId"), out);
    }
    (void)err;
}

static void permission(struct mp_persona_state *s, const char *tool, const json_t *input,
                       struct wc_buf *out)
{
    char *tool_use_id = wc_xasprintf("toolu_gwspec_perm_%d", s->n_perm);

    free(s->perm_id);
    s->perm_id = wc_xasprintf("gwspec-perm-%d", s->n_perm++);
    mp_persona_line(out, json_pack("{s:s, s:s, s:{s:s, s:s, s:O, s:s}}", "type", "control_request",
                                   "request_id", s->perm_id, "request", "subtype", "can_use_tool",
                                   "tool_name", tool ? tool : "", "input", input, "tool_use_id",
                                   tool_use_id));
    free(tool_use_id);
}

/* The text of a user message: a string, or the text blocks joined. New string. */
static char *user_text(const json_t *content)
{
    struct wc_buf b;
    const json_t *block;
    size_t i;

    if (json_is_string(content))
        return wc_xstrdup(json_string_value(content));
    wc_buf_init(&b, 0);
    json_array_foreach((json_t *)content, i, block)
    {
        if (json_is_string(block) || !wc_json_str(block, "text"))
            continue;
        if (b.len)
            wc_buf_adds(&b, "\n");
        wc_buf_adds(&b, wc_json_str(block, "text"));
    }
    return wc_buf_detach(&b, NULL);
}

static void answer(struct mp_persona_state *s, const json_t *resp, struct mp_persona_input *in)
{
    const json_t *inner = json_object_get(resp, "response");
    const char *behavior = wc_json_str(inner, "behavior");

    in->answered = true;
    in->request_id = wc_xstrdup(s->perm_id);
    if (strcmp(mp_persona_text(resp, "subtype"), "success") != 0) {
        in->cancelled = true;
        in->reason =
            wc_xstrdup(wc_json_str(resp, "error") ? wc_json_str(resp, "error") : "cancelled");
    } else {
        in->allow = behavior && strcmp(behavior, "allow") == 0;
        if (wc_json_str(inner, "message"))
            in->reason = wc_xstrdup(wc_json_str(inner, "message"));
    }
    free(s->perm_id);
    s->perm_id = NULL;
}

static void input(struct mp_persona_state *s, const json_t *msg, struct wc_buf *out,
                  struct mp_persona_input *in)
{
    const char *type = mp_persona_text(msg, "type");
    const json_t *req = json_object_get(msg, "request");
    const json_t *resp = json_object_get(msg, "response");

    if (strcmp(type, "control_request") == 0) {
        mp_persona_line(out, json_pack("{s:s, s:{s:s, s:s?, s:{}}}", "type", "control_response",
                                       "response", "subtype", "success", "request_id",
                                       wc_json_str(msg, "request_id"), "response"));
        if (strcmp(mp_persona_text(req, "subtype"), "interrupt") == 0)
            in->interrupt = true;
    } else if (strcmp(type, "user") == 0) {
        in->prompt = user_text(json_object_get(json_object_get(msg, "message"), "content"));
    } else if (strcmp(type, "control_response") == 0 && s->perm_id &&
               strcmp(mp_persona_text(resp, "request_id"), s->perm_id) == 0) {
        answer(s, resp, in);
    }
}

static int ended(struct mp_persona_state *s, enum mp_end how, int code, struct wc_buf *out)
{
    /* after an interrupt the real CLI reports the turn as failed */
    if (how == MP_END_ABORTED)
        result_line(s, NULL, 1, "error_during_execution", out);
    return code;
}

const struct mp_persona mp_persona_claude = {
    .name = "claude",
    .provider = "claude",
    .prompt_from = MP_PROMPT_STREAM_JSON,
    .parse_args = parse_args,
    .check = check,
    .announce = announce,
    .event = event,
    .permission = permission,
    .input = input,
    .ended = ended,
};
