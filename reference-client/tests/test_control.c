/*
 * test_control.c: the reference client's claude-control/1 session (control.h) with fake I/O:
 * every line it writes to the CLI, every control-channel line and whether it closed the CLI's
 * stdin are recorded. One test per promise of spec/claude-control-1 (the ids are the spec's),
 * then one scenario per mutant of the dialect (mutants.h's `control` column): an observable
 * number, its value for the reference and for the mutant, and a check that no mutant changes
 * another's scenario.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "control.h"
#include "mutants.h"
#include "wc_mem.h"
#include "wc_banned.h"

#define CC_MAX 256

struct cfake {
    char *lines[CC_MAX]; /* to the CLI */
    size_t nlines;
    char *ctl[CC_MAX]; /* to the control channel */
    size_t nctl;
    bool input_closed, quit;
    struct rc_cc *s;
};

static bool f_write(void *ctx, const char *line, size_t len)
{
    struct cfake *f = ctx;
    if (f->input_closed || f->nlines == CC_MAX)
        return false;
    f->lines[f->nlines++] = wc_xstrndup(line, len);
    return true;
}

static void f_close_input(void *ctx)
{
    ((struct cfake *)ctx)->input_closed = true;
}

static void f_ctl(void *ctx, const char *line)
{
    struct cfake *f = ctx;
    if (f->nctl < CC_MAX)
        f->ctl[f->nctl++] = wc_xstrdup(line);
}

static void f_quit(void *ctx)
{
    ((struct cfake *)ctx)->quit = true;
}

/* A session with mutant m, started (the CLI spawned). */
static struct cfake *cf_new(enum rc_mutant m)
{
    struct cfake *f = wc_xcalloc(1, sizeof(*f));
    struct rc_cc_io io = {
        .ctx = f, .write = f_write, .close_input = f_close_input, .ctl = f_ctl, .quit = f_quit};
    struct rc_cc_config cfg = {.case_token = "case#1", .mutant = m, .seed = 42};

    f->s = rc_cc_new(&cfg, &io);
    rc_cc_started(f->s, 99);
    return f;
}

static void cf_free(struct cfake *f)
{
    for (size_t i = 0; i < f->nlines; i++)
        free(f->lines[i]);
    for (size_t i = 0; i < f->nctl; i++)
        free(f->ctl[i]);
    rc_cc_free(f->s);
    free(f);
}

static void cf_line(struct cfake *f, const char *json)
{
    rc_cc_line(f->s, json, strlen(json));
}

static void cf_act(struct cfake *f, int id, const char *act)
{
    char *l = wc_xasprintf("{\"t\":\"act\",\"id\":%d,\"act\":%s}", id, act);
    rc_cc_ctl_line(f->s, l, strlen(l));
    free(l);
}

/* Line i to the CLI, parsed (new), or NULL. */
static json_t *cf_sent(const struct cfake *f, size_t i)
{
    return i < f->nlines ? json_loads(f->lines[i], 0, NULL) : NULL;
}

static size_t cf_count(const struct cfake *f, const char *sub)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nlines; i++)
        n += strstr(f->lines[i], sub) != NULL;
    return n;
}

static size_t cf_notes(const struct cfake *f, const char *what, const char *sub)
{
    char w[64];
    size_t n = 0;
    snprintf(w, sizeof(w), "\"what\":\"%s\"", what);
    for (size_t i = 0; i < f->nctl; i++)
        n += strstr(f->ctl[i], w) && (!sub || strstr(f->ctl[i], sub));
    return n;
}

/* The request_id of the client's line i (a control_request), or "" */
static const char *own_id(const struct cfake *f, size_t i, char *buf, size_t len)
{
    json_t *l = cf_sent(f, i);
    snprintf(buf, len, "%s",
             json_string_value(json_object_get(l, "request_id"))
                 ? json_string_value(json_object_get(l, "request_id"))
                 : "");
    json_decref(l);
    return buf;
}

#define CAN_USE(id)                                                                                \
    "{\"type\":\"control_request\",\"request_id\":\"" id "\",\"request\":{\"subtype\":"            \
    "\"can_use_tool\",\"tool_name\":\"Bash\",\"input\":{\"command\":\"ls\"},\"tool_use_id\":"      \
    "\"tu-" id "\"}}"
#define FROB(id)                                                                                   \
    "{\"type\":\"control_request\",\"request_id\":\"" id "\",\"request\":{\"subtype\":"            \
    "\"frobnicate\"}}"
#define RESULT "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false}"

/* ---- the promises -------------------------------------------------------------------------- */

