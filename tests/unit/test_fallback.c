/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_fallback.c: the userspace half of bpf/fallback.bpf.c records: paths
 * rebuilt from the kernel's dentry names, and the manifest rule of the
 * session chain each denial is attributed to (userspace/fallback.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "fallback.h"
#include "landlock.h"
#include "manifest.h"

static struct manifest *M(const char *name, const char *spec)
{
	char buf[4096];
	struct diag_list dl = { 0 };
	struct manifest *m;

	snprintf(buf, sizeof(buf), "apiVersion: agentguard.io/v1\nkind: Agent\n"
		 "metadata: {name: %s, owner: me@example.com}\nspec:\n%s", name, spec);
	m = manifest__parse_buf("t.yaml", buf, strlen(buf), &dl);
	if (!m)
		diag_list__print(&dl, stderr);
	diag_list__free(&dl);
	assert_non_null(m);
	return m;
}

/* Components leaf first, NUL-separated, as the kernel side writes them. */
static void set_dir(struct ag_fb_path *fp, const char *const *leaf_first, int n)
{
	size_t off = 0;

	for (int i = 0; i < n; i++) {
		size_t l = strlen(leaf_first[i]) + 1;

		memcpy(fp->dir + off, leaf_first[i], l);
		off += l;
	}
	fp->dir_len = off;
	fp->ndir = n;
}

static void set_raw(struct ag_fb_path *fp, const char *raw)
{
	snprintf(fp->raw, sizeof(fp->raw), "%s", raw);
	fp->raw_len = strlen(raw);
}

static struct ag_event_fallback *rec(__u8 op, __u8 access, __u8 decision)
{
	static struct ag_event_fallback r;

	memset(&r, 0, sizeof(r));
	r.h.type = AG_EV_FALLBACK;
	r.h.decision = decision;
	r.op = op;
	r.access = access;
	r.npaths = 1;
	r.ret = decision == AG_DENY ? -EACCES : 0;
	return &r;
}

static void test_decode(void **state)
{
	static struct fb_event ev;
	struct ag_event_fallback *r;
	const char *tmp_tree_data[] = { "data", "tree", "tmp" };

	r = rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY);
	set_raw(&r->p[0], "/etc//shadow");
	assert_int_equal(fallback__decode(r, sizeof(*r), &ev), 0);
	assert_string_equal(ev.path[0], "/etc/shadow");
	assert_false(ev.real[0]);
	assert_int_equal(ev.npaths, 1);

	/* relative, against the directory the kernel named */
	r = rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY);
	set_raw(&r->p[0], "sub/../b.txt");
	r->p[0].flags = AG_FB_P_RELATIVE;
	set_dir(&r->p[0], tmp_tree_data, 3);
	assert_int_equal(fallback__decode(r, sizeof(*r), &ev), 0);
	assert_string_equal(ev.path[0], "/tmp/tree/data/b.txt");

	/* a descriptor: the object itself, no link left to resolve */
	r = rec(AG_FILE_OP_TRUNCATE, AG_ACC_WRITE, AG_DENY);
	r->p[0].flags = AG_FB_P_OBJECT | AG_FB_P_PROCFD;
	set_raw(&r->p[0], "/proc/self/fd/3");
	set_dir(&r->p[0], tmp_tree_data, 3);
	assert_int_equal(fallback__decode(r, sizeof(*r), &ev), 0);
	assert_string_equal(ev.path[0], "/tmp/tree/data");
	assert_true(ev.real[0]);

	/* the root itself */
	r = rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY);
	r->p[0].flags = AG_FB_P_OBJECT;
	set_dir(&r->p[0], NULL, 0);
	assert_int_equal(fallback__decode(r, sizeof(*r), &ev), 0);
	assert_string_equal(ev.path[0], "/");

	/* cut short by the kernel side: unknown, never guessed */
	r = rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY);
	set_raw(&r->p[0], "x");
	r->p[0].flags = AG_FB_P_RELATIVE | AG_FB_P_TRUNC;
	set_dir(&r->p[0], tmp_tree_data, 3);
	assert_int_equal(fallback__decode(r, sizeof(*r), &ev), 0);
	assert_string_equal(ev.path[0], "");

	/* a component without its NUL inside dir_len: refused */
	r = rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY);
	r->p[0].flags = AG_FB_P_OBJECT;
	set_dir(&r->p[0], tmp_tree_data, 3);
	r->p[0].dir_len -= 1;
	assert_int_equal(fallback__decode(r, sizeof(*r), &ev), 0);
	assert_string_equal(ev.path[0], "");
	r->p[0].dir_len = AG_FB_DIR_LEN + 1;
	assert_int_equal(fallback__decode(r, sizeof(*r), &ev), 0);
	assert_string_equal(ev.path[0], "");

	/* per-process names are not resolved by the daemon */
	r = rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY);
	set_raw(&r->p[0], "/proc/self/fd/3/x");
	assert_int_equal(fallback__decode(r, sizeof(*r), &ev), 0);
	assert_true(ev.magic[0]);

	/* two paths */
	r = rec(AG_FILE_OP_RENAME, AG_ACC_WRITE, AG_DENY);
	r->npaths = 2;
	set_raw(&r->p[0], "/a/b");
	set_raw(&r->p[1], "/c/d");
	assert_int_equal(fallback__decode(r, sizeof(*r), &ev), 0);
	assert_int_equal(ev.npaths, 2);
	assert_string_equal(ev.path[1], "/c/d");

	assert_int_equal(fallback__decode(r, sizeof(*r) - 1, &ev), -EINVAL);
	r->h.type = AG_EV_FILE_OPEN;
	assert_int_equal(fallback__decode(r, sizeof(*r), &ev), -EINVAL);
}

