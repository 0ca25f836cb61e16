/*
 * sdkctl.c: the SDK control protocol's checkers and helpers that claude-remote/1 and
 * claude-control/1 share (see sdkctl.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check/sdkctl.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

#define MAX_REPORTS     20
#define SENTINEL_PREFIX "gwspec-sentinel-"

const char *hn_sc_rtype(const json_t *r)
{
    return wc_json_str(r, "t");
}

bool hn_sc_is_rec(const json_t *r, const char *t)
{
    return hn_sc_rtype(r) && !strcmp(hn_sc_rtype(r), t);
}

const json_t *hn_sc_frame(const json_t *r, const char *t)
{
    const char *conn = wc_json_str(r, "conn");
    if (!conn || conn[0] != 's' || !hn_sc_is_rec(r, t))
        return NULL;
    const json_t *f = json_object_get(r, "frame");
    return json_is_object(f) ? f : NULL;
}

bool hn_sc_is_type(const json_t *f, const char *t)
{
    const char *ft = f ? wc_json_str(f, "type") : NULL;
    return ft && !strcmp(ft, t);
}

const char *hn_sc_conn(const json_t *r)
{
    const char *c = wc_json_str(r, "conn");
    return c ? c : "";
}

const char *hn_sc_answer_id(const json_t *f)
{
    return hn_sc_is_type(f, "control_response")
               ? wc_json_str(json_object_get(f, "response"), "request_id")
               : NULL;
}

void hn_sc_report(struct hn_sc_ctx *x, const char *req, size_t wa, size_t wb, const char *fmt, ...)
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

/* The dialect's id of the control-protocol rule n ("CC-CTL-2"). */
static const char *ctl_req(const struct hn_sc_ctx *x, int n, char *buf, size_t len)
{
    snprintf(buf, len, "%s-CTL-%d", x->prefix, n);
    return buf;
}

void hn_sc_check_answer_once(struct hn_sc_ctx *x, bool only_asked)
{
    json_t *answered = json_object(), *asked = json_object();
    char r1[16], r4[16];
    size_t i;
    json_t *r;

    ctl_req(x, 1, r1, sizeof(r1));
    ctl_req(x, 4, r4, sizeof(r4));
    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = hn_sc_frame(r, "send");
        if (hn_sc_is_type(f, "control_request") && wc_json_str(f, "request_id")) {
            json_t *c = json_object_get(asked, wc_json_str(f, "request_id"));
            json_object_set_new(asked, wc_json_str(f, "request_id"),
                                json_integer(c ? json_integer_value(c) + 1 : 1));
        }
        const char *id = hn_sc_answer_id(hn_sc_frame(r, "recv"));
        if (!id)
            continue;
        x->exercised = true;
        if (only_asked && !json_object_get(asked, id)) {
            hn_sc_report(x, r1, i, i,
                         "a control_response for request_id %s, which the %s never sent", id,
                         x->peer);
            continue;
        }
        json_t *first = json_object_get(answered, id);
        if (first) {
            bool repeated = json_integer_value(json_object_get(asked, id)) > 1;
            hn_sc_report(x, repeated ? r4 : r1, (size_t)json_integer_value(first), i,
                         "a second control_response for request_id %s%s%s%s", id,
                         repeated ? " (the " : "", repeated ? x->peer : "",
                         repeated ? " repeated the request id)" : "");
        } else {
            json_object_set_new(answered, id, json_integer((json_int_t)i));
        }
    }
    json_decref(answered);
    json_decref(asked);
}

void hn_sc_check_fresh_ids(struct hn_sc_ctx *x)
{
    json_t *seen = json_object();
    char req[16];
    size_t i;
    json_t *r;

    ctl_req(x, 5, req, sizeof(req));
    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = hn_sc_frame(r, "recv");
        if (!hn_sc_is_type(f, "control_request"))
            continue;
        x->exercised = true;
        const char *id = wc_json_str(f, "request_id");
        if (!id || !json_is_object(json_object_get(f, "request"))) {
            hn_sc_report(x, req, i, i,
                         "a control_request without a string request_id or a request object");
            continue;
        }
        json_t *first = json_object_get(seen, id);
        if (first)
            hn_sc_report(x, req, (size_t)json_integer_value(first), i,
                         "the client reused request_id %s", id);
        else
            json_object_set_new(seen, id, json_integer((json_int_t)i));
    }
    json_decref(seen);
}

