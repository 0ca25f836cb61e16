/* report.c: console, JUnit XML, TAP 13 and JSON reports of a run result (see report.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <jansson.h>

#include "report.h"
#include "verdict.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

#define SHOW_MAX 400        /* longest JSON shown inline on the console */
#define JUNIT_RECORDS 2000  /* transcript records put into a JUnit system-out */

static enum hn_verdict verdict_of(const json_t *c)
{
    enum hn_verdict v = HN_ERROR;

    hn_verdict_parse(wc_json_str(c, "verdict"), &v);
    return v;
}

static bool is_known(const json_t *c)
{
    return json_is_true(json_object_get(c, "known"));
}

static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
    const char *s = wc_json_str(o, key);
    return s ? s : dflt;
}

static long long int_or(const json_t *o, const char *key, long long dflt)
{
    int64_t v;
    return wc_json_int(o, key, &v) ? (long long)v : dflt;
}

/* Compact JSON, cut at max bytes (on a UTF-8 boundary) with "...". New string. */
static char *show_json(const json_t *v, size_t max)
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
    json_array_foreach(w, i, n) wc_buf_addf(&b, "%s%lld", i ? ", " : "", (long long)json_integer_value(n));
    return wc_buf_detach(&b, NULL);
}

/* Text for one console line: C0 controls and DEL as \xHH, a newline as \n. New string. */
static char *one_line(const char *s)
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

/* The human text of one failure, lines indented by `ind` spaces. */
static void failure_text(struct wc_buf *b, const json_t *f, int ind)
{
    const json_t *exp = json_object_get(f, "expected"), *rec = json_object_get(f, "received");
    const char *diff = wc_json_str(f, "diff"), *kind = wc_json_str(f, "kind");
    json_t *step = json_object_get(f, "step"), *wit = json_object_get(f, "witness");
    char *s;

    wc_buf_addf(b, "%*s%s", ind, "", str_or(f, "requirement", "(no requirement)"));
    if (json_is_integer(step))
        wc_buf_addf(b, " (step %lld)", (long long)json_integer_value(step));
    else if (kind && wc_json_str(f, "checker"))
        wc_buf_addf(b, " (%s %s)", kind, wc_json_str(f, "checker"));
    else if (kind && strcmp(kind, "step"))
        wc_buf_addf(b, " (%s)", kind);
    s = one_line(str_or(f, "message", ""));
    wc_buf_addf(b, ": %s\n", s);
    free(s);
    if (exp && !json_is_null(exp)) {
        s = show_json(exp, SHOW_MAX);
        wc_buf_addf(b, "%*sexpected: %s\n", ind + 2, "", s);
        free(s);
    }
    if (rec && !json_is_null(rec)) {
        s = show_json(rec, SHOW_MAX);
        wc_buf_addf(b, "%*sreceived: %s\n", ind + 2, "", s);
        free(s);
    }
    if (diff && *diff) {
        const char *p = diff;
        wc_buf_addf(b, "%*sdiff:\n", ind + 2, "");
        while (*p) {
            const char *eol = strchr(p, '\n');
            size_t len = eol ? (size_t)(eol - p) : strlen(p);
            char *line = wc_xstrndup(p, len), *clean = one_line(line);
            wc_buf_addf(b, "%*s%s\n", ind + 4, "", clean);
            free(line);
            free(clean);
            p += len + (eol ? 1 : 0);
        }
    }
    if (json_array_size(wit)) {
        s = witness_text(wit);
        wc_buf_addf(b, "%*switness: record%s %s\n", ind + 2, "", json_array_size(wit) > 1 ? "s" : "", s);
        free(s);
    }
}

/* Every failure of a case plus its rerun line. New string. */
static char *case_details(const json_t *c, int ind)
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

/* --- console ------------------------------------------------------------------------------- */

