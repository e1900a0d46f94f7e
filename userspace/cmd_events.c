/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cmd_events.c: `agentguard events [--state-dir DIR] [--follow]
 * [--since-seq N] [--unsealed] [--agent NAME] [--type T]
 * [--format json|ocsf|text]`
 *
 * Prints the log's sealed entries (those covered by the newest checkpoint:
 * durable and signed) in seq order across its entry files, one per line: as
 * stored (json), as OCSF 1.1 events (ocsf, userspace/ocsf.c), or as a
 * one-line summary (text). --since-seq N starts after entry N; every entry
 * printed is the one after the previous, so a gap is an error, never a
 * skip. With --follow it then waits (inotify on the log directory, with a
 * 1 s poll as a fallback) and prints entries as checkpoints seal them,
 * moving on to new entry files, until SIGINT or SIGTERM. See docs/log.md
 * ("Reading") and docs/shipping.md.
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
#include "note.h"
#include "ocsf.h"
#include "util.h"

#define DEFAULT_STATE_DIR "/var/lib/agentguard"
#define EV_BUF (1 << 20)	/* > LOG_ENTRY_MAX: a whole line always fits */

static const char events_usage[] =
	"usage: agentguard events [--state-dir DIR] [--follow] [--since-seq N]\n"
	"                         [--unsealed] [--agent NAME] [--type T]\n"
	"                         [--format json|ocsf|text]\n"
	"\n"
	"Prints the entries of the event log, one per line, in seq order: those\n"
	"sealed by a checkpoint (durable and signed).\n"
	"\n"
	"Options:\n"
	"  --state-dir DIR   the daemon's state directory (default " DEFAULT_STATE_DIR ")\n"
	"  --follow, -f      after the existing entries, print new ones as\n"
	"                    checkpoints seal them (about once a second), until\n"
	"                    interrupted\n"
	"  --since-seq N     only entries after entry N (seq > N): give the seq of\n"
	"                    the last entry you have to resume without a gap or a\n"
	"                    duplicate; an error if entry N does not exist yet or\n"
	"                    entry N+1 was removed\n"
	"  --unsealed        also entries not yet sealed by a checkpoint (a crash\n"
	"                    can cut them; after a power loss their seqs may be\n"
	"                    reused)\n"
	"  --agent NAME      only entries of agent NAME (agent.name)\n"
	"  --type T          only entries of type T, or of every type starting\n"
	"                    with T if T ends in '.' (e.g. network.)\n"
	"  --format FORMAT   json (default): each entry as stored;\n"
	"                    ocsf: each entry as an OCSF 1.1 event (docs/events.md),\n"
	"                    one per line;\n"
	"                    text: time, type, decision, agent, session, process,\n"
	"                    target and rule on one line\n"
	"  -h, --help        show this help\n";

enum format { FMT_JSON, FMT_TEXT, FMT_OCSF };

struct events_opts {
	const char *agent;
	const char *type;
	enum format format;
	char origin[NOTE_NAME_MAX + 1];	/* the log's name, for OCSF metadata.uid */
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
	{
		/* an aggregate: the same decision, repeated count more times */
		json_t *agg = json_object_get(e, "aggregate");
		json_t *n = agg ? json_object_get(agg, "count") : NULL;

		if (json_is_integer(n)) {
			fprintf(out, " repeated=%" JSON_INTEGER_FORMAT, json_integer_value(n));
			put_field(out, "first=", str_at(agg, "first", NULL));
			put_field(out, "last=", str_at(agg, "last", NULL));
		}
	}
	putc('\n', out);
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

static void print_ocsf(FILE *out, json_t *e, const char *origin)
{
	json_t *o = ocsf__from_entry(e, origin);
	char *s;

	if (!o) {
		fprintf(stderr, "agentguard: events: skipping entry %" JSON_INTEGER_FORMAT
			": %s\n", json_integer_value(json_object_get(e, "seq")),
			errno == EINVAL ? "not a log entry (no seq, time or type)" :
			strerror(errno));
		return;
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s) {
		fputs(s, out);
		putc('\n', out);
		free(s);
	}
	json_decref(o);
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
		print_ocsf(out, e, o->origin[0] ? o->origin : NULL);
	} else {
		print_text(out, e);
	}
	json_decref(e);
}

/* ---- reading ------------------------------------------------------------ */

/*
 * The reader keeps its place by seq, not by file offset: `next` is the seq
 * of the next entry to print, and every entry it prints must be exactly that
 * one, so that a gap (entry files removed, lines cut) is an error and never
 * a silent skip. Only entries below `limit` are printed: the size of the
 * newest checkpoint (the sealed entries), or no limit with --unsealed.
 */
