/* Creates and wires the parts of camrig; the only file that knows how they
 * connect.
 *
 *   camera[i] --fan-out--> jpeg stage[i] --latest image--> HTTP live views
 *             --fan-out--> video encoder[i] --packets--> recorder[i]
 *                          (pre-trigger ring, files + sidecars), tcp stream[i],
 *                          RTSP publisher[i] (a media server), RTP to Janus[i]
 *             --tap------> LSL outlet[i] (one sample per frame)
 *             --fan-out--> analysis[i] --commands (motion)--> control thread
 *                          --boxes--> jpeg stage[i]'s overlay variants
 *             jpeg stage[i] --full-size stills--> timelapse[i] (photos, videos)
 *                           --current image--> upload[i] (POST, own queue)
 *   HTTP /api/command, signals --> control thread --> commands.c
 *   ntfy topic, GPIO button, MQTT -^          events --> ntfy, MQTT, GPIO LEDs, SSE
 *   every reader of the state --> status model (status.c) --> every part's stats
 *
 * Lifecycle: every part is new (no thread) -> start -> stop (idempotent,
 * joins its threads, and leaves every other part alone from then on) ->
 * free. The pipeline records each part it creates and each start in one
 * table, and stops the started parts in the reverse order of their starts,
 * then frees every part in the reverse order of creation. So the start
 * order below is the design:
 *
 *   telemetry first (the timelapses write its sensors into stills.csv);
 *   per camera: the JPEG stage, the recorder, tcp stream, RTSP and encoder first
 *   (the encoder's sinks are registered before it runs; stopping it after
 *   the camera drains its last packets into them), then the camera (a bad
 *   device fails before anything listens; its format is known from here
 *   on), timelapse and upload (they wait on the JPEG stage: stopped while
 *   frames still come), the LSL outlet and its tap;
 *   then the control thread (created first of all, so analysis stages can
 *   hold it), the analysis stages (created with their camera, before its
 *   JPEG stage starts, which draws their boxes; started once the control
 *   thread runs their commands), ntfy, MQTT and GPIO (no command arrives from
 *   them after they stop), and the HTTP server, which stops first. */
#include "app/mcp.h"
#include "app/pipeline.h"

#include "app/commands.h"
#include "app/rig.h"
#include "app/status.h"
#include "app/markers.h"
#include "analysis/analysis.h"
#include "base/fanout.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"
#include "control/control.h"
#include "control/gpio.h"
#include "control/ntfy.h"
#include "encode/jpeg.h"
#include "encode/video.h"
#include "http/http.h"
#include "lsl/lsl.h"
#include "publish/mqtt.h"
#include "publish/rtsp.h"
#include "publish/tcpstream.h"
#include "publish/upload.h"
#include "record/catalog.h"
#include "record/recorder.h"
#include "record/timelapse.h"
#include "source/camera.h"
#include "telemetry/telemetry.h"

#include <stdlib.h>
#include <string.h>

/* Frames in each camera's pool beyond one per JPEG worker: the frame being
 * captured, frames held as pass-through images, and headroom for consumers. */
#define POOL_HEADROOM 8
#define PARTS_MAX (CR_CONFIG_MAX_CAMERAS * 12 + 8)

/* One part, as the pipeline drives it. */
struct part {
	const char *kind;           /* "camera", "recorder", ... */
	void *obj;
	int (*start)(void *obj);
	void (*stop)(void *obj);
	void (*free)(void *obj);
	unsigned started;           /* its place in the start order, from 1; 0: not started */
};

/* The LSL outlet's tap on a camera's fan-out: a part of its own, so the tap
 * goes when the outlet stops. */
struct lsl_tap {
	struct cr_fanout *fanout;
	struct cr_lsl_outlet *outlet;
};

