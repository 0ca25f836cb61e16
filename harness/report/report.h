/*
 * report.h: the report writers: console (one line per case, then "N passed, N failed"), JUnit
 * XML, TAP 13, JSON (index plus one file per case with its transcript) and a self-contained HTML
 * page (matrix plus the transcript of every case that is not OK). Every report carries the seed
 * and the rerun command.
 *
 * The RESULT MODEL is JSON (built by run.c, graded with verdict.h):
 * case result: { "id", "title", "file", "spec": [..], "tags": [..], "verdict": "OK"|...,
 *   "known": bool, "known_reason": text, "duration_ms": n, "seed": n,
 *   "failures": [ { "requirement", "kind": "step"|"invariant"|"error", "message", "step": index or
 * null, "expected": json or null, "received": json or null, "diff": "text" or null, "witness":
 * [n..] } ], "checks": {...}, "transcript": [records incl. header], "rerun": "bin/gwspec run --seed
 * N cases/..yaml" } run result: { "seed", "target", "spec", "started": iso, "duration_ms", "cases":
 * [case results], "counts": { "OK": n, ... }, "baseline": {...}, "rerun" (optional: the whole run),
 *               "mutant" (optional), "requirements" (optional: { "R-..": { "title", "level" } } for
 *               the requirements the cases cite; the HTML report shows the titles) }
 * Writers only read the model; missing fields are shown as absent, never a crash.
 * Depends on verdict.h, casedir.h (hn_case_id_cmp, for id order), lib/ and jansson.
 */
#ifndef HN_REPORT_H
#define HN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* The "format" of every JSON report file (index.json and cases/<id>.json); the schemas are
 * spec/report/index.schema.json and spec/report/case.schema.json. */
#define HN_REPORT_FORMAT "gwspec-report/1"

/*
 * One line per case: "  OK           4.2.1-abort-mid-stream (12 ms)". A failing, erroring or
 * NON-STRICT case (every case when verbose) is followed by its failures: requirement, message,
 * expected, received, diff, witness records, and the rerun command. When verbose, a case that is
 * not OK is then followed by its two-sided transcript, one record a line (witnesses marked '*').
 */
void hn_report_console_case(FILE *fp, const json_t *case_result, bool verbose);

/* Is fp a terminal (then the run keeps a progress line under the case lines)? */
bool hn_report_console_is_tty(FILE *fp);
/* The progress line, rewritten in place: "[n/N] 10 passed, 2 failed, 1 known" (n the results so
 * far, N the jobs), no newline. Terminals only. */
void hn_report_console_progress(FILE *fp, const json_t *cases, size_t total);
/* Erase the progress line (before a case line, and at the end of the run). */
void hn_report_console_progress_clear(FILE *fp);

/*
 * The end of the run: the seed and rerun line, the other grades (non-strict, known failures,
 * unimplemented, skipped, errors, stale baseline entries) on one line when any is non-zero,
 * and last, alone on its line, exactly "N passed, N failed" (passed: OK, NON-STRICT and
 * INFORMATIONAL; failed: FAILED and not known).
 */
void hn_report_console_summary(FILE *fp, const json_t *run);

/* JUnit XML (testsuites/testsuite/testcase, failure/error/skipped, properties seed, target, spec,
 * rerun). 0 or WC_ERR_IO. */
int hn_report_junit(const char *path, const json_t *run);

/* TAP version 13 with a YAML diagnostics block per failing case; UNIMPLEMENTED and SKIPPED are
 * "# SKIP", known failures "not ok ... # TODO". 0 or WC_ERR_IO. */
int hn_report_tap(const char *path, const json_t *run);

/* dir/index.json (run facts and id -> {verdict, known, duration_ms, checks, report}) and
 * dir/cases/<id>.json (the whole case result, transcript included). Creates the directories.
 * 0 or WC_ERR_IO. */
int hn_report_json(const char *dir, const json_t *run);

/*
 * A single self-contained HTML page (inline CSS and SVG, one small inline script, no external
 * URL, no font): the run facts (target, spec, harness version, command line, seed, started,
 * duration, counts per verdict, rerun command, baseline), the cases that are not OK (each linked
 * to its first witness arrow), the known failures and stale baseline entries, a matrix of every
 * case in id order (1.2.9 before 1.2.10) grouped by the leading number of the id, and a detail
 * section for every case that is not OK: its requirements with their text, description and
 * expectation, its failures (each led by its plain reason), its rerun line, its sequence diagram
 * (seqdiag.c: every record one arrow in causal order, witnesses highlighted with the expected
 * frame beside them; hover for the record, click for its JSON) and its transcript as a table in a
 * collapsed <details>. OK cases get no detail section (their transcripts are in the JSON report).
 * A transcript table shows its first `max_records` records (0: HN_HTML_RECORDS), then only the
 * witnesses with two records on each side and the last ten; what is left out is counted. Every
 * string from the run is HTML-escaped. 0 or WC_ERR_IO.
 */
#define HN_HTML_RECORDS 500
int hn_report_html(const char *path, const json_t *run, size_t max_records);

/* Exit status of a run: 1 when a case FAILED and is not known, or a baseline entry is stale;
 * otherwise 3 when a case is ERROR; otherwise 2 when no case was scored (all UNIMPLEMENTED or
 * SKIPPED, or none ran); otherwise 0. */
int hn_report_exit_code(const json_t *run);

/* The file name used for a case id in reports: unsafe characters become '_'. New string. */
char *hn_report_case_file_name(const char *id);

#endif
