/*
 * match.c: variables, interpolation and pattern matching (see match.h).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/match.h"
#include "wc_buf.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_time.h"
#include "wc_banned.h"

#define DIFF_VALUE_MAX 160

static bool name_char(int c, bool first)
{
    if (first)
        return isalpha(c) || c == '_';
    return isalnum(c) || c == '_' || c == '.' || c == '-';
}

bool hn_var_name_valid(const char *name, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!name_char((unsigned char)name[i], i == 0))
            return false;
    }
    return name[len - 1] != '.';
}

bool hn_var_ref(const char *s, const char **name)
{
    if (!s || s[0] != '$' || s[1] == '{')
        return false;
    if (!hn_var_name_valid(s + 1, strlen(s + 1)))
        return false;
    if (name)
        *name = s + 1;
    return true;
}

json_t *hn_json_path(const json_t *v, const char *path)
{
    const char *p = path;
    json_t *cur = (json_t *)v;

    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char *part = wc_xstrndup(p, n);

        if (json_is_object(cur)) {
            cur = json_object_get(cur, part);
        } else if (json_is_array(cur)) {
            char *end;
            long idx = strtol(part, &end, 10);
            cur = (n > 0 && *end == '\0' && idx >= 0) ? json_array_get(cur, (size_t)idx) : NULL;
        } else {
            cur = NULL;
        }
        free(part);
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

json_t *hn_scope_get(const struct hn_scope *sc, const char *name)
{
    json_t *v;

    if (!sc)
        return NULL;
    if (sc->vars) {
        v = json_object_get(sc->vars, name);
        if (v)
            return json_incref(v);
        /* a dotted path into a bound variable: longest bound prefix first */
        for (size_t n = strlen(name); n > 0; n--) {
            if (name[n - 1] != '.' || n < 2)
                continue;
            char *head = wc_xstrndup(name, n - 1);
            json_t *base = json_object_get(sc->vars, head);
            free(head);
            if (base) {
                v = hn_json_path(base, name + n);
                if (v)
                    return json_incref(v);
            }
        }
    }
    if (sc->resolve)
        return sc->resolve(sc->ctx, name);
    return NULL;
}

char *hn_value_text(const json_t *v)
{
    if (json_is_string(v))
        return wc_xstrdup(json_string_value(v));
    return wc_json_compact(v);
}

/* Append v's text: a string's bytes (embedded NULs kept), else its compact JSON. */
static void add_value_text(struct wc_buf *b, const json_t *v)
{
    if (json_is_string(v)) {
        wc_buf_add(b, json_string_value(v), json_string_length(v));
        return;
    }
    char *t = wc_json_compact(v);
    wc_buf_adds(b, t);
    free(t);
}

/*
 * Interpolate ${...} in the len bytes at s (embedded NULs are text like any other byte: a
 * "${s1}\0x" template keeps the NUL and what follows it); when only is not NULL, substitute only
 * its keys and keep the rest. New string, its length in *out_len (may be NULL).
 */
static char *interp(const char *s, size_t len, const struct hn_scope *sc, const json_t *only,
                    char **err, size_t *out_len)
{
    struct wc_buf b;
    const char *p = s, *end = s + len;

    wc_buf_init(&b, 0);
    while (p < end) {
        const char *open = memmem(p, (size_t)(end - p), "${", 2);
        if (!open) {
            wc_buf_add(&b, p, (size_t)(end - p));
            break;
        }
        wc_buf_add(&b, p, (size_t)(open - p));
        const char *close = memchr(open + 2, '}', (size_t)(end - open - 2));
        if (!close) {
            wc_buf_add(&b, open, (size_t)(end - open));
            break;
        }
        size_t n = (size_t)(close - open - 2);
        char *name = wc_xstrndup(open + 2, n);
        json_t *v = NULL;

        if (only) {
            v = json_object_get(only, name);
            if (v)
                json_incref(v);
        } else if (strlen(name) == n && hn_var_name_valid(name, n)) {
            v = hn_scope_get(sc, name);
        }
        if (v) {
            add_value_text(&b, v);
            json_decref(v);
        } else if (only) {
            wc_buf_add(&b, open, n + 3);
        } else {
            if (err)
                *err = wc_xasprintf("unbound variable '%s' in \"%s\"", name, s);
            free(name);
            wc_buf_release(&b);
            return NULL;
        }
        free(name);
        p = close + 1;
    }
    return wc_buf_detach(&b, out_len);
}

char *hn_interp(const char *s, const struct hn_scope *sc, char **err)
{
    return interp(s, strlen(s), sc, NULL, err, NULL);
}

/* {$repeat: {count: N, text: T}}: T (interpolated) N times, as one string. */
static json_t *expand_repeat(const json_t *spec, const struct hn_scope *sc, char **err)
{
    json_t *count = json_object_get(spec, "count");
    json_t *text = json_object_get(spec, "text");
    int64_t n = json_is_integer(count) ? json_integer_value(count) : -1;

    if (!json_is_object(spec) || json_object_size(spec) != 2 || !json_is_string(text) || n < 0) {
        if (err)
            *err = wc_xstrdup("'$repeat' takes {count: N, text: \"...\"}");
        return NULL;
    }
    json_t *unit = hn_expand(text, sc, err);
    if (!unit)
        return NULL;
    if (!json_is_string(unit)) {
        json_decref(unit);
        if (err)
            *err = wc_xstrdup("'$repeat': 'text' must be a string");
        return NULL;
    }
    size_t ulen = json_string_length(unit);
    if (ulen && (uint64_t)n > HN_REPEAT_MAX / ulen) {
        json_decref(unit);
        if (err)
            *err = wc_xasprintf("'$repeat' makes more than %u bytes", HN_REPEAT_MAX);
        return NULL;
    }
    size_t len = ulen * (size_t)n;
    char *buf = wc_xmalloc(len + 1);
    for (int64_t i = 0; i < n; i++)
        memcpy(buf + (size_t)i * ulen, json_string_value(unit), ulen);
    buf[len] = '\0';
    json_t *out = json_stringn_nocheck(buf, len);
    free(buf);
    json_decref(unit);
    return out;
}

json_t *hn_expand(const json_t *tmpl, const struct hn_scope *sc, char **err)
{
    const char *name;

    if (json_is_string(tmpl)) {
        const char *s = json_string_value(tmpl);
        if (strlen(s) == json_string_length(tmpl) && hn_var_ref(s, &name)) {
            json_t *v = hn_scope_get(sc, name);
            if (!v && err)
                *err = wc_xasprintf("unbound variable '$%s'", name);
            return v;
        }
        size_t len = json_string_length(tmpl), out_len;
        if (!memmem(s, len, "${", 2))
            return json_incref((json_t *)tmpl);
        char *t = interp(s, len, sc, NULL, err, &out_len);
        if (!t)
            return NULL;
        json_t *v = json_stringn(t, out_len);
        free(t);
        if (!v && err)
            *err = wc_xasprintf("interpolated string is not valid UTF-8");
        return v;
    }
    if (json_is_object(tmpl) && json_object_size(tmpl) == 1 && json_object_get(tmpl, "$repeat"))
        return expand_repeat(json_object_get(tmpl, "$repeat"), sc, err);
    if (json_is_object(tmpl)) {
        json_t *out = json_object();
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)tmpl, k, m)
        {
            json_t *e = hn_expand(m, sc, err);
            if (!e) {
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, k, e);
        }
        return out;
    }
    if (json_is_array(tmpl)) {
        json_t *out = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(tmpl, i, m)
        {
            json_t *e = hn_expand(m, sc, err);
            if (!e) {
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, e);
        }
        return out;
    }
    return json_incref((json_t *)tmpl);
}

