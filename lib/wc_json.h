/*
 * wc_json.h: jansson helpers shared by every layer: canonical text, typed getters, ISO-8601
 * timestamps, the monotonic clock and the seeded PRNG used for every generated id.
 *
 * Depends on jansson only.
 */
#ifndef WC_JSON_H
#define WC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Canonical text: compact, sorted keys, any value. New string (free()), never NULL. */
char *wc_json_canon(const json_t *v);
/* Compact text in insertion order (wire form). New string (free()), never NULL. */
char *wc_json_compact(const json_t *v);

/* Borrowed string member or NULL when missing or not a string. */
const char *wc_json_str(const json_t *obj, const char *key);
/* Integer member (json integer, or real with integral value) into *out; false otherwise. */
bool wc_json_int(const json_t *obj, const char *key, int64_t *out);
/* Bool member, or dflt when missing or not a bool. */
bool wc_json_bool(const json_t *obj, const char *key, bool dflt);

/* "2026-11-22T02:18:50.123Z" for the current UTC time. Writes into out (at least 32 bytes). */
void wc_iso8601_now(char *out, size_t outlen);
/* True when s is an ISO-8601 UTC timestamp of the form YYYY-MM-DDTHH:MM:SS[.fff]Z. */
bool wc_is_iso8601(const char *s);

/* Monotonic clock in microseconds and milliseconds. */
int64_t wc_now_us(void);
int64_t wc_now_ms(void);

/* splitmix64: the one PRNG. Same seed, same sequence, on every machine. */
struct wc_rand {
    uint64_t state; /* private */
};
void wc_rand_init(struct wc_rand *r, uint64_t seed);
uint64_t wc_rand_next(struct wc_rand *r);
/* A UUID-v4-shaped string from the PRNG into out (at least 37 bytes). */
void wc_rand_uuid(struct wc_rand *r, char *out);

#endif
