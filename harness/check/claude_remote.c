/*
 * claude_remote.c: claude-remote/1's checkers (see claude_remote.h). Each names the requirement
 * of spec/claude-remote-1/requirements.yaml it proves broken, with the records as witnesses.
 */
#include <stdio.h>
#include <string.h>

#include "check/claude_remote.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

#define MAX_REPORTS     20
#define UNSUPPORTED     "Unsupported control request subtype: "
#define SENTINEL_PREFIX "gwspec-sentinel-"

struct ctx {
    json_t *recs; /* borrowed: the records, header excluded */
    const struct hn_msgcat *catalog;
    json_t *violations;
    const char *checker;
    int reported, suppressed;
    bool exercised;
};

static const char *rtype(const json_t *r)
{
    return wc_json_str(r, "t");
}

/* A frame on a server-role connection (conn sN): the client's (`recv`) or the harness's. */
static const json_t *sframe(const json_t *r, const char *t)
{
    const char *conn = wc_json_str(r, "conn");
    if (!conn || conn[0] != 's' || !rtype(r) || strcmp(rtype(r), t))
        return NULL;
    const json_t *f = json_object_get(r, "frame");
    return json_is_object(f) ? f : NULL;
}

static const char *ftype(const json_t *f)
{
    return wc_json_str(f, "type");
}

static bool is_type(const json_t *f, const char *t)
{
    return f && ftype(f) && !strcmp(ftype(f), t);
}

/* The request_id a client's control_response answers, or NULL. */
static const char *answer_id(const json_t *f)
{
    return is_type(f, "control_response")
               ? wc_json_str(json_object_get(f, "response"), "request_id")
               : NULL;
}

static void report(struct ctx *x, const char *req, size_t wa, size_t wb, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void report(struct ctx *x, const char *req, size_t wa, size_t wb, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (x->reported >= MAX_REPORTS) {
        x->suppressed++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *w = json_array(), *frames = json_array();
    size_t ws[2] = {wa, wb};
    for (int i = 0; i < 2; i++) {
        if (ws[i] == (size_t)-1 || (i == 1 && wb == wa))
            continue;
        json_t *r = json_array_get(x->recs, ws[i]);
        json_int_t n = json_integer_value(json_object_get(r, "n"));
        json_array_append_new(w, json_integer(n ? n : (json_int_t)ws[i] + 1));
        json_array_append(frames, r);
    }
    json_array_append_new(x->violations, json_pack("{s:s, s:s, s:s, s:o, s:o}", "checker",
                                                   x->checker, "requirement", req, "message", msg,
                                                   "witness", w, "frames", frames));
    x->reported++;
}

/* CR-CTL-1 / CR-CTL-4: at most one answer per control request id. */
static void check_answer_once(struct ctx *x)
{
    json_t *answered = json_object(), *asked = json_object();
    size_t i;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = sframe(r, "send");
        if (is_type(f, "control_request") && wc_json_str(f, "request_id")) {
            json_t *c = json_object_get(asked, wc_json_str(f, "request_id"));
            json_object_set_new(asked, wc_json_str(f, "request_id"),
                                json_integer(c ? json_integer_value(c) + 1 : 1));
        }
        const char *id = answer_id(sframe(r, "recv"));
        if (!id)
            continue;
        x->exercised = true;
        json_t *first = json_object_get(answered, id);
        if (first) {
            bool repeated = json_integer_value(json_object_get(asked, id)) > 1;
            report(x, repeated ? "CR-CTL-4" : "CR-CTL-1", (size_t)json_integer_value(first), i,
                   "a second control_response for request_id %s%s", id,
                   repeated ? " (the server repeated the request id)" : "");
        } else {
            json_object_set_new(answered, id, json_integer((json_int_t)i));
        }
    }
    json_decref(answered);
    json_decref(asked);
}

/* CR-CTL-5: the client's own control requests carry request ids no earlier one used. */
static void check_fresh_ids(struct ctx *x)
{
    json_t *seen = json_object();
    size_t i;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = sframe(r, "recv");
        if (!is_type(f, "control_request"))
            continue;
        x->exercised = true;
        const char *id = wc_json_str(f, "request_id");
        if (!id || !json_is_object(json_object_get(f, "request"))) {
            report(x, "CR-CTL-5", i, i,
                   "a control_request without a string request_id or a "
                   "request object");
            continue;
        }
        json_t *first = json_object_get(seen, id);
        if (first)
            report(x, "CR-CTL-5", (size_t)json_integer_value(first), i,
                   "the client reused request_id %s", id);
        else
            json_object_set_new(seen, id, json_integer((json_int_t)i));
    }
    json_decref(seen);
}

