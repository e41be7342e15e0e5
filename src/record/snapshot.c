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
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_NS (5 * CR_NS_PER_SEC)

/* A name is free when nothing has it yet (only the control thread saves). */
static int claim_free(void *ctx, const char *base)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s.jpg", base) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return access(path, F_OK) == 0 ? -EEXIST : 0;
}

int cr_snapshot_save(struct cr_camera *cam, struct cr_jpeg_stage *jpeg, const struct cr_recording_config *config,
		     unsigned number, char *path, size_t len)
{
	struct cr_jpeg_params params = cr_jpeg_stage_params(jpeg, NULL);
	struct cr_jpeg *image = NULL;
	struct cr_fs_name_fields fields = { .camera = cr_camera_config(cam)->name, .number = number,
					    .local = strcmp(config->timezone, "local") == 0 };
	char name[PATH_MAX], first[PATH_MAX], base[PATH_MAX];
	int ret;

	ret = cr_jpeg_stage_take(jpeg, &params, cr_camera_frames_published(cam), TIMEOUT_NS, NULL, &image);
	if (ret < 0) {
		snprintf(path, len, "no frame from the camera within %d s (%s)", (int)(TIMEOUT_NS / CR_NS_PER_SEC),
			 cr_strerror(ret));
		return ret;
	}
	fields.utc_us = image->utc_us;
	ret = cr_fs_name_expand(config->snapshot_filename, &fields, name, sizeof(name), NULL, 0);
	if (ret == 0 && snprintf(first, sizeof(first), "%s/%s", config->root, name) >= (int)sizeof(first))
		ret = -ENAMETOOLONG;
	if (ret == 0)
		ret = cr_fs_make_parent(first);
	if (ret == 0)
		ret = cr_fs_claim_unique(first, base, sizeof(base), claim_free, NULL);
	if (ret == 0 && snprintf(path, len, "%s.jpg", base) >= (int)len)
		ret = -ENAMETOOLONG;
	if (ret == 0)
		ret = cr_fs_write_atomic(path, image->data, image->size);
	if (ret < 0)
		snprintf(path, len, "cannot write a snapshot under %s: %s", config->root, cr_strerror(ret));
	cr_jpeg_unref(&image);
	return ret;
}
