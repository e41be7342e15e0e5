/* Timelapse sessions (see timelapse.h for the model and the files).
 *
 * Design:
 * - The control thread changes the session under tl->lock and wakes the
 *   shooter; it never waits for a frame. A shot request is a trigger queued
 *   in a small ring (PENDING_MAX); the interval is a deadline on
 *   CLOCK_MONOTONIC (next_due), advanced by whole intervals so stills do not
 *   drift, and skipping ahead when a still took longer than an interval.
 * - The shooter takes a still outside the lock: it acquires a full-size
 *   variant of the JPEG stage at the configured quality (demand only while
 *   it waits, so nothing is encoded between stills), waits for an image of a
 *   frame captured after the request, releases the variant and writes the
 *   image to a hidden temporary file. Then, under the lock, it commits the
 *   still (rename, count, stills.csv, session.json) only if the session is
 *   still the same one (generation) and still running: a pause, stop or
 *   abort that came meanwhile wins, and the still is discarded. So the
 *   stills on disk when a stop returns are exactly the session's shots.
 * - Stopping queues the session for the assembler thread (JOBS_MAX), which
 *   makes the video at a lower CPU priority (nice 10; libx264's threads
 *   inherit it) so capture keeps its share of the CPU.
 * - session.json is rewritten (temporary file + rename) on every change,
 *   fsync'ed on state changes; stills are fsync'ed before their rename.
 *
 * Locking: tl->lock guards cur, gen, next_due, the pending ring, the job
 * queue and stats. Events are published under it (publishing never blocks).
 * Disk writes under it are limited to session.json and one stills.csv line. */
#include "record/timelapse.h"

#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/ring.h"
#include "base/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SESSION_FORMAT "camrig-timelapse/1"
#define SESSION_FILE "session.json"
#define STILLS_CSV "stills.csv"
#define PENDING_MAX 16                        /* triggered shots waiting */
#define JOBS_MAX 8                            /* stopped sessions waiting for the assembler */
#define SCAN_MAX 100000                       /* entries of PHOTOS_ROOT looked at on start-up */
#define SHOT_TIMEOUT_NS (5 * CR_NS_PER_SEC)   /* a still's frame must come within this */
#define IDLE_WAIT_NS (60 * CR_NS_PER_SEC)     /* longest sleep without a deadline */
#define NAME_LEN 128
#define ASSEMBLE_NICE 10
#define DEFAULT_FPS 25.0

struct session {
	enum cr_timelapse_state state;        /* IDLE: none (the fields describe the last one) */
	char name[NAME_LEN];
	char dir[CR_TIMELAPSE_PATH_MAX];
	char video[CR_TIMELAPSE_PATH_MAX];    /* absolute path of the MP4 to make */
	double interval_s;                    /* 0: shots on trigger only */
	double fps;
	int quality;
	unsigned shots;
	unsigned next_number;                 /* of the next still */
	int64_t created_utc_us;
};

struct job {
	char name[NAME_LEN];
	char dir[CR_TIMELAPSE_PATH_MAX];
	char video[CR_TIMELAPSE_PATH_MAX];
	double fps;
};

struct cr_timelapse {
	struct cr_camera *camera;
	struct cr_jpeg_stage *jpeg;
	const struct cr_timelapse_config *config;
	struct cr_events *events;
	const char *name;                     /* the camera's */
	unsigned sessions;                    /* sessions started ({n} of timelapse.session_name); under lock */
	pthread_t shooter, assembler;
	bool shooter_started, assembler_started;
	atomic_bool cancel;                   /* set at free: waits and the assembly give up */

	pthread_mutex_t lock;
	pthread_cond_t shooter_wake;          /* a session change, a shot request, stop */
	pthread_cond_t assembler_wake;        /* a job, stop */
	bool stopping;
	struct session cur;
	uint64_t gen;                         /* bumped when a session starts or ends */
	int64_t next_due_ns;                  /* the next interval still, CLOCK_MONOTONIC ns */
	struct cr_ring pending;               /* of enum cr_trigger: triggered shots, PENDING_MAX */
	uint64_t min_index;                   /* the next still must be of a frame at least this new */
	bool failing;                         /* the last still failed (log once per streak) */
	struct cr_ring jobs;                  /* of struct job: stopped sessions, JOBS_MAX */
	struct cr_timelapse_stats stats;      /* last still, last video, errors, assembling */
	cr_timelapse_columns_fn columns;      /* extra stills.csv columns (sensors); NULL: none */
	void *columns_ctx;
};

void cr_timelapse_set_columns(struct cr_timelapse *tl, cr_timelapse_columns_fn fn, void *ctx)
{
	tl->columns = fn;
	tl->columns_ctx = ctx;
}

const char *cr_timelapse_state_name(enum cr_timelapse_state state)
{
	switch (state) {
	case CR_TIMELAPSE_RUNNING: return "running";
	case CR_TIMELAPSE_PAUSED: return "paused";
	default: return "idle";
	}
}

/* ---- files ---------------------------------------------------------------------- */

/* snprintf into a fixed buffer where cutting a long path short is fine. */
static void text(char *dst, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void text(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

static int append_line(const char *path, const char *line)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644), ret = 0;
	size_t len = strlen(line);

	if (fd < 0)
		return -errno;
	if (write(fd, line, len) != (ssize_t)len)
		ret = -EIO;
	close(fd);
	return ret;
}

