/*
 * mock-providers/tests/test_runtime.c: drive every step and every named fault through a
 * recording sink, and check the exact order of control lines, events and callbacks.
 *
 * The recorder writes one log entry per callback: "C:<control line>" (hello shortened to
 * "C:hello" unless full_hello), "E:<event>", "A:<native id>", "P:<tool> <input>[ t=<ms>]",
 * "T:<ms>", "Y" (yield), "X:<how> <code>". It also counts callbacks that arrive after
 * `ended`, which must be none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../runtime.h"
#include "wc_json.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_yaml.h"

#define LOG_MAX 16384

struct rec {
    char **log;              /* entries, in callback order */
    size_t n;                /* entries used */
    bool full_hello;         /* log hello lines whole */
    int ended;               /* times ended was called */
    enum mp_end how;         /* from ended */
    int code;                /* from ended */
    int after_end;           /* callbacks after ended: must stay 0 */
    struct mp_run *run;      /* for re-entrant actions */
    int abort_at_event;      /* call mp_run_abort from inside the Nth event (1-based), 0: never */
    bool abort_in_ended;     /* call mp_run_abort from inside ended */
    bool abort_in_ended_ret; /* what it returned */
    bool sync_answer;        /* answer a permission from inside sink->permission */
    bool sync_timer;         /* fire the timer from inside sink->timer */
    const char *release_when_reached; /* send release from inside the `reached` control line */
    int n_events;                     /* events seen */
};

static void rec_add(struct rec *r, char *entry)
{
    if (r->ended)
        r->after_end++;
    if (r->n < LOG_MAX)
        r->log[r->n++] = entry;
    else
        free(entry);
}

static void on_event(void *ctx, json_t *ev)
{
    struct rec *r = ctx;
    char *s = wc_json_compact(ev);

    rec_add(r, wc_xasprintf("E:%s", s));
    free(s);
    json_decref(ev);
    if (++r->n_events == r->abort_at_event)
        CU_ASSERT_TRUE(mp_run_abort(r->run));
}

static void on_announce(void *ctx, const char *id)
{
    rec_add(ctx, wc_xasprintf("A:%s", id));
}

static void on_permission(void *ctx, const char *tool, json_t *input, int64_t timeout_ms)
{
    struct rec *r = ctx;
    char *s = wc_json_compact(input);

    if (timeout_ms > 0)
        rec_add(r, wc_xasprintf("P:%s %s t=%lld", tool, s, (long long)timeout_ms));
    else
        rec_add(r, wc_xasprintf("P:%s %s", tool, s));
    free(s);
    if (r->sync_answer)
        mp_run_permission_answer(r->run, "sync-1", true, false, NULL);
}

static void on_control(void *ctx, const char *line, size_t len)
{
    struct rec *r = ctx;

    CU_ASSERT(len > 0 && line[len - 1] == '\n' && strlen(line) == len);
    if (!r->full_hello && strncmp(line, "{\"type\":\"hello\"", 15) == 0)
        rec_add(r, wc_xstrdup("C:hello"));
    else
        rec_add(r, wc_xasprintf("C:%.*s", (int)(len - 1), line));
    if (r->release_when_reached && strstr(line, "\"type\":\"reached\"")) {
        char *rel =
            wc_xasprintf("{\"type\":\"release\",\"barrier\":\"%s\"}\n", r->release_when_reached);
        mp_run_control_input(r->run, rel, strlen(rel));
        free(rel);
    }
}

static void on_timer(void *ctx, int64_t ms)
{
    struct rec *r = ctx;

    rec_add(r, wc_xasprintf("T:%lld", (long long)ms));
    if (r->sync_timer)
        mp_run_timer_fired(r->run);
}

static void on_ended(void *ctx, enum mp_end how, int code)
{
    static const char *const hows[] = {"completed", "crashed", "aborted", "error"};
    struct rec *r = ctx;

    rec_add(r, wc_xasprintf("X:%s %d", hows[how], code));
    r->ended++;
    r->how = how;
    r->code = code;
    if (r->abort_in_ended)
        r->abort_in_ended_ret = mp_run_abort(r->run);
}

static void on_yield(void *ctx)
{
    rec_add(ctx, wc_xstrdup("Y"));
}

static const struct mp_run_sink full_sink = {
    .event = on_event,
    .announce = on_announce,
    .permission = on_permission,
    .control = on_control,
    .timer = on_timer,
    .ended = on_ended,
};

/* full_sink plus yield: the next fx_init uses it when fx_yield is set. */
static bool fx_yield;
static const struct mp_run_sink yield_sink = {
    .event = on_event,
    .announce = on_announce,
    .permission = on_permission,
    .control = on_control,
    .timer = on_timer,
    .yield = on_yield,
    .ended = on_ended,
};

/* One test fixture: a directive built by hand, a recorder and a run. */
struct fx {
    struct mp_directive d;
    struct mp_run_info info;
    json_t *argv;
    json_t *options;
    struct rec r;
    struct mp_run *run;
};

static struct mp_script *yaml_script(const char *text)
{
    char *err = NULL;
    struct wc_yaml_doc *doc = wc_yaml_load_string("t.yaml", text, strlen(text), &err);
    struct mp_script *s = doc ? mp_script_parse(wc_yaml_root(doc), doc, &err) : NULL;

