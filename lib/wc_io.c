/* wc_io.c: file-descriptor helpers (see wc_io.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wc_io.h"
#include "wc_banned.h"

int wc_write_all(int fd, const void *p, size_t n)
{
    const char *s = p;

    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int wc_mkdir_p(const char *dir, mode_t mode)
{
    char *p = strdup(dir);
    int rc = 0, saved = 0;

    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST)
            rc = -1, saved = errno;
        *s = '/';
    }
    if (mkdir(p, mode) != 0 && errno != EEXIST)
        rc = -1, saved = errno;
    free(p);
    if (rc)
        errno = saved;
    return rc;
}

int wc_sanitize_stdfds(void)
{
    /* open returns the lowest free descriptor: one that lands above 2 means 0..2 are all open */
    for (;;) {
        int fd = open("/dev/null", O_RDWR);
        if (fd < 0)
            return -1;
        if (fd > 2) {
            close(fd);
            return 0;
        }
    }
}
