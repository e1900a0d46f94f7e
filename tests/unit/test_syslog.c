/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_syslog.c: the syslog output (userspace/syslog_out.c): targets and
 * facilities, the RFC 5424 messages byte for byte, and the output against
 * real sockets: TCP with octet counting (every entry once, in order, only
 * once sealed, each checkpoint after the entries it seals), UDP, a unix
 * datagram receiver that appears late, and a TCP receiver that never
 * reads: the caller is never blocked, the queue stays bounded, and every
 * entry is either sent or counted as dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "syslog_out.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_targets(void **state)
{
	static const char *const bad[] = {
		"", "udp", "udp:", "udp:host", "udp:host:", "udp::514", "udp:host:0",
		"udp:host:65536", "udp:host:51x", "udp:host:-1", "tcp:::1:514", "tcp:[::1]514",
		"tcp:[::1]", "unix:", "unix:relative", "http:host:80", "tcp:ho st:514",
		"unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct syslog_target t;
	char why[128];

	assert_int_equal(syslog_target__parse("udp:127.0.0.1:514", &t, why, sizeof(why)), 0);
	assert_int_equal(t.transport, SYSLOG_UDP);
	assert_string_equal(t.host, "127.0.0.1");
	assert_string_equal(t.port, "514");
	assert_int_equal(syslog_target__parse("tcp:[2001:db8::1]:6514", &t, why, sizeof(why)), 0);
	assert_int_equal(t.transport, SYSLOG_TCP);
	assert_string_equal(t.host, "2001:db8::1");
	assert_string_equal(t.port, "6514");
	assert_int_equal(syslog_target__parse("tcp:siem.example.com:601", &t, why, sizeof(why)), 0);
	assert_string_equal(t.host, "siem.example.com");
	assert_int_equal(syslog_target__parse("unix:/dev/log", &t, why, sizeof(why)), 0);
	assert_int_equal(t.transport, SYSLOG_UNIX);
	assert_string_equal(t.path, "/dev/log");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		if (syslog_target__parse(bad[i], &t, why, sizeof(why)) != -EINVAL)
			fail_msg("target '%s' accepted", bad[i]);
		assert_true(why[0] != 0);
	}
	assert_int_equal(syslog_facility__parse("kern"), 0);
	assert_int_equal(syslog_facility__parse("auth"), 4);
	assert_int_equal(syslog_facility__parse("authpriv"), 10);
	assert_int_equal(syslog_facility__parse("local0"), 16);
	assert_int_equal(syslog_facility__parse("local7"), 23);
	assert_int_equal(syslog_facility__parse("local8"), -EINVAL);
	assert_int_equal(syslog_facility__parse("AUTH"), -EINVAL);
	assert_string_equal(syslog_facility__name(19), "local3");
	assert_string_equal(syslog_facility__name(24), "?");
}

#define E_DENY "{\"seq\":42,\"time\":\"2026-11-29T09:12:03.123456789Z\",\"host\":\"agent-host-1\"," \
	"\"type\":\"network.connect\",\"decision\":\"deny\",\"mode\":\"enforce\",\"agent\":{\"name\":" \
	"\"ts\"},\"target\":{\"ip\":\"10.1.2.3\",\"port\":443,\"protocol\":\"tcp\"},\"rule\":" \
	"\"network.egress.default\"}"
#define E_START "{\"seq\":0,\"time\":\"2026-11-29T09:12:00Z\",\"host\":\"h\",\"type\":\"daemon.start\"}"
#define NOTE "agentguard/agent-host-1\n43\nSTx9rHMf3G8zlPl6yfEOMOktiNN8ugKhz6aU/AoH6sM=\n\n" \
	"\xe2\x80\x94 agentguard/agent-host-1 qiHh7q4ulBI5fH37zNtUE2daRDT971MyWo/iYz5yF8fQLpsl" \
	"VpB2Ne1yPuM89uA0in6ueZ7Bt86J9oF5ktkZLkT9NAY=\n"

