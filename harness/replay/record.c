/* record.c: HTTP heads, chunked bodies, redaction and payload records for `gwspec record`. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "replay/record.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_mem.h"
#include "wc_banned.h"

const char *const hn_redact_default_fields[] = {"token", "password", NULL};

static const char *const query_secrets[] = {"token",   "access_token", "auth",     "jwt", "apikey",
                                            "api_key", "key",          "password", NULL};

/* ---- HTTP heads ------------------------------------------------------------------------ */

static const char *find_blank_line(const char *buf, size_t len)
{
    for (size_t i = 0; i + 3 < len; i++) {
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n')
            return buf + i;
    }
    return NULL;
}

static bool token_chars(const char *s, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isgraph((unsigned char)s[i]) || strchr("()<>@,;:\\\"/[]?={}", s[i]))
            return false;
    }
    return true;
}

void hn_record_head_release(struct hn_record_head *h)
{
    free(h->method);
    free(h->target);
    json_decref(h->headers);
    memset(h, 0, sizeof(*h));
}

/* Parse the first line; 0 or a new message. */
static char *parse_first_line(const char *line, size_t n, bool request, struct hn_record_head *h)
{
    const char *sp1 = memchr(line, ' ', n), *sp2;

    if (!sp1)
        return wc_xstrdup("the first line has no space");
    if (request) {
        sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line));
        if (!sp2 || !token_chars(line, (size_t)(sp1 - line)) || sp2 == sp1 + 1)
            return wc_xstrdup("not an HTTP request line");
        if ((size_t)(line + n - (sp2 + 1)) < 8 || strncmp(sp2 + 1, "HTTP/1.", 7))
            return wc_xstrdup("not HTTP/1.x");
        /* every byte of the target, a NUL too (it would cut the copy short) */
        for (const char *p = sp1 + 1; p < sp2; p++) {
            if (!isgraph((unsigned char)*p))
                return wc_xstrdup("the request target has a control character");
        }
        h->method = wc_xstrndup(line, (size_t)(sp1 - line));
        h->target = wc_xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
        return NULL;
    }
    if ((size_t)(sp1 - line) < 8 || strncmp(line, "HTTP/1.", 7))
        return wc_xstrdup("not an HTTP/1.x status line");
    if ((size_t)(line + n - sp1) < 4 || !isdigit((unsigned char)sp1[1]) ||
        !isdigit((unsigned char)sp1[2]) || !isdigit((unsigned char)sp1[3]))
        return wc_xstrdup("the status line has no 3-digit status");
    h->status = (sp1[1] - '0') * 100 + (sp1[2] - '0') * 10 + (sp1[3] - '0');
    return NULL;
}

int hn_record_head_parse(const char *buf, size_t len, bool request, struct hn_record_head *h,
                         char **why)
{
    const char *end = find_blank_line(buf, len < HN_HTTP_MAX_HEAD + 4 ? len : HN_HTTP_MAX_HEAD + 4);
    const char *p, *eol;
    char *msg;

    memset(h, 0, sizeof(*h));
    if (!end) {
        if (len > HN_HTTP_MAX_HEAD) {
            *why = wc_xasprintf("HTTP head longer than %d bytes", HN_HTTP_MAX_HEAD);
            return WC_ERR_TOO_BIG;
        }
        return 0;
    }
    h->headers = json_array();
    h->head_len = (size_t)(end - buf) + 4;
    /* buf is not NUL-terminated: search only up to the blank line, whose CRLF always ends it */
    eol = memmem(buf, (size_t)(end - buf) + 2, "\r\n", 2);
    msg = parse_first_line(buf, (size_t)(eol - buf), request, h);
    if (msg)
        goto bad;
    for (p = eol + 2; p < end; p = eol + 2) {
        const char *colon, *v, *ve;
        eol = p;
        while (eol < end && !(eol[0] == '\r' && eol[1] == '\n'))
            eol++;
        colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || !token_chars(p, (size_t)(colon - p))) {
            msg = wc_xstrdup("a header line is not 'Name: value'");
            goto bad;
        }
        v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        ve = eol;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        json_t *name = json_stringn(p, (size_t)(colon - p));
        json_t *val = json_stringn(v, (size_t)(ve - v));
        if (!name || !val) {
            json_decref(name);
            json_decref(val);
            msg = wc_xstrdup("a header is not UTF-8");
            goto bad;
        }
        json_array_append_new(h->headers, json_pack("[o,o]", name, val));
        if (eol >= end)
            break;
    }
    return 1;
