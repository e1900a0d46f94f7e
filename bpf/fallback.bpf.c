// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fallback.bpf.c: denial events and the exec guard for sessions whose files
 * and exec rules Landlock enforces (kernels without BPF LSM). ABI and
 * semantics: bpf/fallback_abi.h. Loaded by userspace/fallback.c, which shares
 * `events`, `stats` and `procs` with bpf/agentguard.bpf.c and attaches these
 * programs only while a session needs them.
 *
 * Two ways to see the exit of a file system call, chosen by the loader:
 *
 *   fb_exit_tp    tracepoint/syscalls/sys_exit_<name>, one attachment per
 *                 file syscall. Other syscalls pay only the kernel's syscall
 *                 tracepoint slow path and a bitmap test (no BPF program).
 *   fb_exit_btf   tp_btf/sys_exit, one attachment: every syscall on the host
 *                 runs the program, which returns at its first test.
 *
 * Either returns at once unless the call failed with EACCES (EXDEV for a
 * link or rename) or some session is observed, then unless the task is in a
 * session of `fb_sessions`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "agentguard.h"
#include "fallback_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EACCES		13
#define EXDEV		18
#define SIGKILL		9
#define AT_FDCWD	-100
#define AT_EMPTY_PATH	0x1000
#define AT_REMOVEDIR	0x200
#define O_ACCMODE	00000003
#define O_WRONLY	00000001
#define O_RDWR		00000002
#define O_CREAT		00000100
#define O_TRUNC		00001000

/* struct mount around a vfsmount, CO-RE relocated */
#define mount_of(vmnt) \
	((struct mount *)((void *)(vmnt) - bpf_core_field_offset(struct mount, mnt)))

/* Set by the loader before load (the values of bpf/agentguard.bpf.c). */
const volatile __u64 ag_root_cgid = 0;
const volatile __u32 ag_root_level = 0;
const volatile __u32 ag_wakeup_bytes = 256 * 1024;

/* Written by userspace while loaded: some live session is observed. */
__u32 fb_observe_any = 0;

/* Shared with bpf/agentguard.bpf.c (bpf_map__reuse_fd). */
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

/* The process table: sets of entries (bpf/agentguard.h, struct ag_proc_set). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AG_PROC_SETS);
	__type(key, __u32);
	__type(value, struct ag_proc_set);
} procs SEC(".maps");

/* Own maps. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AG_DEFAULT_MAX_SESSIONS);
	__type(key, __u64);
	__type(value, struct ag_fb_session);
} fb_sessions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AG_DEFAULT_MAX_SESSIONS);
	__type(key, struct ag_fb_interp_key);
	__type(value, __u32);
} fb_interp SEC(".maps");

/* The record is built here, then copied to the ring buffer: the path
 * readers below are global functions, verified once, that find it
 * themselves. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ag_event_fallback);
} fb_scratch SEC(".maps");

#include "common.bpf.h"

static __always_inline struct ag_event_fallback *scratch(void)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&fb_scratch, &k);
}

/* ------------------------------------------------------------------------ */
/* Paths                                                                     */

/* State of a dentry walk, one bpf_loop() step per dentry or mount crossing
 * (a callback is verified once, whatever the number of steps). */
struct walk_ctx {
	struct dentry *dentry, *root_d;
	struct vfsmount *vmnt, *root_m;
	struct mount *mnt;
	__u32 slot;
	__u32 off;
	__u32 n;
	__u32 done;
};

