/* test_match.c: CUnit tests for harness/model/match.c (suite hn_match). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "model/match.h"
#include "wc_json.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fprintf(stderr, "bad test JSON %s: %s\n", text, e.text);
    return v;
}

/* match pattern text against value text with vars; returns ok, sets *diff (caller frees) */
static bool M(const char *pat, const char *val, json_t *vars, char **diff)
{
    json_t *p = J(pat), *v = J(val);
    struct hn_scope sc = {.vars = vars};
    bool ok = hn_match(p, v, &sc, diff);
    json_decref(p);
    json_decref(v);
    return ok;
}

static bool ok(const char *pat, const char *val)
{
    json_t *vars = json_object();
    bool r = M(pat, val, vars, NULL);
    json_decref(vars);
    return r;
}

static void expect_diff(const char *pat, const char *val, const char *want)
{
    json_t *vars = json_object();
    char *diff = NULL;
    CU_ASSERT_FALSE(M(pat, val, vars, &diff));
    CU_ASSERT_PTR_NOT_NULL_FATAL(diff);
    if (strcmp(diff, want))
        fprintf(stderr, "\n  diff: %s\n  want: %s\n", diff, want);
    CU_ASSERT_STRING_EQUAL(diff, want);
    free(diff);
    json_decref(vars);
}

static void test_partial_objects(void)
{
    CU_ASSERT_TRUE(ok("{\"kind\":\"complete\"}", "{\"kind\":\"complete\",\"seq\":3}"));
    CU_ASSERT_TRUE(ok("{}", "{\"a\":1}"));
    CU_ASSERT_FALSE(ok("{\"kind\":\"complete\"}", "{\"kind\":\"error\"}"));
    CU_ASSERT_FALSE(ok("{\"a\":{\"b\":1}}", "{\"a\":{\"b\":2,\"c\":3}}"));
    CU_ASSERT_TRUE(ok("{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1,\"c\":3}}"));
    CU_ASSERT_FALSE(ok("{\"a\":1}", "[1]"));
}

static void test_scalars_and_numbers(void)
{
    CU_ASSERT_TRUE(ok("1", "1.0"));
    CU_ASSERT_TRUE(ok("{\"seq\":2}", "{\"seq\":2.0}"));
    CU_ASSERT_FALSE(ok("1", "\"1\""));
    CU_ASSERT_TRUE(ok("null", "null"));
    CU_ASSERT_FALSE(ok("null", "false"));
    CU_ASSERT_TRUE(ok("\"a\"", "\"a\""));
    CU_ASSERT_FALSE(ok("true", "1"));
}

static void test_arrays(void)
{
    CU_ASSERT_TRUE(ok("[1,{\"a\":2}]", "[1,{\"a\":2,\"b\":3}]"));
    CU_ASSERT_FALSE(ok("[1,2]", "[1,2,3]"));
    CU_ASSERT_FALSE(ok("[1,2]", "[2,1]"));
    CU_ASSERT_TRUE(ok("[]", "[]"));
}

