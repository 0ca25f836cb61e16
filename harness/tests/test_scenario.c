/* test_scenario.c: CUnit tests for harness/model/scenario.c (suite hn_scenario): loading, every
 * lint error with its exact file:line:col, matrix expansion, variables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "model/scenario.h"
#include "wc_json.h"
#include "wc_mem.h"

static const char *REQS =
    "version: chatgw/1.0\n"
    "requirements:\n"
    "  - {id: R-ABORT-1, level: MUST, section: 6, title: a}\n"
    "  - {id: R-TERM-1, level: MUST, section: 5, title: b}\n"
    "  - {id: R-LIMIT-1, level: SHOULD, section: 1, title: c}\n"
    "  - {id: R-MAP-4, level: MAY, section: 10, title: d}\n"
    "  - {id: R-FAN-1, level: MUST, section: 8, capability: fan-out, title: e}\n";

static const char *NAME = "cases/6-abort/6.1.2-abort-mid-stream.yaml";

static const char *GOOD =
    "id: 6.1.2-abort-mid-stream\n"                                             /* 1 */
    "title: an abort mid-stream gives exactly one aborted complete\n"          /* 2 */
    "spec: [R-ABORT-1, R-TERM-1]\n"                                            /* 3 */
    "tags: [abort]\n"                                                          /* 4 */
    "description: >\n"                                                         /* 5 */
    "  The provider streams, then the client aborts.\n"                        /* 6 */
    "expectation: one complete{aborted:true}\n"                                /* 7 */
    "sessions:\n"                                                              /* 8 */
    "  s1: {provider: claude}\n"                                               /* 9 */
    "providers:\n"                                                             /* 10 */
    "  s1:\n"                                                                  /* 11 */
    "    - announce: auto\n"                                                   /* 12 */
    "    - emit: {kind: stream_delta, content: a}\n"                           /* 13 */
    "    - barrier: hold\n"                                                    /* 14 */
    "    - complete: 0\n"                                                      /* 15 */
    "steps:\n"                                                                 /* 16 */
    "  - connect: c1\n"                                                        /* 17 */
    "  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.s1}}\n" /* 18 */
    "  - expect: {c1: {kind: stream_delta, seq: $n1, sessionId: $s1}}\n"       /* 19 */
    "  - reached: {s1: hold}\n"                                                /* 20 */
    "  - send: {c1: {type: chat.abort, sessionId: $s1, n: $n1}}\n"             /* 21 */
    "  - expect: {c1: {kind: complete, aborted: true, success: false}}\n"      /* 22 */
    "  - provider_done: {s1: aborted}\n"                                       /* 23 */
    "  - quiet: c1\n"                                                          /* 24 */
    "  - expect: {c1: none}\n";                                                /* 25 */

static struct hn_spec *spec;

static int setup(void)
{
    char *err = NULL;
    spec = hn_spec_load_string("requirements.yaml", REQS, &err);
    if (!spec) {
        fprintf(stderr, "spec: %s\n", err);
        free(err);
        return 1;
    }
    return 0;
}

static int teardown(void)
{
    hn_spec_free(spec);
    return 0;
}

/* Load text; returns the errors array (new). */
static json_t *load(const char *name, const char *text, struct hn_caselist *out)
{
    json_t *errs = json_array();
    hn_case_load_string(name, text, spec, out, errs);
    return errs;
}

/* Replace the first occurrence of `from` in GOOD by `to`. */
static char *edit(const char *base, const char *from, const char *to)
{
    const char *p = strstr(base, from);
    if (!p) {
        fprintf(stderr, "edit: '%s' not found\n", from);
        return strdup(base);
    }
    size_t n = strlen(base) - strlen(from) + strlen(to) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%.*s%s%s", (int)(p - base), base, to, p + strlen(from));
    return s;
}

/* Expect exactly one error, equal to want. */
static void lint_one(const char *text, const char *want)
{
    struct hn_caselist l = {0};
    json_t *errs = load(NAME, text, &l);
    const char *got = json_string_value(json_array_get(errs, 0));
    if (json_array_size(errs) != 1 || !got || strcmp(got, want)) {
        fprintf(stderr, "\n  want: %s\n", want);
        for (size_t i = 0; i < json_array_size(errs); i++)
            fprintf(stderr, "  got:  %s\n", json_string_value(json_array_get(errs, i)));
    }
    CU_ASSERT_EQUAL(json_array_size(errs), 1);
    CU_ASSERT_PTR_NOT_NULL(got);
    if (got)
        CU_ASSERT_STRING_EQUAL(got, want);
    CU_ASSERT_EQUAL(l.n, 0);
    hn_caselist_release(&l);
    json_decref(errs);
}

static void lint_edit(const char *from, const char *to, const char *want)
{
    char *t = edit(GOOD, from, to);
    lint_one(t, want);
    free(t);
}

