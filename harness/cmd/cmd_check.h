/*
 * cmd_check.h: `gwspec check [--spec DIR] [--json] TRANSCRIPT...`: run every invariant checker
 * over recorded or hand-written transcripts and print the violations.
 *
 * Exit codes: 0 every checker passed or was not exercised, 1 a checker failed, 2 a usage error,
 * an unreadable or malformed transcript ("file:line: message") or catalog. Depends on
 * transcript.h, msgcat.h, invariant.h and lib/.
 */
#ifndef HN_CMD_CHECK_H
#define HN_CMD_CHECK_H

/* argv[0] is "check" (or the program name); returns the exit code. Writes to stdout/stderr. */
int hn_cmd_check(int argc, char **argv);

#endif
