/*
 * fuzz_wire.c: the harness's wire parsers, fed what a hostile gateway could send
 * (fuzz/README.md). The first byte picks the parser, the rest is the input:
 *   0  WebSocket frames (hn_ws_next until it needs more bytes or fails), fed in pieces whose
 *      sizes come from the second byte, so reassembly across reads is exercised
 *   1  an HTTP/1.x response (hn_http_parse_response, with and without EOF)
 *   2  a recorded head, request and response (hn_record_head_parse)
 *   3  a chunked body (hn_http_dechunk)
 * Oracles beyond the sanitizers: a parsed event's payload is NUL-terminated at its length, a
 * close code is 1005 or a two-byte code, and the parsers never claim more bytes than they got.
 * The head parser and the chunked decoder take buf[0..len) with no NUL after it, so their input
 * ends where an inaccessible page starts (guarded): a read past it is a SEGV in every build,
 * the plain `make fuzz-replay` included, not only where ASan happens to see it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exec/http.h"
#include "exec/ws.h"
#include "replay/record.h"
#include "wc_log.h"
#include "wc_mem.h"

#include "wc_banned.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static void ws_frames(const uint8_t *p, size_t n)
{
    struct wc_rand rng;
    struct hn_ws ws;
    size_t piece, off = 0;
    int rc = 0;

    if (!n)
        return;
    piece = 1 + p[0] % 64;
    p++;
    n--;
    wc_rand_init(&rng, 1);
    hn_ws_init(&ws, -1, &rng);
    while (off < n && rc >= 0) {
        size_t k = n - off < piece ? n - off : piece;
        struct hn_ws_event ev;
        char *why = NULL;

        hn_ws_feed(&ws, p + off, k);
        off += k;
        while ((rc = hn_ws_next(&ws, &ev, &why)) == 1) {
            if (ev.type == HN_WS_EV_CLOSE)
                check(ev.code == 1005 || (ev.code >= 0 && ev.code <= 65535));
            if (ev.data)
                check(ev.data[ev.len] == '\0');
            hn_ws_event_release(&ev);
        }
        if (rc < 0)
            check(why != NULL);
        free(why);
    }
    hn_ws_release(&ws);
}

/* The parser's contract: buf is NUL-terminated past len (a wc_buf in hn_http_request). */
static void http_response(const char *raw, size_t n)
{
    char *p = wc_xmalloc(n + 1);
    int eof;

    memcpy(p, raw, n);
    p[n] = '\0';

    for (eof = 0; eof < 2; eof++) {
        struct hn_http_resp r;
        char *err = NULL;

        memset(&r, 0, sizeof(r));
        if (hn_http_parse_response(p, n, eof, &r, &err) == 0) {
            check(r.body_len <= n);
            hn_http_resp_release(&r);
        }
        free(err);
    }
    free(p);
}

/* A copy of p[0..n) that ends right before a PROT_NONE page; release with unguard. */
struct guarded {
    char *map, *p;
    size_t map_len;
};

static void guard(struct guarded *g, const char *p, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), data = (n + page - 1) / page * page;

    g->map_len = data + page;
    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(g->map != MAP_FAILED);
    check(mprotect(g->map + data, page, PROT_NONE) == 0);
    g->p = g->map + data - n;
    memcpy(g->p, p, n);
}

static void unguard(struct guarded *g)
{
    munmap(g->map, g->map_len);
}

static void record_head(const char *raw, size_t n)
{
    struct guarded g;
    const char *p;
    int request;

    guard(&g, raw, n);
    p = g.p;

    for (request = 0; request < 2; request++) {
        struct hn_record_head h;
        char *why = NULL;

        memset(&h, 0, sizeof(h));
        if (hn_record_head_parse(p, n, request, &h, &why) == 1) {
            check(h.head_len <= n);
            hn_record_head_get(&h, "content-length");
            hn_record_head_release(&h);
        }
        free(why);
    }
    unguard(&g);
}

static void dechunk(const char *raw, size_t n)
{
    struct guarded g;
    char *out = NULL;
    size_t out_len = 0, used = 0;

    guard(&g, raw, n);
    if (hn_http_dechunk(g.p, n, &out, &out_len, &used) == 1) {
        check(used <= n && out_len <= n);
        free(out);
    }
    unguard(&g);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wc_log_setup("fuzz", WC_LOG_QUIET);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    switch (data[0] % 4) {
    case 0:
        ws_frames(data + 1, size - 1);
        break;
    case 1:
        http_response((const char *)data + 1, size - 1);
        break;
    case 2:
        record_head((const char *)data + 1, size - 1);
        break;
    default:
        dechunk((const char *)data + 1, size - 1);
        break;
    }
    return 0;
}
