/* core.c: connections, providers, permissions and the registry hooks (see core.h). */
#include <string.h>

#include "core.h"
#include "mutants.h"
#include "wc_err.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"

#include "wc_banned.h"

/* Buckets of the connection table (a socket's id modulo this). Kept small: a chain is walked
 * once per frame for one socket, and the catalog reaches the chains (two sockets in one
 * bucket, the sockets of bucket 0) with 17 sockets (case 11.1.60), where 256 hid them from
 * every case. */
#define CONN_BUCKETS 16

/* Default high-water mark of a replay pull and cap of what is held behind a replay. */
#define FLOW_HIGH_DEFAULT (1024 * 1024)
#define HOLD_CAP_DEFAULT  (8 * 1024 * 1024)
/* Close code for a socket that cannot keep up with its replay (1013: try again later). */
#define CLOSE_TRY_AGAIN 1013

/* Something waiting for one socket, in order: a held frame or a replay cursor. */
struct pend {
    struct gw_frame *f; /* a held frame (a reference), or NULL: a replay cursor */
    struct gw_run *run; /* cursor: a reference */
    int64_t sent;       /* cursor: seq of the last event replayed (or announced as truncated) */
    struct pend *next;
};

struct conn {
    uint64_t id;       /* > 0 */
    char *user;        /* owner of the socket */
    void *glue;        /* the I/O layer's pointer */
    bool full;         /* the glue's queue is above its high-water mark */
    struct pend *pend; /* oldest first: while not empty, every frame for it waits behind */
    struct pend **pend_tail;
    size_t held_bytes; /* bytes of the held frames in pend */
    bool closing;      /* closed by the core (conn_overflow): takes nothing more */
    struct conn *next; /* bucket chain */
};

/* One provider run bound to one registry run (the sink context). */
struct binding {
    struct gw_core *core;
    struct gw_run *run;   /* a reference, dropped when the provider ended */
    struct gw_prun *prun; /* the provider's handle */
    bool paused;          /* the provider was told to pause (ops->flow) */
    struct binding *next;
};

struct perm {
    char id[40];        /* gateway-generated requestId (UUID) */
    struct gw_run *run; /* a reference */
    char *tool;
    json_t *input;        /* owned */
    char received_at[40]; /* ISO-8601 */
    int64_t deadline_ms;  /* monotonic */
    struct perm *next;    /* oldest first */
};

struct gw_core {
    struct gw_outbox ob;
    struct wc_rand rand;
    struct gw_store *store;
    struct gw_registry *reg;
    const struct gw_provider_ops *ops;
    void *provider_self;
    int64_t perm_timeout_ms;
    json_t *disabled; /* provider names without a runtime: {name: true} */
    int64_t (*clock_ms)(void);
    struct conn *conns[CONN_BUCKETS];
    uint64_t next_conn_id;
    struct binding *bindings;
    struct perm *perms;
    int in_provider;  /* depth of provider sink callbacks on the stack */
    size_t flow_high; /* replay bytes per pull */
    size_t hold_cap;  /* bytes held behind one socket's replay */
};

static void hook_native_id(void *ctx, struct gw_run *run);
static void hook_forwarded(void *ctx, struct gw_run *run, const json_t *ev);
static void hook_completed(void *ctx, struct gw_run *run);
static void hook_fanout(void *ctx, struct gw_run *run, uint64_t conn, struct gw_frame *f);
static bool route(void *ctx, uint64_t conn, struct gw_frame *f);
static void pend_clear(struct conn *cn);
static void update_flow(struct gw_core *c);

static const struct gw_registry_hooks registry_hooks = {
    .native_id = hook_native_id,
    .forwarded = hook_forwarded,
    .completed = hook_completed,
    .fanout = hook_fanout,
};

/* A limit from the options: 0 is the default, SIZE_MAX none (0 to the registry and store). */
static size_t limit_or(size_t v, size_t def)
{
    if (v == SIZE_MAX)
        return 0;
    return v ? v : def;
}

