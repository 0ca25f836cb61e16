/* test_budget.c: CUnit tests for harness/exec/budget.c (suite hn_budget). */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "exec/budget.h"

static void test_cost_of_each_node(void)
{
    json_t *s = json_string("abcd"), *o = json_object(), *a = json_array();

    CU_ASSERT_EQUAL(hn_json_cost(NULL), 0);
    CU_ASSERT_EQUAL(hn_json_cost(json_true()), 0); /* shared singletons */
    CU_ASSERT_EQUAL(hn_json_cost(json_null()), 0);
    CU_ASSERT(hn_json_cost(s) > 4);
    size_t eo = hn_json_cost(o), ea = hn_json_cost(a);
    CU_ASSERT(eo > 0 && ea > 0);
    json_object_set(o, "key", s);
    json_array_append(a, s);
    /* deep: the table, the key and the value; shallow: the table and the key only */
    CU_ASSERT(hn_json_cost(o) > eo + hn_json_cost(s) + 3);
    CU_ASSERT_EQUAL(hn_json_cost_shallow(o), hn_json_cost(o) - hn_json_cost(s));
    CU_ASSERT(hn_json_cost(a) > ea + hn_json_cost(s));
    CU_ASSERT_EQUAL(hn_json_cost_shallow(a), hn_json_cost(a) - hn_json_cost(s));
    CU_ASSERT_EQUAL(hn_json_cost_shallow(s), hn_json_cost(s));
    /* a longer string costs its bytes more */
    json_t *l = json_string("abcdefghijklmnopqrstuvwxyz");
    CU_ASSERT_EQUAL(hn_json_cost(l) - hn_json_cost(s), 22);
    json_decref(l);
    json_decref(s);
    json_decref(o);
    json_decref(a);
}

/* A record like on_message's: {t, conn, frame, binary, n, us} with a small parsed frame. */
static json_t *small_recv(int i)
{
    char b[64];
    int n = snprintf(b, sizeof(b), "{\"kind\":\"noise\",\"n\":%d}", i);
    json_t *v = json_loadb(b, (size_t)n, JSON_DECODE_ANY, NULL);
    return json_pack("{s:s, s:s, s:o, s:b, s:i, s:i}", "t", "recv", "conn", "c1", "frame", v,
                     "binary", 0, "n", i, "us", i * 10);
}

/* The estimate is near what malloc really hands out for such records (glibc; an allocator
 * that keeps no count, as under ASan, reports nothing and is not compared). */
static void test_cost_near_malloc(void)
{
    enum { N = 20000 };
    json_t *keep = json_array();
    size_t est = 0, before = mallinfo2().uordblks;

    for (int i = 0; i < N; i++) {
        json_t *r = small_recv(i);
        est += hn_json_cost(r);
        json_array_append_new(keep, r);
    }
    size_t used = mallinfo2().uordblks - before;
    if (used > 0) {
        double ratio = (double)est / (double)used;
        if (ratio < 0.75 || ratio > 1.3)
            fprintf(stderr, "estimate %zu, malloc %zu\n", est, used);
        CU_ASSERT(ratio >= 0.75 && ratio <= 1.3);
    }
    json_decref(keep);
}

static void test_charge_crosses_once(void)
{
    struct hn_budget b = {.max = 1000};

    CU_ASSERT_FALSE(hn_budget_charge(&b, 600));
    CU_ASSERT_FALSE(hn_budget_charge(&b, 400)); /* exactly at the cap is not over */
    CU_ASSERT_FALSE(b.over);
    CU_ASSERT_TRUE(hn_budget_charge(&b, 1));
    CU_ASSERT_TRUE(b.over);
    CU_ASSERT_FALSE(hn_budget_charge(&b, 5000)); /* said once */
    CU_ASSERT_EQUAL(b.held, 6001);

    struct hn_budget none = {.max = 0};
    CU_ASSERT_FALSE(hn_budget_charge(&none, (size_t)1 << 40));
    CU_ASSERT_FALSE(none.over);
}

static void test_frames_counted(void)
{
    struct hn_budget b = {.max = 10};

    hn_budget_frame(&b, 4);
    hn_budget_frame(&b, 0);
    hn_budget_frame(&b, 100);
    CU_ASSERT_EQUAL(b.frames, 3);
    CU_ASSERT_EQUAL(b.bytes, 104);
    CU_ASSERT_EQUAL(b.held, 0); /* counting is not holding */
}

