/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "util.h"

#include <errno.h>
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
