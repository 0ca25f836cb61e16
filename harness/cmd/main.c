/*
 * main.c: the `gwspec` command line: run, list, lint, check, record, replay, diff, spec.
 *
 * Exit codes (EXIT_TABLE below, printed by --help): 0 at least one case was scored and every
 * scored case passed (after the baseline); 1 a case failed, a baseline entry is stale, or a
 * whole-catalog run finds a MUST without a case; 2 a
 * usage or case-file error, including a selection that selects or scores nothing and an unknown
 * mutant, requirement or tag; 3 the target is unreachable, a case is ERROR, a report cannot be
 * written, or the run was interrupted.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/coverage.h"
#include "check/invariant.h"
#include "cmd/cmd_check.h"
#include "cmd/cmd_diff.h"
#include "cmd/cmd_load.h"
#include "cmd/cmd_spec.h"
#include "cmd/run.h"
#include "exec/budget.h"
#include "model/casedir.h"
#include "dialect/dialect.h"
#include "model/scenario.h"
#include "replay/record.h"
#include "replay/replay.h"
#include "report/report.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_io.h"
#include "wc_banned.h"

static const char *prog = "gwspec";

#define EXIT_TABLE                                                                                 \
    "exit status:\n"                                                                               \
    "  0  at least one case was scored and every scored case passed (after --baseline)\n"          \
    "  1  a case FAILED (not a known failure), a --baseline entry is stale, or a\n"                \
    "     whole-catalog run finds a MUST requirement that no case cites (and that is\n"            \
    "     not marked untestable)\n"                                                                \
    "  2  usage or case-file error: a bad option, a case file that does not lint, a\n"             \
    "     selection that selects no case (--filter, --exclude, --tag, --req, --shard or a\n"       \
    "     path with no case) or whose every case is UNIMPLEMENTED or SKIPPED, an unknown\n"        \
    "     --mutant (not in `gwspec-gateway --mutant list`), --req id or --tag\n"                   \
    "  3  harness or target error: the target cannot be started or reached, a case is\n"           \
    "     ERROR, a --junit/--tap/--json/--html report cannot be written (the others are\n"         \
    "     still written), or the run was interrupted (SIGINT, SIGTERM, SIGHUP: the run\n"          \
    "     stops every process it started first)\n"

static void usage_main(FILE *fp)
{
    fprintf(fp,
            "usage: %s COMMAND [OPTIONS]\n"
            "\n"
            "Conformance suite and test harness for chat gateways.\n"
            "\n"
            "commands:\n"
            "  run [CASES...]      run cases (default: every cases/**/*.yaml) against a target\n"
            "  list [--checks]     list cases with their requirement ids and tags, or the\n"
            "                      invariant checkers\n"
            "  lint [FILES...]     validate case files strictly (file:line:col: message)\n"
            "  check TRANSCRIPT... run the invariant checkers over recorded transcripts\n"
            "  record              a recording WebSocket proxy in front of a gateway\n"
            "  replay TRANSCRIPT   turn a transcript into a case (--minimize to shrink it)\n"
            "  report DIR          the HTML, JUnit or TAP report of a saved `run --json DIR`\n"
            "  diff OLD NEW        compare two `run --json` results: every changed verdict\n"
            "  spec diff OLD NEW   requirements added, removed and changed between two spec\n"
            "                      versions, with the cases that cite each\n"
            "  load                drive a target with many clients and runs, check the\n"
            "                      streaming invariants live, report throughput and latency\n"
            "\n"
            "  --version           the harness version and the spec versions it finds\n"
            "\n"
            "`%s COMMAND --help` describes each command.\n"
            "\n" EXIT_TABLE,
            prog, prog);
}

