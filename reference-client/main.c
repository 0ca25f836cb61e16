/*
 * main.c: gwspec-client, the reference client of the client dialects (README.md). CLI only.
 *
 *   gwspec-client --dialect claude-remote --url URL [--ctl HOST:PORT] [--case TOKEN]
 *                 [--token T] [--time-scale N] [--mutant NAME] [-v]
 *   gwspec-client --dialect claude-control --cli PATH [--ctl HOST:PORT] [--case TOKEN]
 *                 [--time-scale N] [--mutant NAME] [-v]
 *   gwspec-client [--dialect D] --list-mutants
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "mutants.h"
#include "wc_io.h"
#include "wc_log.h"
#include "wc_banned.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: gwspec-client --dialect claude-remote --url ws://HOST:PORT/PATH\n"
               "                     [--ctl HOST:PORT] [--case TOKEN] [--token T]\n"
               "                     [--time-scale N] [--mutant NAME] [-v|--verbose]\n"
               "       gwspec-client --dialect claude-control --cli PATH [--ctl HOST:PORT]\n"
               "                     [--case TOKEN] [--time-scale N] [--mutant NAME] [-v]\n"
               "       gwspec-client [--dialect D] --list-mutants\n");
}

/* The mutants of one dialect: name, the requirement it breaks there, its effect. */
static void list_mutants(bool control)
{
    for (int i = 1; i < RC_MUT_COUNT; i++) {
        const char *req = rc_mutant_requirement(i, control);
        if (req)
            printf("%-28s %-11s %s\n", rc_mutants[i].name, req, rc_mutants[i].what);
    }
}

static bool is_control(const char *dialect)
{
    return dialect && (!strcmp(dialect, "claude-control") || !strcmp(dialect, "claude-control/1"));
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"dialect", required_argument, NULL, 'd'},
                                             {"url", required_argument, NULL, 'u'},
                                             {"cli", required_argument, NULL, 'C'},
                                             {"ctl", required_argument, NULL, 'c'},
                                             {"case", required_argument, NULL, 'k'},
                                             {"token", required_argument, NULL, 't'},
                                             {"time-scale", required_argument, NULL, 's'},
                                             {"mutant", required_argument, NULL, 'm'},
                                             {"list-mutants", no_argument, NULL, 'L'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct rc_client_opts o = {.time_scale = 1, .mutant = RC_MUT_NONE};
    const char *dialect = NULL, *cli = NULL, *mutant = NULL;
    int opt, verbose = 0;
    bool list = false;
    char *end;

    wc_sanitize_stdfds();
    while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dialect = optarg;
            break;
        case 'u':
            o.url = optarg;
            break;
        case 'C':
            cli = optarg;
            break;
        case 'c':
            o.ctl = optarg;
            break;
        case 'k':
            o.case_token = optarg;
            break;
        case 't':
            o.token = optarg;
            break;
        case 's':
            o.time_scale = strtod(optarg, &end);
            if (*end || !(o.time_scale > 0) || o.time_scale > 1000) {
                fprintf(stderr, "gwspec-client: --time-scale: a number in (0, 1000], got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'm':
            mutant = optarg;
            break;
        case 'L':
            list = true;
            break;
        case 'v':
            verbose++;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gwspec-client: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (list) {
        list_mutants(is_control(dialect));
        return 0;
    }
    if (!dialect || (strcmp(dialect, "claude-remote") && strcmp(dialect, "claude-remote/1") &&
                     !is_control(dialect))) {
        fprintf(stderr,
                "gwspec-client: --dialect: claude-remote or claude-control is implemented%s%s\n",
                dialect ? ", not " : "", dialect ? dialect : "");
        return 2;
    }
    if (mutant) {
        int m = rc_mutant_find(mutant);
        if (m < 0 || !rc_mutant_requirement(m, is_control(dialect))) {
            fprintf(stderr, "gwspec-client: unknown mutant '%s' of %s (--list-mutants)\n", mutant,
                    dialect);
            return 2;
        }
        o.mutant = (enum rc_mutant)m;
    }
    if (is_control(dialect)) {
        if (!cli) {
            fprintf(stderr, "gwspec-client: --cli PATH is required for claude-control\n");
            usage(stderr);
            return 2;
        }
        wc_log_setup("gwspec-client", verbose >= 2 ? WC_LOG_DEBUG
                                      : verbose    ? WC_LOG_INFO
                                                   : WC_LOG_WARN);
        struct rc_cli_opts co = {
            .cli = cli, .ctl = o.ctl, .case_token = o.case_token, .mutant = o.mutant};
        return rc_cli_run(&co);
    }
    if (!o.url) {
        fprintf(stderr, "gwspec-client: --url is required\n");
        usage(stderr);
        return 2;
    }
    wc_log_setup("gwspec-client", verbose >= 2 ? WC_LOG_DEBUG
                                  : verbose    ? WC_LOG_INFO
                                               : WC_LOG_WARN);
    return rc_client_run(&o);
}
