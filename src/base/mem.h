/* Allocation wrappers that abort with a message when memory runs out (the
 * Redis zmalloc approach): callers never check for NULL. */
#ifndef CR_BASE_MEM_H
#define CR_BASE_MEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *cr_malloc(size_t size);
void *cr_calloc(size_t count, size_t size);
void *cr_realloc(void *ptr, size_t size);
/* size bytes at an address that is a multiple of alignment (a power of two,
 * at least sizeof(void *)): for SIMD code that wants aligned rows. free()d. */
void *cr_aligned_alloc(size_t alignment, size_t size);
char *cr_strdup(const char *s);
char *cr_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Zeroed allocation of one object of the pointer's type: p = CR_NEW(p); */
#define CR_NEW(p) cr_calloc(1, sizeof(*(p)))
#define CR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifdef __cplusplus
}
#endif

#endif
