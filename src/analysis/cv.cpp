/* The OpenCV adapter (see cv.h), built as the module camrig-opencv.so
 * (cv_module.h): thin wrappers, no policy. Every entry point
 * catches cv::Exception (and std::exception: OpenCV may throw bad_alloc) and
 * returns a negative errno, so no exception crosses into C. Images are
 * wrapped in cv::Mat headers over the caller's memory, never copied but
 * for the mask. */
#include "analysis/cv_module.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/video/background_segm.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <memory>
#include <sys/stat.h>
#include <vector>

struct cr_cv_motion {
	cv::Ptr<cv::BackgroundSubtractorMOG2> model;
	cv::Mat mask;                /* CV_8U, 255 where pixels count */
	cv::Mat fg, opened, labels, stats, centroids;
	cv::Mat kernel;
	int width, height;
	double counted;              /* pixels the mask counts */
	bool learnt;                 /* the model has seen a frame */
};

struct cr_cv_faces {
	cv::CascadeClassifier cascade;
};

const char *cr_cv_version(void)
{
	return CV_VERSION;
}

/* OpenCV's own thread pool would spread one detection over every core: the
 * analysis thread is one consumer among many and takes one core at most. */
static void one_thread(void)
{
	static bool done;

	if (!done)
		cv::setNumThreads(1);
	done = true;
}

int cr_cv_motion_new(int width, int height, const uint8_t *mask, int history, struct cr_cv_motion **out)
{
	*out = nullptr;
	if (width < 8 || height < 8 || history < 1)
		return -EINVAL;
	one_thread();
	try {
		auto *m = new cr_cv_motion();

		m->width = width;
		m->height = height;
		/* varThreshold 16 is OpenCV's default: a pixel 4 standard
		 * deviations off its background is foreground. */
		m->model = cv::createBackgroundSubtractorMOG2(history, 16, false);
		if (mask)
			m->mask = cv::Mat(height, width, CV_8U, const_cast<uint8_t *>(mask)).clone();
		else
			m->mask = cv::Mat(height, width, CV_8U, cv::Scalar(255));
		cv::threshold(m->mask, m->mask, 0, 255, cv::THRESH_BINARY);
		m->counted = cv::countNonZero(m->mask);
		m->kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3));
		if (m->counted == 0) {
			delete m;
			return -EINVAL;
		}
		*out = m;
		return 0;
	} catch (const std::exception &) {
		return -ENOMEM;
	}
}

void cr_cv_motion_free(struct cr_cv_motion **m)
{
	delete *m;
	*m = nullptr;
}

int cr_cv_motion_apply(struct cr_cv_motion *m, const uint8_t *gray, int stride, int min_area, bool relearn,
		       struct cr_cv_motion_result *out)
{
	*out = {};
	try {
		cv::Mat img(m->height, m->width, CV_8U, const_cast<uint8_t *>(gray), (size_t)stride);
		bool first = !m->learnt;

		out->mean = cv::mean(img, m->mask)[0];
		/* learningRate 1: the model is reinitialized from this frame. */
		m->model->apply(img, m->fg, relearn || first ? 1.0 : -1.0);
		m->learnt = true;
		if (relearn || first)
			return 0;
		cv::morphologyEx(m->fg, m->opened, cv::MORPH_OPEN, m->kernel);
		cv::bitwise_and(m->opened, m->mask, m->opened);
		int n = cv::connectedComponentsWithStats(m->opened, m->labels, m->stats, m->centroids, 8, CV_32S);
		double changed = 0;
		cv::Rect box;

		for (int i = 1; i < n; i++) { /* 0 is the background */
			int area = m->stats.at<int>(i, cv::CC_STAT_AREA);

			if (area < std::max(min_area, 1))
				continue;
			cv::Rect r(m->stats.at<int>(i, cv::CC_STAT_LEFT), m->stats.at<int>(i, cv::CC_STAT_TOP),
				   m->stats.at<int>(i, cv::CC_STAT_WIDTH), m->stats.at<int>(i, cv::CC_STAT_HEIGHT));
			box = out->blobs++ ? (box | r) : r;
			changed += area;
		}
		out->fraction = 100.0 * changed / m->counted;
		out->box = { box.x, box.y, box.width, box.height };
		return 0;
	} catch (const std::exception &) {
		return -EIO;
	}
}

double cr_cv_mean(const uint8_t *gray, int width, int height, int stride, const uint8_t *mask)
{
	try {
		cv::Mat img(height, width, CV_8U, const_cast<uint8_t *>(gray), (size_t)stride);

		if (!mask)
			return cv::mean(img)[0];
		return cv::mean(img, cv::Mat(height, width, CV_8U, const_cast<uint8_t *>(mask)))[0];
	} catch (const std::exception &) {
		return 0;
	}
}

int cr_cv_faces_new(const char *path, struct cr_cv_faces **out, char *why, size_t len)
{
	struct stat st;

	*out = nullptr;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s: no such file (Debian's opencv-data has the cascades under "
			 "/usr/share/opencv4/)", path);
		return -ENOENT;
	}
	one_thread();
	try {
		/* owned here until it loads: cv::CascadeClassifier::load()
		 * throws on a file that is XML but no cascade */
		std::unique_ptr<cr_cv_faces> f(new cr_cv_faces());

		if (!f->cascade.load(path) || f->cascade.empty()) {
			snprintf(why, len, "%s: not a cascade classifier OpenCV can load", path);
			return -EINVAL;
		}
		*out = f.release();
		return 0;
	} catch (const std::exception &e) {
		snprintf(why, len, "%s: not a cascade classifier OpenCV can load: %s", path, e.what());
		return -EINVAL;
	}
}