/* CR-CTL-3: no answer to a request after the server cancelled it. (Cases make the client
 * answer only after the cancel was delivered: an answer in flight across a cancel is not
 * written by any case.) */
static void check_no_answer_after_cancel(struct ctx *x)
{
    json_t *cancelled = json_object();
    size_t i;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = sframe(r, "send");
        if (is_type(f, "control_cancel_request") && wc_json_str(f, "request_id")) {
            x->exercised = true;
            json_object_set_new(cancelled, wc_json_str(f, "request_id"),
                                json_integer((json_int_t)i));
        }
        const char *id = answer_id(sframe(r, "recv"));
        json_t *c = id ? json_object_get(cancelled, id) : NULL;
        if (c)
            report(x, "CR-CTL-3", (size_t)json_integer_value(c), i,
                   "a control_response for request_id %s after the server cancelled it", id);
    }
    json_decref(cancelled);
}

/*
 * CR-CTL-2: a control_request of a subtype other than can_use_tool is answered with the error
 * `Unsupported control request subtype: <x>`; silence is proven when a later request on the
 * same connection was answered and this one never was.
 */
static void check_unknown_subtype(struct ctx *x)
{
    size_t i, j;
    json_t *r, *q;

    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = sframe(r, "send");
        const char *id = wc_json_str(f, "request_id");
        const char *sub = wc_json_str(json_object_get(f, "request"), "subtype");
        if (!is_type(f, "control_request") || !id || !sub || !strcmp(sub, "can_use_tool"))
            continue;
        x->exercised = true;
        const char *conn = wc_json_str(r, "conn");
        bool answered = false, later_answered = false;
        size_t later = (size_t)-1;
        json_array_foreach(x->recs, j, q)
        {
            if (j <= i)
                continue;
            const json_t *g = sframe(q, "recv");
            const char *aid = answer_id(g);
            if (!aid)
                continue;
            if (!strcmp(aid, id)) {
                answered = true;
                const json_t *resp = json_object_get(g, "response");
                const char *st = wc_json_str(resp, "subtype"), *err = wc_json_str(resp, "error");
                char want[256];
                snprintf(want, sizeof(want), UNSUPPORTED "%s", sub);
                if (!st || strcmp(st, "error") || !err || strcmp(err, want))
                    report(x, "CR-CTL-2", i, j,
                           "request %s (subtype %s) was answered with %s%s%s instead of the "
                           "error \"%s\"",
                           id, sub, st ? st : "no subtype", err ? " " : "", err ? err : "", want);
                break;
            }
            if (!strcmp(wc_json_str(q, "conn") ? wc_json_str(q, "conn") : "", conn) &&
                !later_answered) {
                later_answered = true;
                later = j;
            }
        }
        if (!answered && later_answered)
            report(x, "CR-CTL-2", i, later,
                   "request %s (subtype %s) was never answered, though a later request on %s was",
                   id, sub, conn);
    }
}

/*
 * CR-CTL-7: no control frames while disconnected, and none later for that time: an answer on
 * another connection than the request's was held across the gap (the request's connection
 * closed before it was answered).
 */
