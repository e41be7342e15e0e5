/* libavcodec and libavformat are loaded on first use (libav_lazy.c says
 * why and how); callers use their functions as FFmpeg's headers declare
 * them. A part about to use them calls cr_libav_load() first, so a missing
 * library fails that part with a reason instead of ending the process. */
#ifndef CR_BASE_LIBAV_LAZY_H
#define CR_BASE_LIBAV_LAZY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Loads libavformat and libavcodec if not yet loaded. Returns 0, or -1 with
 * the dynamic linker's reason in reason (len bytes, NUL-terminated). Safe
 * from any thread. */
int cr_libav_load(char *reason, size_t len);

#ifdef __cplusplus
}
#endif

#endif