/* Expect want among the errors (for cascades). */
static void lint_has(const char *from, const char *to, const char *want)
{
    struct hn_caselist l = {0};
    char *t = edit(GOOD, from, to);
    json_t *errs = load(NAME, t, &l);
    bool found = false;
    for (size_t i = 0; i < json_array_size(errs); i++)
        found = found || !strcmp(json_string_value(json_array_get(errs, i)), want);
    if (!found) {
        fprintf(stderr, "\n  want: %s\n", want);
        for (size_t i = 0; i < json_array_size(errs); i++)
            fprintf(stderr, "  got:  %s\n", json_string_value(json_array_get(errs, i)));
    }
    CU_ASSERT_TRUE(found);
    CU_ASSERT_EQUAL(l.n, 0);
    hn_caselist_release(&l);
    json_decref(errs);
    free(t);
}

static void test_good_case_loads(void)
{
    struct hn_caselist l = {0};
    json_t *errs = load(NAME, GOOD, &l);
    for (size_t i = 0; i < json_array_size(errs); i++)
        fprintf(stderr, "\n  unexpected: %s", json_string_value(json_array_get(errs, i)));
    CU_ASSERT_EQUAL(json_array_size(errs), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 1);
    struct hn_case *c = l.v[0];
    CU_ASSERT_STRING_EQUAL(c->id, "6.1.2-abort-mid-stream");
    CU_ASSERT_STRING_EQUAL(c->title, "an abort mid-stream gives exactly one aborted complete");
    CU_ASSERT_EQUAL(json_array_size(c->spec), 2);
    CU_ASSERT_EQUAL(json_array_size(c->steps), 9);
    CU_ASSERT_EQUAL(c->timeout_ms, 5000);
    CU_ASSERT_FALSE(c->strict);
    /* defaults */
    CU_ASSERT_EQUAL(json_array_size(c->ignore), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(c->ignore, 0)), "session_upserted");
    /* providers normalised to {session, script} */
    json_t *p = json_object_get(c->providers, "s1");
    CU_ASSERT_STRING_EQUAL(wc_json_str(p, "session"), "s1");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(p, "script")), 4);
    CU_ASSERT_STRING_EQUAL(hn_step_name(json_array_get(c->steps, 0)), "connect");
    /* each step's line in the file, 1-based, for reports */
    CU_ASSERT_EQUAL(json_array_size(c->step_lines), 9);
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(c->step_lines, 0)), 17);
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(c->step_lines, 2)), 19);
    hn_caselist_release(&l);
    json_decref(errs);
}

/* Issue 18: null and empty nodes, and multi-line values, still get one file:line:col line. */
static void test_null_nodes_have_positions(void)
{
    struct hn_caselist l = {0};
    char *t = edit(GOOD, "steps:\n  - connect: c1\n", "steps: ~\nx:\n  - connect: c1\n");
    json_t *errs = load(NAME, t, &l);
    bool found = false;

    for (size_t i = 0; i < json_array_size(errs); i++)
        found = found || !strcmp(json_string_value(json_array_get(errs, i)),
                                 "cases/6-abort/6.1.2-abort-mid-stream.yaml:16:1: 'steps' must be "
                                 "a list, not null");
    CU_ASSERT_TRUE(found);
    json_decref(errs);
    hn_caselist_release(&l);
    free(t);
    lint_has("  - quiet: c1\n", "  - ~\n  - quiet: c1\n",
             "cases/6-abort/6.1.2-abort-mid-stream.yaml:24:5: a step is a one-key mapping, not "
             "null");
    lint_edit("spec: [R-ABORT-1, R-TERM-1]\n", "spec: [R-ABORT-1, R-TERM-1, ~]\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:3:29: 'spec' entries must be strings, not "
              "null");
    lint_has("tags: [abort]\n", "tags: [abort]\nbogus: |\n  two\n  lines\n",
             "cases/6-abort/6.1.2-abort-mid-stream.yaml:5:1: unknown key 'bogus'");
    lint_edit("  - quiet: c1\n",
              "  - http: {method: GET, path: /api/providers/sessions/running, expect: {body: "
              "{data: {sessions: []}}}}\n"
              "  - quiet: c1\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:24:31: the case checks the body of the "
              "running list, which the runs of other cases beside it fill too: add 'own_users: "
              "true' (users no other running case has)");
    lint_edit("    - barrier: hold\n", "    -\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:12:7: script step 3: a step must be a "
              "mapping such as {emit: {...}}");
    lint_edit("    - barrier: hold\n", "    - ~\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:14:7: a step must be a mapping such as "
              "{emit: {...}}");
}

