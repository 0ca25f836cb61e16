/*
 * run_server.c: the server role (issue 14). The target is a client program: the harness
 * listens on a loopback port private to the case, spawns the client with that URL (its own
 * process group, killed at the end of the case), and plays a scripted server. Upgraded
 * connections are the case's `s1`, `s2`, ... in accept order; they are clients of the step
 * engine like `c1` (the same frame queues, matching, captures and transcript records), with
 * the harness on the server side of the framing (frames out unmasked).
 *
 * Steps: accept, refuse, close, drop, expect_connect, expect_no_connect, act, quiesce; `send:
 * {to: s1, frame}` and `expect: {from: s1, frame}` are the server forms of send and expect
 * (run_client.c normalises them with hn_rt_server_form).
 *
 * Transcript: `attempt` (a TCP connection the listener took, with its time since the start of
 * the case), `open` (conn sN, role server, path, headers), `refused`, `send`/`recv` on sN
 * (send: the harness's frame; recv: the client's), `close` (by `client` when the client
 * program closed, `server` when the harness did, `drop` with `side` for a TCP end without a
 * close frame), `spawn`
 * and `exit` of the client program, and `ctl`/`ctl_send` of its control channel.
 */
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "exec/runner_int.h"
#include "exec/reap.h"
#include "dialect/dialect.h"
#include "wc_banned.h"

#define CLIENT_STOP_GRACE_MS 500

/* ---- setup and teardown ------------------------------------------------------------------- */

static int spawn_client(struct rt *rt, char **argv, char **envv, char **err)
{
    char tmpl[] = "/tmp/gwspec-client-XXXXXX";
    int logfd = mkstemp(tmpl);

    if (logfd < 0) {
        *err = wc_xasprintf("cannot create the client's log: %s", strerror(errno));
        return WC_ERR_IO;
    }
    rt->clog = wc_xstrdup(tmpl);
    fflush(NULL);
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a harness killed outright takes the client along */
        if (getppid() != self)
            _exit(127);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        for (size_t i = 0; envv[i]; i++)
            putenv(envv[i]);
        execvp(argv[0], argv);
        dprintf(2, "gwspec: cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(logfd);
    if (pid < 0) {
        *err = wc_xasprintf("fork: %s", strerror(errno));
        return WC_ERR_IO;
    }
    setpgid(pid, pid);
    hn_reap_add_group(pid, NULL);
    rt->cpid = pid;
#ifdef SYS_pidfd_open
    rt->cpid_fd = (int)syscall(SYS_pidfd_open, pid, 0); /* -1 on an old kernel: found at the end */
#endif
    return 0;
}

/*
 * The listener, the variables of the profile's argv (${server_url}, ${client_ctl},
 * ${case_token}, ${time_scale}, ${token}), and the client program. 0, or an ERROR recorded.
 */
int hn_rt_server_setup(struct rt *rt)
{
    char *err = NULL, url[256], ctl[64], ts[32];

    if (hn_srv_open(&rt->srv, &err) != 0) {
        hn_rt_step_error(rt, NULL, "%s", err);
        free(err);
        return WC_ERR_IO;
    }
    rt->srv_on = true;
    char *sid = wc_xasprintf("gwspec-%016llx", (unsigned long long)wc_rand_next(&rt->rng));
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/v1/sessions/ws/%s/subscribe", rt->srv.port, sid);
    snprintf(ctl, sizeof(ctl), "127.0.0.1:%d", hn_ctl_port(rt->ctl));
    snprintf(ts, sizeof(ts), "%g", rt->t->time_scale);
    const char *token = wc_json_str(rt->t->profile, "token");
    json_t *subst = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "server_url", url, "client_ctl",
                              ctl, "case_token", rt->case_token, "time_scale", ts, "token",
                              token ? token : "", "session_id", sid);
    json_object_update(rt->vars, subst); /* the case may name them too (expect_path) */
    char **argv = hn_target_client_argv(rt->t, subst);
    char **envv = hn_target_client_env(rt->t, subst);
    json_t *av = json_array(), *ev = json_array();
    for (size_t i = 0; argv[i]; i++)
        json_array_append_new(av, json_string(argv[i]));
    for (size_t i = 0; envv[i]; i++)
        json_array_append_new(ev, json_string(envv[i]));
    int rc = spawn_client(rt, argv, envv, &err);
    json_t *srec = json_pack("{s:s, s:o, s:i, s:i}", "t", "spawn", "argv", av, "pid", (int)rt->cpid,
                             "port", rt->srv.port);
    if (json_array_size(ev))
        json_object_set(srec, "env", ev);
    json_decref(ev);
    hn_rt_add_record(rt, srec);
    hn_target_free_argv(argv);
    hn_target_free_argv(envv);
    json_decref(subst);
    free(sid);
    if (rc != 0) {
        hn_rt_step_error(rt, NULL, "starting the client: %s", err);
        free(err);
        return rc;
    }
    return 0;
}

