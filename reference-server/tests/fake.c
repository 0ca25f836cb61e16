/* fake.c: the recording fake provider and outbox helpers for the unit tests (see fake.h). */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "fake.h"
#include "../rest.h"
#include "../protocol.h"
#include "wc_mem.h"

#include "wc_banned.h"

static struct gw_prun *fake_open(void *self, const struct gw_provider_args *a,
                                 const struct gw_provider_sink *sink, void *sink_ctx, char **err)
{
    struct gw_fake *f = self;
    struct gw_fake_run *r = wc_xcalloc(1, sizeof(*r));

    (void)err;
    r->sink = sink;
    r->ctx = sink_ctx;
    r->provider = wc_xstrdup(a->provider);
    r->prompt = wc_xstrdup(a->prompt);
    r->cwd = wc_xstrdup(a->cwd);
    r->resume = a->resume ? wc_xstrdup(a->resume) : NULL;
    r->options = a->options ? json_deep_copy(a->options) : NULL;
    r->abort_found = true;
    r->end_on_abort = true;
    r->next = f->runs;
    f->runs = r;
    f->n_open++;
    return (struct gw_prun *)r;
}

static struct gw_fake *fake_of_start;

static void fake_start(struct gw_prun *p)
{
    struct gw_fake_run *r = (struct gw_fake_run *)p;

    r->started = true;
    if (fake_of_start && fake_of_start->on_start)
        fake_of_start->on_start(r);
}

static bool fake_abort(struct gw_prun *p)
{
    struct gw_fake_run *r = (struct gw_fake_run *)p;
    bool found = r->abort_found && !r->ended;

    r->aborted = true;
    if (r->end_on_abort && !r->ended)
        gw_fake_end(r, 143);
    return found;
}

static void fake_permission(struct gw_prun *p, const char *id, bool allow, bool cancelled,
                            const char *reason)
{
    struct gw_fake_run *r = (struct gw_fake_run *)p;

    r->n_answers++;
    snprintf(r->answer_id, sizeof(r->answer_id), "%s", id);
    r->answer_allow = allow;
    r->answer_cancelled = cancelled;
    snprintf(r->answer_reason, sizeof(r->answer_reason), "%s", reason ? reason : "");
}

static void fake_release(struct gw_prun *p)
{
    ((struct gw_fake_run *)p)->released = true;
}

static void fake_flow(struct gw_prun *p, bool paused)
{
    struct gw_fake_run *r = (struct gw_fake_run *)p;

    r->paused = paused;
    r->n_flow++;
}

const struct gw_provider_ops gw_fake_ops = {
    .flow = fake_flow,
    .open = fake_open,
    .start = fake_start,
    .abort = fake_abort,
    .permission = fake_permission,
    .release = fake_release,
};

void gw_fake_reset(struct gw_fake *f)
{
    struct gw_fake_run *r, *next;

    for (r = f->runs; r; r = next) {
        next = r->next;
        free(r->provider);
        free(r->prompt);
        free(r->cwd);
        free(r->resume);
        json_decref(r->options);
        free(r);
    }
    memset(f, 0, sizeof(*f));
}

void gw_fake_emit(struct gw_fake_run *r, json_t *ev)
{
    if (r->ended || r->released) {
        json_decref(ev);
        return;
    }
    r->sink->event(r->ctx, ev);
}

void gw_fake_emitf(struct gw_fake_run *r, const char *json_text)
{
    json_t *ev = json_loads(json_text, 0, NULL);
    if (!ev)
        abort();
    gw_fake_emit(r, ev);
}

void gw_fake_announce(struct gw_fake_run *r, const char *native_id)
{
    if (!r->ended)
        r->sink->announce(r->ctx, native_id);
}

void gw_fake_permission(struct gw_fake_run *r, const char *tool, const char *input_json)
{
    json_t *in = json_loads(input_json, 0, NULL);
    if (!r->ended)
        r->sink->permission(r->ctx, tool, in, 0);
    json_decref(in);
}

