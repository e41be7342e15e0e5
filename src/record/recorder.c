/* The recorder (see recorder.h for the model and file naming; the file
 * being written is recorder_file.c).
 *
 * Design:
 * - The encoder thread calls sink() for every packet. Under rec->lock it
 *   goes into the pre-trigger ring and, while recording, onto the recorder's
 *   queue. Start and stop are queued on the same queue, so the recorder
 *   thread sees packets, starts and stops in the order they happened: a
 *   start carries the ring's packets from before the trigger, and every
 *   packet queued after it belongs to that recording. Without the
 *   pre-trigger the encoder only gets frames while a recording wants them,
 *   and what its codec still held from an earlier one (its delay) comes out
 *   after the next start: a recording skips frames published before it
 *   began (start.first_index).
 * - The queue is bounded (QUEUE_PACKETS, and recording.queue_mb bytes of
 *   packets, though an empty queue takes any one); a packet that does not fit is
 *   dropped and counted, and shows in the sidecar as a "dropped" row. After
 *   such a drop a stream with inter frames is written again from its next
 *   keyframe (the packets in between get "dropped" rows of their own).
 * - The file (recorder_file.c) opens on the first keyframe; a recording
 *   may span several (segments, a camera lost and back, a size change).
 * - Sessions (recording.split: session): a stop the thread carries out
 *   pauses the output instead of ending it (finish_span()): the file and
 *   sidecar stay open, and the next start resumes them (resume_span()).
 *   Anything else that ends a recording (disk, camera, write error, camrig
 *   stopping) closes the session file; the next start opens a new one.
 * - The thread wakes at least once a second while writing to check the
 *   free space (statvfs of the root), the camera's state and the duration.
 *   A stop it decides itself (duration, disk, camera lost, write error)
 *   ends the recording only if no newer one has started since (rec->gen).
 *
 * Locking: rec->lock guards the queue, the ring, the recording flag, the
 * generation, the demand held on the encoder, and the stats. The muxer and
 * sidecar belong to the recorder thread. Lock order: rec->lock, then the
 * encoder's lock (cr_video_encoder_demand). */
#include "record/recorder_internal.h"

#include "base/error.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_PACKETS 2048           /* packets waiting for the thread */
#define QUEUE_CONTROL 16             /* starts and stops waiting */
#define CHECK_INTERVAL_NS CR_NS_PER_SEC
#define LOST_DRAIN_NS (3 * CR_NS_PER_SEC) /* after a loss, how long frames from before it may still come */
#define DEADLINE_SLACK_NS CR_NS_PER_SEC  /* a timed recording without packets stops this late */
#define CATCH_UP_MAX_NS (30 * CR_NS_PER_SEC) /* ... or, while the encoder is behind, at most this late */

/* ---- the queue (under rec->lock) ---------------------------------------- */

static bool queue_push(struct cr_recorder *rec, const struct item *item)
{
	if (item->kind == ITEM_PACKET ? rec->npackets >= QUEUE_PACKETS ||
						(rec->npackets > 0 &&
						 rec->packet_bytes + cr_packet_size(item->pkt) > rec->budget)
				      : rec->ncontrol >= QUEUE_CONTROL)
		return false;
	cr_ring_push(&rec->queue, item, NULL);
	if (item->kind == ITEM_PACKET) {
		rec->npackets++;
		rec->packet_bytes += cr_packet_size(item->pkt);
		if (rec->packet_bytes > rec->stats.queue_peak_bytes)
			rec->stats.queue_peak_bytes = rec->packet_bytes;
	} else {
		rec->ncontrol++;
	}
	pthread_cond_signal(&rec->wake);
	return true;
}

static bool queue_pop(struct cr_recorder *rec, struct item *item)
{
	if (!cr_ring_pop(&rec->queue, item))
		return false;
	if (item->kind == ITEM_PACKET) {
		rec->npackets--;
		rec->packet_bytes -= cr_packet_size(item->pkt);
	} else {
		rec->ncontrol--;
	}
	return true;
}

static void start_free(struct start *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->npre; i++)
		cr_packet_unref(&s->pre[i]);
	free(s->pre);
	free(s);
}

static void item_clear(struct item *item)
{
	cr_packet_unref(&item->pkt);
	start_free(item->start);
	free(item->reason);
	memset(item, 0, sizeof(*item));
}