static void apply_memory(struct gw_core *c, const struct gw_core_memory *m)
{
    struct gw_retention r = {
        .ring_bytes = limit_or(m->replay_bytes, GW_DEFAULT_REPLAY_BYTES),
        .budget_bytes = limit_or(m->replay_budget, GW_DEFAULT_REPLAY_BUDGET),
        .retain_ms = m->retain_ms < 0 ? 0
                     : m->retain_ms   ? m->retain_ms
                                      : GW_DEFAULT_RETAIN_MS,
        .clock_ms = c->clock_ms,
    };

    gw_registry_set_retention(c->reg, &r);
    gw_store_set_budget(c->store, limit_or(m->store_bytes, GW_DEFAULT_STORE_BYTES));
}

struct gw_core *gw_core_new(const struct gw_core_opts *opts, char **err)
{
    struct gw_core *c = wc_xcalloc(1, sizeof(*c));

    gw_outbox_init(&c->ob);
    wc_rand_init(&c->rand, opts->seed);
    c->store = gw_store_open(opts->db_path ? opts->db_path : ":memory:", err);
    if (!c->store) {
        free(c);
        return NULL;
    }
    /* Same seed, fresh state: same ids. A reopened database: a different stream. */
    wc_rand_init(&c->rand,
                 opts->seed ^ ((uint64_t)(gw_store_opens(c->store) - 1) * 0x9e3779b97f4a7c15ULL));
    c->reg = gw_registry_new(opts->replay_cap ? opts->replay_cap : 5000, &c->ob, &c->rand,
                             &registry_hooks, c);
    c->clock_ms = opts->clock_ms ? opts->clock_ms : wc_now_ms;
    apply_memory(c, &opts->memory);
    c->ops = opts->provider;
    c->provider_self = opts->provider_self;
    /* 0: the default (core.h); the command line takes 1 ms and up only */
    c->perm_timeout_ms = opts->permission_timeout_ms ? opts->permission_timeout_ms : 55000;
    c->disabled = json_object();
    for (const char *const *p = opts->disabled_providers; p && *p; p++)
        json_object_set_new(c->disabled, *p, json_true());
    c->next_conn_id = 1;
    c->flow_high = opts->flow_high ? opts->flow_high : FLOW_HIGH_DEFAULT;
    c->hold_cap = opts->hold_cap ? opts->hold_cap : HOLD_CAP_DEFAULT;
    c->ob.route = route;
    c->ob.route_ctx = c;
    return c;
}

static void perm_free(struct perm *p)
{
    gw_run_unref(p->run);
    free(p->tool);
    json_decref(p->input);
    free(p);
}

void gw_core_free(struct gw_core *c)
{
    struct binding *b, *bn;
    struct perm *p, *pn;

    if (!c)
        return;
    for (b = c->bindings; b; b = bn) {
        bn = b->next;
        if (c->ops)
            c->ops->release(b->prun);
        gw_run_unref(b->run);
        free(b);
    }
    for (p = c->perms; p; p = pn) {
        pn = p->next;
        perm_free(p);
    }
    for (size_t i = 0; i < CONN_BUCKETS; i++) {
        struct conn *cn, *next;
        for (cn = c->conns[i]; cn; cn = next) {
            next = cn->next;
            pend_clear(cn);
            free(cn->user);
            free(cn);
        }
    }
    gw_registry_free(c->reg);
    gw_store_free(c->store);
    gw_outbox_release(&c->ob);
    json_decref(c->disabled);
    free(c);
}

bool gw_core_provider_available(const struct gw_core *c, const char *provider)
{
    return gw_provider_is_known(provider) && !json_object_get(c->disabled, provider);
}

struct gw_outbox *gw_core_outbox(struct gw_core *c)
{
    return &c->ob;
}

struct gw_store *gw_core_store(struct gw_core *c)
{
    return c->store;
}

struct gw_registry *gw_core_registry(struct gw_core *c)
{
    return c->reg;
}

struct wc_rand *gw_core_rand(struct gw_core *c)
{
    return &c->rand;
}

/* --- connections ---------------------------------------------------------------------- */

static struct conn *conn_find(struct gw_core *c, uint64_t id)
{
    for (struct conn *cn = c->conns[id % CONN_BUCKETS]; cn; cn = cn->next) {
        if (cn->id == id)
            return cn;
    }
    return NULL;
}