struct cr_pipeline {
	const struct cr_config *config;
	struct cr_events *events;
	struct cr_rig *rigs;                   /* config->ncameras */
	struct lsl_tap *taps;                  /* config->ncameras */
	struct cr_http_camera *http_cameras;   /* config->ncameras */
	struct cr_control *control;
	struct cr_ntfy *ntfy;                  /* NULL unless ntfy.enabled */
	struct cr_gpio *gpio;                  /* NULL unless gpio.enabled */
	struct cr_mqtt *mqtt;                  /* NULL unless mqtt.enabled */
	struct cr_markers *markers;            /* NULL unless a camera has lsl.markers */
	struct cr_http_server *http;
	struct cr_telemetry *telemetry;
	struct cr_http_context http_ctx;
	struct cr_catalog *catalog;            /* the files written, as HTTP serves them */
	struct cr_status_source status;
	struct cr_commands commands;
	struct cr_mcp *mcp;                    /* POST /mcp; no thread of its own */
	char *page_connect;                    /* the Janus origins the page may fetch from; NULL: none */
	struct part parts[PARTS_MAX];          /* in the order they were created */
	unsigned nparts, nstarted;
};

/* Typed adapters from each part's functions to struct part's. */
#define PART_OPS(type)                                                       \
	static int type##_part_start(void *obj)                                \
	{                                                                      \
		return cr_##type##_start(obj);                                 \
	}                                                                      \
	static void type##_part_stop(void *obj)                                \
	{                                                                      \
		cr_##type##_stop(obj);                                         \
	}                                                                      \
	static void type##_part_free(void *obj)                                \
	{                                                                      \
		struct cr_##type *o = obj;                                     \
		cr_##type##_free(&o);                                          \
	}

PART_OPS(camera)
PART_OPS(jpeg_stage)
PART_OPS(video_encoder)
PART_OPS(recorder)
PART_OPS(tcpstream)
PART_OPS(rtsp)
PART_OPS(timelapse)
PART_OPS(upload)
PART_OPS(lsl_outlet)
PART_OPS(markers)
PART_OPS(control)
PART_OPS(ntfy)
PART_OPS(gpio)
PART_OPS(mqtt)
PART_OPS(http_server)
PART_OPS(analysis)
PART_OPS(telemetry)

/* A timelapse's stills.csv columns: the sensors (telemetry.h). */
static void telemetry_columns(void *ctx, bool header, char *buf, size_t len)
{
	cr_telemetry_csv(ctx, header, buf, len);
}

static int lsl_tap_start(void *obj)
{
	struct lsl_tap *t = obj;

	return cr_fanout_add_tap(t->fanout, "lsl", cr_lsl_outlet_tap, t->outlet);
}

static void lsl_tap_stop(void *obj)
{
	struct lsl_tap *t = obj;

	cr_fanout_remove_tap(t->fanout, t->outlet);
}

static void lsl_tap_free(void *obj)
{
}

/* Records a part just created: obj is the field its new stored it in, ret
 * what that new returned. Returns ret. The field goes by address and is read
 * in add_part(), after the new has run: C leaves the order in which a call's
 * arguments are evaluated open (gcc for x86-64 happens to run the new first,
 * for arm64 it reads the field first, still NULL). */
