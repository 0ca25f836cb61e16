/*
 * fuzz_case.c: the case loader and linter (hn_case_load_string: YAML through lib/wc_yaml.c,
 * every step, pattern and embedded provider script) against spec/chatgw-1.0 (fuzz/README.md).
 * The input is a case file. Oracles beyond the sanitizers: the loader either appends cases or
 * reports problems, never both and never neither; every problem is one line that starts with
 * "<name>:LINE:COL: " (the project's rule for a bad case file).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/scenario.h"
#include "wc_log.h"
#include "wc_mem.h"

#include "wc_banned.h"

static struct hn_spec *spec;
static char name[80]; /* "<id>.yaml": the file name the input's own id asks for, so the loader
                       * goes past the id check into the matrix and the steps */

/* The id of the first line "id: X" (X of [A-Za-z0-9._-], at most 64), or "case". */
static void name_from_id(const char *text)
{
    const char *p = text;
    size_t n = 0;

    while (p && strncmp(p, "id: ", 4) != 0) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    if (p) {
        p += 4;
        while (n < 64 && (isalnum((unsigned char)p[n]) || (p[n] && strchr("._-", p[n]))))
            n++;
    }
    snprintf(name, sizeof(name), "%.*s.yaml", n ? (int)n : 4, n ? p : "case");
}

static void check(int ok)
{
    if (!ok)
        abort();
}

/* "<name>:LINE:COL: " then text with no newline */
static int positioned(const char *m)
{
    size_t k = strlen(name);
    int part;

    if (strncmp(m, name, k) != 0 || m[k] != ':')
        return 0;
    m += k + 1;
    for (part = 0; part < 2; part++) {
        if (!isdigit((unsigned char)*m) || *m == '0')
            return 0;
        while (isdigit((unsigned char)*m))
            m++;
        if (*m++ != ':')
            return 0;
    }
    return *m == ' ' && !strchr(m, '\n');
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *err = NULL;

    wc_log_setup("fuzz", WC_LOG_QUIET);
    spec = hn_spec_load(GWSPEC_SRCDIR "/spec/chatgw-1.0", &err);
    if (!spec) {
        fprintf(stderr, "fuzz_case: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = wc_xstrndup((const char *)data, size);
    struct hn_caselist list = {0};
    json_t *errs = json_array();
    size_t i;
    int rc;

    name_from_id(text);
    rc = hn_case_load_string(name, text, spec, &list, errs);

    if (rc == 0)
        check(list.n > 0 && json_array_size(errs) == 0);
    else
        check(list.n == 0 && json_array_size(errs) > 0);
    for (i = 0; i < json_array_size(errs); i++) {
        const char *m = json_string_value(json_array_get(errs, i));
        if (!m || !positioned(m)) {
            fprintf(stderr, "fuzz_case: a problem without %s:LINE:COL on one line: %s\n", name,
                    m ? m : "(not a string)");
            abort();
        }
    }
    hn_caselist_release(&list);
    json_decref(errs);
    free(text);
    return 0;
}
