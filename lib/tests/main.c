/* lib/tests/main.c: CUnit runner for the lib layer; exits non-zero on any failure. */
#include <stdio.h>

#include <CUnit/Basic.h>

extern CU_SuiteInfo wc_buf_suites[];
extern CU_SuiteInfo wc_yaml_suites[];
extern CU_SuiteInfo wc_json_suites[];
extern CU_SuiteInfo wc_io_suites[];

int main(void)
{
    CU_SuiteInfo *tables[] = {wc_buf_suites, wc_yaml_suites, wc_json_suites, wc_io_suites};
    unsigned failures, suites_failed;

    setvbuf(stdout, NULL, _IOLBF, 0);
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
