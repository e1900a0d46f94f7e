/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_log: the signed log writer (append, commit, reopen, rotation, crash
 * recovery), its verifier (every kind of tampering it must name), the
 * `log verify` command's output, and throughput.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include "testfs.h"
#include <jansson.h>

#include "cli.h"
#include "log.h"
#include "merkle.h"
#include "note.h"

static char *mkstate(void)
{
	return mkstate_from("/tmp/test_log.XXXXXX");
}

#define HOST "testhost"
#define ORIGIN "agentguard/" HOST

/* ---- helpers ------------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t entry_text(char *buf, size_t cap, uint64_t seq)
{
	int n = snprintf(buf, cap, "{\"seq\":%" PRIu64 ",\"time\":\"2026-11-29T09:12:03.%09"
			 PRIu64 "Z\",\"type\":\"process.exec\",\"decision\":\"allow\","
			 "\"agent\":{\"name\":\"agent-%d\"},\"msg\":\"hello %" PRIu64 "\"}",
			 seq, seq % 1000000000, (int)(seq % 3), seq);

	assert_true(n > 0 && (size_t)n < cap);
	return n;
}

static void append_n(struct ag_log *l, uint64_t n)
{
	char buf[512];

	for (uint64_t i = 0; i < n; i++) {
		uint64_t seq = log__size(l);
		size_t len = entry_text(buf, sizeof(buf), seq);

		assert_int_equal(log__append(l, buf, len), 0);
	}
}

static struct ag_log *open_ok(const char *state, struct log_open_info *info)
{
	struct log_open_info tmp;
	struct ag_log *l;

	if (!info)
		info = &tmp;
	l = log__open(state, HOST, info);
	if (!l)
		fail_msg("log__open: %s (errno %d)", info->error, errno);
	return l;
}

static uint64_t log__size_of(const char *state)
{
	struct ag_log *l = open_ok(state, NULL);
	uint64_t n = log__size(l);

	log__close(l);
	return n;
}

static char *vkey_of(const char *state)
{
	return slurp_rel(state, "keys/log.vkey", NULL);
}

static int verify(const char *state, struct log_verify_result *res)
{
	char *vk = vkey_of(state), *ld = path_of(state, "log");
	int r = log__verify(ld, vk, res);

	free(vk);
	free(ld);
	return r;
}

static void expect_ok(const char *state, uint64_t entries, uint64_t sealed)
{
	struct log_verify_result res;
	int r = verify(state, &res);

	if (r)
		fail_msg("verify failed (%d): %s", r, res.error);
	assert_int_equal(res.entries, entries);
	assert_int_equal(res.newest_size, sealed);
	assert_int_equal(res.unsealed, entries - sealed);
}

static void expect_fail(const char *state, const char *want)
{
	struct log_verify_result res;
	int r = verify(state, &res);

	if (r != -EBADMSG)
		fail_msg("verify returned %d (%s), want a failure '%s'", r,
			 res.error, want);
	if (strncmp(res.error, want, strlen(want)))
		fail_msg("verify says '%s', want '%s...'", res.error, want);
}

/* The entries file as an array of lines (without newlines). */
struct lines {
	char **v;
	size_t n;
};

static struct lines read_lines(const char *state, const char *rel)
{
	struct lines L = { 0 };
	size_t len;
	char *d = slurp_rel(state, rel, &len), *p = d;

	L.v = calloc(len + 1, sizeof(char *));
	while (p < d + len) {
		char *nl = memchr(p, '\n', d + len - p);

		assert_non_null(nl);
		L.v[L.n++] = strndup(p, nl - p);
		p = nl + 1;
	}
	free(d);
	return L;
}

static void write_lines(const char *state, const char *rel, struct lines *L)
{
	size_t cap = 1, o = 0;
	char *buf;

	for (size_t i = 0; i < L->n; i++)
		cap += strlen(L->v[i]) + 1;
	buf = malloc(cap);
	for (size_t i = 0; i < L->n; i++) {
		size_t n = strlen(L->v[i]);

		memcpy(buf + o, L->v[i], n);
		buf[o + n] = '\n';
		o += n + 1;
	}
	spit_rel(state, rel, buf, o);
	free(buf);
}

static void free_lines(struct lines *L)
{
	for (size_t i = 0; i < L->n; i++)
		free(L->v[i]);
	free(L->v);
}

#define FIRST_FILE "log/entries-000000000000.jsonl"

/* A log of 25 entries: checkpoints at 10 and 20 (plus the empty one of the
 * first commit? no: the first commit is at 10), 5 unsealed entries on disk,
 * as after a crash. */
static void build_standard(const char *state)
{
	struct ag_log *l = open_ok(state, NULL);
	pid_t pid;
	int st;

	append_n(l, 10);
	assert_int_equal(log__commit(l), 0);
	append_n(l, 10);
	assert_int_equal(log__commit(l), 0);
	log__close(l);
	/* a crash after write() and before the next checkpoint */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ag_log *c = log__open(state, HOST, NULL);

		if (!c)
			_exit(1);
		append_n(c, 5);
		_exit(log__flush(c) ? 2 : 0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- writer ------------------------------------------------------------- */

static void test_open_creates(void **state)
{
	char *s = mkstate(), *p;
	struct log_open_info info;
	struct ag_log *l = open_ok(s, &info);
	struct stat st;
	char *vk;

	assert_true(info.created);
	assert_string_equal(info.origin, ORIGIN);
	assert_string_equal(log__origin(l), ORIGIN);
	assert_int_equal(info.entries, 0);
	assert_int_equal(log__size(l), 0);
	p = path_of(s, "keys/log.key");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(p);
	p = path_of(s, "keys/log.vkey");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	free(p);
	vk = vkey_of(s);
	assert_true(strncmp(vk, ORIGIN "+", strlen(ORIGIN) + 1) == 0);
	free(vk);
	/* a second writer is refused while the first holds the log */
	assert_null(log__open(s, HOST, &info));
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(info.error, "another process"));
	log__close(l);
	/* an empty log verifies: 0 entries, one checkpoint of size 0 */
	expect_ok(s, 0, 0);
	/* reopening keeps the key */
	l = open_ok(s, &info);
	assert_false(info.created);
	log__close(l);
	rm_rf(s);
	free(s);
}

static void test_append_rejects(void **state)
{
	char *s = mkstate();
	struct ag_log *l = open_ok(s, NULL);
	static char big[LOG_ENTRY_MAX + 2];

#define A(str) log__append(l, str, sizeof(str) - 1)
	assert_int_equal(A("{\"seq\":1,\"a\":1}"), -EINVAL);	/* wrong seq */
	assert_int_equal(A("{\"seq\":00,\"a\":1}"), -EINVAL);
	assert_int_equal(A("{\"seq\":0}"), -EINVAL);		/* no comma */
	assert_int_equal(A(" {\"seq\":0,\"a\":1}"), -EINVAL);
	assert_int_equal(A("{\"a\":1,\"seq\":0}"), -EINVAL);
	assert_int_equal(A("{\"seq\":-0,\"a\":1}"), -EINVAL);
	assert_int_equal(A("{\"seq\":0,\"a\":\"x\ny\"}"), -EINVAL);
	assert_int_equal(A("{\"seq\":0,\"a\":\"x\0y\"}"), -EINVAL);
	assert_int_equal(A(""), -EINVAL);
	assert_int_equal(log__size(l), 0);
	assert_int_equal(A("{\"seq\":0,\"a\":1}"), 0);
	assert_int_equal(A("{\"seq\":0,\"a\":1}"), -EINVAL);	/* seq taken */
	assert_int_equal(A("{\"seq\":1,\"a\":1}"), 0);
	/* the size limit */
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"seq\":2,\"a\":\"", 14);
	memcpy(big + LOG_ENTRY_MAX - 2, "\"}", 2);
	assert_int_equal(log__append(l, big, LOG_ENTRY_MAX + 1), -EINVAL);
	assert_int_equal(log__append(l, big, LOG_ENTRY_MAX), 0);
#undef A
	assert_int_equal(log__size(l), 3);
	log__close(l);
	expect_ok(s, 3, 3);
	rm_rf(s);
	free(s);
}

