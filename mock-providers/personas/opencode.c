/*
 * opencode.c: the `opencode` persona: `opencode run --format json ... <prompt>`, stdout JSON lines
 * (cloudcli-notes.md §8.4). stdin is not read.
 *
 * Every line after the announcement carries `sessionID` (that is how the gateway learns the id);
 * the announcement itself is a step_start line. text/stream_delta become `text`, thinking
 * `reasoning`, stream_end `step_finish`. OpenCode has no terminal line: a run ends by exiting,
 * so a `complete` event writes nothing and its exitCode becomes the exit status when the run
 * itself ends with 0.
 */
#include <stdlib.h>
#include <string.h>

#include "persona.h"
#include "wc_mem.h"
#include "wc_banned.h"

static int parse_args(int argc, char **argv, struct mp_persona_args *out, char **err)
{
    static const char *const bools[] = {"--auto", "--print-logs", "--continue", "-c", NULL};
    json_t *pos = json_array();
    size_t n;
    int rc;

    out->options = json_object();
    rc = mp_persona_parse_flags(argc, argv, bools, out->options, pos, err);
    n = json_array_size(pos);
    if (rc == 0 && (n < 2 || strcmp(json_string_value(json_array_get(pos, 0)), "run") != 0)) {
        *err = wc_xstrdup("opencode: expected 'run ... <prompt>'");
        rc = -1;
    }
    if (rc == 0) {
        out->prompt = wc_xstrdup(json_string_value(json_array_get(pos, n - 1)));
        if (wc_json_str(out->options, "session"))
            out->resume = wc_xstrdup(wc_json_str(out->options, "session"));
        if (wc_json_str(out->options, "dir"))
            out->cwd = wc_xstrdup(wc_json_str(out->options, "dir"));
    }
    json_decref(pos);
    return rc;
}

static const char *check(const struct mp_step *step, const json_t *event)
{
    static const char *const kinds[] = {"text",     "stream_delta",    "thinking",
                                        "tool_use", "error",           "stream_end",
                                        "complete", "session_created", NULL};
    const char *kind;

    if (!event)
        return step->type == MP_STEP_PERMISSION ? "opencode run has no permission requests" : NULL;
    kind = wc_json_str(event, "kind");
    for (size_t i = 0; kind && kinds[i]; i++) {
        if (strcmp(kinds[i], kind) == 0)
            return NULL;
    }
    return mp_persona_no_kind("opencode", event);
}

/* {type, sessionID?} plus the fields in `rest` (takes rest). */
static void line(const char *type, const char *session, json_t *rest, struct wc_buf *out)
{
    json_t *msg = json_pack("{s:s}", "type", type);

    if (session)
        json_object_set_new(msg, "sessionID", json_string(session));
    if (rest) {
        json_object_update(msg, rest);
        json_decref(rest);
    }
    mp_persona_line(out, msg);
}

static void announce(struct mp_persona_state *s, const char *id, struct wc_buf *out)
{
    (void)s;
    line("step_start", id, NULL, out);
}

static json_t *tool_fields(const json_t *ev)
{
    const json_t *input = json_object_get(ev, "toolInput");
    const json_t *result = json_object_get(ev, "toolResult");
    json_t *f = json_pack("{s:s, s:s, s:o}", "tool", mp_persona_text(ev, "toolName"), "callID",
                          mp_persona_text(ev, "toolId"), "input",
                          input ? json_deep_copy(input) : json_object());

    if (result && json_object_get(result, "content"))
        json_object_set_new(f, wc_json_bool(result, "isError", false) ? "error" : "output",
                            json_deep_copy(json_object_get(result, "content")));
    return f;
}

static void event(struct mp_persona_state *s, const json_t *ev, struct wc_buf *out,
                  struct wc_buf *err)
{
    const char *kind = mp_persona_text(ev, "kind");
    const char *sid = mp_persona_session(s, ev);
    int64_t code = 0;

    (void)err;
    if (strcmp(kind, "text") == 0 || strcmp(kind, "stream_delta") == 0)
        line("text", sid, json_pack("{s:s}", "text", mp_persona_text(ev, "content")), out);
    else if (strcmp(kind, "thinking") == 0)
        line("reasoning", sid, json_pack("{s:s}", "text", mp_persona_text(ev, "content")), out);
    else if (strcmp(kind, "tool_use") == 0)
        line("tool_use", sid, tool_fields(ev), out);
    else if (strcmp(kind, "error") == 0)
        line("error", sid, json_pack("{s:s}", "message", mp_persona_text(ev, "content")), out);
    else if (strcmp(kind, "stream_end") == 0)
        line("step_finish", sid, NULL, out);
    else if (strcmp(kind, "session_created") == 0)
        line("step_start", mp_persona_text(ev, "newSessionId"), NULL, out);
    else if (strcmp(kind, "complete") == 0 && wc_json_int(ev, "exitCode", &code))
        s->last_complete = (int)code;
}

static int ended(struct mp_persona_state *s, enum mp_end how, int code, struct wc_buf *out)
{
    (void)out;
    return how == MP_END_COMPLETED && code == 0 ? s->last_complete : code;
}

const struct mp_persona mp_persona_opencode = {
    .name = "opencode",
    .provider = "opencode",
    .prompt_from = MP_PROMPT_ARGV,
    .parse_args = parse_args,
    .check = check,
    .announce = announce,
    .event = event,
    .permission = NULL,
    .input = NULL,
    .ended = ended,
};
