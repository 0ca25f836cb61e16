/* test_book.c: rc_idset and rc_book: pending, answered, cancelled; bounded memory. */
#include <stdio.h>

#include <CUnit/CUnit.h>

#include "book.h"
#include "wc_banned.h"

static void test_idset_bounded(void)
{
    struct rc_idset s;
    char id[16];

    rc_idset_init(&s, 3);
    CU_ASSERT_TRUE(rc_idset_add(&s, "a"));
    CU_ASSERT_FALSE(rc_idset_add(&s, "a"));
    CU_ASSERT_TRUE(rc_idset_add(&s, "b"));
    CU_ASSERT_TRUE(rc_idset_add(&s, "c"));
    CU_ASSERT_TRUE(rc_idset_has(&s, "a"));
    CU_ASSERT_TRUE(rc_idset_add(&s, "d")); /* forgets a, the oldest */
    CU_ASSERT_FALSE(rc_idset_has(&s, "a"));
    CU_ASSERT_TRUE(rc_idset_has(&s, "b"));
    CU_ASSERT_TRUE(rc_idset_has(&s, "d"));
    CU_ASSERT_EQUAL(s.n, 3);
    rc_idset_release(&s);
    /* the size the client uses keeps at least 1000 (CR-MSG-1) */
    rc_idset_init(&s, RC_BOOK_IDS);
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "u%d", i);
        rc_idset_add(&s, id);
    }
    CU_ASSERT_TRUE(rc_idset_has(&s, "u0"));
    CU_ASSERT_TRUE(rc_idset_has(&s, "u999"));
    rc_idset_release(&s);
}

static void test_pending_answer(void)
{
    struct rc_book b;
    json_t *in = json_pack("{s:s}", "cmd", "ls");
    const struct rc_pending *p;

    rc_book_init(&b);
    CU_ASSERT_EQUAL(rc_book_state(&b, "r1"), RC_REQ_UNKNOWN);
    CU_ASSERT_PTR_NULL(rc_book_find(&b, NULL));
    CU_ASSERT_TRUE(rc_book_add_pending(&b, "r1", "Bash", in));
    CU_ASSERT_TRUE(rc_book_add_pending(&b, "r2", "Edit", NULL));
    CU_ASSERT_FALSE(rc_book_add_pending(&b, "r1", "Bash", in)); /* CR-CTL-4 */
    CU_ASSERT_EQUAL(rc_book_state(&b, "r1"), RC_REQ_PENDING);
    p = rc_book_find(&b, NULL); /* the newest */
    CU_ASSERT_STRING_EQUAL(p->request_id, "r2");
    CU_ASSERT_TRUE(json_is_object(p->input));
    p = rc_book_find(&b, "r1");
    CU_ASSERT_STRING_EQUAL(p->tool_name, "Bash");
    CU_ASSERT_TRUE(json_equal(p->input, in));
    rc_book_answered(&b, p->request_id); /* the id is inside the entry it frees */
    CU_ASSERT_EQUAL(rc_book_state(&b, "r1"), RC_REQ_ANSWERED);
    CU_ASSERT_PTR_NULL(rc_book_find(&b, "r1"));
    CU_ASSERT_FALSE(rc_book_add_pending(&b, "r1", "Bash", in));
    CU_ASSERT_STRING_EQUAL(rc_book_find(&b, NULL)->request_id, "r2");
    rc_book_mark_answered(&b, "r9");
    CU_ASSERT_EQUAL(rc_book_state(&b, "r9"), RC_REQ_ANSWERED);
    json_decref(in);
    rc_book_release(&b);
}

static void test_cancel(void)
{
    struct rc_book b;

    rc_book_init(&b);
    CU_ASSERT_FALSE(rc_book_cancel(&b, "r1")); /* not pending */
    CU_ASSERT_EQUAL(rc_book_state(&b, "r1"), RC_REQ_UNKNOWN);
    rc_book_add_pending(&b, "r1", "Bash", NULL);
    rc_book_add_pending(&b, "r2", "Bash", NULL);
    CU_ASSERT_TRUE(rc_book_cancel(&b, "r2"));
    CU_ASSERT_EQUAL(rc_book_state(&b, "r2"), RC_REQ_CANCELLED);
    CU_ASSERT_PTR_NULL(rc_book_find(&b, "r2"));
    /* the newest pending is now the older one, never the cancelled one (CR-CTL-3) */
    CU_ASSERT_STRING_EQUAL(rc_book_find(&b, NULL)->request_id, "r1");
    CU_ASSERT_FALSE(rc_book_cancel(&b, "r2"));
    CU_ASSERT_FALSE(rc_book_add_pending(&b, "r2", "Bash", NULL));
    rc_book_answered(&b, "r1");
    CU_ASSERT_FALSE(rc_book_cancel(&b, "r1")); /* answered: a late cancel changes nothing */
    CU_ASSERT_EQUAL(rc_book_state(&b, "r1"), RC_REQ_ANSWERED);
    CU_ASSERT_PTR_NULL(rc_book_find(&b, NULL));
    rc_book_release(&b);
}

static void test_many_pending(void)
{
    struct rc_book b;
    char id[16];

    rc_book_init(&b);
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        CU_ASSERT_TRUE(rc_book_add_pending(&b, id, "T", NULL));
    }
    CU_ASSERT_EQUAL(b.npending, 100);
    CU_ASSERT_STRING_EQUAL(rc_book_find(&b, NULL)->request_id, "r99");
    rc_book_answered(&b, "r50");
    CU_ASSERT_EQUAL(b.npending, 99);
    CU_ASSERT_PTR_NOT_NULL(rc_book_find(&b, "r51"));
    CU_ASSERT_PTR_NOT_NULL(rc_book_find(&b, "r49"));
    rc_book_release(&b);
}

static CU_TestInfo tests[] = {
    {"idset: bounded, oldest forgotten first", test_idset_bounded},
    {"pending, newest, answered", test_pending_answer},
    {"cancel removes the prompt for good", test_cancel},
    {"many pending prompts", test_many_pending},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo rc_book_suites[] = {
    {"rc_book", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
