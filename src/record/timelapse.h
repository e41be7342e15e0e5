/* Timelapse sessions: full-resolution stills of one camera, taken every
 * interval and on triggers, assembled into an H.264 MP4 when the session
 * stops.
 *
 *   control thread --start/pause/resume/stop/abort/shot--> session state
 *   shooter thread: interval deadline or a shot request --> fresh JPEG from
 *                   the JPEG stage --> PHOTOS/SESSION/CAMERA_NNNNNN.jpg
 *   assembler thread: stopped sessions --> VIDEOS/SESSION.mp4 (assemble.h)
 *
 * A session is a directory PHOTOS_ROOT/CAMERA_YYYY_MM_DD_HH_MM_SS (UTC of
 * the start; "_N" appended when taken) holding:
 *   CAMERA_NNNNNN.jpg  the stills, numbered from 000001, each written to a
 *                      hidden temporary file and renamed, so a still is
 *                      either whole or absent;
 *   stills.csv         one line per still: number, file, capture time (ISO
 *                      8601 UTC and Unix seconds), frame index, driver
 *                      sequence, trigger;
 *   session.json       {"format": "camrig-timelapse/1", "camera", "session",
 *                      "state", "interval" (s), "fps", "quality", "shots",
 *                      "created", "created_unix", "updated", "video" (the
 *                      MP4's absolute path), "frames", "error"}, rewritten
 *                      atomically on every change. state is one of running,
 *                      paused, stopped (the video is being made), finished
 *                      (it was), failed (it could not be: see error), aborted.
 *
 * Restart: with timelapse.resume, a new timelapse looks through PHOTOS_ROOT
 * for this camera's sessions; the newest one that is running or paused goes
 * on in that state (numbering continues after the highest still on disk), and
 * each stopped one is assembled again. Offline, cr_timelapse_assemble_dir()
 * (`camrig timelapse assemble DIR`) makes the video of any session directory.
 *
 * Events: timelapse_started {resumed}, timelapse_paused, timelapse_resumed,
 * timelapse_shot {shot, file}, timelapse_stopped {shots}, timelapse_aborted,
 * timelapse_finished {ok, video, frames, error}; each with camera, session. */
#ifndef CR_RECORD_TIMELAPSE_H
#define CR_RECORD_TIMELAPSE_H

#include "config/config.h"
#include "control/command.h"
#include "base/events.h"
#include "encode/jpeg.h"
#include "record/assemble.h"
#include "source/camera.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_TIMELAPSE_PATH_MAX 1024
#define CR_TIMELAPSE_MIN_INTERVAL 0.05   /* s */

enum cr_timelapse_state {
	CR_TIMELAPSE_IDLE,         /* no session */
	CR_TIMELAPSE_RUNNING,      /* stills every interval and on shots */
	CR_TIMELAPSE_PAUSED,       /* no stills until resumed */
};

struct cr_timelapse_stats {
	enum cr_timelapse_state state;
	char session[128];                    /* the current session, or the last one; "" before any */
	char dir[CR_TIMELAPSE_PATH_MAX];      /* its directory */
	unsigned shots;                       /* its stills so far */
	double interval_s;                    /* its interval, s; 0: shots on trigger only */
	double fps;                           /* its video's frame rate */
	int quality;                          /* its stills' JPEG quality */
	unsigned pending_shots;               /* triggered shots waiting for a frame */
	char last_still[CR_TIMELAPSE_PATH_MAX]; /* the newest still, "" before any */
	int64_t last_still_utc_us;            /* its capture time, µs since the UTC epoch; 0 before any */
	bool assembling;                      /* a video is being made */
	unsigned assembly_queue;              /* stopped sessions waiting for the assembler */
	char last_video[CR_TIMELAPSE_PATH_MAX]; /* the last video written, "" before any */
	unsigned last_video_frames;           /* its frames */
	char last_error[256];                 /* the last failure (a still or a video), "" if none */
	uint64_t errors;                      /* stills and videos that failed */
};

struct cr_timelapse;

/* Creates the timelapse of cam, taking stills from jpeg, with config (not
 * copied: it must outlive the timelapse). Resumes an interrupted session when
 * config->resume says so (see above); its stills wait for
 * cr_timelapse_start(). Publishes to events (may be NULL). Returns 0. */
int cr_timelapse_new(struct cr_camera *cam, struct cr_jpeg_stage *jpeg, const struct cr_timelapse_config *config,
		     struct cr_events *events, struct cr_timelapse **out);

/* Extra columns of stills.csv (the sensors' readings): fn writes into buf
 * (len bytes, at most CR_TIMELAPSE_COLUMNS_MAX) ",NAME,NAME..." for the
 * header (header true) of a new session, and ",VALUE,VALUE..." for each
 * still; "" for none. It is called under the timelapse's lock, so it may
 * take only leaf locks. Set before cr_timelapse_start(). */
#define CR_TIMELAPSE_COLUMNS_MAX 2048
typedef void (*cr_timelapse_columns_fn)(void *ctx, bool header, char *buf, size_t len);
void cr_timelapse_set_columns(struct cr_timelapse *tl, cr_timelapse_columns_fn fn, void *ctx);

/* Starts the shooter and assembler threads. Returns 0 or a negative errno
 * (logged). */
int cr_timelapse_start(struct cr_timelapse *tl);

/* Stops the threads: an assembly under way is abandoned (its session stays
 * "stopped" and is assembled at the next start, or offline); a running
 * session stays "running" on disk. Idempotent. */
void cr_timelapse_stop(struct cr_timelapse *tl);

/* Stops and frees. NULL-safe; sets *tl to NULL. */
void cr_timelapse_free(struct cr_timelapse **tl);

/* Carries out cmd (verb timelapse; its action, duration_s as the interval of
 * start with 0 for the configured one, trigger) on the control thread:
 *   start   a new session; -EBUSY while one runs or is paused, -EINVAL for an
 *           interval below CR_TIMELAPSE_MIN_INTERVAL, -EIO when the directory
 *           cannot be made;
 *   pause   -EBUSY unless running;   resume  -EBUSY unless paused;
 *   stop    ends the session and queues it for assembly (the video comes
 *           later, with a timelapse_finished event); abort ends it without;
 *           both -EBUSY without a session;
 *   shot    queues one still of a frame captured after now; -EBUSY unless
 *           running, -EAGAIN when too many shots wait already.
 * Writes a one-line result or reason into msg (len bytes). Never waits for a
 * frame or for the disk beyond writing session.json. */
int cr_timelapse_control(struct cr_timelapse *tl, const struct cr_command *cmd, char *msg, size_t len);

void cr_timelapse_stats(struct cr_timelapse *tl, struct cr_timelapse_stats *stats);

/* "idle", "running", "paused". */
const char *cr_timelapse_state_name(enum cr_timelapse_state state);

/* Assembles the session directory dir offline (`camrig timelapse assemble`):
 * fps > 0 overrides the session's (else session.json's, else 25); output
 * non-NULL overrides the video path (else session.json's "video", else
 * DIR.mp4). Marks the session finished (or failed) in its session.json when
 * it has one. Writes the video's path into path (len bytes) and a reason into
 * why on failure. Returns 0 or a negative errno / AVERROR. */
int cr_timelapse_assemble_dir(const char *dir, double fps, const char *output, char *path, size_t path_len,
			      struct cr_assemble_result *result, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif
