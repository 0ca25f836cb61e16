/*
 * fuzz_dispatch_check.c: the transcript reader and the dispatch-ws/1 checkers D-1 ... D-12
 * (harness/check/dispatch.c) over fuzzed transcripts, as `gwspec check` runs them on a
 * transcript whose header says `"spec":"dispatch-ws/1"` (fuzz/README.md). Every transcript that
 * loads is checked by Dispatch's table whatever its header says, so the fuzzer need not find
 * the header first; the transcript target runs the same dialect choice as `gwspec check`.
 * Oracles beyond the sanitizers: the result has a violations array and a checks object with an
 * entry for every checker of the table; each violation names a checker of the table, a
 * requirement and a message, with at most two witness record numbers and as many frames; a
 * second run over the same transcript gives the same result (no state carried between runs, no
 * read of uninitialized memory deciding a verdict); writing the transcript back out succeeds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/dispatch.h"
#include "model/transcript.h"
#include "wc_json.h"
#include "wc_log.h"
#include "wc_mem.h"

#include "wc_banned.h"

static FILE *sink;

static void check(int ok)
{
    if (!ok)
        abort();
}

static bool known_checker(const struct hn_invariant_info *tab, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++) {
        if (!strcmp(tab[i].name, name))
            return true;
    }
    return false;
}

static void check_result(const json_t *res)
{
    size_t n, i;
    const struct hn_invariant_info *tab = hn_dispatch_table(&n);
    const json_t *viol = json_object_get(res, "violations"),
                 *checks = json_object_get(res, "checks");
    const json_t *v;

    check(json_is_array(viol) && json_is_object(checks));
    for (i = 0; i < n; i++)
        check(json_object_get(checks, tab[i].name) != NULL);
    json_array_foreach(viol, i, v)
    {
        const json_t *wit = json_object_get(v, "witness");
        check(known_checker(tab, n, wc_json_str(v, "checker")));
        check(wc_json_str(v, "requirement") && wc_json_str(v, "message"));
        check(json_is_array(wit) && json_array_size(wit) <= 2);
        check(json_array_size(json_object_get(v, "frames")) == json_array_size(wit));
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wc_log_setup("fuzz", WC_LOG_QUIET);
    sink = fopen("/dev/null", "w");
    if (!sink) {
        fprintf(stderr, "fuzz_dispatch_check: /dev/null\n");
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = wc_xstrndup((const char *)data, size);
    char *err = NULL;
    struct hn_transcript *t = hn_transcript_load_string("t.jsonl", text, &err);
    json_t *res, *again;

    free(text);
    if (!t) {
        check(err != NULL);
        free(err);
        return 0;
    }
    res = hn_dispatch_run(t, NULL);
    check_result(res);
    again = hn_dispatch_run(t, NULL);
    check(json_equal(res, again));
    json_decref(again);
    json_decref(res);
    check(hn_transcript_write_jsonl(t, sink) == 0);
    hn_transcript_free(t);
    return 0;
}
