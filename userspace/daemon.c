/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * daemon.c: `agentguard daemon`.
 *
 * One thread, one epoll loop over: the listening socket and its clients, a
 * signalfd (SIGTERM/SIGINT stop, SIGHUP reloads), an inotify fd watching each
 * session's cgroup.events, the BPF ring buffer, and a timerfd that drains the
 * ring buffer every AG_TICK_MS (the BPF side wakes us only past a fill
 * threshold: no wakeup per event) and commits the log once per checkpoint
 * interval (group commit: one fdatasync and one signature per interval).
 * With a `syslog` output configured, one more thread (syslog_out.c) formats
 * and sends what the loop hands it through a bounded queue.
 */
#include "daemon.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "agentguard.h"
#include "attest.h"
#include "cgroup.h"
#include "compile.h"
#include "config.h"
#include "diag.h"
#include "enforcer.h"
#include "event.h"
#include "fallback.h"
#include "jsonw.h"
#include "landlock.h"
#include "log.h"
#include "manifest.h"
#include "probe.h"
#include "note.h"
#include "proto.h"
#include "syslog_out.h"
#include "token.h"
#include "util.h"
#include "version.h"

#define AG_TICK_MS		10
#define ADOPT_SCAN_MS		1000	/* how often the config's adopt cgroups are looked for */
#define MAX_CLIENTS		128
#define CLIENT_TIMEOUT_MS	10000
#define SESSION_BUCKETS		4096
#define PROC_BUCKETS		4096
#define MAX_PROC_CACHE		65536
#define SESSION_ID_LEN		26
#define SESSION_GRACE_MS	10000	/* ended sessions stay known this long */
#define DRAIN_BUDGET_NS		5000000	/* one drain yields to the loop after 5 ms */
#define SYSLOG_REPORT_MS	10000	/* at most one syslog.dropped entry per 10 s */
#define SYSLOG_CLOSE_MS		2000	/* at stop, what is sealed gets this long to go out */
#define AGG_FLUSH_MS		50	/* aggregation windows close within this of their end */
#define LOSS_REPORT_MS		1000	/* events.lost entries at most this often (and at the end) */

/* ------------------------------------------------------------------------ */
/* State                                                                     */

struct agent {
	char *name;
	const struct manifest *m;	/* owned by the daemon's manifest set */
	char generation[MANIFEST_GENERATION_LEN + 1];
	__u32 policy_id;
	struct compiled_policy cp;
	int nsessions;
	struct agent *next;
};

struct session {
	char id[SESSION_ID_LEN + 1];
	__u64 cgid;
	char *path;			/* cgroup directory */
	struct agent *agent;		/* NULL once ended */
	/* what events name; kept after the session ended, while late events
	 * of it may still be in the ring buffer */
	char *agent_name;
	char generation[MANIFEST_GENERATION_LEN + 1];
	__u8 mode;			/* enum ag_mode */
	__u64 ended_ms;
	struct session *parent;
	int depth;			/* 1 for a root session */
	char **lineage;			/* depth ids, root first; [depth-1] == id */
	int wd;				/* inotify watch on cgroup.events */
	/* files and exec without BPF LSM (docs/fallback.md) */
	struct ll_plan *ll;		/* the Landlock plan of this level, or NULL */
	bool observed;			/* this level is watched, not enforced (audit) */
	__u32 fb_flags;			/* registered with the fallback programs */
	/* a cgroup made by something else (agentguard adopt): never killed
	 * nor removed by agentguard */
	struct enforcer_adopted *adopted;
	__u64 rate_reported;		/* events of it rate limited, logged so far */
	struct session *hnext;		/* hash chain by cgid */
	struct session *next, *prev;	/* list of all */
};

/* What userspace remembers of a session process, for events that do not
 * carry it (exe and exec ids come from its exec event). */
struct proc_info {
	__u32 pid;
	__u64 exec_ktime, parent_exec_ktime;
	char *exe;
	struct proc_info *hnext;
};

/* Supplementary groups of a client beyond this many are not looked at: a
 * caller in more groups can only be refused for a group it is in, never
 * admitted for one it is not. */
#define CLIENT_MAX_GROUPS	256

struct client {
	int fd;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[CLIENT_MAX_GROUPS];	/* supplementary groups (SO_PEERGROUPS) */
	int ngroups;
	int pidfd;
	int send_fd;			/* passed with the next response, then closed */
	char *buf;
	size_t len;
	__u64 deadline_ms;
};

struct daemon {
	struct ag_config cfg;
	char cg_mount[PATH_MAX];
	char root[PATH_MAX];
	char hostname[256];

	struct manifest_set *set;
	struct agent *agents;
	__u32 next_policy_id;

	struct session *sessions;			/* list */
	struct session *dead;		/* ended, newest first, kept SESSION_GRACE_MS */
	struct session *by_cgid[SESSION_BUCKETS];
	int nsessions;

	struct proc_info *procs[PROC_BUCKETS];
	int nprocs;

	struct enforcer *enf;
	struct fallback *fb;		/* NULL when BPF LSM is active or it failed */
	char fb_error[256];		/* why fb is NULL */
	int ll_abi;			/* Landlock ABI, 0 none */
	struct probe_report probe;	/* what enforces what here, for status and the log */
	struct ag_log *log;
	struct syslog_out *so;		/* the syslog output (syslog_out.h), or NULL */
	__u64 so_dropped, so_cp_dropped;	/* its drops already logged */
	__u64 so_report_ms;		/* when syslog.dropped was last logged */
	struct jsonw jw;
	bool log_failed;
	struct token_key *tkey;		/* signs identity tokens */
	struct exe_cache *exes;		/* SHA-256 of callers' executables */

	int epfd, lfd, sigfd, tfd, infd, rootlock;
	struct client clients[MAX_CLIENTS];
	int nclients;

	__s64 boot_to_real_ns;		/* CLOCK_REALTIME - CLOCK_BOOTTIME */
	__u64 lost_reported;
	__u64 rate_seen;		/* AG_STAT_RATE_LIMITED when last looked at */
	__u64 agg_flush_ms;		/* last aggregation flush */
	__u64 loss_report_ms;		/* last look for losses to log */
	__u64 drained, drain_deadline_ns;
	bool drain_more;		/* the last drain yielded with records left */
	const struct ag_event_agg *agg;	/* the aggregate whose template is being logged */
	__u64 now_ms;
	__u64 last_commit_ms;
	bool stop;
	bool reload;
	int manifests_wd;		/* inotify watch on the manifest directory, or -1 */
	int nadopted;			/* live sessions on adopted cgroups */
	__u64 adopt_scan_ms;		/* last look for the config's adopt cgroups */
	__u64 reload_at_ms;		/* a change there was seen: reload then (0: none) */
};

/* epoll tags */
enum { TAG_LISTEN = 1, TAG_SIGNAL, TAG_TIMER, TAG_INOTIFY, TAG_RINGBUF, TAG_CLIENT = 0x100 };

static void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("agentguard: daemon: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static __u64 clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void update_clock(struct daemon *d)
{
	__u64 b1 = clock_ns(CLOCK_BOOTTIME), r = clock_ns(CLOCK_REALTIME);
	__u64 b2 = clock_ns(CLOCK_BOOTTIME);

	d->boot_to_real_ns = (__s64)r - (__s64)(b1 / 2 + b2 / 2);
	d->now_ms = clock_ns(CLOCK_MONOTONIC) / 1000000;
}

/* ------------------------------------------------------------------------ */
/* The log                                                                   */

static void emit(struct daemon *d, struct ev *e)
{
	size_t len;
	const char *line;
	int err;

	if (!e->time_ns)
		e->time_ns = clock_ns(CLOCK_REALTIME);
	if (!e->decision)
		e->mode = NULL;	/* the mode qualifies a decision only */
	err = event__format(&d->jw, log__size(d->log), d->hostname, e, &line, &len);
	if (!err)
		err = log__append(d->log, line, len);
	if (!err && d->so)
		syslog_out__entry(d->so, log__size(d->log) - 1, line, len);
	if (err && !d->log_failed) {
		/* The log is the product: a daemon that cannot write it stops. */
		errmsg("cannot append to the log: %s", strerror(-err));
		d->log_failed = true;
		d->stop = true;
	}
}

/* The newest checkpoint to the syslog output, releasing the entries it
 * seals: the note as written to <state-dir>/log/checkpoint. */
static void syslog_mirror(struct daemon *d)
{
	char path[PATH_MAX], note[NOTE_MAX_SIZE + 1];
	size_t len = 0;
	int fd, err = -ENAMETOOLONG;

	if (snprintf(path, sizeof(path), "%s/log/checkpoint", d->cfg.state_dir) <
	    (int)sizeof(path)) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		err = fd < 0 ? -errno : util__read_small(fd, note, sizeof(note), &len);
		if (fd >= 0)
			close(fd);
	}
	if (err)
		errmsg("syslog: cannot read '%s': %s", path, strerror(-err));
	syslog_out__commit(d->so, log__checkpoint_size(d->log), err ? NULL : note, len);
}

struct syslog_dropped {
	__u64 count, checkpoints;
	const char *output;
};

static void extra_syslog_dropped(struct jsonw *w, const void *ctx)
{
	const struct syslog_dropped *x = ctx;

	jsonw__key_uint(w, "count", x->count);
	jsonw__key_uint(w, "checkpoints", x->checkpoints);
	jsonw__key_string(w, "output", x->output);
}

/* Drops of the syslog output since the last report, as a syslog.dropped
 * entry and on stderr: at most one per SYSLOG_REPORT_MS. */
static void syslog_report(struct daemon *d)
{
	struct syslog_out_stats st;
	struct syslog_dropped x;
	struct ev e = { .type = "syslog.dropped", .extra = extra_syslog_dropped, .extra_ctx = &x };

	syslog_out__stats(d->so, &st);
	if ((st.dropped == d->so_dropped && st.checkpoints_dropped == d->so_cp_dropped) ||
	    (d->so_report_ms && d->now_ms - d->so_report_ms < SYSLOG_REPORT_MS))
		return;
	x.count = st.dropped - d->so_dropped;
	x.checkpoints = st.checkpoints_dropped - d->so_cp_dropped;
	x.output = d->cfg.syslog.target;
	d->so_dropped = st.dropped;
	d->so_cp_dropped = st.checkpoints_dropped;
	d->so_report_ms = d->now_ms;
	errmsg("syslog: %llu entries and %llu checkpoints not sent to '%s'%s%s",
	       (unsigned long long)x.count, (unsigned long long)x.checkpoints, x.output,
	       st.last_error[0] ? ": " : "", st.last_error);
	emit(d, &e);
}

static void commit(struct daemon *d)
{
	__u64 sealed = log__checkpoint_size(d->log);
	int err = log__commit(d->log);

	if (err && !d->log_failed) {
		errmsg("cannot commit the log: %s", strerror(-err));
		d->log_failed = true;
		d->stop = true;
	}
	if (!err && d->so && log__checkpoint_size(d->log) != sealed)
		syslog_mirror(d);
	if (d->so && !d->stop)
		syslog_report(d);
	d->last_commit_ms = d->now_ms;
}

struct retention_ctx {
	const struct log_retention *plan;
	const char *archive_dir;
};

static void extra_retention(struct jsonw *w, const void *ctx)
{
	const struct retention_ctx *r = ctx;

	jsonw__key_object(w, "retention");
	jsonw__key_string(w, "action", r->plan->archive ? "archive" : "delete");
	jsonw__key_uint(w, "files", r->plan->files);
	jsonw__key_uint(w, "first_seq", r->plan->first_seq);
	jsonw__key_uint(w, "end_seq", r->plan->end_seq);
	if (r->plan->archive)
		jsonw__key_string(w, "archive_dir", r->archive_dir);
	jsonw__object_end(w);
}

/* logRetainFiles: record what goes in the log, seal it, then remove (or
 * archive) the files: `log verify` accepts removed entries only under a
 * sealed log.retention entry (docs/log.md, "Rotation and retention"). */
static void retention(struct daemon *d)
{
	struct log_retention plan;
	struct retention_ctx rc = { &plan, d->cfg.log_archive_dir };
	struct ev e = { .type = "log.retention", .extra = extra_retention, .extra_ctx = &rc };
	int err;

	if (d->log_failed || log__retention_plan(d->log, &plan) || !plan.files)
		return;
	emit(d, &e);
	commit(d);
	if (d->log_failed)
		return;
	err = log__retain(d->log, &plan);
	if (err)
		errmsg("cannot %s old log files: %s", plan.archive ? "archive" : "remove",
		       strerror(-err));
}

static void set_session_fields(struct ev *e, const struct session *s)
{
	if (!s)
		return;
	e->agent = s->agent_name;
	e->generation = s->generation;
	e->mode = s->mode == AG_MODE_AUDIT ? "audit" : "enforce";
	e->session = s->id;
	e->lineage = (const char *const *)s->lineage;
	e->nlineage = s->depth;
}

static void extra_reason(struct jsonw *w, const void *ctx)
{
	jsonw__key_string(w, "reason", ctx);
}

/* ------------------------------------------------------------------------ */
/* Sessions                                                                  */

/* A live session, or one that ended less than SESSION_GRACE_MS ago (its last
 * events may still be queued: cgroup ids are never reused). */
static struct session *session_by_cgid(struct daemon *d, __u64 cgid)
{
	for (struct session *s = d->by_cgid[cgid % SESSION_BUCKETS]; s; s = s->hnext)
		if (s->cgid == cgid)
			return s;
	for (struct session *s = d->dead; s; s = s->next)
		if (s->cgid == cgid)
			return s;
	return NULL;
}

