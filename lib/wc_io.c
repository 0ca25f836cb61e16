/* wc_io.c: file-descriptor helpers (see wc_io.h). */
#include <errno.h>
#include <unistd.h>

#include "wc_io.h"

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