/* ---- the sink (encoder thread) ------------------------------------------- */

static void sink(void *ctx, struct cr_packet *pkt)
{
	struct cr_recorder *rec = ctx;

	pthread_mutex_lock(&rec->lock);
	if (rec->ring)
		cr_prebuffer_push(rec->ring, pkt);
	if (rec->recording) {
		struct item item = { .kind = ITEM_PACKET, .pkt = pkt, .after_drop = rec->drop_pending };

		if (queue_push(rec, &item)) {
			cr_packet_ref(pkt);
			rec->drop_pending = false;
		} else {
			rec->drop_pending = true;
			rec->stats.queue_dropped++;
		}
	}
	pthread_mutex_unlock(&rec->lock);
}

/* ---- the recorder thread ----------------------------------------------------- */

/* The recording being written ends or pauses (paused: a session file stays
 * open): when the thread decided it (self), the recording is turned off
 * unless a newer one has started; the state shows reason. */
static void recording_off(struct cr_recorder *rec, const char *reason, bool self, bool paused)
{
	pthread_mutex_lock(&rec->lock);
	if (self && rec->gen == rec->out.start.gen && rec->recording) {
		rec->recording = false;
		rec->stop_pending = false;
		rec->stats.recording = false;
		if (rec->demand_held)
			cr_video_encoder_demand(rec->encoder, false);
		rec->demand_held = false;
	}
	snprintf(rec->stats.reason, sizeof(rec->stats.reason), "%s", reason);
	if (rec->gen == rec->out.start.gen)
		rec->stats.stopping = false;
	rec->stats.paused = paused;
	pthread_mutex_unlock(&rec->lock);
}

/* Ends the recording being written: finalizes the file, records why, and,
 * when the thread decided it (self), turns the recording off unless a newer
 * one has started. */
static void end_recording(struct cr_recorder *rec, const char *reason, bool self)
{
	struct output *o = &rec->out;

	if (!o->active && !o->paused)
		return;
	cr_recorder_file_close(rec, reason);
	if (o->discard && o->path[0]) {
		unlink(o->path);
		unlink(o->sidecar_path);
		cr_info("%s: %s discarded", rec->name, o->path);
	}
	recording_off(rec, reason, self, false);
	if (o->active)
		cr_info("%s: recording stopped: %s", rec->name, reason);
	o->active = false;
	o->paused = false;
}

/* A stop or the duration ends the current span: in a session
 * (recording.split: session) the file stays open for the next start, with a
 * "paused" row at the stop; else, and when no file is open (none yet, or
 * the camera is lost), the recording ends as end_recording() does. */
static void finish_span(struct cr_recorder *rec, const char *reason, bool self)
{
	struct output *o = &rec->out;
	int64_t at = o->stop_at_ns ? o->stop_at_ns
		     : o->start.duration_ns ? o->start.trigger_mono_ns + o->start.duration_ns : rec->last_written_ns;
	int ret;

	if (!rec->session || !o->fmt || !o->active || o->discard) {
		end_recording(rec, reason, self);
		return;
	}
	ret = cr_sidecar_pause(o->sidecar, at, cr_time_mono_to_utc_us(at));
	if (ret < 0) {
		char why[WHY_MAX];

		snprintf(why, sizeof(why), "write error: %s: %s", o->sidecar_path, cr_strerror(ret));
		cr_err("%s: %s", rec->name, why);
		end_recording(rec, why, self);
		return;
	}
	recording_off(rec, reason, self, true);
	if (rec->events)
		cr_events_publish(rec->events, "recording_paused", json_pack("{s:o, s:o, s:I, s:I, s:o}", "camera",
				  cr_json_str(rec->name), "file", cr_json_str(o->path), "frames", (json_int_t)o->frames,
				  "mono_ns", (json_int_t)at, "reason", cr_json_str(reason)));
	cr_info("%s: recording paused: %s; %s stays open for the next start", rec->name, reason, o->path);
	o->active = false;
	o->paused = true;
}

/* The next start of a session: the paused file goes on, from the first
 * keyframe of this span. */
