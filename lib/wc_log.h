/*
 * wc_log.h: levelled logging to stderr, with a program name prefix.
 *
 * wc_error() logs and returns its code, so a failure is reported and propagated in one line:
 *     return wc_error(WC_ERR_CONFIG, "case '%s': missing 'steps'", id);
 * Depends on nothing.
 */
#ifndef WC_LOG_H
#define WC_LOG_H

enum wc_log_level {
    WC_LOG_QUIET = 0,
    WC_LOG_ERROR = 1,
    WC_LOG_WARN = 2,
    WC_LOG_INFO = 3,
    WC_LOG_DEBUG = 4
};

void wc_log_setup(const char *progname, enum wc_log_level level);
enum wc_log_level wc_log_get_level(void);
void wc_log(enum wc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int wc_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wc_warn(...)  wc_log(WC_LOG_WARN, __VA_ARGS__)
#define wc_info(...)  wc_log(WC_LOG_INFO, __VA_ARGS__)
#define wc_debug(...) wc_log(WC_LOG_DEBUG, __VA_ARGS__)

#endif
