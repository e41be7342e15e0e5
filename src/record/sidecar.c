/* The timestamp sidecar writer (format in sidecar.h and doc/sidecar.md).
 *
 * Gap accounting between two consecutive packets A and B of a file: the
 * frames with camrig indexes between them were dropped inside camrig; the
 * driver sequence numbers between them beyond those were lost before camrig.
 * When only one kind is missing, its rows carry the sequence (or index)
 * numbers; when both are, which number went which way is unknown and the
 * column stays empty. A sequence that goes backwards (the device was
 * reopened) is a restart, not a gap.
 *
 * The writer remembers where the last MARKS_MAX frame rows begin, with the
 * state before each, so that cr_sidecar_rewind() can take frames back that
 * the video turned out not to hold (a full disk loses what the muxer had
 * buffered) and account for them as dropped instead. */
#include "record/sidecar.h"

#include "base/mem.h"
#include "base/ring.h"
#include "base/time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MARKS_MAX 4096              /* frame rows cr_sidecar_rewind() can take back */

/* Where one frame's rows begin (its gap rows, then its own), and the
 * writer's state before them. */
struct mark {
	uint64_t frame;
	long offset;                    /* bytes into the file */
	struct cr_sidecar_counts counts;
	bool have_last;
	uint64_t last_index;
	uint32_t last_sequence;
	uint64_t index;                 /* the frame's own */
	uint32_t sequence;
	int64_t mono_ns, utc_us;
	int64_t device_ns;
};

struct cr_sidecar {
	FILE *f;
	char trigger[16];
	const char *end;            /* what ends a gap row: "" or the empty device_ns column "," */
	bool device_clock;
	bool have_last;
	uint64_t last_index;
	uint32_t last_sequence;
	struct cr_sidecar_counts counts;
	int error;                  /* first write error, negative errno */
	struct cr_ring marks;       /* of struct mark, the newest MARKS_MAX frames */
};

int cr_sidecar_open(const char *path, const struct cr_sidecar_info *info, struct cr_sidecar **out)
{
	struct cr_sidecar *sc;
	FILE *f = fopen(path, "wx");
	char iso[40];

	if (!f)
		return -errno;
	sc = CR_NEW(sc);
	sc->f = f;
	cr_ring_init(&sc->marks, MARKS_MAX, sizeof(struct mark), CR_RING_DROP_OLDEST);
	setvbuf(f, NULL, _IOLBF, 0);
	snprintf(sc->trigger, sizeof(sc->trigger), "%s", info->trigger);
	sc->device_clock = info->device_clock;
	sc->end = info->device_clock ? "," : "";
	fprintf(f, "# camrig sidecar 1\n# video: %s\n# camera: %s\n# codec: %s\n# trigger: %s\n"
		"# trigger_mono_ns: %lld\n# trigger_utc: %s\n# pre_trigger_s: %g\n# segment: %u\n",
		info->video, info->camera, info->codec, info->trigger, (long long)info->trigger_mono_ns,
		cr_time_iso8601(info->trigger_utc_us, iso, sizeof(iso)), info->pre_trigger_s, info->segment);
	if (info->camera_format)
		fprintf(f, "# camera_format: %s\n", info->camera_format);
	if (info->continues)
		fprintf(f, "# continues: %s\n", info->continues);
	fprintf(f, "frame,index,sequence,mono_ns,utc_us,status,trigger%s\n", info->device_clock ? ",device_ns" : "");
	if (ferror(f)) { /* a full disk */
		fclose(f);
		cr_ring_fini(&sc->marks);
		free(sc);
		return -EIO;
	}
	*out = sc;
	return 0;
}

static void check(struct cr_sidecar *sc)
{
	if (!sc->error && ferror(sc->f))
		sc->error = errno ? -errno : -EIO;
}

/* Gap rows between the previous packet and one with index and sequence. */
static void gaps(struct cr_sidecar *sc, uint64_t index, uint32_t sequence)
{
	uint64_t dropped, seq_gap, lost;

	if (!sc->have_last || index <= sc->last_index)
		return;
	dropped = index - sc->last_index - 1;
	seq_gap = sequence > sc->last_sequence ? (uint64_t)(sequence - sc->last_sequence - 1) : 0;
	lost = seq_gap > dropped ? seq_gap - dropped : 0;
	for (uint64_t i = 1; i <= dropped; i++) {
		if (lost == 0 && seq_gap == dropped)
			fprintf(sc->f, ",%llu,%llu,,,dropped,%s%s\n", (unsigned long long)(sc->last_index + i),
				(unsigned long long)(sc->last_sequence + i), sc->trigger, sc->end);
		else
			fprintf(sc->f, ",%llu,,,,dropped,%s%s\n", (unsigned long long)(sc->last_index + i), sc->trigger,
				sc->end);
	}
	for (uint64_t i = 1; i <= lost; i++) {
		if (dropped == 0)
			fprintf(sc->f, ",,%llu,,,lost,%s%s\n", (unsigned long long)(sc->last_sequence + i), sc->trigger,
				sc->end);
		else
			fprintf(sc->f, ",,,,,lost,%s%s\n", sc->trigger, sc->end);
	}
	sc->counts.dropped += dropped;
	sc->counts.lost += lost;
}

