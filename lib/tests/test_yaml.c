/* lib/tests/test_yaml.c: YAML -> JSON typing, positions and file:line:col errors. */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "wc_json.h"
#include "wc_yaml.h"

static struct wc_yaml_doc *load(const char *text, char **err)
{
    return wc_yaml_load_string("t.yaml", text, strlen(text), err);
}

static void test_yaml_scalars_follow_core_schema(void)
{
    char *err = NULL;
    struct wc_yaml_doc *doc =
        load("a: 1\nb: \"1\"\nc: 1.5\nd: true\ne: ~\nf:\ng: yes\nh: -7\n", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char *s = wc_json_canon(wc_yaml_root(doc));
    CU_ASSERT_STRING_EQUAL(
        s,
        "{\"a\":1,\"b\":\"1\",\"c\":1.5,\"d\":true,\"e\":null,\"f\":null,\"g\":\"yes\",\"h\":-7}");
    free(s);
    wc_yaml_free(doc);
}

static void test_yaml_positions_are_one_based(void)
{
    char *err = NULL;
    struct wc_yaml_doc *doc = load("top:\n  key: value\n  list: [1, two]\n", &err);
    int line, col;
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *top = json_object_get(wc_yaml_root(doc), "top");
    CU_ASSERT_TRUE(wc_yaml_key_pos(doc, top, "key", &line, &col));
    CU_ASSERT_EQUAL(line, 2);
    CU_ASSERT_EQUAL(col, 3);
    CU_ASSERT_TRUE(wc_yaml_pos(doc, json_object_get(top, "key"), &line, &col));
    CU_ASSERT_EQUAL(line, 2);
    CU_ASSERT_EQUAL(col, 8);
    json_t *two = json_array_get(json_object_get(top, "list"), 1);
    CU_ASSERT_TRUE(wc_yaml_pos(doc, two, &line, &col));
    CU_ASSERT_EQUAL(line, 3);
    CU_ASSERT_EQUAL(col, 13);
    char *msg = wc_yaml_msg(doc, top, "key", "unknown key '%s'", "key");
    CU_ASSERT_STRING_EQUAL(msg, "t.yaml:2:3: unknown key 'key'");
    free(msg);
    wc_yaml_free(doc);
}

static void test_yaml_errors_carry_line_and_column(void)
{
    static const struct {
        const char *text;
        const char *prefix;
    } rows[] = {
        {"a: 1\na: 2\n", "t.yaml:2:1: "},
        {"a: [1, 2\n", "t.yaml:"},
        {"? [a, b]\n: x\n", "t.yaml:1:4: mapping keys must be scalars"},
        {"a: 99999999999999999999\n", "t.yaml:1:4: integer out of range"},
        {"a: 1\n---\nb: 2\n", "t.yaml: more than one YAML document"},
        {"a: *nope\n", "t.yaml:1:"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *err = NULL;
        struct wc_yaml_doc *doc = load(rows[i].text, &err);
        CU_ASSERT_PTR_NULL(doc);
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        if (strncmp(err, rows[i].prefix, strlen(rows[i].prefix)) != 0)
            CU_FAIL(err);
        free(err);
        wc_yaml_free(doc);
    }
}

static void test_yaml_anchors_and_merge_keys_resolve(void)
{
    char *err = NULL;
    struct wc_yaml_doc *doc = load("base: &b {x: 1}\nuse: *b\nm:\n  <<: *b\n  y: 2\n", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *root = wc_yaml_root(doc);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(root, "use"), "x")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(root, "m"), "x")), 1);
    wc_yaml_free(doc);
}

static CU_TestInfo yaml_tests[] = {
    {"scalars_follow_core_schema", test_yaml_scalars_follow_core_schema},
    {"positions_are_one_based", test_yaml_positions_are_one_based},
    {"errors_carry_line_and_column", test_yaml_errors_carry_line_and_column},
    {"anchors_and_merge_keys_resolve", test_yaml_anchors_and_merge_keys_resolve},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo wc_yaml_suites[] = {
    {"wc_yaml", NULL, NULL, NULL, NULL, yaml_tests},
    CU_SUITE_INFO_NULL,
};
