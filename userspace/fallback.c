/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fallback.c: the loader of bpf/fallback.bpf.c, and the userspace half of
 * its records: paths rebuilt from the kernel's dentries, and the manifest
 * rule that decided (fallback.h).
 */
#include "fallback.h"
#include "cgroup.h"
#include "landlock.h"
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fallback.skel.h"

/* The file system calls watched with DENIAL_HOOK_SYSCALLS (those a
 * kernel does not have are skipped). */
static const char *const watched[] = {
	"open", "creat", "openat", "openat2", "execve", "execveat", "truncate", "ftruncate",
	"rename", "renameat", "renameat2", "link", "linkat", "unlink", "unlinkat", "mkdir",
	"mkdirat", "rmdir", "symlink", "symlinkat", "mknod", "mknodat",
};
#define NWATCHED (sizeof(watched) / sizeof(watched[0]))

struct fb_sess {
	__u64 cgid;
	__u32 flags;
	struct ag_fb_interp_key *keys;
	size_t nkeys;
	struct fb_sess *next;
};

struct fallback {
	struct fallback_bpf *skel;
	enum denial_events mode;
	enum denial_hook hook;
	struct bpf_link *rep[NWATCHED];
	size_t nrep;
	const char *rep_hook;		/* NULL: not attached */
	struct bpf_link *guard;
	struct fb_sess *sessions;
	size_t nsess, nreport, nguard, nobserve;
	__u64 idle_since_ms;		/* the reporter is unneeded since; 0: needed */
	atomic_int detaching;		/* links being destroyed by helper threads */
};

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct doomed {
	struct bpf_link *link;
	atomic_int *count;
};

static void *destroy_link(void *arg)
{
	struct doomed *d = arg;

	bpf_link__destroy(d->link);
	atomic_fetch_sub(d->count, 1);
	free(d);
	return NULL;
}

/* Destroy a link without blocking the caller: removing a syscall
 * tracepoint waits for an RCU grace period (~80 ms here), so each link is
 * closed by a thread of its own and the waits overlap. */
static void link_destroy_async(struct fallback *fb, struct bpf_link *l)
{
	struct doomed *d;
	pthread_attr_t at;
	pthread_t t;

	if (!l)
		return;
	d = malloc(sizeof(*d));
	if (d) {
		d->link = l;
		d->count = &fb->detaching;
		atomic_fetch_add(&fb->detaching, 1);
		if (!pthread_attr_init(&at)) {
			bool ok = !pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) &&
				  !pthread_create(&t, &at, destroy_link, d);

			pthread_attr_destroy(&at);
			if (ok)
				return;
		}
		atomic_fetch_sub(&fb->detaching, 1);
		free(d);
	}
	bpf_link__destroy(l);
}

