/*
 * test_mutants.c: every sans-I/O mutant flips the behaviour it claims. Each row is a scenario
 * that returns true when the clean behaviour is seen; it must be true with no mutant and false
 * with that mutant on. The table must cover every mutant except the lws-level ones
 * (no-frame-cap, no-send-cap, no-ping, pong-ignored, bearer-ignored, utf8-unchecked,
 * bad-length-waits; gw_e2e covers them but pong-ignored, which the heartbeat cases kill end to
 * end).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../mutants.h"
#include "../protocol.h"
#include "../rest.h"
#include "../store.h"
#include "../users.h"
#include "fake.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"
#include "wc_yaml.h"

#include "wc_banned.h"

size_t gw_dispatch_mutant_rows(void); /* test_dispatch.c */

static struct gw_fake fake;
static struct gw_core *core;
static uint64_t a1, a2, b1;
static char *sid;
static int64_t now_ms;

static int64_t clock_fn(void)
{
    return now_ms;
}

static void up(void)
{
    gw_fake_reset(&fake);
    now_ms = 0;
    core = gw_test_core(&fake, clock_fn);
    a1 = gw_core_conn_open(core, "alice", NULL);
    a2 = gw_core_conn_open(core, "alice", NULL);
    b1 = gw_core_conn_open(core, "bob", NULL);
    sid = gw_test_create_session(core, "alice", "claude", "/tmp/proj");
}

static bool down(bool result)
{
    gw_core_free(core);
    core = NULL;
    gw_fake_reset(&fake);
    free(sid);
    sid = NULL;
    return result;
}

static void sendf(uint64_t conn, const char *fmt, const char *arg)
{
    char *msg = wc_xasprintf(fmt, arg);
    gw_test_send(core, conn, msg);
    free(msg);
}

static void send_chat(uint64_t conn)
{
    sendf(conn, "{\"type\":\"chat.send\",\"sessionId\":\"%s\",\"content\":\"hi\"}", sid);
}

/* Frames for conn since the last call (new array). */
static json_t *got(uint64_t conn)
{
    json_t *all = gw_test_drain(core);
    json_t *mine = gw_test_frames_for(all, conn);
    json_decref(all);
    return mine;
}

static int count_kind(json_t *frames, const char *kind)
{
    size_t i;
    json_t *f;
    int n = 0;

    json_array_foreach(frames, i, f)
    {
        if (strcmp(wc_json_str(f, "kind") ? wc_json_str(f, "kind") : "", kind) == 0)
            n++;
    }
    return n;
}

static int64_t iget(json_t *frames, size_t i, const char *key)
{
    return json_integer_value(json_object_get(json_array_get(frames, i), key));
}

static const char *sget(json_t *frames, size_t i, const char *key)
{
    const char *s = wc_json_str(json_array_get(frames, i), key);
    return s ? s : "";
}

/* Consume frames, return the predicate, free. */
static bool judge(json_t *frames, bool ok)
{
    json_decref(frames);
    return ok;
}

static void emit(const char *ev)
{
    gw_fake_emitf(fake.runs, ev);
}

#define DELTA    "{\"kind\":\"stream_delta\",\"content\":\"x\"}"
#define COMPLETE "{\"kind\":\"complete\",\"exitCode\":0}"

static void subscribe(uint64_t conn, int64_t last_seq)
{
    char *msg = wc_xasprintf("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"%s\","
                             "\"lastSeq\":%lld}]}",
                             sid, (long long)last_seq);
    gw_test_send(core, conn, msg);
    free(msg);
}

/* --- scenarios ---------------------------------------------------------------------------- */

static bool sc_dup_complete(void)
{
    json_t *f;
    up();
    send_chat(a1);
    emit(COMPLETE);
    emit(COMPLETE);
    f = got(a1);
    return down(judge(f, count_kind(f, "complete") == 1));
}

static bool sc_no_synthetic_complete(void)
{
    json_t *f;
    up();
    send_chat(a1);
    gw_fake_end(fake.runs, 0);
    f = got(a1);
    return down(judge(f, count_kind(f, "complete") == 1));
}

static bool sc_leak_provider_id(void)
{
    json_t *f;
    up();
    send_chat(a1);
    gw_fake_announce(fake.runs, "nat-1");
    emit("{\"kind\":\"text\",\"sessionId\":\"nat-1\"}");
    f = got(a1);
    return down(judge(f, strcmp(sget(f, 1, "sessionId"), sid) == 0));
}