/* Writes json into DIR/session.json through a temporary file and a rename. */
static int json_write(const char *dir, json_t *json, bool sync)
{
	char path[CR_TIMELAPSE_PATH_MAX + 32], tmp[CR_TIMELAPSE_PATH_MAX + 32];
	char *text = json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int ret;

	snprintf(path, sizeof(path), "%s/" SESSION_FILE, dir);
	snprintf(tmp, sizeof(tmp), "%s/." SESSION_FILE ".tmp", dir);
	if (!text)
		return -ENOMEM;
	text = cr_realloc(text, strlen(text) + 2);
	strcat(text, "\n");
	ret = cr_fs_write_file(tmp, text, strlen(text), sync);
	free(text);
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* Lays changes (taken) over DIR/session.json. Returns -ENOENT without one. */
static int json_update(const char *dir, json_t *changes)
{
	char path[CR_TIMELAPSE_PATH_MAX + 32], iso[40];
	json_t *json;
	int ret;

	snprintf(path, sizeof(path), "%s/" SESSION_FILE, dir);
	json = json_load_file(path, JSON_PRESERVE_ORDER, NULL);
	if (!json_is_object(json)) {
		json_decref(json);
		json_decref(changes);
		return -ENOENT;
	}
	json_object_update(json, changes);
	json_decref(changes);
	json_object_set_new(json, "updated", json_string(cr_time_iso8601(cr_time_utc_us(), iso, sizeof(iso))));
	ret = json_write(dir, json, true);
	json_decref(json);
	return ret;
}

/* The on-disk state of the current session, and its name there. */
static const char *disk_state(enum cr_timelapse_state state)
{
	return state == CR_TIMELAPSE_PAUSED ? "paused" : "running";
}

static int session_write(struct cr_timelapse *tl, const struct session *s, const char *state, bool sync)
{
	char created[40], updated[40];
	json_t *json = json_pack("{s:s, s:o, s:o, s:s, s:f, s:f, s:i, s:i, s:s, s:f, s:s, s:o}",
		"format", SESSION_FORMAT, "camera", cr_json_str(tl->name), "session", cr_json_str(s->name), "state", state,
		"interval", s->interval_s, "fps", s->fps, "quality", s->quality, "shots", (int)s->shots,
		"created", cr_time_iso8601(s->created_utc_us, created, sizeof(created)),
		"created_unix", (double)s->created_utc_us / 1e6,
		"updated", cr_time_iso8601(cr_time_utc_us(), updated, sizeof(updated)), "video", cr_json_str(s->video));
	int ret = json_write(s->dir, json, sync);

	json_decref(json);
	if (ret < 0)
		cr_warn("timelapse: %s: cannot write %s/" SESSION_FILE ": %s", tl->name, s->dir, cr_strerror(ret));
	return ret;
}

/* root made absolute against the working directory. */
static int absolute(const char *root, char *out, size_t len)
{
	char cwd[PATH_MAX];

	if (root[0] == '/')
		return snprintf(out, len, "%s", root) >= (int)len ? -ENAMETOOLONG : 0;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return snprintf(out, len, "%s/%s", cwd, root) >= (int)len ? -ENAMETOOLONG : 0;
}

static void publish(struct cr_timelapse *tl, const char *type, const struct session *s, json_t *data)
{
	if (!data)
		data = json_object();
	json_object_set_new(data, "camera", cr_json_str(tl->name));
	json_object_set_new(data, "session", cr_json_str(s->name));
	if (tl->events)
		cr_events_publish(tl->events, type, data);
	else
		json_decref(data);
}

/* ---- sessions (under tl->lock) ------------------------------------------------------ */

static int claim_dir(void *ctx, const char *path)
{
	return mkdir(path, 0755) == 0 ? 0 : -errno;
}

/* Makes the directory of a new session started now. */
static int session_create(struct cr_timelapse *tl, double interval_s, struct session *s, char *msg, size_t len)
{
	const struct cr_timelapse_config *c = tl->config;
	int64_t utc_us = cr_time_utc_us();
	const struct cr_fs_name_fields fields = { .utc_us = utc_us, .camera = tl->name, .number = ++tl->sessions,
						  .local = strcmp(c->timezone, "local") == 0 };
	char name[CR_TIMELAPSE_PATH_MAX], first[CR_TIMELAPSE_PATH_MAX], videos[CR_TIMELAPSE_PATH_MAX];
	char csv[CR_TIMELAPSE_PATH_MAX + 16], extra[CR_TIMELAPSE_COLUMNS_MAX], header[CR_TIMELAPSE_COLUMNS_MAX + 128];
	int ret;

	memset(s, 0, sizeof(*s));
	ret = cr_fs_make_dirs(c->photos_root);
	if (ret < 0) {
		snprintf(msg, len, "cannot make %s: %s", c->photos_root, cr_strerror(ret));
		return -EIO;
	}
	ret = absolute(c->videos_root, videos, sizeof(videos));
	if (ret < 0) {
		snprintf(msg, len, "%s: %s", c->videos_root, cr_strerror(ret));
		return -EIO;
	}
	ret = cr_fs_name_expand(c->session_name, &fields, name, sizeof(name), NULL, 0);
	if (ret == 0 && snprintf(first, sizeof(first), "%s/%s", c->photos_root, name) >= (int)sizeof(first))
		ret = -ENAMETOOLONG;
	if (ret == 0)
		ret = cr_fs_claim_unique(first, s->dir, sizeof(s->dir), claim_dir, NULL);
	if (ret == 0) {
		snprintf(s->name, sizeof(s->name), "%s", strrchr(s->dir, '/') + 1);
		if (snprintf(s->video, sizeof(s->video), "%s/%s.mp4", videos, s->name) >= (int)sizeof(s->video))
			ret = -ENAMETOOLONG;
	}
	if (ret < 0) {
		snprintf(msg, len, "cannot make a session directory under %s: %s", c->photos_root, cr_strerror(ret));
		return -EIO;
	}
	s->state = CR_TIMELAPSE_RUNNING;
	s->interval_s = interval_s;
	s->fps = c->fps > 0 ? c->fps : DEFAULT_FPS;
	s->quality = c->quality > 0 ? c->quality : 95;
	s->next_number = 1;
	s->created_utc_us = utc_us;
	snprintf(csv, sizeof(csv), "%s/" STILLS_CSV, s->dir);
	extra[0] = '\0';
	if (tl->columns)
		tl->columns(tl->columns_ctx, true, extra, sizeof(extra));
	snprintf(header, sizeof(header), "number,file,capture_utc,capture_unix,frame_index,sequence,trigger%s\n", extra);
	ret = append_line(csv, header);
	if (ret == 0)
		ret = session_write(tl, s, "running", true);
	if (ret < 0) {
		snprintf(msg, len, "cannot write into %s: %s", s->dir, cr_strerror(ret));
		return -EIO;
	}
	return 0;
}

/* Queues s for the assembler. Returns 0 or -EAGAIN when the queue is full. */
static int job_push(struct cr_timelapse *tl, const struct session *s)
{
	struct job j = { .fps = s->fps };

	snprintf(j.name, sizeof(j.name), "%s", s->name);
	snprintf(j.dir, sizeof(j.dir), "%s", s->dir);
	snprintf(j.video, sizeof(j.video), "%s", s->video);
	if (cr_ring_push(&tl->jobs, &j, NULL) < 0)
		return -EAGAIN;
	pthread_cond_signal(&tl->assembler_wake);
	return 0;
}

/* Makes cur running (from a start, a resume or a restart): the first still
 * comes at once. */
static void session_run(struct cr_timelapse *tl)
{
	tl->cur.state = CR_TIMELAPSE_RUNNING;
	tl->next_due_ns = cr_time_mono_ns();
	pthread_cond_signal(&tl->shooter_wake);
}

static int do_start(struct cr_timelapse *tl, const struct cr_command *cmd, char *msg, size_t len)
{
	double interval = cmd->duration_s >= 0 ? cmd->duration_s : tl->config->interval;
	struct session s;
	int ret;

	if (tl->cur.state != CR_TIMELAPSE_IDLE) {
		snprintf(msg, len, "session %s is %s (stop or abort it first)", tl->cur.name,
			 cr_timelapse_state_name(tl->cur.state));
		return -EBUSY;
	}
	if (interval > 0 && interval < CR_TIMELAPSE_MIN_INTERVAL) {
		snprintf(msg, len, "interval %g s is too short (expected at least %g s, or 0 for shots on trigger "
			 "only)", interval, CR_TIMELAPSE_MIN_INTERVAL);
		return -EINVAL;
	}
	ret = session_create(tl, interval, &s, msg, len);
	if (ret < 0)
		return ret;
	tl->cur = s;
	tl->gen++;
	cr_ring_drop(&tl->pending, cr_ring_length(&tl->pending));
	tl->min_index = 0;
	session_run(tl);
	if (interval > 0)
		snprintf(msg, len, "session %s started in %s: a still every %g s", s.name, s.dir, interval);
	else
		snprintf(msg, len, "session %s started in %s: a still on each `timelapse shot`", s.name, s.dir);
	cr_info("timelapse: %s: %s", tl->name, msg);
	publish(tl, "timelapse_started", &s, json_pack("{s:o, s:f, s:f, s:b, s:s}", "dir", cr_json_str(s.dir), "interval",
		interval, "fps", s.fps, "resumed", 0, "trigger", cr_trigger_name(cmd->trigger)));
	return 0;
}

static int do_stop(struct cr_timelapse *tl, bool assemble, char *msg, size_t len)
{
	struct session *s = &tl->cur;
	int ret = 0;

	if (s->state == CR_TIMELAPSE_IDLE) {
		snprintf(msg, len, "no timelapse session (start one first)");
		return -EBUSY;
	}
	s->state = CR_TIMELAPSE_IDLE;
	tl->gen++;
	cr_ring_drop(&tl->pending, cr_ring_length(&tl->pending));
	pthread_cond_signal(&tl->shooter_wake);
	if (!assemble) {
		session_write(tl, s, "aborted", true);
		snprintf(msg, len, "session %s aborted after %u stills (no video; the stills stay in %s)", s->name,
			 s->shots, s->dir);
		publish(tl, "timelapse_aborted", s, json_pack("{s:o, s:i}", "dir", cr_json_str(s->dir), "shots", (int)s->shots));
	} else if (s->shots == 0) {
		session_write(tl, s, "failed", true);
		json_update(s->dir, json_pack("{s:s}", "error", "no stills"));
		snprintf(msg, len, "session %s stopped without stills: no video", s->name);
		publish(tl, "timelapse_stopped", s, json_pack("{s:o, s:i}", "dir", cr_json_str(s->dir), "shots", 0));
		publish(tl, "timelapse_finished", s, json_pack("{s:b, s:n, s:i, s:s}", "ok", 0, "video", "frames", 0,
			"error", "no stills"));
	} else {
		session_write(tl, s, "stopped", true);
		publish(tl, "timelapse_stopped", s, json_pack("{s:o, s:i, s:o}", "dir", cr_json_str(s->dir), "shots", (int)s->shots,
			"video", cr_json_str(s->video)));
		ret = job_push(tl, s);
		if (ret < 0) {
			/* It stays "stopped" on disk: the next start assembles it. */
			snprintf(msg, len, "session %s stopped after %u stills, but %d videos are being made already: "
				 "run `camrig timelapse assemble %s`", s->name, s->shots, JOBS_MAX, s->dir);
			return ret;
		}
		snprintf(msg, len, "session %s stopped after %u stills; assembling %s", s->name, s->shots, s->video);
	}
	cr_info("timelapse: %s: %s", tl->name, msg);
	return 0;
}

int cr_timelapse_control(struct cr_timelapse *tl, const struct cr_command *cmd, char *msg, size_t len)
{
	struct session *s = &tl->cur;
	int ret = 0;

	msg[0] = '\0';
	pthread_mutex_lock(&tl->lock);
	switch (cmd->timelapse) {
	case CR_TIMELAPSE_START:
		ret = do_start(tl, cmd, msg, len);
		break;
	case CR_TIMELAPSE_PAUSE:
		if (s->state != CR_TIMELAPSE_RUNNING) {
			snprintf(msg, len, s->state == CR_TIMELAPSE_IDLE ? "no timelapse session (start one first)"
				 : "session %s is paused already", s->name);
			ret = -EBUSY;
			break;
		}
		s->state = CR_TIMELAPSE_PAUSED;
		cr_ring_drop(&tl->pending, cr_ring_length(&tl->pending));
		session_write(tl, s, "paused", true);
		snprintf(msg, len, "session %s paused after %u stills", s->name, s->shots);
		cr_info("timelapse: %s: %s", tl->name, msg);
		publish(tl, "timelapse_paused", s, json_pack("{s:i}", "shots", (int)s->shots));
		break;
	case CR_TIMELAPSE_RESUME:
		if (s->state != CR_TIMELAPSE_PAUSED) {
			snprintf(msg, len, s->state == CR_TIMELAPSE_IDLE ? "no timelapse session (start one first)"
				 : "session %s is not paused", s->name);
			ret = -EBUSY;
			break;
		}
		session_run(tl);
		session_write(tl, s, "running", true);
		snprintf(msg, len, "session %s resumed at %u stills", s->name, s->shots);
		cr_info("timelapse: %s: %s", tl->name, msg);
		publish(tl, "timelapse_resumed", s, json_pack("{s:i}", "shots", (int)s->shots));
		break;
	case CR_TIMELAPSE_STOP:
	case CR_TIMELAPSE_ABORT:
		ret = do_stop(tl, cmd->timelapse == CR_TIMELAPSE_STOP, msg, len);
		break;
	case CR_TIMELAPSE_SHOT:
		if (s->state != CR_TIMELAPSE_RUNNING) {
			snprintf(msg, len, s->state == CR_TIMELAPSE_IDLE ? "no timelapse session (start one first)"
				 : "session %s is paused (resume it first)", s->name);
			ret = -EBUSY;
		} else if (cr_ring_full(&tl->pending) ||
			   s->next_number + cr_ring_length(&tl->pending) > CR_ASSEMBLE_MAX_STILLS) {
			snprintf(msg, len, "session %s: %u shots are waiting already", s->name,
				 cr_ring_length(&tl->pending));
			ret = -EAGAIN;
		} else {
			cr_ring_push(&tl->pending, &cmd->trigger, NULL);
			pthread_cond_signal(&tl->shooter_wake);
			snprintf(msg, len, "session %s: still queued (%u taken so far)", s->name, s->shots);
		}
		break;
	}
	pthread_mutex_unlock(&tl->lock);
	return ret;
}

/* ---- the shooter ---------------------------------------------------------------------- */

struct shot {
	uint64_t gen;
	unsigned number;
	char dir[CR_TIMELAPSE_PATH_MAX];
	int quality;
	uint64_t min_index;
	enum cr_trigger trigger;
	char tmp[CR_TIMELAPSE_PATH_MAX + 32];   /* the still before its rename; "" if none */
	char file[CR_TIMELAPSE_PATH_MAX + 32];
};

/* Takes a full-size JPEG of a frame captured from now on (and newer than
 * shot->min_index) and writes it to shot->tmp. */
static int shoot(struct cr_timelapse *tl, struct shot *shot, struct cr_jpeg **out, char *why, size_t len)
{
	const struct cr_source_format *f = cr_camera_format(tl->camera);
	struct cr_jpeg_params p = { .width = f->width, .height = f->height, .quality = shot->quality };
	uint64_t min = cr_camera_frames_published(tl->camera);
	int ret;

	if (shot->min_index > min)
		min = shot->min_index;
	p = cr_jpeg_stage_params(tl->jpeg, &p);
	ret = cr_jpeg_stage_take(tl->jpeg, &p, min, SHOT_TIMEOUT_NS, &tl->cancel, out);
	if (ret == -EBUSY) {
		snprintf(why, len, "the JPEG stage has too many image sizes in use");
		return ret;
	}
	if (ret < 0) {
		snprintf(why, len, "no frame from the camera within %d s (%s)", (int)(SHOT_TIMEOUT_NS / CR_NS_PER_SEC),
			 cr_strerror(ret));
		return ret;
	}
	snprintf(shot->file, sizeof(shot->file), "%s/%s_%06u.jpg", shot->dir, tl->name, shot->number);
	snprintf(shot->tmp, sizeof(shot->tmp), "%s/.%s_%06u.jpg.tmp", shot->dir, tl->name, shot->number);
	ret = cr_fs_write_file(shot->tmp, (*out)->data, (*out)->size, true);
	if (ret < 0) {
		snprintf(why, len, "cannot write %s: %s", shot->tmp, cr_strerror(ret));
		unlink(shot->tmp);
		shot->tmp[0] = '\0';
		cr_jpeg_unref(out);
	}
	return ret;
}

/* Under tl->lock: makes the still part of the session if it still may be. */
static void commit(struct cr_timelapse *tl, struct shot *shot, const struct cr_jpeg *jpeg)
{
	struct session *s = &tl->cur;
	char line[CR_TIMELAPSE_PATH_MAX + 256 + CR_TIMELAPSE_COLUMNS_MAX], iso[40], csv[CR_TIMELAPSE_PATH_MAX + 16];
	char extra[CR_TIMELAPSE_COLUMNS_MAX] = "";
	const char *base;

	if (shot->gen != tl->gen || s->state != CR_TIMELAPSE_RUNNING) {
		unlink(shot->tmp);
		return;
	}
	if (rename(shot->tmp, shot->file) < 0) {
		text(tl->stats.last_error, sizeof(tl->stats.last_error), "cannot rename %s: %s", shot->tmp,
			 strerror(errno));
		tl->stats.errors++;
		unlink(shot->tmp);
		cr_warn("timelapse: %s: %s", tl->name, tl->stats.last_error);
		return;
	}
	s->shots++;
	s->next_number = shot->number + 1;
	tl->min_index = jpeg->index + 1;
	text(tl->stats.last_still, sizeof(tl->stats.last_still), "%s", shot->file);
	tl->stats.last_still_utc_us = jpeg->utc_us;
	base = strrchr(shot->file, '/') + 1;
	cr_time_iso8601(jpeg->utc_us, iso, sizeof(iso));
	if (tl->columns)
		tl->columns(tl->columns_ctx, false, extra, sizeof(extra));
	snprintf(line, sizeof(line), "%u,%s,%s,%" PRId64 ".%06" PRId64 ",%" PRIu64 ",%" PRIu32 ",%s%s\n", shot->number,
		 base, iso, jpeg->utc_us / CR_US_PER_SEC, jpeg->utc_us % CR_US_PER_SEC, jpeg->index, jpeg->sequence,
		 cr_trigger_name(shot->trigger), extra);
	snprintf(csv, sizeof(csv), "%s/" STILLS_CSV, s->dir);
	append_line(csv, line);
	session_write(tl, s, "running", false);
	if (tl->failing)
		cr_info("timelapse: %s: stills are taken again", tl->name);
	tl->failing = false;
	publish(tl, "timelapse_shot", s, json_pack("{s:i, s:o, s:s, s:s, s:I}", "shot", (int)shot->number, "file",
		cr_json_str(shot->file), "capture_time", iso, "trigger", cr_trigger_name(shot->trigger), "mono_ns",
		(json_int_t)jpeg->mono_ns));
}

static void *shooter_thread(void *arg)
{
	struct cr_timelapse *tl = arg;
	char name[16];

	snprintf(name, sizeof(name), "tl:%s", tl->name);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&tl->lock);
	while (!tl->stopping) {
		int64_t now = cr_time_mono_ns();
		struct session *s = &tl->cur;
		bool interval_due = s->interval_s > 0 && now >= tl->next_due_ns;
		struct cr_jpeg *jpeg = NULL;
		struct shot shot;
		char why[CR_TIMELAPSE_PATH_MAX + 64];
		struct timespec until;
		int ret;

		if (s->state != CR_TIMELAPSE_RUNNING || (!interval_due && cr_ring_length(&tl->pending) == 0)) {
			until = cr_time_ts(s->state == CR_TIMELAPSE_RUNNING && s->interval_s > 0 ? tl->next_due_ns
											: now + IDLE_WAIT_NS);
			pthread_cond_timedwait(&tl->shooter_wake, &tl->lock, &until);
			continue;
		}
		if (s->next_number > CR_ASSEMBLE_MAX_STILLS) {
			/* Numbers have 6 digits: the session is full. */
			cr_ring_drop(&tl->pending, cr_ring_length(&tl->pending));
			tl->next_due_ns = now + IDLE_WAIT_NS;
			cr_warn("timelapse: %s: session %s has %u stills, the most one session takes: stop it", tl->name,
				s->name, s->shots);
			continue;
		}
		memset(&shot, 0, sizeof(shot));
		if (!cr_ring_pop(&tl->pending, &shot.trigger)) { /* a triggered shot first, else the interval's */
			shot.trigger = CR_TRIGGER_SCHEDULE;
			tl->next_due_ns += (int64_t)(s->interval_s * 1e9);
			if (tl->next_due_ns <= now)
				tl->next_due_ns = now + (int64_t)(s->interval_s * 1e9);
		}
		shot.gen = tl->gen;
		shot.number = s->next_number;
		shot.quality = s->quality;
		shot.min_index = tl->min_index;
		snprintf(shot.dir, sizeof(shot.dir), "%s", s->dir);
		pthread_mutex_unlock(&tl->lock);

		ret = shoot(tl, &shot, &jpeg, why, sizeof(why));

		pthread_mutex_lock(&tl->lock);
		if (ret == 0) {
			commit(tl, &shot, jpeg);
		} else if (shot.gen == tl->gen && !tl->stopping) {
			tl->stats.errors++;
			text(tl->stats.last_error, sizeof(tl->stats.last_error), "still %u: %s", shot.number, why);
			if (!tl->failing)
				cr_warn("timelapse: %s: session %s: %s", tl->name, tl->cur.name, tl->stats.last_error);
			tl->failing = true;
		}
		cr_jpeg_unref(&jpeg);
	}
	pthread_mutex_unlock(&tl->lock);
	return NULL;
}

