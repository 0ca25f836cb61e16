/*
 * control.h: the reference client's claude-control/1 session, sans I/O (spec/claude-control-1):
 * the Claude Agent SDK's side of the control protocol over stdio stream-json, with the CLI as
 * the peer. It makes the CLI's argv, sends `initialize` first, answers the CLI's control
 * requests (can_use_tool through the client control channel's acts, anything else with the
 * error at once), matches the CLI's responses to its own requests by request_id, and keeps the
 * CLI's stdin open across results. Every effect goes through struct rc_cc_io, so the tests
 * drive it with fake I/O and cli.c with a real child process. Reuses book.h and mutants.h.
 */
#ifndef RC_CONTROL_H
#define RC_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mutants.h"

struct rc_cc_io {
    void *ctx;
    /* one line to the CLI's stdin (no newline); false when its stdin is closed */
    bool (*write)(void *ctx, const char *line, size_t len);
    void (*close_input)(void *ctx);           /* close the CLI's stdin (EOF) */
    void (*ctl)(void *ctx, const char *line); /* a control-channel line (no newline) */
    void (*quit)(void *ctx);                  /* end the process cleanly */
};

struct rc_cc_config {
    const char *case_token; /* echoed in the hello; may be NULL */
    enum rc_mutant mutant;
    uint64_t seed; /* for the request ids it makes */
};

struct rc_cc;

struct rc_cc *rc_cc_new(const struct rc_cc_config *cfg, const struct rc_cc_io *io);
void rc_cc_free(struct rc_cc *s);

/* The CLI's argv after PATH (NULL-terminated, static strings): the stream-json flags. */
const char *const *rc_cc_cli_args(enum rc_mutant m);

/* The hello line on the control channel (pid as given). */
void rc_cc_hello(struct rc_cc *s, long pid);
/* The CLI was spawned (pid): note `connected`, then `initialize` (CC-INIT-1). */
void rc_cc_started(struct rc_cc *s, long pid);
/* One line the CLI wrote on its stdout (without the newline). */
void rc_cc_line(struct rc_cc *s, const char *line, size_t len);
/* The CLI exited (status as waitpid gives it). */
void rc_cc_exited(struct rc_cc *s, int status);
/* One line from the control channel (an act). */
void rc_cc_ctl_line(struct rc_cc *s, const char *line, size_t len);
/* Whether the CLI's stdin is still open. */
bool rc_cc_input_open(const struct rc_cc *s);

#endif
