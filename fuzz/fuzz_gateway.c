/*
 * fuzz_gateway.c: the reference gateway's sans-I/O core (fuzz/README.md): inbound WebSocket
 * text (gw_protocol_handle), the REST endpoints (gw_rest_handle), and the provider events they
 * cause, through the event writer, the registry, the store (SQLite :memory:) and the outbox,
 * on a fake clock. The provider is the mock runtime run synchronously here (what
 * provider_mock.c does on the lws loop), so a chat.send whose prompt carries a gwspec directive
 * runs that script: announces, events, permissions, duplicate completes, crashes, hangs.
 *
 * The input is lines; the first byte of each picks the action, the rest is its argument:
 *   a b c   a text frame from alice's first socket, alice's second, bob's
 *   o       close the socket named by the argument's first byte (a, b or c) and open a new one
 *   R r     a REST request as alice (R) or bob (r): "METHOD PATH[?limit=N&offset=M] BODY"
 *   t       the clock moves on by the argument in ms (default 1000); the core's timers run, and
 *           every run's pending provider timer or resume fires (not a paused run's)
 *   f e     flow control (R-LIMIT-5): the socket named by the argument's first byte is full (f:
 *           gw_core_conn_set_full) or drains (e: not full, then gw_core_conn_drain with the
 *           argument's number as the byte budget, default 1024, while it has a backlog)
 * A first line "M" starts the core with tight memory: 4 KiB replay rings, 16 KiB for every ring,
 * 8 KiB of store history, 2 s retention, 2 KiB per replay pull, 4 KiB held per socket, so the
 * registry's and store's byte caps, the streamed replay and the held frames are reached by short
 * inputs. A kick (the core holds a backlog) is answered as the glue does: a socket that is not
 * full is drained at once. Provider runs get the core's flow calls: a paused run is not resumed
 * until it is unpaused, and its runtime sees it as full (the mock runtime's yield).
 * Oracles beyond the sanitizers: every frame the outbox holds is a JSON object (never the text
 * "null") with a string "type" or "kind"; every close code is in 1000..4999; the core never
 * calls a provider run after releasing it (flow included); every REST status is 2xx, 4xx or 5xx
 * with a body; a kick names a socket the input opened; the drain loop ends (bounded).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reference-server/core.h"
#include "../reference-server/protocol.h"
#include "../reference-server/rest.h"
#include "directive.h"
#include "runtime.h"
#include "wc_log.h"
#include "wc_mem.h"

#include "wc_banned.h"

#define MAX_RUNS 64

struct frun {
    struct mp_directive d;
    struct mp_run_info info;
    char *cwd;
    json_t *options;
    struct mp_run *mp;
    const struct gw_provider_sink *sink;
    void *sink_ctx;
    bool released, ended, timer, yield;
    bool paused; /* the core's flow call: every socket of the run is full */
};

static struct frun *runs[MAX_RUNS];
static bool verbose; /* $FUZZ_VERBOSE: print every frame and REST answer (reproducing a find) */
static size_t n_runs;
static int64_t now_ms;
/* The input's three sockets: their ids, whether the fake glue calls them full, kicks owed. */
static uint64_t conn[3];
static bool full[3], kicked[3];

static void check(int ok)
{
    if (!ok)
        abort();
}

static int64_t fake_clock(void)
{
    return now_ms;
}

/* --- the runtime's sink: forwarded to the core unless it let go ------------------------ */

static void on_event(void *ctx, json_t *ev)
{
    struct frun *r = ctx;

    if (r->released)
        json_decref(ev);
    else
        r->sink->event(r->sink_ctx, ev);
}

static void on_announce(void *ctx, const char *id)
{
    struct frun *r = ctx;

    if (!r->released)
        r->sink->announce(r->sink_ctx, id);
}

static void on_permission(void *ctx, const char *tool, json_t *input, int64_t timeout_ms)
{
    struct frun *r = ctx;

    if (!r->released)
        r->sink->permission(r->sink_ctx, tool, input, timeout_ms);
}

static void on_timer(void *ctx, int64_t delay_ms)
{
    ((struct frun *)ctx)->timer = true;
}

static void on_yield(void *ctx)
{
    ((struct frun *)ctx)->yield = true;
}

static bool on_full(void *ctx)
{
    return ((struct frun *)ctx)->paused;
}

static void on_ended(void *ctx, enum mp_end how, int exit_code)
{
    struct frun *r = ctx;

    r->ended = true;
    if (!r->released)
        r->sink->ended(r->sink_ctx, exit_code);
}

static const struct mp_run_sink run_sink = {
    .event = on_event,
    .announce = on_announce,
    .permission = on_permission,
    .timer = on_timer,
    .yield = on_yield,
    .full = on_full,
    .ended = on_ended,
};

/* --- the provider ops: a released run is kept until the input ends, and never called ---- */