static char *log_tail(const char *path, size_t n)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    char *buf;
    size_t len;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > (long)n)
        fseek(f, -(long)n, SEEK_END);
    else
        fseek(f, 0, SEEK_SET);
    buf = wc_xmalloc(n + 1);
    len = fread(buf, 1, n, f);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static void record_exit(struct rt *rt, int status, bool before_end)
{
    json_t *rec =
        json_pack("{s:s, s:i, s:b}", "t", "exit", "pid", (int)rt->cpid, "before_end", before_end);
    if (WIFEXITED(status))
        json_object_set_new(rec, "status", json_integer(WEXITSTATUS(status)));
    else if (WIFSIGNALED(status))
        json_object_set_new(rec, "signal", json_integer(WTERMSIG(status)));
    if (before_end) { /* it did not wait for the end of the case: say what it said */
        char *t = log_tail(rt->clog, 600);
        json_t *js = t ? json_string(t) : NULL;
        if (t)
            json_object_set_new(rec, "log_tail", js ? js : json_string("(not UTF-8)"));
        free(t);
    }
    hn_rt_add_record(rt, rec);
}

/* The pump's check: the client program exited on its own (recorded at once, with its log). */
void hn_rt_server_reap(struct rt *rt)
{
    int status = 0;
    if (waitpid(rt->cpid, &status, WNOHANG) != rt->cpid)
        return;
    rt->client_gone = true;
    rt->client_status = status;
    record_exit(rt, status, true);
    hn_rt_note(rt, "the client program exited before the end of the case");
}

/* The client exited and everything it sent has been read: no wait can be met any more. */
bool hn_rt_server_dead(const struct rt *rt)
{
    if (!rt->client_gone || hn_ctl_has(rt->ctl, "client", NULL)) /* its last lines unread */
        return false;
    for (size_t i = 0; i < rt->nclients; i++) {
        if (rt->clients[i].ws.server && rt->clients[i].state == C_OPEN)
            return false;
    }
    for (size_t i = rt->srv_taken; i < rt->srv.n; i++) {
        if (!rt->srv.at[i].hdr_len && !rt->srv.at[i].eof && rt->srv.at[i].fd >= 0)
            return false; /* a request still arriving */
    }
    return true;
}

/* Stop the client program (SIGTERM, SIGKILL after a grace period, then its whole group). */
void hn_rt_server_teardown(struct rt *rt)
{
    if (rt->cpid > 0) {
        int status = 0;
        pid_t r = rt->client_gone ? rt->cpid : waitpid(rt->cpid, &status, WNOHANG);
        bool exited_before = r == rt->cpid;
        if (!exited_before) {
            kill(rt->cpid, SIGTERM);
            int64_t deadline = wc_now_ms() + CLIENT_STOP_GRACE_MS;
            while ((r = waitpid(rt->cpid, &status, WNOHANG)) == 0 && wc_now_ms() < deadline)
                poll(NULL, 0, 5); /* teardown only: never decides a verdict */
            if (r == 0) {
                kill(-rt->cpid, SIGKILL);
                waitpid(rt->cpid, &status, 0);
            }
        }
        kill(-rt->cpid, SIGKILL); /* whatever it left in its group */
        hn_reap_remove_group(rt->cpid);
        if (!rt->client_gone)
            record_exit(rt, status, exited_before);
        rt->cpid = 0;
    }
    if (rt->cpid_fd >= 0)
        close(rt->cpid_fd);
    rt->cpid_fd = -1;
    if (rt->clog) {
        unlink(rt->clog);
        free(rt->clog);
        rt->clog = NULL;
    }
    if (rt->srv_on)
        hn_srv_close(&rt->srv);
    rt->srv_on = false;
}

