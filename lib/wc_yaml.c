/*
 * wc_yaml.c: libfyaml document -> jansson tree with a position side table (see wc_yaml.h).
 *
 * The side table is an open-addressing hash from (node pointer, key string or NULL) to a
 * 1-based line and column. jansson allocates every value separately except the null/true/false
 * singletons, which are never entered under their own pointer.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "wc_mem.h"
#include "wc_yaml.h"
#include "wc_banned.h"

struct pos_entry {
    const void *ptr; /* node pointer, NULL = empty slot */
    char *key;       /* NULL for a value position, else the key name (owned) */
    int line;
    int col;
};

struct wc_yaml_doc {
    char *name;
    json_t *root;
    struct pos_entry *tab;
    size_t cap;
    size_t used;
};

static size_t pos_hash(const void *ptr, const char *key)
{
    size_t h = (size_t)ptr * 0x9e3779b97f4a7c15ULL;
    if (key) {
        for (const unsigned char *p = (const unsigned char *)key; *p; p++)
            h = (h ^ *p) * 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

static bool same_key(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void pos_put(struct wc_yaml_doc *doc, const void *ptr, const char *key, int line, int col);

static void pos_grow(struct wc_yaml_doc *doc)
{
    struct pos_entry *old = doc->tab;
    size_t oldcap = doc->cap;

    doc->cap = oldcap ? oldcap * 2 : 256;
    doc->tab = wc_xcalloc(doc->cap, sizeof(*doc->tab));
    doc->used = 0;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].ptr) {
            pos_put(doc, old[i].ptr, old[i].key, old[i].line, old[i].col);
            free(old[i].key);
        }
    }
    free(old);
}

static void pos_put(struct wc_yaml_doc *doc, const void *ptr, const char *key, int line, int col)
{
    if ((doc->used + 1) * 2 > doc->cap)
        pos_grow(doc);
    size_t i = pos_hash(ptr, key) & (doc->cap - 1);
    while (doc->tab[i].ptr) {
        if (doc->tab[i].ptr == ptr && same_key(doc->tab[i].key, key))
            return;
        i = (i + 1) & (doc->cap - 1);
    }
    doc->tab[i].ptr = ptr;
    doc->tab[i].key = key ? wc_xstrdup(key) : NULL;
    doc->tab[i].line = line;
    doc->tab[i].col = col;
    doc->used++;
}

static const struct pos_entry *pos_get(const struct wc_yaml_doc *doc, const void *ptr,
                                       const char *key)
{
    if (!doc->cap || !ptr)
        return NULL;
    size_t i = pos_hash(ptr, key) & (doc->cap - 1);
    while (doc->tab[i].ptr) {
        if (doc->tab[i].ptr == ptr && same_key(doc->tab[i].key, key))
            return &doc->tab[i];
        i = (i + 1) & (doc->cap - 1);
    }
    return NULL;
}

static bool node_mark(struct fy_node *n, int *line, int *col)
{
    struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;

    if (!m)
        return false;
    *line = m->line + 1;
    *col = m->column + 1;
    return true;
}

/* The first scalar node at or inside n: containers have no token of their own. */
static struct fy_node *first_scalar(struct fy_node *n)
{
    while (n && fy_node_get_type(n) != FYNT_SCALAR) {
        void *it = NULL;
        if (fy_node_get_type(n) == FYNT_MAPPING) {
            struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
            n = p ? fy_node_pair_key(p) : NULL;
        } else {
            n = fy_node_sequence_iterate(n, &it);
        }
    }
    return n;
}

/*
 * Where a mapping or sequence starts: its first event's mark (the '{' or '[' of a flow
 * collection, the first key or '-' of a block one). 0.7.12 has no fy_node_get_start_mark(); a
 * document iterator started at the node gives the event. Used for collections with no scalar
 * inside (issue 18: an empty {} or [] had no position, so its errors had no file:line:col).
 */