static bool sc_remap_top_level_only(void)
{
    json_t *f, *ev;
    bool ok;
    up();
    send_chat(a1);
    gw_fake_announce(fake.runs, "nat-1");
    emit("{\"kind\":\"tool_use\",\"toolInput\":{\"session\":\"nat-1\"},\"ids\":[\"nat-1\"]}");
    f = got(a1);
    ev = json_array_get(f, 1);
    ok = wc_json_str(json_object_get(ev, "toolInput"), "session") &&
         strcmp(wc_json_str(json_object_get(ev, "toolInput"), "session"), sid) == 0 &&
         json_is_string(json_array_get(json_object_get(ev, "ids"), 0)) &&
         strcmp(json_string_value(json_array_get(json_object_get(ev, "ids"), 0)), sid) == 0;
    return down(judge(f, ok));
}

static bool sc_forward_session_created(void)
{
    json_t *f;
    up();
    send_chat(a1);
    emit("{\"kind\":\"session_created\",\"newSessionId\":\"nat-1\"}");
    f = got(a1);
    return down(judge(f, count_kind(f, "session_created") == 0));
}

static bool sc_seq_gap(void)
{
    json_t *f;
    up();
    send_chat(a1);
    emit(DELTA);
    emit(DELTA);
    emit(DELTA);
    f = got(a1);
    return down(judge(f, iget(f, 2, "seq") == 3));
}

static bool sc_seq_no_reset(void)
{
    json_t *f;
    up();
    send_chat(a1);
    emit(COMPLETE);
    send_chat(a1);
    emit(DELTA);
    f = got(a1);
    return down(judge(f, iget(f, 1, "seq") == 1));
}

static void three_events(void)
{
    send_chat(a1);
    emit(DELTA);
    emit(DELTA);
    emit(DELTA);
    json_decref(got(a1));
}

static bool sc_replay_before_ack(void)
{
    json_t *f;
    up();
    three_events();
    subscribe(a2, 1);
    f = got(a2);
    return down(judge(f, strcmp(sget(f, 0, "kind"), "chat_subscribed") == 0));
}

static bool sc_replay_ignores_lastseq(void)
{
    json_t *f;
    up();
    three_events();
    subscribe(a2, 2);
    f = got(a2);
    return down(judge(f, json_array_size(f) == 2 && iget(f, 1, "seq") == 3));
}

static bool sc_no_replay(void)
{
    json_t *f;
    up();
    three_events();
    subscribe(a2, 2);
    f = got(a2);
    return down(judge(f, json_array_size(f) == 2));
}

static bool sc_events_after_complete(void)
{
    json_t *f;
    up();
    send_chat(a1);
    emit(COMPLETE);
    emit("{\"kind\":\"status\",\"text\":\"token_budget\"}");
    f = got(a1);
    return down(judge(f, count_kind(f, "status") == 0));
}

static bool sc_abort_completes_newer_run(void)
{
    json_t *f;
    struct gw_fake_run *old;
    up();
    send_chat(a1);
    emit(COMPLETE);
    old = fake.runs;
    send_chat(a1);
    json_decref(got(a1));
    gw_fake_end(old, 1);
    f = got(a1);
    return down(judge(f, json_array_size(f) == 0));
}

static bool sc_abort_keeps_provider(void)
{
    bool ok;
    up();
    send_chat(a1);
    sendf(a1, "{\"type\":\"chat.abort\",\"sessionId\":\"%s\"}", sid);
    ok = fake.runs->aborted;
    return down(ok);
}

/* R-HB-3: the socket that started a run goes away; the run goes on and a2 can catch up. */
static bool sc_drop_aborts_run(void)
{
    json_t *f;
    bool ok;
    up();
    send_chat(a1);
    gw_core_conn_close(core, a1);
    ok = !fake.runs->aborted;
    emit(DELTA);
    subscribe(a2, 0);
    f = got(a2);
    ok = ok && count_kind(f, "stream_delta") == 1 && count_kind(f, "complete") == 0;
    return down(judge(f, ok));
}

static bool sc_busy_accepts_second_send(void)
{
    json_t *f;
    up();
    send_chat(a1);
    send_chat(a1);
    f = got(a1);
    return down(judge(f, fake.n_open == 1 && strcmp(sget(f, 0, "code"), "RUN_IN_PROGRESS") == 0));
}

static bool sc_unknown_type_silent(void)
{
    json_t *f;
    up();
    gw_test_send(core, a1, "{\"type\":\"nope\"}");
    f = got(a1);
    return down(judge(f, json_array_size(f) == 1));
}

static bool sc_invalid_json_closes(void)
{
    json_t *all;
    bool ok;
    up();
    gw_test_send(core, a1, "{nope");
    all = gw_test_drain(core);
    ok = json_array_size(all) == 1 && json_object_get(json_array_get(all, 0), "frame");
    json_decref(all);
    return down(ok);
}

static bool sc_cwd_from_client(void)
{
    bool ok;
    up();
    sendf(a1, "{\"type\":\"chat.send\",\"sessionId\":\"%s\",\"options\":{\"cwd\":\"/etc\"}}", sid);
    ok = strcmp(fake.runs->cwd, "/tmp/proj") == 0;
    return down(ok);
}

