/*
 * fuzz_provider.c: the mock-provider runtime as a gateway drives it (fuzz/README.md): the
 * directive parser (mp_directive_parse, with its inline JSON script or a named fixture), the
 * script parser and the runtime (mp_run_*), without sockets or timers.
 *
 * The input's first line is the prompt. Every later line is one input to the run, given
 * whenever the run waits:
 *   !abort  !allow  !deny  !cancel  !timer  !resume  !lost   the driver's calls
 *   anything else                                         a control-channel line (release ...)
 * When the lines run out the run is aborted and its timers fired until it is over, or given up
 * after a bound (a hang step never ends, by design). A control address stays unconnected: the
 * run is told at once that its channel is lost unless a line feeds it control input.
 * Oracles beyond the sanitizers: every event is an object with a string kind; no callback comes
 * after `ended`; every control line is one JSON object ended by a single '\n'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "directive.h"
#include "runtime.h"
#include "wc_log.h"
#include "wc_mem.h"

#include "wc_banned.h"

#define MAX_TURNS 256 /* timer and resume calls after the input ran out */

struct drive {
    bool ended;
    bool timer; /* a timer is pending */
    bool yield; /* a resume is pending */
    bool permission;
    long events;
};

static void check(int ok)
{
    if (!ok)
        abort();
}

static void on_event(void *ctx, json_t *ev)
{
    struct drive *d = ctx;

    check(!d->ended);
    check(json_is_object(ev) && json_is_string(json_object_get(ev, "kind")));
    d->events++;
    json_decref(ev);
}

static void on_announce(void *ctx, const char *native_id)
{
    check(!((struct drive *)ctx)->ended && native_id);
}

static void on_permission(void *ctx, const char *tool, json_t *input, int64_t timeout_ms)
{
    struct drive *d = ctx;

    check(!d->ended && tool && timeout_ms >= 0);
    d->permission = true;
}

static void on_control(void *ctx, const char *line, size_t len)
{
    json_t *v;

    check(!((struct drive *)ctx)->ended);
    check(len > 0 && line[len - 1] == '\n' && !memchr(line, '\n', len - 1));
    v = json_loadb(line, len - 1, 0, NULL);
    check(json_is_object(v));
    json_decref(v);
}

static void on_timer(void *ctx, int64_t delay_ms)
{
    check(!((struct drive *)ctx)->ended && delay_ms >= 0);
    ((struct drive *)ctx)->timer = true;
}

static void on_yield(void *ctx)
{
    ((struct drive *)ctx)->yield = true;
}

static void on_ended(void *ctx, enum mp_end how, int exit_code)
{
    struct drive *d = ctx;

    check(!d->ended);
    d->ended = true;
}

static const struct mp_run_sink sink = {
    .event = on_event,
    .announce = on_announce,
    .permission = on_permission,
    .control = on_control,
    .timer = on_timer,
    .yield = on_yield,
    .ended = on_ended,
};

/* What a driver's loop would do next for a waiting run: fire its timer, resume it. */
static bool turn(struct mp_run *run, struct drive *d)
{
    if (d->yield) {
        d->yield = false;
        mp_run_resume(run);
        return true;
    }
    if (d->timer) {
        d->timer = false;
        mp_run_timer_fired(run);
        return true;
    }
    return false;
}

static void feed(struct mp_run *run, struct drive *d, const char *line, size_t len)
{
    if (len == 6 && !memcmp(line, "!abort", 6)) {
        mp_run_abort(run);
    } else if ((len == 6 && !memcmp(line, "!allow", 6)) ||
               (len == 5 && !memcmp(line, "!deny", 5)) ||
               (len == 7 && !memcmp(line, "!cancel", 7))) {
        d->permission = false;
        mp_run_permission_answer(run, "req-1", line[1] == 'a', line[1] == 'c',
                                 line[1] == 'c' ? "timeout" : NULL);
    } else if (len == 6 && !memcmp(line, "!timer", 6)) {
        if (d->timer) {
            d->timer = false;
            mp_run_timer_fired(run);
        }
    } else if (len == 7 && !memcmp(line, "!resume", 7)) {
        d->yield = false;
        mp_run_resume(run);
    } else if (len == 5 && !memcmp(line, "!lost", 5)) {
        mp_run_control_lost(run);
    } else {
        mp_run_control_input(run, line, len);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wc_log_setup("fuzz", WC_LOG_QUIET);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    const char *nl = memchr(p, '\n', size);
    char *prompt = wc_xstrndup(p, nl ? (size_t)(nl - p) : size);
    struct mp_directive d;
    struct mp_run_info info = {.provider = "claude", .persona = "in-process", .cwd = "/tmp"};
    struct drive st = {0};
    struct mp_run *run;
    int turns;

    mp_directive_parse(prompt, GWSPEC_SRCDIR "/fixtures", &d);
    mp_directive_limit_ctl(&d, NULL);
    run = mp_run_new(&d, &info, &sink, &st);
    if (d.ctl_host && !nl)
        mp_run_control_lost(run);
    if (!mp_script_start_failure(d.script))
        mp_run_start(run);
    for (p = nl ? nl + 1 : end; p < end && !st.ended;) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        size_t len = e ? (size_t)(e - p) : (size_t)(end - p);
        feed(run, &st, p, len);
        p += len + (e ? 1 : 0);
    }
    if (!st.ended)
        mp_run_abort(run);
    for (turns = 0; !st.ended && turns < MAX_TURNS && turn(run, &st); turns++)
        ;
    check(st.ended == mp_run_is_over(run));
    mp_run_free(run);
    mp_directive_release(&d);
    free(prompt);
    return 0;
}
