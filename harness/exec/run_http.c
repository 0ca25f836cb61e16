/* run_http.c: the http step (runner_int.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/runner_int.h"
#include "check/invariant.h"
#include "check/verdict.h"
#include "exec/control.h"
#include "exec/http.h"
#include "exec/net.h"
#include "exec/ws.h"
#include "model/match.h"
#include "model/steps.h"
#include "model/transcript.h"
#include "wc_err.h"
#include "wc_io.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_time.h"
#include "wc_banned.h"

/* ---- http
 * ----------------------------------------------------------------------------------------- */

/*
 * A POST to the profile's session path names a project directory: make it, as create_sessions
 * does for `sessions:`, because a real gateway runs the provider there (CloudCLI spawns it with
 * that cwd and does not check that it exists, cloudcli-notes.md §3). Surrounding blanks are
 * trimmed, as the gateway trims them; only absolute paths are made.
 */
static void make_project_dir(const struct rt *rt, const char *method, const char *path,
                             const json_t *body)
{
    const char *sp = wc_json_str(json_object_get(rt->t->profile, "sessions"), "path");
    const char *pp = wc_json_str(body, "projectPath");

    if (!sp)
        sp = "/api/providers/sessions";
    if (!pp || strcmp(method, "POST") || strcmp(path, sp))
        return;
    while (*pp == ' ' || *pp == '\t')
        pp++;
    size_t n = strlen(pp);
    while (n && (pp[n - 1] == ' ' || pp[n - 1] == '\t'))
        n--;
    if (n > 1 && pp[0] == '/') {
        char *dir = wc_xstrndup(pp, n);
        (void)wc_mkdir_p(dir, 0755);
        free(dir);
    }
}

void hn_run_step_http(struct rt *rt, const json_t *step, const char *sname)
{
    json_t *v = json_object_get(step, "http");
    const char *method = wc_json_str(v, "method");
    char *path = hn_rt_expand_str(rt, step, wc_json_str(v, "path"));
    char *user = NULL, *token = NULL, *err = NULL;
    json_t *body = NULL;
    bool ok;
    struct hn_http_resp r;

    if (!path)
        return;
    user = wc_json_str(v, "user") ? hn_rt_expand_str(rt, step, wc_json_str(v, "user"))
                                  : wc_xstrdup(rt->t->default_user ? rt->t->default_user : "");
    if (!user)
        goto out;
    token = hn_rt_token_for(rt, step, v, user, &ok);
    if (!ok)
        goto out;
    if (json_object_get(v, "body")) {
        body = hn_expand(json_object_get(v, "body"), &rt->scope, &err);
        if (!body) {
            hn_rt_step_error(rt, step, "http body: %s", err);
            goto out;
        }
    }
    make_project_dir(rt, method, path, body);
    const char *cl = wc_json_str(v, "content_length");
    /* a target whose HTTP API has its own port (Dispatch: 24203 beside the WebSocket's 24205) */
    json_t *hp = json_object_get(rt->t->profile, "http_port");
    int port = json_is_integer(hp) ? (int)json_integer_value(hp) : rt->t->port;
    int rc = hn_http_request_cl(rt->t->host, port, method, path, token, body, cl,
                                (int)hn_rt_timeout_of(rt), &r, &err);
    if (rc != 0 && cl) {
        /* A framing error the target must answer (R-LIMIT-4): no answer is its failure. */
        char *msg = wc_xasprintf("no answer to Content-Length: %s (%s)", cl, err);
        hn_rt_step_fail(rt, step, msg, json_object_get(v, "expect"), NULL, NULL, -1);
        free(msg);
        goto out;
    }
    if (rc != 0) {
        hn_rt_step_error(rt, step, "%s %s: %s", method, path, err);
        goto out;
    }
    json_t *resp = json_pack("{s:i, s:O?}", "status", r.status, "body", r.json);
    if (!r.json && r.body_len) {
        json_t *s = json_stringn(r.body, r.body_len);
        json_object_set_new(resp, "body", s ? s : json_string("(not UTF-8)"));
    }
    int64_t n =
        hn_rt_add_record(rt, json_pack("{s:s, s:s, s:s, s:s, s:i, s:O?}", "t", "http", "method",
                                       method, "path", path, "user", user, "status", r.status,
                                       "body", json_object_get(resp, "body")));
    if (body && n > 0) {
        /* keep the request body next to the answer */
        json_t *recs = hn_transcript_records(rt->tr);
        json_t *last = json_array_get(recs, json_array_size(recs) - 1);
        if (last)
            json_object_set(last, "request", body);
    }
    hn_http_resp_release(&r);
    json_t *ex = json_object_get(v, "expect");
    if (ex) {
        char *diff = NULL;
        if (!hn_match(ex, resp, &rt->scope, &diff))
            hn_rt_step_fail(rt, step, "the HTTP answer does not match", ex, resp, diff, n);
        free(diff);
    }
    if (!rt->failed) {
        json_t *cap = json_object_get(v, "capture");
        const char *k;
        json_t *m;
        json_object_foreach(cap, k, m)
        {
            json_t *val = hn_json_path(resp, json_string_value(m));
            if (!val) {
                char *msg = wc_xasprintf("capture %s: nothing at %s", k, json_string_value(m));
                hn_rt_step_fail(rt, step, msg, NULL, resp, NULL, n);
                free(msg);
                break;
            }
            json_object_set(rt->vars, k, val);
        }
    }
    json_decref(resp);
out:
    free(err);
    free(path);
    free(user);
    free(token);
    json_decref(body);
}
