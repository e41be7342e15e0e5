/* The OpenCV adapter as a module (cv.h is its interface): cv.cpp is built
 * into camrig-opencv.so, which exports one table, CR_CV_MODULE_SYMBOL, of
 * the functions cv.h declares; cv.c, in camrig itself, loads it with
 * dlopen() the first time a cr_cv_ function is called, so a camrig that
 * detects nothing never maps OpenCV (about 9 MiB of RSS and 25 libraries,
 * protobuf among them). Private to src/analysis/. */
#ifndef CR_ANALYSIS_CV_MODULE_H
#define CR_ANALYSIS_CV_MODULE_H

#include "analysis/cv.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CR_CV_MODULE_FILE "camrig-opencv.so"
#define CR_CV_MODULE_SYMBOL "cr_cv_module"

/* What the module exports; size is sizeof(struct cr_cv_ops) where it was
 * built, so a module of another camrig is refused instead of misread. */
struct cr_cv_ops {
	size_t size;
	const char *(*version)(void);
	int (*motion_new)(int width, int height, const uint8_t *mask, int history, struct cr_cv_motion **out);
	void (*motion_free)(struct cr_cv_motion **motion);
	int (*motion_apply)(struct cr_cv_motion *motion, const uint8_t *gray, int stride, int min_area, bool relearn,
			    struct cr_cv_motion_result *out);
	double (*mean)(const uint8_t *gray, int width, int height, int stride, const uint8_t *mask);
	int (*faces_new)(const char *path, struct cr_cv_faces **out, char *why, size_t len);
	void (*faces_free)(struct cr_cv_faces **faces);
	int (*faces_detect)(struct cr_cv_faces *faces, const uint8_t *gray, int width, int height, int stride,
			    int min_size, struct cr_rect *out, int max);
	int (*draw)(const struct cr_cv_picture *pic, const struct cr_cv_box *boxes, int nboxes, const char *text);
	int (*fill_polygon)(uint8_t *mask, int width, int height, const int *xy, int npoints, uint8_t value);
};

#ifdef __cplusplus
}
#endif

#endif
