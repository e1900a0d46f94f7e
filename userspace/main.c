/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* main.c: the agentguard binary: one subcommand per invocation. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "version.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "daemon", cmd_daemon, "load the eBPF programs, compile manifests, serve sessions, write the log" },
	{ "run", cmd_run, "start a command as a session of an agent" },
	{ "adopt", cmd_adopt, "make an existing cgroup (a unit's, a container's) a session" },
	{ "manifest", cmd_manifest, "validate manifests (manifest check FILE...)" },
	{ "events", cmd_events, "print log entries" },
	{ "log", cmd_log, "verify the signed log (log verify)" },
	{ "token", cmd_token, "print an identity token for this session, or verify one" },
	{ "status", cmd_status, "show the daemon's agents, sessions, hooks and counters" },
	{ "probe", cmd_probe, "show what this kernel supports" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: agentguard <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n'agentguard <command> --help' describes each one.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("agentguard %s\n", AG_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "agentguard: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
