/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * probe.c: `agentguard probe`, and the report the daemon logs and serves.
 * What the kernel offers is found out by doing it: the programs are loaded
 * and attached (on a throwaway cgroup when no daemon runs), not guessed from
 * version numbers.
 */
#include "probe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/landlock.h>

#include "cgroup.h"
#include "cli.h"
#include "config.h"
#include "enforcer.h"
#include "jsonw.h"

static int landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : (int)v;
}

static int lsm_list_has_bpf(const char *path)
{
	char buf[512] = "";
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (char *save = NULL, *t = strtok_r(buf, ",\n", &save); t; t = strtok_r(NULL, ",\n", &save))
		if (!strcmp(t, "bpf"))
			ret = 1;
	return ret;
}

/* Is "bpf" among the active LSMs? securityfs may not be mounted: then, as
 * root, mount it privately for a moment to read the list. */
static int bpf_lsm_active(void)
{
	char dir[] = "/tmp/agentguard-securityfs.XXXXXX", path[64];
	int ret = lsm_list_has_bpf("/sys/kernel/security/lsm");

	if (ret >= 0 || geteuid() != 0 || !mkdtemp(dir))
		return ret;
	if (mount("securityfs", dir, "securityfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) == 0) {
		snprintf(path, sizeof(path), "%s/lsm", dir);
		ret = lsm_list_has_bpf(path);
		umount2(dir, MNT_DETACH);
	}
	rmdir(dir);
	return ret;
}

static int ignore_event(void *ctx, void *data, size_t size)
{
	return 0;
}

static bool hook_attached(const struct probe_report *r, const char *name)
{
	for (int i = 0; i < r->nhooks; i++)
		if (!strcmp(r->hooks[i].name, name))
			return r->hooks[i].attached;
	return false;
}

static void copy_hooks(struct probe_report *r, const struct enforcer *e)
{
	const struct enforcer_hook *hk;
	size_t n;

	hk = enforcer__hooks(e, &n);
	for (size_t i = 0; i < n && r->nhooks < PROBE_MAX_HOOKS; i++) {
		snprintf(r->hooks[r->nhooks].name, sizeof(r->hooks[0].name), "%s", hk[i].name);
		r->hooks[r->nhooks].attached = hk[i].attached;
		r->nhooks++;
	}
	r->hooks_known = true;
}

static void load_for_hooks(struct probe_report *r)
{
	char root[PATH_MAX + 64];
	struct enforcer *e;

	if (geteuid() != 0) {
		snprintf(r->hooks_error, sizeof(r->hooks_error),
			 "loading BPF programs needs root: run 'agentguard probe' as root");
		return;
	}
	if (!r->cgroup_mount[0]) {
		snprintf(r->hooks_error, sizeof(r->hooks_error), "no cgroup2 mount");
		return;
	}
	snprintf(root, sizeof(root), "%s/agentguard-probe-%d", r->cgroup_mount, (int)getpid());
	if (cgroup__mkdir_p(root)) {
		snprintf(r->hooks_error, sizeof(r->hooks_error), "cannot create cgroup '%s': %s",
			 root, strerror(errno));
		return;
	}
	{
		struct enforcer_opts eo = { .root_path = root, .cgroup_mount = r->cgroup_mount,
					    .ringbuf_bytes = 64 * 1024, .on_event = ignore_event };

		e = enforcer__open(&eo);
	}
	if (e) {
		copy_hooks(r, e);
		enforcer__destroy(e);
	} else {
		snprintf(r->hooks_error, sizeof(r->hooks_error), "cannot load the BPF programs: %s",
			 strerror(errno));
	}
	rmdir(root);
}

static void add_kind(struct probe_report *r, const char *kind, const char *mech, const char *gaps)
{
	if (r->nkinds == PROBE_MAX_KINDS)
		return;
	r->kinds[r->nkinds].kind = kind;
	snprintf(r->kinds[r->nkinds].mechanism, sizeof(r->kinds[0].mechanism), "%s", mech);
	snprintf(r->kinds[r->nkinds].gaps, sizeof(r->kinds[0].gaps), "%s", gaps ? gaps : "");
	r->nkinds++;
}

static void derive_kinds(struct probe_report *r, const struct ag_config *cfg)
{
	enum file_fallback ff = cfg ? cfg->file_fallback : FILE_FALLBACK_LANDLOCK;
	enum denial_events de = cfg ? cfg->denial_events : DENIAL_EVENTS_SESSIONS;
	const char *fallback = config__file_fallback_name(ff);
	bool net = hook_attached(r, "cgroup/connect4") && hook_attached(r, "cgroup/connect6") &&
		   hook_attached(r, "cgroup/sendmsg4") && hook_attached(r, "cgroup/sendmsg6");
	bool bind = hook_attached(r, "cgroup/bind4") && hook_attached(r, "cgroup/bind6");
	bool lsm_files = hook_attached(r, "lsm/file_open");
	bool lsm_exec = hook_attached(r, "lsm/bprm_check_security");
	bool procs = hook_attached(r, "tp_btf/sched_process_exec");
	char mech[160];

	add_kind(r, "network.egress", net ? "enforce: cgroup/connect4|6 and sendmsg4|6, in-kernel LPM trie" :
		 "unavailable: agents with network rules cannot be enforced",
		 net ? "a socket created outside the agentguard root and passed into a session (SCM_RIGHTS) is not judged" : NULL);
	add_kind(r, "network.bind", bind ? "enforce: cgroup/bind4|6" : "unavailable", NULL);

	if (lsm_files) {
		add_kind(r, "files", "enforce: BPF LSM (file_open and path hooks), in-kernel path trie",
			 "rules are judged on the path used; files.deny is also enforced by inode (hard links, bind mounts), except hard links made before the session to files inside a denied tree; chown, setxattr and utimes are not judged (docs/files.md)");
	} else if (r->landlock_abi > 0 && !strcmp(fallback, "landlock")) {
		snprintf(mech, sizeof(mech),
			 "enforce: Landlock ABI %d, applied by 'agentguard run' before exec", r->landlock_abi);
		add_kind(r, "files", mech,
			 "a deny inside an allowed tree is carved out when the session starts: files created there later are not reachable (stricter); audit mode is observed only (docs/fallback.md)");
	} else if (!strcmp(fallback, "observe")) {
		add_kind(r, "files", "observe only (fileFallback: observe): NOT enforced", "every file rule");
	} else {
		add_kind(r, "files", "unavailable: sessions of agents with file rules are refused", NULL);
	}
	if (lsm_exec) {
		add_kind(r, "exec", "enforce: BPF LSM bprm_check_security (also each #! interpreter)", NULL);
	} else if (r->landlock_abi > 0 && !strcmp(fallback, "landlock")) {
		snprintf(mech, sizeof(mech),
			 "enforce: Landlock ABI %d execute right, applied by 'agentguard run'", r->landlock_abi);
		add_kind(r, "exec", mech, "audit mode is observed only");
	} else if (!strcmp(fallback, "observe")) {
		add_kind(r, "exec", "observe only (fileFallback: observe): NOT enforced", "every exec rule");
	} else {
		add_kind(r, "exec", "unavailable: sessions of agents with exec rules are refused", NULL);
	}
	if (!lsm_files && ff != FILE_FALLBACK_REFUSE && r->landlock_abi > 0)
		add_kind(r, "denial.events",
			 de == DENIAL_EVENTS_OFF ? "not logged (fallbackDenialEvents: off): still enforced" :
			 de == DENIAL_EVENTS_ALWAYS ?
			 "logged: syscalls:sys_exit_* tracepoints, attached at all times" :
			 "logged: syscalls:sys_exit_* tracepoints, attached only while a Landlock session runs",
			 de == DENIAL_EVENTS_OFF ? NULL :
			 "while attached, every syscall of every process on the host takes the slow syscall path (~30 ns; getpid 1.31x measured, BENCHMARKS.md)");
	add_kind(r, "process.events", procs ? "observe: tp_btf/sched_process_fork|exec|exit" :
		 "unavailable: no BTF tracepoints", NULL);
}

int probe__collect(struct probe_report *r, const struct enforcer *e, const struct ag_config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	if (cgroup__find_mount(r->cgroup_mount, sizeof(r->cgroup_mount)))
		r->cgroup_mount[0] = 0;
	r->bpf_lsm = bpf_lsm_active();
	r->landlock_abi = landlock_abi();
	if (e)
		copy_hooks(r, e);
	else
		load_for_hooks(r);
	derive_kinds(r, cfg);
	return 0;
}

static const char *tri(int v)
{
	return v > 0 ? "yes" : v == 0 ? "no" : "unknown";
}

void probe__print(const struct probe_report *r, FILE *f)
{
	fprintf(f, "kernel:\n");
	fprintf(f, "  BTF (/sys/kernel/btf/vmlinux)  %s\n", tri(r->btf));
	fprintf(f, "  cgroup2 mount                  %s\n", r->cgroup_mount[0] ? r->cgroup_mount : "none");
	fprintf(f, "  BPF LSM in the LSM stack       %s\n", tri(r->bpf_lsm));
	if (r->hooks_known) {
		bool lsm = false;

		for (int i = 0; i < r->nhooks; i++)
			if (!strncmp(r->hooks[i].name, "lsm/", 4) && r->hooks[i].attached)
				lsm = true;
		fprintf(f, "  BPF LSM programs attach        %s\n", lsm ? "yes" : "no");
	}
	fprintf(f, "  Landlock ABI                   %d%s\n", r->landlock_abi,
		r->landlock_abi ? "" : " (not available)");
	fprintf(f, "hooks:\n");
	if (!r->hooks_known)
		fprintf(f, "  unknown: %s\n", r->hooks_error);
	for (int i = 0; i < r->nhooks; i++)
		fprintf(f, "  %-30s %s\n", r->hooks[i].name,
			r->hooks[i].attached ? "available" : "unavailable");
	fprintf(f, "enforcement here:\n");
	for (int i = 0; i < r->nkinds; i++) {
		fprintf(f, "  %-15s %s\n", r->kinds[i].kind, r->kinds[i].mechanism);
		if (r->kinds[i].gaps[0])
			fprintf(f, "  %-15s not exact: %s\n", "", r->kinds[i].gaps);
	}
}

void probe__write(const struct probe_report *r, struct jsonw *w)
{
	jsonw__key_object(w, "kernel");
	jsonw__key_bool(w, "btf", r->btf);
	jsonw__key_string(w, "cgroup2", r->cgroup_mount);
	jsonw__key_string(w, "bpf_lsm", tri(r->bpf_lsm));
	jsonw__key_int(w, "landlock_abi", r->landlock_abi);
	jsonw__object_end(w);
	jsonw__key_object(w, "hooks");
	for (int i = 0; i < r->nhooks; i++)
		jsonw__key_string(w, r->hooks[i].name, r->hooks[i].attached ? "attached" : "unavailable");
	jsonw__object_end(w);
	jsonw__key_object(w, "enforcement");
	for (int i = 0; i < r->nkinds; i++) {
		jsonw__key_object(w, r->kinds[i].kind);
		jsonw__key_string(w, "mechanism", r->kinds[i].mechanism);
		if (r->kinds[i].gaps[0])
			jsonw__key_string(w, "not_exact", r->kinds[i].gaps);
		jsonw__object_end(w);
	}
	jsonw__object_end(w);
}

json_t *probe__to_json(const struct probe_report *r)
{
	json_t *hooks = json_object(), *enf = json_object();

	for (int i = 0; i < r->nhooks; i++)
		json_object_set_new(hooks, r->hooks[i].name,
				    json_string(r->hooks[i].attached ? "attached" : "unavailable"));
	for (int i = 0; i < r->nkinds; i++) {
		json_t *k = json_pack("{s:s}", "mechanism", r->kinds[i].mechanism);

		if (r->kinds[i].gaps[0])
			json_object_set_new(k, "not_exact", json_string(r->kinds[i].gaps));
		json_object_set_new(enf, r->kinds[i].kind, k);
	}
	return json_pack("{s:{s:b, s:s, s:s, s:i}, s:o, s:o}",
			 "kernel", "btf", r->btf, "cgroup2", r->cgroup_mount,
			 "bpf_lsm", tri(r->bpf_lsm), "landlock_abi", r->landlock_abi,
			 "hooks", hooks, "enforcement", enf);
}

int cmd_probe(int argc, char **argv)
{
	struct probe_report r;
	bool as_json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: agentguard probe [--json]\n\n"
			       "Reports what this kernel supports (BTF, cgroup2, BPF LSM, Landlock), whether\n"
			       "each hook loads and attaches here (as root: the programs are loaded on a\n"
			       "throwaway cgroup and removed), and for each rule kind the mechanism that\n"
			       "enforces it on this host and what it cannot enforce exactly.\n");
			return 0;
		}
		if (!strcmp(argv[i], "--json")) {
			as_json = true;
			continue;
		}
		fprintf(stderr, "agentguard: probe: unknown option '%s'\n", argv[i]);
		return 2;
	}
	probe__collect(&r, NULL, NULL);
	if (as_json) {
		json_t *j = probe__to_json(&r);

		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else {
		probe__print(&r, stdout);
	}
	return 0;
}
