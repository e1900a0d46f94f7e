/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * manifest.h: agent manifests (apiVersion agentguard.io/v1, kind Agent) parsed
 * strictly into a plain C data model, and sets of them loaded from a directory.
 * The format, every default and every limit are documented in docs/manifest.md.
 *
 * Strictness: unknown keys, wrong types, duplicate keys, anchors and aliases,
 * tags, multiple documents and values out of range are errors, each reported
 * as FILE:LINE:COL (1-based) through a diag_list. A manifest with any error is
 * not returned at all.
 *
 * The second half of this header is the strict YAML reader itself (struct
 * ydoc), shared with config.c.
 */
#ifndef AG_MANIFEST_H
#define AG_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "agentguard.h"
#include "diag.h"

/* Limits on user-controlled sizes. */
#define MANIFEST_MAX_FILE_BYTES	(16u << 20)	/* one manifest file */
#define MANIFEST_MAX_NESTING	64	/* YAML nesting levels */
#define MANIFEST_MAX_NODES	2000000	/* YAML nodes in one file */
#define MANIFEST_MAX_ERRORS	100	/* diagnostics per file, then stop */
#define MANIFEST_MAX_CIDRS	100000	/* CIDRs in one manifest, allow + deny */
#define MANIFEST_MAX_RULES	65535	/* rules per egress list (rule index is 16 bits) */
#define MANIFEST_MAX_PORTS	1024	/* entries of one ports or bind.allow list */
#define MANIFEST_MAX_PATHS	65536	/* paths in one manifest, files + exec */
#define MANIFEST_MAX_PATH_LEN	4095	/* bytes of one path */
#define MANIFEST_MAX_AGENTS	1024	/* delegation.agents entries */
#define MANIFEST_MAX_PRINCIPALS	1024	/* session.users or session.groups entries */
#define MANIFEST_MAX_LABELS	64
#define MANIFEST_MAX_NAME_LEN	63	/* metadata.name */
#define MANIFEST_MAX_OWNER_LEN	256
#define MANIFEST_MAX_LABEL_LEN	253	/* label key or value */
#define MANIFEST_MAX_DESC_LEN	4096
#define MANIFEST_MAX_FILES	4096	/* manifest files in one set */

#define MANIFEST_TTL_DEFAULT	900	/* session.tokenTTL: 15m */
#define MANIFEST_TTL_MIN	10	/* 10s */
#define MANIFEST_TTL_MAX	3600	/* 1h */
#define MANIFEST_MAX_DEPTH	(AG_MAX_DEPTH - 1)	/* delegation.maxDepth */

#define MANIFEST_GENERATION_LEN	71	/* "sha256:" + 64 hex digits */

/* One CIDR of an egress rule. */
struct manifest_cidr {
	int family;		/* AF_INET or AF_INET6, as written */
	__u8 addr[16];		/* IPv6, or IPv4-mapped IPv6 (::ffff:a.b.c.d) */
	__u8 bits;		/* prefix length in the 128-bit space (IPv4 /n is 96+n) */
	char *text;		/* as written, e.g. "10.0.0.1" */
	char *norm;		/* normalised, e.g. "10.0.0.1/32", "2001:db8::/32" */
	int line, col;		/* position of the CIDR in the file */
};

/* A closed port range [lo, hi]. */
struct manifest_ports {
	__u16 lo, hi;
};

/* One rule of network.egress.allow or network.egress.deny. */
struct manifest_net_rule {
	struct manifest_cidr *cidrs;	/* at least one */
	size_t ncidrs;
	struct manifest_ports *ports;	/* as written; NULL and nports 0: every port */
	size_t nports;
	__u8 proto;			/* AG_PROTO_* mask; "any" is AG_PROTO_ANY */
	int line, col;			/* position of the rule's mapping */
};

/* A path of files.* or exec.allow. */
struct manifest_path {
	char *path;		/* as written; ends with '/' when tree is set */
	bool tree;		/* "dir/": the directory and everything below it */
	int line, col;
};

struct manifest_path_list {
	struct manifest_path *v;
	size_t n;
};

/* A user or group of session.users / session.groups, kept as given: an
 * all-digit entry (quoted or not) is a numeric id, anything else a name. */
