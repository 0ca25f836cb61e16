/*
 * wc_io.h: small file-descriptor helpers.
 * Depends on nothing.
 */
#ifndef WC_IO_H
#define WC_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Write all n bytes of p to fd, retrying short writes and EINTR. 0, or -1 (errno set) when a
 * write fails or writes nothing. */
int wc_write_all(int fd, const void *p, size_t n);

/* mkdir -p: create dir and its missing parents with mode. 0, or -1 (errno set) when one of them
 * cannot be created and does not exist. */
int wc_mkdir_p(const char *dir, mode_t mode);

/*
 * Open /dev/null on each of descriptors 0, 1 and 2 that is closed, so that no file or socket
 * the program opens later takes one of them (a child's dup2 onto 0 would then overwrite it).
 * Call it first in main. 0, or -1 when /dev/null cannot be opened.
 */
int wc_sanitize_stdfds(void);

#endif
