/* camrig's configuration: one YAML file (libcyaml), every key also settable
 * from the command line.
 *
 * The YAML file is documented key by key in data/camrig.yaml, which is also
 * the single place that states each default. A bad file is refused with
 * "FILE:LINE: KEY: what is wrong (expected ...)". */
#ifndef CR_CONFIG_CONFIG_H
#define CR_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_CONFIG_MAX_CAMERAS 16   /* cameras in one configuration */
#define CR_CONFIG_MAX_CONTROLS 64  /* controls per camera */

struct cr_control_setting {
	char *name;   /* V4L2 control name as v4l2-ctl prints it, e.g. "exposure_time_absolute" */
	char *value;  /* integer, boolean (true/false) or menu item name */
	int line;     /* line in the config file, 0 when set from the command line */
};

struct cr_jpeg_config {
	int quality;          /* 1..100, default 80 */
	bool gray;            /* encode luma only */
	int width, height;    /* output size in pixels; 0x0: the camera's size */
	int workers;          /* encoder threads; 0: min(cores, 4) */
};

struct cr_crop_config {
	int left, top;        /* pixels */
	int width, height;    /* pixels; 0x0: no crop */
};

struct cr_lsl_config {
	bool enabled;         /* publish an LSL outlet for this camera (default false) */
	char *name;           /* stream name; NULL: the camera's name */
	char *type;           /* stream type, default "VideoEvents" */
	char *interfaces;     /* network interfaces inlets may use, "lo,eth0"; "" (default): every one */
	bool markers;         /* and a marker stream NAME-markers of camrig's events (default true) */
};

/* Recording (src/record/, src/encode/video.c); documented in data/camrig.yaml. */
struct cr_tcp_stream_config {
	bool enabled;         /* serve the raw H.264 stream (default false) */
	char *listen;         /* "HOST:PORT", default "127.0.0.1:10001" */
	unsigned max_clients; /* connections at once, default 8 */
};

/* Publishing to a media server over RTSP (src/publish/rtsp.c); documented in
 * data/camrig.yaml. */
struct cr_rtsp_config {
	bool enabled;         /* publish (default false) */
	char *url;            /* rtsp://HOST[:PORT]/PATH or rtsps://; NULL: none (required when enabled) */
	char *username;       /* for the server's ANNOUNCE; NULL: none */
	char *password_file;  /* a file holding the password (one line); NULL: none */
	int bitrate;          /* kbit/s of a stream of its own; 0 (default): the recording's settings */
	double gop;           /* s between keyframes of a stream of its own; 0 (default): the recording's */
};

/* WebRTC through Janus: RTP to a Janus streaming mountpoint, and the live
 * page's view of it (src/publish/rtsp.c, data/index.html); documented in
 * data/camrig.yaml. */
struct cr_webrtc_config {
	bool enabled;         /* send RTP and offer the WebRTC view (default false) */
	char *rtp;            /* "HOST:PORT": the mountpoint's video port (UDP); NULL: none (required) */
	char *janus;          /* Janus's HTTP API as the browser reaches it, e.g. "http://host:8088/janus";
				 NULL: none (required) */
	unsigned mountpoint;  /* the streaming plugin's mountpoint id, default 1 */
	int bitrate;          /* kbit/s of a stream of its own; 0 (default): the recording's settings */
	double gop;           /* s between keyframes of a stream of its own; 0 (default): the recording's */
};