/* New attempts the pump took in (the last `added` of them): one `attempt` record each. */
void hn_rt_server_attempts(struct rt *rt, size_t added)
{
    for (size_t i = rt->srv.n - added; i < rt->srv.n; i++) {
        struct hn_srv_attempt *a = &rt->srv.at[i];
        a->rec_n =
            hn_rt_add_record(rt, json_pack("{s:s, s:i}", "t", "attempt", "attempt", (int)i + 1));
    }
}

/* `send: {to: s1, frame: F}` / `expect: {from: s1, frame: P}` as {s1: F}; NULL when v is the
 * client-side form. */
json_t *hn_rt_server_form(const json_t *v, const char *side_key)
{
    const char *who = wc_json_str(v, side_key);
    json_t *f = json_object_get(v, "frame");

    if (!who || !f)
        return NULL;
    return json_pack("{s:O}", who, f);
}

/* The next step's clock (expect_connect) starts at the end of this one; the earliest the client
 * can have acted on it is `from`: early is judged from there. */
static void clock_from(struct rt *rt, int64_t from)
{
    int64_t now = wc_now_ms();
    hn_rt_seen_at(rt, now, from, now);
}

/* ---- accept and refuse -------------------------------------------------------------------- */

static bool cond_attempt(struct rt *rt, void *arg)
{
    (void)arg;
    if (rt->srv_taken >= rt->srv.n)
        return false;
    struct hn_srv_attempt *a = &rt->srv.at[rt->srv_taken];
    return a->hdr_len || a->eof;
}

/* The next attempt whose request is whole, taken; NULL after a failure or an error. */
static struct hn_srv_attempt *take_attempt(struct rt *rt, const json_t *step, const char *sname,
                                           json_t **req)
{
    if (hn_rt_wait_until(rt, cond_attempt, NULL, wc_now_ms() + hn_rt_timeout_of(rt)) != 0) {
        if (rt->client_gone) {
            hn_rt_step_error(rt, step, "%s: the client program exited (%s %d) before it connected",
                             sname, WIFEXITED(rt->client_status) ? "status" : "signal",
                             WIFEXITED(rt->client_status) ? WEXITSTATUS(rt->client_status)
                                                          : WTERMSIG(rt->client_status));
            return NULL;
        }
        char *m = wc_xasprintf("%s: no connection attempt within %lld ms", sname,
                               (long long)hn_rt_timeout_of(rt));
        hn_rt_step_fail(rt, step, m, NULL, NULL, NULL, 0);
        free(m);
        return NULL;
    }
    struct hn_srv_attempt *a = &rt->srv.at[rt->srv_taken++];
    a->taken = true;
    a->counted = true;
    if (rt->srv_counted < rt->srv_taken)
        rt->srv_counted = rt->srv_taken;
    if (!a->hdr_len) {
        hn_rt_step_fail(rt, step, "the client ended its connection before a whole upgrade request",
                        NULL, NULL, NULL, a->rec_n);
        close(a->fd);
        a->fd = -1;
        return NULL;
    }
    char *why = NULL;
    *req = hn_srv_parse_request(a->req.buf, a->hdr_len, &why);
    if (!*req) {
        hn_rt_step_fail(rt, step, why, NULL, NULL, NULL, a->rec_n);
        free(why);
        close(a->fd);
        a->fd = -1;
        return NULL;
    }
    return a;
}

static bool match_part(struct rt *rt, const json_t *step, const char *what, const json_t *pat_in,
                       const json_t *value, int64_t witness)
{
    char *err = NULL, *diff = NULL;
    json_t *pat = hn_expand(pat_in, &rt->scope, &err);

    if (!pat) {
        hn_rt_step_error(rt, step, "accept: %s", err);
        free(err);
        return false;
    }
    bool ok = hn_match(pat, value, &rt->scope, &diff);
    if (!ok) {
        char *m = wc_xasprintf("accept: the upgrade request's %s does not match", what);
        hn_rt_step_fail(rt, step, m, pat, value, diff, witness);
        free(m);
    }
    free(diff);
    json_decref(pat);
    return ok;
}

