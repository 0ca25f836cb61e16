/* provider_mock.c: the mock runtime on the lws loop (see provider_mock.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../mock-providers/directive.h"
#include "../mock-providers/runtime.h"
#include "provider_mock.h"
#include "wc_buf.h"
#include "wc_log.h"
#include "wc_mem.h"

#include "wc_banned.h"

#define CTL_IN_MAX (1024 * 1024) /* a control line longer than this is dropped */
#define CTL_CHUNK  16384

struct gw_mock {
    struct lws_context *ctx;
    struct lws_vhost *vh;
    char *fixtures_dir; /* or NULL */
    char *allow_ctl;    /* --allow-ctl: comma-separated non-loopback hosts, or NULL */
    void (*after)(void *ctx);
    void *after_ctx;
};

struct mock_run;

/* The control connection; it outlives its run until its output is flushed. */
struct ctl {
    struct lws *wsi;      /* NULL once closed (or before connect returned) */
    struct mock_run *run; /* NULL: orphaned (run freed); the ctl frees itself on close */
    struct wc_buf out;    /* lines not yet written */
    struct wc_buf in;     /* a partial line */
    bool connected;
    bool lost; /* the run was told the channel is gone */
    bool close_when_flushed;
};

struct mock_run {
    struct gw_mock *m;
    struct mp_directive d;
    struct mp_run_info info;
    char *provider;
    char *cwd;
    char *resume;
    json_t *options;
    struct mp_run *mp;
    const struct gw_provider_sink *sink;
    void *sink_ctx;
    int depth;     /* mp_run_* calls on the stack */
    bool released; /* the core let go: free when depth drops to 0 */
    bool ended;
    bool paused;                /* every socket of the run is full (R-LIMIT-5): do not resume */
    bool resume_owed;           /* a yield came due while paused */
    lws_sorted_usec_list_t sul; /* delay step */
    lws_sorted_usec_list_t yield_sul; /* an emit_many handed the loop back */
    struct ctl *ctl;                  /* or NULL */
};

static void run_destroy(struct mock_run *r);

/* --- depth tracking: a run is freed only when no runtime call is on the stack ----------- */

static void enter(struct mock_run *r)
{
    r->depth++;
}

/* After this returns, r may be gone. */
static void leave(struct mock_run *r)
{
    struct gw_mock *m = r->m;

    if (--r->depth == 0) {
        if (r->released)
            run_destroy(r);
        if (m->after)
            m->after(m->after_ctx);
    }
}

/* --- control connection ----------------------------------------------------------------- */

static void ctl_free(struct ctl *c)
{
    wc_buf_release(&c->out);
    wc_buf_release(&c->in);
    free(c);
}

static void ctl_lost(struct ctl *c)
{
    struct mock_run *r = c->run;

    if (!r || c->lost || r->ended)
        return;
    c->lost = true;
    enter(r);
    mp_run_control_lost(r->mp);
    leave(r);
}

static void ctl_connect(struct gw_mock *m, struct mock_run *r)
{
    struct lws_client_connect_info ci;
    struct ctl *c = wc_xcalloc(1, sizeof(*c));

    wc_buf_init(&c->out, 0);
    wc_buf_init(&c->in, CTL_IN_MAX);
    c->run = r;
    r->ctl = c;
    memset(&ci, 0, sizeof(ci));
    ci.context = m->ctx;
    ci.vhost = m->vh;
    ci.address = r->d.ctl_host;
    ci.port = r->d.ctl_port;
    ci.host = r->d.ctl_host;
    ci.origin = r->d.ctl_host;
    ci.path = "/";
    ci.method = "RAW";
    ci.local_protocol_name = GW_MOCK_CTL_PROTOCOL;
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    if (!lws_client_connect_via_info(&ci)) {
        /* Failed at once (CLIENT_CONNECTION_ERROR may already have run). */
        c->wsi = NULL;
        wc_warn("control channel %s:%d: cannot connect", r->d.ctl_host, r->d.ctl_port);
        if (!c->lost) {
            c->lost = true;
            mp_run_control_lost(r->mp); /* before start: no output yet */
        }
    }
}

static int ctl_write(struct lws *wsi, struct ctl *c)
{
    unsigned char buf[LWS_PRE + CTL_CHUNK];

    while (c->out.len && !lws_send_pipe_choked(wsi)) {
        size_t n = c->out.len < CTL_CHUNK ? c->out.len : CTL_CHUNK;
        memcpy(buf + LWS_PRE, c->out.buf, n);
        if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_RAW) < (int)n)
            return -1;
        wc_buf_consume(&c->out, n);
    }
    if (c->out.len) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (!c->close_when_flushed)
        return 0;
    /* lws may still hold a partial write: closing now would drop it (and `done`). */
    if (lws_send_pipe_choked(wsi)) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return -1;
}

