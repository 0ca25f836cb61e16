/* registry.c: runs, seq, replay ring, completion and fan-out (see registry.h). */
#include <assert.h>
#include <string.h>
#include <time.h>

#include "mutants.h"
#include "registry.h"
#include "wc_err.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"

#include "wc_banned.h"

struct gw_registry {
    size_t replay_cap; /* events kept per run */
    struct gw_retention ret;
    size_t ring_bytes;    /* the rings of every run together */
    struct gw_outbox *ob; /* borrowed */
    struct wc_rand *rand; /* borrowed */
    struct gw_registry_hooks hooks;
    void *hooks_ctx;
    struct gw_run *runs; /* every referenced run, newest first */
};

static int64_t epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct gw_registry *gw_registry_new(size_t replay_cap, struct gw_outbox *ob, struct wc_rand *rand,
                                    const struct gw_registry_hooks *hooks, void *hooks_ctx)
{
    struct gw_registry *reg = wc_xcalloc(1, sizeof(*reg));

    assert(replay_cap > 0);
    reg->replay_cap = replay_cap;
    reg->ob = ob;
    reg->rand = rand;
    if (hooks)
        reg->hooks = *hooks;
    reg->hooks_ctx = hooks_ctx;
    return reg;
}

static void run_destroy(struct gw_run *run)
{
    for (size_t i = 0; i < run->ring_n; i++)
        json_decref(run->ring[(run->ring_head + i) % run->ring_cap]);
    run->reg->ring_bytes -= run->ring_bytes;
    free(run->ring);
    free(run->ring_size);
    free(run->conns);
    json_decref(run->held);
    gw_writer_release(&run->writer);
    free(run->session_id);
    free(run->owner);
    free(run);
}

void gw_registry_free(struct gw_registry *reg)
{
    struct gw_run *run, *next;

    if (!reg)
        return;
    for (run = reg->runs; run; run = next) {
        next = run->next;
        run_destroy(run);
    }
    free(reg);
}

struct gw_run *gw_run_ref(struct gw_run *run)
{
    run->refs++;
    return run;
}

void gw_run_unref(struct gw_run *run)
{
    struct gw_run **pp;

    if (!run || --run->refs > 0)
        return;
    for (pp = &run->reg->runs; *pp; pp = &(*pp)->next) {
        if (*pp == run) {
            *pp = run->next;
            break;
        }
    }
    run_destroy(run);
}

static int64_t reg_now_ms(const struct gw_registry *reg)
{
    return reg->ret.clock_ms ? reg->ret.clock_ms() : wc_now_ms();
}

static bool retention_over(const struct gw_registry *reg, const struct gw_run *run, int64_t now_ms)
{
    return reg->ret.retain_ms > 0 && run->status == GW_RUN_COMPLETED &&
           now_ms - run->completed_at_ms >= reg->ret.retain_ms;
}

static void ring_clear(struct gw_registry *reg, struct gw_run *run);

/* CloudCLI's COMPLETED_RUN_RETENTION_MS: the session has no run any more (R-SUB-8: lastSeq 0).
 * A provider still holding the run keeps the struct, not the events. */
static void forget(struct gw_registry *reg, struct gw_run *run)
{
    run->current = false;
    ring_clear(reg, run);
    gw_run_unref(run);
}

struct gw_run *gw_registry_current(struct gw_registry *reg, const char *session_id)
{
    for (struct gw_run *run = reg->runs; run; run = run->next) {
        if (!run->current || strcmp(run->session_id, session_id) != 0)
            continue;
        /* R-SUB-8: the run's age decides, not whether the sweep of gw_registry_expire ran */
        if (retention_over(reg, run, reg_now_ms(reg))) {
            forget(reg, run);
            return NULL;
        }
        return run;
    }
    return NULL;
}

struct gw_run *gw_registry_first(struct gw_registry *reg)
{
    return reg->runs;
}

static bool session_busy(const struct gw_run *cur)
{
    if (!cur)
        return false;
    /* R-BUSY-2: busy until the complete went out, not until the provider exits. */
    if (gw_mutant_on(GW_MUT_BUSY_UNTIL_PROVIDER_EXITS) && cur->provider_alive)
        return true;
    if (gw_mutant_on(GW_MUT_BUSY_ACCEPTS_SECOND_SEND))
        return false;
    return cur->status == GW_RUN_RUNNING;
}

