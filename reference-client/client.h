/*
 * client.h: the reference client's I/O (libwebsockets): the session socket (a WS client), the
 * client control channel (a raw TCP client, newline-delimited JSON) and the timers, driving the
 * sans-I/O state machine of session.h. One process, one lws context, the default poll loop.
 */
#ifndef RC_CLIENT_H
#define RC_CLIENT_H

#include "mutants.h"

struct rc_client_opts {
    const char *url;        /* ws://HOST:PORT/PATH or wss://... */
    const char *ctl;        /* HOST:PORT of the client control channel, or NULL */
    const char *case_token; /* may be NULL */
    const char *token;      /* bearer token, or NULL */
    double time_scale;      /* > 0 */
    enum rc_mutant mutant;
};

/*
 * Run until the quit act, the control channel's end, or SIGTERM/SIGINT. Returns the exit
 * status: 0, or 1 (with a message on stderr) when the URL is bad, the context cannot be made or
 * the control channel cannot be reached.
 */
int rc_client_run(const struct rc_client_opts *o);

#endif
