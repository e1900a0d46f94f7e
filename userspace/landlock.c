/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * landlock.c: Landlock plans for the files and exec sections (landlock.h).
 *
 * The files rules are put in a trie of path components. Each node gets:
 *
 *   gen   the level (none, read, read-write) of a path below it that no rule
 *         below it names: the tree rules covering the node, else the default;
 *   ex    the level of the node's own path (its exact rules too);
 *   below the lowest and highest level of any path strictly below it,
 *         generic or named by a rule (what a Landlock rule on the node would
 *         grant to), and the same for directories only (READ_DIR).
 *
 * A rule on a directory can carry a right only if every path below it may
 * have it (lowest level); the walk stops where nothing below needs more
 * (highest level). Where generic entries need more than can be granted on
 * the directory, the directory is carved: its entries are listed and
 * granted one by one.
 */
#include "landlock.h"
#include "manifest.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/openat2.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#define LL_CREATE_RULESET_VERSION	(1U << 0)
#define LL_RULE_PATH_BENEATH		1

struct ll_path_beneath {
	__u64 allowed_access;
	__s32 parent_fd;
} __attribute__((packed));

enum { L_NONE = 0, L_R = 1, L_RW = 2 };

/* A rule that decided something: kind 0 is none. */
struct src {
	__u8 kind;		/* AG_RULE_FILES_* */
	__u16 idx;
};

/* The first (lowest index) rule of each kind. */
struct cov {
	struct src deny, write, read;
};

enum { ST_UNKNOWN, ST_DIR, ST_FILE, ST_LINK, ST_MISSING };

struct node {
	char *path;		/* "/" or without trailing '/' */
	const char *name;	/* last component, inside path */
	struct node **kids;	/* sorted by name */
	size_t nkids, capkids;
	struct cov tree, exact;	/* rules at this node */
	bool has_rules;
	bool synthetic;		/* a hard link of a denied file */
	int st;
	__u32 kdev;
	__u64 ino;
	unsigned long nlink;
	dev_t dev;
	/* computed */
	int gen, ex;
	struct src gen_src, ex_src;
	int below_min, below_max, dirs_min, dirs_max;
	struct src below_src, dirs_src;
};

