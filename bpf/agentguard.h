/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * agentguard.h: the ABI shared by the BPF programs (bpf/agentguard.bpf.c) and
 * userspace (userspace/loader.c, userspace/compile.c). Every map key and value,
 * every ring buffer record and every constant both sides rely on lives here and
 * nowhere else. Types are fixed-width and laid out without implicit padding.
 *
 * Semantics, with examples
 * ------------------------
 * Sessions. Every session is a cgroup v2 directory created by the daemon. The
 * `sessions` map is keyed by that cgroup's id (its inode number) and holds the
 * chain of policy ids from the root session to this one:
 *
 *     <root>/ticket-summarizer/01JD...            depth 1, policy = {7}
 *     <root>/ticket-summarizer/01JD.../01JE...    depth 2, policy = {7, 9}
 *
 * An action is allowed only if every policy in the chain allows it (a sub-agent
 * may do only what it and every ancestor allow). A process in a cgroup the agent
 * made below its session is judged by the deepest session above it. A process
 * outside every session is never judged: the programs are attached at the
 * agentguard root only, and they return "allow" when no session is found.
 *
 * Network egress. Rules are compiled into one LPM trie, `net_rules`, keyed by
 * (policy id, kind, address). IPv4 rules are stored as IPv4-mapped IPv6
 * (::ffff:a.b.c.d/96+n), so connect4 to 10.0.0.1 and connect6 to ::ffff:10.0.0.1
 * are the same lookup: there is no bypass through mapped addresses. Each trie
 * value is the union of the port ranges of every rule (of that policy and kind)
 * whose CIDR contains the entry's prefix, so the single longest-prefix match
 * answers for every rule that covers the address:
 *
 *     allow 10.0.0.0/8 ports [443]; allow 10.1.0.0/16 ports [80]
 *     -> entry 10.0.0.0/8  {443}
 *        entry 10.1.0.0/16 {80, 443}      (10.1.2.3:443 is allowed by rule 0)
 *
 * The decision for one policy: a matching deny entry (kind AG_NET_DENY) denies;
 * else a matching allow entry allows; else the policy's egress default.
 *
 * Bind. `bind.allow` ports are held in the policy itself (at most
 * AG_BIND_MAX_RANGES merged ranges). bind() to port 0 (an ephemeral port) is
 * judged like any port outside the list: denied when a bind section exists.
 *
 * Files and exec. Path rules are compiled into one LPM trie, `path_rules`,
 * keyed by (policy id, kind, path bytes). A tree rule "dir/" is stored as its
 * bytes ("/srv/tickets/"); an exact rule as its bytes plus a NUL
 * ("/etc/hosts\0"). A lookup uses the resolved path plus its NUL, so a tree
 * rule matches every path below it and an exact rule only itself. As for
 * CIDRs, each value is the union of every rule of that policy and kind whose
 * pattern is a prefix of the entry, so one longest-prefix lookup answers for
 * all of them:
 *
 *     read /etc/; deny /etc/shadow
 *     -> "/etc/"          {READ, read rule 0}
 *        "/etc/shadow\0"  {READ|DENY, read rule 0, deny rule 0}
 *
 * Decision for one policy: DENY refuses everything; WRITE grants read and
 * write; READ grants read only; a path matched by no rule gets the section's
 * default (allow: read and write; deny: nothing). Paths are judged on their
 * first AG_PATH_KEY_LEN - 1 bytes: rules are never longer, so a longer path
 * is still matched exactly by every tree rule above it.
 *
 * A directory is judged as its path plus "/" ("/srv/tickets/"), so the tree
 * rule "/srv/tickets/" covers the directory itself; exact rules name files.
 * Every proper ancestor directory of a files rule also gets an exact entry
 * ("/srv/\0" for "/srv/tickets/") carrying AG_ACC_NESTED and naming the first
 * rule below it in byte order: renaming such a directory would move the
 * rules below it, so rename refuses it.
 *
 * Deny by inode. Paths name links, not files: a hard link or a bind mount
 * gives a denied file another path. `deny_inodes` holds the (device, inode)
 * of every files.deny path that existed when the policy was loaded (the
 * loader stat()s them); opens and path operations on such an inode are
 * refused whatever the path, and for a tree deny rule also on everything
 * whose dentry lies below that directory (a d_parent walk of at most 64
 * levels, so bind mounts of a denied tree are covered too; deeper objects are
 * refused). ag_policy.flags says whether a policy has such entries, so
 * policies without them pay nothing. Details and limits: docs/files.md.
 */
