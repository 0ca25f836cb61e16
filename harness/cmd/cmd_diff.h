/*
 * cmd_diff.h: `gwspec diff OLD NEW`: compare two runs written with `gwspec run --json DIR` and
 * list every case whose verdict changed, with the requirements its failures name. For a spec
 * author (the same cases under chatgw/1.0 and a proposed 1.1) and for a gateway's CI (a run
 * before and after a change).
 *
 * Exit codes: 0 no case got worse, 1 a case got worse (a higher rank in OK < NON-STRICT,
 * INFORMATIONAL < UNIMPLEMENTED, SKIPPED < known FAILED < FAILED, ERROR; or it ran before and
 * is gone), 2 a usage error or an unreadable run. Depends on casedir.h (id order) and lib/.
 */
#ifndef HN_CMD_DIFF_H
#define HN_CMD_DIFF_H

#include <jansson.h>

/*
 * The comparison, without I/O. old_cases and new_cases map a case id to
 * {verdict: "OK"|..., known: bool, requirements: [ids its failures name]}. Returns a new array,
 * in case id order, of {id, old, new, requirements, worse: bool} for each case whose grade
 * ("FAILED" and "FAILED (known)" differ) changed; a case missing on one side has old or new
 * null.
 */
json_t *hn_diff_cases(const json_t *old_cases, const json_t *new_cases);

/* argv[0] is "diff"; returns the exit code. Writes to stdout/stderr. */
int hn_cmd_diff(int argc, char **argv);

#endif
