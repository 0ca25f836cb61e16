/* runtime.c: the script interpreter (see runtime.h). Temporary skeleton. */
#include "runtime.h"

#include <stdlib.h>

#include "wc_mem.h"

struct mp_run {
    const struct mp_directive *d;
    const struct mp_run_info *info;
    const struct mp_run_sink *sink;
    void *ctx;
    bool over;
};

struct mp_run *mp_run_new(const struct mp_directive *d, const struct mp_run_info *info,
                          const struct mp_run_sink *sink, void *ctx)
{
    struct mp_run *r = wc_xcalloc(1, sizeof(*r));
    r->d = d;
    r->info = info;
    r->sink = sink;
    r->ctx = ctx;
    return r;
}

void mp_run_start(struct mp_run *run)
{
    if (run->over)
        return;
    run->over = true;
    json_t *ev = json_pack("{s:s, s:i}", "kind", "complete", "exitCode", 0);
    run->sink->event(run->ctx, ev);
    run->sink->ended(run->ctx, MP_END_COMPLETED, 0);
}

void mp_run_control_input(struct mp_run *run, const char *line, size_t len) { (void)run; (void)line; (void)len; }
void mp_run_control_lost(struct mp_run *run) { (void)run; }
bool mp_run_abort(struct mp_run *run) { return !run->over; }
void mp_run_permission_answer(struct mp_run *run, const char *request_id, bool allow,
                              bool cancelled, const char *reason)
{
    (void)run; (void)request_id; (void)allow; (void)cancelled; (void)reason;
}
void mp_run_timer_fired(struct mp_run *run) { (void)run; }
const char *mp_run_native_id(const struct mp_run *run) { (void)run; return NULL; }
bool mp_run_is_over(const struct mp_run *run) { return run->over; }
void mp_run_free(struct mp_run *run) { free(run); }
