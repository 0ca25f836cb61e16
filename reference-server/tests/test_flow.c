/*
 * test_flow.c: flow control in the core (issue 18, R-LIMIT-5): a replay streamed from the ring
 * as the socket drains, frames held behind it in order, live events after it, a socket that
 * falls behind the ring closed, and providers paused while every socket of their run is full.
 */
#include <stdint.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "fake.h"
#include "../mutants.h"
#include "wc_json.h"
#include "wc_mem.h"

#include "wc_banned.h"

static struct gw_fake fake;
static struct gw_core *core;
static uint64_t a1, a2;
static char *sid;

static int64_t clock_fn(void)
{
    return 0;
}

/* A core whose replay pulls are about flow_high bytes; alice has two sockets and one session. */
static void up(size_t flow_high, size_t replay_cap, size_t hold_cap)
{
    gw_fake_reset(&fake);
    gw_mutant_force(GW_MUT_NONE);
    gw_test_flow_high = flow_high;
    gw_test_replay_cap = replay_cap;
    gw_test_hold_cap = hold_cap;
    core = gw_test_core(&fake, clock_fn);
    gw_test_flow_high = gw_test_replay_cap = gw_test_hold_cap = 0;
    a1 = gw_core_conn_open(core, "alice", NULL);
    a2 = gw_core_conn_open(core, "alice", NULL);
    sid = gw_test_create_session(core, "alice", "claude", "/tmp/proj");
}

static void down(void)
{
    gw_core_free(core);
    core = NULL;
    gw_fake_reset(&fake);
    free(sid);
    sid = NULL;
}

static void send_chat(uint64_t conn)
{
    char *msg =
        wc_xasprintf("{\"type\":\"chat.send\",\"sessionId\":\"%s\",\"content\":\"hi\"}", sid);
    gw_test_send(core, conn, msg);
    free(msg);
}

static void subscribe(uint64_t conn, int64_t last_seq, const char *also)
{
    char *msg = wc_xasprintf("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"%s\","
                             "\"lastSeq\":%lld}%s]}",
                             sid, (long long)last_seq, also ? also : "");
    gw_test_send(core, conn, msg);
    free(msg);
}

/* n events of about 300 bytes each */
static void emit_n(int n)
{
    char *ev = wc_xasprintf("{\"kind\":\"stream_delta\",\"content\":\"%0*d\"}", 260, 0);

    for (int i = 0; i < n; i++)
        gw_fake_emitf(fake.runs, ev);
    free(ev);
}

/* What the core queued for conn so far, backlogs left alone (new array). */
static json_t *queued(uint64_t conn)
{
    json_t *all = gw_test_drain_outbox(core);
    json_t *mine = gw_test_frames_for(all, conn);

    json_decref(all);
    return mine;
}

/* Append src's items to dst, then free src. */
static void append(json_t *dst, json_t *src)
{
    json_array_extend(dst, src);
    json_decref(src);
}

static int64_t seq_at(json_t *frames, size_t i)
{
    return json_integer_value(json_object_get(json_array_get(frames, i), "seq"));
}

static const char *kind_at(json_t *frames, size_t i)
{
    const char *k = wc_json_str(json_array_get(frames, i), "kind");
    return k ? k : "";
}

/* The seqs in frames (events only) are first, first+1, ..., last. */
static bool contiguous(json_t *frames, int64_t first, int64_t last)
{
    int64_t want = first;

    for (size_t i = 0; i < json_array_size(frames); i++) {
        if (!json_object_get(json_array_get(frames, i), "seq"))
            continue;
        if (seq_at(frames, i) != want)
            return false;
        want++;
    }
    return want == last + 1;
}

/* The close code queued for conn in drained, or 0. */
static int close_code(json_t *drained, uint64_t conn)
{
    size_t i;
    json_t *e;

    json_array_foreach(drained, i, e)
    {
        if ((uint64_t)json_integer_value(json_object_get(e, "conn")) == conn &&
            json_object_get(e, "close"))
            return (int)json_integer_value(json_object_get(e, "close"));
    }
    return 0;
}

