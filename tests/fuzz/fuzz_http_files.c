/* Fuzz target: what GET /recordings/PATH reads from a request
 * (http/files.c, record/catalog.c): the Range and If-None-Match headers,
 * and the path itself. Includes files.c to reach parse_range() and
 * none_match().
 *
 * At start-up a root is made in a temporary directory: root/a.mp4,
 * root/sub/c.csv, and beside the root outside.txt, with the symbolic links
 * root/out -> ../outside.txt and root/up -> .. as ways out. The input is
 * one string: the path of a request ("recordings/sub/c.csv"), the value of
 * a Range header and an If-None-Match value, all at once.
 *
 * Properties: a range taken lies within the file (first <= last < size),
 * and none is taken of an empty file; whatever the path, a file the
 * catalogue opens is one of the two inside the root, never outside.txt nor
 * anything else. */
#include "../../src/http/files.c"

#include "fuzz.h"

#include "base/log.h"

#include <fcntl.h>
#include <sys/stat.h>

static char root[FUZZ_DIR_MAX + 16], sub[FUZZ_DIR_MAX + 32];
static ino_t inside[2];
static struct cr_catalog *cat;
static struct cr_camera_config camera;
static struct cr_config config;

static void remove_root(void)
{
	char path[FUZZ_DIR_MAX + 64];

	snprintf(path, sizeof(path), "%s/c.csv", sub);
	unlink(path);
	rmdir(sub);
	for (const char *const *n = (const char *const[]){ "a.mp4", "out", "up", NULL }; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", root, *n);
		unlink(path);
	}
	rmdir(root);
	cr_catalog_free(&cat);
}

static ino_t make_file(const char *path, const char *text)
{
	struct stat st;
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || stat(path, &st) < 0)
		abort();
	return st.st_ino;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[FUZZ_DIR_MAX + 64];

	cr_log_set_level(CR_LOG_ERROR);
	snprintf(root, sizeof(root), "%s/root", fuzz_tmpdir());
	snprintf(sub, sizeof(sub), "%s/sub", root);
	if (mkdir(root, 0700) < 0 || mkdir(sub, 0700) < 0)
		abort();
	atexit(remove_root); /* before fuzz_tmpdir's: atexit runs last first */
	snprintf(path, sizeof(path), "%s/a.mp4", root);
	inside[0] = make_file(path, "not really a video");
	snprintf(path, sizeof(path), "%s/c.csv", sub);
	inside[1] = make_file(path, "frame,index\n");
	snprintf(path, sizeof(path), "%s/outside.txt", fuzz_tmpdir());
	make_file(path, "secret");
	snprintf(path, sizeof(path), "%s/out", root);
	if (symlink("../outside.txt", path) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/up", root);
	if (symlink("..", path) < 0)
		abort();
	camera.name = "cam";
	camera.recording.root = root;
	config.cameras = &camera;
	config.ncameras = 1;
	cat = cr_catalog_new(&config);
	/* The fixture works: the way in opens, the ways out do not. */
	{
		struct stat st;
		int fd;

		if (cr_catalog_open(cat, "recordings/sub/c.csv", &fd, &st) != 0 || st.st_ino != inside[1])
			abort();
		close(fd);
		if (cr_catalog_open(cat, "recordings/out", &fd, &st) != -ENOENT ||
		    cr_catalog_open(cat, "recordings/up/outside.txt", &fd, &st) != -ENOENT)
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size);
	uint64_t first = 0, last = 0;
	struct stat st;
	int fd, ret;

	if (!cat)
		LLVMFuzzerInitialize(NULL, NULL);
	for (uint64_t file_size = 0; file_size < 3000; file_size = file_size * 7 + 1) {
		ret = parse_range(text, file_size, &first, &last);
		FUZZ_CHECK(ret >= -1 && ret <= 1);
		FUZZ_CHECK(ret != 1 || (first <= last && last < file_size));
	}
	(void)none_match(text, "\"1-2-3\"");
	ret = cr_catalog_open(cat, text, &fd, &st);
	FUZZ_CHECK(ret <= 0);
	if (ret == 0) {
		FUZZ_CHECK(S_ISREG(st.st_mode) && (st.st_ino == inside[0] || st.st_ino == inside[1]));
		close(fd);
	}
	free(text);
	return 0;
}
