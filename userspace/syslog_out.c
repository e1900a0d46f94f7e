/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * syslog_out.c: RFC 5424 messages of the log's entries and checkpoints,
 * sent by a thread of their own over UDP, TCP (octet counting) or a unix
 * datagram socket. See syslog_out.h and docs/shipping.md.
 *
 * Threads: the daemon's loop calls __entry and __commit (a mutex, a copy,
 * no system call but one eventfd write per commit); the output thread pops
 * released records, formats and sends them. Only the queue, the release
 * mark and the counters are shared, under the mutex.
 */
#include "syslog_out.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ocsf.h"

#define CP_RESERVE		(64u << 10)	/* room kept for checkpoints beyond the bound */
#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		5000
#define CONNECT_TIMEOUT_MS	5000
#define DGRAM_MAX		65507		/* the largest UDP payload over IPv4 */

/* ---- targets and facilities ------------------------------------------- */

static const char *const facilities[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

int syslog_facility__parse(const char *name)
{
	for (int i = 0; name && i < 24; i++)
		if (!strcmp(name, facilities[i]))
			return i;
	return -EINVAL;
}

const char *syslog_facility__name(int f)
{
	return f >= 0 && f < 24 ? facilities[f] : "?";
}

static int why_f(char *why, size_t len, const char *fmt, const char *arg)
{
	if (why && len)
		snprintf(why, len, fmt, arg);
	return -EINVAL;
}

int syslog_target__parse(const char *s, struct syslog_target *t, char *why, size_t whylen)
{
	const char *hp, *colon;
	size_t hl;
	char *end;
	long port;

	memset(t, 0, sizeof(*t));
	if (!s || strlen(s) >= SYSLOG_TARGET_MAX)
		return why_f(why, whylen, "%s", "too long");
	if (!strncmp(s, "unix:", 5)) {
		t->transport = SYSLOG_UNIX;
		if (s[5] != '/')
			return why_f(why, whylen, "%s", "expected unix:/PATH (an absolute path)");
		if (strlen(s + 5) >= sizeof(t->path))
			return why_f(why, whylen, "%s", "the socket path is longer than 107 bytes");
		strcpy(t->path, s + 5);
		return 0;
	}
	if (!strncmp(s, "udp:", 4))
		t->transport = SYSLOG_UDP;
	else if (!strncmp(s, "tcp:", 4))
		t->transport = SYSLOG_TCP;
	else
		return why_f(why, whylen, "%s", "expected udp:HOST:PORT, tcp:HOST:PORT or unix:/PATH");
	hp = s + 4;
	if (*hp == '[') {
		const char *rb = strchr(hp, ']');

		if (!rb || rb[1] != ':')
			return why_f(why, whylen, "%s", "expected [IPV6]:PORT");
		hp++;
		hl = rb - hp;
		colon = rb + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return why_f(why, whylen, "%s", "no port (expected HOST:PORT)");
		hl = colon - hp;
		if (memchr(hp, ':', hl))
			return why_f(why, whylen, "%s", "an IPv6 address must be in brackets ([::1]:514)");
	}
	if (hl == 0 || hl >= sizeof(t->host))
		return why_f(why, whylen, "%s", "no host, or a host name longer than 255 bytes");
	for (size_t i = 0; i < hl; i++)
		if ((unsigned char)hp[i] <= ' ' || hp[i] == 0x7f || hp[i] == '/')
			return why_f(why, whylen, "%s", "invalid character in the host");
	memcpy(t->host, hp, hl);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '1' || colon[1] > '9' || *end || errno || port > 65535)
		return why_f(why, whylen, "%s", "the port must be a number 1..65535");
	snprintf(t->port, sizeof(t->port), "%u", (unsigned)port & 0xffff);
	return 0;
}

int syslog__severity(const char *type, const char *decision)
{
	static const char *const warn[] = { "events.lost", "log.recovered", "manifest.rejected",
					    "syslog.dropped" };

	if (decision && !strcmp(decision, "deny"))
		return 4;
	if (decision && !strcmp(decision, "audit"))
		return 5;
	for (size_t i = 0; type && i < sizeof(warn) / sizeof(warn[0]); i++)
		if (!strcmp(type, warn[i]))
			return 4;
	return 6;
}

