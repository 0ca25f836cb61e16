/*
 * test_e2e.c: the real server on a free port, driven over real sockets by a small raw
 * WebSocket client: REST session creation, the default script, abort, 401 at the upgrade, the
 * frame cap (1009) and heartbeat pings. The server loop runs in a thread; alarm() guards hangs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../mutants.h"
#include "../server.h"
#include "../users.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_time.h"

#include "wc_banned.h"

struct env {
    struct gw_server *srv;
    struct gw_users *users;
    pthread_t thread;
    int port;
};

static void *serve(void *arg)
{
    struct env *e = arg;
    gw_server_run(e->srv);
    return NULL;
}

/* The retention limits of the next env_up (all 0: the defaults). */
static struct gw_core_memory env_memory;
/* The dialect of the next env_up. */
static enum gw_dialect env_dialect = GW_DIALECT_CHATGW;

static bool env_up_cap(struct env *e, size_t max_frame, int64_t ping_ms, size_t send_cap)
{
    struct gw_server_opts o;
    char *err = NULL;

    memset(e, 0, sizeof(*e));
    e->users = gw_users_new();
    gw_users_add(e->users, "alice", "t1");
    memset(&o, 0, sizeof(o));
    o.users = e->users;
    o.max_frame = max_frame;
    o.ping_interval_ms = ping_ms;
    o.send_cap = send_cap;
    o.memory = env_memory;
    o.dialect = env_dialect;
    o.seed = 5;
    o.lws_log_mask = 0;
    e->srv = gw_server_new(&o, &err);
    if (!e->srv) {
        fprintf(stderr, "server: %s\n", err ? err : "?");
        free(err);
        gw_users_free(e->users);
        return false;
    }
    e->port = gw_server_port(e->srv);
    return pthread_create(&e->thread, NULL, serve, e) == 0;
}

static bool env_up(struct env *e, size_t max_frame, int64_t ping_ms)
{
    return env_up_cap(e, max_frame, ping_ms, 0);
}

static void env_down(struct env *e)
{
    gw_server_stop(e->srv);
    pthread_join(e->thread, NULL);
    gw_server_free(e->srv);
    gw_users_free(e->users);
}

