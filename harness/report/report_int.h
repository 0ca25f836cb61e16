/*
 * report_int.h: what the report writers of report/ share (report.c), not part of the
 * harness's interface (that is report.h).
 *
 * Layer report/ (harness/README.md).
 */
#ifndef HN_REPORT_INT_H
#define HN_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "check/verdict.h"
#include "wc_buf.h"

struct tally {
    long passed, failed, ok, non_strict, informational, unimplemented, skipped, known, error, total;
};

enum hn_verdict hn_report_verdict_of(const json_t *c);
bool hn_report_is_known(const json_t *c);
const char *hn_report_str_or(const json_t *o, const char *key, const char *dflt);
long long hn_report_int_or(const json_t *o, const char *key, long long dflt);
/* Compact JSON, cut at max bytes (on a UTF-8 boundary) with "...". New string. */
char *hn_report_show_json(const json_t *v, size_t max);
/* Text for one console line: C0 controls and DEL as \xHH, a newline as \n. New string. */
char *hn_report_one_line(const char *s);
/* A frame, event or control message in a few words: its kind or type, then "seq N" when it has
 * one, an emitted event's kind ("emitted complete"); other values as compact JSON cut to 60
 * bytes. New string. */
char *hn_report_frame_summary(const json_t *v);
/*
 * The plain reason of a failure, one line: an invariant's (or error's) message as is; a step's
 * message followed by what it expected and what came instead in a few words ("quiet: an
 * unexpected frame arrived; received complete seq 3"). New string.
 */
char *hn_report_failure_reason(const json_t *f);
/* Is the failure's diff one "at .path: expected X, received Y" line, that the reason then says
 * (so it is not printed again)? */
bool hn_report_diff_is_reason(const json_t *f);
/* Does the failure's diff say more than its reason and received frame (so it is worth printing)? */
bool hn_report_diff_adds(const json_t *f);
/* The failures of a case in the order a reader should see them: an invariant that caused a step
 * failure (its "cause", verdict.h hn_failures_charge) right before the first failure it caused,
 * the rest in their order. A new array of borrowed failures. */
json_t *hn_report_failures_ordered(const json_t *c);
/* Every failure of a case plus its rerun line. New string. */
char *hn_report_case_details(const json_t *c, int ind);
/* The MUSTs without a case of an enforced coverage: they fail the run. */
const json_t *hn_report_cov_missing(const json_t *run);
/* "MUST 52: 52 exercised, 0 not run, 0 without a case, 0 untestable" for one level. New string. */
char *hn_report_cov_level_text(const json_t *cov, const char *level);
/* "R-A-1, R-B-2" from an array of strings (or of objects with "id"). New string. */
char *hn_report_cov_ids(const json_t *a);
/* The scope in words: "whole catalog" or "selected cases only (not enforced)". */
const char *hn_report_cov_scope(const json_t *cov);
/* The requirement levels, in the order every report lists them. */
extern const char *const hn_report_cov_levels[3];
struct tally hn_report_count(const json_t *run);
/* The coverage block both the console and TAP print: a heading, a line per level, and the
 * requirements without a case (and, with nlists 2, those marked untestable); `lead` starts each
 * line after the heading. */
void hn_report_coverage_lines(FILE *fp, const json_t *run, const json_t *cov, const char *head,
                              const char *colon, const char *lead, size_t nlists);
/* Length of the valid UTF-8 sequence at p and its code point; 0 when invalid. */
size_t hn_report_utf8_char(const unsigned char *p, uint32_t *cp);
/*
 * Text for XML 1.0 (JUnit) and HTML alike: markup characters as entities, and in attribute
 * values (always double-quoted) the quotes and \t \n as character references too. Characters
 * that neither may carry raw (C0 controls but \t and \n, DEL, C1 controls, U+FFFE, U+FFFF) are
 * written as "\uXXXX" text, and bytes that are not UTF-8 as U+FFFD.
 */
void hn_report_markup_put(FILE *fp, const char *s, bool attr);
bool hn_report_is_flaky(const json_t *run, const char *id);
/* Who produced a record: the client connection, the provider script (label/run), or harness. */
char *hn_report_record_who(const json_t *r);
/* The frame or event of a record as compact JSON, cut to HTML_CELL_MAX. New string. */
char *hn_report_record_text(const json_t *r);

/*
 * The order a sequence diagram draws a transcript in (seqdiag.c): the records' order, except that
 * a frame a client received comes after the provider record that caused it (the `emitted` of its
 * kind, `announced` for session_upserted) when the transcript has that record later; the records
 * of that provider run up to it move with it, so each lane keeps its own order. A new array of
 * transcript indices (the header, index 0, left out).
 */
json_t *hn_report_causal_order(const json_t *transcript);
/*
 * The inline SVG sequence diagram of a case (its "transcript"): one lane per client connection,
 * the gateway, one per provider script (REST calls from a REST lane); in the server role the
 * client program, the harness and one lane per server connection. Every record drawn is one
 * <g class="rec"> (data-n its number, <title> its JSON), witnesses with class "wit", id
 * "<anchor>:d<n>" and the step's expected value beside them. Past `cap` records (0: 400) only the
 * first ones, those around each witness and the last ones are drawn, and a note says so.
 */
void hn_report_html_diagram(FILE *fp, const json_t *c, const char *anchor, size_t cap);
/* The arrowheads every diagram refers to (#ah, #ahw), once per page before the first diagram
 * (ids are unique in a page). */
void hn_report_html_diagram_defs(FILE *fp);

#endif
