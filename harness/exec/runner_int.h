/*
 * runner_int.h: what the files of the step engine share (internal to harness/exec/).
 *
 * runner.c drives one case: setup, the step loop through the step table, teardown and
 * grading. run_engine.c is the machinery every step uses: failures and notes, client
 * sockets, the control channel, the pump (poll), the directive and the frame queues.
 * The steps live by family: run_client.c (client sockets: connect, send, expect, group,
 * quiet, heartbeat, pause), run_within.c (time bounds, sentinels and load probes),
 * run_provider.c (the provider's control channel), run_http.c, run_flow.c (alternatives,
 * restart, note). Each step is hn_run_step_<name>, as model/steps.h lists them.
 */
#ifndef HN_RUNNER_INT_H
#define HN_RUNNER_INT_H

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
#include "check/invariant.h"
#include "check/verdict.h"
#include "exec/control.h"
#include "exec/http.h"
#include "exec/net.h"
#include "exec/serve.h"
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
#include "exec/budget.h"
#include "exec/runner.h"

#define MAX_POLL         256
#define TEXT_RECORD_MAX  (1024u * 1024) /* larger payloads are recorded truncated */
#define TEXT_RECORD_HEAD 1024u
#define PAUSED_RCVBUF    16384 /* a paused client's socket: buffers of a real link */
#define PAUSED_MSS       1400
/* a slow reader's (`pause` with `read`): the window opens in small steps, so a gateway that
 * writes to it whenever its kernel buffers have room writes every few tens of ms */
#define SLOW_RCVBUF 4096

enum cstate { C_NONE, C_OPEN, C_CLOSING, C_CLOSED };

struct item {
    json_t *frame;    /* parsed JSON, or NULL */
    json_t *raw;      /* the record's payload fields (for failures): {frame|text|hex} */
    const char *kind; /* borrowed from frame, or NULL */
    uint64_t arrival;
    uint64_t consumed; /* 0 or the stamp that consumed it */
    bool sentinel;
    int64_t rec_n; /* transcript record number */
    int64_t at_ms; /* when we read it (monotonic ms): `within_ms` grades it */
    int64_t lo_ms; /* it arrived after lo_ms and at or before hi_ms (hn_ws_arrival) */
    int64_t hi_ms;
};

struct client {
    char name[24];
    char *user;
    struct hn_ws ws;
    enum cstate state;
    struct item *items;
    size_t n, cap;
    size_t hint;       /* items before this index are all consumed or sentinels */
    json_t *sentinels; /* object: pending sentinel ids */
    int close_code;
    char *close_reason;
    const char *closed_by;
    int64_t close_rec_n;
    bool corked;             /* frames queued for a burst: pump does not write them yet */
    bool paused;             /* `pause`: the socket is not read (pings unanswered) until `resume` */
    size_t trickle_bytes;    /* `pause` with `read`: > 0 while paused, at most this many bytes... */
    int64_t trickle_ms;      /* ...are read every trickle_ms (a slow reader) */
    int64_t trickle_next_ms; /* the next such read is due then (monotonic ms) */
    uint64_t npings;       /* pings received on this socket (past HN_PING_RECORDS_MAX unrecorded) */
    uint64_t ping_watch;   /* expect_ping: the ping numbered after this one is awaited... */
    int64_t ping_watch_ms; /* ...and arrived then (monotonic ms), -1 until it has */
    int64_t close_at_ms;   /* when the close was seen */
    int64_t close_lo_ms;   /* it arrived after this time, at or before close_hi_ms */
    int64_t close_hi_ms;
};

struct ctlmsg {
    char *label;
    char *run;
    json_t *msg;
    uint64_t arrival;
    uint64_t consumed;
    int64_t rec_n;
    int64_t at_ms;
    int64_t lo_ms;
    int64_t hi_ms;
};

/*
 * A time bound on a waiting step (`within_ms`, cases/README.md; expect_ping has its own). The
 * clock starts at t0; what the step waited for arrived at seen_ms. At or before max_ms it is on
 * time, up to twice max_ms it is late (NON-STRICT), later or never it is FAILED, and before
 * min_ms (when given) it is early (FAILED). The wait itself ends at twice the bound.
 *
 * Times are when we read a frame, not when it arrived: a harness that was descheduled reads
 * late, and two frames read together look simultaneous however far apart they came. Late is
 * graded on the read times (the tolerance absorbs our delays). Early must be proven, or a busy
 * machine would fail a correct gateway: it is graded on seen_hi - t0_lo, where t0_lo is a time
 * the clock-starting frame cannot have arrived before and seen_hi one the awaited thing cannot
 * have arrived after (hn_ws_arrival: the kernel's receive timestamp when it ends a read, else
 * the last time its socket was seen empty, and our read), so the real interval is at most that.
 * When the clock started at the end of a step (a send), t0_lo is t0: the gateway cannot answer
 * before it was asked.
 */