uint64_t gw_core_conn_open(struct gw_core *c, const char *user, void *glue)
{
    struct conn *cn = wc_xcalloc(1, sizeof(*cn));

    cn->id = c->next_conn_id++;
    cn->user = wc_xstrdup(user ? user : "");
    cn->glue = glue;
    cn->pend_tail = &cn->pend;
    cn->next = c->conns[cn->id % CONN_BUCKETS];
    c->conns[cn->id % CONN_BUCKETS] = cn;
    return cn->id;
}

void gw_core_conn_close(struct gw_core *c, uint64_t id)
{
    struct conn **pp;

    /* R-HB-3: a socket going away never ends a run (the mutant aborts what it watched). */
    if (gw_mutant_on(GW_MUT_DROP_ABORTS_RUN)) {
        struct gw_run *run = gw_registry_first(c->reg), *next;
        for (; run; run = next) {
            next = run->next;
            if (run->current && run->status == GW_RUN_RUNNING && gw_registry_is_attached(run, id))
                gw_core_abort_run(c, run);
        }
    }
    gw_registry_detach_all(c->reg, id);
    for (pp = &c->conns[id % CONN_BUCKETS]; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct conn *cn = *pp;
            *pp = cn->next;
            pend_clear(cn);
            free(cn->user);
            free(cn);
            break;
        }
    }
    update_flow(c); /* a run whose only full socket went away goes on */
}

void *gw_core_conn_glue(struct gw_core *c, uint64_t id)
{
    struct conn *cn = conn_find(c, id);
    return cn ? cn->glue : NULL;
}

const char *gw_core_conn_user(struct gw_core *c, uint64_t id)
{
    struct conn *cn = conn_find(c, id);
    return cn ? cn->user : NULL;
}

void gw_core_send(struct gw_core *c, uint64_t conn, const json_t *v)
{
    gw_outbox_send_json(&c->ob, conn, v);
}

void gw_core_send_user(struct gw_core *c, const char *user, const json_t *v)
{
    struct gw_frame *f;

    /* a frame that failed to build (json_pack on invalid UTF-8) is never sent as "null" */
    if (!v) {
        wc_warn("outbound frame could not be built: dropped");
        return;
    }
    f = gw_frame_from_json(v);

    for (size_t i = 0; i < CONN_BUCKETS; i++) {
        for (struct conn *cn = c->conns[i]; cn; cn = cn->next) {
            if (!user || strcmp(cn->user, user) == 0)
                gw_outbox_send(&c->ob, cn->id, f);
        }
    }
    gw_frame_unref(f);
}

void gw_core_protocol_error(struct gw_core *c, uint64_t conn, const char *code, const char *error,
                            const char *session_id)
{
    gw_core_protocol_error_n(c, conn, code, error, strlen(error), session_id);
}

void gw_core_protocol_error_n(struct gw_core *c, uint64_t conn, const char *code, const char *error,
                              size_t error_len, const char *session_id)
{
    char ts[40];
    json_t *v;

    wc_iso8601_now(ts, sizeof(ts));
    v = json_pack("{s:s, s:s, s:s%, s:o, s:s}", "kind", "protocol_error", "code", code, "error",
                  error, error_len, "sessionId", session_id ? json_string(session_id) : json_null(),
                  "timestamp", ts);
    /* R-IN-3: protocol errors go only to the requesting socket. */
    if (gw_mutant_on(GW_MUT_ERROR_TO_ALL_SOCKETS))
        gw_core_send_user(c, NULL, v);
    else
        gw_core_send(c, conn, v);
    json_decref(v);
}

/* --- sessions ------------------------------------------------------------------------- */

int gw_core_session_for(struct gw_core *c, const char *user, const char *id, struct gw_session *out)
{
    int rc = gw_store_get(c->store, id, out);

    if (rc)
        return rc;
    /* R-MU-1: another user's session behaves as an unknown one. */
    if (user && strcmp(out->owner, user) != 0 && !gw_mutant_on(GW_MUT_CROSS_USER_ACCESS)) {
        gw_session_release(out);
        return WC_ERR_NOTFOUND;
    }
    return WC_OK;
}

