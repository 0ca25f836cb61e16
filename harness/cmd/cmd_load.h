/*
 * cmd_load.h: `gwspec load`: drive a target (the embedded reference gateway by default) with
 * N clients and M concurrent runs of a configurable mix (streaming runs of E events of B bytes,
 * aborts, refreshes with replay, fan-out to observers, idle connections) for a duration or a
 * number of runs, check the streaming invariants live on every frame (check/live.h), and report
 * throughput, emit-to-receive latency, connection setup time and the gateway's peak RSS and CPU
 * as a table and as JSON (`--json FILE`).
 *
 * Exit codes: 0 no violation, 1 a violation (printed with its witness frames), 2 a usage error,
 * 3 the target could not be started or reached, or the load was stopped by a signal (the
 * partial report is printed first). Depends on exec/ (ws, http, target, control, reap) and
 * check/ (live, hist).
 */
#ifndef HN_CMD_LOAD_H
#define HN_CMD_LOAD_H

/* argv[0] is "load"; returns the exit code. */
int hn_cmd_load(int argc, char **argv);

#endif
