/* html.c: the HTML report: matrix, failures, transcripts (report.h). */
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

#define HTML_SHOW_MAX 4000 /* longest expected/received shown in a failure */

#define HTML_CONTEXT 2 /* records shown on each side of a witness past the cap */

#define HTML_TAIL 10 /* last records of a transcript always shown */

static void html_put(FILE *fp, const char *s)
{
    hn_report_markup_put(fp, s, false);
}

static void html_attr(FILE *fp, const char *s)
{
    hn_report_markup_put(fp, s, true);
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
    static const char *const cls[] = {"v-ok",   "v-ns",   "v-info", "v-unimpl",
                                      "v-skip", "v-fail", "v-err"};
    return (unsigned)v < sizeof(cls) / sizeof(cls[0]) ? cls[v] : "v-err";
}

static bool known_failure(const json_t *c)
{
    enum hn_verdict v = hn_report_verdict_of(c);
    return hn_report_is_known(c) && (v == HN_FAILED || v == HN_NON_STRICT);
}

/* The verdict badge: "FAILED" or, for a baseline-known one, "FAILED known". */
static void html_verdict(FILE *fp, const json_t *c)
{
    enum hn_verdict v = hn_report_verdict_of(c);

    fprintf(fp, "<span class=\"v %s%s\"", verdict_class(v), known_failure(c) ? " known" : "");
    if (known_failure(c)) {
        fputs(" title=\"known: ", fp);
        html_attr(fp, hn_report_str_or(c, "known_reason", ""));
        fputc('"', fp);
    }
    fprintf(fp, ">%s%s</span>", hn_verdict_name(v), known_failure(c) ? " known" : "");
}

/* One requirement id, with its title (run["requirements"]) as a tooltip when known. */
static void html_req(FILE *fp, const json_t *run, const char *id)
{
    const char *title =
        wc_json_str(json_object_get(json_object_get(run, "requirements"), id), "title");

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
    size_t index; /* position in run["cases"]: the tie-break of equal ids (--repeat) */
    char *anchor; /* "case-<safe id>", unique; NULL: no detail section */
    long section; /* leading number of the id, -1 when none */
};

static int html_case_cmp(const void *a, const void *b)
{
    const struct html_case *x = a, *y = b;
    int r = hn_case_id_cmp(hn_report_str_or(x->c, "id", ""), hn_report_str_or(y->c, "id", ""));

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
    return hn_report_verdict_of(c) != HN_OK;
}

/* The cases in id order, with unique anchors for those with details. New array (*n entries). */
static struct html_case *html_order(const json_t *run, size_t *n)
{
    json_t *cases = json_object_get(run, "cases"), *c, *used = json_object();
    struct html_case *v = wc_xcalloc(json_array_size(cases) + 1, sizeof(*v));
    size_t i;