#ifndef AGENTGUARD_H
#define AGENTGUARD_H

#ifdef __BPF__
/* vmlinux.h provides __u8 .. __u64 and struct bpf_spin_lock */
#else
#include <linux/types.h>
#include <linux/bpf.h>
#endif

#define AG_MAX_DEPTH		8	/* session nesting levels judged */
#define AG_MAX_CGROUP_DEPTH	16	/* levels below the root walked to find a session */
#define AG_NET_MAX_RANGES	16	/* port ranges per trie entry after union */
#define AG_BIND_MAX_RANGES	16	/* merged bind port ranges per policy */
#define AG_COMM_LEN		16
#define AG_PATH_LEN		256	/* exec filename bytes carried in an event */

#define AG_PATH_KEY_LEN		248	/* path bytes in a path_rules key */

/* Default sizes; the loader may raise them before load. */
#define AG_DEFAULT_MAX_SESSIONS	 8192
#define AG_DEFAULT_MAX_POLICIES	 4096
#define AG_DEFAULT_MAX_NET_RULES 262144
#define AG_DEFAULT_RINGBUF_BYTES (8u << 20)
#define AG_DEFAULT_MAX_PROCS	 65536	/* entries of `procs` (fixed) */
#define AG_DEFAULT_MAX_PATH_RULES 262144
#define AG_DEFAULT_MAX_DENY_INODES 65536

enum ag_mode {
	AG_MODE_ENFORCE = 0,
	AG_MODE_AUDIT	= 1,
};

/* How a policy treats a resource section. */
enum ag_section {
	AG_SECTION_ABSENT = 0,	/* unrestricted, still observed */
	AG_SECTION_ALLOW  = 1,	/* present, default: allow */
	AG_SECTION_DENY	  = 2,	/* present, default: deny */
};

/* Protocol mask of a port range. */
#define AG_PROTO_TCP	0x1
#define AG_PROTO_UDP	0x2
#define AG_PROTO_OTHER	0x4
#define AG_PROTO_ANY	(AG_PROTO_TCP | AG_PROTO_UDP | AG_PROTO_OTHER)

/* A closed port range [lo, hi] in host byte order, for the protocols in
 * `proto`, attributed to rule index `rule` of its section. */
struct ag_port_range {
	__u16 lo;
	__u16 hi;
	__u8  proto;
	__u8  _pad;
	__u16 rule;
};

/* Value of `policies`, keyed by __u32 policy id. */
struct ag_policy {
	__u8  mode;		/* enum ag_mode */
	__u8  egress;		/* enum ag_section */
	__u8  bind;		/* enum ag_section: ALLOW never occurs, DENY = list given */
	__u8  nbind;		/* used entries of bind_ranges */
	__u8  files;		/* enum ag_section */
	__u8  exec;		/* enum ag_section */
	__u16 flags;		/* AG_POLICY_F_*, set by the loader */
	struct ag_port_range bind_ranges[AG_BIND_MAX_RANGES];
};

/* ag_policy.flags: which deny_inodes entries the policy has. */
#define AG_POLICY_F_DENY_INODES	0x1	/* exact files.deny paths */
#define AG_POLICY_F_DENY_TREES	0x2	/* tree files.deny directories */

/* Kinds of `net_rules` entries, the low bit of ag_net_key.policy_kind. */
#define AG_NET_ALLOW	0
#define AG_NET_DENY	1
#define AG_NET_KEY(policy, kind)	(((__u32)(policy) << 1) | (kind))
/* prefixlen counts the 32 bits of policy_kind, then address bits. */
#define AG_NET_PREFIX(addr_bits)	(32 + (addr_bits))

struct ag_net_key {
	__u32 prefixlen;
	__u32 policy_kind;	/* AG_NET_KEY(); stored big-endian so it is the
				 * first 32 bits the trie compares */
	__u8  addr[16];		/* IPv6, or IPv4-mapped IPv6 */
};

struct ag_net_val {
	__u32 n;		/* used entries of r */
	__u32 _pad;
	struct ag_port_range r[AG_NET_MAX_RANGES];
};

/* Kinds of `path_rules` entries, the low bit of ag_path_key.policy_kind. */
#define AG_PATH_FILES	0	/* files.read / write / deny */
#define AG_PATH_EXEC	1	/* exec.allow */
#define AG_PATH_KEY(policy, kind)	(((__u32)(policy) << 1) | (kind))
/* prefixlen counts the 32 bits of policy_kind, then 8 per path byte. */
#define AG_PATH_PREFIX(nbytes)		(32 + 8 * (nbytes))

