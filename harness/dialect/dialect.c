/* dialect.c: the dialect table and the choice of a dialect by spec version (dialect.h). */
#include <string.h>

#include "dialect/dialect.h"
#include "wc_banned.h"

const struct hn_dialect *const hn_dialects[] = {&hn_dialect_chatgw1, &hn_dialect_dispatch_ws1,
                                                &hn_dialect_claude_remote1,
                                                &hn_dialect_claude_control1, NULL};

const struct hn_dialect *hn_dialect_for(const char *version)
{
    if (!version)
        return &hn_dialect_chatgw1;
    for (size_t i = 0; hn_dialects[i]; i++) {
        const char *name = hn_dialects[i]->name, *slash = strchr(name, '/');
        size_t len = slash ? (size_t)(slash - name) + 1 : strlen(name);
        if (!strncmp(version, name, len))
            return hn_dialects[i];
    }
    return &hn_dialect_chatgw1;
}
