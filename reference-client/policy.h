/*
 * policy.h: claude-remote/1's reconnect policy as a pure function (spec/claude-remote-1,
 * CR-RETRY-1 ... CR-RETRY-5): what the client does after a socket ended, given how it ended.
 * Times in ms at time_scale 1; the caller divides by its time scale.
 */
#ifndef RC_POLICY_H
#define RC_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "mutants.h"

#define RC_RECONNECT_DELAY_MS 2000
#define RC_MAX_4001_RETRIES   3
#define RC_PING_INTERVAL_MS   30000
/* added to every scaled reconnect delay by the session (never early, see session.c) */
#define RC_RETRY_MARGIN_MS 1

/* code of a socket that ended without a close frame (a TCP drop, a failed attempt) */
#define RC_CLOSE_ABNORMAL 1006

struct rc_close {
    int code;        /* the server's close code, or RC_CLOSE_ABNORMAL */
    bool was_open;   /* the socket had opened (101 received) */
    bool own_close;  /* the client asked for the close itself (the close act) */
    unsigned streak; /* for 4001: its place in the 4001 streak, 1 for the first */
};

/*
 * The delay before the next attempt in ms (0: at once), or -1: give up, no further attempt.
 * `mutant` bends the policy the way its name says (RC_MUT_NONE for the reference).
 */
int64_t rc_retry_delay(const struct rc_close *c, enum rc_mutant mutant);

#endif
