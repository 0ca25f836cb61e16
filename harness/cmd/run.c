/*
 * run.c: orchestration of `gwspec run` (see run.h).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/run.h"
#include "check/coverage.h"
#include "check/verdict.h"
#include "cmd/cmd_check.h"
#include "exec/budget.h"
#include "exec/reap.h"
#include "exec/runner.h"
#include "exec/target.h"
#include "model/casedir.h"
#include "model/msgcat.h"
#include "model/scenario.h"
#include "report/report.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_io.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"
#include "wc_banned.h"

uint64_t hn_case_seed(uint64_t run_seed, const char *case_id)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    struct wc_rand r;
    for (const unsigned char *p = (const unsigned char *)case_id; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    wc_rand_init(&r, run_seed ^ h);
    return wc_rand_next(&r) & 0x7fffffffffffffffULL;
}

static char *shell_quote(const char *s)
{
    bool plain = *s != '\0';
    for (const char *p = s; *p; p++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,@%", *p))
            plain = false;
    }
    if (plain)
        return wc_xstrdup(s);
    struct wc_buf b;
    wc_buf_init(&b, 0);
    wc_buf_adds(&b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            wc_buf_adds(&b, "'\\''");
        else
            wc_buf_add(&b, p, 1);
    }
    wc_buf_adds(&b, "'");
    return wc_buf_detach(&b, NULL);
}

static void add_opt(struct wc_buf *b, const char *opt, const char *value)
{
    char *q = shell_quote(value);
    wc_buf_addf(b, " %s %s", opt, q);
    free(q);
}

static void add_opts(struct wc_buf *b, const char *opt, const json_t *values)
{
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        if (json_is_string(v))
            add_opt(b, opt, json_string_value(v));
    }
}

/* "<prog> run --seed N" and the options that decide how cases behave, for both rerun lines. */
static void rerun_prefix(struct wc_buf *b, const struct hn_run_cfg *cfg, uint64_t seed, bool strict)
{
    wc_buf_init(b, 0);
    wc_buf_addf(b, "%s run --seed %llu", cfg->progname, (unsigned long long)seed);
    if (cfg->target)
        add_opt(b, "--target", cfg->target);
    if (cfg->mutant)
        add_opt(b, "--mutant", cfg->mutant);
    if (strict)
        wc_buf_adds(b, " --strict");
    if (cfg->timeout_ms > 0)
        wc_buf_addf(b, " --timeout-ms %lld", (long long)cfg->timeout_ms);
    if (cfg->max_case_bytes != HN_MAX_CASE_BYTES_DEFAULT)
        wc_buf_addf(b, " --max-case-bytes %llu", (unsigned long long)cfg->max_case_bytes);
    if (cfg->spec_version && strcmp(cfg->spec_version, "chatgw/1.0"))
        add_opt(b, "--spec-version", cfg->spec_version);
}

/* The command that reruns one case with the same seed. New string. */
static char *rerun_line(const struct hn_run_cfg *cfg, uint64_t seed, const struct hn_case *c)
{
    struct wc_buf b;

    rerun_prefix(&b, cfg, seed, c->strict);
    if (c->matrix)
        add_opt(&b, "--filter", c->id);
    char *q = shell_quote(c->file);
    wc_buf_addf(&b, " %s", q);
    free(q);
    return wc_buf_detach(&b, NULL);
}

/* The command that reruns the whole selection with the same seed (run["rerun"]). New string. */
static char *run_rerun_line(const struct hn_run_cfg *cfg, uint64_t seed)
{
    struct wc_buf b;

    rerun_prefix(&b, cfg, seed, cfg->strict);
    if (cfg->shard_n > 0)
        wc_buf_addf(&b, " --shard %d/%d", cfg->shard_k, cfg->shard_n);
    if (cfg->repeat > 1)
        wc_buf_addf(&b, " --repeat %d", cfg->repeat);
    if (cfg->baseline)
        add_opt(&b, "--baseline", cfg->baseline);
    add_opts(&b, "--filter", cfg->filters);
    add_opts(&b, "--exclude", cfg->excludes);
    add_opts(&b, "--tag", cfg->tags);
    add_opts(&b, "--req", cfg->reqs);
    for (size_t i = 0; i < cfg->ncases; i++) {
        char *q = shell_quote(cfg->cases[i]);
        wc_buf_addf(&b, " %s", q);
        free(q);
    }
    return wc_buf_detach(&b, NULL);
}

