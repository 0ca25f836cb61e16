/* lib/tests/test_json.c: canonical text, timestamps and the seeded PRNG. */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "wc_json.h"
#include "wc_rand.h"
#include "wc_time.h"

static void test_json_canon_sorts_keys(void)
{
    json_t *v = json_pack("{s:i,s:s}", "z", 1, "a", "x");
    char *s = wc_json_canon(v);
    CU_ASSERT_STRING_EQUAL(s, "{\"a\":\"x\",\"z\":1}");
    free(s);
    json_decref(v);
}

static void test_json_iso8601_shapes(void)
{
    char now[32];
    wc_iso8601_now(now, sizeof(now));
    CU_ASSERT_TRUE(wc_is_iso8601(now));
    CU_ASSERT_TRUE(wc_is_iso8601("2026-06-10T12:00:00Z"));
    CU_ASSERT_FALSE(wc_is_iso8601("2026-06-10 12:00:00Z"));
    CU_ASSERT_FALSE(wc_is_iso8601("2026-06-10T12:00:00.Z"));
    CU_ASSERT_FALSE(wc_is_iso8601(NULL));
}

static void test_json_rand_is_reproducible(void)
{
    struct wc_rand a, b;
    char ua[37], ub[37];
    wc_rand_init(&a, 42);
    wc_rand_init(&b, 42);
    wc_rand_uuid(&a, ua);
    wc_rand_uuid(&b, ub);
    CU_ASSERT_STRING_EQUAL(ua, ub);
    CU_ASSERT_EQUAL(strlen(ua), 36);
    CU_ASSERT_EQUAL(ua[14], '4');
}

static void test_json_int_accepts_integral_reals(void)
{
    json_t *v = json_pack("{s:f,s:f,s:s}", "a", 3.0, "b", 2.5, "c", "3");
    int64_t out;
    CU_ASSERT_TRUE(wc_json_int(v, "a", &out));
    CU_ASSERT_EQUAL(out, 3);
    CU_ASSERT_FALSE(wc_json_int(v, "b", &out));
    CU_ASSERT_FALSE(wc_json_int(v, "c", &out));
    json_decref(v);
}

static CU_TestInfo json_tests[] = {
    {"canon_sorts_keys", test_json_canon_sorts_keys},
    {"iso8601_shapes", test_json_iso8601_shapes},
    {"rand_is_reproducible", test_json_rand_is_reproducible},
    {"int_accepts_integral_reals", test_json_int_accepts_integral_reals},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo wc_json_suites[] = {
    {"wc_json", NULL, NULL, NULL, NULL, json_tests},
    CU_SUITE_INFO_NULL,
};