static void test_wildcards(void)
{
    CU_ASSERT_TRUE(ok("{\"a\":\"<any>\"}", "{\"a\":null}"));
    CU_ASSERT_FALSE(ok("{\"a\":\"<any>\"}", "{}"));
    CU_ASSERT_TRUE(ok("{\"a\":\"<absent>\"}", "{}"));
    CU_ASSERT_FALSE(ok("{\"a\":\"<absent>\"}", "{\"a\":null}"));
    CU_ASSERT_TRUE(ok("\"<string>\"", "\"x\""));
    CU_ASSERT_FALSE(ok("\"<string>\"", "1"));
    CU_ASSERT_TRUE(ok("\"<number>\"", "1.5"));
    CU_ASSERT_TRUE(ok("\"<int>\"", "3"));
    CU_ASSERT_TRUE(ok("\"<int>\"", "3.0"));
    CU_ASSERT_FALSE(ok("\"<int>\"", "3.5"));
    CU_ASSERT_TRUE(ok("\"<bool>\"", "false"));
    CU_ASSERT_FALSE(ok("\"<bool>\"", "0"));
    CU_ASSERT_TRUE(ok("\"<null>\"", "null"));
    CU_ASSERT_TRUE(ok("\"<object>\"", "{}"));
    CU_ASSERT_FALSE(ok("\"<object>\"", "[]"));
    CU_ASSERT_TRUE(ok("\"<array>\"", "[1]"));
    CU_ASSERT_TRUE(ok("\"<iso8601>\"", "\"2026-11-22T02:18:50.123Z\""));
    CU_ASSERT_TRUE(ok("\"<iso8601>\"", "\"2026-11-22T02:18:50Z\""));
    CU_ASSERT_FALSE(ok("\"<iso8601>\"", "\"2026-11-22 02:18:50\""));
    CU_ASSERT_TRUE(ok("\"<nonzero>\"", "2"));
    CU_ASSERT_FALSE(ok("\"<nonzero>\"", "0"));
    CU_ASSERT_FALSE(ok("\"<nonzero>\"", "\"1\""));
    CU_ASSERT_TRUE(ok("\"<uuid>\"", "\"0f8fad5b-d9cb-469f-a165-70867728950e\""));
    CU_ASSERT_FALSE(ok("\"<uuid>\"", "\"0f8fad5b-d9cb-469f-a165\""));
    {
        /* <epoch_ms>: now in ms matches; seconds, zero, 20 days off, a string or a fraction not */
        struct timespec ts;
        char now_ms[32], now_s[32], off[32], frac[40];
        long long ms;
        clock_gettime(CLOCK_REALTIME, &ts);
        ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        snprintf(now_ms, sizeof(now_ms), "%lld", ms);
        snprintf(now_s, sizeof(now_s), "%lld", (long long)ts.tv_sec);
        snprintf(off, sizeof(off), "%lld", ms - 1728000000LL);
        snprintf(frac, sizeof(frac), "%lld.5", ms);
        CU_ASSERT_TRUE(ok("\"<epoch_ms>\"", now_ms));
        CU_ASSERT_FALSE(ok("\"<epoch_ms>\"", now_s));
        CU_ASSERT_FALSE(ok("\"<epoch_ms>\"", "0"));
        CU_ASSERT_FALSE(ok("\"<epoch_ms>\"", off));
        CU_ASSERT_FALSE(ok("\"<epoch_ms>\"", frac));
        CU_ASSERT_FALSE(ok("\"<epoch_ms>\"", "\"1700000000000\""));
        CU_ASSERT_TRUE(hn_wildcard_known("<epoch_ms>"));
    }
    CU_ASSERT_TRUE(hn_wildcard_known("<uuid>"));
    CU_ASSERT_FALSE(hn_wildcard_known("<uuidx>"));
    CU_ASSERT_TRUE(hn_wildcard_like("<uuidx>"));
    CU_ASSERT_FALSE(hn_wildcard_like("a <b>"));
    /* an unknown wildcard-looking string is a literal */
    CU_ASSERT_TRUE(ok("\"<foo>\"", "\"<foo>\""));
}

static void test_exact(void)
{
    CU_ASSERT_TRUE(ok("{\"$exact\":{\"a\":1}}", "{\"a\":1}"));
    CU_ASSERT_FALSE(ok("{\"$exact\":{\"a\":1}}", "{\"a\":1,\"b\":2}"));
    CU_ASSERT_TRUE(
        ok("{\"x\":{\"$exact\":{\"a\":1,\"b\":\"<absent>\"}}}", "{\"x\":{\"a\":1},\"y\":0}"));
    expect_diff("{\"$exact\":{\"a\":1}}", "{\"a\":1,\"b\":2}",
                "at .: unexpected key \"b\" (exact match), received 2");
}

static void test_captures_and_vars(void)
{
    json_t *vars = json_object();
    char *diff = NULL;

    CU_ASSERT_TRUE(M("{\"seq\":\"$n1\",\"id\":\"$_\"}", "{\"seq\":4,\"id\":\"x\"}", vars, NULL));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(vars, "n1")), 4);
    CU_ASSERT_PTR_NULL(json_object_get(vars, "_"));
    /* bound: compares */
    CU_ASSERT_TRUE(M("{\"seq\":\"$n1\"}", "{\"seq\":4.0}", vars, NULL));
    CU_ASSERT_FALSE(M("{\"seq\":\"$n1\"}", "{\"seq\":5}", vars, &diff));
    CU_ASSERT_STRING_EQUAL(diff, "at .seq: expected 4 (= $n1), received 5");
    free(diff);
    /* a failed match binds nothing */
    CU_ASSERT_FALSE(M("{\"a\":\"$fresh\",\"b\":1}", "{\"a\":1,\"b\":2}", vars, NULL));
    CU_ASSERT_PTR_NULL(json_object_get(vars, "fresh"));
    /* the same capture twice in one pattern must agree */
    CU_ASSERT_FALSE(M("[\"$t\",\"$t\"]", "[1,2]", vars, NULL));
    CU_ASSERT_TRUE(M("[\"$t\",\"$t\"]", "[1,1]", vars, NULL));
    /* ${} interpolation in patterns */
    json_object_set_new(vars, "s1", json_string("abc"));
    CU_ASSERT_TRUE(M("{\"e\":\"Session \\\"${s1}\\\" was not found.\"}",
                     "{\"e\":\"Session \\\"abc\\\" was not found.\"}", vars, NULL));
    CU_ASSERT_FALSE(M("{\"e\":\"${nope}\"}", "{\"e\":\"x\"}", vars, &diff));
    CU_ASSERT_STRING_EQUAL(diff, "at .e: unbound variable 'nope' in \"${nope}\"");
    free(diff);
    /* dotted paths into captured objects */
    CU_ASSERT_TRUE(M("\"$run\"", "{\"seq\":7,\"list\":[\"a\",\"b\"]}", vars, NULL));
    CU_ASSERT_TRUE(
        M("{\"s\":\"$run.seq\",\"l\":\"$run.list.1\"}", "{\"s\":7,\"l\":\"b\"}", vars, NULL));
    json_decref(vars);
}