static void session_free(struct session *s);
static void report_rate_limited(struct daemon *d, struct session *s);
static void flush_aggregates(struct daemon *d, __u64 cgid);

static void purge_dead(struct daemon *d, bool all)
{
	struct session **pp = &d->dead;

	/* newest first: everything after the first expired one is expired */
	while (*pp && !all && (*pp)->ended_ms + SESSION_GRACE_MS > d->now_ms)
		pp = &(*pp)->next;
	while (*pp) {
		struct session *s = *pp;

		*pp = s->next;
		if (!all) {
			/* no event of it can come now: its last count, its bucket */
			report_rate_limited(d, s);
			enforcer__rate_del(d->enf, s->cgid);
		}
		session_free(s);
	}
}

static struct session *session_by_wd(struct daemon *d, int wd)
{
	for (struct session *s = d->sessions; s; s = s->next)
		if (s->wd == wd)
			return s;
	return NULL;
}

/* A ULID: 48-bit ms timestamp and 80 random bits, Crockford base32. Sortable
 * by start time, unique without coordination. */
static void new_session_id(char out[SESSION_ID_LEN + 1])
{
	static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char raw[16];
	__u64 ms = clock_ns(CLOCK_REALTIME) / 1000000;
	int bit = 0;

	for (int i = 0; i < 6; i++)
		raw[i] = ms >> (40 - 8 * i);
	if (getrandom(raw + 6, 10, 0) != 10) {
		for (int i = 6; i < 16; i++)
			raw[i] = rand();
	}
	/* 128 bits as 26 base32 digits: the first digit carries 3 bits */
	for (int i = 0; i < SESSION_ID_LEN; i++) {
		int nbits = i == 0 ? 3 : 5, v = 0;

		for (int k = 0; k < nbits; k++, bit++)
			v = (v << 1) | ((raw[bit / 8] >> (7 - bit % 8)) & 1);
		out[i] = b32[v];
	}
	out[SESSION_ID_LEN] = 0;
}

static void session_free(struct session *s)
{
	if (!s)
		return;
	if (s->lineage)
		for (int i = 0; i < s->depth; i++)
			free(s->lineage[i]);
	free(s->lineage);
	free(s->path);
	free(s->agent_name);
	if (s->ll)
		landlock__plan_free(s->ll);
	free(s->ll);
	free(s);
}

static void session_unlink(struct daemon *d, struct session *s)
{
	struct session **pp = &d->by_cgid[s->cgid % SESSION_BUCKETS];

	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
	if (s->prev)
		s->prev->next = s->next;
	else
		d->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	d->nsessions--;
	s->agent->nsessions--;
}

static void drain_events(struct daemon *d);

/* End s and every session below it: the ring buffer is drained first so their
 * last events are attributed, then the map entries and cgroups go. */
static void session_end(struct daemon *d, struct session *s, const char *reason, bool kill)
{
	struct session *c, *n;
	bool was_adopted = s->adopted != NULL;

	for (c = d->sessions; c; c = n) {
		n = c->next;
		if (c->parent == s) {
			session_end(d, c, reason, kill);
			n = d->sessions;	/* the list changed */
		}
	}
	if (kill && !s->adopted)
		cgroup__kill(s->path);
	flush_aggregates(d, s->cgid);	/* its aggregates before its session.end */
	drain_events(d);
	report_rate_limited(d, s);
	enforcer__del_session(d->enf, s->cgid);
	if (s->adopted) {
		enforcer__unadopt(d->enf, s->adopted);
		s->adopted = NULL;
		d->nadopted--;
	}
	if (s->fb_flags)
		fallback__session_del(d->fb, s->cgid);
	if (s->wd >= 0)
		inotify_rm_watch(d->infd, s->wd);
	{
		struct ev e = { .type = "session.end", .decision = NULL };

		set_session_fields(&e, s);
		e.extra = extra_reason;
		e.extra_ctx = reason;
		emit(d, &e);
	}
	/* A populated cgroup cannot be removed; after a kill it empties within
	 * moments, so retry briefly. An adopted one belongs to its maker. */
	for (int i = 0; !was_adopted && i < 100 && cgroup__rmdir_tree(s->path) == -EBUSY; i++)
		usleep(10000);
	session_unlink(d, s);
	s->agent = NULL;
	s->ended_ms = d->now_ms;
	s->next = d->dead;
	s->prev = NULL;
	d->dead = s;
}

static int session_chain(const struct session *parent, const struct agent *a,
			 struct ag_session *out)
{
	memset(out, 0, sizeof(*out));
	if (parent) {
		int i = 0;

		for (const struct session *p = parent; p; p = p->parent)
			i++;
		if (i + 1 > AG_MAX_DEPTH)
			return -E2BIG;
		out->depth = i + 1;
		for (const struct session *p = parent; p; p = p->parent)
			out->policy[--i] = p->agent->policy_id;
	} else {
		out->depth = 1;
	}
	out->policy[out->depth - 1] = a->policy_id;
	return 0;
}

/* Rewrite the sessions map entry of every session (after a policy id changed). */
static int sessions_refresh(struct daemon *d)
{
	int err = 0;

	for (struct session *s = d->sessions; s; s = s->next) {
		struct ag_session v;

		err = session_chain(s->parent, s->agent, &v) ?:
		      enforcer__add_session(d->enf, s->cgid, &v) ?: err;
	}
	return err;
}

/* ------------------------------------------------------------------------ */
/* Agents and manifests                                                      */