/* ---- formatting ---------------------------------------------------------- */

static int grow(char **buf, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 4096;
	char *nb;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	nb = realloc(*buf, c);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = c;
	return 0;
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac]Z" as an RFC 5424 TIMESTAMP: the
 * fraction cut to the 6 digits TIME-SECFRAC allows; "-" if malformed. */
static void stamp(const char *t, size_t len, char out[32])
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd";
	size_t i = 0, o;

	for (; i < 19; i++) {
		if (i >= len || (pat[i] == 'd' ? t[i] < '0' || t[i] > '9' : t[i] != pat[i]))
			goto bad;
	}
	memcpy(out, t, 19);
	o = 19;
	if (i < len && t[i] == '.') {
		out[o++] = '.';
		for (i++; i < len && t[i] >= '0' && t[i] <= '9'; i++)
			if (o < 26)
				out[o++] = t[i];
		if (out[o - 1] == '.')
			goto bad;
	}
	if (i + 1 != len || t[i] != 'Z')
		goto bad;
	out[o++] = 'Z';
	out[o] = 0;
	return;
bad:
	strcpy(out, "-");
}

/* 1..max bytes of printable US-ASCII (33..126), as RFC 5424 header fields
 * must be; else "-" */
static const char *field(const char *s, size_t len, size_t max, char *buf)
{
	if (!s || len == 0 || len > max)
		return "-";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
			return "-";
	memcpy(buf, s, len);
	buf[len] = 0;
	return buf;
}

/* a JSON string at s (after its opening quote): its length to the closing
 * quote, or -1 */
static long jstr(const char *s, const char *end)
{
	for (const char *p = s; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p - s;
	}
	return -1;
}

struct head {
	uint64_t seq;
	const char *time, *type, *decision;
	size_t tlen, ylen, dlen;
};

/* The fixed prefix every entry begins with (DESIGN.md section 5):
 * {"seq":N,"time":"T","host":"H","type":"Y"[,"decision":"D"] */
static int entry_head(const char *l, size_t len, struct head *h)
{
	const char *p = l, *end = l + len;
	long n;

#define LIT(s) (end - p >= (long)strlen(s) && !memcmp(p, s, strlen(s)) ? (p += strlen(s), 1) : 0)
	memset(h, 0, sizeof(*h));
	if (!LIT("{\"seq\":") || p >= end || *p < '0' || *p > '9')
		return -EINVAL;
	for (; p < end && *p >= '0' && *p <= '9'; p++)
		h->seq = h->seq * 10 + (*p - '0');
	if (!LIT(",\"time\":\"") || (n = jstr(p, end)) < 0)
		return -EINVAL;
	h->time = p;
	h->tlen = n;
	p += n + 1;
	if (!LIT(",\"host\":\"") || (n = jstr(p, end)) < 0)
		return -EINVAL;
	p += n + 1;
	if (!LIT(",\"type\":\"") || (n = jstr(p, end)) < 0)
		return -EINVAL;
	h->type = p;
	h->ylen = n;
	p += n + 1;
	if (LIT(",\"decision\":\"") && (n = jstr(p, end)) >= 0) {
		h->decision = p;
		h->dlen = n;
	}
#undef LIT
	return 0;
}

/* appends the header "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID " */
static long header(char **buf, size_t *cap, int pri, const char *ts, const char *hostname,
		   int pid, const char *msgid)
{
	char host[256];
	int n;

	if (grow(buf, cap, 512))
		return -ENOMEM;
	n = snprintf(*buf, *cap, "<%d>1 %s %s %s %d %s ", pri, ts,
		     field(hostname, hostname ? strlen(hostname) : 0, 255, host),
		     SYSLOG_APP_NAME, pid, msgid);
	return n;
}

/* appends s[0..len) as an SD PARAM-VALUE: '"', '\' and ']' escaped */
static long sd_value(char **buf, size_t *cap, long at, const char *s, size_t len)
{
	if (grow(buf, cap, at + 2 * len + 1))
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\' || s[i] == ']')
			(*buf)[at++] = '\\';
		(*buf)[at++] = s[i];
	}
	return at;
}

