/*
 * invariant.h: the invariant checkers, a table of named history checkers that run over a
 * whole transcript (both sides: client frames and the provider's control messages) and
 * report each violation with its requirement id and a minimal witness (the record numbers of
 * the first frames that break it).
 *
 * A checker asserts only what the transcript really constrains (STYLE C.12.3): when it cannot
 * tell (no provider side, no subscribe, a connection that joined a run without asking) it says
 * nothing, and when nothing in the transcript applies to it, it reports "not_exercised".
 * Sans-I/O: never touches sockets. Depends on transcript.h, msgcat.h, lib/ and jansson.
 */
#ifndef HN_INVARIANT_H
#define HN_INVARIANT_H

#include <stddef.h>

#include <jansson.h>

#include "model/msgcat.h"
#include "model/transcript.h"

struct hn_invariant_info {
    const char *name;         /* "seq_contiguous" */
    const char *requirements; /* "R-SEQ-1,R-SEQ-2,R-SUB-3" */
    const char *description;  /* one line, for `gwspec list --checks` */
};

/* The checker table (static storage), *n set to its length. */
const struct hn_invariant_info *hn_invariant_table(size_t *n);

/*
 * Run every checker over a transcript. Returns a new JSON object:
 *  { "checks": { "<name>": "pass" | "fail" | "not_exercised" },
 *    "violations": [ { "checker", "requirement", "message", "witness": [n, ...],
 *                      "frames": [record, ...] } ],
 *    "suppressed": { "<name>": count } (only when a checker hit its report cap) }
 * Violations are in checker-table order, then in transcript order. catalog may be NULL
 * (catalog_valid is then not_exercised). Never fails: malformed records are skipped.
 */
json_t *hn_invariants_run(const struct hn_transcript *t, const struct hn_msgcat *catalog);

/*
 * One checker's outcome, for a checker table's run (this file's and a dialect's): "fail" when it
 * reported, else "pass" when something applied, else "not_exercised", into checks; a count of
 * violations past the cap into *supp (created on the first).
 */
void hn_check_outcome(json_t *checks, json_t **supp, const char *checker, int reported,
                      bool exercised, int suppressed);
/* The result of a checker run: {checks, violations, suppressed?}; takes the three. */
json_t *hn_check_result(json_t *checks, json_t *violations, json_t *supp);

/* Most violations reported per checker; the rest are counted in "suppressed". */
#define HN_INVARIANT_MAX_REPORTS 10

#endif