static void usage_run(FILE *fp)
{
    fprintf(fp,
            "usage: %s run [OPTIONS] [CASES...]\n"
            "\n"
            "Run case files or directories (default: cases/) against a target. Without\n"
            "--target the reference gateway is started on a free loopback port (the binary in\n"
            "$GWSPEC_GATEWAY, or gwspec-gateway next to this program) and stopped at the end.\n"
            "\n"
            "  --target PROFILE    a profile name (fixtures/targets/NAME.yaml) or path\n"
            "  --mutant NAME       start the reference gateway with one deliberate bug\n"
            "  --filter GLOB       only cases whose id matches (repeatable: any)\n"
            "  --exclude GLOB      skip cases whose id matches (repeatable)\n"
            "  --tag TAG           only cases with this tag (repeatable: any)\n"
            "  --strict            include strict (SHOULD-level) cases\n"
            "  -j N                run N cases at once, each in its own worker process\n"
            "  --shard K/N         run the K-th of N shards (by id order)\n"
            "  --seed N            the run seed: case order and every generated id (default:\n"
            "                      chosen from time and pid, and printed)\n"
            "  --repeat N          run the selection N times (seeds N, N+1, ...)\n"
            "  --baseline FILE     known failures (fixtures/baselines/*.yaml): each entry a\n"
            "                      case, a requirement and a witness key (printed after each\n"
            "                      failure as `baseline: requirement R-.., witness KEY`)\n"
            "  --junit FILE        write JUnit XML\n"
            "  --tap FILE          write TAP\n"
            "  --json DIR          write DIR/index.json and DIR/cases/<id>.json\n"
            "  --html FILE         write one self-contained HTML page: the verdict matrix and,\n"
            "                      for every case that is not OK, its failures and transcript\n"
            "  --spec-version V    the spec version (default chatgw/1.0 = spec/chatgw-1.0;\n"
            "                      $GWSPEC_SPEC_PATH, colon-separated, is searched first)\n"
            "  --timeout-ms N      the safety timeout of every waiting step (default: the\n"
            "                      case's timeout_ms, 5000)\n"
            "  --max-case-bytes N  what one case may hold of the target's frames (an estimate\n"
            "                      of their records' memory; K, M, G suffixes; 0: no cap;\n"
            "                      default 128M). Past it the case is ERROR, saying so, its\n"
            "                      connections are closed with 1008 and nothing after is\n"
            "                      recorded. Pings past 1000 on one connection are counted\n"
            "                      and answered, not recorded\n"
            "  -v, --verbose       print the failures of every case and the two-sided\n"
            "                      transcript (client and gateway frames, provider events) of\n"
            "                      every case that is not OK\n"
            "  --fail-fast         stop at the first FAILED or ERROR case: the cases not yet\n"
            "                      started are not run (and not reported); cases already\n"
            "                      running with -j finish\n"
            "  -h, --help          this text\n"
            "\n"
            "The summary gives the requirement coverage per level (exercised, not run, without\n"
            "a case, marked untestable). Only a run of the whole catalog (no --filter,\n"
            "--exclude, --tag, --req, --shard, no case path but cases/) enforces it: a MUST\n"
            "that no case cites and that requirements.yaml does not mark `untestable:` fails\n"
            "the run. A narrowed run reports the requirements its cases cite.\n"
            "\n"
            "Every process the run starts (gateways, workers) is in a process group of its own\n"
            "that the run stops, with its state directory, on exit and on SIGINT, SIGTERM,\n"
            "SIGHUP or a crash; a run killed with SIGKILL takes its processes with it and the\n"
            "next run removes the directory it left. GWSPEC_MANIFEST=FILE appends one line per\n"
            "process or directory started (\"gateway PID DIR\", \"worker PID\", \"dir PATH\").\n"
            "\n" EXIT_TABLE,
            prog);
}

static void usage_list(FILE *fp)
{
    fprintf(fp,
            "usage: %s list [--checks] [--json] [--tag T] [--filter GLOB] [--req ID] [CASES...]\n"
            "\n"
            "Print one line per case: id, requirement ids, tags. --checks prints the invariant\n"
            "checker table instead. An unknown --req id or --tag is a usage error (exit 2); a\n"
            "--req id that no case cites is said on stderr, and exit 2 when nothing is listed.\n",
            prog);
}

static void usage_lint(FILE *fp)
{
    fprintf(fp,
            "usage: %s lint [--spec-version V] [FILES...]\n"
            "\n"
            "Validate case files (default: every cases/**/*.yaml) strictly: unknown keys,\n"
            "wrong types, missing keys, ids that differ from the file name, unknown requirement\n"
            "ids, unknown clients, scripts, barriers and variables. Linting the whole catalog\n"
            "(no FILES, or the cases/ directory itself) also checks requirement coverage: a\n"
            "MUST of the spec version that no case cites and that is not marked `untestable:`\n"
            "is a problem, and so is an untestable requirement a case cites. Prints\n"
            "file:line:col: message per problem; exit 2 on any.\n",
            prog);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return false;
    *out = v;
    return true;
}

