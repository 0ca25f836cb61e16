/* cmd_check.c: `gwspec check`, the invariant checkers over transcript files (see cmd_check.h). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/cmd_check.h"
#include "check/invariant.h"
#include "model/msgcat.h"
#include "dialect/dialect.h"
#include "model/scenario.h"
#include "model/transcript.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: gwspec check [--spec DIR] [--json] TRANSCRIPT.jsonl...\n"
            "  Runs every invariant checker over each transcript.\n"
            "  --spec DIR   the spec version directory (default: from the header's \"spec\")\n"
            "  --json       print the checker results as JSON, one object per file\n"
            "  exit: 0 all passed or not exercised, 1 a checker failed, 2 usage or parse error\n");
}

static void print_frame(const json_t *rec)
{
    char *s = wc_json_compact(rec);
    int64_t n = 0;

    wc_json_int(rec, "n", &n);
    if (strlen(s) > 240) {
        s[237] = s[238] = s[239] = '.';
        s[240] = '\0';
    }
    printf("      #%lld %s\n", (long long)n, s);
    free(s);
}

static void print_human(const char *path, const json_t *res)
{
    json_t *checks = json_object_get(res, "checks"), *viol = json_object_get(res, "violations"), *v;
    json_t *supp = json_object_get(res, "suppressed");
    const char *name;
    size_t i, k;

    printf("%s: %s\n", path, json_array_size(viol) ? "FAILED" : "ok");
    json_object_foreach(checks, name, v) printf("  %-22s %s\n", name, json_string_value(v));
    json_array_foreach(viol, i, v)
    {
        json_t *fr;
        printf("  %s: %s: %s\n", wc_json_str(v, "checker"), wc_json_str(v, "requirement"),
               wc_json_str(v, "message"));
        json_array_foreach(json_object_get(v, "frames"), k, fr) print_frame(fr);
    }
    json_object_foreach(supp, name, v)
    {
        printf("  %s: %lld more violations not shown\n", name, (long long)json_integer_value(v));
    }
}

/* Check one file: 0, 1 or 2 as the exit codes. */
static int check_file(const char *path, const char *spec_opt, bool as_json, json_t *all)
{
    char *err = NULL, *dir;
    struct hn_transcript *t = hn_transcript_load(path, &err);
    struct hn_msgcat *cat;
    json_t *h, *ext, *res;
    const struct hn_dialect *d;
    int rc;

    if (!t) {
        fprintf(stderr, "gwspec check: %s\n", err);
        free(err);
        return 2;
    }
    h = hn_transcript_header(t);
    d = hn_dialect_for(wc_json_str(h, "spec"));
    dir = spec_opt ? wc_xstrdup(spec_opt) : hn_spec_locate(wc_json_str(h, "spec"));
    if (!dir && !d->catalog_required) {
        /* a dialect whose checkers need no catalog (dispatch-ws/1) checks without one */
        res = d->check_run(t, NULL);
        goto judged;
    }
    if (!dir) {
        fprintf(stderr,
                "gwspec check: %s: no spec directory with a catalog.yaml for '%s' (use --spec)\n",
                path, wc_json_str(h, "spec") ? wc_json_str(h, "spec") : "chatgw/1.0");
        hn_transcript_free(t);
        return 2;
    }
    ext = json_object_get(h, "extensions");
    cat = hn_msgcat_load(dir, json_object_get(ext, "kinds"), json_object_get(ext, "types"), &err);
    free(dir);
    if (!cat && !d->catalog_required) {
        free(err);
        res = d->check_run(t, NULL);
        goto judged;
    }
    if (!cat) {
        fprintf(stderr, "gwspec check: %s: %s\n", path, err);
        free(err);
        hn_transcript_free(t);
        return 2;
    }
    res = d->check_run(t, cat);
    hn_msgcat_free(cat);
judged:
    rc = json_array_size(json_object_get(res, "violations")) ? 1 : 0;
    if (as_json)
        json_object_set(all, path, res);
    else
        print_human(path, res);
    json_decref(res);
    hn_transcript_free(t);
    return rc;
}

int hn_cmd_check(int argc, char **argv)
{
    const char *spec = NULL;
    bool as_json = false;
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'J'},
        {"spec", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    json_t *all = json_object();
    int c, rc = 0, nfiles = 0;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'J':
            as_json = true;
            break;
        case 'S':
            spec = optarg;
            break;
        case 'h':
            usage(stdout);
            json_decref(all);
            return 0;
        default:
            fprintf(stderr, "gwspec check: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            json_decref(all);
            return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        int r = check_file(argv[i], spec, as_json, all);
        nfiles++;
        if (r > rc)
            rc = r;
    }
    if (!nfiles) {
        usage(stderr);
        json_decref(all);
        return 2;
    }
    if (as_json) {
        char *s = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS);
        puts(s ? s : "{}");
        free(s);
    }
    json_decref(all);
    return rc;
}
