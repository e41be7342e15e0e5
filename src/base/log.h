/* Logging to stderr, one line per message, safe from any thread.
 *
 * Code in base/ logs at debug level only; the caller that decides what an
 * error means logs it, in one step with returning it:
 *     return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot open: %s", path, cr_strerror(ret));
 */
#ifndef CR_BASE_LOG_H
#define CR_BASE_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum cr_log_level { CR_LOG_ERROR, CR_LOG_WARN, CR_LOG_INFO, CR_LOG_DEBUG };

void cr_log_set_level(enum cr_log_level level);
enum cr_log_level cr_log_get_level(void);

/* Parses "error", "warn", "info" or "debug". Returns the level, or -EINVAL. */
int cr_log_parse_level(const char *name);

void cr_log(enum cr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cr_log_ret(ret, level, ...) (cr_log((level), __VA_ARGS__), (ret))
#define cr_err(...) cr_log(CR_LOG_ERROR, __VA_ARGS__)
#define cr_warn(...) cr_log(CR_LOG_WARN, __VA_ARGS__)
#define cr_info(...) cr_log(CR_LOG_INFO, __VA_ARGS__)
#define cr_debug(...) cr_log(CR_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif
