/*
 * cli.c: the child process and the poll loop of cli.h, driving control.h. The session decides;
 * this file only moves lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "wc_buf.h"
#include "wc_io.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_time.h"
#include "wc_banned.h"

#define LINE_MAX_BYTES (16u << 20) /* a CLI line; longer ones are dropped */
#define CTL_IN_MAX     (1u << 20)
#define STOP_GRACE_MS  2000 /* the CLI's time to end after its stdin closed */

struct cli {
    int in_fd, out_fd, ctl_fd, pid_fd;
    pid_t pid;
    bool exited, quitting;
    struct wc_buf out, ctl_in;
    struct rc_cc *s;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    (void)sig;
    got_signal = 1;
}

static bool io_write(void *ctx, const char *line, size_t len)
{
    struct cli *c = ctx;

    if (c->in_fd < 0)
        return false;
    wc_debug("cli< %.*s", (int)len, line);
    if (wc_write_all(c->in_fd, line, len) != 0 || wc_write_all(c->in_fd, "\n", 1) != 0) {
        wc_info("the CLI's stdin: %s", strerror(errno));
        return false;
    }
    return true;
}

static void io_close_input(void *ctx)
{
    struct cli *c = ctx;

    if (c->in_fd >= 0)
        close(c->in_fd);
    c->in_fd = -1;
}

static void io_ctl(void *ctx, const char *line)
{
    struct cli *c = ctx;

    wc_debug("ctl> %s", line);
    if (c->ctl_fd < 0)
        return;
    if (wc_write_all(c->ctl_fd, line, strlen(line)) != 0 || wc_write_all(c->ctl_fd, "\n", 1) != 0)
        wc_warn("control channel: %s", strerror(errno));
}

static void io_quit(void *ctx)
{
    ((struct cli *)ctx)->quitting = true;
}

static int ctl_connect(const char *hostport)
{
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
    int fd = -1;

    if (!colon || colon == hostport)
        return -1;
    char *host = wc_xstrndup(hostport, (size_t)(colon - hostport));
    if (getaddrinfo(host, colon + 1, &hints, &res) == 0) {
        for (ai = res; ai && fd < 0; ai = ai->ai_next) {
            fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
            if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
                close(fd);
                fd = -1;
            }
        }
        freeaddrinfo(res);
    }
    free(host);
    return fd;
}

static int spawn(struct cli *c, const char *path, enum rc_mutant m)
{
    int in[2], out[2];
    const char *const *args = rc_cc_cli_args(m);
    size_t n = 0;

    while (args[n])
        n++;
    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    char **argv = wc_xcalloc(n + 2, sizeof(*argv));
    argv[0] = (char *)path;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    pid_t self = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* the CLI never outlives the client */
        if (getppid() != self)
            _exit(127);
        signal(SIGPIPE, SIG_DFL);
        dup2(in[0], 0);
        dup2(out[1], 1);
        execv(path, argv);
        dprintf(2, "gwspec-client: cannot execute %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    free(argv);
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return -1;
    }
    c->pid = pid;
    c->in_fd = in[1];
    c->out_fd = out[0];
#ifdef SYS_pidfd_open
    c->pid_fd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    return 0;
}

static void reap(struct cli *c, bool block)
{
    int status = 0;

    if (c->exited || c->pid <= 0)
        return;
    if (waitpid(c->pid, &status, block ? 0 : WNOHANG) != c->pid)
        return;
    c->exited = true;
    rc_cc_exited(c->s, status);
}

static void on_cli_out(struct cli *c)
{
    char buf[65536];
    ssize_t r = read(c->out_fd, buf, sizeof(buf));

    if (r < 0 && errno == EINTR)
        return;
    if (r <= 0) {
        if (c->out.len) /* a last line without its newline */
            rc_cc_line(c->s, c->out.buf, c->out.len);
        wc_buf_reset(&c->out);
        close(c->out_fd);
        c->out_fd = -1;
        if (c->pid_fd < 0)
            reap(c, true);
        return;
    }
    if (wc_buf_add(&c->out, buf, (size_t)r)) {
        wc_warn("a line from the CLI over %u bytes dropped", LINE_MAX_BYTES);
        wc_buf_reset(&c->out);
        return;
    }
    char *nl;
    while (c->out.len && (nl = memchr(c->out.buf, '\n', c->out.len))) {
        size_t n = (size_t)(nl - c->out.buf);
        char *line = wc_xstrndup(c->out.buf, n);
        wc_buf_consume(&c->out, n + 1);
        wc_debug("cli> %s", line);
        rc_cc_line(c->s, line, n);
        free(line);
    }
}