void hn_run_step_accept(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "accept"), *req = NULL;
    struct hn_srv_attempt *a = take_attempt(rt, step, sname, &req);
    char acc[64], name[24];

    if (!a)
        return;
    json_t *rrec = json_pack("{s:O, s:O}", "path", json_object_get(req, "path"), "headers",
                             json_object_get(req, "headers"));
    /* a client that tells its own argv (claude-control/1's CLI relay: X-Gwspec-Argv, a JSON
     * array) has it in the open record, parsed, for expect_argv and the checkers */
    const char *avh =
        json_string_value(json_object_get(json_object_get(req, "headers"), "x-gwspec-argv"));
    json_t *argv_v = avh ? json_loads(avh, 0, NULL) : NULL;
    if (argv_v && json_is_array(argv_v))
        json_object_set(rrec, "argv", argv_v);
    if (!json_is_true(json_object_get(req, "upgrade"))) {
        hn_rt_step_fail(rt, step, "accept: the request is not a WebSocket upgrade", NULL, rrec,
                        NULL, a->rec_n);
        goto refuse;
    }
    if (json_is_object(v) && json_object_get(v, "expect_path") &&
        !match_part(rt, step, "path", json_object_get(v, "expect_path"),
                    json_object_get(req, "path"), a->rec_n))
        goto refuse;
    if (json_is_object(v) && json_object_get(v, "expect_header") &&
        !match_part(rt, step, "headers", json_object_get(v, "expect_header"),
                    json_object_get(req, "headers"), a->rec_n))
        goto refuse;
    if (json_is_object(v) && json_object_get(v, "expect_argv")) {
        if (!json_is_array(argv_v)) {
            hn_rt_step_fail(rt, step,
                            "accept: the upgrade request has no X-Gwspec-Argv (a JSON array of "
                            "the client's argv)",
                            json_object_get(v, "expect_argv"), rrec, NULL, a->rec_n);
            goto refuse;
        }
        if (!match_part(rt, step, "argv (X-Gwspec-Argv)", json_object_get(v, "expect_argv"), argv_v,
                        a->rec_n))
            goto refuse;
    }
    hn_srv_accept_value(
        json_string_value(json_object_get(json_object_get(req, "headers"), "sec-websocket-key")),
        acc, sizeof(acc));
    char *resp = wc_xasprintf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                              acc);
    int wrc = hn_srv_write_all(a->fd, resp, strlen(resp), wc_now_ms() + hn_rt_timeout_of(rt));
    free(resp);
    snprintf(name, sizeof(name), "s%d", ++rt->srv_accepted);
    struct client *c = hn_rt_client_get(rt, name, true);
    hn_ws_init(&c->ws, a->fd, &rt->rng);
    c->ws.server = true;
    c->ws.no_pong = json_is_false(json_object_get(v, "pong")); /* a server whose pongs stop */
    c->ws.empty_ms = c->ws.rx_lo_ms = a->seen_ms;
    c->state = C_OPEN;
    c->ping_watch_ms = -1;
    if (a->req.len > a->hdr_len) /* frames the client wrote right after its request */
        hn_ws_feed(&c->ws, a->req.buf + a->hdr_len, a->req.len - a->hdr_len);
    a->fd = -1; /* the connection is the client's now */
    json_t *orec = json_pack("{s:s, s:s, s:s, s:i}", "t", "open", "conn", name, "role", "server",
                             "attempt", (int)(a - rt->srv.at) + 1);
    json_object_update(orec, rrec);
    if (c->ws.no_pong)
        json_object_set_new(orec, "pong", json_false());
    hn_rt_add_record(rt, orec);
    json_decref(rrec);
    json_decref(req);
    json_decref(argv_v);
    if (wrc != 0) {
        hn_rt_record_close(rt, c, "drop", 1006, "the 101 could not be written");
        hn_rt_client_finish(c);
        return;
    }
    hn_rt_client_process(rt, c); /* what came with the request */
    return;
refuse:
    (void)hn_srv_write_all(a->fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 45,
                           wc_now_ms() + 1000);
    close(a->fd);
    a->fd = -1;
    json_decref(rrec);
    json_decref(req);
    json_decref(argv_v);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    }
    return "Refused";
}

void hn_run_step_refuse(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "refuse"), *req = NULL;
    int64_t status = 401;

    wc_json_int(v, "status", &status);
    struct hn_srv_attempt *a = take_attempt(rt, step, sname, &req);
    if (!a)
        return;
    int64_t sent = wc_now_ms();
    char *resp = wc_xasprintf("HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                              (int)status, reason_phrase((int)status));
    (void)hn_srv_write_all(a->fd, resp, strlen(resp), wc_now_ms() + hn_rt_timeout_of(rt));
    free(resp);
    shutdown(a->fd, SHUT_WR);
    close(a->fd);
    a->fd = -1;
    hn_rt_add_record(rt, json_pack("{s:s, s:i, s:i, s:O}", "t", "refused", "attempt",
                                   (int)(a - rt->srv.at) + 1, "status", (int)status, "path",
                                   json_object_get(req, "path")));
    json_decref(req);
    clock_from(rt, sent);
}

