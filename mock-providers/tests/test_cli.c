/*
 * mock-providers/tests/test_cli.c: gwspec-provider end to end. Each test forks, runs
 * mp_cli_main in the child with pipes on fds 0/1/2, plays the harness on a loopback control
 * listener and the gateway on the pipes, and checks stdout, the control lines and the exit status.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../cli.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_time.h"

struct reader {
    int fd;
    char buf[1 << 16];
    size_t len;
};

/* The next line (new, without '\n'), or NULL on EOF or after 10 s. */
static char *read_line(struct reader *r)
{
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->len);
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        ssize_t n;

        if (nl) {
            char *line = wc_xstrndup(r->buf, (size_t)(nl - r->buf));
            r->len -= (size_t)(nl - r->buf) + 1;
            memmove(r->buf, nl + 1, r->len);
            return line;
        }
        if (poll(&p, 1, 10000) <= 0)
            return NULL;
        n = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
        if (n <= 0)
            return NULL;
        r->len += (size_t)n;
    }
}

struct child {
    pid_t pid;
    int in;            /* the child's stdin (write end) */
    struct reader out; /* the child's stdout */
    struct reader ctl; /* the accepted control connection */
    int listen_fd;
    int port;
};

static int listen_loopback(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0)
        return -1;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Start the child with args (NULL-terminated; "%PORT%" inside an arg becomes the port). */
static void spawn(struct child *c, const char *const *args)
{
    int in[2], out[2];
    char *argv[32];
    int argc = 0;

    memset(c, 0, sizeof(*c));
    c->listen_fd = listen_loopback(&c->port);
    CU_ASSERT_FATAL(c->listen_fd >= 0);
    for (; args[argc] && argc < 31; argc++) {
        const char *hit = strstr(args[argc], "%PORT%");
        argv[argc] =
            hit ? wc_xasprintf("%.*s%d%s", (int)(hit - args[argc]), args[argc], c->port, hit + 6)
                : wc_xstrdup(args[argc]);
    }
    argv[argc] = NULL;
    CU_ASSERT_FATAL(pipe(in) == 0 && pipe(out) == 0);
    fflush(NULL);
    c->pid = fork();
    CU_ASSERT_FATAL(c->pid >= 0);
    if (c->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        close(c->listen_fd);
        _exit(mp_cli_main(argc, argv));
    }
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    close(in[0]);
    close(out[1]);
    c->in = in[1];
    c->out.fd = out[0];
    c->ctl.fd = -1;
}

static void accept_ctl(struct child *c)
{
    struct pollfd p = {.fd = c->listen_fd, .events = POLLIN};

    CU_ASSERT_FATAL(poll(&p, 1, 10000) == 1);
    c->ctl.fd = accept(c->listen_fd, NULL, NULL);
    CU_ASSERT_FATAL(c->ctl.fd >= 0);
}

static void send_text(int fd, const char *s)
{
    CU_ASSERT(write(fd, s, strlen(s)) == (ssize_t)strlen(s));
}

/* Read control lines until one has "type":type; returns it (new) or NULL. */
static char *ctl_until(struct child *c, const char *type)
{
    char *want = wc_xasprintf("{\"type\":\"%s\"", type), *line;

    while ((line = read_line(&c->ctl)) != NULL) {
        if (strncmp(line, want, strlen(want)) == 0)
            break;
        free(line);
    }
    free(want);
    return line;
}

static void expect_line(struct reader *r, const char *want)
{
    char *line = read_line(r);

    if (!line || strcmp(line, want) != 0) {
        fprintf(stderr, "\n  got  %s\n  want %s\n", line ? line : "(eof)", want);
        CU_FAIL("line");
    }
    free(line);
}

