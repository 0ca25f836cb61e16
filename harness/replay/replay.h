/*
 * replay.h: `gwspec replay`: turn a transcript (typically a client-only one from `gwspec record`)
 * into a case (cases/README.md), and shrink a case to the bug with delta debugging.
 *
 * A transcript becomes a MODEL: the sessions, and a timeline of ITEMS in recorded order: client
 * actions (connect, disconnect, a frame sent) and provider steps inferred from the frames
 * received (announce, emit, complete). A case is RENDERED from the model and a subset of its
 * items (the rest are removed, which is what minimisation does):
 *  - client frames become `send` steps with `$sN` for session ids and `$script.rK` for the
 *    content of every chat.send;
 *  - the provider steps of each chat.send become the provider script rK (`announce: auto`, so
 *    native ids are regenerated), with a barrier wherever a client action happened between two
 *    of its events, held with `reached` before the action and `release` after it;
 *  - the expectations are computed by simulating a CONFORMING gateway (chatgw/1.0) on the same
 *    actions and script, not copied from what was received: at every sync point each open
 *    client gets a sentinel subscribe ("gwspec-sync-N") and must receive exactly the conforming
 *    frames, then the sentinel's chat_subscribed; only an abort's complete may also come after
 *    that ack (a group), since a gateway with async handlers answers the subscribe while it
 *    stops the provider. Invariant checkers do the rest.
 *  - an aborted run whose session runs again later is given `on_abort: ignore` and a late end
 *    released while the newer run is held: the abort race of R-ABORT-2, made explicit.
 *
 * Depends on transcript.h, invariant.h, msgcat.h, match.h, scenario.h (requirement levels),
 * lib/ and jansson. No I/O apart from what cmd_replay.c does.
 */
#ifndef HN_REPLAY_H
#define HN_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "model/msgcat.h"
#include "model/scenario.h"
#include "model/transcript.h"

struct hn_replay_model;

/*
 * Build the model of a transcript. catalog may be NULL (then only the frames decide). Never
 * NULL: what cannot be replayed (permission requests, rejected upgrades, server closes) is
 * left out and listed in hn_replay_notes().
 */
struct hn_replay_model *hn_replay_model_build(const struct hn_transcript *t,
                                              const struct hn_msgcat *catalog);
void hn_replay_model_free(struct hn_replay_model *m);

/* Number of items (what minimisation removes). */
size_t hn_replay_items(const struct hn_replay_model *m);
/* The items as JSON (borrowed array), for messages and tests. */
const json_t *hn_replay_item_list(const struct hn_replay_model *m);
/* What the model left out, as an array of strings (borrowed). */
const json_t *hn_replay_notes(const struct hn_replay_model *m);

/*
 * The requirements the recording shows broken, best first (new array of ids): first the
 * invariant checkers' violations over the transcript, then the first place where what each
 * connection received differs from what the conforming simulation says it should have
 * received. Empty when neither finds anything.
 */
json_t *hn_replay_findings(const struct hn_replay_model *m);

struct hn_replay_opts {
    const char *id;             /* case id; default "12.0.1-replayed" */
    const char *title;          /* default: generated */
    const char *description;    /* default: generated from the source and the findings */
    const char *expectation;    /* default: generated */
    const char *requirement;    /* the requirement the case guards; NULL: the first finding */
    const json_t *tags;         /* extra tags (array of strings) or NULL */
    const char *source;         /* the transcript's path, for the description */
    const struct hn_spec *spec; /* requirement levels and capabilities; may be NULL */
};

/*
 * Render the case for the items with keep[i] true (keep NULL: all). Returns a new case object
 * with keys in the order cases/README.md requires. Items that make no sense any more (a send
 * on a client that is not connected, events of a run whose chat.send was removed) are skipped.
 */
json_t *hn_replay_render(const struct hn_replay_model *m, const bool *keep,
                         const struct hn_replay_opts *o);

/* The size of a case for comparisons: steps plus provider script steps. */
size_t hn_replay_case_size(const json_t *c);

/* A case object as YAML text in the style of cases/ (block keys, flow steps). New string. */
char *hn_replay_yaml(const json_t *c);

/*
 * Delta debugging (ddmin, Zeller and Hildebrandt 2002) over n items. keep[] is the starting
 * set on entry (normally all true) and the smallest set found on return. test() returns true
 * when a candidate still fails the same way; results are cached per candidate. Returns the
 * number of tests run.
 */
typedef bool (*hn_ddmin_test)(const bool *keep, size_t n, void *ctx);
size_t hn_ddmin(size_t n, bool *keep, hn_ddmin_test test, void *ctx);

/* `gwspec replay ...` (cmd_replay.c); argv[0] is "replay". Returns the exit status. */
int hn_cmd_replay(int argc, char **argv);

#endif