static bool sc_cross_user_access(void)
{
    json_t *f;
    up();
    send_chat(b1);
    f = got(b1);
    return down(judge(f, strcmp(sget(f, 0, "code"), "SESSION_NOT_FOUND") == 0));
}

static bool sc_broadcast_to_other_users(void)
{
    json_t *f;
    up();
    send_chat(a1);
    gw_fake_announce(fake.runs, "nat-1");
    f = got(b1);
    return down(judge(f, json_array_size(f) == 0));
}

static bool sc_error_to_all_sockets(void)
{
    json_t *f;
    up();
    gw_test_send(core, a1, "{}");
    f = got(a2);
    return down(judge(f, json_array_size(f) == 0));
}

static bool sc_single_writer(void)
{
    json_t *f;
    up();
    send_chat(a1);
    subscribe(a2, 0);
    json_decref(got(a1));
    emit(DELTA);
    f = got(a1);
    return down(judge(f, json_array_size(f) == 1));
}

static bool sc_no_auth(void)
{
    struct gw_users *u = gw_users_new();
    bool present, ok;
    gw_users_add(u, "alice", "t1");
    ok = gw_users_authenticate(u, NULL, NULL, &present) == NULL &&
         gw_users_authenticate(u, "bad", NULL, &present) == NULL;
    gw_users_free(u);
    return ok;
}

static int rest(const char *method, const char *path, const char *body, json_t **out)
{
    struct gw_rest_request req = {.method = method,
                                  .path = path,
                                  .user = "alice",
                                  .token_present = true,
                                  .body = body,
                                  .body_len = body ? strlen(body) : 0};
    return gw_rest_handle(core, &req, out);
}

static bool sc_rest_200_on_create(void)
{
    json_t *b = NULL;
    int st;
    up();
    st = rest("POST", "/api/providers/sessions", "{\"provider\":\"cursor\",\"projectPath\":\"/p\"}",
              &b);
    json_decref(b);
    return down(st == 201);
}

static bool sc_rest_accepts_empty_path(void)
{
    json_t *b = NULL;
    int st;
    up();
    st = rest("POST", "/api/providers/sessions", "{\"provider\":\"cursor\",\"projectPath\":\"\"}",
              &b);
    json_decref(b);
    return down(st == 400);
}

static bool sc_running_lists_completed(void)
{
    json_t *b = NULL;
    bool ok;
    up();
    send_chat(a1);
    emit(COMPLETE);
    rest("GET", "/api/providers/sessions/running", NULL, &b);
    ok = json_array_size(json_object_get(json_object_get(b, "data"), "sessions")) == 0;
    json_decref(b);
    return down(ok);
}

static bool sc_history_has_seq(void)
{
    json_t *b = NULL;
    char *path;
    bool ok;
    up();
    send_chat(a1);
    emit(DELTA);
    path = wc_xasprintf("/api/providers/sessions/%s/messages", sid);
    rest("GET", path, NULL, &b);
    free(path);
    ok = !json_object_get(
        json_array_get(json_object_get(json_object_get(b, "data"), "messages"), 1), "seq");
    json_decref(b);
    return down(ok);
}

static bool sc_history_prompt_id_reused(void)
{
    json_t *b = NULL, *msgs;
    char *path;
    const char *first, *second;
    bool ok;
    up();
    send_chat(a1);
    emit(COMPLETE);
    send_chat(a1);
    emit(COMPLETE);
    path = wc_xasprintf("/api/providers/sessions/%s/messages", sid);
    rest("GET", path, NULL, &b);
    free(path);
    /* prompt, complete, prompt, complete */
    msgs = json_object_get(json_object_get(b, "data"), "messages");
    first = wc_json_str(json_array_get(msgs, 0), "id");
    second = wc_json_str(json_array_get(msgs, 2), "id");
    ok = json_array_size(msgs) == 4 && first && second && strcmp(first, second) != 0;
    json_decref(b);
    return down(ok);
}

static bool sc_whitespace_id_not_trimmed(void)
{
    json_t *f;
    up();
    gw_test_send(core, a1, "{\"type\":\"chat.send\",\"sessionId\":\"  \"}");
    f = got(a1);
    return down(judge(f, strcmp(sget(f, 0, "code"), "SESSION_ID_REQUIRED") == 0));
}

static bool sc_wrong_not_found_text(void)
{
    json_t *f;
    up();
    gw_test_send(core, a1, "{\"type\":\"chat.send\",\"sessionId\":\"x\"}");
    f = got(a1);
    return down(judge(f, strcmp(sget(f, 0, "error"), "Session \"x\" was not found. Create it via "
                                                     "POST /api/providers/sessions first.") == 0));
}

