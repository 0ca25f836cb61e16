/* mutants.c: the table of mutants.h. */
#include <string.h>

#include "mutants.h"
#include "wc_banned.h"

/* clang-format off */
const struct rc_mutant_info rc_mutants[RC_MUT_COUNT] = {
    [RC_MUT_NONE] = {"none", "-", "the reference behaviour", "-"},
    [RC_MUT_RETRY_AFTER_4003] = {"retry-after-4003", "CR-RETRY-1",
        "after close 4003 it connects again 2 s later", NULL},
    [RC_MUT_RETRY_4001_FOREVER] = {"retry-4001-forever", "CR-RETRY-2",
        "4001 is retried without a cap (a 4th, 5th, ... attempt after 8 s, 10 s, ...)", NULL},
    [RC_MUT_RETRY_4001_NO_BACKOFF] = {"retry-4001-no-backoff", "CR-RETRY-2",
        "every 4001 retry comes after 2 s, not 2, 4, 6 s", NULL},
    [RC_MUT_RETRY_NEVER_OPENED] = {"retry-never-opened", "CR-RETRY-4",
        "an attempt that failed before the open is retried after 2 s, without end", NULL},
    [RC_MUT_RETRY_DROP_NO_DELAY] = {"retry-drop-no-delay", "CR-RETRY-3",
        "after a drop of an open socket it connects again at once, not after 2 s", NULL},
    [RC_MUT_RETRY_AFTER_OWN_CLOSE] = {"retry-after-own-close", "CR-RETRY-5",
        "after the close act it connects again 2 s later", NULL},
    [RC_MUT_NO_PING] = {"no-ping", "CR-PING-1", "never sends a ping frame", NULL},
    [RC_MUT_SILENT_UNKNOWN_SUBTYPE] = {"silent-unknown-subtype", "CR-CTL-2",
        "a control_request of any subtype but can_use_tool gets no answer", "CC-CTL-2"},
    [RC_MUT_ANSWER_CANCELLED] = {"answer-cancelled", "CR-CTL-3",
        "a cancelled can_use_tool stays answerable: answer_permission sends its control_response",
        "CC-CTL-3"},
    [RC_MUT_DOUBLE_ANSWER] = {"double-answer", "CR-CTL-1",
        "every permission answer goes out twice (two control_responses, one request_id)", "CC-CTL-1"},
    [RC_MUT_REUSED_REQUEST_ID] = {"reused-request-id", "CR-CTL-5",
        "every interrupt carries the same request_id (claude-control/1: every own request)",
        "CC-CTL-5"},
    [RC_MUT_CONTROL_WHILE_DISCONNECTED] = {"control-while-disconnected", "CR-CTL-7",
        "control frames made while disconnected are queued and sent on the next connection", NULL},
    [RC_MUT_DEAF_AFTER_RESULT] = {"deaf-after-result", "CR-CTL-9",
        "after the first result frame every control_request is ignored", "CC-TURN-1"},
    [RC_MUT_ECHO_RENDERED_TWICE] = {"echo-rendered-twice", "CR-MSG-1",
        "no de-duplication: an echo of a sent user message is rendered again", NULL},
    [RC_MUT_CLOSE_ON_BAD_FRAME] = {"close-on-bad-frame", "CR-CONN-2",
        "a frame that is not a JSON object with a string type closes the socket (1003)", NULL},
    [RC_MUT_NO_INITIALIZE] = {"no-initialize", NULL,
        "no control_request initialize: the first line the CLI reads is whatever comes next",
        "CC-INIT-1"},
    [RC_MUT_CLOSE_STDIN_AFTER_RESULT] = {"close-stdin-after-result", NULL,
        "the CLI's stdin is closed at the first result (TypeScript SDK #283): later answers are lost",
        "CC-TURN-2"},
    [RC_MUT_WRONG_REQUEST_ID] = {"wrong-request-id", NULL,
        "a permission answer carries the request's tool_use_id as its request_id", "CC-CTL-1"},
    [RC_MUT_RESPONSE_BY_ORDER] = {"response-by-order", NULL,
        "a control_response settles the oldest own request still open, whatever its request_id",
        "CC-CTL-6"},
    [RC_MUT_NO_VERBOSE] = {"no-verbose", NULL, "the CLI is spawned without --verbose",
        "CC-SPAWN-1"},
    [RC_MUT_NO_PERMISSION_PROMPT_TOOL] = {"no-permission-prompt-tool", NULL,
        "the CLI is spawned without --permission-prompt-tool stdio", "CC-SPAWN-2"},
};
/* clang-format on */

int rc_mutant_find(const char *name)
{
    for (int i = 0; i < RC_MUT_COUNT; i++) {
        if (!strcmp(rc_mutants[i].name, name))
            return i;
    }
    return -1;
}

const char *rc_mutant_requirement(int m, bool control)
{
    if (m < 0 || m >= RC_MUT_COUNT)
        return NULL;
    return control ? rc_mutants[m].control : rc_mutants[m].requirement;
}
