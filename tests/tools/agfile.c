/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * agfile: the file and exec actions of the test agents, one system call each,
 * with the result printed in a form the test scripts match: "ok" or
 * "err EPERM" (exit status 0 on "ok", 1 on an error, 2 on a usage error).
 *
 *   agfile open PATH MODE          open(); MODE r, w, rw, creat (O_WRONLY|O_CREAT),
 *                                  excl (O_WRONLY|O_CREAT|O_EXCL), trunc
 *                                  (O_WRONLY|O_TRUNC), rtrunc (O_RDONLY|O_TRUNC), dir
 *                                  (O_RDONLY|O_DIRECTORY)
 *   agfile openat DIR NAME MODE    open DIR (O_PATH), then openat() NAME relative to it
 *   agfile reopen PATH MODE        open PATH with O_PATH, then open /proc/self/fd/N
 *   agfile read PATH               open O_RDONLY and read; prints "ok <first line>"
 *   agfile truncate PATH           truncate(PATH, 0)
 *   agfile rename OLD NEW          rename()
 *   agfile exchange A B            renameat2(RENAME_EXCHANGE)
 *   agfile link OLD NEW            link()
 *   agfile unlink PATH             unlink()
 *   agfile mkdir PATH              mkdir(PATH, 0755)
 *   agfile rmdir PATH              rmdir()
 *   agfile symlink TARGET LINK     symlink()
 *   agfile chmod PATH OCTAL        chmod()
 *   agfile exec PATH [ARG...]      execv(); prints only when it fails
 *   agfile deep DIR BYTES          make DIR/d.../d.../f, nested until the path is longer
 *                                  than BYTES (with *at() calls: no path is ever that
 *                                  long); prints "ok DEPTH"
 *   agfile opendeep DIR MODE       walk down what deep made with O_PATH opens (which
 *                                  no file hook sees), then open "f" there
 *   agfile rmdeep DIR              remove what deep made
 *   agfile deny-loop PATH MODE N   N times open(PATH, MODE) (+ close) whatever it returns;
 *                                  prints "ok=A eperm=B other=C" (exit status 0)
 *   agfile bench PATH N            N times openat(PATH, O_RDONLY) + close(); prints
 *                                  "ok N NS_PER_OP" (the fastest of 5 rounds of N/5:
 *                                  the least disturbed by the rest of the machine)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DEEP_NAME_LEN 200	/* bytes of each component deep makes */

static int report(int r)
{
	const char *n;

	if (r >= 0) {
		printf("ok\n");
		return 0;
	}
	switch (errno) {
	case EPERM: n = "EPERM"; break;
	case EACCES: n = "EACCES"; break;
	case ENOENT: n = "ENOENT"; break;
	case EEXIST: n = "EEXIST"; break;
	case ENAMETOOLONG: n = "ENAMETOOLONG"; break;
	case EISDIR: n = "EISDIR"; break;
	case ENOTDIR: n = "ENOTDIR"; break;
	case EXDEV: n = "EXDEV"; break;
	case ENOTEMPTY: n = "ENOTEMPTY"; break;
	default: n = strerror(errno); break;
	}
	printf("err %s\n", n);
	return 1;
}

static int mode_flags(const char *m)
{
	if (!strcmp(m, "r"))
		return O_RDONLY;
	if (!strcmp(m, "w"))
		return O_WRONLY;
	if (!strcmp(m, "rw"))
		return O_RDWR;
	if (!strcmp(m, "creat"))
		return O_WRONLY | O_CREAT;
	if (!strcmp(m, "excl"))
		return O_WRONLY | O_CREAT | O_EXCL;
	if (!strcmp(m, "trunc"))
		return O_WRONLY | O_TRUNC;
	if (!strcmp(m, "rtrunc"))
		return O_RDONLY | O_TRUNC;
	if (!strcmp(m, "dir"))
		return O_RDONLY | O_DIRECTORY;
	fprintf(stderr, "agfile: unknown mode '%s'\n", m);
	exit(2);
}

static void deep_name(char *buf)
{
	memset(buf, 'd', DEEP_NAME_LEN);
	buf[DEEP_NAME_LEN] = 0;
}

static int deep(const char *dir, long bytes)
{
	char name[DEEP_NAME_LEN + 1];
	long len = strlen(dir);
	int fd, depth = 0;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return report(-1);
	fd = open(dir, O_PATH | O_DIRECTORY);
	deep_name(name);
	while (fd >= 0 && len <= bytes) {
		int next;

		if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST)
			return report(-1);
		next = openat(fd, name, O_PATH | O_DIRECTORY);
		close(fd);
		fd = next;
		len += 1 + DEEP_NAME_LEN;
		depth++;
	}
	if (fd < 0)
		return report(-1);
	{
		int f = openat(fd, "f", O_WRONLY | O_CREAT, 0644);

		if (f < 0)
			return report(-1);
		if (write(f, "deep\n", 5) != 5)
			return report(-1);
		close(f);
	}
	printf("ok %d\n", depth);
	return 0;
}

