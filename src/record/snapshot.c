/* The snapshot command: one JPEG of a frame captured after the command
 * arrived, from the JPEG stage (encoded once, shared with the live views),
 * written beside the recordings under ROOT/YYYY_MM_DD/snapshots/. */
#include "record/snapshot.h"

#include "base/error.h"
#include "base/fs.h"
#include "base/time.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>

#define TIMEOUT_NS (5 * CR_NS_PER_SEC)

int cr_snapshot_save(struct cr_camera *cam, struct cr_jpeg_stage *jpeg, const char *root, char *path, size_t len)
{
	struct cr_jpeg_params params = cr_jpeg_stage_params(jpeg, NULL);
	struct cr_jpeg *image = NULL;
	char dir[PATH_MAX], stamp[32];
	int ret;

	ret = cr_jpeg_stage_take(jpeg, &params, cr_camera_frames_published(cam), TIMEOUT_NS, NULL, &image);
	if (ret < 0) {
		snprintf(path, len, "no frame from the camera within %d s (%s)", (int)(TIMEOUT_NS / CR_NS_PER_SEC),
			 cr_strerror(ret));
		return ret;
	}
	cr_time_stamp(image->utc_us, true, stamp, sizeof(stamp));
	if (snprintf(dir, sizeof(dir), "%s/%.10s/snapshots", root, stamp) >= (int)sizeof(dir) ||
	    snprintf(path, len, "%s/%s_%s.jpg", dir, cr_camera_config(cam)->name, stamp) >= (int)len) {
		snprintf(path, len, "%s: path too long", root);
		cr_jpeg_unref(&image);
		return -ENAMETOOLONG;
	}
	ret = cr_fs_make_dirs(dir);
	if (ret == 0)
		ret = cr_fs_write_atomic(path, image->data, image->size);
	if (ret < 0)
		snprintf(path, len, "cannot write under %s: %s", dir, cr_strerror(ret));
	cr_jpeg_unref(&image);
	return ret;
}
