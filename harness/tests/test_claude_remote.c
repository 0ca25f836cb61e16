/*
 * test_claude_remote.c: CUnit tests for harness/check/claude_remote.c (suite hn_claude_remote):
 * each checker over a small hand-written server-role transcript, once clean and once with the
 * violation it exists for, naming its requirement.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "check/claude_remote.h"
#include "dialect/dialect.h"
#include "model/transcript.h"

#define HDR   "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\",\"spec\":\"claude-remote/1\"}\n"
#define OPEN1 "{\"t\":\"attempt\",\"n\":1}\n{\"t\":\"open\",\"conn\":\"s1\",\"role\":\"server\"}\n"
#define CAN(id)                                                                                    \
    "{\"t\":\"send\",\"conn\":\"s1\",\"frame\":{\"type\":\"control_request\",\"request_id\":\"" id \
    "\",\"request\":{\"subtype\":\"can_use_tool\"}}}\n"
#define ANS(conn, id)                                                                              \
    "{\"t\":\"recv\",\"conn\":\"" conn "\",\"frame\":{\"type\":\"control_response\",\"response\":" \
    "{\"subtype\":\"success\",\"request_id\":\"" id "\"}}}\n"

/* The outcome of checker `name` over text, and the requirement of its first violation. */
static const char *outcome(const char *text, const char *name, char *req, size_t reqlen)
{
    static char out[32];
    char *err = NULL;
    struct hn_transcript *t = hn_transcript_load_string("t.jsonl", text, &err);

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    json_t *r = hn_claude_remote_run(t, NULL);
    snprintf(out, sizeof(out), "%s",
             json_string_value(json_object_get(json_object_get(r, "checks"), name)));
    req[0] = '\0';
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r, "violations"), i, v)
    {
        if (!strcmp(json_string_value(json_object_get(v, "checker")), name) && !req[0])
            snprintf(req, reqlen, "%s", json_string_value(json_object_get(v, "requirement")));
    }
    json_decref(r);
    hn_transcript_free(t);
    return out;
}

static void test_answer_once(void)
{
    char req[32];
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1 CAN("p1") ANS("s1", "p1"), "answer_once", req, 32),
                           "pass");
    CU_ASSERT_STRING_EQUAL(
        outcome(HDR OPEN1 CAN("p1") ANS("s1", "p1") ANS("s1", "p1"), "answer_once", req, 32),
        "fail");
    CU_ASSERT_STRING_EQUAL(req, "CR-CTL-1");
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1 CAN("p1") ANS("s1", "p1") CAN("p1") ANS("s1", "p1"),
                                   "answer_once", req, 32),
                           "fail");
    CU_ASSERT_STRING_EQUAL(req, "CR-CTL-4"); /* the server repeated the id */
}

static void test_cancel(void)
{
    char req[32];
    const char *cancel = "{\"t\":\"send\",\"conn\":\"s1\",\"frame\":{\"type\":\"control_cancel_"
                         "request\",\"request_id\":\"p3\"}}\n";
    char buf[2048];
    snprintf(buf, sizeof(buf), HDR OPEN1 CAN("p3") "%s", cancel);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "no_answer_after_cancel", req, 32), "pass");
    snprintf(buf, sizeof(buf), HDR OPEN1 CAN("p3") "%s" ANS("s1", "p3"), cancel);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "no_answer_after_cancel", req, 32), "fail");
    CU_ASSERT_STRING_EQUAL(req, "CR-CTL-3");
}

static void test_unknown_subtype(void)
{
    char req[32];
    const char *frob = "{\"t\":\"send\",\"conn\":\"s1\",\"frame\":{\"type\":\"control_request\","
                       "\"request_id\":\"f1\",\"request\":{\"subtype\":\"frob\"}}}\n";
    const char *err_ok = "{\"t\":\"recv\",\"conn\":\"s1\",\"frame\":{\"type\":\"control_response\","
                         "\"response\":{\"subtype\":\"error\",\"request_id\":\"f1\",\"error\":"
                         "\"Unsupported control request subtype: frob\"}}}\n";
    const char *err_bad =
        "{\"t\":\"recv\",\"conn\":\"s1\",\"frame\":{\"type\":\"control_response\","
        "\"response\":{\"subtype\":\"error\",\"request_id\":\"f1\",\"error\":"
        "\"nope\"}}}\n";
    char buf[4096];
    snprintf(buf, sizeof(buf), HDR OPEN1 "%s%s", frob, err_ok);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "unknown_subtype_error", req, 32), "pass");
    snprintf(buf, sizeof(buf), HDR OPEN1 "%s%s", frob, err_bad);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "unknown_subtype_error", req, 32), "fail");
    CU_ASSERT_STRING_EQUAL(req, "CR-CTL-2");
    /* silence, proven by a later request on s1 that was answered */
    snprintf(buf, sizeof(buf), HDR OPEN1 "%s" CAN("p2") ANS("s1", "p2"), frob);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "unknown_subtype_error", req, 32), "fail");
    /* silence alone (the case ended) proves nothing */
    snprintf(buf, sizeof(buf), HDR OPEN1 "%s", frob);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "unknown_subtype_error", req, 32), "pass");
}

