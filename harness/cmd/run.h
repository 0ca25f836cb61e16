/*
 * run.h: `gwspec run`: select and order the cases, start the target, run the cases (in
 * parallel worker processes with -j), repeat, grade, apply the baseline, write the reports, and
 * compute the exit status.
 *
 * Layer cmd/ (harness/README.md): uses model/casedir, exec/runner and exec/target, check/verdict,
 * report/report and model/msgcat.
 */
#ifndef HN_RUN_H
#define HN_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The harness version (`gwspec --version`). */
#define HN_VERSION "1.0.0"

struct hn_run_cfg {
    const char *target; /* profile name or path; NULL: the reference gateway */
    const char *mutant; /* --mutant NAME for the spawned gateway, or NULL */
    json_t *filters;    /* globs on case ids (borrowed) */
    json_t *excludes;
    json_t *tags;
    json_t *reqs; /* requirement ids: only cases citing one (borrowed) */
    bool strict;
    int jobs;             /* >= 1 */
    int shard_k, shard_n; /* shard_n 0: none */
    bool seed_given;
    uint64_t seed;
    int repeat;           /* >= 1 */
    const char *baseline; /* or NULL */
    const char *junit;
    const char *tap;
    const char *json_dir;
    const char *html;         /* --html FILE, or NULL */
    const char *spec_version; /* "chatgw/1.0" */
    bool verbose;
    bool fail_fast;          /* stop at the first FAILED or ERROR case; the rest are not run */
    int64_t timeout_ms;      /* 0: per case */
    uint64_t max_case_bytes; /* --max-case-bytes (exec/budget.h); 0: no cap */
    char *const *cases;      /* case files/dirs from the command line */
    size_t ncases;
    const char *progname; /* for rerun lines: "bin/gwspec" */
    int argc;             /* the command line as given (argv[0] "run"), for the reports */
    char *const *argv;
};

/*
 * `gwspec report [--html FILE] [--junit FILE] [--tap FILE] DIR`: the reports of a run saved with
 * `gwspec run --json DIR`, written again from DIR/index.json and DIR/cases/ (the console summary
 * too). 0, 2 (usage, or DIR is not a report) or 3 (a report cannot be written).
 */
int hn_cmd_report(int argc, char **argv);

/* Run; returns the process exit status (0, 1, 2 or 3). */
int hn_run(const struct hn_run_cfg *cfg);

/* The seed of one case in one repetition (the same on every machine). */
uint64_t hn_case_seed(uint64_t run_seed, const char *case_id);

#endif
