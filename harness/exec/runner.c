/*
 * runner.c: the step engine for one case (see runner.h).
 *
 * Everything happens on one thread around poll(): client sockets (our own RFC 6455 framing,
 * ws.h), the control listener and its provider connections (control.h). A waiting step loops
 * "is my condition met? else pump until the deadline"; the deadline is the case's safety
 * timeout and its expiry is ERROR. Received frames are queued per client with a global arrival
 * number; consuming a frame stamps it, so `alternatives` can roll back to a snapshot.
 */
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

/* One runner per step of model/steps.h, run_step_<name>: a step without one does not build. */
typedef void step_runner(struct rt *rt, const json_t *step, const char *sname);
static step_runner *const runners[HN_STEP__COUNT] = {
#define RUNNER(name, flags) [HN_STEP_##name] = hn_run_step_##name,
    HN_STEPS(RUNNER)
#undef RUNNER
};

void hn_rt_run_step(struct rt *rt, const json_t *step)
{
    const char *name = hn_step_name(step);
    const struct hn_step_kind *kind = hn_step_kind(name);
    struct within saved = rt->within;

    if (!name)
        return;
    if (!kind) { /* lint refuses it; a case built in memory might not have been linted */
        hn_rt_step_error(rt, step, "unknown step '%s'", name);
        return;
    }
    hn_rt_within_setup(rt, step);
    rt->seen_ms = -1;
    runners[kind->id](rt, step, name);
    hn_rt_within_grade(rt, step);
    if (rt->seen_ms >= 0) {
        rt->mark_ms = rt->seen_ms;
        rt->mark_lo_ms = rt->seen_lo_ms;
    } else {
        rt->mark_ms = rt->mark_lo_ms = wc_now_ms();
    }
    rt->within = saved;
}

/* ---- setup, teardown, grading ------------------------------------------------------------------
 */

/*
 * A dialect whose gateway takes the client's id (Dispatch: the conversationId of the first
 * chat.send): each session is an id the harness makes, unique per case run (the case id, the
 * label and 64 bits of the seeded stream), recorded as a `session` record (its `sessionId` is
 * the conversation id). No request.
 */
static int client_id_sessions(struct rt *rt)
{
    const char *label;
    json_t *s;

    json_object_foreach(rt->c->sessions, label, s)
    {
        char *id = wc_xasprintf("gwspec-%s-%s-%016llx", rt->c->id, label,
                                (unsigned long long)wc_rand_next(&rt->rng));
        hn_rt_add_record(rt, json_pack("{s:s, s:s, s:s, s:s?}", "t", "session", "label", label,
                                       "sessionId", id, "provider", wc_json_str(s, "provider")));
        json_object_set_new(rt->vars, label, json_string(id));
        free(id);
    }
    return 0;
}

int hn_rt_create_sessions(struct rt *rt)
{
    const char *label;
    json_t *s;

    if (hn_rt_dialect(rt)->sessions == HN_SESSIONS_CLIENT_ID)
        return client_id_sessions(rt);
    json_object_foreach(rt->c->sessions, label, s)
    {
        char *err = NULL, *id = NULL;
        json_t *reply = NULL;
        char *user = wc_json_str(s, "user")
                         ? hn_rt_expand_str(rt, NULL, wc_json_str(s, "user"))
                         : wc_xstrdup(rt->t->default_user ? rt->t->default_user : "");
        char *pp;
        if (!user)
            return WC_ERR_CONFIG;
        if (wc_json_str(s, "projectPath")) {
            pp = hn_rt_expand_str(rt, NULL, wc_json_str(s, "projectPath"));
        } else {
            pp = wc_xasprintf("/tmp/gwspec/%s/%s", rt->c->id, label);
            (void)wc_mkdir_p(pp, 0755);
        }
        if (!pp) {
            free(user);
            return WC_ERR_CONFIG;
        }
        const char *provider = wc_json_str(s, "provider");
        int rc = hn_target_create_session(rt->t, user, provider, pp, (int)hn_rt_timeout_of(rt), &id,
                                          &reply, &err);
        if (reply)
            hn_rt_add_record(
                rt, json_pack("{s:s, s:s, s:s, s:s, s:i, s:O?}", "t", "http", "method", "POST",
                              "path", "/api/providers/sessions", "user", user, "status",
                              (int)json_integer_value(json_object_get(reply, "status")), "body",
                              json_object_get(reply, "body")));
        if (rc != 0) {
            hn_rt_step_error(rt, NULL, "creating session %s: %s", label, err);
            free(err);
            free(user);
            free(pp);
            json_decref(reply);
            return rc;
        }
        hn_rt_add_record(rt, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "t", "session", "label",
                                       label, "sessionId", id, "provider", provider, "projectPath",
                                       pp, "user", user));
        json_object_set_new(rt->vars, label, json_string(id));
        char *k = wc_xasprintf("%s.projectPath", label);
        json_object_set_new(rt->vars, k, json_string(pp));
        free(k);
        free(id);
        free(user);
        free(pp);
        json_decref(reply);
    }
    return 0;
}

