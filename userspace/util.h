/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* util.h: small I/O helpers shared by the modules. */
#ifndef AG_UTIL_H
#define AG_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* util__write_all: write all n bytes of p to fd, retrying on EINTR and short
 * writes. Returns 0 or -errno. */
int util__write_all(int fd, const void *p, size_t n);

/* util__read_small: read fd to its end into buf (cap bytes), retrying on
 * EINTR; *len is what was read. Returns 0, -EFBIG if the data fills cap
 * (so a caller that wants at most N bytes passes N + 1), or -errno. */
int util__read_small(int fd, char *buf, size_t cap, size_t *len);

/* util__write_temp: write len bytes of text to a fresh file "<path>.tmp.<pid>"
 * with mode (exactly: fchmod after the umask), fsynced, for the caller to
 * rename over path. Its name (malloc'd, the caller frees) in *tmp. Returns 0
 * or -errno; on error nothing is left behind and *tmp is NULL. */
int util__write_temp(const char *path, const char *text, size_t len, mode_t mode, char **tmp);

/* util__fsync_parent: fsync the directory holding path (after a rename or a
 * create in it). Returns 0 or -errno. */
int util__fsync_parent(const char *path);

#endif
