/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_ocsf.c: the OCSF mapping (userspace/ocsf.c), field by field.
 *
 * tests/unit/ocsf/cases.json holds, for every entry type the daemon writes
 * (and each decision, file op and variant that maps differently), an entry
 * and the whole OCSF event it must become: every field is compared. The
 * invariants of OCSF (type_uid, category, metadata, action and disposition
 * by decision, the entry kept in unmapped) are then checked again from the
 * entry alone, independently of the expected files. Last, every type the
 * daemon's source can emit must have a mapping of its own and a row in
 * docs/events.md: a new type cannot fall through silently.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ocsf.h"
#include "version.h"

#define ORIGIN "agentguard/agent-host-1"

static char top[2048];		/* the repository */

static void find_top(void)
{
	char src[2048];

	snprintf(src, sizeof(src), "%s", __FILE__);
	snprintf(top, sizeof(top), "%s/../..", dirname(src));
	if (access(top, R_OK))
		snprintf(top, sizeof(top), ".");
}

static json_t *load_cases(void)
{
	char path[2200];
	json_error_t jerr;
	json_t *c;

	snprintf(path, sizeof(path), "%s/tests/unit/ocsf/cases.json", top);
	c = json_load_file(path, 0, &jerr);
	if (!json_is_array(c))
		fail_msg("cannot load %s: %s (line %d)", path, jerr.text, jerr.line);
	return c;
}

