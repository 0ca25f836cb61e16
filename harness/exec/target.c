/*
 * target.c: target profiles, spawning the gateway, authentication, session creation
 * (see target.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/target.h"
#include "exec/http.h"
#include "exec/net.h"
#include "exec/reap.h"
#include "exec/ws.h"
#include "model/match.h"
#include "wc_buf.h"
#include "wc_err.h"
#include "wc_json.h"
#include "wc_mem.h"
#include "wc_time.h"
#include "wc_yaml.h"
#include "wc_banned.h"

#define STOP_GRACE_MS 3000

struct hn_target_priv {
    pid_t owner;   /* the process that spawned the gateway */
    char *tmp_dir; /* our private temp dir (log, state) */
};

/* The private part lives right after the public struct. */
struct target_full {
    struct hn_target t;
    struct hn_target_priv p;
};

static struct hn_target_priv *priv(struct hn_target *t)
{
    return &((struct target_full *)t)->p;
}

static bool in_strs(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++) {
        if (!strcmp(list[i], s))
            return true;
    }
    return false;
}

char *hn_target_gateway_path(void)
{
    const char *env = getenv("GWSPEC_GATEWAY");
    char self[PATH_MAX];
    ssize_t n;

    if (env && *env)
        return wc_xstrdup(env);
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            char *p = wc_xasprintf("%s/gwspec-gateway", self);
            if (access(p, X_OK) == 0)
                return p;
            free(p);
        }
    }
    return wc_xstrdup("bin/gwspec-gateway");
}

static char *perr(const struct wc_yaml_doc *doc, const json_t *obj, const char *key,
                  const char *msg)
{
    return wc_yaml_msg(doc, obj, key, "%s", msg);
}

/*
 * auth.pool: more user sets, each mapping the same role names as auth.users to the tokens of
 * other users, so that cases which observe a user's broadcasts or listings (own_users) can run
 * beside other cases without seeing their traffic. Every token of every set must be distinct:
 * two roles sharing a user would see each other's broadcasts.
 */
static int check_pool(const struct wc_yaml_doc *doc, const json_t *auth, const json_t *users,
                      char **err)
{
    json_t *pool = json_object_get(auth, "pool");
    json_t *seen, *set;
    size_t i;
    const char *k;
    json_t *v;
    int rc = 0;

    if (!pool)
        return 0;
    if (!json_is_array(pool)) {
        *err = perr(doc, auth, "pool", "'pool' must be a list of {role: token} mappings");
        return WC_ERR_CONFIG;
    }
    seen = json_object();
    json_object_foreach((json_t *)users, k, v)
        json_object_set_new(seen, json_string_value(v), json_true());
    json_array_foreach(pool, i, set)
    {
        if (!json_is_object(set) || json_object_size(set) != json_object_size(users)) {
            *err = perr(doc, set, NULL, "a pool entry maps exactly the roles of 'users' to tokens");
            rc = WC_ERR_CONFIG;
            break;
        }
        json_object_foreach(set, k, v)
        {
            if (!json_object_get(users, k)) {
                *err = wc_yaml_msg(doc, set, k, "'%s' is not a role of 'users'", k);
                rc = WC_ERR_CONFIG;
            } else if (!json_is_string(v)) {
                *err = wc_yaml_msg(doc, set, k, "the token of '%s' must be a string", k);
                rc = WC_ERR_CONFIG;
            } else if (json_object_get(seen, json_string_value(v))) {
                *err = wc_yaml_msg(doc, set, k,
                                   "token of '%s' is used twice in auth: every "
                                   "user set needs users of its own",
                                   k);
                rc = WC_ERR_CONFIG;
            } else {
                json_object_set_new(seen, json_string_value(v), json_true());
                continue;
            }
            break;
        }
        if (rc)
            break;
    }
    json_decref(seen);
    return rc;
}

static int validate_start(const struct wc_yaml_doc *doc, const json_t *root, char **err);
static int validate_auth(const struct wc_yaml_doc *doc, const json_t *root, char **err);
static int validate_lists(const struct wc_yaml_doc *doc, const json_t *root, char **err);
static int validate_dpa(const struct wc_yaml_doc *doc, const json_t *root, char **err);
static int validate_settings(const struct wc_yaml_doc *doc, const json_t *root, char **err);
static int validate_client(const struct wc_yaml_doc *doc, const json_t *root, char **err);

