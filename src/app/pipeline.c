/* Creates and wires the parts of camrig; the only file that knows how they
 * connect.
 *
 *   camera[i] --fan-out--> jpeg stage[i] --latest image--> HTTP live views
 *             --fan-out--> video encoder[i] --packets--> recorder[i]
 *                          (pre-trigger ring, files + sidecars)
 *             jpeg stage[i] --full-size stills--> timelapse[i] (photos, videos)
 *                           --current image--> upload[i] (POST, own queue)
 *   HTTP /api/command, signals --> control thread --> handlers below
 *   ntfy topic, GPIO button ------^          events --> ntfy, GPIO LEDs
 *
 * Start order: cameras (so a bad device fails before anything listens), JPEG
 * stages, control thread, ntfy, GPIO, HTTP server. Stop order is the reverse,
 * except that ntfy and GPIO stop first, so no command arrives from them
 * while the rest shuts down. */
#include "app/pipeline.h"

#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"
#include "control/control.h"
#include "base/events.h"
#include "control/gpio.h"
#include "encode/jpeg.h"
#include "encode/video.h"
#include "http/internal.h"
#include "lsl/lsl.h"
#include "publish/tcpstream.h"
#include "control/ntfy.h"
#include "publish/upload.h"
#include "record/recorder.h"
#include "record/snapshot.h"
#include "record/timelapse.h"
#include "source/camera.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Frames in each camera's pool beyond one per JPEG worker: the frame being
 * captured, frames held as pass-through images, and headroom for consumers. */
#define POOL_HEADROOM 8

struct cr_pipeline {
	const struct cr_config *config;
	struct cr_http_context http_ctx;
	struct cr_http_camera *cameras;  /* config->ncameras */
	struct cr_events *events;
	struct cr_control *control;
	struct cr_ntfy *ntfy;            /* NULL unless ntfy.enabled */
	struct cr_gpio *gpio;            /* NULL unless gpio.enabled */
	struct cr_http_server *http;
};

/* The cameras a command addresses: the one it names, or all of them. Returns
 * how many were put in out, or -ENOENT with reply's "error" set. */
static int addressed_cameras(struct cr_pipeline *p, const struct cr_command *cmd, json_t *reply,
			     struct cr_http_camera **out)
{
	int n = 0;

	for (unsigned i = 0; i < p->config->ncameras; i++)
		if (!cmd->camera[0] || strcmp(p->config->cameras[i].name, cmd->camera) == 0)
			out[n++] = &p->cameras[i];
	if (n == 0) {
		json_object_set_new(reply, "error", cr_json_sprintf("%s: no camera named \"%s\"", cr_verb_name(cmd->verb),
								 cmd->camera));
		return -ENOENT;
	}
	return n;
}

static int on_status(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_pipeline *p = ctx;

	json_object_set_new(reply, "status", cr_http_status_json(&p->http_ctx));
	return 0;
}

static int on_get_stats(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_pipeline *p = ctx;
	json_t *cameras = json_array();

	for (unsigned i = 0; i < p->config->ncameras; i++) {
		struct cr_camera_stats st;

		cr_camera_stats(p->cameras[i].camera, &st);
		json_array_append_new(cameras, json_pack("{s:o, s:s, s:f, s:I, s:I, s:I, s:i}",
			"name", cr_json_str(p->config->cameras[i].name), "state", cr_camera_state_name(st.state),
			"fps", st.fps_measured, "frames_captured", (json_int_t)st.frames_captured,
			"frames_dropped", (json_int_t)st.frames_pool_dropped,
			"frames_lost_upstream", (json_int_t)st.frames_lost_upstream,
			"stream_clients", (int)atomic_load(&p->cameras[i].stream_clients)));
	}
	json_object_set_new(reply, "cameras", cameras);
	return 0;
}

static int on_set_control(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_pipeline *p = ctx;
	struct cr_http_camera *cams[CR_CONFIG_MAX_CAMERAS];
	int n = addressed_cameras(p, cmd, reply, cams);

	for (int i = 0; i < n; i++) {
		int ret = cr_camera_set_control(cams[i]->camera, cmd->name, cmd->value);

		if (ret < 0) {
			const char *why = ret == -ENOTSUP ? "this source has no controls"
					: ret == -ENOENT ? "no such control" : "bad value";

			json_object_set_new(reply, "error", cr_json_sprintf("set_control %s %s: %s: %s", cmd->name,
					    cmd->value, cr_camera_config(cams[i]->camera)->name, why));
			return ret == -ENOTSUP ? -EINVAL : ret;
		}
	}
	return n < 0 ? n : 0;
}