static bool container_mark(struct fy_node *n, int *line, int *col)
{
    struct fy_document_iterator *it;
    struct fy_event *ev;
    const struct fy_mark *m;
    bool ok = false;

    if (!n || fy_node_get_type(n) == FYNT_SCALAR || !(it = fy_document_iterator_create()))
        return false;
    fy_document_iterator_node_start(it, n);
    ev = fy_document_iterator_body_next(it);
    m = ev ? fy_event_start_mark(ev) : NULL;
    if (m) {
        *line = m->line + 1;
        *col = m->column + 1;
        ok = true;
    }
    if (ev)
        fy_document_iterator_event_free(it, ev);
    fy_document_iterator_destroy(it);
    return ok;
}

/* A node's position: a scalar's token, a collection's first scalar, else where it starts. */
static bool node_pos(struct fy_node *n, int *line, int *col)
{
    return node_mark(first_scalar(n), line, col) || container_mark(n, line, col);
}

static bool is_singleton(const json_t *v)
{
    return json_is_null(v) || json_is_boolean(v);
}

/* YAML 1.2 core schema for plain scalars; NULL with *err set for out-of-range numbers. */
static json_t *plain_scalar(const char *s, size_t len, const char **err)
{
    char buf[64];
    char *end;

    if (len == 0 || (len == 1 && s[0] == '~') ||
        (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4))))
        return json_null();
    if ((len == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4))))
        return json_true();
    if ((len == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5))))
        return json_false();
    if (len >= sizeof(buf))
        return json_stringn(s, len);
    memcpy(buf, s, len);
    buf[len] = '\0';

    size_t i = (buf[0] == '-' || buf[0] == '+') ? 1 : 0, digits = 0, dots = 0, exps = 0;
    bool numeric = i < len;
    for (size_t j = i; j < len && numeric; j++) {
        char c = buf[j];
        if (c >= '0' && c <= '9')
            digits++;
        else if (c == '.' && !dots && !exps)
            dots++;
        else if ((c == 'e' || c == 'E') && digits && !exps) {
            exps++;
            if (j + 1 < len && (buf[j + 1] == '-' || buf[j + 1] == '+'))
                j++;
            if (j + 1 >= len)
                numeric = false;
        } else
            numeric = false;
    }
    if (!numeric || !digits)
        return json_stringn(s, len);
    errno = 0;
    if (!dots && !exps) {
        long long v = strtoll(buf, &end, 10);
        if (errno == ERANGE) {
            *err = "integer out of range";
            return NULL;
        }
        return json_integer(v);
    }
    double d = strtod(buf, &end);
    if (errno == ERANGE) {
        *err = "number out of range";
        return NULL;
    }
    return json_real(d);
}

struct conv {
    struct wc_yaml_doc *doc;
    const char *text; /* the input libfyaml parsed (marks index it), or NULL */
    size_t len;
    char *err;
};

static bool sq_white(char c)
{
    return c == ' ' || c == '\t';
}

static bool sq_break(char c)
{
    return c == '\n' || c == '\r';
}

/*
 * The value of a single-quoted scalar, decoded here from the source text between its marks
 * instead of by fy_node_get_scalar() (issue 18). In libfyaml 0.7.12 a run of escaped quotes
 * (`a: ''''''''''''`, five '' pairs) grows the formatter's chunk array past its 8 start-up
 * chunks, the length pass and the copy pass of fy_token_get_text() then disagree, and
 * fy_atom_format_text() returns early without fy_atom_iter_finish(): the grown array leaks
 * (512 bytes under LeakSanitizer) and the text can come out wrong (`'a''''''''''b'` gave
 * "a''''''"). YAML 1.2, 7.3.2: '' is one quote; white space around a line break is dropped;
 * one break folds to a space, n+1 breaks (n empty lines) to n newlines. Returns a new string
 * with its length in *lenp, or NULL when the source is not at hand.
 */
