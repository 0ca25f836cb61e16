/*
 * dispatch.h: the invariant checkers of the dispatch-ws/1 dialect, D-1 ... D-12 of
 * ../shared/protocol/others.md A.11, over a whole transcript. Same shapes as invariant.h
 * (table entries, the result object of hn_invariants_run); sentinel records are skipped.
 * Sans-I/O. Depends on transcript.h, msgcat.h, lib/ and jansson.
 */
#ifndef HN_DISPATCH_H
#define HN_DISPATCH_H

#include <stddef.h>

#include <jansson.h>

#include "check/invariant.h"
#include "model/msgcat.h"
#include "model/transcript.h"

const struct hn_invariant_info *hn_dispatch_table(size_t *n);
json_t *hn_dispatch_run(const struct hn_transcript *t, const struct hn_msgcat *catalog);

#endif