static void resume_span(struct cr_recorder *rec, const struct start *s)
{
	struct output *o = &rec->out;
	int ret;

	o->start = *s;
	o->start.pre = NULL;
	o->start.npre = 0;
	o->active = true;
	o->paused = false;
	o->stop_at_ns = 0;
	o->stop_reason[0] = '\0';
	o->discard = false;
	o->span_keyframe = true;
	o->spans++;
	ret = cr_sidecar_span(o->sidecar, o->spans, cr_trigger_name(s->trigger), s->trigger_mono_ns, s->trigger_utc_us);
	cr_video_encoder_keyframe(rec->encoder); /* the span starts soon, without pre-trigger frames */
	pthread_mutex_lock(&rec->lock);
	rec->stats.paused = false;
	rec->stats.spans = o->spans + 1;
	pthread_mutex_unlock(&rec->lock);
	if (ret < 0) {
		char why[WHY_MAX];

		snprintf(why, sizeof(why), "write error: %s: %s", o->sidecar_path, cr_strerror(ret));
		cr_err("%s: %s", rec->name, why);
		end_recording(rec, why, true);
		return;
	}
	cr_info("%s: recording resumed in %s (span %u)", rec->name, o->path, o->spans);
}

static void update_stats(struct cr_recorder *rec, const struct cr_packet *pkt)
{
	struct output *o = &rec->out;
	struct cr_sidecar_counts c;

	cr_sidecar_counts(o->sidecar, &c);
	pthread_mutex_lock(&rec->lock);
	rec->stats.frames_written = o->frames;
	rec->stats.bytes_written = o->bytes;
	rec->stats.frames_dropped = c.dropped;
	rec->stats.frames_lost = c.lost;
	rec->stats.file_seconds = (double)(pkt->mono_ns - o->first_mono_ns) / 1e9;
	pthread_mutex_unlock(&rec->lock);
}


/* Writes one packet of the recording: opens the file on the first keyframe,
 * cuts a segment when due, skips to a keyframe after a drop. */
static void write_packet(struct cr_recorder *rec, struct cr_packet *pkt, bool after_drop)
{
	struct output *o = &rec->out;
	const struct cr_recording_config *cfg = rec->config;
	char why[WHY_MAX];
	int ret;

	if (!o->active)
		return;
	/* A frame the encoder still held from before its demand began (its
	 * codec's delay, in_codec): captured before this recording, and the
	 * sidecar would show the frames since then as dropped. */
	if (pkt->index < o->start.first_index)
		return;
	if (o->stop_at_ns && pkt->mono_ns > o->stop_at_ns) {
		finish_span(rec, o->stop_reason, true);
		return;
	}
	if (o->start.duration_ns && pkt->mono_ns >= o->start.trigger_mono_ns + o->start.duration_ns) {
		snprintf(why, sizeof(why), "the duration of %.3g s was reached", (double)o->start.duration_ns / 1e9);
		finish_span(rec, why, true);
		return;
	}
	if (o->span_keyframe) {
		if (!pkt->keyframe)
			return; /* a resumed span starts at a keyframe; the pause stands for what is before */
		o->span_keyframe = false;
	}
	if (after_drop && o->fmt && !cr_video_encoder_intra_only(rec->encoder))
		o->need_keyframe = true;
	if (o->fmt && cfg->segment > 0 && pkt->keyframe &&
	    pkt->mono_ns - o->first_mono_ns >= (int64_t)cfg->segment * CR_NS_PER_SEC) {
		cr_recorder_file_close(rec, "segment complete");
		o->segment++;
	}
	if (o->fmt && pkt->params != o->params) {
		/* The camera came back at another size: the encoder reopened. */
		cr_recorder_file_close(rec, "the camera's frame size changed; the recording goes on in the next file");
		o->segment++;
	}
	if (!o->fmt) {
		if (!pkt->keyframe)
			return; /* before the file's first keyframe: not part of the file */
		ret = cr_recorder_file_open(rec, pkt, why, sizeof(why));
		if (ret < 0) {
			cr_err("%s: recording failed: %s", rec->name, why);
			end_recording(rec, why, true);
			return;
		}
		o->need_keyframe = false;
	}
	if (o->need_keyframe && !pkt->keyframe) {
		ret = cr_sidecar_skip(o->sidecar, pkt);
		goto written;
	}
	o->need_keyframe = false;
	ret = cr_recorder_file_write(rec, pkt);
	if (ret < 0) {
		snprintf(why, sizeof(why), "write error: %s: %s", o->path, cr_strerror(ret));
		cr_err("%s: %s", rec->name, why);
		end_recording(rec, why, true);
		return;
	}
	ret = cr_sidecar_frame(o->sidecar, o->frames++, pkt);
written:
	if (ret < 0) {
		snprintf(why, sizeof(why), "write error: %s: %s", o->sidecar_path, cr_strerror(ret));
		cr_err("%s: %s", rec->name, why);
		end_recording(rec, why, true);
		return;
	}
	update_stats(rec, pkt);
}

