/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "enforcer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agentguard.skel.h"
#include "cgroup.h"

#define NHOOKS_BASE	9	/* socket and tracepoint programs: always attached */
#define NHOOKS_LSM	15	/* BPF LSM programs: where BPF LSM is active */
#define NHOOKS		(NHOOKS_BASE + NHOOKS_LSM)

#define NHOOKS_SOCK	6	/* the first NHOOKS_SOCK hooks: cgroup socket programs */
#define AG_MAX_LEVEL	31	/* as bpf/agentguard.bpf.c */

struct enforcer_adopted {
	struct bpf_link *links[NHOOKS_SOCK];
	__u64 cgid;
	__u32 level;
};

struct enforcer {
	unsigned adopted_at[AG_MAX_LEVEL + 1];	/* adopted cgroups per level */
	struct agentguard_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[NHOOKS];
	struct enforcer_hook hooks[NHOOKS];
	int root_fd;
	int ncpus;
	bool lsm_active;
	const char *lsm_status;
};

struct hook_def {
	struct bpf_program *prog;
	const char *name;
	bool cgroup;
};

static void hook_table(const struct agentguard_bpf *skel, struct hook_def t[NHOOKS])
{
	const struct hook_def d[NHOOKS] = {
		{ skel->progs.ag_connect4, "cgroup/connect4", true },
		{ skel->progs.ag_connect6, "cgroup/connect6", true },
		{ skel->progs.ag_sendmsg4, "cgroup/sendmsg4", true },
		{ skel->progs.ag_sendmsg6, "cgroup/sendmsg6", true },
		{ skel->progs.ag_bind4, "cgroup/bind4", true },
		{ skel->progs.ag_bind6, "cgroup/bind6", true },
		{ skel->progs.ag_fork, "tp_btf/sched_process_fork", false },
		{ skel->progs.ag_exec, "tp_btf/sched_process_exec", false },
		{ skel->progs.ag_exit, "tp_btf/sched_process_exit", false },
		/* NHOOKS_LSM from here */
		{ skel->progs.ag_file_open, "lsm/file_open", false },
		{ skel->progs.ag_bprm_check, "lsm/bprm_check_security", false },
		{ skel->progs.ag_path_mknod, "lsm/path_mknod", false },
		{ skel->progs.ag_path_mkdir, "lsm/path_mkdir", false },
		{ skel->progs.ag_path_rmdir, "lsm/path_rmdir", false },
		{ skel->progs.ag_path_unlink, "lsm/path_unlink", false },
		{ skel->progs.ag_path_symlink, "lsm/path_symlink", false },
		{ skel->progs.ag_path_truncate, "lsm/path_truncate", false },
		{ skel->progs.ag_path_chmod, "lsm/path_chmod", false },
		{ skel->progs.ag_path_link, "lsm/path_link", false },
		{ skel->progs.ag_path_rename, "lsm/path_rename", false },
		{ skel->progs.ag_sb_mount, "lsm/sb_mount", false },
		{ skel->progs.ag_sb_umount, "lsm/sb_umount", false },
		{ skel->progs.ag_move_mount, "lsm/move_mount", false },
		{ skel->progs.ag_sb_pivotroot, "lsm/sb_pivotroot", false },
	};

	memcpy(t, d, sizeof(d));
}

static void detach_lsm(struct enforcer *e)
{
	for (int i = NHOOKS_BASE; i < NHOOKS; i++) {
		bpf_link__destroy(e->links[i]);
		e->links[i] = NULL;
		e->hooks[i].attached = false;
	}
	e->lsm_active = false;
}

/* Does lsm/file_open run? Attaching to a BPF LSM hook succeeds even where
 * BPF LSM is built in but not enabled; then nothing is ever called. */
static bool lsm_runs(struct enforcer *e)
{
	int fd;

	e->skel->bss->ag_lsm_probe_seen = 0;
	e->skel->bss->ag_lsm_probe_tgid = (__u32)getpid();
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	e->skel->bss->ag_lsm_probe_tgid = 0;
	return e->skel->bss->ag_lsm_probe_seen != 0;
}