int gw_registry_start_run(struct gw_registry *reg, const char *session_id, const char *owner,
                          const char *provider, const char *native_id, uint64_t conn,
                          struct gw_run **out)
{
    struct gw_run *cur = gw_registry_current(reg, session_id);
    struct gw_run *run;

    *out = NULL;
    if (session_busy(cur))
        return WC_ERR_STATE;
    run = wc_xcalloc(1, sizeof(*run));
    run->refs = 1; /* the registry's: held while current */
    run->reg = reg;
    run->session_id = wc_xstrdup(session_id);
    run->owner = wc_xstrdup(owner);
    run->status = GW_RUN_RUNNING;
    run->started_at_ms = epoch_ms();
    run->current = true;
    gw_writer_init(&run->writer, session_id, provider, native_id, reg->rand);
    run->ring_cap = reg->replay_cap;
    run->ring = wc_xcalloc(run->ring_cap, sizeof(*run->ring));
    run->ring_size = wc_xcalloc(run->ring_cap, sizeof(*run->ring_size));
    if (cur && gw_mutant_on(GW_MUT_SEQ_NO_RESET))
        run->last_seq = cur->last_seq;
    run->next = reg->runs;
    reg->runs = run;
    if (cur) {
        /* A completed run is replaced, never reused. */
        cur->current = false;
        gw_run_unref(cur);
    }
    if (conn)
        gw_registry_attach(reg, run, conn);
    *out = run;
    return WC_OK;
}

bool gw_run_is_attached(const struct gw_run *run, uint64_t conn)
{
    for (size_t i = 0; i < run->n_conns; i++) {
        if (run->conns[i] == conn)
            return true;
    }
    return false;
}

void gw_registry_attach(struct gw_registry *reg, struct gw_run *run, uint64_t conn)
{
    (void)reg;
    if (gw_mutant_on(GW_MUT_SINGLE_WRITER))
        run->n_conns = 0; /* CloudCLI 1.37.2: the subscriber replaces the writer */
    if (gw_run_is_attached(run, conn))
        return;
    /* Attaching is rare (a send or a subscribe): the array is sized exactly, no spare capacity. */
    run->conns = wc_xrealloc(run->conns, (run->n_conns + 1) * sizeof(*run->conns));
    run->conns[run->n_conns++] = conn;
}

void gw_registry_detach_all(struct gw_registry *reg, uint64_t conn)
{
    for (struct gw_run *run = reg->runs; run; run = run->next) {
        for (size_t i = 0; i < run->n_conns; i++) {
            if (run->conns[i] == conn) {
                run->conns[i] = run->conns[--run->n_conns];
                break;
            }
        }
    }
}

bool gw_registry_is_attached(const struct gw_run *run, uint64_t conn)
{
    for (size_t i = 0; i < run->n_conns; i++) {
        if (run->conns[i] == conn)
            return true;
    }
    return false;
}

static int64_t event_seq(const json_t *ev)
{
    return json_integer_value(json_object_get(ev, "seq"));
}

static void ring_drop_oldest(struct gw_registry *reg, struct gw_run *run)
{
    size_t h = run->ring_head;

    json_decref(run->ring[h]);
    run->ring[h] = NULL;
    run->ring_bytes -= run->ring_size[h];
    reg->ring_bytes -= run->ring_size[h];
    run->ring_head = (h + 1) % run->ring_cap;
    run->ring_n--;
}

static void ring_clear(struct gw_registry *reg, struct gw_run *run)
{
    while (run->ring_n)
        ring_drop_oldest(reg, run);
}

/* Which idle ring the budget empties first (lowest first): a replaced run's, then a completed
 * run's that no socket is attached to, then one that sockets still follow (a replay streamed
 * from it may still be under way). */
static int idle_rank(const struct gw_run *run)
{
    if (!run->current)
        return 0;
    return run->n_conns ? 2 : 1;
}

/* The ring first emptied for the budget: no subscriber is replayed from it (R-SUB-4). By
 * idle_rank, then the one that completed first. NULL: none. */
static struct gw_run *idle_ring(struct gw_registry *reg)
{
    struct gw_run *best = NULL;

    for (struct gw_run *run = reg->runs; run; run = run->next) {
        if (!run->ring_n || (run->current && run->status == GW_RUN_RUNNING))
            continue;
        if (!best || idle_rank(run) < idle_rank(best) ||
            (idle_rank(run) == idle_rank(best) && run->completed_at_ms < best->completed_at_ms))
            best = run;
    }
    return best;
}

