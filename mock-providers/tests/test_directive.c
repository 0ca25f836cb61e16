/* mock-providers/tests/test_directive.c: finding and validating the gwspec: directive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../directive.h"
#include "wc_json.h"
#include "wc_mem.h"

static char fixtures[64]; /* a temp fixtures dir with providers/ok.yaml and providers/bad.yaml */

static void put_file(const char *dir, const char *name, const char *text)
{
    char *path = wc_xasprintf("%s/providers/%s", dir, name);
    FILE *fp = fopen(path, "w");

    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
    free(path);
}

static int suite_init(void)
{
    char *sub;

    strcpy(fixtures, "/tmp/mp-fixtures-XXXXXX");
    if (!mkdtemp(fixtures))
        return 1;
    sub = wc_xasprintf("%s/providers", fixtures);
    mkdir(sub, 0755);
    free(sub);
    put_file(fixtures, "ok.yaml", "- announce: auto\n- barrier: hold\n- complete: 0\n");
    put_file(fixtures, "bad.yaml", "- announce: auto\n- explode: 1\n");
    return 0;
}

static int suite_cleanup(void)
{
    char *cmd = wc_xasprintf("rm -rf '%s'", fixtures);
    int rc = system(cmd);

    free(cmd);
    return rc == 0 ? 0 : 1;
}

/* The error event's content of an error script. */
static const char *error_content(const struct mp_directive *d)
{
    CU_ASSERT_FATAL(d->script && d->script->n_steps == 2);
    CU_ASSERT_EQUAL(d->script->steps[0].type, MP_STEP_EMIT);
    CU_ASSERT(d->script->steps[1].type == MP_STEP_COMPLETE && d->script->steps[1].exit_code == 1);
    return wc_json_str(d->script->steps[0].fields, "content");
}

static void test_directive_found_mid_prompt(void)
{
    struct mp_directive d;
    const char *prompt = "first line\nplease run gwspec:{\"v\":1,\"ctl\":\"127.0.0.1:40123\","
                         "\"case\":\"4.2.1#7f3a\",\"label\":\"s1\",\"run\":\"r1\",\"seed\":42,"
                         "\"script\":[{\"announce\":\"auto\"},{\"complete\":0}]} and then\nmore";

    mp_directive_parse(prompt, fixtures, &d);
    CU_ASSERT_TRUE(d.present);
    CU_ASSERT_PTR_NULL(d.error);
    CU_ASSERT_STRING_EQUAL(d.ctl_host, "127.0.0.1");
    CU_ASSERT_EQUAL(d.ctl_port, 40123);
    CU_ASSERT_STRING_EQUAL(d.case_token, "4.2.1#7f3a");
    CU_ASSERT_STRING_EQUAL(d.label, "s1");
    CU_ASSERT_STRING_EQUAL(d.run, "r1");
    CU_ASSERT_EQUAL(d.seed, 42);
    CU_ASSERT_FATAL(d.script && d.script->n_steps == 2);
    CU_ASSERT_EQUAL(d.script->steps[0].type, MP_STEP_ANNOUNCE);
    mp_directive_release(&d);

    /* blanks after the marker; no ctl: hand use; IPv6 */
    mp_directive_parse("gwspec: {\"v\":1,\"ctl\":\"[::1]:9\",\"script\":[]}", fixtures, &d);
    CU_ASSERT_PTR_NULL(d.error);
    CU_ASSERT_STRING_EQUAL(d.ctl_host, "::1");
    CU_ASSERT_EQUAL(d.ctl_port, 9);
    CU_ASSERT_PTR_NULL(d.case_token);
    CU_ASSERT_EQUAL(d.seed, 0);
    mp_directive_release(&d);

    /* a marker without an object is ordinary text; the next one is the directive */
    mp_directive_parse("the gwspec: tool; gwspec:{\"v\":1,\"script\":[{\"exit\":3}]}", fixtures,
                       &d);
    CU_ASSERT_TRUE(d.present);
    CU_ASSERT_PTR_NULL(d.error);
    CU_ASSERT_PTR_NULL(d.ctl_host);
    CU_ASSERT(d.script->n_steps == 1 && d.script->steps[0].type == MP_STEP_EXIT);
    mp_directive_release(&d);
}

