/* harness/tests/test_diff.c: hn_diff_cases grades changes and orders them by case id. */
#include <string.h>

#include <CUnit/CUnit.h>

#include "cmd/cmd_diff.h"
#include "wc_json.h"

static json_t *cases(const char *text)
{
    json_t *c = json_loads(text, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(c);
    return c;
}

static const char *field(json_t *changes, size_t i, const char *key)
{
    const char *s = wc_json_str(json_array_get(changes, i), key);
    return s ? s : "(null)";
}

static bool worse(json_t *changes, size_t i)
{
    return json_is_true(json_object_get(json_array_get(changes, i), "worse"));
}

static void test_diff_grades_and_order(void)
{
    json_t *a = cases("{\"1.2.10-x\": {\"verdict\": \"OK\", \"requirements\": []},"
                      " \"1.2.9-y\": {\"verdict\": \"FAILED\", \"requirements\": [\"R-SEQ-1\"]},"
                      " \"2.1.1-z\": {\"verdict\": \"FAILED\", \"requirements\": [\"R-TERM-1\"]},"
                      " \"3.1.1-gone\": {\"verdict\": \"OK\"},"
                      " \"4.1.1-same\": {\"verdict\": \"OK\"},"
                      " \"5.1.1-known\": {\"verdict\": \"FAILED\", \"known\": false}}");
    json_t *b =
        cases("{\"1.2.10-x\": {\"verdict\": \"NON-STRICT\", \"requirements\": [\"R-LIMIT-1\"]},"
              " \"1.2.9-y\": {\"verdict\": \"OK\", \"requirements\": []},"
              " \"2.1.1-z\": {\"verdict\": \"FAILED\", \"known\": true,"
              " \"requirements\": [\"R-TERM-1\"]},"
              " \"4.1.1-same\": {\"verdict\": \"OK\"},"
              " \"5.1.1-known\": {\"verdict\": \"FAILED\", \"known\": false},"
              " \"6.1.1-new\": {\"verdict\": \"ERROR\"}}");
    json_t *d = hn_diff_cases(a, b);

    CU_ASSERT_EQUAL_FATAL(json_array_size(d), 5);
    /* natural id order: 1.2.9 before 1.2.10 */
    CU_ASSERT_STRING_EQUAL(field(d, 0, "id"), "1.2.9-y");
    CU_ASSERT_STRING_EQUAL(field(d, 0, "new"), "OK");
    CU_ASSERT_FALSE(worse(d, 0));
    /* a case that got better names the requirements that failed before */
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_array_get(json_object_get(json_array_get(d, 0), "requirements"), 0)),
        "R-SEQ-1");
    CU_ASSERT_STRING_EQUAL(field(d, 1, "id"), "1.2.10-x");
    CU_ASSERT_TRUE(worse(d, 1));
    /* FAILED -> FAILED (known) is a change, and not worse */
    CU_ASSERT_STRING_EQUAL(field(d, 2, "new"), "FAILED (known)");
    CU_ASSERT_FALSE(worse(d, 2));
    /* a case that is gone is worse; a new one is not */
    CU_ASSERT_STRING_EQUAL(field(d, 3, "id"), "3.1.1-gone");
    CU_ASSERT_TRUE(json_is_null(json_object_get(json_array_get(d, 3), "new")));
    CU_ASSERT_TRUE(worse(d, 3));
    CU_ASSERT_STRING_EQUAL(field(d, 4, "id"), "6.1.1-new");
    CU_ASSERT_STRING_EQUAL(field(d, 4, "old"), "(null)");
    CU_ASSERT_FALSE(worse(d, 4));
    json_decref(d);

    d = hn_diff_cases(a, a);
    CU_ASSERT_EQUAL(json_array_size(d), 0);
    json_decref(d);
    json_decref(a);
    json_decref(b);
}

static CU_TestInfo diff_tests[] = {
    {"grades_and_order", test_diff_grades_and_order},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_diff_suites[] = {
    {.pName = "hn_diff", .pTests = diff_tests},
    CU_SUITE_INFO_NULL,
};
