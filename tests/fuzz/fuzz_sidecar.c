/* Fuzz target: `camrig verify`'s reading of a timestamp sidecar
 * (record/verify.c; the format is doc/sidecar.md). Includes verify.c to
 * reach parse_row(), read_sidecar() and check_gaps().
 *
 * At start-up a three-frame video (2x2 gray rawvideo in NUT, which takes raw
 * video as it is, frames 40 ms apart) is written to a temporary directory. Each input becomes the
 * sidecar beside it, and the recording is verified twice:
 * - read_sidecar() and check_gaps() alone, as the parser sees it: every row
 *   kept has a known status, and a "recorded" row has every column;
 * - cr_verify_file() on the video, which also compares the rows with the
 *   video's frames and timestamps and prints its report.
 * Properties: the result (OK, MISMATCH or TRUNCATED) is the one the report's
 * "result:" line names, and the report says why when the sidecar cannot be
 * read. */
#include "../../src/record/verify.c"

#include "fuzz.h"

#include "base/log.h"

#include <libavutil/pixfmt.h>

#define FRAMES 3
#define FRAME_MS 40

static char video[FUZZ_DIR_MAX + 16], sidecar[FUZZ_DIR_MAX + 16];

static int write_video(const char *path)
{
	AVFormatContext *fmt = NULL;
	AVPacket *pkt = av_packet_alloc();
	AVStream *st;
	int ret;

	ret = pkt ? avformat_alloc_output_context2(&fmt, NULL, "nut", path) : AVERROR(ENOMEM);
	if (ret < 0)
		goto end;
	st = avformat_new_stream(fmt, NULL);
	if (!st) {
		ret = AVERROR(ENOMEM);
		goto end;
	}
	st->time_base = (AVRational){ 1, 1000 };
	st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
	st->codecpar->codec_id = AV_CODEC_ID_RAWVIDEO;
	st->codecpar->format = AV_PIX_FMT_GRAY8;
	st->codecpar->width = 2;
	st->codecpar->height = 2;
	ret = avio_open(&fmt->pb, path, AVIO_FLAG_WRITE);
	if (ret < 0)
		goto end;
	ret = avformat_write_header(fmt, NULL);
	for (int i = 0; ret >= 0 && i < FRAMES; i++) {
		ret = av_new_packet(pkt, 4);
		if (ret < 0)
			break;
		memset(pkt->data, 60 * i, 4);
		pkt->pts = pkt->dts = i * FRAME_MS;
		pkt->duration = FRAME_MS;
		pkt->flags = AV_PKT_FLAG_KEY;
		av_packet_rescale_ts(pkt, (AVRational){ 1, 1000 }, st->time_base);
		ret = av_interleaved_write_frame(fmt, pkt);
	}
	if (ret >= 0)
		ret = av_write_trailer(fmt);
end:
	if (fmt)
		avio_closep(&fmt->pb);
	avformat_free_context(fmt);
	av_packet_free(&pkt);
	return ret;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int ret;

	cr_log_set_level(CR_LOG_ERROR);
	av_log_set_level(AV_LOG_QUIET);
	snprintf(video, sizeof(video), "%s/rec.nut", fuzz_tmpdir());
	snprintf(sidecar, sizeof(sidecar), "%s/rec.csv", fuzz_tmpdir());
	ret = write_video(video);
	if (ret < 0) {
		fprintf(stderr, "%s: cannot write the test video: %s\n", video, av_err2str(ret));
		abort();
	}
	return 0;
}

static void parse_only(void)
{
	struct check c = { .out = fopen("/dev/null", "w") };
	struct sidecar sc = { 0 };
	int ret;

	if (!c.out)
		abort();
	ret = read_sidecar(sidecar, &sc, &c);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	FUZZ_CHECK(ret == 0 || sc.nrows == 0 || sc.rows);
	FUZZ_CHECK(sc.recorded + sc.dropped + sc.lost + sc.paused == sc.nrows);
	for (size_t i = 0; i < sc.nrows; i++) {
		const struct row *r = &sc.rows[i];

		FUZZ_CHECK(!strcmp(r->status, "recorded") || !strcmp(r->status, "dropped") || !strcmp(r->status, "lost") ||
			   !strcmp(r->status, "paused"));
		FUZZ_CHECK(strcmp(r->status, "paused") || (r->frame == NONE && r->mono_ns != NONE && r->utc_us != NONE));
		FUZZ_CHECK(r->frame != BAD && r->index != BAD && r->sequence != BAD && r->mono_ns != BAD &&
			   r->utc_us != BAD);
		FUZZ_CHECK(strcmp(r->status, "recorded") ||
			   (r->frame != NONE && r->index != NONE && r->sequence != NONE && r->mono_ns != NONE &&
			    r->utc_us != NONE));
	}
	if (ret == 0)
		check_gaps(&c, &sc, !sc.ended);
	free(sc.rows);
	fclose(c.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fopen(sidecar, "wb"), *out;
	char *report = NULL;
	size_t len = 0;
	int ret;

	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		perror(sidecar);
		abort();
	}
	parse_only();

	out = open_memstream(&report, &len);
	if (!out)
		abort();
	ret = cr_verify_file(video, out);
	fclose(out);
	if (ret < 0) {
		FUZZ_CHECK(strstr(report, "cannot read the sidecar: ") != NULL);
	} else {
		FUZZ_CHECK(ret == CR_VERIFY_OK || ret == CR_VERIFY_MISMATCH || ret == CR_VERIFY_TRUNCATED);
		FUZZ_CHECK((ret == CR_VERIFY_OK) == (strstr(report, "\nresult:   OK\n") != NULL));
		FUZZ_CHECK((ret == CR_VERIFY_MISMATCH) == (strstr(report, "\nresult:   MISMATCH (") != NULL));
		FUZZ_CHECK((ret == CR_VERIFY_TRUNCATED) == (strstr(report, "\nresult:   TRUNCATED: ") != NULL));
	}
	free(report);
	return 0;
}