/* start_recording on the addressed cameras; the reply lists the files. */
static int on_start_recording(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_pipeline *p = ctx;
	struct cr_http_camera *cams[CR_CONFIG_MAX_CAMERAS];
	int n = addressed_cameras(p, cmd, reply, cams);
	json_t *files = json_array();
	char msg[CR_RECORDER_PATH_MAX + 64];

	for (int i = 0; i < n; i++) {
		int ret = cr_recorder_start(cams[i]->recorder, cmd, msg, sizeof(msg));

		if (ret < 0) {
			json_object_set_new(reply, "error", cr_json_sprintf("start_recording: %s: %s",
					    cr_camera_config(cams[i]->camera)->name, msg));
			json_object_set_new(reply, "files", files);
			return ret;
		}
		json_array_append_new(files, cr_json_str(msg));
		cr_events_publish(p->events, "recording_started", json_pack("{s:o, s:o, s:s, s:f}", "camera",
				  cr_json_str(cr_camera_config(cams[i]->camera)->name), "file", cr_json_str(msg), "trigger",
				  cr_trigger_name(cmd->trigger), "duration", cmd->duration_s));
	}
	if (n > 0)
		cr_control_note_trigger(p->control, cmd);
	json_object_set_new(reply, "recording", json_true());
	json_object_set_new(reply, "duration", json_real(cmd->duration_s));
	json_object_set_new(reply, "files", files);
	return n < 0 ? n : 0;
}

static int on_stop_recording(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_pipeline *p = ctx;
	struct cr_http_camera *cams[CR_CONFIG_MAX_CAMERAS];
	int n = addressed_cameras(p, cmd, reply, cams), stopped = 0;
	json_t *files = json_array();
	char msg[CR_RECORDER_PATH_MAX + 64], reason[64];

	snprintf(reason, sizeof(reason), "%s (%s)", cmd->discard ? "discarded" : "stopped", cr_trigger_name(cmd->trigger));
	for (int i = 0; i < n; i++) {
		if (cr_recorder_stop(cams[i]->recorder, cmd->mono_ns, reason, cmd->discard, msg, sizeof(msg)) > 0) {
			json_array_append_new(files, cr_json_str(msg));
			stopped++;
		}
	}
	if (stopped > 0)
		cr_control_note_trigger(p->control, cmd);
	json_object_set_new(reply, "recording", json_false());
	json_object_set_new(reply, "stopped", json_integer(stopped));
	json_object_set_new(reply, "discarded", json_boolean(cmd->discard && stopped > 0));
	json_object_set_new(reply, "files", files);
	return n < 0 ? n : 0;
}

/* timelapse ACTION on the addressed cameras. Without camera=NAME the action
 * goes to every camera and succeeds when it applies to at least one (start:
 * cameras without a session; shot, pause, ...: cameras with one). The reply
 * lists each camera's timelapse state with a "message". */
static int on_timelapse(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_pipeline *p = ctx;
	struct cr_http_camera *cams[CR_CONFIG_MAX_CAMERAS];
	int n = addressed_cameras(p, cmd, reply, cams), done = 0, err = 0;
	json_t *cameras = json_array();
	char msg[CR_TIMELAPSE_PATH_MAX + 256];

	for (int i = 0; i < n; i++) {
		const char *name = cr_camera_config(cams[i]->camera)->name;
		int ret = cr_timelapse_control(cams[i]->timelapse, cmd, msg, sizeof(msg));
		json_t *t = cr_http_timelapse_json(cams[i]);

		json_object_set_new(t, "camera", cr_json_str(name));
		json_object_set_new(t, "message", cr_json_str(msg));
		json_array_append_new(cameras, t);
		if (ret >= 0) {
			if (!done++)
				json_object_set_new(reply, "message", cr_json_str(msg));
		} else if (!err) {
			err = ret;
			json_object_set_new(reply, "error", cr_json_sprintf("timelapse %s: %s: %s",
					    cr_timelapse_action_name(cmd->timelapse), name, msg));
		}
	}
	json_object_set_new(reply, "cameras", cameras);
	if (n < 0 || (err && (done == 0 || cmd->camera[0])))
		return n < 0 ? n : err;
	json_object_del(reply, "error");
	if (cmd->timelapse == CR_TIMELAPSE_SHOT)
		cr_control_note_trigger(p->control, cmd);
	return 0;
}