/* R-SEND-4: a session row whose provider has no runtime here. */
static bool sc_unavailable_provider_runs(void)
{
    static const char *const off[] = {"codex", NULL};
    char *cx;
    json_t *f;
    bool ok;

    gw_test_disabled_providers = off;
    up();
    gw_test_disabled_providers = NULL;
    cx = gw_test_create_session(core, "alice", "codex", "/tmp/proj");
    sendf(a1, "{\"type\":\"chat.send\",\"sessionId\":\"%s\",\"content\":\"hi\"}", cx);
    f = got(a1);
    ok = json_array_size(f) == 1 && strcmp(sget(f, 0, "code"), "UNSUPPORTED_PROVIDER") == 0 &&
         strcmp(sget(f, 0, "error"), "Provider \"codex\" is not available.") == 0 &&
         strcmp(sget(f, 0, "sessionId"), cx) == 0 && fake.n_open == 0;
    free(cx);
    return down(judge(f, ok));
}

static bool sc_send_ack(void)
{
    json_t *f;
    up();
    send_chat(a1);
    f = got(a1);
    return down(judge(f, json_array_size(f) == 0));
}

static bool sc_no_timestamp(void)
{
    json_t *f;
    up();
    send_chat(a1);
    emit(DELTA);
    f = got(a1);
    return down(judge(f, wc_is_iso8601(sget(f, 0, "timestamp"))));
}

static bool sc_replay_fresh_ids(void)
{
    json_t *live, *rep;
    bool ok;
    up();
    send_chat(a1);
    emit(DELTA);
    live = got(a1);
    subscribe(a2, 0);
    rep = got(a2);
    ok = json_equal(json_array_get(live, 0), json_array_get(rep, 1));
    json_decref(live);
    json_decref(rep);
    return down(ok);
}

static bool sc_busy_until_provider_exits(void)
{
    up();
    send_chat(a1);
    emit(COMPLETE);
    send_chat(a1);
    return down(fake.n_open == 2);
}

static bool sc_reorder_events(void)
{
    json_t *f;
    up();
    send_chat(a1);
    emit("{\"kind\":\"text\",\"content\":\"one\"}");
    emit("{\"kind\":\"text\",\"content\":\"two\"}");
    f = got(a1);
    return down(judge(f, strcmp(sget(f, 0, "content"), "one") == 0));
}

static bool abort_complete(json_t **f)
{
    up();
    send_chat(a1);
    json_decref(got(a1));
    sendf(a1, "{\"type\":\"chat.abort\",\"sessionId\":\"%s\"}", sid);
    *f = got(a1);
    return json_array_size(*f) == 1;
}

static bool sc_complete_success_when_aborted(void)
{
    json_t *f;
    bool ok = abort_complete(&f) && !wc_json_bool(json_array_get(f, 0), "success", true);
    return down(judge(f, ok));
}

static bool sc_abort_not_flagged(void)
{
    json_t *f;
    bool ok = abort_complete(&f) && wc_json_bool(json_array_get(f, 0), "aborted", false);
    return down(judge(f, ok));
}

static bool sc_abort_silent_when_idle(void)
{
    json_t *f;
    up();
    sendf(a1, "{\"type\":\"chat.abort\",\"sessionId\":\"%s\"}", sid);
    f = got(a1);
    return down(judge(f, strcmp(sget(f, 0, "code"), "NO_ACTIVE_RUN") == 0));
}

static bool sc_subscribe_skips_unknown(void)
{
    json_t *f;
    up();
    gw_test_send(core, a1, "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"u\"}]}");
    f = got(a1);
    return down(judge(f, json_array_size(f) == 1));
}

static bool sc_replay_completed_run(void)
{
    json_t *f;
    up();
    send_chat(a1);
    emit(DELTA);
    emit(COMPLETE);
    subscribe(a2, 0);
    f = got(a2);
    return down(judge(f, json_array_size(f) == 1));
}

static bool sc_lastseq_parses_strings(void)
{
    json_t *v = json_string("5");
    bool ok = gw_protocol_last_seq(v) == 0;
    json_decref(v);
    return ok;
}

static bool sc_subscribe_no_attach(void)
{
    json_t *f;
    up();
    send_chat(a1);
    subscribe(a2, 0);
    json_decref(got(a2));
    emit(DELTA);
    f = got(a2);
    return down(judge(f, json_array_size(f) == 1));
}

static bool sc_stale_cursor_no_replay(void)
{
    json_t *f;
    up();
    send_chat(a1);
    emit(DELTA);
    subscribe(a2, 9);
    f = got(a2);
    return down(judge(f, json_array_size(f) == 2));
}

static json_t *truncated_replay(void)
{
    up();
    send_chat(a1);
    for (int i = 0; i < 5003; i++)
        emit(DELTA);
    json_decref(got(a1));
    subscribe(a2, 0);
    return got(a2);
}

static bool sc_truncation_renumbers(void)
{
    json_t *f = truncated_replay();
    size_t n = json_array_size(f);
    return down(judge(f, n > 2 && iget(f, n - 5000, "seq") == 4));
}

static bool sc_no_history_truncated(void)
{
    json_t *f = truncated_replay();
    return down(judge(f, strcmp(sget(f, 1, "kind"), "history_truncated") == 0 &&
                             iget(f, 1, "firstAvailable") == 4));
}

/* R-LIMIT-5: a replay of about 2 MB leaves a backlog after the first pull (1 MiB by default). */
static bool sc_replay_queued_whole(void)
{
    json_t *all, *f;
    bool backlog;
    char *big = wc_xasprintf("{\"kind\":\"stream_delta\",\"content\":\"%0*d\"}", 1000, 0);
    up();
    send_chat(a1);
    for (int i = 0; i < 2000; i++)
        emit(big);
    free(big);
    json_decref(got(a1));
    subscribe(a2, 0);
    all = gw_test_drain_outbox(core);
    f = gw_test_frames_for(all, a2);
    json_decref(all);
    backlog = gw_core_conn_has_backlog(core, a2);
    return down(judge(f, backlog && json_array_size(f) > 1 && json_array_size(f) < 2001));
}

/* R-LIMIT-5: the only socket of a run is full: its provider is paused, and resumed after. */
static bool sc_provider_never_paused(void)
{
    bool paused, resumed;
    up();
    send_chat(a1);
    gw_core_conn_set_full(core, a1, true);
    paused = fake.runs->paused;
    gw_core_conn_set_full(core, a1, false);
    resumed = !fake.runs->paused && fake.runs->n_flow == 2;
    return down(paused && resumed);
}

static bool sc_pending_not_listed(void)
{
    json_t *f;
    up();
    send_chat(a1);
    gw_fake_permission(fake.runs, "Bash", "{}");
    json_decref(got(a1));
    subscribe(a2, 1);
    f = got(a2);
    return down(judge(
        f, json_array_size(json_object_get(json_array_get(f, 0), "pendingPermissions")) == 1));
}

static bool sc_permission_response_acks(void)
{
    json_t *f;
    up();
    gw_test_send(core, a1, "{\"type\":\"chat.permission-response\",\"requestId\":\"x\"}");
    f = got(a1);
    return down(judge(f, json_array_size(f) == 0));
}

static bool sc_permission_no_timeout(void)
{
    json_t *f;
    up();
    send_chat(a1);
    gw_fake_permission(fake.runs, "Bash", "{}");
    now_ms = 5000;
    gw_core_tick(core, now_ms);
    f = got(a1);
    return down(judge(f, count_kind(f, "permission_cancelled") == 1));
}

static bool sc_permission_always_deny(void)
{
    json_t *f;
    char *msg;
    bool ok;
    up();
    send_chat(a1);
    gw_fake_permission(fake.runs, "Bash", "{}");
    f = got(a1);
    msg = wc_xasprintf("{\"type\":\"chat.permission-response\",\"requestId\":\"%s\","
                       "\"allow\":true}",
                       sget(f, 0, "requestId"));
    gw_test_send(core, a1, msg);
    free(msg);
    ok = fake.runs->n_answers == 1 && fake.runs->answer_allow;
    return down(judge(f, ok));
}

/* R-PERM-5: an abort whose provider keeps running answers its pending request as cancelled. */
static bool sc_pending_kept_after_end(void)
{
    bool ok;
    up();
    send_chat(a1);
    fake.runs->end_on_abort = false;
    gw_fake_permission(fake.runs, "Bash", "{}");
    sendf(a1, "{\"type\":\"chat.abort\",\"sessionId\":\"%s\"}", sid);
    ok = fake.runs->n_answers == 1 && fake.runs->answer_cancelled && !fake.runs->answer_allow;
    return down(judge(got(a1), ok));
}

static bool sc_no_resume(void)
{
    bool ok;
    up();
    send_chat(a1);
    gw_fake_announce(fake.runs, "nat-1");
    emit(COMPLETE);
    send_chat(a1);
    ok = fake.runs->resume && strcmp(fake.runs->resume, "nat-1") == 0;
    return down(ok);
}

/* Remove a scenario's SQLite database (with its WAL and shared-memory files) and its folder;
 * frees path. */
static void remove_db(const char *dir, char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};

    for (size_t i = 0; i < 3; i++) {
        char *p = wc_xasprintf("%s%s", path, suffixes[i]);
        unlink(p);
        free(p);
    }
    rmdir(dir);
    free(path);
}

