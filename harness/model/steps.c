/* steps.c: the step vocabulary (see steps.h). */
#include <string.h>

#include "model/steps.h"
#include "wc_buf.h"
#include "wc_mem.h"
#include "wc_banned.h"

static const struct hn_step_kind kinds[] = {
#define HN_STEP_ROW(name, flags) {#name, HN_STEP_##name, flags},
    HN_STEPS(HN_STEP_ROW)
#undef HN_STEP_ROW
};

const struct hn_step_kind *hn_step_kind(const char *name)
{
    for (size_t i = 0; name && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (!strcmp(kinds[i].name, name))
            return &kinds[i];
    }
    return NULL;
}

const struct hn_step_kind *hn_step_kinds(size_t *n)
{
    *n = sizeof(kinds) / sizeof(kinds[0]);
    return kinds;
}

char *hn_step_names_with(unsigned flags)
{
    struct wc_buf b;

    wc_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if ((kinds[i].flags & flags) != flags)
            continue;
        if (b.len)
            wc_buf_adds(&b, ", ");
        wc_buf_adds(&b, kinds[i].name);
    }
    return wc_buf_detach(&b, NULL);
}