static enum hn_verdict level_verdict(const struct rt *rt, const char *req)
{
    const struct hn_req *r = hn_spec_find(rt->o->spec, req ? req : "");
    if (rt->c->strict)
        return HN_NON_STRICT;
    if (!r)
        return HN_FAILED;
    if (r->capability && !hn_target_has_capability(rt->t, r->capability))
        return HN_INFORMATIONAL;
    switch (r->level) {
    case HN_LEVEL_MUST:
        return HN_FAILED;
    case HN_LEVEL_SHOULD:
        return HN_NON_STRICT;
    case HN_LEVEL_MAY:
        return HN_INFORMATIONAL;
    }
    return HN_FAILED;
}

static enum hn_verdict worse(enum hn_verdict a, enum hn_verdict b)
{
    return hn_verdict_worst(a, b);
}

static json_t *base_result(const struct hn_case *c, uint64_t seed, const char *rerun)
{
    return json_pack("{s:s, s:s?, s:s, s:O, s:O, s:b, s:I, s:[], s:{}, s:[], s:s?}", "id", c->id,
                     "title", c->title, "file", c->file, "spec", c->spec, "tags", c->tags, "known",
                     0, "seed", (json_int_t)(seed & 0x7fffffffffffffffULL), "failures", "checks",
                     "transcript", "rerun", rerun);
}

json_t *hn_runner_result_norun(const struct hn_case *c, const char *verdict, const char *message,
                               uint64_t seed, const char *rerun)
{
    json_t *r = base_result(c, seed, rerun);
    json_object_set_new(r, "verdict", json_string(verdict));
    json_object_set_new(r, "duration_ms", json_integer(0));
    if (message) {
        json_t *f =
            json_pack("{s:n, s:s, s:s, s:n, s:n, s:n, s:n, s:[]}", "requirement", "kind", "error",
                      "message", message, "step", "expected", "received", "diff", "witness");
        if (strcmp(verdict, "ERROR")) {
            json_object_set_new(r, "reason", json_string(message));
            json_decref(f);
        } else {
            json_array_append_new(json_object_get(r, "failures"), f);
        }
    }
    return r;
}

