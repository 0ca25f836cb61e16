/* test_users.c: users, tokens and the token check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../mutants.h"
#include "../users.h"
#include "wc_err.h"
#include "wc_log.h"

#include "wc_banned.h"

static void test_users_authenticate_query_and_header(void)
{
    struct gw_users *u = gw_users_new();
    bool present;

    wc_log_setup("test-reference-server", WC_LOG_QUIET); /* the bad specs log errors */
    CU_ASSERT_EQUAL(gw_users_add_spec(u, "alice:t1"), 0);
    CU_ASSERT_EQUAL(gw_users_add_spec(u, "bob:t:2"), 0);
    CU_ASSERT_NOT_EQUAL(gw_users_add_spec(u, "nocolon"), 0);
    CU_ASSERT_NOT_EQUAL(gw_users_add_spec(u, ":x"), 0);
    CU_ASSERT_NOT_EQUAL(gw_users_add_spec(u, "dave:"), 0);    /* empty secret */
    CU_ASSERT_NOT_EQUAL(gw_users_add_spec(u, "carol:t1"), 0); /* token used twice */
    wc_log_setup("test-reference-server", WC_LOG_ERROR);
    CU_ASSERT_STRING_EQUAL(gw_users_authenticate(u, "t1", NULL, &present), "alice");
    CU_ASSERT_TRUE(present);
    CU_ASSERT_STRING_EQUAL(gw_users_authenticate(u, NULL, "Bearer t:2", &present), "bob");
    /* The scheme is not checked (CloudCLI takes the second word). */
    CU_ASSERT_STRING_EQUAL(gw_users_authenticate(u, NULL, "Token t1", &present), "alice");
    /* ?token= wins over the header. */
    CU_ASSERT_PTR_NULL(gw_users_authenticate(u, "bad", "Bearer t1", &present));
    CU_ASSERT_TRUE(present);
    CU_ASSERT_PTR_NULL(gw_users_authenticate(u, NULL, NULL, &present));
    CU_ASSERT_FALSE(present);
    CU_ASSERT_PTR_NULL(gw_users_authenticate(u, NULL, "Bearer", &present));
    CU_ASSERT_TRUE(present);
    CU_ASSERT_PTR_NULL(gw_users_authenticate(u, "", NULL, &present));
    CU_ASSERT_FALSE(present);
    gw_mutant_force(GW_MUT_NO_AUTH);
    CU_ASSERT_STRING_EQUAL(gw_users_authenticate(u, "bad", NULL, &present), "alice");
    gw_mutant_force(GW_MUT_NONE);
    gw_users_free(u);
}

static void test_users_load_file(void)
{
    char path[] = "/tmp/gw-users-XXXXXX";
    int fd = mkstemp(path);
    struct gw_users *u = gw_users_new();
    char *err = NULL;
    bool present;
    FILE *f;

    CU_ASSERT_FATAL(fd >= 0);
    f = fdopen(fd, "w");
    fputs("users:\n  - {name: alice, token: s3cret}\n  - name: bob\n    token: b0b\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(gw_users_load_file(u, path, &err), 0);
    CU_ASSERT_EQUAL(gw_users_count(u), 2);
    CU_ASSERT_STRING_EQUAL(gw_users_authenticate(u, "b0b", NULL, &present), "bob");
    f = fopen(path, "w");
    fputs("users:\n  - {name: carol}\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(gw_users_load_file(u, path, &err), WC_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2:"));
    free(err);
    unlink(path);
    gw_users_free(u);
}

static CU_TestInfo users_tests[] = {
    {"authenticate_query_and_header", test_users_authenticate_query_and_header},
    {"load_file", test_users_load_file},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo gw_users_suites[] = {
    {.pName = "gw_users", .pTests = users_tests},
    CU_SUITE_INFO_NULL,
};
