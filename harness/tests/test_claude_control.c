/*
 * test_claude_control.c: CUnit tests for harness/check/claude_control.c (suite
 * hn_claude_control): each checker over a small hand-written server-role transcript, once clean
 * and once with the violation it exists for, naming its requirement; the dialect's table entry.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "check/claude_control.h"
#include "dialect/dialect.h"
#include "model/transcript.h"

#define HDR "{\"t\":\"header\",\"format\":\"gwspec-transcript/1\",\"spec\":\"claude-control/1\"}\n"
#define OPEN_ARGV(argv)                                                                            \
    "{\"t\":\"attempt\",\"n\":1}\n{\"t\":\"open\",\"conn\":\"s1\",\"role\":\"server\","            \
    "\"argv\":" argv "}\n"
#define GOOD_ARGV                                                                                  \
    "[\"--output-format\",\"stream-json\",\"--verbose\",\"--input-format=stream-json\","           \
    "\"--permission-prompt-tool=stdio\"]"
#define OPEN1 OPEN_ARGV(GOOD_ARGV)
#define INIT(id)                                                                                   \
    "{\"t\":\"recv\",\"conn\":\"s1\",\"frame\":{\"type\":\"control_request\",\"request_id\":\"" id \
    "\",\"request\":{\"subtype\":\"initialize\"}}}\n"
#define OWN(id, sub)                                                                               \
    "{\"t\":\"recv\",\"conn\":\"s1\",\"frame\":{\"type\":\"control_request\",\"request_id\":\"" id \
    "\",\"request\":{\"subtype\":\"" sub "\"}}}\n"
#define REQ(id, sub)                                                                               \
    "{\"t\":\"send\",\"conn\":\"s1\",\"frame\":{\"type\":\"control_request\",\"request_id\":\"" id \
    "\",\"request\":{\"subtype\":\"" sub "\"}}}\n"
#define ANS(id)                                                                                    \
    "{\"t\":\"recv\",\"conn\":\"s1\",\"frame\":{\"type\":\"control_response\",\"response\":"       \
    "{\"subtype\":\"success\",\"request_id\":\"" id "\"}}}\n"
#define ERR(id, sub)                                                                               \
    "{\"t\":\"recv\",\"conn\":\"s1\",\"frame\":{\"type\":\"control_response\",\"response\":"       \
    "{\"subtype\":\"error\",\"request_id\":\"" id "\",\"error\":\"Unsupported control request "    \
    "subtype: " sub "\"}}}\n"
#define CLI_ANS(id)                                                                                \
    "{\"t\":\"send\",\"conn\":\"s1\",\"frame\":{\"type\":\"control_response\",\"response\":"       \
    "{\"subtype\":\"success\",\"request_id\":\"" id "\"}}}\n"
#define NOTE_RESP(id, sub)                                                                         \
    "{\"t\":\"ctl\",\"label\":\"client\",\"msg\":{\"t\":\"note\",\"what\":\"response\","           \
    "\"request_id\":\"" id "\",\"for\":\"" sub "\"}}\n"
#define NOTE_FOR(sub)                                                                              \
    "{\"t\":\"ctl\",\"label\":\"client\",\"msg\":{\"t\":\"note\",\"what\":\"response\","           \
    "\"for\":\"" sub "\"}}\n"
#define RESULT "{\"t\":\"send\",\"conn\":\"s1\",\"frame\":{\"type\":\"result\"}}\n"

/* The outcome of checker `name` over text, and the requirement of its first violation. */
static const char *outcome(const char *text, const char *name, char *req, size_t reqlen)
{
    static char out[32];
    char *err = NULL;
    struct hn_transcript *t = hn_transcript_load_string("t.jsonl", text, &err);

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    json_t *r = hn_claude_control_run(t, NULL);
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

static void test_flags(void)
{
    char req[32];
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1, "spawn_flags", req, 32), "pass");
    CU_ASSERT_STRING_EQUAL(
        outcome(HDR OPEN_ARGV("[\"--output-format\",\"stream-json\",\"--input-format\","
                              "\"stream-json\",\"--permission-prompt-tool\",\"stdio\"]"),
                "spawn_flags", req, 32),
        "fail");
    CU_ASSERT_STRING_EQUAL(req, "CC-SPAWN-1");
    CU_ASSERT_STRING_EQUAL(
        outcome(HDR OPEN_ARGV("[\"--output-format\",\"stream-json\",\"--verbose\","
                              "\"--input-format\",\"stream-json\",\"--permission-prompt-tool\","
                              "\"mcp__x\"]"),
                "spawn_flags", req, 32),
        "fail");
    CU_ASSERT_STRING_EQUAL(req, "CC-SPAWN-2");
    /* an open record without argv (no relay) is not judged */
    CU_ASSERT_STRING_EQUAL(outcome(HDR "{\"t\":\"open\",\"conn\":\"s1\",\"role\":\"server\"}\n",
                                   "spawn_flags", req, 32),
                           "not_exercised");
}

