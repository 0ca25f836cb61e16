/*
 * claude_control.c: claude-control/1's checkers (see claude_control.h). Each names the
 * requirement of spec/claude-control-1/requirements.yaml it proves broken, with the records as
 * witnesses. In this dialect a server-role connection sN is the CLI process the client spawned
 * (through gwspec-cli-relay): `recv` records are the lines the client wrote on the CLI's stdin,
 * `send` records the lines the harness (the CLI) wrote on its stdout.
 */
#include <stdio.h>
#include <string.h>

#include "check/claude_control.h"
#include "check/sdkctl.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

/* A note of the client on its control channel (`ctl` record, label client), or NULL. */
static const json_t *client_note(const json_t *r, const char *what)
{
    const json_t *m = json_object_get(r, "msg");
    if (!hn_sc_is_rec(r, "ctl") || !wc_json_str(m, "t") || strcmp(wc_json_str(m, "t"), "note") ||
        !wc_json_str(m, "what") || strcmp(wc_json_str(m, "what"), what))
        return NULL;
    return m;
}

/* The value of a flag in argv: `--flag value` or `--flag=value`; NULL when absent. A flag
 * without a value (--verbose) gives "". */
static const char *flag_value(const json_t *argv, const char *flag, bool has_value)
{
    size_t n = json_array_size(argv), fl = strlen(flag);

    for (size_t i = 0; i < n; i++) {
        const char *a = json_string_value(json_array_get(argv, i));
        if (!a || strncmp(a, flag, fl))
            continue;
        if (a[fl] == '=' && has_value)
            return a + fl + 1;
        if (a[fl] == '\0') {
            if (!has_value)
                return "";
            const char *v = json_string_value(json_array_get(argv, i + 1));
            return v ? v : "";
        }
    }
    return NULL;
}

/* The control protocol's rules, as both Claude dialects state them (check/sdkctl.c). */
static void check_answer_once(struct hn_sc_ctx *x)
{
    hn_sc_check_answer_once(x, true);
}

/* CC-SPAWN-1 / CC-SPAWN-2: the flags the CLI was spawned with (the open record's argv, from
 * the relay's X-Gwspec-Argv). */
static void check_flags(struct hn_sc_ctx *x)
{
    size_t i;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        const json_t *argv = json_object_get(r, "argv");
        if (!hn_sc_is_rec(r, "open") || !json_is_array(argv))
            continue;
        x->exercised = true;
        static const struct {
            const char *flag, *value, *req;
        } want[] = {{"--output-format", "stream-json", "CC-SPAWN-1"},
                    {"--input-format", "stream-json", "CC-SPAWN-1"},
                    {"--verbose", NULL, "CC-SPAWN-1"},
                    {"--permission-prompt-tool", "stdio", "CC-SPAWN-2"}};
        for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
            const char *v = flag_value(argv, want[k].flag, want[k].value != NULL);
            if (!v)
                hn_sc_report(x, want[k].req, i, i, "the CLI was spawned without %s%s%s",
                             want[k].flag, want[k].value ? " " : "",
                             want[k].value ? want[k].value : "");
            else if (want[k].value && strcmp(v, want[k].value))
                hn_sc_report(x, want[k].req, i, i, "the CLI was spawned with %s %s, not %s",
                             want[k].flag, v, want[k].value);
        }
    }
}

/* CC-INIT-1: on every connection the client's first line is control_request{initialize}. */
static void check_initialize_first(struct hn_sc_ctx *x)
{
    json_t *seen = json_object();
    size_t i;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = hn_sc_frame(r, "recv");
        if (!f || json_object_get(seen, hn_sc_conn(r)))
            continue;
        json_object_set_new(seen, hn_sc_conn(r), json_true());
        x->exercised = true;
        const char *sub = wc_json_str(json_object_get(f, "request"), "subtype");
        if (!hn_sc_is_type(f, "control_request") || !sub || strcmp(sub, "initialize")) {
            const char *t = wc_json_str(f, "type");
            hn_sc_report(x, "CC-INIT-1", i, i,
                         "the client's first line on %s is %s%s%s, not control_request{subtype: "
                         "initialize}",
                         hn_sc_conn(r), t ? t : "a frame without a type", sub ? " " : "",
                         sub ? sub : "");
        }
    }
    json_decref(seen);
}

/*
 * CC-CTL-6: the client's responses are matched by request_id. Its `response` note says which of
 * its requests a control_response settled (`for`: the request's subtype; `request_id` when the
 * client knows it, as the reference client does; an SDK adapter may only know the subtype). The
 * CLI must have answered that id before the note, the id must be of the subtype the note names,
 * and a client never settles more requests of a subtype than the CLI has answered.
 */
