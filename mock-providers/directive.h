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

/*
 * May a directive's control channel connect to host? True for loopback (127.0.0.0/8, ::1,
 * ::ffff:127.x.y.z, "localhost") and for an entry of allow (comma-separated, case-insensitive,
 * "[v6]" or "v6"; NULL: none). Nothing is resolved.
 */
bool mp_ctl_allowed(const char *host, const char *allow);
/*
 * A prompt must not make a provider connect anywhere (issue 18): a control address that
 * mp_ctl_allowed refuses is dropped (no connection is made) and the directive becomes the
 * error script, as any invalid directive. Returns the reason (borrowed: d->error), or NULL.
 */
const char *mp_directive_limit_ctl(struct mp_directive *d, const char *allow);

#endif
