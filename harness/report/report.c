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
    if (wc_json_str(f, "witness_key"))
        wc_buf_addf(b, "%*sbaseline: requirement %s, witness %s\n", ind + 2, "",
                    str_or(f, "requirement", "?"), wc_json_str(f, "witness_key"));
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

/* --- requirement coverage (run["coverage"], coverage.h) ------------------------------------ */

static const char *const cov_levels[] = {"MUST", "SHOULD", "MAY"};

/* The MUSTs without a case of an enforced coverage: they fail the run. */
static const json_t *cov_missing(const json_t *run)
{
    const json_t *cov = json_object_get(run, "coverage");
    return json_is_true(json_object_get(cov, "enforced")) ? json_object_get(cov, "missing_must")
                                                          : NULL;
}

/* "MUST 52: 52 exercised, 0 not run, 0 without a case, 0 untestable" for one level. New string. */
static char *cov_level_text(const json_t *cov, const char *level)
{
    const json_t *l = json_object_get(json_object_get(cov, "levels"), level);
    return wc_xasprintf(
        "%s %lld: %lld exercised, %lld not run, %lld without a case, %lld untestable", level,
        int_or(l, "requirements", 0), int_or(l, "exercised", 0), int_or(l, "not_run", 0),
        int_or(l, "without_case", 0), int_or(l, "untestable", 0));
}

/* "R-A-1, R-B-2" from an array of strings (or of objects with "id"). New string. */
static char *cov_ids(const json_t *a)
{
    struct wc_buf b;
    size_t i;
    json_t *v;

    wc_buf_init(&b, 0);
    json_array_foreach(a, i, v)
        wc_buf_addf(&b, "%s%s", i ? ", " : "",
                    json_is_string(v) ? json_string_value(v) : str_or(v, "id", "?"));
    return wc_buf_detach(&b, NULL);
}

/* The scope in words: "whole catalog" or "selected cases only (not enforced)". */
static const char *cov_scope(const json_t *cov)
{
    return json_is_true(json_object_get(cov, "enforced")) ? "whole catalog"
                                                          : "the selected cases only, not enforced";
}

/* --- console ------------------------------------------------------------------------------- */

static char *record_who(const json_t *r);
static char *record_text(const json_t *r);

/* The direction of a record for the console: "->gw" what a client sent, "gw->" what it received,
 * "prov->" / "->prov" the control channel to the mock provider, "->REST" a REST call. */
static const char *console_dir(const char *t)
{
    static const char *const map[][2] = {
        {"send", "->gw"}, {"recv", "gw->"}, {"ctl", "prov->"}, {"ctl_send", "->prov"},
        {"ping", "gw->"}, {"pong", "gw->"}, {"http", "->REST"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (!strcmp(t, map[i][0]))
            return map[i][1];
    }
    return "";
}

/* -v: the two-sided transcript of a case, one record a line: number, ms since the start, who,
 * direction, type and the frame or event; witness records of a failure are marked '*'. The
 * header record (the case facts) is left out: the case line says them. */
static void console_transcript(FILE *fp, const json_t *c)
{
    const json_t *tr = json_object_get(c, "transcript"), *r;
    json_t *wit = json_object(), *f, *w;
    size_t i, k;

    if (!json_array_size(tr)) {
        fputs("      transcript: none recorded\n", fp);
        json_decref(wit);
        return;
    }
    json_array_foreach(json_object_get(c, "failures"), i, f) {
        json_array_foreach(json_object_get(f, "witness"), k, w) {
            if (json_is_integer(w)) {
                char key[32];
                snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(w));
                json_object_set_new(wit, key, json_true());
            }
        }
    }
    fprintf(fp, "      transcript (%zu records):\n", json_array_size(tr));
    json_array_foreach(tr, i, r) {
        const char *t = str_or(r, "t", "?");
        int64_t n = -1, us = 0;
        char key[32], *who, *text, *clean;
        if (!strcmp(t, "header"))
            continue;
        wc_json_int(r, "n", &n);
        wc_json_int(r, "us", &us);
        snprintf(key, sizeof(key), "%lld", (long long)n);
        who = record_who(r);
        text = record_text(r);
        clean = one_line(text);
        fprintf(fp, "      %c%4lld %8.3f %-10s %-6s %-8s %s%s\n", json_object_get(wit, key) ? '*' : ' ',
                (long long)n, (double)us / 1000.0, who, console_dir(t), t,
                json_is_true(json_object_get(r, "sentinel")) ? "[sentinel] " : "", clean);
        free(clean);
        free(text);
        free(who);
    }
    json_decref(wit);
}