static void test_flow_replay_is_streamed_in_pulls(void)
{
    json_t *got;
    int pulls = 0;

    up(2000, 0, 0);
    send_chat(a1);
    emit_n(50);
    json_decref(queued(a1));
    subscribe(a2, 0, NULL);
    got = queued(a2);
    /* the ack and the first pull only: about 2000 bytes of a 15 KB replay */
    CU_ASSERT_STRING_EQUAL(kind_at(got, 0), "chat_subscribed");
    CU_ASSERT_TRUE(json_array_size(got) > 2 && json_array_size(got) < 12);
    CU_ASSERT_TRUE(gw_core_conn_has_backlog(core, a2));
    CU_ASSERT_FALSE(gw_core_conn_has_backlog(core, a1));
    while (gw_core_conn_has_backlog(core, a2) && pulls < 100) {
        gw_core_conn_drain(core, a2, 2000);
        append(got, queued(a2));
        pulls++;
    }
    CU_ASSERT_TRUE(pulls >= 5);
    CU_ASSERT_EQUAL(json_array_size(got), 51);
    CU_ASSERT_TRUE(contiguous(got, 1, 50));
    json_decref(got);
    down();
}

static void test_flow_live_events_come_after_the_replay(void)
{
    json_t *got, *mine;

    up(2000, 0, 0);
    send_chat(a1);
    emit_n(30);
    json_decref(queued(a1));
    subscribe(a2, 10, NULL);
    got = queued(a2);
    /* live events during the replay: a1 gets them at once, a2 only through its cursor */
    emit_n(5);
    mine = queued(a1);
    CU_ASSERT_EQUAL(json_array_size(mine), 5);
    json_decref(mine);
    mine = queued(a2);
    CU_ASSERT_EQUAL(json_array_size(mine), 0);
    json_decref(mine);
    while (gw_core_conn_has_backlog(core, a2)) {
        gw_core_conn_drain(core, a2, 2000);
        append(got, queued(a2));
    }
    CU_ASSERT_EQUAL(json_array_size(got), 1 + 25);
    CU_ASSERT_TRUE(contiguous(got, 11, 35));
    /* caught up: the next live event goes straight to the socket */
    emit_n(1);
    mine = queued(a2);
    CU_ASSERT_EQUAL(json_array_size(mine), 1);
    CU_ASSERT_EQUAL(seq_at(mine, 0), 36);
    CU_ASSERT_FALSE(gw_core_conn_has_backlog(core, a2));
    json_decref(mine);
    json_decref(got);
    down();
}

static void test_flow_frames_wait_behind_the_replay(void)
{
    json_t *got;
    size_t n;

    up(2000, 0, 0);
    send_chat(a1);
    emit_n(30);
    json_decref(queued(a1));
    /* R-SUB-2: the second entry's ack may not come between the first ack and its replay */
    subscribe(a2, 0, ",{\"sessionId\":\"unknown-one\"}");
    /* R-IN-2: and a later frame's answer comes after the earlier frame's */
    gw_test_send(core, a2, "{\"type\":\"nope\"}");
    got = queued(a2);
    while (gw_core_conn_has_backlog(core, a2)) {
        gw_core_conn_drain(core, a2, 2000);
        append(got, queued(a2));
    }
    n = json_array_size(got);
    CU_ASSERT_EQUAL(n, 1 + 30 + 2);
    CU_ASSERT_STRING_EQUAL(kind_at(got, 0), "chat_subscribed");
    CU_ASSERT_TRUE(contiguous(got, 1, 30));
    CU_ASSERT_STRING_EQUAL(kind_at(got, n - 2), "chat_subscribed");
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(got, n - 2), "sessionId"), "unknown-one");
    CU_ASSERT_STRING_EQUAL(kind_at(got, n - 1), "protocol_error");
    json_decref(got);
    down();
}

static void test_flow_small_replay_is_sent_at_once(void)
{
    json_t *got;

    up(0, 0, 0); /* the default pull, 1 MiB */
    send_chat(a1);
    emit_n(10);
    json_decref(queued(a1));
    subscribe(a2, 4, NULL);
    got = queued(a2);
    CU_ASSERT_EQUAL(json_array_size(got), 1 + 6);
    CU_ASSERT_TRUE(contiguous(got, 5, 10));
    CU_ASSERT_FALSE(gw_core_conn_has_backlog(core, a2));
    json_decref(got);
    down();
}

