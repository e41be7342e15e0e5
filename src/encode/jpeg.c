/* The JPEG stage (see jpeg.h for the model).
 *
 * Design: the stage subscribes to its camera with a latest-wins queue one
 * frame deep: a worker that becomes free takes the newest frame, never a
 * stale one queued behind another worker's. For every variant whose latest
 * image is older than the frame and that a client is waiting on (a stream
 * between images, a snapshot) or whose latest image a client took (its
 * clients keep up), it produces an image; other frames are not encoded at
 * all (counted as skipped), so a client that reads slower than the camera
 * costs about two encodes per image it gets, not one per frame:
 *   - MJPEG frame, variant of the camera's size in color: the frame itself
 *     (pass-through, no copy);
 *   - YUYV or NV12 at the camera's size in color, no overlay: compressed
 *     strip by strip (jpeg_strips.c), never converted whole;
 *   - otherwise the frame is brought to a layout libturbojpeg takes directly
 *     (GREY, I420, 4:2:2 planar, RGB, BGR), converting or scaling with
 *     libswscale only where needed, and compressed; a frame that states
 *     limited range (cr_frame.range: a decoded video file) is expanded to
 *     JFIF's full range in that step, one of unstated range is taken as it is; a raw sensor frame (Y10,
 *     Bayer, ...) is developed first into 8-bit gray or a demosaicked RGB
 *     (cr_image_develop()), once per frame for all its variants.
 * Workers finish out of order; a variant's latest image only moves forward.
 * A variant with the overlay is always converted into the worker's own
 * scratch image (GREY or YU12), drawn into by the overlay function there,
 * then compressed: the frame itself is never written.
 *
 * Locking: stage->lock guards the variant list, demand counts and each
 * variant's latest image; images are published with a broadcast on
 * stage->published and a call of the notify function (an event loop's
 * wake-up, cr_jpeg_stage_set_notify()) under the lock. Encoding happens
 * outside the lock.
 *
 * Waiters: a thread in cr_jpeg_variant_wait() counts as waiting while it
 * blocks; a client of an event loop (cr_jpeg_variant_poll()) counts from
 * the poll that found nothing new until the poll that takes an image, or
 * cr_jpeg_variant_unwait(). Either way a variant is encoded for only while
 * somebody is ready to send its next image. */
#include "encode/jpeg.h"
#include "encode/jpeg_internal.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/text.h"
#include "base/time.h"
#include "base/image.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <unistd.h>

#define MAX_VARIANTS 16
#define MAX_WORKERS 8
#define POP_TIMEOUT_NS (500 * CR_NS_PER_MS)
/* A worker idle this long frees its buffers (at 1080p 12 MiB, 4.4 MiB of
 * it resident): after the last client leaves, and for workers a frame
 * seldom reaches (frames wake the worker that went idle last, base/queue.h).
 * As the frame pool's CR_FRAME_POOL_IDLE_NS. */
#define WORKER_IDLE_NS CR_FRAME_POOL_IDLE_NS
#define TAKE_SLICE_NS (200 * CR_NS_PER_MS)   /* how often cr_jpeg_stage_take looks at cancel */

struct cr_jpeg_variant {
	struct cr_jpeg_params params;
	unsigned demand;             /* acquirers right now */
	unsigned waiting;            /* of them, in cr_jpeg_variant_wait() for an image newer than latest */
	struct cr_jpeg *latest;      /* newest image, or NULL */
	bool used;                   /* slot in use (demand may be 0: kept for reuse) */
};

/* Per-worker encoder state: none of it is shared. */
struct worker {
	struct cr_jpeg_stage *stage;
	pthread_t thread;
	bool started;                /* thread is running */
	tjhandle compress, decompress;
	struct cr_jpeg_strips *strips; /* YUYV and NV12 at the camera's size */
	size_t strips_last;          /* bytes of the last image it made: the next one's size hint */
	struct cr_scaler *conv;
	struct cr_scaler *develop;   /* raw sensor frames -> 8 bits */
	uint8_t *developed;          /* a raw frame developed (GREY or I420, the camera's size) */
	size_t developed_size;
	uint8_t *scratch;            /* converted or decoded pixels */
	size_t scratch_size;
	uint8_t *decoded;            /* an MJPEG frame decoded to RGB */
	size_t decoded_size;
	uint8_t *out;                /* compressed output before it is copied */
	size_t out_size;
	atomic_size_t held;          /* bytes of the four buffers above and the strip compressor's */
};

struct cr_jpeg_stage {
	struct cr_camera *camera;
	struct cr_jpeg_params defaults;
	cr_jpeg_overlay_fn overlay;  /* NULL: none; set before the workers start */
	void *overlay_ctx;
	struct cr_subscriber *sub;
	struct worker workers[MAX_WORKERS];
	unsigned nworkers;
	atomic_bool stopping;

