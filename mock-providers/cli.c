/*
 * cli.c: the gwspec-provider driver (see cli.h).
 *
 * Exit rules: the process exits when the run has ended, with the persona's exit status. The
 * claude persona, like the real CLI under the SDK, waits for stdin EOF after its result
 * (unless it crashed or never wrote a result, when nobody would close stdin). A `hang` never
 * exits. SIGTERM/SIGINT abort the run (on_abort decides what that means), or exit at once once
 * the run is over.
 *
 * stdout and stderr are two streams that a gateway reads independently (CloudCLI: one 'data'
 * handler per pipe, each stderr chunk one error event). To keep their relative order and to
 * keep two stderr messages from arriving as one chunk, a write to stderr first waits until the
 * reader has consumed everything written to stdout and stderr, and a write to stdout first
 * waits for stderr (bounded by DRAIN_MAX_MS; a reader that never reads only slows us down).
 * The wait is on an observable condition (the bytes still queued: FIONREAD for a pipe,
 * SIOCOUTQ for a socket pair, which is what libuv gives a child's stdio), never a fixed sleep.
 * For the same reason every control message except `emitted` (reached, done, aborted, ...) is
 * written only once the gateway has read everything written to stdout and stderr before it.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "directive.h"
#include "personas/persona.h"
#include "runtime.h"
#include "wc_buf.h"
#include "wc_io.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"
#include "wc_banned.h"

#define INPUT_MAX    (64u << 20) /* stdin or control input beyond this is a protocol error */
#define DRAIN_MAX_MS 2000        /* longest wait for the reader of stdout/stderr to catch up */

struct cli {
    const struct mp_persona *p;  /* the persona */
    struct mp_persona_args args; /* parsed argv */
    struct mp_persona_state st;  /* encoder state */
    struct mp_directive d;       /* valid once have_run */
    struct mp_run_info info;     /* hello facts */
    json_t *argv_json;           /* the whole argv */
    char *cwd;                   /* reported cwd */
    struct mp_run *run;          /* NULL until the prompt is known */
    int ctl_fd;                  /* control socket, or -1 */
    struct wc_buf ctl_in;        /* partial control line */
    struct wc_buf in;            /* partial stdin (lines, or the whole codex prompt) */
    bool stdin_open;             /* still reading stdin */
    int64_t timer_at;            /* ms deadline of the delay timer, or -1 */
    bool ended;                  /* the run ended */
    enum mp_end how;             /* how */
    int exit_code;               /* the process exit status */
    bool abort_early;            /* a signal came before the run existed */
    struct wc_buf out;           /* scratch: stdout bytes */
    struct wc_buf err;           /* scratch: stderr bytes */
};

static int sig_fds[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    char c = (char)sig;

    if (write(sig_fds[1], &c, 1) < 0) {
        /* the pipe is full: an abort is pending anyway */
    }
    errno = saved;
}

/* Bytes written to fd that its reader has not consumed yet; -1 when that cannot be known. */
static int unread(int fd)
{
    struct stat st;
    int n = 0;

    if (fstat(fd, &st) != 0)
        return -1;
    if (S_ISFIFO(st.st_mode))
        return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
    if (S_ISSOCK(st.st_mode))
        return ioctl(fd, SIOCOUTQ, &n) == 0 ? n : -1;
    return -1; /* a file or a terminal: nothing to wait for */
}

/* Wait until the reader of fd has consumed what was written to it (bounded). */
static void drain(int fd)
{
    int64_t deadline = wc_now_ms() + DRAIN_MAX_MS;

    while (unread(fd) > 0 && wc_now_ms() < deadline)
        poll(NULL, 0, 1);
}

static void flush(struct cli *c)
{
    if (c->out.len) {
        drain(2);
        (void)wc_write_all(1, c->out.buf, c->out.len); /* a reader that is gone: nothing to do */
    }
    if (c->err.len) {
        drain(1);
        drain(2);
        (void)wc_write_all(2, c->err.buf, c->err.len);
    }
    wc_buf_reset(&c->out);
    wc_buf_reset(&c->err);
}

/* ---- the sink ---------------------------------------------------------------------------- */

static void sink_event(void *ctx, json_t *ev)
{
    struct cli *c = ctx;

    c->p->event(&c->st, ev, &c->out, &c->err);
    json_decref(ev);
    flush(c);
}

static void sink_announce(void *ctx, const char *id)
{
    struct cli *c = ctx;

    free(c->st.native_id);
    c->st.native_id = wc_xstrdup(id);
    c->p->announce(&c->st, id, &c->out);
    flush(c);
}

