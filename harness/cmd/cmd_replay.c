/*
 * cmd_replay.c: `gwspec replay`: transcript -> case, and `--minimize`: ddmin over the case's items,
 * each candidate run by this same binary (`gwspec run --json`) in a child process against the
 * buggy target and, with --mutant, against the clean reference gateway too.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/cmd_check.h"
#include "dialect/dialect.h"
#include "model/msgcat.h"
#include "model/scenario.h"
#include "model/transcript.h"
#include "replay/replay.h"
#include "wc_buf.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_banned.h"

struct mctx {
    const struct hn_replay_model *m;
    struct hn_replay_opts *o;
    const struct hn_spec *spec;
    const char *mutant;       /* or NULL */
    const char *target;       /* or NULL */
    const char *clean_target; /* "reference" with --mutant, or --clean-target, or NULL */
    const char *requirement;
    const char *dir; /* scratch directory */
    char exe[4096];
    long timeout_ms;
    bool verbose;
    int runs;
};

static void usage(FILE *fp)
{
    fprintf(
        fp,
        "usage: gwspec replay TRANSCRIPT [OPTIONS]\n"
        "\n"
        "Turn a transcript (from `gwspec record`, a live run, or written by hand) into a case:\n"
        "the client's frames become steps, the run events each session received become\n"
        "provider scripts (native ids regenerated), and the expectations are what a\n"
        "conforming gateway must send. Prints the case (YAML) or writes it to --out.\n"
        "\n"
        "  --out FILE            write the case here (default: stdout)\n"
        "  --id ID               the case id (default 12.0.1-replayed); the file name of\n"
        "                        --out should be ID.yaml\n"
        "  --title T, --description D, --expectation E   the case's texts\n"
        "  --tag TAG             an extra tag (repeatable)\n"
        "  --requirement R       the requirement the case guards (default: the first the\n"
        "                        recording breaks)\n"
        "  --findings            print the requirements the recording breaks and exit\n"
        "  --spec-version V      default: the transcript header's spec, else chatgw/1.0\n"
        "\n"
        "  --minimize            delta debugging over the steps and script events: keep\n"
        "                        removing while the case still fails with the same\n"
        "                        requirement against the target (and, with --mutant, still\n"
        "                        passes against the clean reference gateway)\n"
        "  --mutant NAME         the target is the reference gateway with this mutant\n"
        "  --target PROFILE      the target is this profile\n"
        "  --clean-target P      with --target: a profile the case must pass against\n"
        "  --timeout-ms N        safety timeout of each candidate's waits (default 2000)\n"
        "  -v                    print every candidate's outcome\n"
        "exit: 0 written, 1 the full case does not reproduce (with --minimize), 2 usage or\n"
        "input error\n");
}

/* Run one case file with `gwspec run --json`; returns the case result or NULL. */
static json_t *run_case(struct mctx *c, const char *file, const char *id, bool clean)
{
    char *json_dir = wc_xasprintf("%s/out-%d", c->dir, ++c->runs);
    char tmo[32];
    const char *argv[16];
    int n = 0;
    json_t *res = NULL;

    snprintf(tmo, sizeof(tmo), "%ld", c->timeout_ms);
    argv[n++] = c->exe;
    argv[n++] = "run";
    argv[n++] = "--seed";
    argv[n++] = "1";
    argv[n++] = "--strict";
    argv[n++] = "--timeout-ms";
    argv[n++] = tmo;
    argv[n++] = "--json";
    argv[n++] = json_dir;
    if (clean) {
        if (strcmp(c->clean_target, "reference")) {
            argv[n++] = "--target";
            argv[n++] = c->clean_target;
        }
    } else if (c->mutant) {
        argv[n++] = "--mutant";
        argv[n++] = c->mutant;
    } else if (c->target) {
        argv[n++] = "--target";
        argv[n++] = c->target;
    }
    argv[n++] = file;
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execv(c->exe, (char *const *)argv);
        _exit(127);
    }
    if (pid > 0) {
        int st;
        waitpid(pid, &st, 0);
        char *rep = wc_xasprintf("%s/cases/%s.json", json_dir, id);
        res = json_load_file(rep, 0, NULL);
        free(rep);
    }
    free(json_dir);
    return res;
}

