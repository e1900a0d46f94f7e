/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "merkle.h"

#include <errno.h>
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

int merkle_tree__append(struct merkle_tree *t, struct merkle_hasher *h,
			const uint8_t leaf[MERKLE_HASH_SIZE])
{
	uint8_t cur[MERKLE_HASH_SIZE];
	uint64_t s = t->size;
	int n = t->n, err;

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
		s >>= 1;
	}
	memcpy(t->roots[n], cur, MERKLE_HASH_SIZE);
	t->n = n + 1;
	t->size++;
	return 0;
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
