/*
 * scenario.c: case loader and linter, requirement table, matrix expansion (see scenario.h).
 *
 * The linter walks the case once, in order, and tracks what a step may use: the clients that
 * are connected at that point, the variables bound so far (built-ins, sessions, captures), the
 * provider scripts and their barriers. Every problem becomes "file:line:col: message".
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/scenario.h"
#include "model/match.h"
#include "model/steps.h"
#include "script.h" /* mock-providers/: the script parser, on the include path */
#include "wc_err.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_yaml.h"
#include "wc_banned.h"

const char *const hn_capabilities[] = {
    "fan-out", "multi-user", "permissions", "persistent-sessions", "heartbeat", NULL};
const char *const hn_provider_names[] = {"claude", "cursor", "codex", "opencode", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++) {
        if (!strcmp(list[i], s))
            return true;
    }
    return false;
}

/* ---- requirement table ---------------------------------------------------------------------- */

const char *hn_level_name(enum hn_level l)
{
    switch (l) {
    case HN_LEVEL_MUST:
        return "MUST";
    case HN_LEVEL_SHOULD:
        return "SHOULD";
    case HN_LEVEL_MAY:
        return "MAY";
    }
    return "?";
}

/* A string field of requirement r, or NULL when absent; a present non-string (or, for
 * `untestable`, an empty string) is an error in *err. */
static const char *req_str(struct wc_yaml_doc *doc, const json_t *r, const char *key, char **err)
{
    const json_t *v = json_object_get(r, key);

    if (!v || *err || !json_is_object(r))
        return NULL;
    if (!strcmp(key, "untestable") && (!json_is_string(v) || !*json_string_value(v))) {
        *err = wc_yaml_msg(doc, r, key,
                           "'untestable' needs the reason no case can exercise the "
                           "requirement (a non-empty string)");
        return NULL;
    }
    if (!json_is_string(v)) {
        *err = wc_yaml_msg(doc, r, key, "'%s' must be a string", key);
        return NULL;
    }
    return json_string_value(v);
}

/* Fill q from entry r. NULL, or a new message. */
static char *req_from_entry(struct wc_yaml_doc *doc, const json_t *r, const struct hn_spec *s,
                            struct hn_req *q)
{
    char *err = NULL;
    const char *id = req_str(doc, r, "id", &err), *level = req_str(doc, r, "level", &err);
    const char *cap = req_str(doc, r, "capability", &err), *title = req_str(doc, r, "title", &err);
    const char *text = req_str(doc, r, "text", &err),
               *untestable = req_str(doc, r, "untestable", &err);
    int line, col;

    if (err)
        return err;
    if (!json_is_object(r) || !id || !level)
        return wc_yaml_msg(doc, r, NULL, "a requirement needs 'id' and 'level'");
    if (hn_spec_find(s, id))
        return wc_yaml_msg(doc, r, "id", "requirement '%s' is listed twice", id);
    if (!strcmp(level, "MUST"))
        q->level = HN_LEVEL_MUST;
    else if (!strcmp(level, "SHOULD"))
        q->level = HN_LEVEL_SHOULD;
    else if (!strcmp(level, "MAY"))
        q->level = HN_LEVEL_MAY;
    else
        return wc_yaml_msg(doc, r, "level", "unknown level '%s'", level);
    q->id = wc_xstrdup(id);
    q->capability = cap ? wc_xstrdup(cap) : NULL;
    q->title = title ? wc_xstrdup(title) : NULL;
    q->text = text ? wc_xstrdup(text) : NULL;
    q->untestable = untestable ? wc_xstrdup(untestable) : NULL;
    wc_yaml_pos(doc, r, &line, &col);
    q->where = wc_xasprintf("%s:%d:%d", wc_yaml_name(doc), line, col);
    return NULL;
}

static struct hn_spec *spec_from_doc(struct wc_yaml_doc *doc, char **err)
{
    json_t *root = wc_yaml_root(doc);
    json_t *list = json_object_get(root, "requirements");
    struct hn_spec *s;
    size_t i;
    json_t *r;

    if (!json_is_array(list)) {
        *err = wc_yaml_msg(doc, root, NULL, "'requirements' must be a list");
        return NULL;
    }
    s = wc_xcalloc(1, sizeof(*s));
    s->version = wc_xstrdup(json_is_string(json_object_get(root, "version"))
                                ? json_string_value(json_object_get(root, "version"))
                                : "chatgw/1.0");
    s->reqs = wc_xcalloc(json_array_size(list) + 1, sizeof(*s->reqs));
    json_array_foreach(list, i, r)
    {
        *err = req_from_entry(doc, r, s, &s->reqs[s->n]);
        if (*err) {
            /* the half-filled entry is counted so that it is freed */
            s->n++;
            hn_spec_free(s);
            return NULL;
        }
        s->n++;
    }
    return s;
}

struct hn_spec *hn_spec_load(const char *spec_dir, char **err)
{
    char *path = wc_xasprintf("%s/requirements.yaml", spec_dir);
    struct wc_yaml_doc *doc = wc_yaml_load_file(path, err);
    struct hn_spec *s = NULL;

    free(path);
    if (!doc)
        return NULL;
    s = spec_from_doc(doc, err);
    wc_yaml_free(doc);
    if (s)
        s->dir = wc_xstrdup(spec_dir);
    return s;
}

struct hn_spec *hn_spec_load_string(const char *name, const char *text, char **err)
{
    struct wc_yaml_doc *doc = wc_yaml_load_string(name, text, strlen(text), err);
    struct hn_spec *s;

    if (!doc)
        return NULL;
    s = spec_from_doc(doc, err);
    wc_yaml_free(doc);
    if (s)
        s->dir = wc_xstrdup(name);
    return s;
}

const struct hn_req *hn_spec_find(const struct hn_spec *s, const char *id)
{
    for (size_t i = 0; s && i < s->n; i++) {
        if (!strcmp(s->reqs[i].id, id))
            return &s->reqs[i];
    }
    return NULL;
}

void hn_spec_free(struct hn_spec *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->reqs[i].id);
        free(s->reqs[i].capability);
        free(s->reqs[i].untestable);
        free(s->reqs[i].title);
        free(s->reqs[i].text);
        free(s->reqs[i].where);
    }
    free(s->reqs);
    free(s->version);
    free(s->dir);
    free(s);
}

/* ---- small helpers ------------------------------------------------------------------------ */

bool hn_client_name_valid(const char *name)
{
    if (!name || name[0] != 'c' || !name[1])
        return false;
    for (const char *p = name + 1; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
    }
    return name[1] != '0';
}

static const char *const step_modifiers[] = {"requirement", "within_ms", NULL};

const char *hn_step_name(const json_t *step)
{
    const char *k;
    json_t *v;

    if (!json_is_object(step))
        return NULL;
    json_object_foreach((json_t *)step, k, v)
    {
        if (!in_list(step_modifiers, k))
            return k;
    }
    return NULL;
}

void hn_caselist_add(struct hn_caselist *l, struct hn_case *c)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = wc_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = c;
}

void hn_case_free(struct hn_case *c)
{
    if (!c)
        return;
    free(c->id);
    free(c->base_id);
    free(c->file);
    json_decref(c->root);
    json_decref(c->matrix);
    json_decref(c->step_lines);
    free(c);
}

