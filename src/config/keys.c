/* The key table (config.c's design): every key of data/camrig.yaml and the
 * command line, with its parse function, its field and what a good value
 * looks like, and the keys camrig no longer has. */
#include "config/internal.h"

#include "base/fourcc.h"
#include "base/fs.h"
#include "base/mem.h"
#include "config/sources.h"

#include <stddef.h>
#include <string.h>

#define TOP(f) offsetof(struct cr_config, f)
#define CAM(f) offsetof(struct cr_camera_config, f)
#define BOOL_EXPECTED "true or false"
#define SIZE_EXPECTED "WIDTHxHEIGHT in pixels, e.g. 640x480"

static const struct key crop_keys[] = {
	{ .name = "left", .parse = cr_config_parse_int, .offset = CAM(crop.left), .max = PIXELS_MAX },
	{ .name = "top", .parse = cr_config_parse_int, .offset = CAM(crop.top), .max = PIXELS_MAX },
	{ .name = "width", .parse = cr_config_parse_int, .offset = CAM(crop.width), .max = PIXELS_MAX },
	{ .name = "height", .parse = cr_config_parse_int, .offset = CAM(crop.height), .max = PIXELS_MAX },
	{ 0 },
};

static const struct key sensor_crop_keys[] = {
	{ .name = "left", .parse = cr_config_parse_int, .offset = CAM(sensor.crop.left), .max = PIXELS_MAX },
	{ .name = "top", .parse = cr_config_parse_int, .offset = CAM(sensor.crop.top), .max = PIXELS_MAX },
	{ .name = "width", .parse = cr_config_parse_int, .offset = CAM(sensor.crop.width), .max = PIXELS_MAX },
	{ .name = "height", .parse = cr_config_parse_int, .offset = CAM(sensor.crop.height), .max = PIXELS_MAX },
	{ 0 },
};

static const struct key sensor_keys[] = {
	{ .name = "entity", .parse = cr_config_parse_text, .offset = CAM(sensor.entity),
	  .expected = "auto, or the sensor's media entity name as media-ctl -p prints it, e.g. imx296" },
	{ .name = "format", .parse = cr_config_parse_format, .offset = CAM(sensor.format) },
	{ .name = "size", .parse = cr_config_parse_size_key, .offset = CAM(sensor.width), .offset2 = CAM(sensor.height),
	  .expected = SIZE_EXPECTED },
	{ .name = "crop", .type = KEY_MAPPING, .sub = sensor_crop_keys },
	{ .name = "controls", .type = KEY_MAP, .offset = CAM(sensor.controls), .offset2 = CAM(sensor.ncontrols),
	  .expected = "a mapping of the sensor sub-device's control names to values (v4l2-ctl -d /dev/v4l-subdevN -L)" },
	{ 0 },
};

static const struct key jpeg_keys[] = {
	{ .name = "quality", .parse = cr_config_parse_int, .offset = CAM(jpeg.quality), .min = 1, .max = 100 },
	{ .name = "gray", .parse = cr_config_parse_bool, .offset = CAM(jpeg.gray), .expected = BOOL_EXPECTED },
	{ .name = "size", .parse = cr_config_parse_size_key, .offset = CAM(jpeg.width), .offset2 = CAM(jpeg.height),
	  .expected = SIZE_EXPECTED },
	{ .name = "workers", .parse = cr_config_parse_int, .offset = CAM(jpeg.workers), .max = 64 },
	{ 0 },
};

static const struct key lsl_keys[] = {
	{ .name = "enabled", .parse = cr_config_parse_bool, .offset = CAM(lsl.enabled), .expected = BOOL_EXPECTED },
	{ .name = "name", .parse = cr_config_parse_text, .offset = CAM(lsl.name),
	  .expected = "1 to 255 printable characters" },
	{ .name = "type", .parse = cr_config_parse_text, .offset = CAM(lsl.type),
	  .expected = "1 to 255 printable characters" },
	{ .name = "markers", .parse = cr_config_parse_bool, .offset = CAM(lsl.markers), .expected = BOOL_EXPECTED },
	{ .name = "interfaces", .parse = cr_config_parse_interfaces, .offset = CAM(lsl.interfaces), .list = true,
	  .expected = "a list of network interface names, e.g. [lo] or [lo, eth0]" },
	{ 0 },
};