static void test_directive_absent_gives_default(void)
{
    struct mp_directive d;

    mp_directive_parse("say hello world", fixtures, &d);
    CU_ASSERT_FALSE(d.present);
    CU_ASSERT_PTR_NULL(d.error);
    CU_ASSERT_PTR_NULL(d.ctl_host);
    CU_ASSERT_FATAL(d.script && d.script->n_steps == 5);
    CU_ASSERT_EQUAL(d.script->steps[0].type, MP_STEP_ANNOUNCE);
    CU_ASSERT_STRING_EQUAL(wc_json_str(d.script->steps[3].fields, "content"), " world");
    mp_directive_release(&d);

    mp_directive_parse("mentions gwspec: but no object", fixtures, &d);
    CU_ASSERT_FALSE(d.present);
    CU_ASSERT_EQUAL(d.script->n_steps, 2 + 5);
    mp_directive_release(&d);

    mp_directive_parse(NULL, fixtures, &d);
    CU_ASSERT_FALSE(d.present);
    CU_ASSERT_EQUAL(d.script->n_steps, 2);
    mp_directive_release(&d);

    /* a word that is not UTF-8 (found by fuzz_provider: its event had no kind) */
    mp_directive_parse("ok \xD2 \xC3\xA9", fixtures, &d);
    CU_ASSERT_FATAL(d.script && d.script->n_steps == 5);
    for (size_t i = 1; i < 4; i++)
        CU_ASSERT_STRING_EQUAL(wc_json_str(d.script->steps[i].fields, "kind"), "stream_delta");
    CU_ASSERT_STRING_EQUAL(wc_json_str(d.script->steps[2].fields, "content"), " \xEF\xBF\xBD");
    CU_ASSERT_STRING_EQUAL(wc_json_str(d.script->steps[3].fields, "content"), " \xC3\xA9");
    mp_directive_release(&d);
}

