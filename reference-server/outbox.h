/*
 * outbox.h: what the gateway core wants done on the wire, as data.
 *
 * The sans-I/O core (protocol, registry, core) never writes to a socket. It appends
 * "send this frame to connection N" and "close connection N with code C" to an outbox; the lws
 * glue drains it in order into per-connection send queues. Frames are reference counted so one
 * serialised event fans out to many sockets without copies, and they carry GW_FRAME_PRE bytes of
 * headroom so the glue can hand them to lws_write() as they are.
 * Depends on jansson and lib/ only.
 */
#ifndef GW_OUTBOX_H
#define GW_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Headroom before every frame's payload; at least LWS_PRE (checked in server.c). */
#define GW_FRAME_PRE 32

struct gw_frame {
    unsigned refs;       /* private */
    size_t len;          /* read-only: payload bytes */
    unsigned char *data; /* read-only: the payload, with GW_FRAME_PRE writable bytes before it */
};

/* New frame holding a copy of text (refs 1). */
struct gw_frame *gw_frame_new(const char *text, size_t len);
/* New frame holding the compact JSON text of v (refs 1). */
struct gw_frame *gw_frame_from_json(const json_t *v);
struct gw_frame *gw_frame_ref(struct gw_frame *f);
void gw_frame_unref(struct gw_frame *f); /* accepts NULL */

struct gw_outmsg {
    uint64_t conn;          /* target connection id */
    struct gw_frame *frame; /* owned reference, or NULL for a close or a kick */
    int close_code;         /* with frame NULL: close the connection with this code; 0: a kick */
};

struct gw_outbox {
    struct gw_outmsg *msgs;    /* read-only: pending messages, oldest first */
    size_t n;                  /* read-only */
    size_t alloc;              /* private */
    void (*notify)(void *ctx); /* optional: called after every append (the glue drains) */
    void *notify_ctx;
    /*
     * Optional: offered every frame queued with gw_outbox_send/_send_json before it is appended.
     * Returning true means the route took its own reference and will queue it later (the core
     * holds frames back from a socket that is still being replayed to, issue 18).
     */
    bool (*route)(void *ctx, uint64_t conn, struct gw_frame *f);
    void *route_ctx;
};

void gw_outbox_init(struct gw_outbox *ob);
void gw_outbox_release(struct gw_outbox *ob);
/* Queue f for conn (adds a reference; the caller keeps its own). */
void gw_outbox_send(struct gw_outbox *ob, uint64_t conn, struct gw_frame *f);
/* Queue the JSON text of v for conn. v is borrowed. */
void gw_outbox_send_json(struct gw_outbox *ob, uint64_t conn, const json_t *v);
/* Queue f for conn past the route (adds a reference). */
void gw_outbox_send_now(struct gw_outbox *ob, uint64_t conn, struct gw_frame *f);
/*
 * Queue a kick for conn: the core holds more for it (a replay, held frames); the glue calls
 * gw_core_conn_drain once the connection's queue is low. Never routed.
 */
void gw_outbox_kick(struct gw_outbox *ob, uint64_t conn);
/* Queue a close of conn with code. */
void gw_outbox_close(struct gw_outbox *ob, uint64_t conn, int code);
/*
 * Hand every pending message to fn in order and empty the outbox. fn borrows msg (the frame
 * reference is dropped after fn returns; fn refs it to keep it). Appends made by fn go to the
 * end and are drained in the same call.
 */
void gw_outbox_drain(struct gw_outbox *ob, void (*fn)(void *ctx, const struct gw_outmsg *msg),
                     void *ctx);
/* Drop every pending message. */
void gw_outbox_clear(struct gw_outbox *ob);

#endif
