/* test_registry.c: seq, completion, replay ring, attach and fan-out. */
#include <string.h>

#include <CUnit/CUnit.h>

#include "../mutants.h"
#include "../registry.h"
#include "wc_err.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_rand.h"

#include "wc_banned.h"

static struct gw_outbox ob;
static struct wc_rand rnd;
static int n_completed;
static int n_native;

static void on_native(void *ctx, struct gw_run *run)
{
    (void)ctx;
    (void)run;
    n_native++;
}

static void on_completed(void *ctx, struct gw_run *run)
{
    (void)ctx;
    (void)run;
    n_completed++;
}

static const struct gw_registry_hooks hooks = {.native_id = on_native, .completed = on_completed};

static struct gw_registry *fresh(size_t cap)
{
    gw_outbox_release(&ob);
    gw_outbox_init(&ob);
    wc_rand_init(&rnd, 3);
    n_completed = 0;
    n_native = 0;
    return gw_registry_new(cap, &ob, &rnd, &hooks, NULL);
}

static void emit(struct gw_registry *reg, struct gw_run *run, const char *text)
{
    gw_registry_emit(reg, run, json_loads(text, 0, NULL));
}

/* The frames queued for conn, as a new array; the outbox is emptied. */
static json_t *take(uint64_t conn)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < ob.n; i++) {
        if (ob.msgs[i].conn == conn && ob.msgs[i].frame)
            json_array_append_new(arr, json_loadb((const char *)ob.msgs[i].frame->data,
                                                  ob.msgs[i].frame->len, 0, NULL));
    }
    gw_outbox_clear(&ob);
    return arr;
}

static int64_t seq_at(json_t *arr, size_t i)
{
    int64_t s = -1;
    wc_json_int(json_array_get(arr, i), "seq", &s);
    return s;
}

static const char *kind_at(json_t *arr, size_t i)
{
    return wc_json_str(json_array_get(arr, i), "kind");
}

static void test_registry_seq_starts_at_one_per_run(void)
{
    struct gw_registry *reg = fresh(10);
    struct gw_run *run, *run2;
    json_t *got;

    CU_ASSERT_EQUAL_FATAL(gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 7, &run), 0);
    emit(reg, run, "{\"kind\":\"stream_delta\",\"content\":\"a\"}");
    emit(reg, run, "{\"kind\":\"stream_delta\",\"content\":\"b\"}");
    CU_ASSERT_EQUAL(gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 7, &run2),
                    WC_ERR_STATE);
    emit(reg, run, "{\"kind\":\"complete\",\"exitCode\":0}");
    got = take(7);
    CU_ASSERT_EQUAL(json_array_size(got), 3);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(seq_at(got, i), (int64_t)i + 1);
    CU_ASSERT_EQUAL(run->status, GW_RUN_COMPLETED);
    CU_ASSERT_EQUAL(n_completed, 1);
    json_decref(got);
    /* Completed: the next send replaces it and seq starts again. */
    CU_ASSERT_EQUAL_FATAL(gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 7, &run2), 0);
    CU_ASSERT_PTR_EQUAL(gw_registry_current(reg, "s1"), run2);
    emit(reg, run2, "{\"kind\":\"text\",\"content\":\"c\"}");
    got = take(7);
    CU_ASSERT_EQUAL(seq_at(got, 0), 1);
    json_decref(got);
    gw_registry_free(reg);
}

static void test_registry_drops_second_complete_and_later_events(void)
{
    struct gw_registry *reg = fresh(10);
    struct gw_run *run;
    json_t *got;

    gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 1, &run);
    emit(reg, run, "{\"kind\":\"complete\",\"exitCode\":0}");
    emit(reg, run, "{\"kind\":\"complete\",\"exitCode\":0}");
    emit(reg, run, "{\"kind\":\"status\",\"text\":\"token_budget\"}");
    CU_ASSERT_FALSE(gw_registry_complete_if_current(reg, run, 1, true));
    got = take(1);
    CU_ASSERT_EQUAL(json_array_size(got), 1);
    CU_ASSERT_EQUAL(run->last_seq, 1);
    json_decref(got);
    gw_registry_free(reg);
}