/* ---- the assembler ---------------------------------------------------------------------- */

/* Makes the video of job; its session.json says how it went. */
static int assemble_job(struct cr_timelapse *tl, const struct job *job, struct cr_assemble_result *res, char *why,
			size_t len)
{
	const struct cr_timelapse_config *c = tl->config;
	struct cr_assemble_params params = { .fps = job->fps, .crf = c->crf, .preset = c->preset, .cancel = &tl->cancel };
	int ret = cr_fs_make_parent(job->video);

	if (ret < 0) {
		snprintf(why, len, "cannot make the directory of %s: %s", job->video, cr_strerror(ret));
		return ret;
	}
	cr_info("timelapse: %s: assembling %s into %s at %g fps", tl->name, job->dir, job->video, job->fps);
	return cr_assemble(job->dir, job->video, &params, res, why, len);
}

static void *assembler_thread(void *arg)
{
	struct cr_timelapse *tl = arg;
	char name[16];

	snprintf(name, sizeof(name), "tl-asm:%s", tl->name);
	pthread_setname_np(pthread_self(), name);
	/* Below capture and the live view; the encoder's threads inherit it. */
	setpriority(PRIO_PROCESS, (id_t)gettid(), ASSEMBLE_NICE);
	pthread_mutex_lock(&tl->lock);
	while (!tl->stopping) {
		struct cr_assemble_result res = { 0 };
		struct session done = { 0 };
		char why[CR_TIMELAPSE_PATH_MAX + 256];
		struct job job;
		int ret;

		if (cr_ring_length(&tl->jobs) == 0) {
			struct timespec until = cr_time_ts(cr_time_mono_ns() + IDLE_WAIT_NS);

			pthread_cond_timedwait(&tl->assembler_wake, &tl->lock, &until);
			continue;
		}
		job = *(struct job *)cr_ring_at(&tl->jobs, 0);
		tl->stats.assembling = true;
		pthread_mutex_unlock(&tl->lock);

		ret = assemble_job(tl, &job, &res, why, sizeof(why));
		snprintf(done.name, sizeof(done.name), "%s", job.name);
		if (ret == -ECANCELED) {
			cr_info("timelapse: %s: assembly of %s interrupted; it goes on at the next start", tl->name,
				job.name);
		} else if (ret < 0) {
			cr_warn("timelapse: %s: cannot assemble %s: %s", tl->name, job.name, why);
			json_update(job.dir, json_pack("{s:s, s:o}", "state", "failed", "error", cr_json_str(why)));
		} else {
			cr_info("timelapse: %s: wrote %s: %u frames of %dx%d at %g fps in %.1f s%s", tl->name, job.video,
				res.frames, res.width, res.height, job.fps, res.seconds,
				res.skipped ? " (some stills did not decode)" : "");
			json_update(job.dir, json_pack("{s:s, s:o, s:i, s:i}", "state", "finished", "video", cr_json_str(job.video),
						       "frames", (int)res.frames, "skipped", (int)res.skipped));
		}

		pthread_mutex_lock(&tl->lock);
		cr_ring_drop(&tl->jobs, 1);
		tl->stats.assembling = false;
		if (ret == 0) {
			snprintf(tl->stats.last_video, sizeof(tl->stats.last_video), "%s", job.video);
			tl->stats.last_video_frames = res.frames;
			publish(tl, "timelapse_finished", &done, json_pack("{s:b, s:o, s:i, s:i, s:f, s:o}", "ok", 1,
				"video", cr_json_str(job.video), "frames", (int)res.frames, "skipped", (int)res.skipped,
				"seconds", res.seconds, "dir", cr_json_str(job.dir)));
		} else if (ret != -ECANCELED) {
			tl->stats.errors++;
			text(tl->stats.last_error, sizeof(tl->stats.last_error), "%s", why);
			publish(tl, "timelapse_finished", &done, json_pack("{s:b, s:n, s:i, s:o, s:o}", "ok", 0, "video",
				"frames", 0, "error", cr_json_str(why), "dir", cr_json_str(job.dir)));
		}
	}
	pthread_mutex_unlock(&tl->lock);
	return NULL;
}

