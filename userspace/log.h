/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * log.h: the tamper-evident signed event log (DESIGN.md section 6).
 *
 * Layout under <state-dir>:
 *   keys/log.key                  Ed25519 private key, mode 0600
 *   keys/log.vkey                 verifier key, mode 0644
 *   log/entries-<seq %012>.jsonl  entries, one JSON object per line; the
 *                                 name carries the seq of its first line
 *   log/leaves                    32-byte RFC 6962 leaf hash per entry
 *   log/nodes-<LL>                32-byte hash of each perfect subtree of
 *                                 height LL (4, 8, 12, ...): for proofs
 *   log/checkpoints               every signed checkpoint, one after another
 *   log/checkpoint                the newest one (atomically replaced)
 *
 * The writer is single-threaded: one struct ag_log is used by one thread.
 * Entries are buffered and written in large writes; log__commit() makes them
 * durable and seals them under a new signed checkpoint. See docs/log.md.
 */
#ifndef AG_LOG_H
#define AG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOG_ENTRY_MAX		(64 * 1024)	/* bytes of one entry */
#define LOG_ROTATE_DEFAULT	(64ULL << 20)	/* bytes of one entries file */
#define LOG_ROTATE_MIN		4096
#define LOG_HASH_SIZE		32
#define LOG_MSG_MAX		512
/* The node store keeps the hash of every perfect subtree whose height is a
 * multiple of LOG_NODE_STRIDE, one file per height (nodes-04, nodes-08,
 * ...), so that any subtree hash costs at most 2^(LOG_NODE_STRIDE - 1)
 * reads and hashes: see docs/log.md, "Proofs". */
#define LOG_NODE_STRIDE		4
#define LOG_NODE_FILES		(64 / LOG_NODE_STRIDE - 1)

struct ag_log;

/* What log__open() found and repaired. */
struct log_open_info {
	uint64_t entries;		/* entries in the log (= next seq) */
	uint64_t checkpoint_size;	/* size of the newest checkpoint */
	uint64_t unsealed;		/* entries after it that were kept */
	bool created;			/* a new log and key were created */
	uint64_t dropped_bytes;		/* torn tail cut from the entries */
	uint64_t dropped_lines;		/* lines in it (a partial one counts) */
	uint64_t leaves_repaired;	/* leaf records rewritten or added */
	uint64_t leaves_dropped;	/* leaf records past the entries removed */
	uint64_t checkpoints_dropped_bytes; /* torn note cut from 'checkpoints' */
	bool checkpoint_restored;	/* 'checkpoint' rewritten from 'checkpoints' */
	uint64_t nodes_repaired;	/* node store records recomputed (a crash,
					 * or a log written before it existed) */
	char origin[256];		/* the log's origin / key name */
	char error[LOG_MSG_MAX];	/* on failure: what failed and why */
};

/* log__open: opens (creating as needed) the log under state_dir: the
 * directories, the key pair (origin "agentguard/<hostname>" for a new key;
 * an existing key keeps its name), and recovers from a crash: a torn or
 * invalid tail after the newest checkpoint is truncated, the leaves store
 * is repaired from the entries, a torn note is cut from 'checkpoints' and
 * 'checkpoint' is restored. info (optional) reports what was found and
 * done. Returns NULL with errno set on failure (info->error says what):
 * EUCLEAN if the sealed part of the log contradicts its newest checkpoint
 * (entries missing or changed: recovery would destroy evidence, so the log
 * must be moved aside and verified), EPERM for a key file others may read,
 * EINVAL for a bad hostname, or the errno of a failed system call. */
struct ag_log *log__open(const char *state_dir, const char *hostname,
			 struct log_open_info *info);

/* log__set_rotate_bytes: start a new entries file before an entry would
 * make the current one larger than bytes (>= LOG_ROTATE_MIN). Returns 0 or
 * -EINVAL. */
int log__set_rotate_bytes(struct ag_log *log, uint64_t bytes);

/* log__size: the number of entries, i.e. the seq of the next entry. */
uint64_t log__size(const struct ag_log *log);

/* log__checkpoint_size: the size of the newest checkpoint. */
uint64_t log__checkpoint_size(const struct ag_log *log);

/* log__origin: the log's origin (key name), owned by log. */
const char *log__origin(const struct ag_log *log);

/* log__append: appends entry[0..len), one JSON object without newline that
 * begins with {"seq":<log__size()>, and is at most LOG_ENTRY_MAX bytes.
 * Buffered: written when the buffer is large, durable at log__commit().
 * Returns 0; -EINVAL for a wrong seq prefix, an embedded newline or NUL,
 * or a size over the limit (the entry is not taken); or the -errno of a
 * failed write of earlier entries (the entry is not taken, nothing is
 * lost: the next commit retries). The JSON itself is not validated here
 * (the daemon writes it with jsonw). */