static void test_commit_reopen(void **state)
{
	char *s = mkstate(), *cp, *cps, *vk;
	struct log_open_info info;
	struct ag_log *l = open_ok(s, NULL);
	uint8_t root[32], root2[32], ind[32];
	struct note_verifier *v;
	struct checkpoint c;
	char why[NOTE_WHY_MAX];
	size_t len;

	append_n(l, 1000);
	assert_int_equal(log__commit(l), 0);
	assert_int_equal(log__checkpoint_size(l), 1000);
	/* a commit without new entries writes no checkpoint */
	assert_int_equal(log__commit(l), 0);
	assert_int_equal(log__root(l, root), 0);
	log__close(l);

	/* the checkpoint is signed, and its root is the RFC 6962 root of the
	 * lines on disk computed independently */
	vk = vkey_of(s);
	v = note_verifier__parse(vk, strlen(vk));
	assert_non_null(v);
	cp = slurp_rel(s, "log/checkpoint", &len);
	assert_int_equal(checkpoint__open(v, cp, len, &c, why, sizeof(why)), 0);
	assert_int_equal(c.size, 1000);
	assert_memory_equal(c.root, root, 32);
	{
		struct lines L = read_lines(s, FIRST_FILE);
		struct merkle_hasher *h = merkle_hasher__new();
		uint8_t *leaves = malloc(L.n * 32);

		assert_int_equal(L.n, 1000);
		for (size_t i = 0; i < L.n; i++)
			merkle__leaf_hash(h, L.v[i], strlen(L.v[i]), leaves + 32 * i);
		assert_int_equal(merkle__root_of(h, leaves, L.n, ind), 0);
		assert_memory_equal(ind, root, 32);
		/* and the leaves store holds exactly those hashes */
		{
			char *ls = slurp_rel(s, "log/leaves", &len);

			assert_int_equal(len, 32 * 1000);
			assert_memory_equal(ls, leaves, len);
			free(ls);
		}
		free(leaves);
		merkle_hasher__free(h);
		free_lines(&L);
	}
	cps = slurp_rel(s, "log/checkpoints", &len);
	assert_string_equal(cps, cp);	/* one checkpoint so far */
	free(cps);
	free(cp);

	/* reopen: nothing to repair; the chain continues */
	l = open_ok(s, &info);
	assert_int_equal(info.entries, 1000);
	assert_int_equal(info.checkpoint_size, 1000);
	assert_int_equal(info.unsealed, 0);
	assert_int_equal(info.dropped_bytes, 0);
	assert_int_equal(info.leaves_repaired, 0);
	assert_int_equal(info.leaves_dropped, 0);
	assert_false(info.checkpoint_restored);
	assert_int_equal(log__size(l), 1000);
	assert_int_equal(log__root(l, root2), 0);
	assert_memory_equal(root, root2, 32);
	append_n(l, 500);
	log__close(l);
	expect_ok(s, 1500, 1500);
	{
		struct log_verify_result res;

		verify(s, &res);
		assert_int_equal(res.checkpoints, 2);
	}
	note_verifier__free(v);
	free(vk);
	rm_rf(s);
	free(s);
}

static void test_rotation(void **state)
{
	char *s = mkstate(), **names;
	struct ag_log *l = open_ok(s, NULL);
	struct log_open_info info;
	uint64_t *firsts;
	char *ld = path_of(s, "log");
	long n;

	assert_int_equal(log__set_rotate_bytes(l, 100), -EINVAL);
	assert_int_equal(log__set_rotate_bytes(l, 4096), 0);
	append_n(l, 100);	/* ~150 bytes each: ~27 per file */
	assert_int_equal(log__commit(l), 0);
	append_n(l, 100);
	log__close(l);
	n = log__entry_files(ld, &names, &firsts);
	assert_true(n >= 6);
	assert_int_equal(firsts[0], 0);
	for (long i = 0; i < n; i++) {
		char *p, *d;
		size_t len;

		assert_true(asprintf(&p, "log/%s", names[i]) > 0);
		d = slurp_rel(s, p, &len);
		assert_true(len <= 4096);
		assert_true(strncmp(d, "{\"seq\":", 7) == 0);
		assert_int_equal(strtoull(d + 7, NULL, 10), firsts[i]);
		free(d);
		free(p);
		free(names[i]);
	}
	free(names);
	free(firsts);
	expect_ok(s, 200, 200);
	/* reopen continues in the last file */
	l = open_ok(s, &info);
	assert_int_equal(info.entries, 200);
	assert_int_equal(log__set_rotate_bytes(l, 4096), 0);
	append_n(l, 50);
	log__close(l);
	expect_ok(s, 250, 250);
	free(ld);
	rm_rf(s);
	free(s);
}

/* ---- crash recovery ----------------------------------------------------- */