json_t *hn_subst(const json_t *v, const json_t *subst)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v), out_len;
        if (!memmem(s, len, "${", 2))
            return json_incref((json_t *)v);
        char *t = interp(s, len, NULL, subst, NULL, &out_len);
        json_t *r = json_stringn(t, out_len);
        free(t);
        return r ? r : json_incref((json_t *)v);
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m) json_object_set_new(out, k, hn_subst(m, subst));
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) json_array_append_new(out, hn_subst(m, subst));
        return out;
    }
    return json_incref((json_t *)v);
}

bool hn_json_equal(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_object(a)) {
        const char *k;
        json_t *m;
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach((json_t *)a, k, m)
        {
            if (!hn_json_equal(m, json_object_get(b, k)))
                return false;
        }
        return true;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!hn_json_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

static const char *const wildcards[] = {
    "<any>",    "<absent>", "<string>",  "<number>",  "<int>",  "<bool>",     "<null>",
    "<object>", "<array>",  "<iso8601>", "<nonzero>", "<uuid>", "<epoch_ms>", NULL,
};

/*
 * <epoch_ms>: an integer count of milliseconds since 1970-01-01 UTC within HN_EPOCH_MS_SLACK
 * of the harness's wall clock when the frame is matched. The slack allows for a gateway on
 * another host with a clock a little off; a value in seconds, in microseconds, in local time
 * or a constant is off by far more.
 */
#define HN_EPOCH_MS_SLACK (10 * 60 * 1000)

static bool is_epoch_ms_now(const json_t *v)
{
    struct timespec ts;
    double now, d;

    if (!json_is_number(v))
        return false;
    d = json_number_value(v);
    if (!isfinite(d) || floor(d) != d)
        return false;
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
    return fabs(d - now) <= HN_EPOCH_MS_SLACK;
}

bool hn_wildcard_known(const char *s)
{
    for (size_t i = 0; wildcards[i]; i++) {
        if (strcmp(s, wildcards[i]) == 0)
            return true;
    }
    return false;
}

bool hn_wildcard_like(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || s[0] != '<' || s[n - 1] != '>')
        return false;
    for (size_t i = 1; i + 1 < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    }
    return true;
}

static bool is_uuid(const char *s)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    const char *p = s;
    for (int g = 0; g < 5; g++) {
        for (int i = 0; i < groups[g]; i++, p++) {
            if (!isxdigit((unsigned char)*p))
                return false;
        }
        if (g < 4 && *p++ != '-')
            return false;
    }
    return *p == '\0';
}

static bool is_int(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return isfinite(d) && floor(d) == d;
    }
    return false;
}

/* Does a known wildcard w match v (v not NULL)? */
static bool wildcard_ok(const char *w, const json_t *v)
{
    if (!strcmp(w, "<any>"))
        return true;
    if (!strcmp(w, "<absent>"))
        return false;
    if (!strcmp(w, "<string>"))
        return json_is_string(v);
    if (!strcmp(w, "<number>"))
        return json_is_number(v);
    if (!strcmp(w, "<int>"))
        return is_int(v);
    if (!strcmp(w, "<bool>"))
        return json_is_boolean(v);
    if (!strcmp(w, "<null>"))
        return json_is_null(v);
    if (!strcmp(w, "<object>"))
        return json_is_object(v);
    if (!strcmp(w, "<array>"))
        return json_is_array(v);
    if (!strcmp(w, "<iso8601>"))
        return json_is_string(v) && wc_is_iso8601(json_string_value(v));
    if (!strcmp(w, "<nonzero>"))
        return json_is_number(v) && json_number_value(v) != 0;
    if (!strcmp(w, "<uuid>"))
        return json_is_string(v) && is_uuid(json_string_value(v));
    if (!strcmp(w, "<epoch_ms>"))
        return is_epoch_ms_now(v);
    return false;
}

struct mctx {
    const struct hn_scope *sc;
    json_t *caps; /* captures made during this match */
    struct wc_buf path;
    char *diff;
};

static char *short_json(const json_t *v)
{
    char *s = wc_json_compact(v);
    if (strlen(s) > DIFF_VALUE_MAX) {
        s[DIFF_VALUE_MAX - 3] = '\0';
        char *t = wc_xasprintf("%s...", s);
        free(s);
        return t;
    }
    return s;
}

