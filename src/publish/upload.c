/* Periodic upload (see upload.h for the model).
 *
 * Design: the queue is a ring of JPEG references (at most upload.queue)
 * under up->lock. The producer pushes at the tail, evicting the oldest image
 * when the ring is full; the sender pops the head, POSTs it outside the lock,
 * and on failure puts it back at the head unless the ring filled up in the
 * meantime (then it is the oldest and is dropped): a retry sends the oldest
 * image still wanted, and newer images replace older ones while the sender
 * backs off. Both threads sleep on condition variables with deadlines
 * (CLOCK_MONOTONIC): the producer until its next tick, the sender until an
 * image arrives or its backoff ends; stopping wakes both.
 *
 * One libcurl easy handle per sender, reused so the connection stays open
 * between POSTs. libcurl's callbacks run on the sender thread without locks:
 * the progress callback only reads the atomic stop flag, the write callback
 * discards the answer (bounded: a longer answer aborts the transfer).
 *
 * Locking: up->lock guards the ring and stats. */
#include "publish/upload.h"

#include "base/error.h"
#include "base/json.h"
#include "base/lazy.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/ring.h"
#include "base/time.h"
#include "camrig-version.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 64                           /* upload.queue's maximum */
#define WAIT_MIN_NS (250 * CR_NS_PER_MS)       /* the shortest wait for a frame */
#define FRAME_WAIT_MAX_NS (2 * CR_NS_PER_SEC)  /* longest wait for a frame per tick */
#define IDLE_WAIT_NS (10 * CR_NS_PER_SEC)      /* longest sleep without a deadline */
#define BACKOFF_FIRST_NS (500 * CR_NS_PER_MS)
#define BACKOFF_MAX_NS (30 * CR_NS_PER_SEC)
#define ANSWER_MAX (64 * 1024)                 /* bytes of an answer we read and discard */
#define URL_SHOWN_MAX 256

struct cr_upload {
	struct cr_camera *camera;
	struct cr_jpeg_stage *jpeg;
	const struct cr_upload_config *config;
	const char *name;                      /* the camera's */
	char url_shown[URL_SHOWN_MAX];         /* the URL without credentials and query, for logs */
	pthread_t producer, sender;
	bool producer_started, sender_started;
	bool curl_ready;                       /* curl_global_init() succeeded */
	atomic_bool stopping;

	pthread_mutex_t lock;
	pthread_cond_t producer_wake;          /* stop */
	pthread_cond_t sender_wake;            /* an image, stop */
	struct cr_ring ring;                   /* of struct cr_jpeg *, drop-oldest */
	struct cr_upload_stats stats;
};

/* "scheme://host[:port]/path" of url: no user info, query or fragment. */
static void url_shown(const char *url, char *out, size_t len)
{
	const char *host = strstr(url, "://"), *at, *end;
	size_t scheme;

	host = host ? host + 3 : url;
	scheme = (size_t)(host - url);
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at)
		host = at + 1;
	end = host + strcspn(host, "?#");
	snprintf(out, len, "%.*s%.*s", (int)scheme, url, (int)(end - host), host);
}

/* ---- the ring (under up->lock) ---------------------------------------------------- */

/* Appends jpeg (taken), evicting the oldest image when full. */
static void ring_push(struct cr_upload *up, struct cr_jpeg *jpeg)
{
	struct cr_jpeg *evicted = NULL;

	if (cr_ring_push(&up->ring, &jpeg, &evicted) == 1) {
		cr_jpeg_unref(&evicted);
		up->stats.dropped++;
	}
}

/* The oldest image (the caller owns it), or NULL. */
static struct cr_jpeg *ring_pop(struct cr_upload *up)
{
	struct cr_jpeg *jpeg = NULL;

	cr_ring_pop(&up->ring, &jpeg);
	return jpeg;
}

