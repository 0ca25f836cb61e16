/*
 * users.h: the gateway's users and their static tokens (`--users FILE`, `--token NAME:SECRET`)
 * and the token check used for both the WebSocket upgrade and REST.
 *
 * The token comes from `?token=` first, then from `Authorization: <scheme> <token>` (the second
 * word; CloudCLI does not check the scheme). Depends on lib/ (wc_yaml) only; no lws.
 */
#ifndef GW_USERS_H
#define GW_USERS_H

#include <stdbool.h>

struct gw_users;

struct gw_users *gw_users_new(void);
void gw_users_free(struct gw_users *u); /* accepts NULL */
/* Add name with token. Returns 0, or WC_ERR_CONFIG (empty name/token, duplicate token). */
int gw_users_add(struct gw_users *u, const char *name, const char *token);
/* Parse "NAME:SECRET" and add it. Returns 0 or WC_ERR_CONFIG (logged). */
int gw_users_add_spec(struct gw_users *u, const char *spec);
/*
 * Load a YAML file `users: [{name: alice, token: s3cret}, ...]`. Returns 0, or WC_ERR_CONFIG
 * with *err (new, "file:line:col: message").
 */
int gw_users_load_file(struct gw_users *u, const char *path, char **err);
int gw_users_count(const struct gw_users *u);

/*
 * Authenticate a request. query_token: the `token` query argument or NULL; authorization: the
 * Authorization header or NULL. Returns the user name (borrowed) or NULL; *present tells
 * whether any token was offered.
 */
const char *gw_users_authenticate(const struct gw_users *u, const char *query_token,
                                  const char *authorization, bool *present);

#endif