void hn_caselist_release(struct hn_caselist *l)
{
    for (size_t i = 0; i < l->n; i++)
        hn_case_free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* ---- the linter --------------------------------------------------------------------------- */

struct lint {
    const struct wc_yaml_doc *doc;
    json_t *errs;
    const struct hn_spec *spec;
    json_t *root;
    json_t *known;         /* set: variable names bound so far */
    json_t *scripts;       /* label -> array of barrier names (scripts that parsed) */
    json_t *script_labels; /* set of every declared script label */
    json_t *sessions;      /* set of session labels */
    json_t *connected;     /* set of connected clients */
    json_t *paused;        /* set of paused clients (pause/resume) */
    json_t *matrix;        /* the matrix node or NULL */
    bool own_target;
    int naccept; /* server role: connections accepted so far (s1, s2, ...) */
    int nerr;
};

/* The spec's wire dialect facts, chatgw/1's when it has none. */
static const struct hn_wire *spec_wire(const struct hn_spec *s)
{
    return s && s->wire ? s->wire : &hn_wire_chatgw1;
}

static bool singleton(const json_t *v)
{
    return json_is_true(v) || json_is_false(v) || json_is_null(v);
}

/* Report at node when it has a position, else at parent's key, else at parent. */
/* Append "file:line:col: msg" (or "file: msg" when !known), msg made one line. */
static void lerr_add(struct lint *l, bool known, int line, int col, const char *msg)
{
    char *one = wc_yaml_one_line(msg);

    if (known)
        json_array_append_new(l->errs,
                              json_sprintf("%s:%d:%d: %s", wc_yaml_name(l->doc), line, col, one));
    else
        json_array_append_new(l->errs, json_sprintf("%s: %s", wc_yaml_name(l->doc), one));
    l->nerr++;
    free(one);
}

static void lerr(struct lint *l, const json_t *parent, const char *key, const json_t *node,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void lerr(struct lint *l, const json_t *parent, const char *key, const json_t *node,
                 const char *fmt, ...)
{
    va_list ap;
    char *msg;
    int line = 0, col = 0;
    bool known = false;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = wc_xstrdup(fmt);
    va_end(ap);
    if (node && !singleton(node))
        known = wc_yaml_pos(l->doc, node, &line, &col);
    if (!known && parent && key)
        known = wc_yaml_key_pos(l->doc, parent, key, &line, &col);
    if (!known && parent)
        known = wc_yaml_pos(l->doc, parent, &line, &col);
    lerr_add(l, known, line, col, msg);
    free(msg);
}

/* Error at item i of list arr (a null or empty item included; else the list's position). */
static void lerr_item(struct lint *l, const json_t *arr, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void lerr_item(struct lint *l, const json_t *arr, size_t i, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    int line = 0, col = 0;
    bool known;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = wc_xstrdup(fmt);
    va_end(ap);
    known = wc_yaml_index_pos(l->doc, arr, i, &line, &col) || wc_yaml_pos(l->doc, arr, &line, &col);
    lerr_add(l, known, line, col, msg);
    free(msg);
}

/* Error at a key (for unknown keys). */
static void kerr(struct lint *l, const json_t *obj, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void kerr(struct lint *l, const json_t *obj, const char *key, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = wc_xstrdup(fmt);
    va_end(ap);
    lerr(l, obj, key, NULL, "%s", msg);
    free(msg);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "a mapping";
    case JSON_ARRAY:
        return "a list";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* Unknown keys of obj (not in allowed, NULL-terminated). */
static void check_keys(struct lint *l, const json_t *obj, const char *const *allowed,
                       const char *what)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)obj, k, v)
    {
        if (!in_list(allowed, k))
            kerr(l, obj, k, "unknown key '%s' in %s", k, what);
    }
}

static const char *get_str(struct lint *l, const json_t *obj, const char *key, bool required,
                           const char *what)
{
    json_t *v = json_object_get(obj, key);

    if (!v) {
        if (required)
            lerr(l, obj, NULL, obj, "%s: missing required key '%s'", what, key);
        return NULL;
    }
    if (!json_is_string(v)) {
        lerr(l, obj, key, v, "'%s' must be a string, not %s", key, type_name(v));
        return NULL;
    }
    return json_string_value(v);
}

static bool get_bool(struct lint *l, const json_t *obj, const char *key, bool dflt)
{
    json_t *v = json_object_get(obj, key);

    if (!v)
        return dflt;
    if (!json_is_boolean(v)) {
        lerr(l, obj, key, v, "'%s' must be true or false, not %s", key, type_name(v));
        return dflt;
    }
    return json_is_true(v);
}

static bool get_int(struct lint *l, const json_t *obj, const char *key, int64_t min, int64_t max,
                    int64_t *out)
{
    json_t *v = json_object_get(obj, key);

    if (!v)
        return false;
    if (!json_is_integer(v)) {
        lerr(l, obj, key, v, "'%s' must be an integer, not %s", key, type_name(v));
        return false;
    }
    if (json_integer_value(v) < min || json_integer_value(v) > max) {
        lerr(l, obj, key, v, "'%s' must be between %lld and %lld", key, (long long)min,
             (long long)max);
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

/* A list of strings, each optionally from `allowed`. Returns the list or NULL. */
static json_t *get_str_list(struct lint *l, const json_t *obj, const char *key,
                            const char *const *allowed, bool nonempty)
{
    json_t *v = json_object_get(obj, key);
    size_t i;
    json_t *e;

    if (!v)
        return NULL;
    if (!json_is_array(v)) {
        lerr(l, obj, key, v, "'%s' must be a list, not %s", key, type_name(v));
        return NULL;
    }
    if (nonempty && json_array_size(v) == 0)
        lerr(l, obj, key, v, "'%s' must not be empty", key);
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e)) {
            lerr_item(l, v, i, "'%s' entries must be strings, not %s", key, type_name(e));
            continue;
        }
        if (allowed && !strstr(json_string_value(e), "${") &&
            !in_list(allowed, json_string_value(e)))
            lerr(l, obj, key, e, "unknown %s '%s'", key, json_string_value(e));
    }
    return v;
}

/* ---- variables --------------------------------------------------------------------------- */

static bool var_known(struct lint *l, const char *name)
{
    /* the server role's own (exec/run_server.c): what the client's argv was given */
    static const char *const served[] = {"server_url", "client_ctl", "case_token", "time_scale",
                                         "token",      "session_id", NULL};
    if (json_object_get(l->known, name))
        return true;
    if (spec_wire(l->spec)->server_role && in_list(served, name))
        return true;
    if (!strncmp(name, "script.", 7))
        return json_object_get(l->script_labels, name + 7) != NULL;
    if (!strncmp(name, "native.", 7))
        return json_object_get(l->script_labels, name + 7) != NULL;
    for (size_t n = strlen(name); n > 1; n--) {
        if (name[n - 1] == '.') {
            char *head = wc_xstrndup(name, n - 1);
            bool k = json_object_get(l->known, head) != NULL;
            free(head);
            if (k)
                return true;
        }
    }
    return false;
}

static void var_unknown(struct lint *l, const json_t *parent, const char *key, const json_t *node,
                        const char *name)
{
    if (!strncmp(name, "script.", 7))
        lerr(l, parent, key, node, "unknown provider script '%s'", name + 7);
    else if (!strncmp(name, "native.", 7))
        lerr(l, parent, key, node, "unknown provider script '%s' in ${native.%s}", name + 7,
             name + 7);
    else
        lerr(l, parent, key, node, "unbound variable '%s'", name);
}

/* Check the ${...} inside a string. */
static void check_interp(struct lint *l, const json_t *parent, const char *key, const json_t *node)
{
    const char *s = json_string_value(node);
    const char *p = s;

    while ((p = strstr(p, "${")) != NULL) {
        const char *close = strchr(p + 2, '}');
        if (!close) {
            lerr(l, parent, key, node, "unterminated '${' in \"%s\"", s);
            return;
        }
        size_t n = (size_t)(close - p - 2);
        char *name = wc_xstrndup(p + 2, n);
        if (!hn_var_name_valid(name, n))
            lerr(l, parent, key, node, "bad variable name '${%s}'", name);
        else if (!var_known(l, name))
            var_unknown(l, parent, key, node, name);
        free(name);
        p = close + 1;
    }
}

/* {$repeat: {count: N, text: T}} (hn_expand): the only key, a count and a text. */
static void check_repeat(struct lint *l, const json_t *obj)
{
    static const char *const keys[] = {"count", "text", NULL};
    json_t *r = json_object_get(obj, "$repeat");
    int64_t n;

    if (json_object_size(obj) != 1) {
        kerr(l, obj, "$repeat", "'$repeat' must be the only key of its mapping");
        return;
    }
    if (!json_is_object(r)) {
        lerr(l, obj, "$repeat", r, "'$repeat' takes {count: N, text: \"...\"}");
        return;
    }
    check_keys(l, r, keys, "$repeat");
    if (!json_object_get(r, "count"))
        lerr(l, r, NULL, r, "$repeat: missing required key 'count'");
    else if (get_int(l, r, "count", 0, HN_REPEAT_MAX, &n) &&
             json_is_string(json_object_get(r, "text")) &&
             (uint64_t)n * strlen(json_string_value(json_object_get(r, "text"))) > HN_REPEAT_MAX)
        lerr(l, r, "count", json_object_get(r, "count"), "$repeat: more than %u bytes",
             HN_REPEAT_MAX);
    if (!json_object_get(r, "text"))
        lerr(l, r, NULL, r, "$repeat: missing required key 'text'");
    else
        get_str(l, r, "text", false, "$repeat");
}

/* The template operators inside a provider script ($repeat); variables are checked on use. */
static void check_ops(struct lint *l, const json_t *v)
{
    const char *k;
    json_t *m;
    size_t i;

    if (json_is_object(v) && json_object_get(v, "$repeat")) {
        check_repeat(l, v);
        return;
    }
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, m) check_ops(l, m);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) check_ops(l, m);
    }
}

/* A template (send frame, http body, paths): every variable must be bound. */
static void check_template(struct lint *l, const json_t *parent, const char *key, const json_t *v)
{
    const char *name;

    if (json_is_object(v) && json_object_get(v, "$repeat")) {
        check_repeat(l, v);
        check_template(l, json_object_get(v, "$repeat"), "text",
                       json_object_get(json_object_get(v, "$repeat"), "text"));
        return;
    }
    if (json_is_string(v)) {
        if (hn_var_ref(json_string_value(v), &name)) {
            if (!var_known(l, name))
                var_unknown(l, parent, key, v, name);
        } else {
            check_interp(l, parent, key, v);
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m) check_template(l, v, k, m);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) check_template(l, v, NULL, m);
    }
}

/* A pattern: wildcards must be known; unbound $names become captures (bound afterwards). */
static void check_pattern_rec(struct lint *l, const json_t *parent, const char *key,
                              const json_t *v, json_t *caps)
{
    const char *name;

    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (hn_wildcard_like(s) && !hn_wildcard_known(s))
            lerr(l, parent, key, v, "unknown wildcard '%s'", s);
        else if (hn_var_ref(s, &name)) {
            if (strcmp(name, "_") && !var_known(l, name)) {
                if (!strncmp(name, "script.", 7) || !strncmp(name, "native.", 7))
                    var_unknown(l, parent, key, v, name);
                else
                    json_object_set_new(caps, name, json_true());
            }
        } else {
            check_interp(l, parent, key, v);
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            if (k[0] == '$' && strcmp(k, "$exact") && strcmp(k, "$each") && strcmp(k, "$distinct"))
                kerr(l, v, k, "unknown pattern operator '%s'", k);
            else if (!strcmp(k, "$each") && json_object_size(v) != 1)
                kerr(l, v, k, "'$each' must be the only key");
            else if (!strcmp(k, "$distinct") && (json_object_size(v) != 1 || !json_is_string(m)))
                kerr(l, v, k, "'$distinct' must be the only key and name a key");
            else if (!strcmp(k, "$exact") && (json_object_size(v) != 1 || !json_is_object(m)))
                kerr(l, v, k, "'$exact' must be the only key and hold a mapping");
            check_pattern_rec(l, v, k, m, caps);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) check_pattern_rec(l, v, NULL, m, caps);
    }
}

static void check_pattern(struct lint *l, const json_t *parent, const char *key, const json_t *v)
{
    json_t *caps = json_object();
    check_pattern_rec(l, parent, key, v, caps);
    json_object_update(l->known, caps);
    json_decref(caps);
}

/* ---- clients ------------------------------------------------------------------------------- */

/* sN: a connection of the server role, named in accept order. */
static bool server_name_valid(const char *name)
{
    if (!name || name[0] != 's' || !name[1] || name[1] == '0')
        return false;
    for (const char *p = name + 1; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
    }
    return true;
}

static bool use_client(struct lint *l, const json_t *parent, const char *key, const json_t *node,
                       const char *name)
{
    if (server_name_valid(name)) {
        if (!json_object_get(l->connected, name)) {
            lerr(l, parent, key, node, "connection '%s' is used before an accept made it", name);
            return false;
        }
        return true;
    }
    if (!hn_client_name_valid(name)) {
        lerr(l, parent, key, node, "'%s' is not a client name (c1, c2, ...)", name);
        return false;
    }
    if (!json_object_get(l->connected, name)) {
        lerr(l, parent, key, node, "client '%s' is used before it connects", name);
        return false;
    }
    return true;
}

/* A step that waits on a client (reads its socket) cannot use a paused one. */
static void not_paused(struct lint *l, const json_t *parent, const char *key, const json_t *node,
                       const char *name)
{
    if (name && json_object_get(l->paused, name))
        lerr(l, parent, key, node, "client '%s' is paused: 'resume: %s' before waiting on it", name,
             name);
}

/* The client of a step value that is either "cN" or {client: cN, ...}. */
static const char *client_of(struct lint *l, const json_t *step, const char *sname, bool use)
{
    json_t *v = json_object_get(step, sname);
    const char *c;

    if (json_is_string(v)) {
        c = json_string_value(v);
        if (use && !use_client(l, step, sname, v, c))
            return NULL;
        if (!use && !hn_client_name_valid(c) && !server_name_valid(c)) {
            lerr(l, step, sname, v, "'%s' is not a client name (c1, c2, ...)", c);
            return NULL;
        }
        return c;
    }
    if (!json_is_object(v)) {
        lerr(l, step, sname, v, "'%s' takes a client name or a mapping, not %s", sname,
             type_name(v));
        return NULL;
    }
    c = get_str(l, v, "client", true, sname);
    if (!c)
        return NULL;
    if (use && !use_client(l, v, "client", json_object_get(v, "client"), c))
        return NULL;
    if (!use && !hn_client_name_valid(c) && !server_name_valid(c)) {
        lerr(l, v, "client", json_object_get(v, "client"),
             "'%s' is not a client name (c1, c2, ...)", c);
        return NULL;
    }
    return c;
}