static void check_responses_matched(struct hn_sc_ctx *x)
{
    json_t *answered = json_object(), *asked = json_object(), *nans = json_object(),
           *nnotes = json_object();
    size_t i;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        const char *aid = hn_sc_answer_id(hn_sc_frame(r, "send"));
        if (aid && !json_object_get(answered, aid)) {
            json_object_set_new(answered, aid, json_integer((json_int_t)i));
            const char *sub = wc_json_str(asked, aid);
            if (sub) /* an answer to one of the client's own requests */
                json_object_set_new(
                    nans, sub, json_integer(json_integer_value(json_object_get(nans, sub)) + 1));
        }
        const json_t *f = hn_sc_frame(r, "recv");
        const char *rq = wc_json_str(json_object_get(f, "request"), "subtype");
        if (hn_sc_is_type(f, "control_request") && wc_json_str(f, "request_id"))
            json_object_set_new(asked, wc_json_str(f, "request_id"), json_string(rq ? rq : ""));
        const json_t *m = client_note(r, "response");
        const char *id = wc_json_str(m, "request_id"), *forst = wc_json_str(m, "for");
        if (!m || (!id && !forst))
            continue;
        x->exercised = true;
        if (forst) {
            json_int_t n = json_integer_value(json_object_get(nnotes, forst)) + 1;
            json_object_set_new(nnotes, forst, json_integer(n));
            if (n > json_integer_value(json_object_get(nans, forst))) {
                hn_sc_report(
                    x, "CC-CTL-6", i, i,
                    "the client settled %lld %s request(s), but the CLI had answered %lld of "
                    "them",
                    (long long)n, forst,
                    (long long)json_integer_value(json_object_get(nans, forst)));
                continue;
            }
        }
        if (!id)
            continue;
        if (!json_object_get(answered, id)) {
            hn_sc_report(
                x, "CC-CTL-6", i, i,
                "the client took a control_response as the answer to its request %s, which "
                "the CLI had not answered",
                id);
            continue;
        }
        const char *sub = wc_json_str(asked, id);
        if (sub && forst && strcmp(sub, forst))
            hn_sc_report(
                x, "CC-CTL-6", (size_t)json_integer_value(json_object_get(answered, id)), i,
                "the client took the answer to %s as the answer to a %s request; it asked %s", id,
                forst, sub);
    }
    json_decref(answered);
    json_decref(asked);
    json_decref(nans);
    json_decref(nnotes);
}

/* CC-TURN-2: the CLI's stdin stays open after a result: a close of sN by the client after a
 * result on sN, with no `close` act before it, is the client ending its input on its own. */
static void check_input_open_after_result(struct hn_sc_ctx *x)
{
    json_t *result_at = json_object();
    bool close_act = false;
    size_t i;
    json_t *r;

    json_array_foreach(x->recs, i, r)
    {
        if (hn_sc_is_type(hn_sc_frame(r, "send"), "result")) {
            x->exercised = true;
            if (!json_object_get(result_at, hn_sc_conn(r)))
                json_object_set_new(result_at, hn_sc_conn(r), json_integer((json_int_t)i));
        }
        const json_t *act = json_object_get(json_object_get(r, "msg"), "act");
        if (hn_sc_is_rec(r, "ctl_send") &&
            (json_object_get(act, "close") || json_object_get(act, "quit")))
            close_act = true;
        if (!hn_sc_is_rec(r, "close") ||
            strcmp(wc_json_str(r, "by") ? wc_json_str(r, "by") : "", "client"))
            continue;
        json_t *ra = json_object_get(result_at, hn_sc_conn(r));
        if (ra && !close_act)
            hn_sc_report(
                x, "CC-TURN-2", (size_t)json_integer_value(ra), i,
                "the client closed the CLI's stdin (%s closed) after a result, with no close "
                "act: a result ends a turn, not the session",
                hn_sc_conn(r));
    }
    json_decref(result_at);
}

/*
 * CC-TURN-1: the control protocol keeps working after a result. On a connection where a
 * control_request of a subtype other than can_use_tool was answered before the first result,
 * one sent after a result that is never answered is the client gone deaf at the result (the
 * sentinel that ends the case is such a request: its silence is what proves it).
 */