struct cr_recording_config {
	char *codec;          /* copy, mjpeg, h264, h265, ffv1 or any libavcodec encoder name; default h264 */
	char *format;         /* container: "mkv" (default) or "mp4" (fragmented) */
	char *root;           /* directory the recordings/ tree goes under, default "recordings" */
	char *filename;       /* name template under root, without the extension (base/fs.h),
				 default "%Y_%m_%d/video/{camera}_%Y_%m_%d_%H_%M_%S" */
	char *snapshot_filename; /* the same for snapshots, default
				    "%Y_%m_%d/snapshots/{camera}_%Y_%m_%d_%H_%M_%S_{ms}" */
	char *timezone;       /* "utc" (default) or "local": the templates' strftime fields */
	double pre_trigger;   /* seconds kept before a trigger, default 0: off */
	int segment;          /* seconds per file, 0 (default): one file per recording */
	char *split;          /* "trigger" (default): a file per start; "session": one file per camera for the
				 run, each start/stop span appended, the pauses as "paused" rows in the sidecar */
	bool resume;          /* a recording whose camera is lost goes on in a new file when it returns,
				 default true */
	int min_free_mb;      /* MiB that must stay free under root, default 200 */
	char *preset;         /* encoder preset (libx264, libx265), default "veryfast" */
	int crf;              /* constant rate factor, default 23; -1: the encoder's default */
	int qp;               /* constant quantizer; -1 (default): off */
	int quality;          /* mjpeg: JPEG quality 1..100 as the JPEG stage's, default 80 */
	int bitrate;          /* kbit/s; 0 (default): off (crf or qp rule) */
	double gop;           /* seconds between keyframes, default 1; 0: every frame */
	bool gray;            /* encode luma only */
	bool zerolatency;     /* libx264/libx265 tune=zerolatency (no lookahead, no B-frames) */
	int lookahead_mb;     /* MiB libx264/libx265's lookahead may hold, else as zerolatency; default 64 */
	int queue_depth;      /* frames queued between the camera and the encoder, default 32 */
	int queue_mb;         /* MiB each of the encoder's and the recorder's queues may hold, default 8 */
	int pre_trigger_max_mb; /* MiB the pre-trigger ring may hold at most, default 512 */
	bool overlay;         /* the analysis stage's boxes drawn into the recording, default false */
};

/* One entry of a free-form mapping in the file (upload.fields,
 * upload.headers): a name the program does not know in advance. */
struct cr_config_pair {
	char *name;           /* 1..64 letters, digits, '_', '-' or '.' */
	char *value;          /* 0..4096 printable bytes */
};

#define CR_CONFIG_MAX_PAIRS 32     /* entries of one free-form mapping */

/* Timelapse sessions (src/record/timelapse.c); documented in data/camrig.yaml. */
struct cr_timelapse_config {
	double interval;      /* seconds between stills, default 10; 0: triggered shots only */
	double fps;           /* frame rate of the assembled video, default 25 */
	int quality;          /* JPEG quality of the stills, 1..100, default 95 */
	char *photos_root;    /* stills go to PHOTOS_ROOT/SESSION/, default "Photos" */
	char *videos_root;    /* videos go to VIDEOS_ROOT/SESSION.mp4, default "Timelapses" */
	char *session_name;   /* SESSION's template (one name, base/fs.h), default "{camera}_%Y_%m_%d_%H_%M_%S" */
	char *timezone;       /* "utc" (default) or "local" */
	bool resume;          /* continue an interrupted session at start-up, default true */
	char *preset;         /* libx264 preset of the video, default "medium" */
	int crf;              /* libx264 constant rate factor, 0..51, default 23 */
};

/* Periodic upload of the current JPEG (src/publish/upload.c); documented in
 * data/camrig.yaml. */
struct cr_upload_config {
	bool enabled;         /* default false */
	char *url;            /* http:// or https:// URL to POST to; NULL: none (required when enabled) */
	int interval_ms;      /* ms between images, default 500 */
	char *field;          /* form field of the image, default "image" */
	struct cr_config_pair *fields; /* extra form fields */
	unsigned nfields;
	struct cr_config_pair *headers; /* extra request headers; values never logged */
	unsigned nheaders;
	int timeout_ms;       /* ms one POST may take in all, default 5000 */
	int queue;            /* images waiting to be sent, default 4; the oldest goes first */
};

/* The camera sensor of a V4L2 capture node that is a separate sub-device
 * (media controller: the Raspberry Pi's CSI receivers), set before
 * streaming; documented in data/camrig.yaml under sensor:. */
struct cr_sensor_config {
	char *entity;         /* its media entity's name ("imx296"); NULL or "auto": the sensor
			         feeding the capture node */
	uint32_t format;      /* the source pad's media-bus format, by camrig's raw format name
			         (SRGGB10 means SRGGB10_1X10); 0: as it is */
	int width, height;    /* the pad's size in pixels; 0x0: as it is */
	struct cr_crop_config crop;   /* the pad's crop (V4L2_SEL_TGT_CROP), sensor pixels */
	struct cr_config_pair *controls; /* sub-device controls by v4l2-ctl's names */
	unsigned ncontrols;
};

