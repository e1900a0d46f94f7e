/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * probe.h: what this kernel supports and what enforces each rule kind here.
 * One report, three readers: `agentguard probe` (text), `agentguard status`
 * (the daemon's JSON) and the daemon.start log entry.
 */
#ifndef AG_PROBE_H
#define AG_PROBE_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

struct ag_config;
struct enforcer;
struct jsonw;

#define PROBE_MAX_HOOKS	32
#define PROBE_MAX_KINDS	8

struct probe_report {
	bool btf;			/* /sys/kernel/btf/vmlinux */
	char cgroup_mount[PATH_MAX];	/* "" when none */
	int bpf_lsm;			/* 1 active, 0 not, -1 unknown */
	int landlock_abi;		/* 0: none */
	bool hooks_known;		/* programs were loaded to find out */
	char hooks_error[PATH_MAX + 128];		/* why they could not be, if not */
	struct {
		char name[48];		/* e.g. "cgroup/connect4", "lsm/file_open" */
		bool attached;
	} hooks[PROBE_MAX_HOOKS];
	int nhooks;
	/* per rule kind: the mechanism here, and what it cannot do exactly */
	struct {
		const char *kind;	/* "network.egress", "files", ... */
		char mechanism[160];
		char gaps[320];		/* "" when exact */
	} kinds[PROBE_MAX_KINDS];
	int nkinds;
};

/* probe__collect: fill r. With e, the hooks are those of the running
 * enforcer; without, the programs are loaded and attached on a throwaway
 * cgroup (needs root; otherwise hooks_known is false and hooks_error says
 * why) and removed again. cfg is the daemon's configuration (fileFallback,
 * fallbackDenialEvents); NULL means the defaults. Returns 0 or -errno for
 * failures that leave r empty. */
int probe__collect(struct probe_report *r, const struct enforcer *e, const struct ag_config *cfg);

/* probe__print: the report as text. */
void probe__print(const struct probe_report *r, FILE *f);

/* probe__write: the report as members of the current object of w
 * ("kernel", "hooks", "enforcement"). */
void probe__write(const struct probe_report *r, struct jsonw *w);

/* probe__to_json: the report as a new jansson object (caller owns it). */
json_t *probe__to_json(const struct probe_report *r);

#endif
