/* run_within.c: time bounds (`within_ms`), sentinel round trips and load probes (runner_int.h). */
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

/* Send a sentinel on c (a subscribe for an id no session has, which a gateway answers at once
 * with an empty ack) and note its id, which is written into id. */
void hn_rt_send_sentinel(struct rt *rt, const json_t *step, struct client *c, char *id,
                         size_t idlen)
{
    snprintf(id, idlen, "gwspec-sentinel-%d", ++rt->sentinel_n);
    json_t *frame = hn_rt_dialect(rt)->sentinel_frame(id);
    char *text = wc_json_compact(frame);
    json_t *fields = json_pack("{s:O}", "frame", frame);
    json_object_set_new(c->sentinels, id, json_true());
    hn_rt_send_payload(rt, step, c, HN_WS_TEXT, text, strlen(text), fields, true);
    free(text);
    json_decref(fields);
    json_decref(frame);
}

/*
 * Load probes. A correct gateway on a machine too busy to run it must not be FAILED for the
 * machine, so while a bounded wait is in its tolerance window (past the bound, before twice
 * it) without what it waits for, the harness keeps one sentinel in flight on an open client,
 * one every tenth of the bound at most: a request the gateway answers at once when it runs.
 * The longest any took to be answered (the one in flight counts with its age) measures how
 * long the gateway, or the harness, went without the CPU. Returns when the next probe is due
 * (0: none), for the wait's wake-up. Probes are sentinels: the transcript marks them, the
 * checkers skip them.
 */
int64_t hn_rt_within_probe(struct rt *rt)
{
    struct within *w = &rt->within;
    int64_t now = wc_now_ms();

    if (!w->on || w->settled || now < w->t0 + w->max_ms)
        return w->on && !w->settled ? w->t0 + w->max_ms : 0;
    if (!w->probe_from_ms) {
        w->probe_from_ms = now;
        w->psi_from_us = hn_rt_cpu_pressure_us();
    }
    if (w->probe_id[0]) {
        if (w->probe_c->state == C_OPEN && json_object_get(w->probe_c->sentinels, w->probe_id))
            return 0; /* in flight: its answer wakes the wait */
        if (now - w->probe_sent_ms > w->probe_worst_ms)
            w->probe_worst_ms = now - w->probe_sent_ms;
        w->probe_id[0] = '\0';
    }
    if (now < w->probe_next_ms)
        return w->probe_next_ms;
    for (size_t i = 0; i < rt->nclients; i++) {
        struct client *c = &rt->clients[i];
        if (c->state != C_OPEN || c->paused)
            continue;
        hn_rt_send_sentinel(rt, NULL, c, w->probe_id, sizeof(w->probe_id));
        w->probe_c = c;
        w->probe_sent_ms = now;
        w->probe_next_ms = now + (w->max_ms / 10 > 1 ? w->max_ms / 10 : 1);
        return 0;
    }
    return 0;
}

/*
 * A bounded wait reached the end of its tolerance (twice the bound) without what it waited for.
 * When a load probe took more than half the bound to be answered (or the one in flight is that
 * old) and the machine was short of CPU meanwhile (some task waited for one during at least a
 * quarter of the probing, by the kernel's pressure count; assumed where the kernel keeps none),
 * the machine was too busy to judge the bound: the wait goes on to the safety timeout, and what
 * comes then is graded late (NON-STRICT), naming the probe's time; what never comes stays
 * FAILED. A responsive gateway (every probe answered quickly) that did not deliver is late
 * beyond the tolerance, and so is one that answers slowly on an idle machine: its slowness is
 * its own. Returns true when the wait goes on.
 */
