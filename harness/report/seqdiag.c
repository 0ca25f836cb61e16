/*
 * seqdiag.c: the sequence diagram of a case for the HTML report (report_int.h): one lane per
 * client connection, one for the gateway, one per provider script (the server role: the client
 * program, the harness's listener and one lane per server connection), every transcript record
 * one arrow in causal order, inline SVG with no external reference.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report/report.h"
#include "report/report_int.h"
#include "wc_buf.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

#define LANE_W      150  /* distance between two lanes */
#define ROW_H       22   /* one record */
#define TOP         44   /* the lane names */
#define LEFT        70   /* room for the record numbers */
#define SIDE_W      480  /* the expected-beside-received column */
#define TITLE_MAX   2000 /* longest JSON in an arrow's tooltip */
#define DIAG_HEAD   60   /* past the cap: the first records shown */
#define DIAG_AROUND 12   /* past the cap: records on each side of a witness */
#define DIAG_TAIL   15   /* past the cap: the last records shown */

static bool is_t(const json_t *r, const char *t)
{
    const char *s = wc_json_str(r, "t");
    return s && !strcmp(s, t);
}

/* A control message's type ("t" in the server role's client channel). */
static const char *msg_type(const json_t *r)
{
    const json_t *m = json_object_get(r, "msg");
    return wc_json_str(m, "type") ? wc_json_str(m, "type") : wc_json_str(m, "t");
}

/* The frame kind a client receives because of a provider's control record, or NULL. */
static const char *caused_kind(const json_t *ctl)
{
    const char *t = msg_type(ctl);

    if (!t)
        return NULL;
    if (!strcmp(t, "emitted"))
        return wc_json_str(json_object_get(json_object_get(ctl, "msg"), "event"), "kind");
    if (!strcmp(t, "announced"))
        return "session_upserted";
    return NULL;
}

/* The script label a chat.send's directive names (content "gwspec:{...label...}"). New or NULL. */
static char *directive_label(const json_t *frame)
{
    const char *content = wc_json_str(frame, "content");
    json_t *d;
    char *label = NULL;

    if (!content || strncmp(content, "gwspec:", 7))
        return NULL;
    d = json_loads(content + 7, 0, NULL);
    if (wc_json_str(d, "run") && wc_json_str(d, "label"))
        label = wc_xasprintf("%s/%s", wc_json_str(d, "label"), wc_json_str(d, "run"));
    json_decref(d);
    return label;
}

/* "label/run" of a control record. New string. */
static char *ctl_key(const json_t *r)
{
    return wc_xasprintf("%s/%s", hn_report_str_or(r, "label", "?"), hn_report_str_or(r, "run", ""));
}