static char *dump(json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

/* Every case: the whole event, every field. */
static void test_cases(void **state)
{
	json_t *cases = load_cases(), *c;
	size_t i, bad = 0;

	assert_true(json_array_size(cases) >= 30);
	json_array_foreach(cases, i, c) {
		json_t *want = json_deep_copy(json_object_get(c, "ocsf"));
		json_t *got = ocsf__from_entry(json_object_get(c, "entry"), ORIGIN);

		/* the mapper's own version, whatever the file says */
		json_object_set_new(json_object_get(json_object_get(want, "metadata"), "product"),
				    "version", json_string(AG_VERSION));
		assert_non_null(got);
		if (!json_equal(got, want)) {
			const char *k;
			json_t *v;

			print_error("case %zu (%s):\n", i,
				    json_string_value(json_object_get(c, "name")));
			json_object_foreach(want, k, v) {
				if (!json_equal(v, json_object_get(got, k))) {
					char *a = dump(v), *b = dump(json_object_get(got, k));

					print_error("  %s: want %s\n  %*s   got  %s\n", k, a,
						    (int)strlen(k), "", b ? b : "(absent)");
					free(a);
					free(b);
				}
			}
			json_object_foreach(got, k, v) {
				if (!json_object_get(want, k))
					print_error("  %s: not expected\n", k);
			}
			bad++;
		}
		json_decref(want);
		json_decref(got);
	}
	json_decref(cases);
	assert_int_equal(bad, 0);
}

static long long int_at(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	if (k2)
		v = json_object_get(v, k2);
	if (!json_is_integer(v))
		return -1;
	return json_integer_value(v);
}

static const char *str_at(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	if (k2)
		v = json_object_get(v, k2);
	return json_string_value(v);
}

/* The invariants, from the entry alone. */
static void test_invariants(void **state)
{
	json_t *cases = load_cases(), *c;
	size_t i;

	json_array_foreach(cases, i, c) {
		json_t *e = json_object_get(c, "entry");
		json_t *o = ocsf__from_entry(e, ORIGIN), *md = json_object_get(o, "metadata");
		json_t *un = json_object_get(o, "unmapped"), *enr = json_object_get(o, "enrichments");
		const char *type = str_at(e, "type", NULL), *dec = str_at(e, "decision", NULL);
		long long cls = int_at(o, "class_uid", NULL), act = int_at(o, "activity_id", NULL);
		int y, mo, d, h, mi, s, ns, known = ocsf__class_of(type);
		struct tm tm = { 0 };
		char uid[300];
		const char *k;
		json_t *v;

		print_message("case %zu: %s\n", i, type);
		assert_non_null(o);
		/* class and type */
		assert_int_equal(cls, known >= 0 ? known : 0);
		assert_true(act >= 0);
		assert_int_equal(int_at(o, "type_uid", NULL), cls * 100 + act);
		assert_int_equal(int_at(o, "category_uid", NULL), cls / 1000);
		assert_non_null(str_at(o, "class_name", NULL));
		assert_non_null(str_at(o, "activity_name", NULL));
		/* time: epoch ms of the entry's time, truncated */
		assert_int_equal(sscanf(str_at(e, "time", NULL), "%d-%d-%dT%d:%d:%d.%9dZ", &y, &mo,
					&d, &h, &mi, &s, &ns), 7);
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = s;
		assert_int_equal(int_at(o, "time", NULL), timegm(&tm) * 1000LL + ns / 1000000);
		/* metadata */
		assert_string_equal(str_at(md, "version", NULL), "1.1.0");
		assert_string_equal(str_at(md, "product", "name"), "agentguard");
		assert_string_equal(str_at(md, "product", "vendor_name"), "agentguard");
		assert_string_equal(str_at(md, "product", "version"), AG_VERSION);
		assert_int_equal(int_at(md, "sequence", NULL), int_at(e, "seq", NULL));
		snprintf(uid, sizeof(uid), ORIGIN ":%lld", int_at(e, "seq", NULL));
		assert_string_equal(str_at(md, "uid", NULL), uid);
		assert_string_equal(str_at(md, "original_time", NULL), str_at(e, "time", NULL));
		assert_string_equal(str_at(o, "device", "hostname"), str_at(e, "host", NULL));
		/* decision: severity, action, disposition, status */
		if (!dec) {
			assert_int_equal(int_at(o, "action_id", NULL), -1);
			assert_int_equal(int_at(o, "disposition_id", NULL), -1);
		} else if (!strcmp(dec, "deny")) {
			assert_int_equal(int_at(o, "severity_id", NULL), 3);
			assert_int_equal(int_at(o, "action_id", NULL), 2);
			assert_int_equal(int_at(o, "disposition_id", NULL), 2);
			assert_int_equal(int_at(o, "status_id", NULL), 2);
		} else if (!strcmp(dec, "audit")) {
			assert_int_equal(int_at(o, "severity_id", NULL), 2);
			assert_int_equal(int_at(o, "action_id", NULL), 1);
			assert_int_equal(int_at(o, "disposition_id", NULL), 15);
			assert_int_equal(int_at(o, "status_id", NULL), 1);
		} else {
			assert_string_equal(dec, "allow");
			assert_int_equal(int_at(o, "severity_id", NULL), 1);
			assert_int_equal(int_at(o, "action_id", NULL), 1);
			assert_int_equal(int_at(o, "disposition_id", NULL), 1);
			assert_int_equal(int_at(o, "status_id", NULL), 1);
		}
		if (dec) {
			char *p = dump(json_object_get(md, "profiles"));

			assert_non_null(strstr(p, "\"security_control\""));
			free(p);
		}
		/* the agent's identity and lineage */
		if (str_at(e, "agent", "name")) {
			assert_string_equal(str_at(o, "actor", "app_name"), str_at(e, "agent", "name"));
			snprintf(uid, sizeof(uid), "agent/%s", str_at(e, "agent", "name"));
			assert_string_equal(str_at(json_object_get(o, "actor"), "user", "uid"), uid);
		}
		if (str_at(e, "session", "id") && known >= 0)
			assert_string_equal(str_at(json_object_get(o, "actor"), "session", "uid"),
					    str_at(e, "session", "id"));
		if (str_at(e, "agent", "generation") && known >= 0)
			assert_string_equal(str_at(json_array_get(enr, 0), "value", NULL),
					    str_at(e, "agent", "generation"));
		if (json_object_get(json_object_get(e, "session"), "lineage") && known >= 0)
			assert_true(json_equal(json_object_get(json_object_get(
				json_array_get(enr, 1), "data"), "lineage"),
				json_object_get(json_object_get(e, "session"), "lineage")));
		/* every field of the entry but seq, time, host, unchanged */
		assert_int_equal(json_object_size(un), json_object_size(e) - 3);
		json_object_foreach(e, k, v) {
			if (strcmp(k, "seq") && strcmp(k, "time") && strcmp(k, "host"))
				assert_true(json_equal(json_object_get(un, k), v));
		}
		/* the class's own objects */
		switch (cls) {
		case 4001:
			assert_true(json_object_get(o, "dst_endpoint") ||
				    json_object_get(o, "src_endpoint"));
			assert_true(json_equal(json_object_get(json_object_get(o,
				!strcmp(type, "network.bind") ? "src_endpoint" : "dst_endpoint"),
				"port"), json_object_get(json_object_get(e, "target"), "port")));
			assert_string_equal(str_at(o, "connection_info", "protocol_name"),
					    str_at(e, "target", "protocol"));
			break;
		case 1001:
			assert_string_equal(str_at(o, "file", "path"), str_at(e, "target", "path"));
			break;
		case 1007:
			assert_int_equal(int_at(json_object_get(o, "process"), "pid", NULL),
					 int_at(e, "process", "pid"));
			break;
		case 3003:
			assert_string_equal(str_at(o, "user", "name"), str_at(e, "agent", "name"));
			break;
		case 6002:
			assert_non_null(json_object_get(o, "app"));
			break;
		}
		json_decref(o);
	}
	json_decref(cases);
}

/* Each mapped type has a case with the class the table gives it. */
static void test_every_type_has_a_case(void **state)
{
	json_t *cases = load_cases(), *c;
	const char *t;
	size_t i, j;

	for (i = 0; (t = ocsf__type(i)); i++) {
		bool found = false;

		json_array_foreach(cases, j, c) {
			json_t *e = json_object_get(c, "entry");

			if (!strcmp(json_string_value(json_object_get(e, "type")), t)) {
				json_t *o = ocsf__from_entry(e, ORIGIN);

				assert_int_equal(int_at(o, "class_uid", NULL), ocsf__class_of(t));
				json_decref(o);
				found = true;
			}
		}
		if (!found)
			fail_msg("type '%s' has no case in tests/unit/ocsf/cases.json", t);
	}
	assert_true(i >= 16);
	json_decref(cases);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), n);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/*
 * Every entry type the daemon's source writes (`type = "<t>"` in
 * userspace/<x>.c: the ev initialisers and assignments) has a mapping of its
 * own, and a row in the OCSF section of docs/events.md.
 */
