/*
 * testutil.h: helpers the harness's test files share (not a suite).
 */
#ifndef HN_TESTUTIL_H
#define HN_TESTUTIL_H

#include <stdbool.h>

/* True once pid is gone or a zombie (killed; its new parent may not have reaped it yet). */
bool hn_test_pid_dead(long pid);

#endif