#define ADD(p, type, obj, ret) \
	add_part((p), #type, &(obj), (ret), type##_part_start, type##_part_stop, type##_part_free)

static int add_part(struct cr_pipeline *p, const char *kind, const void *field, int ret,
		    int (*start)(void *), void (*stop)(void *), void (*free_fn)(void *))
{
	void *obj = NULL;

	if (ret < 0)
		return ret;
	memcpy(&obj, field, sizeof(obj)); /* a pointer to some part type, read as void * */
	if (!obj)
		return ret;
	p->parts[p->nparts++] = (struct part){ .kind = kind, .obj = obj, .start = start, .stop = stop, .free = free_fn };
	return 0;
}

/* Starts the part recorded for obj. */
static int start_part(struct cr_pipeline *p, void *obj)
{
	for (unsigned i = 0; i < p->nparts; i++) {
		struct part *pt = &p->parts[i];
		int ret;

		if (pt->obj != obj)
			continue;
		ret = pt->start(obj);
		if (ret < 0)
			return cr_log_ret(ret, CR_LOG_DEBUG, "pipeline: %s did not start", pt->kind);
		pt->started = ++p->nstarted;
		return 0;
	}
	return cr_log_ret(-ENOENT, CR_LOG_ERROR, "pipeline: a part to start was never recorded (a bug in camrig)");
}

/* The status model as MQTT publishes it. */
static json_t *mqtt_cameras(void *ctx)
{
	struct cr_pipeline *p = ctx;
	struct cr_status *st = cr_status_take(&p->status);
	json_t *cameras = cr_status_mqtt_json(st);

	cr_status_free(&st);
	return cameras;
}

static json_t *mqtt_host(void *ctx)
{
	struct cr_pipeline *p = ctx;
	struct cr_status *st = cr_status_take(&p->status);
	json_t *host = cr_status_mqtt_host_json(st);

	cr_status_free(&st);
	return host;
}

/* Creates and starts the MQTT client (after the control thread and
 * telemetry: its discovery has a sensor per configured sensor). */
static int start_mqtt(struct cr_pipeline *p)
{
	struct cr_telemetry_stats *ts = CR_NEW(ts);
	struct cr_mqtt_sensor sensors[CR_CONFIG_MAX_SENSORS];
	struct cr_mqtt_model model = { .cameras = mqtt_cameras, .host = mqtt_host, .ctx = p, .sensors = sensors };
	unsigned n = p->config->ncameras;
	struct cr_mqtt_camera *cameras = cr_calloc(n, sizeof(*cameras));
	int ret;

	for (unsigned i = 0; i < n; i++)
		cameras[i] = (struct cr_mqtt_camera){ .name = p->config->cameras[i].name, .jpeg = p->rigs[i].jpeg };
	if (p->telemetry)
		cr_telemetry_stats(p->telemetry, ts);
	for (unsigned i = 0; i < ts->nsensors; i++)
		sensors[model.nsensors++] = (struct cr_mqtt_sensor){ .name = ts->sensors[i].spec.name,
								     .unit = ts->sensors[i].unit };
	ret = ADD(p, mqtt, p->mqtt, cr_mqtt_new(p->config, cameras, n, &model, p->control, p->events, &p->mqtt));
	free(ts);
	free(cameras);
	p->status.mqtt = p->mqtt;
	return ret == 0 ? start_part(p, p->mqtt) : ret;
}

/* Creates and starts camera i's parts, in the order the design comment gives. */
static int start_rig(struct cr_pipeline *p, unsigned i)
{
	const struct cr_camera_config *cc = &p->config->cameras[i];
	struct cr_rig *rig = &p->rigs[i];
	unsigned workers = cc->jpeg.workers > 0 ? (unsigned)cc->jpeg.workers : 4;
	/* The video encoder's queue holds pooled frames too. */
	unsigned encoder_frames = cc->recording.queue_depth > 0 ? (unsigned)cc->recording.queue_depth : 32;
	/* the analysis queue's frames and the one being analysed */
	unsigned analysis_frames = cr_analysis_wanted(&cc->analysis) ? CR_ANALYSIS_QUEUE + 1 : 0;
	int ret;

	rig->config = cc;
	ret = ADD(p, camera, rig->camera, cr_camera_new(cc, (int)i, workers + POOL_HEADROOM + encoder_frames +
							analysis_frames, p->events, &rig->camera));
	if (ret == 0)
		ret = ADD(p, jpeg_stage, rig->jpeg, cr_jpeg_stage_new(rig->camera, &cc->jpeg, &rig->jpeg));
	if (ret == 0 && analysis_frames) {
		ret = ADD(p, analysis, rig->analysis, cr_analysis_new(rig->camera, cc, p->control, p->events,
								      &rig->analysis));
		if (ret == 0)
			cr_jpeg_stage_set_overlay(rig->jpeg, cr_analysis_draw, rig->analysis, cc->analysis.overlay);
	}
	if (ret == 0)
		ret = start_part(p, rig->jpeg);
	if (ret == 0)
		ret = ADD(p, video_encoder, rig->encoder, cr_video_encoder_new(rig->camera, &cc->recording, &rig->encoder));
	if (ret == 0 && rig->analysis && cc->recording.overlay)
		cr_video_encoder_set_overlay(rig->encoder, cr_analysis_draw, rig->analysis);
	if (ret == 0)
		ret = ADD(p, recorder, rig->recorder,
			  cr_recorder_new(rig->camera, rig->encoder, &cc->recording, p->events, &rig->recorder));
	/* Encode once: the tcp stream and RTSP share the recorder's packets when
	 * they are H.264 (and RTSP asks for no bitrate or GOP of its own). */
	bool h264 = strcmp(cc->recording.codec, "h264") == 0 || strncmp(cc->recording.codec, "h264_", 5) == 0 ||
		    strcmp(cc->recording.codec, "libx264") == 0;

	if (ret == 0 && cc->tcp_stream.enabled) {
		ret = ADD(p, tcpstream, rig->tcp, cr_tcpstream_new(rig->camera, h264 ? rig->encoder : NULL, &cc->tcp_stream,
								    &cc->recording, &rig->tcp));
		if (ret == 0)
			ret = start_part(p, rig->tcp);
	}
	if (ret == 0 && cc->rtsp.enabled) {
		bool share = h264 && (cc->rtsp.bitrate == 0 || cc->rtsp.bitrate == cc->recording.bitrate) &&
			     (cc->rtsp.gop == 0 || cc->rtsp.gop == cc->recording.gop);

		ret = ADD(p, rtsp, rig->rtsp,
			  cr_rtsp_new(rig->camera, share ? rig->encoder : NULL, &cc->rtsp, &cc->recording, &rig->rtsp));
		if (ret == 0)
			ret = start_part(p, rig->rtsp);
	}
	if (ret == 0 && cc->webrtc.enabled) {
		bool share = h264 && (cc->webrtc.bitrate == 0 || cc->webrtc.bitrate == cc->recording.bitrate) &&
			     (cc->webrtc.gop == 0 || cc->webrtc.gop == cc->recording.gop);

		ret = ADD(p, rtsp, rig->webrtc, cr_rtsp_new_webrtc(rig->camera, share ? rig->encoder : NULL, &cc->webrtc,
								     &cc->recording, &rig->webrtc));
		if (ret == 0)
			ret = start_part(p, rig->webrtc);
	}
	if (ret == 0)
		ret = start_part(p, rig->recorder);
	if (ret == 0)
		ret = start_part(p, rig->encoder);
	if (ret == 0)
		ret = start_part(p, rig->camera);
	if (ret == 0) {
		const struct cr_source_format *f = cr_camera_format(rig->camera);

		cr_info("%s: %s (%s): %dx%d %s at %.3g fps", cc->name, f->device, f->driver, f->width, f->height,
			cr_fourcc_name(f->fourcc), f->fps);
		ret = ADD(p, timelapse, rig->timelapse,
			  cr_timelapse_new(rig->camera, rig->jpeg, &cc->timelapse, p->events, &rig->timelapse));
		if (ret == 0)
			cr_timelapse_set_columns(rig->timelapse, telemetry_columns, p->telemetry);
	}
	if (ret == 0)
		ret = start_part(p, rig->timelapse);
	if (ret == 0 && cc->upload.enabled) {
		ret = ADD(p, upload, rig->upload, cr_upload_new(rig->camera, rig->jpeg, &cc->upload, &rig->upload));
		if (ret == 0)
			ret = start_part(p, rig->upload);
	}
	if (ret == 0 && cc->lsl.enabled) {
		const struct cr_source_format *f = cr_camera_format(rig->camera);
		struct cr_lsl_stream_info info = {
			.name = cc->lsl.name ? cc->lsl.name : cc->name,
			.type = cc->lsl.type,
			.nominal_rate = f->fps,
			.camera_name = cc->name,
			.width = f->width,
			.height = f->height,
			.format = cr_fourcc_name(f->fourcc),
			.interfaces = cc->lsl.interfaces,
		};

		ret = ADD(p, lsl_outlet, rig->lsl, cr_lsl_outlet_new(&info, &rig->lsl));
		if (ret == 0)
			ret = start_part(p, rig->lsl);
		if (ret == 0) {
			struct lsl_tap *tap = &p->taps[i];

			*tap = (struct lsl_tap){ .fanout = cr_camera_fanout(rig->camera), .outlet = rig->lsl };
			ret = add_part(p, "lsl_tap", &tap, 0, lsl_tap_start, lsl_tap_stop, lsl_tap_free);
		}
		if (ret == 0)
			ret = start_part(p, &p->taps[i]);
		if (ret == 0 && cc->lsl.markers) {
			char name[512]; /* the outlet refuses one over 255 bytes */

			snprintf(name, sizeof(name), "%s-markers", info.name);
			info.name = name;
			info.type = NULL; /* Markers */
			info.markers = true;
			ret = ADD(p, lsl_outlet, rig->lsl_markers, cr_lsl_outlet_new(&info, &rig->lsl_markers));
			if (ret == 0)
				ret = start_part(p, rig->lsl_markers);
		}
	}
	p->http_cameras[i].name = cc->name;
	p->http_cameras[i].jpeg = rig->jpeg;
	return ret;
}

int cr_pipeline_check(const struct cr_config *config, char **error)
{
	char *gpio_key, *why;

	for (unsigned i = 0; i < config->ncameras; i++) {
		const char *codec = config->cameras[i].recording.codec;
		char key[64];

		if (codec && !cr_video_codec_known(codec)) {
			snprintf(key, sizeof(key), "cameras.%u.recording.codec", i);
			*error = cr_config_error(config, key, "unknown encoder \"%s\" (expected one of: "
						 CR_VIDEO_CODECS_EXPECTED ")", codec);
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < config->ncameras; i++) {
		char key[128], *sub, *text;

		const struct cr_camera_config *cc = &config->cameras[i];
		bool detector = cr_analysis_wanted(&cc->analysis);
		bool copy = cc->recording.codec && strcmp(cc->recording.codec, "copy") == 0;

		if (cc->recording.overlay && (!detector || copy)) {
			snprintf(key, sizeof(key), "cameras.%u.recording.overlay", i);
			*error = cr_config_error(config, key, "true %s (expected false, or %s)",
						 detector ? "with codec copy, whose JPEGs pass untouched"
							  : "but no analysis detector is enabled",
						 detector ? "a codec that encodes"
							  : "analysis.motion.enabled or analysis.faces.enabled");
			return -EINVAL;
		}
		if (cr_analysis_check(&cc->analysis, &sub, &text) < 0) {
			snprintf(key, sizeof(key), "cameras.%u.analysis.%s", i, sub);
			*error = cr_config_error(config, key, "%s", text);
			free(sub);
			free(text);
			return -EINVAL;
		}
	}
	/* the click map, whether or not gpio.enabled: a bad rule is a bad file */
	if (cr_gpio_check(&config->gpio, &gpio_key, &why) < 0) {
		*error = cr_config_error(config, gpio_key, "%s", why);
		free(gpio_key);
		free(why);
		return -EINVAL;
	}
	return 0;
}

/* The origins (scheme://host[:port]) of the cameras' webrtc.janus URLs,
 * space-separated and each once, for the page's Content-Security-Policy
 * connect-src (CSP Level 3, "host-source"); NULL when no camera has
 * WebRTC on. The URLs were checked as http(s) URLs when the config was
 * read. */
static char *janus_origins(const struct cr_config *config)
{
	char *list = NULL;

	for (unsigned i = 0; i < config->ncameras; i++) {
		const char *url = config->cameras[i].webrtc.janus, *host = url ? strstr(url, "://") : NULL;
		size_t len;
		char *origin, *grown;

		if (!config->cameras[i].webrtc.enabled || !host)
			continue;
		len = (size_t)(host + 3 - url) + strcspn(host + 3, "/?#");
		origin = cr_asprintf(" %.*s ", (int)len, url);
		if (list) {
			char *spaced = cr_asprintf(" %s ", list);
			bool seen = strstr(spaced, origin) != NULL;

			free(spaced);
			if (seen) {
				free(origin);
				continue;
			}
		}
		origin[strlen(origin) - 1] = '\0';
		grown = cr_asprintf("%s%s", list ? list : "", list ? origin : origin + 1);
		free(origin);
		free(list);
		list = grown;
	}
	return list;
}

/* The HTTP server's /mcp hook: the MCP-Protocol-Version header must name a
 * version the server speaks (Streamable HTTP, "Protocol Version Header"). */
static json_t *mcp_message(void *ctx, json_t *message, const char *version, unsigned *status)
{
	if (version && !cr_mcp_version_supported(version)) {
		*status = 400;
		return json_pack("{s:s, s:O, s:{s:i, s:o}}", "jsonrpc", "2.0", "id",
				 json_object_get(message, "id") ?: json_null(), "error", "code", -32022, "message",
				 cr_json_sprintf("unsupported MCP-Protocol-Version \"%s\" (expected one of: "
						 CR_MCP_VERSIONS ")", version));
	}
	return cr_mcp_handle(ctx, message);
}

int cr_pipeline_start(const struct cr_config *config, struct cr_pipeline **out)
{
	struct cr_pipeline *p = CR_NEW(p);
	unsigned n = config->ncameras;
	bool has_markers = false;
	int ret = 0;

	p->config = config;
	p->events = cr_events_new();
	p->rigs = cr_calloc(n, sizeof(*p->rigs));
	p->taps = cr_calloc(n, sizeof(*p->taps));
	p->http_cameras = cr_calloc(n, sizeof(*p->http_cameras));
	p->status = (struct cr_status_source){ .config = config, .rigs = p->rigs, .http_cameras = p->http_cameras,
					       .start_mono_ns = cr_time_mono_ns() };
	p->control = cr_control_new(p->events);
	ret = ADD(p, control, p->control, 0);
	if (ret == 0) {
		const char *roots[CR_CONFIG_MAX_CAMERAS];

		for (unsigned i = 0; i < n; i++)
			roots[i] = config->cameras[i].recording.root;
		ret = ADD(p, telemetry, p->telemetry, cr_telemetry_new(&config->telemetry, roots, n, p->events,
								      &p->telemetry));
		p->status.telemetry = p->telemetry;
	}
	if (ret == 0)
		ret = start_part(p, p->telemetry);
	for (unsigned i = 0; i < n && ret == 0; i++) {
		ret = start_rig(p, i);
		has_markers = has_markers || p->rigs[i].lsl_markers;
	}
	if (ret == 0 && has_markers) {
		ret = ADD(p, markers, p->markers, cr_markers_new(p->events, p->rigs, n, &p->markers));
		if (ret == 0)
			ret = start_part(p, p->markers);
	}
	if (ret == 0) {
		p->commands = (struct cr_commands){ .config = config, .rigs = p->rigs, .events = p->events,
						    .control = p->control, .status = &p->status };
		cr_commands_register(&p->commands);
	}
	if (ret == 0)
		ret = start_part(p, p->control);
	for (unsigned i = 0; i < n && ret == 0; i++)
		if (p->rigs[i].analysis)
			ret = start_part(p, p->rigs[i].analysis);
	if (ret == 0 && config->ntfy.enabled) {
		ret = ADD(p, ntfy, p->ntfy, cr_ntfy_new(&config->ntfy, p->control, p->events, &p->ntfy));
		p->status.ntfy = p->ntfy;
		if (ret == 0)
			ret = start_part(p, p->ntfy);
	}
	if (ret == 0 && config->mqtt.enabled)
		ret = start_mqtt(p);
	if (ret == 0 && config->gpio.enabled) {
		ret = ADD(p, gpio, p->gpio, cr_gpio_new(&config->gpio, p->control, p->events, &p->gpio));
		if (ret == 0)
			ret = start_part(p, p->gpio);
	}
	if (ret == 0) {
		p->catalog = cr_catalog_new(config);
		p->mcp = cr_mcp_new(config, p->control, &p->status, p->catalog);
		p->page_connect = janus_origins(config);
		p->http_ctx = (struct cr_http_context){ .config = &config->http, .cameras = p->http_cameras, .ncameras = n,
							.control = p->control, .events = p->events, .status = &p->status,
							.catalog = p->catalog, .mcp = mcp_message, .mcp_ctx = p->mcp,
							.page_connect = p->page_connect };
		ret = ADD(p, http_server, p->http, cr_http_server_new(&p->http_ctx, &p->http));
		p->status.http = p->http;
	}
	if (ret == 0)
		ret = start_part(p, p->http);
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

const struct cr_status_source *cr_pipeline_status(struct cr_pipeline *p)
{
	return &p->status;
}

void cr_pipeline_stop(struct cr_pipeline **pp)
{
	struct cr_pipeline *p = *pp;

	if (!p)
		return;
	*pp = NULL;
	if (p->http)
		cr_events_publish(p->events, "stopping", NULL);
	/* Started parts in the reverse order of their starts. */
	for (unsigned seq = p->nstarted; seq > 0; seq--)
		for (unsigned i = 0; i < p->nparts; i++)
			if (p->parts[i].started == seq)
				p->parts[i].stop(p->parts[i].obj);
	for (unsigned i = p->nparts; i-- > 0;)
		p->parts[i].free(p->parts[i].obj);
	cr_catalog_free(&p->catalog);
	cr_mcp_free(&p->mcp);
	free(p->page_connect);
	free(p->http_cameras);
	free(p->taps);
	free(p->rigs);
	cr_events_free(&p->events);
	free(p);
}
