/*
 * cmd_load.c: `gwspec load` (cmd_load.h).
 *
 * One thread, one loop: poll() over the control channel's sockets and an epoll fd that holds
 * every WebSocket (so 10,000 idle connections cost nothing per turn).
 *
 * Emit time. The mock provider cannot stamp a clock into an event (its script language has no
 * such substitution), and its `emitted` record is no clock either: the reference gateway queues
 * it on the control socket and the event on the client socket, and either may be written
 * first. So with --rate the harness paces the provider itself: the events come in chunks of
 * about 1 ms of the run's rate, each behind a barrier `e`, and the harness releases one chunk
 * per period. The emit time of a chunk's events is the harness's send of that release
 * (CLOCK_MONOTONIC); the receive time is the harness's read of the frame. The figure is thus
 * an upper bound of emit to receive: it includes the release's loopback hop and the gateway's
 * read of it, and, for the later events of a chunk, the events before them. Without --rate
 * there is no emit time; the report gives chat.send to the first event instead.
 *
 * A slot is one session and the runs it makes one after another; M slots run at once. A run's
 * script is made here: `announce` of a native id the harness chose (so a leak is a substring
 * search), a `go` barrier when observers must subscribe before the first event (fan-out), the
 * events in one emit_many (or in paced chunks with --rate), and the run's end by its type:
 *   stream   complete 0 (twice with --complete-twice: the gateway must forward one)
 *   abort    wait_abort after half the events; the sender aborts once it has that many
 *   refresh  a `mid` barrier after half the events: a refresher subscribes from 0, leaves after
 *            a quarter (its socket closed unread), comes back on a new socket with the lastSeq
 *            it saw, and the barrier is released once its ack is in; replay plus live must be
 *            the sender's stream.
 */
#include "cmd/cmd_load.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "check/hist.h"
#include "check/live.h"
#include "exec/control.h"
#include "exec/net.h"
#include "exec/reap.h"
#include "exec/target.h"
#include "exec/ws.h"
#include "wc_err.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"
#include "wc_banned.h"

enum rtype { RT_STREAM, RT_ABORT, RT_REFRESH, RT_N };
static const char *const rtype_names[RT_N] = {"stream", "abort", "refresh"};

enum ckind { CK_SENDER, CK_OBSERVER, CK_REFRESH, CK_IDLE };

#define MAX_WITNESSES 20   /* violations printed and kept with their frames */
#define END_GRACE_MS  2000 /* after the provider's done, how long a socket may lack its complete */

struct cfg {
    const char *target, *mutant, *json, *provider;
    int clients, concurrency, fanout, idle, per_source;
    int64_t events, bytes, duration_ms, runs, rate, run_timeout_ms;
    int weights[RT_N];
    bool complete_twice;
    uint64_t seed;
};

struct conn {
    struct hn_ws ws;
    enum ckind kind;
    int slot; /* observers, refreshers: their slot; senders: -1 (they serve several) */
    int view; /* observers: their view in the slot */
    size_t idx;
    bool out; /* EPOLLOUT registered */
};

enum sstate { S_IDLE, S_RUNNING, S_DEAD };
/* a refresh: first socket subscribed, its ack in, the second subscribed, its ack in, its
 * sentinel's ack in (the replay is whole: the barrier is released) */
enum rphase { R_NONE, R_FIRST_ACK, R_FIRST, R_SECOND_ACK, R_SECOND_SENTINEL, R_SECOND };

#define SENTINEL "gwspec-sentinel-load-" /* an unknown session: its ack follows the replay */

struct slot {
    int id;
    char *session;
    struct conn *sender;
    struct conn **obs; /* fanout - 1 of them, views 1.. */
    struct conn *refr; /* view fanout */
    enum sstate state;
    enum rtype type;
    uint64_t gen;
    char label[16], run[24];
    struct hn_live_run live;
    struct hn_live_view *views; /* fanout + 1 */
    int64_t *emit_us;           /* emit time of event index i (0: not seen) */
    size_t nemit;
    int64_t half, jump, start_ms, done_ms;
    bool done, abort_sent, go_released;
    int acks;
    enum rphase rphase;
    int64_t resume_from;
    int64_t ack_last; /* the lastSeq of the refresher's latest ack */
    /* pacing (--rate): chunk k of the events waits at a barrier `e` the harness releases */
    int64_t send_us;      /* when its chat.send was queued */
    bool first_seen;      /* the sender has its first event */
    int64_t *chunk_first; /* the index of each chunk's first event */
    size_t nchunks, capchunks, next_chunk;
    int64_t chunk_len; /* events per chunk */
    bool pacing;       /* releases may go (the provider said hello, observers are in) */
    int64_t next_release_us, period_us;
};

struct load {
    struct cfg cfg;
    struct hn_target *t;
    struct hn_ctl *ctl;
    int ep;
    struct conn **conns;
    size_t nconns, capconns;
    struct slot *slots;
    struct wc_rand rng;
    char case_token[64], ctl_addr[48];
    char *url; /* ws path with the token */
    /* figures */
    struct hn_hist lat, setup, first;
    int64_t frames, events, emitted, unstamped, runs_started, runs_done[RT_N], unfinished;
    int64_t t0_ms, t_end_ms, stop_ms;
    bool stopping;
    /* violations */
    int64_t nviol;
    json_t *viol; /* the first MAX_WITNESSES */
    /* the gateway */
    long cpu0_ticks;
    double self_cpu0; /* the harness's own CPU seconds at the start */
    int64_t rss_before_idle_kib, rss_after_idle_kib;
};

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    g_signal = sig;
}

/* ---- usage and options ------------------------------------------------------------------- */

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: gwspec load [options]\n"
            "  Drive a target with N clients and M concurrent runs, check the streaming\n"
            "  invariants live on every frame (seq contiguity, one terminal, no native ids,\n"
            "  replay plus live equal to the sender's stream) and report throughput, latency,\n"
            "  connection setup time and the gateway's peak RSS and CPU.\n"
            "options:\n"
            "  --target PROFILE     target profile (default: reference, the embedded gateway)\n"
            "  --mutant NAME        start the reference gateway with a planted bug\n"
            "  --provider NAME      the sessions' provider (default claude; one the target\n"
            "                       declares: cursor, codex, opencode)\n"
            "  --clients N          sockets that send runs (default 1)\n"
            "  --concurrency M      runs at once, one session each (default 1; 0: none, the\n"
            "                       idle connections are held for --duration)\n"
            "  --fanout F           sockets that receive each run: the sender and F-1 observers\n"
            "                       that subscribe before its first event (default 1)\n"
            "  --events E           events per run (default 100)\n"
            "  --bytes B            content bytes per event (default 100)\n"
            "  --mix SPEC           run types by weight: stream=W,abort=W,refresh=W (default\n"
            "                       stream=1); abort and refresh need --events 4 or more\n"
            "  --idle K             idle connections held open besides (default 0)\n"
            "  --duration T         stop starting runs after T (10s, 500ms; default 10s)\n"
            "  --runs K             stop after K runs instead\n"
            "  --rate R             pace the provider at about R events/s in all, released by\n"
            "                       the harness in 1 ms chunks (0: as fast as the gateway\n"
            "                       takes them; default 0)\n"
            "  --complete-twice     the provider completes twice; the gateway must forward one\n"
            "  --run-timeout-ms MS  a run that has not ended by then is a violation (10000)\n"
            "  --seed N             seed of native ids and of the mix\n"
            "  --json FILE          write the report as JSON\n"
            "  --conns-per-source N with the target on loopback, connections past the first N\n"
            "                       come from 127.0.0.2, then .3, ... (default 20000: one\n"
            "                       source address has about 28,000 ephemeral ports)\n"
            "  -h, --help\n"
            "  emit->receive latency (with --rate): from the harness's send of the release\n"
            "  of the event's chunk (a barrier) to its read of the frame: an upper bound.\n"
            "  exit: 0 no violation, 1 a violation (with its frames), 2 usage, 3 target\n"
            "  unreachable or stopped by a signal (after a partial report)\n");
}

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "gwspec load: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    usage(stderr);
    return 2;
}

