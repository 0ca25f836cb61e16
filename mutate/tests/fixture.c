/*
 * fixture.c: the input of mutate/tests/test_points.py, the self-test of mutate/points.py.
 * Every function exercises one operator or one exclusion rule. A line that ends in `// none`
 * must yield no mutation point (an exclusion rule covers it); expected.txt holds the exact
 * points the tool must find, and the test checks that every mutant still compiles.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int wc_log(int level, const char *fmt, ...);
int wc_error(int code, const char *fmt, ...);
bool gw_mutant_on(int m);
void wc_bug(const char *file, int line, const char *msg) __attribute__((noreturn));
void take2(int a, int b);
void take_mixed(int a, const char *b);
void thing_free(void *p);
int sqlite3_step(void *stmt);
#define SQLITE_DONE 101

#define LIMIT        10
#define BIGGER(a, b) ((a) > (b))

struct box {
    int n;
    char *name;
};

/* ROR (< -> <= and >), NEG of the condition, RET and CONST of the returned literals */
int ror(int a, int b)
{
    if (a < b)
        return 1;
    return a == b;
}

/* LCR, one per connector; NEG of the whole condition */
bool lcr(bool a, bool b, bool c)
{
    if (a && (b || c))
        return true;
    return false;
}

/* NEG of `!x` is x; a while condition is negated too */
int neg(const int *p, int n)
{
    int i = 0;
    if (!p)
        return 0;
    while (i != n)
        i++;
    return i;
}

/* DEL of a call and of an assignment; not of a declaration */
void del(struct box *b)
{
    int k = 3;
    take2(k, b->n);
    b->n = k;
}

/* SWAP: only two arguments of one type as written */
void swap(int x, int y, const char *s)
{
    take2(x, y);
    take_mixed(x, s);
}

/* RET: pointers -> NULL */
char *ret_ptr(struct box *b)
{
    return b->name;
}

/* log: a logging statement, and an if that only logs, give no point */
int logs(int v)
{
    wc_log(2, "value %d", v + 1); // none
    if (v > 100)                  // none
        wc_log(1, "big %d", v);   // none
    if (v < 0)
        return wc_error(3, "negative %d", v); // none
    return v;
}

/* oom: a NULL test of an allocation result and its branch give no point */
char *oom(const char *s)
{
    char *copy = strdup(s);
    if (!copy)               // none
        return NULL;         // none
    char *other = malloc(4); // none
    if (other == NULL) {     // none
        free(copy);          // none
        return NULL;         // none
    }
    free(other); // none
    return copy;
}

/* abort: an abort path and its condition give no point */
int aborts(int v)
{
    if (v == 7)                              // none
        wc_bug(__FILE__, __LINE__, "seven"); // none
    return v;
}

/* mutant: a deliberate-bug switch and the branch it guards give no point */
int mutant(int v)
{
    if (gw_mutant_on(3))                    // none
        v = v + 2;                          // none
    if (gw_mutant_on(5) || gw_mutant_on(6)) // none
        v = v - 1;                          // none
    return gw_mutant_on(4) ? 0 : v;         // none
}

/* io: the storage engine's failure test and its branch give no point */
int io(void *stmt, int v)
{
    if (sqlite3_step(stmt) != SQLITE_DONE) // none
        return v + 1;                      // none
    return v;
}

/* free: a deallocation is not removed */
void frees(struct box *b)
{
    thing_free(b->name); // none
}

/* macros: a node that comes out of a macro expansion gives no point */
int macros(int v)
{
    if (BIGGER(v, LIMIT)) // none
        return 2;
    return 3;
}
