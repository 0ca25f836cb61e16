/* policy.c: rc_retry_delay (policy.h). */
#include "policy.h"
#include "wc_banned.h"

int64_t rc_retry_delay(const struct rc_close *c, enum rc_mutant mutant)
{
    if (c->own_close)
        return mutant == RC_MUT_RETRY_AFTER_OWN_CLOSE ? RC_RECONNECT_DELAY_MS : -1;
    if (!c->was_open)
        return mutant == RC_MUT_RETRY_NEVER_OPENED ? RC_RECONNECT_DELAY_MS : -1;
    if (c->code == 4003)
        return mutant == RC_MUT_RETRY_AFTER_4003 ? RC_RECONNECT_DELAY_MS : -1;
    if (c->code == 4001) {
        unsigned n = c->streak ? c->streak : 1;
        if (n > RC_MAX_4001_RETRIES && mutant != RC_MUT_RETRY_4001_FOREVER)
            return -1;
        if (mutant == RC_MUT_RETRY_4001_NO_BACKOFF)
            return RC_RECONNECT_DELAY_MS;
        return (int64_t)RC_RECONNECT_DELAY_MS * n;
    }
    return mutant == RC_MUT_RETRY_DROP_NO_DELAY ? 0 : RC_RECONNECT_DELAY_MS;
}
