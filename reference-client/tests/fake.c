/* fake.c: fake I/O for the session tests (fake.h). */
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "wc_mem.h"
#include "wc_banned.h"

static void add(struct fake *f, char *line)
{
    if (f->n < FAKE_MAX)
        f->ev[f->n++] = line;
    else
        free(line);
}

static void f_connect(void *ctx)
{
    add(ctx, wc_xstrdup("connect"));
}

static void f_send(void *ctx, const char *text, size_t len)
{
    add(ctx, wc_xasprintf("send %.*s", (int)len, text));
}

static void f_close(void *ctx, int code)
{
    add(ctx, wc_xasprintf("close %d", code));
}

static void f_ping(void *ctx)
{
    add(ctx, wc_xstrdup("ping"));
}

static void f_timer(void *ctx, enum rc_timer which, int64_t ms)
{
    struct fake *f = ctx;
    f->timer[which] = ms < 0 ? -1 : ms;
    add(f, wc_xasprintf("timer %s %lld", which == RC_TIMER_PING ? "ping" : "reconnect",
                        (long long)ms));
}

static void f_ctl(void *ctx, const char *line)
{
    add(ctx, wc_xasprintf("ctl %s", line));
}

static void f_quit(void *ctx)
{
    add(ctx, wc_xstrdup("quit"));
}

struct fake *fake_new(enum rc_mutant m, double scale)
{
    struct fake *f = wc_xcalloc(1, sizeof(*f));
    struct rc_io io = {.ctx = f,
                       .connect = f_connect,
                       .send = f_send,
                       .close = f_close,
                       .ping = f_ping,
                       .timer = f_timer,
                       .ctl = f_ctl,
                       .quit = f_quit};
    struct rc_config cfg = {.session_id = "S1",
                            .case_token = "case#1",
                            .time_scale = scale > 0 ? scale : 1,
                            .mutant = m,
                            .seed = 42};

    for (int i = 0; i < RC_TIMER_COUNT; i++)
        f->timer[i] = -1;
    f->s = rc_session_new(&cfg, &io);
    return f;
}

struct fake *fake_open(enum rc_mutant m, double scale)
{
    struct fake *f = fake_new(m, scale);
    rc_session_start(f->s);
    rc_session_opened(f->s);
    return f;
}

void fake_clear(struct fake *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->ev[i]);
    f->n = 0;
}

void fake_free(struct fake *f)
{
    fake_clear(f);
    rc_session_free(f->s);
    free(f);
}

void fake_frame(struct fake *f, const char *json)
{
    rc_session_frame(f->s, json, strlen(json), false);
}

void fake_act(struct fake *f, int id, const char *act_json)
{
    char *line = wc_xasprintf("{\"t\":\"act\",\"id\":%d,\"act\":%s}", id, act_json);
    rc_session_ctl_line(f->s, line, strlen(line));
    free(line);
}

void fake_fire(struct fake *f, enum rc_timer which)
{
    f->timer[which] = -1;
    rc_session_timer(f->s, which);
}

size_t fake_count(const struct fake *f, const char *prefix)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += !strncmp(f->ev[i], prefix, strlen(prefix));
    return n;
}

size_t fake_count_sub(const struct fake *f, const char *prefix, const char *sub)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += !strncmp(f->ev[i], prefix, strlen(prefix)) && strstr(f->ev[i], sub);
    return n;
}

json_t *fake_sent(const struct fake *f)
{
    json_t *a = json_array();
    for (size_t i = 0; i < f->n; i++) {
        if (!strncmp(f->ev[i], "send ", 5))
            json_array_append_new(a, json_loads(f->ev[i] + 5, 0, NULL));
    }
    return a;
}

static bool is(const json_t *j, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(j, key));
    return v && !strcmp(v, want);
}

json_t *fake_notes(const struct fake *f, const char *what)
{
    json_t *a = json_array();
    for (size_t i = 0; i < f->n; i++) {
        json_t *j;
        if (strncmp(f->ev[i], "ctl ", 4))
            continue;
        j = json_loads(f->ev[i] + 4, 0, NULL);
        if (is(j, "t", "note") && is(j, "what", what))
            json_array_append_new(a, j);
        else
            json_decref(j);
    }
    return a;
}

json_t *fake_last_acted(const struct fake *f)
{
    for (size_t i = f->n; i-- > 0;) {
        json_t *j;
        if (strncmp(f->ev[i], "ctl ", 4))
            continue;
        j = json_loads(f->ev[i] + 4, 0, NULL);
        if (is(j, "t", "acted"))
            return j;
        json_decref(j);
    }
    return NULL;
}
