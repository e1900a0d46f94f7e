/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fallback_abi.h: the ABI of bpf/fallback.bpf.c, the programs that report what
 * Landlock denied (and what audit-mode agents did) on kernels where BPF LSM
 * is not active. Shared by the BPF object and userspace/fallback.c; the
 * record is AG_EV_FALLBACK on the `events` ring buffer of bpf/agentguard.h,
 * whose header (struct ag_event_hdr) it starts with.
 *
 * Landlock refuses with EACCES (EXDEV for a link or rename that would give a
 * file more rights) and tells nobody. The programs watch the exit of the
 * file system calls of the sessions in `fb_sessions` and send, for each that
 * failed so (or, in a session observed for audit, for each that succeeded):
 * the syscall, its paths as the caller passed them, and where a path is
 * relative (or a descriptor) the directory it was resolved against, as the
 * kernel's dentries name it. Userspace rebuilds the absolute path and
 * decides, against the manifests, whether a rule denied it (and which) or
 * whether it was something else (file modes, another LSM): nothing is judged
 * in the kernel, and nothing here blocks, except the exec guard below.
 *
 * Exec guard. Landlock needs EXECUTE on the ELF interpreter (ld.so) for any
 * dynamically linked program to start, and cannot tell ld.so started as an
 * interpreter from ld.so run as a program ("ld.so /usr/bin/forbidden").
 * `fb_interp` lists, per session, the interpreters granted only as such; an
 * exec whose main file is one of them is killed (SIGKILL) at
 * sched_process_exec, before it runs a single instruction, and reported.
 */
#ifndef AG_FALLBACK_ABI_H
#define AG_FALLBACK_ABI_H

#include "agentguard.h"

#define AG_FB_RAW_LEN	256	/* path bytes as passed, NUL included */
#define AG_FB_DIR_LEN	1024	/* resolved directory, components leaf first */
#define AG_FB_DIR_HALF	512	/* a component is written below this offset */
#define AG_FB_MAX_COMPONENTS 40	/* dentries (and mount crossings) walked */

/* Value of `fb_sessions`, keyed by the session cgroup id (__u64). */
#define AG_FB_S_EACCES	0x1	/* Landlock enforces in the chain: report denials */
#define AG_FB_S_OBSERVE	0x2	/* audit / observe: report every file syscall and exec */

struct ag_fb_session {
	__u32 flags;		/* AG_FB_S_* */
	__u32 _pad;
};

/* Key of `fb_interp` (value: __u32 exec.allow index, for the event). */
struct ag_fb_interp_key {
	__u64 cgid;		/* the session */
	__u64 ino;
	__u32 dev;		/* kernel dev_t of the super block */
	__u32 _pad;
};

/* Operations beyond AG_FILE_OP_* of agentguard.h. */
#define AG_FB_OP_EXEC	32

/* ag_fb_path.flags */
#define AG_FB_P_RELATIVE 0x1	/* raw is relative to dir */
#define AG_FB_P_OBJECT	 0x2	/* dir names the object itself (a descriptor); raw unused */
#define AG_FB_P_TRUNC	 0x4	/* the dentry walk stopped before the root */
#define AG_FB_P_PROCFD	 0x8	/* raw was /proc/self/fd/N: dir names what N is */
#define AG_FB_P_NORAW	 0x10	/* raw could not be read */

struct ag_fb_path {
	__u32 raw_len;		/* bytes of raw without NUL */
	__u16 dir_len;		/* bytes used in dir */
	__u8  ndir;		/* components in dir */
	__u8  flags;		/* AG_FB_P_* */
	char  raw[AG_FB_RAW_LEN];
	char  dir[AG_FB_DIR_LEN];	/* "name\0parent\0...\0", leaf first; empty: "/" */
};

/* ag_event_fallback.flags */
#define AG_FB_F_KILLED	 0x1	/* the exec guard killed the process */
#define AG_FB_F_OBSERVED 0x2	/* a successful call of an observed session */

struct ag_event_fallback {
	struct ag_event_hdr h;	/* type AG_EV_FALLBACK; decision AG_DENY when the
				 * call failed with EACCES/EXDEV or was killed,
				 * AG_ALLOW when observed; rule_kind AG_RULE_NONE */
	__s32 ret;		/* the syscall's return value */
	__u32 nr;		/* syscall number (native ABI) */
	__u8  op;		/* AG_FILE_OP_* or AG_FB_OP_EXEC */
	__u8  access;		/* AG_ACC_READ | AG_ACC_WRITE | AG_ACC_EXEC */
	__u16 npaths;		/* used entries of p: 1, or 2 for rename and link */
	__u32 flags;		/* AG_FB_F_* */
	__u32 exec_rule;	/* with AG_FB_F_KILLED: exec.allow index that needed it */
	__u32 _pad;
	struct ag_fb_path p[2];
};

#endif /* AG_FALLBACK_ABI_H */
