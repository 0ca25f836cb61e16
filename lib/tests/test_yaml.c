/* lib/tests/test_yaml.c: YAML -> JSON typing, positions and file:line:col errors. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
        {"a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one YAML document"},
        {"a: 1\n\n---\n", "t.yaml:3:1: more than one YAML document"},
        {"", "t.yaml:1:1: empty document"},
        {"# only a comment\n", "t.yaml:1:1: empty document"},
        {"a: *nope\n", "t.yaml:1:"},
        /* libfyaml 0.7.12 refuses these with no diagnostic (fuzz/corpus/case/...-indent-zero) */
        {"a: >0\n  x\n", "t.yaml:1:5: block scalar indentation indicator 0"},
        {"a: 1\nb: |-0\n  x\n", "t.yaml:2:6: block scalar indentation indicator 0"},
        {"- >0\n", "t.yaml:1:4: block scalar indentation indicator 0"},
        {"\xc3\xa9: >0\n", "t.yaml:1:5: block scalar indentation indicator 0"},
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

/*
 * Load text in a child under a 5 s alarm and report whether it was refused with an error that
 * starts with prefix: libfyaml spins forever on some of these inputs, and a test must fail, not
 * hang, when the guard is missing.
 */
static bool refused_in_child(const char *text, size_t len, const char *prefix)
{
    int status = 0;
    pid_t pid = fork();

    if (pid == 0) {
        char *err = NULL;
        alarm(5);
        struct wc_yaml_doc *doc = wc_yaml_load_string("t.yaml", text, len, &err);
        _exit(!doc && err && strncmp(err, prefix, strlen(prefix)) == 0 ? 0 : 1);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_yaml_invalid_utf8_is_refused_at_its_byte(void)
{
    static const struct {
        const char *text;
        const char *prefix;
    } rows[] = {
        {"%\xd2", "t.yaml:1:2: invalid UTF-8"},                     /* hung libfyaml 0.7.12 */
        {"%\xd2\n", "t.yaml:1:2: invalid UTF-8"},                   /* the same, one line */
        {"a: \xc0\xaf\n", "t.yaml:1:4: invalid UTF-8"},             /* overlong '/' */
        {"a: \xe0\x80\xaf\n", "t.yaml:1:4: invalid UTF-8"},         /* overlong, 3 bytes */
        {"a: 1\nb: \xed\xa0\x80\n", "t.yaml:2:4: invalid UTF-8"},   /* surrogate U+D800 */
        {"a: \xf4\x90\x80\x80\n", "t.yaml:1:4: invalid UTF-8"},     /* U+110000 */
        {"a: \xf5\x80\x80\x80\n", "t.yaml:1:4: invalid UTF-8"},     /* lead byte 0xF5 */
        {"a: \xe2\x82", "t.yaml:1:4: invalid UTF-8"},               /* truncated at the end */
        {"a: \xe2\x82x\n", "t.yaml:1:4: invalid UTF-8"},            /* truncated mid-line */
        {"a: \x80\n", "t.yaml:1:4: invalid UTF-8"},                 /* lone continuation */
        {"\xc3\xa9t\xc3\xa9: \xff\n", "t.yaml:1:6: invalid UTF-8"}, /* columns count chars */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (!refused_in_child(rows[i].text, strlen(rows[i].text), rows[i].prefix))
            CU_FAIL(rows[i].prefix);
    }
}

static void test_yaml_valid_utf8_loads(void)
{
    char *err = NULL;
    const char *text =
        "\xc3\xa9: \"\xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xed\x9f\xbf\"\n";
    struct wc_yaml_doc *doc = load(text, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(wc_yaml_root(doc), "\xc3\xa9")),
                           "\xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xed\x9f\xbf");
    wc_yaml_free(doc);
}

/*
 * A billion-laughs document: `levels` anchors, each a list of nine aliases of the one before,
 * about 9^levels nodes once resolved (new string, free()). Issue 18: seven levels, 392 bytes,
 * took `gwspec lint` 8 s and 1.7 GB; six levels 0.76 s and 210 MB, and loaded.
 */
static char *alias_bomb(int levels)
{
    size_t cap = 64 + (size_t)levels * 96, len = 0; /* a line is at most 80 bytes */
    char *t = malloc(cap);

    len += (size_t)snprintf(t + len, cap - len, "a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i <= levels; i++) {
        len += (size_t)snprintf(t + len, cap - len, "a%d: &a%d [", i, i);
        for (int j = 0; j < 9; j++)
            len += (size_t)snprintf(t + len, cap - len, "%s*a%d", j ? ", " : "", i - 1);
        len += (size_t)snprintf(t + len, cap - len, "]\n");
    }
    return t;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Issue 18: alias expansion is counted before libfyaml copies anything, and refused past
 * WC_YAML_MAX_NODES at the alias that went past it, in milliseconds. */
static void test_yaml_alias_bomb_is_refused_fast(void)
{
    char *bomb = alias_bomb(6);
    double t0 = now_s();

    CU_ASSERT_TRUE(refused_in_child(bomb, strlen(bomb),
                                    "t.yaml:6:10: alias '*a4' expands the document past 100000 "
                                    "nodes"));
    CU_ASSERT_TRUE(now_s() - t0 < 1.0);
    free(bomb);
    bomb = alias_bomb(12); /* 9^12 nodes: the count stops at the bound, whatever the depth */
    t0 = now_s();
    CU_ASSERT_TRUE(refused_in_child(bomb, strlen(bomb), "t.yaml:6:10: alias '*a4' expands"));
    CU_ASSERT_TRUE(now_s() - t0 < 1.0);
    free(bomb);
}

static void test_yaml_aliases_within_the_bound_load(void)
{
    char *bomb = alias_bomb(3); /* about 8,200 nodes */
    char *err = NULL;
    struct wc_yaml_doc *doc = wc_yaml_load_string("t.yaml", bomb, strlen(bomb), &err);

    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *a3 = json_object_get(wc_yaml_root(doc), "a3");
    CU_ASSERT_EQUAL(json_array_size(a3), 9);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
                               json_array_get(json_array_get(json_array_get(a3, 8), 8), 8), 8)),
                           "x");
    wc_yaml_free(doc);
    free(bomb);
}

