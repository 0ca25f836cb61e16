/* test_target.c: CUnit tests for harness/exec/target.c user sets (suite hn_target). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "exec/target.h"

static char *write_profile(const char *text)
{
    static char path[64];
    FILE *fp;

    snprintf(path, sizeof(path), "/tmp/gwspec-target-%d.yaml", (int)getpid());
    fp = fopen(path, "w");
    if (!fp)
        return NULL;
    fputs(text, fp);
    fclose(fp);
    return path;
}

static void expect_error(const char *text, const char *want)
{
    char *err = NULL, *path = write_profile(text);

    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    CU_ASSERT_PTR_NULL(hn_target_load(path, &err));
    if (!err || !strstr(err, want))
        printf("\n    profile error '%s' lacks '%s'\n", err ? err : "(none)", want);
    CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, want) : NULL);
    free(err);
    unlink(path);
}

static void test_pool_errors_have_positions(void)
{
    expect_error("name: t\nport: 1\nauth:\n  kind: token\n  users: {alice: a, bob: b}\n"
                 "  pool: {alice: c}\n",
                 ":6:3: 'pool' must be a list");
    expect_error("name: t\nport: 1\nauth:\n  kind: token\n  users: {alice: a, bob: b}\n"
                 "  pool:\n    - {alice: c}\n",
                 ":7:8: a pool entry maps exactly the roles of 'users'");
    expect_error("name: t\nport: 1\nauth:\n  kind: token\n  users: {alice: a, bob: b}\n"
                 "  pool:\n    - {alice: c, carol: d}\n",
                 ":7:18: 'carol' is not a role of 'users'");
    /* a token shared between two sets would let one case see the other's broadcasts */
    expect_error("name: t\nport: 1\nauth:\n  kind: token\n  users: {alice: a, bob: b}\n"
                 "  pool:\n    - {alice: c, bob: a}\n",
                 ":7:18: token of 'bob' is used twice");
    expect_error("name: t\nport: 1\nauth:\n  kind: cloudcli-register\n  username: u\n"
                 "  password: p\n  pool: []\n",
                 ":7:3: 'pool' needs auth kind token");
}

/* A loopback listener for hn_target_start's reachability check; its port, or -1. */
static int listener(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &n) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_user_sets(void)
{
    char *err = NULL, text[512];
    int port = 0, lfd = listener(&port);

    CU_ASSERT_TRUE_FATAL(lfd >= 0);
    snprintf(text, sizeof(text),
             "name: t\nhost: 127.0.0.1\nport: %d\ncapabilities: [multi-user]\nauth:\n"
             "  kind: token\n  users: {alice: a, bob: b}\n  pool:\n    - {alice: c, bob: d}\n"
             "    - {alice: e, bob: f}\n", port);
    struct hn_target *t = hn_target_load(write_profile(text), &err);

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(hn_target_start(t, 1000, &err), 0); /* not spawned: authenticates */
    CU_ASSERT_EQUAL(hn_target_user_sets(t), 3);
    CU_ASSERT_STRING_EQUAL(hn_target_token(t, "alice"), "a");
    hn_target_use_user_set(t, 2);
    CU_ASSERT_STRING_EQUAL(hn_target_token(t, "alice"), "e");
    CU_ASSERT_STRING_EQUAL(hn_target_token(t, NULL), "e");
    CU_ASSERT_STRING_EQUAL(hn_target_token(t, "bob"), "f");
    hn_target_use_user_set(t, 9); /* out of range: back to set 0 */
    CU_ASSERT_STRING_EQUAL(hn_target_token(t, "bob"), "b");
    hn_target_free(t);

    /* without multi-user, other users are no wall: one set, whatever the pool says */
    t = hn_target_load(write_profile("name: t\nport: 1\nauth:\n  kind: token\n"
                                     "  users: {alice: a}\n  pool:\n    - {alice: c}\n"),
                       &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(hn_target_user_sets(t), 1);
    hn_target_free(t);
    close(lfd);
    unlink(write_profile(""));
}

static CU_TestInfo target_tests[] = {
    {"pool_errors_have_positions", test_pool_errors_have_positions},
    {"user_sets", test_user_sets},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_target_suites[] = {
    {.pName = "hn_target", .pTests = target_tests},
    CU_SUITE_INFO_NULL,
};
