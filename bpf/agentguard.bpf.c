// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * agentguard.bpf.c: in-kernel decisions and events for agentguard sessions.
 *
 * The cgroup socket programs are attached once, at the agentguard root cgroup,
 * so the kernel never runs them for a process outside it. Inside it, a process
 * that belongs to no session is allowed and not reported. The tracepoint
 * programs see every task on the host: their first test (one helper call) is
 * whether the task is below the agentguard root, and everything else is
 * skipped when it is not. The BPF LSM programs (files and exec) are also
 * host-wide and filter the same way; the loader leaves them out where BPF LSM
 * is not active. Semantics of the maps: bpf/agentguard.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "agentguard.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET		2
#define AF_INET6	10
#define IPPROTO_TCP	6
#define IPPROTO_UDP	17
#define EPERM		1
#define ENOENT		2
#define ENAMETOOLONG	36

/* Set by the loader before load. */
const volatile __u64 ag_root_cgid = 0;	/* cgroup id of the agentguard root */
const volatile __u32 ag_root_level = 0;	/* its level below the cgroup2 root */
const volatile __u32 ag_wakeup_bytes = 256 * 1024; /* wake the reader past this fill */
const volatile bool ag_log_allowed_files = false;  /* report allowed file decisions too */
const volatile __u64 ag_cache_seed = 0;	/* random: keys the decision cache's tags */
const volatile __u64 ag_agg_window_ns = 0;	/* aggregation window of denials; 0: off */
const volatile __u64 ag_rate_interval_ns = 0;	/* session rate limit: ns per event; 0: off */
const volatile __u64 ag_rate_tau_ns = 0;	/* its burst tolerance: (burst - 1) x interval */

/* ag_agg_flush() (run by the daemon): its arguments and results. */
__u64 ag_flush_cgid = 0;	/* in: only this session's slots; 0: every slot */
__u32 ag_flush_force = 0;	/* in: close open windows now, passed or not */
__u32 ag_flush_full = 0;	/* out: the ring buffer was full; slots left open */
__u32 ag_flush_count = 0;	/* out: aggregate records put on the ring buffer */
__u64 ag_agg_open = 0;		/* slots open now: the daemon flushes only when > 0 */

/* The loader's check that the LSM hooks really run (BPF LSM can be built in
 * yet not enabled, and then attaching works but nothing is ever called):
 * while ag_lsm_probe_tgid is set, ag_file_open notes an open by that process. */
__u32 ag_lsm_probe_tgid = 0;
__u32 ag_lsm_probe_seen = 0;

/* Bumped by every rename, link, unlink, rmdir and mount change on the host
 * (the hooks below, before any filter) and by the daemon after every change
 * of `sessions` or `policies`: a cached file decision is valid only for the
 * epoch it was made in (see struct open_cache). */
__u64 ag_path_epoch = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AG_DEFAULT_MAX_SESSIONS);
	__type(key, __u64);
	__type(value, struct ag_session);
} sessions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AG_DEFAULT_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct ag_policy);
} policies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, AG_DEFAULT_MAX_NET_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ag_net_key);
	__type(value, struct ag_net_val);
} net_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, AG_DEFAULT_MAX_PATH_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ag_path_key);
	__type(value, struct ag_path_val);
} path_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AG_DEFAULT_MAX_DENY_INODES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ag_inode_key);
	__type(value, struct ag_inode_val);
} deny_inodes SEC(".maps");

/* The process table: sets of entries (bpf/agentguard.h, struct ag_proc_set). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AG_PROC_SETS);
	__type(key, __u32);
	__type(value, struct ag_proc_set);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, AG_DEFAULT_RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AG_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Aggregation slots (bpf/agentguard.h, struct ag_agg_slot). The loader
 * shrinks it to one entry when aggregation is off. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AG_AGG_SLOTS);
	__type(key, __u32);
	__type(value, struct ag_agg_slot);
} agg SEC(".maps");

/* Session rate limits, by session cgroup id (struct ag_rate); written by the
 * daemon. The loader sizes it (one entry when rate limiting is off). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AG_DEFAULT_MAX_SESSIONS);
	__type(key, __u64);
	__type(value, struct ag_rate);
} rate SEC(".maps");

/*
 * Adopted cgroups (`agentguard adopt`): sessions outside the agentguard root,
 * made by something else (a systemd unit, a container runtime). `adopted`
 * holds their cgroup ids; ag_adopted_levels has bit L set when one of them is
 * at level L, and ag_adopted_min_level is the shallowest. Written by the
 * daemon before the session is added, cleared after it is removed. With
 * nothing adopted, in_scope() is under_root(): one helper call.
 */
#define AG_MAX_ADOPTED	1024
#define AG_MAX_LEVEL	31

__u32 ag_adopted_levels = 0;
__u32 ag_adopted_min_level = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AG_MAX_ADOPTED);
	__type(key, __u64);
	__type(value, __u32);	/* its level */
} adopted SEC(".maps");

static __always_inline bool in_scope(void);
#define AG_IN_SCOPE()	in_scope()
#define AG_WALK_START()	(ag_adopted_levels && ag_adopted_min_level <= ag_root_level ? \
			 ag_adopted_min_level : ag_root_level + 1)

#include "common.bpf.h"

/* Below the agentguard root, or below (or in) an adopted cgroup? */
static __always_inline bool in_scope(void)
{
	__u32 mask;

	if (under_root())
		return true;
	mask = ag_adopted_levels;
	if (!mask)
		return false;
	for (__u32 l = 1; l <= AG_MAX_LEVEL; l++) {
		__u64 id;

		if (!(mask & (1u << l)))
			continue;
		id = bpf_get_current_ancestor_cgroup_id(l);
		if (id && bpf_map_lookup_elem(&adopted, &id))
			return true;
	}
	return false;
}

static __always_inline struct ag_session *current_session(__u64 *cgid)
{
	return session_lookup(&sessions, cgid);
}

/* ------------------------------------------------------------------------ */
/* Storms: the session rate limit and the aggregation of repeated denials    */
/* (bpf/agentguard.h: struct ag_rate, struct ag_agg_slot)                    */

/* May an event of session cgid at boot time now be emitted? If not, it is
 * counted in the session's `limited` (and AG_STAT_RATE_LIMITED). Lock-free:
 * a compare and swap of the bucket's tat, retried while other CPUs win it;
 * after four lost races the event is emitted (over the rate by a few events,
 * never uncounted). */
static __always_inline bool rate_ok(__u64 cgid, __u64 now)
{
	struct ag_rate *b;

	if (!ag_rate_interval_ns)
		return true;
	b = bpf_map_lookup_elem(&rate, &cgid);
	if (!b)
		return true;
	for (int i = 0; i < 4; i++) {
		__u64 tat = b->tat, next = tat > now ? tat : now;

		if (next - now > ag_rate_tau_ns) {
			__sync_fetch_and_add(&b->limited, 1);
			stat_inc(AG_STAT_RATE_LIMITED);
			return false;
		}
		if (__sync_val_compare_and_swap(&b->tat, tat, next + ag_rate_interval_ns) == tat)
			return true;
	}
	return true;
}

/* What agg_account() found. */
#define AGG_NONE	0	/* no aggregation: emit the event */
#define AGG_COUNTED	1	/* counted in its open slot: emit nothing */
#define AGG_REOPENED	2	/* its closed slot opened again: emit the event */
#define AGG_NEW		3	/* no slot: emit the event, then agg_claim_lock() */

