/* report.c: what the report writers share: the run's tally and exit status, verdict and
 * failure text, requirement coverage text, UTF-8 and markup escaping, transcript records (see
 * report.h; the formats are console.c, junit.c, tap.c, json.c and html.c). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <jansson.h>

#include "report/report.h"
#include "report/report_int.h"
#include "check/verdict.h"
#include "model/casedir.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_io.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

/* report.c: console, JUnit XML, TAP 13, JSON and HTML reports of a run result (see report.h). */
#include <errno.h>

#include <stdint.h>

#include <stdio.h>

#include <string.h>

#include <sys/stat.h>

#include <sys/types.h>

#include <jansson.h>

#include "report/report.h"

#include "check/verdict.h"

#include "model/casedir.h"

#include "wc_buf.h"

#include "wc_err.h"

#include "wc_io.h"

#include "wc_json.h"

#include "wc_mem.h"

#include "wc_banned.h"

#define SHOW_MAX 400 /* longest JSON shown inline on the console */

enum hn_verdict hn_report_verdict_of(const json_t *c)
{
    enum hn_verdict v = HN_ERROR;

    hn_verdict_parse(wc_json_str(c, "verdict"), &v);
    return v;
}

bool hn_report_is_known(const json_t *c)
{
    return json_is_true(json_object_get(c, "known"));
}

const char *hn_report_str_or(const json_t *o, const char *key, const char *dflt)
{
    const char *s = wc_json_str(o, key);
    return s ? s : dflt;
}

long long hn_report_int_or(const json_t *o, const char *key, long long dflt)
{
    int64_t v;
    return wc_json_int(o, key, &v) ? (long long)v : dflt;
}

/* Compact JSON, cut at max bytes (on a UTF-8 boundary) with "...". New string. */
char *hn_report_show_json(const json_t *v, size_t max)
{
    char *s = wc_json_compact(v);
    size_t len = strlen(s);

    if (max && len > max) {
        while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
            max--;
        s[max] = '\0';
        s = wc_xrealloc(s, max + 4);
        memcpy(s + max, "...", 4);
    }
    return s;
}

static char *witness_text(const json_t *w)
{
    struct wc_buf b;
    size_t i;
    json_t *n;

    wc_buf_init(&b, 0);
    json_array_foreach(w, i, n)
        wc_buf_addf(&b, "%s%lld", i ? ", " : "", (long long)json_integer_value(n));
    return wc_buf_detach(&b, NULL);
}

/* Text for one console line: C0 controls and DEL as \xHH, a newline as \n. New string. */
char *hn_report_one_line(const char *s)
{
    struct wc_buf b;

    wc_buf_init(&b, 0);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            wc_buf_adds(&b, "\\n");
        else if (c < 0x20 || c == 0x7f)
            wc_buf_addf(&b, "\\x%02X", c);
        else
            wc_buf_add(&b, s, 1);
    }
    return wc_buf_detach(&b, NULL);
}

char *hn_report_frame_summary(const json_t *v)
{
    const char *name;
    json_t *seq;

    if (!json_is_object(v))
        return hn_report_show_json(v, 60);
    name = wc_json_str(v, "kind");
    if (!name)
        name = wc_json_str(v, "type");
    if (!name)
        return hn_report_show_json(v, 60);
    if (!strcmp(name, "emitted") && wc_json_str(json_object_get(v, "event"), "kind"))
        return wc_xasprintf("emitted %s", wc_json_str(json_object_get(v, "event"), "kind"));
    seq = json_object_get(v, "seq");
    if (json_is_integer(seq))
        return wc_xasprintf("%s seq %lld", name, (long long)json_integer_value(seq));
    return wc_xstrdup(name);
}

bool hn_report_diff_is_reason(const json_t *f)
{
    const char *d = wc_json_str(f, "diff");
    return d && !strncmp(d, "at ", 3) && !strchr(d, '\n') && strlen(d) <= 300;
}

bool hn_report_diff_adds(const json_t *f)
{
    const char *diff = wc_json_str(f, "diff");
    const json_t *rec = json_object_get(f, "received");
    bool adds = diff && *diff && !hn_report_diff_is_reason(f);

    if (adds && rec && !json_is_null(rec)) {
        char *r = wc_json_compact(rec);
        adds = !strstr(diff, r);
        free(r);
    }
    return adds;
}