struct manifest_principal {
	bool numeric;
	__u32 id;		/* when numeric */
	char *name;		/* when not numeric, else NULL */
};

struct manifest_label {
	char *key;
	char *value;
};

/*
 * The data model. Sections use enum ag_section: AG_SECTION_ABSENT when the
 * section is not in the manifest (unrestricted, still observed), else
 * AG_SECTION_ALLOW or AG_SECTION_DENY after its `default` (deny when not
 * given). Every string is NUL-terminated and owned by the manifest.
 */
struct manifest {
	char *file;			/* as passed to the parser */
	char *name;			/* metadata.name */
	int name_line, name_col;
	char *owner;
	char *description;		/* NULL when absent or empty */
	struct manifest_label *labels;	/* sorted by key (byte order) */
	size_t nlabels;

	enum ag_mode mode;

	struct {
		enum ag_section egress;		/* ABSENT, ALLOW or DENY */
		struct manifest_net_rule *allow;
		size_t nallow;
		struct manifest_net_rule *deny;
		size_t ndeny;
		int egress_line, egress_col;

		bool bind_present;		/* network.bind given */
		struct manifest_ports *bind;	/* bind.allow as written */
		size_t nbind;
		int bind_line, bind_col;	/* position of bind.allow */
	} net;

	struct {
		enum ag_section section;
		struct manifest_path_list read, write, deny;
	} files;

	struct {
		enum ag_section section;
		struct manifest_path_list allow;
	} exec;

	struct {
		char **agents;		/* names, in order, without duplicates */
		size_t nagents;
		unsigned max_depth;	/* 1..MANIFEST_MAX_DEPTH; 0 when no agents */
	} delegation;

	struct {
		unsigned token_ttl;	/* seconds */
		struct manifest_principal *users;	/* empty: root only */
		size_t nusers;
		struct manifest_principal *groups;
		size_t ngroups;
	} session;

	char generation[MANIFEST_GENERATION_LEN + 1];	/* "sha256:<hex>" */
	char *canonical;		/* the canonical JSON form hashed for generation */
};

/* manifest__parse_buf: parse and validate the manifest in buf[0..len) (not
 * necessarily NUL-terminated); `file` names it in diagnostics. Also checks
 * that it compiles (compile__policy). Returns a new manifest the caller frees
 * with manifest__free, or NULL with errno EINVAL and every error found
 * appended to dl (up to MANIFEST_MAX_ERRORS), or errno ENOMEM. */
struct manifest *manifest__parse_buf(const char *file, const char *buf, size_t len,
				     struct diag_list *dl);

/* manifest__parse_file: read path (at most MANIFEST_MAX_FILE_BYTES) and parse
 * it as manifest__parse_buf does. NULL with errno set (EINVAL for any invalid
 * content, the read error otherwise) and a diagnostic appended. */
struct manifest *manifest__parse_file(const char *path, struct diag_list *dl);

/* manifest__free: frees m and everything it owns; NULL is a no-op. */
void manifest__free(struct manifest *m);

/* manifest__explain: write a human-readable listing of m's rules and of the
 * map entries they compile to. Returns 0, -EINVAL if m does not compile
 * (cannot happen for a manifest from the parser), -ENOMEM, or -EIO. */
int manifest__explain(const struct manifest *m, FILE *f);

/* manifest__section_name: "absent", "allow" or "deny". Static string. */
const char *manifest__section_name(enum ag_section s);

/* manifest__proto_name: "tcp", "udp", "any" or "tcp+udp"-style for other
 * masks. Static string. */
const char *manifest__proto_name(__u8 proto);

/* A set of manifests with distinct agent names, ordered as loaded. */
struct manifest_set {
	struct manifest **v;	/* owned */
	size_t n;
};

/* manifest_set__load_dir: parse every regular file named *.yaml (not starting
 * with '.') in dir, in byte order of their names. Any error in any file, a
 * duplicate agent name across files (the error names both files), or more
 * than MANIFEST_MAX_FILES files: nothing is loaded, *out is NULL, and the
 * return is -EINVAL with diagnostics in dl. -ENOENT etc. if dir cannot be
 * read, -ENOMEM. On success returns 0 and *out is a new set (possibly empty)
 * the caller frees with manifest_set__free. */