/* The server role's keys (a client profile): role: client, argv, time_scale, token, mutant_args. */
static int validate_client(const struct wc_yaml_doc *doc, const json_t *root, char **err)
{
    json_t *role = json_object_get(root, "role");
    if (role && !(json_is_string(role) && (!strcmp(json_string_value(role), "client") ||
                                           !strcmp(json_string_value(role), "gateway")))) {
        *err = perr(doc, root, "role", "'role' is gateway (the default) or client");
        return WC_ERR_CONFIG;
    }
    bool client = role && !strcmp(json_string_value(role), "client");
    json_t *av = json_object_get(root, "argv");
    if (client) {
        size_t i;
        json_t *e;
        if (!json_is_array(av) || json_array_size(av) == 0) {
            *err = perr(doc, root, av ? "argv" : NULL,
                        "a client profile (role: client) needs 'argv', a list of strings");
            return WC_ERR_CONFIG;
        }
        json_array_foreach(av, i, e)
        {
            if (!json_is_string(e)) {
                *err = wc_yaml_msg(doc, av, NULL, "'argv' holds strings only");
                return WC_ERR_CONFIG;
            }
        }
        if (json_object_get(root, "start")) {
            *err = perr(doc, root, "start",
                        "a client profile (role: client) is started per case from 'argv', not "
                        "by 'start'");
            return WC_ERR_CONFIG;
        }
    } else {
        const char *const ck[] = {"argv", "time_scale", "token", "mutant_args", "env", NULL};
        for (size_t i = 0; ck[i]; i++) {
            if (json_object_get(root, ck[i])) {
                *err = wc_yaml_msg(doc, root, ck[i],
                                   "'%s' belongs to a client profile (role: client)", ck[i]);
                return WC_ERR_CONFIG;
            }
        }
    }
    json_t *ts = json_object_get(root, "time_scale");
    if (ts && (!json_is_number(ts) || json_number_value(ts) < 1 || json_number_value(ts) > 1000)) {
        *err = perr(doc, root, "time_scale", "'time_scale' is a number from 1 to 1000");
        return WC_ERR_CONFIG;
    }
    if (json_object_get(root, "token") && !wc_json_str(root, "token")) {
        *err = perr(doc, root, "token", "'token' is a string (the bearer token of ${token})");
        return WC_ERR_CONFIG;
    }
    json_t *env = json_object_get(root, "env");
    if (env && !json_is_object(env)) {
        *err = perr(doc, root, "env",
                    "'env' maps variable names to strings (with ${server_url} and the like)");
        return WC_ERR_CONFIG;
    }
    const char *ek;
    json_t *ev;
    json_object_foreach(env, ek, ev)
    {
        if (!json_is_string(ev) || !*ek || strchr(ek, '=')) {
            *err =
                wc_yaml_msg(doc, env, ek,
                            "'env': '%s' must be a variable name (no '=') with a string value", ek);
            return WC_ERR_CONFIG;
        }
    }
    json_t *ma = json_object_get(root, "mutant_args");
    if (ma && !json_is_array(ma)) {
        *err = perr(doc, root, "mutant_args", "'mutant_args' is a list of strings with ${mutant}");
        return WC_ERR_CONFIG;
    }
    return 0;
}

/* A target profile: known keys, then each section. */
static int validate(const struct wc_yaml_doc *doc, const json_t *root, char **err)
{
    static const char *const keys[] = {"name",
                                       "description",
                                       "base_url",
                                       "host",
                                       "port",
                                       "start",
                                       "ws_path",
                                       "auth",
                                       "sessions",
                                       "providers",
                                       "capabilities",
                                       "extensions",
                                       "replay_cap",
                                       "ping_interval_ms",
                                       "pong_timeout_ms",
                                       "quiescence",
                                       "disable_provider_args",
                                       "settings",
                                       "dialect",
                                       "http_port",
                                       "unknown_model",
                                       "role",
                                       "argv",
                                       "time_scale",
                                       "token",
                                       "mutant_args",
                                       "env",
                                       NULL};
    const char *k;
    json_t *v;

    if (!json_is_object(root)) {
        *err = wc_xasprintf("%s:1:1: a target profile is a mapping", wc_yaml_name(doc));
        return WC_ERR_CONFIG;
    }
    json_object_foreach((json_t *)root, k, v)
    {
        if (!in_strs(keys, k)) {
            *err = wc_yaml_msg(doc, root, k, "unknown key '%s' in target profile", k);
            return WC_ERR_CONFIG;
        }
    }
    if (!json_is_string(json_object_get(root, "name"))) {
        *err = perr(doc, root, NULL, "target profile: 'name' (a string) is required");
        return WC_ERR_CONFIG;
    }
    if (validate_start(doc, root, err) != 0 || validate_auth(doc, root, err) != 0 ||
        validate_lists(doc, root, err) != 0 || validate_dpa(doc, root, err) != 0 ||
        validate_settings(doc, root, err) != 0)
        return WC_ERR_CONFIG;
    json_t *q = json_object_get(root, "quiescence");
    if (q && !(json_is_string(q) && !strcmp(json_string_value(q), "sentinel")) &&
        !(json_is_object(q) && json_is_integer(json_object_get(q, "quiet_ms")))) {
        *err = perr(doc, root, "quiescence", "'quiescence' is sentinel or {quiet_ms: N}");
        return WC_ERR_CONFIG;
    }
    /* the dialect seam's keys (harness/README.md, "Dialects") */
    json_t *d = json_object_get(root, "dialect"), *hp = json_object_get(root, "http_port");
    if (d && !json_is_string(d)) {
        *err = perr(doc, root, "dialect", "'dialect' is a spec version name (dispatch-ws/1)");
        return WC_ERR_CONFIG;
    }
    if (hp &&
        (!json_is_integer(hp) || json_integer_value(hp) < 1 || json_integer_value(hp) > 65535)) {
        *err = perr(doc, root, "http_port", "'http_port' is a TCP port (1..65535)");
        return WC_ERR_CONFIG;
    }
    if (validate_client(doc, root, err) != 0)
        return WC_ERR_CONFIG;
    if (json_object_get(root, "unknown_model") && !wc_json_str(root, "unknown_model")) {
        *err = perr(doc, root, "unknown_model", "'unknown_model' is a model name (a string)");
        return WC_ERR_CONFIG;
    }
    return 0;
}

/* start: {argv: [...], ready, timeout_ms}, or else where the gateway is. */
static int validate_start(const struct wc_yaml_doc *doc, const json_t *root, char **err)
{
    json_t *start = json_object_get(root, "start");
    const char *k;
    json_t *v;

    if (start) {
        static const char *const skeys[] = {"argv", "ready", "timeout_ms", NULL};
        if (!json_is_object(start) || !json_is_array(json_object_get(start, "argv")) ||
            json_array_size(json_object_get(start, "argv")) == 0) {
            *err = perr(doc, root, "start", "'start' needs 'argv': a non-empty list");
            return WC_ERR_CONFIG;
        }
        json_object_foreach(start, k, v)
        {
            if (!in_strs(skeys, k)) {
                *err = wc_yaml_msg(doc, start, k, "unknown key '%s' in start", k);
                return WC_ERR_CONFIG;
            }
        }
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(start, "argv"), i, a)
        {
            if (!json_is_string(a) && !json_is_integer(a)) {
                *err = perr(doc, start, "argv", "'argv' entries are strings");
                return WC_ERR_CONFIG;
            }
        }
    } else if (!json_object_get(root, "base_url") && !json_object_get(root, "port") &&
               !json_object_get(root, "argv")) { /* a client profile (role: client) has argv */
        *err = perr(doc, root, NULL,
                    wc_json_str(root, "role") && !strcmp(wc_json_str(root, "role"), "client")
                        ? "a client profile (role: client) needs 'argv', a list of strings"
                        : "target profile: give 'start', 'base_url' or 'host'+'port'");
        return WC_ERR_CONFIG;
    }
    return 0;
}