static int finish(struct child *c)
{
    int status = 0;

    if (c->in >= 0)
        close(c->in);
    waitpid(c->pid, &status, 0);
    close(c->out.fd);
    if (c->ctl.fd >= 0)
        close(c->ctl.fd);
    close(c->listen_fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A directive line for ctl port %PORT% and an inline JSON script. */
#define DIRECTIVE(script)                                                                          \
    "gwspec:{\"v\":1,\"ctl\":\"127.0.0.1:%PORT%\",\"case\":\"c#1\",\"label\":\"s1\",\"run\":"      \
    "\"r1\",\"script\":" script "}"

static void test_cli_cursor_barrier_and_hello(void)
{
    static const char *const args[] = {
        "/usr/bin/cursor-agent",
        "--resume=old-1",
        "-p",
        "please " DIRECTIVE(
            "[{\"announce\":\"n1\"},{\"emit\":{\"kind\":\"stream_delta\",\"content\":\"a\"}},"
            "{\"barrier\":\"hold\"},{\"emit\":{\"kind\":\"thinking\",\"content\":\"x\"}},"
            "{\"complete\":0}]"),
        "--output-format",
        "stream-json",
        NULL};
    struct child c;
    char *line;
    json_t *hello;

    spawn(&c, args);
    accept_ctl(&c);
    line = ctl_until(&c, "hello");
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    hello = json_loads(line, 0, NULL);
    free(line);
    CU_ASSERT_STRING_EQUAL(wc_json_str(hello, "persona"), "cursor-agent");
    CU_ASSERT_STRING_EQUAL(wc_json_str(hello, "provider"), "cursor");
    CU_ASSERT_STRING_EQUAL(wc_json_str(hello, "resume"), "old-1");
    CU_ASSERT_STRING_EQUAL(wc_json_str(hello, "case"), "c#1");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(hello, "argv")), 6);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_object_get(hello, "options"), "output-format"),
                           "stream-json");
    CU_ASSERT(json_integer_value(json_object_get(hello, "pid")) == c.pid);
    json_decref(hello);

    line = ctl_until(&c, "reached");
    CU_ASSERT(line && strcmp(line, "{\"type\":\"reached\",\"barrier\":\"hold\"}") == 0);
    free(line);
    expect_line(&c.out, "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"n1\",\"model\":"
                        "\"gwspec-mock\"}");
    expect_line(&c.out, "{\"type\":\"assistant\",\"message\":{\"role\":\"assistant\",\"content\":[{"
                        "\"type\":\"text\",\"text\":\"a\"}]},\"session_id\":\"n1\"}");
    send_text(c.ctl.fd, "{\"type\":\"release\",\"barrier\":\"hold\"}\n");
    line = ctl_until(&c, "unsupported");
    CU_ASSERT(line &&
              strcmp(line, "{\"type\":\"unsupported\",\"step\":\"emit\",\"reason\":\"cursor-agent "
                           "has no native form for kind 'thinking'\"}") == 0);
    free(line);
    line = ctl_until(&c, "done");
    CU_ASSERT(line &&
              strcmp(line, "{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}") == 0);
    free(line);
    expect_line(&c.out, "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
                        "\"duration_ms\":0,\"result\":\"\",\"session_id\":\"n1\"}");
    CU_ASSERT_PTR_NULL(read_line(&c.out));
    CU_ASSERT_EQUAL(finish(&c), 0);
}

static void test_cli_codex_prompt_on_stdin(void)
{
    static const char *const args[] = {"gwspec-provider",
                                       "--as",
                                       "codex",
                                       "exec",
                                       "--experimental-json",
                                       "--cd",
                                       "/work/p",
                                       "--skip-git-repo-check",
                                       "resume",
                                       "th-0",
                                       NULL};
    struct child c;
    char *line;

    spawn(&c, args);
    /* the prompt goes to stdin, which is then closed; %PORT% is filled in by hand here */
    line =
        wc_xasprintf("gwspec:{\"v\":1,\"ctl\":\"127.0.0.1:%d\",\"run\":\"r1\",\"script\":"
                     "[{\"announce\":\"th-1\"},{\"emit\":{\"kind\":\"text\",\"content\":\"hi\"}},"
                     "{\"report\":[\"cwd\",\"resume\"]},{\"complete\":0},{\"crash\":3}]}\n",
                     c.port);
    send_text(c.in, line);
    free(line);
    close(c.in);
    c.in = -1;
    accept_ctl(&c);
    line = ctl_until(&c, "report");
    CU_ASSERT(line &&
              strcmp(line, "{\"type\":\"report\",\"cwd\":\"/work/p\",\"resume\":\"th-0\"}") == 0);
    free(line);
    line = ctl_until(&c, "done");
    CU_ASSERT(line && strcmp(line, "{\"type\":\"done\",\"how\":\"crashed\",\"exitCode\":3}") == 0);
    free(line);
    expect_line(&c.out, "{\"type\":\"thread.started\",\"thread_id\":\"th-1\"}");
    expect_line(&c.out, "{\"type\":\"turn.started\"}");
    expect_line(&c.out, "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_0\",\"type\":\"agent_"
                        "message\",\"text\":\"hi\"}}");
    expect_line(&c.out, "{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":0,\"cached_input_"
                        "tokens\":0,\"output_tokens\":0}}");
    CU_ASSERT_PTR_NULL(read_line(&c.out));
    CU_ASSERT_EQUAL(finish(&c), 3);
}

