/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cmd_adopt.c: `agentguard adopt --agent NAME [--socket PATH] CGROUP`.
 *
 * Makes an existing cgroup (a systemd unit's, a container's) a session of an
 * agent: the daemon judges its processes from then on, attributes their
 * events and issues them tokens. docs/adopt.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cli.h"
#include "proto.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: agentguard adopt --agent NAME [--socket PATH] CGROUP\n"
"       agentguard adopt --agent NAME [--socket PATH] -- CMD [ARG...]\n"
"\n"
"Makes the existing cgroup CGROUP (a directory on the cgroup2 mount, outside\n"
"the agentguard root) a session of agent NAME. Its processes keep running\n"
"and are judged against the manifest from now on; the session ends when the\n"
"cgroup is empty. agentguard never kills or removes an adopted cgroup. Root\n"
"only. Prints the session id.\n"
"\n"
"With -- CMD: adopts the cgroup this process is in, then execs CMD in it, so\n"
"CMD is judged from its first instruction (a systemd unit's ExecStart, a\n"
"container's entrypoint). Allowed to the users session.users and\n"
"session.groups name, as for run. CMD gets AGENTGUARD_SESSION and\n"
"AGENTGUARD_SOCKET.\n"
"\n"
"  --agent NAME    the agent (its manifest's metadata.name)\n"
"  --socket PATH   daemon socket (default $AGENTGUARD_SOCKET, else\n"
"                  /run/agentguard/agentguard.sock)\n");
}

int cmd_adopt(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *agent = NULL, *sock = NULL, *sid;
	json_t *req, *resp;
	bool self;
	char err[512];
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': agent = optarg; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* getopt leaves "--" out: CMD mode is told by it in argv */
	self = optind > 1 && optind <= argc && !strcmp(argv[optind - 1], "--");
	if (!agent || (self ? optind >= argc : optind != argc - 1)) {
		fprintf(stderr, "agentguard: adopt: %s\n",
			!agent ? "--agent is required" :
			self ? "no command given after --" : "one CGROUP path is required");
		usage(stderr);
		return 2;
	}
	sock = proto__socket_path(sock);
	req = self ? json_pack("{s:s, s:s, s:b}", "op", "adopt", "agent", agent, "self", 1) :
		     json_pack("{s:s, s:s, s:s}", "op", "adopt", "agent", agent, "cgroup",
			       argv[optind]);
	if (!req) {
		fprintf(stderr, "agentguard: adopt: out of memory\n");
		return 1;
	}
	resp = proto__call(sock, req, 10000, err, sizeof(err));
	json_decref(req);
	if (!resp) {
		fprintf(stderr, "agentguard: adopt: %s\n", err);
		return 1;
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		fprintf(stderr, "agentguard: adopt: %s\n",
			json_string_value(json_object_get(resp, "error")) ?: "the daemon refused");
		json_decref(resp);
		return 1;
	}
	sid = json_string_value(json_object_get(resp, "session"));
	if (!sid) {
		fprintf(stderr, "agentguard: adopt: malformed response from the daemon\n");
		json_decref(resp);
		return 1;
	}
	if (!self) {
		printf("%s\n", sid);
		json_decref(resp);
		return 0;
	}
	if (setenv("AGENTGUARD_SESSION", sid, 1) || setenv("AGENTGUARD_SOCKET", sock, 1)) {
		fprintf(stderr, "agentguard: adopt: cannot set the environment: %s\n",
			strerror(errno));
		json_decref(resp);
		return 1;
	}
	json_decref(resp);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "agentguard: adopt: cannot execute '%s': %s\n", argv[optind],
		strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