static long append(char **buf, size_t *cap, long at, const char *s, size_t len)
{
	if (grow(buf, cap, at + len + 1))
		return -ENOMEM;
	memcpy(*buf + at, s, len);
	return at + len;
}

long syslog__format_entry(char **buf, size_t *cap, int facility, enum syslog_format format,
			  const char *hostname, int pid, const char *origin, uint64_t seq,
			  const char *line, size_t len)
{
	char ts[32], type[40], dec[16], msgid[40], sd[64];
	char *ocsf = NULL;
	struct head h;
	long at;

	if (entry_head(line, len, &h) || h.seq != seq)
		return -EINVAL;
	stamp(h.time, h.tlen, ts);
	snprintf(type, sizeof(type), "%.*s", (int)(h.ylen < sizeof(type) ? h.ylen : 0), h.type);
	snprintf(dec, sizeof(dec), "%.*s", (int)(h.dlen < sizeof(dec) ? h.dlen : 0),
		 h.decision ? h.decision : "");
	if (format == SYSLOG_FORMAT_OCSF) {
		json_t *e = json_loadb(line, len, 0, NULL), *o;

		o = e ? ocsf__from_entry(e, origin) : NULL;
		json_decref(e);
		if (!o)
			return e ? -(errno ? errno : EINVAL) : -EINVAL;
		ocsf = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		if (!ocsf)
			return -ENOMEM;
		line = ocsf;
		len = strlen(ocsf);
	}
	at = header(buf, cap, facility * 8 + syslog__severity(type, dec[0] ? dec : NULL), ts,
		    hostname, pid, field(h.type, h.ylen, 32, msgid));
	snprintf(sd, sizeof(sd), "[" SYSLOG_SD_ID " seq=\"%" PRIu64 "\"] ", seq);
	if (at >= 0)
		at = append(buf, cap, at, sd, strlen(sd));
	if (at >= 0)
		at = append(buf, cap, at, line, len);
	free(ocsf);
	if (at >= 0)
		(*buf)[at] = 0;
	return at;
}

