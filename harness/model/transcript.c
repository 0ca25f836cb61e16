/* transcript.c: the JSONL transcript, in memory, read and written (see transcript.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "model/transcript.h"
#include "wc_err.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_time.h"
#include "wc_banned.h"

struct hn_transcript {
    json_t *header;  /* the header object, "t": "header" */
    json_t *records; /* array of record objects, in order */
    int64_t t0_us;   /* monotonic time of hn_transcript_new, for "us" */
};

static void set_header_defaults(json_t *header)
{
    if (!json_is_string(json_object_get(header, "t")))
        json_object_set_new(header, "t", json_string("header"));
    if (!json_is_string(json_object_get(header, "format")))
        json_object_set_new(header, "format", json_string(HN_TRANSCRIPT_FORMAT));
}

struct hn_transcript *hn_transcript_new(json_t *header)
{
    struct hn_transcript *t = wc_xcalloc(1, sizeof(*t));

    if (!json_is_object(header)) {
        json_decref(header);
        header = json_object();
    }
    set_header_defaults(header);
    t->header = header;
    t->records = json_array();
    t->t0_us = wc_now_us();
    return t;
}

/* Append without touching "us" (loading) or with it (live recording). */
static void add_record(struct hn_transcript *t, json_t *record, int stamp)
{
    if (!json_is_object(record)) {
        json_t *wrap = json_pack("{s:s, s:o}", "t", "note", "value", record ? record : json_null());
        record = wrap;
    }
    if (!json_is_integer(json_object_get(record, "n")))
        json_object_set_new(record, "n", json_integer((json_int_t)json_array_size(t->records) + 1));
    if (stamp && !json_is_integer(json_object_get(record, "us")))
        json_object_set_new(record, "us", json_integer(wc_now_us() - t->t0_us));
    json_array_append_new(t->records, record);
}

void hn_transcript_add(struct hn_transcript *t, json_t *record)
{
    add_record(t, record, 1);
}

void hn_transcript_addf(struct hn_transcript *t, const char *type, const char *fmt, ...)
{
    json_error_t jerr;
    json_t *rec;
    va_list ap;

    va_start(ap, fmt);
    rec = json_vpack_ex(&jerr, 0, fmt, ap);
    va_end(ap);
    if (!json_is_object(rec)) {
        json_decref(rec);
        rec = json_object();
        json_object_set_new(rec, "t", json_string("note"));
        json_object_set_new(rec, "text", json_string("transcript: a record could not be stored"));
        json_object_set_new(rec, "record_type", json_string(type));
        json_object_set_new(rec, "error", json_string(jerr.text));
    } else {
        json_object_set_new(rec, "t", json_string(type));
    }
    add_record(t, rec, 1);
}

json_t *hn_transcript_header(const struct hn_transcript *t)
{
    return t->header;
}

json_t *hn_transcript_records(const struct hn_transcript *t)
{
    return t->records;
}

/* One compact JSON line, keys in stored order. */
static int write_line(FILE *fp, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc;

    if (!s)
        return WC_ERR_IO;
    rc = fputs(s, fp) < 0 || fputc('\n', fp) == EOF ? WC_ERR_IO : 0;
    free(s);
    return rc;
}

int hn_transcript_write_jsonl(const struct hn_transcript *t, FILE *fp)
{
    size_t i;
    json_t *rec;

    if (write_line(fp, t->header))
        return WC_ERR_IO;
    json_array_foreach(t->records, i, rec)
    {
        if (write_line(fp, rec))
            return WC_ERR_IO;
    }
    return fflush(fp) == 0 && !ferror(fp) ? 0 : WC_ERR_IO;
}

/* --- loading --------------------------------------------------------------------------- */

/* Which string fields a known record type must carry (NULL-terminated), for clear errors. */
static const struct {
    const char *type;
    const char *need[3];
} record_needs[] = {
    {"session", {"label", "sessionId", NULL}},
    {"open", {"conn", NULL}},
    {"reject", {"conn", NULL}},
    {"send", {"conn", NULL}},
    {"recv", {"conn", NULL}},
    {"close", {"conn", "by", NULL}},
    {"ctl", {"label", NULL}},
    {"ctl_send", {"label", NULL}},
    {"ping", {"conn", NULL}},
    {"pong", {"conn", NULL}},
};

/* NULL if the record is acceptable, else a new message. */
static char *check_record(const json_t *rec)
{
    const char *type = wc_json_str(rec, "t");
    json_t *n = json_object_get(rec, "n");
    size_t i, k;

    if (!type)
        return wc_xstrdup("record has no string 't'");
    if (!strcmp(type, "header"))
        return wc_xstrdup("a second header record");
    if (n && !json_is_integer(n))
        return wc_xasprintf("%s record: 'n' is not an integer", type);
    for (i = 0; i < sizeof(record_needs) / sizeof(record_needs[0]); i++) {
        if (strcmp(type, record_needs[i].type))
            continue;
        for (k = 0; record_needs[i].need[k]; k++) {
            if (!wc_json_str(rec, record_needs[i].need[k]))
                return wc_xasprintf("%s record: missing string '%s'", type,
                                    record_needs[i].need[k]);
        }
    }
    if ((!strcmp(type, "send") || !strcmp(type, "recv")) && !json_object_get(rec, "frame") &&
        !json_object_get(rec, "text") && !json_object_get(rec, "hex"))
        return wc_xasprintf("%s record: needs 'frame', 'text' or 'hex'", type);
    if (!strcmp(type, "close")) {
        const char *by = wc_json_str(rec, "by");
        if (strcmp(by, "client") && strcmp(by, "server") && strcmp(by, "drop"))
            return wc_xasprintf("close record: 'by' is '%s', not client, server or drop", by);
    }
    if ((!strcmp(type, "ctl") || !strcmp(type, "ctl_send")) &&
        !json_is_object(json_object_get(rec, "msg")))
        return wc_xasprintf("%s record: 'msg' is not an object", type);
    return NULL;
}

