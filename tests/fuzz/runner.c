/* Regression runner: the main() of a fuzz target built without libFuzzer.
 *
 *   fuzz_NAME_regress PATH...
 *
 * Runs LLVMFuzzerTestOneInput() once on every file given, and on every file
 * under every directory given (recursively, in name order, dot files left
 * out), each in a buffer of exactly its size so that ASan sees any read past
 * the end. Prints how many inputs ran. Exits 0 when every path was readable
 * and at least one input ran; a crash or a failed FUZZ_CHECK() aborts. This
 * is how the corpus, and any crash file libFuzzer saved, become a test (the
 * meson suite "fuzz"). */
#include "fuzz.h"

#include <errno.h>
#include <sys/stat.h>

#define INPUT_MAX (16 * 1024 * 1024) /* bytes of one input file */

/* Defined by the targets that need one-time setup. */
extern int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path, const struct stat *st, unsigned *ran)
{
	FILE *f;
	uint8_t *data;
	size_t size = (size_t)st->st_size;

	if (st->st_size > INPUT_MAX) {
		fprintf(stderr, "%s: too large (expected at most %d bytes)\n", path, INPUT_MAX);
		return -EFBIG;
	}
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
		return -errno;
	}
	data = malloc(size ? size : 1);
	if (!data)
		abort();
	if (fread(data, 1, size, f) != size) {
		fprintf(stderr, "%s: cannot read\n", path);
		fclose(f);
		free(data);
		return -EIO;
	}
	fclose(f);
	fprintf(stderr, "input: %s (%zu bytes)\n", path, size);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	(*ran)++;
	return 0;
}

static int run_path(const char *path, unsigned *ran)
{
	struct dirent **names;
	struct stat st;
	int n, ret = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path, &st, ran);
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: cannot list: %s\n", path, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		char *sub;

		if (names[i]->d_name[0] != '.' && asprintf(&sub, "%s/%s", path, names[i]->d_name) >= 0) {
			int r = run_path(sub, ran);

			if (r < 0)
				ret = r;
			free(sub);
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	unsigned ran = 0;
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIRECTORY...\n", name);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &ran) < 0)
			status = 1;
	printf("%s: %u inputs ran\n", name, ran);
	if (ran == 0) {
		fprintf(stderr, "%s: no input found\n", name);
		status = 1;
	}
	return status;
}