/* A plan by hand: what Landlock granted, for the stricter-than-manifest
 * checks. */
static struct ll_rule prules[] = {
	{ .path = "/srv/data", .access = LL_READ_DIR, .dir = true },
	{ .path = "/srv/data/a", .access = LL_READ_FILE },
	{ .path = "/srv/scratch", .access = LL_FILES_ALL, .dir = true },
};
static struct ll_carve pcarves[] = {
	{ .dir = "/srv/data", .kind = AG_RULE_FILES_DENY, .idx = 0 },
};
static struct ll_link plinks[] = {
	{ .path = "/srv/scratch/hl", .target = "/srv/data/secret", .idx = 0 },
};
static struct ll_interp pinterps[] = {
	{ .path = "/usr/lib/ld.so", .kdev = 1, .ino = 2, .exec_idx = 0 },
};
static struct ll_plan plan = {
	.files = true, .exec = true, .handled = LL_FILES_ALL | LL_EXECUTE, .abi = 3,
	.rules = prules, .nrules = 3, .carves = pcarves, .ncarves = 1,
	.links = plinks, .nlinks = 1, .interps = pinterps, .ninterps = 1,
};

static void judge1(const struct fb_level *lv, int n, struct ag_event_fallback *r,
		   const char *p0, const char *p1, const char *interp, bool log_allowed,
		   struct fb_verdict *v)
{
	static struct fb_event ev;
	static char paths[2][PATH_MAX];

	assert_int_equal(fallback__decode(r, sizeof(*r), &ev), 0);
	snprintf(paths[0], PATH_MAX, "%s", p0);
	snprintf(paths[1], PATH_MAX, "%s", p1 ? p1 : "");
	ev.npaths = p1 ? 2 : 1;
	fallback__judge(lv, n, &ev, paths, interp, log_allowed, v);
}