/* ---- start-up: interrupted sessions -------------------------------------------------------- */

static double json_num(json_t *json, const char *key, double fallback)
{
	json_t *v = json_object_get(json, key);

	return json_is_number(v) ? json_number_value(v) : fallback;
}

static const char *json_str(json_t *json, const char *key)
{
	return json_string_value(json_object_get(json, key));
}

/* Reads a session directory's session.json into s (IDLE, numbers from the
 * stills on disk) when it belongs to this camera. */
static int session_load(struct cr_timelapse *tl, const char *dir, const char *name, struct session *s, char *state,
			size_t state_len)
{
	char path[CR_TIMELAPSE_PATH_MAX + 32], videos[CR_TIMELAPSE_PATH_MAX];
	struct cr_assemble_stills stills;
	const char *v;
	json_t *json;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "%s/" SESSION_FILE, dir);
	json = json_load_file(path, 0, NULL);
	if (!json_is_object(json) || !cr_json_str_is(json_object_get(json, "camera"), tl->name) ||
	    !json_str(json, "state"))
		goto end;
	memset(s, 0, sizeof(*s));
	snprintf(state, state_len, "%s", json_str(json, "state"));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	/* The video's own path unless session.json holds it escaped. */
	v = json_str(json, "video");
	if (absolute(tl->config->videos_root, videos, sizeof(videos)) == 0)
		text(s->video, sizeof(s->video), "%s/%s.mp4", videos, name);
	if (v && v[0] && !cr_json_str_is(json_object_get(json, "video"), s->video))
		snprintf(s->video, sizeof(s->video), "%s", v);
	s->interval_s = json_num(json, "interval", tl->config->interval);
	s->fps = json_num(json, "fps", tl->config->fps);
	if (!(s->fps > 0))
		s->fps = DEFAULT_FPS;
	s->quality = (int)json_num(json, "quality", tl->config->quality);
	if (s->quality < 1 || s->quality > 100)
		s->quality = 95;
	s->created_utc_us = (int64_t)(json_num(json, "created_unix", 0) * 1e6);
	if (cr_assemble_list(dir, &stills) == 0) {
		s->shots = stills.count;
		s->next_number = stills.max_number + 1;
	} else {
		s->next_number = 1;
	}
	cr_assemble_stills_free(&stills);
	ret = 0;
