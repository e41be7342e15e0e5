/* Periodic upload: the current JPEG of one camera POSTed to a URL every
 * interval as multipart/form-data (RFC 7578) with libcurl.
 *
 *   producer thread: every interval_ms, a JPEG of a frame captured after the
 *                    tick (JPEG stage, default variant) --> bounded queue,
 *                    drop-oldest (counted)
 *   sender thread:   queue --> POST URL (libcurl) --> sent | failed: the
 *                    image goes back to the head of the queue (or is dropped
 *                    when the queue filled up meanwhile) and the sender
 *                    backs off 0.5 s, 1 s, 2 s ... 30 s; a success resets it
 *
 * The request: one part named upload.field (default "image") with the file
 * name CAMERA_YYYY_MM_DD_HH_MM_SS_mmm.jpg (UTC capture time) and type
 * image/jpeg, then one part per upload.fields entry; the upload.headers
 * entries as request headers (their values are never logged or shown). A
 * POST counts as sent on a 2xx answer. upload.timeout_ms bounds a whole
 * POST, connecting included.
 *
 * The capture pipeline never waits on the network: the JPEG stage is
 * latest-wins and the producer only waits on it; the queue is the only link
 * to the sender. Stopping aborts a POST under way (libcurl's progress
 * callback checks the stop flag). */
#ifndef CR_PUBLISH_UPLOAD_H
#define CR_PUBLISH_UPLOAD_H

#include "config/config.h"
#include "encode/jpeg.h"
#include "source/camera.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_upload_stats {
	char url[512];               /* the URL without credentials or query */
	int interval_ms;             /* ms between images */
	unsigned capacity;           /* images the queue holds at most */
	uint64_t taken;              /* images taken from the JPEG stage */
	uint64_t missed;             /* ticks without a frame within the wait (camera stalled) */
	uint64_t sent;               /* POSTs answered 2xx */
	uint64_t failed;             /* POSTs that failed (no answer, timeout, or not 2xx) */
	uint64_t dropped;            /* images dropped because the queue was full */
	uint64_t bytes;              /* image bytes sent */
	unsigned queued;             /* images waiting now */
	long last_status;            /* HTTP status of the last answer; 0 before any, or after no answer */
	char last_error[256];        /* why the last POST failed; "" after a success */
	int64_t last_sent_utc_us;    /* when the last POST succeeded, µs since the UTC epoch; 0 before any */
	double backoff_s;            /* delay before the next try, s; 0 when not backing off */
	double post_ms;              /* how long the last POST took, ms */
};

struct cr_upload;

/* Creates the upload of cam's JPEGs from jpeg with config (not copied: it
 * must outlive the upload; url must be set); nothing runs before
 * cr_upload_start(). Returns 0 or a negative errno (logged). */
int cr_upload_new(struct cr_camera *cam, struct cr_jpeg_stage *jpeg, const struct cr_upload_config *config,
		  struct cr_upload **out);

/* Starts the producer and sender threads. Returns 0 or a negative errno
 * (logged). */
int cr_upload_start(struct cr_upload *up);

/* Stops both threads, aborting a POST under way. Idempotent. */
void cr_upload_stop(struct cr_upload *up);

/* Stops and frees the queue. NULL-safe; sets *up to NULL. */
void cr_upload_free(struct cr_upload **up);

void cr_upload_stats(struct cr_upload *up, struct cr_upload_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
