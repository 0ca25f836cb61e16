/*
 * runner.h: run ONE case against a target: create its sessions, open its clients, drive its
 * steps from events (frames, control messages, closes, the safety timeout; no sleeps), record
 * the transcript, run the invariant checkers, grade, and build the case result JSON
 * (spec/report/case.schema.json).
 *
 * Layer exec/ (harness/README.md): uses model/ (scenario, match, msgcat, transcript), check/
 * (invariant, verdict) and its own target, http, ws and control.
 */
#ifndef HN_RUNNER_H
#define HN_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "dialect/dialect.h"
#include "exec/target.h"
#include "model/msgcat.h"
#include "model/scenario.h"

struct hn_runner_opts {
    uint64_t seed;                    /* the case seed (directive seeds, nonces, masks) */
    int64_t timeout_ms;               /* > 0: overrides every case's safety timeout */
    const struct hn_spec *spec;       /* requirement levels */
    const char *spec_version;         /* "chatgw/1.0" */
    const struct hn_dialect *dialect; /* the wire; NULL: chatgw/1 */
    const struct hn_msgcat *catalog;  /* may be NULL */
    const char *rerun;                /* the one-line rerun command for this case */
    uint64_t max_case_bytes;          /* > 0: the case is ERROR when its records of the target's
                                         frames hold more (exec/budget.h); 0: no cap */
};

/*
 * Run case c against target t (started and authenticated; an own_target case gets a private
 * copy started here). Never NULL: harness problems become an ERROR result.
 */
json_t *hn_runner_run(const struct hn_case *c, struct hn_target *t, const struct hn_runner_opts *o);

/* The result of a case that did not run (UNIMPLEMENTED, SKIPPED, ERROR) with a message. */
json_t *hn_runner_result_norun(const struct hn_case *c, const char *verdict, const char *message,
                               uint64_t seed, const char *rerun);

#endif