struct ctx {
	const struct manifest *m;
	struct ll_plan *p;
	bool default_allow;
	__u64 handled_files;
	struct node *root;
	char *err;
	size_t errlen;
	int fail;		/* first error, -errno */
	size_t cap_rules, cap_carves, cap_notes;
	size_t link_budget;
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static void seterr(struct ctx *x, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(struct ctx *x, int err, const char *fmt, ...)
{
	va_list ap;

	if (x->fail)
		return;
	x->fail = err;
	va_start(ap, fmt);
	vsnprintf(x->err, x->errlen, fmt, ap);
	va_end(ap);
}

static void note(struct ctx *x, bool weaker, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(struct ctx *x, bool weaker, const char *fmt, ...)
{
	struct ll_plan *p = x->p;
	va_list ap;
	char *s;

	if (weaker)
		p->weaker = true;
	if (p->nnotes >= LL_MAX_NOTES) {
		p->notes_dropped++;
		return;
	}
	if (p->nnotes == x->cap_notes) {
		size_t n = x->cap_notes ? 2 * x->cap_notes : 8;
		char **v = realloc(p->notes, n * sizeof(*v));

		if (!v) {
			seterr(x, -ENOMEM, "out of memory");
			return;
		}
		p->notes = v;
		x->cap_notes = n;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		seterr(x, -ENOMEM, "out of memory");
		return;
	}
	p->notes[p->nnotes++] = s;
}

static const char *kind_list(__u8 kind)
{
	switch (kind) {
	case AG_RULE_FILES_READ: return "files.read";
	case AG_RULE_FILES_WRITE: return "files.write";
	case AG_RULE_FILES_DENY: return "files.deny";
	case AG_RULE_EXEC_ALLOW: return "exec.allow";
	case AG_RULE_FILES_DEFAULT: return "files.default";
	case AG_RULE_EXEC_DEFAULT: return "exec.default";
	default: return "unrestricted";
	}
}

/* "files.deny[3]" or "files.default" */
static char *src_name(struct src s, char *buf, size_t len)
{
	if (s.kind == AG_RULE_FILES_DEFAULT || s.kind == AG_RULE_EXEC_DEFAULT ||
	    s.kind == AG_RULE_UNRESTRICTED || !s.kind)
		snprintf(buf, len, "%s", kind_list(s.kind));
	else
		snprintf(buf, len, "%s[%u]", kind_list(s.kind), s.idx);
	return buf;
}

static const struct manifest_path *src_path(const struct manifest *m, struct src s)
{
	const struct manifest_path_list *l;

	switch (s.kind) {
	case AG_RULE_FILES_READ: l = &m->files.read; break;
	case AG_RULE_FILES_WRITE: l = &m->files.write; break;
	case AG_RULE_FILES_DENY: l = &m->files.deny; break;
	case AG_RULE_EXEC_ALLOW: l = &m->exec.allow; break;
	default: return NULL;
	}
	return s.idx < l->n ? &l->v[s.idx] : NULL;
}

static struct src src_min(struct src a, struct src b)
{
	if (!a.kind)
		return b;
	if (!b.kind)
		return a;
	return b.idx < a.idx ? b : a;
}

static void cov_merge(struct cov *c, const struct cov *o)
{
	c->deny = src_min(c->deny, o->deny);
	c->write = src_min(c->write, o->write);
	c->read = src_min(c->read, o->read);
}

static int eval(const struct cov *c, bool default_allow, struct src *why)
{
	if (c->deny.kind) {
		*why = c->deny;
		return L_NONE;
	}
	if (c->write.kind) {
		*why = c->write;
		return L_RW;
	}
	if (c->read.kind) {
		*why = c->read;
		return L_R;
	}
	why->kind = AG_RULE_FILES_DEFAULT;
	why->idx = 0;
	return default_allow ? L_RW : L_NONE;
}

static __u64 dir_rights(int lv)
{
	return lv == L_RW ? LL_FILES_ALL : lv == L_R ? LL_R_FILE | LL_R_DIR : 0;
}

static __u64 file_rights(int lv)
{
	return lv == L_RW ? LL_R_FILE | LL_W_FILE : lv == L_R ? LL_R_FILE : 0;
}

/* is a an ancestor of, or equal to, b (both normalised paths)? */
static bool path_covers(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (n == 1 && a[0] == '/')
		return true;
	return !strncmp(a, b, n) && (b[n] == '/' || b[n] == 0);
}

/* Kernel dev_t as the BPF side sees it in super_block.s_dev. */
static __u32 kdev_of(dev_t d)
{
	return (major(d) << 20) | minor(d);
}

int landlock__normalize(const char *in, char *out, size_t len)
{
	size_t o = 0;
	const char *s = in;

	if (!in || in[0] != '/')
		return -EINVAL;
	if (len < 2)
		return -ENAMETOOLONG;
	out[o++] = '/';
	while (*s) {
		const char *c;
		size_t n;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		c = s;
		while (*s && *s != '/')
			s++;
		n = s - c;
		if (n == 1 && c[0] == '.')
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;	/* the slash before the removed component */
			continue;
		}
		if (o > 1) {
			if (o + 1 >= len)
				return -ENAMETOOLONG;
			out[o++] = '/';
		}
		if (o + n >= len)
			return -ENAMETOOLONG;
		memcpy(out + o, c, n);
		o += n;
	}
	out[o] = 0;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Decisions (pure)                                                          */

static bool rule_matches(const struct manifest_path *r, const char *q)
{
	size_t n = strlen(r->path);

	if (!r->tree)
		return !strcmp(r->path, q);
	if (n == 1)
		return true;	/* "/" */
	/* "/srv/data/" covers "/srv/data" and everything below it */
	return !strncmp(r->path, q, n - 1) && (q[n - 1] == '/' || q[n - 1] == 0);
}

static int first_match(const struct manifest_path_list *l, const char *q)
{
	for (size_t i = 0; i < l->n; i++)
		if (rule_matches(&l->v[i], q))
			return (int)i;
	return -1;
}

void landlock__judge_file(const struct manifest *m, const char *path, bool write,
			  struct ll_verdict *v)
{
	int i;

	v->idx = 0;
	if (m->files.section == AG_SECTION_ABSENT) {
		v->allow = true;
		v->kind = AG_RULE_UNRESTRICTED;
		return;
	}
	if ((i = first_match(&m->files.deny, path)) >= 0) {
		v->allow = false;
		v->kind = AG_RULE_FILES_DENY;
		v->idx = i;
		return;
	}
	if ((i = first_match(&m->files.write, path)) >= 0) {
		v->allow = true;
		v->kind = AG_RULE_FILES_WRITE;
		v->idx = i;
		return;
	}
	if ((i = first_match(&m->files.read, path)) >= 0) {
		v->allow = !write;
		v->kind = AG_RULE_FILES_READ;
		v->idx = i;
		return;
	}
	v->allow = m->files.section == AG_SECTION_ALLOW;
	v->kind = AG_RULE_FILES_DEFAULT;
}

void landlock__judge_exec(const struct manifest *m, const char *path, struct ll_verdict *v)
{
	int i;

	v->idx = 0;
	if (m->exec.section == AG_SECTION_ABSENT) {
		v->allow = true;
		v->kind = AG_RULE_UNRESTRICTED;
		return;
	}
	if ((i = first_match(&m->exec.allow, path)) >= 0) {
		v->allow = true;
		v->kind = AG_RULE_EXEC_ALLOW;
		v->idx = i;
		return;
	}
	v->allow = m->exec.section == AG_SECTION_ALLOW;
	v->kind = AG_RULE_EXEC_DEFAULT;
}

char *landlock__rule_name(const struct ll_verdict *v, char *buf, size_t len)
{
	struct src s = { .kind = v->kind, .idx = v->idx };

	return src_name(s, buf, len);
}

char *landlock__access_str(__u64 access, char *buf, size_t len)
{
	static const char *const names[] = {
		"execute", "write_file", "read_file", "read_dir", "remove_dir", "remove_file",
		"make_char", "make_dir", "make_reg", "make_sock", "make_fifo", "make_block",
		"make_sym", "refer", "truncate",
	};
	size_t o = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(access & (1ULL << i)))
			continue;
		int n = snprintf(buf + o, len - o, "%s%s", o ? "," : "", names[i]);

		if (n < 0 || (size_t)n >= len - o)
			break;
		o += n;
	}
	return buf;
}

/* ------------------------------------------------------------------------ */
/* The trie                                                                  */

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->path);
	free(n);
}

static struct node *node_new(const char *path, size_t len)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->path = strndup(path, len);
	if (!n->path) {
		free(n);
		return NULL;
	}
	n->name = strrchr(n->path, '/') + 1;
	return n;
}

