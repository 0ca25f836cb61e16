/*
 * scenario.h: the case file loader and linter (cases/README.md is the format), the spec's
 * requirement table (spec/<version>/requirements.yaml), and matrix expansion.
 *
 * Loading is strict: every problem is reported as "file:line:col: message", and all problems of
 * a file are collected, not just the first. Provider scripts are validated with the mock
 * providers' public parser (mock-providers/script.h). Depends on match.h, lib/ and
 * mock-providers/script.h only; no I/O beyond reading the files it is given.
 */
#ifndef HN_SCENARIO_H
#define HN_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---- the requirement table --------------------------------------------------------------- */

enum hn_level { HN_LEVEL_MUST, HN_LEVEL_SHOULD, HN_LEVEL_MAY };

struct hn_req {
    char *id; /* "R-ABORT-1" */
    enum hn_level level;
    char *capability; /* or NULL */
    char *title;      /* or NULL */
    char *text;       /* the normative statement, or NULL */
    char *untestable; /* why no case can exercise it yet (not scored), or NULL */
    char *where;      /* "requirements.yaml:LINE:COL" of its entry, for messages */
};

/*
 * What the case loader and linter know of a wire dialect (harness/dialect/ fills it; model/
 * stays dialect-free): the key that names a server frame, the default `ignore` of a case, and
 * the frames every connection receives whatever it subscribed to (a case that observes one
 * needs own_users or own_target). NULL-terminated lists.
 */
struct hn_wire {
    const char *id_key;                /* "kind" (chatgw/1), "type" (dispatch-ws/1) */
    const char *const *default_ignore; /* a case's `ignore` when it has none */
    const char *const *broadcast;      /* broadcast frame names */
    /* they reach every connection of every user: only own_target isolates a case from them
     * (else own_users does) */
    bool broadcast_to_all;
    const char *const *capabilities; /* the words a case may `need` */
    bool client_sessions; /* sessions are ids the harness makes: `provider` is optional */
    bool server_role;     /* the target is a client program; the harness plays the server
                             (exec/run_server.c): only the server role's steps apply */
};

struct hn_spec {
    char *version; /* "chatgw/1.0" */
    char *dir;     /* "spec/chatgw-1.0" */
    struct hn_req *reqs;
    size_t n;
    const struct hn_wire *wire; /* set by the caller after loading; NULL: chatgw/1 */
};

/*
 * Load <spec_dir>/requirements.yaml. Every requirement needs an `id` (unique), a `level`
 * (MUST, SHOULD, MAY); `untestable`, when present, is the reason no case can exercise it and
 * must be a non-empty string. NULL with *err (new, "file:line:col: message") on failure.
 */
struct hn_spec *hn_spec_load(const char *spec_dir, char **err);
/* Build a spec table from a YAML string (for tests). */
struct hn_spec *hn_spec_load_string(const char *name, const char *text, char **err);
const struct hn_req *hn_spec_find(const struct hn_spec *s, const char *id);
const char *hn_level_name(enum hn_level l);
void hn_spec_free(struct hn_spec *s);

/*
 * The spec directory of a spec version ("chatgw/1.0" -> ".../spec/chatgw-1.0"): tried in each
 * directory of $GWSPEC_SPEC_PATH (colon-separated: a spec author's draft versions, outside the
 * repository), then under the current directory, then next to the running binary (bin/../spec,
 * build/bin/../../spec). A directory counts when it holds catalog.yaml.
 * NULL version means chatgw/1.0. Returns a new path (free()), or NULL when none exists.
 */
char *hn_spec_locate(const char *version);
/* hn_spec_locate, else "spec/<version>" with '/' made '-' (a path that may not exist). */
char *hn_spec_dir(const char *version);

/* ---- cases ---------------------------------------------------------------------------------- */

/* The capability words a case may `need`, and the provider names. NULL-terminated. */
extern const char *const hn_capabilities[];
extern const char *const hn_provider_names[];

struct hn_case {
    char *id;       /* the (sub)case id: "4.2.1-x" or "4.2.1-x.b" */
    char *base_id;  /* the id in the file */
    char *file;     /* the path it was loaded from */
    json_t *root;   /* the case object, matrix values substituted; owned reference */
    json_t *matrix; /* this subcase's matrix values ({provider: codex}), or NULL */
    /* borrowed from root; arrays/objects are never NULL (empty when absent) */
    const char *title;
    const char *description;
    const char *expectation;
    json_t *spec;             /* array of requirement ids */
    json_t *tags;             /* array of strings */
    json_t *needs;            /* array of capability words */
    json_t *providers_needed; /* array of provider names */
    json_t *sessions;         /* object: label -> {provider, projectPath?, user?} */
    json_t *providers;        /* object: label -> {session, script}; normalised from both forms */
    json_t *ignore;           /* array of kinds */
    json_t *steps;            /* array of one-key step objects */
    bool strict;
    bool own_target;
    json_t *target_settings; /* borrowed from root: NAME -> value for the private target, or NULL */
    bool own_users;          /* needs users no other running case has (it sees their broadcasts) */
    int64_t timeout_ms;
    /* the 1-based line in `file` of each top-level step (array of integers, 0 when unknown), for
     * reports (a failure's "line"); owned, never NULL */
    json_t *step_lines;
};

struct hn_caselist {
    struct hn_case **v;
    size_t n;
    size_t cap;
};

/*
 * Load one case file, lint it, expand its matrix and append the (sub)cases to `out`.
 * Problems are appended to `errs` (a JSON array of "file:line:col: message" strings).
 * Returns 0, or WC_ERR_CONFIG when the file has problems (nothing is appended to out then).
 * `name` overrides the path used in messages and for the id check (tests); NULL = path.
 */
int hn_case_load_file(const char *path, const struct hn_spec *spec, struct hn_caselist *out,
                      json_t *errs);
/* The same from a string; `name` plays the file path (its base name must match the id). */
int hn_case_load_string(const char *name, const char *text, const struct hn_spec *spec,
                        struct hn_caselist *out, json_t *errs);

void hn_case_free(struct hn_case *c);
void hn_caselist_add(struct hn_caselist *l, struct hn_case *c);
void hn_caselist_release(struct hn_caselist *l); /* frees the cases and the array */

/* True when `name` is a client name (c1, c2, ...). */
bool hn_client_name_valid(const char *name);
/* The step's name (its one non-modifier key), or NULL. */
const char *hn_step_name(const json_t *step);
/*
 * The first broadcast kind (session_upserted, loading_progress) a case would observe: one its
 * `ignore` (NULL: the default, which skips them all) does not skip, or one a pattern in its
 * steps names. NULL when it observes none. Such a case needs own_users (or own_target).
 */
const char *hn_case_broadcast_kind(const json_t *ignore, const json_t *steps);
/* The same for the wire w (NULL: chatgw/1). */
const char *hn_case_broadcast_kind_of(const struct hn_wire *w, const json_t *ignore,
                                      const json_t *steps);
/* chatgw/1's wire: the loader's default when a spec has none. */
extern const struct hn_wire hn_wire_chatgw1;

#endif
