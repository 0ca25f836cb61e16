/*
 * test_report.c: CUnit tests for harness/report/report.c (suite hn_report).
 *
 * Console output is compared line by line. JUnit XML is validated with `xmllint --schema` against
 * a JUnit schema written below (the Ant/Jenkins shape: testsuites/testsuite/properties/testcase
 * with failure|error|skipped, system-out, system-err) plus XPath checks; TAP with perl's
 * TAP::Parser (plan, test count, SKIP/TODO, YAML diagnostics read back) and PyYAML. HTML is
 * checked as text and with `xmllint --html` (no parse error, XPath counts). The external
 * readers are installed by the Makefile (DEBS); a missing one fails the test (need_tool).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "report/report.h"
#include "report/report_int.h"
#include "wc_err.h"
#include "wc_json.h"

/* Markup, quotes, C0 controls, a non-character, a TAP directive mark and a newline. */
#define NASTY "bad <frame> & \"q\" 'a' \x01\x1b ]]> \xef\xbf\xbe # end\nline2"

static json_t *sample_run(bool with_failure, bool with_stale)
{
    json_t *cases = json_array(), *run;

    json_array_append_new(
        cases, json_pack("{s:s, s:s, s:s, s:i, s:i, s:[], s:{s:s}, s:s}", "id", "4.1.1-seq-basic",
                         "file", "cases/4-run/4.1.1-seq-basic.yaml", "verdict", "OK", "duration_ms",
                         12, "seed", 1234, "failures", "checks", "seq_contiguous", "pass", "rerun",
                         "bin/gwspec run --seed 1234 cases/4-run/4.1.1-seq-basic.yaml"));
    if (with_failure)
        json_array_append_new(
            cases,
            json_pack("{s:s, s:s, s:s, s:i, s:i, s:[{s:s, s:s, s:s, s:i, s:{s:s, s:b}, s:{s:s, "
                      "s:b, s:i}, s:s, s:[i, i]}],"
                      " s:{s:s}, s:[{s:s, s:s}, {s:s, s:s, s:s}], s:s}",
                      "id", "6.1.2-abort-mid-stream", "file",
                      "cases/6-abort/6.1.2-abort-mid-stream.yaml", "verdict", "FAILED",
                      "duration_ms", 1042, "seed", 1234, "failures", "requirement", "R-TERM-1",
                      "kind", "step", "message", NASTY, "step", 5, "expected", "kind", "complete",
                      "aborted", 1, "received", "kind", "complete", "aborted", 0, "seq", 3, "diff",
                      "- aborted: true\n+ aborted: false", "witness", 12, 15, "checks",
                      "one_terminal", "fail", "transcript", "t", "header", "format",
                      "gwspec-transcript/1", "t", "recv", "conn", "c1", "text", NASTY, "rerun",
                      "bin/gwspec run --seed 1234 cases/6-abort/6.1.2-abort-mid-stream.yaml"));
    json_array_append_new(cases, json_pack("{s:s, s:s, s:i, s:i, s:[{s:s, s:s, s:s, s:s}]}", "id",
                                           "7.3.1-stale-cursor", "verdict", "NON-STRICT",
                                           "duration_ms", 3, "seed", 1234, "failures",
                                           "requirement", "R-SUB-7", "kind", "invariant", "checker",
                                           "seq_contiguous", "message", "stale cursor"));
    json_array_append_new(
        cases, json_pack("{s:s, s:s, s:i, s:[{s:s, s:s, s:s}]}", "id", "9.1.1-perm", "verdict",
                         "UNIMPLEMENTED", "duration_ms", 0, "failures", "requirement", "R-PERM-1",
                         "kind", "error", "message", "capability permissions not declared"));
    json_array_append_new(cases, json_pack("{s:s, s:s, s:i, s:b, s:s, s:[{s:s, s:s, s:s}]}", "id",
                                           "5.2.1-codex", "verdict", "FAILED", "duration_ms", 4,
                                           "known", 1, "known_reason", "bare complete (#959)",
                                           "failures", "requirement", "R-TERM-3", "kind",
                                           "invariant", "message", "complete: missing exitCode"));
    json_array_append_new(
        cases, json_pack("{s:s, s:s, s:i, s:[{s:s, s:s, s:s}], s:s}", "id", "1.1.1-auth", "verdict",
                         "ERROR", "duration_ms", 5000, "failures", "requirement", "R-AUTH-1",
                         "kind", "error", "message", "safety timeout after 5000 ms", "rerun",
                         "bin/gwspec run --seed 1234 cases/1-transport/1.1.1-auth.yaml"));
    json_array_append_new(cases, json_pack("{s:s, s:s, s:i, s:[{s:s, s:s, s:s}]}", "id",
                                           "10.1.1-upserted", "verdict", "INFORMATIONAL",
                                           "duration_ms", 2, "failures", "requirement", "R-MAP-4",
                                           "kind", "step", "message", "no providerSessionId"));
    json_array_append_new(cases, json_pack("{s:s, s:s, s:i}", "id", "3.9.9-disabled", "verdict",
                                           "SKIPPED", "duration_ms", 0));
    run = json_pack("{s:i, s:s, s:s, s:s, s:i, s:o, s:{s:i, s:o}}", "seed", 1234, "target",
                    "reference", "spec", "chatgw/1.0", "started", "2026-11-22T02:30:00.000Z",
                    "duration_ms", 6250, "cases", cases, "baseline", "known", 1, "stale",
                    with_stale ? json_pack("[s]", "4.9.9-old") : json_array());
    return run;
}

static char *capture(void (*fn)(FILE *, const json_t *, bool), const json_t *c, bool verbose)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    fn(fp, c, verbose);
    fclose(fp);
    return buf;
}

static void summary_adapter(FILE *fp, const json_t *run, bool verbose)
{
    (void)verbose;
    hn_report_console_summary(fp, run);
}

static json_t *case_at(const json_t *run, size_t i)
{
    return json_array_get(json_object_get(run, "cases"), i);
}