static bool parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    if (!s || !*s)
        return false;
    long v = strtol(s, &end, 10);
    if (*end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

enum {
    OPT_TARGET = 1000,
    OPT_MUTANT,
    OPT_FILTER,
    OPT_EXCLUDE,
    OPT_TAG,
    OPT_STRICT,
    OPT_SHARD,
    OPT_SEED,
    OPT_REPEAT,
    OPT_BASELINE,
    OPT_JUNIT,
    OPT_TAP,
    OPT_JSON,
    OPT_SPEC,
    OPT_TIMEOUT,
    OPT_CHECKS,
    OPT_REQ,
    OPT_JSONOUT,
    OPT_HTML,
    OPT_FAIL_FAST,
    OPT_MAX_CASE_BYTES,
};

static int bad_usage(void (*usage)(FILE *), const char *msg, const char *arg)
{
    if (msg)
        fprintf(stderr, "%s: %s%s%s\n", prog, msg, arg ? ": " : "", arg ? arg : "");
    usage(stderr);
    return 2;
}

/* `gwspec run`: its options into struct hn_run_cfg, then hn_run (cmd/run.c).
 * long: the option table and one flat switch with a short case per option (23 options). */
static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"target", required_argument, NULL, OPT_TARGET},
        {"mutant", required_argument, NULL, OPT_MUTANT},
        {"filter", required_argument, NULL, OPT_FILTER},
        {"exclude", required_argument, NULL, OPT_EXCLUDE},
        {"tag", required_argument, NULL, OPT_TAG},
        {"req", required_argument, NULL, OPT_REQ},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"seed", required_argument, NULL, OPT_SEED},
        {"repeat", required_argument, NULL, OPT_REPEAT},
        {"baseline", required_argument, NULL, OPT_BASELINE},
        {"junit", required_argument, NULL, OPT_JUNIT},
        {"tap", required_argument, NULL, OPT_TAP},
        {"json", required_argument, NULL, OPT_JSON},
        {"html", required_argument, NULL, OPT_HTML},
        {"spec-version", required_argument, NULL, OPT_SPEC},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
        {"verbose", no_argument, NULL, 'v'},
        {"fail-fast", no_argument, NULL, OPT_FAIL_FAST},
        {"max-case-bytes", required_argument, NULL, OPT_MAX_CASE_BYTES},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct hn_run_cfg cfg = {.jobs = 1,
                             .repeat = 1,
                             .spec_version = "chatgw/1.0",
                             .progname = prog,
                             .argc = argc,
                             .argv = argv,
                             .max_case_bytes = HN_MAX_CASE_BYTES_DEFAULT};
    json_t *filters = json_array(), *excludes = json_array(), *tags = json_array();
    json_t *reqs = json_array();
    int c, rc;
    long n;

    cfg.filters = filters;
    cfg.excludes = excludes;
    cfg.tags = tags;
    cfg.reqs = reqs;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:vh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_TARGET:
            cfg.target = optarg;
            break;
        case OPT_MUTANT:
            cfg.mutant = optarg;
            break;
        case OPT_FILTER:
            json_array_append_new(filters, json_string(optarg));
            break;
        case OPT_EXCLUDE:
            json_array_append_new(excludes, json_string(optarg));
            break;
        case OPT_TAG:
            json_array_append_new(tags, json_string(optarg));
            break;
        case OPT_REQ:
            json_array_append_new(reqs, json_string(optarg));
            break;
        case OPT_STRICT:
            cfg.strict = true;
            break;
        case OPT_SHARD:
            if (hn_shard_parse(optarg, &cfg.shard_k, &cfg.shard_n) != 0) {
                rc = bad_usage(usage_run, "--shard takes K/N with 1 <= K <= N", optarg);
                goto out;
            }
            break;
        case OPT_SEED:
            if (!parse_u64(optarg, &cfg.seed)) {
                rc = bad_usage(usage_run, "--seed takes a non-negative integer", optarg);
                goto out;
            }
            cfg.seed_given = true;
            break;
        case OPT_REPEAT:
            if (!parse_int(optarg, 1, 100000, &n)) {
                rc = bad_usage(usage_run, "--repeat takes a positive integer", optarg);
                goto out;
            }
            cfg.repeat = (int)n;
            break;
        case 'j':
            if (!parse_int(optarg, 1, 256, &n)) {
                rc = bad_usage(usage_run, "-j takes 1..256", optarg);
                goto out;
            }
            cfg.jobs = (int)n;
            break;
        case OPT_BASELINE:
            cfg.baseline = optarg;
            break;
        case OPT_JUNIT:
            cfg.junit = optarg;
            break;
        case OPT_TAP:
            cfg.tap = optarg;
            break;
        case OPT_JSON:
            cfg.json_dir = optarg;
            break;
        case OPT_HTML:
            cfg.html = optarg;
            break;
        case OPT_SPEC:
            cfg.spec_version = optarg;
            break;
        case OPT_TIMEOUT:
            if (!parse_int(optarg, 1, 3600000, &n)) {
                rc = bad_usage(usage_run, "--timeout-ms takes 1..3600000", optarg);
                goto out;
            }
            cfg.timeout_ms = n;
            break;
        case 'v':
            cfg.verbose = true;
            break;
        case OPT_FAIL_FAST:
            cfg.fail_fast = true;
            break;
        case OPT_MAX_CASE_BYTES:
            if (!hn_budget_parse_bytes(optarg, &cfg.max_case_bytes)) {
                rc = bad_usage(usage_run, "--max-case-bytes takes a byte count (K, M, G: 1024s)",
                               optarg);
                goto out;
            }
            break;
        case 'h':
            usage_run(stdout);
            rc = 0;
            goto out;
        default:
            rc = bad_usage(usage_run, NULL, NULL);
            goto out;
        }
    }
    cfg.cases = argv + optind;
    cfg.ncases = (size_t)(argc - optind);
    rc = hn_run(&cfg);
