/* wc_buf.c: growable capped buffer (see wc_buf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_buf.h"
#include "wc_err.h"
#include "wc_mem.h"
#include "wc_banned.h"

static char empty_buf[1];

void wc_buf_init(struct wc_buf *b, size_t max)
{
    b->buf = empty_buf;
    b->len = 0;
    b->alloc = 0;
    b->max = max;
}

void wc_buf_release(struct wc_buf *b)
{
    if (b->alloc)
        free(b->buf);
    wc_buf_init(b, b->max);
}

void wc_buf_reset(struct wc_buf *b)
{
    b->len = 0;
    if (b->alloc)
        b->buf[0] = '\0';
}

static int grow(struct wc_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;

    if (b->max && b->len + extra > b->max)
        return WC_ERR_TOO_BIG;
    if (need <= b->alloc)
        return WC_OK;
    size_t n = b->alloc ? b->alloc : 64;
    while (n < need)
        n *= 2;
    if (b->alloc) {
        b->buf = wc_xrealloc(b->buf, n);
    } else {
        b->buf = wc_xmalloc(n);
        b->buf[0] = '\0';
    }
    b->alloc = n;
    return WC_OK;
}

int wc_buf_add(struct wc_buf *b, const void *data, size_t len)
{
    int rc = grow(b, len);
    if (rc)
        return rc;
    if (len)
        memcpy(b->buf + b->len, data, len);
    b->len += len;
    if (b->alloc)
        b->buf[b->len] = '\0';
    return WC_OK;
}

int wc_buf_adds(struct wc_buf *b, const char *s)
{
    return wc_buf_add(b, s, strlen(s));
}

int wc_buf_addf(struct wc_buf *b, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n, rc;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return WC_ERR_NOMEM;
    rc = wc_buf_add(b, s, (size_t)n);
    free(s);
    return rc;
}

void wc_buf_consume(struct wc_buf *b, size_t n)
{
    if (n >= b->len) {
        wc_buf_reset(b);
        return;
    }
    memmove(b->buf, b->buf + n, b->len - n);
    b->len -= n;
    b->buf[b->len] = '\0';
}

char *wc_buf_detach(struct wc_buf *b, size_t *len)
{
    char *p = b->alloc ? b->buf : wc_xstrdup("");
    if (len)
        *len = b->len;
    wc_buf_init(b, b->max);
    return p;
}