/* A whole number in [lo, hi]. */
static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* "10s", "500ms", "2m", or bare seconds. */
static bool parse_duration(const char *s, int64_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v > 0) || v > 86400 * 1000.0)
        return false;
    double mul = 1000;
    if (!strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "m"))
        mul = 60000;
    else if (*end && strcmp(end, "s"))
        return false;
    *ms = (int64_t)(v * mul);
    return *ms > 0;
}

static bool parse_mix(const char *s, int w[RT_N])
{
    char *copy = wc_xstrdup(s), *save = NULL;
    bool ok = true;
    int total = 0;

    for (int i = 0; i < RT_N; i++)
        w[i] = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        int64_t v = 1;
        if (eq)
            *eq = '\0';
        int k = -1;
        for (int i = 0; i < RT_N; i++)
            if (!strcmp(tok, rtype_names[i]))
                k = i;
        if (k < 0 || (eq && !parse_int(eq + 1, 0, 1000000, &v)))
            ok = false;
        else
            w[k] = (int)v, total += (int)v;
    }
    free(copy);
    return ok && total > 0;
}

enum {
    O_TARGET = 256,
    O_MUTANT,
    O_CLIENTS,
    O_CONC,
    O_FANOUT,
    O_EVENTS,
    O_BYTES,
    O_MIX,
    O_IDLE,
    O_DURATION,
    O_RUNS,
    O_RATE,
    O_TWICE,
    O_TIMEOUT,
    O_SEED,
    O_JSON,
    O_PER_SOURCE,
    O_PROVIDER
};

