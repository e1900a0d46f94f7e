/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* util.h: small I/O helpers shared by the modules. */
#ifndef AG_UTIL_H
#define AG_UTIL_H

#include <stddef.h>

/* util__write_all: write all n bytes of p to fd, retrying on EINTR and short
 * writes. Returns 0 or -errno. */
int util__write_all(int fd, const void *p, size_t n);

#endif