static void begin_recording(struct cr_recorder *rec, struct start *s)
{
	struct output *o = &rec->out;

	if (o->active)
		finish_span(rec, o->stop_at_ns ? o->stop_reason : "a new recording started", false);
	if (o->paused && o->fmt) {
		resume_span(rec, s);
	} else {
		memset(o, 0, sizeof(*o));
		o->active = true;
		o->start = *s;
		o->start.pre = NULL;
		o->start.npre = 0;
	}
	/* A recording right after another: its pre-trigger starts after the
	 * last frame that one wrote (at the next keyframe), never repeating it. */
	for (unsigned i = 0; i < s->npre && o->active; i++)
		if (s->pre[i]->mono_ns > rec->last_written_ns)
			write_packet(rec, s->pre[i], false);
}

/* The camera is lost and recording.resume is on: the file is finalized,
 * the recording stays on, and the first keyframe after the camera returns
 * opens the next file, linked to this one. */
static void suspend(struct cr_recorder *rec, const struct cr_camera_stats *cs)
{
	struct output *o = &rec->out;
	char why[sizeof(rec->stats.reason)];
	const char *slash;

	snprintf(why, sizeof(why), "camera lost%s%s; the recording goes on in a new file when it returns",
		 cs->error[0] ? ": " : "", cs->error);
	o->suspended = true;
	o->prev_sidecar[0] = o->prev_video[0] = '\0';
	if (o->fmt) {
		slash = strrchr(o->path, '/');
		snprintf(o->prev_sidecar, sizeof(o->prev_sidecar), "%s", o->sidecar_path);
		snprintf(o->prev_video, sizeof(o->prev_video), "%s", slash ? slash + 1 : o->path);
		cr_recorder_file_close(rec, why);
		o->segment++;
	}
	/* The first frame after the return starts a file: make it a keyframe. */
	cr_video_encoder_keyframe(rec->encoder);
	pthread_mutex_lock(&rec->lock);
	snprintf(rec->stats.reason, sizeof(rec->stats.reason), "%s", why);
	pthread_mutex_unlock(&rec->lock);
	cr_warn("%s: %s", rec->name, why);
}

/* Whether frames captured before t may still be in the encoder: it has put
 * out none captured at t or later yet, and holds frames in its queue or in
 * the codec (opening, which the first recording's load of FFmpeg's
 * libraries makes slow; behind; or its lookahead). A stop at t then waits
 * for them, up to CATCH_UP_MAX_NS past deadline, so a timed recording is not
 * cut short by a slow encoder; the first packet from t on ends the file. */
static bool encoder_behind(struct cr_recorder *rec, int64_t t, int64_t deadline)
{
	struct cr_video_encoder_stats es;

	if (cr_time_mono_ns() >= deadline + CATCH_UP_MAX_NS)
		return false;
	cr_video_encoder_stats(rec->encoder, &es);
	return es.last_out_mono_ns < t && (es.queued > 0 || es.in_codec > 0);
}