#define WORD_EXPECTED "1 to 63 letters, digits, '_' or '-'"

static const struct key recording_keys[] = {
	{ .name = "codec", .parse = cr_config_parse_word, .offset = CAM(recording.codec),
	  .expected = "copy, mjpeg, h264, h265, ffv1 or a libavcodec encoder name, e.g. h264_v4l2m2m" },
	{ .name = "format", .parse = cr_config_parse_choice, .offset = CAM(recording.format),
	  .choices = (const char *const[]){ "mkv", "mp4", NULL }, .what = "a container format" },
	{ .name = "root", .parse = cr_config_parse_path, .offset = CAM(recording.root),
	  .expected = "a directory path" },
	{ .name = "filename", .parse = cr_config_parse_name_template, .offset = CAM(recording.filename),
	  .expected = CR_FS_NAME_EXPECTED },
	{ .name = "snapshot_filename", .parse = cr_config_parse_name_template,
	  .offset = CAM(recording.snapshot_filename), .expected = CR_FS_NAME_EXPECTED },
	{ .name = "timezone", .parse = cr_config_parse_choice, .offset = CAM(recording.timezone),
	  .choices = (const char *const[]){ "utc", "local", NULL }, .what = "utc or local" },
	{ .name = "pre_trigger", .parse = cr_config_parse_fps, .offset = CAM(recording.pre_trigger), .max = 3600 },
	{ .name = "segment", .parse = cr_config_parse_int, .offset = CAM(recording.segment), .max = 86400 },
	{ .name = "split", .parse = cr_config_parse_choice, .offset = CAM(recording.split),
	  .choices = (const char *const[]){ "trigger", "session", NULL }, .what = "trigger or session" },
	{ .name = "resume", .parse = cr_config_parse_bool, .offset = CAM(recording.resume), .expected = BOOL_EXPECTED },
	{ .name = "min_free_mb", .parse = cr_config_parse_int, .offset = CAM(recording.min_free_mb), .max = 1048576 },
	{ .name = "preset", .parse = cr_config_parse_word, .offset = CAM(recording.preset), .expected = WORD_EXPECTED },
	{ .name = "crf", .parse = cr_config_parse_int, .offset = CAM(recording.crf), .min = -1, .max = 63 },
	{ .name = "qp", .parse = cr_config_parse_int, .offset = CAM(recording.qp), .min = -1, .max = 69 },
	{ .name = "quality", .parse = cr_config_parse_int, .offset = CAM(recording.quality), .min = 1, .max = 100 },
	{ .name = "bitrate", .parse = cr_config_parse_int, .offset = CAM(recording.bitrate), .max = 1000000 },
	{ .name = "gop", .parse = cr_config_parse_fps, .offset = CAM(recording.gop), .max = 60 },
	{ .name = "gray", .parse = cr_config_parse_bool, .offset = CAM(recording.gray), .expected = BOOL_EXPECTED },
	{ .name = "zerolatency", .parse = cr_config_parse_bool, .offset = CAM(recording.zerolatency),
	  .expected = BOOL_EXPECTED },
	{ .name = "lookahead_mb", .parse = cr_config_parse_int, .offset = CAM(recording.lookahead_mb), .max = 65536 },
	{ .name = "queue_depth", .parse = cr_config_parse_int, .offset = CAM(recording.queue_depth), .min = 1,
	  .max = 1024 },
	{ .name = "queue_mb", .parse = cr_config_parse_int, .offset = CAM(recording.queue_mb), .min = 1, .max = 4096 },
	{ .name = "pre_trigger_max_mb", .parse = cr_config_parse_int, .offset = CAM(recording.pre_trigger_max_mb),
	  .min = 1, .max = 65536 },
	{ .name = "overlay", .parse = cr_config_parse_bool, .offset = CAM(recording.overlay),
	  .expected = BOOL_EXPECTED },
	{ 0 },
};