static bool fails_with(const json_t *res, const char *req)
{
    const char *v = wc_json_str(res, "verdict");
    size_t i;
    json_t *f;

    if (!v || (strcmp(v, "FAILED") && strcmp(v, "NON-STRICT")))
        return false;
    json_array_foreach(json_object_get(res, "failures"), i, f)
    {
        const char *r = wc_json_str(f, "requirement"), *k = wc_json_str(f, "kind");
        if (r && !strcmp(r, req) && k && strcmp(k, "error"))
            return true;
    }
    return false;
}

static char *write_candidate(struct mctx *c, const json_t *cs)
{
    char *file = wc_xasprintf("%s/%s.yaml", c->dir, wc_json_str(cs, "id"));
    char *yaml = hn_replay_yaml(cs);
    FILE *fp = fopen(file, "w");
    if (fp) {
        fputs(yaml, fp);
        fclose(fp);
    }
    free(yaml);
    return file;
}

/* The case lints (the linter is the cheap first filter of a candidate). */
static bool lints(struct mctx *c, const json_t *cs)
{
    struct hn_caselist l = {0};
    json_t *errs = json_array();
    char *yaml = hn_replay_yaml(cs);
    char *name = wc_xasprintf("%s.yaml", wc_json_str(cs, "id"));
    int rc = hn_case_load_string(name, yaml, c->spec, &l, errs);
    if (rc != 0 && c->verbose) {
        size_t i;
        json_t *e;
        json_array_foreach(errs, i, e) fprintf(stderr, "  lint: %s\n", json_string_value(e));
    }
    hn_caselist_release(&l);
    json_decref(errs);
    free(name);
    free(yaml);
    return rc == 0;
}

/* Does the case fail the same way against the target, and pass against the clean one? */
static bool reproduces(struct mctx *c, const json_t *cs, const char **why)
{
    if (!lints(c, cs)) {
        *why = "does not lint";
        return false;
    }
    char *file = write_candidate(c, cs);
    const char *id = wc_json_str(cs, "id");
    json_t *res = run_case(c, file, id, false);
    bool ok = fails_with(res, c->requirement);
    *why = ok ? "fails as wanted" : "does not fail with the requirement";
    json_decref(res);
    if (ok && c->clean_target) {
        res = run_case(c, file, id, true);
        ok = res && !strcmp(wc_json_str(res, "verdict") ? wc_json_str(res, "verdict") : "", "OK");
        *why = ok ? "fails against the target and passes clean" : "does not pass clean";
        json_decref(res);
    }
    free(file);
    return ok;
}

static bool dd_test(const bool *keep, size_t n, void *ctx)
{
    struct mctx *c = ctx;
    json_t *cs = hn_replay_render(c->m, keep, c->o);
    const char *why = "";
    bool ok = reproduces(c, cs, &why);
    if (c->verbose) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += keep[i];
        fprintf(stderr, "gwspec replay: candidate of %zu item(s), size %zu: %s\n", k,
                hn_replay_case_size(cs), why);
    }
    json_decref(cs);
    return ok;
}

static void rm_rf(const char *dir)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

/* What the command line asks for, besides the replay and minimizer options. */
struct replay_args {
    const char *path;    /* the transcript */
    const char *out;     /* --out FILE, NULL for stdout */
    const char *version; /* --spec-version, NULL for the transcript's */
    bool minimize;       /* --minimize */
    bool findings_only;  /* --findings */
};

/* Phase 1: the options. Returns -1 to go on, else the exit status (0 --help, 2 a bad one).
 * long: one flat switch with a short case per option (sixteen options). */