static void test_daemon_types_mapped(void **state)
{
	char dir[2200], path[2600], *docs, *ocsf_sec;
	int ntypes = 0;
	bool saw_connect = false, saw_lost = false;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/userspace", top);
	snprintf(path, sizeof(path), "%s/docs/events.md", top);
	docs = read_file(path);
	ocsf_sec = strstr(docs, "\n## OCSF");
	assert_non_null(ocsf_sec);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char *src, *p;

		if (n < 3 || strcmp(de->d_name + n - 2, ".c") || !strncmp(de->d_name, "cmd_", 4) ||
		    !strcmp(de->d_name, "ocsf.c"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		src = read_file(path);
		/* each string literal assigned to a .type: `.type = "a",`,
		 * `e.type = c ? "a" : "b";` */
		for (p = src; (p = strstr(p, ".type = ")); ) {
			char *end = p + strcspn(p, ";,}");

			for (p += strlen(".type = "); (p = memchr(p, '"', end - p)); ) {
				char t[64], row[80];
				size_t len;

				p++;
				len = strcspn(p, "\"");
				if (len == 0 || len >= sizeof(t) || p + len > end)
					break;
				snprintf(t, sizeof(t), "%.*s", (int)len, p);
				p += len + 1;
				if (!strchr(t, '.'))
					continue;	/* not an entry type */
				ntypes++;
				saw_connect |= !strcmp(t, "network.connect");
				saw_lost |= !strcmp(t, "events.lost");
				if (ocsf__class_of(t) < 0)
					fail_msg("%s writes entry type '%s', which has no OCSF "
						 "mapping (userspace/ocsf.c)", de->d_name, t);
				snprintf(row, sizeof(row), "| `%s` |", t);
				if (!strstr(ocsf_sec, row))
					fail_msg("entry type '%s' (%s) has no row in the OCSF "
						 "section of docs/events.md", t, de->d_name);
			}
			p = end;
		}
		free(src);
	}
	closedir(d);
	free(docs);
	/* the scan itself works: it finds what the daemon is known to write */
	assert_true(ntypes >= 15);
	assert_true(saw_connect);
	assert_true(saw_lost);
}

static void test_unknown_and_invalid(void **state)
{
	json_t *e, *o;

	assert_int_equal(ocsf__class_of("no.such"), -ENOENT);
	assert_int_equal(ocsf__class_of(NULL), -ENOENT);
	assert_int_equal(ocsf__class_of("network.connect"), 4001);
	assert_null(ocsf__type(10000));
	/* no origin: agentguard/<host> */
	e = json_pack("{s:i, s:s, s:s, s:s}", "seq", 7, "time", "2026-01-01T00:00:00Z",
		      "host", "h", "type", "daemon.stop");
	o = ocsf__from_entry(e, NULL);
	assert_string_equal(str_at(json_object_get(o, "metadata"), "uid", NULL), "agentguard/h:7");
	assert_int_equal(int_at(o, "time", NULL), 1767225600000LL);
	json_decref(o);
	/* not entries */
	json_object_del(e, "time");
	errno = 0;
	assert_null(ocsf__from_entry(e, NULL));
	assert_int_equal(errno, EINVAL);
	json_object_set_new(e, "time", json_string("yesterday"));
	assert_null(ocsf__from_entry(e, NULL));
	json_object_set_new(e, "time", json_string("2026-01-01T00:00:00Z"));
	json_object_set_new(e, "seq", json_string("7"));
	assert_null(ocsf__from_entry(e, NULL));
	json_object_set_new(e, "seq", json_integer(7));
	json_object_del(e, "type");
	assert_null(ocsf__from_entry(e, NULL));
	json_decref(e);
	e = json_array();
	assert_null(ocsf__from_entry(e, NULL));
	json_decref(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_every_type_has_a_case),
		cmocka_unit_test(test_daemon_types_mapped),
		cmocka_unit_test(test_unknown_and_invalid),
	};

	find_top();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