void hn_report_console_case(FILE *fp, const json_t *c, bool verbose)
{
    enum hn_verdict v = verdict_of(c);
    bool known = is_known(c) && (v == HN_FAILED || v == HN_NON_STRICT);
    const char *label = known ? "KNOWN-FAIL" : hn_verdict_name(v);
    bool details = verbose || (!known && (v == HN_FAILED || v == HN_ERROR || v == HN_NON_STRICT));

    fprintf(fp, "  %-12s %s (%lld ms)", label, str_or(c, "id", "?"), int_or(c, "duration_ms", 0));
    if (known) {
        char *r = one_line(str_or(c, "known_reason", ""));
        fprintf(fp, "  known: %s", r);
        free(r);
    }
    if ((v == HN_UNIMPLEMENTED || v == HN_SKIPPED) && json_array_size(json_object_get(c, "failures"))) {
        char *m = one_line(str_or(json_array_get(json_object_get(c, "failures"), 0), "message", ""));
        fprintf(fp, "  %s", m);
        free(m);
    }
    fputc('\n', fp);
    if (details) {
        char *d = case_details(c, 6);
        fputs(d, fp);
        free(d);
    }
}

struct tally {
    long passed, failed, ok, non_strict, informational, unimplemented, skipped, known, error, total;
};

static struct tally count(const json_t *run)
{
    struct tally t = {0};
    json_t *c;
    size_t i;

    json_array_foreach(json_object_get(run, "cases"), i, c) {
        enum hn_verdict v = verdict_of(c);
        t.total++;
        switch (v) {
        case HN_OK: t.ok++; t.passed++; break;
        case HN_NON_STRICT:
            if (is_known(c))
                t.known++;
            else
                t.non_strict++;
            t.passed++;
            break;
        case HN_INFORMATIONAL: t.informational++; t.passed++; break;
        case HN_UNIMPLEMENTED: t.unimplemented++; break;
        case HN_SKIPPED: t.skipped++; break;
        case HN_FAILED:
            if (is_known(c))
                t.known++;
            else
                t.failed++;
            break;
        case HN_ERROR: t.error++; break;
        default: WC_BUG("verdict");
        }
    }
    return t;
}

static void add_count(struct wc_buf *b, long n, const char *one, const char *many)
{
    if (n)
        wc_buf_addf(b, "%s%ld %s", b->len ? ", " : "", n, n == 1 ? one : many);
}

void hn_report_console_summary(FILE *fp, const json_t *run)
{
    struct tally t = count(run);
    json_t *stale = json_object_get(json_object_get(run, "baseline"), "stale"), *s;
    struct wc_buf b;
    size_t i;

    fprintf(fp, "\n%s against %s, seed %lld, %lld ms\n", str_or(run, "spec", "chatgw/1.0"),
            str_or(run, "target", "?"), int_or(run, "seed", 0), int_or(run, "duration_ms", 0));
    if (wc_json_str(run, "rerun"))
        fprintf(fp, "rerun: %s\n", wc_json_str(run, "rerun"));
    else
        fprintf(fp, "rerun: bin/gwspec run --seed %lld\n", int_or(run, "seed", 0));
    if (wc_json_str(json_object_get(run, "baseline"), "warning"))
        fprintf(fp, "baseline: %s\n", wc_json_str(json_object_get(run, "baseline"), "warning"));
    wc_buf_init(&b, 0);
    add_count(&b, t.non_strict, "non-strict", "non-strict");
    add_count(&b, t.informational, "informational", "informational");
    add_count(&b, t.known, "known failure", "known failures");
    add_count(&b, t.unimplemented, "unimplemented", "unimplemented");
    add_count(&b, t.skipped, "skipped", "skipped");
    add_count(&b, t.error, "error", "errors");
    add_count(&b, (long)json_array_size(stale), "stale baseline entry", "stale baseline entries");
    if (json_array_size(stale)) {
        wc_buf_adds(&b, " (");
        json_array_foreach(stale, i, s) wc_buf_addf(&b, "%s%s", i ? ", " : "", json_string_value(s));
        wc_buf_adds(&b, ")");
    }
    if (b.len)
        fprintf(fp, "%s\n", b.buf);
    wc_buf_release(&b);
    fprintf(fp, "%ld passed, %ld failed\n", t.passed, t.failed);
}

int hn_run_exit_code(const json_t *run)
{
    struct tally t = count(run);

    if (t.failed || json_array_size(json_object_get(json_object_get(run, "baseline"), "stale")))
        return 1;
    return t.error ? 3 : 0;
}