static void test_flow_full_socket_gets_no_replay_until_it_drains(void)
{
    json_t *got;

    up(2000, 0, 0);
    send_chat(a1);
    emit_n(10);
    json_decref(queued(a1));
    gw_core_conn_set_full(core, a2, true);
    subscribe(a2, 0, NULL);
    got = queued(a2);
    CU_ASSERT_EQUAL(json_array_size(got), 1); /* the ack */
    CU_ASSERT_TRUE(gw_core_conn_has_backlog(core, a2));
    json_decref(got);
    down();
}

static void test_flow_truncated_replay_starts_at_the_oldest(void)
{
    json_t *got;

    up(2000, 10, 0);
    send_chat(a1);
    emit_n(25);
    json_decref(queued(a1));
    subscribe(a2, 3, NULL);
    got = queued(a2);
    while (gw_core_conn_has_backlog(core, a2)) {
        gw_core_conn_drain(core, a2, 2000);
        append(got, queued(a2));
    }
    CU_ASSERT_STRING_EQUAL(kind_at(got, 0), "chat_subscribed");
    CU_ASSERT_STRING_EQUAL(kind_at(got, 1), "history_truncated");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(got, 1), "firstAvailable")),
                    16);
    CU_ASSERT_TRUE(contiguous(got, 16, 25));
    json_decref(got);
    down();
}

static void test_flow_socket_behind_the_ring_is_closed(void)
{
    json_t *got, *all;

    up(1000, 10, 0);
    send_chat(a1);
    emit_n(10);
    json_decref(queued(a1));
    subscribe(a2, 0, NULL);
    json_decref(queued(a2));
    CU_ASSERT_TRUE(gw_core_conn_has_backlog(core, a2));
    /* a1 keeps the run going; the ring drops what a2 has not had yet */
    emit_n(20);
    gw_core_conn_drain(core, a2, 1000);
    all = gw_test_drain_outbox(core);
    CU_ASSERT_EQUAL(close_code(all, a2), 1013);
    got = gw_test_frames_for(all, a2);
    CU_ASSERT_EQUAL(json_array_size(got), 0); /* no gap is ever sent */
    CU_ASSERT_FALSE(gw_core_conn_has_backlog(core, a2));
    json_decref(got);
    json_decref(all);
    down();
}

static void test_flow_hold_cap_closes_the_socket(void)
{
    json_t *all;

    up(1000, 0, 2000);
    send_chat(a1);
    emit_n(20);
    json_decref(queued(a1));
    subscribe(a2, 0, NULL);
    json_decref(queued(a2));
    for (int i = 0; i < 40; i++)
        gw_test_send(core, a2, "{\"type\":\"nope\"}");
    all = gw_test_drain_outbox(core);
    CU_ASSERT_EQUAL(close_code(all, a2), 1013);
    CU_ASSERT_FALSE(gw_core_conn_has_backlog(core, a2));
    json_decref(all);
    down();
}

static void test_flow_provider_paused_while_every_socket_is_full(void)
{
    struct gw_fake_run *r;

    up(2000, 0, 0);
    send_chat(a1);
    r = fake.runs;
    CU_ASSERT_FALSE(r->paused);
    gw_core_conn_set_full(core, a1, true);
    CU_ASSERT_TRUE(r->paused);
    gw_core_conn_set_full(core, a1, false);
    CU_ASSERT_FALSE(r->paused);
    CU_ASSERT_EQUAL(r->n_flow, 2);
    /* two sockets: one full is not enough */
    emit_n(1);
    subscribe(a2, 1, NULL);
    CU_ASSERT_FALSE(gw_core_conn_has_backlog(core, a2));
    gw_core_conn_set_full(core, a1, true);
    CU_ASSERT_FALSE(r->paused);
    gw_core_conn_set_full(core, a2, true);
    CU_ASSERT_TRUE(r->paused);
    CU_ASSERT_TRUE(gw_core_run_is_paused(core, gw_core_run_for(core, "alice", sid)));
    /* the full socket that goes away leaves the other one full: still paused */
    gw_core_conn_close(core, a2);
    CU_ASSERT_TRUE(r->paused);
    /* the last socket goes away: nobody to wait for */
    gw_core_conn_close(core, a1);
    CU_ASSERT_FALSE(r->paused);
    json_decref(gw_test_drain_outbox(core));
    down();
}