static bool sc_no_persist(void)
{
    char dir[] = "/tmp/gw-mut-XXXXXX";
    char *path, *err = NULL;
    struct gw_store *st;
    struct gw_session s;
    struct wc_rand r;
    bool ok = false;

    if (!mkdtemp(dir))
        return false;
    path = wc_xasprintf("%s/db", dir);
    wc_rand_init(&r, 1);
    st = gw_store_open(path, &err);
    if (st && gw_store_create(st, &r, "alice", "claude", "/p", "n", &s) == 0) {
        char *id = wc_xstrdup(s.id);
        gw_session_release(&s);
        gw_store_free(st);
        st = gw_store_open(path, &err);
        ok = st && gw_store_get(st, id, &s) == 0;
        if (ok)
            gw_session_release(&s);
        free(id);
    }
    gw_store_free(st);
    remove_db(dir, path);
    return ok;
}

/* After a burst the core's writes are committed: a second connection to the database (what a
 * gateway restarted after a crash would open) sees the native id. */
static bool sc_commit_at_exit(void)
{
    char dir[] = "/tmp/gw-mut-XXXXXX";
    char *path, *err = NULL;
    struct gw_store *st;
    struct gw_session s;
    bool ok = false;

    if (!mkdtemp(dir))
        return false;
    path = wc_xasprintf("%s/db", dir);
    gw_fake_reset(&fake);
    struct gw_core_opts o = {.db_path = path,
                             .seed = 1,
                             .provider = &gw_fake_ops,
                             .provider_self = &fake,
                             .clock_ms = clock_fn};
    core = gw_core_new(&o, &err);
    if (core) {
        a1 = gw_core_conn_open(core, "alice", NULL);
        sid = gw_test_create_session(core, "alice", "claude", "/tmp/proj");
        send_chat(a1);
        gw_fake_announce(fake.runs, "nat-1");
        emit(COMPLETE);
        gw_core_flush(core);
        st = gw_store_open(path, &err);
        ok = st && gw_store_get(st, sid, &s) == 0 && s.native_id && !strcmp(s.native_id, "nat-1");
        if (st && s.id)
            gw_session_release(&s);
        gw_store_free(st);
        down(true);
    }
    remove_db(dir, path);
    free(err);
    return ok;
}

/* Events dropped after the complete leave the run's lastSeq at the complete's seq. */
static bool sc_dropped_take_seq(void)
{
    struct gw_run *run;
    bool ok;
    up();
    send_chat(a1);
    emit(COMPLETE);
    emit("{\"kind\":\"status\",\"text\":\"after\"}");
    emit(COMPLETE);
    run = gw_registry_current(gw_core_registry(core), sid);
    ok = run && run->last_seq == 1;
    json_decref(got(a1));
    return down(ok);
}

/* Issue 18: each NUL form is refused, and none acts on the session or request it prefixes. */
static bool sc_nul_truncates_ids(void)
{
    json_t *f;
    char *msg;
    bool ok;
    up();
    sendf(a1, "{\"type\":\"chat.send\\u0000junk\",\"sessionId\":\"%s\"}", sid);
    sendf(a1, "{\"type\":\"chat.send\",\"sessionId\":\"%s\\u0000EVIL\"}", sid);
    f = got(a1);
    ok = !fake.runs && json_array_size(f) == 2 &&
         strcmp(sget(f, 0, "code"), "UNKNOWN_MESSAGE_TYPE") == 0 &&
         strcmp(sget(f, 1, "code"), "SESSION_ID_REQUIRED") == 0;
    json_decref(f);
    send_chat(a1);
    gw_fake_permission(fake.runs, "Bash", "{}");
    f = got(a1);
    msg = wc_xasprintf("{\"type\":\"chat.permission-response\",\"requestId\":\"%s\\u0000x\","
                       "\"allow\":true}",
                       sget(f, 0, "requestId"));
    gw_test_send(core, a1, msg);
    free(msg);
    json_decref(f);
    sendf(a2, "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"%s\\u0000x\"}]}", sid);
    sendf(a1, "{\"type\":\"chat.abort\",\"sessionId\":\"%s\\u0000x\"}", sid);
    ok = ok && fake.runs->n_answers == 0 && !fake.runs->aborted;
    f = got(a2);
    ok = ok && json_array_size(f) == 0;
    return down(judge(f, ok));
}

