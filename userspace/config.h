/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * config.h: the daemon's optional YAML config file (`agentguard daemon
 * --config FILE`). A flat mapping of camelCase keys, read as strictly as a
 * manifest: unknown keys, wrong types and duplicate keys are errors. Keys and
 * defaults are documented in docs/manifest.md ("Daemon configuration").
 */
#ifndef AG_CONFIG_H
#define AG_CONFIG_H

#include <stdbool.h>
#include "agentguard.h"
#include "diag.h"
#include "syslog_out.h"

#define CONFIG_MAX_FILE_BYTES	(1u << 20)
#define CONFIG_PATH_LEN		4096	/* path settings are shorter than this */
#define CONFIG_SOCKET_LEN	108	/* sizeof(sockaddr_un.sun_path) */

#define CONFIG_DEFAULT_MANIFESTS	"/etc/agentguard/agents.d"
#define CONFIG_DEFAULT_STATE_DIR	"/var/lib/agentguard"
#define CONFIG_DEFAULT_SOCKET		"/run/agentguard/agentguard.sock"
#define CONFIG_DEFAULT_CHECKPOINT_MS	1000

#define CONFIG_RINGBUF_MIN	(64u << 10)
#define CONFIG_RINGBUF_MAX	(1u << 30)
#define CONFIG_MAX_SESSIONS_MAX	1048576
#define CONFIG_MAX_NET_RULES_MAX 4194304
#define CONFIG_CHECKPOINT_MIN	10
#define CONFIG_CHECKPOINT_MAX	1000
#define CONFIG_DEFAULT_AGG_WINDOW_MS	1000
#define CONFIG_AGG_WINDOW_MAX	600000		/* 10 minutes */
#define CONFIG_EVENT_RATE_MAX	10000000	/* events/s: one per 100 ns */
#define CONFIG_LOG_ROTATE_DEFAULT (64ULL << 20)
#define CONFIG_LOG_ROTATE_MIN	4096ULL
#define CONFIG_LOG_ROTATE_MAX	(1ULL << 40)
#define CONFIG_LOG_RETAIN_MAX	1000000

/* fileFallback: what a session gets for its files and exec sections when BPF
 * LSM does not enforce them (docs/fallback.md). */
enum file_fallback {
	FILE_FALLBACK_LANDLOCK = 0,	/* Landlock, applied by `agentguard run` (default) */
	FILE_FALLBACK_REFUSE,		/* refuse such sessions */
	FILE_FALLBACK_OBSERVE,		/* no enforcement; would-be denials logged as audit */
};

/* fallbackDenialEvents: when the programs reporting Landlock denials are
 * attached (each attached syscall tracepoint slows every syscall on the host). */
enum denial_events {
	DENIAL_EVENTS_SESSIONS = 0,	/* while a session needs them (default) */
	DENIAL_EVENTS_ALWAYS,		/* from daemon start */
	DENIAL_EVENTS_OFF,		/* never: denials enforced, not logged */
};

/* fallbackDenialHook: how the exits of file syscalls are seen. */
enum denial_hook {
	DENIAL_HOOK_AUTO = 0,		/* syscalls, else sys_exit */
	DENIAL_HOOK_SYSCALLS,		/* tracepoint syscalls:sys_exit_<call>, per file syscall */
	DENIAL_HOOK_SYS_EXIT,		/* tp_btf/sys_exit, every syscall runs the program */
};

#define CONFIG_MAX_ADOPT		256

/* adopt: a cgroup made a session of an agent whenever it exists and holds
 * processes (agentguard adopt, docs/adopt.md). */
struct config_adopt {
	char *agent;
	char *cgroup;			/* absolute path below the cgroup2 mount */
};

/* syslog: the daemon's syslog output (docs/shipping.md); target NULL: off. */
struct config_syslog {
	char *target;			/* target: udp:HOST:PORT, tcp:HOST:PORT, unix:/PATH */
	int facility;			/* facility: 0..23, default auth (4) */
	enum syslog_format format;	/* format: json (default) or ocsf */
	bool entries;			/* entries: send each sealed entry (default true) */
	bool checkpoints;		/* checkpoints: send each checkpoint (default true) */
	unsigned long long queue_bytes;	/* queueBytes: SYSLOG_QUEUE_MIN..SYSLOG_QUEUE_MAX */
};

/* Every string is owned by the struct (free with config__free); cgroup_root
 * NULL or "" means "<cgroup2 mount>/agentguard". */
struct ag_config {
	char *manifests;		/* manifests: directory of *.yaml */
	char *state_dir;		/* stateDir */
	char *socket;			/* socket: shorter than CONFIG_SOCKET_LEN */
	char *cgroup_root;		/* cgroupRoot */
	bool log_allowed_file_opens;	/* logAllowedFileOpens */
	bool watch_manifests;		/* watchManifests: reload when the directory changes */
	struct config_adopt *adopt;	/* adopt: [{agent, cgroup}, ...] */
	size_t nadopt;
	__u32 ringbuf_bytes;		/* ringBufferBytes: power of two, 64 KiB..1 GiB */
	__u32 max_sessions;		/* maxSessions: 1..CONFIG_MAX_SESSIONS_MAX */
	__u32 max_net_rules;		/* maxNetRules: 1..CONFIG_MAX_NET_RULES_MAX */
	__u32 checkpoint_interval_ms;	/* checkpointIntervalMs: 10..1000 */
	enum file_fallback file_fallback;	/* fileFallback */
	enum denial_events denial_events;	/* fallbackDenialEvents */
	enum denial_hook denial_hook;		/* fallbackDenialHook */
	__u32 aggregate_window_ms;	/* aggregateWindowMs: 0 off, 10..CONFIG_AGG_WINDOW_MAX */
	__u32 session_event_rate;	/* sessionEventRate: events/s per session, 0 no limit */
	__u32 session_event_burst;	/* sessionEventBurst: 0 = session_event_rate */
	unsigned long long log_rotate_bytes;	/* logRotateBytes: 4 KiB..1 TiB */
	__u32 log_retain_files;		/* logRetainFiles: 0 keeps every file */
	char *log_archive_dir;		/* logArchiveDir: NULL deletes old files */
	struct config_syslog syslog;	/* syslog */
};

/* config__file_fallback_name, __denial_events_name, __denial_hook_name: the
 * config spelling of a value ("landlock", "sessions", "syscalls", ...). */
const char *config__file_fallback_name(enum file_fallback v);
const char *config__denial_events_name(enum denial_events v);
const char *config__denial_hook_name(enum denial_hook v);

/* config__defaults: fill cfg (uninitialised or freed) with the built-in
 * defaults. Returns 0, or -ENOMEM (cfg then holds NULL strings; it can still
 * be passed to config__free). */
int config__defaults(struct ag_config *cfg);

/* config__set_str: replace the string *dst with a copy of s (a command-line
 * override). Returns 0, or -ENOMEM with *dst unchanged. */
int config__set_str(char **dst, const char *s);

/* config__free: frees the strings of cfg (not cfg itself); cfg can then be
 * filled again with config__defaults. */
void config__free(struct ag_config *cfg);

/* config__parse_buf: apply the settings of the YAML config in buf[0..len)
 * (`file` names it in diagnostics) on top of cfg. Keys absent from the file
 * keep cfg's values; an empty file (or one of only comments) changes nothing.
 * Returns 0, or -EINVAL with every error found appended to dl and cfg left
 * unchanged, or -ENOMEM (cfg unchanged). */
int config__parse_buf(const char *file, const char *buf, size_t len, struct ag_config *cfg,
		      struct diag_list *dl);

/* config__parse_file: read path (at most CONFIG_MAX_FILE_BYTES) and apply it
 * as config__parse_buf does. Returns 0, -EINVAL (errors in dl; cfg
 * unchanged), or -errno if the file cannot be read (also in dl). */
int config__parse_file(const char *path, struct ag_config *cfg, struct diag_list *dl);

#endif
