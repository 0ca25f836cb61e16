/* test_coverage.c: CUnit tests for harness/check/coverage.c (suite hn_coverage): requirement
 * coverage per level, the whole-catalog rule, and the problems lint reports (issue 10 §5). Also the
 * requirement table's `untestable` rule (scenario.c) and `gwspec spec diff` (cmd_spec.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "check/coverage.h"
#include "cmd/cmd_spec.h"
#include "wc_json.h"
#include "wc_mem.h"

static const char *reqs = "version: chatgw/9.1\n"
                          "requirements:\n"
                          "  - {id: R-A-1, level: MUST, title: cited and run}\n"
                          "  - {id: R-A-2, level: MUST, title: no case}\n"
                          "  - {id: R-A-3, level: MUST, untestable: no frame for it yet}\n"
                          "  - {id: R-B-1, level: SHOULD}\n"
                          "  - {id: R-C-1, level: MAY}\n";

static struct hn_spec *spec;
static struct hn_caselist all;

static void add_case(const char *id, const char *cites)
{
    char *name = wc_xasprintf("%s.yaml", id);
    char *text =
        wc_xasprintf("id: %s\ntitle: t\nspec: %s\ntags: []\ndescription: d\nexpectation: e\n"
                     "steps:\n  - connect: c1\n",
                     id, cites);
    json_t *errs = json_array();

    if (hn_case_load_string(name, text, spec, &all, errs) != 0)
        fprintf(stderr, "%s\n", json_string_value(json_array_get(errs, 0)));
    json_decref(errs);
    free(text);
    free(name);
}

static int setup(void)
{
    char *err = NULL;

    spec = hn_spec_load_string("requirements.yaml", reqs, &err);
    if (!spec) {
        fprintf(stderr, "spec: %s\n", err);
        free(err);
        return 1;
    }
    add_case("1.1.1-a", "[R-A-1]");
    add_case("1.1.2-b", "[R-B-1]");
    add_case("1.1.3-c", "[R-C-1, R-A-1]");
    return all.n == 3 ? 0 : 1;
}

static int teardown(void)
{
    hn_caselist_release(&all);
    hn_spec_free(spec);
    return 0;
}

static long long level_count(const json_t *cov, const char *level, const char *key)
{
    return json_integer_value(
        json_object_get(json_object_get(json_object_get(cov, "levels"), level), key));
}

/* Results: 1.1.1 ran (OK), 1.1.2 was UNIMPLEMENTED, 1.1.3 FAILED (a failure is exercised too). */
static json_t *results(void)
{
    return json_pack("[{s:s, s:[s]}, {s:s, s:[s]}, {s:s, s:[s, s]}]", "verdict", "OK", "spec",
                     "R-A-1", "verdict", "UNIMPLEMENTED", "spec", "R-B-1", "verdict", "FAILED",
                     "spec", "R-C-1", "R-A-1");
}

static void test_coverage_whole_catalog_counts_every_requirement_once(void)
{
    json_t *res = results();
    json_t *cov = hn_coverage_compute(spec, &all, all.v, all.n, res, true);

    CU_ASSERT_STRING_EQUAL(wc_json_str(cov, "scope"), "catalog");
    CU_ASSERT(json_is_true(json_object_get(cov, "enforced")));
    CU_ASSERT_EQUAL(level_count(cov, "MUST", "requirements"), 3);
    CU_ASSERT_EQUAL(level_count(cov, "MUST", "exercised"), 1);
    CU_ASSERT_EQUAL(level_count(cov, "MUST", "without_case"), 1);
    CU_ASSERT_EQUAL(level_count(cov, "MUST", "untestable"), 1);
    CU_ASSERT_EQUAL(level_count(cov, "SHOULD", "not_run"), 1); /* its only case UNIMPLEMENTED */
    CU_ASSERT_EQUAL(level_count(cov, "SHOULD", "with_case"), 1);
    CU_ASSERT_EQUAL(level_count(cov, "MAY", "exercised"), 1);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_array_get(json_object_get(cov, "missing_must"), 0)), "R-A-2");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(cov, "missing_must")), 1);
    CU_ASSERT_STRING_EQUAL(
        wc_json_str(json_array_get(json_object_get(cov, "untestable"), 0), "reason"),
        "no frame for it yet");
    json_decref(cov);
    json_decref(res);
}

