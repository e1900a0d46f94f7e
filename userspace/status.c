/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* status.c: `agentguard status [--socket PATH] [--json]`. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "cli.h"
#include "proto.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: agentguard status [--socket PATH] [--json]\n"
"\n"
"Asks the daemon for its state: agents and their generations, live sessions,\n"
"the enforcement mode of each hook, and event and drop counters.\n");
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *sock = NULL;
	bool as_json = false;
	json_t *req, *resp, *v, *x;
	char err[512];
	size_t i;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'j': as_json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	req = json_pack("{s:s}", "op", "status");
	resp = proto__call(proto__socket_path(sock), req, 10000, err, sizeof(err));
	json_decref(req);
	if (!resp) {
		fprintf(stderr, "agentguard: status: %s\n", err);
		return 1;
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		fprintf(stderr, "agentguard: status: %s\n",
			json_string_value(json_object_get(resp, "error")) ?: "the daemon refused");
		json_decref(resp);
		return 1;
	}
	if (as_json) {
		json_object_del(resp, "ok");
		json_dumpf(resp, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(resp);
		return 0;
	}
	printf("host %s, cgroup root %s\n", json_string_value(json_object_get(resp, "host")),
	       json_string_value(json_object_get(resp, "cgroup_root")));
	printf("agents:\n");
	json_array_foreach(json_object_get(resp, "agents"), i, v)
		printf("  %-24s %s  %-7s sessions %lld  (%s)\n",
		       json_string_value(json_object_get(v, "name")),
		       json_string_value(json_object_get(v, "generation")),
		       json_string_value(json_object_get(v, "mode")),
		       json_integer_value(json_object_get(v, "sessions")),
		       json_string_value(json_object_get(v, "file")));
	printf("sessions:\n");
	json_array_foreach(json_object_get(resp, "sessions"), i, v)
		printf("  %s  %-24s depth %zu  %s\n", json_string_value(json_object_get(v, "id")),
		       json_string_value(json_object_get(v, "agent")),
		       json_array_size(json_object_get(v, "lineage")),
		       json_string_value(json_object_get(v, "cgroup")));
	{
		json_t *probe = json_object_get(resp, "probe"), *k;
		const char *key;

		printf("hooks:\n");
		json_object_foreach(json_object_get(probe, "hooks"), key, v)
			printf("  %-30s %s\n", key, json_string_value(v));
		printf("enforcement:\n");
		json_object_foreach(json_object_get(probe, "enforcement"), key, k) {
			printf("  %-15s %s\n", key, json_string_value(json_object_get(k, "mechanism")));
			if (json_object_get(k, "not_exact"))
				printf("  %-15s not exact: %s\n", "",
				       json_string_value(json_object_get(k, "not_exact")));
		}
	}
	x = json_object_get(resp, "counters");
	printf("counters: decisions %lld, denied %lld, audited %lld, file cache hits %lld, "
	       "events lost %lld, aggregated %lld, rate limited %lld, log entries %lld\n",
	       json_integer_value(json_object_get(x, "decisions")),
	       json_integer_value(json_object_get(x, "denied")),
	       json_integer_value(json_object_get(x, "audited")),
	       json_integer_value(json_object_get(x, "file_cache_hits")),
	       json_integer_value(json_object_get(x, "events_lost")),
	       json_integer_value(json_object_get(x, "events_aggregated")),
	       json_integer_value(json_object_get(x, "events_rate_limited")),
	       json_integer_value(json_object_get(x, "log_entries")));
	x = json_object_get(resp, "syslog");
	if (x) {
		const char *le = json_string_value(json_object_get(x, "last_error")) ?: "";

		printf("syslog: %s (%s, %s) %s, sent %lld entries and %lld checkpoints, "
		       "dropped %lld and %lld, queued %lld%s%s\n",
		       json_string_value(json_object_get(x, "target")),
		       json_string_value(json_object_get(x, "format")),
		       json_string_value(json_object_get(x, "facility")),
		       json_is_true(json_object_get(x, "connected")) ? "connected" : "not connected",
		       json_integer_value(json_object_get(x, "sent")),
		       json_integer_value(json_object_get(x, "checkpoints_sent")),
		       json_integer_value(json_object_get(x, "dropped")),
		       json_integer_value(json_object_get(x, "checkpoints_dropped")),
		       json_integer_value(json_object_get(x, "queued")),
		       *le ? "; last error: " : "", le);
	}
	json_decref(resp);
	return 0;
}
