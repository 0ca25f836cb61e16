/* mutants.c: the table of deliberate bugs and the one switch (see mutants.h). */
#include <string.h>

#include "mutants.h"
#include "wc_err.h"

#include "wc_banned.h"

static const struct gw_mutant_info mutant_infos[GW_MUT_COUNT] = {
    [GW_MUT_NONE] = {"none", "", "no mutant"},
#define GW_MUT_INFO(e, n, r, d) [GW_MUT_##e] = {n, r, d},
    GW_MUTANT_TABLE(GW_MUT_INFO)
#undef GW_MUT_INFO
};

/* The process-wide switch: set once by main() from --mutant, read everywhere. */
static enum gw_mutant mutant_active = GW_MUT_NONE;

bool gw_mutant_on(enum gw_mutant m)
{
    return m != GW_MUT_NONE && mutant_active == m;
}

int gw_mutant_set(const char *name)
{
    for (int m = GW_MUT_NONE + 1; m < GW_MUT_COUNT; m++) {
        if (strcmp(mutant_infos[m].name, name) == 0) {
            mutant_active = (enum gw_mutant)m;
            return WC_OK;
        }
    }
    return WC_ERR_NOTFOUND;
}

void gw_mutant_force(enum gw_mutant m)
{
    mutant_active = m;
}

enum gw_mutant gw_mutant_active(void)
{
    return mutant_active;
}

const struct gw_mutant_info *gw_mutant_info(enum gw_mutant m)
{
    if (m <= GW_MUT_NONE || m >= GW_MUT_COUNT)
        return NULL;
    return &mutant_infos[m];
}

void gw_mutant_list(FILE *out)
{
    for (int m = GW_MUT_NONE + 1; m < GW_MUT_COUNT; m++)
        fprintf(out, "%-30s %-20s %s\n", mutant_infos[m].name, mutant_infos[m].requirements,
                mutant_infos[m].description);
}
