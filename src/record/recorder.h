/* The recorder: writes a camera's encoded packets into video files
 * (libavformat: Matroska, or fragmented MP4) with a timestamp sidecar, on
 * triggers, starting with the pre-trigger buffer.
 *
 *   encoder thread --packets--> sink: pre-trigger ring (always, when on)
 *                                     + recorder queue (while recording)
 *   control thread --start/stop--> recorder queue (in order with packets)
 *   recorder thread: queue --> muxer + sidecar, disk guard, camera-lost check
 *
 * Files: ROOT/YYYY_MM_DD/video/CAMERA_YYYY_MM_DD_HH_MM_SS.EXT (UTC of the
 * trigger, or of a segment's first frame; "_N" is appended when that name is
 * taken) and the sidecar CAMERA_..._SS.csv beside it. Timestamps: the PTS
 * of a packet is its frame's capture time relative to the first packet of
 * the file (time base 1/1000 in Matroska, 1/90000 in MP4), nudged forward by
 * one tick where two frames would share one.
 *
 * recording.split: session keeps one file per camera for the whole run: a
 * stop pauses it (a "paused" row in the sidecar) and the next start appends
 * to it (a "# span:" line with that start's trigger; its pre-trigger
 * frames, from a keyframe, after the last frame written). The PTS stay
 * capture times, so a pause is a jump in the file's timeline. */
#ifndef CR_RECORD_RECORDER_H
#define CR_RECORD_RECORDER_H

#include "config/config.h"
#include "control/command.h"
#include "base/events.h"
#include "encode/video.h"
#include "record/prebuffer.h"
#include "source/camera.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_RECORDER_PATH_MAX 1024

struct cr_recorder;

struct cr_recorder_stats {
	bool recording;                    /* a recording is running (or its first frame is awaited) */
	bool stopping;                     /* stopped; its last frames are being written and the file finalized */
	bool paused;                       /* split: session, between spans: the file stays open */
	unsigned spans;                    /* split: session: spans in the current file so far */
	char file[CR_RECORDER_PATH_MAX];   /* the current file, or the last one; "" before any */
	char sidecar[CR_RECORDER_PATH_MAX];/* its sidecar */
	char reason[512];                  /* why the last recording stopped or failed; "" while none has */
	char trigger[16];                  /* who started the current or last recording */
	int64_t trigger_utc_us;            /* when, µs since the UTC epoch; 0 before any */
	double duration_s;                 /* requested length after the trigger, s; 0: until stopped */
	double file_seconds;               /* capture time the current file covers, s */
	uint64_t frames_written;           /* frames written into the current file */
	uint64_t frames_dropped;           /* sidecar "dropped" rows of the current file */
	uint64_t frames_lost;              /* sidecar "lost" rows of the current file */
	uint64_t bytes_written;            /* compressed bytes written into the current file */
	unsigned segment;                  /* files of the current recording so far - 1 */
	uint64_t recordings;               /* recordings started since camrig started */
	unsigned queued;                   /* packets waiting for the recorder thread */
	size_t queued_bytes;               /* their bytes */
	size_t queue_peak_bytes;           /* the most bytes queued at once, ever */
	size_t queue_budget_bytes;         /* recording.queue_mb */
	uint64_t queue_dropped;            /* packets dropped on its full queue (in packets or bytes), ever */
	double pre_trigger_s;              /* configured pre-trigger, s; 0: off */
	struct cr_prebuffer_stats prebuffer;
	double disk_free_mb;               /* MiB free under the root now (statvfs, for unprivileged users); -1:
					      unknown (the root does not exist yet) */
};

/* Creates the recorder for cam, fed by enc (registered as a sink: call
 * before cr_video_encoder_start()), with config (not copied). A finished file
 * is published on events ("recording_finished"; may be NULL). No thread runs
 * before cr_recorder_start(). Returns 0 or a negative errno (logged). */
int cr_recorder_new(struct cr_camera *cam, struct cr_video_encoder *enc, const struct cr_recording_config *config,
		    struct cr_events *events, struct cr_recorder **out);

/* Starts the recorder thread and, when the pre-trigger is on, asks the
 * encoder for packets for good. Returns 0 or a negative errno (logged). */
int cr_recorder_start(struct cr_recorder *rec);

/* Finalizes what is being written, joins the thread and gives the encoder
 * its demand back. Stop the encoder first, so its last packets reach the
 * file. Idempotent. */
void cr_recorder_stop(struct cr_recorder *rec);

/* Starts a recording triggered by cmd (its trigger type, arrival time, and
 * duration_s: seconds after the trigger, 0 until stopped). The file begins
 * with the pre-trigger buffer. On success writes the file's path into msg;
 * on failure a one-line reason, and returns -EBUSY (already recording),
 * -ENOSPC (below recording.min_free_mb), -EIO (the directory cannot be
 * made), -EAGAIN (stopping). Runs on the control thread. */
int cr_recorder_start_recording(struct cr_recorder *rec, const struct cr_command *cmd, char *msg, size_t len);

/* Stops the recording with reason (one line) as the state's reason: frames
 * captured up to at_ns (CLOCK_MONOTONIC ns, normally the command's arrival)
 * still go in as the encoder hands them over, then the recorder thread
 * finalizes the file (discard: deletes it and its sidecar instead; earlier
 * segments stay). With recording.split: session the file stays open for the
 * next start instead, and discard is refused (-EBUSY, msg says why: the
 * file holds the earlier spans). A new start may follow at once. Writes the
 * file's path into msg. Returns 1 when a recording was stopped, 0 when there
 * was none. */
int cr_recorder_stop_recording(struct cr_recorder *rec, int64_t at_ns, const char *reason, bool discard, char *msg,
			       size_t len);

/* Stops and frees. NULL-safe; sets *rec to NULL. */
void cr_recorder_free(struct cr_recorder **rec);

void cr_recorder_stats(struct cr_recorder *rec, struct cr_recorder_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
