/* cmd_spec.c: `gwspec spec diff OLD NEW` (see cmd_spec.h). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cmd/cmd_spec.h"
#include "cmd/cmd_check.h"
#include "model/casedir.h"
#include "dialect/dialect.h"
#include "model/scenario.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_yaml.h"
#include "wc_banned.h"

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *cases_of(const json_t *cites, const char *id)
{
    json_t *c = json_object_get(cites, id);
    return c ? json_incref(c) : json_array();
}

static json_t *req_summary(const struct hn_req *q, const json_t *cites)
{
    json_t *o = json_pack("{s:s, s:s, s:o}", "id", q->id, "level", hn_level_name(q->level), "cases",
                          cases_of(cites, q->id));
    if (q->title)
        json_object_set_new(o, "title", json_string(q->title));
    return o;
}

static void add_change(json_t *changes, const char *field, const char *a, const char *b)
{
    if (!same_str(a, b))
        json_array_append_new(changes, json_pack("{s:s, s:o, s:o}", "field", field, "old",
                                                 str_or_null(a), "new", str_or_null(b)));
}

json_t *hn_spec_diff(const struct hn_spec *old_spec, const struct hn_spec *new_spec,
                     const json_t *cites)
{
    json_t *added = json_array(), *removed = json_array(), *changed = json_array();
    size_t i, unchanged = 0;

    for (i = 0; i < new_spec->n; i++) {
        const struct hn_req *q = &new_spec->reqs[i], *o = hn_spec_find(old_spec, q->id);
        json_t *changes;
        if (!o) {
            json_array_append_new(added, req_summary(q, cites));
            continue;
        }
        changes = json_array();
        add_change(changes, "level", hn_level_name(o->level), hn_level_name(q->level));
        add_change(changes, "title", o->title, q->title);
        add_change(changes, "text", o->text, q->text);
        add_change(changes, "capability", o->capability, q->capability);
        add_change(changes, "untestable", o->untestable, q->untestable);
        if (json_array_size(changes)) {
            json_t *s = req_summary(q, cites);
            json_object_set_new(s, "changes", changes);
            json_array_append_new(changed, s);
        } else {
            json_decref(changes);
            unchanged++;
        }
    }
    for (i = 0; i < old_spec->n; i++) {
        if (!hn_spec_find(new_spec, old_spec->reqs[i].id))
            json_array_append_new(removed, req_summary(&old_spec->reqs[i], cites));
    }
    return json_pack("{s:o, s:o, s:o, s:I}", "added", added, "removed", removed, "changed", changed,
                     "unchanged", (json_int_t)unchanged);
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: gwspec spec diff [--json] OLD NEW [CASES...]\n"
            "\n"
            "List the requirements added, removed and changed (level, title, text, capability,\n"
            "untestable mark) from spec version OLD to NEW, each with the cases that cite it\n"
            "(default: every cases/**/*.yaml). OLD and NEW are versions (chatgw/1.0; looked up\n"
            "in $GWSPEC_SPEC_PATH, then spec/, then next to the binary) or spec directories.\n"
            "\n"
            "  --json     print the comparison as one JSON object\n"
            "\n"
            "exit status: 0 no difference, 1 a difference, 2 usage error, unknown spec version\n"
            "or unreadable spec or case file\n");
}

/* The spec of a version name or a directory; NULL with a message on stderr. */
static struct hn_spec *load_spec(const char *arg)
{
    char *dir = hn_spec_locate(arg), *err = NULL, *req;
    struct hn_spec *s;
    struct stat st;

    if (!dir) {
        req = wc_xasprintf("%s/requirements.yaml", arg);
        if (stat(req, &st) == 0)
            dir = wc_xstrdup(arg);
        free(req);
    }
    if (!dir) {
        fprintf(stderr,
                "gwspec spec diff: unknown spec version '%s' (not in $GWSPEC_SPEC_PATH, spec/ "
                "or next to the binary, and not a directory with requirements.yaml)\n",
                arg);
        return NULL;
    }
    s = hn_spec_load(dir, &err);
    if (!s)
        fprintf(stderr, "gwspec spec diff: %s\n", err);
    free(err);
    free(dir);
    return s;
}