bool hn_rt_within_settle(struct rt *rt, int64_t *deadline)
{
    struct within *w = &rt->within;
    int64_t now = wc_now_ms(), worst = w->probe_worst_ms;

    if (!w->on || w->settled)
        return false;
    w->settled = true;
    if (w->probe_id[0] && w->probe_c->state == C_OPEN &&
        json_object_get(w->probe_c->sentinels, w->probe_id) && now - w->probe_sent_ms > worst)
        worst = now - w->probe_sent_ms;
    if (worst * 2 <= w->max_ms)
        return false;
    int64_t psi = hn_rt_cpu_pressure_us(), window = now - w->probe_from_ms;
    if (psi >= 0 && w->psi_from_us >= 0 && (psi - w->psi_from_us) / 1000 * 4 < window) {
        hn_rt_note(rt,
                   "the bounded wait's end: a load probe took %lld ms, but the CPU was free for "
                   "most of the %lld ms probed: the gateway's own delay",
                   (long long)worst, (long long)window);
        return false;
    }
    w->overloaded_ms = worst;
    *deadline = now + hn_rt_timeout_of(rt);
    hn_rt_note(
        rt,
        "the bounded wait's end: a load probe took %lld ms, more than half the bound of %lld "
        "ms (an overloaded machine); waiting on to the safety timeout",
        (long long)worst, (long long)w->max_ms);
    return true;
}

/*
 * A wait ran into the safety timeout. Before calling that ERROR, prove the gateway is alive:
 * when the target answers sentinels, send one on an open client. If it is answered, the gateway
 * processed everything the case sent and has (for an in-process provider, spec/control-
 * channel.md §3) forwarded everything that follows from it, so the awaited thing is not coming:
 * that is FAILED, not ERROR. Only ever turns a timeout into a failure, never into a pass.
 */
bool hn_rt_settled_after_timeout(struct rt *rt, struct client *prefer)
{
    struct client *c = prefer && prefer->state == C_OPEN && !prefer->paused ? prefer : NULL;

    /* A quiet_ms target (out-of-process providers) answers sentinels too; they only do not prove
     * quiescence while provider output may be in flight. After a whole safety timeout nothing of
     * the case is in flight any more, so an answered sentinel proves the same here. A target that
     * does not answer one costs one more timeout and stays ERROR. */
    for (size_t i = 0; !c && i < rt->nclients; i++) {
        if (rt->clients[i].state == C_OPEN && !rt->clients[i].paused)
            c = &rt->clients[i];
    }
    if (!c)
        return false;
    return hn_rt_sentinel_round(rt, NULL, c) != 0;
}

/* ---- time bounds (`within_ms`) ------------------------------------------------------------ */

/* The deadline of a wait that would otherwise last wait_ms: with a time bound, the end of its
 * tolerance (twice the bound after the clock started), since anything later is FAILED. */
int64_t hn_rt_wait_deadline(const struct rt *rt, int64_t wait_ms)
{
    if (rt->within.on)
        return rt->within.t0 + 2 * rt->within.max_ms;
    return wc_now_ms() + wait_ms;
}

/* The step consumed something that we read at at_ms and that arrived in (lo_ms, hi_ms]. */
void hn_rt_seen_at(struct rt *rt, int64_t at_ms, int64_t lo_ms, int64_t hi_ms)
{
    if (at_ms > rt->seen_ms) {
        rt->seen_ms = at_ms;
        rt->seen_lo_ms = lo_ms;
        rt->seen_hi_ms = hi_ms;
    }
}

static json_t *within_value(const struct rt *rt)
{
    json_t *v = json_pack("{s:I}", "within_ms", (json_int_t)rt->within.max_ms);
    if (rt->within.min_ms >= 0)
        json_object_set_new(v, "min_ms", json_integer(rt->within.min_ms));
    return v;
}

/*
 * A bounded wait reached the end of its tolerance without what it waited for (`what`). When the
 * gateway answers a sentinel, it is alive and the thing is late beyond the tolerance or never
 * comes: FAILED. When it answers none: ERROR, as for any wait. Returns false when the step has
 * no time bound (the caller's own timeout handling applies).
 */
