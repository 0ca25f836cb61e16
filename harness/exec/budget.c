/* budget.c: what one case may hold of what the target sends (see budget.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exec/budget.h"
#include "wc_mem.h"
#include "wc_banned.h"

/* Measured with glibc malloc and jansson 2.14 (malloc chunks with their headers): an object
 * with its first hash table, a key's entry, an array, one element slot, a string's two
 * allocations, a number. true, false and null are shared singletons. */
enum {
    COST_OBJECT = 240,
    COST_KEY = 96,
    COST_ARRAY = 140,
    COST_SLOT = 8,
    COST_STRING = 64,
    COST_NUMBER = 32,
};

static size_t cost(const json_t *v, bool deep)
{
    size_t n = 0, i;
    const char *k;
    json_t *e;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        n = COST_OBJECT;
        json_object_foreach((json_t *)v, k, e) n +=
            COST_KEY + strlen(k) + (deep ? hn_json_cost(e) : 0);
        return n;
    case JSON_ARRAY:
        n = COST_ARRAY;
        json_array_foreach(v, i, e) n += COST_SLOT + (deep ? hn_json_cost(e) : 0);
        return n;
    case JSON_STRING:
        return COST_STRING + json_string_length(v);
    case JSON_INTEGER:
    case JSON_REAL:
        return COST_NUMBER;
    default:
        return 0;
    }
}

size_t hn_json_cost(const json_t *v)
{
    return v ? cost(v, true) : 0;
}

size_t hn_json_cost_shallow(const json_t *v)
{
    return v ? cost(v, false) : 0;
}

void hn_budget_frame(struct hn_budget *b, size_t len)
{
    b->frames++;
    b->bytes += len;
}

bool hn_budget_charge(struct hn_budget *b, size_t c)
{
    b->held += c;
    if (b->over || !b->max || b->held <= b->max)
        return false;
    b->over = true;
    return true;
}

struct nset {
    int64_t *v;
    size_t n, cap;
};

/* Every integer in a "witness" array anywhere inside v. */
static void witnesses(const json_t *v, struct nset *s)
{
    const char *k;
    json_t *e;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, e)
        {
            if (!strcmp(k, "witness") && json_is_array(e)) {
                json_t *w;
                json_array_foreach(e, i, w)
                {
                    if (!json_is_integer(w))
                        continue;
                    if (s->n == s->cap) {
                        s->cap = s->cap ? 2 * s->cap : 16;
                        s->v = wc_xrealloc(s->v, s->cap * sizeof(*s->v));
                    }
                    s->v[s->n++] = json_integer_value(w);
                }
            } else {
                witnesses(e, s);
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e) witnesses(e, s);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool target_frame(const json_t *rec)
{
    const char *t = json_string_value(json_object_get(rec, "t"));
    return t && (!strcmp(t, "recv") || !strcmp(t, "ping") || !strcmp(t, "pong"));
}

static json_int_t rec_int(const json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* One note for the records [from, to) of records left out (count of them). */
static void gap_note(json_t *out, const json_t *records, size_t from, size_t to)
{
    const json_t *a = json_array_get(records, from), *b = json_array_get(records, to - 1);
    char *text = wc_xasprintf(
        "records %lld to %lld (%zu of the target's frames) are left out of this report: the case "
        "went over --max-case-bytes",
        (long long)rec_int(a, "n"), (long long)rec_int(b, "n"), to - from);
    json_array_append_new(out, json_pack("{s:s, s:I, s:I, s:s}", "t", "note", "n", rec_int(a, "n"),
                                         "us", rec_int(a, "us"), "text", text));
    free(text);
}

json_t *hn_budget_trim(const json_t *records, const json_t *failures, size_t head, size_t tail)
{
    struct nset w = {0};
    size_t nframes = 0, seen = 0, i, gap = SIZE_MAX;
    json_t *out = json_array(), *r;

    witnesses(failures, &w);
    if (w.n)
        qsort(w.v, w.n, sizeof(*w.v), cmp_i64);
    json_array_foreach(records, i, r) nframes += target_frame(r);
    json_array_foreach(records, i, r)
    {
        bool keep = true;
        if (target_frame(r)) {
            json_int_t n = rec_int(r, "n");
            keep = seen < head || seen + tail >= nframes ||
                   (w.n && bsearch(&n, w.v, w.n, sizeof(*w.v), cmp_i64));
            seen++;
        }
        if (!keep) {
            if (gap == SIZE_MAX)
                gap = i;
            continue;
        }
        if (gap != SIZE_MAX) {
            gap_note(out, records, gap, i);
            gap = SIZE_MAX;
        }
        json_array_append(out, r);
    }
    if (gap != SIZE_MAX)
        gap_note(out, records, gap, json_array_size(records));
    free(w.v);
    return out;
}

bool hn_budget_parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    unsigned shift = 0;

    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*end || errno == ERANGE || (shift && v > (UINT64_MAX >> shift)))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}
