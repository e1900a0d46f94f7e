/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * proto.h: the daemon's unix socket protocol. A request and a response are
 * each one JSON object on one line ("\n"-terminated, at most
 * PROTO_MAX_FRAME bytes). Requests carry "op"; responses carry "ok" (true or
 * false) and, when false, "error" (a lowercase message).
 *
 *   -> {"op":"session.start","agent":"ticket-summarizer"}
 *   <- {"ok":true,"session":"01JD...","cgroup":"/sys/fs/cgroup/agentguard/...",
 *       "cgroup_id":1234,"lineage":["01JD..."]}
 *   -> {"op":"status"}
 *   <- {"ok":true,"agents":[...],"sessions":[...],"hooks":[...],"counters":{...}}
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

/* proto__socket_path: explicit if given, else $AGENTGUARD_SOCKET, else the
 * default. Never NULL. */
const char *proto__socket_path(const char *explicit_path);

#endif