static void test_registry_complete_if_current_is_keyed_by_run(void)
{
    struct gw_registry *reg = fresh(10);
    struct gw_run *old, *cur;
    json_t *got;

    gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 1, &old);
    gw_run_ref(old); /* as the core does for a live provider */
    emit(reg, old, "{\"kind\":\"complete\",\"exitCode\":0}");
    gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 1, &cur);
    gw_outbox_clear(&ob);
    CU_ASSERT_FALSE(old->current);
    CU_ASSERT_FALSE(gw_registry_complete_if_current(reg, old, 1, true));
    CU_ASSERT_EQUAL(cur->status, GW_RUN_RUNNING);
    /* Mutant: completion by session hits the newer run. */
    gw_mutant_force(GW_MUT_ABORT_COMPLETES_NEWER_RUN);
    CU_ASSERT_TRUE(gw_registry_complete_if_current(reg, old, 1, true));
    gw_mutant_force(GW_MUT_NONE);
    CU_ASSERT_EQUAL(cur->status, GW_RUN_COMPLETED);
    got = take(1);
    CU_ASSERT_STRING_EQUAL(kind_at(got, 0), "complete");
    json_decref(got);
    gw_run_unref(old);
    gw_registry_free(reg);
}

static void test_registry_synthetic_complete_shape(void)
{
    struct gw_registry *reg = fresh(10);
    struct gw_run *run;
    json_t *got, *c;

    gw_registry_start_run(reg, "s1", "alice", "codex", "nat-1", 1, &run);
    CU_ASSERT_TRUE(gw_registry_complete_if_current(reg, run, 0, true));
    got = take(1);
    c = json_array_get(got, 0);
    CU_ASSERT_STRING_EQUAL(wc_json_str(c, "kind"), "complete");
    CU_ASSERT_STRING_EQUAL(wc_json_str(c, "sessionId"), "s1");
    CU_ASSERT_STRING_EQUAL(wc_json_str(c, "actualSessionId"), "s1");
    CU_ASSERT_TRUE(wc_json_bool(c, "aborted", false));
    CU_ASSERT_FALSE(wc_json_bool(c, "success", true));
    CU_ASSERT_EQUAL(seq_at(got, 0), 1);
    json_decref(got);
    gw_registry_free(reg);
}

static void test_registry_replay_after_cursor(void)
{
    struct gw_registry *reg = fresh(10);
    struct gw_run *run;
    json_t *live, *rep;

    gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 1, &run);
    for (int i = 0; i < 5; i++)
        emit(reg, run, "{\"kind\":\"stream_delta\",\"content\":\"x\"}");
    live = take(1);
    gw_registry_replay(reg, run, 2, 3);
    rep = take(2);
    CU_ASSERT_EQUAL_FATAL(json_array_size(rep), 2);
    CU_ASSERT_EQUAL(seq_at(rep, 0), 4);
    CU_ASSERT_EQUAL(seq_at(rep, 1), 5);
    /* Same id and timestamp as the live copy (R-SEQ-3). */
    CU_ASSERT_TRUE(json_equal(json_array_get(rep, 0), json_array_get(live, 3)));
    json_decref(rep);
    /* Cursor at the end: nothing. */
    gw_registry_replay(reg, run, 2, 5);
    rep = take(2);
    CU_ASSERT_EQUAL(json_array_size(rep), 0);
    json_decref(rep);
    /* Stale cursor (an older run's): the whole run (R-SUB-7). */
    gw_registry_replay(reg, run, 2, 9);
    rep = take(2);
    CU_ASSERT_EQUAL(json_array_size(rep), 5);
    CU_ASSERT_EQUAL(seq_at(rep, 0), 1);
    json_decref(rep);
    gw_mutant_force(GW_MUT_STALE_CURSOR_NO_REPLAY);
    gw_registry_replay(reg, run, 2, 9);
    rep = take(2);
    CU_ASSERT_EQUAL(json_array_size(rep), 0);
    json_decref(rep);
    gw_mutant_force(GW_MUT_NONE);
    json_decref(live);
    gw_registry_free(reg);
}

