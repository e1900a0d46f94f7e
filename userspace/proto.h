/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * proto.h: the daemon's unix socket protocol. A request and a response are
 * each one JSON object on one line ("\n"-terminated, at most
 * PROTO_MAX_FRAME bytes). Requests carry "op"; responses carry "ok" (true or
 * false) and, when false, "error" (a lowercase message).
 *
 *   -> {"op":"session.start","agent":"ticket-summarizer"}
 *   <- {"ok":true,"session":"01JD...","cgroup":"/sys/fs/cgroup/agentguard/...",
 *       "cgroup_id":1234,"lineage":["01JD..."],"files":"bpf-lsm"}
 *
 * "files" says what enforces the session's files and exec sections:
 * "bpf-lsm", "landlock", "inherited" (only an ancestor's Landlock domain),
 * "observe" (nothing: fileFallback observe or an audit-mode agent; would-be
 * denials are logged) or "none" (no such sections). With "landlock" the
 * response also carries
 *
 *       "landlock":{"abi":7,"rules":42,"handled":"execute,read_file,..."}
 *
 * and, as SCM_RIGHTS ancillary data on its first byte, a Landlock ruleset
 * file descriptor the daemon built from the agent's manifest (paths resolved
 * in the daemon's mount namespace, docs/fallback.md). `agentguard run` must
 * landlock_restrict_self() it before it execs the command, or exit with an
 * error; the daemon gives such sessions only to callers whose executable is
 * its own binary. A sub-agent's ruleset holds only its own manifest: the
 * parent's domain is inherited and stays, so the two intersect.
 *   -> {"op":"status"}
 *   <- {"ok":true,"agents":[...],"sessions":[...],"hooks":[...],"counters":{...}}
 *   -> {"op":"token","audience":"svc.example"}      (audience optional)
 *   <- {"ok":true,"token":"eyJ...","jti":"...","exp":1795952066}
 * An identity token for the caller's session, attested through the kernel
 * (docs/tokens.md); refused outside every session.
 */
#ifndef AG_PROTO_H
#define AG_PROTO_H

#include <jansson.h>

#define PROTO_MAX_FRAME		(64 * 1024)
#define PROTO_DEFAULT_SOCKET	"/run/agentguard/agentguard.sock"

/* proto__call: connect to the socket at path, send req, wait for one response
 * (timeout_ms, -1 forever). Returns the parsed response (caller owns it), or
 * NULL with errno set and a message in err. */
json_t *proto__call(const char *path, json_t *req, int timeout_ms, char *err, size_t errlen);

/* proto__call_fd: as proto__call; a file descriptor passed with the response
 * (SCM_RIGHTS) is returned in *fd (close-on-exec, the caller closes it),
 * else *fd is -1. Extra descriptors are closed. */
json_t *proto__call_fd(const char *path, json_t *req, int timeout_ms, int *fd, char *err,
		       size_t errlen);

/* proto__socket_path: explicit if given, else $AGENTGUARD_SOCKET, else the
 * default. Never NULL. */
const char *proto__socket_path(const char *explicit_path);

#endif
