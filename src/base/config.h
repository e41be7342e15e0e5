/* camrig's configuration: one YAML file (libcyaml), every key also settable
 * from the command line.
 *
 * The YAML file is documented key by key in data/camrig.yaml, which is also
 * the single place that states each default. A bad file is refused with
 * "FILE:LINE: KEY: what is wrong (expected ...)". */
#ifndef CR_BASE_CONFIG_H
#define CR_BASE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

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
};

struct cr_http_config {
	char *listen;         /* "HOST:PORT", default "127.0.0.1:8080"; IPv6 as "[::1]:8080" */
	unsigned max_clients; /* concurrent HTTP connections, default 64 */
	char *auth;           /* "auto" (default: credentials required beyond loopback) or "none" */
	char *password_file;  /* HTTP Basic: lines "user:crypt(3) hash"; NULL: none */
	char *token_file;     /* bearer token (one line); NULL: none */
	char *tls_cert;       /* PEM certificate chain; with tls_key: HTTPS; NULL: plain HTTP */
	char *tls_key;        /* PEM private key */
};

struct cr_config {
	char *path;           /* the file it was loaded from, NULL for the embedded default */
	char *log_level;      /* "error", "warn", "info" (default) or "debug" */
	struct cr_http_config http;
	struct cr_camera_config *cameras;
	unsigned ncameras;    /* >= 1 after a successful load */
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
 * -EINVAL with *error set to an allocated "KEY: problem (expected ...)". */
int cr_config_check(const struct cr_config *config, char **error);

/* NULL-safe; sets *config to NULL. */
void cr_config_free(struct cr_config **config);

/* Parses "WxH" (e.g. "640x480"; 'X' too) into pixels, each side 1..32768.
 * Returns 0 or -EINVAL (then *width and *height are untouched). */
int cr_config_parse_size(const char *text, int *width, int *height);

#endif