/* 0, 1 (--help printed), or 2 after a usage error. long: one short case per option. */
static int parse_args(int argc, char **argv, struct cfg *c)
{
    static const struct option opts[] = {
        {"target", required_argument, NULL, O_TARGET},
        {"mutant", required_argument, NULL, O_MUTANT},
        {"clients", required_argument, NULL, O_CLIENTS},
        {"concurrency", required_argument, NULL, O_CONC},
        {"fanout", required_argument, NULL, O_FANOUT},
        {"events", required_argument, NULL, O_EVENTS},
        {"bytes", required_argument, NULL, O_BYTES},
        {"mix", required_argument, NULL, O_MIX},
        {"idle", required_argument, NULL, O_IDLE},
        {"duration", required_argument, NULL, O_DURATION},
        {"runs", required_argument, NULL, O_RUNS},
        {"rate", required_argument, NULL, O_RATE},
        {"complete-twice", no_argument, NULL, O_TWICE},
        {"run-timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"seed", required_argument, NULL, O_SEED},
        {"json", required_argument, NULL, O_JSON},
        {"conns-per-source", required_argument, NULL, O_PER_SOURCE},
        {"provider", required_argument, NULL, O_PROVIDER},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int64_t v;
    bool have_duration = false;

    *c = (struct cfg){.clients = 1,
                      .concurrency = 1,
                      .fanout = 1,
                      .events = 100,
                      .bytes = 100,
                      .duration_ms = 10000,
                      .run_timeout_ms = 10000,
                      .per_source = 20000,
                      .provider = "claude",
                      .weights = {1, 0, 0},
                      .seed = (uint64_t)wc_now_us()};
    optind = 1;
    opterr = 0;
    for (;;) {
        int o = getopt_long(argc, argv, "h", opts, NULL);
        if (o == -1)
            break;
        const char *a = optarg;
        switch (o) {
        case 'h':
            usage(stdout);
            return 1;
        case O_TARGET:
            c->target = a;
            break;
        case O_MUTANT:
            c->mutant = a;
            break;
        case O_CLIENTS:
            if (!parse_int(a, 1, 10000, &v))
                return bad("--clients needs a number from 1 to 10000, not '%s'", a);
            c->clients = (int)v;
            break;
        case O_CONC:
            if (!parse_int(a, 0, 10000, &v))
                return bad("--concurrency needs a number from 0 to 10000, not '%s'", a);
            c->concurrency = (int)v;
            break;
        case O_FANOUT:
            if (!parse_int(a, 1, 1000, &v))
                return bad("--fanout needs a number from 1 to 1000, not '%s'", a);
            c->fanout = (int)v;
            break;
        case O_EVENTS:
            if (!parse_int(a, 1, 1000000, &v))
                return bad("--events needs a number from 1 to 1000000, not '%s'", a);
            c->events = v;
            break;
        case O_BYTES:
            if (!parse_int(a, 1, 1000000, &v))
                return bad("--bytes needs a number from 1 to 1000000, not '%s'", a);
            c->bytes = v;
            break;
        case O_MIX:
            if (!parse_mix(a, c->weights))
                return bad("--mix needs stream=W,abort=W,refresh=W (weights, one above 0), not "
                           "'%s'",
                           a);
            break;
        case O_IDLE:
            if (!parse_int(a, 0, 1000000, &v))
                return bad("--idle needs a number from 0 to 1000000, not '%s'", a);
            c->idle = (int)v;
            break;
        case O_DURATION:
            if (!parse_duration(a, &c->duration_ms))
                return bad("--duration needs a time such as 10s or 500ms, not '%s'", a);
            have_duration = true;
            break;
        case O_RUNS:
            if (!parse_int(a, 1, INT64_MAX / 2, &c->runs))
                return bad("--runs needs a number from 1, not '%s'", a);
            break;
        case O_RATE:
            if (!parse_int(a, 0, 100000000, &c->rate))
                return bad("--rate needs events per second (0: unpaced), not '%s'", a);
            break;
        case O_TWICE:
            c->complete_twice = true;
            break;
        case O_TIMEOUT:
            if (!parse_int(a, 100, 3600000, &c->run_timeout_ms))
                return bad("--run-timeout-ms needs milliseconds from 100, not '%s'", a);
            break;
        case O_SEED:
            if (!parse_int(a, 0, INT64_MAX, &v))
                return bad("--seed needs a number, not '%s'", a);
            c->seed = (uint64_t)v;
            break;
        case O_JSON:
            c->json = a;
            break;
        case O_PROVIDER:
            c->provider = a;
            break;
        case O_PER_SOURCE:
            if (!parse_int(a, 1, 28000, &v))
                return bad("--conns-per-source needs a number from 1 to 28000, not '%s'", a);
            c->per_source = (int)v;
            break;
        default:
            return bad("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad("unexpected argument '%s'", argv[optind]);
    if (have_duration && c->runs)
        return bad("%s", "--duration and --runs are two bounds: give one");
    if (c->runs)
        c->duration_ms = 0;
    if (!c->concurrency && c->runs)
        return bad("%s", "--concurrency 0 runs nothing: give --duration to hold the idle "
                         "connections, not --runs");
    if ((c->weights[RT_ABORT] || c->weights[RT_REFRESH]) && c->events < 4)
        return bad("%s", "abort and refresh runs need --events 4 or more");
    return 0;
}

/* ---- the gateway's /proc ----------------------------------------------------------------- */

static long proc_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
     * stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (long)(ut + st);
}

/* VmRSS or VmHWM of pid in KiB, or -1. */
static int64_t proc_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    int64_t v = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, field, fl) && line[fl] == ':') {
            v = strtoll(line + fl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* ---- violations -------------------------------------------------------------------------- */

static void violation(struct load *L, const struct slot *s, const char *where,
                      struct hn_live_violation *v)
{
    L->nviol++;
    if (L->nviol <= MAX_WITNESSES) {
        json_t *o = json_pack("{s:s, s:s}", "what", v->what, "socket", where);
        if (s) {
            json_object_set_new(o, "session", json_string(s->session));
            json_object_set_new(o, "run", json_sprintf("%s/%s", s->label, s->run));
            json_object_set_new(o, "type", json_string(rtype_names[s->type]));
        }
        json_t *w = json_array();
        if (v->earlier)
            json_array_append_new(w, json_string(v->earlier));
        if (v->witness)
            json_array_append_new(w, json_string(v->witness));
        json_object_set_new(o, "witness", w);
        json_array_append_new(L->viol, o);
        if (L->nviol == 1 && isatty(STDERR_FILENO))
            fprintf(stderr, "\n");
        if (s)
            fprintf(stderr, "gwspec load: VIOLATION run %s/%s (%s) on %s: %s\n", s->label, s->run,
                    rtype_names[s->type], where, v->what);
        else
            fprintf(stderr, "gwspec load: VIOLATION on %s: %s\n", where, v->what);
        if (v->earlier)
            fprintf(stderr, "  earlier: %.600s\n", v->earlier);
        if (v->witness)
            fprintf(stderr, "  frame:   %.600s\n", v->witness);
    }
    hn_live_violation_release(v);
}

static void violation_text(struct load *L, const struct slot *s, const char *where,
                           const char *frame, char *what)
{
    struct hn_live_violation v = {.what = what, .witness = frame ? wc_xstrdup(frame) : NULL};
    violation(L, s, where, &v);
}

/* ---- sockets ------------------------------------------------------------------------------ */

static void conn_watch(struct load *L, struct conn *c)
{
    bool want = c->ws.tx.len > 0;
    if (want == c->out)
        return;
    struct epoll_event e = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u64 = c->idx};
    epoll_ctl(L->ep, EPOLL_CTL_MOD, c->ws.fd, &e);
    c->out = want;
}

static void conn_send(struct load *L, struct conn *c, json_t *msg)
{
    char *text = wc_json_compact(msg);
    json_decref(msg);
    hn_ws_frame(&c->ws, HN_WS_TEXT, true, text, strlen(text));
    free(text);
    hn_ws_flush(&c->ws);
    conn_watch(L, c);
}

static void conn_close(struct load *L, struct conn *c)
{
    if (!c)
        return;
    if (c->ws.fd >= 0)
        epoll_ctl(L->ep, EPOLL_CTL_DEL, c->ws.fd, NULL);
    L->conns[c->idx] = NULL;
    hn_ws_release(&c->ws);
    free(c);
}

/* A connected, upgraded socket (its setup time recorded), or NULL with *err. */
static struct conn *conn_open(struct load *L, enum ckind kind, int slot, int view, char **err)
{
    int64_t t0 = wc_now_us(), deadline = wc_now_ms() + 10000;
    char src[32];
    bool spread = !strncmp(L->t->host, "127.", 4) && L->nconns >= (size_t)L->cfg.per_source;
    /* past one source address's share of ports: 127.0.0.2, .3, ... (the gateway on loopback) */
    if (spread)
        snprintf(src, sizeof(src), "127.0.%zu.%zu", (L->nconns / L->cfg.per_source) / 250,
                 (L->nconns / L->cfg.per_source) % 250 + 1);
    int fd = hn_net_connect_from(L->t->host, L->t->port, spread ? src : NULL, deadline, 0, 0, err);
    int status = 0;

    if (fd < 0)
        return NULL;
    struct conn *c = wc_xcalloc(1, sizeof(*c));
    hn_ws_init(&c->ws, fd, &L->rng);
    int rc = hn_ws_handshake(&c->ws, L->t->host, L->t->port, L->url, NULL, deadline, &status, err);
    if (rc == 0 && status != 101) {
        *err = wc_xasprintf("the upgrade was refused with HTTP %d", status);
        rc = -1;
    }
    if (rc != 0) {
        hn_ws_release(&c->ws);
        free(c);
        return NULL;
    }
    hn_hist_add(&L->setup, wc_now_us() - t0);
    c->kind = kind;
    c->slot = slot;
    c->view = view;
    if (L->nconns == L->capconns) {
        L->capconns = L->capconns ? 2 * L->capconns : 64;
        L->conns = wc_xrealloc(L->conns, L->capconns * sizeof(*L->conns));
    }
    c->idx = L->nconns;
    L->conns[L->nconns++] = c;
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = c->idx};
    epoll_ctl(L->ep, EPOLL_CTL_ADD, fd, &e);
    return c;
}

static json_t *subscribe_msg(const char *session, int64_t last_seq)
{
    return json_pack("{s:s, s:[{s:s, s:I}]}", "type", "chat.subscribe", "sessions", "sessionId",
                     session, "lastSeq", (json_int_t)last_seq);
}

/* ---- runs --------------------------------------------------------------------------------- */

/* The events of n, as one emit_many, or paced: chunks of s->chunk_len behind a barrier each. */
static void add_events(const struct load *L, struct slot *s, json_t *script, int64_t n,
                       int64_t *first)
{
    json_t *pad = NULL;
    char *content = wc_xmalloc((size_t)L->cfg.bytes + 1);
    memset(content, 'x', (size_t)L->cfg.bytes);
    content[L->cfg.bytes] = '\0';
    memcpy(content, "%d", L->cfg.bytes >= 2 ? 2 : 1); /* the index, then the pad */
    pad = json_string(content);
    free(content);
    int64_t chunk = s->chunk_len ? s->chunk_len : n;
    for (int64_t done = 0; done < n; done += chunk) {
        int64_t k = n - done < chunk ? n - done : chunk;
        if (s->chunk_len) {
            json_array_append_new(script, json_pack("{s:s}", "barrier", "e"));
            if (s->nchunks == s->capchunks) {
                s->capchunks = s->capchunks ? 2 * s->capchunks : 64;
                s->chunk_first =
                    wc_xrealloc(s->chunk_first, s->capchunks * sizeof(*s->chunk_first));
            }
            s->chunk_first[s->nchunks++] = *first + done;
        }
        /* %d is the index within this emit_many: offset it by what came before so that every
         * event's content is its own seq (a replayed copy must match) */
        json_t *c = json_pack("{s:I, s:s, s:O}", "count", (json_int_t)k, "kind", "stream_delta",
                              "content", pad);
        if (*first + done > 0) {
            char prefix[32];
            snprintf(prefix, sizeof(prefix), "%" PRId64 "+", *first + done);
            char *t = wc_xasprintf("%s%s", prefix, json_string_value(pad));
            json_object_set_new(c, "content", json_string(t));
            free(t);
        }
        json_array_append_new(script, json_pack("{s:o}", "emit_many", c));
    }
    *first += n;
    json_decref(pad);
}

static enum rtype pick_type(struct load *L)
{
    int total = 0;
    for (int i = 0; i < RT_N; i++)
        total += L->cfg.weights[i];
    int r = (int)(wc_rand_next(&L->rng) % (uint64_t)total);
    for (int i = 0; i < RT_N; i++) {
        if (r < L->cfg.weights[i])
            return (enum rtype)i;
        r -= L->cfg.weights[i];
    }
    return RT_STREAM;
}

static void start_run(struct load *L, struct slot *s)
{
    int F = L->cfg.fanout;
    char native[64];
    int64_t first = 0;

    s->type = pick_type(L);
    s->gen++;
    snprintf(s->run, sizeof(s->run), "g%" PRIu64, s->gen);
    snprintf(native, sizeof(native), "nat-load-%d-%" PRIu64 "-%08" PRIx64, s->id, s->gen,
             wc_rand_next(&L->rng) & 0xffffffffu);
    hn_live_run_release(&s->live);
    hn_live_run_init(&s->live, native, s->type == RT_ABORT);
    for (int v = 0; v <= F; v++)
        hn_live_view_release(&s->views[v]);
    hn_live_view_start(&s->views[0]); /* the sender is attached by its chat.send */
    s->half = L->cfg.events / 2;
    s->jump = s->half / 2 > 0 ? s->half / 2 : 1;
    free(s->emit_us);
    s->nemit = (size_t)L->cfg.events + 3;
    s->emit_us = wc_xcalloc(s->nemit, sizeof(*s->emit_us));
    s->done = s->abort_sent = false;
    s->go_released = F == 1;
    s->acks = 0;
    s->rphase = R_NONE;
    s->start_ms = wc_now_ms();
    s->first_seen = s->pacing = false;
    s->nchunks = s->next_chunk = 0;
    s->chunk_len = 0;
    if (L->cfg.rate > 0) {
        /* chunks of about 1 ms of this run's events, one release each */
        double per_run = (double)L->cfg.rate / L->cfg.concurrency;
        s->chunk_len = (int64_t)llround(per_run / 1000.0);
        if (s->chunk_len < 1)
            s->chunk_len = 1;
        s->period_us = (int64_t)llround(1e6 * (double)s->chunk_len / per_run);
    }

    json_t *script = json_array();
    json_array_append_new(script, json_pack("{s:s}", "announce", native));
    if (F > 1)
        json_array_append_new(script, json_pack("{s:s}", "barrier", "go"));
    switch (s->type) {
    case RT_STREAM:
        add_events(L, s, script, L->cfg.events, &first);
        json_array_append_new(script, json_pack("{s:i}", "complete", 0));
        if (L->cfg.complete_twice)
            json_array_append_new(script, json_pack("{s:i}", "complete", 0));
        break;
    case RT_ABORT:
        add_events(L, s, script, s->half, &first);
        json_array_append_new(script, json_pack("{s:b}", "wait_abort", 1));
        break;
    case RT_REFRESH:
        add_events(L, s, script, s->half, &first);
        json_array_append_new(script, json_pack("{s:s}", "barrier", "mid"));
        add_events(L, s, script, L->cfg.events - s->half, &first);
        json_array_append_new(script, json_pack("{s:i}", "complete", 0));
        break;
    default:
        break;
    }
    json_t *d = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:o}", "v", 1, "ctl", L->ctl_addr, "case",
                          L->case_token, "label", s->label, "run", s->run, "seed",
                          (json_int_t)(wc_rand_next(&L->rng) >> 12), "script", script);
    char *text = wc_json_compact(d);
    char *content = wc_xasprintf("gwspec:%s", text);
    conn_send(L, s->sender,
              json_pack("{s:s, s:s, s:s}", "type", "chat.send", "sessionId", s->session, "content",
                        content));
    free(content);
    free(text);
    json_decref(d);
    s->state = S_RUNNING;
    s->send_us = wc_now_us();
    L->runs_started++;
}

