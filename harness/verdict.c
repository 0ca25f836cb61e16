/* verdict.c: verdict names and grading, and the known-failures baseline (see verdict.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "verdict.h"
#include "wc_err.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_yaml.h"
#include "wc_banned.h"

static const char *const names[] = {
    [HN_OK] = "OK",
    [HN_NON_STRICT] = "NON-STRICT",
    [HN_INFORMATIONAL] = "INFORMATIONAL",
    [HN_UNIMPLEMENTED] = "UNIMPLEMENTED",
    [HN_SKIPPED] = "SKIPPED",
    [HN_FAILED] = "FAILED",
    [HN_ERROR] = "ERROR",
};

const char *hn_verdict_name(enum hn_verdict v)
{
    if ((unsigned)v >= sizeof(names) / sizeof(names[0]))
        WC_BUG("hn_verdict_name: bad verdict");
    return names[v];
}

int hn_verdict_parse(const char *s, enum hn_verdict *out)
{
    size_t v, i;

    for (v = 0; s && v < sizeof(names) / sizeof(names[0]); v++) {
        for (i = 0; names[v][i] && s[i]; i++) {
            char c = (char)toupper((unsigned char)s[i]);
            if (c == '_')
                c = '-';
            if (c != names[v][i])
                break;
        }
        if (!names[v][i] && !s[i]) {
            *out = (enum hn_verdict)v;
            return 0;
        }
    }
    return WC_ERR_NOTFOUND;
}

enum hn_verdict hn_verdict_for_level(const char *level)
{
    if (level && !strcmp(level, "SHOULD"))
        return HN_NON_STRICT;
    if (level && !strcmp(level, "MAY"))
        return HN_INFORMATIONAL;
    return HN_FAILED;
}

static int rank(enum hn_verdict v)
{
    static const int ranks[] = {[HN_OK] = 0, [HN_SKIPPED] = 1, [HN_UNIMPLEMENTED] = 2,
                                [HN_INFORMATIONAL] = 3, [HN_NON_STRICT] = 4, [HN_FAILED] = 5,
                                [HN_ERROR] = 6};
    return ranks[v];
}

enum hn_verdict hn_verdict_worst(enum hn_verdict a, enum hn_verdict b)
{
    return rank(a) >= rank(b) ? a : b;
}

bool hn_verdict_is_pass(enum hn_verdict v)
{
    return v == HN_OK || v == HN_NON_STRICT || v == HN_INFORMATIONAL;
}

/* --- baseline ------------------------------------------------------------------------------ */

struct entry {
    char *case_id;     /* the case id */
    char *requirement; /* or NULL: any requirement */
    char *reason;      /* why it is known */
    char *upstream;    /* issue / PR, or NULL */
};

struct hn_baseline {
    char *target;       /* the target the baseline is for, or NULL */
    struct entry *e;    /* entries */
    size_t n;           /* count */
};

void hn_baseline_free(struct hn_baseline *b)
{
    size_t i;

    if (!b)
        return;
    for (i = 0; i < b->n; i++) {
        free(b->e[i].case_id);
        free(b->e[i].requirement);
        free(b->e[i].reason);
        free(b->e[i].upstream);
    }
    free(b->e);
    free(b->target);
    free(b);
}

static bool key_ok(const char *key, const char *const *allowed)
{
    size_t i;

    for (i = 0; allowed[i]; i++) {
        if (!strcmp(allowed[i], key))
            return true;
    }
    return false;
}