static char *claude_user(const char *text)
{
    json_t *msg = json_pack("{s:s, s:{s:s, s:s}, s:n}", "type", "user", "message", "role", "user",
                            "content", text, "parent_tool_use_id");
    char *s = wc_json_compact(msg), *line = wc_xasprintf("%s\n", s);

    free(s);
    json_decref(msg);
    return line;
}

static void test_cli_claude_permission_round_trip(void)
{
    static const char *const args[] = {"claude",    "--output-format", "stream-json",
                                       "--verbose", "--input-format",  "stream-json",
                                       NULL};
    struct child c;
    char *line, *user;

    spawn(&c, args);
    send_text(c.in, "{\"type\":\"control_request\",\"request_id\":\"i1\",\"request\":{\"subtype\":"
                    "\"initialize\",\"hooks\":{}}}\n");
    expect_line(&c.out, "{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\","
                        "\"request_id\":\"i1\",\"response\":{}}}");
    line = wc_xasprintf("gwspec:{\"v\":1,\"ctl\":\"127.0.0.1:%d\",\"run\":\"r1\",\"script\":"
                        "[{\"announce\":\"n1\"},{\"permission\":{\"toolName\":\"Bash\",\"input\":{"
                        "\"command\":\"ls\"}}},"
                        "{\"emit\":{\"kind\":\"error\",\"content\":\"x\"}},{\"complete\":0}]}",
                        c.port);
    user = claude_user(line);
    free(line);
    send_text(c.in, user);
    free(user);
    accept_ctl(&c);
    line = read_line(&c.out);
    CU_ASSERT(line &&
              strstr(line, "\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"n1\""));
    free(line);
    expect_line(&c.out, "{\"type\":\"control_request\",\"request_id\":\"gwspec-perm-0\","
                        "\"request\":{\"subtype\":\"can_use_tool\",\"tool_name\":\"Bash\","
                        "\"input\":{\"command\":\"ls\"},\"tool_use_id\":\"toolu_gwspec_perm_0\"}}");
    send_text(c.in,
              "{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\",\"request_id\":"
              "\"gwspec-perm-0\",\"response\":{\"behavior\":\"allow\",\"updatedInput\":{"
              "\"command\":\"ls\"},\"toolUseID\":\"toolu_gwspec_perm_0\"}}}\n");
    line = ctl_until(&c, "permission");
    CU_ASSERT(line && strcmp(line, "{\"type\":\"permission\",\"requestId\":\"gwspec-perm-0\","
                                   "\"allow\":true,\"cancelled\":false,\"reason\":null}") == 0);
    free(line);
    line = ctl_until(&c, "unsupported");
    CU_ASSERT(line && strstr(line, "claude has no native form for kind 'error'"));
    free(line);
    line = ctl_until(&c, "done");
    CU_ASSERT_PTR_NOT_NULL(line);
    free(line);
    line = read_line(&c.out);
    CU_ASSERT(line && strncmp(line, "{\"type\":\"result\",\"subtype\":\"success\"", 36) == 0);
    free(line);
    /* after its result the CLI waits for stdin EOF, as under the SDK */
    CU_ASSERT_EQUAL(waitpid(c.pid, NULL, WNOHANG), 0);
    CU_ASSERT_EQUAL(finish(&c), 0);
}

static void test_cli_claude_interrupt_aborts(void)
{
    static const char *const args[] = {"gwspec-provider", "--as", "claude", NULL};
    struct child c;
    char *line, *user;

    spawn(&c, args);
    line = wc_xasprintf("gwspec:{\"v\":1,\"ctl\":\"127.0.0.1:%d\",\"script\":"
                        "[{\"announce\":\"n1\"},{\"wait_abort\":true},{\"complete\":0}]}",
                        c.port);
    user = claude_user(line);
    free(line);
    send_text(c.in, user);
    free(user);
    accept_ctl(&c);
    line = ctl_until(&c, "announced");
    free(line);
    send_text(c.in, "{\"type\":\"control_request\",\"request_id\":\"int-1\",\"request\":{"
                    "\"subtype\":\"interrupt\"}}\n");
    line = ctl_until(&c, "aborted");
    CU_ASSERT(line && strcmp(line, "{\"type\":\"aborted\",\"during\":1}") == 0);
    free(line);
    line = ctl_until(&c, "done");
    CU_ASSERT(line && strcmp(line, "{\"type\":\"done\",\"how\":\"aborted\",\"exitCode\":0}") == 0);
    free(line);
    line = read_line(&c.out); /* system/init */
    free(line);
    expect_line(&c.out, "{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\","
                        "\"request_id\":\"int-1\",\"response\":{}}}");
    line = read_line(&c.out);
    CU_ASSERT(line && strncmp(line, "{\"type\":\"result\",\"subtype\":\"error_during_execution\"",
                              51) == 0);
    free(line);
    CU_ASSERT_EQUAL(finish(&c), 0);
}