static void test_top_level_errors(void)
{
    lint_edit("id: 6.1.2-abort-mid-stream\n", "id: 6.1.2-other-name\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:1:5: id '6.1.2-other-name' differs from "
              "the file name '6.1.2-abort-mid-stream'");
    lint_edit("tags: [abort]\n", "tags: [abort]\nbogus: 1\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:5:1: unknown key 'bogus'");
    lint_edit("spec: [R-ABORT-1, R-TERM-1]\n", "spec: [R-ABORT-1, R-NOPE-9]\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:3:19: unknown requirement 'R-NOPE-9' "
              "(not in chatgw/1.0)");
    lint_edit("spec: [R-ABORT-1, R-TERM-1]\n", "spec: R-ABORT-1\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:3:7: 'spec' must be a list, not a string");
    lint_edit("title: an abort mid-stream gives exactly one aborted complete\n", "",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:1:1: case: missing required key 'title'");
    lint_edit("tags: [abort]\n", "tags: [abort]\nstrict: yes please\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:5:9: 'strict' must be true or false, "
              "not a string");
    lint_edit("tags: [abort]\n", "tags: [abort]\nneeds: [teleport]\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:5:9: unknown needs 'teleport'");
    lint_edit("steps:\n", "timeout_ms: -5\nsteps:\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:16:13: 'timeout_ms' must be between 1 and "
              "600000");
    /* order: title after spec */
    lint_edit("title: an abort mid-stream gives exactly one aborted complete\nspec: [R-ABORT-1, "
              "R-TERM-1]\n",
              "spec: [R-ABORT-1, R-TERM-1]\ntitle: an abort mid-stream gives exactly one aborted "
              "complete\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:3:1: key 'title' must come before 'spec' "
              "(order: id, title, spec, tags, needs, providers_needed, strict, description, "
              "expectation, matrix, sessions, providers, ignore, replay_cap, timeout_ms, "
              "own_target, target_settings, own_users, steps)");
    /* target_settings: a private target only, names and values checked */
    lint_edit("steps:\n", "target_settings: {retain_ms: 300}\nsteps:\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:16:19: 'target_settings' needs "
              "'own_target: true' (a setting applies to a private target)");
    lint_edit("steps:\n", "own_target: true\ntarget_settings: {Retain: 300}\nsteps:\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:19: setting name 'Retain': lower-case "
              "letters, digits and '_' only");
    lint_edit("steps:\n", "own_target: true\ntarget_settings: {retain_ms: [1]}\nsteps:\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:31: setting 'retain_ms' must be an "
              "integer or a string, not a list");
    lint_edit("steps:\n", "own_target: true\ntarget_settings: {}\nsteps:\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:18: 'target_settings' is a non-empty "
              "mapping: NAME: value (an integer or a string)");
    /* section directory */
    struct hn_caselist l = {0};
    char *t = edit(GOOD, "6.1.2-abort-mid-stream", "7.1.2-abort-mid-stream");
    json_t *errs = load("cases/6-abort/7.1.2-abort-mid-stream.yaml", t, &l);
    CU_ASSERT_EQUAL(json_array_size(errs), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(errs, 0)),
                           "cases/6-abort/7.1.2-abort-mid-stream.yaml:1:5: id "
                           "'7.1.2-abort-mid-stream' is not in section 6 of its directory");
    json_decref(errs);
    free(t);
    /* not YAML */
    errs = load(NAME, "id: [unclosed\n", &l);
    CU_ASSERT_EQUAL(json_array_size(errs), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_array_get(errs, 0)), NAME));
    json_decref(errs);
    hn_caselist_release(&l);
}

