/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "attest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

struct exe_entry {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	unsigned long used;		/* LRU clock; 0: empty */
	char hex[65];
};

struct exe_cache {
	struct exe_entry *v;
	size_t cap;
	unsigned long clock;
	unsigned long hashed;
};

int attest__start_time(pid_t pid, uint64_t *ticks)
{
	char path[64], buf[1024], *p, *end;
	unsigned long long v;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold spaces and ')', so the
	 * fields start after the last ')'; field 3 (state) is the first */
	p = strrchr(buf, ')');
	if (!p)
		return -EBADMSG;
	p++;
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EBADMSG;
		if (field == 22) {
			errno = 0;
			v = strtoull(p, &end, 10);
			if (errno || end == p || (*end != ' ' && *end != '\n' && *end))
				return -EBADMSG;
			*ticks = v;
			return 0;
		}
		p += strcspn(p, " ");
	}
	return -EBADMSG;
}

struct exe_cache *exe_cache__new(size_t cap)
{
	struct exe_cache *c = calloc(1, sizeof(*c));

	if (!cap)
		cap = ATTEST_CACHE_DEFAULT;
	if (c)
		c->v = calloc(cap, sizeof(*c->v));
	if (!c || !c->v) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->cap = cap;
	return c;
}

void exe_cache__free(struct exe_cache *c)
{
	if (!c)
		return;
	free(c->v);
	free(c);
}

unsigned long exe_cache__hashed(const struct exe_cache *c)
{
	return c->hashed;
}

static bool stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static bool same_file(const struct exe_entry *e, const struct stat *st)
{
	return e->used && e->dev == st->st_dev && e->ino == st->st_ino &&
	       e->size == st->st_size && e->mtime.tv_sec == st->st_mtim.tv_sec &&
	       e->mtime.tv_nsec == st->st_mtim.tv_nsec && e->ctime.tv_sec == st->st_ctim.tv_sec &&
	       e->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* SHA-256 of the file at fd, which holds size bytes: -EAGAIN if it has
 * more (it grew while read). */
static int hash_fd(int fd, off_t size, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t md[32];
	char *buf = malloc(1 << 16);
	off_t total = 0;
	int err = 0;

	if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		err = ctx && buf ? -EIO : -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 16);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		total += n;
		if (total > size) {
			err = -EAGAIN;
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, n) != 1) {
			err = -EIO;
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1) {
		err = -EIO;
		goto out;
	}
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return err;
}

int exe_cache__sha256(struct exe_cache *c, pid_t pid, char hex[65])
{
	struct exe_entry *e, *victim;
	char path[64];
	struct stat st;
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EACCES;
		goto out;
	}
	if ((unsigned long long)st.st_size > ATTEST_EXE_MAX) {
		err = -EFBIG;
		goto out;
	}
	victim = &c->v[0];
	for (size_t i = 0; i < c->cap; i++) {
		e = &c->v[i];
		if (same_file(e, &st)) {
			e->used = ++c->clock;
			memcpy(hex, e->hex, sizeof(e->hex));
			err = 0;
			goto out;
		}
		if (e->used < victim->used)
			victim = e;
	}
	err = hash_fd(fd, st.st_size, hex);
	if (err)
		goto out;
	c->hashed++;
	/* a file that changed while it was read has no hash */
	{
		struct stat after;

		if (fstat(fd, &after) || !stat_same(&st, &after)) {
			err = -EAGAIN;
			goto out;
		}
	}
	victim->dev = st.st_dev;
	victim->ino = st.st_ino;
	victim->size = st.st_size;
	victim->mtime = st.st_mtim;
	victim->ctime = st.st_ctim;
	victim->used = ++c->clock;
	memcpy(victim->hex, hex, sizeof(victim->hex));
out:
	close(fd);
	return err;
}
