/*
 * test_net.c: CUnit tests for harness/exec/net.c (suite hn_net): a connection to a listening
 * loopback port is made and comes back nonblocking, close-on-exec and with Nagle off; the tuned
 * variant sets the receive buffer and MSS; a refused port is -1 with an error; a connection the
 * peer never completes (its accept queue is full) gives up at the deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "exec/net.h"
#include "wc_time.h"

/* A loopback listener with the given backlog; its port in *port. fd or -1. */
static int listen_loopback(int backlog, int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);

    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, backlog) ||
        getsockname(l, (struct sockaddr *)&a, &alen)) {
        if (l >= 0)
            close(l);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return l;
}

static void test_connect_to_listener(void)
{
    int port, l = listen_loopback(4, &port), v;
    socklen_t vl = sizeof(v);
    char *err = NULL;

    CU_ASSERT_FATAL(l >= 0);
    int fd = hn_net_connect("127.0.0.1", port, wc_now_ms() + 5000, &err);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
    CU_ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CU_ASSERT_EQUAL(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
    CU_ASSERT_TRUE(v != 0);
    /* the other end is there: bytes go through */
    int s = accept(l, NULL, NULL);
    CU_ASSERT_FATAL(s >= 0);
    CU_ASSERT_EQUAL(write(fd, "hi", 2), 2);
    char buf[2];
    CU_ASSERT_EQUAL(read(s, buf, 2), 2);
    CU_ASSERT_EQUAL(memcmp(buf, "hi", 2), 0);
    close(s);
    close(fd);
    /* by name too */
    fd = hn_net_connect("localhost", port, wc_now_ms() + 5000, &err);
    if (fd < 0) { /* localhost may resolve to ::1 first; the loop must go on to 127.0.0.1 */
        fprintf(stderr, "\n    localhost: %s\n", err);
        free(err);
        err = NULL;
    }
    CU_ASSERT_TRUE(fd >= 0);
    if (fd >= 0)
        close(fd);
    close(l);
}

static void test_connect_tuned(void)
{
    int port, l = listen_loopback(4, &port), v = 0;
    socklen_t vl = sizeof(v);
    char *err = NULL;

    CU_ASSERT_FATAL(l >= 0);
    int fd = hn_net_connect_tuned("127.0.0.1", port, wc_now_ms() + 5000, 4096, 1000, &err);
    CU_ASSERT_FATAL(fd >= 0);
    /* the kernel doubles what it is given (socket(7)), but keeps it small */
    CU_ASSERT_EQUAL(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &vl), 0);
    CU_ASSERT_TRUE(v >= 4096 && v <= 4 * 4096);
    vl = sizeof(v);
    CU_ASSERT_EQUAL(getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &v, &vl), 0);
    CU_ASSERT_TRUE(v > 0 && v <= 1000);
    close(fd);
    close(l);
}

/* A connection from another loopback source address (gwspec load past one address's ports). */
static void test_connect_from_source(void)
{
    int port, l = listen_loopback(4, &port);
    struct sockaddr_in peer;
    socklen_t pl = sizeof(peer);
    char *err = NULL, ip[INET_ADDRSTRLEN];

    CU_ASSERT_FATAL(l >= 0);
    int fd = hn_net_connect_from("127.0.0.1", port, "127.0.0.7", wc_now_ms() + 5000, 0, 0, &err);
    CU_ASSERT_FATAL(fd >= 0);
    int a = accept(l, (struct sockaddr *)&peer, &pl);
    CU_ASSERT_FATAL(a >= 0);
    CU_ASSERT_PTR_NOT_NULL(inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip)));
    CU_ASSERT_STRING_EQUAL(ip, "127.0.0.7");
    close(a);
    close(fd);
    /* a source that is not an IPv4 address: no connection, an error */
    CU_ASSERT_EQUAL(
        hn_net_connect_from("127.0.0.1", port, "nowhere", wc_now_ms() + 1000, 0, 0, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(err);
    free(err);
    close(l);
}

static void test_refused_port(void)
{
    int port, l = listen_loopback(4, &port);
    char *err = NULL;

    CU_ASSERT_FATAL(l >= 0);
    close(l); /* nothing listens there now */
    int64_t t0 = wc_now_ms();
    CU_ASSERT_EQUAL(hn_net_connect("127.0.0.1", port, wc_now_ms() + 5000, &err), -1);
    CU_ASSERT_TRUE(wc_now_ms() - t0 < 4000); /* refused at once, not at the deadline */
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    if (!strstr(err, "refused"))
        fprintf(stderr, "\n    error: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot connect to 127.0.0.1:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, strerror(ECONNREFUSED)));
    free(err);
}

/* A listener that never accepts, its queue filled by connections of ours: the kernel drops
 * further SYNs, so a connect can only end at its deadline. */
static void test_deadline_honoured(void)
{
    int port, l = listen_loopback(0, &port), filler[8], nf = 0;
    char *err = NULL;

    alarm(20);
    CU_ASSERT_FATAL(l >= 0);
    for (int i = 0; i < 8; i++) {
        char *e = NULL;
        int fd = hn_net_connect("127.0.0.1", port, wc_now_ms() + 200, &e);
        free(e);
        if (fd < 0)
            break; /* the queue is full */
        filler[nf++] = fd;
    }
    CU_ASSERT_TRUE_FATAL(nf < 8);
    int64_t t0 = wc_now_ms();
    int fd = hn_net_connect("127.0.0.1", port, t0 + 300, &err);
    int64_t took = wc_now_ms() - t0;
    CU_ASSERT_EQUAL(fd, -1);
    CU_ASSERT_TRUE(took >= 290 && took < 3000);
    CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, strerror(ETIMEDOUT)) : NULL);
    if (fd >= 0)
        close(fd);
    free(err);
    /* a deadline already past: no waiting at all */
    err = NULL;
    t0 = wc_now_ms();
    fd = hn_net_connect("127.0.0.1", port, t0 - 1, &err);
    CU_ASSERT_EQUAL(fd, -1);
    CU_ASSERT_TRUE(wc_now_ms() - t0 < 200);
    if (fd >= 0)
        close(fd);
    free(err);
    for (int i = 0; i < nf; i++)
        close(filler[i]);
    close(l);
    alarm(0);
}

static CU_TestInfo net_tests[] = {
    {"connect to a listening loopback port", test_connect_to_listener},
    {"receive buffer and MSS set before the SYN", test_connect_tuned},
    {"a connection from another loopback source address", test_connect_from_source},
    {"a refused port is -1 with an error", test_refused_port},
    {"the deadline is honoured", test_deadline_honoured},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_net_suites[] = {
    {"hn_net", NULL, NULL, NULL, NULL, net_tests},
    CU_SUITE_INFO_NULL,
};
