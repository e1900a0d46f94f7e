/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * agproof: the proof benchmark's helper (tools/bench/run.sh, benchmark 11),
 * linked with agentguard's own log code.
 *
 *   agproof gen STATE N BYTES     writes a synthetic log of N entries of
 *                                 about BYTES bytes under STATE with the log
 *                                 writer (log__append, a commit every
 *                                 100,000 entries, 64 MiB entry files), as
 *                                 the daemon would, without the daemon
 *   agproof prove STATE COUNT [cold]
 *                                 COUNT inclusion proofs of random entries
 *                                 in the tree of the newest checkpoint, and
 *                                 COUNT / 10 consistency proofs from random
 *                                 sizes to it, each timed alone; every proof
 *                                 is then checked against the signed root.
 *                                 cold: the leaves and node stores are
 *                                 evicted from the page cache
 *                                 (POSIX_FADV_DONTNEED) before each proof
 *
 * Output: one line of key=value pairs (times in microseconds).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "merkle.h"
#include "note.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(NOTE_MAX_SIZE + 1);
	size_t n;

	if (!f || !buf) {
		fprintf(stderr, "agproof: cannot read '%s': %s\n", path, strerror(errno));
		exit(1);
	}
	n = fread(buf, 1, NOTE_MAX_SIZE, f);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int gen(const char *state, uint64_t n, size_t bytes)
{
	struct log_open_info info;
	struct ag_log *l = log__open(state, "bench-host", &info);
	char line[LOG_ENTRY_MAX], pad[LOG_ENTRY_MAX];
	double t0 = now();

	if (!l) {
		fprintf(stderr, "agproof: cannot open the log in '%s': %s\n", state, info.error);
		return 1;
	}
	if (bytes > sizeof(pad) - 512)
		bytes = sizeof(pad) - 512;
	memset(pad, 'x', bytes);
	pad[bytes] = '\0';
	for (uint64_t i = log__size(l); i < n; i++) {
		/* a denied connect as the daemon writes it, its rule padded so
		 * that the line is about bytes long */
		static const char fmt[] = "{\"seq\":%" PRIu64 ",\"time\":\"2026-11-29T09:12:"
			"03.%09" PRIu64 "Z\",\"host\":\"bench-host\",\"type\":\"network.connect\","
			"\"decision\":\"deny\",\"mode\":\"enforce\",\"agent\":{\"name\":\"bench\"},"
			"\"process\":{\"pid\":%" PRIu64 ",\"comm\":\"agbench\"},\"target\":{\"ip\":"
			"\"127.0.0.1\",\"port\":%" PRIu64 ",\"protocol\":\"tcp\"},\"rule\":"
			"\"network.egress.default%.*s\"}";
		int len = snprintf(line, sizeof(line), fmt, i, i % 1000000000,
				   1000 + i % 30000, i % 65536, 0, pad), err;

		if ((size_t)len < bytes)
			len = snprintf(line, sizeof(line), fmt, i, i % 1000000000,
				       1000 + i % 30000, i % 65536, (int)(bytes - len), pad);
		err = log__append(l, line, len);
		if (!err && (i + 1) % 100000 == 0)
			err = log__commit(l);
		if (err) {
			fprintf(stderr, "agproof: append %" PRIu64 ": %s\n", i, strerror(-err));
			return 1;
		}
	}
	if (log__commit(l)) {
		fprintf(stderr, "agproof: commit failed\n");
		return 1;
	}
	printf("entries=%" PRIu64 " secs=%.2f\n", log__size(l), now() - t0);
	log__close(l);
	return 0;
}

