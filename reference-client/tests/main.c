/* reference-client/tests/main.c: CUnit runner for the reference client; non-zero on failure. */
#include <stdio.h>

#include <CUnit/Basic.h>

#include "wc_log.h"

extern CU_SuiteInfo rc_policy_suites[];
extern CU_SuiteInfo rc_book_suites[];
extern CU_SuiteInfo rc_session_suites[];
extern CU_SuiteInfo rc_mutant_suites[];
extern CU_SuiteInfo rc_control_suites[];

int main(void)
{
    CU_SuiteInfo *tables[] = {rc_policy_suites, rc_book_suites, rc_session_suites, rc_mutant_suites,
                              rc_control_suites};
    unsigned failures, suites_failed;

    setvbuf(stdout, NULL, _IOLBF, 0);
    wc_log_setup("test-reference-client", WC_LOG_ERROR);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        if (CU_register_suites(tables[i]) != CUE_SUCCESS)
            return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures();
    suites_failed = CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return (failures || suites_failed) ? 1 : 0;
}
