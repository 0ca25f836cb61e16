/*
 * wc_yaml.h: load a YAML file into a jansson tree and remember where every node came from.
 *
 * Every loader of user-written YAML (case files, target profiles, provider scripts, users
 * files, the spec) goes through here so that every error reads `file:line:col: message`.
 * Scalars follow the YAML 1.2 core schema for plain scalars (null/~/empty, true/false, decimal
 * integers and floats); quoted scalars are always strings. Aliases and merge keys are resolved.
 * Non-scalar mapping keys and duplicate keys are errors. Positions are 1-based.
 *
 * Every input is checked to be well-formed UTF-8 before libfyaml sees it (0.7.12 spins forever
 * on some invalid sequences); the first bad byte is refused as `file:line:col: invalid UTF-8`.
 *
 * Bounds (issue 18: a 392-byte alias bomb took 8 s and 1.7 GB): an input is at most
 * WC_YAML_MAX_BYTES, and the document it resolves to, every alias expanded, at most
 * WC_YAML_MAX_NODES nodes nested at most WC_YAML_MAX_DEPTH deep. Aliases are counted as they
 * are resolved, before libfyaml copies anything, and the error names the alias that went past
 * the bound. The largest file in the tree (a target baseline) has about 1,500 nodes.
 *
 * Depends on libfyaml and jansson.
 */
#ifndef WC_YAML_H
#define WC_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define WC_YAML_MAX_BYTES (2 << 20)
#define WC_YAML_MAX_NODES 100000
#define WC_YAML_MAX_DEPTH 200

struct wc_yaml_doc;

/*
 * Load a file, or a string that diagnostics call `name`. On success returns a new document.
 * On failure returns NULL and sets *err to a new "name:line:col: message" string (free()).
 */
struct wc_yaml_doc *wc_yaml_load_file(const char *path, char **err);
struct wc_yaml_doc *wc_yaml_load_string(const char *name, const char *text, size_t len, char **err);
void wc_yaml_free(struct wc_yaml_doc *doc);

/* The root value (borrowed, lives as long as doc). NULL for an empty document. */
json_t *wc_yaml_root(const struct wc_yaml_doc *doc);
/* The file name used in messages (borrowed). */
const char *wc_yaml_name(const struct wc_yaml_doc *doc);

/*
 * Position of a value that lives in this document's tree. Objects and arrays report their
 * first scalar, or where they start when they hold none (an empty {} or []: its bracket);
 * null/true/false are shared singletons in jansson, so ask for their key's position (or their
 * index's, wc_yaml_index_pos) instead. Returns false when unknown (then *line = *col = 0).
 */
bool wc_yaml_pos(const struct wc_yaml_doc *doc, const json_t *node, int *line, int *col);
/* Position of the key `key` inside object `obj`. */
bool wc_yaml_key_pos(const struct wc_yaml_doc *doc, const json_t *obj, const char *key, int *line,
                     int *col);
/*
 * Position of item i of array `arr`, singletons included. False for an item with no token at
 * all (a bare `-`, an empty plain scalar): then use the array's position.
 */
bool wc_yaml_index_pos(const struct wc_yaml_doc *doc, const json_t *arr, size_t i, int *line,
                       int *col);

/*
 * msg made one line: newline, CR and tab become \n, \r, \t and other control characters
 * \xNN, so a multi-line value copied into a message cannot break `file:line:col: message`
 * into several lines (issue 18). New string (free()).
 */
char *wc_yaml_one_line(const char *msg);

/*
 * "file:line:col: message" at node (or, when key is not NULL, at obj's key `key`), the message
 * made one line (wc_yaml_one_line). Falls back to "file: message" when the position is
 * unknown. New string (free()).
 */
char *wc_yaml_msg(const struct wc_yaml_doc *doc, const json_t *node, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