static void expect_text(const char *got, const char *want)
{
    if (strcmp(got, want))
        printf("\n--- got:\n%s--- want:\n%s---\n", got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_report_console_lines(void)
{
    json_t *run = sample_run(true, true);
    char *s;

    s = capture(hn_report_console_case, case_at(run, 0), false);
    expect_text(s, "  OK           4.1.1-seq-basic (12 ms)\n");
    free(s);
    s = capture(hn_report_console_case, case_at(run, 1), false);
    expect_text(
        s, "  FAILED       6.1.2-abort-mid-stream (1042 ms)\n"
           "      bad <frame> & \"q\" 'a' \\x01\\x1B ]]> \xef\xbf\xbe # end\\nline2; expected "
           "complete, received complete seq 3\n"
           "        R-TERM-1\n"
           "        at step 5 of cases/6-abort/6.1.2-abort-mid-stream.yaml\n"
           "        expected: {\"kind\":\"complete\",\"aborted\":true}\n"
           "        received: {\"kind\":\"complete\",\"aborted\":false,\"seq\":3}\n"
           "        diff:\n"
           "          - aborted: true\n"
           "          + aborted: false\n"
           "        witness: records 12, 15\n"
           "      rerun: bin/gwspec run --seed 1234 cases/6-abort/6.1.2-abort-mid-stream.yaml\n");
    free(s);
    s = capture(hn_report_console_case, case_at(run, 2), false);
    expect_text(s, "  NON-STRICT   7.3.1-stale-cursor (3 ms)\n"
                   "      stale cursor\n"
                   "        R-SUB-7 (invariant seq_contiguous)\n");
    free(s);
    s = capture(hn_report_console_case, case_at(run, 3), false);
    expect_text(s, "  UNIMPLEMENTED 9.1.1-perm (0 ms)  capability permissions not declared\n");
    free(s);
    s = capture(hn_report_console_case, case_at(run, 4), false);
    expect_text(s, "  KNOWN        5.2.1-codex (4 ms)  known: bare complete (#959)\n");
    free(s);
    s = capture(hn_report_console_case, case_at(run, 4), true);
    expect_text(s, "  KNOWN        5.2.1-codex (4 ms)  known: bare complete (#959)\n"
                   "      complete: missing exitCode\n"
                   "        R-TERM-3 (invariant)\n"
                   "      transcript: none recorded\n");
    free(s);
    /* -v: both sides of the transcript, one record a line, the witness marked */
    json_t *c = json_deep_copy(case_at(run, 4));
    json_object_set_new(json_array_get(json_object_get(c, "failures"), 0), "witness",
                        json_pack("[i]", 2));
    json_object_set_new(
        c, "transcript",
        json_pack("[{s:s}, {s:s, s:i, s:i, s:s, s:{s:s}}, {s:s, s:i, s:i, s:s, s:{s:s}}]", "t",
                  "header", "t", "send", "n", 1, "us", 1500, "conn", "c1", "frame", "type",
                  "chat.send", "t", "recv", "n", 2, "us", 2250, "conn", "c1", "frame", "kind",
                  "complete"));
    s = capture(hn_report_console_case, c, true);
    expect_text(s, "  KNOWN        5.2.1-codex (4 ms)  known: bare complete (#959)\n"
                   "      complete: missing exitCode\n"
                   "        R-TERM-3 (invariant)\n"
                   "        witness: record 2\n"
                   "      transcript (3 records):\n"
                   "          1    1.500 c1         ->gw   send     {\"type\":\"chat.send\"}\n"
                   "      *   2    2.250 c1         gw->   recv     {\"kind\":\"complete\"}\n");
    free(s);
    json_decref(c);
    json_decref(run);
}

static void test_report_console_summary_last_line(void)
{
    json_t *run = sample_run(true, true);
    char *s = capture(summary_adapter, run, false);

    expect_text(
        s, "\nchatgw/1.0 against reference, seed 1234, 6250 ms\n"
           "rerun: bin/gwspec run --seed 1234\n"
           "1 non-strict, 1 informational, 1 known failure, 1 unimplemented, 1 skipped, 1 error, "
           "1 stale baseline entry (4.9.9-old)\n"
           "not ok:\n"
           "  FAILED       6.1.2-abort-mid-stream                           "
           "bin/gwspec run --seed 1234 cases/6-abort/6.1.2-abort-mid-stream.yaml\n"
           "  NON-STRICT   7.3.1-stale-cursor\n"
           "  ERROR        1.1.1-auth                                       "
           "bin/gwspec run --seed 1234 cases/1-transport/1.1.1-auth.yaml\n"
           "3 passed, 1 failed\n");
    free(s);
    CU_ASSERT_EQUAL(hn_report_exit_code(run), 1);
    json_decref(run);

    run = sample_run(false, true); /* only a stale entry fails the run */
    CU_ASSERT_EQUAL(hn_report_exit_code(run), 1);
    json_decref(run);
    run = sample_run(false, false); /* an ERROR without failures */
    CU_ASSERT_EQUAL(hn_report_exit_code(run), 3);
    json_array_remove(json_object_get(run, "cases"), 4); /* ERROR is index 4 without the failure */
    CU_ASSERT_EQUAL(hn_report_exit_code(run), 0);
    s = capture(summary_adapter, run, false);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n3 passed, 0 failed\n"));
    free(s);
    json_decref(run);
}

/* Run a shell command; its stdout (new) or NULL when it could not run. *status set. */
static char *run_cmd(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    char *buf = NULL;
    size_t len = 0;
    FILE *out;
    int c;

    if (!p)
        return NULL;
    out = open_memstream(&buf, &len);
    while ((c = fgetc(p)) != EOF)
        fputc(c, out);
    fclose(out);
    *status = pclose(p);
    return buf;
}

static bool need_tool(const char *tool)
{
    char *cmd = NULL;
    int st = -1;
    char *out;

    if (asprintf(&cmd, "command -v %s >/dev/null 2>&1 && echo yes", tool) < 0)
        return false;
    out = run_cmd(cmd, &st);
    free(cmd);
    bool yes = out && !strncmp(out, "yes", 3);
    free(out);
    /* the external readers are part of the test: `make` installs them (DEBS). A machine without
     * one fails here instead of passing a check it never made. */
    if (!yes) {
        printf("\n  %s is not installed (the Makefile's DEBS install it): the external check "
               "cannot run\n",
               tool);
        CU_FAIL("an external report reader is missing");
    }
    return yes;
}

static const char junit_xsd[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" elementFormDefault=\"qualified\">\n"
    " <xs:complexType name=\"fault\"><xs:simpleContent><xs:extension base=\"xs:string\">\n"
    "  <xs:attribute name=\"message\" type=\"xs:string\"/><xs:attribute name=\"type\" "
    "type=\"xs:string\"/>\n"
    " </xs:extension></xs:simpleContent></xs:complexType>\n"
    " <xs:complexType name=\"skip\"><xs:simpleContent><xs:extension base=\"xs:string\">\n"
    "  <xs:attribute name=\"message\" type=\"xs:string\"/>\n"
    " </xs:extension></xs:simpleContent></xs:complexType>\n"
    " <xs:element name=\"testsuites\"><xs:complexType>\n"
    "  <xs:sequence><xs:element ref=\"testsuite\" minOccurs=\"0\" "
    "maxOccurs=\"unbounded\"/></xs:sequence>\n"
    "  <xs:attribute name=\"name\" type=\"xs:string\"/>\n"
    "  <xs:attribute name=\"tests\" type=\"xs:nonNegativeInteger\" use=\"required\"/>\n"
    "  <xs:attribute name=\"failures\" type=\"xs:nonNegativeInteger\" use=\"required\"/>\n"
    "  <xs:attribute name=\"errors\" type=\"xs:nonNegativeInteger\" use=\"required\"/>\n"
    "  <xs:attribute name=\"skipped\" type=\"xs:nonNegativeInteger\"/>\n"
    "  <xs:attribute name=\"time\" type=\"xs:decimal\"/>\n"
    " </xs:complexType></xs:element>\n"
    " <xs:element name=\"testsuite\"><xs:complexType><xs:sequence>\n"
    "  <xs:element name=\"properties\" minOccurs=\"0\"><xs:complexType><xs:sequence>\n"
    "   <xs:element name=\"property\" minOccurs=\"0\" maxOccurs=\"unbounded\"><xs:complexType>\n"
    "    <xs:attribute name=\"name\" type=\"xs:string\" use=\"required\"/>\n"
    "    <xs:attribute name=\"value\" type=\"xs:string\" use=\"required\"/>\n"
    "   </xs:complexType></xs:element>\n"
    "  </xs:sequence></xs:complexType></xs:element>\n"
    "  <xs:element name=\"testcase\" minOccurs=\"0\" "
    "maxOccurs=\"unbounded\"><xs:complexType><xs:sequence>\n"
    "   <xs:choice minOccurs=\"0\">\n"
    "    <xs:element name=\"skipped\" type=\"skip\"/>\n"
    "    <xs:element name=\"error\" type=\"fault\"/>\n"
    "    <xs:element name=\"failure\" type=\"fault\"/>\n"
    "   </xs:choice>\n"
    "   <xs:element name=\"system-out\" type=\"xs:string\" minOccurs=\"0\"/>\n"
    "   <xs:element name=\"system-err\" type=\"xs:string\" minOccurs=\"0\"/>\n"
    "  </xs:sequence>\n"
    "   <xs:attribute name=\"name\" type=\"xs:string\" use=\"required\"/>\n"
    "   <xs:attribute name=\"classname\" type=\"xs:string\" use=\"required\"/>\n"
    "   <xs:attribute name=\"time\" type=\"xs:decimal\" use=\"required\"/>\n"
    "  </xs:complexType></xs:element>\n"
    "  <xs:element name=\"system-out\" type=\"xs:string\" minOccurs=\"0\"/>\n"
    "  <xs:element name=\"system-err\" type=\"xs:string\" minOccurs=\"0\"/>\n"
    " </xs:sequence>\n"
    "  <xs:attribute name=\"name\" type=\"xs:string\" use=\"required\"/>\n"
    "  <xs:attribute name=\"tests\" type=\"xs:nonNegativeInteger\" use=\"required\"/>\n"
    "  <xs:attribute name=\"failures\" type=\"xs:nonNegativeInteger\" use=\"required\"/>\n"
    "  <xs:attribute name=\"errors\" type=\"xs:nonNegativeInteger\" use=\"required\"/>\n"
    "  <xs:attribute name=\"skipped\" type=\"xs:nonNegativeInteger\"/>\n"
    "  <xs:attribute name=\"time\" type=\"xs:decimal\"/>\n"
    "  <xs:attribute name=\"timestamp\" type=\"xs:string\"/>\n"
    " </xs:complexType></xs:element>\n"
    "</xs:schema>\n";

static char *xpath(const char *file, const char *expr)
{
    char *cmd = NULL, *out;
    int st = -1;

    if (asprintf(&cmd, "xmllint --xpath '%s' %s 2>&1", expr, file) < 0)
        return NULL;
    out = run_cmd(cmd, &st);
    free(cmd);
    if (out && *out && out[strlen(out) - 1] == '\n') /* xmllint ends its answer with a newline */
        out[strlen(out) - 1] = '\0';
    return out;
}

static void expect_xpath(const char *file, const char *expr, const char *want)
{
    char *got = xpath(file, expr);

    if (!got || strcmp(got, want))
        printf("\n  xpath %s: got \"%s\", want \"%s\"\n", expr, got ? got : "(null)", want);
    CU_ASSERT(got && !strcmp(got, want));
    free(got);
}

static void test_report_junit_validates(void)
{
    json_t *run = sample_run(true, true);
    char xml[] = "/tmp/hn-junit-XXXXXX", xsd[] = "/tmp/hn-junit-xsd-XXXXXX";
    int fx = mkstemp(xml), fs = mkstemp(xsd), st = -1;
    char *cmd = NULL, *out;

    CU_ASSERT_FATAL(fx >= 0 && fs >= 0);
    close(fx);
    CU_ASSERT_EQUAL(write(fs, junit_xsd, sizeof(junit_xsd) - 1), (ssize_t)(sizeof(junit_xsd) - 1));
    close(fs);
    CU_ASSERT_EQUAL_FATAL(hn_report_junit(xml, run), 0);
    if (need_tool("xmllint")) {
        CU_ASSERT(asprintf(&cmd, "xmllint --noout --schema %s %s 2>&1", xsd, xml) > 0);
        out = run_cmd(cmd, &st);
        if (st != 0)
            printf("\n  xmllint: %s\n", out ? out : "");
        CU_ASSERT_EQUAL(st, 0);
        free(out);
        free(cmd);
        expect_xpath(xml, "string(/testsuites/@tests)", "8");
        expect_xpath(xml, "string(/testsuites/@failures)", "1");
        expect_xpath(xml, "string(/testsuites/@errors)", "1");
        expect_xpath(xml, "string(/testsuites/@skipped)", "3");
        expect_xpath(xml, "count(//testcase)", "8");
        expect_xpath(xml, "string(//property[@name=\"seed\"]/@value)", "1234");
        expect_xpath(xml, "string(//property[@name=\"rerun\"]/@value)",
                     "bin/gwspec run --seed 1234");
        expect_xpath(xml, "string(//testcase[@name=\"6.1.2-abort-mid-stream\"]/failure/@type)",
                     "R-TERM-1");
        expect_xpath(xml, "string(//testcase[@name=\"6.1.2-abort-mid-stream\"]/@classname)",
                     "gwspec.6-abort");
        expect_xpath(xml, "string(//testcase[@name=\"6.1.2-abort-mid-stream\"]/@time)", "1.042");
        /* the attribute keeps markup, quotes and the newline; XML-illegal characters become \uXXXX
         */
        expect_xpath(xml, "string(//testcase[@name=\"6.1.2-abort-mid-stream\"]/failure/@message)",
                     "R-TERM-1: bad <frame> & \"q\" 'a' \\u0001\\u001B ]]> \\uFFFE # end\nline2");
        expect_xpath(xml, "count(//testcase[@name=\"5.2.1-codex\"]/skipped)", "1");
        expect_xpath(xml, "count(//testcase[@name=\"1.1.1-auth\"]/error)", "1");
        expect_xpath(xml, "count(//testcase[@name=\"9.1.1-perm\"]/skipped)", "1");
        expect_xpath(
            xml, "count(//testcase[@name=\"7.3.1-stale-cursor\"]/*[self::failure or self::error])",
            "0");
        expect_xpath(xml,
                     "contains(//testcase[@name=\"6.1.2-abort-mid-stream\"]/system-err, "
                     "\"gwspec-transcript/1\")",
                     "true");
    }
    unlink(xml);
    unlink(xsd);
    json_decref(run);
}

static const char tap_check_pl[] =
    "use strict; use warnings; use TAP::Parser;\n"
    "open(my $fh, '<', $ARGV[0]) or die; my $tap = do { local $/; <$fh> };\n"
    "my $p = TAP::Parser->new({tap => $tap});\n"
    "my ($tests, $yaml, $unknown, $msg) = (0, 0, 0, '');\n"
    "while (my $r = $p->next) {\n"
    "  $tests++ if $r->is_test;\n"
    "  $unknown++ if $r->is_unknown;\n"
    "  if ($r->is_yaml) { $yaml++; my $d = $r->data;\n"
    "    die 'yaml is not a hash' unless ref $d eq 'HASH' && $d->{verdict};\n"
    "    $msg ||= unpack('H*', $d->{message}) if $d->{verdict} eq 'FAILED'; }\n"
    "}\n"
    "printf \"tests=%d yaml=%d unknown=%d good_plan=%d errors=%d passed=%d failed=%d skipped=%d "
    "todo=%d msg=%s\\n\",\n"
    "  $tests, $yaml, $unknown, $p->is_good_plan ? 1 : 0, scalar($p->parse_errors), "
    "scalar($p->passed),\n"
    "  scalar($p->failed), scalar($p->skipped), scalar($p->todo), $msg;\n";

static void test_report_tap_parses(void)
{
    json_t *run = sample_run(true, true);
    char tap[] = "/tmp/hn-tap-XXXXXX", pl[] = "/tmp/hn-tap-pl-XXXXXX";
    int ft = mkstemp(tap), fp = mkstemp(pl), st = -1;
    char *cmd = NULL, *out, *want = NULL, hex[256] = "";
    /* TAP::Parser's YAMLish reader knows no \uXXXX: the non-character stays escaped for it */
    const char *m = "bad <frame> & \"q\" 'a' \x01\x1b ]]> \\uFFFE # end\nline2";
    size_t i;

    CU_ASSERT_FATAL(ft >= 0 && fp >= 0);
    close(ft);
    CU_ASSERT_EQUAL(write(fp, tap_check_pl, sizeof(tap_check_pl) - 1),
                    (ssize_t)(sizeof(tap_check_pl) - 1));
    close(fp);
    CU_ASSERT_EQUAL_FATAL(hn_report_tap(tap, run), 0);
    if (need_tool("perl")) {
        CU_ASSERT(asprintf(&cmd, "perl %s %s 2>&1", pl, tap) > 0);
        out = run_cmd(cmd, &st);
        for (i = 0; m[i]; i++)
            snprintf(hex + 2 * i, sizeof(hex) - 2 * i, "%02x", (unsigned char)m[i]);
        /* 8 tests; YAML for FAILED (also the known one), NON-STRICT, ERROR, INFORMATIONAL; SKIP x2;
         * TODO x1; the message read back byte for byte */
        CU_ASSERT(
            asprintf(&want,
                     "tests=8 yaml=5 unknown=0 good_plan=1 errors=0 passed=6 failed=2 skipped=2 "
                     "todo=1 msg=%s\n",
                     hex) > 0);
        if (st != 0 || !out || strcmp(out, want))
            printf("\n  TAP::Parser: %s  want: %s", out ? out : "(null)", want);
        CU_ASSERT(st == 0 && out && !strcmp(out, want));
        free(out);
        free(want);
        free(cmd);
        if (need_tool("prove")) {
            /* prove runs the "test" (cat of the file) and must see a failing plan-consistent run */
            CU_ASSERT(asprintf(&cmd, "prove --exec cat %s >/dev/null 2>&1; echo $?", tap) > 0);
            out = run_cmd(cmd, &st);
            CU_ASSERT(out && !strcmp(out, "1\n"));
            free(out);
            free(cmd);
        }
    }
    if (need_tool("/usr/bin/python3")) {
        /* a full YAML parser (PyYAML) reads every diagnostics block, the message byte for byte */
        static const char py[] =
            "import re,sys\n"
            "try:\n import yaml\n"
            "except ImportError:\n print('no-yaml'); sys.exit(0)\n"
            "t=open(sys.argv[1],encoding='utf-8').read()\n"
            "bs=[yaml.safe_load('\\n'.join(l[2:] for l in m.group(1).split('\\n'))) for m in "
            "re.finditer(r'\\n  ---\\n(.*?)\\n  \\.\\.\\.\\n',t,re.S)]\n"
            "print(len(bs), [b['verdict'] for b in bs][0], "
            "bs[0]['message'].encode('utf-8').hex())\n";
        char pyf[] = "/tmp/hn-tap-py-XXXXXX";
        int fd = mkstemp(pyf);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(write(fd, py, sizeof(py) - 1), (ssize_t)(sizeof(py) - 1));
        close(fd);
        for (i = 0; NASTY[i]; i++)
            snprintf(hex + 2 * i, sizeof(hex) - 2 * i, "%02x", (unsigned char)NASTY[i]);
        CU_ASSERT(asprintf(&cmd, "/usr/bin/python3 %s %s 2>&1", pyf, tap) > 0);
        CU_ASSERT(asprintf(&want, "5 FAILED %s\n", hex) > 0);
        out = run_cmd(cmd, &st);
        /* "no-yaml": python3-yaml is missing (DEBS installs it), and that fails too */
        if (!out || strcmp(out, want))
            printf("\n  PyYAML: %s  want: %s", out ? out : "(null)", want);
        CU_ASSERT(out && !strcmp(out, want));
        free(out);
        free(want);
        free(cmd);
        unlink(pyf);
    }
    unlink(tap);
    unlink(pl);
    json_decref(run);
}

static void test_report_json_writes_index_and_cases(void)
{
    json_t *run = sample_run(true, false), *index, *e, *c;
    char dir[] = "/tmp/hn-json-XXXXXX";
    char *path = NULL;
    json_error_t jerr;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT(asprintf(&path, "%s/out/report", dir) > 0);
    CU_ASSERT_EQUAL_FATAL(hn_report_json(path, run), 0);
    free(path);
    CU_ASSERT(asprintf(&path, "%s/out/report/index.json", dir) > 0);
    index = json_load_file(path, 0, &jerr);
    free(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(index);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(index, "seed")), 1234);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(index, "exit_code")), 1);
    e = json_object_get(json_object_get(index, "cases"), "6.1.2-abort-mid-stream");
    CU_ASSERT_STRING_EQUAL(wc_json_str(e, "verdict"), "FAILED");
    CU_ASSERT_STRING_EQUAL(wc_json_str(e, "report"), "cases/6.1.2-abort-mid-stream.json");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(e, "duration_ms")), 1042);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_object_get(e, "checks"), "one_terminal"), "fail");
    CU_ASSERT_EQUAL(json_object_size(json_object_get(index, "cases")), 8);
    CU_ASSERT(asprintf(&path, "%s/out/report/cases/6.1.2-abort-mid-stream.json", dir) > 0);
    c = json_load_file(path, 0, &jerr);
    free(path);
    CU_ASSERT_STRING_EQUAL(wc_json_str(index, "format"), HN_REPORT_FORMAT);
    CU_ASSERT_STRING_EQUAL(wc_json_str(c, "format"), HN_REPORT_FORMAT);
    json_object_del(c, "format");
    CU_ASSERT(json_equal(c, case_at(run, 1)));
    json_decref(c);
    json_decref(index);
    json_decref(run);
    CU_ASSERT(asprintf(&path, "rm -rf %s", dir) > 0);
    CU_ASSERT_EQUAL(system(path), 0);
    free(path);
}