static const struct key timelapse_keys[] = {
	{ .name = "interval", .parse = cr_config_parse_fps, .offset = CAM(timelapse.interval), .max = 86400 },
	{ .name = "fps", .parse = cr_config_parse_fps, .offset = CAM(timelapse.fps), .min = 1, .max = 240 },
	{ .name = "quality", .parse = cr_config_parse_int, .offset = CAM(timelapse.quality), .min = 1, .max = 100 },
	{ .name = "photos_root", .parse = cr_config_parse_path, .offset = CAM(timelapse.photos_root),
	  .expected = "a directory path" },
	{ .name = "videos_root", .parse = cr_config_parse_path, .offset = CAM(timelapse.videos_root),
	  .expected = "a directory path" },
	{ .name = "session_name", .parse = cr_config_parse_name_template, .offset = CAM(timelapse.session_name),
	  .expected = "one name (no '/') of strftime fields, {camera} and {n}, e.g. {camera}_%Y_%m_%d_%H_%M_%S" },
	{ .name = "timezone", .parse = cr_config_parse_choice, .offset = CAM(timelapse.timezone),
	  .choices = (const char *const[]){ "utc", "local", NULL }, .what = "utc or local" },
	{ .name = "resume", .parse = cr_config_parse_bool, .offset = CAM(timelapse.resume), .expected = BOOL_EXPECTED },
	{ .name = "preset", .parse = cr_config_parse_word, .offset = CAM(timelapse.preset), .expected = WORD_EXPECTED },
	{ .name = "crf", .parse = cr_config_parse_int, .offset = CAM(timelapse.crf), .max = 51 },
	{ 0 },
};

static const struct key tcp_stream_keys[] = {
	{ .name = "enabled", .parse = cr_config_parse_bool, .offset = CAM(tcp_stream.enabled),
	  .expected = BOOL_EXPECTED },
	{ .name = "listen", .parse = cr_config_parse_listen, .offset = CAM(tcp_stream.listen),
	  .expected = "HOST:PORT with PORT 0..65535, e.g. 127.0.0.1:10001 or [::1]:10001" },
	{ .name = "max_clients", .parse = cr_config_parse_uint, .offset = CAM(tcp_stream.max_clients), .min = 1,
	  .max = 256 },
	{ 0 },
};

static const struct key rtsp_keys[] = {
	{ .name = "enabled", .parse = cr_config_parse_bool, .offset = CAM(rtsp.enabled), .expected = BOOL_EXPECTED },
	{ .name = "url", .parse = cr_config_parse_rtsp_url, .offset = CAM(rtsp.url),
	  .expected = "rtsp://HOST[:PORT]/PATH or rtsps://..., without credentials, e.g. rtsp://mediamtx.lan:8554/door" },
	{ .name = "username", .parse = cr_config_parse_text, .offset = CAM(rtsp.username),
	  .expected = "1 to 255 printable characters" },
	{ .name = "password_file", .parse = cr_config_parse_path, .offset = CAM(rtsp.password_file),
	  .expected = "a file path" },
	{ .name = "bitrate", .parse = cr_config_parse_int, .offset = CAM(rtsp.bitrate), .max = 1000000 },
	{ .name = "gop", .parse = cr_config_parse_fps, .offset = CAM(rtsp.gop), .max = 60 },
	{ 0 },
};

static const struct key webrtc_keys[] = {
	{ .name = "enabled", .parse = cr_config_parse_bool, .offset = CAM(webrtc.enabled), .expected = BOOL_EXPECTED },
	{ .name = "rtp", .parse = cr_config_parse_broker, .offset = CAM(webrtc.rtp),
	  .expected = "HOST:PORT of the mountpoint's video port, e.g. 127.0.0.1:5004" },
	{ .name = "janus", .parse = cr_config_parse_url, .offset = CAM(webrtc.janus),
	  .expected = "an http:// or https:// URL of Janus's HTTP API, e.g. http://janus.lan:8088/janus" },
	{ .name = "mountpoint", .parse = cr_config_parse_uint, .offset = CAM(webrtc.mountpoint), .min = 1,
	  .max = 2147483647 },
	{ .name = "bitrate", .parse = cr_config_parse_int, .offset = CAM(webrtc.bitrate), .max = 1000000 },
	{ .name = "gop", .parse = cr_config_parse_fps, .offset = CAM(webrtc.gop), .max = 60 },
	{ 0 },
};

