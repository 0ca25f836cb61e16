/*
 * runtime.c: run one provider script, sans-I/O (see runtime.h, spec/control-channel.md §2-§3).
 *
 * Every input (start, control line, abort, permission answer, timer) only records what happened
 * and then calls pump(), which runs steps in a loop until the script blocks or ends. A sink
 * callback may call back into any mp_run_* function: pump() sees the `running` flag and
 * returns, and the outer loop picks the new input up on its next turn. So there is no
 * recursion, an abort raised from inside sink->event stops an emit_many between two events,
 * and once the run is over (state RS_OVER, set just before sink->ended) no sink is called
 * again.
 *
 * Invariants: `emitted` is written before the event goes to sink->event; `done` is written
 * after the last event and before sink->ended; control lines are produced only while a
 * control channel exists (the directive has `ctl` and mp_run_control_lost was not called).
 */
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_buf.h"
#include "wc_json.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_banned.h"

#define YIELD_EVERY 128 /* events of an emit_many between two sink->yield calls */
#define DEFAULT_SEED                                                                               \
    0x6777737065630001ULL /* "gwspec" + 1: the seed when the directive has none                    \
                           */

enum run_state {
    RS_IDLE,       /* mp_run_start not called yet */
    RS_READY,      /* run the step at pc */
    RS_EMIT_MANY,  /* inside an emit_many step, many_i events done */
    RS_BARRIER,    /* waiting for release of steps[pc].arg */
    RS_WAIT_ABORT, /* waiting for an abort */
    RS_PERMISSION, /* waiting for mp_run_permission_answer */
    RS_TIMER,      /* waiting for mp_run_timer_fired */
    RS_HANG,       /* a hang step: forever, even on abort */
    RS_ABORT_HANG, /* aborted with on_abort: hang: forever */
    RS_OVER,       /* ended was called; nothing else happens */
};

struct answer {
    char *request_id; /* or NULL */
    bool allow;       /* the user allowed the tool */
    bool cancelled;   /* cancelled rather than answered */
    char *reason;     /* or NULL */
};

struct mp_run {
    const struct mp_directive *d;   /* borrowed */
    const struct mp_script *script; /* borrowed: d->script */
    const struct mp_run_info *info; /* borrowed, or NULL */
    const struct mp_run_sink *sink; /* borrowed */
    void *ctx;                      /* the sink's context */
    enum run_state state;           /* where the interpreter is */
    size_t pc;                      /* index of the current step */
    int64_t many_i;                 /* events emitted so far by the current emit_many */
    bool yielding;                  /* waiting for mp_run_resume after sink->yield */
    int64_t yielded_at;             /* many_i of the last yield (not twice at one index) */
    bool running;                   /* pump() is on the stack */
    bool ctl;                       /* a control channel exists */
    bool aborted;                   /* an abort was seen (matters for on_abort: ignore) */
    unsigned abort_pending;         /* aborts not yet handled by pump() */
    bool timer_fired;               /* the delay timer fired */
    bool answered;                  /* `answer` holds the pending permission's answer */
    struct answer answer;           /* the permission answer */
    char *native_id;                /* announced native id, or NULL */
    int64_t n_emitted;              /* events emitted so far (the next `emitted` index) */
    char **released;                /* barrier releases not consumed yet (a multiset) */
    size_t n_released;              /* entries in released */
    size_t cap_released;            /* allocated entries */
    struct wc_rand rng;             /* generated native ids */
    mp_run_check_fn check;          /* the driver's veto, or NULL */
    size_t unsupported_pc;          /* 1 + the last step reported unsupported, 0: none */
};

static const char *state_name(enum run_state s)
{
    switch (s) {
    case RS_IDLE:
        return "idle";
    case RS_READY:
        return "ready";
    case RS_EMIT_MANY:
        return "emit_many";
    case RS_BARRIER:
        return "barrier";
    case RS_WAIT_ABORT:
        return "wait_abort";
    case RS_PERMISSION:
        return "permission";
    case RS_TIMER:
        return "delay";
    case RS_HANG:
        return "hang";
    case RS_ABORT_HANG:
        return "hang_after_abort";
    case RS_OVER:
        return "over";
    }
    return "?";
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return (h ^ 0xff) * 0x100000001b3ULL; /* a separator, so ("ab","") != ("a","b") */
}