/* ---- steps --------------------------------------------------------------------------------- */

static void lint_steps(struct lint *l, const json_t *parent, bool in_alt);

static bool is_hex(const char *s)
{
    size_t n = strlen(s);
    if (n % 2)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/*
 * A `token` (connect, http) or `header_token` (connect with auth: both): none, bad, a literal,
 * or {of: USER, cut: N} / {of: USER, append: TEXT} (a prefix of USER's token, or USER's token
 * with text appended).
 */
static void lint_token(struct lint *l, const json_t *obj, const char *key)
{
    static const char *const keys[] = {"of", "cut", "append", NULL};
    json_t *v = json_object_get(obj, key);
    int64_t cut;

    if (!v)
        return;
    if (json_is_string(v)) {
        check_template(l, obj, key, v);
        return;
    }
    if (!json_is_object(v)) {
        lerr(l, obj, key, v,
             "'%s' takes none, bad, a token, or {of: USER, cut: N | append: "
             "TEXT}, not %s",
             key, type_name(v));
        return;
    }
    check_keys(l, v, keys, key);
    if (get_str(l, v, "of", true, key))
        check_template(l, v, "of", json_object_get(v, "of"));
    get_int(l, v, "cut", 1, 4096, &cut);
    get_str(l, v, "append", false, key);
    if (!!json_object_get(v, "cut") + !!json_object_get(v, "append") != 1)
        lerr(l, v, NULL, v, "%s: give exactly one of 'cut' and 'append'", key);
}

/* connect's `early`: a non-empty list of frames (mappings, templates allowed). */
static void lint_early(struct lint *l, const json_t *v)
{
    const json_t *e = json_object_get(v, "early");
    size_t i;
    json_t *f;

    if (!e)
        return;
    if (!json_is_array(e) || !json_array_size(e)) {
        lerr(l, v, "early", e, "'early' takes a non-empty list of frames (mappings)");
        return;
    }
    json_array_foreach(e, i, f)
    {
        if (!json_is_object(f)) {
            lerr(l, v, "early", f, "'early': every frame must be a mapping");
            return;
        }
    }
    check_template(l, v, "early", e);
}

static void lint_step_connect(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    json_t *v = json_object_get(step, "connect");
    const char *c = client_of(l, step, "connect", false);
    int64_t status = 0;
    bool expect_status = false;

    if (json_is_object(v)) {
        static const char *const keys[] = {"client",      "user",          "token", "auth",
                                           "path",        "expect_status", "pong",  "header_token",
                                           "header_user", "early",         NULL};
        const char *auth;
        check_keys(l, v, keys, "connect");
        if (get_str(l, v, "user", false, "connect"))
            check_template(l, v, "user", json_object_get(v, "user"));
        lint_token(l, v, "token");
        if (get_str(l, v, "path", false, "connect"))
            check_template(l, v, "path", json_object_get(v, "path"));
        auth = get_str(l, v, "auth", false, "connect");
        if (auth && strcmp(auth, "query") && strcmp(auth, "header") && strcmp(auth, "both"))
            lerr(l, v, "auth", json_object_get(v, "auth"),
                 "'auth' must be query, header or both, not '%s'", auth);
        if ((json_object_get(v, "header_token") || json_object_get(v, "header_user")) &&
            (!auth || strcmp(auth, "both")))
            kerr(l, v, json_object_get(v, "header_token") ? "header_token" : "header_user",
                 "'header_token' and 'header_user' need 'auth: both' (the query carries 'token')");
        if (json_object_get(v, "header_token") && json_object_get(v, "header_user"))
            kerr(l, v, "header_user", "give 'header_token' or 'header_user', not both");
        lint_token(l, v, "header_token");
        if (get_str(l, v, "header_user", false, "connect"))
            check_template(l, v, "header_user", json_object_get(v, "header_user"));
        expect_status = get_int(l, v, "expect_status", 100, 599, &status);
        if (json_is_string(json_object_get(v, "pong"))) {
            if (strcmp(json_string_value(json_object_get(v, "pong")), "late"))
                lerr(l, v, "pong", json_object_get(v, "pong"),
                     "'pong' must be true, false or late, not '%s'",
                     json_string_value(json_object_get(v, "pong")));
        } else {
            get_bool(l, v, "pong", true);
        }
        lint_early(l, v);
    }
    if (!c)
        return;
    if (json_object_get(l->connected, c)) {
        lerr(l, step, "connect", v, "client '%s' is already connected", c);
        return;
    }
    if (!expect_status || status == 101)
        json_object_set_new(l->connected, c, json_true());
}

static void lint_step_disconnect(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    json_t *v = json_object_get(step, "disconnect");
    const char *c = client_of(l, step, "disconnect", true);
    int64_t code;

    if (json_is_object(v)) {
        static const char *const keys[] = {"client", "code", "reason", "drop", NULL};
        check_keys(l, v, keys, "disconnect");
        get_int(l, v, "code", 1000, 4999, &code);
        get_str(l, v, "reason", false, "disconnect");
        if (get_bool(l, v, "drop", false) &&
            (json_object_get(v, "code") || json_object_get(v, "reason")))
            kerr(l, v, "drop", "'drop' sends no close frame: it cannot have a code or reason");
    }
    if (c) {
        json_object_del(l->connected, c);
        json_object_del(l->paused, c);
    }
}

static void lint_step_send(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    json_t *v = json_object_get(step, "send");
    const char *k;
    json_t *m;

    if (json_is_object(v) && json_object_get(v, "to")) { /* the server role's form */
        static const char *const keys[] = {"to", "frame", NULL};
        check_keys(l, v, keys, "send");
        const char *to = get_str(l, v, "to", true, "send");
        if (to && !server_name_valid(to))
            kerr(l, v, "to", "'to' names a server-role connection (s1, s2, ...), not '%s'", to);
        else if (to)
            use_client(l, v, "to", json_object_get(v, "to"), to);
        if (!json_object_get(v, "frame"))
            lerr(l, v, NULL, v, "send: missing required key 'frame'");
        else
            check_template(l, v, "frame", json_object_get(v, "frame"));
        return;
    }
    if (!json_is_object(v) || json_object_size(v) == 0) {
        lerr(l, step, "send", v, "'send' takes a mapping of client to frame ({c1: {...}})");
        return;
    }
    json_object_foreach(v, k, m)
    {
        use_client(l, v, k, NULL, k);
        check_template(l, v, k, m);
    }
}

static void lint_step_send_raw(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    static const char *const keys[] = {"client", "text", "hex", "binary", "repeat", "file", NULL};
    json_t *v = json_object_get(step, "send_raw");
    int payloads = 0;
    const char *hex;

    if (!json_is_object(v)) {
        lerr(l, step, "send_raw", v, "'send_raw' takes a mapping, not %s", type_name(v));
        return;
    }
    client_of(l, step, "send_raw", true);
    check_keys(l, v, keys, "send_raw");
    get_bool(l, v, "binary", false);
    if (json_object_get(v, "text")) {
        payloads++;
        if (get_str(l, v, "text", false, "send_raw"))
            check_interp(l, v, "text", json_object_get(v, "text"));
    }
    if (json_object_get(v, "hex")) {
        payloads++;
        hex = get_str(l, v, "hex", false, "send_raw");
        if (hex && !is_hex(hex))
            lerr(l, v, "hex", json_object_get(v, "hex"),
                 "'hex' must be an even number of hex digits");
    }
    if (json_object_get(v, "file")) {
        payloads++;
        get_str(l, v, "file", false, "send_raw");
    }
    if (json_object_get(v, "repeat")) {
        static const char *const rkeys[] = {"count", "text", "hex", NULL};
        json_t *r = json_object_get(v, "repeat");
        int64_t count;
        payloads++;
        if (!json_is_object(r)) {
            lerr(l, v, "repeat", r, "'repeat' takes {count: N, text: ...} or {count: N, hex: ...}");
        } else {
            check_keys(l, r, rkeys, "repeat");
            if (!json_object_get(r, "count"))
                lerr(l, r, NULL, r, "repeat: missing required key 'count'");
            else
                get_int(l, r, "count", 1, 64 * 1024 * 1024, &count);
            if (!!json_object_get(r, "text") + !!json_object_get(r, "hex") != 1)
                lerr(l, r, NULL, r, "repeat: give exactly one of 'text' and 'hex'");
            get_str(l, r, "text", false, "repeat");
            hex = get_str(l, r, "hex", false, "repeat");
            if (hex && !is_hex(hex))
                lerr(l, r, "hex", json_object_get(r, "hex"),
                     "'hex' must be an even number of hex digits");
        }
    }
    if (payloads != 1)
        lerr(l, step, "send_raw", v,
             "send_raw: give exactly one of 'text', 'hex', 'repeat', 'file'");
}

static void lint_step_expect(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    json_t *v = json_object_get(step, "expect");
    const char *k;
    json_t *m;

    if (json_is_object(v) && json_object_get(v, "from")) { /* the server role's form */
        static const char *const keys[] = {"from", "frame", NULL};
        check_keys(l, v, keys, "expect");
        const char *from = get_str(l, v, "from", true, "expect");
        json_t *f = json_object_get(v, "frame");
        if (from && !server_name_valid(from))
            kerr(l, v, "from", "'from' names a server-role connection (s1, s2, ...), not '%s'",
                 from);
        else if (from)
            use_client(l, v, "from", json_object_get(v, "from"), from);
        if (!f)
            lerr(l, v, NULL, v, "expect: missing required key 'frame'");
        else if (!(json_is_string(f) && !strcmp(json_string_value(f), "none")))
            check_pattern(l, v, "frame", f);
        return;
    }
    if (!json_is_object(v) || json_object_size(v) == 0) {
        lerr(l, step, "expect", v, "'expect' takes a mapping of client to pattern ({c1: {...}})");
        return;
    }
    json_object_foreach(v, k, m)
    {
        if (use_client(l, v, k, NULL, k))
            not_paused(l, v, k, NULL, k);
        if (json_is_string(m) && !strcmp(json_string_value(m), "none"))
            continue;
        check_pattern(l, v, k, m);
    }
}

static void lint_step_expect_close(struct lint *l, const json_t *step, const char *name,
                                   bool in_alt)
{
    static const char *const keys[] = {"client", "code", "codes", NULL};
    json_t *v = json_object_get(step, "expect_close");
    const char *c = client_of(l, step, "expect_close", true);
    int64_t code;

    not_paused(l, step, "expect_close", json_object_get(step, "expect_close"), c);
    if (json_is_object(v)) {
        json_t *codes = json_object_get(v, "codes");
        check_keys(l, v, keys, "expect_close");
        get_int(l, v, "code", 1000, 4999, &code);
        if (codes) {
            size_t i;
            json_t *e;
            if (json_object_get(v, "code"))
                kerr(l, v, "codes", "give 'code' or 'codes', not both");
            if (!json_is_array(codes) || json_array_size(codes) == 0)
                lerr(l, v, "codes", codes, "'codes' must be a non-empty list of close codes");
            else
                json_array_foreach(codes, i, e)
                {
                    if (!json_is_integer(e) || json_integer_value(e) < 1000 ||
                        json_integer_value(e) > 4999)
                        lerr(l, v, "codes", e, "close codes are integers from 1000 to 4999");
                }
        }
    }
    if (c)
        json_object_del(l->connected, c);
}

static void lint_step_group(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    json_t *v = json_object_get(step, "group");
    json_t *names = json_object();
    json_t *caps = json_object();
    size_t i;
    json_t *item;

    if (!json_is_array(v) || json_array_size(v) == 0) {
        lerr(l, step, "group", v, "'group' takes a non-empty list of expectations");
        json_decref(names);
        json_decref(caps);
        return;
    }
    json_array_foreach(v, i, item)
    {
        const char *as;
        if (!json_is_object(item)) {
            lerr(l, v, NULL, item, "a group item is a mapping {cN: pattern, as: name}");
            continue;
        }
        as = get_str(l, item, "as", false, "group item");
        if (as) {
            if (json_object_get(names, as))
                lerr(l, item, "as", json_object_get(item, "as"), "duplicate group name '%s'", as);
            json_object_set_new(names, as, json_true());
        }
    }
    json_array_foreach(v, i, item)
    {
        const char *k;
        json_t *m;
        int clients = 0;
        if (!json_is_object(item))
            continue;
        json_object_foreach(item, k, m)
        {
            if (!strcmp(k, "as"))
                continue;
            if (!strcmp(k, "before") || !strcmp(k, "after")) {
                size_t j;
                json_t *e;
                if (!json_is_array(m)) {
                    lerr(l, item, k, m, "'%s' must be a list of group names", k);
                    continue;
                }
                json_array_foreach(m, j, e)
                {
                    if (!json_is_string(e) || !json_object_get(names, json_string_value(e)))
                        lerr(l, item, k, e, "'%s' names an unknown group item%s%s", k,
                             json_is_string(e) ? " " : "",
                             json_is_string(e) ? json_string_value(e) : "");
                    else if (json_equal(e, json_object_get(item, "as")))
                        lerr(l, item, k, e, "a group item cannot be %s itself", k);
                }
                continue;
            }
            if (!hn_client_name_valid(k)) {
                kerr(l, item, k, "unknown key '%s' in group item", k);
                continue;
            }
            clients++;
            if (use_client(l, item, k, NULL, k))
                not_paused(l, item, k, NULL, k);
            json_t *save = l->known;
            l->known = json_deep_copy(save);
            check_pattern_rec(l, item, k, m, caps);
            json_decref(l->known);
            l->known = save;
        }
        if (clients != 1)
            lerr(l, v, NULL, item, "a group item names exactly one client");
    }
    json_object_update(l->known, caps);
    json_decref(caps);
    json_decref(names);
}

/* reached/release: {label: barrier}. */
static void lint_barrier_step(struct lint *l, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, sname);
    const char *k;
    json_t *m;

    if (!json_is_object(v) || json_object_size(v) == 0) {
        lerr(l, step, sname, v, "'%s' takes a mapping of script to barrier ({s1: hold})", sname);
        return;
    }
    json_object_foreach(v, k, m)
    {
        json_t *barriers = json_object_get(l->scripts, k);
        if (!json_object_get(l->script_labels, k)) {
            kerr(l, v, k, "unknown provider script '%s'", k);
            continue;
        }
        if (!json_is_string(m)) {
            lerr(l, v, k, m, "the barrier name must be a string, not %s", type_name(m));
            continue;
        }
        if (barriers) {
            bool found = false;
            size_t i;
            json_t *b;
            json_array_foreach(barriers, i, b) found = found || json_equal(b, m);
            if (!found)
                lerr(l, v, k, m, "script '%s' has no barrier '%s'", k, json_string_value(m));
        }
    }
}

