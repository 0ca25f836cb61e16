/* test_target.c: CUnit tests for harness/exec/target.c (suite hn_target): profile errors with
 * positions, user sets, disabling providers, and stopping a spawned target sweeps its process
 * group. */
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
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
#include "wc_err.h"
#include "wc_json.h"
#include "wc_time.h"
#include "testutil.h"

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
             "    - {alice: e, bob: f}\n",
             port);
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

/* ---- moved from test_runner.c ---------------------------------------------------------------- */

/* Write text as a profile at path; loading it must fail with a message containing want. */
static void expect_profile_error(const char *path, const char *text, const char *want)
{
    char *err = NULL;
    FILE *fp = fopen(path, "w");

    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs(text, fp);
    fclose(fp);
    CU_ASSERT_PTR_NULL(hn_target_load(path, &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    if (err && !strstr(err, want))
        fprintf(stderr, "\n    profile error '%s' lacks '%s'\n", err, want);
    CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, want) : NULL);
    free(err);
}

static void test_profile_errors(void)
{
    char path[64], *err = NULL;
    snprintf(path, sizeof(path), "/tmp/gwspec-profile-bad-%d.yaml", (int)getpid());
    expect_profile_error(path, "name: bad\nport: 1\nauth: {kind: magic}\n", ":3:");
    expect_profile_error(path,
                         "name: bad\nport: 1\nauth: {kind: token, users: {a: b}}\ncolour: red\n",
                         ":4:1: unknown key 'colour' in target profile");
    expect_profile_error(path,
                         "name: bad\nstart: {argv: [x]}\nauth: {kind: token, users: {a: b}}\n"
                         "disable_provider_args: [--off, codex]\n",
                         ":4:1: 'disable_provider_args' must name the provider somewhere as "
                         "${provider}");
    expect_profile_error(path,
                         "name: bad\nstart: {argv: [x]}\nauth: {kind: token, users: {a: b}}\n"
                         "disable_provider_args: [--off, 7]\n",
                         ":4:32: 'disable_provider_args' entries are strings");
    FILE *fp = fopen(path, "w");
    fprintf(fp, "name: ok\nstart: {argv: [x]}\nauth: {kind: token, users: {a: b}}\n"
                "disable_provider_args: [--off, \"${provider}\"]\n");
    fclose(fp);
    struct hn_target *t = hn_target_load(path, &err);
    CU_ASSERT_PTR_NOT_NULL(t);
    if (t) {
        json_t *names = json_pack("[ss]", "codex", "cursor");
        CU_ASSERT_TRUE(hn_target_can_disable(t));
        CU_ASSERT_EQUAL(hn_target_set_disabled(t, names, &err), 0);
        CU_ASSERT_EQUAL(json_array_size(t->disabled), 2);
        json_decref(names);
        hn_target_free(t);
    }
    unlink(path);
}

/* settings: NAME -> arguments that name ${value}; a case may set only the names listed */
static void test_profile_settings(void)
{
    char path[64], *err = NULL;
    snprintf(path, sizeof(path), "/tmp/gwspec-profile-set-%d.yaml", (int)getpid());
    expect_profile_error(path,
                         "name: bad\nstart: {argv: [x]}\nauth: {kind: token, users: {a: b}}\n"
                         "settings: {retain_ms: [--retain-ms, five]}\n",
                         ":4:12: setting 'retain_ms' must name its value somewhere as ${value}");
    expect_profile_error(path,
                         "name: bad\nstart: {argv: [x]}\nauth: {kind: token, users: {a: b}}\n"
                         "settings: {retain_ms: --retain-ms}\n",
                         ":4:12: setting 'retain_ms' must be a non-empty list of strings");
    expect_profile_error(path,
                         "name: bad\nport: 1\nauth: {kind: token, users: {a: b}}\n"
                         "settings: {retain_ms: [--retain-ms, \"${value}\"]}\n",
                         ":4:1: 'settings' needs 'start' (the harness starts the gateway)");
    FILE *fp = fopen(path, "w");
    fprintf(fp, "name: ok\nstart: {argv: [x]}\nauth: {kind: token, users: {a: b}}\n"
                "settings: {retain_ms: [--retain-ms, \"${value}\"]}\n");
    fclose(fp);
    struct hn_target *t = hn_target_load(path, &err);
    CU_ASSERT_PTR_NOT_NULL(t);
    if (t) {
        json_t *ok = json_pack("{s:i}", "retain_ms", 300);
        json_t *bad = json_pack("{s:i, s:i}", "retain_ms", 300, "store_bytes", 10);
        CU_ASSERT_TRUE(hn_target_can_set(t, "retain_ms"));
        CU_ASSERT_FALSE(hn_target_can_set(t, "store_bytes"));
        CU_ASSERT_EQUAL(hn_target_set_settings(t, ok, &err), 0);
        CU_ASSERT_STRING_EQUAL(wc_json_str(t->settings, "retain_ms"), "300");
        CU_ASSERT_EQUAL(hn_target_set_settings(t, bad, &err), WC_ERR_CONFIG);
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "no setting 'store_bytes'"));
        free(err);
        json_decref(ok);
        json_decref(bad);
        hn_target_free(t);
    }
    unlink(path);
}