/* The command line as typed: the program, then every argument shell-quoted. New string. */
static char *command_line(const struct hn_run_cfg *cfg)
{
    struct wc_buf b;

    wc_buf_init(&b, 0);
    wc_buf_adds(&b, cfg->progname ? cfg->progname : "gwspec");
    for (int i = 0; i < cfg->argc; i++) {
        char *q = shell_quote(cfg->argv[i]);
        wc_buf_addf(&b, " %s", q);
        free(q);
    }
    return wc_buf_detach(&b, NULL);
}

struct job {
    const struct hn_case *c;
    uint64_t seed;  /* the run seed for this repetition */
    int repetition; /* 1..repeat */
    char *rerun;
    size_t user_set; /* the target's user set it runs with (hn_target_use_user_set) */
};

struct worker {
    pid_t pid;
    int fd;
    struct wc_buf out;
    struct job *job;
};

struct ctx {
    const struct hn_run_cfg *cfg;
    const struct hn_spec *spec;
    const struct hn_msgcat *cat;
    struct hn_target *target;
    json_t *cases; /* results, in completion order */
    bool stop;     /* --fail-fast: a case FAILED or was ERROR; start no other */
    const struct hn_baseline *baseline; /* or NULL: marks each case known as it ends */
    size_t njobs;                       /* for the [n/N] progress line on a terminal */
    bool progress;                      /* stdout is a terminal: keep a progress line */
};

static json_t *run_job(struct ctx *x, struct job *j)
{
    struct hn_runner_opts o = {
        .seed = hn_case_seed(j->seed, j->c->id),
        .timeout_ms = x->cfg->timeout_ms,
        .spec = x->spec,
        .spec_version = x->cfg->spec_version,
        .dialect = hn_dialect_for(x->cfg->spec_version),
        .catalog = x->cat,
        .rerun = j->rerun,
        .max_case_bytes = x->cfg->max_case_bytes,
    };
    json_t *r = hn_runner_run(j->c, x->target, &o);
    /* Only the JSON report keeps a passing case's transcript (JUnit, HTML and -v show those of
     * failures): without --json it is dropped at once, before it crosses the worker pipe, so
     * the harness does not hold every transcript of the run. */
    if (!x->cfg->json_dir &&
        !strcmp(wc_json_str(r, "verdict") ? wc_json_str(r, "verdict") : "", "OK"))
        json_object_del(r, "transcript");
    return r;
}

/* Every failure that names a requirement gets its "witness_key" (verdict.h): what a baseline
 * entry names to excuse it, printed with the failure so an entry can be written from it. */
static void add_witness_keys(json_t *result)
{
    size_t i;
    json_t *f;

    json_array_foreach(json_object_get(result, "failures"), i, f)
    {
        if (wc_json_str(f, "requirement") && !json_object_get(f, "witness_key")) {
            char *key = hn_baseline_witness_key(f);
            json_object_set_new(f, "witness_key", json_string(key));
            free(key);
        }
    }
}

/* Every step failure gets "line": where its step is in the case file (1-based). */
static void add_step_lines(json_t *result, const struct hn_case *c)
{
    size_t i;
    json_t *f, *step;

    json_array_foreach(json_object_get(result, "failures"), i, f)
    {
        step = json_object_get(f, "step");
        if (json_is_integer(step) && json_integer_value(step) >= 0) {
            json_int_t line =
                json_integer_value(json_array_get(c->step_lines, (size_t)json_integer_value(step)));
            if (line > 0)
                json_object_set_new(f, "line", json_integer(line));
        }
    }
}

static void finished(struct ctx *x, const struct job *j, json_t *result)
{
    json_object_set_new(result, "repetition", json_integer(j->repetition));
    add_witness_keys(result);
    add_step_lines(result, j->c);
    if (j->c->description && !json_object_get(result, "description"))
        json_object_set_new(result, "description", json_string(j->c->description));
    if (j->c->expectation && !json_object_get(result, "expectation"))
        json_object_set_new(result, "expectation", json_string(j->c->expectation));
    hn_failures_charge(result);
    if (x->baseline)
        hn_baseline_apply_case(x->baseline, result);
    if (x->progress)
        hn_report_console_progress_clear(stdout);
    hn_report_console_case(stdout, result, x->cfg->verbose);
    fflush(stdout);
    const char *v = wc_json_str(result, "verdict");
    if (x->cfg->fail_fast && v && (!strcmp(v, "FAILED") || !strcmp(v, "ERROR")))
        x->stop = true;
    json_array_append_new(x->cases, result);
    if (x->progress) {
        hn_report_console_progress(stdout, x->cases, x->njobs);
        fflush(stdout);
    }
}