struct ag_path_key {
	__u32 prefixlen;
	__u32 policy_kind;	/* AG_PATH_KEY(), stored big-endian */
	char  path[AG_PATH_KEY_LEN];
};

/* Access bits of a path_rules value. */
#define AG_ACC_READ	0x1
#define AG_ACC_WRITE	0x2	/* implies read */
#define AG_ACC_DENY	0x4	/* beats read and write */
#define AG_ACC_EXEC	0x8	/* exec.allow */
#define AG_ACC_NESTED	0x10	/* a directory with files rules below it */

struct ag_path_val {
	__u8  access;		/* AG_ACC_* union of the matching rules */
	__u8  nested_kind;	/* with AG_ACC_NESTED: AG_RULE_FILES_* of a rule below */
	__u16 read_rule;	/* index into files.read of a rule granting READ */
	__u16 write_rule;	/* files.write */
	__u16 deny_rule;	/* files.deny */
	__u16 exec_rule;	/* exec.allow */
	__u16 nested_rule;	/* with AG_ACC_NESTED: its index */
};

/* Key and value of `deny_inodes`. dev is the kernel's dev_t of the super
 * block ((major << 20) | minor, as /proc/self/mountinfo shows it). */
struct ag_inode_key {
	__u32 policy;
	__u32 dev;
	__u64 ino;
};

struct ag_inode_val {
	__u16 rule;		/* index into files.deny */
	__u8  tree;		/* 1: a directory of a tree rule, covers what is below */
	__u8  _pad;
};

/* Value of `sessions`, keyed by the session cgroup id (__u64). */
struct ag_session {
	__u32 depth;			/* used entries of policy, 1..AG_MAX_DEPTH */
	__u32 flags;			/* reserved, 0 */
	__u32 policy[AG_MAX_DEPTH];	/* [0] root session .. [depth-1] this one */
};

/* Event records on the `events` ring buffer. */
enum ag_event_type {
	AG_EV_NET_CONNECT = 1,
	AG_EV_NET_SEND	  = 2,
	AG_EV_NET_BIND	  = 3,
	AG_EV_EXEC	  = 4,
	AG_EV_EXIT	  = 5,
	AG_EV_FILE_OPEN	  = 6,	/* also create, truncate, rename, link, unlink */
	AG_EV_EXEC_CHECK  = 7,	/* an exec decision (denied or audited) */
	AG_EV_AGGREGATE	  = 8,	/* struct ag_event_agg: repeated denials, counted */
	AG_EV_FALLBACK	  = 64,	/* bpf/fallback.bpf.c: struct ag_event_fallback (bpf/fallback_abi.h) */
};

enum ag_decision {
	AG_ALLOW = 0,
	AG_DENY	 = 1,
	AG_AUDIT = 2,
};

/* Which rule decided; with ag_event_hdr.rule_idx and .level it names the rule,
 * e.g. "network.egress.allow[3]" of the policy at chain position level. */
enum ag_rule_kind {
	AG_RULE_NONE		= 0,
	AG_RULE_EGRESS_ALLOW	= 1,
	AG_RULE_EGRESS_DENY	= 2,
	AG_RULE_EGRESS_DEFAULT	= 3,
	AG_RULE_BIND_ALLOW	= 4,
	AG_RULE_BIND_DEFAULT	= 5,
	AG_RULE_UNRESTRICTED	= 6,	/* section absent */
	AG_RULE_FILES_READ	= 7,
	AG_RULE_FILES_WRITE	= 8,
	AG_RULE_FILES_DENY	= 9,
	AG_RULE_FILES_DEFAULT	= 10,
	AG_RULE_EXEC_ALLOW	= 11,
	AG_RULE_EXEC_DEFAULT	= 12,
	AG_RULE_PATH_TOO_LONG	= 13,	/* unresolvable path: refused */
};

struct ag_event_hdr {
	__u32 type;		/* enum ag_event_type */
	__u8  decision;		/* enum ag_decision */
	__u8  rule_kind;	/* enum ag_rule_kind */
	__u8  level;		/* chain position of the deciding policy */
	__u8  _pad0;
	__u16 rule_idx;
	__u16 _pad1;
	__u32 pid;		/* thread group id (userspace "pid") */
	__u64 ktime;		/* bpf_ktime_get_boot_ns() */
	__u64 session_cgid;	/* the session the actor belongs to */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u64 exec_ktime;	/* boot ns of the actor's last exec, 0 unknown */
	char  comm[AG_COMM_LEN];
};

