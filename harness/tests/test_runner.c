/* test_runner.c: CUnit tests for harness/exec/runner.c (suite hn_runner): one case end to end
 * through ws.c, http.c, control.c and target.c, whose own tests are in test_ws.c, test_http.c,
 * test_control.c and test_target.c. A small fake gateway runs in a child process: REST session
 * creation, a WebSocket endpoint whose behaviour is chosen by the chat.send content (echo,
 * garbage, a 100 MB frame header, close 4001, a TCP drop, silence, a control-channel provider),
 * so each runner path is exercised without the reference gateway. Every test sets alarm(). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <libwebsockets.h>

#include "exec/runner.h"
#include "exec/target.h"
#include "exec/ws.h"
#include "model/scenario.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"
#include "testutil.h"

/* ---- the fake gateway (child process) ------------------------------------------------------ */

struct fconn {
    int fd;
    struct wc_buf in;
    bool ws;
    struct hn_ws w;
    int ctl; /* control connection of its provider run, or -1 */
    struct wc_buf ctl_in;
    char session[64];
    int64_t late_at; /* "delay:N": when the late frame is due (0: none) */
};

static int sessions_made;

static void wr(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

static void srv_frame(int fd, int op, const char *data, size_t len)
{
    unsigned char h[10];
    size_t n = 0;
    h[n++] = (unsigned char)(0x80 | op);
    if (len < 126) {
        h[n++] = (unsigned char)len;
    } else {
        h[n++] = 126;
        h[n++] = (unsigned char)(len >> 8);
        h[n++] = (unsigned char)len;
    }
    wr(fd, h, n);
    wr(fd, data, len);
}

static void srv_json(int fd, json_t *v)
{
    char *s = wc_json_compact(v);
    srv_frame(fd, 1, s, strlen(s));
    free(s);
    json_decref(v);
}

static json_t *event(const char *sid, const char *kind, int seq)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "kind", kind, "id",
                     seq == 1 ? "evt-1" : "evt-2", "sessionId", sid, "timestamp",
                     "2026-01-01T00:00:00.000Z", "provider", "claude", "seq", seq);
}

static json_t *complete(const char *sid, int seq)
{
    json_t *e = event(sid, "complete", seq);
    json_object_update_new(e, json_pack("{s:i, s:b, s:b, s:s}", "exitCode", 0, "success", 1,
                                        "aborted", 0, "actualSessionId", sid));
    return e;
}

static void http_reply(int fd, int status, const char *body)
{
    char *r = wc_xasprintf("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           status, strlen(body), body);
    wr(fd, r, strlen(r));
    free(r);
}

static void on_ws_message(struct fconn *c, const char *text)
{
    json_t *m = json_loads(text, 0, NULL);
    const char *type = wc_json_str(m, "type");
    const char *sid = wc_json_str(m, "sessionId");
    if (!type) {
        srv_json(c->fd,
                 json_pack("{s:s, s:s, s:s, s:n}", "kind", "protocol_error", "code",
                           "INTERNAL_ERROR", "error", "Invalid websocket payload", "sessionId"));
    } else if (!strcmp(type, "chat.subscribe")) {
        const char *id =
            wc_json_str(json_array_get(json_object_get(m, "sessions"), 0), "sessionId");
        srv_json(c->fd, json_pack("{s:s, s:s, s:b, s:i, s:[], s:s}", "kind", "chat_subscribed",
                                  "sessionId", id ? id : "", "isProcessing", 0, "lastSeq", 0,
                                  "pendingPermissions", "timestamp", "2026-01-01T00:00:00.000Z"));
    } else if (!strcmp(type, "chat.send") && sid) {
        const char *content = wc_json_str(m, "content");
        snprintf(c->session, sizeof(c->session), "%s", sid);
        if (!strcmp(content, "echo")) {
            srv_json(c->fd, json_pack("{s:s}", "kind", "session_upserted")); /* ignored kind */
            json_t *e = event(sid, "stream_delta", 1);
            json_object_set_new(e, "content", json_string("a"));
            srv_json(c->fd, e);
            srv_json(c->fd, complete(sid, 2));
        } else if (!strcmp(content, "garbage")) {
            srv_frame(c->fd, 1, "not json at all", 15);
        } else if (!strcmp(content, "huge")) {
            unsigned char h[10] = {0x81, 127, 0, 0, 0, 0, 0x06, 0x40, 0, 0};
            wr(c->fd, h, sizeof(h));
        } else if (!strcmp(content, "close4001")) {
            srv_frame(c->fd, 8,
                      "\x0f\xa1"
                      "bye",
                      5);
        } else if (!strcmp(content, "drop")) {
            shutdown(c->fd, SHUT_RDWR);
        } else if (!strncmp(content, "delay:", 6)) {
            /* the fake's answer comes N ms late, from a timer of its loop: meanwhile it answers
             * everything else at once, as a gateway that is slow on purpose, not starved */
            c->late_at = wc_now_ms() + atoi(content + 6);
        } else if (!strcmp(content, "ping")) {
            srv_frame(c->fd, 9, "hb", 2);
        } else if (!strcmp(content, "pong")) {
            srv_frame(c->fd, 10, "", 0);
        } else if (!strncmp(content, "gwspec:", 7)) {
            json_t *d = json_loads(content + 7, 0, NULL);
            int port = 0;
            sscanf(wc_json_str(d, "ctl"), "127.0.0.1:%d", &port);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            c->ctl = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(c->ctl, (struct sockaddr *)&a, sizeof(a)) == 0) {
                json_t *hello =
                    json_pack("{s:s, s:O, s:O, s:O, s:s, s:s, s:n}", "type", "hello", "case",
                              json_object_get(d, "case"), "label", json_object_get(d, "label"),
                              "run", json_object_get(d, "run"), "provider", "claude", "cwd",
                              "/tmp/gwspec/1.1.1-t/s1", "resume");
                char *h = wc_json_compact(hello);
                char *line =
                    wc_xasprintf("%s\n{\"type\":\"announced\",\"nativeId\":\"nat-1\"}\n", h);
                wr(c->ctl, line, strlen(line));
                free(line);
                free(h);
                json_decref(hello);
                const char *em = "{\"type\":\"emitted\",\"index\":0,\"event\":"
                                 "{\"kind\":\"stream_delta\",\"content\":\"a\"}}\n";
                wr(c->ctl, em, strlen(em));
                json_t *e = event(sid, "stream_delta", 1);
                json_object_set_new(e, "content", json_string("a"));
                srv_json(c->fd, e);
                const char *r = "{\"type\":\"reached\",\"barrier\":\"hold\"}\n";
                wr(c->ctl, r, strlen(r));
            }
            json_decref(d);
        } /* "silent": nothing */
    }
    json_decref(m);
}