static void lint_step_provider_done(struct lint *l, const json_t *step, const char *name,
                                    bool in_alt)
{
    static const char *const hows[] = {"completed", "crashed", "aborted", "error", NULL};
    json_t *v = json_object_get(step, "provider_done");
    const char *k;
    json_t *m;

    if (json_is_string(v)) {
        if (!json_object_get(l->script_labels, json_string_value(v)))
            lerr(l, step, "provider_done", v, "unknown provider script '%s'", json_string_value(v));
        return;
    }
    if (!json_is_object(v) || json_object_size(v) == 0) {
        lerr(l, step, "provider_done", v, "'provider_done' takes a script name or {s1: how}");
        return;
    }
    json_object_foreach(v, k, m)
    {
        if (!json_object_get(l->script_labels, k))
            kerr(l, v, k, "unknown provider script '%s'", k);
        else if (!json_is_string(m) || !in_list(hows, json_string_value(m)))
            lerr(l, v, k, m, "'how' must be one of completed, crashed, aborted, error");
    }
}

static void lint_provider_pattern(struct lint *l, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, sname);
    const char *k;
    json_t *m;

    if (!json_is_object(v) || json_object_size(v) == 0) {
        lerr(l, step, sname, v, "'%s' takes a mapping of script to pattern ({s1: {...}})", sname);
        return;
    }
    json_object_foreach(v, k, m)
    {
        if (!json_object_get(l->script_labels, k)) {
            kerr(l, v, k, "unknown provider script '%s'", k);
            continue;
        }
        if (!json_is_object(m)) {
            lerr(l, v, k, m, "the %s pattern must be a mapping, not %s", sname, type_name(m));
            continue;
        }
        check_pattern(l, v, k, m);
    }
}

static void lint_step_quiet(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    json_t *v = json_object_get(step, "quiet");
    size_t i;
    json_t *e;

    if (json_is_string(v)) {
        if (use_client(l, step, "quiet", v, json_string_value(v)))
            not_paused(l, step, "quiet", v, json_string_value(v));
        return;
    }
    if (!json_is_array(v) || json_array_size(v) == 0) {
        lerr(l, step, "quiet", v, "'quiet' takes a client or a list of clients");
        return;
    }
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            lerr(l, v, NULL, e, "'quiet' takes client names");
        else if (use_client(l, v, NULL, e, json_string_value(e)))
            not_paused(l, v, NULL, e, json_string_value(e));
    }
}

/* expect_ping: cN or {client: cN}. */
static void lint_step_expect_ping(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    static const char *const keys[] = {"client", NULL};
    json_t *v = json_object_get(step, "expect_ping");
    const char *c = client_of(l, step, "expect_ping", true);

    if (json_is_object(v))
        check_keys(l, v, keys, "expect_ping");
    if (c)
        not_paused(l, step, "expect_ping", v, c);
}

/* pause / resume: cN or {client: cN}. */
static void lint_pause(struct lint *l, const json_t *step, const char *sname)
{
    static const char *const keys[] = {"client", NULL};
    json_t *v = json_object_get(step, sname);
    const char *c = client_of(l, step, sname, true);
    bool paused;

    if (json_is_object(v))
        check_keys(l, v, keys, sname);
    if (!c)
        return;
    paused = json_object_get(l->paused, c) != NULL;
    if (!strcmp(sname, "pause")) {
        if (paused)
            lerr(l, step, sname, v, "client '%s' is already paused", c);
        json_object_set_new(l->paused, c, json_true());
    } else {
        if (!paused)
            lerr(l, step, sname, v, "client '%s' is not paused", c);
        json_object_del(l->paused, c);
    }
}

/* restart: target, or {target: true, disable_provider: NAME | [NAME, ...], signal: TERM|KILL}. */
static void lint_step_restart(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    static const char *const keys[] = {"target", "disable_provider", "signal", NULL};
    static const char *const signals[] = {"TERM", "KILL", NULL};
    json_t *v = json_object_get(step, "restart");
    json_t *d;
    const char *sig;

    if (json_is_object(v)) {
        check_keys(l, v, keys, "restart");
        sig = get_str(l, v, "signal", false, "restart");
        if (sig && !in_list(signals, sig))
            lerr(l, v, "signal", json_object_get(v, "signal"),
                 "'signal' is TERM (a clean stop) or KILL (a crash), not '%s'", sig);
        if (!json_is_true(json_object_get(v, "target")))
            lerr(l, v, "target", json_object_get(v, "target"),
                 "restart: 'target: true' is required (the case's own target is restarted)");
        d = json_object_get(v, "disable_provider");
        if (d && !json_is_string(d) && !(json_is_array(d) && json_array_size(d) > 0)) {
            lerr(l, v, "disable_provider", d,
                 "'disable_provider' takes a provider name or a non-empty list of them");
        } else if (d) {
            size_t i, n = json_is_array(d) ? json_array_size(d) : 1;
            for (i = 0; i < n; i++) {
                json_t *e = json_is_array(d) ? json_array_get(d, i) : d;
                if (!json_is_string(e))
                    lerr(l, v, "disable_provider", e, "provider names are strings, not %s",
                         type_name(e));
                else if (strstr(json_string_value(e), "${"))
                    check_interp(l, v, "disable_provider", e);
                else if (!in_list(hn_provider_names, json_string_value(e)))
                    lerr(l, v, "disable_provider", e, "unknown provider '%s'",
                         json_string_value(e));
            }
        }
    } else if (!json_is_string(v) || strcmp(json_string_value(v), "target")) {
        lerr(l, step, "restart", v,
             "'restart' takes the word 'target' or {target: true, disable_provider: NAME, "
             "signal: KILL}");
        return;
    }
    if (!l->own_target)
        lerr(l, step, "restart", v, "'restart' needs 'own_target: true'");
}

static void lint_step_http(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    static const char *const keys[] = {"method", "path",    "user",           "token", "body",
                                       "expect", "capture", "content_length", NULL};
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", NULL};
    json_t *v = json_object_get(step, "http");
    const char *method, *path;
    json_t *ex, *cap;
    int64_t status;

    if (!json_is_object(v)) {
        lerr(l, step, "http", v, "'http' takes a mapping, not %s", type_name(v));
        return;
    }
    check_keys(l, v, keys, "http");
    method = get_str(l, v, "method", true, "http");
    if (method && !in_list(methods, method))
        lerr(l, v, "method", json_object_get(v, "method"), "unknown HTTP method '%s'", method);
    path = get_str(l, v, "path", true, "http");
    if (path) {
        if (path[0] != '/')
            lerr(l, v, "path", json_object_get(v, "path"), "'path' must start with '/'");
        check_template(l, v, "path", json_object_get(v, "path"));
    }
    if (get_str(l, v, "user", false, "http"))
        check_template(l, v, "user", json_object_get(v, "user"));
    lint_token(l, v, "token");
    if (json_object_get(v, "body"))
        check_template(l, v, "body", json_object_get(v, "body"));
    if (json_object_get(v, "content_length")) {
        const char *cl = get_str(l, v, "content_length", false, "http");
        if (cl && (strpbrk(cl, "\r\n") || !*cl))
            lerr(l, v, "content_length", json_object_get(v, "content_length"),
                 "'content_length' is one non-empty header value");
        else if (cl && json_object_get(v, "body"))
            lerr(l, v, "content_length", json_object_get(v, "content_length"),
                 "'content_length' sends the header alone: drop 'body'");
    }
    ex = json_object_get(v, "expect");
    if (ex) {
        static const char *const ekeys[] = {"status", "body", NULL};
        if (!json_is_object(ex)) {
            lerr(l, v, "expect", ex, "'expect' takes {status: N, body: pattern}");
        } else {
            check_keys(l, ex, ekeys, "http expect");
            get_int(l, ex, "status", 100, 599, &status);
            if (json_object_get(ex, "body"))
                check_pattern(l, ex, "body", json_object_get(ex, "body"));
        }
    }
    cap = json_object_get(v, "capture");
    if (cap) {
        const char *k;
        json_t *m;
        if (!json_is_object(cap)) {
            lerr(l, v, "capture", cap, "'capture' takes {name: body.path}");
        } else {
            json_object_foreach(cap, k, m)
            {
                if (!hn_var_name_valid(k, strlen(k)))
                    kerr(l, cap, k, "bad variable name '%s'", k);
                if (!json_is_string(m) || (strcmp(json_string_value(m), "status") &&
                                           strncmp(json_string_value(m), "body", 4)))
                    lerr(l, cap, k, m, "a capture path starts with 'body' or is 'status'");
                json_object_set_new(l->known, k, json_true());
            }
        }
    }
}

