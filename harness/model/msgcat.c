/* msgcat.c: load the message catalog and validate frames against it (see msgcat.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "model/msgcat.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_time.h"
#include "wc_yaml.h"
#include "wc_banned.h"

enum ftype {
    FT_STRING = 1 << 0,
    FT_INTEGER = 1 << 1,
    FT_NUMBER = 1 << 2,
    FT_BOOLEAN = 1 << 3,
    FT_OBJECT = 1 << 4,
    FT_ARRAY = 1 << 5,
    FT_NULL = 1 << 6,
    FT_ISO8601 = 1 << 7,
    FT_ANY = 1 << 8,
};

static const struct {
    const char *name;
    unsigned bit;
} ftype_names[] = {
    {"string", FT_STRING},   {"integer", FT_INTEGER}, {"number", FT_NUMBER},
    {"boolean", FT_BOOLEAN}, {"object", FT_OBJECT},   {"array", FT_ARRAY},
    {"null", FT_NULL},       {"iso8601", FT_ISO8601}, {"any", FT_ANY},
};

enum seq_mode { SEQ_NO = 0, SEQ_YES = 1, SEQ_OPTIONAL = 2 };

struct field_spec {
    char *name;     /* the field name */
    unsigned types; /* enum ftype bits, any one may match */
    bool required;  /* must be present */
    json_t *enumv;  /* allowed values (owned array) or NULL */
    bool has_min;   /* min is set */
    double min;     /* numbers only */
};

struct msg_def {
    char *name;                /* kind or type */
    enum seq_mode seq;         /* outbound kinds only */
    struct field_spec *fields; /* owned array */
    size_t nfields;            /* entries in fields */
};

struct def_list {
    struct msg_def *defs; /* owned array */
    size_t n;             /* entries */
};

struct hn_msgcat {
    char *version;            /* `version` */
    struct msg_def envelope;  /* the run-event envelope, as a def without a name */
    struct def_list inbound;  /* by type, with declared extension types */
    struct def_list outbound; /* by kind, with declared extension kinds */
    json_t *never;            /* array of kind strings */
    json_t *ext_kind_names;   /* every extension kind the catalog defines (declared or not) */
    json_t *ext_type_names;   /* the same for types */
    json_t *extra_codes;      /* protocol_error codes added by declared extension types */
};

/* --- loading --------------------------------------------------------------------------- */

struct loader {
    struct wc_yaml_doc *doc; /* the catalog document */
    char *err;               /* first error, new */
};

static int fail(struct loader *ld, const json_t *node, const char *key, const char *what)
{
    if (!ld->err)
        ld->err = wc_yaml_msg(ld->doc, node, key, "%s", what);
    return -1;
}

/* Every key of obj must be in allowed (NULL-terminated). */
static int check_keys(struct loader *ld, const json_t *obj, const char *const *allowed,
                      const char *where)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;
        for (i = 0; allowed[i] && strcmp(allowed[i], key); i++)
            ;
        if (!allowed[i]) {
            char *m = wc_xasprintf("%s: unknown key '%s'", where, key);
            fail(ld, obj, key, m);
            free(m);
            return -1;
        }
    }
    return 0;
}

static int parse_type(struct loader *ld, const json_t *spec, const json_t *t, unsigned *out)
{
    size_t i, k;
    json_t *one;

    if (json_is_string(t)) {
        for (i = 0; i < sizeof(ftype_names) / sizeof(ftype_names[0]); i++) {
            if (!strcmp(ftype_names[i].name, json_string_value(t))) {
                *out |= ftype_names[i].bit;
                return 0;
            }
        }
        return fail(ld, spec, "type",
                    "unknown field type (want string, integer, number, boolean, "
                    "object, array, null, iso8601 or any)");
    }
    if (json_is_null(t)) { /* an unquoted null inside a type list */
        *out |= FT_NULL;
        return 0;
    }
    if (json_is_array(t) && json_array_size(t) > 0) {
        json_array_foreach(t, k, one)
        {
            if (json_is_array(one) || parse_type(ld, spec, one, out))
                return json_is_array(one) ? fail(ld, spec, "type", "nested type list") : -1;
        }
        return 0;
    }
    return fail(ld, spec, "type", "'type' must be a type name or a non-empty list of them");
}

