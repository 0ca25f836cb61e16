/*
 * wc_err.h: the one error vocabulary of gwspec.
 *
 * Every imperative function in every layer returns 0 (WC_OK) or one of these negative codes.
 * Depends on nothing.
 */
#ifndef WC_ERR_H
#define WC_ERR_H

enum wc_err {
    WC_OK = 0,
    WC_ERR_NOMEM = -1,      /* allocation failed (wc_xmalloc aborts instead) */
    WC_ERR_IO = -2,         /* a read, write, connect or spawn failed */
    WC_ERR_PARSE = -3,      /* input is not well-formed JSON/YAML/HTTP */
    WC_ERR_PROTOCOL = -4,   /* a peer broke the protocol */
    WC_ERR_TOO_BIG = -5,    /* a size cap was exceeded */
    WC_ERR_TIMEOUT = -6,    /* a safety timeout expired */
    WC_ERR_CONFIG = -7,     /* a case file, profile, script or option is invalid */
    WC_ERR_INCOMPLETE = -8, /* more input is needed */
    WC_ERR_NOTFOUND = -9,   /* a named thing does not exist */
    WC_ERR_STATE = -10,     /* the call is not valid in the current state */
};

/* A static, lowercase description of an enum wc_err value. Never NULL. */
const char *wc_strerror(int err);

#endif