static struct gw_prun *fp_open(void *self, const struct gw_provider_args *a,
                               const struct gw_provider_sink *sink, void *sink_ctx, char **err)
{
    struct frun *r;
    const char *why;

    if (n_runs == MAX_RUNS) {
        *err = wc_xstrdup("fuzz: too many runs");
        return NULL;
    }
    r = wc_xcalloc(1, sizeof(*r));
    runs[n_runs++] = r;
    r->sink = sink;
    r->sink_ctx = sink_ctx;
    r->cwd = wc_xstrdup(a->cwd ? a->cwd : "");
    r->options = a->options ? json_deep_copy(a->options) : json_object();
    mp_directive_parse(a->prompt ? a->prompt : "", GWSPEC_SRCDIR "/fixtures", &r->d);
    mp_directive_limit_ctl(&r->d, NULL);
    r->info.provider = a->provider;
    r->info.persona = "in-process";
    r->info.cwd = r->cwd;
    r->info.options = r->options;
    r->mp = mp_run_new(&r->d, &r->info, &run_sink, r);
    if (r->d.ctl_host)
        mp_run_control_lost(r->mp); /* no harness listens: barriers release at once */
    if ((why = mp_script_start_failure(r->d.script))) {
        *err = wc_xstrdup(why);
        r->released = true;
        return NULL;
    }
    return (struct gw_prun *)r;
}

static void fp_start(struct gw_prun *p)
{
    struct frun *r = (struct frun *)p;

    check(!r->released);
    mp_run_start(r->mp);
}

static bool fp_abort(struct gw_prun *p)
{
    struct frun *r = (struct frun *)p;

    check(!r->released);
    return mp_run_abort(r->mp);
}

static void fp_permission(struct gw_prun *p, const char *id, bool allow, bool cancelled,
                          const char *reason)
{
    struct frun *r = (struct frun *)p;

    check(!r->released && id);
    if (!r->ended)
        mp_run_permission_answer(r->mp, id, allow, cancelled, reason);
}

static void fp_release(struct gw_prun *p)
{
    struct frun *r = (struct frun *)p;

    check(!r->released);
    r->released = true;
}

/* The core's flow control: may come from inside a sink callback, so it only notes it. */
static void fp_flow(struct gw_prun *p, bool paused)
{
    struct frun *r = (struct frun *)p;

    check(!r->released);
    if (verbose)
        fprintf(stderr, "< flow: run %p %s\n", (void *)r, paused ? "paused" : "resumed");
    r->paused = paused;
}

static const struct gw_provider_ops fuzz_ops = {
    .open = fp_open,
    .start = fp_start,
    .abort = fp_abort,
    .permission = fp_permission,
    .release = fp_release,
    .flow = fp_flow,
};

/* --- the oracles on what the core sends ------------------------------------------------- */

static void check_out(void *ctx, const struct gw_outmsg *m)
{
    json_t *v;

    if (!m->frame && m->close_code == 0) { /* a kick: the core holds a backlog for conn */
        size_t i;
        for (i = 0; i < 3 && conn[i] != m->conn; i++)
            ;
        if (verbose)
            fprintf(stderr, "< conn %llu: kick\n", (unsigned long long)m->conn);
        if (i < 3)
            kicked[i] = true;
        return;
    }
    if (!m->frame) {
        if (verbose)
            fprintf(stderr, "< conn %llu: close %d\n", (unsigned long long)m->conn, m->close_code);
        check(m->close_code >= 1000 && m->close_code <= 4999);
        return;
    }
    if (verbose)
        fprintf(stderr, "< conn %llu: %.*s\n", (unsigned long long)m->conn, (int)m->frame->len,
                (const char *)m->frame->data);
    v = json_loadb((const char *)m->frame->data, m->frame->len, JSON_ALLOW_NUL, NULL);
    check(json_is_object(v));
    check(json_is_string(json_object_get(v, "type")) || json_is_string(json_object_get(v, "kind")));
    json_decref(v);
}

/* The socket i drains: budget bytes at a time while the core holds a backlog for it (each
 * pull queues at least one frame, so the loop ends; 10,000 pulls is a hang). */
static void pull(struct gw_core *c, size_t i, size_t budget)
{
    int rounds = 0;

    kicked[i] = false;
    while (!full[i] && gw_core_conn_has_backlog(c, conn[i])) {
        check(++rounds < 10000);
        gw_core_conn_drain(c, conn[i], budget);
        gw_outbox_drain(gw_core_outbox(c), check_out, NULL);
    }
}

static void drain(struct gw_core *c)
{
    gw_core_flush(c);
    gw_outbox_drain(gw_core_outbox(c), check_out, NULL);
    for (size_t i = 0; i < 3; i++) {
        if (kicked[i] && !full[i])
            pull(c, i, 1024);
    }
}

