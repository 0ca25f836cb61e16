/*
 * directive.c: find and parse the `gwspec:{...}` directive in a prompt (spec/control-channel.md
 * §1).
 *
 * The directive is the first `gwspec:` marker followed (after optional blanks) by `{`; the JSON
 * object must end on that line. A marker not followed by `{` is ordinary text. Whatever goes
 * wrong after a directive was found becomes the in-band error script, and the fields that did
 * parse (ctl, case, label, run) are kept, so the harness still gets hello and done.
 */
#include "directive.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wc_mem.h"
#include "wc_banned.h"

#define MARKER "gwspec:"

/* Set d->error (first error wins). */
__attribute__((format(printf, 2, 3))) static void set_error(struct mp_directive *d, const char *fmt,
                                                            ...)
{
    va_list ap;
    char *msg;

    if (d->error)
        return;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = wc_xstrdup(fmt);
    va_end(ap);
    d->error = msg;
}

/* Where the directive's JSON starts ('{'), or NULL when the prompt has none. */
static const char *find_object(const char *prompt)
{
    const char *p = prompt;

    while ((p = strstr(p, MARKER)) != NULL) {
        p += strlen(MARKER);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '{')
            return p;
    }
    return NULL;
}

/* "host:port", "[v6]:port" into d; false when malformed. */
static bool parse_ctl(struct mp_directive *d, const char *s)
{
    const char *colon = strrchr(s, ':');
    const char *host = s;
    size_t hlen;
    char *end;
    long port;

    if (!colon || colon == s)
        return false;
    hlen = (size_t)(colon - s);
    if (s[0] == '[') {
        if (hlen < 3 || s[hlen - 1] != ']')
            return false;
        host = s + 1;
        hlen -= 2;
    } else if (memchr(s, ':', hlen)) {
        return false; /* a bare IPv6 address needs brackets */
    }
    port = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end || port < 1 || port > 65535)
        return false;
    d->ctl_host = wc_xstrndup(host, hlen);
    d->ctl_port = (int)port;
    return true;
}

/* A string member into *out (new), or an error when present and not a string. */
static bool take_str(struct mp_directive *d, const json_t *obj, const char *key, char **out)
{
    const json_t *v = json_object_get(obj, key);

    if (!v)
        return true;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        set_error(d, "directive: '%s' must be a string", key);
        return false;
    }
    *out = wc_xstrdup(json_string_value(v));
    return true;
}

static const char *fixtures_root(const char *fixtures_dir)
{
    const char *env = getenv("GWSPEC_FIXTURES");

    if (fixtures_dir)
        return fixtures_dir;
    return env && *env ? env : "fixtures";
}

/* Load the named script file into d->script, or set d->error. */
static void load_named(struct mp_directive *d, const json_t *name, const char *fixtures_dir)
{
    const char *s = json_string_value(name);
    char *path, *err = NULL;

    if (!s || json_string_length(name) == 0 || strlen(s) != json_string_length(name)) {
        set_error(d, "directive: 'name' must be a non-empty string");
        return;
    }
    if (strchr(s, '/') || strstr(s, "..") || strchr(s, '\\')) {
        set_error(d, "directive: script name '%s' may not contain '/' or '..'", s);
        return;
    }
    path = wc_xasprintf("%s/providers/%s.yaml", fixtures_root(fixtures_dir), s);
    d->script = mp_script_load_file(path, &err);
    if (!d->script) {
        set_error(d, "%s", err ? err : path);
        free(err);
    }
    free(path);
}

static void parse_script(struct mp_directive *d, const json_t *obj, const char *fixtures_dir)
{
    const json_t *script = json_object_get(obj, "script");
    const json_t *name = json_object_get(obj, "name");
    char *err = NULL;

    if (script && name) {
        set_error(d, "directive: give 'script' or 'name', not both");
        return;
    }
    if (name) {
        load_named(d, name, fixtures_dir);
        return;
    }
    if (!script) {
        set_error(d, "directive: needs 'script' or 'name'");
        return;
    }
    d->script = mp_script_parse(script, NULL, &err);
    if (!d->script) {
        set_error(d, "%s", err);
        free(err);
    }
}