/* CC-SPAWN-1, CC-SPAWN-2: the CLI's flags. */
static void test_cli_args(void)
{
    const char *const *a = rc_cc_cli_args(RC_MUT_NONE);
    char joined[512] = "";
    for (size_t i = 0; a[i]; i++)
        snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s ", a[i]);
    CU_ASSERT_PTR_NOT_NULL(strstr(joined, "--output-format stream-json "));
    CU_ASSERT_PTR_NOT_NULL(strstr(joined, "--input-format stream-json "));
    CU_ASSERT_PTR_NOT_NULL(strstr(joined, "--verbose "));
    CU_ASSERT_PTR_NOT_NULL(strstr(joined, "--permission-prompt-tool stdio "));
}

/* CC-INIT-1, CC-CTL-5: initialize first with a string id; the hello names the dialect. */
static void test_initialize_first(void)
{
    struct cfake *f = cf_new(RC_MUT_NONE);
    rc_cc_hello(f->s, 7);
    json_t *l = cf_sent(f, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "type")), "control_request");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(l, "request"), "subtype")), "initialize");
    CU_ASSERT_TRUE(json_is_string(json_object_get(l, "request_id")));
    json_decref(l);
    CU_ASSERT_EQUAL(cf_notes(f, "connected", NULL), 1);
    CU_ASSERT_EQUAL(f->nctl, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(f->ctl[1], "\"dialect\":\"claude-control/1\""));
    cf_free(f);
}

/* CC-CTL-1: allow with updatedInput, deny with message, under the request's id, once. */
static void test_permission(void)
{
    struct cfake *f = cf_new(RC_MUT_NONE);
    cf_line(f, CAN_USE("p1"));
    CU_ASSERT_EQUAL(cf_notes(f, "permission_pending", "\"request_id\":\"p1\""), 1);
    cf_act(f, 1, "{\"answer_permission\":{\"behavior\":\"allow\"}}");
    json_t *l = cf_sent(f, 1);
    json_t *r = json_object_get(l, "response");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "request_id")), "p1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "subtype")), "success");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(
            json_object_get(json_object_get(r, "response"), "updatedInput"), "command")),
        "ls");
    json_decref(l);
    cf_line(f, CAN_USE("p2"));
    cf_act(f, 2, "{\"answer_permission\":{\"behavior\":\"deny\",\"message\":\"no\"}}");
    CU_ASSERT_EQUAL(cf_count(f, "\"behavior\":\"deny\",\"message\":\"no\""), 1);
    cf_act(f, 3, "{\"answer_permission\":\"allow\"}"); /* nothing pending: refused */
    CU_ASSERT_EQUAL(f->nlines, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(f->ctl[f->nctl - 1], "\"result\":\"refused\""));
    cf_free(f);
}

/* CC-CTL-2, CC-CTL-4, CC-CTL-7: the error at once; a repeat ignored; keep_alive silent. */
static void test_unsupported_and_repeats(void)
{
    struct cfake *f = cf_new(RC_MUT_NONE);
    cf_line(f, FROB("r1"));
    CU_ASSERT_EQUAL(cf_count(f, "\"error\":\"Unsupported control request subtype: frobnicate\""),
                    1);
    cf_line(f, FROB("r1"));
    CU_ASSERT_EQUAL(cf_count(f, "\"request_id\":\"r1\""), 1);
    CU_ASSERT_EQUAL(cf_notes(f, "duplicate_request", NULL), 1);
    cf_line(f, "{\"type\":\"control_request\",\"request_id\":\"r2\",\"request\":{}}");
    CU_ASSERT_EQUAL(cf_count(f, "Unsupported control request subtype: undefined"), 1);
    size_t n = f->nlines;
    cf_line(f, "{\"type\":\"keep_alive\"}");
    cf_line(f, "not json");
    CU_ASSERT_EQUAL(f->nlines, n);
    CU_ASSERT_EQUAL(cf_notes(f, "bad_frame", NULL), 1);
    cf_free(f);
}

/* answer_permission and the notes name a prompt by its tool_use_id too (an SDK's canUseTool
 * sees that, not the request_id) */