static long walk_step(__u32 i, void *arg)
{
	struct walk_ctx *w = arg;
	struct ag_event_fallback *e = scratch();
	/* locals: a CO-RE read must not see the walk_ctx access */
	struct dentry *dentry = w->dentry, *parent, *mroot;
	struct vfsmount *vmnt = w->vmnt;
	struct mount *mnt = w->mnt;
	const unsigned char *name;
	__u32 off = w->off;
	long len;

	if (!e)
		return 1;
	if (dentry == w->root_d && vmnt == w->root_m) {
		w->done = 1;
		return 1;
	}
	mroot = BPF_CORE_READ(vmnt, mnt_root);
	parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == mroot || dentry == parent) {
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);

		if (mp == mnt || dentry != mroot) {
			w->done = 1;	/* the root of the mount tree */
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mp;
		w->vmnt = (struct vfsmount *)((void *)mp + bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	if (off >= AG_FB_DIR_HALF)
		return 1;
	name = BPF_CORE_READ(dentry, d_name.name);
	len = bpf_probe_read_kernel_str(&e->p[w->slot & 1].dir[off & (AG_FB_DIR_HALF - 1)],
					AG_FB_DIR_HALF, name);
	if (len <= 0)
		return 1;
	w->off = off + len;
	w->n++;
	w->dentry = parent;
	return 0;
}

/* Name the directory (or object) at dentry/vmnt into path `slot` of the
 * scratch record, leaf first, up to the task's root or the root of the
 * mount tree. Global: verified once. */
__noinline int fb_walk(__u32 slot, __u64 dentry_p, __u64 vmnt_p)
{
	struct ag_event_fallback *e = scratch();
	struct task_struct *task = (void *)bpf_get_current_task();
	struct walk_ctx w = {};
	struct ag_fb_path *fp;

	if (!e)
		return 0;
	w.dentry = (struct dentry *)dentry_p;
	w.vmnt = (struct vfsmount *)vmnt_p;
	w.mnt = mount_of(w.vmnt);
	w.root_d = BPF_CORE_READ(task, fs, root.dentry);
	w.root_m = BPF_CORE_READ(task, fs, root.mnt);
	w.slot = slot & 1;
	bpf_loop(AG_FB_MAX_COMPONENTS, walk_step, &w, 0);
	fp = &e->p[slot & 1];
	if (!w.done)
		fp->flags |= AG_FB_P_TRUNC;
	fp->dir_len = w.off;
	fp->ndir = w.n;
	return 0;
}

static __always_inline bool fd_path(int fd, struct path *out)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	struct file **fda = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= max)
		return false;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fda[fd]) || !f)
		return false;
	return BPF_CORE_READ_INTO(out, f, f_path) == 0;
}

/* Path `slot` of the scratch record names what descriptor fd is. Global. */
__noinline int fb_object_path(__u32 slot, int fd)
{
	struct ag_event_fallback *e = scratch();
	struct path p;

	if (!e)
		return 0;
	e->p[slot & 1].flags |= AG_FB_P_OBJECT;
	if (fd_path(fd, &p))
		fb_walk(slot, (__u64)p.dentry, (__u64)p.mnt);
	else
		e->p[slot & 1].flags |= AG_FB_P_TRUNC;
	return 0;
}

/* "/proc/self/fd/N" or "/dev/fd/N": N, else -1. Prefixes compared as
 * little-endian words (x86 and arm64), which keeps the verifier's paths few. */
#define W_PROC_SE	0x65732f636f72702fULL	/* "/proc/se" */
#define W_LF_FD		0x2f64662f666cULL	/* "lf/fd/" (48 bits) */
#define W_DEV_FD	0x2f64662f7665642fULL	/* "/dev/fd/" */

static __always_inline int proc_fd(const char *s)
{
	__u64 w0, w1;
	int skip, n = 0;

	__builtin_memcpy(&w0, s, 8);
	__builtin_memcpy(&w1, s + 8, 8);
	if (w0 == W_PROC_SE && (w1 & 0xffffffffffffULL) == W_LF_FD)
		skip = 14;
	else if (w0 == W_DEV_FD)
		skip = 8;
	else
		return -1;
	for (int i = 0; i < 7; i++) {
		char c = s[skip + i];

		if (c == 0)
			return i ? n : -1;
		if (c < '0' || c > '9')
			return -1;	/* "/proc/self/fd/3/x" and the like: left as is */
		n = n * 10 + (c - '0');
	}
	return -1;
}

/* Path `slot` of the scratch record: the argument as passed, and the
 * directory a relative one is resolved against (dfd or the cwd). Global. */