static void test_report_case_file_names_are_safe(void)
{
    static const char *const rows[][2] = {
        {"4.2.1-abort", "4.2.1-abort"},
        {"../etc/passwd", "_._etc_passwd"},
        {"a b/c", "a_b_c"},
        {"", "_"},
        {"..", "_."},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *s = hn_report_case_file_name(rows[i][0]);
        CU_ASSERT_STRING_EQUAL(s, rows[i][1]);
        free(s);
    }
}

/* --- HTML ---------------------------------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0;
    FILE *out;
    int c;

    if (!fp)
        return NULL;
    out = open_memstream(&buf, &len);
    while ((c = fgetc(fp)) != EOF)
        fputc(c, out);
    fclose(out);
    fclose(fp);
    return buf;
}

static size_t occurrences(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Write the HTML report of run to a temp file (name in path, 32 bytes); its text (new). */
static char *html_of(const json_t *run, size_t cap, char *path)
{
    int fd;

    strcpy(path, "/tmp/hn-html-XXXXXX");
    fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_EQUAL_FATAL(hn_report_html(path, run, cap), 0);
    return slurp(path);
}

/* xmllint --html's output without its complaints about HTML5 elements (libxml2's HTML parser
 * knows HTML 4: inline SVG and <details> are "invalid" tags to it, each complaint three lines:
 * the message, the source line and a caret). New string. */