static int row(struct cr_sidecar *sc, const char *frame, uint64_t index, uint32_t sequence, int64_t mono_ns,
	       int64_t utc_us, int64_t device_ns, const char *status)
{
	gaps(sc, index, sequence);
	fprintf(sc->f, "%s,%llu,%lu,%lld,%lld,%s,%s", frame, (unsigned long long)index, (unsigned long)sequence,
		(long long)mono_ns, (long long)utc_us, status, sc->trigger);
	if (sc->device_clock)
		fprintf(sc->f, ",%lld", (long long)device_ns);
	fputc('\n', sc->f);
	sc->have_last = true;
	sc->last_index = index;
	sc->last_sequence = sequence;
	check(sc);
	return sc->error;
}

int cr_sidecar_frame(struct cr_sidecar *sc, uint64_t frame, const struct cr_packet *pkt)
{
	struct mark m = { .frame = frame, .offset = ftell(sc->f), .counts = sc->counts, .have_last = sc->have_last,
			  .last_index = sc->last_index, .last_sequence = sc->last_sequence, .index = pkt->index,
			  .sequence = pkt->sequence, .mono_ns = pkt->mono_ns, .utc_us = pkt->utc_us,
			  .device_ns = pkt->device_ns };
	char num[24];

	cr_ring_push(&sc->marks, &m, NULL);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)frame);
	sc->counts.recorded++;
	return row(sc, num, pkt->index, pkt->sequence, pkt->mono_ns, pkt->utc_us, pkt->device_ns, "recorded");
}

int cr_sidecar_skip(struct cr_sidecar *sc, const struct cr_packet *pkt)
{
	sc->counts.dropped++;
	return row(sc, "", pkt->index, pkt->sequence, pkt->mono_ns, pkt->utc_us, pkt->device_ns, "dropped");
}

int cr_sidecar_rewind(struct cr_sidecar *sc, uint64_t frames)
{
	unsigned n = cr_ring_length(&sc->marks), first;
	const struct mark *m;

	if (n == 0 || frames > ((struct mark *)cr_ring_at(&sc->marks, n - 1))->frame)
		return 0; /* nothing to take back */
	m = cr_ring_at(&sc->marks, 0);
	if (frames < m->frame)
		return -ERANGE;
	first = (unsigned)(frames - m->frame);
	m = cr_ring_at(&sc->marks, first);
	if (fflush(sc->f) != 0 || ftruncate(fileno(sc->f), m->offset) < 0 || fseek(sc->f, 0, SEEK_END) < 0) {
		check(sc);
		return sc->error ? sc->error : -EIO;
	}
	sc->counts = m->counts;
	sc->have_last = m->have_last;
	sc->last_index = m->last_index;
	sc->last_sequence = m->last_sequence;
	for (unsigned i = first; i < n; i++) {
		m = cr_ring_at(&sc->marks, i);
		sc->counts.dropped++;
		row(sc, "", m->index, m->sequence, m->mono_ns, m->utc_us, m->device_ns, "dropped");
	}
	while (cr_ring_length(&sc->marks) > first)
		cr_ring_pop_back(&sc->marks, NULL);
	return sc->error;
}

void cr_sidecar_counts(const struct cr_sidecar *sc, struct cr_sidecar_counts *counts)
{
	*counts = sc->counts;
}

int cr_sidecar_pause(struct cr_sidecar *sc, int64_t mono_ns, int64_t utc_us)
{
	fprintf(sc->f, ",,,%lld,%lld,paused,%s%s\n", (long long)mono_ns, (long long)utc_us, sc->trigger, sc->end);
	sc->counts.paused++;
	sc->have_last = false; /* what comes before the next span is no gap */
	check(sc);
	return sc->error;
}

int cr_sidecar_span(struct cr_sidecar *sc, unsigned span, const char *trigger, int64_t trigger_mono_ns,
		    int64_t trigger_utc_us)
{
	char iso[40];

	snprintf(sc->trigger, sizeof(sc->trigger), "%s", trigger);
	fprintf(sc->f, "# span: %u trigger=%s trigger_mono_ns=%lld trigger_utc=%s\n", span, trigger,
		(long long)trigger_mono_ns, cr_time_iso8601(trigger_utc_us, iso, sizeof(iso)));
	check(sc);
	return sc->error;
}

int cr_sidecar_link(const char *path, const char *video)
{
	FILE *f = fopen(path, "a");
	int ret = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "# continued_in: %s\n", video) < 0)
		ret = -EIO;
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	return ret;
}

int cr_sidecar_close(struct cr_sidecar **psc, const char *reason)
{
	struct cr_sidecar *sc = *psc;
	int ret;

	if (!sc)
		return 0;
	*psc = NULL;
	fprintf(sc->f, "# end: recorded=%llu dropped=%llu lost=%llu reason=%s\n",
		(unsigned long long)sc->counts.recorded, (unsigned long long)sc->counts.dropped,
		(unsigned long long)sc->counts.lost, reason);
	check(sc);
	ret = sc->error;
	if (fclose(sc->f) != 0 && ret == 0)
		ret = -errno;
	cr_ring_fini(&sc->marks);
	free(sc);
	return ret;
}
