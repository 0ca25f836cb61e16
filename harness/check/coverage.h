/*
 * coverage.h: requirement coverage, the spec author's view of a run or of a catalog: for every
 * requirement of the spec version, whether a case cites it, whether a case that cites it was
 * scored in this run, or whether it is marked `untestable:` (with its reason) in
 * requirements.yaml. Counted per level (MUST, SHOULD, MAY).
 *
 * Enforcement: only the whole catalog is judged. A MUST that no loaded case cites and that is
 * not marked untestable makes a whole-catalog run fail (exit 1) and `gwspec lint` of the whole
 * catalog report a problem. A narrowed selection (--filter, --exclude, --tag, --req, --shard,
 * or case paths other than the catalog directory) reports the coverage of the requirements its
 * selected cases cite, and never fails for the others.
 *
 * Not part of coverage: whether a case is right. Depends on scenario.h, casedir.h, lib/ and
 * jansson; reads the run result model of report.h but writes no report.
 */
#ifndef HN_COVERAGE_H
#define HN_COVERAGE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "model/casedir.h"
#include "model/scenario.h"

/*
 * True when the selection is the whole catalog: no filter, exclude, tag, requirement or shard,
 * and no case argument other than the catalog directory itself (compared by real path).
 */
bool hn_coverage_is_whole(const struct hn_select *sel, char *const *args, size_t nargs,
                          const char *catalog_dir);

/*
 * The coverage of `spec` by the loaded cases `all` (every case file of the catalog that loaded
 * against this spec version), the selected cases `sel` (NULL with nsel 0 for lint) and the
 * case results `results` (run["cases"] of report.h, or NULL for lint). `whole`: the selection
 * is the whole catalog (hn_coverage_is_whole). Returns a new object:
 *   { "scope": "catalog" | "selection", "enforced": bool (== whole),
 *     "levels": { "MUST": { "requirements", "with_case", "exercised", "not_run",
 *                           "without_case", "untestable" }, "SHOULD": {..}, "MAY": {..} },
 *     "without_case": [ids], "not_run": [ids],
 *     "untestable": [ {id, level, reason} ],
 *     "untestable_cited": [ {id, cases: [ids]} ],
 *     "missing_must": [ids] }
 * In scope: every requirement of the spec for the whole catalog, else those the selected cases
 * cite. Each requirement in scope is counted once: untestable (marked, whatever cites it), else
 * without_case (no loaded case cites it), else exercised (a case citing it was scored: not
 * SKIPPED, UNIMPLEMENTED or ERROR), else not_run. with_case = exercised + not_run.
 * missing_must: the MUSTs without a case, when whole (else empty).
 */
json_t *hn_coverage_compute(const struct hn_spec *spec, const struct hn_caselist *all,
                            struct hn_case *const *sel, size_t nsel, const json_t *results,
                            bool whole);

/*
 * One problem line per MUST without a case (coverage["missing_must"]):
 * "<requirements.yaml:line:col>: MUST requirement 'R-X' has no case in <version>: write one,
 * or mark it `untestable:` with the reason"; with `lint`, also one per untestable requirement
 * that a case cites (a contradiction in the catalog). Appends to errs (array of strings);
 * returns how many it appended.
 */
size_t hn_coverage_problems(const struct hn_spec *spec, const json_t *coverage, bool lint,
                            json_t *errs);

#endif