json_t *hn_report_causal_order(const json_t *tr)
{
    size_t n = json_array_size(tr), i, k;
    bool *placed = wc_xcalloc(n + 1, sizeof(bool));
    bool *used = wc_xcalloc(n + 1, sizeof(bool)); /* a control record already matched */
    json_t *order = json_array(), *run_session = json_object(), *r;

    /* which session each provider run serves: the chat.send that carried its directive */
    json_array_foreach(tr, i, r)
    {
        if (is_t(r, "send") && wc_json_str(json_object_get(r, "frame"), "sessionId")) {
            char *label = directive_label(json_object_get(r, "frame"));
            if (label)
                json_object_set_new(
                    run_session, label,
                    json_string(wc_json_str(json_object_get(r, "frame"), "sessionId")));
            free(label);
        }
    }
    for (i = 0; i < n; i++) {
        const json_t *rec = json_array_get(tr, i), *frame = json_object_get(rec, "frame");
        const char *kind = wc_json_str(frame, "kind"), *sid = wc_json_str(frame, "sessionId");
        if (placed[i] || is_t(rec, "header"))
            continue;
        /* a frame a client received: the provider record that caused it goes first, with the
         * records of that provider run before it that are not placed yet */
        if (is_t(rec, "recv") && kind && !json_is_true(json_object_get(rec, "sentinel"))) {
            for (k = i + 1; k < n; k++) {
                const json_t *c = json_array_get(tr, k);
                const char *ck;
                char *key;
                bool same;
                if (used[k] || !is_t(c, "ctl") || !(ck = caused_kind(c)) || strcmp(ck, kind))
                    continue;
                key = ctl_key(c);
                same = !sid || !json_object_get(run_session, key) ||
                       !strcmp(json_string_value(json_object_get(run_session, key)), sid);
                if (same) {
                    for (size_t m = i + 1; m <= k; m++) {
                        const json_t *p = json_array_get(tr, m);
                        char *pk;
                        if (placed[m] || !is_t(p, "ctl"))
                            continue;
                        pk = ctl_key(p);
                        if (!strcmp(pk, key)) {
                            placed[m] = true;
                            json_array_append_new(order, json_integer((json_int_t)m));
                        }
                        free(pk);
                    }
                    used[k] = true;
                    free(key);
                    break;
                }
                free(key);
            }
        }
        placed[i] = true;
        json_array_append_new(order, json_integer((json_int_t)i));
        /* a control record placed in its own turn causes the next frame of its kind, not a
         * later one: mark it used so a later recv does not pull an earlier cause */
        if (is_t(rec, "ctl"))
            used[i] = true;
    }
    json_decref(run_session);
    free(placed);
    free(used);
    return order;
}

/* ---- lanes ---------------------------------------------------------------------------------- */

struct lanes {
    json_t *index; /* lane name -> position */
    json_t *names; /* in order */
    bool server_role;
};

static size_t lane_of(struct lanes *l, const char *name)
{
    json_t *v = json_object_get(l->index, name);

    if (v)
        return (size_t)json_integer_value(v);
    json_object_set_new(l->index, name, json_integer((json_int_t)json_array_size(l->names)));
    json_array_append_new(l->names, json_string(name));
    return json_array_size(l->names) - 1;
}

/* The two lanes of a record (from, to; equal for a mark on one lane); false: across all lanes
 * (a note). Lane names: "c1" (a client connection), "gateway", "provider s1/r1", "REST"; in the
 * server role "client", "harness", "s1" (a server connection). */
struct ends {
    const char *from, *to;
    char *own; /* a lane name made here (freed by the caller) */
    bool dashed;
};

static bool record_ends(const struct lanes *l, const json_t *r, struct ends *e)
{
    const char *t = hn_report_str_or(r, "t", "");
    const char *conn = wc_json_str(r, "conn"), *by = wc_json_str(r, "by");

    memset(e, 0, sizeof(*e));
    if (!strcmp(t, "note"))
        return false;
    if (l->server_role) {
        const char *peer = conn ? conn : "harness";
        e->from = e->to = "client";
        if (!strcmp(t, "send") || !strcmp(t, "spawn") || !strcmp(t, "refused") ||
            !strcmp(t, "ctl_send") || (!strcmp(t, "close") && by && strcmp(by, "client")))
            e->from = peer, e->to = "client";
        else if (!strcmp(t, "recv") || !strcmp(t, "attempt") || !strcmp(t, "open") ||
                 !strcmp(t, "ctl") || !strcmp(t, "close") || !strcmp(t, "ping") ||
                 !strcmp(t, "pong"))
            e->from = "client", e->to = peer;
        e->dashed = by && !strcmp(by, "drop");
        return true;
    }
    e->from = e->to = "gateway";
    if (!strcmp(t, "ctl") || !strcmp(t, "ctl_send")) {
        e->own = wc_xasprintf("provider %s", hn_report_str_or(r, "label", "?"));
        if (!strcmp(t, "ctl"))
            e->from = e->own;
        else
            e->to = e->own, e->dashed = true;
    } else if (!strcmp(t, "http")) {
        e->from = "REST";
    } else if (conn) {
        if (!strcmp(t, "send") || !strcmp(t, "open") ||
            (!strcmp(t, "close") && (!by || !strcmp(by, "client"))))
            e->from = conn;
        else
            e->to = conn;
        e->dashed = by && !strcmp(by, "drop");
    }
    return true;
}

