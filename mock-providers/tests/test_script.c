/* mock-providers/tests/test_script.c: every step parses; every error has its file:line:col. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../script.h"
#include "wc_json.h"
#include "wc_yaml.h"

static struct mp_script *parse_yaml(const char *text, char **err)
{
    struct wc_yaml_doc *doc = wc_yaml_load_string("t.yaml", text, strlen(text), err);
    struct mp_script *s;

    if (!doc)
        return NULL;
    s = mp_script_parse(wc_yaml_root(doc), doc, err);
    wc_yaml_free(doc);
    return s;
}

static void assert_fields(const json_t *v, const char *canon)
{
    char *s = wc_json_canon(v);
    CU_ASSERT_STRING_EQUAL(s, canon);
    if (strcmp(s, canon) != 0)
        fprintf(stderr, "\n  got %s\n  want %s\n", s, canon);
    free(s);
}

static void test_script_every_step_parses(void)
{
    static const char text[] = "- on_abort: ignore\n"
                               "- announce: auto\n"
                               "- announce: nat-1\n"
                               "- session_created: auto\n"
                               "- emit: {kind: stream_delta, content: a}\n"
                               "- emit_many: {count: 3, kind: stream_delta, content: \"d%d\"}\n"
                               "- barrier: hold\n"
                               "- wait_abort: true\n"
                               "- complete: 0\n"
                               "- complete: {exitCode: 2, fields: {note: x}}\n"
                               "- complete: {exitCode: -1}\n"
                               "- crash: 2\n"
                               "- exit: 255\n"
                               "- hang: true\n"
                               "- permission: {toolName: Bash, input: {command: ls}}\n"
                               "- permission: {toolName: Read}\n"
                               "- report: [cwd, argv, options, resume]\n"
                               "- delay: 20\n";
    char *err = NULL;
    struct mp_script *s = parse_yaml(text, &err);
    const struct mp_step *st;

    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->on_abort, MP_ON_ABORT_IGNORE);
    CU_ASSERT_EQUAL_FATAL(s->n_steps, 17);
    st = s->steps;
    CU_ASSERT(st[0].type == MP_STEP_ANNOUNCE && strcmp(st[0].arg, "auto") == 0);
    CU_ASSERT(st[1].type == MP_STEP_ANNOUNCE && strcmp(st[1].arg, "nat-1") == 0);
    CU_ASSERT(st[2].type == MP_STEP_SESSION_CREATED && strcmp(st[2].arg, "auto") == 0);
    CU_ASSERT(st[3].type == MP_STEP_EMIT);
    assert_fields(st[3].fields, "{\"content\":\"a\",\"kind\":\"stream_delta\"}");
    CU_ASSERT(st[4].type == MP_STEP_EMIT_MANY && st[4].count == 3);
    assert_fields(st[4].fields, "{\"content\":\"d%d\",\"kind\":\"stream_delta\"}");
    CU_ASSERT(st[5].type == MP_STEP_BARRIER && strcmp(st[5].arg, "hold") == 0);
    CU_ASSERT(st[6].type == MP_STEP_WAIT_ABORT);
    CU_ASSERT(st[7].type == MP_STEP_COMPLETE && st[7].exit_code == 0 && !st[7].fields);
    CU_ASSERT(st[8].type == MP_STEP_COMPLETE && st[8].exit_code == 2);
    assert_fields(st[8].fields, "{\"note\":\"x\"}");
    CU_ASSERT(st[9].type == MP_STEP_COMPLETE && st[9].exit_code == -1);
    CU_ASSERT(st[10].type == MP_STEP_CRASH && st[10].exit_code == 2);
    CU_ASSERT(st[11].type == MP_STEP_EXIT && st[11].exit_code == 255);
    CU_ASSERT(st[12].type == MP_STEP_HANG);
    CU_ASSERT(st[13].type == MP_STEP_PERMISSION);
    assert_fields(st[13].fields, "{\"input\":{\"command\":\"ls\"},\"toolName\":\"Bash\"}");
    assert_fields(st[14].fields, "{\"input\":{},\"toolName\":\"Read\"}");
    CU_ASSERT(st[15].type == MP_STEP_REPORT);
    assert_fields(st[15].fields, "[\"cwd\",\"argv\",\"options\",\"resume\"]");
    CU_ASSERT(st[16].type == MP_STEP_DELAY && st[16].count == 20);
    for (size_t i = 0; i < s->n_steps; i++)
        CU_ASSERT_STRING_NOT_EQUAL(mp_step_name(st[i].type), "unknown");
    CU_ASSERT_STRING_EQUAL(mp_step_name(MP_STEP_SESSION_CREATED), "session_created");
    mp_script_free(s);
}

static void test_script_defaults_and_empty(void)
{
    char *err = NULL;
    struct mp_script *s = parse_yaml("[]\n", &err);

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_steps, 0);
    CU_ASSERT_EQUAL(s->on_abort, MP_ON_ABORT_STOP);
    mp_script_free(s);
    s = parse_yaml("- on_abort: hang\n", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_steps, 0);
    CU_ASSERT_EQUAL(s->on_abort, MP_ON_ABORT_HANG);
    mp_script_free(s);
}

static void test_script_errors_carry_line_and_column(void)
{
    static const struct {
        const char *text;
        const char *msg;
    } rows[] = {
        /* wc_yaml places a collection at its first scalar, a quoted scalar after its quote,
         * and an empty collection at its bracket (issue 18) */
        {"- foo: 1\n", "t.yaml:1:3: unknown step 'foo'"},
        {"- announce: auto\n- bogus: 1\n", "t.yaml:2:3: unknown step 'bogus'"},
        {"- emit: {kind: a}\n  extra: 1\n", "t.yaml:2:3: unknown key 'extra' in step 'emit'"},
        {"- emit: {kind: a}\n  barrier: b\n",
         "t.yaml:2:3: one step holds two step names, 'emit' and 'barrier'"},
        {"- just a string\n", "t.yaml:1:3: a step must be a mapping such as {emit: {...}}"},
        {"- 5\n", "t.yaml:1:3: a step must be a mapping such as {emit: {...}}"},
        {"- {}\n", "t.yaml:1:3: empty step"},
        {"steps: 1\n", "t.yaml:1:1: a script must be a list of steps"},
        {"- announce: 5\n", "t.yaml:1:13: announce needs a native id string or auto"},
        {"- announce: \"\"\n", "t.yaml:1:14: announce needs a native id string or auto"},
        {"- session_created: [a]\n",
         "t.yaml:1:21: session_created needs a native id string or auto"},
        {"- emit: hello\n", "t.yaml:1:9: emit needs an object of event fields"},
        {"- emit: {content: a}\n", "t.yaml:1:10: emit needs a string 'kind'"},
        {"- emit: {kind: 3}\n", "t.yaml:1:16: emit: 'kind' must be a string"},
        {"- emit_many: {kind: a}\n", "t.yaml:1:15: emit_many needs 'count'"},
        {"- emit_many: {count: 0, kind: a}\n",
         "t.yaml:1:22: emit_many count must be an integer from 1 to 1000000"},
        {"- emit_many: {count: 1.5, kind: a}\n",
         "t.yaml:1:22: emit_many count must be an integer from 1 to 1000000"},
        {"- emit_many: {count: 2}\n", "t.yaml:1:15: emit_many needs a string 'kind'"},
        {"- barrier:\n", "t.yaml:1:3: barrier needs a name"},
        {"- barrier: {a: 1}\n", "t.yaml:1:13: barrier needs a name"},
        {"- wait_abort: false\n", "t.yaml:1:3: wait_abort takes true"},
        {"- hang: 1\n", "t.yaml:1:9: hang takes true"},
        {"- complete: abc\n", "t.yaml:1:13: complete needs an exit code or {exitCode, fields}"},
        {"- complete: 4294967296\n", "t.yaml:1:13: complete: exit code out of range"},
        {"- complete: {exitCode: 0, extra: 1}\n", "t.yaml:1:27: unknown key 'extra' in complete"},
        {"- complete: {fields: {}}\n", "t.yaml:1:14: complete needs 'exitCode'"},
        {"- complete: {exitCode: x}\n", "t.yaml:1:24: complete: exitCode must be an integer"},
        {"- complete: {exitCode: 1, fields: [1]}\n",
         "t.yaml:1:36: complete: fields must be an object"},
        {"- complete: {exitCode: 1, fields: {kind: x}}\n",
         "t.yaml:1:36: complete: fields may not set 'kind'"},
        {"- complete: {exitCode: 1, fields: {exitCode: 3}}\n",
         "t.yaml:1:36: complete: fields may not set 'exitCode'"},
        {"- crash: 256\n", "t.yaml:1:10: crash needs an exit status from 0 to 255"},
        {"- crash: true\n", "t.yaml:1:3: crash needs an exit status from 0 to 255"},
        {"- exit: -1\n", "t.yaml:1:9: exit needs an exit status from 0 to 255"},
        {"- permission: Bash\n", "t.yaml:1:15: permission needs {toolName, input}"},
        {"- permission: {input: {}}\n", "t.yaml:1:16: permission needs a string 'toolName'"},
        {"- permission: {toolName: 1}\n", "t.yaml:1:26: permission: 'toolName' must be a string"},
        {"- permission: {toolName: Bash, timeoutMs: 0}\n",
         "t.yaml:1:43: permission: 'timeoutMs' must be a positive integer"},
        {"- permission: {toolName: Bash, timeoutMs: soon}\n",
         "t.yaml:1:43: permission: 'timeoutMs' must be a positive integer"},
        {"- permission: {toolName: Bash, mode: x}\n",
         "t.yaml:1:32: unknown key 'mode' in permission"},
        {"- report: [cwd, pwd]\n",
         "t.yaml:1:17: report: unknown fact 'pwd' (cwd, argv, options, resume)"},
        {"- report: [cwd, 1]\n", "t.yaml:1:12: report: facts must be strings"},
        {"- report: []\n",
         "t.yaml:1:11: report needs a list of facts (cwd, argv, options, resume)"},
        {"- report: cwd\n",
         "t.yaml:1:11: report needs a list of facts (cwd, argv, options, resume)"},
        {"- delay: 600001\n", "t.yaml:1:10: delay needs milliseconds from 0 to 600000"},
        {"- delay: -5\n", "t.yaml:1:10: delay needs milliseconds from 0 to 600000"},
        {"- announce: auto\n- on_abort: stop\n", "t.yaml:2:3: on_abort must be the first step"},
        {"- fail_start: \"\"\n", "t.yaml:1:16: fail_start needs the message the start fails with"},
        {"- fail_start: 1\n", "t.yaml:1:15: fail_start needs the message the start fails with"},
        {"- fail_start: gone\n- complete: 0\n",
         "t.yaml:1:3: fail_start must be the script's only step"},
        {"- announce: auto\n- fail_start: gone\n",
         "t.yaml:2:3: fail_start must be the script's only step"},
        {"- on_abort: maybe\n", "t.yaml:1:13: on_abort must be stop, ignore or hang"},
        {"- on_abort:\n", "t.yaml:1:3: on_abort must be stop, ignore or hang"},
        {"- on_abort: stop\n  emit: {kind: a}\n",
         "t.yaml:2:3: unknown key 'emit' in step 'on_abort'"},
        {"- announce: auto\n"
         "- emit:\n"
         "    kind: stream_delta\n"
         "    content: 5\n"
         "- complete:\n"
         "    exitCode: 0\n"
         "    fieldz: {}\n",
         "t.yaml:7:5: unknown key 'fieldz' in complete"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *err = NULL;
        struct mp_script *s = parse_yaml(rows[i].text, &err);

        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_PTR_NOT_NULL(err);
        if (!err || strcmp(err, rows[i].msg) != 0) {
            fprintf(stderr, "\n  row %zu: got  %s\n          want %s\n", i, err ? err : "(null)",
                    rows[i].msg);
            CU_FAIL("error message");
        }
        mp_script_free(s);
        free(err);
    }
}

