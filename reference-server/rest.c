/* rest.c: session creation, running runs and history over HTTP (see rest.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mutants.h"
#include "protocol.h"
#include "rest.h"
#include "wc_err.h"
#include "wc_mem.h"

#include "wc_banned.h"

#define PREFIX "/api/providers/sessions"

static json_t *fail(const char *code, const char *message)
{
    return json_pack("{s:b, s:{s:s, s:s}}", "success", 0, "error", "code", code, "message",
                     message);
}

/* First four words of the initial message, or "Untitled Session". New string. */
static char *session_name(const char *initial)
{
    char *out = wc_xstrdup("");
    const char *p = initial;
    int words = 0;

    while (p && *p && words < 4) {
        const char *start;
        char *next;
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        start = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        next = wc_xasprintf("%s%s%.*s", out, words ? " " : "", (int)(p - start), start);
        free(out);
        out = next;
        words++;
    }
    if (!words) {
        free(out);
        out = wc_xstrdup("Untitled Session");
    }
    return out;
}

static int create_session(struct gw_core *c, const struct gw_rest_request *req, json_t **body)
{
    json_t *in = NULL;
    char *provider = NULL, *path = NULL, *name = NULL;
    struct gw_session s;
    int status = 400;

    if (req->body_len) {
        in = json_loadb(req->body, req->body_len, 0, NULL);
        if (!json_is_object(in)) {
            *body = fail("INVALID_REQUEST", "The request body must be a JSON object.");
            goto out;
        }
    }
    provider = gw_js_trim(wc_json_str(in, "provider") ? wc_json_str(in, "provider") : "");
    for (char *p = provider; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!gw_provider_is_known(provider)) {
        char *msg = wc_xasprintf("Provider \"%s\" is not supported. Use one of: claude, cursor, "
                                 "codex, opencode.",
                                 wc_json_str(in, "provider") ? wc_json_str(in, "provider") : "");
        *body = fail("UNSUPPORTED_PROVIDER", msg);
        free(msg);
        goto out;
    }
    path = gw_js_trim(wc_json_str(in, "projectPath") ? wc_json_str(in, "projectPath") : "");
    /* R-REST-2: the path must not be empty (it is not checked to exist). */
    if (!*path && !gw_mutant_on(GW_MUT_REST_ACCEPTS_EMPTY_PATH)) {
        *body = fail("PROJECT_PATH_REQUIRED", "projectPath is required.");
        goto out;
    }
    name = session_name(wc_json_str(in, "initialMessage"));
    if (gw_store_create(gw_core_store(c), gw_core_rand(c), req->user, provider, path, name, &s)) {
        *body = fail("INTERNAL_ERROR", "The session could not be stored.");
        status = 500;
        goto out;
    }
    *body = json_pack("{s:b, s:{s:s, s:s, s:s, s:s}}", "success", 1, "data", "sessionId", s.id,
                      "provider", s.provider, "projectPath", s.project_path, "sessionName", s.name);
    gw_session_release(&s);
    status = gw_mutant_on(GW_MUT_REST_200_ON_CREATE) ? 200 : 201;
out:
    free(provider);
    free(path);
    free(name);
    json_decref(in);
    return status;
}

static bool valid_id(const char *id, size_t len)
{
    if (len < 1 || len > 120)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)id[i]) && !strchr("._-", id[i]))
            return false;
    }
    return true;
}

static int64_t parse_count(const char *s, int64_t dflt)
{
    char *end;
    long long v;

    if (!s || !*s)
        return dflt;
    v = strtoll(s, &end, 10);
    return (*end || v < 0) ? dflt : v;
}

static int messages(struct gw_core *c, const struct gw_rest_request *req, const char *id,
                    json_t **body)
{
    struct gw_session s;
    int64_t limit = parse_count(req->limit, -1);
    int64_t offset = parse_count(req->offset, 0);
    int64_t total; /* set by gw_store_messages */
    json_t *msgs;
    char *msg;

    if (gw_core_session_for(c, req->user, id, &s) != WC_OK) {
        msg = wc_xasprintf("Session \"%s\" was not found.", id);
        *body = fail("SESSION_NOT_FOUND", msg);
        free(msg);
        return 404;
    }
    msgs = gw_store_messages(gw_core_store(c), s.id, limit, offset, &total);
    *body = json_pack("{s:b, s:{s:o, s:I, s:b, s:I, s:o}}", "success", 1, "data", "messages", msgs,
                      "total", (json_int_t)total, "hasMore",
                      offset + (int64_t)json_array_size(msgs) < total, "offset", (json_int_t)offset,
                      "limit", limit < 0 ? json_null() : json_integer(limit));
    gw_session_release(&s);
    return 200;
}

static int one_session(struct gw_core *c, const struct gw_rest_request *req, const char *id,
                       json_t **body)
{
    struct gw_session s;
    char *msg;

    if (gw_core_session_for(c, req->user, id, &s) != WC_OK) {
        msg = wc_xasprintf("Session \"%s\" was not found.", id);
        *body = fail("SESSION_NOT_FOUND", msg);
        free(msg);
        return 404;
    }
    *body = json_pack("{s:b, s:{s:s, s:s, s:s, s:s}}", "success", 1, "data", "sessionId", s.id,
                      "provider", s.provider, "projectPath", s.project_path, "sessionName", s.name);
    gw_session_release(&s);
    return 200;
}

/* Route /api/providers/sessions/<id>[/messages]. */
static int session_route(struct gw_core *c, const struct gw_rest_request *req, const char *rest,
                         json_t **body)
{
    const char *slash = strchr(rest, '/');
    size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
    char *id;
    int status;

    if (strcmp(req->method, "GET") != 0 || (slash && strcmp(slash, "/messages") != 0)) {
        *body = fail("NOT_FOUND", "Not found.");
        return 404;
    }
    if (!valid_id(rest, idlen)) {
        *body = fail("INVALID_SESSION_ID", "The session id is not valid.");
        return 400;
    }
    id = wc_xstrndup(rest, idlen);
    status = slash ? messages(c, req, id, body) : one_session(c, req, id, body);
    free(id);
    return status;
}

int gw_rest_handle(struct gw_core *c, const struct gw_rest_request *req, json_t **body)
{
    const char *path = req->path;

    if (!req->user) {
        *body =
            json_pack("{s:s, s:s}", "error",
                      req->token_present ? "Invalid token." : "Access denied. No token provided.",
                      "code", "AUTH_TOKEN_INVALID");
        return 401;
    }
    if (strcmp(path, PREFIX) == 0 || strcmp(path, PREFIX "/") == 0) {
        if (strcmp(req->method, "POST") == 0)
            return create_session(c, req, body);
        *body = fail("NOT_FOUND", "Not found.");
        return 404;
    }
    if (strcmp(path, PREFIX "/running") == 0 && strcmp(req->method, "GET") == 0) {
        *body = json_pack("{s:b, s:{s:o}}", "success", 1, "data", "sessions",
                          gw_registry_list_running(gw_core_registry(c), req->user));
        return 200;
    }
    if (strncmp(path, PREFIX "/", strlen(PREFIX "/")) == 0)
        return session_route(c, req, path + strlen(PREFIX "/"), body);
    *body = fail("NOT_FOUND", "Not found.");
    return 404;
}
