/*
 * reap.h: nothing the harness starts outlives it.
 *
 * Every process that starts something records it here: a gateway's process group, a worker,
 * a private directory. On SIGINT, SIGTERM or SIGHUP (and on a crash: SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL, SIGABRT) the handler, using only async-signal-safe calls, asks each worker to stop
 * and waits for it (a bounded time, then SIGKILL), kills every recorded process group, removes
 * every recorded directory, says so on stderr, and exits 3 (a crash re-raises its signal).
 * A worker clears what it inherited (hn_reap_forget_all) so that its own handler touches only
 * what it started. Gateways are also started with PR_SET_PDEATHSIG, so even a harness killed
 * with SIGKILL takes them with it.
 *
 * GWSPEC_MANIFEST=FILE appends one line per record to FILE ("gateway PID DIR", "worker PID",
 * "dir PATH"), so a test can check afterwards, by pid and path, that nothing is left.
 */
#ifndef HN_REAP_H
#define HN_REAP_H

#include <sys/types.h>

/* Install the handlers (idempotent). */
void hn_reap_install(void);
/* A process group led by pgid (a gateway); `dir` is its state directory or NULL (manifest only). */
void hn_reap_add_group(pid_t pgid, const char *dir);
void hn_reap_remove_group(pid_t pgid);
/* A worker: asked to stop with SIGTERM, then SIGKILL. */
void hn_reap_add_worker(pid_t pid);
void hn_reap_remove_worker(pid_t pid);
/* A directory removed (recursively, without following links) by the handler. */
void hn_reap_add_dir(const char *path);
void hn_reap_remove_dir(const char *path);
/* In a forked child: drop every record inherited from the parent. */
void hn_reap_forget_all(void);
/* How many records are held (for tests). */
size_t hn_reap_count(void);

#endif