static void test_by_tool_use_id(void)
{
    struct cfake *f = cf_new(RC_MUT_NONE);
    cf_line(f, CAN_USE("p7"));
    cf_line(f, CAN_USE("p8"));
    CU_ASSERT_EQUAL(cf_notes(f, "permission_pending", "\"tool_use_id\":\"tu-p7\""), 1);
    cf_act(f, 1, "{\"answer_permission\":{\"behavior\":\"allow\",\"tool_use_id\":\"tu-p7\"}}");
    CU_ASSERT_EQUAL(cf_count(f, "\"request_id\":\"p7\""), 1);
    CU_ASSERT_EQUAL(cf_count(f, "\"request_id\":\"p8\""), 0);
    cf_act(f, 2, "{\"answer_permission\":{\"behavior\":\"allow\",\"tool_use_id\":\"tu-none\"}}");
    CU_ASSERT_PTR_NOT_NULL(strstr(f->ctl[f->nctl - 1], "\"result\":\"refused\""));
    cf_line(f, "{\"type\":\"control_cancel_request\",\"request_id\":\"p8\"}");
    CU_ASSERT_EQUAL(cf_notes(f, "cancelled", "\"tool_use_id\":\"tu-p8\""), 1);
    cf_free(f);
}

/* CC-CTL-3: a cancelled prompt is never answered. */
static void test_cancel(void)
{
    struct cfake *f = cf_new(RC_MUT_NONE);
    cf_line(f, CAN_USE("p3"));
    cf_line(f, "{\"type\":\"control_cancel_request\",\"request_id\":\"p3\"}");
    CU_ASSERT_EQUAL(cf_notes(f, "cancelled", "\"request_id\":\"p3\""), 1);
    cf_act(f, 1, "{\"answer_permission\":{\"behavior\":\"allow\",\"request_id\":\"p3\"}}");
    CU_ASSERT_EQUAL(cf_count(f, "\"p3\""), 0);
    cf_free(f);
}

/* CC-CTL-5, CC-CTL-6: own ids are fresh; answers settle their own request, in any order. */
static void test_own_requests(void)
{
    struct cfake *f = cf_new(RC_MUT_NONE);
    char init[64], intr[64], resp[256];
    cf_act(f, 1, "{\"interrupt\":{}}");
    own_id(f, 0, init, sizeof(init));
    own_id(f, 1, intr, sizeof(intr));
    CU_ASSERT_STRING_NOT_EQUAL(init, intr);
    cf_line(f, "{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\","
               "\"request_id\":\"nobody\"}}");
    CU_ASSERT_EQUAL(cf_notes(f, "unmatched_response", "\"nobody\""), 1);
    snprintf(resp, sizeof(resp),
             "{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\","
             "\"request_id\":\"%s\"}}",
             intr);
    cf_line(f, resp);
    CU_ASSERT_EQUAL(cf_notes(f, "response", "\"for\":\"interrupt\""), 1);
    CU_ASSERT_EQUAL(cf_notes(f, "response", "\"for\":\"initialize\""), 0);
    cf_free(f);
}

/* CC-TURN-1, CC-TURN-2, CC-TURN-3: after a result all goes on; close ends the input. */
static void test_turns(void)
{
    struct cfake *f = cf_new(RC_MUT_NONE);
    cf_line(f, RESULT);
    CU_ASSERT_EQUAL(cf_notes(f, "result", NULL), 1);
    CU_ASSERT_FALSE(f->input_closed);
    cf_line(f, FROB("r9"));
    CU_ASSERT_EQUAL(cf_count(f, "\"request_id\":\"r9\""), 1);
    cf_act(f, 1, "{\"send_user\":{\"text\":\"again\"}}");
    CU_ASSERT_EQUAL(cf_count(f, "\"content\":\"again\""), 1);
    cf_act(f, 2, "{\"close\":{}}");
    CU_ASSERT_TRUE(f->input_closed);
    CU_ASSERT_FALSE(rc_cc_input_open(f->s));
    cf_act(f, 3, "{\"send_user\":{\"text\":\"late\"}}");
    CU_ASSERT_PTR_NOT_NULL(strstr(f->ctl[f->nctl - 1], "\"result\":\"dropped\""));
    cf_act(f, 4, "{\"quit\":{}}");
    CU_ASSERT_TRUE(f->quit);
    cf_free(f);
}

/* CC-MSG-1: the user message's shape, with the session id of system/init. */
static void test_user_shape(void)
{
    struct cfake *f = cf_new(RC_MUT_NONE);
    cf_line(f, "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s-1\"}");
    CU_ASSERT_EQUAL(cf_notes(f, "rendered", "\"type\":\"system\""), 1);
    cf_act(f, 1, "{\"send_user\":{\"text\":\"hi\",\"uuid\":\"u-1\"}}");
    json_t *l = cf_sent(f, 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "type")), "user");
    CU_ASSERT_TRUE(json_is_null(json_object_get(l, "parent_tool_use_id")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "session_id")), "s-1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "uuid")), "u-1");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(l, "message"), "role")), "user");
    json_decref(l);
    cf_act(f, 2, "{\"send_user\":{}}");
    CU_ASSERT_PTR_NOT_NULL(strstr(f->ctl[f->nctl - 1], "\"ok\":false"));
    cf_act(f, 3, "{\"frobnicate\":{}}");
    CU_ASSERT_PTR_NOT_NULL(strstr(f->ctl[f->nctl - 1], "unknown act frobnicate"));
    cf_free(f);
}