static int parse_field(struct loader *ld, const char *name, const json_t *spec,
                       struct field_spec *f)
{
    static const char *const keys[] = {"type", "required", "enum", "min", "description", NULL};
    json_t *v;

    f->name = wc_xstrdup(name);
    if (!json_is_object(spec))
        return fail(ld, spec, NULL, "a field spec must be a mapping ({type: ..., required: ...})");
    if (check_keys(ld, spec, keys, "field spec"))
        return -1;
    v = json_object_get(spec, "type");
    if (!v)
        return fail(ld, spec, NULL, "field spec without 'type'");
    if (parse_type(ld, spec, v, &f->types))
        return -1;
    v = json_object_get(spec, "required");
    if (v && !json_is_boolean(v))
        return fail(ld, spec, "required", "'required' must be true or false");
    f->required = json_is_true(v);
    v = json_object_get(spec, "enum");
    if (v && (!json_is_array(v) || !json_array_size(v)))
        return fail(ld, spec, "enum", "'enum' must be a non-empty list");
    f->enumv = json_incref(v);
    v = json_object_get(spec, "min");
    if (v && !json_is_number(v))
        return fail(ld, spec, "min", "'min' must be a number");
    f->has_min = v != NULL;
    f->min = v ? json_number_value(v) : 0;
    return 0;
}

static int parse_fields(struct loader *ld, const json_t *fields, struct msg_def *d)
{
    const char *key;
    json_t *spec;

    if (!fields)
        return 0;
    if (!json_is_object(fields))
        return fail(ld, fields, NULL, "'fields' must be a mapping of field name to spec");
    d->fields = wc_xcalloc(json_object_size(fields) + 1, sizeof(*d->fields));
    json_object_foreach((json_t *)fields, key, spec)
    {
        if (parse_field(ld, key, spec, &d->fields[d->nfields++]))
            return -1;
    }
    return 0;
}

/* One inbound or outbound definition. */
static int parse_def(struct loader *ld, const char *name, const json_t *def, bool outbound,
                     struct msg_def *d)
{
    static const char *const out_keys[] = {"seq", "fields", "description", NULL};
    static const char *const in_keys[] = {"fields", "codes", "description", NULL};
    json_t *seq;

    d->name = wc_xstrdup(name);
    if (json_is_null(def))
        return 0;
    if (!json_is_object(def))
        return fail(ld, def, NULL, "a message definition must be a mapping");
    if (check_keys(ld, def, outbound ? out_keys : in_keys, outbound ? "kind" : "type"))
        return -1;
    seq = json_object_get(def, "seq");
    if (seq && json_is_boolean(seq))
        d->seq = json_is_true(seq) ? SEQ_YES : SEQ_NO;
    else if (seq && json_is_string(seq) && !strcmp(json_string_value(seq), "optional"))
        d->seq = SEQ_OPTIONAL;
    else if (seq)
        return fail(ld, def, "seq", "'seq' must be true, false or optional");
    return parse_fields(ld, json_object_get(def, "fields"), d);
}

static int parse_section(struct loader *ld, const json_t *sec, bool outbound, struct def_list *l,
                         const char *secname)
{
    const char *key;
    json_t *def;

    if (!sec)
        return 0;
    if (!json_is_object(sec)) {
        char *m = wc_xasprintf("'%s' must be a mapping", secname);
        fail(ld, sec, NULL, m);
        free(m);
        return -1;
    }
    l->defs = wc_xrealloc(l->defs, (l->n + json_object_size(sec) + 1) * sizeof(*l->defs));
    json_object_foreach((json_t *)sec, key, def)
    {
        memset(&l->defs[l->n], 0, sizeof(l->defs[l->n]));
        if (parse_def(ld, key, def, outbound, &l->defs[l->n++]))
            return -1;
    }
    return 0;
}

static bool name_in(const json_t *arr, const char *name)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), name))
            return true;
    }
    return false;
}