static void test_diff_text(void)
{
    expect_diff("{\"kind\":\"complete\",\"aborted\":true}",
                "{\"kind\":\"complete\",\"aborted\":false}",
                "at .aborted: expected true, received false");
    expect_diff("{\"a\":1}", "{}", "at .a: expected 1, received nothing (key absent)");
    expect_diff("{\"a\":{\"b\":[1,{\"c\":\"x\"}]}}", "{\"a\":{\"b\":[1,{\"c\":\"y\"}]}}",
                "at .a.b[1].c: expected \"x\", received \"y\"");
    expect_diff("{\"a\":\"<absent>\"}", "{\"a\":3}",
                "at .a: expected the key to be absent, received 3");
    expect_diff("{\"seq\":\"<int>\"}", "{\"seq\":\"1\"}",
                "at .seq: expected <int>, received \"1\"");
    expect_diff("[1,2]", "[1]", "at .: expected an array of 2 elements, received 1: [1]");
    expect_diff("{\"a-b\":1}", "{\"a-b\":2}", "at [\"a-b\"]: expected 1, received 2");
    expect_diff("{\"a\":1}", "[]", "at .: expected an object, received []");
}

static void test_expand_and_interp(void)
{
    json_t *vars = json_pack("{s:s, s:i, s:s}", "s1", "app-1", "n", 3, "s1.projectPath", "/p");
    struct hn_scope sc = {.vars = vars};
    char *err = NULL;
    json_t *t = J("{\"type\":\"chat.send\",\"sessionId\":\"$s1\",\"n\":\"$n\","
                  "\"c\":\"at ${s1.projectPath} #${n}\",\"l\":[\"$s1\"]}");
    json_t *e = hn_expand(t, &sc, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(wc_json_str(e, "sessionId"), "app-1");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(e, "n")), 3);
    CU_ASSERT_STRING_EQUAL(wc_json_str(e, "c"), "at /p #3");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(e, "l"), 0)), "app-1");
    json_decref(e);
    json_decref(t);

    t = J("{\"a\":\"$missing\"}");
    CU_ASSERT_PTR_NULL(hn_expand(t, &sc, &err));
    CU_ASSERT_STRING_EQUAL(err, "unbound variable '$missing'");
    free(err);
    json_decref(t);

    /* "$5" and "a$b" are literals */
    t = J("[\"$5\",\"a$b\",\"$\"]");
    e = hn_expand(t, &sc, &err);
    CU_ASSERT_TRUE(json_equal(e, t));
    json_decref(e);
    json_decref(t);

    /* matrix substitution leaves other variables alone */
    t = J("{\"p\":\"${provider}\",\"s\":\"${s1}\"}");
    json_t *subst = json_pack("{s:s}", "provider", "codex");
    e = hn_subst(t, subst);
    CU_ASSERT_STRING_EQUAL(wc_json_str(e, "p"), "codex");
    CU_ASSERT_STRING_EQUAL(wc_json_str(e, "s"), "${s1}");
    json_decref(e);
    json_decref(t);
    json_decref(subst);
    json_decref(vars);
}

