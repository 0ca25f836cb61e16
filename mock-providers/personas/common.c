/* common.c: helpers shared by the personas (see persona.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persona.h"
#include "wc_mem.h"
#include "wc_rand.h"
#include "wc_banned.h"

const struct mp_persona *mp_persona_find(const char *name)
{
    static const struct mp_persona *const all[] = {&mp_persona_claude, &mp_persona_cursor,
                                                   &mp_persona_codex, &mp_persona_opencode};

    if (!name)
        return NULL;
    if (strcmp(name, "cursor") == 0)
        return &mp_persona_cursor;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    }
    return NULL;
}

void mp_persona_state_init(struct mp_persona_state *s, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    wc_rand_init(&s->rng, seed);
}

void mp_persona_state_release(struct mp_persona_state *s)
{
    free(s->native_id);
    free(s->perm_id);
    memset(s, 0, sizeof(*s));
}

void mp_persona_args_release(struct mp_persona_args *a)
{
    free(a->prompt);
    free(a->resume);
    free(a->cwd);
    json_decref(a->options);
    memset(a, 0, sizeof(*a));
}

void mp_persona_input_release(struct mp_persona_input *in)
{
    free(in->prompt);
    free(in->request_id);
    free(in->reason);
    memset(in, 0, sizeof(*in));
}

void mp_persona_line(struct wc_buf *out, json_t *msg)
{
    char *text = wc_json_compact(msg);

    wc_buf_adds(out, text);
    wc_buf_adds(out, "\n");
    free(text);
    json_decref(msg);
}

const char *mp_persona_session(const struct mp_persona_state *s, const json_t *ev)
{
    const char *id = ev ? wc_json_str(ev, "sessionId") : NULL;

    if (id)
        return id;
    return s->native_id;
}

const char *mp_persona_no_kind(const char *persona, const json_t *event)
{
    static char reason[160];
    const char *kind = wc_json_str(event, "kind");

    snprintf(reason, sizeof(reason), "%s has no native form for kind '%.64s'", persona,
             kind ? kind : "?");
    return reason;
}

const char *mp_persona_text(const json_t *ev, const char *key)
{
    const char *s = wc_json_str(ev, key);

    return s ? s : "";
}

void mp_persona_uuid(struct mp_persona_state *s, char *out)
{
    wc_rand_uuid(&s->rng, out);
}

static bool is_bool_flag(const char *arg, const char *const *bools)
{
    for (size_t i = 0; bools && bools[i]; i++) {
        if (strcmp(bools[i], arg) == 0)
            return true;
    }
    return false;
}

static void add_option(json_t *options, const char *name, json_t *value)
{
    json_t *old = json_object_get(options, name);

    if (!old) {
        json_object_set_new(options, name, value);
    } else if (json_is_array(old)) {
        json_array_append_new(old, value);
    } else {
        json_t *arr = json_pack("[O, o]", old, value);
        json_object_set_new(options, name, arr);
    }
}

int mp_persona_parse_flags(int argc, char **argv, const char *const *bools, json_t *options,
                           json_t *positional, char **err)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *name, *eq;

        if (strcmp(arg, "--") == 0) {
            while (++i < argc)
                json_array_append_new(positional, json_string(argv[i]));
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            json_array_append_new(positional, json_string(arg));
            continue;
        }
        name = arg + (arg[1] == '-' ? 2 : 1);
        eq = strchr(name, '=');
        if (eq) {
            char *key = wc_xstrndup(name, (size_t)(eq - name));
            add_option(options, key, json_string(eq + 1));
            free(key);
        } else if (is_bool_flag(arg, bools)) {
            add_option(options, name, json_true());
        } else if (i + 1 < argc) {
            add_option(options, name, json_string(argv[++i]));
        } else {
            *err = wc_xasprintf("option %s needs a value", arg);
            return -1;
        }
    }
    return 0;
}
