/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_proof: RFC 6962 inclusion and consistency proofs (merkle.c) against
 * a brute-force recursive implementation written from the RFC's
 * definitions, their checkers against tampering; the log's node store and
 * struct log_tree; `log proof`, `log consistency` and `log verify --since`;
 * retention (removed entries, archive, what verify then says).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include "testfs.h"
#include <jansson.h>
#include <openssl/evp.h>

#include "cli.h"
#include "log.h"
#include "merkle.h"
#include "note.h"

static char *mkstate(void)
{
	return mkstate_from("/tmp/test_proof.XXXXXX");
}

#define HOST "testhost"
#define H 32

/* ---- the RFC 6962 definitions, literally ---------------------------- */

static void sha(uint8_t pre, const void *a, size_t al, const void *b, size_t bl,
		uint8_t out[H])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	assert_non_null(c);
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
	EVP_DigestUpdate(c, &pre, 1);
	EVP_DigestUpdate(c, a, al);
	EVP_DigestUpdate(c, b, bl);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

static uint64_t kpow(uint64_t n)	/* largest power of two < n */
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

/* MTH(D[lo:hi]) */
static void mth(const uint8_t (*lv)[H], uint64_t lo, uint64_t hi, uint8_t out[H])
{
	uint8_t l[H], r[H];
	uint64_t k;

	if (hi - lo == 1) {
		memcpy(out, lv[lo], H);
		return;
	}
	k = kpow(hi - lo);
	mth(lv, lo, lo + k, l);
	mth(lv, lo + k, hi, r);
	sha(1, l, H, r, H, out);
}

/* PATH(m, D[lo:hi]) appended to p */
static void ref_path(const uint8_t (*lv)[H], uint64_t m, uint64_t lo, uint64_t hi,
		     uint8_t (*p)[H], size_t *n)
{
	uint64_t k;

	if (hi - lo == 1)
		return;
	k = kpow(hi - lo);
	if (m < lo + k) {
		ref_path(lv, m, lo, lo + k, p, n);
		mth(lv, lo + k, hi, p[(*n)++]);
	} else {
		ref_path(lv, m, lo + k, hi, p, n);
		mth(lv, lo, lo + k, p[(*n)++]);
	}
}

/* SUBPROOF(m, D[lo:hi], b) */
static void ref_sub(const uint8_t (*lv)[H], uint64_t m, uint64_t lo, uint64_t hi,
		    bool b, uint8_t (*p)[H], size_t *n)
{
	uint64_t k;

	if (m == hi) {
		if (!b)
			mth(lv, lo, hi, p[(*n)++]);
		return;
	}
	k = kpow(hi - lo);
	if (m <= lo + k) {
		ref_sub(lv, m, lo, lo + k, b, p, n);
		mth(lv, lo + k, hi, p[(*n)++]);
	} else {
		ref_sub(lv, m, lo + k, hi, false, p, n);
		mth(lv, lo, lo + k, p[(*n)++]);
	}
}

/* A merkle_node_fn over an in-memory leaf array, computing every node. */
static int mem_node(void *ctx, unsigned level, uint64_t index, uint8_t out[H])
{
	const uint8_t (*lv)[H] = ctx;

	mth(lv, index << level, (index + 1) << level, out);
	return 0;
}

static uint8_t (*make_leaves(uint64_t n))[H]
{
	uint8_t (*lv)[H] = malloc((n ? n : 1) * H);

	for (uint64_t i = 0; i < n; i++) {
		char d[32];
		int len = snprintf(d, sizeof(d), "leaf %" PRIu64, i);

		sha(0, d, len, "", 0, lv[i]);
	}
	return lv;
}

static void test_inclusion_brute(void **state)
{
	struct merkle_hasher *h = merkle_hasher__new();
	uint8_t path[MERKLE_PROOF_MAX][H], ref[MERKLE_PROOF_MAX][H], root[H], root2[H];
	const uint64_t sizes[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64,
				   65, 100, 127, 128, 129, 255, 256, 257, 1000, 1023, 1025 };
	uint8_t (*lv)[H] = make_leaves(1025);
	unsigned checked = 0;

	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		uint64_t n = sizes[si];

		mth(lv, 0, n, root);
		assert_int_equal(merkle__range_root(h, mem_node, lv, 0, n, root2), 0);
		assert_memory_equal(root, root2, H);
		for (uint64_t i = 0; i < n; i += n > 100 ? 7 : 1) {
			size_t pn = 0, rn = 0;

			assert_int_equal(merkle__inclusion_proof(h, mem_node, lv, i, n,
								 path, &pn), 0);
			ref_path(lv, i, 0, n, ref, &rn);
			assert_int_equal(pn, rn);
			assert_memory_equal(path, ref, pn * H);
			assert_int_equal(merkle__check_inclusion(h, i, n, lv[i], path, pn,
								 root), 0);
			/* every tampering is rejected */
			for (size_t k = 0; k < pn; k++) {
				path[k][k % H] ^= 1;
				assert_int_equal(merkle__check_inclusion(h, i, n, lv[i], path,
									 pn, root), -EBADMSG);
				path[k][k % H] ^= 1;
			}
			if (pn)
				assert_int_equal(merkle__check_inclusion(h, i, n, lv[i], path,
									 pn - 1, root), -EBADMSG);
			memcpy(path[pn], root, H);
			assert_int_equal(merkle__check_inclusion(h, i, n, lv[i], path, pn + 1,
								 root), -EBADMSG);
			assert_int_equal(merkle__check_inclusion(h, i, n, lv[(i + 1) % n],
								 path, pn, root),
					 n == 1 ? 0 : -EBADMSG);
			if (n > 1)	/* the same path for another index */
				assert_int_equal(merkle__check_inclusion(h, (i + 1) % n, n, lv[i],
									 path, pn, root), -EBADMSG);
			checked++;
		}
	}
	assert_int_equal(merkle__inclusion_proof(h, mem_node, lv, 5, 5, path, &(size_t){0}),
			 -EINVAL);
	assert_int_equal(merkle__check_inclusion(h, 5, 5, lv[0], path, 0, root), -EBADMSG);
	assert_int_equal(merkle__range_root(h, mem_node, lv, 3, 3, root), -EINVAL);
	assert_int_equal(merkle__range_root(h, mem_node, lv, 2, 5, root), -EINVAL);
	print_message("# proof: %u inclusion proofs equal the RFC 6962 PATH and check\n",
		      checked);
	free(lv);
	merkle_hasher__free(h);
}

