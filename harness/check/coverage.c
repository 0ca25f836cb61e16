/* coverage.c: requirement coverage of a run or a catalog (see coverage.h). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check/coverage.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

static bool same_dir(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];

    if (!realpath(a, ra) || !realpath(b, rb))
        return false;
    return !strcmp(ra, rb);
}

bool hn_coverage_is_whole(const struct hn_select *sel, char *const *args, size_t nargs,
                          const char *catalog_dir)
{
    size_t i;

    if (json_array_size(sel->filters) || json_array_size(sel->excludes) ||
        json_array_size(sel->tags) || json_array_size(sel->reqs) || sel->shard_n > 0)
        return false;
    for (i = 0; i < nargs; i++) {
        if (!same_dir(args[i], catalog_dir))
            return false;
    }
    return true;
}

/* Does case c cite requirement id? */
static bool cites(const json_t *spec_ids, const char *id)
{
    size_t i;
    json_t *r;

    json_array_foreach(spec_ids, i, r)
    {
        if (json_is_string(r) && !strcmp(json_string_value(r), id))
            return true;
    }
    return false;
}

/* Was a result citing id scored (not SKIPPED, UNIMPLEMENTED or ERROR)? */
static bool exercised(const json_t *results, const char *id)
{
    size_t i;
    json_t *c;

    json_array_foreach(results, i, c)
    {
        const char *v = wc_json_str(c, "verdict");
        if (!v || !strcmp(v, "SKIPPED") || !strcmp(v, "UNIMPLEMENTED") || !strcmp(v, "ERROR"))
            continue;
        if (cites(json_object_get(c, "spec"), id))
            return true;
    }
    return false;
}

static bool in_scope(const struct hn_req *q, struct hn_case *const *sel, size_t nsel, bool whole)
{
    size_t i;

    if (whole)
        return true;
    for (i = 0; i < nsel; i++) {
        if (cites(sel[i]->spec, q->id))
            return true;
    }
    return false;
}

/* The ids of the loaded cases citing id (base ids, once each). New array. */
static json_t *citing_cases(const struct hn_caselist *all, const char *id)
{
    json_t *out = json_array();
    size_t i;

    for (i = 0; i < all->n; i++) {
        const char *base = all->v[i]->base_id ? all->v[i]->base_id : all->v[i]->id;
        json_t *last = json_array_get(out, json_array_size(out) - 1);
        if (!cites(all->v[i]->spec, id) || (last && !strcmp(json_string_value(last), base)))
            continue;
        json_array_append_new(out, json_string(base));
    }
    return out;
}

static void bump(json_t *level, const char *key)
{
    json_t *n = json_object_get(level, key);
    json_integer_set(n, json_integer_value(n) + 1);
}

static json_t *new_levels(void)
{
    static const char *const levels[] = {"MUST", "SHOULD", "MAY"};
    json_t *o = json_object();
    size_t i;

    for (i = 0; i < 3; i++)
        json_object_set_new(o, levels[i],
                            json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "requirements", 0,
                                      "with_case", 0, "exercised", 0, "not_run", 0, "without_case",
                                      0, "untestable", 0));
    return o;
}

json_t *hn_coverage_compute(const struct hn_spec *spec, const struct hn_caselist *all,
                            struct hn_case *const *sel, size_t nsel, const json_t *results,
                            bool whole)
{
    json_t *levels = new_levels(), *without = json_array(), *not_run = json_array();
    json_t *untestable = json_array(), *cited_untestable = json_array(), *missing = json_array();
    size_t i;

    for (i = 0; i < spec->n; i++) {
        const struct hn_req *q = &spec->reqs[i];
        json_t *lv = json_object_get(levels, hn_level_name(q->level));
        json_t *by = citing_cases(all, q->id);

        if (!in_scope(q, sel, nsel, whole)) {
            json_decref(by);
            continue;
        }
        bump(lv, "requirements");
        if (q->untestable) {
            bump(lv, "untestable");
            json_array_append_new(untestable,
                                  json_pack("{s:s, s:s, s:s}", "id", q->id, "level",
                                            hn_level_name(q->level), "reason", q->untestable));
            if (json_array_size(by))
                json_array_append_new(cited_untestable,
                                      json_pack("{s:s, s:O}", "id", q->id, "cases", by));
        } else if (!json_array_size(by)) {
            bump(lv, "without_case");
            json_array_append_new(without, json_string(q->id));
            if (whole && q->level == HN_LEVEL_MUST)
                json_array_append_new(missing, json_string(q->id));
        } else if (results && exercised(results, q->id)) {
            bump(lv, "with_case");
            bump(lv, "exercised");
        } else {
            bump(lv, "with_case");
            bump(lv, "not_run");
            json_array_append_new(not_run, json_string(q->id));
        }
        json_decref(by);
    }
    return json_pack("{s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o}", "scope",
                     whole ? "catalog" : "selection", "enforced", whole, "levels", levels,
                     "without_case", without, "not_run", not_run, "untestable", untestable,
                     "untestable_cited", cited_untestable, "missing_must", missing);
}

size_t hn_coverage_problems(const struct hn_spec *spec, const json_t *coverage, bool lint,
                            json_t *errs)
{
    size_t i, k, n = 0;
    json_t *id, *u, *c;

    json_array_foreach(json_object_get(coverage, "missing_must"), i, id)
    {
        const struct hn_req *q = hn_spec_find(spec, json_string_value(id));
        json_array_append_new(
            errs, json_sprintf("%s: MUST requirement '%s' has no case in %s: write one, "
                               "or mark it `untestable:` with the reason",
                               q && q->where ? q->where : "requirements.yaml",
                               json_string_value(id), spec->version));
        n++;
    }
    json_array_foreach(lint ? json_object_get(coverage, "untestable_cited") : NULL, i, u)
    {
        const struct hn_req *q = hn_spec_find(spec, wc_json_str(u, "id"));
        char *list = NULL;
        json_array_foreach(json_object_get(u, "cases"), k, c)
        {
            char *next =
                wc_xasprintf("%s%s%s", list ? list : "", list ? ", " : "", json_string_value(c));
            free(list);
            list = next;
        }
        json_array_append_new(errs,
                              json_sprintf("%s: requirement '%s' is marked untestable but case(s) "
                                           "cite it (%s): drop the mark or the citation",
                                           q && q->where ? q->where : "requirements.yaml",
                                           wc_json_str(u, "id"), list ? list : ""));
        free(list);
        n++;
    }
    return n;
}
