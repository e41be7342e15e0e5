/* Frame pool: a fixed array of frames and a free list under one mutex.
 *
 * The free list is a stack, so the frames in steady use cycle at its top
 * and a buffer that was needed only in a peak of frames in flight (an
 * encoder slow to start, a client that stalled) sinks below them; once it
 * has gone unused for the pool's idle limit (10 s) it is freed, so a peak
 * does not stay resident for the daemon's life.
 *
 * The pool itself is refcounted by its frames in use, so cr_frame_pool_free()
 * may run while consumers still hold frames: the memory goes when the last
 * frame comes back. */
#include "base/frame.h"

#include "base/error.h"
#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct cr_frame_pool {
	pthread_mutex_t lock;
	struct cr_frame *frames;  /* count entries */
	struct cr_frame **free;   /* stack of free frames */
	unsigned count, nfree;
	unsigned allocated;        /* frames whose own buffer exists (allocated on first use) */
	size_t capacity;          /* bytes per frame buffer */
	int64_t idle_limit_ns;    /* a free buffer unused this long is freed */
	bool closed;              /* cr_frame_pool_free() was called */
};

struct cr_frame_pool *cr_frame_pool_new(unsigned count, size_t capacity)
{
	struct cr_frame_pool *pool = CR_NEW(pool);

	pthread_mutex_init(&pool->lock, NULL);
	pool->frames = cr_calloc(count, sizeof(*pool->frames));
	pool->free = cr_calloc(count, sizeof(*pool->free));
	pool->count = count;
	pool->capacity = capacity;
	pool->idle_limit_ns = CR_FRAME_POOL_IDLE_NS;
	for (unsigned i = 0; i < count; i++) {
		pool->frames[i].pool = pool;
		pool->free[pool->nfree++] = &pool->frames[count - 1 - i];
	}
	return pool;
}

