/* Line-oriented logging to stderr. Each message is formatted into one buffer
 * and written with a single write(2), so lines from threads never interleave. */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_int current_level = CR_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void cr_log_set_level(enum cr_log_level level)
{
	atomic_store(&current_level, level);
}

enum cr_log_level cr_log_get_level(void)
{
	return atomic_load(&current_level);
}

int cr_log_parse_level(const char *name)
{
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -EINVAL;
}

void cr_log(enum cr_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if ((int)level > atomic_load(&current_level))
		return;
	n = snprintf(line, sizeof(line), "camrig: %s: ", level_names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}
