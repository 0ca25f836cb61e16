/*
 * wc_json.h: jansson helpers shared by every layer: canonical text and typed getters (the clock
 * and timestamps are wc_time.h, the PRNG wc_rand.h).
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

#endif
