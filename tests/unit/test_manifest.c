/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_manifest.c: the manifest parser: malformed manifests with exact
 * positions and messages, the data model of valid ones, generation
 * stability, manifest sets, explain, and `agentguard manifest check`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "manifest.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static char fixture_dir[1024];
static char policies_dir[1100];

static void find_dirs(void)
{
	char src[4096];

	snprintf(src, sizeof(src), "%s", __FILE__);
	snprintf(fixture_dir, sizeof(fixture_dir), "%s/manifests", dirname(src));
	if (access(fixture_dir, R_OK))
		snprintf(fixture_dir, sizeof(fixture_dir), "tests/unit/manifests");
	snprintf(policies_dir, sizeof(policies_dir), "%s/../../../policies", fixture_dir);
}

static char *fixture(const char *rel)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf), "%s/%s", fixture_dir, rel);
	return buf;
}

static struct manifest *parse(const char *text, struct diag_list *dl)
{
	return manifest__parse_buf("t.yaml", text, strlen(text), dl);
}

static struct manifest *parse_ok(const char *text)
{
	struct diag_list dl = { 0 };
	struct manifest *m = parse(text, &dl);

	if (!m)
		diag_list__print(&dl, stderr);
	assert_non_null(m);
	assert_int_equal(dl.n, 0);
	diag_list__free(&dl);
	return m;
}

static char tmpdir[] = "/tmp/agentguard-test-manifest-XXXXXX";