static const struct {
    enum gw_mutant m;
    bool (*scenario)(void);
} rows[] = {
    {GW_MUT_DUP_COMPLETE, sc_dup_complete},
    {GW_MUT_NO_SYNTHETIC_COMPLETE, sc_no_synthetic_complete},
    {GW_MUT_LEAK_PROVIDER_ID, sc_leak_provider_id},
    {GW_MUT_REMAP_TOP_LEVEL_ONLY, sc_remap_top_level_only},
    {GW_MUT_FORWARD_SESSION_CREATED, sc_forward_session_created},
    {GW_MUT_SEQ_GAP, sc_seq_gap},
    {GW_MUT_SEQ_NO_RESET, sc_seq_no_reset},
    {GW_MUT_REPLAY_BEFORE_ACK, sc_replay_before_ack},
    {GW_MUT_REPLAY_IGNORES_LASTSEQ, sc_replay_ignores_lastseq},
    {GW_MUT_NO_REPLAY, sc_no_replay},
    {GW_MUT_EVENTS_AFTER_COMPLETE, sc_events_after_complete},
    {GW_MUT_ABORT_COMPLETES_NEWER_RUN, sc_abort_completes_newer_run},
    {GW_MUT_ABORT_KEEPS_PROVIDER, sc_abort_keeps_provider},
    {GW_MUT_BUSY_ACCEPTS_SECOND_SEND, sc_busy_accepts_second_send},
    {GW_MUT_UNKNOWN_TYPE_SILENT, sc_unknown_type_silent},
    {GW_MUT_INVALID_JSON_CLOSES, sc_invalid_json_closes},
    {GW_MUT_CWD_FROM_CLIENT, sc_cwd_from_client},
    {GW_MUT_CROSS_USER_ACCESS, sc_cross_user_access},
    {GW_MUT_BROADCAST_TO_OTHER_USERS, sc_broadcast_to_other_users},
    {GW_MUT_ERROR_TO_ALL_SOCKETS, sc_error_to_all_sockets},
    {GW_MUT_SINGLE_WRITER, sc_single_writer},
    {GW_MUT_NO_AUTH, sc_no_auth},
    {GW_MUT_REST_200_ON_CREATE, sc_rest_200_on_create},
    {GW_MUT_REST_ACCEPTS_EMPTY_PATH, sc_rest_accepts_empty_path},
    {GW_MUT_RUNNING_LISTS_COMPLETED, sc_running_lists_completed},
    {GW_MUT_HISTORY_HAS_SEQ, sc_history_has_seq},
    {GW_MUT_HISTORY_PROMPT_ID_REUSED, sc_history_prompt_id_reused},
    {GW_MUT_WHITESPACE_ID_NOT_TRIMMED, sc_whitespace_id_not_trimmed},
    {GW_MUT_WRONG_NOT_FOUND_TEXT, sc_wrong_not_found_text},
    {GW_MUT_SEND_ACK, sc_send_ack},
    {GW_MUT_NO_TIMESTAMP, sc_no_timestamp},
    {GW_MUT_REPLAY_FRESH_IDS, sc_replay_fresh_ids},
    {GW_MUT_BUSY_UNTIL_PROVIDER_EXITS, sc_busy_until_provider_exits},
    {GW_MUT_REORDER_EVENTS, sc_reorder_events},
    {GW_MUT_COMPLETE_SUCCESS_WHEN_ABORTED, sc_complete_success_when_aborted},
    {GW_MUT_ABORT_NOT_FLAGGED, sc_abort_not_flagged},
    {GW_MUT_ABORT_SILENT_WHEN_IDLE, sc_abort_silent_when_idle},
    {GW_MUT_SUBSCRIBE_SKIPS_UNKNOWN, sc_subscribe_skips_unknown},
    {GW_MUT_REPLAY_COMPLETED_RUN, sc_replay_completed_run},
    {GW_MUT_LASTSEQ_PARSES_STRINGS, sc_lastseq_parses_strings},
    {GW_MUT_SUBSCRIBE_NO_ATTACH, sc_subscribe_no_attach},
    {GW_MUT_STALE_CURSOR_NO_REPLAY, sc_stale_cursor_no_replay},
    {GW_MUT_TRUNCATION_RENUMBERS, sc_truncation_renumbers},
    {GW_MUT_NO_HISTORY_TRUNCATED, sc_no_history_truncated},
    {GW_MUT_PENDING_NOT_LISTED, sc_pending_not_listed},
    {GW_MUT_PERMISSION_RESPONSE_ACKS, sc_permission_response_acks},
    {GW_MUT_PERMISSION_NO_TIMEOUT, sc_permission_no_timeout},
    {GW_MUT_PERMISSION_ALWAYS_DENY, sc_permission_always_deny},
    {GW_MUT_PENDING_KEPT_AFTER_END, sc_pending_kept_after_end},
    {GW_MUT_NO_RESUME, sc_no_resume},
    {GW_MUT_NO_PERSIST, sc_no_persist},
    {GW_MUT_UNAVAILABLE_PROVIDER_RUNS, sc_unavailable_provider_runs},
    {GW_MUT_DROP_ABORTS_RUN, sc_drop_aborts_run},
    {GW_MUT_COMMIT_AT_EXIT, sc_commit_at_exit},
    {GW_MUT_DROPPED_TAKE_SEQ, sc_dropped_take_seq},
    {GW_MUT_NUL_TRUNCATES_IDS, sc_nul_truncates_ids},
    {GW_MUT_REPLAY_QUEUED_WHOLE, sc_replay_queued_whole},
    {GW_MUT_PROVIDER_NEVER_PAUSED, sc_provider_never_paused},
};

