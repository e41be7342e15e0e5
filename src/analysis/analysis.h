/* The analysis stage: looks at a camera's picture a few times a second —
 * motion detection that triggers recordings, face detection — and draws
 * what it found into the live view (see analysis.c for the design).
 *
 *   camera --fan-out (queue of 2, drop-oldest)--> analysis thread:
 *     frames due by capture time (analysis.fps), each scaled down to a gray
 *     copy once (libswscale; turbojpeg for MJPEG), then
 *     motion: adaptive background, zones, light-switch guard, events; and
 *             start_recording / stop_recording / snapshot on the control
 *             thread with trigger type 6 (motion)
 *     faces:  a cascade classifier every faces.every seconds
 *   JPEG workers --cr_analysis_draw()--> the latest boxes drawn into an
 *     overlay variant
 *
 * Events (on the bus, so SSE /api/events, LSL marker streams):
 *   motion_start {camera, frame, previous_frame, mono_ns, fraction, box, snapshot}
 *   motion_end   {camera, frame, mono_ns, duration, peak_fraction, box}
 *   faces        {camera, frame, mono_ns, count, boxes}
 * frame is camrig's frame index (previous_frame: the analysed frame before,
 * which showed no motion; null for the first), mono_ns the frame's capture time
 * (CLOCK_MONOTONIC ns), fraction a % of the analysed image (inside the
 * zones), boxes {x, y, width, height} in the camera's pixels. motion_end's
 * frame and mono_ns are those of the event's last frame with motion. */
#ifndef CR_ANALYSIS_ANALYSIS_H
#define CR_ANALYSIS_ANALYSIS_H

#include "analysis/cv.h"
#include "base/events.h"
#include "config/config.h"
#include "control/control.h"
#include "encode/jpeg.h"
#include "source/camera.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_ANALYSIS_QUEUE 2          /* frames waiting for the analysis thread */
#define CR_ANALYSIS_MAX_FACES 16     /* faces reported per detection */

struct cr_analysis;

struct cr_analysis_stats {
	bool motion_enabled, faces_enabled;
	double fps;                          /* configured, frames per second; 0: every frame */
	int width, height;                   /* the analysed copy, pixels; 0 before the first frame */
	uint64_t analysed;                   /* frames analysed */
	uint64_t skipped;                    /* frames taken that were not due yet */
	uint64_t errors;                     /* frames that could not be analysed */
	double analyse_ms;                   /* mean wall time per analysed frame (scaling + detectors), ms */
	double cpu_ms;                       /* the thread's CPU time per analysed frame since start, ms */
	/* motion */
	bool motion;                         /* an event is running */
	double fraction;                     /* the last analysed frame's changed pixels, % */
	struct cr_rect box;                  /* the running event's box so far, camera pixels; 0x0: none */
	uint64_t motion_events;              /* events started */
	uint64_t motion_frames;              /* analysed frames that counted as motion */
	uint64_t light_switches;             /* frames the light-switch guard took for one */
	int64_t last_motion_utc_us;          /* capture time of the last frame with motion, µs UTC; 0: never */
	/* faces */
	uint64_t detections;                 /* face detections run */
	double detect_ms;                    /* mean time of one, ms */
	unsigned faces;                      /* faces at the last detection (after largest_only) */
	struct cr_rect face_boxes[CR_ANALYSIS_MAX_FACES]; /* camera pixels, largest first */
};

/* Checks the analysis settings of a camera that no single key can: the zone
 * grammar (a polygon of 3..32 points X,Y or a rectangle X,Y WxH, after
 * include or exclude), that the faces model is a file, and that camrig has
 * OpenCV when a detector is enabled. Returns 0, or -EINVAL with *key (the
 * key under cameras.N.analysis, e.g. "motion.zones.door") and *why (what is
 * wrong, with what was expected) allocated for the caller to free. */
int cr_analysis_check(const struct cr_analysis_config *config, char **key, char **why);

/* True when config enables a detector: only then does a stage exist. */
bool cr_analysis_wanted(const struct cr_analysis_config *config);

/* Creates the stage for cam (config: the camera's, not copied), subscribed
 * to its frames but inactive until started. Commands go to control (it must
 * be running by cr_analysis_start()), events to events. Loads the face
 * model. Returns 0 or a negative errno (logged with the reason). */
int cr_analysis_new(struct cr_camera *cam, const struct cr_camera_config *config, struct cr_control *control,
		    struct cr_events *events, struct cr_analysis **out);

/* Starts the analysis thread. Returns 0 or a negative errno (logged). */
int cr_analysis_start(struct cr_analysis *a);

/* Joins the thread and leaves the fan-out; a recording motion started is
 * left to the recorder's own stop. Stats and cr_analysis_draw() stay
 * usable. Idempotent. */
void cr_analysis_stop(struct cr_analysis *a);

/* Stops and frees. NULL-safe; sets *a to NULL. */
void cr_analysis_free(struct cr_analysis **a);

void cr_analysis_stats(struct cr_analysis *a, struct cr_analysis_stats *stats);

/* The overlay function of the JPEG stage and the video encoder
 * (cr_jpeg_overlay_fn; ctx: the stage): draws the latest results when it is
 * called — the running motion event's box, the last faces (unless the
 * detection is more than twice faces.every older than the frame) — with
 * labels and, with analysis.timestamp, the frame's capture time.
 * Thread-safe. */
void cr_analysis_draw(void *ctx, const struct cr_image *img, const struct cr_jpeg_overlay_view *view,
		      const struct cr_frame *frame);

#ifdef __cplusplus
}
#endif

#endif
