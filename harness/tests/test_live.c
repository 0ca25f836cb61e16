/* test_live.c: CUnit tests for harness/check/live.c and check/hist.c (suite hn_live). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "check/hist.h"
#include "check/live.h"
#include "wc_rand.h"

/* Feed one frame (JSON text) to view v of run r; the result of hn_live_event, the violation's
 * message in *what (new) when there is one. */
static int feed(struct hn_live_run *r, struct hn_live_view *v, const char *text, char **what)
{
    json_t *ev = json_loads(text, 0, NULL);
    struct hn_live_violation x;
    int rc = hn_live_event(r, v, text, strlen(text), ev, &x);
    json_decref(ev);
    if (what)
        *what = rc ? strdup(x.what) : NULL;
    if (rc) {
        CU_ASSERT_PTR_NOT_NULL(x.witness);
        CU_ASSERT_STRING_EQUAL(x.witness, text);
    }
    hn_live_violation_release(&x);
    return rc;
}

static char *ev(int seq, const char *kind, const char *content)
{
    static char buf[256];
    snprintf(buf, sizeof(buf),
             "{\"kind\":\"%s\",\"seq\":%d,\"id\":\"e%d\",\"sessionId\":\"app-1\",\"content\":"
             "\"%s\"}",
             kind, seq, seq, content);
    return buf;
}

static void test_clean_run_passes(void)
{
    struct hn_live_run r;
    struct hn_live_view a = {0}, b = {0};
    hn_live_run_init(&r, "nat-1", false);
    hn_live_view_start(&a);
    hn_live_view_start(&b);
    for (int i = 1; i <= 50; i++) {
        CU_ASSERT_EQUAL(feed(&r, &a, ev(i, "stream_delta", "x"), NULL), 0);
        CU_ASSERT_EQUAL(feed(&r, &b, ev(i, "stream_delta", "x"), NULL), 0);
    }
    CU_ASSERT_EQUAL(feed(&r, &a, ev(51, "complete", ""), NULL), 0);
    CU_ASSERT_EQUAL(feed(&r, &b, ev(51, "complete", ""), NULL), 0);
    struct hn_live_violation x;
    CU_ASSERT_EQUAL(hn_live_view_end(&a, &x), 0);
    CU_ASSERT_EQUAL(hn_live_view_end(&b, &x), 0);
    CU_ASSERT_EQUAL(a.events, 51);
    hn_live_view_release(&a);
    hn_live_view_release(&b);
    hn_live_run_release(&r);
}

static void test_gap_duplicate_and_resync(void)
{
    struct hn_live_run r;
    struct hn_live_view a = {0};
    char *what = NULL;
    hn_live_run_init(&r, NULL, false);
    hn_live_view_start(&a);
    CU_ASSERT_EQUAL(feed(&r, &a, ev(1, "text", "a"), NULL), 0);
    CU_ASSERT_EQUAL(feed(&r, &a, ev(3, "text", "c"), &what), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(what, "seq gap: expected 2, received 3"));
    free(what);
    /* one violation per fault: the view goes on from seq 3 */
    CU_ASSERT_EQUAL(feed(&r, &a, ev(4, "text", "d"), NULL), 0);
    CU_ASSERT_EQUAL(feed(&r, &a, ev(4, "text", "d"), &what), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(what, "seq 4 again"));
    free(what);
    json_t *bad = json_loads("{\"kind\":\"text\"}", 0, NULL);
    struct hn_live_violation x;
    CU_ASSERT_EQUAL(hn_live_event(&r, &a, "{\"kind\":\"text\"}", 15, bad, &x), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(x.what, "without an integer seq"));
    hn_live_violation_release(&x);
    json_decref(bad);
    hn_live_view_release(&a);
    hn_live_run_release(&r);
}