bad:
    *why = msg;
    hn_record_head_release(h);
    return WC_ERR_PROTOCOL;
}

const char *hn_record_head_get(const struct hn_record_head *h, const char *name)
{
    size_t i;
    json_t *e;

    json_array_foreach(h->headers, i, e)
    {
        if (!strcasecmp(json_string_value(json_array_get(e, 0)), name))
            return json_string_value(json_array_get(e, 1));
    }
    return NULL;
}

bool hn_record_header_has_token(const char *value, const char *token)
{
    size_t tl = strlen(token);
    const char *p = value;

    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *te = e;
        while (te > p && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        if ((size_t)(te - p) == tl && !strncasecmp(p, token, tl))
            return true;
        p = e;
    }
    return false;
}

int hn_http_dechunk(const char *buf, size_t len, char **out, size_t *out_len, size_t *used)
{
    struct wc_buf b;
    size_t pos = 0;

    wc_buf_init(&b, 0);
    for (;;) {
        const char *eol = NULL;
        for (size_t i = pos; i + 1 < len; i++) {
            if (buf[i] == '\r' && buf[i + 1] == '\n') {
                eol = buf + i;
                break;
            }
        }
        if (!eol)
            goto more;
        if (!isxdigit((unsigned char)buf[pos]))
            goto bad;
        uint64_t n = 0;
        const char *p = buf + pos;
        for (; p < eol && isxdigit((unsigned char)*p); p++) {
            if (n > (1ULL << 40))
                goto bad;
            n = n * 16 + (uint64_t)(isdigit((unsigned char)*p)
                                        ? *p - '0'
                                        : (tolower((unsigned char)*p) - 'a' + 10));
        }
        if (p < eol && *p != ';' && *p != ' ' && *p != '\t')
            goto bad;
        pos = (size_t)(eol - buf) + 2;
        if (n == 0) {
            /* trailers up to an empty line */
            for (;;) {
                const char *e2 = NULL;
                for (size_t i = pos; i + 1 < len; i++) {
                    if (buf[i] == '\r' && buf[i + 1] == '\n') {
                        e2 = buf + i;
                        break;
                    }
                }
                if (!e2)
                    goto more;
                size_t l = (size_t)(e2 - buf) - pos;
                pos += l + 2;
                if (!l)
                    break;
            }
            *used = pos;
            *out = wc_buf_detach(&b, out_len);
            return 1;
        }
        if (len - pos < n + 2)
            goto more;
        wc_buf_add(&b, buf + pos, (size_t)n);
        pos += (size_t)n;
        if (buf[pos] != '\r' || buf[pos + 1] != '\n')
            goto bad;
        pos += 2;
    }
more:
    wc_buf_release(&b);
    return 0;
bad:
    wc_buf_release(&b);
    return WC_ERR_PROTOCOL;
}

/* ---- redaction ------------------------------------------------------------------------- */

static bool in_list(const char *name, size_t n, const char *const *builtin, const json_t *fields)
{
    size_t i;
    json_t *e;

    for (i = 0; builtin && builtin[i]; i++) {
        if (strlen(builtin[i]) == n && !strncasecmp(builtin[i], name, n))
            return true;
    }
    json_array_foreach(fields, i, e)
    {
        const char *f = json_string_value(e);
        if (f && strlen(f) == n && !strncmp(f, name, n))
            return true;
    }
    return false;
}