static void test_initialize_first(void)
{
    char req[32];
    CU_ASSERT_STRING_EQUAL(
        outcome(HDR OPEN1 INIT("i1") OWN("i2", "interrupt"), "initialize_first", req, 32), "pass");
    CU_ASSERT_STRING_EQUAL(
        outcome(HDR OPEN1 OWN("i2", "interrupt") INIT("i1"), "initialize_first", req, 32), "fail");
    CU_ASSERT_STRING_EQUAL(req, "CC-INIT-1");
}

static void test_answers(void)
{
    char req[32];
    CU_ASSERT_STRING_EQUAL(
        outcome(HDR OPEN1 REQ("p1", "can_use_tool") ANS("p1"), "answer_once", req, 32), "pass");
    CU_ASSERT_STRING_EQUAL(
        outcome(HDR OPEN1 REQ("p1", "can_use_tool") ANS("p1") ANS("p1"), "answer_once", req, 32),
        "fail");
    CU_ASSERT_STRING_EQUAL(req, "CC-CTL-1");
    CU_ASSERT_STRING_EQUAL(
        outcome(HDR OPEN1 REQ("p1", "can_use_tool") ANS("tu-1"), "answer_once", req, 32), "fail");
    CU_ASSERT_STRING_EQUAL(req, "CC-CTL-1");
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1 INIT("i1") INIT("i1"), "fresh_request_ids", req, 32),
                           "fail");
    CU_ASSERT_STRING_EQUAL(req, "CC-CTL-5");
    CU_ASSERT_STRING_EQUAL(
        outcome(
            HDR OPEN1 REQ(
                "p1",
                "can_use_tool") "{\"t\":\"send\",\"conn\":\"s1\",\"frame\":{\"type\":"
                                "\"control_cancel_request\",\"request_id\":\"p1\"}}\n" ANS("p1"),
            "no_answer_after_cancel", req, 32),
        "fail");
    CU_ASSERT_STRING_EQUAL(req, "CC-CTL-3");
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1 REQ("r1", "frob") REQ("r2", "zap") ERR("r2", "zap"),
                                   "unknown_subtype_error", req, 32),
                           "fail");
    CU_ASSERT_STRING_EQUAL(req, "CC-CTL-2");
}

