/*
 * session.h: the reference client's claude-remote/1 state machine, sans I/O
 * (spec/claude-remote-1). It owns the connection state, the reconnect decisions (policy.h), the
 * control-request bookkeeping (book.h), uuid de-duplication and the client control channel's
 * acts and notes (the contract between the harness's server role and the reference client).
 * Every effect goes through struct rc_io, so that the tests drive it with fake I/O and the lws
 * glue (client.c) with real sockets. Delays and intervals are divided by the time scale here.
 */
#ifndef RC_SESSION_H
#define RC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mutants.h"

enum rc_timer { RC_TIMER_RECONNECT, RC_TIMER_PING, RC_TIMER_COUNT };

struct rc_io {
    void *ctx;
    void (*connect)(void *ctx);                                /* start one attempt now */
    void (*send)(void *ctx, const char *text, size_t len);     /* a text frame, socket open */
    void (*close)(void *ctx, int code);                        /* close (or abort) the socket */
    void (*ping)(void *ctx);                                   /* a ping frame, socket open */
    void (*timer)(void *ctx, enum rc_timer which, int64_t ms); /* arm in ms; ms < 0: cancel */
    void (*ctl)(void *ctx, const char *line);                  /* a control line (no newline) */
    void (*quit)(void *ctx);                                   /* end the process cleanly */
};

struct rc_config {
    const char *session_id; /* from the URL; "" when it has none */
    const char *case_token; /* echoed in the hello; may be NULL */
    double time_scale;      /* > 0 */
    enum rc_mutant mutant;
    uint64_t seed; /* for the uuids and request ids it makes */
};

enum rc_state {
    RC_ST_IDLE,       /* not started */
    RC_ST_CONNECTING, /* an attempt is under way */
    RC_ST_OPEN,       /* the socket is open */
    RC_ST_CLOSING,    /* the client closes the socket itself */
    RC_ST_WAITING,    /* disconnected; an attempt is scheduled */
    RC_ST_GONE        /* disconnected for good (gave up, or closed by the client) */
};

struct rc_session;

struct rc_session *rc_session_new(const struct rc_config *cfg, const struct rc_io *io);
void rc_session_free(struct rc_session *s);
enum rc_state rc_session_state(const struct rc_session *s);
unsigned rc_session_attempts(const struct rc_session *s);

/* The hello line on the control channel (pid as given). */
void rc_session_hello(struct rc_session *s, long pid);
/* The first connection attempt. */
void rc_session_start(struct rc_session *s);
/* The socket of the current attempt opened (101). */
void rc_session_opened(struct rc_session *s);
/* A complete message arrived on the open socket. */
void rc_session_frame(struct rc_session *s, const char *data, size_t len, bool binary);
/* The current socket or attempt ended: `code` the server's close code, or 1006 (no close frame,
 * a failed attempt). Called once per attempt. */
void rc_session_closed(struct rc_session *s, int code);
/* A timer armed through io->timer fired. */
void rc_session_timer(struct rc_session *s, enum rc_timer which);
/* One line from the control channel (an act). */
void rc_session_ctl_line(struct rc_session *s, const char *line, size_t len);

#endif