/* Add the declared extensions (names in `declared`) from catalog section `sec`. */
static int add_extensions(struct loader *ld, struct hn_msgcat *c, const json_t *sec,
                          const json_t *declared, bool outbound)
{
    const char *what = outbound ? "kind" : "type";
    struct def_list *l = outbound ? &c->outbound : &c->inbound;
    size_t i;
    json_t *name;

    if (sec && !json_is_object(sec))
        return fail(ld, sec, NULL, "extensions: 'kinds' and 'types' must be mappings");
    if (sec) {
        const char *key;
        json_t *def;
        json_object_foreach((json_t *)sec, key, def) json_array_append_new(
            outbound ? c->ext_kind_names : c->ext_type_names, json_string(key));
    }
    if (declared && !json_is_array(declared)) {
        ld->err = wc_xasprintf("%s: the target's extension %ss must be a list of names",
                               wc_yaml_name(ld->doc), what);
        return -1;
    }
    json_array_foreach(declared, i, name)
    {
        json_t *def =
            json_is_string(name) && sec ? json_object_get(sec, json_string_value(name)) : NULL;
        json_t *codes;
        if (!def) {
            ld->err =
                wc_xasprintf("%s: the target declares extension %s %s%s%s that the catalog does "
                             "not define",
                             wc_yaml_name(ld->doc), what, json_is_string(name) ? "'" : "",
                             json_is_string(name) ? json_string_value(name) : "(not a string)",
                             json_is_string(name) ? "'" : "");
            return -1;
        }
        l->defs = wc_xrealloc(l->defs, (l->n + 1) * sizeof(*l->defs));
        memset(&l->defs[l->n], 0, sizeof(l->defs[l->n]));
        if (parse_def(ld, json_string_value(name), def, outbound, &l->defs[l->n++]))
            return -1;
        codes = outbound ? NULL : json_object_get(def, "codes");
        if (codes && !json_is_array(codes))
            return fail(ld, def, "codes", "'codes' must be a list of protocol_error codes");
        if (codes)
            json_array_extend(c->extra_codes, codes);
    }
    return 0;
}

static int load_root(struct loader *ld, struct hn_msgcat *c, const json_t *root,
                     const json_t *ext_kinds, const json_t *ext_types)
{
    static const char *const top[] = {"version", "envelope",   "inbound", "outbound",
                                      "never",   "extensions", NULL};
    static const char *const ext_keys[] = {"kinds", "types", NULL};
    json_t *ext, *never;
    size_t i;
    json_t *v;

    if (!json_is_object(root))
        return fail(ld, root, NULL, "the catalog must be a mapping");
    if (check_keys(ld, root, top, "catalog"))
        return -1;
    if (!wc_json_str(root, "version"))
        return fail(ld, root, NULL, "the catalog has no string 'version'");
    c->version = wc_xstrdup(wc_json_str(root, "version"));
    if (parse_fields(ld, json_object_get(root, "envelope"), &c->envelope))
        return -1;
    if (parse_section(ld, json_object_get(root, "inbound"), false, &c->inbound, "inbound") ||
        parse_section(ld, json_object_get(root, "outbound"), true, &c->outbound, "outbound"))
        return -1;
    never = json_object_get(root, "never");
    if (never && !json_is_array(never))
        return fail(ld, never, NULL, "'never' must be a list of kinds");
    json_array_foreach(never, i, v)
    {
        if (!json_is_string(v))
            return fail(ld, never, NULL, "'never' must be a list of kinds");
    }
    if (never)
        json_array_extend(c->never, never);
    ext = json_object_get(root, "extensions");
    if (ext && (!json_is_object(ext) || check_keys(ld, ext, ext_keys, "extensions")))
        return ld->err ? -1 : fail(ld, ext, NULL, "'extensions' must be a mapping");
    if (add_extensions(ld, c, json_object_get(ext, "kinds"), ext_kinds, true) ||
        add_extensions(ld, c, json_object_get(ext, "types"), ext_types, false))
        return -1;
    return 0;
}

static struct hn_msgcat *load_doc(struct wc_yaml_doc *doc, const json_t *ext_kinds,
                                  const json_t *ext_types, char **err)
{
    struct hn_msgcat *c = wc_xcalloc(1, sizeof(*c));
    struct loader ld = {.doc = doc, .err = NULL};

    c->never = json_array();
    c->ext_kind_names = json_array();
    c->ext_type_names = json_array();
    c->extra_codes = json_array();
    if (load_root(&ld, c, wc_yaml_root(doc), ext_kinds, ext_types)) {
        *err = ld.err;
        hn_msgcat_free(c);
        c = NULL;
    }
    wc_yaml_free(doc);
    return c;
}