static char *html4_noise_removed(const char *out)
{
    static const char *const html5[] = {"svg",  "defs",   "marker", "path",    "line",    "text",
                                        "rect", "circle", "g",      "details", "summary", NULL};
    size_t len = strlen(out), skip = 0;
    char *res = calloc(1, len + 1), *w = res;
    const char *p = out;

    while (*p) {
        const char *eol = strchr(p, '\n'), *m = strstr(p, "HTML parser error : Tag ");
        size_t n = eol ? (size_t)(eol - p) + 1 : strlen(p);
        if (m && (!eol || m < eol)) {
            m += strlen("HTML parser error : Tag ");
            for (size_t i = 0; html5[i]; i++) {
                size_t k = strlen(html5[i]);
                if (!strncmp(m, html5[i], k) && !strncmp(m + k, " invalid", 8))
                    skip = 3;
            }
        }
        if (skip)
            skip--;
        else {
            memcpy(w, p, n);
            w += n;
        }
        p += n;
    }
    return res;
}

/* xmllint --html reports parse errors on stderr but exits 0: the check is that it prints
 * nothing but its complaints about HTML5 elements. */
static void expect_html_valid(const char *path)
{
    char *cmd = NULL, *out, *rest;
    int st = -1;

    CU_ASSERT(asprintf(&cmd, "xmllint --html --noout %s 2>&1", path) > 0);
    out = run_cmd(cmd, &st);
    rest = out ? html4_noise_removed(out) : NULL;
    if (st != 0 || !rest || *rest)
        printf("\n  xmllint --html: %s\n", rest ? rest : "(null)");
    CU_ASSERT(st == 0 && rest && !*rest);
    free(rest);
    free(out);
    free(cmd);
}

