/* Creates and wires the parts of camrig; the only file that knows how they
 * connect.
 *
 *   camera[i] --fan-out--> jpeg stage[i] --latest image--> HTTP live views
 *   HTTP /api/command, signals --> control thread --> handlers below
 *
 * Start order: cameras (so a bad device fails before anything listens), JPEG
 * stages, control thread, HTTP server. Stop order is the reverse. */
#include "app/pipeline.h"

#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"
#include "control/control.h"
#include "control/events.h"
#include "encode/jpeg.h"
#include "net/http.h"
#include "source/camera.h"

#include <errno.h>
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
		json_object_set_new(reply, "error", json_sprintf("%s: no camera named \"%s\"", cr_verb_name(cmd->verb),
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
		json_array_append_new(cameras, json_pack("{s:s, s:s, s:f, s:I, s:I, s:I, s:i}",
			"name", p->config->cameras[i].name, "state", cr_camera_state_name(st.state),
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

			json_object_set_new(reply, "error", json_sprintf("set_control %s %s: %s: %s", cmd->name,
					    cmd->value, cr_camera_config(cams[i]->camera)->name, why));
			return ret == -ENOTSUP ? -EINVAL : ret;
		}
	}
	return n < 0 ? n : 0;
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

		ret = cr_camera_new(cc, (int)i, p->events, &hc->camera);
		if (ret == 0)
			ret = cr_camera_start(hc->camera, workers + POOL_HEADROOM);
		if (ret == 0) {
			const struct cr_source_format *f = cr_camera_format(hc->camera);

			cr_info("%s: %s (%s): %dx%d %s at %.3g fps", cc->name, f->device, f->driver, f->width,
				f->height, cr_fourcc_name(f->fourcc), f->fps);
			ret = cr_jpeg_stage_new(hc->camera, &cc->jpeg, &hc->jpeg);
		}
	}
	if (ret == 0) {
		p->control = cr_control_new(p->events);
		cr_control_on(p->control, CR_VERB_STATUS, on_status, p);
		cr_control_on(p->control, CR_VERB_GET_STATS, on_get_stats, p);
		cr_control_on(p->control, CR_VERB_SET_CONTROL, on_set_control, p);
		cr_control_on(p->control, CR_VERB_QUIT, on_quit, p);
		ret = cr_control_start(p->control);
	}
	if (ret == 0) {
		p->http_ctx.config = config;
		p->http_ctx.cameras = p->cameras;
		p->http_ctx.ncameras = config->ncameras;
		p->http_ctx.control = p->control;
		p->http_ctx.events = p->events;
		p->http_ctx.start_mono_ns = cr_time_mono_ns();
		ret = cr_http_server_new(&p->http_ctx, &p->http);
	}
	if (ret < 0) {
		cr_pipeline_stop(&p);
		return ret;
	}
	cr_events_publish(p->events, "ready", json_pack("{s:s}", "listen", config->http.listen));
	*out = p;
	return 0;
}

void cr_pipeline_reload(struct cr_pipeline *p)
{
	cr_info("SIGHUP: reloading");
	cr_http_server_reload(p->http);
}

void cr_pipeline_stop(struct cr_pipeline **pp)
{
	struct cr_pipeline *p = *pp;

	if (!p)
		return;
	*pp = NULL;
	if (p->http)
		cr_events_publish(p->events, "stopping", NULL);
	cr_http_server_free(&p->http);
	cr_control_free(&p->control);
	for (unsigned i = p->config->ncameras; i-- > 0;) {
		struct cr_http_camera *hc = &p->cameras[i];

		if (hc->camera)
			cr_camera_stop(hc->camera);
		cr_jpeg_stage_free(&hc->jpeg);
		cr_camera_free(&hc->camera);
	}
	free(p->cameras);
	cr_events_free(&p->events);
	free(p);
}