	pthread_mutex_t lock;
	pthread_cond_t published;
	struct cr_jpeg_variant variants[MAX_VARIANTS];
	void (*notify)(void *ctx);   /* after each publish and at shutdown; NULL: none */
	void *notify_ctx;
	unsigned total_demand;
	bool shut_down;
	struct cr_jpeg_stage_stats stats;
};

struct cr_jpeg *cr_jpeg_ref(struct cr_jpeg *jpeg)
{
	atomic_fetch_add_explicit(&jpeg->refs, 1, memory_order_relaxed);
	return jpeg;
}

void cr_jpeg_unref(struct cr_jpeg **pjpeg)
{
	struct cr_jpeg *jpeg = *pjpeg;

	if (!jpeg)
		return;
	*pjpeg = NULL;
	if (atomic_fetch_sub_explicit(&jpeg->refs, 1, memory_order_acq_rel) != 1)
		return;
	cr_frame_unref(&jpeg->frame);
	free(jpeg->owned);
	free(jpeg);
}

static struct cr_jpeg *jpeg_new(const struct cr_frame *frame, int width, int height)
{
	struct cr_jpeg *jpeg = CR_NEW(jpeg);

	atomic_store(&jpeg->refs, 1);
	jpeg->width = width;
	jpeg->height = height;
	jpeg->index = frame->index;
	jpeg->sequence = frame->sequence;
	jpeg->mono_ns = frame->mono_ns;
	jpeg->utc_us = frame->utc_us;
	return jpeg;
}

/* Makes *buf (one of w's buffers, *have bytes) hold at least need bytes. */
static void ensure(struct worker *w, uint8_t **buf, size_t *have, size_t need)
{
	if (*have >= need)
		return;
	free(*buf);
	*buf = cr_malloc(need);
	atomic_fetch_add(&w->held, need - *have);
	*have = need;
}

/* Frees w's buffers: it has been idle for WORKER_IDLE_NS. */
static void release_buffers(struct worker *w)
{
	uint8_t **bufs[] = { &w->developed, &w->scratch, &w->decoded, &w->out };
	size_t *sizes[] = { &w->developed_size, &w->scratch_size, &w->decoded_size, &w->out_size };

	for (size_t i = 0; i < CR_ARRAY_SIZE(bufs); i++) {
		free(*bufs[i]);
		*bufs[i] = NULL;
		*sizes[i] = 0;
	}
	cr_jpeg_strips_release(w->strips);
	atomic_store(&w->held, 0);
	malloc_trim(0); /* the buffers are large: give their pages back to the kernel */
}

/* Lays out an image of fourcc (GREY, YU12 or 4:2:2 planar) and size over
 * w->scratch, rows 16-byte aligned (libswscale's SIMD writes them faster,
 * and one of its conversions needs it: base/image.c). */
static struct cr_image scratch_image(struct worker *w, uint32_t fourcc, int width, int height)
{
	struct cr_plane_layout l;
	struct cr_image img = { .fourcc = fourcc, .width = width, .height = height };

	cr_fourcc_layout(fourcc, width, height, (width + 31) / 32 * 32, &l);
	ensure(w, &w->scratch, &w->scratch_size, l.size);
	for (int p = 0; p < l.nplanes; p++) {
		img.plane[p] = w->scratch + l.offset[p];
		img.stride[p] = l.stride[p];
	}
	return img;
}

/* Compresses img (GREY, YU12, 4:2:2 planar, RGB24 or BGR24, at the output
 * size) into a new image. Returns 0 or -EIO. */
static int compress(struct worker *w, const struct cr_image *img, int quality, const struct cr_frame *frame,
		    struct cr_jpeg **out)
{
	unsigned long size = tjBufSize(img->width, img->height, TJSAMP_422);
	int flags = TJFLAG_NOREALLOC | (quality <= 90 ? TJFLAG_FASTDCT : 0), ret;
	unsigned char *dst;

	ensure(w, &w->out, &w->out_size, size);
	dst = w->out;
	size = w->out_size;
	if (img->fourcc == CR_FMT_YU12 || img->fourcc == CR_FMT_YUV422P) {
		const unsigned char *planes[3] = { img->plane[0], img->plane[1], img->plane[2] };

		ret = tjCompressFromYUVPlanes(w->compress, planes, img->width, img->stride, img->height,
					      img->fourcc == CR_FMT_YU12 ? TJSAMP_420 : TJSAMP_422, &dst, &size,
					      quality, flags);
	} else {
		int pf = img->fourcc == CR_FMT_GREY ? TJPF_GRAY : img->fourcc == CR_FMT_RGB24 ? TJPF_RGB : TJPF_BGR;

		ret = tjCompress2(w->compress, img->plane[0], img->width, img->stride[0], img->height, pf, &dst,
				  &size, pf == TJPF_GRAY ? TJSAMP_GRAY : TJSAMP_420, quality, flags);
	}
	if (ret < 0) {
		cr_debug("jpeg: compression failed: %s", tjGetErrorStr2(w->compress));
		return -EIO;
	}
	*out = jpeg_new(frame, img->width, img->height);
	(*out)->owned = cr_malloc(size);
	memcpy((*out)->owned, dst, size);
	(*out)->data = (*out)->owned;
	(*out)->size = size;
	return 0;
}

