/* `camrig verify FILE`: checks a recording against its timestamp sidecar. */
#ifndef CR_RECORD_VERIFY_H
#define CR_RECORD_VERIFY_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cr_verify_result {
	CR_VERIFY_OK,        /* the video and its sidecar match */
	CR_VERIFY_MISMATCH,  /* they do not (problems printed) */
	CR_VERIFY_TRUNCATED, /* camrig stopped without finalizing: the sidecar has no end line and may list
				frames past the video's end, and every frame the video has matches */
};

/* Checks the video file at path against its sidecar (the same path with the
 * extension .csv; format in doc/sidecar.md):
 *   - the sidecar is complete (its "# end:" line is there and its counts
 *     match its rows);
 *   - the video has exactly as many frames as the sidecar has "recorded"
 *     rows, numbered 0, 1, 2, ...;
 *   - the video's PTS strictly increase, and each frame's PTS (relative to
 *     the first) equals its capture time in the sidecar (relative to the
 *     first) within two ticks of the stream's time base;
 *   - capture times strictly increase, and the "dropped" and "lost" rows
 *     between two frames account for every gap in their indexes and driver
 *     sequence numbers.
 * A sidecar without an end line is a truncation (see above) when nothing
 * else is wrong. Prints a report to out. Returns the result, or a negative
 * errno / libav error when a file cannot be read (reported too). */
int cr_verify_file(const char *path, FILE *out);

/* How many frames (video packets) the file at path holds, as a reader sees
 * them. Returns 0 or a libav error. */
int cr_verify_count_frames(const char *path, size_t *frames);

#ifdef __cplusplus
}
#endif

#endif