/* Document size: too many nodes without any alias, too many bytes, too deep through aliases. */
static void test_yaml_document_size_is_bounded(void)
{
    size_t n = WC_YAML_MAX_NODES + 10, len = 0;
    char *t = malloc(n * 4 + 1);

    for (size_t i = 0; i < n; i++, len += 4)
        memcpy(t + len, "- x\n", 4);
    t[len] = '\0';
    CU_ASSERT_TRUE(
        refused_in_child(t, len, "t.yaml:100000:3: document has more than 100000 nodes"));
    free(t);

    len = WC_YAML_MAX_BYTES + 1;
    t = malloc(len + 1);
    memset(t, 'x', len);
    t[len] = '\0';
    for (size_t i = 79; i < len; i += 80)
        t[i] = '\n';
    char want[64];
    snprintf(want, sizeof(want), "t.yaml:%d:%d: input larger than", WC_YAML_MAX_BYTES / 80 + 1,
             WC_YAML_MAX_BYTES % 80 + 1);
    CU_ASSERT_TRUE(refused_in_child(t, len, want));
    free(t);

    /* a chain of 300 anchors, each a list holding the one before: 300 levels once resolved */
    size_t cap = 300 * 40;
    t = malloc(cap);
    len = (size_t)snprintf(t, cap, "a0: &a0 [x]\n");
    for (int i = 1; i < 300; i++)
        len += (size_t)snprintf(t + len, cap - len, "a%d: &a%d [*a%d]\n", i, i, i - 1);
    CU_ASSERT_TRUE(
        refused_in_child(t, len, "t.yaml:101:14: alias '*a99' nests more than 200 levels deep"));
    free(t);
}

