/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * common.bpf.h: helpers shared by agentguard's BPF objects. The including
 * object defines the maps `events` (ring buffer), `stats` (per-CPU counters)
 * and `procs`, and the rodata ag_root_cgid, ag_root_level, ag_wakeup_bytes;
 * the fallback object reuses the main object's maps by fd.
 */
#ifndef AG_COMMON_BPF_H
#define AG_COMMON_BPF_H

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

/* An object that also judges cgroups outside the root (adopted ones) defines
 * AG_IN_SCOPE() (below the root or an adopted cgroup?) and AG_WALK_START()
 * (the shallowest level a session cgroup can be at). */
#ifndef AG_IN_SCOPE
#define AG_IN_SCOPE()	under_root()
#define AG_WALK_START()	(ag_root_level + 1)
#endif

/* The value of `map` (keyed by session cgroup id) for the current task: its
 * own cgroup's, else the deepest session cgroup above it (the agent made
 * cgroups below its session). NULL outside every session. */
static __always_inline void *session_lookup(void *map, __u64 *cgid)
{
	void *s, *found = NULL;
	__u64 id = bpf_get_current_cgroup_id();
	__u32 start;

	s = bpf_map_lookup_elem(map, &id);
	if (s) {
		*cgid = id;
		return s;
	}
	if (!AG_IN_SCOPE())
		return NULL;
	start = AG_WALK_START();
	for (__u32 i = 0; i < AG_MAX_CGROUP_DEPTH; i++) {
		__u64 anc = bpf_get_current_ancestor_cgroup_id(start + i);

		if (!anc || anc == id)
			break;
		s = bpf_map_lookup_elem(map, &anc);
		if (s) {
			found = s;
			*cgid = anc;
		}
	}
	return found;
}

/* Wake the reader only past a fill threshold: no wakeup per event. */
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

#endif
