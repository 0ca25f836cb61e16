/* users.c: users, tokens and the token check (see users.h). */
#include <string.h>

#include <jansson.h>

#include "mutants.h"
#include "users.h"
#include "wc_err.h"
#include "wc_json.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_yaml.h"

#include "wc_banned.h"

struct user {
    char *name;
    char *token;
};

struct gw_users {
    struct user *v;
    int n;
};

struct gw_users *gw_users_new(void)
{
    return wc_xcalloc(1, sizeof(struct gw_users));
}

void gw_users_free(struct gw_users *u)
{
    if (!u)
        return;
    for (int i = 0; i < u->n; i++) {
        free(u->v[i].name);
        free(u->v[i].token);
    }
    free(u->v);
    free(u);
}

int gw_users_add(struct gw_users *u, const char *name, const char *token)
{
    if (!name || !*name || !token || !*token)
        return WC_ERR_CONFIG;
    for (int i = 0; i < u->n; i++) {
        if (strcmp(u->v[i].token, token) == 0)
            return WC_ERR_CONFIG;
    }
    u->v = wc_xrealloc(u->v, (size_t)(u->n + 1) * sizeof(*u->v));
    u->v[u->n].name = wc_xstrdup(name);
    u->v[u->n].token = wc_xstrdup(token);
    u->n++;
    return WC_OK;
}

int gw_users_add_spec(struct gw_users *u, const char *spec)
{
    const char *colon = strchr(spec, ':');
    char *name;
    int rc;

    if (!colon)
        return wc_error(WC_ERR_CONFIG, "--token '%s': expected NAME:SECRET", spec);
    name = wc_xstrndup(spec, (size_t)(colon - spec));
    rc = gw_users_add(u, name, colon + 1);
    free(name);
    if (rc)
        return wc_error(WC_ERR_CONFIG, "--token '%s': empty name or secret, or a token used twice",
                        spec);
    return WC_OK;
}

int gw_users_load_file(struct gw_users *u, const char *path, char **err)
{
    struct wc_yaml_doc *doc = wc_yaml_load_file(path, err);
    json_t *root, *list, *entry;
    size_t i;
    int rc = WC_OK;

    if (!doc)
        return WC_ERR_CONFIG;
    root = wc_yaml_root(doc);
    list = json_object_get(root, "users");
    if (!json_is_array(list)) {
        *err = wc_yaml_msg(doc, root, NULL, "expected a mapping with a 'users' list");
        rc = WC_ERR_CONFIG;
        goto out;
    }
    json_array_foreach(list, i, entry)
    {
        const char *name = wc_json_str(entry, "name");
        const char *token = wc_json_str(entry, "token");
        if (!name || !token) {
            *err = wc_yaml_msg(doc, entry, NULL, "a user needs a string 'name' and 'token'");
            rc = WC_ERR_CONFIG;
            goto out;
        }
        if (gw_users_add(u, name, token)) {
            *err = wc_yaml_msg(doc, entry, NULL,
                               "user '%s': empty name or token, or a token "
                               "used twice",
                               name);
            rc = WC_ERR_CONFIG;
            goto out;
        }
    }
out:
    wc_yaml_free(doc);
    return rc;
}

int gw_users_count(const struct gw_users *u)
{
    return u->n;
}

static const char *by_token(const struct gw_users *u, const char *token)
{
    for (int i = 0; i < u->n; i++) {
        if (strcmp(u->v[i].token, token) == 0)
            return u->v[i].name;
    }
    return NULL;
}

const char *gw_users_authenticate(const struct gw_users *u, const char *query_token,
                                  const char *authorization, bool *present)
{
    const char *user = NULL;
    char *second = NULL;

    *present = false;
    if (query_token && *query_token) {
        *present = true;
        user = by_token(u, query_token);
    } else if (authorization && *authorization) {
        /* `<scheme> <token>`: the second space-separated word. */
        const char *sp = strchr(authorization, ' ');
        if (sp) {
            const char *start = sp; /* the loop skips this space and any that follow */
            while (*start == ' ')
                start++;
            const char *end = strchr(start, ' ');
            second = end ? wc_xstrndup(start, (size_t)(end - start)) : wc_xstrdup(start);
        }
        *present = true;
        /* An empty word matches nobody: gw_users_add refuses an empty token. */
        if (second)
            user = by_token(u, second);
        free(second);
    }
    /* R-AUTH-1: a missing or bad token is refused. */
    if (!user && gw_mutant_on(GW_MUT_NO_AUTH))
        user = u->n ? u->v[0].name : NULL; /* the planted bug: anyone is the first user */
    return user;
}
