/*
 * cmd_spec.h: `gwspec spec diff OLD NEW [CASES...]`: what a spec change touches, before anything
 * runs. Lists the requirements added, removed and changed (level, title, text, capability or
 * `untestable:` mark) between two spec versions, each with the catalog's cases that cite it.
 *
 * OLD and NEW are spec versions ("chatgw/1.0", found as hn_spec_locate does, which includes
 * $GWSPEC_SPEC_PATH) or spec directories holding requirements.yaml. The cases are read for their
 * `id` and `spec` only (no lint: a case may cite a requirement only one side defines).
 *
 * Exit codes: 0 the versions define the same requirements, 1 they differ, 2 a usage error, an
 * unknown spec version, or a spec or case file that cannot be read. Depends on scenario.h
 * (the requirement table), casedir.h (finding case files, id order), cmd_check.h and lib/.
 */
#ifndef HN_CMD_SPEC_H
#define HN_CMD_SPEC_H

#include <jansson.h>

#include "model/scenario.h"

/*
 * The comparison, without I/O. cites maps a requirement id to the array of case ids citing it
 * (borrowed; a missing id means no case). Returns a new object
 *   { "added": [ {id, level, title, cases} ], "removed": [ {id, level, title, cases} ],
 *     "changed": [ {id, level, title, changes: [ {field, old, new} ], cases} ],
 *     "unchanged": n }
 * with each list in the order of NEW (removed: of OLD); "level" and "title" are NEW's (for
 * removed: OLD's). Fields compared: level, title, text, capability, untestable.
 */
json_t *hn_spec_diff(const struct hn_spec *old_spec, const struct hn_spec *new_spec,
                     const json_t *cites);

/* argv[0] is "spec"; returns the exit code. Writes to stdout/stderr. */
int hn_cmd_spec(int argc, char **argv);

#endif
