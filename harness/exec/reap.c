/*
 * reap.c: records of what the harness started, and the signal handler that stops it all
 * (see reap.h).
 *
 * The records are a fixed table, so the handler reads them without locks or allocation; an
 * update blocks the handled signals, so the handler never sees half an entry. Everything the
 * handler calls is async-signal-safe (kill, waitpid, nanosleep, open, getdents64, unlinkat,
 * write, _exit); that is why the directory removal is written here instead of using nftw.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/reap.h"
#include "wc_banned.h"

#define REAP_SLOTS      64
#define REAP_PATH       512
#define WORKER_GRACE_MS 2000
#define RM_DEPTH        16

enum slot_kind { SLOT_FREE, SLOT_GROUP, SLOT_WORKER, SLOT_DIR };

struct slot {
    enum slot_kind kind;
    pid_t pid;
    char path[REAP_PATH];
};

static struct slot slots[REAP_SLOTS];
static pid_t installer; /* the process that installed the handlers: the one that reports */

/* SIGPIPE: the reader of our output went away (`gwspec run | head`); the sockets send with
 * MSG_NOSIGNAL, so only stdout and the worker pipes raise it. */
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

static void block(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        sigaddset(&set, stop_signals[i]);
    sigprocmask(SIG_BLOCK, &set, old);
}

static void unblock(const sigset_t *old)
{
    sigprocmask(SIG_SETMASK, old, NULL);
}

/* One manifest line, appended whole (O_APPEND) so that workers writing at once never mix. */
static void manifest(const char *kind, pid_t pid, const char *path)
{
    const char *file = getenv("GWSPEC_MANIFEST");
    char line[REAP_PATH + 64];
    int n;

    if (!file || !*file)
        return;
    if (pid > 0 && path)
        n = snprintf(line, sizeof(line), "%s %ld %s\n", kind, (long)pid, path);
    else if (pid > 0)
        n = snprintf(line, sizeof(line), "%s %ld\n", kind, (long)pid);
    else
        n = snprintf(line, sizeof(line), "%s %s\n", kind, path ? path : "");
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (n > 0 && (size_t)n < sizeof(line) && write(fd, line, (size_t)n) < 0) {
        /* best effort: the manifest is evidence for tests, never needed by the run */
    }
    close(fd);
}

static void add(enum slot_kind kind, pid_t pid, const char *path)
{
    sigset_t old;
    block(&old);
    for (size_t i = 0; i < REAP_SLOTS; i++) {
        if (slots[i].kind == SLOT_FREE) {
            slots[i].pid = pid;
            if (path)
                snprintf(slots[i].path, sizeof(slots[i].path), "%s", path);
            else
                slots[i].path[0] = '\0';
            slots[i].kind = kind;
            break;
        }
    }
    unblock(&old);
}

static void drop(enum slot_kind kind, pid_t pid, const char *path)
{
    sigset_t old;
    block(&old);
    for (size_t i = 0; i < REAP_SLOTS; i++) {
        if (slots[i].kind != kind)
            continue;
        if (path ? !strcmp(slots[i].path, path) : slots[i].pid == pid) {
            slots[i].kind = SLOT_FREE;
            break;
        }
    }
    unblock(&old);
}

void hn_reap_add_group(pid_t pgid, const char *dir)
{
    add(SLOT_GROUP, pgid, NULL);
    manifest("gateway", pgid, dir ? dir : "-");
}

void hn_reap_remove_group(pid_t pgid)
{
    drop(SLOT_GROUP, pgid, NULL);
}

void hn_reap_add_worker(pid_t pid)
{
    add(SLOT_WORKER, pid, NULL);
    manifest("worker", pid, NULL);
}

void hn_reap_remove_worker(pid_t pid)
{
    drop(SLOT_WORKER, pid, NULL);
}

void hn_reap_add_dir(const char *path)
{
    add(SLOT_DIR, 0, path);
    manifest("dir", 0, path);
}

void hn_reap_remove_dir(const char *path)
{
    drop(SLOT_DIR, 0, path);
}

void hn_reap_forget_all(void)
{
    sigset_t old;
    block(&old);
    for (size_t i = 0; i < REAP_SLOTS; i++)
        slots[i].kind = SLOT_FREE;
    unblock(&old);
}