/* NULL on success, else a new message. */
static char *load_entry(struct wc_yaml_doc *doc, const json_t *item, struct entry *e)
{
    static const char *const keys[] = {"case", "requirement", "reason", "upstream", NULL};
    const char *key, *s;
    json_t *v;

    if (!json_is_object(item))
        return wc_yaml_msg(doc, item, NULL, "a baseline entry must be a mapping {case, requirement, reason, upstream}");
    json_object_foreach((json_t *)item, key, v) {
        if (!key_ok(key, keys))
            return wc_yaml_msg(doc, item, key, "unknown key '%s' in a baseline entry", key);
        if (!json_is_string(v))
            return wc_yaml_msg(doc, item, key, "'%s' must be a string", key);
    }
    if (!wc_json_str(item, "case"))
        return wc_yaml_msg(doc, item, NULL, "baseline entry without 'case'");
    if (!wc_json_str(item, "reason"))
        return wc_yaml_msg(doc, item, NULL, "baseline entry for '%s' without 'reason'", wc_json_str(item, "case"));
    s = wc_json_str(item, "requirement");
    if (s && strncmp(s, "R-", 2))
        return wc_yaml_msg(doc, item, "requirement", "requirement '%s' is not a requirement id (R-...)", s);
    e->case_id = wc_xstrdup(wc_json_str(item, "case"));
    e->requirement = s ? wc_xstrdup(s) : NULL;
    e->reason = wc_xstrdup(wc_json_str(item, "reason"));
    e->upstream = wc_json_str(item, "upstream") ? wc_xstrdup(wc_json_str(item, "upstream")) : NULL;
    return NULL;
}

static struct hn_baseline *load_doc(struct wc_yaml_doc *doc, char **err)
{
    static const char *const top[] = {"target", "known", "description", NULL};
    struct hn_baseline *b = wc_xcalloc(1, sizeof(*b));
    json_t *root = wc_yaml_root(doc), *known, *v, *item;
    const char *key;
    size_t i;

    *err = NULL;
    if (!json_is_object(root)) {
        *err = wc_yaml_msg(doc, root, NULL, "a baseline must be a mapping {target, known}");
        goto out;
    }
    json_object_foreach(root, key, v) {
        if (!key_ok(key, top)) {
            *err = wc_yaml_msg(doc, root, key, "unknown key '%s' in a baseline", key);
            goto out;
        }
    }
    v = json_object_get(root, "target");
    if (v && !json_is_string(v)) {
        *err = wc_yaml_msg(doc, root, "target", "'target' must be a string");
        goto out;
    }
    b->target = v ? wc_xstrdup(json_string_value(v)) : NULL;
    known = json_object_get(root, "known");
    if (known && !json_is_array(known) && !json_is_null(known)) {
        *err = wc_yaml_msg(doc, root, "known", "'known' must be a list of entries");
        goto out;
    }
    b->e = wc_xcalloc(json_array_size(known) + 1, sizeof(*b->e));
    json_array_foreach(known, i, item) {
        *err = load_entry(doc, item, &b->e[b->n]);
        if (*err)
            goto out;
        b->n++;
    }
out:
    wc_yaml_free(doc);
    if (*err) {
        hn_baseline_free(b);
        return NULL;
    }
    return b;
}

struct hn_baseline *hn_baseline_load(const char *path, char **err)
{
    struct wc_yaml_doc *doc = wc_yaml_load_file(path, err);
    return doc ? load_doc(doc, err) : NULL;
}

struct hn_baseline *hn_baseline_load_string(const char *name, const char *yaml, char **err)
{
    struct wc_yaml_doc *doc = wc_yaml_load_string(name, yaml, strlen(yaml), err);
    return doc ? load_doc(doc, err) : NULL;
}

/* A JSON string from a new C string, which it frees. */
static json_t *take_string(char *s)
{
    json_t *v = json_string(s);
    free(s);
    return v ? v : json_string("(not UTF-8)");
}

/* Does entry e match failure f (same requirement, or e has none)? */
static bool entry_matches(const struct entry *e, const json_t *failure)
{
    const char *req = wc_json_str(failure, "requirement");
    return !e->requirement || (req && !strcmp(req, e->requirement));
}

static enum hn_verdict case_verdict(const json_t *c)
{
    enum hn_verdict v = HN_ERROR;
    hn_verdict_parse(wc_json_str(c, "verdict"), &v);
    return v;
}