    if (!s)
        fprintf(stderr, "\n  script error: %s\n", err ? err : "?");
    free(err);
    wc_yaml_free(doc);
    return s;
}

/* Set up f with a YAML script; ctl says whether the directive has a control address. */
static void fx_init(struct fx *f, const char *script, bool ctl)
{
    memset(f, 0, sizeof(*f));
    f->d.present = true;
    f->d.ctl_host = ctl ? wc_xstrdup("127.0.0.1") : NULL;
    f->d.ctl_port = ctl ? 40123 : 0;
    f->d.case_token = wc_xstrdup("c#1");
    f->d.label = wc_xstrdup("s1");
    f->d.run = wc_xstrdup("r1");
    f->d.seed = 7;
    f->d.script = yaml_script(script);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->d.script);
    f->argv = json_pack("[s, s]", "claude", "-p");
    f->options = json_pack("{s:s}", "model", "x");
    f->info = (struct mp_run_info){.provider = "claude",
                                   .persona = "in-process",
                                   .cwd = "/tmp/p",
                                   .argv = f->argv,
                                   .options = f->options,
                                   .resume = NULL,
                                   .pid = 123};
    f->r.log = wc_xcalloc(LOG_MAX, sizeof(char *));
    f->run = mp_run_new(&f->d, &f->info, fx_yield ? &yield_sink : &full_sink, &f->r);
    f->r.run = f->run;
}

static void fx_clear_log(struct fx *f)
{
    for (size_t i = 0; i < f->r.n; i++)
        free(f->r.log[i]);
    f->r.n = 0;
}

static void fx_release(struct fx *f)
{
    CU_ASSERT_EQUAL(f->r.after_end, 0);
    CU_ASSERT(f->r.ended <= 1);
    mp_run_free(f->run);
    fx_clear_log(f);
    free(f->r.log);
    json_decref(f->argv);
    json_decref(f->options);
    mp_directive_release(&f->d);
}

/* The log must equal want (NULL-terminated); prints both on mismatch. Clears the log. */
static void expect_log(struct fx *f, const char *const *want, int line)
{
    size_t n = 0;
    bool same;

    while (want[n])
        n++;
    same = n == f->r.n;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(want[i], f->r.log[i]) == 0;
    if (!same) {
        fprintf(stderr, "\n  log mismatch (test line %d)\n", line);
        for (size_t i = 0; i < n || i < f->r.n; i++)
            fprintf(stderr, "   %s %-60s | %s\n",
                    i < n && i < f->r.n && strcmp(want[i], f->r.log[i]) == 0 ? " " : "*",
                    i < n ? want[i] : "-", i < f->r.n ? f->r.log[i] : "-");
    }
    CU_ASSERT_TRUE(same);
    fx_clear_log(f);
}
#define EXPECT(f, ...)                                                                             \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__, NULL};                                    \
        expect_log((f), want_, __LINE__);                                                          \
    } while (0)

static void control(struct fx *f, const char *line)
{
    mp_run_control_input(f->run, line, strlen(line));
}

/* ---- the basic shape -------------------------------------------------------------------- */

static void test_runtime_hello_has_every_fact(void)
{
    struct fx f;

    fx_init(&f, "[]", true);
    f.r.full_hello = true;
    mp_run_start(f.run);
    EXPECT(&f,
           "C:{\"type\":\"hello\",\"case\":\"c#1\",\"label\":\"s1\",\"run\":\"r1\",\"provider\":"
           "\"claude\",\"persona\":\"in-process\",\"cwd\":\"/tmp/p\",\"argv\":[\"claude\",\"-p\"],"
           "\"options\":{\"model\":\"x\"},\"resume\":null,\"pid\":123}",
           "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}", "X:completed 0");
    CU_ASSERT_TRUE(mp_run_is_over(f.run));
    CU_ASSERT_FALSE(mp_run_abort(f.run));
    mp_run_start(f.run); /* a second start does nothing */
    CU_ASSERT_EQUAL(f.r.n, 0);
    fx_release(&f);
}

static void test_runtime_emitted_comes_before_event(void)
{
    struct fx f;

    fx_init(&f,
            "- emit: {kind: stream_delta, content: early}\n"
            "- announce: nat-1\n"
            "- emit: {kind: stream_delta, content: a}\n"
            "- emit: {kind: status, sessionId: mine}\n"
            "- complete: 0\n",
            true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello",
           "C:{\"type\":\"emitted\",\"index\":0,\"event\":{\"kind\":\"stream_delta\",\"content\":"
           "\"early\"}}",
           "E:{\"kind\":\"stream_delta\",\"content\":\"early\"}",
           "C:{\"type\":\"announced\",\"nativeId\":\"nat-1\"}", "A:nat-1",
           "C:{\"type\":\"emitted\",\"index\":1,\"event\":{\"kind\":\"stream_delta\",\"content\":"
           "\"a\",\"sessionId\":\"nat-1\"}}",
           "E:{\"kind\":\"stream_delta\",\"content\":\"a\",\"sessionId\":\"nat-1\"}",
           "C:{\"type\":\"emitted\",\"index\":2,\"event\":{\"kind\":\"status\",\"sessionId\":"
           "\"mine\"}}",
           "E:{\"kind\":\"status\",\"sessionId\":\"mine\"}",
           "C:{\"type\":\"emitted\",\"index\":3,\"event\":{\"kind\":\"complete\",\"exitCode\":0,"
           "\"sessionId\":\"nat-1\"}}",
           "E:{\"kind\":\"complete\",\"exitCode\":0,\"sessionId\":\"nat-1\"}",
           "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}", "X:completed 0");
    CU_ASSERT_STRING_EQUAL(mp_run_native_id(f.run), "nat-1");
    fx_release(&f);
}