static const struct key upload_keys[] = {
	{ .name = "enabled", .parse = cr_config_parse_bool, .offset = CAM(upload.enabled), .expected = BOOL_EXPECTED },
	{ .name = "url", .parse = cr_config_parse_post_url, .offset = CAM(upload.url),
	  .expected = "an http:// or https:// URL, e.g. https://example.com/upload" },
	{ .name = "interval_ms", .parse = cr_config_parse_int, .offset = CAM(upload.interval_ms), .min = 50,
	  .max = 86400000 },
	{ .name = "field", .parse = cr_config_parse_word, .offset = CAM(upload.field), .expected = WORD_EXPECTED },
	{ .name = "fields", .type = KEY_MAP, .offset = CAM(upload.fields), .offset2 = CAM(upload.nfields),
	  .expected = "a mapping of form field names to values" },
	{ .name = "headers", .type = KEY_MAP, .offset = CAM(upload.headers), .offset2 = CAM(upload.nheaders),
	  .expected = "a mapping of header names to values, e.g. Authorization: Bearer TOKEN" },
	{ .name = "timeout_ms", .parse = cr_config_parse_int, .offset = CAM(upload.timeout_ms), .min = 100,
	  .max = 600000 },
	{ .name = "queue", .parse = cr_config_parse_int, .offset = CAM(upload.queue), .min = 1, .max = 64 },
	{ 0 },
};

static const struct key motion_keys[] = {
	{ .name = "enabled", .parse = cr_config_parse_bool, .offset = CAM(analysis.motion.enabled),
	  .expected = BOOL_EXPECTED },
	{ .name = "threshold", .parse = cr_config_parse_fps, .offset = CAM(analysis.motion.threshold), .max = 100 },
	{ .name = "min_area", .parse = cr_config_parse_int, .offset = CAM(analysis.motion.min_area),
	  .max = 100000000 },
	{ .name = "light_switch", .parse = cr_config_parse_fps, .offset = CAM(analysis.motion.light_switch),
	  .max = 100 },
	{ .name = "event_gap", .parse = cr_config_parse_fps, .offset = CAM(analysis.motion.event_gap), .max = 3600 },
	{ .name = "post_capture", .parse = cr_config_parse_fps, .offset = CAM(analysis.motion.post_capture),
	  .max = 3600 },
	{ .name = "record", .parse = cr_config_parse_bool, .offset = CAM(analysis.motion.record),
	  .expected = BOOL_EXPECTED },
	{ .name = "snapshot", .parse = cr_config_parse_bool, .offset = CAM(analysis.motion.snapshot),
	  .expected = BOOL_EXPECTED },
	{ .name = "zones", .type = KEY_MAP, .offset = CAM(analysis.motion.zones), .offset2 = CAM(analysis.motion.nzones),
	  .expected = "a mapping of zone names to zones, e.g. door: \"exclude 0,0 200x120\"" },
	{ 0 },
};

static const struct key faces_keys[] = {
	{ .name = "enabled", .parse = cr_config_parse_bool, .offset = CAM(analysis.faces.enabled),
	  .expected = BOOL_EXPECTED },
	{ .name = "model", .parse = cr_config_parse_path, .offset = CAM(analysis.faces.model),
	  .expected = "the path of an OpenCV cascade XML file" },
	{ .name = "largest_only", .parse = cr_config_parse_bool, .offset = CAM(analysis.faces.largest_only),
	  .expected = BOOL_EXPECTED },
	{ .name = "min_size", .parse = cr_config_parse_int, .offset = CAM(analysis.faces.min_size), .min = 8,
	  .max = PIXELS_MAX },
	{ .name = "every", .parse = cr_config_parse_fps, .offset = CAM(analysis.faces.every), .max = 3600 },
	{ 0 },
};

static const struct key analysis_keys[] = {
	{ .name = "fps", .parse = cr_config_parse_fps, .offset = CAM(analysis.fps), .max = 240 },
	{ .name = "width", .parse = cr_config_parse_int, .offset = CAM(analysis.width), .min = 32, .max = 4096 },
	{ .name = "overlay", .parse = cr_config_parse_bool, .offset = CAM(analysis.overlay), .expected = BOOL_EXPECTED },
	{ .name = "timestamp", .parse = cr_config_parse_bool, .offset = CAM(analysis.timestamp),
	  .expected = BOOL_EXPECTED },
	{ .name = "motion", .type = KEY_MAPPING, .sub = motion_keys },
	{ .name = "faces", .type = KEY_MAPPING, .sub = faces_keys },
	{ 0 },
};