/* A narrowed selection counts only what its cases cite and enforces nothing. */
static void test_coverage_selection_is_not_enforced(void)
{
    json_t *res = json_pack("[{s:s, s:[s]}]", "verdict", "OK", "spec", "R-B-1");
    struct hn_case *one[] = {all.v[1]};
    json_t *cov = hn_coverage_compute(spec, &all, one, 1, res, false);

    CU_ASSERT_STRING_EQUAL(wc_json_str(cov, "scope"), "selection");
    CU_ASSERT(json_is_false(json_object_get(cov, "enforced")));
    CU_ASSERT_EQUAL(level_count(cov, "MUST", "requirements"), 0);
    CU_ASSERT_EQUAL(level_count(cov, "SHOULD", "exercised"), 1);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(cov, "missing_must")), 0);
    json_decref(cov);
    json_decref(res);
}

static void test_coverage_lint_problems_name_the_requirement_line(void)
{
    json_t *cov = hn_coverage_compute(spec, &all, NULL, 0, NULL, true), *errs = json_array();

    CU_ASSERT_EQUAL(hn_coverage_problems(spec, cov, true, errs), 1);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_array_get(errs, 0)),
        "requirements.yaml:4:6: MUST requirement 'R-A-2' has no case in chatgw/9.1: write one, "
        "or mark it `untestable:` with the reason");
    json_decref(cov);
    json_decref(errs);
}

/* An untestable requirement a case cites is a contradiction lint reports. */
static void test_coverage_untestable_but_cited_is_a_lint_problem(void)
{
    json_t *errs = json_array(), *cov;

    add_case("1.1.4-d", "[R-A-3, R-A-2]");
    cov = hn_coverage_compute(spec, &all, NULL, 0, NULL, true);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(cov, "missing_must")), 0);
    CU_ASSERT_EQUAL(hn_coverage_problems(spec, cov, false, errs), 0);
    CU_ASSERT_EQUAL(hn_coverage_problems(spec, cov, true, errs), 1);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_array_get(errs, 0)),
        "requirements.yaml:5:6: requirement 'R-A-3' is marked untestable but case(s) cite it "
        "(1.1.4-d): drop the mark or the citation");
    hn_case_free(all.v[--all.n]);
    json_decref(cov);
    json_decref(errs);
}

static void test_coverage_whole_means_no_narrowing(void)
{
    json_t *f = json_pack("[s]", "5.*");
    struct hn_select plain = {0}, filtered = {.filters = f}, sharded = {.shard_k = 1, .shard_n = 2};
    char *catalog[] = {"."}, *other[] = {"/"};

    CU_ASSERT(hn_coverage_is_whole(&plain, NULL, 0, "."));
    CU_ASSERT(hn_coverage_is_whole(&plain, catalog, 1, "."));
    CU_ASSERT(!hn_coverage_is_whole(&plain, other, 1, "."));
    CU_ASSERT(!hn_coverage_is_whole(&filtered, NULL, 0, "."));
    CU_ASSERT(!hn_coverage_is_whole(&sharded, NULL, 0, "."));
    json_decref(f);
}