static void test_runtime_announce_auto_is_seeded(void)
{
    struct fx a, b, c;
    const char *id;

    fx_init(&a, "- announce: auto\n- announce: auto\n", false);
    fx_init(&b, "- announce: auto\n", false);
    fx_init(&c, "- announce: auto\n", false);
    free(c.d.run);
    c.d.run = wc_xstrdup("r2");
    mp_run_free(c.run); /* the id generator is seeded at mp_run_new */
    c.run = c.r.run = mp_run_new(&c.d, &c.info, &full_sink, &c.r);
    mp_run_start(a.run);
    mp_run_start(b.run);
    mp_run_start(c.run);
    CU_ASSERT_EQUAL_FATAL(a.r.n, 3);
    id = a.r.log[0] + 2;
    CU_ASSERT_EQUAL(strlen(id), 4 + 16);
    CU_ASSERT_EQUAL(strncmp(id, "nat-", 4), 0);
    CU_ASSERT_EQUAL(strspn(id + 4, "0123456789abcdef"), 16);
    CU_ASSERT_STRING_NOT_EQUAL(a.r.log[0], a.r.log[1]); /* a second auto is a new id */
    CU_ASSERT_STRING_EQUAL(a.r.log[0], b.r.log[0]);     /* same seed and run: same id */
    CU_ASSERT_STRING_NOT_EQUAL(a.r.log[0], c.r.log[0]); /* another run: another id */
    CU_ASSERT_STRING_EQUAL(mp_run_native_id(a.run), a.r.log[1] + 2);
    fx_release(&a);
    fx_release(&b);
    fx_release(&c);
}

static void test_runtime_session_created(void)
{
    struct fx f;

    fx_init(&f, "- announce: nat-9\n- session_created: auto\n- session_created: other\n", true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"announced\",\"nativeId\":\"nat-9\"}", "A:nat-9",
           "C:{\"type\":\"emitted\",\"index\":0,\"event\":{\"kind\":\"session_created\","
           "\"newSessionId\":\"nat-9\",\"sessionId\":\"nat-9\"}}",
           "E:{\"kind\":\"session_created\",\"newSessionId\":\"nat-9\",\"sessionId\":\"nat-9\"}",
           "C:{\"type\":\"emitted\",\"index\":1,\"event\":{\"kind\":\"session_created\","
           "\"newSessionId\":\"other\",\"sessionId\":\"nat-9\"}}",
           "E:{\"kind\":\"session_created\",\"newSessionId\":\"other\",\"sessionId\":\"nat-9\"}",
           "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}", "X:completed 0");
    fx_release(&f);
}

/* ---- named faults ----------------------------------------------------------------------- */

static void test_runtime_complete_twice_and_emit_after_complete(void)
{
    struct fx f;

    fx_init(&f,
            "- complete: 0\n"
            "- complete: {exitCode: 2, fields: {error: boom}}\n"
            "- emit: {kind: stream_delta, content: late}\n",
            true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello",
           "C:{\"type\":\"emitted\",\"index\":0,\"event\":{\"kind\":\"complete\",\"exitCode\":0}}",
           "E:{\"kind\":\"complete\",\"exitCode\":0}",
           "C:{\"type\":\"emitted\",\"index\":1,\"event\":{\"kind\":\"complete\",\"exitCode\":2,"
           "\"error\":\"boom\"}}",
           "E:{\"kind\":\"complete\",\"exitCode\":2,\"error\":\"boom\"}",
           "C:{\"type\":\"emitted\",\"index\":2,\"event\":{\"kind\":\"stream_delta\",\"content\":"
           "\"late\"}}",
           "E:{\"kind\":\"stream_delta\",\"content\":\"late\"}",
           "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}", "X:completed 0");
    fx_release(&f);
}

static void test_runtime_crash_and_exit(void)
{
    struct fx f;

    fx_init(&f, "- emit: {kind: a}\n- crash: 2\n- emit: {kind: never}\n", true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"emitted\",\"index\":0,\"event\":{\"kind\":\"a\"}}",
           "E:{\"kind\":\"a\"}", "C:{\"type\":\"done\",\"how\":\"crashed\",\"exitCode\":2}",
           "X:crashed 2");
    CU_ASSERT_EQUAL(f.r.how, MP_END_CRASHED);
    CU_ASSERT_FALSE(mp_run_abort(f.run));
    fx_release(&f);

    fx_init(&f, "- exit: 3\n- emit: {kind: never}\n", true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":3}",
           "X:completed 3");
    fx_release(&f);
}