static void expect_html_xpath(const char *file, const char *expr, const char *want)
{
    char *cmd = NULL, *got;
    int st = -1;

    CU_ASSERT(asprintf(&cmd, "xmllint --html --xpath '%s' %s 2>/dev/null", expr, file) > 0);
    got = run_cmd(cmd, &st);
    free(cmd);
    if (got && *got && got[strlen(got) - 1] == '\n')
        got[strlen(got) - 1] = '\0';
    if (!got || strcmp(got, want))
        printf("\n  html xpath %s: got \"%s\", want \"%s\"\n", expr, got ? got : "(null)", want);
    CU_ASSERT(got && !strcmp(got, want));
    free(got);
}

static void test_report_html_matrix(void)
{
    json_t *run = sample_run(true, true), *cases = json_object_get(run, "cases");
    char path[32], *html;

    /* natural order: 1.2.9 before 1.2.10; a repeated id gets a second anchor */
    json_array_append_new(cases, json_pack("{s:s, s:s, s:s, s:i}", "id", "1.2.10-later", "title",
                                           "ten", "verdict", "OK", "duration_ms", 1));
    json_array_append_new(cases, json_pack("{s:s, s:s, s:s, s:i, s:[s, s]}", "id", "1.2.9-earlier",
                                           "title", "nine", "verdict", "OK", "duration_ms", 1,
                                           "spec", "R-TERM-1", "R-X-9"));
    json_array_append_new(cases, json_pack("{s:s, s:s, s:i}", "id", "1.1.1-auth", "verdict",
                                           "ERROR", "duration_ms", 7));
    json_object_set_new(
        run, "requirements",
        json_pack("{s:{s:s, s:s}}", "R-TERM-1", "title", "one complete per run", "level", "MUST"));
    json_object_set_new(run, "mutant", json_string("dup-complete"));
    html = html_of(run, 0, path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    /* one matrix row per case, in id order, OK cases without a link */
    CU_ASSERT_EQUAL(occurrences(html, "<tr class=\"case\">"), 11);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(html, "<tr class=\"case\"><td class=\"mono\">4.1.1-seq-basic</td>"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(html, "<a href=\"#case-6.1.2-abort-mid-stream\">6.1.2-abort-mid-stream</a>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "id=\"case-1.1.1-auth\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "id=\"case-1.1.1-auth:2\""));
    CU_ASSERT(strstr(html, ">1.2.9-earlier<") && strstr(html, ">1.2.10-later<") &&
              strstr(html, ">1.2.9-earlier<") < strstr(html, ">1.2.10-later<"));
    /* header facts, counts, baseline, the requirement title as a tooltip */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<tr><th>seed</th><td>1234</td></tr>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<tr><th>mutant</th><td>dup-complete</td></tr>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<span class=\"v v-fail\">FAILED 2</span>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<span class=\"v v-fail known\">known 1</span>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "1 stale</span> (4.9.9-old)"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(html, "<span class=\"req\" title=\"one complete per run\">R-TERM-1</span>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<span class=\"req\">R-X-9</span>"));
    /* the known failure is marked in the matrix, with its reason */
    CU_ASSERT_PTR_NOT_NULL(
        strstr(html, "<span class=\"v v-fail known\" title=\"known: bare complete (#959)\">"
                     "FAILED known</span>"));
    /* the arrowheads are defined once per page (ids are unique) */
    CU_ASSERT_EQUAL(occurrences(html, "id=\"ah\""), 1);
    /* the front page lists the known failures with their reason */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<h2>Known failures (1)</h2>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "5.2.1-codex</a></td><td>bare complete (#959)</td>"));
    /* one small inline script (the diagrams' click-to-show), nothing loaded, no external URL */
    CU_ASSERT_EQUAL(occurrences(html, "<script"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<script>\ndocument.addEventListener('click'"));
    CU_ASSERT_PTR_NULL(strstr(html, " src="));
    CU_ASSERT_PTR_NULL(strstr(html, "http://"));
    CU_ASSERT_PTR_NULL(strstr(html, "https://"));
    if (need_tool("xmllint")) {
        expect_html_valid(path);
        expect_html_xpath(path, "count(//tr[@class=\"case\"])", "11");
        expect_html_xpath(path, "count(//tr[@class=\"sec\"])", "8"); /* 1 3 4 5 6 7 9 10 */
        expect_html_xpath(path, "string(//tr[@class=\"case\"][1]/td[1])", "1.1.1-auth");
        expect_html_xpath(path, "string(//tr[@class=\"case\"][3]/td[1])", "1.2.9-earlier");
        expect_html_xpath(path, "string(//tr[@class=\"case\"][4]/td[1])", "1.2.10-later");
        expect_html_xpath(path, "string(//tr[@class=\"case\"][11]/td[1])", "10.1.1-upserted");
        expect_html_xpath(path, "string(//tr[@class=\"case\"][5]/td[3])", "SKIPPED");
        /* every not-OK case has a detail section, OK cases none */
        expect_html_xpath(path, "count(//div[@class=\"case\"])", "8");
        expect_html_xpath(path, "count(//tr[@class=\"case\"]//a)", "8");
    }
    unlink(path);
    free(html);
    json_decref(run);
}

static void test_report_html_failure_detail(void)
{
    json_t *run = sample_run(true, false);
    json_t *c = case_at(run, 1), *tr = json_object_get(c, "transcript");
    char path[32], *html, *d;
    int i;

    /* witnesses 12 and 15 of the sample exist in this transcript */
    json_array_clear(tr);
    json_array_append_new(tr,
                          json_pack("{s:s, s:s}", "t", "header", "format", "gwspec-transcript/1"));
    for (i = 1; i <= 16; i++)
        json_array_append_new(tr, json_pack("{s:s, s:s, s:{s:s, s:i}, s:i, s:i}", "t",
                                            i % 2 ? "send" : "recv", "conn", "c1", "frame", "kind",
                                            "text", "seq", i, "n", i, "us", 1000 * i + 7));
    json_array_append_new(tr,
                          json_pack("{s:s, s:s, s:s, s:{s:s}, s:i, s:i}", "t", "ctl", "label", "s1",
                                    "run", "r1", "msg", "type", "emitted", "n", 17, "us", 17500));
    json_object_set_new(
        run, "requirements",
        json_pack("{s:{s:s}}", "R-TERM-1", "title", "a run ends with one complete"));
    html = html_of(run, 0, path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    d = strstr(html, "<div class=\"case\" id=\"case-6.1.2-abort-mid-stream\">");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(d, "<b class=\"mono\">R-TERM-1</b> <span class=\"muted\">a run ends with one "
                  "complete</span> <span class=\"muted\">(step 5)</span>"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(d, "<div>expected:</div><pre>{\"kind\":\"complete\",\"aborted\":true}</pre>"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(d, "<div>received:</div><pre>{\"kind\":\"complete\",\"aborted\":false,\"seq\":3}"
                  "</pre>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "<pre>- aborted: true\n+ aborted: false</pre>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "<a href=\"#case-6.1.2-abort-mid-stream:d12\">12</a>"));
    /* the diagram: one arrow per record, the witness highlighted with the expected beside it */
    {
        const char *svg = strstr(d, "<svg class=\"seq\""),
                   *end = svg ? strstr(svg, "</svg>") : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(end);
        char *one = strndup(svg, (size_t)(end - svg));
        size_t nrec = json_array_size(json_object_get(case_at(run, 1), "transcript")) - 1;
        CU_ASSERT_EQUAL(occurrences(one, "<g class=\"rec "), nrec);
        CU_ASSERT_PTR_NOT_NULL(strstr(one, "<g class=\"rec t-recv wit\" data-n=\"12\" "
                                           "id=\"case-6.1.2-abort-mid-stream:d12\">"));
        CU_ASSERT_PTR_NOT_NULL(strstr(one, "expected: {\"kind\":\"complete\""));
        free(one);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "<pre class=\"cmd\">bin/gwspec run --seed 1234 "
                                     "cases/6-abort/6.1.2-abort-mid-stream.yaml</pre>"));
    /* the transcript rows: number, ms, who, direction, type, frame; witnesses highlighted */
    CU_ASSERT_PTR_NOT_NULL(
        strstr(d, "<tr class=\"t-recv wit\" id=\"case-6.1.2-abort-mid-stream:r12\">"
                  "<td class=\"num\">12</td><td class=\"num\">12.007</td><td>c1</td>"
                  "<td class=\"dir\">gw &#8594;</td><td>recv</td>"
                  "<td class=\"rec\">{\"kind\":\"text\",\"seq\":12}</td></tr>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "<tr class=\"t-send\"><td class=\"num\">11</td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "<td>s1/r1</td><td class=\"dir\">prov &#8594;</td><td>ctl</td>"
                                     "<td class=\"rec\">{\"type\":\"emitted\"}</td>"));
    CU_ASSERT_EQUAL(occurrences(d, " wit\""), 4); /* two table rows, two arrows */
    CU_ASSERT_PTR_NULL(strstr(d, "left out"));
    /* the known failure's detail says so */
    d = strstr(html, "<div class=\"case\" id=\"case-5.2.1-codex\">");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "known failure</span> bare complete (#959)"));
    if (need_tool("xmllint")) {
        expect_html_valid(path);
        expect_html_xpath(path, "count(//div[@id=\"case-6.1.2-abort-mid-stream\"]//table//tr[td])",
                          "18");
        expect_html_xpath(
            path, "count(//div[@id=\"case-6.1.2-abort-mid-stream\"]//div[@class=\"failure\"])",
            "1");
    }
    unlink(path);
    free(html);
    json_decref(run);
}

#define EVIL "</td><script>alert(1)</script><!-- \" ' &amp;"

static void test_report_html_escapes_gateway_text(void)
{
    json_t *run = sample_run(true, false), *c = case_at(run, 1);
    json_t *f = json_array_get(json_object_get(c, "failures"), 0);
    char path[32], *html;

    json_object_set_new(c, "title", json_string(EVIL));
    json_object_set_new(f, "message", json_string(EVIL));
    json_object_set_new(f, "requirement", json_string(EVIL));
    json_object_set_new(f, "diff", json_string(EVIL "\nline2"));
    json_object_set_new(f, "received", json_pack("{s:s}", "content", EVIL));
    json_object_set_new(c, "known_reason", json_string(EVIL));
    json_array_append_new(json_object_get(c, "transcript"),
                          json_pack("{s:s, s:s, s:{s:s}, s:i}", "t", "recv", "conn", EVIL, "frame",
                                    "content", EVIL, "n", 12));
    json_array_append_new(
        json_object_get(c, "transcript"),
        json_pack("{s:s, s:s, s:i}", "t", "note", "text", "\x01\x7f" EVIL, "n", 13));
    json_array_append_new(json_object_get(c, "transcript"),
                          json_pack("{s:s, s:i}", "t", EVIL, "n", 14));
    json_object_set_new(case_at(run, 4), "known_reason",
                        json_string(EVIL)); /* an attribute value */
    json_object_set_new(run, "target", json_string(EVIL));
    html = html_of(run, 0, path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_EQUAL(occurrences(html, "<script"), 1); /* the report's own, no injected one */
    CU_ASSERT_PTR_NULL(strstr(html, "</td><script"));
    CU_ASSERT_PTR_NULL(strstr(html, "<!--"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(html, "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!-- \" ' &amp;amp;"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(html, "title=\"known: &lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!-- "
                     "&quot; &#39; &amp;amp;\""));
    /* control characters; a record type in a class attribute */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<td class=\"rec\">\\u0001\\u007F&lt;/td&gt;"));
    CU_ASSERT_PTR_NOT_NULL(strstr(
        html, "<tr class=\"t-&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!-- &quot;"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(html, "<title>gwspec: chatgw/1.0 against &lt;/td&gt;&lt;script&gt;"));
    /* the NASTY message of the sample is in the transcript: C0 controls, a non-character */
    CU_ASSERT_PTR_NOT_NULL(
        strstr(html, "bad &lt;frame&gt; &amp; \\\"q\\\" 'a' \\u0001\\u001B ]]&gt;"));
    if (need_tool("xmllint")) {
        expect_html_valid(path);
        expect_html_xpath(path, "count(//script)", "1");
        expect_html_xpath(path, "count(//comment())", "0");
        /* the text reads back as sent */
        expect_html_xpath(path, "string(//div[@id=\"case-6.1.2-abort-mid-stream\"]/div[1])", EVIL);
    }
    unlink(path);
    free(html);
    json_decref(run);
}

static void test_report_html_caps_transcript(void)
{
    json_t *run = sample_run(true, false), *c = case_at(run, 1),
           *tr = json_object_get(c, "transcript");
    json_t *f = json_array_get(json_object_get(c, "failures"), 0);
    char path[32], *html, *d;
    int i;

    json_array_clear(tr);
    json_array_append_new(tr,
                          json_pack("{s:s, s:s}", "t", "header", "format", "gwspec-transcript/1"));
    for (i = 1; i <= 1000; i++)
        json_array_append_new(tr, json_pack("{s:s, s:s, s:{s:i}, s:i, s:i}", "t", "recv", "conn",
                                            "c1", "frame", "seq", i, "n", i, "us", 10 * i));
    json_object_set_new(f, "witness", json_pack("[i]", 800));
    html = html_of(run, 50, path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    d = strstr(html, "<div class=\"case\" id=\"case-6.1.2-abort-mid-stream\">");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    /* the first 50 (header included), the witness with 2 on each side, the last 10 */
    CU_ASSERT_EQUAL(occurrences(d, "<tr class=\"t-"), 65);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "<td class=\"num\">49</td>"));
    CU_ASSERT_PTR_NULL(strstr(d, "<td class=\"num\">50</td>"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(d, "<tr class=\"gap\"><td colspan=\"6\">748 records left out</td></tr>\n"
                  "<tr class=\"t-recv\"><td class=\"num\">798</td>"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(d, "<tr class=\"t-recv wit\" id=\"case-6.1.2-abort-mid-stream:r800\">"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(d, "<tr class=\"gap\"><td colspan=\"6\">188 records left out</td></tr>\n"
                  "<tr class=\"t-recv\"><td class=\"num\">991</td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "<td class=\"num\">1000</td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "936 of 1001 records left out"));
    free(html);
    unlink(path);
    /* the default cap */
    html = html_of(run, 0, path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_EQUAL(
        occurrences(strstr(html, "<div class=\"case\" id=\"case-6.1.2"), "<tr class=\"t-"),
        HN_HTML_RECORDS + 15);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<td class=\"num\">499</td>"));
    CU_ASSERT_PTR_NULL(strstr(html, "<td class=\"num\">500</td>"));
    if (need_tool("xmllint"))
        expect_html_valid(path);
    unlink(path);
    free(html);
    json_decref(run);
}

static void test_report_html_unwritable(void)
{
    json_t *run = sample_run(false, false);

    CU_ASSERT_EQUAL(hn_report_html("/nonexistent-dir/x.html", run, 0), WC_ERR_IO);
    json_decref(run);
}

/* Requirement coverage (issue 10 §5) in the console, JUnit and TAP, and the MUST without a case
 * failing the run; the baseline's new failures and stale entries said plainly. */
static void test_report_coverage_and_baseline_lines(void)
{
    json_t *run = sample_run(false, false);
    char xml[] = "/tmp/hn-cov-XXXXXX", tap[] = "/tmp/hn-cov-tap-XXXXXX";
    int fx = mkstemp(xml), ft = mkstemp(tap);
    char *s, *x, *t;

    CU_ASSERT_FATAL(fx >= 0 && ft >= 0);
    close(fx);
    close(ft);
    json_array_remove(json_object_get(run, "cases"), 4); /* the ERROR */
    CU_ASSERT_EQUAL(hn_report_exit_code(run), 0);
    json_object_set_new(
        run, "coverage",
        json_pack(
            "{s:s, s:b, s:{s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:{s:i, s:i, s:i, s:i, s:i, s:i},"
            " s:{s:i, s:i, s:i, s:i, s:i, s:i}}, s:[s], s:[], s:[{s:s, s:s, s:s}], s:[s]}",
            "scope", "catalog", "enforced", 1, "levels", "MUST", "requirements", 3, "with_case", 1,
            "exercised", 1, "not_run", 0, "without_case", 1, "untestable", 1, "SHOULD",
            "requirements", 1, "with_case", 1, "exercised", 0, "not_run", 1, "without_case", 0,
            "untestable", 0, "MAY", "requirements", 0, "with_case", 0, "exercised", 0, "not_run", 0,
            "without_case", 0, "untestable", 0, "without_case", "R-NEW-1", "not_run", "untestable",
            "id", "R-OLD-1", "level", "MUST", "reason", "r", "missing_must", "R-NEW-1"));
    json_object_set_new(json_object_get(run, "baseline"), "new",
                        json_pack("[{s:s, s:s, s:s, s:s}]", "case", "4.2.1-abort", "requirement",
                                  "R-TERM-1", "witness", "one_terminal/complete", "message",
                                  "second complete"));
    json_object_set_new(json_object_get(run, "baseline"), "stale_entries",
                        json_pack("[{s:s, s:s, s:[s], s:s}]", "case", "4.2.1-abort", "requirement",
                                  "R-TERM-1", "witness", "one_terminal/status", "why",
                                  "R-TERM-1 failed with another witness"));
    CU_ASSERT_EQUAL(hn_report_exit_code(run), 1);
    s = capture(summary_adapter, run, false);
    CU_ASSERT_PTR_NOT_NULL(strstr(
        s, "\n  NEW-FAIL     4.2.1-abort: R-TERM-1, witness one_terminal/complete, is not in "
           "the baseline (a new failure in a baselined case): second complete\n"
           "  STALE        4.2.1-abort: the entry for R-TERM-1, witness one_terminal/status, "
           "matched nothing: R-TERM-1 failed with another witness\n"
           "requirements of chatgw/1.0 (whole catalog):\n"
           "  MUST 3: 1 exercised, 0 not run, 1 without a case, 1 untestable\n"
           "  SHOULD 1: 0 exercised, 1 not run, 0 without a case, 0 untestable\n"
           "  MAY 0: 0 exercised, 0 not run, 0 without a case, 0 untestable\n"
           "  without a case: R-NEW-1\n"
           "  marked untestable: R-OLD-1\n"
           "  FAILED: MUST without a case (write one, or mark it `untestable:` with the "
           "reason): R-NEW-1\n"
           "not ok:\n"
           "  NON-STRICT   7.3.1-stale-cursor\n"
           "3 passed, 0 failed\n"));
    free(s);
    CU_ASSERT_EQUAL_FATAL(hn_report_junit(xml, run), 0);
    x = slurp(xml);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(x, "<property name=\"coverage.MUST.without_case\" value=\"1\"/>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "<property name=\"coverage.scope\" value=\"catalog\"/>"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(x, "<testcase name=\"requirement-coverage\" classname=\"gwspec.coverage\""));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(x, "message=\"MUST requirement(s) of chatgw/1.0 without a case: R-NEW-1\""));
    CU_ASSERT_EQUAL_FATAL(hn_report_tap(tap, run), 0);
    t = slurp(tap);
    CU_ASSERT(!strncmp(t, "TAP version 13\n1..7\n", 20));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(t, "\n# MUST 3: 1 exercised, 0 not run, 1 without a case, 1 untestable\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(t, "\nnot ok 7 - requirement coverage: MUST without a case: R-NEW-1\n"));
    free(x);
    free(t);
    /* not enforced (a narrowed run): no failure */
    json_object_set_new(json_object_get(run, "coverage"), "enforced", json_false());
    json_object_del(json_object_get(run, "baseline"), "stale_entries");
    CU_ASSERT_EQUAL(hn_report_exit_code(run), 0);
    unlink(xml);
    unlink(tap);
    json_decref(run);
}

/* hn_report_frame_summary, hn_report_failure_reason, hn_report_failures_ordered: the lead line
 * of a failure and the order a reader sees them in. */
static void test_report_failure_reason(void)
{
    json_t *v = json_pack("{s:s, s:i}", "kind", "complete", "seq", 3);
    char *s = hn_report_frame_summary(v);
    CU_ASSERT_STRING_EQUAL(s, "complete seq 3");
    free(s);
    json_decref(v);
    v = json_pack("{s:s, s:{s:s}}", "type", "emitted", "event", "kind", "stream_delta");
    s = hn_report_frame_summary(v);
    CU_ASSERT_STRING_EQUAL(s, "emitted stream_delta");
    free(s);
    json_decref(v);
    v = json_pack("[i]", 7);
    s = hn_report_frame_summary(v);
    CU_ASSERT_STRING_EQUAL(s, "[7]");
    free(s);
    json_decref(v);

    json_t *f = json_pack("{s:s, s:s, s:n, s:{s:s, s:i}}", "kind", "step", "message",
                          "quiet: an unexpected frame arrived", "expected", "received", "kind",
                          "complete", "seq", 3);
    s = hn_report_failure_reason(f);
    CU_ASSERT_STRING_EQUAL(s, "quiet: an unexpected frame arrived; received complete seq 3");
    free(s);
    json_decref(f);
    f = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:i}, s:s}", "kind", "step", "message",
                  "the next frame does not match", "expected", "kind", "chat_subscribed",
                  "received", "kind", "complete", "seq", 4, "diff",
                  "at .kind: expected \"chat_subscribed\", received \"complete\"");
    s = hn_report_failure_reason(f);
    CU_ASSERT_STRING_EQUAL(
        s, "the next frame does not match at .kind: expected \"chat_subscribed\", received "
           "\"complete\"");
    CU_ASSERT_TRUE(hn_report_diff_is_reason(f));
    free(s);
    json_object_set_new(f, "diff", json_string("- a\n+ b"));
    CU_ASSERT_FALSE(hn_report_diff_is_reason(f));
    s = hn_report_failure_reason(f);
    CU_ASSERT_STRING_EQUAL(
        s, "the next frame does not match; expected chat_subscribed, received complete seq 4");
    free(s);
    json_decref(f);
    f = json_pack("{s:s, s:s}", "kind", "invariant", "message", "duplicate\nterminal");
    s = hn_report_failure_reason(f);
    CU_ASSERT_STRING_EQUAL(s, "duplicate\\nterminal");
    free(s);
    json_decref(f);

    /* the invariant that caused failure 0 comes first, then the rest in order */
    json_t *c = json_pack("{s:[{s:s, s:i}, {s:s}, {s:s}]}", "failures", "kind", "step", "cause", 2,
                          "kind", "error", "kind", "invariant");
    json_t *o = hn_report_failures_ordered(c);
    CU_ASSERT_EQUAL(json_array_size(o), 3);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(o, 0), "kind"), "invariant");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(o, 1), "kind"), "step");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(o, 2), "kind"), "error");
    json_decref(o);
    json_decref(c);
}