static void test_judge(void **state)
{
	struct manifest *m = M("main", "  files:\n    read: [/srv/data/, /usr/]\n    write: [/srv/scratch/]\n"
			       "    deny: [/srv/data/secret]\n  exec:\n    allow: [/usr/bin/cat]\n");
	struct manifest *c = M("child", "  files:\n    read: [/srv/other/, /srv/data/]\n");
	struct fb_level lv[2] = {
		{ .m = m, .plan = &plan, .agent = "main" },
		{ .m = c, .plan = &plan, .agent = "child" },
	};
	static struct fb_verdict v;

	judge1(lv, 1, rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY), "/srv/other/x", NULL, NULL, false, &v);
	assert_false(v.drop);
	assert_int_equal(v.decision, AG_DENY);
	assert_string_equal(v.rule, "files.default");
	assert_string_equal(v.target, "/srv/other/x");
	assert_false(v.write);

	judge1(lv, 1, rec(AG_FILE_OP_OPEN, AG_ACC_READ | AG_ACC_WRITE, AG_DENY), "/srv/data/a",
	       NULL, NULL, false, &v);
	assert_string_equal(v.rule, "files.read[0]");
	assert_true(v.write);

	judge1(lv, 1, rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY), "/srv/data/secret", NULL, NULL,
	       false, &v);
	assert_string_equal(v.rule, "files.deny[0]");

	/* rename: the second path is the one refused */
	judge1(lv, 1, rec(AG_FILE_OP_RENAME, AG_ACC_WRITE, AG_DENY), "/srv/scratch/f",
	       "/srv/data/f", NULL, false, &v);
	assert_string_equal(v.target, "/srv/data/f");
	assert_int_equal(v.path, 1);
	assert_string_equal(v.rule, "files.read[0]");

	/* allowed by the manifest and granted by Landlock: file modes, not us */
	judge1(lv, 1, rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY), "/srv/data/a", NULL, NULL,
	       false, &v);
	assert_true(v.drop);

	/* allowed by the manifest, not granted: a carved directory */
	judge1(lv, 1, rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY), "/srv/data/late", NULL, NULL,
	       false, &v);
	assert_false(v.drop);
	assert_string_equal(v.rule, "files.deny[0]");
	assert_non_null(strstr(v.reason, "'/srv/data' is carved out for files.deny[0]"));

	/* a hard link of a denied file */
	judge1(lv, 1, rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY), "/srv/scratch/hl", NULL, NULL,
	       false, &v);
	assert_string_equal(v.rule, "files.deny[0]");
	assert_non_null(strstr(v.reason, "a hard link of the denied file '/srv/data/secret'"));

	/* a chain: the first level (root first) that refuses decides */
	judge1(lv, 2, rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY), "/srv/other/x", NULL, NULL,
	       false, &v);
	assert_string_equal(v.rule, "main:files.default");
	assert_int_equal(v.level, 0);
	judge1(lv, 2, rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY), "/srv/scratch/x", NULL, NULL,
	       false, &v);
	assert_string_equal(v.rule, "files.default");
	assert_int_equal(v.level, 1);
	/* a level Landlock does not enforce cannot have refused */
	lv[1].plan = NULL;
	judge1(lv, 2, rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_DENY), "/srv/scratch/x", NULL, NULL,
	       false, &v);
	assert_true(v.drop);
	lv[1].plan = &plan;

	/* exec: the program, then a script's interpreter */
	judge1(lv, 1, rec(AG_FB_OP_EXEC, AG_ACC_EXEC, AG_DENY), "/usr/bin/id", NULL, NULL, false, &v);
	assert_string_equal(v.rule, "exec.default");
	judge1(lv, 1, rec(AG_FB_OP_EXEC, AG_ACC_EXEC, AG_DENY), "/usr/bin/cat", NULL, "/usr/bin/bash",
	       false, &v);
	assert_string_equal(v.rule, "exec.default");
	assert_string_equal(v.target, "/usr/bin/bash");

	/* the exec guard killed ld.so run as a program */
	{
		struct ag_event_fallback *r = rec(AG_FB_OP_EXEC, AG_ACC_EXEC, AG_DENY);

		r->flags = AG_FB_F_KILLED;
		judge1(lv, 2, r, "/usr/lib/ld.so", NULL, NULL, false, &v);
		assert_false(v.drop);
		assert_int_equal(v.level, 0);
		assert_string_equal(v.rule, "main:exec.default");
		assert_non_null(strstr(v.reason, "killed at exec"));
	}

	/* observed (audit): would-be denials of observed levels only */
	{
		struct fb_level ol[1] = { { .m = m, .agent = "main", .observed = true } };
		struct ag_event_fallback *r = rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_ALLOW);

		r->flags = AG_FB_F_OBSERVED;
		judge1(ol, 1, r, "/srv/other/x", NULL, NULL, false, &v);
		assert_false(v.drop);
		assert_int_equal(v.decision, AG_AUDIT);
		assert_string_equal(v.rule, "files.default");
		r = rec(AG_FILE_OP_OPEN, AG_ACC_READ, AG_ALLOW);
		r->flags = AG_FB_F_OBSERVED;
		judge1(ol, 1, r, "/srv/data/a", NULL, NULL, false, &v);
		assert_true(v.drop);
		judge1(ol, 1, r, "/srv/data/a", NULL, NULL, true, &v);
		assert_false(v.drop);
		assert_int_equal(v.decision, AG_ALLOW);
		assert_string_equal(v.rule, "files.read[0]");
		ol[0].observed = false;
		judge1(ol, 1, r, "/srv/other/x", NULL, NULL, false, &v);
		assert_true(v.drop);
	}
	manifest__free(m);
	manifest__free(c);
}

static void test_names_and_interp(void **state)
{
	char path[] = "/tmp/agentguard-fb-script.XXXXXX", out[PATH_MAX], buf[512];
	int fd = mkstemp(path);
	FILE *f;

	assert_string_equal(fallback__op_name(AG_FILE_OP_RENAME), "rename");
	assert_string_equal(fallback__op_name(AG_FB_OP_EXEC), "exec");
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("#!  /bin/sh -e\necho\n", f);
	fclose(f);
	assert_int_equal(fallback__script_interp(path, out, sizeof(out)), 0);
	assert_non_null(realpath("/bin/sh", buf));
	assert_string_equal(out, buf);
	f = fopen(path, "w");
	fputs("echo no\n", f);
	fclose(f);
	assert_int_equal(fallback__script_interp(path, out, sizeof(out)), -ENOEXEC);
	unlink(path);
	/* never a device: opening one can have effects */
	assert_int_equal(fallback__script_interp("/dev/null", out, sizeof(out)), -ENOEXEC);
	assert_int_equal(fallback__script_interp("/nonexistent/x", out, sizeof(out)), -ENOENT);

	assert_non_null(strstr(fallback__describe(true, 7, FILE_FALLBACK_LANDLOCK,
						  DENIAL_EVENTS_SESSIONS, NULL, buf, sizeof(buf)),
			       "bpf-lsm"));
	assert_non_null(strstr(fallback__describe(false, 7, FILE_FALLBACK_LANDLOCK,
						  DENIAL_EVENTS_SESSIONS, NULL, buf, sizeof(buf)),
			       "attached only while such a session runs"));
	assert_non_null(strstr(fallback__describe(false, 0, FILE_FALLBACK_LANDLOCK,
						  DENIAL_EVENTS_SESSIONS, NULL, buf, sizeof(buf)),
			       "refused"));
	assert_non_null(strstr(fallback__describe(false, 7, FILE_FALLBACK_OBSERVE,
						  DENIAL_EVENTS_OFF, NULL, buf, sizeof(buf)),
			       "NOT enforced"));
	assert_non_null(strstr(buf, "not logged"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_names_and_interp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