/* --- XML ----------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p and its code point; 0 when invalid. */
static size_t utf8_char(const unsigned char *p, uint32_t *cp)
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
    if ((n == 2 && *cp < 0x80) || (n == 3 && *cp < 0x800) || (n == 4 && *cp < 0x10000) || *cp > 0x10ffff ||
        (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

/*
 * XML 1.0 text: markup characters escaped; in attributes also quotes and \t \n \r as
 * character references. Characters XML cannot carry at all (C0 controls, U+FFFE, U+FFFF) are
 * written as "\uXXXX" text, and bytes that are not UTF-8 as U+FFFD.
 */
static void xml_put(FILE *fp, const char *s, bool attr)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");

    while (*p) {
        uint32_t cp;
        size_t n = utf8_char(p, &cp);
        if (!n) {
            fputs("\xef\xbf\xbd", fp);
            p++;
            continue;
        }
        switch (cp) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs(attr ? "&quot;" : "\"", fp); break;
        case '\'': fputs(attr ? "&apos;" : "'", fp); break;
        case '\n': fputs(attr ? "&#10;" : "\n", fp); break;
        case '\r': fputs("&#13;", fp); break;
        case '\t': fputs(attr ? "&#9;" : "\t", fp); break;
        default:
            if (cp < 0x20 || cp == 0xfffe || cp == 0xffff)
                fprintf(fp, "\\u%04X", (unsigned)cp);
            else
                fwrite(p, 1, n, fp);
        }
        p += n;
    }
}

static void xml_attr(FILE *fp, const char *name, const char *value)
{
    fprintf(fp, " %s=\"", name);
    xml_put(fp, value, true);
    fputc('"', fp);
}

static void xml_property(FILE *fp, const char *ind, const char *name, const char *value)
{
    fprintf(fp, "%s<property", ind);
    xml_attr(fp, "name", name);
    xml_attr(fp, "value", value);
    fputs("/>\n", fp);
}

static char *seconds(long long ms)
{
    return wc_xasprintf("%lld.%03lld", ms / 1000, ms % 1000);
}

/* "gwspec.4-run" from "cases/4-run/4.2.1-x.yaml", else "gwspec". New string. */
static char *classname(const json_t *c)
{
    const char *file = wc_json_str(c, "file"), *slash, *prev;

    if (!file || !(slash = strrchr(file, '/')))
        return wc_xstrdup("gwspec");
    for (prev = slash; prev > file && prev[-1] != '/'; prev--)
        ;
    return wc_xasprintf("gwspec.%.*s", (int)(slash - prev), prev);
}

static void junit_transcript(FILE *fp, const json_t *c)
{
    json_t *tr = json_object_get(c, "transcript"), *rec;
    size_t i;

    if (!json_array_size(tr))
        return;
    fputs("      <system-err>", fp);
    xml_put(fp, "transcript (gwspec-transcript/1, JSONL):\n", false);
    json_array_foreach(tr, i, rec) {
        char *s;
        if (i == JUNIT_RECORDS) {
            fprintf(fp, "... %zu more records in the JSON report\n", json_array_size(tr) - i);
            break;
        }
        s = wc_json_compact(rec);
        xml_put(fp, s, false);
        fputc('\n', fp);
        free(s);
    }
    fputs("</system-err>\n", fp);
}

static void junit_case(FILE *fp, const json_t *c)
{
    enum hn_verdict v = verdict_of(c);
    json_t *first = json_array_get(json_object_get(c, "failures"), 0);
    char *cls = classname(c), *t = seconds(int_or(c, "duration_ms", 0)), *details = case_details(c, 0);
    char *msg;

    fputs("    <testcase", fp);
    xml_attr(fp, "name", str_or(c, "id", "?"));
    xml_attr(fp, "classname", cls);
    xml_attr(fp, "time", t);
    fputs(">\n", fp);
    msg = wc_xasprintf("%s: %s", str_or(first, "requirement", hn_verdict_name(v)), str_or(first, "message", ""));
    if (is_known(c) && (v == HN_FAILED || v == HN_NON_STRICT)) {
        char *k = wc_xasprintf("known failure: %s", str_or(c, "known_reason", ""));
        fputs("      <skipped", fp);
        xml_attr(fp, "message", k);
        fputs("/>\n", fp);
        free(k);
    } else if (v == HN_FAILED || v == HN_ERROR) {
        const char *el = v == HN_FAILED ? "failure" : "error";
        fprintf(fp, "      <%s", el);
        xml_attr(fp, "message", msg);
        xml_attr(fp, "type", str_or(first, "requirement", hn_verdict_name(v)));
        fputs(">", fp);
        xml_put(fp, details, false);
        fprintf(fp, "</%s>\n", el);
    } else if (v == HN_UNIMPLEMENTED || v == HN_SKIPPED) {
        char *m = wc_xasprintf("%s%s%s", hn_verdict_name(v), first ? ": " : "", str_or(first, "message", ""));
        fputs("      <skipped", fp);
        xml_attr(fp, "message", m);
        fputs("/>\n", fp);
        free(m);
    }
    fputs("      <system-out>", fp);
    {
        char *out = wc_xasprintf("verdict: %s\nseed: %lld\n%s%s%s", hn_verdict_name(v), int_or(c, "seed", 0),
                                 v == HN_NON_STRICT || v == HN_INFORMATIONAL ? details : "",
                                 wc_json_str(c, "rerun") ? "rerun: " : "", str_or(c, "rerun", ""));
        xml_put(fp, out, false);
        free(out);
    }
    fputs("</system-out>\n", fp);
    if (v == HN_FAILED || v == HN_ERROR)
        junit_transcript(fp, c);
    fputs("    </testcase>\n", fp);
    free(msg);
    free(cls);
    free(t);
    free(details);
}

