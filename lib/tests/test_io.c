/* lib/tests/test_io.c: wc_write_all writes everything through a pipe, and reports a closed one. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "wc_io.h"

/* More than a pipe holds (64 KiB), so the writer is short-written and must go on. */
static void test_io_write_all_whole_buffer(void)
{
    size_t n = 200000, got = 0;
    char *src = malloc(n), buf[8192];
    int p[2];
    pid_t pid;

    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    for (size_t i = 0; i < n; i++)
        src[i] = (char)(i * 7);
    CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        _exit(wc_write_all(p[1], src, n) == 0 ? 0 : 1);
    }
    close(p[1]);
    for (ssize_t r; (r = read(p[0], buf, sizeof(buf))) > 0; got += (size_t)r)
        CU_ASSERT_EQUAL(memcmp(buf, src + got, (size_t)r), 0);
    close(p[0]);
    CU_ASSERT_EQUAL(got, n);
    int status = -1;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(src);
}

static void test_io_write_all_reports_closed_reader(void)
{
    int p[2];
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);

    CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
    close(p[0]);
    CU_ASSERT_EQUAL(wc_write_all(p[1], "x", 1), -1);
    close(p[1]);
    CU_ASSERT_EQUAL(wc_write_all(p[1], "x", 1), -1); /* a closed fd */
    CU_ASSERT_EQUAL(wc_write_all(-1, "", 0), 0);     /* nothing to write */
    signal(SIGPIPE, old);
}

static CU_TestInfo io_tests[] = {
    {"write_all_whole_buffer", test_io_write_all_whole_buffer},
    {"write_all_reports_closed_reader", test_io_write_all_reports_closed_reader},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo wc_io_suites[] = {
    {.pName = "wc_io", .pTests = io_tests},
    CU_SUITE_INFO_NULL,
};