/* ---- close and drop ----------------------------------------------------------------------- */

static struct client *server_conn(struct rt *rt, const json_t *step, const char *sname)
{
    const char *on = wc_json_str(json_object_get(step, sname), "on");
    if (!on)
        on = json_string_value(json_object_get(step, sname));
    struct client *c = on ? hn_rt_open_client(rt, step, on) : NULL;
    if (!c)
        return NULL;
    hn_rt_drain(rt);
    if (c->state != C_OPEN) {
        json_t *rec = hn_rt_close_value(c);
        char *m = wc_xasprintf("%s: %s is already closed", sname, c->name);
        hn_rt_step_fail(rt, step, m, NULL, rec, NULL, c->close_rec_n);
        free(m);
        json_decref(rec);
        return NULL;
    }
    return c;
}

static bool cond_closed(struct rt *rt, void *arg)
{
    (void)rt;
    return ((struct client *)arg)->state == C_CLOSED;
}

void hn_run_step_close(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "close");
    struct client *c = server_conn(rt, step, sname);
    int64_t code = 1000;

    if (!c)
        return;
    wc_json_int(v, "code", &code);
    int64_t sent = wc_now_ms(); /* the client cannot have seen the close before this */
    hn_ws_close(&c->ws, (int)code, wc_json_str(v, "reason"));
    hn_rt_flush_client(rt, c, wc_now_ms() + hn_rt_timeout_of(rt));
    hn_rt_record_close(rt, c, "client", (int)code, wc_json_str(v, "reason"));
    c->state = C_CLOSING;
    /* the client's close frame (or its end of TCP) ends it; a client that answers neither is
     * let go at the safety timeout (a note says so) */
    if (hn_rt_wait_until(rt, cond_closed, c, wc_now_ms() + hn_rt_timeout_of(rt)) != 0) {
        hn_rt_note(rt,
                   "%s: the client answered the close with neither a close frame nor the "
                   "end of TCP",
                   c->name);
        hn_rt_client_finish(c);
    }
    clock_from(rt, sent);
}

void hn_run_step_drop(struct rt *rt, const json_t *step, const char *sname)
{
    struct client *c = server_conn(rt, step, sname);

    if (!c)
        return;
    int64_t sent = wc_now_ms();
    shutdown(c->ws.fd, SHUT_RDWR);
    hn_rt_record_close(rt, c, "drop", 1006, NULL);
    hn_rt_client_finish(c);
    clock_from(rt, sent);
}

/* ---- connection timing -------------------------------------------------------------------- */

static bool cond_next_attempt(struct rt *rt, void *arg)
{
    (void)arg;
    return rt->srv_counted < rt->srv.n;
}

static int64_t scaled(const struct rt *rt, int64_t ms)
{
    double s = rt->t->time_scale > 0 ? rt->t->time_scale : 1;
    return (int64_t)((double)ms / s + 0.5);
}

/*
 * The next connection attempt after the clock started (where the previous step left it: a
 * close, a drop, a refusal), graded like the MCP suite's reconnect timing: before lo it is early
 * (FAILED, only when proven: the latest it can have come minus the earliest the clock can have
 * started), up to hi on time, up to twice hi late (NON-STRICT), later or never FAILED. Bounds are
 * divided by the profile's time_scale.
 */