static void lint_step_alternatives(struct lint *l, const json_t *step, const char *name,
                                   bool in_alt)
{
    static const char *const grades[] = {"ok", "non_strict", "informational", NULL};
    static const char *const keys[] = {"grade", "steps", NULL};
    json_t *v = json_object_get(step, "alternatives");
    json_t *known_after = json_object();
    json_t *closed_after = json_object();
    size_t i;
    json_t *alt;

    if (in_alt)
        lerr(l, step, "alternatives", v, "alternatives cannot be nested");
    if (!json_is_array(v) || json_array_size(v) < 2) {
        lerr(l, step, "alternatives", v, "'alternatives' takes a list of at least two outcomes");
        json_decref(known_after);
        json_decref(closed_after);
        return;
    }
    json_array_foreach(v, i, alt)
    {
        const char *grade;
        json_t *steps;
        if (!json_is_object(alt)) {
            lerr(l, v, NULL, alt, "an alternative is a mapping {grade, steps}");
            continue;
        }
        check_keys(l, alt, keys, "alternative");
        grade = get_str(l, alt, "grade", true, "alternative");
        if (grade && !in_list(grades, grade))
            lerr(l, alt, "grade", json_object_get(alt, "grade"),
                 "'grade' must be ok, non_strict or informational, not '%s'", grade);
        steps = json_object_get(alt, "steps");
        if (!steps) {
            lerr(l, alt, NULL, alt, "alternative: missing required key 'steps'");
            continue;
        }
        json_t *save = l->known;
        json_t *open_before = json_deep_copy(l->connected);
        const char *cname;
        json_t *val;
        l->known = json_deep_copy(save);
        lint_steps(l, alt, true);
        json_object_update(known_after, l->known);
        json_decref(l->known);
        l->known = save;
        /* every alternative starts with the clients open before it; one that an alternative
         * closes (expect_close) is closed after the alternatives (it may be, whichever matched) */
        json_object_foreach(open_before, cname, val)
        {
            if (!json_object_get(l->connected, cname))
                json_object_set_new(closed_after, cname, json_true());
        }
        json_decref(l->connected);
        l->connected = open_before;
    }
    json_object_update(l->known, known_after);
    json_decref(known_after);
    const char *cname;
    json_t *val;
    json_object_foreach(closed_after, cname, val) json_object_del(l->connected, cname);
    json_decref(closed_after);
}

/*
 * within_ms: a time bound on a waiting step, N (ms) or {max: N, min: M}. Only a step that waits
 * for something that arrives can carry it; an alternative has its own grade, so not inside one.
 */
static void lint_within(struct lint *l, const json_t *step, const struct hn_step_kind *kind,
                        bool in_alt)
{
    static const char *const keys[] = {"max", "min", NULL};
    const char *name = kind->name;
    json_t *w = json_object_get(step, "within_ms");
    int64_t max = 0, min = -1;

    if (in_alt) {
        kerr(l, step, "within_ms",
             "'within_ms' is not allowed inside alternatives (an "
             "alternative has its own grade)");
        return;
    }
    if (!(kind->flags & HN_STEP_WAITS)) {
        char *waits = hn_step_names_with(HN_STEP_WAITS);
        kerr(l, step, "within_ms", "'within_ms' bounds a step that waits (%s), not '%s'", waits,
             name);
        free(waits);
        return;
    }
    if (!strcmp(name, "expect")) {
        const char *k;
        json_t *m;
        json_object_foreach(json_object_get(step, "expect"), k, m)
        {
            if (json_is_string(m) && !strcmp(json_string_value(m), "none"))
                kerr(l, step, "within_ms",
                     "'within_ms' cannot bound 'expect: {%s: none}': "
                     "nothing arrives",
                     k);
        }
    }
    if (json_is_integer(w)) {
        get_int(l, step, "within_ms", 1, 600000, &max);
        return;
    }
    if (!json_is_object(w)) {
        lerr(l, step, "within_ms", w, "'within_ms' takes milliseconds or {max: N, min: M}, not %s",
             type_name(w));
        return;
    }
    check_keys(l, w, keys, "within_ms");
    if (!json_object_get(w, "max"))
        lerr(l, w, NULL, w, "within_ms: missing required key 'max'");
    else
        get_int(l, w, "max", 1, 600000, &max);
    if (get_int(l, w, "min", 0, 600000, &min) && max > 0 && min >= max)
        lerr(l, w, "min", json_object_get(w, "min"),
             "within_ms: 'min' (%lld) must be below "
             "'max' (%lld)",
             (long long)min, (long long)max);
}

/* ---- the server role's steps (exec/run_server.c) ------------------------------------------- */

/* accept: true | {expect_path: PATTERN, expect_header: {name: PATTERN}, expect_argv: PATTERN,
 * pong: false}: the next connection becomes s<N> (with pong: false, the harness answers none of
 * its pings). */
static void lint_step_accept(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    json_t *v = json_object_get(step, "accept");
    char sn[24];

    if (json_is_object(v)) {
        static const char *const keys[] = {"expect_path", "expect_header", "expect_argv", "pong",
                                           NULL};
        check_keys(l, v, keys, "accept");
        json_t *pg = json_object_get(v, "pong");
        if (pg && !json_is_boolean(pg))
            lerr(l, v, "pong", pg, "'pong' is true or false, not %s", type_name(pg));
        json_t *p = json_object_get(v, "expect_path"), *h = json_object_get(v, "expect_header");
        json_t *av = json_object_get(v, "expect_argv");
        if (av && !json_is_array(av))
            lerr(l, v, "expect_argv", av,
                 "'expect_argv' is a list pattern of the client's argv (X-Gwspec-Argv), not %s",
                 type_name(av));
        else if (av)
            check_pattern(l, v, "expect_argv", av);
        if (p && !json_is_string(p))
            lerr(l, v, "expect_path", p, "'expect_path' is a string pattern, not %s", type_name(p));
        else if (p)
            check_pattern(l, v, "expect_path", p);
        if (h && !json_is_object(h)) {
            lerr(l, v, "expect_header", h,
                 "'expect_header' maps header names (lowercase) to patterns, not %s", type_name(h));
        } else if (h) {
            const char *k;
            json_t *m;
            json_object_foreach(h, k, m)
            {
                for (const char *c = k; *c; c++) {
                    if (isupper((unsigned char)*c)) {
                        kerr(l, h, k, "header names are matched lowercase: '%s'", k);
                        break;
                    }
                }
            }
            check_pattern(l, v, "expect_header", h);
        }
    } else if (!json_is_true(v) && !json_is_null(v)) {
        lerr(l, step, "accept", v,
             "'accept' takes true or {expect_path, expect_header, expect_argv, pong}, not %s",
             type_name(v));
    }
    snprintf(sn, sizeof(sn), "s%d", ++l->naccept);
    json_object_set_new(l->connected, sn, json_true());
}

static void lint_step_refuse(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    json_t *v = json_object_get(step, "refuse");
    static const char *const keys[] = {"status", NULL};
    int64_t st;

    if (!json_is_object(v) || !json_object_get(v, "status")) {
        lerr(l, step, "refuse", v, "'refuse' takes {status: N} (an HTTP status, 400..599)");
        return;
    }
    check_keys(l, v, keys, "refuse");
    get_int(l, v, "status", 400, 599, &st);
}

/* The sN of close/drop: sN or {on: sN, ...}. */
static void lint_on(struct lint *l, const json_t *step, const char *sname, const char *const *keys)
{
    json_t *v = json_object_get(step, sname);
    const char *on = NULL;

    if (json_is_string(v)) {
        on = json_string_value(v);
    } else if (json_is_object(v)) {
        check_keys(l, v, keys, sname);
        on = get_str(l, v, "on", true, sname);
    } else {
        lerr(l, step, sname, v, "'%s' takes a connection (s1) or {on: s1, ...}, not %s", sname,
             type_name(v));
        return;
    }
    if (on && !server_name_valid(on))
        lerr(l, step, sname, v, "'%s' acts on a server-role connection (s1, s2, ...), not '%s'",
             sname, on);
    else if (on)
        use_client(l, step, sname, v, on);
}

static void lint_step_close(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    static const char *const keys[] = {"on", "code", "reason", NULL};
    json_t *v = json_object_get(step, "close");
    int64_t code;

    lint_on(l, step, "close", keys);
    if (json_is_object(v)) {
        get_int(l, v, "code", 1000, 4999, &code);
        get_str(l, v, "reason", false, "close");
    }
}

static void lint_step_drop(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    static const char *const keys[] = {"on", NULL};
    lint_on(l, step, "drop", keys);
}

static void lint_step_expect_connect(struct lint *l, const json_t *step, const char *name,
                                     bool in_alt)
{
    json_t *v = json_object_get(step, "expect_connect");
    static const char *const keys[] = {"after_ms", NULL};
    json_t *a = json_object_get(v, "after_ms");

    if (!json_is_object(v)) {
        lerr(l, step, "expect_connect", v, "'expect_connect' takes {after_ms: [MIN, MAX]}");
        return;
    }
    check_keys(l, v, keys, "expect_connect");
    if (!json_is_array(a) || json_array_size(a) != 2 || !json_is_integer(json_array_get(a, 0)) ||
        !json_is_integer(json_array_get(a, 1)) || json_integer_value(json_array_get(a, 0)) < 0 ||
        json_integer_value(json_array_get(a, 1)) <= json_integer_value(json_array_get(a, 0)) ||
        json_integer_value(json_array_get(a, 1)) > 600000)
        lerr(l, v, a ? "after_ms" : NULL, a,
             "expect_connect: 'after_ms' is [MIN, MAX], milliseconds with 0 <= MIN < MAX <= "
             "600000");
}