static int attach_all(struct enforcer *e, bool lsm)
{
	struct hook_def t[NHOOKS];

	hook_table(e->skel, t);
	for (int i = 0; i < NHOOKS; i++) {
		e->hooks[i].name = t[i].name;
		if (i >= NHOOKS_BASE && !lsm)
			continue;
		e->links[i] = t[i].cgroup ?
			bpf_program__attach_cgroup(t[i].prog, e->root_fd) :
			bpf_program__attach(t[i].prog);
		if (!e->links[i]) {
			int err = -errno;

			e->links[i] = NULL;
			if (i < NHOOKS_BASE)
				return err;
			detach_lsm(e);
			e->lsm_status = "attaching the BPF LSM programs failed";
			return 0;
		}
		e->hooks[i].attached = true;
	}
	if (lsm) {
		e->lsm_active = true;
		if (!lsm_runs(e)) {
			detach_lsm(e);
			e->lsm_status = "BPF LSM programs attach but are not called "
					"(BPF LSM not enabled)";
		} else {
			e->lsm_status = "active";
		}
	}
	return 0;
}

/* 1 if /sys/kernel/security/lsm lists "bpf", 0 if it does not, -1 if it
 * cannot be read (securityfs not mounted). */
static int bpf_lsm_listed(void)
{
	char buf[512], *tok, *save = NULL;
	FILE *f = fopen("/sys/kernel/security/lsm", "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (tok = strtok_r(buf, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save))
		if (!strcmp(tok, "bpf"))
			return 1;
	return 0;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static struct agentguard_bpf *open_skel(const struct enforcer_opts *o, __u64 root_cgid,
					int level, bool lsm)
{
	struct agentguard_bpf *skel = agentguard_bpf__open();
	struct hook_def t[NHOOKS];
	__u64 seed;

	if (!skel)
		return NULL;
	skel->rodata->ag_root_cgid = root_cgid;
	skel->rodata->ag_root_level = level;
	skel->rodata->ag_log_allowed_files = o->log_allowed_files;
	if (o->ringbuf_bytes) {
		bpf_map__set_max_entries(skel->maps.events, o->ringbuf_bytes);
		skel->rodata->ag_wakeup_bytes = o->ringbuf_bytes / 8;
	} else {
		skel->rodata->ag_wakeup_bytes = AG_DEFAULT_RINGBUF_BYTES / 8;
	}
	if (o->max_sessions)
		bpf_map__set_max_entries(skel->maps.sessions, o->max_sessions);
	/* Storms (bpf/agentguard.h): aggregation slots, session rate limits.
	 * Off, their maps shrink to one entry the programs never use. */
	skel->rodata->ag_agg_window_ns = (__u64)o->agg_window_ms * 1000000ull;
	if (!o->agg_window_ms)
		bpf_map__set_max_entries(skel->maps.agg, 1);
	if (o->rate_per_sec) {
		__u64 interval = 1000000000ull / o->rate_per_sec;
		__u32 burst = o->rate_burst ? o->rate_burst : o->rate_per_sec;

		skel->rodata->ag_rate_interval_ns = interval ? interval : 1;
		skel->rodata->ag_rate_tau_ns = (__u64)(burst - 1) * skel->rodata->ag_rate_interval_ns;
		/* buckets outlive their sessions by the daemon's grace period */
		bpf_map__set_max_entries(skel->maps.rate, 2 * (o->max_sessions ? o->max_sessions :
								AG_DEFAULT_MAX_SESSIONS));
	} else {
		bpf_map__set_max_entries(skel->maps.rate, 1);
	}
	if (o->max_policies)
		bpf_map__set_max_entries(skel->maps.policies, o->max_policies);
	if (o->max_net_rules)
		bpf_map__set_max_entries(skel->maps.net_rules, o->max_net_rules);
	if (o->max_path_rules)
		bpf_map__set_max_entries(skel->maps.path_rules, o->max_path_rules);
	if (o->max_deny_inodes)
		bpf_map__set_max_entries(skel->maps.deny_inodes, o->max_deny_inodes);
	hook_table(skel, t);
	for (int i = NHOOKS_BASE; i < NHOOKS; i++)
		bpf_program__set_autoload(t[i].prog, lsm);
	/* inode storage exists only where BPF LSM is built in */
	bpf_map__set_autocreate(skel->maps.open_cache, lsm);
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
		agentguard_bpf__destroy(skel);
		errno = EIO;
		return NULL;
	}
	skel->rodata->ag_cache_seed = seed;
	return skel;
}

struct enforcer *enforcer__open(const struct enforcer_opts *o)
{
	struct enforcer *e;
	__u64 root_cgid;
	int level, err, listed;
	bool lsm;

	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->root_fd = -1;
	e->ncpus = libbpf_num_possible_cpus();
	if (e->ncpus <= 0) {
		err = e->ncpus ? e->ncpus : -EINVAL;
		goto fail;
	}
	err = cgroup__id(o->root_path, &root_cgid);
	if (err)
		goto fail;
	level = cgroup__level(o->cgroup_mount, o->root_path);
	if (level < 0) {
		err = level;
		goto fail;
	}
	e->root_fd = open(o->root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->root_fd < 0) {
		err = -errno;
		goto fail;
	}

	listed = bpf_lsm_listed();
	lsm = !o->no_lsm && listed != 0;
	e->lsm_status = o->no_lsm ? "disabled by the caller" :
			"'bpf' is not in /sys/kernel/security/lsm";
	e->skel = open_skel(o, root_cgid, level, lsm);
	if (!e->skel) {
		err = -errno;
		goto fail;
	}
	if (lsm) {
		/* Where BPF LSM is not usable the LSM programs fail to load
		 * (EPERM, or the verifier): say nothing, load without them. */
		libbpf_print_fn_t old = libbpf_set_print(NULL);

		libbpf_set_print(listed > 0 ? old : quiet_print);
		err = agentguard_bpf__load(e->skel);
		libbpf_set_print(old);
		if (err) {
			agentguard_bpf__destroy(e->skel);
			lsm = false;
			e->lsm_status = "the BPF LSM programs do not load on this kernel";
			e->skel = open_skel(o, root_cgid, level, false);
			if (!e->skel) {
				err = -errno;
				goto fail;
			}
		}
	}
	if (!lsm) {
		err = agentguard_bpf__load(e->skel);
		if (err)
			goto fail;
	}
	err = attach_all(e, lsm);
	if (err)
		goto fail;
	e->rb = ring_buffer__new(bpf_map__fd(e->skel->maps.events),
				 (ring_buffer_sample_fn)o->on_event, o->ctx, NULL);
	if (!e->rb) {
		err = -errno;
		goto fail;
	}
	return e;
fail:
	enforcer__destroy(e);
	errno = -err;
	return NULL;
}

void enforcer__destroy(struct enforcer *e)
{
	if (!e)
		return;
	ring_buffer__free(e->rb);
	for (int i = 0; i < NHOOKS; i++)
		bpf_link__destroy(e->links[i]);
	agentguard_bpf__destroy(e->skel);
	if (e->root_fd >= 0)
		close(e->root_fd);
	free(e);
}

static int del_net(struct enforcer *e, __u32 id, const struct compiled_policy *cp, size_t n)
{
	int fd = bpf_map__fd(e->skel->maps.net_rules), err = 0;
	struct ag_net_key key;

	for (size_t i = 0; i < n; i++) {
		compile__net_key(&cp->net[i], id, &key);
		if (bpf_map_delete_elem(fd, &key) < 0 && errno != ENOENT && !err)
			err = -errno;
	}
	return err;
}

static int del_paths(struct enforcer *e, __u32 id, const struct compiled_policy *cp, size_t n)
{
	int fd = bpf_map__fd(e->skel->maps.path_rules), err = 0;
	struct ag_path_key key;

	for (size_t i = 0; i < n; i++) {
		compile__path_key(&cp->paths[i], id, &key);
		if (bpf_map_delete_elem(fd, &key) < 0 && errno != ENOENT && !err)
			err = -errno;
	}
	return err;
}

/* Every deny_inodes entry of policy id (found by walking the map: what was
 * stat()ed at load may have changed since). */
static int del_inodes(struct enforcer *e, __u32 id)
{
	int fd = bpf_map__fd(e->skel->maps.deny_inodes), err = 0;
	struct ag_inode_key key, next, *prev = NULL;
	struct ag_inode_key *doomed = NULL;
	size_t n = 0, cap = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (next.policy == id) {
			if (n == cap) {
				struct ag_inode_key *v;

				cap = cap ? cap * 2 : 64;
				v = realloc(doomed, cap * sizeof(*v));
				if (!v) {
					free(doomed);
					return -ENOMEM;
				}
				doomed = v;
			}
			doomed[n++] = next;
		}
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, &doomed[i]) < 0 && errno != ENOENT && !err)
			err = -errno;
	free(doomed);
	return err;
}

