/* The status snapshot's layout, private to the files that render it
 * (status.c: the JSON views and health; metrics.c: Prometheus). Everyone
 * else sees struct cr_status only through status.h. */
#ifndef CR_APP_STATUS_SNAPSHOT_H
#define CR_APP_STATUS_SNAPSHOT_H

#include "analysis/analysis.h"
#include "app/status.h"
#include "base/fanout.h"
#include "control/ntfy.h"
#include "encode/jpeg.h"
#include "encode/video.h"
#include "http/http.h"
#include "lsl/lsl.h"
#include "publish/mqtt.h"
#include "publish/rtsp.h"
#include "publish/tcpstream.h"
#include "publish/upload.h"
#include "record/recorder.h"
#include "record/timelapse.h"
#include "source/camera.h"
#include "telemetry/telemetry.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CONSUMERS_MAX 16

struct camera_status {
	const struct cr_camera_config *config;
	struct cr_camera_stats camera;
	struct cr_subscriber_stats consumers[CONSUMERS_MAX];
	int nconsumers;
	struct cr_camera_control controls[CR_CAMERA_MAX_CONTROLS];
	int ncontrols;
	struct cr_jpeg_params jpeg_params;
	struct cr_jpeg_stage_stats jpeg;
	unsigned stream_clients;             /* /stream.mjpg responses open */
	bool has_recorder;
	struct cr_recorder_stats recorder;
	struct cr_video_encoder_stats encoder;
	bool has_timelapse;
	struct cr_timelapse_stats timelapse;
	bool has_upload;
	struct cr_upload_stats upload;
	bool has_lsl, has_markers;
	struct cr_lsl_stats lsl, markers;
	bool has_tcp;
	struct cr_tcpstream_stats tcp;
	bool has_analysis;
	struct cr_analysis_stats analysis;
	bool has_rtsp, has_webrtc;
	struct cr_rtsp_stats rtsp, webrtc;
};

struct cr_status {
	int64_t utc_us;                      /* when it was taken, µs since the UTC epoch */
	double uptime_s;                     /* s since camrig started */
	struct cr_http_stats http;           /* zero when not serving */
	const char *ntfy_server;             /* NULL: ntfy off */
	struct cr_ntfy_stats ntfy;
	bool has_mqtt;
	struct cr_mqtt_stats mqtt;
	bool has_telemetry;
	struct cr_telemetry_stats telemetry;
	unsigned ncameras;
	struct camera_status cameras[];
};

#ifdef __cplusplus
}
#endif

#endif