int log__append(struct ag_log *log, const char *entry, size_t len);

/* log__flush: write()s buffered entries and leaf hashes now, without
 * fsync and without a checkpoint (they are then visible to readers such as
 * `agentguard events --follow`, but not yet sealed). Returns 0 or -errno. */
int log__flush(struct ag_log *log);

/* log__commit: writes buffered entries and leaf hashes, fdatasyncs them,
 * and if the log grew since the last checkpoint (or has none) signs a new
 * checkpoint: appended to 'checkpoints' (fdatasync) and atomically replacing
 * 'checkpoint'. Returns 0 or -errno; after an error the state is intact and
 * the next commit retries. */
int log__commit(struct ag_log *log);

/* log__root: root hash of the tree over all appended entries. Returns 0 or
 * -EIO. */
int log__root(struct ag_log *log, uint8_t root[LOG_HASH_SIZE]);

/* log__close: commits (errors ignored: call log__commit() first to see
 * them) and frees log; NULL is a no-op. */
void log__close(struct ag_log *log);

/* log__set_retention: keep at most keep_files entry files (0: all; the
 * current file always stays); older ones are deleted, or moved into
 * archive_dir (created 0750 if missing; NULL: delete) by log__retain().
 * Returns 0, -EINVAL if archive_dir is given without a limit, or -errno
 * if archive_dir cannot be opened or created. */
int log__set_retention(struct ag_log *log, uint64_t keep_files,
		       const char *archive_dir);

/* What retention removes: the entry files holding entries
 * [first_seq, end_seq), every one of them sealed. */
struct log_retention {
	uint64_t files;			/* 0: nothing to do */
	uint64_t first_seq, end_seq;
	bool archive;			/* moved to the archive, not deleted */
};

/* log__retention_plan: the oldest entry files beyond the limit whose
 * entries are all sealed by a checkpoint (plan->files 0 when there are
 * none). Cheap when nothing is due. The caller records the plan in the
 * log (a "log.retention" entry carrying end_seq), commits, and only then
 * calls log__retain(): `log verify` accepts entries removed from the start
 * of the log only when a sealed log.retention entry covers them. Returns
 * 0 or -errno. */
int log__retention_plan(struct ag_log *log, struct log_retention *plan);

/* log__retain: deletes (or archives) the entry files of plan, from the
 * oldest; the leaves and node stores keep their hashes, so the rest of
 * the log still verifies against every checkpoint. Moving to an archive
 * on another file system copies and fsyncs before deleting. Returns 0 or
 * -errno (files already handled stay handled; the next plan retries). */
int log__retain(struct ag_log *log, const struct log_retention *plan);

struct log_verify_result {
	uint64_t entries;		/* complete entry lines */
	uint64_t checkpoints;		/* notes in 'checkpoints' */
	bool have_checkpoint;		/* at least one checkpoint */
	uint64_t newest_size;		/* newest checkpoint (0 if none) */
	uint8_t newest_root[LOG_HASH_SIZE]; /* its root (empty tree if none) */
	uint64_t unsealed;		/* entries - newest_size */
	uint64_t torn_bytes;		/* bytes of a final line without newline */
	uint64_t torn_note_bytes;	/* bytes of a final note in 'checkpoints'
					 * without a complete signature line */
	uint64_t removed;		/* entries 0..removed-1 were removed by
					 * retention: only their leaf hashes
					 * were verified */
	uint64_t retention_entry;	/* the log.retention entry covering them */
	uint64_t since_size;		/* the trusted checkpoint's size, and the */
	size_t since_proof;		/* hashes of the consistency proof from it */
	char error[LOG_MSG_MAX];	/* "entry <i>: <reason>",
					 * "checkpoint <k>: <reason>",
					 * "nodes-<LL>: <reason>" or
					 * "trusted checkpoint: <reason>" */
};

/* log__verify: verifies the log in logdir against the verifier key text:
 * every entry line is valid JSON beginning with {"seq":<its index>, across
 * the entry files in order; every leaf hash equals the leaves store; every
 * note in 'checkpoints' (and 'checkpoint') is signed by the key, has the
 * key's origin, sizes never decrease, no size exceeds the entries, and each
 * root equals the root recomputed over the entries at that size. A final
 * line without newline (an interrupted write) is not an entry: it is
 * counted in torn_bytes; likewise a final note in 'checkpoints' without a
 * complete signature line is not a checkpoint (torn_note_bytes). Safe to
 * run while the daemon writes the log. Returns 0 if the log verifies; -EBADMSG if it does
 * not (res->error names the first failing entry or checkpoint); -EINVAL
 * for a bad verifier key, or -errno if the log cannot be read (res->error
 * says what failed). */