static __always_inline __u64 agg_mix(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* The first slot index of the set of k. */
static __always_inline __u32 agg_set(const struct ag_agg_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = ag_cache_seed;

#pragma unroll
	for (int i = 0; i < sizeof(*k) / 8; i++)
		h = agg_mix(h, w[i]);
	return (__u32)(h % AG_AGG_SETS) * AG_AGG_WAYS;
}

static __always_inline bool agg_key_eq(const struct ag_agg_key *a, const struct ag_agg_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	__u64 d = 0;

#pragma unroll
	for (int i = 0; i < sizeof(*a) / 8; i++)
		d |= x[i] ^ y[i];
	return !d;
}

/* A denial with identity k at boot time now: counted in k's open slot, or
 * k's closed slot reopened (its window starts now), or no slot for k. */
static __always_inline int agg_account(const struct ag_agg_key *k, __u64 now)
{
	__u32 base = agg_set(k);
	int r = AGG_NEW;

	for (__u32 w = 0; w < AG_AGG_WAYS; w++) {
		__u32 i = base + w;
		struct ag_agg_slot *s = bpf_map_lookup_elem(&agg, &i);

		if (!s)
			return AGG_NONE;	/* the map is shrunk: aggregation is off */
		/* unlocked peeks skip what cannot be k's (a slot being claimed
		 * for k meanwhile at worst gives k a second slot) */
		if (s->state == AG_AGG_FREE || s->key.pid != k->pid)
			continue;
		bpf_spin_lock(&s->lock);
		if (s->state != AG_AGG_FREE && agg_key_eq(&s->key, k)) {
			if (s->state == AG_AGG_OPEN) {
				if (!s->count) {
					s->first = now;
					s->last = now;
				} else {
					if (now < s->first)
						s->first = now;
					if (now > s->last)
						s->last = now;
				}
				s->count++;
				r = AGG_COUNTED;
			} else {
				s->state = AG_AGG_OPEN;
				s->start = now;
				s->count = 0;
				r = AGG_REOPENED;
			}
			bpf_spin_unlock(&s->lock);
			break;
		}
		bpf_spin_unlock(&s->lock);
	}
	if (r == AGG_COUNTED)
		stat_inc(AG_STAT_AGGREGATED);
	else if (r == AGG_REOPENED)
		__sync_fetch_and_add(&ag_agg_open, 1);
	return r;
}

/* A free or closed slot of k's set, made k's and open (window from now),
 * and returned LOCKED: the caller copies its event in as the template,
 * unlocks and counts it in ag_agg_open. NULL when every way is open. */
static __always_inline struct ag_agg_slot *agg_claim_lock(const struct ag_agg_key *k, __u64 now)
{
	__u32 base = agg_set(k);

	for (__u32 w = 0; w < AG_AGG_WAYS; w++) {
		__u32 i = base + w;
		struct ag_agg_slot *s = bpf_map_lookup_elem(&agg, &i);

		if (!s)
			return NULL;
		if (s->state == AG_AGG_OPEN)
			continue;
		bpf_spin_lock(&s->lock);
		if (s->state != AG_AGG_OPEN) {	/* a closed slot holds no count */
			s->key = *k;
			s->state = AG_AGG_OPEN;
			s->start = now;
			s->count = 0;
			s->first = 0;
			s->last = 0;
			return s;
		}
		bpf_spin_unlock(&s->lock);
	}
	return NULL;
}

/*
 * The flush, run by the daemon with BPF_PROG_TEST_RUN (it is attached
 * nowhere): every open slot whose window has passed (every open slot with
 * ag_flush_force; only the session ag_flush_cgid's when that is set) puts
 * its count, if any, on the ring buffer as an AG_EV_AGGREGATE record and is
 * closed, all under its lock, so an event counted concurrently is in this
 * record or in the next one, never in both nor in neither. A slot counted
 * into after the unlocked peek saw 0 stays open until the next flush. When
 * the ring buffer is full the flush stops (ag_flush_full); what it did not
 * move stays counted in the slots.
 */
struct agg_flush {
	__u64 now;
	__u32 count;
	__u32 full;
};

/* Is slot s, locked, to be flushed now? */
static __always_inline bool agg_due(const struct ag_agg_slot *s, __u64 now)
{
	return s->state == AG_AGG_OPEN &&
	       (!ag_flush_cgid || s->key.session_cgid == ag_flush_cgid) &&
	       (ag_flush_force || (__s64)(now - s->start) >= (__s64)ag_agg_window_ns);
}

static long agg_flush_step(__u32 i, void *arg)
{
	struct agg_flush *c = arg;
	struct ag_event_agg *r;
	struct ag_agg_slot *s;
	bool moved = false, closed = false;

	s = bpf_map_lookup_elem(&agg, &i);
	if (!s)
		return 1;
	if (!agg_due(s, c->now))	/* an unlocked peek: checked again below */
		return 0;
	if (!s->count) {
		/* nothing counted (if the peek is right): close it */
		bpf_spin_lock(&s->lock);
		if (agg_due(s, c->now) && !s->count) {
			s->state = AG_AGG_CLOSED;
			closed = true;
		}
		bpf_spin_unlock(&s->lock);
		if (closed)
			__sync_fetch_and_sub(&ag_agg_open, 1);
		return 0;
	}
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		c->full = 1;
		return 1;
	}
	bpf_spin_lock(&s->lock);
	if (agg_due(s, c->now)) {
		/* only the flush takes counts away: s->count is still > 0 */
		r->count = s->count;
		r->first = s->first;
		r->last = s->last;
		__builtin_memcpy(&r->ev, &s->tmpl, sizeof(r->ev));
		s->count = 0;
		s->state = AG_AGG_CLOSED;
		moved = true;
	}
	bpf_spin_unlock(&s->lock);
	if (!moved) {
		bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);
		return 0;
	}
	r->type = AG_EV_AGGREGATE;
	r->_pad = 0;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	c->count++;
	__sync_fetch_and_sub(&ag_agg_open, 1);
	return 0;
}

SEC("tc")
int ag_agg_flush(struct __sk_buff *skb)
{
	struct agg_flush c = { .now = bpf_ktime_get_boot_ns() };

	bpf_loop(AG_AGG_SLOTS, agg_flush_step, &c, 0);
	ag_flush_full = c.full;
	ag_flush_count = c.count;
	return 0;
}

int ag_report(struct ag_agg_key *k, __u64 now, __u64 verdict, __u64 seq);

/* The verdict as ag_report() takes it: in a register, not in *k, so that the
 * verifier need not tell apart the callers' states by their verdicts. */
#define REPORT_VERDICT(v, family)					\
	((__u64)(v).decision | (__u64)(v).rule_kind << 8 | (__u64)(v).level << 16 | \
	 (__u64)(v).rule_idx << 24 | (__u64)(family) << 40)

/* ------------------------------------------------------------------------ */
/* Network                                                                   */

struct verdict {
	__u8 decision;
	__u8 rule_kind;
	__u8 level;
	__u16 rule_idx;
};

/* The first range of v admitting (port, proto), as a rule index, or -1. */
static __always_inline int ranges_match(const struct ag_net_val *v, __u16 port, __u8 proto)
{
	for (__u32 i = 0; i < AG_NET_MAX_RANGES; i++) {
		if (i >= v->n)
			break;
		if ((v->r[i].proto & proto) && port >= v->r[i].lo && port <= v->r[i].hi)
			return v->r[i].rule;
	}
	return -1;
}

/* One policy's egress decision: deny rules, then allow rules, then default.
 * Returns true when it allows; fills rule_kind/rule_idx either way. */
static __always_inline bool egress_one(__u32 policy_id, const struct ag_policy *pol,
				       struct ag_net_key *key, __u16 port, __u8 proto,
				       struct verdict *v)
{
	struct ag_net_val *val;
	int rule;

	if (pol->egress == AG_SECTION_ABSENT) {
		v->rule_kind = AG_RULE_UNRESTRICTED;
		return true;
	}
	key->prefixlen = AG_NET_PREFIX(128);
	key->policy_kind = bpf_htonl(AG_NET_KEY(policy_id, AG_NET_DENY));
	val = bpf_map_lookup_elem(&net_rules, key);
	if (val) {
		rule = ranges_match(val, port, proto);
		if (rule >= 0) {
			v->rule_kind = AG_RULE_EGRESS_DENY;
			v->rule_idx = rule;
			return false;
		}
	}
	key->policy_kind = bpf_htonl(AG_NET_KEY(policy_id, AG_NET_ALLOW));
	val = bpf_map_lookup_elem(&net_rules, key);
	if (val) {
		rule = ranges_match(val, port, proto);
		if (rule >= 0) {
			v->rule_kind = AG_RULE_EGRESS_ALLOW;
			v->rule_idx = rule;
			return true;
		}
	}
	v->rule_kind = AG_RULE_EGRESS_DEFAULT;
	return pol->egress == AG_SECTION_ALLOW;
}

static __always_inline bool bind_one(const struct ag_policy *pol, __u16 port, __u8 proto,
				     struct verdict *v)
{
	if (pol->bind == AG_SECTION_ABSENT) {
		v->rule_kind = AG_RULE_UNRESTRICTED;
		return true;
	}
	for (__u32 i = 0; i < AG_BIND_MAX_RANGES; i++) {
		if (i >= pol->nbind)
			break;
		if ((pol->bind_ranges[i].proto & proto) && port &&
		    port >= pol->bind_ranges[i].lo && port <= pol->bind_ranges[i].hi) {
			v->rule_kind = AG_RULE_BIND_ALLOW;
			v->rule_idx = pol->bind_ranges[i].rule;
			return true;
		}
	}
	v->rule_kind = AG_RULE_BIND_DEFAULT;
	return false;
}

