/*
 * steps.h: the step vocabulary of a case (cases/README.md, "Steps"), written once.
 *
 * Each layer that handles steps builds its dispatch array from HN_STEPS with one function per
 * step named after it: model/scenario.c's lint_step_<name> lints one, hn_run_step_<name>
 * (exec/run_*.c, dispatched by exec/runner.c) runs one. A step added here without a linter or
 * a runner does not compile, and the properties below (which steps wait, which may stand
 * inside `alternatives`) are read by both from this table instead of from lists of their own.
 *
 * Layer model/ (harness/README.md). Depends on nothing.
 */
#ifndef HN_STEPS_H
#define HN_STEPS_H

#include <stddef.h>

#define HN_STEP_WAITS  1u /* it waits for something that arrives: `within_ms` may bound it */
#define HN_STEP_IN_ALT 2u /* it may stand inside an `alternatives` outcome */

/* X(name, flags), in the order cases/README.md lists them */
/* clang-format off */
#define HN_STEPS(X)                                    \
    X(connect, 0)                                      \
    X(disconnect, 0)                                   \
    X(send, 0)                                         \
    X(send_raw, 0)                                     \
    X(expect, HN_STEP_WAITS | HN_STEP_IN_ALT)          \
    X(expect_close, HN_STEP_WAITS | HN_STEP_IN_ALT)    \
    X(expect_ping, HN_STEP_WAITS | HN_STEP_IN_ALT)     \
    X(pause, 0)                                        \
    X(resume, 0)                                       \
    X(group, HN_STEP_WAITS | HN_STEP_IN_ALT)           \
    X(quiet, HN_STEP_IN_ALT)                           \
    X(reached, HN_STEP_WAITS | HN_STEP_IN_ALT)         \
    X(release, 0)                                      \
    X(provider_done, HN_STEP_WAITS | HN_STEP_IN_ALT)   \
    X(provider_hello, HN_STEP_WAITS | HN_STEP_IN_ALT)  \
    X(provider_event, HN_STEP_WAITS | HN_STEP_IN_ALT)  \
    X(http, 0)                                         \
    X(restart, 0)                                      \
    X(alternatives, 0)                                 \
    X(note, HN_STEP_IN_ALT)                            \
    X(accept, 0)                                       \
    X(refuse, 0)                                       \
    X(close, 0)                                        \
    X(drop, 0)                                         \
    X(expect_connect, 0)                               \
    X(expect_no_connect, 0)                            \
    X(act, 0)                                          \
    X(quiesce, 0)
/* clang-format on */

enum hn_step_id {
/* clang-format off */
#define HN_STEP_ENUM(name, flags) HN_STEP_##name,
    HN_STEPS(HN_STEP_ENUM)
#undef HN_STEP_ENUM
    HN_STEP__COUNT
    /* clang-format on */
};

struct hn_step_kind {
    const char *name;
    enum hn_step_id id;
    unsigned flags; /* HN_STEP_* */
};

/* The kind of the step named name, or NULL when there is no such step. */
const struct hn_step_kind *hn_step_kind(const char *name);
/* Every kind, in table order (n of them). */
const struct hn_step_kind *hn_step_kinds(size_t *n);
/* The names of the kinds with every flag of flags, as "a, b, c" (new string, free()). */
char *hn_step_names_with(unsigned flags);

#endif