static void on_ctl_line(struct fconn *c, const char *line)
{
    json_t *m = json_loads(line, 0, NULL);
    if (wc_json_str(m, "type") && !strcmp(wc_json_str(m, "type"), "release")) {
        const char *em = "{\"type\":\"emitted\",\"index\":1,\"event\":"
                         "{\"kind\":\"complete\",\"exitCode\":0}}\n";
        wr(c->ctl, em, strlen(em));
        srv_json(c->fd, complete(c->session, 2));
        const char *done = "{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}\n";
        wr(c->ctl, done, strlen(done));
    }
    json_decref(m);
}

static void handle_http(struct fconn *c)
{
    char *end = strstr(c->in.buf, "\r\n\r\n");
    if (!end)
        return;
    char method[8] = "", path[512] = "";
    sscanf(c->in.buf, "%7s %511s", method, path);
    if (!strncmp(path, "/ws", 3)) {
        const char *k = strcasestr(c->in.buf, "Sec-WebSocket-Key: ");
        bool good = strstr(path, "token=good") || strcasestr(c->in.buf, "Bearer good");
        if (!k || !good) {
            wr(c->fd, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", 48);
            /* token=late101: a gateway that refuses and then upgrades anyway */
            if (strstr(path, "token=late101"))
                wr(c->fd, "HTTP/1.1 101 Switching Protocols\r\n\r\n", 36);
            shutdown(c->fd, SHUT_RDWR);
            return;
        }
        char key[64] = "", accept[64];
        unsigned char sha[20];
        sscanf(k + 19, "%63[^\r]", key);
        char *cat = wc_xasprintf("%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
        lws_SHA1((unsigned char *)cat, strlen(cat), sha);
        free(cat);
        lws_b64_encode_string((char *)sha, 20, accept, sizeof(accept));
        char *r = wc_xasprintf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                               accept);
        wr(c->fd, r, strlen(r));
        free(r);
        c->ws = true;
        hn_ws_init(&c->w, c->fd, NULL);
        if (!strncmp(path, "/ws-echo", 8)) {
            /* what the upgrade carried, for the auth: both tests */
            char bearer[128] = "";
            const char *b = strcasestr(c->in.buf, "Authorization: Bearer ");
            if (b)
                sscanf(b + 22, "%127[^\r]", bearer);
            srv_json(c->fd, json_pack("{s:s, s:s, s:s?}", "kind", "auth_seen", "path", path,
                                      "bearer", b ? bearer : NULL));
        }
        wc_buf_consume(&c->in, (size_t)(end - c->in.buf) + 4);
        hn_ws_feed(&c->w, c->in.buf, c->in.len);
        return;
    }
    if (!strcmp(method, "POST") && !strcmp(path, "/api/providers/sessions")) {
        char *b = wc_xasprintf("{\"success\":true,\"data\":{\"sessionId\":\"sess-%d\","
                               "\"provider\":\"claude\",\"projectPath\":\"/p\","
                               "\"sessionName\":\"Untitled Session\"}}",
                               ++sessions_made);
        http_reply(c->fd, 201, b);
        free(b);
    } else if (!strcmp(path, "/api/providers/sessions/running")) {
        http_reply(
            c->fd, 200,
            "{\"success\":true,\"data\":{\"sessions\":[{\"sessionId\":\"x\",\"lastSeq\":4}]}}");
    } else {
        http_reply(c->fd, 404, "{\"success\":false}");
    }
    shutdown(c->fd, SHUT_WR);
}

/* A fake gateway for the runner's tests: HTTP, WebSocket and a control socket per connection.
 * long: one poll loop whose state (the connections, their late events) is local to it. */
static void fake_server(int lfd)
{
    struct fconn conns[32];
    size_t n = 0;

    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        struct pollfd fds[65];
        int map[65], kind[65];
        size_t k = 0;
        fds[k] = (struct pollfd){.fd = lfd, .events = POLLIN};
        map[k] = -1;
        kind[k++] = 0;
        for (size_t i = 0; i < n; i++) {
            fds[k] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
            map[k] = (int)i;
            kind[k++] = 1;
            if (conns[i].ctl >= 0) {
                fds[k] = (struct pollfd){.fd = conns[i].ctl, .events = POLLIN};
                map[k] = (int)i;
                kind[k++] = 2;
            }
        }
        int64_t due = -1;
        for (size_t i = 0; i < n; i++) {
            if (conns[i].late_at && (due < 0 || conns[i].late_at < due))
                due = conns[i].late_at;
        }
        int wait = due < 0 ? -1 : (int)(due > wc_now_ms() ? due - wc_now_ms() : 0);
        if (poll(fds, k, wait) < 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (conns[i].late_at && wc_now_ms() >= conns[i].late_at) {
                conns[i].late_at = 0;
                json_t *e = event(conns[i].session, "stream_delta", 1);
                json_object_set_new(e, "content", json_string("late"));
                srv_json(conns[i].fd, e);
            }
        }
        for (size_t j = k; j-- > 1;) {
            if (!fds[j].revents)
                continue;
            struct fconn *c = &conns[map[j]];
            char buf[65536];
            if (kind[j] == 2) {
                ssize_t r = recv(c->ctl, buf, sizeof(buf) - 1, 0);
                if (r <= 0) {
                    close(c->ctl);
                    c->ctl = -1;
                    continue;
                }
                wc_buf_add(&c->ctl_in, buf, (size_t)r);
                char *nl;
                while ((nl = memchr(c->ctl_in.buf, '\n', c->ctl_in.len))) {
                    *nl = '\0';
                    char *line = wc_xstrdup(c->ctl_in.buf);
                    wc_buf_consume(&c->ctl_in, (size_t)(nl - c->ctl_in.buf) + 1);
                    on_ctl_line(c, line);
                    free(line);
                }
                continue;
            }
            bool dead = false;
            if (c->ws) {
                hn_ws_read(&c->w);
                struct hn_ws_event ev;
                char *why = NULL;
                while (hn_ws_next(&c->w, &ev, &why) == 1) {
                    if (ev.type == HN_WS_EV_MESSAGE)
                        on_ws_message(c, ev.data);
                    else if (ev.type == HN_WS_EV_PONG)
                        srv_json(c->fd, json_pack("{s:s, s:s%}", "kind", "pong_seen", "data",
                                                  ev.data, ev.len));
                    else if (ev.type == HN_WS_EV_CLOSE) {
                        unsigned char p[2] = {(unsigned char)(ev.code >> 8),
                                              (unsigned char)ev.code};
                        srv_frame(c->fd, 8, (char *)p, ev.code == 1005 ? 0 : 2);
                        dead = true;
                    }
                    hn_ws_event_release(&ev);
                    if (dead)
                        break;
                }
                free(why);
                dead = dead || c->w.eof;
            } else {
                ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
                if (r <= 0)
                    dead = true;
                else {
                    wc_buf_add(&c->in, buf, (size_t)r);
                    handle_http(c);
                }
            }
            if (dead) {
                if (c->ws) {
                    c->w.fd = -1;
                    hn_ws_release(&c->w);
                }
                close(c->fd);
                if (c->ctl >= 0)
                    close(c->ctl);
                wc_buf_release(&c->in);
                wc_buf_release(&c->ctl_in);
                conns[map[j]] = conns[--n];
            }
        }
        if ((fds[0].revents & POLLIN) && n < 31) {
            int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
            if (fd >= 0) {
                memset(&conns[n], 0, sizeof(conns[n]));
                conns[n].fd = fd;
                conns[n].ctl = -1;
                wc_buf_init(&conns[n].in, 0);
                wc_buf_init(&conns[n].ctl_in, 0);
                n++;
            }
        }
    }
}