/* What is judged. Callers fill the fields of their kind. */
enum judge_kind {
	JUDGE_EGRESS,
	JUDGE_BIND,
	JUDGE_FILE,
	JUDGE_EXEC,
};

struct path_key_buf;

struct judge_req {
	__u8 kind;		/* enum judge_kind */
	__u8 proto;		/* network: AG_PROTO_* */
	__u16 port;		/* network */
	struct ag_net_key *nkey;	/* network: the address, kind filled per policy */
	struct path_key_buf *pkey;	/* files/exec: the path, kind filled per policy;
					 * NULL: the path could not be resolved */
	__u32 prefixlen;	/* files/exec: AG_PATH_PREFIX of the path plus NUL */
	__u8 access;		/* files: AG_ACC_READ or AG_ACC_WRITE (or both) */
	__u8 nested;		/* files: refuse a directory with rules below it */
	__u8 nanc;		/* files: used entries of anc */
	__u8 anc_overflow;	/* files: the object is deeper than anc reaches */
	__u32 dev;		/* files: the object's super block (kernel dev_t) */
	const __u64 *anc;	/* files: inode numbers of the object and its
				 * ancestors, for deny_inodes; NULL: none taken */
};

/*
 * The semantics of a session chain: the first policy in enforce mode that
 * refuses decides "deny"; a refusal only by policies in audit mode gives
 * "audit"; otherwise "allow", attributed to the session's own policy. A
 * policy id without a policy (never the case while the daemon keeps the maps
 * consistent) refuses: fail closed. judge() and judge_paths() both go
 * through chain_add() and chain_end().
 */
struct chain {
	struct verdict out;
	struct verdict audit;
	bool audited;
};

static __always_inline void chain_init(struct chain *c)
{
	c->out.decision = AG_ALLOW;
	c->out.rule_kind = AG_RULE_NONE;
	c->out.rule_idx = 0;
	c->out.level = 0;
	c->audited = false;
}

/* The policy at chain position i (pol, NULL if missing) allowed (ok) or
 * refused, as v says. Returns true when the chain is decided: deny. */
static __always_inline bool chain_add(struct chain *c, __u32 i, const struct ag_policy *pol,
				      bool ok, const struct verdict *v)
{
	if (ok) {
		c->out.rule_kind = v->rule_kind;
		c->out.rule_idx = v->rule_idx;
		c->out.level = i;
		return false;
	}
	if (pol && pol->mode == AG_MODE_AUDIT) {
		if (!c->audited) {
			c->audit = *v;
			c->audit.level = i;
			c->audited = true;
		}
		return false;
	}
	c->out.decision = AG_DENY;
	c->out.rule_kind = v->rule_kind;
	c->out.rule_idx = v->rule_idx;
	c->out.level = i;
	return true;
}

static __always_inline void chain_end(const struct chain *c, struct verdict *out)
{
	*out = c->out;
	if (c->out.decision != AG_DENY && c->audited) {
		out->decision = AG_AUDIT;
		out->rule_kind = c->audit.rule_kind;
		out->rule_idx = c->audit.rule_idx;
		out->level = c->audit.level;
	}
}

/* Judge a network action against every policy of the session chain. */
static __always_inline void judge(const struct ag_session *s, struct judge_req *r,
				  struct verdict *out)
{
	struct chain c;

	chain_init(&c);
	for (__u32 i = 0; i < AG_MAX_DEPTH; i++) {
		struct ag_policy *pol;
		struct verdict v;
		__u32 id;
		bool ok;

		if (i >= s->depth)
			break;
		id = s->policy[i];
		v.rule_kind = AG_RULE_NONE;
		v.rule_idx = 0;
		v.level = i;
		pol = bpf_map_lookup_elem(&policies, &id);
		if (!pol)
			ok = false;
		else if (r->kind == JUDGE_BIND)
			ok = bind_one(pol, r->port, r->proto, &v);
		else
			ok = egress_one(id, pol, r->nkey, r->port, r->proto, &v);
		if (chain_add(&c, i, pol, ok, &v))
			break;
	}
	chain_end(&c, out);
}

static __always_inline void count_decision(__u8 decision)
{
	stat_inc(AG_STAT_DECISIONS);
	if (decision == AG_DENY)
		stat_inc(AG_STAT_DENIED);
	else if (decision == AG_AUDIT)
		stat_inc(AG_STAT_AUDITED);
}

static __always_inline __u8 sock_proto(struct bpf_sock_addr *ctx)
{
	__u32 p = ctx->protocol;

	if (p == IPPROTO_TCP)
		return AG_PROTO_TCP;
	if (p == IPPROTO_UDP)
		return AG_PROTO_UDP;
	return AG_PROTO_OTHER;
}

/* Returns 1 to let the call proceed, 0 to fail it with EPERM. */
static __always_inline int handle_sock_addr(struct bpf_sock_addr *ctx, __u32 type,
					    bool v6, bool is_bind)
{
	struct ag_net_key key = {};
	struct judge_req req = {};
	struct ag_agg_key ak = {};
	struct ag_session *s;
	struct verdict v;
	__u64 cgid = 0;
	__u16 port;
	__u8 proto;

	s = current_session(&cgid);
	if (!s)
		return 1;

	if (v6) {
		__u32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1];
		__u32 w2 = ctx->user_ip6[2], w3 = ctx->user_ip6[3];

		__builtin_memcpy(&key.addr[0], &w0, 4);
		__builtin_memcpy(&key.addr[4], &w1, 4);
		__builtin_memcpy(&key.addr[8], &w2, 4);
		__builtin_memcpy(&key.addr[12], &w3, 4);
	} else {
		__u32 w = ctx->user_ip4;

		key.addr[10] = 0xff;
		key.addr[11] = 0xff;
		__builtin_memcpy(&key.addr[12], &w, 4);
	}
	port = bpf_ntohs((__u16)ctx->user_port);
	proto = sock_proto(ctx);

	req.kind = is_bind ? JUDGE_BIND : JUDGE_EGRESS;
	req.nkey = &key;
	req.port = port;
	req.proto = proto;
	judge(s, &req, &v);
	count_decision(v.decision);

	/* The decision is made; ag_report() only reports it. */
	ak.session_cgid = cgid;
	ak.type = type;
	ak.access = proto;
	ak.port = port;
	__builtin_memcpy(ak.target, key.addr, 16);
	ag_report(&ak, bpf_ktime_get_boot_ns(), REPORT_VERDICT(v, v6 ? AF_INET6 : AF_INET), 0);
	return v.decision == AG_DENY ? 0 : 1;
}

SEC("cgroup/connect4")
int ag_connect4(struct bpf_sock_addr *ctx)
{
	return handle_sock_addr(ctx, AG_EV_NET_CONNECT, false, false);
}

SEC("cgroup/connect6")
int ag_connect6(struct bpf_sock_addr *ctx)
{
	return handle_sock_addr(ctx, AG_EV_NET_CONNECT, true, false);
}

SEC("cgroup/sendmsg4")
int ag_sendmsg4(struct bpf_sock_addr *ctx)
{
	return handle_sock_addr(ctx, AG_EV_NET_SEND, false, false);
}

SEC("cgroup/sendmsg6")
int ag_sendmsg6(struct bpf_sock_addr *ctx)
{
	return handle_sock_addr(ctx, AG_EV_NET_SEND, true, false);
}

SEC("cgroup/bind4")
int ag_bind4(struct bpf_sock_addr *ctx)
{
	return handle_sock_addr(ctx, AG_EV_NET_BIND, false, true);
}

SEC("cgroup/bind6")
int ag_bind6(struct bpf_sock_addr *ctx)
{
	return handle_sock_addr(ctx, AG_EV_NET_BIND, true, true);
}

/* ------------------------------------------------------------------------ */
/* Processes                                                                 */