static void lint_step_expect_no_connect(struct lint *l, const json_t *step, const char *name,
                                        bool in_alt)
{
    json_t *v = json_object_get(step, "expect_no_connect");
    static const char *const keys[] = {"for_ms", NULL};
    int64_t ms;

    if (!json_is_object(v) || !json_object_get(v, "for_ms")) {
        lerr(l, step, "expect_no_connect", v, "'expect_no_connect' takes {for_ms: N}");
        return;
    }
    check_keys(l, v, keys, "expect_no_connect");
    get_int(l, v, "for_ms", 1, 600000, &ms);
}

/* act: {c: {NAME: ARGS}}: c is the client under test (the one the profile starts). */
static void lint_step_act(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    json_t *v = json_object_get(step, "act"), *c = json_object_get(v, "c");
    static const char *const keys[] = {"c", "after_note", "result", NULL};
    json_t *an = json_object_get(v, "after_note");

    if (an && !json_is_object(an))
        lerr(l, v, "after_note", an,
             "'after_note' is a pattern of the client's note ({what: permission_pending, ...})");
    else if (an)
        check_pattern(l, v, "after_note", an);
    get_str(l, v, "result", false, "act");

    if (!json_is_object(v) || !c) {
        lerr(l, step, "act", v, "'act' takes {c: {NAME: {...}}} (c: the client under test)");
        return;
    }
    check_keys(l, v, keys, "act");
    if (!json_is_object(c) || json_object_size(c) != 1) {
        lerr(l, v, "c", c, "act: 'c' holds one act, {NAME: {...}}");
        return;
    }
    const char *k;
    json_t *m;
    json_object_foreach(c, k, m)
    {
        if (!json_is_object(m))
            lerr(l, c, k, m, "act '%s' takes a mapping of arguments ({} for none), not %s", k,
                 type_name(m));
        else
            check_template(l, c, k, m);
    }
}

static void lint_step_quiesce(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    json_t *v = json_object_get(step, "quiesce");
    json_t *list = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
    size_t i;
    json_t *e;

    if (!json_is_array(list) || json_array_size(list) == 0) {
        lerr(l, step, "quiesce", v, "'quiesce' takes a connection (s1) or a list of them");
        json_decref(list);
        return;
    }
    json_array_foreach(list, i, e)
    {
        const char *s = json_string_value(e);
        if (!s || !server_name_valid(s))
            lerr(l, step, "quiesce", v, "'quiesce' names server-role connections (s1, s2, ...)");
        else
            use_client(l, step, "quiesce", v, s);
    }
    json_decref(list);
}

/* The linters of the steps that share one, and of `note`. */
static void lint_step_reached(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    lint_barrier_step(l, step, name);
}

static void lint_step_release(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    lint_barrier_step(l, step, name);
}

static void lint_step_provider_hello(struct lint *l, const json_t *step, const char *name,
                                     bool in_alt)
{
    lint_provider_pattern(l, step, name);
}

static void lint_step_provider_event(struct lint *l, const json_t *step, const char *name,
                                     bool in_alt)
{
    lint_provider_pattern(l, step, name);
}

static void lint_step_pause(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    lint_pause(l, step, name);
}

static void lint_step_resume(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    lint_pause(l, step, name);
}

static void lint_step_note(struct lint *l, const json_t *step, const char *name, bool in_alt)
{
    json_t *v = json_object_get(step, "note");
    if (!json_is_string(v))
        lerr(l, step, "note", v, "'note' takes a string");
    else
        check_interp(l, step, "note", v);
}

/* One linter per step of model/steps.h, lint_step_<name>: a step without one does not build. */
typedef void step_linter(struct lint *l, const json_t *step, const char *name, bool in_alt);
static step_linter *const linters[HN_STEP__COUNT] = {
#define LINTER(name, flags) [HN_STEP_##name] = lint_step_##name,
    HN_STEPS(LINTER)
#undef LINTER
};

/* Which steps a case of the spec's role may use: a gateway case the client-side steps, a client
 * case (server_role) the server role's, and both the shared ones. */
static bool role_allows(const struct lint *l, enum hn_step_id id)
{
    bool server = spec_wire(l->spec)->server_role;

    switch (id) {
    case HN_STEP_send:
    case HN_STEP_expect:
    case HN_STEP_note:
    case HN_STEP_group:
    case HN_STEP_alternatives:
    case HN_STEP_expect_close:
    case HN_STEP_expect_ping:
        return true;
    case HN_STEP_accept:
    case HN_STEP_refuse:
    case HN_STEP_close:
    case HN_STEP_drop:
    case HN_STEP_expect_connect:
    case HN_STEP_expect_no_connect:
    case HN_STEP_act:
    case HN_STEP_quiesce:
        return server;
    default:
        return !server;
    }
}

static void lint_step(struct lint *l, const json_t *steps, size_t i, const json_t *step,
                      bool in_alt)
{
    const struct hn_step_kind *kind;
    const char *name;
    json_t *req;
    size_t nkeys = 0;
    const char *k;
    json_t *m;

    if (!json_is_object(step)) {
        lerr_item(l, steps, i, "a step is a one-key mapping, not %s", type_name(step));
        return;
    }
    json_object_foreach((json_t *)step, k, m)
    {
        if (!in_list(step_modifiers, k))
            nkeys++;
    }
    name = hn_step_name(step);
    if (nkeys != 1 || !name) {
        lerr_item(l, steps, i, "a step is a one-key mapping (found %zu step keys)", nkeys);
        /* still track its connect so later steps do not cascade */
        if (json_object_get(step, "connect")) {
            json_t *errs = l->errs;
            int nerr = l->nerr;
            l->errs = json_array();
            lint_step_connect(l, step, "connect", false);
            json_decref(l->errs);
            l->errs = errs;
            l->nerr = nerr;
        }
        return;
    }
    req = json_object_get(step, "requirement");
    if (req) {
        if (!json_is_string(req))
            lerr(l, step, "requirement", req, "'requirement' must be a requirement id");
        else if (!hn_spec_find(l->spec, json_string_value(req)))
            lerr(l, step, "requirement", req, "unknown requirement '%s'", json_string_value(req));
    }
    kind = hn_step_kind(name);
    if (kind && json_object_get(step, "within_ms"))
        lint_within(l, step, kind, in_alt);
    if (!kind) {
        kerr(l, step, name, "unknown step '%s'", name);
        return;
    }
    if (in_alt && !(kind->flags & HN_STEP_IN_ALT)) {
        kerr(l, step, name, "'%s' is not allowed inside alternatives", name);
        return;
    }
    if (!role_allows(l, kind->id)) {
        kerr(l, step, name,
             spec_wire(l->spec)->server_role
                 ? "'%s' is a step of a gateway case; this spec version tests clients (the "
                   "harness plays the server: accept, send {to}, expect {from}, close, drop, "
                   "expect_connect, expect_no_connect, act, quiesce, note)"
                 : "'%s' is a server-role step; this spec version tests gateways",
             name);
        return;
    }
    linters[kind->id](l, step, name, in_alt);
}

static void lint_steps(struct lint *l, const json_t *parent, bool in_alt)
{
    const json_t *steps = json_object_get(parent, "steps");
    size_t i;
    json_t *step;

    if (!json_is_array(steps)) {
        lerr(l, parent, "steps", steps, "'steps' must be a list, not %s", type_name(steps));
        return;
    }
    if (json_array_size(steps) == 0)
        lerr(l, parent, "steps", steps, "'steps' must not be empty");
    json_array_foreach(steps, i, step) lint_step(l, steps, i, step, in_alt);
}

/* ---- sessions and providers ---------------------------------------------------------------- */

static void lint_target_settings(struct lint *l, const json_t *root);

static void lint_sessions(struct lint *l, const json_t *root)
{
    static const char *const keys[] = {"provider", "projectPath", "user", NULL};
    json_t *v = json_object_get(root, "sessions");
    const char *k;
    json_t *m;

    if (!v)
        return;
    if (!json_is_object(v)) {
        lerr(l, root, "sessions", v, "'sessions' must be a mapping of label to session");
        return;
    }
    json_object_foreach(v, k, m)
    {
        const char *prov;
        if (!hn_var_name_valid(k, strlen(k)) || strchr(k, '.'))
            kerr(l, v, k, "bad session label '%s'", k);
        if (hn_client_name_valid(k))
            kerr(l, v, k, "session label '%s' looks like a client name", k);
        json_object_set_new(l->sessions, k, json_true());
        json_object_set_new(l->known, k, json_true());
        char *pp = wc_xasprintf("%s.projectPath", k);
        json_object_set_new(l->known, pp, json_true());
        free(pp);
        if (!json_is_object(m)) {
            lerr(l, v, k, m, "session '%s' must be a mapping {provider: ...}%s", k,
                 spec_wire(l->spec)->client_sessions ? " or {}" : "");
            continue;
        }
        check_keys(l, m, keys, "a session");
        prov = get_str(l, m, "provider", !spec_wire(l->spec)->client_sessions, "session");
        if (prov && !strstr(prov, "${") && !in_list(hn_provider_names, prov))
            lerr(l, m, "provider", json_object_get(m, "provider"), "unknown provider '%s'", prov);
        if (prov && strstr(prov, "${"))
            check_interp(l, m, "provider", json_object_get(m, "provider"));
        if (get_str(l, m, "projectPath", false, "session"))
            check_interp(l, m, "projectPath", json_object_get(m, "projectPath"));
        get_str(l, m, "user", false, "session");
    }
}

static void lint_one_script(struct lint *l, const char *label, const json_t *script)
{
    char *err = NULL;
    struct mp_script *s = mp_script_parse(script, l->doc, &err);
    json_t *barriers;

    if (!s) {
        json_array_append_new(l->errs, json_string(err ? err : "invalid script"));
        l->nerr++;
        free(err);
        return;
    }
    barriers = json_array();
    for (size_t i = 0; i < s->n_steps; i++) {
        if (s->steps[i].type == MP_STEP_BARRIER && s->steps[i].arg)
            json_array_append_new(barriers, json_string(s->steps[i].arg));
    }
    json_object_set_new(l->scripts, label, barriers);
    mp_script_free(s);
}