static void ctl_read(struct ctl *c, const char *in, size_t len)
{
    const char *nl;

    if (wc_buf_add(&c->in, in, len)) {
        wc_warn("control channel: line over %d bytes dropped", CTL_IN_MAX);
        wc_buf_reset(&c->in);
        return;
    }
    while (c->run && (nl = memchr(c->in.buf, '\n', c->in.len))) {
        size_t n = (size_t)(nl - c->in.buf);
        char *line = wc_xstrndup(c->in.buf, n);
        struct mock_run *r = c->run;
        wc_buf_consume(&c->in, n + 1);
        if (!r->ended) {
            enter(r);
            mp_run_control_input(r->mp, line, n);
            leave(r); /* may orphan c */
        }
        free(line);
    }
}

int gw_mock_ctl_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct ctl *c = lws_get_opaque_user_data(wsi);

    (void)user;
    switch (reason) {
    case LWS_CALLBACK_RAW_CONNECTED:
        if (!c)
            return -1;
        c->connected = true;
        if (c->out.len || c->close_when_flushed)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        if (!c)
            return -1;
        return ctl_write(wsi, c);
    case LWS_CALLBACK_RAW_RX:
        if (c && in && len)
            ctl_read(c, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        wc_warn("control channel: cannot connect: %s", in ? (const char *)in : "?");
        /* FALLTHROUGH */
    case LWS_CALLBACK_RAW_CLOSE:
        if (!c)
            return 0;
        lws_set_opaque_user_data(wsi, NULL);
        c->wsi = NULL;
        if (!c->run) {
            ctl_free(c);
            return 0;
        }
        ctl_lost(c);
        return 0;
    default:
        return 0;
    }
}

/* --- runtime sink ----------------------------------------------------------------------- */

static void on_event(void *ctx, json_t *ev)
{
    struct mock_run *r = ctx;

    if (r->released)
        json_decref(ev);
    else
        r->sink->event(r->sink_ctx, ev);
}

static void on_announce(void *ctx, const char *native_id)
{
    struct mock_run *r = ctx;

    if (!r->released)
        r->sink->announce(r->sink_ctx, native_id);
}

static void on_permission(void *ctx, const char *tool_name, json_t *input, int64_t timeout_ms)
{
    struct mock_run *r = ctx;

    if (!r->released)
        r->sink->permission(r->sink_ctx, tool_name, input, timeout_ms);
}

static void on_control(void *ctx, const char *line, size_t len)
{
    struct mock_run *r = ctx;
    struct ctl *c = r->ctl;

    if (!c || c->lost)
        return;
    wc_buf_add(&c->out, line, len);
    if (c->wsi && c->connected)
        lws_callback_on_writable(c->wsi);
}

static void timer_fired(lws_sorted_usec_list_t *sul)
{
    struct mock_run *r = (struct mock_run *)((char *)sul - offsetof(struct mock_run, sul));

    enter(r);
    mp_run_timer_fired(r->mp);
    leave(r);
}

static void on_timer(void *ctx, int64_t delay_ms)
{
    struct mock_run *r = ctx;

    lws_sul_schedule(r->m->ctx, 0, &r->sul, timer_fired,
                     (lws_usec_t)(delay_ms > 0 ? delay_ms : 0) * LWS_US_PER_MS);
}

static void yield_fired(lws_sorted_usec_list_t *sul)
{
    struct mock_run *r = (struct mock_run *)((char *)sul - offsetof(struct mock_run, yield_sul));

    if (r->paused) {
        r->resume_owed = true; /* mock_flow resumes it */
        return;
    }
    enter(r);
    mp_run_resume(r->mp);
    leave(r);
}

/* Go on at the next loop turn, after the sockets that are ready have been served. */
static void on_yield(void *ctx)
{
    struct mock_run *r = ctx;

    lws_sul_schedule(r->m->ctx, 0, &r->yield_sul, yield_fired, 1);
}

static bool on_full(void *ctx)
{
    struct mock_run *r = ctx;

    return r->paused;
}

static void on_ended(void *ctx, enum mp_end how, int exit_code)
{
    struct mock_run *r = ctx;

    r->ended = true;
    if (r->ctl) {
        r->ctl->close_when_flushed = true;
        if (r->ctl->wsi && r->ctl->connected)
            lws_callback_on_writable(r->ctl->wsi);
    }
    wc_debug("provider run ended: how %d, exit %d", (int)how, exit_code);
    if (!r->released)
        r->sink->ended(r->sink_ctx, exit_code);
}

static const struct mp_run_sink mock_sink = {
    .event = on_event,
    .announce = on_announce,
    .permission = on_permission,
    .control = on_control,
    .timer = on_timer,
    .yield = on_yield,
    .full = on_full,
    .ended = on_ended,
};

/* --- the control address: loopback only, unless allowed ------------------------------- */

bool gw_mock_ctl_allowed(const char *host, const char *allow)
{
    return mp_ctl_allowed(host, allow);
}

/*
 * Issue 18: a prompt must not make the gateway connect anywhere. A control address that is not
 * loopback and not allowed is dropped (no connection is made) and the run gets the directive
 * error script, as for any other invalid directive.
 */
