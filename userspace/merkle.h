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

/* merkle_tree__append_nodes: merkle_tree__append(), and the perfect
 * subtrees the new leaf completes: nodes[k] (caller's array of
 * MERKLE_MAX_LEVELS hashes) becomes the hash of the node of height k + 1
 * whose last leaf is the new one, for k < *nnodes (the number of trailing
 * zero bits of the new size). Costs no hash more than the append. Returns
 * as merkle_tree__append(). */
int merkle_tree__append_nodes(struct merkle_tree *t, struct merkle_hasher *h,
			      const uint8_t leaf[MERKLE_HASH_SIZE],
			      uint8_t nodes[][MERKLE_HASH_SIZE], int *nnodes);

/*
 * Proofs (RFC 6962 section 2.1.1 and 2.1.2; RFC 9162 section 2.1.3 and
 * 2.1.4). Hashes are in the order of the RFCs (and of Go's sumdb/tlog
 * RecordProof and TreeProof): from the leaf (or the old tree) up to the
 * root. A proof has at most MERKLE_PROOF_MAX hashes.
 *
 * Proof generation reads the tree through a merkle_node_fn: fn(ctx, level,
 * index, out) sets out to the hash of the perfect subtree of height level
 * over leaves [index << level, (index + 1) << level) (level 0: the leaf
 * hash), and returns 0 or -errno. Only nodes inside the tree are asked for.
 */
#define MERKLE_PROOF_MAX	(2 * MERKLE_MAX_LEVELS)

typedef int (*merkle_node_fn)(void *ctx, unsigned level, uint64_t index,
			      uint8_t out[MERKLE_HASH_SIZE]);

/* merkle__range_root: out = MTH of leaves [lo, hi) as the RFC 6962 tree
 * has it (lo a multiple of the power of two that is >= hi - lo, as for
 * every subtree of a tree starting at 0; [0, size) is the tree's root).
 * O(log(hi - lo)) calls of fn. Returns 0, -EINVAL for a range that is not
 * such a subtree (or empty), or fn's error. */
int merkle__range_root(struct merkle_hasher *h, merkle_node_fn fn, void *ctx,
		       uint64_t lo, uint64_t hi, uint8_t out[MERKLE_HASH_SIZE]);

/* merkle__inclusion_proof: the audit path of leaf index in the tree of
 * size leaves into path (MERKLE_PROOF_MAX hashes), its length in *n.
 * Returns 0, -EINVAL unless index < size, or fn's error. */
int merkle__inclusion_proof(struct merkle_hasher *h, merkle_node_fn fn,
			    void *ctx, uint64_t index, uint64_t size,
			    uint8_t path[][MERKLE_HASH_SIZE], size_t *n);

/* merkle__consistency_proof: the consistency proof from the tree of size
 * m to the tree of size size into path (MERKLE_PROOF_MAX hashes), its
 * length in *n (0 when m == size). Returns 0, -EINVAL unless
 * 1 <= m <= size, or fn's error. */
int merkle__consistency_proof(struct merkle_hasher *h, merkle_node_fn fn,
			      void *ctx, uint64_t m, uint64_t size,
			      uint8_t path[][MERKLE_HASH_SIZE], size_t *n);

/* merkle__check_inclusion: whether path (n hashes) proves that leaf (a
 * leaf hash) is leaf index of the tree of size size with root root
 * (RFC 9162 section 2.1.3.2). Returns 0, -EBADMSG if it does not (or
 * index >= size), -EIO. */
int merkle__check_inclusion(struct merkle_hasher *h, uint64_t index,
			    uint64_t size, const uint8_t leaf[MERKLE_HASH_SIZE],
			    const uint8_t path[][MERKLE_HASH_SIZE], size_t n,
			    const uint8_t root[MERKLE_HASH_SIZE]);

/* merkle__check_consistency: whether path (n hashes) proves that the tree
 * of size m with root old_root is a prefix of the tree of size size with
 * root new_root (RFC 9162 section 2.1.4.2; m == size needs an empty path
 * and equal roots). Returns 0, -EBADMSG if it does not (or m is 0 or
 * larger than size), -EIO. */
int merkle__check_consistency(struct merkle_hasher *h, uint64_t m,
			      uint64_t size, const uint8_t old_root[MERKLE_HASH_SIZE],
			      const uint8_t new_root[MERKLE_HASH_SIZE],
			      const uint8_t path[][MERKLE_HASH_SIZE], size_t n);

#endif
