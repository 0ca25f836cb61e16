/* junit.c: the JUnit XML report (report.h). */
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

#define JUNIT_RECORDS 2000 /* transcript records put into a JUnit system-out */

static void xml_attr(FILE *fp, const char *name, const char *value)
{
    fprintf(fp, " %s=\"", name);
    hn_report_markup_put(fp, value, true);
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
    hn_report_markup_put(fp, "transcript (gwspec-transcript/1, JSONL):\n", false);
    json_array_foreach(tr, i, rec)
    {
        char *s;
        if (i == JUNIT_RECORDS) {
            fprintf(fp, "... %zu more records in the JSON report\n", json_array_size(tr) - i);
            break;
        }
        s = wc_json_compact(rec);
        hn_report_markup_put(fp, s, false);
        fputc('\n', fp);
        free(s);
    }
    fputs("</system-err>\n", fp);
}

static void junit_case(FILE *fp, const json_t *c)
{
    enum hn_verdict v = hn_report_verdict_of(c);
    json_t *first = json_array_get(json_object_get(c, "failures"), 0);
    json_t *order = hn_report_failures_ordered(c), *lead = json_array_get(order, 0);
    char *cls = classname(c), *t = seconds(hn_report_int_or(c, "duration_ms", 0)),
         *details = hn_report_case_details(c, 0);
    char *msg;
    /* the cause leads: the requirement the first failure is charged to, and its message (as
     * written: the XML escaping shows what a control character was) */
    const char *charged =
        hn_report_str_or(lead, "charged_to", hn_report_str_or(lead, "requirement", NULL));

    fputs("    <testcase", fp);
    xml_attr(fp, "name", hn_report_str_or(c, "id", "?"));
    xml_attr(fp, "classname", cls);
    xml_attr(fp, "time", t);
    fputs(">\n", fp);
    msg = wc_xasprintf("%s: %s", charged ? charged : hn_verdict_name(v),
                       hn_report_str_or(lead, "message", ""));
    if (hn_report_is_known(c) && (v == HN_FAILED || v == HN_NON_STRICT)) {
        char *k = wc_xasprintf("known failure: %s", hn_report_str_or(c, "known_reason", ""));
        fputs("      <skipped", fp);
        xml_attr(fp, "message", k);
        fputs("/>\n", fp);
        free(k);
    } else if (v == HN_FAILED || v == HN_ERROR) {
        const char *el = v == HN_FAILED ? "failure" : "error";
        fprintf(fp, "      <%s", el);
        xml_attr(fp, "message", msg);
        xml_attr(fp, "type", charged ? charged : hn_verdict_name(v));
        fputs(">", fp);
        hn_report_markup_put(fp, details, false);
        fprintf(fp, "</%s>\n", el);
    } else if (v == HN_UNIMPLEMENTED || v == HN_SKIPPED) {
        char *m = wc_xasprintf("%s%s%s", hn_verdict_name(v), first ? ": " : "",
                               hn_report_str_or(first, "message", ""));
        fputs("      <skipped", fp);
        xml_attr(fp, "message", m);
        fputs("/>\n", fp);
        free(m);
    }
    fputs("      <system-out>", fp);
    {
        char *out = wc_xasprintf(
            "verdict: %s\nseed: %lld\n%s%s%s", hn_verdict_name(v), hn_report_int_or(c, "seed", 0),
            v == HN_NON_STRICT || v == HN_INFORMATIONAL ? details : "",
            wc_json_str(c, "rerun") ? "rerun: " : "", hn_report_str_or(c, "rerun", ""));
        hn_report_markup_put(fp, out, false);
        free(out);
    }
    fputs("</system-out>\n", fp);
    if (v == HN_FAILED || v == HN_ERROR)
        junit_transcript(fp, c);
    fputs("    </testcase>\n", fp);
    free(msg);
    json_decref(order);
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
    xml_property(fp, "      ", "coverage.scope", hn_report_str_or(cov, "scope", "?"));
    for (i = 0; i < 3; i++) {
        const json_t *l = json_object_get(json_object_get(cov, "levels"), hn_report_cov_levels[i]);
        for (k = 0; keys[k]; k++) {
            char *name = wc_xasprintf("coverage.%s.%s", hn_report_cov_levels[i], keys[k]);
            char *val = wc_xasprintf("%lld", hn_report_int_or(l, keys[k], 0));
            xml_property(fp, "      ", name, val);
            free(name);
            free(val);
        }
    }
    if (json_array_size(json_object_get(cov, "without_case"))) {
        char *ids = hn_report_cov_ids(json_object_get(cov, "without_case"));
        xml_property(fp, "      ", "coverage.without_case", ids);
        free(ids);
    }
}

/* MUSTs without a case fail the run: one failing testcase says so, so CI shows why. */
static void junit_coverage_case(FILE *fp, const json_t *run)
{
    char *ids, *msg;

    if (!json_array_size(hn_report_cov_missing(run)))
        return;
    ids = hn_report_cov_ids(hn_report_cov_missing(run));
    msg = wc_xasprintf("MUST requirement(s) of %s without a case: %s",
                       hn_report_str_or(run, "spec", "chatgw/1.0"), ids);
    fputs("    <testcase name=\"requirement-coverage\" classname=\"gwspec.coverage\" time=\"0\">\n"
          "      <failure",
          fp);
    xml_attr(fp, "message", msg);
    xml_attr(fp, "type", "coverage");
    fputs(">", fp);
    hn_report_markup_put(
        fp, "write a case for each, or mark it `untestable:` with the reason in requirements.yaml",
        false);
    fputs("</failure>\n    </testcase>\n", fp);
    free(msg);
    free(ids);
}

int hn_report_junit(const char *path, const json_t *run)
{
    struct tally t = hn_report_count(run);
    FILE *fp = fopen(path, "w");
    char *secs, *n[4], *suite, *rerun;
    json_t *c;
    size_t i;
    int rc;

    if (!fp)
        return WC_ERR_IO;
    secs = seconds(hn_report_int_or(run, "duration_ms", 0));
    n[0] = wc_xasprintf("%ld", t.total + (json_array_size(hn_report_cov_missing(run)) ? 1 : 0));
    n[1] = wc_xasprintf("%ld", t.failed + (json_array_size(hn_report_cov_missing(run)) ? 1 : 0));
    n[2] = wc_xasprintf("%ld", t.error);
    n[3] = wc_xasprintf("%ld", t.unimplemented + t.skipped + t.known);
    suite = wc_xasprintf("gwspec %s %s", hn_report_str_or(run, "spec", "chatgw/1.0"),
                         hn_report_str_or(run, "target", "?"));
    rerun = wc_json_str(run, "rerun")
                ? wc_xstrdup(wc_json_str(run, "rerun"))
                : wc_xasprintf("bin/gwspec run --seed %lld", hn_report_int_or(run, "seed", 0));
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
        char *seed = wc_xasprintf("%lld", hn_report_int_or(run, "seed", 0));
        xml_property(fp, "      ", "seed", seed);
        free(seed);
    }
    xml_property(fp, "      ", "target", hn_report_str_or(run, "target", "?"));
    xml_property(fp, "      ", "spec", hn_report_str_or(run, "spec", "chatgw/1.0"));
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