static int parse_args(int argc, char **argv, struct replay_args *a, struct hn_replay_opts *o,
                      struct mctx *mc, json_t *tags)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"id", required_argument, NULL, 'i'},
        {"title", required_argument, NULL, 't'},
        {"description", required_argument, NULL, 'd'},
        {"expectation", required_argument, NULL, 'e'},
        {"tag", required_argument, NULL, 'g'},
        {"requirement", required_argument, NULL, 'q'},
        {"spec-version", required_argument, NULL, 's'},
        {"findings", no_argument, NULL, 'F'},
        {"minimize", no_argument, NULL, 'M'},
        {"mutant", required_argument, NULL, 'm'},
        {"target", required_argument, NULL, 'T'},
        {"clean-target", required_argument, NULL, 'C'},
        {"timeout-ms", required_argument, NULL, 'w'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    char *end;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case 'o':
            a->out = optarg;
            break;
        case 'i':
            o->id = optarg;
            break;
        case 't':
            o->title = optarg;
            break;
        case 'd':
            o->description = optarg;
            break;
        case 'e':
            o->expectation = optarg;
            break;
        case 'g':
            json_array_append_new(tags, json_string(optarg));
            break;
        case 'q':
            o->requirement = optarg;
            break;
        case 's':
            a->version = optarg;
            break;
        case 'F':
            a->findings_only = true;
            break;
        case 'M':
            a->minimize = true;
            break;
        case 'm':
            mc->mutant = optarg;
            break;
        case 'T':
            mc->target = optarg;
            break;
        case 'C':
            mc->clean_target = optarg;
            break;
        case 'w':
            mc->timeout_ms = strtol(optarg, &end, 10);
            if (*end || mc->timeout_ms < 1 || mc->timeout_ms > 3600000) {
                fprintf(stderr, "gwspec replay: --timeout-ms takes 1..3600000\n");
                return 2;
            }
            break;
        case 'v':
            mc->verbose = true;
            break;
        default:
            fprintf(stderr, "gwspec replay: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc)
        a->path = argv[optind];
    if (argc - optind > 1) {
        fprintf(stderr, "gwspec replay: one transcript at a time ('%s')\n", argv[optind + 1]);
        return 2;
    }
    if (!a->path) {
        usage(stderr);
        return 2;
    }
    if (a->minimize && !!mc->mutant == !!mc->target) {
        fprintf(stderr, "gwspec replay: --minimize needs exactly one of --mutant and --target\n");
        return 2;
    }
    return -1;
}

/* What phase 2 loads (each NULL until loaded). */
struct replay_input {
    struct hn_transcript *t;
    char *dir; /* the spec directory */
    struct hn_spec *spec;
    struct hn_msgcat *cat; /* NULL when the catalog does not load (a warning) */
    struct hn_replay_model *m;
};

/* Phase 2: the transcript, its spec and catalog, the model. 0, or 2 after saying why. */
static int load_input(const struct replay_args *a, struct replay_input *in)
{
    const char *version = a->version;
    char *err = NULL;

    in->t = hn_transcript_load(a->path, &err);
    if (!in->t) {
        fprintf(stderr, "gwspec replay: %s\n", err);
        free(err);
        return 2;
    }
    if (!version)
        version = wc_json_str(hn_transcript_header(in->t), "spec");
    if (hn_dialect_for(version) != &hn_dialect_chatgw1) {
        fprintf(stderr, "gwspec replay: %s is a %s transcript; replay speaks chatgw/1 only\n",
                a->path, hn_dialect_for(version)->name);
        return 2;
    }
    in->dir = hn_spec_locate(version);
    if (!in->dir) {
        fprintf(stderr, "gwspec replay: no spec directory for '%s'\n",
                version ? version : "chatgw/1.0");
        return 2;
    }
    in->spec = hn_spec_load(in->dir, &err);
    if (!in->spec) {
        fprintf(stderr, "gwspec replay: %s\n", err);
        free(err);
        return 2;
    }
    json_t *ext = json_object_get(hn_transcript_header(in->t), "extensions");
    in->cat =
        hn_msgcat_load(in->dir, json_object_get(ext, "kinds"), json_object_get(ext, "types"), &err);
    if (!in->cat) {
        fprintf(stderr, "gwspec replay: warning: catalog: %s\n", err);
        free(err);
    }
    in->m = hn_replay_model_build(in->t, in->cat);
    return 0;
}

static void print_notes(const struct hn_replay_model *m)
{
    size_t i;
    json_t *e;

    json_array_foreach(hn_replay_notes(m), i, e)
        fprintf(stderr, "gwspec replay: note: %s\n", json_string_value(e));
}

/*
 * Phase 3, --minimize: ddmin over the model's items, each candidate run against the target.
 * *cs is replaced by the minimized case. Returns the exit status; *write says whether *cs is
 * still written (it is when the full case does not reproduce, rc 1).
 */
static int minimize_case(struct mctx *mc, const struct hn_replay_model *m,
                         const struct hn_replay_opts *o, json_t **cs, bool *write)
{
    char tmpl[] = "/tmp/gwspec-replay.XXXXXX";
    ssize_t len = readlink("/proc/self/exe", mc->exe, sizeof(mc->exe) - 1);
    const char *why = "";

    *write = false;
    if (len <= 0 || !mkdtemp(tmpl)) {
        fprintf(stderr, "gwspec replay: cannot set up the minimizer: %s\n", strerror(errno));
        return 3;
    }
    mc->exe[len] = '\0';
    mc->dir = tmpl;
    if (!mc->clean_target && mc->mutant)
        mc->clean_target = "reference";
    if (!o->requirement) {
        fprintf(stderr, "gwspec replay: --minimize needs a requirement (--requirement)\n");
        rm_rf(tmpl);
        return 2;
    }
    mc->requirement = o->requirement;
    *write = true;
    if (!reproduces(mc, *cs, &why)) {
        fprintf(stderr, "gwspec replay: the full case does not reproduce (%s: %s); not minimized\n",
                o->requirement, why);
        rm_rf(tmpl);
        return 1;
    }
    size_t n = hn_replay_items(m);
    bool *keep = wc_xcalloc(n + 1, sizeof(bool));
    for (size_t i = 0; i < n; i++)
        keep[i] = true;
    size_t before = hn_replay_case_size(*cs);
    size_t tests = hn_ddmin(n, keep, dd_test, mc);
    json_decref(*cs);
    *cs = hn_replay_render(m, keep, o);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += keep[i];
    fprintf(stderr,
            "gwspec replay: minimized %s: %zu -> %zu item(s), case size %zu -> %zu "
            "(steps + script steps), %zu candidate(s) tested\n",
            o->requirement, n, k, before, hn_replay_case_size(*cs), tests);
    free(keep);
    rm_rf(tmpl);
    return 0;
}

/* Phase 4: the case as YAML to out (NULL stdout). rc, or 2 when out cannot be written. */
static int write_case(const json_t *cs, const char *out, int rc)
{
    char *yaml = hn_replay_yaml(cs);
    FILE *fp = out ? fopen(out, "w") : stdout;

    if (!fp) {
        fprintf(stderr, "gwspec replay: %s: %s\n", out, strerror(errno));
        rc = 2;
    } else {
        fputs(yaml, fp);
        if (fp != stdout)
            fclose(fp);
    }
    free(yaml);
    return rc;
}

/* The case of one transcript (phase 3 without --minimize). Returns the exit status; *write
 * says whether cs is written. */
static int make_case(const struct replay_args *a, struct hn_replay_opts *o, struct mctx *mc,
                     const struct replay_input *in, json_t **cs, bool *write)
{
    json_t *findings = hn_replay_findings(in->m);
    int rc = 0;

    *write = false;
    if (a->findings_only) {
        size_t i;
        json_t *e;
        json_array_foreach(findings, i, e) printf("%s\n", json_string_value(e));
        print_notes(in->m);
        json_decref(findings);
        return 0;
    }
    if (!o->requirement)
        o->requirement = json_string_value(json_array_get(findings, 0));
    if (!o->requirement)
        fprintf(stderr, "gwspec replay: warning: the recording breaks no requirement that can be "
                        "seen from it; give --requirement\n");
    o->source = a->path;
    o->spec = in->spec;
    print_notes(in->m);
    *cs = hn_replay_render(in->m, NULL, o);
    mc->m = in->m;
    mc->o = o;
    mc->spec = in->spec;
    if (!lints(mc, *cs)) {
        mc->verbose = true;
        lints(mc, *cs);
        fprintf(stderr,
                "gwspec replay: the generated case does not lint (a bug of gwspec replay)\n");
        *write = true;
        rc = 3;
    } else if (a->minimize) {
        rc = minimize_case(mc, in->m, o, cs, write);
    } else {
        *write = true;
    }
    /* o->requirement may point into findings: the case is rendered, the minimizer done */
    json_decref(findings);
    return rc;
}

int hn_cmd_replay(int argc, char **argv)
{
    struct replay_args a = {0};
    struct hn_replay_opts o = {0};
    struct mctx mc = {.timeout_ms = 2000};
    struct replay_input in = {0};
    json_t *tags = json_array(), *cs = NULL;
    bool write = false;
    int rc;

    o.tags = tags;
    rc = parse_args(argc, argv, &a, &o, &mc, tags);
    if (rc < 0)
        rc = load_input(&a, &in);
    if (rc == 0 && in.m)
        rc = make_case(&a, &o, &mc, &in, &cs, &write);
    if (write && cs)
        rc = write_case(cs, a.out, rc);
    json_decref(cs);
    json_decref(tags);
    hn_replay_model_free(in.m);
    hn_msgcat_free(in.cat);
    hn_spec_free(in.spec);
    hn_transcript_free(in.t);
    free(in.dir);
    return rc;
}
