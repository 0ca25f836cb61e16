/* hist.c: the latency histogram of `gwspec load` (hist.h). */
#include "check/hist.h"

#include <math.h>
#include <string.h>
#include "wc_banned.h"

#define EXACT 128 /* values below have a bucket each */
#define SUB   64  /* sub-buckets per power of two above */

void hn_hist_init(struct hn_hist *h)
{
    memset(h, 0, sizeof(*h));
}

static unsigned bucket_of(uint64_t v)
{
    if (v < EXACT)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v); /* >= 7 */
    unsigned shift = msb - 6u;                         /* >= 1: v >> shift is in [64, 127] */
    return EXACT + (shift - 1u) * SUB + (unsigned)((v >> shift) - SUB);
}

/* The largest value bucket i holds. */
static int64_t bucket_top(unsigned i)
{
    if (i < EXACT)
        return (int64_t)i;
    unsigned shift = (i - EXACT) / SUB + 1u;
    uint64_t mant = (i - EXACT) % SUB + SUB;
    return (int64_t)(((mant + 1u) << shift) - 1u);
}

void hn_hist_add(struct hn_hist *h, int64_t v)
{
    if (v < 0)
        v = 0;
    unsigned i = bucket_of((uint64_t)v);
    if (i >= HN_HIST_BUCKETS)
        i = HN_HIST_BUCKETS - 1;
    h->b[i]++;
    if (!h->count || v < h->min)
        h->min = v;
    if (!h->count || v > h->max)
        h->max = v;
    h->count++;
    h->sum += (double)v;
}

void hn_hist_merge(struct hn_hist *dst, const struct hn_hist *src)
{
    if (!src->count)
        return;
    for (unsigned i = 0; i < HN_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    if (!dst->count || src->min < dst->min)
        dst->min = src->min;
    if (!dst->count || src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
}

/* The nearest rank of p in n samples: ceil(p/100 * n), from 1 to n. */
static uint64_t rank_of(double p, uint64_t n)
{
    double r = ceil(p / 100.0 * (double)n - 1e-9);
    if (r < 1)
        return 1;
    if (r > (double)n)
        return n;
    return (uint64_t)r;
}

int64_t hn_hist_pct(const struct hn_hist *h, double p)
{
    if (!h->count)
        return 0;
    uint64_t want = rank_of(p, h->count), seen = 0;
    for (unsigned i = 0; i < HN_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) {
            int64_t top = bucket_top(i);
            return top > h->max ? h->max : top;
        }
    }
    return h->max;
}

int64_t hn_pct_sorted(const int64_t *sorted, uint64_t n, double p)
{
    return n ? sorted[rank_of(p, n) - 1] : 0;
}