static int tcp_connect(int port)
{
    struct sockaddr_in sa;
    struct timeval tv = {.tv_sec = 5};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool read_exact(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Read an HTTP response head and body (content-length). Returns the status, body in *body. */
static int http_read(int fd, char **body)
{
    char head[4096];
    size_t n = 0;
    int status = -1;
    const char *cl;
    size_t len = 0;

    *body = NULL;
    while (n < sizeof(head) - 1 && read_exact(fd, head + n, 1)) {
        n++;
        head[n] = '\0';
        if (n >= 4 && strcmp(head + n - 4, "\r\n\r\n") == 0)
            break;
    }
    if (sscanf(head, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    cl = strcasestr(head, "content-length:");
    if (cl)
        len = (size_t)strtoul(cl + 15, NULL, 10);
    *body = wc_xcalloc(1, len + 1);
    if (len && !read_exact(fd, *body, len))
        return -1;
    return status;
}

static char *create_session(int port)
{
    int fd = tcp_connect(port);
    const char *json = "{\"provider\":\"claude\",\"projectPath\":\"/tmp/p\"}";
    char *req = wc_xasprintf("POST /api/providers/sessions HTTP/1.1\r\nHost: x\r\n"
                             "Authorization: Bearer t1\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             strlen(json), json);
    char *body = NULL, *id = NULL;
    int status;
    json_t *v;

    if (fd < 0)
        return NULL;
    write_all(fd, req, strlen(req));
    status = http_read(fd, &body);
    CU_ASSERT_EQUAL(status, 201);
    v = body ? json_loads(body, 0, NULL) : NULL;
    if (wc_json_str(json_object_get(v, "data"), "sessionId"))
        id = wc_xstrdup(wc_json_str(json_object_get(v, "data"), "sessionId"));
    json_decref(v);
    free(body);
    free(req);
    close(fd);
    return id;
}

/*
 * Upgrade to /ws with the token in the query (or, when token starts with "Bearer ", in the
 * Authorization header). Returns the fd after a 101, or -1 (status in *status).
 */
static int ws_open(int port, const char *token, int *status)
{
    int fd = tcp_connect(port);
    bool header = strncmp(token, "Bearer ", 7) == 0;
    char *req;
    char *body = NULL;

    if (fd < 0)
        return -1;
    req = wc_xasprintf("GET /ws%s%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
                       header ? "" : "?token=", header ? "" : token,
                       header ? "Authorization: " : "", header ? token : "", header ? "\r\n" : "");
    write_all(fd, req, strlen(req));
    free(req);
    *status = http_read(fd, &body);
    free(body);
    if (*status != 101) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send one masked frame. */
static bool ws_send_frame(int fd, int opcode, const void *data, size_t len)
{
    unsigned char hdr[14];
    static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    size_t h = 0;
    unsigned char *buf;
    bool ok;

    hdr[h++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        hdr[h++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    memcpy(hdr + h, mask, 4);
    h += 4;
    buf = wc_xmalloc(h + len);
    memcpy(buf, hdr, h);
    for (size_t i = 0; i < len; i++)
        buf[h + i] = ((const unsigned char *)data)[i] ^ mask[i % 4];
    ok = write_all(fd, buf, h + len);
    free(buf);
    return ok;
}

static bool ws_send(int fd, const char *text)
{
    return ws_send_frame(fd, 1, text, strlen(text));
}

/* Next frame: opcode (-1 on error), payload in *data (new, NUL-terminated). */
static int ws_read(int fd, char **data, size_t *len)
{
    unsigned char h[2], ext[8];
    uint64_t n;
    int op;

    *data = NULL;
    if (!read_exact(fd, h, 2))
        return -1;
    op = h[0] & 0x0f;
    n = h[1] & 0x7f;
    if (n == 126) {
        if (!read_exact(fd, ext, 2))
            return -1;
        n = ((uint64_t)ext[0] << 8) | ext[1];
    } else if (n == 127) {
        if (!read_exact(fd, ext, 8))
            return -1;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | ext[i];
    }
    *data = wc_xcalloc(1, n + 1);
    if (n && !read_exact(fd, *data, n))
        return -1;
    *len = n;
    return op;
}

/* Next JSON text frame (answering pings on the way), or NULL. */
static json_t *ws_next_json(int fd)
{
    for (;;) {
        char *data;
        size_t len = 0;
        int op = ws_read(fd, &data, &len);
        json_t *v;
        if (op == 9) {
            ws_send_frame(fd, 10, data, len);
            free(data);
            continue;
        }
        if (op != 1) {
            free(data);
            return NULL;
        }
        v = json_loads(data, 0, NULL);
        free(data);
        return v;
    }
}

/* Next frame of this kind, skipping others (session_upserted, ...). */
static json_t *ws_expect(int fd, const char *kind)
{
    json_t *v;
    while ((v = ws_next_json(fd))) {
        if (wc_json_str(v, "kind") && strcmp(wc_json_str(v, "kind"), kind) == 0)
            return v;
        json_decref(v);
    }
    return NULL;
}

static void test_e2e_session_send_and_abort(void)
{
    struct env e;
    char *sid, *msg;
    int fd, status;
    json_t *v;

    alarm(30);
    CU_ASSERT_TRUE_FATAL(env_up(&e, 0, 0));
    sid = create_session(e.port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sid);
    CU_ASSERT_EQUAL(ws_open(e.port, "bad", &status), -1);
    CU_ASSERT_EQUAL(status, 401);
    CU_ASSERT_EQUAL(ws_open(e.port, "Bearer bad", &status), -1);
    CU_ASSERT_EQUAL(status, 401);
    fd = ws_open(e.port, "Bearer t1", &status);
    CU_ASSERT_EQUAL(status, 101);
    close(fd);
    gw_mutant_force(GW_MUT_BEARER_IGNORED);
    CU_ASSERT_EQUAL(ws_open(e.port, "Bearer t1", &status), -1);
    CU_ASSERT_EQUAL(status, 401);
    gw_mutant_force(GW_MUT_NONE);
    fd = ws_open(e.port, "t1", &status);
    CU_ASSERT_EQUAL_FATAL(status, 101);

    /* The default script: one stream_delta per word, then complete 0. */
    msg = wc_xasprintf("{\"type\":\"chat.send\",\"sessionId\":\"%s\",\"content\":\"hello world\"}",
                       sid);
    ws_send(fd, msg);
    free(msg);
    v = ws_expect(fd, "session_upserted");
    CU_ASSERT_PTR_NOT_NULL(v);
    json_decref(v);
    for (int i = 1; i <= 2; i++) {
        v = ws_next_json(fd);
        CU_ASSERT_STRING_EQUAL(wc_json_str(v, "kind"), "stream_delta");
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "seq")), i);
        CU_ASSERT_STRING_EQUAL(wc_json_str(v, "sessionId"), sid);
        json_decref(v);
    }
    v = ws_next_json(fd);
    CU_ASSERT_STRING_EQUAL(wc_json_str(v, "kind"), "complete");
    CU_ASSERT_TRUE(wc_json_bool(v, "success", false));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "seq")), 3);
    json_decref(v);

    /* A run that waits for the abort: exactly one aborted complete. */
    msg =
        wc_xasprintf("{\"type\":\"chat.send\",\"sessionId\":\"%s\",\"content\":\"gwspec:{\\\"v\\\":"
                     "1,\\\"script\\\":[{\\\"emit\\\":{\\\"kind\\\":\\\"text\\\",\\\"content\\\":"
                     "\\\"t\\\"}},{\\\"wait_abort\\\":true},{\\\"complete\\\":0}]}\"}",
                     sid);
    ws_send(fd, msg);
    free(msg);
    v = ws_next_json(fd);
    CU_ASSERT_STRING_EQUAL(wc_json_str(v, "kind"), "text");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "seq")), 1);
    json_decref(v);
    msg = wc_xasprintf("{\"type\":\"chat.abort\",\"sessionId\":\"%s\"}", sid);
    ws_send(fd, msg);
    v = ws_next_json(fd);
    CU_ASSERT_STRING_EQUAL(wc_json_str(v, "kind"), "complete");
    CU_ASSERT_TRUE(wc_json_bool(v, "aborted", false));
    CU_ASSERT_FALSE(wc_json_bool(v, "success", true));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "exitCode")), 0);
    json_decref(v);
    /* A second abort: NO_ACTIVE_RUN, and the socket is still fine. */
    ws_send(fd, msg);
    free(msg);
    v = ws_next_json(fd);
    CU_ASSERT_STRING_EQUAL(wc_json_str(v, "code"), "NO_ACTIVE_RUN");
    json_decref(v);
    ws_send(fd, "{not json");
    v = ws_next_json(fd);
    CU_ASSERT_STRING_EQUAL(wc_json_str(v, "error"), "Invalid websocket payload");
    json_decref(v);
    close(fd);
    free(sid);
    env_down(&e);
    alarm(0);
}

