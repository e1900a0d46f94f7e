/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_merkle: RFC 6962 hashing against the Certificate Transparency
 * known-answer vectors and against an independent recursive implementation
 * (OpenSSL one-shot SHA256(), split at the largest power of two < n).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "merkle.h"

static void unhex(const char *s, uint8_t *out, size_t *len)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = v;
	}
	*len = n;
}

static void assert_hash_hex(const uint8_t h[32], const char *want)
{
	char got[65];

	for (int i = 0; i < 32; i++)
		sprintf(got + 2 * i, "%02x", h[i]);
	assert_string_equal(got, want);
}

/* The RFC 6962 test data used by Certificate Transparency implementations:
 * eight leaves and the root of every prefix. */
static const char *ct_leaves[] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};
static const char *ct_roots[] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void test_ct_vectors(void **state)
{
	struct merkle_hasher *h = merkle_hasher__new();
	uint8_t leaves[8][32], root[32], buf[64];
	struct merkle_tree t;
	size_t len;

	assert_non_null(h);
	merkle_tree__init(&t);
	assert_int_equal(merkle_tree__root(&t, h, root), 0);
	assert_hash_hex(root, ct_roots[0]);
	merkle__empty_root(root);
	assert_hash_hex(root, ct_roots[0]);
	for (int i = 0; i < 8; i++) {
		unhex(ct_leaves[i], buf, &len);
		assert_int_equal(merkle__leaf_hash(h, buf, len, leaves[i]), 0);
		assert_int_equal(merkle_tree__append(&t, h, leaves[i]), 0);
		assert_int_equal(t.size, (uint64_t)i + 1);
		assert_int_equal(merkle_tree__root(&t, h, root), 0);
		assert_hash_hex(root, ct_roots[i + 1]);
	}
	for (int n = 0; n <= 8; n++) {
		assert_int_equal(merkle__root_of(h, &leaves[0][0], n, root), 0);
		assert_hash_hex(root, ct_roots[n]);
	}
	/* the leaf of the empty entry is the root of size 1 */
	assert_hash_hex(leaves[0], ct_roots[1]);
	/* the root of size 2 is node(leaf0, leaf1), also when out aliases */
	memcpy(root, leaves[0], 32);
	assert_int_equal(merkle__node_hash(h, root, leaves[1], root), 0);
	assert_hash_hex(root, ct_roots[2]);
	memcpy(root, leaves[1], 32);
	assert_int_equal(merkle__node_hash(h, leaves[0], root, root), 0);
	assert_hash_hex(root, ct_roots[2]);
	merkle_hasher__free(h);
}

/* Independent reference: RFC 6962 section 2.1, recursively, with one-shot
 * EVP_Digest() and a different buffer layout. */
static void ref_sha(const uint8_t *p, size_t n, uint8_t out[32])
{
	unsigned int olen;

	assert_int_equal(EVP_Digest(p, n, out, &olen, EVP_sha256(), NULL), 1);
}

static void ref_mth(uint8_t **entries, size_t *lens, size_t n, uint8_t out[32])
{
	uint8_t buf[65];

	if (n == 0) {
		ref_sha(NULL, 0, out);
		return;
	}
	if (n == 1) {
		uint8_t *b = malloc(lens[0] + 1);

		b[0] = 0;
		memcpy(b + 1, entries[0], lens[0]);
		ref_sha(b, lens[0] + 1, out);
		free(b);
		return;
	}
	size_t k = 1;

	while (k * 2 < n)
		k *= 2;
	buf[0] = 1;
	ref_mth(entries, lens, k, buf + 1);
	ref_mth(entries + k, lens + k, n - k, buf + 33);
	ref_sha(buf, sizeof(buf), out);
}

static void test_against_reference(void **state)
{
	enum { N = 300 };
	struct merkle_hasher *h = merkle_hasher__new();
	uint8_t *entries[N], (*leaves)[32] = malloc(N * 32);
	size_t lens[N];
	uint8_t want[32], got[32], got2[32];
	struct merkle_tree t;

	assert_non_null(h);
	srand(1234);
	merkle_tree__init(&t);
	for (int i = 0; i < N; i++) {
		lens[i] = rand() % 70;
		entries[i] = malloc(lens[i] + 1);
		for (size_t j = 0; j < lens[i]; j++)
			entries[i][j] = rand();
		assert_int_equal(merkle__leaf_hash(h, entries[i], lens[i],
						   leaves[i]), 0);
	}
	for (int n = 0; n <= N; n++) {
		ref_mth(entries, lens, n, want);
		assert_int_equal(merkle_tree__root(&t, h, got), 0);
		assert_memory_equal(got, want, 32);
		assert_int_equal(merkle__root_of(h, leaves[0], n, got2), 0);
		assert_memory_equal(got2, want, 32);
		/* the compact range has one root per set bit of the size */
		assert_int_equal(t.n, __builtin_popcountll(t.size));
		if (n < N)
			assert_int_equal(merkle_tree__append(&t, h, leaves[n]), 0);
	}
	/* one changed byte anywhere changes the root */
	entries[137][0] ^= 1;
	if (lens[137] == 0)
		lens[137] = 1;
	ref_mth(entries, lens, N, want);
	assert_memory_not_equal(got, want, 32);
	for (int i = 0; i < N; i++)
		free(entries[i]);
	free(leaves);
	merkle_hasher__free(h);
}

static void test_overflow(void **state)
{
	struct merkle_hasher *h = merkle_hasher__new();
	struct merkle_tree t;
	uint8_t leaf[32] = { 0 };

	merkle_tree__init(&t);
	t.size = UINT64_MAX;
	t.n = 64;
	assert_int_equal(merkle_tree__append(&t, h, leaf), -EOVERFLOW);
	merkle_hasher__free(h);
	merkle_hasher__free(NULL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Speed of leaf hash + append for 300-byte entries; printed for the record,
 * asserted only loosely so a slow CI machine does not fail. */
static void test_speed(void **state)
{
	enum { N = 200000 };
	struct merkle_hasher *h = merkle_hasher__new();
	struct merkle_tree t;
	uint8_t entry[300], leaf[32], root[32];
	double t0, dt;

	memset(entry, 'x', sizeof(entry));
	merkle_tree__init(&t);
	t0 = now();
	for (int i = 0; i < N; i++) {
		memcpy(entry, &i, sizeof(i));
		assert_int_equal(merkle__leaf_hash(h, entry, sizeof(entry), leaf), 0);
		assert_int_equal(merkle_tree__append(&t, h, leaf), 0);
	}
	assert_int_equal(merkle_tree__root(&t, h, root), 0);
	dt = now() - t0;
	printf("# merkle: %.0f leaves/s (300-byte entries, leaf hash + append)\n",
	       N / dt);
	assert_true(N / dt > 100000);
	merkle_hasher__free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ct_vectors),
		cmocka_unit_test(test_against_reference),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