static void test_responses_matched(void)
{
    char req[32];
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1 INIT("i1") OWN("i2", "interrupt") CLI_ANS("i2")
                                       NOTE_RESP("i2", "interrupt"),
                                   "responses_matched", req, 32),
                           "pass");
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1 INIT("i1") OWN("i2", "interrupt") CLI_ANS("i2")
                                       NOTE_RESP("i1", "initialize"),
                                   "responses_matched", req, 32),
                           "fail");
    CU_ASSERT_STRING_EQUAL(req, "CC-CTL-6");
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1 INIT("i1") CLI_ANS("i1") NOTE_RESP("i1", "interrupt"),
                                   "responses_matched", req, 32),
                           "fail");
    /* a note with the subtype only (an SDK adapter knows no ids): counted against the answers */
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1 INIT("i1") OWN("i2", "interrupt") CLI_ANS("i2")
                                       NOTE_FOR("interrupt") CLI_ANS("i1") NOTE_FOR("initialize"),
                                   "responses_matched", req, 32),
                           "pass");
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1 INIT("i1") OWN("i2", "interrupt") CLI_ANS("i2")
                                       NOTE_FOR("initialize"),
                                   "responses_matched", req, 32),
                           "fail");
    CU_ASSERT_STRING_EQUAL(req, "CC-CTL-6");
}

static void test_turns(void)
{
    char req[32];
    const char *close_client =
        "{\"t\":\"close\",\"conn\":\"s1\",\"by\":\"client\",\"code\":1000}\n";
    const char *close_act = "{\"t\":\"ctl_send\",\"label\":\"client\",\"msg\":{\"t\":\"act\","
                            "\"id\":1,\"act\":{\"close\":{}}}}\n";
    char buf[2048];

    snprintf(buf, sizeof(buf), HDR OPEN1 RESULT "%s", close_client);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "input_open_after_result", req, 32), "fail");
    CU_ASSERT_STRING_EQUAL(req, "CC-TURN-2");
    snprintf(buf, sizeof(buf), HDR OPEN1 RESULT "%s%s", close_act, close_client);
    CU_ASSERT_STRING_EQUAL(outcome(buf, "input_open_after_result", req, 32), "pass");
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1 REQ("r1", "mcp_status") ERR("r1", "mcp_status")
                                       RESULT REQ("r2", "mcp_status"),
                                   "control_after_result", req, 32),
                           "fail");
    CU_ASSERT_STRING_EQUAL(req, "CC-TURN-1");
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1 REQ("r1", "mcp_status") ERR("r1", "mcp_status")
                                       RESULT REQ("r2", "mcp_status") ERR("r2", "mcp_status"),
                                   "control_after_result", req, 32),
                           "pass");
    /* silent before the result too: that is CC-CTL-2's, not a change at the result */
    CU_ASSERT_STRING_EQUAL(outcome(HDR OPEN1 REQ("r1", "mcp_status") RESULT REQ("r2", "x"),
                                   "control_after_result", req, 32),
                           "not_exercised");
}

static void test_dialect(void)
{
    const struct hn_dialect *d = hn_dialect_for("claude-control/1");
    CU_ASSERT_PTR_EQUAL(d, &hn_dialect_claude_control1);
    CU_ASSERT_TRUE(d->wire.server_role);
    CU_ASSERT_STRING_EQUAL(d->sentinel_requirement, "CC-CTL-2");
    CU_ASSERT_STRING_EQUAL(d->case_dir, "cases/claude-control-1");
    json_t *reply = json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "control_response", "response",
                              "subtype", "error", "request_id", "gwspec-sentinel-1", "error",
                              "Unsupported control request subtype: gwspec_sentinel");
    CU_ASSERT_STRING_EQUAL(d->sentinel_reply(reply), "gwspec-sentinel-1");
    json_decref(reply);
}

static CU_TestInfo cc_tests[] = {
    {"spawn_flags: CC-SPAWN-1 and CC-SPAWN-2, both flag forms", test_flags},
    {"initialize_first", test_initialize_first},
    {"answers: once, own id, fresh ids, cancel, the unknown subtype", test_answers},
    {"responses_matched: the note against the frames", test_responses_matched},
    {"turns: stdin after a result, control after a result", test_turns},
    {"the dialect: selection, sentinel", test_dialect},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_claude_control_suites[] = {
    {"hn_claude_control", NULL, NULL, NULL, NULL, cc_tests},
    CU_SUITE_INFO_NULL,
};
