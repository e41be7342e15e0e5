/* The file a recording is being written into (recorder_internal.h): its
 * name, the muxer and sidecar it opens on a keyframe, one packet written,
 * and finalizing. The recorder thread's, but for naming and free space.
 *
 * - The muxer opens on the first keyframe of a file: its parameters
 *   (extradata) exist once the encoder has produced a packet.
 * - Crash safety: MP4 is fragmented (empty moov, a fragment at each keyframe
 *   and at least every 0.5 s); Matroska clusters are at most 0.5 s long; and
 *   the muxer flushes after every packet, so a kill -9 loses at most half a
 *   second of what the sidecar lists. The sidecar is line-buffered: after a
 *   crash it may list frames the video lacks, which `camrig verify` reports
 *   as TRUNCATED. */
#include "record/recorder_internal.h"

#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "record/verify.h"

#include <errno.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* The muxers keep the open cluster or fragment in memory and write it when
 * it ends: a kill -9 loses what they hold. Bounded in time, whatever the GOP,
 * a crash loses at most this much (plus the frame being written). */
#define MKV_CLUSTER_MS "500"
#define MP4_FRAGMENT_US "500000"
#define MIB (1024.0 * 1024.0)

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* A base path is free when neither its video nor its sidecar exists, and
 * it is not the one the last recording took (whose files may not exist yet). */
static int claim_base(void *ctx, const char *base)
{
	struct cr_recorder *rec = ctx;
	char video[CR_RECORDER_PATH_MAX + 8], csv[CR_RECORDER_PATH_MAX + 8];

	snprintf(video, sizeof(video), "%s.%s", base, cr_recorder_extension(rec));
	snprintf(csv, sizeof(csv), "%s.csv", base);
	if (exists(video) || exists(csv) || strcmp(base, rec->last_base) == 0)
		return -EEXIST;
	snprintf(rec->last_base, sizeof(rec->last_base), "%s", base);
	return 0;
}

int cr_recorder_make_base(struct cr_recorder *rec, int64_t utc_us, char *base, size_t len)
{
	const struct cr_fs_name_fields fields = { .utc_us = utc_us, .camera = rec->name,
						  .number = atomic_fetch_add(&rec->files, 1) + 1,
						  .local = strcmp(rec->config->timezone, "local") == 0 };
	char name[CR_RECORDER_PATH_MAX], first[CR_RECORDER_PATH_MAX];
	int ret;

	ret = cr_fs_name_expand(rec->config->filename, &fields, name, sizeof(name), NULL, 0);
	if (ret < 0)
		return ret;
	if (snprintf(first, sizeof(first), "%s/%s", rec->config->root, name) >= (int)sizeof(first))
		return -ENAMETOOLONG;
	ret = cr_fs_make_parent(first);
	if (ret < 0)
		return ret;
	return cr_fs_claim_unique(first, base, len, claim_base, rec);
}

double cr_recorder_free_mib(const char *root)
{
	struct statvfs st;

	if (statvfs(root, &st) < 0)
		return -errno;
	return (double)st.f_bavail * (double)st.f_frsize / MIB;
}

double cr_recorder_free_mib_nearest(const char *root)
{
	char path[CR_RECORDER_PATH_MAX];
	double mib;

	snprintf(path, sizeof(path), "%s", root);
	while ((mib = cr_recorder_free_mib(path)) == -ENOENT) {
		char *slash = strrchr(path, '/');

		if (!slash && strcmp(path, ".") == 0)
			break;
		if (!slash || slash == path)
			snprintf(path, sizeof(path), "%s", slash ? "/" : ".");
		else
			*slash = '\0';
	}
	return mib < 0 ? -1 : mib;
}

/* After a write error: the muxer's buffered frames may never have reached
 * the disk. The sidecar is made to count exactly the frames the file holds;
 * the others become dropped rows. */
static void count_held_frames(struct cr_recorder *rec)
{
	struct output *o = &rec->out;
	size_t held = 0;
	int ret = cr_verify_count_frames(o->path, &held);

	if (ret < 0 || held >= o->frames)
		return;
	ret = cr_sidecar_rewind(o->sidecar, held);
	if (ret < 0) {
		cr_warn("%s: %s: holds %zu of the %llu frames written, and the sidecar cannot say so: %s", rec->name,
			o->path, held, (unsigned long long)o->frames, cr_strerror(ret));
		return;
	}
	cr_warn("%s: %s: the disk took %zu of the %llu frames written; the sidecar lists the other %llu as dropped",
		rec->name, o->path, held, (unsigned long long)o->frames, (unsigned long long)(o->frames - held));
	o->frames = held;
	pthread_mutex_lock(&rec->lock);
	rec->stats.frames_written = held;
	pthread_mutex_unlock(&rec->lock);
}