/* index of the kid named name[0..len), or where it goes (*found false) */
static size_t kid_find(const struct node *n, const char *name, size_t len, bool *found)
{
	size_t lo = 0, hi = n->nkids;

	*found = false;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *k = n->kids[mid]->name;
		size_t kl = strlen(k);
		int c = memcmp(k, name, kl < len ? kl : len);

		if (!c)
			c = kl < len ? -1 : kl > len ? 1 : 0;
		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The node of normalised path `path`, created with its ancestors. */
static struct node *trie_get(struct node *root, const char *path)
{
	struct node *n = root;
	const char *s = path;

	while (*s) {
		const char *c;
		size_t len, at;
		bool found;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		c = s;
		while (*s && *s != '/')
			s++;
		len = s - c;
		at = kid_find(n, c, len, &found);
		if (!found) {
			struct node *k;

			if (n->nkids == n->capkids) {
				size_t cap = n->capkids ? 2 * n->capkids : 4;
				struct node **v = realloc(n->kids, cap * sizeof(*v));

				if (!v)
					return NULL;
				n->kids = v;
				n->capkids = cap;
			}
			k = node_new(path, s - path);
			if (!k)
				return NULL;
			memmove(&n->kids[at + 1], &n->kids[at], (n->nkids - at) * sizeof(*n->kids));
			n->kids[at] = k;
			n->nkids++;
		}
		n = n->kids[at];
	}
	return n;
}

static int trie_add(struct ctx *x, const struct manifest_path *mp, __u8 kind, __u16 idx)
{
	char norm[PATH_MAX];
	struct node *n;
	struct cov *c;
	struct src s = { .kind = kind, .idx = idx };

	if (landlock__normalize(mp->path, norm, sizeof(norm))) {
		seterr(x, -ENAMETOOLONG, "path '%s' is too long", mp->path);
		return x->fail;
	}
	n = trie_get(x->root, norm);
	if (!n) {
		seterr(x, -ENOMEM, "out of memory");
		return x->fail;
	}
	c = mp->tree ? &n->tree : &n->exact;
	if (kind == AG_RULE_FILES_DENY)
		c->deny = src_min(c->deny, s);
	else if (kind == AG_RULE_FILES_WRITE)
		c->write = src_min(c->write, s);
	else
		c->read = src_min(c->read, s);
	n->has_rules = true;
	return 0;
}

/* Filesystem state of every node: lstat, a symbolic link makes everything
 * below it vacuous (not a resolved path), a missing node makes its kids
 * missing. */
static void trie_stat(struct node *n, int parent_st)
{
	struct stat sb;

	if (parent_st == ST_LINK)
		n->st = ST_LINK;	/* cannot exist as a resolved path */
	else if (parent_st == ST_MISSING || parent_st == ST_FILE)
		n->st = ST_MISSING;	/* not now; a file may become a directory */
	else if (lstat(n->path, &sb) < 0)
		n->st = ST_MISSING;
	else if (S_ISLNK(sb.st_mode))
		n->st = ST_LINK;
	else {
		n->st = S_ISDIR(sb.st_mode) ? ST_DIR : ST_FILE;
		n->dev = sb.st_dev;
		n->kdev = kdev_of(sb.st_dev);
		n->ino = sb.st_ino;
		n->nlink = sb.st_nlink;
	}
	for (size_t i = 0; i < n->nkids; i++)
		trie_stat(n->kids[i], n->st);
}

static void lv_min(int *lv, struct src *why, int v, struct src vw)
{
	if (v < *lv) {
		*lv = v;
		*why = vw;
	}
}

/* Levels of every node, top-down (gen, ex), then bottom-up (below, dirs). */
static void trie_levels(struct ctx *x, struct node *n, const struct cov *above)
{
	struct cov c = *above, e;

	cov_merge(&c, &n->tree);
	n->gen = eval(&c, x->default_allow, &n->gen_src);
	e = c;
	cov_merge(&e, &n->exact);
	n->ex = eval(&e, x->default_allow, &n->ex_src);

	n->below_min = n->below_max = n->dirs_min = n->dirs_max = n->gen;
	n->below_src = n->dirs_src = n->gen_src;
	for (size_t i = 0; i < n->nkids; i++) {
		struct node *k = n->kids[i];

		trie_levels(x, k, &c);
		if (k->st == ST_LINK) {
			/* the link's own entry can still be removed or replaced */
			if (k->has_rules) {
				lv_min(&n->below_min, &n->below_src, k->ex, k->ex_src);
				if (k->ex > n->below_max)
					n->below_max = k->ex;
			}
			continue;
		}
		lv_min(&n->below_min, &n->below_src, k->ex, k->ex_src);
		if (k->ex > n->below_max)
			n->below_max = k->ex;
		if (k->st != ST_FILE) {
			/* a directory, or a missing path that may become one */
			lv_min(&n->dirs_min, &n->dirs_src, k->ex, k->ex_src);
			if (k->ex > n->dirs_max)
				n->dirs_max = k->ex;
		}
		if (k->st == ST_FILE && !k->nkids)
			continue;	/* nothing can be below a file */
		lv_min(&n->below_min, &n->below_src, k->below_min, k->below_src);
		if (k->below_max > n->below_max)
			n->below_max = k->below_max;
		lv_min(&n->dirs_min, &n->dirs_src, k->dirs_min, k->dirs_src);
		if (k->dirs_max > n->dirs_max)
			n->dirs_max = k->dirs_max;
	}
}

/* ------------------------------------------------------------------------ */
/* The plan                                                                  */

static void add_rule(struct ctx *x, const char *path, __u64 access, bool dir)
{
	struct ll_plan *p = x->p;

	if (!access || x->fail)
		return;
	if (p->nrules >= LL_MAX_RULES) {
		seterr(x, -E2BIG, "the plan needs more than %d Landlock rules (at '%s')",
		       LL_MAX_RULES, path);
		return;
	}
	if (p->nrules == x->cap_rules) {
		size_t n = x->cap_rules ? 2 * x->cap_rules : 64;
		struct ll_rule *v = realloc(p->rules, n * sizeof(*v));

		if (!v) {
			seterr(x, -ENOMEM, "out of memory");
			return;
		}
		p->rules = v;
		x->cap_rules = n;
	}
	p->rules[p->nrules].path = strdup(path);
	if (!p->rules[p->nrules].path) {
		seterr(x, -ENOMEM, "out of memory");
		return;
	}
	p->rules[p->nrules].access = access;
	p->rules[p->nrules].dir = dir;
	p->nrules++;
}

static void add_carve(struct ctx *x, const char *dir, struct src why)
{
	struct ll_plan *p = x->p;

	if (x->fail)
		return;
	if (p->ncarves == x->cap_carves) {
		size_t n = x->cap_carves ? 2 * x->cap_carves : 8;
		struct ll_carve *v = realloc(p->carves, n * sizeof(*v));

		if (!v) {
			seterr(x, -ENOMEM, "out of memory");
			return;
		}
		p->carves = v;
		x->cap_carves = n;
	}
	p->carves[p->ncarves].dir = strdup(dir);
	if (!p->carves[p->ncarves].dir) {
		seterr(x, -ENOMEM, "out of memory");
		return;
	}
	p->carves[p->ncarves].kind = why.kind;
	p->carves[p->ncarves].idx = why.idx;
	p->ncarves++;
}

/* Notes for the read and write rules at n and below that cannot be granted
 * (`why` says why). */
static void note_rules_below(struct ctx *x, const struct node *n, const char *why)
{
	char name[64];
	const struct src s[] = { n->tree.read, n->tree.write, n->exact.read, n->exact.write,
				 n->tree.deny, n->exact.deny };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		const struct manifest_path *mp = src_path(x->m, s[i]);

		if (!s[i].kind || !mp || (s[i].kind == AG_RULE_FILES_DENY && n->st != ST_LINK))
			continue;
		note(x, false, "%s '%s' %s", src_name(s[i], name, sizeof(name)), mp->path, why);
	}
	for (size_t i = 0; i < n->nkids; i++)
		note_rules_below(x, n->kids[i], why);
}