static void test_recover_torn_line(void **state)
{
	char *s = mkstate(), *d;
	struct log_open_info info;
	struct ag_log *l;
	uint8_t root[32];
	size_t len;

	build_standard(s);	/* 20 sealed, 5 written but unsealed */
	expect_ok(s, 25, 20);
	/* a torn last line: part of entry 25 */
	d = slurp_rel(s, FIRST_FILE, &len);
	d = realloc(d, len + 32);
	memcpy(d + len, "{\"seq\":25,\"time\":\"2026", 23);
	spit_rel(s, FIRST_FILE, d, len + 23);
	free(d);
	{
		struct log_verify_result res;

		/* verify: an interrupted write is not an entry */
		assert_int_equal(verify(s, &res), 0);
		assert_int_equal(res.entries, 25);
		assert_int_equal(res.torn_bytes, 23);
	}
	l = open_ok(s, &info);
	assert_int_equal(info.entries, 25);
	assert_int_equal(info.checkpoint_size, 20);
	assert_int_equal(info.unsealed, 5);
	assert_int_equal(info.dropped_bytes, 23);
	assert_int_equal(info.dropped_lines, 1);
	append_n(l, 3);
	assert_int_equal(log__commit(l), 0);
	assert_int_equal(log__root(l, root), 0);
	log__close(l);
	expect_ok(s, 28, 28);
	rm_rf(s);
	free(s);
}

static void test_recover_invalid_lines(void **state)
{
	char *s = mkstate();
	struct log_open_info info;
	struct lines L;
	struct ag_log *l;

	build_standard(s);
	/* entry 23 complete but not JSON (e.g. zeros from a crash), 24 fine:
	 * everything from 23 is cut */
	L = read_lines(s, FIRST_FILE);
	assert_int_equal(L.n, 25);
	free(L.v[23]);
	L.v[23] = strdup("{\"seq\":23,\"time\":");
	write_lines(s, FIRST_FILE, &L);
	l = open_ok(s, &info);
	assert_int_equal(info.entries, 23);
	assert_int_equal(info.unsealed, 3);
	assert_int_equal(info.dropped_lines, 2);
	assert_int_equal(info.dropped_bytes, strlen(L.v[23]) + strlen(L.v[24]) + 2);
	/* the leaves of the dropped entries are gone too */
	assert_int_equal(info.leaves_dropped, 2);
	append_n(l, 1);
	log__close(l);
	expect_ok(s, 24, 24);
	free_lines(&L);
	rm_rf(s);
	free(s);
}

static void test_recover_sealed_damage_refused(void **state)
{
	char *s = mkstate(), *before, *after;
	struct log_open_info info;
	struct lines L;
	size_t blen, alen;

	build_standard(s);
	/* a sealed entry deleted: not a torn write, so no repair */
	L = read_lines(s, FIRST_FILE);
	free(L.v[5]);
	for (size_t i = 5; i + 1 < L.n; i++)
		L.v[i] = L.v[i + 1];
	L.n--;
	write_lines(s, FIRST_FILE, &L);
	before = slurp_rel(s, FIRST_FILE, &blen);
	assert_null(log__open(s, HOST, &info));
	assert_int_equal(errno, EUCLEAN);
	assert_non_null(strstr(info.error, "entry"));
	after = slurp_rel(s, FIRST_FILE, &alen);
	assert_int_equal(alen, blen);	/* evidence kept */
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
	free_lines(&L);
	rm_rf(s);
	free(s);

	/* the log truncated below its checkpoint */
	s = mkstate();
	build_standard(s);
	L = read_lines(s, FIRST_FILE);
	L.n = 15;
	write_lines(s, FIRST_FILE, &L);
	L.n = 25;
	assert_null(log__open(s, HOST, &info));
	assert_int_equal(errno, EUCLEAN);
	assert_non_null(strstr(info.error, "fewer than its newest checkpoint"));
	free_lines(&L);
	rm_rf(s);
	free(s);

	/* a sealed entry changed (and its leaf) */
	s = mkstate();
	build_standard(s);
	L = read_lines(s, FIRST_FILE);
	L.v[3][strlen(L.v[3]) - 3] ^= 1;
	write_lines(s, FIRST_FILE, &L);
	{
		/* open trusts the sealed part while the leaves store agrees
		 * with the checkpoint (verify re-hashes it); with the leaf
		 * rewritten too, the checkpoint root exposes the change */
		struct merkle_hasher *h = merkle_hasher__new();
		char *p = path_of(s, "log/leaves"), *d;
		size_t len;
		struct ag_log *l = open_ok(s, NULL);

		log__close(l);
		expect_fail(s, "entry 3: modified");
		d = slurp(p, &len);
		merkle__leaf_hash(h, L.v[3], strlen(L.v[3]), (uint8_t *)d + 3 * 32);
		spit(p, d, len);
		free(d);
		free(p);
		merkle_hasher__free(h);
	}
	assert_null(log__open(s, HOST, &info));
	assert_int_equal(errno, EUCLEAN);
	assert_non_null(strstr(info.error, "do not match the newest checkpoint"));
	free_lines(&L);
	rm_rf(s);
	free(s);
}

static void test_recover_leaves(void **state)
{
	char *s = mkstate(), *d, *p;
	struct log_open_info info;
	struct ag_log *l;
	size_t len;

	build_standard(s);
	/* shorter: only 12 records of 25 */
	p = path_of(s, "log/leaves");
	assert_int_equal(truncate(p, 12 * 32), 0);
	l = open_ok(s, &info);
	assert_int_equal(info.entries, 25);
	assert_int_equal(info.leaves_repaired, 13);
	append_n(l, 1);
	log__close(l);
	expect_ok(s, 26, 26);

	/* longer: two extra records and a partial one */
	d = slurp(p, &len);
	d = realloc(d, len + 80);
	memset(d + len, 0xab, 80);
	spit(p, d, len + 80);
	free(d);
	l = open_ok(s, &info);
	assert_int_equal(info.leaves_dropped, 3);
	assert_int_equal(info.leaves_repaired, 0);
	log__close(l);
	expect_ok(s, 26, 26);

	/* a wrong record in the sealed part: rebuilt from the entries */
	d = slurp(p, &len);
	d[5 * 32 + 7] ^= 0xff;
	spit(p, d, len);
	free(d);
	expect_fail(s, "entry 5: the leaves store record differs, but the entry "
		    "matches checkpoint");
	l = open_ok(s, &info);
	assert_int_equal(info.leaves_repaired, 1);
	log__close(l);
	expect_ok(s, 26, 26);

	/* no leaves store at all */
	unlink(p);
	l = open_ok(s, &info);
	assert_int_equal(info.leaves_repaired, 26);
	log__close(l);
	expect_ok(s, 26, 26);
	free(p);
	rm_rf(s);
	free(s);
}

