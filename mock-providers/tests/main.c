/* mock-providers/tests/main.c: CUnit runner for the mock provider layer; non-zero on failure. */
#include <stdio.h>

#include <CUnit/Basic.h>

extern CU_SuiteInfo mp_script_suites[];
extern CU_SuiteInfo mp_directive_suites[];
extern CU_SuiteInfo mp_runtime_suites[];
extern CU_SuiteInfo mp_personas_suites[];
extern CU_SuiteInfo mp_cli_suites[];

int main(void)
{
    CU_SuiteInfo *tables[] = {mp_script_suites, mp_directive_suites, mp_runtime_suites,
                              mp_personas_suites, mp_cli_suites};
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