const struct key cr_config_camera_keys[] = {
	{ .name = "name", .parse = cr_config_parse_name, .offset = CAM(name),
	  .expected = "1 to 64 letters, digits, '-', '_' or '.'" },
	{ .name = "source", .parse = cr_config_parse_source, .offset = CAM(source) },
	{ .name = "size", .parse = cr_config_parse_size_key, .offset = CAM(width), .offset2 = CAM(height),
	  .expected = SIZE_EXPECTED },
	{ .name = "fps", .parse = cr_config_parse_fps, .offset = CAM(fps), .max = 1000 },
	{ .name = "format", .parse = cr_config_parse_format, .offset = CAM(format) },
	{ .name = "loop", .parse = cr_config_parse_bool, .offset = CAM(loop), .expected = BOOL_EXPECTED },
	{ .name = "buffers", .parse = cr_config_parse_uint, .offset = CAM(buffers), .min = 2, .max = 32 },
	{ .name = "crop", .type = KEY_MAPPING, .sub = crop_keys },
	{ .name = "controls", .type = KEY_CONTROLS },
	{ .name = "jpeg", .type = KEY_MAPPING, .sub = jpeg_keys },
	{ .name = "lsl", .type = KEY_MAPPING, .sub = lsl_keys },
	{ .name = "recording", .type = KEY_MAPPING, .sub = recording_keys },
	{ .name = "timelapse", .type = KEY_MAPPING, .sub = timelapse_keys },
	{ .name = "upload", .type = KEY_MAPPING, .sub = upload_keys },
	{ .name = "tcp_stream", .type = KEY_MAPPING, .sub = tcp_stream_keys },
	{ .name = "sensor", .type = KEY_MAPPING, .sub = sensor_keys },
	{ .name = "analysis", .type = KEY_MAPPING, .sub = analysis_keys },
	{ .name = "rtsp", .type = KEY_MAPPING, .sub = rtsp_keys },
	{ .name = "webrtc", .type = KEY_MAPPING, .sub = webrtc_keys },
	{ 0 },
};

static const struct key http_keys[] = {
	{ .name = "listen", .parse = cr_config_parse_listen, .offset = TOP(http.listen),
	  .expected = "HOST:PORT with PORT 0..65535, e.g. 127.0.0.1:8080 or [::1]:8080" },
	{ .name = "header_timeout", .parse = cr_config_parse_uint, .offset = TOP(http.header_timeout), .min = 1,
	  .max = 300 },
	{ .name = "max_pending", .parse = cr_config_parse_uint, .offset = TOP(http.max_pending), .min = 1,
	  .max = 65536 },
	{ .name = "max_stream_clients", .parse = cr_config_parse_uint, .offset = TOP(http.max_stream_clients),
	  .min = 1, .max = 16384 },
	{ .name = "max_api_clients", .parse = cr_config_parse_uint, .offset = TOP(http.max_api_clients), .min = 1,
	  .max = 16384 },
	{ .name = "max_clients_per_ip", .parse = cr_config_parse_uint, .offset = TOP(http.max_clients_per_ip),
	  .min = 1, .max = 16384 },
	{ .name = "auth", .parse = cr_config_parse_choice, .offset = TOP(http.auth),
	  .choices = (const char *const[]){ "auto", "none", NULL }, .what = "an authentication mode" },
	{ .name = "password_file", .parse = cr_config_parse_path, .offset = TOP(http.password_file),
	  .expected = "a file path" },
	{ .name = "token_file", .parse = cr_config_parse_path, .offset = TOP(http.token_file),
	  .expected = "a file path" },
	{ .name = "tls_cert", .parse = cr_config_parse_path, .offset = TOP(http.tls_cert),
	  .expected = "a PEM file path" },
	{ .name = "tls_key", .parse = cr_config_parse_path, .offset = TOP(http.tls_key),
	  .expected = "a PEM file path" },
	{ .name = "hostnames", .parse = cr_config_parse_hostnames, .offset = TOP(http.hostnames), .list = true,
	  .expected = "a list of host names, e.g. [camrig.example.org, \"*.lab.example.org\"]" },
	{ .name = "cors_origins", .parse = cr_config_parse_origins, .offset = TOP(http.cors_origins), .list = true,
	  .expected = "a list of origins SCHEME://HOST[:PORT], e.g. [https://dashboard.example.org]" },
	{ 0 },
};

#define NTFY_EVENTS "ready, recording_started, recording_finished, error, camera_lost, camera_found, motion_start"