/* ---- labels --------------------------------------------------------------------------------- */

/* "recv complete seq=3" style label words of a record, and a short summary. New string. */
static char *record_label(const json_t *r)
{
    const char *t = hn_report_str_or(r, "t", "?");
    const json_t *frame = json_object_get(r, "frame");
    struct wc_buf b;
    char *s;

    wc_buf_init(&b, 0);
    if ((!strcmp(t, "send") || !strcmp(t, "recv")) && frame) {
        const char *name =
            wc_json_str(frame, "type") ? wc_json_str(frame, "type") : wc_json_str(frame, "kind");
        wc_buf_adds(&b, name ? name : "frame");
        if (json_is_integer(json_object_get(frame, "seq")))
            wc_buf_addf(&b, " seq=%lld",
                        (long long)json_integer_value(json_object_get(frame, "seq")));
        if (wc_json_str(frame, "content") && strncmp(wc_json_str(frame, "content"), "gwspec:", 7))
            wc_buf_addf(&b, " \"%.24s\"", wc_json_str(frame, "content"));
        else if (json_is_integer(json_object_get(frame, "exitCode")))
            wc_buf_addf(&b, " exit=%lld",
                        (long long)json_integer_value(json_object_get(frame, "exitCode")));
        else if (wc_json_str(frame, "message"))
            wc_buf_addf(&b, " \"%.24s\"", wc_json_str(frame, "message"));
    } else if (!strcmp(t, "send") || !strcmp(t, "recv")) {
        wc_buf_addf(&b, "%s (%s)", t, json_object_get(r, "hex") ? "binary" : "text");
    } else if (!strcmp(t, "ctl") || !strcmp(t, "ctl_send")) {
        const json_t *m = json_object_get(r, "msg");
        const char *mt = msg_type(r);
        wc_buf_adds(&b, mt ? mt : "ctl");
        if (mt && !strcmp(mt, "emitted"))
            wc_buf_addf(&b, " %s", hn_report_str_or(json_object_get(m, "event"), "kind", "?"));
        else if (mt && (!strcmp(mt, "reached") || !strcmp(mt, "release")))
            wc_buf_addf(&b, " barrier %s", hn_report_str_or(m, "barrier", "?"));
        else if (wc_json_str(m, "what"))
            wc_buf_addf(&b, " %s", wc_json_str(m, "what"));
        if (!strcmp(t, "ctl_send"))
            wc_buf_adds(&b, " (harness)");
    } else if (!strcmp(t, "http")) {
        wc_buf_addf(&b, "%s %s -> %lld", hn_report_str_or(r, "method", "?"),
                    hn_report_str_or(r, "path", "?"), hn_report_int_or(r, "status", 0));
    } else if (!strcmp(t, "close")) {
        wc_buf_addf(&b, "close %lld by %s", hn_report_int_or(r, "code", 0),
                    hn_report_str_or(r, "by", "?"));
    } else if (!strcmp(t, "session")) {
        wc_buf_addf(&b, "session %s (%s)", hn_report_str_or(r, "label", "?"),
                    hn_report_str_or(r, "provider", "?"));
    } else if (!strcmp(t, "note")) {
        wc_buf_adds(&b, hn_report_str_or(r, "text", ""));
    } else if (!strcmp(t, "reject") || !strcmp(t, "refused")) {
        wc_buf_addf(&b, "%s %lld", t, hn_report_int_or(r, "status", 0));
    } else if (!strcmp(t, "exit")) {
        if (json_object_get(r, "signal"))
            wc_buf_addf(&b, "exit signal %lld", hn_report_int_or(r, "signal", 0));
        else
            wc_buf_addf(&b, "exit %lld", hn_report_int_or(r, "status", 0));
    } else {
        wc_buf_adds(&b, t);
    }
    if (json_is_true(json_object_get(r, "sentinel")))
        wc_buf_adds(&b, " [sentinel]");
    s = wc_buf_detach(&b, NULL);
    if (strlen(s) > 70) {
        size_t k = 67;
        while (k && ((unsigned char)s[k] & 0xc0) == 0x80)
            k--;
        memcpy(s + k, "...", 4);
    }
    return s;
}