int log__verify(const char *logdir, const char *vkey_text,
		struct log_verify_result *res);

/* log__verify_since: log__verify(), and then that the log grew from the
 * trusted checkpoint since (already checked to be signed by the log's key,
 * e.g. with checkpoint__open()) by appending only: its size is at most the
 * newest checkpoint's, its root equals the root recomputed from the
 * entries at its size, and an RFC 6962 consistency proof from it to the
 * newest checkpoint, read from the leaves and node stores, checks. Returns
 * as log__verify() (-EBADMSG with res->error "trusted checkpoint: ..."). */
struct checkpoint;
int log__verify_since(const char *logdir, const char *vkey_text,
		      const struct checkpoint *since,
		      struct log_verify_result *res);

/*
 * Proofs. A struct log_tree reads the Merkle tree of a log directory from
 * its leaves and node stores (no entry is read, no lock taken: safe while
 * the daemon writes, and after retention removed entry files). It sees
 * the leaves present when it was opened; read the checkpoint to prove
 * against before opening it. Any subtree hash costs at most
 * 2^(LOG_NODE_STRIDE - 1) records read and hashed when the node store is
 * complete; where it is not, it falls back to lower levels, down to the
 * leaves.
 */
#define LOG_TREE_NO_NODES	0x1	/* read the leaves store only */

struct log_tree;

/* log_tree__open: the tree of logdir. flags: 0 or LOG_TREE_NO_NODES.
 * Returns NULL with errno set (ENOENT: no leaves store). Free with
 * log_tree__free(). */
struct log_tree *log_tree__open(const char *logdir, unsigned flags);

/* log_tree__free: frees t; NULL is a no-op. */
void log_tree__free(struct log_tree *t);

/* log_tree__size: the number of leaf hashes it holds. */
uint64_t log_tree__size(const struct log_tree *t);

/* log_tree__leaf: out = the leaf hash of entry index. Returns 0, -ERANGE
 * past the leaves, or -errno. */
int log_tree__leaf(struct log_tree *t, uint64_t index, uint8_t out[LOG_HASH_SIZE]);

/* log_tree__root: out = the root of the tree of the first size leaves.
 * Returns 0, -ERANGE if size is 0 or past the leaves, or -errno. */
int log_tree__root(struct log_tree *t, uint64_t size, uint8_t out[LOG_HASH_SIZE]);

/* log_tree__inclusion: the RFC 6962 audit path of entry index in the tree
 * of size size (path: MERKLE_PROOF_MAX hashes; length in *n). Returns 0,
 * -EINVAL unless index < size, -ERANGE if size is past the leaves, or
 * -errno. */
int log_tree__inclusion(struct log_tree *t, uint64_t index, uint64_t size,
			uint8_t path[][LOG_HASH_SIZE], size_t *n);

/* log_tree__consistency: the RFC 6962 consistency proof from the tree of
 * size m to the tree of size size. Returns 0, -EINVAL unless
 * 1 <= m <= size, -ERANGE if size is past the leaves, or -errno. */
int log_tree__consistency(struct log_tree *t, uint64_t m, uint64_t size,
			  uint8_t path[][LOG_HASH_SIZE], size_t *n);

/* log__find_checkpoint: the first note in logdir's 'checkpoints' whose
 * size is size and that v verifies (a struct note_verifier): its text,
 * malloc'd, in *note (owned by the caller) and *len, parsed in cp.
 * Returns 0, -ENOENT if there is none of that size, or -errno. */
struct note_verifier;
int log__find_checkpoint(const char *logdir, const struct note_verifier *v,
			 uint64_t size, char **note, size_t *len,
			 struct checkpoint *cp);

/* log__entry: the entry line index (without newline), malloc'd into *line
 * (owned by the caller), from the entry files of logdir. Returns 0,
 * -ENOENT if no entry file holds it (removed by retention, or past the
 * end), -EBADMSG if the file that should hold it does not, or -errno. */
int log__entry(const char *logdir, uint64_t index, char **line, size_t *len);

/* log__entry_files: the entry files of logdir sorted by first seq, as a
 * malloc'd array of malloc'd names in *names (free each, then the array)
 * and their first seqs in *firsts (malloc'd). Returns the count, or
 * -errno. Used by `events` to follow the log. */
long log__entry_files(const char *logdir, char ***names, uint64_t **firsts);

#endif