static void test_recover_checkpoints(void **state)
{
	char *s = mkstate(), *cps, *cp, *cur;
	struct log_open_info info;
	struct ag_log *l;
	size_t len, cplen, curlen;

	build_standard(s);
	cps = slurp_rel(s, "log/checkpoints", &len);
	cp = slurp_rel(s, "log/checkpoint", &cplen);
	/* 'checkpoint' lost */
	{
		char *p = path_of(s, "log/checkpoint");

		unlink(p);
		free(p);
	}
	l = open_ok(s, &info);
	assert_true(info.checkpoint_restored);
	log__close(l);	/* commits the 5 unsealed: a third checkpoint */
	cur = slurp_rel(s, "log/checkpoints", &curlen);
	assert_true(curlen > len);
	free(cur);
	expect_ok(s, 25, 25);

	/* a torn note at the end of 'checkpoints': the first 60 bytes of a
	 * real one */
	cur = slurp_rel(s, "log/checkpoints", &curlen);
	cur = realloc(cur, curlen + 60);
	memcpy(cur + curlen, cp, 60);
	spit_rel(s, "log/checkpoints", cur, curlen + 60);
	{
		struct log_verify_result res;

		/* not a checkpoint yet: verify passes and reports it */
		assert_int_equal(verify(s, &res), 0);
		assert_int_equal(res.torn_note_bytes, 60);
		assert_int_equal(res.checkpoints, 3);
	}
	l = open_ok(s, &info);
	assert_int_equal(info.checkpoints_dropped_bytes, 60);
	assert_false(info.checkpoint_restored);
	log__close(l);
	free(cur);
	cur = slurp_rel(s, "log/checkpoints", &len);
	assert_int_equal(len, curlen);
	expect_ok(s, 25, 25);

	/* a crash between appending to 'checkpoints' and replacing
	 * 'checkpoint': the older one is still there; verify accepts it and
	 * open restores the newest */
	spit_rel(s, "log/checkpoint", cp, cplen);
	expect_ok(s, 25, 25);
	l = open_ok(s, &info);
	assert_true(info.checkpoint_restored);
	log__close(l);
	free(cur);
	cur = slurp_rel(s, "log/checkpoint", &curlen);
	assert_true(curlen != cplen || memcmp(cur, cp, cplen));
	free(cur);
	expect_ok(s, 25, 25);
	free(cps);
	free(cp);
	rm_rf(s);
	free(s);
}

/* More than the 64 KiB tail that open reads of 'checkpoints'. */
static void test_recover_many_checkpoints(void **state)
{
	char *s = mkstate(), *cps, *cp;
	struct log_open_info info;
	struct log_verify_result res;
	struct ag_log *l = open_ok(s, NULL);
	size_t len, cplen;
	double t0;

	for (int i = 0; i < 600; i++) {
		append_n(l, 1);
		assert_int_equal(log__commit(l), 0);
	}
	log__close(l);
	cps = slurp_rel(s, "log/checkpoints", &len);
	assert_true(len > 64 * 1024);
	cp = slurp_rel(s, "log/checkpoint", &cplen);
	/* the newest note is the last of 'checkpoints' */
	assert_memory_equal(cps + len - cplen, cp, cplen);
	for (size_t cut = 1; cut < cplen; cut += 37) {
		/* a torn copy of a note after the last one */
		char *d = malloc(len + cut);

		memcpy(d, cps, len);
		memcpy(d + len, cp, cut);
		spit_rel(s, "log/checkpoints", d, len + cut);
		free(d);
		assert_int_equal(verify(s, &res), 0);
		assert_int_equal(res.torn_note_bytes, cut);
		assert_int_equal(res.checkpoints, 600);
		l = open_ok(s, &info);
		assert_int_equal(info.checkpoints_dropped_bytes, cut);
		assert_int_equal(info.checkpoint_size, 600);
		log__close(l);
	}
	t0 = now();
	assert_int_equal(verify(s, &res), 0);
	printf("# log: verify of %" PRIu64 " checkpoints in %.3f s\n",
	       res.checkpoints, now() - t0);
	assert_int_equal(res.checkpoints, 600);
	assert_int_equal(res.entries, 600);
	free(cps);
	free(cp);
	rm_rf(s);
	free(s);
}

/* ---- verify ------------------------------------------------------------- */

static void test_verify_intact(void **state)
{
	char *s = mkstate(), b64[48];
	struct log_verify_result res;
	struct ag_log *l;
	uint8_t root[32];

	build_standard(s);
	assert_int_equal(verify(s, &res), 0);
	assert_int_equal(res.entries, 25);
	assert_int_equal(res.checkpoints, 2);
	assert_true(res.have_checkpoint);
	assert_int_equal(res.newest_size, 20);
	assert_int_equal(res.unsealed, 5);
	assert_int_equal(res.torn_bytes, 0);
	assert_string_equal(res.error, "");
	/* the newest root is the log's root at 20 */
	l = open_ok(s, NULL);
	log__close(l);	/* seals the 5 */
	assert_int_equal(verify(s, &res), 0);
	assert_int_equal(res.checkpoints, 3);
	assert_int_equal(res.unsealed, 0);
	l = open_ok(s, NULL);
	assert_int_equal(log__root(l, root), 0);
	log__close(l);
	assert_memory_equal(res.newest_root, root, 32);
	note__base64_encode(root, 32, b64);
	assert_int_equal(strlen(b64), 44);
	rm_rf(s);
	free(s);
}

/* Each case: a fresh standard log, one tampering, the expected message. */
static void tamper_lines(const char *s, void (*fn)(struct lines *))
{
	struct lines L = read_lines(s, FIRST_FILE);

	fn(&L);
	write_lines(s, FIRST_FILE, &L);
	free_lines(&L);
}

static void t_change_byte(struct lines *L)
{
	char *p = strstr(L->v[5], "hello 5");

	p[4] = 'p';	/* hellp: still valid JSON */
}

static void t_delete(struct lines *L)
{
	free(L->v[7]);
	memmove(&L->v[7], &L->v[8], (L->n - 8) * sizeof(char *));
	L->n--;
}

static void t_swap(struct lines *L)
{
	char *t = L->v[3];

	L->v[3] = L->v[4];
	L->v[4] = t;
}

static void t_insert(struct lines *L)
{
	memmove(&L->v[7], &L->v[6], (L->n - 6) * sizeof(char *));
	L->v[6] = strdup(L->v[5]);
	L->n++;
}

static void t_not_json(struct lines *L)
{
	char *p = strstr(L->v[9], "\"msg\"");

	p[0] = '\'';
}

static void t_change_unsealed(struct lines *L)
{
	char *p = strstr(L->v[22], "hello 22");

	p[0] = 'j';
}

static void t_truncate_sealed(struct lines *L)
{
	for (size_t i = 15; i < L->n; i++)
		free(L->v[i]);
	L->n = 15;
}

static void t_reseq(struct lines *L)
{
	/* a forged entry 8 that keeps a correct seq */
	free(L->v[8]);
	L->v[8] = strdup("{\"seq\":8,\"type\":\"forged\"}");
}

struct tamper_case {
	void (*fn)(struct lines *);
	const char *want;
};

static void test_verify_entries_tampered(void **state)
{
	static const struct tamper_case cases[] = {
		{ t_change_byte, "entry 5: modified (its hash differs from the leaves "
				 "store and checkpoint 0 does not match)" },
		{ t_delete, "entry 7: has seq 8 (a line was deleted, inserted or moved)" },
		{ t_swap, "entry 3: has seq 4" },
		{ t_insert, "entry 6: has seq 5" },
		{ t_not_json, "entry 9: not a valid JSON object" },
		{ t_change_unsealed, "entry 22: modified, or its leaves store record was" },
		{ t_truncate_sealed, "checkpoint 1: size 20 is larger than the log (15 entries)" },
		{ t_reseq, "entry 8: modified" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = mkstate();

		build_standard(s);
		tamper_lines(s, cases[i].fn);
		expect_fail(s, cases[i].want);
		rm_rf(s);
		free(s);
	}
}

static void test_verify_rewritten_leaves(void **state)
{
	/* an attacker changes an entry and its leaf hash: the signed root
	 * catches it */
	char *s = mkstate(), *d, *p;
	struct merkle_hasher *h = merkle_hasher__new();
	struct lines L;
	size_t len;

	build_standard(s);
	L = read_lines(s, FIRST_FILE);
	strstr(L.v[5], "hello 5")[0] = 'j';
	write_lines(s, FIRST_FILE, &L);
	p = path_of(s, "log/leaves");
	d = slurp(p, &len);
	merkle__leaf_hash(h, L.v[5], strlen(L.v[5]), (uint8_t *)d + 5 * 32);
	spit(p, d, len);
	expect_fail(s, "checkpoint 0: root does not match the entries at size 10");
	/* one more entry at the end of the leaves store than in the files */
	free(d);
	free_lines(&L);
	rm_rf(s);
	free(s);
	free(p);

	s = mkstate();
	build_standard(s);
	L = read_lines(s, FIRST_FILE);
	free(L.v[24]);
	L.n--;		/* the last, unsealed entry deleted */
	write_lines(s, FIRST_FILE, &L);
	expect_fail(s, "entry 24: missing (the leaves store has 25 records)");
	free_lines(&L);
	rm_rf(s);
	free(s);
	merkle_hasher__free(h);
}

static char *replace_once(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	char *out;

	assert_non_null(p);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(p - s), s, to,
			     p + strlen(from)) > 0);
	return out;
}

static void test_verify_checkpoints_tampered(void **state)
{
	char *s, *cps, *m, *vk2, line[64];
	struct note_signer *other;
	struct log_verify_result res;
	size_t len, mlen;

	/* changed root in the first checkpoint */
	s = mkstate();
	build_standard(s);
	cps = slurp_rel(s, "log/checkpoints", &len);
	{
		char *nl = strchr(strchr(cps, '\n') + 1, '\n') + 1;	/* root line */

		nl[0] = nl[0] == 'A' ? 'B' : 'A';
	}
	spit_rel(s, "log/checkpoints", cps, len);
	expect_fail(s, "checkpoint 0: bad signature by key '" ORIGIN "'");
	free(cps);
	rm_rf(s);
	free(s);

	/* changed size in the second checkpoint */
	s = mkstate();
	build_standard(s);
	cps = slurp_rel(s, "log/checkpoints", &len);
	m = replace_once(cps, "\n20\n", "\n21\n");
	spit_rel(s, "log/checkpoints", m, strlen(m));
	expect_fail(s, "checkpoint 1: bad signature");
	free(m);
	free(cps);
	rm_rf(s);
	free(s);

	/* a checkpoint signed by another key of the same name: a valid note,
	 * but not by this log's key */
	s = mkstate();
	build_standard(s);
	other = note_signer__generate(ORIGIN);
	assert_non_null(other);
	cps = slurp_rel(s, "log/checkpoints", &len);
	{
		struct log_verify_result r0;
		char *note;
		size_t nlen;

		assert_int_equal(verify(s, &r0), 0);
		assert_int_equal(checkpoint__sign(other, 20, r0.newest_root, &note,
						  &nlen), 0);
		/* replace the second note by the forged one */
		m = malloc(len + nlen);
		mlen = strstr(cps, "\n\n") - cps;
		mlen = strchr(cps + mlen + 2, '\n') - cps + 1;	/* end of note 0 */
		memcpy(m + mlen, note, nlen);
		memcpy(m, cps, mlen);
		spit_rel(s, "log/checkpoints", m, mlen + nlen);
		free(note);
		free(m);
	}
	expect_fail(s, "checkpoint 1: no signature by key '" ORIGIN "'");
	/* and verifying with the other key's vkey fails at checkpoint 0 */
	assert_int_equal(note_signer__vkey(other, &vk2), 0);
	{
		char *ld = path_of(s, "log");

		assert_int_equal(log__verify(ld, vk2, &res), -EBADMSG);
		assert_string_equal(res.error, "checkpoint 0: no signature by key '"
				    ORIGIN "'");
		free(ld);
	}
	free(vk2);
	note_signer__free(other);
	free(cps);
	rm_rf(s);
	free(s);

	/* a truncated signature */
	s = mkstate();
	build_standard(s);
	cps = slurp_rel(s, "log/checkpoints", &len);
	assert_true(cps[len - 1] == '\n');
	memcpy(cps + len - 9, "\n", 1);	/* drop 8 base64 characters */
	spit_rel(s, "log/checkpoints", cps, len - 8);
	expect_fail(s, "checkpoint 1: bad signature");
	cps[len - 11] = '\n';		/* not a multiple of 4 any more */
	spit_rel(s, "log/checkpoints", cps, len - 10);
	expect_fail(s, "checkpoint 1: malformed signature line 1");
	free(cps);
	rm_rf(s);
	free(s);

	/* checkpoints out of order: both genuine, sizes decrease */
	s = mkstate();
	build_standard(s);
	cps = slurp_rel(s, "log/checkpoints", &len);
	mlen = strstr(cps, "\n\n") - cps;
	mlen = strchr(cps + mlen + 2, '\n') - cps + 1;
	m = malloc(len);
	memcpy(m, cps + mlen, len - mlen);
	memcpy(m + len - mlen, cps, mlen);
	spit_rel(s, "log/checkpoints", m, len);
	expect_fail(s, "checkpoint 1: size 10 is smaller than the size 20 of "
		    "checkpoint 0");
	free(m);
	free(cps);
	rm_rf(s);
	free(s);

	/* the 'checkpoint' file altered */
	s = mkstate();
	build_standard(s);
	cps = slurp_rel(s, "log/checkpoint", &len);
	snprintf(line, sizeof(line), "\n%d\n", 20);
	m = replace_once(cps, line, "\n19\n");
	spit_rel(s, "log/checkpoint", m, strlen(m));
	expect_fail(s, "checkpoint 2: file 'checkpoint': bad signature");
	free(m);
	free(cps);
	rm_rf(s);
	free(s);
}

