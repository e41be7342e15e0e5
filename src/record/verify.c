/* The recording checker behind `camrig verify` (see verify.h).
 *
 * Reads the video's packets with libavformat (no decoding: a packet is a
 * frame, since camrig writes no B-frames) and the sidecar line by line, and
 * compares them. Problems are counted; the first MAX_SHOWN are printed. */
#include "record/verify.h"

#include "base/error.h"
#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <inttypes.h>
#include <libavformat/avformat.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SHOWN 20
#define LINE_MAX_BYTES 512
#define NONE INT64_MIN   /* an empty column */
#define BAD INT64_MAX    /* a column that is not a number */
/* Every number a sidecar holds (ns since boot, µs since 1970, counters) is
 * far below this; keeping columns under it keeps their differences inside
 * int64_t, whatever a damaged or hostile file says. */
#define VALUE_MAX (INT64_C(1) << 62)

struct row {
	int64_t frame, index, sequence, mono_ns, utc_us;  /* NONE where the column is empty */
	char status[12];
};

struct check {
	FILE *out;
	unsigned problems;
};

static void problem(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct check *c, const char *fmt, ...)
{
	va_list ap;

	if (c->problems++ >= MAX_SHOWN)
		return;
	fputs("  problem: ", c->out);
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
}

static int64_t field(char **p)
{
	char *start = *p, *end;
	int64_t v;

	*p += strcspn(*p, ",\n");
	if (**p == ',')
		*(*p)++ = '\0';
	else
		**p = '\0';
	if (!*start)
		return NONE;
	errno = 0;
	v = strtoll(start, &end, 10);
	return *end || errno || v < 0 || v >= VALUE_MAX ? BAD : v;
}

static int parse_row(char *line, struct row *r)
{
	char *p = line, *status;

	r->frame = field(&p);
	r->index = field(&p);
	r->sequence = field(&p);
	r->mono_ns = field(&p);
	r->utc_us = field(&p);
	status = p;
	p += strcspn(p, ",\n");
	*p = '\0';
	snprintf(r->status, sizeof(r->status), "%s", status);
	if (r->frame == BAD || r->index == BAD || r->sequence == BAD || r->mono_ns == BAD || r->utc_us == BAD)
		return -EINVAL;
	if (strcmp(r->status, "recorded") && strcmp(r->status, "dropped") && strcmp(r->status, "lost") &&
	    strcmp(r->status, "paused"))
		return -EINVAL;
	if (!strcmp(r->status, "paused") && (r->frame != NONE || r->mono_ns == NONE || r->utc_us == NONE))
		return -EINVAL;
	if (!strcmp(r->status, "recorded") && (r->frame == NONE || r->index == NONE || r->sequence == NONE ||
					       r->mono_ns == NONE || r->utc_us == NONE))
		return -EINVAL;
	return 0;
}

struct sidecar {
	struct row *rows;
	size_t nrows, recorded, dropped, lost, paused, spans;
	bool ended;
	unsigned long long end_recorded, end_dropped, end_lost;
	int64_t trigger_mono_ns;
	char trigger[32], codec[64];
};

static int read_sidecar(const char *path, struct sidecar *sc, struct check *c)
{
	FILE *f = fopen(path, "r");
	char line[LINE_MAX_BYTES];
	unsigned lineno = 0;
	bool header = false;

	if (!f)
		return -errno;
	sc->trigger_mono_ns = NONE;
	while (fgets(line, sizeof(line), f)) {
		struct row r;

		lineno++;
		if (sc->ended && line[0] != '\n' && strncmp(line, "# continued_in: ", 16) != 0)
			problem(c, "%s:%u: a line after the end line", path, lineno);
		if (line[0] == '#') {
			if (sscanf(line, "# end: recorded=%llu dropped=%llu lost=%llu", &sc->end_recorded,
				   &sc->end_dropped, &sc->end_lost) == 3)
				sc->ended = true;
			if (sscanf(line, "# trigger_mono_ns: %" SCNd64, &sc->trigger_mono_ns) == 1 &&
			    (sc->trigger_mono_ns < 0 || sc->trigger_mono_ns >= VALUE_MAX))
				sc->trigger_mono_ns = NONE; /* damaged: not shown */
			sscanf(line, "# trigger: %31s", sc->trigger);
			sc->spans += strncmp(line, "# span: ", 8) == 0;
			sscanf(line, "# codec: %63[^\n]", sc->codec);
			continue;
		}
		if (!header) {
			if (strncmp(line, "frame,index,sequence,mono_ns,utc_us,status", 42) != 0) {
				fclose(f);
				return -EINVAL;
			}
			header = true;
			continue;
		}
		if (parse_row(line, &r) < 0) {
			problem(c, "%s:%u: not a valid row", path, lineno);
			continue;
		}
		if (sc->nrows % 4096 == 0)
			sc->rows = cr_realloc(sc->rows, (sc->nrows + 4096) * sizeof(*sc->rows));
		sc->rows[sc->nrows++] = r;
		if (!strcmp(r.status, "recorded"))
			sc->recorded++;
		else if (!strcmp(r.status, "dropped"))
			sc->dropped++;
		else if (!strcmp(r.status, "paused"))
			sc->paused++;
		else
			sc->lost++;
	}
	fclose(f);
	return header ? 0 : -EINVAL;
}