/* Compresses src (YUYV or NV12, cr_jpeg_strips_take()) strip by strip into a
 * new image. Returns 0, or cr_jpeg_strips_compress()'s error. */
static int compress_strips(struct worker *w, const struct cr_image *src, int quality, const struct cr_frame *frame,
			   struct cr_jpeg **out)
{
	size_t held = cr_jpeg_strips_held(w->strips);
	uint8_t *data;
	size_t size;
	int ret = cr_jpeg_strips_compress(w->strips, src, quality, w->strips_last, &data, &size);

	atomic_fetch_add(&w->held, cr_jpeg_strips_held(w->strips) - held); /* it only grows here */
	if (ret < 0) {
		cr_debug("jpeg: compression failed: %s", cr_strerror(ret));
		return ret;
	}
	w->strips_last = size;
	*out = jpeg_new(frame, src->width, src->height);
	(*out)->owned = data;
	(*out)->data = data;
	(*out)->size = size;
	return 0;
}

/* Decodes an MJPEG frame to RGB24 into w->decoded. Returns 0 or -EIO. */
static int decode(struct worker *w, const struct cr_frame *frame, struct cr_image *img)
{
	int width, height, subsamp, colorspace;

	if (tjDecompressHeader3(w->decompress, frame->data, frame->size, &width, &height, &subsamp,
				&colorspace) < 0)
		return -EIO;
	ensure(w, &w->decoded, &w->decoded_size, (size_t)width * (size_t)height * 3);
	if (tjDecompress2(w->decompress, frame->data, frame->size, w->decoded, width, width * 3, height, TJPF_RGB,
			  TJFLAG_FASTDCT) < 0 && tjGetErrorCode(w->decompress) == TJERR_FATAL)
		return -EIO;
	*img = (struct cr_image){ .fourcc = CR_FMT_RGB24, .width = width, .height = height,
				  .plane = { w->decoded }, .stride = { width * 3 } };
	return 0;
}

/* Paints img (GREY or YU12) black, full range as JPEG has it. */
static void paint_black(const struct cr_image *img)
{
	for (int row = 0; row < img->height; row++)
		memset(img->plane[0] + (size_t)row * img->stride[0], 0, (size_t)img->width);
	for (int p = 1; img->fourcc == CR_FMT_YU12 && p < 3; p++)
		for (int row = 0; row < img->height / 2; row++)
			memset(img->plane[p] + (size_t)row * img->stride[p], 128, (size_t)img->width / 2);
}

static int even(long v)
{
	return (int)(v & ~1L);
}

/* Converts src into dst (another size) as fit says: the middle of src of
 * dst's shape (crop), or all of src inside a black dst (pad). */
static int convert_fitted(struct cr_scaler *conv, const struct cr_image *src, const struct cr_image *dst,
			  enum cr_jpeg_fit fit)
{
	long sw = src->width, sh = src->height, dw = dst->width, dh = dst->height;
	bool wider = sw * dh > dw * sh; /* src is wider than dst */
	struct cr_image view;

	if (fit == CR_JPEG_FIT_CROP) {
		int cw = wider ? even(sh * dw / dh) : (int)sw, ch = wider ? (int)sh : even(sw * dh / dw);

		if (cw >= 2 && ch >= 2 && cr_image_rect(src, even((sw - cw) / 2), even((sh - ch) / 2), cw, ch, &view))
			return cr_image_convert(conv, &view, dst);
	} else if (fit == CR_JPEG_FIT_PAD) {
		int iw = wider ? (int)dw : even(sw * dh / sh), ih = wider ? even(sh * dw / sw) : (int)dh;

		if (iw >= 2 && ih >= 2 && cr_image_rect(dst, even((dw - iw) / 2), even((dh - ih) / 2), iw, ih, &view)) {
			paint_black(dst);
			return cr_image_convert(conv, src, &view);
		}
	}
	return cr_image_convert(conv, src, dst);
}

/* Develops the raw sensor image src into w->developed: GREY for a mono
 * sensor, RGB24 for a Bayer one, the same size. */