static void test_registry_ring_cap_truncates_and_says_so(void)
{
    struct gw_registry *reg = fresh(3);
    struct gw_run *run;
    json_t *rep, *t;

    gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 0, &run);
    for (int i = 0; i < 6; i++)
        emit(reg, run, "{\"kind\":\"stream_delta\",\"content\":\"x\"}");
    gw_registry_replay(reg, run, 2, 0);
    rep = take(2);
    CU_ASSERT_EQUAL_FATAL(json_array_size(rep), 4);
    t = json_array_get(rep, 0);
    CU_ASSERT_STRING_EQUAL(wc_json_str(t, "kind"), "history_truncated");
    CU_ASSERT_PTR_NULL(json_object_get(t, "seq"));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(t, "requestedFrom")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(t, "firstAvailable")), 4);
    CU_ASSERT_EQUAL(seq_at(rep, 1), 4);
    CU_ASSERT_EQUAL(seq_at(rep, 3), 6);
    json_decref(rep);
    /* A cursor inside the ring is not truncated. */
    gw_registry_replay(reg, run, 2, 3);
    rep = take(2);
    CU_ASSERT_EQUAL(json_array_size(rep), 3);
    CU_ASSERT_EQUAL(seq_at(rep, 0), 4);
    json_decref(rep);
    gw_mutant_force(GW_MUT_TRUNCATION_RENUMBERS);
    gw_registry_replay(reg, run, 2, 0);
    rep = take(2);
    CU_ASSERT_EQUAL(json_array_size(rep), 3);
    CU_ASSERT_EQUAL(seq_at(rep, 0), 1);
    json_decref(rep);
    gw_mutant_force(GW_MUT_NO_HISTORY_TRUNCATED);
    gw_registry_replay(reg, run, 2, 0);
    rep = take(2);
    CU_ASSERT_EQUAL(json_array_size(rep), 3);
    CU_ASSERT_EQUAL(seq_at(rep, 0), 4);
    json_decref(rep);
    gw_mutant_force(GW_MUT_NONE);
    gw_registry_free(reg);
}

static int64_t reg_now;

static int64_t reg_clock(void)
{
    return reg_now;
}

/* A stream_delta whose content is n bytes of 'x' (takes nothing; the registry takes the event). */
static void emit_sized(struct gw_registry *reg, struct gw_run *run, size_t n)
{
    char *content = wc_xmalloc(n + 1);
    json_t *ev;

    memset(content, 'x', n);
    content[n] = '\0';
    ev = json_pack("{s:s, s:s}", "kind", "stream_delta", "content", content);
    free(content);
    gw_registry_emit(reg, run, ev);
}

static void test_registry_ring_byte_cap_evicts_oldest(void)
{
    struct gw_registry *reg = fresh(100);
    struct gw_retention ret = {0};
    struct gw_run *run;
    size_t one;
    json_t *rep, *t;

    gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 0, &run);
    emit_sized(reg, run, 1000);
    one = gw_registry_ring_bytes(reg); /* one event's JSON text, envelope included */
    CU_ASSERT_EQUAL(run->ring_bytes, one);
    CU_ASSERT(one > 1000 && one < 1200);
    /* Room for three and a half events: from the fourth on, the oldest go (seqs 1..9 keep every
     * event the same size). */
    ret.ring_bytes = 3 * one + one / 2;
    gw_registry_set_retention(reg, &ret);
    for (int i = 0; i < 5; i++)
        emit_sized(reg, run, 1000);
    CU_ASSERT_EQUAL(run->ring_n, 3);
    CU_ASSERT_EQUAL(gw_registry_ring_bytes(reg), 3 * one);
    gw_registry_replay(reg, run, 2, 0);
    rep = take(2);
    CU_ASSERT_EQUAL_FATAL(json_array_size(rep), 4);
    t = json_array_get(rep, 0);
    CU_ASSERT_STRING_EQUAL(wc_json_str(t, "kind"), "history_truncated"); /* R-CAP-2 */
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(t, "requestedFrom")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(t, "firstAvailable")), 4);
    CU_ASSERT_EQUAL(seq_at(rep, 1), 4); /* R-CAP-1: original seqs, contiguous */
    CU_ASSERT_EQUAL(seq_at(rep, 3), 6);
    json_decref(rep);
    /* An event larger than the cap stays alone: the newest is never dropped. */
    emit_sized(reg, run, 8000);
    CU_ASSERT_EQUAL(run->ring_n, 1);
    CU_ASSERT(gw_registry_ring_bytes(reg) > ret.ring_bytes);
    gw_registry_replay(reg, run, 2, 5);
    rep = take(2);
    CU_ASSERT_EQUAL_FATAL(json_array_size(rep), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(rep, 0), "firstAvailable")),
                    7);
    CU_ASSERT_EQUAL(seq_at(rep, 1), 7);
    json_decref(rep);
    /* A cursor the ring still covers replays without a truncation notice. */
    gw_registry_replay(reg, run, 2, 6);
    rep = take(2);
    CU_ASSERT_EQUAL(json_array_size(rep), 1);
    CU_ASSERT_EQUAL(seq_at(rep, 0), 7);
    json_decref(rep);
    gw_registry_free(reg);
}

