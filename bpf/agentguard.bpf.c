// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * agentguard.bpf.c: in-kernel decisions and events for agentguard sessions.
 *
 * The cgroup socket programs are attached once, at the agentguard root cgroup,
 * so the kernel never runs them for a process outside it. Inside it, a process
 * that belongs to no session is allowed and not reported. The tracepoint
 * programs see every task on the host: their first test (one helper call) is
 * whether the task is below the agentguard root, and everything else is
 * skipped when it is not. Semantics of the maps: bpf/agentguard.h.
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

/* Set by the loader before load. */
const volatile __u64 ag_root_cgid = 0;	/* cgroup id of the agentguard root */
const volatile __u32 ag_root_level = 0;	/* its level below the cgroup2 root */
const volatile __u32 ag_wakeup_bytes = 256 * 1024; /* wake the reader past this fill */

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
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AG_DEFAULT_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct ag_proc);
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

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

/* Below the agentguard root at all? One helper call; the filter every
 * host-wide program runs first. */
static __always_inline bool under_root(void)
{
	return bpf_get_current_ancestor_cgroup_id(ag_root_level) == ag_root_cgid;
}

/* The session of the current task: its own cgroup, else the deepest session
 * cgroup above it (the agent made cgroups below its session). */
static __always_inline struct ag_session *current_session(__u64 *cgid)
{
	struct ag_session *s, *found = NULL;
	__u64 id = bpf_get_current_cgroup_id();

	s = bpf_map_lookup_elem(&sessions, &id);
	if (s) {
		*cgid = id;
		return s;
	}
	if (!under_root())
		return NULL;
	for (__u32 i = 1; i <= AG_MAX_CGROUP_DEPTH; i++) {
		__u64 anc = bpf_get_current_ancestor_cgroup_id(ag_root_level + i);

		if (!anc || anc == id)
			break;
		s = bpf_map_lookup_elem(&sessions, &anc);
		if (s) {
			found = s;
			*cgid = anc;
		}
	}
	return found;
}

static __always_inline __u64 wakeup_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= ag_wakeup_bytes ?
	       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void fill_hdr(struct ag_event_hdr *h, __u32 type, __u64 cgid)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	__u32 tgid = pid_tgid >> 32;
	struct ag_proc *p;

	h->type = type;
	h->decision = AG_ALLOW;
	h->rule_kind = AG_RULE_NONE;
	h->level = 0;
	h->_pad0 = 0;
	h->rule_idx = 0;
	h->_pad1 = 0;
	h->pid = tgid;
	h->tid = (__u32)pid_tgid;
	h->ktime = bpf_ktime_get_boot_ns();
	h->session_cgid = cgid;
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	p = bpf_map_lookup_elem(&procs, &tgid);
	h->exec_ktime = p ? p->exec_ktime : 0;
	h->ppid = p ? p->ppid : 0;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

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

/*
 * Judge one action against every policy of the session chain. The first
 * policy in enforce mode that refuses decides "deny"; a refusal only by
 * policies in audit mode gives "audit"; otherwise "allow", attributed to the
 * session's own policy. A policy id without a policy (never the case while the
 * daemon keeps the maps consistent) refuses: fail closed.
 */
static __always_inline void judge(const struct ag_session *s, bool is_bind,
				  struct ag_net_key *key, __u16 port, __u8 proto,
				  struct verdict *out)
{
	struct verdict audit = {}, v;
	bool audited = false;

	out->decision = AG_ALLOW;
	out->rule_kind = AG_RULE_NONE;
	out->rule_idx = 0;
	out->level = 0;
	for (__u32 i = 0; i < AG_MAX_DEPTH; i++) {
		struct ag_policy *pol;
		__u32 id;
		bool ok;

		if (i >= s->depth)
			break;
		id = s->policy[i];
		v.rule_kind = AG_RULE_NONE;
		v.rule_idx = 0;
		v.level = i;
		pol = bpf_map_lookup_elem(&policies, &id);
		if (!pol) {
			ok = false;
		} else if (is_bind) {
			ok = bind_one(pol, port, proto, &v);
		} else {
			ok = egress_one(id, pol, key, port, proto, &v);
		}
		if (ok) {
			out->rule_kind = v.rule_kind;
			out->rule_idx = v.rule_idx;
			out->level = i;
			continue;
		}
		if (pol && pol->mode == AG_MODE_AUDIT) {
			if (!audited) {
				audit = v;
				audited = true;
			}
			continue;
		}
		out->decision = AG_DENY;
		out->rule_kind = v.rule_kind;
		out->rule_idx = v.rule_idx;
		out->level = i;
		return;
	}
	if (audited) {
		out->decision = AG_AUDIT;
		out->rule_kind = audit.rule_kind;
		out->rule_idx = audit.rule_idx;
		out->level = audit.level;
	}
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
	struct ag_event_net *e;
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