static void test_verify_files(void **state)
{
	char *s = mkstate(), **names, *ld, *p;
	uint64_t *firsts;
	struct ag_log *l = open_ok(s, NULL);
	long n;

	assert_int_equal(log__set_rotate_bytes(l, 4096), 0);
	append_n(l, 100);
	log__close(l);
	expect_ok(s, 100, 100);
	ld = path_of(s, "log");
	n = log__entry_files(ld, &names, &firsts);
	assert_true(n >= 3);
	/* a whole entries file deleted */
	assert_true(asprintf(&p, "%s/%s", ld, names[1]) > 0);
	assert_int_equal(unlink(p), 0);
	{
		char want[160];

		snprintf(want, sizeof(want), "entry %" PRIu64 ": file '%s' starts at seq %"
			 PRIu64, firsts[1], names[2], firsts[2]);
		expect_fail(s, want);
	}
	for (long i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(firsts);
	free(p);
	free(ld);
	rm_rf(s);
	free(s);

	/* a missing log directory is an error, not a verification failure */
	{
		struct log_verify_result res;
		char *vk;

		s = mkstate();
		l = open_ok(s, NULL);
		log__close(l);
		vk = vkey_of(s);
		assert_int_equal(log__verify("/nonexistent/log", vk, &res), -ENOENT);
		assert_non_null(strstr(res.error, "cannot open '/nonexistent/log'"));
		assert_int_equal(log__verify("/tmp", "not a key", &res), -EINVAL);
		free(vk);
		rm_rf(s);
		free(s);
	}
}

/* verify while the daemon writes: reading in the reverse of the write
 * order makes every run exact, never a false failure */
static void test_verify_concurrent(void **state)
{
	char *s = mkstate();
	struct log_verify_result res;
	struct ag_log *l = open_ok(s, NULL);
	int runs = 0, st;
	pid_t pid;

	log__close(l);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ag_log *w = log__open(s, HOST, NULL);
		double end = now() + 1.5;

		if (!w)
			_exit(1);
		log__set_rotate_bytes(w, 64 * 1024);
		while (now() < end) {
			append_n(w, 1 + rand() % 700);
			if (rand() % 2)
				log__flush(w);
			if (log__commit(w))
				_exit(2);
		}
		log__close(w);
		_exit(0);
	}
	while (waitpid(pid, &st, WNOHANG) == 0) {
		int r = verify(s, &res);

		if (r)
			fail_msg("verify during writes: %d: %s", r, res.error);
		runs++;
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	{
		uint64_t n = log__size_of(s);

		assert_true(n > 1000);
		expect_ok(s, n, n);
	}
	printf("# log: %d verifications during writes, all ok\n", runs);
	assert_true(runs > 3);
	rm_rf(s);
	free(s);
}

/* ---- the command -------------------------------------------------------- */

static void test_cmd_log(void **state)
{
	char *s = mkstate(), *ld = path_of(s, "log"), *vk, *vkp, want[256], b64[48];
	struct log_verify_result res;
	struct run_out r = { 0 };

	build_standard(s);
	assert_int_equal(verify(s, &res), 0);
	note__base64_encode(res.newest_root, 32, b64);
	snprintf(want, sizeof(want), "ok: 25 entries, 2 checkpoints, root %s\n"
		 "unsealed: entries 20..24 are not covered by a checkpoint\n", b64);

	run_capture(&r, cmd_log, 4, (char *[]){ "log", "verify", "--state-dir", s, NULL });
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, want);
	assert_string_equal(r.err, "");
	/* LOGDIR, --state-dir=, --key FILE, --key STRING give the same */
	run_capture(&r, cmd_log, 3, (char *[]){ "log", "verify", ld, NULL });
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, want);
	{
		char *opt;

		assert_true(asprintf(&opt, "--state-dir=%s", s) > 0);
		run_capture(&r, cmd_log, 3, (char *[]){ "log", "verify", opt, NULL });
		assert_string_equal(r.out, want);
		free(opt);
	}
	vkp = path_of(s, "keys/log.vkey");
	run_capture(&r, cmd_log, 5, (char *[]){ "log", "verify", ld, "--key", vkp, NULL });
	assert_string_equal(r.out, want);
	vk = vkey_of(s);
	vk[strlen(vk) - 1] = '\0';
	run_capture(&r, cmd_log, 5, (char *[]){ "log", "verify", ld, "--key", vk, NULL });
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, want);

	/* all sealed: one line */
	{
		struct ag_log *l = open_ok(s, NULL);

		log__close(l);
	}
	run_capture(&r, cmd_log, 3, (char *[]){ "log", "verify", ld, NULL });
	assert_int_equal(r.rc, 0);
	assert_true(strncmp(r.out, "ok: 25 entries, 3 checkpoints, root ", 36) == 0);
	assert_int_equal(strlen(r.out), 36 + 44 + 1);

	/* a failure */
	tamper_lines(s, t_swap);
	run_capture(&r, cmd_log, 3, (char *[]){ "log", "verify", ld, NULL });
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "FAIL: entry 3: has seq 4 (a line was deleted, "
			    "inserted or moved)\n");

	/* usage */
	run_capture(&r, cmd_log, 3, (char *[]){ "log", "verify", "--x", NULL });
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "agentguard: log verify: unknown option '--x'\n");
	run_capture(&r, cmd_log, 3, (char *[]){ "log", "verify", "--key", NULL });
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "agentguard: log verify: option '--key' needs a value\n");
	run_capture(&r, cmd_log, 5, (char *[]){ "log", "verify", "--state-dir", s, ld, NULL });
	assert_int_equal(r.rc, 2);
	run_capture(&r, cmd_log, 3, (char *[]){ "log", "verify", "--help", NULL });
	assert_int_equal(r.rc, 0);
	assert_true(strncmp(r.out, "usage: agentguard log verify", 28) == 0);
	run_capture(&r, cmd_log, 2, (char *[]){ "log", "--help", NULL });
	assert_int_equal(r.rc, 0);
	assert_true(strncmp(r.out, "usage: agentguard log <command>", 31) == 0);
	run_capture(&r, cmd_log, 1, (char *[]){ "log", NULL });
	assert_int_equal(r.rc, 2);
	run_capture(&r, cmd_log, 2, (char *[]){ "log", "frob", NULL });
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "agentguard: log: unknown command 'frob'\n");
	/* errors that stop verification */
	run_capture(&r, cmd_log, 3, (char *[]){ "log", "verify", "/nonexistent/log", NULL });
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_true(strncmp(r.err, "agentguard: log verify: cannot read "
			    "'/nonexistent/log/../keys/log.vkey'", 70) == 0);
	run_capture(&r, cmd_log, 5, (char *[]){ "log", "verify", ld, "--key", "garbage", NULL });
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "agentguard: log verify: invalid verifier key\n");
	free(vk);
	free(vkp);
	free(ld);
	rm_rf(s);
	free(s);
}