char *hn_report_failure_reason(const json_t *f)
{
    const json_t *exp = json_object_get(f, "expected"), *rec = json_object_get(f, "received");
    const char *kind = wc_json_str(f, "kind");
    char *msg = hn_report_one_line(hn_report_str_or(f, "message", "(no message)"));
    char *es = NULL, *rs = NULL;
    struct wc_buf b;

    if (!kind || (strcmp(kind, "step") && strcmp(kind, "late")))
        return msg;
    wc_buf_init(&b, 0);
    wc_buf_adds(&b, msg);
    free(msg);
    if (hn_report_diff_is_reason(f)) {
        char *d = hn_report_one_line(wc_json_str(f, "diff"));
        wc_buf_addf(&b, " %s", d);
        free(d);
        return wc_buf_detach(&b, NULL);
    }
    if (exp && !json_is_null(exp)) {
        char *s = hn_report_frame_summary(exp);
        es = hn_report_one_line(s);
        free(s);
    }
    if (rec && !json_is_null(rec)) {
        char *s = hn_report_frame_summary(rec);
        rs = hn_report_one_line(s);
        free(s);
    }
    if (es && (!rs || strcmp(es, rs)))
        wc_buf_addf(&b, "; expected %s", es);
    if (rs)
        wc_buf_addf(&b, "%s received %s", es && strcmp(es, rs) ? "," : ";", rs);
    free(es);
    free(rs);
    return wc_buf_detach(&b, NULL);
}

json_t *hn_report_failures_ordered(const json_t *c)
{
    const json_t *fails = json_object_get(c, "failures");
    size_t n = json_array_size(fails), i;
    bool *placed = wc_xcalloc(n + 1, sizeof(bool));
    json_t *out = json_array(), *f;

    json_array_foreach(fails, i, f)
    {
        json_t *cause = json_object_get(f, "cause");
        if (placed[i])
            continue;
        if (json_is_integer(cause) && json_integer_value(cause) >= 0 &&
            (size_t)json_integer_value(cause) < n && !placed[json_integer_value(cause)]) {
            size_t k = (size_t)json_integer_value(cause);
            placed[k] = true;
            json_array_append(out, json_array_get(fails, k));
        }
        placed[i] = true;
        json_array_append(out, f);
    }
    free(placed);
    return out;
}

/* The human text of one failure, lines indented by `ind` spaces. */
static void failure_text(struct wc_buf *b, const json_t *f, int ind)
{
    const json_t *exp = json_object_get(f, "expected"), *rec = json_object_get(f, "received");
    const char *diff = wc_json_str(f, "diff"), *kind = wc_json_str(f, "kind");
    json_t *step = json_object_get(f, "step"), *wit = json_object_get(f, "witness");
    char *s;

    wc_buf_addf(b, "%*s%s", ind, "", hn_report_str_or(f, "requirement", "(no requirement)"));
    if (json_is_integer(step))
        wc_buf_addf(b, " (step %lld)", (long long)json_integer_value(step));
    else if (kind && wc_json_str(f, "checker"))
        wc_buf_addf(b, " (%s %s)", kind, wc_json_str(f, "checker"));
    else if (kind && strcmp(kind, "step"))
        wc_buf_addf(b, " (%s)", kind);
    s = hn_report_one_line(hn_report_str_or(f, "message", ""));
    wc_buf_addf(b, ": %s\n", s);
    free(s);
    if (exp && !json_is_null(exp)) {
        s = hn_report_show_json(exp, SHOW_MAX);
        wc_buf_addf(b, "%*sexpected: %s\n", ind + 2, "", s);
        free(s);
    }
    if (rec && !json_is_null(rec)) {
        s = hn_report_show_json(rec, SHOW_MAX);
        wc_buf_addf(b, "%*sreceived: %s\n", ind + 2, "", s);
        free(s);
    }
    if (diff && *diff) {
        const char *p = diff;
        wc_buf_addf(b, "%*sdiff:\n", ind + 2, "");
        while (*p) {
            const char *eol = strchr(p, '\n');
            size_t len = eol ? (size_t)(eol - p) : strlen(p);
            char *line = wc_xstrndup(p, len), *clean = hn_report_one_line(line);
            wc_buf_addf(b, "%*s%s\n", ind + 4, "", clean);
            free(line);
            free(clean);
            p += len + (eol ? 1 : 0);
        }
    }
    if (json_array_size(wit)) {
        s = witness_text(wit);
        wc_buf_addf(b, "%*switness: record%s %s\n", ind + 2, "",
                    json_array_size(wit) > 1 ? "s" : "", s);
        free(s);
    }
    if (wc_json_str(f, "witness_key"))
        wc_buf_addf(b, "%*sbaseline: requirement %s, witness %s\n", ind + 2, "",
                    hn_report_str_or(f, "requirement", "?"), wc_json_str(f, "witness_key"));
}