/* Returns the close code of an oversized message, or 0 if it was answered instead. */
static int oversized(int port)
{
    int status, fd = ws_open(port, "t1", &status);
    char *big = wc_xmalloc(5000), *data;
    size_t len = 0;
    int op, code = -1;

    memset(big, 'x', 5000);
    ws_send_frame(fd, 1, big, 5000);
    free(big);
    op = ws_read(fd, &data, &len);
    if (op == 8 && len >= 2)
        code = ((unsigned char)data[0] << 8) | (unsigned char)data[1];
    else if (op == 1)
        code = 0;
    free(data);
    close(fd);
    return code;
}

static void test_e2e_frame_cap_closes_1009_only_that_socket(void)
{
    struct env e;
    int status, other;
    json_t *v;

    alarm(30);
    CU_ASSERT_TRUE_FATAL(env_up(&e, 4096, 0));
    other = ws_open(e.port, "t1", &status);
    CU_ASSERT_EQUAL(oversized(e.port), 1009);
    ws_send(other, "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"x\"}]}");
    v = ws_next_json(other);
    CU_ASSERT_STRING_EQUAL(wc_json_str(v, "kind"), "chat_subscribed");
    json_decref(v);
    close(other);
    gw_mutant_force(GW_MUT_NO_FRAME_CAP);
    CU_ASSERT_EQUAL(oversized(e.port), 0);
    gw_mutant_force(GW_MUT_NONE);
    env_down(&e);
    alarm(0);
}

