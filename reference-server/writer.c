/* writer.c: remap, decorate and normalise provider events (see writer.h). */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "mutants.h"
#include "wc_buf.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"
#include "writer.h"

#include "wc_banned.h"

void gw_writer_init(struct gw_writer *w, const char *app_id, const char *provider,
                    const char *native_id, struct wc_rand *rand)
{
    w->app_id = wc_xstrdup(app_id);
    w->provider = wc_xstrdup(provider);
    w->native_id = native_id && *native_id ? wc_xstrdup(native_id) : NULL;
    w->rand = rand;
}

void gw_writer_release(struct gw_writer *w)
{
    free(w->app_id);
    free(w->provider);
    free(w->native_id);
    memset(w, 0, sizeof(*w));
}

bool gw_writer_capture(struct gw_writer *w, const char *native_id)
{
    json_t *probe;

    if (!native_id || !*native_id)
        return false;
    /* Issue 18: an id that is not valid UTF-8 cannot go into a JSON frame (session_upserted's
     * providerSessionId, the remapping): it is refused, as if nothing had been announced. */
    probe = json_string(native_id);
    if (!probe) {
        wc_warn("provider announced a native id that is not valid UTF-8: ignored");
        return false;
    }
    json_decref(probe);
    if (w->native_id && strcmp(w->native_id, native_id) == 0)
        return false;
    free(w->native_id);
    w->native_id = wc_xstrdup(native_id);
    return true;
}

bool gw_json_truthy(const json_t *v)
{
    if (!v)
        return false;
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE:
        return false;
    case JSON_TRUE:
    case JSON_OBJECT:
    case JSON_ARRAY:
        return true;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0 && !isnan(json_real_value(v));
    }
    return false;
}

json_t *gw_writer_complete_event(int exit_code, bool aborted)
{
    return json_pack("{s:s, s:i, s:b}", "kind", "complete", "exitCode", exit_code, "aborted",
                     aborted);
}

static bool is_zero_number(const json_t *v)
{
    return (json_is_integer(v) && json_integer_value(v) == 0) ||
           (json_is_real(v) && json_real_value(v) == 0);
}

/* createCompleteMessage: exitCode a number or 1, aborted a bool, success derived. */
static void normalise_complete(struct gw_writer *w, json_t *ev)
{
    json_t *code = json_object_get(ev, "exitCode");
    bool aborted = gw_json_truthy(json_object_get(ev, "aborted"));
    bool success;

    if (!json_is_number(code)) {
        json_object_set_new(ev, "exitCode", json_integer(1));
        code = json_object_get(ev, "exitCode");
    }
    success = is_zero_number(code) && !aborted;
    if (gw_mutant_on(GW_MUT_COMPLETE_SUCCESS_WHEN_ABORTED))
        success = is_zero_number(code);
    json_object_set_new(ev, "success", json_boolean(success));
    json_object_set_new(ev, "aborted", json_boolean(aborted));
    json_object_set_new(ev, "actualSessionId", json_string(w->app_id));
}

