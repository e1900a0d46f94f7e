/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_landlock.c: Landlock plans of the files and exec sections on a
 * throwaway directory tree, the pure manifest decisions that name the rule
 * of a denial, and (where the kernel has Landlock) the plan enforced in a
 * child process. No root needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diag.h"
#include "landlock.h"
#include "manifest.h"

static char T[256];	/* the throwaway tree */

static void mkfile(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", T, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkd(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", T, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static char *P(const char *rel)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", T, rel);
	return buf[i];
}

static int setup_tree(void **state)
{
	char cmd[1024];

	snprintf(T, sizeof(T), "/tmp/agentguard-ll.XXXXXX");
	if (!mkdtemp(T))
		return -1;
	mkd("data");
	mkd("data/sub");
	mkd("scratch");
	mkd("other");
	mkd("tools");
	mkd("empty");
	mkfile("data/a.txt", "a\n");
	mkfile("data/secret", "s\n");
	mkfile("data/sub/b.txt", "b\n");
	mkfile("other/x", "x\n");
	if (symlink("data", P("link")) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "cp /bin/true '%s/tools/prog'", T);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

static int teardown_tree(void **state)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T);
	return system(cmd) == 0 ? 0 : -1;
}

/* A manifest from a YAML spec body where "@" stands for the tree. */
static struct manifest *M(const char *spec)
{
	char buf[8192], *o = buf;
	struct diag_list dl = { 0 };
	struct manifest *m;

	o += sprintf(o, "apiVersion: agentguard.io/v1\nkind: Agent\n"
		     "metadata: {name: t, owner: me@example.com}\nspec:\n");
	for (const char *s = spec; *s; s++) {
		if (*s == '@')
			o += sprintf(o, "%s", T);
		else
			*o++ = *s;
	}
	*o = 0;
	m = manifest__parse_buf("t.yaml", buf, strlen(buf), &dl);
	if (!m)
		diag_list__print(&dl, stderr);
	diag_list__free(&dl);
	assert_non_null(m);
	return m;
}

static bool has_note(const struct ll_plan *p, const char *needle)
{
	for (size_t i = 0; i < p->nnotes; i++)
		if (strstr(p->notes[i], needle))
			return true;
	return false;
}

static void print_plan(const struct ll_plan *p)
{
	char acc[512];

	for (size_t i = 0; i < p->nrules; i++)
		fprintf(stderr, "  rule %s %s\n", p->rules[i].path,
			landlock__access_str(p->rules[i].access, acc, sizeof(acc)));
	for (size_t i = 0; i < p->nnotes; i++)
		fprintf(stderr, "  note %s\n", p->notes[i]);
}

/* ------------------------------------------------------------------------ */