struct reader {
	const char *logdir;
	struct events_opts *o;
	bool have_next;		/* next is fixed (by --since-seq or a first entry) */
	uint64_t next;
	uint64_t limit;
	uint64_t oldest;	/* first seq of the oldest entry file */
	bool printed;
};

struct tail {
	int fd;
	char *buf;
	size_t len;		/* bytes in buf not handled yet */
	uint64_t off;		/* file offset of buf[0] */
	uint64_t first;		/* first seq of the file */
};

/* Parses the {"seq":<n>, every entry begins with; 0 or -1. */
static int parse_seq(const char *l, size_t len, uint64_t *seq)
{
	static const char pre[] = "{\"seq\":";
	size_t i = sizeof(pre) - 1, start = i;
	uint64_t v = 0;

	if (len < i + 2 || memcmp(l, pre, i))
		return -1;
	for (; i < len && l[i] >= '0' && l[i] <= '9'; i++) {
		if (v > (UINT64_MAX - (l[i] - '0')) / 10)
			return -1;
		v = v * 10 + (l[i] - '0');
	}
	if (i == start || i == len || l[i] != ',' || (l[start] == '0' && i - start > 1))
		return -1;
	*seq = v;
	return 0;
}

/* One complete line. Returns 0 (handled or skipped), 1 (at the limit: keep
 * it for later) or -EBADMSG (a gap; the message is printed). */
static int on_line(struct reader *r, const char *line, size_t len, FILE *out)
{
	uint64_t seq;

	if (parse_seq(line, len, &seq)) {
		fprintf(stderr, "agentguard: events: skipping a line that does not begin "
			"with {\"seq\":<n>,\n");
		return 0;
	}
	if (r->have_next && seq < r->next)
		return 0;		/* printed already, or not asked for */
	if (seq >= r->limit)
		return 1;
	if (r->have_next && seq != r->next) {
		if (!r->printed && seq == r->oldest)
			fprintf(stderr, "agentguard: events: entries %" PRIu64 "..%" PRIu64
				" are no longer in the log: its oldest entry is %" PRIu64
				" (older entry files were removed; --since-seq %" PRIu64
				" starts there)\n", r->next, seq - 1, seq, seq - 1);
		else
			fprintf(stderr, "agentguard: events: entries %" PRIu64 "..%" PRIu64
				" are missing from the log (see 'agentguard log verify')\n",
				r->next, seq - 1);
		return -EBADMSG;
	}
	r->have_next = true;
	r->next = seq + 1;
	r->printed = true;
	handle_line(r->o, line, len, out);
	return 0;
}

/* Handles the complete lines of the file from where it stopped. Returns 0
 * at its end, 1 when stopped at the limit, or -errno (printed). */
static int tail_drain(struct tail *t, struct reader *r, FILE *out)
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
		size_t start = 0;
		ssize_t n;
		char *nl;
		int rc = 0;

		while ((nl = memchr(t->buf + start, '\n', t->len - start))) {
			rc = on_line(r, t->buf + start, nl - (t->buf + start), out);
			if (rc)
				break;
			start = nl - t->buf + 1;
		}
		if (!rc && start == 0 && t->len == EV_BUF) {
			fprintf(stderr, "agentguard: events: skipping a line longer "
				"than %d bytes\n", EV_BUF);
			start = t->len;
		}
		memmove(t->buf, t->buf + start, t->len - start);
		t->len -= start;
		t->off += start;
		if (rc == 1)
			t->len = 0;	/* not sealed: read it again when it is (a
					 * restarted daemon may have cut it) */
		if (rc)
			return rc;
		n = pread(t->fd, t->buf + t->len, EV_BUF - t->len, t->off + t->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "agentguard: events: cannot read '%s/"
				"entries-%012" PRIu64 ".jsonl': %s\n", r->logdir, t->first,
				strerror(errno));
			return -errno;
		}
		if (n == 0)
			return 0;
		t->len += n;
	}
}

static int open_file(const char *logdir, const char *name, uint64_t first, struct tail *t)
{
	char path[4096 + 64];

	snprintf(path, sizeof(path), "%s/%s", logdir, name);
	t->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0) {
		int err = -errno;

		fprintf(stderr, "agentguard: events: cannot read '%s': %s\n", path,
			strerror(errno));
		return err;
	}
	t->len = 0;
	t->off = 0;
	t->first = first;
	return 0;
}

/* The sealed size: the size line of <logdir>/checkpoint (0 if there is
 * none yet), and its origin line into origin (if not set yet). The note is
 * not verified here: `log verify` does that. Returns 0 or -errno (printed). */
