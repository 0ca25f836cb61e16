/* run_flow.c: alternatives, restart, note (runner_int.h). */
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

struct snapshot {
    uint64_t stamp;
    json_t *vars;
};

static void restore(struct rt *rt, struct snapshot *s)
{
    for (size_t i = 0; i < rt->nclients; i++) {
        struct client *c = &rt->clients[i];
        for (size_t j = 0; j < c->n; j++) {
            if (c->items[j].consumed > s->stamp) {
                c->items[j].consumed = 0;
                if (j < c->hint)
                    c->hint = j;
            }
        }
    }
    for (size_t i = 0; i < rt->nmsgs; i++) {
        if (rt->msgs[i].consumed > s->stamp)
            rt->msgs[i].consumed = 0;
    }
    /* what was bound by consuming is rolled back with the consumption; what was bound by an
     * arrival (an announce while the failed alternative waited) stays: it did arrive */
    json_object_clear(rt->vars);
    json_object_update(rt->vars, s->vars);
    json_object_update(rt->vars, rt->arrived);
}

static int grade_rank(const char *g)
{
    if (!g || !strcmp(g, "ok"))
        return 0;
    if (!strcmp(g, "informational"))
        return 1;
    return 2; /* non_strict */
}

void hn_run_step_alternatives(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *alts = json_object_get(step, "alternatives");
    json_t *reasons = json_array();
    size_t i;
    json_t *alt;
    bool any_timeout = false;

    json_array_foreach(alts, i, alt)
    {
        struct snapshot s = {.stamp = rt->stamp, .vars = json_deep_copy(rt->vars)};
        json_t *steps = json_object_get(alt, "steps");
        size_t j;
        json_t *st;
        const char *grade = wc_json_str(alt, "grade");

        rt->alt_depth++;
        rt->failed = false;
        rt->alt_timeout = false;
        rt->alt_failure = NULL;
        hn_rt_note(rt, "alternatives: trying %zu (%s)", i + 1, grade);
        json_array_foreach(steps, j, st)
        {
            hn_rt_run_step(rt, st);
            if (rt->failed)
                break;
        }
        rt->alt_depth--;
        if (rt->budget.over) { /* the case is over (run_engine.c over_budget): try no other */
            json_decref(s.vars);
            json_decref(reasons);
            json_decref(rt->alt_failure);
            rt->alt_failure = NULL;
            rt->failed = true;
            return;
        }
        if (!rt->failed) {
            hn_rt_note(rt, "alternatives: %zu (%s) matched", i + 1, grade);
            if (grade_rank(grade) > grade_rank(rt->alt_grade))
                rt->alt_grade = grade;
            json_decref(s.vars);
            json_decref(reasons);
            json_decref(rt->alt_failure);
            rt->alt_failure = NULL;
            return;
        }
        any_timeout = any_timeout || rt->alt_timeout;
        if (rt->alt_failure) {
            json_object_set_new(rt->alt_failure, "alternative", json_integer((json_int_t)i + 1));
            json_array_append(reasons, rt->alt_failure);
            json_decref(rt->alt_failure);
            rt->alt_failure = NULL;
        }
        restore(rt, &s);
        json_decref(s.vars);
    }
    rt->failed = false;
    /* no alternative matched: report the first one's mismatch with all reasons attached */
    json_t *first = json_array_get(reasons, 0);
    char *msg = wc_xasprintf("no alternative matched (%zu tried)", json_array_size(alts));
    if (first && !any_timeout) {
        hn_rt_step_fail(rt, step, msg, json_object_get(first, "expected"),
                        json_object_get(first, "received"), wc_json_str(first, "diff"), 0);
    } else {
        hn_rt_step_error(rt, step, "%s; at least one timed out", msg);
    }
    json_t *last = json_array_get(rt->failures, json_array_size(rt->failures) - 1);
    if (last)
        json_object_set(last, "alternatives", reasons);
    free(msg);
    json_decref(reasons);
}

/* The providers a restart step disables (expanded), as a new array; NULL on an error. */
static json_t *restart_disabled(struct rt *rt, const json_t *step)
{
    json_t *v = json_object_get(step, "restart");
    json_t *d = json_is_object(v) ? json_object_get(v, "disable_provider") : NULL;
    json_t *list = json_is_string(d)  ? json_pack("[O]", d)
                   : json_is_array(d) ? json_incref(d)
                                      : json_array();
    json_t *out = json_array();
    size_t i;
    json_t *e;

    json_array_foreach(list, i, e)
    {
        char *name = hn_rt_expand_str(rt, step, json_string_value(e));
        if (!name) {
            json_decref(out);
            out = NULL;
            break;
        }
        json_array_append_new(out, json_string(name));
        free(name);
    }
    json_decref(list);
    return out;
}

void hn_run_step_restart(struct rt *rt, const json_t *step, const char *sname)
{
    char *err = NULL;
    json_t *disabled = restart_disabled(rt, step);
    const char *sig = wc_json_str(json_object_get(step, "restart"), "signal");
    bool crash = sig && !strcmp(sig, "KILL");

    if (!disabled)
        return;
    if (crash)
        hn_rt_note(rt, "killing the target with SIGKILL (a crash: nothing is flushed)");
    if (json_array_size(disabled)) {
        char *names = wc_json_compact(disabled);
        hn_rt_note(rt, "restarting the target with provider(s) %s unavailable", names);
        free(names);
    } else {
        hn_rt_note(rt, "restarting the target");
    }
    int rc = hn_target_set_disabled(rt->t, disabled, &err);
    json_decref(disabled);
    if (rc == 0)
        rc = hn_target_restart_signal(rt->t, crash ? SIGKILL : SIGTERM,
                                      (int)(hn_rt_timeout_of(rt) * 4), &err);
    if (rc != 0) {
        hn_rt_step_error(rt, step, "restart: %s", err);
        free(err);
        return;
    }
    /* the old sockets are gone with the old process */
    for (size_t i = 0; i < rt->nclients; i++) {
        struct client *c = &rt->clients[i];
        if (c->state == C_OPEN || c->state == C_CLOSING) {
            hn_ws_read(&c->ws);
            c->ws.eof = true;
            hn_rt_client_process(rt, c);
        }
    }
    hn_rt_note(rt, "target restarted on port %d", rt->t->port);
}

void hn_run_step_note(struct rt *rt, const json_t *step, const char *sname)
{
    char *t = hn_rt_expand_str(rt, step, wc_json_str(step, "note"));
    if (t)
        hn_rt_note(rt, "%s", t);
    free(t);
}
