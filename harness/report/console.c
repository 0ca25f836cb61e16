/* console.c: the console report: one line per case, failure details, the summary (report.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* The direction of a record for the console: "->gw" what a client sent, "gw->" what it received,
 * "prov->" / "->prov" the control channel to the mock provider, "->REST" a REST call. */
static const char *console_dir(const char *t)
{
    static const char *const map[][2] = {
        {"send", "->gw"}, {"recv", "gw->"}, {"ctl", "prov->"},  {"ctl_send", "->prov"},
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
    json_array_foreach(json_object_get(c, "failures"), i, f)
    {
        json_array_foreach(json_object_get(f, "witness"), k, w)
        {
            if (json_is_integer(w)) {
                char key[32];
                snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(w));
                json_object_set_new(wit, key, json_true());
            }
        }
    }
    fprintf(fp, "      transcript (%zu records):\n", json_array_size(tr));
    json_array_foreach(tr, i, r)
    {
        const char *t = hn_report_str_or(r, "t", "?");
        int64_t n = -1, us = 0;
        char key[32], *who, *text, *clean;
        if (!strcmp(t, "header"))
            continue;
        wc_json_int(r, "n", &n);
        wc_json_int(r, "us", &us);
        snprintf(key, sizeof(key), "%lld", (long long)n);
        who = hn_report_record_who(r);
        text = hn_report_record_text(r);
        clean = hn_report_one_line(text);
        fprintf(fp, "      %c%4lld %8.3f %-10s %-6s %-8s %s%s\n",
                json_object_get(wit, key) ? '*' : ' ', (long long)n, (double)us / 1000.0, who,
                console_dir(t), t,
                json_is_true(json_object_get(r, "sentinel")) ? "[sentinel] " : "", clean);
        free(clean);
        free(text);
        free(who);
    }
    json_decref(wit);
}

/* Colour on a terminal only, and never with NO_COLOR set (no-color.org): a piped or
 * redirected report stays plain text. */
static bool use_colour(FILE *fp)
{
    const char *nc = getenv("NO_COLOR");

    return !(nc && *nc) && isatty(fileno(fp));
}

/* The ANSI colour of a verdict label: red fails, yellow the grades between, green OK. */
static const char *label_colour(enum hn_verdict v, bool known)
{
    if (known)
        return "\033[36m"; /* cyan: failing, but excused by the baseline */
    switch (v) {
    case HN_OK:
        return "\033[32m";
    case HN_FAILED:
    case HN_ERROR:
        return "\033[1;31m";
    case HN_NON_STRICT:
    case HN_INFORMATIONAL:
        return "\033[33m";
    default:
        return "\033[2m";
    }
}

#define SHOW_MAX 400 /* longest JSON shown inline */

static void console_json(FILE *fp, const char *label, const json_t *v)
{
    char *s, *t;

    if (!v || json_is_null(v))
        return;
    s = hn_report_show_json(v, SHOW_MAX);
    t = hn_report_one_line(s);
    fprintf(fp, "        %s: %s\n", label, t);
    free(t);
    free(s);
}

/* One failure: its plain reason first, then the requirement it is charged to, where the step
 * is in the case file, expected and received once, the witness and the baseline key. */