static void test_consistency_brute(void **state)
{
	struct merkle_hasher *h = merkle_hasher__new();
	uint8_t path[MERKLE_PROOF_MAX][H], ref[MERKLE_PROOF_MAX][H];
	uint8_t (*roots)[H], (*lv)[H] = make_leaves(130);
	unsigned checked = 0;

	roots = malloc(131 * H);
	for (uint64_t n = 1; n <= 130; n++)
		mth(lv, 0, n, roots[n]);
	for (uint64_t n = 1; n <= 130; n++) {
		for (uint64_t m = 1; m <= n; m++) {
			size_t pn = 0, rn = 0;

			assert_int_equal(merkle__consistency_proof(h, mem_node, lv, m, n,
								   path, &pn), 0);
			ref_sub(lv, m, 0, n, true, ref, &rn);
			assert_int_equal(pn, rn);
			assert_memory_equal(path, ref, pn * H);
			assert_int_equal(merkle__check_consistency(h, m, n, roots[m], roots[n],
								   path, pn), 0);
			for (size_t k = 0; k < pn; k++) {
				path[k][(k * 7) % H] ^= 0x80;
				assert_int_equal(merkle__check_consistency(h, m, n, roots[m],
									   roots[n], path, pn),
						 -EBADMSG);
				path[k][(k * 7) % H] ^= 0x80;
			}
			if (m < n) {
				/* a fork: another old root, another new root */
				assert_int_equal(merkle__check_consistency(h, m, n, roots[m - 1 ? m - 1 : 2],
									   roots[n], path, pn), -EBADMSG);
				assert_int_equal(merkle__check_consistency(h, m, n, roots[m],
									   roots[n - 1], path, pn), -EBADMSG);
				assert_int_equal(merkle__check_consistency(h, m, n, roots[m],
									   roots[n], path, pn - 1),
						 -EBADMSG);
			}
			checked++;
		}
	}
	assert_int_equal(merkle__check_consistency(h, 0, 5, roots[1], roots[5], path, 0),
			 -EBADMSG);
	assert_int_equal(merkle__consistency_proof(h, mem_node, lv, 0, 5, path, &(size_t){0}),
			 -EINVAL);
	assert_int_equal(merkle__consistency_proof(h, mem_node, lv, 6, 5, path, &(size_t){0}),
			 -EINVAL);
	print_message("# proof: consistency proofs for all %u pairs 1 <= M <= N <= 130\n",
		      checked);
	free(roots);
	free(lv);
	merkle_hasher__free(h);
}

/* ---- the log ------------------------------------------------------------ */

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

static void append_one(struct ag_log *l, const char *type, const char *extra)
{
	char buf[512];
	uint64_t seq = log__size(l);
	int n = snprintf(buf, sizeof(buf), "{\"seq\":%" PRIu64 ",\"time\":\"2026-11-29T09:"
			 "12:03.%09" PRIu64 "Z\",\"host\":\"" HOST "\",\"type\":\"%s\"%s%s}",
			 seq, seq, type, extra ? "," : "", extra ? extra : "");

	assert_int_equal(log__append(l, buf, n), 0);
}

static void append_n(struct ag_log *l, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		append_one(l, "process.exec", "\"msg\":\"hello, world: some padding here\"");
}

/* The leaf hashes of the log, from its leaves store. */
static uint8_t (*leaves_of(const char *state, uint64_t *n))[H]
{
	size_t len;
	uint8_t (*lv)[H] = (void *)slurp_rel(state, "log/leaves", &len);

	*n = len / H;
	return lv;
}

static int verify(const char *state, const struct checkpoint *since,
		  struct log_verify_result *res)
{
	char *vk = slurp_rel(state, "keys/log.vkey", NULL), *ld = path_of(state, "log");
	int r = log__verify_since(ld, vk, since, res);

	free(vk);
	free(ld);
	return r;
}

