/* live.c: the streaming invariants of `gwspec load`, one frame at a time (live.h). */
#include "check/live.h"

#include <string.h>

#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

void hn_live_run_init(struct hn_live_run *r, const char *native_id, bool expect_aborted)
{
    memset(r, 0, sizeof(*r));
    r->native_id = native_id && *native_id ? wc_xstrdup(native_id) : NULL;
    r->expect_aborted = expect_aborted;
}

void hn_live_run_release(struct hn_live_run *r)
{
    for (size_t i = 0; i < r->ncanon; i++)
        free(r->canon[i]);
    free(r->canon);
    free(r->native_id);
    memset(r, 0, sizeof(*r));
}

void hn_live_view_start(struct hn_live_view *v)
{
    free(v->last);
    memset(v, 0, sizeof(*v));
    v->attached = true;
    v->next_seq = 1;
}

void hn_live_view_release(struct hn_live_view *v)
{
    free(v->last);
    memset(v, 0, sizeof(*v));
}

void hn_live_view_resume(struct hn_live_view *v, int64_t from)
{
    v->attached = true;
    v->next_seq = (from < 0 ? 0 : from) + 1;
}

void hn_live_violation_release(struct hn_live_violation *v)
{
    free(v->what);
    free(v->witness);
    free(v->earlier);
    memset(v, 0, sizeof(*v));
}

static int violate(struct hn_live_violation *out, const char *text, size_t len, const char *earlier,
                   char *what)
{
    out->what = what;
    out->witness = wc_xstrndup(text, len);
    out->earlier = earlier ? wc_xstrdup(earlier) : NULL;
    return 1;
}

/* Keep the view's last frame (for the next witness). */
static void keep_last(struct hn_live_view *v, const char *text, size_t len)
{
    free(v->last);
    v->last = wc_xstrndup(text, len);
}

/* Compare seq's delivery with its first one, or make this the first. NULL, or the kept first
 * delivery when this one is another event. */
static const char *against_canon(struct hn_live_run *r, int64_t seq, const char *text, size_t len)
{
    size_t i = (size_t)(seq - 1);

    if (i >= r->ncanon) {
        if (i >= r->capcanon) {
            size_t cap = r->capcanon ? r->capcanon : 64;
            while (cap <= i)
                cap *= 2;
            r->canon = wc_xrealloc(r->canon, cap * sizeof(*r->canon));
            r->capcanon = cap;
        }
        while (r->ncanon <= i)
            r->canon[r->ncanon++] = NULL;
    }
    if (!r->canon[i]) {
        r->canon[i] = wc_xstrndup(text, len);
        return NULL;
    }
    const char *c = r->canon[i];
    if (strlen(c) == len && memcmp(c, text, len) == 0)
        return NULL;
    /* the same event may be serialised another way (key order): compare the values */
    json_t *a = json_loads(c, JSON_ALLOW_NUL, NULL),
           *b = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
    bool same = a && b && json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return same ? NULL : c;
}

int hn_live_event(struct hn_live_run *r, struct hn_live_view *v, const char *text, size_t len,
                  const json_t *ev, struct hn_live_violation *out)
{
    const char *kind = wc_json_str(ev, "kind");
    json_t *sv = json_object_get(ev, "seq");
    int64_t seq;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    v->events++;
    if (r->native_id && memmem(text, len, r->native_id, strlen(r->native_id))) {
        rc = violate(
            out, text, len, NULL,
            wc_xasprintf("the provider's native id %s reached the client (R-MAP-1)", r->native_id));
        /* the stream goes on past it: a leak is one violation, not a gap after it */
        if (json_is_integer(sv) && v->attached && !v->terminal &&
            json_integer_value(sv) == v->next_seq) {
            v->next_seq++;
            (void)against_canon(r, json_integer_value(sv), text, len);
            if (kind && !strcmp(kind, "complete"))
                v->terminal = true;
        }
        goto keep;
    }
    if (!json_is_integer(sv) || json_integer_value(sv) < 1) {
        rc = violate(out, text, len, v->last,
                     wc_xstrdup("a run event without an integer seq from 1 (R-EVT-1)"));
        goto keep;
    }
    seq = json_integer_value(sv);
    if (!v->attached) {
        rc = violate(out, text, len, NULL,
                     wc_xasprintf("seq %lld before this socket's chat_subscribed (R-SUB-2)",
                                  (long long)seq));
        goto keep;
    }
    if (v->terminal) {
        rc = violate(out, text, len, v->last,
                     wc_xasprintf("%s seq %lld after the run's complete (R-TERM-1, R-TERM-2)",
                                  kind ? kind : "an event", (long long)seq));
        goto keep;
    }
    if (seq != v->next_seq) {
        rc = violate(out, text, len, v->last,
                     seq < v->next_seq
                         ? wc_xasprintf("seq %lld again: expected %lld (a duplicate, R-SEQ-1)",
                                        (long long)seq, (long long)v->next_seq)
                         : wc_xasprintf("seq gap: expected %lld, received %lld (R-SEQ-1)",
                                        (long long)v->next_seq, (long long)seq));
        v->next_seq = seq + 1;
        goto term;
    }
    v->next_seq = seq + 1;
    const char *first = against_canon(r, seq, text, len);
    if (first) {
        rc = violate(out, text, len, first,
                     wc_xasprintf("seq %lld is not the event another socket received as seq "
                                  "%lld (R-SUB-3, R-SEQ-3)",
                                  (long long)seq, (long long)seq));
        goto term;
    }
    if (kind && !strcmp(kind, "complete") && r->expect_aborted &&
        (!json_is_true(json_object_get(ev, "aborted")) ||
         !json_is_false(json_object_get(ev, "success")))) {
        rc = violate(out, text, len, NULL,
                     wc_xstrdup("the complete of an aborted run does not say aborted: true, "
                                "success: false (R-ABORT-1)"));
    }
term:
    if (kind && !strcmp(kind, "complete"))
        v->terminal = true;
keep:
    keep_last(v, text, len);
    return rc;
}

int hn_live_view_end(const struct hn_live_view *v, struct hn_live_violation *out)
{
    memset(out, 0, sizeof(*out));
    if (!v->attached || v->terminal)
        return 0;
    out->what = wc_xasprintf("the run ended without a complete on this socket after %lld "
                             "event(s) (R-TERM-1, R-SUB-6)",
                             (long long)v->events);
    out->witness = v->last ? wc_xstrdup(v->last) : wc_xstrdup("(no event)");
    return 1;
}
