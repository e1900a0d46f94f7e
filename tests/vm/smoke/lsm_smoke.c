// SPDX-License-Identifier: GPL-2.0
/*
 * lsm_smoke: proves that BPF LSM enforces in this kernel, independently of the rest
 * of agentguard. Loads lsm_smoke.bpf.c with the id of a throwaway child cgroup in
 * its rodata, then checks that a process in that cgroup is refused /etc/passwd with
 * EPERM while it may open "/", that the same open from outside the cgroup works, that
 * the program's counters agree, and that the denial goes away with the program.
 *
 *   lsm_smoke [CGROUP2-DIR]     default: the cgroup2 mount from /proc/self/mountinfo
 *
 * Prints one "ok - NAME" / "not ok - NAME: REASON" / "skip - NAME: REASON" line per
 * check (the VM tier's format); exits 0 if none failed. Needs root.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include "lsm_smoke.skel.h"

#define PROTECTED "/etc/passwd"
#define UNPROTECTED "/"

static int failures;

static void ok(const char *name)
{
	printf("ok - lsm_smoke/%s\n", name);
	fflush(stdout);
}

static void __attribute__((format(printf, 2, 3))) notok(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("not ok - lsm_smoke/%s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	failures++;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* Warnings only, marked so the tier's result parser ignores them. */
	if (level > LIBBPF_WARN && !getenv("AGVM_LIBBPF_DEBUG"))
		return 0;
	fputs("# libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

/* The cgroup2 mount point, from /proc/self/mountinfo. */
static int find_cgroup2(char *out, size_t len)
{
	char line[4096], mnt[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");

		if (!sep || strncmp(sep, " - cgroup2 ", 11) != 0)
			continue;
		/* id parent major:minor root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strlen(mnt) < len) {
			strcpy(out, mnt);
			found = 1;
		}
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

/* A cgroup's id is its kernfs node id, which file handles carry. */
static int cgroup_id(const char *path, __u64 *id)
{
	struct {
		struct file_handle fh;
		__u64 id;
	} h = { .fh.handle_bytes = sizeof(__u64) };
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0)
		return -errno;
	if (h.fh.handle_bytes != sizeof(__u64))
		return -EINVAL;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

struct child_report {
	int join_err;		/* errno of joining the cgroup, 0 if it worked */
	int protected_err;	/* errno of open(PROTECTED), 0 if it opened */
	int unprotected_err;	/* errno of open(UNPROTECTED), 0 if it opened */
};

static int try_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* Fork a child that joins the cgroup and tries both opens; its report comes back
 * through a pipe. */
static int run_child(const char *cg, struct child_report *r)
{
	char procs[PATH_MAX];
	int p[2], status;
	pid_t pid;
	ssize_t n;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct child_report c = { 0 };
		int fd = open(procs, O_WRONLY | O_CLOEXEC);

		close(p[0]);
		if (fd < 0 || write(fd, "0\n", 2) != 2)
			c.join_err = errno ? errno : EIO;
		if (fd >= 0)
			close(fd);
		if (!c.join_err) {
			c.protected_err = try_open(PROTECTED);
			c.unprotected_err = try_open(UNPROTECTED);
		}
		_exit(write(p[1], &c, sizeof(c)) == sizeof(c) ? 0 : 1);
	}
	close(p[1]);
	n = read(p[0], r, sizeof(*r));
	close(p[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (n != sizeof(*r) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EPROTO;
	return 0;
}

static int lsm_list_has_bpf(char *list, size_t len)
{
	FILE *f = fopen("/sys/kernel/security/lsm", "re");
	char *tok, *save = NULL, copy[512];

	list[0] = '\0';
	if (!f)
		return -errno;
	if (!fgets(list, (int)len, f))
		list[0] = '\0';
	fclose(f);
	list[strcspn(list, "\n")] = '\0';
	snprintf(copy, sizeof(copy), "%s", list);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, "bpf") == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	char base[PATH_MAX], cg[PATH_MAX], lsms[512];
	struct lsm_smoke_bpf *skel = NULL;
	struct child_report r;
	__u64 cgid = 0;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_log);

	if (argc > 2) {
		fprintf(stderr, "lsm_smoke: too many arguments: usage: lsm_smoke [CGROUP2-DIR]\n");
		return 2;
	}
	if (argc == 2) {
		snprintf(base, sizeof(base), "%s", argv[1]);
	} else if ((err = find_cgroup2(base, sizeof(base))) < 0) {
		notok("cgroup2", "cannot find the cgroup2 mount in /proc/self/mountinfo: %s",
		      strerror(-err));
		return 1;
	}

	err = lsm_list_has_bpf(lsms, sizeof(lsms));
	if (err == 1)
		ok("bpf-lsm-active");
	else if (err == 0)
		notok("bpf-lsm-active", "'bpf' is not in /sys/kernel/security/lsm ('%s')", lsms);
	else
		notok("bpf-lsm-active", "cannot read /sys/kernel/security/lsm: %s", strerror(-err));

	snprintf(cg, sizeof(cg), "%s/agvm-lsm-smoke.%d", base, (int)getpid());
	if (mkdir(cg, 0755) < 0) {
		notok("cgroup", "cannot create cgroup '%s': %s", cg, strerror(errno));
		return 1;
	}
	if ((err = cgroup_id(cg, &cgid)) < 0) {
		notok("cgroup", "cannot get the id of cgroup '%s': %s", cg, strerror(-err));
		goto out;
	}
	ok("cgroup");

	skel = lsm_smoke_bpf__open();
	if (!skel) {
		notok("load", "cannot open the skeleton: %s", strerror(errno));
		goto out;
	}
	skel->rodata->target_cgid = cgid;
	if ((err = lsm_smoke_bpf__load(skel)) < 0) {
		notok("load", "cannot load lsm/file_open: %s", strerror(-err));
		goto out;
	}
	ok("load");
	if ((err = lsm_smoke_bpf__attach(skel)) < 0) {
		notok("attach", "cannot attach lsm/file_open: %s", strerror(-err));
		goto out;
	}
	ok("attach");

	/* In the cgroup: /etc/ is denied, "/" is not. */
	if ((err = run_child(cg, &r)) < 0) {
		notok("child", "cannot run the child in the cgroup: %s", strerror(-err));
		goto out;
	}
	if (r.join_err) {
		notok("child-join", "cannot move the child into '%s': %s", cg, strerror(r.join_err));
		goto out;
	}
	if (r.protected_err == EPERM)
		ok("open-etc-in-cgroup-denied");
	else if (r.protected_err == 0)
		notok("open-etc-in-cgroup-denied", "open('%s') succeeded in the cgroup", PROTECTED);
	else
		notok("open-etc-in-cgroup-denied", "open('%s') failed with %s, not EPERM",
		      PROTECTED, strerror(r.protected_err));
	if (r.unprotected_err == 0)
		ok("open-other-in-cgroup-allowed");
	else
		notok("open-other-in-cgroup-allowed", "open('%s') failed in the cgroup: %s",
		      UNPROTECTED, strerror(r.unprotected_err));

	/* Outside the cgroup: allowed. */
	err = try_open(PROTECTED);
	if (err == 0)
		ok("open-etc-outside-cgroup-allowed");
	else
		notok("open-etc-outside-cgroup-allowed", "open('%s') failed outside the cgroup: %s",
		      PROTECTED, strerror(err));

	/* The program's own account: 2 opens in the cgroup, 1 denied. */
	if (skel->bss->denied == 1 && skel->bss->opens_in_cgroup == 2 &&
	    skel->bss->dpath_errors == 0)
		ok("counters");
	else
		notok("counters", "denied=%llu opens_in_cgroup=%llu dpath_errors=%llu, "
		      "expected 1, 2, 0", (unsigned long long)skel->bss->denied,
		      (unsigned long long)skel->bss->opens_in_cgroup,
		      (unsigned long long)skel->bss->dpath_errors);

	/* Without the program the same open in the cgroup works. */
	lsm_smoke_bpf__destroy(skel);
	skel = NULL;
	if ((err = run_child(cg, &r)) < 0 || r.join_err)
		notok("open-etc-after-detach-allowed", "cannot run the child in the cgroup: %s",
		      strerror(err < 0 ? -err : r.join_err));
	else if (r.protected_err == 0)
		ok("open-etc-after-detach-allowed");
	else
		notok("open-etc-after-detach-allowed", "open('%s') failed after detach: %s",
		      PROTECTED, strerror(r.protected_err));

out:
	lsm_smoke_bpf__destroy(skel);
	/* The children have been reaped; the cgroup may take a moment to empty. */
	for (int i = 0; rmdir(cg) < 0; i++) {
		if (errno != EBUSY || i == 50) {
			notok("cleanup", "cannot remove cgroup '%s': %s", cg, strerror(errno));
			break;
		}
		usleep(20000);
	}
	return failures ? 1 : 0;
}