static struct agent *agent_find(struct daemon *d, const char *name)
{
	for (struct agent *a = d->agents; a; a = a->next)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

struct manifest_extra {
	const char *file;
	const char *previous;
};

static void extra_manifest(struct jsonw *w, const void *ctx)
{
	const struct manifest_extra *x = ctx;

	jsonw__key_object(w, "manifest");
	jsonw__key_string(w, "file", x->file);
	if (x->previous)
		jsonw__key_string(w, "previous_generation", x->previous);
	jsonw__object_end(w);
}

static void extra_rejected(struct jsonw *w, const void *ctx)
{
	const struct diag *dg = ctx;

	jsonw__key_object(w, "manifest");
	jsonw__key_string(w, "file", dg->file);
	if (dg->line > 0) {
		jsonw__key_uint(w, "line", dg->line);
		jsonw__key_uint(w, "column", dg->col);
	}
	jsonw__key_string(w, "error", dg->msg);
	jsonw__object_end(w);
}

static void log_rejected(struct daemon *d, struct diag_list *dl)
{
	diag_list__print(dl, stderr);
	for (int i = 0; i < dl->n; i++) {
		struct ev e = { .type = "manifest.rejected" };

		e.extra = extra_rejected;
		e.extra_ctx = &dl->v[i];
		emit(d, &e);
	}
	diag_list__free(dl);
}

/* End every session of agent a (and the sessions below them). */
static void end_sessions_of(struct daemon *d, struct agent *a, const char *why)
{
	for (struct session *s = d->sessions, *n; s; s = n) {
		n = s->next;
		if (s->agent == a) {
			session_end(d, s, why, true);
			n = d->sessions;	/* the list changed */
		}
	}
}

/*
 * Load (or reload) every manifest. All or nothing: any error leaves every
 * agent's previous generation in force and logs manifest.rejected for each
 * error. A new or changed agent gets a new policy id; its trie entries and
 * policy record are written first, then every live session's chain is
 * switched to it (one map update per session, so no decision ever sees a
 * half-written policy), and only then is the old policy removed. An agent no
 * longer in any manifest has its sessions ended.
 */
static int load_manifests(struct daemon *d)
{
	struct pending {
		struct agent *a;	/* existing agent, or NULL for a new one */
		const struct manifest *m;
		__u32 id;
		struct compiled_policy cp;
	} *pend;
	struct diag_list dl = {};
	struct manifest_set *set = NULL;
	size_t np = 0;
	struct agent *a;
	int err;

	err = manifest_set__load_dir(d->cfg.manifests, &set, &dl);
	if (err) {
		if (dl.n == 0)
			diag_list__add(&dl, d->cfg.manifests, 0, 0, "cannot load manifests: %s",
				       strerror(-err));
		log_rejected(d, &dl);
		return -EINVAL;
	}
	pend = calloc(set->n ? set->n : 1, sizeof(*pend));
	if (!pend) {
		manifest_set__free(set);
		return -ENOMEM;
	}

	/* 1. compile and write every new or changed generation */
	for (size_t i = 0; i < set->n; i++) {
		const struct manifest *m = set->v[i];

		a = agent_find(d, m->name);
		if (a && !strcmp(a->generation, m->generation))
			continue;
		pend[np].a = a;
		pend[np].m = m;
		pend[np].id = d->next_policy_id++;
		err = compile__policy(m, &pend[np].cp, &dl);
		if (!err) {
			err = enforcer__set_policy(d->enf, pend[np].id, &pend[np].cp);
			if (err)
				diag_list__add(&dl, m->file, 0, 0, "cannot load agent '%s' into the kernel: %s",
					       m->name, strerror(-err));
		}
		if (err) {
			compiled_policy__free(&pend[np].cp);
			for (size_t k = 0; k < np; k++) {
				enforcer__del_policy(d->enf, pend[k].id, &pend[k].cp);
				compiled_policy__free(&pend[k].cp);
			}
			free(pend);
			manifest_set__free(set);
			log_rejected(d, &dl);
			return err;
		}
		np++;
	}

	/* 2. swap: agents point into the new set, sessions follow */
	for (size_t i = 0; i < set->n; i++) {
		a = agent_find(d, set->v[i]->name);
		if (a)
			a->m = set->v[i];
	}
	for (size_t i = 0; i < np; i++) {
		struct pending *p = &pend[i];
		struct manifest_extra x = { .file = p->m->file };
		char prev[MANIFEST_GENERATION_LEN + 1] = "";
		struct compiled_policy oldcp = {};
		__u32 oldid = 0;

		a = p->a;
		if (!a) {
			a = calloc(1, sizeof(*a));
			if (!a || !(a->name = strdup(p->m->name))) {
				free(a);
				enforcer__del_policy(d->enf, p->id, &p->cp);
				compiled_policy__free(&p->cp);
				continue;
			}
			a->next = d->agents;
			d->agents = a;
		} else {
			strcpy(prev, a->generation);
			oldid = a->policy_id;
			oldcp = a->cp;
			x.previous = prev;
		}
		a->m = p->m;
		strcpy(a->generation, p->m->generation);
		a->policy_id = p->id;
		a->cp = p->cp;
		for (struct session *s = d->sessions; s; s = s->next) {
			if (s->agent == a) {
				strcpy(s->generation, a->generation);
				s->mode = a->m->mode;
			}
		}
		if (oldid) {
			sessions_refresh(d);
			enforcer__del_policy(d->enf, oldid, &oldcp);
			compiled_policy__free(&oldcp);
		}
		{
			struct ev e = { .type = "manifest.loaded", .agent = a->name,
					.generation = a->generation,
					.mode = a->m->mode == AG_MODE_AUDIT ? "audit" : "enforce" };

			e.extra = extra_manifest;
			e.extra_ctx = &x;
			emit(d, &e);
		}
	}
	free(pend);

	/* 3. agents gone from the manifests */
	for (struct agent **pp = &d->agents; *pp;) {
		a = *pp;
		if (manifest_set__find(set, a->name)) {
			pp = &a->next;
			continue;
		}
		end_sessions_of(d, a, "agent removed from the manifests");
		enforcer__del_policy(d->enf, a->policy_id, &a->cp);
		*pp = a->next;
		compiled_policy__free(&a->cp);
		free(a->name);
		free(a);
	}
	manifest_set__free(d->set);
	d->set = set;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Process cache and ring buffer events                                      */

static struct proc_info *proc_get(struct daemon *d, __u32 pid)
{
	for (struct proc_info *p = d->procs[pid % PROC_BUCKETS]; p; p = p->hnext)
		if (p->pid == pid)
			return p;
	return NULL;
}

static void proc_del(struct daemon *d, __u32 pid)
{
	struct proc_info **pp = &d->procs[pid % PROC_BUCKETS];

	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->hnext;
	if (*pp) {
		struct proc_info *p = *pp;

		*pp = p->hnext;
		free(p->exe);
		free(p);
		d->nprocs--;
	}
}

static void proc_set(struct daemon *d, __u32 pid, __u64 exec_ktime, __u64 parent_exec_ktime,
		     const char *exe)
{
	struct proc_info *p = proc_get(d, pid);

	if (!p) {
		if (d->nprocs >= MAX_PROC_CACHE)
			return;
		p = calloc(1, sizeof(*p));
		if (!p)
			return;
		p->pid = pid;
		p->hnext = d->procs[pid % PROC_BUCKETS];
		d->procs[pid % PROC_BUCKETS] = p;
		d->nprocs++;
	}
	free(p->exe);
	p->exe = strdup(exe);
	p->exec_ktime = exec_ktime;
	p->parent_exec_ktime = parent_exec_ktime;
}

/* exec_id: base64url("<host>:<exec boot ns>:<pid>"), unique on the host across
 * pid reuse (the same pid cannot exec twice in the same nanosecond). */
static void exec_id(const struct daemon *d, __u64 ktime, __u32 pid, char *out, size_t len)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char raw[340];
	int n = snprintf(raw, sizeof(raw), "%s:%llu:%u", d->hostname,
			 (unsigned long long)ktime, pid);
	size_t o = 0;

	if (n < 0 || n >= (int)sizeof(raw))
		n = sizeof(raw) - 1;
	for (int i = 0; i < n && o + 5 < len; i += 3) {
		__u32 v = (unsigned char)raw[i] << 16;
		int rem = n - i;

		if (rem > 1)
			v |= (unsigned char)raw[i + 1] << 8;
		if (rem > 2)
			v |= (unsigned char)raw[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		if (rem > 1)
			out[o++] = b64[(v >> 6) & 63];
		if (rem > 2)
			out[o++] = b64[v & 63];
	}
	out[o] = 0;
}

/* The fields every kernel event shares: session, time and process. comm
 * (AG_COMM_LEN + 1 bytes) and eid are the caller's buffers the event points
 * into. */
static void ev_from_hdr(struct daemon *d, struct ev *e, const struct session *s,
			const struct ag_event_hdr *h, char *comm, char *eid, size_t eidlen)
{
	struct proc_info *p;

	set_session_fields(e, s);
	e->time_ns = h->ktime + d->boot_to_real_ns;
	e->has_process = true;
	e->pid = h->pid;
	e->ppid = h->ppid;
	e->uid = h->uid;
	memcpy(comm, h->comm, AG_COMM_LEN);
	comm[AG_COMM_LEN] = 0;
	e->comm = comm;
	if (h->exec_ktime) {
		exec_id(d, h->exec_ktime, h->pid, eid, eidlen);
		e->exec_id = eid;
	}
	p = proc_get(d, h->pid);
	if (p && p->exec_ktime == h->exec_ktime)
		e->exe = p->exe;
}

static const char *decision_name(__u8 d)
{
	return d == AG_DENY ? "deny" : d == AG_AUDIT ? "audit" : "allow";
}

static void rule_name(const struct session *s, const struct ag_event_hdr *h, char *buf,
		      size_t len)
{
	const char *base;
	const struct session *owner = s;
	bool indexed = false;

	switch (h->rule_kind) {
	case AG_RULE_EGRESS_ALLOW: base = "network.egress.allow"; indexed = true; break;
	case AG_RULE_EGRESS_DENY: base = "network.egress.deny"; indexed = true; break;
	case AG_RULE_EGRESS_DEFAULT: base = "network.egress.default"; break;
	case AG_RULE_BIND_ALLOW: base = "network.bind.allow"; break;
	case AG_RULE_BIND_DEFAULT: base = "network.bind.default"; break;
	case AG_RULE_UNRESTRICTED: base = "unrestricted"; break;
	case AG_RULE_FILES_READ: base = "files.read"; indexed = true; break;
	case AG_RULE_FILES_WRITE: base = "files.write"; indexed = true; break;
	case AG_RULE_FILES_DENY: base = "files.deny"; indexed = true; break;
	case AG_RULE_FILES_DEFAULT: base = "files.default"; break;
	case AG_RULE_EXEC_ALLOW: base = "exec.allow"; indexed = true; break;
	case AG_RULE_EXEC_DEFAULT: base = "exec.default"; break;
	case AG_RULE_PATH_TOO_LONG:
		base = h->type == AG_EV_EXEC_CHECK ? "exec.path_too_long" : "files.path_too_long";
		break;
	default: base = NULL; break;
	}
	buf[0] = 0;
	if (!base)
		return;
	/* A rule of an ancestor's manifest is named "<agent>:<rule>". */
	if (s) {
		int up = s->depth - 1 - h->level;

		while (up-- > 0 && owner->parent)
			owner = owner->parent;
	}
	if (indexed)
		snprintf(buf, len, "%s%s%s[%u]", owner && owner != s ? owner->agent_name : "",
			 owner && owner != s ? ":" : "", base, h->rule_idx);
	else
		snprintf(buf, len, "%s%s%s", owner && owner != s ? owner->agent_name : "",
			 owner && owner != s ? ":" : "", base);
}

struct exit_extra {
	int code;
};

static const char *file_op_name(__u8 op)
{
	static const char *const names[] = {
		[AG_FILE_OP_OPEN] = "open", [AG_FILE_OP_CREATE] = "create",
		[AG_FILE_OP_TRUNCATE] = "truncate", [AG_FILE_OP_RENAME] = "rename",
		[AG_FILE_OP_LINK] = "link", [AG_FILE_OP_UNLINK] = "unlink",
		[AG_FILE_OP_MKDIR] = "mkdir", [AG_FILE_OP_RMDIR] = "rmdir",
		[AG_FILE_OP_SYMLINK] = "symlink", [AG_FILE_OP_EXEC] = "exec",
		[AG_FILE_OP_CHMOD] = "chmod", [AG_FILE_OP_CHOWN] = "chown",
	};

	return op < sizeof(names) / sizeof(names[0]) && names[op] ? names[op] : "other";
}

static void extra_file_op(struct jsonw *w, const void *ctx)
{
	jsonw__key_string(w, "op", ctx);
}

/* The path of a file event as text: cut at AG_PATH_LEN - 1 bytes, which the
 * kernel marks by a longer path_len ("..." is appended then). */
static void file_event_path(const struct ag_event_file *f, char *out, size_t len)
{
	size_t n = strnlen(f->path, AG_PATH_LEN);

	if (n >= AG_PATH_LEN)
		n = AG_PATH_LEN - 1;
	if (n > len - 4)
		n = len - 4;
	memcpy(out, f->path, n);
	if (f->path_len > n)
		memcpy(out + n, "...", 3), n += 3;
	out[n] = 0;
}

static void extra_exit(struct jsonw *w, const void *ctx)
{
	const struct exit_extra *x = ctx;
	int st = x->code;

	if ((st & 0x7f) == 0)
		jsonw__key_int(w, "exit_code", (st >> 8) & 0xff);
	else
		jsonw__key_int(w, "signal", st & 0x7f);
}

/* An aggregate (bpf/agentguard.h, struct ag_event_agg): logged as the entry
 * of its template, with time = the last event counted and the object
 * "aggregate": {count, first, last} after the type's own fields. */
struct agg_extra {
	void (*inner)(struct jsonw *w, const void *ctx);
	const void *inner_ctx;
	const struct ag_event_agg *a;
	__s64 boot_to_real_ns;
};

static void extra_aggregate(struct jsonw *w, const void *ctx)
{
	const struct agg_extra *x = ctx;
	__u64 first = x->a->first + x->boot_to_real_ns, last = x->a->last + x->boot_to_real_ns;
	struct timespec tf = { first / 1000000000ull, first % 1000000000ull };
	struct timespec tl = { last / 1000000000ull, last % 1000000000ull };

	if (x->inner)
		x->inner(w, x->inner_ctx);
	jsonw__key_object(w, "aggregate");
	jsonw__key_uint(w, "count", x->a->count);
	jsonw__key_time(w, "first", &tf);
	jsonw__key_time(w, "last", &tl);
	jsonw__object_end(w);
}

/* emit() for a decision of handle_event(): as it is, or as an aggregate. */
static void emit_decision(struct daemon *d, struct ev *e)
{
	struct agg_extra x;

	if (d->agg) {
		x.inner = e->extra;
		x.inner_ctx = e->extra_ctx;
		x.a = d->agg;
		x.boot_to_real_ns = d->boot_to_real_ns;
		e->time_ns = d->agg->last + d->boot_to_real_ns;
		e->extra = extra_aggregate;
		e->extra_ctx = &x;
	}
	emit(d, e);
}

static int handle_event(struct daemon *d, const void *data, size_t size);

static void handle_aggregate(struct daemon *d, const void *data, size_t size)
{
	const struct ag_event_agg *a = data;

	if (size < sizeof(*a) || !a->count)
		return;
	d->agg = a;
	handle_event(d, &a->ev, sizeof(a->ev));
	d->agg = NULL;
}

static int handle_event(struct daemon *d, const void *data, size_t size)
{
	const struct ag_event_hdr *h = data;
	char comm[AG_COMM_LEN + 1], rule[160], ip[INET6_ADDRSTRLEN];
	char eid[512], peid[512];
	struct session *s;
	struct ev e = {};

	if (size < sizeof(*h))
		return 0;
	s = session_by_cgid(d, h->session_cgid);
	ev_from_hdr(d, &e, s, h, comm, eid, sizeof(eid));
	e.decision = decision_name(h->decision);
	rule_name(s, h, rule, sizeof(rule));
	if (rule[0])
		e.rule = rule;

	switch (h->type) {
	case AG_EV_NET_CONNECT:
	case AG_EV_NET_SEND:
	case AG_EV_NET_BIND: {
		const struct ag_event_net *n = data;
		static const __u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (size < sizeof(*n))
			return 0;
		e.type = h->type == AG_EV_NET_CONNECT ? "network.connect" :
			 h->type == AG_EV_NET_SEND ? "network.send" : "network.bind";
		e.target = EV_TARGET_NET;
		/* an IPv4-mapped address is judged, and logged, as IPv4 */
		if (!memcmp(n->addr, mapped, 12))
			inet_ntop(AF_INET, n->addr + 12, ip, sizeof(ip));
		else
			inet_ntop(AF_INET6, n->addr, ip, sizeof(ip));
		e.ip = ip;
		e.port = n->port;
		e.protocol = n->proto == AG_PROTO_TCP ? "tcp" :
			     n->proto == AG_PROTO_UDP ? "udp" : "other";
		emit_decision(d, &e);
		break;
	}
	case AG_EV_EXEC: {
		const struct ag_event_exec *x = data;
		char path[AG_PATH_LEN + 1];
		size_t n;

		if (size < sizeof(*x))
			return 0;
		n = x->filename_len < AG_PATH_LEN ? x->filename_len : AG_PATH_LEN - 1;
		memcpy(path, x->filename, n);
		path[n] = 0;
		proc_set(d, h->pid, h->exec_ktime, x->parent_exec_ktime, path);
		e.type = "process.exec";
		e.exe = path;
		e.target = EV_TARGET_EXEC;
		e.path = path;
		if (x->parent_exec_ktime && h->ppid) {
			exec_id(d, x->parent_exec_ktime, h->ppid, peid, sizeof(peid));
			e.parent_exec_id = peid;
		}
		emit(d, &e);
		break;
	}
	case AG_EV_FILE_OPEN: {
		const struct ag_event_file *f = data;
		char path[AG_PATH_LEN + 4];

		if (size < sizeof(*f))
			return 0;
		file_event_path(f, path, sizeof(path));
		e.type = "file.open";
		e.target = EV_TARGET_FILE;
		e.path = path;
		e.access = f->access & AG_ACC_WRITE ? "write" : "read";
		e.extra = extra_file_op;
		e.extra_ctx = file_op_name(f->op);
		emit_decision(d, &e);
		break;
	}
	case AG_EV_EXEC_CHECK: {
		const struct ag_event_file *f = data;
		char path[AG_PATH_LEN + 4];

		if (size < sizeof(*f))
			return 0;
		file_event_path(f, path, sizeof(path));
		e.type = "process.exec";
		e.target = EV_TARGET_EXEC;
		e.path = path;
		emit_decision(d, &e);
		break;
	}
	case AG_EV_EXIT: {
		const struct ag_event_exit *x = data;
		struct exit_extra xx;

		if (size < sizeof(*x))
			return 0;
		xx.code = x->exit_code;
		e.type = "process.exit";
		e.decision = NULL;
		e.rule = NULL;
		e.extra = extra_exit;
		e.extra_ctx = &xx;
		emit(d, &e);
		proc_del(d, h->pid);
		break;
	}
	default:
		break;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Files and exec without BPF LSM: events of bpf/fallback.bpf.c              */

struct fallback_extra {
	const char *op;
	const char *enforcement;	/* "landlock" or "observe" */
	const char *reason;		/* "" none */
};

static void extra_fallback(struct jsonw *w, const void *ctx)
{
	const struct fallback_extra *x = ctx;

	if (x->op)
		jsonw__key_string(w, "op", x->op);
	jsonw__key_string(w, "enforcement", x->enforcement);
	if (x->reason && x->reason[0])
		jsonw__key_string(w, "reason", x->reason);
}

/* A record of the fallback programs: rebuild its paths, find the manifest
 * rule of the chain that decided, log it (or nothing, when no rule did:
 * file modes or another LSM refused). */
static void handle_fallback_event(struct daemon *d, const void *data, size_t size)
{
	static struct fb_event ev;
	static char paths[2][PATH_MAX], interp[PATH_MAX];
	static struct fb_verdict v;
	const struct ag_event_hdr *h = data;
	struct fb_level lv[AG_MAX_DEPTH];
	const struct session *chain[AG_MAX_DEPTH];
	char comm[AG_COMM_LEN + 1], eid[512];
	struct fallback_extra x = {};
	struct session *s;
	struct ev e = {};
	int n = 0;

	if (fallback__decode(data, size, &ev))
		return;
	s = session_by_cgid(d, h->session_cgid);
	if (!s)
		return;
	for (const struct session *q = s; q && n < AG_MAX_DEPTH; q = q->parent)
		chain[n++] = q;
	for (int i = 0; i < n; i++) {
		const struct session *q = chain[n - 1 - i];

		lv[i].m = q->agent ? q->agent->m : NULL;
		lv[i].plan = q->ll;
		lv[i].agent = q->agent_name;
		lv[i].observed = q->observed;
	}
	paths[1][0] = 0;
	for (int i = 0; i < ev.npaths; i++)
		fallback__resolve(&ev, i, paths[i], sizeof(paths[i]));
	interp[0] = 0;
	if (ev.raw->op == AG_FB_OP_EXEC && h->decision == AG_DENY && paths[0][0] &&
	    fallback__script_interp(paths[0], interp, sizeof(interp)))
		interp[0] = 0;
	fallback__judge(lv, n, &ev, paths, interp, d->cfg.log_allowed_file_opens, &v);
	if (v.drop)
		return;

	ev_from_hdr(d, &e, s, h, comm, eid, sizeof(eid));
	if (lv[v.level].m)
		e.mode = lv[v.level].m->mode == AG_MODE_AUDIT ? "audit" : "enforce";
	e.decision = decision_name(v.decision);
	{
		/* a directory's path ends in '/' (docs/events.md) */
		struct stat sb;
		size_t tl = strlen(v.target);

		if (tl > 1 && tl + 1 < sizeof(v.target) && v.target[tl - 1] != '/' &&
		    stat(v.target, &sb) == 0 && S_ISDIR(sb.st_mode))
			strcpy(v.target + tl, "/");
	}
	e.path = v.target;
	e.rule = v.rule[0] ? v.rule : NULL;
	if (ev.raw->op == AG_FB_OP_EXEC) {
		e.type = "process.exec";
		e.target = EV_TARGET_EXEC;
	} else {
		e.type = "file.open";
		e.target = EV_TARGET_FILE;
		e.access = v.write ? "write" : "read";
		x.op = fallback__op_name(ev.raw->op);
	}
	x.enforcement = lv[v.level].plan ? "landlock" : "observe";
	x.reason = v.reason;
	e.extra = extra_fallback;
	e.extra_ctx = &x;
	emit(d, &e);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;

	if (size >= sizeof(struct ag_event_hdr) &&
	    ((const struct ag_event_hdr *)data)->type == AG_EV_FALLBACK)
		handle_fallback_event(d, data, size);
	else if (size >= sizeof(__u32) && *(const __u32 *)data == AG_EV_AGGREGATE)
		handle_aggregate(d, data, size);
	else
		handle_event(d, data, size);
	/* Yield to the loop now and then, so commits and clients never wait
	 * behind an event storm. libbpf has consumed this record already; the
	 * rest stay queued for the next drain. */
	if ((++d->drained & 255) == 0 && clock_ns(CLOCK_MONOTONIC) > d->drain_deadline_ns) {
		d->drain_more = true;
		return -EAGAIN;
	}
	return 0;
}

struct lost_extra {
	__u64 count;
	const char *reason;
};

static void extra_lost(struct jsonw *w, const void *ctx)
{
	const struct lost_extra *x = ctx;

	jsonw__key_uint(w, "count", x->count);
	jsonw__key_string(w, "reason", x->reason);
}

/* events.lost for the events of s its rate limit kept off the ring buffer
 * since the last such entry (docs/events.md, "Storms"). */
static void report_rate_limited(struct daemon *d, struct session *s)
{
	struct lost_extra x = { .reason = "rate limit" };
	struct ev e = { .type = "events.lost" };
	__u64 n;

	if (enforcer__rate_read(d->enf, s->cgid, &n) || n <= s->rate_reported)
		return;
	x.count = n - s->rate_reported;
	s->rate_reported = n;
	set_session_fields(&e, s);
	e.extra = extra_lost;
	e.extra_ctx = &x;
	emit(d, &e);
}

/* Close the aggregation windows of session cgid (0: of every session) now,
 * and log them: flush, consume, again while the ring buffer fills up. */
static void flush_aggregates(struct daemon *d, __u64 cgid)
{
	for (int i = 0; i < 1000 && enforcer__agg_flush(d->enf, cgid, true) == -EAGAIN; i++)
		enforcer__poll(d->enf, 0);
}

/* Log what the kernel could not record since the last such entries: one
 * events.lost for the ring buffer, one per session for its rate limit. */
static void report_losses(struct daemon *d)
{
	__u64 st[AG_STAT_MAX];

	d->loss_report_ms = d->now_ms;
	if (enforcer__stats(d->enf, st))
		return;
	if (st[AG_STAT_EVENTS_LOST] > d->lost_reported) {
		struct lost_extra x = { st[AG_STAT_EVENTS_LOST] - d->lost_reported,
					"ring buffer full" };
		struct ev e = { .type = "events.lost" };

		d->lost_reported = st[AG_STAT_EVENTS_LOST];
		e.extra = extra_lost;
		e.extra_ctx = &x;
		emit(d, &e);
	}
	if (st[AG_STAT_RATE_LIMITED] != d->rate_seen) {
		/* the kernel counts a session's bucket before this counter, so
		 * what the counter shows is in the buckets read after it */
		d->rate_seen = st[AG_STAT_RATE_LIMITED];
		for (struct session *s = d->sessions; s; s = s->next)
			report_rate_limited(d, s);
		for (struct session *s = d->dead; s; s = s->next)
			report_rate_limited(d, s);
	}
}

/* Consume everything ready, then account for what the kernel dropped. */
static void drain_events(struct daemon *d)
{
	update_clock(d);
	d->drain_deadline_ns = clock_ns(CLOCK_MONOTONIC) + DRAIN_BUDGET_NS;
	d->drain_more = false;
	/* windows that have passed: their aggregates join the queue (when the
	 * ring buffer is full, what is left stays counted: flush again soon) */
	if (d->now_ms - d->agg_flush_ms >= AGG_FLUSH_MS)
		d->agg_flush_ms = enforcer__agg_flush(d->enf, 0, false) == -EAGAIN ? 0 : d->now_ms;
	enforcer__poll(d->enf, 0);
	if (d->now_ms - d->loss_report_ms >= LOSS_REPORT_MS)
		report_losses(d);
}

/* ------------------------------------------------------------------------ */
/* Socket requests                                                           */

static json_t *error_resp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *error_resp(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", buf);
}

static void read_proc_str(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	if (!strcmp(what, "exe")) {
		n = readlink(path, buf, len - 1);
		buf[n > 0 ? n : 0] = 0;
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

/* May the caller start sessions of a? root always; else session.users (its
 * uid) and session.groups (its gid and supplementary groups, as the kernel
 * gave them with the connection). Names are resolved now, so renamed
 * accounts follow. */
static bool caller_allowed(const struct client *c, const struct manifest *m)
{
	if (c->uid == 0)
		return true;
	for (size_t i = 0; i < m->session.nusers; i++) {
		const struct manifest_principal *u = &m->session.users[i];

		struct passwd *pw;

		if (u->numeric) {
			if (u->id == c->uid)
				return true;
			continue;
		}
		pw = getpwnam(u->name);
		if (pw && pw->pw_uid == c->uid)
			return true;
	}
	if (m->session.ngroups) {
		for (size_t i = 0; i < m->session.ngroups; i++) {
			const struct manifest_principal *g = &m->session.groups[i];
			gid_t want;

			if (g->numeric) {
				want = g->id;
			} else {
				struct group *gr = getgrnam(g->name);

				if (!gr)
					continue;
				want = gr->gr_gid;
			}
			if (c->gid == want)
				return true;
			for (int k = 0; k < c->ngroups; k++)
				if (c->groups[k] == want)
					return true;
		}
	}
	return false;
}

/* The session the process pid is in (its cgroup or the deepest session
 * cgroup above it), or NULL. *inside is set when the process is anywhere
 * below the agentguard root. */
/* Is path an adopted session's cgroup or below one? */
static bool adopted_prefix(struct daemon *d, const char *path)
{
	if (!d->nadopted)
		return false;
	for (struct session *s = d->sessions; s; s = s->next) {
		size_t n = strlen(s->path);

		if (s->adopted && !strncmp(path, s->path, n) && (!path[n] || path[n] == '/'))
			return true;
	}
	return false;
}

static struct session *session_of_pid(struct daemon *d, pid_t pid, bool *inside)
{
	char rel[PATH_MAX], full[PATH_MAX * 2];
	size_t rootlen = strlen(d->root);

	*inside = false;
	if (cgroup__of_pid(pid, rel, sizeof(rel)))
		return NULL;
	snprintf(full, sizeof(full), "%s%s", d->cg_mount, strcmp(rel, "/") ? rel : "");
	if (strncmp(full, d->root, rootlen) || (full[rootlen] && full[rootlen] != '/')) {
		/* not below the root: in or below an adopted cgroup? */
		if (!adopted_prefix(d, full))
			return NULL;
		rootlen = strlen(d->cg_mount);
	}
	*inside = true;
	while (strlen(full) > rootlen) {
		__u64 id;
		char *slash;

		if (cgroup__id(full, &id) == 0) {
			struct session *s = session_by_cgid(d, id);

			if (s)
				return s;
		}
		slash = strrchr(full, '/');
		if (!slash)
			break;
		*slash = 0;
	}
	return NULL;
}

/* A pidfd polls readable once its process has exited. */
static bool pidfd_alive(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	if (pidfd < 0)
		return true;	/* no pidfd support: the move itself is the check */
	return poll(&pfd, 1, 0) == 0;
}

static json_t *refuse(struct daemon *d, const struct client *c, const char *agent,
		      struct session *parent, const char *why)
{
	char comm[64], exe[PATH_MAX];
	struct ev e = { .type = "session.start", .decision = "deny" };

	read_proc_str(c->pid, "comm", comm, sizeof(comm));
	read_proc_str(c->pid, "exe", exe, sizeof(exe));
	set_session_fields(&e, parent);
	e.agent = agent;
	e.generation = NULL;
	{
		struct agent *a = agent_find(d, agent);

		if (a)
			e.generation = a->generation;
	}
	e.has_process = true;
	e.pid = c->pid;
	e.uid = c->uid;
	e.comm = comm;
	e.exe = exe[0] ? exe : NULL;
	e.extra = extra_reason;
	e.extra_ctx = why;
	emit(d, &e);
	return error_resp("cannot start a session of '%s': %s", agent, why);
}

/* ------------------------------------------------------------------------ */
/* Files and exec without BPF LSM: session start (docs/fallback.md)          */

struct files_start {
	const char *posture;	/* "bpf-lsm", "landlock", "inherited", "observe", "none" */
	const char *why;	/* for observe */
	struct ll_plan *plan;	/* this level's, owned until registered */
	int rfd;		/* its Landlock ruleset, passed to the caller */
	size_t skipped;		/* plan paths gone before the ruleset was built */
	bool observed;
	__u32 fb_flags;
	char note[320];		/* e.g. why denials are not logged */
};

static void files_start_free(struct files_start *fs)
{
	if (fs->plan) {
		landlock__plan_free(fs->plan);
		free(fs->plan);
		fs->plan = NULL;
	}
	if (fs->rfd >= 0)
		close(fs->rfd);
	fs->rfd = -1;
}

/* `agentguard run` applies the Landlock ruleset: only a caller that runs
 * this very binary, untraced and without a preloaded library, can be relied
 * on to. */
static bool caller_is_agentguard(const struct client *c, char *why, size_t len)
{
	char path[64], exe[PATH_MAX], buf[8192];
	struct stat me, them;
	ssize_t n;
	int fd;

	if (stat("/proc/self/exe", &me) < 0) {
		snprintf(why, len, "cannot stat the daemon's own executable: %s", strerror(errno));
		return false;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)c->pid);
	read_proc_str(c->pid, "exe", exe, sizeof(exe));
	if (stat(path, &them) < 0 || them.st_dev != me.st_dev || them.st_ino != me.st_ino) {
		snprintf(why, len, "its files and exec rules are enforced with Landlock, which "
			 "'agentguard run' applies, and the caller's executable '%.200s' is not this "
			 "agentguard binary", exe[0] ? exe : "?");
		return false;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)c->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		char *t;

		buf[n] = 0;
		t = strstr(buf, "\nTracerPid:");
		if (t && atoi(t + 11) != 0) {
			snprintf(why, len, "the caller is traced by pid %d: it could skip the Landlock "
				 "restriction", atoi(t + 11));
			return false;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)c->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char env[65536];
		size_t got = 0;

		while (got < sizeof(env) - 1 && (n = read(fd, env + got, sizeof(env) - 1 - got)) > 0)
			got += n;
		close(fd);
		env[got] = 0;
		for (size_t i = 0; i < got; i += strlen(env + i) + 1) {
			if ((!strncmp(env + i, "LD_PRELOAD=", 11) && env[i + 11]) ||
			    (!strncmp(env + i, "LD_AUDIT=", 9) && env[i + 9])) {
				snprintf(why, len, "the caller runs with %.*s set: it could skip the "
					 "Landlock restriction", (int)strcspn(env + i, "="), env + i);
				return false;
			}
		}
	}
	if (!pidfd_alive(c->pidfd)) {
		snprintf(why, len, "the caller exited");
		return false;
	}
	return true;
}

/* How the new session's files and exec are enforced where BPF LSM is not:
 * fills fs, or returns the refusal to send. */
static json_t *files_prepare(struct daemon *d, const struct client *c, const struct agent *a,
			     struct session *parent, struct files_start *fs)
{
	const struct manifest *m = a->m;
	bool own = m->files.section != AG_SECTION_ABSENT || m->exec.section == AG_SECTION_DENY;
	bool chain_ll = false, chain_obs = false;
	char why[PATH_MAX + 256];

	memset(fs, 0, sizeof(*fs));
	fs->rfd = -1;
	fs->posture = own ? "bpf-lsm" : "none";
	if (enforcer__lsm_active(d->enf))
		return NULL;
	for (const struct session *p = parent; p; p = p->parent) {
		chain_ll |= p->ll != NULL || (p->fb_flags & AG_FB_S_EACCES);
		chain_obs |= p->observed;
	}
	if (own && m->mode == AG_MODE_AUDIT) {
		fs->posture = "observe";
		fs->why = "audit mode: Landlock cannot audit, so nothing is restricted and would-be "
			  "denials are logged";
		fs->observed = true;
	} else if (own && d->cfg.file_fallback == FILE_FALLBACK_REFUSE) {
		return refuse(d, c, a->name, parent, "its files and exec rules cannot be enforced "
			      "here: BPF LSM is not active and fileFallback is 'refuse'");
	} else if (own && d->cfg.file_fallback == FILE_FALLBACK_OBSERVE) {
		fs->posture = "observe";
		fs->why = "fileFallback: observe: files and exec are NOT enforced, would-be denials "
			  "are logged as audit";
		fs->observed = true;
	} else if (own) {
		fs->plan = calloc(1, sizeof(*fs->plan));
		if (!fs->plan)
			return error_resp("out of memory");
		if (landlock__plan(m, d->ll_abi, fs->plan, why, sizeof(why))) {
			char msg[PATH_MAX + 300];

			free(fs->plan);
			fs->plan = NULL;
			snprintf(msg, sizeof(msg), "its files and exec rules cannot be enforced with "
				 "Landlock: %.3000s", why);
			return refuse(d, c, a->name, parent, msg);
		}
		if (fs->plan->ninterps && !d->fb) {
			char msg[600];

			snprintf(msg, sizeof(msg), "the ELF interpreter '%.200s' its exec rules need "
				 "cannot be guarded: %s", fs->plan->interps[0].path, d->fb_error);
			files_start_free(fs);
			return refuse(d, c, a->name, parent, msg);
		}
		if (!caller_is_agentguard(c, why, sizeof(why))) {
			files_start_free(fs);
			return refuse(d, c, a->name, parent, why);
		}
		fs->rfd = landlock__ruleset(fs->plan, &fs->skipped, why, sizeof(why));
		if (fs->rfd < 0) {
			char msg[PATH_MAX + 300];

			fs->rfd = -1;
			files_start_free(fs);
			snprintf(msg, sizeof(msg), "cannot build its Landlock ruleset: %s", why);
			return refuse(d, c, a->name, parent, msg);
		}
		fs->posture = "landlock";
	} else if (chain_ll) {
		fs->posture = "inherited";
	} else if (chain_obs) {
		fs->posture = "observe";
		fs->why = "an ancestor is observed";
	}
	fs->fb_flags = (fs->plan || chain_ll ? AG_FB_S_EACCES : 0) |
		       (fs->observed || chain_obs ? AG_FB_S_OBSERVE : 0);
	return NULL;
}

/* Hand fs's plan to s and watch s with the fallback programs. 0, or -errno
 * with a message when the session must not start (the exec guard it needs
 * cannot be attached). */
static int files_register(struct daemon *d, struct session *s, struct files_start *fs,
			  char *err, size_t len)
{
	struct fallback_interp in[AG_MAX_DEPTH * LL_MAX_INTERPS];
	size_t nin = 0;
	int e;

	s->ll = fs->plan;
	fs->plan = NULL;
	s->observed = fs->observed;
	if (!fs->fb_flags)
		return 0;
	for (const struct session *p = s; p; p = p->parent)
		for (size_t i = 0; p->ll && i < p->ll->ninterps; i++) {
			in[nin].kdev = p->ll->interps[i].kdev;
			in[nin].ino = p->ll->interps[i].ino;
			in[nin].exec_idx = p->ll->interps[i].exec_idx;
			nin++;
		}
	if (!d->fb) {
		if (nin) {
			snprintf(err, len, "the exec guard is not available: %.200s", d->fb_error);
			return -EOPNOTSUPP;
		}
		snprintf(fs->note, sizeof(fs->note), "denials of this session are not logged: %s",
			 d->fb_error);
		return 0;
	}
	e = fallback__session_add(d->fb, s->cgid, fs->fb_flags, in, nin, err, len);
	if (e) {
		if (nin)
			return e;
		snprintf(fs->note, sizeof(fs->note), "denials of this session are not logged: %s",
			 err);
		return 0;
	}
	s->fb_flags = fs->fb_flags;
	if (d->cfg.denial_events == DENIAL_EVENTS_OFF)
		snprintf(fs->note, sizeof(fs->note), "denials of this session are not logged "
			 "(fallbackDenialEvents: off)");
	return 0;
}

struct files_extra {
	const struct files_start *fs;
	const struct session *s;
	int abi;
};

/* session.start: what enforces the session's files and exec, and how the
 * Landlock plan differs from the manifest. */
static void extra_files(struct jsonw *w, const void *ctx)
{
	const struct files_extra *x = ctx;
	const struct ll_plan *p = x->s->ll;
	char acc[512];

	jsonw__key_object(w, "files");
	jsonw__key_string(w, "enforcement", x->fs->posture);
	if (x->fs->why)
		jsonw__key_string(w, "reason", x->fs->why);
	if (p) {
		jsonw__key_object(w, "landlock");
		jsonw__key_int(w, "abi", x->abi);
		jsonw__key_string(w, "handled", landlock__access_str(p->handled, acc, sizeof(acc)));
		jsonw__key_uint(w, "rules", p->nrules);
		jsonw__key_uint(w, "carved", p->ncarves);
		jsonw__key_uint(w, "entries_read", p->entries_read);
		if (x->fs->skipped)
			jsonw__key_uint(w, "skipped", x->fs->skipped);
		if (p->ninterps) {
			jsonw__key_array(w, "guarded_interpreters");
			for (size_t i = 0; i < p->ninterps; i++)
				jsonw__string(w, p->interps[i].path);
			jsonw__array_end(w);
		}
		jsonw__key_bool(w, "weaker", p->weaker);
		jsonw__object_end(w);
		if (p->nnotes) {
			jsonw__key_array(w, "notes");
			for (size_t i = 0; i < p->nnotes; i++)
				jsonw__string(w, p->notes[i]);
			jsonw__array_end(w);
			if (p->notes_dropped)
				jsonw__key_uint(w, "notes_dropped", p->notes_dropped);
		}
	}
	if (x->fs->note[0])
		jsonw__key_string(w, "note", x->fs->note);
	jsonw__object_end(w);
}

static json_t *handle_session_start(struct daemon *d, struct client *c, json_t *req)
{
	struct files_start fs;
	const char *name = json_string_value(json_object_get(req, "agent"));
	struct session *parent, *s = NULL;
	struct ag_session chain;
	char why[256], comm[64], exe[PATH_MAX];
	struct agent *a;
	bool inside;
	json_t *lin;
	int err;

	if (!name)
		return error_resp("malformed request: 'agent' must be a string");
	if (!manifest__valid_name(name))
		return error_resp("malformed request: invalid agent name");
	parent = session_of_pid(d, c->pid, &inside);
	a = agent_find(d, name);
	if (!a)
		return refuse(d, c, name, parent, "no such agent");
	if (inside && !parent)
		return refuse(d, c, name, NULL, "caller is in the agentguard cgroup tree but in no live session");
	if (!caller_allowed(c, a->m)) {
		snprintf(why, sizeof(why), "uid %u is not in session.users or session.groups",
			 (unsigned)c->uid);
		return refuse(d, c, name, parent, why);
	}
	if (parent) {
		const struct manifest *pm = parent->agent->m;
		bool named = false;

		for (size_t i = 0; pm && i < pm->delegation.nagents; i++)
			if (!strcmp(pm->delegation.agents[i], name))
				named = true;
		if (!named) {
			snprintf(why, sizeof(why), "delegation.agents of '%s' does not name it",
				 parent->agent->name);
			return refuse(d, c, name, parent, why);
		}
		/* every ancestor's maxDepth bounds how far below it this may be */
		for (const struct session *p = parent; p; p = p->parent) {
			int dist = parent->depth + 1 - p->depth;

			if (!p->agent->m || dist > (int)p->agent->m->delegation.max_depth) {
				snprintf(why, sizeof(why),
					 "delegation.maxDepth of '%s' is %u; this would be depth %d",
					 p->agent->name,
					 p->agent->m ? p->agent->m->delegation.max_depth : 0, dist);
				return refuse(d, c, name, parent, why);
			}
		}
		if (parent->depth + 1 > AG_MAX_DEPTH)
			return refuse(d, c, name, parent, "session nesting is too deep");
	}
	if (d->nsessions >= (int)d->cfg.max_sessions)
		return refuse(d, c, name, parent, "too many live sessions");
	{
		json_t *r = files_prepare(d, c, a, parent, &fs);

		if (r)
			return r;
	}

	s = calloc(1, sizeof(*s));
	if (!s) {
		files_start_free(&fs);
		return error_resp("out of memory");
	}
	s->wd = -1;
	new_session_id(s->id);
	s->agent = a;
	s->agent_name = strdup(a->name);
	strcpy(s->generation, a->generation);
	s->mode = a->m->mode;
	s->parent = parent;
	s->depth = parent ? parent->depth + 1 : 1;
	s->lineage = calloc(s->depth, sizeof(char *));
	if (!s->lineage || !s->agent_name ||
	    asprintf(&s->path, "%s/%s/%s", parent ? parent->path : d->root, name, s->id) < 0) {
		s->path = NULL;
		session_free(s);
		files_start_free(&fs);
		return error_resp("out of memory");
	}
	for (int i = 0; i < s->depth - 1; i++)
		s->lineage[i] = strdup(parent->lineage[i]);
	s->lineage[s->depth - 1] = strdup(s->id);

	err = cgroup__mkdir_p(s->path);
	if (err) {
		json_t *r = error_resp("cannot create cgroup '%s': %s", s->path, strerror(-err));

		session_free(s);
		files_start_free(&fs);
		return r;
	}
	err = cgroup__id(s->path, &s->cgid) ?: session_chain(parent, a, &chain) ?:
	      enforcer__add_session(d->enf, s->cgid, &chain);
	if (err) {
		json_t *r = error_resp("cannot register session: %s", strerror(-err));

		rmdir(s->path);
		session_free(s);
		files_start_free(&fs);
		return r;
	}
	/* Register before the move: the first action of the caller in its new
	 * cgroup is already judged. */
	s->hnext = d->by_cgid[s->cgid % SESSION_BUCKETS];
	d->by_cgid[s->cgid % SESSION_BUCKETS] = s;
	s->next = d->sessions;
	if (d->sessions)
		d->sessions->prev = s;
	d->sessions = s;
	d->nsessions++;
	a->nsessions++;
	err = files_register(d, s, &fs, why, sizeof(why));
	if (err) {
		json_t *r = error_resp("cannot start a session of '%s': %s", name, why);

		session_end(d, s, "start failed", true);
		files_start_free(&fs);
		return r;
	}

	read_proc_str(c->pid, "comm", comm, sizeof(comm));
	read_proc_str(c->pid, "exe", exe, sizeof(exe));
	err = cgroup__move_pid(s->path, c->pid);
	if (!err && !pidfd_alive(c->pidfd))
		err = -ESRCH;	/* the caller died; its pid may name another process */
	if (err) {
		json_t *r = error_resp("cannot move pid %d into '%s': %s", (int)c->pid, s->path,
				       strerror(-err));

		session_end(d, s, "start failed", true);
		files_start_free(&fs);
		return r;
	}
	{
		char wpath[PATH_MAX + 32];

		snprintf(wpath, sizeof(wpath), "%s/cgroup.events", s->path);
		s->wd = inotify_add_watch(d->infd, wpath, IN_MODIFY);
	}
	{
		struct ev e = { .type = "session.start", .decision = "allow" };
		struct files_extra fx = { .fs = &fs, .s = s, .abi = d->ll_abi };

		set_session_fields(&e, s);
		e.has_process = true;
		e.pid = c->pid;
		e.uid = c->uid;
		e.comm = comm;
		e.exe = exe[0] ? exe : NULL;
		e.extra = extra_files;
		e.extra_ctx = &fx;
		emit(d, &e);
	}
	/* The caller may have died after the move and before the watch: then
	 * no notification comes, so look once now. */
	if (s->wd < 0 || cgroup__populated(s->path) == 0) {
		session_end(d, s, s->wd < 0 ? "cannot watch the session cgroup" : "cgroup empty",
			    true);
		files_start_free(&fs);
		return error_resp("the session ended before it started");
	}
	lin = json_array();
	for (int i = 0; i < s->depth; i++)
		json_array_append_new(lin, json_string(s->lineage[i]));
	{
		json_t *r = json_pack("{s:b, s:s, s:s, s:s, s:I, s:o, s:s}", "ok", 1,
				      "session", s->id, "agent", name, "cgroup", s->path,
				      "cgroup_id", (json_int_t)s->cgid, "lineage", lin,
				      "files", fs.posture);

		if (r && fs.rfd >= 0) {
			char acc[512];

			json_object_set_new(r, "landlock", json_pack("{s:i, s:I, s:s}",
				"abi", d->ll_abi, "rules", (json_int_t)s->ll->nrules,
				"handled", landlock__access_str(s->ll->handled, acc, sizeof(acc))));
			c->send_fd = fs.rfd;	/* sent with the response, then closed */
			fs.rfd = -1;
		}
		files_start_free(&fs);
		return r;
	}
}

/* ------------------------------------------------------------------------ */
/* Identity tokens (docs/tokens.md)                                          */

struct token_extra {
	const char *jti, *aud;
	int64_t iat, exp;
};

static void extra_token(struct jsonw *w, const void *ctx)
{
	const struct token_extra *x = ctx;

	jsonw__key_object(w, "token");
	jsonw__key_string(w, "jti", x->jti);
	jsonw__key_string(w, "aud", x->aud);
	jsonw__key_int(w, "iat", x->iat);
	jsonw__key_int(w, "exp", x->exp);
	jsonw__object_end(w);
}

/*
 * A token for the caller's session. The caller is attested through the
 * kernel: pid, uid and gid from SO_PEERCRED at connect, the process pinned by
 * the pidfd taken at accept, its session from /proc/<pid>/cgroup, its exe
 * and start time from /proc. The pidfd is checked after the last /proc read:
 * had the caller exited, its pid could name another process by then, so
 * nothing read would be trusted. The token itself is never logged.
 */
static json_t *handle_token(struct daemon *d, struct client *c, json_t *req)
{
	json_t *ja = json_object_get(req, "audience"), *r;
	const char *aud = TOKEN_DEFAULT_AUD, *sids[AG_MAX_DEPTH], *agents[AG_MAX_DEPTH];
	char exe[PATH_MAX], hex[65], comm[64], jti[TOKEN_JTI_LEN + 1], *tok = NULL;
	struct token_claims tc = {};
	const struct session *p;
	struct session *s;
	uint64_t start = 0;
	int64_t exp;
	bool inside;
	int err, i;

	if (ja) {
		aud = json_string_value(ja);
		if (!aud || !token__valid_audience(aud))
			return error_resp("malformed request: 'audience' must be 1 to %d printable "
					  "ASCII characters without spaces", TOKEN_AUD_MAX);
	}
	if (c->pidfd < 0)
		return error_resp("cannot issue a token: the kernel gave no pidfd for the "
				  "caller, so pid reuse cannot be ruled out");
	if (!pidfd_alive(c->pidfd))
		return error_resp("cannot issue a token: the caller (pid %d) has exited",
				  (int)c->pid);
	s = session_of_pid(d, c->pid, &inside);
	if (!s)
		return error_resp("cannot issue a token: pid %d is in no agentguard session",
				  (int)c->pid);
	if (!s->agent || !s->agent->m)
		return error_resp("cannot issue a token: session '%s' has ended", s->id);
	if (strcmp(s->generation, s->agent->generation))
		return error_resp("cannot issue a token: generation '%s' of session '%s' was "
				  "replaced", s->generation, s->id);
	if (s->depth < 1 || s->depth > AG_MAX_DEPTH)
		return error_resp("cannot issue a token: session '%s' is nested too deep", s->id);
	read_proc_str(c->pid, "comm", comm, sizeof(comm));
	read_proc_str(c->pid, "exe", exe, sizeof(exe));
	err = attest__start_time(c->pid, &start);
	if (!err && !exe[0])
		err = -ENOENT;
	if (!err)
		err = exe_cache__sha256(d->exes, c->pid, hex);
	/* the check that makes every read above the caller's */
	if (!pidfd_alive(c->pidfd))
		return error_resp("cannot issue a token: the caller (pid %d) exited while it "
				  "was attested", (int)c->pid);
	if (err)
		return error_resp("cannot issue a token: cannot attest pid %d: %s", (int)c->pid,
				  err == -EFBIG ? "its executable is too large to hash" :
				  strerror(-err));
	for (p = s, i = s->depth - 1; p && i >= 0; p = p->parent, i--) {
		sids[i] = p->id;
		agents[i] = p->agent_name;
	}
	if (p || i != -1)
		return error_resp("cannot issue a token: session '%s' has a broken lineage",
				  s->id);
	tc.host = d->hostname;
	tc.aud = aud;
	tc.iat = clock_ns(CLOCK_REALTIME) / 1000000000ull;
	tc.ttl = s->agent->m->session.token_ttl;
	tc.gen = s->generation;
	tc.cgroup = s->cgid;
	tc.sids = sids;
	tc.agents = agents;
	tc.nchain = s->depth;
	tc.att = (struct token_att){ .pid = c->pid, .uid = c->uid, .gid = c->gid, .exe = exe,
				     .exe_sha256 = hex, .start_time = start };
	err = token__sign(d->tkey, &tc, &tok, jti, &exp);
	if (err)
		return error_resp("cannot sign a token: %s", strerror(-err));
	{
		struct ev e = { .type = "token.issued" };
		struct token_extra x = { .jti = jti, .aud = aud, .iat = tc.iat, .exp = exp };

		set_session_fields(&e, s);
		e.has_process = true;
		e.pid = c->pid;
		e.uid = c->uid;
		e.comm = comm;
		e.exe = exe;
		e.extra = extra_token;
		e.extra_ctx = &x;
		emit(d, &e);
	}
	r = json_pack("{s:b, s:s, s:s, s:I}", "ok", 1, "token", tok, "jti", jti,
		      "exp", (json_int_t)exp);
	free(tok);
	return r ? r : error_resp("out of memory");
}

/* ------------------------------------------------------------------------ */
/* Adopted cgroups (docs/adopt.md)                                           */

struct adopt_extra {
	const char *cgroup;
	const char *by;
};

static void extra_adopt(struct jsonw *w, const void *ctx)
{
	const struct adopt_extra *x = ctx;

	jsonw__key_object(w, "adopted");
	jsonw__key_string(w, "cgroup", x->cgroup);
	jsonw__key_string(w, "by", x->by);
	jsonw__object_end(w);
}

/* Is a the path b, or below it? */
static bool path_within(const char *a, const char *b)
{
	size_t n = strlen(b);

	return !strncmp(a, b, n) && (!a[n] || a[n] == '/');
}

/*
 * Make the existing cgroup at path a session of agent a (by: who asked, for
 * the log). The cgroup must be on the cgroup2 mount, outside the agentguard
 * root and not above it, hold processes, and overlap no live session. Its
 * processes keep running; from now on they are judged. Files and exec rules
 * need BPF LSM: Landlock applies only to processes agentguard starts.
 * Returns the session, or NULL with the reason in why.
 */
static struct session *adopt_cgroup(struct daemon *d, struct agent *a, const char *path,
				    const char *by, char *why, size_t n)
{
	char rp[PATH_MAX];
	struct ag_session chain;
	struct session *s;
	size_t mlen = strlen(d->cg_mount);
	int level, err;

	if (!realpath(path, rp)) {
		snprintf(why, n, "cannot resolve '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (strncmp(rp, d->cg_mount, mlen) || rp[mlen] != '/') {
		snprintf(why, n, "'%s' is not a cgroup below the cgroup2 mount '%s'", rp,
			 d->cg_mount);
		return NULL;
	}
	{
		/* never the daemon's own cgroup or one above it: its log and
		 * socket would be judged by an agent's manifest */
		char self[PATH_MAX], full[PATH_MAX * 2];

		if (cgroup__of_pid(getpid(), self, sizeof(self)) == 0) {
			snprintf(full, sizeof(full), "%s%s", d->cg_mount,
				 strcmp(self, "/") ? self : "");
			if (path_within(full, rp)) {
				snprintf(why, n, "'%s' holds the agentguard daemon itself", rp);
				return NULL;
			}
		}
	}
	if (path_within(rp, d->root) || path_within(d->root, rp)) {
		snprintf(why, n, "'%s' is %s the agentguard root '%s' (start agents there with "
			 "agentguard run)", rp, path_within(rp, d->root) ? "inside" : "above",
			 d->root);
		return NULL;
	}
	{
		char procs[PATH_MAX + 16];

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", rp);
		if (access(procs, F_OK)) {
			snprintf(why, n, "'%s' is not a cgroup", rp);
			return NULL;
		}
	}
	for (struct session *o = d->sessions; o; o = o->next) {
		if (path_within(rp, o->path) || path_within(o->path, rp)) {
			snprintf(why, n, "'%s' overlaps session %s of '%s' ('%s')", rp, o->id,
				 o->agent_name, o->path);
			return NULL;
		}
	}
	if ((a->m->files.section != AG_SECTION_ABSENT || a->m->exec.section != AG_SECTION_ABSENT) &&
	    !enforcer__lsm_active(d->enf)) {
		snprintf(why, n, "agent '%s' has files or exec rules, which need BPF LSM on an "
			 "adopted cgroup (Landlock applies only to processes agentguard run "
			 "starts), and BPF LSM is not active here", a->name);
		return NULL;
	}
	if (cgroup__populated(rp) != 1) {
		snprintf(why, n, "'%s' holds no processes", rp);
		return NULL;
	}
	if (d->nsessions >= (int)d->cfg.max_sessions) {
		snprintf(why, n, "too many live sessions");
		return NULL;
	}
	level = cgroup__level(d->cg_mount, rp);
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(why, n, "out of memory");
		return NULL;
	}
	s->wd = -1;
	new_session_id(s->id);
	s->agent = a;
	s->agent_name = strdup(a->name);
	strcpy(s->generation, a->generation);
	s->mode = a->m->mode;
	s->depth = 1;
	s->lineage = calloc(1, sizeof(char *));
	s->path = strdup(rp);
	if (!s->agent_name || !s->lineage || !s->path || !(s->lineage[0] = strdup(s->id))) {
		session_free(s);
		snprintf(why, n, "out of memory");
		return NULL;
	}
	err = cgroup__id(rp, &s->cgid) ?: session_chain(NULL, a, &chain);
	if (!err) {
		s->adopted = enforcer__adopt(d->enf, rp, s->cgid, level);
		if (!s->adopted)
			err = -errno;
	}
	if (!err) {
		err = enforcer__add_session(d->enf, s->cgid, &chain);
		if (err) {
			enforcer__unadopt(d->enf, s->adopted);
			s->adopted = NULL;
		}
	}
	if (err) {
		snprintf(why, n, "cannot bring '%s' under enforcement: %s", rp, strerror(-err));
		session_free(s);
		return NULL;
	}
	d->nadopted++;
	s->hnext = d->by_cgid[s->cgid % SESSION_BUCKETS];
	d->by_cgid[s->cgid % SESSION_BUCKETS] = s;
	s->next = d->sessions;
	if (d->sessions)
		d->sessions->prev = s;
	d->sessions = s;
	d->nsessions++;
	a->nsessions++;
	{
		char wpath[PATH_MAX + 32];

		snprintf(wpath, sizeof(wpath), "%s/cgroup.events", s->path);
		s->wd = inotify_add_watch(d->infd, wpath, IN_MODIFY);
	}
	{
		struct ev e = { .type = "session.start", .decision = "allow" };
		struct adopt_extra x = { .cgroup = s->path, .by = by };

		set_session_fields(&e, s);
		e.extra = extra_adopt;
		e.extra_ctx = &x;
		emit(d, &e);
	}
	if (s->wd < 0 || cgroup__populated(s->path) == 0) {
		session_end(d, s, s->wd < 0 ? "cannot watch the session cgroup" : "cgroup empty",
			    false);
		snprintf(why, n, "the cgroup emptied while it was adopted");
		return NULL;
	}
	return s;
}

/* {"op":"adopt","agent":NAME,"cgroup":PATH}: root only. Or
 * {"op":"adopt","agent":NAME,"self":true}: the caller's own cgroup, for a
 * caller the agent's session.users/groups admit (as for run); the caller then
 * execs the agent's command in it (a systemd unit's ExecStart). */
static json_t *handle_adopt(struct daemon *d, struct client *c, json_t *req)
{
	const char *name = json_string_value(json_object_get(req, "agent"));
	const char *path = json_string_value(json_object_get(req, "cgroup"));
	bool self = json_is_true(json_object_get(req, "self"));
	char why[PATH_MAX + 256], by[96], own[PATH_MAX * 2];
	struct session *s;
	struct agent *a;

	if (!name || (!path && !self) || (path && self))
		return error_resp("malformed request: adopt needs 'agent' and one of 'cgroup' "
				  "or 'self'");
	if (!manifest__valid_name(name))
		return error_resp("malformed request: invalid agent name");
	a = agent_find(d, name);
	if (self) {
		char rel[PATH_MAX];

		if (!a)
			return error_resp("cannot adopt this cgroup as '%s': no such agent", name);
		if (!caller_allowed(c, a->m))
			return error_resp("cannot adopt this cgroup as '%s': uid %u is not in "
					  "session.users or session.groups", name, (unsigned)c->uid);
		if (cgroup__of_pid(c->pid, rel, sizeof(rel)) || !pidfd_alive(c->pidfd))
			return error_resp("cannot adopt this cgroup: cannot read the caller's cgroup");
		snprintf(own, sizeof(own), "%s%s", d->cg_mount, strcmp(rel, "/") ? rel : "");
		path = own;
		snprintf(by, sizeof(by), "agentguard adopt -- (pid %d, uid %u)", (int)c->pid,
			 (unsigned)c->uid);
	} else {
		if (c->uid != 0)
			return error_resp("cannot adopt a cgroup: only root may (uid %u)",
					  (unsigned)c->uid);
		if (!a)
			return error_resp("cannot adopt a cgroup as '%s': no such agent", name);
		snprintf(by, sizeof(by), "agentguard adopt (pid %d)", (int)c->pid);
	}
	s = adopt_cgroup(d, a, path, by, why, sizeof(why));
	if (!s)
		return error_resp("cannot adopt '%s' as '%s': %s", path, name, why);
	return json_pack("{s:b, s:s, s:s, s:s, s:I}", "ok", 1, "session", s->id, "agent", name,
			 "cgroup", s->path, "cgroup_id", (json_int_t)s->cgid);
}

/* The config's adopt entries: adopt each cgroup that exists, holds processes
 * and is not a live session yet (a unit that restarted gets a new session).
 * Called at start and about once a second. A failure is reported once per
 * entry until the entry is adopted or its cgroup is gone. */
static void adopt_configured(struct daemon *d)
{
	static bool reported[CONFIG_MAX_ADOPT];

	for (size_t i = 0; i < d->cfg.nadopt && i < CONFIG_MAX_ADOPT; i++) {
		const struct config_adopt *ca = &d->cfg.adopt[i];
		char rp[PATH_MAX], why[PATH_MAX + 256];
		struct session *o;
		struct agent *a;

		if (!realpath(ca->cgroup, rp) || cgroup__populated(rp) != 1) {
			reported[i] = false;
			continue;
		}
		for (o = d->sessions; o; o = o->next)
			if (o->adopted && !strcmp(o->path, rp))
				break;
		if (o)
			continue;
		a = agent_find(d, ca->agent);
		if (!a) {
			snprintf(why, sizeof(why), "no such agent");
		} else if (adopt_cgroup(d, a, rp, "config", why, sizeof(why))) {
			reported[i] = false;
			continue;
		}
		if (!reported[i]) {
			struct ev e = { .type = "session.start", .decision = "deny" };
			char msg[PATH_MAX + 512];

			snprintf(msg, sizeof(msg), "cannot adopt '%s' (config): %s", ca->cgroup, why);
			e.agent = ca->agent;
			e.extra = extra_reason;
			e.extra_ctx = msg;
			emit(d, &e);
			errmsg("%s", msg);
			reported[i] = true;
		}
	}
}

static json_t *handle_status(struct daemon *d)
{
	json_t *agents = json_array(), *sessions = json_array(), *resp;
	__u64 st[AG_STAT_MAX] = {};

	for (struct agent *a = d->agents; a; a = a->next) {
		json_array_append_new(agents, json_pack("{s:s, s:s, s:s, s:s, s:i}",
			"name", a->name, "generation", a->generation, "file", a->m->file,
			"mode", a->m->mode == AG_MODE_AUDIT ? "audit" : "enforce",
			"sessions", a->nsessions));
	}
	for (struct session *s = d->sessions; s; s = s->next) {
		json_t *lin = json_array();

		for (int i = 0; i < s->depth; i++)
			json_array_append_new(lin, json_string(s->lineage[i]));
		json_array_append_new(sessions, json_pack("{s:s, s:s, s:s, s:I, s:o, s:b}",
			"id", s->id, "agent", s->agent->name, "cgroup", s->path,
			"cgroup_id", (json_int_t)s->cgid, "lineage", lin,
			"adopted", s->adopted != NULL));
	}
	enforcer__stats(d->enf, st);
	resp = json_pack("{s:b, s:s, s:s, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
		"ok", 1, "host", d->hostname, "cgroup_root", d->root,
		"agents", agents, "sessions", sessions, "probe", probe__to_json(&d->probe),
		"counters", "decisions", (json_int_t)st[AG_STAT_DECISIONS],
		"denied", (json_int_t)st[AG_STAT_DENIED],
		"audited", (json_int_t)st[AG_STAT_AUDITED],
		"file_cache_hits", (json_int_t)st[AG_STAT_FILE_CACHED],
		"events_lost", (json_int_t)st[AG_STAT_EVENTS_LOST],
		"events_aggregated", (json_int_t)st[AG_STAT_AGGREGATED],
		"events_rate_limited", (json_int_t)st[AG_STAT_RATE_LIMITED],
		"log_entries", (json_int_t)log__size(d->log));
	if (resp && d->so) {
		struct syslog_out_stats ss;

		syslog_out__stats(d->so, &ss);
		json_object_set_new(resp, "syslog", json_pack(
			"{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
			"target", d->cfg.syslog.target,
			"format", d->cfg.syslog.format == SYSLOG_FORMAT_OCSF ? "ocsf" : "json",
			"facility", syslog_facility__name(d->cfg.syslog.facility),
			"connected", ss.connected, "sent", (json_int_t)ss.sent,
			"checkpoints_sent", (json_int_t)ss.checkpoints_sent,
			"dropped", (json_int_t)ss.dropped,
			"checkpoints_dropped", (json_int_t)ss.checkpoints_dropped,
			"queued", (json_int_t)ss.queued, "queued_bytes", (json_int_t)ss.queued_bytes,
			"connects", (json_int_t)ss.connects, "last_error", ss.last_error));
	}
	return resp;
}

static void client_close(struct daemon *d, int i)
{
	struct client *c = &d->clients[i];

	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->send_fd >= 0)
		close(c->send_fd);
	free(c->buf);
	d->nclients--;
	if (i != d->nclients) {
		d->clients[i] = d->clients[d->nclients];
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_CLIENT + i };

		epoll_ctl(d->epfd, EPOLL_CTL_MOD, d->clients[i].fd, &ev);
	}
}

/* Send a response; a client that does not take it at once is dropped. */
static bool client_send(struct client *c, json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT);
	bool ok = false;

	json_decref(resp);
	if (s && c->send_fd >= 0) {
		/* the descriptor travels with the first byte (proto.h) */
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} cbuf = {};
		struct iovec iov = { .iov_base = s, .iov_len = strlen(s) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &c->send_fd, sizeof(int));
		ok = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)iov.iov_len &&
		     send(c->fd, "\n", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1;
		close(c->send_fd);
		c->send_fd = -1;
	} else if (s) {
		size_t n = strlen(s);

		s[n] = 0;
		ok = send(c->fd, s, n, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)n &&
		     send(c->fd, "\n", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1;
	}
	free(s);
	return ok;
}

static json_t *handle_request(struct daemon *d, struct client *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, 0, &jerr), *resp;
	const char *op;

