/*
 * fuzz_client.c: the reference client's sans-I/O session (reference-client/session.h) as the
 * lws glue drives it (fuzz/README.md), without sockets or timers.
 *
 * Every input line is one event:
 *   !open  !start  !ping  !reconnect      the socket opened, a start, a timer fired
 *   !close N                             the socket or attempt ended with close code N
 *   A <line>                             a control-channel line (an act)
 *   M <name>                             (first line only) run the mutant called <name>
 *   anything else                        a text frame from the server
 * Oracles beyond the sanitizers: every frame the client sends is one JSON object whose type
 * is user, control_request or control_response; every control line is one JSON object
 * with a string `t` and no newline; the reference never sends two control_responses with one
 * request_id (C-3 of spec/claude-remote-1's notes), never sends while it is not open, and
 * never asks for a connection while one is under way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "book.h"
#include "mutants.h"
#include "session.h"
#include "wc_log.h"
#include "wc_mem.h"

#include "wc_banned.h"

struct drive {
    struct rc_session *s;
    enum rc_mutant mutant;
    struct rc_idset answered; /* request_ids of the control_responses sent */
    bool connecting;
};

static void check(int ok)
{
    if (!ok)
        abort();
}

static void d_connect(void *ctx)
{
    struct drive *d = ctx;
    check(!d->connecting);
    d->connecting = true;
}

static void d_send(void *ctx, const char *text, size_t len)
{
    struct drive *d = ctx;
    json_t *f = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(f, "type"));
    enum rc_state st = rc_session_state(d->s);

    check(json_is_object(f) && type);
    check(!strcmp(type, "user") || !strcmp(type, "control_request") ||
          !strcmp(type, "control_response"));
    check(st == RC_ST_OPEN || d->mutant == RC_MUT_CONTROL_WHILE_DISCONNECTED);
    if (!strcmp(type, "control_response") && d->mutant == RC_MUT_NONE) {
        const char *id =
            json_string_value(json_object_get(json_object_get(f, "response"), "request_id"));
        check(id != NULL);
        check(rc_idset_add(&d->answered, id)); /* never twice */
    }
    json_decref(f);
}

static void d_close(void *ctx, int code)
{
    (void)ctx;
    check(code >= 1000 && code <= 4999);
}

static void d_ping(void *ctx)
{
    struct drive *d = ctx;
    check(rc_session_state(d->s) == RC_ST_OPEN);
}

static void d_timer(void *ctx, enum rc_timer which, int64_t ms)
{
    (void)ctx;
    check(which == RC_TIMER_RECONNECT || which == RC_TIMER_PING);
    (void)ms;
}

static void d_ctl(void *ctx, const char *line)
{
    json_t *m = json_loads(line, 0, NULL);

    (void)ctx;
    check(json_is_object(m) && json_is_string(json_object_get(m, "t")));
    check(!strchr(line, '\n'));
    json_decref(m);
}

static void d_quit(void *ctx)
{
    (void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct drive d = {0};
    struct rc_io io = {.ctx = &d,
                       .connect = d_connect,
                       .send = d_send,
                       .close = d_close,
                       .ping = d_ping,
                       .timer = d_timer,
                       .ctl = d_ctl,
                       .quit = d_quit};
    struct rc_config cfg = {.session_id = "S", .case_token = "f#1", .time_scale = 10, .seed = 1};
    const char *p = (const char *)data, *end = p + size;
    bool first = true;

    wc_log_setup("fuzz-client", WC_LOG_QUIET);
    if (size > 2 && !memcmp(p, "M ", 2)) {
        const char *nl = memchr(p, '\n', size);
        char *name = wc_xstrndup(p + 2, (size_t)((nl ? nl : end) - p - 2));
        int m = rc_mutant_find(name);
        free(name);
        d.mutant = m > 0 ? (enum rc_mutant)m : RC_MUT_NONE;
        p = nl ? nl + 1 : end;
    }
    cfg.mutant = d.mutant;
    rc_idset_init(&d.answered, 4096);
    d.s = rc_session_new(&cfg, &io);
    rc_session_start(d.s);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        char *line = wc_xstrndup(p, n);

        if (!strcmp(line, "!open")) {
            d.connecting = false;
            rc_session_opened(d.s);
        } else if (!strcmp(line, "!start")) {
            rc_session_start(d.s);
        } else if (!strcmp(line, "!ping")) {
            rc_session_timer(d.s, RC_TIMER_PING);
        } else if (!strcmp(line, "!reconnect")) {
            rc_session_timer(d.s, RC_TIMER_RECONNECT);
        } else if (!strncmp(line, "!close ", 7)) {
            d.connecting = false;
            rc_session_closed(d.s, atoi(line + 7));
        } else if (!strncmp(line, "A ", 2)) {
            rc_session_ctl_line(d.s, line + 2, n - 2);
        } else {
            if (first && rc_session_state(d.s) == RC_ST_CONNECTING) {
                d.connecting = false;
                rc_session_opened(d.s); /* frames need an open socket */
            }
            rc_session_frame(d.s, p, n, false); /* the raw bytes, NULs included */
        }
        first = false;
        free(line);
        p = nl ? nl + 1 : end;
    }
    rc_session_free(d.s);
    rc_idset_release(&d.answered);
    return 0;
}