/* Write n keys/values: one syscall for the whole set where the kernel
 * supports it, else one by one. Returns 0 or -errno; *done says how many
 * were written (all of them may have been, partly, on error). */
static int update_all(int fd, const void *keys, const void *vals, size_t ksz, size_t vsz,
		      size_t n, size_t *done)
{
	__u32 count = n;
	int err;

	*done = 0;
	if (!n)
		return 0;
	err = bpf_map_update_batch(fd, keys, vals, &count, NULL);
	if (!err) {
		*done = n;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (bpf_map_update_elem(fd, (const char *)keys + i * ksz,
					(const char *)vals + i * vsz, BPF_ANY) < 0) {
			*done = n;	/* the batch may have written any of them */
			return -errno;
		}
	}
	*done = n;
	return 0;
}

/* The kernel's dev_t of every mount, by mount id, from /proc/self/mountinfo
 * (its "major:minor" is the super block's s_dev, what the BPF side sees;
 * stat()'s st_dev can differ, e.g. on btrfs and overlayfs). */
struct mount_devs {
	int *id;
	__u32 *dev;
	size_t n;
};

static void mount_devs__load(struct mount_devs *md)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	size_t cap = 0;

	memset(md, 0, sizeof(*md));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		int id;

		if (sscanf(line, "%d %*d %u:%u", &id, &maj, &min) != 3)
			continue;
		if (md->n == cap) {
			int *ni;
			__u32 *nd;

			cap = cap ? cap * 2 : 64;
			ni = realloc(md->id, cap * sizeof(*ni));
			if (ni)
				md->id = ni;
			nd = realloc(md->dev, cap * sizeof(*nd));
			if (nd)
				md->dev = nd;
			if (!ni || !nd)
				break;
		}
		md->id[md->n] = id;
		md->dev[md->n] = (maj << 20) | (min & 0xfffff);
		md->n++;
	}
	fclose(f);
}