static void expect_ok(const char *state, uint64_t entries)
{
	struct log_verify_result res;
	int r = verify(state, NULL, &res);

	if (r)
		fail_msg("verify failed (%d): %s", r, res.error);
	assert_int_equal(res.entries, entries);
}

static void expect_fail(const char *state, const struct checkpoint *since,
			const char *want)
{
	struct log_verify_result res;
	int r = verify(state, since, &res);

	if (r != -EBADMSG)
		fail_msg("verify returned %d (%s), want a failure '%s'", r, res.error, want);
	if (strncmp(res.error, want, strlen(want)))
		fail_msg("verify says '%s', want '%s...'", res.error, want);
}

static uint64_t file_records(const char *state, const char *rel)
{
	char *p = path_of(state, rel);
	struct stat st;
	uint64_t n = stat(p, &st) ? UINT64_MAX : (uint64_t)st.st_size / H;

	free(p);
	return n;
}

/* The node store holds exactly the perfect subtrees of heights 4, 8, ... */
static void check_node_store(const char *state)
{
	uint64_t n;
	uint8_t (*lv)[H] = leaves_of(state, &n), node[H];

	for (int lvl = 4; lvl < 64; lvl += 4) {
		char rel[32];
		uint64_t want = n >> lvl, have;
		uint8_t (*rec)[H];

		snprintf(rel, sizeof(rel), "log/nodes-%02d", lvl);
		have = file_records(state, rel);
		if (want == 0) {
			assert_true(have == 0 || have == UINT64_MAX);
			continue;
		}
		assert_int_equal(have, want);
		rec = (void *)slurp_rel(state, rel, NULL);
		for (uint64_t i = 0; i < want; i += 1 + want / 50) {
			mth(lv, i << lvl, (i + 1) << lvl, node);
			assert_memory_equal(rec[i], node, H);
		}
		free(rec);
	}
	free(lv);
}

static void test_node_store(void **state)
{
	char *s = mkstate(), *ld = path_of(s, "log");
	struct log_open_info info;
	struct ag_log *l = open_ok(s, NULL);
	struct merkle_hasher *h = merkle_hasher__new();
	uint8_t path[MERKLE_PROOF_MAX][H], ref[MERKLE_PROOF_MAX][H], root[H], r2[H];
	uint8_t (*lv)[H];
	struct log_tree *t;
	uint64_t n;

	/* commits at odd sizes, a rotation, node files appear as they fill */
	assert_int_equal(log__set_rotate_bytes(l, 64 * 1024), 0);
	append_n(l, 15);
	assert_int_equal(log__commit(l), 0);
	assert_int_equal(file_records(s, "log/nodes-04"), UINT64_MAX);
	append_n(l, 1);
	assert_int_equal(log__commit(l), 0);
	assert_int_equal(file_records(s, "log/nodes-04"), 1);
	append_n(l, 5000 - 16);
	assert_int_equal(log__commit(l), 0);
	append_n(l, 123);	/* flushed at close */
	log__close(l);
	check_node_store(s);
	lv = leaves_of(s, &n);
	assert_int_equal(n, 5123);

	/* the tree reader gives the RFC's proofs, with nodes and without */
	for (unsigned flags = 0; flags <= LOG_TREE_NO_NODES; flags++) {
		t = log_tree__open(ld, flags);
		assert_non_null(t);
		assert_int_equal(log_tree__size(t), 5123);
		for (uint64_t size = 1; size <= 5123; size += size < 40 ? 1 : 97) {
			mth(lv, 0, size, root);
			assert_int_equal(log_tree__root(t, size, r2), 0);
			assert_memory_equal(root, r2, H);
			for (uint64_t i = 0; i < size; i += 1 + size / 9) {
				size_t pn, rn = 0;

				assert_int_equal(log_tree__inclusion(t, i, size, path, &pn), 0);
				ref_path(lv, i, 0, size, ref, &rn);
				assert_int_equal(pn, rn);
				assert_memory_equal(path, ref, pn * H);
				assert_int_equal(merkle__check_inclusion(h, i, size, lv[i], path,
									 pn, root), 0);
			}
			for (uint64_t m = 1; m <= size; m += 1 + size / 5) {
				size_t pn, rn = 0;

				assert_int_equal(log_tree__consistency(t, m, size, path, &pn), 0);
				ref_sub(lv, m, 0, size, true, ref, &rn);
				assert_int_equal(pn, rn);
				assert_memory_equal(path, ref, pn * H);
			}
		}
		assert_int_equal(log_tree__inclusion(t, 3, 5124, path, &(size_t){0}), -ERANGE);
		assert_int_equal(log_tree__inclusion(t, 5123, 5123, path, &(size_t){0}), -EINVAL);
		assert_int_equal(log_tree__root(t, 0, root), -ERANGE);
		assert_int_equal(log_tree__leaf(t, 5123, root), -ERANGE);
		log_tree__free(t);
	}

	/* a damaged node store: proofs from it no longer check, verify names
	 * it, and the next open repairs it */
	{
		size_t len;
		char *d = slurp_rel(s, "log/nodes-08", &len);
		size_t pn;

		d[5 * H + 3] ^= 1;
		spit_rel(s, "log/nodes-08", d, len);
		free(d);
		t = log_tree__open(ld, 0);
		mth(lv, 0, 5123, root);
		/* 1600's sibling at height 8 is record 5: leaves 1280..1535 */
		assert_int_equal(log_tree__inclusion(t, 1600, 5123, path, &pn), 0);
		assert_int_equal(merkle__check_inclusion(h, 1600, 5123, lv[1600], path, pn,
							 root), -EBADMSG);
		log_tree__free(t);
		expect_fail(s, NULL, "nodes-08: record 5 does not match the entries");
		l = open_ok(s, &info);
		assert_int_equal(info.nodes_repaired, 20 - 5);
		log__close(l);
		check_node_store(s);
		expect_ok(s, 5123);
	}
	/* a log without a node store (written before it existed) gets one */
	{
		char *p;

		for (int lvl = 4; lvl <= 12; lvl += 4) {
			assert_true(asprintf(&p, "%s/log/nodes-%02d", s, lvl) > 0);
			assert_int_equal(unlink(p), 0);
			free(p);
		}
		expect_ok(s, 5123);	/* missing nodes are no failure */
		t = log_tree__open(ld, 0);	/* and proofs still work, slower */
		{
			size_t pn;

			assert_int_equal(log_tree__inclusion(t, 77, 5123, path, &pn), 0);
			assert_int_equal(merkle__check_inclusion(h, 77, 5123, lv[77], path, pn,
								 root), 0);
		}
		log_tree__free(t);
		l = open_ok(s, &info);
		assert_int_equal(info.nodes_repaired, 5123 / 16 + 5123 / 256 + 5123 / 4096);
		log__close(l);
		check_node_store(s);
	}
	/* a torn node record and extra records past the leaves are cut */
	{
		size_t len;
		char *d = slurp_rel(s, "log/nodes-04", &len), *e = malloc(len + 40);

		memcpy(e, d, len);
		memset(e + len, 0xab, 40);
		spit_rel(s, "log/nodes-04", e, len + 40);
		free(d);
		free(e);
		l = open_ok(s, &info);
		log__close(l);
		check_node_store(s);
	}
	free(lv);
	merkle_hasher__free(h);
	free(ld);
	rm_rf(s);
	free(s);
}

