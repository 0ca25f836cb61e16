/* json.c: the JSON report: index.json and one file per case (report.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <jansson.h>

#include "report/report.h"
#include "report/report_int.h"
#include "check/verdict.h"
#include "model/casedir.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_io.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

char *hn_report_case_file_name(const char *id)
{
    char *s = wc_xstrdup(id && *id ? id : "_");
    char *p;

    for (p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            *p = '_';
    }
    if (s[0] == '.') /* never "." or ".." or a hidden file */
        s[0] = '_';
    return s;
}

static int dump_file(const char *path, const json_t *v)
{
    return json_dump_file(v, path, JSON_INDENT(2) | JSON_ENCODE_ANY) ? WC_ERR_IO : 0;
}

/* The index entry of one result: its verdict, timing, checks and case file. New object. */
static json_t *index_entry(const json_t *c, const char *rel)
{
    json_t *e = json_object();

    json_object_set_new(e, "repetition", json_integer(hn_report_int_or(c, "repetition", 1)));
    json_object_set(e, "verdict",
                    json_object_get(c, "verdict") ? json_object_get(c, "verdict") : json_null());
    json_object_set_new(e, "known", json_boolean(hn_report_is_known(c)));
    json_object_set_new(e, "duration_ms", json_integer(hn_report_int_or(c, "duration_ms", 0)));
    if (json_object_get(c, "checks"))
        json_object_set(e, "checks", json_object_get(c, "checks"));
    else
        json_object_set_new(e, "checks", json_object());
    json_object_set_new(e, "report", json_string(rel));
    return e;
}

int hn_report_json(const char *dir, const json_t *run)
{
    json_t *index = json_object(), *map = json_object(), *used = json_object(), *c;
    char *cases_dir = wc_xasprintf("%s/cases", dir), *path;
    static const char *const copy[] = {"seed",
                                       "target",
                                       "spec",
                                       "started",
                                       "duration_ms",
                                       "counts",
                                       "baseline",
                                       "rerun",
                                       "resources",
                                       "repeat",
                                       "flaky",
                                       "coverage",
                                       "mutant",
                                       "requirements",
                                       "command",
                                       "version",
                                       "target_description",
                                       NULL};
    long long repeat = hn_report_int_or(run, "repeat", 1);
    size_t i;
    int rc = wc_mkdir_p(cases_dir, 0777) ? WC_ERR_IO : 0;

    json_object_set_new(index, "format", json_string(HN_REPORT_FORMAT));
    for (i = 0; copy[i]; i++) {
        if (json_object_get(run, copy[i]))
            json_object_set(index, copy[i], json_object_get(run, copy[i]));
    }
    json_object_set_new(index, "exit_code", json_integer(hn_report_exit_code(run)));
    json_array_foreach(json_object_get(run, "cases"), i, c)
    {
        const char *id = wc_json_str(c, "id");
        char *name, *rel;
        json_t *e, *top, *file;
        int k = 1;
        if (rc)
            break;
        /* one file per result: <id>.json, or <id>.rep<N>.json with --repeat; never one over
         * another (two ids with one safe name get a ~2) */
        name = hn_report_case_file_name(id);
        if (repeat > 1)
            rel = wc_xasprintf("cases/%s.rep%lld.json", name, hn_report_int_or(c, "repetition", 1));
        else
            rel = wc_xasprintf("cases/%s.json", name);
        while (json_object_get(used, rel)) {
            free(rel);
            if (repeat > 1)
                rel = wc_xasprintf("cases/%s~%d.rep%lld.json", name, ++k,
                                   hn_report_int_or(c, "repetition", 1));
            else
                rel = wc_xasprintf("cases/%s~%d.json", name, ++k);
        }
        json_object_set_new(used, rel, json_true());
        path = wc_xasprintf("%s/%s", dir, rel);
        file = json_copy((json_t *)c);
        json_object_set_new(file, "format", json_string(HN_REPORT_FORMAT));
        rc = dump_file(path, file);
        json_decref(file);
        e = index_entry(c, rel);
        /* cases[id]: the worst repetition (the first of equals), every repetition under
         * "repetitions" when there are several, and "flaky" when their verdicts differ */
        if (!id)
            id = name;
        top = json_object_get(map, id);
        if (!top) {
            top = json_deep_copy(e);
            json_object_set_new(top, "flaky", json_boolean(hn_report_is_flaky(run, id)));
            if (repeat > 1)
                json_object_set_new(top, "repetitions", json_array());
            json_object_set_new(map, id, top);
        } else {
            enum hn_verdict was = hn_report_verdict_of(top), now = hn_report_verdict_of(c);
            if (now != was && hn_verdict_worst(was, now) == now) {
                const char *key;
                json_t *v;
                json_object_foreach(e, key, v) json_object_set(top, key, v);
            }
        }
        if (repeat > 1)
            json_array_append(json_object_get(top, "repetitions"), e);
        json_decref(e);
        free(path);
        free(rel);
        free(name);
    }
    json_object_set_new(index, "cases", map);
    if (!rc) {
        path = wc_xasprintf("%s/index.json", dir);
        rc = dump_file(path, index);
        free(path);
    }
    json_decref(used);
    json_decref(index);
    free(cases_dir);
    return rc;
}