struct gw_run *gw_core_run_for(struct gw_core *c, const char *user, const char *id)
{
    struct gw_run *run = gw_registry_current(c->reg, id);

    if (run && user && strcmp(run->owner, user) != 0 && !gw_mutant_on(GW_MUT_CROSS_USER_ACCESS))
        return NULL;
    return run;
}

/* --- registry hooks ------------------------------------------------------------------- */

static json_t *upserted_event(struct gw_core *c, struct gw_run *run)
{
    struct gw_session s;
    char ts[40];
    json_t *project = json_null();
    json_t *session;

    wc_iso8601_now(ts, sizeof(ts));
    session = json_pack("{s:s, s:s, s:i, s:s}", "id", run->session_id, "summary",
                        "Untitled Session", "messageCount", 0, "lastActivity", ts);
    /* R-MAP-5: the session's name and its project (a run's session is never deleted; without
     * its row, the placeholder name and no project) */
    if (gw_store_get(c->store, run->session_id, &s) == WC_OK) {
        const char *slash = strrchr(s.project_path, '/');
        char *pid = wc_xstrdup(s.project_path);
        for (char *p = pid; *p; p++) {
            if (*p == '/')
                *p = '-';
        }
        project = json_pack("{s:s, s:s, s:s, s:s, s:b}", "projectId", pid, "path", s.project_path,
                            "fullPath", s.project_path, "displayName",
                            slash && slash[1] ? slash + 1 : s.project_path, "isStarred", 0);
        free(pid);
        json_object_set_new(session, "summary", json_string(s.name));
        gw_session_release(&s);
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "kind", "session_upserted", "sessionId",
                     run->session_id, "provider", run->writer.provider, "providerSessionId",
                     run->writer.native_id, "session", session, "project", project, "timestamp",
                     ts);
}

static void hook_native_id(void *ctx, struct gw_run *run)
{
    struct gw_core *c = ctx;
    json_t *v;

    if (gw_store_set_native(c->store, run->session_id, run->writer.native_id) != WC_OK)
        wc_warn("cannot record native id for session '%s'", run->session_id);
    v = upserted_event(c, run);
    /* R-MU-2: broadcasts reach every socket of the owner, and only those. */
    gw_core_send_user(c, gw_mutant_on(GW_MUT_BROADCAST_TO_OTHER_USERS) ? NULL : run->owner, v);
    json_decref(v);
}

static void hook_forwarded(void *ctx, struct gw_run *run, const json_t *ev)
{
    struct gw_core *c = ctx;
    json_t *copy;

    if (gw_mutant_on(GW_MUT_HISTORY_HAS_SEQ)) {
        gw_store_add_message(c->store, run->session_id, ev);
        return;
    }
    /* R-REST-4: history has no seq. The frame is already serialised: take seq out and put it
     * back (it is the last key either way) instead of copying the event. */
    copy = json_incref(json_object_get(ev, "seq"));
    json_object_del((json_t *)ev, "seq");
    gw_store_add_message(c->store, run->session_id, ev);
    if (copy)
        json_object_set_new((json_t *)ev, "seq", copy);
}

static struct binding *binding_of(struct gw_core *c, struct gw_run *run)
{
    for (struct binding *b = c->bindings; b; b = b->next) {
        if (b->run == run)
            return b;
    }
    return NULL;
}

static void hook_completed(void *ctx, struct gw_run *run)
{
    struct gw_core *c = ctx;
    struct perm **pp = &c->perms;

    /* A completed run's pending permissions are gone: unlisted, and the provider is told. */
    while (*pp) {
        struct perm *p = *pp;
        struct binding *b;
        if (p->run != run) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        b = binding_of(c, run);
        /* R-PERM-5: a provider still running is told, unless it is the caller (in_provider). */
        if (gw_mutant_on(GW_MUT_PENDING_KEPT_AFTER_END))
            b = NULL;
        if (b && c->in_provider == 0)
            c->ops->permission(b->prun, p->id, false, true, "cancelled");
        perm_free(p);
    }
    update_flow(c); /* a completed run is never held back: its provider may run to its end */
}

/* --- provider sink -------------------------------------------------------------------- */