static void mount_devs__free(struct mount_devs *md)
{
	free(md->id);
	free(md->dev);
}

/* The deny_inodes key of path under policy id: 0, or -errno (ENOENT etc.:
 * nothing to protect by inode). */
static int inode_key(const struct mount_devs *md, const char *path, __u32 id,
		     struct ag_inode_key *k)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, 0, STATX_INO | STATX_MNT_ID, &stx) < 0)
		return -errno;
	memset(k, 0, sizeof(*k));
	k->policy = id;
	k->ino = stx.stx_ino;
	k->dev = (stx.stx_dev_major << 20) | (stx.stx_dev_minor & 0xfffff);
	if (stx.stx_mask & STATX_MNT_ID) {
		for (size_t i = 0; i < md->n; i++) {
			if ((__u64)md->id[i] == stx.stx_mnt_id) {
				k->dev = md->dev[i];
				break;
			}
		}
	}
	return 0;
}

/* End the file decision cache's epoch (bpf/agentguard.bpf.c, struct
 * open_cache): after every change of sessions or policies, so that no
 * decision cached under the old ones is used again. */
static void epoch_bump(struct enforcer *e)
{
	__atomic_fetch_add(&e->skel->bss->ag_path_epoch, 1, __ATOMIC_SEQ_CST);
}

