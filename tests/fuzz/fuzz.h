/* What the fuzz targets share: the libFuzzer entry points, a check that
 * crashes on purpose, and a temporary directory for targets that must give
 * camrig a file.
 *
 * Every target is built twice (tests/fuzz/meson.build): with libFuzzer
 * (scripts/fuzz.sh, clang -fsanitize=fuzzer) and with runner.c, a main()
 * that replays the files of a corpus (the meson test suite "fuzz", gcc and
 * the ASan build). A target returns 0 for every input; a broken property is
 * reported by FUZZ_CHECK(), which aborts so that both builds record it. */
#ifndef CR_FUZZ_FUZZ_H
#define CR_FUZZ_FUZZ_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libFuzzer's entry points (https://llvm.org/docs/LibFuzzer.html). The
 * first runs once per input and must not keep state that changes what a
 * later input does; the second, optional, runs once before any input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Aborts, naming the property, when cond is false. */
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))

static inline void fuzz_tmpdir_remove(void);

static inline __attribute__((noreturn)) void fuzz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
	fuzz_tmpdir_remove();
	abort();
}

/* A NUL-terminated copy of the input (it stops at the first NUL byte, as
 * any C string made of it would). The caller frees it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#define FUZZ_DIR_MAX 256

/* The name of fuzz_tmpdir()'s directory; "" before it is made. */
static inline char *fuzz_dir(void)
{
	static char dir[FUZZ_DIR_MAX];

	return dir;
}

/* Removes the directory of fuzz_tmpdir() and the files in it. */
static inline void fuzz_tmpdir_remove(void)
{
	DIR *d = fuzz_dir()[0] ? opendir(fuzz_dir()) : NULL;
	struct dirent *e;
	char path[FUZZ_DIR_MAX + 256];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(fuzz_dir());
}

/* A private directory, made at the first call under $TMPDIR, else
 * /dev/shm (no disk writes), else /tmp, and removed with its files when the
 * process exits or a check fails. A sanitizer's crash leaves it behind:
 * scripts/fuzz.sh points TMPDIR into its own temporary directory, which it
 * removes. Targets write their files only here. */
static inline const char *fuzz_tmpdir(void)
{
	char *dir = fuzz_dir();

	if (!dir[0]) {
		const char *base = getenv("TMPDIR");

		if (!base || !*base || strlen(base) > FUZZ_DIR_MAX - 24)
			base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(dir, FUZZ_DIR_MAX, "%s/camrig-fuzz.XXXXXX", base);
		if (!mkdtemp(dir)) {
			perror("camrig fuzz: mkdtemp");
			abort();
		}
		atexit(fuzz_tmpdir_remove);
	}
	return dir;
}

#endif