/* Mark one case; sets used[k] for the entries that match one of its failures. */
static void apply_case(const struct hn_baseline *b, json_t *c, bool *used, bool *ran)
{
    const char *id = wc_json_str(c, "id");
    enum hn_verdict v = case_verdict(c);
    json_t *fails = json_object_get(c, "failures"), *f, *reasons;
    bool covered = json_array_size(fails) > 0;
    size_t i, k;

    if (!id)
        return;
    for (k = 0; k < b->n; k++) {
        if (!strcmp(b->e[k].case_id, id))
            ran[k] = v != HN_SKIPPED && v != HN_UNIMPLEMENTED && v != HN_ERROR;
    }
    if (v != HN_FAILED && v != HN_NON_STRICT)
        return;
    reasons = json_array();
    json_array_foreach(fails, i, f) {
        bool any = false;
        for (k = 0; k < b->n; k++) {
            if (strcmp(b->e[k].case_id, id) || !entry_matches(&b->e[k], f))
                continue;
            if (!used[k])
                json_array_append_new(reasons, take_string(b->e[k].upstream
                                                               ? wc_xasprintf("%s (%s)", b->e[k].reason, b->e[k].upstream)
                                                               : wc_xstrdup(b->e[k].reason)));
            used[k] = any = true;
        }
        covered &= any;
    }
    if (covered) {
        char *joined = NULL;
        json_t *r;
        json_object_set_new(c, "known", json_true());
        json_array_foreach(reasons, i, r) {
            char *next = joined ? wc_xasprintf("%s; %s", joined, json_string_value(r))
                                : wc_xstrdup(json_string_value(r));
            free(joined);
            joined = next;
        }
        json_object_set_new(c, "known_reason", json_string(joined ? joined : ""));
        free(joined);
    }
    json_decref(reasons);
}

void hn_baseline_apply(const struct hn_baseline *b, json_t *run)
{
    bool *used = wc_xcalloc(b->n + 1, sizeof(*used)), *ran = wc_xcalloc(b->n + 1, sizeof(*ran));
    json_t *cases = json_object_get(run, "cases"), *c, *info = json_object(), *stale = json_array();
    json_t *stale_entries = json_array();
    size_t i, known = 0, not_run = 0;
    const char *target = wc_json_str(run, "target");

    json_array_foreach(cases, i, c) {
        json_object_set_new(c, "known", json_false());
        apply_case(b, c, used, ran);
        known += json_is_true(json_object_get(c, "known"));
    }
    for (i = 0; i < b->n; i++) {
        if (!ran[i] && !used[i]) {
            not_run++;
            continue;
        }
        if (used[i])
            continue;
        json_array_append_new(stale_entries, json_pack("{s:s, s:o}", "case", b->e[i].case_id, "requirement",
                                                       b->e[i].requirement ? json_string(b->e[i].requirement)
                                                                           : json_null()));
        {
            size_t k;
            json_t *s;
            bool dup = false;
            json_array_foreach(stale, k, s) dup |= !strcmp(json_string_value(s), b->e[i].case_id);
            if (!dup)
                json_array_append_new(stale, json_string(b->e[i].case_id));
        }
    }
    if (b->target)
        json_object_set_new(info, "target", json_string(b->target));
    json_object_set_new(info, "known", json_integer((json_int_t)known));
    json_object_set_new(info, "stale", stale);
    json_object_set_new(info, "stale_entries", stale_entries);
    json_object_set_new(info, "not_run", json_integer((json_int_t)not_run));
    if (b->target && target && strcmp(b->target, target))
        json_object_set_new(info, "warning", take_string(wc_xasprintf("the baseline is for target '%s', the run is "
                                                                      "against '%s'", b->target, target)));
    json_object_set_new(run, "baseline", info);
    free(used);
    free(ran);
}
