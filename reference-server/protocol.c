/* protocol.c: inbound frame validation and dispatch (see protocol.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mutants.h"
#include "protocol.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"

#include "wc_banned.h"

/* Length of the JS white space / line terminator at s, or 0. */
static size_t js_space_len(const unsigned char *s)
{
    unsigned cp;
    size_t n;

    if (*s == ' ' || (*s >= 0x09 && *s <= 0x0d))
        return 1;
    if (s[0] == 0xc2 && s[1] == 0xa0)
        return 2; /* U+00A0 */
    if (s[0] < 0xe0 || s[0] >= 0xf0 || !s[1] || !s[2])
        return 0;
    cp = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
    n = 3;
    if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
        cp == 0x202f || cp == 0x205f || cp == 0x3000 || cp == 0xfeff)
        return n;
    return 0;
}

char *gw_js_trim(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *q, *last;
    size_t n;

    while ((n = js_space_len(p)) > 0)
        p += n;
    /*
     * Scan forward, remembering the end of the last byte that is not part of a space. A UTF-8
     * continuation byte never starts a space, so a character's bytes are passed one at a time.
     */
    last = p;
    for (q = p; *q;) {
        n = js_space_len(q);
        if (n) {
            q += n;
            continue;
        }
        last = ++q;
    }
    return wc_xstrndup((const char *)p, (size_t)(last - p));
}

int64_t gw_protocol_last_seq(const json_t *v)
{
    double d;

    if (json_is_integer(v))
        return json_integer_value(v) < 0 ? 0 : json_integer_value(v);
    if (json_is_real(v)) {
        /* Finite (jansson holds no NaN or infinity); the conversion truncates, which for d >= 0
         * is the floor, and -1 < d < 0 is clamped like any negative value. */
        d = json_real_value(v);
        if (d < 0)
            return 0;
        return d > 9.0e18 ? INT64_MAX : (int64_t)d;
    }
    /* R-SUB-5: numeric strings are not numbers. */
    if (gw_mutant_on(GW_MUT_LASTSEQ_PARSES_STRINGS) && json_is_string(v)) {
        char *end;
        d = strtod(json_string_value(v), &end);
        if (end != json_string_value(v) && isfinite(d) && d > 0)
            return (int64_t)floor(d);
    }
    return 0;
}

/*
 * The string member key of obj, or NULL when it is absent, not a string, or holds U+0000
 * (parse_object allows NULs: a C string would stop at the NUL and "<id>\u0000x" would name
 * <id>). Issue 18: such a type or id is invalid, never cut short. Borrowed from obj.
 */
static const char *str_member(const json_t *obj, const char *key)
{
    const char *s = wc_json_str(obj, key);

    if (s && strlen(s) != json_string_length(json_object_get(obj, key)) &&
        !gw_mutant_on(GW_MUT_NUL_TRUNCATES_IDS))
        return NULL;
    return s;
}

/* readRequiredSessionId: a trimmed non-empty string without a NUL, or NULL. New string. */
static char *required_session_id(const json_t *msg)
{
    const char *raw = str_member(msg, "sessionId");
    char *id;

    if (!raw)
        return NULL;
    if (gw_mutant_on(GW_MUT_WHITESPACE_ID_NOT_TRIMMED))
        return *raw ? wc_xstrdup(raw) : NULL;
    id = gw_js_trim(raw);
    if (!*id) {
        free(id);
        return NULL;
    }
    return id;
}

static void send_error_fmt(struct gw_core *c, uint64_t conn, const char *code, const char *sid,
                           char *text)
{
    gw_core_protocol_error(c, conn, code, text, sid);
    free(text);
}

/*
 * The options the provider gets: the client's, with cwd/projectPath/sessionId/resume forced.
 * *cwd points into the result (borrowed, valid as long as the result).
 */
