/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* test_config.c: the daemon config file parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"

static int parse(const char *text, struct ag_config *cfg, struct diag_list *dl)
{
	return config__parse_buf("agentguard.yaml", text, strlen(text), cfg, dl);
}

static void test_defaults(void **state)
{
	struct ag_config cfg;

	assert_int_equal(config__defaults(&cfg), 0);
	assert_string_equal(cfg.manifests, "/etc/agentguard/agents.d");
	assert_string_equal(cfg.state_dir, "/var/lib/agentguard");
	assert_string_equal(cfg.socket, "/run/agentguard/agentguard.sock");
	assert_null(cfg.cgroup_root);
	assert_false(cfg.log_allowed_file_opens);
	assert_int_equal(cfg.ringbuf_bytes, AG_DEFAULT_RINGBUF_BYTES);
	assert_int_equal(cfg.max_sessions, AG_DEFAULT_MAX_SESSIONS);
	assert_int_equal(cfg.max_net_rules, AG_DEFAULT_MAX_NET_RULES);
	assert_int_equal(cfg.checkpoint_interval_ms, 1000);
	assert_true(cfg.watch_manifests);

	assert_int_equal(config__set_str(&cfg.socket, "/tmp/x.sock"), 0);
	assert_string_equal(cfg.socket, "/tmp/x.sock");
	config__free(&cfg);
	assert_null(cfg.manifests);
	assert_null(cfg.socket);
}

static void test_full(void **state)
{
	struct diag_list dl = { 0 };
	struct ag_config cfg;

	config__defaults(&cfg);
	assert_int_equal(parse("# agentguard daemon configuration\n"
			       "manifests: /srv/agents.d\n"
			       "stateDir: '/srv/state'\n"
			       "socket: \"/run/ag.sock\"\n"
			       "cgroupRoot: /sys/fs/cgroup/system.slice/agentguard.service\n"
			       "logAllowedFileOpens: true\n"
			       "ringBufferBytes: 16777216\n"
			       "maxSessions: 100\n"
			       "maxNetRules: 1000000\n"
			       "checkpointIntervalMs: 250\n"
			       "watchManifests: false\n", &cfg, &dl), 0);
	assert_false(cfg.watch_manifests);
	assert_int_equal(dl.n, 0);
	assert_string_equal(cfg.manifests, "/srv/agents.d");
	assert_string_equal(cfg.state_dir, "/srv/state");
	assert_string_equal(cfg.socket, "/run/ag.sock");
	assert_string_equal(cfg.cgroup_root, "/sys/fs/cgroup/system.slice/agentguard.service");
	assert_true(cfg.log_allowed_file_opens);
	assert_int_equal(cfg.ringbuf_bytes, 16u << 20);
	assert_int_equal(cfg.max_sessions, 100);
	assert_int_equal(cfg.max_net_rules, 1000000);
	assert_int_equal(cfg.checkpoint_interval_ms, 250);

	/* a second file only changes what it names */
	assert_int_equal(parse("ringBufferBytes: 64KiB\nlogAllowedFileOpens: false\n"
			       "cgroupRoot: ''\n", &cfg, &dl), 0);
	assert_int_equal(cfg.ringbuf_bytes, 64u << 10);
	assert_false(cfg.log_allowed_file_opens);
	assert_string_equal(cfg.cgroup_root, "");
	assert_string_equal(cfg.manifests, "/srv/agents.d");
	assert_int_equal(parse("ringBufferBytes: 1GiB\n", &cfg, &dl), 0);
	assert_int_equal(cfg.ringbuf_bytes, 1u << 30);
	assert_int_equal(parse("ringBufferBytes: 8MiB\n", &cfg, &dl), 0);
	assert_int_equal(cfg.ringbuf_bytes, 8u << 20);
	config__free(&cfg);
}

/* An empty file or one of only comments (a shipped template) is all
 * defaults. */
static void test_empty(void **state)
{
	struct diag_list dl = { 0 };
	struct ag_config cfg;

	config__defaults(&cfg);
	assert_int_equal(parse("", &cfg, &dl), 0);
	assert_int_equal(parse("# manifests: /etc/agentguard/agents.d\n# stateDir: /x\n", &cfg,
			       &dl), 0);
	assert_int_equal(parse("---\n", &cfg, &dl), 0);
	assert_int_equal(dl.n, 0);
	assert_string_equal(cfg.manifests, CONFIG_DEFAULT_MANIFESTS);
	config__free(&cfg);
}