struct hn_msgcat *hn_msgcat_load(const char *spec_dir, const json_t *ext_kinds,
                                 const json_t *ext_types, char **err)
{
    char *path = wc_xasprintf("%s/catalog.yaml", spec_dir);
    struct wc_yaml_doc *doc = wc_yaml_load_file(path, err);

    free(path);
    return doc ? load_doc(doc, ext_kinds, ext_types, err) : NULL;
}

struct hn_msgcat *hn_msgcat_load_string(const char *name, const char *yaml, const json_t *ext_kinds,
                                        const json_t *ext_types, char **err)
{
    struct wc_yaml_doc *doc = wc_yaml_load_string(name, yaml, strlen(yaml), err);

    return doc ? load_doc(doc, ext_kinds, ext_types, err) : NULL;
}

static void def_release(struct msg_def *d)
{
    size_t i;

    for (i = 0; i < d->nfields; i++) {
        free(d->fields[i].name);
        json_decref(d->fields[i].enumv);
    }
    free(d->fields);
    free(d->name);
}

static void list_release(struct def_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        def_release(&l->defs[i]);
    free(l->defs);
}

void hn_msgcat_free(struct hn_msgcat *c)
{
    if (!c)
        return;
    free(c->version);
    def_release(&c->envelope);
    list_release(&c->inbound);
    list_release(&c->outbound);
    json_decref(c->never);
    json_decref(c->ext_kind_names);
    json_decref(c->ext_type_names);
    json_decref(c->extra_codes);
    free(c);
}

/* --- validation ------------------------------------------------------------------------ */

static const struct msg_def *find_def(const struct def_list *l, const char *name)
{
    size_t i;

    for (i = 0; name && i < l->n; i++) {
        if (!strcmp(l->defs[i].name, name))
            return &l->defs[i];
    }
    return NULL;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    default:
        WC_BUG("json type");
    }
}

static bool type_ok(unsigned types, const json_t *v)
{
    if (types & FT_ANY)
        return true;
    if ((types & FT_STRING) && json_is_string(v))
        return true;
    if ((types & FT_ISO8601) && json_is_string(v) && wc_is_iso8601(json_string_value(v)))
        return true;
    if ((types & FT_INTEGER) &&
        (json_is_integer(v) ||
         (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)))))
        return true;
    if ((types & FT_NUMBER) && json_is_number(v))
        return true;
    if ((types & FT_BOOLEAN) && json_is_boolean(v))
        return true;
    if ((types & FT_OBJECT) && json_is_object(v))
        return true;
    if ((types & FT_ARRAY) && json_is_array(v))
        return true;
    return (types & FT_NULL) && json_is_null(v);
}

static void add_types(struct wc_buf *b, unsigned types)
{
    size_t i;
    const char *sep = "";

    for (i = 0; i < sizeof(ftype_names) / sizeof(ftype_names[0]); i++) {
        if (types & ftype_names[i].bit) {
            wc_buf_addf(b, "%s%s", sep, ftype_names[i].name);
            sep = " or ";
        }
    }
}

static void problem(struct wc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct wc_buf *b, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (b->len)
        wc_buf_adds(b, "; ");
    wc_buf_adds(b, s ? s : "(out of memory)");
    free(s);
}

static bool enum_ok(const json_t *enumv, const json_t *extra, const json_t *v)
{
    size_t i;
    json_t *e;

    json_array_foreach(enumv, i, e)
    {
        if (json_equal(e, v))
            return true;
    }
    json_array_foreach(extra, i, e)
    {
        if (json_equal(e, v))
            return true;
    }
    return false;
}

static void check_field(const struct field_spec *f, const json_t *frame, const json_t *extra,
                        struct wc_buf *b)
{
    json_t *v = json_object_get(frame, f->name);
    char *txt;

    if (!v) {
        if (f->required)
            problem(b, "missing required field '%s'", f->name);
        return;
    }
    if (!type_ok(f->types, v)) {
        problem(b, "field '%s': expected ", f->name);
        add_types(b, f->types);
        wc_buf_addf(b, ", got %s", json_type_name(v));
        if ((f->types & FT_ISO8601) && json_is_string(v))
            wc_buf_adds(b, " that is not ISO-8601");
        return;
    }
    if (f->enumv && !enum_ok(f->enumv, extra, v)) {
        txt = wc_json_compact(v);
        problem(b, "field '%s': %s is not one of the allowed values", f->name, txt);
        free(txt);
    }
    if (f->has_min && json_is_number(v) && json_number_value(v) < f->min) {
        txt = wc_json_compact(v);
        problem(b, "field '%s': %s is below the minimum %g", f->name, txt, f->min);
        free(txt);
    }
}