static __u64 node_grant(const struct node *n)
{
	__u64 g = 0;
	int dmin = n->ex < n->dirs_min ? n->ex : n->dirs_min;

	if (n->below_min >= L_R)
		g |= LL_R_FILE;
	if (n->below_min == L_RW)
		g |= LL_W_FILE | LL_W_DIR;
	if (dmin >= L_R)
		g |= LL_R_DIR;
	return g;
}

static __u64 node_need(const struct node *n)
{
	__u64 g = 0;
	int dmax = n->ex > n->dirs_max ? n->ex : n->dirs_max;

	if (n->below_max >= L_R)
		g |= LL_R_FILE;
	if (n->below_max == L_RW)
		g |= LL_W_FILE | LL_W_DIR;
	if (dmax >= L_R)
		g |= LL_R_DIR;
	return g;
}

static void visit(struct ctx *x, struct node *n, __u64 have);

/* Grant every entry of directory n one by one (n's trie kids are visited
 * on their own). */
static void carve(struct ctx *x, struct node *n, __u64 have)
{
	char path[PATH_MAX], name[64];
	struct src why = n->below_min < n->gen ? n->below_src : n->dirs_src;
	const struct manifest_path *mp = src_path(x->m, why);
	size_t count = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = open(n->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		note(x, false, "'%s' cannot be listed (%s): nothing below it is granted",
		     n->path, strerror(errno));
		return;
	}
	add_carve(x, n->path, why);
	while (!x->fail && (de = readdir(d))) {
		struct stat sb;
		bool found;
		__u64 g;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (++count > LL_MAX_DIR_ENTRIES) {
			seterr(x, -E2BIG, "directory '%s' has more than %d entries to carve out",
			       n->path, LL_MAX_DIR_ENTRIES);
			break;
		}
		x->p->entries_read++;
		kid_find(n, de->d_name, strlen(de->d_name), &found);
		if (found)
			continue;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || S_ISLNK(sb.st_mode))
			continue;	/* gone, or a link: judged at its target */
		if (snprintf(path, sizeof(path), "%s/%s", strcmp(n->path, "/") ? n->path : "",
			     de->d_name) >= (int)sizeof(path))
			continue;
		if (S_ISDIR(sb.st_mode))
			g = dir_rights(n->gen);
		else
			g = file_rights(n->gen);
		add_rule(x, path, g & x->handled_files & ~have, S_ISDIR(sb.st_mode));
	}
	closedir(d);
	note(x, false, "'%s' carved out for %s%s%s%s: its entries (%zu) are granted one by one; "
	     "entries created in it later get no more than its parent directories grant",
	     n->path, src_name(why, name, sizeof(name)), mp ? " '" : "", mp ? mp->path : "",
	     mp ? "'" : "", count);
}

static void visit(struct ctx *x, struct node *n, __u64 have)
{
	__u64 g, need;

	if (x->fail)
		return;
	switch (n->st) {
	case ST_LINK:
		note_rules_below(x, n, "goes through a symbolic link: rules name resolved paths, "
				 "so it matches nothing here; not granted");
		return;
	case ST_MISSING:
		note_rules_below(x, n, "does not exist at session start: not granted");
		return;
	case ST_FILE:
		add_rule(x, n->path, file_rights(n->ex) & x->handled_files & ~have, false);
		return;
	default:
		break;
	}
	g = node_grant(n) & x->handled_files & ~have;
	add_rule(x, n->path, g, true);
	have |= g;
	need = node_need(n) & x->handled_files & ~have;
	if (!need)
		return;
	if (dir_rights(n->gen) & x->handled_files & ~have)
		carve(x, n, have);
	for (size_t i = 0; i < n->nkids; i++)
		visit(x, n->kids[i], have);
}

