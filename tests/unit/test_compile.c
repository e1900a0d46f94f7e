/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_compile.c: manifests compiled into `policies`, `net_rules` and
 * `path_rules` contents: exact keys and values, the union of enclosing
 * prefixes, range merging, limits, randomised checks against brute-force
 * references, and the cost of large manifests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compile.h"
#include "diag.h"
#include "manifest.h"

#define HDR "apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: c1\n" \
	    "  owner: me@example.com\n"
#define EGRESS "spec:\n  network:\n    egress:\n"

static struct manifest *parse_ok(const char *text)
{
	struct diag_list dl = { 0 };
	struct manifest *m = manifest__parse_buf("c.yaml", text, strlen(text), &dl);

	if (!m)
		diag_list__print(&dl, stderr);
	assert_non_null(m);
	diag_list__free(&dl);
	return m;
}

static void compile_ok(const char *text, struct compiled_policy *cp)
{
	struct manifest *m = parse_ok(text);
	struct diag_list dl = { 0 };

	assert_int_equal(compile__policy(m, cp, &dl), 0);
	assert_int_equal(dl.n, 0);
	manifest__free(m);
}

static void v4(__u8 out[16], const char *a)
{
	memset(out, 0, 16);
	out[10] = out[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, a, out + 12), 1);
}

static void v6(__u8 out[16], const char *a)
{
	assert_int_equal(inet_pton(AF_INET6, a, out), 1);
}

static void assert_entry(const struct compiled_net_entry *e, __u8 kind, const __u8 addr[16],
			 unsigned bits, __u32 n)
{
	assert_int_equal(e->kind, kind);
	assert_memory_equal(e->addr, addr, 16);
	assert_int_equal(e->addr_bits, bits);
	assert_int_equal(e->val.n, n);
	assert_int_equal(e->val._pad, 0);
	/* unused ranges are zero */
	for (__u32 i = n; i < AG_NET_MAX_RANGES; i++) {
		assert_int_equal(e->val.r[i].lo, 0);
		assert_int_equal(e->val.r[i].hi, 0);
		assert_int_equal(e->val.r[i].proto, 0);
	}
}

static void assert_range(const struct ag_port_range *r, unsigned lo, unsigned hi,
			 unsigned proto, unsigned rule)
{
	assert_int_equal(r->lo, lo);
	assert_int_equal(r->hi, hi);
	assert_int_equal(r->proto, proto);
	assert_int_equal(r->rule, rule);
	assert_int_equal(r->_pad, 0);
}

