/*
 * mock-providers/tests/test_personas.c: golden native output of each persona's encoders, their
 * argv parsing, and what each reports as unsupported. uuids are masked to "U" before comparing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "../personas/persona.h"
#include "wc_mem.h"

/* The `errors` entry of the claude persona's error result. */
#define ERRTEXT "gwspec: the scripted provider completed with a non-zero status"

/* Replace every "uuid":"<36 chars>" by "uuid":"U" in place. */
static void mask_uuids(char *s)
{
    char *p = s;

    while ((p = strstr(p, "\"uuid\":\"")) != NULL) {
        p += 8;
        if (strlen(p) >= 37 && p[36] == '"') {
            p[0] = 'U';
            memmove(p + 1, p + 36, strlen(p + 36) + 1);
        }
    }
}

static void expect_text(struct wc_buf *b, const char *want, int line)
{
    mask_uuids(b->buf);
    b->len = strlen(b->buf);
    if (strcmp(b->buf, want) != 0) {
        fprintf(stderr, "\n  golden mismatch (test line %d)\n  got:\n%s  want:\n%s", line, b->buf,
                want);
        CU_FAIL("golden output");
    }
    wc_buf_reset(b);
}
#define EXPECT_OUT(b, want) expect_text((b), (want), __LINE__)

