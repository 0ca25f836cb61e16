/* verdict.c: verdict names and grading, and the known-failures baseline (see verdict.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "check/verdict.h"
#include "wc_buf.h"
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
    static const int ranks[] = {
        [HN_OK] = 0,         [HN_SKIPPED] = 1, [HN_UNIMPLEMENTED] = 2, [HN_INFORMATIONAL] = 3,
        [HN_NON_STRICT] = 4, [HN_FAILED] = 5,  [HN_ERROR] = 6};
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

/* --- witness keys --------------------------------------------------------------------------- */

/* The kind of a JSON value that is a frame or a control message (see verdict.h). */
static const char *value_kind(const json_t *v)
{
    if (wc_json_str(v, "kind"))
        return wc_json_str(v, "kind");
    if (wc_json_str(v, "type"))
        return wc_json_str(v, "type");
    return json_is_object(v) ? "frame" : "raw";
}

/* The kind of a transcript record (spec/transcript.md). */
static const char *record_kind(const json_t *rec)
{
    const char *t = wc_json_str(rec, "t");

    if (!t)
        return value_kind(rec);
    if (!strcmp(t, "send") || !strcmp(t, "recv"))
        return value_kind(json_object_get(rec, "frame"));
    if (!strcmp(t, "ctl") || !strcmp(t, "ctl_send"))
        return value_kind(json_object_get(rec, "msg"));
    return t;
}

/* What a step received instead: a frame, a record, a control message or an HTTP answer. */
static const char *received_kind(const json_t *v)
{
    if (!v || json_is_null(v))
        return "none";
    if (!json_is_object(v))
        return "raw";
    if (wc_json_str(v, "t"))
        return record_kind(v);
    if (wc_json_str(v, "kind") || wc_json_str(v, "type"))
        return value_kind(v);
    return json_object_get(v, "status") ? "http" : "frame";
}

/*
 * The kind of the frame that broke an invariant: the last frame of the witness that a client
 * received from the gateway, else its last frame ("none" when it has none). What the gateway
 * sent, not the transcript position of the provider's record beside it: a provider event and
 * the client frame it became can be recorded in either order from run to run.
 */
static const char *witness_kind(const json_t *frames)
{
    size_t n = json_array_size(frames), i;

    for (i = n; i > 0; i--) {
        const char *t = wc_json_str(json_array_get(frames, i - 1), "t");
        if (t && !strcmp(t, "recv"))
            return record_kind(json_array_get(frames, i - 1));
    }
    return n ? record_kind(json_array_get(frames, n - 1)) : "none";
}

char *hn_baseline_witness_key(const json_t *f)
{
    const char *kind = wc_json_str(f, "kind");
    const json_t *step = json_object_get(f, "step"), *frames = json_object_get(f, "frames");

    if (kind && !strcmp(kind, "invariant")) {
        return wc_xasprintf("%s/%s",
                            wc_json_str(f, "checker") ? wc_json_str(f, "checker") : "invariant",
                            witness_kind(frames));
    }
    if (kind && !strcmp(kind, "step")) {
        if (json_is_integer(step))
            return wc_xasprintf("step-%lld/%s", (long long)json_integer_value(step),
                                received_kind(json_object_get(f, "received")));
        return wc_xasprintf("step/%s", received_kind(json_object_get(f, "received")));
    }
    return wc_xstrdup(kind ? kind : "failure");
}

/* --- baseline ------------------------------------------------------------------------------ */

struct entry {
    char *case_id;     /* the case id */
    char *requirement; /* the requirement its failure is reported under */
    char **witness;    /* the witness keys it excuses (hn_baseline_witness_key) */
    size_t nwitness;   /* >= 1 */
    char *reason;      /* why it is known */
    char *upstream;    /* issue / PR, or NULL */
    char *race;        /* entries of one case with one race label are alternatives, or NULL */
};

struct hn_baseline {
    char *target;    /* the target the baseline is for, or NULL */
    struct entry *e; /* entries */
    size_t n;        /* count */
};