static void start_worker(struct ctx *x, struct worker *w, struct job *j)
{
    int p[2];
    if (pipe(p) != 0) {
        char *m = wc_xasprintf("pipe: %s", strerror(errno));
        finished(
            x, j,
            hn_runner_result_norun(j->c, "ERROR", m, hn_case_seed(j->seed, j->c->id), j->rerun));
        free(m);
        w->pid = 0;
        return;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* What the parent started is the parent's to stop: this worker's handler stops only
         * the gateways and directories the worker itself starts. */
        hn_reap_forget_all();
        /* A harness killed outright: the worker's own handler still stops what it started. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        close(p[0]);
        hn_target_use_user_set(x->target, j->user_set);
        json_t *r = run_job(x, j);
        /* One buffer, written whole: json_dumpfd would make a write(2) per token. */
        char *s = json_dumps(r, JSON_COMPACT);
        int ok = s && wc_write_all(p[1], s, strlen(s)) == 0;
        close(p[1]);
        _exit(ok ? 0 : 1);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        char *m = wc_xasprintf("fork: %s", strerror(errno));
        finished(
            x, j,
            hn_runner_result_norun(j->c, "ERROR", m, hn_case_seed(j->seed, j->c->id), j->rerun));
        free(m);
        w->pid = 0;
        return;
    }
    hn_reap_add_worker(pid);
    w->pid = pid;
    w->fd = p[0];
    w->job = j;
    wc_buf_init(&w->out, 0);
}

static void reap_worker(struct ctx *x, struct worker *w)
{
    int status = 0;
    json_t *r = NULL;
    waitpid(w->pid, &status, 0);
    hn_reap_remove_worker(w->pid);
    close(w->fd);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        r = json_loadb(w->out.buf, w->out.len, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(r)) {
        json_decref(r);
        char *m =
            WIFSIGNALED(status)
                ? wc_xasprintf("the worker running this case crashed (signal %d)", WTERMSIG(status))
                : wc_xasprintf("the worker running this case failed (status %d)",
                               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        r = hn_runner_result_norun(w->job->c, "ERROR", m, hn_case_seed(w->job->seed, w->job->c->id),
                                   w->job->rerun);
        free(m);
    }
    wc_buf_release(&w->out);
    w->pid = 0;
    finished(x, w->job, r);
}

/*
 * Isolation on a shared gateway. A case without own_users runs with user set 0, beside any
 * other such case: the default `ignore` skips broadcasts, and everything else it sees answers
 * its own sockets or its own sessions. A case with own_users (it observes broadcasts or a
 * per-user listing) takes a pool set that no running case holds; when the target has no pool
 * (or no multi-user, so other users are no wall), it runs alone. A job that cannot start yet
 * holds back the ones after it, so the seeded order is kept.
 */
struct lease {
    bool *busy; /* per user set, [0] unused: set 0 is shared */
    size_t nsets;
    bool alone; /* a job that needs the gateway to itself is running */
};

static bool lease_take(struct lease *l, struct job *j, size_t running)
{
    if (l->alone)
        return false;
    j->user_set = 0;
    if (!j->c->own_users)
        return true;
    if (l->nsets == 1) {
        if (running > 0)
            return false;
        l->alone = true;
        return true;
    }
    for (size_t i = 1; i < l->nsets; i++) {
        if (!l->busy[i]) {
            l->busy[i] = true;
            j->user_set = i;
            return true;
        }
    }
    return false;
}

static void lease_release(struct lease *l, const struct job *j)
{
    if (!j->c->own_users)
        return;
    if (j->user_set > 0)
        l->busy[j->user_set] = false;
    else
        l->alone = false;
}

static void run_parallel(struct ctx *x, struct job *jobs, size_t njobs, int nworkers)
{
    struct worker *w = wc_xcalloc((size_t)nworkers, sizeof(*w));
    size_t next = 0, running = 0;
    struct lease lease = {.nsets = hn_target_user_sets(x->target)};

    lease.busy = wc_xcalloc(lease.nsets, sizeof(bool));
    while ((next < njobs && !x->stop) || running > 0) {
        for (int i = 0; i < nworkers && next < njobs && !x->stop; i++) {
            if (w[i].pid == 0) {
                if (!lease_take(&lease, &jobs[next], running))
                    break;
                start_worker(x, &w[i], &jobs[next++]);
                if (w[i].pid)
                    running++;
                else
                    lease_release(&lease, &jobs[next - 1]);
            }
        }
        if (!running)
            continue;
        struct pollfd fds[256];
        int idx[256];
        size_t n = 0;
        for (int i = 0; i < nworkers && n < 256; i++) {
            if (w[i].pid) {
                fds[n] = (struct pollfd){.fd = w[i].fd, .events = POLLIN};
                idx[n++] = i;
            }
        }
        if (poll(fds, n, -1) < 0 && errno != EINTR)
            break;
        for (size_t k = 0; k < n; k++) {
            if (!fds[k].revents)
                continue;
            struct worker *wk = &w[idx[k]];
            char buf[65536];
            ssize_t r = read(wk->fd, buf, sizeof(buf));
            if (r > 0) {
                wc_buf_add(&wk->out, buf, (size_t)r);
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                lease_release(&lease, wk->job);
                reap_worker(x, wk);
                running--;
            }
        }
    }
    free(lease.busy);
    free(w);
}

/* Peak resident memory in kB from /proc/PID/status (VmHWM), or -1 when unknown. */
static long long peak_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long long kb = -1;
    FILE *fp;

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    if (!(fp = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof(line), fp)) {
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1)
            break;
    }
    fclose(fp);
    return kb;
}