long syslog__format_checkpoint(char **buf, size_t *cap, int facility, const char *hostname,
			       int pid, uint64_t time_ns, const char *note, size_t len)
{
	const char *l1, *l2, *l3, *end = note + len;
	char ts[64];
	time_t sec = time_ns / 1000000000ull;
	struct tm tm;
	long at;

	/* <origin>\n<size>\n<root>\n\n<signatures> */
	l1 = memchr(note, '\n', len);
	l2 = l1 ? memchr(l1 + 1, '\n', end - l1 - 1) : NULL;
	l3 = l2 ? memchr(l2 + 1, '\n', end - l2 - 1) : NULL;
	if (!l3 || l1 == note || l2 == l1 + 1 || l3 == l2 + 1 || l3 + 1 >= end || l3[1] != '\n')
		return -EINVAL;
	for (const char *p = l1 + 1; p < l2; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	gmtime_r(&sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(time_ns % 1000000000ull / 1000));
	at = header(buf, cap, facility * 8 + 6, ts, hostname, pid, "checkpoint");
	if (at >= 0)
		at = append(buf, cap, at, "[" SYSLOG_SD_ID " origin=\"",
			    strlen("[" SYSLOG_SD_ID " origin=\""));
	if (at >= 0)
		at = sd_value(buf, cap, at, note, l1 - note);
	if (at >= 0)
		at = append(buf, cap, at, "\" size=\"", 8);
	if (at >= 0)
		at = append(buf, cap, at, l1 + 1, l2 - l1 - 1);
	if (at >= 0)
		at = append(buf, cap, at, "\" root=\"", 8);
	if (at >= 0)
		at = sd_value(buf, cap, at, l2 + 1, l3 - l2 - 1);
	if (at >= 0)
		at = append(buf, cap, at, "\"] ", 3);
	if (at >= 0)
		at = append(buf, cap, at, note, len);
	if (at >= 0)
		(*buf)[at] = 0;
	return at;
}

/* ---- the queue and the thread -------------------------------------------- */

struct rec {
	struct rec *next;
	uint64_t seq;
	bool checkpoint;
	size_t len;
	char data[];
};

struct syslog_out {
	/* fixed at open */
	struct syslog_target tgt;
	char target[SYSLOG_TARGET_MAX];
	int facility;
	enum syslog_format format;
	bool entries, checkpoints;
	size_t cap;
	char hostname[256];
	char origin[256];
	int pid;
	int efd;			/* eventfd: wakes the thread */
	pthread_t th;

	pthread_mutex_t mu;		/* guards what follows */
	struct rec *head, *tail;
	size_t bytes;
	uint64_t released;		/* entries below this seq may be sent */
	bool stopping;
	uint64_t stop_at_ms;		/* when stopping: give up then */
	struct syslog_out_stats st;

	/* the thread's own */
	int fd;
	unsigned backoff_ms;
	uint64_t retry_at_ms;
	bool failing;			/* the last attempt failed (reported once) */
	char *buf;
	size_t bufcap;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void wake(struct syslog_out *so)
{
	uint64_t one = 1;

	(void)!write(so->efd, &one, sizeof(one));
}

static void push(struct syslog_out *so, uint64_t seq, bool cp, const char *data, size_t len)
{
	struct rec *r = malloc(sizeof(*r) + len);
	size_t need = sizeof(*r) + len;

	pthread_mutex_lock(&so->mu);
	if (!r || so->stopping || so->bytes + need > so->cap + (cp ? CP_RESERVE : 0)) {
		if (cp)
			so->st.checkpoints_dropped++;
		else
			so->st.dropped++;
		pthread_mutex_unlock(&so->mu);
		free(r);
		return;
	}
	r->next = NULL;
	r->seq = seq;
	r->checkpoint = cp;
	r->len = len;
	memcpy(r->data, data, len);
	if (so->tail)
		so->tail->next = r;
	else
		so->head = r;
	so->tail = r;
	so->bytes += need;
	so->st.queued++;
	so->st.queued_bytes = so->bytes;
	pthread_mutex_unlock(&so->mu);
}

void syslog_out__entry(struct syslog_out *so, uint64_t seq, const char *line, size_t len)
{
	if (so && so->entries)
		push(so, seq, false, line, len);
}

void syslog_out__commit(struct syslog_out *so, uint64_t size, const char *note, size_t len)
{
	if (!so)
		return;
	pthread_mutex_lock(&so->mu);
	if (size > so->released)
		so->released = size;
	pthread_mutex_unlock(&so->mu);
	if (so->checkpoints && note && len) {
		push(so, size, true, note, len);
	} else if (so->checkpoints) {
		pthread_mutex_lock(&so->mu);
		so->st.checkpoints_dropped++;	/* the daemon could not read it */
		pthread_mutex_unlock(&so->mu);
	}
	wake(so);
}

void syslog_out__stats(struct syslog_out *so, struct syslog_out_stats *st)
{
	pthread_mutex_lock(&so->mu);
	*st = so->st;
	pthread_mutex_unlock(&so->mu);
}

/* Reports a failure once per outage (and keeps it for status). */
static void failed(struct syslog_out *so, const char *what, int err)
{
	pthread_mutex_lock(&so->mu);
	snprintf(so->st.last_error, sizeof(so->st.last_error), "%s: %s", what, strerror(err));
	so->st.connected = false;
	if (so->stopping)
		so->stop_at_ms = now_ms();	/* closing: no more attempts */
	pthread_mutex_unlock(&so->mu);
	if (!so->failing)
		fprintf(stderr, "agentguard: daemon: syslog: %s '%s': %s (retrying)\n", what,
			so->target, strerror(err));
	so->failing = true;
	if (so->fd >= 0)
		close(so->fd);
	so->fd = -1;
	so->retry_at_ms = now_ms() + so->backoff_ms;
	so->backoff_ms = so->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : so->backoff_ms * 2;
}

static bool stop_due(struct syslog_out *so)
{
	bool due;

	pthread_mutex_lock(&so->mu);
	due = so->stopping && now_ms() >= so->stop_at_ms;
	pthread_mutex_unlock(&so->mu);
	return due;
}

/*
 * Waits until fd is ready for events (fd < 0: none), the eventfd is
 * written, or until_ms. Returns 1 if fd is ready (revents in *rev), 0
 * otherwise, -1 once a stop is due.
 */
static int wait_for(struct syslog_out *so, int fd, short events, uint64_t until_ms, short *rev)
{
	struct pollfd p[2] = { { .fd = so->efd, .events = POLLIN }, { .fd = fd, .events = events } };
	uint64_t now = now_ms(), stop_at;
	int timeout, n;

	pthread_mutex_lock(&so->mu);
	stop_at = so->stopping ? so->stop_at_ms : UINT64_MAX;
	pthread_mutex_unlock(&so->mu);
	if (now >= stop_at)
		return -1;
	if (until_ms > stop_at)
		until_ms = stop_at;
	timeout = until_ms == UINT64_MAX ? -1 : until_ms > now ? (int)(until_ms - now) : 0;
	n = poll(p, fd >= 0 ? 2 : 1, timeout);
	if (n > 0 && (p[0].revents & POLLIN)) {
		uint64_t v;

		(void)!read(so->efd, &v, sizeof(v));
	}
	if (n > 0 && fd >= 0 && p[1].revents) {
		if (rev)
			*rev = p[1].revents;
		return 1;
	}
	return stop_due(so) ? -1 : 0;
}

static int connect_target(struct syslog_out *so)
{
	const struct syslog_target *t = &so->tgt;
	int type = t->transport == SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM, fd = -1, err = 0;

	if (t->transport == SYSLOG_UNIX) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		strcpy(sa.sun_path, t->path);
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			err = errno;
			if (fd >= 0)
				close(fd);
			failed(so, "cannot connect to", err);
			return -err;
		}
	} else {
		struct addrinfo hints = { .ai_socktype = type }, *ai = NULL, *a;
		int rc = getaddrinfo(t->host, t->port, &hints, &ai);

		if (rc) {
			pthread_mutex_lock(&so->mu);
			snprintf(so->st.last_error, sizeof(so->st.last_error),
				 "cannot resolve '%.80s': %s", t->host, gai_strerror(rc));
			pthread_mutex_unlock(&so->mu);
			if (!so->failing)
				fprintf(stderr, "agentguard: daemon: syslog: cannot resolve '%s': "
					"%s (retrying)\n", t->host, gai_strerror(rc));
			so->failing = true;
			so->retry_at_ms = now_ms() + so->backoff_ms;
			so->backoff_ms = so->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
					 so->backoff_ms * 2;
			return -EHOSTUNREACH;
		}
		err = ECONNREFUSED;
		for (a = ai; a && fd < 0; a = a->ai_next) {
			fd = socket(a->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				err = errno;
				continue;
			}
			if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
				break;
			err = errno;
			if (err == EINPROGRESS) {
				uint64_t until = now_ms() + CONNECT_TIMEOUT_MS;
				socklen_t sl = sizeof(err);
				short rev = 0;
				int w;

				do	/* a wake-up is not the end of the wait */
					w = wait_for(so, fd, POLLOUT, until, &rev);
				while (w == 0 && now_ms() < until);
				if (w == 1 && !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) && !err)
					break;
				if (w != 1)
					err = w < 0 ? ECANCELED : ETIMEDOUT;
			}
			close(fd);
			fd = -1;
		}
		freeaddrinfo(ai);
		if (fd < 0) {
			failed(so, "cannot connect to", err);
			return -err;
		}
		if (type == SOCK_STREAM) {
			int one = 1;

			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		}
	}
	so->fd = fd;
	pthread_mutex_lock(&so->mu);
	so->st.connected = true;
	so->st.connects++;
	pthread_mutex_unlock(&so->mu);
	if (so->failing)
		fprintf(stderr, "agentguard: daemon: syslog: connected to '%s'\n", so->target);
	so->failing = false;
	return 0;
}

