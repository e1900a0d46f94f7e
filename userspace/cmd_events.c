/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cmd_events.c: `agentguard events [--state-dir DIR] [--follow]
 * [--agent NAME] [--type T] [--format json|ocsf|text]`
 *
 * Prints the log's entries in seq order across its entry files, one per
 * line: as stored (json), as OCSF 1.1 events (ocsf, see docs/log.md), or as
 * a one-line summary (text). With --follow it
 * then waits (inotify on the log directory, with a 1 s poll as a fallback)
 * and prints entries as the daemon writes them, moving on to new entry
 * files, until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "log.h"

#define DEFAULT_STATE_DIR "/var/lib/agentguard"
#define EV_BUF (1 << 20)	/* > LOG_ENTRY_MAX: a whole line always fits */

static const char events_usage[] =
	"usage: agentguard events [--state-dir DIR] [--follow] [--agent NAME]\n"
	"                         [--type T] [--format json|ocsf|text]\n"
	"\n"
	"Prints the entries of the event log, one per line, in seq order.\n"
	"\n"
	"Options:\n"
	"  --state-dir DIR   the daemon's state directory (default " DEFAULT_STATE_DIR ")\n"
	"  --follow, -f      after the existing entries, print new ones as they\n"
	"                    are written, until interrupted\n"
	"  --agent NAME      only entries of agent NAME (agent.name)\n"
	"  --type T          only entries of type T, or of every type starting\n"
	"                    with T if T ends in '.' (e.g. network.)\n"
	"  --format FORMAT   json (default): each entry as stored;\n"
	"                    ocsf: each entry as an OCSF 1.1 event (Network\n"
	"                    Activity, File System Activity, Process Activity,\n"
	"                    Authorize Session, else Base Event), one per line;\n"
	"                    text: time, type, decision, agent, session, process,\n"
	"                    target and rule on one line\n"
	"  -h, --help        show this help\n";

enum format { FMT_JSON, FMT_TEXT, FMT_OCSF };

struct events_opts {
	const char *agent;
	const char *type;
	enum format format;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* ---- text format -------------------------------------------------------- */

/* Writes s with control characters and backslashes escaped, so that a
 * value can never break the line or drive the terminal. */
static void put_clean(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '\\')
			fputs("\\\\", out);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			putc(c, out);
	}
}

static const char *str_at(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	if (k2)
		v = json_object_get(v, k2);
	return json_string_value(v);
}