static void test_parse_bytes(void)
{
    uint64_t v = 7;

    CU_ASSERT(hn_budget_parse_bytes("0", &v) && v == 0);
    CU_ASSERT(hn_budget_parse_bytes("123", &v) && v == 123);
    CU_ASSERT(hn_budget_parse_bytes("2k", &v) && v == 2048);
    CU_ASSERT(hn_budget_parse_bytes("128M", &v) && v == HN_MAX_CASE_BYTES_DEFAULT);
    CU_ASSERT(hn_budget_parse_bytes("3G", &v) && v == 3ull << 30);
    v = 7;
    const char *bad[] = {
        "",  "-1", "+1", " 1", "1T", "M", "1MB", "1.5M", "18446744073709551616", "17179869184G",
        NULL};
    for (int i = 0; bad[i]; i++) {
        CU_ASSERT_FALSE(hn_budget_parse_bytes(bad[i], &v));
        CU_ASSERT_EQUAL(v, 7);
    }
    CU_ASSERT_FALSE(hn_budget_parse_bytes(NULL, &v));
}

/* records 1..n: a connect note, then frames (recv, some pings), then a close */
static json_t *flood_records(int n)
{
    json_t *a = json_array();
    for (int i = 1; i <= n; i++) {
        const char *t = i == 1 ? "open" : i == n ? "close" : i % 10 == 0 ? "ping" : "recv";
        json_array_append_new(a, json_pack("{s:s, s:i, s:i}", "t", t, "n", i, "us", 10 * i));
    }
    return a;
}

static json_int_t n_of(const json_t *arr, size_t i)
{
    return json_integer_value(json_object_get(json_array_get(arr, i), "n"));
}

static void test_trim_keeps_head_tail_witnesses(void)
{
    json_t *recs = flood_records(100); /* 98 target frames: records 2..99 */
    json_t *fails =
        json_pack("[{s:[i]}, {s:[{s:[i, i]}]}]", "witness", 50, "alternatives", "witness", 60, 1);
    json_t *kept = hn_budget_trim(recs, fails, 3, 2);

    /* open, 2 3 4, note(5..49), 50, note(51..59), 60, note(61..97), 98 99, close */
    static const struct {
        const char *t;
        json_int_t n;
    } want[] = {{"open", 1},  {"recv", 2},  {"recv", 3},  {"recv", 4},
                {"note", 5},  {"ping", 50}, {"note", 51}, {"ping", 60},
                {"note", 61}, {"recv", 98}, {"recv", 99}, {"close", 100}};
    CU_ASSERT_EQUAL_FATAL(json_array_size(kept), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(kept, i), "t")),
                               want[i].t);
        CU_ASSERT_EQUAL(n_of(kept, i), want[i].n);
    }
    const char *text = json_string_value(json_object_get(json_array_get(kept, 4), "text"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "records 5 to 49 (45 of the target's frames)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "--max-case-bytes"));
    /* kept records are the transcript's own */
    CU_ASSERT_PTR_EQUAL(json_array_get(kept, 5), json_array_get(recs, 49));
    json_decref(kept);

    /* head and tail cover everything: nothing is left out */
    kept = hn_budget_trim(recs, NULL, 50, 50);
    CU_ASSERT_TRUE(json_equal(kept, recs));
    json_decref(kept);
    /* a gap that runs to the end of the records still gets its note */
    json_array_remove(recs, 99); /* no close */
    kept = hn_budget_trim(recs, NULL, 1, 0);
    CU_ASSERT_EQUAL(json_array_size(kept), 3); /* open, 2, note(3..99) */
    CU_ASSERT_EQUAL(n_of(kept, 2), 3);
    json_decref(kept);
    json_decref(fails);
    json_decref(recs);
}

static CU_TestInfo budget_tests[] = {
    {"the cost of each kind of node, deep and shallow", test_cost_of_each_node},
    {"the estimate is near what malloc hands out", test_cost_near_malloc},
    {"a charge past the cap is said once", test_charge_crosses_once},
    {"frames are counted apart from what is held", test_frames_counted},
    {"byte counts with K, M, G; bad ones refused", test_parse_bytes},
    {"an over-cap report keeps head, tail and every witness", test_trim_keeps_head_tail_witnesses},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_budget_suites[] = {
    {"hn_budget", NULL, NULL, NULL, NULL, budget_tests},
    CU_SUITE_INFO_NULL,
};