/* snapshot: a JPEG of each addressed camera saved beside its recordings. */
static int on_snapshot(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_pipeline *p = ctx;
	struct cr_http_camera *cams[CR_CONFIG_MAX_CAMERAS];
	int n = addressed_cameras(p, cmd, reply, cams);
	json_t *files = json_array();
	char path[PATH_MAX];

	for (int i = 0; i < n; i++) {
		const struct cr_camera_config *cc = cr_camera_config(cams[i]->camera);
		int ret = cr_snapshot_save(cams[i]->camera, cams[i]->jpeg, cc->recording.root, path, sizeof(path));

		if (ret < 0) {
			json_object_set_new(reply, "error", cr_json_sprintf("snapshot: %s: %s", cc->name, path));
			json_decref(files);
			return ret == -ETIMEDOUT ? -EAGAIN : -EIO;
		}
		json_array_append_new(files, cr_json_str(path));
		cr_events_publish(p->events, "snapshot", json_pack("{s:o, s:o, s:s}", "camera", cr_json_str(cc->name), "file", cr_json_str(path),
				  "trigger", cr_trigger_name(cmd->trigger)));
	}
	if (n > 0)
		cr_control_note_trigger(p->control, cmd);
	json_object_set_new(reply, "files", files);
	return n < 0 ? n : 0;
}

/* The LSL outlet's sample of every frame, pushed inline from the camera
 * thread (cr_lsl_outlet_push_frame never blocks). */
static void lsl_tap(void *ctx, const struct cr_frame *frame)
{
	cr_lsl_outlet_push_frame(ctx, frame->index, frame->mono_ns);
}

static void lsl_trigger(void *ctx, const struct cr_command *cmd)
{
	struct cr_pipeline *p = ctx;

	for (unsigned i = 0; i < p->config->ncameras; i++)
		if (p->cameras[i].lsl)
			cr_lsl_outlet_trigger(p->cameras[i].lsl, (int)cmd->trigger, cmd->mono_ns, cmd->utc_us);
}

static int start_lsl(struct cr_http_camera *hc, const struct cr_camera_config *cc)
{
	const struct cr_source_format *f = cr_camera_format(hc->camera);
	struct cr_lsl_stream_info info = {
		.name = cc->lsl.name ? cc->lsl.name : cc->name,
		.type = cc->lsl.type,
		.nominal_rate = f->fps,
		.camera_name = cc->name,
		.width = f->width,
		.height = f->height,
		.format = cr_fourcc_name(f->fourcc),
	};
	int ret = cr_lsl_outlet_new(&info, &hc->lsl);

	if (ret == 0)
		ret = cr_fanout_add_tap(cr_camera_fanout(hc->camera), "lsl", lsl_tap, hc->lsl);
	return ret;
}

static int on_quit(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	/* The main thread waits for SIGTERM and stops everything in order. */
	return kill(getpid(), SIGTERM) < 0 ? -errno : 0;
}