static const struct key ntfy_keys[] = {
	{ .name = "enabled", .parse = cr_config_parse_bool, .offset = TOP(ntfy.enabled), .expected = BOOL_EXPECTED },
	{ .name = "server", .parse = cr_config_parse_url, .offset = TOP(ntfy.server),
	  .expected = "an http:// or https:// URL, e.g. https://ntfy.sh" },
	{ .name = "topic", .parse = cr_config_parse_topic, .offset = TOP(ntfy.topic), .expected = CR_CONFIG_TOPIC_EXPECTED },
	{ .name = "reply_topic", .parse = cr_config_parse_topic, .offset = TOP(ntfy.reply_topic),
	  .expected = CR_CONFIG_TOPIC_EXPECTED },
	{ .name = "token", .parse = cr_config_parse_token, .offset = TOP(ntfy.token),
	  .expected = "1 to 512 printable characters without spaces" },
	{ .name = "token_file", .parse = cr_config_parse_path, .offset = TOP(ntfy.token_file),
	  .expected = "a file path" },
	{ .name = "priority", .parse = cr_config_parse_int, .offset = TOP(ntfy.priority), .min = 1, .max = 5 },
	{ .name = "alert_priority", .parse = cr_config_parse_int, .offset = TOP(ntfy.alert_priority), .min = 1,
	  .max = 5 },
	{ .name = "events", .parse = cr_config_parse_event_list, .offset = TOP(ntfy.events),
	  .expected = "none, or a comma-separated list of: " NTFY_EVENTS },
	{ 0 },
};

static const struct key gpio_led_keys[] = {
	{ .name = "idle", .parse = cr_config_parse_int, .offset = TOP(gpio.led_idle), .min = -1, .max = 4095 },
	{ .name = "recording", .parse = cr_config_parse_int, .offset = TOP(gpio.led_recording), .min = -1,
	  .max = 4095 },
	{ .name = "paused", .parse = cr_config_parse_int, .offset = TOP(gpio.led_paused), .min = -1, .max = 4095 },
	{ 0 },
};

static const struct key gpio_keys[] = {
	{ .name = "enabled", .parse = cr_config_parse_bool, .offset = TOP(gpio.enabled), .expected = BOOL_EXPECTED },
	{ .name = "chip", .parse = cr_config_parse_path, .offset = TOP(gpio.chip),
	  .expected = "a GPIO chip name, path, label or number, e.g. gpiochip0" },
	{ .name = "button", .parse = cr_config_parse_int, .offset = TOP(gpio.button), .min = -1, .max = 4095 },
	{ .name = "active_low", .parse = cr_config_parse_bool, .offset = TOP(gpio.active_low),
	  .expected = BOOL_EXPECTED },
	{ .name = "bias", .parse = cr_config_parse_choice, .offset = TOP(gpio.bias),
	  .choices = (const char *const[]){ "as-is", "pull-up", "pull-down", "disable", NULL }, .what = "a bias" },
	{ .name = "debounce_ms", .parse = cr_config_parse_int, .offset = TOP(gpio.debounce_ms), .min = 1, .max = 1000 },
	{ .name = "click_gap_ms", .parse = cr_config_parse_int, .offset = TOP(gpio.click_gap_ms), .min = 100,
	  .max = 5000 },
	{ .name = "preset", .parse = cr_config_parse_word, .offset = TOP(gpio.preset),
	  .expected = "the name of a click map preset, e.g. timelapse" },
	{ .name = "clicks", .type = KEY_MAP, .offset = TOP(gpio.clicks), .offset2 = TOP(gpio.nclicks),
	  .expected = "a mapping of click counts to rules, e.g. "
		      "3: \"timelapse start; while timelapse: timelapse stop\"" },
	{ .name = "leds", .type = KEY_MAPPING, .sub = gpio_led_keys },
	{ 0 },
};

#define MQTT_TOPIC_EXPECTED "an MQTT topic without wildcards (+, #), empty levels or spaces, e.g. camrig/{host}"

