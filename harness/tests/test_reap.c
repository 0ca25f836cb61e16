/* test_reap.c: CUnit tests for harness/exec/reap.c (suite hn_reap): a signal stops what was
 * recorded and removes what was recorded, and nothing else. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "exec/reap.h"

static void touch(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd >= 0)
        close(fd);
}

/* A child records a process group (a sleeper), a nested directory and a worker, then gets
 * `sig`; afterwards the sleeper and worker are gone, the directory too, the bystander stays. */
static void stops_everything(int sig)
{
    char dir[] = "/tmp/gwspec-reap-XXXXXX", keep[] = "/tmp/gwspec-reap-keep-XXXXXX";
    char sub[128], deep[160];
    int p[2];

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(keep));
    snprintf(sub, sizeof(sub), "%s/state/wal", dir);
    snprintf(deep, sizeof(deep), "%s/state", dir);
    mkdir(deep, 0700);
    mkdir(sub, 0700);
    snprintf(deep, sizeof(deep), "%s/state/wal/db", dir);
    touch(deep);
    CU_ASSERT_EQUAL_FATAL(pipe(p), 0);

    pid_t child = fork();
    if (child == 0) {
        pid_t pids[2];
        hn_reap_install();
        for (int i = 0; i < 2; i++) {
            pids[i] = fork();
            if (pids[i] == 0) {
                if (i == 0)
                    setpgid(0, 0);
                for (;;)
                    pause();
            }
            if (i == 0)
                setpgid(pids[0], pids[0]);
        }
        hn_reap_add_group(pids[0], NULL);
        hn_reap_add_worker(pids[1]);
        hn_reap_add_dir(dir);
        if (write(p[1], pids, sizeof(pids)) != sizeof(pids))
            _exit(9);
        for (;;)
            pause();
    }
    close(p[1]);
    pid_t pids[2] = {0, 0};
    CU_ASSERT_EQUAL(read(p[0], pids, sizeof(pids)), (ssize_t)sizeof(pids));
    close(p[0]);
    kill(child, sig);
    int status = 0;
    waitpid(child, &status, 0);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    CU_ASSERT_EQUAL(kill(pids[0], 0), -1); /* reaped by the handler: no such process */
    CU_ASSERT_EQUAL(kill(pids[1], 0), -1);
    struct stat st;
    CU_ASSERT_EQUAL(stat(dir, &st), -1);
    CU_ASSERT_EQUAL(stat(keep, &st), 0);
    rmdir(keep);
}

static void test_sigterm(void)
{
    stops_everything(SIGTERM);
}
static void test_sigint(void)
{
    stops_everything(SIGINT);
}
static void test_sighup(void)
{
    stops_everything(SIGHUP);
}
static void test_sigpipe(void)
{
    stops_everything(SIGPIPE);
}

static void test_records(void)
{
    size_t base = hn_reap_count();
    hn_reap_add_dir("/nonexistent/a");
    hn_reap_add_worker(999999);
    CU_ASSERT_EQUAL(hn_reap_count(), base + 2);
    hn_reap_remove_dir("/nonexistent/a");
    hn_reap_remove_worker(999999);
    hn_reap_remove_worker(999999); /* twice is harmless */
    CU_ASSERT_EQUAL(hn_reap_count(), base);
    hn_reap_add_group(999998, NULL);
    hn_reap_forget_all();
    CU_ASSERT_EQUAL(hn_reap_count(), 0);
}

static CU_TestInfo reap_tests[] = {
    {"sigterm_stops_groups_workers_dirs", test_sigterm},
    {"sigint_stops_groups_workers_dirs", test_sigint},
    {"sighup_stops_groups_workers_dirs", test_sighup},
    {"sigpipe_stops_groups_workers_dirs", test_sigpipe},
    {"records_add_remove_forget", test_records},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_reap_suites[] = {
    {.pName = "hn_reap", .pTests = reap_tests},
    CU_SUITE_INFO_NULL,
};
