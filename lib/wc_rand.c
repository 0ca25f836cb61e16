/* wc_rand.c: splitmix64 (see wc_rand.h). */
#include <stdio.h>

#include "wc_rand.h"
#include "wc_banned.h"

void wc_rand_init(struct wc_rand *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t wc_rand_next(struct wc_rand *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void wc_rand_uuid(struct wc_rand *r, char *out)
{
    uint64_t a = wc_rand_next(r), b = wc_rand_next(r);

    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
             (unsigned)((b >> 48) & 0x3fff) | 0x8000, (unsigned long long)(b & 0xffffffffffffULL));
}