int hn_report_junit(const char *path, const json_t *run)
{
    struct tally t = count(run);
    FILE *fp = fopen(path, "w");
    char *secs, *n[4], *suite, *rerun;
    json_t *c;
    size_t i;
    int rc;

    if (!fp)
        return WC_ERR_IO;
    secs = seconds(int_or(run, "duration_ms", 0));
    n[0] = wc_xasprintf("%ld", t.total);
    n[1] = wc_xasprintf("%ld", t.failed);
    n[2] = wc_xasprintf("%ld", t.error);
    n[3] = wc_xasprintf("%ld", t.unimplemented + t.skipped + t.known);
    suite = wc_xasprintf("gwspec %s %s", str_or(run, "spec", "chatgw/1.0"), str_or(run, "target", "?"));
    rerun = wc_json_str(run, "rerun") ? wc_xstrdup(wc_json_str(run, "rerun"))
                                      : wc_xasprintf("bin/gwspec run --seed %lld", int_or(run, "seed", 0));
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", fp);
    xml_attr(fp, "name", "gwspec");
    xml_attr(fp, "tests", n[0]);
    xml_attr(fp, "failures", n[1]);
    xml_attr(fp, "errors", n[2]);
    xml_attr(fp, "skipped", n[3]);
    xml_attr(fp, "time", secs);
    fputs(">\n  <testsuite", fp);
    xml_attr(fp, "name", suite);
    xml_attr(fp, "tests", n[0]);
    xml_attr(fp, "failures", n[1]);
    xml_attr(fp, "errors", n[2]);
    xml_attr(fp, "skipped", n[3]);
    xml_attr(fp, "time", secs);
    if (wc_json_str(run, "started"))
        xml_attr(fp, "timestamp", wc_json_str(run, "started"));
    fputs(">\n    <properties>\n", fp);
    {
        char *seed = wc_xasprintf("%lld", int_or(run, "seed", 0));
        xml_property(fp, "      ", "seed", seed);
        free(seed);
    }
    xml_property(fp, "      ", "target", str_or(run, "target", "?"));
    xml_property(fp, "      ", "spec", str_or(run, "spec", "chatgw/1.0"));
    xml_property(fp, "      ", "rerun", rerun);
    fputs("    </properties>\n", fp);
    json_array_foreach(json_object_get(run, "cases"), i, c) junit_case(fp, c);
    fputs("  </testsuite>\n</testsuites>\n", fp);
    rc = ferror(fp) ? WC_ERR_IO : 0;
    if (fclose(fp))
        rc = WC_ERR_IO;
    for (i = 0; i < 4; i++)
        free(n[i]);
    free(secs);
    free(suite);
    free(rerun);
    return rc;
}

/* --- TAP ----------------------------------------------------------------------------------- */

/*
 * A YAML double-quoted scalar. C0 controls and DEL are written as \xHH, which YAML 1.1/1.2 and
 * TAP::Parser's YAMLish reader both decode (the reader knows no \uXXXX); C1 controls and
 * U+FFFE/U+FFFF, which YAML does not allow raw, as \uXXXX; bytes that are not UTF-8 as U+FFFD;
 * the rest is raw UTF-8.
 */