/* Puts jpeg (taken) back as the oldest image, or drops it when full. */
static void ring_unpop(struct cr_upload *up, struct cr_jpeg *jpeg)
{
	if (cr_ring_push_front(&up->ring, &jpeg) < 0) {
		cr_jpeg_unref(&jpeg);
		up->stats.dropped++;
	}
}

/* ---- the producer ------------------------------------------------------------------- */

/* A JPEG of a frame captured from now on, waiting at most max_ns. */
static int take(struct cr_upload *up, int64_t max_ns, struct cr_jpeg **out)
{
	struct cr_jpeg_params p = cr_jpeg_stage_params(up->jpeg, NULL);

	return cr_jpeg_stage_take(up->jpeg, &p, cr_camera_frames_published(up->camera), max_ns, &up->stopping, out);
}

static void *producer_thread(void *arg)
{
	struct cr_upload *up = arg;
	int64_t interval = (int64_t)up->config->interval_ms * CR_NS_PER_MS;
	int64_t wait_max = interval < FRAME_WAIT_MAX_NS ? (interval > WAIT_MIN_NS ? interval : WAIT_MIN_NS)
							 : FRAME_WAIT_MAX_NS;
	int64_t next = cr_time_mono_ns();
	char name[16];

	snprintf(name, sizeof(name), "up:%s", up->name);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&up->lock);
	while (!atomic_load(&up->stopping)) {
		int64_t now = cr_time_mono_ns();
		struct cr_jpeg *jpeg = NULL;
		int ret;

		if (now < next) {
			struct timespec until = cr_time_ts(next);

			pthread_cond_timedwait(&up->producer_wake, &up->lock, &until);
			continue;
		}
		next += interval;
		if (next <= now)
			next = now + interval;
		pthread_mutex_unlock(&up->lock);
		ret = take(up, wait_max, &jpeg);
		pthread_mutex_lock(&up->lock);
		if (ret == 0) {
			up->stats.taken++;
			ring_push(up, jpeg);
			pthread_cond_signal(&up->sender_wake);
		} else if (ret != -EPIPE && !atomic_load(&up->stopping)) {
			up->stats.missed++;
		}
	}
	pthread_mutex_unlock(&up->lock);
	return NULL;
}

/* ---- the sender ------------------------------------------------------------------------ */

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct cr_upload *up = ctx;

	return atomic_load(&up->stopping) ? 1 : 0;
}

static size_t on_answer(char *data, size_t size, size_t n, void *ctx)
{
	size_t *total = ctx;

	*total += size * n;
	return *total > ANSWER_MAX ? 0 : size * n;
}

/* CAMERA_YYYY_MM_DD_HH_MM_SS_mmm.jpg of a capture time (UTC µs). */
static void file_name(const char *camera, int64_t utc_us, char *out, size_t len)
{
	char stamp[32];

	snprintf(out, len, "%s_%s.jpg", camera, cr_time_stamp(utc_us, true, stamp, sizeof(stamp)));
}

/* POSTs jpeg. Returns 0 on a 2xx answer, else -EIO with why set. */
static int post(struct cr_upload *up, CURL *curl, const struct cr_jpeg *jpeg, long *status, char *why, size_t len)
{
	const struct cr_upload_config *c = up->config;
	char errbuf[CURL_ERROR_SIZE] = "", filename[128];
	curl_mime *mime = curl_mime_init(curl);
	curl_mimepart *part = curl_mime_addpart(mime);
	size_t answer = 0;
	CURLcode res;

	file_name(up->name, jpeg->utc_us, filename, sizeof(filename));
	curl_mime_name(part, c->field ? c->field : "image");
	curl_mime_data(part, (const char *)jpeg->data, jpeg->size);
	curl_mime_filename(part, filename);
	curl_mime_type(part, "image/jpeg");
	for (unsigned i = 0; i < c->nfields; i++) {
		part = curl_mime_addpart(mime);
		curl_mime_name(part, c->fields[i].name);
		curl_mime_data(part, c->fields[i].value, CURL_ZERO_TERMINATED);
	}
	curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
	res = curl_easy_perform(curl);
	*status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(curl, CURLOPT_MIMEPOST, NULL);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
	curl_mime_free(mime);
	if (res != CURLE_OK) {
		snprintf(why, len, "%s", errbuf[0] ? errbuf : curl_easy_strerror(res));
		return -EIO;
	}
	if (*status < 200 || *status > 299) {
		snprintf(why, len, "the server answered %ld", *status);
		return -EIO;
	}
	return 0;
}