/* Hard links of denied files: search the granted trees on the same
 * filesystem for other names of the inode; each found becomes a deny node. */
struct link_search {
	struct ctx *x;
	const struct node *target;
	struct src why;
	size_t found;
	bool exhausted;
};

static void link_walk(struct link_search *ls, const char *dir, int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd;

	if (depth > 64 || ls->exhausted || ls->x->fail)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) && !ls->exhausted) {
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!ls->x->link_budget) {
			ls->exhausted = true;
			break;
		}
		ls->x->link_budget--;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    sb.st_dev != ls->target->dev)
			continue;	/* another filesystem cannot hold a link */
		if (snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "",
			     de->d_name) >= (int)sizeof(path))
			continue;
		if (S_ISDIR(sb.st_mode)) {
			link_walk(ls, path, depth + 1);
		} else if (S_ISREG(sb.st_mode) && sb.st_ino == ls->target->ino &&
			   strcmp(path, ls->target->path)) {
			struct node *k = trie_get(ls->x->root, path);

			if (!k) {
				seterr(ls->x, -ENOMEM, "out of memory");
				break;
			}
			struct ll_plan *p = ls->x->p;
			struct ll_link *v = realloc(p->links, (p->nlinks + 1) * sizeof(*v));

			if (!v) {
				seterr(ls->x, -ENOMEM, "out of memory");
				break;
			}
			p->links = v;
			v[p->nlinks].path = strdup(path);
			v[p->nlinks].target = strdup(ls->target->path);
			v[p->nlinks].idx = ls->why.idx;
			if (!v[p->nlinks].path || !v[p->nlinks].target) {
				free(v[p->nlinks].path);
				free(v[p->nlinks].target);
				seterr(ls->x, -ENOMEM, "out of memory");
				break;
			}
			p->nlinks++;
			k->exact.deny = src_min(k->exact.deny, ls->why);
			k->has_rules = k->synthetic = true;
			ls->found++;
			note(ls->x, false, "'%s' is a hard link of %s '%s': denied as well",
			     path, "a denied file", ls->target->path);
		}
	}
	closedir(d);
}

/* Roots of the search: the directories of tree read/write rules (and "/"
 * with files.default allow) that are not below another root. */
static void link_roots(const struct node *n, bool default_allow, const struct node **out,
		       size_t *nout, size_t cap)
{
	if (n->st != ST_DIR)
		return;
	if (n->tree.read.kind || n->tree.write.kind || (default_allow && !strcmp(n->path, "/"))) {
		if (*nout < cap)
			out[(*nout)++] = n;
		return;
	}
	for (size_t i = 0; i < n->nkids; i++)
		link_roots(n->kids[i], default_allow, out, nout, cap);
}

static void deny_nodes(struct node *n, const struct node **out, size_t *nout, size_t cap)
{
	if (n->st == ST_FILE && n->nlink > 1 && (n->exact.deny.kind || n->tree.deny.kind) &&
	    !n->synthetic && *nout < cap)
		out[(*nout)++] = n;
	for (size_t i = 0; i < n->nkids; i++)
		deny_nodes(n->kids[i], out, nout, cap);
}

static void search_links(struct ctx *x)
{
	const struct node *roots[256], *targets[64];
	size_t nroots = 0, ntargets = 0;
	char name[64];

	deny_nodes(x->root, targets, &ntargets, 64);
	if (!ntargets)
		return;
	link_roots(x->root, x->default_allow, roots, &nroots, 256);
	x->link_budget = LL_MAX_LINK_SCAN;
	for (size_t t = 0; t < ntargets && !x->fail; t++) {
		struct link_search ls = { .x = x, .target = targets[t] };

		ls.why = targets[t]->exact.deny.kind ? targets[t]->exact.deny : targets[t]->tree.deny;
		for (size_t r = 0; r < nroots && !ls.exhausted; r++)
			if (roots[r]->dev == targets[t]->dev)
				link_walk(&ls, roots[r]->path, 0);
		if (ls.found + 1 < targets[t]->nlink)
			note(x, true, "%s '%s' has %lu links and only %zu other %s found below the "
			     "granted directories%s: a link elsewhere in them would stay accessible",
			     src_name(ls.why, name, sizeof(name)), targets[t]->path,
			     targets[t]->nlink, ls.found, ls.found == 1 ? "was" : "were",
			     ls.exhausted ? " (search stopped at its limit)" : "");
	}
}

int landlock__open_regular(const char *path)
{
	char self[64];
	struct stat sb;
	int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC), fd;

	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(pfd);
		return -ENOEXEC;
	}
	/* the very inode just checked, never a device or FIFO put there since */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		fd = -errno;
	close(pfd);
	return fd;
}

/* PT_INTERP of the ELF file at path, into buf. 0, or -errno (-ENOEXEC: not
 * an ELF file or no interpreter). */