/* Stopping a spawned target also kills what it left in its process group (a provider that
 * hangs on purpose, a child the gateway never reaped). */
static void test_stop_sweeps_process_group(void)
{
    alarm(20);
    char path[64], pidfile[64], *err = NULL;
    int server_port = 0, lfd = listener(&server_port);
    CU_ASSERT_FATAL(lfd >= 0);
    snprintf(path, sizeof(path), "/tmp/gwspec-profile-pg-%d.yaml", (int)getpid());
    snprintf(pidfile, sizeof(pidfile), "/tmp/gwspec-pg-%d.pid", (int)getpid());
    unlink(pidfile);
    FILE *fp = fopen(path, "w");
    fprintf(fp,
            "name: leaves-a-child\n"
            "start: {argv: [sh, -c, 'sleep 30 & echo $! > %s; echo listening on 127.0.0.1:%d; "
            "exec sleep 30'], ready: 'listening on [^ :]+:([0-9]+)'}\n"
            "auth: {kind: token, users: {alice: good}}\n",
            pidfile, server_port);
    fclose(fp);
    struct hn_target *t = hn_target_load(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(hn_target_start(t, 5000, &err), 0);
    long child = 0;
    if ((fp = fopen(pidfile, "r"))) {
        if (fscanf(fp, "%ld", &child) != 1)
            child = 0;
        fclose(fp);
    }
    CU_ASSERT_TRUE_FATAL(child > 0);
    CU_ASSERT_FALSE(hn_test_pid_dead(child));
    hn_target_stop(t);
    int64_t deadline = wc_now_ms() + 2000;
    while (!hn_test_pid_dead(child) && wc_now_ms() < deadline)
        poll(NULL, 0, 10);
    CU_ASSERT_TRUE(hn_test_pid_dead(child));
    if (!hn_test_pid_dead(child))
        kill((pid_t)child, SIGKILL);
    hn_target_free(t);
    unlink(path);
    unlink(pidfile);
    free(err);
    close(lfd);
}

/* a client profile's env: NAME -> string, substituted like argv; errors with positions */
static void test_client_env(void)
{
    char *err = NULL;
    expect_error("name: c\nrole: client\nargv: [x]\nenv: [A]\n", ":4:1: 'env' maps variable");
    expect_error("name: c\nrole: client\nargv: [x]\nenv: {A: 1}\n", ":4:7: 'env': 'A' must be");
    expect_error("name: c\nport: 1\nauth: {kind: token, users: {a: b}}\nenv: {A: b}\n",
                 ":4:1: 'env' belongs to a client profile");
    char *path = write_profile("name: c\nrole: client\nargv: [x, \"${server_url}\"]\n"
                               "env: {GWSPEC_CLI_URL: \"${server_url}\", B: plain}\n");
    struct hn_target *t = hn_target_load(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    json_t *subst = json_pack("{s:s}", "server_url", "ws://127.0.0.1:9/x");
    char **env = hn_target_client_env(t, subst);
    CU_ASSERT_STRING_EQUAL(env[0], "GWSPEC_CLI_URL=ws://127.0.0.1:9/x");
    CU_ASSERT_STRING_EQUAL(env[1], "B=plain");
    CU_ASSERT_PTR_NULL(env[2]);
    hn_target_free_argv(env);
    json_decref(subst);
    hn_target_free(t);
    unlink(path);
}

static CU_TestInfo target_tests[] = {
    {"pool_errors_have_positions", test_pool_errors_have_positions},
    {"user_sets", test_user_sets},
    {"profile_errors", test_profile_errors},
    {"profile_settings", test_profile_settings},
    {"stop_sweeps_process_group", test_stop_sweeps_process_group},
    {"client_env", test_client_env},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_target_suites[] = {
    {.pName = "hn_target", .pTests = target_tests},
    CU_SUITE_INFO_NULL,
};