/* The close code of a text message that is not UTF-8, or 0 if it was answered instead. */
static int bad_utf8_text(int port)
{
    static const char frame[] =
        "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"\xff\"}]}";
    int status, fd = ws_open(port, "t1", &status);
    char *data;
    size_t len = 0;
    int op, code = -1;

    ws_send_frame(fd, 1, frame, sizeof(frame) - 1);
    op = ws_read(fd, &data, &len);
    if (op == 8 && len >= 2)
        code = ((unsigned char)data[0] << 8) | (unsigned char)data[1];
    else if (op == 1)
        code = 0;
    free(data);
    close(fd);
    return code;
}

/* R-IN-6: lws reads the option at context creation, so the mutant is set before env_up. */
static void test_e2e_bad_utf8_text_closes_1007(void)
{
    struct env e;

    alarm(30);
    CU_ASSERT_TRUE_FATAL(env_up(&e, 0, 0));
    CU_ASSERT_EQUAL(bad_utf8_text(e.port), 1007);
    env_down(&e);
    gw_mutant_force(GW_MUT_UTF8_UNCHECKED);
    CU_ASSERT_TRUE_FATAL(env_up(&e, 0, 0));
    CU_ASSERT_EQUAL(bad_utf8_text(e.port), 0);
    env_down(&e);
    gw_mutant_force(GW_MUT_NONE);
    alarm(0);
}

