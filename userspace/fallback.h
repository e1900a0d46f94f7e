/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fallback.h: files and exec where BPF LSM is not active (docs/fallback.md).
 * Landlock enforces (userspace/landlock.h; `agentguard run` applies the
 * ruleset the daemon builds); this module loads bpf/fallback.bpf.c, which
 * reports what Landlock denied and what observed (audit) sessions did, and
 * stops ld.so being run as a program; it attaches its programs only while a
 * session needs them (config fallbackDenialEvents), decodes the records into
 * absolute paths, and names the manifest rule of each denial.
 */
#ifndef AG_FALLBACK_H
#define AG_FALLBACK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include "agentguard.h"
#include "config.h"
#include "fallback_abi.h"

struct fallback;
struct manifest;
struct ll_plan;

struct fallback_opts {
	const char *root_path;		/* agentguard root cgroup directory */
	const char *cgroup_mount;	/* cgroup2 mount point */
	int events_fd, stats_fd, procs_fd;	/* maps of the main object (enforcer__map_fd) */
	__u32 ringbuf_bytes;		/* size of events: the wakeup threshold is 1/8 */
	__u32 max_sessions;		/* 0: AG_DEFAULT_MAX_SESSIONS */
	enum denial_events mode;
	enum denial_hook hook;
};

/* fallback__open: load bpf/fallback.bpf.c sharing the main object's maps;
 * nothing is attached yet (with mode DENIAL_EVENTS_ALWAYS the reporter is
 * attached now). Returns NULL with errno set and a message in err. */
struct fallback *fallback__open(const struct fallback_opts *o, char *err, size_t errlen);

/* fallback__destroy: detach and free; NULL is a no-op. */
void fallback__destroy(struct fallback *fb);

/* An interpreter a session may run only as such (struct ll_interp). */
struct fallback_interp {
	__u32 kdev;
	__u64 ino;
	__u16 exec_idx;
};

/* fallback__session_add: watch session cgid: flags AG_FB_S_EACCES (Landlock
 * enforces in its chain) and/or AG_FB_S_OBSERVE (audit or observe), and
 * guard the n interpreters. Attaches what is not attached yet and is needed
 * now. Returns 0, or -errno with a message in err (nothing changed). */
int fallback__session_add(struct fallback *fb, __u64 cgid, __u32 flags,
			  const struct fallback_interp *interps, size_t n, char *err,
			  size_t errlen);

/* fallback__session_del: stop watching cgid; what no live session needs any
 * more is detached (the reporter FALLBACK_LINGER_MS later, by
 * fallback__tick). Unknown cgid is a no-op. */
void fallback__session_del(struct fallback *fb, __u64 cgid);

/* How long the reporter stays attached after the last session needing it
 * ended. Detaching costs an RCU grace period per tracepoint (tens of ms,
 * waited for by helper threads, never by the caller). */
#define FALLBACK_LINGER_MS	2000

/* fallback__tick: detach the reporter once it has been unneeded for
 * FALLBACK_LINGER_MS. Call it now and then (the daemon: every tick); cheap.
 * fb may be NULL. */
void fallback__tick(struct fallback *fb);

struct fallback_status {
	bool reporter_attached;		/* denial events */
	const char *reporter_hook;	/* "syscalls:sys_exit_*", "tp_btf/sys_exit" or "none" */
	size_t reporter_links;		/* tracepoints attached */
	bool guard_attached;		/* tp_btf/sched_process_exec */
	size_t sessions;		/* watched */
	enum denial_events mode;
};

/* fallback__status: what is attached now. */
void fallback__status(const struct fallback *fb, struct fallback_status *st);

/* fallback__describe: one line for `agentguard probe` and status saying how
 * files and exec are enforced and their denials reported here, e.g.
 * "landlock (ABI 7); denials reported by syscalls:sys_exit_* tracepoints
 * attached while a Landlock session runs". fb may be NULL (probe: nothing
 * loaded). Returns buf. */
char *fallback__describe(bool lsm_active, int landlock_abi, enum file_fallback ff,
			 enum denial_events de, const struct fallback *fb, char *buf,
			 size_t len);

/* ------------------------------------------------------------------------ */
/* Records (pure)                                                            */

/* A decoded AG_EV_FALLBACK record. */
struct fb_event {
	const struct ag_event_fallback *raw;
	int npaths;
	char path[2][PATH_MAX];		/* absolute and normalised; "" unknown */
	bool real[2];			/* built from the kernel's dentries: no
					 * symbolic link left to resolve */
	bool magic[2];			/* names a per-process object (/proc/self...):
					 * must not be resolved by the daemon */
};

/* fallback__decode: the record in data[0..size) as absolute paths. Returns
 * 0, or -EINVAL for a record too short or of another type. */
int fallback__decode(const void *data, size_t size, struct fb_event *out);

/* fallback__resolve: path i of ev with symbolic links resolved (realpath, in
 * the daemon's view of the filesystem; a path that does not exist is
 * resolved up to its parent), into out. Returns 0 or -errno (out then holds
 * the unresolved path). */
int fallback__resolve(const struct fb_event *ev, int i, char *out, size_t len);

/* One level of a session chain, root first. */
struct fb_level {
	const struct manifest *m;	/* NULL: no manifest (never judged) */
	const struct ll_plan *plan;	/* Landlock enforces this level; NULL: it does not */
	const char *agent;
	bool observed;			/* audit mode or fileFallback observe */
};

struct fb_verdict {
	__u8 decision;			/* AG_DENY, AG_AUDIT or AG_ALLOW */
	bool drop;			/* not a decision of any manifest: log nothing */
	int level;			/* deciding level */
	int path;			/* index of the judged path */
	bool write;			/* access judged */
	char target[PATH_MAX];		/* the path to log */
	char rule[160];			/* "files.deny[0]", "<agent>:exec.default" */
	char reason[PATH_MAX + 200];	/* "" or why, when Landlock was stricter */
};

/* fallback__judge: which manifest of the chain lv[0..n) (the session's own
 * last) decided ev, whose paths are resolved in paths[] (symbolic links
 * resolved; `script_interp`, if not NULL, is the resolved #! interpreter of
 * an executed script). A denial (EACCES, EXDEV, killed) is attributed to the
 * first Landlock level whose manifest refuses it (or whose plan could not
 * grant it: a carved directory); none: drop (file modes, another LSM). An
 * observed call is attributed to the first observed level that refuses it:
 * decision audit; none: allow (drop unless log_allowed). Pure, apart from
 * lstat() of the paths to tell directories from files. */
void fallback__judge(const struct fb_level *lv, int n, const struct fb_event *ev,
		     char paths[2][PATH_MAX], const char *script_interp, bool log_allowed,
		     struct fb_verdict *out);

/* fallback__op_name: "open", "create", "truncate", "rename", "link",
 * "unlink", "mkdir", "rmdir", "symlink", "exec". */
const char *fallback__op_name(__u8 op);

/* fallback__script_interp: the interpreter named on the "#!" line of the
 * file at path, resolved, into out. Only a regular file is opened (a path
 * an agent chose may name a device). 0, -ENOEXEC (no "#!", not a regular
 * file), or -errno. */
int fallback__script_interp(const char *path, char *out, size_t len);

#endif
