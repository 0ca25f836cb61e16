/* cmd_diff.c: `gwspec diff OLD NEW` (see cmd_diff.h). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd_diff.h"
#include "model/casedir.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

/* A grade's rank: higher is worse. "FAILED (known)" sits between the soft grades and FAILED. */
static int rank(const char *grade)
{
    static const struct {
        const char *name;
        int rank;
    } ranks[] = {
        {"OK", 0},      {"NON-STRICT", 1},     {"INFORMATIONAL", 1}, {"UNIMPLEMENTED", 2},
        {"SKIPPED", 2}, {"FAILED (known)", 3}, {"FAILED", 4},        {"ERROR", 4},
    };

    for (size_t i = 0; grade && i < sizeof(ranks) / sizeof(ranks[0]); i++) {
        if (!strcmp(grade, ranks[i].name))
            return ranks[i].rank;
    }
    return 4; /* an unknown grade counts as a failure */
}

/* "FAILED (known)" for a known failure, else the verdict. New string, or NULL for no case. */
static char *grade_of(const json_t *c)
{
    const char *v = wc_json_str(c, "verdict");

    if (!c)
        return NULL;
    if (json_is_true(json_object_get(c, "known")))
        return wc_xasprintf("%s (known)", v ? v : "?");
    return wc_xstrdup(v ? v : "?");
}

static int id_cmp(const void *a, const void *b)
{
    return hn_case_id_cmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *hn_diff_cases(const json_t *old_cases, const json_t *new_cases)
{
    json_t *out = json_array(), *ids = json_object(), *v;
    const char *id, **sorted;
    size_t n = 0;

    json_object_foreach((json_t *)old_cases, id, v) json_object_set_new(ids, id, json_true());
    json_object_foreach((json_t *)new_cases, id, v) json_object_set_new(ids, id, json_true());
    sorted = wc_xcalloc(json_object_size(ids) + 1, sizeof(*sorted));
    json_object_foreach(ids, id, v) sorted[n++] = id;
    qsort(sorted, n, sizeof(*sorted), id_cmp);
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_object_get(old_cases, sorted[i]);
        const json_t *w = json_object_get(new_cases, sorted[i]);
        char *og = grade_of(o), *ng = grade_of(w);
        if (!og || !ng || strcmp(og, ng)) {
            /* gone, or ranked higher: worse; a case that appears is not a regression */
            bool worse = og && (!ng || rank(ng) > rank(og));
            /* the requirements that fail now, or, for a case that got better, those that did */
            json_t *reqs = json_object_get(w, "requirements");
            if (!json_array_size(reqs))
                reqs = json_object_get(o, "requirements");
            json_array_append_new(out, json_pack("{s:s, s:s?, s:s?, s:o, s:b}", "id", sorted[i],
                                                 "old", og, "new", ng, "requirements",
                                                 reqs ? json_deep_copy(reqs) : json_array(),
                                                 "worse", worse));
        }
        free(og);
        free(ng);
    }
    free(sorted);
    json_decref(ids);
    return out;
}

/* The requirement ids the failures of one case file name, in order, once each. New array. */
static json_t *failure_requirements(const char *dir, const char *report)
{
    char *path = wc_xasprintf("%s/%s", dir, report);
    json_t *c = json_load_file(path, 0, NULL), *out = json_array(), *f;
    size_t i;

    json_array_foreach(json_object_get(c, "failures"), i, f)
    {
        json_t *r = json_object_get(f, "requirement");
        size_t k;
        json_t *seen;
        bool dup = false;
        if (!json_is_string(r))
            continue;
        json_array_foreach(out, k, seen) dup = dup || json_equal(seen, r);
        if (!dup)
            json_array_append(out, r);
    }
    json_decref(c);
    free(path);
    return out;
}

/* Load a run written by `gwspec run --json DIR` (DIR, or DIR/index.json) as hn_diff_cases
 * wants it. NULL and a message on stderr when it cannot be read. */
