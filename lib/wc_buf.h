/*
 * wc_buf.h: a growable, capped, NUL-terminated byte buffer.
 *
 * Invariants: buf is never NULL, buf[len] == '\0', embedded NULs are allowed, and len never
 * exceeds max. Appends past max fail with WC_ERR_TOO_BIG and leave the buffer unchanged; this
 * is how message-size limits (close 1009) are enforced. Depends on nothing.
 */
#ifndef WC_BUF_H
#define WC_BUF_H

#include <stddef.h>

struct wc_buf {
    char *buf;    /* read-only for callers; never NULL */
    size_t len;   /* read-only: bytes used, excluding the NUL */
    size_t alloc; /* private */
    size_t max;   /* private: the cap, 0 means unlimited */
};

void wc_buf_init(struct wc_buf *b, size_t max); /* cannot fail */
void wc_buf_release(struct wc_buf *b);          /* frees contents; b is then unusable */
void wc_buf_reset(struct wc_buf *b);            /* len = 0, keeps memory */
int wc_buf_add(struct wc_buf *b, const void *data, size_t len); /* 0 or WC_ERR_TOO_BIG */
int wc_buf_adds(struct wc_buf *b, const char *s);               /* 0 or WC_ERR_TOO_BIG */
int wc_buf_addf(struct wc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wc_buf_consume(struct wc_buf *b, size_t n);    /* drops the first n bytes */
char *wc_buf_detach(struct wc_buf *b, size_t *len); /* new: the bytes; b is re-initialised */

#endif