static void test_one_terminal(void)
{
    struct hn_live_run r;
    struct hn_live_view a = {0}, b = {0};
    char *what = NULL;
    struct hn_live_violation x;
    hn_live_run_init(&r, NULL, false);
    hn_live_view_start(&a);
    hn_live_view_start(&b);
    CU_ASSERT_EQUAL(feed(&r, &a, ev(1, "complete", ""), NULL), 0);
    CU_ASSERT_EQUAL(feed(&r, &a, ev(2, "complete", ""), &what), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(what, "after the run's complete"));
    free(what);
    /* b never gets one */
    CU_ASSERT_EQUAL(feed(&r, &b, ev(1, "text", "a"), &what), 1); /* not seq 1's event */
    free(what);
    CU_ASSERT_EQUAL(hn_live_view_end(&b, &x), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(x.what, "without a complete"));
    hn_live_violation_release(&x);
    /* a view never attached owes nothing */
    struct hn_live_view c = {0};
    CU_ASSERT_EQUAL(hn_live_view_end(&c, &x), 0);
    hn_live_view_release(&a);
    hn_live_view_release(&b);
    hn_live_run_release(&r);
}

static void test_native_id_and_abort(void)
{
    struct hn_live_run r;
    struct hn_live_view a = {0};
    char *what = NULL;
    hn_live_run_init(&r, "nat-load-7", true);
    hn_live_view_start(&a);
    CU_ASSERT_EQUAL(feed(&r, &a, ev(1, "text", "see nat-load-7 here"), &what), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(what, "native id nat-load-7"));
    free(what);
    const char *ok = "{\"kind\":\"complete\",\"seq\":2,\"aborted\":true,\"success\":false}";
    const char *nok = "{\"kind\":\"complete\",\"seq\":2,\"aborted\":false,\"success\":true}";
    struct hn_live_view b = {0};
    hn_live_view_resume(&b, 1);
    CU_ASSERT_EQUAL(feed(&r, &a, ok, NULL), 0);
    CU_ASSERT_EQUAL(feed(&r, &b, nok, &what), 1); /* not the event the other socket got */
    free(what);
    struct hn_live_run r2;
    struct hn_live_view c = {0};
    hn_live_run_init(&r2, NULL, true);
    hn_live_view_start(&c);
    CU_ASSERT_EQUAL(feed(&r2, &c, "{\"kind\":\"complete\",\"seq\":1,\"aborted\":false}", &what), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(what, "R-ABORT-1"));
    free(what);
    CU_ASSERT(c.terminal);
    hn_live_view_release(&a);
    hn_live_view_release(&b);
    hn_live_view_release(&c);
    hn_live_run_release(&r);
    hn_live_run_release(&r2);
}

/* Replay plus live: a refresher that resumes from lastSeq 2 must see 3.. as the observer did;
 * a replay from 1 is a duplicate, another event under a seq a mismatch, a reordered JSON the
 * same event, an event before the ack a violation. */
