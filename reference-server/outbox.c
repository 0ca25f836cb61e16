/* outbox.c: frames and the core's wire-level to-do list (see outbox.h). */
#include <string.h>

#include "outbox.h"
#include "wc_json.h"
#include "wc_log.h"
#include "wc_mem.h"

#include "wc_banned.h"

struct frame_block {
    struct gw_frame f;
    unsigned char buf[]; /* GW_FRAME_PRE headroom, payload (no terminator: readers use len) */
};

struct gw_frame *gw_frame_new(const char *text, size_t len)
{
    struct frame_block *b = wc_xmalloc(sizeof(*b) + GW_FRAME_PRE + len);

    b->f.refs = 1;
    b->f.len = len;
    b->f.data = b->buf + GW_FRAME_PRE;
    memcpy(b->f.data, text, len);
    return &b->f;
}

struct gw_frame *gw_frame_from_json(const json_t *v)
{
    char *text = wc_json_compact(v);
    struct gw_frame *f = gw_frame_new(text, strlen(text));

    free(text);
    return f;
}

struct gw_frame *gw_frame_ref(struct gw_frame *f)
{
    f->refs++;
    return f;
}

void gw_frame_unref(struct gw_frame *f)
{
    if (f && --f->refs == 0)
        free((struct frame_block *)f);
}

void gw_outbox_init(struct gw_outbox *ob)
{
    memset(ob, 0, sizeof(*ob));
}

void gw_outbox_clear(struct gw_outbox *ob)
{
    for (size_t i = 0; i < ob->n; i++)
        gw_frame_unref(ob->msgs[i].frame);
    ob->n = 0;
}

void gw_outbox_release(struct gw_outbox *ob)
{
    gw_outbox_clear(ob);
    free(ob->msgs);
    ob->msgs = NULL;
    ob->alloc = 0;
}

static void push(struct gw_outbox *ob, uint64_t conn, struct gw_frame *f, int code)
{
    if (ob->n == ob->alloc) {
        ob->alloc = ob->alloc ? ob->alloc * 2 : 16;
        ob->msgs = wc_xrealloc(ob->msgs, ob->alloc * sizeof(*ob->msgs));
    }
    ob->msgs[ob->n].conn = conn;
    ob->msgs[ob->n].frame = f;
    ob->msgs[ob->n].close_code = code;
    ob->n++;
    if (ob->notify)
        ob->notify(ob->notify_ctx);
}

void gw_outbox_send(struct gw_outbox *ob, uint64_t conn, struct gw_frame *f)
{
    if (ob->route && ob->route(ob->route_ctx, conn, f))
        return;
    push(ob, conn, gw_frame_ref(f), 0);
}

void gw_outbox_send_now(struct gw_outbox *ob, uint64_t conn, struct gw_frame *f)
{
    push(ob, conn, gw_frame_ref(f), 0);
}

void gw_outbox_kick(struct gw_outbox *ob, uint64_t conn)
{
    push(ob, conn, NULL, 0);
}

void gw_outbox_send_json(struct gw_outbox *ob, uint64_t conn, const json_t *v)
{
    /* a frame that failed to build (json_pack on invalid UTF-8) is never sent as "null" */
    if (!v) {
        wc_warn("outbound frame could not be built: dropped");
        return;
    }
    struct gw_frame *f = gw_frame_from_json(v);
    gw_outbox_send(ob, conn, f);
    gw_frame_unref(f);
}

void gw_outbox_close(struct gw_outbox *ob, uint64_t conn, int code)
{
    push(ob, conn, NULL, code);
}

void gw_outbox_drain(struct gw_outbox *ob, void (*fn)(void *ctx, const struct gw_outmsg *msg),
                     void *ctx)
{
    /* Index loop: fn may append (the array may move), and those appends are drained too. */
    for (size_t i = 0; i < ob->n; i++) {
        struct gw_outmsg m = ob->msgs[i];
        fn(ctx, &m);
        gw_frame_unref(m.frame);
        ob->msgs[i].frame = NULL;
    }
    ob->n = 0;
}
