/*
 * target.h: target profiles (fixtures/targets/NAME.yaml): where the gateway is, how to start it,
 * how to authenticate, how to create sessions, and what it declares (providers, capabilities,
 * extensions, replay cap, heartbeat, quiescence).
 *
 * A profile either names a running gateway (`base_url`, or `host` + `port`) or says how to
 * start one (`start: {argv, ready, timeout_ms}`); then the harness spawns it, reads its port
 * from the first output line matching `ready`, and stops it at the end.
 *
 * `disable_provider_args` (optional, a list of strings with `${provider}`): what to append to
 * start.argv, once per provider, to start the gateway with that provider's runtime unavailable
 * (its sessions rows still name it; chat.send must answer UNSUPPORTED_PROVIDER, R-SEND-4). The
 * reference profile says [--disable-provider, "${provider}"]. A case that restarts its target
 * with a provider disabled is UNIMPLEMENTED on a profile without it.
 *
 * `settings` (optional, a mapping NAME -> list of strings with `${value}`): how to start the
 * gateway with one of its limits set to a given value, for the cases that run a private instance
 * with a small limit (`target_settings: {retain_ms: 300}`): the reference profile says
 * `retain_ms: [--retain-ms, "${value}"]`. A case that needs a setting the profile does not name
 * is UNIMPLEMENTED.
 * Depends on http.h and lib/.
 */
#ifndef HN_TARGET_H
#define HN_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct hn_target {
    char *name;           /* read-only */
    char *profile_path;   /* read-only, or NULL for the built-in reference profile */
    json_t *profile;      /* read-only: the profile as loaded */
    char *host;           /* read-only */
    int port;             /* read-only; changes on restart */
    char *ws_path;        /* read-only: "/ws" */
    char *auth_kind;      /* "token" | "cloudcli-register" */
    json_t *users;        /* object user -> token, after authentication */
    char *default_user;   /* the first user */
    json_t *providers;    /* array of provider names */
    json_t *capabilities; /* array of capability words */
    json_t *extensions;   /* {kinds: [], types: []} */
    int64_t replay_cap;
    int64_t ping_interval_ms; /* 0: none declared */
    int64_t pong_timeout_ms;  /* how long a silent socket is kept; 0: two intervals (R-HB-2) */
    char *quiescence;         /* "sentinel" or "quiet_ms" */
    int64_t quiet_ms;         /* for quiescence quiet_ms */
    /* spawned instance */
    pid_t pid;        /* 0 when not spawned by us */
    char *mutant;     /* --mutant NAME passed at start, or NULL */
    uint64_t seed;    /* substituted for ${seed} in start.argv */
    char *state_dir;  /* private directory for ${state_dir}, or NULL */
    char *log_path;   /* the spawned gateway's output */
    json_t *disabled; /* provider names the next start makes unavailable (array) */
    json_t *settings; /* NAME -> value (string) that every start of this instance applies */
    size_t user_set;  /* which user set `users` holds: 0 auth.users, i auth.pool[i-1] */
    /* the server role (issue 14): `role: client`, the target is a client program the harness
     * spawns once per case with `argv` (${server_url}, ${client_ctl}, ${case_token},
     * ${time_scale}, ${token}); its delays are divided by time_scale */
    bool client_role;
    double time_scale; /* 1 unless the profile declares one */
};

/*
 * Load a profile. `spec` is a file path, or a bare name looked up as
 * fixtures/targets/<name>.yaml. NULL with *err (new, file:line:col) on a bad profile.
 */
struct hn_target *hn_target_load(const char *spec, char **err);
/* A copy of t's configuration, not started and not authenticated (for own_target cases). */
struct hn_target *hn_target_clone(const struct hn_target *t);
/*
 * Before a run with --mutant: when the profile starts the reference gateway (start.argv[0]
 * "gwspec-gateway"), ask it for `--mutant list` and check that `name` is one of them. 0 when it
 * is, or when the profile starts another program (its start reports a bad name);
 * WC_ERR_NOTFOUND with *err (new) for an unknown name.
 */
