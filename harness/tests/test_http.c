/*
 * test_http.c: CUnit tests for harness/exec/http.c (suite hn_http): the response parser
 * (chunked and Content-Length bodies, in every split of the bytes, and broken responses), and
 * hn_http_request against loopback listeners: a round trip, a refused port, the deadline.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "exec/http.h"
#include "wc_err.h"
#include "wc_time.h"

static void test_http_parse(void)
{
    struct hn_http_resp r;
    char *err = NULL;
    const char *chunked =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
    CU_ASSERT_EQUAL(hn_http_parse_response(chunked, strlen(chunked), false, &r, &err), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(r.json, "a")), 1);
    hn_http_resp_release(&r);
    const char *part = "HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\n{\"a\"";
    CU_ASSERT_EQUAL(hn_http_parse_response(part, strlen(part), false, &r, &err), WC_ERR_INCOMPLETE);
    CU_ASSERT_EQUAL(hn_http_parse_response(part, strlen(part), true, &r, &err), WC_ERR_PARSE);
    free(err);
    err = NULL;
    CU_ASSERT_EQUAL(hn_http_parse_response("garbage\r\n\r\n", 11, true, &r, &err), WC_ERR_PARSE);
    free(err);
}

/* Every split of a response: before the body is whole the parser wants more (eof false); from
 * the point it is whole, the same status and body. complete_at: the length from which it is. */
static void every_split(const char *resp, size_t complete_at, int status, const char *body)
{
    size_t n = strlen(resp), bad = 0;

    for (size_t cut = 0; cut <= n; cut++) {
        struct hn_http_resp r;
        char *err = NULL;
        int rc = hn_http_parse_response(resp, cut, false, &r, &err);
        bool ok = cut < complete_at ? rc == WC_ERR_INCOMPLETE
                                    : rc == 0 && r.status == status && r.body_len == strlen(body) &&
                                          !memcmp(r.body, body, r.body_len);
        if (!ok && !bad++)
            fprintf(stderr, "\n    cut %zu of %zu: rc %d\n", cut, n, rc);
        if (rc == 0)
            hn_http_resp_release(&r);
        free(err);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_parse_every_split(void)
{
    static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "5\r\n{\"ok\"\r\na\r\n:true,\"n\":\r\n2\r\n7}\r\n0\r\n\r\n";
    static const char sized[] = "HTTP/1.1 201 Created\r\ncontent-length: 8\r\n\r\n{\"id\":1}";

    /* the chunked body is whole once the last chunk's line ("0\r\n") is in */
    every_split(chunked, strlen(chunked) - 2, 200, "{\"ok\":true,\"n\":7}");
    every_split(sized, strlen(sized), 201, "{\"id\":1}");
    /* and the body parsed as JSON */
    struct hn_http_resp r;
    char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(hn_http_parse_response(chunked, strlen(chunked), true, &r, &err), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(r.json, "n")), 7);
    hn_http_resp_release(&r);
}

static void test_parse_broken(void)
{
    struct hn_http_resp r;
    char *err = NULL;

    /* a body without a length ends at eof; 204 has none */
    CU_ASSERT_EQUAL(hn_http_parse_response("HTTP/1.1 200 OK\r\n\r\nab", 21, false, &r, &err),
                    WC_ERR_INCOMPLETE);
    CU_ASSERT_EQUAL_FATAL(hn_http_parse_response("HTTP/1.1 200 OK\r\n\r\nab", 21, true, &r, &err),
                          0);
    CU_ASSERT_EQUAL(r.body_len, 2);
    CU_ASSERT_PTR_NULL(r.json); /* not JSON */
    hn_http_resp_release(&r);
    const char *none = "HTTP/1.1 204 No Content\r\n\r\n";
    CU_ASSERT_EQUAL_FATAL(hn_http_parse_response(none, strlen(none), false, &r, &err), 0);
    CU_ASSERT_EQUAL(r.status, 204);
    hn_http_resp_release(&r);
    /* broken: a status out of range, headers cut at eof, nothing at all, a bad chunk size */
    const char *bad[] = {"HTTP/1.1 999 Odd\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Len", "",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        CU_ASSERT_EQUAL(hn_http_parse_response(bad[i], strlen(bad[i]), true, &r, &err),
                        WC_ERR_PARSE);
        CU_ASSERT_PTR_NOT_NULL(err);
        free(err);
    }
}

/* A body over HN_HTTP_MAX_BODY: refused with an error naming the cap, never held. */
static void test_parse_over_cap(void)
{
    struct hn_http_resp r;
    char *err = NULL;
    const char *big = "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n{";
    /* said at once, before the body came (not incomplete) */
    CU_ASSERT_EQUAL(hn_http_parse_response(big, strlen(big), false, &r, &err), WC_ERR_TOO_BIG);
    CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "cap of 8388608 bytes") : NULL);
    free(err);
    err = NULL;
    /* a chunk size that would wrap n + 2, and one just over the cap */
    const char *chunks[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800001\r\nab"};
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(hn_http_parse_response(chunks[i], strlen(chunks[i]), false, &r, &err),
                        WC_ERR_TOO_BIG);
        CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "cap of 8388608 bytes") : NULL);
        free(err);
        err = NULL;
    }
}