static void console_failure(FILE *fp, const json_t *c, const json_t *f, bool colour)
{
    const json_t *fails = json_object_get(c, "failures"), *wit = json_object_get(f, "witness");
    const char *req = hn_report_str_or(f, "requirement", NULL);
    const char *charged = hn_report_str_or(f, "charged_to", req);
    const json_t *cause = json_object_get(f, "cause");
    char *reason = hn_report_failure_reason(f);
    size_t i;
    json_t *w;

    fprintf(fp, "      %s%s%s\n", colour ? "\033[1m" : "", reason, colour ? "\033[0m" : "");
    free(reason);
    fprintf(fp, "        %s", charged ? charged : "(no requirement)");
    if (json_is_integer(cause)) {
        const json_t *g = json_array_get(fails, (size_t)json_integer_value(cause));
        fprintf(fp, " (the invariant %s above names the same frame",
                hn_report_str_or(g, "checker", "?"));
        if (req && charged && strcmp(req, charged))
            fprintf(fp, "; the step cites %s", req);
        fputc(')', fp);
    } else if (wc_json_str(f, "checker")) {
        fprintf(fp, " (%s %s)", hn_report_str_or(f, "kind", "invariant"),
                wc_json_str(f, "checker"));
    } else if (wc_json_str(f, "kind") && strcmp(wc_json_str(f, "kind"), "step")) {
        fprintf(fp, " (%s)", wc_json_str(f, "kind"));
    }
    fputc('\n', fp);
    if (json_is_integer(json_object_get(f, "step"))) {
        long long step = (long long)json_integer_value(json_object_get(f, "step"));
        if (json_is_integer(json_object_get(f, "line")))
            fprintf(fp, "        at %s:%lld (step %lld)\n", hn_report_str_or(c, "file", "?"),
                    (long long)json_integer_value(json_object_get(f, "line")), step);
        else
            fprintf(fp, "        at step %lld of %s\n", step, hn_report_str_or(c, "file", "?"));
    }
    console_json(fp, "expected", json_object_get(f, "expected"));
    console_json(fp, "received", json_object_get(f, "received"));
    if (hn_report_diff_adds(f)) {
        const char *p = wc_json_str(f, "diff");
        fputs("        diff:\n", fp);
        while (*p) {
            const char *eol = strchr(p, '\n');
            size_t len = eol ? (size_t)(eol - p) : strlen(p);
            char *line = wc_xstrndup(p, len), *clean = hn_report_one_line(line);
            fprintf(fp, "          %s\n", clean);
            free(line);
            free(clean);
            p += len + (eol ? 1 : 0);
        }
    }
    if (json_array_size(wit)) {
        fprintf(fp, "        witness: record%s", json_array_size(wit) > 1 ? "s" : "");
        json_array_foreach(wit, i, w)
            fprintf(fp, "%s %lld", i ? "," : "", (long long)json_integer_value(w));
        fputc('\n', fp);
    }
    if (wc_json_str(f, "witness_key"))
        fprintf(fp, "        baseline: requirement %s, witness %s\n", req ? req : "?",
                wc_json_str(f, "witness_key"));
}

void hn_report_console_case(FILE *fp, const json_t *c, bool verbose)
{
    enum hn_verdict v = hn_report_verdict_of(c);
    bool known = hn_report_is_known(c) && (v == HN_FAILED || v == HN_NON_STRICT);
    const char *label = known ? "KNOWN" : hn_verdict_name(v);
    bool details = verbose || (!known && (v == HN_FAILED || v == HN_ERROR || v == HN_NON_STRICT));
    bool colour = use_colour(fp);

    if (colour)
        fprintf(fp, "  %s%-12s\033[0m %s (%lld ms)", label_colour(v, known), label,
                hn_report_str_or(c, "id", "?"), hn_report_int_or(c, "duration_ms", 0));
    else
        fprintf(fp, "  %-12s %s (%lld ms)", label, hn_report_str_or(c, "id", "?"),
                hn_report_int_or(c, "duration_ms", 0));
    if (hn_report_int_or(c, "repetition", 1) > 1)
        fprintf(fp, " [repetition %lld]", hn_report_int_or(c, "repetition", 1));
    if (known) {
        char *r = hn_report_one_line(hn_report_str_or(c, "known_reason", ""));
        fprintf(fp, "  known: %s", r);
        free(r);
    }
    if ((v == HN_UNIMPLEMENTED || v == HN_SKIPPED) &&
        json_array_size(json_object_get(c, "failures"))) {
        char *m = hn_report_one_line(
            hn_report_str_or(json_array_get(json_object_get(c, "failures"), 0), "message", ""));
        fprintf(fp, "  %s", m);
        free(m);
    }
    fputc('\n', fp);
    if (details && v != HN_UNIMPLEMENTED && v != HN_SKIPPED) {
        json_t *order = hn_report_failures_ordered(c), *f;
        size_t i;
        json_array_foreach(order, i, f) console_failure(fp, c, f, colour);
        json_decref(order);
        if (wc_json_str(c, "rerun"))
            fprintf(fp, "      rerun: %s\n", wc_json_str(c, "rerun"));
    }
    if (verbose && v != HN_OK)
        console_transcript(fp, c);
}

bool hn_report_console_is_tty(FILE *fp)
{
    return isatty(fileno(fp));
}

void hn_report_console_progress(FILE *fp, const json_t *cases, size_t total)
{
    json_t *run = json_pack("{s:O}", "cases", (json_t *)cases);
    struct tally t = hn_report_count(run);
    struct wc_buf b;

    wc_buf_init(&b, 0);
    wc_buf_addf(&b, "[%zu/%zu] %ld passed, %ld failed", json_array_size(cases), total, t.passed,
                t.failed);
    if (t.known)
        wc_buf_addf(&b, ", %ld known", t.known);
    if (t.error)
        wc_buf_addf(&b, ", %ld error%s", t.error, t.error == 1 ? "" : "s");
    if (t.unimplemented + t.skipped)
        wc_buf_addf(&b, ", %ld not run", t.unimplemented + t.skipped);
    hn_report_console_progress_clear(fp);
    fputs(b.buf, fp);
    wc_buf_release(&b);
    json_decref(run);
}