/* tp_btf arguments are BTF pointers: their fields are read with plain
 * loads, not probe reads. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(ag_fork, struct task_struct *parent, struct task_struct *child)
{
	struct ag_proc *pp, cp = {};
	__u32 ptgid, ctgid;

	if (!in_scope())
		return 0;
	ptgid = parent->tgid;
	ctgid = child->tgid;
	if (ptgid == ctgid)
		return 0;	/* a new thread */
	pp = proc_lookup(ptgid);
	if (pp) {
		cp.exec_ktime = pp->exec_ktime;
		cp.parent_exec_ktime = pp->parent_exec_ktime;
	}
	cp.ppid = ptgid;
	proc_store(ctgid, &cp);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ag_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct ag_event_exec *e;
	struct ag_session *s;
	struct ag_proc *cur;
	__u64 cgid = 0, now, parent_exec;
	__u32 tgid, ppid;
	long n;

	if (!in_scope())
		return 0;
	s = current_session(&cgid);
	if (!s)
		return 0;
	tgid = p->tgid;		/* p is current */
	now = bpf_ktime_get_boot_ns();
	cur = proc_lookup(tgid);
	if (cur) {
		/* in place: the process has no other thread now */
		ppid = cur->ppid;
		parent_exec = cur->exec_ktime;
		cur->parent_exec_ktime = parent_exec;
		cur->exec_ktime = now;
	} else {
		struct task_struct *parent = p->real_parent;
		struct ag_proc *pp, np = {};

		ppid = parent->tgid;
		pp = proc_lookup(ppid);
		/* A parent we never saw exec (it started before the daemon, or
		 * outside agentguard): its identity is its start time, rounded
		 * to USER_HZ ticks like /proc/<pid>/stat field 22, so userspace
		 * derives the same exec_id from /proc. */
		parent_exec = pp ? pp->exec_ktime :
			parent->start_boottime / AG_START_TICK_NS * AG_START_TICK_NS;
		np.exec_ktime = now;
		np.parent_exec_ktime = parent_exec;
		np.ppid = ppid;
		proc_store(tgid, &np);
	}

	if (!rate_ok(cgid, now))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(AG_STAT_EVENTS_LOST);
		return 0;
	}
	fill_hdr_task(&e->h, AG_EV_EXEC, cgid, now);
	e->h.exec_ktime = now;
	e->h.ppid = ppid;
	e->parent_exec_ktime = parent_exec;
	e->_pad = 0;
	n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), bprm->filename);
	e->filename_len = n > 0 ? n - 1 : 0;
	if (n <= 0)
		e->filename[0] = 0;
	bpf_ringbuf_submit(e, wakeup_flags());
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ag_exit, struct task_struct *p)
{
	struct ag_event_exit *e;
	struct ag_session *s;
	struct ag_proc *cur;
	__u64 cgid = 0, now;
	__u32 tgid;

	if (!in_scope())
		return 0;
	tgid = p->tgid;		/* p is current */
	if (p->pid != tgid)
		return 0;	/* a thread, not the process */
	cur = proc_lookup(tgid);
	s = current_session(&cgid);
	now = s ? bpf_ktime_get_boot_ns() : 0;
	if (s && rate_ok(cgid, now)) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e) {
			stat_inc(AG_STAT_EVENTS_LOST);
		} else {
			fill_hdr_task(&e->h, AG_EV_EXIT, cgid, now);
			fill_hdr_proc(&e->h, cur);
			e->exit_code = p->exit_code;
			e->_pad = 0;
			bpf_ringbuf_submit(e, wakeup_flags());
		}
	}
	if (cur)
		proc_free(cur, tgid);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Files and exec (BPF LSM)                                                  */

#define FMODE_READ	0x1
#define FMODE_WRITE	0x2
#define FMODE_EXEC	0x20
#define __FMODE_EXEC	0x20	/* the same bit in f_flags (where 6.1 has it) */
#define S_IFMT		00170000
#define S_IFDIR		0040000
#define RENAME_EXCHANGE	(1 << 1)

#define AG_PATH_BUF	4096	/* PATH_MAX: longer paths are unresolvable */
#define AG_NAME_MAX	255	/* bytes of one path component */
#define AG_WALK_STEPS	4096	/* components and mount crossings walked */
#define AG_DENY_ANCESTORS 64	/* dentries checked against deny_inodes, the object's included */
#define AG_ATTEMPTS	2	/* see run_check() */

/*
 * Per-CPU scratch for resolving a path. `k` is laid out as struct
 * ag_path_key with room for a whole path, so it is the trie key itself: only
 * prefixlen and policy_kind change per policy, and the trie never reads past
 * the first AG_PATH_KEY_LEN path bytes. `walk` is where walk_path() builds a
 * path from its end.
 *
 * LSM programs run with migration disabled but, on a preemptible kernel,
 * another task may run the same program on this CPU meanwhile. Every use
 * bumps `seq` first and checks it is unchanged after its last read of the
 * buffer; if not, the work is redone (path_check()).
 */
struct path_key_buf {
	__u32 prefixlen;
	__u32 policy_kind;
	char path[AG_PATH_BUF + 8];	/* + room for the '/' of a directory */
};

struct path_scratch {
	__u64 seq;
	struct path_key_buf k;
	char walk[AG_PATH_BUF + AG_NAME_MAX + 1];
	__u64 anc[AG_DENY_ANCESTORS];	/* inode numbers: the object, its parent, ... */
	__u32 dev;			/* of their super block */
	__u32 nanc;			/* used entries of anc */
	__u32 anc_overflow;		/* the root was not reached */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} scratch SEC(".maps");

/* One bpf_loop() step per inode number of scratch->anc (see deny_inode()). */
struct deny_walk {
	struct ag_inode_key k;
	__u32 n;
	int rule;		/* out: files.deny index, or -1 */
};

static long deny_step(__u32 i, void *arg)
{
	struct deny_walk *w = arg;
	struct ag_inode_val *v;
	__u32 zero = 0;
	struct path_scratch *sc;

	if (i >= w->n || i >= AG_DENY_ANCESTORS)
		return 1;
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 1;
	barrier_var(i);
	w->k.ino = sc->anc[i & (AG_DENY_ANCESTORS - 1)];
	if (!w->k.ino)
		return 0;	/* a name not created yet */
	v = bpf_map_lookup_elem(&deny_inodes, &w->k);
	if (v && (i == 0 || v->tree)) {
		w->rule = v->rule;
		return 1;
	}
	return 0;
}

/* deny_inodes for one policy: the object itself (an exact or a tree deny
 * entry), then, when the policy has tree entries, its ancestors up to the
 * root of its file system (tree entries only). Returns the files.deny index,
 * -1 for none, or -2 when the object is deeper than AG_DENY_ANCESTORS below
 * its file system's root and the policy has tree entries: then an ancestor
 * went unchecked, and the action is refused. */
static __always_inline int deny_inode(__u32 id, const struct ag_policy *pol,
				      const struct judge_req *r)
{
	struct deny_walk w = { .k = { .policy = id, .dev = r->dev }, .rule = -1 };
	bool trees = pol->flags & AG_POLICY_F_DENY_TREES;

	if (!(pol->flags & (AG_POLICY_F_DENY_INODES | AG_POLICY_F_DENY_TREES)) || !r->anc)
		return -1;
	if (trees && r->anc_overflow)
		return -2;
	w.n = trees ? r->nanc : 1;
	bpf_loop(AG_DENY_ANCESTORS, deny_step, &w, 0);
	return w.rule;
}

/* One policy's files decision (bpf/agentguard.h): DENY, then deny_inodes,
 * then what the matching rules grant, then the default. */
/* The path_rules value of policy id and kind for the resolved path, or NULL. */
static __always_inline struct ag_path_val *path_lookup(__u32 id, __u32 kind,
						       struct judge_req *r)
{
	r->pkey->prefixlen = r->prefixlen;
	r->pkey->policy_kind = bpf_htonl(AG_PATH_KEY(id, kind));
	return bpf_map_lookup_elem(&path_rules, r->pkey);
}

static __always_inline bool files_one(__u32 id, const struct ag_policy *pol,
				      struct judge_req *r, struct verdict *v)
{
	struct ag_path_val *val = NULL;
	int rule;

	if (pol->files == AG_SECTION_ABSENT) {
		v->rule_kind = AG_RULE_UNRESTRICTED;
		return true;
	}
	if (!r->pkey) {
		v->rule_kind = AG_RULE_PATH_TOO_LONG;
		return false;
	}
	val = path_lookup(id, AG_PATH_FILES, r);
	if (val && (val->access & AG_ACC_DENY)) {
		v->rule_kind = AG_RULE_FILES_DENY;
		v->rule_idx = val->deny_rule;
		return false;
	}
	if (val && r->nested && (val->access & AG_ACC_NESTED)) {
		v->rule_kind = val->nested_kind;
		v->rule_idx = val->nested_rule;
		return false;
	}
	rule = deny_inode(id, pol, r);
	if (rule == -2) {
		v->rule_kind = AG_RULE_PATH_TOO_LONG;
		return false;
	}
	if (rule >= 0) {
		v->rule_kind = AG_RULE_FILES_DENY;
		v->rule_idx = rule;
		return false;
	}
	if (val && (val->access & (AG_ACC_READ | AG_ACC_WRITE))) {
		if (val->access & AG_ACC_WRITE) {
			v->rule_kind = AG_RULE_FILES_WRITE;
			v->rule_idx = val->write_rule;
			if (!(r->access & AG_ACC_WRITE) && (val->access & AG_ACC_READ)) {
				v->rule_kind = AG_RULE_FILES_READ;
				v->rule_idx = val->read_rule;
			}
			return true;
		}
		/* only read rules cover it: a read-only path */
		v->rule_kind = AG_RULE_FILES_READ;
		v->rule_idx = val->read_rule;
		return !(r->access & AG_ACC_WRITE);
	}
	v->rule_kind = AG_RULE_FILES_DEFAULT;
	return pol->files == AG_SECTION_ALLOW;
}