void cr_recorder_file_close(struct cr_recorder *rec, const char *reason)
{
	struct output *o = &rec->out;
	struct cr_sidecar_counts c = { 0 };
	int ret = 0, ret2;

	if (o->sidecar)
		cr_sidecar_counts(o->sidecar, &c);
	if (o->fmt) {
		ret = av_write_trailer(o->fmt);
		ret2 = avio_closep(&o->fmt->pb);
		if (ret >= 0)
			ret = ret2;
		avformat_free_context(o->fmt);
		o->fmt = NULL;
		if (ret < 0)
			cr_warn("%s: %s: finalizing: %s (the file is readable up to the last second written)", rec->name,
				o->path, cr_strerror(ret));
		if (o->write_failed || ret < 0)
			count_held_frames(rec);
		cr_info("%s: %s: %llu frames, %.1f MB (%s)", rec->name, o->path, (unsigned long long)o->frames,
			(double)o->bytes / 1e6, reason);
		if (rec->events) {
			json_t *data = json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:o}", "camera",
				cr_json_str(rec->name), "file", cr_json_str(o->path), "sidecar",
				cr_json_str(o->sidecar_path), "frames", (json_int_t)o->frames, "dropped",
				(json_int_t)c.dropped, "lost", (json_int_t)c.lost, "bytes", (json_int_t)o->bytes, "reason",
				cr_json_str(reason));

			/* When it ended: the capture time of the file's last frame. */
			if (o->frames > 0)
				json_object_set_new(data, "mono_ns", json_integer((json_int_t)rec->last_written_ns));
			cr_events_publish(rec->events, "recording_finished", data);
		}
	}
	ret2 = cr_sidecar_close(&o->sidecar, reason);
	if (ret2 < 0)
		cr_warn("%s: %s: %s", rec->name, o->sidecar_path, cr_strerror(ret2));
}