static void test_mutants_each_flips_its_behaviour(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *name = gw_mutant_info(rows[i].m)->name;
        bool clean, mutated;

        gw_mutant_force(GW_MUT_NONE);
        clean = rows[i].scenario();
        gw_mutant_force(rows[i].m);
        mutated = rows[i].scenario();
        gw_mutant_force(GW_MUT_NONE);
        if (!clean || mutated)
            fprintf(stderr, "\n    mutant %s: clean %d, mutated %d\n", name, clean, mutated);
        CU_ASSERT_TRUE(clean);
        CU_ASSERT_FALSE(mutated);
    }
}

static void test_mutants_table_is_complete(void)
{
    /* the dispatch-* mutants' rows are test_dispatch.c's */
    size_t covered = sizeof(rows) / sizeof(rows[0]) + gw_dispatch_mutant_rows();
    /* The lws-level seven are proved end to end instead (gw_e2e), and closing-keeps-flow (a
     * socket closed for a lagging replay while another reads) by the catalog's case 1.2.8. */
    CU_ASSERT_EQUAL(covered + 8, (size_t)GW_MUT_COUNT - 1);
    for (int m = GW_MUT_NONE + 1; m < GW_MUT_COUNT; m++) {
        const struct gw_mutant_info *info = gw_mutant_info((enum gw_mutant)m);
        CU_ASSERT_PTR_NOT_NULL_FATAL(info);
        CU_ASSERT_EQUAL(gw_mutant_set(info->name), 0);
        CU_ASSERT_EQUAL(gw_mutant_active(), (enum gw_mutant)m);
        CU_ASSERT_PTR_NULL(strchr(info->requirements, ' '));
        CU_ASSERT_EQUAL(strncmp(info->requirements, "R-", 2), 0);
    }
    CU_ASSERT_NOT_EQUAL(gw_mutant_set("no-such-mutant"), 0);
    gw_mutant_force(GW_MUT_NONE);
}

/* Every requirement a mutant names exists in the spec. The unit tests run from the repository's
 * root (make unit): a spec that cannot be read is a failure, not a pass that checked nothing. */
static void test_mutants_requirements_exist(void)
{
    char *err = NULL;
    struct wc_yaml_doc *doc = wc_yaml_load_file("spec/chatgw-1.0/requirements.yaml", &err);
    struct wc_yaml_doc *ddoc =
        doc ? wc_yaml_load_file("spec/dispatch-ws-1/requirements.yaml", &err) : NULL;
    json_t *reqs;

    if (!doc || !ddoc) {
        fprintf(stderr, "\n    cannot read the spec (run from the repository's root): %s\n",
                err ? err : "?");
        free(err);
        CU_FAIL_FATAL("spec/{chatgw-1.0,dispatch-ws-1}/requirements.yaml cannot be read");
    }
    for (int m = GW_MUT_NONE + 1; m < GW_MUT_COUNT; m++) {
        /* a dispatch-* mutant names dispatch-ws/1 requirements */
        bool dispatch = !strncmp(gw_mutant_info((enum gw_mutant)m)->name, "dispatch-", 9);
        char *list = wc_xstrdup(gw_mutant_info((enum gw_mutant)m)->requirements);
        char *save = NULL;
        reqs = json_object_get(wc_yaml_root(dispatch ? ddoc : doc), "requirements");
        for (char *r = strtok_r(list, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
            bool found = false;
            size_t i;
            json_t *e;
            json_array_foreach(reqs, i, e)
            {
                if (wc_json_str(e, "id") && strcmp(wc_json_str(e, "id"), r) == 0)
                    found = true;
            }
            if (!found)
                fprintf(stderr, "\n    requirement %s of mutant %s is not in the spec\n", r,
                        gw_mutant_info((enum gw_mutant)m)->name);
            CU_ASSERT_TRUE(found);
        }
        free(list);
    }
    wc_yaml_free(ddoc);
    wc_yaml_free(doc);
}

static CU_TestInfo mutants_tests[] = {
    {"each_flips_its_behaviour", test_mutants_each_flips_its_behaviour},
    {"table_is_complete", test_mutants_table_is_complete},
    {"requirements_exist", test_mutants_requirements_exist},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo gw_mutants_suites[] = {
    {.pName = "gw_mutants", .pTests = mutants_tests},
    CU_SUITE_INFO_NULL,
};