/* The checks a writing recorder makes once a second. */
static void periodic_checks(struct cr_recorder *rec)
{
	struct output *o = &rec->out;
	struct cr_camera_stats cs;
	int64_t now = cr_time_mono_ns();
	char why[WHY_MAX];
	double mib;

	if (!o->active || now < rec->next_check_ns)
		return;
	rec->next_check_ns = now + CHECK_INTERVAL_NS;
	mib = cr_recorder_free_mib(rec->config->root);
	if (mib >= 0 && mib < rec->config->min_free_mb) {
		snprintf(why, sizeof(why), "low disk space: %.1f MiB free under %s, below recording.min_free_mb %d",
			 mib, rec->config->root, rec->config->min_free_mb);
		cr_warn("%s: %s", rec->name, why);
		end_recording(rec, why, true);
		return;
	}
	cr_camera_stats(rec->camera, &cs);
	if (cs.state == CR_CAMERA_RUNNING) {
		o->lost_seen_ns = 0;
	} else if (!o->suspended) {
		/* The frames captured before the camera went may still be in
		 * the encoder: they belong in this file, so it closes once the
		 * last of them is written (or LOST_DRAIN_NS after the loss was
		 * seen, for frames the encoder dropped). */
		if (!o->lost_seen_ns)
			o->lost_seen_ns = now;
		if (rec->last_written_ns < cs.last_mono_ns && now - o->lost_seen_ns < LOST_DRAIN_NS)
			return;
	}
	if (cs.state == CR_CAMERA_LOST && rec->config->resume) {
		if (!o->suspended)
			suspend(rec, &cs);
	} else if (cs.state == CR_CAMERA_LOST || cs.state == CR_CAMERA_FAILED || cs.state == CR_CAMERA_ENDED) {
		snprintf(why, sizeof(why), "camera %s%s%s", cs.state == CR_CAMERA_ENDED ? "input ended" : "lost",
			 cs.error[0] ? ": " : "", cs.error);
		end_recording(rec, why, true);
		return;
	}
	if (o->stop_at_ns && now >= o->stop_deadline_ns && !encoder_behind(rec, o->stop_at_ns, o->stop_deadline_ns)) {
		finish_span(rec, o->stop_reason, true);
		return;
	}
	if (o->start.duration_ns && now >= o->start.trigger_mono_ns + o->start.duration_ns + DEADLINE_SLACK_NS &&
	    !encoder_behind(rec, o->start.trigger_mono_ns + o->start.duration_ns,
			    o->start.trigger_mono_ns + o->start.duration_ns + DEADLINE_SLACK_NS)) {
		snprintf(why, sizeof(why), "the duration of %.3g s was reached", (double)o->start.duration_ns / 1e9);
		finish_span(rec, why, true);
	}
}

static void *recorder_thread(void *arg)
{
	struct cr_recorder *rec = arg;
	char name[16];

	snprintf(name, sizeof(name), "rec:%s", rec->name);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		struct item item = { 0 };
		bool have;

		pthread_mutex_lock(&rec->lock);
		while (cr_ring_length(&rec->queue) == 0 && !rec->closing) {
			if (rec->out.active) {
				struct timespec deadline = cr_time_ts(rec->next_check_ns);

				if (pthread_cond_timedwait(&rec->wake, &rec->lock, &deadline) == ETIMEDOUT)
					break;
			} else {
				pthread_cond_wait(&rec->wake, &rec->lock);
			}
		}
		have = queue_pop(rec, &item);
		rec->stats.queued = rec->npackets;
		rec->stats.queued_bytes = rec->packet_bytes;
		if (!have && rec->closing) {
			pthread_mutex_unlock(&rec->lock);
			break;
		}
		pthread_mutex_unlock(&rec->lock);
		if (have) {
			switch (item.kind) {
			case ITEM_PACKET:
				if (rec->test_delay_ns) {
					struct timespec ts = cr_time_ts(rec->test_delay_ns);

					nanosleep(&ts, NULL); /* a test hook: a slow disk */
				}
				write_packet(rec, item.pkt, item.after_drop);
				break;
			case ITEM_START:
				rec->next_check_ns = 0;
				begin_recording(rec, item.start);
				break;
			case ITEM_STOP:
				/* Frames captured before the stop may still be in
				 * the encoder: they go in, the first later one ends
				 * the file (or the deadline, if none comes). */
				if (rec->out.active) {
					int64_t now = cr_time_mono_ns();

					rec->out.stop_at_ns = item.stop_at_ns;
					/* A stop stamped in the past (motion's, at the
					 * event's end) still waits the slack for the
					 * encoder's lookahead. */
					rec->out.stop_deadline_ns = (item.stop_at_ns > now ? item.stop_at_ns : now) +
								    DEADLINE_SLACK_NS;
					rec->out.discard = item.discard;
					snprintf(rec->out.stop_reason, sizeof(rec->out.stop_reason), "%s", item.reason);
				}
				break;
			}
			item_clear(&item);
		}
		periodic_checks(rec);
	}
	end_recording(rec, rec->out.stop_at_ns ? rec->out.stop_reason : "camrig stopped", true);
	return NULL;
}

/* ---- public ------------------------------------------------------------------- */

int cr_recorder_new(struct cr_camera *cam, struct cr_video_encoder *enc, const struct cr_recording_config *config,
		    struct cr_events *events, struct cr_recorder **out)
{
	struct cr_recorder *rec = CR_NEW(rec);
	int ret;