static void test_runtime_hang_never_ends(void)
{
    struct fx f;

    fx_init(&f, "- emit: {kind: a}\n- hang: true\n- complete: 0\n", true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"emitted\",\"index\":0,\"event\":{\"kind\":\"a\"}}",
           "E:{\"kind\":\"a\"}");
    CU_ASSERT_FALSE(mp_run_is_over(f.run));
    CU_ASSERT_STRING_EQUAL(mp_run_state_name(f.run), "hang");
    /* not even an abort ends it; the abort is still reported */
    CU_ASSERT_TRUE(mp_run_abort(f.run));
    control(&f, "{\"type\":\"release\",\"barrier\":\"x\"}");
    mp_run_timer_fired(f.run);
    mp_run_control_lost(f.run);
    EXPECT(&f, "C:{\"type\":\"aborted\",\"during\":1}");
    CU_ASSERT_FALSE(mp_run_is_over(f.run));
    CU_ASSERT_EQUAL(f.r.ended, 0);
    fx_release(&f);
}

static void test_runtime_on_abort_ignore_carries_on(void)
{
    struct fx f;

    fx_init(&f,
            "- on_abort: ignore\n"
            "- wait_abort: true\n"
            "- emit: {kind: stream_delta, content: after}\n"
            "- barrier: hold\n"
            "- complete: 0\n",
            true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello");
    CU_ASSERT_STRING_EQUAL(mp_run_state_name(f.run), "wait_abort");
    CU_ASSERT_TRUE(mp_run_abort(f.run));
    EXPECT(&f, "C:{\"type\":\"aborted\",\"during\":0}",
           "C:{\"type\":\"emitted\",\"index\":0,\"event\":{\"kind\":\"stream_delta\",\"content\":"
           "\"after\"}}",
           "E:{\"kind\":\"stream_delta\",\"content\":\"after\"}",
           "C:{\"type\":\"reached\",\"barrier\":\"hold\"}");
    /* a second abort at the barrier is reported; the barrier still waits for its release */
    CU_ASSERT_TRUE(mp_run_abort(f.run));
    EXPECT(&f, "C:{\"type\":\"aborted\",\"during\":2}");
    control(&f, "{\"type\":\"release\",\"barrier\":\"hold\"}\n");
    EXPECT(&f,
           "C:{\"type\":\"emitted\",\"index\":1,\"event\":{\"kind\":\"complete\",\"exitCode\":0}}",
           "E:{\"kind\":\"complete\",\"exitCode\":0}",
           "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}", "X:completed 0");
    fx_release(&f);
}

static void test_runtime_on_abort_hang(void)
{
    struct fx f;

    fx_init(&f, "- on_abort: hang\n- barrier: hold\n- complete: 0\n", true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"reached\",\"barrier\":\"hold\"}");
    CU_ASSERT_TRUE(mp_run_abort(f.run));
    control(&f, "{\"type\":\"release\",\"barrier\":\"hold\"}");
    EXPECT(&f, "C:{\"type\":\"aborted\",\"during\":0}");
    CU_ASSERT_FALSE(mp_run_is_over(f.run));
    CU_ASSERT_STRING_EQUAL(mp_run_state_name(f.run), "hang_after_abort");
    fx_release(&f);
}

static void test_runtime_abort_stops_wherever(void)
{
    static const char *const scripts[] = {
        "- wait_abort: true\n- complete: 0\n",
        "- barrier: hold\n- complete: 0\n",
        "- delay: 50\n- complete: 0\n",
        "- permission: {toolName: Bash}\n- complete: 0\n",
    };

    for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
        struct fx f;

        fx_init(&f, scripts[i], true);
        mp_run_start(f.run);
        fx_clear_log(&f);
        CU_ASSERT_FALSE(mp_run_is_over(f.run));
        CU_ASSERT_TRUE(mp_run_abort(f.run));
        EXPECT(&f, "C:{\"type\":\"aborted\",\"during\":0}",
               "C:{\"type\":\"done\",\"how\":\"aborted\",\"exitCode\":0}", "X:aborted 0");
        CU_ASSERT_EQUAL(f.r.how, MP_END_ABORTED);
        /* late inputs after the end change nothing */
        CU_ASSERT_FALSE(mp_run_abort(f.run));
        control(&f, "{\"type\":\"release\",\"barrier\":\"hold\"}");
        mp_run_timer_fired(f.run);
        mp_run_permission_answer(f.run, "r", true, false, NULL);
        CU_ASSERT_EQUAL(f.r.n, 0);
        fx_release(&f);
    }
}

static void test_runtime_abort_before_announce_at_barrier(void)
{
    struct fx f;

    fx_init(&f, "- barrier: setup\n- announce: auto\n- emit: {kind: a}\n- complete: 0\n", true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"reached\",\"barrier\":\"setup\"}");
    CU_ASSERT_TRUE(mp_run_abort(f.run));
    EXPECT(&f, "C:{\"type\":\"aborted\",\"during\":0}",
           "C:{\"type\":\"done\",\"how\":\"aborted\",\"exitCode\":0}", "X:aborted 0");
    CU_ASSERT_PTR_NULL(mp_run_native_id(f.run));
    fx_release(&f);
}

static void test_runtime_abort_before_start(void)
{
    struct fx f;

    fx_init(&f, "- announce: auto\n- complete: 0\n", true);
    CU_ASSERT_TRUE(mp_run_abort(f.run));
    CU_ASSERT_EQUAL(f.r.n, 0);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"aborted\",\"during\":0}",
           "C:{\"type\":\"done\",\"how\":\"aborted\",\"exitCode\":0}", "X:aborted 0");
    fx_release(&f);
}

