/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * config.c: the daemon config file, read with the strict YAML reader of
 * manifest.c.
 */
#include "config.h"
#include "manifest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int config__set_str(char **dst, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

static void adopt_free(struct config_adopt *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].agent);
		free(v[i].cgroup);
	}
	free(v);
}

void config__free(struct ag_config *cfg)
{
	adopt_free(cfg->adopt, cfg->nadopt);
	cfg->adopt = NULL;
	cfg->nadopt = 0;
	free(cfg->manifests);
	free(cfg->state_dir);
	free(cfg->socket);
	free(cfg->cgroup_root);
	free(cfg->log_archive_dir);
	cfg->manifests = cfg->state_dir = cfg->socket = cfg->cgroup_root = NULL;
	cfg->log_archive_dir = NULL;
	free(cfg->syslog.target);
	cfg->syslog.target = NULL;
}

int config__defaults(struct ag_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->manifests = strdup(CONFIG_DEFAULT_MANIFESTS);
	cfg->state_dir = strdup(CONFIG_DEFAULT_STATE_DIR);
	cfg->socket = strdup(CONFIG_DEFAULT_SOCKET);
	cfg->cgroup_root = NULL;
	cfg->log_allowed_file_opens = false;
	cfg->watch_manifests = true;
	cfg->ringbuf_bytes = AG_DEFAULT_RINGBUF_BYTES;
	cfg->max_sessions = AG_DEFAULT_MAX_SESSIONS;
	cfg->max_net_rules = AG_DEFAULT_MAX_NET_RULES;
	cfg->checkpoint_interval_ms = CONFIG_DEFAULT_CHECKPOINT_MS;
	cfg->file_fallback = FILE_FALLBACK_LANDLOCK;
	cfg->denial_events = DENIAL_EVENTS_SESSIONS;
	cfg->denial_hook = DENIAL_HOOK_AUTO;
	cfg->aggregate_window_ms = CONFIG_DEFAULT_AGG_WINDOW_MS;
	cfg->session_event_rate = 0;
	cfg->session_event_burst = 0;
	cfg->log_rotate_bytes = CONFIG_LOG_ROTATE_DEFAULT;
	cfg->log_retain_files = 0;
	cfg->log_archive_dir = NULL;
	cfg->syslog = (struct config_syslog){
		.facility = SYSLOG_FACILITY_DEFAULT, .format = SYSLOG_FORMAT_JSON,
		.entries = true, .checkpoints = true, .queue_bytes = SYSLOG_QUEUE_DEFAULT,
	};
	if (!cfg->manifests || !cfg->state_dir || !cfg->socket) {
		config__free(cfg);
		return -ENOMEM;
	}
	return 0;
}

struct cctx {
	const char *file;
	struct diag_list *dl;
	int nerr;
	bool nomem;
};