static void start_pacing(struct slot *s)
{
    if (s->pacing)
        return;
    s->pacing = true;
    s->next_release_us = wc_now_us();
}

static void release(struct load *L, struct slot *s, const char *barrier)
{
    json_t *m = json_pack("{s:s, s:s}", "type", "release", "barrier", barrier);
    hn_ctl_send(L->ctl, s->label, s->run, m);
    json_decref(m);
}

/* The refresher's first socket: subscribe from 0 while the run waits at `mid`. */
static void refresh_join(struct load *L, struct slot *s)
{
    char *err = NULL;
    s->refr = conn_open(L, CK_REFRESH, s->id, L->cfg.fanout, &err);
    if (!s->refr) {
        violation_text(L, s, "refresher", NULL, wc_xasprintf("could not connect: %s", err));
        free(err);
        release(L, s, "mid");
        s->rphase = R_NONE;
        return;
    }
    s->resume_from = 0;
    conn_send(L, s->refr, subscribe_msg(s->session, 0));
    s->rphase = R_FIRST_ACK;
}

/* The refresh: the first socket goes unread, a new one subscribes from what it saw. */
static void refresh_again(struct load *L, struct slot *s)
{
    char *err = NULL;
    conn_close(L, s->refr);
    s->refr = conn_open(L, CK_REFRESH, s->id, L->cfg.fanout, &err);
    if (!s->refr) {
        violation_text(L, s, "refresher", NULL, wc_xasprintf("could not reconnect: %s", err));
        free(err);
        release(L, s, "mid");
        s->rphase = R_NONE;
        return;
    }
    s->resume_from = s->views[L->cfg.fanout].next_seq - 1;
    conn_send(L, s->refr, subscribe_msg(s->session, s->resume_from));
    s->rphase = R_SECOND_ACK;
}

static const char *view_name(const struct load *L, int v, char *buf, size_t n)
{
    if (v == 0)
        snprintf(buf, n, "the sender");
    else if (v == L->cfg.fanout)
        snprintf(buf, n, "the refresher");
    else
        snprintf(buf, n, "observer %d", v);
    return buf;
}

static void finish_run(struct load *L, struct slot *s, bool judge)
{
    char name[32];
    if (judge) {
        for (int v = 0; v <= L->cfg.fanout; v++) {
            struct hn_live_violation x;
            if (hn_live_view_end(&s->views[v], &x))
                violation(L, s, view_name(L, v, name, sizeof(name)), &x);
        }
    }
    conn_close(L, s->refr);
    s->refr = NULL;
    s->views[L->cfg.fanout].attached = false;
    L->runs_done[s->type]++;
    s->state = S_IDLE;
}

static struct slot *slot_of(struct load *L, const char *session)
{
    /* slots are few; a session id names one (a linear scan costs M per frame only with
     * M concurrent runs, and M is small next to the events of a run) */
    if (!session)
        return NULL;
    for (int i = 0; i < L->cfg.concurrency; i++)
        if (!strcmp(L->slots[i].session, session))
            return &L->slots[i];
    return NULL;
}

static void on_ctl(void *ctx, int conn, const char *label, const char *run, json_t *msg,
                   const char *bad_text)
{
    struct load *L = ctx;
    (void)conn;
    if (!msg || !label || !run || label[0] != 'L')
        return;
    int id = atoi(label + 1);
    if (id < 0 || id >= L->cfg.concurrency)
        return;
    struct slot *s = &L->slots[id];
    if (strcmp(run, s->run) || s->state != S_RUNNING)
        return; /* a run the load has left behind */
    (void)bad_text;
    const char *type = wc_json_str(msg, "type");
    if (!type)
        return;
    if (!strcmp(type, "emitted")) {
        L->emitted++;
    } else if (!strcmp(type, "hello")) {
        if (L->cfg.fanout == 1)
            start_pacing(s);
    } else if (!strcmp(type, "reached")) {
        const char *b = wc_json_str(msg, "barrier");
        if (b && !strcmp(b, "go")) {
            for (int v = 1; v < L->cfg.fanout; v++)
                conn_send(L, s->obs[v - 1], subscribe_msg(s->session, 0));
        } else if (b && !strcmp(b, "mid")) {
            refresh_join(L, s);
        }
    } else if (!strcmp(type, "done")) {
        s->done = true;
        s->done_ms = wc_now_ms();
    }
}