static int read_checkpoint(const char *logdir, uint64_t *size, char *origin, size_t olen)
{
	char path[4096 + 16], buf[NOTE_MAX_SIZE + 1], *nl, *end;
	size_t len = 0;
	int fd, err;

	snprintf(path, sizeof(path), "%s/checkpoint", logdir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*size = 0;
		return 0;
	}
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	err = util__read_small(fd, buf, sizeof(buf), &len);
	close(fd);
	if (err)
		goto fail;
	buf[len] = 0;
	nl = strchr(buf, '\n');
	if (!nl || nl[1] < '0' || nl[1] > '9')
		goto bad;
	errno = 0;
	*size = strtoull(nl + 1, &end, 10);
	if (errno || *end != '\n')
		goto bad;
	if (!origin[0] && (size_t)(nl - buf) < olen)
		snprintf(origin, olen, "%.*s", (int)(nl - buf), buf);
	return 0;
bad:
	err = -EBADMSG;
	fprintf(stderr, "agentguard: events: '%s' is not a checkpoint\n", path);
	return err;
fail:
	fprintf(stderr, "agentguard: events: cannot read '%s': %s\n", path, strerror(-err));
	return err;
}

static void free_names(char **names, long n)
{
	for (long i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * One pass: the sealed size first (everything it covers is in the entry
 * files by then: the daemon writes the entries before the checkpoint), then
 * every complete line from where the reader stopped, moving on to newer
 * entry files, until the newest is read to its end or an entry is not
 * sealed yet. Returns 0 or -errno (printed; -EBADMSG for a gap).
 */
static int pass(struct reader *r, struct tail *t, bool unsealed)
{
	char **names = NULL;
	uint64_t *firsts = NULL;
	long n, i;
	int err;

	if (!unsealed) {
		err = read_checkpoint(r->logdir, &r->limit, r->o->origin, sizeof(r->o->origin));
		if (err)
			return err;
	}
	for (;;) {
		if (t->fd >= 0) {
			err = tail_drain(t, r, stdout);
			if (err < 0)
				return err;
			if (err == 1)
				return 0;	/* at the limit: wait for a checkpoint */
		}
		n = log__entry_files(r->logdir, &names, &firsts);
		if (n < 0) {
			fprintf(stderr, "agentguard: events: cannot read '%s': %s\n",
				r->logdir, strerror((int)-n));
			return (int)n;
		}
		if (n > 0)
			r->oldest = firsts[0];
		/* the file to read next: at the start, the newest one that
		 * begins at or before the next seq (else the oldest); then each
		 * newer file in turn (the current one is complete once a newer
		 * one exists) */
		for (i = 0; i < n; i++) {
			if (t->fd >= 0 ? firsts[i] > t->first :
			    (!r->have_next || i + 1 == n || firsts[i + 1] > r->next))
				break;
		}
		if (i < n && t->fd >= 0) {
			/* lines the daemon wrote before it rotated, after the
			 * drain above */
			err = tail_drain(t, r, stdout);
			if (err) {
				free_names(names, n);
				free(firsts);
				return err < 0 ? err : 0;
			}
			close(t->fd);
			t->fd = -1;
		}
		if (i < n)
			err = open_file(r->logdir, names[i], firsts[i], t);
		free_names(names, n);
		free(firsts);
		if (i == n)
			return 0;	/* read to the end of the newest file */
		if (err)
			return err;
	}
}

/* The seq of the last complete line of the log (newest entry file first;
 * a file just created by a rotation may still be empty). Returns 0, -ENOENT
 * if the log has no entry, or -errno (printed). */
static int last_seq(const char *logdir, uint64_t *seq)
{
	char **names = NULL, path[4096 + 64], *buf;
	uint64_t *firsts = NULL;
	long n = log__entry_files(logdir, &names, &firsts);
	int err = -ENOENT;

	if (n < 0) {
		fprintf(stderr, "agentguard: events: cannot read '%s': %s\n", logdir,
			strerror((int)-n));
		return (int)n;
	}
	buf = malloc(2 * LOG_ENTRY_MAX + 2);
	for (long i = n - 1; buf && i >= 0 && err == -ENOENT; i--) {
		struct stat st;
		ssize_t got;
		off_t from;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", logdir, names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st)) {
			err = -errno;
			fprintf(stderr, "agentguard: events: cannot read '%s': %s\n", path,
				strerror(errno));
			if (fd >= 0)
				close(fd);
			break;
		}
		from = st.st_size > 2 * LOG_ENTRY_MAX + 2 ? st.st_size - (2 * LOG_ENTRY_MAX + 2) : 0;
		got = pread(fd, buf, st.st_size - from, from);
		close(fd);
		/* the last line that ends in a newline */
		for (ssize_t end = got - 1; end >= 0; end--) {
			ssize_t b;

			if (buf[end] != '\n')
				continue;
			for (b = end; b > 0 && buf[b - 1] != '\n'; b--)
				;
			if ((b > 0 || from == 0) && parse_seq(buf + b, end - b, seq) == 0) {
				err = 0;
				break;
			}
			end = b;
		}
	}
	if (!buf)
		err = -ENOMEM;
	free(buf);
	free_names(names, n);
	free(firsts);
	return err;
}

/* Parses a --since-seq value: a decimal entry seq. */
static int parse_since(const char *v, uint64_t *out)
{
	uint64_t x = 0;

	if (!*v)
		return -1;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9' || x > (INT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (*p - '0');
	}
	*out = x;
	return 0;
}

