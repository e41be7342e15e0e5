/* The timestamp sidecar: one CSV file next to every recording that accounts
 * for every frame (doc/sidecar.md is the format's reference).
 *
 *   # camrig sidecar 1
 *   # video: camera_2026_01_31_12_00_00.mkv
 *   # ... (camera, codec, trigger, trigger_mono_ns, trigger_utc, pre_trigger_s)
 *   frame,index,sequence,mono_ns,utc_us,status,trigger
 *   0,1200,1200,81234567890123,1769860800123456,recorded,http
 *   ,1201,1201,,,dropped,http
 *   ,,1202,,,lost,http
 *   # end: recorded=N dropped=N lost=N reason=...
 *
 * frame is the packet's position in the video file; index camrig's frame
 * count; sequence the driver's. A "dropped" row is a frame lost inside
 * camrig (a full queue), a "lost" row one the driver's sequence numbers show
 * missing before camrig (the driver, or an exhausted frame pool). Each line
 * is flushed as it is written, so a crash loses no row the video has. A
 * camera with a clock of its own (GigE Vision, USB3 Vision) adds a last
 * column, device_ns: its timestamp of the frame, empty in gap rows.
 *
 * A session file (recording.split: session) holds several start/stop spans:
 *   ,,,81240567890123,1769860806123456,paused,http      (the stop: when)
 *   # span: 1 trigger=gpio trigger_mono_ns=... trigger_utc=...
 *   57,1520,1520,...,recorded,gpio
 * The frames between a paused row and the next span's first frame were not
 * recorded on purpose: no gap rows stand for them. */
#ifndef CR_RECORD_SIDECAR_H
#define CR_RECORD_SIDECAR_H

#include "base/packet.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_sidecar;

/* What the header records. */
struct cr_sidecar_info {
	const char *video;          /* the video file's name (no directory) */
	const char *camera;
	const char *codec;          /* "h264 (libx264)" */
	const char *trigger;        /* the trigger type's name ("http") */
	int64_t trigger_mono_ns;    /* when the trigger arrived, CLOCK_MONOTONIC ns */
	int64_t trigger_utc_us;     /* the same, µs since the UTC epoch */
	double pre_trigger_s;       /* configured pre-trigger, s */
	unsigned segment;           /* 0 for the first file of a recording, then 1, 2, ... */
	const char *continues;      /* the file of the same recording before a camera loss; NULL: none */
	const char *camera_format;  /* the camera's frames: "SRGGB10P 1456x1088" (a raw file's samples
				       need it to be read: the Bayer order, the depth); NULL: not written */
	bool device_clock;          /* the camera has a clock of its own: a device_ns column */
};

struct cr_sidecar_counts {
	uint64_t recorded, dropped, lost;   /* rows of each status */
	uint64_t paused;                    /* "paused" rows: the pauses of a session file */
};

/* Creates path and writes the header. Returns 0 or a negative errno. */
int cr_sidecar_open(const char *path, const struct cr_sidecar_info *info, struct cr_sidecar **out);

/* Writes the row of a packet written to the video as frame number frame,
 * preceded by the gap rows since the previous packet. Returns 0 or a
 * negative errno (a write error). */
int cr_sidecar_frame(struct cr_sidecar *sc, uint64_t frame, const struct cr_packet *pkt);

/* Writes a "dropped" row for a packet camrig had but did not write (it could
 * not be decoded after an earlier drop), with the gap rows before it. */
int cr_sidecar_skip(struct cr_sidecar *sc, const struct cr_packet *pkt);

/* Takes back the rows of frames frames, frames + 1, ... (the video turned
 * out to hold only its first frames frames: a write error lost what the
 * muxer had buffered): they become "dropped" rows with their capture data,
 * so the sidecar counts exactly the frames the video has. Works for the
 * newest 4096 frames. Returns 0, -ERANGE when frames is older than that
 * (nothing changed), or a write error. */
int cr_sidecar_rewind(struct cr_sidecar *sc, uint64_t frames);

void cr_sidecar_counts(const struct cr_sidecar *sc, struct cr_sidecar_counts *counts);

/* A session file's span ends: writes a "paused" row at mono_ns (the stop,
 * CLOCK_MONOTONIC ns; utc_us the same instant). The frames until the next
 * span's first one get no gap rows. Returns 0 or a write error. */
int cr_sidecar_pause(struct cr_sidecar *sc, int64_t mono_ns, int64_t utc_us);

/* A session file's next span begins: writes "# span: N trigger=TRIGGER
 * trigger_mono_ns=NS trigger_utc=ISO8601" (span: 1, 2, ... after the
 * header's span 0), and the rows from here on carry trigger. Returns 0 or a
 * write error. */
int cr_sidecar_span(struct cr_sidecar *sc, unsigned span, const char *trigger, int64_t trigger_mono_ns,
		    int64_t trigger_utc_us);

/* Appends "# continued_in: VIDEO" to the finalized sidecar at path: its
 * recording went on in the file VIDEO (name only) after the camera came
 * back. Returns 0 or a negative errno. */
int cr_sidecar_link(const char *path, const char *video);

/* Writes the end line with reason (one line of text) and closes. Returns 0
 * or a negative errno. NULL-safe; sets *sc to NULL. */
int cr_sidecar_close(struct cr_sidecar **sc, const char *reason);

#ifdef __cplusplus
}
#endif

#endif
