/*
 * mutants.h: the reference client's named deliberate bugs (off unless --mutant NAME). Each one
 * is a bug from the real history of remote-session clients (issue 14; spec/claude-remote-1) and
 * breaks one MUST of claude-remote/1, so that a case of the suite must tell it from the reference
 * behaviour. `gwspec-client --list-mutants` prints the table.
 */
#ifndef RC_MUTANTS_H
#define RC_MUTANTS_H

#include <stdbool.h>

enum rc_mutant {
    RC_MUT_NONE = 0,
    RC_MUT_RETRY_AFTER_4003,           /* CR-RETRY-1: 4003 retried like any other code */
    RC_MUT_RETRY_4001_FOREVER,         /* CR-RETRY-2: no cap on 4001 retries */
    RC_MUT_RETRY_4001_NO_BACKOFF,      /* CR-RETRY-2: every 4001 retry after 2 s */
    RC_MUT_RETRY_NEVER_OPENED,         /* CR-RETRY-4: an attempt that never opened is retried */
    RC_MUT_RETRY_DROP_NO_DELAY,        /* CR-RETRY-3: a drop is retried at once */
    RC_MUT_RETRY_AFTER_OWN_CLOSE,      /* CR-RETRY-5: reconnects after its own close */
    RC_MUT_NO_PING,                    /* CR-PING-1: never pings */
    RC_MUT_SILENT_UNKNOWN_SUBTYPE,     /* CR-CTL-2: no answer to an unknown subtype */
    RC_MUT_ANSWER_CANCELLED,           /* CR-CTL-3: a cancelled prompt can still be answered */
    RC_MUT_DOUBLE_ANSWER,              /* CR-CTL-1: every permission answer sent twice */
    RC_MUT_REUSED_REQUEST_ID,          /* CR-CTL-5: every own control_request has one id */
    RC_MUT_CONTROL_WHILE_DISCONNECTED, /* CR-CTL-7: control frames queued, sent on reconnect */
    RC_MUT_DEAF_AFTER_RESULT,          /* CR-CTL-9: control requests ignored after a result */
    RC_MUT_ECHO_RENDERED_TWICE,        /* CR-MSG-1: no de-duplication by uuid */
    RC_MUT_CLOSE_ON_BAD_FRAME,         /* CR-CONN-2: closes the socket on a malformed frame */
    /* claude-control/1 only (the ones above that the control dialect shares say so in the
     * table's `control` column) */
    RC_MUT_NO_INITIALIZE,             /* CC-INIT-1: a user message before any initialize */
    RC_MUT_CLOSE_STDIN_AFTER_RESULT,  /* CC-TURN-2: the CLI's stdin closed at the first result */
    RC_MUT_WRONG_REQUEST_ID,          /* CC-CTL-1: answers name the tool_use_id, not request_id */
    RC_MUT_RESPONSE_BY_ORDER,         /* CC-CTL-6: responses settle the oldest own request */
    RC_MUT_NO_VERBOSE,                /* CC-SPAWN-1: the CLI spawned without --verbose */
    RC_MUT_NO_PERMISSION_PROMPT_TOOL, /* CC-SPAWN-2: without --permission-prompt-tool stdio */
    RC_MUT_COUNT
};

struct rc_mutant_info {
    const char *name;
    const char *requirement; /* the claude-remote/1 id it breaks, NULL: not a mutant of it */
    const char *what;        /* the observable effect */
    const char *control;     /* the claude-control/1 id it breaks, NULL: not a mutant of it */
};

/* The table, indexed by enum rc_mutant (entry 0 is the reference: name "none"). */
extern const struct rc_mutant_info rc_mutants[RC_MUT_COUNT];

/* The mutant called name, or -1 when there is none. */
int rc_mutant_find(const char *name);
/* The requirement mutant m breaks in a dialect (control: claude-control/1, else claude-remote/1),
 * NULL when it is not a mutant of that dialect. */
const char *rc_mutant_requirement(int m, bool control);

#endif