static void sink_permission(void *ctx, const char *tool, json_t *input, int64_t timeout_ms)
{
    struct cli *c = ctx;

    if (!c->p->permission) { /* check() rejects the step first; be safe anyway */
        mp_run_permission_answer(c->run, NULL, false, true, "unsupported");
        return;
    }
    c->p->permission(&c->st, tool, input, &c->out);
    flush(c);
}

static void close_ctl(struct cli *c)
{
    if (c->ctl_fd >= 0)
        close(c->ctl_fd);
    c->ctl_fd = -1;
    if (c->run)
        mp_run_control_lost(c->run);
}

static void sink_control(void *ctx, const char *line, size_t len)
{
    struct cli *c = ctx;
    static const char emitted[] = "{\"type\":\"emitted\"";

    if (c->ctl_fd < 0)
        return;
    /* Everything but `emitted` (which precedes its event) tells the harness where the run is
     * (reached, done, aborted, ...): let the gateway read what we wrote first, so a harness that
     * acts on it (a sentinel, a subscribe expecting a replay) does not overtake our own events
     * still sitting in the pipe. */
    if (len < sizeof(emitted) - 1 || memcmp(line, emitted, sizeof(emitted) - 1) != 0) {
        drain(1);
        drain(2);
    }
    (void)wc_write_all(c->ctl_fd, line, len);
}

static void sink_timer(void *ctx, int64_t ms)
{
    struct cli *c = ctx;

    c->timer_at = wc_now_ms() + ms;
}

static void sink_ended(void *ctx, enum mp_end how, int code)
{
    struct cli *c = ctx;

    c->ended = true;
    c->how = how;
    c->exit_code = c->p->ended(&c->st, how, code, &c->out);
    flush(c);
}

static const struct mp_run_sink cli_sink = {
    .event = sink_event,
    .announce = sink_announce,
    .permission = sink_permission,
    .control = sink_control,
    .timer = sink_timer,
    .ended = sink_ended,
};

static const char *check(void *ctx, const struct mp_step *step, const json_t *event)
{
    struct cli *c = ctx;

    return c->p->check(step, event);
}

/* ---- the run ----------------------------------------------------------------------------- */

static int connect_ctl(const char *host, int port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
    char service[16];
    int fd = -1;

    snprintf(service, sizeof(service), "%d", port);
    if (getaddrinfo(host, service, &hints, &res) != 0)
        return -1;
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static uint64_t nonce_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return h;
}

static void begin_run(struct cli *c, const char *prompt)
{
    if (c->run)
        return; /* one run per process: later prompts are ignored */
    mp_directive_parse(prompt, NULL, &c->d);
    /* the control address: loopback, or a host $GWSPEC_ALLOW_CTL lists (comma-separated) */
    const char *why = mp_directive_limit_ctl(&c->d, getenv("GWSPEC_ALLOW_CTL"));
    if (why && !c->d.ctl_host)
        fprintf(stderr, "gwspec-provider: %s\n", why);
    if (mp_script_start_failure(c->d.script)) {
        /* fail_start: the process dies as one whose start failed, before any output */
        fprintf(stderr, "gwspec-provider: %s\n", mp_script_start_failure(c->d.script));
        exit(127);
    }
    wc_rand_init(&c->st.rng, (c->d.seed ? c->d.seed : 0x67777370ULL) ^ nonce_hash(c->d.run));
    if (c->d.ctl_host) {
        c->ctl_fd = connect_ctl(c->d.ctl_host, c->d.ctl_port);
        if (c->ctl_fd < 0)
            fprintf(stderr, "gwspec-provider: cannot connect to %s:%d: %s\n", c->d.ctl_host,
                    c->d.ctl_port, strerror(errno));
    }
    c->info = (struct mp_run_info){.provider = c->p->provider,
                                   .persona = c->p->name,
                                   .cwd = c->cwd,
                                   .argv = c->argv_json,
                                   .options = c->args.options,
                                   .resume = c->args.resume,
                                   .pid = (long)getpid()};
    c->run = mp_run_new(&c->d, &c->info, &cli_sink, c);
    mp_run_set_check(c->run, check);
    if (c->d.ctl_host && c->ctl_fd < 0)
        mp_run_control_lost(c->run);
    if (c->abort_early)
        mp_run_abort(c->run);
    mp_run_start(c->run);
}

/* One complete stdin line for a stream-json persona. */
static void stdin_line(struct cli *c, const char *line, size_t len)
{
    struct mp_persona_input in = {0};
    json_t *msg = json_loadb(line, len, 0, NULL);

    if (!json_is_object(msg)) {
        json_decref(msg);
        return; /* the SDK only writes JSON objects; anything else is noise */
    }
    c->p->input(&c->st, msg, &c->out, &in);
    json_decref(msg);
    flush(c);
    if (in.prompt)
        begin_run(c, in.prompt);
    if (in.interrupt && c->run)
        mp_run_abort(c->run);
    if (in.answered && c->run)
        mp_run_permission_answer(c->run, in.request_id, in.allow, in.cancelled, in.reason);
    mp_persona_input_release(&in);
}

