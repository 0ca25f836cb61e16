/* main.c: the gwspec-gateway command line: options, signals, the listening line. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "mutants.h"
#include "provider.h"
#include "server.h"
#include "users.h"
#include "wc_err.h"
#include "wc_log.h"
#include "wc_mem.h"
#include "wc_time.h"

#include "wc_io.h"
#include "wc_banned.h"

#define GW_MAX_DISABLED 8 /* --disable-provider names kept (repeats beyond are dropped) */
#define VERSION_LINE    "gwspec-gateway 0.1.0 (chatgw/1.0)"

static struct gw_server *running_server; /* for the signal handler only */

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: gwspec-gateway [options]\n"
        "The gwspec reference chat gateway (chatgw/1.0): HTTP + WebSocket on one port.\n"
        "\n"
        "  --port N                  listen port; 0 picks a free one (default 0)\n"
        "  --host ADDR               listen address (default 127.0.0.1)\n"
        "  --token NAME:SECRET       add a user with a static token (repeatable)\n"
        "  --users FILE              users from YAML: users: [{name: alice, token: s3cret}]\n"
        "  --db PATH                 SQLite session store (default :memory:)\n"
        "  --seed N                  PRNG seed for ids (default: from /dev/urandom)\n"
        "  --replay-cap N            replay buffer per run, in events (default 5000)\n"
        "  --replay-bytes BYTES      replay buffer per run, in bytes of event JSON: the oldest\n"
        "                            events go first, the newest stays (default 16777216,\n"
        "                            16 MiB; 0 = no byte cap)\n"
        "  --replay-budget BYTES     every run's replay buffer together: completed runs'\n"
        "                            buffers go first, then running runs' oldest events\n"
        "                            (default 67108864, 64 MiB; 0 = no budget)\n"
        "  --retain-ms N             a completed run (its lastSeq, its buffer) is kept N ms\n"
        "                            after its complete (default 300000; 0 = until the next send)\n"
        "  --store-bytes BYTES       event history kept by the store: past it the least recently\n"
        "                            active sessions lose their oldest messages (default\n"
        "                            67108864, 64 MiB; 0 = no limit)\n"
        "  --permission-timeout-ms N permission request timeout (default 55000)\n"
        "  --max-frame BYTES         inbound message cap, close 1009 above (default 1048576)\n"
        "  --send-cap BYTES          per-connection send queue cap, at least 1024 (default "
        "8388608)\n"
        "  --stall-timeout-s N       drop a socket whose full send queue (a quarter of the cap)\n"
        "                            does not move for N s (default 30)\n"
        "  --ping-interval-ms N      heartbeat ping interval; 0 = off (default 30000)\n"
        "  --pong-timeout-ms N       drop a socket whose ping has no pong after N ms\n"
        "                            (default two intervals, the least R-HB-2 allows)\n"
        "  --disable-provider NAME   no runtime for NAME (repeatable): its sessions can still\n"
        "                            be created and listed, chat.send gets UNSUPPORTED_PROVIDER\n"
        "  --fixtures DIR            where named provider scripts live (default $GWSPEC_FIXTURES"
        " or fixtures)\n"
        "  --allow-ctl HOST[,HOST]   control addresses a prompt's directive may name besides\n"
        "                            loopback (repeatable; default: loopback only)\n"
        "  --dialect NAME            chatgw (default) or dispatch: Dispatch's transport-ws\n"
        "                            (spec/dispatch-ws-1; no tokens needed, README)\n"
        "  --models A[,B...]         dispatch: the models chat.send may name (default mock)\n"
        "  --mutant NAME|list        switch on one deliberate bug; 'list' prints them\n"
        "  --log-level LEVEL         quiet, error, warn (default), info or debug\n"
        "  --help                    this text\n"
        "  --version                 print the version\n"
        "\n"
        "Prints 'listening on HOST:PORT' on stdout once it listens. Logs go to stderr.\n");
}

static void on_signal(int sig)
{
    (void)sig;
    if (running_server)
        gw_server_stop(running_server);
}

static int parse_num(const char *opt, const char *s, long long min, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min)
        return wc_error(WC_ERR_CONFIG, "%s: '%s' is not a number >= %lld", opt, s, min);
    *out = v;
    return WC_OK;
}

static uint64_t urandom_seed(void)
{
    uint64_t seed = 0;
    FILE *f = fopen("/dev/urandom", "rb");

    if (!f || fread(&seed, sizeof(seed), 1, f) != 1)
        seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)wc_now_us();
    if (f)
        fclose(f);
    return seed;
}

static int log_level(const char *s, enum wc_log_level *lvl, int *lws_mask)
{
    static const struct {
        const char *name;
        enum wc_log_level lvl;
        int lws;
    } levels[] = {
        {"quiet", WC_LOG_QUIET, 0},
        {"error", WC_LOG_ERROR, LLL_ERR},
        {"warn", WC_LOG_WARN, LLL_ERR | LLL_WARN},
        {"info", WC_LOG_INFO, LLL_ERR | LLL_WARN | LLL_NOTICE},
        {"debug", WC_LOG_DEBUG, LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO},
    };

    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcmp(s, levels[i].name) == 0) {
            *lvl = levels[i].lvl;
            *lws_mask = levels[i].lws;
            return WC_OK;
        }
    }
    return wc_error(WC_ERR_CONFIG, "--log-level: unknown level '%s'", s);
}

