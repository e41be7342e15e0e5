/* The OpenCV adapter: the only code that speaks C++. It wraps what the
 * analysis stage takes from OpenCV (Debian's libopencv-*-dev) behind a C
 * interface of gray images and rectangles:
 *   - motion: an adaptive background (cv::BackgroundSubtractorMOG2, no
 *     shadow detection), a 3x3 morphological opening against pixel noise,
 *     connected components that drop blobs below a minimum area, and a mask;
 *   - faces: cv::CascadeClassifier::detectMultiScale on a gray image;
 *   - drawing: rectangles and labels (cv::rectangle, cv::putText) into the
 *     planes of a GREY or YU12 image, for the JPEG stage's overlay;
 *   - masks: polygons filled with cv::fillPoly.
 * Every image is 8-bit gray unless said otherwise: width x height pixels,
 * stride bytes per row. No function throws: OpenCV's exceptions become
 * negative errnos. cv.cpp implements them in a module camrig loads on the
 * first call (cv_module.h, cv.c); without it (camrig built without OpenCV,
 * or the module missing) the detectors return -ENOTSUP. */
#ifndef CR_ANALYSIS_CV_H
#define CR_ANALYSIS_CV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A rectangle, pixels. */
struct cr_rect {
	int x, y, width, height;
};

/* True when OpenCV is there: camrig was built with it and its module loads
 * (this call loads it). */
bool cr_cv_available(void);

/* Why OpenCV is not there (built without it, its module missing or not
 * loading), one line; NULL when it is. */
const char *cr_cv_why_not(void);

/* The OpenCV version camrig was built with ("4.6.0"), or NULL without it. */
const char *cr_cv_version(void);

struct cr_cv_motion;

/* What one frame did to the background. */
struct cr_cv_motion_result {
	double fraction;        /* % of the counted (masked-in) pixels in blobs of min_area or more */
	struct cr_rect box;     /* their bounding box; 0x0 when none */
	int blobs;              /* how many such blobs */
	double mean;            /* the frame's mean brightness, 0..255 */
};

/* A background model for images of width x height. mask (width x height
 * bytes, rows packed; copied) says which pixels count: non-zero counts;
 * NULL: all. history is how many frames the background remembers (its
 * learning rate is 1/history). Returns 0, -EINVAL for a size below 8x8 or
 * a mask that counts no pixel, -ENOTSUP without OpenCV. */
int cr_cv_motion_new(int width, int height, const uint8_t *mask, int history, struct cr_cv_motion **out);

void cr_cv_motion_free(struct cr_cv_motion **motion);

/* Compares gray (the model's size) with the background and learns from it;
 * relearn: the background becomes this frame (after a light switch), and
 * the result counts nothing. min_area is in square pixels of gray. Fills
 * *out. Returns 0 or -EIO when OpenCV fails. */
int cr_cv_motion_apply(struct cr_cv_motion *motion, const uint8_t *gray, int stride, int min_area, bool relearn,
		       struct cr_cv_motion_result *out);

/* The mean brightness of gray (0..255) inside mask (packed, NULL: all). */
double cr_cv_mean(const uint8_t *gray, int width, int height, int stride, const uint8_t *mask);

struct cr_cv_faces;

/* Loads the cascade classifier at path. Returns 0; -ENOENT (no such file),
 * -EINVAL (not a cascade OpenCV can load) or -ENOTSUP (no OpenCV), with
 * why (len bytes) the one-line reason. */
int cr_cv_faces_new(const char *path, struct cr_cv_faces **out, char *why, size_t len);

void cr_cv_faces_free(struct cr_cv_faces **faces);

/* Finds faces of min_size pixels or more (a side, in gray's pixels) in
 * gray, with OpenCV's usual parameters (scale step 1.1, 3 neighbours).
 * Writes up to max into out, largest first. Returns how many it found (may
 * exceed max), or -EIO when OpenCV fails. */
int cr_cv_faces_detect(struct cr_cv_faces *faces, const uint8_t *gray, int width, int height, int stride,
		       int min_size, struct cr_rect *out, int max);

/* A box to draw: where (img's pixels), its label (NULL: none) and color. */
struct cr_cv_box {
	struct cr_rect rect;
	const char *label;
	uint8_t y, u, v;        /* color, full-range YCbCr */
};

/* An image drawn into: gray (one plane) or YU12 (Y, U, V; chroma at half
 * the size). */
struct cr_cv_picture {
	bool yu12;
	int width, height;      /* pixels */
	uint8_t *plane[3];
	int stride[3];          /* bytes per row */
};

/* Draws boxes, and text (NULL: none) in the top left corner, into pic (in
 * place). Lines are about 1/200 of the image's width thick, at least 1
 * pixel. Returns 0 or -EIO when OpenCV fails. */
int cr_cv_draw(const struct cr_cv_picture *pic, const struct cr_cv_box *boxes, int nboxes, const char *text);

/* Fills the polygon of npoints points (xy: x0, y0, x1, y1, ... in pixels)
 * with value in mask (width x height, packed). Returns 0 or -EIO. */
int cr_cv_fill_polygon(uint8_t *mask, int width, int height, const int *xy, int npoints, uint8_t value);

#ifdef __cplusplus
}
#endif

#endif
