/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * enforcer.h: the loaded BPF side of agentguard. Opens the skeleton, sizes the
 * maps, sets the root cgroup in rodata, loads, attaches the socket programs to
 * the agentguard root cgroup and the tracepoints host-wide, and keeps the maps
 * (policies, net_rules, path_rules, deny_inodes, sessions) consistent.
 *
 * The BPF LSM programs (files and exec) are attached only where BPF LSM is
 * active: when /sys/kernel/security/lsm is readable and does not list "bpf"
 * they are not loaded at all; otherwise they are loaded and attached, and if
 * that fails, or if a test open by the loader itself is not seen by
 * lsm/file_open (BPF LSM built in but not enabled: attaching works, nothing
 * runs), everything else is loaded without them. enforcer__lsm_active() says
 * which case holds; the network and process programs work either way.
 */
#ifndef AG_ENFORCER_H
#define AG_ENFORCER_H

#include <stdbool.h>
#include <stddef.h>
#include "agentguard.h"
#include "compile.h"

struct enforcer;

struct enforcer_opts {
	const char *root_path;		/* agentguard root cgroup directory */
	const char *cgroup_mount;	/* cgroup2 mount point */
	__u32 ringbuf_bytes;		/* 0: AG_DEFAULT_RINGBUF_BYTES */
	__u32 max_sessions;		/* 0: default */
	__u32 max_policies;		/* 0: default */
	__u32 max_net_rules;		/* 0: default */
	__u32 max_path_rules;		/* 0: AG_DEFAULT_MAX_PATH_RULES */
	__u32 max_deny_inodes;		/* 0: AG_DEFAULT_MAX_DENY_INODES */
	bool log_allowed_files;		/* report allowed file decisions too */
	__u32 agg_window_ms;		/* aggregation window of repeated denials; 0 off */
	__u32 rate_per_sec;		/* events per second per session; 0: no limit */
	__u32 rate_burst;		/* with rate_per_sec: the burst (0: rate_per_sec) */
	bool no_lsm;			/* never load the BPF LSM programs */
	/* called for each ring buffer record; return 0 to go on */
	int (*on_event)(void *ctx, void *data, size_t size);
	void *ctx;
};

/* Hook names and whether they are attached, for status and probe. */
struct enforcer_hook {
	const char *name;	/* e.g. "cgroup/connect4", "lsm/file_open" */
	bool attached;
};

/* enforcer__open: load and attach everything. Returns NULL and sets errno on
 * failure (nothing stays attached). The caller owns the result. */
struct enforcer *enforcer__open(const struct enforcer_opts *opts);

/* enforcer__destroy: detach and free. Enforcement stops. NULL is a no-op. */
void enforcer__destroy(struct enforcer *e);

/* enforcer__set_policy: write cp under policy id: trie entries first, then
 * the deny_inodes of its files.deny paths (each path is stat()ed now; one
 * that does not exist is skipped), the policy record last, so no session
 * sees a half-written policy. 0 or -errno; on error the entries written are
 * removed again. */
int enforcer__set_policy(struct enforcer *e, __u32 id, const struct compiled_policy *cp);

/* enforcer__del_policy: remove the policy record, then its trie and
 * deny_inodes entries. Call only when no session refers to id. 0 or -errno
 * (first error). */
int enforcer__del_policy(struct enforcer *e, __u32 id, const struct compiled_policy *cp);

/* enforcer__lsm_active: true if the BPF LSM programs are attached and run,
 * i.e. spec.files and spec.exec are enforced by the kernel here. */
bool enforcer__lsm_active(const struct enforcer *e);

/* enforcer__lsm_status: why BPF LSM is or is not used, e.g. "active",
 * "'bpf' is not in /sys/kernel/security/lsm". Static or owned by e. */
const char *enforcer__lsm_status(const struct enforcer *e);

/* enforcer__add_session / __del_session: the sessions map entry of a cgroup.
 * With a rate limit, add_session also gives the session its bucket (kept
 * if it has one: a session whose chain changed keeps its counts); del_session
 * leaves the bucket, for enforcer__rate_read after the session's last events
 * (enforcer__rate_del removes it). */
int enforcer__add_session(struct enforcer *e, __u64 cgid, const struct ag_session *s);
int enforcer__del_session(struct enforcer *e, __u64 cgid);

/* enforcer__rate_read: *limited = the events of session cgid not emitted for
 * its rate limit, since it started (a count that only grows). 0, -ENOENT
 * (no bucket: no limit, or not a session), or -errno. */
int enforcer__rate_read(const struct enforcer *e, __u64 cgid, __u64 *limited);

/* enforcer__rate_del: remove the bucket of session cgid (once no event of it
 * can come any more). 0 or -errno; no bucket is not an error. */
int enforcer__rate_del(struct enforcer *e, __u64 cgid);

/* enforcer__agg_flush: run the aggregation flush (bpf/agentguard.bpf.c,
 * ag_agg_flush): every open window that has passed, or with force every open
 * window, of session cgid (0: of every session) puts its count on the ring
 * buffer as an AG_EV_AGGREGATE record and closes. Consume the ring buffer
 * (enforcer__poll) afterwards. Returns the number of records put, or -EAGAIN
 * when the ring buffer filled up first (consume it and call again: nothing
 * is lost meanwhile), or -errno. Does nothing, and returns 0, when
 * aggregation is off or no window is open. */
int enforcer__agg_flush(struct enforcer *e, __u64 cgid, bool force);

/* An adopted cgroup's attachments (enforcer__adopt). Owned by the enforcer;
 * release with enforcer__unadopt. */
struct enforcer_adopted;

/* enforcer__adopt: bring the cgroup at path (id cgid, level below the cgroup2
 * root, 1..31) into scope: the socket programs are attached to it (they are
 * attached to the agentguard root otherwise) and the process and LSM
 * programs judge the tasks in it and below it. Call before adding its
 * session. Returns NULL and sets errno (EINVAL: level out of range; ENOSPC:
 * too many adopted cgroups; or what attaching gave); nothing stays behind. */
struct enforcer_adopted *enforcer__adopt(struct enforcer *e, const char *path, __u64 cgid,
					 __u32 level);

/* enforcer__unadopt: undo enforcer__adopt, after the session was deleted.
 * NULL is a no-op. */
void enforcer__unadopt(struct enforcer *e, struct enforcer_adopted *a);

/* enforcer__poll: consume ready ring buffer records (calls on_event).
 * timeout_ms 0 consumes without waiting. Returns the number consumed or -errno. */
int enforcer__poll(struct enforcer *e, int timeout_ms);

/* enforcer__ringbuf_fd: an epoll fd that is readable when records are ready. */
int enforcer__ringbuf_fd(const struct enforcer *e);

/* enforcer__stats: sum of the per-CPU counters into out[AG_STAT_MAX]. */
int enforcer__stats(const struct enforcer *e, __u64 out[AG_STAT_MAX]);

/* enforcer__hooks: the hook table (n entries); owned by e. */
const struct enforcer_hook *enforcer__hooks(const struct enforcer *e, size_t *n);

/* enforcer__map_fd: the fd of the loaded map `name` ("events", "stats",
 * "procs", ...), owned by e, for another BPF object to share with
 * bpf_map__reuse_fd (userspace/fallback.c). -ENOENT if there is none. */
int enforcer__map_fd(const struct enforcer *e, const char *name);

#endif