static void seed_rng(struct mp_run *run)
{
    static uint64_t anonymous_runs; /* runs without a nonce still get distinct ids */
    uint64_t h = 0xcbf29ce484222325ULL;

    h = fnv1a(h, run->d->case_token);
    h = fnv1a(h, run->d->run);
    if (!run->d->run && !run->d->case_token)
        h ^= ++anonymous_runs * 0x9e3779b97f4a7c15ULL;
    wc_rand_init(&run->rng, (run->d->seed ? run->d->seed : DEFAULT_SEED) ^ h);
}

static char *gen_native_id(struct mp_run *run)
{
    return wc_xasprintf("nat-%016llx", (unsigned long long)wc_rand_next(&run->rng));
}

/* ---- output: every sink call goes through here ------------------------------------------ */

static bool over(const struct mp_run *run)
{
    return run->state == RS_OVER;
}

/* One control message (takes msg). Dropped without a control channel. */
static void send_control(struct mp_run *run, json_t *msg)
{
    char *text, *line;

    if (!over(run) && run->ctl && run->sink->control) {
        text = wc_json_compact(msg);
        line = wc_xasprintf("%s\n", text);
        run->sink->control(run->ctx, line, strlen(line));
        free(line);
        free(text);
    }
    json_decref(msg);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Ask the driver whether it can express step st (event NULL) or event ev; report if not. */
static bool vetoed(struct mp_run *run, const struct mp_step *st, const json_t *ev)
{
    const char *reason = run->check ? run->check(run->ctx, st, ev) : NULL;

    if (!reason)
        return false;
    if (run->unsupported_pc != run->pc + 1) {
        run->unsupported_pc = run->pc + 1;
        send_control(run, json_pack("{s:s, s:s, s:s}", "type", "unsupported", "step",
                                    mp_step_name(st->type), "reason", reason));
    }
    return true;
}

/* An event (takes ev): add the native sessionId, report `emitted`, then hand it over. */
static void emit_event(struct mp_run *run, json_t *ev)
{
    if (!json_object_get(ev, "sessionId") && run->native_id)
        json_object_set_new(ev, "sessionId", json_string(run->native_id));
    if (vetoed(run, &run->script->steps[run->pc], ev)) {
        json_decref(ev);
        return;
    }
    send_control(run, json_pack("{s:s, s:I, s:O}", "type", "emitted", "index",
                                (json_int_t)run->n_emitted, "event", ev));
    run->n_emitted++;
    if (!over(run) && run->sink->event)
        run->sink->event(run->ctx, ev);
    else
        json_decref(ev);
}

static void finish(struct mp_run *run, enum mp_end how, int exit_code)
{
    static const char *const hows[] = {"completed", "crashed", "aborted", "error"};

    if (over(run))
        return;
    send_control(
        run, json_pack("{s:s, s:s, s:i}", "type", "done", "how", hows[how], "exitCode", exit_code));
    run->state = RS_OVER;
    if (run->sink->ended)
        run->sink->ended(run->ctx, how, exit_code);
}

static json_t *fact(const struct mp_run *run, const char *name)
{
    const struct mp_run_info *in = run->info;

    if (strcmp(name, "cwd") == 0)
        return str_or_null(in ? in->cwd : NULL);
    if (strcmp(name, "argv") == 0)
        return in && in->argv ? json_deep_copy(in->argv) : json_array();
    if (strcmp(name, "options") == 0)
        return in && in->options ? json_deep_copy(in->options) : json_object();
    if (strcmp(name, "resume") == 0)
        return str_or_null(in ? in->resume : NULL);
    return json_null();
}

static void send_hello(struct mp_run *run)
{
    const struct mp_run_info *in = run->info;
    json_t *msg = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o}", "type", "hello", "case", str_or_null(run->d->case_token),
        "label", str_or_null(run->d->label), "run", str_or_null(run->d->run), "provider",
        str_or_null(in ? in->provider : NULL), "persona", str_or_null(in ? in->persona : NULL));

    json_object_set_new(msg, "cwd", fact(run, "cwd"));
    json_object_set_new(msg, "argv", fact(run, "argv"));
    json_object_set_new(msg, "options", fact(run, "options"));
    json_object_set_new(msg, "resume", fact(run, "resume"));
    json_object_set_new(msg, "pid", json_integer(in ? in->pid : 0));
    send_control(run, msg);
}