/* ---- commands ---------------------------------------------------------- */

static void run_cmd(struct run_out *r, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	run_capture(r, cmd_log, argc, argv);
}

#define RUN(r, ...) run_cmd(r, (char *[]){ "log", __VA_ARGS__, NULL })

static void b64hash(const char *s, uint8_t out[H])
{
	assert_non_null(s);
	assert_int_equal(note__base64_decode(s, strlen(s), out, H), H);
}

static size_t json_path(json_t *arr, uint8_t (*p)[H])
{
	size_t n = json_array_size(arr);

	for (size_t i = 0; i < n; i++)
		b64hash(json_string_value(json_array_get(arr, i)), p[i]);
	return n;
}

/* A log of 300 entries: checkpoints at 10, 100, 250 and 300. */
static void build_log(const char *s)
{
	struct ag_log *l = open_ok(s, NULL);

	assert_int_equal(log__set_rotate_bytes(l, 8192), 0);
	append_n(l, 10);
	assert_int_equal(log__commit(l), 0);
	append_n(l, 90);
	assert_int_equal(log__commit(l), 0);
	append_n(l, 150);
	assert_int_equal(log__commit(l), 0);
	append_n(l, 50);
	log__close(l);
}

static void test_cmd_proof(void **state)
{
	char *s = mkstate(), *ld = path_of(s, "log");
	struct merkle_hasher *h = merkle_hasher__new();
	uint8_t path[MERKLE_PROOF_MAX][H], leaf[H], root[H], r1[H];
	struct run_out r = { 0 };
	uint64_t n;
	uint8_t (*lv)[H];
	json_t *o;
	size_t pn;

	build_log(s);
	lv = leaves_of(s, &n);
	assert_int_equal(n, 300);

	/* default size: the newest checkpoint, with its note and the entry */
	RUN(&r, "proof", "--index", "42", "--state-dir", s);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	assert_non_null(strchr(r.out, '\n'));
	assert_int_equal(strchr(r.out, '\n')[1], '\0');	/* one line */
	o = json_loads(r.out, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "proof")), "inclusion");
	assert_string_equal(json_string_value(json_object_get(o, "origin")), "agentguard/" HOST);
	assert_int_equal(json_integer_value(json_object_get(o, "leaf_index")), 42);
	assert_int_equal(json_integer_value(json_object_get(o, "tree_size")), 300);
	b64hash(json_string_value(json_object_get(o, "leaf_hash")), leaf);
	assert_memory_equal(leaf, lv[42], H);
	b64hash(json_string_value(json_object_get(o, "root_hash")), root);
	mth(lv, 0, 300, r1);
	assert_memory_equal(root, r1, H);
	pn = json_path(json_object_get(o, "inclusion_path"), path);
	assert_int_equal(merkle__check_inclusion(h, 42, 300, leaf, path, pn, root), 0);
	{
		char *cp = slurp_rel(s, "log/checkpoint", NULL);

		assert_string_equal(json_string_value(json_object_get(o, "checkpoint")), cp);
		free(cp);
	}
	assert_true(strncmp(json_string_value(json_object_get(o, "entry")),
			    "{\"seq\":42,", 10) == 0);
	json_decref(o);

	/* an older checkpoint's size, and a size never signed (no note) */
	RUN(&r, "proof", "--index=99", "--size=100", ld);
	assert_int_equal(r.rc, 0);
	o = json_loads(r.out, 0, NULL);
	assert_non_null(json_object_get(o, "checkpoint"));
	assert_non_null(strstr(json_string_value(json_object_get(o, "checkpoint")), "\n100\n"));
	pn = json_path(json_object_get(o, "inclusion_path"), path);
	mth(lv, 0, 100, r1);
	assert_int_equal(merkle__check_inclusion(h, 99, 100, lv[99], path, pn, r1), 0);
	json_decref(o);
	RUN(&r, "proof", "--index", "0", "--size", "77", ld);
	assert_int_equal(r.rc, 0);
	o = json_loads(r.out, 0, NULL);
	assert_null(json_object_get(o, "checkpoint"));
	b64hash(json_string_value(json_object_get(o, "root_hash")), root);
	mth(lv, 0, 77, r1);
	assert_memory_equal(root, r1, H);
	json_decref(o);

	/* consistency */
	RUN(&r, "consistency", "--from", "10", ld);
	assert_int_equal(r.rc, 0);
	o = json_loads(r.out, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "proof")), "consistency");
	assert_int_equal(json_integer_value(json_object_get(o, "tree_size_1")), 10);
	assert_int_equal(json_integer_value(json_object_get(o, "tree_size_2")), 300);
	assert_non_null(json_object_get(o, "checkpoint_1"));
	assert_non_null(json_object_get(o, "checkpoint_2"));
	b64hash(json_string_value(json_object_get(o, "root_hash_1")), r1);
	b64hash(json_string_value(json_object_get(o, "root_hash_2")), root);
	pn = json_path(json_object_get(o, "consistency_path"), path);
	assert_int_equal(merkle__check_consistency(h, 10, 300, r1, root, path, pn), 0);
	json_decref(o);
	RUN(&r, "consistency", "--from", "100", "--to", "250", ld);
	assert_int_equal(r.rc, 0);
	RUN(&r, "consistency", "--from", "250", "--to", "250", ld);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "\"consistency_path\":[]"));

	/* bad requests name what is wrong */
	RUN(&r, "proof", ld);
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "agentguard: log proof: --index is required\n");
	RUN(&r, "proof", "--index", "-1", ld);
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "agentguard: log proof: invalid --index '-1': expected "
			    "a non-negative integer\n");
	RUN(&r, "proof", "--index", "1x", ld);
	assert_int_equal(r.rc, 2);
	RUN(&r, "proof", "--index", "99999999999999999999", ld);
	assert_int_equal(r.rc, 2);
	RUN(&r, "proof", "--index", "300", ld);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "agentguard: log proof: entry 300 is not in the tree "
			    "of size 300\n");
	RUN(&r, "proof", "--index", "3", "--size", "301", ld);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "agentguard: log proof: size 301 is past the newest "
			    "checkpoint (size 300): later entries are not sealed yet\n");
	RUN(&r, "proof", "--index", "3", "--bogus", ld);
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "agentguard: log proof: unknown option '--bogus'\n");
	RUN(&r, "consistency", "--from", "0", ld);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "agentguard: log consistency: --from 0 must be between "
			    "1 and the newer size 300\n");
	RUN(&r, "consistency", "--from", "20", "--to", "10", ld);
	assert_int_equal(r.rc, 1);
	RUN(&r, "consistency", ld);
	assert_int_equal(r.rc, 2);
	{
		char *bad = path_of(s, "nowhere"), want[512];

		RUN(&r, "proof", "--index", "1", bad);
		assert_int_equal(r.rc, 1);
		snprintf(want, sizeof(want), "agentguard: log proof: cannot read '%s/../keys/"
			 "log.vkey': No such file or directory\n", bad);
		assert_string_equal(r.err, want);
		free(bad);
	}
	/* a damaged checkpoint file is named */
	{
		size_t len;
		char *cp = slurp_rel(s, "log/checkpoint", &len), want[512];

		cp[strlen("agentguard/" HOST "\n") + 1] ^= 1;	/* the size */
		spit_rel(s, "log/checkpoint", cp, len);
		RUN(&r, "proof", "--index", "1", ld);
		assert_int_equal(r.rc, 1);
		snprintf(want, sizeof(want), "agentguard: log proof: '%s/checkpoint': ", ld);
		assert_true(strncmp(r.err, want, strlen(want)) == 0);
		cp[strlen("agentguard/" HOST "\n") + 1] ^= 1;
		spit_rel(s, "log/checkpoint", cp, len);
		free(cp);
	}
	/* a damaged node store: the proof is still right (from the leaves) */
	{
		size_t len;
		char *d = slurp_rel(s, "log/nodes-04", &len);

		d[2 * H] ^= 0xff;
		spit_rel(s, "log/nodes-04", d, len);
		RUN(&r, "proof", "--index", "40", ld);
		assert_int_equal(r.rc, 0);
		o = json_loads(r.out, 0, NULL);
		pn = json_path(json_object_get(o, "inclusion_path"), path);
		mth(lv, 0, 300, r1);
		assert_int_equal(merkle__check_inclusion(h, 40, 300, lv[40], path, pn, r1), 0);
		json_decref(o);
		d[2 * H] ^= 0xff;
		spit_rel(s, "log/nodes-04", d, len);
		free(d);
	}
	/* a truncated leaves store is named */
	{
		size_t len;
		char *d = slurp_rel(s, "log/leaves", &len), want[512];

		spit_rel(s, "log/leaves", d, 200 * H + 5);
		RUN(&r, "proof", "--index", "1", ld);
		assert_int_equal(r.rc, 1);
		snprintf(want, sizeof(want), "agentguard: log proof: '%s/leaves' is shorter "
			 "than the checkpoint (run 'agentguard log verify')\n", ld);
		assert_string_equal(r.err, want);
		/* a modified leaf: the proof would not check, so none is printed */
		d[7 * H] ^= 1;
		spit_rel(s, "log/leaves", d, len);
		RUN(&r, "proof", "--index", "7", ld);
		assert_int_equal(r.rc, 1);
		snprintf(want, sizeof(want), "agentguard: log proof: '%s/leaves' does not "
			 "match the checkpoint of size 300 (run 'agentguard log verify')\n", ld);
		assert_string_equal(r.err, want);
		d[7 * H] ^= 1;
		spit_rel(s, "log/leaves", d, len);
		free(d);
	}
	/* an entry that does not match its leaf is refused */
	{
		char *p = path_of(s, "log/entries-000000000000.jsonl"), *d;
		size_t len;

		d = slurp(p, &len);
		*strstr(d, "hello") = 'j';
		spit(p, d, len);
		RUN(&r, "proof", "--index", "0", ld);
		assert_int_equal(r.rc, 1);
		assert_string_equal(r.err, "agentguard: log proof: entry 0 does not match its "
				    "leaf hash (run 'agentguard log verify')\n");
		*strstr(d, "jello") = 'h';
		spit(p, d, len);
		free(d);
		free(p);
	}
	free(lv);
	merkle_hasher__free(h);
	free(ld);
	rm_rf(s);
	free(s);
}

