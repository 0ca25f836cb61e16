/* reference-server/tests/main.c: CUnit runner for the reference gateway; non-zero on failure. */
#include <stdio.h>

#include <CUnit/Basic.h>

#include "wc_log.h"

extern CU_SuiteInfo gw_writer_suites[];
extern CU_SuiteInfo gw_registry_suites[];
extern CU_SuiteInfo gw_protocol_suites[];
extern CU_SuiteInfo gw_store_suites[];
extern CU_SuiteInfo gw_users_suites[];
extern CU_SuiteInfo gw_rest_suites[];
extern CU_SuiteInfo gw_mutants_suites[];
extern CU_SuiteInfo gw_e2e_suites[];
extern CU_SuiteInfo gw_mock_suites[];
extern CU_SuiteInfo gw_flow_suites[];
extern CU_SuiteInfo gw_dispatch_suites[];

int main(void)
{
    CU_SuiteInfo *tables[] = {gw_writer_suites,  gw_registry_suites, gw_protocol_suites,
                              gw_store_suites,   gw_users_suites,    gw_rest_suites,
                              gw_mutants_suites, gw_e2e_suites,      gw_mock_suites,
                              gw_flow_suites,    gw_dispatch_suites};
    unsigned failures, suites_failed;

    setvbuf(stdout, NULL, _IOLBF, 0);
    wc_log_setup("test-reference-server", WC_LOG_ERROR);
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
