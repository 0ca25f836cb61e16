/* wc_log.c: levelled logging to stderr (see wc_log.h). */
#include <stdarg.h>
#include <stdio.h>

#include "wc_log.h"
#include "wc_banned.h"

static const char *log_prog = "gwspec";
static enum wc_log_level log_level = WC_LOG_WARN;

void wc_log_setup(const char *progname, enum wc_log_level level)
{
    log_prog = progname;
    log_level = level;
}

enum wc_log_level wc_log_get_level(void)
{
    return log_level;
}

static void vlog(enum wc_log_level level, const char *fmt, va_list ap)
{
    static const char *names[] = {"", "error", "warning", "info", "debug"};

    if (level > log_level)
        return;
    fprintf(stderr, "%s: %s: ", log_prog, names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void wc_log(enum wc_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

int wc_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(WC_LOG_ERROR, fmt, ap);
    va_end(ap);
    return code;
}