struct bad {
	const char *text;
	int line, col;
	const char *msg;
};

static const struct bad bads[] = {
	{ "manifest: /x\n", 1, 1, "unknown key 'manifest' at the top level (expected one of: "
	  "manifests, stateDir, socket, cgroupRoot, logAllowedFileOpens, ringBufferBytes, "
	  "maxSessions, maxNetRules, checkpointIntervalMs, fileFallback, fallbackDenialEvents, "
	  "fallbackDenialHook, watchManifests, adopt, logRotateBytes, logRetainFiles, "
	  "logArchiveDir, aggregateWindowMs, sessionEventRate, sessionEventBurst, syslog)" },
	{ "watchManifests: 1\n", 1, 17,
	  "expected true or false for 'watchManifests', got an integer '1'" },
	{ "stateDir: var/lib/x\n", 1, 11,
	  "relative path 'var/lib/x' for 'stateDir' (paths must be absolute)" },
	{ "manifests: [/a, /b]\n", 1, 12,
	  "expected an absolute path for 'manifests', got a sequence" },
	{ "manifests: ''\n", 1, 12, "relative path '' for 'manifests'" },
	{ "socket: /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n", 1, 9, "is too long (120 bytes, limit 107)" },
	{ "logAllowedFileOpens: yes\n", 1, 22,
	  "expected true or false for 'logAllowedFileOpens', got a string 'yes'" },
	{ "ringBufferBytes: 100000\n", 1, 18, "'100000' for 'ringBufferBytes' is not a power of two" },
	{ "ringBufferBytes: 32768\n", 1, 18,
	  "'32768' out of range for 'ringBufferBytes' (expected 65536..1073741824)" },
	{ "ringBufferBytes: 2GiB\n", 1, 18,
	  "'2GiB' out of range for 'ringBufferBytes' (expected 64KiB..1GiB)" },
	{ "ringBufferBytes: 16MB\n", 1, 18, "invalid size '16MB' for 'ringBufferBytes'" },
	{ "maxSessions: 0\n", 1, 14, "'0' out of range for 'maxSessions' (expected 1..1048576)" },
	{ "maxSessions: -5\n", 1, 14, "'-5' out of range for 'maxSessions'" },
	{ "maxNetRules: lots\n", 1, 14, "expected an integer for 'maxNetRules', got a string 'lots'" },
	{ "maxNetRules: 99999999999999999999999\n", 1, 14, "out of range for 'maxNetRules'" },
	{ "checkpointIntervalMs: 5\n", 1, 23,
	  "'5' out of range for 'checkpointIntervalMs' (expected 10..1000)" },
	{ "checkpointIntervalMs: 1001\n", 1, 23, "out of range for 'checkpointIntervalMs'" },
	{ "maxSessions: 10\nmaxSessions: 20\n", 2, 1,
	  "duplicate key 'maxSessions' (first at line 1, column 1)" },
	{ "- manifests: /x\n", 1, 1, "expected a mapping at the top level, got a sequence" },
	{ "socket: &s /x\n", 1, 9, "anchors and aliases are not allowed" },
	{ "socket: [/x\n", 2, 1, "invalid YAML" },
	{ "adopt: web\n", 1, 8, "expected a sequence of {agent, cgroup} for 'adopt', got a string 'web'" },
	{ "adopt:\n  - web\n", 2, 5, "expected a mapping {agent, cgroup} for 'adopt'" },
	{ "adopt:\n  - agent: web\n", 2, 5, "missing 'cgroup' in 'adopt'" },
	{ "adopt:\n  - {cgroup: /sys/fs/cgroup/x}\n", 2, 5, "missing 'agent' in 'adopt'" },
	{ "adopt:\n  - {agent: web, cgroup: /x, unit: y}\n", 2, 30,
	  "unknown key 'unit' in 'adopt' (expected agent, cgroup)" },
	{ "adopt:\n  - {agent: Web_1, cgroup: /x}\n", 2, 13, "invalid agent name 'Web_1' in 'adopt'" },
	{ "adopt:\n  - {agent: web, cgroup: sys/fs}\n", 2, 26,
	  "relative path 'sys/fs' for 'cgroup' (paths must be absolute)" },
	{ "adopt:\n  - {agent: a, cgroup: /x}\n  - {agent: b, cgroup: /x}\n", 3, 24,
	  "cgroup '/x' is in 'adopt' twice" },
	{ "logRotateBytes: 4095\n", 1, 17,
	  "'4095' out of range for 'logRotateBytes' (expected 4096..1099511627776)" },
	{ "logRotateBytes: 2TiB\n", 1, 17,
	  "'2TiB' out of range for 'logRotateBytes' (expected 4096..1099511627776 bytes)" },
	{ "logRotateBytes: 64MB\n", 1, 17, "invalid size '64MB' for 'logRotateBytes' (expected "
	  "bytes, or a number with unit KiB, MiB, GiB or TiB)" },
	{ "logRotateBytes: [1]\n", 1, 17,
	  "expected a size in bytes for 'logRotateBytes', got a sequence" },
	{ "logRetainFiles: -1\n", 1, 17, "'-1' out of range for 'logRetainFiles' (expected 0..1000000)" },
	{ "logRetainFiles: many\n", 1, 17, "expected an integer for 'logRetainFiles'" },
	{ "logRetainFiles: 3\nlogArchiveDir: archive\n", 2, 16,
	  "relative path 'archive' for 'logArchiveDir' (paths must be absolute)" },
	{ "logArchiveDir: /srv/archive\n", 1, 16, "'logArchiveDir' needs 'logRetainFiles'" },
	{ "logRetainFiles: 0\nlogArchiveDir: /srv/archive\n", 2, 16,
	  "'logArchiveDir' needs 'logRetainFiles' (how many entry files to keep before "
	  "archiving older ones)" },
	{ "aggregateWindowMs: 5\n", 1, 20,
	  "'5' out of range for 'aggregateWindowMs' (expected 0 (off) or 10..600000)" },
	{ "aggregateWindowMs: 600001\n", 1, 20,
	  "'600001' out of range for 'aggregateWindowMs' (expected 0..600000)" },
	{ "aggregateWindowMs: -1\n", 1, 20, "out of range for 'aggregateWindowMs'" },
	{ "aggregateWindowMs: 1s\n", 1, 20,
	  "expected an integer for 'aggregateWindowMs', got a string '1s'" },
	{ "sessionEventRate: 10000001\n", 1, 19,
	  "'10000001' out of range for 'sessionEventRate' (expected 0..10000000)" },
	{ "sessionEventRate: fast\n", 1, 19, "expected an integer for 'sessionEventRate'" },
	{ "sessionEventRate: 1000\nsessionEventBurst: 0\n", 2, 20,
	  "'0' out of range for 'sessionEventBurst' (expected 1..10000000)" },
	{ "sessionEventBurst: 100\n", 1, 20, "'sessionEventBurst' needs 'sessionEventRate' "
	  "(the events per second a session may emit)" },
	{ "sessionEventRate: 0\nsessionEventBurst: 100\n", 2, 20,
	  "'sessionEventBurst' needs 'sessionEventRate'" },
};