static void test_format(void **state)
{
	char *buf = NULL;
	size_t cap = 0;
	long n;

	assert_int_equal(syslog__severity("network.connect", "deny"), 4);
	assert_int_equal(syslog__severity("file.open", "audit"), 5);
	assert_int_equal(syslog__severity("file.open", "allow"), 6);
	assert_int_equal(syslog__severity("events.lost", NULL), 4);
	assert_int_equal(syslog__severity("syslog.dropped", NULL), 4);
	assert_int_equal(syslog__severity("session.end", NULL), 6);

	/* auth (4) * 8 + warning (4) = 36; the fraction cut to 6 digits; MSGID
	 * the type; the seq as structured data; the entry as it is */
	n = syslog__format_entry(&buf, &cap, 4, SYSLOG_FORMAT_JSON, "agent-host-1", 777,
				 "agentguard/agent-host-1", 42, E_DENY, strlen(E_DENY));
	assert_true(n > 0);
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "<36>1 2026-11-29T09:12:03.123456Z agent-host-1 agentguard 777 "
			    "network.connect [agentguard@32473 seq=\"42\"] " E_DENY);
	/* local3 (19) * 8 + informational; no fraction; a host with a space */
	n = syslog__format_entry(&buf, &cap, 19, SYSLOG_FORMAT_JSON, "bad host", 1, NULL, 0,
				 E_START, strlen(E_START));
	assert_string_equal(buf, "<158>1 2026-11-29T09:12:00Z - agentguard 1 daemon.start "
			    "[agentguard@32473 seq=\"0\"] " E_START);
	/* not an entry, or not entry seq */
	assert_int_equal(syslog__format_entry(&buf, &cap, 4, SYSLOG_FORMAT_JSON, "h", 1, NULL, 41,
					      E_DENY, strlen(E_DENY)), -EINVAL);
	assert_int_equal(syslog__format_entry(&buf, &cap, 4, SYSLOG_FORMAT_JSON, "h", 1, NULL, 0,
					      "{\"a\":1}", 7), -EINVAL);
	/* OCSF: the same header, the OCSF event as the message */
	n = syslog__format_entry(&buf, &cap, 4, SYSLOG_FORMAT_OCSF, "agent-host-1", 777,
				 "agentguard/agent-host-1", 42, E_DENY, strlen(E_DENY));
	assert_true(n > 0);
	{
		static const char pre[] = "<36>1 2026-11-29T09:12:03.123456Z agent-host-1 agentguard "
					  "777 network.connect [agentguard@32473 seq=\"42\"] ";
		json_t *o;

		assert_int_equal(strncmp(buf, pre, strlen(pre)), 0);
		o = json_loads(buf + strlen(pre), 0, NULL);
		assert_non_null(o);
		assert_int_equal(json_integer_value(json_object_get(o, "class_uid")), 4001);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "metadata"),
								    "sequence")), 42);
		assert_string_equal(json_string_value(json_object_get(json_object_get(o, "metadata"),
								      "uid")),
				    "agentguard/agent-host-1:42");
		json_decref(o);
	}
	/* a checkpoint: MSGID checkpoint, its origin, size and root as
	 * structured data, the signed note as the message */
	n = syslog__format_checkpoint(&buf, &cap, 4, "agent-host-1", 777,
				      1795943523123456789ULL, NOTE, strlen(NOTE));
	assert_true(n > 0);
	assert_string_equal(buf, "<38>1 2026-11-29T09:12:03.123456Z agent-host-1 agentguard 777 "
			    "checkpoint [agentguard@32473 origin=\"agentguard/agent-host-1\" "
			    "size=\"43\" root=\"STx9rHMf3G8zlPl6yfEOMOktiNN8ugKhz6aU/AoH6sM=\"] " NOTE);
	/* SD-PARAM values escaped */
	n = syslog__format_checkpoint(&buf, &cap, 4, "h", 1, 0, "a\"b]c\\\n1\nr\n\nsig\n", 16);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "origin=\"a\\\"b\\]c\\\\\" size=\"1\" root=\"r\"]"));
	assert_int_equal(syslog__format_checkpoint(&buf, &cap, 4, "h", 1, 0, "x\n1\n", 4), -EINVAL);
	assert_int_equal(syslog__format_checkpoint(&buf, &cap, 4, "h", 1, 0, "x\nab\nr\n\ns\n", 10),
			 -EINVAL);
	free(buf);
}

