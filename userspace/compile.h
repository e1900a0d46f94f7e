/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * compile.h: a parsed manifest compiled into the map contents of
 * bpf/agentguard.h. Pure: no system calls, unit-testable.
 */
#ifndef AG_COMPILE_H
#define AG_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include "agentguard.h"
#include "diag.h"

struct manifest;

/* One entry of the `net_rules` trie, before a policy id is assigned. */
struct compiled_net_entry {
	__u8 kind;		/* AG_NET_ALLOW or AG_NET_DENY */
	__u8 addr_bits;		/* 0..128, of the IPv6 / IPv4-mapped address */
	__u8 addr[16];
	struct ag_net_val val;
};

/* Path entries of one policy at most (rules plus the ancestor markers of
 * bpf/agentguard.h); more is a compile error. */
#define COMPILE_MAX_PATH_ENTRIES AG_DEFAULT_MAX_PATH_RULES

/* One entry of the `path_rules` trie, before a policy id is assigned. */
struct compiled_path_entry {
	__u8 kind;		/* AG_PATH_FILES or AG_PATH_EXEC */
	__u8 own;		/* AG_ACC_* of the rules whose pattern is this entry */
	__u16 len;		/* pattern bytes: "dir/" without NUL, exact with its NUL */
	char path[AG_PATH_KEY_LEN];	/* the pattern, zero-padded */
	struct ag_path_val val;	/* union over every rule whose pattern is a prefix */
};

struct compiled_policy {
	struct ag_policy policy;	/* mode, sections, bind ranges */
	struct compiled_net_entry *net;	/* owned, sorted by (kind, addr, bits) */
	size_t nnet;
	struct compiled_path_entry *paths; /* owned, sorted by (kind, bytes) */
	size_t npaths;
};

/* compile__policy: compile m into out (zeroed first). Returns 0, or -EINVAL
 * with a diagnostic naming the manifest position (e.g. a prefix to which more
 * than AG_NET_MAX_RANGES port ranges apply), or -ENOMEM. On error out holds
 * nothing to free. */
int compile__policy(const struct manifest *m, struct compiled_policy *out,
		    struct diag_list *dl);

/* compiled_policy__free: frees out->net and out->paths; out can be reused. */
void compiled_policy__free(struct compiled_policy *out);

/* compile__net_key: the `net_rules` key of e under policy id `policy`. */
void compile__net_key(const struct compiled_net_entry *e, __u32 policy,
		      struct ag_net_key *key);

/* compile__path_key: the `path_rules` key of e under policy id `policy`. */
void compile__path_key(const struct compiled_path_entry *e, __u32 policy,
		       struct ag_path_key *key);

/* compile__deny_path: if e is the pattern of a files.deny rule, write the
 * path the loader must stat() for `deny_inodes` into buf (the pattern
 * without its NUL, or a tree without its final '/', "/" staying "/"), set
 * *tree and *rule, and return 1; return 0 for any other entry. buf must hold
 * AG_PATH_KEY_LEN bytes. */
int compile__deny_path(const struct compiled_path_entry *e, char *buf, bool *tree,
		       __u16 *rule);

/* compile__prefix_str: addr/addr_bits as text into buf: IPv4-mapped
 * prefixes of at least 96 bits as "a.b.c.d/n", everything else as IPv6
 * ("2001:db8::/32"). Returns 0, or -ENOSPC if len is too small (64 bytes
 * always suffice). */
int compile__prefix_str(const __u8 addr[16], __u8 addr_bits, char *buf, size_t len);

#endif