/* f / e: the socket named by arg[0] is full, or drains with the budget arg + 1 says. */
static void flow(struct gw_core *c, bool is_full, const char *arg)
{
    if (arg[0] < 'a' || arg[0] > 'c')
        return;
    size_t i = (size_t)(arg[0] - 'a');
    full[i] = is_full;
    gw_core_conn_set_full(c, conn[i], is_full);
    if (!is_full) {
        long b = arg[1] ? strtol(arg + 1, NULL, 10) : 1024;
        pull(c, i, b > 0 && b < (1 << 24) ? (size_t)b : 1024);
    }
}

/* --- the actions ------------------------------------------------------------------------ */

static const char *query_arg(const char *q, const char *name, char *out, size_t cap)
{
    size_t k = strlen(name);

    while (q && *q) {
        if (!strncmp(q, name, k) && q[k] == '=') {
            size_t n = strcspn(q + k + 1, "&");
            if (n >= cap)
                n = cap - 1;
            memcpy(out, q + k + 1, n);
            out[n] = '\0';
            return out;
        }
        q = strchr(q, '&');
        q = q ? q + 1 : NULL;
    }
    return NULL;
}

static void rest(struct gw_core *c, const char *user, char *arg)
{
    char *path = strchr(arg, ' '), *body, *q;
    char limit[32], offset[32];
    struct gw_rest_request req = {.method = arg, .user = user, .token_present = true};
    json_t *out = NULL;
    int status;

    if (!path)
        return;
    *path++ = '\0';
    body = strchr(path, ' ');
    if (body)
        *body++ = '\0';
    q = strchr(path, '?');
    if (q)
        *q++ = '\0';
    req.path = path;
    req.limit = query_arg(q, "limit", limit, sizeof(limit));
    req.offset = query_arg(q, "offset", offset, sizeof(offset));
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    status = gw_rest_handle(c, &req, &out);
    check(status >= 200 && status <= 599 && out != NULL);
    if (verbose) {
        char *t = json_dumps(out, JSON_COMPACT);
        fprintf(stderr, "< %d %s\n", status, t);
        free(t);
    }
    json_decref(out);
}

static void advance(struct gw_core *c, const char *arg)
{
    int64_t ms = *arg ? strtoll(arg, NULL, 10) : 1000;
    size_t i;

    if (ms < 0 || ms > 3600000)
        ms = 1000;
    now_ms += ms;
    gw_core_tick(c, now_ms);
    for (i = 0; i < n_runs; i++) {
        struct frun *r = runs[i];
        if (r->ended || r->released || r->paused)
            continue;
        if (r->yield) {
            r->yield = false;
            mp_run_resume(r->mp);
        } else if (r->timer) {
            r->timer = false;
            mp_run_timer_fired(r->mp);
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wc_log_setup("fuzz", WC_LOG_QUIET);
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const users[3] = {"alice", "alice", "bob"};
    struct gw_core_opts o = {
        .permission_timeout_ms = 5000,
        .seed = 1,
        .provider = &fuzz_ops,
        .clock_ms = fake_clock,
    };
    char *text = wc_xstrndup((const char *)data, size), *line, *next;
    char *err = NULL;
    struct gw_core *c;
    size_t i;

    now_ms = 1000;
    line = text;
    if (line[0] == 'M' && (line[1] == '\n' || line[1] == '\0')) {
        o.memory = (struct gw_core_memory){
            .replay_bytes = 4096, .replay_budget = 16384, .retain_ms = 2000, .store_bytes = 8192};
        o.flow_high = 2048;
        o.hold_cap = 4096;
        line = line[1] ? line + 2 : line + 1;
    }
    memset(full, 0, sizeof(full));
    memset(kicked, 0, sizeof(kicked));
    c = gw_core_new(&o, &err);
    check(c != NULL);
    for (i = 0; i < 3; i++)
        conn[i] = gw_core_conn_open(c, users[i], NULL);
    for (; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (verbose)
            fprintf(stderr, "> %s\n", line);
        switch (line[0]) {
        case 'a':
        case 'b':
        case 'c':
            gw_protocol_handle(c, conn[line[0] - 'a'], line + 1, strlen(line + 1));
            break;
        case 'o':
            if (line[1] >= 'a' && line[1] <= 'c') {
                gw_core_conn_close(c, conn[line[1] - 'a']);
                conn[line[1] - 'a'] = gw_core_conn_open(c, users[line[1] - 'a'], NULL);
                full[line[1] - 'a'] = kicked[line[1] - 'a'] = false;
            }
            break;
        case 'f':
        case 'e':
            flow(c, line[0] == 'f', line + 1);
            break;
        case 'R':
        case 'r':
            rest(c, line[0] == 'R' ? "alice" : "bob", line + 1);
            break;
        case 't':
            advance(c, line + 1);
            break;
        default:
            break;
        }
        drain(c);
    }
    gw_core_free(c);
    for (i = 0; i < n_runs; i++) {
        mp_run_free(runs[i]->mp);
        mp_directive_release(&runs[i]->d);
        free(runs[i]->cwd);
        json_decref(runs[i]->options);
        free(runs[i]);
    }
    n_runs = 0;
    free(text);
    return 0;
}
