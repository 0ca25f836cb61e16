/*
 * casedir.h: find case files, load them all, select by filter/exclude/tag/strict, shard, and put
 * them in a seeded order (the same seed gives the same order on every machine).
 *
 * Depends on scenario.h and lib/.
 */
#ifndef HN_CASEDIR_H
#define HN_CASEDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model/scenario.h"

struct hn_select {
    json_t *filters;  /* array of globs on the case id (any matches), or NULL/empty: all */
    json_t *excludes; /* array of globs on the case id, or NULL */
    json_t *tags;     /* array of tags (a case needs at least one), or NULL */
    json_t *reqs;     /* array of requirement ids (a case must cite at least one), or NULL */
    bool strict;      /* include strict (SHOULD-level) cases */
    int shard_k;      /* 1-based shard index; with shard_n == 0 no sharding */
    int shard_n;
    bool shuffle; /* order by a seeded shuffle (else by id) */
    uint64_t seed;
};

/*
 * Expand the command line's case arguments (files or directories; none means `dflt_dir`) into
 * a sorted array of .yaml paths appended to `paths`. Missing files are errors appended to errs.
 * Returns 0 or WC_ERR_CONFIG.
 */
int hn_casedir_find(char *const *args, size_t nargs, const char *dflt_dir, json_t *paths,
                    json_t *errs);
/* The same; below any directory walked, subdirectories named in skip (NULL-terminated, or
 * NULL) are not entered: another dialect's cases (a directory given as an argument is). */
int hn_casedir_find_skip(char *const *args, size_t nargs, const char *dflt_dir,
                         const char *const *skip, json_t *paths, json_t *errs);
/* Load every path (lint included) into `out`. Returns 0 or WC_ERR_CONFIG (errs has messages). */
int hn_casedir_load(const json_t *paths, const struct hn_spec *spec, struct hn_caselist *out,
                    json_t *errs);
/* Compare two case ids: dotted numbers numerically, then the rest as text. */
int hn_case_id_cmp(const char *a, const char *b);
/* Parse "K/N" (1 <= K <= N). 0 or WC_ERR_CONFIG. */
int hn_shard_parse(const char *s, int *k, int *n);
/* True when the glob (fnmatch) matches the case's id or base id. */
bool hn_case_glob(const struct hn_case *c, const char *glob);
/*
 * Select and order. *out is a new array of borrowed case pointers (free() it); *n its length.
 * Id order first, then the shard is taken, then the seeded shuffle.
 */
void hn_casedir_select(const struct hn_caselist *all, const struct hn_select *sel,
                       struct hn_case ***out, size_t *n);
/*
 * The names a selection uses that cannot select anything: a --req id the spec does not define,
 * a --tag no loaded case carries. Appends one message per unknown name to errs; returns 0 or
 * WC_ERR_NOTFOUND (a usage error: exit 2).
 */
int hn_select_check_names(const struct hn_caselist *all, const struct hn_spec *spec,
                          const struct hn_select *sel, json_t *errs);
/*
 * The selection in words, for "no case selected" messages: "--filter 'zzz*', --tag bogus,
 * cases/x" (the options given, then the case arguments), or "the default cases/" when nothing
 * narrows it. New string.
 */
char *hn_select_describe(const struct hn_select *sel, char *const *args, size_t nargs);

#endif
