/*
 * match.h: case variables, `${...}` interpolation, and pattern matching with typed wildcards,
 * captures, `$exact` and a readable diff (cases/README.md "Variables and captures", "Matching").
 *
 * Pure functions over jansson values: no I/O, no clock. Depends on lib/ only.
 */
#ifndef HN_MATCH_H
#define HN_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * A variable scope: a JSON object of bound names (`s1`, `s1.projectPath`, `n1`, ...) plus an
 * optional resolver for names computed on use (`script.NAME` makes a new directive each time).
 * The resolver returns a new reference, or NULL when it does not know the name.
 */
typedef json_t *(*hn_var_resolver)(void *ctx, const char *name);
struct hn_scope {
    json_t *vars;            /* object; borrowed */
    hn_var_resolver resolve; /* or NULL */
    void *ctx;
};

/* True when s is a whole-string variable reference `$name`; *name points into s after '$'. */
bool hn_var_ref(const char *s, const char **name);
/* True when name is a valid variable name ([A-Za-z_][A-Za-z0-9_.-]*). */
bool hn_var_name_valid(const char *name, size_t len);
/*
 * The value of a name: a bound variable, a dotted path into one (`run.seq`, `list.0`), or what
 * the resolver computes. New reference, or NULL when unbound.
 */
json_t *hn_scope_get(const struct hn_scope *sc, const char *name);
/* Text of a value for interpolation: strings as is, others as compact JSON. New string. */
char *hn_value_text(const json_t *v);

/* Replace every `${name}` in s. New string, or NULL with *err (new) naming the unbound name. */
char *hn_interp(const char *s, const struct hn_scope *sc, char **err);
/*
 * Expand a template value: a whole string `$name` becomes the variable's value with its type;
 * `${name}` inside strings is interpolated; `{$repeat: {count: N, text: T}}` becomes the string
 * T repeated N times (at most HN_REPEAT_MAX bytes: big payloads without a big case file);
 * objects and arrays recursively. New value, or NULL with *err (new).
 */
#define HN_REPEAT_MAX (16u * 1024 * 1024)
json_t *hn_expand(const json_t *tmpl, const struct hn_scope *sc, char **err);
/* Substitute `${key}` for every key of `subst` (matrix values) in every string of v, leaving
 * other `${...}` alone. New value. */
json_t *hn_subst(const json_t *v, const json_t *subst);

/* Deep equality where 1 and 1.0 are equal. */
bool hn_json_equal(const json_t *a, const json_t *b);
/* Value at a dotted path (`body.data.sessions`, `items.0.id`), borrowed, or NULL. */
json_t *hn_json_path(const json_t *v, const char *path);

/* True when s is one of the typed wildcards of cases/README.md. */
bool hn_wildcard_known(const char *s);
/* True when s looks like a wildcard (`<word>`), known or not. */
bool hn_wildcard_like(const char *s);

/*
 * Match value against pattern. Unbound `$name` captures; captures are bound into sc->vars only
 * when the whole match succeeds. On a mismatch returns false and, when diff is not NULL, sets it
 * to a new one-line text naming the first differing path:
 *   "at .aborted: expected true, received false"
 * value may be NULL (nothing received) only at the top.
 */
bool hn_match(const json_t *pattern, const json_t *value, const struct hn_scope *sc, char **diff);

#endif
