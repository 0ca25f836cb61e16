/* store.c: sessions and history in SQLite (see store.h). */
#include <string.h>

#include <sqlite3.h>

#include "mutants.h"
#include "store.h"
#include "wc_err.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"

#include "wc_banned.h"

struct gw_store {
    sqlite3 *db;
    int64_t opens;         /* how many times this database was opened, this time included */
    sqlite3_stmt *add_msg; /* cached: INSERT INTO messages */
    bool in_txn;           /* history appends are batched until gw_store_flush */
    size_t budget;         /* history bytes kept (0: no limit) */
    size_t bytes;          /* history bytes held: JSON text plus session id of every message */
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS sessions ("
    "  id TEXT PRIMARY KEY, owner TEXT NOT NULL, provider TEXT NOT NULL,"
    "  project_path TEXT NOT NULL, name TEXT NOT NULL, native_id TEXT);"
    "CREATE TABLE IF NOT EXISTS messages ("
    "  n INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, body TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS messages_by_session ON messages(session_id, n);"
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "INSERT INTO meta (k, v) VALUES ('opens', 1) ON CONFLICT(k) DO UPDATE SET v = v + 1;";

/* The statements, each prepared in one line of code below (so that a line-coverage map sees the
 * call and its test as one line). */
static const char sql_opens[] = "SELECT v FROM meta WHERE k = 'opens'";
static const char sql_get[] =
    "SELECT id, owner, provider, project_path, name, native_id FROM sessions WHERE id = ?1";
static const char sql_create[] =
    "INSERT INTO sessions (id, owner, provider, project_path, name) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_set_native[] = "UPDATE sessions SET native_id = ?2 WHERE id = ?1";
static const char sql_add_msg[] = "INSERT INTO messages (session_id, body) VALUES (?1, ?2)";
static const char sql_count[] = "SELECT count(*) FROM messages WHERE session_id = ?1";
/* Newest first from the tail, then reversed so the page reads oldest first. A negative LIMIT is
 * no limit to SQLite. */
static const char sql_page[] =
    "SELECT body FROM messages WHERE session_id = ?1 ORDER BY n DESC LIMIT ?2 OFFSET ?3";
/* What a message costs against the budget (length() of TEXT counts characters, of a BLOB
 * bytes). */
#define ROW_BYTES "length(CAST(body AS BLOB)) + length(CAST(session_id AS BLOB))"
static const char sql_bytes[] = "SELECT coalesce(sum(" ROW_BYTES "), 0) FROM messages";
/* Sessions with history, the least recently active (oldest newest message) first. */
static const char sql_lru[] = "SELECT session_id FROM messages GROUP BY session_id ORDER BY max(n)";
static const char sql_rows[] =
    "SELECT n, " ROW_BYTES " FROM messages WHERE session_id = ?1 AND n < ?2 ORDER BY n";
static const char sql_drop_upto[] = "DELETE FROM messages WHERE session_id = ?1 AND n <= ?2";

static int io_error(struct gw_store *st, const char *what)
{
    return wc_error(WC_ERR_IO, "store: %s: %s", what, sqlite3_errmsg(st->db));
}

static int64_t read_opens(struct gw_store *st)
{
    sqlite3_stmt *stmt;
    int64_t n = 1;

    if (sqlite3_prepare_v2(st->db, sql_opens, -1, &stmt, NULL) != SQLITE_OK)
        return 1;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

/* The first column of the first row of a query without parameters, or 0. */
static int64_t read_int(struct gw_store *st, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t n = 0;

    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

int64_t gw_store_opens(const struct gw_store *st)
{
    return st->opens;
}

struct gw_store *gw_store_open(const char *path, char **err)
{
    struct gw_store *st = wc_xcalloc(1, sizeof(*st));
    char *msg = NULL;

    /* R-RES-2: a restart must find the sessions again. */
    if (gw_mutant_on(GW_MUT_NO_PERSIST))
        path = ":memory:";
    if (sqlite3_open(path, &st->db) != SQLITE_OK) {
        *err = wc_xasprintf("cannot open database '%s': %s", path, sqlite3_errmsg(st->db));
        goto out_free;
    }
    sqlite3_busy_timeout(st->db, 2000);
    if (sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        *err = wc_xasprintf("cannot set up database '%s': %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        goto out_free;
    }
    st->opens = read_opens(st);
    st->bytes = (size_t)read_int(st, sql_bytes);
    return st;

out_free:
    sqlite3_close(st->db);
    free(st);
    return NULL;
}

void gw_store_flush(struct gw_store *st)
{
    if (!st->in_txn)
        return;
    st->in_txn = false;
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        io_error(st, "commit");
}

void gw_store_free(struct gw_store *st)
{
    if (!st)
        return;
    gw_store_flush(st);
    sqlite3_finalize(st->add_msg);
    sqlite3_close(st->db);
    free(st);
}

void gw_session_release(struct gw_session *s)
{
    free(s->id);
    free(s->owner);
    free(s->provider);
    free(s->project_path);
    free(s->name);
    free(s->native_id);
    memset(s, 0, sizeof(*s));
}

static char *col_dup(sqlite3_stmt *stmt, int col)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    return t ? wc_xstrdup((const char *)t) : NULL;
}

int gw_store_get(struct gw_store *st, const char *id, struct gw_session *out)
{
    sqlite3_stmt *stmt;
    int rc;

    memset(out, 0, sizeof(*out));
    if (sqlite3_prepare_v2(st->db, sql_get, -1, &stmt, NULL) != SQLITE_OK)
        return io_error(st, "get");
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        out->id = col_dup(stmt, 0);
        out->owner = col_dup(stmt, 1);
        out->provider = col_dup(stmt, 2);
        out->project_path = col_dup(stmt, 3);
        out->name = col_dup(stmt, 4);
        out->native_id = col_dup(stmt, 5);
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_ROW)
        return WC_OK;
    return rc == SQLITE_DONE ? WC_ERR_NOTFOUND : io_error(st, "get");
}

int gw_store_create(struct gw_store *st, struct wc_rand *rand, const char *owner,
                    const char *provider, const char *project_path, const char *name,
                    struct gw_session *out)
{
    char id[40];
    sqlite3_stmt *stmt;
    int rc = SQLITE_CONSTRAINT;

    if (sqlite3_prepare_v2(st->db, sql_create, -1, &stmt, NULL) != SQLITE_OK)
        return io_error(st, "create");
    /* A seeded PRNG repeats itself after a restart on the same db: skip ids already taken. */
    for (int tries = 0; tries < 1000 && rc == SQLITE_CONSTRAINT; tries++) {
        wc_rand_uuid(rand, id);
        sqlite3_reset(stmt);
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(stmt, 2, owner, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(stmt, 3, provider, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(stmt, 4, project_path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(stmt, 5, name, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return io_error(st, "create");
    return gw_store_get(st, id, out);
}

int gw_store_set_native(struct gw_store *st, const char *id, const char *native_id)
{
    sqlite3_stmt *stmt;
    int rc;

    if (sqlite3_prepare_v2(st->db, sql_set_native, -1, &stmt, NULL) != SQLITE_OK)
        return io_error(st, "set native id");
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, native_id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return io_error(st, "set native id");
    return sqlite3_changes(st->db) ? WC_OK : WC_ERR_NOTFOUND;
}

void gw_store_set_budget(struct gw_store *st, size_t bytes)
{
    st->budget = bytes;
}

size_t gw_store_bytes(const struct gw_store *st)
{
    return st->bytes;
}

/*
 * Drop the oldest messages of session id (those before keep) until `need` bytes are freed or
 * none is left. Returns the bytes freed.
 */
static size_t prune_session(struct gw_store *st, const char *id, int64_t keep, size_t need)
{
    sqlite3_stmt *stmt;
    size_t freed = 0;
    int64_t upto = -1;

    if (sqlite3_prepare_v2(st->db, sql_rows, -1, &stmt, NULL) != SQLITE_OK) {
        io_error(st, "prune");
        return 0;
    }
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, keep);
    while (freed < need && sqlite3_step(stmt) == SQLITE_ROW) {
        upto = sqlite3_column_int64(stmt, 0);
        freed += (size_t)sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
    if (upto < 0)
        return 0;
    if (sqlite3_prepare_v2(st->db, sql_drop_upto, -1, &stmt, NULL) != SQLITE_OK) {
        io_error(st, "prune");
        return 0;
    }
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, upto);
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        io_error(st, "prune");
        freed = 0;
    }
    sqlite3_finalize(stmt);
    return freed;
}

/*
 * Over the budget: prune down to 90% of it (so that a flood prunes once per tenth of the
 * budget, not at every append), the least recently active sessions first (store.h). The
 * message keep (just appended) stays. One scan for the order, then indexed deletes.
 */
static void prune(struct gw_store *st, const char *writer, int64_t keep)
{
    size_t target = st->budget - st->budget / 10;
    sqlite3_stmt *stmt;
    json_t *order = json_array();
    size_t i;
    json_t *e;

    if (sqlite3_prepare_v2(st->db, sql_lru, -1, &stmt, NULL) != SQLITE_OK) {
        io_error(st, "prune");
        json_decref(order);
        return;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW)
        json_array_append_new(order, json_string((const char *)sqlite3_column_text(stmt, 0)));
    sqlite3_finalize(stmt);
    json_array_foreach(order, i, e)
    {
        const char *id = json_string_value(e);
        size_t freed;

        if (st->bytes <= target)
            break;
        /* R-REST-4 pages over what is left: a session loses a prefix of its history only. */
        freed =
            prune_session(st, id, strcmp(id, writer) == 0 ? keep : INT64_MAX, st->bytes - target);
        st->bytes -= freed < st->bytes ? freed : st->bytes;
    }
    json_decref(order);
}

int gw_store_add_message(struct gw_store *st, const char *id, const json_t *msg)
{
    char *body = wc_json_compact(msg);
    size_t cost;
    int rc;

    /* One transaction per burst: a flood of events must not cost a commit each. */
    if (!st->in_txn) {
        if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
            free(body);
            return io_error(st, "begin");
        }
        st->in_txn = true;
    }
    if (!st->add_msg &&
        sqlite3_prepare_v2(st->db, sql_add_msg, -1, &st->add_msg, NULL) != SQLITE_OK) {
        free(body);
        return io_error(st, "add message");
    }
    cost = strlen(body) + strlen(id);
    sqlite3_reset(st->add_msg);
    sqlite3_bind_text(st->add_msg, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st->add_msg, 2, body, -1, free);
    rc = sqlite3_step(st->add_msg);
    sqlite3_clear_bindings(st->add_msg);
    if (rc != SQLITE_DONE)
        return io_error(st, "add message");
    st->bytes += cost;
    if (st->budget && st->bytes > st->budget)
        prune(st, id, sqlite3_last_insert_rowid(st->db));
    return WC_OK;
}

static int64_t count_messages(struct gw_store *st, const char *id)
{
    sqlite3_stmt *stmt;
    int64_t n = 0;

    if (sqlite3_prepare_v2(st->db, sql_count, -1, &stmt, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

json_t *gw_store_messages(struct gw_store *st, const char *id, int64_t limit, int64_t offset,
                          int64_t *total)
{
    json_t *arr = json_array();
    sqlite3_stmt *stmt;

    *total = count_messages(st, id);
    if (sqlite3_prepare_v2(st->db, sql_page, -1, &stmt, NULL) != SQLITE_OK) {
        io_error(st, "messages");
        return arr;
    }
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, limit);
    sqlite3_bind_int64(stmt, 3, offset);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *body = (const char *)sqlite3_column_text(stmt, 0);
        json_t *m = body ? json_loads(body, 0, NULL) : NULL;
        if (m)
            json_array_insert_new(arr, 0, m);
    }
    sqlite3_finalize(stmt);
    return arr;
}