/* ---- steps -------------------------------------------------------------------------------- */

static void advance(struct mp_run *run)
{
    run->pc++;
    run->state = RS_READY;
}

static void do_announce(struct mp_run *run, const struct mp_step *st)
{
    free(run->native_id);
    run->native_id = strcmp(st->arg, "auto") == 0 ? gen_native_id(run) : wc_xstrdup(st->arg);
    send_control(run, json_pack("{s:s, s:s}", "type", "announced", "nativeId", run->native_id));
    if (!over(run) && run->sink->announce)
        run->sink->announce(run->ctx, run->native_id);
}

static void do_session_created(struct mp_run *run, const struct mp_step *st)
{
    char *id;

    if (strcmp(st->arg, "auto") != 0)
        id = wc_xstrdup(st->arg);
    else if (run->native_id)
        id = wc_xstrdup(run->native_id);
    else
        id = gen_native_id(run);
    emit_event(run, json_pack("{s:s, s:s}", "kind", "session_created", "newSessionId", id));
    free(id);
}

static void do_complete(struct mp_run *run, const struct mp_step *st)
{
    json_t *ev = json_pack("{s:s, s:i}", "kind", "complete", "exitCode", st->exit_code);

    if (st->fields) {
        json_t *extra = json_deep_copy(st->fields);
        json_object_update(ev, extra);
        json_decref(extra);
    }
    emit_event(run, ev);
}

/* Replace every "%d" in every string of v (recursively, in place: v is a private copy) with n. */
static void subst_index(json_t *v, int64_t n)
{
    const char *key, *s, *p;
    json_t *child;
    size_t i;
    struct wc_buf out;

    if (json_is_object(v)) {
        json_object_foreach(v, key, child) subst_index(child, n);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child) subst_index(child, n);
    } else if (json_is_string(v) && strstr(json_string_value(v), "%d")) {
        wc_buf_init(&out, 0);
        for (s = json_string_value(v); (p = strstr(s, "%d")) != NULL; s = p + 2) {
            wc_buf_add(&out, s, (size_t)(p - s));
            wc_buf_addf(&out, "%lld", (long long)n);
        }
        wc_buf_adds(&out, s);
        json_string_set(v, out.buf);
        wc_buf_release(&out);
    }
}

static void do_report(struct mp_run *run, const struct mp_step *st)
{
    json_t *msg = json_pack("{s:s}", "type", "report");
    json_t *name;
    size_t i;

    json_array_foreach(st->fields, i, name)
        json_object_set_new(msg, json_string_value(name), fact(run, json_string_value(name)));
    send_control(run, msg);
}

/* Enter the step at pc. Sets the state before any sink call that may answer synchronously. */
static void exec_step(struct mp_run *run)
{
    const struct mp_step *st = &run->script->steps[run->pc];

    if (vetoed(run, st, NULL)) {
        advance(run);
        return;
    }
    switch (st->type) {
    case MP_STEP_ANNOUNCE:
        do_announce(run, st);
        advance(run);
        break;
    case MP_STEP_SESSION_CREATED:
        do_session_created(run, st);
        advance(run);
        break;
    case MP_STEP_EMIT:
        emit_event(run, json_deep_copy(st->fields));
        advance(run);
        break;
    case MP_STEP_EMIT_MANY:
        run->many_i = 0;
        run->yielded_at = 0;
        run->state = RS_EMIT_MANY;
        break;
    case MP_STEP_BARRIER:
        run->state = RS_BARRIER;
        send_control(run, json_pack("{s:s, s:s}", "type", "reached", "barrier", st->arg));
        break;
    case MP_STEP_WAIT_ABORT:
        run->state = RS_WAIT_ABORT;
        break;
    case MP_STEP_COMPLETE:
        do_complete(run, st);
        advance(run);
        break;
    case MP_STEP_CRASH:
        finish(run, MP_END_CRASHED, st->exit_code);
        break;
    case MP_STEP_EXIT:
        finish(run, MP_END_COMPLETED, st->exit_code);
        break;
    case MP_STEP_HANG:
        run->state = RS_HANG;
        break;
    case MP_STEP_PERMISSION:
        run->state = RS_PERMISSION;
        run->answered = false;
        if (run->sink->permission)
            run->sink->permission(run->ctx, wc_json_str(st->fields, "toolName"),
                                  json_object_get(st->fields, "input"),
                                  json_integer_value(json_object_get(st->fields, "timeoutMs")));
        else
            mp_run_permission_answer(run, NULL, false, true, "no permission handler");
        break;
    case MP_STEP_REPORT:
        do_report(run, st);
        advance(run);
        break;
    case MP_STEP_FAIL_START:
        /* A host that does not refuse the start itself (mp_script_start_failure) sees a
         * provider that died at once, before it announced anything. */
        finish(run, MP_END_CRASHED, 127);
        break;
    case MP_STEP_DELAY:
        run->state = RS_TIMER;
        run->timer_fired = false;
        if (run->sink->timer)
            run->sink->timer(run->ctx, st->count);
        else
            run->timer_fired = true;
        break;
    default:
        WC_BUG("unknown step type");
    }
}