static __always_inline bool exec_one(__u32 id, const struct ag_policy *pol,
				     struct judge_req *r, struct verdict *v)
{
	struct ag_path_val *val;

	if (pol->exec == AG_SECTION_ABSENT) {
		v->rule_kind = AG_RULE_UNRESTRICTED;
		return true;
	}
	if (!r->pkey) {
		v->rule_kind = AG_RULE_PATH_TOO_LONG;
		return false;
	}
	val = path_lookup(id, AG_PATH_EXEC, r);
	if (val && (val->access & AG_ACC_EXEC)) {
		v->rule_kind = AG_RULE_EXEC_ALLOW;
		v->rule_idx = val->exec_rule;
		return true;
	}
	v->rule_kind = AG_RULE_EXEC_DEFAULT;
	return pol->exec == AG_SECTION_ALLOW;
}

/*
 * judge() for files and exec, one policy per bpf_loop() step: the verifier
 * then checks one step instead of every combination of outcomes along the
 * chain. The chain is copied in; the path key is this CPU's scratch.
 */
struct path_judge {
	struct chain c;
	__u32 policy[AG_MAX_DEPTH];
	__u32 depth;
	__u32 prefixlen;
	__u32 dev;
	__u8 kind;		/* JUDGE_FILE or JUDGE_EXEC */
	__u8 access;
	__u8 nested;
	__u8 resolved;		/* the path is in the scratch key */
	__u8 nanc;		/* ancestors taken into the scratch (0: none) */
	__u8 anc_overflow;
};

static long path_judge_step(__u32 i, void *arg)
{
	struct path_judge *j = arg;
	struct judge_req r = {};
	struct path_scratch *sc;
	struct ag_policy *pol;
	struct verdict v = {};
	__u32 id, zero = 0;
	bool ok = false;

	if (i >= AG_MAX_DEPTH || i >= j->depth)
		return 1;
	/* keep the bound visible to the verifier through the compiler */
	barrier_var(i);
	id = j->policy[i & (AG_MAX_DEPTH - 1)];
	r.kind = j->kind;
	r.access = j->access;
	r.nested = j->nested;
	r.prefixlen = j->prefixlen;
	r.dev = j->dev;
	r.nanc = j->nanc;
	r.anc_overflow = j->anc_overflow;
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (sc && j->resolved)
		r.pkey = &sc->k;
	if (sc && j->nanc)
		r.anc = sc->anc;
	v.level = i;
	pol = bpf_map_lookup_elem(&policies, &id);
	if (pol)
		ok = j->kind == JUDGE_EXEC ? exec_one(id, pol, &r, &v) : files_one(id, pol, &r, &v);
	return chain_add(&j->c, i, pol, ok, &v) ? 1 : 0;
}

static __always_inline void judge_paths(const struct ag_session *s, struct path_judge *j,
					struct verdict *out)
{
	chain_init(&j->c);
	j->depth = s->depth;
	for (__u32 i = 0; i < AG_MAX_DEPTH; i++)
		j->policy[i] = s->policy[i];
	bpf_loop(AG_MAX_DEPTH, path_judge_step, j, 0);
	chain_end(&j->c, out);
}

/* Does any policy of the chain restrict files (exec)? Nothing else needs a
 * path, unless allowed file decisions are to be reported. *flags collects
 * the AG_POLICY_F_* of the chain. */
static __always_inline bool chain_restricts(const struct ag_session *s, bool exec,
					    __u16 *flags)
{
	bool any = false;

	for (__u32 i = 0; i < AG_MAX_DEPTH; i++) {
		struct ag_policy *pol;
		__u32 id;

		if (i >= s->depth)
			break;
		id = s->policy[i];
		pol = bpf_map_lookup_elem(&policies, &id);
		if (!pol)
			return true;	/* judge_paths() refuses it */
		*flags |= pol->flags;
		if ((exec ? pol->exec : pol->files) != AG_SECTION_ABSENT)
			any = true;
	}
	return any;
}

/*
 * The path of (vfsmount, dentry) as d_path() would give it, built from its
 * end in scratch->walk: bpf_d_path() is not allowed in the path hooks. The
 * walk runs under RCU like every LSM program, so no dentry goes away under
 * it; a concurrent rename can make it see a mix of old and new names, as any
 * lockless reader would.
 */
struct path_walk {
	__u64 dentry;		/* struct dentry * */
	__u64 vfsmnt;		/* struct vfsmount * */
	__u64 root_dentry;	/* the task's root: where d_path() stops */
	__u64 root_mnt;
	__u32 pos;		/* walk[pos..AG_PATH_BUF) holds the tail so far */
	int err;
	bool done;
};

static long walk_step(__u32 i, void *arg)
{
	struct path_walk *w = arg;
	struct dentry *d = (struct dentry *)w->dentry, *parent, *mnt_root;
	struct vfsmount *vm = (struct vfsmount *)w->vfsmnt;
	struct path_scratch *sc;
	const unsigned char *name;
	__u32 len, pos, zero = 0;

	if (w->dentry == w->root_dentry && w->vfsmnt == w->root_mnt) {
		w->done = true;
		return 1;
	}
	mnt_root = BPF_CORE_READ(vm, mnt_root);
	parent = BPF_CORE_READ(d, d_parent);
	if (d == mnt_root || d == parent) {
		struct mount *m = (void *)vm - bpf_core_field_offset(struct mount, mnt);
		struct mount *mp = BPF_CORE_READ(m, mnt_parent);

		if (d != mnt_root || m == mp) {
			/* the global root, or a dentry cut off from it */
			w->done = true;
			return 1;
		}
		w->dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		w->vfsmnt = (__u64)((void *)mp + bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	if (len > AG_NAME_MAX || w->pos > AG_PATH_BUF || w->pos < len + 2) {
		w->err = -ENAMETOOLONG;
		return 1;
	}
	pos = w->pos - len - 1;	/* 1 .. AG_PATH_BUF - 1 by the test above */
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc) {
		w->err = -ENOENT;
		return 1;
	}
	/* no-op masks that show the verifier the bounds */
	barrier_var(pos);
	pos &= AG_PATH_BUF - 1;
	barrier_var(len);
	len &= AG_NAME_MAX;
	sc->walk[pos] = '/';
	bpf_probe_read_kernel(&sc->walk[pos + 1], len, name);
	w->pos = pos;
	w->dentry = (__u64)parent;
	return 0;
}

/* Resolve (mnt, dentry) into sc->k.path; returns its length, or -errno. */
static __always_inline long walk_path(struct path_scratch *sc, __u64 mnt, __u64 dentry,
				      bool is_dir)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct path_walk w = {
		.dentry = dentry,
		.vfsmnt = mnt,
		.root_dentry = (__u64)BPF_CORE_READ(task, fs, root.dentry),
		.root_mnt = (__u64)BPF_CORE_READ(task, fs, root.mnt),
		.pos = AG_PATH_BUF,
	};
	__u32 len, pos;

	sc->walk[AG_PATH_BUF] = 0;
	if (is_dir) {
		sc->walk[AG_PATH_BUF - 1] = '/';
		w.pos = AG_PATH_BUF - 1;
	}
	bpf_loop(AG_WALK_STEPS, walk_step, &w, 0);
	if (w.err)
		return w.err;
	if (!w.done)
		return -ENAMETOOLONG;
	if (w.pos >= AG_PATH_BUF) {
		/* nothing above it: the root */
		sc->walk[AG_PATH_BUF - 1] = '/';
		w.pos = AG_PATH_BUF - 1;
	}
	pos = w.pos;	/* 1 .. AG_PATH_BUF - 1 */
	barrier_var(pos);
	pos &= AG_PATH_BUF - 1;
	len = AG_PATH_BUF - pos;
	barrier_var(len);
	len &= 2 * AG_PATH_BUF - 1;	/* a no-op: at most AG_PATH_BUF - 1 */
	bpf_probe_read_kernel(sc->k.path, len + 1, &sc->walk[pos]);
	return len;
}

/* Resolve a struct path with bpf_d_path() into sc->k.path; a directory gets
 * a final '/'. Returns the length, or -errno. */