/* Erase the line: an ANSI erase where colour is allowed, else spaces (NO_COLOR: no escapes). */
void hn_report_console_progress_clear(FILE *fp)
{
    if (use_colour(fp))
        fputs("\r\033[K", fp);
    else
        fprintf(fp, "\r%79s\r", "");
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

    json_array_foreach(json_object_get(base, "new"), i, e)
    {
        char *m = hn_report_one_line(hn_report_str_or(e, "message", ""));
        fprintf(fp,
                "  NEW-FAIL     %s: %s, witness %s, is not in the baseline (a new failure in a "
                "baselined case): %s\n",
                hn_report_str_or(e, "case", "?"),
                hn_report_str_or(e, "requirement", "(no requirement)"),
                hn_report_str_or(e, "witness", "?"), m);
        free(m);
    }
    json_array_foreach(json_object_get(base, "stale_entries"), i, e)
    {
        char *w = list_text(json_object_get(e, "witness"));
        fprintf(fp, "  STALE        %s: the entry for %s, witness %s, matched nothing: %s\n",
                hn_report_str_or(e, "case", "?"),
                hn_report_str_or(e, "requirement", "(any requirement)"), w,
                hn_report_str_or(e, "why", "the case no longer fails that way"));
        free(w);
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
    hn_report_coverage_lines(fp, run, cov, "", ":", "  ", 2);
    if (json_array_size(hn_report_cov_missing(run))) {
        ids = hn_report_cov_ids(hn_report_cov_missing(run));
        fprintf(fp,
                "  FAILED: MUST without a case (write one, or mark it `untestable:` with the "
                "reason): %s\n",
                ids);
        free(ids);
    }
}

/* The end of a run: every case that did not pass clean (FAILED, ERROR, NON-STRICT), one line
 * each with the command that reruns it alone, so the list can be worked through top to bottom.
 * Known failures are left out: the baseline excuses them, and its new and stale entries have
 * their own lines. */
static void console_not_ok(FILE *fp, const json_t *run)
{
    const json_t *c;
    size_t i, n = 0;

    json_array_foreach(json_object_get(run, "cases"), i, c)
    {
        enum hn_verdict v = hn_report_verdict_of(c);
        if ((v != HN_FAILED && v != HN_ERROR && v != HN_NON_STRICT) || hn_report_is_known(c))
            continue;
        if (!n++)
            fputs("not ok:\n", fp);
        if (wc_json_str(c, "rerun"))
            fprintf(fp, "  %-12s %-48s %s\n", hn_verdict_name(v), hn_report_str_or(c, "id", "?"),
                    wc_json_str(c, "rerun"));
        else
            fprintf(fp, "  %-12s %s\n", hn_verdict_name(v), hn_report_str_or(c, "id", "?"));
    }
}

void hn_report_console_summary(FILE *fp, const json_t *run)
{
    struct tally t = hn_report_count(run);
    json_t *stale = json_object_get(json_object_get(run, "baseline"), "stale"), *s;
    struct wc_buf b;
    size_t i;

    fprintf(fp, "\n%s against %s, seed %lld, %lld ms\n",
            hn_report_str_or(run, "spec", "chatgw/1.0"), hn_report_str_or(run, "target", "?"),
            hn_report_int_or(run, "seed", 0), hn_report_int_or(run, "duration_ms", 0));
    if (wc_json_str(run, "rerun"))
        fprintf(fp, "rerun: %s\n", wc_json_str(run, "rerun"));
    else
        fprintf(fp, "rerun: bin/gwspec run --seed %lld\n", hn_report_int_or(run, "seed", 0));
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
        json_array_foreach(stale, i, s)
            wc_buf_addf(&b, "%s%s", i ? ", " : "", json_string_value(s));
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
                hn_report_int_or(run, "repeat", 0));
        json_array_foreach(flaky, i, f)
        {
            size_t k;
            fprintf(fp, "  FLAKY        %s:", hn_report_str_or(f, "id", "?"));
            json_array_foreach(json_object_get(f, "verdicts"), k, v)
                fprintf(fp, " %s", json_is_string(v) ? json_string_value(v) : "-");
            fputc('\n', fp);
        }
    }
    console_not_ok(fp, run);
    fprintf(fp, "%ld passed, %ld failed\n", t.passed, t.failed);
}

int hn_report_exit_code(const json_t *run)
{
    struct tally t = hn_report_count(run);

    if (t.failed || json_array_size(json_object_get(json_object_get(run, "baseline"), "stale")) ||
        json_array_size(hn_report_cov_missing(run)))
        return 1;
    if (t.error)
        return 3;
    /* nothing was scored (every case UNIMPLEMENTED or SKIPPED, or none): a gate that tested
     * nothing must not pass */
    return t.passed + t.known ? 0 : 2;
}