static int elf_interp(const char *path, char *buf, size_t len)
{
	unsigned char id[EI_NIDENT];
	int fd = landlock__open_regular(path);
	int err = -ENOEXEC;

	if (fd < 0)
		return fd;
	if (pread(fd, id, sizeof(id), 0) != (ssize_t)sizeof(id) || memcmp(id, ELFMAG, SELFMAG))
		goto out;
	if (id[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;

		if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
		    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 512)
			goto out;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;

			if (pread(fd, &ph, sizeof(ph), eh.e_phoff + (off_t)i * sizeof(ph)) !=
			    (ssize_t)sizeof(ph))
				goto out;
			if (ph.p_type != PT_INTERP)
				continue;
			if (ph.p_filesz < 2 || ph.p_filesz > len ||
			    pread(fd, buf, ph.p_filesz, ph.p_offset) != (ssize_t)ph.p_filesz)
				goto out;
			buf[ph.p_filesz - 1] = 0;
			err = buf[0] == '/' ? 0 : -ENOEXEC;
			goto out;
		}
	} else if (id[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;

		if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
		    eh.e_phentsize != sizeof(Elf32_Phdr) || eh.e_phnum > 512)
			goto out;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf32_Phdr ph;

			if (pread(fd, &ph, sizeof(ph), eh.e_phoff + (off_t)i * sizeof(ph)) !=
			    (ssize_t)sizeof(ph))
				goto out;
			if (ph.p_type != PT_INTERP)
				continue;
			if (ph.p_filesz < 2 || ph.p_filesz > len ||
			    pread(fd, buf, ph.p_filesz, ph.p_offset) != (ssize_t)ph.p_filesz)
				goto out;
			buf[ph.p_filesz - 1] = 0;
			err = buf[0] == '/' ? 0 : -ENOEXEC;
			goto out;
		}
	}
out:
	close(fd);
	return err;
}

static void add_interp(struct ctx *x, const char *prog, __u16 rule)
{
	char raw[PATH_MAX], real[PATH_MAX], name[64];
	struct ll_plan *p = x->p;
	struct ll_verdict v;
	struct stat sb;
	struct src s = { .kind = AG_RULE_EXEC_ALLOW, .idx = rule };

	if (elf_interp(prog, raw, sizeof(raw)))
		return;
	if (!realpath(raw, real) || stat(real, &sb) < 0 || !S_ISREG(sb.st_mode))
		return;
	for (size_t i = 0; i < p->ninterps; i++)
		if (p->interps[i].ino == sb.st_ino && p->interps[i].kdev == kdev_of(sb.st_dev))
			return;
	landlock__judge_exec(x->m, real, &v);
	if (v.allow)
		return;	/* allowed as a program anyway */
	if (p->ninterps >= LL_MAX_INTERPS) {
		seterr(x, -E2BIG, "more than %d distinct ELF interpreters", LL_MAX_INTERPS);
		return;
	}
	if (!p->ninterps) {
		p->interps = calloc(LL_MAX_INTERPS, sizeof(*p->interps));
		if (!p->interps) {
			seterr(x, -ENOMEM, "out of memory");
			return;
		}
	}
	p->interps[p->ninterps].path = strdup(real);
	if (!p->interps[p->ninterps].path) {
		seterr(x, -ENOMEM, "out of memory");
		return;
	}
	p->interps[p->ninterps].kdev = kdev_of(sb.st_dev);
	p->interps[p->ninterps].ino = sb.st_ino;
	p->interps[p->ninterps].exec_idx = rule;
	p->ninterps++;
	add_rule(x, real, LL_EXECUTE, false);
	note(x, false, "'%s' (the ELF interpreter of %s '%s') is granted execute so that allowed "
	     "programs can start; running it as a program of its own is stopped at exec",
	     real, src_name(s, name, sizeof(name)), prog);
}

/* A path to grant: its kind, without following any symbolic link. */
static int path_kind(const char *path, struct stat *sb, char *link, size_t linklen)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return ST_MISSING;
	memcpy(buf, path, n + 1);
	/* every proper prefix ending at a component must be a directory */
	for (size_t i = 1; i <= n; i++) {
		if (i < n && buf[i] != '/')
			continue;
		buf[i] = 0;
		if (lstat(buf, sb) < 0)
			return ST_MISSING;
		if (S_ISLNK(sb->st_mode)) {
			snprintf(link, linklen, "%s", buf);
			return ST_LINK;
		}
		if (i < n) {
			if (!S_ISDIR(sb->st_mode))
				return ST_MISSING;
			buf[i] = '/';
		}
	}
	if (n == 1)
		return lstat("/", sb) < 0 ? ST_MISSING : ST_DIR;
	return S_ISDIR(sb->st_mode) ? ST_DIR : ST_FILE;
}

static void plan_exec(struct ctx *x)
{
	const struct manifest_path_list *l = &x->m->exec.allow;
	char norm[PATH_MAX], link[PATH_MAX], name[64];

	for (size_t i = 0; i < l->n && !x->fail; i++) {
		struct src s = { .kind = AG_RULE_EXEC_ALLOW, .idx = i };
		struct stat sb;
		int k;

		if (landlock__normalize(l->v[i].path, norm, sizeof(norm)))
			continue;
		k = path_kind(norm, &sb, link, sizeof(link));
		src_name(s, name, sizeof(name));
		if (k == ST_MISSING) {
			note(x, false, "%s '%s' does not exist at session start: not granted",
			     name, l->v[i].path);
		} else if (k == ST_LINK) {
			note(x, false, "%s '%s' goes through the symbolic link '%s': exec paths are "
			     "resolved paths, so it matches nothing; not granted (list the target)",
			     name, l->v[i].path, link);
		} else if (!l->v[i].tree && k == ST_DIR) {
			note(x, false, "%s '%s' is a directory named without a trailing '/': "
			     "not granted", name, l->v[i].path);
		} else if (l->v[i].tree && k != ST_DIR) {
			note(x, false, "%s '%s' is not a directory: not granted", name, l->v[i].path);
		} else if (k == ST_FILE) {
			add_rule(x, norm, LL_EXECUTE, false);
			add_interp(x, norm, i);
		} else {
			DIR *d;
			struct dirent *de;
			size_t scanned = 0;

			add_rule(x, norm, LL_EXECUTE, true);
			d = opendir(norm);
			while (d && (de = readdir(d)) && scanned < LL_MAX_TREE_SCAN && !x->fail) {
				char prog[PATH_MAX];
				struct stat fsb;

				if (fstatat(dirfd(d), de->d_name, &fsb, AT_SYMLINK_NOFOLLOW) < 0 ||
				    !S_ISREG(fsb.st_mode) ||
				    snprintf(prog, sizeof(prog), "%s/%s", strcmp(norm, "/") ? norm : "",
					     de->d_name) >= (int)sizeof(prog))
					continue;
				scanned++;
				add_interp(x, prog, i);
			}
			if (d)
				closedir(d);
		}
	}
}