__noinline int fb_user_path(__u32 slot, int dfd, __u64 upath, int empty_ok)
{
	struct ag_event_fallback *e = scratch();
	struct task_struct *task = (void *)bpf_get_current_task();
	struct ag_fb_path *fp;
	struct path base;
	long n;
	int pfd;

	if (!e)
		return 0;
	fp = &e->p[slot & 1];
	n = bpf_probe_read_user_str(fp->raw, sizeof(fp->raw), (const void *)upath);
	if (n <= 0) {
		fp->raw[0] = 0;
		fp->raw_len = 0;
		fp->flags |= AG_FB_P_NORAW;
		return 0;
	}
	fp->raw_len = n - 1;
	if (fp->raw[0] == '/') {
		pfd = proc_fd(fp->raw);
		if (pfd >= 0) {
			fp->flags |= AG_FB_P_PROCFD;
			fb_object_path(slot, pfd);
		}
		return 0;
	}
	if (n == 1 && empty_ok) {	/* AT_EMPTY_PATH: the descriptor itself */
		fb_object_path(slot, dfd);
		return 0;
	}
	fp->flags |= AG_FB_P_RELATIVE;
	if (dfd == AT_FDCWD) {
		if (BPF_CORE_READ_INTO(&base, task, fs, pwd))
			return 0;
	} else if (!fd_path(dfd, &base)) {
		fp->flags |= AG_FB_P_TRUNC;
		return 0;
	}
	fb_walk(slot, (__u64)base.dentry, (__u64)base.mnt);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* System calls                                                              */

/* How to read a syscall's paths: argument indexes, -1 for none. */
struct sc {
	__u8 op, access;
	__s8 dfd0, path0, dfd1, path1;
	__s8 flags;		/* open flags, or at-flags */
	__u8 kind;
};

enum { K_PLAIN, K_OPEN, K_OPENAT2, K_EXECAT, K_FD, K_UNLINKAT, K_RENAMELINK };

#define W AG_ACC_WRITE
#define R AG_ACC_READ

static __always_inline bool classify(long nr, struct sc *c)
{
	c->dfd0 = c->path0 = c->dfd1 = c->path1 = c->flags = -1;
	c->kind = K_PLAIN;
	c->access = W;
	switch (nr) {
#if defined(__TARGET_ARCH_x86)
	case 2:   /* open */	c->op = AG_FILE_OP_OPEN; c->path0 = 0; c->flags = 1; c->kind = K_OPEN; break;
	case 85:  /* creat */	c->op = AG_FILE_OP_CREATE; c->path0 = 0; break;
	case 59:  /* execve */	c->op = AG_FB_OP_EXEC; c->access = AG_ACC_EXEC; c->path0 = 0; break;
	case 76:  /* truncate */ c->op = AG_FILE_OP_TRUNCATE; c->path0 = 0; break;
	case 82:  /* rename */	c->op = AG_FILE_OP_RENAME; c->path0 = 0; c->path1 = 1; c->kind = K_RENAMELINK; break;
	case 86:  /* link */	c->op = AG_FILE_OP_LINK; c->path0 = 0; c->path1 = 1; c->kind = K_RENAMELINK; break;
	case 87:  /* unlink */	c->op = AG_FILE_OP_UNLINK; c->path0 = 0; break;
	case 83:  /* mkdir */	c->op = AG_FILE_OP_MKDIR; c->path0 = 0; break;
	case 84:  /* rmdir */	c->op = AG_FILE_OP_RMDIR; c->path0 = 0; break;
	case 88:  /* symlink */	c->op = AG_FILE_OP_SYMLINK; c->path0 = 1; break;
	case 133: /* mknod */	c->op = AG_FILE_OP_CREATE; c->path0 = 0; break;
#define NR_OPENAT	257
#define NR_OPENAT2	437
#define NR_EXECVEAT	322
#define NR_FTRUNCATE	77
#define NR_RENAMEAT	264
#define NR_RENAMEAT2	316
#define NR_LINKAT	265
#define NR_UNLINKAT	263
#define NR_MKDIRAT	258
#define NR_SYMLINKAT	266
#define NR_MKNODAT	259
#elif defined(__TARGET_ARCH_arm64)
#define NR_OPENAT	56
#define NR_OPENAT2	437
#define NR_EXECVEAT	281
#define NR_FTRUNCATE	46
#define NR_RENAMEAT	38
#define NR_RENAMEAT2	276
#define NR_LINKAT	37
#define NR_UNLINKAT	35
#define NR_MKDIRAT	34
#define NR_SYMLINKAT	36
#define NR_MKNODAT	33
	case 221: /* execve */	c->op = AG_FB_OP_EXEC; c->access = AG_ACC_EXEC; c->path0 = 0; break;
	case 45:  /* truncate */ c->op = AG_FILE_OP_TRUNCATE; c->path0 = 0; break;
#else
#error "fallback.bpf.c: syscall numbers for this architecture are missing"
#endif
	case NR_OPENAT:	c->op = AG_FILE_OP_OPEN; c->dfd0 = 0; c->path0 = 1; c->flags = 2; c->kind = K_OPEN; break;
	case NR_OPENAT2: c->op = AG_FILE_OP_OPEN; c->dfd0 = 0; c->path0 = 1; c->flags = 2; c->kind = K_OPENAT2; break;
	case NR_EXECVEAT: c->op = AG_FB_OP_EXEC; c->access = AG_ACC_EXEC; c->dfd0 = 0; c->path0 = 1; c->flags = 4; c->kind = K_EXECAT; break;
	case NR_FTRUNCATE: c->op = AG_FILE_OP_TRUNCATE; c->dfd0 = 0; c->kind = K_FD; break;
	case NR_RENAMEAT:
	case NR_RENAMEAT2: c->op = AG_FILE_OP_RENAME; c->dfd0 = 0; c->path0 = 1; c->dfd1 = 2; c->path1 = 3; c->kind = K_RENAMELINK; break;
	case NR_LINKAT:	c->op = AG_FILE_OP_LINK; c->dfd0 = 0; c->path0 = 1; c->dfd1 = 2; c->path1 = 3; c->kind = K_RENAMELINK; break;
	case NR_UNLINKAT: c->op = AG_FILE_OP_UNLINK; c->dfd0 = 0; c->path0 = 1; c->flags = 2; c->kind = K_UNLINKAT; break;
	case NR_MKDIRAT: c->op = AG_FILE_OP_MKDIR; c->dfd0 = 0; c->path0 = 1; break;
	case NR_SYMLINKAT: c->op = AG_FILE_OP_SYMLINK; c->dfd0 = 1; c->path0 = 2; break;
	case NR_MKNODAT: c->op = AG_FILE_OP_CREATE; c->dfd0 = 0; c->path0 = 1; break;
	default:
		return false;
	}
	return true;
}

static __always_inline unsigned long arg(struct pt_regs *regs, int i)
{
	switch (i) {
	case 0: return PT_REGS_PARM1_CORE_SYSCALL(regs);
	case 1: return PT_REGS_PARM2_CORE_SYSCALL(regs);
	case 2: return PT_REGS_PARM3_CORE_SYSCALL(regs);
	case 3: return PT_REGS_PARM4_CORE_SYSCALL(regs);
	case 4: return PT_REGS_PARM5_CORE_SYSCALL(regs);
	default: return 0;
	}
}

static __always_inline int on_exit(long nr, long ret, struct pt_regs *regs)
{
	struct ag_event_fallback *e;
	struct ag_fb_session *s;
	struct sc c;
	__u64 cgid = 0;
	bool denied;

	denied = ret == -EACCES || ret == -EXDEV;
	if (!denied && !fb_observe_any)
		return 0;
	if (!classify(nr, &c))
		return 0;
	if (ret == -EXDEV && c.kind != K_RENAMELINK)
		return 0;
	if (!denied && ret < 0)
		return 0;
	if (!denied && c.op == AG_FB_OP_EXEC)
		return 0;	/* a successful exec is seen by the exec program */
	s = session_lookup(&fb_sessions, &cgid);
	if (!s)
		return 0;
	if (!denied && !(s->flags & AG_FB_S_OBSERVE))
		return 0;
	if (!regs)
		regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	e = scratch();
	if (!e)
		return 0;
	fill_hdr(&e->h, AG_EV_FALLBACK, cgid);
	e->h.decision = denied ? AG_DENY : AG_ALLOW;
	e->ret = ret;
	e->nr = nr;
	e->op = c.op;
	e->access = c.access;
	e->npaths = c.path1 >= 0 ? 2 : 1;
	e->flags = denied ? 0 : AG_FB_F_OBSERVED;
	e->exec_rule = 0;
	e->_pad = 0;
	e->p[0].flags = e->p[1].flags = 0;
	e->p[0].raw_len = e->p[1].raw_len = 0;
	e->p[0].dir_len = e->p[1].dir_len = 0;
	e->p[0].ndir = e->p[1].ndir = 0;
	e->p[0].raw[0] = e->p[1].raw[0] = 0;

	if (c.kind == K_OPEN || c.kind == K_OPENAT2) {
		__u64 flags = arg(regs, c.flags);

		if (c.kind == K_OPENAT2 &&
		    bpf_probe_read_user(&flags, sizeof(flags), (void *)flags))
			flags = 0;	/* struct open_how starts with the flags */
		e->access = (flags & O_ACCMODE) == O_WRONLY ? W :
			    (flags & O_ACCMODE) == O_RDWR ? R | W : R;
		if (flags & (O_CREAT | O_TRUNC))
			e->access |= W;
		if (flags & O_CREAT)
			e->op = AG_FILE_OP_CREATE;
	}
	if (c.kind == K_UNLINKAT && (arg(regs, c.flags) & AT_REMOVEDIR))
		e->op = AG_FILE_OP_RMDIR;

	if (!denied && (c.kind == K_OPEN || c.kind == K_OPENAT2)) {
		fb_object_path(0, (int)ret);	/* what was opened, resolved */
	} else if (c.kind == K_FD) {
		fb_object_path(0, (int)arg(regs, c.dfd0));
	} else {
		int dfd = c.dfd0 >= 0 ? (int)arg(regs, c.dfd0) : AT_FDCWD;
		int empty = c.kind == K_EXECAT && (arg(regs, c.flags) & AT_EMPTY_PATH);

		fb_user_path(0, dfd, arg(regs, c.path0), empty);
		if (c.path1 >= 0) {
			dfd = c.dfd1 >= 0 ? (int)arg(regs, c.dfd1) : AT_FDCWD;
			fb_user_path(1, dfd, arg(regs, c.path1), 0);
		}
	}
	if (bpf_ringbuf_output(&events, e, sizeof(*e), wakeup_flags()))
		stat_inc(AG_STAT_EVENTS_LOST);
	return 0;
}

/* The record of syscalls:sys_exit_<call> (its tracefs format file): not
 * raw_syscalls' struct trace_event_raw_sys_exit, whose id is a long. */
struct syscall_exit_rec {
	__u64 common;
	int nr;
	int _pad;
	long ret;
};

SEC("tracepoint/syscalls/sys_exit_openat")
int fb_exit_tp(struct syscall_exit_rec *ctx)
{
	return on_exit(ctx->nr, ctx->ret, NULL);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(fb_exit_btf, struct pt_regs *regs, long ret)
{
	long nr;

	if (ret != -EACCES && ret != -EXDEV && !fb_observe_any)
		return 0;
#if defined(__TARGET_ARCH_x86)
	nr = BPF_CORE_READ(regs, orig_ax);
#else
	nr = BPF_CORE_READ(regs, syscallno);
#endif
	return on_exit(nr, ret, regs);
}

/* ------------------------------------------------------------------------ */
/* Exec: the guard, and execs of observed sessions                          */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(fb_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct ag_fb_interp_key key = {};
	struct ag_event_fallback *e;
	struct ag_fb_session *s;
	struct file *f;
	struct path fp;
	__u32 *rule;
	__u64 cgid = 0;

	s = session_lookup(&fb_sessions, &cgid);
	if (!s)
		return 0;
	f = BPF_CORE_READ(bprm, file);
	key.cgid = cgid;
	key.ino = BPF_CORE_READ(f, f_inode, i_ino);
	key.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	rule = bpf_map_lookup_elem(&fb_interp, &key);
	if (rule)
		bpf_send_signal(SIGKILL);
	else if (!(s->flags & AG_FB_S_OBSERVE))
		return 0;

	e = scratch();
	if (!e)
		return 0;
	fill_hdr(&e->h, AG_EV_FALLBACK, cgid);
	e->h.decision = rule ? AG_DENY : AG_ALLOW;
	e->ret = 0;
	e->nr = 0;
	e->op = AG_FB_OP_EXEC;
	e->access = AG_ACC_EXEC;
	e->npaths = 2;
	e->flags = rule ? AG_FB_F_KILLED : AG_FB_F_OBSERVED;
	e->exec_rule = rule ? *rule : 0;
	e->_pad = 0;
	/* p[0]: the file the kernel runs (a script's interpreter), resolved;
	 * p[1]: the name the program was started by */
	e->p[0].flags = e->p[1].flags = 0;
	e->p[0].raw_len = e->p[1].raw_len = 0;
	e->p[0].dir_len = e->p[1].dir_len = 0;
	e->p[0].ndir = e->p[1].ndir = 0;
	e->p[0].raw[0] = e->p[1].raw[0] = 0;
	e->p[0].flags = AG_FB_P_OBJECT;
	if (BPF_CORE_READ_INTO(&fp, f, f_path) == 0)
		fb_walk(0, (__u64)fp.dentry, (__u64)fp.mnt);
	{
		long n = bpf_probe_read_kernel_str(e->p[1].raw, sizeof(e->p[1].raw),
						   BPF_CORE_READ(bprm, filename));

		e->p[1].raw_len = n > 0 ? n - 1 : 0;
		if (n <= 0)
			e->p[1].flags |= AG_FB_P_NORAW;
	}
	if (bpf_ringbuf_output(&events, e, sizeof(*e), wakeup_flags()))
		stat_inc(AG_STAT_EVENTS_LOST);
	return 0;
}