static bool int_at(json_t *o, const char *k1, const char *k2, json_int_t *out)
{
	json_t *v = json_object_get(json_object_get(o, k1), k2);

	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

static void put_field(FILE *out, const char *label, const char *v)
{
	if (!v)
		return;
	putc(' ', out);
	fputs(label, out);
	put_clean(out, v);
}

static void print_target(FILE *out, json_t *t)
{
	const char *ip = json_string_value(json_object_get(t, "ip"));
	const char *path = json_string_value(json_object_get(t, "path"));
	json_t *port = json_object_get(t, "port");
	json_t *count = json_object_get(t, "count");

	if (!json_is_object(t))
		return;
	if (ip || json_is_integer(port)) {
		const char *proto = json_string_value(json_object_get(t, "protocol"));

		putc(' ', out);
		if (proto) {
			put_clean(out, proto);
			putc(' ', out);
		}
		if (ip && strchr(ip, ':')) {
			putc('[', out);
			put_clean(out, ip);
			putc(']', out);
		} else if (ip) {
			put_clean(out, ip);
		}
		if (json_is_integer(port))
			fprintf(out, ":%" JSON_INTEGER_FORMAT, json_integer_value(port));
		return;
	}
	if (path) {
		const char *access = json_string_value(json_object_get(t, "access"));

		putc(' ', out);
		if (access) {
			put_clean(out, access);
			putc(' ', out);
		}
		put_clean(out, path);
		return;
	}
	if (json_is_integer(count)) {
		fprintf(out, " count=%" JSON_INTEGER_FORMAT, json_integer_value(count));
		return;
	}
	if (json_object_size(t)) {
		char *s = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (s) {
			put_field(out, "target=", s);
			free(s);
		}
	}
}

static void print_text(FILE *out, json_t *e)
{
	const char *comm = str_at(e, "process", "comm");
	json_int_t pid;
	const char *t;

	t = str_at(e, "time", NULL);
	put_clean(out, t ? t : "-");
	t = str_at(e, "type", NULL);
	putc(' ', out);
	put_clean(out, t ? t : "-");
	put_field(out, "", str_at(e, "decision", NULL));
	put_field(out, "agent=", str_at(e, "agent", "name"));
	put_field(out, "session=", str_at(e, "session", "id"));
	if (comm || int_at(e, "process", "pid", &pid)) {
		fputs(" proc=", out);
		if (comm)
			put_clean(out, comm);
		if (int_at(e, "process", "pid", &pid))
			fprintf(out, "[%" JSON_INTEGER_FORMAT "]", pid);
	}
	print_target(out, json_object_get(e, "target"));
	for (size_t i = 0; i < 3; i++) {
		static const char *ints[] = { "count", "exit_code", "signal" };
		json_t *v = json_object_get(e, ints[i]);

		if (json_is_integer(v))
			fprintf(out, " %s=%" JSON_INTEGER_FORMAT, ints[i],
				json_integer_value(v));
	}
	put_field(out, "rule=", str_at(e, "rule", NULL));
	put_field(out, "reason=", str_at(e, "reason", NULL));
	putc('\n', out);
}

/* ---- OCSF ---------------------------------------------------------------- */

/*
 * OCSF 1.1 mapping. class_uid = category_uid * 1000 + class; type_uid =
 * class_uid * 100 + activity_id; time in epoch milliseconds;
 * metadata.sequence = seq. The entry's own fields that OCSF has no place for
 * (agent, generation, lineage, mode, rule, exec ids, ...) are kept under
 * "unmapped", and the whole entry type as "activity_name" where the class
 * has no matching activity.
 */
static bool type_matches(const char *want, const char *type);

struct ocsf_class {
	const char *type;	/* exact type, or prefix ending in '.' */
	int category, class_uid;
	const char *class_name;
};

static const struct ocsf_class ocsf_classes[] = {
	{ "network.", 4, 4001, "Network Activity" },
	{ "file.", 1, 1001, "File System Activity" },
	{ "process.", 1, 1007, "Process Activity" },
	{ "session.", 3, 3003, "Authorize Session" },
	{ "token.", 3, 3003, "Authorize Session" },
};

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static void set_copy(json_t *o, const char *k, json_t *v)
{
	if (v)
		json_object_set(o, k, v);
}

/* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SS[.frac]Z" to epoch ms; -1 if not. */
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

static int ocsf_activity(const char *type, const char *decision, int class_uid,
			 json_t *target)
{
	const char *access = json_string_value(json_object_get(target, "access"));
	bool denied = decision && !strcmp(decision, "deny");

	switch (class_uid) {
	case 4001:	/* 1 Open, 5 Refuse, 6 Traffic, 7 Listen */
		if (!strcmp(type, "network.connect"))
			return denied ? 5 : 1;
		if (!strcmp(type, "network.send"))
			return denied ? 5 : 6;
		if (!strcmp(type, "network.bind"))
			return 7;
		break;
	case 1001:	/* 2 Read, 3 Update, 14 Open */
		if (!strcmp(type, "file.open"))
			return access && !strcmp(access, "write") ? 3 :
			       access && !strcmp(access, "read") ? 2 : 14;
		break;
	case 1007:	/* 1 Launch, 2 Terminate */
		if (!strcmp(type, "process.exec"))
			return 1;
		if (!strcmp(type, "process.exit"))
			return 2;
		break;
	case 3003:	/* 1 Assign Privileges */
		if (!strcmp(type, "session.start") || !strcmp(type, "token.issued"))
			return 1;
		break;
	}
	return 99;	/* Other */
}

static json_t *ocsf_endpoint(json_t *target)
{
	json_t *ep = json_object();

	set_copy(ep, "ip", json_object_get(target, "ip"));
	set_copy(ep, "port", json_object_get(target, "port"));
	return ep;
}

static json_t *ocsf_process(json_t *p)
{
	json_t *o = json_object();

	set_copy(o, "pid", json_object_get(p, "pid"));
	set_copy(o, "name", json_object_get(p, "comm"));
	set_copy(o, "uid", json_object_get(p, "exec_id"));
	if (json_object_get(p, "exe")) {
		json_t *f = json_object();

		set_copy(f, "path", json_object_get(p, "exe"));
		json_object_set_new(o, "file", f);
	}
	if (json_object_get(p, "ppid")) {
		json_t *pp = json_object();

		set_copy(pp, "pid", json_object_get(p, "ppid"));
		set_copy(pp, "uid", json_object_get(p, "parent_exec_id"));
		json_object_set_new(o, "parent_process", pp);
	}
	if (json_is_integer(json_object_get(p, "uid"))) {
		json_t *u = json_object();
		char uid[32];

		snprintf(uid, sizeof(uid), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(p, "uid")));
		set_str(u, "uid", uid);
		json_object_set_new(o, "user", u);
	}
	return o;
}

