/* `camrig verify FILE`: checks a recording against its timestamp sidecar. */
#ifndef CR_RECORD_VERIFY_H
#define CR_RECORD_VERIFY_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

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
 * Prints a report to out. Returns the number of problems found (0: the file
 * matches), or a negative errno / libav error when a file cannot be read
 * (reported too). */
int cr_verify_file(const char *path, FILE *out);

#ifdef __cplusplus
}
#endif

#endif
