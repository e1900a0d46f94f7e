/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "merkle.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct merkle_hasher {
	EVP_MD *md;		/* fetched once: no per-hash provider lookup */
	EVP_MD_CTX *ctx;	/* reused for every hash */
};

struct merkle_hasher *merkle_hasher__new(void)
{
	struct merkle_hasher *h = calloc(1, sizeof(*h));

	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->ctx = EVP_MD_CTX_new();
	if (!h->md || !h->ctx) {
		int err = h->md ? ENOMEM : EIO;

		merkle_hasher__free(h);
		errno = err;
		return NULL;
	}
	return h;
}

void merkle_hasher__free(struct merkle_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h);
}

static int hash2(struct merkle_hasher *h, uint8_t prefix, const void *a,
		 size_t alen, const void *b, size_t blen,
		 uint8_t out[MERKLE_HASH_SIZE])
{
	unsigned int olen;

	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, &prefix, 1) != 1 ||
	    (alen && EVP_DigestUpdate(h->ctx, a, alen) != 1) ||
	    (blen && EVP_DigestUpdate(h->ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, &olen) != 1 ||
	    olen != MERKLE_HASH_SIZE)
		return -EIO;
	return 0;
}

int merkle__leaf_hash(struct merkle_hasher *h, const void *data, size_t len,
		      uint8_t out[MERKLE_HASH_SIZE])
{
	return hash2(h, 0x00, data, len, NULL, 0, out);
}

int merkle__node_hash(struct merkle_hasher *h, const uint8_t l[MERKLE_HASH_SIZE],
		      const uint8_t r[MERKLE_HASH_SIZE],
		      uint8_t out[MERKLE_HASH_SIZE])
{
	uint8_t buf[2 * MERKLE_HASH_SIZE];

	/* copy first: out may alias l or r */
	memcpy(buf, l, MERKLE_HASH_SIZE);
	memcpy(buf + MERKLE_HASH_SIZE, r, MERKLE_HASH_SIZE);
	return hash2(h, 0x01, buf, sizeof(buf), NULL, 0, out);
}

void merkle__empty_root(uint8_t out[MERKLE_HASH_SIZE])
{
	/* SHA-256 of the empty string (FIPS 180-2 known value) */
	static const uint8_t empty[MERKLE_HASH_SIZE] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
		0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
		0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
		0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
	};

	memcpy(out, empty, MERKLE_HASH_SIZE);
}

void merkle_tree__init(struct merkle_tree *t)
{
	t->size = 0;
	t->n = 0;
}

int merkle_tree__append_nodes(struct merkle_tree *t, struct merkle_hasher *h,
			      const uint8_t leaf[MERKLE_HASH_SIZE],
			      uint8_t nodes[][MERKLE_HASH_SIZE], int *nnodes)
{
	uint8_t cur[MERKLE_HASH_SIZE];
	uint64_t s = t->size;
	int n = t->n, k = 0, err;

	if (s == UINT64_MAX)
		return -EOVERFLOW;
	memcpy(cur, leaf, MERKLE_HASH_SIZE);
	/* each trailing 1 bit of the old size is a perfect subtree of the
	 * same height as cur: merge them, smallest first. t changes only
	 * once every hash succeeded. */
	while (s & 1) {
		err = merkle__node_hash(h, t->roots[--n], cur, cur);
		if (err)
			return err;
		if (nodes)
			memcpy(nodes[k], cur, MERKLE_HASH_SIZE);
		k++;
		s >>= 1;
	}
	memcpy(t->roots[n], cur, MERKLE_HASH_SIZE);
	t->n = n + 1;
	t->size++;
	if (nnodes)
		*nnodes = k;
	return 0;
}

int merkle_tree__append(struct merkle_tree *t, struct merkle_hasher *h,
			const uint8_t leaf[MERKLE_HASH_SIZE])
{
	return merkle_tree__append_nodes(t, h, leaf, NULL, NULL);
}