void gw_fake_end(struct gw_fake_run *r, int exit_code)
{
    if (r->ended)
        return;
    r->ended = true;
    r->sink->ended(r->ctx, exit_code);
}

const char *const *gw_test_disabled_providers;
size_t gw_test_replay_cap;
size_t gw_test_flow_high;
size_t gw_test_hold_cap;

struct gw_core *gw_test_core(struct gw_fake *f, int64_t (*clock_ms)(void))
{
    struct gw_core_opts o = {
        .db_path = ":memory:",
        .replay_cap = gw_test_replay_cap,
        .permission_timeout_ms = 1000,
        .seed = 1,
        .provider = &gw_fake_ops,
        .provider_self = f,
        .clock_ms = clock_ms,
        .disabled_providers = gw_test_disabled_providers,
        .flow_high = gw_test_flow_high,
        .hold_cap = gw_test_hold_cap,
    };
    char *err = NULL;
    struct gw_core *c = gw_core_new(&o, &err);

    fake_of_start = f;
    free(err);
    return c;
}

static void drain_one(void *ctx, const struct gw_outmsg *m)
{
    json_t *arr = ctx;
    json_t *e;

    if (!m->frame && m->close_code == 0)
        return; /* a kick (outbox.h): the glue's cue, not a message */
    e = json_pack("{s:I}", "conn", (json_int_t)m->conn);

    if (m->frame)
        json_object_set_new(
            e, "frame",
            json_loadb((const char *)m->frame->data, m->frame->len, JSON_ALLOW_NUL, NULL));
    else
        json_object_set_new(e, "close", json_integer(m->close_code));
    json_array_append_new(arr, e);
}

json_t *gw_test_drain(struct gw_core *c)
{
    json_t *arr = json_array();
    bool more;

    /* A glue whose sockets read at once: every backlog (a streamed replay) is pulled whole. The
     * tests open fewer than 256 connections. */
    do {
        more = false;
        gw_outbox_drain(gw_core_outbox(c), drain_one, arr);
        for (uint64_t id = 1; id < 256; id++) {
            if (gw_core_conn_has_backlog(c, id)) {
                gw_core_conn_drain(c, id, SIZE_MAX);
                more = true;
            }
        }
    } while (more);
    return arr;
}

json_t *gw_test_drain_outbox(struct gw_core *c)
{
    json_t *arr = json_array();
    gw_outbox_drain(gw_core_outbox(c), drain_one, arr);
    return arr;
}

json_t *gw_test_frames_for(json_t *drained, uint64_t conn)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;

    json_array_foreach(drained, i, e)
    {
        if ((uint64_t)json_integer_value(json_object_get(e, "conn")) == conn &&
            json_object_get(e, "frame"))
            json_array_append(out, json_object_get(e, "frame"));
    }
    return out;
}

json_t *gw_test_take(struct gw_core *c, uint64_t conn)
{
    json_t *all = gw_test_drain(c);
    json_t *mine = gw_test_frames_for(all, conn);

    json_decref(all);
    return mine;
}

void gw_test_send(struct gw_core *c, uint64_t conn, const char *text)
{
    gw_protocol_handle(c, conn, text, strlen(text));
}

char *gw_test_create_session(struct gw_core *c, const char *user, const char *provider,
                             const char *path)
{
    char *body = wc_xasprintf("{\"provider\":\"%s\",\"projectPath\":\"%s\"}", provider, path);
    struct gw_rest_request req = {
        .method = "POST",
        .path = "/api/providers/sessions",
        .user = user,
        .token_present = true,
        .body = body,
        .body_len = strlen(body),
    };
    json_t *resp = NULL;
    int status = gw_rest_handle(c, &req, &resp);
    const char *id = json_string_value(json_object_get(json_object_get(resp, "data"), "sessionId"));
    char *out = (status == 201 || status == 200) && id ? wc_xstrdup(id) : NULL;

    json_decref(resp);
    free(body);
    return out;
}
