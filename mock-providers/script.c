/*
 * script.c: parse and validate provider scripts (spec/control-channel.md §2).
 *
 * The parser is strict: an unknown step name, an unknown key, a wrong type or an out-of-range
 * number is an error with a position ("file:line:col: message" when the script came from YAML,
 * "script step N: message" otherwise). A parsed script owns deep copies of everything it needs,
 * so it does not depend on the document it came from. No I/O except mp_script_load_file.
 */
#include "script.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_mem.h"
#include "wc_banned.h"

#define MAX_EMIT_MANY     1000000 /* emit_many count cap */
#define MAX_DELAY_MS      600000  /* delay cap: ten minutes */
#define MAX_DEFAULT_WORDS 64      /* the default script echoes at most this many words */

/* The step catalogue: the name written in a script, and its type. */
static const struct {
    const char *name;
    enum mp_step_type type;
} step_names[] = {
    {"announce", MP_STEP_ANNOUNCE},
    {"session_created", MP_STEP_SESSION_CREATED},
    {"emit", MP_STEP_EMIT},
    {"emit_many", MP_STEP_EMIT_MANY},
    {"barrier", MP_STEP_BARRIER},
    {"wait_abort", MP_STEP_WAIT_ABORT},
    {"complete", MP_STEP_COMPLETE},
    {"crash", MP_STEP_CRASH},
    {"exit", MP_STEP_EXIT},
    {"hang", MP_STEP_HANG},
    {"permission", MP_STEP_PERMISSION},
    {"report", MP_STEP_REPORT},
    {"delay", MP_STEP_DELAY},
    {"fail_start", MP_STEP_FAIL_START},
};
#define N_STEP_NAMES (sizeof(step_names) / sizeof(step_names[0]))

static const char *const report_facts[] = {"cwd", "argv", "options", "resume"};

struct pctx {
    const struct wc_yaml_doc *doc; /* or NULL: messages say "script step N" */
    size_t stepno;                 /* 1-based index in the input array, 0 = the array itself */
    const json_t *steps;           /* the input array */
    char *err;                     /* the first error (owned) */
};

static bool yaml_pos_known(const struct wc_yaml_doc *doc, const json_t *node, const char *key)
{
    int line, col;

    return key ? wc_yaml_key_pos(doc, node, key, &line, &col) : wc_yaml_pos(doc, node, &line, &col);
}

/* Record an error at obj's key `key` (key != NULL) or at node. Keeps only the first error. */
static void vfail(struct pctx *p, const json_t *node, const char *key, const char *fmt, va_list ap)
{
    char *msg;
    int line, col;

    if (p->err)
        return;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = wc_xstrdup(fmt);
    if (p->doc && yaml_pos_known(p->doc, node, key))
        p->err = wc_yaml_msg(p->doc, node, key, "%s", msg);
    else if (p->doc && !key && p->stepno && node == json_array_get(p->steps, p->stepno - 1) &&
             wc_yaml_index_pos(p->doc, p->steps, p->stepno - 1, &line, &col)) {
        /* a step that is null or true: the place of the item itself */
        char *one = wc_yaml_one_line(msg);
        p->err = wc_xasprintf("%s:%d:%d: %s", wc_yaml_name(p->doc), line, col, one);
        free(one);
    } else if (p->doc && p->stepno && wc_yaml_pos(p->doc, p->steps, &line, &col)) {
        /* a bare `-` has no token at all: the script's place, and the step's number */
        char *one = wc_yaml_one_line(msg);
        p->err = wc_xasprintf("%s:%d:%d: script step %zu: %s", wc_yaml_name(p->doc), line, col,
                              p->stepno, one);
        free(one);
    } else if (p->doc && p->stepno)
        p->err = wc_xasprintf("%s: script step %zu: %s", wc_yaml_name(p->doc), p->stepno, msg);
    else if (p->doc)
        p->err = wc_xasprintf("%s: %s", wc_yaml_name(p->doc), msg);
    else if (p->stepno)
        p->err = wc_xasprintf("script step %zu: %s", p->stepno, msg);
    else
        p->err = wc_xasprintf("script: %s", msg);
    free(msg);
}

/* An error at a node (an array element or a step object). */
__attribute__((format(printf, 3, 4))) static bool fail_node(struct pctx *p, const json_t *node,
                                                            const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(p, node, NULL, fmt, ap);
    va_end(ap);
    return false;
}