static int develop(struct worker *w, const struct cr_image *src, struct cr_image *out)
{
	uint32_t fourcc = cr_fourcc_is_mono(src->fourcc) ? CR_FMT_GREY : CR_FMT_RGB24;
	struct cr_plane_layout l;
	int ret = cr_fourcc_layout(fourcc, src->width, src->height, 0, &l);

	if (ret < 0)
		return ret;
	ensure(w, &w->developed, &w->developed_size, l.size);
	*out = (struct cr_image){ .fourcc = fourcc, .width = src->width, .height = src->height };
	for (int p = 0; p < l.nplanes; p++) {
		out->plane[p] = w->developed + l.offset[p];
		out->stride[p] = l.stride[p];
	}
	if (!w->develop)
		w->develop = cr_scaler_new(0);
	return cr_image_develop(w->develop, src, out);
}

/* Where src lies in an output of dst_w x dst_h converted as fit says (the
 * arithmetic of convert_fitted). */
static struct cr_jpeg_overlay_view fit_view(int src_w, int src_h, int dst_w, int dst_h, enum cr_jpeg_fit fit)
{
	long sw = src_w, sh = src_h, dw = dst_w, dh = dst_h;
	bool wider = sw * dh > dw * sh;
	struct cr_jpeg_overlay_view v = { (double)dw / (double)sw, (double)dh / (double)sh, 0, 0 };

	if (fit == CR_JPEG_FIT_CROP) {
		int cw = wider ? even(sh * dw / dh) : (int)sw, ch = wider ? (int)sh : even(sw * dh / dw);

		if (cw >= 2 && ch >= 2)
			v = (struct cr_jpeg_overlay_view){ (double)dw / cw, (double)dh / ch,
							   -(double)even((sw - cw) / 2) * dw / cw,
							   -(double)even((sh - ch) / 2) * dh / ch };
	} else if (fit == CR_JPEG_FIT_PAD) {
		int iw = wider ? (int)dw : even(sw * dh / sh), ih = wider ? even(sh * dw / sw) : (int)dh;

		if (iw >= 2 && ih >= 2)
			v = (struct cr_jpeg_overlay_view){ (double)iw / sw, (double)ih / sh, even((dw - iw) / 2),
							   even((dh - ih) / 2) };
	}
	return v;
}

/* Encodes src (raw, the camera's size) for params. */
static int encode_raw(struct worker *w, const struct cr_image *src, const struct cr_jpeg_params *p,
		      const struct cr_frame *frame, struct cr_jpeg **out)
{
	bool same_size = p->width == src->width && p->height == src->height;
	bool overlay = p->overlay > 0 && w->stage->overlay;
	struct cr_image img = *src;
	uint32_t target;
	int ret;

	if (same_size && !p->gray && !overlay && cr_jpeg_strips_take(src))
		return compress_strips(w, src, p->quality, frame, out);
	if (p->gray) {
		target = CR_FMT_GREY;
		/* The luma plane of a planar YUV frame is already a gray image. */
		if (same_size && (src->fourcc == CR_FMT_YU12 || src->fourcc == CR_FMT_NV12 ||
				  src->fourcc == CR_FMT_YUV422P))
			img.fourcc = CR_FMT_GREY;
	} else if (same_size && (src->fourcc == CR_FMT_YU12 || src->fourcc == CR_FMT_RGB24 ||
				 src->fourcc == CR_FMT_BGR24 || src->fourcc == CR_FMT_GREY)) {
		target = src->fourcc;
	} else {
		target = src->fourcc == CR_FMT_YUYV && same_size ? CR_FMT_YUV422P : CR_FMT_YU12;
		if (src->fourcc == CR_FMT_GREY || cr_fourcc_is_deep_gray(src->fourcc))
			target = CR_FMT_GREY; /* a live view of 16-bit luma shows its top 8 bits */
	}
	if (overlay && target != CR_FMT_GREY)
		target = CR_FMT_YU12; /* the layouts the overlay draws into */
	/* JFIF's YCbCr is full range: limited levels are expanded on the way. */
	if (img.fourcc != target || !same_size || overlay || src->range == CR_RANGE_LIMITED) {
		img = scratch_image(w, target, p->width, p->height);
		img.range = src->range == CR_RANGE_UNSTATED ? CR_RANGE_UNSTATED : CR_RANGE_FULL;
		ret = same_size ? cr_image_convert(w->conv, src, &img) : convert_fitted(w->conv, src, &img, p->fit);
		if (ret < 0)
			return ret;
	}
	if (overlay) {
		struct cr_jpeg_overlay_view view = same_size ? (struct cr_jpeg_overlay_view){ 1, 1, 0, 0 }
							     : fit_view(src->width, src->height, p->width, p->height,
									p->fit);

		w->stage->overlay(w->stage->overlay_ctx, &img, &view, frame);
	}
	return compress(w, &img, p->quality, frame, out);
}