/* Sends msg[0..len) (a whole frame); 1 sent, 0 not sent (the caller
 * retries after the backoff), -1 stop due, -EMSGSIZE never sendable. */
static int send_once(struct syslog_out *so, const char *msg, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n;
		short rev = 0;

		if (so->tgt.transport == SYSLOG_TCP)
			n = send(so->fd, msg + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			n = send(so->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			off += so->tgt.transport == SYSLOG_TCP ? (size_t)n : len;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EMSGSIZE)
			return -EMSGSIZE;
		if (errno == EAGAIN || errno == ENOBUFS) {
			/* a full socket: wait (a stop, due, gives up) */
			int w = wait_for(so, so->fd, POLLOUT, now_ms() + 1000, &rev);

			if (w < 0)
				return -1;
			if (w == 1 && (rev & (POLLERR | POLLHUP)) && !(rev & POLLOUT) &&
			    so->tgt.transport == SYSLOG_TCP) {
				failed(so, "lost the connection to", EPIPE);
				return 0;
			}
			continue;
		}
		failed(so, off ? "lost the connection to" : "cannot send to", errno);
		return 0;
	}
	so->backoff_ms = BACKOFF_MIN_MS;
	return 1;
}

/* Formats r and sends it, reconnecting as needed; returns false once a
 * stop is due (r is then not sent). */