static __always_inline long dpath_path(struct path_scratch *sc, struct path *p, bool is_dir)
{
	long n = bpf_d_path(p, sc->k.path, AG_PATH_BUF);

	if (n < 1)
		return n < 0 ? n : -ENAMETOOLONG;
	n--;			/* without its NUL */
	if (is_dir && n > 1) {
		__u32 at;

		if (n > AG_PATH_BUF - 2)
			return -ENAMETOOLONG;
		at = n;
		barrier_var(at);
		at &= AG_PATH_BUF - 1;	/* a no-op that shows the verifier the bound */
		sc->k.path[at] = '/';
		sc->k.path[at + 1] = 0;
		n++;
	}
	return n;
}

/* One action on one path, as the hooks below describe it. */
struct hook_req {
	__u64 cgid;		/* the session */
	__u64 mnt;		/* struct vfsmount * of the walk (path hooks) */
	__u64 dentry;		/* struct dentry * of the object */
	__u32 type;		/* AG_EV_FILE_OPEN or AG_EV_EXEC_CHECK */
	__u8 access;		/* AG_ACC_READ, _WRITE or _EXEC */
	__u8 op;		/* AG_FILE_OP_* */
	__u8 is_dir;
	__u8 nested;		/* rename of a directory */
	__u16 pflags;		/* AG_POLICY_F_* of the chain */
	__u8 allowed;		/* out: allowed, and nothing reported */
};

/* The inode numbers deny_inodes is asked about, into sc: the object and its
 * ancestors up to its file system's root, with plain loads (no helper
 * calls). A subprogram whose results go through the map value only, so the
 * verifier follows one path after it, not one per depth. */
static __noinline int take_ancestors(struct dentry *d, struct path_scratch *sc)
{
	__u32 n = 0;

	if (!d || !sc)
		return 0;
	sc->dev = d->d_sb->s_dev;
	sc->anc_overflow = 1;
	for (__u32 i = 0; i < AG_DENY_ANCESTORS; i++) {
		struct inode *inode = d->d_inode;
		struct dentry *parent = d->d_parent;

		sc->anc[i] = inode ? inode->i_ino : 0;
		n = i + 1;
		if (!parent || parent == d) {
			sc->anc_overflow = 0;
			break;
		}
		d = parent;
	}
	sc->nanc = n;
	return 0;
}

/* The last component of the object as ".../name" into the scratch key, for
 * an event about a path that could not be resolved (which left the key
 * unused); returns its length. */
static __always_inline __u32 scratch_tail(struct path_scratch *sc, __u64 dentry)
{
	const unsigned char *name = BPF_CORE_READ((struct dentry *)dentry, d_name.name);
	long n;

	sc->k.path[0] = '.';
	sc->k.path[1] = '.';
	sc->k.path[2] = '.';
	sc->k.path[3] = '/';
	n = bpf_probe_read_kernel_str(&sc->k.path[4], AG_PATH_LEN - 4, name);
	if (n < 1) {
		sc->k.path[4] = 0;
		n = 1;
	}
	return 4 + n - 1;
}

/* A 64-bit hash of the resolved path in the scratch key, len bytes long: of
 * its first AG_PATH_LEN - 1 bytes, what an event carries (the aggregation
 * identity adds len itself). One bpf_loop() step per 8 bytes: the verifier
 * checks one step, not every length. */
struct path_hash {
	__u64 h;
	__u32 n;
};

static long path_hash_step(__u32 i, void *arg)
{
	struct path_hash *ph = arg;
	struct path_scratch *sc;
	__u32 zero = 0, left;
	__u64 w;

	if (i >= AG_PATH_LEN / 8 || i * 8 >= ph->n)
		return 1;
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 1;
	barrier_var(i);
	__builtin_memcpy(&w, &sc->k.path[(i & (AG_PATH_LEN / 8 - 1)) * 8], sizeof(w));
	left = ph->n - i * 8;
	if (left < 8)
		w &= (1ull << (8 * left)) - 1;
	ph->h = agg_mix(ph->h, w);
	return 0;
}

static __always_inline __u64 path_hash(__u32 len)
{
	struct path_hash ph = { .n = len < AG_PATH_LEN - 1 ? len : AG_PATH_LEN - 1 };

	ph.h = agg_mix(ag_cache_seed, ph.n);
	bpf_loop(AG_PATH_LEN / 8, path_hash_step, &ph, 0);
	return ph.h;
}

/* The header of a reported event of identity k at boot time now. */
static __always_inline void report_hdr(struct ag_event_hdr *h, const struct ag_agg_key *k,
				       __u64 now, __u32 ppid)
{
	fill_hdr_task(h, k->type, k->session_cgid, now);
	h->exec_ktime = k->exec_ktime;
	h->ppid = ppid;
	h->decision = k->decision;
	h->rule_kind = k->rule_kind;
	h->rule_idx = k->rule_idx;
	h->level = k->level;
}

/*
 * Report one action of the current task, decided at boot time now: counted
 * in its aggregation slot (a denial or audit decision), or rate limited, or
 * put on the ring buffer, or counted as lost: exactly one of them. The
 * caller fills in *k the session, the type and the target (network: access
 * = protocol, port, target = address; files: access, op, path_len (0 for a
 * path that could not be resolved) and name_len) and passes the verdict
 * (and a network event's family) as REPORT_VERDICT(); this fills the rest.
 * A file event's path is the string in this CPU's scratch key (".../<name>"
 * for an unresolved one), which the caller began to use when its seq was
 * `seq`: if another task used it since, nothing is counted and 1 is
 * returned (the caller redoes the check). Returns 0 otherwise.
 *
 * A global function, so the verifier checks it once per program rather than
 * once per state its callers reach it in.
 */
__noinline int ag_report(struct ag_agg_key *k, __u64 now, __u64 verdict, __u64 seq)
{
	struct path_scratch *sc;
	struct ag_agg_slot *slot;
	struct ag_proc *p;
	__u32 zero = 0, ppid;
	int agg = AGG_NONE;
	bool file;

	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!k || !sc)
		return 0;	/* cannot happen */
	file = k->type == AG_EV_FILE_OPEN || k->type == AG_EV_EXEC_CHECK;
	k->decision = verdict;
	k->rule_kind = verdict >> 8;
	k->level = verdict >> 16;
	k->rule_idx = verdict >> 24;
	k->pid = bpf_get_current_pid_tgid() >> 32;
	k->uid = (__u32)bpf_get_current_uid_gid();
	/* scalars only from here: a pointer into one of the set's ways would
	 * make the verifier walk the rest once per way */
	p = proc_lookup(k->pid);
	k->exec_ktime = p ? p->exec_ktime : 0;
	ppid = p ? p->ppid : 0;
	barrier_var(ppid);
	if (k->decision != AG_ALLOW && ag_agg_window_ns) {
		if (file) {
			__u64 h = path_hash(k->name_len);

			__builtin_memcpy(k->target, &h, sizeof(h));
			barrier();
			if (sc->seq != seq)
				return 1;	/* the path hashed was another task's */
		}
		agg = agg_account(k, now);
		if (agg == AGG_COUNTED)
			return 0;
	}
	if (!rate_ok(k->session_cgid, now))
		return 0;
	if (file) {
		struct ag_event_file *f = bpf_ringbuf_reserve(&events, sizeof(*f), 0);

		if (!f) {
			stat_inc(AG_STAT_EVENTS_LOST);
			return 0;
		}
		report_hdr(&f->h, k, now, ppid);
		f->access = k->access;
		f->op = k->op;
		f->_pad = 0;
		f->path_len = k->path_len;
		if (bpf_probe_read_kernel_str(f->path, sizeof(f->path), sc->k.path) < 0)
			f->path[0] = 0;
		barrier();
		if (sc->seq != seq) {
			/* redone: what was done above (a window reopened, a
			 * token taken) is not counted anywhere */
			bpf_ringbuf_discard(f, 0);
			return 1;
		}
		if (agg == AGG_NEW) {
			slot = agg_claim_lock(k, now);
			if (slot) {
				__builtin_memcpy(&slot->tmpl.file, f, sizeof(*f));
				bpf_spin_unlock(&slot->lock);
				__sync_fetch_and_add(&ag_agg_open, 1);
			}
		}
		bpf_ringbuf_submit(f, wakeup_flags());
		return 0;
	} else {
		struct ag_event_net *n = bpf_ringbuf_reserve(&events, sizeof(*n), 0);

		if (!n) {
			stat_inc(AG_STAT_EVENTS_LOST);
			return 0;
		}
		report_hdr(&n->h, k, now, ppid);
		n->family = verdict >> 40;
		n->proto = k->access;
		n->port = k->port;
		n->_pad = 0;
		__builtin_memcpy(n->addr, k->target, 16);
		if (agg == AGG_NEW) {
			slot = agg_claim_lock(k, now);
			if (slot) {
				__builtin_memcpy(&slot->tmpl.net, n, sizeof(*n));
				bpf_spin_unlock(&slot->lock);
				__sync_fetch_and_add(&ag_agg_open, 1);
			}
		}
		bpf_ringbuf_submit(n, wakeup_flags());
		return 0;
	}
}