/* ---- the witnesses ----------------------------------------------------------------------------
 */

/* n -> the expected value of the step failure it is the witness of (or true). New object. */
static json_t *witness_map(const json_t *c)
{
    json_t *m = json_object(), *f, *w;
    size_t i, k;

    json_array_foreach(json_object_get(c, "failures"), i, f)
    {
        const json_t *exp = json_object_get(f, "expected");
        json_array_foreach(json_object_get(f, "witness"), k, w)
        {
            char key[32];
            if (!json_is_integer(w))
                continue;
            snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(w));
            if (exp && !json_is_null(exp))
                json_object_set(m, key, (json_t *)exp);
            else if (!json_object_get(m, key))
                json_object_set_new(m, key, json_true());
        }
    }
    return m;
}

static const json_t *witness_of(const json_t *map, const json_t *r)
{
    char key[32];
    int64_t n;

    if (!wc_json_int(r, "n", &n))
        return NULL;
    snprintf(key, sizeof(key), "%lld", (long long)n);
    return json_object_get(map, key);
}

/* ---- drawing ----------------------------------------------------------------------------------
 */

static void put(FILE *fp, const char *s)
{
    hn_report_markup_put(fp, s, false);
}

static void put_attr(FILE *fp, const char *s)
{
    hn_report_markup_put(fp, s, true);
}

static long lane_x(size_t lane)
{
    return LEFT + (long)lane * LANE_W + LANE_W / 2;
}

/* The CSS class words of a record: its type, witness, sentinel, barrier. */
static void record_classes(FILE *fp, const json_t *r, bool wit)
{
    const char *mt = msg_type(r);

    fputs("rec t-", fp);
    put_attr(fp, hn_report_str_or(r, "t", "x"));
    if (wit)
        fputs(" wit", fp);
    if (json_is_true(json_object_get(r, "sentinel")))
        fputs(" sentinel", fp);
    if (mt && (!strcmp(mt, "reached") || !strcmp(mt, "release")))
        fputs(" barrier", fp);
}