static void test_cli_opencode_sigterm_aborts(void)
{
    static const char *const args[] = {
        "opencode",
        "run",
        "--format",
        "json",
        "--dir",
        "/p",
        "--session",
        "ses_0",
        DIRECTIVE("[{\"announce\":\"ses_1\"},{\"emit\":{\"kind\":\"text\",\"content\":\"a\"}},"
                  "{\"wait_abort\":true},{\"complete\":0}]"),
        NULL};
    struct child c;
    char *line;

    spawn(&c, args);
    accept_ctl(&c);
    line = ctl_until(&c, "emitted");
    free(line);
    kill(c.pid, SIGTERM);
    line = ctl_until(&c, "aborted");
    CU_ASSERT(line && strcmp(line, "{\"type\":\"aborted\",\"during\":2}") == 0);
    free(line);
    line = ctl_until(&c, "done");
    CU_ASSERT(line && strcmp(line, "{\"type\":\"done\",\"how\":\"aborted\",\"exitCode\":0}") == 0);
    free(line);
    expect_line(&c.out, "{\"type\":\"step_start\",\"sessionID\":\"ses_1\"}");
    expect_line(&c.out, "{\"type\":\"text\",\"sessionID\":\"ses_1\",\"text\":\"a\"}");
    CU_ASSERT_PTR_NULL(read_line(&c.out));
    CU_ASSERT_EQUAL(finish(&c), 0);
}

static void test_cli_no_ctl_and_usage(void)
{
    static const char *const plain[] = {"cursor-agent", "-p", "hello  world", NULL};
    static const char *const bad[] = {"gwspec-provider", "-p", "x", NULL};
    static const char *const delay[] = {
        "opencode", "run",
        "gwspec:{\"v\":1,\"script\":[{\"delay\":30},{\"barrier\":\"b\"},{\"complete\":4}]}", NULL};
    struct child c;
    char *line;
    int64_t t0;

    spawn(&c, plain);
    line = read_line(&c.out);
    CU_ASSERT(
        line &&
        strncmp(line, "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"nat-", 51) == 0);
    free(line);
    line = read_line(&c.out);
    CU_ASSERT(line && strstr(line, "\"text\":\"hello\""));
    free(line);
    line = read_line(&c.out);
    CU_ASSERT(line && strstr(line, "\"text\":\" world\""));
    free(line);
    line = read_line(&c.out);
    CU_ASSERT(line && strstr(line, "\"type\":\"result\""));
    free(line);
    CU_ASSERT_EQUAL(finish(&c), 0);

    spawn(&c, bad);
    CU_ASSERT_EQUAL(finish(&c), 2);

    /* claude whose stdin closes before any prompt exits at once (it used to wait forever) */
    spawn(&c, (const char *const[]){"claude", NULL});
    close(c.in);
    c.in = -1;
    CU_ASSERT_PTR_NULL(read_line(&c.out));
    CU_ASSERT_EQUAL(finish(&c), 0);

    /* no ctl: the barrier passes; the delay runs on the poll timer; complete 4 is the status */
    t0 = wc_now_ms();
    spawn(&c, delay);
    CU_ASSERT_PTR_NULL(read_line(&c.out));
    CU_ASSERT_EQUAL(finish(&c), 4);
    CU_ASSERT(wc_now_ms() - t0 >= 30);
}

static int suite_init(void)
{
    alarm(60); /* children and sockets: a hang fails instead of sticking */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static int suite_cleanup(void)
{
    alarm(0);
    return 0;
}

static CU_TestInfo cli_tests[] = {
    {"cursor_barrier_and_hello", test_cli_cursor_barrier_and_hello},
    {"codex_prompt_on_stdin", test_cli_codex_prompt_on_stdin},
    {"claude_permission_round_trip", test_cli_claude_permission_round_trip},
    {"claude_interrupt_aborts", test_cli_claude_interrupt_aborts},
    {"opencode_sigterm_aborts", test_cli_opencode_sigterm_aborts},
    {"no_ctl_and_usage", test_cli_no_ctl_and_usage},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo mp_cli_suites[] = {
    {.pName = "mp_cli",
     .pInitFunc = suite_init,
     .pCleanupFunc = suite_cleanup,
     .pTests = cli_tests},
    CU_SUITE_INFO_NULL,
};