bool hn_rt_within_expired(struct rt *rt, const json_t *step, struct client *prefer,
                          const char *what)
{
    if (!rt->within.on)
        return false;
    if (!hn_rt_settled_after_timeout(rt, prefer)) {
        if (!rt->failed)
            hn_rt_step_error(rt, step,
                             "waited %lld ms (twice the bound of %lld ms) for %s, and the "
                             "gateway answered no sentinel",
                             (long long)(2 * rt->within.max_ms), (long long)rt->within.max_ms,
                             what);
        return true;
    }
    json_t *exp = within_value(rt);
    char *diff =
        rt->within.overloaded_ms
            ? wc_xasprintf("%s did not come within %lld ms, twice the bound of %lld ms, nor by the "
                           "safety timeout after it (the machine was overloaded: a load probe took "
                           "%lld ms); the gateway answered a sentinel",
                           what, (long long)(2 * rt->within.max_ms), (long long)rt->within.max_ms,
                           (long long)rt->within.overloaded_ms)
            : wc_xasprintf("%s did not come within %lld ms, twice the bound of %lld ms (late "
                           "beyond the tolerance, or never); the gateway answered a sentinel",
                           what, (long long)(2 * rt->within.max_ms), (long long)rt->within.max_ms);
    hn_rt_step_fail(rt, step, "not within the time bound", exp, NULL, diff, 0);
    free(diff);
    json_decref(exp);
    return true;
}

/*
 * Grade the arrival time of what a bounded step consumed: early (before min_ms) and later than
 * twice the bound are FAILED; later than the bound but within twice it is a `late` failure
 * record, graded NON-STRICT, and the case goes on.
 */
void hn_rt_within_grade(struct rt *rt, const json_t *step)
{
    const struct within *w = &rt->within;
    int64_t took;
    json_t *exp;
    char *diff = NULL;

    if (!w->on || rt->failed || rt->seen_ms < 0)
        return;
    /* late is judged on the arrival (the kernel's timestamp when we have it), not on our read */
    took = rt->seen_hi_ms - w->t0;
    exp = within_value(rt);
    if (w->min_ms >= 0 && rt->seen_hi_ms - w->t0_lo < w->min_ms) {
        diff = wc_xasprintf("it came at most %lld ms after the clock started, before the lower "
                            "bound of %lld ms",
                            (long long)(rt->seen_hi_ms - w->t0_lo), (long long)w->min_ms);
        hn_rt_step_fail(rt, step, "early: before the time bound's lower limit", exp, NULL, diff, 0);
    } else if (took > 2 * w->max_ms && !w->overloaded_ms) {
        diff = wc_xasprintf("it came after %lld ms, beyond twice the bound of %lld ms",
                            (long long)took, (long long)w->max_ms);
        hn_rt_step_fail(rt, step, "late beyond the tolerance", exp, NULL, diff, 0);
    } else if (took > 2 * w->max_ms) {
        diff = wc_xasprintf("it came after %lld ms, beyond twice the bound of %lld ms, on a "
                            "machine too loaded to judge: a load probe took %lld ms to be answered",
                            (long long)took, (long long)w->max_ms, (long long)w->overloaded_ms);
        if (rt->alt_depth > 0) {
            hn_rt_step_fail(rt, step, "late: after the time bound", exp, NULL, diff, 0);
        } else {
            hn_rt_add_failure(rt, step, "late",
                              "late: after the time bound, on an overloaded machine", exp, NULL,
                              diff, NULL);
            hn_rt_note(rt, "step %lld late: %s", (long long)rt->step_index, diff);
        }
    } else if (took > w->max_ms) {
        diff = wc_xasprintf("it came after %lld ms: later than the bound of %lld ms, within twice "
                            "it (the tolerance)",
                            (long long)took, (long long)w->max_ms);
        if (rt->alt_depth > 0) {
            hn_rt_step_fail(rt, step, "late: after the time bound", exp, NULL, diff, 0);
        } else {
            hn_rt_add_failure(rt, step, "late", "late: after the time bound, within the tolerance",
                              exp, NULL, diff, NULL);
            hn_rt_note(rt, "step %lld late: %s", (long long)rt->step_index, diff);
        }
    }
    free(diff);
    json_decref(exp);
}

json_t *hn_rt_item_value(const struct item *it)
{
    if (it->frame)
        return json_incref(it->frame);
    return json_incref(it->raw);
}

void hn_rt_expect_none(struct rt *rt, const json_t *step, struct client *c)
{
    hn_rt_drain(rt);
    struct item *it = hn_rt_next_item(rt, c, NULL);
    if (it) {
        json_t *rec = hn_rt_item_value(it);
        char *s = wc_json_compact(rec);
        char *diff = wc_xasprintf("expected nothing, received %.300s", s);
        hn_rt_step_fail(rt, step, "a frame was waiting where none was expected", NULL, rec, diff,
                        it->rec_n);
        free(diff);
        free(s);
        json_decref(rec);
    }
}