int hn_target_check_mutant(const struct hn_target *t, const char *name, char **err);
/*
 * A client profile's argv for one case (NULL-terminated, new; hn_target_free_argv): `argv` with
 * the substitutions of subst (an object name -> string), then `--mutant NAME` when t->mutant is
 * set and the profile has no `mutant_args` (else those, with ${mutant}).
 */
char **hn_target_client_argv(const struct hn_target *t, const json_t *subst);
/* A client profile's `env` for one case as NAME=VALUE strings (NULL-terminated, new;
 * hn_target_free_argv), with the substitutions of hn_target_client_argv. */
char **hn_target_client_env(const struct hn_target *t, const json_t *subst);
void hn_target_free_argv(char **argv);
/* True when the profile starts its own gateway. */
bool hn_target_spawns(const struct hn_target *t);
/*
 * Start the gateway when the profile says how (else a no-op), then authenticate.
 * 0, or WC_ERR_IO/WC_ERR_TIMEOUT/WC_ERR_PROTOCOL with *err (new).
 */
int hn_target_start(struct hn_target *t, int timeout_ms, char **err);
/* Stop a spawned gateway (SIGTERM, then SIGKILL after a grace period), then SIGKILL what is
 * left of its process group. */
void hn_target_stop(struct hn_target *t);
/* Stop and start again with the same state directory, then authenticate. */
int hn_target_restart(struct hn_target *t, int timeout_ms, char **err);
/* The same, stopping with sig: SIGTERM (hn_target_restart) or SIGKILL (a crash: the gateway gets
 * no chance to flush or clean up; its process group is swept as by hn_target_stop). */
int hn_target_restart_signal(struct hn_target *t, int sig, int timeout_ms, char **err);
/* True when the profile can start the gateway with a provider unavailable. */
bool hn_target_can_disable(const struct hn_target *t);
/*
 * The providers (array of names, copied; NULL or empty: none) that the next start or restart
 * makes unavailable through disable_provider_args. 0, or WC_ERR_CONFIG with *err (new) when
 * names is not empty and the profile cannot do it.
 */
int hn_target_set_disabled(struct hn_target *t, const json_t *names, char **err);
/* True when the profile says how to start the gateway with setting `name`. */
bool hn_target_can_set(const struct hn_target *t, const char *name);
/*
 * The settings (an object NAME -> integer or string; NULL: none) that every later start and
 * restart applies. 0, or WC_ERR_CONFIG with *err (new) naming the first setting the profile
 * does not know.
 */
int hn_target_set_settings(struct hn_target *t, const json_t *settings, char **err);
void hn_target_free(struct hn_target *t); /* stops it first */

/*
 * User sets: auth.users is set 0, each auth.pool entry one more, all with the same role names
 * (alice, bob) and distinct users. A case that observes its users' broadcasts or per-user
 * listings (own_users) gets a set no other running case has. The count is 1 when the target
 * does not declare multi-user: then other users do not keep broadcasts away.
 */
size_t hn_target_user_sets(const struct hn_target *t);
/* Make `users` the tokens of set i (0 when i is out of range). */
void hn_target_use_user_set(struct hn_target *t, size_t i);

/* Token of user (NULL: the default user), or NULL when the user is unknown. Borrowed. */
const char *hn_target_token(const struct hn_target *t, const char *user);
bool hn_target_has_capability(const struct hn_target *t, const char *cap);
bool hn_target_has_provider(const struct hn_target *t, const char *provider);

/*
 * Create a session (POST /api/providers/sessions) as user. Returns 0 with *session_id (new)
 * and *reply (the response record {status, body}, new), or a negative wc_err with *err.
 */
int hn_target_create_session(const struct hn_target *t, const char *user, const char *provider,
                             const char *project_path, int timeout_ms, char **session_id,
                             json_t **reply, char **err);

/* The gateway binary for the reference profile: $GWSPEC_GATEWAY, else next to this program. */
char *hn_target_gateway_path(void);

/*
 * Remove the private directories of spawning processes that no longer exist (a harness killed
 * with SIGKILL cannot remove its own; the gateways themselves went with it). Returns how many.
 */
size_t hn_target_sweep_stale(void);

#endif