/* false when the channel ended */
static bool on_ctl(struct cli *c)
{
    char buf[4096];
    ssize_t r = read(c->ctl_fd, buf, sizeof(buf));

    if (r < 0 && errno == EINTR)
        return true;
    if (r <= 0)
        return false;
    if (wc_buf_add(&c->ctl_in, buf, (size_t)r)) {
        wc_warn("control channel: line over %u bytes dropped", CTL_IN_MAX);
        wc_buf_reset(&c->ctl_in);
        return true;
    }
    char *nl;
    while (!c->quitting && c->ctl_in.len && (nl = memchr(c->ctl_in.buf, '\n', c->ctl_in.len))) {
        size_t n = (size_t)(nl - c->ctl_in.buf);
        char *line = wc_xstrndup(c->ctl_in.buf, n);
        wc_buf_consume(&c->ctl_in, n + 1);
        wc_debug("ctl< %s", line);
        if (n)
            rc_cc_ctl_line(c->s, line, n);
        free(line);
    }
    return true;
}

/* End the CLI: its stdin closed, a grace period, then SIGTERM and SIGKILL. */
static void stop_cli(struct cli *c)
{
    io_close_input(c);
    int64_t deadline = wc_now_ms() + STOP_GRACE_MS;
    while (!c->exited && c->pid > 0) {
        int status;
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == c->pid || r < 0)
            break;
        if (wc_now_ms() >= deadline) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &status, 0);
            break;
        }
        struct pollfd p = {.fd = c->pid_fd, .events = POLLIN};
        poll(c->pid_fd >= 0 ? &p : NULL, c->pid_fd >= 0 ? 1 : 0, 20); /* teardown only */
    }
}

int rc_cli_run(const struct rc_cli_opts *o)
{
    struct cli c = {.in_fd = -1, .out_fd = -1, .ctl_fd = -1, .pid_fd = -1};
    struct rc_cc_io io = {.ctx = &c,
                          .write = io_write,
                          .close_input = io_close_input,
                          .ctl = io_ctl,
                          .quit = io_quit};
    struct rc_cc_config cfg = {.case_token = o->case_token,
                               .mutant = o->mutant,
                               .seed = (uint64_t)wc_now_us() ^ ((uint64_t)getpid() << 32)};
    struct sigaction sa;
    int status = 0;

    signal(SIGPIPE, SIG_IGN);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    wc_buf_init(&c.out, LINE_MAX_BYTES);
    wc_buf_init(&c.ctl_in, CTL_IN_MAX);
    c.s = rc_cc_new(&cfg, &io);
    if (o->ctl) {
        c.ctl_fd = ctl_connect(o->ctl);
        if (c.ctl_fd < 0) {
            fprintf(stderr, "gwspec-client: control channel %s: cannot connect\n", o->ctl);
            status = 1;
            goto out;
        }
    }
    rc_cc_hello(c.s, (long)getpid());
    if (spawn(&c, o->cli, o->mutant) != 0) {
        fprintf(stderr, "gwspec-client: cannot start the CLI %s: %s\n", o->cli, strerror(errno));
        status = 1;
        goto out;
    }
    rc_cc_started(c.s, (long)c.pid);
    while (!got_signal && !c.quitting) {
        struct pollfd p[3];
        int np = 0, i_out = -1, i_ctl = -1, i_pid = -1;
        if (c.out_fd >= 0)
            i_out = np, p[np++] = (struct pollfd){.fd = c.out_fd, .events = POLLIN};
        if (c.ctl_fd >= 0)
            i_ctl = np, p[np++] = (struct pollfd){.fd = c.ctl_fd, .events = POLLIN};
        if (c.pid_fd >= 0 && !c.exited)
            i_pid = np, p[np++] = (struct pollfd){.fd = c.pid_fd, .events = POLLIN};
        if (!o->ctl && c.out_fd < 0 && c.exited)
            break; /* unattended: the CLI is gone, nothing more can happen */
        if (np == 0)
            break;
        if (poll(p, (nfds_t)np, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (i_out >= 0 && p[i_out].revents)
            on_cli_out(&c);
        if (i_pid >= 0 && p[i_pid].revents) {
            while (c.out_fd >= 0) /* its last lines first: cli_exited comes after them */
                on_cli_out(&c);
            reap(&c, false);
        }
        if (i_ctl >= 0 && p[i_ctl].revents && !on_ctl(&c))
            break; /* nothing outlives the harness's channel */
    }
out:
    if (c.pid > 0)
        stop_cli(&c);
    if (c.out_fd >= 0)
        close(c.out_fd);
    if (c.pid_fd >= 0)
        close(c.pid_fd);
    if (c.ctl_fd >= 0)
        close(c.ctl_fd);
    rc_cc_free(c.s);
    wc_buf_release(&c.out);
    wc_buf_release(&c.ctl_in);
    return status;
}