static const struct key mqtt_keys[] = {
	{ .name = "enabled", .parse = cr_config_parse_bool, .offset = TOP(mqtt.enabled), .expected = BOOL_EXPECTED },
	{ .name = "broker", .parse = cr_config_parse_broker, .offset = TOP(mqtt.broker),
	  .expected = "HOST:PORT, e.g. 127.0.0.1:1883 or broker.lan:8883" },
	{ .name = "tls", .parse = cr_config_parse_bool, .offset = TOP(mqtt.tls), .expected = BOOL_EXPECTED },
	{ .name = "ca_file", .parse = cr_config_parse_path, .offset = TOP(mqtt.ca_file),
	  .expected = "a PEM file path" },
	{ .name = "cert_file", .parse = cr_config_parse_path, .offset = TOP(mqtt.cert_file),
	  .expected = "a PEM file path" },
	{ .name = "key_file", .parse = cr_config_parse_path, .offset = TOP(mqtt.key_file),
	  .expected = "a PEM file path" },
	{ .name = "username", .parse = cr_config_parse_text, .offset = TOP(mqtt.username),
	  .expected = "1 to 255 printable characters" },
	{ .name = "password_file", .parse = cr_config_parse_path, .offset = TOP(mqtt.password_file),
	  .expected = "a file path" },
	{ .name = "client_id", .parse = cr_config_parse_client_id, .offset = TOP(mqtt.client_id),
	  .expected = "1 to 64 letters, digits, '_', '-' or {host}" },
	{ .name = "base_topic", .parse = cr_config_parse_mqtt_topic, .offset = TOP(mqtt.base_topic),
	  .expected = MQTT_TOPIC_EXPECTED },
	{ .name = "keepalive", .parse = cr_config_parse_uint, .offset = TOP(mqtt.keepalive), .min = 5, .max = 3600 },
	{ .name = "state_interval", .parse = cr_config_parse_uint, .offset = TOP(mqtt.state_interval), .min = 1,
	  .max = 86400 },
	{ .name = "discovery", .parse = cr_config_parse_bool, .offset = TOP(mqtt.discovery), .expected = BOOL_EXPECTED },
	{ .name = "discovery_prefix", .parse = cr_config_parse_mqtt_topic, .offset = TOP(mqtt.discovery_prefix),
	  .expected = MQTT_TOPIC_EXPECTED },
	{ 0 },
};

static const struct key health_keys[] = {
	{ .name = "max_age", .parse = cr_config_parse_fps, .offset = TOP(health.max_age), .min = 1, .max = 86400 },
	{ 0 },
};

static const struct key telemetry_keys[] = {
	{ .name = "interval", .parse = cr_config_parse_fps, .offset = TOP(telemetry.interval), .min = 1, .max = 3600 },
	{ .name = "sensor_interval", .parse = cr_config_parse_fps, .offset = TOP(telemetry.sensor_interval), .min = 1,
	  .max = 86400 },
	{ 0 },
};

const struct key cr_config_top_keys[] = {
	{ .name = "log_level", .parse = cr_config_parse_log_level, .offset = TOP(log_level),
	  .expected = "one of: error, warn, info, debug" },
	{ .name = "http", .type = KEY_MAPPING, .sub = http_keys },
	{ .name = "cameras", .type = KEY_CAMERAS, .sub = cr_config_camera_keys },
	{ .name = "ntfy", .type = KEY_MAPPING, .sub = ntfy_keys },
	{ .name = "gpio", .type = KEY_MAPPING, .sub = gpio_keys },
	{ .name = "health", .type = KEY_MAPPING, .sub = health_keys },
	{ .name = "telemetry", .type = KEY_MAPPING, .sub = telemetry_keys },
	{ .name = "sensors", .parse = cr_config_parse_sensors, .offset = TOP(telemetry.sensors), .list = true,
	  .expected = "a list of " CR_SENSOR_EXPECTED },
	{ .name = "mqtt", .type = KEY_MAPPING, .sub = mqtt_keys },
	{ 0 },
};

/* Keys camrig had and no longer has, with what took their place: a file
 * written for an older camrig fails with that, not with "unknown key". */
static const struct {
	const char *path;
	const char *instead;
} removed_keys[] = {
	{ "http.max_clients", "http.max_stream_clients and http.max_api_clients instead: live views and other "
			      "requests have limits of their own" },
};

const char *cr_config_removed_key(const char *path)
{
	for (size_t i = 0; i < CR_ARRAY_SIZE(removed_keys); i++)
		if (strcmp(removed_keys[i].path, path) == 0)
			return removed_keys[i].instead;
	return NULL;
}