static char *write_tmp(const char *name, const char *data, size_t len)
{
	static char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* ------------------------------------------------------------------ */
/* Malformed manifests                                                  */
/* ------------------------------------------------------------------ */

#define HDR "apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: a1\n" \
	    "  owner: me@example.com\n"
#define RULE "spec:\n  network:\n    egress:\n      allow:\n"

struct bad_case {
	const char *name;
	const char *text;
	size_t len;	/* 0: strlen(text) */
	int line, col;
	const char *msg;	/* a distinctive part of the message */
	bool single;	/* exactly one diagnostic expected */
};

static const struct bad_case bad_cases[] = {
	{ "unknown top-level key", HDR "spec:\n  mode: enforce\nextra: 1\n", 0, 8, 1,
	  "unknown key 'extra' at the top level (expected one of: apiVersion, kind, metadata, spec)", true },
	{ "unknown nested key", HDR "spec:\n  network:\n    egres: {}\n", 0, 8, 5,
	  "unknown key 'egres' in 'spec.network' (expected one of: egress, bind)", true },
	{ "unknown key in a rule", HDR RULE "        - cidr: [10.0.0.0/8]\n          port: [80]\n", 0,
	  11, 11, "unknown key 'port' in 'spec.network.egress.allow[0]'", true },
	{ "unknown key in metadata", HDR "  colour: red\n", 0, 6, 3,
	  "unknown key 'colour' in 'metadata'", true },
	{ "metadata is a sequence",
	  "apiVersion: agentguard.io/v1\nkind: Agent\nmetadata: [a, b]\n", 0, 3, 11,
	  "expected a mapping for 'metadata', got a sequence", true },
	{ "cidr is a mapping", HDR RULE "        - cidr: {a: 1}\n", 0, 10, 17,
	  "expected a sequence for 'spec.network.egress.allow[0].cidr', got a mapping", true },
	{ "cidr is a string", HDR RULE "        - cidr: 10.0.0.0/8\n", 0, 10, 17,
	  "expected a sequence for 'spec.network.egress.allow[0].cidr', got a string '10.0.0.0/8'",
	  true },
	{ "string where a port is expected",
	  HDR RULE "        - cidr: [10.0.0.0/8]\n          ports: [https]\n", 0, 11, 19,
	  "expected a port number or a range 'LO-HI' for 'spec.network.egress.allow[0].ports[0]', "
	  "got a string 'https'", true },
	{ "ports is a scalar", HDR RULE "        - cidr: [10.0.0.0/8]\n          ports: 443\n", 0,
	  11, 18, "expected a sequence for 'spec.network.egress.allow[0].ports', got an integer '443'",
	  true },
	{ "owner is an integer",
	  "apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: a1\n  owner: 42\n", 0, 5,
	  10, "expected a string for 'metadata.owner', got an integer '42'", true },
	{ "rules are a mapping", HDR RULE "        cidr: [10.0.0.0/8]\n", 0, 10, 9,
	  "expected a sequence for 'spec.network.egress.allow', got a mapping", true },
	{ "CIDR prefix over 32", HDR RULE "        - cidr: [10.0.0.0/33]\n", 0, 10, 18,
	  "invalid CIDR '10.0.0.0/33' in 'spec.network.egress.allow[0].cidr[0]' "
	  "(prefix length must be 0..32)", true },
	{ "CIDR octet over 255", HDR RULE "        - cidr: [300.1.1.1/8]\n", 0, 10, 18,
	  "invalid CIDR '300.1.1.1/8' in 'spec.network.egress.allow[0].cidr[0]' "
	  "('300.1.1.1' is not an IPv4 address)", true },
	{ "CIDR with host bits", HDR RULE "        - cidr: [10.0.0.1/8]\n", 0, 10, 18,
	  "host bits set in CIDR '10.0.0.1/8' in 'spec.network.egress.allow[0].cidr[0]' "
	  "(did you mean '10.0.0.0/8'?)", true },
	{ "IPv6 CIDR with host bits", HDR RULE "        - cidr: [\"2001:db8::1/32\"]\n", 0, 10, 18,
	  "did you mean '2001:db8::/32'?", true },
	{ "CIDR garbage", HDR RULE "        - cidr: [garbage]\n", 0, 10, 18,
	  "invalid CIDR 'garbage' in 'spec.network.egress.allow[0].cidr[0]' "
	  "('garbage' is not an IPv4 or IPv6 address)", true },
	{ "CIDR without prefix digits", HDR RULE "        - cidr: [10.0.0.0/]\n", 0, 10, 18,
	  "invalid CIDR '10.0.0.0/'", true },
	{ "IPv6 prefix over 128", HDR RULE "        - cidr: [\"2001:db8::/129\"]\n", 0, 10, 18,
	  "invalid CIDR '2001:db8::/129' in 'spec.network.egress.allow[0].cidr[0]' "
	  "(prefix length must be 0..128)", true },
	{ "empty CIDR list", HDR RULE "        - cidr: []\n", 0, 10, 17,
	  "'spec.network.egress.allow[0].cidr' must not be empty", true },
	{ "rule without cidr", HDR RULE "        - ports: [80]\n", 0, 10, 11,
	  "missing required key 'cidr' in 'spec.network.egress.allow[0]'", true },
	{ "port 0", HDR RULE "        - cidr: [10.0.0.0/8]\n          ports: [0]\n", 0, 11, 19,
	  "port '0' out of range in 'spec.network.egress.allow[0].ports[0]' (expected 1..65535)",
	  true },
	{ "port 70000", HDR RULE "        - cidr: [10.0.0.0/8]\n          ports: [80, 70000]\n", 0,
	  11, 23, "port '70000' out of range in 'spec.network.egress.allow[0].ports[1]'", true },
	{ "reversed port range",
	  HDR RULE "        - cidr: [10.0.0.0/8]\n          ports: [\"9000-8000\"]\n", 0, 11, 19,
	  "reversed port range '9000-8000' in 'spec.network.egress.allow[0].ports[0]' "
	  "(low end above high end)", true },
	{ "port range end over 65535",
	  HDR RULE "        - cidr: [10.0.0.0/8]\n          ports: [\"1-65536\"]\n", 0, 11, 19,
	  "port range '1-65536' out of range", true },
	{ "empty ports list", HDR RULE "        - cidr: [10.0.0.0/8]\n          ports: []\n", 0,
	  11, 18, "must not be empty (leave it out for every port)", true },
	{ "bad protocol", HDR RULE "        - cidr: [10.0.0.0/8]\n          protocol: icmp\n", 0,
	  11, 21, "invalid value 'icmp' for 'spec.network.egress.allow[0].protocol' "
	  "(expected tcp, udp or any)", true },
	{ "bad mode", HDR "spec:\n  mode: enforcing\n", 0, 7, 9,
	  "invalid value 'enforcing' for 'spec.mode' (expected enforce or audit)", true },
	{ "bad default", HDR "spec:\n  files:\n    default: permit\n", 0, 8, 14,
	  "invalid value 'permit' for 'spec.files.default' (expected deny or allow)", true },
	{ "missing name",
	  "apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  owner: x@example.com\n", 0, 4, 3,
	  "missing required key 'name' in 'metadata'", true },
	{ "missing owner", "apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: a1\n", 0,
	  4, 3, "missing required key 'owner' in 'metadata'", true },
	{ "blank owner",
	  "apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: a1\n  owner: \"  \"\n", 0,
	  5, 10, "'metadata.owner' must not be empty", true },
	{ "missing metadata", "apiVersion: agentguard.io/v1\nkind: Agent\n", 0, 1, 1,
	  "missing required key 'metadata'", true },
	{ "uppercase name",
	  "apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: Ticket\n  owner: x\n", 0,
	  4, 9, "invalid agent name 'Ticket' in 'metadata.name'", true },
	{ "name ending in a dash",
	  "apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: a-\n  owner: x\n", 0, 4,
	  9, "invalid agent name 'a-' in 'metadata.name'", true },
	{ "name of 64 characters",
	  "apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: "
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n  owner: x\n", 0, 4, 9,
	  "invalid agent name", true },
	{ "wrong apiVersion", "apiVersion: agentguard.io/v2\nkind: Agent\nmetadata:\n  name: a1\n"
	  "  owner: x\n", 0, 1, 13, "unsupported apiVersion 'agentguard.io/v2' "
	  "(expected 'agentguard.io/v1')", true },
	{ "wrong kind", "apiVersion: agentguard.io/v1\nkind: Pod\nmetadata:\n  name: a1\n"
	  "  owner: x\n", 0, 2, 7, "unsupported kind 'Pod' (expected 'Agent')", true },
	{ "duplicate key", HDR "spec:\n  mode: enforce\n  mode: audit\n", 0, 8, 3,
	  "duplicate key 'mode' (first at line 7, column 3)", true },
	{ "duplicate key in a flow mapping", HDR "spec: {mode: audit, mode: audit}\n", 0, 6, 21,
	  "duplicate key 'mode' (first at line 6, column 8)", true },
	{ "empty file", "", 0, 1, 1, "empty file: expected an agent manifest", true },
	{ "only comments", "# nothing here\n\n# at all\n", 0, 1, 1, "empty file", true },
	{ "not YAML: unclosed flow sequence", "key: [unclosed\n", 0, 2, 1,
	  "invalid YAML: did not find expected ',' or ']'", true },
	{ "not YAML: binary", "\x7f" "ELF\x02\x01\x01\x00\x00", 9, 1, 1,
	  "invalid YAML: control characters are not allowed", true },
	{ "not YAML: tab indentation", "apiVersion: agentguard.io/v1\n\tkind: Agent\n", 0, 2, 1,
	  "invalid YAML: found a tab character", true },
	{ "not a mapping at the top level", "- a\n- b\n", 0, 1, 1,
	  "expected a mapping at the top level, got a sequence", true },
	{ "a scalar document", "just some text\n", 0, 1, 1,
	  "expected a mapping at the top level, got a string 'just some text'", true },
	{ "multiple documents", HDR "---\n" HDR, 0, 6, 1,
	  "multiple documents are not allowed", true },
	{ "alias bomb",
	  "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	  "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	  "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	  "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	  "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	  "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	  "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	  "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	  "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n", 0, 1, 4,
	  "anchors and aliases are not allowed", false },
	{ "an alias alone", HDR "spec: *x\n", 0, 6, 7, "aliases are not allowed", false },
	{ "a tag", HDR "spec:\n  mode: !!str enforce\n", 0, 7, 9, "tags are not allowed", true },
	{ "relative path", HDR "spec:\n  files:\n    read: [etc/passwd]\n", 0, 8, 12,
	  "relative path 'etc/passwd' in 'spec.files.read[0]' (paths must be absolute)", true },
	{ "'..' in a path", HDR "spec:\n  files:\n    read: [/etc/../root]\n", 0, 8, 12,
	  "path '/etc/../root' in 'spec.files.read[0]' contains a '..' component", true },
	{ "'.' in a path", HDR "spec:\n  exec:\n    allow: [/usr/./bin/sh]\n", 0, 8, 13,
	  "path '/usr/./bin/sh' in 'spec.exec.allow[0]' contains a '.' component", true },
	{ "'//' in a path", HDR "spec:\n  files:\n    write: [/tmp//x]\n", 0, 8, 13,
	  "path '/tmp//x' in 'spec.files.write[0]' contains '//'", true },
	{ "NUL in a path", HDR "spec:\n  files:\n    deny: [\"/etc/sha\\0dow\"]\n", 0, 8, 12,
	  "path '/etc/sha\\x00dow' in 'spec.files.deny[0]' contains a control character", true },
	{ "bad duration", HDR "spec:\n  session:\n    tokenTTL: 15 minutes\n", 0, 8, 15,
	  "invalid duration '15 minutes' for 'spec.session.tokenTTL'", true },
	{ "duration without unit", HDR "spec:\n  session:\n    tokenTTL: 900\n", 0, 8, 15,
	  "expected a duration such as '15m' (units h, m, s) for 'spec.session.tokenTTL', "
	  "got an integer '900'", true },
	{ "duration units out of order", HDR "spec:\n  session:\n    tokenTTL: 30s1m\n", 0, 8, 15,
	  "invalid duration '30s1m'", true },
	{ "tokenTTL over 1h", HDR "spec:\n  session:\n    tokenTTL: 1h1s\n", 0, 8, 15,
	  "'spec.session.tokenTTL' of 3601s exceeds the maximum of 1h", true },
	{ "tokenTTL under 10s", HDR "spec:\n  session:\n    tokenTTL: 5s\n", 0, 8, 15,
	  "'spec.session.tokenTTL' of 5s is below the minimum of 10s", true },
	{ "maxDepth 0", HDR "spec:\n  delegation:\n    agents: [b1]\n    maxDepth: 0\n", 0, 9, 15,
	  "'0' out of range for 'spec.delegation.maxDepth' (expected 1..7)", true },
	{ "maxDepth 8", HDR "spec:\n  delegation:\n    agents: [b1]\n    maxDepth: 8\n", 0, 9, 15,
	  "'8' out of range for 'spec.delegation.maxDepth' (expected 1..7)", true },
	{ "maxDepth a string", HDR "spec:\n  delegation:\n    maxDepth: two\n", 0, 8, 15,
	  "expected an integer for 'spec.delegation.maxDepth', got a string 'two'", true },
	{ "duplicate delegation agent", HDR "spec:\n  delegation:\n    agents: [b1, b1]\n", 0, 8, 18,
	  "duplicate agent 'b1' in 'spec.delegation.agents[1]'", true },
	{ "invalid user", HDR "spec:\n  session:\n    users: [\"bad user\"]\n", 0, 8, 13,
	  "invalid user 'bad user' in 'spec.session.users[0]' (expected a name or a numeric id)",
	  true },
	{ "uid out of range", HDR "spec:\n  session:\n    groups: [4294967295]\n", 0, 8, 14,
	  "group id '4294967295' out of range", true },
	{ "duplicate uid", HDR "spec:\n  session:\n    users: [1001, \"1001\"]\n", 0, 8, 19,
	  "duplicate user '1001'", true },
	{ "control character in owner",
	  "apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: a1\n  owner: \"a\\tb\"\n", 0,
	  5, 10, "'metadata.owner' contains a control character (byte 0x09)", true },
	{ "bind without allow", HDR "spec:\n  network:\n    bind: {}\n", 0, 8, 11,
	  "missing required key 'allow' in 'spec.network.bind'", true },
	{ "bind port 0", HDR "spec:\n  network:\n    bind:\n      allow: [0]\n", 0, 9, 15,
	  "port '0' out of range in 'spec.network.bind.allow[0]'", true },
	{ "label value not a string", HDR "  labels: {v: 2}\n", 0, 6, 15,
	  "expected a string for 'metadata.labels.v', got an integer '2'", true },
	{ "bad label key", HDR "  labels: {\"-x\": y}\n", 0, 6, 12, "invalid label key '-x'", true },
	{ "section is null", HDR "spec:\n  files:\n", 0, 7, 9,
	  "expected a mapping for 'spec.files', got null", false },
	{ "non-scalar key", HDR "spec:\n  ? [a]\n  : b\n", 0, 7, 5,
	  "mapping keys must be strings, not a sequence", true },
};

static void test_bad(void **state)
{
	const struct bad_case *bc = *state;
	struct diag_list dl = { 0 };
	struct manifest *m;
	size_t len = bc->len ? bc->len : strlen(bc->text);
	bool found = false;

	m = manifest__parse_buf("t.yaml", bc->text, len, &dl);
	if (m || !dl.n || (bc->single && dl.n != 1)) {
		fprintf(stderr, "case '%s':\n", bc->name);
		diag_list__print(&dl, stderr);
	}
	assert_null(m);
	assert_int_equal(errno, EINVAL);
	assert_true(dl.n >= 1);
	if (bc->single)
		assert_int_equal(dl.n, 1);
	/* diagnostics come sorted by position; with several, any may match */
	for (int i = 0; i < (bc->single ? 1 : dl.n); i++)
		if (dl.v[i].line == bc->line && dl.v[i].col == bc->col &&
		    strstr(dl.v[i].msg, bc->msg))
			found = true;
	if (!found) {
		fprintf(stderr, "case '%s': want %d:%d '%s'\n", bc->name, bc->line, bc->col,
			bc->msg);
		diag_list__print(&dl, stderr);
	}
	assert_true(found);
	assert_string_equal(dl.v[0].file, "t.yaml");
	diag_list__free(&dl);
}

/* Every error of a file is reported, not just the first, in file order. */
static void test_all_errors_reported(void **state)
{
	const char *text = HDR "spec:\n  mode: maybe\n  network:\n    egress:\n      allow:\n"
			   "        - cidr: [10.0.0.1/8, 1.2.3.4/40]\n          ports: [0]\n"
			   "  sesion: {}\n";
	struct diag_list dl = { 0 };

	assert_null(parse(text, &dl));
	assert_int_equal(dl.n, 5);
	assert_int_equal(dl.v[0].line, 7);
	assert_non_null(strstr(dl.v[0].msg, "'maybe'"));
	assert_int_equal(dl.v[1].line, 11);
	assert_int_equal(dl.v[1].col, 18);
	assert_non_null(strstr(dl.v[1].msg, "host bits"));
	assert_int_equal(dl.v[2].line, 11);
	assert_int_equal(dl.v[2].col, 30);
	assert_non_null(strstr(dl.v[2].msg, "prefix length"));
	assert_int_equal(dl.v[3].line, 12);
	assert_non_null(strstr(dl.v[3].msg, "port '0'"));
	assert_int_equal(dl.v[4].line, 13);
	assert_non_null(strstr(dl.v[4].msg, "unknown key 'sesion'"));
	diag_list__free(&dl);
}

/* Structural YAML errors (duplicate keys, aliases) do not hide the errors
 * of the content. */
static void test_structural_and_content_errors(void **state)
{
	const char *text = HDR "spec:\n  mode: enforce\n  mode: audit\n  files:\n"
			   "    read: [relative]\n    write: *w\n";
	struct diag_list dl = { 0 };

	assert_null(parse(text, &dl));
	assert_int_equal(dl.n, 3);
	assert_int_equal(dl.v[0].line, 8);
	assert_non_null(strstr(dl.v[0].msg, "duplicate key 'mode'"));
	assert_int_equal(dl.v[1].line, 10);
	assert_non_null(strstr(dl.v[1].msg, "relative path 'relative'"));
	assert_int_equal(dl.v[2].line, 11);
	assert_int_equal(dl.v[2].col, 12);
	assert_string_equal(dl.v[2].msg, "anchors and aliases are not allowed");
	diag_list__free(&dl);
}

/* A flood of errors stops at MANIFEST_MAX_ERRORS. */
static void test_error_cap(void **state)
{
	struct diag_list dl = { 0 };
	size_t cap = 1 << 20, off = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	off += (size_t)snprintf(text + off, cap - off, HDR RULE "        - cidr: [");
	for (int i = 0; i < 1000; i++)
		off += (size_t)snprintf(text + off, cap - off, "%s10.0.0.%d/8", i ? ", " : "",
					i % 250 + 1);
	snprintf(text + off, cap - off, "]\n");
	assert_null(parse(text, &dl));
	assert_int_equal(dl.n, MANIFEST_MAX_ERRORS + 1);
	assert_string_equal(dl.v[dl.n - 1].msg, "too many errors, giving up");
	diag_list__free(&dl);
	free(text);
}

static void test_nesting_limit(void **state)
{
	struct diag_list dl = { 0 };
	char text[512];
	int off;

	off = snprintf(text, sizeof(text), "a: ");
	for (int i = 0; i < 100; i++)
		text[off++] = '[';
	for (int i = 0; i < 100; i++)
		text[off++] = ']';
	text[off++] = '\n';
	text[off] = '\0';
	assert_null(parse(text, &dl));
	assert_int_equal(dl.n, 1);
	/* the root mapping is level 1; the 64th level is the 63rd '[' */
	assert_int_equal(dl.v[0].line, 1);
	assert_int_equal(dl.v[0].col, 4 + MANIFEST_MAX_NESTING - 1);
	assert_non_null(strstr(dl.v[0].msg, "nesting deeper than 64 levels"));
	diag_list__free(&dl);
}

static void test_too_many_ports(void **state)
{
	struct diag_list dl = { 0 };
	size_t cap = 1 << 16, off = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	off += (size_t)snprintf(text + off, cap - off,
				HDR RULE "        - cidr: [10.0.0.0/8]\n          ports: [");
	for (int i = 1; i <= MANIFEST_MAX_PORTS + 1; i++)
		off += (size_t)snprintf(text + off, cap - off, "%s%d", i > 1 ? "," : "", i);
	snprintf(text + off, cap - off, "]\n");
	assert_null(parse(text, &dl));
	assert_int_equal(dl.n, 1);
	assert_int_equal(dl.v[0].line, 11);
	assert_int_equal(dl.v[0].col, 18);
	assert_non_null(strstr(dl.v[0].msg, "too many entries in "
			       "'spec.network.egress.allow[0].ports' (1025, limit 1024)"));
	diag_list__free(&dl);
	free(text);
}

/* More than MANIFEST_MAX_FILE_BYTES: refused before parsing. */
static void test_file_too_large(void **state)
{
	size_t len = MANIFEST_MAX_FILE_BYTES + 1;
	struct diag_list dl = { 0 };
	char *big = malloc(len), *path;

	assert_non_null(big);
	memset(big, '#', len);
	for (size_t i = 79; i < len; i += 80)
		big[i] = '\n';
	path = write_tmp("big.yaml", big, len);
	assert_null(manifest__parse_file(path, &dl));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(dl.n, 1);
	assert_string_equal(dl.v[0].file, path);
	assert_int_equal(dl.v[0].line, 0);
	assert_string_equal(dl.v[0].msg, "file too large (limit 16 MiB)");
	diag_list__free(&dl);

	assert_null(manifest__parse_buf("big.yaml", big, len, &dl));
	assert_int_equal(dl.n, 1);
	assert_non_null(strstr(dl.v[0].msg, "file too large (16777217 bytes, limit 16 MiB)"));
	diag_list__free(&dl);
	unlink(path);
	free(big);
}

static void test_missing_file(void **state)
{
	struct diag_list dl = { 0 };

	assert_null(manifest__parse_file("/nonexistent/agent.yaml", &dl));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(dl.n, 1);
	assert_string_equal(dl.v[0].msg, "cannot read file: No such file or directory");
	diag_list__free(&dl);

	assert_null(manifest__parse_file(fixture_dir, &dl));
	assert_int_equal(errno, EISDIR);
	assert_non_null(strstr(dl.v[0].msg, "cannot read file: Is a directory"));
	diag_list__free(&dl);
}

/* ------------------------------------------------------------------ */
/* Valid manifests                                                     */
/* ------------------------------------------------------------------ */

static void assert_mapped4(const struct manifest_cidr *c, const char *v4, unsigned plen)
{
	__u8 want[16] = { 0 };

	want[10] = want[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, v4, want + 12), 1);
	assert_int_equal(c->family, AF_INET);
	assert_memory_equal(c->addr, want, 16);
	assert_int_equal(c->bits, 96 + plen);
}