/* Every failure of a case plus its rerun line. New string. */
char *hn_report_case_details(const json_t *c, int ind)
{
    struct wc_buf b;
    json_t *f;
    size_t i;

    wc_buf_init(&b, 0);
    json_array_foreach(json_object_get(c, "failures"), i, f) failure_text(&b, f, ind);
    if (wc_json_str(c, "rerun"))
        wc_buf_addf(&b, "%*srerun: %s\n", ind, "", wc_json_str(c, "rerun"));
    return wc_buf_detach(&b, NULL);
}

const char *const hn_report_cov_levels[3] = {"MUST", "SHOULD", "MAY"};

/* The MUSTs without a case of an enforced coverage: they fail the run. */
const json_t *hn_report_cov_missing(const json_t *run)
{
    const json_t *cov = json_object_get(run, "coverage");
    return json_is_true(json_object_get(cov, "enforced")) ? json_object_get(cov, "missing_must")
                                                          : NULL;
}

/* "MUST 52: 52 exercised, 0 not run, 0 without a case, 0 untestable" for one level. New string. */
char *hn_report_cov_level_text(const json_t *cov, const char *level)
{
    const json_t *l = json_object_get(json_object_get(cov, "levels"), level);
    return wc_xasprintf(
        "%s %lld: %lld exercised, %lld not run, %lld without a case, %lld untestable", level,
        hn_report_int_or(l, "requirements", 0), hn_report_int_or(l, "exercised", 0),
        hn_report_int_or(l, "not_run", 0), hn_report_int_or(l, "without_case", 0),
        hn_report_int_or(l, "untestable", 0));
}

/* "R-A-1, R-B-2" from an array of strings (or of objects with "id"). New string. */
char *hn_report_cov_ids(const json_t *a)
{
    struct wc_buf b;
    size_t i;
    json_t *v;

    wc_buf_init(&b, 0);
    json_array_foreach(a, i, v)
        wc_buf_addf(&b, "%s%s", i ? ", " : "",
                    json_is_string(v) ? json_string_value(v) : hn_report_str_or(v, "id", "?"));
    return wc_buf_detach(&b, NULL);
}

/* The scope in words: "whole catalog" or "selected cases only (not enforced)". */
const char *hn_report_cov_scope(const json_t *cov)
{
    return json_is_true(json_object_get(cov, "enforced")) ? "whole catalog"
                                                          : "the selected cases only, not enforced";
}

struct tally hn_report_count(const json_t *run)
{
    struct tally t = {0};
    json_t *c;
    size_t i;

    json_array_foreach(json_object_get(run, "cases"), i, c)
    {
        enum hn_verdict v = hn_report_verdict_of(c);
        t.total++;
        switch (v) {
        case HN_OK:
            t.ok++;
            t.passed++;
            break;
        case HN_NON_STRICT:
            if (hn_report_is_known(c))
                t.known++;
            else
                t.non_strict++;
            t.passed++;
            break;
        case HN_INFORMATIONAL:
            t.informational++;
            t.passed++;
            break;
        case HN_UNIMPLEMENTED:
            t.unimplemented++;
            break;
        case HN_SKIPPED:
            t.skipped++;
            break;
        case HN_FAILED:
            if (hn_report_is_known(c))
                t.known++;
            else
                t.failed++;
            break;
        case HN_ERROR:
            t.error++;
            break;
        default:
            WC_BUG("verdict");
        }
    }
    return t;
}

/* The coverage block both the console and TAP print: a heading, a line per level, and the
 * requirements without a case (and, with nlists 2, those marked untestable); `lead` starts each
 * line after the heading. */
void hn_report_coverage_lines(FILE *fp, const json_t *run, const json_t *cov, const char *head,
                              const char *colon, const char *lead, size_t nlists)
{
    static const char *const lists[][2] = {{"without_case", "without a case"},
                                           {"untestable", "marked untestable"}};

    fprintf(fp, "%srequirements of %s (%s)%s\n", head, hn_report_str_or(run, "spec", "chatgw/1.0"),
            hn_report_cov_scope(cov), colon);
    for (size_t i = 0; i < 3; i++) {
        char *t = hn_report_cov_level_text(cov, hn_report_cov_levels[i]);
        fprintf(fp, "%s%s\n", lead, t);
        free(t);
    }
    for (size_t i = 0; i < nlists && i < 2; i++) {
        const json_t *ids = json_object_get(cov, lists[i][0]);
        if (json_array_size(ids)) {
            char *text = hn_report_cov_ids(ids);
            fprintf(fp, "%s%s: %s\n", lead, lists[i][1], text);
            free(text);
        }
    }
}

