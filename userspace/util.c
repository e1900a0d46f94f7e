/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int util__write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= w;
	}
	return 0;
}

int util__read_small(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;

	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		n += r;
		if (n == cap)
			return -EFBIG;
	}
	*len = n;
	return 0;
}

int util__write_temp(const char *path, const char *text, size_t len, mode_t mode, char **tmp)
{
	int fd, err;

	if (asprintf(tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
		*tmp = NULL;
		return -ENOMEM;
	}
	unlink(*tmp);
	fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	err = fchmod(fd, mode) ? -errno : 0;
	if (!err)
		err = util__write_all(fd, text, len);
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (err)
		goto fail;
	return 0;
fail:
	unlink(*tmp);
	free(*tmp);
	*tmp = NULL;
	return err;
}

int util__fsync_parent(const char *path)
{
	char *dup = strdup(path);
	int fd, err = 0;

	if (!dup)
		return -ENOMEM;
	fd = open(dirname(dup), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dup);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}
