/*
 * sdkctl.h: what the two Claude client dialects share (claude-remote/1 and claude-control/1,
 * check/claude_remote.c and check/claude_control.c): the SDK control protocol over a server-role
 * transcript. A checker's context and report, the record accessors, the control-protocol
 * checkers (one answer per request id, fresh ids of the client's own requests, no answer after
 * a cancel, the unknown-subtype error), running a table of checkers, and the dialects' sentinel
 * (a control_request of an unknown subtype, answered with its error). Requirement ids are made
 * from the dialect's prefix ("CR", "CC"): the two specs number these rules alike. Sans-I/O.
 */
#ifndef HN_SDKCTL_H
#define HN_SDKCTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "check/invariant.h"
#include "model/msgcat.h"
#include "model/transcript.h"

#define HN_SC_UNSUPPORTED "Unsupported control request subtype: "

/* One checker's run. */
struct hn_sc_ctx {
    json_t *recs; /* borrowed: the records, header excluded */
    const struct hn_msgcat *catalog;
    json_t *violations;
    const char *checker;
    const char *prefix; /* the dialect's requirement prefix: "CR", "CC" */
    const char *peer;   /* what the harness plays, in messages: "server", "CLI" */
    int reported, suppressed;
    bool exercised;
};

struct hn_sc_checker {
    struct hn_invariant_info info;
    void (*fn)(struct hn_sc_ctx *x);
};

/* A record's type `t`; whether it is of type t. */
const char *hn_sc_rtype(const json_t *r);
bool hn_sc_is_rec(const json_t *r, const char *t);
/* The frame of a record of type t (`recv`: the client's, `send`: the harness's) on a
 * server-role connection (conn sN), or NULL. */
const json_t *hn_sc_frame(const json_t *r, const char *t);
/* Whether frame f has type t. */
bool hn_sc_is_type(const json_t *f, const char *t);
/* A record's connection, "" without one. */
const char *hn_sc_conn(const json_t *r);
/* The request_id a control_response answers, or NULL. */
const char *hn_sc_answer_id(const json_t *f);
/* A violation of req with the records at indexes wa and wb ((size_t)-1: none) as witnesses. */
void hn_sc_report(struct hn_sc_ctx *x, const char *req, size_t wa, size_t wb, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* <P>-CTL-1 / <P>-CTL-4: at most one answer per request id (a repeated id is CTL-4); with
 * only_asked, an answer to an id the harness never asked with is CTL-1 too. */
void hn_sc_check_answer_once(struct hn_sc_ctx *x, bool only_asked);
/* <P>-CTL-5: the client's own control requests carry ids no earlier one used. */
void hn_sc_check_fresh_ids(struct hn_sc_ctx *x);
/* <P>-CTL-3: no answer to a request after the harness cancelled it. */
void hn_sc_check_no_answer_after_cancel(struct hn_sc_ctx *x);
/* <P>-CTL-2: any subtype but can_use_tool gets the error HN_SC_UNSUPPORTED "<x>"; silence is
 * proven when a later request on the same connection was answered and this one never was. */
void hn_sc_check_unknown_subtype(struct hn_sc_ctx *x);

/* The infos of a checker table (a static copy per table: out has n entries). */
void hn_sc_infos(const struct hn_sc_checker *c, size_t n, struct hn_invariant_info *out);
/* Run every checker of the table over t: the shape of invariant.h's results. */
json_t *hn_sc_run(const struct hn_sc_checker *c, size_t n, const struct hn_transcript *t,
                  const struct hn_msgcat *catalog, const char *prefix, const char *peer);

/* The dialects' sentinel: the frame sent, the id of its reply (NULL when frame is none), and
 * what names a frame (its `type`). */
json_t *hn_sc_sentinel_frame(const char *id);
const char *hn_sc_sentinel_reply(const json_t *frame);
const char *hn_sc_frame_id(const json_t *frame);

#endif