/* The video's packet timestamps, µs from its first; sets *n. */
static int read_video(const char *path, int64_t **pts_us, size_t *n, double *tick_us, char *desc, size_t len)
{
	AVFormatContext *fmt = NULL;
	AVPacket *pkt = av_packet_alloc();
	AVStream *st;
	int ret, stream;

	*pts_us = NULL;
	*n = 0;
	if (!pkt)
		return AVERROR(ENOMEM);
	ret = avformat_open_input(&fmt, path, NULL, NULL);
	if (ret < 0)
		goto end;
	ret = avformat_find_stream_info(fmt, NULL);
	if (ret < 0)
		goto end;
	ret = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (ret < 0)
		goto end;
	stream = ret;
	st = fmt->streams[stream];
	*tick_us = av_q2d(st->time_base) * 1e6;
	snprintf(desc, len, "%s %s %dx%d", fmt->iformat->name, avcodec_get_name(st->codecpar->codec_id),
		 st->codecpar->width, st->codecpar->height);
	while ((ret = av_read_frame(fmt, pkt)) >= 0) {
		int64_t t = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;

		if (pkt->stream_index == stream) {
			if (*n % 4096 == 0)
				*pts_us = cr_realloc(*pts_us, (*n + 4096) * sizeof(**pts_us));
			(*pts_us)[(*n)++] = t == AV_NOPTS_VALUE ? NONE : av_rescale_q(t, st->time_base, (AVRational){ 1, 1000000 });
		}
		av_packet_unref(pkt);
	}
	ret = ret == AVERROR_EOF ? 0 : ret;
end:
	av_packet_free(&pkt);
	avformat_close_input(&fmt);
	return ret;
}

int cr_verify_count_frames(const char *path, size_t *frames)
{
	char desc[160];
	double tick_us;
	int64_t *pts = NULL;
	int ret = read_video(path, &pts, frames, &tick_us, desc, sizeof(desc));

	free(pts);
	return ret;
}

/* Checks that the rows between two frames account for their gaps; rows
 * after the last frame are a problem unless the sidecar was cut short (a
 * crash can fall between a gap row and the frame it precedes). */
static void check_gaps(struct check *c, const struct sidecar *sc, bool cut_short)
{
	const struct row *last = NULL;
	uint64_t dropped = 0, lost = 0;

	for (size_t i = 0; i < sc->nrows; i++) {
		const struct row *r = &sc->rows[i];
		int64_t want_dropped, seq_gap, want_lost;

		if (!strcmp(r->status, "paused")) {
			/* A session file's pause: the frames until the next
			 * span were not recorded on purpose. */
			if (dropped || lost)
				problem(c, "%" PRIu64 " gap rows before a pause", dropped + lost);
			last = NULL;
			dropped = lost = 0;
			continue;
		}
		if (r->index == NONE || r->sequence == NONE || r->mono_ns == NONE) {
			if (!strcmp(r->status, "dropped"))
				dropped++;
			else if (!strcmp(r->status, "lost"))
				lost++;
			continue;
		}
		if (!strcmp(r->status, "dropped"))
			dropped++; /* a skipped packet: counted with the gap before the next frame */
		if (last) {
			want_dropped = r->index - last->index - 1;
			seq_gap = r->sequence > last->sequence ? r->sequence - last->sequence - 1 : 0;
			want_lost = seq_gap > want_dropped ? seq_gap - want_dropped : 0;
			if (!strcmp(r->status, "dropped"))
				dropped--;
			if (r->index <= last->index)
				problem(c, "index %" PRId64 " follows index %" PRId64, r->index, last->index);
			else if ((int64_t)dropped != want_dropped || (int64_t)lost != want_lost)
				problem(c, "between index %" PRId64 " and %" PRId64 ": %" PRIu64 " dropped and %" PRIu64
					" lost rows, the gap needs %" PRId64 " and %" PRId64, last->index, r->index,
					dropped, lost, want_dropped, want_lost);
			if (r->mono_ns <= last->mono_ns)
				problem(c, "capture time of index %" PRId64 " does not increase", r->index);
		}
		last = r;
		dropped = lost = 0;
	}
	if ((dropped || lost) && !cut_short)
		problem(c, "%" PRIu64 " gap rows after the last frame", dropped + lost);
}

