/* Filesystem helpers: mkdir -p, whole-file writes, unique names, secret
 * files. */
#include "base/fs.h"

#include "base/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cr_fs_make_dirs(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int cr_fs_make_parent(const char *path)
{
	char parent[PATH_MAX];
	char *slash;

	if (snprintf(parent, sizeof(parent), "%s", path) >= (int)sizeof(parent))
		return -ENAMETOOLONG;
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return 0;
	*slash = '\0';
	return cr_fs_make_dirs(parent);
}

int cr_fs_write_file(const char *path, const void *data, size_t size, bool sync)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), ret = 0;
	const char *p = data;

	if (fd < 0)
		return -errno;
	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		size -= (size_t)n;
	}
	if (ret == 0 && sync && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	return ret;
}

int cr_fs_write_atomic(const char *path, const void *data, size_t size)
{
	char tmp[PATH_MAX];
	int ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	ret = cr_fs_write_file(tmp, data, size, true);
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

int cr_fs_claim_unique(const char *base, char *out, size_t len, int (*claim)(void *ctx, const char *path),
		       void *ctx)
{
	int ret = -EEXIST;

	for (int n = 0; n < CR_FS_UNIQUE_MAX && ret == -EEXIST; n++) {
		if ((n ? snprintf(out, len, "%s_%d", base, n) : snprintf(out, len, "%s", base)) >= (int)len)
			return -ENAMETOOLONG;
		ret = claim(ctx, out);
	}
	return ret;
}

int cr_fs_read_secret(const char *what, const char *path, size_t max, char **text, char *why, size_t why_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int ret;

	*text = NULL;
	if (fd < 0) {
		ret = -errno;
		snprintf(why, why_len, "%s %s: cannot open: %s", what, path, strerror(-ret));
		return ret;
	}
	/* fstat of the file opened: no window for a swap after the check. */
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(why, why_len, "%s %s: %s", what, path, strerror(-ret));
		close(fd);
		return ret;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(why, why_len, "%s %s is readable by others (mode %03o); refusing to use it (run: chmod o-rwx %s)",
			 what, path, (unsigned)(st.st_mode & 0777), path);
		close(fd);
		return -EPERM;
	}
	buf = cr_malloc(max + 2);
	while ((n = read(fd, buf + got, max + 1 - got)) > 0 && got + (size_t)n <= max)
		got += (size_t)n;
	ret = n < 0 ? -errno : n > 0 ? -EFBIG : 0;
	close(fd);
	if (ret < 0) {
		if (ret == -EFBIG)
			snprintf(why, why_len, "%s %s: too long (expected at most %zu bytes)", what, path, max);
		else
			snprintf(why, why_len, "%s %s: cannot read: %s", what, path, strerror(-ret));
		explicit_bzero(buf, max + 2);
		free(buf);
		return ret;
	}
	buf[got] = '\0';
	*text = buf;
	return 0;
}

/* ---- file-name templates ------------------------------------------------- */

static int name_refuse(char *why, size_t why_len, const char *tmpl, const char *fmt, const char *detail)
{
	char text[256];

	if (why) {
		snprintf(text, sizeof(text), fmt, detail);
		snprintf(why, why_len, "\"%s\": %s", tmpl, text);
	}
	return -EINVAL;
}

/* Appends n bytes of s to out at *at; false when it does not fit. */
static bool name_put(char *out, size_t len, size_t *at, const char *s, size_t n)
{
	if (*at + n >= len)
		return false;
	memcpy(out + *at, s, n);
	*at += n;
	out[*at] = '\0';
	return true;
}

int cr_fs_name_expand(const char *tmpl, const struct cr_fs_name_fields *fields, char *out, size_t len, char *why,
		      size_t why_len)
{
	time_t secs = (time_t)(fields->utc_us / 1000000);
	size_t at = 0;
	struct tm tm;
	char piece[64];
	const char *p, *part;

	if (len == 0)
		return -ENAMETOOLONG;
	out[0] = '\0';
	if (!*tmpl || tmpl[0] == '/')
		return name_refuse(why, why_len, tmpl, "%s", "an empty or absolute path");
	if (fields->local)
		localtime_r(&secs, &tm);
	else
		gmtime_r(&secs, &tm);
	for (p = tmpl; *p; p++) {
		size_t n = 0;

		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return name_refuse(why, why_len, tmpl, "%s", "a control character");
		if (*p == '%') {
			char conv[3] = { '%', p[1], '\0' };

			if (!p[1] || !strchr("YmdHMSjy%", p[1])) {
				piece[0] = p[1];
				piece[1] = '\0';
				return name_refuse(why, why_len, tmpl, "%%%s is not a field camrig fills", piece);
			}
			n = strftime(piece, sizeof(piece), conv, &tm);
			p++;
		} else if (*p == '{') {
			const char *close = strchr(p, '}');
			size_t name_len = close ? (size_t)(close - p - 1) : 0;

			if (close && name_len == 6 && strncmp(p + 1, "camera", 6) == 0)
				n = (size_t)snprintf(piece, sizeof(piece), "%s", fields->camera ? fields->camera : "");
			else if (close && name_len == 1 && p[1] == 'n')
				n = (size_t)snprintf(piece, sizeof(piece), "%04u", fields->number);
			else if (close && name_len == 2 && strncmp(p + 1, "ms", 2) == 0)
				n = (size_t)snprintf(piece, sizeof(piece), "%03d",
						     (int)(fields->utc_us % 1000000 / 1000));
			else
				return name_refuse(why, why_len, tmpl, "%s", "an unknown {} field");
			if (n >= sizeof(piece))
				return -ENAMETOOLONG;
			p = close;
		} else {
			piece[0] = *p;
			n = 1;
		}
		if (!name_put(out, len, &at, piece, n))
			return -ENAMETOOLONG;
	}
	/* Every component a name: not empty, not "." or "..". */
	for (part = out;; part++) {
		size_t n = strcspn(part, "/");

		if (n == 0 || (n == 1 && part[0] == '.') || (n == 2 && part[0] == '.' && part[1] == '.'))
			return name_refuse(why, why_len, tmpl, "%s", "an empty, \".\" or \"..\" path component");
		part += n;
		if (!*part)
			break;
	}
	return 0;
}