/* Publishes jpeg as variant v's latest image if it is newer. Takes jpeg. */
static void publish(struct cr_jpeg_stage *stage, struct cr_jpeg_variant *v, struct cr_jpeg *jpeg, bool passed)
{
	pthread_mutex_lock(&stage->lock);
	if (!v->latest || jpeg->index > v->latest->index) {
		if (v->latest && !v->latest->taken)
			stage->stats.unsent++;
		cr_jpeg_unref(&v->latest);
		v->latest = jpeg;
		jpeg = NULL;
	}
	if (passed)
		stage->stats.passed_through++;
	else
		stage->stats.encoded++;
	pthread_cond_broadcast(&stage->published);
	if (stage->notify)
		stage->notify(stage->notify_ctx);
	pthread_mutex_unlock(&stage->lock);
	cr_jpeg_unref(&jpeg);
}

static void process(struct worker *w, struct cr_frame *frame)
{
	struct cr_jpeg_stage *stage = w->stage;
	struct cr_jpeg_params wanted[MAX_VARIANTS];
	struct cr_jpeg_variant *targets[MAX_VARIANTS];
	struct cr_image src;
	bool decoded = false;
	unsigned n = 0;

	pthread_mutex_lock(&stage->lock);
	for (unsigned i = 0; i < MAX_VARIANTS; i++) {
		const struct cr_jpeg_variant *v = &stage->variants[i];

		/* Wanted: a client waits, or took the last image (its clients
		 * keep up and will want this one). */
		if (v->demand > 0 && (v->waiting > 0 || (v->latest && v->latest->taken)) &&
		    (!v->latest || v->latest->index < frame->index)) {
			wanted[n] = v->params;
			targets[n++] = &stage->variants[i];
		}
	}
	if (n == 0)
		stage->stats.skipped++;
	pthread_mutex_unlock(&stage->lock);

	if (!cr_fourcc_is_compressed(frame->fourcc))
		src = cr_image_of_frame(frame);
	if (n > 0 && cr_fourcc_raw(frame->fourcc)) {
		struct cr_image raw = src;

		if (develop(w, &raw, &src) < 0) {
			pthread_mutex_lock(&stage->lock);
			stage->stats.errors++;
			pthread_mutex_unlock(&stage->lock);
			return;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		const struct cr_jpeg_params *p = &wanted[i];
		struct cr_jpeg *jpeg = NULL;
		int64_t t0 = cr_time_mono_ns();
		int ret;

		if (cr_fourcc_is_compressed(frame->fourcc)) {
			if (!p->gray && p->width == frame->width && p->height == frame->height &&
			    !(p->overlay > 0 && stage->overlay)) {
				jpeg = jpeg_new(frame, frame->width, frame->height);
				jpeg->frame = cr_frame_ref(frame);
				jpeg->data = frame->data;
				jpeg->size = frame->size;
				publish(stage, targets[i], jpeg, true);
				continue;
			}
			if (!decoded && decode(w, frame, &src) < 0) {
				pthread_mutex_lock(&stage->lock);
				stage->stats.errors++;
				pthread_mutex_unlock(&stage->lock);
				return;
			}
			decoded = true;
		}
		ret = encode_raw(w, &src, p, frame, &jpeg);
		if (ret < 0) {
			pthread_mutex_lock(&stage->lock);
			stage->stats.errors++;
			pthread_mutex_unlock(&stage->lock);
			continue;
		}
		pthread_mutex_lock(&stage->lock);
		stage->stats.encode_ms = 0.9 * stage->stats.encode_ms + 0.1 * (double)(cr_time_mono_ns() - t0) / 1e6;
		pthread_mutex_unlock(&stage->lock);
		publish(stage, targets[i], jpeg, false);
	}
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	int64_t idle_since = cr_time_mono_ns();
	char name[16];

	snprintf(name, sizeof(name), "jpeg:%u", (unsigned)(w - w->stage->workers));
	pthread_setname_np(pthread_self(), name);
	while (!atomic_load(&w->stage->stopping)) {
		struct cr_frame *frame;
		int ret = cr_subscriber_pop(w->stage->sub, &frame, POP_TIMEOUT_NS);

		if (ret == -EPIPE)
			break;
		if (ret < 0) {
			if (atomic_load(&w->held) && cr_time_mono_ns() - idle_since >= WORKER_IDLE_NS)
				release_buffers(w);
			continue;
		}
		process(w, frame);
		cr_frame_unref(&frame);
		idle_since = cr_time_mono_ns();
	}
	return NULL;
}

struct cr_jpeg_params cr_jpeg_stage_params(struct cr_jpeg_stage *stage, const struct cr_jpeg_params *params)
{
	struct cr_jpeg_params p = stage->defaults;

	if (p.width == 0) { /* the camera's size, as it is now */
		const struct cr_source_format *fmt = cr_camera_format(stage->camera);

		p.width = fmt->width;
		p.height = fmt->height;
	}
	if (params && params->width > 0 && params->height > 0) {
		p.width = params->width;
		p.height = params->height;
	}
	if (params && params->quality > 0)
		p.quality = params->quality;
	if (params && params->gray)
		p.gray = true;
	if (params)
		p.fit = params->fit;
	if (params && params->overlay != 0)
		p.overlay = params->overlay;
	if (!stage->overlay)
		p.overlay = -1; /* nothing to draw: the plain variant */
	/* libturbojpeg's 4:2:0 and 4:2:2 paths want even sizes. */
	p.width &= ~1;
	p.height &= ~1;
	return p;
}

int cr_jpeg_stage_new(struct cr_camera *cam, const struct cr_jpeg_config *config, struct cr_jpeg_stage **out)
{
	struct cr_jpeg_stage *stage = CR_NEW(stage);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int ret = 0;

	stage->camera = cam;
	stage->defaults = (struct cr_jpeg_params){
		.width = config->width > 0 ? config->width : 0,
		.height = config->width > 0 ? config->height : 0,
		.quality = config->quality > 0 ? config->quality : 80,
		.gray = config->gray,
		.overlay = -1,
	};
	stage->nworkers = config->workers > 0 ? (unsigned)config->workers : (unsigned)(cores < 4 ? cores : 4);
	if (stage->nworkers < 1)
		stage->nworkers = 1;
	if (stage->nworkers > MAX_WORKERS)
		stage->nworkers = MAX_WORKERS;
	stage->stats.workers = stage->nworkers;
	pthread_mutex_init(&stage->lock, NULL);
	cr_time_cond_init(&stage->published);
	stage->sub = cr_fanout_subscribe(cr_camera_fanout(cam), "jpeg", 1, CR_QUEUE_DROP_OLDEST);
	cr_subscriber_set_active(stage->sub, false);
	for (unsigned i = 0; i < stage->nworkers; i++) {
		struct worker *w = &stage->workers[i];

		w->stage = stage;
		w->compress = tjInitCompress();
		w->decompress = tjInitDecompress();
		w->strips = cr_jpeg_strips_new();
		w->conv = cr_scaler_new(0);
		if (!w->compress || !w->decompress || !w->strips) {
			ret = -ENOMEM;
			break;
		}
	}
	if (ret < 0) {
		cr_jpeg_stage_free(&stage);
		return cr_log_ret(ret, CR_LOG_ERROR, "jpeg: cannot start: %s", cr_strerror(ret));
	}
	*out = stage;
	return 0;
}

int cr_jpeg_stage_start(struct cr_jpeg_stage *stage)
{
	for (unsigned i = 0; i < stage->nworkers; i++) {
		int ret = -pthread_create(&stage->workers[i].thread, NULL, worker_thread, &stage->workers[i]);

		if (ret < 0)
			return cr_log_ret(ret, CR_LOG_ERROR, "jpeg: cannot start a worker: %s", cr_strerror(ret));
		stage->workers[i].started = true;
	}
	return 0;
}

void cr_jpeg_stage_stop(struct cr_jpeg_stage *stage)
{
	cr_jpeg_stage_shutdown(stage);
	atomic_store(&stage->stopping, true);
	if (stage->sub)
		cr_subscriber_close(stage->sub);
	for (unsigned i = 0; i < stage->nworkers; i++) {
		if (stage->workers[i].started)
			pthread_join(stage->workers[i].thread, NULL);
		stage->workers[i].started = false;
	}
	cr_fanout_unsubscribe(cr_camera_fanout(stage->camera), &stage->sub);
}

uint64_t cr_jpeg_stage_next_index(struct cr_jpeg_stage *stage)
{
	return cr_camera_frames_published(stage->camera);
}

void cr_jpeg_stage_shutdown(struct cr_jpeg_stage *stage)
{
	pthread_mutex_lock(&stage->lock);
	stage->shut_down = true;
	pthread_cond_broadcast(&stage->published);
	if (stage->notify)
		stage->notify(stage->notify_ctx);
	pthread_mutex_unlock(&stage->lock);
}

void cr_jpeg_stage_set_notify(struct cr_jpeg_stage *stage, void (*fn)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&stage->lock);
	stage->notify = fn;
	stage->notify_ctx = ctx;
	pthread_mutex_unlock(&stage->lock);
}