static json_int_t cpu_ms(const struct rusage *u)
{
    return (json_int_t)(u->ru_utime.tv_sec + u->ru_stime.tv_sec) * 1000 +
           (u->ru_utime.tv_usec + u->ru_stime.tv_usec) / 1000;
}

/* What the run cost: peak memory of the harness and of the gateway it spawned (for bench-suite),
 * CPU time of the harness with its workers (not the gateway's). */
static json_t *resources(const struct hn_target *t)
{
    struct rusage self, kids;
    json_t *r = json_object();

    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    json_object_set_new(r, "harness_peak_rss_kb", json_integer(peak_rss_kb(getpid())));
    json_object_set_new(r, "worker_peak_rss_kb", json_integer(kids.ru_maxrss));
    if (t && t->pid > 0)
        json_object_set_new(r, "gateway_peak_rss_kb", json_integer(peak_rss_kb(t->pid)));
    json_object_set_new(r, "harness_cpu_ms", json_integer(cpu_ms(&self) + cpu_ms(&kids)));
    return r;
}

static bool is_slow(const struct hn_case *c)
{
    size_t i;
    json_t *t;

    json_array_foreach(c->tags, i, t)
    {
        if (json_is_string(t) && strcmp(json_string_value(t), "slow") == 0)
            return true;
    }
    return false;
}

/* Stable partition: slow cases first, each group in its given order. */
static void slow_first(struct hn_case **sel, size_t n)
{
    struct hn_case **tmp = wc_xcalloc(n + 1, sizeof(*tmp));
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        if (is_slow(sel[i]))
            tmp[k++] = sel[i];
    for (size_t i = 0; i < n; i++)
        if (!is_slow(sel[i]))
            tmp[k++] = sel[i];
    memcpy(sel, tmp, n * sizeof(*sel));
    free(tmp);
}

static void count(json_t *run)
{
    json_t *counts = json_object();
    static const char *const names[] = {"OK",      "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED",
                                        "SKIPPED", "FAILED",     "ERROR",         NULL};
    for (size_t i = 0; names[i]; i++)
        json_object_set_new(counts, names[i], json_integer(0));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(run, "cases"), i, c)
    {
        const char *v = wc_json_str(c, "verdict");
        json_t *n = v ? json_object_get(counts, v) : NULL;
        if (n)
            json_integer_set(n, json_integer_value(n) + 1);
    }
    json_object_set_new(run, "counts", counts);
}

/* run["requirements"]: title and level of every requirement a case cites or fails (report.h). */
static void add_requirements(json_t *run, const struct hn_spec *spec)
{
    json_t *reqs = json_object(), *c, *r, *f;
    size_t i, k;

    json_array_foreach(json_object_get(run, "cases"), i, c)
    {
        json_t *ids = json_array();
        json_array_extend(ids, json_object_get(c, "spec"));
        json_array_foreach(json_object_get(c, "failures"), k, f)
        {
            if (json_object_get(f, "requirement"))
                json_array_append(ids, json_object_get(f, "requirement"));
        }
        json_array_foreach(ids, k, r)
        {
            const struct hn_req *q =
                json_is_string(r) ? hn_spec_find(spec, json_string_value(r)) : NULL;
            if (!q || json_object_get(reqs, q->id))
                continue;
            json_t *o = json_pack("{s:s}", "level", hn_level_name(q->level));
            if (q->title)
                json_object_set_new(o, "title", json_string(q->title));
            if (q->text)
                json_object_set_new(o, "text", json_string(q->text));
            json_object_set_new(reqs, q->id, o);
        }
        json_decref(ids);
    }
    json_object_set_new(run, "requirements", reqs);
}