static void yaml_str(FILE *fp, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");

    fputc('"', fp);
    while (*p) {
        uint32_t cp;
        size_t n = utf8_char(p, &cp);
        if (!n) {
            fputs("\xef\xbf\xbd", fp);
            p++;
            continue;
        }
        switch (cp) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\t': fputs("\\t", fp); break;
        case '\r': fputs("\\r", fp); break;
        default:
            if (cp < 0x20 || cp == 0x7f)
                fprintf(fp, "\\x%02X", (unsigned)cp);
            else if ((cp >= 0x80 && cp <= 0x9f && cp != 0x85) || cp == 0xfffe || cp == 0xffff)
                fprintf(fp, "\\u%04X", (unsigned)cp);
            else
                fwrite(p, 1, n, fp);
        }
        p += n;
    }
    fputc('"', fp);
}

static void yaml_json(FILE *fp, const json_t *v)
{
    char *s = wc_json_compact(v);
    yaml_str(fp, s);
    free(s);
}

/* TAP descriptions cannot carry '#' (a directive) or newlines. */
static void tap_desc(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '#')
            fputs("\\#", fp);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', fp);
        else
            fputc(*s, fp);
    }
}

static void tap_yaml(FILE *fp, const json_t *c, enum hn_verdict v)
{
    json_t *fails = json_object_get(c, "failures"), *f, *wit;
    size_t i, k;

    fprintf(fp, "  ---\n  verdict: %s\n", hn_verdict_name(v));
    fprintf(fp, "  duration_ms: %lld\n  seed: %lld\n", int_or(c, "duration_ms", 0), int_or(c, "seed", 0));
    if (json_array_size(fails)) {
        f = json_array_get(fails, 0);
        fputs("  requirement: ", fp);
        yaml_str(fp, str_or(f, "requirement", ""));
        fputs("\n  message: ", fp);
        yaml_str(fp, str_or(f, "message", ""));
        fputs("\n  failures:\n", fp);
    }
    json_array_foreach(fails, i, f) {
        fputs("    - requirement: ", fp);
        yaml_str(fp, str_or(f, "requirement", ""));
        fputs("\n      kind: ", fp);
        yaml_str(fp, str_or(f, "kind", ""));
        fputs("\n      message: ", fp);
        yaml_str(fp, str_or(f, "message", ""));
        fputc('\n', fp);
        if (json_is_integer(json_object_get(f, "step")))
            fprintf(fp, "      step: %lld\n", (long long)json_integer_value(json_object_get(f, "step")));
        if (json_object_get(f, "expected") && !json_is_null(json_object_get(f, "expected"))) {
            fputs("      expected: ", fp);
            yaml_json(fp, json_object_get(f, "expected"));
            fputc('\n', fp);
        }
        if (json_object_get(f, "received") && !json_is_null(json_object_get(f, "received"))) {
            fputs("      received: ", fp);
            yaml_json(fp, json_object_get(f, "received"));
            fputc('\n', fp);
        }
        if (wc_json_str(f, "diff")) {
            fputs("      diff: ", fp);
            yaml_str(fp, wc_json_str(f, "diff"));
            fputc('\n', fp);
        }
        wit = json_object_get(f, "witness");
        if (json_array_size(wit)) {
            json_t *n;
            fputs("      witness:\n", fp);
            json_array_foreach(wit, k, n) fprintf(fp, "        - %lld\n", (long long)json_integer_value(n));
        }
    }
    if (wc_json_str(c, "rerun")) {
        fputs("  rerun: ", fp);
        yaml_str(fp, wc_json_str(c, "rerun"));
        fputc('\n', fp);
    }
    fputs("  ...\n", fp);
}

static void tap_case(FILE *fp, size_t num, const json_t *c)
{
    enum hn_verdict v = verdict_of(c);
    bool known = is_known(c) && (v == HN_FAILED || v == HN_NON_STRICT);
    bool ok = hn_verdict_is_pass(v) || v == HN_UNIMPLEMENTED || v == HN_SKIPPED;
    json_t *first = json_array_get(json_object_get(c, "failures"), 0);

    if (known && v == HN_FAILED)
        ok = false;
    fprintf(fp, "%s %zu - ", ok ? "ok" : "not ok", num);
    tap_desc(fp, str_or(c, "id", "?"));
    if (v == HN_UNIMPLEMENTED || v == HN_SKIPPED) {
        fputs(" # SKIP ", fp);
        tap_desc(fp, first ? str_or(first, "message", hn_verdict_name(v)) : hn_verdict_name(v));
    } else if (known) {
        fputs(" # TODO known failure: ", fp);
        tap_desc(fp, str_or(c, "known_reason", ""));
    }
    fputc('\n', fp);
    if (v == HN_FAILED || v == HN_ERROR || v == HN_NON_STRICT || v == HN_INFORMATIONAL)
        tap_yaml(fp, c, v);
}