static void test_full_model(void **state)
{
	struct diag_list dl = { 0 };
	struct manifest *m = manifest__parse_file(fixture("valid/full.yaml"), &dl);
	const struct manifest_net_rule *r;
	__u8 v6[16];

	if (!m)
		diag_list__print(&dl, stderr);
	assert_non_null(m);
	assert_string_equal(m->file, fixture("valid/full.yaml"));
	assert_string_equal(m->name, "ticket-summarizer");
	assert_int_equal(m->name_line, 5);
	assert_int_equal(m->name_col, 9);
	assert_string_equal(m->owner, "support-platform@example.com");
	assert_string_equal(m->description, "Summarises customer support tickets");
	assert_int_equal(m->nlabels, 1);
	assert_string_equal(m->labels[0].key, "team");
	assert_string_equal(m->labels[0].value, "support");
	assert_int_equal(m->mode, AG_MODE_ENFORCE);

	assert_int_equal(m->net.egress, AG_SECTION_DENY);
	assert_int_equal(m->net.nallow, 1);
	r = &m->net.allow[0];
	assert_int_equal(r->line, 15);
	assert_int_equal(r->col, 11);
	assert_int_equal(r->ncidrs, 2);
	assert_mapped4(&r->cidrs[0], "10.20.0.0", 16);
	assert_string_equal(r->cidrs[0].text, "10.20.0.0/16");
	assert_string_equal(r->cidrs[0].norm, "10.20.0.0/16");
	assert_int_equal(r->cidrs[0].line, 15);
	assert_int_equal(r->cidrs[0].col, 18);
	assert_int_equal(r->cidrs[1].family, AF_INET6);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::", v6), 1);
	assert_memory_equal(r->cidrs[1].addr, v6, 16);
	assert_int_equal(r->cidrs[1].bits, 32);
	assert_string_equal(r->cidrs[1].norm, "2001:db8::/32");
	assert_int_equal(r->nports, 2);
	assert_int_equal(r->ports[0].lo, 443);
	assert_int_equal(r->ports[0].hi, 443);
	assert_int_equal(r->ports[1].lo, 8000);
	assert_int_equal(r->ports[1].hi, 8100);
	assert_int_equal(r->proto, AG_PROTO_TCP);
	assert_int_equal(m->net.ndeny, 1);
	assert_int_equal(m->net.deny[0].ncidrs, 1);
	assert_mapped4(&m->net.deny[0].cidrs[0], "169.254.169.254", 32);
	assert_int_equal(m->net.deny[0].nports, 0);
	assert_null(m->net.deny[0].ports);
	assert_int_equal(m->net.deny[0].proto, AG_PROTO_ANY);
	assert_true(m->net.bind_present);
	assert_int_equal(m->net.nbind, 1);
	assert_int_equal(m->net.bind[0].lo, 8080);
	assert_int_equal(m->net.bind[0].hi, 8080);

	assert_int_equal(m->files.section, AG_SECTION_DENY);
	assert_int_equal(m->files.read.n, 4);
	assert_string_equal(m->files.read.v[0].path, "/usr/");
	assert_true(m->files.read.v[0].tree);
	assert_string_equal(m->files.read.v[3].path, "/srv/tickets/");
	assert_int_equal(m->files.write.n, 1);
	assert_string_equal(m->files.write.v[0].path, "/tmp/ticket-summarizer/");
	assert_int_equal(m->files.deny.n, 2);
	assert_string_equal(m->files.deny.v[0].path, "/etc/shadow");
	assert_false(m->files.deny.v[0].tree);
	assert_true(m->files.deny.v[1].tree);

	assert_int_equal(m->exec.section, AG_SECTION_DENY);
	assert_int_equal(m->exec.allow.n, 2);
	assert_string_equal(m->exec.allow.v[1].path, "/usr/bin/curl");
	assert_false(m->exec.allow.v[1].tree);

	assert_int_equal(m->delegation.nagents, 1);
	assert_string_equal(m->delegation.agents[0], "ticket-fetcher");
	assert_int_equal(m->delegation.max_depth, 2);

	assert_int_equal(m->session.token_ttl, 900);
	assert_int_equal(m->session.nusers, 2);
	assert_false(m->session.users[0].numeric);
	assert_string_equal(m->session.users[0].name, "svc-support");
	assert_true(m->session.users[1].numeric);
	assert_int_equal(m->session.users[1].id, 1001);
	assert_null(m->session.users[1].name);
	assert_int_equal(m->session.ngroups, 1);
	assert_string_equal(m->session.groups[0].name, "agent-operators");

	assert_int_equal(strlen(m->generation), MANIFEST_GENERATION_LEN);
	assert_memory_equal(m->generation, "sha256:", 7);
	assert_int_equal(strspn(m->generation + 7, "0123456789abcdef"), 64);
	manifest__free(m);
	diag_list__free(&dl);
}

