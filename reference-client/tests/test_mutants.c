/*
 * test_mutants.c: every mutant of mutants.h changes what the client does on the wire or on the
 * control channel, in the way its name says, in a scenario a case of the suite can play (fake
 * I/O, fake.h). Each scenario returns one observable number; the test asserts its value for the
 * reference and for the mutant. A mutant without a scenario fails the coverage test.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "fake.h"
#include "mutants.h"
#include "policy.h"
#include "wc_banned.h"

#define CAN_USE(id)                                                                                \
    "{\"type\":\"control_request\",\"request_id\":\"" id "\",\"request\":{\"subtype\":"            \
    "\"can_use_tool\",\"tool_name\":\"Bash\",\"input\":{}}}"
#define FROB(id)                                                                                   \
    "{\"type\":\"control_request\",\"request_id\":\"" id "\",\"request\":{\"subtype\":"            \
    "\"frobnicate\"}}"

/* close 4003: the armed reconnect delay, -1 when it gave up */
static int64_t sc_4003(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;

    rc_session_closed(f->s, 4003);
    v = f->timer[RC_TIMER_RECONNECT];
    fake_free(f);
    return v;
}

/* 4001 on every connection: the attempts made before it gives up (at most 11: 10 closes) */
static int64_t sc_4001_attempts(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;

    for (int i = 0; i < 10 && rc_session_state(f->s) == RC_ST_OPEN; i++) {
        rc_session_closed(f->s, 4001);
        if (f->timer[RC_TIMER_RECONNECT] >= 0) {
            fake_fire(f, RC_TIMER_RECONNECT);
            rc_session_opened(f->s);
        }
    }
    v = rc_session_attempts(f->s);
    fake_free(f);
    return v;
}

/* 4001 twice: the second delay */
static int64_t sc_4001_second_delay(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;

    rc_session_closed(f->s, 4001);
    fake_fire(f, RC_TIMER_RECONNECT);
    rc_session_opened(f->s);
    rc_session_closed(f->s, 4001);
    v = f->timer[RC_TIMER_RECONNECT];
    fake_free(f);
    return v;
}

/* the first attempt fails before the open: the attempts made within 5 failures */
static int64_t sc_never_opened(enum rc_mutant m)
{
    struct fake *f = fake_new(m, 1);
    int64_t v;

    rc_session_start(f->s);
    for (int i = 0; i < 5; i++) {
        rc_session_closed(f->s, 1006);
        if (f->timer[RC_TIMER_RECONNECT] >= 0)
            fake_fire(f, RC_TIMER_RECONNECT);
    }
    v = fake_count(f, "connect");
    fake_free(f);
    return v;
}

/* a drop of an open socket: the delay */
static int64_t sc_drop(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;

    rc_session_closed(f->s, 1006);
    v = f->timer[RC_TIMER_RECONNECT];
    fake_free(f);
    return v;
}

/* the close act: connection attempts after it */
static int64_t sc_own_close(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;

    fake_act(f, 1, "{\"close\":{}}");
    rc_session_closed(f->s, 1000);
    if (f->timer[RC_TIMER_RECONNECT] >= 0)
        fake_fire(f, RC_TIMER_RECONNECT);
    v = (int64_t)fake_count(f, "connect") - 1;
    fake_free(f);
    return v;
}

/* open, then 3 ping intervals: pings sent */
static int64_t sc_ping(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;

    for (int i = 0; i < 3; i++) {
        if (f->timer[RC_TIMER_PING] >= 0)
            fake_fire(f, RC_TIMER_PING);
    }
    v = fake_count(f, "ping");
    fake_free(f);
    return v;
}

/* frobnicate: answers sent */
static int64_t sc_unknown(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;

    fake_frame(f, FROB("x1"));
    v = fake_count_sub(f, "send ", "Unsupported control request subtype: frobnicate");
    fake_free(f);
    return v;
}

/* can_use_tool, cancel, then the user answers: control_responses for the id */
static int64_t sc_cancelled(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;

    fake_frame(f, CAN_USE("r1"));
    fake_frame(f, "{\"type\":\"control_cancel_request\",\"request_id\":\"r1\"}");
    fake_act(f, 1, "{\"answer_permission\":\"allow\"}");
    v = fake_count_sub(f, "send ", "\"request_id\":\"r1\"");
    fake_free(f);
    return v;
}