static void print_ocsf(FILE *out, json_t *e)
{
	const char *type = str_at(e, "type", NULL), *decision = str_at(e, "decision", NULL);
	json_t *o = json_object(), *md = json_object(), *prod = json_object();
	json_t *un = json_object(), *actor = json_object(), *target = json_object_get(e, "target");
	json_t *proc = json_object_get(e, "process");
	int category = 0, class_uid = 0, activity;
	const char *class_name = "Base Event";
	long long ms = rfc3339_ms(str_at(e, "time", NULL));
	const char *k;
	json_t *v;
	char *s;

	for (size_t i = 0; type && i < sizeof(ocsf_classes) / sizeof(ocsf_classes[0]); i++) {
		if (type_matches(ocsf_classes[i].type, type)) {
			category = ocsf_classes[i].category;
			class_uid = ocsf_classes[i].class_uid;
			class_name = ocsf_classes[i].class_name;
			break;
		}
	}
	activity = ocsf_activity(type ? type : "", decision, class_uid, target);
	json_object_set_new(o, "category_uid", json_integer(category));
	json_object_set_new(o, "class_uid", json_integer(class_uid));
	set_str(o, "class_name", class_name);
	json_object_set_new(o, "activity_id", json_integer(activity));
	if (activity == 99)
		set_str(o, "activity_name", type);
	json_object_set_new(o, "type_uid", json_integer(class_uid * 100LL + activity));
	if (ms >= 0)
		json_object_set_new(o, "time", json_integer(ms));
	json_object_set_new(o, "severity_id", json_integer(
		decision && !strcmp(decision, "deny") ? 3 :
		decision && !strcmp(decision, "audit") ? 2 : 1));
	if (decision) {
		bool denied = !strcmp(decision, "deny");

		json_object_set_new(o, "action_id", json_integer(denied ? 2 : 1));
		json_object_set_new(o, "disposition_id", json_integer(denied ? 2 : 1));
	}
	set_str(o, "message", type);
	set_str(prod, "name", "agentguard");
	set_str(prod, "vendor_name", "agentguard");
	set_str(md, "version", "1.1.0");
	json_object_set_new(md, "product", prod);
	set_copy(md, "sequence", json_object_get(e, "seq"));
	set_str(md, "log_name", "agentguard");
	json_object_set_new(o, "metadata", md);
	if (str_at(e, "host", NULL)) {
		json_t *dev = json_object();

		set_str(dev, "hostname", str_at(e, "host", NULL));
		json_object_set_new(dev, "type_id", json_integer(1));	/* Server */
		json_object_set_new(o, "device", dev);
	}
	if (json_is_object(proc)) {
		json_t *ap = ocsf_process(proc);

		if (class_uid == 1007) {
			/* the process that exec'd or exited is the subject; an
			 * exec's target is its new image */
			if (json_object_get(target, "path")) {
				json_t *f = json_object();

				set_copy(f, "path", json_object_get(target, "path"));
				json_object_set_new(ap, "file", f);
			}
			json_object_set_new(o, "process", ap);
		} else {
			json_object_set_new(actor, "process", ap);
		}
	}
	if (str_at(e, "session", "id")) {
		json_t *ses = json_object();

		set_str(ses, "uid", str_at(e, "session", "id"));
		json_object_set_new(actor, "session", ses);
	}
	set_str(actor, "app_name", str_at(e, "agent", "name"));
	if (json_object_size(actor))
		json_object_set_new(o, "actor", actor);
	else
		json_decref(actor);
	if (json_is_object(target)) {
		if (class_uid == 4001) {
			json_t *ci = json_object();

			json_object_set_new(o, !strcmp(type, "network.bind") ?
					    "src_endpoint" : "dst_endpoint",
					    ocsf_endpoint(target));
			set_copy(ci, "protocol_name", json_object_get(target, "protocol"));
			json_object_set_new(o, "connection_info", ci);
		} else if (class_uid == 1001) {
			json_t *f = json_object();
			const char *p = json_string_value(json_object_get(target, "path"));

			set_str(f, "path", p);
			if (p && strrchr(p, '/'))
				set_str(f, "name", strrchr(p, '/') + 1);
			json_object_set_new(f, "type_id", json_integer(1));	/* Regular File */
			json_object_set_new(o, "file", f);
		}
	}
	/* the entry's own fields (but seq, time, host, mapped above) as they
	 * are: agentguard specifics such as agent.generation, session.lineage,
	 * mode and rule have no OCSF attribute */
	json_object_foreach(e, k, v) {
		if (!strcmp(k, "seq") || !strcmp(k, "time") || !strcmp(k, "host"))
			continue;
		json_object_set(un, k, v);
	}
	json_object_set_new(o, "unmapped", un);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s) {
		fputs(s, out);
		putc('\n', out);
		free(s);
	}
	json_decref(o);
}