static void check_fields(const struct msg_def *d, const json_t *frame, const json_t *extra,
                         struct wc_buf *b)
{
    size_t i;

    for (i = 0; i < d->nfields; i++)
        check_field(&d->fields[i], frame, extra, b);
}

static int finish(struct wc_buf *b, const char *name, char **why)
{
    if (!b->len) {
        wc_buf_release(b);
        return 0;
    }
    *why = wc_xasprintf("%s: %s", name, b->buf);
    wc_buf_release(b);
    return WC_ERR_PROTOCOL;
}

int hn_msgcat_check_outbound(const struct hn_msgcat *c, const json_t *frame, char **why)
{
    const char *kind = wc_json_str(frame, "kind");
    const struct msg_def *d;
    struct wc_buf b;

    if (!json_is_object(frame)) {
        *why = wc_xasprintf("frame is a JSON %s, not an object", json_type_name(frame));
        return WC_ERR_PROTOCOL;
    }
    if (!kind) {
        *why = wc_xstrdup(json_object_get(frame, "kind") ? "'kind' is not a string"
                                                         : "frame has no 'kind'");
        return WC_ERR_PROTOCOL;
    }
    if (hn_msgcat_is_never(c, kind)) {
        *why = wc_xasprintf("%s: this kind must never reach a client", kind);
        return WC_ERR_PROTOCOL;
    }
    d = find_def(&c->outbound, kind);
    if (!d) {
        *why = name_in(c->ext_kind_names, kind)
                   ? wc_xasprintf("%s: an extension kind the target does not declare", kind)
                   : wc_xasprintf("%s: undeclared kind (not in the %s catalog)", kind, c->version);
        return WC_ERR_PROTOCOL;
    }
    wc_buf_init(&b, 0);
    if (d->seq == SEQ_YES || (d->seq == SEQ_OPTIONAL && json_object_get(frame, "seq")))
        check_fields(&c->envelope, frame, NULL, &b);
    check_fields(d, frame, strcmp(kind, "protocol_error") ? NULL : c->extra_codes, &b);
    return finish(&b, kind, why);
}

int hn_msgcat_check_envelope(const struct hn_msgcat *c, const json_t *frame, char **why)
{
    struct wc_buf b;

    wc_buf_init(&b, 0);
    if (json_is_object(frame))
        check_fields(&c->envelope, frame, NULL, &b);
    else
        problem(&b, "not an object");
    return finish(&b, "envelope", why);
}

int hn_msgcat_check_inbound(const struct hn_msgcat *c, const json_t *frame, char **why)
{
    const char *type = wc_json_str(frame, "type");
    const struct msg_def *d;
    struct wc_buf b;

    if (!json_is_object(frame)) {
        *why = wc_xasprintf("frame is a JSON %s, not an object", json_type_name(frame));
        return WC_ERR_PROTOCOL;
    }
    if (!type) {
        *why = wc_xstrdup(json_object_get(frame, "type") ? "'type' is not a string"
                                                         : "frame has no 'type'");
        return WC_ERR_PROTOCOL;
    }
    d = find_def(&c->inbound, type);
    if (!d) {
        *why = name_in(c->ext_type_names, type)
                   ? wc_xasprintf("%s: an extension type the target does not declare", type)
                   : wc_xasprintf("%s: undeclared type (not in the %s catalog)", type, c->version);
        return WC_ERR_PROTOCOL;
    }
    wc_buf_init(&b, 0);
    check_fields(d, frame, NULL, &b);
    return finish(&b, type, why);
}

bool hn_msgcat_is_run_event(const struct hn_msgcat *c, const char *kind)
{
    const struct msg_def *d = find_def(&c->outbound, kind);
    return d && d->seq == SEQ_YES;
}

bool hn_msgcat_has_inbound(const struct hn_msgcat *c, const char *type)
{
    return find_def(&c->inbound, type) != NULL;
}

bool hn_msgcat_is_never(const struct hn_msgcat *c, const char *kind)
{
    return kind && name_in(c->never, kind);
}

const char *hn_msgcat_version(const struct hn_msgcat *c)
{
    return c->version;
}