void cr_cv_faces_free(struct cr_cv_faces **f)
{
	delete *f;
	*f = nullptr;
}

int cr_cv_faces_detect(struct cr_cv_faces *f, const uint8_t *gray, int width, int height, int stride, int min_size,
		       struct cr_rect *out, int max)
{
	try {
		cv::Mat img(height, width, CV_8U, const_cast<uint8_t *>(gray), (size_t)stride);
		std::vector<cv::Rect> found;

		f->cascade.detectMultiScale(img, found, 1.1, 3, 0, cv::Size(min_size, min_size));
		std::sort(found.begin(), found.end(), [](const cv::Rect &a, const cv::Rect &b) {
			return a.area() > b.area() || (a.area() == b.area() && (a.x < b.x || (a.x == b.x && a.y < b.y)));
		});
		for (int i = 0; i < (int)found.size() && i < max; i++)
			out[i] = { found[i].x, found[i].y, found[i].width, found[i].height };
		return (int)found.size();
	} catch (const std::exception &) {
		return -EIO;
	}
}

/* Draws on one plane, whose pixels are `scale` of img's (1, or 1/2 for
 * 4:2:0 chroma), in the value `value`. */
static void draw_plane(cv::Mat plane, double scale, const struct cr_cv_box *boxes, int n, const char *text,
		       int thick, double font, bool luma, int which)
{
	for (int i = 0; i < n; i++) {
		const struct cr_cv_box *b = &boxes[i];
		uint8_t value = which == 0 ? b->y : which == 1 ? b->u : b->v;
		cv::Rect r((int)(b->rect.x * scale), (int)(b->rect.y * scale), (int)(b->rect.width * scale),
			   (int)(b->rect.height * scale));
		int t = std::max(1, (int)(thick * scale)), tt = std::max(1, t / 2);

		cv::rectangle(plane, r, cv::Scalar(value), t);
		if (b->label && *b->label) {
			int base = 0;
			cv::Size size = cv::getTextSize(b->label, cv::FONT_HERSHEY_SIMPLEX, font * scale, tt, &base);
			cv::Point at(r.x, r.y > size.height + 2 * t ? r.y - t - 1 : r.y + r.height + size.height + t);

			cv::putText(plane, b->label, at, cv::FONT_HERSHEY_SIMPLEX, font * scale, cv::Scalar(value), tt,
				    cv::LINE_AA);
		}
	}
	if (text && *text) {
		int base = 0, t = std::max(1, (int)(thick * scale) / 2);
		cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font * scale, t, &base);
		cv::Point at((int)(4 * scale), (int)(4 * scale) + size.height);

		/* White on a black band in luma; neutral chroma under it. */
		cv::rectangle(plane, cv::Rect(0, 0, size.width + (int)(8 * scale), size.height + base + (int)(8 * scale)),
			      cv::Scalar(luma ? 0 : 128), cv::FILLED);
		if (luma)
			cv::putText(plane, text, at, cv::FONT_HERSHEY_SIMPLEX, font * scale, cv::Scalar(255), t,
				    cv::LINE_AA);
	}
}

int cr_cv_draw(const struct cr_cv_picture *img, const struct cr_cv_box *boxes, int nboxes, const char *text)
{
	try {
		int thick = std::max(1, img->width / 200);
		double font = std::max(0.35, img->width / 1280.0);

		draw_plane(cv::Mat(img->height, img->width, CV_8U, img->plane[0], (size_t)img->stride[0]), 1.0, boxes,
			   nboxes, text, thick, font, true, 0);
		for (int p = 1; img->yu12 && p < 3; p++)
			draw_plane(cv::Mat(img->height / 2, img->width / 2, CV_8U, img->plane[p], (size_t)img->stride[p]),
				   0.5, boxes, nboxes, text, thick, font, false, p);
		return 0;
	} catch (const std::exception &) {
		return -EIO;
	}
}

int cr_cv_fill_polygon(uint8_t *mask, int width, int height, const int *xy, int npoints, uint8_t value)
{
	try {
		cv::Mat m(height, width, CV_8U, mask);
		std::vector<cv::Point> pts;

		for (int i = 0; i < npoints; i++)
			pts.emplace_back(xy[2 * i], xy[2 * i + 1]);
		cv::fillPoly(m, std::vector<std::vector<cv::Point>>{ pts }, cv::Scalar(value));
		return 0;
	} catch (const std::exception &) {
		return -EIO;
	}
}

/* The module's one exported symbol (the build hides every other). */
extern "C" __attribute__((visibility("default"))) const struct cr_cv_ops cr_cv_module = {
	sizeof(struct cr_cv_ops), cr_cv_version, cr_cv_motion_new, cr_cv_motion_free, cr_cv_motion_apply, cr_cv_mean,
	cr_cv_faces_new, cr_cv_faces_free, cr_cv_faces_detect, cr_cv_draw, cr_cv_fill_polygon,
};