static void test_registry_retention_releases_completed_runs(void)
{
    struct gw_registry *reg = fresh(10);
    struct gw_retention ret = {.retain_ms = 1000, .clock_ms = reg_clock};
    struct gw_run *run, *other;

    gw_registry_set_retention(reg, &ret);
    reg_now = 5000;
    gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 0, &run);
    emit(reg, run, "{\"kind\":\"text\"}");
    CU_ASSERT_EQUAL(gw_registry_next_expiry(reg), -1); /* a running run never expires */
    CU_ASSERT_EQUAL(gw_registry_expire(reg, 1000000), 0);
    emit(reg, run, "{\"kind\":\"complete\",\"exitCode\":0}");
    CU_ASSERT_EQUAL(run->completed_at_ms, 5000);
    CU_ASSERT_EQUAL(gw_registry_next_expiry(reg), 6000);
    gw_registry_start_run(reg, "s2", "alice", "claude", NULL, 0, &other);
    emit(reg, other, "{\"kind\":\"text\"}");
    /* Kept (its lastSeq reported, R-SUB-4) until its retention ends. */
    CU_ASSERT_EQUAL(gw_registry_expire(reg, 5999), 0);
    CU_ASSERT_PTR_EQUAL(gw_registry_current(reg, "s1"), run);
    CU_ASSERT(gw_registry_ring_bytes(reg) > other->ring_bytes);
    /* Then released, ring and all; the running run stays. */
    CU_ASSERT_EQUAL(gw_registry_expire(reg, 6000), 1);
    CU_ASSERT_PTR_NULL(gw_registry_current(reg, "s1"));
    CU_ASSERT_PTR_EQUAL(gw_registry_current(reg, "s2"), other);
    CU_ASSERT_EQUAL(gw_registry_ring_bytes(reg), other->ring_bytes);
    CU_ASSERT_EQUAL(gw_registry_next_expiry(reg), -1);
    /* A run someone still holds (a provider after its complete) keeps the struct, not the
     * events. */
    emit(reg, other, "{\"kind\":\"complete\",\"exitCode\":0}");
    gw_run_ref(other);
    CU_ASSERT_EQUAL(gw_registry_expire(reg, 7000), 1);
    CU_ASSERT_FALSE(other->current);
    CU_ASSERT_EQUAL(other->ring_n, 0);
    CU_ASSERT_EQUAL(gw_registry_ring_bytes(reg), 0);
    gw_run_unref(other);
    CU_ASSERT_PTR_NULL(gw_registry_first(reg));
    /* retain_ms 0: until the next send replaces it. */
    ret.retain_ms = 0;
    gw_registry_set_retention(reg, &ret);
    gw_registry_start_run(reg, "s3", "alice", "claude", NULL, 0, &run);
    emit(reg, run, "{\"kind\":\"complete\",\"exitCode\":0}");
    CU_ASSERT_EQUAL(gw_registry_next_expiry(reg), -1);
    CU_ASSERT_EQUAL(gw_registry_expire(reg, INT64_MAX), 0);
    CU_ASSERT_PTR_EQUAL(gw_registry_current(reg, "s3"), run);
    gw_registry_free(reg);
}

/* A completed run at reg_now with one 500-byte event and its complete. */
static struct gw_run *completed_run(struct gw_registry *reg, const char *sid, int64_t at)
{
    struct gw_run *run;

    reg_now = at;
    gw_registry_start_run(reg, sid, "alice", "claude", NULL, 0, &run);
    emit_sized(reg, run, 500);
    emit(reg, run, "{\"kind\":\"complete\",\"exitCode\":0}");
    return run;
}

