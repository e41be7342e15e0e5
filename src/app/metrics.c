/* GET /metrics: the status snapshot (status_snapshot.h) in Prometheus's
 * text format. */
#include "app/status.h"

#include "app/status_snapshot.h"
#include "base/mem.h"
#include "base/time.h"
#include "camrig-version.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text exposition format, version 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats/): "# HELP",
 * "# TYPE", then the family's samples, each family once. Names follow
 * prometheus.io/docs/practices/naming/: base units in the name, counters
 * end in _total. */

/* A label value with \, " and newline escaped, as the format asks. */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f), fputc(*v, f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample: name{key="value",...} value; labels is NULL-terminated pairs. */
static void sample(FILE *f, const char *name, const char *const *labels, double value)
{
	fputs(name, f);
	for (unsigned i = 0; labels && labels[i]; i += 2) {
		fprintf(f, "%s%s=\"", i ? "," : "{", labels[i]);
		label_value(f, labels[i + 1]);
		fputc('"', f);
	}
	if (labels && labels[0])
		fputc('}', f);
	if (isnan(value))
		fputs(" NaN\n", f);
	else
		fprintf(f, " %.17g\n", value);
}

/* Per camera: one row each, its value read from a camera's status (NAN: no
 * sample for this camera). */
enum cam_metric {
	M_UP, M_CAPTURED, M_POOL_DROPPED, M_LOST_UPSTREAM, M_FPS, M_NOMINAL_FPS, M_RECONNECTS, M_LAST_FRAME,
	M_CLIENTS, M_JPEG_ENCODED, M_JPEG_PASSED, M_JPEG_ERRORS, M_RECORDING, M_REC_BYTES, M_REC_SECONDS,
	M_RECORDINGS, M_REC_QUEUE_DROPPED, M_PRE_SECONDS, M_PRE_BYTES, M_ENC_ACTIVE, M_ENC_FRAMES, M_ENC_PACKETS,
	M_ENC_DROPPED, M_ENC_ERRORS, M_ENC_BITRATE, M_LSL_INLETS, M_LSL_PUSHED, M_LSL_SENT, M_LSL_SKIPPED,
	M_TL_RUNNING, M_TL_SHOTS, M_TL_ERRORS, M_UP_SENT, M_UP_FAILED, M_UP_DROPPED, M_AN_FRAMES, M_AN_ERRORS,
	M_AN_CPU, M_MOTION, M_MOTION_RATIO, M_MOTION_EVENTS, M_LIGHT_SWITCHES, M_FACES, M_FACE_DETECTIONS,
	M_RTSP_UP, M_RTSP_CONNECTS,
	M_RTSP_ERRORS, M_RTSP_BYTES, M_RTSP_SKIPS, M_RTC_UP, M_RTC_CONNECTS, M_RTC_ERRORS, M_RTC_BYTES, M_RTC_SKIPS,
	M_CAM_METRICS
};

static const struct {
	const char *name, *type, *help;
} cam_metrics[M_CAM_METRICS] = {
	[M_UP] = { "camrig_camera_up", "gauge", "1 while the camera delivers frames (state running), else 0." },
	[M_CAPTURED] = { "camrig_frames_captured_total", "counter", "Frames captured and published." },
	[M_POOL_DROPPED] = { "camrig_frames_pool_dropped_total", "counter",
			     "Frames discarded because every pooled frame was in use." },
	[M_LOST_UPSTREAM] = { "camrig_frames_lost_upstream_total", "counter",
			      "Frames lost before camrig: gaps in the driver's sequence numbers." },
	[M_FPS] = { "camrig_camera_fps", "gauge", "Frames per second measured over the last second or so." },
	[M_NOMINAL_FPS] = { "camrig_camera_nominal_fps", "gauge", "The source's nominal frame rate (0: unknown)." },
	[M_RECONNECTS] = { "camrig_camera_reconnects_total", "counter", "Times the source was reopened after a loss." },
	[M_LAST_FRAME] = { "camrig_camera_last_frame_timestamp_seconds", "gauge",
			   "Capture time of the last frame, seconds since the UTC epoch (0: none yet)." },
	[M_CLIENTS] = { "camrig_stream_clients", "gauge", "MJPEG live views open." },
	[M_JPEG_ENCODED] = { "camrig_jpeg_encoded_total", "counter", "Images the JPEG stage encoded." },
	[M_JPEG_PASSED] = { "camrig_jpeg_passed_through_total", "counter", "Camera JPEGs served untouched." },
	[M_JPEG_ERRORS] = { "camrig_jpeg_errors_total", "counter", "Frames the JPEG stage failed to encode." },
	[M_RECORDING] = { "camrig_recording", "gauge", "1 while the camera records, else 0." },
	[M_REC_BYTES] = { "camrig_recording_bytes", "gauge", "Bytes written into the current (or last) file." },
	[M_REC_SECONDS] = { "camrig_recording_seconds", "gauge", "Capture time the current (or last) file covers." },
	[M_RECORDINGS] = { "camrig_recordings_total", "counter", "Recordings started." },
	[M_REC_QUEUE_DROPPED] = { "camrig_recording_queue_dropped_total", "counter",
				  "Packets dropped on the recorder's full queue." },
	[M_PRE_SECONDS] = { "camrig_pretrigger_seconds", "gauge", "Seconds held in the pre-trigger buffer." },
	[M_PRE_BYTES] = { "camrig_pretrigger_bytes", "gauge", "Bytes held in the pre-trigger buffer." },
	[M_ENC_ACTIVE] = { "camrig_encoder_active", "gauge", "1 while the video encoder runs, else 0." },
	[M_ENC_FRAMES] = { "camrig_encoder_frames_total", "counter", "Frames the video encoder took in." },
	[M_ENC_PACKETS] = { "camrig_encoder_packets_total", "counter", "Packets the video encoder put out." },
	[M_ENC_DROPPED] = { "camrig_encoder_dropped_total", "counter", "Frames dropped before the video encoder." },
	[M_ENC_ERRORS] = { "camrig_encoder_errors_total", "counter", "Frames the video encoder failed on." },
	[M_ENC_BITRATE] = { "camrig_encoder_bitrate_bytes_per_second", "gauge",
			    "The video encoder's recent bit rate in bytes per second." },
	[M_LSL_INLETS] = { "camrig_lsl_inlets", "gauge", "LSL inlets receiving samples now." },
	[M_LSL_PUSHED] = { "camrig_lsl_samples_pushed_total", "counter", "LSL samples pushed, one per frame." },
	[M_LSL_SENT] = { "camrig_lsl_samples_sent_total", "counter", "LSL samples handed to inlets, over all inlets." },
	[M_LSL_SKIPPED] = { "camrig_lsl_samples_skipped_total", "counter",
			    "LSL samples an inlet missed because its buffer was full." },
	[M_TL_RUNNING] = { "camrig_timelapse_running", "gauge", "1 while a timelapse session runs, else 0." },
	[M_TL_SHOTS] = { "camrig_timelapse_shots", "gauge", "Stills of the current (or last) timelapse session." },
	[M_TL_ERRORS] = { "camrig_timelapse_errors_total", "counter", "Timelapse stills or videos that failed." },
	[M_UP_SENT] = { "camrig_upload_sent_total", "counter", "Uploads answered 2xx." },
	[M_UP_FAILED] = { "camrig_upload_failed_total", "counter", "Uploads that failed." },
	[M_UP_DROPPED] = { "camrig_upload_dropped_total", "counter", "Images dropped from the full upload queue." },
	[M_AN_FRAMES] = { "camrig_analysis_frames_total", "counter", "Frames the analysis stage analysed." },
	[M_AN_ERRORS] = { "camrig_analysis_errors_total", "counter", "Frames the analysis stage could not analyse." },
	[M_AN_CPU] = { "camrig_analysis_cpu_seconds_per_frame", "gauge",
		       "The analysis thread's CPU time per analysed frame since start." },
	[M_MOTION] = { "camrig_motion_active", "gauge", "1 while a motion event runs, else 0." },
	[M_MOTION_RATIO] = { "camrig_motion_changed_ratio", "gauge",
			     "Fraction (0..1) of the last analysed frame's pixels that changed." },
	[M_MOTION_EVENTS] = { "camrig_motion_events_total", "counter", "Motion events started." },
	[M_LIGHT_SWITCHES] = { "camrig_motion_light_switches_total", "counter",
			       "Analysed frames the light-switch guard took for a global brightness change." },
	[M_FACES] = { "camrig_faces", "gauge", "Faces found by the last face detection." },
	[M_FACE_DETECTIONS] = { "camrig_face_detections_total", "counter", "Face detections run." },
	[M_RTSP_UP] = { "camrig_rtsp_publishing", "gauge", "1 while the media server takes the RTSP stream, else 0." },
	[M_RTSP_CONNECTS] = { "camrig_rtsp_connects_total", "counter", "RTSP sessions the media server accepted." },
	[M_RTSP_ERRORS] = { "camrig_rtsp_connect_errors_total", "counter",
			    "RTSP attempts that failed and sessions that ended in an error." },
	[M_RTSP_BYTES] = { "camrig_rtsp_sent_bytes_total", "counter", "Bytes of H.264 packets sent over RTSP." },
	[M_RTSP_SKIPS] = { "camrig_rtsp_skips_total", "counter",
			   "Times RTSP packets were dropped for a slow server and the stream went on at a keyframe." },
	[M_RTC_UP] = { "camrig_webrtc_publishing", "gauge", "1 while RTP goes to the Janus mountpoint, else 0." },
	[M_RTC_CONNECTS] = { "camrig_webrtc_connects_total", "counter", "RTP sessions to Janus started." },
	[M_RTC_ERRORS] = { "camrig_webrtc_connect_errors_total", "counter",
			   "RTP sessions to Janus that failed or ended in an error." },
	[M_RTC_BYTES] = { "camrig_webrtc_sent_bytes_total", "counter", "Bytes of H.264 packets sent as RTP to Janus." },
	[M_RTC_SKIPS] = { "camrig_webrtc_skips_total", "counter",
			  "Times RTP packets were dropped and the stream went on at a keyframe." },
};

static void camera_values(const struct camera_status *c, double v[M_CAM_METRICS])
{
	const struct cr_camera_stats *cs = &c->camera;

	for (unsigned i = 0; i < M_CAM_METRICS; i++)
		v[i] = NAN;
	v[M_UP] = cs->state == CR_CAMERA_RUNNING;
	v[M_CAPTURED] = (double)cs->frames_captured;
	v[M_POOL_DROPPED] = (double)cs->frames_pool_dropped;
	v[M_LOST_UPSTREAM] = (double)cs->frames_lost_upstream;
	v[M_FPS] = cs->fps_measured;
	v[M_NOMINAL_FPS] = cs->format.fps;
	v[M_RECONNECTS] = (double)cs->reconnects;
	v[M_LAST_FRAME] = cs->last_mono_ns ? (double)cr_time_mono_to_utc_us(cs->last_mono_ns) / 1e6 : 0;
	v[M_CLIENTS] = c->stream_clients;
	v[M_JPEG_ENCODED] = (double)c->jpeg.encoded;
	v[M_JPEG_PASSED] = (double)c->jpeg.passed_through;
	v[M_JPEG_ERRORS] = (double)c->jpeg.errors;
	if (c->has_recorder) {
		v[M_RECORDING] = c->recorder.recording;
		v[M_REC_BYTES] = (double)c->recorder.bytes_written;
		v[M_REC_SECONDS] = c->recorder.file_seconds;
		v[M_RECORDINGS] = (double)c->recorder.recordings;
		v[M_REC_QUEUE_DROPPED] = (double)c->recorder.queue_dropped;
		v[M_PRE_SECONDS] = c->recorder.prebuffer.seconds;
		v[M_PRE_BYTES] = (double)c->recorder.prebuffer.bytes;
		v[M_ENC_ACTIVE] = c->encoder.active;
		v[M_ENC_FRAMES] = (double)c->encoder.frames;
		v[M_ENC_PACKETS] = (double)c->encoder.packets;
		v[M_ENC_DROPPED] = (double)c->encoder.dropped;
		v[M_ENC_ERRORS] = (double)c->encoder.errors;
		v[M_ENC_BITRATE] = c->encoder.bitrate_kbps * 1000 / 8;
	}
	if (c->has_lsl) {
		v[M_LSL_INLETS] = c->lsl.streaming;
		v[M_LSL_PUSHED] = (double)c->lsl.samples_pushed;
		v[M_LSL_SENT] = (double)c->lsl.samples_sent;
		v[M_LSL_SKIPPED] = (double)c->lsl.samples_skipped;
	}
	if (c->has_timelapse) {
		v[M_TL_RUNNING] = c->timelapse.state == CR_TIMELAPSE_RUNNING;
		v[M_TL_SHOTS] = c->timelapse.shots;
		v[M_TL_ERRORS] = (double)c->timelapse.errors;
	}
	if (c->has_upload) {
		v[M_UP_SENT] = (double)c->upload.sent;
		v[M_UP_FAILED] = (double)c->upload.failed;
		v[M_UP_DROPPED] = (double)c->upload.dropped;
	}
	if (c->has_analysis) {
		const struct cr_analysis_stats *a = &c->analysis;

		v[M_AN_FRAMES] = (double)a->analysed;
		v[M_AN_ERRORS] = (double)a->errors;
		v[M_AN_CPU] = a->cpu_ms / 1000;
		if (a->motion_enabled) {
			v[M_MOTION] = a->motion;
			v[M_MOTION_RATIO] = a->fraction / 100;
			v[M_MOTION_EVENTS] = (double)a->motion_events;
			v[M_LIGHT_SWITCHES] = (double)a->light_switches;
		}
		if (a->faces_enabled) {
			v[M_FACES] = a->faces;
			v[M_FACE_DETECTIONS] = (double)a->detections;
		}
	}
	if (c->has_rtsp) {
		v[M_RTSP_UP] = c->rtsp.state == CR_RTSP_PUBLISHING;
		v[M_RTSP_CONNECTS] = (double)c->rtsp.connects;
		v[M_RTSP_ERRORS] = (double)c->rtsp.connect_errors;
		v[M_RTSP_BYTES] = (double)c->rtsp.bytes;
		v[M_RTSP_SKIPS] = (double)c->rtsp.skips;
	}
	if (c->has_webrtc) {
		v[M_RTC_UP] = c->webrtc.state == CR_RTSP_PUBLISHING;
		v[M_RTC_CONNECTS] = (double)c->webrtc.connects;
		v[M_RTC_ERRORS] = (double)c->webrtc.connect_errors;
		v[M_RTC_BYTES] = (double)c->webrtc.bytes;
		v[M_RTC_SKIPS] = (double)c->webrtc.skips;
	}
}

static void camera_metrics(FILE *f, const struct cr_status *st)
{
	double (*values)[M_CAM_METRICS] = cr_calloc(st->ncameras, sizeof(*values));

	for (unsigned i = 0; i < st->ncameras; i++)
		camera_values(&st->cameras[i], values[i]);
	for (unsigned m = 0; m < M_CAM_METRICS; m++) {
		bool any = false;

		for (unsigned i = 0; i < st->ncameras; i++)
			any = any || !isnan(values[i][m]);
		if (!any)
			continue;
		family(f, cam_metrics[m].name, cam_metrics[m].type, cam_metrics[m].help);
		for (unsigned i = 0; i < st->ncameras; i++)
			if (!isnan(values[i][m]))
				sample(f, cam_metrics[m].name, (const char *const[]){ "camera", st->cameras[i].config->name,
						NULL }, values[i][m]);
	}
	free(values);
	/* Per consumer of each camera's frames. */
	family(f, "camrig_frames_delivered_total", "counter", "Frames delivered to a consumer of a camera's frames.");
	for (unsigned i = 0; i < st->ncameras; i++)
		for (int j = 0; j < st->cameras[i].nconsumers; j++)
			sample(f, "camrig_frames_delivered_total", (const char *const[]){ "camera",
				st->cameras[i].config->name, "consumer", st->cameras[i].consumers[j].name, NULL },
				(double)st->cameras[i].consumers[j].delivered);
	family(f, "camrig_frames_dropped_total", "counter",
	       "Frames a consumer of a camera's frames dropped (its queue was full).");
	for (unsigned i = 0; i < st->ncameras; i++)
		for (int j = 0; j < st->cameras[i].nconsumers; j++)
			sample(f, "camrig_frames_dropped_total", (const char *const[]){ "camera",
				st->cameras[i].config->name, "consumer", st->cameras[i].consumers[j].name, NULL },
				(double)st->cameras[i].consumers[j].dropped);
}

static void http_metrics(FILE *f, const struct cr_status *st)
{
	const struct cr_http_stats *h = &st->http;

	family(f, "camrig_http_requests_total", "counter",
	       "Requests answered by camrig's handlers, by status code (code=\"other\": any code not listed).");
	for (unsigned i = 0; i < CR_HTTP_CODES; i++) {
		char code[8];

		snprintf(code, sizeof(code), "%u", cr_http_codes[i]);
		sample(f, "camrig_http_requests_total",
		       (const char *const[]){ "code", cr_http_codes[i] ? code : "other", NULL }, (double)h->replies[i]);
	}
	family(f, "camrig_http_connections", "gauge", "HTTP connections being served (live views and other requests).");
	sample(f, "camrig_http_connections", NULL, h->connections);
	family(f, "camrig_http_live_views", "gauge", "Live views open (MJPEG and event streams).");
	sample(f, "camrig_http_live_views", NULL, h->live_views);
	family(f, "camrig_http_pending_connections", "gauge", "Connections still sending their request.");
	sample(f, "camrig_http_pending_connections", NULL, h->pending);
	family(f, "camrig_http_refused_total", "counter", "Connections refused with a 503 for a limit.");
	sample(f, "camrig_http_refused_total", NULL, (double)h->refused);
	family(f, "camrig_http_evicted_total", "counter", "Pending connections closed for a newer one.");
	sample(f, "camrig_http_evicted_total", NULL, (double)h->evicted);
	family(f, "camrig_http_timed_out_total", "counter",
	       "Connections closed for not sending their request within http.header_timeout.");
	sample(f, "camrig_http_timed_out_total", NULL, (double)h->timed_out);
	family(f, "camrig_http_password_checks_total", "counter",
	       "HTTP Basic passwords checked against a crypt(3) hash (known user name or not).");
	sample(f, "camrig_http_password_checks_total", NULL, (double)h->password_checks);
}

static void host_metrics(FILE *f, const struct cr_status *st)
{
	static const char *const flags[] = { "under_voltage", "frequency_capped", "throttled", "soft_temp_limit" };
	const struct cr_host_stats *h = &st->telemetry.host;

	if (!st->has_telemetry || !h->sampled)
		return;
	family(f, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
	sample(f, "process_cpu_seconds_total", NULL, h->process_cpu_seconds);
	family(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	sample(f, "process_resident_memory_bytes", NULL, (double)h->rss_bytes);
	family(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
	sample(f, "process_virtual_memory_bytes", NULL, (double)h->vsize_bytes);
	family(f, "process_open_fds", "gauge", "Number of open file descriptors.");
	sample(f, "process_open_fds", NULL, h->open_fds);
	family(f, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
	sample(f, "process_max_fds", NULL, (double)h->max_fds);
	family(f, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
	sample(f, "process_start_time_seconds", NULL, h->start_time_unix);
	family(f, "camrig_process_threads", "gauge", "Threads of the camrig process.");
	sample(f, "camrig_process_threads", NULL, h->threads);
	if (h->cpu_percent >= 0) {
		family(f, "camrig_host_cpu_usage_ratio", "gauge", "Share of all CPUs' time busy since the last sample, 0..1.");
		sample(f, "camrig_host_cpu_usage_ratio", NULL, h->cpu_percent / 100);
	}
	family(f, "camrig_host_cpus", "gauge", "Online CPUs.");
	sample(f, "camrig_host_cpus", NULL, h->cpus);
	family(f, "camrig_host_load1", "gauge", "Load average over 1 minute.");
	sample(f, "camrig_host_load1", NULL, h->load[0]);
	family(f, "camrig_host_load5", "gauge", "Load average over 5 minutes.");
	sample(f, "camrig_host_load5", NULL, h->load[1]);
	family(f, "camrig_host_load15", "gauge", "Load average over 15 minutes.");
	sample(f, "camrig_host_load15", NULL, h->load[2]);
	family(f, "camrig_host_memory_total_bytes", "gauge", "Memory of the host.");
	sample(f, "camrig_host_memory_total_bytes", NULL, (double)h->mem_total_bytes);
	family(f, "camrig_host_memory_available_bytes", "gauge", "Memory available for starting new programs.");
	sample(f, "camrig_host_memory_available_bytes", NULL, (double)h->mem_available_bytes);
	family(f, "camrig_host_disk_free_bytes", "gauge", "Free space camrig may use under a recording root.");
	for (unsigned i = 0; i < h->ndisks; i++)
		if (!h->disks[i].error)
			sample(f, "camrig_host_disk_free_bytes", (const char *const[]){ "path", h->disks[i].path, NULL },
			       (double)h->disks[i].free_bytes);
	family(f, "camrig_host_disk_size_bytes", "gauge", "Size of the file system of a recording root.");
	for (unsigned i = 0; i < h->ndisks; i++)
		if (!h->disks[i].error)
			sample(f, "camrig_host_disk_size_bytes", (const char *const[]){ "path", h->disks[i].path, NULL },
			       (double)h->disks[i].total_bytes);
	if (h->nthermal) {
		family(f, "camrig_host_temperature_celsius", "gauge", "Temperature of a thermal zone.");
		for (unsigned i = 0; i < h->nthermal; i++)
			sample(f, "camrig_host_temperature_celsius", (const char *const[]){ "zone", h->thermal[i].zone,
					"type", h->thermal[i].type, NULL }, h->thermal[i].celsius);
	}
	if (h->has_throttled) {
		family(f, "camrig_host_throttled", "gauge",
		       "A Raspberry Pi firmware's throttling flag: 1 now (since=\"now\") or since boot (since=\"boot\").");
		for (unsigned i = 0; i < CR_ARRAY_SIZE(flags); i++) {
			sample(f, "camrig_host_throttled", (const char *const[]){ "flag", flags[i], "since", "now", NULL },
			       (h->throttled >> i) & 1);
			sample(f, "camrig_host_throttled", (const char *const[]){ "flag", flags[i], "since", "boot", NULL },
			       (h->throttled >> (16 + i)) & 1);
		}
	}
}

static void sensor_metrics(FILE *f, const struct cr_status *st)
{
	const struct cr_telemetry_stats *t = &st->telemetry;
	char name[96];

	if (!st->has_telemetry || t->nsensors == 0)
		return;
	/* One family per unit (camrig_sensor_celsius, ..._percent): a unit
	 * belongs in the name. A sensor whose last read failed has no sample. */
	for (unsigned i = 0; i < t->nsensors; i++) {
		const char *unit = t->sensors[i].unit ? t->sensors[i].unit : "";
		bool first = true;

		for (unsigned j = 0; j < i && first; j++)
			first = strcmp(t->sensors[j].unit ? t->sensors[j].unit : "", unit) != 0;
		if (!first)
			continue;
		snprintf(name, sizeof(name), "camrig_sensor_%s", *unit ? unit : "value");
		family(f, name, "gauge", "The latest reading of a sensor (the sensors list) in the unit the name says.");
		for (unsigned j = i; j < t->nsensors; j++) {
			const struct cr_sensor_reading *r = &t->sensors[j];

			if (strcmp(r->unit ? r->unit : "", unit) == 0 && r->valid && !r->failing)
				sample(f, name, (const char *const[]){ "sensor", r->spec.name, "device", r->spec.device,
						"channel", r->spec.channel, NULL }, r->value);
		}
	}
	family(f, "camrig_sensor_up", "gauge", "1 when a sensor's last read worked, else 0.");
	for (unsigned i = 0; i < t->nsensors; i++)
		sample(f, "camrig_sensor_up", (const char *const[]){ "sensor", t->sensors[i].spec.name, NULL },
		       t->sensors[i].valid && !t->sensors[i].failing);
	family(f, "camrig_sensor_reads_total", "counter", "Reads of a sensor that worked.");
	for (unsigned i = 0; i < t->nsensors; i++)
		sample(f, "camrig_sensor_reads_total", (const char *const[]){ "sensor", t->sensors[i].spec.name, NULL },
		       (double)t->sensors[i].reads);
	family(f, "camrig_sensor_read_errors_total", "counter", "Reads of a sensor that failed.");
	for (unsigned i = 0; i < t->nsensors; i++)
		sample(f, "camrig_sensor_read_errors_total", (const char *const[]){ "sensor", t->sensors[i].spec.name,
				NULL }, (double)t->sensors[i].errors);
}

char *cr_status_metrics(const struct cr_status *st, size_t *len)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		abort();
	family(f, "camrig_info", "gauge", "camrig's version; always 1.");
	sample(f, "camrig_info", (const char *const[]){ "version", CAMRIG_VERSION, NULL }, 1);
	family(f, "camrig_uptime_seconds", "gauge", "Seconds since camrig started.");
	sample(f, "camrig_uptime_seconds", NULL, st->uptime_s);
	camera_metrics(f, st);
	http_metrics(f, st);
	if (st->ntfy_server) {
		family(f, "camrig_ntfy_connected", "gauge", "1 while the ntfy subscription is open, else 0.");
		sample(f, "camrig_ntfy_connected", NULL, st->ntfy.connected);
		family(f, "camrig_ntfy_messages_run_total", "counter", "ntfy messages run as commands.");
		sample(f, "camrig_ntfy_messages_run_total", NULL, (double)st->ntfy.messages_run);
		family(f, "camrig_ntfy_published_total", "counter", "ntfy replies and notifications the server accepted.");
		sample(f, "camrig_ntfy_published_total", NULL, (double)st->ntfy.published);
		family(f, "camrig_ntfy_publish_errors_total", "counter", "ntfy publishes that failed.");
		sample(f, "camrig_ntfy_publish_errors_total", NULL, (double)st->ntfy.publish_errors);
	}
	if (st->has_mqtt) {
		family(f, "camrig_mqtt_connected", "gauge", "1 while the MQTT broker holds camrig's connection, else 0.");
		sample(f, "camrig_mqtt_connected", NULL, st->mqtt.connected);
		family(f, "camrig_mqtt_connect_errors_total", "counter",
		       "MQTT connection attempts that failed and connections lost.");
		sample(f, "camrig_mqtt_connect_errors_total", NULL, (double)st->mqtt.connect_errors);
		family(f, "camrig_mqtt_commands_run_total", "counter", "MQTT command messages run.");
		sample(f, "camrig_mqtt_commands_run_total", NULL, (double)st->mqtt.commands_run);
		family(f, "camrig_mqtt_published_total", "counter", "MQTT messages handed to the connection.");
		sample(f, "camrig_mqtt_published_total", NULL, (double)st->mqtt.published);
		family(f, "camrig_mqtt_dropped_total", "counter",
		       "MQTT messages not published (disconnected, or too many waiting).");
		sample(f, "camrig_mqtt_dropped_total", NULL, (double)st->mqtt.dropped);
	}
	host_metrics(f, st);
	sensor_metrics(f, st);
	fclose(f);
	*len = size;
	return text;
}