    json_array_foreach(cases, i, c)
    {
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
    "pre{background:#f7f7f7;padding:4px 6px;margin:2px "
    "0;white-space:pre-wrap;word-break:break-all}\n"
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
    "tr.t-send td.dir{color:#1a5fb4}tr.t-recv td.dir{color:#26a269}tr.t-ctl td.dir,tr.t-ctl_send "
    "td.dir{color:#a0522d}\n"
    "tr.t-note{color:#777}tr.wit{background:#fff3b0}tr.wit td{border-bottom:1px solid #e0c000}\n"
    "tr.gap td{color:#777;font-style:italic;text-align:center}\n"
    "div.diagram{overflow-x:auto;border:1px solid #eee;margin:6px 0}\n"
    "svg.seq{font:11px ui-monospace,Menlo,Consolas,monospace}\n"
    "svg.seq .lane{text-anchor:middle;font-weight:bold;font-size:12px}\n"
    "svg.seq .life{stroke:#bbb;stroke-dasharray:3 3}\n"
    "svg.seq .hit{fill:transparent}svg.seq g.rec:hover .hit{fill:#eef4ff}\n"
    "svg.seq g.rec{cursor:pointer}svg.seq g.sel .hit{fill:#dde8ff}\n"
    "svg.seq .arrow{stroke:#555;stroke-width:1.3}svg.seq .dashed{stroke-dasharray:5 3}\n"
    "svg.seq .mark{fill:#777}svg.seq .num{fill:#999}svg.seq .lbl{fill:#222}\n"
    "svg.seq g.t-send .arrow{stroke:#1a5fb4}svg.seq g.t-recv .arrow{stroke:#26a269}\n"
    "svg.seq g.t-ctl .arrow,svg.seq g.t-ctl_send .arrow{stroke:#a0522d}\n"
    "svg.seq .note{stroke:#ccc;stroke-dasharray:1 3;fill:#777;font-style:italic}\n"
    "svg.seq g.sentinel .arrow{stroke:#aaa;stroke-dasharray:2 2}svg.seq g.sentinel "
    ".lbl{fill:#999}\n"
    "svg.seq g.barrier .arrow{stroke:#813d9c;stroke-width:2}svg.seq g.barrier .lbl{fill:#813d9c}\n"
    "svg.seq g.wit .hit{fill:#fff3b0}svg.seq g.wit .arrow{stroke:#c01c28;stroke-width:2.6}\n"
    "svg.seq g.wit .lbl{fill:#a51d2d;font-weight:bold}svg.seq .exp{fill:#a51d2d}\n"
    "svg.seq .gap{fill:#777;font-style:italic}svg.defs{position:absolute}\n"
    "pre.json-view{border:1px solid #99c;background:#f4f6ff;max-height:24em;overflow:auto}\n"
    "details>summary{cursor:pointer;color:#555}\n";

/* Clicking an arrow of a diagram shows its record's JSON (its <title>) in the panel under it. */
static const char html_script[] =
    "document.addEventListener('click',function(e){"
    "var g=e.target.closest?e.target.closest('g.rec'):null;if(!g)return;"
    "var d=g.closest('div.diagram'),p=d;while(p&&!(p.classList&&p.classList.contains('json-view')))"
    "p=p.nextElementSibling;if(!p)return;"
    "var "
    "t=g.querySelector('title');try{p.textContent=JSON.stringify(JSON.parse(t.textContent),null,2)}"
    "catch(x){p.textContent=t.textContent}p.hidden=false;"
    "var s=d.querySelectorAll('g.sel');for(var i=0;i<s.length;i++)s[i].classList.remove('sel');"
    "g.classList.add('sel');});\n";

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
    html_put(fp, hn_report_cov_scope(cov));
    for (i = 0; i < 3; i++) {
        char *t = hn_report_cov_level_text(cov, hn_report_cov_levels[i]);
        fputs("<br>", fp);
        html_put(fp, t);
        free(t);
    }
    if (json_array_size(json_object_get(cov, "without_case"))) {
        char *ids = hn_report_cov_ids(json_object_get(cov, "without_case"));
        fputs("<br>without a case: ", fp);
        html_put(fp, ids);
        free(ids);
    }
    if (json_array_size(hn_report_cov_missing(run))) {
        char *ids = hn_report_cov_ids(hn_report_cov_missing(run));
        fputs("<br><span class=\"v v-fail\">FAILED</span> MUST without a case: ", fp);
        html_put(fp, ids);
        free(ids);
    }
    fputs("</td></tr>\n", fp);
}

/* The facts row of a --repeat run: the flaky cases with their verdicts, one per repetition. */
static void html_repeat_row(FILE *fp, const json_t *run)
{
    json_t *flaky = json_object_get(run, "flaky"), *f, *fv;
    size_t i;

    if (hn_report_int_or(run, "repeat", 1) <= 1)
        return;
    fprintf(fp, "<tr><th>repeat</th><td>%lld repetitions; ", hn_report_int_or(run, "repeat", 1));
    if (!json_array_size(flaky))
        fputs("no case is flaky", fp);
    json_array_foreach(flaky, i, f)
    {
        size_t j;
        fputs(i ? ", " : "<span class=\"v v-flaky\">flaky</span> ", fp);
        html_el(fp, "code", NULL, hn_report_str_or(f, "id", "?"));
        fputs(" (", fp);
        json_array_foreach(json_object_get(f, "verdicts"), j, fv)
        {
            fputs(j ? ", " : "", fp);
            html_put(fp, json_is_string(fv) ? json_string_value(fv) : "-");
        }
        fputc(')', fp);
    }
    fputs("</td></tr>\n", fp);
}

/* The facts row of a run with a baseline: known failures, stale entries, its target. */
static void html_baseline_row(FILE *fp, const json_t *base)
{
    json_t *stale = json_object_get(base, "stale"), *s;
    size_t i;

    if (!base)
        return;
    fprintf(fp, "<tr><th>baseline</th><td>%lld known failure%s", hn_report_int_or(base, "known", 0),
            hn_report_int_or(base, "known", 0) == 1 ? "" : "s");
    if (json_array_size(stale)) {
        fprintf(fp, "; <span class=\"v v-fail\">%zu stale</span> (", json_array_size(stale));
        json_array_foreach(stale, i, s)
        {
            fputs(i ? ", " : "", fp);
            html_put(fp, json_string_value(s));
        }
        fputc(')', fp);
    } else {
        fputs("; none stale", fp);
    }
    if (hn_report_int_or(base, "not_run", 0))
        fprintf(fp, "; %lld not run", hn_report_int_or(base, "not_run", 0));
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

static void html_header(FILE *fp, const json_t *run, const struct html_case *v, size_t n)
{
    struct tally t = hn_report_count(run);
    json_t *base = json_object_get(run, "baseline");
    long per[HN_ERROR + 1] = {0}, known = 0;
    char *txt;
    size_t i;
    int k;

    for (i = 0; i < n; i++) {
        per[hn_report_verdict_of(v[i].c)]++;
        known += known_failure(v[i].c);
    }
    fputs("<table class=\"facts\">\n", fp);
    if (wc_json_str(run, "target_description")) {
        char *desc = wc_xasprintf("%s: %s", hn_report_str_or(run, "target", "?"),
                                  wc_json_str(run, "target_description"));
        html_fact(fp, "target", desc, false);
        free(desc);
    } else {
        html_fact(fp, "target", hn_report_str_or(run, "target", "?"), false);
    }
    if (wc_json_str(run, "mutant"))
        html_fact(fp, "mutant", wc_json_str(run, "mutant"), false);
    html_fact(fp, "spec", hn_report_str_or(run, "spec", "chatgw/1.0"), false);
    if (wc_json_str(run, "version"))
        html_fact(fp, "gwspec", wc_json_str(run, "version"), false);
    if (wc_json_str(run, "command"))
        html_fact(fp, "command", wc_json_str(run, "command"), true);
    txt = wc_xasprintf("%lld", hn_report_int_or(run, "seed", 0));
    html_fact(fp, "seed", txt, false);
    free(txt);
    html_fact(fp, "started", hn_report_str_or(run, "started", "?"), false);
    txt = wc_xasprintf("%lld ms", hn_report_int_or(run, "duration_ms", 0));
    html_fact(fp, "duration", txt, false);
    free(txt);
    txt = wc_xasprintf("%ld case%s: %ld passed, %ld failed (exit status %d)", t.total,
                       t.total == 1 ? "" : "s", t.passed, t.failed, hn_report_exit_code(run));
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
    html_repeat_row(fp, run);
    if (wc_json_str(run, "rerun")) {
        html_fact(fp, "rerun", wc_json_str(run, "rerun"), true);
    } else {
        txt = wc_xasprintf("bin/gwspec run --seed %lld", hn_report_int_or(run, "seed", 0));
        html_fact(fp, "rerun", txt, true);
        free(txt);
    }
    html_coverage(fp, run);
    html_baseline_row(fp, base);
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
        notok += hn_report_verdict_of(v[i].c) != HN_OK;
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
    fprintf(fp, " <span class=\"muted\">(%ld case%s%s", cases, cases == 1 ? "" : "s",
            notok ? ", " : "");
    if (notok)
        fprintf(fp, "%ld not OK", notok);
    fputs(")</span></th></tr>\n", fp);
    free(dir);
}

static void html_matrix(FILE *fp, const json_t *run, const struct html_case *v, size_t n)
{
    size_t i, k;
    json_t *r;

    fputs("<table class=\"matrix\" "
          "id=\"matrix\">\n<thead><tr><th>id</th><th>title</th><th>verdict</th>"
          "<th>requirements</th><th>ms</th></tr></thead>\n<tbody>\n",
          fp);
    for (i = 0; i < n; i++) {
        const json_t *c = v[i].c;
        if (i == 0 || v[i].section != v[i - 1].section)
            html_section_row(fp, v, n, i);
        fputs("<tr class=\"case\"><td class=\"mono\">", fp);
        if (v[i].anchor) {
            fprintf(fp, "<a href=\"#%s\">", v[i].anchor);
            html_put(fp, hn_report_str_or(c, "id", "?"));
            fputs("</a>", fp);
        } else {
            html_put(fp, hn_report_str_or(c, "id", "?"));
        }
        if (hn_report_int_or(run, "repeat", 1) > 1)
            fprintf(fp, " <span class=\"muted\">#%lld</span>",
                    hn_report_int_or(c, "repetition", 0));
        fputs("</td><td>", fp);
        html_put(fp, hn_report_str_or(c, "title", ""));
        fputs("</td><td>", fp);
        html_verdict(fp, c);
        if (hn_report_is_flaky(run, wc_json_str(c, "id")))
            fputs(" <span class=\"v v-flaky\">flaky</span>", fp);
        fputs("</td><td class=\"mono\">", fp);
        json_array_foreach(json_object_get(c, "spec"), k, r)
        {
            if (json_is_string(r))
                html_req(fp, run, json_string_value(r));
        }
        fprintf(fp, "</td><td class=\"num\">%lld</td></tr>\n",
                hn_report_int_or(c, "duration_ms", 0));
    }
    fputs("</tbody>\n</table>\n", fp);
}

/* A JSON value in a <pre>, cut at max bytes. */
static void html_json_pre(FILE *fp, const char *label, const json_t *v, size_t max)
{
    char *s = hn_report_show_json(v, max);

    fprintf(fp, "<div>%s:</div>", label);
    html_el(fp, "pre", NULL, s);
    fputc('\n', fp);
    free(s);
}

static void html_failure(FILE *fp, const json_t *run, const json_t *c, const json_t *f,
                         const char *anchor)
{
    const json_t *exp = json_object_get(f, "expected"), *rec = json_object_get(f, "received");
    json_t *step = json_object_get(f, "step"), *wit = json_object_get(f, "witness"), *w;
    const char *req = wc_json_str(f, "requirement"), *kind = wc_json_str(f, "kind");
    const char *title =
        wc_json_str(json_object_get(json_object_get(run, "requirements"), req), "title");
    size_t i;

    const char *charged = wc_json_str(f, "charged_to") ? wc_json_str(f, "charged_to") : req;
    char *reason = hn_report_failure_reason(f);

    title = wc_json_str(json_object_get(json_object_get(run, "requirements"), charged), "title");
    fputs("<div class=\"failure\"><div class=\"reason\"><b>", fp);
    html_put(fp, reason);
    free(reason);
    fputs("</b></div>\n<div><b class=\"mono\">", fp);
    html_put(fp, charged ? charged : "(no requirement)");
    fputs("</b>", fp);
    if (title) {
        fputs(" <span class=\"muted\">", fp);
        html_put(fp, title);
        fputs("</span>", fp);
    }
    fputs(" <span class=\"muted\">(", fp);
    if (json_is_integer(step)) {
        fprintf(fp, "step %lld", (long long)json_integer_value(step));
        if (json_is_integer(json_object_get(f, "line")) && wc_json_str(c, "file")) {
            fputs(" at ", fp);
            html_put(fp, wc_json_str(c, "file"));
            fprintf(fp, ":%lld", (long long)json_integer_value(json_object_get(f, "line")));
        }
    } else {
        html_put(fp, kind ? kind : "failure");
    }
    if (wc_json_str(f, "checker")) {
        fputc(' ', fp);
        html_put(fp, wc_json_str(f, "checker"));
    }
    if (json_is_integer(json_object_get(f, "cause"))) {
        fputs("; charged to the invariant that names the same frame", fp);
        if (req && charged && strcmp(req, charged)) {
            fputs(", the step cites ", fp);
            html_put(fp, req);
        }
    }
    fputs(")</span></div>\n", fp);
    if (exp && !json_is_null(exp))
        html_json_pre(fp, "expected", exp, HTML_SHOW_MAX);
    if (rec && !json_is_null(rec))
        html_json_pre(fp, "received", rec, HTML_SHOW_MAX);
    if (hn_report_diff_adds(f)) {
        fputs("<div>diff:</div>", fp);
        html_el(fp, "pre", NULL, wc_json_str(f, "diff"));
        fputc('\n', fp);
    }
    if (json_array_size(wit)) {
        fprintf(fp, "<div>witness record%s:", json_array_size(wit) > 1 ? "s" : "");
        json_array_foreach(wit, i, w)
        {
            if (json_is_integer(w))
                fprintf(fp, " <a href=\"#%s:d%lld\">%lld</a>", anchor,
                        (long long)json_integer_value(w), (long long)json_integer_value(w));
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

    json_array_foreach(json_object_get(c, "failures"), i, f)
    {
        json_array_foreach(json_object_get(f, "witness"), k, w)
        {
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

static const char *record_dir(const char *t)
{
    static const char *const map[][2] = {
        {"send", "&#8594; gw"},       {"recv", "gw &#8594;"}, {"ctl", "prov &#8594;"},
        {"ctl_send", "&#8594; prov"}, {"ping", "gw &#8594;"}, {"pong", "gw &#8594;"},
        {"http", "&#8594; REST"},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (!strcmp(t, map[i][0]))
            return map[i][1];
    }
    return "";
}

static void html_record(FILE *fp, const json_t *r, bool wit, const char *anchor)
{
    const char *t = hn_report_str_or(r, "t", "?");
    char *who = hn_report_record_who(r), *text = hn_report_record_text(r);
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
        fprintf(fp, "<td class=\"num\">%lld.%03lld</td>", (long long)(us / 1000),
                (long long)(us % 1000 < 0 ? 0 : us % 1000));
    else
        fputs("<td></td>", fp);
    html_el(fp, "td", NULL, who);
    fprintf(fp, "<td class=\"dir\">%s</td>", record_dir(t));
    html_el(fp, "td", NULL, t);
    fputs("<td class=\"rec\">", fp);
    if (json_is_true(json_object_get(r, "sentinel")))
        fputs("<span class=\"muted\">[sentinel]</span> ", fp);
    if (json_is_true(json_object_get(r, "truncated")))
        fprintf(fp, "<span class=\"muted\">[truncated, %lld bytes]</span> ",
                hn_report_int_or(r, "len", 0));
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
    fprintf(fp,
            "<table "
            "class=\"tr\">\n<thead><tr><th>#</th><th>ms</th><th>who</th><th>dir</th><th>record</th>"
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
        fprintf(fp,
                "<p class=\"muted\">%zu of %zu records left out (the first %zu, the witnesses with "
                "%d on each "
                "side and the last %d are shown); <code>--json DIR</code> writes the whole "
                "transcript.</p>\n",
                left_out, n, cap, HTML_CONTEXT, HTML_TAIL);
    free(show);
    json_decref(wit);
}

/* The requirements a case cites, with their title and text, then its description and
 * expectation. */
static void html_case_reqs(FILE *fp, const json_t *run, const json_t *c)
{
    const json_t *reqs = json_object_get(run, "requirements"), *id;
    size_t i;

    if (json_array_size(json_object_get(c, "spec"))) {
        fputs("<ul class=\"reqs\">\n", fp);
        json_array_foreach(json_object_get(c, "spec"), i, id)
        {
            const json_t *q = json_object_get(reqs, json_string_value(id));
            fputs("<li><b class=\"mono\">", fp);
            html_put(fp, json_string_value(id));
            fputs("</b>", fp);
            if (wc_json_str(q, "level")) {
                fputs(" <span class=\"muted\">", fp);
                html_put(fp, wc_json_str(q, "level"));
                fputs("</span>", fp);
            }
            if (wc_json_str(q, "title")) {
                fputs(" ", fp);
                html_put(fp, wc_json_str(q, "title"));
            }
            if (wc_json_str(q, "text")) {
                fputs("<div class=\"muted\">", fp);
                html_put(fp, wc_json_str(q, "text"));
                fputs("</div>", fp);
            }
            fputs("</li>\n", fp);
        }
        fputs("</ul>\n", fp);
    }
    if (wc_json_str(c, "description")) {
        fputs("<div><b>description</b> ", fp);
        html_put(fp, wc_json_str(c, "description"));
        fputs("</div>\n", fp);
    }
    if (wc_json_str(c, "expectation")) {
        fputs("<div><b>expectation</b> ", fp);
        html_put(fp, wc_json_str(c, "expectation"));
        fputs("</div>\n", fp);
    }
}

static void html_detail(FILE *fp, const json_t *run, const struct html_case *hc, size_t cap)
{
    const json_t *c = hc->c;
    json_t *f, *tags = json_object_get(c, "tags"), *tag;
    size_t i;

    fprintf(fp, "<div class=\"case\" id=\"%s\">\n<h3>", hc->anchor);
    html_verdict(fp, c);
    fputs(" <span class=\"mono\">", fp);
    html_put(fp, hn_report_str_or(c, "id", "?"));
    fputs("</span> <a class=\"muted\" href=\"#matrix\">&#8593; matrix</a></h3>\n<div>", fp);
    html_put(fp, hn_report_str_or(c, "title", ""));
    fputs("</div>\n<div class=\"muted\">", fp);
    if (wc_json_str(c, "file")) {
        html_el(fp, "span", "mono", wc_json_str(c, "file"));
        fputs(" &#183; ", fp);
    }
    fprintf(fp, "seed %lld &#183; %lld ms", hn_report_int_or(c, "seed", 0),
            hn_report_int_or(c, "duration_ms", 0));
    if (json_array_size(tags)) {
        fputs(" &#183; tags:", fp);
        json_array_foreach(tags, i, tag)
        {
            fputc(' ', fp);
            html_put(fp, json_string_value(tag));
        }
    }
    fputs("</div>\n", fp);
    html_case_reqs(fp, run, c);
    if (known_failure(c)) {
        fputs("<div><span class=\"v v-fail known\">known failure</span> ", fp);
        html_put(fp, hn_report_str_or(c, "known_reason", ""));
        fputs("</div>\n", fp);
    }
    json_t *order = hn_report_failures_ordered(c);
    json_array_foreach(order, i, f) html_failure(fp, run, c, f, hc->anchor);
    json_decref(order);
    if (wc_json_str(c, "rerun")) {
        fputs("<div>rerun:</div>", fp);
        html_el(fp, "pre", "cmd", wc_json_str(c, "rerun"));
        fputc('\n', fp);
    }
    fputs("<div class=\"muted\">sequence diagram: hover an arrow for its record, click it for "
          "the JSON; witnesses in red, the step's expected frame beside them</div>\n",
          fp);
    hn_report_html_diagram(fp, c, hc->anchor, 0);
    fputs("<details><summary>transcript table</summary>\n", fp);
    html_transcript(fp, c, hc->anchor, cap);
    fputs("</details>\n</div>\n", fp);
}

/* The cases that are not OK, in id order: verdict, id (a link to the detail), first failure. */
static void html_not_ok(FILE *fp, const struct html_case *v, size_t n, size_t details)
{
    size_t i;

    fprintf(fp, "<h2>Not OK (%zu)</h2>\n<table class=\"matrix\">\n", details);
    for (i = 0; i < n; i++) {
        json_t *order, *f, *w;
        char *m;
        if (!v[i].anchor)
            continue;
        order = hn_report_failures_ordered(v[i].c);
        f = json_array_get(order, 0);
        w = json_array_get(json_object_get(f, "witness"),
                           json_array_size(json_object_get(f, "witness")) - 1);
        fputs("<tr><td>", fp);
        html_verdict(fp, v[i].c);
        if (json_is_integer(w)) /* one click to the broken frame in the diagram */
            fprintf(fp, "</td><td class=\"mono\"><a href=\"#%s:d%lld\">", v[i].anchor,
                    (long long)json_integer_value(w));
        else
            fprintf(fp, "</td><td class=\"mono\"><a href=\"#%s\">", v[i].anchor);
        html_put(fp, hn_report_str_or(v[i].c, "id", "?"));
        fputs("</a></td><td>", fp);
        if (f) {
            m = hn_report_failure_reason(f);
            if (strlen(m) > 200) {
                size_t k = 197;
                while (k && ((unsigned char)m[k] & 0xc0) == 0x80)
                    k--;
                memcpy(m + k, "...", 4);
            }
            html_el(fp, "span", "mono",
                    hn_report_str_or(f, "charged_to", hn_report_str_or(f, "requirement", "")));
            fputs(" ", fp);
            html_put(fp, m);
            free(m);
        }
        json_decref(order);
        fputs("</td></tr>\n", fp);
    }
    fputs("</table>\n", fp);
}

/* The known failures (the baseline excuses them: one line each, with the reason) and the stale
 * baseline entries (they fail the run), on the front page. */
static void html_baseline_lists(FILE *fp, const json_t *run, const struct html_case *v, size_t n)
{
    const json_t *stale = json_object_get(json_object_get(run, "baseline"), "stale_entries"), *e;
    size_t i, known = 0;

    for (i = 0; i < n; i++)
        known += known_failure(v[i].c);
    if (known) {
        fprintf(fp, "<h2>Known failures (%zu)</h2>\n<table class=\"matrix\" id=\"known\">\n",
                known);
        for (i = 0; i < n; i++) {
            if (!known_failure(v[i].c))
                continue;
            fputs("<tr><td>", fp);
            html_verdict(fp, v[i].c);
            fputs("</td><td class=\"mono\">", fp);
            if (v[i].anchor)
                fprintf(fp, "<a href=\"#%s\">", v[i].anchor);
            html_put(fp, hn_report_str_or(v[i].c, "id", "?"));
            fputs(v[i].anchor ? "</a></td><td>" : "</td><td>", fp);
            html_put(fp, hn_report_str_or(v[i].c, "known_reason", ""));
            fputs("</td></tr>\n", fp);
        }
        fputs("</table>\n", fp);
    }
    if (json_array_size(stale)) {
        fprintf(fp,
                "<h2>Stale baseline entries (%zu)</h2>\n<p class=\"muted\">Each fails the run: "
                "the failure it excuses did not happen.</p>\n<table class=\"matrix\" "
                "id=\"stale\">\n",
                json_array_size(stale));
        json_array_foreach(stale, i, e)
        {
            char *w = hn_report_cov_ids(json_object_get(e, "witness"));
            fputs("<tr><td><span class=\"v v-fail\">STALE</span></td><td class=\"mono\">", fp);
            html_put(fp, hn_report_str_or(e, "case", "?"));
            fputs("</td><td class=\"mono\">", fp);
            html_put(fp, hn_report_str_or(e, "requirement", ""));
            fputs(" ", fp);
            html_put(fp, w);
            fputs("</td><td>", fp);
            html_put(fp, hn_report_str_or(e, "why", ""));
            fputs("</td></tr>\n", fp);
            free(w);
        }
        fputs("</table>\n", fp);
    }
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
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>gwspec: ",
          fp);
    html_put(fp, hn_report_str_or(run, "spec", "chatgw/1.0"));
    fputs(" against ", fp);
    html_put(fp, hn_report_str_or(run, "target", "?"));
    fprintf(fp, ", seed %lld</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>gwspec: ",
            hn_report_int_or(run, "seed", 0), html_css);
    html_put(fp, hn_report_str_or(run, "spec", "chatgw/1.0"));
    fputs(" against ", fp);
    html_put(fp, hn_report_str_or(run, "target", "?"));
    fputs("</h1>\n", fp);
    html_header(fp, run, v, n);
    for (i = 0; i < n; i++)
        details += v[i].anchor != NULL;
    if (details)
        html_not_ok(fp, v, n, details);
    html_baseline_lists(fp, run, v, n);
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
        fputs("<h2>Details</h2>\n<p class=\"muted\">Every case that is not OK; the transcript of "
              "an OK case is in "
              "the JSON report (<code>--json DIR</code>).</p>\n",
              fp);
        hn_report_html_diagram_defs(fp);
        for (i = 0; i < n; i++) {
            if (v[i].anchor)
                html_detail(fp, run, &v[i], max_records);
        }
    }
    fprintf(fp,
            "<p class=\"muted\">written by gwspec</p>\n<script>\n%s</script>\n</body>\n</html>\n",
            html_script);
    for (i = 0; i < n; i++)
        free(v[i].anchor);
    free(v);
    rc = ferror(fp) ? WC_ERR_IO : 0;
    if (fclose(fp))
        rc = WC_ERR_IO;
    return rc;
}
