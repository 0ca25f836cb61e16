/*
 * casedir.c: case discovery, selection, sharding and seeded order (see casedir.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/casedir.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_banned.h"

static bool yaml_name(const char *n)
{
    size_t len = strlen(n);
    return (len > 5 && !strcmp(n + len - 5, ".yaml")) || (len > 4 && !strcmp(n + len - 4, ".yml"));
}

static bool skipped(const char *name, const char *const *skip)
{
    for (size_t i = 0; skip && skip[i]; i++) {
        if (!strcmp(name, skip[i]))
            return true;
    }
    return false;
}

static void walk(const char *dir, const char *const *skip, json_t *paths)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        char *p;
        if (e->d_name[0] == '.')
            continue;
        /* "cases/" as given on the command line: no "cases//x.yaml" in rerun lines */
        p = wc_xasprintf("%s%s%s", dir, *dir && dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        if (stat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode) && !skipped(e->d_name, skip))
                walk(p, skip, paths);
            else if (S_ISREG(st.st_mode) && yaml_name(e->d_name))
                json_array_append_new(paths, json_string(p));
        }
        free(p);
    }
    closedir(d);
}

static int path_cmp(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

int hn_casedir_find(char *const *args, size_t nargs, const char *dflt_dir, json_t *paths,
                    json_t *errs)
{
    return hn_casedir_find_skip(args, nargs, dflt_dir, NULL, paths, errs);
}

int hn_casedir_find_skip(char *const *args, size_t nargs, const char *dflt_dir,
                         const char *const *skip, json_t *paths, json_t *errs)
{
    json_t *found = json_array();
    int rc = 0;

    if (nargs == 0)
        walk(dflt_dir, skip, found);
    for (size_t i = 0; i < nargs; i++) {
        struct stat st;
        if (stat(args[i], &st) != 0) {
            json_array_append_new(errs,
                                  json_sprintf("%s: no such case file or directory", args[i]));
            rc = WC_ERR_CONFIG;
        } else if (S_ISDIR(st.st_mode)) {
            walk(args[i], skip, found);
        } else {
            json_array_append_new(found, json_string(args[i]));
        }
    }
    /* sort, drop duplicates */
    size_t n = json_array_size(found);
    json_t **v = wc_xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(found, i);
    qsort(v, n, sizeof(*v), path_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || !json_equal(v[i], v[i - 1]))
            json_array_append(paths, v[i]);
    }
    free(v);
    json_decref(found);
    return rc;
}

int hn_casedir_load(const json_t *paths, const struct hn_spec *spec, struct hn_caselist *out,
                    json_t *errs)
{
    size_t i;
    json_t *p;
    int rc = 0;

    json_array_foreach(paths, i, p)
    {
        if (hn_case_load_file(json_string_value(p), spec, out, errs) != 0)
            rc = WC_ERR_CONFIG;
    }
    /* ids are unique across the suite, and so are their numbers ("numbers are never reused") */
    for (size_t a = 0; a < out->n; a++) {
        for (size_t b = a + 1; b < out->n; b++) {
            const char *x = out->v[a]->base_id, *y = out->v[b]->base_id;
            size_t nx = strcspn(x, "-"), ny = strcspn(y, "-");
            if (strcmp(out->v[a]->file, out->v[b]->file) && nx == ny && !strncmp(x, y, nx) &&
                strcmp(x, y)) {
                json_array_append_new(errs,
                                      json_sprintf("%s: case number %.*s is also used by %s",
                                                   out->v[b]->file, (int)nx, y, out->v[a]->file));
                rc = WC_ERR_CONFIG;
            }
            if (!strcmp(out->v[a]->id, out->v[b]->id)) {
                json_array_append_new(errs, json_sprintf("%s: case id '%s' is also used by %s",
                                                         out->v[b]->file, out->v[b]->id,
                                                         out->v[a]->file));
                rc = WC_ERR_CONFIG;
            }
        }
    }
    return rc;
}

int hn_case_id_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            char *ea, *eb;
            unsigned long long na = strtoull(a, &ea, 10), nb = strtoull(b, &eb, 10);
            if (na != nb)
                return na < nb ? -1 : 1;
            a = ea;
            b = eb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

int hn_shard_parse(const char *s, int *k, int *n)
{
    char *end;
    long kk = strtol(s, &end, 10);
    if (end == s || *end != '/')
        return WC_ERR_CONFIG;
    const char *p = end + 1;
    long nn = strtol(p, &end, 10);
    if (end == p || *end || nn < 1 || kk < 1 || kk > nn || nn > 100000)
        return WC_ERR_CONFIG;
    *k = (int)kk;
    *n = (int)nn;
    return 0;
}

bool hn_case_glob(const struct hn_case *c, const char *glob)
{
    return fnmatch(glob, c->id, 0) == 0 || fnmatch(glob, c->base_id, 0) == 0;
}

static bool any_glob(const struct hn_case *c, const json_t *globs)
{
    size_t i;
    json_t *g;
    json_array_foreach(globs, i, g)
    {
        if (hn_case_glob(c, json_string_value(g)))
            return true;
    }
    return false;
}