/* Returns the normalised providers object (new). */
static json_t *lint_providers(struct lint *l, const json_t *root)
{
    static const char *const keys[] = {"session", "script", NULL};
    json_t *v = json_object_get(root, "providers");
    json_t *out = json_object();
    const char *k;
    json_t *m;

    if (!v)
        return out;
    if (!json_is_object(v)) {
        lerr(l, root, "providers", v, "'providers' must be a mapping of name to script");
        return out;
    }
    json_object_foreach(v, k, m)
    {
        const char *session = k;
        json_t *script = m;
        if (!hn_var_name_valid(k, strlen(k)) || strchr(k, '.'))
            kerr(l, v, k, "bad script name '%s'", k);
        json_object_set_new(l->script_labels, k, json_true());
        if (json_is_object(m)) {
            check_keys(l, m, keys, "a provider script");
            session = get_str(l, m, "session", true, "provider script");
            script = json_object_get(m, "script");
            if (!script) {
                lerr(l, m, NULL, m, "provider script '%s': missing required key 'script'", k);
                continue;
            }
            if (!json_is_array(script)) {
                /* null, true, false have no place of their own: the key's (issue 18) */
                lerr(l, m, "script", script,
                     "provider script '%s': a script must be a list of steps", k);
                continue;
            }
            if (session && !json_object_get(l->sessions, session)) {
                lerr(l, m, "session", json_object_get(m, "session"), "unknown session '%s'",
                     session);
                continue;
            }
        } else if (!json_is_array(m)) {
            lerr(l, v, k, m, "provider script '%s' must be a list of steps or {session, script}",
                 k);
            continue;
        } else if (!json_object_get(l->sessions, k)) {
            kerr(l, v, k, "script '%s' names no session: add 'session: <label>'", k);
            continue;
        }
        if (!session)
            continue;
        check_ops(l, script);
        lint_one_script(l, k, script);
        json_object_set_new(out, k, json_pack("{s:s, s:O}", "session", session, "script", script));
    }
    return out;
}

/* ---- the top level ------------------------------------------------------------------------- */

/* Kinds a gateway sends to every socket of a user, whatever the socket is subscribed to: the
 * default `ignore` of a case. */
static const char *const broadcast_kinds[] = {"session_upserted", "loading_progress", NULL};

const struct hn_wire hn_wire_chatgw1 = {.id_key = "kind",
                                        .default_ignore = broadcast_kinds,
                                        .broadcast = broadcast_kinds,
                                        .capabilities = hn_capabilities};

static const char *pattern_names_broadcast(const struct hn_wire *w, const json_t *v)
{
    const char *k;
    json_t *e;
    size_t i;

    if (json_is_object(v)) {
        const char *kind = wc_json_str(v, w->id_key);
        for (i = 0; kind && w->broadcast[i]; i++) {
            if (!strcmp(kind, w->broadcast[i]))
                return w->broadcast[i];
        }
        json_object_foreach((json_t *)v, k, e)
        {
            const char *r = pattern_names_broadcast(w, e);
            if (r)
                return r;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e)
        {
            const char *r = pattern_names_broadcast(w, e);
            if (r)
                return r;
        }
    }
    return NULL;
}

const char *hn_case_broadcast_kind_of(const struct hn_wire *w, const json_t *ignore,
                                      const json_t *steps)
{
    if (!w)
        w = &hn_wire_chatgw1;
    for (size_t i = 0; ignore && w->broadcast[i]; i++) {
        size_t j;
        json_t *e;
        bool in = false;
        json_array_foreach(ignore, j, e) in =
            in || (json_is_string(e) && !strcmp(json_string_value(e), w->broadcast[i]));
        if (!in)
            return w->broadcast[i];
    }
    return pattern_names_broadcast(w, steps);
}

const char *hn_case_broadcast_kind(const json_t *ignore, const json_t *steps)
{
    return hn_case_broadcast_kind_of(NULL, ignore, steps);
}

static const char *const top_keys[] = {
    "id",     "title",       "spec",        "tags",       "needs",           "providers_needed",
    "strict", "description", "expectation", "matrix",     "sessions",        "providers",
    "ignore", "replay_cap",  "timeout_ms",  "own_target", "target_settings", "own_users",
    "steps",  NULL,
};

static int top_index(const char *k)
{
    for (int i = 0; top_keys[i]; i++) {
        if (!strcmp(top_keys[i], k))
            return i;
    }
    return -1;
}

static bool id_format_ok(const char *id)
{
    const char *p = id;
    if (!isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1])))
        p++;
    if (*p != '-' || !p[1])
        return false;
    for (p++; *p; p++) {
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
            return false;
    }
    return true;
}

static char *base_name_noext(const char *path)
{
    const char *b = strrchr(path, '/');
    size_t n;
    b = b ? b + 1 : path;
    n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".yaml"))
        n -= 5;
    else if (n > 4 && !strcmp(b + n - 4, ".yml"))
        n -= 4;
    return wc_xstrndup(b, n);
}

/* "cases/4-run/4.1.1-x.yaml" -> 4, or -1 when the directory is not "<N>-<section>". */
static int dir_section(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *start;
    if (!slash)
        return -1;
    start = slash;
    while (start > path && start[-1] != '/')
        start--;
    if (!isdigit((unsigned char)*start))
        return -1;
    char *end;
    long n = strtol(start, &end, 10);
    if (*end != '-' || end > slash)
        return -1;
    return (int)n;
}

/* The top-level keys: known, and in the catalog's order. */
static void lint_key_order(struct lint *l, const json_t *root)
{
    const char *k;
    json_t *v;
    int last = -1;
    const char *last_key = NULL;

    json_object_foreach((json_t *)root, k, v)
    {
        int idx = top_index(k);
        if (idx < 0) {
            kerr(l, root, k, "unknown key '%s'", k);
            continue;
        }
        if (idx < last)
            kerr(l, root, k,
                 "key '%s' must come before '%s' (order: id, title, spec, tags, needs, "
                 "providers_needed, strict, description, expectation, matrix, "
                 "sessions, providers, ignore, replay_cap, timeout_ms, own_target, "
                 "target_settings, own_users, "
                 "steps)",
                 k, last_key);
        else {
            last = idx;
            last_key = k;
        }
    }
}

/* id: its format, the file name, the section of its directory. */
static void lint_id(struct lint *l, const json_t *root, const char *name)
{
    const char *id;

    id = get_str(l, root, "id", true, "case");
    if (id) {
        char *base = base_name_noext(name);
        int sect = dir_section(name);
        if (!id_format_ok(id))
            lerr(l, root, "id", json_object_get(root, "id"),
                 "id '%s' must be a dotted number and a lowercase slug (4.2.1-abort-mid-stream)",
                 id);
        if (strcmp(id, base))
            lerr(l, root, "id", json_object_get(root, "id"),
                 "id '%s' differs from the file name '%s'", id, base);
        if (sect >= 0 && atoi(id) != sect)
            lerr(l, root, "id", json_object_get(root, "id"),
                 "id '%s' is not in section %d of its directory", id, sect);
        free(base);
    }
}

/* spec: known requirements, none twice. */
static void lint_spec_list(struct lint *l, const json_t *root)
{
    json_t *spec;

    spec = json_object_get(root, "spec");
    if (!spec) {
        lerr(l, root, NULL, root, "case: missing required key 'spec'");
    } else if (get_str_list(l, root, "spec", NULL, true)) {
        size_t i;
        json_t *e;
        json_array_foreach(spec, i, e)
        {
            if (json_is_string(e) && !hn_spec_find(l->spec, json_string_value(e)))
                lerr(l, spec, NULL, e, "unknown requirement '%s' (not in %s)", json_string_value(e),
                     l->spec && l->spec->version ? l->spec->version : "the spec");
            for (size_t j = 0; j < i; j++) {
                if (json_equal(e, json_array_get(spec, j)))
                    lerr(l, spec, NULL, e, "duplicate requirement '%s'", json_string_value(e));
            }
        }
    }
}

/* matrix: names to non-empty lists of values, at most 26 subcases. */
static void lint_matrix(struct lint *l, const json_t *root)
{
    const char *k;
    json_t *v;

    json_t *matrix = json_object_get(root, "matrix");
    if (matrix) {
        if (!json_is_object(matrix) || json_object_size(matrix) == 0) {
            lerr(l, root, "matrix", matrix, "'matrix' must be a mapping of name to values");
        } else {
            size_t total = 1;
            json_object_foreach(matrix, k, v)
            {
                size_t i;
                json_t *e;
                if (!hn_var_name_valid(k, strlen(k)) || strchr(k, '.'))
                    kerr(l, matrix, k, "bad matrix name '%s'", k);
                if (!json_is_array(v) || json_array_size(v) == 0) {
                    lerr(l, matrix, k, v, "matrix '%s' must be a non-empty list of values", k);
                    continue;
                }
                total *= json_array_size(v);
                json_array_foreach(v, i, e)
                {
                    if (!json_is_string(e) && !json_is_number(e))
                        lerr(l, v, NULL, e, "matrix values are strings or numbers");
                    else if (!strcmp(k, "provider") &&
                             (!json_is_string(e) ||
                              !in_list(hn_provider_names, json_string_value(e))))
                        lerr(l, v, NULL, e, "unknown provider in matrix");
                }
                json_object_set_new(l->known, k, json_true());
            }
            if (total > 26)
                lerr(l, root, "matrix", matrix, "a matrix may make at most 26 subcases");
            l->matrix = matrix;
        }
    }
}

/*
 * The first `http` step, at any depth of v (alternatives, groups), that checks the body of
 * GET .../sessions/running's data.sessions: a per-user listing other running cases change.
 */
static const json_t *running_list_check(const json_t *v)
{
    const char *k;
    const json_t *m, *h = json_is_object(v) ? json_object_get(v, "http") : NULL;
    size_t i;

    if (json_is_object(h) && wc_json_str(h, "path") &&
        strstr(wc_json_str(h, "path"), "/sessions/running") &&
        json_object_get(
            json_object_get(json_object_get(json_object_get(h, "expect"), "body"), "data"),
            "sessions"))
        return h;
    if (json_is_array(v)) {
        json_array_foreach(v, i, m)
        {
            const json_t *r = running_list_check(m);
            if (r)
                return r;
        }
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, m)
        {
            const json_t *r = running_list_check(m);
            if (r)
                return r;
        }
    }
    return NULL;
}

static void lint_top(struct lint *l, const json_t *root, const char *name)
{
    int64_t t;

    lint_key_order(l, root);
    lint_id(l, root, name);
    const char *title = get_str(l, root, "title", true, "case");
    if (title && (!*title || strchr(title, '\n')))
        lerr(l, root, "title", json_object_get(root, "title"),
             "'title' must be one non-empty line");
    lint_spec_list(l, root);
    get_str_list(l, root, "tags", NULL, false);
    get_str_list(l, root, "needs", spec_wire(l->spec)->capabilities, false);
    get_str_list(l, root, "providers_needed", hn_provider_names, false);
    get_bool(l, root, "strict", false);
    const char *d = get_str(l, root, "description", true, "case");
    if (d && !*d)
        lerr(l, root, "description", json_object_get(root, "description"),
             "'description' is empty");
    d = get_str(l, root, "expectation", true, "case");
    if (d && !*d)
        lerr(l, root, "expectation", json_object_get(root, "expectation"),
             "'expectation' is empty");
    get_str_list(l, root, "ignore", NULL, false);
    get_int(l, root, "timeout_ms", 1, 600000, &t);
    get_int(l, root, "replay_cap", 1, 100000000, &t);
    l->own_target = get_bool(l, root, "own_target", false);
    lint_target_settings(l, root);
    bool own_users = get_bool(l, root, "own_users", false);
    const struct hn_wire *w = spec_wire(l->spec);
    if (w->broadcast_to_all && !l->own_target) {
        const char *bk = hn_case_broadcast_kind_of(w, json_object_get(root, "ignore"),
                                                   json_object_get(root, "steps"));
        if (bk)
            lerr(l, root, json_object_get(root, "ignore") ? "ignore" : "steps", NULL,
                 "the case observes '%s', a broadcast that reaches every connection of the "
                 "target, so other cases running beside it cause it too: add 'own_target: true' "
                 "(a private gateway instance)",
                 bk);
    } else if (!own_users && !l->own_target) {
        const char *bk = hn_case_broadcast_kind_of(w, json_object_get(root, "ignore"),
                                                   json_object_get(root, "steps"));
        if (bk)
            lerr(l, root, json_object_get(root, "ignore") ? "ignore" : "steps", NULL,
                 "the case observes '%s', a broadcast that other cases running beside it cause "
                 "too: add 'own_users: true' (users no other running case has)",
                 bk);
    }

    if (!own_users && !l->own_target) {
        const json_t *at = running_list_check(json_object_get(root, "steps"));
        if (at)
            lerr(l, at, "path", json_object_get(at, "path"),
                 "the case checks the body of the running list, which the runs of other cases "
                 "beside it fill too: add 'own_users: true' (users no other running case has)");
    }

    lint_matrix(l, root);
    lint_sessions(l, root);
}

