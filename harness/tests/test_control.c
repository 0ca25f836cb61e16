/*
 * test_control.c: CUnit tests for harness/exec/control.c (suite hn_control), as control.h
 * promises it: a loopback listener; newline-delimited messages however the bytes are split
 * across reads (one byte at a time too), each reported with its connection's hello; a line that
 * is not a JSON object reported as text; a line over HN_CTL_MAX_LINE ends the connection; with a
 * case token, a hello from another case is reported once and the connection closed; sends go to
 * a label and run, or to the label's newest connection. The test is both ends in one process:
 * its provider sockets connect to the listener and it polls hn_ctl until what it waits for is
 * reported (or a 5 s safety deadline fails it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "exec/control.h"
#include "wc_buf.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_time.h"

/* What the callback saw, one line per report: "label/run type" or "label/run BAD text". */
static struct wc_buf seen;
static int reports;

static void on_msg(void *ctx, int conn, const char *label, const char *run, json_t *msg,
                   const char *bad_text)
{
    (void)ctx;
    (void)conn;
    reports++;
    if (msg) {
        const char *type = wc_json_str(msg, "type");
        json_t *n = json_object_get(msg, "n");
        wc_buf_addf(&seen, "%s/%s %s", label ? label : "-", run ? run : "-", type ? type : "?");
        if (n)
            wc_buf_addf(&seen, " %lld", (long long)json_integer_value(n));
        wc_buf_adds(&seen, "\n");
    } else {
        wc_buf_addf(&seen, "%s/%s BAD %.80s\n", label ? label : "-", run ? run : "-", bad_text);
    }
}

static void reset_seen(void)
{
    wc_buf_reset(&seen);
    reports = 0;
}

/* Poll the channel until `reports` reaches want (or, with want < 0, until the deadline). */
static void pump(struct hn_ctl *c, int want, int64_t ms)
{
    int64_t deadline = wc_now_ms() + ms;

    while ((want < 0 || reports < want) && wc_now_ms() < deadline) {
        struct pollfd fds[16];
        size_t n = hn_ctl_pollfds(c, fds, 16);
        if (poll(fds, n, 20) > 0)
            hn_ctl_handle(c, fds, n);
    }
}

/* Poll the channel until cond(c) holds; false at the deadline. */
static bool pump_until(struct hn_ctl *c, bool (*cond)(struct hn_ctl *, void *), void *arg)
{
    int64_t deadline = wc_now_ms() + 5000;

    while (!cond(c, arg)) {
        if (wc_now_ms() >= deadline)
            return false;
        struct pollfd fds[16];
        size_t n = hn_ctl_pollfds(c, fds, 16);
        if (poll(fds, n, 20) > 0)
            hn_ctl_handle(c, fds, n);
    }
    return true;
}