int merkle_tree__root(const struct merkle_tree *t, struct merkle_hasher *h,
		      uint8_t out[MERKLE_HASH_SIZE])
{
	uint8_t cur[MERKLE_HASH_SIZE];
	int err;

	if (t->n == 0) {
		merkle__empty_root(out);
		return 0;
	}
	memcpy(cur, t->roots[t->n - 1], MERKLE_HASH_SIZE);
	for (int i = t->n - 2; i >= 0; i--) {
		err = merkle__node_hash(h, t->roots[i], cur, cur);
		if (err)
			return err;
	}
	memcpy(out, cur, MERKLE_HASH_SIZE);
	return 0;
}

int merkle__root_of(struct merkle_hasher *h, const uint8_t *leaves, uint64_t n,
		    uint8_t out[MERKLE_HASH_SIZE])
{
	struct merkle_tree t;
	int err;

	merkle_tree__init(&t);
	for (uint64_t i = 0; i < n; i++) {
		err = merkle_tree__append(&t, h, leaves + i * MERKLE_HASH_SIZE);
		if (err)
			return err;
	}
	return merkle_tree__root(&t, h, out);
}

/* ---- proofs ------------------------------------------------------------ */

/* The largest power of two smaller than n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	return 1ULL << (63 - __builtin_clzll(n - 1));
}

int merkle__range_root(struct merkle_hasher *h, merkle_node_fn fn, void *ctx,
		       uint64_t lo, uint64_t hi, uint8_t out[MERKLE_HASH_SIZE])
{
	uint8_t parts[MERKLE_MAX_LEVELS][MERKLE_HASH_SIZE];
	uint64_t n, pos = lo;
	int np = 0, err;

	if (hi <= lo)
		return -EINVAL;
	n = hi - lo;
	/* lo must be a multiple of the smallest power of two >= n */
	if (n > 1 && (n - 1) >> 63 == 0 && lo % (split_point(n) << 1))
		return -EINVAL;
	if (n > 1 && (n - 1) >> 63 && lo)
		return -EINVAL;
	/* the perfect subtrees of [lo, hi), largest first */
	for (int b = 63; b >= 0; b--) {
		if (!(n >> b & 1))
			continue;
		err = fn(ctx, b, pos >> b, parts[np++]);
		if (err)
			return err;
		pos += 1ULL << b;
	}
	for (int i = np - 2; i >= 0; i--) {
		err = merkle__node_hash(h, parts[i], parts[np - 1], parts[np - 1]);
		if (err)
			return err;
	}
	memcpy(out, parts[np - 1], MERKLE_HASH_SIZE);
	return 0;
}

static void reverse(uint8_t path[][MERKLE_HASH_SIZE], size_t from, size_t to)
{
	uint8_t t[MERKLE_HASH_SIZE];

	while (from + 1 < to) {
		to--;
		memcpy(t, path[from], MERKLE_HASH_SIZE);
		memcpy(path[from], path[to], MERKLE_HASH_SIZE);
		memcpy(path[to], t, MERKLE_HASH_SIZE);
		from++;
	}
}

int merkle__inclusion_proof(struct merkle_hasher *h, merkle_node_fn fn,
			    void *ctx, uint64_t index, uint64_t size,
			    uint8_t path[][MERKLE_HASH_SIZE], size_t *n)
{
	uint64_t lo = 0, hi = size;
	size_t k = 0;
	int err;

	if (index >= size)
		return -EINVAL;
	/* walk down from the root; the sibling of each step, top first */
	while (hi - lo > 1) {
		uint64_t mid = lo + split_point(hi - lo);

		if (index < mid) {
			err = merkle__range_root(h, fn, ctx, mid, hi, path[k]);
			hi = mid;
		} else {
			err = merkle__range_root(h, fn, ctx, lo, mid, path[k]);
			lo = mid;
		}
		if (err)
			return err;
		k++;
	}
	reverse(path, 0, k);
	*n = k;
	return 0;
}