/*
 * Resolve, judge and report one action. fpath, when not NULL, is resolved
 * with bpf_d_path() (file_open, bprm_check_security); otherwise hr->mnt and
 * hr->dentry are walked. Returns 0 to allow, -EPERM to deny, or 1 when
 * another user of this CPU's scratch interfered and it must be redone.
 */
static __noinline int path_check(struct path *fpath, struct dentry *dentry,
				 struct hook_req *hr, const struct ag_session *s)
{
	struct path_judge j = {};
	struct path_scratch *sc;
	struct verdict v;
	__u32 zero = 0;
	__u64 seq;
	long len;

	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return -EPERM;	/* cannot happen; fail closed */
	seq = ++sc->seq;
	barrier();

	if (fpath)
		len = dpath_path(sc, fpath, hr->is_dir);
	else
		len = walk_path(sc, hr->mnt, hr->dentry, hr->is_dir);
	j.kind = hr->type == AG_EV_EXEC_CHECK ? JUDGE_EXEC : JUDGE_FILE;
	j.access = hr->access;
	j.nested = hr->nested;
	if (j.kind == JUDGE_FILE &&
	    (hr->pflags & (AG_POLICY_F_DENY_INODES | AG_POLICY_F_DENY_TREES))) {
		take_ancestors(dentry, sc);
		j.dev = sc->dev;
		j.nanc = sc->nanc;
		j.anc_overflow = sc->anc_overflow;
	}
	if (len >= 0) {
		j.resolved = 1;
		j.prefixlen = AG_PATH_PREFIX(len + 1 < AG_PATH_KEY_LEN ? len + 1 :
					     AG_PATH_KEY_LEN);
	}
	judge_paths(s, &j, &v);

	/* The decision and the path below come from this CPU's scratch: valid
	 * only if no other task used it meanwhile. */
	barrier();
	if (sc->seq != seq)
		return 1;
	if (v.decision != AG_ALLOW || (ag_log_allowed_files && hr->type == AG_EV_FILE_OPEN)) {
		struct ag_agg_key ak = {};

		ak.session_cgid = hr->cgid;
		ak.type = hr->type;
		ak.access = hr->access;
		ak.op = hr->op;
		ak.path_len = len > 0 ? len : 0;
		ak.name_len = len > 0 ? len : scratch_tail(sc, hr->dentry);
		if (ag_report(&ak, bpf_ktime_get_boot_ns(), REPORT_VERDICT(v, 0), seq))
			return 1;
	} else {
		hr->allowed = v.decision == AG_ALLOW;
	}
	count_decision(v.decision);
	return v.decision == AG_DENY ? -EPERM : 0;
}

/* path_check(), once more if another task interfered (see struct
 * path_scratch); if that happens again, fail closed. Each attempt costs the
 * verifier a full pass over path_check(), hence only two. */
static __always_inline int run_check(struct path *fpath, struct dentry *dentry,
				     struct hook_req *hr, const struct ag_session *s)
{
	for (int i = 0; i < AG_ATTEMPTS; i++) {
		int r = path_check(fpath, dentry, hr, s);

		if (r <= 0)
			return r;
	}
	return -EPERM;
}

static __always_inline bool dentry_is_dir(struct dentry *d)
{
	struct inode *inode = BPF_CORE_READ(d, d_inode);

	return inode && (BPF_CORE_READ(inode, i_mode) & S_IFMT) == S_IFDIR;
}

/*
 * The decision cache. Resolving and judging a path is the cost of a file
 * hook (bpf_d_path() and a trie lookup per policy of the chain). An allowed
 * open or exec that reported nothing leaves a tag in the inode's storage;
 * the next open of that inode asking for the same access, by a task of the
 * same cgroup, through the same dentry, mount and task root, in the same
 * epoch, is allowed from the tag without resolving anything.
 *
 * Why that is safe: a hit can only allow what this session was allowed on
 * this very inode, under the same policies (the daemon bumps the epoch after
 * every change of sessions or policies), since the last rename, link,
 * unlink, rmdir or mount change anywhere on the host (those hooks bump it
 * too). That is no more than a process of the session gets by keeping the
 * file open, which no path rule can take away either. The path parts of the
 * key keep the events exact: an open through another name (a hard link, a
 * bind mount, another root or mount namespace) is judged and reported on
 * its own. Only regular files with one link on file systems that do not
 * revalidate their dentries (not NFS, FUSE, ...) are cached. A tag is one
 * 64-bit word, read and written whole, so concurrent hooks never see half
 * a key; it is keyed with a random seed the agent cannot read.
 */
#define S_IFREG			0100000
#define DCACHE_OP_REVALIDATE	0x4
#define AG_CACHE_READ		0
#define AG_CACHE_WRITE		1
#define AG_CACHE_EXEC		2

struct open_cache {
	__u64 tag[3];		/* AG_CACHE_*: 0 none */
};

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct open_cache);
} open_cache SEC(".maps");

