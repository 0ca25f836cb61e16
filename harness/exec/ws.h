/*
 * ws.h: a small RFC 6455 client over a plain nonblocking TCP socket, so that the harness sees
 * the gateway's wire behaviour as it is (close codes, masking, fragmentation) instead of what a
 * WebSocket library normalises (C-LIBRARIES.md 2.8, design note).
 *
 * The framing half is sans-I/O: hn_ws_feed() parses bytes into events, hn_ws_frame() builds
 * frames into the send buffer. hn_ws_read()/hn_ws_flush() move bytes between the socket and the
 * buffers; hn_ws_handshake() does the blocking (poll with a deadline) upgrade request.
 * Depends on lib/ and libwebsockets' SHA-1/base64 helpers only.
 */
#ifndef HN_WS_H
#define HN_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wc_json.h"
#include "wc_buf.h"
#include "wc_rand.h"
#include "wc_time.h"

#define HN_WS_MAX_MESSAGE (16u * 1024 * 1024) /* inbound cap: a bigger message is an error */

enum hn_ws_op {
    HN_WS_CONT = 0,
    HN_WS_TEXT = 1,
    HN_WS_BINARY = 2,
    HN_WS_CLOSE = 8,
    HN_WS_PING = 9,
    HN_WS_PONG = 10
};

/* A pong held back until due_ms (pong_delay_ms). */
struct hn_ws_late {
    int64_t due_ms;
    size_t len;
    unsigned char payload[125];
};

struct hn_ws {
    int fd;                  /* nonblocking socket, or -1 */
    struct wc_buf rx;        /* received bytes, parsed up to rx_off */
    size_t rx_off;           /* 0 whenever hn_ws_next returns anything but an event */
    struct wc_buf msg;       /* the message being reassembled from fragments */
    int msg_op;              /* its opcode (TEXT/BINARY), 0 when none is open */
    struct wc_buf tx;        /* bytes waiting to be written */
    struct wc_rand *rng;     /* masking keys; borrowed */
    bool eof;                /* the peer ended TCP */
    bool close_sent;         /* we sent a close frame */
    bool masked_seen;        /* the server sent a masked frame (an RFC 6455 violation) */
    bool no_pong;            /* do not answer pings (a client that withholds pongs, R-HB-2) */
    bool server;             /* the harness is the server side: frames go out unmasked */
    int64_t pong_delay_ms;   /* > 0: answer each ping this long after it came (a slow link) */
    struct hn_ws_late *late; /* those answers, oldest first */
    size_t nlate;
    int64_t empty_ms;   /* the latest time the receive queue was seen empty (wc_now_ms) */
    int64_t rx_lo_ms;   /* the bytes the last hn_ws_read appended arrived after this time */
    int64_t rx_last_ms; /* the kernel's arrival time of the last byte rx holds, or -1 */
};

/*
 * When a message just parsed out of rx arrived: after *lo, at or before *hi (wc_now_ms clock).
 * When it ended exactly where the bytes read so far end, the kernel's receive timestamp of
 * the last read (SO_TIMESTAMPNS) is its arrival and both are that; otherwise the bounds are
 * the last time the queue was seen empty and now. Call it right after hn_ws_next().
 */
void hn_ws_arrival(const struct hn_ws *ws, int64_t *lo, int64_t *hi);

enum hn_ws_event_type {
    HN_WS_EV_NONE,
    HN_WS_EV_MESSAGE,
    HN_WS_EV_CLOSE,
    HN_WS_EV_PING,
    HN_WS_EV_PONG
};

struct hn_ws_event {
    enum hn_ws_event_type type;
    bool binary; /* MESSAGE: the opcode was binary */
    char *data;  /* MESSAGE / PING / PONG payload, or CLOSE reason (new, NUL-terminated) */
    size_t len;
    int code; /* CLOSE: the status code, 1005 when the frame had none */
};

void hn_ws_init(struct hn_ws *ws, int fd, struct wc_rand *rng);
void hn_ws_release(struct hn_ws *ws); /* closes fd, frees buffers */
void hn_ws_event_release(struct hn_ws_event *ev);

/*
 * Parse the next event out of ws->rx. Returns 1 with *ev filled, 0 when more bytes are needed,
 * or a negative wc_err (WC_ERR_PROTOCOL, WC_ERR_TOO_BIG) with *why (new) on a broken stream.
 * Pings are answered (a pong with the same payload is queued) unless no_pong is set or a close
 * was sent, and are returned as events either way; so are pongs. With pong_delay_ms the pong is
 * held back that long: hn_ws_late_pongs queues it when it is due.
 */
int hn_ws_next(struct hn_ws *ws, struct hn_ws_event *ev, char **why);
/*
 * Queue the held-back pongs due at now (none once a close was sent). Returns when the next one
 * is due, or -1 when none is held.
 */
int64_t hn_ws_late_pongs(struct hn_ws *ws, int64_t now);
/*
 * The bytes of the message still being received: its fragments reassembled so far and what rx
 * holds past the frames already taken (after hn_ws_next returned 0: the one frame that is not
 * whole yet). What a caller that bounds its memory charges before the message is parsed.
 */
size_t hn_ws_pending(const struct hn_ws *ws);
/* Append received bytes to rx (tests feed frames through this). */
void hn_ws_feed(struct hn_ws *ws, const void *data, size_t len);

/* Queue one masked frame. */
void hn_ws_frame(struct hn_ws *ws, int opcode, bool fin, const void *data, size_t len);
/* Queue a close frame (code 0: none) and mark close_sent. */
void hn_ws_close(struct hn_ws *ws, int code, const char *reason);

/* Read what the socket has into rx (nonblocking). 0, or WC_ERR_IO on error; sets eof. */
int hn_ws_read(struct hn_ws *ws);
/* The same, reading at most max bytes (0: no limit): a client that reads slowly (`pause` with
 * `read`). */
int hn_ws_read_max(struct hn_ws *ws, size_t max);
/* Write what tx holds (nonblocking). 0 (maybe partial), or WC_ERR_IO. */
int hn_ws_flush(struct hn_ws *ws);

/*
 * Upgrade fd (connected, nonblocking) at host:port/path (path includes any query). extra_headers
 * is "Name: value\r\n"... or NULL. Waits until deadline_ms (wc_now_ms clock). Returns 0 with
 * *status (101 on success; bytes after the headers are left in ws->rx), or a negative wc_err
 * with *err (new). A 101 whose Sec-WebSocket-Accept is wrong is WC_ERR_PROTOCOL.
 */
int hn_ws_handshake(struct hn_ws *ws, const char *host, int port, const char *path,
                    const char *extra_headers, int64_t deadline_ms, int *status, char **err);
/*
 * After hn_ws_handshake gave a status other than 101 (a refused upgrade): read the response's
 * body (its Content-Length, 0 without one), then on until the server ends the connection or
 * deadline_ms. Returns how many bytes the server sent after that response (0: none), and the
 * first of them in *extra (new, at most 80, unprintable bytes as '.'; NULL when none). A server
 * that keeps the connection open and silent until the deadline gives 0.
 */
size_t hn_ws_refusal_trailer(struct hn_ws *ws, int64_t deadline_ms, char **extra);

#endif
