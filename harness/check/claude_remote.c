/*
 * claude_remote.c: claude-remote/1's checkers (see claude_remote.h). Each names the requirement
 * of spec/claude-remote-1/requirements.yaml it proves broken, with the records as witnesses.
 */
#include <stdio.h>
#include <string.h>

#include "check/claude_remote.h"
#include "check/sdkctl.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

/* The control protocol's rules, as both Claude dialects state them (check/sdkctl.c). */
static void check_answer_once(struct hn_sc_ctx *x)
{
    hn_sc_check_answer_once(x, false);
}

/*
 * CR-CTL-7: no control frames while disconnected, and none later for that time: an answer on
 * another connection than the request's was held across the gap (the request's connection
 * closed before it was answered).
 */
static void check_not_while_disconnected(struct hn_sc_ctx *x)
{
    json_t *req_conn = json_object(); /* request_id -> index of the request's record */
    size_t i;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = hn_sc_frame(r, "send");
        if (hn_sc_is_type(f, "control_request") && wc_json_str(f, "request_id"))
            json_object_set_new(req_conn, wc_json_str(f, "request_id"),
                                json_integer((json_int_t)i));
        const char *id = hn_sc_answer_id(hn_sc_frame(r, "recv"));
        json_t *ri = id ? json_object_get(req_conn, id) : NULL;
        if (!ri)
            continue;
        x->exercised = true;
        json_t *rq = json_array_get(x->recs, (size_t)json_integer_value(ri));
        if (strcmp(wc_json_str(rq, "conn"), wc_json_str(r, "conn")))
            hn_sc_report(x, "CR-CTL-7", (size_t)json_integer_value(ri), i,
                         "the answer to request %s (sent on %s) came on %s: it was held while the "
                         "client was disconnected",
                         id, wc_json_str(rq, "conn"), wc_json_str(r, "conn"));
    }
    json_decref(req_conn);
    /* an interrupt act the client dropped (disconnected) must not come out later */
    bool dropped = false;
    size_t dropped_at = 0;
    json_array_foreach(x->recs, i, r)
    {
        if (hn_sc_rtype(r) && !strcmp(hn_sc_rtype(r), "ctl")) {
            const json_t *m = json_object_get(r, "msg");
            const char *res = wc_json_str(m, "result");
            if (wc_json_str(m, "t") && !strcmp(wc_json_str(m, "t"), "acted") && res &&
                !strcmp(res, "dropped")) {
                dropped = true;
                dropped_at = i;
                x->exercised = true;
            } else if (wc_json_str(m, "t") && !strcmp(wc_json_str(m, "t"), "acted")) {
                dropped = false;
            }
        }
        const json_t *f = hn_sc_frame(r, "recv");
        if (dropped && hn_sc_is_type(f, "control_request"))
            hn_sc_report(x, "CR-CTL-7", dropped_at, i,
                         "a control_request the client dropped while disconnected came out later");
    }
}

/* CR-MSG-1: a message is rendered at most once per uuid (the client's `rendered` notes). */
static void check_rendered_once(struct hn_sc_ctx *x)
{
    json_t *seen = json_object();
    size_t i;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        const json_t *m = json_object_get(r, "msg");
        if (!hn_sc_rtype(r) || strcmp(hn_sc_rtype(r), "ctl") || !wc_json_str(m, "what") ||
            strcmp(wc_json_str(m, "what"), "rendered") || !wc_json_str(m, "uuid"))
            continue;
        x->exercised = true;
        json_t *first = json_object_get(seen, wc_json_str(m, "uuid"));
        if (first)
            hn_sc_report(x, "CR-MSG-1", (size_t)json_integer_value(first), i,
                         "uuid %s was rendered twice", wc_json_str(m, "uuid"));
        else
            json_object_set_new(seen, wc_json_str(m, "uuid"), json_integer((json_int_t)i));
    }
    json_decref(seen);
}

/*
 * CR-RETRY-1 / CR-RETRY-4 / CR-RETRY-5: no attempt after a 4003 close, after a refused
 * (never opened) attempt, or after the client closed the socket itself. The timing of the
 * retries that must come (CR-RETRY-2, CR-RETRY-3) is graded by the cases' expect_connect.
 */