void hn_sc_check_no_answer_after_cancel(struct hn_sc_ctx *x)
{
    json_t *cancelled = json_object();
    char req[16];
    size_t i;
    json_t *r;

    ctl_req(x, 3, req, sizeof(req));
    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = hn_sc_frame(r, "send");
        if (hn_sc_is_type(f, "control_cancel_request") && wc_json_str(f, "request_id")) {
            x->exercised = true;
            json_object_set_new(cancelled, wc_json_str(f, "request_id"),
                                json_integer((json_int_t)i));
        }
        const char *id = hn_sc_answer_id(hn_sc_frame(r, "recv"));
        json_t *c = id ? json_object_get(cancelled, id) : NULL;
        if (c)
            hn_sc_report(x, req, (size_t)json_integer_value(c), i,
                         "a control_response for request_id %s after the %s cancelled it", id,
                         x->peer);
    }
    json_decref(cancelled);
}

void hn_sc_check_unknown_subtype(struct hn_sc_ctx *x)
{
    char req[16];
    size_t i, j;
    json_t *r, *q;

    ctl_req(x, 2, req, sizeof(req));
    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = hn_sc_frame(r, "send");
        const char *id = wc_json_str(f, "request_id");
        const char *sub = wc_json_str(json_object_get(f, "request"), "subtype");
        if (!hn_sc_is_type(f, "control_request") || !id || !sub || !strcmp(sub, "can_use_tool"))
            continue;
        x->exercised = true;
        bool answered = false, later_answered = false;
        size_t later = (size_t)-1;
        json_array_foreach(x->recs, j, q)
        {
            if (j <= i)
                continue;
            const json_t *g = hn_sc_frame(q, "recv");
            const char *aid = hn_sc_answer_id(g);
            if (!aid)
                continue;
            if (!strcmp(aid, id)) {
                answered = true;
                const json_t *resp = json_object_get(g, "response");
                const char *st = wc_json_str(resp, "subtype"), *err = wc_json_str(resp, "error");
                char want[256];
                snprintf(want, sizeof(want), HN_SC_UNSUPPORTED "%s", sub);
                if (!st || strcmp(st, "error") || !err || strcmp(err, want))
                    hn_sc_report(x, req, i, j,
                                 "request %s (subtype %s) was answered with %s%s%s instead of the "
                                 "error \"%s\"",
                                 id, sub, st ? st : "no subtype", err ? " " : "", err ? err : "",
                                 want);
                break;
            }
            if (!strcmp(hn_sc_conn(q), hn_sc_conn(r)) && !later_answered) {
                later_answered = true;
                later = j;
            }
        }
        if (!answered && later_answered)
            hn_sc_report(x, req, i, later,
                         "request %s (subtype %s) was never answered, though a later request on "
                         "%s was",
                         id, sub, hn_sc_conn(r));
    }
}

void hn_sc_infos(const struct hn_sc_checker *c, size_t n, struct hn_invariant_info *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = c[i].info;
}

json_t *hn_sc_run(const struct hn_sc_checker *c, size_t n, const struct hn_transcript *t,
                  const struct hn_msgcat *catalog, const char *prefix, const char *peer)
{
    json_t *checks = json_object(), *viol = json_array(), *supp = NULL;
    json_t *recs = hn_transcript_records(t);

    for (size_t i = 0; i < n; i++) {
        struct hn_sc_ctx x = {.recs = recs,
                              .catalog = catalog,
                              .violations = viol,
                              .checker = c[i].info.name,
                              .prefix = prefix,
                              .peer = peer};
        c[i].fn(&x);
        hn_check_outcome(checks, &supp, x.checker, x.reported, x.exercised, x.suppressed);
    }
    return hn_check_result(checks, viol, supp);
}

json_t *hn_sc_sentinel_frame(const char *id)
{
    return json_pack("{s:s, s:s, s:{s:s}}", "type", "control_request", "request_id", id, "request",
                     "subtype", "gwspec_sentinel");
}

const char *hn_sc_sentinel_reply(const json_t *frame)
{
    const char *id = hn_sc_answer_id(frame);

    if (!id || strncmp(id, SENTINEL_PREFIX, strlen(SENTINEL_PREFIX)))
        return NULL;
    return id;
}

const char *hn_sc_frame_id(const json_t *frame)
{
    return json_is_object(frame) ? wc_json_str(frame, "type") : NULL;
}