	rec->camera = cam;
	rec->encoder = enc;
	rec->config = config;
	rec->name = cr_camera_config(cam)->name;
	rec->session = config->split && strcmp(config->split, "session") == 0;
	rec->events = events;
	pthread_mutex_init(&rec->lock, NULL);
	cr_time_cond_init(&rec->wake);
	cr_ring_init(&rec->queue, QUEUE_PACKETS + QUEUE_CONTROL, sizeof(struct item), CR_RING_DROP_NEWEST);
	rec->stats.pre_trigger_s = config->pre_trigger;
	rec->test_delay_ns = cr_time_test_delay_ns("writer");
	rec->budget = (size_t)(config->queue_mb > 0 ? config->queue_mb : 8) << 20;
	rec->stats.queue_budget_bytes = rec->budget;
	if (config->pre_trigger > 0)
		rec->ring = cr_prebuffer_new((int64_t)(config->pre_trigger * 1e9),
					     (size_t)config->pre_trigger_max_mb * 1024 * 1024);
	ret = cr_video_encoder_add_sink(enc, sink, rec);
	if (ret < 0) {
		cr_recorder_free(&rec);
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot attach the recorder to the encoder: %s", rec->name,
				  cr_strerror(ret));
	}
	*out = rec;
	return 0;
}

int cr_recorder_start(struct cr_recorder *rec)
{
	int ret = -pthread_create(&rec->thread, NULL, recorder_thread, rec);

	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot start the recorder: %s", rec->name, cr_strerror(ret));
	rec->started = true;
	if (rec->ring) {
		cr_video_encoder_demand(rec->encoder, true);
		rec->ring_demand = true;
	}
	return 0;
}

void cr_recorder_stop(struct cr_recorder *rec)
{
	struct item item;

	pthread_mutex_lock(&rec->lock);
	rec->closing = true;
	pthread_cond_broadcast(&rec->wake);
	pthread_mutex_unlock(&rec->lock);
	if (rec->started)
		pthread_join(rec->thread, NULL);
	rec->started = false;
	while (queue_pop(rec, &item))
		item_clear(&item);
	if (rec->demand_held)
		cr_video_encoder_demand(rec->encoder, false);
	rec->demand_held = false;
	if (rec->ring_demand)
		cr_video_encoder_demand(rec->encoder, false);
	rec->ring_demand = false;
}