static void sink_event(void *ctx, json_t *ev)
{
    struct binding *b = ctx;

    b->core->in_provider++;
    gw_registry_emit(b->core->reg, b->run, ev);
    b->core->in_provider--;
}

static void sink_announce(void *ctx, const char *native_id)
{
    struct binding *b = ctx;

    b->core->in_provider++;
    gw_registry_announce(b->core->reg, b->run, native_id);
    b->core->in_provider--;
}

static void sink_permission(void *ctx, const char *tool_name, json_t *input, int64_t timeout_ms)
{
    struct binding *b = ctx;
    struct gw_core *c = b->core;
    struct perm *p = wc_xcalloc(1, sizeof(*p));
    struct perm **tail;
    json_t *ev;

    c->in_provider++;
    wc_rand_uuid(&c->rand, p->id);
    p->run = gw_run_ref(b->run);
    p->tool = wc_xstrdup(tool_name ? tool_name : "");
    p->input = input ? json_deep_copy(input) : json_object();
    wc_iso8601_now(p->received_at, sizeof(p->received_at));
    /* R-PERM-3: the gateway's window, or the provider's if it asks for a shorter one. */
    if (timeout_ms <= 0 || timeout_ms > c->perm_timeout_ms)
        timeout_ms = c->perm_timeout_ms;
    p->deadline_ms = c->clock_ms() + timeout_ms;
    for (tail = &c->perms; *tail; tail = &(*tail)->next)
        ;
    *tail = p;
    ev = json_pack("{s:s, s:s, s:s, s:O}", "kind", "permission_request", "requestId", p->id,
                   "toolName", p->tool, "input", p->input);
    gw_registry_emit(c->reg, b->run, ev);
    c->in_provider--;
}

static void binding_unlink(struct gw_core *c, struct binding *b)
{
    for (struct binding **pp = &c->bindings; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            return;
        }
    }
}

static void sink_ended(void *ctx, int exit_code)
{
    struct binding *b = ctx;
    struct gw_core *c = b->core;
    struct gw_run *run = b->run;

    /* The binding stays listed until it is unlinked below: the completion's hook finds it, and
     * in_provider > 0 keeps it from calling back into the provider that is ending. */
    c->in_provider++;
    run->provider_alive = false;
    run->prun = NULL;
    /* R-TERM-4: a provider that ends without a terminal event still yields one complete. The
     * abort path completes its run itself. */
    if (!run->aborting && !gw_mutant_on(GW_MUT_NO_SYNTHETIC_COMPLETE))
        gw_registry_complete_if_current(c->reg, run, exit_code ? exit_code : 1, false);
    c->in_provider--;
    binding_unlink(c, b);
    c->ops->release(b->prun);
    gw_run_unref(run);
    free(b);
}

static const struct gw_provider_sink provider_sink = {
    .event = sink_event,
    .announce = sink_announce,
    .permission = sink_permission,
    .ended = sink_ended,
};

void gw_core_start_provider(struct gw_core *c, struct gw_run *run, const char *prompt,
                            const char *cwd, json_t *options, const char *resume)
{
    struct gw_provider_args args = {
        .provider = run->writer.provider,
        .app_session_id = run->session_id,
        .prompt = prompt,
        .cwd = cwd,
        .options = options,
        .resume = resume,
    };
    struct binding *b = wc_xcalloc(1, sizeof(*b));
    char *err = NULL;

    b->core = c;
    b->run = gw_run_ref(run);
    b->prun = c->ops ? c->ops->open(c->provider_self, &args, &provider_sink, b, &err) : NULL;
    if (!b->prun) {
        json_t *ev =
            json_pack("{s:s, s:s}", "kind", "error", "content", err ? err : "provider unavailable");
        wc_warn("session '%s': cannot start provider: %s", run->session_id, err ? err : "?");
        free(err);
        gw_registry_emit(c->reg, run, ev);
        gw_registry_complete_if_current(c->reg, run, 1, false);
        gw_run_unref(run);
        free(b);
        return;
    }
    run->prun = b->prun;
    run->provider_alive = true;
    b->next = c->bindings;
    c->bindings = b;
    update_flow(c); /* the sender's socket may be full already */
    /* May emit, and even end (freeing b), before it returns. */
    c->ops->start(b->prun);
}

