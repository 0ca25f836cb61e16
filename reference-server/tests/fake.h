/*
 * fake.h: test helpers for the reference-server layer: a recording fake provider behind
 * struct gw_provider_ops, and outbox inspection. Not a test file itself (no suites).
 */
#ifndef GW_TEST_FAKE_H
#define GW_TEST_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "../core.h"
#include "../provider.h"

struct gw_fake_run {
    const struct gw_provider_sink *sink; /* the core's */
    void *ctx;
    char *provider;
    char *prompt;
    char *cwd;
    char *resume;    /* or NULL */
    json_t *options; /* copy */
    bool started;
    bool aborted; /* abort was called */
    bool released;
    bool ended;
    bool abort_found;  /* what abort returns (default true) */
    bool end_on_abort; /* abort ends the run synchronously (default true) */
    int n_answers;
    char answer_id[64];
    bool answer_allow;
    bool answer_cancelled;
    char answer_reason[32];
    bool paused;              /* the last ops->flow said paused */
    int n_flow;               /* ops->flow calls */
    struct gw_fake_run *next; /* newest first */
};

struct gw_fake {
    struct gw_fake_run *runs; /* newest first */
    int n_open;
    /* called from start(): scripts the run (e.g. emit + complete synchronously) */
    void (*on_start)(struct gw_fake_run *r);
};

extern const struct gw_provider_ops gw_fake_ops;

void gw_fake_reset(struct gw_fake *f);
void gw_fake_emit(struct gw_fake_run *r, json_t *ev); /* takes ev */
void gw_fake_emitf(struct gw_fake_run *r, const char *json_text);
void gw_fake_announce(struct gw_fake_run *r, const char *native_id);
void gw_fake_permission(struct gw_fake_run *r, const char *tool, const char *input_json);
void gw_fake_end(struct gw_fake_run *r, int exit_code);

/* Provider names the next gw_test_core disables (NULL-terminated), or NULL. */
extern const char *const *gw_test_disabled_providers;
/* The next gw_test_core's replay_cap, flow_high and hold_cap (0: the core's defaults). */
extern size_t gw_test_replay_cap;
extern size_t gw_test_flow_high;
extern size_t gw_test_hold_cap;
/* A core on ":memory:" with the fake provider, seed 1, the given fake clock. */
struct gw_core *gw_test_core(struct gw_fake *f, int64_t (*clock_ms)(void));
/* Drain the outbox and every backlog (as a glue whose sockets read at once): new array of
 * {conn, frame|close} objects (frame parsed). Kicks are left out. */
json_t *gw_test_drain(struct gw_core *c);
/* Drain the outbox only: what the core queued so far, backlogs stay (flow-control tests). */
json_t *gw_test_drain_outbox(struct gw_core *c);
/* Frames in `drained` for conn (new array of borrowed-then-increfed frames). */
json_t *gw_test_frames_for(json_t *drained, uint64_t conn);
/* Drain the outbox and keep only conn's frames (new array). */
json_t *gw_test_take(struct gw_core *c, uint64_t conn);
/* Handle text as a frame from conn. */
void gw_test_send(struct gw_core *c, uint64_t conn, const char *text);
/* Create a session via REST for user; returns the new id (free()). */
char *gw_test_create_session(struct gw_core *c, const char *user, const char *provider,
                             const char *path);

#endif