/* Copies the state dir src to a new one (same key, same log). */
static char *copy_state(const char *src)
{
	char *d = mkstate(), *cmd;

	assert_true(asprintf(&cmd, "cp -a '%s/.' '%s/'", src, d) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return d;
}

static void test_verify_since(void **state)
{
	char *s = mkstate(), *old, *note, *since_file, *vk;
	struct log_verify_result res;
	struct note_verifier *v;
	struct checkpoint cp, fork_cp, big_cp;
	struct run_out r = { 0 };
	size_t len;

	build_log(s);
	vk = slurp_rel(s, "keys/log.vkey", &len);
	v = note_verifier__parse(vk, len);
	assert_non_null(v);
	/* the checkpoint of size 100, as a SOC would have kept it */
	{
		char *ld = path_of(s, "log");

		assert_int_equal(log__find_checkpoint(ld, v, 100, &note, &len, &cp), 0);
		assert_int_equal(cp.size, 100);
		assert_int_equal(log__find_checkpoint(ld, v, 99, &note, &len, &cp), -ENOENT);
		assert_int_equal(log__find_checkpoint(ld, v, 100, &note, &len, &cp), 0);
		free(ld);
	}
	since_file = path_of(s, "trusted.note");
	spit(since_file, note, len);
	assert_int_equal(verify(s, &cp, &res), 0);
	assert_int_equal(res.since_size, 100);
	assert_true(res.since_proof > 0);
	RUN(&r, "verify", "--state-dir", s, "--since", since_file);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "\nsince: the log grew from the trusted checkpoint "
			       "(size 100) to size 300 by appending only (consistency proof of "));
	/* the newest checkpoint itself, and the empty one */
	{
		char *ld = path_of(s, "log"), *n2;
		struct checkpoint c2;

		assert_int_equal(log__find_checkpoint(ld, v, 300, &n2, &len, &c2), 0);
		assert_int_equal(verify(s, &c2, &res), 0);
		assert_int_equal(res.since_proof, 0);
		free(n2);
		free(ld);
	}

	/* a fork: the same key signs another history (a rewritten log) */
	old = copy_state(s);
	{
		char *p;
		struct ag_log *l;

		assert_true(asprintf(&p, "rm -f '%s'/log/*", old) > 0);
		assert_int_equal(system(p), 0);
		free(p);
		l = open_ok(old, NULL);
		append_n(l, 30);
		append_one(l, "process.exec", "\"msg\":\"something else\"");
		append_n(l, 100);
		assert_int_equal(log__commit(l), 0);
		log__close(l);
		p = path_of(old, "log");
		assert_int_equal(log__find_checkpoint(p, v, 131, &note, &len, &fork_cp), 0);
		free(note);
		free(p);
	}
	/* rolled back: a longer history, then cut */
	{
		char *big = copy_state(s), *p;
		struct ag_log *l = open_ok(big, NULL);

		append_n(l, 400);
		log__close(l);
		p = path_of(big, "log");
		assert_int_equal(log__find_checkpoint(p, v, 700, &note, &len, &big_cp), 0);
		free(p);
		spit(since_file, note, len);
		free(note);
		rm_rf(big);
		free(big);
	}
	expect_fail(s, &fork_cp, "trusted checkpoint: its root differs from the log's at "
		    "size 131 (the log was rewritten: it forks from the trusted checkpoint)");
	expect_fail(s, &big_cp, "trusted checkpoint: its size 700 is larger than the log "
		    "(300): the log was truncated or rolled back");
	RUN(&r, "verify", s, "--since", since_file);	/* a state dir is no LOGDIR */
	assert_int_equal(r.rc, 1);
	RUN(&r, "verify", "--state-dir", s, "--since", since_file);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "FAIL: trusted checkpoint: its size 700 is larger than "
			    "the log (300): the log was truncated or rolled back\n");
	/* the newest checkpoint removed: the trusted one (300) is now past
	 * the newest (250), though the entries are all there */
	{
		char *rb = copy_state(s), *p = path_of(rb, "log"), *n250, *all;
		struct checkpoint c250, c300;
		size_t l250, alen;

		assert_int_equal(log__find_checkpoint(p, v, 250, &n250, &l250, &c250), 0);
		assert_int_equal(log__find_checkpoint(p, v, 300, &note, &len, &c300), 0);
		all = slurp_rel(rb, "log/checkpoints", &alen);
		spit_rel(rb, "log/checkpoints", all, strstr(all, n250) - all + l250);
		spit_rel(rb, "log/checkpoint", n250, l250);
		expect_fail(rb, &c300, "trusted checkpoint: its size 300 is larger than the "
			    "newest checkpoint (250): the log was truncated or rolled back");
		free(all);
		free(n250);
		free(note);
		free(p);
		rm_rf(rb);
		free(rb);
	}
	/* a forged note (altered size) and another key are refused as input */
	{
		char *p = path_of(s, "log/checkpoint"), *d, want[512];
		size_t dl;

		d = slurp(p, &dl);
		*strstr(d, "\n300\n") = '\n';
		strstr(d, "\n300\n")[1] = '4';
		spit(since_file, d, dl);
		RUN(&r, "verify", "--state-dir", s, "--since", since_file);
		assert_int_equal(r.rc, 1);
		assert_string_equal(r.out, "");
		snprintf(want, sizeof(want), "agentguard: log verify: trusted checkpoint '%s': ",
			 since_file);
		assert_true(strncmp(r.err, want, strlen(want)) == 0);
		assert_non_null(strstr(r.err, "signature"));
		spit(since_file, "not a note\n", 11);
		RUN(&r, "verify", "--state-dir", s, "--since", since_file);
		assert_int_equal(r.rc, 1);
		assert_true(strncmp(r.err, want, strlen(want)) == 0);
		RUN(&r, "verify", "--state-dir", s, "--since", "/nonexistent/cp");
		assert_int_equal(r.rc, 1);
		assert_string_equal(r.err, "agentguard: log verify: trusted checkpoint "
				    "'/nonexistent/cp': cannot read it: No such file or directory\n");
		free(d);
		free(p);
	}
	{
		char *other = mkstate(), *p;
		struct ag_log *l = log__open(other, "otherhost", NULL);

		assert_non_null(l);
		append_n(l, 5);
		log__close(l);
		p = path_of(other, "log/checkpoint");
		RUN(&r, "verify", "--state-dir", s, "--since", p);
		assert_int_equal(r.rc, 1);
		assert_non_null(strstr(r.err, "trusted checkpoint '"));
		free(p);
		rm_rf(other);
		free(other);
	}
	note_verifier__free(v);
	free(vk);
	free(since_file);
	rm_rf(old);
	free(old);
	rm_rf(s);
	free(s);
}

