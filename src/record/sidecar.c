/* The timestamp sidecar writer (format in sidecar.h and doc/sidecar.md).
 *
 * Gap accounting between two consecutive packets A and B of a file: the
 * frames with camrig indexes between them were dropped inside camrig; the
 * driver sequence numbers between them beyond those were lost before camrig.
 * When only one kind is missing, its rows carry the sequence (or index)
 * numbers; when both are, which number went which way is unknown and the
 * column stays empty. A sequence that goes backwards (the device was
 * reopened) is a restart, not a gap. */
#include "record/sidecar.h"

#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cr_sidecar {
	FILE *f;
	char trigger[16];
	bool have_last;
	uint64_t last_index;
	uint32_t last_sequence;
	struct cr_sidecar_counts counts;
	int error;                  /* first write error, negative errno */
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
	setvbuf(f, NULL, _IOLBF, 0);
	snprintf(sc->trigger, sizeof(sc->trigger), "%s", info->trigger);
	fprintf(f, "# camrig sidecar 1\n# video: %s\n# camera: %s\n# codec: %s\n# trigger: %s\n"
		"# trigger_mono_ns: %lld\n# trigger_utc: %s\n# pre_trigger_s: %g\n# segment: %u\n"
		"frame,index,sequence,mono_ns,utc_us,status,trigger\n",
		info->video, info->camera, info->codec, info->trigger, (long long)info->trigger_mono_ns,
		cr_time_iso8601(info->trigger_utc_us, iso, sizeof(iso)), info->pre_trigger_s, info->segment);
	if (ferror(f)) {
		fclose(f);
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
			fprintf(sc->f, ",%llu,%llu,,,dropped,%s\n", (unsigned long long)(sc->last_index + i),
				(unsigned long long)(sc->last_sequence + i), sc->trigger);
		else
			fprintf(sc->f, ",%llu,,,,dropped,%s\n", (unsigned long long)(sc->last_index + i), sc->trigger);
	}
	for (uint64_t i = 1; i <= lost; i++) {
		if (dropped == 0)
			fprintf(sc->f, ",,%llu,,,lost,%s\n", (unsigned long long)(sc->last_sequence + i), sc->trigger);
		else
			fprintf(sc->f, ",,,,,lost,%s\n", sc->trigger);
	}
	sc->counts.dropped += dropped;
	sc->counts.lost += lost;
}

static int row(struct cr_sidecar *sc, const char *frame, const struct cr_packet *pkt, const char *status)
{
	gaps(sc, pkt->index, pkt->sequence);
	fprintf(sc->f, "%s,%llu,%lu,%lld,%lld,%s,%s\n", frame, (unsigned long long)pkt->index,
		(unsigned long)pkt->sequence, (long long)pkt->mono_ns, (long long)pkt->utc_us, status, sc->trigger);
	sc->have_last = true;
	sc->last_index = pkt->index;
	sc->last_sequence = pkt->sequence;
	check(sc);
	return sc->error;
}

int cr_sidecar_frame(struct cr_sidecar *sc, uint64_t frame, const struct cr_packet *pkt)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)frame);
	sc->counts.recorded++;
	return row(sc, num, pkt, "recorded");
}

int cr_sidecar_skip(struct cr_sidecar *sc, const struct cr_packet *pkt)
{
	sc->counts.dropped++;
	return row(sc, "", pkt, "dropped");
}

void cr_sidecar_counts(const struct cr_sidecar *sc, struct cr_sidecar_counts *counts)
{
	*counts = sc->counts;
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
	free(sc);
	return ret;
}