	judge(s, is_bind, &key, port, proto, &v);

	stat_inc(AG_STAT_DECISIONS);
	if (v.decision == AG_DENY)
		stat_inc(AG_STAT_DENIED);
	else if (v.decision == AG_AUDIT)
		stat_inc(AG_STAT_AUDITED);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(AG_STAT_EVENTS_LOST);
	} else {
		fill_hdr(&e->h, type, cgid);
		e->h.decision = v.decision;
		e->h.rule_kind = v.rule_kind;
		e->h.rule_idx = v.rule_idx;
		e->h.level = v.level;
		e->family = v6 ? AF_INET6 : AF_INET;
		e->proto = proto;
		e->port = port;
		e->_pad = 0;
		__builtin_memcpy(e->addr, key.addr, 16);
		bpf_ringbuf_submit(e, wakeup_flags());
	}
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

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ag_fork, struct task_struct *parent, struct task_struct *child)
{
	struct ag_proc *pp, cp = {};
	__u32 ptgid, ctgid;

	if (!under_root())
		return 0;
	ptgid = BPF_CORE_READ(parent, tgid);
	ctgid = BPF_CORE_READ(child, tgid);
	if (ptgid == ctgid)
		return 0;	/* a new thread */
	pp = bpf_map_lookup_elem(&procs, &ptgid);
	if (pp) {
		cp.exec_ktime = pp->exec_ktime;
		cp.parent_exec_ktime = pp->parent_exec_ktime;
	}
	cp.ppid = ptgid;
	bpf_map_update_elem(&procs, &ctgid, &cp, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ag_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct ag_proc *cur, np = {};
	struct ag_event_exec *e;
	struct ag_session *s;
	__u64 cgid = 0;
	__u32 tgid;
	long n;

	if (!under_root())
		return 0;
	s = current_session(&cgid);
	if (!s)
		return 0;
	tgid = bpf_get_current_pid_tgid() >> 32;
	cur = bpf_map_lookup_elem(&procs, &tgid);
	if (cur) {
		np.parent_exec_ktime = cur->exec_ktime;
		np.ppid = cur->ppid;
	} else {
		struct task_struct *parent = BPF_CORE_READ(p, real_parent);
		__u32 ptgid = BPF_CORE_READ(parent, tgid);
		struct ag_proc *pp = bpf_map_lookup_elem(&procs, &ptgid);

		np.ppid = ptgid;
		/* A parent we never saw exec (it started before the daemon, or
		 * outside agentguard): its identity is its start time, rounded
		 * to USER_HZ ticks like /proc/<pid>/stat field 22, so userspace
		 * derives the same exec_id from /proc. */
		np.parent_exec_ktime = pp ? pp->exec_ktime :
			BPF_CORE_READ(parent, start_boottime) / AG_START_TICK_NS * AG_START_TICK_NS;
	}
	np.exec_ktime = bpf_ktime_get_boot_ns();
	bpf_map_update_elem(&procs, &tgid, &np, BPF_ANY);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(AG_STAT_EVENTS_LOST);
		return 0;
	}
	fill_hdr(&e->h, AG_EV_EXEC, cgid);
	e->h.ktime = np.exec_ktime;
	e->parent_exec_ktime = np.parent_exec_ktime;
	e->_pad = 0;
	n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
				      BPF_CORE_READ(bprm, filename));
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
	__u64 cgid = 0;
	__u32 tgid;

	if (!under_root())
		return 0;
	if (BPF_CORE_READ(p, pid) != BPF_CORE_READ(p, tgid))
		return 0;	/* a thread, not the process */
	s = current_session(&cgid);
	tgid = BPF_CORE_READ(p, tgid);
	if (!s) {
		bpf_map_delete_elem(&procs, &tgid);
		return 0;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(AG_STAT_EVENTS_LOST);
	} else {
		fill_hdr(&e->h, AG_EV_EXIT, cgid);
		e->exit_code = BPF_CORE_READ(p, exit_code);
		e->_pad = 0;
		bpf_ringbuf_submit(e, wakeup_flags());
	}
	bpf_map_delete_elem(&procs, &tgid);
	return 0;
}