/* A chat_subscribed on a view's socket. */
static void on_ack(struct load *L, struct slot *s, int v, const char *text, const json_t *f)
{
    int F = L->cfg.fanout;
    if (!json_is_true(json_object_get(f, "isProcessing")))
        violation_text(L, s, v == F ? "the refresher" : "an observer", text,
                       wc_xstrdup("the run is held at a barrier, and the ack says it is not "
                                  "processing (R-SUB-1, R-SUB-6)"));
    if (v > 0 && v < F) {
        hn_live_view_resume(&s->views[v], 0);
        if (++s->acks == F - 1 && !s->go_released) {
            s->go_released = true;
            release(L, s, "go");
            start_pacing(s);
        }
        return;
    }
    s->ack_last = 0;
    wc_json_int(f, "lastSeq", &s->ack_last);
    char sentinel[64];
    snprintf(sentinel, sizeof(sentinel), SENTINEL "%d", s->id);
    if (v == F && s->rphase == R_FIRST_ACK) {
        hn_live_view_resume(&s->views[v], 0);
        s->rphase = R_FIRST;
        conn_send(L, s->refr, subscribe_msg(sentinel, 0));
    } else if (v == F && s->rphase == R_SECOND_ACK) {
        hn_live_view_resume(&s->views[v], s->resume_from);
        s->rphase = R_SECOND_SENTINEL;
        conn_send(L, s->refr, subscribe_msg(sentinel, 0));
    }
}

/*
 * The ack of the refresher's sentinel: everything the gateway sent that socket before it has
 * arrived, the replay included (answers in order, R-IN-2; the replay before anything else,
 * R-LIMIT-5). The replay must have reached the ack's lastSeq (R-SUB-2).
 */
static void on_sentinel(struct load *L, struct slot *s, struct conn *c, const char *text)
{
    struct hn_live_view *v = &s->views[L->cfg.fanout];
    if (c != s->refr || (s->rphase != R_FIRST && s->rphase != R_SECOND_SENTINEL))
        return;
    if (v->next_seq - 1 < s->ack_last)
        violation_text(L, s, "the refresher", text,
                       wc_xasprintf("the replay ended at seq %lld, the ack said lastSeq %lld "
                                    "(R-SUB-2, R-SUB-3)",
                                    (long long)(v->next_seq - 1), (long long)s->ack_last));
    if (s->rphase == R_FIRST) {
        refresh_again(L, s); /* it never got as far as the jump */
        return;
    }
    s->rphase = R_SECOND;
    release(L, s, "mid");
    s->next_release_us = wc_now_us(); /* the second half's chunks go from now */
}

static void on_frame(struct load *L, struct conn *c, const char *text, size_t len, int64_t now)
{
    json_error_t je;
    json_t *f = json_loadb(text, len, 0, &je);
    const char *kind = wc_json_str(f, "kind");
    char name[32];

    L->frames++;
    if (c->kind == CK_IDLE || !kind || !strcmp(kind, "session_upserted") ||
        !strcmp(kind, "loading_progress"))
        goto out;
    if (!strcmp(kind, "protocol_error")) {
        char *t = wc_xstrndup(text, len);
        violation_text(L, NULL, "a socket", t,
                       wc_xstrdup("a protocol_error for a request the load made well-formed"));
        free(t);
        goto out;
    }
    const char *sid = wc_json_str(f, "sessionId");
    if (sid && !strncmp(sid, SENTINEL, strlen(SENTINEL)) && !strcmp(kind, "chat_subscribed")) {
        int id = atoi(sid + strlen(SENTINEL));
        if (c->kind == CK_REFRESH && id == c->slot)
            on_sentinel(L, &L->slots[id], c, text);
        goto out;
    }
    struct slot *s = slot_of(L, sid);
    for (int i = 0; !s && i < L->cfg.concurrency; i++) {
        /* a frame under another session id: a run's native id in its place is a leak, which
         * the live checker reports as such */
        const char *nat = L->slots[i].live.native_id;
        if (nat && memmem(text, len, nat, strlen(nat)))
            s = &L->slots[i];
    }
    int v = -1;
    if (s && c->kind == CK_SENDER && s->sender == c)
        v = 0;
    else if (s && c->kind == CK_OBSERVER && c->slot == s->id)
        v = c->view;
    else if (s && c->kind == CK_REFRESH && s->refr == c)
        v = L->cfg.fanout;
    if (v < 0) {
        char *t = wc_xstrndup(text, len);
        violation_text(L, s, "a socket", t,
                       wc_xstrdup("a frame of a session this socket is not attached to "
                                  "(R-FAN-1, R-MU-2)"));
        free(t);
        goto out;
    }
    if (!strcmp(kind, "chat_subscribed")) {
        on_ack(L, s, v, text, f);
        goto out;
    }
    if (!json_object_get(f, "seq") && !json_object_get(f, "id"))
        goto out; /* a gateway frame that is not a run event (history_truncated ...) */
    L->events++;
    struct hn_live_violation x;
    if (hn_live_event(&s->live, &s->views[v], text, len, f, &x))
        violation(L, s, view_name(L, v, name, sizeof(name)), &x);
    int64_t seq = 0;
    wc_json_int(f, "seq", &seq);
    if (v < L->cfg.fanout && s->state == S_RUNNING && seq >= 1 &&
        (size_t)seq <= s->nemit) { /* live: not a replay */
        if (s->emit_us[seq - 1])
            hn_hist_add(&L->lat, now - s->emit_us[seq - 1]);
        else if (s->chunk_len && strcmp(kind, "complete"))
            L->unstamped++;
    }
    if (v == 0 && !s->first_seen && s->state == S_RUNNING) {
        s->first_seen = true;
        hn_hist_add(&L->first, now - s->send_us);
    }
    if (v == 0 && s->type == RT_ABORT && !s->abort_sent && seq >= s->half) {
        s->abort_sent = true;
        conn_send(L, s->sender,
                  json_pack("{s:s, s:s}", "type", "chat.abort", "sessionId", s->session));
    }
    if (v == L->cfg.fanout && s->rphase == R_FIRST && seq >= s->jump)
        refresh_again(L, s);
out:
    json_decref(f);
}

/* Read what a socket has and handle its frames; false when it is gone. */
static bool conn_input(struct load *L, struct conn *c)
{
    if (hn_ws_read(&c->ws) != 0 && !c->ws.rx.len)
        return false;
    int64_t now = wc_now_us();
    for (;;) {
        struct hn_ws_event ev = {0};
        char *why = NULL;
        int rc = hn_ws_next(&c->ws, &ev, &why);
        if (rc < 0) {
            violation_text(L, NULL, "a socket", NULL,
                           wc_xasprintf("a broken WebSocket stream: %s", why ? why : "?"));
            free(why);
            return false;
        }
        if (rc == 0)
            break;
        if (ev.type == HN_WS_EV_MESSAGE) {
            size_t idx = c->idx;
            on_frame(L, c, ev.data, ev.len, now);
            if (!L->conns[idx] || L->conns[idx] != c) { /* closed by a refresh */
                hn_ws_event_release(&ev);
                return true;
            }
        } else if (ev.type == HN_WS_EV_CLOSE) {
            hn_ws_event_release(&ev);
            return false;
        }
        hn_ws_event_release(&ev);
    }
    hn_ws_flush(&c->ws); /* pongs */
    conn_watch(L, c);
    return !c->ws.eof;
}