static void destroy(struct cr_frame_pool *pool)
{
	for (unsigned i = 0; i < pool->count; i++)
		free(pool->frames[i].own);
	free(pool->frames);
	free(pool->free);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

void cr_frame_pool_free(struct cr_frame_pool **ppool)
{
	struct cr_frame_pool *pool = *ppool;
	bool idle;

	if (!pool)
		return;
	*ppool = NULL;
	pthread_mutex_lock(&pool->lock);
	pool->closed = true;
	idle = pool->nfree == pool->count;
	pthread_mutex_unlock(&pool->lock);
	if (idle)
		destroy(pool);
}

/* The buffer of the free frame lowest in the stack that has one, taken
 * from it when it has been idle for the pool's limit; else NULL. Under the
 * pool's lock. */
static uint8_t *take_idle_buffer(struct cr_frame_pool *pool)
{
	for (unsigned i = 0; i < pool->nfree; i++) {
		struct cr_frame *g = pool->free[i];
		uint8_t *buf = g->own;

		if (!buf)
			continue;
		if (cr_time_mono_ns() - g->idle_since_ns < pool->idle_limit_ns)
			return NULL;
		g->own = g->data = NULL;
		g->own_capacity = g->capacity = 0;
		pool->allocated--;
		return buf;
	}
	return NULL;
}

struct cr_frame *cr_frame_pool_get(struct cr_frame_pool *pool)
{
	struct cr_frame *f = NULL;
	uint8_t *idle = NULL;

	pthread_mutex_lock(&pool->lock);
	if (pool->nfree > 0 && !pool->closed) {
		f = pool->free[--pool->nfree];
		idle = take_idle_buffer(pool);
	}
	pthread_mutex_unlock(&pool->lock);
	if (idle) {
		free(idle);
		malloc_trim(0); /* a frame is large: give its pages back to the kernel */
	}
	if (!f)
		return NULL;
	/* Allocated on first use; a frame that is only ever wrapped (zero-copy)
	 * never touches it, so its pages are never made resident. */
	if (!f->own) {
		f->own = cr_malloc(pool->capacity ? pool->capacity : 1);
		f->own_capacity = pool->capacity;
		pthread_mutex_lock(&pool->lock);
		pool->allocated++;
		pthread_mutex_unlock(&pool->lock);
	}
	f->data = f->own;
	f->capacity = f->own_capacity;
	f->release = NULL;
	f->opaque = NULL;
	f->fourcc = 0;
	f->range = CR_RANGE_UNSTATED;
	f->width = f->height = f->nplanes = 0;
	memset(f->plane, 0, sizeof(f->plane));
	memset(f->stride, 0, sizeof(f->stride));
	f->size = 0;
	f->index = 0;
	f->sequence = 0;
	f->mono_ns = f->utc_us = 0;
	f->camera = 0;
	f->device_ns = 0;
	atomic_store(&f->refs, 1);
	return f;
}

void cr_frame_pool_set_idle_limit(struct cr_frame_pool *pool, int64_t ns)
{
	pthread_mutex_lock(&pool->lock);
	pool->idle_limit_ns = ns;
	pthread_mutex_unlock(&pool->lock);
}

void cr_frame_pool_stats(struct cr_frame_pool *pool, unsigned *total, unsigned *in_use, size_t *bytes)
{
	pthread_mutex_lock(&pool->lock);
	*total = pool->count;
	*in_use = pool->count - pool->nfree;
	*bytes = pool->allocated * pool->capacity;
	pthread_mutex_unlock(&pool->lock);
}

int cr_frame_set_format(struct cr_frame *f, uint32_t fourcc, int width, int height, int stride)
{
	struct cr_plane_layout l;
	int ret;

	f->fourcc = fourcc;
	f->width = width;
	f->height = height;
	if (cr_fourcc_is_compressed(fourcc)) {
		f->nplanes = 0;
		return 0;
	}
	ret = cr_fourcc_layout(fourcc, width, height, stride, &l);
	if (ret < 0)
		return ret;
	if (l.size > f->capacity)
		return -ENOSPC;
	f->nplanes = l.nplanes;
	for (int p = 0; p < l.nplanes; p++) {
		f->plane[p] = f->data + l.offset[p];
		f->stride[p] = l.stride[p];
	}
	f->size = l.size;
	return 0;
}

void cr_frame_wrap(struct cr_frame *f, uint8_t *data, size_t size, void (*release)(void *opaque), void *opaque)
{
	f->data = data;
	f->capacity = size;
	f->release = release;
	f->opaque = opaque;
}

int cr_frame_wrap_planes(struct cr_frame *f, uint32_t fourcc, int width, int height, uint8_t *const plane[],
			 const int stride[], void (*release)(void *opaque), void *opaque)
{
	struct cr_plane_layout l;
	size_t size = 0;
	int ret;

	if (cr_fourcc_is_compressed(fourcc))
		return CR_EFORMAT;
	ret = cr_fourcc_layout(fourcc, width, height, 0, &l);
	if (ret < 0)
		return ret;
	for (int p = 0; p < l.nplanes; p++) {
		if (!plane[p] || stride[p] < l.stride[p])
			return -EINVAL;
		size += (size_t)stride[p] * (size_t)l.height[p];
	}
	cr_frame_wrap(f, plane[0], size, release, opaque);
	f->fourcc = fourcc;
	f->width = width;
	f->height = height;
	f->nplanes = l.nplanes;
	for (int p = 0; p < CR_MAX_PLANES; p++) {
		f->plane[p] = p < l.nplanes ? plane[p] : NULL;
		f->stride[p] = p < l.nplanes ? stride[p] : 0;
	}
	f->size = size;
	return 0;
}

struct cr_frame *cr_frame_ref(struct cr_frame *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
	return f;
}

void cr_frame_unref(struct cr_frame **pf)
{
	struct cr_frame *f = *pf;
	struct cr_frame_pool *pool;
	bool last_of_closed;

	if (!f)
		return;
	*pf = NULL;
	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (f->release) {
		void (*release)(void *) = f->release;

		f->release = NULL;
		release(f->opaque);
	}
	f->data = f->own;
	f->capacity = f->own_capacity;
	pool = f->pool;
	f->idle_since_ns = cr_time_mono_ns();
	pthread_mutex_lock(&pool->lock);
	pool->free[pool->nfree++] = f;
	last_of_closed = pool->closed && pool->nfree == pool->count;
	pthread_mutex_unlock(&pool->lock);
	if (last_of_closed)
		destroy(pool);
}