static void test_normalize(void **state)
{
	char out[64];

	assert_int_equal(landlock__normalize("/a//b/./c/../d/", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b/d");
	assert_int_equal(landlock__normalize("/..", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(landlock__normalize("/tmp/x/../../etc/shadow", out, sizeof(out)), 0);
	assert_string_equal(out, "/etc/shadow");
	assert_int_equal(landlock__normalize("///", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(landlock__normalize("rel/x", out, sizeof(out)), -EINVAL);
	assert_int_equal(landlock__normalize("/0123456789/0123456789", out, 12), -ENAMETOOLONG);
}

static void test_judge(void **state)
{
	struct manifest *m = M("  files:\n    default: deny\n"
			       "    read: [/etc/, /usr/, /srv/data/x.txt]\n"
			       "    write: [/tmp/w/, /etc/app/]\n"
			       "    deny: [/etc/shadow, /usr/secret/]\n"
			       "  exec:\n    allow: [/usr/bin/python3.11, /opt/tools/]\n");
	struct ll_verdict v;
	char name[64];

	landlock__judge_file(m, "/etc/hosts", false, &v);
	assert_true(v.allow);
	assert_string_equal(landlock__rule_name(&v, name, sizeof(name)), "files.read[0]");
	landlock__judge_file(m, "/etc/hosts", true, &v);
	assert_false(v.allow);
	assert_string_equal(landlock__rule_name(&v, name, sizeof(name)), "files.read[0]");
	landlock__judge_file(m, "/etc/shadow", false, &v);
	assert_false(v.allow);
	assert_string_equal(landlock__rule_name(&v, name, sizeof(name)), "files.deny[0]");
	landlock__judge_file(m, "/etc/app/conf", true, &v);	/* write beats read */
	assert_true(v.allow);
	assert_string_equal(landlock__rule_name(&v, name, sizeof(name)), "files.write[1]");
	landlock__judge_file(m, "/etc/app", false, &v);		/* the tree's own directory */
	assert_true(v.allow);
	assert_int_equal(v.kind, AG_RULE_FILES_WRITE);
	landlock__judge_file(m, "/usr/secret", false, &v);
	assert_false(v.allow);
	assert_string_equal(landlock__rule_name(&v, name, sizeof(name)), "files.deny[1]");
	landlock__judge_file(m, "/usr/secretive", false, &v);	/* not below /usr/secret/ */
	assert_true(v.allow);
	landlock__judge_file(m, "/srv/data/x.txt", false, &v);
	assert_true(v.allow);
	landlock__judge_file(m, "/srv/data/x.txt/y", false, &v);	/* exact: only itself */
	assert_false(v.allow);
	assert_string_equal(landlock__rule_name(&v, name, sizeof(name)), "files.default");
	landlock__judge_file(m, "/srv/data", false, &v);
	assert_false(v.allow);
	landlock__judge_exec(m, "/usr/bin/python3.11", &v);
	assert_true(v.allow);
	assert_string_equal(landlock__rule_name(&v, name, sizeof(name)), "exec.allow[0]");
	landlock__judge_exec(m, "/usr/bin/python3", &v);
	assert_false(v.allow);
	assert_string_equal(landlock__rule_name(&v, name, sizeof(name)), "exec.default");
	landlock__judge_exec(m, "/opt/tools/sub/t", &v);
	assert_true(v.allow);
	manifest__free(m);

	m = M("  files:\n    default: allow\n    deny: [/root/]\n");
	landlock__judge_file(m, "/home/x", true, &v);
	assert_true(v.allow);
	assert_string_equal(landlock__rule_name(&v, name, sizeof(name)), "files.default");
	landlock__judge_file(m, "/root", false, &v);
	assert_false(v.allow);
	landlock__judge_exec(m, "/bin/anything", &v);
	assert_true(v.allow);
	assert_string_equal(landlock__rule_name(&v, name, sizeof(name)), "unrestricted");
	manifest__free(m);
}

/* read the data tree except the secret; write the scratch tree */
static void test_plan_carve(void **state)
{
	struct manifest *m = M("  files:\n    default: deny\n    read: [@/data/]\n"
			       "    write: [@/scratch/]\n    deny: [@/data/secret]\n");
	struct ll_plan p;
	char err[256];
	const struct ll_carve *c;

	assert_int_equal(landlock__plan(m, 7, &p, err, sizeof(err)), 0);
	if (getenv("V"))
		print_plan(&p);
	assert_true(p.files);
	assert_false(p.exec);
	assert_int_equal(p.handled & LL_EXECUTE, 0);
	assert_true((p.handled & LL_FILES_ALL) == LL_FILES_ALL);
	/* the directory keeps read_dir (the denied path is a file) */
	assert_true(landlock__granted(&p, P("data")) & LL_READ_DIR);
	assert_false(landlock__granted(&p, P("data")) & LL_READ_FILE);
	assert_true(landlock__granted(&p, P("data/a.txt")) & LL_READ_FILE);
	assert_true(landlock__granted(&p, P("data/sub/b.txt")) & LL_READ_FILE);
	assert_false(landlock__granted(&p, P("data/a.txt")) & LL_WRITE_FILE);
	assert_false(landlock__granted(&p, P("data/secret")) & (LL_READ_FILE | LL_WRITE_FILE));
	assert_false(landlock__granted(&p, P("data/new")) & LL_READ_FILE);
	assert_false(landlock__granted(&p, P("data")) & LL_MAKE_REG);
	assert_true((landlock__granted(&p, P("scratch/f")) & LL_FILES_ALL) == LL_FILES_ALL);
	assert_int_equal(landlock__granted(&p, P("other/x")), 0);
	assert_int_equal(landlock__granted(&p, "/etc/passwd"), 0);
	c = landlock__carve_of(&p, P("data/new"));
	assert_non_null(c);
	assert_string_equal(c->dir, P("data"));
	assert_int_equal(c->kind, AG_RULE_FILES_DENY);
	assert_int_equal(c->idx, 0);
	assert_null(landlock__carve_of(&p, P("scratch/f")));
	assert_true(has_note(&p, "carved out for files.deny[0]"));
	assert_false(p.weaker);
	landlock__plan_free(&p);
	manifest__free(m);
}

/* default allow with a deny list: everything but the denied paths */
static void test_plan_default_allow(void **state)
{
	struct manifest *m = M("  files:\n    default: allow\n"
			       "    deny: [@/data/secret, @/other/]\n    read: [@/data/sub/]\n");
	struct ll_plan p;
	char err[256];

	assert_int_equal(landlock__plan(m, 7, &p, err, sizeof(err)), 0);
	if (getenv("V"))
		print_plan(&p);
	assert_true((landlock__granted(&p, P("data/a.txt")) & (LL_READ_FILE | LL_W_FILE)) ==
		    (LL_READ_FILE | LL_W_FILE));
	assert_true((landlock__granted(&p, P("scratch/new")) & LL_FILES_ALL) == LL_FILES_ALL);
	assert_true((landlock__granted(&p, "/usr/bin/true") & LL_READ_FILE));
	assert_false(landlock__granted(&p, P("data/secret")) & (LL_READ_FILE | LL_W_FILE));
	assert_false(landlock__granted(&p, P("other/x")) & (LL_READ_FILE | LL_W_FILE));
	assert_false(landlock__granted(&p, P("other")) & LL_READ_DIR);
	/* read-only subtree inside the writable rest */
	assert_true(landlock__granted(&p, P("data/sub/b.txt")) & LL_READ_FILE);
	assert_false(landlock__granted(&p, P("data/sub/b.txt")) & LL_WRITE_FILE);
	assert_false(landlock__granted(&p, P("data/sub")) & LL_MAKE_REG);
	/* the tree's parent: no entry may be removed or made there */
	assert_false(landlock__granted(&p, T) & LL_REMOVE_DIR);
	/* "/" itself cannot be listed: a denied directory is below it */
	assert_false(landlock__granted(&p, "/") & LL_READ_DIR);
	assert_non_null(landlock__carve_of(&p, "/newdir"));
	landlock__plan_free(&p);
	manifest__free(m);
}

/* write beats read: a read rule inside a write tree changes nothing; a deny
 * rule inside it carves the tree */
static void test_plan_inside_write(void **state)
{
	struct manifest *m = M("  files:\n    write: [@/]\n    read: [@/data/]\n"
			       "    deny: [@/other/]\n");
	struct ll_plan p;
	char err[256];

	assert_int_equal(landlock__plan(m, 7, &p, err, sizeof(err)), 0);
	assert_true((landlock__granted(&p, P("scratch/a")) & LL_FILES_ALL) == LL_FILES_ALL);
	assert_true((landlock__granted(&p, P("data/a.txt")) & LL_W_FILE) == LL_W_FILE);
	assert_false(landlock__granted(&p, P("other/x")) & (LL_READ_FILE | LL_W_FILE));
	assert_false(landlock__granted(&p, P("other")) & LL_READ_DIR);
	assert_false(landlock__granted(&p, T) & LL_REMOVE_DIR);	/* other could be renamed */
	assert_false(landlock__granted(&p, T) & LL_READ_DIR);	/* it would list other */
	assert_true(landlock__granted(&p, P("data")) & LL_MAKE_REG);
	landlock__plan_free(&p);
	manifest__free(m);
}

static void test_plan_notes(void **state)
{
	struct manifest *m = M("  files:\n    read: [@/link/, @/nope/, @/data/sub, @/data/a.txt]\n");
	struct ll_plan p;
	char err[256];

	assert_int_equal(landlock__plan(m, 7, &p, err, sizeof(err)), 0);
	if (getenv("V"))
		print_plan(&p);
	assert_true(has_note(&p, "files.read[0] '"));
	assert_true(has_note(&p, "symbolic link"));
	assert_true(has_note(&p, "does not exist at session start"));
	assert_true(has_note(&p, "is a directory named without a trailing '/'"));
	assert_int_equal(landlock__granted(&p, P("data/b")), 0);
	assert_false(landlock__granted(&p, P("data/sub")) & LL_READ_DIR);
	assert_true(landlock__granted(&p, P("data/a.txt")) & LL_READ_FILE);
	/* a rule on a file carries file rights only */
	for (size_t i = 0; i < p.nrules; i++)
		if (!p.rules[i].dir)
			assert_int_equal(p.rules[i].access & ~LL_ON_FILE, 0);
	landlock__plan_free(&p);
	manifest__free(m);
}

static void test_plan_exec(void **state)
{
	struct manifest *m = M("  files:\n    default: allow\n"
			       "  exec:\n    allow: [@/tools/prog, @/link/x, @/nope]\n");
	struct ll_plan p;
	char err[256];

	assert_int_equal(landlock__plan(m, 7, &p, err, sizeof(err)), 0);
	if (getenv("V"))
		print_plan(&p);
	assert_true(p.exec);
	assert_true(p.handled & LL_EXECUTE);
	assert_true(landlock__granted(&p, P("tools/prog")) & LL_EXECUTE);
	assert_false(landlock__granted(&p, P("tools/other")) & LL_EXECUTE);
	assert_false(landlock__granted(&p, "/usr/bin/true") & LL_EXECUTE);
	/* a copy of /bin/true is dynamically linked: its interpreter is granted */
	assert_int_equal(p.ninterps, 1);
	assert_true(landlock__granted(&p, p.interps[0].path) & LL_EXECUTE);
	assert_true(p.interps[0].ino != 0);
	assert_true(has_note(&p, "ELF interpreter"));
	assert_true(has_note(&p, "exec.allow[1]"));
	assert_true(has_note(&p, "exec.allow[2]"));
	landlock__plan_free(&p);
	manifest__free(m);

	/* default allow: exec handles nothing */
	m = M("  exec:\n    default: allow\n");
	assert_int_equal(landlock__plan(m, 7, &p, err, sizeof(err)), 0);
	assert_true(landlock__plan_empty(&p));
	landlock__plan_free(&p);
	manifest__free(m);
}

static void test_plan_modes_and_abi(void **state)
{
	struct manifest *m = M("  mode: audit\n  files:\n    read: [@/data/]\n");
	struct ll_plan p;
	char err[256];

	assert_int_equal(landlock__plan(m, 7, &p, err, sizeof(err)), 0);
	assert_true(landlock__plan_empty(&p));
	manifest__free(m);

	m = M("  network:\n    egress: {default: allow}\n");
	assert_int_equal(landlock__plan(m, 7, &p, err, sizeof(err)), 0);
	assert_true(landlock__plan_empty(&p));
	manifest__free(m);

	m = M("  files:\n    read: [@/data/]\n");
	assert_int_equal(landlock__plan(m, 2, &p, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "ABI 3"));
	assert_int_equal(landlock__plan(m, 0, &p, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "has no Landlock"));
	manifest__free(m);

	m = M("  exec:\n    allow: [@/tools/prog]\n");
	assert_int_equal(landlock__plan(m, 1, &p, err, sizeof(err)), 0);
	assert_int_equal(p.handled, LL_EXECUTE);
	landlock__plan_free(&p);
	manifest__free(m);
}

static void test_plan_hard_link(void **state)
{
	struct manifest *m = M("  files:\n    read: [@/data/]\n    write: [@/scratch/]\n"
			       "    deny: [@/data/secret]\n");
	struct ll_plan p;
	char err[256];

	assert_int_equal(link(P("data/secret"), P("scratch/hl")), 0);
	assert_int_equal(landlock__plan(m, 7, &p, err, sizeof(err)), 0);
	if (getenv("V"))
		print_plan(&p);
	assert_true(has_note(&p, "is a hard link"));
	assert_false(landlock__granted(&p, P("scratch/hl")) & (LL_READ_FILE | LL_WRITE_FILE));
	assert_true(landlock__granted(&p, P("scratch")) & LL_READ_DIR);
	assert_false(p.weaker);
	landlock__plan_free(&p);
	unlink(P("scratch/hl"));
	manifest__free(m);
}

/* The plan enforced by the kernel in a child (no_new_privs, no root). */
static int try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void test_enforced(void **state)
{
	struct manifest *m;
	struct ll_plan p;
	char err[256];
	int st, rs;
	pid_t pid;

	if (landlock__abi() < LL_MIN_ABI_FILES) {
		skip();
		return;
	}
	m = M("  files:\n    read: [@/data/, /usr/, /lib/, /lib64/]\n    write: [@/scratch/]\n"
	      "    deny: [@/data/secret]\n");
	assert_int_equal(landlock__plan(m, landlock__abi(), &p, err, sizeof(err)), 0);
	rs = landlock__ruleset(&p, NULL, err, sizeof(err));
	assert_true(rs >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0;

		if (landlock__restrict_self(rs))
			_exit(100);
		bad |= try_open(P("data/a.txt"), O_RDONLY) != 0;
		bad |= (try_open(P("data/secret"), O_RDONLY) != EACCES) << 1;
		bad |= (try_open(P("data/a.txt"), O_WRONLY) != EACCES) << 2;
		bad |= (try_open(P("data/new"), O_WRONLY | O_CREAT) != EACCES) << 3;
		bad |= (try_open(P("scratch/new"), O_WRONLY | O_CREAT) != 0) << 4;
		bad |= (try_open(P("other/x"), O_RDONLY) != EACCES) << 5;
		bad |= (try_open(P("data"), O_RDONLY | O_DIRECTORY) != 0) << 6;
		bad |= (try_open(P("data/sub/b.txt"), O_RDONLY) != 0) << 7;
		bad |= (truncate(P("data/a.txt"), 0) == 0 || errno != EACCES) << 8;
		bad |= (unlink(P("data/a.txt")) == 0 || errno != EACCES) << 9;
		bad |= (rename(P("scratch/new"), P("data/new")) == 0) << 10;
		_exit(bad);
	}
	close(rs);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(access(P("data/new"), F_OK), -1);
	unlink(P("scratch/new"));
	landlock__plan_free(&p);
	manifest__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_plan_carve),
		cmocka_unit_test(test_plan_default_allow),
		cmocka_unit_test(test_plan_inside_write),
		cmocka_unit_test(test_plan_notes),
		cmocka_unit_test(test_plan_exec),
		cmocka_unit_test(test_plan_modes_and_abi),
		cmocka_unit_test(test_plan_hard_link),
		cmocka_unit_test(test_enforced),
	};

	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