void hn_baseline_free(struct hn_baseline *b)
{
    size_t i, k;

    if (!b)
        return;
    for (i = 0; i < b->n; i++) {
        free(b->e[i].case_id);
        free(b->e[i].requirement);
        for (k = 0; k < b->e[i].nwitness; k++)
            free(b->e[i].witness[k]);
        free(b->e[i].witness);
        free(b->e[i].reason);
        free(b->e[i].upstream);
        free(b->e[i].race);
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

/* A witness key is one word: no blank, not empty. */
static bool witness_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (isspace((unsigned char)*s))
            return false;
    }
    return true;
}

/* e->witness from the entry's `witness` (a key or a list of keys). NULL, or a new message. */
static char *load_witness(struct wc_yaml_doc *doc, const json_t *item, struct entry *e)
{
    json_t *w = json_object_get(item, "witness"), *one = NULL;
    json_t *list = json_is_array(w) ? json_incref(w) : json_pack("[O]", w);
    size_t i;

    if (!json_array_size(list)) {
        json_decref(list);
        return wc_yaml_msg(doc, item, "witness", "'witness' must name at least one witness key");
    }
    e->witness = wc_xcalloc(json_array_size(list), sizeof(*e->witness));
    json_array_foreach(list, i, one)
    {
        if (!json_is_string(one) || !witness_ok(json_string_value(one))) {
            json_decref(list);
            return wc_yaml_msg(doc, json_is_array(w) ? one : item,
                               json_is_array(w) ? NULL : "witness",
                               "a witness key is one word such as 'one_terminal/status' or "
                               "'step-4/text' (gwspec prints it after each failure)");
        }
        e->witness[e->nwitness++] = wc_xstrdup(json_string_value(one));
    }
    json_decref(list);
    return NULL;
}

