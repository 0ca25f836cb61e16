/* test_policy.c: rc_retry_delay, the claude-remote/1 reconnect policy (CR-RETRY-1 ... 5). */
#include <CUnit/CUnit.h>

#include "policy.h"
#include "wc_banned.h"

static int64_t d(int code, bool was_open, bool own, unsigned streak, enum rc_mutant m)
{
    struct rc_close c = {.code = code, .was_open = was_open, .own_close = own, .streak = streak};
    return rc_retry_delay(&c, m);
}

static void test_4003_permanent(void)
{
    CU_ASSERT_EQUAL(d(4003, true, false, 0, RC_MUT_NONE), -1);
    CU_ASSERT_EQUAL(d(4003, true, false, 0, RC_MUT_RETRY_AFTER_4003), 2000);
}

static void test_4001_three_growing(void)
{
    CU_ASSERT_EQUAL(d(4001, true, false, 1, RC_MUT_NONE), 2000);
    CU_ASSERT_EQUAL(d(4001, true, false, 2, RC_MUT_NONE), 4000);
    CU_ASSERT_EQUAL(d(4001, true, false, 3, RC_MUT_NONE), 6000);
    CU_ASSERT_EQUAL(d(4001, true, false, 4, RC_MUT_NONE), -1);
    CU_ASSERT_EQUAL(d(4001, true, false, 9, RC_MUT_NONE), -1);
    /* the mutants */
    CU_ASSERT_EQUAL(d(4001, true, false, 4, RC_MUT_RETRY_4001_FOREVER), 8000);
    CU_ASSERT_EQUAL(d(4001, true, false, 9, RC_MUT_RETRY_4001_FOREVER), 18000);
    CU_ASSERT_EQUAL(d(4001, true, false, 2, RC_MUT_RETRY_4001_NO_BACKOFF), 2000);
    CU_ASSERT_EQUAL(d(4001, true, false, 3, RC_MUT_RETRY_4001_NO_BACKOFF), 2000);
    CU_ASSERT_EQUAL(d(4001, true, false, 4, RC_MUT_RETRY_4001_NO_BACKOFF), -1);
}

static void test_other_codes_once_if_open(void)
{
    static const int codes[] = {1000, 1001, 1002, 1005, 1006, 1011, 4000, 4002, 4999};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        CU_ASSERT_EQUAL(d(codes[i], true, false, 0, RC_MUT_NONE), 2000);
        CU_ASSERT_EQUAL(d(codes[i], false, false, 0, RC_MUT_NONE), -1);
        CU_ASSERT_EQUAL(d(codes[i], true, false, 0, RC_MUT_RETRY_DROP_NO_DELAY), 0);
        CU_ASSERT_EQUAL(d(codes[i], false, false, 0, RC_MUT_RETRY_NEVER_OPENED), 2000);
    }
    /* never opened wins over every code */
    CU_ASSERT_EQUAL(d(4001, false, false, 1, RC_MUT_NONE), -1);
    CU_ASSERT_EQUAL(d(4003, false, false, 0, RC_MUT_NONE), -1);
}

static void test_own_close(void)
{
    CU_ASSERT_EQUAL(d(1000, true, true, 0, RC_MUT_NONE), -1);
    CU_ASSERT_EQUAL(d(1006, true, true, 0, RC_MUT_NONE), -1);
    CU_ASSERT_EQUAL(d(1000, false, true, 0, RC_MUT_NONE), -1);
    CU_ASSERT_EQUAL(d(1000, true, true, 0, RC_MUT_RETRY_AFTER_OWN_CLOSE), 2000);
}

/* Every mutant that is not a reconnect mutant leaves the policy alone. */
static void test_other_mutants_neutral(void)
{
    static const enum rc_mutant neutral[] = {
        RC_MUT_NO_PING,           RC_MUT_SILENT_UNKNOWN_SUBTYPE, RC_MUT_ANSWER_CANCELLED,
        RC_MUT_DOUBLE_ANSWER,     RC_MUT_REUSED_REQUEST_ID,      RC_MUT_CONTROL_WHILE_DISCONNECTED,
        RC_MUT_DEAF_AFTER_RESULT, RC_MUT_ECHO_RENDERED_TWICE,    RC_MUT_CLOSE_ON_BAD_FRAME};
    for (size_t i = 0; i < sizeof(neutral) / sizeof(neutral[0]); i++) {
        CU_ASSERT_EQUAL(d(4003, true, false, 0, neutral[i]), -1);
        CU_ASSERT_EQUAL(d(4001, true, false, 2, neutral[i]), 4000);
        CU_ASSERT_EQUAL(d(4001, true, false, 4, neutral[i]), -1);
        CU_ASSERT_EQUAL(d(1006, true, false, 0, neutral[i]), 2000);
        CU_ASSERT_EQUAL(d(1006, false, false, 0, neutral[i]), -1);
        CU_ASSERT_EQUAL(d(1000, true, true, 0, neutral[i]), -1);
    }
}

static CU_TestInfo tests[] = {
    {"4003 is permanent", test_4003_permanent},
    {"4001: 3 retries at 2, 4, 6 s", test_4001_three_growing},
    {"other codes: one retry at 2 s, only if open", test_other_codes_once_if_open},
    {"no retry after the client's own close", test_own_close},
    {"the other mutants leave the policy alone", test_other_mutants_neutral},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo rc_policy_suites[] = {
    {"rc_policy", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
