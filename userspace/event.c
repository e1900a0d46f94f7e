/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "event.h"


int event__format(struct jsonw *w, uint64_t seq, const char *host, const struct ev *e,
		  const char **line, size_t *len)
{
	struct timespec ts = { .tv_sec = e->time_ns / 1000000000ull,
			       .tv_nsec = e->time_ns % 1000000000ull };

	jsonw__reset(w);
	jsonw__object_begin(w);
	jsonw__key_uint(w, "seq", seq);
	jsonw__key_time(w, "time", &ts);
	jsonw__key_string(w, "host", host);
	jsonw__key_string(w, "type", e->type);
	if (e->decision)
		jsonw__key_string(w, "decision", e->decision);
	if (e->mode)
		jsonw__key_string(w, "mode", e->mode);
	if (e->agent) {
		jsonw__key_object(w, "agent");
		jsonw__key_string(w, "name", e->agent);
		if (e->generation)
			jsonw__key_string(w, "generation", e->generation);
		jsonw__object_end(w);
	}
	if (e->session) {
		jsonw__key_object(w, "session");
		jsonw__key_string(w, "id", e->session);
		if (e->nlineage) {
			jsonw__key_array(w, "lineage");
			for (size_t i = 0; i < e->nlineage; i++)
				jsonw__string(w, e->lineage[i]);
			jsonw__array_end(w);
		}
		jsonw__object_end(w);
	}
	if (e->has_process) {
		jsonw__key_object(w, "process");
		jsonw__key_uint(w, "pid", e->pid);
		if (e->ppid)
			jsonw__key_uint(w, "ppid", e->ppid);
		jsonw__key_uint(w, "uid", e->uid);
		if (e->comm)
			jsonw__key_string(w, "comm", e->comm);
		if (e->exe)
			jsonw__key_string(w, "exe", e->exe);
		if (e->exec_id)
			jsonw__key_string(w, "exec_id", e->exec_id);
		if (e->parent_exec_id)
			jsonw__key_string(w, "parent_exec_id", e->parent_exec_id);
		jsonw__object_end(w);
	}
	switch (e->target) {
	case EV_TARGET_NET:
		jsonw__key_object(w, "target");
		jsonw__key_string(w, "ip", e->ip);
		jsonw__key_uint(w, "port", e->port);
		jsonw__key_string(w, "protocol", e->protocol);
		jsonw__object_end(w);
		break;
	case EV_TARGET_EXEC:
		jsonw__key_object(w, "target");
		jsonw__key_string(w, "path", e->path);
		jsonw__object_end(w);
		break;
	case EV_TARGET_FILE:
		jsonw__key_object(w, "target");
		jsonw__key_string(w, "path", e->path);
		jsonw__key_string(w, "access", e->access);
		jsonw__object_end(w);
		break;
	case EV_TARGET_NONE:
		break;
	}
	if (e->rule)
		jsonw__key_string(w, "rule", e->rule);
	if (e->extra)
		e->extra(w, e->extra_ctx);
	jsonw__object_end(w);
	return jsonw__finish(w, line, len);
}
