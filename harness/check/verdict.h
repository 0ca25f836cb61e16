/*
 * verdict.h: graded verdicts (Autobahn-style) and the known-failures baseline.
 *
 * OK, NON-STRICT (a SHOULD missed), INFORMATIONAL (a MAY), UNIMPLEMENTED (a capability the
 * target does not declare), SKIPPED, FAILED (a MUST broken), ERROR (the harness could not
 * judge). A baseline (fixtures/baselines/<target>.yaml) lists failures a target is known to
 * have, each as a case, the requirement its failure is reported under and the witness key of
 * that failure (hn_baseline_witness_key). A failure is known only when an entry names all
 * three; a case is known only when every one of its failures is. Any other failure of a
 * baselined case is a new failure and fails the run. An entry none of whose witnesses occurred
 * in a case that ran is "stale" and fails the run too, so the baseline is kept honest.
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
 * The witness key of one failure (report.h's failure object): what a baseline entry must name
 * besides the case and the requirement, so that a second, different violation of the same
 * requirement in the same case is not hidden by the first one's entry.
 *   invariant failure: "<checker>/<K>", K the kind of the last frame of its witness that a
 *                      client received (what the gateway sent that broke the invariant), else
 *                      of its last frame (a provider-side witness), e.g. "one_terminal/status";
 *   step failure:      "step-<N>/<K>", N the step index as reports print it, K the kind of the
 *                      frame received instead of the expected one ("none" when nothing came);
 *   other failures:    their kind ("alternative").
 * The kind K of a frame is its "kind" (server events), else its "type" (requests, replies,
 * control messages), else "frame"; a record that carries no JSON frame gives its record type
 * ("close", "http", "ping", ...), unparsed text or binary gives "raw". New string.
 */
char *hn_baseline_witness_key(const json_t *failure);

/*
 * Load a baseline: { target: NAME, known: [ {case: ID, requirement: R-.., witness: KEY or
 * [KEY, ...], reason: TEXT, upstream: URL-or-text, race: LABEL} ] }. `case`, `requirement`,
 * `witness` and `reason` are required, `upstream` and `race` optional; unknown keys are errors.
 * Several witness keys in one entry are alternatives (any of them is that known failure).
 * Entries of one case with the same `race` label are alternatives too: the outcomes of a race
 * inside the target, of which one run shows some. Returns a new baseline, or NULL with *err a
 * new "file:line:col: message" (free()).
 */
struct hn_baseline *hn_baseline_load(const char *path, char **err);
struct hn_baseline *hn_baseline_load_string(const char *name, const char *yaml, char **err);

/*
 * Apply to a run result (report.h). A failure of a FAILED or NON-STRICT case is covered by an
 * entry with the same case and requirement that lists its witness key (the failure's
 * "witness_key", computed when absent). A case whose every failure is covered gets "known":
 * true and "known_reason". A case with entries and an uncovered failure gets
 * "baseline_new": [{requirement, witness}] and is a new failure. An entry of a case that ran
 * (not SKIPPED, UNIMPLEMENTED or ERROR) none of whose witness keys occurred is stale, unless
 * another entry of its race matched. Sets
 * run["baseline"] = {target, known: n, stale: [case ids], stale_entries: [{case, requirement,
 * witness: [..], why}], new: [{case, requirement, witness, message}], not_run: n}, plus
 * "warning" when the baseline's target differs from run["target"].
 */
void hn_baseline_apply(const struct hn_baseline *b, json_t *run);

/*
 * hn_baseline_apply's verdict on one case alone (known and known_reason, or baseline_new), so
 * the console can say KNOWN as each case ends; the run's stale entries need the whole run and
 * come from hn_baseline_apply, which marks every case again.
 */
void hn_baseline_apply_case(const struct hn_baseline *b, json_t *case_result);

/*
 * Charge each failure of a case result (report.h) to the requirement whose rule was broken: a
 * step failure whose witness shares a record with an invariant failure's witness was caused by
 * what the invariant names (a second `complete` makes a later `quiet` fail too), so it gets
 * "charged_to": the invariant's requirement and "cause": the index of that invariant failure in
 * "failures"; every other failure is charged to its own requirement ("charged_to" its
 * "requirement"). The case gets "charged": the charged requirements, first seen first, with the
 * causes before the failures they caused. "requirement" is never changed (baseline entries name
 * it). Returns the number of step failures charged to an invariant.
 */
size_t hn_failures_charge(json_t *case_result);

/* Accepts NULL. */
void hn_baseline_free(struct hn_baseline *b);

#endif