/* auth: kind token (users, pool) or cloudcli-register (username, password). */
static int validate_auth(const struct wc_yaml_doc *doc, const json_t *root, char **err)
{
    json_t *auth = json_object_get(root, "auth");
    const char *k;
    json_t *v;

    if (!auth && wc_json_str(root, "role") && !strcmp(wc_json_str(root, "role"), "client"))
        return 0; /* a client profile: the harness is the server, nobody logs in (kind none) */
    if (!json_is_object(auth)) {
        *err =
            perr(doc, root, auth ? "auth" : NULL, "target profile: 'auth' (a mapping) is required");
        return WC_ERR_CONFIG;
    }
    {
        static const char *const akeys[] = {"kind", "users", "pool", "username", "password", NULL};
        const char *kind = wc_json_str(auth, "kind");
        json_object_foreach(auth, k, v)
        {
            if (!in_strs(akeys, k)) {
                *err = wc_yaml_msg(doc, auth, k, "unknown key '%s' in auth", k);
                return WC_ERR_CONFIG;
            }
        }
        if (!kind ||
            (strcmp(kind, "token") && strcmp(kind, "cloudcli-register") && strcmp(kind, "none"))) {
            *err = perr(doc, auth, "kind", "auth 'kind' must be token, cloudcli-register or none");
            return WC_ERR_CONFIG;
        }
        if (!strcmp(kind, "none")) {
            /* a gateway with no auth (Dispatch): connections and requests carry no token */
            if (json_object_size(auth) != 1) {
                *err = perr(doc, auth, "kind", "auth kind none takes no other keys");
                return WC_ERR_CONFIG;
            }
        } else if (!strcmp(kind, "token")) {
            json_t *users = json_object_get(auth, "users");
            if (!json_is_object(users) || json_object_size(users) == 0) {
                *err = perr(doc, auth, "kind", "auth kind token needs 'users': {name: token}");
                return WC_ERR_CONFIG;
            }
            json_object_foreach(users, k, v)
            {
                if (!json_is_string(v)) {
                    *err = wc_yaml_msg(doc, users, k, "the token of '%s' must be a string", k);
                    return WC_ERR_CONFIG;
                }
            }
            if (check_pool(doc, auth, users, err) != 0)
                return WC_ERR_CONFIG;
        } else if (json_object_get(auth, "pool")) {
            *err = perr(doc, auth, "pool", "'pool' needs auth kind token (static tokens)");
            return WC_ERR_CONFIG;
        } else if (!wc_json_str(auth, "username") || !wc_json_str(auth, "password")) {
            *err = perr(doc, auth, "kind", "cloudcli-register needs 'username' and 'password'");
            return WC_ERR_CONFIG;
        }
    }
    return 0;
}

/* providers and capabilities: lists of strings. */
static int validate_lists(const struct wc_yaml_doc *doc, const json_t *root, char **err)
{
    static const char *const lists[] = {"providers", "capabilities", NULL};
    for (size_t i = 0; lists[i]; i++) {
        json_t *l = json_object_get(root, lists[i]);
        size_t j;
        json_t *e;
        if (!l)
            continue;
        if (!json_is_array(l)) {
            *err = wc_yaml_msg(doc, root, lists[i], "'%s' must be a list", lists[i]);
            return WC_ERR_CONFIG;
        }
        json_array_foreach(l, j, e)
        {
            if (!json_is_string(e)) {
                *err = wc_yaml_msg(doc, root, lists[i], "'%s' entries are strings", lists[i]);
                return WC_ERR_CONFIG;
            }
        }
    }
    return 0;
}

/* disable_provider_args: strings that name ${provider}, with a start to append them to. */
static int validate_dpa(const struct wc_yaml_doc *doc, const json_t *root, char **err)
{
    json_t *dpa = json_object_get(root, "disable_provider_args");
    if (dpa) {
        size_t i;
        json_t *a;
        bool named = false;
        if (!json_is_array(dpa) || json_array_size(dpa) == 0) {
            *err = perr(doc, root, "disable_provider_args",
                        "'disable_provider_args' must be a non-empty list of strings");
            return WC_ERR_CONFIG;
        }
        json_array_foreach(dpa, i, a)
        {
            if (!json_is_string(a)) {
                static const char msg[] = "'disable_provider_args' entries are strings";
                int line, col;
                bool at =
                    !json_is_boolean(a) && !json_is_null(a) && wc_yaml_pos(doc, a, &line, &col);
                *err = at ? wc_yaml_msg(doc, a, NULL, "%s", msg)
                          : perr(doc, root, "disable_provider_args", msg);
                return WC_ERR_CONFIG;
            }
            named = named || strstr(json_string_value(a), "${provider}");
        }
        if (!named) {
            *err = perr(doc, root, "disable_provider_args",
                        "'disable_provider_args' must name the provider somewhere as ${provider}");
            return WC_ERR_CONFIG;
        }
        if (!json_object_get(root, "start")) {
            *err = perr(doc, root, "disable_provider_args",
                        "'disable_provider_args' needs 'start' (the harness starts the gateway)");
            return WC_ERR_CONFIG;
        }
    }
    return 0;
}

