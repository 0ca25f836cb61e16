/*
 * hist.h: a latency histogram for `gwspec load`: constant memory whatever the sample count,
 * values recorded exactly below 128 and within 1/64 (1.6%) above, percentiles by nearest rank.
 *
 * The buckets: a value v < 128 has its own; above, v's top 7 bits (64 sub-buckets per power of
 * two) and its magnitude name one. A percentile is the upper bound of the bucket that holds the
 * nearest-rank sample (never below the exact value, at most 1/64 above it), capped at the
 * largest value recorded. Pure: no I/O. Depends on nothing.
 */
#ifndef HN_HIST_H
#define HN_HIST_H

#include <stdint.h>

#define HN_HIST_BUCKETS (128 + 56 * 64)

struct hn_hist {
    uint64_t count;
    int64_t min, max; /* of the values recorded (0 when none) */
    double sum;
    uint64_t b[HN_HIST_BUCKETS];
};

void hn_hist_init(struct hn_hist *h);
/* Record v (a negative value counts as 0). */
void hn_hist_add(struct hn_hist *h, int64_t v);
/* Add every sample of src to dst. */
void hn_hist_merge(struct hn_hist *dst, const struct hn_hist *src);
/* The p-th percentile (0 < p <= 100) by nearest rank; 0 when empty. */
int64_t hn_hist_pct(const struct hn_hist *h, double p);
/* The exact nearest-rank percentile of n sorted values (the reference the tests compare to). */
int64_t hn_pct_sorted(const int64_t *sorted, uint64_t n, double p);

#endif