static void test_defaults(void **state)
{
	struct diag_list dl = { 0 };
	struct manifest *m = manifest__parse_file(fixture("valid/minimal.yaml"), &dl);

	assert_non_null(m);
	assert_int_equal(m->mode, AG_MODE_ENFORCE);
	assert_null(m->description);
	assert_int_equal(m->nlabels, 0);
	assert_int_equal(m->net.egress, AG_SECTION_ABSENT);
	assert_false(m->net.bind_present);
	assert_int_equal(m->files.section, AG_SECTION_ABSENT);
	assert_int_equal(m->exec.section, AG_SECTION_ABSENT);
	assert_int_equal(m->delegation.nagents, 0);
	assert_int_equal(m->delegation.max_depth, 0);
	assert_int_equal(m->session.token_ttl, MANIFEST_TTL_DEFAULT);
	assert_int_equal(m->session.nusers, 0);
	assert_int_equal(m->session.ngroups, 0);
	manifest__free(m);

	/* sections given without `default` deny; agents without maxDepth: 1 */
	m = parse_ok(HDR "spec:\n  network:\n    egress: {}\n  files: {}\n  exec: {}\n"
		     "  delegation: {agents: [b1]}\n");
	assert_int_equal(m->net.egress, AG_SECTION_DENY);
	assert_int_equal(m->net.nallow, 0);
	assert_int_equal(m->files.section, AG_SECTION_DENY);
	assert_int_equal(m->exec.section, AG_SECTION_DENY);
	assert_int_equal(m->delegation.max_depth, 1);
	manifest__free(m);

	/* default: allow; maxDepth without agents means no delegation */
	m = parse_ok(HDR "spec:\n  mode: audit\n  network:\n    egress: {default: allow}\n"
		     "    bind: {allow: []}\n  files: {default: allow}\n"
		     "  delegation: {maxDepth: 3}\n");
	assert_int_equal(m->mode, AG_MODE_AUDIT);
	assert_int_equal(m->net.egress, AG_SECTION_ALLOW);
	assert_true(m->net.bind_present);
	assert_int_equal(m->net.nbind, 0);
	assert_int_equal(m->files.section, AG_SECTION_ALLOW);
	assert_int_equal(m->delegation.max_depth, 0);
	manifest__free(m);
	diag_list__free(&dl);
}

