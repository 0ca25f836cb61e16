/*
 * cli.h: the reference client's I/O for claude-control/1 (control.h): it spawns the CLI (PATH
 * with the stream-json flags; its environment passes through, so the harness's relay finds
 * GWSPEC_CLI_URL), talks newline-delimited JSON over the CLI's stdin and stdout pipes, and
 * connects to the client control channel. One poll loop, no lws.
 */
#ifndef RC_CLI_H
#define RC_CLI_H

#include "mutants.h"

struct rc_cli_opts {
    const char *cli;        /* the CLI executable */
    const char *ctl;        /* HOST:PORT of the client control channel, or NULL */
    const char *case_token; /* may be NULL */
    enum rc_mutant mutant;
};

/*
 * Run until the quit act, the control channel's end, SIGTERM/SIGINT, or (without a control
 * channel) the CLI's exit. The CLI is stopped before it returns. Returns the exit status: 0, or
 * 1 (with a message on stderr) when the CLI cannot be started or the channel reached.
 */
int rc_cli_run(const struct rc_cli_opts *o);

#endif
