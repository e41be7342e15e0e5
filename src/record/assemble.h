/* Timelapse assembly: the JPEG stills of a session directory into an H.264
 * MP4, one still per frame.
 *
 * Stills are the files DIR/PREFIX_NNNNNN.jpg (PREFIX: any name, usually the
 * camera's; NNNNNN: the shot number, 6 or more digits), taken in the order of
 * their numbers. Each is decoded with libturbojpeg, converted (and scaled,
 * should a still differ in size from the first) to yuv420p with libswscale,
 * and encoded with libavcodec (libx264, else another H.264 encoder) into an
 * MP4 (libavformat, movflags +faststart). Frame n has PTS n in a time base of
 * 1/fps, so the video has exactly as many frames as stills decoded. The video
 * is written to OUTPUT.part and renamed to OUTPUT when complete: OUTPUT
 * either does not exist or is a whole video. */
#ifndef CR_RECORD_ASSEMBLE_H
#define CR_RECORD_ASSEMBLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_ASSEMBLE_MAX_STILLS 999999   /* stills in one session (6-digit numbers) */
#define CR_ASSEMBLE_PATH_MAX 1024       /* bytes of a path */

struct cr_assemble_params {
	double fps;                  /* frames per second of the video, > 0 */
	int crf;                     /* libx264 constant rate factor 0..51; < 0: the encoder's default */
	const char *preset;          /* libx264 preset; NULL: "medium" */
	const atomic_bool *cancel;   /* when it turns true, stop and remove the partial file; may be NULL */
};

struct cr_assemble_result {
	unsigned stills;             /* stills found */
	unsigned frames;             /* frames in the video (stills that decoded) */
	unsigned skipped;            /* stills that could not be read or decoded */
	int width, height;           /* of the video, pixels */
	double seconds;              /* wall-clock time the assembly took, s */
};

/* A session directory's stills, sorted by shot number. */
struct cr_assemble_stills {
	char **paths;                /* DIR/NAME, allocated */
	unsigned count;
	unsigned max_number;         /* the highest shot number; 0 when there is none */
};

/* Lists the stills of dir (see above; hidden and temporary files are not
 * stills). Returns 0, or a negative errno when dir cannot be read, -E2BIG
 * beyond CR_ASSEMBLE_MAX_STILLS. */
int cr_assemble_list(const char *dir, struct cr_assemble_stills *stills);

/* Frees what cr_assemble_list() allocated. NULL-safe; zeroes *stills. */
void cr_assemble_stills_free(struct cr_assemble_stills *stills);

/* Assembles the stills of dir into output (MP4). Stills that fail to decode
 * are skipped and counted. Fills *result (may be NULL). Returns 0; -ENOENT
 * when dir holds no still that decodes; -ECANCELED when params->cancel turned
 * true; another negative errno or AVERROR. On failure writes a one-line
 * reason into why (len bytes) and leaves no output or partial file behind.
 * Takes seconds to minutes: call it off the control thread. */
int cr_assemble(const char *dir, const char *output, const struct cr_assemble_params *params,
		struct cr_assemble_result *result, char *why, size_t len);

#ifdef __cplusplus
}
#endif

#endif