	if (!req)
		return error_resp("malformed request: %s at column %d", jerr.text, jerr.column);
	if (!json_is_object(req)) {
		json_decref(req);
		return error_resp("malformed request: expected a JSON object");
	}
	/* what the kernel reported before this request is logged before it */
	drain_events(d);
	op = json_string_value(json_object_get(req, "op"));
	if (!op)
		resp = error_resp("malformed request: 'op' must be a string");
	else if (!strcmp(op, "session.start"))
		resp = handle_session_start(d, c, req);
	else if (!strcmp(op, "status"))
		resp = handle_status(d);
	else if (!strcmp(op, "token"))
		resp = handle_token(d, c, req);
	else if (!strcmp(op, "adopt"))
		resp = handle_adopt(d, c, req);
	else
		resp = error_resp("unknown op '%.64s'", op);
	json_decref(req);
	return resp;
}

static void client_readable(struct daemon *d, int i)
{
	struct client *c = &d->clients[i];
	ssize_t n;
	char *nl;

	n = read(c->fd, c->buf + c->len, PROTO_MAX_FRAME - c->len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(d, i);
		return;
	}
	c->len += n;
	while ((nl = memchr(c->buf, '\n', c->len))) {
		size_t l = nl - c->buf;
		json_t *resp = handle_request(d, c, c->buf, l);

		memmove(c->buf, nl + 1, c->len - l - 1);
		c->len -= l + 1;
		c->deadline_ms = d->now_ms + CLIENT_TIMEOUT_MS;
		if (!client_send(c, resp)) {
			client_close(d, i);
			return;
		}
	}
	if (c->len == PROTO_MAX_FRAME) {
		client_send(c, error_resp("request too large (limit %d bytes)", PROTO_MAX_FRAME));
		client_close(d, i);
	}
}