static void test_values(void **state)
{
	struct manifest *m;

	m = parse_ok(HDR "  description: ''\n  labels: {b: \"2\", a.example.com/x: y}\n"
		     "spec:\n  network:\n    egress:\n      allow:\n"
		     "        - cidr: [10.1.2.3, \"::1\", \"::ffff:10.0.0.0/104\", 0.0.0.0/0, \"::/0\"]\n"
		     "          ports: [\"1-65535\", 53]\n          protocol: udp\n"
		     "  session:\n    tokenTTL: 1h0m0s\n    users: [\"1001\", root, svc$]\n"
		     "    groups: [0, wheel]\n");
	assert_null(m->description);
	/* labels sorted by key */
	assert_int_equal(m->nlabels, 2);
	assert_string_equal(m->labels[0].key, "a.example.com/x");
	assert_string_equal(m->labels[1].key, "b");
	assert_string_equal(m->labels[1].value, "2");
	/* a bare address is a host prefix */
	assert_mapped4(&m->net.allow[0].cidrs[0], "10.1.2.3", 32);
	assert_string_equal(m->net.allow[0].cidrs[0].text, "10.1.2.3");
	assert_string_equal(m->net.allow[0].cidrs[0].norm, "10.1.2.3/32");
	assert_int_equal(m->net.allow[0].cidrs[1].bits, 128);
	assert_string_equal(m->net.allow[0].cidrs[1].norm, "::1/128");
	/* an IPv4-mapped IPv6 CIDR lands on the same key as the IPv4 one */
	assert_int_equal(m->net.allow[0].cidrs[2].family, AF_INET6);
	assert_int_equal(m->net.allow[0].cidrs[2].bits, 104);
	assert_memory_equal(m->net.allow[0].cidrs[2].addr,
			    "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\0", 16);
	assert_mapped4(&m->net.allow[0].cidrs[3], "0.0.0.0", 0);
	assert_int_equal(m->net.allow[0].cidrs[4].bits, 0);
	assert_int_equal(m->net.allow[0].proto, AG_PROTO_UDP);
	assert_int_equal(m->net.allow[0].ports[0].lo, 1);
	assert_int_equal(m->net.allow[0].ports[0].hi, 65535);
	assert_int_equal(m->session.token_ttl, 3600);
	/* an all-digit entry is an id, quoted or not */
	assert_true(m->session.users[0].numeric);
	assert_int_equal(m->session.users[0].id, 1001);
	assert_string_equal(m->session.users[1].name, "root");
	assert_string_equal(m->session.users[2].name, "svc$");
	assert_true(m->session.groups[0].numeric);
	assert_int_equal(m->session.groups[0].id, 0);
	assert_string_equal(m->session.groups[1].name, "wheel");
	manifest__free(m);

	m = parse_ok(HDR "spec:\n  session:\n    tokenTTL: 90s\n");
	assert_int_equal(m->session.token_ttl, 90);
	manifest__free(m);
	m = parse_ok(HDR "spec:\n  session:\n    tokenTTL: 10s\n");
	assert_int_equal(m->session.token_ttl, 10);
	manifest__free(m);
	m = parse_ok(HDR "spec:\n  session:\n    tokenTTL: 1m30s\n");
	assert_int_equal(m->session.token_ttl, 90);
	manifest__free(m);
}

/* A valid 10,000-rule manifest parses, in reasonable time. */
static void test_large_valid(void **state)
{
	size_t cap = 4 << 20, off = 0;
	char *text = malloc(cap);
	struct timespec t0, t1;
	struct manifest *m;
	double ms;

	assert_non_null(text);
	off += (size_t)snprintf(text + off, cap - off, HDR RULE);
	for (int i = 0; i < 10000; i++)
		off += (size_t)snprintf(text + off, cap - off,
					"        - cidr: [10.%d.%d.0/24]\n          ports: [%d]\n"
					"          protocol: tcp\n", (i >> 8) & 255, i & 255,
					1000 + i % 50);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	m = parse_ok(text);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	fprintf(stderr, "# 10,000-rule manifest (%zu bytes): parsed and compiled in %.1f ms\n",
		off, ms);
	assert_int_equal(m->net.nallow, 10000);
	assert_int_equal(m->net.allow[9999].ports[0].lo, 1000 + 9999 % 50);
	assert_true(ms < 2000);
	manifest__free(m);
	free(text);
}