int cr_pipeline_start(const struct cr_config *config, struct cr_pipeline **out)
{
	struct cr_pipeline *p = CR_NEW(p);
	int ret = 0;

	p->config = config;
	p->events = cr_events_new();
	p->cameras = cr_calloc(config->ncameras, sizeof(*p->cameras));
	for (unsigned i = 0; i < config->ncameras && ret == 0; i++) {
		const struct cr_camera_config *cc = &config->cameras[i];
		struct cr_http_camera *hc = &p->cameras[i];
		unsigned workers = cc->jpeg.workers > 0 ? (unsigned)cc->jpeg.workers : 4;
		/* The video encoder's queue holds pooled frames too. */
		unsigned encoder_frames = cc->recording.queue_depth > 0 ? (unsigned)cc->recording.queue_depth : 32;

		ret = cr_camera_new(cc, (int)i, p->events, &hc->camera);
		if (ret == 0)
			ret = cr_camera_start(hc->camera, workers + POOL_HEADROOM + encoder_frames);
		if (ret == 0) {
			const struct cr_source_format *f = cr_camera_format(hc->camera);

			cr_info("%s: %s (%s): %dx%d %s at %.3g fps", cc->name, f->device, f->driver, f->width,
				f->height, cr_fourcc_name(f->fourcc), f->fps);
			ret = cr_jpeg_stage_new(hc->camera, &cc->jpeg, &hc->jpeg);
		}
		if (ret == 0)
			ret = cr_video_encoder_new(hc->camera, &cc->recording, &hc->encoder);
		if (ret == 0)
			ret = cr_recorder_new(hc->camera, hc->encoder, &cc->recording, p->events, &hc->recorder);
		if (ret == 0 && cc->tcp_stream.enabled) {
			/* Encode once: share the recorder's packets when they are H.264. */
			bool h264 = strcmp(cc->recording.codec, "h264") == 0 || strncmp(cc->recording.codec, "h264_", 5) == 0 ||
				    strcmp(cc->recording.codec, "libx264") == 0;

			ret = cr_tcpstream_new(hc->camera, h264 ? hc->encoder : NULL, &cc->tcp_stream, &cc->recording,
					       &hc->tcp);
			if (ret == 0)
				ret = cr_tcpstream_start(hc->tcp);
		}
		if (ret == 0)
			ret = cr_video_encoder_start(hc->encoder);
		if (ret == 0)
			ret = cr_timelapse_new(hc->camera, hc->jpeg, &cc->timelapse, p->events, &hc->timelapse);
		if (ret == 0 && cc->upload.enabled)
			ret = cr_upload_new(hc->camera, hc->jpeg, &cc->upload, &hc->upload);
		if (ret == 0 && cc->lsl.enabled)
			ret = start_lsl(hc, cc);
	}
	if (ret == 0) {
		p->control = cr_control_new(p->events);
		cr_control_on(p->control, CR_VERB_STATUS, on_status, p);
		cr_control_on(p->control, CR_VERB_GET_STATS, on_get_stats, p);
		cr_control_on(p->control, CR_VERB_SET_CONTROL, on_set_control, p);
		cr_control_on(p->control, CR_VERB_QUIT, on_quit, p);
		cr_control_on(p->control, CR_VERB_START_RECORDING, on_start_recording, p);
		cr_control_on(p->control, CR_VERB_STOP_RECORDING, on_stop_recording, p);
		cr_control_on(p->control, CR_VERB_TIMELAPSE, on_timelapse, p);
		cr_control_on(p->control, CR_VERB_SNAPSHOT, on_snapshot, p);
		cr_control_on_trigger(p->control, lsl_trigger, p);
		ret = cr_control_start(p->control);
	}
	if (ret == 0) {
		/* "status" reads it: set before ntfy and GPIO can send one. */
		p->http_ctx.config = config;
		p->http_ctx.cameras = p->cameras;
		p->http_ctx.ncameras = config->ncameras;
		p->http_ctx.control = p->control;
		p->http_ctx.events = p->events;
		p->http_ctx.start_mono_ns = cr_time_mono_ns();
	}
	if (ret == 0 && config->ntfy.enabled) {
		ret = cr_ntfy_new(&config->ntfy, p->control, p->events, &p->ntfy);
		if (ret == 0)
			ret = cr_ntfy_start(p->ntfy);
	}
	if (ret == 0 && config->gpio.enabled) {
		ret = cr_gpio_new(&config->gpio, p->control, p->events, &p->gpio);
		if (ret == 0)
			ret = cr_gpio_start(p->gpio);
	}
	if (ret == 0) {
		p->http_ctx.ntfy = p->ntfy;
		ret = cr_http_server_new(&p->http_ctx, &p->http);
	}
	if (ret < 0) {
		cr_pipeline_stop(&p);
		return ret;
	}
	cr_events_publish(p->events, "ready", json_pack("{s:o}", "listen", cr_json_str(config->http.listen)));
	*out = p;
	return 0;
}

void cr_pipeline_reload(struct cr_pipeline *p)
{
	cr_info("SIGHUP: reloading");
	cr_http_server_reload(p->http);
}

int cr_pipeline_post(struct cr_pipeline *p, const char *line, enum cr_trigger trigger)
{
	return cr_control_post(p->control, line, trigger);
}

void cr_pipeline_stop(struct cr_pipeline **pp)
{
	struct cr_pipeline *p = *pp;

	if (!p)
		return;
	*pp = NULL;
	if (p->http)
		cr_events_publish(p->events, "stopping", NULL);
	cr_gpio_free(&p->gpio);
	cr_ntfy_stop(p->ntfy);    /* its counters live on for /status until the end */
	cr_http_server_free(&p->http);
	cr_control_free(&p->control);
	cr_ntfy_free(&p->ntfy);
	for (unsigned i = p->config->ncameras; i-- > 0;) {
		struct cr_http_camera *hc = &p->cameras[i];

		/* Both wait on the JPEG stage: stop them while frames still come. */
		cr_upload_free(&hc->upload);
		cr_timelapse_free(&hc->timelapse);
		if (hc->lsl)
			cr_fanout_remove_tap(cr_camera_fanout(hc->camera), hc->lsl);
		cr_lsl_outlet_free(&hc->lsl);
		if (hc->camera)
			cr_camera_stop(hc->camera);
		/* The encoder's last packets reach the recorder, which then
		 * finalizes its file. */
		if (hc->encoder)
			cr_video_encoder_close(hc->encoder);
		/* After the close: the encoder's thread no longer calls its sink. */
		cr_tcpstream_free(&hc->tcp);
		cr_recorder_free(&hc->recorder);
		cr_video_encoder_free(&hc->encoder);
		cr_jpeg_stage_free(&hc->jpeg);
		cr_camera_free(&hc->camera);
	}
	free(p->cameras);
	cr_events_free(&p->events);
	free(p);
}
