/*
 * script.h: provider scripts: parse and validate a list of steps (spec/control-channel.md §2).
 *
 * A script is immutable once parsed. This module does no I/O except mp_script_load_file.
 * Depends on lib/ only.
 */
#ifndef MP_SCRIPT_H
#define MP_SCRIPT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "wc_yaml.h"

enum mp_step_type {
    MP_STEP_ANNOUNCE,        /* arg: native id or "auto" */
    MP_STEP_SESSION_CREATED, /* arg: native id or "auto" */
    MP_STEP_EMIT,            /* fields: the event */
    MP_STEP_EMIT_MANY,       /* count + fields */
    MP_STEP_BARRIER,         /* arg: barrier name */
    MP_STEP_WAIT_ABORT,
    MP_STEP_COMPLETE, /* exit_code + fields (extra fields merged into the event) */
    MP_STEP_CRASH,    /* exit_code */
    MP_STEP_EXIT,     /* exit_code */
    MP_STEP_HANG,
    MP_STEP_PERMISSION, /* fields: {toolName, input} */
    MP_STEP_REPORT,     /* fields: array of fact names */
    MP_STEP_DELAY,      /* count: milliseconds */
    MP_STEP_FAIL_START, /* arg: why the start failed; the script's only step */
};

enum mp_on_abort { MP_ON_ABORT_STOP, MP_ON_ABORT_IGNORE, MP_ON_ABORT_HANG };

struct mp_step {
    enum mp_step_type type; /* read-only */
    char *arg;              /* read-only: name/id argument, or NULL */
    json_t *fields;         /* read-only: event fields / permission / report list, or NULL */
    int64_t count;          /* read-only: emit_many count or delay ms */
    int exit_code;          /* read-only: complete/crash/exit status */
};

struct mp_script {
    struct mp_step *steps;     /* read-only */
    size_t n_steps;            /* read-only */
    enum mp_on_abort on_abort; /* read-only */
};

/*
 * Parse a JSON array of steps. `doc`, when not NULL, is the YAML document `steps` lives in, so
 * errors carry file:line:col. Returns a new script, or NULL with *err set to a new message
 * ("file:line:col: message" or "script step N: message").
 */
struct mp_script *mp_script_parse(const json_t *steps, const struct wc_yaml_doc *doc, char **err);
/* Load and parse a YAML or JSON file holding a steps array. Same errors. */
struct mp_script *mp_script_load_file(const char *path, char **err);
/* The default script for a prompt without a directive: echo the words back, then complete. */
struct mp_script *mp_script_default(const char *prompt);
/* The script that reports a directive or script error in-band: an error event, then complete 1. */
struct mp_script *mp_script_error(const char *message);
/*
 * The message of a script whose start is to fail (its only step is fail_start), or NULL. A host
 * checks it before it starts the provider: the gateway's start of the provider fails with it.
 */
const char *mp_script_start_failure(const struct mp_script *script);
/* A static name for a step type ("emit", "barrier", ...). */
const char *mp_step_name(enum mp_step_type type);
void mp_script_free(struct mp_script *script);

#endif