/* Drops the log's leaves and node stores from the page cache. */
static void evict(const char *state)
{
	char p[4096 + 64];

	for (int lv = 0; lv < 64; lv += LOG_NODE_STRIDE) {
		int fd;

		if (lv)
			snprintf(p, sizeof(p), "%s/log/nodes-%02d", state, lv);
		else
			snprintf(p, sizeof(p), "%s/log/leaves", state);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

static int prove(const char *state, unsigned count, bool cold)
{
	uint8_t path[MERKLE_PROOF_MAX][LOG_HASH_SIZE], leaf[LOG_HASH_SIZE];
	char p[4096 + 64], *vk, *note;
	struct note_verifier *v;
	struct checkpoint cp;
	struct merkle_hasher *h = merkle_hasher__new();
	struct log_tree *t;
	uint64_t *idx = calloc(count, sizeof(*idx));
	double *us = calloc(count, sizeof(*us)), sum = 0, t0;
	unsigned ncons = count / 10 ? count / 10 : 1, bad = 0;
	double *cus = calloc(ncons, sizeof(*cus)), csum = 0;
	size_t len, n, plen_sum = 0;

	snprintf(p, sizeof(p), "%s/keys/log.vkey", state);
	vk = slurp(p, &len);
	v = note_verifier__parse(vk, len);
	snprintf(p, sizeof(p), "%s/log/checkpoint", state);
	note = slurp(p, &len);
	if (!v || !h || !idx || !us || !cus || checkpoint__open(v, note, len, &cp, NULL, 0)) {
		fprintf(stderr, "agproof: no valid checkpoint in '%s'\n", state);
		return 1;
	}
	snprintf(p, sizeof(p), "%s/log", state);
	t0 = now();
	t = log_tree__open(p, 0);
	if (!t) {
		fprintf(stderr, "agproof: cannot open the tree: %s\n", strerror(errno));
		return 1;
	}
	srandom(42);
	for (unsigned i = 0; i < count; i++)
		idx[i] = (((uint64_t)random() << 31) ^ random()) % cp.size;
	for (unsigned i = 0; i < count; i++) {
		double a;
		int err;

		if (cold)
			evict(state);
		a = now();
		err = log_tree__leaf(t, idx[i], leaf);

		if (!err)
			err = log_tree__inclusion(t, idx[i], cp.size, path, &n);
		us[i] = (now() - a) * 1e6;
		sum += us[i];
		plen_sum += n;
		if (err || merkle__check_inclusion(h, idx[i], cp.size, leaf, path, n, cp.root))
			bad++;
	}
	for (unsigned i = 0; i < ncons; i++) {
		uint64_t m = 1 + (((uint64_t)random() << 31) ^ random()) % cp.size;
		uint8_t r1[LOG_HASH_SIZE];
		double a;
		int err;

		if (cold)
			evict(state);
		a = now();
		err = log_tree__consistency(t, m, cp.size, path, &n);

		cus[i] = (now() - a) * 1e6;
		csum += cus[i];
		if (err || log_tree__root(t, m, r1) ||
		    merkle__check_consistency(h, m, cp.size, r1, cp.root, path, n))
			bad++;
	}
	qsort(us, count, sizeof(*us), cmp_d);
	qsort(cus, ncons, sizeof(*cus), cmp_d);
	printf("size=%" PRIu64 " proofs=%u mean_us=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f "
	       "path=%.1f consistency=%u cmean_us=%.1f cp99_us=%.1f bad=%u total_us=%.0f\n",
	       cp.size, count, sum / count, us[count / 2], us[(size_t)(count * 0.99)],
	       us[count - 1], (double)plen_sum / count, ncons, csum / ncons,
	       cus[(size_t)(ncons * 0.99)], bad, (now() - t0) * 1e6);
	log_tree__free(t);
	merkle_hasher__free(h);
	note_verifier__free(v);
	free(vk);
	free(note);
	free(idx);
	free(us);
	free(cus);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "gen"))
		return gen(argv[2], strtoull(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
	if ((argc == 4 || (argc == 5 && !strcmp(argv[4], "cold"))) && !strcmp(argv[1], "prove"))
		return prove(argv[2], strtoul(argv[3], NULL, 10), argc == 5);
	fprintf(stderr, "usage: agproof gen STATE N BYTES | agproof prove STATE COUNT [cold]\n");
	return 2;
}