static bool fail(struct mctx *m, const char *fmt_expected, const json_t *expected_v,
                 const json_t *received)
{
    char *exp = expected_v ? short_json(expected_v) : wc_xstrdup(fmt_expected);
    char *rec = received ? short_json(received) : wc_xstrdup("nothing (key absent)");
    m->diff =
        wc_xasprintf("at %s: expected %s, received %s", m->path.len ? m->path.buf : ".", exp, rec);
    free(exp);
    free(rec);
    return false;
}

static bool ident_key(const char *k)
{
    if (!*k || !(isalpha((unsigned char)*k) || *k == '_'))
        return false;
    for (const char *p = k; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    }
    return true;
}

static bool match_rec(struct mctx *m, const json_t *pat, const json_t *v);

static bool match_object(struct mctx *m, const json_t *pat, const json_t *v, bool exact)
{
    const char *k;
    json_t *pm;
    size_t save = m->path.len;

    if (!json_is_object(v))
        return fail(m, "an object", NULL, v);
    json_object_foreach((json_t *)pat, k, pm)
    {
        json_t *vm = json_object_get(v, k);
        if (ident_key(k))
            wc_buf_addf(&m->path, ".%s", k);
        else
            wc_buf_addf(&m->path, "[\"%s\"]", k);
        if (json_is_string(pm) && !strcmp(json_string_value(pm), "<absent>")) {
            if (vm)
                return fail(m, "the key to be absent", NULL, vm);
        } else if (!vm) {
            char *exp = short_json(pm);
            m->diff =
                wc_xasprintf("at %s: expected %s, received nothing (key absent)", m->path.buf, exp);
            free(exp);
            return false;
        } else if (!match_rec(m, pm, vm)) {
            return false;
        }
        m->path.len = save;
        m->path.buf[save] = '\0';
    }
    if (exact) {
        json_object_foreach((json_t *)v, k, pm)
        {
            json_t *p = json_object_get(pat, k);
            if (!p || (json_is_string(p) && !strcmp(json_string_value(p), "<absent>"))) {
                char *rec = short_json(pm);
                m->diff = wc_xasprintf("at %s: unexpected key \"%s\" (exact match), received %s",
                                       m->path.len ? m->path.buf : ".", k, rec);
                free(rec);
                return false;
            }
        }
    }
    return true;
}

/* {$distinct: KEY}: an array of objects that all have KEY, no two with equal values there. */
static bool match_distinct(struct mctx *m, const char *key, const json_t *v)
{
    if (!json_is_array(v))
        return fail(m, "an array", NULL, v);
    for (size_t j = 0; j < json_array_size(v); j++) {
        const json_t *x = json_object_get(json_array_get(v, j), key);
        if (!x) {
            wc_buf_addf(&m->path, "[%zu].%s", j, key);
            return fail(m, "a value (distinct)", NULL, NULL);
        }
        for (size_t i = 0; i < j; i++) {
            if (json_equal(json_object_get(json_array_get(v, i), key), x)) {
                char *rec = short_json(x);
                m->diff = wc_xasprintf("at %s[%zu].%s: expected a value distinct from [%zu].%s, "
                                       "received the same %s",
                                       m->path.len ? m->path.buf : "", j, key, i, key, rec);
                free(rec);
                return false;
            }
        }
    }
    return true;
}

/* One pattern against one value.
 * long: one dispatch over the pattern forms ($exact, $each, $distinct, objects, arrays, typed
 * wildcards and captures in strings, scalars), a few lines per form. */