static int rule_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ll_rule *)a)->path, ((const struct ll_rule *)b)->path);
}

static int carve_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ll_carve *)a)->dir, ((const struct ll_carve *)b)->dir);
}

/* Sort the rules and merge those on the same path. */
static void merge_rules(struct ll_plan *p)
{
	size_t o = 0;

	if (!p->nrules)
		return;
	qsort(p->rules, p->nrules, sizeof(*p->rules), rule_cmp);
	for (size_t i = 1; i < p->nrules; i++) {
		if (!strcmp(p->rules[i].path, p->rules[o].path)) {
			p->rules[o].access |= p->rules[i].access;
			p->rules[o].dir |= p->rules[i].dir;
			free(p->rules[i].path);
		} else {
			p->rules[++o] = p->rules[i];
		}
	}
	p->nrules = o + 1;
	if (p->ncarves)
		qsort(p->carves, p->ncarves, sizeof(*p->carves), carve_cmp);
}

/* What the plan cannot give that the manifest gives, rule by rule: exact
 * directories, and programs that cannot be read. */
static void check_gaps(struct ctx *x)
{
	const struct manifest *m = x->m;
	char norm[PATH_MAX], name[64], acc[256];

	for (int kind = AG_RULE_FILES_READ; x->p->files && kind <= AG_RULE_FILES_WRITE; kind++) {
		const struct manifest_path_list *l = kind == AG_RULE_FILES_READ ? &m->files.read :
						     &m->files.write;

		for (size_t i = 0; i < l->n; i++) {
			struct src s = { .kind = kind, .idx = i };
			struct ll_verdict v;
			struct stat sb;
			__u64 want, got;

			if (landlock__normalize(l->v[i].path, norm, sizeof(norm)) ||
			    path_kind(norm, &sb, acc, sizeof(acc)) != ST_DIR || l->v[i].tree)
				continue;
			landlock__judge_file(m, norm, false, &v);
			if (!v.allow)
				continue;
			want = LL_R_DIR;
			got = landlock__granted(x->p, norm);
			if (want & ~got)
				note(x, false, "%s '%s' is a directory named without a trailing '/': "
				     "Landlock cannot grant listing a directory without what is "
				     "below it; not granted", src_name(s, name, sizeof(name)),
				     l->v[i].path);
		}
	}
	if (!x->p->files)
		return;
	for (size_t i = 0; i < m->exec.allow.n; i++) {
		struct src s = { .kind = AG_RULE_EXEC_ALLOW, .idx = i };
		struct stat sb;

		if (landlock__normalize(m->exec.allow.v[i].path, norm, sizeof(norm)) ||
		    path_kind(norm, &sb, acc, sizeof(acc)) != ST_FILE)
			continue;
		if (!(landlock__granted(x->p, norm) & LL_READ_FILE))
			note(x, false, "%s '%s' is not readable under files: it cannot be executed "
			     "(executing a file reads it)", src_name(s, name, sizeof(name)),
			     m->exec.allow.v[i].path);
	}
	for (size_t i = 0; i < x->p->ninterps; i++)
		if (!(landlock__granted(x->p, x->p->interps[i].path) & LL_READ_FILE))
			note(x, false, "the ELF interpreter '%s' is not readable under files: "
			     "dynamically linked programs cannot start", x->p->interps[i].path);
}