static json_t *load_run(const char *arg)
{
    struct stat st;
    char *dir, *index;
    json_error_t jerr;
    json_t *run, *cases, *out, *c;
    const char *id;

    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        dir = wc_xstrdup(arg);
        index = wc_xasprintf("%s/index.json", arg);
    } else {
        const char *slash = strrchr(arg, '/');
        dir = slash ? wc_xstrndup(arg, (size_t)(slash - arg)) : wc_xstrdup(".");
        index = wc_xstrdup(arg);
    }
    run = json_load_file(index, 0, &jerr);
    cases = json_object_get(run, "cases");
    if (!json_is_object(cases)) {
        if (run)
            fprintf(stderr, "gwspec diff: %s: not a run index (no 'cases' object)\n", index);
        else if (jerr.line > 0)
            fprintf(stderr, "gwspec diff: %s:%d:%d: %s\n", index, jerr.line, jerr.column,
                    jerr.text);
        else
            fprintf(stderr, "gwspec diff: %s\n", jerr.text);
        json_decref(run);
        free(dir);
        free(index);
        return NULL;
    }
    out = json_object();
    json_object_foreach(cases, id, c)
    {
        const char *report = wc_json_str(c, "report");
        json_t *e = json_pack("{s:s, s:b}", "verdict",
                              wc_json_str(c, "verdict") ? wc_json_str(c, "verdict") : "?", "known",
                              json_is_true(json_object_get(c, "known")));
        json_object_set_new(e, "requirements",
                            report ? failure_requirements(dir, report) : json_array());
        json_object_set_new(out, id, e);
    }
    json_decref(run);
    free(dir);
    free(index);
    return out;
}

static void usage(FILE *fp)
{
    fputs("usage: gwspec diff OLD NEW\n"
          "\n"
          "Compare two runs written by `gwspec run --json DIR` (give each DIR or its\n"
          "index.json) and print every case whose verdict changed, with the requirements\n"
          "its failures name. A known failure (baselined) is its own grade, FAILED (known).\n"
          "\n"
          "Exit: 0 no case got worse, 1 a case got worse (OK < NON-STRICT, INFORMATIONAL <\n"
          "UNIMPLEMENTED, SKIPPED < FAILED (known) < FAILED, ERROR; or a case that ran\n"
          "before is gone), 2 a usage error or an unreadable run.\n",
          fp);
}

int hn_cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    json_t *a, *b, *changes, *ch;
    size_t i, worse = 0, gone = 0, added = 0;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "gwspec diff: unknown option '%s'\n", argv[optind - 1]);
        usage(stderr);
        return 2;
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    a = load_run(argv[optind]);
    b = a ? load_run(argv[optind + 1]) : NULL;
    if (!a || !b) {
        json_decref(a);
        return 2;
    }
    changes = hn_diff_cases(a, b);
    json_array_foreach(changes, i, ch)
    {
        const char *o = wc_json_str(ch, "old"), *n = wc_json_str(ch, "new");
        json_t *reqs = json_object_get(ch, "requirements");
        char *r = json_array_size(reqs) ? wc_json_compact(reqs) : NULL;
        bool w = json_is_true(json_object_get(ch, "worse"));
        worse += w;
        gone += !n;
        added += !o;
        printf("  %-6s %s: %s -> %s%s%s\n",
               w                               ? "WORSE"
               : (o && n && rank(n) < rank(o)) ? "better"
                                               : "",
               wc_json_str(ch, "id"), o ? o : "(absent)", n ? n : "(absent)", r ? "  " : "",
               r ? r : "");
        free(r);
    }
    printf(
        "gwspec diff: %zu case(s) before, %zu after; %zu changed (%zu worse, %zu gone, %zu new)\n",
        json_object_size(a), json_object_size(b), json_array_size(changes), worse, gone, added);
    json_decref(changes);
    json_decref(a);
    json_decref(b);
    return worse ? 1 : 0;
}
