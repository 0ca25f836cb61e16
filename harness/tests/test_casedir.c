/* test_casedir.c: CUnit tests for harness/model/casedir.c (suite hn_casedir): discovery, filter,
 * exclude, tag, strict, shard, and the seeded order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "model/casedir.h"
#include "wc_mem.h"

static struct hn_spec *spec;
static struct hn_caselist all;
static char dir[64];

static void write_case(const char *sect, const char *id, const char *tags, bool strict)
{
    char *d = wc_xasprintf("%s/%s", dir, sect);
    mkdir(d, 0755);
    char *p = wc_xasprintf("%s/%s.yaml", d, id);
    FILE *fp = fopen(p, "w");
    fprintf(fp,
            "id: %s\ntitle: t\nspec: [R-X-1]\ntags: %s\n%sdescription: d\nexpectation: e\n"
            "steps:\n  - connect: c1\n",
            id, tags, strict ? "strict: true\n" : "");
    fclose(fp);
    free(p);
    free(d);
}

static int setup(void)
{
    char *err = NULL;
    spec = hn_spec_load_string("r.yaml",
                               "requirements:\n  - {id: R-X-1, level: MUST, section: 1}\n", &err);
    snprintf(dir, sizeof(dir), "/tmp/gwspec-casedir-XXXXXX");
    if (!spec || !mkdtemp(dir))
        return 1;
    write_case("1-auth", "1.1.1-a", "[auth]", false);
    write_case("1-auth", "1.1.10-b", "[auth, slow]", false);
    write_case("1-auth", "1.1.2-c", "[]", false);
    write_case("2-rest", "2.1.1-d", "[rest]", true);
    write_case("4-run", "4.2.1-e", "[abort, race]", false);
    write_case("4-run", "4.10.1-f", "[race]", false);
    json_t *paths = json_array(), *errs = json_array();
    char *args[] = {dir};
    int rc = hn_casedir_find(args, 1, "cases", paths, errs);
    rc = rc ? rc : hn_casedir_load(paths, spec, &all, errs);
    if (rc)
        for (size_t i = 0; i < json_array_size(errs); i++)
            fprintf(stderr, "%s\n", json_string_value(json_array_get(errs, i)));
    json_decref(paths);
    json_decref(errs);
    return rc ? 1 : 0;
}

static int teardown(void)
{
    hn_caselist_release(&all);
    hn_spec_free(spec);
    char *cmd = wc_xasprintf("rm -rf '%s'", dir);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : 0;
}

static char *ids(struct hn_case **v, size_t n)
{
    char buf[1024] = "";
    for (size_t i = 0; i < n; i++) {
        strcat(buf, i ? " " : "");
        strcat(buf, v[i]->id);
    }
    return wc_xstrdup(buf);
}

static char *sel(struct hn_select *s)
{
    struct hn_case **v;
    size_t n;
    hn_casedir_select(&all, s, &v, &n);
    char *r = ids(v, n);
    free(v);
    return r;
}

static void test_id_order(void)
{
    CU_ASSERT_TRUE(hn_case_id_cmp("1.1.2-c", "1.1.10-b") < 0);
    CU_ASSERT_TRUE(hn_case_id_cmp("4.10.1-f", "4.2.1-e") > 0);
    CU_ASSERT_TRUE(hn_case_id_cmp("1.1.1-a", "1.1.1-a.b") < 0);
    CU_ASSERT_EQUAL(hn_case_id_cmp("x", "x"), 0);
    struct hn_select s = {0};
    char *r = sel(&s);
    CU_ASSERT_STRING_EQUAL(r, "1.1.1-a 1.1.2-c 1.1.10-b 4.2.1-e 4.10.1-f");
    free(r);
    s.strict = true;
    r = sel(&s);
    CU_ASSERT_STRING_EQUAL(r, "1.1.1-a 1.1.2-c 1.1.10-b 2.1.1-d 4.2.1-e 4.10.1-f");
    free(r);
}

static void test_filter_exclude_tag(void)
{
    json_t *f = json_pack("[s]", "1.1.*"), *x = json_pack("[s]", "*-c"),
           *t = json_pack("[s]", "race");
    struct hn_select s = {.filters = f};
    char *r = sel(&s);
    CU_ASSERT_STRING_EQUAL(r, "1.1.1-a 1.1.2-c 1.1.10-b");
    free(r);
    s.excludes = x;
    r = sel(&s);
    CU_ASSERT_STRING_EQUAL(r, "1.1.1-a 1.1.10-b");
    free(r);
    struct hn_select s2 = {.tags = t};
    r = sel(&s2);
    CU_ASSERT_STRING_EQUAL(r, "4.2.1-e 4.10.1-f");
    free(r);
    json_array_append_new(t, json_string("slow"));
    r = sel(&s2);
    CU_ASSERT_STRING_EQUAL(r, "1.1.10-b 4.2.1-e 4.10.1-f");
    free(r);
    json_decref(f);
    json_decref(x);
    json_decref(t);
}

static void test_shard(void)
{
    int k, n;
    CU_ASSERT_EQUAL(hn_shard_parse("2/3", &k, &n), 0);
    CU_ASSERT_EQUAL(k, 2);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_NOT_EQUAL(hn_shard_parse("0/3", &k, &n), 0);
    CU_ASSERT_NOT_EQUAL(hn_shard_parse("4/3", &k, &n), 0);
    CU_ASSERT_NOT_EQUAL(hn_shard_parse("1", &k, &n), 0);
    CU_ASSERT_NOT_EQUAL(hn_shard_parse("1/x", &k, &n), 0);
    struct hn_select s = {.shard_k = 1, .shard_n = 2};
    char *a = sel(&s);
    CU_ASSERT_STRING_EQUAL(a, "1.1.1-a 1.1.10-b 4.10.1-f");
    s.shard_k = 2;
    char *b = sel(&s);
    CU_ASSERT_STRING_EQUAL(b, "1.1.2-c 4.2.1-e");
    free(a);
    free(b);
    /* shards are disjoint and complete whatever the seed */
    s.shuffle = true;
    s.seed = 99;
    s.shard_k = 1;
    a = sel(&s);
    CU_ASSERT_PTR_NOT_NULL(strstr(a, "1.1.10-b"));
    CU_ASSERT_PTR_NULL(strstr(a, "4.2.1-e"));
    free(a);
}

