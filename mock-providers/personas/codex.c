/*
 * codex.c: the `codex` persona: `codex exec --experimental-json ... [resume <id>]`, the prompt on
 * stdin (or after `--`, as newer SDKs pass it), stdout JSON lines (cloudcli-notes.md §8.3).
 *
 * thread.started announces the id; turn.started precedes the first item; each event is an
 * item.completed (agent_message, reasoning, command_execution, mcp_tool_call) or a top-level
 * error; complete 0 is turn.completed with the usage the SDK requires, any other exit code is
 * turn.failed. Codex has no delta event: a stream_delta becomes a completed agent_message.
 */
#include <stdlib.h>
#include <string.h>

#include "persona.h"
#include "wc_mem.h"
#include "wc_banned.h"

static int parse_args(int argc, char **argv, struct mp_persona_args *out, char **err)
{
    static const char *const bools[] = {"--experimental-json",
                                        "--json",
                                        "--skip-git-repo-check",
                                        "--full-auto",
                                        "--dangerously-bypass-approvals-and-sandbox",
                                        NULL};
    json_t *pos = json_array();
    size_t i = 1, n;
    int rc;

    out->options = json_object();
    rc = mp_persona_parse_flags(argc, argv, bools, out->options, pos, err);
    n = json_array_size(pos);
    if (rc == 0 && (n == 0 || strcmp(json_string_value(json_array_get(pos, 0)), "exec") != 0)) {
        *err = wc_xstrdup("codex: expected 'exec'");
        rc = -1;
    }
    if (rc == 0 && i + 1 < n && strcmp(json_string_value(json_array_get(pos, i)), "resume") == 0) {
        out->resume = wc_xstrdup(json_string_value(json_array_get(pos, i + 1)));
        i += 2;
    }
    /* a prompt given as an argument ("-" means stdin) */
    if (rc == 0 && i < n && strcmp(json_string_value(json_array_get(pos, n - 1)), "-") != 0)
        out->prompt = wc_xstrdup(json_string_value(json_array_get(pos, n - 1)));
    if (rc == 0 && wc_json_str(out->options, "cd"))
        out->cwd = wc_xstrdup(wc_json_str(out->options, "cd"));
    json_decref(pos);
    return rc;
}

static const char *check(const struct mp_step *step, const json_t *event)
{
    static const char *const kinds[] = {"text",  "stream_delta", "thinking",        "tool_use",
                                        "error", "complete",     "session_created", NULL};
    const char *kind;

    if (!event)
        return step->type == MP_STEP_PERMISSION ? "codex exec has no permission requests" : NULL;
    kind = wc_json_str(event, "kind");
    for (size_t i = 0; kind && kinds[i]; i++) {
        if (strcmp(kinds[i], kind) == 0)
            return NULL;
    }
    return mp_persona_no_kind("codex", event);
}

static void announce(struct mp_persona_state *s, const char *id, struct wc_buf *out)
{
    (void)s;
    mp_persona_line(out, json_pack("{s:s, s:s}", "type", "thread.started", "thread_id", id));
}

static void turn_started(struct mp_persona_state *s, struct wc_buf *out)
{
    if (s->turn_started)
        return;
    s->turn_started = true;
    mp_persona_line(out, json_pack("{s:s}", "type", "turn.started"));
}

/* item.completed with the item (takes item; adds its id). */
static void item_line(struct mp_persona_state *s, json_t *item, struct wc_buf *out)
{
    char *id = wc_xasprintf("item_%d", s->n_items++);
    json_t *full = json_pack("{s:s}", "id", id);

    json_object_update(full, item);
    json_decref(item);
    free(id);
    mp_persona_line(out, json_pack("{s:s, s:o}", "type", "item.completed", "item", full));
}

static json_t *tool_item(const json_t *ev)
{
    const json_t *input = json_object_get(ev, "toolInput");
    const char *name = mp_persona_text(ev, "toolName");
    int64_t code = 0;

    if (strcmp(name, "Bash") == 0) {
        wc_json_int(ev, "exitCode", &code);
        return json_pack("{s:s, s:s, s:s, s:I, s:s}", "type", "command_execution", "command",
                         mp_persona_text(input, "command"), "aggregated_output",
                         mp_persona_text(ev, "output"), "exit_code", (json_int_t)code, "status",
                         "completed");
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:n, s:n, s:s}", "type", "mcp_tool_call", "server",
                     "gwspec", "tool", name, "arguments",
                     input ? json_deep_copy(input) : json_object(), "result", "error", "status",
                     "completed");
}

static void event(struct mp_persona_state *s, const json_t *ev, struct wc_buf *out,
                  struct wc_buf *err)
{
    const char *kind = mp_persona_text(ev, "kind");
    int64_t code = 0;
    char *msg;

    (void)err;
    if (strcmp(kind, "session_created") == 0) {
        announce(s, mp_persona_text(ev, "newSessionId"), out);
        return;
    }
    turn_started(s, out);
    if (strcmp(kind, "text") == 0 || strcmp(kind, "stream_delta") == 0) {
        item_line(s,
                  json_pack("{s:s, s:s}", "type", "agent_message", "text",
                            mp_persona_text(ev, "content")),
                  out);
    } else if (strcmp(kind, "thinking") == 0) {
        item_line(
            s, json_pack("{s:s, s:s}", "type", "reasoning", "text", mp_persona_text(ev, "content")),
            out);
    } else if (strcmp(kind, "tool_use") == 0) {
        item_line(s, tool_item(ev), out);
    } else if (strcmp(kind, "error") == 0) {
        mp_persona_line(out, json_pack("{s:s, s:s}", "type", "error", "message",
                                       mp_persona_text(ev, "content")));
    } else if (strcmp(kind, "complete") == 0) {
        wc_json_int(ev, "exitCode", &code);
        if (code == 0) {
            mp_persona_line(out, json_pack("{s:s, s:{s:i, s:i, s:i}}", "type", "turn.completed",
                                           "usage", "input_tokens", 0, "cached_input_tokens", 0,
                                           "output_tokens", 0));
        } else {
            msg = wc_xasprintf("gwspec: exit code %lld", (long long)code);
            mp_persona_line(
                out, json_pack("{s:s, s:{s:s}}", "type", "turn.failed", "error", "message", msg));
            free(msg);
        }
    }
}

static int ended(struct mp_persona_state *s, enum mp_end how, int code, struct wc_buf *out)
{
    (void)s;
    (void)how;
    (void)out;
    return code;
}

const struct mp_persona mp_persona_codex = {
    .name = "codex",
    .provider = "codex",
    .prompt_from = MP_PROMPT_STDIN,
    .parse_args = parse_args,
    .check = check,
    .announce = announce,
    .event = event,
    .permission = NULL,
    .input = NULL,
    .ended = ended,
};
