/* provider.c: the provider names (see provider.h). */
#include <string.h>

#include "provider.h"

#include "wc_banned.h"

bool gw_provider_is_known(const char *name)
{
    static const char *const names[] = {"claude", "cursor", "codex", "opencode"};

    for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0)
            return true;
    }
    return false;
}