/* A create with Content-Length: cl and no body: the status, or -1 when nothing came in 1 s. */
static int bad_length_status(int port, const char *cl)
{
    int fd = tcp_connect(port);
    struct timeval tv = {.tv_sec = 1};
    char *req = wc_xasprintf("POST /api/providers/sessions HTTP/1.1\r\nHost: x\r\n"
                             "Authorization: Bearer t1\r\nContent-Length: %s\r\n\r\n",
                             cl);
    char *body = NULL;
    int status;

    if (fd < 0) {
        free(req);
        return -2;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    write_all(fd, req, strlen(req));
    status = http_read(fd, &body);
    free(body);
    free(req);
    close(fd);
    return status;
}

/* R-LIMIT-4: lws reads Content-Length with atoll; the reference answers 400 before that. */
static void test_e2e_bad_content_length_400(void)
{
    static const char *const bad[] = {"-5", "+5", "1x", "abc"};
    struct env e;

    alarm(30);
    CU_ASSERT_TRUE_FATAL(env_up(&e, 0, 0));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(bad_length_status(e.port, bad[i]), 400);
    CU_ASSERT_EQUAL(bad_length_status(e.port, "2000000"), 413);
    gw_mutant_force(GW_MUT_BAD_LENGTH_WAITS);
    CU_ASSERT_EQUAL(bad_length_status(e.port, "-5"), -1);
    gw_mutant_force(GW_MUT_NONE);
    env_down(&e);
    alarm(0);
}

static bool got_ping(int port)
{
    int status, fd = ws_open(port, "t1", &status);
    struct timeval tv = {.tv_sec = 1};
    char *data;
    size_t len;
    int op;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    op = ws_read(fd, &data, &len);
    free(data);
    close(fd);
    return op == 9;
}

static void test_e2e_heartbeat_pings(void)
{
    struct env e;

    alarm(30);
    CU_ASSERT_TRUE_FATAL(env_up(&e, 0, 100));
    CU_ASSERT_TRUE(got_ping(e.port));
    gw_mutant_force(GW_MUT_NO_PING);
    CU_ASSERT_FALSE(got_ping(e.port));
    gw_mutant_force(GW_MUT_NONE);
    env_down(&e);
    alarm(0);
}

/* The ack's lastSeq for sid on fd (-1 when none came). */
static int64_t subscribed_last_seq(int fd, const char *sid)
{
    char *msg =
        wc_xasprintf("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"%s\"}]}", sid);
    json_t *v;
    int64_t seq = -1;

    ws_send(fd, msg);
    free(msg);
    v = ws_expect(fd, "chat_subscribed");
    if (v)
        seq = json_integer_value(json_object_get(v, "lastSeq"));
    json_decref(v);
    return seq;
}

/*
 * Issue 18: --retain-ms reaches the core and the server's deadline timer releases a completed
 * run by itself (no frame of a client ticks the core): its lastSeq goes back to 0 (R-SUB-4).
 */
static void test_e2e_completed_run_released_by_timer(void)
{
    struct env e;
    char *sid, *msg;
    int fd, status;
    int64_t seq = -1, deadline;
    json_t *v;

    alarm(30);
    env_memory.retain_ms = 100;
    CU_ASSERT_TRUE_FATAL(env_up(&e, 0, 0));
    env_memory.retain_ms = 0;
    sid = create_session(e.port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sid);
    fd = ws_open(e.port, "t1", &status);
    CU_ASSERT_EQUAL_FATAL(status, 101);
    msg =
        wc_xasprintf("{\"type\":\"chat.send\",\"sessionId\":\"%s\",\"content\":\"one two\"}", sid);
    ws_send(fd, msg);
    free(msg);
    v = ws_expect(fd, "complete");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    json_decref(v);
    /* Poll until released; the verdict is what the ack says, the deadline only ends a failure. */
    deadline = wc_now_ms() + 10000;
    while (wc_now_ms() < deadline && (seq = subscribed_last_seq(fd, sid)) != 0)
        usleep(20 * 1000);
    CU_ASSERT_EQUAL(seq, 0);
    close(fd);
    free(sid);
    env_down(&e);
    alarm(0);
}

/* R-LIMIT-2: a socket that does not read is dropped at its send cap; others carry on. */
static void test_e2e_send_cap_drops_slow_reader(void)
{
    struct env e;
    char *sid, *msg, *data;
    int slow, other, status, op;
    size_t len;
    json_t *v;

    alarm(30);
    CU_ASSERT_TRUE_FATAL(env_up_cap(&e, 0, 0, 64 * 1024));
    sid = create_session(e.port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sid);
    slow = ws_open(e.port, "t1", &status);
    other = ws_open(e.port, "t1", &status);
    msg = wc_xasprintf(
        "{\"type\":\"chat.send\",\"sessionId\":\"%s\",\"content\":\"gwspec:{\\\"v\\\":"
        "1,\\\"script\\\":[{\\\"emit_many\\\":{\\\"count\\\":5000,\\\"kind\\\":"
        "\\\"stream_delta\\\",\\\"content\\\":\\\"d%%d\\\"}},{\\\"wait_abort\\\":true}]}\"}",
        sid);
    ws_send(slow, msg);
    free(msg);
    /* The other socket is served at once. */
    ws_send(other, "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"x\"}]}");
    v = ws_expect(other, "chat_subscribed");
    CU_ASSERT_PTR_NOT_NULL(v);
    json_decref(v);
    /* The slow one finds its connection gone after whatever the kernel had taken. */
    do {
        op = ws_read(slow, &data, &len);
        free(data);
    } while (op == 1 || op == 9);
    CU_ASSERT_EQUAL(op, -1);
    close(slow);
    close(other);
    free(sid);
    env_down(&e);
    alarm(0);
}

/*
 * Issue 18: a directive whose control address is not loopback is refused like any other invalid
 * directive (an error event, then complete exit 1), and the gateway does not connect to it.
 */
static void test_e2e_ctl_not_loopback_refused(void)
{
    struct env e;
    char *sid, *msg;
    int fd, status;
    json_t *v;

    alarm(30);
    CU_ASSERT_TRUE_FATAL(env_up(&e, 0, 0));
    sid = create_session(e.port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sid);
    fd = ws_open(e.port, "t1", &status);
    CU_ASSERT_EQUAL_FATAL(status, 101);
    msg = wc_xasprintf(
        "{\"type\":\"chat.send\",\"sessionId\":\"%s\",\"content\":\"gwspec:{\\\"v\\\":"
        "1,\\\"ctl\\\":\\\"192.0.2.1:9\\\",\\\"script\\\":[{\\\"emit\\\":{"
        "\\\"kind\\\":\\\"text\\\",\\\"content\\\":\\\"t\\\"}},{\\\"complete\\\":0}]}\"}",
        sid);
    ws_send(fd, msg);
    free(msg);
    v = ws_expect(fd, "error");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_PTR_NOT_NULL(strstr(wc_json_str(v, "content"), "'192.0.2.1' is not loopback"));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "seq")), 1);
    json_decref(v);
    v = ws_next_json(fd);
    CU_ASSERT_STRING_EQUAL(wc_json_str(v, "kind"), "complete");
    CU_ASSERT_FALSE(wc_json_bool(v, "success", true));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "exitCode")), 1);
    json_decref(v);
    close(fd);
    free(sid);
    env_down(&e);
    alarm(0);
}