/* Down the chain deep made; returns an O_PATH fd of the deepest directory. */
static int deep_bottom(const char *dir, int *depth)
{
	char name[DEEP_NAME_LEN + 1];
	int fd = open(dir, O_PATH | O_DIRECTORY);

	deep_name(name);
	*depth = 0;
	while (fd >= 0) {
		int next = openat(fd, name, O_PATH | O_DIRECTORY);

		if (next < 0)
			break;
		close(fd);
		fd = next;
		(*depth)++;
	}
	return fd;
}

static int rmdeep(const char *dir)
{
	char name[DEEP_NAME_LEN + 1];
	int depth;

	deep_name(name);
	for (;;) {
		int fd = deep_bottom(dir, &depth), parent;

		if (fd < 0)
			return report(-1);
		unlinkat(fd, "f", 0);
		close(fd);
		if (depth == 0)
			break;
		/* remove the deepest directory from its parent */
		parent = open(dir, O_PATH | O_DIRECTORY);
		for (int i = 0; i < depth - 1 && parent >= 0; i++) {
			int next = openat(parent, name, O_PATH | O_DIRECTORY);

			close(parent);
			parent = next;
		}
		if (parent < 0 || unlinkat(parent, name, AT_REMOVEDIR) < 0)
			return report(-1);
		close(parent);
	}
	return report(0);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int bench(const char *path, long n)
{
	long long r[5];
	long per = n / 5 > 0 ? n / 5 : 1;

	for (int k = 0; k < 5; k++) {
		long long t0 = now_ns();

		for (long i = 0; i < per; i++) {
			int fd = openat(AT_FDCWD, path, O_RDONLY);

			if (fd < 0)
				return report(-1);
			close(fd);
		}
		r[k] = (now_ns() - t0) / per;
	}
	qsort(r, 5, sizeof(r[0]), cmp_ll);
	printf("ok %ld %lld\n", per * 5, r[0]);
	return 0;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	int fd;

	if (!strcmp(op, "open") && argc == 4)
		return report(open(argv[2], mode_flags(argv[3]), 0644));
	if (!strcmp(op, "openat") && argc == 5) {
		int dfd = open(argv[2], O_PATH | O_DIRECTORY);

		if (dfd < 0)
			return report(-1);
		return report(openat(dfd, argv[3], mode_flags(argv[4]), 0644));
	}
	if (!strcmp(op, "reopen") && argc == 4) {
		char proc[64];

		fd = open(argv[2], O_PATH);
		if (fd < 0)
			return report(-1);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		return report(open(proc, mode_flags(argv[3])));
	}
	if (!strcmp(op, "read") && argc == 3) {
		char buf[256];
		ssize_t n;

		fd = open(argv[2], O_RDONLY);
		if (fd < 0)
			return report(-1);
		n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0)
			return report(-1);
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
		printf("ok %s\n", buf);
		return 0;
	}
	if (!strcmp(op, "truncate") && argc == 3)
		return report(truncate(argv[2], 0));
	if (!strcmp(op, "rename") && argc == 4)
		return report(rename(argv[2], argv[3]));
	if (!strcmp(op, "exchange") && argc == 4)
		return report(syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3],
				      2 /* RENAME_EXCHANGE */));
	if (!strcmp(op, "link") && argc == 4)
		return report(link(argv[2], argv[3]));
	if (!strcmp(op, "unlink") && argc == 3)
		return report(unlink(argv[2]));
	if (!strcmp(op, "mkdir") && argc == 3)
		return report(mkdir(argv[2], 0755));
	if (!strcmp(op, "rmdir") && argc == 3)
		return report(rmdir(argv[2]));
	if (!strcmp(op, "symlink") && argc == 4)
		return report(symlink(argv[2], argv[3]));
	if (!strcmp(op, "chmod") && argc == 4)
		return report(chmod(argv[2], strtol(argv[3], NULL, 8)));
	if (!strcmp(op, "exec") && argc >= 3) {
		fflush(stdout);
		execv(argv[2], argv + 2);
		return report(-1);
	}
	if (!strcmp(op, "deep") && argc == 4)
		return deep(argv[2], atol(argv[3]));
	if (!strcmp(op, "opendeep") && argc == 4) {
		int depth, dfd = deep_bottom(argv[2], &depth);

		if (dfd < 0)
			return report(-1);
		return report(openat(dfd, "f", mode_flags(argv[3])));
	}
	if (!strcmp(op, "rmdeep") && argc == 3)
		return rmdeep(argv[2]);
	if (!strcmp(op, "bench") && argc == 4)
		return bench(argv[2], atol(argv[3]));
	if (!strcmp(op, "deny-loop") && argc == 5) {
		long n = atol(argv[4]), ok = 0, eperm = 0, other = 0;
		int flags = mode_flags(argv[3]);

		for (long i = 0; i < n; i++) {
			int fd = open(argv[2], flags, 0644);

			if (fd >= 0) {
				ok++;
				close(fd);
			} else if (errno == EPERM) {
				eperm++;
			} else {
				other++;
			}
		}
		printf("ok=%ld eperm=%ld other=%ld\n", ok, eperm, other);
		return 0;
	}
	fprintf(stderr, "usage: agfile open|openat|reopen|read|truncate|rename|exchange|link|"
		"unlink|mkdir|rmdir|symlink|chmod|exec|deep|opendeep|rmdeep|bench|deny-loop ARGS...\n");
	return 2;
}
