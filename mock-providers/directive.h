/*
 * directive.h: find and parse the `gwspec:{...}` directive inside a prompt
 * (spec/control-channel.md §1). Depends on script.h and lib/.
 */
#ifndef MP_DIRECTIVE_H
#define MP_DIRECTIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "script.h"

struct mp_directive {
    bool present;             /* a directive was found (even an invalid one) */
    char *ctl_host;           /* control listener host, or NULL: no control channel */
    int ctl_port;             /* control listener port, or 0 */
    char *case_token;         /* or NULL */
    char *label;              /* or NULL */
    char *run;                /* or NULL */
    uint64_t seed;            /* 0 when absent */
    struct mp_script *script; /* never NULL after mp_directive_parse */
    char *error;              /* why the directive was rejected, or NULL */
};

/*
 * Parse the directive in `prompt`. Never fails: no directive gives the default script, an
 * invalid one the error script (and sets error). `fixtures_dir` is where named scripts live
 * (`<dir>/providers/<name>.yaml`); NULL means $GWSPEC_FIXTURES or "fixtures".
 * The result must be released with mp_directive_release.
 */
void mp_directive_parse(const char *prompt, const char *fixtures_dir, struct mp_directive *out);
void mp_directive_release(struct mp_directive *d);

#endif