static void test_errors(void **state)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct diag_list dl = { 0 };
		struct ag_config cfg;

		config__defaults(&cfg);
		assert_int_equal(parse(bads[i].text, &cfg, &dl), -EINVAL);
		if (dl.n != 1 || dl.v[0].line != bads[i].line || dl.v[0].col != bads[i].col ||
		    !strstr(dl.v[0].msg, bads[i].msg)) {
			fprintf(stderr, "case %zu: want %d:%d '%s'\n", i, bads[i].line,
				bads[i].col, bads[i].msg);
			diag_list__print(&dl, stderr);
		}
		assert_int_equal(dl.n, 1);
		assert_int_equal(dl.v[0].line, bads[i].line);
		assert_int_equal(dl.v[0].col, bads[i].col);
		assert_non_null(strstr(dl.v[0].msg, bads[i].msg));
		assert_string_equal(dl.v[0].file, "agentguard.yaml");
		diag_list__free(&dl);
		config__free(&cfg);
	}
}

static void test_adopt(void **state)
{
	struct diag_list dl = { 0 };
	struct ag_config cfg;

	config__defaults(&cfg);
	assert_int_equal(cfg.nadopt, 0);
	assert_int_equal(parse("adopt:\n"
			       "  - agent: web-agent\n"
			       "    cgroup: /sys/fs/cgroup/system.slice/web-agent.service\n"
			       "  - {cgroup: '/sys/fs/cgroup/machine.slice/c1', agent: c1}\n",
			       &cfg, &dl), 0);
	assert_int_equal(dl.n, 0);
	assert_int_equal(cfg.nadopt, 2);
	assert_string_equal(cfg.adopt[0].agent, "web-agent");
	assert_string_equal(cfg.adopt[0].cgroup, "/sys/fs/cgroup/system.slice/web-agent.service");
	assert_string_equal(cfg.adopt[1].agent, "c1");
	assert_string_equal(cfg.adopt[1].cgroup, "/sys/fs/cgroup/machine.slice/c1");
	/* a bad list leaves the good one in place */
	assert_int_equal(parse("adopt:\n  - {agent: x}\n", &cfg, &dl), -EINVAL);
	assert_int_equal(cfg.nadopt, 2);
	assert_string_equal(cfg.adopt[1].agent, "c1");
	diag_list__free(&dl);
	config__free(&cfg);
	assert_null(cfg.adopt);
}

