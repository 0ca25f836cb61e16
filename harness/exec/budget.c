/* budget.c: what one case may hold of what the target sends (see budget.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exec/budget.h"
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
