/* The snapshot command: a still of a frame captured after the command, saved
 * to disk (see snapshot.c). */
#ifndef CR_RECORD_SNAPSHOT_H
#define CR_RECORD_SNAPSHOT_H

#include "config/config.h"
#include "encode/jpeg.h"
#include "source/camera.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Saves a JPEG of a frame captured from now on (the JPEG stage's default
 * size and quality) as ROOT/ + recording.snapshot_filename + ".jpg" of its
 * capture time (by default ROOT/YYYY_MM_DD/snapshots/CAMERA_YYYY_MM_DD_HH_MM_SS_mmm.jpg,
 * UTC), {n} = number; "_1", "_2" appended when taken; written to a
 * temporary file and renamed. Puts the path into path, or on failure the
 * reason. Returns 0, or a negative errno: -ETIMEDOUT (no frame within 5 s),
 * a write error. */
int cr_snapshot_save(struct cr_camera *cam, struct cr_jpeg_stage *jpeg, const struct cr_recording_config *config,
		     unsigned number, char *path, size_t len);

#ifdef __cplusplus
}
#endif

#endif
