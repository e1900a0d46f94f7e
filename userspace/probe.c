/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * probe.c: `agentguard probe`: what this kernel supports, and what enforces
 * each rule kind here. Read-only: loads nothing that stays.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/landlock.h>

#include "cgroup.h"
#include "cli.h"

static int landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : (int)v;
}

static bool bpf_lsm_active(bool *known)
{
	char buf[512] = "";
	FILE *f = fopen("/sys/kernel/security/lsm", "re");

	*known = f != NULL;
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (char *t = strtok(buf, ",\n"); t; t = strtok(NULL, ",\n"))
		if (!strcmp(t, "bpf"))
			return true;
	return false;
}

static const char *yesno(int v)
{
	return v > 0 ? "yes" : v == 0 ? "no" : "unknown";
}

int cmd_probe(int argc, char **argv)
{
	char mnt[4096];
	bool lsm_known, lsm;
	int btf, sockaddr, tracing, lsmprog, ll;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: agentguard probe\n\nReports what this kernel supports and which mechanism enforces each rule kind here.\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "agentguard: probe: unexpected argument '%s'\n", argv[1]);
		return 2;
	}
	btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	lsm = bpf_lsm_active(&lsm_known);
	ll = landlock_abi();
	sockaddr = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL);
	tracing = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACING, NULL);
	lsmprog = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_LSM, NULL);

	printf("kernel BTF (/sys/kernel/btf/vmlinux): %s\n", yesno(btf));
	if (cgroup__find_mount(mnt, sizeof(mnt)) == 0)
		printf("cgroup2 mount: %s\n", mnt);
	else
		printf("cgroup2 mount: none\n");
	printf("BPF LSM active: %s\n", lsm_known ? yesno(lsm) : "unknown (securityfs not mounted)");
	printf("Landlock ABI: %d\n", ll);
	printf("hooks:\n");
	printf("  cgroup/connect4|6 sendmsg4|6 bind4|6: %s\n", yesno(sockaddr));
	printf("  tp_btf/sched_process_{fork,exec,exit}: %s\n", yesno(tracing && btf));
	printf("  lsm/* program type: %s\n", yesno(lsmprog));
	printf("enforcement per rule kind:\n");
	printf("  network.egress, network.bind: %s\n",
	       sockaddr > 0 ? "enforce (cgroup socket hooks)" : "unavailable");
	printf("  process.exec / exit events: %s\n",
	       tracing > 0 && btf ? "observe (BTF tracepoints)" : "unavailable");
	printf("  files, exec: not enforced by this version\n");
	return 0;
}