/* Issue 18: "${s1}\0EVIL" keeps its NUL and what follows, in a template and in a pattern. */
static void test_interp_keeps_nul(void)
{
    json_t *vars = json_pack("{s:s}", "s1", "app-1");
    struct hn_scope sc = {.vars = vars};
    json_t *t = json_pack("{s:s%}", "id", "${s1}\0EVIL", (size_t)10);
    json_t *whole = json_pack("{s:s%}", "id", "app-1\0EVIL", (size_t)10);
    json_t *cut = json_pack("{s:s}", "id", "app-1");
    json_t *dollar = json_pack("{s:s%}", "id", "$s1\0x", (size_t)5);
    json_t *e = hn_expand(t, &sc, NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_TRUE(json_equal(e, whole));
    CU_ASSERT_TRUE(hn_match(t, whole, &sc, NULL));
    CU_ASSERT_FALSE(hn_match(t, cut, &sc, NULL));
    CU_ASSERT_FALSE(hn_match(whole, cut, &sc, NULL));
    /* "$s1" followed by a NUL is a literal, not a variable */
    json_decref(e);
    e = hn_expand(dollar, &sc, NULL);
    CU_ASSERT_TRUE(json_equal(e, dollar));
    CU_ASSERT_FALSE(hn_match(dollar, cut, &sc, NULL));
    json_decref(e);
    json_decref(dollar);
    json_decref(cut);
    json_decref(whole);
    json_decref(t);
    json_decref(vars);
}

static json_t *resolver(void *ctx, const char *name)
{
    int *calls = ctx;
    if (strncmp(name, "script.", 7))
        return NULL;
    (*calls)++;
    return json_sprintf("gwspec:{\"label\":\"%s\",\"run\":%d}", name + 7, *calls);
}

static void test_resolver(void)
{
    int calls = 0;
    json_t *vars = json_object();
    struct hn_scope sc = {.vars = vars, .resolve = resolver, .ctx = &calls};
    char *err = NULL;
    json_t *t = J("{\"content\":\"$script.s1\"}");
    json_t *e = hn_expand(t, &sc, &err);
    CU_ASSERT_STRING_EQUAL(wc_json_str(e, "content"), "gwspec:{\"label\":\"s1\",\"run\":1}");
    json_decref(e);
    e = hn_expand(t, &sc, &err);
    CU_ASSERT_STRING_EQUAL(wc_json_str(e, "content"), "gwspec:{\"label\":\"s1\",\"run\":2}");
    json_decref(e);
    json_decref(t);
    json_decref(vars);
}

static void test_json_path(void)
{
    json_t *v = J("{\"body\":{\"data\":{\"sessions\":[{\"id\":\"a\"},{\"id\":\"b\"}]}}}");
    CU_ASSERT_STRING_EQUAL(json_string_value(hn_json_path(v, "body.data.sessions.1.id")), "b");
    CU_ASSERT_PTR_NULL(hn_json_path(v, "body.nope"));
    CU_ASSERT_PTR_NULL(hn_json_path(v, "body.data.sessions.9"));
    CU_ASSERT_PTR_NULL(hn_json_path(v, "body.data.sessions.x"));
    json_decref(v);
    CU_ASSERT_TRUE(hn_var_name_valid("script.s1-second", 16));
    CU_ASSERT_FALSE(hn_var_name_valid("1abc", 4));
    CU_ASSERT_FALSE(hn_var_name_valid("a.", 2));
}

static void test_each_matches_every_element(void)
{
    CU_ASSERT_TRUE(ok("{\"$each\":{\"seq\":\"<absent>\"}}", "[{\"a\":1},{\"b\":2}]"));
    CU_ASSERT_TRUE(ok("{\"$each\":{\"seq\":\"<absent>\"}}", "[]"));
    CU_ASSERT_FALSE(ok("{\"$each\":\"<int>\"}", "{\"a\":1}"));
    expect_diff("{\"$each\":{\"seq\":\"<absent>\"}}", "[{\"a\":1},{\"seq\":2}]",
                "at [1].seq: expected the key to be absent, received 2");
}

static void test_distinct_values_at_a_key(void)
{
    CU_ASSERT_TRUE(ok("{\"$distinct\":\"id\"}", "[{\"id\":\"a\"},{\"id\":\"b\",\"x\":1}]"));
    CU_ASSERT_TRUE(ok("{\"$distinct\":\"id\"}", "[]"));
    CU_ASSERT_TRUE(ok("{\"$distinct\":\"id\"}", "[{\"id\":1},{\"id\":\"1\"}]"));
    CU_ASSERT_FALSE(ok("{\"$distinct\":\"id\"}", "{\"id\":1}"));
    expect_diff("{\"$distinct\":\"id\"}", "[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"a\"}]",
                "at [2].id: expected a value distinct from [0].id, received the same \"a\"");
    expect_diff("{\"$distinct\":\"id\"}", "[{\"id\":\"a\"},{\"x\":1}]",
                "at [1].id: expected a value (distinct), received nothing (key absent)");
}

static CU_TestInfo match_tests[] = {
    {"distinct_values_at_a_key", test_distinct_values_at_a_key},
    {"each_matches_every_element", test_each_matches_every_element},
    {"partial_objects", test_partial_objects},
    {"scalars_and_numbers", test_scalars_and_numbers},
    {"arrays", test_arrays},
    {"wildcards", test_wildcards},
    {"exact", test_exact},
    {"captures_and_vars", test_captures_and_vars},
    {"diff_text", test_diff_text},
    {"expand_and_interp", test_expand_and_interp},
    {"interp_keeps_nul", test_interp_keeps_nul},
    {"resolver", test_resolver},
    {"json_path", test_json_path},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_match_suites[] = {
    {.pName = "hn_match", .pTests = match_tests},
    CU_SUITE_INFO_NULL,
};