void gw_core_abort_run(struct gw_core *c, struct gw_run *run)
{
    bool found = false;

    gw_run_ref(run);
    run->aborting = true;
    /* R-ABORT-4: stop the provider even before it announced its native id (CloudCLI skips the
     * abort then, and the provider runs on). */
    if (run->provider_alive && run->prun &&
        !(gw_mutant_on(GW_MUT_ABORT_KEEPS_PROVIDER) && !run->writer.native_id))
        found = c->ops->abort(run->prun);
    run->aborting = false;
    /* R-ABORT-1/R-ABORT-2: exactly this run, once. */
    gw_registry_complete_if_current(c->reg, run, found ? 0 : 1,
                                    !gw_mutant_on(GW_MUT_ABORT_NOT_FLAGGED));
    gw_run_unref(run);
}

/* --- permissions ---------------------------------------------------------------------- */

json_t *gw_core_pending_permissions(struct gw_core *c, struct gw_run *run)
{
    json_t *arr = json_array();

    if (!run || gw_mutant_on(GW_MUT_PENDING_NOT_LISTED))
        return arr;
    for (struct perm *p = c->perms; p; p = p->next) {
        json_t *input;
        if (p->run != run || run->status != GW_RUN_RUNNING)
            continue;
        /* R-MAP-2: the provider's input, remapped as its permission_request event was (the
         * native id may have been announced since) */
        input = json_deep_copy(p->input);
        if (!gw_writer_remap(&run->writer, input)) {
            json_decref(input);
            input = json_object();
        }
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:s, s:s}", "requestId", p->id,
                                             "toolName", p->tool, "input", input, "sessionId",
                                             run->session_id, "receivedAt", p->received_at));
    }
    return arr;
}

/* Unlink and return the pending permission with that id (owned by user unless NULL). */
static struct perm *perm_take(struct gw_core *c, const char *user, const char *request_id)
{
    for (struct perm **pp = &c->perms; *pp; pp = &(*pp)->next) {
        struct perm *p = *pp;
        if (strcmp(p->id, request_id) != 0)
            continue;
        if (user && strcmp(p->run->owner, user) != 0 && !gw_mutant_on(GW_MUT_CROSS_USER_ACCESS))
            return NULL;
        *pp = p->next;
        return p;
    }
    return NULL;
}

void gw_core_permission_response(struct gw_core *c, const char *user, const char *request_id,
                                 bool allow)
{
    struct perm *p = perm_take(c, user, request_id);
    struct binding *b;

    if (!p)
        return; /* R-PERM-2: unknown ids are ignored */
    b = binding_of(c, p->run);
    if (gw_mutant_on(GW_MUT_PERMISSION_ALWAYS_DENY))
        allow = false;
    if (b)
        c->ops->permission(b->prun, p->id, allow, false, NULL);
    perm_free(p);
}

void gw_core_tick(struct gw_core *c, int64_t now_ms)
{
    struct perm *p;

    /* Completed runs past their retention (CloudCLI's 5 minutes) are released. */
    gw_registry_expire(c->reg, now_ms);
    if (gw_mutant_on(GW_MUT_PERMISSION_NO_TIMEOUT))
        return;
    /* Oldest first; each expiry may change the list, so restart the scan. */
    for (p = c->perms; p;) {
        struct binding *b;
        json_t *ev;
        if (p->deadline_ms > now_ms) {
            p = p->next;
            continue;
        }
        p = perm_take(c, NULL, p->id);
        /* R-PERM-3: a timeout is announced, and the provider is told. */
        ev = json_pack("{s:s, s:s, s:s}", "kind", "permission_cancelled", "requestId", p->id,
                       "reason", "timeout");
        gw_registry_emit(c->reg, p->run, ev);
        b = binding_of(c, p->run);
        if (b)
            c->ops->permission(b->prun, p->id, false, true, "timeout");
        perm_free(p);
        p = c->perms;
    }
}