/* ---- barriers and the control channel --------------------------------------------------- */

static void test_runtime_barrier_waits_for_its_release(void)
{
    struct fx f;

    fx_init(&f, "- barrier: hold\n- emit: {kind: a}\n", true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"reached\",\"barrier\":\"hold\"}");
    control(&f, "{\"type\":\"release\",\"barrier\":\"other\"}\n");
    control(&f, "not json");
    control(&f, "{\"type\":\"bogus\"}");
    control(&f, "{\"type\":\"release\"}");
    control(&f, "[1,2]");
    mp_run_control_input(f.run, "", 0);
    CU_ASSERT_EQUAL(f.r.n, 0);
    CU_ASSERT_STRING_EQUAL(mp_run_state_name(f.run), "barrier");
    control(&f, "{\"type\":\"release\",\"barrier\":\"hold\"}\r\n");
    EXPECT(&f, "C:{\"type\":\"emitted\",\"index\":0,\"event\":{\"kind\":\"a\"}}",
           "E:{\"kind\":\"a\"}", "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}",
           "X:completed 0");
    fx_release(&f);
}

static void test_runtime_release_before_reached(void)
{
    struct fx f;

    fx_init(&f, "- barrier: one\n- barrier: two\n- barrier: two\n- exit: 0\n", true);
    control(&f, "{\"type\":\"release\",\"barrier\":\"two\"}"); /* before start */
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"reached\",\"barrier\":\"one\"}");
    control(&f, "{\"type\":\"release\",\"barrier\":\"two\"}"); /* while at `one` */
    control(&f, "{\"type\":\"release\",\"barrier\":\"one\"}");
    /* both early releases of `two` count, one each */
    EXPECT(&f, "C:{\"type\":\"reached\",\"barrier\":\"two\"}",
           "C:{\"type\":\"reached\",\"barrier\":\"two\"}",
           "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}", "X:completed 0");
    fx_release(&f);

    /* a release sent from inside the `reached` callback (re-entrant) */
    fx_init(&f, "- barrier: hold\n- exit: 0\n", true);
    f.r.release_when_reached = "hold";
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"reached\",\"barrier\":\"hold\"}",
           "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}", "X:completed 0");
    fx_release(&f);
}

static void test_runtime_no_control_channel_passes_barriers(void)
{
    struct fx f;

    fx_init(&f, "- announce: n\n- barrier: hold\n- emit: {kind: a}\n- report: [cwd]\n", false);
    mp_run_start(f.run);
    EXPECT(&f, "A:n", "E:{\"kind\":\"a\",\"sessionId\":\"n\"}", "X:completed 0");
    fx_release(&f);

    fx_init(&f, "- barrier: hold\n- emit: {kind: a}\n", true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"reached\",\"barrier\":\"hold\"}");
    mp_run_control_lost(f.run);
    EXPECT(&f, "E:{\"kind\":\"a\"}", "X:completed 0");
    fx_release(&f);
}

/* ---- permission, delay, report ---------------------------------------------------------- */

static void test_runtime_permission_answered_and_cancelled(void)
{
    struct fx f;

    fx_init(&f,
            "- permission: {toolName: Bash, input: {command: ls}}\n"
            "- permission: {toolName: Read}\n"
            "- exit: 0\n",
            true);
    mp_run_permission_answer(f.run, "early", true, false, NULL); /* nothing pending: ignored */
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "P:Bash {\"command\":\"ls\"}");
    CU_ASSERT_STRING_EQUAL(mp_run_state_name(f.run), "permission");
    mp_run_permission_answer(f.run, "req-1", true, false, NULL);
    EXPECT(&f,
           "C:{\"type\":\"permission\",\"requestId\":\"req-1\",\"allow\":true,\"cancelled\":false,"
           "\"reason\":null}",
           "P:Read {}");
    mp_run_permission_answer(f.run, NULL, true, true, "timeout");
    mp_run_permission_answer(f.run, "dup", false, false, NULL); /* already answered: ignored */
    EXPECT(&f,
           "C:{\"type\":\"permission\",\"requestId\":null,\"allow\":false,\"cancelled\":true,"
           "\"reason\":\"timeout\"}",
           "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}", "X:completed 0");
    fx_release(&f);

    /* timeoutMs reaches the sink */
    fx_init(&f, "- permission: {toolName: Bash, timeoutMs: 150}\n", true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "P:Bash {} t=150");
    fx_release(&f);

    /* answered from inside sink->permission */
    fx_init(&f, "- permission: {toolName: Bash}\n- exit: 0\n", true);
    f.r.sync_answer = true;
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "P:Bash {}",
           "C:{\"type\":\"permission\",\"requestId\":\"sync-1\",\"allow\":true,\"cancelled\":false,"
           "\"reason\":null}",
           "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}", "X:completed 0");
    fx_release(&f);
}