static void cerr(struct cctx *c, const struct ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cerr(struct cctx *c, const struct ynode *n, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	c->nerr++;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	diag_list__add(c->dl, c->file, n->line, n->col, "%s", msg ? msg : "out of memory");
	free(msg);
}

static void ctype(struct cctx *c, const struct ynode *n, const char *key, const char *expected)
{
	char q[300] = "";

	if (n->type == YNODE_BAD)
		return;
	if (n->type == YNODE_SCALAR && n->len) {
		q[0] = ' ';
		ymsg__quote(q + 1, n->str, n->len);
	}
	cerr(c, n, "expected %s for '%s', got %s%s", expected, key, ynode__kind(n), q);
}

/* An absolute path shorter than size bytes, without control characters
 * (empty allowed when allow_empty), as a new string in *dst. */
static void cpath(struct cctx *c, const struct ynode *n, const char *key, char **dst,
		  size_t size, bool allow_empty)
{
	char q[300];

	if (n->type != YNODE_SCALAR || yscalar__type(n) != YSCALAR_STR) {
		ctype(c, n, key, "an absolute path");
		return;
	}
	ymsg__quote(q, n->str, n->len);
	if (n->len >= size) {
		cerr(c, n, "path %s for '%s' is too long (%zu bytes, limit %zu)", q, key,
		     n->len, size - 1);
		return;
	}
	for (size_t i = 0; i < n->len; i++) {
		if ((unsigned char)n->str[i] < 0x20 || n->str[i] == 0x7f) {
			cerr(c, n, "path %s for '%s' contains a control character", q, key);
			return;
		}
	}
	if (n->len ? n->str[0] != '/' : !allow_empty) {
		cerr(c, n, "relative path %s for '%s' (paths must be absolute)", q, key);
		return;
	}
	free(*dst);
	*dst = strndup(n->str, n->len);
	if (!*dst)
		c->nomem = true;
}

static bool cuint(struct cctx *c, const struct ynode *n, const char *key,
		  unsigned long long min, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	char q[300];

	if (n->type != YNODE_SCALAR || yscalar__type(n) != YSCALAR_INT) {
		ctype(c, n, key, "an integer");
		return false;
	}
	for (const char *s = n->str; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000000000000ULL) {
			v = ~0ULL;
			break;
		}
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v < min || v > max) {
		cerr(c, n, "%s out of range for '%s' (expected %llu..%llu)",
		     ymsg__quote(q, n->str, n->len), key, min, max);
		return false;
	}
	*out = v;
	return true;
}