static void test_flow_socket_behind_its_replay_counts_as_full(void)
{
    struct gw_fake_run *r;

    up(1000, 0, 0);
    send_chat(a1);
    r = fake.runs;
    emit_n(20);
    json_decref(queued(a1));
    gw_core_conn_set_full(core, a1, true);
    CU_ASSERT_TRUE(r->paused);
    gw_core_conn_set_full(core, a1, false);
    subscribe(a2, 0, NULL);
    CU_ASSERT_FALSE(r->paused); /* a1 reads */
    gw_core_conn_set_full(core, a1, true);
    CU_ASSERT_TRUE(r->paused); /* a1 full, a2 still replaying */
    while (gw_core_conn_has_backlog(core, a2))
        gw_core_conn_drain(core, a2, 1000);
    CU_ASSERT_FALSE(r->paused); /* a2 caught up */
    json_decref(gw_test_drain_outbox(core));
    down();
}

static void test_flow_completed_run_is_not_paused(void)
{
    struct gw_fake_run *r;

    up(2000, 0, 0);
    send_chat(a1);
    r = fake.runs;
    gw_core_conn_set_full(core, a1, true);
    CU_ASSERT_TRUE(r->paused);
    gw_fake_emitf(r, "{\"kind\":\"complete\",\"exitCode\":0}");
    CU_ASSERT_FALSE(r->paused);
    json_decref(gw_test_drain_outbox(core));
    down();
}

static void test_flow_mutants(void)
{
    json_t *got;
    struct gw_fake_run *r;

    /* replay-queued-whole: the whole replay at once, no backlog */
    up(2000, 0, 0);
    gw_mutant_force(GW_MUT_REPLAY_QUEUED_WHOLE);
    send_chat(a1);
    emit_n(50);
    json_decref(queued(a1));
    subscribe(a2, 0, NULL);
    got = queued(a2);
    CU_ASSERT_EQUAL(json_array_size(got), 51);
    CU_ASSERT_FALSE(gw_core_conn_has_backlog(core, a2));
    json_decref(got);
    gw_mutant_force(GW_MUT_NONE);
    down();
    /* provider-never-paused */
    up(2000, 0, 0);
    gw_mutant_force(GW_MUT_PROVIDER_NEVER_PAUSED);
    send_chat(a1);
    r = fake.runs;
    gw_core_conn_set_full(core, a1, true);
    CU_ASSERT_FALSE(r->paused);
    CU_ASSERT_EQUAL(r->n_flow, 0);
    gw_mutant_force(GW_MUT_NONE);
    down();
}

static CU_TestInfo flow_tests[] = {
    {"replay_is_streamed_in_pulls", test_flow_replay_is_streamed_in_pulls},
    {"live_events_come_after_the_replay", test_flow_live_events_come_after_the_replay},
    {"frames_wait_behind_the_replay", test_flow_frames_wait_behind_the_replay},
    {"small_replay_is_sent_at_once", test_flow_small_replay_is_sent_at_once},
    {"full_socket_gets_no_replay_until_it_drains",
     test_flow_full_socket_gets_no_replay_until_it_drains},
    {"truncated_replay_starts_at_the_oldest", test_flow_truncated_replay_starts_at_the_oldest},
    {"socket_behind_the_ring_is_closed", test_flow_socket_behind_the_ring_is_closed},
    {"hold_cap_closes_the_socket", test_flow_hold_cap_closes_the_socket},
    {"provider_paused_while_every_socket_is_full",
     test_flow_provider_paused_while_every_socket_is_full},
    {"socket_behind_its_replay_counts_as_full", test_flow_socket_behind_its_replay_counts_as_full},
    {"completed_run_is_not_paused", test_flow_completed_run_is_not_paused},
    {"mutants", test_flow_mutants},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo gw_flow_suites[] = {
    {.pName = "gw_flow", .pTests = flow_tests},
    CU_SUITE_INFO_NULL,
};