static void test_runtime_delay_uses_the_timer(void)
{
    struct fx f;

    fx_init(&f, "- delay: 20\n- emit: {kind: a}\n- delay: 0\n- exit: 0\n", true);
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "T:20");
    CU_ASSERT_STRING_EQUAL(mp_run_state_name(f.run), "delay");
    mp_run_timer_fired(f.run);
    EXPECT(&f, "C:{\"type\":\"emitted\",\"index\":0,\"event\":{\"kind\":\"a\"}}",
           "E:{\"kind\":\"a\"}", "T:0");
    mp_run_timer_fired(f.run);
    mp_run_timer_fired(f.run); /* a stray timer changes nothing */
    EXPECT(&f, "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}", "X:completed 0");
    fx_release(&f);

    fx_init(&f, "- delay: 5\n- exit: 0\n", true);
    f.r.sync_timer = true;
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "T:5", "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}",
           "X:completed 0");
    fx_release(&f);
}

static void test_runtime_report_sends_requested_facts(void)
{
    struct fx f;

    fx_init(&f, "- report: [resume, cwd]\n- report: [argv, options]\n", true);
    f.info.resume = "nat-old";
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"report\",\"resume\":\"nat-old\",\"cwd\":\"/tmp/p\"}",
           "C:{\"type\":\"report\",\"argv\":[\"claude\",\"-p\"],\"options\":{\"model\":\"x\"}}",
           "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}", "X:completed 0");
    fx_release(&f);
}

/* ---- emit_many and re-entrancy ---------------------------------------------------------- */

static void test_runtime_emit_many_6000(void)
{
    struct fx f;
    char want[128];

    fx_init(&f,
            "- announce: n\n"
            "- emit_many: {count: 6000, kind: stream_delta, content: \"d%d\", meta: {i: \"%d-%d\", "
            "n: 1}}\n",
            true);
    mp_run_start(f.run);
    /* hello, announced, A, 6000 x (emitted, event), done, ended */
    CU_ASSERT_EQUAL_FATAL(f.r.n, 3 + 12000 + 2);
    CU_ASSERT_STRING_EQUAL(f.r.log[3],
                           "C:{\"type\":\"emitted\",\"index\":0,\"event\":{\"kind\":"
                           "\"stream_delta\",\"content\":\"d1\",\"meta\":{\"i\":\"1-1\","
                           "\"n\":1},\"sessionId\":\"n\"}}");
    CU_ASSERT_STRING_EQUAL(f.r.log[4], "E:{\"kind\":\"stream_delta\",\"content\":\"d1\",\"meta\":"
                                       "{\"i\":\"1-1\",\"n\":1},\"sessionId\":\"n\"}");
    for (int i = 0; i < 6000; i++) {
        snprintf(want, sizeof(want),
                 "C:{\"type\":\"emitted\",\"index\":%d,\"event\":{\"kind\":"
                 "\"stream_delta\",\"content\":\"d%d\",",
                 i, i + 1);
        if (strncmp(f.r.log[3 + 2 * i], want, strlen(want)) != 0) {
            CU_FAIL("emitted index/content");
            break;
        }
        snprintf(want, sizeof(want), "E:{\"kind\":\"stream_delta\",\"content\":\"d%d\",", i + 1);
        if (strncmp(f.r.log[4 + 2 * i], want, strlen(want)) != 0) {
            CU_FAIL("event content");
            break;
        }
    }
    CU_ASSERT_STRING_EQUAL(f.r.log[12002],
                           "E:{\"kind\":\"stream_delta\",\"content\":\"d6000\","
                           "\"meta\":{\"i\":\"6000-6000\",\"n\":1},\"sessionId\":\"n\"}");
    CU_ASSERT_STRING_EQUAL(f.r.log[12004], "X:completed 0");
    fx_release(&f);
}

static void test_runtime_abort_from_inside_event_callback(void)
{
    struct fx f;

    fx_init(&f, "- emit_many: {count: 100, kind: d}\n- complete: 0\n", true);
    f.r.abort_at_event = 2;
    f.r.abort_in_ended = true;
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"emitted\",\"index\":0,\"event\":{\"kind\":\"d\"}}",
           "E:{\"kind\":\"d\"}", "C:{\"type\":\"emitted\",\"index\":1,\"event\":{\"kind\":\"d\"}}",
           "E:{\"kind\":\"d\"}", "C:{\"type\":\"aborted\",\"during\":0}",
           "C:{\"type\":\"done\",\"how\":\"aborted\",\"exitCode\":0}", "X:aborted 0");
    CU_ASSERT_FALSE(f.r.abort_in_ended_ret);
    fx_release(&f);

    /* with on_abort: ignore the stream goes on after the abort */
    fx_init(&f, "- on_abort: ignore\n- emit_many: {count: 3, kind: d}\n", true);
    f.r.abort_at_event = 1;
    mp_run_start(f.run);
    EXPECT(&f, "C:hello", "C:{\"type\":\"emitted\",\"index\":0,\"event\":{\"kind\":\"d\"}}",
           "E:{\"kind\":\"d\"}", "C:{\"type\":\"aborted\",\"during\":0}",
           "C:{\"type\":\"emitted\",\"index\":1,\"event\":{\"kind\":\"d\"}}", "E:{\"kind\":\"d\"}",
           "C:{\"type\":\"emitted\",\"index\":2,\"event\":{\"kind\":\"d\"}}", "E:{\"kind\":\"d\"}",
           "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}", "X:completed 0");
    fx_release(&f);
}