static void msg(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void msg(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* Attaching                                                                 */

static void reporter_detach(struct fallback *fb)
{
	for (size_t i = 0; i < fb->nrep; i++)
		link_destroy_async(fb, fb->rep[i]);
	fb->nrep = 0;
	fb->rep_hook = NULL;
}

static int attach_syscalls(struct fallback *fb)
{
	for (size_t i = 0; i < NWATCHED; i++) {
		char tp[64];
		struct bpf_link *l;

		snprintf(tp, sizeof(tp), "sys_exit_%s", watched[i]);
		l = bpf_program__attach_tracepoint(fb->skel->progs.fb_exit_tp, "syscalls", tp);
		if (!l) {
			int err = -errno;

			if (err == -ENOENT)
				continue;	/* not a syscall of this architecture */
			reporter_detach(fb);
			return err;
		}
		fb->rep[fb->nrep++] = l;
	}
	if (!fb->nrep)
		return -ENOENT;
	fb->rep_hook = "syscalls:sys_exit_*";
	return 0;
}

static int attach_sys_exit(struct fallback *fb)
{
	struct bpf_link *l = bpf_program__attach(fb->skel->progs.fb_exit_btf);

	if (!l)
		return -errno;
	fb->rep[0] = l;
	fb->nrep = 1;
	fb->rep_hook = "tp_btf/sys_exit";
	return 0;
}

static int reporter_attach(struct fallback *fb)
{
	int err;

	if (fb->rep_hook)
		return 0;
	switch (fb->hook) {
	case DENIAL_HOOK_SYSCALLS:
		return attach_syscalls(fb);
	case DENIAL_HOOK_SYS_EXIT:
		return attach_sys_exit(fb);
	default:
		err = attach_syscalls(fb);
		return err ? attach_sys_exit(fb) : 0;
	}
}

/* Attach or detach so that what is attached is what the sessions need. The
 * reporter lingers FALLBACK_LINGER_MS after the last session needing it
 * (fallback__tick detaches it), so that a burst of short sessions does not
 * attach and detach it each time. */
static int sync_links(struct fallback *fb)
{
	bool want_rep = fb->mode != DENIAL_EVENTS_OFF &&
			(fb->mode == DENIAL_EVENTS_ALWAYS || fb->nreport);
	bool want_guard = fb->nguard > 0;
	int err = 0;

	fb->skel->bss->fb_observe_any = fb->nobserve > 0;
	if (want_rep) {
		fb->idle_since_ms = 0;
		if (!fb->rep_hook)
			err = reporter_attach(fb);
	} else if (fb->rep_hook && !fb->idle_since_ms) {
		fb->idle_since_ms = now_ms();
	}
	if (err)
		return err;
	if (want_guard && !fb->guard) {
		fb->guard = bpf_program__attach(fb->skel->progs.fb_exec);
		if (!fb->guard)
			return -errno;
	} else if (!want_guard && fb->guard) {
		link_destroy_async(fb, fb->guard);
		fb->guard = NULL;
	}
	return 0;
}

void fallback__tick(struct fallback *fb)
{
	if (fb && fb->rep_hook && fb->idle_since_ms &&
	    now_ms() - fb->idle_since_ms >= FALLBACK_LINGER_MS) {
		fb->idle_since_ms = 0;
		reporter_detach(fb);
	}
}

struct fallback *fallback__open(const struct fallback_opts *o, char *err, size_t errlen)
{
	struct fallback *fb = calloc(1, sizeof(*fb));
	__u64 root_cgid;
	int level, e;

	if (!fb) {
		msg(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	fb->mode = o->mode;
	fb->hook = o->hook;
	e = cgroup__id(o->root_path, &root_cgid);
	level = cgroup__level(o->cgroup_mount, o->root_path);
	if (e || level < 0) {
		e = e ?: level;
		msg(err, errlen, "cannot read cgroup root '%s': %s", o->root_path, strerror(-e));
		goto fail;
	}
	fb->skel = fallback_bpf__open();
	if (!fb->skel) {
		e = -errno;
		msg(err, errlen, "cannot open the fallback BPF object: %s", strerror(-e));
		goto fail;
	}
	fb->skel->rodata->ag_root_cgid = root_cgid;
	fb->skel->rodata->ag_root_level = level;
	fb->skel->rodata->ag_wakeup_bytes =
		(o->ringbuf_bytes ? o->ringbuf_bytes : AG_DEFAULT_RINGBUF_BYTES) / 8;
	if (o->max_sessions) {
		bpf_map__set_max_entries(fb->skel->maps.fb_sessions, o->max_sessions);
		bpf_map__set_max_entries(fb->skel->maps.fb_interp, o->max_sessions);
	}
	if ((e = bpf_map__reuse_fd(fb->skel->maps.events, o->events_fd)) ||
	    (e = bpf_map__reuse_fd(fb->skel->maps.stats, o->stats_fd)) ||
	    (e = bpf_map__reuse_fd(fb->skel->maps.procs, o->procs_fd))) {
		msg(err, errlen, "cannot share the maps of the main BPF object: %s", strerror(-e));
		goto fail;
	}
	/* only the reporter variant that may be used is loaded */
	if (o->hook == DENIAL_HOOK_SYSCALLS)
		bpf_program__set_autoload(fb->skel->progs.fb_exit_btf, false);
	if (o->hook == DENIAL_HOOK_SYS_EXIT)
		bpf_program__set_autoload(fb->skel->progs.fb_exit_tp, false);
	e = fallback_bpf__load(fb->skel);
	if (e) {
		msg(err, errlen, "cannot load the fallback BPF programs: %s", strerror(-e));
		goto fail;
	}
	e = sync_links(fb);
	if (e) {
		msg(err, errlen, "cannot attach the denial reporter: %s", strerror(-e));
		goto fail;
	}
	return fb;
fail:
	fallback__destroy(fb);
	errno = -e;
	return NULL;
}

void fallback__destroy(struct fallback *fb)
{
	if (!fb)
		return;
	reporter_detach(fb);
	link_destroy_async(fb, fb->guard);
	while (atomic_load(&fb->detaching) > 0)
		usleep(10000);
	fallback_bpf__destroy(fb->skel);
	while (fb->sessions) {
		struct fb_sess *s = fb->sessions;

		fb->sessions = s->next;
		free(s->keys);
		free(s);
	}
	free(fb);
}

static void count(struct fallback *fb, const struct fb_sess *s, int d)
{
	fb->nsess += d;
	if (s->flags & (AG_FB_S_EACCES | AG_FB_S_OBSERVE))
		fb->nreport += d;
	/* the exec program: the guard, or the execs of observed sessions */
	if (s->nkeys || ((s->flags & AG_FB_S_OBSERVE) && fb->mode != DENIAL_EVENTS_OFF))
		fb->nguard += d;
	if (s->flags & AG_FB_S_OBSERVE)
		fb->nobserve += d;
}

static void session_unmap(struct fallback *fb, const struct fb_sess *s)
{
	bpf_map_delete_elem(bpf_map__fd(fb->skel->maps.fb_sessions), &s->cgid);
	for (size_t i = 0; i < s->nkeys; i++)
		bpf_map_delete_elem(bpf_map__fd(fb->skel->maps.fb_interp), &s->keys[i]);
}

int fallback__session_add(struct fallback *fb, __u64 cgid, __u32 flags,
			  const struct fallback_interp *interps, size_t n, char *err,
			  size_t errlen)
{
	struct ag_fb_session v = { .flags = flags };
	struct fb_sess *s = calloc(1, sizeof(*s));
	int e = 0;

	if (!s || (n && !(s->keys = calloc(n, sizeof(*s->keys))))) {
		free(s);
		msg(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->cgid = cgid;
	s->flags = flags;
	for (size_t i = 0; i < n; i++) {
		__u32 rule = interps[i].exec_idx;

		s->keys[i].cgid = cgid;
		s->keys[i].ino = interps[i].ino;
		s->keys[i].dev = interps[i].kdev;
		if (bpf_map_update_elem(bpf_map__fd(fb->skel->maps.fb_interp), &s->keys[i], &rule,
					BPF_ANY) < 0) {
			e = -errno;
			break;
		}
		s->nkeys++;
	}
	if (!e && bpf_map_update_elem(bpf_map__fd(fb->skel->maps.fb_sessions), &cgid, &v,
				      BPF_ANY) < 0)
		e = -errno;
	if (e) {
		msg(err, errlen, "cannot register the session with the fallback programs: %s",
		    strerror(-e));
		session_unmap(fb, s);
		free(s->keys);
		free(s);
		return e;
	}
	count(fb, s, 1);
	e = sync_links(fb);
	if (e) {
		msg(err, errlen, "cannot attach the fallback programs: %s", strerror(-e));
		count(fb, s, -1);
		session_unmap(fb, s);
		sync_links(fb);
		free(s->keys);
		free(s);
		return e;
	}
	s->next = fb->sessions;
	fb->sessions = s;
	return 0;
}

void fallback__session_del(struct fallback *fb, __u64 cgid)
{
	struct fb_sess **pp;

	if (!fb)
		return;
	for (pp = &fb->sessions; *pp && (*pp)->cgid != cgid; pp = &(*pp)->next)
		;
	if (!*pp)
		return;
	{
		struct fb_sess *s = *pp;

		*pp = s->next;
		session_unmap(fb, s);
		count(fb, s, -1);
		free(s->keys);
		free(s);
	}
	sync_links(fb);
}

void fallback__status(const struct fallback *fb, struct fallback_status *st)
{
	memset(st, 0, sizeof(*st));
	st->reporter_hook = "none";
	if (!fb)
		return;
	st->reporter_attached = fb->rep_hook != NULL;
	if (fb->rep_hook)
		st->reporter_hook = fb->rep_hook;
	st->reporter_links = fb->nrep;
	st->guard_attached = fb->guard != NULL;
	st->sessions = fb->nsess;
	st->mode = fb->mode;
}

char *fallback__describe(bool lsm_active, int landlock_abi, enum file_fallback ff,
			 enum denial_events de, const struct fallback *fb, char *buf,
			 size_t len)
{
	struct fallback_status st;
	char now[128] = "";

	if (lsm_active) {
		snprintf(buf, len, "bpf-lsm: files and exec are enforced by the BPF LSM programs");
		return buf;
	}
	if (ff == FILE_FALLBACK_REFUSE) {
		snprintf(buf, len, "refuse: BPF LSM is not active; sessions of agents with files "
			 "or exec rules are refused (fileFallback: refuse)");
		return buf;
	}
	if (ff == FILE_FALLBACK_LANDLOCK && landlock_abi < 1) {
		snprintf(buf, len, "refuse: BPF LSM is not active and Landlock is not available; "
			 "sessions of agents with files or exec rules are refused");
		return buf;
	}
	if (fb) {
		fallback__status(fb, &st);
		snprintf(now, sizeof(now), " (now: %s, %zu session%s)",
			 st.reporter_attached ? st.reporter_hook : "detached", st.sessions,
			 st.sessions == 1 ? "" : "s");
	}
	if (ff == FILE_FALLBACK_OBSERVE)
		snprintf(buf, len, "observe: BPF LSM is not active; files and exec are NOT enforced, "
			 "would-be denials are logged as audit");
	else
		snprintf(buf, len, "landlock: BPF LSM is not active; files and exec are enforced by "
			 "Landlock ABI %d, applied by agentguard run", landlock_abi);
	snprintf(buf + strlen(buf), len - strlen(buf), "; %s%s",
		 de == DENIAL_EVENTS_OFF ? "denials are not logged (fallbackDenialEvents: off)" :
		 de == DENIAL_EVENTS_ALWAYS ? "denials are logged by syscall exit tracepoints "
			"attached at all times (fallbackDenialEvents: always)" :
			"denials are logged by syscall exit tracepoints attached only while such a "
			"session runs (fallbackDenialEvents: sessions)", now);
	return buf;
}

/* ------------------------------------------------------------------------ */
/* Records                                                                   */

const char *fallback__op_name(__u8 op)
{
	switch (op) {
	case AG_FILE_OP_OPEN: return "open";
	case AG_FILE_OP_CREATE: return "create";
	case AG_FILE_OP_TRUNCATE: return "truncate";
	case AG_FILE_OP_RENAME: return "rename";
	case AG_FILE_OP_LINK: return "link";
	case AG_FILE_OP_UNLINK: return "unlink";
	case AG_FILE_OP_MKDIR: return "mkdir";
	case AG_FILE_OP_RMDIR: return "rmdir";
	case AG_FILE_OP_SYMLINK: return "symlink";
	case AG_FB_OP_EXEC: return "exec";
	default: return "other";
	}
}

/* "/" + the components of fp->dir, root first, into out. */
static int join_dir(const struct ag_fb_path *fp, char *out, size_t len)
{
	const char *comp[AG_FB_MAX_COMPONENTS];
	size_t n = 0, off = 0, o = 0;

	if (fp->dir_len > AG_FB_DIR_LEN || fp->ndir > AG_FB_MAX_COMPONENTS)
		return -EINVAL;
	while (off < fp->dir_len && n < fp->ndir) {
		const char *c = fp->dir + off;
		size_t l = strnlen(c, fp->dir_len - off);

		if (off + l >= fp->dir_len)
			return -EINVAL;	/* no NUL inside */
		comp[n++] = c;
		off += l + 1;
	}
	if (n != fp->ndir)
		return -EINVAL;
	out[0] = 0;
	if (!n) {
		if (len < 2)
			return -ENAMETOOLONG;
		strcpy(out, "/");
		return 0;
	}
	while (n--) {
		int w = snprintf(out + o, len - o, "/%s", comp[n]);

		if (w < 0 || (size_t)w >= len - o)
			return -ENAMETOOLONG;
		o += w;
	}
	return 0;
}

static bool is_magic(const char *p)
{
	static const char *const pre[] = { "/proc/self/", "/proc/thread-self/", "/dev/fd/",
					   "/dev/stdin", "/dev/stdout", "/dev/stderr" };

	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (!strncmp(p, pre[i], strlen(pre[i])))
			return true;
	return !strcmp(p, "/proc/self") || !strcmp(p, "/proc/thread-self");
}

int fallback__decode(const void *data, size_t size, struct fb_event *out)
{
	const struct ag_event_fallback *r = data;

	memset(out, 0, sizeof(*out));
	if (size < sizeof(*r) || r->h.type != AG_EV_FALLBACK)
		return -EINVAL;
	out->raw = r;
	out->npaths = r->npaths == 2 ? 2 : 1;
	for (int i = 0; i < out->npaths; i++) {
		const struct ag_fb_path *fp = &r->p[i];
		char raw[AG_FB_RAW_LEN], dir[PATH_MAX], joined[PATH_MAX * 2];

		if (fp->raw_len >= AG_FB_RAW_LEN - 1 && !(fp->flags & AG_FB_P_OBJECT))
			continue;	/* cut by the kernel side: unknown */
		memcpy(raw, fp->raw, AG_FB_RAW_LEN);
		raw[fp->raw_len < AG_FB_RAW_LEN ? fp->raw_len : AG_FB_RAW_LEN - 1] = 0;
		if (fp->flags & AG_FB_P_OBJECT) {
			if ((fp->flags & AG_FB_P_TRUNC) || join_dir(fp, dir, sizeof(dir)))
				continue;
			snprintf(out->path[i], PATH_MAX, "%s", dir);
			out->real[i] = true;
			continue;
		}
		if (fp->flags & AG_FB_P_NORAW)
			continue;
		if (fp->flags & AG_FB_P_RELATIVE) {
			if ((fp->flags & AG_FB_P_TRUNC) || join_dir(fp, dir, sizeof(dir)))
				continue;
			snprintf(joined, sizeof(joined), "%s/%s", dir, raw);
		} else if (raw[0] == '/') {
			snprintf(joined, sizeof(joined), "%s", raw);
		} else {
			continue;
		}
		if (landlock__normalize(joined, out->path[i], PATH_MAX)) {
			out->path[i][0] = 0;
			continue;
		}
		out->magic[i] = is_magic(out->path[i]);
	}
	return 0;
}

int fallback__resolve(const struct fb_event *ev, int i, char *out, size_t len)
{
	char buf[PATH_MAX], dir[PATH_MAX];
	const char *src = ev->path[i];
	char *slash;

	snprintf(out, len, "%s", src);
	if (!src[0] || ev->real[i] || ev->magic[i])
		return 0;
	if (realpath(src, buf)) {
		snprintf(out, len, "%s", buf);
		return 0;
	}
	if (errno != ENOENT)
		return -errno;
	/* a path to be created: resolve its parent */
	snprintf(dir, sizeof(dir), "%s", src);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (!realpath(dir, buf))
		return -errno;
	snprintf(out, len, "%s/%s", strcmp(buf, "/") ? buf : "", slash + 1);
	return 0;
}

int fallback__script_interp(const char *path, char *out, size_t len)
{
	char buf[256 + 1], *s, *e;
	ssize_t n;
	int fd = landlock__open_regular(path);

	if (fd < 0)
		return fd;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 3 || buf[0] != '#' || buf[1] != '!')
		return -ENOEXEC;
	buf[n] = 0;
	for (s = buf + 2; *s == ' ' || *s == '\t'; s++)
		;
	for (e = s; *e && *e != ' ' && *e != '\t' && *e != '\n'; e++)
		;
	*e = 0;
	if (*s != '/')
		return -ENOEXEC;
	if (!realpath(s, out) && len) {
		snprintf(out, len, "%s", s);
		return -errno;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Judging                                                                   */

static bool op_writes(const struct ag_event_fallback *r)
{
	return r->op != AG_FILE_OP_OPEN || (r->access & AG_ACC_WRITE);
}

static void parent_of(const char *p, char *out, size_t len)
{
	const char *slash = strrchr(p, '/');

	if (!slash || slash == p)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - p), p);
}

/* The Landlock rights the call needed for path i, and where (the path or its
 * parent directory). */
static __u64 ll_needed(const struct ag_event_fallback *r, int i, const char *path,
		       char *at, size_t len)
{
	struct stat sb;
	bool exists = lstat(path, &sb) == 0, dir = exists && S_ISDIR(sb.st_mode);

	snprintf(at, len, "%s", path);
	switch (r->op) {
	case AG_FB_OP_EXEC:
		return LL_EXECUTE | LL_READ_FILE;
	case AG_FILE_OP_OPEN:
	case AG_FILE_OP_CREATE:
		if (!exists && (r->access & AG_ACC_WRITE)) {
			parent_of(path, at, len);
			return LL_MAKE_REG;
		}
		return (dir ? LL_READ_DIR : (r->access & AG_ACC_READ ? LL_READ_FILE : 0)) |
		       ((r->access & AG_ACC_WRITE) ? LL_WRITE_FILE : 0);
	case AG_FILE_OP_TRUNCATE:
		return LL_TRUNCATE;
	case AG_FILE_OP_UNLINK:
		parent_of(path, at, len);
		return LL_REMOVE_FILE;
	case AG_FILE_OP_RMDIR:
		parent_of(path, at, len);
		return LL_REMOVE_DIR;
	case AG_FILE_OP_MKDIR:
		parent_of(path, at, len);
		return LL_MAKE_DIR;
	case AG_FILE_OP_SYMLINK:
		parent_of(path, at, len);
		return LL_MAKE_SYM;
	case AG_FILE_OP_RENAME:
	case AG_FILE_OP_LINK:
		parent_of(path, at, len);
		if (i == 0)
			return r->op == AG_FILE_OP_LINK ? LL_REFER :
			       LL_REFER | (dir ? LL_REMOVE_DIR : LL_REMOVE_FILE);
		return LL_REFER | LL_MAKE_REG;
	default:
		return 0;
	}
}

static void name_rule(const struct fb_level *lv, int n, int level, const char *rule,
		      char *out, size_t len)
{
	if (level != n - 1 && lv[level].agent)
		snprintf(out, len, "%s:%s", lv[level].agent, rule);
	else
		snprintf(out, len, "%s", rule);
}

/* m's decision on path i of r: exec (and reading what is executed), or files. */
static void decide(const struct manifest *m, const struct ag_event_fallback *r, int i,
		   const char *path, const char *script_interp, struct ll_verdict *v,
		   const char **target)
{
	*target = path;
	if (r->op == AG_FB_OP_EXEC) {
		landlock__judge_exec(m, path, v);
		if (v->allow)
			landlock__judge_file(m, path, false, v);
		if (v->allow && i == 0 && script_interp && script_interp[0]) {
			landlock__judge_exec(m, script_interp, v);
			if (v->allow)
				landlock__judge_file(m, script_interp, false, v);
			if (!v->allow)
				*target = script_interp;
		}
		return;
	}
	landlock__judge_file(m, path, op_writes(r), v);
}

void fallback__judge(const struct fb_level *lv, int n, const struct fb_event *ev,
		     char paths[2][PATH_MAX], const char *script_interp, bool log_allowed,
		     struct fb_verdict *out)
{
	const struct ag_event_fallback *r = ev->raw;
	bool denied = r->h.decision == AG_DENY;
	char name[64], at[PATH_MAX], acc[256];
	struct ll_verdict v;
	const char *target;

	memset(out, 0, sizeof(*out));
	out->drop = true;
	out->decision = AG_ALLOW;
	out->level = n - 1;
	out->write = op_writes(r);

	if (r->flags & AG_FB_F_KILLED) {
		int lvl = -1;

		for (int i = 0; i < n && lvl < 0; i++)
			for (size_t k = 0; lv[i].plan && k < lv[i].plan->ninterps; k++)
				if (!strcmp(lv[i].plan->interps[k].path, paths[0]))
					lvl = i;
		for (int i = n - 1; i >= 0 && lvl < 0; i--)
			if (lv[i].plan && lv[i].plan->exec)
				lvl = i;
		out->level = lvl < 0 ? n - 1 : lvl;
		out->decision = AG_DENY;
		out->drop = false;
		snprintf(out->target, sizeof(out->target), "%s", paths[0]);
		name_rule(lv, n, out->level, "exec.default", out->rule, sizeof(out->rule));
		snprintf(out->reason, sizeof(out->reason),
			 "'%s' is executable only as the ELF interpreter of allowed programs: "
			 "the process was killed at exec", paths[0]);
		return;
	}

	for (int i = 0; i < n; i++) {
		if (!lv[i].m || (denied ? !lv[i].plan : !lv[i].observed))
			continue;
		for (int j = 0; j < ev->npaths; j++) {
			if (!paths[j][0])
				continue;
			if (r->op == AG_FB_OP_EXEC && j == 1 && (r->flags & AG_FB_F_OBSERVED) &&
			    paths[1][0] != '/')
				continue;
			decide(lv[i].m, r, j, paths[j], j == 0 ? script_interp : NULL, &v, &target);
			if (v.allow)
				continue;
			out->decision = denied ? AG_DENY : AG_AUDIT;
			out->drop = false;
			out->level = i;
			out->path = j;
			snprintf(out->target, sizeof(out->target), "%s", target);
			name_rule(lv, n, i, landlock__rule_name(&v, name, sizeof(name)), out->rule,
				  sizeof(out->rule));
			return;
		}
		if (!denied)
			continue;
		/* the manifest allows it: was Landlock stricter? */
		for (int j = 0; j < ev->npaths; j++) {
			const struct ll_carve *c;
			__u64 need, missing;

			const struct ll_link *l;

			if (!paths[j][0])
				continue;
			l = landlock__link_of(lv[i].plan, paths[j]);
			need = ll_needed(r, j, paths[j], at, sizeof(at));
			missing = need & lv[i].plan->handled & ~landlock__granted(lv[i].plan, at);
			if (!missing && !l)
				continue;
			out->decision = AG_DENY;
			out->drop = false;
			out->level = i;
			out->path = j;
			snprintf(out->target, sizeof(out->target), "%s", paths[j]);
			c = landlock__carve_of(lv[i].plan, paths[j]);
			if (l) {
				/* another name of a denied file: denied as that file */
				struct ll_verdict lvd = { .kind = AG_RULE_FILES_DENY, .idx = l->idx };

				name_rule(lv, n, i, landlock__rule_name(&lvd, name, sizeof(name)),
					  out->rule, sizeof(out->rule));
				snprintf(out->reason, sizeof(out->reason),
					 "a hard link of the denied file '%s'", l->target);
			} else if (c) {
				struct ll_verdict cv = { .kind = c->kind, .idx = c->idx };

				name_rule(lv, n, i, landlock__rule_name(&cv, name, sizeof(name)),
					  out->rule, sizeof(out->rule));
				snprintf(out->reason, sizeof(out->reason),
					 "stricter than the manifest: '%s' is carved out for %s, so only "
					 "what it held when the session started is granted", c->dir,
					 name);
			} else {
				decide(lv[i].m, r, j, paths[j], NULL, &v, &target);
				name_rule(lv, n, i, landlock__rule_name(&v, name, sizeof(name)),
					  out->rule, sizeof(out->rule));
				snprintf(out->reason, sizeof(out->reason),
					 "stricter than the manifest: Landlock does not grant %s on '%s' "
					 "(see the notes of the session's plan)",
					 landlock__access_str(missing, acc, sizeof(acc)), at);
			}
			return;
		}
	}
	if (!denied && log_allowed) {
		out->drop = false;
		snprintf(out->target, sizeof(out->target), "%s", paths[0]);
		if (lv[n - 1].m) {
			decide(lv[n - 1].m, r, 0, paths[0], NULL, &v, &target);
			landlock__rule_name(&v, out->rule, sizeof(out->rule));
		}
	}
}