static json_t *provider_options(const json_t *msg, const struct gw_session *s, const char **cwd)
{
    json_t *client = json_object_get(msg, "options");
    json_t *opts = json_is_object(client) ? json_deep_copy(client) : json_object();
    const char *client_cwd = wc_json_str(opts, "cwd");

    /* R-TRUST-1: the working directory is the session's projectPath, never the client's. */
    if (!client_cwd || !gw_mutant_on(GW_MUT_CWD_FROM_CLIENT))
        json_object_set_new(opts, "cwd", json_string(s->project_path));
    *cwd = wc_json_str(opts, "cwd");
    json_object_set_new(opts, "projectPath", json_string(s->project_path));
    json_object_set_new(opts, "resume", json_boolean(s->native_id != NULL));
    if (s->native_id)
        json_object_set_new(opts, "sessionId", json_string(s->native_id));
    else
        json_object_del(opts, "sessionId");
    return opts;
}

static void user_history_row(struct gw_core *c, const struct gw_session *s, const char *content)
{
    char uuid[40];
    char ts[40];
    char *id;
    json_t *row;

    wc_rand_uuid(gw_core_rand(c), uuid);
    wc_iso8601_now(ts, sizeof(ts));
    id = wc_xasprintf("text_%s", uuid);
    /* R-REST-4: no two messages of a session share an id. */
    if (gw_mutant_on(GW_MUT_HISTORY_PROMPT_ID_REUSED)) {
        free(id);
        id = wc_xasprintf("text_%s", s->id);
    }
    row =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "sessionId", s->id, "timestamp",
                  ts, "provider", s->provider, "kind", "text", "role", "user", "content", content);
    gw_store_add_message(gw_core_store(c), s->id, row);
    json_decref(row);
    free(id);
}

static void handle_send(struct gw_core *c, uint64_t conn, const char *user, const json_t *msg)
{
    char *sid = required_session_id(msg);
    struct gw_session s;
    struct gw_run *run;
    const char *content, *cwd;
    json_t *opts;
    int rc;

    if (!sid) {
        gw_core_protocol_error(c, conn, "SESSION_ID_REQUIRED", "chat.send requires a sessionId.",
                               NULL);
        return;
    }
    if (gw_core_session_for(c, user, sid, &s) != WC_OK) {
        if (gw_mutant_on(GW_MUT_WRONG_NOT_FOUND_TEXT))
            send_error_fmt(c, conn, "SESSION_NOT_FOUND", sid,
                           wc_xasprintf("Session %s not found.", sid));
        else
            send_error_fmt(c, conn, "SESSION_NOT_FOUND", sid,
                           wc_xasprintf("Session \"%s\" was not found. Create it via POST "
                                        "/api/providers/sessions first.",
                                        sid));
        free(sid);
        return;
    }
    if (!gw_core_provider_available(c, s.provider) &&
        !gw_mutant_on(GW_MUT_UNAVAILABLE_PROVIDER_RUNS)) {
        send_error_fmt(c, conn, "UNSUPPORTED_PROVIDER", sid,
                       wc_xasprintf("Provider \"%s\" is not available.", s.provider));
        goto out;
    }
    rc = gw_registry_start_run(gw_core_registry(c), s.id, s.owner, s.provider, s.native_id, conn,
                               &run);
    if (rc != WC_OK) {
        /* R-BUSY-1: the running run is not disturbed. */
        send_error_fmt(c, conn, "RUN_IN_PROGRESS", sid,
                       wc_xasprintf("Session \"%s\" already has a run in progress.", sid));
        goto out;
    }
    if (gw_mutant_on(GW_MUT_SEND_ACK)) {
        json_t *ack = json_pack("{s:s, s:s}", "kind", "chat_ack", "sessionId", s.id);
        gw_core_send(c, conn, ack);
        json_decref(ack);
    }
    content = wc_json_str(msg, "content");
    if (!content)
        content = "";
    user_history_row(c, &s, content);
    opts = provider_options(msg, &s, &cwd);
    /* R-RES-1: the provider resumes the native id announced by the session's earlier run. */
    gw_core_start_provider(c, run, content, cwd, opts,
                           gw_mutant_on(GW_MUT_NO_RESUME) ? NULL : s.native_id);
    json_decref(opts);
out:
    gw_session_release(&s);
    free(sid);
}

