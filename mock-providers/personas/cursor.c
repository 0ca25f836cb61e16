/*
 * cursor.c: the `cursor-agent` persona: `-p <prompt> --output-format stream-json`, stdout JSON
 * lines (cloudcli-notes.md §8.2). stdin is not read.
 *
 * system/init announces the id; assistant lines carry text (the gateway makes stream_delta of
 * them, so both `text` and `stream_delta` events map there); `result` is the terminal line; an
 * `error` event is its content written to stderr as is (no newline added), which the gateway
 * turns into one error event per chunk read (cli.c keeps the chunks apart and in order).
 */
#include <stdlib.h>
#include <string.h>

#include "persona.h"
#include "wc_mem.h"
#include "wc_banned.h"

#define MODEL "gwspec-mock"

static int parse_args(int argc, char **argv, struct mp_persona_args *out, char **err)
{
    static const char *const bools[] = {"-f", "--force", "--trust", "--print", NULL};
    json_t *positional = json_array();
    const char *prompt;
    int rc;

    out->options = json_object();
    rc = mp_persona_parse_flags(argc, argv, bools, out->options, positional, err);
    if (rc == 0) {
        prompt = wc_json_str(out->options, "p");
        if (!prompt && json_array_size(positional))
            prompt = json_string_value(json_array_get(positional, json_array_size(positional) - 1));
        if (!prompt) {
            *err = wc_xstrdup("cursor-agent: missing -p <prompt>");
            rc = -1;
        } else {
            out->prompt = wc_xstrdup(prompt);
            json_object_del(out->options, "p"); /* the prompt is not an option */
        }
    }
    if (rc == 0 && wc_json_str(out->options, "resume"))
        out->resume = wc_xstrdup(wc_json_str(out->options, "resume"));
    json_decref(positional);
    return rc;
}

static const char *check(const struct mp_step *step, const json_t *event)
{
    static const char *const kinds[] = {"text",     "stream_delta",    "error",
                                        "complete", "session_created", NULL};
    const char *kind;

    if (!event)
        return step->type == MP_STEP_PERMISSION
                   ? "cursor-agent stream-json has no permission requests"
                   : NULL;
    kind = wc_json_str(event, "kind");
    for (size_t i = 0; kind && kinds[i]; i++) {
        if (strcmp(kinds[i], kind) == 0)
            return NULL;
    }
    return mp_persona_no_kind("cursor-agent", event);
}

static void init_line(const char *id, struct wc_buf *out)
{
    mp_persona_line(out, json_pack("{s:s, s:s, s:s, s:s}", "type", "system", "subtype", "init",
                                   "session_id", id, "model", MODEL));
}

static void announce(struct mp_persona_state *s, const char *id, struct wc_buf *out)
{
    (void)s;
    init_line(id, out);
}

static void event(struct mp_persona_state *s, const json_t *ev, struct wc_buf *out,
                  struct wc_buf *err)
{
    const char *kind = mp_persona_text(ev, "kind");
    int64_t code = 0;

    if (strcmp(kind, "text") == 0 || strcmp(kind, "stream_delta") == 0) {
        mp_persona_line(out, json_pack("{s:s, s:{s:s, s:[{s:s, s:s}]}, s:s?}", "type", "assistant",
                                       "message", "role", "assistant", "content", "type", "text",
                                       "text", mp_persona_text(ev, "content"), "session_id",
                                       mp_persona_session(s, ev)));
    } else if (strcmp(kind, "error") == 0) {
        /* exactly the content: the gateway forwards each stderr chunk as one error event */
        wc_buf_adds(err, mp_persona_text(ev, "content"));
    } else if (strcmp(kind, "complete") == 0) {
        wc_json_int(ev, "exitCode", &code);
        mp_persona_line(out, json_pack("{s:s, s:s, s:b, s:i, s:s, s:s?}", "type", "result",
                                       "subtype", code == 0 ? "success" : "error", "is_error",
                                       code != 0, "duration_ms", 0, "result", "", "session_id",
                                       mp_persona_session(s, ev)));
        s->wrote_result = true;
    } else if (strcmp(kind, "session_created") == 0) {
        init_line(mp_persona_text(ev, "newSessionId"), out);
    }
}

static int ended(struct mp_persona_state *s, enum mp_end how, int code, struct wc_buf *out)
{
    (void)s;
    (void)how;
    (void)out;
    return code;
}

const struct mp_persona mp_persona_cursor = {
    .name = "cursor-agent",
    .provider = "cursor",
    .prompt_from = MP_PROMPT_ARGV,
    .parse_args = parse_args,
    .check = check,
    .announce = announce,
    .event = event,
    .permission = NULL,
    .input = NULL,
    .ended = ended,
};