/* The header's extensions: {kinds: [NAME...], types: [NAME...]}, each list optional. The
 * catalog says whether it defines the names; their shape is this file's fault. */
static char *check_extensions(const json_t *ext)
{
    static const char *const lists[] = {"kinds", "types"};
    const char *key;
    json_t *v, *name;
    size_t i;

    if (!ext)
        return NULL;
    if (!json_is_object(ext))
        return wc_xstrdup("header 'extensions' must be an object ({kinds: [...], types: [...]})");
    json_object_foreach((json_t *)ext, key, v)
    {
        if (strcmp(key, lists[0]) && strcmp(key, lists[1]))
            return wc_xasprintf("header 'extensions' has an unknown key '%s' (kinds, types)", key);
        if (!json_is_array(v))
            return wc_xasprintf("header 'extensions.%s' must be a list of names", key);
        json_array_foreach(v, i, name)
        {
            if (!json_is_string(name))
                return wc_xasprintf("header 'extensions.%s[%zu]' must be a name (a string)", key,
                                    i);
        }
    }
    return NULL;
}

static char *check_header(const json_t *h)
{
    const char *t = wc_json_str(h, "t"), *format = wc_json_str(h, "format");

    if (!t || strcmp(t, "header"))
        return wc_xstrdup("line 1 is not a header (\"t\": \"header\")");
    if (!format)
        return wc_xstrdup("header has no 'format'");
    if (strncmp(format, HN_TRANSCRIPT_FORMAT, strlen(HN_TRANSCRIPT_FORMAT)))
        return wc_xasprintf("unsupported format '%s' (want %s)", format, HN_TRANSCRIPT_FORMAT);
    return check_extensions(json_object_get(h, "extensions"));
}

/* Parse one line; NULL plus a new *why on error. */
static json_t *parse_line(const char *line, size_t len, char **why)
{
    json_error_t jerr;
    json_t *v = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);

    if (!v) {
        *why = wc_xasprintf("column %d: %s", jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        *why = wc_xstrdup("not a JSON object");
        return NULL;
    }
    return v;
}

struct hn_transcript *hn_transcript_load_string(const char *name, const char *text, char **err)
{
    struct hn_transcript *t = NULL;
    const char *p = text;
    size_t lineno = 0;

    *err = NULL;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *next = eol ? eol + 1 : p + len; /* before the '\r' is trimmed from len */
        char *why = NULL;
        json_t *v;

        lineno++;
        if (len && p[len - 1] == '\r')
            len--;
        if (strspn(p, " \t\r") >= len) {
            p = next;
            continue;
        }
        v = parse_line(p, len, &why);
        if (v && !t) {
            why = check_header(v);
            if (!why)
                t = hn_transcript_new(json_incref(v));
        } else if (v) {
            why = check_record(v);
            if (!why)
                add_record(t, json_incref(v), 0);
        }
        json_decref(v);
        if (why) {
            *err = wc_xasprintf("%s:%zu: %s", name, lineno, why);
            free(why);
            hn_transcript_free(t);
            return NULL;
        }
        p = next;
    }
    if (!t)
        *err = wc_xasprintf("%s:1: empty transcript (no header)", name);
    return t;
}

struct hn_transcript *hn_transcript_load(const char *path, char **err)
{
    FILE *fp = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0, alloc = 0, got;
    struct hn_transcript *t;

    if (!fp) {
        *err = wc_xasprintf("%s: %s", path, strerror(errno));
        return NULL;
    }
    do {
        if (alloc - len < 65536) {
            alloc = alloc ? alloc * 2 : 65536;
            text = wc_xrealloc(text, alloc + 1);
        }
        got = fread(text + len, 1, alloc - len, fp);
        len += got;
    } while (got > 0);
    if (ferror(fp)) {
        *err = wc_xasprintf("%s: read error", path);
        fclose(fp);
        free(text);
        return NULL;
    }
    fclose(fp);
    text[len] = '\0';
    if (strlen(text) != len) {
        *err = wc_xasprintf("%s: contains a NUL byte", path);
        free(text);
        return NULL;
    }
    t = hn_transcript_load_string(path, text, err);
    free(text);
    return t;
}

void hn_transcript_free(struct hn_transcript *t)
{
    if (!t)
        return;
    json_decref(t->header);
    json_decref(t->records);
    free(t);
}
