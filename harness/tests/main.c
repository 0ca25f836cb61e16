/* harness/tests/main.c: CUnit runner for the harness layer; exits non-zero on any failure. */
#include <stdio.h>

#include <stdbool.h>
#include <string.h>

#include <CUnit/Basic.h>

/* model/, exec/, cmd/ */
extern CU_SuiteInfo hn_scenario_suites[];
extern CU_SuiteInfo hn_steps_suites[];
extern CU_SuiteInfo hn_match_suites[];
extern CU_SuiteInfo hn_casedir_suites[];
extern CU_SuiteInfo hn_diff_suites[];
extern CU_SuiteInfo hn_runner_suites[];
extern CU_SuiteInfo hn_target_suites[];
extern CU_SuiteInfo hn_reap_suites[];
extern CU_SuiteInfo hn_ws_suites[];
extern CU_SuiteInfo hn_http_suites[];
extern CU_SuiteInfo hn_control_suites[];
extern CU_SuiteInfo hn_net_suites[];
extern CU_SuiteInfo hn_run_suites[];
extern CU_SuiteInfo hn_cmd_suites[];
extern CU_SuiteInfo hn_budget_suites[];
/* check/, report/, replay/ */
extern CU_SuiteInfo hn_transcript_suites[];
extern CU_SuiteInfo hn_invariant_suites[];
extern CU_SuiteInfo hn_msgcat_suites[];
extern CU_SuiteInfo hn_verdict_suites[];
extern CU_SuiteInfo hn_report_suites[];
extern CU_SuiteInfo hn_replay_suites[];
extern CU_SuiteInfo hn_record_suites[];
extern CU_SuiteInfo hn_coverage_suites[];
extern CU_SuiteInfo hn_dispatch_suites[];
extern CU_SuiteInfo hn_serve_suites[];
extern CU_SuiteInfo hn_claude_remote_suites[];
extern CU_SuiteInfo hn_claude_control_suites[];
extern CU_SuiteInfo hn_live_suites[];

/* With arguments, only the suites named ("hn_report", "hn_verdict"): one module's tests. */
int main(int argc, char **argv)
{
    CU_SuiteInfo *tables[] = {
        hn_match_suites,      hn_scenario_suites,      hn_casedir_suites,        hn_runner_suites,
        hn_transcript_suites, hn_invariant_suites,     hn_msgcat_suites,         hn_verdict_suites,
        hn_report_suites,     hn_replay_suites,        hn_diff_suites,           hn_target_suites,
        hn_coverage_suites,   hn_reap_suites,          hn_steps_suites,          hn_ws_suites,
        hn_http_suites,       hn_record_suites,        hn_control_suites,        hn_net_suites,
        hn_run_suites,        hn_cmd_suites,           hn_budget_suites,         hn_dispatch_suites,
        hn_serve_suites,      hn_claude_remote_suites, hn_claude_control_suites, hn_live_suites,
    };
    unsigned failures, suites_failed;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        for (CU_SuiteInfo *s = tables[i]; s->pName; s++) {
            bool named = argc < 2;
            for (int a = 1; a < argc && !named; a++)
                named = !strcmp(argv[a], s->pName);
            CU_SuiteInfo one[2] = {*s, CU_SUITE_INFO_NULL};
            if (named && CU_register_suites(one) != CUE_SUCCESS)
                return 2;
        }
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures();
    suites_failed = CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return (failures || suites_failed) ? 1 : 0;
}