static bool take_release(struct mp_run *run, const char *name)
{
    for (size_t i = 0; i < run->n_released; i++) {
        if (strcmp(run->released[i], name) == 0) {
            free(run->released[i]);
            run->released[i] = run->released[--run->n_released];
            return true;
        }
    }
    return false;
}

static void clear_answer(struct mp_run *run)
{
    free(run->answer.request_id);
    free(run->answer.reason);
    memset(&run->answer, 0, sizeof(run->answer));
    run->answered = false;
}

static void report_permission(struct mp_run *run)
{
    const struct answer *a = &run->answer;

    send_control(run, json_pack("{s:s, s:o, s:b, s:b, s:o}", "type", "permission", "requestId",
                                str_or_null(a->request_id), "allow", a->allow, "cancelled",
                                a->cancelled, "reason", str_or_null(a->reason)));
    clear_answer(run);
}

/* After an event: yield while the driver's consumer is full. Returns true when it yielded. */
static bool yield_if_full(struct mp_run *run)
{
    if (over(run) || !run->sink->yield || !run->sink->full || !run->sink->full(run->ctx))
        return false;
    run->yielded_at = run->many_i;
    run->yielding = true;
    run->sink->yield(run->ctx);
    return true;
}

/* One turn of the interpreter. Returns false when the run is blocked. */
static bool step_once(struct mp_run *run)
{
    const struct mp_step *st = run->pc < run->script->n_steps ? &run->script->steps[run->pc] : NULL;

    switch (run->state) {
    case RS_READY:
        if (run->yielding)
            return false;
        if (!st) {
            finish(run, MP_END_COMPLETED, 0); /* out of steps ends like exit 0 */
            return true;
        }
        exec_step(run);
        if (st->type == MP_STEP_EMIT && run->state == RS_READY && yield_if_full(run))
            return false;
        return true;
    case RS_EMIT_MANY:
        if (run->yielding)
            return false;
        if (run->many_i >= st->count) {
            advance(run);
        } else if (run->sink->yield && run->many_i > 0 && run->many_i % YIELD_EVERY == 0 &&
                   run->yielded_at != run->many_i) {
            run->yielded_at = run->many_i;
            run->yielding = true;
            run->sink->yield(run->ctx);
            return false;
        } else {
            json_t *ev = json_deep_copy(st->fields);
            subst_index(ev, ++run->many_i);
            emit_event(run, ev);
            if (run->state == RS_EMIT_MANY && yield_if_full(run))
                return false;
        }
        return true;
    case RS_BARRIER:
        /* without a control channel nobody could release it: pass at once */
        if (!run->ctl || take_release(run, st->arg)) {
            advance(run);
            return true;
        }
        return false;
    case RS_WAIT_ABORT:
        if (!run->aborted)
            return false;
        advance(run);
        return true;
    case RS_PERMISSION:
        if (!run->answered)
            return false;
        report_permission(run);
        advance(run);
        return true;
    case RS_TIMER:
        if (!run->timer_fired)
            return false;
        advance(run);
        return true;
    case RS_IDLE:
    case RS_HANG:
    case RS_ABORT_HANG:
    case RS_OVER:
        return false;
    default:
        WC_BUG("bad run state");
    }
}