void cr_jpeg_stage_free(struct cr_jpeg_stage **pstage)
{
	struct cr_jpeg_stage *stage = *pstage;

	if (!stage)
		return;
	*pstage = NULL;
	cr_jpeg_stage_stop(stage);
	for (unsigned i = 0; i < MAX_WORKERS; i++) {
		struct worker *w = &stage->workers[i];

		if (w->compress)
			tjDestroy(w->compress);
		if (w->decompress)
			tjDestroy(w->decompress);
		cr_jpeg_strips_free(&w->strips);
		cr_scaler_free(&w->conv);
		cr_scaler_free(&w->develop);
		free(w->developed);
		free(w->scratch);
		free(w->decoded);
		free(w->out);
	}
	for (unsigned i = 0; i < MAX_VARIANTS; i++)
		cr_jpeg_unref(&stage->variants[i].latest);
	pthread_cond_destroy(&stage->published);
	pthread_mutex_destroy(&stage->lock);
	free(stage);
}

static bool same_params(const struct cr_jpeg_params *a, const struct cr_jpeg_params *b)
{
	return a->width == b->width && a->height == b->height && a->quality == b->quality && a->gray == b->gray &&
	       a->fit == b->fit && a->overlay == b->overlay;
}

struct cr_jpeg_variant *cr_jpeg_stage_acquire(struct cr_jpeg_stage *stage, const struct cr_jpeg_params *params)
{
	struct cr_jpeg_variant *v = NULL, *spare = NULL;