static void refuse_ctl(struct gw_mock *m, struct mp_directive *d)
{
    const char *why = mp_directive_limit_ctl(d, m->allow_ctl);

    if (why)
        wc_warn("%s", why);
}

/* --- ops -------------------------------------------------------------------------------- */

static struct gw_prun *mock_open(void *self, const struct gw_provider_args *a,
                                 const struct gw_provider_sink *sink, void *sink_ctx, char **err)
{
    struct gw_mock *m = self;
    struct mock_run *r = wc_xcalloc(1, sizeof(*r));
    const char *why;

    r->m = m;
    r->sink = sink;
    r->sink_ctx = sink_ctx;
    r->provider = wc_xstrdup(a->provider);
    r->cwd = wc_xstrdup(a->cwd ? a->cwd : "");
    r->resume = a->resume ? wc_xstrdup(a->resume) : NULL;
    r->options = a->options ? json_deep_copy(a->options) : json_object();
    mp_directive_parse(a->prompt ? a->prompt : "", m->fixtures_dir, &r->d);
    refuse_ctl(m, &r->d);
    if (r->d.error)
        wc_info("session '%s': provider directive rejected: %s", a->app_session_id, r->d.error);
    if ((why = mp_script_start_failure(r->d.script))) {
        /* the script's fail_start: this provider cannot be started (its CLI is missing, say) */
        *err = wc_xstrdup(why);
        run_destroy(r);
        return NULL;
    }
    r->info.provider = r->provider;
    r->info.persona = "in-process";
    r->info.cwd = r->cwd;
    r->info.argv = NULL;
    r->info.options = r->options;
    r->info.resume = r->resume;
    r->info.pid = (long)getpid();
    r->mp = mp_run_new(&r->d, &r->info, &mock_sink, r);
    if (r->d.ctl_host && r->d.ctl_port > 0)
        ctl_connect(m, r);
    return (struct gw_prun *)r;
}

static void mock_start(struct gw_prun *p)
{
    struct mock_run *r = (struct mock_run *)p;

    enter(r);
    mp_run_start(r->mp);
    leave(r);
}

static bool mock_abort(struct gw_prun *p)
{
    struct mock_run *r = (struct mock_run *)p;
    bool found;

    enter(r);
    found = mp_run_abort(r->mp);
    leave(r);
    return found;
}

static void mock_permission(struct gw_prun *p, const char *request_id, bool allow, bool cancelled,
                            const char *reason)
{
    struct mock_run *r = (struct mock_run *)p;

    if (r->ended)
        return;
    enter(r);
    mp_run_permission_answer(r->mp, request_id, allow, cancelled, reason);
    leave(r);
}

/* R-LIMIT-5: the in-process provider stops where a real one would stop being read. */
static void mock_flow(struct gw_prun *p, bool paused)
{
    struct mock_run *r = (struct mock_run *)p;

    r->paused = paused;
    if (!paused && r->resume_owed) {
        r->resume_owed = false;
        lws_sul_schedule(r->m->ctx, 0, &r->yield_sul, yield_fired, 1);
    }
}

static void run_destroy(struct mock_run *r)
{
    lws_sul_cancel(&r->sul);
    lws_sul_cancel(&r->yield_sul);
    if (r->ctl) {
        struct ctl *c = r->ctl;
        c->run = NULL;
        if (c->wsi) {
            /* Orphaned: flush what is queued, then close; freed in RAW_CLOSE. */
            c->close_when_flushed = true;
            if (c->connected)
                lws_callback_on_writable(c->wsi);
        } else {
            ctl_free(c);
        }
    }
    mp_run_free(r->mp);
    mp_directive_release(&r->d);
    free(r->provider);
    free(r->cwd);
    free(r->resume);
    json_decref(r->options);
    free(r);
}

static void mock_release(struct gw_prun *p)
{
    struct mock_run *r = (struct mock_run *)p;

    r->released = true;
    if (r->depth == 0)
        run_destroy(r);
}

const struct gw_provider_ops gw_mock_ops = {
    .open = mock_open,
    .start = mock_start,
    .abort = mock_abort,
    .permission = mock_permission,
    .release = mock_release,
    .flow = mock_flow,
};

struct gw_mock *gw_mock_new(struct lws_context *ctx, const char *fixtures_dir,
                            const char *allow_ctl, void (*after)(void *after_ctx), void *after_ctx)
{
    struct gw_mock *m = wc_xcalloc(1, sizeof(*m));

    m->ctx = ctx;
    m->fixtures_dir = fixtures_dir ? wc_xstrdup(fixtures_dir) : NULL;
    m->allow_ctl = allow_ctl ? wc_xstrdup(allow_ctl) : NULL;
    m->after = after;
    m->after_ctx = after_ctx;
    return m;
}

void gw_mock_set_vhost(struct gw_mock *m, struct lws_vhost *vh)
{
    m->vh = vh;
}

void gw_mock_free(struct gw_mock *m)
{
    if (!m)
        return;
    free(m->fixtures_dir);
    free(m->allow_ctl);
    free(m);
}