/* Sets the options every POST shares. Returns the header list to free. */
static struct curl_slist *curl_setup(struct cr_upload *up, CURL *curl)
{
	const struct cr_upload_config *c = up->config;
	struct curl_slist *headers = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */

	for (unsigned i = 0; i < c->nheaders; i++) {
		char *h = cr_asprintf("%s: %s", c->headers[i].name, c->headers[i].value);

		headers = curl_slist_append(headers, h);
		free(h);
	}
	curl_easy_setopt(curl, CURLOPT_URL, c->url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "camrig/" CAMRIG_VERSION);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, up);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	return headers;
}

static void *sender_thread(void *arg)
{
	struct cr_upload *up = arg;
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = NULL;
	int64_t backoff = 0, retry_at = 0;
	uint64_t streak = 0;
	char name[16];

	snprintf(name, sizeof(name), "up-tx:%s", up->name);
	pthread_setname_np(pthread_self(), name);
	if (!curl) {
		cr_err("upload: %s: cannot initialize libcurl: nothing is uploaded", up->name);
		return NULL;
	}
	headers = curl_setup(up, curl);
	pthread_mutex_lock(&up->lock);
	while (!atomic_load(&up->stopping)) {
		int64_t now = cr_time_mono_ns(), t0;
		char why[sizeof(up->stats.last_error)];
		struct cr_jpeg *jpeg;
		long status = 0;
		int ret;

		if (cr_ring_length(&up->ring) == 0 || now < retry_at) {
			struct timespec until = cr_time_ts(cr_ring_length(&up->ring) == 0 ? now + IDLE_WAIT_NS : retry_at);

			pthread_cond_timedwait(&up->sender_wake, &up->lock, &until);
			continue;
		}
		jpeg = ring_pop(up);
		up->stats.queued = cr_ring_length(&up->ring);
		pthread_mutex_unlock(&up->lock);

		t0 = cr_time_mono_ns();
		ret = post(up, curl, jpeg, &status, why, sizeof(why));

		pthread_mutex_lock(&up->lock);
		now = cr_time_mono_ns();
		up->stats.post_ms = (double)(now - t0) / 1e6;
		up->stats.last_status = status;
		if (ret == 0) {
			up->stats.sent++;
			up->stats.bytes += jpeg->size;
			up->stats.last_sent_utc_us = cr_time_utc_us();
			up->stats.last_error[0] = '\0';
			if (streak)
				cr_info("upload: %s: POST %s works again after %" PRIu64 " failures", up->name,
					up->url_shown, streak);
			streak = 0;
			backoff = 0;
			cr_jpeg_unref(&jpeg);
		} else if (atomic_load(&up->stopping)) {
			cr_jpeg_unref(&jpeg);
		} else {
			up->stats.failed++;
			snprintf(up->stats.last_error, sizeof(up->stats.last_error), "%s", why);
			backoff = backoff ? (2 * backoff < BACKOFF_MAX_NS ? 2 * backoff : BACKOFF_MAX_NS) : BACKOFF_FIRST_NS;
			retry_at = now + backoff;
			if (streak++ == 0)
				cr_warn("upload: %s: POST %s failed: %s (retrying, backing off up to %d s)", up->name,
					up->url_shown, why, (int)(BACKOFF_MAX_NS / CR_NS_PER_SEC));
			ring_unpop(up, jpeg);
		}
		up->stats.backoff_s = (double)backoff / 1e9;
		up->stats.queued = cr_ring_length(&up->ring);
	}
	pthread_mutex_unlock(&up->lock);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return NULL;
}

