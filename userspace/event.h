/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * event.h: one log entry as the daemon knows it, and its JSON line in the
 * fixed key order of DESIGN.md section 5:
 *
 *   seq, time, host, type, decision, mode, agent{name, generation},
 *   session{id, lineage}, process{pid, ppid, uid, comm, exe, exec_id,
 *   parent_exec_id}, target{...}, rule, then type-specific fields.
 *
 * Fields that do not apply are omitted, never null.
 */
#ifndef AG_EVENT_H
#define AG_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"

enum ev_target_kind {
	EV_TARGET_NONE = 0,
	EV_TARGET_NET,		/* ip, port, protocol */
	EV_TARGET_EXEC,		/* path */
	EV_TARGET_FILE,		/* path, access */
};

struct ev {
	const char *type;		/* required, e.g. "network.connect" */
	uint64_t time_ns;		/* UTC ns since the epoch */
	const char *decision;		/* "allow" | "deny" | "audit" or NULL */
	const char *mode;		/* "enforce" | "audit" or NULL */
	const char *agent;		/* agent name or NULL */
	const char *generation;
	const char *session;		/* session id or NULL */
	const char *const *lineage;	/* nlineage ids, root first */
	size_t nlineage;
	bool has_process;
	uint32_t pid, ppid, uid;
	const char *comm, *exe, *exec_id, *parent_exec_id;
	enum ev_target_kind target;
	const char *ip;			/* text form */
	uint16_t port;
	const char *protocol;		/* "tcp" | "udp" | "other" */
	const char *path, *access;
	const char *rule;
	/* type-specific trailing fields, written by the caller's function */
	void (*extra)(struct jsonw *w, const void *ctx);
	const void *extra_ctx;
};

/* event__format: write e as entry seq into w (reset first); *line and *len
 * then point at the line without newline, owned by w until its next use.
 * host is the log's host name. Returns 0 or a negative errno from jsonw
 * (-ENOMEM, -E2BIG past the writer's size limit). */
int event__format(struct jsonw *w, uint64_t seq, const char *host, const struct ev *e,
		  const char **line, size_t *len);

#endif
