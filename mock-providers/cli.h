/*
 * cli.h: the `gwspec-provider` program: one executable that speaks a provider CLI's native
 * stream format, chosen by argv[0]'s basename (claude, cursor-agent, codex, opencode) or by
 * `--as NAME` as the first argument.
 *
 * It finds the directive in the prompt, runs the script with the runtime, and drives it with a
 * poll() loop over stdin, the control socket (a blocking connect to the directive's `ctl`), a
 * SIGTERM/SIGINT self-pipe (an abort) and the delay timer. Uses fds 0, 1 and 2. Depends on
 * runtime.h, directive.h, personas/persona.h and lib/.
 */
#ifndef MP_CLI_H
#define MP_CLI_H

/* Run the program; returns the process exit status (2 for a usage error). */
int mp_cli_main(int argc, char **argv);

#endif