struct ag_event_net {
	struct ag_event_hdr h;
	__u8  family;		/* AF_INET or AF_INET6 as the caller used it */
	__u8  proto;		/* AG_PROTO_* bit of the socket */
	__u16 port;		/* host byte order */
	__u32 _pad;
	__u8  addr[16];		/* IPv4-mapped for AF_INET */
};

struct ag_event_exec {
	struct ag_event_hdr h;
	__u64 parent_exec_ktime;
	__u32 filename_len;
	__u32 _pad;
	char  filename[AG_PATH_LEN];
};

struct ag_event_exit {
	struct ag_event_hdr h;
	__s32 exit_code;	/* wait status as the kernel reports it */
	__u32 _pad;
};

/* A file decision. `access` is what was asked; `op` what the action was. */
#define AG_FILE_OP_OPEN		0
#define AG_FILE_OP_CREATE	1
#define AG_FILE_OP_TRUNCATE	2
#define AG_FILE_OP_RENAME	3
#define AG_FILE_OP_LINK		4
#define AG_FILE_OP_UNLINK	5
#define AG_FILE_OP_MKDIR	6
#define AG_FILE_OP_RMDIR	7
#define AG_FILE_OP_SYMLINK	8
#define AG_FILE_OP_EXEC		9	/* AG_EV_EXEC_CHECK */
#define AG_FILE_OP_CHMOD	10
#define AG_FILE_OP_CHOWN	11	/* reserved: path_chown is not hooked (docs/files.md) */

struct ag_event_file {
	struct ag_event_hdr h;
	__u8  access;		/* AG_ACC_READ and/or AG_ACC_WRITE (or EXEC) */
	__u8  op;		/* AG_FILE_OP_* */
	__u16 _pad;
	__u32 path_len;		/* length of the judged path, without NUL; path
				 * holds its first AG_PATH_LEN - 1 bytes. 0 with
				 * rule AG_RULE_PATH_TOO_LONG: path then holds
				 * ".../<last component>" */
	char  path[AG_PATH_LEN];
};

/* Any kernel event record of bpf/agentguard.bpf.c that aggregation keeps as
 * the template of its window (network, file and exec decisions). */
union ag_event_any {
	struct ag_event_hdr h;
	struct ag_event_net net;
	struct ag_event_file file;
};

/*
 * Aggregation of repeated identical denials (docs/events.md, "Storms and
 * loss").
 *
 * A denial or audit decision whose identity is the same as one logged less
 * than the window (rodata ag_agg_window_ns; 0: off) ago is not put on the
 * ring buffer: it is counted in the slot of that identity, with the boot
 * times of the first and the last one counted. The identity is everything
 * the entry would say but its time and thread: the session, the process
 * (pid, exec time, uid), the event type, decision and rule, and the target
 * (address, port and protocol; or the length of the path and a 64-bit hash
 * of the first AG_PATH_LEN - 1 bytes an event carries of it, the access and
 * the operation).
 *
 * `agg` is an array of AG_AGG_SETS sets of AG_AGG_WAYS slots; identity k
 * lives in set hash(k) % AG_AGG_SETS, in any way. Slots are never freed,
 * only reused, and every change of a slot's key, state and counts, and
 * every decision on them, is made under its spin lock (unlocked peeks only
 * skip slots), so no count is lost or counted twice:
 *
 *   FREE   -> OPEN     the event path claims it (a free or closed way) for a
 *                      new identity whose event it puts on the ring buffer;
 *                      the event is kept as the window's template
 *   OPEN              identical events are counted (count, first, last)
 *   OPEN   -> CLOSED   the flush program (ag_agg_flush, run by the daemon)
 *                      once the window has passed (or forced): it moves the
 *                      count to an AG_EV_AGGREGATE record and zeroes it; if
 *                      the ring buffer is full the slot stays OPEN, counted
 *   CLOSED -> OPEN     the next identical event reopens it (and is logged)
 *
 * A closed slot holds no count and may be taken by another identity. A set
 * with every way open leaves a new identity unaggregated: it is logged one
 * by one (or rate limited, or counted as lost), never dropped.
 */
#define AG_AGG_WAYS		4
#define AG_AGG_SETS		1024
#define AG_AGG_SLOTS		(AG_AGG_SETS * AG_AGG_WAYS)

#define AG_AGG_FREE		0
#define AG_AGG_OPEN		1
#define AG_AGG_CLOSED		2