static int report_failed(const char *opt, const char *path)
{
    fprintf(stderr, "gwspec: %s: cannot write %s: %s\n", opt, path,
            errno ? strerror(errno) : "write error");
    return 1;
}

/* run["flaky"]: the cases whose verdict differs between repetitions (--repeat), in id order,
 * each {id, verdicts: [the verdict of repetition 1, 2, ...]}. */
static void add_flaky(json_t *run, int repeat)
{
    json_t *per = json_object(), *flaky = json_array(), *c, *v;
    const char *id;
    size_t i;

    json_array_foreach(json_object_get(run, "cases"), i, c)
    {
        json_int_t rep = json_integer_value(json_object_get(c, "repetition"));
        if (!(id = wc_json_str(c, "id")) || rep < 1 || rep > repeat)
            continue;
        if (!(v = json_object_get(per, id))) {
            v = json_array();
            for (int k = 0; k < repeat; k++)
                json_array_append_new(v, json_null());
            json_object_set_new(per, id, v);
        }
        json_array_set(v, (size_t)(rep - 1), json_object_get(c, "verdict"));
    }
    json_object_foreach(per, id, v)
    {
        bool differ = false;
        for (size_t k = 1; k < json_array_size(v); k++)
            differ = differ || !json_equal(json_array_get(v, k), json_array_get(v, 0));
        if (differ)
            json_array_append_new(flaky, json_pack("{s:s, s:O}", "id", id, "verdicts", v));
    }
    /* id order, as every report lists cases */
    size_t n = json_array_size(flaky);
    for (size_t a = 1; a < n; a++) {
        for (size_t b = a; b > 0; b--) {
            json_t *x = json_array_get(flaky, b - 1), *y = json_array_get(flaky, b);
            if (hn_case_id_cmp(wc_json_str(x, "id"), wc_json_str(y, "id")) <= 0)
                break;
            json_incref(x);
            json_array_set(flaky, b - 1, y);
            json_array_set_new(flaky, b, x);
        }
    }
    json_object_set_new(run, "repeat", json_integer(repeat));
    json_object_set_new(run, "flaky", flaky);
    json_decref(per);
}

/* A whole-catalog run with MUSTs that no case cites fails (coverage.h): say which, on stderr. */
static void print_missing_musts(const json_t *run, const struct hn_spec *spec)
{
    json_t *problems = json_array(), *p;
    size_t i;

    if (hn_coverage_problems(spec, json_object_get(run, "coverage"), false, problems))
        fprintf(stderr, "gwspec: the run fails: MUST requirements of %s without a case:\n",
                spec->version);
    json_array_foreach(problems, i, p) fprintf(stderr, "  %s\n", json_string_value(p));
    json_decref(problems);
}

static void print_errs(const json_t *errs)
{
    size_t i;
    json_t *e;
    json_array_foreach(errs, i, e) fprintf(stderr, "%s\n", json_string_value(e));
}

/* The run seed: --seed, else from the clock and the pid. */
static uint64_t run_seed(const struct hn_run_cfg *cfg)
{
    struct timespec ts;

    if (cfg->seed_given)
        return cfg->seed;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 8)) %
           1000000000ULL;
}

/* Phase 1: load the case files, select (*sel, new) with s. 0, or 2 after saying why. */
static int select_cases(const struct hn_run_cfg *cfg, const struct hn_spec *spec,
                        struct hn_caselist *all, const struct hn_select *s, struct hn_case ***sel,
                        size_t *nsel)
{
    json_t *errs = json_array(), *paths = json_array();
    int rc = 0;

    const struct hn_dialect *d = hn_dialect_for(cfg->spec_version);
    if (hn_casedir_find_skip(cfg->cases, cfg->ncases, d->case_dir, d->foreign_dirs, paths, errs) !=
            0 ||
        hn_casedir_load(paths, spec, all, errs) != 0) {
        print_errs(errs);
        fprintf(stderr, "gwspec: %zu problem(s) in the case files; `gwspec lint` lists them\n",
                json_array_size(errs));
        rc = 2;
    } else if (hn_select_check_names(all, spec, s, errs) != 0) {
        size_t i;
        json_t *e;
        json_array_foreach(errs, i, e) fprintf(stderr, "gwspec: %s\n", json_string_value(e));
        rc = 2;
    } else {
        hn_casedir_select(all, s, sel, nsel);
    }
    if (rc == 0 && *nsel == 0) {
        /* A typo in a filter must not pass a CI gate: selecting nothing is a usage error. */
        char *what = hn_select_describe(s, cfg->cases, cfg->ncases);
        size_t strict_only = 0;
        if (!cfg->strict) {
            struct hn_select t = *s;
            struct hn_case **v;
            t.strict = true;
            hn_casedir_select(all, &t, &v, &strict_only);
            free(v);
        }
        fprintf(stderr, "gwspec: no case selected by %s (%zu case(s) loaded)%s\n", what, all->n,
                strict_only ? "; the only matches are strict cases: add --strict" : "");
        free(what);
        rc = 2;
    }
    json_decref(paths);
    json_decref(errs);
    return rc;
}