/* Walk the query of target; when out is not NULL, build the redacted copy into it. */
static bool walk_query(const char *target, const json_t *fields, struct wc_buf *out)
{
    const char *q = strchr(target, '?');
    bool found = false;

    if (out)
        wc_buf_add(out, target, q ? (size_t)(q - target) + 1 : strlen(target));
    if (!q)
        return false;
    const char *p = q + 1;
    while (*p) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        size_t nlen = eq ? (size_t)(eq - p) : (size_t)(end - p);
        bool secret = in_list(p, nlen, query_secrets, fields);
        found = found || (secret && eq);
        if (out) {
            if (secret && eq) {
                wc_buf_add(out, p, nlen + 1);
                wc_buf_adds(out, HN_REDACTED);
            } else {
                wc_buf_add(out, p, (size_t)(end - p));
            }
            if (amp)
                wc_buf_adds(out, "&");
        }
        p = amp ? amp + 1 : end;
    }
    return found;
}

char *hn_redact_target(const char *target, const json_t *fields)
{
    struct wc_buf b;

    wc_buf_init(&b, 0);
    walk_query(target, fields, &b);
    return wc_buf_detach(&b, NULL);
}

bool hn_record_has_secret(const char *target, const json_t *fields)
{
    return walk_query(target, fields, NULL);
}

void hn_redact_json(json_t *v, const json_t *fields)
{
    const char *k;
    json_t *m;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach(v, k, m)
        {
            if (in_list(k, strlen(k), NULL, fields))
                json_object_set_new(v, k, json_string(HN_REDACTED));
            else
                hn_redact_json(m, fields);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) hn_redact_json(m, fields);
    }
}

/* ---- payload records ------------------------------------------------------------------- */

static char *to_hex(const char *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *s = wc_xmalloc(len * 2 + 1);

    for (size_t i = 0; i < len; i++) {
        s[2 * i] = digits[(unsigned char)data[i] >> 4];
        s[2 * i + 1] = digits[(unsigned char)data[i] & 15];
    }
    s[len * 2] = '\0';
    return s;
}

void hn_record_payload(json_t *rec, const char *data, size_t len, bool binary, const json_t *fields)
{
    json_t *v =
        len ? json_loadb(data, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL)
            : NULL;

    if (v) {
        hn_redact_json(v, fields);
        json_object_set_new(rec, "frame", v);
    } else {
        json_t *s = json_stringn(data, len);
        if (s) {
            json_object_set_new(rec, "text", s);
        } else {
            char *h = to_hex(data, len);
            json_object_set_new(rec, "hex", json_string(h));
            free(h);
        }
    }
    json_object_set_new(rec, "binary", json_boolean(binary));
}

json_t *hn_record_body(const char *data, size_t len, const json_t *fields)
{
    json_t *v;

    if (!len)
        return NULL;
    v = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (v) {
        hn_redact_json(v, fields);
        return v;
    }
    v = json_stringn(data, len);
    if (v)
        return v;
    char *h = to_hex(data, len);
    v = json_pack("{s:s}", "hex", h);
    free(h);
    return v;
}

/* ---- sentinels ------------------------------------------------------------------------- */

static bool sentinel_id(const char *id)
{
    return id && (!strncmp(id, "gwspec-sentinel-", 16) || !strncmp(id, "gwspec-sync-", 12));
}

bool hn_frame_is_sentinel(const json_t *frame)
{
    const char *type = json_string_value(json_object_get(frame, "type"));
    const char *kind = json_string_value(json_object_get(frame, "kind"));
    json_t *arr, *e;
    size_t i;

    if (kind && !strcmp(kind, "chat_subscribed"))
        return sentinel_id(json_string_value(json_object_get(frame, "sessionId")));
    if (!type || strcmp(type, "chat.subscribe"))
        return false;
    arr = json_object_get(frame, "sessions");
    if (!json_is_array(arr) || !json_array_size(arr))
        return false;
    json_array_foreach(arr, i, e)
    {
        if (!sentinel_id(json_string_value(json_object_get(e, "sessionId"))))
            return false;
    }
    return true;
}