static void test_replay_against_observer(void)
{
    struct hn_live_run r;
    struct hn_live_view obs = {0}, ref = {0};
    char *what = NULL;
    hn_live_run_init(&r, NULL, false);
    hn_live_view_start(&obs);
    CU_ASSERT_EQUAL(feed(&r, &ref, ev(1, "text", "a"), &what), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(what, "before this socket's chat_subscribed"));
    free(what);
    for (int i = 1; i <= 4; i++)
        CU_ASSERT_EQUAL(feed(&r, &obs, ev(i, "text", "s"), NULL), 0);
    hn_live_view_resume(&ref, 2);
    CU_ASSERT_EQUAL(feed(&r, &ref,
                         "{\"seq\":3,\"kind\":\"text\",\"id\":\"e3\",\"sessionId\":\"app-1\","
                         "\"content\":\"s\"}",
                         NULL),
                    0);
    CU_ASSERT_EQUAL(feed(&r, &ref, ev(4, "text", "other"), &what), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(what, "not the event another socket received"));
    free(what);
    /* the refresher ahead of the observer: its seq 5 becomes the reference */
    CU_ASSERT_EQUAL(feed(&r, &ref, ev(5, "text", "t"), NULL), 0);
    CU_ASSERT_EQUAL(feed(&r, &obs, ev(5, "text", "u"), &what), 1);
    free(what);
    struct hn_live_view again = {0};
    hn_live_view_resume(&again, 3);
    CU_ASSERT_EQUAL(feed(&r, &again, ev(1, "text", "s"), &what), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(what, "seq 1 again: expected 4"));
    free(what);
    hn_live_view_release(&obs);
    hn_live_view_release(&ref);
    hn_live_view_release(&again);
    hn_live_run_release(&r);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_hist_matches_exact_percentiles(void)
{
    static const double ps[] = {1, 50, 90, 99, 99.9, 100};
    struct hn_hist *h = malloc(sizeof(*h));
    struct wc_rand rng;
    enum { N = 20000 };
    int64_t *v = malloc(N * sizeof(*v));
    wc_rand_init(&rng, 42);
    hn_hist_init(h);
    for (int i = 0; i < N; i++) {
        /* a long tail: most values small, some up to about 10 s in us */
        uint64_t r = wc_rand_next(&rng);
        v[i] = (int64_t)((r % 1000) * (1 + (r >> 40) % 3) * ((r >> 50) % 16 == 0 ? 10000 : 1));
        hn_hist_add(h, v[i]);
    }
    qsort(v, N, sizeof(*v), cmp64);
    for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
        int64_t exact = hn_pct_sorted(v, N, ps[k]), got = hn_hist_pct(h, ps[k]);
        CU_ASSERT(got >= exact);
        CU_ASSERT(got <= exact + exact / 64 + 1);
    }
    CU_ASSERT_EQUAL(h->count, N);
    CU_ASSERT_EQUAL(h->min, v[0]);
    CU_ASSERT_EQUAL(h->max, v[N - 1]);
    CU_ASSERT_EQUAL(hn_hist_pct(h, 100), v[N - 1]);
    free(v);
    free(h);
}

static void test_hist_small_and_edges(void)
{
    struct hn_hist *h = malloc(sizeof(*h)), *g = malloc(sizeof(*g));
    hn_hist_init(h);
    hn_hist_init(g);
    CU_ASSERT_EQUAL(hn_hist_pct(h, 50), 0); /* empty */
    for (int i = 1; i <= 100; i++)
        hn_hist_add(h, i); /* exact below 128 */
    CU_ASSERT_EQUAL(hn_hist_pct(h, 50), 50);
    CU_ASSERT_EQUAL(hn_hist_pct(h, 99), 99);
    CU_ASSERT_EQUAL(hn_hist_pct(h, 99.9), 100); /* nearest rank: ceil(99.9) = 100 */
    CU_ASSERT_EQUAL(hn_hist_pct(h, 0.001), 1);
    hn_hist_add(g, -5); /* a negative value counts as 0 */
    hn_hist_add(g, INT64_MAX / 2);
    CU_ASSERT_EQUAL(g->min, 0);
    CU_ASSERT_EQUAL(hn_hist_pct(g, 100), INT64_MAX / 2); /* capped at the max recorded */
    hn_hist_merge(h, g);
    CU_ASSERT_EQUAL(h->count, 102);
    CU_ASSERT_EQUAL(h->min, 0);
    int64_t one[] = {7};
    CU_ASSERT_EQUAL(hn_pct_sorted(one, 1, 99.9), 7);
    CU_ASSERT_EQUAL(hn_pct_sorted(NULL, 0, 50), 0);
    free(h);
    free(g);
}

static CU_TestInfo live_tests[] = {
    {"a clean run on two sockets passes", test_clean_run_passes},
    {"a gap and a duplicate, once each", test_gap_duplicate_and_resync},
    {"one terminal per socket", test_one_terminal},
    {"native id and the aborted complete", test_native_id_and_abort},
    {"replay plus live against the observer", test_replay_against_observer},
    {"histogram percentiles within 1/64 of exact", test_hist_matches_exact_percentiles},
    {"histogram small values and edges", test_hist_small_and_edges},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_live_suites[] = {
    {"hn_live", NULL, NULL, NULL, NULL, live_tests},
    CU_SUITE_INFO_NULL,
};