static bool match_rec(struct mctx *m, const json_t *pat, const json_t *v)
{
    const char *name;

    if (json_is_object(pat)) {
        json_t *inner = json_object_get(pat, "$exact");
        if (inner && json_object_size(pat) == 1)
            return json_is_object(inner) ? match_object(m, inner, v, true) : match_rec(m, inner, v);
        json_t *each = json_object_get(pat, "$each");
        if (each && json_object_size(pat) == 1) {
            /* {$each: P}: an array (of any length) whose every element matches P */
            size_t save = m->path.len;
            if (!json_is_array(v))
                return fail(m, "an array", NULL, v);
            for (size_t i = 0; i < json_array_size(v); i++) {
                wc_buf_addf(&m->path, "[%zu]", i);
                if (!match_rec(m, each, json_array_get(v, i)))
                    return false;
                m->path.len = save;
                m->path.buf[save] = '\0';
            }
            return true;
        }
        json_t *distinct = json_object_get(pat, "$distinct");
        if (distinct && json_object_size(pat) == 1)
            return match_distinct(m, json_string_value(distinct), v);
        return match_object(m, pat, v, false);
    }
    if (json_is_array(pat)) {
        size_t save = m->path.len;
        if (!json_is_array(v))
            return fail(m, "an array", NULL, v);
        if (json_array_size(pat) != json_array_size(v)) {
            char *rec = short_json(v);
            m->diff = wc_xasprintf("at %s: expected an array of %zu elements, received %zu: %s",
                                   m->path.len ? m->path.buf : ".", json_array_size(pat),
                                   json_array_size(v), rec);
            free(rec);
            return false;
        }
        for (size_t i = 0; i < json_array_size(pat); i++) {
            wc_buf_addf(&m->path, "[%zu]", i);
            if (!match_rec(m, json_array_get(pat, i), json_array_get(v, i)))
                return false;
            m->path.len = save;
            m->path.buf[save] = '\0';
        }
        return true;
    }
    if (json_is_string(pat)) {
        const char *s = json_string_value(pat);
        bool plain = strlen(s) == json_string_length(pat); /* no NUL: may be $name or <kind> */
        if (plain && hn_wildcard_known(s)) {
            if (!wildcard_ok(s, v))
                return fail(m, s, NULL, v);
            return true;
        }
        if (plain && hn_var_ref(s, &name)) {
            if (!strcmp(name, "_"))
                return true;
            json_t *bound = json_object_get(m->caps, name);
            if (bound)
                json_incref(bound);
            else
                bound = hn_scope_get(m->sc, name);
            if (!bound) {
                json_object_set(m->caps, name, (json_t *)v);
                return true;
            }
            bool ok = hn_json_equal(bound, v);
            if (!ok) {
                char *exp = short_json(bound);
                char *rec = short_json(v);
                m->diff = wc_xasprintf("at %s: expected %s (= $%s), received %s",
                                       m->path.len ? m->path.buf : ".", exp, name, rec);
                free(exp);
                free(rec);
            }
            json_decref(bound);
            return ok;
        }
        size_t len = json_string_length(pat), out_len;
        if (memmem(s, len, "${", 2)) {
            char *err = NULL;
            char *t = interp(s, len, m->sc, NULL, &err, &out_len);
            if (!t) {
                m->diff = wc_xasprintf("at %s: %s", m->path.len ? m->path.buf : ".", err);
                free(err);
                return false;
            }
            json_t *tv = json_stringn(t, out_len);
            free(t);
            bool ok = tv && json_equal(tv, (json_t *)v);
            if (!ok)
                fail(m, NULL, tv, v);
            json_decref(tv);
            return ok;
        }
    }
    if (!hn_json_equal(pat, v))
        return fail(m, NULL, pat, v);
    return true;
}

bool hn_match(const json_t *pattern, const json_t *value, const struct hn_scope *sc, char **diff)
{
    struct mctx m = {.sc = sc, .caps = json_object()};
    bool ok;

    wc_buf_init(&m.path, 0);
    if (!value) {
        char *exp = short_json(pattern);
        m.diff = wc_xasprintf("expected %s, received nothing", exp);
        free(exp);
        ok = false;
    } else {
        ok = match_rec(&m, pattern, value);
    }
    if (ok && sc && sc->vars)
        json_object_update(sc->vars, m.caps);
    if (diff)
        *diff = m.diff;
    else
        free(m.diff);
    wc_buf_release(&m.path);
    json_decref(m.caps);
    return ok;
}