/* NULL on success, else a new message. */
static char *load_entry(struct wc_yaml_doc *doc, const json_t *item, struct entry *e)
{
    static const char *const keys[] = {"case",     "requirement", "witness", "reason",
                                       "upstream", "race",        NULL};
    const char *key, *s, *id;
    json_t *v;

    if (!json_is_object(item))
        return wc_yaml_msg(doc, item, NULL,
                           "a baseline entry must be a mapping {case, requirement, "
                           "witness, reason, upstream}");
    json_object_foreach((json_t *)item, key, v)
    {
        if (!key_ok(key, keys))
            return wc_yaml_msg(doc, item, key, "unknown key '%s' in a baseline entry", key);
        if (!json_is_string(v) && !(json_is_array(v) && !strcmp(key, "witness")))
            return wc_yaml_msg(doc, item, key, "'%s' must be a string", key);
    }
    if (!(id = wc_json_str(item, "case")))
        return wc_yaml_msg(doc, item, NULL, "baseline entry without 'case'");
    if (!wc_json_str(item, "reason"))
        return wc_yaml_msg(doc, item, NULL, "baseline entry for '%s' without 'reason'", id);
    s = wc_json_str(item, "requirement");
    if (!s)
        return wc_yaml_msg(doc, item, NULL,
                           "baseline entry for '%s' without 'requirement': an entry "
                           "excuses one requirement of a case, never the whole case",
                           id);
    /* the dialects' id prefixes: chatgw/1 and dispatch-ws/1 R-, claude-remote/1 CR-,
     * claude-control/1 CC- (a client's baseline names its dialect's ids) */
    if (strncmp(s, "R-", 2) && strncmp(s, "CR-", 3) && strncmp(s, "CC-", 3))
        return wc_yaml_msg(doc, item, "requirement",
                           "requirement '%s' is not a requirement id (R-..., CR-..., CC-...)", s);
    if (!json_object_get(item, "witness"))
        return wc_yaml_msg(doc, item, NULL,
                           "baseline entry for '%s' %s without 'witness': name the "
                           "witness key of the known failure (gwspec prints it after "
                           "each failure)",
                           id, s);
    e->case_id = wc_xstrdup(id);
    e->requirement = wc_xstrdup(s);
    e->reason = wc_xstrdup(wc_json_str(item, "reason"));
    e->upstream = wc_json_str(item, "upstream") ? wc_xstrdup(wc_json_str(item, "upstream")) : NULL;
    e->race = wc_json_str(item, "race") ? wc_xstrdup(wc_json_str(item, "race")) : NULL;
    return load_witness(doc, item, e);
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
    json_object_foreach(root, key, v)
    {
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
    json_array_foreach(known, i, item)
    {
        /* counted before loading: a half-loaded entry is freed with the rest */
        *err = load_entry(doc, item, &b->e[b->n++]);
        if (*err)
            goto out;
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

static json_t *string_list(char *const *v, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static enum hn_verdict case_verdict(const json_t *c)
{
    enum hn_verdict v = HN_ERROR;
    hn_verdict_parse(wc_json_str(c, "verdict"), &v);
    return v;
}

/* Per entry, what this run showed of it (for the stale message). */
struct seen {
    bool ran;         /* its case ran (was scored) */
    bool used;        /* one of its witness keys occurred */
    bool failed;      /* its case was FAILED or NON-STRICT */
    json_t *req_keys; /* the witness keys its requirement failed with in its case (array) */
    bool *key_seen;   /* per witness key of the entry: it occurred */
};

/* The witness key of failure f (its "witness_key", else computed). New string. */
static char *failure_key(const json_t *f)
{
    const char *k = wc_json_str(f, "witness_key");
    return k ? wc_xstrdup(k) : hn_baseline_witness_key(f);
}

/* Does entry e cover (requirement, key)? Marks the key seen in s. */
static bool entry_covers(const struct entry *e, struct seen *s, const char *req, const char *key)
{
    size_t i;

    if (!req || strcmp(req, e->requirement))
        return false;
    for (i = 0; i < e->nwitness; i++) {
        if (!strcmp(e->witness[i], key)) {
            s->key_seen[i] = true;
            return true;
        }
    }
    return false;
}

/* Append string s to array a unless it is there. */
static void add_unique(json_t *a, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v)
    {
        if (!strcmp(json_string_value(v), s))
            return;
    }
    json_array_append_new(a, json_string(s));
}

static void add_reason(json_t *reasons, const struct entry *e)
{
    json_t *r;
    size_t i;
    char *s = e->upstream ? wc_xasprintf("%s (%s)", e->reason, e->upstream) : wc_xstrdup(e->reason);

    json_array_foreach(reasons, i, r)
    {
        if (!strcmp(json_string_value(r), s)) {
            free(s);
            return;
        }
    }
    json_array_append_new(reasons, take_string(s));
}

static void set_known(json_t *c, const json_t *reasons)
{
    char *joined = NULL;
    json_t *r;
    size_t i;

    json_object_set_new(c, "known", json_true());
    json_array_foreach(reasons, i, r)
    {
        char *next = joined ? wc_xasprintf("%s; %s", joined, json_string_value(r))
                            : wc_xstrdup(json_string_value(r));
        free(joined);
        joined = next;
    }
    json_object_set_new(c, "known_reason", json_string(joined ? joined : ""));
    free(joined);
}

/* Mark one case: known, or its new failures in c["baseline_new"] and in `fresh`. */
static void apply_case(const struct hn_baseline *b, json_t *c, struct seen *seen, json_t *fresh)
{
    const char *id = wc_json_str(c, "id");
    enum hn_verdict v = case_verdict(c);
    json_t *fails = json_object_get(c, "failures"), *f, *reasons, *news;
    bool covered = json_array_size(fails) > 0, listed = false;
    size_t i, k;

    if (!id)
        return;
    for (k = 0; k < b->n; k++) {
        if (strcmp(b->e[k].case_id, id))
            continue;
        listed = true;
        seen[k].ran = v != HN_SKIPPED && v != HN_UNIMPLEMENTED && v != HN_ERROR;
        seen[k].failed = v == HN_FAILED || v == HN_NON_STRICT;
    }
    if (v != HN_FAILED && v != HN_NON_STRICT)
        return;
    reasons = json_array();
    news = json_array();
    json_array_foreach(fails, i, f)
    {
        const char *req = wc_json_str(f, "requirement");
        char *key = failure_key(f);
        bool any = false;
        for (k = 0; k < b->n; k++) {
            if (strcmp(b->e[k].case_id, id))
                continue;
            if (req && !strcmp(req, b->e[k].requirement))
                add_unique(seen[k].req_keys, key);
            if (entry_covers(&b->e[k], &seen[k], req, key)) {
                add_reason(reasons, &b->e[k]);
                seen[k].used = any = true;
            }
        }
        if (!any && listed) {
            json_array_append_new(news,
                                  json_pack("{s:s?, s:s}", "requirement", req, "witness", key));
            json_array_append_new(fresh, json_pack("{s:s, s:s?, s:s, s:s?}", "case", id,
                                                   "requirement", req, "witness", key, "message",
                                                   wc_json_str(f, "message")));
        }
        covered &= any;
        free(key);
    }
    if (covered)
        set_known(c, reasons);
    if (json_array_size(news))
        json_object_set(c, "baseline_new", news);
    json_decref(news);
    json_decref(reasons);
}

/* Why entry e is stale, in words (stale_entries[].why). New string. */
static char *stale_why(const struct entry *e, const struct seen *s)
{
    char *keys, *why;
    size_t i;
    json_t *k;
    struct wc_buf b;

    if (!s->failed)
        return wc_xstrdup("the case passed: remove the entry");
    if (!json_array_size(s->req_keys))
        return wc_xasprintf(
            "the case failed, but not under %s: its failures are new and this entry "
            "excuses none of them",
            e->requirement);
    wc_buf_init(&b, 0);
    json_array_foreach(s->req_keys, i, k)
        wc_buf_addf(&b, "%s%s", i ? ", " : "", json_string_value(k));
    keys = wc_buf_detach(&b, NULL);
    why = wc_xasprintf("%s failed with another witness (%s): a new failure, not this one",
                       e->requirement, keys);
    free(keys);
    return why;
}

static void add_stale(json_t *stale, json_t *stale_entries, const struct entry *e,
                      const struct seen *s)
{
    size_t k;
    json_t *id;
    bool dup = false;

    json_array_append_new(stale_entries,
                          json_pack("{s:s, s:s, s:o, s:o}", "case", e->case_id, "requirement",
                                    e->requirement, "witness", string_list(e->witness, e->nwitness),
                                    "why", take_string(stale_why(e, s))));
    json_array_foreach(stale, k, id) dup |= !strcmp(json_string_value(id), e->case_id);
    if (!dup)
        json_array_append_new(stale, json_string(e->case_id));
}

/* An entry that matched with some of its witness keys only: the others are listed (not stale:
 * a known failure may show one of several witnesses from run to run). */
static void add_unused(json_t *unused, const struct entry *e, const struct seen *s)
{
    json_t *keys = json_array();
    size_t i;

    for (i = 0; i < e->nwitness; i++) {
        if (!s->key_seen[i])
            json_array_append_new(keys, json_string(e->witness[i]));
    }
    if (json_array_size(keys))
        json_array_append_new(unused, json_pack("{s:s, s:s, s:o}", "case", e->case_id,
                                                "requirement", e->requirement, "witness", keys));
    else
        json_decref(keys);
}

/* Did another entry of entry i's race (same case, same label) match? Then i is the outcome
 * the race did not take this time, not stale. */
static bool race_won(const struct hn_baseline *b, const struct seen *seen, size_t i)
{
    size_t k;

    if (!b->e[i].race)
        return false;
    for (k = 0; k < b->n; k++) {
        if (k != i && seen[k].used && b->e[k].race && !strcmp(b->e[k].race, b->e[i].race) &&
            !strcmp(b->e[k].case_id, b->e[i].case_id))
            return true;
    }
    return false;
}

void hn_baseline_apply(const struct hn_baseline *b, json_t *run)
{
    struct seen *seen = wc_xcalloc(b->n + 1, sizeof(*seen));
    json_t *cases = json_object_get(run, "cases"), *c, *info = json_object(), *stale = json_array();
    json_t *stale_entries = json_array(), *fresh = json_array(), *unused = json_array();
    size_t i, known = 0, not_run = 0;
    const char *target = wc_json_str(run, "target");

    for (i = 0; i < b->n; i++) {
        seen[i].req_keys = json_array();
        seen[i].key_seen = wc_xcalloc(b->e[i].nwitness, sizeof(bool));
    }
    json_array_foreach(cases, i, c)
    {
        json_object_set_new(c, "known", json_false());
        json_object_del(c, "baseline_new");
        apply_case(b, c, seen, fresh);
        known += json_is_true(json_object_get(c, "known"));
    }
    for (i = 0; i < b->n; i++) {
        if (!seen[i].ran && !seen[i].used)
            not_run++;
        else if (!seen[i].used && !race_won(b, seen, i))
            add_stale(stale, stale_entries, &b->e[i], &seen[i]);
        else
            add_unused(unused, &b->e[i], &seen[i]);
        json_decref(seen[i].req_keys);
        free(seen[i].key_seen);
    }
    if (b->target)
        json_object_set_new(info, "target", json_string(b->target));
    json_object_set_new(info, "known", json_integer((json_int_t)known));
    json_object_set_new(info, "stale", stale);
    json_object_set_new(info, "stale_entries", stale_entries);
    json_object_set_new(info, "new", fresh);
    if (json_array_size(unused))
        json_object_set_new(info, "unused_witness", unused);
    else
        json_decref(unused);
    json_object_set_new(info, "not_run", json_integer((json_int_t)not_run));
    if (b->target && target && strcmp(b->target, target))
        json_object_set_new(info, "warning",
                            take_string(wc_xasprintf("the baseline is for target '%s', the run is "
                                                     "against '%s'",
                                                     b->target, target)));
    json_object_set_new(run, "baseline", info);
    free(seen);
}

void hn_baseline_apply_case(const struct hn_baseline *b, json_t *c)
{
    struct seen *seen = wc_xcalloc(b->n + 1, sizeof(*seen));
    json_t *fresh = json_array();
    size_t i;

    for (i = 0; i < b->n; i++) {
        seen[i].req_keys = json_array();
        seen[i].key_seen = wc_xcalloc(b->e[i].nwitness, sizeof(bool));
    }
    json_object_set_new(c, "known", json_false());
    json_object_del(c, "baseline_new");
    apply_case(b, c, seen, fresh);
    for (i = 0; i < b->n; i++) {
        json_decref(seen[i].req_keys);
        free(seen[i].key_seen);
    }
    json_decref(fresh);
    free(seen);
}

/* Do two witness lists (arrays of record numbers) share a record? */
static bool witness_meet(const json_t *a, const json_t *b)
{
    size_t i, k;
    json_t *x, *y;

    json_array_foreach(a, i, x)
    {
        json_array_foreach(b, k, y)
        {
            if (json_is_integer(x) && json_is_integer(y) &&
                json_integer_value(x) == json_integer_value(y))
                return true;
        }
    }
    return false;
}

static bool is_kind(const json_t *f, const char *kind)
{
    const char *k = wc_json_str(f, "kind");
    return k && !strcmp(k, kind);
}

size_t hn_failures_charge(json_t *c)
{
    json_t *fails = json_object_get(c, "failures"), *f, *g, *charged = json_array();
    size_t i, k, n = 0;

    json_array_foreach(fails, i, f)
    {
        const char *req = wc_json_str(f, "requirement");
        json_object_del(f, "cause");
        if (is_kind(f, "step") || is_kind(f, "late")) {
            json_array_foreach(fails, k, g)
            {
                if (is_kind(g, "invariant") && wc_json_str(g, "requirement") &&
                    witness_meet(json_object_get(f, "witness"), json_object_get(g, "witness"))) {
                    req = wc_json_str(g, "requirement");
                    json_object_set_new(f, "cause", json_integer((json_int_t)k));
                    n++;
                    break;
                }
            }
        }
        if (req)
            json_object_set_new(f, "charged_to", json_string(req));
        else
            json_object_del(f, "charged_to");
    }
    /* the causes first: an invariant that caused a step failure, then the rest in order */
    json_array_foreach(fails, i, f)
    {
        json_t *cause = json_object_get(f, "cause");
        if (json_is_integer(cause)) {
            const char *r = wc_json_str(json_array_get(fails, (size_t)json_integer_value(cause)),
                                        "requirement");
            if (r)
                add_unique(charged, r);
        }
    }
    json_array_foreach(fails, i, f)
    {
        if (wc_json_str(f, "charged_to"))
            add_unique(charged, wc_json_str(f, "charged_to"));
    }
    json_object_set_new(c, "charged", charged);
    return n;
}