int enforcer__set_policy(struct enforcer *e, __u32 id, const struct compiled_policy *cp)
{
	struct ag_net_key *nkeys = NULL;
	struct ag_net_val *nvals = NULL;
	struct ag_path_key *pkeys = NULL;
	struct ag_path_val *pvals = NULL;
	struct ag_policy pol = cp->policy;
	struct mount_devs md = { 0 };
	size_t nn = 0, np = 0;
	bool inodes = false;
	int err = 0;

	if (cp->nnet) {
		nkeys = malloc(cp->nnet * sizeof(*nkeys));
		nvals = malloc(cp->nnet * sizeof(*nvals));
		if (!nkeys || !nvals) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < cp->nnet; i++) {
			compile__net_key(&cp->net[i], id, &nkeys[i]);
			nvals[i] = cp->net[i].val;
		}
		err = update_all(bpf_map__fd(e->skel->maps.net_rules), nkeys, nvals,
				 sizeof(*nkeys), sizeof(*nvals), cp->nnet, &nn);
		if (err)
			goto out;
	}
	if (cp->npaths) {
		pkeys = malloc(cp->npaths * sizeof(*pkeys));
		pvals = malloc(cp->npaths * sizeof(*pvals));
		if (!pkeys || !pvals) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < cp->npaths; i++) {
			compile__path_key(&cp->paths[i], id, &pkeys[i]);
			pvals[i] = cp->paths[i].val;
		}
		err = update_all(bpf_map__fd(e->skel->maps.path_rules), pkeys, pvals,
				 sizeof(*pkeys), sizeof(*pvals), cp->npaths, &np);
		if (err)
			goto out;
	}

	/* files.deny paths by inode, as they exist now */
	pol.flags = 0;
	for (size_t i = 0; i < cp->npaths; i++) {
		char path[AG_PATH_KEY_LEN];
		struct ag_inode_key k;
		struct ag_inode_val v = { 0 };
		bool tree;
		__u16 rule;

		if (!compile__deny_path(&cp->paths[i], path, &tree, &rule))
			continue;
		if (!inodes) {
			mount_devs__load(&md);
			inodes = true;
		}
		if (inode_key(&md, path, id, &k))
			continue;	/* nothing there: the path rule holds alone */
		v.rule = rule;
		v.tree = tree;
		if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.deny_inodes), &k, &v,
					BPF_NOEXIST) < 0) {
			if (errno == EEXIST)
				continue;	/* two deny paths, one inode: the first names it */
			err = -errno;
			goto out;
		}
		pol.flags |= tree ? AG_POLICY_F_DENY_TREES : AG_POLICY_F_DENY_INODES;
	}

	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.policies), &id, &pol, BPF_ANY) < 0)
		err = -errno;
	epoch_bump(e);
out:
	if (err) {
		del_net(e, id, cp, nn);
		del_paths(e, id, cp, np);
		if (inodes)
			del_inodes(e, id);
	}
	mount_devs__free(&md);
	free(nkeys);
	free(nvals);
	free(pkeys);
	free(pvals);
	return err;
}

int enforcer__del_policy(struct enforcer *e, __u32 id, const struct compiled_policy *cp)
{
	int err = 0, r;

	if (bpf_map_delete_elem(bpf_map__fd(e->skel->maps.policies), &id) < 0 &&
	    errno != ENOENT)
		err = -errno;
	r = del_net(e, id, cp, cp->nnet);
	err = err ?: r;
	r = del_paths(e, id, cp, cp->npaths);
	err = err ?: r;
	r = del_inodes(e, id);
	epoch_bump(e);
	return err ?: r;
}

/* Publish the levels of the adopted cgroups to the BPF side. */
static void adopted_levels(struct enforcer *e)
{
	__u32 mask = 0, min = 0;

	for (__u32 l = AG_MAX_LEVEL; l >= 1; l--) {
		if (e->adopted_at[l]) {
			mask |= 1u << l;
			min = l;
		}
	}
	/* min before the mask: a program that sees the new mask sees its min */
	__atomic_store_n(&e->skel->bss->ag_adopted_min_level, min, __ATOMIC_SEQ_CST);
	__atomic_store_n(&e->skel->bss->ag_adopted_levels, mask, __ATOMIC_SEQ_CST);
}

struct enforcer_adopted *enforcer__adopt(struct enforcer *e, const char *path, __u64 cgid,
					 __u32 level)
{
	struct enforcer_adopted *a;
	struct hook_def t[NHOOKS];
	int fd, err = 0;

	if (level < 1 || level > AG_MAX_LEVEL) {
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->cgid = cgid;
	a->level = level;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		free(a);
		return NULL;
	}
	hook_table(e->skel, t);
	for (int i = 0; i < NHOOKS_SOCK && !err; i++) {
		a->links[i] = bpf_program__attach_cgroup(t[i].prog, fd);
		if (!a->links[i])
			err = -errno;
	}
	close(fd);
	if (!err && bpf_map_update_elem(bpf_map__fd(e->skel->maps.adopted), &cgid, &level,
					BPF_NOEXIST) < 0)
		err = errno == E2BIG ? -ENOSPC : -errno;
	if (err) {
		for (int i = 0; i < NHOOKS_SOCK; i++)
			bpf_link__destroy(a->links[i]);
		free(a);
		errno = -err;
		return NULL;
	}
	e->adopted_at[level]++;
	adopted_levels(e);
	return a;
}