int hn_report_tap(const char *path, const json_t *run)
{
    FILE *fp = fopen(path, "w");
    json_t *cases = json_object_get(run, "cases"), *c;
    size_t i;
    int rc;

    if (!fp)
        return WC_ERR_IO;
    fprintf(fp, "TAP version 13\n1..%zu\n", json_array_size(cases));
    fprintf(fp, "# gwspec %s against %s, seed %lld\n", str_or(run, "spec", "chatgw/1.0"),
            str_or(run, "target", "?"), int_or(run, "seed", 0));
    json_array_foreach(cases, i, c) tap_case(fp, i + 1, c);
    rc = ferror(fp) ? WC_ERR_IO : 0;
    if (fclose(fp))
        rc = WC_ERR_IO;
    return rc;
}

/* --- JSON ---------------------------------------------------------------------------------- */

char *hn_report_case_file_name(const char *id)
{
    char *s = wc_xstrdup(id && *id ? id : "_");
    char *p;

    for (p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '-' || *p == '_'))
            *p = '_';
    }
    if (s[0] == '.') /* never "." or ".." or a hidden file */
        s[0] = '_';
    return s;
}

static int mkdir_p(const char *dir)
{
    char *p = wc_xstrdup(dir), *s;
    int rc = 0;

    for (s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) && errno != EEXIST)
            rc = WC_ERR_IO;
        *s = '/';
    }
    if (mkdir(p, 0777) && errno != EEXIST)
        rc = WC_ERR_IO;
    free(p);
    return rc;
}

static int dump_file(const char *path, const json_t *v)
{
    return json_dump_file(v, path, JSON_INDENT(2) | JSON_ENCODE_ANY) ? WC_ERR_IO : 0;
}

int hn_report_json(const char *dir, const json_t *run)
{
    json_t *index = json_object(), *map = json_object(), *c;
    char *cases_dir = wc_xasprintf("%s/cases", dir), *path;
    static const char *const copy[] = {"seed", "target", "spec", "started", "duration_ms", "counts", "baseline",
                                       "rerun", "resources", NULL};
    size_t i;
    int rc = mkdir_p(cases_dir);

    for (i = 0; !rc && copy[i]; i++) {
        if (json_object_get(run, copy[i]))
            json_object_set(index, copy[i], json_object_get(run, copy[i]));
    }
    json_object_set_new(index, "exit_code", json_integer(hn_run_exit_code(run)));
    json_array_foreach(json_object_get(run, "cases"), i, c) {
        char *name, *rel;
        json_t *e;
        if (rc)
            break;
        name = hn_report_case_file_name(wc_json_str(c, "id"));
        rel = wc_xasprintf("cases/%s.json", name);
        path = wc_xasprintf("%s/%s", dir, rel);
        rc = dump_file(path, c);
        e = json_object();
        json_object_set(e, "verdict", json_object_get(c, "verdict") ? json_object_get(c, "verdict") : json_null());
        json_object_set_new(e, "known", json_boolean(is_known(c)));
        json_object_set_new(e, "duration_ms", json_integer(int_or(c, "duration_ms", 0)));
        if (json_object_get(c, "checks"))
            json_object_set(e, "checks", json_object_get(c, "checks"));
        else
            json_object_set_new(e, "checks", json_object());
        json_object_set_new(e, "report", json_string(rel));
        json_object_set_new(map, wc_json_str(c, "id") ? wc_json_str(c, "id") : name, e);
        free(path);
        free(rel);
        free(name);
    }
    json_object_set_new(index, "cases", map);
    if (!rc) {
        path = wc_xasprintf("%s/index.json", dir);
        rc = dump_file(path, index);
        free(path);
    }
    json_decref(index);
    free(cases_dir);
    return rc;
}