int manifest_set__load_dir(const char *dir, struct manifest_set **out,
			   struct diag_list *dl);

/* manifest_set__load_files: as manifest_set__load_dir, for n given paths in
 * the given order. Returns 0, -EINVAL (errors in dl) or -ENOMEM. */
int manifest_set__load_files(const char *const *paths, size_t n,
			     struct manifest_set **out, struct diag_list *dl);

/* manifest_set__add: append m to set, taking ownership of m. If an agent of
 * the same name is already in set, m is freed, a diagnostic naming both files
 * is appended, and -EEXIST is returned. -ENOMEM (m freed) otherwise 0. */
int manifest_set__add(struct manifest_set *set, struct manifest *m,
		      struct diag_list *dl);

/* manifest_set__find: the manifest of agent `name`, or NULL (errno ENOENT).
 * The result is owned by set. */
const struct manifest *manifest_set__find(const struct manifest_set *set,
					  const char *name);

/* manifest_set__free: frees the set and its manifests; NULL is a no-op. */
void manifest_set__free(struct manifest_set *set);

/* manifest__valid_name: true if s is a valid agent name
 * (^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$). */
bool manifest__valid_name(const char *s);

/*
 * Strict YAML documents (used by the manifest and config parsers).
 * ydoc__load reads exactly one YAML document with libyaml's event API into a
 * tree of nodes with 1-based positions. It rejects anchors, aliases and tags,
 * duplicate mapping keys, non-scalar keys, more than one document, nesting
 * deeper than MANIFEST_MAX_NESTING and more than MANIFEST_MAX_NODES nodes.
 */
enum ynode_type {
	YNODE_SCALAR,
	YNODE_SEQ,
	YNODE_MAP,
	YNODE_BAD,	/* an alias (already reported); checks skip it silently */
};

/* Types a scalar resolves to (YAML 1.2 core schema; quoted scalars are
 * always strings). */
enum yscalar_type {
	YSCALAR_STR,
	YSCALAR_NULL,
	YSCALAR_BOOL,
	YSCALAR_INT,
	YSCALAR_FLOAT,
};

struct ynode {
	enum ynode_type type;
	int line, col;		/* 1-based */
	/* YNODE_SCALAR */
	char *str;		/* NUL-terminated; may contain NULs (len counts all) */
	size_t len;
	bool plain;		/* unquoted, not a block scalar */
	/* YNODE_SEQ: items[0..n); YNODE_MAP: items[2i] key, items[2i+1] value */
	struct ynode **items;
	size_t n;		/* items of a sequence, pairs of a mapping */
};

struct ydoc;

/* ydoc__load: parse buf[0..len). Returns a new document (free with
 * ydoc__free) whose root may be NULL when the stream holds no document at
 * all (empty, or only comments). Returns NULL with errno EINVAL and errors
 * appended to dl when the input is not acceptable YAML, or errno ENOMEM. */
struct ydoc *ydoc__load(const char *file, const char *buf, size_t len,
			struct diag_list *dl);

/* ydoc__root: the root node, or NULL for an empty stream. Owned by doc. */
const struct ynode *ydoc__root(const struct ydoc *doc);

/* ydoc__free: frees doc and all its nodes; NULL is a no-op. */
void ydoc__free(struct ydoc *doc);

/* yscalar__type: what a scalar node resolves to. */
enum yscalar_type yscalar__type(const struct ynode *n);

/* ynode__kind: "a mapping", "a sequence", "a string", "an integer",
 * "a boolean", "null", "a float" for messages. Static string. */
const char *ynode__kind(const struct ynode *n);

/* ymsg__quote: s (len bytes) as a printable quoted string for a diagnostic:
 * single quotes, non-printable bytes as \xNN, cut to 64 bytes with "...".
 * Written into buf (at least 300 bytes); returns buf. */
char *ymsg__quote(char *buf, const char *s, size_t len);

/* yfile__read: read the whole file at path, at most `limit` bytes. Returns 0
 * and a malloc'ed buffer (NUL-terminated, *len excludes the NUL), -EFBIG if
 * larger than limit, -EISDIR, or -errno. */
int yfile__read(const char *path, size_t limit, char **buf, size_t *len);

#endif
