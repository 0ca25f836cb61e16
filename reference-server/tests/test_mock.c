/* test_mock.c: the in-process mock provider's checks that need no event loop. */
#include <stdbool.h>

#include <CUnit/CUnit.h>

#include "../provider_mock.h"

#include "wc_banned.h"

/* Issue 18: a prompt's directive must not make the gateway connect anywhere but loopback. */
static void test_mock_ctl_loopback_only(void)
{
    static const char *const yes[] = {"127.0.0.1",        "127.1.2.3", "127.255.255.254", "::1",
                                      "::ffff:127.0.0.1", "localhost", "LocalHost",       NULL};
    static const char *const no[] = {"10.0.0.1",
                                     "192.0.2.1",
                                     "0.0.0.0",
                                     "128.0.0.1",
                                     "126.255.255.255",
                                     "::",
                                     "::2",
                                     "fe80::1",
                                     "::ffff:10.0.0.1",
                                     "example.com",
                                     "localhost.",
                                     "127.0.0.1x",
                                     "localhost.example.com",
                                     "",
                                     NULL};

    for (size_t i = 0; yes[i]; i++)
        CU_ASSERT_TRUE(gw_mock_ctl_allowed(yes[i], NULL));
    for (size_t i = 0; no[i]; i++)
        CU_ASSERT_FALSE(gw_mock_ctl_allowed(no[i], NULL));
    CU_ASSERT_FALSE(gw_mock_ctl_allowed(NULL, "10.0.0.1"));
}

static void test_mock_ctl_allow_list(void)
{
    const char *allow = "10.0.0.1,Build.Example,[fd00::1],::2";

    CU_ASSERT_TRUE(gw_mock_ctl_allowed("10.0.0.1", allow));
    CU_ASSERT_TRUE(gw_mock_ctl_allowed("build.example", allow));
    CU_ASSERT_TRUE(gw_mock_ctl_allowed("fd00::1", allow));
    CU_ASSERT_TRUE(gw_mock_ctl_allowed("::2", allow));
    CU_ASSERT_TRUE(gw_mock_ctl_allowed("127.0.0.1", allow)); /* loopback stays allowed */
    CU_ASSERT_FALSE(gw_mock_ctl_allowed("10.0.0.10", allow));
    CU_ASSERT_FALSE(gw_mock_ctl_allowed("10.0.0.", allow));
    CU_ASSERT_FALSE(gw_mock_ctl_allowed("example", allow));
    CU_ASSERT_FALSE(gw_mock_ctl_allowed("", ","));
    CU_ASSERT_FALSE(gw_mock_ctl_allowed("10.0.0.2", ""));
}

static CU_TestInfo mock_tests[] = {
    {"ctl_loopback_only", test_mock_ctl_loopback_only},
    {"ctl_allow_list", test_mock_ctl_allow_list},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo gw_mock_suites[] = {
    {.pName = "gw_mock", .pTests = mock_tests},
    CU_SUITE_INFO_NULL,
};