static void final_round(struct rt *rt)
{
    /* a client still paused is read again, so the last sentinel and the close can work */
    for (size_t i = 0; i < rt->nclients; i++) {
        if (rt->clients[i].paused) {
            rt->clients[i].paused = false;
            hn_rt_note(rt, "%s resumed for the end of the case", rt->clients[i].name);
        }
    }
    /* a last sentinel on every open client so the transcript holds everything, then close */
    if (!rt->failed && !strcmp(rt->t->quiescence, "sentinel")) {
        for (size_t i = 0; i < rt->nclients; i++) {
            struct client *c = &rt->clients[i];
            if (c->state == C_OPEN)
                hn_rt_sentinel_round(rt, NULL, c);
        }
    }
    /* A quiet_ms target: one quiet period (bounded by the safety timeout) before closing, after a
     * failed step too, so frames still in flight from out-of-process providers (events after a
     * terminal, say) are in the transcript every time and the checkers judge the same frames in
     * every run. */
    if (!rt->errored && !strcmp(rt->t->quiescence, "quiet_ms") && rt->t->quiet_ms > 0) {
        bool open = false;
        for (size_t i = 0; i < rt->nclients; i++)
            open |= rt->clients[i].state == C_OPEN;
        if (open) {
            struct quiet_arg q = {.last = wc_now_ms(), .arrival = rt->arrival};
            int64_t cap = wc_now_ms() + hn_rt_timeout_of(rt);
            while (wc_now_ms() - q.last < rt->t->quiet_ms && wc_now_ms() < cap)
                hn_rt_wait_until(rt, hn_rt_cond_never, &q,
                                 q.last + rt->t->quiet_ms < cap ? q.last + rt->t->quiet_ms : cap);
        }
    }
    hn_rt_drain(rt);
    for (size_t i = 0; i < rt->nclients; i++) {
        struct client *c = &rt->clients[i];
        if (c->state == C_OPEN) {
            hn_ws_close(&c->ws, 1000, NULL);
            hn_ws_flush(&c->ws);
            hn_rt_record_close(rt, c, "client", 1000, NULL);
            hn_rt_client_finish(c);
        } else if (c->state == C_CLOSING) {
            hn_rt_client_finish(c);
        }
    }
}

/* The client of a `send` step that names exactly one client, or NULL. */
static const char *send_client(const json_t *step)
{
    const json_t *v = json_object_get(step, "send");
    const char *k;
    json_t *m;

    if (!json_is_object(v) || json_object_size(v) != 1 || json_object_size(step) != 1)
        return NULL;
    json_object_foreach((json_t *)v, k, m) return k;
    return NULL;
}

/* step and next are both sends to the same single client: the client of that burst. */
static const char *burst_with_next(const json_t *step, const json_t *next)
{
    const char *a = send_client(step), *b = next ? send_client(next) : NULL;

    return a && b && !strcmp(a, b) ? a : NULL;
}

/*
 * The first literal user name (no variable) that a session, connect or http step of the case
 * names and the target does not have, or NULL. A single-user target (CloudCLI) cannot run such a
 * case: that is UNIMPLEMENTED, like a missing capability, not a harness error.
 */
static const char *missing_user(const struct hn_case *c, const struct hn_target *t)
{
    const char *k, *u;
    json_t *v, *e;
    size_t i;

    json_object_foreach(c->sessions, k, v)
    {
        u = wc_json_str(v, "user");
        if (u && !strchr(u, '$') && !hn_target_token(t, u))
            return u;
    }
    json_array_foreach(c->steps, i, e)
    {
        json_t *body = json_object_get(e, "connect");
        if (!json_is_object(body))
            body = json_object_get(e, "http");
        const char *const keys[] = {"user", "header_user", NULL};
        for (size_t j = 0; json_is_object(body) && keys[j]; j++) {
            u = wc_json_str(body, keys[j]);
            if (u && !strchr(u, '$') && !hn_target_token(t, u))
                return u;
        }
        const char *const toks[] = {"token", "header_token", NULL};
        for (size_t j = 0; json_is_object(body) && toks[j]; j++) {
            u = wc_json_str(json_object_get(body, toks[j]), "of");
            if (u && !strchr(u, '$') && !hn_target_token(t, u))
                return u;
        }
    }
    return NULL;
}

/* True when a `restart` step of the case makes a provider unavailable. */
static bool needs_disable(const struct hn_case *c)
{
    size_t i;
    json_t *e;

    json_array_foreach(c->steps, i, e)
    {
        json_t *r = json_object_get(e, "restart");
        if (json_is_object(r) && json_object_get(r, "disable_provider"))
            return true;
    }
    return false;
}