static void parse_fields(struct mp_directive *d, const json_t *obj, const char *fixtures_dir)
{
    static const char *const known[] = {"v",      "ctl",  "case", "label", "run",
                                        "script", "name", "seed", NULL};
    const char *key;
    json_t *v;
    int64_t n;

    /* the fields that identify the run first: they survive any later error */
    if (json_is_string(json_object_get(obj, "ctl"))) {
        if (!parse_ctl(d, json_string_value(json_object_get(obj, "ctl"))))
            set_error(d, "directive: 'ctl' must be \"host:port\"");
    } else if (json_object_get(obj, "ctl")) {
        set_error(d, "directive: 'ctl' must be \"host:port\"");
    }
    take_str(d, obj, "case", &d->case_token);
    take_str(d, obj, "label", &d->label);
    take_str(d, obj, "run", &d->run);
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;
        for (i = 0; known[i] && strcmp(known[i], key) != 0; i++)
            ;
        if (!known[i])
            set_error(d, "directive: unknown key '%s'", key);
    }
    if (!json_object_get(obj, "v") || !json_is_integer(json_object_get(obj, "v")) ||
        json_integer_value(json_object_get(obj, "v")) != 1)
        set_error(d, "directive: 'v' must be 1");
    if (json_object_get(obj, "seed")) {
        if (!json_is_integer(json_object_get(obj, "seed")) ||
            (n = json_integer_value(json_object_get(obj, "seed"))) < 0)
            set_error(d, "directive: 'seed' must be a non-negative integer");
        else
            d->seed = (uint64_t)n;
    }
    if (!d->error)
        parse_script(d, obj, fixtures_dir);
}

void mp_directive_parse(const char *prompt, const char *fixtures_dir, struct mp_directive *out)
{
    const char *start, *eol;
    json_error_t jerr;
    json_t *obj;

    memset(out, 0, sizeof(*out));
    start = prompt ? find_object(prompt) : NULL;
    if (!start) {
        out->script = mp_script_default(prompt ? prompt : "");
        return;
    }
    out->present = true;
    /* the object must end on its own line: parse only up to the line end */
    eol = start + strcspn(start, "\r\n");
    obj = json_loadb(start, (size_t)(eol - start), JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES,
                     &jerr);
    if (!obj)
        set_error(out, "directive: invalid JSON at column %d: %s", jerr.column, jerr.text);
    else
        parse_fields(out, obj, fixtures_dir);
    json_decref(obj);
    if (out->error) {
        mp_script_free(out->script);
        out->script = mp_script_error(out->error);
    }
}

void mp_directive_release(struct mp_directive *d)
{
    if (!d)
        return;
    free(d->ctl_host);
    free(d->case_token);
    free(d->label);
    free(d->run);
    free(d->error);
    mp_script_free(d->script);
    memset(d, 0, sizeof(*d));
}

/* --- the control address: loopback only, unless allowed (issue 18) ---------------------- */

static bool is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) != 1)
        return false;
    if (IN6_IS_ADDR_LOOPBACK(&a6))
        return true;
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

/* Is host one of the comma-separated entries of list (case-insensitive, "[v6]" or "v6")? */
static bool in_list(const char *host, const char *list)
{
    size_t hlen = strlen(host);
    const char *p = list;

    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *e = p;
        if (n >= 2 && e[0] == '[' && e[n - 1] == ']') {
            e++;
            n -= 2;
        }
        if (n == hlen && hlen && strncasecmp(e, host, n) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

bool mp_ctl_allowed(const char *host, const char *allow)
{
    if (!host || !*host)
        return false;
    return is_loopback(host) || (allow && in_list(host, allow));
}

const char *mp_directive_limit_ctl(struct mp_directive *d, const char *allow)
{
    char *why;

    if (!d->ctl_host || mp_ctl_allowed(d->ctl_host, allow))
        return NULL;
    why = wc_xasprintf("directive: control address '%s' is not loopback (see --allow-ctl)",
                       d->ctl_host);
    free(d->ctl_host);
    d->ctl_host = NULL;
    d->ctl_port = 0;
    if (d->error) { /* the directive was already refused: its error stays the one reported */
        free(why);
        return d->error;
    }
    d->error = why;
    mp_script_free(d->script);
    d->script = mp_script_error(why);
    return why;
}