static bool has_tag(const struct hn_case *c, const json_t *tags)
{
    size_t i, j;
    json_t *t, *u;
    json_array_foreach(tags, i, t)
    {
        json_array_foreach(c->tags, j, u)
        {
            if (json_equal(t, u))
                return true;
        }
    }
    return false;
}

static bool cites_req(const struct hn_case *c, const json_t *reqs)
{
    size_t i, j;
    json_t *r, *u;
    json_array_foreach(reqs, i, r)
    {
        json_array_foreach(c->spec, j, u)
        {
            if (json_equal(r, u))
                return true;
        }
    }
    return false;
}

static int case_cmp(const void *a, const void *b)
{
    const struct hn_case *x = *(struct hn_case *const *)a, *y = *(struct hn_case *const *)b;
    return hn_case_id_cmp(x->id, y->id);
}

void hn_casedir_select(const struct hn_caselist *all, const struct hn_select *sel,
                       struct hn_case ***out, size_t *n)
{
    struct hn_case **v = wc_xcalloc(all->n + 1, sizeof(*v));
    size_t m = 0, k = 0;

    for (size_t i = 0; i < all->n; i++) {
        struct hn_case *c = all->v[i];
        if (c->strict && !sel->strict)
            continue;
        if (json_array_size(sel->filters) && !any_glob(c, sel->filters))
            continue;
        if (json_array_size(sel->excludes) && any_glob(c, sel->excludes))
            continue;
        if (json_array_size(sel->tags) && !has_tag(c, sel->tags))
            continue;
        if (json_array_size(sel->reqs) && !cites_req(c, sel->reqs))
            continue;
        v[m++] = c;
    }
    qsort(v, m, sizeof(*v), case_cmp);
    if (sel->shard_n > 0) {
        for (size_t i = 0; i < m; i++) {
            if ((int)(i % (size_t)sel->shard_n) == sel->shard_k - 1)
                v[k++] = v[i];
        }
        m = k;
    }
    if (sel->shuffle && m > 1) {
        struct wc_rand r;
        wc_rand_init(&r, sel->seed);
        for (size_t i = m - 1; i > 0; i--) {
            size_t j = (size_t)(wc_rand_next(&r) % (i + 1));
            struct hn_case *t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
    }
    *out = v;
    *n = m;
}

static bool carries(const struct hn_case *c, const json_t *tag)
{
    size_t i;
    json_t *u;
    json_array_foreach(c->tags, i, u)
    {
        if (json_equal(u, tag))
            return true;
    }
    return false;
}

int hn_select_check_names(const struct hn_caselist *all, const struct hn_spec *spec,
                          const struct hn_select *sel, json_t *errs)
{
    size_t i, j, k;
    json_t *r, *t, *u;
    int rc = 0;

    json_array_foreach(sel->reqs, i, r)
    {
        if (!hn_spec_find(spec, json_string_value(r))) {
            json_array_append_new(errs, json_sprintf("unknown requirement '%s' (--req): %s "
                                                     "defines no such id",
                                                     json_string_value(r), spec->dir));
            rc = WC_ERR_NOTFOUND;
        }
    }
    json_array_foreach(sel->tags, i, t)
    {
        bool found = false;
        for (k = 0; k < all->n && !found; k++)
            found = carries(all->v[k], t);
        if (found)
            continue;
        /* the tags there are, each once, in the order the cases give them */
        struct wc_buf b;
        wc_buf_init(&b, 0);
        for (k = 0; k < all->n; k++) {
            json_array_foreach(all->v[k]->tags, j, u)
            {
                bool seen = false;
                for (size_t m = 0; m < k && !seen; m++)
                    seen = carries(all->v[m], u);
                for (size_t m = 0; m < j && !seen; m++)
                    seen = json_equal(json_array_get(all->v[k]->tags, m), u);
                if (!seen && json_is_string(u))
                    wc_buf_addf(&b, "%s%s", b.len ? ", " : "", json_string_value(u));
            }
        }
        json_array_append_new(errs,
                              json_sprintf("unknown tag '%s' (--tag): none of the %zu "
                                           "case(s) loaded carries it (tags: %s)",
                                           json_string_value(t), all->n, b.len ? b.buf : "none"));
        wc_buf_release(&b);
        rc = WC_ERR_NOTFOUND;
    }
    return rc;
}

static void describe_list(struct wc_buf *b, const char *opt, const json_t *values)
{
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        wc_buf_addf(b, "%s%s '%s'", b->len ? ", " : "", opt, json_string_value(v));
    }
}

char *hn_select_describe(const struct hn_select *sel, char *const *args, size_t nargs)
{
    struct wc_buf b;

    wc_buf_init(&b, 0);
    describe_list(&b, "--filter", sel->filters);
    describe_list(&b, "--exclude", sel->excludes);
    describe_list(&b, "--tag", sel->tags);
    describe_list(&b, "--req", sel->reqs);
    if (sel->shard_n > 0)
        wc_buf_addf(&b, "%s--shard %d/%d", b.len ? ", " : "", sel->shard_k, sel->shard_n);
    for (size_t i = 0; i < nargs; i++)
        wc_buf_addf(&b, "%s%s", b.len ? ", " : "", args[i]);
    if (!nargs)
        wc_buf_addf(&b, "%sthe default cases/", b.len ? " in " : "");
    return wc_buf_detach(&b, NULL);
}