/* can_use_tool answered once: control_responses for the id */
static int64_t sc_double(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;

    fake_frame(f, CAN_USE("r1"));
    fake_act(f, 1, "{\"answer_permission\":\"allow\"}");
    v = fake_count_sub(f, "send ", "\"request_id\":\"r1\"");
    fake_free(f);
    return v;
}

/* two interrupts: 1 when their request_ids are equal */
static int64_t sc_reused(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    json_t *sent;
    int64_t v;

    fake_act(f, 1, "{\"interrupt\":{}}");
    fake_act(f, 2, "{\"interrupt\":{}}");
    sent = fake_sent(f);
    v = json_equal(json_object_get(json_array_get(sent, 0), "request_id"),
                   json_object_get(json_array_get(sent, 1), "request_id"));
    json_decref(sent);
    fake_free(f);
    return v;
}

/* a drop, an interrupt during the gap, the reconnect: frames sent on the new connection */
static int64_t sc_disconnected(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;

    fake_frame(f, CAN_USE("r1"));
    rc_session_closed(f->s, 1006);
    fake_act(f, 1, "{\"interrupt\":{}}");
    fake_act(f, 2, "{\"answer_permission\":\"allow\"}");
    CU_ASSERT_EQUAL(fake_count(f, "send "), 0); /* nothing while disconnected, either way */
    fake_fire(f, RC_TIMER_RECONNECT);
    rc_session_opened(f->s);
    v = fake_count(f, "send ");
    fake_free(f);
    return v;
}

/* a result, then a can_use_tool the user answers: 1 when an answer went out */
static int64_t sc_after_result(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;

    fake_frame(f, "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false}");
    fake_frame(f, CAN_USE("r7"));
    fake_act(f, 1, "{\"answer_permission\":\"allow\"}");
    v = fake_count_sub(f, "send ", "\"request_id\":\"r7\"") > 0;
    fake_free(f);
    return v;
}

/* send_user u-1, the server echoes it twice: renders of u-1 */
static int64_t sc_echo(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;
    const char *echo = "{\"type\":\"user\",\"uuid\":\"u-1\",\"message\":{\"role\":\"user\","
                       "\"content\":\"hi\"}}";

    fake_act(f, 1, "{\"send_user\":{\"text\":\"hi\",\"uuid\":\"u-1\"}}");
    fake_frame(f, echo);
    fake_frame(f, echo);
    v = fake_count_sub(f, "ctl ", "\"what\":\"rendered\"");
    fake_free(f);
    return v;
}

/* a malformed frame: closes of the socket by the client */
static int64_t sc_bad_frame(enum rc_mutant m)
{
    struct fake *f = fake_open(m, 1);
    int64_t v;

    fake_frame(f, "{not json");
    v = fake_count(f, "close");
    fake_free(f);
    return v;
}

struct scenario {
    enum rc_mutant m;
    int64_t (*observe)(enum rc_mutant);
    int64_t reference, mutant;
};

/* clang-format off */
static const struct scenario scenarios[] = {
    {RC_MUT_RETRY_AFTER_4003,           sc_4003,              -1,   2000 + RC_RETRY_MARGIN_MS},
    {RC_MUT_RETRY_4001_FOREVER,         sc_4001_attempts,      4,     11},
    {RC_MUT_RETRY_4001_NO_BACKOFF,      sc_4001_second_delay, 4000 + RC_RETRY_MARGIN_MS, 2000 + RC_RETRY_MARGIN_MS},
    {RC_MUT_RETRY_NEVER_OPENED,         sc_never_opened,       1,      6},
    {RC_MUT_RETRY_DROP_NO_DELAY,        sc_drop,              2000 + RC_RETRY_MARGIN_MS, RC_RETRY_MARGIN_MS},
    {RC_MUT_RETRY_AFTER_OWN_CLOSE,      sc_own_close,          0,      1},
    {RC_MUT_NO_PING,                    sc_ping,               3,      0},
    {RC_MUT_SILENT_UNKNOWN_SUBTYPE,     sc_unknown,            1,      0},
    {RC_MUT_ANSWER_CANCELLED,           sc_cancelled,          0,      1},
    {RC_MUT_DOUBLE_ANSWER,              sc_double,             1,      2},
    {RC_MUT_REUSED_REQUEST_ID,          sc_reused,             0,      1},
    {RC_MUT_CONTROL_WHILE_DISCONNECTED, sc_disconnected,       0,      2},
    {RC_MUT_DEAF_AFTER_RESULT,          sc_after_result,       1,      0},
    {RC_MUT_ECHO_RENDERED_TWICE,        sc_echo,               1,      3},
    {RC_MUT_CLOSE_ON_BAD_FRAME,         sc_bad_frame,          0,      1},
};
/* clang-format on */
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