/* ---- filtering ---------------------------------------------------------- */

static bool type_matches(const char *want, const char *type)
{
	size_t n = strlen(want);

	if (!type)
		return false;
	if (n && want[n - 1] == '.')
		return !strncmp(type, want, n);
	return !strcmp(type, want);
}

/* Handles one complete line: filters and prints it. */
static void handle_line(const struct events_opts *o, const char *line,
			size_t len, FILE *out)
{
	json_error_t jerr;
	json_t *e;

	if (o->format == FMT_JSON && !o->agent && !o->type) {
		fwrite(line, 1, len, out);
		putc('\n', out);
		return;
	}
	e = json_loadb(line, len, 0, &jerr);
	if (!json_is_object(e)) {
		fprintf(stderr, "agentguard: events: skipping an entry that is not "
			"a JSON object: %s\n", e ? "not an object" : jerr.text);
		json_decref(e);
		return;
	}
	if ((o->agent && (!str_at(e, "agent", "name") ||
			  strcmp(str_at(e, "agent", "name"), o->agent))) ||
	    (o->type && !type_matches(o->type, str_at(e, "type", NULL)))) {
		json_decref(e);
		return;
	}
	if (o->format == FMT_JSON) {
		fwrite(line, 1, len, out);
		putc('\n', out);
	} else if (o->format == FMT_OCSF) {
		print_ocsf(out, e);
	} else {
		print_text(out, e);
	}
	json_decref(e);
}

/* ---- reading ------------------------------------------------------------ */

struct tail {
	int fd;
	char *buf;
	size_t len;		/* bytes in buf: an incomplete line */
	uint64_t off;		/* file offset of buf[0] */
};

/* Prints every complete line now in the file; keeps a partial one for
 * later. Returns 0 or -errno. */
static int tail_drain(struct tail *t, const struct events_opts *o, FILE *out)
{
	struct stat st;

	if (fstat(t->fd, &st))
		return -errno;
	if ((uint64_t)st.st_size < t->off + t->len) {
		/* the daemon cut a torn tail on restart: read on from there */
		t->off = st.st_size < (off_t)t->off ? (uint64_t)st.st_size : t->off;
		t->len = 0;
	}
	for (;;) {
		ssize_t n = pread(t->fd, t->buf + t->len, EV_BUF - t->len,
				  t->off + t->len);
		size_t start = 0;
		char *nl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		t->len += n;
		while ((nl = memchr(t->buf + start, '\n', t->len - start))) {
			handle_line(o, t->buf + start, nl - (t->buf + start), out);
			start = nl - t->buf + 1;
		}
		if (start == 0 && t->len == EV_BUF) {
			fprintf(stderr, "agentguard: events: skipping a line longer "
				"than %d bytes\n", EV_BUF);
			start = t->len;
		}
		memmove(t->buf, t->buf + start, t->len - start);
		t->len -= start;
		t->off += start;
	}
}