/* ------------------------------------------------------------------ */
/* Generation                                                          */
/* ------------------------------------------------------------------ */

static const char gen_base[] =
	"apiVersion: agentguard.io/v1\n"
	"kind: Agent\n"
	"metadata:\n"
	"  name: gen\n"
	"  owner: me@example.com\n"
	"  labels: {b: two, a: one}\n"
	"spec:\n"
	"  network:\n"
	"    egress:\n"
	"      allow:\n"
	"        - cidr: [10.0.0.0/8, \"::1\"]\n"
	"          ports: [443, 80]\n"
	"          protocol: tcp\n"
	"  session:\n"
	"    tokenTTL: 15m\n";

/* Same meaning: comments, key order, whitespace, quoting, flow style, an
 * explicit default, a bare address, reordered and overlapping ports. */
static const char gen_same[] =
	"# a comment\n"
	"kind: \"Agent\"\n"
	"apiVersion: 'agentguard.io/v1'\n"
	"spec:\n"
	"    session: {tokenTTL: \"900s\"}\n"
	"    mode: enforce      # the default\n"
	"    network:\n"
	"        egress:\n"
	"            default: deny\n"
	"            allow:\n"
	"              - protocol: \"tcp\"\n"
	"                ports: [80, 443, \"443-443\"]\n"
	"                cidr:\n"
	"                  - \"10.0.0.0/8\"\n"
	"                  - \"0:0::1/128\"\n"
	"metadata: {owner: \"me@example.com\", name: gen, labels: {a: one, b: 'two'}}\n";

static void test_generation_stable(void **state)
{
	struct manifest *a = parse_ok(gen_base), *b = parse_ok(gen_same);

	assert_string_equal(a->canonical, b->canonical);
	assert_string_equal(a->generation, b->generation);
	manifest__free(a);
	manifest__free(b);
}

static void test_generation_changes(void **state)
{
	static const struct {
		const char *from, *to;
	} edits[] = {
		{ "[443, 80]", "[443, 81]" },
		{ "protocol: tcp", "protocol: any" },
		{ "10.0.0.0/8", "10.0.0.0/9" },
		{ "tokenTTL: 15m", "tokenTTL: 14m" },
		{ "owner: me@", "owner: you@" },
		{ "a: one", "a: One" },
		{ "  session:\n", "  mode: audit\n  session:\n" },
		{ "    egress:\n", "    bind: {allow: []}\n    egress:\n" },
	};
	struct manifest *base = parse_ok(gen_base);

	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char text[2048], *p;
		struct manifest *m;

		p = strstr(gen_base, edits[i].from);
		assert_non_null(p);
		snprintf(text, sizeof(text), "%.*s%s%s", (int)(p - gen_base), gen_base,
			 edits[i].to, p + strlen(edits[i].from));
		m = parse_ok(text);
		assert_string_not_equal(m->generation, base->generation);
		manifest__free(m);
	}
	manifest__free(base);
}

/* The canonical form is the documented JSON (docs/manifest.md). */
static void test_canonical_form(void **state)
{
	struct manifest *m = parse_ok(gen_base);

	assert_string_equal(m->canonical,
		"{\"apiVersion\":\"agentguard.io/v1\",\"kind\":\"Agent\",\"metadata\":{\"name\":\"gen\","
		"\"owner\":\"me@example.com\",\"labels\":{\"a\":\"one\",\"b\":\"two\"}},\"spec\":{"
		"\"mode\":\"enforce\",\"network\":{\"egress\":{\"default\":\"deny\",\"allow\":[{"
		"\"cidr\":[\"10.0.0.0/8\",\"::1/128\"],\"ports\":[[80,80],[443,443]],"
		"\"protocol\":\"tcp\"}],\"deny\":[]}},\"delegation\":{\"agents\":[],\"maxDepth\":0},"
		"\"session\":{\"tokenTTL\":900,\"users\":[],\"groups\":[]}}}");
	manifest__free(m);

	m = parse_ok("apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: u\n"
		     "  owner: \"Zo\\u00eb \\\"Z\\\"\"\n  description: \"two\\nlines\"\n");
	assert_string_equal(m->canonical,
		"{\"apiVersion\":\"agentguard.io/v1\",\"kind\":\"Agent\",\"metadata\":{\"name\":\"u\","
		"\"owner\":\"Zo\\u00EB \\\"Z\\\"\",\"description\":\"two\\nlines\"},\"spec\":{"
		"\"mode\":\"enforce\",\"delegation\":{\"agents\":[],\"maxDepth\":0},"
		"\"session\":{\"tokenTTL\":900,\"users\":[],\"groups\":[]}}}");
	manifest__free(m);
}

/* ------------------------------------------------------------------ */
/* Sets                                                                */
/* ------------------------------------------------------------------ */

static void test_set_dir(void **state)
{
	struct manifest_set *set = NULL;
	struct diag_list dl = { 0 };

	assert_int_equal(manifest_set__load_dir(fixture("dir"), &set, &dl), 0);
	assert_int_equal(dl.n, 0);
	assert_non_null(set);
	assert_int_equal(set->n, 2);	/* README.txt, .hidden.yaml, *.yml skipped */
	assert_string_equal(set->v[0]->name, "alpha");	/* 10-alpha.yaml sorts first */
	assert_string_equal(set->v[1]->name, "beta");
	assert_ptr_equal(manifest_set__find(set, "beta"), set->v[1]);
	assert_int_equal(manifest_set__find(set, "beta")->mode, AG_MODE_AUDIT);
	assert_null(manifest_set__find(set, "gamma"));
	assert_int_equal(errno, ENOENT);
	manifest_set__free(set);

	/* an empty directory is an empty set */
	assert_int_equal(manifest_set__load_dir(tmpdir, &set, &dl), 0);
	assert_int_equal(set->n, 0);
	manifest_set__free(set);

	assert_int_equal(manifest_set__load_dir("/nonexistent-dir", &set, &dl), -ENOENT);
	assert_null(set);
	assert_int_equal(dl.n, 1);
	assert_non_null(strstr(dl.v[0].msg, "cannot open directory"));
	diag_list__free(&dl);
}

static void test_set_duplicate_names(void **state)
{
	struct manifest_set *set = (void *)1;
	struct diag_list dl = { 0 };
	char a[4096], b[4096], msg[8192];

	snprintf(a, sizeof(a), "%s", fixture("dup/a.yaml"));
	snprintf(b, sizeof(b), "%s", fixture("dup/b.yaml"));
	assert_int_equal(manifest_set__load_dir(fixture("dup"), &set, &dl), -EINVAL);
	assert_null(set);
	assert_int_equal(dl.n, 1);
	/* the error is in the second file and names the first */
	assert_string_equal(dl.v[0].file, b);
	assert_int_equal(dl.v[0].line, 4);
	assert_int_equal(dl.v[0].col, 9);
	snprintf(msg, sizeof(msg), "duplicate agent name 'twin': also defined in '%s' at line 4, "
		 "column 9", a);
	assert_string_equal(dl.v[0].msg, msg);
	diag_list__free(&dl);
}