/* settings: NAME -> a non-empty list of strings that names ${value}, with a start. */
static int validate_settings(const struct wc_yaml_doc *doc, const json_t *root, char **err)
{
    json_t *set = json_object_get(root, "settings"), *l;
    const char *k;

    if (!set)
        return 0;
    if (!json_is_object(set)) {
        *err = perr(doc, root, "settings",
                    "'settings' is a mapping: NAME: [arguments that name ${value}]");
        return WC_ERR_CONFIG;
    }
    if (!json_object_get(root, "start")) {
        *err = perr(doc, root, "settings",
                    "'settings' needs 'start' (the harness starts the gateway)");
        return WC_ERR_CONFIG;
    }
    json_object_foreach(set, k, l)
    {
        size_t i;
        json_t *a;
        bool named = false;
        if (!json_is_array(l) || json_array_size(l) == 0) {
            *err = wc_yaml_msg(doc, set, k, "setting '%s' must be a non-empty list of strings", k);
            return WC_ERR_CONFIG;
        }
        json_array_foreach(l, i, a)
        {
            if (!json_is_string(a)) {
                *err = wc_yaml_msg(doc, set, k, "setting '%s': its entries are strings", k);
                return WC_ERR_CONFIG;
            }
            named = named || strstr(json_string_value(a), "${value}");
        }
        if (!named) {
            *err = wc_yaml_msg(doc, set, k,
                               "setting '%s' must name its value somewhere as ${value}", k);
            return WC_ERR_CONFIG;
        }
    }
    return 0;
}

static struct hn_target *from_profile(json_t *root, const char *path)
{
    struct target_full *f = wc_xcalloc(1, sizeof(*f));
    struct hn_target *t = &f->t;
    json_t *v;

    t->profile = json_incref(root);
    t->profile_path = path ? wc_xstrdup(path) : NULL;
    t->name = wc_xstrdup(wc_json_str(root, "name"));
    t->host = wc_xstrdup(wc_json_str(root, "host") ? wc_json_str(root, "host") : "127.0.0.1");
    if (json_is_integer(json_object_get(root, "port")))
        t->port = (int)json_integer_value(json_object_get(root, "port"));
    if (wc_json_str(root, "base_url")) {
        const char *u = wc_json_str(root, "base_url");
        char host[256];
        int port = 80;
        if (!strncmp(u, "http://", 7))
            u += 7;
        if (sscanf(u, "%255[^:/]:%d", host, &port) >= 1) {
            free(t->host);
            t->host = wc_xstrdup(host);
            t->port = port;
        }
    }
    t->ws_path = wc_xstrdup(wc_json_str(root, "ws_path") ? wc_json_str(root, "ws_path") : "/ws");
    t->auth_kind = wc_xstrdup(wc_json_str(json_object_get(root, "auth"), "kind")
                                  ? wc_json_str(json_object_get(root, "auth"), "kind")
                                  : "none");
    t->users = json_object();
    v = json_object_get(root, "providers");
    t->providers =
        v ? json_deep_copy(v) : json_pack("[ssss]", "claude", "cursor", "codex", "opencode");
    v = json_object_get(root, "capabilities");
    t->capabilities = v ? json_deep_copy(v) : json_array();
    v = json_object_get(root, "extensions");
    t->extensions = json_is_object(v) ? json_deep_copy(v) : json_object();
    if (!json_object_get(t->extensions, "kinds"))
        json_object_set_new(t->extensions, "kinds", json_array());
    if (!json_object_get(t->extensions, "types"))
        json_object_set_new(t->extensions, "types", json_array());
    t->replay_cap = 5000;
    wc_json_int(root, "replay_cap", &t->replay_cap);
    wc_json_int(root, "ping_interval_ms", &t->ping_interval_ms);
    wc_json_int(root, "pong_timeout_ms", &t->pong_timeout_ms);
    t->disabled = json_array();
    t->settings = json_object();
    t->client_role = wc_json_str(root, "role") && !strcmp(wc_json_str(root, "role"), "client");
    t->time_scale = 1;
    if (json_is_number(json_object_get(root, "time_scale")))
        t->time_scale = json_number_value(json_object_get(root, "time_scale"));
    v = json_object_get(root, "quiescence");
    if (json_is_object(v)) {
        t->quiescence = wc_xstrdup("quiet_ms");
        wc_json_int(v, "quiet_ms", &t->quiet_ms);
    } else {
        t->quiescence = wc_xstrdup("sentinel");
    }
    return t;
}

struct hn_target *hn_target_load(const char *spec, char **err)
{
    char *path;
    struct wc_yaml_doc *doc;
    struct hn_target *t;

    if (strchr(spec, '/') || strstr(spec, ".yaml"))
        path = wc_xstrdup(spec);
    else
        path = wc_xasprintf("fixtures/targets/%s.yaml", spec);
    doc = wc_yaml_load_file(path, err);
    if (!doc) {
        free(path);
        return NULL;
    }
    if (validate(doc, wc_yaml_root(doc), err) != 0) {
        wc_yaml_free(doc);
        free(path);
        return NULL;
    }
    t = from_profile(wc_yaml_root(doc), path);
    wc_yaml_free(doc);
    free(path);
    return t;
}

struct hn_target *hn_target_clone(const struct hn_target *t)
{
    struct hn_target *c = from_profile(t->profile, t->profile_path);
    if (t->mutant)
        c->mutant = wc_xstrdup(t->mutant);
    c->seed = t->seed;
    return c;
}

bool hn_target_spawns(const struct hn_target *t)
{
    return json_object_get(t->profile, "start") != NULL;
}

