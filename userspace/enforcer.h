/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * enforcer.h: the loaded BPF side of agentguard. Opens the skeleton, sizes the
 * maps, sets the root cgroup in rodata, loads, attaches the socket programs to
 * the agentguard root cgroup and the tracepoints host-wide, and keeps the maps
 * (policies, net_rules, sessions) consistent.
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
	/* called for each ring buffer record; return 0 to go on */
	int (*on_event)(void *ctx, void *data, size_t size);
	void *ctx;
};

/* Hook names and whether they are attached, for status and probe. */
struct enforcer_hook {
	const char *name;	/* e.g. "cgroup/connect4" */
	bool attached;
};

/* enforcer__open: load and attach everything. Returns NULL and sets errno on
 * failure (nothing stays attached). The caller owns the result. */
struct enforcer *enforcer__open(const struct enforcer_opts *opts);

/* enforcer__destroy: detach and free. Enforcement stops. NULL is a no-op. */
void enforcer__destroy(struct enforcer *e);

/* enforcer__set_policy: write cp under policy id: trie entries first, the
 * policy record last, so no session sees a half-written policy. 0 or -errno;
 * on error the entries written are removed again. */
int enforcer__set_policy(struct enforcer *e, __u32 id, const struct compiled_policy *cp);

/* enforcer__del_policy: remove the policy record, then its trie entries.
 * Call only when no session refers to id. 0 or -errno (first error). */
int enforcer__del_policy(struct enforcer *e, __u32 id, const struct compiled_policy *cp);

/* enforcer__add_session / __del_session: the sessions map entry of a cgroup. */
int enforcer__add_session(struct enforcer *e, __u64 cgid, const struct ag_session *s);
int enforcer__del_session(struct enforcer *e, __u64 cgid);

/* enforcer__poll: consume ready ring buffer records (calls on_event).
 * timeout_ms 0 consumes without waiting. Returns the number consumed or -errno. */
int enforcer__poll(struct enforcer *e, int timeout_ms);

/* enforcer__ringbuf_fd: an epoll fd that is readable when records are ready. */
int enforcer__ringbuf_fd(const struct enforcer *e);

/* enforcer__stats: sum of the per-CPU counters into out[AG_STAT_MAX]. */
int enforcer__stats(const struct enforcer *e, __u64 out[AG_STAT_MAX]);

/* enforcer__hooks: the hook table (n entries); owned by e. */
const struct enforcer_hook *enforcer__hooks(const struct enforcer *e, size_t *n);

#endif