/* One bad file loads nothing, and every file's errors are reported. */
static void test_set_all_or_nothing(void **state)
{
	const char *paths[3];
	char p0[4096], p1[4096], p2[4096];
	struct manifest_set *set = (void *)1;
	struct diag_list dl = { 0 };

	snprintf(p0, sizeof(p0), "%s", fixture("dir/10-alpha.yaml"));
	snprintf(p1, sizeof(p1), "%s", write_tmp("bad1.yaml", "kind: Agent\n", 12));
	snprintf(p2, sizeof(p2), "%s", write_tmp("bad2.yaml", "a: [\n", 5));
	paths[0] = p0;
	paths[1] = p1;
	paths[2] = p2;
	assert_int_equal(manifest_set__load_files(paths, 3, &set, &dl), -EINVAL);
	assert_null(set);
	assert_int_equal(dl.n, 3);
	assert_string_equal(dl.v[0].file, p1);
	assert_non_null(strstr(dl.v[0].msg, "missing required key 'apiVersion'"));
	assert_string_equal(dl.v[1].file, p1);
	assert_non_null(strstr(dl.v[1].msg, "missing required key 'metadata'"));
	assert_string_equal(dl.v[2].file, p2);
	assert_non_null(strstr(dl.v[2].msg, "invalid YAML"));
	diag_list__free(&dl);
	unlink(p1);
	unlink(p2);

	assert_int_equal(manifest_set__load_files(paths, 1, &set, &dl), 0);
	assert_int_equal(set->n, 1);
	manifest_set__free(set);
}

/* The example policies load together and say what their comments say. */
static void test_policies(void **state)
{
	static const char *names[] = {
		"ticket-summarizer.yaml", "ticket-fetcher.yaml", "research-assistant.yaml",
	};
	char paths[3][4096];
	const char *pp[3];
	const struct manifest *m;
	struct manifest_set *set = NULL;
	struct diag_list dl = { 0 };

	for (int i = 0; i < 3; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/%s", policies_dir, names[i]);
		pp[i] = paths[i];
	}
	if (manifest_set__load_files(pp, 3, &set, &dl))
		diag_list__print(&dl, stderr);
	assert_non_null(set);
	m = manifest_set__find(set, "ticket-summarizer");
	assert_non_null(m);
	assert_int_equal(m->mode, AG_MODE_ENFORCE);
	assert_int_equal(m->net.egress, AG_SECTION_DENY);
	assert_int_equal(m->net.nallow, 3);
	assert_string_equal(m->net.allow[0].cidrs[0].norm, "127.0.0.1/32");
	assert_int_equal(m->net.allow[0].nports, 2);
	assert_int_equal(m->net.allow[0].ports[1].lo, 9000);
	assert_int_equal(m->net.allow[0].ports[1].hi, 9100);
	assert_string_equal(m->net.allow[1].cidrs[0].norm, "::1/128");
	assert_string_equal(m->net.allow[2].cidrs[0].norm, "10.20.0.0/16");
	assert_int_equal(m->net.ndeny, 2);
	assert_string_equal(m->net.deny[0].cidrs[0].norm, "169.254.169.254/32");
	assert_string_equal(m->net.deny[1].cidrs[0].norm, "127.0.0.2/32");
	assert_int_equal(m->net.nbind, 1);
	assert_int_equal(m->net.bind[0].lo, 8081);
	assert_string_equal(m->delegation.agents[0], "ticket-fetcher");
	assert_int_equal(m->delegation.max_depth, 2);
	assert_int_equal(m->session.token_ttl, 900);
	m = manifest_set__find(set, "ticket-fetcher");
	assert_non_null(m);
	assert_int_equal(m->net.nallow, 1);
	assert_int_equal(m->net.allow[0].ports[0].lo, 9000);
	assert_int_equal(m->net.allow[0].ports[0].hi, 9000);
	m = manifest_set__find(set, "research-assistant");
	assert_non_null(m);
	assert_int_equal(m->mode, AG_MODE_AUDIT);
	assert_string_equal(m->net.allow[0].cidrs[0].norm, "127.0.0.1/32");
	manifest_set__free(set);
	diag_list__free(&dl);
}

/* ------------------------------------------------------------------ */
/* The strict YAML reader                                              */
/* ------------------------------------------------------------------ */

static void test_scalar_types(void **state)
{
	static const struct {
		const char *text;
		enum yscalar_type t;
	} cases[] = {
		{ "a: ", YSCALAR_NULL }, { "a: ~", YSCALAR_NULL }, { "a: null", YSCALAR_NULL },
		{ "a: NULL", YSCALAR_NULL }, { "a: true", YSCALAR_BOOL }, { "a: FALSE", YSCALAR_BOOL },
		{ "a: 443", YSCALAR_INT }, { "a: -5", YSCALAR_INT }, { "a: 0x1f", YSCALAR_INT },
		{ "a: 0o17", YSCALAR_INT }, { "a: 1.5", YSCALAR_FLOAT }, { "a: 1e3", YSCALAR_FLOAT },
		{ "a: .inf", YSCALAR_FLOAT }, { "a: yes", YSCALAR_STR }, { "a: on", YSCALAR_STR },
		{ "a: '443'", YSCALAR_STR }, { "a: \"true\"", YSCALAR_STR },
		{ "a: 10.0.0.0/8", YSCALAR_STR }, { "a: 127.0.0.1", YSCALAR_STR },
		{ "a: 8000-8100", YSCALAR_STR }, { "a: 0x", YSCALAR_STR }, { "a: |\n  443\n", YSCALAR_STR },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct diag_list dl = { 0 };
		struct ydoc *doc = ydoc__load("y", cases[i].text, strlen(cases[i].text), &dl);
		const struct ynode *root;

		assert_non_null(doc);
		root = ydoc__root(doc);
		assert_int_equal(root->type, YNODE_MAP);
		assert_int_equal(root->n, 1);
		if (yscalar__type(root->items[1]) != cases[i].t)
			fprintf(stderr, "case '%s'\n", cases[i].text);
		assert_int_equal(yscalar__type(root->items[1]), cases[i].t);
		ydoc__free(doc);
	}
}