static void check_control_after_result(struct hn_sc_ctx *x)
{
    json_t *state = json_object(); /* conn -> {answered_before, result_at} */
    size_t i, j;
    json_t *r, *q;

    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = hn_sc_frame(r, "send");
        if (!f)
            continue;
        json_t *st = json_object_get(state, hn_sc_conn(r));
        if (!st) {
            st = json_object();
            json_object_set_new(state, hn_sc_conn(r), st);
        }
        if (hn_sc_is_type(f, "result") && !json_object_get(st, "result_at")) {
            json_object_set_new(st, "result_at", json_integer((json_int_t)i));
            continue;
        }
        const char *id = wc_json_str(f, "request_id");
        const char *sub = wc_json_str(json_object_get(f, "request"), "subtype");
        if (!hn_sc_is_type(f, "control_request") || !id || !sub || !strcmp(sub, "can_use_tool"))
            continue;
        bool answered = false;
        json_array_foreach(x->recs, j, q)
        {
            const char *aid = j > i ? hn_sc_answer_id(hn_sc_frame(q, "recv")) : NULL;
            if (aid && !strcmp(aid, id)) {
                answered = true;
                break;
            }
        }
        if (!json_object_get(st, "result_at")) {
            if (answered)
                json_object_set_new(st, "answered_before", json_true());
            continue;
        }
        if (!json_is_true(json_object_get(st, "answered_before")))
            continue;
        x->exercised = true;
        if (!answered)
            hn_sc_report(
                x, "CC-TURN-1", (size_t)json_integer_value(json_object_get(st, "result_at")), i,
                "request %s (subtype %s) after a result was never answered; the same kind of "
                "request before the result was",
                id, sub);
    }
    json_decref(state);
}

/* catalog_valid: every line the client wrote is one the catalog defines, with its fields. */
static void check_catalog(struct hn_sc_ctx *x)
{
    size_t i;
    json_t *r;

    if (!x->catalog)
        return;
    json_array_foreach(x->recs, i, r)
    {
        const json_t *f = hn_sc_frame(r, "recv");
        char *why = NULL;
        if (!f || json_is_true(json_object_get(r, "sentinel")))
            continue;
        x->exercised = true;
        if (hn_msgcat_check_inbound(x->catalog, f, &why) != 0) {
            const char *t = wc_json_str(f, "type") ? wc_json_str(f, "type") : "";
            hn_sc_report(x,
                         !strcmp(t, "user")               ? "CC-MSG-1"
                         : !strcmp(t, "control_request")  ? "CC-CTL-5"
                         : !strcmp(t, "control_response") ? "CC-CTL-1"
                                                          : "CC-MSG-1",
                         i, i, "not a line of the catalog: %s", why);
            free(why);
        }
    }
}

static const struct hn_sc_checker checkers[] = {
    {{"spawn_flags", "CC-SPAWN-1,CC-SPAWN-2",
      "the CLI's argv has --output-format stream-json, --input-format stream-json, --verbose and "
      "--permission-prompt-tool stdio"},
     check_flags},
    {{"initialize_first", "CC-INIT-1",
      "the client's first line to the CLI is control_request{subtype: initialize}"},
     check_initialize_first},
    {{"answer_once", "CC-CTL-1,CC-CTL-4",
      "at most one control_response per request_id the CLI sent (C-2); a repeated id is "
      "CC-CTL-4"},
     check_answer_once},
    {{"fresh_request_ids", "CC-CTL-5",
      "the client's own control_requests never reuse a request_id"},
     hn_sc_check_fresh_ids},
    {{"no_answer_after_cancel", "CC-CTL-3",
      "no control_response for a request_id after its control_cancel_request (C-3)"},
     hn_sc_check_no_answer_after_cancel},
    {{"unknown_subtype_error", "CC-CTL-2",
      "any subtype but can_use_tool gets the error \"Unsupported control request subtype: <x>\"; "
      "silence is proven by a later request on the same connection being answered"},
     hn_sc_check_unknown_subtype},
    {{"responses_matched", "CC-CTL-6",
      "the client's response notes name a request the CLI answered, of the subtype it asked"},
     check_responses_matched},
    {{"control_after_result", "CC-TURN-1",
      "a request answered before the first result is answered after it too (C-4)"},
     check_control_after_result},
    {{"input_open_after_result", "CC-TURN-2",
      "the client does not end the CLI's stdin after a result unless told to (C-4)"},
     check_input_open_after_result},
    {{"catalog_valid", "CC-MSG-1,CC-CTL-5,CC-CTL-1",
      "every line the client wrote is in the catalog with its fields"},
     check_catalog},
};
#define NCHECKERS (sizeof(checkers) / sizeof(checkers[0]))

const struct hn_invariant_info *hn_claude_control_table(size_t *n)
{
    static struct hn_invariant_info table[NCHECKERS];
    hn_sc_infos(checkers, NCHECKERS, table);
    *n = NCHECKERS;
    return table;
}

json_t *hn_claude_control_run(const struct hn_transcript *t, const struct hn_msgcat *catalog)
{
    return hn_sc_run(checkers, NCHECKERS, t, catalog, "CC", "CLI");
}
