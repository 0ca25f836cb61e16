/* test_store.c: sessions, native ids and history, persistent across a reopen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../store.h"
#include "wc_err.h"
#include "wc_mem.h"
#include "wc_rand.h"

#include "wc_banned.h"

static char dir[64];

static char *db_path(void)
{
    snprintf(dir, sizeof(dir), "/tmp/gw-store-XXXXXX");
    if (!mkdtemp(dir))
        return NULL;
    return wc_xasprintf("%s/gw.db", dir);
}

static void cleanup_db(const char *path)
{
    char *p;
    unlink(path);
    p = wc_xasprintf("%s-wal", path);
    unlink(p);
    free(p);
    p = wc_xasprintf("%s-shm", path);
    unlink(p);
    free(p);
    rmdir(dir);
}

static void test_store_persists_native_id_across_reopen(void)
{
    char *path = db_path();
    char *err = NULL;
    struct wc_rand r;
    struct gw_store *st;
    struct gw_session s, s2, s3;
    char *id;

    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    wc_rand_init(&r, 42);
    st = gw_store_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL_FATAL(
        gw_store_create(st, &r, "alice", "codex", "/tmp/p", "Untitled Session", &s), 0);
    CU_ASSERT_EQUAL(strlen(s.id), 36);
    CU_ASSERT_EQUAL(s.id[14], '4');
    CU_ASSERT_PTR_NULL(s.native_id);
    CU_ASSERT_EQUAL(gw_store_set_native(st, s.id, "nat-7"), 0);
    CU_ASSERT_EQUAL(gw_store_set_native(st, "nope", "nat-7"), WC_ERR_NOTFOUND);
    id = wc_xstrdup(s.id);
    gw_session_release(&s);
    gw_store_free(st);

    /* A restarted gateway with the same seed: the same first UUID is skipped, not reused. */
    wc_rand_init(&r, 42);
    st = gw_store_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(gw_store_opens(st), 2);
    CU_ASSERT_EQUAL_FATAL(gw_store_get(st, id, &s2), 0);
    CU_ASSERT_STRING_EQUAL(s2.native_id, "nat-7");
    CU_ASSERT_STRING_EQUAL(s2.owner, "alice");
    CU_ASSERT_STRING_EQUAL(s2.provider, "codex");
    CU_ASSERT_STRING_EQUAL(s2.project_path, "/tmp/p");
    CU_ASSERT_EQUAL_FATAL(gw_store_create(st, &r, "bob", "claude", "/q", "n", &s3), 0);
    CU_ASSERT_STRING_NOT_EQUAL(s3.id, id);
    CU_ASSERT_EQUAL(gw_store_get(st, "missing", &s), WC_ERR_NOTFOUND);
    gw_session_release(&s2);
    gw_session_release(&s3);
    gw_store_free(st);
    free(id);
    cleanup_db(path);
    free(path);
}

static void test_store_history_pages_from_tail(void)
{
    char *err = NULL;
    struct gw_store *st = gw_store_open(":memory:", &err);
    int64_t total = 0;
    json_t *page;

    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    for (int i = 1; i <= 5; i++) {
        json_t *m = json_pack("{s:s, s:i}", "kind", "text", "n", i);
        CU_ASSERT_EQUAL(gw_store_add_message(st, "s1", m), 0);
        json_decref(m);
    }
    page = gw_store_messages(st, "s1", -1, 0, &total);
    CU_ASSERT_EQUAL(total, 5);
    CU_ASSERT_EQUAL(json_array_size(page), 5);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(page, 0), "n")), 1);
    json_decref(page);
    page = gw_store_messages(st, "s1", 2, 0, &total);
    CU_ASSERT_EQUAL_FATAL(json_array_size(page), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(page, 0), "n")), 4);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(page, 1), "n")), 5);
    json_decref(page);
    page = gw_store_messages(st, "s1", 2, 4, &total);
    CU_ASSERT_EQUAL_FATAL(json_array_size(page), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(page, 0), "n")), 1);
    json_decref(page);
    page = gw_store_messages(st, "s1", 0, 0, &total); /* limit 0: an empty page, not "all" */
    CU_ASSERT_EQUAL(total, 5);
    CU_ASSERT_EQUAL(json_array_size(page), 0);
    json_decref(page);
    page = gw_store_messages(st, "s1", -7, 3, &total); /* any negative limit: no limit */
    CU_ASSERT_EQUAL(json_array_size(page), 2);
    json_decref(page);
    page = gw_store_messages(st, "other", -1, 0, &total);
    CU_ASSERT_EQUAL(total, 0);
    CU_ASSERT_EQUAL(json_array_size(page), 0);
    json_decref(page);
    gw_store_free(st);
}

/* Append message {kind, i, pad} to session id; every one has the same size for i < 10. */
static void add_numbered(struct gw_store *st, const char *id, int i)
{
    json_t *m = json_pack("{s:s, s:i, s:s}", "kind", "text", "i", i, "pad",
                          "0123456789012345678901234567890123456789");
    CU_ASSERT_EQUAL(gw_store_add_message(st, id, m), 0);
    json_decref(m);
}

