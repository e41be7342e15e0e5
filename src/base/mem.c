/* Allocation that aborts on exhaustion instead of returning NULL. */
#include "base/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t size)
{
	fprintf(stderr, "camrig: out of memory allocating %zu bytes\n", size);
	abort();
}

void *cr_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		out_of_memory(size);
	return p;
}

void *cr_calloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (!p)
		out_of_memory(count * size);
	return p;
}

void *cr_aligned_alloc(size_t alignment, size_t size)
{
	void *p = NULL;

	if (posix_memalign(&p, alignment, size ? size : 1) != 0)
		out_of_memory(size);
	return p;
}

void *cr_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		out_of_memory(size);
	return p;
}

char *cr_strdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(cr_malloc(n), s, n);
}

char *cr_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory(strlen(fmt));
	return s;
}
