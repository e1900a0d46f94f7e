/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_events.c: `agentguard events` as a shipper uses it: only sealed
 * entries (unless --unsealed), --since-seq N prints exactly the entries
 * after N across entry files, a gap or a position past the end is an error
 * and never a silent skip, --follow prints each entry once as checkpoints
 * seal it, across rotation, and --format ocsf names each entry by the log's
 * origin and seq. (The basic listing, filters and text format are in
 * test_log.c.)
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include "testfs.h"
#include <jansson.h>

#include "cli.h"
#include "log.h"

static char *mkstate(void)
{
	return mkstate_from("/tmp/test_events.XXXXXX");
}

static struct ag_log *open_log(const char *s)
{
	struct log_open_info info;
	struct ag_log *l = log__open(s, "host-1", &info);

	if (!l)
		fail_msg("log__open: %s", info.error);
	return l;
}

/* entries from..to-1, each with a pad so that files rotate */
static void append(struct ag_log *l, uint64_t from, uint64_t to)
{
	char line[512];

	for (uint64_t i = from; i < to; i++) {
		int n = snprintf(line, sizeof(line), "{\"seq\":%llu,\"time\":"
				 "\"2026-11-29T09:12:03.000000001Z\",\"host\":\"host-1\",\"type\":"
				 "\"network.connect\",\"decision\":\"deny\",\"agent\":{\"name\":\"a\"},"
				 "\"target\":{\"ip\":\"10.1.2.3\",\"port\":443,\"protocol\":\"tcp\"},"
				 "\"pad\":\"%0100d\"}", (unsigned long long)i, 0);

		assert_int_equal(log__append(l, line, n), 0);
	}
}

static void run(struct run_out *r, const char *state, ...)
{
	char *argv[16] = { "events", "--state-dir", (char *)state };
	int argc = 3;
	va_list ap;

	va_start(ap, state);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	run_capture(r, cmd_events, argc, argv);
}

/* out holds exactly the entries from..to-1, one per line, in order */
static void want_seqs(const char *out, uint64_t from, uint64_t to)
{
	const char *p = out;

	for (uint64_t i = from; i < to; i++) {
		char pre[40];

		snprintf(pre, sizeof(pre), "{\"seq\":%llu,", (unsigned long long)i);
		if (strncmp(p, pre, strlen(pre)))
			fail_msg("expected entry %llu, got '%.40s'", (unsigned long long)i, p);
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	if (*p)
		fail_msg("after entry %llu: '%.60s'", (unsigned long long)to - 1, p);
}

static void test_sealed_and_since(void **state)
{
	char *s = mkstate();
	struct ag_log *l = open_log(s);
	struct run_out r = { 0 };

	append(l, 0, 10);
	assert_int_equal(log__commit(l), 0);
	append(l, 10, 15);
	assert_int_equal(log__flush(l), 0);	/* written, not sealed */

	run(&r, s, NULL);
	assert_int_equal(r.rc, 0);
	want_seqs(r.out, 0, 10);
	assert_string_equal(r.err, "");
	run_out__free(&r);
	run(&r, s, "--unsealed", NULL);
	want_seqs(r.out, 0, 15);
	run_out__free(&r);
	/* --since-seq N: the entries after N */
	run(&r, s, "--since-seq", "3", NULL);
	assert_int_equal(r.rc, 0);
	want_seqs(r.out, 4, 10);
	run_out__free(&r);
	run(&r, s, "--since-seq=0", NULL);
	want_seqs(r.out, 1, 10);
	run_out__free(&r);
	run(&r, s, "--since-seq", "9", NULL);	/* caught up */
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "");
	run_out__free(&r);
	/* past the sealed end but written: nothing yet (a follower waits) */
	run(&r, s, "--since-seq", "12", NULL);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "");
	run_out__free(&r);
	run(&r, s, "--since-seq", "12", "--unsealed", NULL);
	want_seqs(r.out, 13, 15);
	run_out__free(&r);
	/* past every entry: another log, or one that was cut */
	run(&r, s, "--since-seq", "15", NULL);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "agentguard: events: --since-seq 15 is beyond the end of the "
			    "log (its last entry is 14)\n");
	run_out__free(&r);
	run(&r, s, "--since-seq", "15", "--follow", NULL);
	assert_int_equal(r.rc, 1);
	run_out__free(&r);
	/* not a seq */
	{
		static const char *const bad[] = { "abc", "-1", "", "+3", "3x", "1e3",
						   "99999999999999999999" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char want[200];

			run(&r, s, "--since-seq", bad[i], NULL);
			assert_int_equal(r.rc, 2);
			snprintf(want, sizeof(want), "agentguard: events: invalid --since-seq '%s' "
				 "(expected the seq of an entry: a number from 0)\n", bad[i]);
			assert_string_equal(r.err, want);
			run_out__free(&r);
		}
	}
	run(&r, s, "--since-seq", NULL);
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "agentguard: events: option '--since-seq' needs a value\n");
	run_out__free(&r);
	log__close(l);
	rm_rf(s);
	free(s);
}