/* An error at a key of obj (unknown keys, duplicate step names). */
__attribute__((format(printf, 4, 5))) static bool fail_key(struct pctx *p, const json_t *obj,
                                                           const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(p, obj, key, fmt, ap);
    va_end(ap);
    return false;
}

/*
 * An error about obj[key]'s value: at the value when its position is known, else at the key
 * (null/true/false are jansson singletons and carry no position of their own).
 */
__attribute__((format(printf, 4, 5))) static bool fail_val(struct pctx *p, const json_t *obj,
                                                           const char *key, const char *fmt, ...)
{
    va_list ap;
    const json_t *v = json_object_get(obj, key);
    int line, col;
    bool at_value = p->doc && v && wc_yaml_pos(p->doc, v, &line, &col);

    va_start(ap, fmt);
    vfail(p, at_value ? v : obj, at_value ? NULL : key, fmt, ap);
    va_end(ap);
    return false;
}

/* Reject every key of obj that is not in the NULL-terminated list `allowed`. */
static bool only_keys(struct pctx *p, const json_t *obj, const char *const *allowed,
                      const char *where)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;
        for (i = 0; allowed[i]; i++) {
            if (strcmp(allowed[i], key) == 0)
                break;
        }
        if (!allowed[i])
            return fail_key(p, obj, key, "unknown key '%s' in %s", key, where);
    }
    return true;
}

static bool get_int(const json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!json_is_integer(v))
        return false;
    *out = json_integer_value(v);
    return *out >= lo && *out <= hi;
}

static bool parse_id_arg(struct pctx *p, const json_t *obj, const char *name, struct mp_step *st)
{
    const json_t *v = json_object_get(obj, name);

    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail_val(p, obj, name, "%s needs a native id string or auto", name);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return fail_val(p, obj, name, "%s: the id contains a NUL byte", name);
    st->arg = wc_xstrdup(json_string_value(v));
    return true;
}

static bool parse_event_fields(struct pctx *p, const json_t *obj, const char *name,
                               struct mp_step *st)
{
    const json_t *v = json_object_get(obj, name);

    if (!json_is_object(v))
        return fail_val(p, obj, name, "%s needs an object of event fields", name);
    if (st->type == MP_STEP_EMIT_MANY) {
        if (!json_object_get(v, "count"))
            return fail_val(p, obj, name, "emit_many needs 'count'");
        if (!get_int(json_object_get(v, "count"), 1, MAX_EMIT_MANY, &st->count))
            return fail_val(p, v, "count", "emit_many count must be an integer from 1 to %d",
                            MAX_EMIT_MANY);
    }
    if (!json_is_string(json_object_get(v, "kind")))
        return json_object_get(v, "kind")
                   ? fail_val(p, v, "kind", "%s: 'kind' must be a string", name)
                   : fail_val(p, obj, name, "%s needs a string 'kind'", name);
    st->fields = json_deep_copy(v);
    if (st->type == MP_STEP_EMIT_MANY)
        json_object_del(st->fields, "count");
    return true;
}

static bool parse_true(struct pctx *p, const json_t *obj, const char *name)
{
    if (!json_is_true(json_object_get(obj, name)))
        return fail_val(p, obj, name, "%s takes true", name);
    return true;
}

static bool parse_status(struct pctx *p, const json_t *obj, const char *name, struct mp_step *st)
{
    int64_t code;

    if (!get_int(json_object_get(obj, name), 0, 255, &code))
        return fail_val(p, obj, name, "%s needs an exit status from 0 to 255", name);
    st->exit_code = (int)code;
    return true;
}

static bool parse_complete(struct pctx *p, const json_t *obj, struct mp_step *st)
{
    static const char *const keys[] = {"exitCode", "fields", NULL};
    const json_t *v = json_object_get(obj, "complete");
    const json_t *fields;
    int64_t code;

    if (json_is_integer(v)) {
        if (!get_int(v, INT32_MIN, INT32_MAX, &code))
            return fail_val(p, obj, "complete", "complete: exit code out of range");
        st->exit_code = (int)code;
        return true;
    }
    if (!json_is_object(v))
        return fail_val(p, obj, "complete", "complete needs an exit code or {exitCode, fields}");
    if (!only_keys(p, v, keys, "complete"))
        return false;
    if (!json_object_get(v, "exitCode"))
        return fail_val(p, obj, "complete", "complete needs 'exitCode'");
    if (!get_int(json_object_get(v, "exitCode"), INT32_MIN, INT32_MAX, &code))
        return fail_val(p, v, "exitCode", "complete: exitCode must be an integer");
    st->exit_code = (int)code;
    fields = json_object_get(v, "fields");
    if (!fields)
        return true;
    if (!json_is_object(fields))
        return fail_val(p, v, "fields", "complete: fields must be an object");
    if (json_object_get(fields, "kind"))
        return fail_key(p, fields, "kind", "complete: fields may not set 'kind'");
    if (json_object_get(fields, "exitCode"))
        return fail_key(p, fields, "exitCode", "complete: fields may not set 'exitCode'");
    st->fields = json_deep_copy(fields);
    return true;
}