/* The progress line: [n/N] and the counts so far, rewritten in place. */
static void test_report_console_progress(void)
{
    json_t *run = sample_run(true, false);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    hn_report_console_progress(fp, json_object_get(run, "cases"), 20);
    fclose(fp);
    expect_text(buf, "\r                                                                           "
                     "    \r[8/20] 3 passed, 1 failed, 1 known, 1 error, 2 not run");
    free(buf);
    json_decref(run);
}

/* hn_report_causal_order: a frame a client received goes after the provider record that caused
 * it, which the transcript wrote later; each lane keeps its own order. */
static void test_report_causal_order(void)
{
    json_t *tr = json_loads(
        "[{\"t\":\"header\",\"format\":\"gwspec-transcript/1\"},"
        "{\"t\":\"send\",\"conn\":\"c1\",\"n\":1,\"frame\":{\"type\":\"chat.send\","
        "\"sessionId\":\"A\",\"content\":\"gwspec:{\\\"label\\\":\\\"s1\\\",\\\"run\\\":\\\"r1\\\"}"
        "\"}},"
        "{\"t\":\"recv\",\"conn\":\"c1\",\"n\":2,\"frame\":{\"kind\":\"session_upserted\","
        "\"sessionId\":\"A\"}},"
        "{\"t\":\"recv\",\"conn\":\"c1\",\"n\":3,\"frame\":{\"kind\":\"text\",\"sessionId\":\"A\","
        "\"seq\":1}},"
        "{\"t\":\"ctl\",\"label\":\"s1\",\"run\":\"r1\",\"n\":4,\"msg\":{\"type\":\"hello\"}},"
        "{\"t\":\"ctl\",\"label\":\"s1\",\"run\":\"r1\",\"n\":5,\"msg\":{\"type\":\"announced\"}},"
        "{\"t\":\"ctl\",\"label\":\"s1\",\"run\":\"r1\",\"n\":6,\"msg\":{\"type\":\"emitted\","
        "\"event\":{\"kind\":\"text\"}}},"
        "{\"t\":\"ctl\",\"label\":\"s1\",\"run\":\"r1\",\"n\":7,\"msg\":{\"type\":\"done\"}},"
        "{\"t\":\"recv\",\"conn\":\"c1\",\"n\":8,\"frame\":{\"kind\":\"complete\",\"sessionId\":"
        "\"A\"}}]",
        0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tr);
    json_t *o = hn_report_causal_order(tr);
    /* record numbers in drawing order: the hello and announced before the upserted, the emitted
     * text before the text, done in its place, the gateway's own complete last */
    static const int want[] = {1, 4, 5, 2, 6, 3, 7, 8};
    CU_ASSERT_EQUAL_FATAL(json_array_size(o), 8);
    for (size_t i = 0; i < 8; i++) {
        const json_t *r = json_array_get(tr, (size_t)json_integer_value(json_array_get(o, i)));
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "n")), want[i]);
    }
    json_decref(o);
    /* in causal order already: unchanged */
    json_t *tr2 =
        json_loads("[{\"t\":\"header\"},{\"t\":\"ctl\",\"label\":\"s1\",\"run\":\"r1\","
                   "\"n\":1,\"msg\":{\"type\":\"emitted\",\"event\":{\"kind\":\"text\"}}},"
                   "{\"t\":\"recv\",\"conn\":\"c1\",\"n\":2,\"frame\":{\"kind\":\"text\"}},"
                   "{\"t\":\"recv\",\"conn\":\"c1\",\"n\":3,\"frame\":{\"kind\":\"text\"}}]",
                   0, NULL);
    o = hn_report_causal_order(tr2);
    CU_ASSERT_EQUAL(json_array_size(o), 3);
    for (size_t i = 0; i < json_array_size(o); i++)
        CU_ASSERT_EQUAL(json_integer_value(json_array_get(o, i)), (json_int_t)i + 1);
    json_decref(o);
    json_decref(tr2);
    json_decref(tr);
}

static CU_TestInfo report_tests[] = {
    {"causal_order", test_report_causal_order},
    {"failure_reason", test_report_failure_reason},
    {"console_progress", test_report_console_progress},
    {"coverage_and_baseline_lines", test_report_coverage_and_baseline_lines},
    {"console_lines", test_report_console_lines},
    {"console_summary_last_line", test_report_console_summary_last_line},
    {"junit_validates", test_report_junit_validates},
    {"tap_parses", test_report_tap_parses},
    {"json_writes_index_and_cases", test_report_json_writes_index_and_cases},
    {"case_file_names_are_safe", test_report_case_file_names_are_safe},
    {"html_matrix", test_report_html_matrix},
    {"html_failure_detail", test_report_html_failure_detail},
    {"html_escapes_gateway_text", test_report_html_escapes_gateway_text},
    {"html_caps_transcript", test_report_html_caps_transcript},
    {"html_unwritable", test_report_html_unwritable},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_report_suites[] = {
    {.pName = "hn_report", .pTests = report_tests},
    CU_SUITE_INFO_NULL,
};