static json_t *ev(const char *json)
{
    json_t *v = json_loads(json, 0, NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    return v;
}

/* Feed one event (JSON text) through persona p. */
static void feed(const struct mp_persona *p, struct mp_persona_state *s, const char *json,
                 struct wc_buf *out, struct wc_buf *err)
{
    json_t *e = ev(json);

    CU_ASSERT_PTR_NULL(p->check(NULL, e));
    p->event(s, e, out, err);
    json_decref(e);
}

static void expect_unsupported(const struct mp_persona *p, const char *kind, const char *reason)
{
    json_t *e = json_pack("{s:s}", "kind", kind);
    const char *got = p->check(NULL, e);

    CU_ASSERT_PTR_NOT_NULL(got);
    if (got && reason)
        CU_ASSERT_STRING_EQUAL(got, reason);
    json_decref(e);
}

static void test_personas_claude_golden(void)
{
    const struct mp_persona *p = &mp_persona_claude;
    struct mp_persona_state s;
    struct mp_persona_input in = {0};
    struct wc_buf out, err;
    json_t *msg, *input = json_pack("{s:s}", "command", "ls");

    wc_buf_init(&out, 0);
    wc_buf_init(&err, 0);
    mp_persona_state_init(&s, 1);

    msg = ev("{\"type\":\"control_request\",\"request_id\":\"i1\",\"request\":{\"subtype\":"
             "\"initialize\"}}");
    p->input(&s, msg, &out, &in);
    json_decref(msg);
    CU_ASSERT(!in.prompt && !in.interrupt && !in.answered);
    EXPECT_OUT(&out, "{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\","
                     "\"request_id\":\"i1\",\"response\":{}}}\n");

    msg = ev("{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":[{\"type\":\"text\","
             "\"text\":\"a\"},{\"type\":\"image\"},{\"type\":\"text\",\"text\":\"b\"}]},\"parent_"
             "tool_use_id\":null}");
    p->input(&s, msg, &out, &in);
    json_decref(msg);
    CU_ASSERT_STRING_EQUAL(in.prompt, "a\nb");
    mp_persona_input_release(&in);

    p->announce(&s, "nat-1", &out);
    s.native_id = wc_xstrdup("nat-1");
    EXPECT_OUT(&out, "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"nat-1\",\"model\":"
                     "\"gwspec-mock\",\"tools\":[],\"uuid\":\"U\"}\n");

    feed(p, &s, "{\"kind\":\"text\",\"content\":\"hi\",\"usage\":{\"input_tokens\":3}}", &out,
         &err);
    feed(p, &s, "{\"kind\":\"thinking\",\"content\":\"hmm\"}", &out, &err);
    feed(p, &s,
         "{\"kind\":\"tool_use\",\"toolName\":\"Bash\",\"toolInput\":{\"command\":\"ls\"},"
         "\"toolId\":\"t1\",\"sessionId\":\"leak\"}",
         &out, &err);
    feed(p, &s, "{\"kind\":\"tool_result\",\"toolId\":\"t1\",\"content\":\"out\",\"isError\":true}",
         &out, &err);
    /* without --include-partial-messages: a delta is a whole text message, no stream_end */
    feed(p, &s, "{\"kind\":\"stream_delta\",\"content\":\"d\"}", &out, &err);
    expect_unsupported(p, "stream_end",
                       "claude writes no stream_end without --include-partial-messages");
    feed(p, &s, "{\"kind\":\"session_created\",\"newSessionId\":\"nat-2\"}", &out, &err);
    EXPECT_OUT(
        &out, "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_gwspec_0\",\"type\":\"message\","
              "\"role\":\"assistant\",\"model\":\"gwspec-mock\",\"content\":[{\"type\":\"text\","
              "\"text\":\"hi\"}],\"stop_reason\":null,\"usage\":{\"input_tokens\":3}},"
              "\"parent_tool_use_id\":null,\"session_id\":\"nat-1\",\"uuid\":\"U\"}\n"
              "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_gwspec_1\",\"type\":\"message\","
              "\"role\":\"assistant\",\"model\":\"gwspec-mock\",\"content\":[{\"type\":"
              "\"thinking\",\"thinking\":\"hmm\",\"signature\":\"\"}],\"stop_reason\":null},"
              "\"parent_tool_use_id\":null,\"session_id\":\"nat-1\",\"uuid\":\"U\"}\n"
              "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_gwspec_2\",\"type\":\"message\","
              "\"role\":\"assistant\",\"model\":\"gwspec-mock\",\"content\":[{\"type\":\"tool_"
              "use\",\"id\":\"t1\",\"name\":\"Bash\",\"input\":{\"command\":\"ls\"}}],\"stop_"
              "reason\":null},\"parent_tool_use_id\":null,\"session_id\":\"leak\",\"uuid\":\"U\"}\n"
              "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":[{\"type\":\"tool_"
              "result\",\"tool_use_id\":\"t1\",\"content\":\"out\",\"is_error\":true}]},\"parent_"
              "tool_use_id\":null,\"session_id\":\"nat-1\",\"uuid\":\"U\"}\n"
              "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_gwspec_3\",\"type\":\"message\","
              "\"role\":\"assistant\",\"model\":\"gwspec-mock\",\"content\":[{\"type\":\"text\","
              "\"text\":\"d\"}],\"stop_reason\":null},\"parent_tool_use_id\":null,\"session_id\":"
              "\"nat-1\",\"uuid\":\"U\"}\n"
              "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"nat-2\",\"model\":"
              "\"gwspec-mock\",\"tools\":[],\"uuid\":\"U\"}\n");

    /* with --include-partial-messages: stream_event lines */
    {
        char *pargv[] = {"--include-partial-messages", NULL};
        struct mp_persona_args pa = {0};
        char *perr = NULL;
        CU_ASSERT_EQUAL(p->parse_args(1, pargv, &pa, &perr), 0);
        mp_persona_args_release(&pa);
    }
    feed(p, &s, "{\"kind\":\"stream_delta\",\"content\":\"d\"}", &out, &err);
    feed(p, &s, "{\"kind\":\"stream_end\"}", &out, &err);
    EXPECT_OUT(&out,
               "{\"type\":\"stream_event\",\"event\":{\"type\":\"content_block_delta\",\"index\":0,"
               "\"delta\":{\"type\":\"text_delta\",\"text\":\"d\"}},\"parent_tool_use_id\":null,"
               "\"session_id\":\"nat-1\",\"uuid\":\"U\"}\n"
               "{\"type\":\"stream_event\",\"event\":{\"type\":\"content_block_stop\",\"index\":0},"
               "\"parent_tool_use_id\":null,\"session_id\":\"nat-1\",\"uuid\":\"U\"}\n");
    {
        char *pargv[] = {NULL};
        struct mp_persona_args pa = {0};
        char *perr = NULL;
        CU_ASSERT_EQUAL(p->parse_args(0, pargv, &pa, &perr), 0);
        mp_persona_args_release(&pa);
    }

    /* permission round trip: allow, then deny, then an SDK error (cancelled) */
    p->permission(&s, "Bash", input, &out);
    EXPECT_OUT(&out, "{\"type\":\"control_request\",\"request_id\":\"gwspec-perm-0\",\"request\":{"
                     "\"subtype\":\"can_use_tool\",\"tool_name\":\"Bash\",\"input\":{\"command\":"
                     "\"ls\"},\"tool_use_id\":\"toolu_gwspec_perm_0\"}}\n");
    msg = ev("{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\",\"request_id\":"
             "\"other\",\"response\":{\"behavior\":\"allow\"}}}");
    p->input(&s, msg, &out, &in);
    json_decref(msg);
    CU_ASSERT_FALSE(in.answered); /* not ours */
    msg = ev("{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\",\"request_id\":"
             "\"gwspec-perm-0\",\"response\":{\"behavior\":\"allow\",\"updatedInput\":{}}}}");
    p->input(&s, msg, &out, &in);
    json_decref(msg);
    CU_ASSERT(in.answered && in.allow && !in.cancelled && !in.reason);
    CU_ASSERT_STRING_EQUAL(in.request_id, "gwspec-perm-0");
    mp_persona_input_release(&in);
    p->permission(&s, "Write", input, &out);
    wc_buf_reset(&out);
    msg = ev("{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\",\"request_id\":"
             "\"gwspec-perm-1\",\"response\":{\"behavior\":\"deny\",\"message\":\"no\"}}}");
    p->input(&s, msg, &out, &in);
    json_decref(msg);
    CU_ASSERT(in.answered && !in.allow && !in.cancelled && in.reason &&
              strcmp(in.reason, "no") == 0);
    mp_persona_input_release(&in);
    p->permission(&s, "Write", input, &out);
    wc_buf_reset(&out);
    msg = ev("{\"type\":\"control_response\",\"response\":{\"subtype\":\"error\",\"request_id\":"
             "\"gwspec-perm-2\",\"error\":\"aborted\"}}");
    p->input(&s, msg, &out, &in);
    json_decref(msg);
    CU_ASSERT(in.answered && !in.allow && in.cancelled && in.reason &&
              strcmp(in.reason, "aborted") == 0);
    mp_persona_input_release(&in);

    msg = ev("{\"type\":\"control_request\",\"request_id\":\"x9\",\"request\":{\"subtype\":"
             "\"interrupt\"}}");
    p->input(&s, msg, &out, &in);
    json_decref(msg);
    CU_ASSERT_TRUE(in.interrupt);
    EXPECT_OUT(&out, "{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\","
                     "\"request_id\":\"x9\",\"response\":{}}}\n");
    mp_persona_input_release(&in);

    feed(p, &s, "{\"kind\":\"complete\",\"exitCode\":0,\"usage\":{\"output_tokens\":1}}", &out,
         &err);
    feed(p, &s, "{\"kind\":\"complete\",\"exitCode\":3}", &out, &err);
    CU_ASSERT_EQUAL(p->ended(&s, MP_END_ABORTED, 0, &out), 0);
    EXPECT_OUT(
        &out,
        "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"duration_ms\":0,"
        "\"duration_api_ms\":0,\"num_turns\":1,\"result\":\"\",\"session_id\":\"nat-1\",\"total_"
        "cost_usd\":0,\"usage\":{\"output_tokens\":1},\"uuid\":\"U\"}\n"
        "{\"type\":\"result\",\"subtype\":\"error_during_execution\",\"is_error\":true,\"duration_"
        "ms\":0,\"duration_api_ms\":0,\"num_turns\":1,\"result\":\"\",\"session_id\":\"nat-1\","
        "\"total_cost_usd\":0,\"errors\":[\"" ERRTEXT "\"],\"uuid\":\"U\"}\n"
        "{\"type\":\"result\",\"subtype\":\"error_during_execution\",\"is_error\":true,\"duration_"
        "ms\":0,\"duration_api_ms\":0,\"num_turns\":1,\"result\":\"\",\"session_id\":\"nat-1\","
        "\"total_cost_usd\":0,\"errors\":[\"" ERRTEXT "\"],\"uuid\":\"U\"}"
        "\n");
    CU_ASSERT_EQUAL(p->ended(&s, MP_END_CRASHED, 2, &out), 2);
    CU_ASSERT_EQUAL(out.len, 0);
    CU_ASSERT_EQUAL(err.len, 0);

    expect_unsupported(p, "error", "claude has no native form for kind 'error'");
    expect_unsupported(p, "status", NULL);
    expect_unsupported(p, "permission_request", NULL);
    json_decref(input);
    mp_persona_state_release(&s);
    wc_buf_release(&out);
    wc_buf_release(&err);
}

static void test_personas_cursor_golden(void)
{
    const struct mp_persona *p = &mp_persona_cursor;
    struct mp_persona_state s;
    struct wc_buf out, err;
    struct mp_step perm = {.type = MP_STEP_PERMISSION}, emit = {.type = MP_STEP_EMIT};

    wc_buf_init(&out, 0);
    wc_buf_init(&err, 0);
    mp_persona_state_init(&s, 1);
    p->announce(&s, "nat-1", &out);
    s.native_id = wc_xstrdup("nat-1");
    feed(p, &s, "{\"kind\":\"stream_delta\",\"content\":\"a\"}", &out, &err);
    feed(p, &s, "{\"kind\":\"text\",\"content\":\"b\",\"sessionId\":\"leak\"}", &out, &err);
    feed(p, &s, "{\"kind\":\"error\",\"content\":\"bad thing\"}", &out, &err);
    feed(p, &s, "{\"kind\":\"session_created\",\"newSessionId\":\"nat-2\"}", &out, &err);
    feed(p, &s, "{\"kind\":\"complete\",\"exitCode\":0}", &out, &err);
    feed(p, &s, "{\"kind\":\"complete\",\"exitCode\":1}", &out, &err);
    EXPECT_OUT(&out, "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"nat-1\",\"model\":"
                     "\"gwspec-mock\"}\n"
                     "{\"type\":\"assistant\",\"message\":{\"role\":\"assistant\",\"content\":[{"
                     "\"type\":\"text\",\"text\":\"a\"}]},\"session_id\":\"nat-1\"}\n"
                     "{\"type\":\"assistant\",\"message\":{\"role\":\"assistant\",\"content\":[{"
                     "\"type\":\"text\",\"text\":\"b\"}]},\"session_id\":\"leak\"}\n"
                     "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"nat-2\",\"model\":"
                     "\"gwspec-mock\"}\n"
                     "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"duration_"
                     "ms\":0,\"result\":\"\",\"session_id\":\"nat-1\"}\n"
                     "{\"type\":\"result\",\"subtype\":\"error\",\"is_error\":true,\"duration_ms\":"
                     "0,\"result\":\"\",\"session_id\":\"nat-1\"}\n");
    EXPECT_OUT(&err, "bad thing");
    CU_ASSERT_EQUAL(p->ended(&s, MP_END_COMPLETED, 4, &out), 4);
    CU_ASSERT_STRING_EQUAL(p->check(&perm, NULL),
                           "cursor-agent stream-json has no permission requests");
    CU_ASSERT_PTR_NULL(p->check(&emit, NULL));
    expect_unsupported(p, "thinking", "cursor-agent has no native form for kind 'thinking'");
    expect_unsupported(p, "tool_use", NULL);
    expect_unsupported(p, "status", NULL);
    mp_persona_state_release(&s);
    wc_buf_release(&out);
    wc_buf_release(&err);
}

static void test_personas_codex_golden(void)
{
    const struct mp_persona *p = &mp_persona_codex;
    struct mp_persona_state s;
    struct wc_buf out, err;
    struct mp_step perm = {.type = MP_STEP_PERMISSION};

    wc_buf_init(&out, 0);
    wc_buf_init(&err, 0);
    mp_persona_state_init(&s, 1);
    p->announce(&s, "nat-1", &out);
    s.native_id = wc_xstrdup("nat-1");
    feed(p, &s, "{\"kind\":\"stream_delta\",\"content\":\"a\"}", &out, &err);
    feed(p, &s, "{\"kind\":\"text\",\"content\":\"b\"}", &out, &err);
    feed(p, &s, "{\"kind\":\"thinking\",\"content\":\"c\"}", &out, &err);
    feed(p, &s,
         "{\"kind\":\"tool_use\",\"toolName\":\"Bash\",\"toolInput\":{\"command\":\"ls\"},"
         "\"output\":\"x\",\"exitCode\":2}",
         &out, &err);
    feed(p, &s, "{\"kind\":\"tool_use\",\"toolName\":\"Read\",\"toolInput\":{\"path\":\"/a\"}}",
         &out, &err);
    feed(p, &s, "{\"kind\":\"error\",\"content\":\"e\"}", &out, &err);
    feed(p, &s, "{\"kind\":\"complete\",\"exitCode\":0}", &out, &err);
    feed(p, &s, "{\"kind\":\"complete\",\"exitCode\":2}", &out, &err);
    feed(p, &s, "{\"kind\":\"session_created\",\"newSessionId\":\"nat-2\"}", &out, &err);
    EXPECT_OUT(&out, "{\"type\":\"thread.started\",\"thread_id\":\"nat-1\"}\n"
                     "{\"type\":\"turn.started\"}\n"
                     "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_0\",\"type\":\"agent_"
                     "message\",\"text\":\"a\"}}\n"
                     "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_1\",\"type\":\"agent_"
                     "message\",\"text\":\"b\"}}\n"
                     "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_2\",\"type\":"
                     "\"reasoning\",\"text\":\"c\"}}\n"
                     "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_3\",\"type\":\"command_"
                     "execution\",\"command\":\"ls\",\"aggregated_output\":\"x\",\"exit_code\":2,"
                     "\"status\":\"completed\"}}\n"
                     "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_4\",\"type\":\"mcp_tool_"
                     "call\",\"server\":\"gwspec\",\"tool\":\"Read\",\"arguments\":{\"path\":\"/"
                     "a\"},\"result\":null,\"error\":null,\"status\":\"completed\"}}\n"
                     "{\"type\":\"error\",\"message\":\"e\"}\n"
                     "{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":0,\"cached_input_"
                     "tokens\":0,\"output_tokens\":0}}\n"
                     "{\"type\":\"turn.failed\",\"error\":{\"message\":\"gwspec: exit code 2\"}}\n"
                     "{\"type\":\"thread.started\",\"thread_id\":\"nat-2\"}\n");
    CU_ASSERT_EQUAL(err.len, 0);
    CU_ASSERT_STRING_EQUAL(p->check(&perm, NULL), "codex exec has no permission requests");
    expect_unsupported(p, "status", "codex has no native form for kind 'status'");
    expect_unsupported(p, "tool_result", NULL);
    expect_unsupported(p, "stream_end", NULL);
    mp_persona_state_release(&s);
    wc_buf_release(&out);
    wc_buf_release(&err);
}

static void test_personas_opencode_golden(void)
{
    const struct mp_persona *p = &mp_persona_opencode;
    struct mp_persona_state s;
    struct wc_buf out, err;

    wc_buf_init(&out, 0);
    wc_buf_init(&err, 0);
    mp_persona_state_init(&s, 1);
    feed(p, &s, "{\"kind\":\"text\",\"content\":\"before announce\"}", &out, &err);
    p->announce(&s, "nat-1", &out);
    s.native_id = wc_xstrdup("nat-1");
    feed(p, &s, "{\"kind\":\"stream_delta\",\"content\":\"a\"}", &out, &err);
    feed(p, &s, "{\"kind\":\"thinking\",\"content\":\"t\"}", &out, &err);
    feed(p, &s,
         "{\"kind\":\"tool_use\",\"toolName\":\"bash\",\"toolId\":\"c1\",\"toolInput\":{"
         "\"command\":\"ls\"},\"toolResult\":{\"content\":\"files\",\"isError\":false}}",
         &out, &err);
    feed(p, &s,
         "{\"kind\":\"tool_use\",\"toolName\":\"bash\",\"toolId\":\"c2\",\"toolResult\":{"
         "\"content\":\"denied\",\"isError\":true}}",
         &out, &err);
    feed(p, &s, "{\"kind\":\"error\",\"content\":\"e\"}", &out, &err);
    feed(p, &s, "{\"kind\":\"stream_end\"}", &out, &err);
    feed(p, &s, "{\"kind\":\"session_created\",\"newSessionId\":\"nat-2\"}", &out, &err);
    feed(p, &s, "{\"kind\":\"complete\",\"exitCode\":2}", &out, &err);
    EXPECT_OUT(&out, "{\"type\":\"text\",\"text\":\"before announce\"}\n"
                     "{\"type\":\"step_start\",\"sessionID\":\"nat-1\"}\n"
                     "{\"type\":\"text\",\"sessionID\":\"nat-1\",\"text\":\"a\"}\n"
                     "{\"type\":\"reasoning\",\"sessionID\":\"nat-1\",\"text\":\"t\"}\n"
                     "{\"type\":\"tool_use\",\"sessionID\":\"nat-1\",\"tool\":\"bash\",\"callID\":"
                     "\"c1\",\"input\":{\"command\":\"ls\"},\"output\":\"files\"}\n"
                     "{\"type\":\"tool_use\",\"sessionID\":\"nat-1\",\"tool\":\"bash\",\"callID\":"
                     "\"c2\",\"input\":{},\"error\":\"denied\"}\n"
                     "{\"type\":\"error\",\"sessionID\":\"nat-1\",\"message\":\"e\"}\n"
                     "{\"type\":\"step_finish\",\"sessionID\":\"nat-1\"}\n"
                     "{\"type\":\"step_start\",\"sessionID\":\"nat-2\"}\n");
    /* a complete writes nothing: its exitCode is the exit status of a run that ends with 0 */
    CU_ASSERT_EQUAL(p->ended(&s, MP_END_COMPLETED, 0, &out), 2);
    CU_ASSERT_EQUAL(p->ended(&s, MP_END_COMPLETED, 5, &out), 5);
    CU_ASSERT_EQUAL(p->ended(&s, MP_END_ABORTED, 0, &out), 0);
    CU_ASSERT_EQUAL(out.len, 0);
    expect_unsupported(p, "status", "opencode has no native form for kind 'status'");
    expect_unsupported(p, "tool_result", NULL);
    mp_persona_state_release(&s);
    wc_buf_release(&out);
    wc_buf_release(&err);
}

/* argv parsing: prompt, resume, cwd and options for each CLI's real argument list */
static void test_personas_parse_args(void)
{
    static const struct {
        const struct mp_persona *p;
        const char *args[24];
        const char *prompt, *resume, *cwd, *options;
    } rows[] = {
        {&mp_persona_claude,
         {"--output-format", "stream-json", "--verbose", "--input-format", "stream-json", "--model",
          "m", "--permission-prompt-tool", "stdio", "--resume", "nat-0", "--tools", "default",
          "--setting-sources=project,user,local", "--permission-mode", "default", NULL},
         NULL,
         "nat-0",
         NULL,
         "{\"input-format\":\"stream-json\",\"model\":\"m\",\"output-format\":\"stream-json\","
         "\"permission-mode\":\"default\",\"permission-prompt-tool\":\"stdio\",\"resume\":\"nat-"
         "0\","
         "\"setting-sources\":\"project,user,local\",\"tools\":\"default\",\"verbose\":true}"},
        {&mp_persona_cursor,
         {"--resume=nat-0", "-p", "hello gwspec:{}", "--model", "m", "--output-format",
          "stream-json", "-f", "--trust", NULL},
         "hello gwspec:{}",
         "nat-0",
         NULL,
         "{\"f\":true,\"model\":\"m\",\"output-format\":\"stream-json\",\"resume\":\"nat-0\","
         "\"trust\":true}"},
        {&mp_persona_codex,
         {"exec", "--experimental-json", "--model", "m", "--sandbox", "workspace-write", "--cd",
          "/p", "--skip-git-repo-check", "--config", "model_reasoning_effort=\"high\"", "--config",
          "approval_policy=\"never\"", "resume", "th-1", NULL},
         NULL,
         "th-1",
         "/p",
         "{\"cd\":\"/p\",\"config\":[\"model_reasoning_effort=\\\"high\\\"\","
         "\"approval_policy=\\\"never\\\"\"],\"experimental-json\":true,\"model\":\"m\","
         "\"sandbox\":\"workspace-write\",\"skip-git-repo-check\":true}"},
        {&mp_persona_codex,
         {"exec", "--experimental-json", "--", "the prompt", NULL},
         "the prompt",
         NULL,
         NULL,
         "{\"experimental-json\":true}"},
        {&mp_persona_opencode,
         {"run", "--format", "json", "--dir", "/p", "--session", "ses_1", "--model", "m", "--auto",
          "do it", NULL},
         "do it",
         "ses_1",
         "/p",
         "{\"auto\":true,\"dir\":\"/"
         "p\",\"format\":\"json\",\"model\":\"m\",\"session\":\"ses_1\"}"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct mp_persona_args a = {0};
        char *err = NULL, *opts;
        int argc = 0;

        while (rows[i].args[argc])
            argc++;
        CU_ASSERT_EQUAL_FATAL(rows[i].p->parse_args(argc, (char **)rows[i].args, &a, &err), 0);
#define SAME(x, y) ((!(x) && !(y)) || ((x) && (y) && strcmp((x), (y)) == 0))
        CU_ASSERT(SAME(a.prompt, rows[i].prompt));
        CU_ASSERT(SAME(a.resume, rows[i].resume));
        CU_ASSERT(SAME(a.cwd, rows[i].cwd));
        opts = wc_json_canon(a.options);
        if (strcmp(opts, rows[i].options) != 0) {
            fprintf(stderr, "\n  row %zu options: %s\n", i, opts);
            CU_FAIL("options");
        }
        free(opts);
        mp_persona_args_release(&a);
    }
}

static void test_personas_parse_args_errors(void)
{
    static const struct {
        const struct mp_persona *p;
        const char *args[4];
        const char *err;
    } rows[] = {
        {&mp_persona_cursor, {"--model", "m", NULL}, "cursor-agent: missing -p <prompt>"},
        {&mp_persona_cursor, {"-p", NULL}, "option -p needs a value"},
        {&mp_persona_codex, {"--experimental-json", NULL}, "codex: expected 'exec'"},
        {&mp_persona_opencode, {"run", NULL}, "opencode: expected 'run ... <prompt>'"},
        {&mp_persona_claude, {"--model", NULL}, "option --model needs a value"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct mp_persona_args a = {0};
        char *err = NULL;
        int argc = 0;

        while (rows[i].args[argc])
            argc++;
        CU_ASSERT_EQUAL(rows[i].p->parse_args(argc, (char **)rows[i].args, &a, &err), -1);
        CU_ASSERT(err && strcmp(err, rows[i].err) == 0);
        free(err);
        mp_persona_args_release(&a);
    }
    CU_ASSERT_PTR_EQUAL(mp_persona_find("cursor"), &mp_persona_cursor);
    CU_ASSERT_PTR_EQUAL(mp_persona_find("cursor-agent"), &mp_persona_cursor);
    CU_ASSERT_PTR_EQUAL(mp_persona_find("claude"), &mp_persona_claude);
    CU_ASSERT_PTR_NULL(mp_persona_find("gwspec-provider"));
}

static CU_TestInfo persona_tests[] = {
    {"claude_golden", test_personas_claude_golden},
    {"cursor_golden", test_personas_cursor_golden},
    {"codex_golden", test_personas_codex_golden},
    {"opencode_golden", test_personas_opencode_golden},
    {"parse_args", test_personas_parse_args},
    {"parse_args_errors", test_personas_parse_args_errors},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo mp_personas_suites[] = {
    {.pName = "mp_personas", .pTests = persona_tests},
    CU_SUITE_INFO_NULL,
};