/* One plain HTTP request; its status, and its body in *body (new). */
static int http_once(int port, const char *method, const char *path, char **body)
{
    int fd = tcp_connect(port);
    char *req =
        wc_xasprintf("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", method, path);
    int status;

    *body = NULL;
    if (fd < 0) {
        free(req);
        return -2;
    }
    write_all(fd, req, strlen(req));
    status = http_read(fd, body);
    free(req);
    close(fd);
    return status;
}

/* A chat.delta's event type, or the frame's type ("" when there is none). */
static const char *dtype(const json_t *v)
{
    const char *t = wc_json_str(v, "type");
    if (t && !strcmp(t, "chat.delta"))
        t = wc_json_str(json_object_get(v, "event"), "type");
    return t ? t : "";
}

/* --dialect dispatch over real sockets: 426, the catalog, a turn of the default script, the
 * HTTP API. */
static void test_e2e_dispatch(void)
{
    static const char *const turn[] = {"conversation.statusChanged",
                                       "user-message",
                                       "turn-start",
                                       "text-delta",
                                       "text-delta",
                                       "step-complete",
                                       "done",
                                       "turn-sealed",
                                       "conversation.statusChanged",
                                       NULL};
    struct env e;
    char *body;
    int fd, status;
    json_t *v;

    alarm(30);
    env_dialect = GW_DIALECT_DISPATCH;
    CU_ASSERT_TRUE_FATAL(env_up(&e, 0, 0));
    env_dialect = GW_DIALECT_CHATGW;
    CU_ASSERT_EQUAL(http_once(e.port, "GET", "/", &body), 426);
    CU_ASSERT_STRING_EQUAL(body ? body : "", "expected websocket");
    free(body);
    fd = ws_open(e.port, "no-token-needed", &status);
    CU_ASSERT_EQUAL_FATAL(status, 101);
    v = ws_next_json(fd);
    CU_ASSERT_STRING_EQUAL(dtype(v), "catalog");
    json_decref(v);
    ws_send(fd, "{\"type\":\"chat.send\",\"conversationId\":\"c1\",\"message\":\"hello world\"}");
    for (int i = 0; turn[i]; i++) {
        v = ws_next_json(fd);
        CU_ASSERT_STRING_EQUAL(dtype(v), turn[i]);
        json_decref(v);
    }
    ws_send(fd, "{");
    v = ws_next_json(fd);
    CU_ASSERT_STRING_EQUAL(wc_json_str(v, "message") ? wc_json_str(v, "message") : "",
                           "Invalid JSON");
    json_decref(v);
    CU_ASSERT_EQUAL(http_once(e.port, "GET", "/conversations/c1?sinceSeq=1", &body), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body ? body : "", "\"latestSeq\":2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(body ? body : "", "\"text\":\"hello world\""));
    free(body);
    CU_ASSERT_EQUAL(http_once(e.port, "POST", "/conversations/c1/close", &body), 200);
    CU_ASSERT_STRING_EQUAL(body ? body : "", "{\"abortedTurn\":false}");
    free(body);
    v = ws_next_json(fd);
    CU_ASSERT_STRING_EQUAL(wc_json_str(v, "status") ? wc_json_str(v, "status") : "", "closed");
    json_decref(v);
    close(fd);
    env_down(&e);
    alarm(0);
}

static CU_TestInfo e2e_tests[] = {
    {"dispatch", test_e2e_dispatch},
    {"ctl_not_loopback_refused", test_e2e_ctl_not_loopback_refused},
    {"send_cap_drops_slow_reader", test_e2e_send_cap_drops_slow_reader},
    {"session_send_and_abort", test_e2e_session_send_and_abort},
    {"frame_cap_closes_1009_only_that_socket", test_e2e_frame_cap_closes_1009_only_that_socket},
    {"heartbeat_pings", test_e2e_heartbeat_pings},
    {"completed_run_released_by_timer", test_e2e_completed_run_released_by_timer},
    {"bad_utf8_text_closes_1007", test_e2e_bad_utf8_text_closes_1007},
    {"bad_content_length_400", test_e2e_bad_content_length_400},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo gw_e2e_suites[] = {
    {.pName = "gw_e2e", .pTests = e2e_tests},
    CU_SUITE_INFO_NULL,
};
