/*
 * rest.h: the REST endpoints of the chat protocol (cloudcli-notes.md §3), sans-I/O:
 *   POST /api/providers/sessions                 create a session (201)
 *   GET  /api/providers/sessions/running         the caller's running runs with lastSeq
 *   GET  /api/providers/sessions/:id/messages    history without seq (?limit&offset)
 *   GET  /api/providers/sessions/:id             one session
 * The glue parses HTTP and authenticates; this module maps a request to a status and a JSON
 * body. Depends on core.h and lib/.
 */
#ifndef GW_REST_H
#define GW_REST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core.h"

struct gw_rest_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* without the query string */
    const char *user;   /* the authenticated user, or NULL */
    bool token_present; /* a token was given, valid or not */
    const char *limit;  /* query argument or NULL */
    const char *offset; /* query argument or NULL */
    const char *body;   /* request body (may be NULL) */
    size_t body_len;
};

/* Handle one request. Returns the HTTP status and sets *body to a new JSON value. */
int gw_rest_handle(struct gw_core *c, const struct gw_rest_request *req, json_t **body);

#endif
