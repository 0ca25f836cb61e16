/*
 * runtime.h: run one provider script, sans-I/O.
 *
 * The runtime owns no sockets, threads or timers. Its driver (the gateway's in-process
 * provider, or the gwspec-provider CLI personas) gives it input through the mp_run_* calls and
 * receives output through the sink callbacks, which are called synchronously from inside those
 * calls. A callback must not free the run; free it after the mp_run_* call returns.
 *
 * Control-channel messages (spec/control-channel.md §3) are produced as complete NDJSON lines
 * through sink->control; the driver writes them to the control socket. When the directive has
 * no control address (or after mp_run_control_lost), no control line is produced and barriers
 * are released immediately. Every sink callback may be NULL: events are then dropped, a delay
 * passes at once, and a permission step counts as cancelled ("no permission handler").
 *
 * Depends on script.h, directive.h and lib/.
 */
#ifndef MP_RUNTIME_H
#define MP_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "directive.h"
#include "script.h"

enum mp_end {
    MP_END_COMPLETED, /* ran out of steps, or an exit step */
    MP_END_CRASHED,   /* a crash step */
    MP_END_ABORTED,   /* stopped by an abort */
    MP_END_ERROR,     /* the runtime itself failed */
};

struct mp_run_info {
    const char *provider; /* claude | cursor | codex | opencode */
    const char *persona;  /* "in-process", or the CLI name */
    const char *cwd;      /* the working directory the provider runs in */
    json_t *argv;         /* borrowed array of strings, or NULL */
    json_t *options;      /* borrowed object: the options the gateway passed, or NULL */
    const char *resume;   /* the native id the provider was asked to resume, or NULL */
    long pid;
};

struct mp_run_sink {
    /* A normalized event for the gateway (takes the reference). */
    void (*event)(void *ctx, json_t *event);
    /* The provider announces its native session id (CloudCLI: writer.setSessionId). */
    void (*announce)(void *ctx, const char *native_id);
    /* Raise a permission request; answer later with mp_run_permission_answer. input borrowed.
     * timeout_ms: the approval window the script asks for (its `timeoutMs`), 0 if none. */
    void (*permission)(void *ctx, const char *tool_name, json_t *input, int64_t timeout_ms);
    /* One control-channel line, '\n'-terminated, to send to the harness. */
    void (*control)(void *ctx, const char *line, size_t len);
    /* Call mp_run_timer_fired after delay_ms (a delay step). */
    void (*timer)(void *ctx, int64_t delay_ms);
    /* Optional: an emit_many hands the loop back every 128 events; call
     * mp_run_resume on the next loop turn, so a flood interleaves with socket I/O (an abort
     * can land in the middle of it). NULL: an emit_many runs to its end in one call. */
    void (*yield)(void *ctx);
    /* Optional, with yield: true when the consumer is full (every socket of the run, R-LIMIT-5).
     * Asked after each event of an emit or emit_many step; true hands the loop back through
     * yield, as at the 128-event mark. NULL: never full. */
    bool (*full)(void *ctx);
    /* The run is over: no callback follows. exit_code is the provider's exit status. */
    void (*ended)(void *ctx, enum mp_end how, int exit_code);
};

/* New run of d's script (d and info are borrowed for the run's lifetime). Never NULL. */
struct mp_run *mp_run_new(const struct mp_directive *d, const struct mp_run_info *info,
                          const struct mp_run_sink *sink, void *ctx);
/* Send hello and run steps until the script blocks or ends. */
void mp_run_start(struct mp_run *run);
/* One line (without or with '\n') received from the control channel: `release`. */
void mp_run_control_input(struct mp_run *run, const char *line, size_t len);
/* The control channel is gone: barriers release immediately from now on. */
void mp_run_control_lost(struct mp_run *run);
/* The gateway aborts the run. Returns true when the run was still going (the "found" flag). */
bool mp_run_abort(struct mp_run *run);
/* The pending permission step was answered (allow/deny) or cancelled (reason: "timeout", ...). */
void mp_run_permission_answer(struct mp_run *run, const char *request_id, bool allow,
                              bool cancelled, const char *reason);
/* A timer requested through sink->timer fired. */
void mp_run_timer_fired(struct mp_run *run);
/* Go on after sink->yield (a no-op if the run is not yielding). */
void mp_run_resume(struct mp_run *run);
/* The native id announced so far, or NULL (borrowed). */
const char *mp_run_native_id(const struct mp_run *run);
bool mp_run_is_over(const struct mp_run *run);
/*
 * Optional, for drivers whose native format cannot express everything (the CLI personas).
 * check is called before each step (event NULL) and before each event (event not NULL, before
 * `emitted`). Returning NULL goes ahead; returning a static reason skips the step or drops the
 * event and reports `unsupported{step, reason}` on the control channel (once per step).
 */
typedef const char *(*mp_run_check_fn)(void *ctx, const struct mp_step *step, const json_t *event);
void mp_run_set_check(struct mp_run *run, mp_run_check_fn check);
/* A static name for where the run is (idle, ready, barrier, permission, hang, over, ...): logs. */
const char *mp_run_state_name(const struct mp_run *run);
void mp_run_free(struct mp_run *run);

#endif