	pthread_mutex_lock(&stage->lock);
	for (unsigned i = 0; i < MAX_VARIANTS && !v; i++) {
		struct cr_jpeg_variant *c = &stage->variants[i];

		if (c->used && same_params(&c->params, params))
			v = c;
		else if (!spare && (!c->used || c->demand == 0))
			spare = c;
	}
	if (!v && spare) {
		v = spare;
		cr_jpeg_unref(&v->latest);
		v->params = *params;
		v->used = true;
	}
	if (v) {
		if (v->demand++ == 0)
			stage->stats.variants_active++;
		if (stage->total_demand++ == 0)
			cr_subscriber_set_active(stage->sub, true);
	}
	pthread_mutex_unlock(&stage->lock);
	return v;
}

void cr_jpeg_stage_release(struct cr_jpeg_stage *stage, struct cr_jpeg_variant **pv)
{
	struct cr_jpeg_variant *v = *pv;

	if (!v)
		return;
	*pv = NULL;
	pthread_mutex_lock(&stage->lock);
	if (--v->demand == 0)
		stage->stats.variants_active--;
	if (--stage->total_demand == 0)
		cr_subscriber_set_active(stage->sub, false);
	pthread_mutex_unlock(&stage->lock);
}

int cr_jpeg_variant_wait(struct cr_jpeg_stage *stage, struct cr_jpeg_variant *v, uint64_t min_index,
			 int64_t timeout_ns, struct cr_jpeg **out)
{
	struct timespec deadline = cr_time_ts(cr_time_mono_ns() + timeout_ns);
	int ret = 0;

	pthread_mutex_lock(&stage->lock);
	v->waiting++;
	while (!stage->shut_down && (!v->latest || v->latest->index < min_index) && ret == 0)
		ret = -pthread_cond_timedwait(&stage->published, &stage->lock, &deadline);
	v->waiting--;
	if (stage->shut_down)
		ret = -EPIPE;
	else if (v->latest && v->latest->index >= min_index)
		ret = 0;
	if (ret == 0) {
		v->latest->taken = true;
		*out = cr_jpeg_ref(v->latest);
	}
	pthread_mutex_unlock(&stage->lock);
	return ret;
}

int cr_jpeg_variant_poll(struct cr_jpeg_stage *stage, struct cr_jpeg_variant *v, uint64_t min_index, bool *waiting,
			 struct cr_jpeg **out)
{
	int ret = 0;

	pthread_mutex_lock(&stage->lock);
	if (stage->shut_down) {
		ret = -EPIPE;
	} else if (v->latest && v->latest->index >= min_index) {
		v->latest->taken = true;
		*out = cr_jpeg_ref(v->latest);
	} else {
		ret = -EAGAIN;
	}
	if (ret == -EAGAIN && !*waiting)
		v->waiting++;
	else if (ret != -EAGAIN && *waiting)
		v->waiting--;
	*waiting = ret == -EAGAIN;
	pthread_mutex_unlock(&stage->lock);
	return ret;
}

void cr_jpeg_variant_unwait(struct cr_jpeg_stage *stage, struct cr_jpeg_variant *v, bool *waiting)
{
	if (!*waiting)
		return;
	pthread_mutex_lock(&stage->lock);
	v->waiting--;
	*waiting = false;
	pthread_mutex_unlock(&stage->lock);
}