/* The running run with the largest ring that holds more than its newest event, or NULL. */
static struct gw_run *largest_running_ring(struct gw_registry *reg)
{
    struct gw_run *best = NULL;

    for (struct gw_run *run = reg->runs; run; run = run->next) {
        if (run->ring_n > 1 && (!best || run->ring_bytes > best->ring_bytes))
            best = run;
    }
    return best;
}

/* The global budget: idle rings go whole, then running rings lose their oldest events. */
static void enforce_budget(struct gw_registry *reg)
{
    while (reg->ret.budget_bytes && reg->ring_bytes > reg->ret.budget_bytes) {
        struct gw_run *victim = idle_ring(reg);

        if (victim) {
            ring_clear(reg, victim);
            continue;
        }
        victim = largest_running_ring(reg);
        if (!victim)
            return; /* every ring is down to its newest event */
        ring_drop_oldest(reg, victim);
    }
}

/* Buffer ev (size bytes of JSON text) at the ring's tail; the caps drop from the head. */
static void ring_push(struct gw_registry *reg, struct gw_run *run, json_t *ev, size_t size)
{
    size_t i;

    /* Full: the oldest goes (CloudCLI's MAX_BUFFERED_EVENTS_PER_RUN). */
    if (run->ring_n == run->ring_cap)
        ring_drop_oldest(reg, run);
    i = (run->ring_head + run->ring_n) % run->ring_cap;
    run->ring[i] = json_incref(ev);
    run->ring_size[i] = size;
    run->ring_n++;
    run->ring_bytes += size;
    reg->ring_bytes += size;
    /* The byte cap: the oldest go as well, never the newest (R-CAP-1 tells the subscriber). */
    while (reg->ret.ring_bytes && run->ring_bytes > reg->ret.ring_bytes && run->ring_n > 1)
        ring_drop_oldest(reg, run);
    enforce_budget(reg);
}

void gw_registry_set_retention(struct gw_registry *reg, const struct gw_retention *r)
{
    reg->ret = *r;
    enforce_budget(reg);
}

size_t gw_registry_expire(struct gw_registry *reg, int64_t now_ms)
{
    struct gw_run *run, *next;
    size_t n = 0;

    if (reg->ret.retain_ms <= 0)
        return 0;
    for (run = reg->runs; run; run = next) {
        next = run->next; /* the unref below frees at most run itself */
        if (!run->current || !retention_over(reg, run, now_ms))
            continue;
        forget(reg, run);
        n++;
    }
    return n;
}

int64_t gw_registry_next_expiry(const struct gw_registry *reg)
{
    int64_t next = -1;

    if (reg->ret.retain_ms <= 0)
        return -1;
    for (const struct gw_run *run = reg->runs; run; run = run->next) {
        int64_t at = run->completed_at_ms + reg->ret.retain_ms;
        if (run->current && run->status == GW_RUN_COMPLETED && (next < 0 || at < next))
            next = at;
    }
    return next;
}

size_t gw_registry_ring_bytes(const struct gw_registry *reg)
{
    return reg->ring_bytes;
}

/* Buffer, fan out and account one numbered event (takes ev). */
static void deliver(struct gw_registry *reg, struct gw_run *run, json_t *ev)
{
    const char *kind = json_string_value(json_object_get(ev, "kind"));
    bool is_complete = kind && strcmp(kind, "complete") == 0;
    struct gw_frame *f = gw_frame_from_json(ev);

    ring_push(reg, run, ev, f->len);
    for (size_t i = 0; i < run->n_conns; i++) {
        if (reg->hooks.fanout)
            reg->hooks.fanout(reg->hooks_ctx, run, run->conns[i], f);
        else
            gw_outbox_send(reg->ob, run->conns[i], f);
    }
    gw_frame_unref(f);
    if (reg->hooks.forwarded)
        reg->hooks.forwarded(reg->hooks_ctx, run, ev);
    if (is_complete && run->status == GW_RUN_RUNNING) {
        run->status = GW_RUN_COMPLETED;
        run->completed_at_ms = reg_now_ms(reg);
        if (reg->hooks.completed)
            reg->hooks.completed(reg->hooks_ctx, run);
    }
    json_decref(ev);
}

static void set_seq(json_t *ev, int64_t seq)
{
    json_object_set_new(ev, "seq", json_integer(seq));
}

