/* run_provider.c: the provider steps: reached, release, provider_done, provider_hello,
 * provider_event (runner_int.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/runner_int.h"
#include "check/invariant.h"
#include "check/verdict.h"
#include "exec/control.h"
#include "exec/http.h"
#include "exec/net.h"
#include "exec/ws.h"
#include "model/match.h"
#include "model/steps.h"
#include "model/transcript.h"
#include "wc_err.h"
#include "wc_io.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"
#include "wc_banned.h"

/* ---- provider steps
 * ------------------------------------------------------------------------------ */

struct ctl_arg {
    const char *label;
    const char *type;    /* message type wanted, or NULL */
    const char *barrier; /* for reached */
    bool done_stops;     /* give up when the label's newest run is done */
    /* incremental scan state: messages before `scan` were looked at already */
    size_t scan;
    long found;             /* index of the match, or -1 */
    const char *newest_run; /* the newest run of the label that said hello */
    bool newest_done;
};

static bool ctl_matches(const struct ctlmsg *m, const struct ctl_arg *a)
{
    const char *t = wc_json_str(m->msg, "type");
    if (m->consumed || strcmp(m->label, a->label))
        return false;
    if (a->type && (!t || strcmp(t, a->type)))
        return false;
    if (a->barrier &&
        (!wc_json_str(m->msg, "barrier") || strcmp(wc_json_str(m->msg, "barrier"), a->barrier)))
        return false;
    return true;
}

/* Look at the messages that arrived since the last call. True when one matches (a->found) or
 * the label's newest run is done and done_stops is set. */
static bool cond_ctl(struct rt *rt, void *arg)
{
    struct ctl_arg *a = arg;
    if (a->found >= 0)
        return true;
    for (; a->scan < rt->nmsgs; a->scan++) {
        struct ctlmsg *m = &rt->msgs[a->scan];
        if (ctl_matches(m, a)) {
            a->found = (long)a->scan;
            return true;
        }
        if (strcmp(m->label, a->label))
            continue;
        const char *t = wc_json_str(m->msg, "type");
        if (t && !strcmp(t, "hello")) {
            a->newest_run = m->run;
            a->newest_done = false;
        } else if (t && !strcmp(t, "done") && a->newest_run && !strcmp(m->run, a->newest_run)) {
            a->newest_done = true;
        }
    }
    return a->done_stops && a->newest_done;
}

static struct ctlmsg *wait_ctl(struct rt *rt, const json_t *step, struct ctl_arg *a,
                               const char *what)
{
    a->scan = 0;
    a->found = -1;
    a->newest_run = NULL;
    a->newest_done = false;
    if (hn_rt_wait_until(rt, cond_ctl, a, hn_rt_wait_deadline(rt, hn_rt_timeout_of(rt))) != 0) {
        char *bwhat = wc_xasprintf("script %s reporting %s", a->label, what);
        bool bounded = hn_rt_within_expired(rt, step, NULL, bwhat);
        free(bwhat);
        if (bounded)
            return NULL;
        /* The gateway answered a sentinel, and a grace period of one more timeout for the
         * control socket passed: the provider was not made to do it. */
        if (hn_rt_settled_after_timeout(rt, NULL) &&
            hn_rt_wait_until(rt, cond_ctl, a, wc_now_ms() + hn_rt_timeout_of(rt)) != 0) {
            char *msg = wc_xasprintf("script %s never reported %s, though the gateway answered "
                                     "a sentinel",
                                     a->label, what);
            hn_rt_step_fail(rt, step, msg, NULL, NULL, NULL, 0);
            free(msg);
            return NULL;
        }
        if (!rt->failed && a->found < 0 && !cond_ctl(rt, a))
            hn_rt_step_error(rt, step, "timed out after %lld ms waiting for script %s to report %s",
                             (long long)hn_rt_timeout_of(rt), a->label, what);
        if (rt->failed || !cond_ctl(rt, a))
            return NULL;
    }
    if (a->found < 0) {
        char *msg = wc_xasprintf("script %s finished without reporting %s", a->label, what);
        hn_rt_step_fail(rt, step, msg, NULL, NULL, NULL, 0);
        free(msg);
        return NULL;
    }
    hn_rt_seen_at(rt, rt->msgs[a->found].at_ms, rt->msgs[a->found].lo_ms, rt->msgs[a->found].hi_ms);
    return &rt->msgs[a->found];
}

