/* testutil.c: helpers the harness's test files share (see testutil.h). */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

bool hn_test_pid_dead(long pid)
{
    char path[64], buf[256];
    FILE *fp;
    bool dead = true;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if ((fp = fopen(path, "r"))) {
        char *rp = fgets(buf, sizeof(buf), fp) ? strrchr(buf, ')') : NULL;
        dead = rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
        fclose(fp);
    }
    return dead;
}