size_t hn_reap_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < REAP_SLOTS; i++)
        n += slots[i].kind != SLOT_FREE;
    return n;
}

/* --- the handler: async-signal-safe only ------------------------------------------------ */

static void nap_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Remove `name` under dirfd: unlink, or when it is a directory empty it first. */
static void rm_at(int dirfd, const char *name, int depth)
{
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return;
    if (depth >= RM_DEPTH)
        return;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[4096];
    for (;;) {
        ssize_t n = getdents64(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
                continue;
            rm_at(fd, d->d_name, depth + 1);
        }
    }
    close(fd);
    unlinkat(dirfd, name, AT_REMOVEDIR);
}

static void say(const char *s)
{
    if (write(2, s, strlen(s)) < 0) {
        /* nothing to do: the report is a courtesy */
    }
}

static void say_num(unsigned long v)
{
    char b[24];
    size_t i = sizeof(b);
    b[--i] = '\0';
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    say(b + i);
}

static const char *signame(int sig)
{
    switch (sig) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    case SIGHUP:
        return "SIGHUP";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGABRT:
        return "SIGABRT";
    default:
        return "a signal";
    }
}

static void on_signal(int sig)
{
    unsigned long stopped = 0, removed = 0;

    /* Workers first: each stops what it started and removes its own directories. */
    for (size_t i = 0; i < REAP_SLOTS; i++) {
        if (slots[i].kind == SLOT_WORKER)
            kill(slots[i].pid, SIGTERM);
    }
    for (long waited = 0;; waited += 10) {
        bool alive = false;
        for (size_t i = 0; i < REAP_SLOTS; i++) {
            if (slots[i].kind != SLOT_WORKER)
                continue;
            pid_t r = waitpid(slots[i].pid, NULL, WNOHANG);
            if (r == slots[i].pid || (r < 0 && errno == ECHILD)) {
                slots[i].kind = SLOT_FREE;
                stopped++;
            } else {
                alive = true;
            }
        }
        if (!alive)
            break;
        if (waited >= WORKER_GRACE_MS) {
            for (size_t i = 0; i < REAP_SLOTS; i++) {
                if (slots[i].kind == SLOT_WORKER) {
                    kill(slots[i].pid, SIGKILL);
                    waitpid(slots[i].pid, NULL, 0);
                    slots[i].kind = SLOT_FREE;
                    stopped++;
                }
            }
            break;
        }
        nap_ms(10);
    }
    /* Gateways and whatever they started: the whole group, then the leader (it may not have
     * reached its setpgid yet), reaped before its directory goes. */
    for (size_t i = 0; i < REAP_SLOTS; i++) {
        if (slots[i].kind != SLOT_GROUP)
            continue;
        kill(-slots[i].pid, SIGKILL);
        kill(slots[i].pid, SIGKILL);
        waitpid(slots[i].pid, NULL, 0);
        slots[i].kind = SLOT_FREE;
        stopped++;
    }
    for (size_t i = 0; i < REAP_SLOTS; i++) {
        if (slots[i].kind != SLOT_DIR)
            continue;
        rm_at(AT_FDCWD, slots[i].path, 0);
        slots[i].kind = SLOT_FREE;
        removed++;
    }
    if (getpid() == installer) {
        say("\ngwspec: interrupted by ");
        say(signame(sig));
        say(": stopped ");
        say_num(stopped);
        say(" process(es) and removed ");
        say_num(removed);
        say(" directory(ies) it had started\n");
    }
    for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++) {
        if (sig == crash_signals[i]) {
            signal(sig, SIG_DFL);
            raise(sig);
            _exit(128 + sig);
        }
    }
    _exit(3);
}

void hn_reap_install(void)
{
    struct sigaction sa;

    if (installer)
        return;
    installer = getpid();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        sigaddset(&sa.sa_mask, stop_signals[i]);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        sigaction(stop_signals[i], &sa, NULL);
    /* A crash handler only where nobody else has one: under ASan its own report comes first
     * (the gateways still go, by PR_SET_PDEATHSIG). */
    sa.sa_flags = SA_RESETHAND;
    for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++) {
        struct sigaction cur;
        if (sigaction(crash_signals[i], NULL, &cur) == 0 && cur.sa_handler == SIG_DFL &&
            !(cur.sa_flags & SA_SIGINFO))
            sigaction(crash_signals[i], &sa, NULL);
    }
}
