/* writer.c: remap, decorate and normalise provider events (see writer.h). */
#include <math.h>
#include <string.h>

#include "mutants.h"
#include "wc_mem.h"
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
    if (!native_id || !*native_id)
        return false;
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

/* Any other top-level string that is exactly the native id becomes the app id (R-MAP-2). */
static void remap_native_strings(struct gw_writer *w, json_t *ev)
{
    const char *key;
    json_t *val;

    if (!w->native_id)
        return;
    json_object_foreach(ev, key, val) {
        if (json_is_string(val) && strcmp(json_string_value(val), w->native_id) == 0)
            json_string_set(val, w->app_id);
    }
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
    if (strcmp(kind, "session_created") == 0 &&
        !gw_mutant_on(GW_MUT_FORWARD_SESSION_CREATED)) {
        const char *nid = wc_json_str(ev, "newSessionId");
        if (!nid || !*nid)
            nid = wc_json_str(ev, "sessionId");
        *announced = gw_writer_capture(w, nid);
        json_decref(ev);
        return GW_WRITER_SWALLOW;
    }
    /* Decorate in place when we hold the only reference; otherwise on a private copy. */
    if (ev->refcount == 1) {
        *out = ev;
    } else {
        *out = json_deep_copy(ev);
        json_decref(ev);
    }
    kind = wc_json_str(*out, "kind");
    if (!gw_mutant_on(GW_MUT_LEAK_PROVIDER_ID)) {
        remap_native_strings(w, *out);
        json_object_set_new(*out, "sessionId", json_string(w->app_id));
    } else if (!wc_json_str(*out, "sessionId")) {
        json_object_set_new(*out, "sessionId", json_string(w->app_id));
    }
    if (!json_is_string(json_object_get(*out, "id"))) {
        char *id;
        wc_rand_uuid(w->rand, uuid);
        id = wc_xasprintf("%s_%s", kind, uuid);
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
