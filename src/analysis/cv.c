/* cv.h's functions in camrig itself: each calls the OpenCV module
 * (cv_module.h), loaded on the first call, or, where there is none (camrig
 * built without OpenCV, or the module missing), a stand-in whose detectors
 * refuse with -ENOTSUP, so analysis settings fail at start-up with a reason
 * instead of doing nothing. base/module.h says where the module is looked
 * for. */
#include "analysis/cv_module.h"

#include "base/module.h"

#include <errno.h>
#include <stdio.h>

static const char *none_version(void)
{
	return NULL;
}

static int none_motion_new(int width, int height, const uint8_t *mask, int history, struct cr_cv_motion **out)
{
	*out = NULL;
	return -ENOTSUP;
}

static void none_motion_free(struct cr_cv_motion **motion)
{
	*motion = NULL;
}

static int none_motion_apply(struct cr_cv_motion *motion, const uint8_t *gray, int stride, int min_area, bool relearn,
			     struct cr_cv_motion_result *out)
{
	return -ENOTSUP;
}

static double none_mean(const uint8_t *gray, int width, int height, int stride, const uint8_t *mask)
{
	return 0;
}

#ifdef CAMRIG_HAVE_OPENCV
#define BUILT true
#else
#define BUILT false
#endif

static struct cr_module module = CR_MODULE("analysis: OpenCV", CR_CV_MODULE_FILE, CR_CV_MODULE_SYMBOL,
					   sizeof(struct cr_cv_ops), BUILT,
					   "camrig was built without OpenCV (install libopencv-dev and build again)");

static int none_faces_new(const char *path, struct cr_cv_faces **out, char *why, size_t len)
{
	*out = NULL;
	snprintf(why, len, "%s", cr_module_why_not(&module));
	return -ENOTSUP;
}

static void none_faces_free(struct cr_cv_faces **faces)
{
	*faces = NULL;
}

static int none_faces_detect(struct cr_cv_faces *faces, const uint8_t *gray, int width, int height, int stride,
			     int min_size, struct cr_rect *out, int max)
{
	return -ENOTSUP;
}

static int none_draw(const struct cr_cv_picture *pic, const struct cr_cv_box *boxes, int nboxes, const char *text)
{
	return -ENOTSUP;
}

static int none_fill_polygon(uint8_t *mask, int width, int height, const int *xy, int npoints, uint8_t value)
{
	return -ENOTSUP;
}

static const struct cr_cv_ops none = {
	.size = sizeof(struct cr_cv_ops), .version = none_version, .motion_new = none_motion_new,
	.motion_free = none_motion_free, .motion_apply = none_motion_apply, .mean = none_mean,
	.faces_new = none_faces_new, .faces_free = none_faces_free, .faces_detect = none_faces_detect,
	.draw = none_draw, .fill_polygon = none_fill_polygon,
};

static const struct cr_cv_ops *cv(void)
{
	const struct cr_cv_ops *ops = cr_module_table(&module);

	return ops ? ops : &none;
}

bool cr_cv_available(void)
{
	return cv() != &none;
}

const char *cr_cv_why_not(void)
{
	return cr_module_why_not(&module);
}

const char *cr_cv_version(void)
{
	return cv()->version();
}

int cr_cv_motion_new(int width, int height, const uint8_t *mask, int history, struct cr_cv_motion **out)
{
	return cv()->motion_new(width, height, mask, history, out);
}

void cr_cv_motion_free(struct cr_cv_motion **motion)
{
	cv()->motion_free(motion);
}

int cr_cv_motion_apply(struct cr_cv_motion *motion, const uint8_t *gray, int stride, int min_area, bool relearn,
		       struct cr_cv_motion_result *out)
{
	return cv()->motion_apply(motion, gray, stride, min_area, relearn, out);
}

double cr_cv_mean(const uint8_t *gray, int width, int height, int stride, const uint8_t *mask)
{
	return cv()->mean(gray, width, height, stride, mask);
}

int cr_cv_faces_new(const char *path, struct cr_cv_faces **out, char *why, size_t len)
{
	return cv()->faces_new(path, out, why, len);
}

void cr_cv_faces_free(struct cr_cv_faces **faces)
{
	cv()->faces_free(faces);
}

int cr_cv_faces_detect(struct cr_cv_faces *faces, const uint8_t *gray, int width, int height, int stride,
		       int min_size, struct cr_rect *out, int max)
{
	return cv()->faces_detect(faces, gray, width, height, stride, min_size, out, max);
}

int cr_cv_draw(const struct cr_cv_picture *pic, const struct cr_cv_box *boxes, int nboxes, const char *text)
{
	return cv()->draw(pic, boxes, nboxes, text);
}

int cr_cv_fill_polygon(uint8_t *mask, int width, int height, const int *xy, int npoints, uint8_t value)
{
	return cv()->fill_polygon(mask, width, height, xy, npoints, value);
}