/* ---- against sockets ---------------------------------------------------- */

static int listen_tcp(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* accept(), or fail after 10 s (never hang the test run) */
static int accept_t(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	if (poll(&p, 1, 10000) != 1)
		fail_msg("the output did not connect within 10 s");
	return accept(lfd, NULL, NULL);
}

static char *entry(uint64_t seq, const char *pad)
{
	char *s;

	assert_true(asprintf(&s, "{\"seq\":%llu,\"time\":\"2026-11-29T09:12:03.000000001Z\","
			     "\"host\":\"h\",\"type\":\"network.connect\",\"decision\":\"allow\","
			     "\"pad\":\"%s\"}", (unsigned long long)seq, pad) > 0);
	return s;
}

static void put(struct syslog_out *so, uint64_t from, uint64_t to, const char *pad)
{
	for (uint64_t i = from; i < to; i++) {
		char *e = entry(i, pad);

		syslog_out__entry(so, i, e, strlen(e));
		free(e);
	}
}

static char *note_of(uint64_t size)
{
	char *s;

	assert_true(asprintf(&s, "agentguard/h\n%llu\nAAAA\n\n\xe2\x80\x94 agentguard/h sig=\n",
			     (unsigned long long)size) > 0);
	return s;
}

static void commit(struct syslog_out *so, uint64_t size)
{
	char *n = note_of(size);

	syslog_out__commit(so, size, n, strlen(n));
	free(n);
}

struct frames {
	char buf[1 << 20];
	size_t len;
	int n;			/* complete frames parsed */
	uint64_t next_seq;	/* the entry expected next */
	uint64_t last_cp;	/* size of the last checkpoint seen */
	int checkpoints;
};

/* Reads octet-counted frames from fd for up to secs, until want frames;
 * checks each: entries in seq order from next_seq, checkpoints sealing
 * every entry before them. */
static void read_frames(int fd, struct frames *f, int want, double secs)
{
	double end = now() + secs;

	while (f->n < want && now() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char *sp;
		ssize_t r;

		if (poll(&p, 1, 100) <= 0)
			continue;
		r = read(fd, f->buf + f->len, sizeof(f->buf) - f->len);
		if (r <= 0)
			break;
		f->len += r;
		while ((sp = memchr(f->buf, ' ', f->len))) {
			long mlen = strtol(f->buf, NULL, 10);
			size_t hl = sp - f->buf + 1;
			const char *m = sp + 1, *sd;

			assert_true(mlen > 0);
			if (f->len < hl + mlen)
				break;
			sd = strstr(m, "[agentguard@32473 ");
			assert_non_null(sd);
			if (strstr(m, " checkpoint [") == sd - 12) {
				uint64_t size = strtoull(strstr(sd, "size=\"") + 6, NULL, 10);

				/* the checkpoint comes after every entry it seals */
				assert_int_equal(size, f->next_seq);
				f->last_cp = size;
				f->checkpoints++;
			} else {
				uint64_t seq = strtoull(strstr(sd, "seq=\"") + 5, NULL, 10);

				if (seq != f->next_seq)
					fail_msg("frame %d: entry %llu, expected %llu", f->n,
						 (unsigned long long)seq,
						 (unsigned long long)f->next_seq);
				f->next_seq++;
				assert_non_null(strstr(m, "{\"seq\":"));
			}
			f->n++;
			memmove(f->buf, f->buf + hl + mlen, f->len - hl - mlen);
			f->len -= hl + mlen;
		}
	}
}

static struct syslog_out *open_out(const char *target, size_t queue)
{
	struct syslog_out_opts o = {
		.target = target, .facility = 4, .format = SYSLOG_FORMAT_JSON, .entries = true,
		.checkpoints = true, .queue_bytes = queue, .hostname = "h", .origin = "agentguard/h",
	};
	struct syslog_out *so = syslog_out__open(&o);

	assert_non_null(so);
	return so;
}

static void test_tcp_in_order_once(void **state)
{
	struct frames *f = calloc(1, sizeof(*f));
	struct syslog_out_stats st;
	struct syslog_out *so;
	char target[64];
	int port, lfd = listen_tcp(&port), cfd;

	snprintf(target, sizeof(target), "tcp:127.0.0.1:%d", port);
	so = open_out(target, SYSLOG_QUEUE_DEFAULT);
	put(so, 0, 600, "x");
	cfd = accept_t(lfd);
	assert_true(cfd >= 0);
	/* not sealed yet: nothing is sent */
	read_frames(cfd, f, 1, 0.3);
	assert_int_equal(f->n, 0);
	commit(so, 600);
	read_frames(cfd, f, 601, 10);
	assert_int_equal(f->n, 601);
	put(so, 600, 1000, "x");
	read_frames(cfd, f, 602, 0.3);
	assert_int_equal(f->n, 601);
	commit(so, 1000);
	put(so, 1000, 3000, "y");
	commit(so, 3000);
	read_frames(cfd, f, 3003, 10);
	assert_int_equal(f->n, 3003);
	assert_int_equal(f->next_seq, 3000);
	assert_int_equal(f->checkpoints, 3);
	assert_int_equal(f->last_cp, 3000);
	/* at close, what is sealed is sent */
	put(so, 3000, 3500, "z");
	commit(so, 3500);
	syslog_out__close(so, 5000, &st);
	read_frames(cfd, f, 3504, 10);
	assert_int_equal(f->next_seq, 3500);
	assert_int_equal(st.sent, 3500);
	assert_int_equal(st.checkpoints_sent, 4);
	assert_int_equal(st.dropped + st.checkpoints_dropped, 0);
	assert_int_equal(st.connects, 1);
	close(cfd);
	close(lfd);
	free(f);
}

static void test_udp(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), n = 0, bufsz = 4 << 20;
	struct syslog_out_stats st;
	struct syslog_out *so;
	char target[64], buf[70000];
	double end;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(target, sizeof(target), "udp:127.0.0.1:%d", ntohs(sa.sin_port));
	so = open_out(target, SYSLOG_QUEUE_DEFAULT);
	put(so, 0, 200, "u");
	commit(so, 200);
	for (end = now() + 10; n < 201 && now() < end;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 100) <= 0)
			continue;
		r = recv(fd, buf, sizeof(buf) - 1, 0);
		assert_true(r > 0);
		buf[r] = 0;
		/* one message per datagram, no framing */
		assert_int_equal(strncmp(buf, n < 200 ? "<38>1 " : "<38>1 ", 6), 0);
		if (n < 200) {
			char want[64];

			snprintf(want, sizeof(want), "seq=\"%d\"] {\"seq\":%d,", n, n);
			assert_non_null(strstr(buf, want));
		} else {
			assert_non_null(strstr(buf, " checkpoint [agentguard@32473 origin="));
		}
		n++;
	}
	assert_int_equal(n, 201);
	syslog_out__close(so, 1000, &st);
	assert_int_equal(st.sent, 200);
	assert_int_equal(st.checkpoints_sent, 1);
	close(fd);
}