int hn_target_check_mutant(const struct hn_target *t, const char *name, char **err)
{
    json_t *argv_j = json_object_get(json_object_get(t->profile, "start"), "argv");
    const char *argv0 = json_string_value(json_array_get(argv_j, 0));
    int p[2], status = 0;
    struct wc_buf out;
    pid_t pid;

    if (!argv0 || strcmp(argv0, "gwspec-gateway"))
        return 0;
    char *path = hn_target_gateway_path();
    if (pipe(p) != 0) {
        free(path);
        return 0;
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        close(p[0]);
        dup2(p[1], 1);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 2);
        }
        execl(path, path, "--mutant", "list", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    wc_buf_init(&out, 0);
    if (pid > 0) {
        char buf[4096];
        ssize_t r;
        while ((r = read(p[0], buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR)) {
            if (r > 0)
                wc_buf_add(&out, buf, (size_t)r);
        }
        waitpid(pid, &status, 0);
    }
    close(p[0]);
    /* Cannot ask (no binary, a crash): the start will say what is wrong. */
    int rc = 0;
    if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && out.len) {
        size_t count = 0;
        bool found = false;
        for (char *line = out.buf; line && *line;) {
            char *eol = strchr(line, '\n');
            size_t len = strcspn(line, " \t\n");
            if (len) {
                count++;
                found = found || (len == strlen(name) && !strncmp(line, name, len));
            }
            line = eol ? eol + 1 : NULL;
        }
        if (!found) {
            *err = wc_xasprintf("unknown mutant '%s': `%s --mutant list` names %zu others", name,
                                path, count);
            rc = WC_ERR_NOTFOUND;
        }
    }
    wc_buf_release(&out);
    free(path);
    return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* $GWSPEC_STATE_ROOT when set (a CI job that keeps its runs apart, a machine without a writable
 * /dev/shm), else tmpfs when there is one (the gateway's SQLite store writes on every event) */
static const char *tmp_root(void)
{
    const char *env = getenv("GWSPEC_STATE_ROOT");

    if (env && *env)
        return env;
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

size_t hn_target_sweep_stale(void)
{
    const char *root = tmp_root();
    DIR *d = opendir(root);
    struct dirent *e;
    size_t n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d))) {
        long pid;
        char rest[32];
        /* gwspec-target-PID-XXXXXX: the spawning process's pid; gone means nobody uses it */
        if (e->d_type != DT_DIR || sscanf(e->d_name, "gwspec-target-%ld-%31s", &pid, rest) != 2 ||
            pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char *path = wc_xasprintf("%s/%s", root, e->d_name);
        if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0)
            n++;
        free(path);
    }
    closedir(d);
    return n;
}

