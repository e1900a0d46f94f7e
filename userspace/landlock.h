/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * landlock.h: the files and exec sections of a manifest enforced with
 * Landlock, for kernels where BPF LSM is not active (docs/fallback.md).
 *
 * A plan is built from one manifest by walking the filesystem as it is when
 * the session starts:
 *
 *   - semantics (docs/manifest.md): "dir/" is the directory and everything
 *     below it, any other path only itself; deny beats write beats read;
 *     write implies read; a path matched by no rule gets the section's
 *     default; an absent section handles nothing (unrestricted);
 *   - Landlock can only add rights along a path (a rule on a directory grants
 *     to everything below it), so where the manifest takes rights away below
 *     a directory (read /etc/, deny /etc/shadow; default allow with a deny
 *     list) the directory is *carved out*: instead of the directory, each of
 *     its entries present at session start is granted, recursing along the
 *     restricted path. Entries created later in a carved directory get only
 *     what the directory's ancestors grant: stricter, never weaker;
 *   - rules name resolved paths: a rule path that is (or goes through) a
 *     symbolic link is not granted; a rule path that does not exist is not
 *     granted; an exact path that is a directory is not granted (Landlock
 *     cannot grant a directory without its contents). Each is a note;
 *   - exec: EXECUTE is handled when exec.default is deny and granted on the
 *     exec.allow paths. A dynamically linked program cannot start without
 *     EXECUTE on its ELF interpreter (ld.so), so the interpreter of each
 *     allowed program is granted too, and listed in `interps` so that the
 *     daemon can stop ld.so being run as a program of its own;
 *   - hard links: a files.deny regular file with more than one link has its
 *     other links searched for below the granted directories on the same
 *     filesystem (bounded); those found are carved out like the file itself.
 *
 * Every place where the plan is stricter or weaker than the manifest is a
 * note; `weaker` is set when any note says weaker.
 *
 * landlock__judge_*() are the pure decisions of the manifest (no system
 * calls), used to name the rule of a denial Landlock reported only as EACCES.
 */
#ifndef AG_LANDLOCK_H
#define AG_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include "agentguard.h"

struct manifest;

/* Landlock filesystem access rights (linux/landlock.h; defined here because
 * the installed header may predate the running kernel's ABI). */
#define LL_EXECUTE	(1ULL << 0)
#define LL_WRITE_FILE	(1ULL << 1)
#define LL_READ_FILE	(1ULL << 2)
#define LL_READ_DIR	(1ULL << 3)
#define LL_REMOVE_DIR	(1ULL << 4)
#define LL_REMOVE_FILE	(1ULL << 5)
#define LL_MAKE_CHAR	(1ULL << 6)
#define LL_MAKE_DIR	(1ULL << 7)
#define LL_MAKE_REG	(1ULL << 8)
#define LL_MAKE_SOCK	(1ULL << 9)
#define LL_MAKE_FIFO	(1ULL << 10)
#define LL_MAKE_BLOCK	(1ULL << 11)
#define LL_MAKE_SYM	(1ULL << 12)
#define LL_REFER	(1ULL << 13)	/* ABI 2 */
#define LL_TRUNCATE	(1ULL << 14)	/* ABI 3 */

/* Groups. */
#define LL_R_FILE	LL_READ_FILE
#define LL_W_FILE	(LL_WRITE_FILE | LL_TRUNCATE)
#define LL_R_DIR	LL_READ_DIR
#define LL_W_DIR	(LL_REMOVE_DIR | LL_REMOVE_FILE | LL_MAKE_CHAR | LL_MAKE_DIR | \
			 LL_MAKE_REG | LL_MAKE_SOCK | LL_MAKE_FIFO | LL_MAKE_BLOCK | \
			 LL_MAKE_SYM | LL_REFER)
#define LL_FILES_ALL	(LL_R_FILE | LL_W_FILE | LL_R_DIR | LL_W_DIR)
/* the only rights a rule on a non-directory may carry */
#define LL_ON_FILE	(LL_EXECUTE | LL_READ_FILE | LL_WRITE_FILE | LL_TRUNCATE)

#define LL_MIN_ABI_FILES 3	/* TRUNCATE: without it truncate(2) escapes files rules */
#define LL_MIN_ABI_EXEC	 1

/* Limits on what a manifest can make the daemon do at session start. */
#define LL_MAX_RULES		16384	/* Landlock rules in one plan */
#define LL_MAX_DIR_ENTRIES	65536	/* entries read from one carved directory */
#define LL_MAX_NOTES		64	/* notes kept; the rest are counted */
#define LL_MAX_INTERPS		16	/* distinct ELF interpreters granted */
#define LL_MAX_TREE_SCAN	4096	/* files of an exec.allow tree read for PT_INTERP */
#define LL_MAX_LINK_SCAN	50000	/* entries searched for hard links of denied files */

/* A Landlock rule: `access` on the object at `path` and everything below. */
struct ll_rule {
	char *path;		/* absolute, resolved, no trailing '/' ("/" stays) */
	__u64 access;		/* LL_* */
	bool dir;		/* a directory when planned */
};

/* A directory whose entries were granted one by one. */
struct ll_carve {
	char *dir;
	__u8 kind;		/* AG_RULE_FILES_* of the rule that forced it */
	__u16 idx;
};