/* A unix datagram receiver that is not there at first: entries wait in the
 * queue (bounded), the output retries, and delivers once it appears. */
static void test_unix_late_receiver(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct syslog_out_stats st;
	struct syslog_out *so;
	char dir[] = "/tmp/test_syslog.XXXXXX", target[200], buf[70000];
	int fd, n = 0, first = -1;
	double end;

	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/log", dir);
	snprintf(target, sizeof(target), "unix:%s", sa.sun_path);
	so = open_out(target, SYSLOG_QUEUE_MIN);
	put(so, 0, 50, "a");
	commit(so, 50);
	usleep(400000);
	syslog_out__stats(so, &st);
	assert_false(st.connected);
	assert_int_equal(st.sent, 0);
	assert_non_null(strstr(st.last_error, "cannot connect to"));
	/* a full queue drops, and counts, what does not fit */
	put(so, 50, 2050, "b");
	commit(so, 2050);
	syslog_out__stats(so, &st);
	assert_true(st.dropped > 0);
	assert_true(st.queued_bytes <= SYSLOG_QUEUE_MIN + (64u << 10));
	/* the receiver appears: the output reconnects (backoff <= 5 s) */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (end = now() + 15; now() < end;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;
		char *s;

		if (poll(&p, 1, 300) <= 0) {
			if (n)
				break;	/* drained */
			continue;
		}
		r = recv(fd, buf, sizeof(buf) - 1, 0);
		assert_true(r > 0);
		buf[r] = 0;
		s = strstr(buf, "seq=\"");
		if (s) {
			int seq = atoi(s + 5);

			if (first < 0)
				first = seq;
			assert_true(seq >= first);
		}
		n++;
	}
	assert_int_equal(first, 0);	/* the oldest waited and went first */
	syslog_out__close(so, 1000, &st);
	/* every entry was sent or counted as dropped; both checkpoints too */
	assert_int_equal(st.sent + st.dropped, 2050);
	assert_int_equal(st.checkpoints_sent + st.checkpoints_dropped, 2);
	assert_int_equal(n, st.sent + st.checkpoints_sent);
	assert_true(st.connects >= 1);
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
}

