/* The OpenCV adapter's stand-in for a camrig built without OpenCV (see
 * cv.h): every detector refuses with -ENOTSUP, so analysis settings fail at
 * start-up with a reason instead of doing nothing. */
#include "analysis/cv.h"

#include <errno.h>
#include <stdio.h>

bool cr_cv_available(void)
{
	return false;
}

const char *cr_cv_version(void)
{
	return NULL;
}

int cr_cv_motion_new(int width, int height, const uint8_t *mask, int history, struct cr_cv_motion **out)
{
	*out = NULL;
	return -ENOTSUP;
}

void cr_cv_motion_free(struct cr_cv_motion **motion)
{
	*motion = NULL;
}

int cr_cv_motion_apply(struct cr_cv_motion *motion, const uint8_t *gray, int stride, int min_area, bool relearn,
		       struct cr_cv_motion_result *out)
{
	return -ENOTSUP;
}

double cr_cv_mean(const uint8_t *gray, int width, int height, int stride, const uint8_t *mask)
{
	return 0;
}

int cr_cv_faces_new(const char *path, struct cr_cv_faces **out, char *why, size_t len)
{
	*out = NULL;
	snprintf(why, len, "camrig was built without OpenCV (install libopencv-dev and build again)");
	return -ENOTSUP;
}

void cr_cv_faces_free(struct cr_cv_faces **faces)
{
	*faces = NULL;
}

int cr_cv_faces_detect(struct cr_cv_faces *faces, const uint8_t *gray, int width, int height, int stride,
		       int min_size, struct cr_rect *out, int max)
{
	return -ENOTSUP;
}

int cr_cv_draw(const struct cr_cv_picture *pic, const struct cr_cv_box *boxes, int nboxes, const char *text)
{
	return -ENOTSUP;
}

int cr_cv_fill_polygon(uint8_t *mask, int width, int height, const int *xy, int npoints, uint8_t value)
{
	return -ENOTSUP;
}