static void handle_abort(struct mp_run *run)
{
    run->abort_pending--;
    send_control(run, json_pack("{s:s, s:I}", "type", "aborted", "during", (json_int_t)run->pc));
    run->aborted = true;
    if (run->state == RS_HANG || run->state == RS_ABORT_HANG)
        return; /* a hang step never proceeds, not even on abort */
    switch (run->script->on_abort) {
    case MP_ON_ABORT_STOP:
        finish(run, MP_END_ABORTED, 0);
        break;
    case MP_ON_ABORT_IGNORE:
        break; /* carry on: a blocked wait_abort passes, a barrier still waits */
    case MP_ON_ABORT_HANG:
        run->state = RS_ABORT_HANG;
        break;
    default:
        WC_BUG("bad on_abort");
    }
}

static void pump(struct mp_run *run)
{
    if (run->running || run->state == RS_IDLE)
        return;
    run->running = true;
    while (!over(run)) {
        if (run->abort_pending) {
            handle_abort(run);
            continue;
        }
        if (!step_once(run))
            break;
    }
    run->running = false;
}

/* ---- the API ------------------------------------------------------------------------------ */

struct mp_run *mp_run_new(const struct mp_directive *d, const struct mp_run_info *info,
                          const struct mp_run_sink *sink, void *ctx)
{
    struct mp_run *run = wc_xcalloc(1, sizeof(*run));

    run->d = d;
    run->script = d->script;
    run->info = info;
    run->sink = sink;
    run->ctx = ctx;
    run->state = RS_IDLE;
    run->ctl = d->ctl_host != NULL;
    seed_rng(run);
    return run;
}

void mp_run_start(struct mp_run *run)
{
    if (run->state != RS_IDLE)
        return;
    run->state = RS_READY;
    send_hello(run);
    pump(run);
}

void mp_run_control_input(struct mp_run *run, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *msg;
    const char *type, *barrier;

    if (over(run))
        return;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    msg = json_loadb(line, len, 0, &jerr);
    type = wc_json_str(msg, "type");
    barrier = wc_json_str(msg, "barrier");
    if (type && strcmp(type, "release") == 0 && barrier) {
        if (run->n_released == run->cap_released) {
            run->cap_released = run->cap_released ? run->cap_released * 2 : 4;
            run->released = wc_xrealloc(run->released, run->cap_released * sizeof(char *));
        }
        run->released[run->n_released++] = wc_xstrdup(barrier);
    } else {
        wc_warn("mock provider: ignoring control input %.*s", (int)(len > 200 ? 200 : len), line);
    }
    json_decref(msg);
    pump(run);
}

void mp_run_control_lost(struct mp_run *run)
{
    run->ctl = false;
    pump(run);
}

bool mp_run_abort(struct mp_run *run)
{
    if (over(run))
        return false;
    run->abort_pending++;
    pump(run);
    return true;
}

void mp_run_permission_answer(struct mp_run *run, const char *request_id, bool allow,
                              bool cancelled, const char *reason)
{
    if (run->state != RS_PERMISSION || run->answered)
        return; /* no permission pending: a late or duplicate answer */
    run->answer.request_id = request_id ? wc_xstrdup(request_id) : NULL;
    run->answer.allow = allow && !cancelled;
    run->answer.cancelled = cancelled;
    run->answer.reason = reason ? wc_xstrdup(reason) : NULL;
    run->answered = true;
    pump(run);
}

void mp_run_timer_fired(struct mp_run *run)
{
    if (run->state != RS_TIMER)
        return;
    run->timer_fired = true;
    pump(run);
}

void mp_run_resume(struct mp_run *run)
{
    if (!run->yielding)
        return;
    run->yielding = false;
    pump(run);
}

const char *mp_run_native_id(const struct mp_run *run)
{
    return run->native_id;
}

bool mp_run_is_over(const struct mp_run *run)
{
    return over(run);
}

void mp_run_set_check(struct mp_run *run, mp_run_check_fn check)
{
    run->check = check;
}

const char *mp_run_state_name(const struct mp_run *run)
{
    return state_name(run->state);
}

void mp_run_free(struct mp_run *run)
{
    if (!run)
        return;
    clear_answer(run);
    for (size_t i = 0; i < run->n_released; i++)
        free(run->released[i]);
    free(run->released);
    free(run->native_id);
    free(run);
}
