/* What the files of the recorder share (private to src/record):
 * recorder.c (the queue, the sink on the encoder thread, the recorder
 * thread: recordings, spans, stops, the disk and camera checks, and the
 * public functions) and recorder_file.c (the file being written: its name,
 * opening the muxer and the sidecar, writing a packet, finalizing). The
 * model and the file naming are in recorder.h; the locking in recorder.c. */
#ifndef CR_RECORD_RECORDER_INTERNAL_H
#define CR_RECORD_RECORDER_INTERNAL_H

#include "record/recorder.h"
#include "record/sidecar.h"
#include "base/ring.h"

#include <libavformat/avformat.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define WHY_MAX (2 * CR_RECORDER_PATH_MAX + 256)  /* bytes of a reason */

enum item_kind { ITEM_PACKET, ITEM_START, ITEM_STOP };

struct start {
	char base[CR_RECORDER_PATH_MAX - 8]; /* path without extension */
	enum cr_trigger trigger;
	int64_t trigger_mono_ns, trigger_utc_us;
	int64_t duration_ns;                 /* 0: until stopped */
	uint64_t gen;
	struct cr_packet **pre;              /* the ring's packets before the trigger */
	unsigned npre;
	uint64_t first_index;                /* frames with a lower index are not this recording's */
};

struct item {
	enum item_kind kind;
	struct cr_packet *pkt;               /* ITEM_PACKET */
	bool after_drop;                     /* ITEM_PACKET: a packet before it was dropped */
	struct start *start;                 /* ITEM_START */
	char *reason;                        /* ITEM_STOP */
	int64_t stop_at_ns;                  /* ITEM_STOP: frames captured until then still go in */
	bool discard;                        /* ITEM_STOP: delete the file instead of keeping it */
};

/* What the recorder thread is writing. */
struct output {
	bool active;                         /* in a recording (a file may not be open yet) */
	struct start start;                  /* of the recording (pre emptied) */
	AVFormatContext *fmt;
	struct cr_sidecar *sidecar;
	char path[CR_RECORDER_PATH_MAX], sidecar_path[CR_RECORDER_PATH_MAX];
	unsigned segment;
	int64_t first_us, first_mono_ns;     /* the file's first packet */
	int64_t last_dts;                    /* in the stream's time base */
	uint64_t frames, bytes;
	bool need_keyframe;
	int64_t stop_at_ns;                  /* stopping: the last capture time that goes in; 0: not stopping */
	int64_t stop_deadline_ns;            /* ... and when the file ends if no later packet came */
	char stop_reason[128];
	bool discard;                        /* delete the current file and its sidecar when it ends */
	bool write_failed;                   /* the video hit a write error: it may hold fewer frames */
	unsigned params;                     /* the encoder parameters of the open file */
	bool suspended;                      /* the camera was lost: the next file continues the recording */
	int64_t lost_seen_ns;                /* when the loss was first seen (CLOCK_MONOTONIC); 0: not lost */
	char prev_sidecar[CR_RECORDER_PATH_MAX]; /* the file before the loss, to link to the next */
	char prev_video[CR_RECORDER_PATH_MAX];   /* its name, without the directory */
	bool paused;                         /* a session file between spans: fmt and sidecar stay open */
	bool span_keyframe;                  /* a span resumed: packets before its first keyframe stay out */
	unsigned spans;                      /* spans in the open file - 1 */
};

struct cr_recorder {
	struct cr_camera *camera;
	struct cr_video_encoder *encoder;
	const struct cr_recording_config *config;
	const char *name;                    /* the camera's */
	bool session;                        /* recording.split: session */
	struct cr_events *events;            /* may be NULL */
	pthread_t thread;
	bool started;                        /* the thread runs */
	bool ring_demand;                    /* the pre-trigger ring holds a unit of encoder demand */
	AVPacket *tmp;                       /* thread: the packet handed to the muxer */
	struct output out;                   /* thread only */
	int64_t next_check_ns;               /* thread only */
	int64_t test_delay_ns;               /* $CAMRIG_TEST_DELAY writer:MS (base/time.h) */

	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct cr_ring queue;                /* of struct item, QUEUE_PACKETS + QUEUE_CONTROL */
	unsigned npackets, ncontrol;         /* of each kind in the queue */
	size_t packet_bytes, budget;         /* of the packets in the queue; recording.queue_mb */
	bool closing;
	bool recording;                      /* packets go onto the queue */
	bool stop_pending;                   /* stopped; the thread writes what was captured before */
	bool drop_pending;                   /* a packet was dropped since the last queued */
	bool demand_held;                    /* this recording asked the encoder for packets */
	uint64_t gen;                        /* recordings started */
	char last_base[CR_RECORDER_PATH_MAX];
	struct cr_prebuffer *ring;           /* NULL when the pre-trigger is off */
	int64_t last_written_ns;             /* the thread's: capture time of the last frame any file got; 0: none */
	atomic_uint files;                   /* file names made ({n} of recording.filename); both threads make them */
	struct cr_recorder_stats stats;
};

static inline const char *cr_recorder_extension(const struct cr_recorder *rec)
{
	return strcmp(rec->config->format, "mp4") == 0 ? "mp4" : "mkv";
}

/* ---- recorder_file.c (the recorder thread's, but for naming and free space) ---- */

/* Makes the directory and writes into base (len bytes) the path without
 * extension of a new file for a recording at utc_us (µs since the UTC
 * epoch): ROOT/ + recording.filename, made unique ("_N" appended while the
 * video or sidecar exists, or the last recording took it). Any thread.
 * Returns 0, or a negative errno (-ENAMETOOLONG, mkdir's). */
int cr_recorder_make_base(struct cr_recorder *rec, int64_t utc_us, char *base, size_t len);

/* MiB free under root for unprivileged users, or a negative errno (statvfs). */
double cr_recorder_free_mib(const char *root);

/* MiB free where recordings go: under root, or its nearest ancestor that
 * exists (root is made with the first file); -1 when none can be asked. */
double cr_recorder_free_mib_nearest(const char *root);

/* Opens the next file of the recording (rec->out), starting with keyframe
 * pkt: the muxer (Matroska, or fragmented MP4) with the encoder's
 * parameters, and its sidecar. Returns 0, or a negative errno or AVERROR
 * with the reason written into why (len bytes); nothing is left open. */
int cr_recorder_file_open(struct cr_recorder *rec, const struct cr_packet *pkt, char *why, size_t len);

/* Writes pkt into the open file, its PTS and DTS made relative to the
 * file's first packet in the stream's time base. Returns 0, or a negative
 * AVERROR (a write error also sets rec->out.write_failed). */
int cr_recorder_file_write(struct cr_recorder *rec, const struct cr_packet *pkt);

/* Finalizes the file and closes its sidecar with reason (whichever is
 * open), logs it and publishes "recording_finished". After a write error
 * the sidecar is cut to the frames the file holds. */
void cr_recorder_file_close(struct cr_recorder *rec, const char *reason);

#endif