/* Number one decorated event and deliver it (takes ev). */
static void forward(struct gw_registry *reg, struct gw_run *run, json_t *ev)
{
    int64_t seq = ++run->last_seq;

    if (gw_mutant_on(GW_MUT_SEQ_GAP) && seq == 3)
        seq = ++run->last_seq;
    set_seq(ev, seq);
    if (gw_mutant_on(GW_MUT_REORDER_EVENTS)) {
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        bool is_complete = kind && strcmp(kind, "complete") == 0;

        if (!run->held && !is_complete && seq == 1) {
            run->held = ev; /* wait for the second event, then swap */
            return;
        }
        if (run->held) {
            json_t *first = run->held;
            run->held = NULL;
            if (!is_complete) {
                /* Swap payloads, keep seqs ascending: the second event goes out as seq 1. */
                set_seq(ev, event_seq(first));
                set_seq(first, seq);
                deliver(reg, run, ev);
                deliver(reg, run, first);
                return;
            }
            deliver(reg, run, first);
        }
    }
    deliver(reg, run, ev);
}

/*
 * May the run still forward this event? (R-TERM-1, R-TERM-2) Only while it runs: after its
 * complete, nothing. The kind only picks which planted bug lets something through.
 */
static bool may_forward(const struct gw_run *run, const json_t *ev)
{
    const char *kind = wc_json_str(ev, "kind");

    if (run->status == GW_RUN_RUNNING)
        return true;
    return gw_mutant_on(kind && strcmp(kind, "complete") == 0 ? GW_MUT_DUP_COMPLETE
                                                              : GW_MUT_EVENTS_AFTER_COMPLETE);
}

void gw_registry_emit(struct gw_registry *reg, struct gw_run *run, json_t *ev)
{
    json_t *out = NULL;
    bool announced = false;

    switch (gw_writer_decorate(&run->writer, ev, &out, &announced)) {
    case GW_WRITER_SWALLOW:
        if (announced && reg->hooks.native_id)
            reg->hooks.native_id(reg->hooks_ctx, run);
        return;
    case GW_WRITER_DROP:
        return;
    case GW_WRITER_FORWARD:
        break;
    default:
        WC_BUG("bad writer action");
    }
    /* R-ABORT-1: once an abort is under way, the provider is silenced for this run. */
    if (run->aborting || !may_forward(run, out)) {
        /* R-SEQ-1: a dropped event takes no seq (the mutant numbers it anyway, as CloudCLI's
         * registry does for the duplicates it drops). */
        if (gw_mutant_on(GW_MUT_DROPPED_TAKE_SEQ))
            run->last_seq++;
        json_decref(out);
        return;
    }
    forward(reg, run, out);
}

void gw_registry_announce(struct gw_registry *reg, struct gw_run *run, const char *native_id)
{
    if (gw_writer_capture(&run->writer, native_id) && reg->hooks.native_id)
        reg->hooks.native_id(reg->hooks_ctx, run);
}

bool gw_registry_complete_if_current(struct gw_registry *reg, struct gw_run *run, int exit_code,
                                     bool aborted)
{
    struct gw_run *target = run;
    json_t *out = NULL;
    bool announced;

    /* R-ABORT-2: completion is keyed by run, never by session (CloudCLI's completeRun bug). */
    if (gw_mutant_on(GW_MUT_ABORT_COMPLETES_NEWER_RUN))
        target = gw_registry_current(reg, run->session_id);
    if (!target || !target->current || target->status != GW_RUN_RUNNING)
        return false;
    if (gw_writer_decorate(&target->writer, gw_writer_complete_event(exit_code, aborted), &out,
                           &announced) != GW_WRITER_FORWARD)
        WC_BUG("synthetic complete not forwarded");
    forward(reg, target, out);
    return true;
}

/*
 * The replay of the planted bugs truncation-renumbers and replay-fresh-ids: an altered copy of
 * ev instead of the stored event (R-SEQ-3). Called only with one of them on.
 */
static void replay_planted(struct gw_registry *reg, uint64_t conn, const json_t *ev,
                           int64_t renumber)
{
    json_t *copy = json_deep_copy(ev);
    char buf[48];
    char *id;

    if (renumber)
        set_seq(copy, renumber);
    if (gw_mutant_on(GW_MUT_REPLAY_FRESH_IDS)) {
        wc_rand_uuid(reg->rand, buf);
        id = wc_xasprintf("%s_%s", wc_json_str(ev, "kind"), buf);
        json_object_set_new(copy, "id", json_string(id));
        free(id);
        wc_iso8601_now(buf, sizeof(buf));
        json_object_set_new(copy, "timestamp", json_string(buf));
    }
    gw_outbox_send_json(reg->ob, conn, copy);
    json_decref(copy);
}