static char *read_file_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (!fp)
        return wc_xstrdup("");
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    if (n < 0)
        n = 0;
    if (n > 1 << 20)
        n = 1 << 20;
    buf = wc_xmalloc((size_t)n + 1);
    n = (long)fread(buf, 1, (size_t)n, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static char *tail(const char *s, size_t n)
{
    size_t len = strlen(s);
    return wc_xstrdup(len > n ? s + len - n : s);
}

/* The private temp dir (once per target: it survives restarts) and a fresh log path. */
static int make_dirs(struct hn_target *t, char **err)
{
    struct hn_target_priv *p = priv(t);

    if (!p->tmp_dir) {
        /* tmpfs when there is one: the gateway's SQLite store writes on every event */
        char tmpl[80];
        snprintf(tmpl, sizeof(tmpl), "%s/gwspec-target-%ld-XXXXXX", tmp_root(), (long)getpid());
        if (!mkdtemp(tmpl)) {
            *err = wc_xasprintf("mkdtemp: %s", strerror(errno));
            return WC_ERR_IO;
        }
        p->tmp_dir = wc_xstrdup(tmpl);
        hn_reap_add_dir(p->tmp_dir);
        t->state_dir = wc_xasprintf("%s/state", tmpl);
        mkdir(t->state_dir, 0700);
    }
    free(t->log_path);
    t->log_path = wc_xasprintf("%s/gateway-%ld.log", p->tmp_dir, (long)wc_now_us());
    return 0;
}

/*
 * The gateway's argv (new, NULL-terminated): "gwspec-gateway" -> the binary; ${state_dir},
 * ${seed}, ${bin_dir} substituted; the disable_provider_args of every disabled provider, the
 * arguments of every setting, and --mutant appended.
 */
static char **build_argv(const struct hn_target *t)
{
    json_t *argv_j = json_object_get(json_object_get(t->profile, "start"), "argv");
    json_t *dpa = json_object_get(t->profile, "disable_provider_args");
    json_t *setargs = json_object_get(t->profile, "settings");
    size_t argc = json_array_size(argv_j), nset = 0;
    const char *sk;
    json_t *sv;
    json_object_foreach(t->settings, sk, sv) nset += json_array_size(json_object_get(setargs, sk));
    char **argv = wc_xcalloc(argc + json_array_size(dpa) * json_array_size(t->disabled) + nset + 4,
                             sizeof(*argv));
    char seedtext[32];
    snprintf(seedtext, sizeof(seedtext), "%llu", (unsigned long long)t->seed);
    /* ${bin_dir}: the folder of the gateway binary, so test profiles can start our other tools */
    char *gwpath = hn_target_gateway_path();
    char *slash = strrchr(gwpath, '/');
    if (slash)
        *slash = '\0';
    json_t *subst = json_pack("{s:s, s:s, s:s}", "state_dir", t->state_dir, "seed", seedtext,
                              "bin_dir", slash ? gwpath : ".");
    free(gwpath);
    for (size_t i = 0; i < argc; i++) {
        json_t *a = json_array_get(argv_j, i);
        if (json_is_integer(a)) {
            argv[i] = wc_xasprintf("%lld", (long long)json_integer_value(a));
            continue;
        }
        if (i == 0 && !strcmp(json_string_value(a), "gwspec-gateway")) {
            argv[i] = hn_target_gateway_path();
            continue;
        }
        json_t *s = hn_subst(a, subst);
        argv[i] = wc_xstrdup(json_string_value(s));
        json_decref(s);
    }
    size_t di;
    json_t *dname;
    json_array_foreach(t->disabled, di, dname)
    {
        size_t ai;
        json_t *a;
        json_object_set(subst, "provider", dname);
        json_array_foreach(dpa, ai, a)
        {
            json_t *s = hn_subst(a, subst);
            argv[argc++] = wc_xstrdup(json_string_value(s));
            json_decref(s);
        }
    }
    json_object_foreach(t->settings, sk, sv)
    {
        size_t ai;
        json_t *a;
        json_object_set(subst, "value", sv);
        json_array_foreach(json_object_get(setargs, sk), ai, a)
        {
            json_t *s = hn_subst(a, subst);
            argv[argc++] = wc_xstrdup(json_string_value(s));
            json_decref(s);
        }
    }
    json_decref(subst);
    if (t->mutant) {
        argv[argc++] = wc_xstrdup("--mutant");
        argv[argc++] = wc_xstrdup(t->mutant);
    }
    return argv;
}

static void free_argv(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

void hn_target_free_argv(char **argv)
{
    free_argv(argv);
}

char **hn_target_client_argv(const struct hn_target *t, const json_t *subst_in)
{
    json_t *argv_j = json_object_get(t->profile, "argv");
    json_t *ma = json_object_get(t->profile, "mutant_args");
    size_t argc = json_array_size(argv_j), n = 0;
    char **argv = wc_xcalloc(argc + json_array_size(ma) + 4, sizeof(*argv));
    json_t *subst = json_deep_copy(subst_in);
    char *gwpath = hn_target_gateway_path(), *slash = strrchr(gwpath, '/');

    if (slash)
        *slash = '\0';
    json_object_set_new(subst, "bin_dir", json_string(slash ? gwpath : "."));
    free(gwpath);
    if (t->mutant)
        json_object_set_new(subst, "mutant", json_string(t->mutant));
    for (size_t i = 0; i < argc; i++) {
        json_t *s = hn_subst(json_array_get(argv_j, i), subst);
        argv[n++] = wc_xstrdup(json_string_value(s) ? json_string_value(s) : "");
        json_decref(s);
    }
    if (t->mutant && ma) {
        size_t i;
        json_t *a;
        json_array_foreach(ma, i, a)
        {
            json_t *s = hn_subst(a, subst);
            argv[n++] = wc_xstrdup(json_string_value(s) ? json_string_value(s) : "");
            json_decref(s);
        }
    } else if (t->mutant) {
        argv[n++] = wc_xstrdup("--mutant");
        argv[n++] = wc_xstrdup(t->mutant);
    }
    json_decref(subst);
    return argv;
}

char **hn_target_client_env(const struct hn_target *t, const json_t *subst_in)
{
    json_t *env = json_object_get(t->profile, "env");
    char **out = wc_xcalloc(json_object_size(env) + 1, sizeof(*out));
    json_t *subst = json_deep_copy(subst_in), *v;
    char *gwpath = hn_target_gateway_path(), *slash = strrchr(gwpath, '/');
    const char *k;
    size_t n = 0;

    if (slash)
        *slash = '\0';
    json_object_set_new(subst, "bin_dir", json_string(slash ? gwpath : "."));
    free(gwpath);
    json_object_foreach(env, k, v)
    {
        json_t *s = hn_subst(v, subst);
        out[n++] = wc_xasprintf("%s=%s", k, json_string_value(s) ? json_string_value(s) : "");
        json_decref(s);
    }
    json_decref(subst);
    return out;
}

/* Fork and exec argv in a process group of its own, stdout and stderr to the log; t->pid. */
static int start_process(struct hn_target *t, char **argv, char **err)
{
    int logfd = open(t->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_t pid;

    if (logfd < 0) {
        *err = wc_xasprintf("cannot create %s: %s", t->log_path, strerror(errno));
        return WC_ERR_IO;
    }
    fflush(NULL);
    pid_t self = getpid();
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        setpgid(0, 0);
        /* A harness killed outright (SIGKILL, an outer `timeout -s KILL`) takes the gateway
         * with it; the getppid test closes the race with a parent that died before prctl. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != self)
            _exit(127);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        execvp(argv[0], argv);
        dprintf(2, "gwspec: cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(logfd);
    if (pid < 0) {
        *err = wc_xasprintf("fork: %s", strerror(errno));
        return WC_ERR_IO;
    }
    setpgid(pid, pid); /* also here: the group exists before anyone signals it */
    hn_reap_add_group(pid, t->state_dir);
    t->pid = pid;
    priv(t)->owner = getpid();
    return 0;
}

/* Wait for the ready line (its group 1 the port, if any): the log is a file, so the gateway
 * never blocks on us. */
static int wait_ready(struct hn_target *t, const regex_t *re, const char *ready,
                      int64_t start_timeout, const char *argv0, char **err)
{
    int64_t deadline = wc_now_ms() + start_timeout;

    for (;;) {
        char *text = read_file_text(t->log_path);
        regmatch_t m[2];
        int status, rc = 0;
        bool done = true;
        if (regexec(re, text, 2, m, 0) == 0) {
            if (m[1].rm_so >= 0) {
                t->port = atoi(text + m[1].rm_so);
                rc = t->port > 0 ? 0 : WC_ERR_PROTOCOL;
            }
            if (rc != 0)
                *err = wc_xasprintf("target %s: the ready line carries no port", t->name);
        } else if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
            char *tl = tail(text, 600);
            *err = wc_xasprintf("target %s: %s exited (status %d) before it was ready:\n%s",
                                t->name, argv0, WIFEXITED(status) ? WEXITSTATUS(status) : -1, tl);
            free(tl);
            t->pid = 0;
            rc = WC_ERR_IO;
        } else if (wc_now_ms() >= deadline) {
            char *tl = tail(text, 600);
            *err = wc_xasprintf("target %s: no line matching /%s/ within %lld ms:\n%s", t->name,
                                ready, (long long)start_timeout, tl);
            free(tl);
            rc = WC_ERR_TIMEOUT;
        } else {
            done = false;
        }
        free(text);
        if (done)
            return rc;
        poll(NULL, 0, 10); /* startup only: never decides a verdict */
    }
}

/* Start the profile's gateway and wait until it is ready; a gateway that started but did not
 * get ready is stopped. One cleanup path for the regex and argv. */
static int spawn(struct hn_target *t, int timeout_ms, char **err)
{
    json_t *start = json_object_get(t->profile, "start");
    const char *ready = wc_json_str(start, "ready");
    int64_t start_timeout = timeout_ms;
    char **argv = NULL;
    regex_t re;
    int rc;

    wc_json_int(start, "timeout_ms", &start_timeout);
    if (!ready)
        ready = "listening on [^ ]*:([0-9]+)";
    if (regcomp(&re, ready, REG_EXTENDED) != 0) {
        *err = wc_xasprintf("target %s: bad 'ready' regex", t->name);
        return WC_ERR_CONFIG;
    }
    rc = make_dirs(t, err);
    if (rc != 0)
        goto out;
    argv = build_argv(t);
    rc = start_process(t, argv, err);
    if (rc != 0)
        goto out;
    rc = wait_ready(t, &re, ready, start_timeout, argv[0], err);
    if (rc != 0)
        hn_target_stop(t);
out:
    free_argv(argv);
    regfree(&re);
    return rc;
}

static int authenticate(struct hn_target *t, int timeout_ms, char **err)
{
    json_t *auth = json_object_get(t->profile, "auth");

    json_object_clear(t->users);
    free(t->default_user);
    t->default_user = NULL;
    if (!strcmp(t->auth_kind, "none"))
        return 0;
    if (!strcmp(t->auth_kind, "token")) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(auth, "users"), k, v)
        {
            if (!t->default_user)
                t->default_user = wc_xstrdup(k);
            json_t *set = t->user_set > 0
                              ? json_array_get(json_object_get(auth, "pool"), t->user_set - 1)
                              : NULL;
            json_object_set(t->users, k, set ? json_object_get(set, k) : v);
        }
        return 0;
    }
    /* cloudcli-register: register (works only on a fresh server), else log in */
    const char *user = wc_json_str(auth, "username"), *pass = wc_json_str(auth, "password");
    json_t *body = json_pack("{s:s, s:s}", "username", user, "password", pass);
    struct hn_http_resp r;
    int rc = hn_http_request(t->host, t->port, "POST", "/api/auth/register", NULL, body, timeout_ms,
                             &r, err);
    if (rc == 0 && !wc_json_str(r.json, "token")) {
        hn_http_resp_release(&r);
        rc = hn_http_request(t->host, t->port, "POST", "/api/auth/login", NULL, body, timeout_ms,
                             &r, err);
    }
    json_decref(body);
    if (rc != 0)
        return rc;
    if (!wc_json_str(r.json, "token")) {
        *err = wc_xasprintf("target %s: login as %s failed: HTTP %d %.200s", t->name, user,
                            r.status, r.body ? r.body : "");
        hn_http_resp_release(&r);
        return WC_ERR_PROTOCOL;
    }
    t->default_user = wc_xstrdup(user);
    json_object_set_new(t->users, user, json_string(wc_json_str(r.json, "token")));
    hn_http_resp_release(&r);
    return 0;
}

