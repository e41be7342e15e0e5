/* The kinds of source camrig has: the one table of source schemes, which
 * the config parser (camera.source), the source factory (source/source.c),
 * `camrig list` and --help all read. A new kind of source is one row here
 * and its ops in source/source.c. */
#ifndef CR_CONFIG_SOURCES_H
#define CR_CONFIG_SOURCES_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cr_source_kind {
	CR_SOURCE_AUTO,     /* a libcamera camera, else a V4L2 capture device, else the test pattern */
	CR_SOURCE_TEST,
	CR_SOURCE_LIBCAMERA,
	CR_SOURCE_V4L2,
	CR_SOURCE_FILE,
	CR_SOURCE_URL,
	CR_SOURCE_ARAVIS,   /* a GenICam camera (GigE Vision, USB3 Vision) through libaravis */
	CR_SOURCE_KINDS,
};

/* What a spec after "scheme:" must be. */
enum cr_source_location {
	CR_LOCATION_NONE,   /* "test": nothing after the name */
	CR_LOCATION_DEVICE, /* an absolute device path: "v4l2:/dev/video0" */
	CR_LOCATION_PATH,   /* any path: "file:clip.mp4" */
	CR_LOCATION_URL,    /* a URL with a scheme: "url:rtsp://10.0.0.5/stream" */
	CR_LOCATION_ID,     /* optional, a camera: "libcamera", "aravis:" (the first), "libcamera:1",
			       "libcamera:ID" (as `cam -l` prints it), "aravis:Basler-2167..." */
};

struct cr_source_scheme {
	enum cr_source_kind kind;
	const char *name;               /* "v4l2" */
	const char *form;               /* how it is written: "v4l2:/dev/videoN" */
	enum cr_source_location location;
	const char *about;              /* one line for --help and `camrig list` */
};

/* Every kind, in the order they are documented; indexed by enum cr_source_kind. */
extern const struct cr_source_scheme cr_source_schemes[CR_SOURCE_KINDS];

/* The scheme of the source spec ("v4l2:/dev/video0", "test", "auto"), with
 * *location pointing after the colon ("" when there is none). Returns NULL
 * for an unknown scheme, or when the location is missing or malformed. */
const struct cr_source_scheme *cr_source_scheme_of(const char *spec, const char **location);

/* "auto, test, libcamera[:INDEX|:ID], v4l2:/dev/videoN, file:PATH or url:URL"
 * into buf; returns buf. */
char *cr_source_schemes_expected(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