/* A TCP receiver that accepts and never reads: the caller never waits,
 * the queue stays bounded, close returns in time, and the accounting is
 * exact: sent + dropped = produced. */
static void test_never_reading_receiver(void **state)
{
	struct syslog_out_stats st;
	struct syslog_out *so;
	char target[64], pad[1001];
	int port, lfd = listen_tcp(&port), cfd;
	double worst = 0, t0, t;
	uint64_t n = 0;

	memset(pad, 'p', 1000);
	pad[1000] = 0;
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%d", port);
	so = open_out(target, SYSLOG_QUEUE_MIN);
	cfd = accept_t(lfd);
	assert_true(cfd >= 0);
	/* ~60 MB: more than the socket buffers of both ends hold */
	for (int round = 0; round < 60; round++) {
		t0 = now();
		put(so, n, n + 1000, pad);
		n += 1000;
		commit(so, n);
		t = now() - t0;
		if (t > worst)
			worst = t;
	}
	syslog_out__stats(so, &st);
	assert_true(st.dropped > 0);
	assert_true(st.queued_bytes <= SYSLOG_QUEUE_MIN + (64u << 10));
	/* 1000 entries and a commit never took long: nothing waited on the
	 * receiver (a blocked send would take forever) */
	print_message("worst 1000 entries + commit: %.3f s\n", worst);
	assert_true(worst < 1.0);
	t0 = now();
	syslog_out__close(so, 300, &st);
	assert_true(now() - t0 < 2.5);
	assert_int_equal(st.sent + st.dropped, n);
	assert_int_equal(st.checkpoints_sent + st.checkpoints_dropped, 60);
	close(cfd);
	close(lfd);
}

static void test_open_rejects(void **state)
{
	struct syslog_out_opts o = {
		.target = "tcp:nohost", .facility = 4, .queue_bytes = SYSLOG_QUEUE_DEFAULT,
	};

	errno = 0;
	assert_null(syslog_out__open(&o));
	assert_int_equal(errno, EINVAL);
	o.target = "udp:127.0.0.1:514";
	o.facility = 24;
	assert_null(syslog_out__open(&o));
	o.facility = 4;
	o.queue_bytes = 1000;
	assert_null(syslog_out__open(&o));
	syslog_out__close(NULL, 0, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_tcp_in_order_once),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_unix_late_receiver),
		cmocka_unit_test(test_never_reading_receiver),
		cmocka_unit_test(test_open_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
