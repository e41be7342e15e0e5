/* The table of source schemes (see sources.h). */
#include "config/sources.h"

#include <stdio.h>
#include <string.h>

const struct cr_source_scheme cr_source_schemes[CR_SOURCE_KINDS] = {
	{ CR_SOURCE_AUTO, "auto", "auto", CR_LOCATION_NONE,
	  "a libcamera camera (not a USB webcam), else a V4L2 capture device, else the test pattern" },
	{ CR_SOURCE_TEST, "test", "test", CR_LOCATION_NONE,
	  "moving colour bars with the frame number and capture time drawn in" },
	{ CR_SOURCE_LIBCAMERA, "libcamera", "libcamera[:INDEX|:ID]", CR_LOCATION_ID,
	  "a libcamera camera (Raspberry Pi CSI cameras): the first, by index from 0, or by `cam -l` id" },
	{ CR_SOURCE_V4L2, "v4l2", "v4l2:/dev/videoN", CR_LOCATION_DEVICE, "a V4L2 capture device" },
	{ CR_SOURCE_FILE, "file", "file:PATH", CR_LOCATION_PATH, "a video file, paced at its frame rate" },
	{ CR_SOURCE_URL, "url", "url:URL", CR_LOCATION_URL, "a network stream (RTSP, HTTP) through libavformat" },
	{ CR_SOURCE_ARAVIS, "aravis", "aravis:[ID]", CR_LOCATION_ID,
	  "a GenICam camera (GigE Vision, USB3 Vision) through Aravis: the first, or by id (`camrig list`)" },
};

static bool location_ok(enum cr_source_location kind, const char *loc)
{
	const char *sep;

	switch (kind) {
	case CR_LOCATION_NONE:
	case CR_LOCATION_ID: return true;
	case CR_LOCATION_DEVICE: return loc[0] == '/' && loc[1];
	case CR_LOCATION_PATH: return loc[0] != '\0';
	case CR_LOCATION_URL:
		sep = strstr(loc, "://");
		return sep && sep > loc;
	}
	return false;
}

const struct cr_source_scheme *cr_source_scheme_of(const char *spec, const char **location)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);

	for (int i = 0; i < CR_SOURCE_KINDS; i++) {
		const struct cr_source_scheme *s = &cr_source_schemes[i];

		if (strlen(s->name) != n || strncmp(spec, s->name, n) != 0)
			continue;
		*location = colon ? colon + 1 : "";
		if ((s->location == CR_LOCATION_NONE && colon) || (s->location != CR_LOCATION_NONE &&
		    s->location != CR_LOCATION_ID && !colon) || !location_ok(s->location, *location))
			return NULL;
		return s;
	}
	return NULL;
}

char *cr_source_schemes_expected(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < CR_SOURCE_KINDS && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i == 0 ? "" : i == CR_SOURCE_KINDS - 1 ? " or " : ", ",
				      cr_source_schemes[i].form);
	return buf;
}