out:
    json_decref(reqs);
    json_decref(filters);
    json_decref(excludes);
    json_decref(tags);
    return rc;
}

static void join(const json_t *arr, char *out, size_t outlen)
{
    size_t i, off = 0;
    json_t *e;
    out[0] = '\0';
    json_array_foreach(arr, i, e)
    {
        int w = snprintf(out + off, outlen - off, "%s%s", i ? "," : "", json_string_value(e));
        if (w < 0 || (size_t)w >= outlen - off)
            break;
        off += (size_t)w;
    }
}

/*
 * `gwspec list --json`: the selected cases and the spec's requirements, for tools such as
 * tests/mutants.sh. Returns 0 so the caller prints no text lines.
 */
static size_t print_list_json(const struct hn_spec *spec, struct hn_case **sel, size_t n)
{
    json_t *out = json_object(), *cases = json_array(), *reqs = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            cases, json_pack("{s:s,s:s,s:O,s:O,s:O,s:b,s:b,s:b}", "id", sel[i]->id, "file",
                             sel[i]->file, "spec", sel[i]->spec, "tags", sel[i]->tags, "needs",
                             sel[i]->needs, "strict", sel[i]->strict, "own_target",
                             sel[i]->own_target, "own_users", sel[i]->own_users));
    for (size_t i = 0; i < spec->n; i++) {
        const struct hn_req *r = &spec->reqs[i];
        json_t *o = json_pack("{s:s,s:s}", "id", r->id, "level", hn_level_name(r->level));
        if (r->capability)
            json_object_set_new(o, "capability", json_string(r->capability));
        if (r->untestable)
            json_object_set_new(o, "untestable", json_string(r->untestable));
        json_array_append_new(reqs, o);
    }
    json_object_set_new(out, "cases", cases);
    json_object_set_new(out, "requirements", reqs);
    json_dumpf(out, stdout, JSON_INDENT(1));
    putchar('\n');
    json_decref(out);
    return 0;
}

/* Each --req id that no loaded case cites, said on stderr (a spec author asking for a new
 * requirement's cases must not get an empty list that looks like success). The count. */
static size_t no_case_for_reqs(const struct hn_caselist *all, const struct hn_spec *spec,
                               const json_t *reqs)
{
    size_t i, k, n = 0;
    json_t *r, *id;

    json_array_foreach(reqs, i, r)
    {
        bool cited = false;
        const struct hn_req *q = hn_spec_find(spec, json_string_value(r));
        for (k = 0; k < all->n && !cited; k++) {
            size_t j;
            json_array_foreach(all->v[k]->spec, j, id) cited |= json_equal(id, r);
        }
        if (!cited) {
            fprintf(stderr, "%s: no case cites %s (%s)%s\n", prog, json_string_value(r),
                    q ? hn_level_name(q->level) : "?",
                    q && q->untestable ? ", marked untestable" : "");
            n++;
        }
    }
    return n;
}