end:
	json_decref(json);
	return ret;
}

/* With config->resume: resumes the newest running or paused session of
 * this camera and queues the stopped ones for assembly. Before the threads. */
static void sessions_recover(struct cr_timelapse *tl)
{
	const char *root = tl->config->photos_root;
	size_t prefix = strlen(tl->name), seen = 0;
	struct session best = { 0 }, s;
	char best_state[16] = "", state[16];
	struct dirent *de;
	DIR *d = opendir(root);

	if (!d)
		return;
	while ((de = readdir(d)) && seen++ < SCAN_MAX) {
		char dir[CR_TIMELAPSE_PATH_MAX];

		if (strncmp(de->d_name, tl->name, prefix) != 0 || de->d_name[prefix] != '_' ||
		    strlen(de->d_name) >= NAME_LEN ||
		    snprintf(dir, sizeof(dir), "%s/%s", root, de->d_name) >= (int)sizeof(dir) ||
		    session_load(tl, dir, de->d_name, &s, state, sizeof(state)) < 0)
			continue;
		if (strcmp(state, "running") == 0 || strcmp(state, "paused") == 0) {
			if (!best.name[0] || s.created_utc_us > best.created_utc_us) {
				best = s;
				snprintf(best_state, sizeof(best_state), "%s", state);
			}
		} else if (strcmp(state, "stopped") == 0) {
			if (job_push(tl, &s) == 0)
				cr_info("timelapse: %s: session %s was stopped before its video was made: assembling it",
					tl->name, s.name);
		}
	}
	closedir(d);
	if (!best.name[0])
		return;
	tl->cur = best;
	tl->gen++;
	if (strcmp(best_state, "paused") == 0)
		tl->cur.state = CR_TIMELAPSE_PAUSED;
	else
		session_run(tl);
	session_write(tl, &tl->cur, disk_state(tl->cur.state), true);
	cr_info("timelapse: %s: resumed session %s (%s, %u stills so far, next %06u)", tl->name, best.name,
		cr_timelapse_state_name(tl->cur.state), best.shots, best.next_number);
	publish(tl, "timelapse_started", &tl->cur, json_pack("{s:o, s:f, s:f, s:b, s:s, s:i}", "dir", cr_json_str(best.dir),
		"interval", best.interval_s, "fps", best.fps, "resumed", 1, "state",
		cr_timelapse_state_name(tl->cur.state), "shots", (int)best.shots));
	if (tl->cur.state == CR_TIMELAPSE_PAUSED)
		publish(tl, "timelapse_paused", &tl->cur, json_pack("{s:i}", "shots", (int)best.shots));
}