static void check_no_retry(struct hn_sc_ctx *x)
{
    size_t i, stop = (size_t)-1;
    const char *why = NULL, *req = NULL;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        const char *t = hn_sc_rtype(r), *conn = wc_json_str(r, "conn");
        if (!t)
            continue;
        if (!strcmp(t, "close") && conn && conn[0] == 's') {
            const char *by = wc_json_str(r, "by");
            json_int_t code = json_integer_value(json_object_get(r, "code"));
            if (by && !strcmp(by, "server") && code == 4003) {
                stop = i, why = "the server closed with 4003", req = "CR-RETRY-1";
                x->exercised = true;
            } else if (by && !strcmp(by, "client")) {
                stop = i, why = "the client closed the socket itself", req = "CR-RETRY-5";
                x->exercised = true;
            }
        } else if (!strcmp(t, "refused")) {
            stop = i, why = "the attempt was refused (it never opened)", req = "CR-RETRY-4";
            x->exercised = true;
        } else if (!strcmp(t, "attempt") && stop != (size_t)-1) {
            hn_sc_report(x, req, stop, i, "a connection attempt after %s", why);
            stop = (size_t)-1;
        } else if (!strcmp(t, "note") || !strcmp(t, "exit")) {
            continue;
        }
    }
}

/* catalog_valid: every frame the client sent is one the catalog defines, with its fields. */
static void check_catalog(struct hn_sc_ctx *x)
{
    size_t i;
    json_t *r;

    if (!x->catalog)
        return;
    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = hn_sc_frame(r, "recv");
        char *why = NULL;
        if (!f || json_is_true(json_object_get(r, "sentinel")))
            continue;
        x->exercised = true;
        if (hn_msgcat_check_inbound(x->catalog, f, &why) != 0) {
            const char *t = wc_json_str(f, "type") ? wc_json_str(f, "type") : "";
            hn_sc_report(x,
                         !strcmp(t, "user")               ? "CR-MSG-2"
                         : !strcmp(t, "control_request")  ? "CR-CTL-5"
                         : !strcmp(t, "control_response") ? "CR-CTL-1"
                                                          : "CR-CONN-1",
                         i, i, "not a frame of the catalog: %s", why);
            free(why);
        }
    }
}

static const struct hn_sc_checker checkers[] = {
    {{"answer_once", "CR-CTL-1,CR-CTL-4",
      "at most one control_response per request_id (C-2); a repeated id is CR-CTL-4"},
     check_answer_once},
    {{"fresh_request_ids", "CR-CTL-5",
      "the client's own control_requests never reuse a request_id"},
     hn_sc_check_fresh_ids},
    {{"no_answer_after_cancel", "CR-CTL-3",
      "no control_response for a request_id after its control_cancel_request (C-3)"},
     hn_sc_check_no_answer_after_cancel},
    {{"unknown_subtype_error", "CR-CTL-2",
      "any subtype but can_use_tool gets the error \"Unsupported control request subtype: <x>\"; "
      "silence is proven by a later request on the same connection being answered"},
     hn_sc_check_unknown_subtype},
    {{"not_while_disconnected", "CR-CTL-7",
      "no control frame held across a disconnection: an answer on the request's own "
      "connection, a dropped act never sent later (C-7)"},
     check_not_while_disconnected},
    {{"rendered_once", "CR-MSG-1", "each uuid rendered at most once (the client's notes, C-6)"},
     check_rendered_once},
    {{"no_retry", "CR-RETRY-1,CR-RETRY-4,CR-RETRY-5",
      "no connection attempt after a 4003 close, a refused attempt, or the client's own close"},
     check_no_retry},
    {{"catalog_valid", "CR-MSG-2,CR-CTL-5,CR-CTL-1",
      "every frame the client sent is in the catalog with its fields"},
     check_catalog},
};
#define NCHECKERS (sizeof(checkers) / sizeof(checkers[0]))

const struct hn_invariant_info *hn_claude_remote_table(size_t *n)
{
    static struct hn_invariant_info table[NCHECKERS];
    hn_sc_infos(checkers, NCHECKERS, table);
    *n = NCHECKERS;
    return table;
}

json_t *hn_claude_remote_run(const struct hn_transcript *t, const struct hn_msgcat *catalog)
{
    return hn_sc_run(checkers, NCHECKERS, t, catalog, "CR", "server");
}