/* Why the target cannot run the case (a new message: UNIMPLEMENTED), or NULL when it can. */
static char *unmet_need(const struct hn_case *c, struct hn_target *t)
{
    size_t i;
    json_t *e, *sv;
    const char *sk, *mu;
    int64_t cap = 0;

    json_array_foreach(c->needs, i, e)
    {
        if (!hn_target_has_capability(t, json_string_value(e)))
            return wc_xasprintf("the target does not declare capability '%s'",
                                json_string_value(e));
    }
    json_array_foreach(c->providers_needed, i, e)
    {
        if (!hn_target_has_provider(t, json_string_value(e)))
            return wc_xasprintf("the target has no provider '%s'", json_string_value(e));
    }
    json_object_foreach(c->sessions, sk, sv)
    {
        const char *p = wc_json_str(sv, "provider");
        if (p && !hn_target_has_provider(t, p))
            return wc_xasprintf("the target has no provider '%s'", p);
    }
    if (needs_disable(c) && !hn_target_can_disable(t))
        return wc_xstrdup("the target profile has no disable_provider_args: it cannot be "
                          "restarted with a provider unavailable");
    if (wc_json_int(c->root, "replay_cap", &cap) && cap != t->replay_cap)
        return wc_xasprintf("the case is written for a replay cap of %lld events; the target "
                            "declares %lld (replay_cap)",
                            (long long)cap, (long long)t->replay_cap);
    json_object_foreach(c->target_settings, sk, sv)
    {
        if (!hn_target_can_set(t, sk))
            return wc_xasprintf("the case sets '%s' on its private gateway; the target profile "
                                "has no such setting (settings)",
                                sk);
    }
    if (c->own_target && !hn_target_spawns(t))
        return wc_xstrdup("the case needs a private gateway (own_target) and the target profile "
                          "cannot start one (it has no 'start')");
    if ((mu = missing_user(c, t)))
        return wc_xasprintf(
            "the case uses user '%s'; the target has no such user%s", mu,
            hn_target_has_capability(t, "multi-user") ? "" : " (it does not declare multi-user)");
    return NULL;
}

/* The case's run state: variables, the seeded id stream, the transcript and its header. */
static void rt_init(struct rt *rt, const struct hn_case *c, struct hn_target *t,
                    const struct hn_runner_opts *o)
{
    memset(rt, 0, sizeof(*rt));
    rt->c = c;
    rt->t = t;
    rt->o = o;
    rt->step_index = -1;
    rt->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : c->timeout_ms;
    rt->budget.max = o->max_case_bytes;
    rt->failures = json_array();
    rt->pending_release = json_array();
    rt->vars = json_object();
    rt->arrived = json_object();
    rt->scope = (struct hn_scope){.vars = rt->vars, .resolve = hn_rt_resolve, .ctx = rt};
    rt->within.min_ms = -1;
    rt->cpid_fd = -1;
    rt->seen_ms = -1;
    rt->mark_ms = rt->mark_lo_ms = rt->poll_ms = rt->poll_prev_ms = wc_now_ms();
    wc_rand_init(&rt->rng, o->seed);
    snprintf(rt->case_token, sizeof(rt->case_token), "%s#%04llx", c->id,
             (unsigned long long)(wc_rand_next(&rt->rng) & 0xffff));
    json_object_set_new(rt->vars, "case", json_string(c->id));
    json_object_set_new(rt->vars, "seed",
                        json_integer((json_int_t)(o->seed & 0x7fffffffffffffffULL)));
    json_object_set_new(rt->vars, "user",
                        json_string(rt->t->default_user ? rt->t->default_user : ""));
    /* a model the target does not know (capability orchestrator-error, dispatch-ws/1) */
    json_object_set_new(rt->vars, "unknown_model",
                        json_string(wc_json_str(rt->t->profile, "unknown_model")
                                        ? wc_json_str(rt->t->profile, "unknown_model")
                                        : "gwspec-no-such-model"));
    if (c->matrix)
        json_object_update(rt->vars, c->matrix);

    json_t *header = json_pack("{s:s, s:I, s:s, s:s, s:O, s:O, s:I}", "case", c->id, "seed",
                               (json_int_t)(o->seed & 0x7fffffffffffffffULL), "target", rt->t->name,
                               "spec", o->spec_version ? o->spec_version : "chatgw/1.0",
                               "capabilities", rt->t->capabilities, "extensions", rt->t->extensions,
                               "replay_cap", (json_int_t)rt->t->replay_cap);
    if (rt->t->ping_interval_ms)
        json_object_set_new(header, "ping_interval_ms", json_integer(rt->t->ping_interval_ms));
    if (rt->t->mutant)
        json_object_set_new(header, "mutant", json_string(rt->t->mutant));
    if (rt->t->client_role) { /* the server role: the harness played the server */
        json_object_set_new(header, "role", json_string("client"));
        json_object_set_new(header, "time_scale", json_real(rt->t->time_scale));
    }
    if (json_object_size(rt->t->settings))
        json_object_set(header, "target_settings", rt->t->settings);
    rt->tr = hn_transcript_new(header);
}

