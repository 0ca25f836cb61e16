/*
 * wc_rand.h: the seeded PRNG used for every generated id, nonce and masking key.
 *
 * Depends on nothing.
 */
#ifndef WC_RAND_H
#define WC_RAND_H

#include <stdint.h>

/* splitmix64: the one PRNG. Same seed, same sequence, on every machine. */
struct wc_rand {
    uint64_t state; /* private */
};
void wc_rand_init(struct wc_rand *r, uint64_t seed);
uint64_t wc_rand_next(struct wc_rand *r);
/* A UUID-v4-shaped string from the PRNG into out (at least 37 bytes). */
void wc_rand_uuid(struct wc_rand *r, char *out);

#endif