int cr_jpeg_stage_take(struct cr_jpeg_stage *stage, const struct cr_jpeg_params *params, uint64_t min_index,
		       int64_t timeout_ns, const atomic_bool *cancel, struct cr_jpeg **out)
{
	int64_t deadline = cr_time_mono_ns() + timeout_ns;
	struct cr_jpeg_variant *variant = cr_jpeg_stage_acquire(stage, params);
	int ret;

	if (!variant)
		return -EBUSY;
	for (;;) {
		int64_t left = deadline - cr_time_mono_ns();

		ret = cr_jpeg_variant_wait(stage, variant, min_index, left < TAKE_SLICE_NS ? left : TAKE_SLICE_NS, out);
		if (ret != -ETIMEDOUT || cr_time_mono_ns() >= deadline)
			break;
		if (cancel && atomic_load(cancel)) {
			ret = -ECANCELED;
			break;
		}
	}
	cr_jpeg_stage_release(stage, &variant);
	return ret;
}

void cr_jpeg_stage_set_overlay(struct cr_jpeg_stage *stage, cr_jpeg_overlay_fn fn, void *ctx, bool by_default)
{
	stage->overlay = fn;
	stage->overlay_ctx = ctx;
	stage->defaults.overlay = fn && by_default ? 1 : -1;
}

void cr_jpeg_stage_stats(struct cr_jpeg_stage *stage, struct cr_jpeg_stage_stats *stats)
{
	pthread_mutex_lock(&stage->lock);
	*stats = stage->stats;
	pthread_mutex_unlock(&stage->lock);
	stats->buffer_bytes = 0;
	for (unsigned i = 0; i < stage->nworkers; i++)
		stats->buffer_bytes += atomic_load(&stage->workers[i].held);
}

/* ---- placeholder ------------------------------------------------------------ */

#define PLACEHOLDER_QUALITY 75
#define PLACEHOLDER_BG 48            /* luma of the background */

int cr_jpeg_placeholder(int width, int height, const char *const *lines, unsigned nlines, struct cr_jpeg **out)
{
	int w = width < 64 ? 64 : width > 4096 ? 4096 : width, h = height < 48 ? 48 : height > 4096 ? 4096 : height;
	uint8_t *gray = cr_malloc((size_t)w * (size_t)h);
	unsigned char *dst = NULL;
	unsigned long size = 0;
	struct cr_jpeg *jpeg;
	tjhandle tj = tjInitCompress();
	int y = 0, total = 0, ret = -EIO;
	int scales[8];

	memset(gray, PLACEHOLDER_BG, (size_t)w * (size_t)h);
	if (nlines > CR_ARRAY_SIZE(scales))
		nlines = CR_ARRAY_SIZE(scales);
	/* The first line as large as fits in the width (at most an eighth of
	 * the height), the others half as large. */
	for (unsigned i = 0; i < nlines; i++) {
		int unit = cr_text_width(lines[i], 1), scale = (w - 16) / (unit > 0 ? unit : 1);
		int limit = h / (i == 0 ? 8 : 16) / CR_TEXT_HEIGHT(1);

		if (i > 0 && scale > scales[0] / 2)
			scale = scales[0] / 2;
		if (scale > limit)
			scale = limit;
		scales[i] = scale > 0 ? scale : 1;
		total += CR_TEXT_HEIGHT(scales[i]) + scales[i] * 2;
	}
	y = (h - total) / 2;
	for (unsigned i = 0; i < nlines; i++) {
		int tw = cr_text_width(lines[i], scales[i]);

		cr_text_draw(gray, w, w, h, (w - tw) / 2, y, scales[i], lines[i], 235, PLACEHOLDER_BG);
		y += CR_TEXT_HEIGHT(scales[i]) + scales[i] * 2;
	}
	if (tj && tjCompress2(tj, gray, w, w, h, TJPF_GRAY, &dst, &size, TJSAMP_GRAY, PLACEHOLDER_QUALITY, 0) == 0) {
		jpeg = CR_NEW(jpeg);
		atomic_store(&jpeg->refs, 1);
		jpeg->width = w;
		jpeg->height = h;
		jpeg->mono_ns = cr_time_mono_ns();
		jpeg->utc_us = cr_time_mono_to_utc_us(jpeg->mono_ns);
		jpeg->owned = cr_malloc(size);
		memcpy(jpeg->owned, dst, size);
		jpeg->data = jpeg->owned;
		jpeg->size = size;
		*out = jpeg;
		ret = 0;
	} else {
		cr_debug("jpeg: placeholder: %s", tj ? tjGetErrorStr2(tj) : "cannot initialize libturbojpeg");
	}
	tjFree(dst);
	if (tj)
		tjDestroy(tj);
	free(gray);
	return ret;
}