static char *single_quoted(const struct conv *cv, struct fy_node *n, size_t *lenp)
{
    struct fy_token *t = fy_node_get_scalar_token(n);
    const struct fy_mark *a = t ? fy_token_start_mark(t) : NULL;
    const struct fy_mark *b = t ? fy_token_end_mark(t) : NULL;
    const char *p, *e;
    size_t o = 0, line_start = 0;
    char *out;

    if (!a || !b || !cv->text || a->input_pos > b->input_pos || b->input_pos > cv->len)
        return NULL;
    p = cv->text + a->input_pos;
    e = cv->text + b->input_pos;
    out = wc_xmalloc((size_t)(e - p) + 1); /* decoding never lengthens */
    while (p < e) {
        if (*p == '\'' && p + 1 < e && p[1] == '\'') {
            out[o++] = '\'';
            p += 2;
        } else if (sq_break(*p)) {
            size_t breaks = 0;
            while (o > line_start && sq_white(out[o - 1]))
                o--;
            while (p < e && (sq_break(*p) || sq_white(*p))) {
                if (sq_break(*p)) {
                    breaks++;
                    if (*p == '\r' && p + 1 < e && p[1] == '\n')
                        p++;
                }
                p++;
            }
            if (breaks == 1)
                out[o++] = ' ';
            for (size_t i = 1; i < breaks; i++)
                out[o++] = '\n';
            line_start = o;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    *lenp = o;
    return out;
}

/* A scalar's text: *owned is a new string to free when the text had to be decoded here. */
static const char *scalar_text(const struct conv *cv, struct fy_node *n, size_t *lenp, char **owned)
{
    const char *s;

    *owned = NULL;
    if (fy_node_get_style(n) == FYNS_SINGLE_QUOTED && (*owned = single_quoted(cv, n, lenp)))
        return *owned;
    s = fy_node_get_scalar(n, lenp);
    if (!s) {
        *lenp = 0;
        return "";
    }
    return s;
}

/*
 * A block scalar's (| or >) token starts on the line after its header, at column 1, which
 * points into the indentation of a value that may not even be there. Its header indicator is
 * the place to show: the last '|' or '>' before any comment on the header line.
 */
static bool block_header(const struct conv *cv, struct fy_node *n, int *line, int *col)
{
    struct fy_token *t = fy_node_get_scalar_token(n);
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    size_t end, start, ind = SIZE_MAX;

    if (!m || !cv->text || m->input_pos == 0 || m->input_pos > cv->len || m->line < 1)
        return false;
    end = m->input_pos - 1; /* the header line's break */
    if (cv->text[end] != '\n' && cv->text[end] != '\r')
        return false;
    if (cv->text[end] == '\n' && end > 0 && cv->text[end - 1] == '\r')
        end--;
    for (start = end; start > 0 && cv->text[start - 1] != '\n' && cv->text[start - 1] != '\r';)
        start--;
    for (size_t i = start; i < end; i++) {
        if (cv->text[i] == '#' && i > start && (cv->text[i - 1] == ' ' || cv->text[i - 1] == '\t'))
            break;
        if (cv->text[i] == '|' || cv->text[i] == '>')
            ind = i;
    }
    if (ind == SIZE_MAX)
        return false;
    *line = m->line; /* marks count from 0: the header is the line before */
    *col = (int)(ind - start) + 1;
    return true;
}

/* node_pos, with a block scalar placed at its header (block_header). */
static bool cv_node_pos(const struct conv *cv, struct fy_node *n, int *line, int *col)
{
    if (fy_node_get_type(n) == FYNT_SCALAR &&
        (fy_node_get_style(n) == FYNS_LITERAL || fy_node_get_style(n) == FYNS_FOLDED) &&
        block_header(cv, n, line, col))
        return true;
    return node_pos(n, line, col);
}

static void conv_fail(struct conv *cv, struct fy_node *n, const char *msg)
{
    int line = 0, col = 0;

    if (cv->err)
        return;
    if (cv_node_pos(cv, n, &line, &col))
        cv->err = wc_xasprintf("%s:%d:%d: %s", cv->doc->name, line, col, msg);
    else
        cv->err = wc_xasprintf("%s: %s", cv->doc->name, msg);
}

static json_t *convert(struct conv *cv, struct fy_node *n, int depth);

static json_t *convert_mapping(struct conv *cv, struct fy_node *n, int depth)
{
    json_t *obj = json_object();
    struct fy_node_pair *pair;
    void *iter = NULL;

    while ((pair = fy_node_mapping_iterate(n, &iter))) {
        struct fy_node *k = fy_node_pair_key(pair), *v = fy_node_pair_value(pair);
        int kl = 0, kc = 0;
        size_t klen;
        const char *ks;
        char *kown;

        if (!k || fy_node_get_type(k) != FYNT_SCALAR) {
            conv_fail(cv, k ? k : n, "mapping keys must be scalars");
            break;
        }
        ks = scalar_text(cv, k, &klen, &kown);
        char *key = wc_xstrndup(ks, klen);
        free(kown);
        json_t *val = v ? convert(cv, v, depth + 1) : json_null();
        if (!val) {
            free(key);
            break;
        }
        if (json_object_get(obj, key)) {
            conv_fail(cv, k, "duplicate key");
            json_decref(val);
            free(key);
            break;
        }
        json_object_set_new(obj, key, val);
        if (node_mark(k, &kl, &kc))
            pos_put(cv->doc, obj, key, kl, kc);
        free(key);
    }
    if (cv->err) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static json_t *convert(struct conv *cv, struct fy_node *n, int depth)
{
    json_t *out = NULL;
    int line = 0, col = 0;

    if (depth > WC_YAML_MAX_DEPTH) {
        conv_fail(cv, n, "nesting too deep");
        return NULL;
    }
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR: {
        size_t len;
        char *own;
        const char *s = scalar_text(cv, n, &len, &own);
        const char *why = NULL;
        if (fy_node_get_style(n) == FYNS_PLAIN)
            out = plain_scalar(s, len, &why);
        else
            out = json_stringn_nocheck(s, len);
        free(own);
        if (!out)
            conv_fail(cv, n, why ? why : "invalid scalar");
        break;
    }
    case FYNT_SEQUENCE: {
        struct fy_node *item;
        void *iter = NULL;
        out = json_array();
        while ((item = fy_node_sequence_iterate(n, &iter))) {
            json_t *v = convert(cv, item, depth + 1);
            if (!v) {
                json_decref(out);
                return NULL;
            }
            /* the item's place, for items that have none of their own (null, true, false) */
            if (cv_node_pos(cv, item, &line, &col)) {
                char idx[24];
                snprintf(idx, sizeof(idx), "%zu", json_array_size(out));
                pos_put(cv->doc, out, idx, line, col);
            }
            json_array_append_new(out, v);
        }
        break;
    }
    case FYNT_MAPPING:
        out = convert_mapping(cv, n, depth);
        break;
    }
    if (out && !is_singleton(out) && cv_node_pos(cv, n, &line, &col))
        pos_put(cv->doc, out, NULL, line, col);
    return out;
}

/*
 * What resolving a document would build, counted before libfyaml builds it: nodes are counted
 * as the walk reaches them, through every alias, and the walk stops at the first node past
 * WC_YAML_MAX_NODES, so it costs at most that many steps whatever the aliases multiply to
 * (issue 18: a 392-byte alias bomb took `gwspec lint` 8 s and 1.7 GB inside
 * fy_document_resolve).
 */
struct budget {
    size_t nodes;
    struct fy_node *alias; /* the outermost alias being expanded, NULL outside one */
    struct fy_node *at;    /* where the walk stopped */
    bool too_deep;
};

static bool count_nodes(struct budget *b, struct fy_node *n, int depth)
{
    struct fy_node_pair *pair;
    struct fy_node *item;
    void *iter = NULL;

    if (!n)
        return true;
    if (++b->nodes > WC_YAML_MAX_NODES || depth > WC_YAML_MAX_DEPTH) {
        b->at = n;
        b->too_deep = depth > WC_YAML_MAX_DEPTH;
        return false;
    }
    if (fy_node_is_alias(n)) {
        struct fy_node *target = fy_node_resolve_alias(n);
        bool outer = !b->alias;
        if (!target)
            return true; /* an unknown anchor or a cycle: fy_document_resolve reports it */
        if (outer)
            b->alias = n;
        if (!count_nodes(b, target, depth + 1))
            return false;
        if (outer)
            b->alias = NULL;
        return true;
    }
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR:
        break;
    case FYNT_SEQUENCE:
        while ((item = fy_node_sequence_iterate(n, &iter))) {
            if (!count_nodes(b, item, depth + 1))
                return false;
        }
        break;
    case FYNT_MAPPING:
        while ((pair = fy_node_mapping_iterate(n, &iter))) {
            if (!count_nodes(b, fy_node_pair_key(pair), depth + 1) ||
                !count_nodes(b, fy_node_pair_value(pair), depth + 1))
                return false;
        }
        break;
    }
    return true;
}

/* NULL when the document fits the bounds, else a new "name:line:col: message". */
static char *check_budget(const char *name, struct fy_node *root)
{
    struct budget b = {0};
    struct fy_node *at;
    int line = 0, col = 0;
    char *msg, *out;

    if (count_nodes(&b, root, 0))
        return NULL;
    at = b.alias ? b.alias : b.at;
    if (b.alias) {
        size_t len = 0;
        const char *anchor = fy_node_get_scalar(b.alias, &len);
        if (!anchor) {
            anchor = "";
            len = 0;
        }
        if (b.too_deep)
            msg = wc_xasprintf("alias '*%.*s' nests more than %d levels deep", (int)len, anchor,
                               WC_YAML_MAX_DEPTH);
        else
            msg = wc_xasprintf("alias '*%.*s' expands the document past %d nodes", (int)len, anchor,
                               WC_YAML_MAX_NODES);
    } else if (b.too_deep) {
        msg = wc_xasprintf("nesting too deep (more than %d levels)", WC_YAML_MAX_DEPTH);
    } else {
        msg = wc_xasprintf("document has more than %d nodes", WC_YAML_MAX_NODES);
    }
    if (node_pos(at, &line, &col)) {
        if (fy_node_is_alias(at) && col > 1)
            col--; /* the alias token starts after its '*' */
        out = wc_xasprintf("%s:%d:%d: %s", name, line, col, msg);
    } else
        out = wc_xasprintf("%s: %s", name, msg);
    free(msg);
    return out;
}

/*
 * Where a block scalar header ('|' or '>' then indicators) has the indentation indicator 0,
 * which YAML 1.2 (8.1.1.1) does not allow: libfyaml 0.7.12 refuses `key: >0` with no
 * diagnostic at all (issue 18, fuzz/corpus/case/block-scalar-indent-zero). Only asked after
 * libfyaml failed without one, so a lookalike in text it accepted is never blamed. The first
 * such header, line and column (characters) of its '0'; false when there is none.
 */
static bool find_indent_zero(const char *text, size_t len, int *line, int *col)
{
    int l = 1, c = 1;

    for (size_t i = 0; text && i < len; i++) {
        if ((text[i] == '|' || text[i] == '>') &&
            (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n')) {
            size_t j = i + 1, zero = 0;
            while (j < len &&
                   (text[j] == '-' || text[j] == '+' || isdigit((unsigned char)text[j]))) {
                if (text[j] == '0' && !zero)
                    zero = j;
                j++;
            }
            if (zero && (j == len || strchr(" \t\r\n#", text[j]))) {
                *line = l;
                *col = c + (int)(zero - i);
                return true;
            }
        }
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)text[i] & 0xc0) != 0x80)
            c++; /* columns count characters, as check_utf8's do */
    }
    return false;
}