void hn_run_step_reached(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "reached");
    const char *k;
    json_t *m;
    json_object_foreach(v, k, m)
    {
        struct ctl_arg a = {
            .label = k, .type = "reached", .barrier = json_string_value(m), .done_stops = true};
        char *what = wc_xasprintf("reaching barrier '%s'", json_string_value(m));
        struct ctlmsg *cm = wait_ctl(rt, step, &a, what);
        free(what);
        if (!cm)
            return;
        cm->consumed = ++rt->stamp;
    }
}

void hn_run_step_release(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "release");
    const char *k;
    json_t *m;
    json_object_foreach(v, k, m)
    {
        const char *barrier = json_string_value(m);
        const char *run = NULL;
        hn_rt_drain(rt);
        /* the run that reached the barrier, else the newest run of the label */
        for (size_t i = 0; i < rt->nmsgs; i++) {
            struct ctlmsg *cm = &rt->msgs[i];
            const char *t = wc_json_str(cm->msg, "type");
            if (!strcmp(cm->label, k) && t && !strcmp(t, "reached") &&
                !strcmp(wc_json_str(cm->msg, "barrier") ? wc_json_str(cm->msg, "barrier") : "",
                        barrier))
                run = cm->run;
        }
        if (run && hn_ctl_has(rt->ctl, k, run))
            hn_rt_send_release(rt, k, run, barrier);
        else if (hn_ctl_has(rt->ctl, k, NULL))
            hn_rt_send_release(rt, k, NULL, barrier);
        else {
            json_array_append_new(rt->pending_release,
                                  json_pack("{s:s, s:s}", "label", k, "barrier", barrier));
            hn_rt_note(rt, "release %s/%s: script not connected yet; sent when it says hello", k,
                       barrier);
        }
    }
}

void hn_run_step_provider_done(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "provider_done");
    json_t *map = json_is_string(v) ? json_pack("{s:n}", json_string_value(v)) : json_incref(v);
    const char *k;
    json_t *m;
    json_object_foreach(map, k, m)
    {
        struct ctl_arg a = {.label = k, .type = "done"};
        struct ctlmsg *cm = wait_ctl(rt, step, &a, "done");
        if (!cm)
            break;
        cm->consumed = ++rt->stamp;
        if (json_is_string(m)) {
            json_t *pat = json_pack("{s:O}", "how", m);
            char *diff = NULL;
            if (!hn_match(pat, cm->msg, &rt->scope, &diff)) {
                char *msg = wc_xasprintf("script %s ended differently", k);
                hn_rt_step_fail(rt, step, msg, pat, cm->msg, diff, cm->rec_n);
                free(msg);
            }
            free(diff);
            json_decref(pat);
            if (rt->failed)
                break;
        }
    }
    json_decref(map);
}

static void do_provider_pattern(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, sname);
    bool hello = !strcmp(sname, "provider_hello");
    const char *k;
    json_t *pat;
    json_object_foreach(v, k, pat)
    {
        const char *type = hello ? "hello" : wc_json_str(pat, "type");
        struct ctl_arg a = {.label = k, .type = type, .done_stops = !hello};
        char *what = wc_xasprintf("%s", type ? type : "a message");
        struct ctlmsg *cm = wait_ctl(rt, step, &a, what);
        free(what);
        if (!cm)
            return;
        char *diff = NULL;
        if (!hn_match(pat, cm->msg, &rt->scope, &diff)) {
            char *msg = wc_xasprintf("script %s: the %s message does not match", k,
                                     type ? type : "control");
            hn_rt_step_fail(rt, step, msg, pat, cm->msg, diff, cm->rec_n);
            free(msg);
            free(diff);
            return;
        }
        cm->consumed = ++rt->stamp;
    }
}

void hn_run_step_provider_hello(struct rt *rt, const json_t *step, const char *sname)
{
    do_provider_pattern(rt, step, sname);
}

void hn_run_step_provider_event(struct rt *rt, const json_t *step, const char *sname)
{
    do_provider_pattern(rt, step, sname);
}