static void test_directive_invalid_gives_error_script(void)
{
    static const struct {
        const char *prompt;
        const char *content; /* expected prefix of the error event's content */
    } rows[] = {
        {"gwspec:{\"v\":1,", "gwspec: directive: invalid JSON at column "},
        {"gwspec:{\"v\":1,\n\"script\":[]}", "gwspec: directive: invalid JSON at column "},
        {"gwspec:{\"v\":1,\"v\":1,\"script\":[]}", "gwspec: directive: invalid JSON"},
        {"gwspec:{\"script\":[]}", "gwspec: directive: 'v' must be 1"},
        {"gwspec:{\"v\":2,\"script\":[]}", "gwspec: directive: 'v' must be 1"},
        {"gwspec:{\"v\":\"1\",\"script\":[]}", "gwspec: directive: 'v' must be 1"},
        {"gwspec:{\"v\":1,\"ctl\":\"localhost\",\"script\":[]}",
         "gwspec: directive: 'ctl' must be \"host:port\""},
        {"gwspec:{\"v\":1,\"ctl\":\"h:0\",\"script\":[]}", "gwspec: directive: 'ctl' must be"},
        {"gwspec:{\"v\":1,\"ctl\":\"h:70000\",\"script\":[]}", "gwspec: directive: 'ctl' must be"},
        {"gwspec:{\"v\":1,\"ctl\":\"h:12x\",\"script\":[]}", "gwspec: directive: 'ctl' must be"},
        {"gwspec:{\"v\":1,\"ctl\":\"::1:5\",\"script\":[]}", "gwspec: directive: 'ctl' must be"},
        {"gwspec:{\"v\":1,\"ctl\":5,\"script\":[]}", "gwspec: directive: 'ctl' must be"},
        {"gwspec:{\"v\":1,\"label\":7,\"script\":[]}",
         "gwspec: directive: 'label' must be a string"},
        {"gwspec:{\"v\":1,\"seed\":-1,\"script\":[]}",
         "gwspec: directive: 'seed' must be a non-negative integer"},
        {"gwspec:{\"v\":1,\"colour\":\"red\",\"script\":[]}",
         "gwspec: directive: unknown key 'colour'"},
        {"gwspec:{\"v\":1}", "gwspec: directive: needs 'script' or 'name'"},
        {"gwspec:{\"v\":1,\"script\":[],\"name\":\"ok\"}",
         "gwspec: directive: give 'script' or 'name', not both"},
        {"gwspec:{\"v\":1,\"script\":[{\"announce\":\"auto\"},{\"bogus\":1}]}",
         "gwspec: script step 2: unknown step 'bogus'"},
        {"gwspec:{\"v\":1,\"script\":{\"announce\":\"auto\"}}",
         "gwspec: script: a script must be a list of steps"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct mp_directive d;
        const char *content;

        mp_directive_parse(rows[i].prompt, fixtures, &d);
        CU_ASSERT_TRUE(d.present);
        CU_ASSERT_PTR_NOT_NULL(d.error);
        content = error_content(&d);
        if (!content || strncmp(content, rows[i].content, strlen(rows[i].content)) != 0) {
            fprintf(stderr, "\n  row %zu: got  %s\n          want %s...\n", i,
                    content ? content : "(null)", rows[i].content);
            CU_FAIL("error content");
        }
        /* the error event carries d.error verbatim */
        CU_ASSERT(content && d.error && strcmp(content + strlen("gwspec: "), d.error) == 0);
        mp_directive_release(&d);
    }
}

static void test_directive_error_keeps_run_identity(void)
{
    struct mp_directive d;

    mp_directive_parse("gwspec:{\"v\":1,\"ctl\":\"127.0.0.1:7\",\"case\":\"c#1\",\"label\":\"s1\","
                       "\"run\":\"r2\",\"script\":[{\"emit\":{\"content\":\"x\"}}]}",
                       fixtures, &d);
    CU_ASSERT_STRING_EQUAL(d.error, "script step 1: emit needs a string 'kind'");
    CU_ASSERT_STRING_EQUAL(d.ctl_host, "127.0.0.1");
    CU_ASSERT_EQUAL(d.ctl_port, 7);
    CU_ASSERT_STRING_EQUAL(d.case_token, "c#1");
    CU_ASSERT_STRING_EQUAL(d.label, "s1");
    CU_ASSERT_STRING_EQUAL(d.run, "r2");
    mp_directive_release(&d);
}

static void test_directive_named_script(void)
{
    struct mp_directive d;
    char *want;

    mp_directive_parse("x gwspec:{\"v\":1,\"name\":\"ok\"} y", fixtures, &d);
    CU_ASSERT_PTR_NULL(d.error);
    CU_ASSERT_FATAL(d.script && d.script->n_steps == 3);
    CU_ASSERT_STRING_EQUAL(d.script->steps[1].arg, "hold");
    mp_directive_release(&d);

    mp_directive_parse("gwspec:{\"v\":1,\"name\":\"bad\"}", fixtures, &d);
    want = wc_xasprintf("%s/providers/bad.yaml:2:3: unknown step 'explode'", fixtures);
    CU_ASSERT_STRING_EQUAL(d.error, want);
    free(want);
    mp_directive_release(&d);

    mp_directive_parse("gwspec:{\"v\":1,\"name\":\"missing\"}", fixtures, &d);
    want = wc_xasprintf("%s/providers/missing.yaml", fixtures);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d.error);
    CU_ASSERT_NSTRING_EQUAL(d.error, want, strlen(want));
    free(want);
    mp_directive_release(&d);

    /* $GWSPEC_FIXTURES when no directory is given */
    setenv("GWSPEC_FIXTURES", fixtures, 1);
    mp_directive_parse("gwspec:{\"v\":1,\"name\":\"ok\"}", NULL, &d);
    CU_ASSERT_PTR_NULL(d.error);
    CU_ASSERT_EQUAL(d.script->n_steps, 3);
    mp_directive_release(&d);
    unsetenv("GWSPEC_FIXTURES");
}