static void collect_diag_error(struct fy_diag *diag, const char *name, const char *text, size_t len,
                               char **err)
{
    void *iter = NULL;
    struct fy_diag_error *e = fy_diag_errors_iterate(diag, &iter);
    int line, col;

    if (e)
        *err = wc_xasprintf("%s:%d:%d: %s", name, e->line, e->column, e->msg);
    else if (find_indent_zero(text, len, &line, &col))
        *err = wc_xasprintf("%s:%d:%d: block scalar indentation indicator 0 (it is 1 to 9)", name,
                            line, col);
    else /* libfyaml gave no position: the rule is still file:line:col */
        *err = wc_xasprintf("%s:1:1: invalid YAML (the parser gave no position)", name);
}

static struct wc_yaml_doc *load_fp(const char *name, FILE *fp, const char *text, size_t len,
                                   char **err)
{
    struct fy_diag_cfg dcfg;
    struct fy_diag *diag;
    struct fy_parser *parser;
    struct fy_document *fyd;
    struct fy_parse_cfg cfg;
    struct wc_yaml_doc *doc = NULL;

    *err = NULL;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.colorize = false;
    diag = fy_diag_create(&dcfg);
    if (!diag) {
        *err = wc_xasprintf("%s: cannot create YAML diagnostics", name);
        return NULL;
    }
    fy_diag_set_collect_errors(diag, true);
    memset(&cfg, 0, sizeof(cfg));
    /* not FYPCF_RESOLVE_DOCUMENT: aliases are counted (check_budget) before they are copied */
    cfg.flags = FYPCF_QUIET;
    cfg.diag = diag;
    parser = fy_parser_create(&cfg);
    if (!parser || fy_parser_set_input_fp(parser, name, fp)) {
        *err = wc_xasprintf("%s: cannot read YAML", name);
        goto out_destroy_parser;
    }
    fyd = fy_parse_load_document(parser);
    if (!fyd) {
        void *it = NULL;
        if (fy_diag_got_error(diag) || fy_diag_errors_iterate(diag, &it))
            collect_diag_error(diag, name, text, len, err);
        else
            *err = wc_xasprintf("%s:1:1: empty document (no YAML node)", name);
        goto out_destroy_parser;
    }
    if ((*err = check_budget(name, fy_document_root(fyd))) != NULL)
        goto out_destroy_doc;
    if (fy_document_resolve(fyd)) {
        collect_diag_error(diag, name, text, len, err);
        goto out_destroy_doc;
    }
    doc = wc_xcalloc(1, sizeof(*doc));
    doc->name = wc_xstrdup(name);
    struct fy_node *root = fy_document_root(fyd);
    if (root) {
        struct conv cv = {doc, text, len, NULL};
        doc->root = convert(&cv, root, 0);
        if (!doc->root) {
            *err = cv.err ? cv.err : wc_xasprintf("%s: invalid YAML", name);
            wc_yaml_free(doc);
            doc = NULL;
        }
    }
out_destroy_doc:
    fy_parse_document_destroy(parser, fyd);
    if (doc && (fyd = fy_parse_load_document(parser)) != NULL) {
        /* a second document: refuse rather than silently ignore it, where it starts */
        struct fy_document_state *st = fy_document_get_document_state(fyd);
        const struct fy_mark *m = st ? fy_document_state_start_mark(st) : NULL;
        *err = wc_xasprintf("%s:%d:%d: more than one YAML document (this file holds one)", name,
                            m ? m->line + 1 : 1, m ? m->column + 1 : 1);
        fy_parse_document_destroy(parser, fyd);
        wc_yaml_free(doc);
        doc = NULL;
    }
out_destroy_parser:
    if (parser)
        fy_parser_destroy(parser);
    fy_diag_destroy(diag);
    return doc;
}

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF), or 0 when the bytes there are not one.
 */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong below U+0800 */
        else if (c == 0xed)
            hi = 0x9f; /* U+D800..U+DFFF are surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else
        return 0; /* continuation byte, overlong lead 0xc0/0xc1, or 0xf5..0xff */
    if (avail < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    }
    return n;
}