static void test_coverage_untestable_needs_a_reason(void)
{
    static const struct {
        const char *yaml;
        const char *want;
    } rows[] = {
        {"requirements:\n  - {id: R-A-1, level: MUST, untestable: ''}\n",
         "r.yaml:2:30: 'untestable' needs the reason no case can exercise the requirement (a "
         "non-empty string)"},
        {"requirements:\n  - id: R-A-1\n    level: MUST\n    untestable:\n",
         "r.yaml:4:5: 'untestable' needs the reason no case can exercise the requirement (a "
         "non-empty string)"},
        {"requirements:\n  - {id: R-A-1, level: MUST}\n  - {id: R-A-1, level: MAY}\n",
         "r.yaml:3:6: requirement 'R-A-1' is listed twice"},
        {"requirements:\n  - {id: R-A-1, level: MUST, title: [x]}\n",
         "r.yaml:2:30: 'title' must be a string"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *err = NULL;
        struct hn_spec *s = hn_spec_load_string("r.yaml", rows[i].yaml, &err);
        CU_ASSERT_PTR_NULL(s);
        if (!err || strcmp(err, rows[i].want))
            printf("\n  row %zu: got \"%s\"\n", i, err ? err : "(null)");
        CU_ASSERT(err && !strcmp(err, rows[i].want));
        hn_spec_free(s);
        free(err);
    }
}

/* `gwspec spec diff`: added, removed and changed requirements, each with the cases citing it. */
static void test_coverage_spec_diff_lists_changes_with_cases(void)
{
    char *err = NULL;
    struct hn_spec *b =
        hn_spec_load_string("new.yaml",
                            "version: chatgw/9.2\n"
                            "requirements:\n"
                            "  - {id: R-A-1, level: SHOULD, title: cited and run}\n"
                            "  - {id: R-A-2, level: MUST, title: no case, text: now with text}\n"
                            "  - {id: R-A-3, level: MUST, untestable: no frame for it yet}\n"
                            "  - {id: R-B-1, level: SHOULD}\n"
                            "  - {id: R-N-1, level: MUST, title: new}\n",
                            &err);
    json_t *cites =
        json_pack("{s:[s, s], s:[s]}", "R-A-1", "1.1.1-a", "1.1.3-c", "R-C-1", "1.1.3-c");
    json_t *d, *ch;

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    d = hn_spec_diff(spec, b, cites);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "added")), 1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(json_object_get(d, "added"), 0), "id"),
                           "R-N-1");
    CU_ASSERT_EQUAL(
        json_array_size(json_object_get(json_array_get(json_object_get(d, "added"), 0), "cases")),
        0);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(json_object_get(d, "removed"), 0), "id"),
                           "R-C-1");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(d, "removed"), 0), "cases"), 0)),
        "1.1.3-c");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "changed")), 2);
    ch = json_array_get(json_object_get(d, "changed"), 0);
    CU_ASSERT_STRING_EQUAL(wc_json_str(ch, "id"), "R-A-1");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(json_object_get(ch, "changes"), 0), "field"),
                           "level");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(json_object_get(ch, "changes"), 0), "old"),
                           "MUST");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(json_object_get(ch, "changes"), 0), "new"),
                           "SHOULD");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(ch, "cases")), 2);
    ch = json_array_get(json_object_get(d, "changed"), 1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(json_object_get(ch, "changes"), 0), "field"),
                           "text");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(d, "unchanged")), 2);
    json_decref(d);
    json_decref(cites);
    hn_spec_free(b);
}

static CU_TestInfo coverage_tests[] = {
    {"whole_catalog_counts_every_requirement_once",
     test_coverage_whole_catalog_counts_every_requirement_once},
    {"selection_is_not_enforced", test_coverage_selection_is_not_enforced},
    {"lint_problems_name_the_requirement_line",
     test_coverage_lint_problems_name_the_requirement_line},
    {"untestable_but_cited_is_a_lint_problem",
     test_coverage_untestable_but_cited_is_a_lint_problem},
    {"whole_means_no_narrowing", test_coverage_whole_means_no_narrowing},
    {"untestable_needs_a_reason", test_coverage_untestable_needs_a_reason},
    {"spec_diff_lists_changes_with_cases", test_coverage_spec_diff_lists_changes_with_cases},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_coverage_suites[] = {
    {.pName = "hn_coverage",
     .pInitFunc = setup,
     .pCleanupFunc = teardown,
     .pTests = coverage_tests},
    CU_SUITE_INFO_NULL,
};