/* ---- suite setup ----------------------------------------------------------------------------- */

static pid_t server_pid;
static int server_port;
static struct hn_spec *spec;
static struct hn_target *target;
static char profile[64];

static const char *REQS = "requirements:\n"
                          "  - {id: R-X-1, level: MUST, section: 1}\n"
                          "  - {id: R-S-1, level: SHOULD, section: 1}\n";

static int setup(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t al = sizeof(a);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    char *err = NULL;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16) ||
        getsockname(lfd, (struct sockaddr *)&a, &al))
        return 1;
    server_port = ntohs(a.sin_port);
    fflush(NULL);
    server_pid = fork();
    if (server_pid == 0) {
        alarm(120);
        fake_server(lfd);
        _exit(0);
    }
    close(lfd);
    spec = hn_spec_load_string("r.yaml", REQS, &err);
    snprintf(profile, sizeof(profile), "/tmp/gwspec-profile-%d.yaml", (int)getpid());
    FILE *fp = fopen(profile, "w");
    fprintf(fp,
            "name: fake\nhost: 127.0.0.1\nport: %d\nws_path: /ws\n"
            "auth: {kind: token, users: {alice: good, bob: other}}\n"
            "capabilities: [fan-out]\n",
            server_port);
    fclose(fp);
    target = hn_target_load(profile, &err);
    if (!target || hn_target_start(target, 2000, &err) != 0) {
        fprintf(stderr, "target: %s\n", err);
        return 1;
    }
    return spec ? 0 : 1;
}

static int teardown(void)
{
    kill(server_pid, SIGKILL);
    waitpid(server_pid, NULL, 0);
    hn_target_free(target);
    hn_spec_free(spec);
    unlink(profile);
    return 0;
}

/* Run a case given its steps (YAML lines, each starting with "  - "). */
static json_t *run_case_meta(const char *meta, const char *extra_top, const char *steps,
                             int64_t timeout_ms)
{
    char *text = wc_xasprintf("id: 1.1.1-t\ntitle: t\nspec: [R-X-1]\n%sdescription: d\n"
                              "expectation: e\nsessions:\n  s1: {provider: claude}\n"
                              "providers:\n  s1:\n    - announce: auto\n    - barrier: hold\n"
                              "    - complete: 0\n%ssteps:\n%s",
                              meta ? meta : "", extra_top ? extra_top : "", steps);
    struct hn_caselist l = {0};
    json_t *errs = json_array();
    json_t *r = NULL;
    if (hn_case_load_string("cases/1-t/1.1.1-t.yaml", text, spec, &l, errs) != 0) {
        for (size_t i = 0; i < json_array_size(errs); i++)
            fprintf(stderr, "\n  case: %s", json_string_value(json_array_get(errs, i)));
    } else {
        struct hn_runner_opts o = {.seed = 42,
                                   .timeout_ms = timeout_ms,
                                   .spec = spec,
                                   .spec_version = "chatgw/1.0",
                                   .rerun = "gwspec run x"};
        r = hn_runner_run(l.v[0], target, &o);
    }
    hn_caselist_release(&l);
    json_decref(errs);
    free(text);
    return r;
}

static json_t *run_case(const char *extra_top, const char *steps, int64_t timeout_ms)
{
    return run_case_meta(NULL, extra_top, steps, timeout_ms);
}

static const char *verdict(const json_t *r)
{
    return wc_json_str(r, "verdict") ? wc_json_str(r, "verdict") : "(none)";
}

static void show(const json_t *r, const char *want)
{
    if (strcmp(verdict(r), want)) {
        char *s = json_dumps(json_object_get(r, "failures"), JSON_INDENT(1));
        fprintf(stderr, "\n  verdict %s, want %s; failures: %s\n", verdict(r), want, s);
        free(s);
        if (getenv("HN_TEST_VERBOSE")) {
            s = json_dumps(json_object_get(r, "transcript"), JSON_INDENT(1));
            fprintf(stderr, "transcript: %s\n", s);
            free(s);
        }
    }
}

static const char *first_diff(const json_t *r)
{
    return wc_json_str(json_array_get(json_object_get(r, "failures"), 0), "diff");
}

static const char *first_message(const json_t *r)
{
    return wc_json_str(json_array_get(json_object_get(r, "failures"), 0), "message");
}

/* ---- tests -------------------------------------------------------------------------------------
 */

static void test_echo_ok(void)
{
    alarm(20);
    json_t *r = run_case(NULL,
                         "  - connect: c1\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: echo}}\n"
                         "  - expect: {c1: {kind: stream_delta, seq: $n, sessionId: $s1}}\n"
                         "  - expect: {c1: {kind: complete, aborted: false, seq: 2}}\n"
                         "  - quiet: c1\n"
                         "  - expect: {c1: none}\n"
                         "  - note: \"n was ${n}\"\n",
                         0);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    CU_ASSERT_STRING_EQUAL(wc_json_str(r, "rerun"), "gwspec run x");
    json_t *tr = json_object_get(r, "transcript");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(tr, 0), "t"), "header");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(tr, 0), "case"), "1.1.1-t");
    /* a session record, an open, sentinel records and the final close are all there */
    size_t i;
    json_t *rec;
    int sessions = 0, opens = 0, sentinels = 0, closes = 0, notes_n = 0;
    json_array_foreach(tr, i, rec)
    {
        const char *t = wc_json_str(rec, "t");
        sessions += !strcmp(t, "session");
        opens += !strcmp(t, "open");
        sentinels += json_is_true(json_object_get(rec, "sentinel"));
        closes += !strcmp(t, "close");
        if (!strcmp(t, "note") && !strcmp(wc_json_str(rec, "text"), "n was 1"))
            notes_n++;
    }
    CU_ASSERT_EQUAL(sessions, 1);
    CU_ASSERT_EQUAL(opens, 1);
    CU_ASSERT_EQUAL(sentinels, 4); /* quiet + final round: send and reply each */
    CU_ASSERT_EQUAL(closes, 1);
    CU_ASSERT_EQUAL(notes_n, 1);
    json_decref(r);
}