static void handle_abort(struct gw_core *c, uint64_t conn, const char *user, const json_t *msg)
{
    char *sid = required_session_id(msg);
    struct gw_run *run;

    if (!sid) {
        gw_core_protocol_error(c, conn, "SESSION_ID_REQUIRED", "chat.abort requires a sessionId.",
                               NULL);
        return;
    }
    run = gw_core_run_for(c, user, sid);
    if (!run || run->status != GW_RUN_RUNNING) {
        /* R-ABORT-3 */
        if (!gw_mutant_on(GW_MUT_ABORT_SILENT_WHEN_IDLE))
            send_error_fmt(c, conn, "NO_ACTIVE_RUN", sid,
                           wc_xasprintf("Session \"%s\" has no active run.", sid));
        free(sid);
        return;
    }
    gw_core_abort_run(c, run);
    free(sid);
}

static void subscribe_one(struct gw_core *c, uint64_t conn, const char *user, const json_t *t)
{
    const char *raw = str_member(t, "sessionId");
    char *sid;
    struct gw_run *run;
    bool processing, replay;
    int64_t last_seq, run_last_seq;
    json_t *ack;
    char ts[40];

    if (!json_is_object(t) || !raw)
        return;
    sid = gw_js_trim(raw);
    if (!*sid)
        goto out;
    last_seq = gw_protocol_last_seq(json_object_get(t, "lastSeq"));
    run = gw_core_run_for(c, user, sid);
    if (!run && gw_mutant_on(GW_MUT_SUBSCRIBE_SKIPS_UNKNOWN))
        goto out;
    processing = run && run->status == GW_RUN_RUNNING;
    replay = processing || (run && gw_mutant_on(GW_MUT_REPLAY_COMPLETED_RUN));
    if (gw_mutant_on(GW_MUT_NO_REPLAY))
        replay = false;
    /* R-SUB-6: the subscriber receives the rest of the run. */
    if (processing && !gw_mutant_on(GW_MUT_SUBSCRIBE_NO_ATTACH))
        gw_registry_attach(gw_core_registry(c), run, conn);
    if (replay && gw_mutant_on(GW_MUT_REPLAY_BEFORE_ACK))
        gw_registry_replay(gw_core_registry(c), run, conn, last_seq);
    wc_iso8601_now(ts, sizeof(ts));
    run_last_seq = run ? run->last_seq : 0;
    ack = json_pack("{s:s, s:s, s:b, s:I, s:o, s:s}", "kind", "chat_subscribed", "sessionId", sid,
                    "isProcessing", processing, "lastSeq", (json_int_t)run_last_seq,
                    "pendingPermissions", gw_core_pending_permissions(c, run), "timestamp", ts);
    gw_core_send(c, conn, ack);
    json_decref(ack);
    /* R-SUB-2: ack first, then the replay, all before any live event (R-LIMIT-5: the replay is
     * streamed as the socket drains; what else comes for it waits behind). */
    if (replay && !gw_mutant_on(GW_MUT_REPLAY_BEFORE_ACK))
        gw_core_replay(c, run, conn, last_seq);
out:
    free(sid);
}

static void handle_subscribe(struct gw_core *c, uint64_t conn, const char *user, const json_t *msg)
{
    json_t *sessions = json_object_get(msg, "sessions");
    size_t i;
    json_t *t;

    if (!json_is_array(sessions))
        return; /* ignored silently (CloudCLI) */
    json_array_foreach(sessions, i, t) subscribe_one(c, conn, user, t);
}

static void handle_permission_response(struct gw_core *c, uint64_t conn, const char *user,
                                       const json_t *msg)
{
    const char *rid = str_member(msg, "requestId");

    if (gw_mutant_on(GW_MUT_PERMISSION_RESPONSE_ACKS)) {
        json_t *ack = json_pack("{s:s, s:s?}", "kind", "permission_response_ack", "requestId", rid);
        gw_core_send(c, conn, ack);
        json_decref(ack);
    }
    if (!rid || !*rid)
        return;
    gw_core_permission_response(c, user, rid, gw_json_truthy(json_object_get(msg, "allow")));
}

/*
 * A copy of the JSON text data with every number token whose value overflows a double (1e400,
 * -1e999) replaced by `null`, padded with blanks to the token's length. JSON.parse reads such a
 * number as +-Infinity, which no field accepts as a number (R-SUB-5: not finite, so lastSeq 0) and
 * JSON.stringify writes as null; jansson refuses the whole text instead. Strings are skipped.
 */