/* ---- scripts from the directive module -------------------------------------------------- */

static void test_runtime_error_and_default_scripts(void)
{
    struct mp_directive d;
    struct rec r = {0};
    struct mp_run *run;

    r.log = wc_xcalloc(LOG_MAX, sizeof(char *));
    mp_directive_parse("gwspec:{\"v\":1,\"ctl\":\"127.0.0.1:1\",\"script\":[{\"nope\":1}]}", NULL,
                       &d);
    run = mp_run_new(&d, NULL, &full_sink, &r);
    r.run = run;
    mp_run_start(run);
    CU_ASSERT_EQUAL_FATAL(r.n, 7);
    CU_ASSERT_STRING_EQUAL(r.log[0], "C:hello");
    CU_ASSERT_STRING_EQUAL(
        r.log[2],
        "E:{\"kind\":\"error\",\"content\":\"gwspec: script step 1: unknown step 'nope'\"}");
    CU_ASSERT_STRING_EQUAL(r.log[4], "E:{\"kind\":\"complete\",\"exitCode\":1}");
    CU_ASSERT_STRING_EQUAL(r.log[5], "C:{\"type\":\"done\",\"how\":\"completed\",\"exitCode\":0}");
    mp_run_free(run);
    mp_directive_release(&d);
    for (size_t i = 0; i < r.n; i++)
        free(r.log[i]);
    r.n = 0;
    r.ended = 0;

    /* no directive: announce, one delta per word, complete 0; no control lines */
    mp_directive_parse("hi there", NULL, &d);
    run = mp_run_new(&d, NULL, &full_sink, &r);
    r.run = run;
    mp_run_start(run);
    CU_ASSERT_EQUAL_FATAL(r.n, 5);
    CU_ASSERT_EQUAL(strncmp(r.log[0], "A:nat-", 6), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.log[1], "\"content\":\"hi\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.log[2], "\"content\":\" there\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.log[3], "\"kind\":\"complete\",\"exitCode\":0"));
    CU_ASSERT_STRING_EQUAL(r.log[4], "X:completed 0");
    mp_run_free(run);
    mp_directive_release(&d);
    for (size_t i = 0; i < r.n; i++)
        free(r.log[i]);
    free(r.log);
}

static void on_ended_only(void *ctx, enum mp_end how, int code)
{
    *(int *)ctx = 100 * (int)how + code;
}

static void test_runtime_null_callbacks(void)
{
    static const struct mp_run_sink sink = {.ended = on_ended_only};
    struct mp_directive d;
    struct mp_run *run;
    int ended = -1;

    mp_directive_parse(
        "gwspec:{\"v\":1,\"ctl\":\"127.0.0.1:1\",\"script\":[{\"announce\":\"auto\"},"
        "{\"permission\":{\"toolName\":\"Bash\"}},{\"delay\":10},{\"emit\":{\"kind\":\"a\"}},"
        "{\"exit\":4}]}",
        NULL, &d);
    CU_ASSERT_PTR_NULL(d.error);
    run = mp_run_new(&d, NULL, &sink, &ended);
    mp_run_start(run);
    CU_ASSERT_EQUAL(ended, 100 * MP_END_COMPLETED + 4);
    mp_run_free(run);
    mp_directive_release(&d);
}

static int suite_init(void)
{
    alarm(30); /* the interpreter loops: a hang fails instead of sticking */
    wc_log_setup("test-mock-providers", WC_LOG_ERROR); /* bad control input warns: expected */
    return 0;
}

static int suite_cleanup(void)
{
    alarm(0);
    return 0;
}

/* With sink->yield, an emit_many hands the loop back every 128 events; an abort while it
 * yields stops it, and a resume then (or when not yielding) does nothing. */
static void test_runtime_emit_many_yields(void)
{
    struct fx f;

    fx_yield = true;
    fx_init(&f, "- emit_many: {count: 300, kind: stream_delta, content: \"d%d\"}\n- exit: 3\n",
            true);
    fx_yield = false;
    mp_run_start(f.run);
    CU_ASSERT_EQUAL_FATAL(f.r.n, 1 + 2 * 128 + 1);
    CU_ASSERT_STRING_EQUAL(f.r.log[256], "E:{\"kind\":\"stream_delta\",\"content\":\"d128\"}");
    CU_ASSERT_STRING_EQUAL(f.r.log[257], "Y");
    CU_ASSERT_STRING_EQUAL(mp_run_state_name(f.run), "emit_many");
    fx_clear_log(&f);
    mp_run_resume(f.run);
    CU_ASSERT_EQUAL_FATAL(f.r.n, 2 * 128 + 1);
    CU_ASSERT_STRING_EQUAL(f.r.log[0], "C:{\"type\":\"emitted\",\"index\":128,\"event\":{\"kind\":"
                                       "\"stream_delta\",\"content\":\"d129\"}}");
    CU_ASSERT_STRING_EQUAL(f.r.log[256], "Y");
    fx_clear_log(&f);
    mp_run_resume(f.run);
    CU_ASSERT_EQUAL_FATAL(f.r.n, 2 * 44 + 2);
    CU_ASSERT_STRING_EQUAL(f.r.log[87], "E:{\"kind\":\"stream_delta\",\"content\":\"d300\"}");
    CU_ASSERT_STRING_EQUAL(f.r.log[89], "X:completed 3");
    fx_clear_log(&f);
    mp_run_resume(f.run); /* over: nothing */
    CU_ASSERT_EQUAL(f.r.n, 0);
    fx_release(&f);

    /* an abort while yielding */
    fx_yield = true;
    fx_init(&f, "- emit_many: {count: 300, kind: stream_delta, content: x}\n- exit: 0\n", true);
    fx_yield = false;
    mp_run_start(f.run);
    fx_clear_log(&f);
    mp_run_resume(f.run); /* yielding at 128: go on to 256 */
    CU_ASSERT_STRING_EQUAL(f.r.log[f.r.n - 1], "Y");
    fx_clear_log(&f);
    CU_ASSERT_TRUE(mp_run_abort(f.run));
    EXPECT(&f, "C:{\"type\":\"aborted\",\"during\":0}",
           "C:{\"type\":\"done\",\"how\":\"aborted\",\"exitCode\":0}", "X:aborted 0");
    mp_run_resume(f.run);
    CU_ASSERT_EQUAL(f.r.n, 0);
    fx_release(&f);
}