/* ---- the mutants ----------------------------------------------------------------------------- */

/* the flags: 1 when both --verbose and --permission-prompt-tool are there; per flag */
static int64_t sc_flag(enum rc_mutant m, const char *flag)
{
    const char *const *a = rc_cc_cli_args(m);
    for (size_t i = 0; a[i]; i++)
        if (!strcmp(a[i], flag))
            return 1;
    return 0;
}
static int64_t sc_verbose(enum rc_mutant m)
{
    return sc_flag(m, "--verbose");
}
static int64_t sc_prompt_tool(enum rc_mutant m)
{
    return sc_flag(m, "--permission-prompt-tool");
}

/* the first line is initialize: 1, else 0 */
static int64_t sc_initialize(enum rc_mutant m)
{
    struct cfake *f = cf_new(m);
    cf_act(f, 1, "{\"send_user\":{\"text\":\"hi\"}}");
    int64_t v = f->nlines && strstr(f->lines[0], "\"subtype\":\"initialize\"") ? 1 : 0;
    cf_free(f);
    return v;
}

/* answers to p1 under its own id */
static int64_t sc_answers(enum rc_mutant m)
{
    struct cfake *f = cf_new(m);
    cf_line(f, CAN_USE("p1"));
    cf_act(f, 1, "{\"answer_permission\":\"allow\"}");
    int64_t v = (int64_t)cf_count(f, "\"request_id\":\"p1\"");
    cf_free(f);
    return v;
}

/* answers under another id than the request's */
static int64_t sc_wrong_id(enum rc_mutant m)
{
    struct cfake *f = cf_new(m);
    cf_line(f, CAN_USE("p1"));
    cf_act(f, 1, "{\"answer_permission\":\"allow\"}");
    int64_t v = (int64_t)cf_count(f, "\"request_id\":\"tu-p1\"");
    cf_free(f);
    return v;
}

/* error answers to frobnicate */
static int64_t sc_unknown(enum rc_mutant m)
{
    struct cfake *f = cf_new(m);
    cf_line(f, FROB("r1"));
    int64_t v = (int64_t)cf_count(f, "Unsupported control request subtype: frobnicate");
    cf_free(f);
    return v;
}

/* answers to a cancelled prompt answered late */
static int64_t sc_cancelled(enum rc_mutant m)
{
    struct cfake *f = cf_new(m);
    cf_line(f, CAN_USE("p3"));
    cf_line(f, "{\"type\":\"control_cancel_request\",\"request_id\":\"p3\"}");
    cf_act(f, 1, "{\"answer_permission\":{\"behavior\":\"allow\",\"request_id\":\"p3\"}}");
    int64_t v = (int64_t)cf_count(f, "\"request_id\":\"p3\"");
    cf_free(f);
    return v;
}

/* initialize and an interrupt share their id: 1, else 0 */
static int64_t sc_reused(enum rc_mutant m)
{
    struct cfake *f = cf_new(m);
    char a[64], b[64];
    cf_act(f, 1, "{\"interrupt\":{}}");
    int64_t v = f->nlines >= 2 && !strcmp(own_id(f, 0, a, sizeof(a)), own_id(f, 1, b, sizeof(b)));
    cf_free(f);
    return v;
}

/* after a result: the prompts the client takes (permission_pending notes) */
static int64_t sc_after_result(enum rc_mutant m)
{
    struct cfake *f = cf_new(m);
    cf_line(f, RESULT);
    cf_line(f, CAN_USE("p2"));
    int64_t v = (int64_t)cf_notes(f, "permission_pending", "\"p2\"");
    cf_free(f);
    return v;
}

/* after a result: the CLI's stdin closed (1) or open (0) */
static int64_t sc_stdin_after_result(enum rc_mutant m)
{
    struct cfake *f = cf_new(m);
    cf_line(f, RESULT);
    int64_t v = f->input_closed;
    cf_free(f);
    return v;
}

/* the interrupt's answer, before initialize's: settles the initialize request (1) or not (0) */
static int64_t sc_by_order(enum rc_mutant m)
{
    struct cfake *f = cf_new(m);
    char intr[64], resp[256];
    cf_act(f, 1, "{\"interrupt\":{}}");
    own_id(f, 1, intr, sizeof(intr));
    snprintf(resp, sizeof(resp),
             "{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\","
             "\"request_id\":\"%s\"}}",
             intr);
    cf_line(f, resp);
    int64_t v = (int64_t)cf_notes(f, "response", "\"for\":\"initialize\"");
    cf_free(f);
    return v;
}