static void accept_clients(struct daemon *d)
{
	for (;;) {
		struct ucred cr;
		socklen_t sl = sizeof(cr);
		int fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (fd < 0)
			return;
		if (d->nclients == MAX_CLIENTS ||
		    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &sl) < 0) {
			static const char busy[] = "{\"ok\":false,\"error\":\"too many clients\"}\n";

			/* best effort: the client learns why, or sees EOF */
			(void)!send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		c = &d->clients[d->nclients];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->pid = cr.pid;
		c->uid = cr.uid;
		c->gid = cr.gid;
		{
			/* the groups the kernel holds for the peer: not what
			 * /etc/group says its user name is in */
			socklen_t gl = sizeof(c->groups);

			if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &gl) == 0)
				c->ngroups = gl / sizeof(gid_t);
		}
		c->buf = malloc(PROTO_MAX_FRAME);
		/* Pin the peer's identity now: SO_PEERPIDFD (Linux 6.5), else
		 * pidfd_open. A pid reused later cannot pass for it. */
		{
			int pfd = -1;
			socklen_t pl = sizeof(pfd);

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
			if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pfd, &pl) < 0)
				pfd = syscall(SYS_pidfd_open, cr.pid, 0);
			c->pidfd = pfd;
			c->send_fd = -1;
		}
		if (!c->buf) {
			close(fd);
			if (c->pidfd >= 0)
				close(c->pidfd);
			continue;
		}
		c->deadline_ms = d->now_ms + CLIENT_TIMEOUT_MS;
		{
			struct epoll_event ev = { .events = EPOLLIN,
						  .data.u64 = TAG_CLIENT + d->nclients };

			epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
		}
		d->nclients++;
	}
}