static int open_file(const char *logdir, const char *name, struct tail *t)
{
	char path[4096 + 64];

	snprintf(path, sizeof(path), "%s/%s", logdir, name);
	t->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0) {
		fprintf(stderr, "agentguard: events: cannot read '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	t->len = 0;
	t->off = 0;
	return 0;
}

static void free_names(char **names, long n)
{
	for (long i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The entry files of logdir; NULL names and an error printed on failure. */
static long list_files(const char *logdir, char ***names, uint64_t **firsts)
{
	long n = log__entry_files(logdir, names, firsts);

	if (n < 0) {
		fprintf(stderr, "agentguard: events: cannot read '%s': %s\n", logdir,
			strerror((int)-n));
		*names = NULL;
		*firsts = NULL;
	}
	return n;
}

static int run(const char *logdir, const struct events_opts *o, bool follow)
{
	struct tail t = { .fd = -1 };
	char **names = NULL;
	uint64_t *firsts = NULL, cur_first = 0;
	long n, i;
	int ifd = -1, rc = 1, err;

	t.buf = malloc(EV_BUF);
	if (!t.buf) {
		fprintf(stderr, "agentguard: events: out of memory\n");
		return 1;
	}
	if (follow) {
		struct sigaction sa = { .sa_handler = on_signal };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);	/* no SA_RESTART: poll() wakes */
		sigaction(SIGTERM, &sa, NULL);
		ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (ifd >= 0 && inotify_add_watch(ifd, logdir, IN_MODIFY | IN_CREATE |
						  IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
			close(ifd);
			ifd = -1;	/* fall back to polling */
		}
	}
	n = list_files(logdir, &names, &firsts);
	if (n < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (open_file(logdir, names[i], &t))
			goto out;
		cur_first = firsts[i];
		err = tail_drain(&t, o, stdout);
		if (err) {
			fprintf(stderr, "agentguard: events: cannot read '%s': %s\n",
				names[i], strerror(-err));
			goto out;
		}
		if (i + 1 < n || !follow) {
			close(t.fd);
			t.fd = -1;
		}
	}
	free_names(names, n);
	free(firsts);
	names = NULL;
	firsts = NULL;
	fflush(stdout);
	while (follow && !stop) {
		struct pollfd pfd = { .fd = ifd, .events = POLLIN };
		char evbuf[4096];
		bool moved = true;

		if (poll(&pfd, ifd >= 0 ? 1 : 0, 1000) < 0 && errno != EINTR) {
			fprintf(stderr, "agentguard: events: poll: %s\n", strerror(errno));
			goto out;
		}
		if (stop)
			break;
		if (ifd >= 0)
			while (read(ifd, evbuf, sizeof(evbuf)) > 0)
				;
		while (moved && !stop) {
			moved = false;
			if (t.fd >= 0) {
				err = tail_drain(&t, o, stdout);
				if (err) {
					fprintf(stderr, "agentguard: events: read: %s\n",
						strerror(-err));
					goto out;
				}
			}
			/* a newer entry file: the current one is complete */
			n = list_files(logdir, &names, &firsts);
			if (n < 0)
				goto out;
			for (i = 0; i < n; i++) {
				if ((t.fd < 0 && i == 0) || firsts[i] > cur_first) {
					if (t.fd >= 0) {
						err = tail_drain(&t, o, stdout);
						close(t.fd);
						t.fd = -1;
						if (err)
							goto out;
					}
					if (open_file(logdir, names[i], &t))
						goto out;
					cur_first = firsts[i];
					moved = true;
					break;
				}
			}
			free_names(names, n);
			free(firsts);
			names = NULL;
			firsts = NULL;
		}
		fflush(stdout);
	}
	rc = 0;
out:
	if (names)
		free_names(names, n);
	free(firsts);
	if (t.fd >= 0)
		close(t.fd);
	if (ifd >= 0)
		close(ifd);
	free(t.buf);
	if (fflush(stdout) && rc == 0) {
		fprintf(stderr, "agentguard: events: cannot write: %s\n", strerror(errno));
		rc = 1;
	}
	return rc;
}

int cmd_events(int argc, char **argv)
{
	struct events_opts o = { .format = FMT_JSON };
	const char *state_dir = DEFAULT_STATE_DIR;
	char logdir[4096];
	bool follow = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		const char *opts[] = { "--state-dir", "--agent", "--type", "--format" };
		int which = -1;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(events_usage, stdout);
			return 0;
		}
		if (!strcmp(a, "-f") || !strcmp(a, "--follow")) {
			follow = true;
			continue;
		}
		for (int k = 0; k < 4 && which < 0; k++) {
			size_t n = strlen(opts[k]);

			if (!strncmp(a, opts[k], n) && (a[n] == '=' || !a[n])) {
				which = k;
				if (a[n] == '=') {
					v = a + n + 1;
				} else if (i + 1 < argc) {
					v = argv[++i];
				} else {
					fprintf(stderr, "agentguard: events: option '%s' "
						"needs a value\n", a);
					return 2;
				}
			}
		}
		if (which < 0) {
			if (a[0] == '-')
				fprintf(stderr, "agentguard: events: unknown option "
					"'%s'\n", a);
			else
				fprintf(stderr, "agentguard: events: unexpected argument "
					"'%s'\n", a);
			return 2;
		}
		if (which == 0) {
			state_dir = v;
		} else if (which == 1) {
			o.agent = v;
		} else if (which == 2) {
			o.type = v;
		} else if (!strcmp(v, "json")) {
			o.format = FMT_JSON;
		} else if (!strcmp(v, "text")) {
			o.format = FMT_TEXT;
		} else if (!strcmp(v, "ocsf")) {
			o.format = FMT_OCSF;
		} else {
			fprintf(stderr, "agentguard: events: unknown format '%s' "
				"(expected json, ocsf or text)\n", v);
			return 2;
		}
	}
	if (snprintf(logdir, sizeof(logdir), "%s/log", state_dir) >= (int)sizeof(logdir)) {
		fprintf(stderr, "agentguard: events: state directory path too long\n");
		return 2;
	}
	return run(logdir, &o, follow);
}