bool hn_rt_expect_one(struct rt *rt, const json_t *step, struct client *c, const json_t *pat)
{
    struct next_arg a = {.c = c, .except_kind = hn_rt_pattern_kind(rt, pat)};
    int64_t deadline = hn_rt_wait_deadline(rt, hn_rt_timeout_of(rt));
    char *diff = NULL;

    if (hn_rt_wait_until(rt, hn_rt_cond_next, &a, deadline) != 0) {
        char *p = wc_json_compact(pat);
        char *what = wc_xasprintf("a frame on %s for %.300s", c->name, p);
        bool bounded = hn_rt_within_expired(rt, step, c, what);
        free(what);
        if (bounded) {
            free(p);
            return false;
        }
        if (hn_rt_settled_after_timeout(rt, c) && !hn_rt_cond_next(rt, &a)) {
            diff = wc_xasprintf("expected %.300s, received nothing: the gateway answered a "
                                "sentinel sent after %lld ms first",
                                p, (long long)hn_rt_timeout_of(rt));
            hn_rt_step_fail(rt, step, "the expected frame never arrived", pat, NULL, diff, 0);
            free(diff);
        } else if (!rt->failed) {
            hn_rt_step_error(rt, step, "timed out after %lld ms waiting on %s for %.300s",
                             (long long)hn_rt_timeout_of(rt), c->name, p);
        }
        free(p);
        return false;
    }
    struct item *it = hn_rt_next_item(rt, c, a.except_kind);
    if (!it) {
        json_t *rec = hn_rt_close_value(c);
        char *p = wc_json_compact(pat);
        diff =
            wc_xasprintf("expected %.300s, received a close (code %d) instead", p, c->close_code);
        hn_rt_step_fail(rt, step, "the connection closed before the expected frame", pat, rec, diff,
                        c->close_rec_n);
        free(p);
        free(diff);
        json_decref(rec);
        return false;
    }
    json_t *val = hn_rt_item_value(it);
    if (!hn_match(pat, it->frame ? it->frame : NULL, &rt->scope, &diff)) {
        if (!it->frame) {
            free(diff);
            char *p = wc_json_compact(pat);
            char *r = wc_json_compact(val);
            diff = wc_xasprintf("expected %.300s, received a frame that is not JSON: %.300s", p, r);
            free(p);
            free(r);
        }
        hn_rt_step_fail(rt, step, "the next frame does not match", pat, val, diff, it->rec_n);
        free(diff);
        json_decref(val);
        return false;
    }
    it->consumed = ++rt->stamp;
    hn_rt_seen_at(rt, it->at_ms, it->lo_ms, it->hi_ms);
    json_decref(val);
    return true;
}

/* The step's within_ms (an integer, or {max, min}): the clock starts where the previous step
 * left it (the arrival of what it waited for, else its end). */
void hn_rt_within_setup(struct rt *rt, const json_t *step)
{
    json_t *w = json_object_get(step, "within_ms");
    int64_t max = -1, min = -1;

    rt->within = (struct within){.on = false, .min_ms = -1};
    if (json_is_integer(w)) {
        max = json_integer_value(w);
    } else if (json_is_object(w)) {
        wc_json_int(w, "max", &max);
        wc_json_int(w, "min", &min);
    }
    if (max <= 0)
        return;
    if (rt->t->client_role && rt->t->time_scale > 1) {
        /* a client case's times are the client's real ones: its profile's time_scale divides
         * them, as it divides the client's own delays (exec/run_server.c) */
        max = (int64_t)((double)max / rt->t->time_scale + 0.5);
        if (max < 1)
            max = 1;
        if (min > 0)
            min = (int64_t)((double)min / rt->t->time_scale);
    }
    rt->within = (struct within){
        .on = true, .min_ms = min, .max_ms = max, .t0 = rt->mark_ms, .t0_lo = rt->mark_lo_ms};
}