/* ---- object ---------------------------------------------------------------------------------- */

int cr_timelapse_new(struct cr_camera *cam, struct cr_jpeg_stage *jpeg, const struct cr_timelapse_config *config,
		     struct cr_events *events, struct cr_timelapse **out)
{
	struct cr_timelapse *tl = CR_NEW(tl);

	tl->camera = cam;
	tl->jpeg = jpeg;
	tl->config = config;
	tl->events = events;
	tl->name = cr_camera_config(cam)->name;
	pthread_mutex_init(&tl->lock, NULL);
	cr_ring_init(&tl->pending, PENDING_MAX, sizeof(enum cr_trigger), CR_RING_DROP_NEWEST);
	cr_ring_init(&tl->jobs, JOBS_MAX, sizeof(struct job), CR_RING_DROP_NEWEST);
	cr_time_cond_init(&tl->shooter_wake);
	cr_time_cond_init(&tl->assembler_wake);
	if (config->resume) {
		pthread_mutex_lock(&tl->lock);
		sessions_recover(tl);
		pthread_mutex_unlock(&tl->lock);
	}
	*out = tl;
	return 0;
}

int cr_timelapse_start(struct cr_timelapse *tl)
{
	int ret = -pthread_create(&tl->assembler, NULL, assembler_thread, tl);

	tl->assembler_started = ret == 0;
	if (ret == 0) {
		ret = -pthread_create(&tl->shooter, NULL, shooter_thread, tl);
		tl->shooter_started = ret == 0;
	}
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "timelapse: %s: cannot start: %s", tl->name, cr_strerror(ret));
	return 0;
}