void hn_run_step_expect_connect(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *am = json_object_get(json_object_get(step, "expect_connect"), "after_ms");
    int64_t lo = json_integer_value(json_array_get(am, 0)),
            hi = json_integer_value(json_array_get(am, 1));
    int64_t slo = scaled(rt, lo), shi = scaled(rt, hi), t0 = rt->mark_ms, t0_lo = rt->mark_lo_ms;
    char bound[160];

    snprintf(bound, sizeof(bound), "after_ms [%lld, %lld]%s", (long long)lo, (long long)hi, "");
    if (rt->t->time_scale != 1)
        snprintf(bound, sizeof(bound), "after_ms [%lld, %lld] at time_scale %g: [%lld, %lld] ms",
                 (long long)lo, (long long)hi, rt->t->time_scale, (long long)slo, (long long)shi);
    (void)sname;
    if (hn_rt_wait_until(rt, cond_next_attempt, NULL, t0 + 2 * shi) != 0) {
        char *m = wc_xasprintf("expect_connect: no connection attempt within twice the bound "
                               "(%s; waited %lld ms)",
                               bound, (long long)(wc_now_ms() - t0));
        hn_rt_step_fail(rt, step, m, am, NULL, NULL, 0);
        free(m);
        return;
    }
    struct hn_srv_attempt *a = &rt->srv.at[rt->srv_counted++];
    a->counted = true;
    int64_t d = a->seen_ms - t0, d_max = a->seen_ms - t0_lo;
    char *diff =
        wc_xasprintf("the attempt came %lld ms after the clock started (%s)", (long long)d, bound);
    hn_rt_seen_at(rt, a->seen_ms, a->lo_ms, a->seen_ms);
    if (d_max < slo) {
        json_t *got = json_integer(d_max);
        hn_rt_step_fail(rt, step, "expect_connect: the client reconnected early", am, got, diff,
                        a->rec_n);
        json_decref(got);
    } else if (d > 2 * shi) {
        hn_rt_step_fail(rt, step, "expect_connect: the client reconnected past twice the bound", am,
                        NULL, diff, a->rec_n);
    } else if (d > shi) {
        json_t *w = json_pack("[I]", (json_int_t)a->rec_n);
        hn_rt_add_failure(rt, step, "late", "expect_connect: the client reconnected late", am, NULL,
                          diff, w);
    }
    free(diff);
}

/* No connection attempt for for_ms (scaled) after the clock started: the bound is the spec's
 * (the client has stopped reconnecting), not a proof of forever; the note says which bound. */
void hn_run_step_expect_no_connect(struct rt *rt, const json_t *step, const char *sname)
{
    int64_t ms = 0;
    wc_json_int(json_object_get(step, "expect_no_connect"), "for_ms", &ms);
    int64_t s = scaled(rt, ms), t0 = rt->mark_ms;

    (void)sname;
    if (hn_rt_wait_until(rt, cond_next_attempt, NULL, t0 + s) == 0) {
        struct hn_srv_attempt *a = &rt->srv.at[rt->srv_counted++];
        a->counted = true;
        char *diff = wc_xasprintf("an attempt came %lld ms after the clock started; none was "
                                  "allowed for %lld ms (for_ms %lld at time_scale %g)",
                                  (long long)(a->seen_ms - t0), (long long)s, (long long)ms,
                                  rt->t->time_scale);
        hn_rt_step_fail(rt, step, "expect_no_connect: the client connected again", NULL, NULL, diff,
                        a->rec_n);
        free(diff);
        return;
    }
    hn_rt_note(rt,
               "no connection attempt for %lld ms (for_ms %lld at time_scale %g): the bound "
               "the case declares, not a proof that none would ever come",
               (long long)s, (long long)ms, rt->t->time_scale);
}

/* ---- the client control channel ----------------------------------------------------------- */

struct acted_arg {
    int id;
    size_t from;
    struct ctlmsg *found;
};

static const char *msg_type(const json_t *m)
{
    return wc_json_str(m, "t") ? wc_json_str(m, "t") : wc_json_str(m, "type");
}

static bool cond_client_ctl(struct rt *rt, void *arg)
{
    (void)arg;
    return hn_ctl_has(rt->ctl, "client", NULL);
}

static bool cond_acted(struct rt *rt, void *arg)
{
    struct acted_arg *a = arg;
    for (size_t i = a->from; i < rt->nmsgs; i++) {
        struct ctlmsg *m = &rt->msgs[i];
        json_int_t id = json_integer_value(json_object_get(m->msg, "id"));
        if (!m->consumed && !strcmp(m->label, "client") && msg_type(m->msg) &&
            !strcmp(msg_type(m->msg), "acted") && id == a->id) {
            a->found = m;
            return true;
        }
    }
    return false;
}

struct note_arg {
    json_t *pat;
    struct ctlmsg *found;
};

static bool cond_note(struct rt *rt, void *arg)
{
    struct note_arg *a = arg;
    for (size_t i = 0; i < rt->nmsgs; i++) {
        struct ctlmsg *m = &rt->msgs[i];
        char *diff = NULL;
        if (m->consumed || strcmp(m->label, "client") || !msg_type(m->msg) ||
            strcmp(msg_type(m->msg), "note"))
            continue;
        bool ok = hn_match(a->pat, m->msg, &rt->scope, &diff);
        free(diff);
        if (ok) {
            a->found = m;
            return true;
        }
    }
    return false;
}