void enforcer__unadopt(struct enforcer *e, struct enforcer_adopted *a)
{
	if (!a)
		return;
	bpf_map_delete_elem(bpf_map__fd(e->skel->maps.adopted), &a->cgid);
	if (e->adopted_at[a->level])
		e->adopted_at[a->level]--;
	adopted_levels(e);
	for (int i = 0; i < NHOOKS_SOCK; i++)
		bpf_link__destroy(a->links[i]);
	free(a);
}

bool enforcer__lsm_active(const struct enforcer *e)
{
	return e->lsm_active;
}

const char *enforcer__lsm_status(const struct enforcer *e)
{
	return e->lsm_status;
}

int enforcer__add_session(struct enforcer *e, __u64 cgid, const struct ag_session *s)
{
	if (e->skel->rodata->ag_rate_interval_ns) {
		struct ag_rate b = {};

		/* before the session exists, so its first event is limited */
		if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.rate), &cgid, &b,
					BPF_NOEXIST) < 0 && errno != EEXIST)
			return -errno;
	}
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.sessions), &cgid, s, BPF_ANY) < 0)
		return -errno;
	epoch_bump(e);
	return 0;
}

int enforcer__rate_read(const struct enforcer *e, __u64 cgid, __u64 *limited)
{
	struct ag_rate b;

	*limited = 0;
	if (!e->skel->rodata->ag_rate_interval_ns)
		return -ENOENT;
	if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.rate), &cgid, &b) < 0)
		return -errno;
	*limited = b.limited;
	return 0;
}

int enforcer__rate_del(struct enforcer *e, __u64 cgid)
{
	if (!e->skel->rodata->ag_rate_interval_ns)
		return 0;
	if (bpf_map_delete_elem(bpf_map__fd(e->skel->maps.rate), &cgid) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int enforcer__agg_flush(struct enforcer *e, __u64 cgid, bool force)
{
	/* tc programs run with a packet: an Ethernet header's worth of zeros */
	char pkt[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt));
	struct agentguard_bpf__bss *bss = e->skel->bss;

	if (!e->skel->rodata->ag_agg_window_ns ||
	    !__atomic_load_n(&bss->ag_agg_open, __ATOMIC_ACQUIRE))
		return 0;
	bss->ag_flush_cgid = cgid;
	bss->ag_flush_force = force;
	bss->ag_flush_full = 0;
	bss->ag_flush_count = 0;
	if (bpf_prog_test_run_opts(bpf_program__fd(e->skel->progs.ag_agg_flush), &opts) < 0)
		return -errno;
	return bss->ag_flush_full ? -EAGAIN : (int)bss->ag_flush_count;
}

int enforcer__del_session(struct enforcer *e, __u64 cgid)
{
	if (bpf_map_delete_elem(bpf_map__fd(e->skel->maps.sessions), &cgid) < 0 &&
	    errno != ENOENT)
		return -errno;
	epoch_bump(e);
	return 0;
}

int enforcer__poll(struct enforcer *e, int timeout_ms)
{
	if (timeout_ms == 0)
		return ring_buffer__consume(e->rb);
	return ring_buffer__poll(e->rb, timeout_ms);
}

int enforcer__ringbuf_fd(const struct enforcer *e)
{
	return ring_buffer__epoll_fd(e->rb);
}

int enforcer__stats(const struct enforcer *e, __u64 out[AG_STAT_MAX])
{
	int fd = bpf_map__fd(e->skel->maps.stats);
	__u64 *vals = calloc(e->ncpus, sizeof(__u64));

	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < AG_STAT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals) < 0) {
			int err = -errno;

			free(vals);
			return err;
		}
		for (int c = 0; c < e->ncpus; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

const struct enforcer_hook *enforcer__hooks(const struct enforcer *e, size_t *n)
{
	*n = NHOOKS;
	return e->hooks;
}

int enforcer__map_fd(const struct enforcer *e, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(e->skel->obj, name);

	return fd < 0 ? -ENOENT : fd;
}