int cr_recorder_start_recording(struct cr_recorder *rec, const struct cr_command *cmd, char *msg, size_t len)
{
	struct start *s = NULL;
	struct item item = { .kind = ITEM_START };
	double mib;
	int ret = 0;

	pthread_mutex_lock(&rec->lock);
	if (rec->closing) {
		snprintf(msg, len, "camrig is stopping");
		ret = -EAGAIN;
		goto end;
	}
	if (rec->recording && !rec->stop_pending) {
		snprintf(msg, len, "already recording to %s (stop_recording first)", rec->stats.file);
		ret = -EBUSY;
		goto end;
	}
	s = CR_NEW(s);
	/* A session file, paused or about to be, goes on: no new name (the
	 * thread makes one if the file closes before this start reaches it). */
	ret = rec->session && (rec->stats.paused || (rec->recording && rec->stop_pending))
		? 0 : cr_recorder_make_base(rec, cmd->utc_us, s->base, sizeof(s->base));
	if (ret < 0) {
		snprintf(msg, len, "cannot make the directory for recordings under %s: %s", rec->config->root,
			 cr_strerror(ret));
		ret = -EIO;
		goto end;
	}
	mib = cr_recorder_free_mib(rec->config->root);
	if (mib >= 0 && mib < rec->config->min_free_mb) {
		snprintf(msg, len, "only %.1f MiB free under %s (recording.min_free_mb is %d)", mib, rec->config->root,
			 rec->config->min_free_mb);
		snprintf(rec->stats.reason, sizeof(rec->stats.reason), "not started: %s", msg);
		ret = -ENOSPC;
		goto end;
	}
	s->trigger = cmd->trigger;
	s->trigger_mono_ns = cmd->mono_ns;
	s->trigger_utc_us = cmd->utc_us;
	s->duration_ns = (int64_t)(cmd->duration_s * 1e9);
	s->gen = rec->gen + 1;
	if (rec->ring)
		s->npre = cr_prebuffer_snapshot(rec->ring, cmd->mono_ns, &s->pre);
	/* Without the pre-trigger the encoder gets frames once this start
	 * asks for them; what it held from before belongs to no recording. */
	if (!rec->ring && !rec->demand_held)
		s->first_index = cr_camera_frames_published(rec->camera);
	item.start = s;
	if (!queue_push(rec, &item)) {
		snprintf(msg, len, "the recorder is busy; try again");
		ret = -EAGAIN;
		goto end;
	}
	s = NULL;
	rec->gen++;
	rec->recording = true;
	rec->stop_pending = false;
	rec->drop_pending = false;
	if (!rec->ring && !rec->demand_held) {
		cr_video_encoder_demand(rec->encoder, true);
		rec->demand_held = true;
	}
	rec->stats.recording = true;
	rec->stats.stopping = false;
	rec->stats.recordings++;
	rec->stats.reason[0] = '\0';
	snprintf(rec->stats.trigger, sizeof(rec->stats.trigger), "%s", cr_trigger_name(cmd->trigger));
	rec->stats.trigger_utc_us = cmd->utc_us;
	rec->stats.duration_s = cmd->duration_s;
	if (item.start->base[0]) {
		snprintf(rec->stats.file, sizeof(rec->stats.file), "%s.%s", item.start->base, cr_recorder_extension(rec));
		snprintf(rec->stats.sidecar, sizeof(rec->stats.sidecar), "%s.csv", item.start->base);
		rec->stats.frames_written = rec->stats.frames_dropped = rec->stats.frames_lost = 0;
		rec->stats.bytes_written = 0;
		rec->stats.file_seconds = 0;
		rec->stats.segment = 0;
		rec->stats.spans = 1;
	}
	snprintf(msg, len, "%s", rec->stats.file);
end:
	pthread_mutex_unlock(&rec->lock);
	start_free(s);
	if (ret == 0)
		cr_info("%s: recording started (from %s%s)", rec->name, cr_trigger_name(cmd->trigger),
			cmd->duration_s > 0 ? ", timed" : "");
	return ret;
}

int cr_recorder_stop_recording(struct cr_recorder *rec, int64_t at_ns, const char *reason, bool discard, char *msg,
			       size_t len)
{
	struct item item = { .kind = ITEM_STOP, .stop_at_ns = at_ns, .discard = discard };
	int ret = 0;

	pthread_mutex_lock(&rec->lock);
	snprintf(msg, len, "%s", rec->stats.file);
	if (discard && rec->session && rec->recording && !rec->stop_pending) {
		snprintf(msg, len, "discard: recording.split is session, and %s holds the earlier spans too; stop "
			 "without discard", rec->stats.file);
		pthread_mutex_unlock(&rec->lock);
		return -EBUSY;
	}
	if (rec->recording && !rec->stop_pending) {
		item.reason = cr_strdup(reason);
		if (queue_push(rec, &item)) {
			rec->stop_pending = true;
		} else {
			/* No room for one more start or stop: end the
			 * recording here; the thread drops its packets. */
			free(item.reason);
			rec->recording = false;
		}
		rec->stats.recording = false;
		rec->stats.stopping = rec->recording;
		snprintf(rec->stats.reason, sizeof(rec->stats.reason), "%s", reason);
		ret = 1;
	}
	pthread_mutex_unlock(&rec->lock);
	return ret;
}

void cr_recorder_free(struct cr_recorder **prec)
{
	struct cr_recorder *rec = *prec;

	if (!rec)
		return;
	*prec = NULL;
	cr_recorder_stop(rec);
	cr_prebuffer_free(&rec->ring);
	av_packet_free(&rec->tmp);
	cr_ring_fini(&rec->queue);
	pthread_cond_destroy(&rec->wake);
	pthread_mutex_destroy(&rec->lock);
	free(rec);
}

void cr_recorder_stats(struct cr_recorder *rec, struct cr_recorder_stats *stats)
{
	pthread_mutex_lock(&rec->lock);
	*stats = rec->stats;
	if (rec->ring)
		cr_prebuffer_stats(rec->ring, &stats->prebuffer);
	else
		memset(&stats->prebuffer, 0, sizeof(stats->prebuffer));
	pthread_mutex_unlock(&rec->lock);
	stats->disk_free_mb = cr_recorder_free_mib_nearest(rec->config->root);
}