/* ---- requests over loopback ---------------------------------------------------------------- */

static int listen_loopback(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);

    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) ||
        getsockname(l, (struct sockaddr *)&a, &alen)) {
        if (l >= 0)
            close(l);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return l;
}

/* The child: accept one connection, read the request (head and Content-Length body), answer
 * 201 with the request itself as the body, in two writes. */
static void echo_server(int l)
{
    char req[8192];
    size_t n = 0;
    int s = accept(l, NULL, NULL);

    if (s < 0)
        _exit(1);
    for (;;) {
        ssize_t r = read(s, req + n, sizeof(req) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = '\0';
        char *end = strstr(req, "\r\n\r\n"), *cl = strcasestr(req, "content-length:");
        if (end && (!cl || n >= (size_t)(end + 4 - req) + strtoul(cl + 15, NULL, 10)))
            break;
    }
    char head[128];
    int h = snprintf(head, sizeof(head), "HTTP/1.1 201 Created\r\nContent-Length: %zu\r\n\r\n", n);
    if (write(s, head, (size_t)h) != h || write(s, req, n) != (ssize_t)n)
        _exit(1);
    close(s);
    _exit(0);
}

static void test_request_round_trip(void)
{
    int port, l = listen_loopback(&port), status;
    struct hn_http_resp r;
    char *err = NULL;

    alarm(10);
    CU_ASSERT_FATAL(l >= 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        echo_server(l);
    close(l);
    json_t *body = json_pack("{si}", "a", 1);
    int rc =
        hn_http_request("127.0.0.1", port, "POST", "/api/sessions", "tok", body, 5000, &r, &err);
    json_decref(body);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "POST /api/sessions HTTP/1.1\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\r\nAuthorization: Bearer tok\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\r\nContent-Type: application/json\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\r\nConnection: close\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\r\n\r\n{\"a\":1}"));
    hn_http_resp_release(&r);
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    alarm(0);
}

static void test_request_refused_and_deadline(void)
{
    int port, l = listen_loopback(&port);
    struct hn_http_resp r;
    char *err = NULL;

    alarm(10);
    CU_ASSERT_FATAL(l >= 0);
    /* a listener that never answers (the kernel completes the connection; nobody reads) */
    int64_t t0 = wc_now_ms();
    CU_ASSERT_EQUAL(hn_http_request("127.0.0.1", port, "GET", "/x", NULL, NULL, 300, &r, &err),
                    WC_ERR_TIMEOUT);
    int64_t took = wc_now_ms() - t0;
    CU_ASSERT_TRUE(took >= 300 && took < 3000);
    CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "within 300 ms") : NULL);
    free(err);
    err = NULL;
    /* the same port once closed: refused, an I/O error with a reason */
    close(l);
    CU_ASSERT_EQUAL(hn_http_request("127.0.0.1", port, "GET", "/x", NULL, NULL, 2000, &r, &err),
                    WC_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(err);
    free(err);
    alarm(0);
}

/* The child: accept one connection and send a head with no length, then body bytes until the
 * client goes (a hostile REST answer that never ends). */
static void endless_server(int l)
{
    static char buf[65536];
    int s = accept(l, NULL, NULL);

    signal(SIGPIPE, SIG_IGN);
    if (s < 0)
        _exit(1);
    memset(buf, 'x', sizeof(buf));
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
    if (write(s, head, strlen(head)) < 0)
        _exit(1);
    for (int i = 0; i < 1024; i++) { /* 64 MiB at most */
        if (write(s, buf, sizeof(buf)) < 0)
            break;
    }
    close(s);
    _exit(0);
}

static void test_request_over_cap(void)
{
    int port, l = listen_loopback(&port), status;
    struct hn_http_resp r;
    char *err = NULL;

    alarm(20);
    CU_ASSERT_FATAL(l >= 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        endless_server(l);
    close(l);
    CU_ASSERT_EQUAL(hn_http_request("127.0.0.1", port, "GET", "/big", NULL, NULL, 10000, &r, &err),
                    WC_ERR_TOO_BIG);
    CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "GET /big: response over the harness's cap") : NULL);
    free(err);
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    alarm(0);
}

static CU_TestInfo http_tests[] = {
    {"http_parse", test_http_parse},
    {"responses in every split", test_parse_every_split},
    {"bodies without a length, broken responses", test_parse_broken},
    {"a body over the cap is refused, naming it", test_parse_over_cap},
    {"request round trip over loopback", test_request_round_trip},
    {"refused port and deadline", test_request_refused_and_deadline},
    {"an endless response stops at the cap", test_request_over_cap},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_http_suites[] = {
    {"hn_http", NULL, NULL, NULL, NULL, http_tests},
    CU_SUITE_INFO_NULL,
};