/* An event of the manifest directory's watch: reload once the directory has
 * been quiet for MANIFESTS_SETTLE_MS, so that a file written in several
 * pieces, or a set of files changed together, is read whole and once.
 * Only *.yaml names (and the directory itself, e.g. a ConfigMap's `..data`
 * swap) count. The directory gone or moved: say so, keep what is loaded. */
#define MANIFESTS_SETTLE_MS	200

static void manifests_changed(struct daemon *d, const struct inotify_event *ie)
{
	size_t n = ie->len ? strlen(ie->name) : 0;

	if (ie->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
		if (ie->mask & IN_IGNORED) {
			d->manifests_wd = -1;
			errmsg("warning: '%s' is gone: no longer watched (reload with SIGHUP)",
			       d->cfg.manifests);
		}
		return;
	}
	if (n && !(ie->mask & IN_ISDIR) && !(n > 5 && !strcmp(ie->name + n - 5, ".yaml")) &&
	    ie->name[0] != '.')
		return;	/* an editor's swap file, a README, ... */
	d->reload_at_ms = d->now_ms + MANIFESTS_SETTLE_MS;
}

/* ------------------------------------------------------------------------ */
/* Set-up                                                                    */

static int listen_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	if (strrchr(dir, '/')) {
		*strrchr(dir, '/') = 0;
		if (dir[0] && cgroup__mkdir_p(dir))
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a live daemon answers; a stale socket file does not */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 128) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void epoll_add(struct daemon *d, int fd, __u64 tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Sessions left by a daemon that did not stop cleanly: their processes ran
 * unsupervised, so they are ended (killed) and logged, and their cgroups
 * removed. */
static void clean_leftovers(struct daemon *d)
{
	char p[PATH_MAX * 2];
	struct dirent *de;
	DIR *dir = opendir(d->root);

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", d->root, de->d_name);
		if (cgroup__populated(p) == 1) {
			struct ev e = { .type = "session.end", .agent = de->d_name };

			e.extra = extra_reason;
			e.extra_ctx = "left by a previous daemon";
			emit(d, &e);
			cgroup__kill(p);
		}
		for (int i = 0; i < 100 && cgroup__rmdir_tree(p) == -EBUSY; i++)
			usleep(10000);
	}
	closedir(dir);
}