/* Split buf into lines, calling fn for each complete one; keeps the rest. */
static void each_line(struct cli *c, struct wc_buf *buf,
                      void (*fn)(struct cli *, const char *, size_t))
{
    char *nl;

    while ((nl = memchr(buf->buf, '\n', buf->len)) != NULL) {
        size_t n = (size_t)(nl - buf->buf);
        char *line = wc_xstrndup(buf->buf, n);
        wc_buf_consume(buf, n + 1);
        fn(c, line, n);
        free(line);
    }
}

static void ctl_line(struct cli *c, const char *line, size_t len)
{
    if (c->run)
        mp_run_control_input(c->run, line, len);
}

static void read_stdin(struct cli *c)
{
    char chunk[65536];
    ssize_t n = read(0, chunk, sizeof(chunk));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        c->stdin_open = false;
        if (c->p->prompt_from == MP_PROMPT_STDIN && !c->run)
            begin_run(c, c->in.buf);
        return;
    }
    if (wc_buf_add(&c->in, chunk, (size_t)n) != 0) {
        fprintf(stderr, "gwspec-provider: stdin input too large\n");
        wc_buf_reset(&c->in);
        return;
    }
    if (c->p->prompt_from == MP_PROMPT_STREAM_JSON)
        each_line(c, &c->in, stdin_line);
}

static void read_ctl(struct cli *c)
{
    char chunk[4096];
    ssize_t n = read(c->ctl_fd, chunk, sizeof(chunk));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0 || wc_buf_add(&c->ctl_in, chunk, (size_t)n) != 0) {
        close_ctl(c);
        return;
    }
    each_line(c, &c->ctl_in, ctl_line);
}

/* The run is over and the persona may exit now. */
static bool may_exit(const struct cli *c)
{
    if (!c->run && !c->stdin_open)
        return true; /* stdin closed before any prompt: nothing to run */
    if (!c->ended)
        return false;
    if (c->p->prompt_from != MP_PROMPT_STREAM_JSON)
        return true;
    return !c->stdin_open || c->how == MP_END_CRASHED || !c->st.wrote_result;
}

