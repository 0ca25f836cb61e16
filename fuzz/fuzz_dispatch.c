/*
 * fuzz_dispatch.c: the reference gateway's Dispatch front-end (`--dialect dispatch`,
 * reference-server/dispatch.c) through its sans-I/O entry points (fuzz/README.md): inbound text
 * frames of three connections (gw_dispatch_frame), connections closing and opening, the HTTP
 * API (gw_dispatch_http: history pages, POST close), on a fake clock, with the mock runtime run
 * synchronously as the provider behind it (as fuzz_gateway.c does), so a chat.send or
 * chat.queue whose text carries a gwspec directive runs that script: steps, tools, errors,
 * crashes, complete twice, delays that keep a turn in flight for late joiners, steering and
 * the post-seal carry.
 *
 * The input is lines; the first byte of each picks the action, the rest is its argument:
 *   a b c   a text frame from the first, second or third connection
 *   o       close the connection named by the argument's first byte (a, b or c), open a new one
 *   H       an HTTP request: "METHOD PATH[?sinceSeq=N&beforeSeq=N&limit=N]"
 *   t       the clock moves on by the argument in ms (default 1000): the core's timers run, and
 *           every run's pending provider timer or resume fires; then gw_dispatch_after_input,
 *           as the server's glue calls it after provider input
 * Oracles beyond the sanitizers: every frame is a JSON object with a string "type"; every
 * chat.delta carries an event object with string type, conversationId and turnId; on one
 * connection a turn's `done` comes at most once and is followed by its `turn-sealed`, and
 * nothing of that turn follows the seal; close codes are in 1000..4999; an HTTP answer has a
 * status 2xx-5xx, a content type and a body, the API's body is a JSON object, and an unqueried
 * history page's seqs are 1..n with latestSeq n; the front-end never calls a provider run after
 * releasing it, and releases every run it opened by gw_dispatch_free.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reference-server/core.h"
#include "../reference-server/dispatch.h"
#include "directive.h"
#include "runtime.h"
#include "wc_json.h"
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
    bool opened; /* open returned it: the front-end owes a release */
    bool released, ended, timer, yield;
};

static struct frun *runs[MAX_RUNS];
static bool verbose; /* $FUZZ_VERBOSE: print every line, frame and HTTP answer */
static size_t n_runs;
static int64_t now_ms;
static uint64_t conn[3];
static json_t *turns; /* "conn/turnId" -> 1: done seen, 2: sealed */

static void check(int ok)
{
    if (!ok)
        abort();
}

static int64_t fake_clock(void)
{
    return now_ms;
}

/* --- the runtime's sink: forwarded to the front-end unless it let go ------------------- */

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
    return false;
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
    r->opened = true;
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

static void fp_flow(struct gw_prun *p, bool paused)
{
    check(!((struct frun *)p)->released);
}

static const struct gw_provider_ops fuzz_ops = {
    .open = fp_open,
    .start = fp_start,
    .abort = fp_abort,
    .permission = fp_permission,
    .release = fp_release,
    .flow = fp_flow,
};

/* --- the oracles on what the front-end sends -------------------------------------------- */

/* One chat.delta event for conn: the turn grammar one connection can check on its own. */
static void check_event(uint64_t c, const json_t *ev)
{
    const char *type = wc_json_str(ev, "type"), *tid = wc_json_str(ev, "turnId");
    char key[160];
    json_int_t state;

    check(json_is_object(ev) && type && tid && wc_json_str(ev, "conversationId"));
    snprintf(key, sizeof(key), "%llu/%s", (unsigned long long)c, tid);
    state = json_integer_value(json_object_get(turns, key));
    check(state != 2);                                 /* nothing after the seal */
    check(state != 1 || !strcmp(type, "turn-sealed")); /* done, then the seal */
    if (!strcmp(type, "done"))
        json_object_set_new(turns, key, json_integer(1));
    else if (!strcmp(type, "turn-sealed"))
        json_object_set_new(turns, key, json_integer(2));
}