static bool deliver(struct syslog_out *so, const struct rec *r)
{
	long len;
	int rc;

	if (r->checkpoint)
		len = r->len ? syslog__format_checkpoint(&so->buf, &so->bufcap, so->facility,
							 so->hostname, so->pid, real_ns(),
							 r->data, r->len) : -EINVAL;
	else
		len = syslog__format_entry(&so->buf, &so->bufcap, so->facility, so->format,
					   so->hostname, so->pid, so->origin, r->seq, r->data,
					   r->len);
	if (len >= 0 && so->tgt.transport == SYSLOG_TCP) {
		/* RFC 6587 octet counting: MSG-LEN SP SYSLOG-MSG */
		char pre[24];
		int pl = snprintf(pre, sizeof(pre), "%ld ", len);

		if (grow(&so->buf, &so->bufcap, len + pl + 1))
			len = -ENOMEM;
		else {
			memmove(so->buf + pl, so->buf, len);
			memcpy(so->buf, pre, pl);
			len += pl;
		}
	}
	if (len >= 0 && so->tgt.transport != SYSLOG_TCP && len > DGRAM_MAX)
		len = -EMSGSIZE;
	for (;;) {
		if (len < 0) {
			pthread_mutex_lock(&so->mu);
			if (r->checkpoint)
				so->st.checkpoints_dropped++;
			else
				so->st.dropped++;
			snprintf(so->st.last_error, sizeof(so->st.last_error),
				 "entry %" PRIu64 " not sent: %s", r->seq, strerror((int)-len));
			pthread_mutex_unlock(&so->mu);
			return true;
		}
		if (so->fd < 0) {
			if (now_ms() < so->retry_at_ms) {
				if (wait_for(so, -1, 0, so->retry_at_ms, NULL) < 0)
					return false;
				continue;
			}
			if (stop_due(so))
				return false;
			if (connect_target(so))
				continue;
		}
		rc = send_once(so, so->buf, len);
		if (rc < 0 && rc != -1) {
			len = rc;	/* too large for a datagram */
			continue;
		}
		if (rc == -1)
			return false;
		if (rc == 1) {
			pthread_mutex_lock(&so->mu);
			if (r->checkpoint)
				so->st.checkpoints_sent++;
			else
				so->st.sent++;
			pthread_mutex_unlock(&so->mu);
			return true;
		}
	}
}