/* The control listener, the sessions, every step until one fails, then the final round. */
static void run_steps(struct rt *rt)
{
    char *err = NULL;
    size_t i;
    json_t *e;

    rt->ctl = hn_ctl_new(hn_rt_on_ctl, rt, &err);
    if (rt->ctl)
        hn_ctl_set_case(rt->ctl, rt->case_token);
    if (!rt->ctl) {
        hn_rt_step_error(rt, NULL, "%s", err);
        free(err);
    } else if ((!rt->t->client_role || hn_rt_server_setup(rt) == 0) &&
               hn_rt_create_sessions(rt) == 0) {
        json_array_foreach(rt->c->steps, i, e)
        {
            rt->step_index = (int64_t)i;
            rt->burst_client = burst_with_next(e, json_array_get(rt->c->steps, i + 1));
            hn_rt_run_step(rt, e);
            rt->burst_client = NULL;
            if (rt->failed)
                break;
        }
        rt->step_index = -1;
    }
    if (rt->ctl)
        final_round(rt);
    hn_rt_server_teardown(rt); /* the client program goes with the case */
}

/*
 * When an alternative's grade is the only reason for the verdict, a failure record naming the
 * case's first requirement of that level says so: reports then show why, and a baseline can
 * name the case (a known NON-STRICT needs a failure to match).
 */
static void note_alternative_grade(struct rt *rt, enum hn_verdict g)
{
    const char *req = NULL;
    size_t i;
    json_t *e;

    json_array_foreach(rt->c->spec, i, e)
    {
        if (!req && level_verdict(rt, json_string_value(e)) == g)
            req = json_string_value(e);
    }
    char *m = wc_xasprintf("an alternative graded %s matched", rt->alt_grade);
    json_array_append_new(rt->failures,
                          json_pack("{s:s?, s:s, s:s, s:n, s:n, s:n, s:n, s:[]}", "requirement",
                                    req, "kind", "alternative", "message", m, "step", "expected",
                                    "received", "diff", "witness"));
    free(m);
}

/* The verdict: the steps' failures, the invariants' violations (added to the failures), and
 * the grade of the alternatives that matched. */
static enum hn_verdict grade(struct rt *rt, const json_t *inv)
{
    enum hn_verdict verdict = HN_OK;
    size_t i;
    json_t *e;

    json_array_foreach(rt->failures, i, e)
    {
        if (!strcmp(wc_json_str(e, "kind"), "error"))
            verdict = worse(verdict, HN_ERROR);
        else if (!strcmp(wc_json_str(e, "kind"), "late"))
            verdict = worse(verdict, HN_NON_STRICT); /* late within the tolerance */
        else
            verdict = worse(verdict, level_verdict(rt, wc_json_str(e, "requirement")));
    }
    json_array_foreach(json_object_get(inv, "violations"), i, e)
    {
        json_t *f = json_pack("{s:s?, s:s, s:s?, s:n, s:n, s:n, s:n, s:O?, s:s?, s:O?}",
                              "requirement", wc_json_str(e, "requirement"), "kind", "invariant",
                              "message", wc_json_str(e, "message"), "step", "expected", "received",
                              "diff", "witness", json_object_get(e, "witness"), "checker",
                              wc_json_str(e, "checker"), "frames", json_object_get(e, "frames"));
        if (f) {
            if (!json_object_get(f, "witness"))
                json_object_set_new(f, "witness", json_array());
            json_array_append_new(rt->failures, f);
        }
        verdict = worse(verdict, level_verdict(rt, wc_json_str(e, "requirement")));
    }
    if (rt->alt_grade && verdict != HN_ERROR && verdict != HN_FAILED) {
        enum hn_verdict g = !strcmp(rt->alt_grade, "non_strict")      ? HN_NON_STRICT
                            : !strcmp(rt->alt_grade, "informational") ? HN_INFORMATIONAL
                                                                      : HN_OK;
        verdict = worse(verdict, g);
        if (g == verdict && (g == HN_NON_STRICT || g == HN_INFORMATIONAL) &&
            json_array_size(rt->failures) == 0)
            note_alternative_grade(rt, g);
    }
    return verdict;
}