static void test_each_mutant_observable(void)
{
    for (size_t i = 0; i < NSCEN; i++) {
        const struct scenario *sc = &scenarios[i];
        int64_t ref = sc->observe(RC_MUT_NONE), mu = sc->observe(sc->m);
        if (ref != sc->reference || mu != sc->mutant)
            fprintf(stderr, "\n  %s: reference %lld (want %lld), mutant %lld (want %lld)",
                    rc_mutants[sc->m].name, (long long)ref, (long long)sc->reference, (long long)mu,
                    (long long)sc->mutant);
        CU_ASSERT_EQUAL(ref, sc->reference);
        CU_ASSERT_EQUAL(mu, sc->mutant);
    }
}

/* No mutant changes another mutant's scenario: each breaks its own requirement only. */
static void test_mutants_are_specific(void)
{
    for (size_t i = 0; i < NSCEN; i++) {
        for (size_t j = 0; j < NSCEN; j++) {
            const struct scenario *sc = &scenarios[i];
            if (i == j || scenarios[j].m == sc->m)
                continue;
            /* the two reconnect-count mutants share the 4001 scenarios by design */
            if ((sc->observe == sc_4001_attempts || sc->observe == sc_4001_second_delay) &&
                (scenarios[j].m == RC_MUT_RETRY_4001_FOREVER ||
                 scenarios[j].m == RC_MUT_RETRY_4001_NO_BACKOFF))
                continue;
            if (sc->observe(scenarios[j].m) != sc->reference)
                fprintf(stderr, "\n  %s changes the scenario of %s",
                        rc_mutants[scenarios[j].m].name, rc_mutants[sc->m].name);
            CU_ASSERT_EQUAL(sc->observe(scenarios[j].m), sc->reference);
        }
    }
}

static void test_table(void)
{
    CU_ASSERT_EQUAL(rc_mutant_find("none"), RC_MUT_NONE);
    CU_ASSERT_EQUAL(rc_mutant_find("no-such-mutant"), -1);
    for (int m = 1; m < RC_MUT_COUNT; m++) {
        bool covered = false;
        CU_ASSERT_PTR_NOT_NULL(rc_mutants[m].name);
        CU_ASSERT_EQUAL(rc_mutant_find(rc_mutants[m].name), m);
        /* a mutant of claude-control/1 only: test_control.c has its scenario */
        CU_ASSERT_TRUE(rc_mutants[m].requirement || rc_mutants[m].control);
        if (!rc_mutants[m].requirement)
            continue;
        CU_ASSERT_EQUAL(strncmp(rc_mutants[m].requirement, "CR-", 3), 0);
        for (size_t i = 0; i < NSCEN; i++)
            covered |= scenarios[i].m == (enum rc_mutant)m;
        if (!covered)
            fprintf(stderr, "\n  mutant %s has no scenario", rc_mutants[m].name);
        CU_ASSERT_TRUE(covered);
    }
}

static CU_TestInfo tests[] = {
    {"every mutant changes its observable", test_each_mutant_observable},
    {"a mutant changes no other mutant's scenario", test_mutants_are_specific},
    {"the table: names, requirements, a scenario each", test_table},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo rc_mutant_suites[] = {
    {"rc_mutants", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