/* Phase 2: the target (*target, new), with the mutant and the seed, and its message catalog
 * (*cat, new; NULL with a warning when it does not load). 0, or 2 after saying why. */
static int load_target(const struct hn_run_cfg *cfg, uint64_t seed, const char *spec_dir,
                       struct hn_target **target, struct hn_msgcat **cat)
{
    char *err = NULL;
    struct hn_target *t = hn_target_load(cfg->target ? cfg->target : "reference", &err);
    int rc = 2;

    *target = t;
    if (!t) {
        fprintf(stderr, "gwspec: target: %s\n", err);
        goto out;
    }
    /* the spec version selects the dialect; a profile's `dialect` only guards against a run
     * of one dialect's cases against a gateway of another */
    const char *pd = wc_json_str(t->profile, "dialect");
    const struct hn_dialect *d = hn_dialect_for(cfg->spec_version);
    if (pd && hn_dialect_for(pd) != d) {
        fprintf(stderr,
                "gwspec: target %s speaks %s, the run %s: add --spec-version %s (the spec "
                "version chooses the dialect)\n",
                t->name, pd, d->name, hn_dialect_for(pd)->default_version);
        goto out;
    }
    if (d->wire.server_role != t->client_role) {
        fprintf(
            stderr,
            d->wire.server_role
                ? "gwspec: %s's cases test a client; target %s is a gateway (a client "
                  "profile says role: client)\n"
                : "gwspec: %s's cases test a gateway; target %s is a client (role: client): "
                  "add --spec-version of a client dialect (claude-remote/1, claude-control/1)\n",
            d->name, t->name);
        goto out;
    }
    if (cfg->mutant) {
        if (!hn_target_spawns(t) && !t->client_role) {
            fprintf(stderr, "gwspec: --mutant needs a target the harness starts\n");
            goto out;
        }
        if (hn_target_check_mutant(t, cfg->mutant, &err) != 0) {
            fprintf(stderr, "gwspec: --mutant: %s\n", err);
            goto out;
        }
        t->mutant = wc_xstrdup(cfg->mutant);
    }
    t->seed = seed;
    *cat = hn_msgcat_load(spec_dir, json_object_get(t->extensions, "kinds"),
                          json_object_get(t->extensions, "types"), &err);
    if (!*cat)
        fprintf(stderr, "gwspec: warning: message catalog: %s (catalog_valid not checked)\n", err);
    rc = 0;
out:
    free(err);
    return rc;
}

/* The jobs (new, *njobs of them): every selected case once per repetition. */
static struct job *make_jobs(const struct hn_run_cfg *cfg, struct hn_case **sel, size_t nsel,
                             uint64_t seed, int repeat, size_t *njobs)
{
    struct job *jobs = wc_xcalloc(nsel * (size_t)repeat + 1, sizeof(*jobs));

    /* With workers, cases tagged `slow` (they wait on real intervals) start first so the others
     * fill the gaps instead of leaving a tail; otherwise the seeded order is kept. */
    if (cfg->jobs > 1)
        slow_first(sel, nsel);
    for (int r = 0; r < repeat; r++) {
        for (size_t i = 0; i < nsel; i++) {
            struct job *j = &jobs[(*njobs)++];
            j->c = sel[i];
            j->seed = seed + (uint64_t)r;
            j->repetition = r + 1;
            j->rerun = rerun_line(cfg, j->seed, sel[i]);
        }
    }
    return jobs;
}

/* Every report asked for is attempted; returns how many could not be written. */
static int write_reports(const struct hn_run_cfg *cfg, const json_t *run)
{
    int unwritten = 0;

    errno = 0;
    if (cfg->junit && hn_report_junit(cfg->junit, run) != 0)
        unwritten += report_failed("--junit", cfg->junit);
    errno = 0;
    if (cfg->tap && hn_report_tap(cfg->tap, run) != 0)
        unwritten += report_failed("--tap", cfg->tap);
    errno = 0;
    if (cfg->json_dir && hn_report_json(cfg->json_dir, run) != 0)
        unwritten += report_failed("--json", cfg->json_dir);
    errno = 0;
    if (cfg->html && hn_report_html(cfg->html, run, 0) != 0)
        unwritten += report_failed("--html", cfg->html);
    return unwritten;
}