struct within {
    bool on;
    int64_t min_ms; /* -1: no lower bound */
    int64_t max_ms;
    int64_t t0;
    int64_t t0_lo;         /* at or before t0 */
    bool settled;          /* the end of the tolerance was judged (within_settle) */
    int64_t overloaded_ms; /* > 0: a load probe took this long (the machine was too busy) */
    /* load probes over the tolerance window (within_probe) */
    char probe_id[48]; /* the sentinel in flight, "" when none */
    struct client *probe_c;
    int64_t probe_sent_ms;
    int64_t probe_next_ms;
    int64_t probe_worst_ms; /* the longest a probe took to be answered */
    int64_t probe_from_ms;  /* when probing began, and the CPU pressure then (-1: unknown) */
    int64_t psi_from_us;
};

struct rt {
    const struct hn_case *c;
    struct hn_target *t;
    const struct hn_runner_opts *o;
    struct hn_transcript *tr;
    struct hn_ctl *ctl;
    struct client *clients;
    size_t nclients;
    struct ctlmsg *msgs;
    size_t nmsgs, capmsgs;
    json_t *vars;
    json_t *arrived; /* bindings made by what arrived (native.<label>): a rollback keeps them */
    struct hn_scope scope;
    struct wc_rand rng;
    char case_token[160];
    uint64_t arrival;
    uint64_t stamp;
    int sentinel_n;
    int run_n;
    json_t *pending_release; /* array of {label, barrier} not yet deliverable */
    int64_t timeout_ms;
    json_t *failures;         /* array of failure objects */
    bool failed;              /* a step failed: stop running steps */
    bool errored;             /* harness/target problem: ERROR */
    const char *burst_client; /* the next step is also a send to this client: hold the write */
    int alt_depth;            /* > 0 while trying an alternative */
    json_t *alt_failure;      /* the first failure inside the current alternative */
    bool alt_timeout;
    const char *alt_grade; /* the grade of the winning alternative, worst so far */
    int64_t step_index;
    struct within within; /* the current step's time bound, if any */
    int64_t seen_ms;      /* the latest arrival the current step consumed, or -1 */
    int64_t seen_lo_ms;   /* it arrived after seen_lo_ms, at or before seen_hi_ms */
    int64_t seen_hi_ms;
    int64_t mark_ms;         /* where the previous step left the clock (its arrival or end) */
    int64_t mark_lo_ms;      /* the earliest that can really have been */
    int64_t poll_prev_ms;    /* when the previous pump round began to poll */
    int64_t poll_ms;         /* when this one did */
    struct hn_budget budget; /* what the records of the target's frames hold (budget.h) */
    /* the server role (run_server.c): the target is a client program */
    bool srv_on;        /* the listener is open */
    struct hn_srv srv;  /* the case's private listener and its connection attempts */
    size_t srv_taken;   /* attempts taken by accept/refuse so far */
    size_t srv_counted; /* attempts consumed by expect_connect/expect_no_connect */
    int srv_accepted;   /* s1, s2, ...: connections upgraded so far */
    int act_n;          /* ids of `act` messages */
    pid_t cpid;         /* the client program's process (group), 0 when none */
    char *clog;         /* its output */
    bool client_gone;   /* it exited before the case stopped it (its `exit` is recorded) */
    int client_status;  /* its wait status then */
    int cpid_fd;        /* a pidfd of it (poll wakes when it exits), or -1 */
};

typedef bool (*cond_fn)(struct rt *rt, void *arg);

struct next_arg {
    struct client *c;
    const char *except_kind;
};

struct quiet_arg {
    int64_t last;
    uint64_t arrival;
};
/* runner.c */
void hn_rt_run_step(struct rt *rt, const json_t *step);
int hn_rt_create_sessions(struct rt *rt);

