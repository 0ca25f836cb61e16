/*
 * test_serve.c: CUnit tests for harness/exec/serve.c (suite hn_serve) and the server side of
 * ws.c: the upgrade request parser, the Sec-WebSocket-Accept value (RFC 6455 4.2.2's example),
 * unmasked server frames, and a real loopback client taken by the listener with its request.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "exec/serve.h"
#include "exec/ws.h"
#include "wc_time.h"

static void test_accept_value(void)
{
    char out[64];
    hn_srv_accept_value("dGhlIHNhbXBsZSBub25jZQ==", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_parse_request(void)
{
    const char *r = "GET /v1/sessions/ws/abc/subscribe?x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: "
                    "WebSocket\r\nAuthorization:  Bearer t0k\r\nSec-WebSocket-Key: k==\r\n\r\n";
    char *why = NULL;
    json_t *j = hn_srv_parse_request(r, strlen(r), &why);

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "path")),
                           "/v1/sessions/ws/abc/subscribe?x=1");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(j, "headers"), "authorization")),
        "Bearer t0k");
    CU_ASSERT_TRUE(json_is_true(json_object_get(j, "upgrade")));
    json_decref(j);

    const char *plain = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    j = hn_srv_parse_request(plain, strlen(plain), &why);
    CU_ASSERT_TRUE(json_is_false(json_object_get(j, "upgrade"))); /* no Upgrade, no key */
    json_decref(j);

    j = hn_srv_parse_request("HELLO\r\n\r\n", 9, &why);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_PTR_NOT_NULL(why);
    free(why);
}

/* A server's frames are not masked; its parser takes the client's masked frames. */
static void test_server_frames(void)
{
    struct hn_ws w;
    struct hn_ws_event ev;
    char *why = NULL;

    hn_ws_init(&w, -1, NULL);
    w.server = true;
    hn_ws_frame(&w, HN_WS_TEXT, true, "hi", 2);
    CU_ASSERT_EQUAL(w.tx.len, 4);
    CU_ASSERT_EQUAL((unsigned char)w.tx.buf[1], 2); /* no mask bit */
    CU_ASSERT_EQUAL(memcmp(w.tx.buf + 2, "hi", 2), 0);
    /* a masked client frame "ok" */
    const unsigned char in[] = {0x81, 0x82, 1, 2, 3, 4, 'o' ^ 1, 'k' ^ 2};
    hn_ws_feed(&w, in, sizeof(in));
    CU_ASSERT_EQUAL(hn_ws_next(&w, &ev, &why), 1);
    CU_ASSERT_EQUAL(ev.type, HN_WS_EV_MESSAGE);
    CU_ASSERT_EQUAL(ev.len, 2);
    CU_ASSERT_EQUAL(memcmp(ev.data, "ok", 2), 0);
    hn_ws_event_release(&ev);
    hn_ws_release(&w);
}

/* The listener takes a loopback connection, stamps it, and reads its request as it comes. */
static void test_listener(void)
{
    struct hn_srv s;
    char *err = NULL;
    struct pollfd fds[8];

    CU_ASSERT_EQUAL_FATAL(hn_srv_open(&s, &err), 0);
    CU_ASSERT_TRUE(s.port > 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)s.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CU_ASSERT_EQUAL_FATAL(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    const char *part1 = "GET /x HTTP/1.1\r\nUpgrade: websocket\r\n";
    const char *part2 = "Sec-WebSocket-Key: k==\r\n\r\n";
    CU_ASSERT_EQUAL(send(fd, part1, strlen(part1), 0), (ssize_t)strlen(part1));
    int64_t deadline = wc_now_ms() + 2000;
    while (s.n == 0 && wc_now_ms() < deadline) {
        size_t n = hn_srv_pollfds(&s, fds, 8);
        poll(fds, n, 100);
        hn_srv_handle(&s, fds, n, wc_now_ms());
    }
    CU_ASSERT_EQUAL_FATAL(s.n, 1);
    CU_ASSERT_EQUAL(s.at[0].hdr_len, 0); /* not whole yet */
    CU_ASSERT_TRUE(s.at[0].lo_ms <= s.at[0].seen_ms);
    CU_ASSERT_EQUAL(send(fd, part2, strlen(part2), 0), (ssize_t)strlen(part2));
    deadline = wc_now_ms() + 2000;
    while (!s.at[0].hdr_len && wc_now_ms() < deadline) {
        size_t n = hn_srv_pollfds(&s, fds, 8);
        poll(fds, n, 100);
        hn_srv_handle(&s, fds, n, wc_now_ms());
    }
    CU_ASSERT_EQUAL(s.at[0].hdr_len, strlen(part1) + strlen(part2));
    close(fd);
    hn_srv_close(&s);
}

static CU_TestInfo serve_tests[] = {
    {"Sec-WebSocket-Accept of RFC 6455's example key", test_accept_value},
    {"upgrade request: path, lowercase headers, upgrade flag, not HTTP", test_parse_request},
    {"server frames unmasked, client frames unmasked on parse", test_server_frames},
    {"listener: an attempt stamped, its request read in two parts", test_listener},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_serve_suites[] = {
    {"hn_serve", NULL, NULL, NULL, NULL, serve_tests},
    CU_SUITE_INFO_NULL,
};