static void extra_recovered(struct jsonw *w, const void *ctx)
{
	const struct log_open_info *li = ctx;
	char why[160];

	snprintf(why, sizeof(why), "torn tail of %llu bytes removed",
		 (unsigned long long)li->dropped_bytes);
	jsonw__key_string(w, "reason", why);
	jsonw__key_object(w, "recovery");
	jsonw__key_uint(w, "dropped_bytes", li->dropped_bytes);
	jsonw__key_uint(w, "dropped_lines", li->dropped_lines);
	jsonw__key_uint(w, "leaves_repaired", li->leaves_repaired);
	jsonw__key_uint(w, "leaves_dropped", li->leaves_dropped);
	jsonw__key_uint(w, "checkpoints_dropped_bytes", li->checkpoints_dropped_bytes);
	jsonw__key_bool(w, "checkpoint_restored", li->checkpoint_restored);
	jsonw__object_end(w);
}

static void extra_start(struct jsonw *w, const void *ctx)
{
	const struct daemon *d = ctx;

	jsonw__key_object(w, "daemon");
	jsonw__key_string(w, "version", AG_VERSION);
	jsonw__key_string(w, "cgroup_root", d->root);
	probe__write(&d->probe, w);
	jsonw__object_end(w);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: agentguard daemon [--config FILE] [--manifests DIR] [--state-dir DIR]\n"
"                         [--socket PATH] [--cgroup-root PATH]\n"
"\n"
"Loads the eBPF programs, compiles every manifest DIR/*.yaml into BPF maps,\n"
"serves the session socket and writes the signed event log under the state\n"
"directory. Prints 'ready' on stdout once enforcement is active.\n"
"SIGTERM or SIGINT stops it (live sessions are ended); SIGHUP reloads manifests.\n"
"\n"
"  --config FILE       YAML configuration (docs/manifest.md); flags override it\n"
"  --manifests DIR     manifest directory (default /etc/agentguard/agents.d)\n"
"  --state-dir DIR     log and keys (default /var/lib/agentguard)\n"
"  --socket PATH       unix socket (default /run/agentguard/agentguard.sock)\n"
"  --cgroup-root PATH  session cgroup root (default <cgroup2 mount>/agentguard)\n");
}

static void shutdown_all(struct daemon *d, const char *why)
{
	while (d->sessions) {
		struct session *s = d->sessions;

		while (s->parent)
			s = s->parent;
		session_end(d, s, why, true);
	}
}