/*
 * libfyaml 0.7.12 loops forever on some invalid UTF-8 (`%` then 0xD2 spins in
 * fy_scan_directive), so every input is checked here before the parser sees a byte.
 * Returns false with *err = "name:line:col: invalid UTF-8 ..." at the first bad byte; the
 * column counts characters, as libfyaml's own diagnostics do.
 */
static bool check_utf8(const char *name, const char *text, size_t len, char **err)
{
    const unsigned char *p = (const unsigned char *)text;
    int line = 1, col = 1;

    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (!n) {
            *err = wc_xasprintf("%s:%d:%d: invalid UTF-8 (byte 0x%02X at offset %zu)", name, line,
                                col, p[i], i);
            return false;
        }
        if (p[i] == '\n') {
            line++;
            col = 1;
        } else
            col++;
        i += n;
    }
    return true;
}

static struct wc_yaml_doc *load_mem(const char *name, const char *text, size_t len, char **err)
{
    FILE *fp;
    struct wc_yaml_doc *doc;

    *err = NULL;
    if (len > WC_YAML_MAX_BYTES) {
        int line = 1, col = 1;
        for (size_t i = 0; i < WC_YAML_MAX_BYTES; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)text[i] & 0xc0) != 0x80)
                col++; /* columns count characters, as check_utf8's do */
        }
        *err = wc_xasprintf("%s:%d:%d: input larger than %d bytes", name, line, col,
                            WC_YAML_MAX_BYTES);
        return NULL;
    }
    if (!check_utf8(name, text, len, err))
        return NULL;
    /* fmemopen refuses a zero-length buffer; an empty input is one empty line */
    fp = len ? fmemopen((void *)text, len, "r") : fmemopen((void *)"\n", 1, "r");
    if (!fp) {
        *err = wc_xasprintf("%s: cannot read: %s", name, strerror(errno));
        return NULL;
    }
    doc = load_fp(name, fp, len ? text : NULL, len, err);
    fclose(fp);
    return doc;
}