enum {
    OPT_PORT = 256,
    OPT_HOST,
    OPT_TOKEN,
    OPT_USERS,
    OPT_DB,
    OPT_SEED,
    OPT_REPLAY_CAP,
    OPT_REPLAY_BYTES,
    OPT_REPLAY_BUDGET,
    OPT_RETAIN_MS,
    OPT_STORE_BYTES,
    OPT_PERM_TIMEOUT,
    OPT_MAX_FRAME,
    OPT_SEND_CAP,
    OPT_STALL,
    OPT_PING,
    OPT_PONG,
    OPT_DISABLE,
    OPT_FIXTURES,
    OPT_ALLOW_CTL,
    OPT_MUTANT,
    OPT_DIALECT,
    OPT_MODELS,
    OPT_LOG_LEVEL,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option long_opts[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"host", required_argument, NULL, OPT_HOST},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"users", required_argument, NULL, OPT_USERS},
    {"db", required_argument, NULL, OPT_DB},
    {"seed", required_argument, NULL, OPT_SEED},
    {"replay-cap", required_argument, NULL, OPT_REPLAY_CAP},
    {"replay-bytes", required_argument, NULL, OPT_REPLAY_BYTES},
    {"replay-budget", required_argument, NULL, OPT_REPLAY_BUDGET},
    {"retain-ms", required_argument, NULL, OPT_RETAIN_MS},
    {"store-bytes", required_argument, NULL, OPT_STORE_BYTES},
    {"permission-timeout-ms", required_argument, NULL, OPT_PERM_TIMEOUT},
    {"max-frame", required_argument, NULL, OPT_MAX_FRAME},
    {"send-cap", required_argument, NULL, OPT_SEND_CAP},
    {"stall-timeout-s", required_argument, NULL, OPT_STALL},
    {"ping-interval-ms", required_argument, NULL, OPT_PING},
    {"pong-timeout-ms", required_argument, NULL, OPT_PONG},
    {"disable-provider", required_argument, NULL, OPT_DISABLE},
    {"fixtures", required_argument, NULL, OPT_FIXTURES},
    {"allow-ctl", required_argument, NULL, OPT_ALLOW_CTL},
    {"mutant", required_argument, NULL, OPT_MUTANT},
    {"dialect", required_argument, NULL, OPT_DIALECT},
    {"models", required_argument, NULL, OPT_MODELS},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Parse argv into o and users. Returns 0, 1 (done: help/version/list printed) or 2 (usage). */
