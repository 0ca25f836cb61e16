/* wc_mem.c: allocation wrappers that abort on failure (see wc_mem.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_err.h"
#include "wc_mem.h"
#include "wc_banned.h"

static void oom(size_t size)
{
    fprintf(stderr, "gwspec: out of memory allocating %zu bytes\n", size);
    abort();
}

void *wc_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *wc_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *wc_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

char *wc_xstrdup(const char *s)
{
    return wc_xstrndup(s, strlen(s));
}

char *wc_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = wc_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *wc_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(strlen(fmt));
    return p;
}

void wc_bug(const char *file, int line, const char *msg)
{
    fprintf(stderr, "gwspec: BUG at %s:%d: %s\n", file, line, msg);
    abort();
}

const char *wc_strerror(int err)
{
    switch (err) {
    case WC_OK:
        return "success";
    case WC_ERR_NOMEM:
        return "out of memory";
    case WC_ERR_IO:
        return "i/o error";
    case WC_ERR_PARSE:
        return "parse error";
    case WC_ERR_PROTOCOL:
        return "protocol error";
    case WC_ERR_TOO_BIG:
        return "too big";
    case WC_ERR_TIMEOUT:
        return "timed out";
    case WC_ERR_CONFIG:
        return "invalid configuration";
    case WC_ERR_INCOMPLETE:
        return "incomplete input";
    case WC_ERR_NOTFOUND:
        return "not found";
    case WC_ERR_STATE:
        return "invalid state";
    default:
        return "unknown error";
    }
}