static void test_session_and_script_errors(void)
{
    lint_edit("s1: {provider: claude}", "s1: {provider: gemini}",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:9:18: unknown provider 'gemini'");
    lint_edit("s1: {provider: claude}", "s1: {provider: claude, cwd: /x}",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:9:26: unknown key 'cwd' in a session");
    /* provider script errors come from the mock providers' parser, with positions */
    {
        struct hn_caselist l = {0};
        char *t = edit(GOOD, "    - barrier: hold\n", "    - barrier: hold\n    - teleport: 1\n");
        json_t *errs = load(NAME, t, &l);
        CU_ASSERT_EQUAL(json_array_size(errs) >= 1, 1);
        const char *e = json_string_value(json_array_get(errs, 0));
        CU_ASSERT_PTR_NOT_NULL(e);
        if (e)
            CU_ASSERT_PTR_NOT_NULL(strstr(e, "6.1.2-abort-mid-stream.yaml:15:"));
        json_decref(errs);
        free(t);
        hn_caselist_release(&l);
    }
    lint_edit("  - reached: {s1: hold}\n", "  - reached: {s1: hodl}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:20:19: script 's1' has no barrier 'hodl'");
    lint_edit("  - reached: {s1: hold}\n", "  - reached: {s9: hold}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:20:15: unknown provider script 's9'");
    lint_edit("content: $script.s1}", "content: $script.s2}",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:18:59: unknown provider script 's2'");
    lint_edit("  - provider_done: {s1: aborted}\n", "  - provider_done: {s1: exploded}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:23:25: 'how' must be one of completed, "
              "crashed, aborted, error");
}

static void test_step_errors(void)
{
    lint_edit("  - connect: c1\n", "  - connect: c1\n  - teleport: c1\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:18:5: unknown step 'teleport'");
    lint_edit("  - connect: c1\n", "  - connect: c1\n    quiet: c1\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:5: a step is a one-key mapping "
              "(found 2 step keys)");
    lint_has("  - connect: c1\n", "  - connect: client1\n",
             "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:14: 'client1' is not a client name "
             "(c1, c2, ...)");
    lint_edit("  - quiet: c1\n", "  - quiet: c2\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:24:12: client 'c2' is used before it "
              "connects");
    lint_edit("  - connect: c1\n", "  - connect: {client: c1, auth: cookie}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:33: 'auth' must be query, header or "
              "both, not 'cookie'");
    lint_edit("  - connect: c1\n", "  - connect: {client: c1, tokn: none}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:27: unknown key 'tokn' in connect");
    lint_has("seq: $n1, sessionId: $s1}}", "seq: \"<integer>\", sessionId: $s1}}",
             "cases/6-abort/6.1.2-abort-mid-stream.yaml:19:45: unknown wildcard '<integer>'");
    lint_edit("n: $n1}}", "n: $n2}}",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:21:54: unbound variable 'n2'");
    lint_edit("  - expect: {c1: none}\n", "  - send_raw: {client: c1, hex: \"abc\"}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:34: 'hex' must be an even number of "
              "hex digits");
    lint_edit("  - expect: {c1: none}\n", "  - send_raw: {client: c1}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:16: send_raw: give exactly one of "
              "'text', 'hex', 'repeat', 'file'");
    lint_edit("  - expect: {c1: none}\n", "  - expect_close: {client: c1, codes: [1009, 99]}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:46: close codes are integers from "
              "1000 to 4999");
    lint_edit(
        "  - expect: {c1: none}\n", "  - restart: target\n",
        "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:14: 'restart' needs 'own_target: true'");
    lint_edit("  - expect: {c1: none}\n", "  - http: {method: FETCH, path: /x}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:20: unknown HTTP method 'FETCH'");
    lint_edit("  - expect: {c1: none}\n", "  - http: {method: GET, path: x}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:31: 'path' must start with '/'");
    lint_edit("  - expect: {c1: none}\n",
              "  - http: {method: POST, path: /x, content_length: '-5', body: {a: 1}}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:53: 'content_length' sends the header "
              "alone: drop 'body'");
    lint_edit("  - expect: {c1: none}\n",
              "  - http: {method: POST, path: /x, content_length: ''}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:53: 'content_length' is one non-empty "
              "header value");
    lint_edit("  - expect: {c1: none}\n", "  - expect: {c1: none}\n    requirement: R-NOPE-1\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:18: unknown requirement 'R-NOPE-1'");
    /* a client used after it disconnected */
    lint_has("  - quiet: c1\n", "  - disconnect: c1\n  - quiet: c1\n",
             "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:12: client 'c1' is used before it "
             "connects");
}

/* heartbeat, pause/resume, restart with disable_provider, $repeat
 * long: a flat list of lint expectations, one edit and its message each. */
static void test_new_step_errors(void)
{
    lint_edit(
        "  - connect: c1\n", "  - connect: {client: c1, pong: no}\n",
        "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:33: 'pong' must be true, false or late, "
        "not 'no'");
    lint_edit("  - connect: c1\n", "  - connect: {client: c1, pong: 1}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:33: 'pong' must be true or false, not "
              "an integer");
    lint_edit("  - expect: {c1: none}\n", "  - expect_ping: c2\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:18: client 'c2' is used before it "
              "connects");
    lint_edit("  - expect: {c1: none}\n", "  - expect_ping: {client: c1, every: 2}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:31: unknown key 'every' in "
              "expect_ping");
    lint_edit("  - expect: {c1: none}\n", "  - expect_ping: [c1]\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:19: 'expect_ping' takes a client name "
              "or a mapping, not a list");
    lint_edit("  - expect: {c1: none}\n", "  - pause: c1\n  - pause: c1\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:12: client 'c1' is already paused");
    lint_edit("  - expect: {c1: none}\n", "  - resume: c1\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:13: client 'c1' is not paused");
    lint_edit("  - expect: {c1: none}\n", "  - pause: c1\n  - expect: {c1: none}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:14: client 'c1' is paused: 'resume: "
              "c1' before waiting on it");
    lint_edit("  - expect: {c1: none}\n", "  - pause: c1\n  - quiet: c1\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:12: client 'c1' is paused: 'resume: "
              "c1' before waiting on it");
    lint_edit("  - expect: {c1: none}\n", "  - pause: c1\n  - expect_ping: c1\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:18: client 'c1' is paused: 'resume: "
              "c1' before waiting on it");
    lint_edit("  - expect: {c1: none}\n", "  - pause: c1\n  - expect_close: c1\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:19: client 'c1' is paused: 'resume: "
              "c1' before waiting on it");
    lint_edit("  - expect: {c1: none}\n",
              "  - alternatives:\n"
              "      - grade: ok\n"
              "        steps: [{pause: c1}]\n"
              "      - grade: non_strict\n"
              "        steps: [{expect_ping: c1}]\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:27:18: 'pause' is not allowed inside "
              "alternatives");
    /* a pause ended by resume or disconnect, and sends while paused, are fine */
    {
        struct hn_caselist l = {0};
        char *t = edit(GOOD, "  - quiet: c1\n  - expect: {c1: none}\n",
                       "  - pause: c1\n"
                       "  - send: {c1: {type: chat.subscribe, sessions: []}}\n"
                       "  - resume: c1\n"
                       "  - expect_ping: c1\n"
                       "  - pause: {client: c1}\n"
                       "  - disconnect: c1\n"
                       "  - connect: {client: c1, pong: false}\n"
                       "  - expect_ping: {client: c1}\n"
                       "  - send: {c1: {type: x, pad: {$repeat: {count: 3, text: ab}}}}\n");
        json_t *errs = load(NAME, t, &l);
        for (size_t i = 0; i < json_array_size(errs); i++)
            fprintf(stderr, "\n  unexpected: %s", json_string_value(json_array_get(errs, i)));
        CU_ASSERT_EQUAL(json_array_size(errs), 0);
        CU_ASSERT_EQUAL(l.n, 1);
        hn_caselist_release(&l);
        json_decref(errs);
        free(t);
    }
    /* restart */
    char *own = edit(GOOD, "steps:\n", "own_target: true\nsteps:\n");
    char *t = edit(own, "  - expect: {c1: none}\n",
                   "  - restart: {target: true, disable_provider: gemini}\n");
    lint_one(t, "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:47: unknown provider 'gemini'");
    free(t);
    t = edit(own, "  - expect: {c1: none}\n", "  - restart: {disable_provider: codex}\n");
    lint_one(t, "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:15: restart: 'target: true' is "
                "required (the case's own target is restarted)");
    t = (free(t), edit(own, "  - expect: {c1: none}\n",
                       "  - restart: {target: true, disable_provider: [codex, 3]}\n"));
    lint_one(t, "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:55: provider names are strings, not "
                "an integer");
    t = (free(t), edit(own, "  - expect: {c1: none}\n", "  - restart: later\n"));
    lint_one(t, "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:14: 'restart' takes the word "
                "'target' or {target: true, disable_provider: NAME, signal: KILL}");
    t = (free(t),
         edit(own, "  - expect: {c1: none}\n", "  - restart: {target: true, signal: HUP}\n"));
    lint_one(t, "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:37: 'signal' is TERM (a clean stop) "
                "or KILL (a crash), not 'HUP'");
    t = (free(t), edit(own, "  - expect: {c1: none}\n",
                       "  - restart: {target: true, disable_provider: [codex, claude]}\n"
                       "  - restart: {target: true, disable_provider: codex}\n"
                       "  - restart: {target: true, signal: KILL}\n"
                       "  - restart: target\n"));
    {
        struct hn_caselist l = {0};
        json_t *errs = load(NAME, t, &l);
        CU_ASSERT_EQUAL(json_array_size(errs), 0);
        CU_ASSERT_EQUAL(l.n, 1);
        hn_caselist_release(&l);
        json_decref(errs);
    }
    free(t);
    free(own);
    /* $repeat in templates and scripts */
    lint_edit("  - expect: {c1: none}\n", "  - send: {c1: {type: x, pad: {$repeat: {count: 3}}}}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:42: $repeat: missing required key "
              "'text'");
    lint_edit("  - expect: {c1: none}\n",
              "  - send: {c1: {type: x, pad: {$repeat: {count: 3, text: a}, b: 1}}}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:32: '$repeat' must be the only key of "
              "its mapping");
    lint_edit("  - expect: {c1: none}\n", "  - expect: {c1: {kind: x, list: {$distinct: [id]}}}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:35: '$distinct' must be the only key "
              "and name a key");
    lint_edit("  - expect: {c1: none}\n",
              "  - send: {c1: {type: x, pad: {$repeat: {count: 99999999, text: ab}}}}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:25:49: 'count' must be between 0 and "
              "16777216");
    lint_has("    - emit: {kind: stream_delta, content: a}\n",
             "    - emit: {kind: stream_delta, content: {$repeat: {count: 2, txt: a}}}\n",
             "cases/6-abort/6.1.2-abort-mid-stream.yaml:13:64: unknown key 'txt' in $repeat");
}

static void test_group_and_alternatives_errors(void)
{
    lint_edit("  - expect: {c1: none}\n",
              "  - group:\n"
              "      - {c1: {kind: a}, as: x}\n"
              "      - {c1: {kind: b}, after: [y]}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:27:33: 'after' names an unknown group "
              "item y");
    lint_has("  - expect: {c1: none}\n",
             "  - group:\n"
             "      - {c1: {kind: a}, c2: {kind: b}}\n",
             "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:10: a group item names exactly one "
             "client");
    lint_edit("  - expect: {c1: none}\n",
              "  - alternatives:\n"
              "      - grade: ok\n"
              "        steps: [{send: {c1: {type: x}}}]\n"
              "      - grade: non_strict\n"
              "        steps: [{expect: {c1: none}}]\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:27:18: 'send' is not allowed inside "
              "alternatives");
    lint_edit("  - expect: {c1: none}\n",
              "  - alternatives:\n"
              "      - grade: great\n"
              "        steps: [{expect: {c1: none}}]\n"
              "      - grade: non_strict\n"
              "        steps: [{expect: {c1: none}}]\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:16: 'grade' must be ok, non_strict or "
              "informational, not 'great'");
}

static void test_good_group_alternatives_http(void)
{
    char *t = edit(GOOD, "  - expect: {c1: none}\n",
                   "  - connect: {client: c2, user: bob, auth: header}\n"
                   "  - group:\n"
                   "      - {c1: {kind: complete}, as: done1}\n"
                   "      - {c2: {kind: chat_subscribed}, before: [done1]}\n"
                   "  - alternatives:\n"
                   "      - grade: ok\n"
                   "        steps: [{expect: {c1: {kind: x, v: $cap}}}]\n"
                   "      - grade: informational\n"
                   "        steps: [{expect: {c1: {kind: y}}}]\n"
                   "  - http: {method: GET, path: \"/api/providers/sessions/${s1}/messages\", "
                   "expect: {status: 200, body: {success: true}}, capture: {msgs: body.data}}\n"
                   "  - send: {c2: {type: chat.send, sessionId: $s1, content: \"${msgs} $cap\"}}\n"
                   "  - send_raw: {client: c1, repeat: {count: 10, text: a}}\n"
                   "  - send_raw: {client: c1, binary: true, text: \"{}\"}\n"
                   "  - alternatives:\n"
                   "      - grade: ok\n"
                   "        steps: [{expect_close: {client: c1, codes: [1009, 1006]}}]\n"
                   "      - grade: informational\n"
                   "        steps: [{expect_close: c1}]\n"
                   "  - disconnect: {client: c2, drop: true}\n"
                   "  - note: \"done ${case}\"\n");
    struct hn_caselist l = {0};
    json_t *errs = load(NAME, t, &l);
    for (size_t i = 0; i < json_array_size(errs); i++)
        fprintf(stderr, "\n  unexpected: %s", json_string_value(json_array_get(errs, i)));
    CU_ASSERT_EQUAL(json_array_size(errs), 0);
    CU_ASSERT_EQUAL(l.n, 1);
    json_decref(errs);
    hn_caselist_release(&l);
    free(t);
}

static void test_matrix_expansion(void)
{
    char *t =
        edit(GOOD, "sessions:\n  s1: {provider: claude}\n",
             "matrix: {provider: [claude, cursor, codex, opencode]}\n"
             "sessions:\n  s1: {provider: \"${provider}\", projectPath: \"/tmp/${provider}\"}\n");
    struct hn_caselist l = {0};
    json_t *errs = load(NAME, t, &l);
    for (size_t i = 0; i < json_array_size(errs); i++)
        fprintf(stderr, "\n  unexpected: %s", json_string_value(json_array_get(errs, i)));
    CU_ASSERT_EQUAL(json_array_size(errs), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 4);
    CU_ASSERT_STRING_EQUAL(l.v[0]->id, "6.1.2-abort-mid-stream.a");
    CU_ASSERT_STRING_EQUAL(l.v[3]->id, "6.1.2-abort-mid-stream.d");
    CU_ASSERT_STRING_EQUAL(l.v[3]->base_id, "6.1.2-abort-mid-stream");
    json_t *s1 = json_object_get(l.v[2]->sessions, "s1");
    CU_ASSERT_STRING_EQUAL(wc_json_str(s1, "provider"), "codex");
    CU_ASSERT_STRING_EQUAL(wc_json_str(s1, "projectPath"), "/tmp/codex");
    CU_ASSERT_STRING_EQUAL(wc_json_str(l.v[1]->matrix, "provider"), "cursor");
    /* other variables are untouched */
    json_t *send = json_object_get(json_array_get(l.v[0]->steps, 1), "send");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_object_get(send, "c1"), "sessionId"), "$s1");
    CU_ASSERT_PTR_NULL(json_object_get(l.v[0]->root, "matrix"));
    json_decref(errs);
    hn_caselist_release(&l);
    free(t);

    t = edit(GOOD, "sessions:\n", "matrix: {provider: [claude, gemini]}\nsessions:\n");
    lint_one(t, "cases/6-abort/6.1.2-abort-mid-stream.yaml:8:29: unknown provider in matrix");
    free(t);
}

static void test_second_script_form(void)
{
    char *t = edit(GOOD, "steps:\n",
                   "  s1-second:\n"
                   "    session: s1\n"
                   "    script:\n"
                   "      - announce: auto\n"
                   "      - complete: 0\n"
                   "steps:\n");
    struct hn_caselist l = {0};
    json_t *errs = load(NAME, t, &l);
    CU_ASSERT_EQUAL(json_array_size(errs), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 1);
    json_t *p = json_object_get(l.v[0]->providers, "s1-second");
    CU_ASSERT_STRING_EQUAL(wc_json_str(p, "session"), "s1");
    json_decref(errs);
    hn_caselist_release(&l);
    free(t);

    t = edit(GOOD, "steps:\n", "  lonely:\n    - complete: 0\nsteps:\n");
    lint_one(t, "cases/6-abort/6.1.2-abort-mid-stream.yaml:16:3: script 'lonely' names no "
                "session: add 'session: <label>'");
    free(t);
}

static void test_spec_table(void)
{
    const struct hn_req *r = hn_spec_find(spec, "R-LIMIT-1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->level, HN_LEVEL_SHOULD);
    CU_ASSERT_STRING_EQUAL(hn_level_name(r->level), "SHOULD");
    r = hn_spec_find(spec, "R-FAN-1");
    CU_ASSERT_STRING_EQUAL(r->capability, "fan-out");
    CU_ASSERT_PTR_NULL(hn_spec_find(spec, "R-NOPE"));
    CU_ASSERT_STRING_EQUAL(spec->version, "chatgw/1.0");
    /* the real file loads */
    char *err = NULL;
    struct hn_spec *real = hn_spec_load("spec/chatgw-1.0", &err);
    if (real) {
        CU_ASSERT_PTR_NOT_NULL(hn_spec_find(real, "R-ABORT-1"));
        hn_spec_free(real);
    } else {
        free(err);
    }
    CU_ASSERT_TRUE(hn_client_name_valid("c12"));
    CU_ASSERT_FALSE(hn_client_name_valid("c0"));
    CU_ASSERT_FALSE(hn_client_name_valid("c"));
    CU_ASSERT_FALSE(hn_client_name_valid("x1"));
}

/* A case that sees broadcasts must say it needs users of its own (own_users), at the key that
 * makes it see them. */
static void test_broadcasts_need_own_users(void)
{
    lint_edit("steps:\n", "ignore: []\nsteps:\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:16:1: the case observes "
              "'session_upserted', a broadcast that other "
              "cases running beside it cause too: add 'own_users: true' (users no other running "
              "case has)");
    lint_edit("steps:\n", "ignore: [session_upserted]\nsteps:\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:16:1: the case observes "
              "'loading_progress', a broadcast that other "
              "cases running beside it cause too: add 'own_users: true' (users no other running "
              "case has)");
    lint_edit("  - quiet: c1\n", "  - expect: {c1: {kind: session_upserted}}\n  - quiet: c1\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:16:1: the case observes "
              "'session_upserted', a broadcast that other "
              "cases running beside it cause too: add 'own_users: true' (users no other running "
              "case has)");
    struct hn_caselist l = {0};
    char *t = edit(GOOD, "steps:\n", "ignore: []\nown_users: true\nsteps:\n");
    json_t *errs = load(NAME, t, &l);
    CU_ASSERT_EQUAL(json_array_size(errs), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 1);
    CU_ASSERT_TRUE(l.v[0]->own_users);
    hn_caselist_release(&l);
    json_decref(errs);
    free(t);
}

/* within_ms: where it may stand and what it takes */
static void test_within_errors(void)
{
    static const char *const abort_send =
        "  - send: {c1: {type: chat.abort, sessionId: $s1, n: $n1}}\n";
    static const char *const complete =
        "  - expect: {c1: {kind: complete, aborted: true, success: false}}\n";
    char *to;

    to = wc_xasprintf("%s    within_ms: 100\n", abort_send);
    lint_edit(
        abort_send, to,
        "cases/6-abort/6.1.2-abort-mid-stream.yaml:22:5: 'within_ms' bounds "
        "a step that waits (expect, expect_close, expect_ping, group, reached, provider_done, "
        "provider_hello, provider_event), "
        "not 'send'");
    free(to);
    to = wc_xasprintf("%s    within_ms: {max: 100, min: 100}\n", complete);
    lint_edit(complete, to,
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:23:32: within_ms: 'min' "
              "(100) must be below 'max' (100)");
    free(to);
    to = wc_xasprintf("%s    within_ms: soon\n", complete);
    lint_edit(complete, to,
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:23:16: 'within_ms' takes "
              "milliseconds or {max: N, min: M}, not a string");
    free(to);
    to = wc_xasprintf("%s    within_ms: {min: 5}\n", complete);
    lint_edit(complete, to,
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:23:17: within_ms: missing "
              "required key 'max'");
    free(to);
    to = wc_xasprintf("%s    within_ms: 0\n", complete);
    lint_edit(complete, to,
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:23:16: 'within_ms' must be "
              "between 1 and 600000");
    free(to);
    lint_edit("  - expect: {c1: none}\n", "  - expect: {c1: none}\n    within_ms: 100\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:26:5: 'within_ms' cannot bound 'expect: "
              "{c1: none}': nothing arrives");
    lint_edit("  - expect: {c1: none}\n",
              "  - alternatives:\n"
              "      - grade: ok\n"
              "        steps: [{expect_ping: c1, within_ms: 100}]\n"
              "      - grade: non_strict\n"
              "        steps: [{expect_ping: c1}]\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:27:35: 'within_ms' is not allowed inside "
              "alternatives (an alternative has its own grade)");
    /* both forms load, on every waiting step */
    {
        struct hn_caselist l = {0};
        char *t = edit(GOOD, "  - provider_done: {s1: aborted}\n",
                       "  - provider_done: {s1: aborted}\n    within_ms: {max: 500, min: 0}\n"
                       "  - expect_ping: c1\n    within_ms: 800\n");
        char *t2 = edit(t, complete, "  - expect: {c1: {kind: complete}}\n    within_ms: 300\n");
        json_t *errs = load(NAME, t2, &l);
        for (size_t i = 0; i < json_array_size(errs); i++)
            fprintf(stderr, "\n  unexpected: %s", json_string_value(json_array_get(errs, i)));
        CU_ASSERT_EQUAL(json_array_size(errs), 0);
        CU_ASSERT_EQUAL(l.n, 1);
        hn_caselist_release(&l);
        json_decref(errs);
        free(t);
        free(t2);
    }
}

static void test_token_forms_errors(void)
{
    lint_edit("  - connect: c1\n", "  - connect: {client: c1, auth: twice}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:33: 'auth' must be query, header or "
              "both, not 'twice'");
    lint_edit("  - connect: c1\n", "  - connect: {client: c1, header_user: bob}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:27: 'header_token' and 'header_user' "
              "need 'auth: both' (the query carries 'token')");
    lint_edit("  - connect: c1\n", "  - connect: {client: c1, token: {of: bob}}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:35: token: give exactly one of 'cut' "
              "and 'append'");
    lint_edit("  - connect: c1\n", "  - connect: {client: c1, token: {of: bob, cut: 0}}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:49: 'cut' must be between 1 and 4096");
    lint_edit("  - connect: c1\n", "  - connect: {client: c1, auth: both, header_token: [x]}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:54: 'header_token' takes none, bad, a "
              "token, or {of: USER, cut: N | append: TEXT}, not a list");
    lint_edit("  - connect: c1\n",
              "  - connect: {client: c1, auth: both, header_token: bad, "
              "header_user: bob}\n",
              "cases/6-abort/6.1.2-abort-mid-stream.yaml:17:58: give 'header_token' or "
              "'header_user', not both");
}

static CU_TestInfo scenario_tests[] = {
    {"token_forms_errors", test_token_forms_errors},
    {"within_errors", test_within_errors},
    {"broadcasts_need_own_users", test_broadcasts_need_own_users},
    {"good_case_loads", test_good_case_loads},
    {"top_level_errors", test_top_level_errors},
    {"session_and_script_errors", test_session_and_script_errors},
    {"step_errors", test_step_errors},
    {"new_step_errors", test_new_step_errors},
    {"group_and_alternatives_errors", test_group_and_alternatives_errors},
    {"null_nodes_have_positions", test_null_nodes_have_positions},
    {"good_group_alternatives_http", test_good_group_alternatives_http},
    {"matrix_expansion", test_matrix_expansion},
    {"second_script_form", test_second_script_form},
    {"spec_table", test_spec_table},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_scenario_suites[] = {
    {.pName = "hn_scenario",
     .pInitFunc = setup,
     .pCleanupFunc = teardown,
     .pTests = scenario_tests},
    CU_SUITE_INFO_NULL,
};