int hn_target_start(struct hn_target *t, int timeout_ms, char **err)
{
    int rc;

    if (t->client_role) /* a client program: spawned per case by the runner, nothing to start */
        return 0;
    if (hn_target_spawns(t) && t->pid == 0) {
        rc = spawn(t, timeout_ms, err);
        if (rc != 0)
            return rc;
    }
    if (t->port <= 0) {
        *err = wc_xasprintf("target %s: no port", t->name);
        return WC_ERR_CONFIG;
    }
    /* is anybody there? (a spawned gateway said so already) */
    if (t->pid == 0) {
        char *cerr = NULL;
        int fd = hn_net_connect(t->host, t->port, wc_now_ms() + timeout_ms, &cerr);
        if (fd < 0) {
            *err = wc_xasprintf("target %s: %s", t->name, cerr);
            free(cerr);
            return WC_ERR_IO;
        }
        close(fd);
    }
    return authenticate(t, timeout_ms, err);
}

/* Stop the spawned gateway with sig: SIGTERM (a clean stop, then SIGKILL after a grace period)
 * or SIGKILL (a crash: no chance to flush or clean up). */
static void stop_with(struct hn_target *t, int sig)
{
    struct hn_target_priv *p = priv(t);
    int status;

    if (t->pid <= 0 || p->owner != getpid())
        return;
    kill(t->pid, sig);
    int64_t deadline = wc_now_ms() + STOP_GRACE_MS;
    for (;;) {
        pid_t r = waitpid(t->pid, &status, WNOHANG);
        if (r == t->pid || (r < 0 && errno == ECHILD))
            break;
        if (wc_now_ms() >= deadline) {
            kill(-t->pid, SIGKILL);
            waitpid(t->pid, &status, 0);
            break;
        }
        poll(NULL, 0, 5);
    }
    /* The gateway leads its own process group (setpgid at spawn): whatever it left behind
     * (provider processes that hang on purpose) goes too. A pgid is not reused while any
     * member lives, so this reaches only the gateway's leftovers. */
    kill(-t->pid, SIGKILL);
    hn_reap_remove_group(t->pid);
    t->pid = 0;
}

void hn_target_stop(struct hn_target *t)
{
    stop_with(t, SIGTERM);
}

bool hn_target_can_disable(const struct hn_target *t)
{
    return json_object_get(t->profile, "disable_provider_args") != NULL;
}