/* ringBufferBytes: an integer, or a string "<n>KiB|MiB|GiB". */
static void cringbuf(struct cctx *c, const struct ynode *n, __u32 *out)
{
	static const struct { const char *suffix; unsigned shift; } units[] = {
		{ "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 },
	};
	unsigned long long v = 0;
	char q[300];

	if (n->type == YNODE_SCALAR && yscalar__type(n) == YSCALAR_INT) {
		if (!cuint(c, n, "ringBufferBytes", CONFIG_RINGBUF_MIN, CONFIG_RINGBUF_MAX, &v))
			return;
	} else if (n->type == YNODE_SCALAR && yscalar__type(n) == YSCALAR_STR) {
		const char *s = n->str;
		size_t i, digits = 0;

		for (; *s >= '0' && *s <= '9' && digits < 8; s++, digits++)
			v = v * 10 + (unsigned)(*s - '0');
		for (i = 0; i < 3; i++)
			if (!strcmp(s, units[i].suffix))
				break;
		if (!digits || i == 3 || strlen(n->str) != n->len) {
			cerr(c, n, "invalid size %s for 'ringBufferBytes' (expected bytes, or a "
			     "number with unit KiB, MiB or GiB)", ymsg__quote(q, n->str, n->len));
			return;
		}
		v <<= units[i].shift;
		if (v < CONFIG_RINGBUF_MIN || v > CONFIG_RINGBUF_MAX) {
			cerr(c, n, "%s out of range for 'ringBufferBytes' (expected 64KiB..1GiB)",
			     ymsg__quote(q, n->str, n->len));
			return;
		}
	} else {
		ctype(c, n, "ringBufferBytes", "a size in bytes");
		return;
	}
	if (v & (v - 1)) {
		cerr(c, n, "%s for 'ringBufferBytes' is not a power of two",
		     ymsg__quote(q, n->str, n->len));
		return;
	}
	*out = (__u32)v;
}

/* A size: an integer, or a string "<n>KiB|MiB|GiB|TiB", in [min, max]. */
static void csize(struct cctx *c, const struct ynode *n, const char *key,
		  unsigned long long min, unsigned long long max, unsigned long long *out)
{
	static const struct { const char *suffix; unsigned shift; } units[] = {
		{ "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 }, { "TiB", 40 },
	};
	unsigned long long v = 0;
	char q[300];

	if (n->type == YNODE_SCALAR && yscalar__type(n) == YSCALAR_INT) {
		if (cuint(c, n, key, min, max, &v))
			*out = v;
		return;
	}
	if (n->type == YNODE_SCALAR && yscalar__type(n) == YSCALAR_STR) {
		const char *s = n->str;
		size_t i, digits = 0;

		for (; *s >= '0' && *s <= '9' && digits < 10; s++, digits++)
			v = v * 10 + (unsigned)(*s - '0');
		for (i = 0; i < 4; i++)
			if (!strcmp(s, units[i].suffix))
				break;
		if (!digits || i == 4 || strlen(n->str) != n->len) {
			cerr(c, n, "invalid size %s for '%s' (expected bytes, or a number with "
			     "unit KiB, MiB, GiB or TiB)", ymsg__quote(q, n->str, n->len), key);
			return;
		}
		if (v > (max >> units[i].shift) || (v << units[i].shift) < min) {
			cerr(c, n, "%s out of range for '%s' (expected %llu..%llu bytes)",
			     ymsg__quote(q, n->str, n->len), key, min, max);
			return;
		}
		*out = v << units[i].shift;
		return;
	}
	ctype(c, n, key, "a size in bytes");
}

static void cbool(struct cctx *c, const struct ynode *n, const char *key, bool *out)
{
	if (n->type != YNODE_SCALAR || yscalar__type(n) != YSCALAR_BOOL) {
		ctype(c, n, key, "true or false");
		return;
	}
	*out = n->str[0] == 't' || n->str[0] == 'T';
}

/* adopt: a sequence of {agent: NAME, cgroup: PATH}. On success *out (n
 * entries) replaces nothing yet: the caller swaps it in. */
static void cadopt(struct cctx *c, const struct ynode *n, struct config_adopt **out,
		   size_t *nout)
{
	struct config_adopt *v;
	char q[300];
	int nerr = c->nerr;

	if (n->type != YNODE_SEQ) {
		ctype(c, n, "adopt", "a sequence of {agent, cgroup}");
		return;
	}
	if (n->n > CONFIG_MAX_ADOPT) {
		cerr(c, n, "too many entries in 'adopt' (%zu, limit %u)", n->n, CONFIG_MAX_ADOPT);
		return;
	}
	v = calloc(n->n ? n->n : 1, sizeof(*v));
	if (!v) {
		c->nomem = true;
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *e = n->items[i];
		const struct ynode *agent = NULL, *cg = NULL;

		if (e->type != YNODE_MAP) {
			ctype(c, e, "adopt", "a mapping {agent, cgroup}");
			continue;
		}
		for (size_t k = 0; k < e->n; k++) {
			const struct ynode *key = e->items[2 * k], *val = e->items[2 * k + 1];

			if (key->type == YNODE_SCALAR && key->len == 5 && !memcmp(key->str, "agent", 5))
				agent = val;
			else if (key->type == YNODE_SCALAR && key->len == 6 &&
				 !memcmp(key->str, "cgroup", 6))
				cg = val;
			else if (key->type == YNODE_SCALAR)
				cerr(c, key, "unknown key %s in 'adopt' (expected agent, cgroup)",
				     ymsg__quote(q, key->str, key->len));
		}
		if (!agent || !cg) {
			cerr(c, e, "missing '%s' in 'adopt'", agent ? "cgroup" : "agent");
			continue;
		}
		if (agent->type != YNODE_SCALAR || yscalar__type(agent) != YSCALAR_STR ||
		    strlen(agent->str) != agent->len || !manifest__valid_name(agent->str)) {
			if (agent->type == YNODE_SCALAR)
				cerr(c, agent, "invalid agent name %s in 'adopt'",
				     ymsg__quote(q, agent->str, agent->len));
			else
				ctype(c, agent, "agent", "an agent name");
			continue;
		}
		cpath(c, cg, "cgroup", &v[i].cgroup, CONFIG_PATH_LEN, false);
		v[i].agent = strndup(agent->str, agent->len);
		if (!v[i].agent)
			c->nomem = true;
		for (size_t k = 0; v[i].cgroup && k < i; k++) {
			if (v[k].cgroup && !strcmp(v[k].cgroup, v[i].cgroup)) {
				cerr(c, cg, "cgroup %s is in 'adopt' twice",
				     ymsg__quote(q, cg->str, cg->len));
				break;
			}
		}
	}
	if (c->nerr != nerr || c->nomem) {
		adopt_free(v, n->n);
		return;
	}
	adopt_free(*out, *nout);
	*out = v;
	*nout = n->n;
}

static const char *const file_fallback_names[] = { "landlock", "refuse", "observe" };
static const char *const denial_events_names[] = { "sessions", "always", "off" };
static const char *const denial_hook_names[] = { "auto", "syscalls", "sys_exit" };

const char *config__file_fallback_name(enum file_fallback v)
{
	return (unsigned)v < 3 ? file_fallback_names[v] : "?";
}

const char *config__denial_events_name(enum denial_events v)
{
	return (unsigned)v < 3 ? denial_events_names[v] : "?";
}

const char *config__denial_hook_name(enum denial_hook v)
{
	return (unsigned)v < 3 ? denial_hook_names[v] : "?";
}

/* One of n names (a string); its index in *out. */
static void cenum(struct cctx *c, const struct ynode *n, const char *key,
		  const char *const *names, int nnames, int *out)
{
	char q[300], list[128] = "";

	for (int i = 0; i < nnames; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 i ? (i == nnames - 1 ? " or " : ", ") : "", names[i]);
	if (n->type != YNODE_SCALAR || yscalar__type(n) != YSCALAR_STR) {
		ctype(c, n, key, list);
		return;
	}
	for (int i = 0; i < nnames; i++) {
		if (strlen(names[i]) == n->len && !memcmp(names[i], n->str, n->len)) {
			*out = i;
			return;
		}
	}
	cerr(c, n, "invalid value %s for '%s' (expected %s)", ymsg__quote(q, n->str, n->len),
	     key, list);
}

/* syslog: {target, facility, format, entries, checkpoints, queueBytes}; on
 * success *out (its target a new string) is for the caller to swap in. */
static void csyslog(struct cctx *c, const struct ynode *n, struct config_syslog *out)
{
	static const char *const keys[] = { "target", "facility", "format", "entries",
					    "checkpoints", "queueBytes" };
	static const char *const formats[] = { "json", "ocsf" };
	struct config_syslog v = *out;
	const struct ynode *target = NULL;
	int nerr = c->nerr;
	char q[300], why[160];

	v.target = NULL;
	if (n->type != YNODE_MAP) {
		ctype(c, n, "syslog", "a mapping {target, facility, format, entries, checkpoints, "
		      "queueBytes}");
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *k = n->items[2 * i], *val = n->items[2 * i + 1];
		unsigned long long u;
		size_t key;
		int e;

		if (k->type != YNODE_SCALAR)
			continue;
		for (key = 0; key < 6; key++)
			if (strlen(keys[key]) == k->len && !memcmp(keys[key], k->str, k->len))
				break;
		switch (key) {
		case 0:
			target = val;
			if (val->type != YNODE_SCALAR || yscalar__type(val) != YSCALAR_STR) {
				ctype(c, val, "target", "udp:HOST:PORT, tcp:HOST:PORT or unix:/PATH");
			} else {
				struct syslog_target t;

				if (strlen(val->str) != val->len ||
				    syslog_target__parse(val->str, &t, why, sizeof(why)))
					cerr(c, val, "invalid syslog target %s: %s",
					     ymsg__quote(q, val->str, val->len),
					     strlen(val->str) != val->len ? "contains a NUL" : why);
			}
			break;
		case 1:
			if (val->type != YNODE_SCALAR || yscalar__type(val) != YSCALAR_STR ||
			    syslog_facility__parse(val->str) < 0) {
				if (val->type == YNODE_SCALAR)
					cerr(c, val, "invalid facility %s (expected kern, user, mail, "
					     "daemon, auth, syslog, lpr, news, uucp, cron, authpriv, "
					     "ftp, ntp, security, console, solaris-cron or "
					     "local0..local7)", ymsg__quote(q, val->str, val->len));
				else
					ctype(c, val, "facility", "a facility name");
			} else {
				v.facility = syslog_facility__parse(val->str);
			}
			break;
		case 2:
			e = v.format;
			cenum(c, val, "format", formats, 2, &e);
			v.format = e;
			break;
		case 3:
			cbool(c, val, "entries", &v.entries);
			break;
		case 4:
			cbool(c, val, "checkpoints", &v.checkpoints);
			break;
		case 5:
			u = v.queue_bytes;
			csize(c, val, "queueBytes", SYSLOG_QUEUE_MIN, SYSLOG_QUEUE_MAX, &u);
			v.queue_bytes = u;
			break;
		default:
			cerr(c, k, "unknown key %s in 'syslog' (expected target, facility, format, "
			     "entries, checkpoints, queueBytes)", ymsg__quote(q, k->str, k->len));
			break;
		}
	}
	if (!target && c->nerr == nerr)
		cerr(c, n, "missing 'target' in 'syslog'");
	if (c->nerr != nerr)
		return;
	v.target = strndup(target->str, target->len);
	if (!v.target) {
		c->nomem = true;
		return;
	}
	free(out->target);
	*out = v;
}

enum ckey {
	K_MANIFESTS, K_STATE_DIR, K_SOCKET, K_CGROUP_ROOT, K_LOG_FILE_OPENS,
	K_RINGBUF, K_MAX_SESSIONS, K_MAX_NET_RULES, K_CHECKPOINT, K_FILE_FALLBACK,
	K_DENIAL_EVENTS, K_DENIAL_HOOK, K_WATCH, K_ADOPT, K_LOG_ROTATE, K_LOG_RETAIN,
	K_LOG_ARCHIVE, K_AGG_WINDOW, K_EVENT_RATE, K_EVENT_BURST, K_SYSLOG, K_COUNT,
};

static const char *const ckeys[K_COUNT] = {
	"manifests", "stateDir", "socket", "cgroupRoot", "logAllowedFileOpens",
	"ringBufferBytes", "maxSessions", "maxNetRules", "checkpointIntervalMs",
	"fileFallback", "fallbackDenialEvents", "fallbackDenialHook", "watchManifests",
	"adopt", "logRotateBytes", "logRetainFiles", "logArchiveDir", "aggregateWindowMs",
	"sessionEventRate", "sessionEventBurst", "syslog",
};

int config__parse_buf(const char *file, const char *buf, size_t len, struct ag_config *cfg,
		      struct diag_list *dl)
{
	struct cctx c = { .file = file, .dl = dl };
	const struct ynode *root, *v;
	char *str[K_CGROUP_ROOT + 1] = { NULL };
	struct ag_config n;
	struct config_adopt *adopt = NULL;
	size_t nadopt = 0;
	unsigned long long u;
	char *archive = NULL;
	struct config_syslog sys = { 0 };	/* syslog, if given: swapped in */
	const struct ynode *archive_node = NULL;
	const struct ynode *burst_node = NULL;	/* sessionEventBurst, for its check */
	struct ydoc *doc;
	char q[300];

	if (len > CONFIG_MAX_FILE_BYTES) {
		diag_list__add(dl, file, 0, 0, "file too large (%zu bytes, limit %u MiB)", len,
			       CONFIG_MAX_FILE_BYTES >> 20);
		return -EINVAL;
	}
	doc = ydoc__load(file, buf, len, dl);
	if (!doc)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	root = ydoc__root(doc);
	if (!root || (root->type == YNODE_SCALAR && yscalar__type(root) == YSCALAR_NULL)) {
		ydoc__free(doc);
		return 0;
	}
	if (root->type != YNODE_MAP) {
		char got[300] = "";

		if (root->type == YNODE_SCALAR && root->len) {
			got[0] = ' ';
			ymsg__quote(got + 1, root->str, root->len);
		}
		cerr(&c, root, "expected a mapping at the top level, got %s%s",
		     ynode__kind(root), got);
		ydoc__free(doc);
		return -EINVAL;
	}
	n = *cfg;
	for (size_t i = 0; i < root->n; i++) {
		const struct ynode *k = root->items[2 * i];
		int key;

		v = root->items[2 * i + 1];
		if (k->type != YNODE_SCALAR)
			continue;
		for (key = 0; key < K_COUNT; key++)
			if (strlen(ckeys[key]) == k->len && !memcmp(ckeys[key], k->str, k->len))
				break;
		switch (key) {
		case K_MANIFESTS:
		case K_STATE_DIR:
		case K_CGROUP_ROOT:
			cpath(&c, v, ckeys[key], &str[key], CONFIG_PATH_LEN, key == K_CGROUP_ROOT);
			break;
		case K_SOCKET:
			cpath(&c, v, ckeys[key], &str[key], CONFIG_SOCKET_LEN, false);
			break;
		case K_LOG_FILE_OPENS:
			cbool(&c, v, ckeys[key], &n.log_allowed_file_opens);
			break;
		case K_RINGBUF:
			cringbuf(&c, v, &n.ringbuf_bytes);
			break;
		case K_MAX_SESSIONS:
			if (cuint(&c, v, ckeys[key], 1, CONFIG_MAX_SESSIONS_MAX, &u))
				n.max_sessions = (__u32)u;
			break;
		case K_MAX_NET_RULES:
			if (cuint(&c, v, ckeys[key], 1, CONFIG_MAX_NET_RULES_MAX, &u))
				n.max_net_rules = (__u32)u;
			break;
		case K_CHECKPOINT:
			if (cuint(&c, v, ckeys[key], CONFIG_CHECKPOINT_MIN, CONFIG_CHECKPOINT_MAX, &u))
				n.checkpoint_interval_ms = (__u32)u;
			break;
		case K_FILE_FALLBACK: {
			int e = n.file_fallback;

			cenum(&c, v, ckeys[key], file_fallback_names, 3, &e);
			n.file_fallback = e;
			break;
		}
		case K_DENIAL_EVENTS: {
			int e = n.denial_events;

			cenum(&c, v, ckeys[key], denial_events_names, 3, &e);
			n.denial_events = e;
			break;
		}
		case K_DENIAL_HOOK: {
			int e = n.denial_hook;

			cenum(&c, v, ckeys[key], denial_hook_names, 3, &e);
			n.denial_hook = e;
			break;
		}
		case K_WATCH:
			cbool(&c, v, ckeys[key], &n.watch_manifests);
			break;
		case K_ADOPT:
			cadopt(&c, v, &adopt, &nadopt);
			break;
		case K_LOG_ROTATE:
			csize(&c, v, ckeys[key], CONFIG_LOG_ROTATE_MIN, CONFIG_LOG_ROTATE_MAX,
			      &n.log_rotate_bytes);
			break;
		case K_LOG_RETAIN:
			if (cuint(&c, v, ckeys[key], 0, CONFIG_LOG_RETAIN_MAX, &u))
				n.log_retain_files = (__u32)u;
			break;
		case K_LOG_ARCHIVE:
			cpath(&c, v, ckeys[key], &archive, CONFIG_PATH_LEN, false);
			archive_node = v;
			break;
		case K_AGG_WINDOW:
			/* 0 turns it off; a window shorter than a drain tick means nothing */
			if (cuint(&c, v, ckeys[key], 0, CONFIG_AGG_WINDOW_MAX, &u)) {
				if (u && u < 10)
					cerr(&c, v, "'%llu' out of range for 'aggregateWindowMs' "
					     "(expected 0 (off) or 10..%u)", u, CONFIG_AGG_WINDOW_MAX);
				else
					n.aggregate_window_ms = (__u32)u;
			}
			break;
		case K_EVENT_RATE:
			if (cuint(&c, v, ckeys[key], 0, CONFIG_EVENT_RATE_MAX, &u))
				n.session_event_rate = (__u32)u;
			break;
		case K_SYSLOG:
			/* keys absent from the mapping keep their values */
			free(sys.target);
			sys = n.syslog;
			sys.target = NULL;
			csyslog(&c, v, &sys);
			break;
		case K_EVENT_BURST:
			if (cuint(&c, v, ckeys[key], 1, CONFIG_EVENT_RATE_MAX, &u))
				n.session_event_burst = (__u32)u;
			burst_node = v;
			break;
		default:
			cerr(&c, k, "unknown key %s at the top level (expected one of: manifests, "
			     "stateDir, socket, cgroupRoot, logAllowedFileOpens, ringBufferBytes, "
			     "maxSessions, maxNetRules, checkpointIntervalMs, fileFallback, "
			     "fallbackDenialEvents, fallbackDenialHook, watchManifests, adopt, "
			     "logRotateBytes, logRetainFiles, logArchiveDir, aggregateWindowMs, "
			     "sessionEventRate, sessionEventBurst, syslog)",
			     ymsg__quote(q, k->str, k->len));
			break;
		}
	}
	if (burst_node && !n.session_event_rate)
		cerr(&c, burst_node, "'sessionEventBurst' needs 'sessionEventRate' (the events "
		     "per second a session may emit)");
	if (archive && !n.log_retain_files)
		cerr(&c, archive_node, "'logArchiveDir' needs 'logRetainFiles' (how many "
		     "entry files to keep before archiving older ones)");
	ydoc__free(doc);
	if (c.nerr || c.nomem) {
		for (int i = 0; i <= K_CGROUP_ROOT; i++)
			free(str[i]);
		free(archive);
		free(sys.target);
		adopt_free(adopt, nadopt);
		return c.nomem ? -ENOMEM : -EINVAL;
	}
	if (adopt) {
		adopt_free(n.adopt, n.nadopt);
		n.adopt = adopt;
		n.nadopt = nadopt;
	}
	if (str[K_MANIFESTS]) {
		free(n.manifests);
		n.manifests = str[K_MANIFESTS];
	}
	if (str[K_STATE_DIR]) {
		free(n.state_dir);
		n.state_dir = str[K_STATE_DIR];
	}
	if (str[K_SOCKET]) {
		free(n.socket);
		n.socket = str[K_SOCKET];
	}
	if (str[K_CGROUP_ROOT]) {
		free(n.cgroup_root);
		n.cgroup_root = str[K_CGROUP_ROOT];
	}
	if (sys.target) {
		free(n.syslog.target);
		n.syslog = sys;
	}
	if (archive) {
		free(n.log_archive_dir);
		n.log_archive_dir = archive;
	}
	*cfg = n;
	return 0;
}

int config__parse_file(const char *path, struct ag_config *cfg, struct diag_list *dl)
{
	size_t len;
	char *buf;
	int err;

	err = yfile__read(path, CONFIG_MAX_FILE_BYTES, &buf, &len);
	if (err == -EFBIG) {
		diag_list__add(dl, path, 0, 0, "file too large (limit %u MiB)",
			       CONFIG_MAX_FILE_BYTES >> 20);
		return -EINVAL;
	}
	if (err) {
		diag_list__add(dl, path, 0, 0, "cannot read file: %s", strerror(-err));
		return err;
	}
	err = config__parse_buf(path, buf, len, cfg, dl);
	free(buf);
	return err;
}