struct scenario {
    enum rc_mutant m;
    int64_t (*observe)(enum rc_mutant);
    int64_t reference, mutant;
};

/* clang-format off */
static const struct scenario scenarios[] = {
    {RC_MUT_NO_VERBOSE,                sc_verbose,            1, 0},
    {RC_MUT_NO_PERMISSION_PROMPT_TOOL, sc_prompt_tool,        1, 0},
    {RC_MUT_NO_INITIALIZE,             sc_initialize,         1, 0},
    {RC_MUT_DOUBLE_ANSWER,             sc_answers,            1, 2},
    {RC_MUT_WRONG_REQUEST_ID,          sc_wrong_id,           0, 1},
    {RC_MUT_SILENT_UNKNOWN_SUBTYPE,    sc_unknown,            1, 0},
    {RC_MUT_ANSWER_CANCELLED,          sc_cancelled,          0, 1},
    {RC_MUT_REUSED_REQUEST_ID,         sc_reused,             0, 1},
    {RC_MUT_DEAF_AFTER_RESULT,         sc_after_result,       1, 0},
    {RC_MUT_CLOSE_STDIN_AFTER_RESULT,  sc_stdin_after_result, 0, 1},
    {RC_MUT_RESPONSE_BY_ORDER,         sc_by_order,           0, 1},
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

/* No mutant changes another mutant's scenario, but for two pairs that share one by design: the
 * answer count of p1 (wrong-request-id names another id) and the order of answers
 * (reused-request-id gives the interrupt initialize's id). */
static void test_mutants_are_specific(void)
{
    for (size_t i = 0; i < NSCEN; i++) {
        for (size_t j = 0; j < NSCEN; j++) {
            const struct scenario *sc = &scenarios[i];
            enum rc_mutant o = scenarios[j].m;
            if (i == j || o == sc->m)
                continue;
            if (sc->observe == sc_answers && o == RC_MUT_WRONG_REQUEST_ID)
                continue;
            /* with one id for all its requests, the answer's id is initialize's too */
            if (sc->observe == sc_by_order && o == RC_MUT_REUSED_REQUEST_ID)
                continue;
            int64_t v = sc->observe(o);
            if (v != sc->reference)
                fprintf(stderr, "\n  %s changes the scenario of %s", rc_mutants[o].name,
                        rc_mutants[sc->m].name);
            CU_ASSERT_EQUAL(v, sc->reference);
        }
    }
}

/* Every mutant of the dialect (a `control` requirement) has a scenario here. */
static void test_table(void)
{
    for (int m = 1; m < RC_MUT_COUNT; m++) {
        const char *req = rc_mutant_requirement(m, true);
        bool covered = false;
        if (!req)
            continue;
        CU_ASSERT_EQUAL(strncmp(req, "CC-", 3), 0);
        for (size_t i = 0; i < NSCEN; i++)
            covered |= scenarios[i].m == (enum rc_mutant)m;
        if (!covered)
            fprintf(stderr, "\n  mutant %s has no claude-control scenario", rc_mutants[m].name);
        CU_ASSERT_TRUE(covered);
    }
    CU_ASSERT_PTR_NULL(rc_mutant_requirement(RC_MUT_NO_PING, true));
    CU_ASSERT_PTR_NULL(rc_mutant_requirement(RC_MUT_NO_INITIALIZE, false));
}

static CU_TestInfo tests[] = {
    {"the CLI's flags (CC-SPAWN-1, CC-SPAWN-2)", test_cli_args},
    {"initialize first (CC-INIT-1)", test_initialize_first},
    {"permission answers (CC-CTL-1)", test_permission},
    {"unsupported, repeats, keep_alive (CC-CTL-2, CC-CTL-4, CC-CTL-7)",
     test_unsupported_and_repeats},
    {"cancel (CC-CTL-3)", test_cancel},
    {"prompts named by tool_use_id", test_by_tool_use_id},
    {"own requests (CC-CTL-5, CC-CTL-6)", test_own_requests},
    {"turns (CC-TURN-1..3)", test_turns},
    {"the user message (CC-MSG-1)", test_user_shape},
    {"every mutant changes its observable", test_each_mutant_observable},
    {"a mutant changes no other mutant's scenario", test_mutants_are_specific},
    {"the table: every claude-control mutant has a scenario", test_table},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo rc_control_suites[] = {
    {"rc_control", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