/* ---- speed -------------------------------------------------------------- */

/* ---- events ------------------------------------------------------------- */

static const char *ev_lines[] = {
	"{\"seq\":0,\"time\":\"2026-11-29T09:12:00.000000001Z\",\"host\":\"h\",\"type\":\"daemon.start\"}",
	"{\"seq\":1,\"time\":\"2026-11-29T09:12:01.000000001Z\",\"host\":\"h\",\"type\":\"network.connect\",\"decision\":\"deny\",\"mode\":\"enforce\",\"agent\":{\"name\":\"a\"},\"session\":{\"id\":\"S1\"},\"process\":{\"pid\":12,\"comm\":\"curl\"},\"target\":{\"ip\":\"10.1.2.3\",\"port\":443,\"protocol\":\"tcp\"},\"rule\":\"network.egress.default\"}",
	"{\"seq\":2,\"time\":\"2026-11-29T09:12:02.000000001Z\",\"host\":\"h\",\"type\":\"file.open\",\"decision\":\"allow\",\"agent\":{\"name\":\"b\"},\"target\":{\"path\":\"/etc/shadow\",\"access\":\"read\"}}",
	"{\"seq\":3,\"time\":\"2026-11-29T09:12:03.000000001Z\",\"host\":\"h\",\"type\":\"network.bind\",\"decision\":\"allow\",\"agent\":{\"name\":\"a\"},\"target\":{\"ip\":\"::1\",\"port\":8080,\"protocol\":\"tcp\"}}",
	"{\"seq\":4,\"time\":\"2026-11-29T09:12:04.000000001Z\",\"host\":\"h\",\"type\":\"events.lost\",\"count\":3}",
	"{\"seq\":5,\"time\":\"2026-11-29T09:12:05.000000001Z\",\"host\":\"h\",\"type\":\"process.exec\",\"decision\":\"allow\",\"agent\":{\"name\":\"a\"},\"process\":{\"pid\":7,\"comm\":\"ev\\nil\\u001b[31m\"},\"target\":{\"path\":\"/usr/bin/x\"}}",
	"{\"seq\":6,\"time\":\"2026-11-29T09:12:06.000000001Z\",\"host\":\"h\",\"type\":\"process.exit\",\"agent\":{\"name\":\"b\"},\"process\":{\"pid\":8,\"comm\":\"sh\"},\"exit_code\":3}",
	"{\"seq\":7,\"time\":\"2026-11-29T09:12:07.5Z\",\"host\":\"h\",\"type\":\"file.open\",\"decision\":\"deny\",\"agent\":{\"name\":\"c\"},\"target\":{\"path\":\"/etc/shadow\",\"access\":\"read\"},\"rule\":\"files.deny[0]\",\"aggregate\":{\"count\":41,\"first\":\"2026-11-29T09:12:07.1Z\",\"last\":\"2026-11-29T09:12:07.5Z\"}}",
};
#define N_EV (sizeof(ev_lines) / sizeof(ev_lines[0]))

static char *events_log(void)
{
	char *s = mkstate();
	struct ag_log *l = open_ok(s, NULL);

	for (size_t i = 0; i < N_EV; i++)
		assert_int_equal(log__append(l, ev_lines[i], strlen(ev_lines[i])), 0);
	log__close(l);
	return s;
}

static void want_lines(const char *out, const int *idx, size_t n)
{
	char want[4096] = "";

	for (size_t i = 0; i < n; i++) {
		strcat(want, ev_lines[idx[i]]);
		strcat(want, "\n");
	}
	assert_string_equal(out, want);
}

