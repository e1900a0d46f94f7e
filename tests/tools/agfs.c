/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * agfs: one file system call per invocation, with its errno printed in a form
 * the fallback tests match (tests/kernel/50-files-fallback.sh). Static, so
 * that running it needs no dynamic loader.
 *
 *   agfs read PATH            open(O_RDONLY) and read a byte
 *   agfs write PATH           open(O_WRONLY), no create, no truncate
 *   agfs append PATH TEXT     open(O_WRONLY|O_APPEND) and write TEXT
 *   agfs create PATH          open(O_WRONLY|O_CREAT|O_EXCL)
 *   agfs truncate PATH        truncate(PATH, 0)
 *   agfs rename OLD NEW       rename()
 *   agfs link OLD NEW         link()
 *   agfs unlink PATH          unlink()
 *   agfs mkdir PATH           mkdir()
 *   agfs rmdir PATH           rmdir()
 *   agfs symlink TARGET PATH  symlink()
 *   agfs openat DIR NAME r|w  openat() relative to an O_PATH descriptor of DIR
 *   agfs reopen PATH          open(O_RDONLY) (must work), then reopen
 *                             /proc/self/fd/N with O_RDWR
 *   agfs ls DIR               list DIR: prints "ok N" (entries)
 *   agfs exec PATH [ARG...]   execv(); prints only if it fails
 *   agfs getpid N             N getpid() calls, best of 5 rounds: prints the
 *                             nanoseconds per call
 *   agfs openloop PATH N      N open(O_RDONLY)+close() of PATH, best of 5
 *                             rounds: prints the nanoseconds per pair
 *
 * Prints "ok" or "err ENAME" (e.g. "err EACCES"); exit status 0 on "ok".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int report(int r)
{
	const char *n;

	if (r == 0) {
		printf("ok\n");
		return 0;
	}
	switch (errno) {
	case EACCES: n = "EACCES"; break;
	case EPERM: n = "EPERM"; break;
	case ENOENT: n = "ENOENT"; break;
	case EEXIST: n = "EEXIST"; break;
	case EXDEV: n = "EXDEV"; break;
	case ENOTDIR: n = "ENOTDIR"; break;
	case EISDIR: n = "EISDIR"; break;
	case ENOTEMPTY: n = "ENOTEMPTY"; break;
	case ELOOP: n = "ELOOP"; break;
	case EBADF: n = "EBADF"; break;
	default: n = NULL; break;
	}
	if (n)
		printf("err %s\n", n);
	else
		printf("err %d\n", errno);
	return 1;
}

static int open_close(const char *path, int flags, bool rd)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	char c;

	if (fd < 0)
		return -1;
	if (rd && read(fd, &c, 1) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: agfs read|write|create|truncate|unlink|mkdir|rmdir|ls PATH\n"
		"       agfs append PATH TEXT | rename|link OLD NEW | symlink TARGET PATH\n"
		"       agfs openat DIR NAME r|w | reopen PATH | exec PATH [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *op;

	if (argc < 3)
		usage();
	op = argv[1];
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(op, "read"))
		return report(open_close(argv[2], O_RDONLY, true));
	if (!strcmp(op, "write"))
		return report(open_close(argv[2], O_WRONLY, false));
	if (!strcmp(op, "create"))
		return report(open_close(argv[2], O_WRONLY | O_CREAT | O_EXCL, false));
	if (!strcmp(op, "truncate"))
		return report(truncate(argv[2], 0));
	if (!strcmp(op, "unlink"))
		return report(unlink(argv[2]));
	if (!strcmp(op, "mkdir"))
		return report(mkdir(argv[2], 0755));
	if (!strcmp(op, "rmdir"))
		return report(rmdir(argv[2]));
	if (!strcmp(op, "append") && argc == 4) {
		int fd = open(argv[2], O_WRONLY | O_APPEND | O_CLOEXEC);

		if (fd < 0)
			return report(-1);
		if (write(fd, argv[3], strlen(argv[3])) < 0) {
			close(fd);
			return report(-1);
		}
		close(fd);
		return report(0);
	}
	if (!strcmp(op, "rename") && argc == 4)
		return report(rename(argv[2], argv[3]));
	if (!strcmp(op, "link") && argc == 4)
		return report(link(argv[2], argv[3]));
	if (!strcmp(op, "symlink") && argc == 4)
		return report(symlink(argv[2], argv[3]));
	if (!strcmp(op, "openat") && argc == 5) {
		int dfd = open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC), fd;

		if (dfd < 0)
			return report(-1);
		fd = openat(dfd, argv[3], (argv[4][0] == 'w' ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		close(dfd);
		return report(fd < 0 ? -1 : 0);
	}
	if (!strcmp(op, "reopen")) {
		char p[64];
		int fd = open(argv[2], O_RDONLY), fd2;

		if (fd < 0) {
			printf("setup failed: ");
			return report(-1);
		}
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		fd2 = open(p, O_RDWR | O_CLOEXEC);
		if (fd2 >= 0)
			close(fd2);
		close(fd);
		return report(fd2 < 0 ? -1 : 0);
	}
	if (!strcmp(op, "ls")) {
		DIR *d = opendir(argv[2]);
		int n = 0;

		if (!d)
			return report(-1);
		while (readdir(d))
			n++;
		closedir(d);
		printf("ok %d\n", n - 2);
		return 0;
	}
	if (!strcmp(op, "getpid") || (!strcmp(op, "openloop") && argc == 4)) {
		bool opens = op[0] == 'o';
		long n = atol(argv[opens ? 3 : 2]);
		double best = 1e18;

		if (n <= 0 || n > 100000000)
			usage();
		for (int r = 0; r < 5; r++) {
			struct timespec a, b;
			double ns;

			clock_gettime(CLOCK_MONOTONIC, &a);
			for (long i = 0; i < n; i++) {
				if (opens) {
					int fd = open(argv[2], O_RDONLY | O_CLOEXEC);

					if (fd < 0)
						return report(-1);
					close(fd);
				} else {
					syscall(SYS_getpid);
				}
			}
			clock_gettime(CLOCK_MONOTONIC, &b);
			ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
			if (ns < best)
				best = ns;
		}
		printf("%.1f\n", best);
		return 0;
	}
	if (!strcmp(op, "exec")) {
		execv(argv[2], argv + 2);
		return report(-1);
	}
	usage();
	return 2;
}