/* Length of the valid UTF-8 sequence at p and its code point; 0 when invalid. */
size_t hn_report_utf8_char(const unsigned char *p, uint32_t *cp)
{
    size_t n, i;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xe0) == 0xc0)
        n = 2, *cp = p[0] & 0x1f;
    else if ((p[0] & 0xf0) == 0xe0)
        n = 3, *cp = p[0] & 0x0f;
    else if ((p[0] & 0xf8) == 0xf0)
        n = 4, *cp = p[0] & 0x07;
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 2 && *cp < 0x80) || (n == 3 && *cp < 0x800) || (n == 4 && *cp < 0x10000) ||
        *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

/*
 * Text for XML 1.0 (JUnit) and HTML alike: markup characters as entities, and in attribute
 * values (always double-quoted) the quotes and \t \n as character references too. Characters
 * that neither may carry raw (C0 controls but \t and \n, DEL, C1 controls, U+FFFE, U+FFFF) are
 * written as "\uXXXX" text, and bytes that are not UTF-8 as U+FFFD.
 */
void hn_report_markup_put(FILE *fp, const char *s, bool attr)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");

    while (*p) {
        uint32_t cp;
        size_t n = hn_report_utf8_char(p, &cp);
        if (!n) {
            fputs("\xef\xbf\xbd", fp);
            p++;
            continue;
        }
        switch (cp) {
        case '&':
            fputs("&amp;", fp);
            break;
        case '<':
            fputs("&lt;", fp);
            break;
        case '>':
            fputs("&gt;", fp);
            break;
        case '"':
            fputs(attr ? "&quot;" : "\"", fp);
            break;
        case '\'':
            fputs(attr ? "&#39;" : "'", fp);
            break;
        case '\n':
            fputs(attr ? "&#10;" : "\n", fp);
            break;
        case '\t':
            fputs(attr ? "&#9;" : "\t", fp);
            break;
        default:
            if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff)
                fprintf(fp, "\\u%04X", (unsigned)cp);
            else
                fwrite(p, 1, n, fp);
        }
        p += n;
    }
}

bool hn_report_is_flaky(const json_t *run, const char *id)
{
    size_t i;
    json_t *f;

    json_array_foreach(json_object_get(run, "flaky"), i, f)
    {
        if (id && wc_json_str(f, "id") && !strcmp(wc_json_str(f, "id"), id))
            return true;
    }
    return false;
}

#define HTML_CELL_MAX 2000 /* longest frame or event shown in one transcript cell */

/* Who produced a record: the client connection, the provider script (label/run), or harness. */
char *hn_report_record_who(const json_t *r)
{
    const char *t = hn_report_str_or(r, "t", "");

    if (wc_json_str(r, "conn"))
        return wc_xstrdup(wc_json_str(r, "conn"));
    if ((!strcmp(t, "ctl") || !strcmp(t, "ctl_send")) && wc_json_str(r, "label"))
        return wc_json_str(r, "run")
                   ? wc_xasprintf("%s/%s", wc_json_str(r, "label"), wc_json_str(r, "run"))
                   : wc_xstrdup(wc_json_str(r, "label"));
    if (!strcmp(t, "http") && wc_json_str(r, "user"))
        return wc_xasprintf("REST %s", wc_json_str(r, "user"));
    return wc_xstrdup("harness");
}

/* The frame or event of a record as compact JSON, cut to HTML_CELL_MAX. New string. */
char *hn_report_record_text(const json_t *r)
{
    const char *t = hn_report_str_or(r, "t", "");
    json_t *rest;
    char *s;

    if ((!strcmp(t, "send") || !strcmp(t, "recv")) && json_object_get(r, "frame"))
        return hn_report_show_json(json_object_get(r, "frame"), HTML_CELL_MAX);
    if ((!strcmp(t, "ctl") || !strcmp(t, "ctl_send")) && json_object_get(r, "msg"))
        return hn_report_show_json(json_object_get(r, "msg"), HTML_CELL_MAX);
    if (!strcmp(t, "note") && wc_json_str(r, "text"))
        return wc_xstrdup(wc_json_str(r, "text"));
    rest = json_deep_copy(r);
    json_object_del(rest, "t");
    json_object_del(rest, "n");
    json_object_del(rest, "us");
    json_object_del(rest, "conn");
    s = hn_report_show_json(rest, HTML_CELL_MAX);
    json_decref(rest);
    return s;
}
