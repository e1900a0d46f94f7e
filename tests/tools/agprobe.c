/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * agprobe: the network actions of the test agents, with the errno printed in
 * a form the test scripts match.
 *
 *   agprobe connect ADDR PORT [tcp|udp]   connect(); prints "ok" or "err EPERM"
 *   agprobe send ADDR PORT                UDP sendto() without connect
 *   agprobe bind ADDR PORT [tcp|udp]      bind()
 *   agprobe listen ADDR PORT [SECONDS]    TCP listener that accepts and closes
 *                                         (prints "listening" once ready)
 *   agprobe udp-listen ADDR PORT [SECONDS] UDP socket that drains datagrams
 *   agprobe connect-loop ADDR PORT N      N connects; prints "ok N" or the first error
 *   agprobe connect-storm ADDR PORT N     N connects whatever they return; prints
 *                                         "ok=A eperm=B other=C"
 *   agprobe connect-sweep ADDR PORT N K   the same to PORT, PORT+1, .. PORT+K-1,
 *                                         PORT, ...: N connects, K distinct targets
 *
 * ADDR is IPv4 or IPv6 (including ::ffff:a.b.c.d). Exit status 0 on "ok".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static socklen_t mkaddr(const char *a, const char *p, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	int port = atoi(p);

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return sizeof(*s6);
	}
	fprintf(stderr, "agprobe: bad address '%s'\n", a);
	exit(2);
}

static int report(int r)
{
	const char *n;

	if (r == 0) {
		printf("ok\n");
		return 0;
	}
	switch (errno) {
	case EPERM: n = "EPERM"; break;
	case EACCES: n = "EACCES"; break;
	case ECONNREFUSED: n = "ECONNREFUSED"; break;
	case EADDRINUSE: n = "EADDRINUSE"; break;
	case ENETUNREACH: n = "ENETUNREACH"; break;
	case ETIMEDOUT: n = "ETIMEDOUT"; break;
	case EINVAL: n = "EINVAL"; break;
	default: n = strerror(errno); break;
	}
	printf("err %s\n", n);
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, type;

	if (argc < 4) {
		fprintf(stderr, "usage: agprobe connect|send|bind|listen|udp-listen|connect-loop ADDR PORT [ARG]\n");
		return 2;
	}
	sl = mkaddr(argv[2], argv[3], &ss);
	type = (argc > 4 && !strcmp(argv[4], "udp")) ? SOCK_DGRAM : SOCK_STREAM;

	if (!strcmp(argv[1], "connect")) {
		fd = socket(ss.ss_family, type, 0);
		return report(connect(fd, (struct sockaddr *)&ss, sl));
	}
	if (!strcmp(argv[1], "connect-loop")) {
		long n = argc > 4 ? atol(argv[4]) : 1;

		for (long i = 0; i < n; i++) {
			fd = socket(ss.ss_family, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&ss, sl) < 0)
				return report(-1);
			close(fd);
		}
		printf("ok %ld\n", n);
		return 0;
	}
	if (!strcmp(argv[1], "connect-storm")) {
		long n = argc > 4 ? atol(argv[4]) : 1, ok = 0, eperm = 0, other = 0;

		for (long i = 0; i < n; i++) {
			fd = socket(ss.ss_family, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
				ok++;
			else if (errno == EPERM)
				eperm++;
			else
				other++;
			close(fd);
		}
		printf("ok=%ld eperm=%ld other=%ld\n", ok, eperm, other);
		return 0;
	}
	if (!strcmp(argv[1], "connect-sweep") && argc > 5) {
		long n = atol(argv[4]), k = atol(argv[5]), ok = 0, eperm = 0, other = 0;
		int port0 = atoi(argv[3]);

		for (long i = 0; i < n && k > 0; i++) {
			int port = port0 + (int)(i % k);

			if (ss.ss_family == AF_INET)
				((struct sockaddr_in *)&ss)->sin_port = htons(port);
			else
				((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
			fd = socket(ss.ss_family, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
				ok++;
			else if (errno == EPERM)
				eperm++;
			else
				other++;
			close(fd);
		}
		printf("ok=%ld eperm=%ld other=%ld\n", ok, eperm, other);
		return 0;
	}
	if (!strcmp(argv[1], "send")) {
		fd = socket(ss.ss_family, SOCK_DGRAM, 0);
		return report(sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, sl) == 1 ? 0 : -1);
	}
	if (!strcmp(argv[1], "bind")) {
		fd = socket(ss.ss_family, type, 0);
		return report(bind(fd, (struct sockaddr *)&ss, sl));
	}
	if (!strcmp(argv[1], "listen") || !strcmp(argv[1], "udp-listen")) {
		int udp = argv[1][0] == 'u', one = 1;
		unsigned secs = argc > 4 ? atoi(argv[4]) : 60;
		char buf[2048];

		fd = socket(ss.ss_family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || (!udp && listen(fd, 4096) < 0))
			return report(-1);
		printf("listening\n");
		fflush(stdout);
		alarm(secs);
		for (;;) {
			if (udp) {
				if (recv(fd, buf, sizeof(buf), 0) < 0 && errno != EINTR)
					return 1;
			} else {
				int c = accept(fd, NULL, NULL);

				if (c >= 0)
					close(c);
			}
		}
	}
	fprintf(stderr, "agprobe: unknown action '%s'\n", argv[1]);
	return 2;
}