/* requirement id -> [case ids] from the `spec` lists of the case files. 0, or 2 on errors. */
static int read_cites(char *const *args, size_t nargs, json_t *cites)
{
    json_t *paths = json_array(), *errs = json_array(), *p, *e;
    size_t i, k;
    int rc = 0;

    if (hn_casedir_find_skip(args, nargs, "cases", hn_dialect_chatgw1.foreign_dirs, paths, errs) !=
        0)
        rc = 2;
    json_array_foreach(paths, i, p)
    {
        char *err = NULL;
        struct wc_yaml_doc *doc = wc_yaml_load_file(json_string_value(p), &err);
        const json_t *root = doc ? wc_yaml_root(doc) : NULL, *r;
        const char *id = wc_json_str(root, "id");
        if (!doc) {
            json_array_append_new(errs, json_string(err));
            free(err);
            rc = 2;
            continue;
        }
        json_array_foreach(json_object_get(root, "spec"), k, r)
        {
            json_t *list;
            if (!json_is_string(r) || !id)
                continue;
            if (!(list = json_object_get(cites, json_string_value(r)))) {
                list = json_array();
                json_object_set_new(cites, json_string_value(r), list);
            }
            json_array_append_new(list, json_string(id));
        }
        wc_yaml_free(doc);
    }
    json_array_foreach(errs, i, e) fprintf(stderr, "%s\n", json_string_value(e));
    json_decref(paths);
    json_decref(errs);
    return rc;
}

static void print_cases(const json_t *r)
{
    const json_t *cases = json_object_get(r, "cases"), *c;
    size_t i;

    fputs("      cases:", stdout);
    if (!json_array_size(cases))
        fputs(" none", stdout);
    json_array_foreach(cases, i, c) printf("%s %s", i ? "," : "", json_string_value(c));
    putchar('\n');
}

static void print_list(const json_t *list, const char *what)
{
    const json_t *r, *ch;
    size_t i, k;

    json_array_foreach(list, i, r)
    {
        printf("  %-8s %-14s %-6s %s\n", what, wc_json_str(r, "id"), wc_json_str(r, "level"),
               wc_json_str(r, "title") ? wc_json_str(r, "title") : "");
        json_array_foreach(json_object_get(r, "changes"), k, ch)
        {
            const char *field = wc_json_str(ch, "field");
            if (!strcmp(field, "level") || !strcmp(field, "capability"))
                printf("      %s: %s -> %s\n", field,
                       wc_json_str(ch, "old") ? wc_json_str(ch, "old") : "(none)",
                       wc_json_str(ch, "new") ? wc_json_str(ch, "new") : "(none)");
            else
                printf("      %s %s\n", field,
                       !wc_json_str(ch, "old")   ? "added"
                       : !wc_json_str(ch, "new") ? "removed"
                                                 : "changed");
        }
        print_cases(r);
    }
}

static int spec_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct hn_spec *a = NULL, *b = NULL;
    json_t *cites = json_object(), *d = NULL;
    bool as_json = false;
    int c, rc = 2;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'J':
            as_json = true;
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "gwspec spec diff: needs two spec versions\n");
        usage(stderr);
        goto out;
    }
    if (!(a = load_spec(argv[optind])) || !(b = load_spec(argv[optind + 1])))
        goto out;
    if (read_cites(argv + optind + 2, (size_t)(argc - optind - 2), cites) != 0)
        goto out;
    d = hn_spec_diff(a, b, cites);
    size_t na = json_array_size(json_object_get(d, "added")),
           nr = json_array_size(json_object_get(d, "removed"));
    size_t nc = json_array_size(json_object_get(d, "changed"));
    if (as_json) {
        json_object_set_new(d, "old",
                            json_pack("{s:s, s:s, s:I}", "version", a->version, "dir", a->dir,
                                      "requirements", (json_int_t)a->n));
        json_object_set_new(d, "new",
                            json_pack("{s:s, s:s, s:I}", "version", b->version, "dir", b->dir,
                                      "requirements", (json_int_t)b->n));
        json_dumpf(d, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        printf("spec diff %s (%s, %zu requirements) -> %s (%s, %zu requirements)\n", a->version,
               a->dir, a->n, b->version, b->dir, b->n);
        print_list(json_object_get(d, "added"), "added");
        print_list(json_object_get(d, "removed"), "removed");
        print_list(json_object_get(d, "changed"), "changed");
        printf("%zu added, %zu removed, %zu changed, %lld unchanged\n", na, nr, nc,
               (long long)json_integer_value(json_object_get(d, "unchanged")));
    }
    rc = na + nr + nc ? 1 : 0;
out:
    json_decref(d);
    json_decref(cites);
    hn_spec_free(a);
    hn_spec_free(b);
    return rc;
}

int hn_cmd_spec(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "diff"))
        return spec_diff(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "gwspec spec: %s\n",
            argc >= 2 ? "unknown subcommand" : "needs a subcommand (diff)");
    usage(stderr);
    return 2;
}