/* target_settings: NAME (lower case, digits, '_') -> an integer or a string, own_target only. */
static void lint_target_settings(struct lint *l, const json_t *root)
{
    json_t *set = json_object_get(root, "target_settings"), *v;
    const char *k;

    if (!set)
        return;
    if (!json_is_object(set) || json_object_size(set) == 0) {
        lerr(l, root, "target_settings", set,
             "'target_settings' is a non-empty mapping: NAME: value (an integer or a string)");
        return;
    }
    if (!l->own_target)
        lerr(l, root, "target_settings", set,
             "'target_settings' needs 'own_target: true' (a setting applies to a private target)");
    json_object_foreach(set, k, v)
    {
        bool ok = *k != '\0';
        for (const char *p = k; *p; p++)
            ok = ok && (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_');
        if (!ok)
            kerr(l, set, k, "setting name '%s': lower-case letters, digits and '_' only", k);
        else if (!json_is_integer(v) && !json_is_string(v))
            lerr(l, set, k, v, "setting '%s' must be an integer or a string, not %s", k,
                 type_name(v));
    }
}

static json_t *default_ignore(const struct hn_wire *w)
{
    json_t *a = json_array();
    for (size_t i = 0; w->default_ignore[i]; i++)
        json_array_append_new(a, json_string(w->default_ignore[i]));
    return a;
}

/* Make the subcases of a linted case and append them to out. */
static void expand(const json_t *root, const json_t *providers, const char *file,
                   const struct hn_wire *wire, const json_t *lines, struct hn_caselist *out)
{
    json_t *matrix = json_object_get(root, "matrix");
    size_t total = 1, nkeys = json_object_size(matrix);
    const char *id = json_string_value(json_object_get(root, "id"));
    const char *k;
    json_t *v;

    if (matrix) {
        json_object_foreach(matrix, k, v) total *= json_array_size(v);
    }
    for (size_t idx = 0; idx < total; idx++) {
        struct hn_case *c = wc_xcalloc(1, sizeof(*c));
        json_t *subst = NULL, *r;
        size_t rest = idx;

        if (nkeys) {
            /* the first key varies slowest: a,b,c,d follow the first list */
            json_t *keys = json_array();
            json_object_foreach(matrix, k, v) json_array_append_new(keys, json_string(k));
            subst = json_object();
            for (size_t ki = nkeys; ki-- > 0;) {
                json_t *vals = json_object_get(matrix, json_string_value(json_array_get(keys, ki)));
                size_t n = json_array_size(vals);
                json_object_set(subst, json_string_value(json_array_get(keys, ki)),
                                json_array_get(vals, rest % n));
                rest /= n;
            }
            json_decref(keys);
            json_t *tmp = json_deep_copy(root);
            json_object_del(tmp, "matrix");
            r = hn_subst(tmp, subst);
            json_decref(tmp);
            c->id = wc_xasprintf("%s.%c", id, (char)('a' + idx));
            c->matrix = subst;
            json_t *pv = hn_subst(providers, subst);
            json_object_set_new(r, "providers", pv);
        } else {
            r = json_deep_copy(root);
            json_object_set(r, "providers", (json_t *)providers);
            c->id = wc_xstrdup(id);
        }
        c->base_id = wc_xstrdup(id);
        c->file = wc_xstrdup(file);
        c->root = r;
        c->title = json_string_value(json_object_get(r, "title"));
        c->description = json_string_value(json_object_get(r, "description"));
        c->expectation = json_string_value(json_object_get(r, "expectation"));
#define LIST_OR_EMPTY(field, key, mk)                                                              \
    do {                                                                                           \
        c->field = json_object_get(r, key);                                                        \
        if (!c->field) {                                                                           \
            json_object_set_new(r, key, mk);                                                       \
            c->field = json_object_get(r, key);                                                    \
        }                                                                                          \
    } while (0)
        LIST_OR_EMPTY(spec, "spec", json_array());
        LIST_OR_EMPTY(tags, "tags", json_array());
        LIST_OR_EMPTY(needs, "needs", json_array());
        LIST_OR_EMPTY(providers_needed, "providers_needed", json_array());
        LIST_OR_EMPTY(sessions, "sessions", json_object());
        LIST_OR_EMPTY(ignore, "ignore", default_ignore(wire));
        LIST_OR_EMPTY(steps, "steps", json_array());
#undef LIST_OR_EMPTY
        c->providers = json_object_get(r, "providers");
        c->strict = json_is_true(json_object_get(r, "strict"));
        c->own_target = json_is_true(json_object_get(r, "own_target"));
        c->target_settings = json_object_get(r, "target_settings");
        c->own_users = json_is_true(json_object_get(r, "own_users"));
        c->step_lines = json_incref((json_t *)lines);
        c->timeout_ms = 5000;
        if (json_is_integer(json_object_get(r, "timeout_ms")))
            c->timeout_ms = json_integer_value(json_object_get(r, "timeout_ms"));
        hn_caselist_add(out, c);
    }
}

/* The 1-based line of each top-level step, 0 when the loader has no mark for it. New array. */
static json_t *step_lines(const struct wc_yaml_doc *doc, const json_t *steps)
{
    json_t *lines = json_array();

    for (size_t i = 0; i < json_array_size(steps); i++) {
        int line = 0, col = 0;
        if (!wc_yaml_index_pos(doc, steps, i, &line, &col))
            line = 0;
        json_array_append_new(lines, json_integer(line));
    }
    return lines;
}

static int load_doc(struct wc_yaml_doc *doc, const char *name, const struct hn_spec *spec,
                    struct hn_caselist *out, json_t *errs)
{
    struct lint l = {.doc = doc, .errs = errs, .spec = spec};
    json_t *root = wc_yaml_root(doc);
    json_t *providers = NULL;
    static const char *const builtins[] = {"case", "seed", "user", "unknown_model", NULL};

    if (!json_is_object(root)) {
        json_array_append_new(errs, json_sprintf("%s:1:1: a case file holds one mapping", name));
        return WC_ERR_CONFIG;
    }
    l.root = root;
    l.known = json_object();
    l.scripts = json_object();
    l.script_labels = json_object();
    l.sessions = json_object();
    l.connected = json_object();
    l.paused = json_object();
    for (size_t i = 0; builtins[i]; i++)
        json_object_set_new(l.known, builtins[i], json_true());

    lint_top(&l, root, name);
    providers = lint_providers(&l, root);
    if (!json_object_get(root, "steps"))
        lerr(&l, NULL, NULL, root, "case: missing required key 'steps'");
    else
        lint_steps(&l, root, false);

    if (l.nerr == 0) {
        json_t *lines = step_lines(doc, json_object_get(root, "steps"));
        expand(root, providers, name, spec_wire(spec), lines, out);
        json_decref(lines);
    }
    json_decref(providers);
    json_decref(l.known);
    json_decref(l.scripts);
    json_decref(l.script_labels);
    json_decref(l.sessions);
    json_decref(l.connected);
    json_decref(l.paused);
    return l.nerr ? WC_ERR_CONFIG : 0;
}

int hn_case_load_file(const char *path, const struct hn_spec *spec, struct hn_caselist *out,
                      json_t *errs)
{
    char *err = NULL;
    struct wc_yaml_doc *doc = wc_yaml_load_file(path, &err);
    int rc;

    if (!doc) {
        json_array_append_new(errs, json_string(err ? err : path));
        free(err);
        return WC_ERR_CONFIG;
    }
    rc = load_doc(doc, path, spec, out, errs);
    wc_yaml_free(doc);
    return rc;
}

int hn_case_load_string(const char *name, const char *text, const struct hn_spec *spec,
                        struct hn_caselist *out, json_t *errs)
{
    char *err = NULL;
    struct wc_yaml_doc *doc = wc_yaml_load_string(name, text, strlen(text), &err);
    int rc;

    if (!doc) {
        json_array_append_new(errs, json_string(err ? err : name));
        free(err);
        return WC_ERR_CONFIG;
    }
    rc = load_doc(doc, name, spec, out, errs);
    wc_yaml_free(doc);
    return rc;
}

/* ---- where a spec version lives ---------------------------------------------------------- */

static bool has_catalog(const char *dir)
{
    char *p = wc_xasprintf("%s/catalog.yaml", dir);
    bool ok = access(p, R_OK) == 0;

    free(p);
    return ok;
}

/* DIR/<v> for the first DIR of $GWSPEC_SPEC_PATH (colon-separated) that has it, or NULL. */
static char *from_spec_path(const char *v)
{
    const char *path = getenv("GWSPEC_SPEC_PATH"), *colon;

    for (; path && *path; path = colon ? colon + 1 : "") {
        colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        if (!len)
            continue;
        char *p = wc_xasprintf("%.*s/%s", (int)len, path, v);
        if (has_catalog(p))
            return p;
        free(p);
    }
    return NULL;
}

char *hn_spec_locate(const char *version)
{
    char exe[4096], *v = wc_xstrdup(version ? version : "chatgw/1.0"), *p, *slash;
    static const char *const rel[] = {"../spec", "../../spec", "spec"};
    ssize_t len;
    size_t i;

    for (p = v; *p; p++) {
        if (*p == '/')
            *p = '-';
    }
    if ((p = from_spec_path(v)) != NULL)
        goto out;
    p = wc_xasprintf("spec/%s", v);
    if (has_catalog(p))
        goto out;
    free(p);
    p = NULL;
    len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = '\0';
        slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
            p = wc_xasprintf("%s/%s/%s", exe, rel[i], v);
            if (has_catalog(p))
                goto out;
            free(p);
            p = NULL;
        }
    }
out:
    free(v);
    return p;
}

char *hn_spec_dir(const char *version)
{
    char *found = hn_spec_locate(version); /* cwd, then next to the binary */
    if (found)
        return found;
    char *d = wc_xasprintf("spec/%s", version);
    for (char *p = d + 5; *p; p++) {
        if (*p == '/')
            *p = '-';
    }
    return d;
}