/* Motion detection (src/analysis/); documented in data/camrig.yaml. */
struct cr_motion_config {
	bool enabled;         /* default false */
	double threshold;     /* % of the analysed image that must change, default 1 */
	int min_area;         /* smallest changed blob counted, square pixels of the camera's image, default 400 */
	double light_switch;  /* % change of the mean brightness between analysed frames that is a light
				 switch, not motion, default 15; 0: no guard */
	double event_gap;     /* s without motion that end an event, default 3 */
	double post_capture;  /* s a motion recording goes on after its event ends, default 5 */
	bool record;          /* start_recording on motion, default true */
	bool snapshot;        /* a snapshot per event, default true */
	struct cr_config_pair *zones; /* NAME -> "include|exclude X,Y X,Y X,Y..." or "... X,Y WxH" (camera
				 pixels), checked by cr_analysis_check() */
	unsigned nzones;
};

/* Face detection (src/analysis/); documented in data/camrig.yaml. */
struct cr_faces_config {
	bool enabled;         /* default false */
	char *model;          /* an OpenCV cascade XML file, default Debian's (opencv-data)
				 haarcascade_frontalface_default.xml */
	bool largest_only;    /* report the largest face only, default false */
	int min_size;         /* smallest face side, pixels of the camera's image, default 40 */
	double every;         /* s between detections, default 1 */
};

/* The analysis stage (src/analysis/); documented in data/camrig.yaml. */
struct cr_analysis_config {
	double fps;           /* frames analysed per second, default 5; 0: every frame */
	int width;            /* pixels the analysed gray copy is wide, default 320 (height: the camera's shape) */
	bool overlay;         /* the live view and snapshots carry the boxes by default (?overlay=0/1 per
				 request), default false */
	bool timestamp;       /* the overlay also shows the capture time (UTC), default true */
	struct cr_motion_config motion;
	struct cr_faces_config faces;
};

struct cr_camera_config {
	char *name;           /* shown in /status and the page; default "camera" */
	char *source;         /* "auto", "test", "v4l2:/dev/videoN", "file:PATH", "url:URL" */
	int width, height;    /* requested size in pixels; 0x0: the source's default */
	double fps;           /* requested frame rate; 0: the source's default */
	uint32_t format;      /* requested FourCC; 0: the source's choice */
	bool loop;            /* file sources: start again at the end (default true) */
	unsigned buffers;     /* V4L2 mmap buffers (default 4) */
	struct cr_crop_config crop;
	struct cr_control_setting *controls;
	unsigned ncontrols;
	struct cr_jpeg_config jpeg;
	struct cr_lsl_config lsl;
	struct cr_recording_config recording;
	struct cr_timelapse_config timelapse;
	struct cr_upload_config upload;
	struct cr_tcp_stream_config tcp_stream;
	struct cr_sensor_config sensor;
	struct cr_analysis_config analysis;
	struct cr_rtsp_config rtsp;
	struct cr_webrtc_config webrtc;
};

struct cr_http_config {
	char *listen;         /* "HOST:PORT", default "127.0.0.1:8080"; IPv6 as "[::1]:8080" */
	unsigned header_timeout;     /* s from connecting to the whole request (headers and body), default 5 */
	unsigned max_pending;        /* connections still sending their request; the oldest goes when
					full, default 1024 */
	unsigned max_stream_clients; /* live views open at once (/stream.mjpg, /stream, /api/events),
					default 256 */
	unsigned max_api_clients;    /* other requests served at once, default 64 */
	unsigned max_clients_per_ip; /* per client address beyond loopback (IPv6: per /64), in each of
					pending, live views and other requests; default 32 */
	char *auth;           /* "auto" (default: credentials required beyond loopback) or "none" */
	char *password_file;  /* HTTP Basic: lines "user:crypt(3) hash"; NULL: none */
	char *token_file;     /* bearer token (one line); NULL: none */
	char *tls_cert;       /* PEM certificate chain; with tls_key: HTTPS; NULL: plain HTTP */
	char *tls_key;        /* PEM private key */
	char *hostnames;      /* host names the Host header may name besides addresses, localhost
				 and this machine's name: "a,b", lowercase; "*.x" for any under x; "" none */
	char *cors_origins;   /* origins other pages may use the API from: "https://a,http://b:8000";
				 "" (default): none */
};