static void draw_record(FILE *fp, struct lanes *l, const json_t *r, long y, long width,
                        const json_t *wit, const char *anchor)
{
    struct ends e;
    bool across = !record_ends(l, r, &e);
    char *label = record_label(r), *full = hn_report_show_json(r, TITLE_MAX);
    int64_t n = 0;
    bool has_n = wc_json_int(r, "n", &n);
    long x1, x2;

    fputs("<g class=\"", fp);
    record_classes(fp, r, wit != NULL);
    fputc('"', fp);
    if (has_n)
        fprintf(fp, " data-n=\"%lld\"", (long long)n);
    if (wit && has_n)
        fprintf(fp, " id=\"%s:d%lld\"", anchor, (long long)n);
    fputs("><title>", fp);
    put(fp, full);
    fputs("</title>", fp);
    fprintf(fp, "<rect class=\"hit\" x=\"0\" y=\"%ld\" width=\"%ld\" height=\"%d\"/>",
            y - ROW_H / 2 - 4, width, ROW_H);
    if (has_n)
        fprintf(fp, "<text class=\"num\" x=\"4\" y=\"%ld\">%lld</text>", y + 4, (long long)n);
    if (across) {
        fprintf(fp, "<line class=\"note\" x1=\"%d\" y1=\"%ld\" x2=\"%ld\" y2=\"%ld\"/>", LEFT, y,
                LEFT + (long)json_array_size(l->names) * LANE_W, y);
        fprintf(fp, "<text class=\"lbl note\" x=\"%d\" y=\"%ld\">", LEFT + 6, y - 3);
        put(fp, label);
        fputs("</text>", fp);
    } else {
        x1 = lane_x(lane_of(l, e.from));
        x2 = lane_x(lane_of(l, e.to));
        if (x1 == x2) {
            fprintf(fp, "<circle class=\"mark\" cx=\"%ld\" cy=\"%ld\" r=\"4\"/>", x1, y);
            fprintf(fp, "<text class=\"lbl\" x=\"%ld\" y=\"%ld\">", x1 + 8, y + 4);
        } else {
            fprintf(fp,
                    "<line class=\"arrow%s\" x1=\"%ld\" y1=\"%ld\" x2=\"%ld\" y2=\"%ld\" "
                    "marker-end=\"url(#%s)\"/>",
                    e.dashed ? " dashed" : "", x1, y, x2 + (x2 > x1 ? -3 : 3), y,
                    wit ? "ahw" : "ah");
            fprintf(fp, "<text class=\"lbl\" x=\"%ld\" y=\"%ld\">", (x1 < x2 ? x1 : x2) + 6, y - 4);
        }
        put(fp, label);
        fputs("</text>", fp);
    }
    if (wit && !json_is_true(wit)) { /* the expected frame beside the received one */
        char *exp = hn_report_show_json(wit, 64);
        fprintf(fp, "<text class=\"exp\" x=\"%ld\" y=\"%ld\">expected: ",
                LEFT + (long)json_array_size(l->names) * LANE_W + 8, y + 4);
        put(fp, exp);
        fputs("</text>", fp);
        free(exp);
    }
    fputs("</g>\n", fp);
    free(e.own);
    free(label);
    free(full);
}

/* Which positions of the causal order are drawn: all up to `cap`, else the first DIAG_HEAD,
 * DIAG_AROUND on each side of every witness and the last DIAG_TAIL. */
static bool *shown_rows(const json_t *tr, const json_t *order, const json_t *wit, size_t cap)
{
    size_t n = json_array_size(order), i;
    bool *show = wc_xcalloc(n + 1, sizeof(bool));

    for (i = 0; i < n; i++) {
        const json_t *r = json_array_get(tr, (size_t)json_integer_value(json_array_get(order, i)));
        if (n <= cap || i < DIAG_HEAD || i + DIAG_TAIL >= n)
            show[i] = true;
        if (witness_of(wit, r)) {
            size_t lo = i > DIAG_AROUND ? i - DIAG_AROUND : 0;
            for (size_t k = lo; k <= i + DIAG_AROUND && k < n; k++)
                show[k] = true;
        }
    }
    return show;
}

/* The lanes, in a fixed order: REST and the clients left, the gateway, the providers; in the
 * server role the client program, the harness, the server connections. */
static void diagram_lanes(struct lanes *l, const json_t *tr)
{
    size_t i;

    if (l->server_role) {
        lane_of(l, "client");
        lane_of(l, "harness");
    } else {
        for (i = 0; i < json_array_size(tr); i++)
            if (is_t(json_array_get(tr, i), "http")) {
                lane_of(l, "REST");
                break;
            }
        for (i = 0; i < json_array_size(tr); i++) {
            const char *conn = wc_json_str(json_array_get(tr, i), "conn");
            if (conn)
                lane_of(l, conn);
        }
        lane_of(l, "gateway");
    }
    for (i = 0; i < json_array_size(tr); i++) {
        struct ends e;
        if (record_ends(l, json_array_get(tr, i), &e)) {
            lane_of(l, e.from);
            lane_of(l, e.to);
        }
        free(e.own);
    }
}