static void check_not_while_disconnected(struct ctx *x)
{
    json_t *req_conn = json_object(); /* request_id -> index of the request's record */
    size_t i;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = sframe(r, "send");
        if (is_type(f, "control_request") && wc_json_str(f, "request_id"))
            json_object_set_new(req_conn, wc_json_str(f, "request_id"),
                                json_integer((json_int_t)i));
        const char *id = answer_id(sframe(r, "recv"));
        json_t *ri = id ? json_object_get(req_conn, id) : NULL;
        if (!ri)
            continue;
        x->exercised = true;
        json_t *rq = json_array_get(x->recs, (size_t)json_integer_value(ri));
        if (strcmp(wc_json_str(rq, "conn"), wc_json_str(r, "conn")))
            report(x, "CR-CTL-7", (size_t)json_integer_value(ri), i,
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
        if (rtype(r) && !strcmp(rtype(r), "ctl")) {
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
        const json_t *f = sframe(r, "recv");
        if (dropped && is_type(f, "control_request"))
            report(x, "CR-CTL-7", dropped_at, i,
                   "a control_request the client dropped while disconnected came out later");
    }
}

/* CR-MSG-1: a message is rendered at most once per uuid (the client's `rendered` notes). */
static void check_rendered_once(struct ctx *x)
{
    json_t *seen = json_object();
    size_t i;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        const json_t *m = json_object_get(r, "msg");
        if (!rtype(r) || strcmp(rtype(r), "ctl") || !wc_json_str(m, "what") ||
            strcmp(wc_json_str(m, "what"), "rendered") || !wc_json_str(m, "uuid"))
            continue;
        x->exercised = true;
        json_t *first = json_object_get(seen, wc_json_str(m, "uuid"));
        if (first)
            report(x, "CR-MSG-1", (size_t)json_integer_value(first), i,
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
static void check_no_retry(struct ctx *x)
{
    size_t i, stop = (size_t)-1;
    const char *why = NULL, *req = NULL;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        const char *t = rtype(r), *conn = wc_json_str(r, "conn");
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
            report(x, req, stop, i, "a connection attempt after %s", why);
            stop = (size_t)-1;
        } else if (!strcmp(t, "note") || !strcmp(t, "exit")) {
            continue;
        }
    }
}

/* catalog_valid: every frame the client sent is one the catalog defines, with its fields. */
static void check_catalog(struct ctx *x)
{
    size_t i;
    json_t *r;

    if (!x->catalog)
        return;
    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = sframe(r, "recv");
        char *why = NULL;
        if (!f || json_is_true(json_object_get(r, "sentinel")))
            continue;
        x->exercised = true;
        if (hn_msgcat_check_inbound(x->catalog, f, &why) != 0) {
            const char *t = ftype(f) ? ftype(f) : "";
            report(x,
                   !strcmp(t, "user")               ? "CR-MSG-2"
                   : !strcmp(t, "control_request")  ? "CR-CTL-5"
                   : !strcmp(t, "control_response") ? "CR-CTL-1"
                                                    : "CR-CONN-1",
                   i, i, "not a frame of the catalog: %s", why);
            free(why);
        }
    }
}

struct checker {
    struct hn_invariant_info info;
    void (*fn)(struct ctx *x);
};

static const struct checker checkers[] = {
    {{"answer_once", "CR-CTL-1,CR-CTL-4",
      "at most one control_response per request_id (C-2); a repeated id is CR-CTL-4"},
     check_answer_once},
    {{"fresh_request_ids", "CR-CTL-5",
      "the client's own control_requests never reuse a request_id"},
     check_fresh_ids},
    {{"no_answer_after_cancel", "CR-CTL-3",
      "no control_response for a request_id after its control_cancel_request (C-3)"},
     check_no_answer_after_cancel},
    {{"unknown_subtype_error", "CR-CTL-2",
      "any subtype but can_use_tool gets the error \"Unsupported control request subtype: <x>\"; "
      "silence is proven by a later request on the same connection being answered"},
     check_unknown_subtype},
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
    for (size_t i = 0; i < NCHECKERS; i++)
        table[i] = checkers[i].info;
    *n = NCHECKERS;
    return table;
}

json_t *hn_claude_remote_run(const struct hn_transcript *t, const struct hn_msgcat *catalog)
{
    json_t *checks = json_object(), *viol = json_array(), *supp = NULL;
    json_t *recs = hn_transcript_records(t);

    for (size_t i = 0; i < NCHECKERS; i++) {
        struct ctx x = {
            .recs = recs, .catalog = catalog, .violations = viol, .checker = checkers[i].info.name};
        checkers[i].fn(&x);
        hn_check_outcome(checks, &supp, x.checker, x.reported, x.exercised, x.suppressed);
    }
    return hn_check_result(checks, viol, supp);
}