static json_t *make_result(struct rt *rt, const json_t *inv, enum hn_verdict verdict, int64_t t0)
{
    json_t *result = base_result(rt->c, rt->o->seed, rt->o->rerun);
    json_t *tr = json_array();

    json_object_set_new(result, "verdict", json_string(hn_verdict_name(verdict)));
    json_object_set_new(result, "duration_ms", json_integer(wc_now_ms() - t0));
    json_object_set(result, "failures", rt->failures);
    json_object_set(result, "checks",
                    json_object_get(inv, "checks") ? json_object_get(inv, "checks")
                                                   : json_object());
    json_array_append(tr, hn_transcript_header(rt->tr));
    if (rt->budget.over) { /* the flood that made it ERROR is not kept whole (budget.h) */
        json_t *kept =
            hn_budget_trim(hn_transcript_records(rt->tr), rt->failures, HN_TRIM_HEAD, HN_TRIM_TAIL);
        json_array_extend(tr, kept);
        json_decref(kept);
    } else {
        json_array_extend(tr, hn_transcript_records(rt->tr));
    }
    json_object_set_new(result, "transcript", tr);
    if (rt->alt_grade)
        json_object_set_new(result, "alternative_grade", json_string(rt->alt_grade));
    return result;
}

static void rt_release(struct rt *rt)
{
    size_t i;

    for (i = 0; i < rt->nclients; i++) {
        hn_rt_client_reset(&rt->clients[i]);
        json_decref(rt->clients[i].sentinels);
    }
    free(rt->clients);
    for (i = 0; i < rt->nmsgs; i++) {
        free(rt->msgs[i].label);
        free(rt->msgs[i].run);
        json_decref(rt->msgs[i].msg);
    }
    free(rt->msgs);
    hn_ctl_free(rt->ctl);
    hn_transcript_free(rt->tr);
    json_decref(rt->failures);
    json_decref(rt->pending_release);
    json_decref(rt->vars);
    json_decref(rt->arrived);
    json_decref(rt->alt_failure);
}

json_t *hn_runner_run(const struct hn_case *c, struct hn_target *shared,
                      const struct hn_runner_opts *o)
{
    struct rt rt_s, *rt = &rt_s;
    int64_t t0 = wc_now_ms();
    char *err = NULL, *why = unmet_need(c, shared);
    struct hn_target *own = NULL;
    json_t *inv, *result;

    if (why) {
        result = hn_runner_result_norun(c, "UNIMPLEMENTED", why, o->seed, o->rerun);
        free(why);
        return result;
    }
    if (c->own_target) {
        own = hn_target_clone(shared);
        if (hn_target_set_settings(own, c->target_settings, &err) != 0 ||
            hn_target_start(own, 20000, &err) != 0) {
            char *m = wc_xasprintf("own target: %s", err);
            result = hn_runner_result_norun(c, "ERROR", m, o->seed, o->rerun);
            free(m);
            free(err);
            hn_target_free(own);
            return result;
        }
    }
    rt_init(rt, c, own ? own : shared, o);
    run_steps(rt);
    inv = hn_rt_dialect(rt)->check_run(rt->tr, o->catalog);
    result = make_result(rt, inv, grade(rt, inv), t0);
    json_decref(inv);
    rt_release(rt);
    hn_target_free(own);
    return result;
}
