/*
 * persona.h: the native stream formats of the provider CLIs the gwspec-provider binary imitates
 * (claude, cursor-agent, codex, opencode; spec/chatgw-1.0/cloudcli-notes.md §8).
 *
 * A persona is a table of pure encoders: it turns the runtime's normalized events and callbacks
 * into the CLI's stdout lines (appended to a wc_buf), parses the CLI's argv, and, for stream-json
 * input (claude), decodes stdin messages into actions. It does no I/O; mock-providers/cli.c
 * drives it. Depends on runtime.h, script.h and lib/.
 */
#ifndef MP_PERSONA_H
#define MP_PERSONA_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "../runtime.h"
#include "../script.h"
#include "wc_json.h"
#include "wc_buf.h"
#include "wc_rand.h"

/* What the command line says. */
struct mp_persona_args {
    char *prompt;    /* the prompt from argv, or NULL when it comes on stdin */
    char *resume;    /* the native id to resume, or NULL */
    char *cwd;       /* a --cd/--dir argument, or NULL (then the process cwd) */
    json_t *options; /* every flag as an object {name: value|true|[values]} */
};

/* Per-process encoder state. */
struct mp_persona_state {
    char *native_id;    /* the announced native id, or NULL */
    struct wc_rand rng; /* message ids and uuids */
    int n_items;        /* items/messages written so far (ids) */
    bool turn_started;  /* codex: turn.started written */
    bool wrote_result;  /* claude/cursor: a terminal `result` line was written */
    int last_complete;  /* the exitCode of the last complete event (opencode's exit status) */
    int n_perm;         /* claude: can_use_tool requests written */
    char *perm_id;      /* claude: the pending can_use_tool request id, or NULL */
};

/* What one stdin message asks the driver to do (claude stream-json). */
struct mp_persona_input {
    char *prompt;     /* new: the user message text, or NULL */
    bool interrupt;   /* abort the run */
    bool answered;    /* the pending permission was answered: */
    char *request_id; /*   new, or NULL */
    bool allow;       /*   allowed */
    bool cancelled;   /*   cancelled rather than answered */
    char *reason;     /*   new, or NULL */
};

enum mp_prompt_from {
    MP_PROMPT_ARGV,        /* in argv (cursor-agent -p, opencode's last argument) */
    MP_PROMPT_STDIN,       /* all of stdin (codex exec) */
    MP_PROMPT_STREAM_JSON, /* a stream-json `user` message on stdin (claude) */
};

struct mp_persona {
    const char *name;                /* the CLI name: argv[0] basename or --as */
    const char *provider;            /* the provider id in hello */
    enum mp_prompt_from prompt_from; /* where the prompt comes from */
    /* Parse argv after the program name. 0, or -1 with *err (new). */
    int (*parse_args)(int argc, char **argv, struct mp_persona_args *out, char **err);
    /* NULL, or why the step (event NULL) or event cannot be expressed (valid until the next call).
     */
    const char *(*check)(const struct mp_step *step, const json_t *event);
    void (*announce)(struct mp_persona_state *s, const char *id, struct wc_buf *out);
    /* One event: stdout lines into out, stderr text into err. */
    void (*event)(struct mp_persona_state *s, const json_t *ev, struct wc_buf *out,
                  struct wc_buf *err);
    /* NULL when the CLI has no permission requests (check rejects the step then). */
    void (*permission)(struct mp_persona_state *s, const char *tool, const json_t *input,
                       struct wc_buf *out);
    /* NULL unless prompt_from is MP_PROMPT_STREAM_JSON. */
    void (*input)(struct mp_persona_state *s, const json_t *msg, struct wc_buf *out,
                  struct mp_persona_input *in);
    /* The run ended: any last native line; returns the process exit status. */
    int (*ended)(struct mp_persona_state *s, enum mp_end how, int code, struct wc_buf *out);
};

extern const struct mp_persona mp_persona_claude;
extern const struct mp_persona mp_persona_cursor;
extern const struct mp_persona mp_persona_codex;
extern const struct mp_persona mp_persona_opencode;

/* The persona for a CLI name ("claude", "cursor-agent" or "cursor", "codex", "opencode"). */
const struct mp_persona *mp_persona_find(const char *name);

void mp_persona_state_init(struct mp_persona_state *s, uint64_t seed);
void mp_persona_state_release(struct mp_persona_state *s);
void mp_persona_args_release(struct mp_persona_args *a);
void mp_persona_input_release(struct mp_persona_input *in);

/* Append msg as one compact line to out (takes msg). */
void mp_persona_line(struct wc_buf *out, json_t *msg);
/* The native session id for an event: its own sessionId, else the announced one, else NULL. */
const char *mp_persona_session(const struct mp_persona_state *s, const json_t *ev);
/* A fresh UUID-shaped string from the state's PRNG into out (37 bytes). */
void mp_persona_uuid(struct mp_persona_state *s, char *out);
/*
 * Generic flag parsing: "--name value", "--name=value", and the boolean flags in `bools`
 * (NULL-terminated, written with their dashes, e.g. "--trust", "-f") go into options (a
 * repeated flag becomes an array); everything else is appended to positional.
 * "-p" style single-dash flags not in bools also take a value. Returns 0, or -1 with *err.
 */
/* The reason "<persona> has no native form for kind '<kind>'" in a static buffer. */
const char *mp_persona_no_kind(const char *persona, const json_t *event);
/* The event's string member, or "" (content, text). */
const char *mp_persona_text(const json_t *ev, const char *key);
int mp_persona_parse_flags(int argc, char **argv, const char *const *bools, json_t *options,
                           json_t *positional, char **err);

#endif