/* An ELF interpreter granted EXECUTE only so that allowed programs start. */
struct ll_interp {
	char *path;		/* resolved */
	__u32 kdev;		/* kernel dev_t: (major << 20) | minor */
	__u64 ino;
	__u16 exec_idx;		/* exec.allow rule of the first program needing it */
};

/* Another name of a denied file, found at session start and denied too. */
struct ll_link {
	char *path;
	char *target;		/* the files.deny path it is a link of */
	__u16 idx;		/* files.deny index */
};

struct ll_plan {
	bool files, exec;	/* sections handled */
	__u64 handled;		/* handled_access_fs */
	int abi;		/* Landlock ABI the plan needs */
	struct ll_rule *rules;	/* sorted by path, one per path */
	size_t nrules;
	struct ll_carve *carves;
	size_t ncarves;
	struct ll_interp *interps;
	size_t ninterps;
	struct ll_link *links;
	size_t nlinks;
	char **notes;		/* lowercase sentences without final period */
	size_t nnotes;
	size_t notes_dropped;	/* past LL_MAX_NOTES */
	bool weaker;		/* a note says the plan is weaker than the manifest */
	size_t entries_read;	/* directory entries read while carving */
};

/* landlock__abi: the running kernel's Landlock ABI version, 0 if Landlock is
 * not available (not built, or not enabled at boot). */
int landlock__abi(void);

/* landlock__plan: build the plan of m's files and exec sections for a kernel
 * with Landlock ABI `abi` (out is zeroed first). A manifest in audit mode
 * or without files and exec sections gives an empty plan (nothing handled).
 * Returns 0, or -EOPNOTSUPP when abi is below what a section needs,
 * -E2BIG past a limit, -ENOMEM; on error a message (lowercase, naming the
 * path or limit) is in err and out holds nothing to free. */
int landlock__plan(const struct manifest *m, int abi, struct ll_plan *out, char *err,
		   size_t errlen);

/* landlock__plan_free: frees what p owns; p can be reused. */
void landlock__plan_free(struct ll_plan *p);

/* landlock__plan_empty: true when p handles nothing. */
bool landlock__plan_empty(const struct ll_plan *p);

/* landlock__granted: the rights p grants at the absolute resolved path
 * `path` (the union of the rules on it and its ancestors). Pure. */
__u64 landlock__granted(const struct ll_plan *p, const char *path);

/* landlock__carve_of: the carve of p whose directory is the parent of path
 * or an ancestor of it, the deepest one; NULL if none. Pure. */
const struct ll_carve *landlock__carve_of(const struct ll_plan *p, const char *path);

/* landlock__link_of: the hard link record of p for path, or NULL. Pure. */
const struct ll_link *landlock__link_of(const struct ll_plan *p, const char *path);

/* landlock__ruleset: a Landlock ruleset fd (O_CLOEXEC) holding p, paths
 * opened without following any symbolic link. A path that vanished since
 * the plan was made is skipped and counted in *skipped (may be NULL).
 * Returns the fd, or -errno with a message in err. */
int landlock__ruleset(const struct ll_plan *p, size_t *skipped, char *err, size_t errlen);

/* landlock__restrict_self: enforce the ruleset fd on the calling thread
 * (and what it execs). Sets no_new_privs first when the caller lacks
 * CAP_SYS_ADMIN (Landlock requires one of the two). Returns 0 or -errno. */
int landlock__restrict_self(int ruleset_fd);

/* landlock__open_regular: open path for reading only if it is a regular
 * file (not following a final symbolic link; never opening a device or a
 * FIFO, whose open has side effects). Returns the fd (O_CLOEXEC), -ENOEXEC
 * for anything but a regular file, or -errno. */
int landlock__open_regular(const char *path);

/* landlock__access_str: the rights of `access` as "read_file,write_file,..."
 * into buf. Returns buf. */
char *landlock__access_str(__u64 access, char *buf, size_t len);

/* A decision of the manifest on one path. */
struct ll_verdict {
	bool allow;
	__u8 kind;		/* enum ag_rule_kind: FILES_*, EXEC_*, UNRESTRICTED */
	__u16 idx;		/* rule index for *_READ, *_WRITE, *_DENY, EXEC_ALLOW */
};

/* landlock__judge_file: m's files decision for reading (write false) or
 * writing the absolute, normalised path `path`: a deny rule denies (that
 * rule); a write rule allows; a read rule allows reading and denies writing
 * (that read rule); else files.default; no section: unrestricted. Pure. */
void landlock__judge_file(const struct manifest *m, const char *path, bool write,
			  struct ll_verdict *v);

/* landlock__judge_exec: m's exec decision for executing `path`. Pure. */
void landlock__judge_exec(const struct manifest *m, const char *path, struct ll_verdict *v);

/* landlock__rule_name: the manifest name of v's rule, e.g. "files.deny[0]",
 * "files.default", "exec.default", "unrestricted", into buf. Returns buf. */
char *landlock__rule_name(const struct ll_verdict *v, char *buf, size_t len);

/* landlock__normalize: the absolute path `in` with "//", "." and ".."
 * removed lexically, without a trailing '/' ("/" stays), into out. Returns 0,
 * -EINVAL if in is not absolute, -ENAMETOOLONG if out is too small. Pure. */
int landlock__normalize(const char *in, char *out, size_t len);

#endif