static void test_events(void **state)
{
	char *s = events_log();
	struct run_out r = { 0 };

	run_capture(&r, cmd_events, 3, (char *[]){ "events", "--state-dir", s, NULL });
	assert_int_equal(r.rc, 0);
	want_lines(r.out, (int[]){ 0, 1, 2, 3, 4, 5, 6, 7 }, 8);
	assert_string_equal(r.err, "");
	run_capture(&r, cmd_events, 5, (char *[]){ "events", "--state-dir", s, "--agent", "a", NULL });
	want_lines(r.out, (int[]){ 1, 3, 5 }, 3);
	run_capture(&r, cmd_events, 5, (char *[]){ "events", "--state-dir", s, "--type", "network.", NULL });
	want_lines(r.out, (int[]){ 1, 3 }, 2);
	run_capture(&r, cmd_events, 5, (char *[]){ "events", "--state-dir", s, "--type", "network", NULL });
	assert_string_equal(r.out, "");
	run_capture(&r, cmd_events, 4, (char *[]){ "events", "--state-dir", s, "--type=file.open", NULL });
	want_lines(r.out, (int[]){ 2, 7 }, 2);
	run_capture(&r, cmd_events, 7, (char *[]){ "events", "--state-dir", s, "--type", "network.", "--agent",
				   "b", NULL });
	assert_string_equal(r.out, "");
	run_capture(&r, cmd_events, 5, (char *[]){ "events", "--state-dir", s, "--format", "text", NULL });
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out,
		"2026-11-29T09:12:00.000000001Z daemon.start\n"
		"2026-11-29T09:12:01.000000001Z network.connect deny agent=a session=S1 "
		"proc=curl[12] tcp 10.1.2.3:443 rule=network.egress.default\n"
		"2026-11-29T09:12:02.000000001Z file.open allow agent=b read /etc/shadow\n"
		"2026-11-29T09:12:03.000000001Z network.bind allow agent=a tcp [::1]:8080\n"
		"2026-11-29T09:12:04.000000001Z events.lost count=3\n"
		"2026-11-29T09:12:05.000000001Z process.exec allow agent=a "
		"proc=ev\\nil\\x1b[31m[7] /usr/bin/x\n"
		"2026-11-29T09:12:06.000000001Z process.exit agent=b proc=sh[8] exit_code=3\n"
		"2026-11-29T09:12:07.5Z file.open deny agent=c read /etc/shadow rule=files.deny[0] "
		"repeated=41 first=2026-11-29T09:12:07.1Z last=2026-11-29T09:12:07.5Z\n");
	/* --format ocsf, --since-seq, --unsealed: tests/unit/test_events.c */
	/* errors */
	run_capture(&r, cmd_events, 5, (char *[]){ "events", "--state-dir", s, "--format", "xml", NULL });
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "agentguard: events: unknown format 'xml' (expected json, "
			    "ocsf or text)\n");
	run_capture(&r, cmd_events, 2, (char *[]){ "events", "--bogus", NULL });
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "agentguard: events: unknown option '--bogus'\n");
	run_capture(&r, cmd_events, 2, (char *[]){ "events", "--agent", NULL });
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "agentguard: events: option '--agent' needs a value\n");
	run_capture(&r, cmd_events, 2, (char *[]){ "events", "--help", NULL });
	assert_int_equal(r.rc, 0);
	assert_true(strncmp(r.out, "usage: agentguard events", 24) == 0);
	run_capture(&r, cmd_events, 3, (char *[]){ "events", "--state-dir", "/nonexistent", NULL });
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "agentguard: events: cannot read '/nonexistent/log': "
			    "No such file or directory\n");
	rm_rf(s);
	free(s);
}

/* Reads from fd until want newlines arrived or 10 s passed. */
static size_t read_until(int fd, char *buf, size_t cap, size_t len, int want)
{
	double end = now() + 10;

	for (;;) {
		int nl = 0;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		for (size_t i = 0; i < len; i++)
			nl += buf[i] == '\n';
		if (nl >= want || now() > end)
			break;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	return len;
}

static void test_events_follow(void **state)
{
	char *s = events_log(), buf[65536];
	struct ag_log *l;
	int p[2], st;
	size_t len = 0;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		_exit(cmd_events(6, (char *[]){ "events", "--follow", "--state-dir", s,
						"--format", "text", NULL }));
	}
	close(p[1]);
	len = read_until(p[0], buf, sizeof(buf), len, N_EV);
	assert_true(strncmp(buf, "2026-11-29T09:12:00.000000001Z daemon.start\n", 44) == 0);
	/* new entries, committed; then enough for new entry files */
	l = open_ok(s, NULL);
	assert_int_equal(log__set_rotate_bytes(l, 4096), 0);
	append_n(l, 2);
	assert_int_equal(log__commit(l), 0);
	len = read_until(p[0], buf, sizeof(buf), len, N_EV + 2);
	assert_non_null(strstr(buf, "process.exec allow agent=agent-2\n"));
	append_n(l, 100);	/* ~4 more files */
	assert_int_equal(log__commit(l), 0);
	log__close(l);
	len = read_until(p[0], buf, sizeof(buf), len, N_EV + 102);
	{
		int nl = 0;

		for (size_t i = 0; i < len; i++)
			nl += buf[i] == '\n';
		assert_int_equal(nl, N_EV + 102);
	}
	assert_non_null(strstr(buf, "2026-11-29T09:12:03.000000107Z process.exec allow "
			       "agent=agent-2\n"));
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(p[0]);
	rm_rf(s);
	free(s);
}

/* ~300-byte entries, a commit every 100,000 entries (the daemon commits
 * every second: this is 100k entries/s with a commit per second). */
static void test_throughput(void **state)
{
	enum { N = 400000, PER_COMMIT = 100000 };
	char *s = mkstate(), buf[512], pad[160];
	struct ag_log *l = open_ok(s, NULL);
	struct log_verify_result res;
	double t0, tw, tv;
	size_t len = 0;

	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	t0 = now();
	for (uint64_t i = 0; i < N; i++) {
		len = snprintf(buf, sizeof(buf), "{\"seq\":%" PRIu64 ",\"time\":"
			       "\"2026-11-29T09:12:03.123456789Z\",\"type\":"
			       "\"network.connect\",\"agent\":{\"name\":\"x\"},"
			       "\"pad\":\"%s\"}", i, pad);
		assert_int_equal(log__append(l, buf, len), 0);
		if ((i + 1) % PER_COMMIT == 0)
			assert_int_equal(log__commit(l), 0);
	}
	log__close(l);
	tw = now() - t0;
	t0 = now();
	assert_int_equal(verify(s, &res), 0);
	tv = now() - t0;
	assert_int_equal(res.entries, N);
	assert_int_equal(res.checkpoints, N / PER_COMMIT);
	printf("# log: %zu-byte entries: append+commit %.0f entries/s, "
	       "verify %.0f entries/s\n", len, N / tw, N / tv);
	t0 = now();
	l = open_ok(s, NULL);
	log__close(l);
	printf("# log: reopen of %d entries in %.3f s\n", N, now() - t0);
	assert_true(N / tw > 100000);
	rm_rf(s);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_creates),
		cmocka_unit_test(test_append_rejects),
		cmocka_unit_test(test_commit_reopen),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_recover_torn_line),
		cmocka_unit_test(test_recover_invalid_lines),
		cmocka_unit_test(test_recover_sealed_damage_refused),
		cmocka_unit_test(test_recover_leaves),
		cmocka_unit_test(test_recover_checkpoints),
		cmocka_unit_test(test_recover_many_checkpoints),
		cmocka_unit_test(test_verify_intact),
		cmocka_unit_test(test_verify_entries_tampered),
		cmocka_unit_test(test_verify_rewritten_leaves),
		cmocka_unit_test(test_verify_checkpoints_tampered),
		cmocka_unit_test(test_verify_files),
		cmocka_unit_test(test_verify_concurrent),
		cmocka_unit_test(test_cmd_log),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_events_follow),
		cmocka_unit_test(test_throughput),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