static bool parse_permission(struct pctx *p, const json_t *obj, struct mp_step *st)
{
    static const char *const keys[] = {"toolName", "input", "timeoutMs", NULL};
    const json_t *v = json_object_get(obj, "permission");
    const json_t *input, *tmo;

    if (!json_is_object(v))
        return fail_val(p, obj, "permission", "permission needs {toolName, input}");
    if (!only_keys(p, v, keys, "permission"))
        return false;
    if (!json_is_string(json_object_get(v, "toolName")))
        return json_object_get(v, "toolName")
                   ? fail_val(p, v, "toolName", "permission: 'toolName' must be a string")
                   : fail_val(p, obj, "permission", "permission needs a string 'toolName'");
    tmo = json_object_get(v, "timeoutMs");
    if (tmo && (!json_is_integer(tmo) || json_integer_value(tmo) <= 0))
        return fail_val(p, v, "timeoutMs", "permission: 'timeoutMs' must be a positive integer");
    input = json_object_get(v, "input");
    st->fields =
        json_pack("{s:s, s:o}", "toolName", json_string_value(json_object_get(v, "toolName")),
                  "input", input ? json_deep_copy(input) : json_object());
    if (tmo)
        json_object_set_new(st->fields, "timeoutMs", json_integer(json_integer_value(tmo)));
    return true;
}

static bool parse_report(struct pctx *p, const json_t *obj, struct mp_step *st)
{
    const json_t *v = json_object_get(obj, "report");
    size_t i;
    json_t *fact;

    if (!json_is_array(v) || json_array_size(v) == 0)
        return fail_val(p, obj, "report",
                        "report needs a list of facts (cwd, argv, options, resume)");
    json_array_foreach((json_t *)v, i, fact)
    {
        size_t k;
        for (k = 0; json_is_string(fact) && k < 4; k++) {
            if (strcmp(json_string_value(fact), report_facts[k]) == 0)
                break;
        }
        if (!json_is_string(fact))
            return fail_val(p, obj, "report", "report: facts must be strings");
        if (k == 4)
            return fail_node(p, fact, "report: unknown fact '%s' (cwd, argv, options, resume)",
                             json_string_value(fact));
    }
    st->fields = json_deep_copy(v);
    return true;
}

static bool parse_step_value(struct pctx *p, const json_t *obj, const char *name,
                             struct mp_step *st)
{
    const json_t *v = json_object_get(obj, name);

    switch (st->type) {
    case MP_STEP_ANNOUNCE:
    case MP_STEP_SESSION_CREATED:
        return parse_id_arg(p, obj, name, st);
    case MP_STEP_EMIT:
    case MP_STEP_EMIT_MANY:
        return parse_event_fields(p, obj, name, st);
    case MP_STEP_BARRIER:
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            strlen(json_string_value(v)) != json_string_length(v))
            return fail_val(p, obj, name, "barrier needs a name");
        st->arg = wc_xstrdup(json_string_value(v));
        return true;
    case MP_STEP_FAIL_START:
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            strlen(json_string_value(v)) != json_string_length(v))
            return fail_val(p, obj, name, "fail_start needs the message the start fails with");
        st->arg = wc_xstrdup(json_string_value(v));
        return true;
    case MP_STEP_WAIT_ABORT:
    case MP_STEP_HANG:
        return parse_true(p, obj, name);
    case MP_STEP_COMPLETE:
        return parse_complete(p, obj, st);
    case MP_STEP_CRASH:
    case MP_STEP_EXIT:
        return parse_status(p, obj, name, st);
    case MP_STEP_PERMISSION:
        return parse_permission(p, obj, st);
    case MP_STEP_REPORT:
        return parse_report(p, obj, st);
    case MP_STEP_DELAY:
        if (!get_int(v, 0, MAX_DELAY_MS, &st->count))
            return fail_val(p, obj, name, "delay needs milliseconds from 0 to %d", MAX_DELAY_MS);
        return true;
    }
    return fail_key(p, obj, name, "unknown step '%s'", name); /* NOTREACHED */
}

