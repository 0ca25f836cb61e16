/*
 * test_cmd.c: CUnit tests for the subcommands in harness/cmd/cmd_*.c (suite hn_cmd): each parses
 * its options with getopt_long and answers an unknown option with exit status 2 naming it;
 * argument counts are checked; `gwspec diff` exits 1 when a case got worse, 0 when none did,
 * and names a broken index by file:line:col. The commands run in this process with stdout and
 * stderr sent to files the test reads back.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "cmd/cmd_check.h"
#include "cmd/cmd_diff.h"
#include "cmd/cmd_spec.h"
#include "replay/record.h" /* hn_cmd_record */
#include "replay/replay.h" /* hn_cmd_replay */

typedef int (*cmd_fn)(int argc, char **argv);

static char out[8192], err[8192];

/* Read path into buf (NUL-terminated, truncated), then remove it. */
static void slurp(const char *path, char *buf, size_t size)
{
    FILE *fp = fopen(path, "r");
    size_t n = fp ? fread(buf, 1, size - 1, fp) : 0;

    buf[n] = '\0';
    if (fp)
        fclose(fp);
    unlink(path);
}

/* Run fn(argc, argv) (argv NULL-terminated, argv[0] the subcommand) with stdout and stderr
 * captured in out and err; its exit status. */
static int run(cmd_fn fn, char **argv)
{
    char po[64], pe[64];
    int argc = 0, so, se, fo, fe, rc;

    while (argv[argc])
        argc++;
    snprintf(po, sizeof(po), "/tmp/gwspec-cmd-out-%d", (int)getpid());
    snprintf(pe, sizeof(pe), "/tmp/gwspec-cmd-err-%d", (int)getpid());
    fflush(stdout);
    fflush(stderr);
    so = dup(1);
    se = dup(2);
    fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    rc = fn(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    slurp(po, out, sizeof(out));
    slurp(pe, err, sizeof(err));
    return rc;
}

static void test_unknown_option_is_2(void)
{
    struct {
        const char *name, *sub;
        cmd_fn fn;
        bool named; /* the message names the option (spec diff prints only its usage) */
    } cmds[] = {{"check", NULL, hn_cmd_check, true},
                {"diff", NULL, hn_cmd_diff, true},
                {"record", NULL, hn_cmd_record, true},
                {"replay", NULL, hn_cmd_replay, true},
                {"spec", "diff", hn_cmd_spec, false}};

    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char *argv[] = {(char *)cmds[i].name, "--no-such-option", NULL, NULL};
        if (cmds[i].sub) { /* gwspec spec diff --no-such-option */
            argv[1] = (char *)cmds[i].sub;
            argv[2] = "--no-such-option";
        }
        int rc = run(cmds[i].fn, argv);
        bool ok = !cmds[i].named || strstr(err, "--no-such-option");
        if (rc != 2 || !ok)
            fprintf(stderr, "\n    %s: exit %d, stderr: %.200s\n", cmds[i].name, rc, err);
        CU_ASSERT_EQUAL(rc, 2);
        CU_ASSERT_TRUE(ok);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "gwspec")); /* a message or the usage */
    }
}

static void test_argument_counts(void)
{
    char *diff1[] = {"diff", "only-one.json", NULL};
    char *replay2[] = {"replay", "a.jsonl", "b.jsonl", NULL};
    char *record1[] = {"record", "stray", NULL};

    CU_ASSERT_EQUAL(run(hn_cmd_diff, diff1), 2);
    CU_ASSERT_EQUAL(run(hn_cmd_replay, replay2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "one transcript at a time ('b.jsonl')"));
    CU_ASSERT_EQUAL(run(hn_cmd_record, record1), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unexpected argument 'stray'"));
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_diff_exit_status(void)
{
    char a[64], b[64], bad[64];

    snprintf(a, sizeof(a), "/tmp/gwspec-cmd-a-%d.json", (int)getpid());
    snprintf(b, sizeof(b), "/tmp/gwspec-cmd-b-%d.json", (int)getpid());
    snprintf(bad, sizeof(bad), "/tmp/gwspec-cmd-bad-%d.json", (int)getpid());
    write_file(a, "{\"cases\": {\"1.1.1-a\": {\"verdict\": \"OK\"},"
                  " \"1.1.2-b\": {\"verdict\": \"OK\"}}}");
    write_file(b, "{\"cases\": {\"1.1.1-a\": {\"verdict\": \"FAILED\"},"
                  " \"1.1.2-b\": {\"verdict\": \"OK\"}}}");
    write_file(bad, "{\"cases\":\n  {oops}}");
    char *same[] = {"diff", a, a, NULL}, *worse[] = {"diff", a, b, NULL},
         *better[] = {"diff", b, a, NULL}, *broken[] = {"diff", a, bad, NULL};

    CU_ASSERT_EQUAL(run(hn_cmd_diff, same), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "0 changed"));
    CU_ASSERT_EQUAL(run(hn_cmd_diff, worse), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "WORSE"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "1.1.1-a: OK -> FAILED"));
    CU_ASSERT_EQUAL(run(hn_cmd_diff, better), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "better"));
    CU_ASSERT_EQUAL(run(hn_cmd_diff, broken), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2:"));
    unlink(a);
    unlink(b);
    unlink(bad);
}

static CU_TestInfo cmd_tests[] = {
    {"an unknown option is exit 2 and named", test_unknown_option_is_2},
    {"argument counts", test_argument_counts},
    {"diff: 1 when a case got worse, 0 otherwise, 2 on a broken index", test_diff_exit_status},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_cmd_suites[] = {
    {"hn_cmd", NULL, NULL, NULL, NULL, cmd_tests},
    CU_SUITE_INFO_NULL,
};