struct wc_yaml_doc *wc_yaml_load_file(const char *path, char **err)
{
    FILE *fp = fopen(path, "r");
    struct wc_yaml_doc *doc;
    char *text = NULL;
    size_t len = 0, cap = 0;

    if (!fp) {
        *err = wc_xasprintf("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    /* read it whole: the UTF-8 check must see every byte before libfyaml does */
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            text = wc_xrealloc(text, cap);
        }
        size_t got = fread(text + len, 1, cap - len, fp);
        len += got;
        if (got == 0 || len > WC_YAML_MAX_BYTES)
            break; /* load_mem refuses what is past the cap without reading it all */
    }
    if (ferror(fp)) {
        *err = wc_xasprintf("%s: cannot read: %s", path, strerror(errno));
        fclose(fp);
        free(text);
        return NULL;
    }
    fclose(fp);
    doc = load_mem(path, text, len, err);
    free(text);
    return doc;
}

struct wc_yaml_doc *wc_yaml_load_string(const char *name, const char *text, size_t len, char **err)
{
    return load_mem(name, text, len, err);
}

void wc_yaml_free(struct wc_yaml_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->cap; i++)
        free(doc->tab[i].key);
    free(doc->tab);
    json_decref(doc->root);
    free(doc->name);
    free(doc);
}