/* ---- retention ---------------------------------------------------------- */

static long count_files(const char *dir)
{
	char **names;
	uint64_t *firsts;
	long n = log__entry_files(dir, &names, &firsts);

	for (long i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(firsts);
	return n;
}

/* What the daemon does: record, seal, remove. */
static void retain(struct ag_log *l, struct log_retention *plan)
{
	char extra[256];

	assert_int_equal(log__retention_plan(l, plan), 0);
	if (!plan->files)
		return;
	snprintf(extra, sizeof(extra), "\"retention\":{\"action\":\"%s\",\"files\":%" PRIu64
		 ",\"first_seq\":%" PRIu64 ",\"end_seq\":%" PRIu64 "}",
		 plan->archive ? "archive" : "delete", plan->files, plan->first_seq,
		 plan->end_seq);
	append_one(l, "log.retention", extra);
	assert_int_equal(log__commit(l), 0);
	assert_int_equal(log__retain(l, plan), 0);
}

static void test_retention(void **state)
{
	char *s = mkstate(), *ld = path_of(s, "log"), *arch = path_of(s, "archive");
	struct log_retention plan;
	struct log_verify_result res;
	struct ag_log *l = open_ok(s, NULL);
	struct run_out r = { 0 };
	uint64_t removed, first_removed;

	assert_int_equal(log__set_retention(l, 0, arch), -EINVAL);
	assert_int_equal(log__set_rotate_bytes(l, 4096), 0);
	assert_int_equal(log__set_retention(l, 3, NULL), 0);
	append_n(l, 500);	/* ~17 files */
	/* nothing sealed yet: nothing to remove */
	assert_int_equal(log__retention_plan(l, &plan), 0);
	assert_int_equal(plan.files, 0);
	assert_int_equal(log__commit(l), 0);
	assert_true(count_files(ld) > 10);
	retain(l, &plan);
	assert_true(plan.files > 5);
	assert_int_equal(plan.first_seq, 0);
	assert_false(plan.archive);
	assert_int_equal(count_files(ld), 3);
	removed = first_removed = plan.end_seq;
	/* more entries, more rotations, retention again (into an archive) */
	append_n(l, 300);
	assert_int_equal(log__commit(l), 0);
	assert_int_equal(log__set_retention(l, 2, arch), 0);
	retain(l, &plan);
	assert_true(plan.archive);
	assert_int_equal(plan.first_seq, removed);
	assert_int_equal(count_files(ld), 2);
	assert_true(count_files(arch) >= 5);
	removed = plan.end_seq;
	append_n(l, 3);
	log__close(l);

	/* what remains verifies; removed entries are counted as such */
	assert_int_equal(verify(s, NULL, &res), 0);
	assert_int_equal(res.removed, removed);
	assert_true(res.retention_entry >= removed);
	RUN(&r, "verify", ld);
	assert_int_equal(r.rc, 0);
	{
		char want[256];

		snprintf(want, sizeof(want), "\nremoved: entries 0..%" PRIu64 " were removed by "
			 "retention (log.retention entry %" PRIu64 "); their leaf hashes verify "
			 "against the checkpoints\n", removed - 1, res.retention_entry);
		assert_non_null(strstr(r.out, want));
	}
	/* reopening works on what remains; proofs of removed entries too */
	l = open_ok(s, NULL);
	append_n(l, 2);
	log__close(l);
	RUN(&r, "proof", "--index", "5", ld);
	assert_int_equal(r.rc, 0);
	assert_null(strstr(r.out, "\"entry\""));
	{
		char idx[32], want[64];

		snprintf(idx, sizeof(idx), "%" PRIu64, removed);
		snprintf(want, sizeof(want), "\"entry\":\"{\\\"seq\\\":%" PRIu64 ",", removed);
		RUN(&r, "proof", "--index", idx, ld);
		assert_int_equal(r.rc, 0);
		assert_non_null(strstr(r.out, want));
	}
	RUN(&r, "consistency", "--from", "3", ld);
	assert_int_equal(r.rc, 0);

	/* an entry file removed beyond what retention recorded: missing */
	{
		char **names;
		uint64_t *firsts;
		long n = log__entry_files(ld, &names, &firsts);
		char *p, want[256];

		assert_true(n >= 2);
		assert_true(asprintf(&p, "mv '%s/%s' '%s/'", ld, names[0], arch) > 0);
		assert_int_equal(system(p), 0);
		free(p);
		snprintf(want, sizeof(want), "entry %" PRIu64 ": missing: entries %" PRIu64
			 "..%" PRIu64 " were removed, but the log's retention records cover only "
			 "entries 0..%" PRIu64, removed, removed, firsts[1] - 1, removed - 1);
		expect_fail(s, NULL, want);
		for (long i = 0; i < n; i++)
			free(names[i]);
		free(names);
		free(firsts);
	}
	/* the archive restored into the log: all but the deleted files verify
	 * as entries again */
	{
		char *p;

		assert_true(asprintf(&p, "mv '%s'/entries-*.jsonl '%s/'", arch, ld) > 0);
		assert_int_equal(system(p), 0);
		free(p);
		assert_int_equal(verify(s, NULL, &res), 0);
		assert_int_equal(res.removed, first_removed);
	}
	free(ld);
	free(arch);
	rm_rf(s);
	free(s);
}

/* An unsealed log.retention entry (anyone can append one after the last
 * checkpoint) does not excuse removed entries. */
static void test_retention_unsealed_record(void **state)
{
	char *s = mkstate(), *ld = path_of(s, "log"), *p;
	struct ag_log *l = open_ok(s, NULL);
	struct log_verify_result res;

	assert_int_equal(log__set_rotate_bytes(l, 4096), 0);
	append_n(l, 100);
	assert_int_equal(log__commit(l), 0);
	append_one(l, "log.retention", "\"retention\":{\"action\":\"delete\",\"files\":1,"
		   "\"first_seq\":0,\"end_seq\":50}");
	assert_int_equal(log__flush(l), 0);
	/* the crash before the commit: no checkpoint covers the record */
	assert_true(asprintf(&p, "rm '%s/entries-000000000000.jsonl'", ld) > 0);
	assert_int_equal(system(p), 0);
	free(p);
	assert_int_equal(verify(s, NULL, &res), -EBADMSG);
	assert_non_null(strstr(res.error, "no sealed log.retention entry says so"));
	log__close(l);
	free(ld);
	rm_rf(s);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inclusion_brute),
		cmocka_unit_test(test_consistency_brute),
		cmocka_unit_test(test_node_store),
		cmocka_unit_test(test_cmd_proof),
		cmocka_unit_test(test_verify_since),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_retention_unsealed_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