/* One poll round. Returns false when the process should exit. */
static bool poll_once(struct cli *c)
{
    struct pollfd fds[3];
    int n = 0, timeout = -1, i_stdin = -1, i_ctl = -1;
    char sig[64];

    fds[n++] = (struct pollfd){.fd = sig_fds[0], .events = POLLIN};
    if (c->stdin_open) {
        i_stdin = n;
        fds[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
    }
    if (c->ctl_fd >= 0) {
        i_ctl = n;
        fds[n++] = (struct pollfd){.fd = c->ctl_fd, .events = POLLIN};
    }
    if (c->timer_at >= 0) {
        int64_t left = c->timer_at - wc_now_ms();
        timeout = left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
    }
    if (poll(fds, (nfds_t)n, timeout) < 0)
        return errno == EINTR;
    if (fds[0].revents) {
        if (read(sig_fds[0], sig, sizeof(sig)) > 0) {
            if (c->ended)
                return false;
            if (c->run)
                mp_run_abort(c->run);
            else
                c->abort_early = true;
        }
    }
    if (i_stdin >= 0 && fds[i_stdin].revents)
        read_stdin(c);
    if (i_ctl >= 0 && c->ctl_fd >= 0 && fds[i_ctl].revents)
        read_ctl(c);
    if (c->timer_at >= 0 && wc_now_ms() >= c->timer_at) {
        c->timer_at = -1;
        if (c->run)
            mp_run_timer_fired(c->run);
    }
    return true;
}

/* ---- setup ------------------------------------------------------------------------------- */

static void usage(FILE *fp)
{
    fputs("usage: gwspec-provider --as PERSONA ARGS...\n"
          "       PERSONA ARGS...   (the binary run under a persona's name, e.g. a symlink)\n"
          "\n"
          "A scriptable mock of a coding-agent CLI: it speaks the CLI's native stream format so\n"
          "that a gateway can run it in place of the real one. What it emits comes from the\n"
          "directive gwspec:{...} inside the prompt (spec/control-channel.md); a prompt without\n"
          "a directive runs the default script (the prompt echoed as one text reply, then\n"
          "complete).\n"
          "\n"
          "personas (spec/chatgw-1.0/cloudcli-notes.md section 8):\n"
          "  claude        stream-json on stdin and stdout, as the Agent SDK drives it: the\n"
          "                prompt is a `user` message on stdin, or `-p PROMPT` in argv;\n"
          "                flags: --verbose --include-partial-messages --continue --print/-p\n"
          "                --dangerously-skip-permissions (boolean), --resume ID, and any\n"
          "                --NAME VALUE (recorded, shown to the script as options)\n"
          "  cursor-agent  -p PROMPT (or the last argument) --output-format stream-json;\n"
          "                flags: -f --force --trust --print (boolean), --resume ID\n"
          "  codex         exec --experimental-json [resume ID] PROMPT, or the prompt on\n"
          "                stdin; flags: --json --experimental-json --skip-git-repo-check\n"
          "                --full-auto --dangerously-bypass-approvals-and-sandbox (boolean),\n"
          "                --cd DIR\n"
          "  opencode      run [--session ID] [--dir DIR] PROMPT; flags: --auto --print-logs\n"
          "                --continue/-c (boolean)\n"
          "\n"
          "  -h, --help    this text\n"
          "\n"
          "environment:\n"
          "  GWSPEC_FIXTURES  where named scripts live (DIR/providers/NAME.yaml; default\n"
          "                   ./fixtures)\n"
          "\n"
          "SIGTERM or SIGINT aborts the run (the persona's native abort), or exits once it is\n"
          "over. Exit status: the persona's, as the script ends the run; 2 for bad arguments.\n"
          "\n"
          "example:  gwspec-provider --as claude -p hi </dev/null\n",
          fp);
}

static const struct mp_persona *pick(int *argc, char ***argv)
{
    const char *base = strrchr((*argv)[0], '/');

    if (*argc >= 3 && strcmp((*argv)[1], "--as") == 0) {
        const struct mp_persona *p = mp_persona_find((*argv)[2]);
        *argc -= 2;
        *argv += 2;
        return p;
    }
    return mp_persona_find(base ? base + 1 : (*argv)[0]);
}

static void setup_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};

    if (pipe2(sig_fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void cli_release(struct cli *c)
{
    mp_run_free(c->run);
    if (c->run)
        mp_directive_release(&c->d);
    if (c->ctl_fd >= 0)
        close(c->ctl_fd);
    mp_persona_args_release(&c->args);
    mp_persona_state_release(&c->st);
    json_decref(c->argv_json);
    free(c->cwd);
    wc_buf_release(&c->ctl_in);
    wc_buf_release(&c->in);
    wc_buf_release(&c->out);
    wc_buf_release(&c->err);
}

int mp_cli_main(int argc, char **argv)
{
    struct cli c = {.ctl_fd = -1, .timer_at = -1};
    char *err = NULL;
    char cwd[PATH_MAX];

    c.argv_json = json_array();
    for (int i = 0; i < argc; i++)
        json_array_append_new(c.argv_json, json_string(argv[i]));
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        json_decref(c.argv_json);
        return 0;
    }
    const char *asked = argc >= 3 && !strcmp(argv[1], "--as") ? argv[2] : NULL;
    c.p = argc > 0 ? pick(&argc, &argv) : NULL;
    if (!c.p) {
        if (asked)
            fprintf(stderr, "gwspec-provider: unknown persona '%s'\n", asked);
        usage(stderr);
        json_decref(c.argv_json);
        return 2;
    }
    if (c.p->parse_args(argc - 1, argv + 1, &c.args, &err) != 0) {
        fprintf(stderr, "gwspec-provider: %s\n", err);
        free(err);
        mp_persona_args_release(&c.args);
        json_decref(c.argv_json);
        return 2;
    }
    c.cwd = c.args.cwd ? wc_xstrdup(c.args.cwd) : wc_xstrdup(getcwd(cwd, sizeof(cwd)) ? cwd : ".");
    mp_persona_state_init(&c.st, 0);
    wc_buf_init(&c.ctl_in, INPUT_MAX);
    wc_buf_init(&c.in, INPUT_MAX);
    wc_buf_init(&c.out, 0);
    wc_buf_init(&c.err, 0);
    setup_signals();
    /* A prompt in argv (codex, claude -p PROMPT) means stdin carries nothing for the run. */
    c.stdin_open =
        (c.p->prompt_from == MP_PROMPT_STREAM_JSON || c.p->prompt_from == MP_PROMPT_STDIN) &&
        !c.args.prompt;
    if (c.args.prompt)
        begin_run(&c, c.args.prompt);
    while (!may_exit(&c) && poll_once(&c))
        ;
    /* claude: stdin closed before any prompt; others cannot get here without a run */
    int rc = c.ended ? c.exit_code : 0;
    cli_release(&c);
    return rc;
}