static void test_mismatch_failed_with_diff(void)
{
    alarm(20);
    json_t *r = run_case(NULL,
                         "  - connect: c1\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: echo}}\n"
                         "  - expect: {c1: {kind: stream_delta, seq: 5}}\n",
                         0);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(verdict(r), "FAILED");
    CU_ASSERT_STRING_EQUAL(first_diff(r), "at .seq: expected 5, received 1");
    json_t *f = json_array_get(json_object_get(r, "failures"), 0);
    CU_ASSERT_STRING_EQUAL(wc_json_str(f, "requirement"), "R-X-1");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(f, "step")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(f, "received"), "seq")), 1);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(f, "witness")), 1);
    json_decref(r);
}

static void test_should_requirement_is_non_strict(void)
{
    alarm(20);
    json_t *r = run_case(NULL,
                         "  - connect: c1\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: echo}}\n"
                         "  - expect: {c1: {kind: stream_delta, seq: 5}}\n"
                         "    requirement: R-S-1\n",
                         0);
    show(r, "NON-STRICT");
    CU_ASSERT_STRING_EQUAL(verdict(r), "NON-STRICT");
    json_decref(r);
}

/*
 * The gateway stays silent on the send but answers the sentinel that settles the timeout: the
 * frame is proven not to be coming, which is FAILED (a gateway answering nothing at all is ERROR,
 * tests/e2e.sh with tests/badgw.c --mode silent).
 */
static void test_timeout_is_error_not_hang(void)
{
    alarm(20);
    int64_t t0 = wc_now_ms();
    json_t *r = run_case(NULL,
                         "  - connect: c1\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: silent}}\n"
                         "  - expect: {c1: {kind: stream_delta}}\n",
                         300);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(verdict(r), "FAILED");
    CU_ASSERT_PTR_NOT_NULL(strstr(first_message(r), "never arrived"));
    CU_ASSERT_TRUE(wc_now_ms() - t0 < 3000);
    json_decref(r);
}

static void test_garbage_and_huge_frames(void)
{
    alarm(20);
    json_t *r = run_case(NULL,
                         "  - connect: c1\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: garbage}}\n"
                         "  - expect: {c1: {kind: stream_delta}}\n",
                         1000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(verdict(r), "FAILED");
    CU_ASSERT_PTR_NOT_NULL(strstr(first_diff(r), "not JSON"));
    json_decref(r);

    r = run_case(NULL,
                 "  - connect: c1\n"
                 "  - send: {c1: {type: chat.send, sessionId: $s1, content: huge}}\n"
                 "  - expect: {c1: {kind: stream_delta}}\n",
                 1000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(verdict(r), "FAILED");
    CU_ASSERT_STRING_EQUAL(first_message(r), "the connection closed before the expected frame");
    json_t *rec = json_object_get(json_array_get(json_object_get(r, "failures"), 0), "received");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(rec, "code")), 1009);
    json_decref(r);
}

