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
    CU_ASSERT(hn_budget_parse_bytes("64M", &v) && v == HN_MAX_CASE_BYTES_DEFAULT);
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

static CU_TestInfo budget_tests[] = {
    {"the cost of each kind of node, deep and shallow", test_cost_of_each_node},
    {"the estimate is near what malloc hands out", test_cost_near_malloc},
    {"a charge past the cap is said once", test_charge_crosses_once},
    {"frames are counted apart from what is held", test_frames_counted},
    {"byte counts with K, M, G; bad ones refused", test_parse_bytes},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_budget_suites[] = {
    {"hn_budget", NULL, NULL, NULL, NULL, budget_tests},
    CU_SUITE_INFO_NULL,
};
