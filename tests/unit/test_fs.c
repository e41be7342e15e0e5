/* Files (base/fs.c, base/time.c): the file-name stamp, unique names with
 * "_N" and a claim that can fail, and secret files (refused when others can
 * read them, bounded, read whole). Runs in a temporary directory. */
#include "base/fs.h"
#include "base/time.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static char tmpdir[] = "/tmp/test_fs.XXXXXX";

static int setup(void **state)
{
	return mkdtemp(tmpdir) && chdir(tmpdir) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return chdir("/") == 0 && system(cmd) == 0 ? 0 : -1;
}

static void test_stamp(void **state)
{
	char buf[32];

	/* 2026-11-21 19:15:37.123456 UTC */
	assert_string_equal(cr_time_stamp(INT64_C(1795288537123456), false, buf, sizeof(buf)), "2026_11_21_19_15_37");
	assert_string_equal(cr_time_stamp(INT64_C(1795288537123456), true, buf, sizeof(buf)), "2026_11_21_19_15_37_123");
	assert_string_equal(cr_time_stamp(INT64_C(1795288537000999), true, buf, sizeof(buf)), "2026_11_21_19_15_37_000");
}

static int claim_mkdir(void *ctx, const char *path)
{
	return mkdir(path, 0755) == 0 ? 0 : -errno;
}

static int claim_refuse(void *ctx, const char *path)
{
	int *calls = ctx;

	return ++*calls == 2 ? -EACCES : -EEXIST;
}

static void test_unique(void **state)
{
	char out[64];
	int calls = 0;

	assert_int_equal(cr_fs_claim_unique("cam_2026", out, sizeof(out), claim_mkdir, NULL), 0);
	assert_string_equal(out, "cam_2026");
	assert_int_equal(cr_fs_claim_unique("cam_2026", out, sizeof(out), claim_mkdir, NULL), 0);
	assert_string_equal(out, "cam_2026_1");
	assert_int_equal(cr_fs_claim_unique("cam_2026", out, sizeof(out), claim_mkdir, NULL), 0);
	assert_string_equal(out, "cam_2026_2");
	/* a claim's own error stops the search */
	assert_int_equal(cr_fs_claim_unique("x", out, sizeof(out), claim_refuse, &calls), -EACCES);
	assert_int_equal(calls, 2);
	assert_int_equal(cr_fs_claim_unique("a_rather_long_name", out, 8, claim_mkdir, NULL), -ENAMETOOLONG);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_secret(void **state)
{
	char why[256], *text = NULL;

	write_file("token", "s3cret-token\n", 0600);
	assert_int_equal(cr_fs_read_secret("x.token_file", "token", 64, &text, why, sizeof(why)), 0);
	assert_string_equal(text, "s3cret-token\n");
	free(text);

	write_file("loose", "s3cret\n", 0644);
	assert_int_equal(cr_fs_read_secret("x.token_file", "loose", 64, &text, why, sizeof(why)), -EPERM);
	assert_null(text);
	assert_non_null(strstr(why, "x.token_file loose is readable by others (mode 644)"));
	assert_non_null(strstr(why, "chmod o-rwx loose"));

	write_file("long", "0123456789abcdef", 0600);
	assert_int_equal(cr_fs_read_secret("x", "long", 16, &text, why, sizeof(why)), 0);
	free(text);
	assert_int_equal(cr_fs_read_secret("x", "long", 15, &text, why, sizeof(why)), -EFBIG);
	assert_non_null(strstr(why, "too long"));
	assert_int_equal(cr_fs_read_secret("x", "missing", 15, &text, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "x missing: cannot open"));
}

/* Expands tmpl with fixed fields, or returns the error. */
static int expand(const char *tmpl, char *out, size_t len, char *why)
{
	/* 2025-11-21 19:15:37.123 UTC */
	const struct cr_fs_name_fields f = { .utc_us = INT64_C(1763752537123456), .camera = "cam1", .number = 7 };

	return cr_fs_name_expand(tmpl, &f, out, len, why, 256);
}

static void test_name_template(void **state)
{
	char out[256], why[256] = "";

	assert_int_equal(expand("%Y_%m_%d/video/{camera}_%Y_%m_%d_%H_%M_%S", out, sizeof(out), why), 0);
	assert_string_equal(out, "2025_11_21/video/cam1_2025_11_21_19_15_37");
	assert_int_equal(expand("{camera}/trial_{n}_{ms}%%", out, sizeof(out), why), 0);
	assert_string_equal(out, "cam1/trial_0007_123%");
	assert_int_equal(expand("day%j-%y", out, sizeof(out), why), 0);
	assert_string_equal(out, "day325-25");
	/* What a template must not be, each with its reason. */
	assert_int_equal(expand("/etc/x", out, sizeof(out), why), -EINVAL);
	assert_non_null(strstr(why, "absolute"));
	assert_int_equal(expand("a/../b", out, sizeof(out), why), -EINVAL);
	assert_non_null(strstr(why, "\"..\""));
	assert_int_equal(expand("a//b", out, sizeof(out), why), -EINVAL);
	assert_int_equal(expand("a/", out, sizeof(out), why), -EINVAL);
	assert_int_equal(expand("%s", out, sizeof(out), why), -EINVAL);
	assert_non_null(strstr(why, "%s is not a field"));
	assert_int_equal(expand("x%", out, sizeof(out), why), -EINVAL);
	assert_int_equal(expand("{cam}", out, sizeof(out), why), -EINVAL);
	assert_non_null(strstr(why, "unknown {} field"));
	assert_int_equal(expand("{camera", out, sizeof(out), why), -EINVAL);
	assert_int_equal(expand("a\nb", out, sizeof(out), why), -EINVAL);
	assert_int_equal(expand("", out, sizeof(out), why), -EINVAL);
	assert_int_equal(expand("{camera}_%Y", out, 8, why), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp),
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_name_template),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