/* Issue 18: every node an error can name has a place, and a message stays one line. */
static void test_yaml_positions_of_empty_null_and_block_nodes(void)
{
    char *err = NULL;
    struct wc_yaml_doc *doc = load("e: {}\nl:\n  - x\n  - ~\n  - [ ]\nb: |-  # a | comment\n"
                                   "  one\n  two\nf: >\n\n  folded\n",
                                   &err);
    json_t *root;
    int line, col;
    char *msg;

    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    root = wc_yaml_root(doc);
    CU_ASSERT_TRUE(wc_yaml_pos(doc, json_object_get(root, "e"), &line, &col));
    CU_ASSERT(line == 1 && col == 4);
    CU_ASSERT_TRUE(wc_yaml_index_pos(doc, json_object_get(root, "l"), 1, &line, &col));
    CU_ASSERT(line == 4 && col == 5);
    CU_ASSERT_TRUE(wc_yaml_pos(doc, json_array_get(json_object_get(root, "l"), 2), &line, &col));
    CU_ASSERT(line == 5 && col == 5);
    /* a block scalar sits at its header's indicator, not in the next line's indentation */
    CU_ASSERT_TRUE(wc_yaml_pos(doc, json_object_get(root, "b"), &line, &col));
    CU_ASSERT(line == 6 && col == 4);
    CU_ASSERT_TRUE(wc_yaml_pos(doc, json_object_get(root, "f"), &line, &col));
    CU_ASSERT(line == 9 && col == 4);
    msg = wc_yaml_msg(doc, json_object_get(root, "b"), NULL, "bad '%s'", wc_json_str(root, "b"));
    CU_ASSERT_STRING_EQUAL(msg, "t.yaml:6:4: bad 'one\\ntwo'");
    free(msg);
    wc_yaml_free(doc);
}

/* libfyaml 0.7.12 leaks (and can garble) a run of '' escapes: decoded here instead. */
static void test_yaml_single_quotes_decode_from_source(void)
{
    char *err = NULL;
    struct wc_yaml_doc *doc = load("a: ''''''''''''\nb: 'a''''''''''b'\nc: 'x\n\n  y z'\n", &err);

    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(wc_json_str(wc_yaml_root(doc), "a"), "'''''");
    CU_ASSERT_STRING_EQUAL(wc_json_str(wc_yaml_root(doc), "b"), "a'''''b");
    CU_ASSERT_STRING_EQUAL(wc_json_str(wc_yaml_root(doc), "c"), "x\ny z");
    wc_yaml_free(doc);
}

static CU_TestInfo yaml_tests[] = {
    {"alias_bomb_is_refused_fast", test_yaml_alias_bomb_is_refused_fast},
    {"aliases_within_the_bound_load", test_yaml_aliases_within_the_bound_load},
    {"document_size_is_bounded", test_yaml_document_size_is_bounded},
    {"scalars_follow_core_schema", test_yaml_scalars_follow_core_schema},
    {"positions_are_one_based", test_yaml_positions_are_one_based},
    {"errors_carry_line_and_column", test_yaml_errors_carry_line_and_column},
    {"anchors_and_merge_keys_resolve", test_yaml_anchors_and_merge_keys_resolve},
    {"invalid_utf8_is_refused_at_its_byte", test_yaml_invalid_utf8_is_refused_at_its_byte},
    {"valid_utf8_loads", test_yaml_valid_utf8_loads},
    {"positions_of_empty_null_and_block_nodes", test_yaml_positions_of_empty_null_and_block_nodes},
    {"single_quotes_decode_from_source", test_yaml_single_quotes_decode_from_source},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo wc_yaml_suites[] = {
    {"wc_yaml", NULL, NULL, NULL, NULL, yaml_tests},
    CU_SUITE_INFO_NULL,
};
