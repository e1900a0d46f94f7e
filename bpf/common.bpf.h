/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * common.bpf.h: helpers shared by agentguard's BPF objects. The including
 * object defines the maps `events` (ring buffer), `stats` (per-CPU counters)
 * and `procs` (the process table, bpf/agentguard.h), and the rodata
 * ag_root_cgid, ag_root_level, ag_wakeup_bytes; the fallback object reuses the
 * main object's maps by fd.
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

/* The set of process tgid in `procs`. */
static __always_inline struct ag_proc_set *proc_set(__u32 tgid)
{
	__u32 i = tgid % AG_PROC_SETS;

	return bpf_map_lookup_elem(&procs, &i);
}

/* The entry of process tgid, NULL if it has none. */
static __always_inline struct ag_proc *proc_lookup(__u32 tgid)
{
	struct ag_proc_set *set = proc_set(tgid);
	__u64 key = AG_PROC_KEY(tgid);

	if (!set)
		return NULL;
#pragma unroll
	for (__u32 w = 0; w < AG_PROC_WAYS; w++)
		if (set->way[w].key == key)
			return &set->way[w];
	return NULL;
}

/* Makes exec_ktime, parent_exec_ktime and ppid of `v` the entry of process
 * tgid: over the entry it has, else in a free way, else over way
 * tgid / AG_PROC_SETS of its set (evicting that process). Only the process
 * itself, or its parent at fork, stores its entry; a way is claimed with a
 * compare and swap, so two CPUs never take the same one. */
static __always_inline void proc_store(__u32 tgid, const struct ag_proc *v)
{
	struct ag_proc_set *set = proc_set(tgid);
	__u64 key = AG_PROC_KEY(tgid), old;
	struct ag_proc *e = NULL;
	__u32 w, free = AG_PROC_WAYS;

	if (!set)
		return;
#pragma unroll
	for (w = 0; w < AG_PROC_WAYS; w++) {
		old = set->way[w].key;
		if (old == key) {
			e = &set->way[w];
			break;
		}
		if (!old && free == AG_PROC_WAYS)
			free = w;
	}
	if (!e && free < AG_PROC_WAYS &&
	    !__sync_val_compare_and_swap(&set->way[free].key, 0, key))
		e = &set->way[free];
	if (!e) {
		e = &set->way[(tgid / AG_PROC_SETS) % AG_PROC_WAYS];
		old = e->key;
		if (__sync_val_compare_and_swap(&e->key, old, key) != old)
			return;	/* another CPU took it meanwhile */
	}
	e->exec_ktime = v->exec_ktime;
	e->parent_exec_ktime = v->parent_exec_ktime;
	e->ppid = v->ppid;
	e->_pad = 0;
}

/* Frees entry e of process tgid (from proc_lookup()), unless another
 * process took the way meanwhile. */
static __always_inline void proc_free(struct ag_proc *e, __u32 tgid)
{
	__sync_val_compare_and_swap(&e->key, AG_PROC_KEY(tgid), 0);
}

/* The header of an event by the current task at boot time `ktime`, but for
 * exec_ktime and ppid. Returns its tgid. */
static __always_inline __u32 fill_hdr_task(struct ag_event_hdr *h, __u32 type, __u64 cgid,
					   __u64 ktime)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	h->type = type;
	h->decision = AG_ALLOW;
	h->rule_kind = AG_RULE_NONE;
	h->level = 0;
	h->_pad0 = 0;
	h->rule_idx = 0;
	h->_pad1 = 0;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->ktime = ktime;
	h->session_cgid = cgid;
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	return pid_tgid >> 32;
}

/* exec_ktime and ppid of the header from entry p, 0 without one. */
static __always_inline void fill_hdr_proc(struct ag_event_hdr *h, const struct ag_proc *p)
{
	h->exec_ktime = p ? p->exec_ktime : 0;
	h->ppid = p ? p->ppid : 0;
}

/* The whole header of an event by the current task, now. */
static __always_inline void fill_hdr(struct ag_event_hdr *h, __u32 type, __u64 cgid)
{
	__u32 tgid = fill_hdr_task(h, type, cgid, bpf_ktime_get_boot_ns());

	fill_hdr_proc(h, proc_lookup(tgid));
}

#endif