void gw_core_flush(struct gw_core *c)
{
    /* R-RES-2: what a client was told is durable before the next burst, so a crash keeps it
     * (the mutant keeps the batch open until gw_store_free, which only a clean stop reaches). */
    if (gw_mutant_on(GW_MUT_COMMIT_AT_EXIT))
        return;
    gw_store_flush(c->store);
}

int64_t gw_core_next_deadline(struct gw_core *c)
{
    int64_t next = gw_registry_next_expiry(c->reg);

    if (gw_mutant_on(GW_MUT_PERMISSION_NO_TIMEOUT))
        return next;
    for (struct perm *p = c->perms; p; p = p->next) {
        if (next < 0 || p->deadline_ms < next)
            next = p->deadline_ms;
    }
    return next;
}

/* --- flow control (issue 18, R-LIMIT-5) ----------------------------------------------- */

static void pend_pop(struct conn *cn)
{
    struct pend *p = cn->pend;

    cn->pend = p->next;
    if (!cn->pend)
        cn->pend_tail = &cn->pend;
    if (p->f)
        cn->held_bytes -= p->f->len;
    gw_frame_unref(p->f);
    gw_run_unref(p->run);
    free(p);
}

static void pend_clear(struct conn *cn)
{
    while (cn->pend)
        pend_pop(cn);
}

static struct pend *pend_append(struct conn *cn)
{
    struct pend *p = wc_xcalloc(1, sizeof(*p));

    *cn->pend_tail = p;
    cn->pend_tail = &p->next;
    return p;
}

static bool conn_has_cursor(const struct conn *cn, const struct gw_run *run)
{
    for (const struct pend *p = cn->pend; p; p = p->next) {
        if (!p->f && p->run == run)
            return true;
    }
    return false;
}

/*
 * The socket cannot keep up: its replay position left the ring (a faster socket keeps the run
 * going), or what waits behind its replay passed the cap. Like a send-queue overflow
 * (R-LIMIT-2), it is closed; it may subscribe again with its cursor.
 */
static void conn_overflow(struct gw_core *c, struct conn *cn, const char *why)
{
    wc_info("connection %llu: %s, closed", (unsigned long long)cn->id, why);
    pend_clear(cn);
    /* R-LIMIT-5: a socket that is closing takes no more events, and does not keep its runs'
     * providers going while the sockets that read are full (its close may wait long behind a
     * reader that stopped). It stays attached until the glue reports it gone: this may run
     * inside a fan-out over the run's sockets. */
    cn->closing = true;
    gw_outbox_close(&c->ob, cn->id, CLOSE_TRY_AGAIN);
    update_flow(c);
}

/* The outbox's route: while cn has a backlog, a new frame for it waits at its end. */
static bool route(void *ctx, uint64_t conn, struct gw_frame *f)
{
    struct gw_core *c = ctx;
    struct conn *cn = conn_find(c, conn);

    if (cn && cn->closing)
        return true; /* dropped: the socket is closing */
    if (!cn || !cn->pend)
        return false;
    if (cn->held_bytes + f->len > c->hold_cap) {
        conn_overflow(c, cn, "too much held behind its replay");
        return true; /* dropped: the socket is closing */
    }
    pend_append(cn)->f = gw_frame_ref(f);
    cn->held_bytes += f->len;
    return true;
}

/* A live event of run for conn: a socket being replayed this run gets it from the ring. */
static void hook_fanout(void *ctx, struct gw_run *run, uint64_t conn, struct gw_frame *f)
{
    struct gw_core *c = ctx;
    struct conn *cn = conn_find(c, conn);

    if (cn && conn_has_cursor(cn, run))
        return;
    gw_outbox_send(&c->ob, conn, f);
}

/*
 * Move what waits for cn to the outbox, in order, until about budget bytes went (at least one
 * frame when there is one). A cursor that caught up with its run is done: the run's next live
 * event reaches the socket through the fan-out.
 */