/* ---- object ------------------------------------------------------------------------------- */

int cr_upload_new(struct cr_camera *cam, struct cr_jpeg_stage *jpeg, const struct cr_upload_config *config,
		  struct cr_upload **out)
{
	struct cr_upload *up = CR_NEW(up);
	int ret = 0;

	up->camera = cam;
	up->jpeg = jpeg;
	up->config = config;
	up->name = cr_camera_config(cam)->name;
	cr_ring_init(&up->ring, config->queue < 1 ? 1 : config->queue > QUEUE_MAX ? QUEUE_MAX : (unsigned)config->queue,
		     sizeof(struct cr_jpeg *), CR_RING_DROP_OLDEST);
	pthread_mutex_init(&up->lock, NULL);
	cr_time_cond_init(&up->producer_wake);
	cr_time_cond_init(&up->sender_wake);
	if (!config->url || config->interval_ms <= 0)
		ret = -EINVAL;
	else
		url_shown(config->url, up->url_shown, sizeof(up->url_shown));
	if (ret == 0 && cr_lazy_load(&cr_lazy_libcurl, NULL, 0) != 0)
		ret = -ELIBACC; /* cr_strerror() says "cannot access a needed shared library" */
	if (ret == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ret = -ENOMEM;
	up->curl_ready = ret == 0;
	if (ret < 0) {
		cr_upload_free(&up);
		return cr_log_ret(ret, CR_LOG_ERROR, "upload: %s: cannot start: %s", cr_camera_config(cam)->name,
				  cr_strerror(ret));
	}
	*out = up;
	return 0;
}

int cr_upload_start(struct cr_upload *up)
{
	int ret = -pthread_create(&up->sender, NULL, sender_thread, up);

	up->sender_started = ret == 0;
	if (ret == 0) {
		ret = -pthread_create(&up->producer, NULL, producer_thread, up);
		up->producer_started = ret == 0;
	}
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "upload: %s: cannot start: %s", up->name, cr_strerror(ret));
	cr_info("upload: %s: POST %s every %d ms (field %s, %u extra fields, %u headers)", up->name, up->url_shown,
		up->config->interval_ms, up->config->field ? up->config->field : "image", up->config->nfields,
		up->config->nheaders);
	return 0;
}

void cr_upload_stop(struct cr_upload *up)
{
	pthread_mutex_lock(&up->lock);
	atomic_store(&up->stopping, true);
	pthread_cond_broadcast(&up->producer_wake);
	pthread_cond_broadcast(&up->sender_wake);
	pthread_mutex_unlock(&up->lock);
	if (up->producer_started)
		pthread_join(up->producer, NULL);
	if (up->sender_started)
		pthread_join(up->sender, NULL);
	up->producer_started = up->sender_started = false;
}

void cr_upload_free(struct cr_upload **pup)
{
	struct cr_upload *up = *pup;

	if (!up)
		return;
	*pup = NULL;
	cr_upload_stop(up);
	for (struct cr_jpeg *jpeg; (jpeg = ring_pop(up));)
		cr_jpeg_unref(&jpeg);
	cr_ring_fini(&up->ring);
	if (up->curl_ready)
		curl_global_cleanup();
	pthread_cond_destroy(&up->producer_wake);
	pthread_cond_destroy(&up->sender_wake);
	pthread_mutex_destroy(&up->lock);
	free(up);
}

void cr_upload_stats(struct cr_upload *up, struct cr_upload_stats *stats)
{
	pthread_mutex_lock(&up->lock);
	*stats = up->stats;
	stats->queued = cr_ring_length(&up->ring);
	pthread_mutex_unlock(&up->lock);
	snprintf(stats->url, sizeof(stats->url), "%s", up->url_shown);
	stats->interval_ms = up->config->interval_ms;
	stats->capacity = up->ring.capacity;
}
