/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ocsf.c: log entries as OCSF 1.1.0 events. The mapping, field by field, is
 * documented in docs/events.md ("OCSF"); keep the two in step.
 */
#include "ocsf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "version.h"

struct ocsf_class {
	int class_uid, category_uid;
	const char *class_name, *category_name;
};

static const struct ocsf_class classes[] = {
	{ 0, 0, "Base Event", "Uncategorized" },
	{ 1001, 1, "File System Activity", "System Activity" },
	{ 1007, 1, "Process Activity", "System Activity" },
	{ 3003, 3, "Authorize Session", "Identity & Access Management" },
	{ 4001, 4, "Network Activity", "Network Activity" },
	{ 6002, 6, "Application Lifecycle", "Application Activity" },
};

/* Every type the daemon writes (docs/events.md), and its class. */
static const struct {
	const char *type;
	int class_uid;
} types[] = {
	{ "network.connect", 4001 },
	{ "network.send", 4001 },
	{ "network.bind", 4001 },
	{ "file.open", 1001 },
	{ "process.exec", 1007 },
	{ "process.exit", 1007 },
	{ "session.start", 3003 },
	{ "session.end", 3003 },
	{ "token.issued", 3003 },
	{ "daemon.start", 6002 },
	{ "daemon.stop", 6002 },
	{ "manifest.loaded", 6002 },
	{ "manifest.rejected", 6002 },
	{ "events.lost", 0 },
	{ "log.recovered", 0 },
	{ "log.retention", 0 },
	{ "syslog.dropped", 0 },
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

int ocsf__class_of(const char *type)
{
	for (size_t i = 0; type && i < NTYPES; i++)
		if (!strcmp(types[i].type, type))
			return types[i].class_uid;
	return -ENOENT;
}

const char *ocsf__type(size_t i)
{
	return i < NTYPES ? types[i].type : NULL;
}

/* ---- helpers ------------------------------------------------------------ */

static json_t *at(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	return k2 ? json_object_get(v, k2) : v;
}

static const char *str(json_t *o, const char *k1, const char *k2)
{
	return json_string_value(at(o, k1, k2));
}

static bool is(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static void set(json_t *o, const char *k, json_t *v)
{
	if (v)
		json_object_set_new(o, k, v);
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static void set_int(json_t *o, const char *k, json_int_t v)
{
	json_object_set_new(o, k, json_integer(v));
}

/* a copy of v (an integer or string), if any */
static void set_copy(json_t *o, const char *k, json_t *v)
{
	if (v)
		json_object_set(o, k, v);
}

/* o, or NULL (freed) if it is empty */
static json_t *nonempty(json_t *o)
{
	if (json_object_size(o))
		return o;
	json_decref(o);
	return NULL;
}

/* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SS[.frac]Z" to epoch ms (truncated); -1 if
 * it is not one. */
static long long rfc3339_ms(const char *t)
{
	struct tm tm = { 0 };
	const char *p;
	long long ms = 0;
	int scale = 100;

	if (!t)
		return -1;
	p = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			ms += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (strcmp(p, "Z"))
		return -1;
	return (long long)timegm(&tm) * 1000 + ms;
}

/* the last component of path ("/srv/dir/" is "dir", "/" is "/") as o's k */
static void set_base_name(json_t *o, const char *k, const char *path)
{
	size_t n = strlen(path);
	const char *s;

	while (n > 1 && path[n - 1] == '/')
		n--;
	s = path + n;
	while (s > path && s[-1] != '/')
		s--;
	if (s == path + n)
		set_str(o, k, path);
	else
		json_object_set_new(o, k, json_stringn(s, path + n - s));
}

/* ---- objects ------------------------------------------------------------ */

/* process {pid, ppid, uid, comm, exe, exec_id, parent_exec_id} as an OCSF
 * Process: pid, uid (exec_id), name (comm), file.path (image), user.uid,
 * parent_process {pid, uid}. */
static json_t *process_obj(json_t *p, const char *image)
{
	json_t *o = json_object();

	set_copy(o, "pid", json_object_get(p, "pid"));
	set_copy(o, "uid", json_object_get(p, "exec_id"));
	set_copy(o, "name", json_object_get(p, "comm"));
	if (!image)
		image = str(p, "exe", NULL);
	if (image) {
		json_t *f = json_object();

		set_str(f, "path", image);
		set_base_name(f, "name", image);
		set_int(f, "type_id", 1);		/* Regular File */
		set_str(f, "type", "Regular File");
		json_object_set_new(o, "file", f);
	}
	if (json_is_integer(json_object_get(p, "uid"))) {
		char uid[32];

		snprintf(uid, sizeof(uid), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(p, "uid")));
		set(o, "user", json_pack("{s:s}", "uid", uid));
	}
	if (json_object_get(p, "ppid") || json_object_get(p, "parent_exec_id")) {
		json_t *pp = json_object();

		set_copy(pp, "pid", json_object_get(p, "ppid"));
		set_copy(pp, "uid", json_object_get(p, "parent_exec_id"));
		json_object_set_new(o, "parent_process", pp);
	}
	return o;
}

/* the agent as a principal: the `sub` of its identity tokens */
static json_t *agent_user(const char *name)
{
	char uid[300];

	snprintf(uid, sizeof(uid), "agent/%s", name);
	return json_pack("{s:s, s:s, s:i, s:s}", "name", name, "uid", uid, "type_id", 99,
			 "type", "Agent");
}

static json_t *session_obj(json_t *e)
{
	json_t *s = json_object();
	char iss[300];

	set_str(s, "uid", str(e, "session", "id"));
	if (str(e, "session", "id") && str(e, "host", NULL)) {
		snprintf(iss, sizeof(iss), "agentguard://%s", str(e, "host", NULL));
		set_str(s, "issuer", iss);
	}
	return s;
}

/* agentguard as an OCSF Product; version NULL: not known */
static json_t *product_agentguard(const char *version)
{
	return json_pack("{s:s, s:s, s:s*}", "name", "agentguard", "vendor_name", "agentguard",
			 "version", version);
}

/* ---- the event ---------------------------------------------------------- */

struct m {
	json_t *e, *o;
	const char *type, *decision;
	json_t *target, *proc;
	int class_uid, activity;
	const char *activity_name;
	int severity;
	int status;		/* 0: none, 1 Success, 2 Failure */
	const char *status_detail;
	json_t *actor_process;	/* set by the class: actor.process */
};

static void map_network(struct m *m)
{
	json_t *t = m->target, *ci = json_object(), *ep = json_object();
	const char *proto = str(t, "protocol", NULL), *ip = str(t, "ip", NULL);
	bool denied = is(m->decision, "deny");

	if (is(m->type, "network.connect")) {
		m->activity = denied ? 5 : 1;
		m->activity_name = denied ? "Refuse" : "Open";
	} else if (is(m->type, "network.send")) {
		m->activity = denied ? 5 : 6;
		m->activity_name = denied ? "Refuse" : "Traffic";
	} else {
		m->activity = 7;
		m->activity_name = "Listen";
	}
	set_copy(ep, "ip", json_object_get(t, "ip"));
	set_copy(ep, "port", json_object_get(t, "port"));
	if (m->activity == 7) {
		/* the local address bound: this host's end */
		set_str(ep, "hostname", str(m->e, "host", NULL));
		json_object_set_new(m->o, "src_endpoint", ep);
	} else {
		set(m->o, "src_endpoint", nonempty(json_pack("{s:s*}", "hostname",
							     str(m->e, "host", NULL))));
		json_object_set_new(m->o, "dst_endpoint", ep);
	}
	set_str(ci, "protocol_name", proto);
	if (is(proto, "tcp"))
		set_int(ci, "protocol_num", 6);
	else if (is(proto, "udp"))
		set_int(ci, "protocol_num", 17);
	if (ip) {
		set_int(ci, "protocol_ver_id", strchr(ip, ':') ? 6 : 4);
		set_str(ci, "protocol_ver", strchr(ip, ':') ? "Internet Protocol version 6 (IPv6)" :
			"Internet Protocol version 4 (IPv4)");
	}
	if (m->activity != 7) {
		set_int(ci, "direction_id", 2);
		set_str(ci, "direction", "Outbound");
	}
	set(m->o, "connection_info", nonempty(ci));
}

static void map_file(struct m *m)
{
	static const struct {
		const char *op;
		int id;
		const char *name;
	} ops[] = {
		{ "create", 1, "Create" }, { "mkdir", 1, "Create" }, { "symlink", 1, "Create" },
		{ "link", 1, "Create" }, { "truncate", 3, "Update" }, { "rename", 5, "Rename" },
		{ "unlink", 4, "Delete" }, { "rmdir", 4, "Delete" }, { "chmod", 7, "Set Security" },
	};
	const char *op = str(m->e, "op", NULL), *access = str(m->target, "access", NULL);
	const char *path = str(m->target, "path", NULL);
	json_t *f = json_object();

	if (!op || is(op, "open")) {
		if (is(access, "write")) {
			m->activity = 3;
			m->activity_name = "Update";
		} else if (is(access, "read")) {
			m->activity = 2;
			m->activity_name = "Read";
		} else {
			m->activity = 14;
			m->activity_name = "Open";
		}
	} else {
		m->activity = 99;
		m->activity_name = op;	/* an op this mapping does not know */
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			if (is(op, ops[i].op)) {
				m->activity = ops[i].id;
				m->activity_name = ops[i].name;
			}
		}
	}
	if (path) {
		size_t n = strlen(path);

		set_str(f, "path", path);
		set_base_name(f, "name", path);
		if (n && path[n - 1] == '/') {
			set_int(f, "type_id", 2);
			set_str(f, "type", "Folder");
		} else if (is(op, "symlink")) {
			set_int(f, "type_id", 7);
			set_str(f, "type", "Symbolic Link");
		} else {
			set_int(f, "type_id", 0);
			set_str(f, "type", "Unknown");
		}
	}
	json_object_set_new(m->o, "file", f);
}

static void map_process(struct m *m)
{
	json_t *p = m->proc;

	if (is(m->type, "process.exec")) {
		m->activity = 1;
		m->activity_name = "Launch";
		/* the new image is the exec's target; the actor is the parent */
		json_object_set_new(m->o, "process",
				    process_obj(p, str(m->target, "path", NULL)));
		if (json_object_get(p, "ppid") || json_object_get(p, "parent_exec_id")) {
			m->actor_process = json_object();
			set_copy(m->actor_process, "pid", json_object_get(p, "ppid"));
			set_copy(m->actor_process, "uid", json_object_get(p, "parent_exec_id"));
		}
	} else {
		m->activity = 2;
		m->activity_name = "Terminate";
		/* an exit is reflexive: the process is its own actor */
		json_object_set_new(m->o, "process", process_obj(p, NULL));
		m->actor_process = process_obj(p, NULL);
		set_copy(m->o, "exit_code", json_object_get(m->e, "exit_code"));
	}
}

static void map_session(struct m *m)
{
	json_t *ses = session_obj(m->e);
	const char *agent = str(m->e, "agent", "name");

	if (is(m->type, "session.end")) {
		m->activity = 99;
		m->activity_name = "End";
	} else {
		m->activity = 1;
		m->activity_name = "Assign Privileges";
	}
	if (is(m->type, "session.start") && !is(m->decision, "deny")) {
		long long ms = rfc3339_ms(str(m->e, "time", NULL));

		if (ms >= 0)
			set_int(ses, "created_time", ms);
	}
	if (is(m->type, "token.issued"))
		set_copy(ses, "credential_uid", at(m->e, "token", "jti"));
	if (agent)
		json_object_set_new(m->o, "user", agent_user(agent));
	set(m->o, "session", nonempty(ses));
	if (is(m->decision, "deny"))
		m->status_detail = str(m->e, "reason", NULL);
}

static void map_lifecycle(struct m *m)
{
	json_t *app;

	if (is(m->type, "daemon.start") || is(m->type, "daemon.stop")) {
		bool start = is(m->type, "daemon.start");

		m->activity = start ? 3 : 4;
		m->activity_name = start ? "Start" : "Stop";
		app = product_agentguard(str(m->e, "daemon", "version"));
		m->status = 1;
	} else {
		/* a manifest is the agent's policy: installing or updating it
		 * installs or updates the agent as agentguard runs it */
		app = json_object();
		set_str(app, "name", str(m->e, "agent", "name"));
		set_str(app, "version", str(m->e, "agent", "generation"));
		set_str(app, "path", str(m->e, "manifest", "file"));
		if (is(m->type, "manifest.loaded")) {
			bool update = str(m->e, "manifest", "previous_generation") != NULL;

			m->activity = update ? 8 : 1;
			m->activity_name = update ? "Update" : "Install";
			m->status = 1;
		} else {
			m->activity = 99;
			m->activity_name = "Reject";
			m->status = 2;
			m->status_detail = str(m->e, "manifest", "error");
			m->severity = 3;
		}
	}
	json_object_set_new(m->o, "app", app);
}

static void map_base(struct m *m, bool known)
{
	json_t *count = json_object_get(m->e, "count");

	m->activity = 99;
	m->activity_name = m->type;
	if (!known)
		return;
	if (is(m->type, "events.lost") || is(m->type, "syslog.dropped")) {
		set_copy(m->o, "count", count);
		m->severity = is(m->type, "events.lost") ? 3 : 2;
	} else if (is(m->type, "log.recovered")) {
		m->severity = 3;
	}			/* log.retention: informational */
}

/* the message: "<type>[ <decision>][: <reason or detail>]" */
static void set_message(struct m *m)
{
	const char *why = str(m->e, "reason", NULL);
	char *msg;

	if (!why)
		why = m->status_detail;
	if (asprintf(&msg, "%s%s%s%s%s", m->type, m->decision ? " " : "",
		     m->decision ? m->decision : "", why ? ": " : "", why ? why : "") >= 0) {
		set_str(m->o, "message", msg);
		free(msg);
	}
}

json_t *ocsf__from_entry(json_t *e, const char *origin)
{
	static const char *const sev_names[] = { "Unknown", "Informational", "Low", "Medium" };
	struct m m = { .e = e };
	const struct ocsf_class *cl = &classes[0];
	json_t *seq = json_object_get(e, "seq"), *md, *dev, *actor, *enr, *un, *top;
	const char *host = str(e, "host", NULL), *agent, *k;
	long long ms;
	bool known;
	char buf[600], *typename;
	json_t *v;
	int c;

	m.type = str(e, "type", NULL);
	ms = rfc3339_ms(str(e, "time", NULL));
	if (!json_is_object(e) || !json_is_integer(seq) || !m.type || ms < 0) {
		errno = EINVAL;
		return NULL;
	}
	m.o = json_object();
	if (!m.o) {
		errno = ENOMEM;
		return NULL;
	}
	m.decision = str(e, "decision", NULL);
	m.target = json_object_get(e, "target");
	m.proc = json_object_get(e, "process");
	c = ocsf__class_of(m.type);
	known = c >= 0;
	m.class_uid = known ? c : 0;
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (classes[i].class_uid == m.class_uid)
			cl = &classes[i];
	m.severity = is(m.decision, "deny") ? 3 : is(m.decision, "audit") ? 2 : 1;
	if (m.decision)
		m.status = is(m.decision, "deny") ? 2 : 1;

	/* the class's own attributes first, into a scratch object, so that the
	 * common ones can be written before them */
	top = m.o;
	m.o = json_object();
	switch (m.class_uid) {
	case 4001: map_network(&m); break;
	case 1001: map_file(&m); break;
	case 1007: map_process(&m); break;
	case 3003: map_session(&m); break;
	case 6002: map_lifecycle(&m); break;
	default: map_base(&m, known); break;
	}
	v = m.o;
	m.o = top;

	set_int(m.o, "class_uid", m.class_uid);
	set_str(m.o, "class_name", cl->class_name);
	set_int(m.o, "category_uid", cl->category_uid);
	set_str(m.o, "category_name", cl->category_name);
	set_int(m.o, "activity_id", m.activity);
	set_str(m.o, "activity_name", m.activity_name);
	set_int(m.o, "type_uid", m.class_uid * 100LL + m.activity);
	if (asprintf(&typename, "%s: %s", cl->class_name, m.activity_name) >= 0) {
		set_str(m.o, "type_name", typename);
		free(typename);
	}
	set_int(m.o, "time", ms);
	set_int(m.o, "severity_id", m.severity);
	set_str(m.o, "severity", sev_names[m.severity]);
	if (m.status) {
		set_int(m.o, "status_id", m.status);
		set_str(m.o, "status", m.status == 1 ? "Success" : "Failure");
		set_str(m.o, "status_detail", m.status_detail);
	}
	if (m.decision) {
		bool denied = is(m.decision, "deny"), audit = is(m.decision, "audit");

		set_int(m.o, "action_id", denied ? 2 : 1);
		set_str(m.o, "action", denied ? "Denied" : "Allowed");
		set_int(m.o, "disposition_id", denied ? 2 : audit ? 15 : 1);
		set_str(m.o, "disposition", denied ? "Blocked" : audit ? "Detected" :
			"Allowed");
	}
	set_message(&m);

	md = json_object();
	set_str(md, "version", OCSF_SCHEMA_VERSION);
	/* the agentguard that mapped the entry (a log does not record which
	 * daemon version wrote each entry) */
	json_object_set_new(md, "product", product_agentguard(AG_VERSION));
	if (origin) {
		snprintf(buf, sizeof(buf), "%s:%" JSON_INTEGER_FORMAT, origin,
			 json_integer_value(seq));
	} else {
		snprintf(buf, sizeof(buf), "agentguard/%s:%" JSON_INTEGER_FORMAT,
			 host ? host : "-", json_integer_value(seq));
	}
	set_str(md, "uid", buf);
	set_copy(md, "sequence", seq);
	set_str(md, "original_time", str(e, "time", NULL));
	set_str(md, "log_name", "agentguard");
	json_object_set_new(md, "profiles", m.decision ?
			    json_pack("[s, s]", "host", "security_control") :
			    json_pack("[s]", "host"));
	json_object_set_new(m.o, "metadata", md);

	dev = json_object();
	set_str(dev, "hostname", host);
	set_int(dev, "type_id", 0);
	set_str(dev, "type", "Unknown");
	json_object_set_new(dev, "os", json_pack("{s:s, s:i, s:s}", "name", "Linux",
						 "type_id", 200, "type", "Linux"));
	json_object_set_new(m.o, "device", dev);

	actor = json_object();
	agent = str(e, "agent", "name");
	set_str(actor, "app_name", agent);
	if (agent)
		json_object_set_new(actor, "user", agent_user(agent));
	if (str(e, "session", "id"))
		json_object_set_new(actor, "session", session_obj(e));
	if (m.actor_process)
		json_object_set_new(actor, "process", m.actor_process);
	else if (json_is_object(m.proc))
		json_object_set_new(actor, "process", process_obj(m.proc, NULL));
	set(m.o, "actor", nonempty(actor));

	json_object_update(m.o, v);
	json_decref(v);

	/* an aggregate of identical events: how many, first and last */
	if (json_is_object(json_object_get(e, "aggregate"))) {
		long long first = rfc3339_ms(str(e, "aggregate", "first"));
		long long last = rfc3339_ms(str(e, "aggregate", "last"));

		set_copy(m.o, "count", at(e, "aggregate", "count"));
		if (first >= 0)
			set_int(m.o, "start_time", first);
		if (last >= 0)
			set_int(m.o, "end_time", last);
	}

	/* agentguard's identity of the actor beyond OCSF's: the manifest
	 * generation and the session lineage */
	enr = json_array();
	if (str(e, "agent", "generation"))
		json_array_append_new(enr, json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}",
			"name", "agent.generation", "value", str(e, "agent", "generation"),
			"type", "manifest_generation", "provider", "agentguard",
			"data", "generation", str(e, "agent", "generation")));
	if (json_array_size(at(e, "session", "lineage"))) {
		json_t *lin = at(e, "session", "lineage");
		size_t i, n = 0;

		buf[0] = 0;
		json_array_foreach(lin, i, v) {
			const char *id = json_string_value(v);

			if (id && n + strlen(id) + 2 < sizeof(buf))
				n += snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "/" : "", id);
		}
		json_array_append_new(enr, json_pack("{s:s, s:s, s:s, s:s, s:{s:O}}",
			"name", "session.lineage", "value", buf, "type", "session_lineage",
			"provider", "agentguard", "data", "lineage", lin));
	}
	if (json_array_size(enr))
		json_object_set_new(m.o, "enrichments", enr);
	else
		json_decref(enr);

	/* the entry's own fields, but seq, time and host (mapped above) */
	un = json_object();
	json_object_foreach(e, k, v) {
		if (strcmp(k, "seq") && strcmp(k, "time") && strcmp(k, "host"))
			json_object_set(un, k, v);
	}
	json_object_set_new(m.o, "unmapped", un);
	return m.o;
}