json_t *wc_yaml_root(const struct wc_yaml_doc *doc)
{
    return doc->root;
}

const char *wc_yaml_name(const struct wc_yaml_doc *doc)
{
    return doc->name;
}

bool wc_yaml_pos(const struct wc_yaml_doc *doc, const json_t *node, int *line, int *col)
{
    const struct pos_entry *e = is_singleton(node) ? NULL : pos_get(doc, node, NULL);

    *line = e ? e->line : 0;
    *col = e ? e->col : 0;
    return e != NULL;
}

bool wc_yaml_key_pos(const struct wc_yaml_doc *doc, const json_t *obj, const char *key, int *line,
                     int *col)
{
    const struct pos_entry *e = pos_get(doc, obj, key);

    *line = e ? e->line : 0;
    *col = e ? e->col : 0;
    return e != NULL;
}

bool wc_yaml_index_pos(const struct wc_yaml_doc *doc, const json_t *arr, size_t i, int *line,
                       int *col)
{
    char idx[24];
    const struct pos_entry *e;

    snprintf(idx, sizeof(idx), "%zu", i);
    e = json_is_array(arr) ? pos_get(doc, arr, idx) : NULL;
    *line = e ? e->line : 0;
    *col = e ? e->col : 0;
    return e != NULL;
}

char *wc_yaml_one_line(const char *msg)
{
    size_t n = 0;
    char *out, *o;

    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        n += (*p < 0x20 || *p == 0x7f) ? 4 : 1;
    o = out = wc_xmalloc(n + 1);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            *o++ = '\\';
            *o++ = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
        } else if (*p < 0x20 || *p == 0x7f) {
            o += snprintf(o, 5, "\\x%02X", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    *o = '\0';
    return out;
}

char *wc_yaml_msg(const struct wc_yaml_doc *doc, const json_t *node, const char *key,
                  const char *fmt, ...)
{
    va_list ap;
    char *msg, *line_msg, *out;
    int line = 0, col = 0;
    bool known;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = wc_xstrdup(fmt);
    va_end(ap);
    known =
        key ? wc_yaml_key_pos(doc, node, key, &line, &col) : wc_yaml_pos(doc, node, &line, &col);
    line_msg = wc_yaml_one_line(msg);
    if (known)
        out = wc_xasprintf("%s:%d:%d: %s", doc->name, line, col, line_msg);
    else
        out = wc_xasprintf("%s: %s", doc->name, line_msg);
    free(line_msg);
    free(msg);
    return out;
}