static void test_close_codes(void)
{
    alarm(20);
    json_t *r = run_case(NULL,
                         "  - connect: c1\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: close4001}}\n"
                         "  - expect_close: {client: c1, code: 4001}\n",
                         1000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    json_decref(r);

    r = run_case(NULL,
                 "  - connect: c1\n"
                 "  - send: {c1: {type: chat.send, sessionId: $s1, content: close4001}}\n"
                 "  - expect_close: {client: c1, codes: [1000, 1001]}\n",
                 1000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(verdict(r), "FAILED");
    CU_ASSERT_STRING_EQUAL(first_diff(r), "at .code: expected one of [1000,1001], received 4001");
    json_decref(r);

    r = run_case(NULL,
                 "  - connect: c1\n"
                 "  - send: {c1: {type: chat.send, sessionId: $s1, content: drop}}\n"
                 "  - expect_close: {client: c1, codes: [1006]}\n",
                 1000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    json_decref(r);

    r = run_case(NULL,
                 "  - connect: c1\n"
                 "  - disconnect: {client: c1, code: 4002, reason: bye}\n"
                 "  - connect: c1\n"
                 "  - disconnect: {client: c1, drop: true}\n",
                 1000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    json_decref(r);

    /* expect_close inside alternatives: the first one's code does not match; a close is not
     * rolled back, so the second one sees the same close, and its grade is the verdict */
    r = run_case(NULL,
                 "  - connect: c1\n"
                 "  - send: {c1: {type: chat.send, sessionId: $s1, content: close4001}}\n"
                 "  - alternatives:\n"
                 "      - grade: ok\n"
                 "        steps: [{expect_close: {client: c1, code: 1000}}]\n"
                 "      - grade: informational\n"
                 "        steps: [{expect_close: {client: c1, code: 4001}}]\n",
                 1000);
    show(r, "INFORMATIONAL");
    CU_ASSERT_STRING_EQUAL(verdict(r), "INFORMATIONAL");
    json_decref(r);

    /* a client the server keeps open: the close alternative fails (the client still answers a
     * sentinel), the next one matches */
    r = run_case(NULL,
                 "  - connect: c1\n"
                 "  - alternatives:\n"
                 "      - grade: ok\n"
                 "        steps: [{expect_close: c1}]\n"
                 "      - grade: non_strict\n"
                 "        steps: [{quiet: c1}]\n",
                 1000);
    show(r, "NON-STRICT");
    CU_ASSERT_STRING_EQUAL(verdict(r), "NON-STRICT");
    json_decref(r);
}

static void test_auth(void)
{
    alarm(20);
    json_t *r = run_case(NULL,
                         "  - connect: {client: c1, token: none, expect_status: 401}\n"
                         "  - connect: {client: c2, auth: header}\n"
                         "  - connect: {client: c3, token: bad, expect_status: 401}\n",
                         1000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    json_decref(r);

    r = run_case(NULL, "  - connect: {client: c1, user: bob}\n", 1000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(verdict(r), "FAILED");
    CU_ASSERT_STRING_EQUAL(first_diff(r), "at .status: expected 101, received 401");
    json_decref(r);

    r = run_case(NULL, "  - connect: {client: c1, expect_status: 401}\n", 1000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(first_message(r),
                           "the upgrade was accepted but should have been refused");
    json_decref(r);

    /* a 401 followed by a 101 on the same connection is not a refusal */
    r = run_case(NULL, "  - connect: {client: c1, token: late101, expect_status: 401}\n", 1000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(first_message(r), "the server went on after refusing the upgrade");
    CU_ASSERT_STRING_EQUAL(first_diff(r), "after its 401 response the server sent 36 more bytes: "
                                          "\"HTTP/1.1 101 Switching Protocols....\"");
    json_decref(r);
}

static void test_provider_control_channel(void)
{
    alarm(20);
    json_t *r =
        run_case(NULL,
                 "  - connect: c1\n"
                 "  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.s1}}\n"
                 "  - provider_hello: {s1: {cwd: \"${s1.projectPath}\", resume: null, label: s1}}\n"
                 "  - expect: {c1: {kind: stream_delta, seq: 1}}\n"
                 "  - reached: {s1: hold}\n"
                 "  - note: \"native ${native.s1}\"\n"
                 "  - release: {s1: hold}\n"
                 "  - expect: {c1: {kind: complete, seq: 2}}\n"
                 "  - provider_done: {s1: completed}\n"
                 "  - quiet: c1\n",
                 2000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    size_t i;
    json_t *rec;
    int ctl = 0, ctl_send = 0, native = 0;
    json_array_foreach(json_object_get(r, "transcript"), i, rec)
    {
        const char *t = wc_json_str(rec, "t");
        ctl += !strcmp(t, "ctl");
        ctl_send += !strcmp(t, "ctl_send");
        native += !strcmp(t, "note") && !strcmp(wc_json_str(rec, "text"), "native nat-1");
    }
    CU_ASSERT_EQUAL(ctl, 6);
    CU_ASSERT_EQUAL(ctl_send, 1);
    CU_ASSERT_EQUAL(native, 1);
    json_decref(r);

    /* provider_done with another `how` fails with a diff */
    r = run_case(NULL,
                 "  - connect: c1\n"
                 "  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.s1}}\n"
                 "  - release: {s1: hold}\n"
                 "  - provider_done: {s1: aborted}\n",
                 2000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(first_diff(r), "at .how: expected \"aborted\", received \"completed\"");
    json_decref(r);
}

static void test_group_and_alternatives(void)
{
    alarm(20);
    json_t *r = run_case(NULL,
                         "  - connect: c1\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: echo}}\n"
                         "  - group:\n"
                         "      - {c1: {kind: complete}, as: done}\n"
                         "      - {c1: {kind: stream_delta}, before: [done]}\n",
                         1000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    json_decref(r);

    r = run_case(NULL,
                 "  - connect: c1\n"
                 "  - send: {c1: {type: chat.send, sessionId: $s1, content: echo}}\n"
                 "  - group:\n"
                 "      - {c1: {kind: stream_delta}, after: [done]}\n"
                 "      - {c1: {kind: complete}, as: done}\n",
                 1000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(first_message(r),
                           "group: a frame arrived before the items it must follow");
    json_decref(r);

    r = run_case(NULL,
                 "  - connect: c1\n"
                 "  - send: {c1: {type: chat.send, sessionId: $s1, content: echo}}\n"
                 "  - expect: {c1: {kind: stream_delta}}\n"
                 "  - alternatives:\n"
                 "      - grade: ok\n"
                 "        steps: [{expect: {c1: {kind: complete, aborted: true}}}]\n"
                 "      - grade: non_strict\n"
                 "        steps: [{expect: {c1: {kind: complete, aborted: false, seq: $s}}}]\n"
                 "  - note: \"seq ${s}\"\n"
                 "  - quiet: c1\n",
                 1000);
    show(r, "NON-STRICT");
    CU_ASSERT_STRING_EQUAL(verdict(r), "NON-STRICT");
    json_decref(r);

    r = run_case(NULL,
                 "  - connect: c1\n"
                 "  - send: {c1: {type: chat.send, sessionId: $s1, content: echo}}\n"
                 "  - expect: {c1: {kind: stream_delta}}\n"
                 "  - alternatives:\n"
                 "      - grade: ok\n"
                 "        steps: [{expect: {c1: {kind: complete, aborted: true}}}]\n"
                 "      - grade: non_strict\n"
                 "        steps: [{expect: {c1: {kind: complete, exitCode: 9}}}]\n",
                 1000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(first_message(r), "no alternative matched (2 tried)");
    json_decref(r);
}

static void test_quiet_catches_extra_frames(void)
{
    alarm(20);
    json_t *r = run_case(NULL,
                         "  - connect: c1\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: echo}}\n"
                         "  - expect: {c1: {kind: stream_delta}}\n"
                         "  - quiet: c1\n",
                         1000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(first_message(r), "quiet: an unexpected frame arrived");
    CU_ASSERT_PTR_NOT_NULL(strstr(first_diff(r), "\"kind\":\"complete\""));
    json_decref(r);

    /* ignore: [] makes session_upserted visible */
    r = run_case("ignore: []\nown_users: true\n",
                 "  - connect: c1\n"
                 "  - send: {c1: {type: chat.send, sessionId: $s1, content: echo}}\n"
                 "  - expect: {c1: {kind: stream_delta}}\n",
                 1000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(first_diff(r),
                           "at .kind: expected \"stream_delta\", received \"session_upserted\"");
    json_decref(r);
}

static void test_http_step(void)
{
    alarm(20);
    json_t *r = run_case(
        NULL,
        "  - http: {method: GET, path: /api/providers/sessions/running, "
        "expect: {status: 200, body: {success: true}}, capture: {runs: body.data.sessions}}\n"
        "  - note: \"runs ${runs.0.lastSeq}\"\n"
        "  - http: {method: GET, path: /nope, token: none, expect: {status: 404}}\n",
        1000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    json_decref(r);

    r = run_case(NULL, "  - http: {method: GET, path: /nope, expect: {status: 200}}\n", 1000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(first_diff(r), "at .status: expected 200, received 404");
    json_decref(r);
}

static void test_needs_unimplemented(void)
{
    json_t *r = run_case_meta("needs: [multi-user]\n", NULL, "  - connect: c1\n", 1000);
    CU_ASSERT_STRING_EQUAL(verdict(r), "UNIMPLEMENTED");
    json_decref(r);
}

static void test_unreachable_target_is_error(void)
{
    alarm(20);
    int port = target->port;
    target->port = 1; /* nothing listens there */
    json_t *r = run_case(NULL, "  - connect: c1\n", 500);
    target->port = port;
    CU_ASSERT_STRING_EQUAL(verdict(r), "ERROR");
    json_decref(r);
}

static void test_send_raw_records(void)
{
    alarm(20);
    json_t *r = run_case(NULL,
                         "  - connect: c1\n"
                         "  - send_raw: {client: c1, hex: \"7b7d\"}\n"
                         "  - expect: {c1: {kind: protocol_error, code: INTERNAL_ERROR}}\n"
                         "  - send_raw: {client: c1, binary: true, text: \"{}\"}\n"
                         "  - expect: {c1: {kind: protocol_error}}\n"
                         "  - send_raw: {client: c1, hex: \"ff00\"}\n"
                         "  - expect: {c1: {kind: protocol_error}}\n"
                         "  - send_raw: {client: c1, repeat: {count: 1200000, text: a}}\n"
                         "  - expect: {c1: {kind: protocol_error}}\n"
                         "  - quiet: c1\n",
                         2000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    size_t i;
    json_t *rec;
    int frames = 0, binary = 0, hex = 0, truncated = 0;
    json_array_foreach(json_object_get(r, "transcript"), i, rec)
    {
        if (strcmp(wc_json_str(rec, "t"), "send") || json_is_true(json_object_get(rec, "sentinel")))
            continue;
        frames += json_object_get(rec, "frame") != NULL;
        binary += json_is_true(json_object_get(rec, "binary"));
        hex += wc_json_str(rec, "hex") && !strcmp(wc_json_str(rec, "hex"), "ff00");
        if (json_is_true(json_object_get(rec, "truncated"))) {
            truncated++;
            CU_ASSERT_EQUAL(json_integer_value(json_object_get(rec, "len")), 1200000);
            CU_ASSERT_EQUAL(strlen(wc_json_str(rec, "text")), 1024);
        }
    }
    CU_ASSERT_EQUAL(frames, 2);
    CU_ASSERT_EQUAL(binary, 1);
    CU_ASSERT_EQUAL(hex, 1);
    CU_ASSERT_EQUAL(truncated, 1);
    json_decref(r);
}

static void test_quiet_period_profile(void)
{
    alarm(20);
    char path[64], *err = NULL;
    snprintf(path, sizeof(path), "/tmp/gwspec-profile-q-%d.yaml", (int)getpid());
    FILE *fp = fopen(path, "w");
    fprintf(fp,
            "name: fake-quiet\nhost: 127.0.0.1\nport: %d\n"
            "auth: {kind: token, users: {alice: good}}\nquiescence: {quiet_ms: 150}\n",
            server_port);
    fclose(fp);
    struct hn_target *q = hn_target_load(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_EQUAL(hn_target_start(q, 2000, &err), 0);
    CU_ASSERT_STRING_EQUAL(q->quiescence, "quiet_ms");
    struct hn_target *save = target;
    target = q;
    int64_t t0 = wc_now_ms();
    json_t *r = run_case(NULL,
                         "  - connect: c1\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: echo}}\n"
                         "  - expect: {c1: {kind: stream_delta}}\n"
                         "  - expect: {c1: {kind: complete}}\n"
                         "  - quiet: c1\n"
                         "  - expect: {c1: none}\n",
                         2000);
    target = save;
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    CU_ASSERT_TRUE(wc_now_ms() - t0 >= 150);
    json_decref(r);
    hn_target_free(q);
    unlink(path);
}

/* expect_ping waits 2 * ping_interval_ms + max(interval / 2, 500), not the safety timeout */
static void test_ping_wait_from_profile(void)
{
    alarm(20);
    char path[64], *err = NULL;
    snprintf(path, sizeof(path), "/tmp/gwspec-profile-hb-%d.yaml", (int)getpid());
    FILE *fp = fopen(path, "w");
    fprintf(fp,
            "name: fake-hb\nhost: 127.0.0.1\nport: %d\n"
            "auth: {kind: token, users: {alice: good}}\nping_interval_ms: 100\n"
            "capabilities: [heartbeat]\n",
            server_port);
    fclose(fp);
    struct hn_target *h = hn_target_load(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(hn_target_start(h, 2000, &err), 0);
    struct hn_target *save = target;
    target = h;
    int64_t t0 = wc_now_ms();
    json_t *r =
        run_case_meta("needs: [heartbeat]\n", NULL, "  - connect: c1\n  - expect_ping: c1\n", 0);
    target = save;
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(verdict(r), "FAILED");
    /* the bound is 2 * 100 + 500 ms; FAILED only past twice it (the tolerance) */
    CU_ASSERT_PTR_NOT_NULL(strstr(first_diff(r), "a ping on c1 (profile ping_interval_ms 100) did "
                                                 "not come within 1400 ms, twice the bound of "
                                                 "700 ms"));
    CU_ASSERT_TRUE(wc_now_ms() - t0 >= 1400);
    CU_ASSERT_TRUE(wc_now_ms() - t0 < 3000);
    json_decref(r);
    hn_target_free(h);
    unlink(path);
}

/* expect_close on a client that withholds pongs waits for the profile's pong_timeout_ms plus one
 * ping wait (1000 + 700 ms here), not the 200 ms step timeout: the drop is due only then. */
static void test_close_wait_from_pong_timeout(void)
{
    alarm(20);
    char path[64], *err = NULL;
    snprintf(path, sizeof(path), "/tmp/gwspec-profile-pt-%d.yaml", (int)getpid());
    FILE *fp = fopen(path, "w");
    fprintf(fp,
            "name: fake-pt\nhost: 127.0.0.1\nport: %d\n"
            "auth: {kind: token, users: {alice: good}}\nping_interval_ms: 100\n"
            "pong_timeout_ms: 1000\ncapabilities: [heartbeat]\n",
            server_port);
    fclose(fp);
    struct hn_target *h = hn_target_load(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL_FATAL(h->pong_timeout_ms, 1000);
    CU_ASSERT_EQUAL(hn_target_start(h, 2000, &err), 0);
    struct hn_target *save = target;
    target = h;
    int64_t t0 = wc_now_ms();
    json_t *r =
        run_case_meta("needs: [heartbeat]\n", NULL,
                      "  - connect: {client: c1, pong: false}\n  - expect_close: c1\n", 200);
    int64_t took = wc_now_ms() - t0;
    target = save;
    CU_ASSERT_STRING_NOT_EQUAL(verdict(r), "OK");
    CU_ASSERT_TRUE(took >= 1700);
    CU_ASSERT_TRUE(took < 5000);
    json_decref(r);
    hn_target_free(h);
    unlink(path);
}

/* The ping and pong records of a result's transcript: "ping:answered", "ping:unanswered", "pong".
 */
static char *control_records(const json_t *r)
{
    char buf[512] = "";
    size_t i;
    json_t *rec;
    json_array_foreach(json_object_get(r, "transcript"), i, rec)
    {
        const char *t = wc_json_str(rec, "t");
        if (!strcmp(t, "ping"))
            strncat(buf,
                    json_is_true(json_object_get(rec, "answered")) ? "ping:answered "
                                                                   : "ping:unanswered ",
                    sizeof(buf) - strlen(buf) - 1);
        else if (!strcmp(t, "pong"))
            strncat(buf, "pong ", sizeof(buf) - strlen(buf) - 1);
    }
    return strdup(buf);
}

static void test_heartbeat_steps(void)
{
    alarm(20);
    /* a ping is recorded, answered with the same payload, and never seen by expect or quiet */
    json_t *r = run_case(NULL,
                         "  - connect: c1\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: ping}}\n"
                         "  - expect_ping: c1\n"
                         "  - expect: {c1: {kind: pong_seen, data: hb}}\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: pong}}\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: ping}}\n"
                         "  - quiet: c1\n"
                         "  - expect: {c1: {kind: pong_seen}}\n"
                         "  - quiet: c1\n"
                         "  - expect: {c1: none}\n",
                         2000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    char *cr = control_records(r);
    CU_ASSERT_STRING_EQUAL(cr, "ping:answered pong ping:answered ");
    free(cr);
    json_t *rec;
    size_t i;
    int hex = 0;
    json_array_foreach(json_object_get(r, "transcript"), i, rec)
    {
        if (!strcmp(wc_json_str(rec, "t"), "ping"))
            hex += wc_json_str(rec, "hex") && !strcmp(wc_json_str(rec, "hex"), "6862") &&
                   json_integer_value(json_object_get(rec, "len")) == 2;
    }
    CU_ASSERT_EQUAL(hex, 2);
    json_decref(r);

    /* pong: false withholds the pong: no pong_seen ever comes */
    r = run_case(NULL,
                 "  - connect: {client: c1, pong: false}\n"
                 "  - send: {c1: {type: chat.send, sessionId: $s1, content: ping}}\n"
                 "  - expect_ping: c1\n"
                 "  - quiet: c1\n"
                 "  - expect: {c1: none}\n",
                 2000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    cr = control_records(r);
    CU_ASSERT_STRING_EQUAL(cr, "ping:unanswered ");
    free(cr);
    int open_no_pong = 0;
    json_array_foreach(json_object_get(r, "transcript"), i, rec)
    {
        if (!strcmp(wc_json_str(rec, "t"), "open"))
            open_no_pong += json_is_false(json_object_get(rec, "pong"));
    }
    CU_ASSERT_EQUAL(open_no_pong, 1);
    json_decref(r);

    /* no ping: the wait (the safety timeout: the profile announces no interval) is settled by a
     * sentinel into FAILED, quickly */
    int64_t t0 = wc_now_ms();
    r = run_case(NULL, "  - connect: c1\n  - expect_ping: c1\n", 300);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(verdict(r), "FAILED");
    CU_ASSERT_STRING_EQUAL(first_message(r), "the expected ping never arrived");
    CU_ASSERT_PTR_NOT_NULL(strstr(first_diff(r), "no ping on c1 within 300 ms"));
    CU_ASSERT_TRUE(wc_now_ms() - t0 < 3000);
    json_decref(r);

    /* a close before the ping */
    r = run_case(NULL,
                 "  - connect: c1\n"
                 "  - send: {c1: {type: chat.send, sessionId: $s1, content: drop}}\n"
                 "  - expect_ping: c1\n",
                 1000);
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(first_message(r), "the connection closed before a ping arrived");
    json_decref(r);
}

static void test_pause_resume(void)
{
    alarm(20);
    /* frames that arrive while c1 is paused are read only after resume */
    json_t *r = run_case(NULL,
                         "  - connect: c1\n"
                         "  - pause: c1\n"
                         "  - send: {c1: {type: chat.send, sessionId: $s1, content: echo}}\n"
                         "  - note: still paused\n"
                         "  - resume: c1\n"
                         "  - expect: {c1: {kind: stream_delta, seq: 1}}\n"
                         "  - expect: {c1: {kind: complete, seq: 2}}\n"
                         "  - quiet: c1\n",
                         2000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    size_t i;
    json_t *rec;
    long resumed = -1, first_recv = -1, opened_tuned = 0;
    json_array_foreach(json_object_get(r, "transcript"), i, rec)
    {
        const char *t = wc_json_str(rec, "t");
        if (!strcmp(t, "note") && !strcmp(wc_json_str(rec, "text"), "c1 resumed"))
            resumed = (long)i;
        if (!strcmp(t, "recv") && first_recv < 0)
            first_recv = (long)i;
        if (!strcmp(t, "open"))
            opened_tuned = json_integer_value(json_object_get(json_object_get(rec, "tcp"), "mss"));
    }
    CU_ASSERT_TRUE(resumed > 0 && first_recv > resumed);
    CU_ASSERT_EQUAL(opened_tuned, 1400);
    json_decref(r);

    /* a client still paused at the end is resumed for the final round */
    r = run_case(NULL, "  - connect: c1\n  - pause: c1\n", 1000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    json_decref(r);
}

static void test_restart_disable_unimplemented(void)
{
    /* the fake profile has no disable_provider_args: UNIMPLEMENTED, nothing runs */
    json_t *r = run_case_meta(NULL, "own_target: true\n",
                              "  - restart: {target: true, disable_provider: codex}\n", 1000);
    CU_ASSERT_STRING_EQUAL(verdict(r), "UNIMPLEMENTED");
    CU_ASSERT_PTR_NOT_NULL(strstr(wc_json_str(r, "reason"), "disable_provider_args"));
    json_decref(r);
    /* a private gateway on a profile that cannot start one: UNIMPLEMENTED, never the shared one */
    r = run_case_meta(NULL, "own_target: true\n", "  - restart: {target: true}\n", 1000);
    CU_ASSERT_STRING_EQUAL(verdict(r), "UNIMPLEMENTED");
    CU_ASSERT_PTR_NOT_NULL(strstr(wc_json_str(r, "reason"), "needs a private gateway"));
    json_decref(r);
    char *err = NULL;
    json_t *names = json_pack("[s]", "codex");
    CU_ASSERT_FALSE(hn_target_can_disable(target));
    CU_ASSERT_EQUAL(hn_target_set_disabled(target, names, &err), WC_ERR_CONFIG);
    free(err);
    json_decref(names);
}

/* within_ms grades the arrival time: on time OK, late within twice the bound NON-STRICT (a `late`
 * failure, the case goes on), beyond FAILED without waiting for the safety timeout, early FAILED */
static const char *first_kind(const json_t *r)
{
    return wc_json_str(json_array_get(json_object_get(r, "failures"), 0), "kind");
}

static json_t *run_delay(int delay_ms, const char *within)
{
    char *steps = wc_xasprintf("  - connect: c1\n"
                               "  - send: {c1: {type: chat.send, sessionId: $s1, content: "
                               "\"delay:%d\"}}\n"
                               "  - expect: {c1: {kind: stream_delta, content: late}}\n"
                               "    within_ms: %s\n"
                               "  - quiet: c1\n",
                               delay_ms, within);
    json_t *r = run_case(NULL, steps, 3000);
    free(steps);
    return r;
}

static void test_within_grading(void)
{
    alarm(30);
    json_t *r = run_delay(0, "1000");
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    json_decref(r);

    r = run_delay(300, "200");
    show(r, "NON-STRICT");
    CU_ASSERT_STRING_EQUAL(verdict(r), "NON-STRICT");
    CU_ASSERT_STRING_EQUAL(first_kind(r), "late");
    CU_ASSERT_STRING_EQUAL(
        wc_json_str(json_array_get(json_object_get(r, "failures"), 0), "requirement"), "R-X-1");
    json_decref(r);

    int64_t t0 = wc_now_ms();
    r = run_delay(700, "100");
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(verdict(r), "FAILED");
    CU_ASSERT_STRING_EQUAL(first_message(r), "not within the time bound");
    CU_ASSERT_PTR_NOT_NULL(strstr(first_diff(r), "did not come within 200 ms, twice the bound of "
                                                 "100 ms"));
    CU_ASSERT_TRUE(wc_now_ms() - t0 < 2900); /* decided at the tolerance, not the 3 s timeout */
    json_decref(r);

    r = run_delay(0, "{max: 1000, min: 250}");
    show(r, "FAILED");
    CU_ASSERT_STRING_EQUAL(verdict(r), "FAILED");
    CU_ASSERT_STRING_EQUAL(first_message(r), "early: before the time bound's lower limit");
    json_decref(r);

    r = run_delay(300, "{max: 1000, min: 150}");
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    json_decref(r);
}

/* restart with SIGKILL is a crash: the gateway's TERM handler never runs (a clean restart runs it)
 */
static void test_restart_signal_kill(void)
{
    alarm(20);
    char path[64], mark[64], *err = NULL;
    snprintf(path, sizeof(path), "/tmp/gwspec-profile-kill-%d.yaml", (int)getpid());
    snprintf(mark, sizeof(mark), "/tmp/gwspec-kill-%d.mark", (int)getpid());
    unlink(mark);
    FILE *fp = fopen(path, "w");
    fprintf(fp,
            "name: traps-term\n"
            "start: {argv: [sh, -c, 'trap ''echo term >> %s; exit 0'' TERM; "
            "echo listening on 127.0.0.1:%d; while :; do sleep 0.05; done'], "
            "ready: 'listening on [^ :]+:([0-9]+)'}\n"
            "auth: {kind: token, users: {alice: good}}\n",
            mark, server_port);
    fclose(fp);
    struct hn_target *t = hn_target_load(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(hn_target_start(t, 5000, &err), 0);
    CU_ASSERT_EQUAL(hn_target_restart_signal(t, SIGTERM, 5000, &err), 0);
    CU_ASSERT_EQUAL(access(mark, F_OK), 0); /* the clean stop ran the handler */
    unlink(mark);
    pid_t before = t->pid;
    CU_ASSERT_EQUAL(hn_target_restart_signal(t, SIGKILL, 5000, &err), 0);
    CU_ASSERT_NOT_EQUAL(t->pid, before);
    CU_ASSERT_TRUE(hn_test_pid_dead(before));
    CU_ASSERT_NOT_EQUAL(access(mark, F_OK), 0); /* the crash did not */
    hn_target_free(t);
    unlink(path);
    unlink(mark);
    free(err);
}

/* auth: both sends the query token and a header token; token {of, cut|append} derive one */
static void test_auth_both_and_derived_tokens(void)
{
    alarm(20);
    json_t *r =
        run_case(NULL,
                 "  - connect: {client: c1, path: /ws-echo, auth: both}\n"
                 "  - expect: {c1: {kind: auth_seen, path: /ws-echo?token=good, bearer: good}}\n"
                 "  - connect: {client: c2, path: /ws-echo, auth: both, token: {of: bob, "
                 "append: x}, header_user: alice}\n"
                 "  - expect: {c2: {kind: auth_seen, path: /ws-echo?token=otherx, bearer: good}}\n"
                 "  - connect: {client: c3, path: /ws-echo, auth: both, header_token: {of: "
                 "alice, cut: 1}}\n"
                 "  - expect: {c3: {kind: auth_seen, path: /ws-echo?token=good, bearer: goo}}\n"
                 "  - connect: {client: c4, path: /ws-echo, auth: both, token: none, "
                 "header_user: alice}\n"
                 "  - expect: {c4: {kind: auth_seen, path: /ws-echo, bearer: good}}\n"
                 "  - connect: {client: c5, token: {of: alice, cut: 1}, expect_status: 401}\n",
                 2000);
    show(r, "OK");
    CU_ASSERT_STRING_EQUAL(verdict(r), "OK");
    json_decref(r);
    /* a user the target does not have, named by header_user or token.of: UNIMPLEMENTED */
    r = run_case(NULL, "  - connect: {client: c1, auth: both, header_user: zoe}\n", 2000);
    CU_ASSERT_STRING_EQUAL(verdict(r), "UNIMPLEMENTED");
    json_decref(r);
    r = run_case(NULL, "  - connect: {client: c1, token: {of: zoe, cut: 1}}\n", 2000);
    CU_ASSERT_STRING_EQUAL(verdict(r), "UNIMPLEMENTED");
    json_decref(r);
}

static CU_TestInfo runner_tests[] = {
    {"auth_both_and_derived_tokens", test_auth_both_and_derived_tokens},
    {"restart_signal_kill", test_restart_signal_kill},
    {"within_grading", test_within_grading},
    {"echo_ok", test_echo_ok},
    {"mismatch_failed_with_diff", test_mismatch_failed_with_diff},
    {"should_requirement_is_non_strict", test_should_requirement_is_non_strict},
    {"timeout_is_settled_not_hang", test_timeout_is_error_not_hang},
    {"garbage_and_huge_frames", test_garbage_and_huge_frames},
    {"close_codes", test_close_codes},
    {"auth", test_auth},
    {"provider_control_channel", test_provider_control_channel},
    {"group_and_alternatives", test_group_and_alternatives},
    {"quiet_catches_extra_frames", test_quiet_catches_extra_frames},
    {"http_step", test_http_step},
    {"needs_unimplemented", test_needs_unimplemented},
    {"unreachable_target_is_error", test_unreachable_target_is_error},
    {"send_raw_records", test_send_raw_records},
    {"quiet_period_profile", test_quiet_period_profile},
    {"heartbeat_steps", test_heartbeat_steps},
    {"pause_resume", test_pause_resume},
    {"restart_disable_unimplemented", test_restart_disable_unimplemented},
    {"ping_wait_from_profile", test_ping_wait_from_profile},
    {"close_wait_from_pong_timeout", test_close_wait_from_pong_timeout},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_runner_suites[] = {
    {.pName = "hn_runner", .pInitFunc = setup, .pCleanupFunc = teardown, .pTests = runner_tests},
    CU_SUITE_INFO_NULL,
};