/* ntfy remote control and notifications (src/control/ntfy.c); documented in
 * data/camrig.yaml. */
struct cr_ntfy_config {
	bool enabled;         /* subscribe and publish (default false) */
	char *server;         /* base URL, http:// or https://, default "https://ntfy.sh" */
	char *topic;          /* the topic commands come from; NULL: none (required when enabled) */
	char *reply_topic;    /* where replies and notifications go; NULL: topic */
	char *token;          /* access token (Authorization: Bearer); NULL: none */
	char *token_file;     /* a file holding the token; NULL: none */
	int priority;         /* 1..5: replies and ordinary notifications, default 3 */
	int alert_priority;   /* 1..5: error and camera_lost, default 4 */
	char *events;         /* event types to notify, comma-separated, or "none" */
};

/* GPIO push button and status LEDs (src/control/gpio.c); documented in
 * data/camrig.yaml. */
struct cr_gpio_config {
	bool enabled;         /* default false */
	char *chip;           /* GPIO chip: name, /dev path, label or number; default "gpiochip0" */
	int button;           /* line offset of the push button; -1 (default): none */
	bool active_low;      /* pressed = line low (button to ground), default true */
	char *bias;           /* button line bias: "as-is" (default), "pull-up", "pull-down", "disable" */
	int debounce_ms;      /* ms a level must hold to count, default 30 */
	int click_gap_ms;     /* ms without a press that ends a click pattern, default 600 */
	char *preset;         /* the click map to start from: "recording" (default) or "timelapse"
				 (control/gpio.c holds the presets and checks the name) */
	struct cr_config_pair *clicks; /* COUNT -> RULE over the preset's map, checked by
				 cr_gpio_check() (control/gpio.h has the grammar) */
	unsigned nclicks;
	int led_idle;         /* LED line offsets; -1 (default): none */
	int led_recording;
	int led_paused;
};

/* MQTT: state, events, images and commands through a broker, Home
 * Assistant discovery (src/publish/mqtt.c); documented in data/camrig.yaml. */
struct cr_mqtt_config {
	bool enabled;         /* connect to the broker (default false) */
	char *broker;         /* "HOST:PORT", default "127.0.0.1:1883" */
	bool tls;             /* TLS to the broker (default false) */
	char *ca_file;        /* PEM CA certificates to trust; NULL: the system's */
	char *cert_file;      /* PEM client certificate; NULL: none */
	char *key_file;       /* its PEM private key */
	char *username;       /* NULL: none */
	char *password_file;  /* a file holding the password (one line); NULL: none */
	char *client_id;      /* "{host}" is this machine's name, default "camrig-{host}" */
	char *base_topic;     /* every topic but discovery's starts with it, default "camrig/{host}" */
	unsigned keepalive;   /* s between pings when idle, default 60 */
	unsigned state_interval; /* s between state and telemetry messages besides those on change, default 30 */
	bool discovery;       /* publish Home Assistant discovery configs (default true) */
	char *discovery_prefix; /* Home Assistant's discovery prefix, default "homeassistant" */
};

/* Health: what /healthz, the live view's placeholder and snapshots judge a
 * camera by; documented in data/camrig.yaml. */
struct cr_health_config {
	double max_age;       /* s without a frame after which a camera is unhealthy, default 5 */
};

/* Host and sensor telemetry (src/telemetry/); documented in
 * data/camrig.yaml. */
struct cr_telemetry_config {
	double interval;        /* s between samples of the host (CPU, memory, disk, temperatures), default 2 */
	double sensor_interval; /* s between reads of the sensors, default 10 */
	char *sensors;          /* the `sensors` list, "SPEC,SPEC" (cr_config_sensor_parse()); "" (default): none */
};

#define CR_CONFIG_MAX_SENSORS 32
#define CR_SENSOR_EXPECTED "NAME=iio:DEVICE/CHANNEL or NAME=hwmon:DEVICE/CHANNEL, e.g. " \
	"enclosure=iio:dht11/temp or fan=hwmon:pwmfan/fan1"