/* Phase 3: run the selection against the started target; the run record (new). */
static json_t *run_all(const struct hn_run_cfg *cfg, struct ctx *x, struct hn_case **sel,
                       size_t nsel, uint64_t seed)
{
    char started[40];
    wc_iso8601_now(started, sizeof(started));
    int64_t t0 = wc_now_ms();
    json_t *run =
        json_pack("{s:I, s:s, s:s, s:s, s:[]}", "seed", (json_int_t)seed, "target", x->target->name,
                  "spec", cfg->spec_version, "started", started, "cases");
    if (cfg->mutant)
        json_object_set_new(run, "mutant", json_string(cfg->mutant));
    char *whole = run_rerun_line(cfg, seed);
    json_object_set_new(run, "rerun", json_string(whole));
    free(whole);
    json_object_set_new(run, "version", json_string(HN_VERSION));
    if (wc_json_str(x->target->profile, "description")) /* the target and its version in words */
        json_object_set_new(run, "target_description",
                            json_string(wc_json_str(x->target->profile, "description")));
    if (cfg->argc > 0) {
        char *cmd = command_line(cfg);
        json_object_set_new(run, "command", json_string(cmd));
        free(cmd);
    }
    x->cases = json_object_get(run, "cases");
    int repeat = cfg->repeat > 0 ? cfg->repeat : 1;
    size_t njobs = 0;
    struct job *jobs = make_jobs(cfg, sel, nsel, seed, repeat, &njobs);
    x->njobs = njobs;
    x->progress = hn_report_console_is_tty(stdout);
    if (cfg->jobs > 1) {
        run_parallel(x, jobs, njobs, cfg->jobs);
    } else {
        for (size_t i = 0; i < njobs && !x->stop; i++)
            finished(x, &jobs[i], run_job(x, &jobs[i]));
    }
    if (x->progress)
        hn_report_console_progress_clear(stdout);
    if (x->stop && json_array_size(x->cases) < njobs)
        printf("gwspec: --fail-fast: stopped at the first FAILED or ERROR case; %zu case(s) not "
               "run\n",
               njobs - json_array_size(x->cases));
    for (size_t i = 0; i < njobs; i++)
        free(jobs[i].rerun);
    free(jobs);
    json_object_set_new(run, "duration_ms", json_integer(wc_now_ms() - t0));
    json_object_set_new(run, "resources", resources(x->target));
    count(run);
    add_flaky(run, repeat);
    add_requirements(run, x->spec);
    return run;
}

int hn_run(const struct hn_run_cfg *cfg)
{
    char *spec_dir = hn_spec_dir(cfg->spec_version);
    char *err = NULL;
    struct hn_spec *spec = hn_spec_load(spec_dir, &err);
    struct hn_caselist all = {0};
    struct hn_case **sel = NULL;
    size_t nsel = 0;
    struct hn_baseline *baseline = NULL;
    struct hn_msgcat *cat = NULL;
    struct hn_target *target = NULL;
    json_t *run = NULL;
    int rc = 0;

    hn_reap_install();
    size_t stale = hn_target_sweep_stale();
    if (stale)
        fprintf(stderr,
                "gwspec: removed %zu state directory(ies) left by a harness that was killed\n",
                stale);
    if (!spec) {
        fprintf(stderr, "gwspec: spec %s: %s\n", cfg->spec_version, err);
        rc = 2;
        goto out;
    }
    spec->wire = &hn_dialect_for(cfg->spec_version)->wire;
    uint64_t seed = run_seed(cfg);
    struct hn_select s = {.filters = cfg->filters,
                          .excludes = cfg->excludes,
                          .tags = cfg->tags,
                          .reqs = cfg->reqs,
                          .strict = cfg->strict,
                          .shard_k = cfg->shard_k,
                          .shard_n = cfg->shard_n,
                          .shuffle = true,
                          .seed = seed};
    rc = select_cases(cfg, spec, &all, &s, &sel, &nsel);
    if (rc != 0)
        goto out;
    printf("gwspec: %zu case(s), seed %llu\n", nsel, (unsigned long long)seed);
    fflush(stdout);
    if (cfg->baseline) {
        baseline = hn_baseline_load(cfg->baseline, &err);
        if (!baseline) {
            fprintf(stderr, "gwspec: baseline: %s\n", err);
            rc = 2;
            goto out;
        }
    }
    rc = load_target(cfg, seed, spec_dir, &target, &cat);
    if (rc != 0)
        goto out;
    if (hn_target_start(target, 20000, &err) != 0) {
        fprintf(stderr, "gwspec: target %s unreachable: %s\n", target->name, err);
        rc = 3;
        goto out;
    }
    struct ctx x = {.cfg = cfg, .spec = spec, .cat = cat, .target = target, .baseline = baseline};
    run = run_all(cfg, &x, sel, nsel, seed);
    json_object_set_new(
        run, "coverage",
        hn_coverage_compute(spec, &all, sel, nsel, json_object_get(run, "cases"),
                            hn_coverage_is_whole(&s, cfg->cases, cfg->ncases, "cases")));
    if (baseline)
        hn_baseline_apply(baseline, run);
    hn_report_console_summary(stdout, run);
    fflush(stdout);
    rc = hn_report_exit_code(run);
    print_missing_musts(run, spec);
    if (rc == 2)
        fprintf(stderr,
                "gwspec: none of the %zu case(s) was scored (every one UNIMPLEMENTED or "
                "SKIPPED on target %s): nothing was tested\n",
                nsel, target->name);
    /* One report that cannot be written makes the run a harness error (exit 3, whatever the
     * verdicts): a gate must not pass without the evidence it asked for. */
    if (write_reports(cfg, run))
        rc = 3;
out:
    json_decref(run);
    hn_target_free(target);
    hn_msgcat_free(cat);
    hn_baseline_free(baseline);
    free(sel);
    hn_caselist_release(&all);
    hn_spec_free(spec);
    free(spec_dir);
    free(err);
    return rc;
}