int64_t gw_run_first_buffered(const struct gw_run *run)
{
    return run->ring_n ? event_seq(run->ring[run->ring_head]) : run->last_seq + 1;
}

const json_t *gw_run_buffered_after(const struct gw_run *run, int64_t seq)
{
    size_t lo = 0, hi = run->ring_n;

    /* The ring is in ascending seq order: the first index whose seq is > seq. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (event_seq(run->ring[(run->ring_head + mid) % run->ring_cap]) <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < run->ring_n ? run->ring[(run->ring_head + lo) % run->ring_cap] : NULL;
}

/* Normalise the cursor and announce a truncation; *renumber for the planted bug. */
static int64_t replay_begin(struct gw_registry *reg, struct gw_run *run, uint64_t conn,
                            int64_t last_seq, int64_t *renumber)
{
    int64_t from = last_seq;
    int64_t first = gw_run_first_buffered(run);
    char ts[40];

    /* R-SUB-7: a cursor above this run's lastSeq belongs to an older run: replay it all. */
    if (from > run->last_seq && !gw_mutant_on(GW_MUT_STALE_CURSOR_NO_REPLAY))
        from = 0;
    if (gw_mutant_on(GW_MUT_REPLAY_IGNORES_LASTSEQ))
        from = 0;
    /*
     * R-CAP-1/R-CAP-2: the ring no longer holds lastSeq+1. (That implies lastSeq+1 <= the run's
     * last seq: the ring always holds the newest event, and first is last_seq + 1 when the run
     * has none yet.)
     */
    if (from + 1 < first) {
        if (gw_mutant_on(GW_MUT_TRUNCATION_RENUMBERS)) {
            *renumber = from + 1;
        } else if (!gw_mutant_on(GW_MUT_NO_HISTORY_TRUNCATED)) {
            json_t *t;
            wc_iso8601_now(ts, sizeof(ts));
            t = json_pack("{s:s, s:s, s:I, s:I, s:s}", "kind", "history_truncated", "sessionId",
                          run->session_id, "requestedFrom", (json_int_t)(from + 1),
                          "firstAvailable", (json_int_t)first, "timestamp", ts);
            gw_outbox_send_json(reg->ob, conn, t);
            json_decref(t);
        }
    }
    return from;
}

int64_t gw_registry_replay_start(struct gw_registry *reg, struct gw_run *run, uint64_t conn,
                                 int64_t last_seq)
{
    int64_t renumber = 0;

    return replay_begin(reg, run, conn, last_seq, &renumber);
}

void gw_registry_replay(struct gw_registry *reg, struct gw_run *run, uint64_t conn,
                        int64_t last_seq)
{
    int64_t renumber = 0;
    int64_t from = replay_begin(reg, run, conn, last_seq, &renumber);

    for (size_t i = 0; i < run->ring_n; i++) {
        const json_t *ev = run->ring[(run->ring_head + i) % run->ring_cap];
        if (event_seq(ev) <= from)
            continue;
        if (gw_mutant_on(GW_MUT_REPLAY_FRESH_IDS)) {
            replay_planted(reg, conn, ev, 0);
            continue;
        }
        if (gw_mutant_on(GW_MUT_TRUNCATION_RENUMBERS)) {
            replay_planted(reg, conn, ev, renumber);
            if (renumber)
                renumber++;
            continue;
        }
        /* R-SEQ-3: the stored event itself. */
        gw_outbox_send_json(reg->ob, conn, ev);
    }
}

json_t *gw_registry_list_running(struct gw_registry *reg, const char *owner)
{
    json_t *arr = json_array();

    /* The list is newest first; report oldest first. */
    for (struct gw_run *run = reg->runs; run; run = run->next) {
        if (!run->current || (owner && strcmp(owner, run->owner) != 0))
            continue;
        if (run->status != GW_RUN_RUNNING && !gw_mutant_on(GW_MUT_RUNNING_LISTS_COMPLETED))
            continue;
        json_array_insert_new(arr, 0,
                              json_pack("{s:s, s:s, s:I, s:I}", "sessionId", run->session_id,
                                        "provider", run->writer.provider, "startedAt",
                                        (json_int_t)run->started_at_ms, "lastSeq",
                                        (json_int_t)run->last_seq));
    }
    return arr;
}
