/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * run.c: `agentguard run --agent NAME [--socket PATH] [--] CMD [ARG...]`.
 *
 * Asks the daemon for a session. The daemon attests this process through its
 * socket peer credentials, creates the session cgroup (nested in the caller's
 * session when there is one: a sub-agent) and moves this process into it
 * before it answers; then CMD is exec'd in place, so its exit status is
 * CMD's and every process it starts belongs to the session.
 *
 * Where BPF LSM is not active, the daemon answers with a Landlock ruleset
 * (proto.h, docs/fallback.md): it is enforced on this process before CMD is
 * exec'd, and if that fails CMD is not run at all.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cli.h"
#include "landlock.h"
#include "proto.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: agentguard run --agent NAME [--socket PATH] [--] CMD [ARG...]\n"
"\n"
"Starts CMD as a new session of agent NAME: the daemon checks that the caller\n"
"may start it (session.users / session.groups; inside a session, the parent's\n"
"delegation), moves this process into the session's cgroup, and CMD is exec'd.\n"
"The exit status is CMD's. CMD's environment gets AGENTGUARD_SOCKET and\n"
"AGENTGUARD_SESSION.\n"
"\n"
"  --agent NAME    the agent (its manifest's metadata.name)\n"
"  --socket PATH   daemon socket (default $AGENTGUARD_SOCKET, else\n"
"                  /run/agentguard/agentguard.sock)\n");
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *agent = NULL, *sock = NULL, *sid;
	char err[512];
	json_t *req, *resp, *ll;
	int opt, rfd = -1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': agent = optarg; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!agent) {
		fprintf(stderr, "agentguard: run: --agent is required\n");
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "agentguard: run: no command given\n");
		return 2;
	}
	sock = proto__socket_path(sock);
	req = json_pack("{s:s, s:s}", "op", "session.start", "agent", agent);
	resp = proto__call_fd(sock, req, 30000, &rfd, err, sizeof(err));
	json_decref(req);
	if (!resp) {
		fprintf(stderr, "agentguard: run: %s\n", err);
		return 1;
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *msg = json_string_value(json_object_get(resp, "error"));

		fprintf(stderr, "agentguard: run: %s\n", msg ? msg : "the daemon refused");
		json_decref(resp);
		if (rfd >= 0)
			close(rfd);
		return 1;
	}
	sid = json_string_value(json_object_get(resp, "session"));
	if (!sid || setenv("AGENTGUARD_SESSION", sid, 1) || setenv("AGENTGUARD_SOCKET", sock, 1)) {
		fprintf(stderr, "agentguard: run: malformed response from the daemon\n");
		json_decref(resp);
		if (rfd >= 0)
			close(rfd);
		return 1;
	}
	/* Files and exec by Landlock: enforced here, before CMD, or no CMD. */
	ll = json_object_get(resp, "landlock");
	if (ll) {
		int e = rfd < 0 ? -EBADF : landlock__restrict_self(rfd);

		if (e) {
			fprintf(stderr, "agentguard: run: cannot enforce the files and exec rules of "
				"session '%s' with Landlock: %s\n", sid,
				rfd < 0 ? "the daemon sent no ruleset" : strerror(-e));
			json_decref(resp);
			if (rfd >= 0)
				close(rfd);
			return 1;
		}
	}
	if (rfd >= 0)
		close(rfd);
	json_decref(resp);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "agentguard: run: cannot execute '%s': %s\n", argv[optind], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