/* Any error leaves cfg as it was, and every error is reported. */
static void test_error_leaves_cfg(void **state)
{
	struct diag_list dl = { 0 };
	struct ag_config cfg;

	config__defaults(&cfg);
	assert_int_equal(parse("manifests: /new\nstateDir: /new-state\nmaxSessions: 7\n"
			       "socket: relative\nbogus: 1\n", &cfg, &dl), -EINVAL);
	assert_int_equal(dl.n, 2);
	assert_int_equal(dl.v[0].line, 4);
	assert_int_equal(dl.v[1].line, 5);
	assert_string_equal(cfg.manifests, CONFIG_DEFAULT_MANIFESTS);
	assert_string_equal(cfg.state_dir, CONFIG_DEFAULT_STATE_DIR);
	assert_int_equal(cfg.max_sessions, AG_DEFAULT_MAX_SESSIONS);
	diag_list__free(&dl);
	config__free(&cfg);
}

/* fileFallback, fallbackDenialEvents, fallbackDenialHook (docs/fallback.md) */
static void test_fallback_keys(void **state)
{
	struct diag_list dl = { 0 };
	struct ag_config cfg;

	config__defaults(&cfg);
	assert_int_equal(cfg.file_fallback, FILE_FALLBACK_LANDLOCK);
	assert_int_equal(cfg.denial_events, DENIAL_EVENTS_SESSIONS);
	assert_int_equal(cfg.denial_hook, DENIAL_HOOK_AUTO);
	assert_string_equal(config__file_fallback_name(cfg.file_fallback), "landlock");
	assert_int_equal(parse("fileFallback: observe\nfallbackDenialEvents: always\n"
			       "fallbackDenialHook: sys_exit\n", &cfg, &dl), 0);
	assert_int_equal(cfg.file_fallback, FILE_FALLBACK_OBSERVE);
	assert_int_equal(cfg.denial_events, DENIAL_EVENTS_ALWAYS);
	assert_int_equal(cfg.denial_hook, DENIAL_HOOK_SYS_EXIT);
	assert_string_equal(config__denial_events_name(cfg.denial_events), "always");
	assert_string_equal(config__denial_hook_name(cfg.denial_hook), "sys_exit");
	assert_int_equal(parse("fileFallback: refuse\nfallbackDenialEvents: 'off'\n"
			       "fallbackDenialHook: syscalls\n", &cfg, &dl), 0);
	assert_int_equal(cfg.file_fallback, FILE_FALLBACK_REFUSE);
	assert_int_equal(cfg.denial_events, DENIAL_EVENTS_OFF);
	assert_int_equal(cfg.denial_hook, DENIAL_HOOK_SYSCALLS);
	assert_int_equal(dl.n, 0);

	/* a typo or a wrong type is an error, and changes nothing */
	assert_int_equal(parse("fileFallback: landlok\n", &cfg, &dl), -EINVAL);
	assert_int_equal(dl.n, 1);
	assert_string_equal(dl.v[0].msg, "invalid value 'landlok' for 'fileFallback' "
			    "(expected landlock, refuse or observe)");
	assert_int_equal(parse("fallbackDenialEvents: 1\nfileFallback: observe\n", &cfg, &dl),
			 -EINVAL);
	assert_int_equal(dl.n, 2);
	assert_string_equal(dl.v[1].msg, "expected sessions, always or off for "
			    "'fallbackDenialEvents', got an integer '1'");
	assert_int_equal(cfg.file_fallback, FILE_FALLBACK_REFUSE);
	diag_list__free(&dl);
	config__free(&cfg);
}

