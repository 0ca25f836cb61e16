/*
 * budget.h: how much of what the target sends one case may hold (issue 18).
 *
 * A gateway that floods (pings, small frames) would otherwise grow the harness without bound:
 * every frame becomes a transcript record and a queue item. Each record of the target's frames
 * is charged an estimate of the memory it holds (hn_json_cost: the JSON tree, as jansson and
 * glibc malloc lay it out, measured to within about 10%); past the cap the case is ERROR and
 * its connections are closed (run_engine.c). A message is charged its bytes as they arrive,
 * before it is parsed: one that would take the case past the cap by its size alone is cut
 * unparsed. The ping after HN_PING_RECORDS_MAX on one connection ends the case the same way
 * (a flood, not a heartbeat). Sans-I/O: jansson only.
 */
#ifndef HN_BUDGET_H
#define HN_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define HN_MAX_CASE_BYTES_DEFAULT (128ull << 20) /* `gwspec run --max-case-bytes` */
#define HN_PING_RECORDS_MAX       1000           /* pings per connection; one more: ERROR */
#define HN_TRIM_HEAD              1000 /* an over-cap case's report keeps its first frames... */
#define HN_TRIM_TAIL              100  /* ...and its last ones before the cut */

struct hn_budget {
    uint64_t max;    /* the cap on held; 0: none */
    uint64_t held;   /* estimated bytes the case's records of the target's frames hold */
    uint64_t frames; /* frames the target sent (messages, pings, pongs), recorded or not */
    uint64_t bytes;  /* their payload bytes */
    bool over;       /* held went past max */
};

/* An estimate of the heap bytes v holds, its children included (shared ones counted at each
 * reference). NULL is 0. */
size_t hn_json_cost(const json_t *v);

/* The same for v's own nodes when it is an object or array: its table and keys, not its
 * values (a wrapper whose values another record already counts). */
size_t hn_json_cost_shallow(const json_t *v);

/* A frame of len payload bytes arrived: count it. */
void hn_budget_frame(struct hn_budget *b, size_t len);

/* Charge cost bytes held. True exactly once: on the charge that takes held past max. */
bool hn_budget_charge(struct hn_budget *b, size_t cost);

/*
 * The records a report keeps of a case that went over its cap (records: the transcript's, header
 * excluded; failures: the case's). Every record that is not one of the target's frames (`recv`,
 * `ping`, `pong`) is kept, and so is every record a failure names as a witness (at any depth:
 * the reasons of `alternatives` too); of the target's frames the first `head` and the last
 * `tail`. Each run of records left out becomes one `note` that says which and why, numbered
 * like the first of them, so every kept record keeps its number. A new array (records shared).
 */
json_t *hn_budget_trim(const json_t *records, const json_t *failures, size_t head, size_t tail);

/*
 * Parse a byte count: digits with an optional K, M or G suffix (powers of 1024). False when s
 * is not one or overflows.
 */
bool hn_budget_parse_bytes(const char *s, uint64_t *out);

#endif