int cr_verify_file(const char *path, FILE *out)
{
	struct check c = { .out = out };
	struct sidecar sc = { 0 };
	char csv[4096], desc[160] = "";
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	int64_t *pts = NULL;
	size_t npts = 0, k = 0;
	const struct row *first = NULL, *lastrow = NULL, *first_missing = NULL, *last_present = NULL;
	double tick_us = 1;
	int ret;

	if (!dot || (slash && dot < slash))
		dot = path + strlen(path);
	snprintf(csv, sizeof(csv), "%.*s.csv", (int)(dot - path), path);
	fprintf(out, "file:     %s\nsidecar:  %s\n", path, csv);
	ret = read_sidecar(csv, &sc, &c);
	if (ret < 0) {
		fprintf(out, "cannot read the sidecar: %s\n", ret == -EINVAL ? "not a camrig sidecar" : cr_strerror(ret));
		goto end;
	}
	ret = read_video(path, &pts, &npts, &tick_us, desc, sizeof(desc));
	if (ret < 0) {
		fprintf(out, "cannot read the video: %s\n", cr_strerror(ret));
		goto end;
	}
	fprintf(out, "video:    %s, %zu frames\n", desc, npts);
	fprintf(out, "rows:     %zu recorded, %zu dropped, %zu lost (%zu frames accounted for)\n", sc.recorded,
		sc.dropped, sc.lost, sc.nrows - sc.paused);
	if (sc.paused || sc.spans)
		fprintf(out, "spans:    %zu (a session file: %zu pause%s)\n", sc.spans + 1, sc.paused,
			sc.paused == 1 ? "" : "s");

	/* No end line: camrig stopped without finalizing (a crash, kill -9, a
	 * power cut). The video may then end before the sidecar does: that is a
	 * truncation, not a mismatch, as long as every frame it has matches. */
	if (sc.ended && (sc.end_recorded != sc.recorded || sc.end_dropped != sc.dropped || sc.end_lost != sc.lost))
		problem(&c, "the end line counts %llu recorded, %llu dropped, %llu lost; the rows say %zu, %zu, %zu",
			sc.end_recorded, sc.end_dropped, sc.end_lost, sc.recorded, sc.dropped, sc.lost);
	if (sc.recorded != npts && (sc.ended || npts > sc.recorded))
		problem(&c, "the video has %zu frames, the sidecar %zu recorded rows", npts, sc.recorded);
	for (size_t i = 1; i < npts; i++) {
		if (pts[i] == NONE || pts[i - 1] == NONE || pts[i] <= pts[i - 1]) {
			problem(&c, "video frame %zu: PTS does not increase", i);
			break;
		}
	}
	for (size_t i = 0; i < sc.nrows; i++) {
		const struct row *r = &sc.rows[i];

		if (strcmp(r->status, "recorded") != 0)
			continue;
		if (r->frame != (int64_t)k)
			problem(&c, "row of frame %" PRId64 " where frame %zu belongs", r->frame, k);
		if (!first)
			first = r;
		if (k == npts)
			first_missing = r;
		if (k + 1 == npts)
			last_present = r;
		lastrow = r;
		if (k < npts && pts[k] != NONE && pts[0] != NONE) {
			double want = (double)(r->mono_ns - first->mono_ns) / 1000.0, got = (double)(pts[k] - pts[0]);

			if (got - want > 2 * tick_us + 2 || want - got > 2 * tick_us + 2)
				problem(&c, "frame %zu: PTS %.0f us after the first, capture time %.0f us after it", k,
					got, want);
		}
		k++;
	}
	check_gaps(&c, &sc, !sc.ended);
	if (first && lastrow) {
		char iso[40];

		fprintf(out, "span:     %.3f s of capture time from %s\n", (double)(lastrow->mono_ns - first->mono_ns) / 1e9,
			cr_time_iso8601(first->utc_us, iso, sizeof(iso)));
		if (sc.trigger_mono_ns != NONE)
			fprintf(out, "trigger:  %s; the first frame was captured %.3f s before it\n",
				sc.trigger[0] ? sc.trigger : "?", (double)(sc.trigger_mono_ns - first->mono_ns) / 1e9);
	}
	if (c.problems > MAX_SHOWN)
		fprintf(out, "  ... and %u more problems\n", c.problems - MAX_SHOWN);
	if (c.problems) {
		fprintf(out, "result:   MISMATCH (%u problem%s)\n", c.problems, c.problems == 1 ? "" : "s");
		ret = CR_VERIFY_MISMATCH;
	} else if (!sc.ended) {
		size_t missing = sc.recorded - npts;

		fprintf(out, "result:   TRUNCATED: the recording did not finish cleanly (no end line: a crash, kill -9 "
			"or power cut); %zu trailing sidecar frame%s", missing, missing == 1 ? "" : "s");
		if (missing && first_missing && lastrow)
			fprintf(out, " (the last %.3f s of capture time) not in the video",
				(double)(lastrow->mono_ns - (last_present ? last_present : first_missing)->mono_ns) / 1e9);
		else
			fprintf(out, " missing");
		fprintf(out, ", all %zu frames before %s match\n", npts, missing == 1 ? "it" : "them");
		ret = CR_VERIFY_TRUNCATED;
	} else {
		fprintf(out, "result:   OK\n");
		ret = CR_VERIFY_OK;
	}
end:
	free(pts);
	free(sc.rows);
	return ret;
}