void cr_timelapse_stop(struct cr_timelapse *tl)
{
	atomic_store(&tl->cancel, true);
	pthread_mutex_lock(&tl->lock);
	tl->stopping = true;
	pthread_cond_broadcast(&tl->shooter_wake);
	pthread_cond_broadcast(&tl->assembler_wake);
	pthread_mutex_unlock(&tl->lock);
	if (tl->shooter_started)
		pthread_join(tl->shooter, NULL);
	if (tl->assembler_started)
		pthread_join(tl->assembler, NULL);
	tl->shooter_started = tl->assembler_started = false;
}

void cr_timelapse_free(struct cr_timelapse **ptl)
{
	struct cr_timelapse *tl = *ptl;

	if (!tl)
		return;
	*ptl = NULL;
	cr_timelapse_stop(tl);
	pthread_cond_destroy(&tl->shooter_wake);
	pthread_cond_destroy(&tl->assembler_wake);
	pthread_mutex_destroy(&tl->lock);
	cr_ring_fini(&tl->pending);
	cr_ring_fini(&tl->jobs);
	free(tl);
}

void cr_timelapse_stats(struct cr_timelapse *tl, struct cr_timelapse_stats *stats)
{
	pthread_mutex_lock(&tl->lock);
	*stats = tl->stats;
	stats->state = tl->cur.state;
	snprintf(stats->session, sizeof(stats->session), "%s", tl->cur.name);
	snprintf(stats->dir, sizeof(stats->dir), "%s", tl->cur.dir);
	stats->shots = tl->cur.shots;
	stats->interval_s = tl->cur.interval_s;
	stats->fps = tl->cur.fps;
	stats->quality = tl->cur.quality;
	stats->pending_shots = cr_ring_length(&tl->pending);
	stats->assembly_queue = cr_ring_length(&tl->jobs);
	pthread_mutex_unlock(&tl->lock);
}