static void test_quote(void **state)
{
	char buf[300], in[200];

	assert_string_equal(ymsg__quote(buf, "a\tb\\c\0d", 7), "'a\\x09b\\x5cc\\x00d'");
	memset(in, 'x', sizeof(in));
	assert_string_equal(ymsg__quote(buf, in, 65),
			    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'");
	/* a 2-byte character across the cut is left out whole */
	memcpy(in + 63, "\xc3\xa9", 2);
	ymsg__quote(buf, in, 100);
	assert_int_equal(strlen(buf), 1 + 63 + 3 + 1);
	/* the worst case fits the documented 300 bytes */
	memset(in, 1, sizeof(in));
	assert_true(strlen(ymsg__quote(buf, in, sizeof(in))) < 300);
}

/* ------------------------------------------------------------------ */
/* Explain and the command                                             */
/* ------------------------------------------------------------------ */

static void test_explain(void **state)
{
	struct manifest *m = parse_ok(HDR "spec:\n  network:\n    egress:\n      allow:\n"
				      "        - cidr: [10.0.0.0/8]\n          ports: [443]\n"
				      "        - cidr: [10.1.0.0/16]\n          ports: [80]\n"
				      "    bind: {allow: [8080]}\n");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(manifest__explain(m, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "agent 'a1' (generation sha256:"));
	assert_non_null(strstr(buf, "network egress: default deny"));
	assert_non_null(strstr(buf, "allow[1] (line 12): any to 10.1.0.0/16, ports 80\n"));
	assert_non_null(strstr(buf, "compiled to 2 net_rules entries"));
	assert_non_null(strstr(buf, "allow 10.1.0.0/16"));
	assert_non_null(strstr(buf, "any 80 (rule 1), any 443 (rule 0)\n"));
	assert_non_null(strstr(buf, "network bind: only any 8080 (rule 0)\n"));
	assert_non_null(strstr(buf, "files: unrestricted (section absent), observed\n"));
	assert_non_null(strstr(buf, "session: token lifetime 900s; started by root only\n"));
	free(buf);
	manifest__free(m);
}

static char *slurp(const char *path)
{
	size_t len;
	char *buf;

	assert_int_equal(yfile__read(path, 1 << 20, &buf, &len), 0);
	return buf;
}

/* Run cmd_manifest with stdout and stderr captured. */
static int run_cmd(char **out, char **err, int argc, ...)
{
	char *argv[16], opath[8192], epath[8192];
	int saved_out, saved_err, fd, rc;
	va_list ap;

	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	snprintf(opath, sizeof(opath), "%s/stdout", tmpdir);
	snprintf(epath, sizeof(epath), "%s/stderr", tmpdir);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	fd = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	close(fd);
	fd = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	rc = cmd_manifest(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	*out = slurp(opath);
	*err = slurp(epath);
	return rc;
}

static void test_cmd_check(void **state)
{
	char good[4096], bad[4096], a[4096], b[4096], want[16384];
	char *out, *err;
	struct manifest *m;
	struct diag_list dl = { 0 };

	snprintf(good, sizeof(good), "%s", fixture("valid/full.yaml"));
	snprintf(bad, sizeof(bad), "%s", write_tmp("bad.yaml", HDR "spec:\n  mode: x\n",
						    strlen(HDR "spec:\n  mode: x\n")));
	snprintf(a, sizeof(a), "%s", fixture("dup/a.yaml"));
	snprintf(b, sizeof(b), "%s", fixture("dup/b.yaml"));
	m = manifest__parse_file(good, &dl);
	assert_non_null(m);

	assert_int_equal(run_cmd(&out, &err, 3, "manifest", "check", good), 0);
	snprintf(want, sizeof(want), "%s: ok: agent 'ticket-summarizer', generation %s\n", good,
		 m->generation);
	assert_string_equal(out, want);
	assert_string_equal(err, "");
	free(out);
	free(err);

	assert_int_equal(run_cmd(&out, &err, 4, "manifest", "check", bad, good), 1);
	assert_string_equal(out, want);
	snprintf(want, sizeof(want), "%s:7:9: error: invalid value 'x' for 'spec.mode' "
		 "(expected enforce or audit)\n", bad);
	assert_string_equal(err, want);
	free(out);
	free(err);

	assert_int_equal(run_cmd(&out, &err, 4, "manifest", "check", a, b), 1);
	assert_non_null(strstr(out, "agent 'twin'"));
	snprintf(want, sizeof(want), "%s:4:9: error: duplicate agent name 'twin': also defined "
		 "in '%s' at line 4, column 9\n", b, a);
	assert_string_equal(err, want);
	free(out);
	free(err);

	assert_int_equal(run_cmd(&out, &err, 4, "manifest", "check", "--explain", good), 0);
	assert_non_null(strstr(out, "ok: agent 'ticket-summarizer'"));
	assert_non_null(strstr(out, "deny  169.254.169.254/32"));
	assert_non_null(strstr(out, "allow 2001:db8::/32"));
	free(out);
	free(err);

	assert_int_equal(run_cmd(&out, &err, 2, "manifest", "check"), 2);
	assert_string_equal(out, "");
	assert_string_equal(err, "agentguard: manifest check: no files given "
			    "(try 'agentguard manifest check --help')\n");
	free(out);
	free(err);

	assert_int_equal(run_cmd(&out, &err, 4, "manifest", "check", "--bogus", good), 2);
	assert_non_null(strstr(err, "agentguard: manifest check: unknown option '--bogus'"));
	free(out);
	free(err);

	assert_int_equal(run_cmd(&out, &err, 1, "manifest"), 2);
	assert_non_null(strstr(err, "agentguard: manifest: missing command"));
	free(out);
	free(err);

	assert_int_equal(run_cmd(&out, &err, 2, "manifest", "lint"), 2);
	assert_non_null(strstr(err, "agentguard: manifest: unknown command 'lint'"));
	free(out);
	free(err);

	assert_int_equal(run_cmd(&out, &err, 2, "manifest", "--help"), 0);
	assert_non_null(strstr(out, "usage: agentguard manifest check"));
	free(out);
	free(err);

	assert_int_equal(run_cmd(&out, &err, 3, "manifest", "check", "--help"), 0);
	assert_non_null(strstr(out, "--explain"));
	assert_non_null(strstr(out, "FILE:LINE:COL: error: MESSAGE"));
	free(out);
	free(err);

	/* a file literally named like an option, after -- */
	assert_int_equal(run_cmd(&out, &err, 4, "manifest", "check", "--", "-missing.yaml"), 1);
	assert_string_equal(err, "-missing.yaml: error: cannot read file: No such file or directory\n");
	free(out);
	free(err);

	manifest__free(m);
	diag_list__free(&dl);
	unlink(bad);
}

static int setup(void **state)
{
	find_dirs();
	if (!mkdtemp(tmpdir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	struct CMUnitTest tests[sizeof(bad_cases) / sizeof(bad_cases[0]) + 32];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct CMUnitTest t = cmocka_unit_test_prestate(test_bad, (void *)&bad_cases[i]);

		t.name = bad_cases[i].name;
		tests[n++] = t;
	}
#define ADD(fn) tests[n++] = (struct CMUnitTest)cmocka_unit_test(fn)
	ADD(test_all_errors_reported);
	ADD(test_structural_and_content_errors);
	ADD(test_error_cap);
	ADD(test_nesting_limit);
	ADD(test_too_many_ports);
	ADD(test_file_too_large);
	ADD(test_missing_file);
	ADD(test_full_model);
	ADD(test_defaults);
	ADD(test_values);
	ADD(test_large_valid);
	ADD(test_generation_stable);
	ADD(test_generation_changes);
	ADD(test_canonical_form);
	ADD(test_set_dir);
	ADD(test_set_duplicate_names);
	ADD(test_set_all_or_nothing);
	ADD(test_policies);
	ADD(test_scalar_types);
	ADD(test_quote);
	ADD(test_explain);
	ADD(test_cmd_check);
#undef ADD
	return _cmocka_run_group_tests("manifest", tests, n, setup, teardown);
}