/* act: {c: {NAME: ARGS}}: the client does NAME (client control channel), the step waits for
 * its `acted`. */
void hn_run_step_act(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(json_object_get(step, "act"), "c");
    const char *want = wc_json_str(json_object_get(step, "act"), "result");
    char *err = NULL;
    int64_t deadline = wc_now_ms() + hn_rt_timeout_of(rt);

    (void)sname;
    if (hn_rt_wait_until(rt, cond_client_ctl, NULL, deadline) != 0) {
        hn_rt_step_error(rt, step,
                         "act: the client did not say hello on the client control "
                         "channel within %lld ms",
                         (long long)hn_rt_timeout_of(rt));
        return;
    }
    json_t *an = json_object_get(json_object_get(step, "act"), "after_note");
    if (an) { /* the client's note that it is ready for the act (a prompt pending, say) */
        struct note_arg na = {.pat = hn_expand(an, &rt->scope, &err)};
        if (!na.pat) {
            hn_rt_step_error(rt, step, "act: after_note: %s", err);
            free(err);
            return;
        }
        if (hn_rt_wait_until(rt, cond_note, &na, deadline) != 0) {
            char *p = wc_json_compact(na.pat);
            char *m = wc_xasprintf("act: the client sent no note matching %s", p);
            hn_rt_step_fail(rt, step, m, na.pat, NULL, NULL, 0);
            free(m);
            free(p);
            json_decref(na.pat);
            return;
        }
        na.found->consumed = ++rt->stamp;
        json_decref(na.pat);
    }
    json_t *act = hn_expand(v, &rt->scope, &err);
    if (!act) {
        hn_rt_step_error(rt, step, "act: %s", err);
        free(err);
        return;
    }
    struct acted_arg a = {.id = ++rt->act_n, .from = rt->nmsgs};
    json_t *msg = json_pack("{s:s, s:i, s:o}", "t", "act", "id", a.id, "act", act);
    if (hn_ctl_send(rt->ctl, "client", NULL, msg) <= 0) {
        hn_rt_step_error(rt, step, "act: the client control channel is closed");
        json_decref(msg);
        return;
    }
    hn_rt_add_record(rt,
                     json_pack("{s:s, s:s, s:O}", "t", "ctl_send", "label", "client", "msg", msg));
    if (hn_rt_wait_until(rt, cond_acted, &a, deadline) != 0) {
        hn_rt_step_error(rt, step, "act: no 'acted' for act %d within %lld ms", a.id,
                         (long long)hn_rt_timeout_of(rt));
    } else {
        a.found->consumed = ++rt->stamp;
        if (!json_is_true(json_object_get(a.found->msg, "ok"))) {
            const char *e = wc_json_str(a.found->msg, "error");
            char *m = wc_xasprintf("act: the client could not do it: %s", e ? e : "no reason");
            hn_rt_step_error(rt, step, "%s", m);
            free(m);
        } else if (want && (!wc_json_str(a.found->msg, "result") ||
                            strcmp(wc_json_str(a.found->msg, "result"), want))) {
            char *m = wc_xasprintf("act: the client reported '%s', the case expects '%s'",
                                   wc_json_str(a.found->msg, "result")
                                       ? wc_json_str(a.found->msg, "result")
                                       : "no result",
                                   want);
            hn_rt_step_fail(rt, step, m, NULL, a.found->msg, NULL, a.found->rec_n);
            free(m);
        }
    }
    json_decref(msg);
}

/*
 * quiesce: s1 (or a list): nothing more is on its way from the client. The proof is a round
 * trip the client must answer: a control_request of a subtype no client knows, whose error
 * response comes after everything the client sent before it (C-2); a profile that declares a
 * quiet period instead (quiescence: {quiet_ms}) waits that long. The transcript says which.
 */
void hn_run_step_quiesce(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *q = json_pack("{s:O}", "quiet", json_object_get(step, "quiesce"));
    json_t *req = json_object_get(step, "requirement");

    (void)sname;
    if (req)
        json_object_set(q, "requirement", req);
    if (!strcmp(rt->t->quiescence, "sentinel"))
        hn_rt_note(rt, "quiescence by a round trip: a control_request of an unknown subtype must "
                       "get its error response");
    hn_run_step_quiet(rt, q, "quiet");
    json_decref(q);
}