static void test_script_json_errors_name_the_step(void)
{
    static const struct {
        const char *json;
        const char *msg;
    } rows[] = {
        {"{\"a\":1}", "script: a script must be a list of steps"},
        {"[{\"announce\":\"auto\"},{\"bogus\":1}]", "script step 2: unknown step 'bogus'"},
        {"[{\"on_abort\":\"stop\"},{\"emit\":{}}]", "script step 2: emit needs a string 'kind'"},
        {"[{\"barrier\":null}]", "script step 1: barrier needs a name"},
        {"[{\"emit\":{\"kind\":\"a\"},\"x\":1}]", "script step 1: unknown key 'x' in step 'emit'"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *err = NULL;
        json_t *v = json_loads(rows[i].json, 0, NULL);
        struct mp_script *s;

        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        s = mp_script_parse(v, NULL, &err);
        CU_ASSERT_PTR_NULL(s);
        if (!err || strcmp(err, rows[i].msg) != 0) {
            fprintf(stderr, "\n  row %zu: got  %s\n          want %s\n", i, err ? err : "(null)",
                    rows[i].msg);
            CU_FAIL("error message");
        }
        free(err);
        json_decref(v);
    }
    {
        char *err = NULL;
        CU_ASSERT_PTR_NULL(mp_script_parse(NULL, NULL, &err));
        CU_ASSERT_STRING_EQUAL(err, "script: a script must be a list of steps");
        free(err);
    }
}

static void test_script_default_echoes_words(void)
{
    struct mp_script *s = mp_script_default("  hello   big\tworld\n");

    CU_ASSERT_EQUAL_FATAL(s->n_steps, 5);
    CU_ASSERT(s->steps[0].type == MP_STEP_ANNOUNCE && strcmp(s->steps[0].arg, "auto") == 0);
    assert_fields(s->steps[1].fields, "{\"content\":\"hello\",\"kind\":\"stream_delta\"}");
    assert_fields(s->steps[2].fields, "{\"content\":\" big\",\"kind\":\"stream_delta\"}");
    assert_fields(s->steps[3].fields, "{\"content\":\" world\",\"kind\":\"stream_delta\"}");
    CU_ASSERT(s->steps[4].type == MP_STEP_COMPLETE && s->steps[4].exit_code == 0);
    mp_script_free(s);

    s = mp_script_default("");
    CU_ASSERT_EQUAL(s->n_steps, 2);
    mp_script_free(s);
    s = mp_script_default(NULL);
    CU_ASSERT_EQUAL(s->n_steps, 2);
    mp_script_free(s);
}

static void test_script_default_caps_at_64_words(void)
{
    char prompt[100 * 3 + 1] = "";
    struct mp_script *s;

    for (int i = 0; i < 100; i++)
        strcat(prompt, "w ");
    s = mp_script_default(prompt);
    CU_ASSERT_EQUAL(s->n_steps, 64 + 2);
    CU_ASSERT_EQUAL(s->steps[65].type, MP_STEP_COMPLETE);
    mp_script_free(s);
}

static void test_script_error_script(void)
{
    struct mp_script *s = mp_script_error("t.yaml:1:3: unknown step 'foo'");

    CU_ASSERT_EQUAL_FATAL(s->n_steps, 2);
    CU_ASSERT_EQUAL(s->steps[0].type, MP_STEP_EMIT);
    assert_fields(s->steps[0].fields,
                  "{\"content\":\"gwspec: t.yaml:1:3: unknown step 'foo'\",\"kind\":\"error\"}");
    CU_ASSERT(s->steps[1].type == MP_STEP_COMPLETE && s->steps[1].exit_code == 1);
    mp_script_free(s);
}

static char *write_temp(const char *text)
{
    char tmpl[] = "/tmp/mp-script-XXXXXX";
    int fd = mkstemp(tmpl);
    char *path;

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    path = malloc(sizeof(tmpl));
    memcpy(path, tmpl, sizeof(tmpl));
    return path;
}

static void test_script_load_file_forms(void)
{
    char *err = NULL, *want;
    char *p1 = write_temp("- announce: auto\n- complete: 0\n");
    char *p2 = write_temp("description: two steps\nscript:\n  - announce: auto\n  - complete: 0\n");
    char *p3 = write_temp("script:\n  - announce: auto\n  - complet: 0\n");
    char *p4 = write_temp("scripts: []\n");
    struct mp_script *s;

    s = mp_script_load_file(p1, &err);
    CU_ASSERT(s && s->n_steps == 2);
    mp_script_free(s);
    s = mp_script_load_file(p2, &err);
    CU_ASSERT(s && s->n_steps == 2);
    mp_script_free(s);

    CU_ASSERT_PTR_NULL(mp_script_load_file(p3, &err));
    want = malloc(strlen(p3) + 64);
    sprintf(want, "%s:3:5: unknown step 'complet'", p3);
    CU_ASSERT_STRING_EQUAL(err, want);
    free(want);
    free(err);

    CU_ASSERT_PTR_NULL(mp_script_load_file(p4, &err));
    want = malloc(strlen(p4) + 64);
    sprintf(want, "%s:1:1: unknown key 'scripts' in a script file", p4);
    CU_ASSERT_STRING_EQUAL(err, want);
    free(want);
    free(err);

    CU_ASSERT_PTR_NULL(mp_script_load_file("/nonexistent/x.yaml", &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    CU_ASSERT(err && strncmp(err, "/nonexistent/x.yaml", 19) == 0);
    free(err);

    unlink(p1);
    unlink(p2);
    unlink(p3);
    unlink(p4);
    free(p1);
    free(p2);
    free(p3);
    free(p4);
}

/* fail_start alone (after an on_abort setting too) is a start failure; every other script not. */
static void test_script_start_failure(void)
{
    static const struct {
        const char *text;
        const char *why; /* or NULL */
    } rows[] = {
        {"- fail_start: spawn ENOENT\n", "spawn ENOENT"},
        {"- on_abort: ignore\n- fail_start: gone\n", "gone"},
        {"- crash: 1\n", NULL},
        {"- announce: auto\n", NULL},
    };

    CU_ASSERT_PTR_NULL(mp_script_start_failure(NULL));
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *err = NULL;
        struct mp_script *s = parse_yaml(rows[i].text, &err);
        const char *why;

        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        why = mp_script_start_failure(s);
        CU_ASSERT(rows[i].why ? why && strcmp(why, rows[i].why) == 0 : why == NULL);
        mp_script_free(s);
    }
}

static CU_TestInfo script_tests[] = {
    {"start_failure", test_script_start_failure},
    {"every_step_parses", test_script_every_step_parses},
    {"defaults_and_empty", test_script_defaults_and_empty},
    {"errors_carry_line_and_column", test_script_errors_carry_line_and_column},
    {"json_errors_name_the_step", test_script_json_errors_name_the_step},
    {"default_echoes_words", test_script_default_echoes_words},
    {"default_caps_at_64_words", test_script_default_caps_at_64_words},
    {"error_script", test_script_error_script},
    {"load_file_forms", test_script_load_file_forms},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo mp_script_suites[] = {
    {.pName = "mp_script", .pTests = script_tests},
    CU_SUITE_INFO_NULL,
};