int merkle__consistency_proof(struct merkle_hasher *h, merkle_node_fn fn,
			      void *ctx, uint64_t m, uint64_t size,
			      uint8_t path[][MERKLE_HASH_SIZE], size_t *n)
{
	uint64_t lo = 0, hi = size;
	bool whole = true;	/* RFC 6962 SUBPROOF's b */
	size_t k = 1;		/* path[0] is kept for the common subtree */
	int err;

	if (m == 0 || m > size)
		return -EINVAL;
	while (m != hi) {
		uint64_t mid = lo + split_point(hi - lo);

		if (m <= mid) {
			err = merkle__range_root(h, fn, ctx, mid, hi, path[k]);
			hi = mid;
		} else {
			err = merkle__range_root(h, fn, ctx, lo, mid, path[k]);
			lo = mid;
			whole = false;
		}
		if (err)
			return err;
		k++;
	}
	reverse(path, 1, k);
	if (whole) {
		/* the old tree is a subtree of the new one: the verifier knows it */
		memmove(path[0], path[1], (k - 1) * MERKLE_HASH_SIZE);
		k--;
	} else {
		err = merkle__range_root(h, fn, ctx, lo, hi, path[0]);
		if (err)
			return err;
	}
	*n = k;
	return 0;
}

int merkle__check_inclusion(struct merkle_hasher *h, uint64_t index,
			    uint64_t size, const uint8_t leaf[MERKLE_HASH_SIZE],
			    const uint8_t path[][MERKLE_HASH_SIZE], size_t n,
			    const uint8_t root[MERKLE_HASH_SIZE])
{
	uint8_t r[MERKLE_HASH_SIZE];
	uint64_t fn = index, sn;
	int err;

	if (index >= size || n > MERKLE_PROOF_MAX)
		return -EBADMSG;
	sn = size - 1;
	memcpy(r, leaf, MERKLE_HASH_SIZE);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) || fn == sn) {
			err = merkle__node_hash(h, path[i], r, r);
			if (!(fn & 1))
				while (!(fn & 1) && fn) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			err = merkle__node_hash(h, r, path[i], r);
		}
		if (err)
			return err;
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(r, root, MERKLE_HASH_SIZE))
		return -EBADMSG;
	return 0;
}

int merkle__check_consistency(struct merkle_hasher *h, uint64_t m,
			      uint64_t size, const uint8_t old_root[MERKLE_HASH_SIZE],
			      const uint8_t new_root[MERKLE_HASH_SIZE],
			      const uint8_t path[][MERKLE_HASH_SIZE], size_t n)
{
	uint8_t fr[MERKLE_HASH_SIZE], sr[MERKLE_HASH_SIZE];
	uint64_t fn, sn;
	size_t i = 0;
	int err = 0;

	if (m == 0 || m > size || n > MERKLE_PROOF_MAX)
		return -EBADMSG;
	if (m == size)
		return n == 0 && !memcmp(old_root, new_root, MERKLE_HASH_SIZE) ?
		       0 : -EBADMSG;
	if (n == 0)
		return -EBADMSG;
	/* a power of two m: the old root is the first node of the path */
	if (!(m & (m - 1))) {
		memcpy(fr, old_root, MERKLE_HASH_SIZE);
	} else {
		memcpy(fr, path[0], MERKLE_HASH_SIZE);
		i = 1;
	}
	memcpy(sr, fr, MERKLE_HASH_SIZE);
	fn = m - 1;
	sn = size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < n; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) || fn == sn) {
			err = merkle__node_hash(h, path[i], fr, fr);
			if (!err)
				err = merkle__node_hash(h, path[i], sr, sr);
			if (!(fn & 1))
				while (!(fn & 1) && fn) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			err = merkle__node_hash(h, sr, path[i], sr);
		}
		if (err)
			return err;
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(fr, old_root, MERKLE_HASH_SIZE) ||
	    memcmp(sr, new_root, MERKLE_HASH_SIZE))
		return -EBADMSG;
	return 0;
}
