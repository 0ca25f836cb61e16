/*
 * wc_mem.h: allocation that never returns NULL.
 *
 * On failure these print the size asked for and abort(): out of memory is not a condition any
 * layer of gwspec tries to survive. Depends on nothing.
 */
#ifndef WC_MEM_H
#define WC_MEM_H

#include <stddef.h>

void *wc_xmalloc(size_t size);               /* new */
void *wc_xcalloc(size_t nmemb, size_t size); /* new, zeroed */
void *wc_xrealloc(void *ptr, size_t size);   /* takes ptr, returns new */
char *wc_xstrdup(const char *s);             /* new copy of s */
char *wc_xstrndup(const char *s, size_t n);  /* new copy of at most n bytes, NUL-terminated */
char *wc_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* new */

#define WC_BUG(msg) wc_bug(__FILE__, __LINE__, (msg))
void wc_bug(const char *file, int line, const char *msg) __attribute__((noreturn));

#endif
