/* lib/tests/test_buf.c: wc_buf invariants and the size cap. */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "wc_buf.h"
#include "wc_err.h"
#include "wc_mem.h"

static void test_buf_empty_is_nul_terminated(void)
{
    struct wc_buf b;
    wc_buf_init(&b, 0);
    CU_ASSERT_PTR_NOT_NULL(b.buf);
    CU_ASSERT_EQUAL(b.buf[0], '\0');
    CU_ASSERT_EQUAL(b.len, 0);
    wc_buf_release(&b);
}

static void test_buf_addf_grows_past_initial_alloc(void)
{
    struct wc_buf b;
    wc_buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(wc_buf_addf(&b, "%d,", i % 10), WC_OK);
    CU_ASSERT_EQUAL(b.len, 2000);
    CU_ASSERT_EQUAL(b.buf[b.len], '\0');
    CU_ASSERT_EQUAL(strncmp(b.buf, "0,1,2,", 6), 0);
    wc_buf_release(&b);
}

static void test_buf_cap_refuses_and_keeps_contents(void)
{
    struct wc_buf b;
    wc_buf_init(&b, 8);
    CU_ASSERT_EQUAL(wc_buf_adds(&b, "12345678"), WC_OK);
    CU_ASSERT_EQUAL(wc_buf_adds(&b, "9"), WC_ERR_TOO_BIG);
    CU_ASSERT_EQUAL(b.len, 8);
    CU_ASSERT_STRING_EQUAL(b.buf, "12345678");
    wc_buf_release(&b);
}

static void test_buf_consume_and_detach(void)
{
    struct wc_buf b;
    size_t len;
    wc_buf_init(&b, 0);
    wc_buf_adds(&b, "line1\nline2");
    wc_buf_consume(&b, 6);
    CU_ASSERT_STRING_EQUAL(b.buf, "line2");
    char *p = wc_buf_detach(&b, &len);
    CU_ASSERT_EQUAL(len, 5);
    CU_ASSERT_STRING_EQUAL(p, "line2");
    CU_ASSERT_EQUAL(b.len, 0);
    free(p);
    wc_buf_release(&b);
}

static CU_TestInfo buf_tests[] = {
    {"empty_is_nul_terminated", test_buf_empty_is_nul_terminated},
    {"addf_grows_past_initial_alloc", test_buf_addf_grows_past_initial_alloc},
    {"cap_refuses_and_keeps_contents", test_buf_cap_refuses_and_keeps_contents},
    {"consume_and_detach", test_buf_consume_and_detach},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo wc_buf_suites[] = {
    {"wc_buf", NULL, NULL, NULL, NULL, buf_tests},
    CU_SUITE_INFO_NULL,
};