struct ag_agg_key {
	__u64 session_cgid;
	__u64 exec_ktime;	/* the process's exec identity (0 unknown) */
	__u32 pid;
	__u32 uid;
	__u32 type;		/* enum ag_event_type */
	__u8  decision;
	__u8  rule_kind;
	__u8  level;
	__u8  access;		/* files: AG_ACC_*; network: AG_PROTO_* */
	__u16 rule_idx;
	__u16 port;		/* network */
	__u8  op;		/* files: AG_FILE_OP_* */
	__u8  _pad0[3];
	__u32 path_len;		/* files: as ag_event_file.path_len */
	__u8  target[16];	/* network: the address; files: 64-bit path hash */
	__u32 name_len;		/* files: bytes of the path hashed into target (the
				 * path; ".../<name>" when it could not be resolved) */
};

struct ag_agg_slot {
	struct bpf_spin_lock lock;
	__u32 state;		/* AG_AGG_FREE, _OPEN, _CLOSED */
	__u64 start;		/* boot ns the window opened */
	__u64 count;		/* events counted since the last flush */
	__u64 first, last;	/* boot ns of the first and last of them */
	struct ag_agg_key key;
	union ag_event_any tmpl;	/* the event that opened the window */
};

/* An aggregate, put on the ring buffer by the flush program. */
struct ag_event_agg {
	__u32 type;		/* AG_EV_AGGREGATE (where ag_event_hdr.type is) */
	__u32 _pad;
	__u64 count;		/* identical events not logged one by one */
	__u64 first, last;	/* boot ns of the first and the last of them */
	union ag_event_any ev;	/* the window's template: its identity */
};

/*
 * Per-session rate limit (rodata ag_rate_interval_ns; 0: off): a GCRA token
 * bucket per session, `rate`, keyed by session cgroup id, written by the
 * daemon when the session starts. An event is emitted when tat - now <=
 * ag_rate_tau_ns (tau = (burst - 1) x interval), and then tat advances by
 * one interval; otherwise it is not emitted and `limited` counts it. Both
 * are updated with atomics (no lock: the process tracepoints use it too).
 * The daemon reports `limited` (it only grows) as events.lost with reason
 * "rate limit" for the session.
 */
struct ag_rate {
	__u64 tat;		/* theoretical arrival time, boot ns */
	__u64 limited;		/* events not emitted, ever */
};

/* exec identity of a process whose exec was not observed: its start time
 * (boot clock) rounded down to USER_HZ (100) ticks, as /proc/<pid>/stat
 * reports it. */
#define AG_START_TICK_NS	10000000ull

/* What exec events need of a process: one entry of `procs`. */
struct ag_proc {
	__u64 key;			/* AG_PROC_KEY(tgid); 0: a free entry */
	__u64 exec_ktime;		/* boot ns of its last exec (or its parent's, if it never exec'd) */
	__u64 parent_exec_ktime;
	__u32 ppid;
	__u32 _pad;
};

/*
 * `procs` is a set-associative table, not a hash map: an array of
 * AG_PROC_SETS sets of AG_PROC_WAYS entries; process tgid lives in set
 * tgid % AG_PROC_SETS, in any way. Lookups are inlined array accesses and
 * a scan of one set (256 bytes), stores claim a free way with a compare and
 * swap of `key`: no hash, lock or free list, which is what made the LRU hash
 * cost microseconds per fork, exec and exit. Pids are allocated in order, so
 * consecutive pids fill different sets; a set is full only with more than
 * AG_PROC_WAYS live processes below the agentguard root whose pids are
 * equal modulo AG_PROC_SETS, and then a store evicts one of them (as the LRU
 * hash did when full): that process is then unknown, like one started
 * before the daemon.
 */
#define AG_PROC_WAYS		8
#define AG_PROC_SETS		(AG_DEFAULT_MAX_PROCS / AG_PROC_WAYS)
#define AG_PROC_KEY(tgid)	((__u64)(tgid) + 1)

struct ag_proc_set {
	struct ag_proc way[AG_PROC_WAYS];
};

/* Indices of the per-CPU `stats` array. */
enum ag_stat {
	AG_STAT_EVENTS_LOST	= 0,	/* ring buffer full */
	AG_STAT_DECISIONS	= 1,
	AG_STAT_DENIED		= 2,
	AG_STAT_AUDITED		= 3,
	AG_STAT_FILE_CACHED	= 4,	/* opens and execs allowed by the per-inode cache */
	AG_STAT_AGGREGATED	= 5,	/* denials counted in an aggregation slot */
	AG_STAT_RATE_LIMITED	= 6,	/* events not emitted: session rate limit */
	AG_STAT_MAX		= 7,
};

#endif /* AGENTGUARD_H */