/* The i of every message of id, oldest first, as "i,i,..." in buf. Returns total. */
static int64_t history_of(struct gw_store *st, const char *id, char *buf, size_t len)
{
    int64_t total = -1;
    json_t *page = gw_store_messages(st, id, -1, 0, &total);
    size_t k, used = 0;
    json_t *m;

    buf[0] = '\0';
    json_array_foreach(page, k, m)
    {
        int n = snprintf(buf + used, len - used, "%s%lld", k ? "," : "",
                         (long long)json_integer_value(json_object_get(m, "i")));
        if (n > 0 && (size_t)n < len - used)
            used += (size_t)n;
    }
    CU_ASSERT_EQUAL(total, (int64_t)json_array_size(page));
    json_decref(page);
    return total;
}

static void test_store_budget_prunes_least_recently_active_first(void)
{
    char *err = NULL;
    struct gw_store *st = gw_store_open(":memory:", &err);
    char got[256];
    size_t m;

    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(gw_store_bytes(st), 0);
    for (int i = 0; i < 10; i++)
        add_numbered(st, "sa", i);
    for (int i = 0; i < 10; i++)
        add_numbered(st, "sb", i);
    m = gw_store_bytes(st) / 20; /* one message: its JSON text and its session id */
    CU_ASSERT_EQUAL_FATAL(gw_store_bytes(st), 20 * m);
    /* No budget (the default): nothing is pruned. */
    CU_ASSERT_EQUAL(history_of(st, "sa", got, sizeof(got)), 10);
    /* Over a budget of 10 messages: down to 9 (90%). sa is the least recently active: it goes
     * whole, then sb loses its two oldest; the message just appended stays. */
    gw_store_set_budget(st, 10 * m);
    add_numbered(st, "sb", 0);
    CU_ASSERT_EQUAL(gw_store_bytes(st), 9 * m);
    CU_ASSERT_EQUAL(history_of(st, "sa", got, sizeof(got)), 0);
    CU_ASSERT_EQUAL(history_of(st, "sb", got, sizeof(got)), 9);
    CU_ASSERT_STRING_EQUAL(got, "2,3,4,5,6,7,8,9,0");
    /* At the budget nothing goes; past it, sb (now the older activity) loses first. */
    add_numbered(st, "sa", 1);
    CU_ASSERT_EQUAL(gw_store_bytes(st), 10 * m);
    add_numbered(st, "sa", 2);
    CU_ASSERT_EQUAL(gw_store_bytes(st), 9 * m);
    CU_ASSERT_EQUAL(history_of(st, "sb", got, sizeof(got)), 7);
    CU_ASSERT_STRING_EQUAL(got, "4,5,6,7,8,9,0");
    CU_ASSERT_EQUAL(history_of(st, "sa", got, sizeof(got)), 2);
    CU_ASSERT_STRING_EQUAL(got, "1,2");
    /* A budget below one message keeps only the message just appended. */
    gw_store_set_budget(st, 1);
    add_numbered(st, "sb", 5);
    CU_ASSERT_EQUAL(gw_store_bytes(st), m);
    CU_ASSERT_EQUAL(history_of(st, "sa", got, sizeof(got)), 0);
    CU_ASSERT_EQUAL(history_of(st, "sb", got, sizeof(got)), 1);
    CU_ASSERT_STRING_EQUAL(got, "5");
    gw_store_free(st);
}

static void test_store_bytes_survive_reopen(void)
{
    char *path = db_path();
    char *err = NULL;
    struct gw_store *st;
    size_t before;

    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    st = gw_store_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    for (int i = 0; i < 4; i++)
        add_numbered(st, "s\xc3\xa9", i); /* a two-byte character: bytes, not characters */
    before = gw_store_bytes(st);
    CU_ASSERT(before > 0);
    gw_store_free(st);
    st = gw_store_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(gw_store_bytes(st), before);
    /* The budget counts the history that was already there. */
    gw_store_set_budget(st, before);
    add_numbered(st, "s\xc3\xa9", 4);
    CU_ASSERT(gw_store_bytes(st) <= before);
    gw_store_free(st);
    cleanup_db(path);
    free(path);
}

static void test_store_open_fails_with_message(void)
{
    char *err = NULL;
    struct gw_store *st = gw_store_open("/nonexistent-dir/x/y.db", &err);

    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_PTR_NOT_NULL(err);
    free(err);
}

static CU_TestInfo store_tests[] = {
    {"persists_native_id_across_reopen", test_store_persists_native_id_across_reopen},
    {"history_pages_from_tail", test_store_history_pages_from_tail},
    {"open_fails_with_message", test_store_open_fails_with_message},
    {"budget_prunes_least_recently_active_first",
     test_store_budget_prunes_least_recently_active_first},
    {"bytes_survive_reopen", test_store_bytes_survive_reopen},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo gw_store_suites[] = {
    {.pName = "gw_store", .pTests = store_tests},
    CU_SUITE_INFO_NULL,
};