static void test_directive_rejects_path_traversal(void)
{
    static const char *const prompts[] = {
        "gwspec:{\"v\":1,\"name\":\"../ok\"}",
        "gwspec:{\"v\":1,\"name\":\"providers/ok\"}",
        "gwspec:{\"v\":1,\"name\":\"..\"}",
        "gwspec:{\"v\":1,\"name\":\"/etc/passwd\"}",
    };
    struct mp_directive d;

    for (size_t i = 0; i < sizeof(prompts) / sizeof(prompts[0]); i++) {
        mp_directive_parse(prompts[i], fixtures, &d);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d.error);
        CU_ASSERT_PTR_NOT_NULL(strstr(d.error, "may not contain '/' or '..'"));
        CU_ASSERT_EQUAL(d.script->n_steps, 2);
        mp_directive_release(&d);
    }
    mp_directive_parse("gwspec:{\"v\":1,\"name\":\"\"}", fixtures, &d);
    CU_ASSERT_STRING_EQUAL(d.error, "directive: 'name' must be a non-empty string");
    mp_directive_release(&d);
    mp_directive_parse("gwspec:{\"v\":1,\"name\":3}", fixtures, &d);
    CU_ASSERT_STRING_EQUAL(d.error, "directive: 'name' must be a non-empty string");
    mp_directive_release(&d);
}

/* issue 18: a control address that is not loopback is dropped and the directive refused */
static void test_directive_limit_ctl(void)
{
    struct mp_directive d;
    const char *why;

    mp_directive_parse("gwspec:{\"v\":1,\"ctl\":\"192.0.2.1:9\",\"script\":[{\"complete\":0}]}",
                       fixtures, &d);
    CU_ASSERT_PTR_NULL(d.error);
    why = mp_directive_limit_ctl(&d, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CU_ASSERT_STRING_EQUAL(
        why, "directive: control address '192.0.2.1' is not loopback (see --allow-ctl)");
    CU_ASSERT_PTR_EQUAL(why, d.error);
    CU_ASSERT_PTR_NULL(d.ctl_host);
    CU_ASSERT_EQUAL(d.ctl_port, 0);
    CU_ASSERT(d.script && d.script->n_steps > 0 && d.script->steps[0].type != MP_STEP_COMPLETE);
    mp_directive_release(&d);

    /* allowed by the list; loopback always */
    mp_directive_parse("gwspec:{\"v\":1,\"ctl\":\"192.0.2.1:9\",\"script\":[]}", fixtures, &d);
    CU_ASSERT_PTR_NULL(mp_directive_limit_ctl(&d, "10.0.0.1,192.0.2.1"));
    CU_ASSERT_STRING_EQUAL(d.ctl_host, "192.0.2.1");
    mp_directive_release(&d);
    mp_directive_parse("gwspec:{\"v\":1,\"ctl\":\"127.0.0.1:9\",\"script\":[]}", fixtures, &d);
    CU_ASSERT_PTR_NULL(mp_directive_limit_ctl(&d, NULL));
    CU_ASSERT_PTR_NULL(d.error);
    mp_directive_release(&d);
    CU_ASSERT_FALSE(mp_ctl_allowed("192.0.2.10", "192.0.2.1"));
    CU_ASSERT_TRUE(mp_ctl_allowed("::1", NULL));
}

static CU_TestInfo directive_tests[] = {
    {"a non-loopback control address is refused", test_directive_limit_ctl},
    {"found_mid_prompt", test_directive_found_mid_prompt},
    {"absent_gives_default", test_directive_absent_gives_default},
    {"invalid_gives_error_script", test_directive_invalid_gives_error_script},
    {"error_keeps_run_identity", test_directive_error_keeps_run_identity},
    {"named_script", test_directive_named_script},
    {"rejects_path_traversal", test_directive_rejects_path_traversal},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo mp_directive_suites[] = {
    {.pName = "mp_directive",
     .pInitFunc = suite_init,
     .pCleanupFunc = suite_cleanup,
     .pTests = directive_tests},
    CU_SUITE_INFO_NULL,
};