static void test_empty_log(void **state)
{
	char *s = mkstate();
	struct ag_log *l = open_log(s);
	struct run_out r = { 0 };

	log__close(l);
	run(&r, s, NULL);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "");
	run_out__free(&r);
	run(&r, s, "--since-seq", "0", NULL);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "agentguard: events: --since-seq 0 is beyond the end of the "
			    "log (it has no entries)\n");
	run_out__free(&r);
	rm_rf(s);
	free(s);
}

static long entry_files(const char *s, char ***names, uint64_t **firsts)
{
	char ld[4200];

	snprintf(ld, sizeof(ld), "%s/log", s);
	return log__entry_files(ld, names, firsts);
}

static void test_rotation_and_gaps(void **state)
{
	char *s = mkstate(), **names, path[4300];
	struct ag_log *l = open_log(s);
	uint64_t *firsts;
	struct run_out r = { 0 };
	long n;

	assert_int_equal(log__set_rotate_bytes(l, 4096), 0);
	append(l, 0, 300);
	assert_int_equal(log__commit(l), 0);
	log__close(l);
	n = entry_files(s, &names, &firsts);
	assert_true(n >= 6);
	/* from inside any file, across the rest */
	for (long i = 0; i < n && firsts[i] + 1 < 300; i++) {
		char since[24];

		snprintf(since, sizeof(since), "%llu", (unsigned long long)firsts[i] + 1);
		run(&r, s, "--since-seq", since, NULL);
		if (r.rc)
			fail_msg("--since-seq %s: %s", since, r.err);
		want_seqs(r.out, firsts[i] + 2, 300);
		run_out__free(&r);
	}
	/* a file in the middle is gone: what precedes, then an error */
	snprintf(path, sizeof(path), "%s/log/%s", s, names[2]);
	assert_int_equal(unlink(path), 0);
	run(&r, s, NULL);
	assert_int_equal(r.rc, 1);
	want_seqs(r.out, 0, firsts[2]);
	{
		char want[200];

		snprintf(want, sizeof(want), "agentguard: events: entries %llu..%llu are missing "
			 "from the log (see 'agentguard log verify')\n",
			 (unsigned long long)firsts[2], (unsigned long long)firsts[3] - 1);
		assert_string_equal(r.err, want);
	}
	run_out__free(&r);
	/* the oldest files are gone (retention): the log starts later; a
	 * reader whose next entry was in them is told, not skipped ahead */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/log/%s", s, names[i]);
		assert_int_equal(unlink(path), 0);
	}
	run(&r, s, NULL);
	assert_int_equal(r.rc, 0);
	want_seqs(r.out, firsts[3], 300);
	run_out__free(&r);
	run(&r, s, "--since-seq", "5", NULL);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	{
		char want[300];

		snprintf(want, sizeof(want), "agentguard: events: entries 6..%llu are no longer in "
			 "the log: its oldest entry is %llu (older entry files were removed; "
			 "--since-seq %llu starts there)\n", (unsigned long long)firsts[3] - 1,
			 (unsigned long long)firsts[3], (unsigned long long)firsts[3] - 1);
		assert_string_equal(r.err, want);
	}
	run_out__free(&r);
	{
		char since[24];

		snprintf(since, sizeof(since), "%llu", (unsigned long long)firsts[3] - 1);
		run(&r, s, "--since-seq", since, NULL);
		assert_int_equal(r.rc, 0);
		want_seqs(r.out, firsts[3], 300);
		run_out__free(&r);
	}
	for (long i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(firsts);
	rm_rf(s);
	free(s);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads from fd until want lines arrived or secs passed. */
static size_t read_lines(int fd, char *buf, size_t cap, size_t len, int want, double secs)
{
	double end = now() + secs;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int nl = 0;
		ssize_t n;

		for (size_t i = 0; i < len; i++)
			nl += buf[i] == '\n';
		if (nl >= want || now() > end)
			break;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = 0;
	return len;
}

static int count_lines(const char *b)
{
	int n = 0;

	for (; *b; b++)
		n += *b == '\n';
	return n;
}

/* --follow --since-seq: each entry once, in order, only when sealed, across
 * entry files created while it follows. */
static void test_follow_since(void **state)
{
	char *s = mkstate(), *buf = malloc(1 << 20);
	struct ag_log *l = open_log(s);
	size_t len = 0;
	int p[2], st;
	pid_t pid;

	assert_int_equal(log__set_rotate_bytes(l, 4096), 0);
	append(l, 0, 50);
	assert_int_equal(log__commit(l), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		_exit(cmd_events(6, (char *[]){ "events", "--follow", "--state-dir", s,
						"--since-seq", "39", NULL }));
	}
	close(p[1]);
	len = read_lines(p[0], buf, 1 << 20, len, 10, 10);
	want_seqs(buf, 40, 50);
	/* written, not sealed: not printed */
	append(l, 50, 120);
	assert_int_equal(log__flush(l), 0);
	len = read_lines(p[0], buf, 1 << 20, len, 11, 1.5);
	assert_int_equal(count_lines(buf), 10);
	/* sealed: printed, across the files the writes rotated into */
	assert_int_equal(log__commit(l), 0);
	len = read_lines(p[0], buf, 1 << 20, len, 80, 10);
	want_seqs(buf, 40, 120);
	append(l, 120, 400);
	assert_int_equal(log__commit(l), 0);
	log__close(l);
	len = read_lines(p[0], buf, 1 << 20, len, 360, 10);
	want_seqs(buf, 40, 400);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(p[0]);
	free(buf);
	rm_rf(s);
	free(s);
}

static void test_ocsf_origin(void **state)
{
	char *s = mkstate();
	struct ag_log *l = open_log(s);
	struct run_out r = { 0 };
	json_t *o;

	append(l, 0, 8);
	log__close(l);
	run(&r, s, "--format", "ocsf", "--since-seq", "5", NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(count_lines(r.out), 2);
	o = json_loadb(r.out, strchr(r.out, '\n') - r.out, 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "metadata"),
							    "sequence")), 6);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "metadata"),
							      "uid")), "agentguard/host-1:6");
	assert_int_equal(json_integer_value(json_object_get(o, "class_uid")), 4001);
	assert_int_equal(json_integer_value(json_object_get(o, "activity_id")), 5);
	json_decref(o);
	run_out__free(&r);
	rm_rf(s);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sealed_and_since),
		cmocka_unit_test(test_empty_log),
		cmocka_unit_test(test_rotation_and_gaps),
		cmocka_unit_test(test_follow_since),
		cmocka_unit_test(test_ocsf_origin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
