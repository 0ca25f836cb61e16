/*
 * wc_time.h: the monotonic clock every deadline and time bound uses, and ISO-8601 UTC
 * timestamps (the `timestamp` of frames).
 *
 * Depends on nothing.
 */
#ifndef WC_TIME_H
#define WC_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "2026-11-22T02:18:50.123Z" for the current UTC time. Writes into out (at least 32 bytes). */
void wc_iso8601_now(char *out, size_t outlen);
/* True when s is an ISO-8601 UTC timestamp of the form YYYY-MM-DDTHH:MM:SS[.fff]Z. */
bool wc_is_iso8601(const char *s);

/* Monotonic clock in microseconds and milliseconds. */
int64_t wc_now_us(void);
int64_t wc_now_ms(void);

#endif