void hn_report_console_case(FILE *fp, const json_t *c, bool verbose)
{
    enum hn_verdict v = verdict_of(c);
    bool known = is_known(c) && (v == HN_FAILED || v == HN_NON_STRICT);
    const char *label = known ? "KNOWN-FAIL" : hn_verdict_name(v);
    bool details = verbose || (!known && (v == HN_FAILED || v == HN_ERROR || v == HN_NON_STRICT));

    fprintf(fp, "  %-12s %s (%lld ms)", label, str_or(c, "id", "?"), int_or(c, "duration_ms", 0));
    if (int_or(c, "repetition", 1) > 1)
        fprintf(fp, " [repetition %lld]", int_or(c, "repetition", 1));
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
    if (verbose && v != HN_OK)
        console_transcript(fp, c);
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

/* A witness list ["a", "b"] as "a, b". New string. */
static char *list_text(const json_t *v)
{
    struct wc_buf b;
    size_t i;
    json_t *s;

    if (json_is_string(v))
        return wc_xstrdup(json_string_value(v));
    wc_buf_init(&b, 0);
    json_array_foreach(v, i, s)
        wc_buf_addf(&b, "%s%s", i ? ", " : "", json_is_string(s) ? json_string_value(s) : "?");
    return wc_buf_detach(&b, NULL);
}

/* The baseline's new failures (failures of a baselined case that no entry excuses) and stale
 * entries, one line each, said plainly. */
static void console_baseline(FILE *fp, const json_t *base)
{
    json_t *e;
    size_t i;

    json_array_foreach(json_object_get(base, "new"), i, e) {
        char *m = one_line(str_or(e, "message", ""));
        fprintf(fp,
                "  NEW-FAIL     %s: %s, witness %s, is not in the baseline (a new failure in a "
                "baselined case): %s\n",
                str_or(e, "case", "?"), str_or(e, "requirement", "(no requirement)"),
                str_or(e, "witness", "?"), m);
        free(m);
    }
    json_array_foreach(json_object_get(base, "stale_entries"), i, e) {
        char *w = list_text(json_object_get(e, "witness"));
        fprintf(fp, "  STALE        %s: the entry for %s, witness %s, matched nothing: %s\n",
                str_or(e, "case", "?"), str_or(e, "requirement", "(any requirement)"), w,
                str_or(e, "why", "the case no longer fails that way"));
        free(w);
    }
}

/* The coverage block both the console and TAP print: a heading, a line per level, and the
 * requirements without a case (and, with nlists 2, those marked untestable); `lead` starts each
 * line after the heading. */
static void coverage_lines(FILE *fp, const json_t *run, const json_t *cov, const char *head,
                           const char *colon, const char *lead, size_t nlists)
{
    static const char *const lists[][2] = {{"without_case", "without a case"},
                                           {"untestable", "marked untestable"}};

    fprintf(fp, "%srequirements of %s (%s)%s\n", head, str_or(run, "spec", "chatgw/1.0"),
            cov_scope(cov), colon);
    for (size_t i = 0; i < 3; i++) {
        char *t = cov_level_text(cov, cov_levels[i]);
        fprintf(fp, "%s%s\n", lead, t);
        free(t);
    }
    for (size_t i = 0; i < nlists && i < 2; i++) {
        const json_t *ids = json_object_get(cov, lists[i][0]);
        if (json_array_size(ids)) {
            char *text = cov_ids(ids);
            fprintf(fp, "%s%s: %s\n", lead, lists[i][1], text);
            free(text);
        }
    }
}

/* Requirement coverage: one line per level, the requirements without a case or marked
 * untestable by id, and the MUSTs that fail the run. */
static void console_coverage(FILE *fp, const json_t *run)
{
    const json_t *cov = json_object_get(run, "coverage");
    char *ids;

    if (!cov)
        return;
    coverage_lines(fp, run, cov, "", ":", "  ", 2);
    if (json_array_size(cov_missing(run))) {
        ids = cov_ids(cov_missing(run));
        fprintf(fp,
                "  FAILED: MUST without a case (write one, or mark it `untestable:` with the "
                "reason): %s\n",
                ids);
        free(ids);
    }
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
    console_baseline(fp, json_object_get(run, "baseline"));
    console_coverage(fp, run);
    json_t *flaky = json_object_get(run, "flaky"), *f, *v;
    if (json_array_size(flaky)) {
        fprintf(fp, "flaky: %zu case%s with different verdicts across %lld repetitions:\n",
                json_array_size(flaky), json_array_size(flaky) == 1 ? "" : "s",
                int_or(run, "repeat", 0));
        json_array_foreach(flaky, i, f) {
            size_t k;
            fprintf(fp, "  FLAKY        %s:", str_or(f, "id", "?"));
            json_array_foreach(json_object_get(f, "verdicts"), k, v)
                fprintf(fp, " %s", json_is_string(v) ? json_string_value(v) : "-");
            fputc('\n', fp);
        }
    }
    fprintf(fp, "%ld passed, %ld failed\n", t.passed, t.failed);
}

int hn_report_exit_code(const json_t *run)
{
    struct tally t = count(run);

    if (t.failed || json_array_size(json_object_get(json_object_get(run, "baseline"), "stale")) ||
        json_array_size(cov_missing(run)))
        return 1;
    if (t.error)
        return 3;
    /* nothing was scored (every case UNIMPLEMENTED or SKIPPED, or none): a gate that tested
     * nothing must not pass */
    return t.passed + t.known ? 0 : 2;
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
 * Text for XML 1.0 (JUnit) and HTML alike: markup characters as entities, and in attribute
 * values (always double-quoted) the quotes and \t \n as character references too. Characters
 * that neither may carry raw (C0 controls but \t and \n, DEL, C1 controls, U+FFFE, U+FFFF) are
 * written as "\uXXXX" text, and bytes that are not UTF-8 as U+FFFD.
 */
static void markup_put(FILE *fp, const char *s, bool attr)
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
        case '\'': fputs(attr ? "&#39;" : "'", fp); break;
        case '\n': fputs(attr ? "&#10;" : "\n", fp); break;
        case '\t': fputs(attr ? "&#9;" : "\t", fp); break;
        default:
            if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff)
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
    markup_put(fp, value, true);
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
    markup_put(fp, "transcript (gwspec-transcript/1, JSONL):\n", false);
    json_array_foreach(tr, i, rec) {
        char *s;
        if (i == JUNIT_RECORDS) {
            fprintf(fp, "... %zu more records in the JSON report\n", json_array_size(tr) - i);
            break;
        }
        s = wc_json_compact(rec);
        markup_put(fp, s, false);
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
        markup_put(fp, details, false);
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
        markup_put(fp, out, false);
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

/* coverage.scope, coverage.MUST.exercised, ... as testsuite properties. */
static void junit_coverage_properties(FILE *fp, const json_t *run)
{
    static const char *const keys[] = {"requirements", "exercised",  "not_run",
                                       "without_case", "untestable", NULL};
    const json_t *cov = json_object_get(run, "coverage");
    size_t i, k;

    if (!cov)
        return;
    xml_property(fp, "      ", "coverage.scope", str_or(cov, "scope", "?"));
    for (i = 0; i < 3; i++) {
        const json_t *l = json_object_get(json_object_get(cov, "levels"), cov_levels[i]);
        for (k = 0; keys[k]; k++) {
            char *name = wc_xasprintf("coverage.%s.%s", cov_levels[i], keys[k]);
            char *val = wc_xasprintf("%lld", int_or(l, keys[k], 0));
            xml_property(fp, "      ", name, val);
            free(name);
            free(val);
        }
    }
    if (json_array_size(json_object_get(cov, "without_case"))) {
        char *ids = cov_ids(json_object_get(cov, "without_case"));
        xml_property(fp, "      ", "coverage.without_case", ids);
        free(ids);
    }
}

/* MUSTs without a case fail the run: one failing testcase says so, so CI shows why. */
static void junit_coverage_case(FILE *fp, const json_t *run)
{
    char *ids, *msg;

    if (!json_array_size(cov_missing(run)))
        return;
    ids = cov_ids(cov_missing(run));
    msg = wc_xasprintf("MUST requirement(s) of %s without a case: %s",
                       str_or(run, "spec", "chatgw/1.0"), ids);
    fputs("    <testcase name=\"requirement-coverage\" classname=\"gwspec.coverage\" time=\"0\">\n"
          "      <failure",
          fp);
    xml_attr(fp, "message", msg);
    xml_attr(fp, "type", "coverage");
    fputs(">", fp);
    markup_put(
        fp, "write a case for each, or mark it `untestable:` with the reason in requirements.yaml",
        false);
    fputs("</failure>\n    </testcase>\n", fp);
    free(msg);
    free(ids);
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
    n[0] = wc_xasprintf("%ld", t.total + (json_array_size(cov_missing(run)) ? 1 : 0));
    n[1] = wc_xasprintf("%ld", t.failed + (json_array_size(cov_missing(run)) ? 1 : 0));
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
    junit_coverage_properties(fp, run);
    fputs("    </properties>\n", fp);
    json_array_foreach(json_object_get(run, "cases"), i, c) junit_case(fp, c);
    junit_coverage_case(fp, run);
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

/* Coverage as comment lines; MUSTs without a case as one more test point, "not ok". */
static void tap_coverage(FILE *fp, const json_t *run, size_t num)
{
    const json_t *cov = json_object_get(run, "coverage");

    if (!cov)
        return;
    coverage_lines(fp, run, cov, "# ", "", "# ", 1);
    if (json_array_size(cov_missing(run))) {
        char *ids = cov_ids(cov_missing(run));
        fprintf(fp, "not ok %zu - requirement coverage: MUST without a case: ", num);
        tap_desc(fp, ids);
        fputc('\n', fp);
        free(ids);
    }
}

int hn_report_tap(const char *path, const json_t *run)
{
    FILE *fp = fopen(path, "w");
    json_t *cases = json_object_get(run, "cases"), *c;
    size_t i;
    int rc;

    if (!fp)
        return WC_ERR_IO;
    bool missing = json_array_size(cov_missing(run)) > 0;

    fprintf(fp, "TAP version 13\n1..%zu\n", json_array_size(cases) + (missing ? 1 : 0));
    fprintf(fp, "# gwspec %s against %s, seed %lld\n", str_or(run, "spec", "chatgw/1.0"),
            str_or(run, "target", "?"), int_or(run, "seed", 0));
    json_array_foreach(cases, i, c) tap_case(fp, i + 1, c);
    tap_coverage(fp, run, json_array_size(cases) + 1);
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

static int dump_file(const char *path, const json_t *v)
{
    return json_dump_file(v, path, JSON_INDENT(2) | JSON_ENCODE_ANY) ? WC_ERR_IO : 0;
}

/* The index entry of one result: its verdict, timing, checks and case file. New object. */
static json_t *index_entry(const json_t *c, const char *rel)
{
    json_t *e = json_object();

    json_object_set_new(e, "repetition", json_integer(int_or(c, "repetition", 1)));
    json_object_set(e, "verdict", json_object_get(c, "verdict") ? json_object_get(c, "verdict") : json_null());
    json_object_set_new(e, "known", json_boolean(is_known(c)));
    json_object_set_new(e, "duration_ms", json_integer(int_or(c, "duration_ms", 0)));
    if (json_object_get(c, "checks"))
        json_object_set(e, "checks", json_object_get(c, "checks"));
    else
        json_object_set_new(e, "checks", json_object());
    json_object_set_new(e, "report", json_string(rel));
    return e;
}

static bool is_flaky(const json_t *run, const char *id)
{
    size_t i;
    json_t *f;

    json_array_foreach(json_object_get(run, "flaky"), i, f) {
        if (id && wc_json_str(f, "id") && !strcmp(wc_json_str(f, "id"), id))
            return true;
    }
    return false;
}

int hn_report_json(const char *dir, const json_t *run)
{
    json_t *index = json_object(), *map = json_object(), *used = json_object(), *c;
    char *cases_dir = wc_xasprintf("%s/cases", dir), *path;
    static const char *const copy[] = {"seed",   "target",   "spec",  "started",   "duration_ms",
                                       "counts", "baseline", "rerun", "resources", "repeat",
                                       "flaky",  "coverage", NULL};
    long long repeat = int_or(run, "repeat", 1);
    size_t i;
    int rc = wc_mkdir_p(cases_dir, 0777) ? WC_ERR_IO : 0;

    json_object_set_new(index, "format", json_string(HN_REPORT_FORMAT));
    for (i = 0; copy[i]; i++) {
        if (json_object_get(run, copy[i]))
            json_object_set(index, copy[i], json_object_get(run, copy[i]));
    }
    json_object_set_new(index, "exit_code", json_integer(hn_report_exit_code(run)));
    json_array_foreach(json_object_get(run, "cases"), i, c) {
        const char *id = wc_json_str(c, "id");
        char *name, *rel;
        json_t *e, *top, *file;
        int k = 1;
        if (rc)
            break;
        /* one file per result: <id>.json, or <id>.rep<N>.json with --repeat; never one over
         * another (two ids with one safe name get a ~2) */
        name = hn_report_case_file_name(id);
        if (repeat > 1)
            rel = wc_xasprintf("cases/%s.rep%lld.json", name, int_or(c, "repetition", 1));
        else
            rel = wc_xasprintf("cases/%s.json", name);
        while (json_object_get(used, rel)) {
            free(rel);
            if (repeat > 1)
                rel = wc_xasprintf("cases/%s~%d.rep%lld.json", name, ++k, int_or(c, "repetition", 1));
            else
                rel = wc_xasprintf("cases/%s~%d.json", name, ++k);
        }
        json_object_set_new(used, rel, json_true());
        path = wc_xasprintf("%s/%s", dir, rel);
        file = json_copy((json_t *)c);
        json_object_set_new(file, "format", json_string(HN_REPORT_FORMAT));
        rc = dump_file(path, file);
        json_decref(file);
        e = index_entry(c, rel);
        /* cases[id]: the worst repetition (the first of equals), every repetition under
         * "repetitions" when there are several, and "flaky" when their verdicts differ */
        if (!id)
            id = name;
        top = json_object_get(map, id);
        if (!top) {
            top = json_deep_copy(e);
            json_object_set_new(top, "flaky", json_boolean(is_flaky(run, id)));
            if (repeat > 1)
                json_object_set_new(top, "repetitions", json_array());
            json_object_set_new(map, id, top);
        } else {
            enum hn_verdict was = verdict_of(top), now = verdict_of(c);
            if (now != was && hn_verdict_worst(was, now) == now) {
                const char *key;
                json_t *v;
                json_object_foreach(e, key, v) json_object_set(top, key, v);
            }
        }
        if (repeat > 1)
            json_array_append(json_object_get(top, "repetitions"), e);
        json_decref(e);
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
    json_decref(used);
    json_decref(index);
    free(cases_dir);
    return rc;
}

/* --- HTML ---------------------------------------------------------------------------------- */

#define HTML_CELL_MAX 2000  /* longest frame or event shown in one transcript cell */
#define HTML_SHOW_MAX 4000  /* longest expected/received shown in a failure */
#define HTML_CONTEXT 2      /* records shown on each side of a witness past the cap */
#define HTML_TAIL 10        /* last records of a transcript always shown */

static void html_put(FILE *fp, const char *s)
{
    markup_put(fp, s, false);
}

static void html_attr(FILE *fp, const char *s)
{
    markup_put(fp, s, true);
}

/* <tag class="cls">escaped text</tag>; cls may be NULL. */
static void html_el(FILE *fp, const char *tag, const char *cls, const char *text)
{
    fprintf(fp, "<%s", tag);
    if (cls)
        fprintf(fp, " class=\"%s\"", cls);
    fputc('>', fp);
    html_put(fp, text);
    fprintf(fp, "</%s>", tag);
}

static const char *verdict_class(enum hn_verdict v)
{
    static const char *const cls[] = {"v-ok", "v-ns", "v-info", "v-unimpl", "v-skip", "v-fail", "v-err"};
    return (unsigned)v < sizeof(cls) / sizeof(cls[0]) ? cls[v] : "v-err";
}

static bool known_failure(const json_t *c)
{
    enum hn_verdict v = verdict_of(c);
    return is_known(c) && (v == HN_FAILED || v == HN_NON_STRICT);
}

/* The verdict badge: "FAILED" or, for a baseline-known one, "FAILED known". */
static void html_verdict(FILE *fp, const json_t *c)
{
    enum hn_verdict v = verdict_of(c);

    fprintf(fp, "<span class=\"v %s%s\"", verdict_class(v), known_failure(c) ? " known" : "");
    if (known_failure(c)) {
        fputs(" title=\"known: ", fp);
        html_attr(fp, str_or(c, "known_reason", ""));
        fputc('"', fp);
    }
    fprintf(fp, ">%s%s</span>", hn_verdict_name(v), known_failure(c) ? " known" : "");
}

/* One requirement id, with its title (run["requirements"]) as a tooltip when known. */
static void html_req(FILE *fp, const json_t *run, const char *id)
{
    const char *title = wc_json_str(json_object_get(json_object_get(run, "requirements"), id), "title");

    if (title) {
        fputs("<span class=\"req\" title=\"", fp);
        html_attr(fp, title);
        fputs("\">", fp);
    } else {
        fputs("<span class=\"req\">", fp);
    }
    html_put(fp, id);
    fputs("</span>", fp);
}

struct html_case {
    const json_t *c;
    size_t index;       /* position in run["cases"]: the tie-break of equal ids (--repeat) */
    char *anchor;       /* "case-<safe id>", unique; NULL: no detail section */
    long section;       /* leading number of the id, -1 when none */
};

static int html_case_cmp(const void *a, const void *b)
{
    const struct html_case *x = a, *y = b;
    int r = hn_case_id_cmp(str_or(x->c, "id", ""), str_or(y->c, "id", ""));

    return r ? r : x->index < y->index ? -1 : x->index > y->index;
}

static long id_section(const char *id)
{
    long n = 0;
    int digits = 0;

    for (; id && *id >= '0' && *id <= '9' && digits < 9; id++, digits++)
        n = n * 10 + (*id - '0');
    return digits ? n : -1;
}

/* A case gets a detail section unless it is OK. */
static bool has_detail(const json_t *c)
{
    return verdict_of(c) != HN_OK;
}

/* The cases in id order, with unique anchors for those with details. New array (*n entries). */
static struct html_case *html_order(const json_t *run, size_t *n)
{
    json_t *cases = json_object_get(run, "cases"), *c, *used = json_object();
    struct html_case *v = wc_xcalloc(json_array_size(cases) + 1, sizeof(*v));
    size_t i;

    json_array_foreach(cases, i, c) {
        v[i].c = c;
        v[i].index = i;
        v[i].section = id_section(wc_json_str(c, "id"));
    }
    *n = json_array_size(cases);
    qsort(v, *n, sizeof(*v), html_case_cmp);
    for (i = 0; i < *n; i++) {
        char *safe, *a;
        int k = 1;
        if (!has_detail(v[i].c))
            continue;
        safe = hn_report_case_file_name(wc_json_str(v[i].c, "id"));
        a = wc_xasprintf("case-%s", safe);
        while (json_object_get(used, a)) { /* a repeated id, or two ids with one safe name */
            free(a);
            a = wc_xasprintf("case-%s:%d", safe, ++k);
        }
        json_object_set_new(used, a, json_true());
        v[i].anchor = a;
        free(safe);
    }
    json_decref(used);
    return v;
}

static const char html_css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\n"
    "h1{font-size:1.4em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}\n"
    "h3{font-size:1.05em;margin:0 0 .4em}\n"
    "table{border-collapse:collapse}td,th{padding:2px 6px;vertical-align:top;text-align:left}\n"
    "table.facts th{color:#555;font-weight:normal}\n"
    "table.matrix td,table.matrix th{border-bottom:1px solid #eee}\n"
    "tr.sec th{background:#f0f0f0;padding-top:6px}td.num{text-align:right}\n"
    "code,pre,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}\n"
    "pre{background:#f7f7f7;padding:4px 6px;margin:2px 0;white-space:pre-wrap;word-break:break-all}\n"
    ".v{display:inline-block;padding:0 5px;border-radius:3px;font-weight:bold;font-size:12px}\n"
    ".v-ok{background:#d4f4d4;color:#155715}.v-ns{background:#fbe7b5;color:#6b4a00}\n"
    ".v-info{background:#d6e6fb;color:#163f73}.v-unimpl{background:#e4e4e4;color:#444}\n"
    ".v-skip{background:#f2f2f2;color:#777}.v-fail{background:#f8caca;color:#8a1010}\n"
    ".v-err{background:#e3cdf3;color:#4f1877}.v-flaky{background:#ffe08a;color:#5c3d00}\n"
    ".known{background:repeating-linear-gradient(135deg,#f8caca 0 6px,#fbe3e3 6px 12px);"
    "border:1px dashed #8a1010}\n"
    ".req{margin-right:4px}.muted{color:#777}\n"
    "div.case{border:1px solid #ddd;border-radius:4px;padding:8px 10px;margin:12px 0}\n"
    "div.failure{border-left:3px solid #c33;padding:2px 8px;margin:6px 0}\n"
    "table.tr{width:100%}table.tr td{border-bottom:1px solid #f0f0f0}\n"
    "table.tr td.rec{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;"
    "white-space:pre-wrap;word-break:break-all}\n"
    "tr.t-send td.dir{color:#1a5fb4}tr.t-recv td.dir{color:#26a269}tr.t-ctl td.dir,tr.t-ctl_send td.dir{color:#a0522d}\n"
    "tr.t-note{color:#777}tr.wit{background:#fff3b0}tr.wit td{border-bottom:1px solid #e0c000}\n"
    "tr.gap td{color:#777;font-style:italic;text-align:center}\n";

static void html_fact(FILE *fp, const char *name, const char *value, bool code)
{
    fprintf(fp, "<tr><th>%s</th><td>", name);
    if (code)
        html_el(fp, "code", NULL, value);
    else
        html_put(fp, value);
    fputs("</td></tr>\n", fp);
}

/* The coverage row of the facts table: per level, then the ids without a case. */
static void html_coverage(FILE *fp, const json_t *run)
{
    const json_t *cov = json_object_get(run, "coverage");
    size_t i;

    if (!cov)
        return;
    fputs("<tr><th>requirements</th><td>", fp);
    html_put(fp, cov_scope(cov));
    for (i = 0; i < 3; i++) {
        char *t = cov_level_text(cov, cov_levels[i]);
        fputs("<br>", fp);
        html_put(fp, t);
        free(t);
    }
    if (json_array_size(json_object_get(cov, "without_case"))) {
        char *ids = cov_ids(json_object_get(cov, "without_case"));
        fputs("<br>without a case: ", fp);
        html_put(fp, ids);
        free(ids);
    }
    if (json_array_size(cov_missing(run))) {
        char *ids = cov_ids(cov_missing(run));
        fputs("<br><span class=\"v v-fail\">FAILED</span> MUST without a case: ", fp);
        html_put(fp, ids);
        free(ids);
    }
    fputs("</td></tr>\n", fp);
}

static void html_header(FILE *fp, const json_t *run, const struct html_case *v, size_t n)
{
    struct tally t = count(run);
    json_t *base = json_object_get(run, "baseline"), *stale = json_object_get(base, "stale"), *s;
    long per[HN_ERROR + 1] = {0}, known = 0;
    char *txt;
    size_t i;
    int k;

    for (i = 0; i < n; i++) {
        per[verdict_of(v[i].c)]++;
        known += known_failure(v[i].c);
    }
    fputs("<table class=\"facts\">\n", fp);
    html_fact(fp, "target", str_or(run, "target", "?"), false);
    if (wc_json_str(run, "mutant"))
        html_fact(fp, "mutant", wc_json_str(run, "mutant"), false);
    html_fact(fp, "spec", str_or(run, "spec", "chatgw/1.0"), false);
    txt = wc_xasprintf("%lld", int_or(run, "seed", 0));
    html_fact(fp, "seed", txt, false);
    free(txt);
    html_fact(fp, "started", str_or(run, "started", "?"), false);
    txt = wc_xasprintf("%lld ms", int_or(run, "duration_ms", 0));
    html_fact(fp, "duration", txt, false);
    free(txt);
    txt = wc_xasprintf("%ld case%s: %ld passed, %ld failed (exit status %d)", t.total, t.total == 1 ? "" : "s",
                       t.passed, t.failed, hn_report_exit_code(run));
    html_fact(fp, "result", txt, false);
    free(txt);
    fputs("<tr><th>verdicts</th><td>", fp);
    for (k = HN_OK; k <= HN_ERROR; k++) {
        if (per[k] || k == HN_OK || k == HN_FAILED)
            fprintf(fp, "<span class=\"v %s\">%s %ld</span> ", verdict_class((enum hn_verdict)k),
                    hn_verdict_name((enum hn_verdict)k), per[k]);
    }
    if (known)
        fprintf(fp, "<span class=\"v v-fail known\">known %ld</span>", known);
    fputs("</td></tr>\n", fp);
    if (int_or(run, "repeat", 1) > 1) {
        json_t *flaky = json_object_get(run, "flaky"), *f, *fv;
        fprintf(fp, "<tr><th>repeat</th><td>%lld repetitions; ", int_or(run, "repeat", 1));
        if (!json_array_size(flaky))
            fputs("no case is flaky", fp);
        json_array_foreach(flaky, i, f) {
            size_t j;
            fputs(i ? ", " : "<span class=\"v v-flaky\">flaky</span> ", fp);
            html_el(fp, "code", NULL, str_or(f, "id", "?"));
            fputs(" (", fp);
            json_array_foreach(json_object_get(f, "verdicts"), j, fv) {
                fputs(j ? ", " : "", fp);
                html_put(fp, json_is_string(fv) ? json_string_value(fv) : "-");
            }
            fputc(')', fp);
        }
        fputs("</td></tr>\n", fp);
    }
    if (wc_json_str(run, "rerun")) {
        html_fact(fp, "rerun", wc_json_str(run, "rerun"), true);
    } else {
        txt = wc_xasprintf("bin/gwspec run --seed %lld", int_or(run, "seed", 0));
        html_fact(fp, "rerun", txt, true);
        free(txt);
    }
    html_coverage(fp, run);
    if (base) {
        fprintf(fp, "<tr><th>baseline</th><td>%lld known failure%s", int_or(base, "known", 0),
                int_or(base, "known", 0) == 1 ? "" : "s");
        if (json_array_size(stale)) {
            fprintf(fp, "; <span class=\"v v-fail\">%zu stale</span> (", json_array_size(stale));
            json_array_foreach(stale, i, s) {
                fputs(i ? ", " : "", fp);
                html_put(fp, json_string_value(s));
            }
            fputc(')', fp);
        } else {
            fputs("; none stale", fp);
        }
        if (int_or(base, "not_run", 0))
            fprintf(fp, "; %lld not run", int_or(base, "not_run", 0));
        if (wc_json_str(base, "target")) {
            fputs("; for target ", fp);
            html_put(fp, wc_json_str(base, "target"));
        }
        if (wc_json_str(base, "warning")) {
            fputs("<br><span class=\"v v-ns\">warning</span> ", fp);
            html_put(fp, wc_json_str(base, "warning"));
        }
        fputs("</td></tr>\n", fp);
    }
    fputs("</table>\n", fp);
}

/* "cases/6-abort/6.1.1-x.yaml" -> "6-abort"; NULL when the file has no directory. New string. */
static char *file_dir_name(const json_t *c)
{
    const char *file = wc_json_str(c, "file"), *slash, *prev;

    if (!file || !(slash = strrchr(file, '/')))
        return NULL;
    for (prev = slash; prev > file && prev[-1] != '/'; prev--)
        ;
    return wc_xstrndup(prev, (size_t)(slash - prev));
}

static void html_section_row(FILE *fp, const struct html_case *v, size_t n, size_t from)
{
    long sec = v[from].section, cases = 0, notok = 0;
    char *dir = file_dir_name(v[from].c);
    size_t i;

    for (i = from; i < n && v[i].section == sec; i++) {
        cases++;
        notok += verdict_of(v[i].c) != HN_OK;
    }
    if (sec >= 0)
        fprintf(fp, "<tr class=\"sec\" id=\"sec-%ld\"><th colspan=\"5\">%ld", sec, sec);
    else
        fputs("<tr class=\"sec\" id=\"sec-other\"><th colspan=\"5\">other", fp);
    if (dir && id_section(dir) == sec) {
        fputs(" <span class=\"muted\">", fp);
        html_put(fp, dir);
        fputs("</span>", fp);
    }
    fprintf(fp, " <span class=\"muted\">(%ld case%s%s", cases, cases == 1 ? "" : "s", notok ? ", " : "");
    if (notok)
        fprintf(fp, "%ld not OK", notok);
    fputs(")</span></th></tr>\n", fp);
    free(dir);
}

static void html_matrix(FILE *fp, const json_t *run, const struct html_case *v, size_t n)
{
    size_t i, k;
    json_t *r;

    fputs("<table class=\"matrix\" id=\"matrix\">\n<thead><tr><th>id</th><th>title</th><th>verdict</th>"
          "<th>requirements</th><th>ms</th></tr></thead>\n<tbody>\n",
          fp);
    for (i = 0; i < n; i++) {
        const json_t *c = v[i].c;
        if (i == 0 || v[i].section != v[i - 1].section)
            html_section_row(fp, v, n, i);
        fputs("<tr class=\"case\"><td class=\"mono\">", fp);
        if (v[i].anchor) {
            fprintf(fp, "<a href=\"#%s\">", v[i].anchor);
            html_put(fp, str_or(c, "id", "?"));
            fputs("</a>", fp);
        } else {
            html_put(fp, str_or(c, "id", "?"));
        }
        if (int_or(run, "repeat", 1) > 1)
            fprintf(fp, " <span class=\"muted\">#%lld</span>", int_or(c, "repetition", 0));
        fputs("</td><td>", fp);
        html_put(fp, str_or(c, "title", ""));
        fputs("</td><td>", fp);
        html_verdict(fp, c);
        if (is_flaky(run, wc_json_str(c, "id")))
            fputs(" <span class=\"v v-flaky\">flaky</span>", fp);
        fputs("</td><td class=\"mono\">", fp);
        json_array_foreach(json_object_get(c, "spec"), k, r) {
            if (json_is_string(r))
                html_req(fp, run, json_string_value(r));
        }
        fprintf(fp, "</td><td class=\"num\">%lld</td></tr>\n", int_or(c, "duration_ms", 0));
    }
    fputs("</tbody>\n</table>\n", fp);
}

/* A JSON value in a <pre>, cut at max bytes. */
static void html_json_pre(FILE *fp, const char *label, const json_t *v, size_t max)
{
    char *s = show_json(v, max);

    fprintf(fp, "<div>%s:</div>", label);
    html_el(fp, "pre", NULL, s);
    fputc('\n', fp);
    free(s);
}

static void html_failure(FILE *fp, const json_t *run, const json_t *f, const char *anchor)
{
    const json_t *exp = json_object_get(f, "expected"), *rec = json_object_get(f, "received");
    json_t *step = json_object_get(f, "step"), *wit = json_object_get(f, "witness"), *w;
    const char *req = wc_json_str(f, "requirement"), *kind = wc_json_str(f, "kind");
    const char *title = wc_json_str(json_object_get(json_object_get(run, "requirements"), req), "title");
    size_t i;

    fputs("<div class=\"failure\"><div><b class=\"mono\">", fp);
    html_put(fp, req ? req : "(no requirement)");
    fputs("</b>", fp);
    if (title) {
        fputs(" <span class=\"muted\">", fp);
        html_put(fp, title);
        fputs("</span>", fp);
    }
    fputs(" <span class=\"muted\">(", fp);
    if (json_is_integer(step))
        fprintf(fp, "step %lld", (long long)json_integer_value(step));
    else
        html_put(fp, kind ? kind : "failure");
    if (wc_json_str(f, "checker")) {
        fputc(' ', fp);
        html_put(fp, wc_json_str(f, "checker"));
    }
    fputs(")</span></div>\n<div>", fp);
    html_put(fp, str_or(f, "message", ""));
    fputs("</div>\n", fp);
    if (exp && !json_is_null(exp))
        html_json_pre(fp, "expected", exp, HTML_SHOW_MAX);
    if (rec && !json_is_null(rec))
        html_json_pre(fp, "received", rec, HTML_SHOW_MAX);
    if (wc_json_str(f, "diff") && *wc_json_str(f, "diff")) {
        fputs("<div>diff:</div>", fp);
        html_el(fp, "pre", NULL, wc_json_str(f, "diff"));
        fputc('\n', fp);
    }
    if (json_array_size(wit)) {
        fprintf(fp, "<div>witness record%s:", json_array_size(wit) > 1 ? "s" : "");
        json_array_foreach(wit, i, w) {
            if (json_is_integer(w))
                fprintf(fp, " <a href=\"#%s:r%lld\">%lld</a>", anchor, (long long)json_integer_value(w),
                        (long long)json_integer_value(w));
        }
        fputs("</div>\n", fp);
    }
    fputs("</div>\n", fp);
}

/* The witness record numbers of every failure of a case, as an object "n" -> true. New. */
static json_t *witness_set(const json_t *c)
{
    json_t *set = json_object(), *f, *w;
    size_t i, k;

    json_array_foreach(json_object_get(c, "failures"), i, f) {
        json_array_foreach(json_object_get(f, "witness"), k, w) {
            if (json_is_integer(w)) {
                char key[32];
                snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(w));
                json_object_set_new(set, key, json_true());
            }
        }
    }
    return set;
}

static bool is_witness(const json_t *set, const json_t *rec)
{
    char key[32];
    int64_t n;

    if (!wc_json_int(rec, "n", &n))
        return false;
    snprintf(key, sizeof(key), "%lld", (long long)n);
    return json_object_get(set, key) != NULL;
}

/* Who produced a record: the client connection, the provider script (label/run), or harness. */
static char *record_who(const json_t *r)
{
    const char *t = str_or(r, "t", "");

    if (wc_json_str(r, "conn"))
        return wc_xstrdup(wc_json_str(r, "conn"));
    if ((!strcmp(t, "ctl") || !strcmp(t, "ctl_send")) && wc_json_str(r, "label"))
        return wc_json_str(r, "run") ? wc_xasprintf("%s/%s", wc_json_str(r, "label"), wc_json_str(r, "run"))
                                     : wc_xstrdup(wc_json_str(r, "label"));
    if (!strcmp(t, "http") && wc_json_str(r, "user"))
        return wc_xasprintf("REST %s", wc_json_str(r, "user"));
    return wc_xstrdup("harness");
}

static const char *record_dir(const char *t)
{
    static const char *const map[][2] = {
        {"send", "&#8594; gw"}, {"recv", "gw &#8594;"}, {"ctl", "prov &#8594;"}, {"ctl_send", "&#8594; prov"},
        {"ping", "gw &#8594;"}, {"pong", "gw &#8594;"}, {"http", "&#8594; REST"},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (!strcmp(t, map[i][0]))
            return map[i][1];
    }
    return "";
}

/* The frame or event of a record as compact JSON, cut to HTML_CELL_MAX. New string. */
static char *record_text(const json_t *r)
{
    const char *t = str_or(r, "t", "");
    json_t *rest;
    char *s;

    if ((!strcmp(t, "send") || !strcmp(t, "recv")) && json_object_get(r, "frame"))
        return show_json(json_object_get(r, "frame"), HTML_CELL_MAX);
    if ((!strcmp(t, "ctl") || !strcmp(t, "ctl_send")) && json_object_get(r, "msg"))
        return show_json(json_object_get(r, "msg"), HTML_CELL_MAX);
    if (!strcmp(t, "note") && wc_json_str(r, "text"))
        return wc_xstrdup(wc_json_str(r, "text"));
    rest = json_deep_copy(r);
    json_object_del(rest, "t");
    json_object_del(rest, "n");
    json_object_del(rest, "us");
    json_object_del(rest, "conn");
    s = show_json(rest, HTML_CELL_MAX);
    json_decref(rest);
    return s;
}

static void html_record(FILE *fp, const json_t *r, bool wit, const char *anchor)
{
    const char *t = str_or(r, "t", "?");
    char *who = record_who(r), *text = record_text(r);
    int64_t n, us;
    bool has_n = wc_json_int(r, "n", &n);

    fputs("<tr class=\"t-", fp);
    html_attr(fp, t);
    fputs(wit ? " wit\"" : "\"", fp);
    if (wit && has_n)
        fprintf(fp, " id=\"%s:r%lld\"", anchor, (long long)n);
    fputs(">", fp);
    if (has_n)
        fprintf(fp, "<td class=\"num\">%lld</td>", (long long)n);
    else
        fputs("<td></td>", fp);
    if (wc_json_int(r, "us", &us))
        fprintf(fp, "<td class=\"num\">%lld.%03lld</td>", (long long)(us / 1000), (long long)(us % 1000 < 0 ? 0 : us % 1000));
    else
        fputs("<td></td>", fp);
    html_el(fp, "td", NULL, who);
    fprintf(fp, "<td class=\"dir\">%s</td>", record_dir(t));
    html_el(fp, "td", NULL, t);
    fputs("<td class=\"rec\">", fp);
    if (json_is_true(json_object_get(r, "sentinel")))
        fputs("<span class=\"muted\">[sentinel]</span> ", fp);
    if (json_is_true(json_object_get(r, "truncated")))
        fprintf(fp, "<span class=\"muted\">[truncated, %lld bytes]</span> ", int_or(r, "len", 0));
    html_put(fp, text);
    fputs("</td></tr>\n", fp);
    free(who);
    free(text);
}

static void html_gap(FILE *fp, size_t left_out)
{
    fprintf(fp, "<tr class=\"gap\"><td colspan=\"6\">%zu record%s left out</td></tr>\n", left_out,
            left_out == 1 ? "" : "s");
}

/*
 * The transcript table: the first `cap` records, then only the witnesses with HTML_CONTEXT records
 * on each side and the last HTML_TAIL records; each run of records left out is one gap row.
 */
static void html_transcript(FILE *fp, const json_t *c, const char *anchor, size_t cap)
{
    json_t *tr = json_object_get(c, "transcript"), *wit = witness_set(c);
    size_t n = json_array_size(tr), i, gap = 0, left_out = 0;
    bool *show;

    if (!n) {
        fputs("<p class=\"muted\">no transcript</p>\n", fp);
        json_decref(wit);
        return;
    }
    show = wc_xcalloc(n, sizeof(*show));
    for (i = 0; i < n; i++) {
        if (i < cap || i + HTML_TAIL >= n)
            show[i] = true;
        if (is_witness(wit, json_array_get(tr, i))) {
            size_t lo = i > HTML_CONTEXT ? i - HTML_CONTEXT : 0, hi = i + HTML_CONTEXT, k;
            for (k = lo; k <= hi && k < n; k++)
                show[k] = true;
        }
    }
    fprintf(fp, "<table class=\"tr\">\n<thead><tr><th>#</th><th>ms</th><th>who</th><th>dir</th><th>record</th>"
                "<th>frame or event</th></tr></thead>\n<tbody>\n");
    for (i = 0; i < n; i++) {
        json_t *r = json_array_get(tr, i);
        if (!show[i]) {
            gap++;
            left_out++;
            continue;
        }
        if (gap)
            html_gap(fp, gap);
        gap = 0;
        html_record(fp, r, is_witness(wit, r), anchor);
    }
    if (gap)
        html_gap(fp, gap);
    fputs("</tbody>\n</table>\n", fp);
    if (left_out)
        fprintf(fp, "<p class=\"muted\">%zu of %zu records left out (the first %zu, the witnesses with %d on each "
                    "side and the last %d are shown); <code>--json DIR</code> writes the whole transcript.</p>\n",
                left_out, n, cap, HTML_CONTEXT, HTML_TAIL);
    free(show);
    json_decref(wit);
}

static void html_detail(FILE *fp, const json_t *run, const struct html_case *hc, size_t cap)
{
    const json_t *c = hc->c;
    json_t *f, *tags = json_object_get(c, "tags"), *tag;
    size_t i;

    fprintf(fp, "<div class=\"case\" id=\"%s\">\n<h3>", hc->anchor);
    html_verdict(fp, c);
    fputs(" <span class=\"mono\">", fp);
    html_put(fp, str_or(c, "id", "?"));
    fputs("</span> <a class=\"muted\" href=\"#matrix\">&#8593; matrix</a></h3>\n<div>", fp);
    html_put(fp, str_or(c, "title", ""));
    fputs("</div>\n<div class=\"muted\">", fp);
    if (wc_json_str(c, "file")) {
        html_el(fp, "span", "mono", wc_json_str(c, "file"));
        fputs(" &#183; ", fp);
    }
    fprintf(fp, "seed %lld &#183; %lld ms", int_or(c, "seed", 0), int_or(c, "duration_ms", 0));
    if (json_array_size(tags)) {
        fputs(" &#183; tags:", fp);
        json_array_foreach(tags, i, tag) {
            fputc(' ', fp);
            html_put(fp, json_string_value(tag));
        }
    }
    fputs("</div>\n", fp);
    if (known_failure(c)) {
        fputs("<div><span class=\"v v-fail known\">known failure</span> ", fp);
        html_put(fp, str_or(c, "known_reason", ""));
        fputs("</div>\n", fp);
    }
    json_array_foreach(json_object_get(c, "failures"), i, f) html_failure(fp, run, f, hc->anchor);
    if (wc_json_str(c, "rerun")) {
        fputs("<div>rerun:</div>", fp);
        html_el(fp, "pre", "cmd", wc_json_str(c, "rerun"));
        fputc('\n', fp);
    }
    html_transcript(fp, c, hc->anchor, cap);
    fputs("</div>\n", fp);
}

/* The cases that are not OK, in id order: verdict, id (a link to the detail), first failure. */
static void html_not_ok(FILE *fp, const struct html_case *v, size_t n, size_t details)
{
    size_t i;

    fprintf(fp, "<h2>Not OK (%zu)</h2>\n<table class=\"matrix\">\n", details);
    for (i = 0; i < n; i++) {
        json_t *f = json_array_get(json_object_get(v[i].c, "failures"), 0);
        char *m;
        if (!v[i].anchor)
            continue;
        fputs("<tr><td>", fp);
        html_verdict(fp, v[i].c);
        fprintf(fp, "</td><td class=\"mono\"><a href=\"#%s\">", v[i].anchor);
        html_put(fp, str_or(v[i].c, "id", "?"));
        fputs("</a></td><td>", fp);
        if (f) {
            m = one_line(str_or(f, "message", ""));
            if (strlen(m) > 200) {
                size_t k = 197;
                while (k && ((unsigned char)m[k] & 0xc0) == 0x80)
                    k--;
                memcpy(m + k, "...", 4);
            }
            html_el(fp, "span", "mono", str_or(f, "requirement", ""));
            fputs(" ", fp);
            html_put(fp, m);
            free(m);
        }
        fputs("</td></tr>\n", fp);
    }
    fputs("</table>\n", fp);
}

int hn_report_html(const char *path, const json_t *run, size_t max_records)
{
    FILE *fp = fopen(path, "w");
    size_t n, i, details = 0;
    struct html_case *v;
    int rc;

    if (!fp)
        return WC_ERR_IO;
    if (!max_records)
        max_records = HN_HTML_RECORDS;
    v = html_order(run, &n);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>gwspec: ", fp);
    html_put(fp, str_or(run, "spec", "chatgw/1.0"));
    fputs(" against ", fp);
    html_put(fp, str_or(run, "target", "?"));
    fprintf(fp, ", seed %lld</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>gwspec: ", int_or(run, "seed", 0),
            html_css);
    html_put(fp, str_or(run, "spec", "chatgw/1.0"));
    fputs(" against ", fp);
    html_put(fp, str_or(run, "target", "?"));
    fputs("</h1>\n", fp);
    html_header(fp, run, v, n);
    for (i = 0; i < n; i++)
        details += v[i].anchor != NULL;
    if (details)
        html_not_ok(fp, v, n, details);
    fputs("<h2>Matrix</h2>\n<p>sections:", fp);
    for (i = 0; i < n; i++) {
        if (i == 0 || v[i].section != v[i - 1].section) {
            if (v[i].section >= 0)
                fprintf(fp, " <a href=\"#sec-%ld\">%ld</a>", v[i].section, v[i].section);
            else
                fputs(" <a href=\"#sec-other\">other</a>", fp);
        }
    }
    fputs("</p>\n", fp);
    html_matrix(fp, run, v, n);
    if (details) {
        fputs("<h2>Details</h2>\n<p class=\"muted\">Every case that is not OK; the transcript of an OK case is in "
              "the JSON report (<code>--json DIR</code>).</p>\n",
              fp);
        for (i = 0; i < n; i++) {
            if (v[i].anchor)
                html_detail(fp, run, &v[i], max_records);
        }
    }
    fputs("<p class=\"muted\">written by gwspec</p>\n</body>\n</html>\n", fp);
    for (i = 0; i < n; i++)
        free(v[i].anchor);
    free(v);
    rc = ferror(fp) ? WC_ERR_IO : 0;
    if (fclose(fp))
        rc = WC_ERR_IO;
    return rc;
}