static void test_registry_budget_empties_completed_rings_first(void)
{
    struct gw_registry *reg = fresh(100);
    struct gw_retention ret = {.clock_ms = reg_clock};
    struct gw_run *watched, *first, *later, *big, *small;
    size_t d, c;
    json_t *rep;

    gw_registry_set_retention(reg, &ret); /* the fake clock stamps the completions */
    watched = completed_run(reg, "s0", 100);
    gw_registry_attach(reg, watched, 7); /* a socket still follows it */
    first = completed_run(reg, "s1", 200);
    later = completed_run(reg, "s4", 300);
    c = first->ring_bytes;
    CU_ASSERT_EQUAL(later->ring_bytes, c);
    gw_registry_start_run(reg, "s2", "alice", "claude", NULL, 0, &big);
    emit_sized(reg, big, 1000);
    d = big->ring_bytes;
    emit_sized(reg, big, 1000);
    emit_sized(reg, big, 1000);
    gw_registry_start_run(reg, "s3", "alice", "claude", NULL, 0, &small);
    emit_sized(reg, small, 1000);
    /* Room for the four running events and two completed rings: the completed ring no socket
     * follows that completed first goes; the run stays current with its lastSeq (R-SUB-4). */
    ret.budget_bytes = 4 * d + 2 * c + c / 2;
    gw_registry_set_retention(reg, &ret);
    CU_ASSERT_EQUAL(first->ring_n, 0);
    CU_ASSERT_EQUAL(later->ring_n, 2);
    CU_ASSERT_EQUAL(watched->ring_n, 2);
    CU_ASSERT_PTR_EQUAL(gw_registry_current(reg, "s1"), first);
    CU_ASSERT_EQUAL(first->last_seq, 2);
    /* One completed ring: the unwatched one goes before the watched one, which completed
     * earlier. Then none. */
    ret.budget_bytes = 4 * d + c + c / 2;
    gw_registry_set_retention(reg, &ret);
    CU_ASSERT_EQUAL(later->ring_n, 0);
    CU_ASSERT_EQUAL(watched->ring_n, 2);
    ret.budget_bytes = 4 * d + d / 2;
    gw_registry_set_retention(reg, &ret);
    CU_ASSERT_EQUAL(watched->ring_n, 0);
    CU_ASSERT_EQUAL(gw_registry_ring_bytes(reg), 4 * d);
    /* Only running rings left: the largest loses its oldest events, never its newest. */
    emit_sized(reg, small, 1000);
    CU_ASSERT_EQUAL(big->ring_n, 2);
    CU_ASSERT_EQUAL(small->ring_n, 2);
    CU_ASSERT(gw_registry_ring_bytes(reg) <= ret.budget_bytes);
    gw_registry_replay(reg, big, 2, 0);
    rep = take(2);
    CU_ASSERT_EQUAL_FATAL(json_array_size(rep), 3);
    CU_ASSERT_STRING_EQUAL(kind_at(rep, 0), "history_truncated");
    CU_ASSERT_EQUAL(seq_at(rep, 1), 2);
    CU_ASSERT_EQUAL(seq_at(rep, 2), 3);
    json_decref(rep);
    /* Now the other run has the largest ring: it pays. */
    emit_sized(reg, small, 1000);
    emit_sized(reg, small, 1000);
    CU_ASSERT_EQUAL(big->ring_n, 2);
    CU_ASSERT_EQUAL(small->ring_n, 2);
    gw_registry_replay(reg, small, 2, 0);
    rep = take(2);
    CU_ASSERT_EQUAL_FATAL(json_array_size(rep), 3);
    CU_ASSERT_EQUAL(seq_at(rep, 1), 3);
    json_decref(rep);
    CU_ASSERT(gw_registry_ring_bytes(reg) <= ret.budget_bytes);
    gw_registry_free(reg);
}

static void test_registry_fan_out_and_detach(void)
{
    struct gw_registry *reg = fresh(10);
    struct gw_run *run;
    json_t *a, *b;

    gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 1, &run);
    gw_registry_attach(reg, run, 2);
    gw_registry_attach(reg, run, 2);
    CU_ASSERT_EQUAL(run->n_conns, 2);
    emit(reg, run, "{\"kind\":\"text\"}");
    a = json_array();
    b = json_array();
    for (size_t i = 0; i < ob.n; i++)
        json_array_append_new(ob.msgs[i].conn == 1 ? a : b, json_integer((json_int_t)i));
    CU_ASSERT_EQUAL(json_array_size(a), 1);
    CU_ASSERT_EQUAL(json_array_size(b), 1);
    json_decref(a);
    json_decref(b);
    gw_outbox_clear(&ob);
    gw_registry_detach_all(reg, 1);
    CU_ASSERT_FALSE(gw_run_is_attached(run, 1));
    CU_ASSERT_TRUE(gw_run_is_attached(run, 2));
    /* Single writer mutant: the subscriber replaces everyone. */
    gw_mutant_force(GW_MUT_SINGLE_WRITER);
    gw_registry_attach(reg, run, 3);
    gw_mutant_force(GW_MUT_NONE);
    CU_ASSERT_EQUAL(run->n_conns, 1);
    CU_ASSERT_TRUE(gw_run_is_attached(run, 3));
    gw_registry_free(reg);
}