/* The driver's consumer is full (R-LIMIT-5): what on_full answers. */
static bool fx_consumer_full;

static bool on_full(void *ctx)
{
    (void)ctx;
    return fx_consumer_full;
}

static const struct mp_run_sink pressure_sink = {
    .event = on_event,
    .announce = on_announce,
    .permission = on_permission,
    .control = on_control,
    .timer = on_timer,
    .yield = on_yield,
    .full = on_full,
    .ended = on_ended,
};

/* With sink->full, the run yields after every event while the consumer is full, in an emit
 * step as in an emit_many, and runs on without yielding once it is not. */
static void test_runtime_yields_while_consumer_full(void)
{
    struct fx f;

    fx_init(&f,
            "- emit: {kind: text, content: a}\n- emit: {kind: text, content: b}\n"
            "- emit_many: {count: 3, kind: stream_delta, content: \"d%d\"}\n- exit: 0\n",
            false);
    mp_run_free(f.run);
    f.run = mp_run_new(&f.d, &f.info, &pressure_sink, &f.r);
    f.r.run = f.run;
    fx_consumer_full = true;
    mp_run_start(f.run);
    EXPECT(&f, "E:{\"kind\":\"text\",\"content\":\"a\"}", "Y");
    mp_run_resume(f.run);
    EXPECT(&f, "E:{\"kind\":\"text\",\"content\":\"b\"}", "Y");
    mp_run_resume(f.run);
    EXPECT(&f, "E:{\"kind\":\"stream_delta\",\"content\":\"d1\"}", "Y");
    mp_run_resume(f.run);
    EXPECT(&f, "E:{\"kind\":\"stream_delta\",\"content\":\"d2\"}", "Y");
    fx_consumer_full = false;
    mp_run_resume(f.run);
    EXPECT(&f, "E:{\"kind\":\"stream_delta\",\"content\":\"d3\"}", "X:completed 0");
    fx_release(&f);
}

static CU_TestInfo runtime_tests[] = {
    {"yields_while_consumer_full", test_runtime_yields_while_consumer_full},
    {"emit_many_yields", test_runtime_emit_many_yields},
    {"hello_has_every_fact", test_runtime_hello_has_every_fact},
    {"emitted_comes_before_event", test_runtime_emitted_comes_before_event},
    {"announce_auto_is_seeded", test_runtime_announce_auto_is_seeded},
    {"session_created", test_runtime_session_created},
    {"complete_twice_and_emit_after_complete", test_runtime_complete_twice_and_emit_after_complete},
    {"crash_and_exit", test_runtime_crash_and_exit},
    {"hang_never_ends", test_runtime_hang_never_ends},
    {"on_abort_ignore_carries_on", test_runtime_on_abort_ignore_carries_on},
    {"on_abort_hang", test_runtime_on_abort_hang},
    {"abort_stops_wherever", test_runtime_abort_stops_wherever},
    {"abort_before_announce_at_barrier", test_runtime_abort_before_announce_at_barrier},
    {"abort_before_start", test_runtime_abort_before_start},
    {"barrier_waits_for_its_release", test_runtime_barrier_waits_for_its_release},
    {"release_before_reached", test_runtime_release_before_reached},
    {"no_control_channel_passes_barriers", test_runtime_no_control_channel_passes_barriers},
    {"permission_answered_and_cancelled", test_runtime_permission_answered_and_cancelled},
    {"delay_uses_the_timer", test_runtime_delay_uses_the_timer},
    {"report_sends_requested_facts", test_runtime_report_sends_requested_facts},
    {"emit_many_6000", test_runtime_emit_many_6000},
    {"abort_from_inside_event_callback", test_runtime_abort_from_inside_event_callback},
    {"error_and_default_scripts", test_runtime_error_and_default_scripts},
    {"null_callbacks", test_runtime_null_callbacks},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo mp_runtime_suites[] = {
    {.pName = "mp_runtime",
     .pInitFunc = suite_init,
     .pCleanupFunc = suite_cleanup,
     .pTests = runtime_tests},
    CU_SUITE_INFO_NULL,
};