static char *null_infinite_numbers(const char *data, size_t len)
{
    char *out = wc_xmalloc(len + 1);
    size_t i = 0;

    memcpy(out, data, len);
    out[len] = '\0';
    while (i < len) {
        if (out[i] == '"') {
            for (i++; i < len && out[i] != '"'; i++) {
                if (out[i] == '\\')
                    i++;
            }
            i++;
            continue;
        }
        if (out[i] == '-' || (out[i] >= '0' && out[i] <= '9')) {
            size_t start = i;
            char *end;
            double d;
            while (i < len && (strchr("+-.eE", out[i]) || (out[i] >= '0' && out[i] <= '9')))
                i++;
            char *tok = wc_xstrndup(out + start, i - start);
            d = strtod(tok, &end);
            /* An infinite value takes at least five characters (1e309), room for "null". */
            if (*end == '\0' && isinf(d)) {
                memcpy(out + start, "null", 4);
                memset(out + start + 4, ' ', i - start - 4);
            }
            free(tok);
            continue;
        }
        i++;
    }
    return out;
}

static json_t *parse_object(const void *data, size_t len)
{
    json_error_t err;
    json_t *v = json_loadb(data, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);

    /* JSON.parse takes integers of any size (jansson wants them as reals) and reads a number
     * beyond the double range as Infinity (here null, see above). */
    if (!v && json_error_code(&err) == json_error_numeric_overflow) {
        char *fixed = null_infinite_numbers(data, len);
        v = json_loadb(fixed, len, JSON_ALLOW_NUL | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL,
                       &err);
        free(fixed);
    }
    if (v && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* R-IN-2: 'Unknown message type "<type>".' with the whole type, a NUL and what follows too. */
static void unknown_type(struct gw_core *c, uint64_t conn, const json_t *msg)
{
    const json_t *t = json_object_get(msg, "type");
    struct wc_buf b;
    size_t len;
    char *text;

    wc_buf_init(&b, 0);
    wc_buf_adds(&b, "Unknown message type \"");
    if (json_is_string(t))
        wc_buf_add(&b, json_string_value(t),
                   gw_mutant_on(GW_MUT_NUL_TRUNCATES_IDS) ? strlen(json_string_value(t))
                                                          : json_string_length(t));
    wc_buf_adds(&b, "\".");
    text = wc_buf_detach(&b, &len);
    gw_core_protocol_error_n(c, conn, "UNKNOWN_MESSAGE_TYPE", text, len, NULL);
    free(text);
}

void gw_protocol_handle(struct gw_core *c, uint64_t conn, const void *data, size_t len)
{
    const char *user = gw_core_conn_user(c, conn);
    json_t *msg = parse_object(data, len);
    const char *type;

    if (!user)
        return;
    if (gw_mutant_on(GW_MUT_CROSS_USER_ACCESS))
        user = NULL;
    if (!msg) {
        /* R-IN-1: answered in-band, the connection stays open (R-IN-4). */
        if (gw_mutant_on(GW_MUT_INVALID_JSON_CLOSES))
            gw_outbox_close(gw_core_outbox(c), conn, 1003);
        else
            gw_core_protocol_error(c, conn, "INTERNAL_ERROR", "Invalid websocket payload", NULL);
        return;
    }
    /* a type with a NUL matches no type: "chat.send\u0000x" is unknown */
    type = str_member(msg, "type");
    if (!type)
        type = "";
    if (strcmp(type, "chat.send") == 0)
        handle_send(c, conn, user, msg);
    else if (strcmp(type, "chat.abort") == 0)
        handle_abort(c, conn, user, msg);
    else if (strcmp(type, "chat.subscribe") == 0)
        handle_subscribe(c, conn, user, msg);
    else if (strcmp(type, "chat.permission-response") == 0)
        handle_permission_response(c, conn, user, msg);
    else if (!gw_mutant_on(GW_MUT_UNKNOWN_TYPE_SILENT))
        unknown_type(c, conn, msg); /* R-IN-2 */
    json_decref(msg);
}
