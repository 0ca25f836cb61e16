/*
 * verdict.h: graded verdicts (Autobahn-style) and the known-failures baseline.
 *
 * OK, NON-STRICT (a SHOULD missed), INFORMATIONAL (a MAY), UNIMPLEMENTED (a capability the
 * target does not declare), SKIPPED, FAILED (a MUST broken), ERROR (the harness could not
 * judge). A baseline (fixtures/baselines/<target>.yaml) lists failures a target is known to
 * have: a listed failure is marked "known" and does not fail the run; a listed case that no
 * longer fails is "stale" and does fail it, so the baseline is kept honest.
 * Works on the JSON run result of report.h. Depends on lib/ (wc_yaml, wc_json) and jansson.
 */
#ifndef HN_VERDICT_H
#define HN_VERDICT_H

#include <stdbool.h>

#include <jansson.h>

enum hn_verdict {
    HN_OK,
    HN_NON_STRICT,
    HN_INFORMATIONAL,
    HN_UNIMPLEMENTED,
    HN_SKIPPED,
    HN_FAILED,
    HN_ERROR,
};

/* "OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "SKIPPED", "FAILED", "ERROR". */
const char *hn_verdict_name(enum hn_verdict v);

/*
 * Parse a verdict name, case-insensitively, '_' accepted for '-' ("non_strict", "ok" as in case
 * files). 0, or WC_ERR_NOTFOUND for an unknown name (*out untouched).
 */
int hn_verdict_parse(const char *s, enum hn_verdict *out);

/* The verdict a broken requirement of this level gives: MUST -> FAILED, SHOULD -> NON-STRICT,
 * MAY -> INFORMATIONAL; anything else -> FAILED. */
enum hn_verdict hn_verdict_for_level(const char *level);

/* The worse of two verdicts, for combining (ERROR > FAILED > NON-STRICT > INFORMATIONAL > OK;
 * UNIMPLEMENTED and SKIPPED rank above OK but below INFORMATIONAL). */
enum hn_verdict hn_verdict_worst(enum hn_verdict a, enum hn_verdict b);

/* True for the verdicts that count as passed: OK, NON-STRICT and INFORMATIONAL. */
bool hn_verdict_is_pass(enum hn_verdict v);

struct hn_baseline;

/*
 * Load a baseline: { target: NAME, known: [ {case: ID, requirement: R-.., reason: TEXT,
 * upstream: URL-or-text} ] }. `case` and `reason` are required, `requirement` and `upstream`
 * optional; unknown keys are errors. Returns a new baseline, or NULL with *err a new
 * "file:line:col: message" (free()).
 */
struct hn_baseline *hn_baseline_load(const char *path, char **err);
struct hn_baseline *hn_baseline_load_string(const char *name, const char *yaml, char **err);

/*
 * Apply to a run result (report.h): a FAILED or NON-STRICT case whose every failure requirement
 * is covered by an entry for that case (an entry without requirement covers all) gets
 * "known": true and "known_reason"; an entry for a case that ran (not SKIPPED, UNIMPLEMENTED or
 * ERROR) and matched none of its failures is stale. Sets run["baseline"] =
 * {target, known: n, stale: [case ids], stale_entries: [{case, requirement}], not_run: n}, plus
 * "warning" when the baseline's target differs from run["target"].
 */
void hn_baseline_apply(const struct hn_baseline *b, json_t *run);

/* Accepts NULL. */
void hn_baseline_free(struct hn_baseline *b);

#endif