static void check_out(void *ctx, const struct gw_outmsg *m)
{
    json_t *v;
    const char *type;

    if (!m->frame && m->close_code == 0) { /* a kick: the core holds more for conn */
        if (verbose)
            fprintf(stderr, "< conn %llu: kick\n", (unsigned long long)m->conn);
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
    type = wc_json_str(v, "type");
    check(type != NULL);
    if (!strcmp(type, "chat.delta"))
        check_event(m->conn, json_object_get(v, "event"));
    json_decref(v);
}

static void drain(struct gw_core *c)
{
    int rounds = 0;

    gw_core_flush(c);
    gw_outbox_drain(gw_core_outbox(c), check_out, NULL);
    /* the core holds nothing back from a Dispatch connection, but drain what it says it has */
    for (size_t i = 0; i < 3; i++) {
        while (gw_core_conn_has_backlog(c, conn[i])) {
            check(++rounds < 10000);
            gw_core_conn_drain(c, conn[i], 1024);
            gw_outbox_drain(gw_core_outbox(c), check_out, NULL);
        }
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

/* An unqueried history page: seqs 1..n, latestSeq n (R-D-HIST's gap-free 1-based seqs). */
static void check_history(const json_t *v)
{
    const json_t *chunks = json_object_get(v, "chunks"), *ch;
    size_t i;

    check(json_is_array(chunks));
    json_array_foreach(chunks, i, ch)
        check(json_integer_value(json_object_get(ch, "seq")) == (json_int_t)i + 1);
    check(json_integer_value(json_object_get(v, "latestSeq")) ==
          (json_int_t)json_array_size(chunks));
}

static void http(struct gw_dispatch *d, char *arg)
{
    char *path = strchr(arg, ' '), *q, *body = NULL;
    char since[32], before[32], limit[32];
    struct gw_dispatch_http_req req = {.method = arg};
    const char *ctype = NULL;
    int status;

    if (!path)
        return;
    *path++ = '\0';
    q = strchr(path, '?');
    if (q)
        *q++ = '\0';
    req.path = path;
    req.since_seq = query_arg(q, "sinceSeq", since, sizeof(since));
    req.before_seq = query_arg(q, "beforeSeq", before, sizeof(before));
    req.limit = query_arg(q, "limit", limit, sizeof(limit));
    status = gw_dispatch_http(d, &req, &ctype, &body);
    check(status >= 200 && status <= 599 && ctype && body);
    if (verbose)
        fprintf(stderr, "< %d %s %s\n", status, ctype, body);
    if (gw_dispatch_is_api_path(path)) {
        json_t *v = json_loads(body, 0, NULL);
        check(json_is_object(v) && !strcmp(ctype, "application/json"));
        if (status == 200 && !strcmp(arg, "GET") && !req.since_seq && !req.before_seq && !req.limit)
            check_history(v);
        json_decref(v);
    }
    free(body);
}

static void advance(struct gw_core *c, struct gw_dispatch *d, const char *arg)
{
    int64_t ms = *arg ? strtoll(arg, NULL, 10) : 1000;
    size_t i;

    if (ms < 0 || ms > 3600000)
        ms = 1000;
    now_ms += ms;
    gw_core_tick(c, now_ms);
    for (i = 0; i < n_runs; i++) {
        struct frun *r = runs[i];
        if (r->ended || r->released)
            continue;
        if (r->yield) {
            r->yield = false;
            mp_run_resume(r->mp);
        } else if (r->timer) {
            r->timer = false;
            mp_run_timer_fired(r->mp);
        }
    }
    gw_dispatch_after_input(d);
}

static uint64_t open_conn(struct gw_core *c, struct gw_dispatch *d)
{
    uint64_t id = gw_core_conn_open(c, "dispatch", NULL);

    gw_dispatch_conn_open(d, id);
    return id;
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
    struct gw_core_opts o = {
        .permission_timeout_ms = 5000,
        .seed = 1,
        .provider = &fuzz_ops,
        .clock_ms = fake_clock,
    };
    struct gw_dispatch_opts dopt = {
        .provider = &fuzz_ops,
        .models = "mock,big",
        .clock_ms = fake_clock,
    };
    char *text = wc_xstrndup((const char *)data, size), *line, *next;
    char *err = NULL;
    struct gw_core *c;
    struct gw_dispatch *d;
    size_t i;

    now_ms = 1000;
    turns = json_object();
    c = gw_core_new(&o, &err);
    check(c != NULL);
    dopt.core = c;
    d = gw_dispatch_new(&dopt);
    for (i = 0; i < 3; i++)
        conn[i] = open_conn(c, d);
    drain(c);
    for (line = text; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (verbose)
            fprintf(stderr, "> %s\n", line);
        switch (line[0]) {
        case 'a':
        case 'b':
        case 'c':
            gw_dispatch_frame(d, conn[line[0] - 'a'], line + 1, strlen(line + 1));
            break;
        case 'o':
            if (line[1] >= 'a' && line[1] <= 'c') {
                size_t k = (size_t)(line[1] - 'a');
                gw_dispatch_conn_close(d, conn[k]);
                gw_core_conn_close(c, conn[k]);
                conn[k] = open_conn(c, d);
            }
            break;
        case 'H':
            http(d, line + 1);
            break;
        case 't':
            advance(c, d, line + 1);
            break;
        default:
            break;
        }
        drain(c);
    }
    gw_dispatch_free(d);
    gw_core_free(c);
    for (i = 0; i < n_runs; i++) {
        check(!runs[i]->opened || runs[i]->released); /* every opened run was released */
        mp_run_free(runs[i]->mp);
        mp_directive_release(&runs[i]->d);
        free(runs[i]->cwd);
        json_decref(runs[i]->options);
        free(runs[i]);
    }
    n_runs = 0;
    json_decref(turns);
    free(text);
    return 0;
}