static void test_disconnected_and_rendered(void)
{
    char req[32];
    const char *open2 = "{\"t\":\"attempt\",\"n\":2}\n{\"t\":\"open\",\"conn\":\"s2\"}\n";
    char buf[4096];
    snprintf(buf, sizeof(buf), HDR OPEN1 CAN("p7") "%s" ANS("s2", "p7"), open2);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "not_while_disconnected", req, 32), "fail");
    CU_ASSERT_STRING_EQUAL(req, "CR-CTL-7");
    const char *r1 = "{\"t\":\"ctl\",\"label\":\"client\",\"msg\":{\"t\":\"note\",\"what\":"
                     "\"rendered\",\"uuid\":\"u1\"}}\n";
    snprintf(buf, sizeof(buf), HDR OPEN1 "%s", r1);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "rendered_once", req, 32), "pass");
    snprintf(buf, sizeof(buf), HDR OPEN1 "%s%s", r1, r1);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "rendered_once", req, 32), "fail");
    CU_ASSERT_STRING_EQUAL(req, "CR-MSG-1");
}

static void test_no_retry(void)
{
    char req[32];
    const char *c4003 = "{\"t\":\"close\",\"conn\":\"s1\",\"by\":\"server\",\"code\":4003}\n";
    const char *c4001 = "{\"t\":\"close\",\"conn\":\"s1\",\"by\":\"server\",\"code\":4001}\n";
    const char *again = "{\"t\":\"attempt\",\"n\":2}\n";
    char buf[2048];
    snprintf(buf, sizeof(buf), HDR OPEN1 "%s%s", c4001, again);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "no_retry", req, 32), "not_exercised");
    snprintf(buf, sizeof(buf), HDR OPEN1 "%s%s", c4003, again);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "no_retry", req, 32), "fail");
    CU_ASSERT_STRING_EQUAL(req, "CR-RETRY-1");
    snprintf(buf, sizeof(buf),
             HDR
             "{\"t\":\"attempt\",\"n\":1}\n{\"t\":\"refused\",\"attempt\":1,\"status\":503}\n%s",
             again);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "no_retry", req, 32), "fail");
    CU_ASSERT_STRING_EQUAL(req, "CR-RETRY-4");
}

/* The dialect is chosen by its spec version and is the server role's. */
static void test_dialect(void)
{
    const struct hn_dialect *d = hn_dialect_for("claude-remote/1");
    CU_ASSERT_PTR_EQUAL(d, &hn_dialect_claude_remote1);
    CU_ASSERT_TRUE(d->wire.server_role);
    json_t *f = d->sentinel_frame("gwspec-sentinel-3");
    json_t *reply = json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "control_response", "response",
                              "subtype", "error", "request_id", "gwspec-sentinel-3", "error",
                              "Unsupported control request subtype: gwspec_sentinel");
    CU_ASSERT_STRING_EQUAL(d->sentinel_reply(reply), "gwspec-sentinel-3");
    CU_ASSERT_STRING_EQUAL(d->frame_id(f), "control_request");
    json_decref(f);
    json_decref(reply);
}

static CU_TestInfo cr_tests[] = {
    {"answer_once: a second answer is CR-CTL-1, to a repeated id CR-CTL-4", test_answer_once},
    {"no_answer_after_cancel", test_cancel},
    {"unknown_subtype_error: wrong text, proven silence, unproven silence", test_unknown_subtype},
    {"not_while_disconnected and rendered_once", test_disconnected_and_rendered},
    {"no_retry: after 4003 and after a refusal, not after 4001", test_no_retry},
    {"the dialect: selection, sentinel and its reply", test_dialect},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_claude_remote_suites[] = {
    {"hn_claude_remote", NULL, NULL, NULL, NULL, cr_tests},
    CU_SUITE_INFO_NULL,
};