static int run(const char *state_dir, const char *logdir, struct events_opts *o,
	       bool follow, bool unsealed, bool since_given, uint64_t since)
{
	struct tail t = { .fd = -1 };
	struct reader r = { .logdir = logdir, .o = o, .limit = UINT64_MAX };
	struct stat st;
	int ifd = -1, rc = 1, err;

	if (since_given) {
		r.have_next = true;
		r.next = since + 1;
	}
	if (stat(logdir, &st)) {
		fprintf(stderr, "agentguard: events: cannot read '%s': %s\n", logdir,
			strerror(errno));
		return 1;
	}
	if (o->format == FMT_OCSF) {
		/* the log's name for metadata.uid: the checkpoint's origin, else
		 * the verifier key's name */
		char path[4096 + 32], buf[1024];
		size_t len = 0;
		int fd;

		read_checkpoint(logdir, &(uint64_t){ 0 }, o->origin, sizeof(o->origin));
		snprintf(path, sizeof(path), "%s/keys/log.vkey", state_dir);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (!o->origin[0] && fd >= 0 &&
		    util__read_small(fd, buf, sizeof(buf) - 1, &len) == 0) {
			buf[len] = 0;
			if (strchr(buf, '+'))
				snprintf(o->origin, sizeof(o->origin), "%.*s",
					 (int)(strchr(buf, '+') - buf), buf);
		}
		if (fd >= 0)
			close(fd);
	}
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
	if (pass(&r, &t, unsealed))
		goto out;
	fflush(stdout);
	/* a sealed entry N exists for good; else it must be in the files, or
	 * the reader has a place in another log (or one that was cut) */
	if (since_given && (unsealed || since >= r.limit)) {
		uint64_t last;

		err = last_seq(logdir, &last);
		if (err == -ENOENT) {
			fprintf(stderr, "agentguard: events: --since-seq %" PRIu64 " is beyond "
				"the end of the log (it has no entries)\n", since);
			goto out;
		}
		if (err)
			goto out;
		if (last < since) {
			fprintf(stderr, "agentguard: events: --since-seq %" PRIu64 " is beyond "
				"the end of the log (its last entry is %" PRIu64 ")\n", since,
				last);
			goto out;
		}
	}
	while (follow && !stop) {
		struct pollfd pfd = { .fd = ifd, .events = POLLIN };
		char evbuf[4096];

		if (poll(&pfd, ifd >= 0 ? 1 : 0, 1000) < 0 && errno != EINTR) {
			fprintf(stderr, "agentguard: events: poll: %s\n", strerror(errno));
			goto out;
		}
		if (stop)
			break;
		if (ifd >= 0)
			while (read(ifd, evbuf, sizeof(evbuf)) > 0)
				;
		err = pass(&r, &t, unsealed);
		fflush(stdout);
		if (err)
			goto out;
	}
	rc = 0;
out:
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
	bool follow = false, unsealed = false, since_given = false;
	uint64_t since = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		const char *opts[] = { "--state-dir", "--agent", "--type", "--format",
				       "--since-seq" };
		int which = -1;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(events_usage, stdout);
			return 0;
		}
		if (!strcmp(a, "-f") || !strcmp(a, "--follow")) {
			follow = true;
			continue;
		}
		if (!strcmp(a, "--unsealed")) {
			unsealed = true;
			continue;
		}
		for (int k = 0; k < 5 && which < 0; k++) {
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
		} else if (which == 4) {
			if (parse_since(v, &since)) {
				fprintf(stderr, "agentguard: events: invalid --since-seq '%s' "
					"(expected the seq of an entry: a number from 0)\n", v);
				return 2;
			}
			since_given = true;
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
	return run(state_dir, logdir, &o, follow, unsealed, since_given, since);
}
