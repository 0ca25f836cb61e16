/*
 * book.h: the reference client's sans-I/O bookkeeping (spec/claude-remote-1):
 *   - rc_idset: a bounded set of strings (oldest forgotten first), for the uuids already
 *     rendered or sent (CR-MSG-1) and the request ids already answered or cancelled;
 *   - rc_book: the server's control requests: pending can_use_tool prompts, answered and
 *     cancelled ids (CR-CTL-1, CR-CTL-3, CR-CTL-4).
 * Depends on lib/ (wc_mem) and jansson only.
 */
#ifndef RC_BOOK_H
#define RC_BOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct rc_idset {
    char **ids; /* ring of cap entries */
    size_t cap, n, next;
};

void rc_idset_init(struct rc_idset *s, size_t cap); /* cap >= 1 */
void rc_idset_release(struct rc_idset *s);
bool rc_idset_has(const struct rc_idset *s, const char *id);
/* Add a copy of id (forgetting the oldest when full); false when it was there already. */
bool rc_idset_add(struct rc_idset *s, const char *id);

enum rc_req_state { RC_REQ_UNKNOWN, RC_REQ_PENDING, RC_REQ_ANSWERED, RC_REQ_CANCELLED };

struct rc_pending {
    char *request_id, *tool_name;
    json_t *input; /* owned; the request's `input` (an object, possibly empty) */
};

struct rc_book {
    struct rc_pending *pending; /* oldest first */
    size_t npending, cappending;
    struct rc_idset answered, cancelled;
};

#define RC_BOOK_IDS 1024

void rc_book_init(struct rc_book *b);
void rc_book_release(struct rc_book *b);
enum rc_req_state rc_book_state(const struct rc_book *b, const char *request_id);
/* Record a pending prompt; false (nothing recorded) when the id is known in any state. */
bool rc_book_add_pending(struct rc_book *b, const char *request_id, const char *tool_name,
                         const json_t *input);
/* The pending prompt with this id, or the newest when request_id is NULL; NULL when none. */
const struct rc_pending *rc_book_find(const struct rc_book *b, const char *request_id);
/* A pending prompt was answered (or its answer dropped): no longer pending, now answered. */
void rc_book_answered(struct rc_book *b, const char *request_id);
/* An id answered at once (an unsupported subtype): recorded as answered. */
void rc_book_mark_answered(struct rc_book *b, const char *request_id);
/* A control_cancel_request: true when the id was pending (now cancelled). */
bool rc_book_cancel(struct rc_book *b, const char *request_id);

#endif
