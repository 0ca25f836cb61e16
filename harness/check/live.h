/*
 * live.h: the streaming invariants checked live, one frame at a time, for `gwspec load`
 * (issue 16): what the whole-transcript checkers of invariant.c judge after the fact, kept to
 * O(1) work per frame so that a load of millions of frames is judged as it runs.
 *
 * A run (struct hn_live_run) is one chat.send's stream; a view (struct hn_live_view) is what
 * one socket, or one client across a refresh, receives of it. Per frame of a view:
 *   - no native id: the provider's announced id never appears in the frame's text (R-MAP-1);
 *   - attached first: no event before the view's subscribe was acknowledged (R-SUB-2);
 *   - one terminal: nothing of the run after the view's complete (R-TERM-1, R-TERM-2);
 *   - seq contiguity: the view's seqs go up by exactly 1 from where it started (R-SEQ-1,
 *     after a subscribe: lastSeq + 1, R-SUB-2);
 *   - the same stream everywhere: seq N is the same event on every view (replay plus live equal
 *     an observer's stream, R-SUB-3, R-SEQ-3): the first delivery of each seq is kept and every
 *     later one is compared with it (text first, then as JSON when the texts differ);
 *   - an abort's complete says aborted true and success false (R-ABORT-1).
 * A violation gives its message and the witness frames (the offending one and the earlier one
 * it contradicts). Memory: one kept frame per seq of a run while the run lasts.
 * Depends on lib/ and jansson.
 */
#ifndef HN_LIVE_H
#define HN_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct hn_live_run {
    char *native_id;     /* the id the provider announces (owned), or NULL */
    bool expect_aborted; /* the harness aborts this run */
    char **canon;        /* canon[s-1]: the first delivery of seq s, or NULL */
    size_t ncanon, capcanon;
};

struct hn_live_view {
    bool attached;    /* receives this run (the sender, a subscriber) */
    bool terminal;    /* its complete arrived */
    int64_t next_seq; /* the seq the next event must have */
    int64_t events;   /* run events received */
    char *last;       /* the last run event received (owned), for witnesses */
};

struct hn_live_violation {
    char *what;    /* new: the message */
    char *witness; /* new: the frame that broke it */
    char *earlier; /* new or NULL: the frame it contradicts */
};

void hn_live_run_init(struct hn_live_run *r, const char *native_id, bool expect_aborted);
void hn_live_run_release(struct hn_live_run *r);
/* A view attached from the run's start (the sender, an observer subscribed before seq 1). */
void hn_live_view_start(struct hn_live_view *v);
void hn_live_view_release(struct hn_live_view *v);
/*
 * A subscribe of this view with lastSeq `from` was acknowledged: the next event must be seq
 * from + 1 (the replay, then the live events). A view that had its complete stays terminal.
 */
void hn_live_view_resume(struct hn_live_view *v, int64_t from);

/*
 * One run event of this run on this view: text/len its bytes as received, ev the parsed
 * object. 0 when every invariant holds, 1 with *out filled (hn_live_violation_release) when
 * one does not; the view then goes on from this frame (one violation per fault, not a cascade).
 */
int hn_live_event(struct hn_live_run *r, struct hn_live_view *v, const char *text, size_t len,
                  const json_t *ev, struct hn_live_violation *out);
/*
 * The run is over (its provider is done and every view had time to get its complete): 1 with
 * *out when this attached view never got one.
 */
int hn_live_view_end(const struct hn_live_view *v, struct hn_live_violation *out);
void hn_live_violation_release(struct hn_live_violation *v);

#endif
