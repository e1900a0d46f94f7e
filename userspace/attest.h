/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * attest.h: what /proc says about a process, for identity tokens
 * (docs/tokens.md): its start time and the SHA-256 of its executable, with
 * a bounded cache so that repeated tokens for the same binary do not hash
 * it again. The caller pins the process with a pidfd and checks it is still
 * alive after these reads (so a reused pid cannot pass for it).
 */
#ifndef AG_ATTEST_H
#define AG_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ATTEST_EXE_MAX		(512ULL << 20)	/* bytes: larger executables are not hashed */
#define ATTEST_CACHE_DEFAULT	64		/* executables remembered */

struct exe_cache;

/* attest__start_time: the start time of pid in clock ticks after boot
 * (/proc/<pid>/stat field 22, sysconf(_SC_CLK_TCK) per second). Returns 0,
 * -EBADMSG if the file cannot be parsed, or -errno (-ENOENT: no such
 * process). */
int attest__start_time(pid_t pid, uint64_t *ticks);

/* exe_cache__new: an empty cache of at most cap executables (0: the
 * default). NULL with errno ENOMEM. Free with exe_cache__free(). */
struct exe_cache *exe_cache__new(size_t cap);

/* exe_cache__free: frees c; NULL is a no-op. */
void exe_cache__free(struct exe_cache *c);

/* exe_cache__sha256: the SHA-256 (64 lowercase hex digits and a NUL, into
 * hex) of the file pid executes, read through /proc/<pid>/exe (the file
 * itself, even if its path was since replaced or removed). A file already
 * hashed is known by (st_dev, st_ino, st_size, st_mtim, st_ctim): a change
 * of its content changes mtime or ctime (only root can set ctime back, by
 * changing the clock), and the least recently used entry makes room.
 * Returns 0, -EFBIG for a file over ATTEST_EXE_MAX, -EACCES if it is not a
 * regular file, -EAGAIN if it changed while it was read, or -errno. */
int exe_cache__sha256(struct exe_cache *c, pid_t pid, char hex[65]);

/* exe_cache__hashed: how many files c actually hashed (cache misses). */
unsigned long exe_cache__hashed(const struct exe_cache *c);

#endif