static void test_registry_lists_running_runs_of_owner(void)
{
    struct gw_registry *reg = fresh(10);
    struct gw_run *r1, *r2;
    json_t *l;

    gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 0, &r1);
    gw_registry_start_run(reg, "s2", "bob", "codex", NULL, 0, &r2);
    emit(reg, r1, "{\"kind\":\"text\"}");
    l = gw_registry_list_running(reg, "alice");
    CU_ASSERT_EQUAL_FATAL(json_array_size(l), 1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(l, 0), "sessionId"), "s1");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(l, 0), "lastSeq")), 1);
    json_decref(l);
    emit(reg, r1, "{\"kind\":\"complete\",\"exitCode\":0}");
    l = gw_registry_list_running(reg, "alice");
    CU_ASSERT_EQUAL(json_array_size(l), 0);
    json_decref(l);
    gw_outbox_clear(&ob);
    gw_registry_free(reg);
}

static void test_registry_announce_once_per_id(void)
{
    struct gw_registry *reg = fresh(10);
    struct gw_run *run;

    gw_registry_start_run(reg, "s1", "alice", "claude", "nat-1", 0, &run);
    gw_registry_announce(reg, run, "nat-1");
    CU_ASSERT_EQUAL(n_native, 0);
    gw_registry_announce(reg, run, "nat-2");
    emit(reg, run, "{\"kind\":\"session_created\",\"newSessionId\":\"nat-2\"}");
    CU_ASSERT_EQUAL(n_native, 1);
    CU_ASSERT_EQUAL(run->last_seq, 0);
    gw_registry_free(reg);
}

static void test_registry_seq_mutants(void)
{
    struct gw_registry *reg = fresh(10);
    struct gw_run *run;
    json_t *got;

    gw_mutant_force(GW_MUT_SEQ_GAP);
    gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 1, &run);
    for (int i = 0; i < 3; i++)
        emit(reg, run, "{\"kind\":\"text\"}");
    got = take(1);
    CU_ASSERT_EQUAL(seq_at(got, 2), 4);
    json_decref(got);
    gw_mutant_force(GW_MUT_SEQ_NO_RESET);
    emit(reg, run, "{\"kind\":\"complete\",\"exitCode\":0}");
    gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 1, &run);
    emit(reg, run, "{\"kind\":\"text\"}");
    got = take(1);
    CU_ASSERT_EQUAL(seq_at(got, 1), 6);
    json_decref(got);
    gw_mutant_force(GW_MUT_REORDER_EVENTS);
    emit(reg, run, "{\"kind\":\"complete\",\"exitCode\":0}");
    gw_registry_start_run(reg, "s1", "alice", "claude", NULL, 1, &run);
    emit(reg, run, "{\"kind\":\"text\",\"content\":\"first\"}");
    emit(reg, run, "{\"kind\":\"text\",\"content\":\"second\"}");
    got = take(1);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_array_get(got, 1), "content"), "second");
    CU_ASSERT_EQUAL(seq_at(got, 1), 1);
    CU_ASSERT_EQUAL(seq_at(got, 2), 2);
    json_decref(got);
    gw_mutant_force(GW_MUT_NONE);
    gw_registry_free(reg);
    gw_outbox_release(&ob);
}

static CU_TestInfo registry_tests[] = {
    {"seq_starts_at_one_per_run", test_registry_seq_starts_at_one_per_run},
    {"drops_second_complete_and_later_events",
     test_registry_drops_second_complete_and_later_events},
    {"complete_if_current_is_keyed_by_run", test_registry_complete_if_current_is_keyed_by_run},
    {"synthetic_complete_shape", test_registry_synthetic_complete_shape},
    {"replay_after_cursor", test_registry_replay_after_cursor},
    {"ring_cap_truncates_and_says_so", test_registry_ring_cap_truncates_and_says_so},
    {"ring_byte_cap_evicts_oldest", test_registry_ring_byte_cap_evicts_oldest},
    {"retention_releases_completed_runs", test_registry_retention_releases_completed_runs},
    {"budget_empties_completed_rings_first", test_registry_budget_empties_completed_rings_first},
    {"fan_out_and_detach", test_registry_fan_out_and_detach},
    {"lists_running_runs_of_owner", test_registry_lists_running_runs_of_owner},
    {"announce_once_per_id", test_registry_announce_once_per_id},
    {"seq_mutants", test_registry_seq_mutants},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo gw_registry_suites[] = {
    {.pName = "gw_registry", .pTests = registry_tests},
    CU_SUITE_INFO_NULL,
};