static void conn_pull(struct gw_core *c, struct conn *cn, size_t budget)
{
    size_t sent = 0;

    while (cn->pend && (sent == 0 || sent < budget)) {
        struct pend *p = cn->pend;
        const json_t *ev;
        struct gw_frame *f;

        if (p->f) {
            f = gw_frame_ref(p->f);
            pend_pop(cn);
            gw_outbox_send_now(&c->ob, cn->id, f);
            sent += f->len;
            gw_frame_unref(f);
            continue;
        }
        ev = gw_run_buffered_after(p->run, p->sent);
        if (!ev) {
            pend_pop(cn); /* caught up */
            continue;
        }
        /* R-SUB-3: no gap. The ring dropped the next event while this socket lagged behind. */
        if (gw_run_first_buffered(p->run) > p->sent + 1) {
            conn_overflow(c, cn, "replay fell behind the replay buffer");
            return;
        }
        p->sent = json_integer_value(json_object_get(ev, "seq"));
        /* R-SEQ-3: the stored event itself */
        f = gw_frame_from_json(ev);
        gw_outbox_send_now(&c->ob, cn->id, f);
        sent += f->len;
        gw_frame_unref(f);
    }
}

void gw_core_replay(struct gw_core *c, struct gw_run *run, uint64_t conn, int64_t last_seq)
{
    struct conn *cn = conn_find(c, conn);
    struct pend *p;
    int64_t from, first;

    if (!cn)
        return; /* not a socket of the core's: nothing to stream to */
    /* The planted replay bugs, and the mutant that queues the whole replay at once. */
    if (gw_mutant_on(GW_MUT_REPLAY_QUEUED_WHOLE) || gw_mutant_on(GW_MUT_REPLAY_FRESH_IDS) ||
        gw_mutant_on(GW_MUT_TRUNCATION_RENUMBERS)) {
        gw_registry_replay(c->reg, run, conn, last_seq);
        return;
    }
    /* the history_truncated, if any, is routed: behind what already waits for the socket */
    from = gw_registry_replay_start(c->reg, run, conn, last_seq);
    first = gw_run_first_buffered(run);
    if (from + 1 < first)
        from = first - 1; /* announced (R-CAP-2); the replay starts at the oldest kept */
    p = pend_append(cn);
    p->run = gw_run_ref(run);
    p->sent = from;
    if (!cn->full)
        conn_pull(c, cn, c->flow_high);
    if (cn->pend)
        gw_outbox_kick(&c->ob, conn);
    update_flow(c);
}

void gw_core_conn_set_full(struct gw_core *c, uint64_t conn, bool full)
{
    struct conn *cn = conn_find(c, conn);

    if (!cn || cn->full == full)
        return;
    cn->full = full;
    update_flow(c);
}

bool gw_core_conn_has_backlog(struct gw_core *c, uint64_t conn)
{
    struct conn *cn = conn_find(c, conn);

    return cn && cn->pend;
}

void gw_core_conn_drain(struct gw_core *c, uint64_t conn, size_t budget)
{
    struct conn *cn = conn_find(c, conn);

    if (!cn || !cn->pend)
        return;
    conn_pull(c, cn, budget);
    update_flow(c);
}

/* Paused: the run has a socket, and every one of them is full or behind its replay. */
static bool run_should_pause(struct gw_core *c, const struct gw_run *run)
{
    size_t n = 0;

    for (size_t i = 0; i < CONN_BUCKETS; i++) {
        for (struct conn *cn = c->conns[i]; cn; cn = cn->next) {
            if ((cn->closing && !gw_mutant_on(GW_MUT_CLOSING_KEEPS_FLOW)) ||
                !gw_run_is_attached(run, cn->id))
                continue;
            if (!cn->full && !cn->pend)
                return false;
            n++;
        }
    }
    return n > 0;
}

bool gw_core_run_is_paused(struct gw_core *c, struct gw_run *run)
{
    struct binding *b = binding_of(c, run);

    return b && b->paused;
}

/* Tell each provider whose run changed between paused and not (R-LIMIT-5). */
static void update_flow(struct gw_core *c)
{
    if (gw_mutant_on(GW_MUT_PROVIDER_NEVER_PAUSED))
        return;
    for (struct binding *b = c->bindings; b; b = b->next) {
        bool paused = b->run->status == GW_RUN_RUNNING && run_should_pause(c, b->run);
        if (paused == b->paused)
            continue;
        b->paused = paused;
        if (c->ops && c->ops->flow)
            c->ops->flow(b->prun, paused);
    }
}