static __always_inline __u64 tag_mix(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

static __always_inline void epoch_bump(void)
{
	__sync_fetch_and_add(&ag_path_epoch, 1);
}

/* A kernel pointer as a number: the distance from one of ours. The verifier
 * allows a privileged program (the daemon's: CAP_PERFMON) pointer minus
 * pointer, and no other arithmetic on kernel pointers; the helper call that
 * would read them as plain words costs more than the whole lookup here. */
#define PTR_WORD(p) ((__u64)(p) - (__u64)&ag_path_epoch)

/* The tag of an access (AG_CACHE_*) to f by task t in the current epoch, or
 * 0 when its decision is not to be cached. Plain loads only, no helper. */
static __always_inline __u64 cache_tag(struct task_struct *t, struct file *f, __u32 slot)
{
	struct dentry *d = f->f_path.dentry;
	struct inode *ino = f->f_inode;
	__u64 h;

	if (ag_log_allowed_files || !ino || !d ||
	    (ino->i_mode & S_IFMT) != S_IFREG || ino->i_nlink != 1 ||
	    (d->d_flags & DCACHE_OP_REVALIDATE))
		return 0;
	h = tag_mix(ag_cache_seed, ag_path_epoch);
	h = tag_mix(h, slot);
	h = tag_mix(h, t->cgroups->dfl_cgrp->kn->id);	/* its cgroup */
	h = tag_mix(h, PTR_WORD(f->f_path.mnt));	/* the way to the file */
	h = tag_mix(h, PTR_WORD(d));
	h = tag_mix(h, PTR_WORD(d->d_parent));
	h = tag_mix(h, PTR_WORD(t->fs->root.mnt));	/* where its paths start */
	h = tag_mix(h, PTR_WORD(t->fs->root.dentry));
	h = tag_mix(h, PTR_WORD(t->nsproxy->mnt_ns));
	return h ? h : 1;
}

static __always_inline bool cache_hit(struct file *f, __u32 slot, __u64 tag)
{
	struct open_cache *c;

	if (!tag || slot > AG_CACHE_EXEC)
		return false;
	c = bpf_inode_storage_get(&open_cache, f->f_inode, 0, 0);
	return c && c->tag[slot] == tag;
}

static __always_inline void cache_store(struct file *f, __u32 slot, __u64 tag)
{
	struct open_cache *c;

	if (!tag || slot > AG_CACHE_EXEC)
		return;
	c = bpf_inode_storage_get(&open_cache, f->f_inode, 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (c)
		c->tag[slot] = tag;
}

/* The session of a task the file hooks must judge, or NULL. The caller has
 * checked in_scope(). */
static __always_inline struct ag_session *file_session(struct hook_req *hr, bool exec)
{
	struct ag_session *s;

	s = current_session(&hr->cgid);
	if (!s) {
		hr->cgid = 0;
		return NULL;
	}
	if (!chain_restricts(s, exec, &hr->pflags) && !ag_log_allowed_files)
		return NULL;	/* hr->cgid says there was a session */
	return s;
}

SEC("lsm/file_open")
int BPF_PROG(ag_file_open, struct file *file, int ret)
{
	struct hook_req hr = { .type = AG_EV_FILE_OPEN, .op = AG_FILE_OP_OPEN };
	struct ag_session *s;
	__u32 mode, slot;
	__u64 tag;
	int r;

	if (ret)
		return ret;
	if (ag_lsm_probe_tgid && bpf_get_current_pid_tgid() >> 32 == ag_lsm_probe_tgid)
		ag_lsm_probe_seen = 1;
	if (!in_scope())
		return 0;
	mode = file->f_mode;
	if ((mode & FMODE_EXEC) || (file->f_flags & __FMODE_EXEC))
		return 0;	/* the exec itself: bprm_check_security judges it */
	hr.access = mode & FMODE_WRITE ? AG_ACC_WRITE : AG_ACC_READ;
	slot = hr.access == AG_ACC_WRITE ? AG_CACHE_WRITE : AG_CACHE_READ;
	tag = cache_tag(bpf_get_current_task_btf(), file, slot);	/* before judging: its epoch */
	if (cache_hit(file, slot, tag)) {
		stat_inc(AG_STAT_FILE_CACHED);
		return 0;
	}
	s = file_session(&hr, false);
	if (!s) {
		if (hr.cgid)	/* a session that does not restrict files */
			cache_store(file, slot, tag);
		return 0;
	}
	hr.dentry = (__u64)file->f_path.dentry;
	hr.is_dir = (file->f_inode->i_mode & S_IFMT) == S_IFDIR;
	r = run_check((struct path *)&file->f_path, file->f_path.dentry, &hr, s);
	if (!r && hr.allowed)
		cache_store(file, slot, tag);
	return r;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(ag_bprm_check, struct linux_binprm *bprm, int ret)
{
	struct hook_req hr = { .type = AG_EV_EXEC_CHECK, .op = AG_FILE_OP_EXEC,
			       .access = AG_ACC_EXEC };
	struct ag_session *s;
	struct file *f;
	__u64 tag;
	int r;

	if (ret)
		return ret;
	if (!in_scope())
		return 0;
	f = bprm->file;
	if (!f)
		return -EPERM;	/* cannot happen; fail closed */
	tag = cache_tag(bpf_get_current_task_btf(), f, AG_CACHE_EXEC);
	if (cache_hit(f, AG_CACHE_EXEC, tag)) {
		stat_inc(AG_STAT_FILE_CACHED);
		return 0;
	}
	s = file_session(&hr, true);
	if (!s) {
		if (hr.cgid)
			cache_store(f, AG_CACHE_EXEC, tag);
		return 0;
	}
	hr.dentry = (__u64)f->f_path.dentry;
	r = run_check((struct path *)&f->f_path, f->f_path.dentry, &hr, s);
	if (!r && hr.allowed)
		cache_store(f, AG_CACHE_EXEC, tag);
	return r;
}

/* A path hook on (dir, dentry): the object is dentry, below dir. */
static __always_inline int path_hook(const struct path *dir, struct dentry *dentry,
				     __u8 op, bool is_dir, bool nested)
{
	struct hook_req hr = { .type = AG_EV_FILE_OPEN, .op = op, .access = AG_ACC_WRITE,
			       .is_dir = is_dir, .nested = nested };
	struct ag_session *s;

	if (!in_scope())
		return 0;
	s = file_session(&hr, false);
	if (!s)
		return 0;
	hr.mnt = (__u64)BPF_CORE_READ(dir, mnt);
	hr.dentry = (__u64)dentry;
	return run_check(NULL, dentry, &hr, s);
}

SEC("lsm/path_mknod")
int BPF_PROG(ag_path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode,
	     unsigned int dev, int ret)
{
	if (ret)
		return ret;
	return path_hook(dir, dentry, AG_FILE_OP_CREATE, false, false);
}

SEC("lsm/path_mkdir")
int BPF_PROG(ag_path_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode,
	     int ret)
{
	if (ret)
		return ret;
	return path_hook(dir, dentry, AG_FILE_OP_MKDIR, true, false);
}

SEC("lsm/path_rmdir")
int BPF_PROG(ag_path_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	epoch_bump();
	return path_hook(dir, dentry, AG_FILE_OP_RMDIR, true, false);
}

SEC("lsm/path_unlink")
int BPF_PROG(ag_path_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	epoch_bump();
	return path_hook(dir, dentry, AG_FILE_OP_UNLINK, dentry_is_dir(dentry), false);
}

SEC("lsm/path_symlink")
int BPF_PROG(ag_path_symlink, const struct path *dir, struct dentry *dentry,
	     const char *old_name, int ret)
{
	if (ret)
		return ret;
	return path_hook(dir, dentry, AG_FILE_OP_SYMLINK, false, false);
}

/* A struct path hook: the object is path itself. */
static __always_inline int whole_path_hook(const struct path *path, __u8 op)
{
	struct hook_req hr = { .type = AG_EV_FILE_OPEN, .op = op, .access = AG_ACC_WRITE };
	struct ag_session *s;
	struct dentry *d;

	if (!in_scope())
		return 0;
	s = file_session(&hr, false);
	if (!s)
		return 0;
	d = path->dentry;
	hr.mnt = (__u64)BPF_CORE_READ(path, mnt);
	hr.dentry = (__u64)d;
	hr.is_dir = dentry_is_dir(d);
	return run_check(NULL, d, &hr, s);
}

SEC("lsm/path_truncate")
int BPF_PROG(ag_path_truncate, const struct path *path, int ret)
{
	if (ret)
		return ret;
	return whole_path_hook(path, AG_FILE_OP_TRUNCATE);
}

SEC("lsm/path_chmod")
int BPF_PROG(ag_path_chmod, const struct path *path, umode_t mode, int ret)
{
	if (ret)
		return ret;
	return whole_path_hook(path, AG_FILE_OP_CHMOD);
}

/* link: the new name needs write access, and so does the file linked (a
 * link to a file the agent may not write would be a way to reach it). */
SEC("lsm/path_link")
int BPF_PROG(ag_path_link, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, int ret)
{
	struct hook_req hr = { .type = AG_EV_FILE_OPEN, .op = AG_FILE_OP_LINK,
			       .access = AG_ACC_WRITE };
	struct ag_session *s;
	int r;

	if (ret)
		return ret;
	epoch_bump();
	if (!in_scope())
		return 0;
	s = file_session(&hr, false);
	if (!s)
		return 0;
	hr.mnt = (__u64)BPF_CORE_READ(new_dir, mnt);	/* link(2) stays on one mount */
	hr.dentry = (__u64)old_dentry;
	r = run_check(NULL, old_dentry, &hr, s);
	if (r)
		return r;
	hr.dentry = (__u64)new_dentry;
	return run_check(NULL, new_dentry, &hr, s);
}

/* rename: both names need write access; a directory that has files rules
 * below it may not move (nor be replaced), or those rules would no longer
 * cover what they name. */
SEC("lsm/path_rename")
int BPF_PROG(ag_path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	struct hook_req hr = { .type = AG_EV_FILE_OPEN, .op = AG_FILE_OP_RENAME,
			       .access = AG_ACC_WRITE };
	struct ag_session *s;
	bool old_is_dir, new_is_dir;
	int r;

	if (ret)
		return ret;
	epoch_bump();
	if (!in_scope())
		return 0;
	s = file_session(&hr, false);
	if (!s)
		return 0;
	old_is_dir = dentry_is_dir(old_dentry);
	new_is_dir = BPF_CORE_READ(new_dentry, d_inode) ? dentry_is_dir(new_dentry) : old_is_dir;
	hr.mnt = (__u64)BPF_CORE_READ(old_dir, mnt);	/* rename(2) stays on one mount */
	hr.dentry = (__u64)old_dentry;
	hr.is_dir = old_is_dir;
	hr.nested = old_is_dir || ((flags & RENAME_EXCHANGE) && new_is_dir);
	r = run_check(NULL, old_dentry, &hr, s);
	if (r)
		return r;
	hr.dentry = (__u64)new_dentry;
	hr.is_dir = new_is_dir;
	hr.nested = new_is_dir || old_is_dir;
	return run_check(NULL, new_dentry, &hr, s);
}

/* Mount changes move what a path names: they end the cache's epoch (see
 * struct open_cache), for every task; they decide nothing. */
SEC("lsm/sb_mount")
int BPF_PROG(ag_sb_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data, int ret)
{
	epoch_bump();
	return ret;
}

SEC("lsm/sb_umount")
int BPF_PROG(ag_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	epoch_bump();
	return ret;
}

SEC("lsm/move_mount")
int BPF_PROG(ag_move_mount, const struct path *from_path, const struct path *to_path, int ret)
{
	epoch_bump();
	return ret;
}

SEC("lsm/sb_pivotroot")
int BPF_PROG(ag_sb_pivotroot, const struct path *old_path, const struct path *new_path,
	     int ret)
{
	epoch_bump();
	return ret;
}