/* ---- gwspec report DIR: the reports of a saved --json run ------------------------------- */

static void usage_report(FILE *fp, const char *prog)
{
    fprintf(fp,
            "usage: %s report [--html FILE] [--junit FILE] [--tap FILE] DIR\n\n"
            "Write the reports of a run saved with `gwspec run --json DIR` again, from\n"
            "DIR/index.json and DIR/cases/*.json, and print its summary. Without a report\n"
            "option only the summary is printed.\n\n"
            "exit status: 0 written; 2 usage, or DIR holds no gwspec report; 3 a report\n"
            "cannot be written\n",
            prog);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The run record of a saved report: index.json's facts and every case file. New, or NULL with
 * a message on stderr. */
static json_t *load_saved_run(const char *dir)
{
    char *path = wc_xasprintf("%s/index.json", dir), *cdir = wc_xasprintf("%s/cases", dir);
    json_error_t e;
    json_t *index = json_load_file(path, 0, &e), *run = NULL, *cases, *c;
    const char *k;
    json_t *v;
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, i;

    if (!index || !wc_json_str(index, "format") ||
        strcmp(wc_json_str(index, "format"), HN_REPORT_FORMAT)) {
        fprintf(stderr, "gwspec report: %s: %s\n", path,
                index ? "not a " HN_REPORT_FORMAT " index" : e.text);
        goto out;
    }
    if (!(d = opendir(cdir))) {
        fprintf(stderr, "gwspec report: %s: %s\n", cdir, strerror(errno));
        goto out;
    }
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len > 5 && !strcmp(de->d_name + len - 5, ".json")) {
            names = wc_xrealloc(names, (n + 1) * sizeof(*names));
            names[n++] = wc_xasprintf("%s/%s", cdir, de->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    run = json_object();
    json_object_foreach(index, k, v)
    {
        if (strcmp(k, "cases") && strcmp(k, "format"))
            json_object_set(run, k, v);
    }
    cases = json_array();
    json_object_set_new(run, "cases", cases);
    for (i = 0; i < n; i++) {
        c = json_load_file(names[i], 0, &e);
        if (!c) {
            fprintf(stderr, "gwspec report: %s:%d:%d: %s\n", names[i], e.line, e.column, e.text);
            json_decref(run);
            run = NULL;
            break;
        }
        json_array_append_new(cases, c);
    }
out:
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    json_decref(index);
    free(path);
    free(cdir);
    return run;
}

int hn_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"html", required_argument, NULL, 'H'},
        {"junit", required_argument, NULL, 'J'},
        {"tap", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct hn_run_cfg cfg = {0};
    int c, rc;
    json_t *run;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H':
            cfg.html = optarg;
            break;
        case 'J':
            cfg.junit = optarg;
            break;
        case 'T':
            cfg.tap = optarg;
            break;
        case 'h':
            usage_report(stdout, "gwspec");
            return 0;
        default:
            usage_report(stderr, "gwspec");
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage_report(stderr, "gwspec");
        return 2;
    }
    run = load_saved_run(argv[optind]);
    if (!run)
        return 2;
    hn_report_console_summary(stdout, run);
    rc = write_reports(&cfg, run) ? 3 : 0;
    json_decref(run);
    return rc;
}