enum cr_sensor_kind {
	CR_SENSOR_IIO,          /* /sys/bus/iio/devices/DEVICE/in_CHANNEL_{input,raw} */
	CR_SENSOR_HWMON,        /* /sys/class/hwmon/DEVICE/CHANNEL_input */
};

/* One entry of the `sensors` list. */
struct cr_sensor_spec {
	char name[65];          /* 1..64 letters, digits, '_', '-' or '.' */
	enum cr_sensor_kind kind;
	char device[65];        /* the device's sysfs name ("dht11"), or its directory ("iio:device0", "hwmon2") */
	char channel[65];       /* IIO: "temp", "humidityrelative", "voltage0"; hwmon: "temp1", "fan1", "in0" */
};

/* Parses one sensor, "NAME=iio:DEVICE/CHANNEL" or "NAME=hwmon:DEVICE/CHANNEL"
 * (DEVICE and CHANNEL: letters, digits, '_', '-', '.' and ':', not starting
 * with '.'). Returns 0,
 * or -EINVAL when spec is not of that form. */
int cr_config_sensor_parse(const char *spec, struct cr_sensor_spec *out);

struct cr_config_outline;

struct cr_config {
	char *path;           /* the file it was loaded from, NULL for the embedded default */
	struct cr_config_outline *outline; /* where each key of that file stands (for FILE:LINE); NULL: none */
	char *set_keys;       /* "\nKEY\nKEY\n": the keys cr_config_set() set; NULL: none */
	char *log_level;      /* "error", "warn", "info" (default) or "debug" */
	struct cr_http_config http;
	struct cr_camera_config *cameras;
	unsigned ncameras;    /* >= 1 after a successful load */
	struct cr_ntfy_config ntfy;
	struct cr_gpio_config gpio;
	struct cr_health_config health;
	struct cr_telemetry_config telemetry;
	struct cr_mqtt_config mqtt;
};

/* Loads path (NULL: the built-in default: one camera, source auto). On
 * failure returns NULL and sets *error to an allocated one-line message
 * "FILE:LINE: KEY: problem (expected ...)" that the caller frees.
 *
 * The built-in default is data/camrig.yaml, embedded; a file is laid over it:
 * keys the file leaves out keep their defaults, and a `cameras` list in the
 * file replaces the default camera, each entry starting from the default
 * camera's values. Does not run cr_config_check(): the caller does, after
 * any cr_config_set() from the command line. */
struct cr_config *cr_config_load(const char *path, char **error);

/* Sets one key from the command line, with the same checks as the file.
 * key is a dotted path: "http.listen", "cameras.1.jpeg.quality", and
 * "camera.X" as a shorthand for "cameras.0.X". "cameras.N.controls.NAME"
 * adds or replaces a control (line 0). cameras.N with N == ncameras appends a
 * default camera (up to CR_CONFIG_MAX_CAMERAS). Returns 0, or -EINVAL with
 * *error set as above (without FILE:LINE); config is unchanged on failure. */
int cr_config_set(struct cr_config *config, const char *key, const char *value, char **error);

/* Checks what no single key can (e.g. camera names unique). Returns 0 or
 * -EINVAL with *error set to an allocated "FILE:LINE: KEY: problem (expected
 * ...)", the line that of the key or its nearest ancestor in the file (no
 * "FILE:LINE: " for a key set from the command line, or without a file). */
int cr_config_check(const struct cr_config *config, char **error);

/* The message "KEY: TEXT" (fmt and its arguments) as cr_config_check()
 * words its own: with "FILE:LINE: " in front where key stands in the file.
 * For checks made outside config/ (an encoder name libavcodec does not
 * know). Allocated; the caller frees it. */
char *cr_config_error(const struct cr_config *config, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* NULL-safe; sets *config to NULL. */
void cr_config_free(struct cr_config **config);

/* Parses "WxH" (e.g. "640x480"; 'X' too) into pixels, each side 1..32768.
 * Returns 0 or -EINVAL (then *width and *height are untouched). */
int cr_config_parse_size(const char *text, int *width, int *height);

#ifdef __cplusplus
}
#endif

#endif