int cmd_daemon(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "manifests", required_argument, NULL, 'm' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "cgroup-root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *o_manifests = NULL, *o_state = NULL, *o_socket = NULL, *o_root = NULL;
	const char *o_config = NULL;
	struct daemon *d;
	struct log_open_info li = {};
	int opt, err, status = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': o_config = optarg; break;
		case 'm': o_manifests = optarg; break;
		case 's': o_state = optarg; break;
		case 'S': o_socket = optarg; break;
		case 'r': o_root = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		errmsg("unexpected argument '%s'", argv[optind]);
		return 2;
	}

	d = calloc(1, sizeof(*d));
	if (!d) {
		errmsg("out of memory");
		return 1;
	}
	d->epfd = d->lfd = d->sigfd = d->tfd = d->infd = d->rootlock = -1;
	d->next_policy_id = 1;
	config__defaults(&d->cfg);
	if (o_config) {
		struct diag_list dl = {};

		if (config__parse_file(o_config, &d->cfg, &dl)) {
			diag_list__print(&dl, stderr);
			diag_list__free(&dl);
			errmsg("cannot load config '%s'", o_config);
			return 1;
		}
	}
	if (o_manifests)
		config__set_str(&d->cfg.manifests, o_manifests);
	if (o_state)
		config__set_str(&d->cfg.state_dir, o_state);
	if (o_socket)
		config__set_str(&d->cfg.socket, o_socket);
	if (o_root)
		config__set_str(&d->cfg.cgroup_root, o_root);

	if (gethostname(d->hostname, sizeof(d->hostname) - 1) < 0)
		strcpy(d->hostname, "localhost");
	update_clock(d);

	err = cgroup__find_mount(d->cg_mount, sizeof(d->cg_mount));
	if (err) {
		errmsg("cannot find the cgroup2 mount in /proc/self/mountinfo: %s", strerror(-err));
		goto out;
	}
	if (d->cfg.cgroup_root && d->cfg.cgroup_root[0])
		snprintf(d->root, sizeof(d->root), "%s", d->cfg.cgroup_root);
	else
		if (snprintf(d->root, sizeof(d->root), "%s/agentguard", d->cg_mount) >=
		    (int)sizeof(d->root)) {
			errmsg("cgroup2 mount path '%s' is too long", d->cg_mount);
			goto out;
		}
	while (strlen(d->root) > 1 && d->root[strlen(d->root) - 1] == '/')
		d->root[strlen(d->root) - 1] = 0;
	if (cgroup__level(d->cg_mount, d->root) < 1) {
		errmsg("cgroup root '%s' must be a directory below the cgroup2 mount '%s'",
		       d->root, d->cg_mount);
		goto out;
	}
	err = cgroup__mkdir_p(d->root);
	if (err) {
		errmsg("cannot create cgroup root '%s': %s", d->root, strerror(-err));
		goto out;
	}
	/* One daemon per root: a second one must not touch the first's sessions. */
	d->rootlock = open(d->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->rootlock < 0 || flock(d->rootlock, LOCK_EX | LOCK_NB) < 0) {
		errmsg("cgroup root '%s' is in use by another daemon", d->root);
		goto out;
	}
	d->lfd = listen_socket(d->cfg.socket);
	if (d->lfd < 0) {
		errmsg("cannot listen on '%s': %s", d->cfg.socket,
		       d->lfd == -EADDRINUSE ? "another daemon is serving it" : strerror(-d->lfd));
		goto out;
	}

	err = cgroup__mkdir_p(d->cfg.state_dir);
	if (err) {
		errmsg("cannot create state dir '%s': %s", d->cfg.state_dir, strerror(-err));
		goto out;
	}
	d->log = log__open(d->cfg.state_dir, d->hostname, &li);
	if (!d->log) {
		errmsg("cannot open the log in '%s': %s", d->cfg.state_dir,
		       li.error[0] ? li.error : strerror(errno));
		goto out;
	}
	log__set_rotate_bytes(d->log, d->cfg.log_rotate_bytes);
	err = log__set_retention(d->log, d->cfg.log_retain_files, d->cfg.log_archive_dir);
	if (err) {
		errmsg("cannot use the log archive directory '%s': %s",
		       d->cfg.log_archive_dir ? d->cfg.log_archive_dir : "", strerror(-err));
		goto out;
	}
	if (d->cfg.syslog.target) {
		struct syslog_out_opts so = {
			.target = d->cfg.syslog.target, .facility = d->cfg.syslog.facility,
			.format = d->cfg.syslog.format, .entries = d->cfg.syslog.entries,
			.checkpoints = d->cfg.syslog.checkpoints,
			.queue_bytes = d->cfg.syslog.queue_bytes,
			.hostname = d->hostname, .origin = log__origin(d->log),
		};

		d->so = syslog_out__open(&so);
		if (!d->so) {
			errmsg("cannot start the syslog output to '%s': %s", so.target,
			       strerror(errno));
			goto out;
		}
	}
	jsonw__init(&d->jw, 0);
	{
		char why[TOKEN_WHY_MAX];

		d->tkey = token_key__open(d->cfg.state_dir, NULL, why, sizeof(why));
		if (!d->tkey) {
			errmsg("cannot load the token key: %s", why);
			goto out;
		}
		d->exes = exe_cache__new(0);
		if (!d->exes) {
			errmsg("out of memory");
			goto out;
		}
	}

	{
		struct enforcer_opts eo = {
			.root_path = d->root, .cgroup_mount = d->cg_mount,
			.ringbuf_bytes = d->cfg.ringbuf_bytes,
			.max_sessions = d->cfg.max_sessions,
			.max_net_rules = d->cfg.max_net_rules,
			.log_allowed_files = d->cfg.log_allowed_file_opens,
			.agg_window_ms = d->cfg.aggregate_window_ms,
			.rate_per_sec = d->cfg.session_event_rate,
			.rate_burst = d->cfg.session_event_burst,
			.on_event = on_event, .ctx = d,
		};

		d->enf = enforcer__open(&eo);
		if (!d->enf) {
			errmsg("cannot load the BPF programs: %s", strerror(errno));
			goto out;
		}
	}
	/* Files and exec where BPF LSM is not active: Landlock enforces, the
	 * fallback programs report (docs/fallback.md). */
	d->ll_abi = landlock__abi();
	if (!enforcer__lsm_active(d->enf)) {
		struct fallback_opts fo = {
			.root_path = d->root, .cgroup_mount = d->cg_mount,
			.events_fd = enforcer__map_fd(d->enf, "events"),
			.stats_fd = enforcer__map_fd(d->enf, "stats"),
			.procs_fd = enforcer__map_fd(d->enf, "procs"),
			.ringbuf_bytes = d->cfg.ringbuf_bytes,
			.max_sessions = d->cfg.max_sessions,
			.mode = d->cfg.denial_events, .hook = d->cfg.denial_hook,
		};

		d->fb = fallback__open(&fo, d->fb_error, sizeof(d->fb_error));
		if (!d->fb)
			errmsg("warning: Landlock denials will not be logged: %s", d->fb_error);
	}
	{
		struct ev e = { .type = "daemon.start" };

		probe__collect(&d->probe, d->enf, &d->cfg);

		e.extra = extra_start;
		e.extra_ctx = d;
		emit(d, &e);
	}
	if (li.dropped_bytes || li.leaves_repaired || li.leaves_dropped ||
	    li.checkpoints_dropped_bytes || li.checkpoint_restored) {
		struct ev e = { .type = "log.recovered" };

		e.extra = extra_recovered;
		e.extra_ctx = &li;
		emit(d, &e);
	}
	clean_leftovers(d);
	if (load_manifests(d)) {
		errmsg("cannot load manifests from '%s'", d->cfg.manifests);
		goto out_stop;
	}

	d->infd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	{
		sigset_t ss;

		sigemptyset(&ss);
		sigaddset(&ss, SIGTERM);
		sigaddset(&ss, SIGINT);
		sigaddset(&ss, SIGHUP);
		sigprocmask(SIG_BLOCK, &ss, NULL);
		d->sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
		signal(SIGPIPE, SIG_IGN);
	}
	if (d->infd < 0 || d->epfd < 0 || d->tfd < 0 || d->sigfd < 0) {
		errmsg("cannot set up the event loop: %s", strerror(errno));
		goto out_stop;
	}
	{
		struct itimerspec its = { .it_interval = { 0, AG_TICK_MS * 1000000 },
					  .it_value = { 0, AG_TICK_MS * 1000000 } };

		timerfd_settime(d->tfd, 0, &its, NULL);
	}
	epoll_add(d, d->lfd, TAG_LISTEN);
	epoll_add(d, d->sigfd, TAG_SIGNAL);
	epoll_add(d, d->tfd, TAG_TIMER);
	epoll_add(d, d->infd, TAG_INOTIFY);
	epoll_add(d, enforcer__ringbuf_fd(d->enf), TAG_RINGBUF);
	d->manifests_wd = -1;
	if (d->cfg.watch_manifests) {
		/* Every change of a name in the directory, including the atomic
		 * rename editors and ConfigMap volumes (`..data`) use. */
		d->manifests_wd = inotify_add_watch(d->infd, d->cfg.manifests,
						    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
						    IN_DELETE | IN_CREATE | IN_ATTRIB |
						    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
		if (d->manifests_wd < 0)
			errmsg("warning: cannot watch '%s' (%s): reload with SIGHUP",
			       d->cfg.manifests, strerror(errno));
	}
	adopt_configured(d);
	d->adopt_scan_ms = d->now_ms;
	commit(d);

	printf("ready\n");
	fflush(stdout);

	while (!d->stop) {
		struct epoll_event evs[64];
		int n = epoll_wait(d->epfd, evs, 64, d->drain_more ? 0 : 1000);

		if (n < 0 && errno != EINTR)
			break;
		update_clock(d);
		if (d->drain_more)
			drain_events(d);
		for (int i = 0; i < n && !d->stop; i++) {
			__u64 tag = evs[i].data.u64;

			if (tag == TAG_LISTEN) {
				accept_clients(d);
			} else if (tag == TAG_SIGNAL) {
				struct signalfd_siginfo si;

				while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						d->reload = true;
					else
						d->stop = true;
				}
			} else if (tag == TAG_TIMER) {
				__u64 exp;

				(void)!read(d->tfd, &exp, sizeof(exp));
				drain_events(d);
				fallback__tick(d->fb);
			} else if (tag == TAG_RINGBUF) {
				drain_events(d);
			} else if (tag == TAG_INOTIFY) {
				char buf[4096] __attribute__((aligned(8)));
				ssize_t len;

				while ((len = read(d->infd, buf, sizeof(buf))) > 0) {
					for (char *p = buf; p < buf + len;) {
						struct inotify_event *ie = (void *)p;
						struct session *s;

						p += sizeof(*ie) + ie->len;
						if (ie->wd == d->manifests_wd && d->manifests_wd >= 0) {
							manifests_changed(d, ie);
							continue;
						}
						s = session_by_wd(d, ie->wd);
						if (s && cgroup__populated(s->path) == 0)
							session_end(d, s, "cgroup empty", false);
					}
				}
			} else if (tag >= TAG_CLIENT && tag < TAG_CLIENT + MAX_CLIENTS) {
				int ci = tag - TAG_CLIENT;

				if (ci < d->nclients)
					client_readable(d, ci);
			}
		}
		if (d->reload_at_ms && d->now_ms >= d->reload_at_ms) {
			d->reload_at_ms = 0;
			d->reload = true;
		}
		if (d->reload) {
			d->reload = false;
			drain_events(d);
			load_manifests(d);
		}
		/* clients that stall are dropped */
		for (int i = d->nclients - 1; i >= 0; i--)
			if (d->clients[i].deadline_ms < d->now_ms)
				client_close(d, i);
		if (d->now_ms - d->last_commit_ms >= d->cfg.checkpoint_interval_ms) {
			commit(d);
			retention(d);
			purge_dead(d, false);
		}
		if (d->cfg.nadopt && d->now_ms - d->adopt_scan_ms >= ADOPT_SCAN_MS) {
			d->adopt_scan_ms = d->now_ms;
			adopt_configured(d);
		}
	}

out_stop:
	if (d->lfd >= 0) {
		close(d->lfd);
		unlink(d->cfg.socket);
		d->lfd = -1;
	}
	if (d->enf) {
		drain_events(d);
		shutdown_all(d, "daemon stopped");
		flush_aggregates(d, 0);
		drain_events(d);
		report_losses(d);
	}
	if (d->log && !d->log_failed) {
		struct ev e = { .type = "daemon.stop" };

		emit(d, &e);
		commit(d);
		status = d->log_failed ? 1 : 0;
	}
out:
	if (d->lfd >= 0) {
		close(d->lfd);
		unlink(d->cfg.socket);
	}
	while (d->nclients)
		client_close(d, 0);
	fallback__destroy(d->fb);
	enforcer__destroy(d->enf);
	if (d->so) {
		struct syslog_out_stats st;

		/* what is sealed goes out (for a while); the rest is counted */
		syslog_out__close(d->so, SYSLOG_CLOSE_MS, &st);
		if (st.dropped > d->so_dropped || st.checkpoints_dropped > d->so_cp_dropped)
			errmsg("syslog: %llu entries and %llu checkpoints not sent to '%s'",
			       (unsigned long long)(st.dropped - d->so_dropped),
			       (unsigned long long)(st.checkpoints_dropped - d->so_cp_dropped),
			       d->cfg.syslog.target);
	}
	if (d->log)
		log__close(d->log);
	jsonw__free(&d->jw);
	token_key__free(d->tkey);
	exe_cache__free(d->exes);
	for (struct agent *a = d->agents, *n; a; a = n) {
		n = a->next;
		compiled_policy__free(&a->cp);
		free(a->name);
		free(a);
	}
	manifest_set__free(d->set);
	purge_dead(d, true);
	for (int i = 0; i < PROC_BUCKETS; i++)
		while (d->procs[i])
			proc_del(d, d->procs[i]->pid);
	if (d->epfd >= 0) close(d->epfd);
	if (d->sigfd >= 0) close(d->sigfd);
	if (d->tfd >= 0) close(d->tfd);
	if (d->infd >= 0) close(d->infd);
	if (d->rootlock >= 0) {
		cgroup__rmdir_tree(d->root);	/* only what we own: we hold its lock */
		close(d->rootlock);
	}
	config__free(&d->cfg);
	free(d);
	return status;
}
