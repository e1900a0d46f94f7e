/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cmd_manifest.c: `agentguard manifest check [--explain] FILE...`: validate
 * manifests without root or a daemon.
 */
#include "cli.h"
#include "diag.h"
#include "manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char manifest_usage[] =
"usage: agentguard manifest check [--explain] FILE...\n"
"\n"
"Manage agent manifests (apiVersion agentguard.io/v1, kind Agent).\n"
"\n"
"commands:\n"
"  check      validate manifests; no root or daemon needed\n"
"\n"
"'agentguard manifest check --help' describes it.\n";

static const char check_usage[] =
"usage: agentguard manifest check [--explain] FILE...\n"
"\n"
"Validate each manifest FILE as the daemon would load it, without root or a\n"
"daemon. Each error is printed on its own line to stderr as\n"
"  FILE:LINE:COL: error: MESSAGE\n"
"and two files defining the same agent name are an error. For each valid file\n"
"one line is printed to stdout:\n"
"  FILE: ok: agent 'NAME', generation sha256:...\n"
"\n"
"options:\n"
"  --explain   also print the rules each manifest compiles to\n"
"  -h, --help  show this help\n"
"\n"
"Exit status: 0 if every file is valid, 1 if any has an error, 2 on usage errors.\n";

static int check(int argc, char **argv)
{
	struct manifest_set set = { 0 };
	const char **files;
	bool explain = false, opts = true;
	int nfiles = 0, status = 0;

	files = calloc((size_t)argc, sizeof(*files));
	if (!files) {
		fprintf(stderr, "agentguard: manifest check: out of memory\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (opts && !strcmp(a, "--")) {
			opts = false;
		} else if (opts && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
			fputs(check_usage, stdout);
			free(files);
			return 0;
		} else if (opts && !strcmp(a, "--explain")) {
			explain = true;
		} else if (opts && a[0] == '-' && a[1]) {
			fprintf(stderr, "agentguard: manifest check: unknown option '%s' "
				"(try 'agentguard manifest check --help')\n", a);
			free(files);
			return 2;
		} else {
			files[nfiles++] = a;
		}
	}
	if (!nfiles) {
		fprintf(stderr, "agentguard: manifest check: no files given "
			"(try 'agentguard manifest check --help')\n");
		free(files);
		return 2;
	}
	for (int i = 0; i < nfiles; i++) {
		struct diag_list dl = { 0 };
		struct manifest *m = manifest__parse_file(files[i], &dl);

		if (!m && errno == ENOMEM && !dl.n)
			diag_list__add(&dl, files[i], 0, 0, "out of memory");
		/* the set detects duplicate agent names across the files */
		if (m && manifest_set__add(&set, m, &dl)) {
			if (!dl.n)
				diag_list__add(&dl, files[i], 0, 0, "out of memory");
			m = NULL;
		}
		if (!m) {
			status = 1;
			diag_list__print(&dl, stderr);
		} else {
			printf("%s: ok: agent '%s', generation %s\n", files[i], m->name,
			       m->generation);
			if (explain && manifest__explain(m, stdout)) {
				fprintf(stderr, "agentguard: manifest check: cannot explain '%s'\n",
					files[i]);
				status = 1;
			}
		}
		diag_list__free(&dl);
		fflush(stdout);
	}
	for (size_t k = 0; k < set.n; k++)
		manifest__free(set.v[k]);
	free(set.v);
	free(files);
	return status;
}

int cmd_manifest(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "agentguard: manifest: missing command "
			"(try 'agentguard manifest --help')\n");
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(manifest_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "check"))
		return check(argc - 1, argv + 1);
	fprintf(stderr, "agentguard: manifest: unknown command '%s' "
		"(try 'agentguard manifest --help')\n", argv[1]);
	return 2;
}
