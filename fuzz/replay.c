/*
 * replay.c: run a fuzz target's entry point over files, without libFuzzer (fuzz/README.md).
 *
 *   fuzz-replay-TARGET [--quiet] PATH...
 *
 * PATH is a file or a directory (its regular files, recursively, in name order). Each input is
 * read whole and handed to LLVMFuzzerTestOneInput once, under a 10-second alarm: an input that
 * hangs the target is a failure with its name, not a stuck `make check`. A crash is the
 * target's own (abort, or a sanitizer report in a sanitizer build). Exit 0 when every input
 * ran, 1 on a hang, 2 on usage or an unreadable path.
 */
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wc_buf.h"
#include "wc_mem.h"

#include "wc_banned.h"

#define INPUT_SECONDS 10

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static const char *current; /* the input being run, for the alarm's message */
static unsigned long n_inputs;

static void on_alarm(int sig)
{
    static const char msg[] = "fuzz-replay: input hangs the target (over 10 s): ";

    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0 || write(2, current, strlen(current)) < 0 ||
        write(2, "\n", 1) < 0)
        _exit(1);
    _exit(1);
}

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    struct wc_buf b;
    char chunk[65536];
    size_t n;

    if (!fp) {
        fprintf(stderr, "fuzz-replay: %s: cannot open\n", path);
        return 2;
    }
    wc_buf_init(&b, 0);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        wc_buf_add(&b, chunk, n);
    fclose(fp);
    current = path;
    alarm(INPUT_SECONDS);
    /* a copy of exactly the input's size, so ASan sees a read past its end */
    {
        uint8_t *copy = wc_xmalloc(b.len ? b.len : 1);
        memcpy(copy, b.buf, b.len);
        LLVMFuzzerTestOneInput(copy, b.len);
        free(copy);
    }
    alarm(0);
    wc_buf_release(&b);
    n_inputs++;
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_path(const char *path)
{
    struct stat st;
    struct dirent **ents;
    int n, i, rc = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz-replay: %s: no such file or directory\n", path);
        return 2;
    }
    if (!S_ISDIR(st.st_mode))
        return S_ISREG(st.st_mode) ? run_file(path) : 0;
    n = scandir(path, &ents, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "fuzz-replay: %s: cannot list\n", path);
        return 2;
    }
    for (i = 0; i < n; i++) {
        if (!rc && ents[i]->d_name[0] != '.') {
            char *sub = wc_xasprintf("%s/%s", path, ents[i]->d_name);
            rc = run_path(sub);
            free(sub);
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

int main(int argc, char **argv)
{
    bool quiet = argc > 1 && strcmp(argv[1], "--quiet") == 0;
    int i, rc = 0;

    if (quiet) {
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s [--quiet] PATH...\n", argv[0]);
        return 2;
    }
    signal(SIGALRM, on_alarm);
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc && !rc; i++)
        rc = run_path(argv[i]);
    if (!rc && !quiet)
        printf("%s: %lu inputs, no failure\n", argv[0], n_inputs);
    return rc;
}
