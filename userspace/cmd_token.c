/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cmd_token.c: identity tokens (docs/tokens.md).
 *
 *   agentguard token [--audience AUD] [--socket PATH]
 *       from inside a session: asks the daemon, which attests the caller
 *       through the kernel, and prints the token and a newline.
 *   agentguard token verify TOKEN [--key JWKS] [--audience AUD] [--state-dir DIR]
 *       verifies offline; prints the claims as JSON (exit 0), or
 *       "agentguard: token verify: <reason>" on stderr (exit 1).
 *
 * Usage errors exit 2.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "cli.h"
#include "proto.h"
#include "token.h"

#define DEFAULT_STATE_DIR "/var/lib/agentguard"

static void usage(FILE *f)
{
	fprintf(f,
"usage: agentguard token [--audience AUD] [--socket PATH]\n"
"       agentguard token verify TOKEN [--key JWKS] [--audience AUD] [--state-dir DIR]\n"
"\n"
"From inside a session, prints a fresh identity token for the caller's session:\n"
"a JWT signed ES256 by the daemon, which attests the caller through the kernel\n"
"(peer credentials, its cgroup, its executable). No secret is needed; outside\n"
"every session the daemon refuses. The token lives for the manifest's\n"
"session.tokenTTL (default 15m, at most 1h).\n"
"\n"
"  --audience AUD   the aud claim: who the token is for (default " TOKEN_DEFAULT_AUD ")\n"
"  --socket PATH    daemon socket (default $AGENTGUARD_SOCKET, else\n"
"                   " PROTO_DEFAULT_SOCKET ")\n"
"\n"
"'token verify' checks a token offline (see 'agentguard token verify --help').\n");
}

static void verify_usage(FILE *f)
{
	fprintf(f,
"usage: agentguard token verify TOKEN [--key JWKS] [--audience AUD] [--state-dir DIR]\n"
"\n"
"Verifies TOKEN ('-' reads it from stdin) offline: the header (alg ES256 only,\n"
"typ " TOKEN_TYP ", a kid of the JWK Set), the ES256 signature, exp and nbf\n"
"(with %d s of leeway for clock skew), a lifetime of at most %d s, and the\n"
"audience. Prints the claims as JSON and exits 0; else prints\n"
"'agentguard: token verify: <reason>' and exits 1.\n"
"\n"
"  --key JWKS       the JWK Set file (default DIR/keys/jwks.json)\n"
"  --audience AUD   the audience expected (default " TOKEN_DEFAULT_AUD ")\n"
"  --state-dir DIR  the daemon's state directory (default " DEFAULT_STATE_DIR ")\n",
		TOKEN_LEEWAY, TOKEN_TTL_MAX);
}

/* The token from stdin: one line, surrounding whitespace dropped. */
static char *read_stdin_token(void)
{
	size_t cap = TOKEN_MAX + 2, len = 0;
	char *buf = malloc(cap + 1), *p;
	size_t n;

	if (!buf)
		return NULL;
	while (len < cap && (n = fread(buf + len, 1, cap - len, stdin)) > 0)
		len += n;
	buf[len] = '\0';
	while (len && strchr(" \t\r\n", buf[len - 1]))
		buf[--len] = '\0';
	p = buf + strspn(buf, " \t\r\n");
	memmove(buf, p, strlen(p) + 1);
	return buf;
}

static int cmd_token_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "audience", required_argument, NULL, 'a' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *key = NULL, *aud = TOKEN_DEFAULT_AUD, *state = DEFAULT_STATE_DIR;
	char why[TOKEN_WHY_MAX], keypath[4096 + 32], *tok, *stdin_tok = NULL;
	struct token_jwks *ks;
	json_t *claims;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': key = optarg; break;
		case 'a': aud = optarg; break;
		case 's': state = optarg; break;
		case 'h': verify_usage(stdout); return 0;
		default: verify_usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "agentguard: token verify: %s\n",
			optind >= argc ? "no token given" : "more than one token given");
		return 2;
	}
	if (!token__valid_audience(aud)) {
		fprintf(stderr, "agentguard: token verify: invalid audience '%s'\n", aud);
		return 2;
	}
	tok = argv[optind];
	if (!strcmp(tok, "-")) {
		tok = stdin_tok = read_stdin_token();
		if (!tok) {
			fprintf(stderr, "agentguard: token verify: out of memory\n");
			return 1;
		}
	}
	if (!key) {
		if (snprintf(keypath, sizeof(keypath), "%s/keys/jwks.json", state) >=
		    (int)sizeof(keypath)) {
			fprintf(stderr, "agentguard: token verify: state directory path too long\n");
			free(stdin_tok);
			return 2;
		}
		key = keypath;
	}
	ks = token_jwks__load(key, why, sizeof(why));
	if (!ks) {
		fprintf(stderr, "agentguard: token verify: %s\n", why);
		free(stdin_tok);
		return 1;
	}
	claims = token__verify(ks, tok, strlen(tok), aud, time(NULL), why, sizeof(why));
	token_jwks__free(ks);
	free(stdin_tok);
	if (!claims) {
		fprintf(stderr, "agentguard: token verify: %s\n", why);
		return 1;
	}
	json_dumpf(claims, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(claims);
	return fflush(stdout) ? 1 : 0;
}

int cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "audience", required_argument, NULL, 'a' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *aud = NULL, *sock = NULL, *tok;
	char err[512];
	json_t *req, *resp;
	int opt;

	if (argc >= 2 && !strcmp(argv[1], "verify"))
		return cmd_token_verify(argc - 1, argv + 1);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': aud = optarg; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "agentguard: token: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (aud && !token__valid_audience(aud)) {
		fprintf(stderr, "agentguard: token: invalid audience '%s': 1 to %d printable "
			"ASCII characters without spaces\n", aud, TOKEN_AUD_MAX);
		return 2;
	}
	req = aud ? json_pack("{s:s, s:s}", "op", "token", "audience", aud)
		  : json_pack("{s:s}", "op", "token");
	resp = proto__call(proto__socket_path(sock), req, 10000, err, sizeof(err));
	json_decref(req);
	if (!resp) {
		fprintf(stderr, "agentguard: token: %s\n", err);
		return 1;
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		fprintf(stderr, "agentguard: token: %s\n",
			json_string_value(json_object_get(resp, "error")) ?: "the daemon refused");
		json_decref(resp);
		return 1;
	}
	tok = json_string_value(json_object_get(resp, "token"));
	if (!tok) {
		fprintf(stderr, "agentguard: token: malformed response from the daemon\n");
		json_decref(resp);
		return 1;
	}
	printf("%s\n", tok);
	json_decref(resp);
	return fflush(stdout) ? 1 : 0;
}