static void conn_lost(struct load *L, struct conn *c)
{
    static const char *const kinds[] = {"a sender", "an observer", "a refresher", "an idle socket"};
    if (!L->stopping || c->kind != CK_IDLE)
        violation_text(L, c->slot >= 0 ? &L->slots[c->slot] : NULL, kinds[c->kind], NULL,
                       wc_xstrdup("the gateway closed a socket that keeps reading (R-HB-3, "
                                  "R-LIMIT-5)"));
    for (int i = 0; i < L->cfg.concurrency; i++) {
        struct slot *s = &L->slots[i];
        if (s->sender == c || s->refr == c)
            s->state = S_DEAD, s->sender = s->sender == c ? NULL : s->sender,
            s->refr = s->refr == c ? NULL : s->refr;
        for (int v = 1; v < L->cfg.fanout; v++)
            if (s->obs[v - 1] == c)
                s->state = S_DEAD, s->obs[v - 1] = NULL;
    }
    conn_close(L, c);
}

/* One turn: the control channel first, then the sockets. */
static void pump(struct load *L, int timeout_ms)
{
    struct pollfd fds[257];
    size_t n = hn_ctl_pollfds(L->ctl, fds, 256);
    fds[n] = (struct pollfd){.fd = L->ep, .events = POLLIN};
    if (poll(fds, n + 1, timeout_ms) <= 0)
        return;
    hn_ctl_handle(L->ctl, fds, n);
    struct epoll_event evs[256];
    int k = epoll_wait(L->ep, evs, 256, 0);
    for (int i = 0; i < k; i++) {
        size_t idx = (size_t)evs[i].data.u64;
        struct conn *c = idx < L->nconns ? L->conns[idx] : NULL;
        if (!c)
            continue;
        if (evs[i].events & EPOLLOUT) {
            hn_ws_flush(&c->ws);
            conn_watch(L, c);
        }
        if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !conn_input(L, c))
            conn_lost(L, c);
    }
}

/*
 * Release the chunks that are due; the emit time of a chunk's events is the release's send.
 * Returns the earliest next release (INT64_MAX: none waits).
 */
static int64_t pace(struct load *L, struct slot *s, int64_t now)
{
    if (s->state != S_RUNNING || !s->chunk_len || !s->pacing)
        return INT64_MAX;
    while (s->next_chunk < s->nchunks && now >= s->next_release_us) {
        int64_t first = s->chunk_first[s->next_chunk];
        /* a refresh's second half waits for its refresher (its releases would count early) */
        if (s->type == RT_REFRESH && first >= s->half && s->rphase != R_SECOND)
            return INT64_MAX;
        release(L, s, "e");
        for (int64_t i = first; i < first + s->chunk_len && (size_t)i < s->nemit; i++)
            s->emit_us[i] = now;
        s->next_chunk++;
        s->next_release_us += s->period_us;
        if (s->next_release_us < now - 50 * s->period_us)
            s->next_release_us = now; /* far behind (an overloaded box): no burst to catch up */
    }
    return s->next_chunk < s->nchunks ? s->next_release_us : INT64_MAX;
}

/* ---- setup, the loop, the report ----------------------------------------------------------- */

/* The idle connections, and the gateway's RSS before and after them. 0, or -1 with *err. */
static int open_idle(struct load *L, char **err)
{
    if (L->t->pid > 0)
        L->rss_before_idle_kib = proc_kib(L->t->pid, "VmRSS");
    for (int i = 0; i < L->cfg.idle && !g_signal; i++) {
        if (!conn_open(L, CK_IDLE, -1, 0, err))
            return -1;
        if (i % 64 == 63)
            pump(L, 0); /* answer the pings of those already open */
    }
    for (int64_t until = wc_now_ms() + 300; wc_now_ms() < until;)
        pump(L, 50); /* let the gateway settle before its RSS is read */
    if (L->t->pid > 0)
        L->rss_after_idle_kib = proc_kib(L->t->pid, "VmRSS");
    return 0;
}

static int setup(struct load *L)
{
    char *err = NULL;
    int F = L->cfg.fanout;

    L->t = hn_target_load(L->cfg.target ? L->cfg.target : "reference", &err);
    if (!L->t) {
        fprintf(stderr, "gwspec load: target: %s\n", err);
        free(err);
        return 2;
    }
    const char *dialect = wc_json_str(L->t->profile, "dialect");
    if (L->t->client_role || (dialect && strncmp(dialect, "chatgw/", 7))) {
        fprintf(stderr, "gwspec load: target %s %s: the load speaks chatgw/1 to a gateway\n",
                L->t->name,
                L->t->client_role ? "is a client (role: client)" : "speaks another dialect");
        return 2;
    }
    if (!hn_target_has_provider(L->t, L->cfg.provider)) {
        fprintf(stderr, "gwspec load: target %s does not declare provider %s\n", L->t->name,
                L->cfg.provider);
        return 2;
    }
    if (L->cfg.mutant) {
        if (!hn_target_spawns(L->t)) {
            fprintf(stderr, "gwspec load: --mutant needs a target the harness starts\n");
            return 2;
        }
        if (hn_target_check_mutant(L->t, L->cfg.mutant, &err) != 0) {
            fprintf(stderr, "gwspec load: --mutant: %s\n", err);
            free(err);
            return 2;
        }
        L->t->mutant = wc_xstrdup(L->cfg.mutant);
    }
    L->t->seed = L->cfg.seed;
    if (hn_target_start(L->t, 20000, &err) != 0) {
        fprintf(stderr, "gwspec load: target %s unreachable: %s\n", L->t->name, err);
        free(err);
        return 3;
    }
    const char *tok = hn_target_token(L->t, NULL);
    L->url = tok ? wc_xasprintf("%s?token=%s", L->t->ws_path, tok) : wc_xstrdup(L->t->ws_path);
    L->ctl = hn_ctl_new(on_ctl, L, &err);
    if (!L->ctl) {
        fprintf(stderr, "gwspec load: control channel: %s\n", err);
        free(err);
        return 3;
    }
    snprintf(L->case_token, sizeof(L->case_token), "load#%04llx",
             (unsigned long long)(wc_rand_next(&L->rng) & 0xffff));
    hn_ctl_set_case(L->ctl, L->case_token);
    snprintf(L->ctl_addr, sizeof(L->ctl_addr), "127.0.0.1:%d", hn_ctl_port(L->ctl));
    L->ep = epoll_create1(EPOLL_CLOEXEC);

    struct conn **senders = wc_xcalloc((size_t)L->cfg.clients, sizeof(*senders));
    for (int i = 0; i < L->cfg.clients; i++) {
        senders[i] = conn_open(L, CK_SENDER, -1, 0, &err);
        if (!senders[i])
            goto io;
    }
    L->slots = wc_xcalloc((size_t)L->cfg.concurrency, sizeof(*L->slots));
    for (int i = 0; i < L->cfg.concurrency; i++) {
        struct slot *s = &L->slots[i];
        json_t *reply = NULL;
        char *pp = wc_xasprintf("/tmp/gwspec/load/s%d", i);
        s->id = i;
        snprintf(s->label, sizeof(s->label), "L%d", i);
        s->sender = senders[i % L->cfg.clients];
        s->views = wc_xcalloc((size_t)F + 1, sizeof(*s->views));
        s->obs = wc_xcalloc((size_t)F, sizeof(*s->obs));
        int rc = hn_target_create_session(L->t, NULL, L->cfg.provider, pp, 10000, &s->session,
                                          &reply, &err);
        free(pp);
        json_decref(reply);
        if (rc != 0) {
            free(senders);
            fprintf(stderr, "gwspec load: creating session %d: %s\n", i, err);
            free(err);
            return 3;
        }
        for (int v = 1; v < F; v++) {
            s->obs[v - 1] = conn_open(L, CK_OBSERVER, i, v, &err);
            if (!s->obs[v - 1])
                goto io;
        }
    }
    free(senders);
    senders = NULL;
    if (L->cfg.idle && open_idle(L, &err) != 0)
        goto io;
    return 0;
io:
    free(senders);
    fprintf(stderr, "gwspec load: connecting to %s: %s\n", L->t->name, err);
    free(err);
    return 3;
}