void hn_report_html_diagram_defs(FILE *fp)
{
    fputs("<svg class=\"defs\" width=\"0\" height=\"0\" aria-hidden=\"true\"><defs>"
          "<marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" "
          "markerHeight=\"8\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">"
          "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker>"
          "<marker id=\"ahw\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" "
          "markerHeight=\"8\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">"
          "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#c01c28\"/></marker></defs></svg>\n",
          fp);
}

void hn_report_html_diagram(FILE *fp, const json_t *c, const char *anchor, size_t cap)
{
    const json_t *tr = json_object_get(c, "transcript");
    const json_t *header = json_array_get(tr, 0);
    json_t *order, *wit;
    struct lanes l = {0};
    size_t n, i, rows = 0, left_out = 0, gap = 0, drawn = 0;
    bool *show;
    long width, height, y;

    if (json_array_size(tr) < 2)
        return;
    l.index = json_object();
    l.names = json_array();
    l.server_role = !strcmp(hn_report_str_or(header, "role", ""), "client");
    order = hn_report_causal_order(tr);
    wit = witness_map(c);
    n = json_array_size(order);
    show = shown_rows(tr, order, wit, cap ? cap : 400);
    diagram_lanes(&l, tr);
    for (i = 0; i < n; i++) {
        if (show[i]) {
            rows += gap ? 1 : 0;
            gap = 0;
            rows++;
        } else {
            gap++;
            left_out++;
        }
    }
    rows += gap ? 1 : 0;
    width = LEFT + (long)json_array_size(l.names) * LANE_W + SIDE_W;
    height = TOP + (long)rows * ROW_H + 16;
    fprintf(fp,
            "<div class=\"diagram\"><svg class=\"seq\" "
            "width=\"%ld\" height=\"%ld\" viewBox=\"0 0 %ld %ld\" data-records=\"%zu\" "
            "data-left-out=\"%zu\" role=\"img\" aria-label=\"sequence diagram\">\n",
            width, height, width, height, n, left_out);
    for (i = 0; i < json_array_size(l.names); i++) {
        long x = lane_x(i);
        fprintf(fp, "<line class=\"life\" x1=\"%ld\" y1=\"%d\" x2=\"%ld\" y2=\"%ld\"/>", x,
                TOP - 10, x, height - 4);
        fprintf(fp, "<text class=\"lane\" x=\"%ld\" y=\"%d\">", x, TOP - 18);
        put(fp, json_string_value(json_array_get(l.names, i)));
        fputs("</text>\n", fp);
    }
    y = TOP + ROW_H / 2;
    gap = 0;
    for (i = 0; i < n; i++) {
        const json_t *r = json_array_get(tr, (size_t)json_integer_value(json_array_get(order, i)));
        if (!show[i]) {
            gap++;
            continue;
        }
        if (gap) {
            fprintf(fp,
                    "<text class=\"gap\" x=\"%d\" y=\"%ld\">... %zu record%s left out ...</text>\n",
                    LEFT + 6, y + 4, gap, gap == 1 ? "" : "s");
            y += ROW_H;
            gap = 0;
        }
        draw_record(fp, &l, r, y, width, witness_of(wit, r), anchor);
        drawn++;
        y += ROW_H;
    }
    if (gap)
        fprintf(fp, "<text class=\"gap\" x=\"%d\" y=\"%ld\">... %zu record%s left out ...</text>\n",
                LEFT + 6, y + 4, gap, gap == 1 ? "" : "s");
    fputs("</svg></div>\n", fp);
    if (left_out)
        fprintf(fp,
                "<p class=\"muted\">The diagram is cut: %zu of %zu records drawn (the first %d, %d "
                "on each side of every witness, the last %d); the table below and the JSON report "
                "(<code>--json DIR</code>) have them all.</p>\n",
                drawn, n, DIAG_HEAD, DIAG_AROUND, DIAG_TAIL);
    fputs("<pre class=\"json-view\" hidden></pre>\n", fp);
    free(show);
    json_decref(order);
    json_decref(wit);
    json_decref(l.index);
    json_decref(l.names);
}