/* `gwspec list`: the checkers, or the selected cases (as text or JSON).
 * long: half of it is the option table and its flat switch; the rest, loading and selecting,
 * is what `run` does in select_cases (cmd/run.c) and moves with the command table of issue 12. */
static int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"checks", no_argument, NULL, OPT_CHECKS},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"tag", required_argument, NULL, OPT_TAG},
        {"filter", required_argument, NULL, OPT_FILTER},
        {"req", required_argument, NULL, OPT_REQ},
        {"json", no_argument, NULL, OPT_JSONOUT},
        {"spec-version", required_argument, NULL, OPT_SPEC},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool checks = false, as_json = false;
    const char *version = "chatgw/1.0";
    json_t *tags = json_array(), *filters = json_array(), *reqs = json_array();
    int c, rc = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CHECKS:
            checks = true;
            break;
        case OPT_STRICT:
            break;
        case OPT_TAG:
            json_array_append_new(tags, json_string(optarg));
            break;
        case OPT_FILTER:
            json_array_append_new(filters, json_string(optarg));
            break;
        case OPT_REQ:
            json_array_append_new(reqs, json_string(optarg));
            break;
        case OPT_JSONOUT:
            as_json = true;
            break;
        case OPT_SPEC:
            version = optarg;
            break;
        case 'h':
            usage_list(stdout);
            goto out;
        default:
            rc = bad_usage(usage_list, NULL, NULL);
            goto out;
        }
    }
    if (checks) {
        size_t n;
        const struct hn_invariant_info *t = hn_dialect_for(version)->checks(&n);
        for (size_t i = 0; i < n; i++)
            printf("%-22s %-28s %s\n", t[i].name, t[i].requirements, t[i].description);
        goto out;
    }
    char *dir = hn_spec_dir(version), *err = NULL;
    struct hn_spec *spec = hn_spec_load(dir, &err);
    free(dir);
    if (!spec) {
        fprintf(stderr, "%s: %s\n", prog, err);
        free(err);
        rc = 2;
        goto out;
    }
    json_t *paths = json_array(), *errs = json_array();
    struct hn_caselist all = {0};
    const struct hn_dialect *d = hn_dialect_for(version);
    spec->wire = &d->wire;
    if (hn_casedir_find_skip(argv + optind, (size_t)(argc - optind), d->case_dir, d->foreign_dirs,
                             paths, errs) != 0 ||
        hn_casedir_load(paths, spec, &all, errs) != 0) {
        size_t i;
        json_t *e;
        json_array_foreach(errs, i, e) fprintf(stderr, "%s\n", json_string_value(e));
        rc = 2;
    } else {
        struct hn_select s = {.filters = filters, .tags = tags, .reqs = reqs, .strict = true};
        struct hn_case **sel;
        size_t n;
        if (hn_select_check_names(&all, spec, &s, errs) != 0) {
            size_t i;
            json_t *e;
            json_array_foreach(errs, i, e) fprintf(stderr, "%s: %s\n", prog, json_string_value(e));
            rc = 2;
            goto done;
        }
        hn_casedir_select(&all, &s, &sel, &n);
        if (no_case_for_reqs(&all, spec, reqs) && n == 0)
            rc = 2; /* as `run`: a selection that selects nothing is a usage error */
        if (as_json)
            n = print_list_json(spec, sel, n);
        for (size_t i = 0; i < n; i++) {
            char rq[512], tg[512];
            join(sel[i]->spec, rq, sizeof(rq));
            join(sel[i]->tags, tg, sizeof(tg));
            printf("%-40s %-32s %s%s\n", sel[i]->id, rq, tg, sel[i]->strict ? " (strict)" : "");
        }
        free(sel);
    }
done:
    hn_caselist_release(&all);
    json_decref(paths);
    json_decref(errs);
    hn_spec_free(spec);
out:
    json_decref(reqs);
    json_decref(tags);
    json_decref(filters);
    return rc;
}