static void progress(const struct load *L, bool final)
{
    double el = (double)(wc_now_ms() - L->t0_ms) / 1000.0;
    int64_t done = 0;
    for (int i = 0; i < RT_N; i++)
        done += L->runs_done[i];
    fprintf(
        stderr,
        "\r  %6.1f s  runs %" PRId64 "  events %" PRId64 " (%.0f/s)  violations %" PRId64 "   %s",
        el, done, L->events, el > 0 ? (double)L->events / el : 0.0, L->nviol, final ? "\n" : "");
}

/* The CPU seconds this process has used. */
static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void loop(struct load *L)
{
    bool tty = isatty(STDERR_FILENO);
    int64_t next_progress = 0;

    L->t0_ms = wc_now_ms();
    L->self_cpu0 = self_cpu();
    if (L->t->pid > 0)
        L->cpu0_ticks = proc_cpu_ticks(L->t->pid);
    for (;;) {
        int64_t now = wc_now_ms();
        if (g_signal)
            break;
        if (!L->stopping && ((L->cfg.duration_ms && now - L->t0_ms >= L->cfg.duration_ms) ||
                             (L->cfg.runs && L->runs_started >= L->cfg.runs))) {
            L->stopping = true;
            L->stop_ms = now;
        }
        bool busy = false;
        for (int i = 0; i < L->cfg.concurrency; i++) {
            struct slot *s = &L->slots[i];
            if (s->state == S_RUNNING) {
                bool all = s->done && (s->type != RT_REFRESH || s->rphase == R_SECOND);
                for (int v = 0; all && v <= L->cfg.fanout; v++)
                    if (s->views[v].attached && !s->views[v].terminal)
                        all = false;
                if (all) {
                    finish_run(L, s, true);
                } else if (s->done && now - s->done_ms > END_GRACE_MS) {
                    finish_run(L, s, true);
                } else if (now - s->start_ms > L->cfg.run_timeout_ms) {
                    violation_text(L, s, "the run", NULL,
                                   wc_xasprintf("the run did not end within %" PRId64
                                                " ms (--run-timeout-ms)",
                                                L->cfg.run_timeout_ms));
                    finish_run(L, s, false);
                    s->state = S_DEAD; /* its session may still be busy */
                }
            }
            if (s->state == S_IDLE && !L->stopping && s->sender &&
                !(L->cfg.runs && L->runs_started >= L->cfg.runs))
                start_run(L, s);
            if (s->state == S_RUNNING)
                busy = true;
        }
        if (L->stopping && (!busy || now - L->stop_ms > L->cfg.run_timeout_ms))
            break;
        if (!busy && !L->stopping && L->cfg.concurrency > 0) {
            bool any = false; /* every slot dead: nothing left to do */
            for (int i = 0; i < L->cfg.concurrency; i++)
                any |= L->slots[i].state != S_DEAD;
            if (!any)
                break;
        }
        int64_t due = INT64_MAX, nus = wc_now_us();
        for (int i = 0; i < L->cfg.concurrency; i++) {
            int64_t d = pace(L, &L->slots[i], nus);
            if (d < due)
                due = d;
        }
        int wait = due == INT64_MAX ? 20 : (int)((due - nus) / 1000);
        pump(L, wait < 0 ? 0 : wait > 20 ? 20 : wait);
        if (tty && now >= next_progress) {
            progress(L, false);
            next_progress = now + 500;
        }
    }
    L->t_end_ms = wc_now_ms();
    for (int i = 0; i < L->cfg.concurrency; i++)
        if (L->slots[i].state == S_RUNNING)
            L->unfinished++;
    if (tty)
        progress(L, true);
}

static json_t *pct_json(const struct hn_hist *h)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:f}", "n", (json_int_t)h->count, "p50",
                     (json_int_t)hn_hist_pct(h, 50), "p99", (json_int_t)hn_hist_pct(h, 99), "p99_9",
                     (json_int_t)hn_hist_pct(h, 99.9), "max", (json_int_t)h->max, "mean",
                     h->count ? h->sum / (double)h->count : 0.0);
}

static void us_text(char *buf, size_t n, int64_t us)
{
    if (us < 1000)
        snprintf(buf, n, "%" PRId64 " us", us);
    else
        snprintf(buf, n, "%.2f ms", (double)us / 1000.0);
}

/* The console table of the report. */
static void print_table(const struct load *L, double secs, double cpu, int64_t hwm, double hc,
                        bool interrupted)
{
    int64_t done = L->runs_done[0] + L->runs_done[1] + L->runs_done[2];
    char a[32], b[32], c[32], d[32];

    printf("gwspec load: target %s%s%s, %d client(s), %d concurrent run(s), fan-out %d, %d "
           "idle, %.2f s%s\n",
           L->t->name, L->cfg.mutant ? " --mutant " : "", L->cfg.mutant ? L->cfg.mutant : "",
           L->cfg.clients, L->cfg.concurrency, L->cfg.fanout, L->cfg.idle, secs,
           interrupted ? " (interrupted: a partial report)" : "");
    printf("  %-22s %" PRId64 " completed (stream %" PRId64 ", abort %" PRId64 ", refresh %" PRId64
           "), %" PRId64 " unfinished\n",
           "runs", done, L->runs_done[0], L->runs_done[1], L->runs_done[2], L->unfinished);
    printf("  %-22s %.0f/s (%" PRId64 " run events of %" PRId64 " bytes on every socket)\n",
           "events delivered", (double)L->events / secs, L->events, L->cfg.bytes);
    printf("  %-22s %.0f/s (%" PRId64 ")\n", "frames delivered", (double)L->frames / secs,
           L->frames);
    if (L->cfg.rate) {
        us_text(a, sizeof(a), hn_hist_pct(&L->lat, 50));
        us_text(b, sizeof(b), hn_hist_pct(&L->lat, 99));
        us_text(c, sizeof(c), hn_hist_pct(&L->lat, 99.9));
        us_text(d, sizeof(d), L->lat.max);
        printf("  %-22s p50 %s  p99 %s  p99.9 %s  max %s (%" PRIu64 " samples, %" PRId64
               " unstamped)\n",
               "emit->receive", a, b, c, d, L->lat.count, L->unstamped);
    } else {
        printf("  %-22s n/a without --rate (the emit time is the harness's release)\n",
               "emit->receive");
    }
    us_text(a, sizeof(a), hn_hist_pct(&L->first, 50));
    us_text(b, sizeof(b), hn_hist_pct(&L->first, 99));
    us_text(d, sizeof(d), L->first.max);
    printf("  %-22s p50 %s  p99 %s  max %s (%" PRIu64 " runs)\n", "chat.send->first event", a, b, d,
           L->first.count);
    us_text(a, sizeof(a), hn_hist_pct(&L->setup, 50));
    us_text(b, sizeof(b), hn_hist_pct(&L->setup, 99));
    us_text(d, sizeof(d), L->setup.max);
    printf("  %-22s p50 %s  p99 %s  max %s (%" PRIu64 " connections)\n", "connection setup", a, b,
           d, L->setup.count);
    if (hwm >= 0)
        printf("  %-22s peak RSS %.1f MiB, CPU %.2f s (%.0f%% of one core)\n", "gateway",
               (double)hwm / 1024.0, cpu, cpu >= 0 ? 100.0 * cpu / secs : 0.0);
    else
        printf("  %-22s not started by the harness: no RSS or CPU\n", "gateway");
    if (L->cfg.idle && L->rss_after_idle_kib > 0)
        printf("  %-22s %.2f KiB each (RSS %" PRId64 " -> %" PRId64 " KiB)\n", "idle connections",
               (double)(L->rss_after_idle_kib - L->rss_before_idle_kib) / L->cfg.idle,
               L->rss_before_idle_kib, L->rss_after_idle_kib);
    printf("  %-22s CPU %.2f s (%.0f%% of one core; near 100%%: the figures are the "
           "harness's limit)\n",
           "harness", hc, 100.0 * hc / secs);
    printf("  %-22s %" PRId64 "%s\n", "violations", L->nviol,
           L->nviol > MAX_WITNESSES ? " (the first 20 printed above)" : "");
    fflush(stdout);
}