/* The example in bpf/agentguard.h, with exact keys. */
static void test_header_example(void **state)
{
	struct compiled_policy cp;
	struct ag_net_key key;
	__u8 a[16];

	compile_ok(HDR EGRESS "      allow:\n"
		   "        - cidr: [10.0.0.0/8]\n          ports: [443]\n"
		   "        - cidr: [10.1.0.0/16]\n          ports: [80]\n", &cp);
	assert_int_equal(cp.policy.mode, AG_MODE_ENFORCE);
	assert_int_equal(cp.policy.egress, AG_SECTION_DENY);
	assert_int_equal(cp.policy.bind, AG_SECTION_ABSENT);
	assert_int_equal(cp.policy.nbind, 0);
	assert_int_equal(cp.policy.flags, 0);
	assert_int_equal(cp.nnet, 2);

	v4(a, "10.0.0.0");
	assert_entry(&cp.net[0], AG_NET_ALLOW, a, 104, 1);
	assert_range(&cp.net[0].val.r[0], 443, 443, AG_PROTO_ANY, 0);
	compile__net_key(&cp.net[0], 7, &key);
	assert_int_equal(key.prefixlen, 32 + 96 + 8);
	assert_int_equal(key.policy_kind, htonl(7u << 1));
	assert_memory_equal(key.addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\0", 16);

	v4(a, "10.1.0.0");
	assert_entry(&cp.net[1], AG_NET_ALLOW, a, 112, 2);
	assert_range(&cp.net[1].val.r[0], 80, 80, AG_PROTO_ANY, 1);
	assert_range(&cp.net[1].val.r[1], 443, 443, AG_PROTO_ANY, 0);
	compile__net_key(&cp.net[1], 7, &key);
	assert_int_equal(key.prefixlen, 32 + 96 + 16);
	assert_int_equal(key.policy_kind, htonl(14));
	assert_memory_equal(key.addr, a, 16);
	compiled_policy__free(&cp);
	assert_null(cp.net);
	assert_int_equal(cp.nnet, 0);
}

/* The trie key's first 32 bits are the big-endian policy/kind word. */
static void test_net_key_layout(void **state)
{
	struct compiled_net_entry e = { .kind = AG_NET_DENY, .addr_bits = 128 };
	struct ag_net_key key;
	const __u8 *raw = (const __u8 *)&key;

	memset(e.addr, 0xab, 16);
	compile__net_key(&e, 0x01020304, &key);
	assert_int_equal(key.prefixlen, 160);
	/* (0x01020304 << 1) | 1 = 0x02040609, stored big-endian */
	assert_int_equal(raw[4], 0x02);
	assert_int_equal(raw[5], 0x04);
	assert_int_equal(raw[6], 0x06);
	assert_int_equal(raw[7], 0x09);
	assert_memory_equal(key.addr, e.addr, 16);
	assert_int_equal(sizeof(key), 24);
}

static void test_ipv6(void **state)
{
	struct compiled_policy cp;
	struct ag_net_key key;
	__u8 a[16];

	compile_ok(HDR EGRESS "      allow:\n"
		   "        - cidr: [\"2001:db8::/32\"]\n          ports: [443]\n          protocol: tcp\n"
		   "        - cidr: [\"2001:db8:1::/48\", \"::1\"]\n          ports: [53]\n"
		   "          protocol: udp\n", &cp);
	assert_int_equal(cp.nnet, 3);
	v6(a, "::1");
	assert_entry(&cp.net[0], AG_NET_ALLOW, a, 128, 1);
	assert_range(&cp.net[0].val.r[0], 53, 53, AG_PROTO_UDP, 1);
	v6(a, "2001:db8::");
	assert_entry(&cp.net[1], AG_NET_ALLOW, a, 32, 1);
	assert_range(&cp.net[1].val.r[0], 443, 443, AG_PROTO_TCP, 0);
	v6(a, "2001:db8:1::");
	assert_entry(&cp.net[2], AG_NET_ALLOW, a, 48, 2);
	assert_range(&cp.net[2].val.r[0], 53, 53, AG_PROTO_UDP, 1);
	assert_range(&cp.net[2].val.r[1], 443, 443, AG_PROTO_TCP, 0);
	compile__net_key(&cp.net[2], 1, &key);
	assert_int_equal(key.prefixlen, 32 + 48);
	assert_int_equal(key.policy_kind, htonl(2));
	assert_memory_equal(key.addr, a, 16);
	compiled_policy__free(&cp);
}

/* IPv4 rules are IPv4-mapped; ::/0 covers them, 0.0.0.0/0 covers no IPv6. */
static void test_mapped(void **state)
{
	struct compiled_policy cp;
	__u8 a[16];

	compile_ok(HDR EGRESS "      allow:\n"
		   "        - cidr: [\"::/0\"]\n          ports: [80]\n"
		   "        - cidr: [10.0.0.0/8]\n          ports: [443]\n"
		   "        - cidr: [0.0.0.0/0]\n          ports: [22]\n"
		   "        - cidr: [\"2001:db8::/32\"]\n          ports: [8443]\n"
		   "        - cidr: [\"::ffff:10.0.0.0/104\"]\n          ports: [8080]\n", &cp);
	assert_int_equal(cp.nnet, 4);
	memset(a, 0, 16);
	assert_entry(&cp.net[0], AG_NET_ALLOW, a, 0, 1);		/* ::/0 */
	assert_range(&cp.net[0].val.r[0], 80, 80, AG_PROTO_ANY, 0);
	v4(a, "0.0.0.0");
	assert_entry(&cp.net[1], AG_NET_ALLOW, a, 96, 2);		/* 0.0.0.0/0 */
	assert_range(&cp.net[1].val.r[0], 22, 22, AG_PROTO_ANY, 2);
	assert_range(&cp.net[1].val.r[1], 80, 80, AG_PROTO_ANY, 0);
	v4(a, "10.0.0.0");					/* both spellings, one entry */
	assert_entry(&cp.net[2], AG_NET_ALLOW, a, 104, 4);
	assert_range(&cp.net[2].val.r[0], 22, 22, AG_PROTO_ANY, 2);
	assert_range(&cp.net[2].val.r[1], 80, 80, AG_PROTO_ANY, 0);
	assert_range(&cp.net[2].val.r[2], 443, 443, AG_PROTO_ANY, 1);
	assert_range(&cp.net[2].val.r[3], 8080, 8080, AG_PROTO_ANY, 4);
	v6(a, "2001:db8::");
	assert_entry(&cp.net[3], AG_NET_ALLOW, a, 32, 2);
	assert_range(&cp.net[3].val.r[0], 80, 80, AG_PROTO_ANY, 0);
	assert_range(&cp.net[3].val.r[1], 8443, 8443, AG_PROTO_ANY, 3);
	compiled_policy__free(&cp);
}

/* Siblings do not see each other; only enclosing prefixes add ranges. */
static void test_nesting(void **state)
{
	struct compiled_policy cp;
	__u8 a[16];

	compile_ok(HDR EGRESS "      allow:\n"
		   "        - cidr: [10.1.2.0/24]\n          ports: [400]\n"
		   "        - cidr: [10.2.0.0/16]\n          ports: [300]\n"
		   "        - cidr: [10.0.0.0/8]\n          ports: [100]\n"
		   "        - cidr: [10.1.0.0/16]\n          ports: [200]\n"
		   "        - cidr: [11.0.0.0/8]\n", &cp);
	assert_int_equal(cp.nnet, 5);
	v4(a, "10.0.0.0");
	assert_entry(&cp.net[0], AG_NET_ALLOW, a, 104, 1);
	assert_range(&cp.net[0].val.r[0], 100, 100, AG_PROTO_ANY, 2);
	v4(a, "10.1.0.0");
	assert_entry(&cp.net[1], AG_NET_ALLOW, a, 112, 2);
	assert_range(&cp.net[1].val.r[0], 100, 100, AG_PROTO_ANY, 2);
	assert_range(&cp.net[1].val.r[1], 200, 200, AG_PROTO_ANY, 3);
	v4(a, "10.1.2.0");
	assert_entry(&cp.net[2], AG_NET_ALLOW, a, 120, 3);
	assert_range(&cp.net[2].val.r[0], 100, 100, AG_PROTO_ANY, 2);
	assert_range(&cp.net[2].val.r[1], 200, 200, AG_PROTO_ANY, 3);
	assert_range(&cp.net[2].val.r[2], 400, 400, AG_PROTO_ANY, 0);
	v4(a, "10.2.0.0");
	assert_entry(&cp.net[3], AG_NET_ALLOW, a, 112, 2);
	assert_range(&cp.net[3].val.r[0], 100, 100, AG_PROTO_ANY, 2);
	assert_range(&cp.net[3].val.r[1], 300, 300, AG_PROTO_ANY, 1);
	/* a rule without ports is every port, 0..65535 */
	v4(a, "11.0.0.0");
	assert_entry(&cp.net[4], AG_NET_ALLOW, a, 104, 1);
	assert_range(&cp.net[4].val.r[0], 0, 65535, AG_PROTO_ANY, 4);
	compiled_policy__free(&cp);
}

/* Deny and allow are separate kinds: neither adds ranges to the other. */
static void test_kinds(void **state)
{
	struct compiled_policy cp;
	__u8 a[16];

	compile_ok(HDR "spec:\n  mode: audit\n  network:\n    egress:\n      default: allow\n"
		   "      deny:\n        - cidr: [10.1.0.0/16]\n"
		   "        - cidr: [169.254.169.254]\n          ports: [80]\n          protocol: tcp\n"
		   "      allow:\n        - cidr: [10.0.0.0/8]\n          ports: [443]\n", &cp);
	assert_int_equal(cp.policy.mode, AG_MODE_AUDIT);
	assert_int_equal(cp.policy.egress, AG_SECTION_ALLOW);
	assert_int_equal(cp.nnet, 3);
	/* allow entries first, then deny, each sorted by address */
	v4(a, "10.0.0.0");
	assert_entry(&cp.net[0], AG_NET_ALLOW, a, 104, 1);
	assert_range(&cp.net[0].val.r[0], 443, 443, AG_PROTO_ANY, 0);
	v4(a, "10.1.0.0");
	assert_entry(&cp.net[1], AG_NET_DENY, a, 112, 1);
	assert_range(&cp.net[1].val.r[0], 0, 65535, AG_PROTO_ANY, 0);
	v4(a, "169.254.169.254");
	assert_entry(&cp.net[2], AG_NET_DENY, a, 128, 1);
	assert_range(&cp.net[2].val.r[0], 80, 80, AG_PROTO_TCP, 1);
	compiled_policy__free(&cp);
}

static void test_merging(void **state)
{
	struct compiled_policy cp;

	/* overlapping and adjacent ranges of one protocol and one rule merge;
	 * ranges of different rules stay apart, so an event names a rule that
	 * admits the port; the same CIDR in several rules is one entry */
	compile_ok(HDR EGRESS "      allow:\n"
		   "        - cidr: [10.0.0.0/8]\n          ports: [\"100-200\", 300]\n"
		   "          protocol: tcp\n"
		   "        - cidr: [10.0.0.0/8, 10.0.0.0/8]\n          ports: [\"150-250\", 301]\n"
		   "          protocol: tcp\n"
		   "        - cidr: [10.0.0.0/8]\n          ports: [\"1-17\", 18, 19, 20]\n"
		   "          protocol: udp\n", &cp);
	assert_int_equal(cp.nnet, 1);
	assert_int_equal(cp.net[0].val.n, 5);
	assert_range(&cp.net[0].val.r[0], 1, 20, AG_PROTO_UDP, 2);
	assert_range(&cp.net[0].val.r[1], 100, 200, AG_PROTO_TCP, 0);
	assert_range(&cp.net[0].val.r[2], 150, 250, AG_PROTO_TCP, 1);
	assert_range(&cp.net[0].val.r[3], 300, 300, AG_PROTO_TCP, 0);
	assert_range(&cp.net[0].val.r[4], 301, 301, AG_PROTO_TCP, 1);
	compiled_policy__free(&cp);

	/* a range inside a range of a wider protocol mask is dropped (the wider
	 * range's rule admits it); equal bounds of different rules stay apart */
	compile_ok(HDR EGRESS "      allow:\n"
		   "        - cidr: [10.0.0.0/8]\n          ports: [443, 53]\n          protocol: tcp\n"
		   "        - cidr: [10.0.0.0/8]\n          ports: [\"400-500\"]\n"
		   "        - cidr: [10.0.0.0/8]\n          ports: [53]\n          protocol: udp\n",
		   &cp);
	assert_int_equal(cp.nnet, 1);
	assert_int_equal(cp.net[0].val.n, 3);
	assert_range(&cp.net[0].val.r[0], 53, 53, AG_PROTO_TCP, 0);
	assert_range(&cp.net[0].val.r[1], 53, 53, AG_PROTO_UDP, 2);
	assert_range(&cp.net[0].val.r[2], 400, 500, AG_PROTO_ANY, 1);
	compiled_policy__free(&cp);
}

static void test_bind(void **state)
{
	struct compiled_policy cp;

	compile_ok(HDR "spec:\n  network:\n    bind:\n      allow: [82, 80, 81, \"1000-2000\", 1500]\n",
		   &cp);
	assert_int_equal(cp.policy.egress, AG_SECTION_ABSENT);
	assert_int_equal(cp.nnet, 0);
	assert_null(cp.net);
	assert_int_equal(cp.policy.bind, AG_SECTION_DENY);
	assert_int_equal(cp.policy.nbind, 2);
	assert_range(&cp.policy.bind_ranges[0], 80, 82, AG_PROTO_ANY, 0);
	assert_range(&cp.policy.bind_ranges[1], 1000, 2000, AG_PROTO_ANY, 0);
	assert_int_equal(cp.policy.bind_ranges[2].lo, 0);
	compiled_policy__free(&cp);

	/* an empty list: bind section present, nothing may be bound */
	compile_ok(HDR "spec:\n  network:\n    bind:\n      allow: []\n", &cp);
	assert_int_equal(cp.policy.bind, AG_SECTION_DENY);
	assert_int_equal(cp.policy.nbind, 0);
	compiled_policy__free(&cp);

	compile_ok(HDR "spec:\n  network: {}\n", &cp);
	assert_int_equal(cp.policy.bind, AG_SECTION_ABSENT);
	assert_int_equal(cp.policy.egress, AG_SECTION_ABSENT);
	compiled_policy__free(&cp);
}

static char *gen_ports(const char *prefix, int n, int step)
{
	static char buf[4096];
	int off = snprintf(buf, sizeof(buf), "%s[", prefix);

	for (int i = 0; i < n; i++)
		off += snprintf(buf + off, sizeof(buf) - (size_t)off, "%s%d", i ? ", " : "",
				1 + i * step);
	snprintf(buf + off, sizeof(buf) - (size_t)off, "]\n");
	return buf;
}

static void expect_parse_error(const char *text, int line, int col, const char *msg)
{
	struct diag_list dl = { 0 };

	assert_null(manifest__parse_buf("c.yaml", text, strlen(text), &dl));
	assert_int_equal(errno, EINVAL);
	if (dl.n != 1 || dl.v[0].line != line || dl.v[0].col != col ||
	    strcmp(dl.v[0].msg, msg))
		diag_list__print(&dl, stderr);
	assert_int_equal(dl.n, 1);
	assert_int_equal(dl.v[0].line, line);
	assert_int_equal(dl.v[0].col, col);
	assert_string_equal(dl.v[0].msg, msg);
	diag_list__free(&dl);
}

static void test_too_many_ranges(void **state)
{
	char text[16384];
	int off;

	/* one rule: 17 disjoint ports */
	snprintf(text, sizeof(text), HDR EGRESS "      allow:\n        - cidr: [10.0.0.0/8]\n%s",
		 gen_ports("          ports: ", 17, 2));
	expect_parse_error(text, 10, 11, "too many port ranges in 'spec.network.egress.allow[0]' "
			   "(17 after merging, limit 16)");
	/* 17 adjacent ports merge into one range: fine */
	snprintf(text, sizeof(text), HDR EGRESS "      allow:\n        - cidr: [10.0.0.0/8]\n%s",
		 gen_ports("          ports: ", 17, 1));
	manifest__free(parse_ok(text));
	/* 16 disjoint ports: exactly the limit */
	snprintf(text, sizeof(text), HDR EGRESS "      allow:\n        - cidr: [10.0.0.0/8]\n%s",
		 gen_ports("          ports: ", 16, 2));
	manifest__free(parse_ok(text));

	/* 17 nested prefixes with one port each: the innermost gets 17 */
	off = snprintf(text, sizeof(text), HDR EGRESS "      deny:\n");
	for (int i = 0; i < 17; i++)
		off += snprintf(text + off, sizeof(text) - (size_t)off,
				"        - cidr: [10.0.0.0/%d]\n          ports: [%d]\n", 8 + i,
				1 + 2 * i);
	expect_parse_error(text, 10 + 2 * 16, 18, "too many port ranges apply to '10.0.0.0/24' "
			   "of 'spec.network.egress.deny[16]' (17 after merging every deny rule "
			   "that contains it, limit 16)");

	/* bind: 17 disjoint ports */
	snprintf(text, sizeof(text), HDR "spec:\n  network:\n    bind:\n%s",
		 gen_ports("      allow: ", 17, 2));
	expect_parse_error(text, 9, 14, "too many port ranges in 'spec.network.bind.allow' "
			   "(17 after merging, limit 16)");
}

/* compile__policy on a model that bypassed the parser's check. */
static void test_compile_error_direct(void **state)
{
	struct manifest *m = parse_ok(HDR "spec:\n  network:\n    bind:\n      allow: [1]\n");
	struct manifest_ports *p = calloc(20, sizeof(*p));
	struct compiled_policy cp;
	struct diag_list dl = { 0 };

	assert_non_null(p);
	for (int i = 0; i < 20; i++)
		p[i].lo = p[i].hi = (__u16)(10 * i + 1);
	free(m->net.bind);
	m->net.bind = p;
	m->net.nbind = 20;
	memset(&cp, 0xaa, sizeof(cp));
	assert_int_equal(compile__policy(m, &cp, &dl), -EINVAL);
	assert_null(cp.net);
	assert_int_equal(cp.nnet, 0);
	assert_int_equal(dl.n, 1);
	assert_string_equal(dl.v[0].file, "c.yaml");
	assert_int_equal(dl.v[0].line, 9);
	assert_int_equal(dl.v[0].col, 14);
	diag_list__free(&dl);
	manifest__free(m);
}

static void test_prefix_str(void **state)
{
	char buf[64];
	__u8 a[16];

	v4(a, "10.1.0.0");
	assert_int_equal(compile__prefix_str(a, 112, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "10.1.0.0/16");
	v4(a, "0.0.0.0");
	assert_int_equal(compile__prefix_str(a, 96, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0.0.0.0/0");
	v6(a, "2001:db8::");
	assert_int_equal(compile__prefix_str(a, 32, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2001:db8::/32");
	memset(a, 0, 16);
	assert_int_equal(compile__prefix_str(a, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "::/0");
	assert_int_equal(compile__prefix_str(a, 0, buf, 3), -ENOSPC);
}

/* ------------------------------------------------------------------ */
/* Randomised: the longest-prefix match on the compiled entries decides  */
/* exactly as "some rule whose CIDR contains the address admits it".    */
/* ------------------------------------------------------------------ */

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

static bool contains(const __u8 *p, unsigned bits, const __u8 *a)
{
	for (unsigned i = 0; i < bits; i++) {
		unsigned byte = i / 8, bit = 7 - i % 8;

		if (((p[byte] >> bit) & 1) != ((a[byte] >> bit) & 1))
			return false;
	}
	return true;
}

static bool ref_admits(const struct manifest_net_rule *r, size_t n, const __u8 *a,
		       unsigned port, __u8 proto)
{
	for (size_t i = 0; i < n; i++) {
		bool in = false, port_ok = !r[i].nports;

		for (size_t k = 0; k < r[i].ncidrs; k++)
			in |= contains(r[i].cidrs[k].addr, r[i].cidrs[k].bits, a);
		for (size_t k = 0; k < r[i].nports; k++)
			port_ok |= port >= r[i].ports[k].lo && port <= r[i].ports[k].hi;
		if (in && port_ok && (r[i].proto & proto))
			return true;
	}
	return false;
}

/* Returns the rule index of the first admitting range, -1 if none, -2 if
 * no entry matches the address. */
static int lpm_admits(const struct compiled_policy *cp, __u8 kind, const __u8 *a,
		      unsigned port, __u8 proto)
{
	const struct compiled_net_entry *best = NULL;

	for (size_t i = 0; i < cp->nnet; i++) {
		const struct compiled_net_entry *e = &cp->net[i];

		if (e->kind == kind && contains(e->addr, e->addr_bits, a) &&
		    (!best || e->addr_bits > best->addr_bits))
			best = e;
	}
	if (!best)
		return -2;
	for (__u32 i = 0; i < best->val.n; i++)
		if ((best->val.r[i].proto & proto) && port >= best->val.r[i].lo &&
		    port <= best->val.r[i].hi)
			return best->val.r[i].rule;
	return -1;
}

static void random_rules(char *text, size_t cap, const char *kind, int nrules)
{
	static const char *protos[] = { "tcp", "udp", "any" };
	size_t off = strlen(text);

	if (!nrules)
		return;
	off += (size_t)snprintf(text + off, cap - off, "      %s:\n", kind);
	for (int i = 0; i < nrules; i++) {
		unsigned nc = 1 + rnd(2);

		off += (size_t)snprintf(text + off, cap - off, "        - cidr: [");
		for (unsigned k = 0; k < nc; k++) {
			unsigned plen;

			if (rnd(4) == 0) {	/* IPv6, inside 2001:db8::/32 */
				unsigned g = rnd(4) << 14;

				plen = 32 + rnd(3);
				g &= plen == 32 ? 0 : (0xffffu << (48 - plen)) & 0xffff;
				off += (size_t)snprintf(text + off, cap - off,
							"%s\"2001:db8:%x::/%u\"", k ? ", " : "",
							g, plen);
			} else {
				unsigned addr = (10u << 24) | (rnd(4) << 22) | (rnd(4) << 20) |
						(rnd(4) << 8) | rnd(4);

				plen = 6 + rnd(27);
				addr &= plen ? ~0u << (32 - plen) : 0;
				off += (size_t)snprintf(text + off, cap - off, "%s%u.%u.%u.%u/%u",
							k ? ", " : "", addr >> 24,
							(addr >> 16) & 255, (addr >> 8) & 255,
							addr & 255, plen);
			}
		}
		off += (size_t)snprintf(text + off, cap - off, "]\n");
		if (rnd(5)) {
			unsigned np = 1 + rnd(2);

			off += (size_t)snprintf(text + off, cap - off, "          ports: [");
			for (unsigned k = 0; k < np; k++) {
				unsigned lo = 1 + rnd(40), hi = lo + rnd(6);

				off += (size_t)snprintf(text + off, cap - off, "%s\"%u-%u\"",
							k ? ", " : "", lo, hi);
			}
			off += (size_t)snprintf(text + off, cap - off, "]\n");
		}
		off += (size_t)snprintf(text + off, cap - off, "          protocol: %s\n",
					protos[rnd(3)]);
	}
}

static void random_addr(__u8 a[16])
{
	if (rnd(4) == 0) {
		assert_int_equal(inet_pton(AF_INET6, "2001:db8::", a), 1);
		a[4] = (__u8)(rnd(4) << 6);
		a[5] = (__u8)rnd(2);
		a[15] = (__u8)rnd(256);
	} else {
		unsigned addr = (10u << 24) | (rnd(4) << 22) | (rnd(4) << 20) | (rnd(4) << 8) |
				rnd(8);

		if (rnd(10) == 0)
			addr ^= 1u << (24 + rnd(8));	/* outside 10/8 at times */
		memset(a, 0, 16);
		a[10] = a[11] = 0xff;
		a[12] = (__u8)(addr >> 24);
		a[13] = (__u8)(addr >> 16);
		a[14] = (__u8)(addr >> 8);
		a[15] = (__u8)addr;
	}
}

static void test_random_vs_reference(void **state)
{
	static const __u8 protos[] = { AG_PROTO_TCP, AG_PROTO_UDP, AG_PROTO_OTHER };
	size_t cap = 1 << 16, checked = 0, admitted = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	for (int round = 0; round < 60; round++) {
		struct compiled_policy cp;
		struct diag_list dl = { 0 };
		struct manifest *m;

		snprintf(text, cap, HDR EGRESS);
		random_rules(text, cap, "allow", 1 + (int)rnd(12));
		random_rules(text, cap, "deny", (int)rnd(6));
		m = manifest__parse_buf("r.yaml", text, strlen(text), &dl);
		if (!m) {
			/* only the range limit may reject a random manifest */
			if (dl.n != 1 || !strstr(dl.v[0].msg, "too many port ranges")) {
				diag_list__print(&dl, stderr);
				fputs(text, stderr);
			}
			assert_int_equal(dl.n, 1);
			assert_non_null(strstr(dl.v[0].msg, "too many port ranges"));
			diag_list__free(&dl);
			continue;
		}
		assert_int_equal(compile__policy(m, &cp, &dl), 0);
		for (int q = 0; q < 3000; q++) {
			__u8 a[16], proto = protos[rnd(3)];
			unsigned port = rnd(50);

			random_addr(a);
			for (__u8 kind = 0; kind < 2; kind++) {
				const struct manifest_net_rule *r = kind ? m->net.deny : m->net.allow;
				size_t n = kind ? m->net.ndeny : m->net.nallow;
				bool want = ref_admits(r, n, a, port, proto);
				int got = lpm_admits(&cp, kind, a, port, proto);

				assert_int_equal(want, got >= 0);
				if (got >= 0) {
					bool in = false;

					/* the reported rule covers the address */
					assert_true((size_t)got < n);
					for (size_t k = 0; k < r[got].ncidrs; k++)
						in |= contains(r[got].cidrs[k].addr,
							       r[got].cidrs[k].bits, a);
					assert_true(in);
					admitted++;
				}
				checked++;
			}
		}
		/* entries are sorted by (kind, address, length) and distinct */
		for (size_t i = 1; i < cp.nnet; i++) {
			const struct compiled_net_entry *x = &cp.net[i - 1], *y = &cp.net[i];
			int c = memcmp(x->addr, y->addr, 16);

			assert_true(x->kind < y->kind ||
				    (x->kind == y->kind &&
				     (c < 0 || (c == 0 && x->addr_bits < y->addr_bits))));
		}
		compiled_policy__free(&cp);
		manifest__free(m);
	}
	fprintf(stderr, "# %zu random decisions checked, %zu admitted\n", checked, admitted);
	assert_true(admitted > checked / 20);
	free(text);
}

/* ------------------------------------------------------------------ */
/* Paths (files and exec)                                               */
/* ------------------------------------------------------------------ */

#define FILES "spec:\n  files:\n"

/* Entry i is the pattern `bytes` (len bytes: an exact one with its NUL) of
 * kind, with exactly this value. */
static void assert_path(const struct compiled_policy *cp, size_t i, __u8 kind,
			const char *bytes, size_t len, __u8 access, __u8 own,
			const struct ag_path_val *want)
{
	const struct compiled_path_entry *e;

	assert_true(i < cp->npaths);
	e = &cp->paths[i];
	assert_int_equal(e->kind, kind);
	assert_int_equal(e->len, len);
	assert_memory_equal(e->path, bytes, len);
	for (size_t k = len; k < AG_PATH_KEY_LEN; k++)
		assert_int_equal(e->path[k], 0);
	assert_int_equal(e->val.access, access);
	assert_int_equal(e->own, own);
	if (want) {
		assert_int_equal(e->val.read_rule, want->read_rule);
		assert_int_equal(e->val.write_rule, want->write_rule);
		assert_int_equal(e->val.deny_rule, want->deny_rule);
		assert_int_equal(e->val.exec_rule, want->exec_rule);
		assert_int_equal(e->val.nested_kind, want->nested_kind);
		assert_int_equal(e->val.nested_rule, want->nested_rule);
	}
}

/* The example of bpf/agentguard.h, with the ancestor marker of the exact
 * rule, and the key layout. */
static void test_path_header_example(void **state)
{
	struct compiled_policy cp;
	struct ag_path_key key;

	compile_ok(HDR FILES "    read: [/etc/]\n    deny: [/etc/shadow]\n", &cp);
	assert_int_equal(cp.policy.files, AG_SECTION_DENY);
	assert_int_equal(cp.policy.exec, AG_SECTION_ABSENT);
	assert_int_equal(cp.policy.flags, 0);
	assert_int_equal(cp.npaths, 3);
	assert_path(&cp, 0, AG_PATH_FILES, "/etc/", 5, AG_ACC_READ, AG_ACC_READ,
		    &(struct ag_path_val){ .read_rule = 0 });
	assert_path(&cp, 1, AG_PATH_FILES, "/etc/\0", 6, AG_ACC_READ | AG_ACC_NESTED,
		    AG_ACC_NESTED,
		    &(struct ag_path_val){ .nested_kind = AG_RULE_FILES_DENY, .nested_rule = 0 });
	assert_path(&cp, 2, AG_PATH_FILES, "/etc/shadow\0", 12, AG_ACC_READ | AG_ACC_DENY,
		    AG_ACC_DENY, &(struct ag_path_val){ .read_rule = 0, .deny_rule = 0 });

	compile__path_key(&cp.paths[2], 7, &key);
	assert_int_equal(sizeof(key), 4 + 4 + AG_PATH_KEY_LEN);
	assert_int_equal(key.prefixlen, 32 + 8 * 12);
	assert_int_equal(key.policy_kind, htonl((7u << 1) | AG_PATH_FILES));
	assert_memory_equal(key.path, "/etc/shadow\0", 12);
	compile__path_key(&cp.paths[0], 7, &key);
	assert_int_equal(key.prefixlen, 32 + 8 * 5);
	assert_int_equal(((const __u8 *)&key.policy_kind)[3], 14);	/* big-endian */
	compiled_policy__free(&cp);
	assert_null(cp.paths);
	assert_int_equal(cp.npaths, 0);
}

/* "dir/" is the tree (no NUL), anything else the exact path (with its NUL). */
static void test_path_exact_vs_tree(void **state)
{
	struct compiled_policy cp;

	compile_ok(HDR FILES "    default: allow\n    read: [/a/b, /a/b/, /]\n", &cp);
	assert_int_equal(cp.policy.files, AG_SECTION_ALLOW);
	assert_int_equal(cp.npaths, 4);
	assert_path(&cp, 0, AG_PATH_FILES, "/", 1, AG_ACC_READ, AG_ACC_READ,
		    &(struct ag_path_val){ .read_rule = 2 });
	/* the marker of both rules below /a/ names the first */
	assert_path(&cp, 1, AG_PATH_FILES, "/a/\0", 4, AG_ACC_READ | AG_ACC_NESTED,
		    AG_ACC_NESTED, &(struct ag_path_val){ .read_rule = 2,
		    .nested_kind = AG_RULE_FILES_READ, .nested_rule = 0 });
	/* NUL sorts before '/': the exact rule first; each its own rule */
	assert_path(&cp, 2, AG_PATH_FILES, "/a/b\0", 5, AG_ACC_READ, AG_ACC_READ,
		    &(struct ag_path_val){ .read_rule = 0 });
	assert_path(&cp, 3, AG_PATH_FILES, "/a/b/", 5, AG_ACC_READ, AG_ACC_READ,
		    &(struct ag_path_val){ .read_rule = 1 });
	compiled_policy__free(&cp);
}

/* Each entry is the union of every rule above it; the nearest rule of each
 * kind names it. */
static void test_path_folding(void **state)
{
	struct compiled_policy cp;

	compile_ok(HDR FILES "    write: [/w/]\n    read: [/w/x/y/, /r/]\n"
		   "    deny: [/w/x/y/z, /r/s/]\n", &cp);
	assert_int_equal(cp.npaths, 9);
	assert_path(&cp, 0, AG_PATH_FILES, "/r/", 3, AG_ACC_READ, AG_ACC_READ,
		    &(struct ag_path_val){ .read_rule = 1 });
	/* a marker has what the trees above it grant */
	assert_path(&cp, 1, AG_PATH_FILES, "/r/\0", 4, AG_ACC_READ | AG_ACC_NESTED,
		    AG_ACC_NESTED, &(struct ag_path_val){ .read_rule = 1,
		    .nested_kind = AG_RULE_FILES_DENY, .nested_rule = 1 });
	assert_path(&cp, 2, AG_PATH_FILES, "/r/s/", 5, AG_ACC_READ | AG_ACC_DENY, AG_ACC_DENY,
		    &(struct ag_path_val){ .read_rule = 1, .deny_rule = 1 });
	assert_path(&cp, 3, AG_PATH_FILES, "/w/", 3, AG_ACC_WRITE, AG_ACC_WRITE,
		    &(struct ag_path_val){ .write_rule = 0 });
	/* markers name the first rule below them in byte order */
	assert_path(&cp, 4, AG_PATH_FILES, "/w/\0", 4, AG_ACC_WRITE | AG_ACC_NESTED,
		    AG_ACC_NESTED, &(struct ag_path_val){ .write_rule = 0,
		    .nested_kind = AG_RULE_FILES_READ, .nested_rule = 0 });
	assert_path(&cp, 5, AG_PATH_FILES, "/w/x/\0", 6, AG_ACC_WRITE | AG_ACC_NESTED,
		    AG_ACC_NESTED, &(struct ag_path_val){ .write_rule = 0,
		    .nested_kind = AG_RULE_FILES_READ, .nested_rule = 0 });
	assert_path(&cp, 6, AG_PATH_FILES, "/w/x/y/", 7, AG_ACC_WRITE | AG_ACC_READ,
		    AG_ACC_READ, &(struct ag_path_val){ .read_rule = 0, .write_rule = 0 });
	assert_path(&cp, 7, AG_PATH_FILES, "/w/x/y/\0", 8,
		    AG_ACC_WRITE | AG_ACC_READ | AG_ACC_NESTED, AG_ACC_NESTED,
		    &(struct ag_path_val){ .read_rule = 0, .write_rule = 0,
		    .nested_kind = AG_RULE_FILES_DENY, .nested_rule = 0 });
	assert_path(&cp, 8, AG_PATH_FILES, "/w/x/y/z\0", 9,
		    AG_ACC_WRITE | AG_ACC_READ | AG_ACC_DENY, AG_ACC_DENY,
		    &(struct ag_path_val){ .read_rule = 0, .write_rule = 0, .deny_rule = 0 });
	compiled_policy__free(&cp);
}

/* One path in read and deny: both bits, both rules, one entry; duplicates
 * are named by their first rule. */
static void test_path_deny_read_union(void **state)
{
	struct compiled_policy cp;

	compile_ok(HDR FILES "    read: [/x, /d/f, /d/f]\n    deny: [/d/f]\n"
		   "    write: [/d/f]\n", &cp);
	assert_int_equal(cp.npaths, 3);
	assert_path(&cp, 0, AG_PATH_FILES, "/d/\0", 4, AG_ACC_NESTED, AG_ACC_NESTED,
		    &(struct ag_path_val){ .nested_kind = AG_RULE_FILES_READ, .nested_rule = 1 });
	assert_path(&cp, 1, AG_PATH_FILES, "/d/f\0", 5,
		    AG_ACC_READ | AG_ACC_WRITE | AG_ACC_DENY,
		    AG_ACC_READ | AG_ACC_WRITE | AG_ACC_DENY,
		    &(struct ag_path_val){ .read_rule = 1, .write_rule = 0, .deny_rule = 0 });
	assert_path(&cp, 2, AG_PATH_FILES, "/x\0", 3, AG_ACC_READ, AG_ACC_READ,
		    &(struct ag_path_val){ .read_rule = 0 });
	compiled_policy__free(&cp);
}

/* exec.allow is its own kind, after the files entries, without markers. */
static void test_path_exec(void **state)
{
	struct compiled_policy cp;

	compile_ok(HDR "spec:\n  mode: audit\n  files:\n    read: [/usr/]\n"
		   "  exec:\n    default: allow\n    allow: [/usr/bin/, /bin/sh, /usr/bin/python3]\n",
		   &cp);
	assert_int_equal(cp.policy.mode, AG_MODE_AUDIT);
	assert_int_equal(cp.policy.files, AG_SECTION_DENY);
	assert_int_equal(cp.policy.exec, AG_SECTION_ALLOW);
	assert_int_equal(cp.npaths, 4);
	assert_path(&cp, 0, AG_PATH_FILES, "/usr/", 5, AG_ACC_READ, AG_ACC_READ, NULL);
	assert_path(&cp, 1, AG_PATH_EXEC, "/bin/sh\0", 8, AG_ACC_EXEC, AG_ACC_EXEC,
		    &(struct ag_path_val){ .exec_rule = 1 });
	assert_path(&cp, 2, AG_PATH_EXEC, "/usr/bin/", 9, AG_ACC_EXEC, AG_ACC_EXEC,
		    &(struct ag_path_val){ .exec_rule = 0 });
	assert_path(&cp, 3, AG_PATH_EXEC, "/usr/bin/python3\0", 17, AG_ACC_EXEC, AG_ACC_EXEC,
		    &(struct ag_path_val){ .exec_rule = 2 });
	compiled_policy__free(&cp);

	/* sections without rules: policy only */
	compile_ok(HDR "spec:\n  files: {}\n  exec:\n    default: deny\n", &cp);
	assert_int_equal(cp.policy.files, AG_SECTION_DENY);
	assert_int_equal(cp.policy.exec, AG_SECTION_DENY);
	assert_int_equal(cp.npaths, 0);
	assert_null(cp.paths);
	compiled_policy__free(&cp);
}

/* Rule paths longer than a trie key can hold exactly are refused. */
static void test_path_too_long(void **state)
{
	char path[AG_PATH_KEY_LEN + 8], text[1024], msg[256];
	struct compiled_policy cp;

	/* 246 bytes: the longest that fits (exact: + NUL = 247) */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[AG_PATH_KEY_LEN - 2] = 0;
	snprintf(text, sizeof(text), HDR FILES "    read:\n      - /x\n      - %s\n", path);
	compile_ok(text, &cp);
	assert_int_equal(cp.paths[0].len, AG_PATH_KEY_LEN - 1);
	compiled_policy__free(&cp);
	path[AG_PATH_KEY_LEN - 3] = '/';	/* a tree of 246 bytes */
	snprintf(text, sizeof(text), HDR "spec:\n  exec:\n    allow: [%s]\n", path);
	compile_ok(text, &cp);
	assert_int_equal(cp.paths[0].len, AG_PATH_KEY_LEN - 2);
	compiled_policy__free(&cp);

	/* 247 bytes */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[AG_PATH_KEY_LEN - 1] = 0;
	snprintf(text, sizeof(text), HDR FILES "    read:\n      - /x\n      - %s\n", path);
	snprintf(msg, sizeof(msg), "path in 'spec.files.read[1]' is too long for kernel "
		 "enforcement (%d bytes, limit %d)", AG_PATH_KEY_LEN - 1, AG_PATH_KEY_LEN - 2);
	expect_parse_error(text, 10, 9, msg);
	snprintf(text, sizeof(text), HDR "spec:\n  exec:\n    allow: [/bin/sh, %s/]\n", path);
	snprintf(msg, sizeof(msg), "path in 'spec.exec.allow[1]' is too long for kernel "
		 "enforcement (%d bytes, limit %d)", AG_PATH_KEY_LEN, AG_PATH_KEY_LEN - 2);
	expect_parse_error(text, 8, 22, msg);
}

/* What the loader stat()s for deny_inodes. */
static void test_deny_paths(void **state)
{
	struct compiled_policy cp;
	char buf[AG_PATH_KEY_LEN];
	size_t found = 0;
	__u16 rule;
	bool tree;

	compile_ok(HDR FILES "    read: [/etc/]\n    deny: [/etc/shadow, /root/, /]\n"
		   "  exec:\n    allow: [/bin/sh]\n", &cp);
	for (size_t i = 0; i < cp.npaths; i++) {
		if (!compile__deny_path(&cp.paths[i], buf, &tree, &rule))
			continue;
		found++;
		if (!strcmp(buf, "/etc/shadow")) {
			assert_false(tree);
			assert_int_equal(rule, 0);
		} else if (!strcmp(buf, "/root")) {
			assert_true(tree);
			assert_int_equal(rule, 1);
		} else {
			assert_string_equal(buf, "/");
			assert_true(tree);
			assert_int_equal(rule, 2);
		}
	}
	assert_int_equal(found, 3);
	compiled_policy__free(&cp);
}

/* Path rules of a reference: is `pat` (a rule as written) a byte prefix of
 * the key `q` (a path plus NUL, or a directory plus "/" and NUL)? */
static bool pat_covers(const struct manifest_path *r, const char *q, size_t qlen)
{
	size_t n = strlen(r->path) + (r->tree ? 0 : 1);

	return n <= qlen && !memcmp(r->path, q, n);
}

static const char *const comps[] = { "a", "b", "ab", "c" };

static void random_path(char *buf, size_t cap, int depth)
{
	size_t off = 0;

	for (int i = 0; i < depth; i++)
		off += (size_t)snprintf(buf + off, cap - off, "/%s", comps[rnd(4)]);
}

/* Random rule sets against a brute-force reference: the longest entry that
 * is a prefix of a query key holds the union of every rule covering it, a
 * rule index per kind that names a rule covering it, and NESTED exactly for
 * a directory with rules below it. */
static void test_path_random_vs_reference(void **state)
{
	static const char *const lists[] = { "read", "write", "deny" };
	static const __u8 accs[] = { AG_ACC_READ, AG_ACC_WRITE, AG_ACC_DENY };
	char text[8192], p[64], q[80];
	size_t checked = 0;

	for (int round = 0; round < 200; round++) {
		struct compiled_policy cp;
		struct manifest *m;
		size_t off = (size_t)snprintf(text, sizeof(text), HDR FILES "    default: deny\n");

		for (int l = 0; l < 3; l++) {
			int n = (int)rnd(6);

			if (!n)
				continue;
			off += (size_t)snprintf(text + off, sizeof(text) - off, "    %s:\n", lists[l]);
			for (int i = 0; i < n; i++) {
				random_path(p, sizeof(p), 1 + (int)rnd(3));
				off += (size_t)snprintf(text + off, sizeof(text) - off,
							"      - \"%s%s\"\n", p, rnd(2) ? "/" : "");
			}
		}
		m = parse_ok(text);
		assert_int_equal(compile__policy(m, &cp, &(struct diag_list){ 0 }), 0);
		for (int t = 0; t < 300; t++) {
			const struct manifest_path_list *pl[3] = { &m->files.read, &m->files.write,
								   &m->files.deny };
			const struct compiled_path_entry *best = NULL;
			bool dir = rnd(2), nested = false;
			__u8 want = 0;
			size_t qlen;

			random_path(p, sizeof(p), 1 + (int)rnd(4));
			qlen = (size_t)snprintf(q, sizeof(q), "%s%s", p, dir ? "/" : "") + 1;
			for (int l = 0; l < 3; l++)
				for (size_t i = 0; i < pl[l]->n; i++)
					if (pat_covers(&pl[l]->v[i], q, qlen))
						want |= accs[l];
			if (dir)
				for (int l = 0; l < 3; l++)
					for (size_t i = 0; i < pl[l]->n; i++)
						if (strlen(pl[l]->v[i].path) > qlen - 1 &&
						    !strncmp(pl[l]->v[i].path, q, qlen - 1))
							nested = true;
			/* the trie's longest-prefix match */
			for (size_t i = 0; i < cp.npaths; i++) {
				const struct compiled_path_entry *e = &cp.paths[i];

				if (e->kind == AG_PATH_FILES && e->len <= qlen &&
				    !memcmp(e->path, q, e->len) && (!best || e->len > best->len))
					best = e;
			}
			assert_int_equal(best ? best->val.access & ~AG_ACC_NESTED : 0, want);
			assert_int_equal(best && (best->val.access & AG_ACC_NESTED), nested);
			for (int l = 0; l < 3 && best; l++) {
				__u16 idx = l == 0 ? best->val.read_rule :
					    l == 1 ? best->val.write_rule : best->val.deny_rule;

				if (!(want & accs[l]))
					continue;
				assert_true(idx < pl[l]->n);
				assert_true(pat_covers(&pl[l]->v[idx], q, qlen));
			}
			checked++;
		}
		/* sorted and distinct */
		for (size_t i = 1; i < cp.npaths; i++) {
			const struct compiled_path_entry *x = &cp.paths[i - 1], *y = &cp.paths[i];
			size_t n = x->len < y->len ? x->len : y->len;
			int c = memcmp(x->path, y->path, n);

			assert_true(c < 0 || (c == 0 && x->len < y->len));
		}
		compiled_policy__free(&cp);
		manifest__free(m);
	}
	fprintf(stderr, "# %zu random path decisions checked\n", checked);
}

/* ------------------------------------------------------------------ */
/* Cost                                                                */
/* ------------------------------------------------------------------ */

static double time_compile(const struct manifest *m, struct compiled_policy *cp)
{
	struct diag_list dl = { 0 };
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(compile__policy(m, cp, &dl), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

static void test_10k_rules(void **state)
{
	size_t cap = 4 << 20, off = 0;
	char *text = malloc(cap);
	struct compiled_policy cp;
	struct manifest *m;
	double ms;

	assert_non_null(text);
	off += (size_t)snprintf(text + off, cap - off, HDR EGRESS "      allow:\n");
	/* 10,000 rules: /24s inside 100 /16s that are rules too, mixed ports */
	for (int i = 0; i < 10000; i++) {
		if (i % 100 == 0)
			off += (size_t)snprintf(text + off, cap - off,
						"        - cidr: [10.%d.0.0/16]\n          ports: [443]\n",
						i / 100);
		else
			off += (size_t)snprintf(text + off, cap - off,
						"        - cidr: [10.%d.%d.0/24]\n          ports: [%d, \"8000-8100\"]\n"
						"          protocol: tcp\n", i / 100, i % 100,
						1000 + i % 7);
	}
	m = parse_ok(text);
	ms = time_compile(m, &cp);
	fprintf(stderr, "# 10,000 rules compiled into %zu entries in %.2f ms\n", cp.nnet, ms);
	assert_int_equal(cp.nnet, 10000);
	/* a /24 entry carries its /16's 443 as well */
	assert_int_equal(cp.net[1].addr_bits, 96 + 24);
	assert_int_equal(cp.net[1].val.n, 3);
	assert_true(ms < 250);	/* typically a few ms; generous for slow machines */
	compiled_policy__free(&cp);
	manifest__free(m);

	/* 100,000 CIDRs (the manifest limit) in 1,000 rules */
	off = (size_t)snprintf(text, cap, HDR EGRESS "      deny:\n");
	for (int i = 0; i < 1000; i++) {
		off += (size_t)snprintf(text + off, cap - off, "        - cidr: [");
		for (int k = 0; k < 100; k++)
			off += (size_t)snprintf(text + off, cap - off, "%s10.%d.%d.%d", k ? "," : "",
						i / 250, i % 250, k);
		off += (size_t)snprintf(text + off, cap - off, "]\n");
	}
	m = parse_ok(text);
	ms = time_compile(m, &cp);
	fprintf(stderr, "# 100,000 CIDRs compiled into %zu entries in %.2f ms\n", cp.nnet, ms);
	assert_int_equal(cp.nnet, 100000);
	assert_true(ms < 2500);
	compiled_policy__free(&cp);
	manifest__free(m);
	free(text);
}

static void test_path_cost(void **state)
{
	size_t cap = 8 << 20, off = 0;
	char *text = malloc(cap);
	struct compiled_policy cp;
	struct manifest *m;
	double ms;

	assert_non_null(text);
	/* the manifest limit: 65,536 paths, 4 levels deep */
	off += (size_t)snprintf(text + off, cap - off, HDR FILES "    read:\n");
	for (int i = 0; i < 32768; i++)
		off += (size_t)snprintf(text + off, cap - off, "      - /srv/d%d/e%d/f%d%s\n",
					i / 1000, i / 10 % 100, i, i % 2 ? "/" : "");
	off += (size_t)snprintf(text + off, cap - off, "    deny:\n");
	for (int i = 0; i < 32768; i++)
		off += (size_t)snprintf(text + off, cap - off, "      - /srv/d%d/e%d/f%d/secret\n",
					i / 1000, i / 10 % 100, i);
	m = parse_ok(text);
	ms = time_compile(m, &cp);
	fprintf(stderr, "# 65,536 paths compiled into %zu entries in %.2f ms\n", cp.npaths, ms);
	assert_true(cp.npaths > 65536);
	assert_true(ms < 2500);
	compiled_policy__free(&cp);
	manifest__free(m);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_example),
		cmocka_unit_test(test_net_key_layout),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_mapped),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_merging),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_too_many_ranges),
		cmocka_unit_test(test_compile_error_direct),
		cmocka_unit_test(test_prefix_str),
		cmocka_unit_test(test_random_vs_reference),
		cmocka_unit_test(test_path_header_example),
		cmocka_unit_test(test_path_exact_vs_tree),
		cmocka_unit_test(test_path_folding),
		cmocka_unit_test(test_path_deny_read_union),
		cmocka_unit_test(test_path_exec),
		cmocka_unit_test(test_path_too_long),
		cmocka_unit_test(test_deny_paths),
		cmocka_unit_test(test_path_random_vs_reference),
		cmocka_unit_test(test_10k_rules),
		cmocka_unit_test(test_path_cost),
	};

	return cmocka_run_group_tests_name("compile", tests, NULL, NULL);
}