int landlock__plan(const struct manifest *m, int abi, struct ll_plan *out, char *err,
		   size_t errlen)
{
	struct ctx x = { .m = m, .p = out, .err = err, .errlen = errlen };
	struct cov none = {};

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = 0;
	if (m->mode == AG_MODE_AUDIT)
		return 0;
	out->files = m->files.section != AG_SECTION_ABSENT;
	out->exec = m->exec.section == AG_SECTION_DENY;
	if (!out->files && !out->exec)
		return 0;
	if (abi < 1) {
		snprintf(err, errlen, "this kernel has no Landlock (not built, or not enabled at boot)");
		memset(out, 0, sizeof(*out));
		return -EOPNOTSUPP;
	}
	if (out->files && abi < LL_MIN_ABI_FILES) {
		snprintf(err, errlen, "files rules need Landlock ABI %d (truncate), this kernel "
			 "has ABI %d", LL_MIN_ABI_FILES, abi);
		memset(out, 0, sizeof(*out));
		return -EOPNOTSUPP;
	}
	out->abi = out->files ? LL_MIN_ABI_FILES : LL_MIN_ABI_EXEC;
	if (out->files) {
		x.handled_files = LL_FILES_ALL;
		if (abi < 2)
			x.handled_files &= ~LL_REFER;
		out->handled |= x.handled_files;
	}
	if (out->exec)
		out->handled |= LL_EXECUTE;

	if (out->files) {
		x.default_allow = m->files.section == AG_SECTION_ALLOW;
		x.root = node_new("/", 1);
		if (!x.root) {
			seterr(&x, -ENOMEM, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < m->files.read.n && !x.fail; i++)
			trie_add(&x, &m->files.read.v[i], AG_RULE_FILES_READ, i);
		for (size_t i = 0; i < m->files.write.n && !x.fail; i++)
			trie_add(&x, &m->files.write.v[i], AG_RULE_FILES_WRITE, i);
		for (size_t i = 0; i < m->files.deny.n && !x.fail; i++)
			trie_add(&x, &m->files.deny.v[i], AG_RULE_FILES_DENY, i);
		if (x.fail)
			goto fail;
		trie_stat(x.root, ST_DIR);
		search_links(&x);
		if (x.fail)
			goto fail;
		trie_stat(x.root, ST_DIR);
		trie_levels(&x, x.root, &none);
		visit(&x, x.root, 0);
		if (x.fail)
			goto fail;
	}
	if (out->exec)
		plan_exec(&x);
	if (x.fail)
		goto fail;
	merge_rules(out);
	check_gaps(&x);
	if (x.fail)
		goto fail;
	node_free(x.root);
	return 0;
fail:
	node_free(x.root);
	landlock__plan_free(out);
	return x.fail;
}

void landlock__plan_free(struct ll_plan *p)
{
	for (size_t i = 0; i < p->nrules; i++)
		free(p->rules[i].path);
	for (size_t i = 0; i < p->ncarves; i++)
		free(p->carves[i].dir);
	for (size_t i = 0; i < p->ninterps; i++)
		free(p->interps[i].path);
	for (size_t i = 0; i < p->nnotes; i++)
		free(p->notes[i]);
	for (size_t i = 0; i < p->nlinks; i++) {
		free(p->links[i].path);
		free(p->links[i].target);
	}
	free(p->links);
	free(p->rules);
	free(p->carves);
	free(p->interps);
	free(p->notes);
	memset(p, 0, sizeof(*p));
}

bool landlock__plan_empty(const struct ll_plan *p)
{
	return !p->handled;
}

__u64 landlock__granted(const struct ll_plan *p, const char *path)
{
	__u64 g = 0;

	for (size_t i = 0; i < p->nrules; i++)
		if (path_covers(p->rules[i].path, path))
			g |= p->rules[i].access;
	return g;
}

const struct ll_link *landlock__link_of(const struct ll_plan *p, const char *path)
{
	for (size_t i = 0; i < p->nlinks; i++)
		if (!strcmp(p->links[i].path, path))
			return &p->links[i];
	return NULL;
}

const struct ll_carve *landlock__carve_of(const struct ll_plan *p, const char *path)
{
	const struct ll_carve *best = NULL;

	for (size_t i = 0; i < p->ncarves; i++)
		if (strcmp(p->carves[i].dir, path) && path_covers(p->carves[i].dir, path) &&
		    (!best || strlen(p->carves[i].dir) > strlen(best->dir)))
			best = &p->carves[i];
	return best;
}

/* ------------------------------------------------------------------------ */
/* The kernel                                                                */

int landlock__abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : (int)v;
}

int landlock__ruleset(const struct ll_plan *p, size_t *skipped, char *err, size_t errlen)
{
	__u64 handled = p->handled;
	int rs, e;

	if (skipped)
		*skipped = 0;
	/* handled_access_fs is the first member of every ABI's attr */
	rs = syscall(SYS_landlock_create_ruleset, &handled, sizeof(handled), 0);
	if (rs < 0) {
		e = errno;
		snprintf(err, errlen, "cannot create a Landlock ruleset: %s", strerror(e));
		return -e;
	}
	for (size_t i = 0; i < p->nrules; i++) {
		struct open_how how = { .flags = O_PATH | O_CLOEXEC,
					.resolve = RESOLVE_NO_SYMLINKS };
		struct ll_path_beneath pb = { .allowed_access = p->rules[i].access & handled };
		struct stat sb;

		pb.parent_fd = syscall(SYS_openat2, AT_FDCWD, p->rules[i].path, &how, sizeof(how));
		if (pb.parent_fd < 0) {
			e = errno;
			if (e == ENOENT || e == ELOOP || e == ENOTDIR) {
				if (skipped)
					(*skipped)++;
				continue;
			}
			snprintf(err, errlen, "cannot open '%s': %s", p->rules[i].path, strerror(e));
			close(rs);
			return -e;
		}
		if (fstat(pb.parent_fd, &sb) < 0 || S_ISDIR(sb.st_mode) != p->rules[i].dir) {
			/* replaced since the plan: a file's rights on a directory
			 * would reach everything below it */
			close(pb.parent_fd);
			if (skipped)
				(*skipped)++;
			continue;
		}
		if (!p->rules[i].dir)
			pb.allowed_access &= LL_ON_FILE;
		if (pb.allowed_access &&
		    syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &pb, 0) < 0) {
			e = errno;
			snprintf(err, errlen, "cannot add the Landlock rule for '%s': %s",
				 p->rules[i].path, strerror(e));
			close(pb.parent_fd);
			close(rs);
			return -e;
		}
		close(pb.parent_fd);
	}
	return rs;
}

int landlock__restrict_self(int ruleset_fd)
{
	if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) == 0)
		return 0;
	if (errno != EPERM)
		return -errno;
	/* without CAP_SYS_ADMIN Landlock requires no_new_privs */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return syscall(SYS_landlock_restrict_self, ruleset_fd, 0) == 0 ? 0 : -errno;
}