static int parse_args(int argc, char **argv, struct gw_server_opts *o, struct gw_users *users,
                      bool *seeded)
{
    enum wc_log_level lvl = WC_LOG_WARN;
    long long v;
    char *err = NULL;
    int c;

    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_PORT:
            if (parse_num("--port", optarg, 0, &v) || v > 65535)
                return 2;
            o->port = (int)v;
            break;
        case OPT_HOST:
            o->host = optarg;
            break;
        case OPT_TOKEN:
            if (gw_users_add_spec(users, optarg))
                return 2;
            break;
        case OPT_USERS:
            if (gw_users_load_file(users, optarg, &err)) {
                wc_error(WC_ERR_CONFIG, "--users: %s", err ? err : optarg);
                free(err);
                return 2;
            }
            break;
        case OPT_DB:
            o->db_path = optarg;
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            o->seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || *optarg == '-') {
                wc_error(WC_ERR_CONFIG, "--seed: '%s' is not a non-negative integer", optarg);
                return 2;
            }
            *seeded = true;
            break;
        }
        case OPT_REPLAY_CAP:
            if (parse_num("--replay-cap", optarg, 1, &v))
                return 2;
            o->replay_cap = (size_t)v;
            break;
        /* 0 on the command line is "no limit": SIZE_MAX (retain_ms: -1) to the core */
        case OPT_REPLAY_BYTES:
            if (parse_num("--replay-bytes", optarg, 0, &v))
                return 2;
            o->memory.replay_bytes = v ? (size_t)v : SIZE_MAX;
            break;
        case OPT_REPLAY_BUDGET:
            if (parse_num("--replay-budget", optarg, 0, &v))
                return 2;
            o->memory.replay_budget = v ? (size_t)v : SIZE_MAX;
            break;
        case OPT_RETAIN_MS:
            if (parse_num("--retain-ms", optarg, 0, &v))
                return 2;
            o->memory.retain_ms = v ? v : -1;
            break;
        case OPT_STORE_BYTES:
            if (parse_num("--store-bytes", optarg, 0, &v))
                return 2;
            o->memory.store_bytes = v ? (size_t)v : SIZE_MAX;
            break;
        case OPT_PERM_TIMEOUT:
            if (parse_num("--permission-timeout-ms", optarg, 1, &v))
                return 2;
            o->permission_timeout_ms = v;
            break;
        case OPT_MAX_FRAME:
            if (parse_num("--max-frame", optarg, 1, &v))
                return 2;
            o->max_frame = (size_t)v;
            break;
        case OPT_SEND_CAP:
            if (parse_num("--send-cap", optarg, 1024, &v))
                return 2;
            o->send_cap = (size_t)v;
            break;
        case OPT_STALL:
            if (parse_num("--stall-timeout-s", optarg, 1, &v))
                return 2;
            o->stall_s = v > 86400 ? 86400 : (int)v;
            break;
        case OPT_PING:
            if (parse_num("--ping-interval-ms", optarg, 0, &v))
                return 2;
            o->ping_interval_ms = v;
            break;
        case OPT_PONG:
            if (parse_num("--pong-timeout-ms", optarg, 1, &v))
                return 2;
            o->pong_timeout_ms = v;
            break;
        case OPT_DISABLE: {
            static const char *disabled[GW_MAX_DISABLED + 1];
            size_t n = 0;
            if (!gw_provider_is_known(optarg)) {
                wc_error(WC_ERR_CONFIG,
                         "--disable-provider: unknown provider '%s' (claude, "
                         "cursor, codex or opencode)",
                         optarg);
                return 2;
            }
            while (disabled[n])
                n++;
            if (n < GW_MAX_DISABLED)
                disabled[n] = optarg;
            o->disabled_providers = disabled;
            break;
        }
        case OPT_FIXTURES:
            o->fixtures_dir = optarg;
            break;
        case OPT_ALLOW_CTL: {
            static char *allow; /* every --allow-ctl, joined with commas; lives until exit */
            char *joined = allow ? wc_xasprintf("%s,%s", allow, optarg) : wc_xstrdup(optarg);
            free(allow);
            allow = joined;
            o->allow_ctl = allow;
            break;
        }
        case OPT_MUTANT:
            if (strcmp(optarg, "list") == 0) {
                gw_mutant_list(stdout);
                return 1;
            }
            if (gw_mutant_set(optarg)) {
                wc_error(WC_ERR_CONFIG, "--mutant: unknown mutant '%s' (see --mutant list)",
                         optarg);
                return 2;
            }
            break;
        case OPT_DIALECT:
            if (strcmp(optarg, "chatgw") == 0) {
                o->dialect = GW_DIALECT_CHATGW;
            } else if (strcmp(optarg, "dispatch") == 0) {
                o->dialect = GW_DIALECT_DISPATCH;
            } else {
                wc_error(WC_ERR_CONFIG, "--dialect: '%s' is not chatgw or dispatch", optarg);
                return 2;
            }
            break;
        case OPT_MODELS:
            o->models = optarg;
            break;
        case OPT_LOG_LEVEL:
            if (log_level(optarg, &lvl, &o->lws_log_mask))
                return 2;
            wc_log_setup("gwspec-gateway", lvl);
            break;
        case OPT_HELP:
            usage(stdout);
            return 1;
        case OPT_VERSION:
            printf("%s\n", VERSION_LINE);
            return 1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        wc_error(WC_ERR_CONFIG, "unexpected argument '%s'", argv[optind]);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct gw_server_opts o;
    struct gw_users *users = gw_users_new();
    struct gw_server *srv;
    struct sigaction sa;
    bool seeded = false;
    char *err = NULL;
    int rc;

    wc_sanitize_stdfds(); /* no database or socket may land on a closed 0, 1 or 2 */
    wc_log_setup("gwspec-gateway", WC_LOG_WARN);
    memset(&o, 0, sizeof(o));
    o.ping_interval_ms = 30000;
    o.lws_log_mask = LLL_ERR | LLL_WARN;
    o.users = users;
    rc = parse_args(argc, argv, &o, users, &seeded);
    if (rc) {
        gw_users_free(users);
        return rc == 1 ? 0 : 2;
    }
    if (!gw_users_count(users) && o.dialect != GW_DIALECT_DISPATCH) {
        wc_error(WC_ERR_CONFIG, "no users: give --token NAME:SECRET or --users FILE");
        gw_users_free(users);
        return 2;
    }
    if (!seeded)
        o.seed = urandom_seed();
    if (gw_mutant_active() != GW_MUT_NONE)
        wc_warn("mutant '%s' is on: %s", gw_mutant_info(gw_mutant_active())->name,
                gw_mutant_info(gw_mutant_active())->description);
    srv = gw_server_new(&o, &err);
    if (!srv) {
        wc_error(WC_ERR_IO, "%s", err ? err : "cannot start");
        free(err);
        gw_users_free(users);
        return 1;
    }
    running_server = srv;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("listening on %s:%d\n", o.host ? o.host : "127.0.0.1", gw_server_port(srv));
    fflush(stdout);
    rc = gw_server_run(srv);
    running_server = NULL;
    gw_server_free(srv);
    gw_users_free(users);
    return rc ? 1 : 0;
}