static void test_log_keys(void **state)
{
	struct diag_list dl = { 0 };
	struct ag_config cfg;

	config__defaults(&cfg);
	assert_int_equal(cfg.log_rotate_bytes, 64ULL << 20);
	assert_int_equal(cfg.log_retain_files, 0);
	assert_null(cfg.log_archive_dir);
	assert_int_equal(parse("logRotateBytes: 256MiB\nlogRetainFiles: 40\n"
			       "logArchiveDir: /srv/agentguard-archive\n", &cfg, &dl), 0);
	assert_int_equal(cfg.log_rotate_bytes, 256ULL << 20);
	assert_int_equal(cfg.log_retain_files, 40);
	assert_string_equal(cfg.log_archive_dir, "/srv/agentguard-archive");
	assert_int_equal(parse("logRotateBytes: 4096\n", &cfg, &dl), 0);
	assert_int_equal(cfg.log_rotate_bytes, 4096);
	assert_int_equal(parse("logRotateBytes: 1TiB\nlogRetainFiles: 1000000\n", &cfg, &dl), 0);
	assert_int_equal(cfg.log_rotate_bytes, 1ULL << 40);
	assert_int_equal(cfg.log_retain_files, 1000000);
	/* an archive with an earlier file's limit is fine */
	assert_int_equal(parse("logArchiveDir: /srv/b\n", &cfg, &dl), 0);
	assert_string_equal(cfg.log_archive_dir, "/srv/b");
	/* an error changes nothing */
	assert_int_equal(parse("logRetainFiles: 7\nlogRotateBytes: 1KiB\n", &cfg, &dl), -EINVAL);
	assert_int_equal(cfg.log_retain_files, 1000000);
	assert_string_equal(cfg.log_archive_dir, "/srv/b");
	assert_int_equal(dl.n, 1);
	diag_list__free(&dl);
	config__free(&cfg);
	assert_null(cfg.log_archive_dir);
}

static void test_storm_keys(void **state)
{
	struct diag_list dl = { 0 };
	struct ag_config cfg;

	config__defaults(&cfg);
	assert_int_equal(cfg.aggregate_window_ms, 1000);
	assert_int_equal(cfg.session_event_rate, 0);
	assert_int_equal(cfg.session_event_burst, 0);
	assert_int_equal(parse("aggregateWindowMs: 250\nsessionEventRate: 5000\n"
			       "sessionEventBurst: 20000\n", &cfg, &dl), 0);
	assert_int_equal(cfg.aggregate_window_ms, 250);
	assert_int_equal(cfg.session_event_rate, 5000);
	assert_int_equal(cfg.session_event_burst, 20000);
	/* 0 turns aggregation off; the bounds are accepted */
	assert_int_equal(parse("aggregateWindowMs: 0\n", &cfg, &dl), 0);
	assert_int_equal(cfg.aggregate_window_ms, 0);
	assert_int_equal(parse("aggregateWindowMs: 10\nsessionEventRate: 10000000\n", &cfg, &dl), 0);
	assert_int_equal(cfg.aggregate_window_ms, 10);
	assert_int_equal(cfg.session_event_rate, 10000000);
	assert_int_equal(parse("aggregateWindowMs: 600000\n", &cfg, &dl), 0);
	assert_int_equal(cfg.aggregate_window_ms, 600000);
	/* a burst on top of a rate set by an earlier file is fine */
	assert_int_equal(parse("sessionEventBurst: 1\n", &cfg, &dl), 0);
	assert_int_equal(cfg.session_event_burst, 1);
	assert_int_equal(dl.n, 0);
	/* an error changes nothing */
	assert_int_equal(parse("sessionEventRate: 7\naggregateWindowMs: 9\n", &cfg, &dl), -EINVAL);
	assert_int_equal(cfg.session_event_rate, 10000000);
	assert_int_equal(cfg.aggregate_window_ms, 600000);
	assert_int_equal(dl.n, 1);
	diag_list__free(&dl);
	config__free(&cfg);
}