static int cmd_lint(int argc, char **argv)
{
    static const struct option opts[] = {
        {"spec-version", required_argument, NULL, OPT_SPEC},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *version = "chatgw/1.0";
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_SPEC:
            version = optarg;
            break;
        case 'h':
            usage_lint(stdout);
            return 0;
        default:
            return bad_usage(usage_lint, NULL, NULL);
        }
    }
    char *dir = hn_spec_dir(version), *err = NULL;
    struct hn_spec *spec = hn_spec_load(dir, &err);
    free(dir);
    if (!spec) {
        fprintf(stderr, "%s: %s\n", prog, err);
        free(err);
        return 2;
    }
    json_t *paths = json_array(), *errs = json_array();
    struct hn_caselist all = {0};
    const struct hn_dialect *d = hn_dialect_for(version);
    int rc = 0;
    spec->wire = &d->wire;
    hn_casedir_find_skip(argv + optind, (size_t)(argc - optind), d->case_dir, d->foreign_dirs,
                         paths, errs);
    hn_casedir_load(paths, spec, &all, errs);
    /* the whole catalog: every MUST needs a case or an `untestable:` reason (coverage.h) */
    struct hn_select whole = {0};
    if (hn_coverage_is_whole(&whole, argv + optind, (size_t)(argc - optind), d->case_dir)) {
        json_t *cov = hn_coverage_compute(spec, &all, NULL, 0, NULL, true);
        hn_coverage_problems(spec, cov, true, errs);
        json_decref(cov);
    }
    if (json_array_size(errs)) {
        size_t i;
        json_t *e;
        json_array_foreach(errs, i, e) printf("%s\n", json_string_value(e));
        fprintf(stderr, "%s: %zu problem(s)\n", prog, json_array_size(errs));
        rc = 2;
    } else {
        printf("%zu file(s), %zu case(s): OK\n", json_array_size(paths), all.n);
    }
    hn_caselist_release(&all);
    json_decref(paths);
    json_decref(errs);
    hn_spec_free(spec);
    return rc;
}

/* Print every spec version found in directory `dir`; the count. */
static int list_specs(const char *dir)
{
    DIR *d;
    struct dirent *e;
    int found = 0;

    if ((d = opendir(dir)) == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char *sub, *err = NULL;
        struct hn_spec *spec;
        if (e->d_name[0] == '.')
            continue;
        sub = wc_xasprintf("%s/%s", dir, e->d_name);
        spec = hn_spec_load(sub, &err);
        if (spec) {
            printf("spec %s: %s (%zu requirements)\n", spec->version ? spec->version : "?", sub,
                   spec->n);
            found++;
        }
        hn_spec_free(spec);
        free(err);
        free(sub);
    }
    closedir(d);
    return found;
}

/* `gwspec --version`: the harness, the report format and every spec version found (in
 * $GWSPEC_SPEC_PATH first, as the lookup goes). */
static int print_version(void)
{
    char *dir = hn_spec_dir("chatgw/1.0"), *slash = strrchr(dir, '/');
    const char *path = getenv("GWSPEC_SPEC_PATH"), *colon;
    int found = 0;

    printf("gwspec %s (report format %s)\n", HN_VERSION, HN_REPORT_FORMAT);
    for (; path && *path; path = colon ? colon + 1 : "") {
        colon = strchr(path, ':');
        char *one = colon ? wc_xstrndup(path, (size_t)(colon - path)) : wc_xstrdup(path);
        if (*one)
            found += list_specs(one);
        free(one);
    }
    if (slash)
        *slash = '\0';
    found += list_specs(slash ? dir : "spec");
    if (!found)
        printf("spec: none found (looked in %s)\n", slash ? dir : "spec");
    free(dir);
    return 0;
}

/* The subcommands, as git has them: a name and a function that takes its own argv (argv[0] is
 * the command's name) and returns the process's exit status. usage_main lists them. */
static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} commands[] = {
    {"run", cmd_run},        {"list", cmd_list},        {"lint", cmd_lint},
    {"check", hn_cmd_check}, {"record", hn_cmd_record}, {"replay", hn_cmd_replay},
    {"diff", hn_cmd_diff},   {"spec", hn_cmd_spec},     {"report", hn_cmd_report},
    {"load", hn_cmd_load},
};

int main(int argc, char **argv)
{
    const char *cmd;

    wc_sanitize_stdfds(); /* a closed stdin would become a log file, then a child's /dev/null */
    wc_log_setup("gwspec", WC_LOG_WARN);
    if (argc >= 1 && argv[0] && strchr(argv[0], '/'))
        prog = argv[0];
    if (argc < 2) {
        usage_main(stderr);
        return 2;
    }
    cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage_main(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version"))
        return print_version();
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
    usage_main(stderr);
    return 2;
}