int hn_target_set_disabled(struct hn_target *t, const json_t *names, char **err)
{
    size_t i;
    json_t *e;

    if (json_array_size(names) && !hn_target_can_disable(t)) {
        *err = wc_xasprintf("target %s: the profile has no disable_provider_args", t->name);
        return WC_ERR_CONFIG;
    }
    json_array_clear(t->disabled);
    json_array_foreach(names, i, e)
    {
        if (json_is_string(e))
            json_array_append(t->disabled, e);
    }
    return 0;
}

bool hn_target_can_set(const struct hn_target *t, const char *name)
{
    return json_object_get(json_object_get(t->profile, "settings"), name) != NULL;
}

int hn_target_set_settings(struct hn_target *t, const json_t *settings, char **err)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)settings, k, v)
    {
        if (!hn_target_can_set(t, k)) {
            *err = wc_xasprintf("target %s: the profile has no setting '%s'", t->name, k);
            return WC_ERR_CONFIG;
        }
    }
    json_object_clear(t->settings);
    json_object_foreach((json_t *)settings, k, v)
    {
        if (json_is_integer(v))
            json_object_set_new(t->settings, k,
                                json_sprintf("%lld", (long long)json_integer_value(v)));
        else if (json_is_string(v))
            json_object_set(t->settings, k, v);
    }
    return 0;
}

int hn_target_restart_signal(struct hn_target *t, int sig, int timeout_ms, char **err)
{
    if (!hn_target_spawns(t)) {
        *err = wc_xasprintf("target %s: cannot restart a gateway it did not start", t->name);
        return WC_ERR_CONFIG;
    }
    stop_with(t, sig == SIGKILL ? SIGKILL : SIGTERM);
    return hn_target_start(t, timeout_ms, err);
}

int hn_target_restart(struct hn_target *t, int timeout_ms, char **err)
{
    return hn_target_restart_signal(t, SIGTERM, timeout_ms, err);
}

void hn_target_free(struct hn_target *t)
{
    struct hn_target_priv *p;

    if (!t)
        return;
    p = priv(t);
    hn_target_stop(t);
    if (p->tmp_dir && (p->owner == getpid() || p->owner == 0) && !getenv("GWSPEC_KEEP_TMP"))
        nftw(p->tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (p->tmp_dir)
        hn_reap_remove_dir(p->tmp_dir);
    free(p->tmp_dir);
    free(t->name);
    free(t->profile_path);
    json_decref(t->profile);
    free(t->host);
    free(t->ws_path);
    free(t->auth_kind);
    json_decref(t->users);
    free(t->default_user);
    json_decref(t->providers);
    json_decref(t->capabilities);
    json_decref(t->extensions);
    free(t->quiescence);
    free(t->mutant);
    free(t->state_dir);
    free(t->log_path);
    json_decref(t->disabled);
    json_decref(t->settings);
    free(t);
}

size_t hn_target_user_sets(const struct hn_target *t)
{
    json_t *pool = json_object_get(json_object_get(t->profile, "auth"), "pool");
    /* Without multi-user a gateway may send any broadcast to every socket (R-MU-2 does not
     * apply), so other users do not keep other cases' traffic away. */
    if (!hn_target_has_capability(t, "multi-user") || strcmp(t->auth_kind, "token"))
        return 1;
    return 1 + json_array_size(pool);
}

void hn_target_use_user_set(struct hn_target *t, size_t i)
{
    const char *k;
    json_t *v;
    json_t *set =
        i > 0 ? json_array_get(json_object_get(json_object_get(t->profile, "auth"), "pool"), i - 1)
              : NULL;

    t->user_set = set ? i : 0;
    if (strcmp(t->auth_kind, "token"))
        return;
    json_object_foreach(json_object_get(json_object_get(t->profile, "auth"), "users"), k, v)
        json_object_set(t->users, k, set ? json_object_get(set, k) : v);
}

const char *hn_target_token(const struct hn_target *t, const char *user)
{
    return wc_json_str(t->users, user ? user : t->default_user);
}

static bool arr_has(const json_t *a, const char *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (json_is_string(e) && !strcmp(json_string_value(e), s))
            return true;
    }
    return false;
}

bool hn_target_has_capability(const struct hn_target *t, const char *cap)
{
    return arr_has(t->capabilities, cap);
}

bool hn_target_has_provider(const struct hn_target *t, const char *provider)
{
    return arr_has(t->providers, provider);
}

int hn_target_create_session(const struct hn_target *t, const char *user, const char *provider,
                             const char *project_path, int timeout_ms, char **session_id,
                             json_t **reply, char **err)
{
    const char *token = hn_target_token(t, user);
    json_t *sess = json_object_get(t->profile, "sessions");
    const char *path =
        wc_json_str(sess, "path") ? wc_json_str(sess, "path") : "/api/providers/sessions";
    json_t *body;
    struct hn_http_resp r;
    int rc;

    *session_id = NULL;
    *reply = NULL;
    if (!token) {
        *err = wc_xasprintf("target %s has no user '%s'", t->name, user ? user : "(default)");
        return WC_ERR_CONFIG;
    }
    body = json_pack("{s:s, s:s}", "provider", provider, "projectPath", project_path);
    rc = hn_http_request(t->host, t->port, "POST", path, token, body, timeout_ms, &r, err);
    json_decref(body);
    if (rc != 0)
        return rc;
    *reply = json_pack("{s:i, s:O?}", "status", r.status, "body", r.json);
    const char *id = wc_json_str(json_object_get(r.json, "data"), "sessionId");
    if ((r.status != 201 && r.status != 200) || !id) {
        *err = wc_xasprintf("POST %s (%s, %s) as %s: HTTP %d %.300s", path, provider, project_path,
                            user ? user : t->default_user, r.status, r.body ? r.body : "");
        hn_http_resp_release(&r);
        return WC_ERR_PROTOCOL;
    }
    *session_id = wc_xstrdup(id);
    hn_http_resp_release(&r);
    return 0;
}
