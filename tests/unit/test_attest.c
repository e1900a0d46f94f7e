/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_attest: what the daemon reads from /proc to attest a token's caller:
 * the start time (also for a comm with spaces and parentheses) and the
 * executable's SHA-256, cached until the file changes, within its bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "attest.h"

/* SHA-256 of the file at path, in hex, computed here on its own */
static void sha256_file(const char *path, char hex[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t buf[8192], md[32];
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(ctx, buf, n);
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	fclose(f);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

/* a child that runs path with "30" (sleep) until killed */
static pid_t spawn(const char *path)
{
	char real[4096];
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execl(path, path, "30", (char *)NULL);
		_exit(127);
	}
	/* wait until the exec happened: /proc/<pid>/exe is then path */
	assert_non_null(realpath(path, real));
	for (int i = 0; i < 200; i++) {
		char link[64], target[4096];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			if (!strcmp(target, real))
				return pid;
		}
		usleep(5000);
	}
	fail_msg("child did not exec '%s'", path);
	return -1;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, n), n);
	close(in);
	close(out);
}

static void test_start_time(void **state)
{
	uint64_t ticks = 0, mine = 0;
	char buf[1024], *p;
	int fd, pfd[2];
	ssize_t n;
	pid_t pid;

	/* our own, against a plain parse of field 22 */
	assert_int_equal(attest__start_time(getpid(), &ticks), 0);
	fd = open("/proc/self/stat", O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n] = 0;
	p = strrchr(buf, ')') + 2;
	for (int i = 3; i < 22; i++)
		p = strchr(p, ' ') + 1;
	mine = strtoull(p, NULL, 10);
	assert_true(mine > 0);
	assert_int_equal(ticks, mine);

	/* a comm made to confuse a naive parser: "a) 1 2 (b" */
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NAME, "a) 1 2 (b");
		(void)!write(pfd[1], "x", 1);
		pause();
		_exit(0);
	}
	{
		char c;
		uint64_t child = 0;

		assert_int_equal(read(pfd[0], &c, 1), 1);
		assert_int_equal(attest__start_time(pid, &child), 0);
		/* started after us, within a minute */
		assert_true(child >= mine);
		assert_true(child - mine < 60 * (uint64_t)sysconf(_SC_CLK_TCK));
		reap(pid);
	}
	close(pfd[0]);
	close(pfd[1]);
	/* a process that does not exist */
	assert_int_equal(attest__start_time(pid, &ticks), -ENOENT);
}

static void test_exe_hash(void **state)
{
	struct exe_cache *c = exe_cache__new(0);
	char hex[65], want[65], self[4096], tmp[] = "/tmp/test_attest.XXXXXX", exe[4200];
	ssize_t n;
	pid_t pid;

	assert_non_null(c);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = 0;
	sha256_file(self, want);
	assert_int_equal(exe_cache__sha256(c, getpid(), hex), 0);
	assert_string_equal(hex, want);
	assert_int_equal(exe_cache__hashed(c), 1);
	/* again: from the cache */
	memset(hex, 0, sizeof(hex));
	assert_int_equal(exe_cache__sha256(c, getpid(), hex), 0);
	assert_string_equal(hex, want);
	assert_int_equal(exe_cache__hashed(c), 1);

	/* a copy of sleep: hashed; then changed (content and mtime): hashed again */
	assert_non_null(mkdtemp(tmp));
	snprintf(exe, sizeof(exe), "%s/agent-exe", tmp);
	copy_file("/bin/sleep", exe);
	pid = spawn(exe);
	sha256_file(exe, want);
	assert_int_equal(exe_cache__sha256(c, pid, hex), 0);
	assert_string_equal(hex, want);
	assert_int_equal(exe_cache__hashed(c), 2);
	assert_int_equal(exe_cache__sha256(c, pid, hex), 0);
	assert_int_equal(exe_cache__hashed(c), 2);
	reap(pid);
	{
		int fd = open(exe, O_WRONLY | O_APPEND);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "\0", 1), 1);	/* trailing bytes: still runs */
		close(fd);
	}
	pid = spawn(exe);
	sha256_file(exe, want);
	assert_int_equal(exe_cache__sha256(c, pid, hex), 0);
	assert_string_equal(hex, want);
	assert_int_equal(exe_cache__hashed(c), 3);
	/* the file is hashed through /proc even once its path is gone */
	assert_int_equal(unlink(exe), 0);
	assert_int_equal(exe_cache__sha256(c, pid, hex), 0);
	assert_string_equal(hex, want);
	reap(pid);
	rmdir(tmp);
	/* a process that does not exist */
	assert_int_equal(exe_cache__sha256(c, pid, hex), -ENOENT);
	exe_cache__free(c);

	/* bounded: with room for one, two files evict each other */
	c = exe_cache__new(1);
	pid = spawn("/bin/sleep");
	assert_int_equal(exe_cache__sha256(c, getpid(), hex), 0);
	assert_int_equal(exe_cache__sha256(c, pid, hex), 0);
	assert_int_equal(exe_cache__sha256(c, pid, hex), 0);
	assert_int_equal(exe_cache__hashed(c), 2);
	assert_int_equal(exe_cache__sha256(c, getpid(), hex), 0);
	assert_int_equal(exe_cache__hashed(c), 3);
	reap(pid);
	exe_cache__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_time),
		cmocka_unit_test(test_exe_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
