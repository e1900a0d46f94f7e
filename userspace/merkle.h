/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * merkle.h: RFC 6962 / RFC 9162 Merkle tree hashing.
 *
 *   leaf hash = SHA-256(0x00 || entry)
 *   node hash = SHA-256(0x01 || left || right)
 *   root of the empty tree = SHA-256("")
 *
 * The tree over leaves 0..N-1 splits at the largest power of two smaller
 * than N. A "compact range" keeps the roots of the perfect subtrees that
 * make up 0..N-1 (one per set bit of N, largest first), so appending a leaf
 * costs O(1) amortised node hashes and the root costs O(log N).
 *
 * A struct merkle_hasher reuses one OpenSSL digest context: hashing through
 * it is about twice as fast as a one-shot EVP_Digest(). It is not thread
 * safe; use one per thread.
 */
#ifndef AG_MERKLE_H
#define AG_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_SIZE 32
/* A compact range of a tree of up to 2^64 - 1 leaves has at most 64 roots. */
#define MERKLE_MAX_LEVELS 64

struct merkle_hasher;

struct merkle_tree {
	uint64_t size;				/* number of leaves */
	int n;					/* number of subtree roots */
	uint8_t roots[MERKLE_MAX_LEVELS][MERKLE_HASH_SIZE];
};

/* merkle_hasher__new: a hasher. Returns NULL with errno ENOMEM (or EIO when
 * OpenSSL has no SHA-256) on failure. Free with merkle_hasher__free(). */
struct merkle_hasher *merkle_hasher__new(void);

/* merkle_hasher__free: frees h; NULL is a no-op. */
void merkle_hasher__free(struct merkle_hasher *h);

/* merkle__leaf_hash: out = SHA-256(0x00 || data[0..len)). Returns 0, or -EIO
 * if OpenSSL fails. */
int merkle__leaf_hash(struct merkle_hasher *h, const void *data, size_t len,
		      uint8_t out[MERKLE_HASH_SIZE]);

/* merkle__node_hash: out = SHA-256(0x01 || l || r); out may alias l or r.
 * Returns 0, or -EIO if OpenSSL fails. */
int merkle__node_hash(struct merkle_hasher *h, const uint8_t l[MERKLE_HASH_SIZE],
		      const uint8_t r[MERKLE_HASH_SIZE],
		      uint8_t out[MERKLE_HASH_SIZE]);

/* merkle__empty_root: out = SHA-256(""), the root of the empty tree. */
void merkle__empty_root(uint8_t out[MERKLE_HASH_SIZE]);

/* merkle_tree__init: t becomes the empty tree. */
void merkle_tree__init(struct merkle_tree *t);

/* merkle_tree__append: appends the leaf whose leaf hash is leaf. Returns 0,
 * -EOVERFLOW if the tree already has 2^64 - 1 leaves, or -EIO. */
int merkle_tree__append(struct merkle_tree *t, struct merkle_hasher *h,
			const uint8_t leaf[MERKLE_HASH_SIZE]);

/* merkle_tree__root: out = root of the tree over t's t->size leaves.
 * Returns 0 or -EIO. */
int merkle_tree__root(const struct merkle_tree *t, struct merkle_hasher *h,
		      uint8_t out[MERKLE_HASH_SIZE]);

/* merkle__root_of: out = root of the tree over the first n leaf hashes of
 * leaves (n * MERKLE_HASH_SIZE bytes), in O(n) hashes. Returns 0 or -EIO. */
int merkle__root_of(struct merkle_hasher *h, const uint8_t *leaves, uint64_t n,
		    uint8_t out[MERKLE_HASH_SIZE]);

#endif
