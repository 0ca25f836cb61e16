/* dispatch.c: stub */
#include "check/dispatch.h"
#include "wc_banned.h"

static const struct hn_invariant_info table[] = {
    {"d_first_catalog", "R-D-1", "stub"},
};

const struct hn_invariant_info *hn_dispatch_table(size_t *n)
{
    *n = 1;
    return table;
}

json_t *hn_dispatch_run(const struct hn_transcript *t, const struct hn_msgcat *catalog)
{
    return json_pack("{s:{s:s}, s:[]}", "checks", "d_first_catalog", "not_exercised", "violations");
}