static void test_seeded_order(void)
{
    struct hn_select s = {.shuffle = true, .seed = 1234};
    char *a = sel(&s), *b = sel(&s);
    CU_ASSERT_STRING_EQUAL(a, b);
    bool differs = false;
    for (uint64_t seed = 1; seed < 20 && !differs; seed++) {
        s.seed = seed;
        char *c = sel(&s);
        differs = strcmp(a, c) != 0;
        free(c);
    }
    CU_ASSERT_TRUE(differs);
    free(a);
    free(b);
}

static void test_find_errors(void)
{
    json_t *paths = json_array(), *errs = json_array();
    char *args[] = {"/nonexistent/gwspec/x.yaml"};
    CU_ASSERT_NOT_EQUAL(hn_casedir_find(args, 1, "cases", paths, errs), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(errs, 0)),
                           "/nonexistent/gwspec/x.yaml: no such case file or directory");
    json_decref(paths);
    json_decref(errs);
    /* duplicate ids across files */
    struct hn_caselist l = {0};
    paths = json_array();
    errs = json_array();
    char *p1 = wc_xasprintf("%s/1-auth/1.1.1-a.yaml", dir);
    json_array_append_new(paths, json_string(p1));
    json_array_append_new(paths, json_string(p1));
    CU_ASSERT_NOT_EQUAL(hn_casedir_load(paths, spec, &l, errs), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_array_get(errs, 0)), "is also used by"));
    free(p1);
    hn_caselist_release(&l);
    json_decref(paths);
    json_decref(errs);
}

static CU_TestInfo casedir_tests[] = {
    {"id_order", test_id_order},
    {"filter_exclude_tag", test_filter_exclude_tag},
    {"shard", test_shard},
    {"seeded_order", test_seeded_order},
    {"find_errors", test_find_errors},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_casedir_suites[] = {
    {.pName = "hn_casedir", .pInitFunc = setup, .pCleanupFunc = teardown, .pTests = casedir_tests},
    CU_SUITE_INFO_NULL,
};