/* run_engine.c */
int64_t hn_rt_timeout_of(const struct rt *rt);
json_t *hn_rt_payload_fields(const char *data, size_t len, json_t **parsed);
int64_t hn_rt_add_record(struct rt *rt, json_t *rec);
void hn_rt_note(struct rt *rt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hn_rt_add_failure(struct rt *rt, const json_t *step, const char *kind, const char *message,
                       const json_t *expected, const json_t *received, const char *diff,
                       json_t *witness);
void hn_rt_step_fail(struct rt *rt, const json_t *step, const char *message, const json_t *expected,
                     const json_t *received, const char *diff, int64_t witness_n);
void hn_rt_step_error(struct rt *rt, const json_t *step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hn_rt_step_error(struct rt *rt, const json_t *step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct client *hn_rt_client_get(struct rt *rt, const char *name, bool create);
void hn_rt_client_reset(struct client *c);
void hn_rt_record_close(struct rt *rt, struct client *c, const char *by, int code,
                        const char *reason);
void hn_rt_client_finish(struct client *c);
void hn_rt_client_process(struct rt *rt, struct client *c);
void hn_rt_on_ctl(void *ctx, int conn, const char *label, const char *run, json_t *msg,
                  const char *bad);
void hn_rt_send_release(struct rt *rt, const char *label, const char *run, const char *barrier);
void hn_rt_drain(struct rt *rt);
int64_t hn_rt_cpu_pressure_us(void);
int hn_rt_wait_until(struct rt *rt, cond_fn cond, void *arg, int64_t deadline);
void hn_rt_flush_client(struct rt *rt, struct client *c, int64_t deadline);
json_t *hn_rt_resolve(void *ctx, const char *name);
bool hn_rt_ignored(const struct rt *rt, const struct item *it, const char *except_kind);
void hn_rt_advance_hint(struct client *c);
struct item *hn_rt_next_item(struct rt *rt, struct client *c, const char *except_kind);
bool hn_rt_cond_next(struct rt *rt, void *arg);
json_t *hn_rt_close_value(const struct client *c);
const char *hn_rt_pattern_kind(const struct rt *rt, const json_t *pat);
/* The case's wire dialect (chatgw/1 unless the options name another). */
const struct hn_dialect *hn_rt_dialect(const struct rt *rt);
struct client *hn_rt_open_client(struct rt *rt, const json_t *step, const char *name);
struct client *hn_rt_waiting_client(struct rt *rt, const json_t *step, const char *name);

/* run_client.c */
char *hn_rt_expand_str(struct rt *rt, const json_t *step, const char *s);
char *hn_rt_token_for(struct rt *rt, const json_t *step, const json_t *spec, const char *user,
                      bool *ok);
void hn_run_step_connect(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_disconnect(struct rt *rt, const json_t *step, const char *sname);
void hn_rt_send_payload(struct rt *rt, const json_t *step, struct client *c, int op,
                        const char *data, size_t len, json_t *fields, bool sentinel);
void hn_run_step_send(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_send_raw(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_expect(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_expect_close(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_expect_ping(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_group(struct rt *rt, const json_t *step, const char *sname);
uint64_t hn_rt_sentinel_round(struct rt *rt, const json_t *step, struct client *c);
bool hn_rt_cond_never(struct rt *rt, void *arg);
void hn_run_step_quiet(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_pause(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_resume(struct rt *rt, const json_t *step, const char *sname);

/* run_within.c */
void hn_rt_send_sentinel(struct rt *rt, const json_t *step, struct client *c, char *id,
                         size_t idlen);
int64_t hn_rt_within_probe(struct rt *rt);
bool hn_rt_within_settle(struct rt *rt, int64_t *deadline);
bool hn_rt_settled_after_timeout(struct rt *rt, struct client *prefer);
int64_t hn_rt_wait_deadline(const struct rt *rt, int64_t wait_ms);
void hn_rt_seen_at(struct rt *rt, int64_t at_ms, int64_t lo_ms, int64_t hi_ms);
bool hn_rt_within_expired(struct rt *rt, const json_t *step, struct client *prefer,
                          const char *what);
void hn_rt_within_grade(struct rt *rt, const json_t *step);
json_t *hn_rt_item_value(const struct item *it);
void hn_rt_expect_none(struct rt *rt, const json_t *step, struct client *c);
bool hn_rt_expect_one(struct rt *rt, const json_t *step, struct client *c, const json_t *pat);
void hn_rt_within_setup(struct rt *rt, const json_t *step);

/* run_provider.c */
void hn_run_step_reached(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_release(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_provider_done(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_provider_hello(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_provider_event(struct rt *rt, const json_t *step, const char *sname);

/* run_http.c */
void hn_run_step_http(struct rt *rt, const json_t *step, const char *sname);

/* run_server.c */
int hn_rt_server_setup(struct rt *rt);
void hn_rt_server_teardown(struct rt *rt);
void hn_rt_server_attempts(struct rt *rt, size_t added);
void hn_rt_server_reap(struct rt *rt);
bool hn_rt_server_dead(const struct rt *rt);
json_t *hn_rt_server_form(const json_t *v, const char *side_key);
void hn_run_step_accept(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_refuse(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_close(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_drop(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_expect_connect(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_expect_no_connect(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_act(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_quiesce(struct rt *rt, const json_t *step, const char *sname);

/* run_flow.c */
void hn_run_step_alternatives(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_restart(struct rt *rt, const json_t *step, const char *sname);
void hn_run_step_note(struct rt *rt, const json_t *step, const char *sname);

#endif
