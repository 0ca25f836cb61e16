/* book.c: rc_idset and rc_book (book.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "book.h"
#include "wc_mem.h"
#include "wc_banned.h"

void rc_idset_init(struct rc_idset *s, size_t cap)
{
    s->cap = cap ? cap : 1;
    s->ids = wc_xcalloc(s->cap, sizeof(*s->ids));
    s->n = s->next = 0;
}

void rc_idset_release(struct rc_idset *s)
{
    for (size_t i = 0; s->ids && i < s->cap; i++)
        free(s->ids[i]);
    free(s->ids);
    s->ids = NULL;
    s->n = s->next = 0;
}

bool rc_idset_has(const struct rc_idset *s, const char *id)
{
    for (size_t i = 0; i < s->cap; i++) {
        if (s->ids[i] && !strcmp(s->ids[i], id))
            return true;
    }
    return false;
}

bool rc_idset_add(struct rc_idset *s, const char *id)
{
    if (rc_idset_has(s, id))
        return false;
    free(s->ids[s->next]);
    s->ids[s->next] = wc_xstrdup(id);
    s->next = (s->next + 1) % s->cap;
    if (s->n < s->cap)
        s->n++;
    return true;
}

void rc_book_init(struct rc_book *b)
{
    memset(b, 0, sizeof(*b));
    rc_idset_init(&b->answered, RC_BOOK_IDS);
    rc_idset_init(&b->cancelled, RC_BOOK_IDS);
}

static void pending_free(struct rc_pending *p)
{
    free(p->request_id);
    free(p->tool_name);
    json_decref(p->input);
}

void rc_book_release(struct rc_book *b)
{
    for (size_t i = 0; i < b->npending; i++)
        pending_free(&b->pending[i]);
    free(b->pending);
    rc_idset_release(&b->answered);
    rc_idset_release(&b->cancelled);
    memset(b, 0, sizeof(*b));
}

static ssize_t pending_index(const struct rc_book *b, const char *request_id)
{
    for (size_t i = 0; i < b->npending; i++) {
        if (!strcmp(b->pending[i].request_id, request_id))
            return (ssize_t)i;
    }
    return -1;
}

enum rc_req_state rc_book_state(const struct rc_book *b, const char *request_id)
{
    if (pending_index(b, request_id) >= 0)
        return RC_REQ_PENDING;
    if (rc_idset_has(&b->cancelled, request_id))
        return RC_REQ_CANCELLED;
    if (rc_idset_has(&b->answered, request_id))
        return RC_REQ_ANSWERED;
    return RC_REQ_UNKNOWN;
}

bool rc_book_add_pending(struct rc_book *b, const char *request_id, const char *tool_name,
                         const json_t *input)
{
    struct rc_pending *p;

    if (rc_book_state(b, request_id) != RC_REQ_UNKNOWN)
        return false;
    if (b->npending == b->cappending) {
        b->cappending = b->cappending ? 2 * b->cappending : 8;
        b->pending = wc_xrealloc(b->pending, b->cappending * sizeof(*b->pending));
    }
    p = &b->pending[b->npending++];
    p->request_id = wc_xstrdup(request_id);
    p->tool_name = wc_xstrdup(tool_name ? tool_name : "");
    p->input = json_is_object(input) ? json_deep_copy(input) : json_object();
    return true;
}

const struct rc_pending *rc_book_find(const struct rc_book *b, const char *request_id)
{
    ssize_t i;

    if (!request_id)
        return b->npending ? &b->pending[b->npending - 1] : NULL;
    i = pending_index(b, request_id);
    return i >= 0 ? &b->pending[i] : NULL;
}

static void pending_remove(struct rc_book *b, size_t i)
{
    pending_free(&b->pending[i]);
    memmove(&b->pending[i], &b->pending[i + 1], (b->npending - i - 1) * sizeof(*b->pending));
    b->npending--;
}

void rc_book_answered(struct rc_book *b, const char *request_id)
{
    ssize_t i = pending_index(b, request_id);

    rc_idset_add(&b->answered, request_id);
    if (i >= 0)
        pending_remove(b, (size_t)i);
}

void rc_book_mark_answered(struct rc_book *b, const char *request_id)
{
    rc_idset_add(&b->answered, request_id);
}

bool rc_book_cancel(struct rc_book *b, const char *request_id)
{
    ssize_t i = pending_index(b, request_id);

    if (i < 0)
        return false;
    pending_remove(b, (size_t)i);
    rc_idset_add(&b->cancelled, request_id);
    return true;
}