static int lookup_step(const char *name)
{
    for (size_t i = 0; i < N_STEP_NAMES; i++) {
        if (strcmp(step_names[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/* One element of the steps array into *st. */
static bool parse_step(struct pctx *p, const json_t *obj, struct mp_step *st)
{
    const char *key, *name = NULL;
    json_t *v;

    if (!json_is_object(obj))
        return fail_node(p, obj, "a step must be a mapping such as {emit: {...}}");
    if (json_object_size(obj) == 0)
        return fail_node(p, obj, "empty step");
    json_object_foreach((json_t *)obj, key, v)
    {
        int i = lookup_step(key);
        if (i < 0)
            continue;
        if (name)
            return fail_key(p, obj, key, "one step holds two step names, '%s' and '%s'", name, key);
        name = key;
        st->type = step_names[i].type;
    }
    if (!name) {
        json_object_foreach((json_t *)obj, key, v)
        {
            if (strcmp(key, "on_abort") == 0)
                return fail_key(p, obj, key, "on_abort must be the first step");
            return fail_key(p, obj, key, "unknown step '%s'", key);
        }
    }
    /* No step takes modifier keys yet: every sibling of the step name is unknown. */
    json_object_foreach((json_t *)obj, key, v)
    {
        if (strcmp(key, name) != 0)
            return fail_key(p, obj, key, "unknown key '%s' in step '%s'", key, name);
    }
    return parse_step_value(p, obj, name, st);
}

/* The optional first step {on_abort: stop|ignore|hang}. Returns false on error. */
static bool parse_on_abort(struct pctx *p, const json_t *obj, enum mp_on_abort *out)
{
    static const char *const keys[] = {"on_abort", NULL};
    const char *s = json_string_value(json_object_get(obj, "on_abort"));

    if (!only_keys(p, obj, keys, "step 'on_abort'"))
        return false;
    if (s && strcmp(s, "stop") == 0)
        *out = MP_ON_ABORT_STOP;
    else if (s && strcmp(s, "ignore") == 0)
        *out = MP_ON_ABORT_IGNORE;
    else if (s && strcmp(s, "hang") == 0)
        *out = MP_ON_ABORT_HANG;
    else
        return fail_val(p, obj, "on_abort", "on_abort must be stop, ignore or hang");
    return true;
}

static struct mp_script *script_alloc(size_t n)
{
    struct mp_script *s = wc_xcalloc(1, sizeof(*s));

    s->steps = wc_xcalloc(n ? n : 1, sizeof(*s->steps));
    s->n_steps = 0;
    s->on_abort = MP_ON_ABORT_STOP;
    return s;
}

struct mp_script *mp_script_parse(const json_t *steps, const struct wc_yaml_doc *doc, char **err)
{
    struct pctx p = {.doc = doc, .stepno = 0, .steps = steps, .err = NULL};
    struct mp_script *s;
    size_t i = 0, n;

    *err = NULL;
    if (!json_is_array(steps)) {
        if (doc && steps)
            fail_node(&p, steps, "a script must be a list of steps");
        else if (doc)
            p.err = wc_xasprintf("%s: a script must be a list of steps", wc_yaml_name(doc));
        else
            p.err = wc_xstrdup("script: a script must be a list of steps");
        *err = p.err;
        return NULL;
    }
    n = json_array_size(steps);
    s = script_alloc(n);
    if (n && json_is_object(json_array_get(steps, 0)) &&
        json_object_get(json_array_get(steps, 0), "on_abort")) {
        p.stepno = 1;
        if (!parse_on_abort(&p, json_array_get(steps, 0), &s->on_abort))
            goto fail;
        i = 1;
    }
    for (size_t first = i; i < n; i++) {
        p.stepno = i + 1;
        if (!parse_step(&p, json_array_get(steps, i), &s->steps[s->n_steps]))
            goto fail;
        s->n_steps++;
        /* A provider that failed to start runs nothing: fail_start stands alone. */
        if (s->steps[s->n_steps - 1].type == MP_STEP_FAIL_START && n - first != 1) {
            fail_node(&p, json_array_get(steps, i), "fail_start must be the script's only step");
            goto fail_counted;
        }
    }
    return s;
fail:
    /* the failed step may hold a partial arg/fields: count it so mp_script_free releases it */
    s->n_steps++;
fail_counted:
    mp_script_free(s);
    *err = p.err;
    return NULL;
}

struct mp_script *mp_script_load_file(const char *path, char **err)
{
    static const char *const keys[] = {"script", "description", NULL};
    struct pctx p = {.doc = NULL, .stepno = 0, .err = NULL};
    struct wc_yaml_doc *doc = wc_yaml_load_file(path, err);
    struct mp_script *s;
    json_t *root;

    if (!doc)
        return NULL;
    root = wc_yaml_root(doc);
    if (json_is_object(root)) {
        p.doc = doc;
        if (!only_keys(&p, root, keys, "a script file")) {
            *err = p.err;
            wc_yaml_free(doc);
            return NULL;
        }
        if (!json_object_get(root, "script")) {
            *err = wc_yaml_msg(doc, root, NULL, "a script file needs 'script'");
            wc_yaml_free(doc);
            return NULL;
        }
        root = json_object_get(root, "script");
    }
    s = mp_script_parse(root, doc, err);
    wc_yaml_free(doc);
    return s;
}

/* Append a step with the given type and take `fields`. */
static struct mp_step *add_step(struct mp_script *s, enum mp_step_type type, json_t *fields)
{
    struct mp_step *st = &s->steps[s->n_steps++];

    st->type = type;
    st->fields = fields;
    return st;
}

struct mp_script *mp_script_default(const char *prompt)
{
    struct mp_script *s = script_alloc(MAX_DEFAULT_WORDS + 2);
    const char *q = prompt ? prompt : "";
    int words = 0;

    add_step(s, MP_STEP_ANNOUNCE, NULL)->arg = wc_xstrdup("auto");
    while (words < MAX_DEFAULT_WORDS) {
        size_t len;
        char *text;
        json_t *content;

        while (*q && isspace((unsigned char)*q))
            q++;
        if (!*q)
            break;
        for (len = 0; q[len] && !isspace((unsigned char)q[len]); len++)
            ;
        /* words after the first carry their separating space, so the deltas join into text */
        text = wc_xasprintf("%s%.*s", words ? " " : "", (int)len, q);
        content = json_string(text);
        /* a prompt that is not UTF-8 (argv of the CLI provider) echoes U+FFFD for the word */
        if (!content)
            content = json_string(words ? " \xEF\xBF\xBD" : "\xEF\xBF\xBD");
        add_step(s, MP_STEP_EMIT,
                 json_pack("{s:s, s:o}", "kind", "stream_delta", "content", content));
        free(text);
        q += len;
        words++;
    }
    add_step(s, MP_STEP_COMPLETE, NULL)->exit_code = 0;
    return s;
}

struct mp_script *mp_script_error(const char *message)
{
    struct mp_script *s = script_alloc(2);
    char *content = wc_xasprintf("gwspec: %s", message ? message : "invalid directive");
    json_t *c = json_string(content);

    /* a message that quotes bytes of a prompt that is not UTF-8: an event with no kind was
     * emitted (fuzz/corpus/provider/error-message-not-utf8); each byte that is not ASCII is '?' */
    if (!c) {
        for (char *p = content; *p; p++) {
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        }
        c = json_string(content);
    }
    add_step(s, MP_STEP_EMIT, json_pack("{s:s, s:o}", "kind", "error", "content", c));
    add_step(s, MP_STEP_COMPLETE, NULL)->exit_code = 1;
    free(content);
    return s;
}

const char *mp_script_start_failure(const struct mp_script *script)
{
    if (!script || script->n_steps != 1 || script->steps[0].type != MP_STEP_FAIL_START)
        return NULL;
    return script->steps[0].arg;
}

const char *mp_step_name(enum mp_step_type type)
{
    for (size_t i = 0; i < N_STEP_NAMES; i++) {
        if (step_names[i].type == type)
            return step_names[i].name;
    }
    return "unknown";
}

void mp_script_free(struct mp_script *script)
{
    if (!script)
        return;
    for (size_t i = 0; i < script->n_steps; i++) {
        free(script->steps[i].arg);
        json_decref(script->steps[i].fields);
    }
    free(script->steps);
    free(script);
}