static void *thread_main(void *arg)
{
	struct syslog_out *so = arg;

	for (;;) {
		struct rec *r = NULL;
		bool stopping;

		pthread_mutex_lock(&so->mu);
		if (so->head && (so->head->checkpoint || so->head->seq < so->released)) {
			r = so->head;
			so->head = r->next;
			if (!so->head)
				so->tail = NULL;
			so->bytes -= sizeof(*r) + r->len;
			so->st.queued--;
			so->st.queued_bytes = so->bytes;
		}
		stopping = so->stopping;
		pthread_mutex_unlock(&so->mu);
		if (!r) {
			short rev = 0;

			if (stopping)
				break;
			if (so->fd < 0) {
				/* connect ahead of the first message: a wrong
				 * target shows at once, in stderr and status */
				if (now_ms() >= so->retry_at_ms)
					connect_target(so);
				else
					wait_for(so, -1, 0, so->retry_at_ms, NULL);
				continue;
			}
			/* idle: notice a stream receiver that went away */
			if (wait_for(so, so->tgt.transport == SYSLOG_TCP ? so->fd : -1,
				     POLLIN | POLLRDHUP, UINT64_MAX, &rev) == 1) {
				char b[256];
				ssize_t n = recv(so->fd, b, sizeof(b), MSG_DONTWAIT);

				if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
				    (rev & (POLLRDHUP | POLLHUP | POLLERR)))
					failed(so, "lost the connection to", ECONNRESET);
			}
			continue;
		}
		if (!deliver(so, r)) {
			pthread_mutex_lock(&so->mu);
			if (r->checkpoint)
				so->st.checkpoints_dropped++;
			else
				so->st.dropped++;
			pthread_mutex_unlock(&so->mu);
			free(r);
			break;
		}
		free(r);
	}
	/* what is left when the stop was due */
	pthread_mutex_lock(&so->mu);
	while (so->head) {
		struct rec *r = so->head;

		so->head = r->next;
		if (r->checkpoint)
			so->st.checkpoints_dropped++;
		else
			so->st.dropped++;
		free(r);
	}
	so->tail = NULL;
	so->bytes = 0;
	so->st.queued = so->st.queued_bytes = 0;
	so->st.connected = false;
	pthread_mutex_unlock(&so->mu);
	if (so->fd >= 0)
		close(so->fd);
	so->fd = -1;
	return NULL;
}

struct syslog_out *syslog_out__open(const struct syslog_out_opts *o)
{
	struct syslog_out *so;
	sigset_t all, old;
	int err;

	if (!o || o->facility < 0 || o->facility > 23 || o->queue_bytes < SYSLOG_QUEUE_MIN ||
	    o->queue_bytes > SYSLOG_QUEUE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	so = calloc(1, sizeof(*so));
	if (!so) {
		errno = ENOMEM;
		return NULL;
	}
	if (syslog_target__parse(o->target, &so->tgt, NULL, 0)) {
		free(so);
		errno = EINVAL;
		return NULL;
	}
	snprintf(so->target, sizeof(so->target), "%s", o->target);
	so->facility = o->facility;
	so->format = o->format;
	so->entries = o->entries;
	so->checkpoints = o->checkpoints;
	so->cap = o->queue_bytes;
	snprintf(so->hostname, sizeof(so->hostname), "%s", o->hostname ? o->hostname : "");
	snprintf(so->origin, sizeof(so->origin), "%s", o->origin ? o->origin : "");
	so->pid = getpid();
	so->fd = -1;
	so->backoff_ms = BACKOFF_MIN_MS;
	so->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (so->efd < 0) {
		err = errno;
		free(so);
		errno = err;
		return NULL;
	}
	pthread_mutex_init(&so->mu, NULL);
	/* the thread takes no signal: the daemon's loop reads them (signalfd),
	 * and one delivered here would run the default action */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&so->th, NULL, thread_main, so);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		close(so->efd);
		pthread_mutex_destroy(&so->mu);
		free(so);
		errno = err;
		return NULL;
	}
	return so;
}

void syslog_out__close(struct syslog_out *so, unsigned timeout_ms, struct syslog_out_stats *st)
{
	struct timespec until;

	if (!so)
		return;
	pthread_mutex_lock(&so->mu);
	so->stopping = true;
	/* a receiver that is away now gets no more attempts */
	so->stop_at_ms = now_ms() + (so->st.connected ? timeout_ms : 0);
	pthread_mutex_unlock(&so->mu);
	wake(so);
	/* a name lookup can outlast the deadline: the thread is then left
	 * behind (with what it uses) rather than waited for */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000 + 2;
	if (pthread_timedjoin_np(so->th, NULL, &until)) {
		if (st)
			syslog_out__stats(so, st);
		return;
	}
	if (st)
		*st = so->st;
	close(so->efd);
	pthread_mutex_destroy(&so->mu);
	free(so->buf);
	free(so);
}
