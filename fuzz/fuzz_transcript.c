/*
 * fuzz_transcript.c: the transcript reader and every checker (hn_transcript_load_string, then
 * the checkers of the dialect the header's `spec` names, with the message catalog the header
 * asks for), as `gwspec check` runs them on a recorded fixture (fuzz/README.md): chatgw/1's
 * table with the catalog of spec/chatgw-1.0, dispatch-ws/1's (D-1 ... D-12, no catalog; the
 * dispatch_check target drives those alone). The input is a JSONL transcript. Oracles beyond the
 * sanitizers: a loaded transcript always gets a result with a violations array, and writing it
 * back out succeeds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/invariant.h"
#include "dialect/dialect.h"
#include "model/msgcat.h"
#include "model/transcript.h"
#include "wc_json.h"
#include "wc_log.h"
#include "wc_mem.h"

#include "wc_banned.h"

#define SPEC_DIR GWSPEC_SRCDIR "/spec/chatgw-1.0"

static struct hn_msgcat *plain; /* the catalog without extensions, loaded once */
static FILE *sink;

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *err = NULL;

    wc_log_setup("fuzz", WC_LOG_QUIET);
    plain = hn_msgcat_load(SPEC_DIR, NULL, NULL, &err);
    sink = fopen("/dev/null", "w");
    if (!plain || !sink) {
        fprintf(stderr, "fuzz_transcript: %s\n", err ? err : "/dev/null");
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = wc_xstrndup((const char *)data, size);
    char *err = NULL;
    struct hn_transcript *t = hn_transcript_load_string("t.jsonl", text, &err);
    struct hn_msgcat *cat = plain;
    const struct hn_dialect *d;
    json_t *ext, *res;

    free(text);
    if (!t) {
        check(err != NULL);
        free(err);
        return 0;
    }
    d = hn_dialect_for(wc_json_str(hn_transcript_header(t), "spec"));
    if (!d->catalog_required) {
        /* dispatch-ws/1: its checkers take no catalog */
        res = d->check_run(t, NULL);
        check(json_is_array(json_object_get(res, "violations")));
        json_decref(res);
        check(hn_transcript_write_jsonl(t, sink) == 0);
        hn_transcript_free(t);
        return 0;
    }
    /* a header that declares extensions gets its own catalog, as gwspec check does */
    ext = json_object_get(hn_transcript_header(t), "extensions");
    if (ext) {
        cat = hn_msgcat_load(SPEC_DIR, json_object_get(ext, "kinds"), json_object_get(ext, "types"),
                             &err);
        free(err);
    }
    if (cat) {
        res = d->check_run(t, cat);
        check(json_is_array(json_object_get(res, "violations")));
        json_decref(res);
    }
    check(hn_transcript_write_jsonl(t, sink) == 0);
    if (cat && cat != plain)
        hn_msgcat_free(cat);
    hn_transcript_free(t);
    return 0;
}