static void test_syslog_keys(void **state)
{
	static const struct { const char *text; int line, col; const char *msg; } bad[] = {
		{ "syslog: udp:h:514\n", 1, 9, "expected a mapping {target, facility" },
		{ "syslog: {facility: auth}\n", 1, 9, "missing 'target' in 'syslog'" },
		{ "syslog: {target: 'udp:h'}\n", 1, 18, "invalid syslog target 'udp:h': no port" },
		{ "syslog: {target: 'tls:h:6514'}\n", 1, 18, "expected udp:HOST:PORT, tcp:HOST:PORT" },
		{ "syslog: {target: 'udp:h:99999'}\n", 1, 18, "the port must be a number 1..65535" },
		{ "syslog: {target: 'unix:/dev/log', facility: local9}\n", 1, 45,
		  "invalid facility 'local9'" },
		{ "syslog: {target: 'unix:/dev/log', format: cef}\n", 1, 43,
		  "invalid value 'cef' for 'format' (expected json or ocsf)" },
		{ "syslog: {target: 'unix:/dev/log', queueBytes: 1KiB}\n", 1, 47,
		  "out of range for 'queueBytes'" },
		{ "syslog: {target: 'unix:/dev/log', entries: yes}\n", 1, 44,
		  "expected true or false for 'entries'" },
		{ "syslog: {target: 'unix:/dev/log', port: 514}\n", 1, 35,
		  "unknown key 'port' in 'syslog'" },
	};
	struct diag_list dl = { 0 };
	struct ag_config cfg;

	config__defaults(&cfg);
	assert_null(cfg.syslog.target);
	assert_int_equal(cfg.syslog.facility, 4);
	assert_int_equal(cfg.syslog.format, SYSLOG_FORMAT_JSON);
	assert_true(cfg.syslog.entries);
	assert_true(cfg.syslog.checkpoints);
	assert_int_equal(cfg.syslog.queue_bytes, 16u << 20);
	assert_int_equal(parse("syslog:\n  target: tcp:[::1]:6514\n  facility: local3\n"
			       "  format: ocsf\n  entries: false\n  queueBytes: 64KiB\n",
			       &cfg, &dl), 0);
	assert_string_equal(cfg.syslog.target, "tcp:[::1]:6514");
	assert_int_equal(cfg.syslog.facility, 19);
	assert_int_equal(cfg.syslog.format, SYSLOG_FORMAT_OCSF);
	assert_false(cfg.syslog.entries);
	assert_true(cfg.syslog.checkpoints);
	assert_int_equal(cfg.syslog.queue_bytes, 64u << 10);
	/* another file: keys it leaves out keep their values */
	assert_int_equal(parse("syslog: {target: 'unix:/dev/log', checkpoints: false}\n",
			       &cfg, &dl), 0);
	assert_string_equal(cfg.syslog.target, "unix:/dev/log");
	assert_int_equal(cfg.syslog.facility, 19);
	assert_false(cfg.syslog.checkpoints);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].text, &cfg, &dl) != -EINVAL || dl.n != 1 ||
		    dl.v[0].line != bad[i].line || dl.v[0].col != bad[i].col ||
		    !strstr(dl.v[0].msg, bad[i].msg)) {
			fprintf(stderr, "case %zu: want %d:%d '%s'\n", i, bad[i].line,
				bad[i].col, bad[i].msg);
			diag_list__print(&dl, stderr);
			fail();
		}
		diag_list__free(&dl);
		/* an error changes nothing */
		assert_string_equal(cfg.syslog.target, "unix:/dev/log");
		assert_int_equal(cfg.syslog.facility, 19);
	}
	config__free(&cfg);
	assert_null(cfg.syslog.target);
}

static void test_file(void **state)
{
	char path[] = "/tmp/agentguard-test-config-XXXXXX";
	struct diag_list dl = { 0 };
	struct ag_config cfg;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "maxSessions: 42\n", 16), 16);
	close(fd);
	config__defaults(&cfg);
	assert_int_equal(config__parse_file(path, &cfg, &dl), 0);
	assert_int_equal(cfg.max_sessions, 42);
	unlink(path);

	assert_int_equal(config__parse_file(path, &cfg, &dl), -ENOENT);
	assert_int_equal(dl.n, 1);
	assert_string_equal(dl.v[0].file, path);
	assert_string_equal(dl.v[0].msg, "cannot read file: No such file or directory");
	diag_list__free(&dl);
	config__free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_error_leaves_cfg),
		cmocka_unit_test(test_fallback_keys),
		cmocka_unit_test(test_log_keys),
		cmocka_unit_test(test_storm_keys),
		cmocka_unit_test(test_syslog_keys),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