/* ---- offline ---------------------------------------------------------------------------------- */

int cr_timelapse_assemble_dir(const char *dir, double fps, const char *output, char *path, size_t path_len,
			      struct cr_assemble_result *result, char *why, size_t why_len)
{
	struct cr_assemble_params params = { .crf = 23, .preset = "medium" };
	char file[CR_TIMELAPSE_PATH_MAX + 32], clean[CR_TIMELAPSE_PATH_MAX];
	struct cr_assemble_result res = { 0 };
	const char *video;
	json_t *json;
	size_t n;
	int ret;

	why[0] = '\0';
	path[0] = '\0';
	if (snprintf(clean, sizeof(clean), "%s", dir) >= (int)sizeof(clean)) {
		snprintf(why, why_len, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	n = strlen(clean);
	while (n > 1 && clean[n - 1] == '/')
		clean[--n] = '\0';
	snprintf(file, sizeof(file), "%s/" SESSION_FILE, clean);
	json = json_load_file(file, 0, NULL);
	params.fps = fps > 0 ? fps : json_num(json, "fps", DEFAULT_FPS);
	if (!(params.fps > 0))
		params.fps = DEFAULT_FPS;
	video = output ? output : json_str(json, "video");
	if (video && video[0]) {
		snprintf(path, path_len, "%s", video);
		/* The daemon's videos root may not exist here: then beside DIR. */
		if (cr_fs_make_parent(path) < 0 && !output)
			path[0] = '\0';
	}
	if (!path[0])
		snprintf(path, path_len, "%s.mp4", clean);
	json_decref(json);
	ret = cr_assemble(clean, path, &params, &res, why, why_len);
	if (ret == 0)
		json_update(clean, json_pack("{s:s, s:o, s:i, s:i}", "state", "finished", "video", cr_json_str(path), "frames",
					     (int)res.frames, "skipped", (int)res.skipped));
	else if (ret != -ECANCELED)
		json_update(clean, json_pack("{s:s, s:o}", "state", "failed", "error", cr_json_str(why)));
	if (result)
		*result = res;
	return ret;
}
