/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * compile.h: a parsed manifest compiled into the map contents of
 * bpf/agentguard.h. Pure: no system calls, unit-testable.
 */
#ifndef AG_COMPILE_H
#define AG_COMPILE_H

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

struct compiled_policy {
	struct ag_policy policy;	/* mode, egress section, bind ranges */
	struct compiled_net_entry *net;	/* owned, sorted by (kind, addr, bits) */
	size_t nnet;
};

/* compile__policy: compile m into out (zeroed first). Returns 0, or -EINVAL
 * with a diagnostic naming the manifest position (e.g. a prefix to which more
 * than AG_NET_MAX_RANGES port ranges apply), or -ENOMEM. On error out holds
 * nothing to free. */
int compile__policy(const struct manifest *m, struct compiled_policy *out,
		    struct diag_list *dl);

/* compiled_policy__free: frees out->net; out can be reused. */
void compiled_policy__free(struct compiled_policy *out);

/* compile__net_key: the `net_rules` key of e under policy id `policy`. */
void compile__net_key(const struct compiled_net_entry *e, __u32 policy,
		      struct ag_net_key *key);

/* compile__prefix_str: addr/addr_bits as text into buf: IPv4-mapped
 * prefixes of at least 96 bits as "a.b.c.d/n", everything else as IPv6
 * ("2001:db8::/32"). Returns 0, or -ENOSPC if len is too small (64 bytes
 * always suffice). */
int compile__prefix_str(const __u8 addr[16], __u8 addr_bits, char *buf, size_t len);

#endif