static bool id_char(char c)
{
    if (c == '-' || c == '_')
        return true;
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * Is the native id at s[at] an occurrence (R-MAP-2)? An id of GW_WRITER_SHORT_ID characters or
 * more counts anywhere; a shorter one only as a token of its own, so that a short id such as
 * "42" does not rewrite every number that contains it.
 */
static bool id_occurs_at(const char *s, size_t at, size_t len)
{
    if (len >= GW_WRITER_SHORT_ID)
        return true;
    return (at == 0 || !id_char(s[at - 1])) && !id_char(s[at + len]);
}

/* s with every occurrence of nid replaced by app; NULL when there is none. New string. */
static char *replace_id(const char *s, const char *nid, const char *app)
{
    size_t len = strlen(nid), alen = strlen(app), at = 0;
    const char *p;
    struct wc_buf b;
    bool hit = false;

    wc_buf_init(&b, 0);
    while ((p = strstr(s + at, nid)) != NULL) {
        size_t off = (size_t)(p - s);
        if (!id_occurs_at(s, off, len)) {
            wc_buf_add(&b, s + at, off + 1 - at);
            at = off + 1;
            continue;
        }
        wc_buf_add(&b, s + at, off - at);
        wc_buf_add(&b, app, alen);
        at = off + len;
        hit = true;
    }
    if (!hit) {
        wc_buf_release(&b);
        return NULL;
    }
    wc_buf_add(&b, s + at, strlen(s + at));
    return wc_buf_detach(&b, NULL);
}

/*
 * Replace the native id in every string value of v, at any depth (R-MAP-2: remap wins over
 * R-FWD-1's "same field values"). Object keys are names, not values, and stay. Returns false
 * when v nests deeper than GW_WRITER_MAX_DEPTH, with v possibly half remapped: the caller
 * drops the event rather than forward a value it could not finish.
 */
static bool remap_value(struct gw_writer *w, json_t *v, int depth)
{
    const char *key;
    json_t *e;
    size_t i;
    char *to;

    if (depth > GW_WRITER_MAX_DEPTH)
        return false;
    if (json_is_string(v)) {
        to = replace_id(json_string_value(v), w->native_id, w->app_id);
        if (to)
            json_string_set(v, to);
        free(to);
        return true;
    }
    /* the old bug: only the event's own top-level strings were looked at */
    if (depth > 0 && gw_mutant_on(GW_MUT_REMAP_TOP_LEVEL_ONLY))
        return true;
    if (json_is_object(v)) {
        json_object_foreach(v, key, e)
        {
            if (!remap_value(w, e, depth + 1))
                return false;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e)
        {
            if (!remap_value(w, e, depth + 1))
                return false;
        }
    }
    return true;
}

bool gw_writer_remap(struct gw_writer *w, json_t *v)
{
    return !w->native_id || gw_mutant_on(GW_MUT_LEAK_PROVIDER_ID) || remap_value(w, v, 0);
}

enum gw_writer_action gw_writer_decorate(struct gw_writer *w, json_t *ev, json_t **out,
                                         bool *announced)
{
    const char *kind = wc_json_str(ev, "kind");
    char uuid[40];
    char ts[40];

    *out = NULL;
    *announced = false;
    if (!kind) {
        json_decref(ev);
        return GW_WRITER_DROP;
    }
    if (strcmp(kind, "session_created") == 0 && !gw_mutant_on(GW_MUT_FORWARD_SESSION_CREATED)) {
        const char *nid = wc_json_str(ev, "newSessionId");
        if (!nid || !*nid)
            nid = wc_json_str(ev, "sessionId");
        *announced = gw_writer_capture(w, nid);
        json_decref(ev);
        return GW_WRITER_SWALLOW;
    }
    /* Decorated in place: every event reaches the writer fresh, with no other reference. */
    assert(ev->refcount == 1);
    *out = ev;
    if (gw_mutant_on(GW_MUT_LEAK_PROVIDER_ID)) {
        /* the planted leak: the provider's own sessionId stays */
        if (!wc_json_str(*out, "sessionId"))
            json_object_set_new(*out, "sessionId", json_string(w->app_id));
    } else {
        if (w->native_id && !remap_value(w, *out, 0)) {
            json_decref(*out);
            *out = NULL;
            return GW_WRITER_DROP;
        }
        json_object_set_new(*out, "sessionId", json_string(w->app_id));
    }
    if (!json_is_string(json_object_get(*out, "id"))) {
        char *id;
        wc_rand_uuid(w->rand, uuid);
        /* the kind as remapped: the remap may have replaced the string kind pointed to */
        id = wc_xasprintf("%s_%s", wc_json_str(*out, "kind"), uuid);
        json_object_set_new(*out, "id", json_string(id));
        free(id);
    }
    if (!json_object_get(*out, "timestamp") && !gw_mutant_on(GW_MUT_NO_TIMESTAMP)) {
        wc_iso8601_now(ts, sizeof(ts));
        json_object_set_new(*out, "timestamp", json_string(ts));
    }
    json_object_set_new(*out, "provider", json_string(w->provider));
    if (strcmp(wc_json_str(*out, "kind"), "complete") == 0)
        normalise_complete(w, *out);
    return GW_WRITER_FORWARD;
}