static int connect_to(struct hn_ctl *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)hn_ctl_port(c))};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void say(int fd, const char *s)
{
    CU_ASSERT_EQUAL(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* True once the peer closed fd (read gives 0 or ECONNRESET); waits up to 5 s for it. */
static bool peer_closed(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char buf[4096];

    for (int64_t deadline = wc_now_ms() + 5000; wc_now_ms() < deadline;) {
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return true;
    }
    return false;
}

/* A line from fd (up to the newline, without it), waiting up to 5 s; "" on none. */
static const char *read_line(int fd)
{
    static char line[256];
    size_t n = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};

    line[0] = '\0';
    while (n + 1 < sizeof(line) && poll(&p, 1, 5000) == 1) {
        if (read(fd, line + n, 1) != 1)
            break;
        if (line[n] == '\n')
            break;
        line[++n] = '\0';
    }
    line[n] = '\0';
    return line;
}

static struct hn_ctl *ctl;

static int setup(void)
{
    char *err = NULL;

    wc_buf_init(&seen, 0);
    ctl = hn_ctl_new(on_msg, NULL, &err);
    if (!ctl) {
        fprintf(stderr, "hn_ctl_new: %s\n", err);
        free(err);
        return 1;
    }
    return 0;
}

static int teardown(void)
{
    hn_ctl_free(ctl);
    wc_buf_release(&seen);
    return 0;
}

static bool has_p1(struct hn_ctl *c, void *arg)
{
    return hn_ctl_has(c, "p1", arg);
}

static bool has_no_p1(struct hn_ctl *c, void *arg)
{
    return !hn_ctl_has(c, "p1", arg);
}

static void test_lines_split_across_reads(void)
{
    alarm(20);
    hn_ctl_set_case(ctl, NULL);
    CU_ASSERT_TRUE(hn_ctl_port(ctl) > 0);
    int fd = connect_to(ctl);
    CU_ASSERT_FATAL(fd >= 0);
    reset_seen();
    /* a hello and half a message, then the rest with a CRLF, an empty line and a bad line */
    say(fd, "{\"type\":\"hello\",\"label\":\"p1\",\"run\":\"r1\"}\n{\"type\":\"ev\",\"n\":");
    pump(ctl, 1, 5000);
    CU_ASSERT_STRING_EQUAL(seen.buf, "p1/r1 hello\n");
    CU_ASSERT_TRUE(hn_ctl_has(ctl, "p1", "r1"));
    CU_ASSERT_TRUE(hn_ctl_has(ctl, "p1", NULL));
    CU_ASSERT_FALSE(hn_ctl_has(ctl, "p1", "r2"));
    say(fd, "1}\r\n\nnot json\n[1]\n");
    pump(ctl, 4, 5000);
    CU_ASSERT_STRING_EQUAL(seen.buf,
                           "p1/r1 hello\np1/r1 ev 1\np1/r1 BAD not json\np1/r1 BAD [1]\n");
    /* one byte per read: the channel polls between the bytes */
    const char *msg = "{\"type\":\"ev\",\"n\":22}\n";
    for (const char *p = msg; *p; p++) {
        CU_ASSERT_EQUAL(write(fd, p, 1), 1);
        pump(ctl, 5, p[1] ? 30 : 5000);
    }
    CU_ASSERT_EQUAL(reports, 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(seen.buf, "p1/r1 ev 22\n"));
    /* the provider goes: its label goes with it */
    close(fd);
    CU_ASSERT_TRUE(pump_until(ctl, has_no_p1, NULL));
    CU_ASSERT_EQUAL(reports, 5);
    alarm(0);
}

static void test_send_to_label_and_run(void)
{
    alarm(20);
    hn_ctl_set_case(ctl, NULL);
    int a = connect_to(ctl), b = connect_to(ctl);
    CU_ASSERT_FATAL(a >= 0 && b >= 0);
    say(a, "{\"type\":\"hello\",\"label\":\"p1\",\"run\":\"r1\"}\n");
    CU_ASSERT_TRUE_FATAL(pump_until(ctl, has_p1, "r1"));
    say(b, "{\"type\":\"hello\",\"label\":\"p1\",\"run\":\"r2\"}\n");
    CU_ASSERT_TRUE_FATAL(pump_until(ctl, has_p1, "r2"));
    json_t *go = json_pack("{ss}", "type", "go");
    CU_ASSERT_EQUAL(hn_ctl_send(ctl, "p1", "r1", go), 1);
    CU_ASSERT_STRING_EQUAL(read_line(a), "{\"type\":\"go\"}");
    CU_ASSERT_EQUAL(hn_ctl_send(ctl, "p1", NULL, go), 1); /* the newest: b */
    CU_ASSERT_STRING_EQUAL(read_line(b), "{\"type\":\"go\"}");
    CU_ASSERT_EQUAL(hn_ctl_send(ctl, "p2", NULL, go), 0);
    CU_ASSERT_EQUAL(hn_ctl_send(ctl, "p1", "r3", go), 0);
    json_decref(go);
    /* a got nothing more than its own line */
    struct pollfd p = {.fd = a, .events = POLLIN};
    CU_ASSERT_EQUAL(poll(&p, 1, 0), 0);
    close(a);
    close(b);
    CU_ASSERT_TRUE(pump_until(ctl, has_no_p1, NULL));
    alarm(0);
}

static void test_line_over_the_cap(void)
{
    alarm(30);
    hn_ctl_set_case(ctl, NULL);
    int fd = connect_to(ctl);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL_FATAL(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    reset_seen();
    say(fd, "{\"type\":\"hello\",\"label\":\"p1\",\"run\":\"big\"}\n");
    pump(ctl, 1, 5000);
    /* HN_CTL_MAX_LINE + 1 bytes with no newline, written as the channel drains them */
    size_t total = HN_CTL_MAX_LINE + 1, sent = 0;
    char *junk = wc_xmalloc(65536);
    memset(junk, 'x', 65536);
    int64_t deadline = wc_now_ms() + 20000;
    while (sent < total && reports < 2 && wc_now_ms() < deadline) {
        size_t k = total - sent < 65536 ? total - sent : 65536;
        ssize_t w = write(fd, junk, k);
        if (w > 0)
            sent += (size_t)w;
        pump(ctl, 2, 5);
    }
    free(junk);
    pump(ctl, 2, 5000);
    CU_ASSERT_EQUAL(sent, total);
    /* the notice, then what the connection held, as text, as it closes */
    CU_ASSERT_EQUAL(reports, 3);
    CU_ASSERT_NSTRING_EQUAL(seen.buf,
                            "p1/big hello\np1/big BAD (control line over 4 MiB)\n"
                            "p1/big BAD xxx",
                            64);
    CU_ASSERT_FALSE(hn_ctl_has(ctl, "p1", "big")); /* closed */
    CU_ASSERT_TRUE(peer_closed(fd));
    close(fd);
    alarm(0);
}

static void test_hello_from_another_case(void)
{
    alarm(20);
    hn_ctl_set_case(ctl, "6.2.1#ab12");
    int other = connect_to(ctl), none = connect_to(ctl), mine = connect_to(ctl);
    CU_ASSERT_FATAL(other >= 0 && none >= 0 && mine >= 0);
    reset_seen();
    /* another case's provider: reported once, closed, its later lines never delivered */
    say(other, "{\"type\":\"hello\",\"label\":\"p1\",\"run\":\"r1\",\"case\":\"9.1.6#ffff\"}\n"
               "{\"type\":\"ev\",\"n\":1}\n");
    pump(ctl, 1, 5000);
    CU_ASSERT_STRING_EQUAL(seen.buf,
                           "-/- BAD hello from another case (9.1.6#ffff); connection closed\n");
    CU_ASSERT_TRUE(peer_closed(other));
    CU_ASSERT_FALSE(hn_ctl_has(ctl, "p1", NULL));
    /* a hello that names no case is another case's too */
    reset_seen();
    say(none, "{\"type\":\"hello\",\"label\":\"p1\",\"run\":\"r1\"}\n");
    pump(ctl, 1, 5000);
    CU_ASSERT_STRING_EQUAL(seen.buf,
                           "-/- BAD hello from another case (no case); connection closed\n");
    CU_ASSERT_TRUE(peer_closed(none));
    /* this case's provider is accepted */
    reset_seen();
    say(mine, "{\"type\":\"hello\",\"label\":\"p1\",\"run\":\"r1\",\"case\":\"6.2.1#ab12\"}\n"
              "{\"type\":\"ev\",\"n\":2}\n");
    pump(ctl, 2, 5000);
    CU_ASSERT_STRING_EQUAL(seen.buf, "p1/r1 hello\np1/r1 ev 2\n");
    CU_ASSERT_TRUE(hn_ctl_has(ctl, "p1", "r1"));
    /* nothing more arrives from the closed ones */
    pump(ctl, 3, 100);
    CU_ASSERT_EQUAL(reports, 2);
    close(other);
    close(none);
    close(mine);
    CU_ASSERT_TRUE(pump_until(ctl, has_no_p1, NULL));
    hn_ctl_set_case(ctl, NULL);
    alarm(0);
}

static CU_TestInfo control_tests[] = {
    {"lines split across reads, one byte at a time", test_lines_split_across_reads},
    {"send to a label and run, or the newest", test_send_to_label_and_run},
    {"a line over the cap ends the connection", test_line_over_the_cap},
    {"hello from another case is reported once and closed", test_hello_from_another_case},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_control_suites[] = {
    {"hn_control", setup, teardown, NULL, NULL, control_tests},
    CU_SUITE_INFO_NULL,
};