static json_t *report(struct load *L, bool interrupted)
{
    double secs = (double)(L->t_end_ms - L->t0_ms) / 1000.0;
    int64_t done = L->runs_done[0] + L->runs_done[1] + L->runs_done[2];
    long ticks = sysconf(_SC_CLK_TCK);
    double cpu = -1;
    int64_t hwm = -1;

    if (secs <= 0)
        secs = 0.001;
    if (L->t->pid > 0) {
        long t1 = proc_cpu_ticks(L->t->pid);
        if (t1 >= 0 && L->cpu0_ticks >= 0)
            cpu = (double)(t1 - L->cpu0_ticks) / (double)ticks;
        hwm = proc_kib(L->t->pid, "VmHWM");
    }
    json_t *r = json_pack(
        "{s:s, s:s?, s:{s:i, s:i, s:i, s:I, s:I, s:i, s:I, s:I, s:b, s:{s:i, s:i, s:i}}, s:f, "
        "s:b}",
        "target", L->t->name, "mutant", L->cfg.mutant, "config", "clients", L->cfg.clients,
        "concurrency", L->cfg.concurrency, "fanout", L->cfg.fanout, "events",
        (json_int_t)L->cfg.events, "bytes", (json_int_t)L->cfg.bytes, "idle", L->cfg.idle, "rate",
        (json_int_t)L->cfg.rate, "seed", (json_int_t)(L->cfg.seed >> 1), "complete_twice",
        L->cfg.complete_twice, "mix", "stream", L->cfg.weights[0], "abort", L->cfg.weights[1],
        "refresh", L->cfg.weights[2], "seconds", secs, "interrupted", interrupted);
    json_object_set_new(
        r, "runs",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "started", (json_int_t)L->runs_started,
                  "completed", (json_int_t)done, "stream", (json_int_t)L->runs_done[0], "abort",
                  (json_int_t)L->runs_done[1], "refresh", (json_int_t)L->runs_done[2], "unfinished",
                  (json_int_t)L->unfinished));
    json_object_set_new(r, "events_delivered", json_integer(L->events));
    json_object_set_new(r, "frames_delivered", json_integer(L->frames));
    json_object_set_new(r, "events_emitted", json_integer(L->emitted));
    json_object_set_new(r, "events_per_s", json_real((double)L->events / secs));
    json_object_set_new(r, "frames_per_s", json_real((double)L->frames / secs));
    json_t *lat = pct_json(&L->lat);
    json_object_set_new(lat, "unstamped", json_integer(L->unstamped));
    json_object_set_new(lat, "unit", json_string("us"));
    json_object_set_new(lat, "emit_time",
                        json_string("the harness's send of the control-channel release of the "
                                    "event's barrier (--rate only), CLOCK_MONOTONIC"));
    json_object_set_new(r, "latency_us", lat);
    json_object_set_new(r, "connect_us", pct_json(&L->setup));
    json_object_set_new(r, "send_to_first_event_us", pct_json(&L->first));
    json_t *g = json_pack("{s:I}", "pid", (json_int_t)L->t->pid);
    if (hwm >= 0)
        json_object_set_new(g, "peak_rss_kib", json_integer(hwm));
    if (cpu >= 0) {
        json_object_set_new(g, "cpu_s", json_real(cpu));
        json_object_set_new(g, "cpu_pct", json_real(100.0 * cpu / secs));
    }
    if (L->cfg.idle && L->rss_after_idle_kib > 0) {
        json_object_set_new(g, "rss_before_idle_kib", json_integer(L->rss_before_idle_kib));
        json_object_set_new(g, "rss_after_idle_kib", json_integer(L->rss_after_idle_kib));
        json_object_set_new(
            g, "kib_per_idle_conn",
            json_real((double)(L->rss_after_idle_kib - L->rss_before_idle_kib) / L->cfg.idle));
    }
    json_object_set_new(r, "gateway", g);
    double hc = self_cpu() - L->self_cpu0;
    json_object_set_new(r, "harness",
                        json_pack("{s:f, s:f}", "cpu_s", hc, "cpu_pct", 100.0 * hc / secs));
    json_object_set_new(r, "violations", json_integer(L->nviol));
    json_object_set_new(r, "witnesses", json_incref(L->viol));

    print_table(L, secs, cpu, hwm, hc, interrupted);
    return r;
}

static void teardown(struct load *L)
{
    for (size_t i = 0; i < L->nconns; i++)
        if (L->conns[i])
            conn_close(L, L->conns[i]);
    free(L->conns);
    if (L->slots) {
        for (int i = 0; i < L->cfg.concurrency; i++) {
            struct slot *s = &L->slots[i];
            hn_live_run_release(&s->live);
            for (int v = 0; v <= L->cfg.fanout && s->views; v++)
                hn_live_view_release(&s->views[v]);
            free(s->views);
            free(s->obs);
            free(s->emit_us);
            free(s->chunk_first);
            free(s->session);
        }
        free(L->slots);
    }
    if (L->ep > 0)
        close(L->ep);
    hn_ctl_free(L->ctl);
    hn_target_free(L->t);
    free(L->url);
    json_decref(L->viol);
}

/* Room for the sockets (the spawned gateway inherits it): the open-file limit raised to what
 * is wanted, the hard limit too when the process may. */
static void raise_nofile(int want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < (rlim_t)want) {
        struct rlimit up = {.rlim_cur = (rlim_t)want, .rlim_max = (rlim_t)want};
        if (rl.rlim_max >= (rlim_t)want || setrlimit(RLIMIT_NOFILE, &up) != 0) {
            rl.rlim_cur = rl.rlim_max; /* the hard limit stays (raising it needs privilege) */
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)want)
        fprintf(stderr,
                "gwspec load: warning: %d sockets wanted, the open-file limit is %llu "
                "(ulimit -n)\n",
                want, (unsigned long long)rl.rlim_cur);
}

int hn_cmd_load(int argc, char **argv)
{
    struct load L = {.ep = -1};
    int rc = parse_args(argc, argv, &L.cfg);

    if (rc == 1)
        return 0;
    if (rc)
        return rc;
    hn_reap_install();
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    raise_nofile(L.cfg.clients + L.cfg.concurrency * (L.cfg.fanout + 1) + L.cfg.idle + 64);
    wc_rand_init(&L.rng, L.cfg.seed);
    hn_hist_init(&L.lat);
    hn_hist_init(&L.setup);
    hn_hist_init(&L.first);
    L.viol = json_array();
    rc = setup(&L);
    if (rc == 0) {
        loop(&L);
        json_t *r = report(&L, g_signal != 0);
        if (L.cfg.json && json_dump_file(r, L.cfg.json, JSON_INDENT(2)) != 0) {
            fprintf(stderr, "gwspec load: cannot write %s\n", L.cfg.json);
            rc = 3;
        }
        json_decref(r);
        if (!rc)
            rc = g_signal ? 3 : L.nviol ? 1 : 0;
    } else if (g_signal) {
        rc = 3;
    }
    if (g_signal)
        fprintf(stderr, "gwspec load: stopped by signal %d\n", (int)g_signal);
    teardown(&L);
    return rc;
}
