/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * testfs.h: file helpers for the unit tests that work on a state directory
 * (test_log.c, test_proof.c, test_events.c), and run_capture() for the CLI
 * commands. Include after <cmocka.h>. Every helper fails the test on error.
 */
#ifndef AG_TESTFS_H
#define AG_TESTFS_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int testfs_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

/* Remove dir and everything below it. */
static inline void rm_rf(const char *dir)
{
	nftw(dir, testfs_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory from a mkdtemp template ("/tmp/NAME.XXXXXX"); malloc'd. */
static inline char *mkstate_from(const char *tmpl)
{
	char *d = strdup(tmpl);

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

/* "<state>/<rel>", malloc'd. */
static inline char *path_of(const char *state, const char *rel)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", state, rel) > 0);
	return p;
}

/* The whole file p, NUL-terminated, malloc'd; its length in *len. */
static inline char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s", p);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = n;
	return buf;
}

/* Replace file p with len bytes of data. */
static inline void spit(const char *p, const void *data, size_t len)
{
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static inline char *slurp_rel(const char *state, const char *rel, size_t *len)
{
	char *p = path_of(state, rel), *d = slurp(p, len);

	free(p);
	return d;
}

static inline void spit_rel(const char *state, const char *rel, const void *data, size_t len)
{
	char *p = path_of(state, rel);

	spit(p, data, len);
	free(p);
}

/* What a command printed, and its exit status. Zero it before the first
 * run_capture(); run_out__free() at the end. */
struct run_out {
	int rc;
	char *out, *err;
};

static inline char *testfs_read_fd(int fd)
{
	off_t n = lseek(fd, 0, SEEK_END);
	char *b = malloc(n > 0 ? n + 1 : 1);

	assert_non_null(b);
	assert_true(n >= 0);
	assert_int_equal(pread(fd, b, n, 0), n);
	b[n] = '\0';
	return b;
}

static inline void run_out__free(struct run_out *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* cmd(argc, argv) (a cmd_* of the CLI) with its stdout and stderr captured
 * into r->out and r->err (the previous ones are freed). */
static inline void run_capture(struct run_out *r, int (*cmd)(int, char **), int argc,
			       char **argv)
{
	char fo[] = "/tmp/agentguard-unit.outXXXXXX", fe[] = "/tmp/agentguard-unit.errXXXXXX";
	int o = mkstemp(fo), e = mkstemp(fe), so, se;

	assert_true(o >= 0 && e >= 0);
	run_out__free(r);
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(o, 1);
	dup2(e, 2);
	r->rc = cmd(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	r->out = testfs_read_fd(o);
	r->err = testfs_read_fd(e);
	close(o);
	close(e);
	unlink(fo);
	unlink(fe);
}

#endif
