/* tap.c: the TAP 13 report with YAML diagnostics (report.h). */
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
        size_t n = hn_report_utf8_char(p, &cp);
        if (!n) {
            fputs("\xef\xbf\xbd", fp);
            p++;
            continue;
        }
        switch (cp) {
        case '"':
            fputs("\\\"", fp);
            break;
        case '\\':
            fputs("\\\\", fp);
            break;
        case '\n':
            fputs("\\n", fp);
            break;
        case '\t':
            fputs("\\t", fp);
            break;
        case '\r':
            fputs("\\r", fp);
            break;
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
    fprintf(fp, "  duration_ms: %lld\n  seed: %lld\n", hn_report_int_or(c, "duration_ms", 0),
            hn_report_int_or(c, "seed", 0));
    if (json_array_size(fails)) {
        f = json_array_get(fails, 0);
        fputs("  requirement: ", fp);
        yaml_str(fp, hn_report_str_or(f, "requirement", ""));
        fputs("\n  message: ", fp);
        yaml_str(fp, hn_report_str_or(f, "message", ""));
        fputs("\n  failures:\n", fp);
    }
    json_array_foreach(fails, i, f)
    {
        fputs("    - requirement: ", fp);
        yaml_str(fp, hn_report_str_or(f, "requirement", ""));
        fputs("\n      kind: ", fp);
        yaml_str(fp, hn_report_str_or(f, "kind", ""));
        fputs("\n      message: ", fp);
        yaml_str(fp, hn_report_str_or(f, "message", ""));
        fputc('\n', fp);
        if (json_is_integer(json_object_get(f, "step")))
            fprintf(fp, "      step: %lld\n",
                    (long long)json_integer_value(json_object_get(f, "step")));
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
            json_array_foreach(wit, k, n)
                fprintf(fp, "        - %lld\n", (long long)json_integer_value(n));
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
    enum hn_verdict v = hn_report_verdict_of(c);
    bool known = hn_report_is_known(c) && (v == HN_FAILED || v == HN_NON_STRICT);
    bool ok = hn_verdict_is_pass(v) || v == HN_UNIMPLEMENTED || v == HN_SKIPPED;
    json_t *first = json_array_get(json_object_get(c, "failures"), 0);

    if (known && v == HN_FAILED)
        ok = false;
    fprintf(fp, "%s %zu - ", ok ? "ok" : "not ok", num);
    tap_desc(fp, hn_report_str_or(c, "id", "?"));
    if (v == HN_UNIMPLEMENTED || v == HN_SKIPPED) {
        fputs(" # SKIP ", fp);
        tap_desc(fp, first ? hn_report_str_or(first, "message", hn_verdict_name(v))
                           : hn_verdict_name(v));
    } else if (known) {
        fputs(" # TODO known failure: ", fp);
        tap_desc(fp, hn_report_str_or(c, "known_reason", ""));
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
    hn_report_coverage_lines(fp, run, cov, "# ", "", "# ", 1);
    if (json_array_size(hn_report_cov_missing(run))) {
        char *ids = hn_report_cov_ids(hn_report_cov_missing(run));
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
    bool missing = json_array_size(hn_report_cov_missing(run)) > 0;

    fprintf(fp, "TAP version 13\n1..%zu\n", json_array_size(cases) + (missing ? 1 : 0));
    fprintf(fp, "# gwspec %s against %s, seed %lld\n", hn_report_str_or(run, "spec", "chatgw/1.0"),
            hn_report_str_or(run, "target", "?"), hn_report_int_or(run, "seed", 0));
    json_array_foreach(cases, i, c) tap_case(fp, i + 1, c);
    tap_coverage(fp, run, json_array_size(cases) + 1);
    rc = ferror(fp) ? WC_ERR_IO : 0;
    if (fclose(fp))
        rc = WC_ERR_IO;
    return rc;
}