int cr_recorder_file_open(struct cr_recorder *rec, const struct cr_packet *pkt, char *why, size_t len)
{
	struct output *o = &rec->out;
	bool mp4 = strcmp(cr_recorder_extension(rec), "mp4") == 0;
	const struct cr_source_format *f = cr_camera_format(rec->camera);
	struct cr_video_encoder_stats es;
	struct cr_sidecar_info info;
	AVDictionary *opts = NULL;
	char base[CR_RECORDER_PATH_MAX - 8], codec[80], camera_format[64];
	const char *slash;
	AVStream *st = NULL;
	int ret;

	if (o->segment == 0 && o->start.base[0]) {
		snprintf(base, sizeof(base), "%s", o->start.base);
	} else {
		ret = cr_recorder_make_base(rec, pkt->utc_us, base, sizeof(base));
		if (ret < 0) {
			snprintf(why, len, "cannot make a file name under %s: %s", rec->config->root, cr_strerror(ret));
			return ret;
		}
	}
	snprintf(o->path, sizeof(o->path), "%s.%s", base, cr_recorder_extension(rec));
	snprintf(o->sidecar_path, sizeof(o->sidecar_path), "%s.csv", base);
	ret = avformat_alloc_output_context2(&o->fmt, NULL, mp4 ? "mp4" : "matroska", o->path);
	if (ret < 0)
		goto fail;
	st = avformat_new_stream(o->fmt, NULL);
	if (!st) {
		ret = AVERROR(ENOMEM);
		goto fail;
	}
	ret = cr_video_encoder_parameters(rec->encoder, st->codecpar);
	if (ret < 0)
		goto fail;
	/* Raw video is stored under its FourCC; everything else by codec id. */
	st->codecpar->codec_tag = st->codecpar->codec_id == AV_CODEC_ID_RAWVIDEO
		? avcodec_pix_fmt_to_codec_tag(st->codecpar->format) : 0;
	st->time_base = mp4 ? (AVRational){ 1, 90000 } : (AVRational){ 1, 1000 };
	if (f->fps > 0)
		st->avg_frame_rate = st->r_frame_rate = av_d2q(f->fps, 100000);
	o->fmt->flush_packets = 1;
	if (mp4) {
		/* A fragment starts at every keyframe and lasts at most
		 * MP4_FRAGMENT_US; one within a GOP begins with inter frames,
		 * which the fragment before it makes decodable. */
		av_dict_set(&opts, "movflags", cr_video_encoder_intra_only(rec->encoder)
						       ? "empty_moov+default_base_moof"
						       : "frag_keyframe+empty_moov+default_base_moof", 0);
		av_dict_set(&opts, "frag_duration", MP4_FRAGMENT_US, 0);
	} else {
		av_dict_set(&opts, "cluster_time_limit", MKV_CLUSTER_MS, 0);
	}
	ret = avio_open(&o->fmt->pb, o->path, AVIO_FLAG_WRITE);
	if (ret < 0)
		goto fail;
	ret = avformat_write_header(o->fmt, &opts);
	if (ret < 0)
		goto fail;
	cr_video_encoder_stats(rec->encoder, &es);
	snprintf(codec, sizeof(codec), "%s (%s)", avcodec_get_name(st->codecpar->codec_id), es.encoder);
	slash = strrchr(o->path, '/');
	{
		const struct cr_source_format *cf = cr_camera_format(rec->camera);

		snprintf(camera_format, sizeof(camera_format), "%s %dx%d", cr_fourcc_name(cf->fourcc), cf->width,
			 cf->height);
	}
	info = (struct cr_sidecar_info){
		.video = slash ? slash + 1 : o->path, .camera = rec->name, .codec = codec,
		.trigger = cr_trigger_name(o->start.trigger), .trigger_mono_ns = o->start.trigger_mono_ns,
		.trigger_utc_us = o->start.trigger_utc_us, .pre_trigger_s = rec->config->pre_trigger,
		.segment = o->segment,
		.continues = o->suspended && o->prev_video[0] ? o->prev_video : NULL,
		.camera_format = camera_format,
		.device_clock = f->device_clock,
	};
	ret = cr_sidecar_open(o->sidecar_path, &info, &o->sidecar);
	if (ret < 0) {
		snprintf(why, len, "cannot create %s: %s", o->sidecar_path, cr_strerror(ret));
		goto end;
	}
	if (o->suspended) {
		/* The camera is back: this file continues the one before the loss. */
		ret = o->prev_sidecar[0] ? cr_sidecar_link(o->prev_sidecar, slash ? slash + 1 : o->path) : 0;
		if (ret < 0)
			cr_warn("%s: %s: cannot link it to %s: %s", rec->name, o->prev_sidecar, o->path, cr_strerror(ret));
		cr_info("%s: the camera is back: the recording goes on in %s", rec->name, o->path);
		o->suspended = false;
	}
	o->params = pkt->params;
	o->first_us = pkt->av->pts;
	o->first_mono_ns = pkt->mono_ns;
	o->last_dts = INT64_MIN;
	o->frames = o->bytes = 0;
	pthread_mutex_lock(&rec->lock);
	snprintf(rec->stats.file, sizeof(rec->stats.file), "%s", o->path);
	snprintf(rec->stats.sidecar, sizeof(rec->stats.sidecar), "%s", o->sidecar_path);
	rec->stats.frames_written = rec->stats.frames_dropped = rec->stats.frames_lost = rec->stats.bytes_written = 0;
	rec->stats.file_seconds = 0;
	rec->stats.segment = o->segment;
	rec->stats.spans = 1;
	pthread_mutex_unlock(&rec->lock);
	o->spans = 0;
	cr_info("%s: recording to %s", rec->name, o->path);
	av_dict_free(&opts);
	return 0;
fail:
	if (ret == AVERROR(EINVAL) || ret == AVERROR_PATCHWELCOME)
		snprintf(why, len, "cannot write %s into %s: %s", avcodec_get_name(st ? st->codecpar->codec_id : 0),
			 cr_recorder_extension(rec), cr_strerror(ret));
	else
		snprintf(why, len, "cannot create %s: %s", o->path, cr_strerror(ret));
end:
	av_dict_free(&opts);
	if (o->fmt) {
		avio_closep(&o->fmt->pb);
		avformat_free_context(o->fmt);
		o->fmt = NULL;
		unlink(o->path);
	}
	return ret;
}

int cr_recorder_file_write(struct cr_recorder *rec, const struct cr_packet *pkt)
{
	struct output *o = &rec->out;
	AVStream *st;
	int ret;

	st = o->fmt->streams[0];
	if (!rec->tmp && !(rec->tmp = av_packet_alloc()))
		abort();
	ret = av_packet_ref(rec->tmp, pkt->av);
	if (ret < 0)
		return ret;
	rec->tmp->stream_index = 0;
	rec->tmp->pts = av_rescale_q(pkt->av->pts - o->first_us, (AVRational){ 1, 1000000 }, st->time_base);
	rec->tmp->dts = av_rescale_q(pkt->av->dts - o->first_us, (AVRational){ 1, 1000000 }, st->time_base);
	if (o->last_dts != INT64_MIN && rec->tmp->dts <= o->last_dts)
		rec->tmp->dts = o->last_dts + 1;
	if (rec->tmp->pts < rec->tmp->dts)
		rec->tmp->pts = rec->tmp->dts;
	rec->tmp->duration = 0;
	o->last_dts = rec->tmp->dts;
	ret = av_write_frame(o->fmt, rec->tmp);
	av_packet_unref(rec->tmp);
	if (ret < 0) {
		o->write_failed = true;
		return ret;
	}
	o->bytes += cr_packet_size(pkt);
	rec->last_written_ns = pkt->mono_ns;
	return 0;
}
