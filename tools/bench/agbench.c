/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * agbench: the timing helper of `make bench` (tools/bench/run.sh). Every
 * mode prints one line of key=value pairs that run.sh parses; diagnostics go
 * to stderr as "agbench: <what failed>: <why>".
 *
 *   agbench listen ADDR PORT SECS
 *       TCP listener (backlog 4096) that accepts and closes until SECS pass
 *       or it is killed; prints "listening" once ready.
 *   agbench connect ADDR PORT N
 *       N x (socket, connect, close with SO_LINGER 0) to a listener; every
 *       connect must succeed. Prints ns_per_op (mean), p50, p99.
 *   agbench deny-loop ADDR PORT N
 *       N x (socket, connect, close) whatever connect returns; prints
 *       ns_per_op and the counts of ok / EPERM / other results.
 *   agbench storm ADDR PORT RATE SECS
 *       connect() again and again on one socket (each one refused) at RATE
 *       per second (0: as fast as possible) for SECS; prints the monotonic
 *       start and end times and the counts.
 *   agbench startup STDERR_FILE CMD [ARG...]
 *       runs CMD (a daemon) with stdout on a pipe, times it to its "ready"
 *       line, reads its memory (VmHWM, VmRSS, memlock of its BPF map fds),
 *       sends SIGTERM and times its exit.
 *   agbench mem PID
 *       VmHWM, VmRSS and the memlock of every BPF map fd of PID (one line
 *       per map, then a total).
 *   agbench ckpt-watch FILE SECS
 *       reads a checkpoint note whenever its directory changes (inotify: the
 *       daemon renames the new note over FILE) and every 20 ms regardless,
 *       until SECS pass or SIGTERM; prints "t_ns=<CLOCK_MONOTONIC> size=<N>
 *       real_ns=<CLOCK_REALTIME>" whenever the size changes, stamped right
 *       after the read.
 *   agbench time OUTFILE CMD [ARG...]
 *       runs CMD with stdout to OUTFILE; prints its wall time and status.
 *   agbench log-scan LOGDIR
 *       reads every entries-*.jsonl of LOGDIR in order; prints the number of
 *       lines, of lines whose seq is not their index, of denied connects
 *       logged one by one, of aggregate entries and the sum of their counts
 *       (aggregated=), of events.lost entries and the sums of their counts
 *       for a full ring buffer (lost=) and for rate limits (rate_limited=),
 *       and whether the last line is torn.
 *   agbench latency LOGDIR CKPT_OUT
 *       for every denied connect logged one by one in LOGDIR: the time from
 *       the event (its "time", the kernel's clock made wall-clock time) to
 *       the first checkpoint that covers its seq, as `ckpt-watch` saw it
 *       (CKPT_OUT, its real_ns=). Prints n, p50_ms, p99_ms, max_ms, and
 *       uncovered (entries no checkpoint in CKPT_OUT covers).
 *   agbench now
 *       prints the CLOCK_MONOTONIC time in ns.
 *   agbench reload-watch ADDR PORT_A PORT_B STOPFILE
 *       connects to PORT_A and PORT_B by turns until STOPFILE exists, and
 *       classes each decision: "A" (PORT_A allowed, or PORT_B refused with
 *       EPERM) or "B" (the other way round). Prints "switch t_ns=<monotonic>
 *       to=A|B" whenever the class changes, then "connects=N switches=K".
 *       Under a policy swapped whole, the class changes once per reload; a
 *       decision made on a half-written policy (both ports refused, or both
 *       allowed) shows as extra switches.
 *   agbench getpid N BLOCKS
 *       N x syscall(SYS_getpid) (not libc's getpid(), which may cache) in
 *       BLOCKS equal blocks; prints ns_per_op (the median of the blocks'
 *       means: robust against a preempted block), mean and min.
 *   agbench open PATH N
 *       N x (openat(PATH, O_RDONLY), close) in blocks of 1000; every open must
 *       succeed. Prints ns_per_op (median of the block means), mean and min.
 *   agbench open-try PATH [write]
 *       one openat(PATH) for reading (or writing); prints "open=ok" or
 *       "open=<errno name>". For checking that a session is enforced.
 *   agbench forkexec PROG N [CPU]
 *       N x (fork, execve(PROG) in the child, waitpid); every child must exit
 *       0. Blocks of 25; prints ns_per_op (median of the block means), mean.
 *       With CPU, the loop and its children are pinned to that CPU: on a
 *       2-CPU machine an unpinned loop is bimodal (~110 or ~160 us here),
 *       depending on whether the child lands on the other CPU, which
 *       whatever else runs decides. Also prints t0_ns and t1_ns, the
 *       CLOCK_MONOTONIC times the measured blocks began and ended.
 *   agbench cpu-watch PID SECS
 *       samples the CPU time PID has run (/proc/PID/schedstat) every 5 ms
 *       until SECS pass, PID is gone or SIGTERM: "t_ns=<monotonic>
 *       cpu_ns=<N>" per line.
 *   agbench pause SECS
 *       sleeps until SECS pass or SIGTERM (a live session for `make bench`).
 *   agbench tokens SOCKET N
 *       N identity tokens from the daemon at SOCKET, each on a connection of
 *       its own (connect, {"op":"token"}, read the response line, close), as
 *       `agentguard token` asks; every response must be ok (run it inside a
 *       session). Prints tokens_per_s (N over the wall time), p50_us,
 *       p99_us and max_us of the per-token latencies.
 *   agbench bpf-profile CMD [ARG...]
 *       turns on BPF run-time statistics (BPF_ENABLE_STATS) while CMD runs,
 *       then prints one line per BPF program that ran: id, name, type, runs
 *       and ns per run. Then CMD's own output line (stdout passes through).
 *
 * Loops are bounded by their count or their time; nothing here touches
 * anything but loopback addresses given on the command line.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("agbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static long parse_long(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		die("invalid %s '%s'", what, s);
	return v;
}

static socklen_t mkaddr(const char *a, const char *p, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	long port = parse_long(p, "port");

	if (port > 65535)
		die("invalid port '%s'", p);
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
	die("invalid address '%s'", a);
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void catch_term(void)
{
	struct sigaction sa = { .sa_handler = on_term };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* ------------------------------------------------------------------------ */

static int cmd_listen(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint64_t end;
	int fd, one = 1;

	if (argc != 5)
		die("usage: agbench listen ADDR PORT SECS");
	sl = mkaddr(argv[2], argv[3], &ss);
	end = now_ns() + (uint64_t)parse_long(argv[4], "seconds") * 1000000000ull;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		die("bind %s:%s: %s", argv[2], argv[3], strerror(errno));
	if (listen(fd, 4096) < 0)
		die("listen: %s", strerror(errno));
	catch_term();
	printf("listening\n");
	fflush(stdout);
	while (!stop && now_ns() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 200) <= 0)
			continue;
		/* drain the queue before polling again */
		while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
			close(c);
	}
	return 0;
}

static int u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmd_connect(int argc, char **argv)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_storage ss;
	uint64_t *d, t0, total = 0;
	socklen_t sl;
	long n;

	if (argc != 5)
		die("usage: agbench connect ADDR PORT N");
	sl = mkaddr(argv[2], argv[3], &ss);
	n = parse_long(argv[4], "count");
	if (n < 1 || n > 10000000)
		die("count '%s' out of range (1..10000000)", argv[4]);
	d = calloc(n, sizeof(*d));
	if (!d)
		die("out of memory");
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		uint64_t a = now_ns(), b;
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&ss, sl) < 0)
			die("connect %s:%s (op %ld): %s", argv[2], argv[3], i, strerror(errno));
		/* RST on close: no TIME_WAIT left to slow later connects */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		b = now_ns();
		d[i] = b - a;
	}
	total = now_ns() - t0;
	qsort(d, n, sizeof(*d), u64cmp);
	printf("ns_per_op=%llu p50=%llu p99=%llu n=%ld\n",
	       (unsigned long long)(total / n), (unsigned long long)d[n / 2],
	       (unsigned long long)d[(n * 99) / 100], n);
	free(d);
	return 0;
}

static int cmd_reload_watch(int argc, char **argv)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_storage sa, sb;
	socklen_t la, lb;
	char cur = 0;
	long n = 0, switches = 0;

	if (argc != 6)
		die("usage: agbench reload-watch ADDR PORT_A PORT_B STOPFILE");
	la = mkaddr(argv[2], argv[3], &sa);
	lb = mkaddr(argv[2], argv[4], &sb);
	for (;;) {
		for (int k = 0; k < 2; k++) {
			int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			int r;
			char cls;

			if (fd < 0)
				die("socket: %s", strerror(errno));
			r = connect(fd, (struct sockaddr *)(k ? &sb : &sa), k ? lb : la);
			if (r < 0 && errno != EPERM)
				die("connect to port %s: %s", argv[3 + k], strerror(errno));
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
			cls = (r == 0) == (k == 0) ? 'A' : 'B';
			if (cls != cur) {
				if (cur) {
					printf("switch t_ns=%llu to=%c\n", (unsigned long long)now_ns(), cls);
					switches++;
				}
				cur = cls;
			}
			n++;
		}
		if ((n & 63) == 0 && access(argv[5], F_OK) == 0)
			break;
	}
	printf("connects=%ld switches=%ld\n", n, switches);
	return 0;
}

static int cmd_tokens(int argc, char **argv)
{
	static const char req[] = "{\"op\":\"token\"}\n";
	static const char ok[] = "{\"ok\":true,\"token\":\"";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t *d, t0, total;
	char buf[32768];
	long n;

	if (argc != 4)
		die("usage: agbench tokens SOCKET N");
	if (strlen(argv[2]) >= sizeof(sa.sun_path))
		die("socket path '%s' is too long", argv[2]);
	strcpy(sa.sun_path, argv[2]);
	n = parse_long(argv[3], "count");
	if (n < 1 || n > 10000000)
		die("count '%s' out of range (1..10000000)", argv[3]);
	d = calloc(n, sizeof(*d));
	if (!d)
		die("out of memory");
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		uint64_t a = now_ns();
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		size_t got = 0;

		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("connect '%s' (token %ld): %s", argv[2], i, strerror(errno));
		if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
			die("write (token %ld): %s", i, strerror(errno));
		while (!memchr(buf, '\n', got)) {
			ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);

			if (r <= 0)
				die("read (token %ld): %s", i, r ? strerror(errno) : "connection closed");
			got += r;
			if (got == sizeof(buf) - 1)
				die("response too long (token %ld)", i);
		}
		buf[got] = 0;
		if (strncmp(buf, ok, sizeof(ok) - 1))
			die("token %ld refused: %.300s", i, buf);
		close(fd);
		d[i] = now_ns() - a;
	}
	total = now_ns() - t0;
	qsort(d, n, sizeof(*d), u64cmp);
	printf("tokens_per_s=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f n=%ld\n",
	       n * 1e9 / total, d[n / 2] / 1e3, d[(n * 99) / 100] / 1e3, d[n - 1] / 1e3, n);
	free(d);
	return 0;
}

static int cmd_deny_loop(int argc, char **argv)
{
	struct sockaddr_storage ss;
	long n, ok = 0, eperm = 0, other = 0;
	uint64_t t0, total;
	socklen_t sl;

	if (argc != 5)
		die("usage: agbench deny-loop ADDR PORT N");
	sl = mkaddr(argv[2], argv[3], &ss);
	n = parse_long(argv[4], "count");
	if (n < 1 || n > 100000000)
		die("count '%s' out of range (1..100000000)", argv[4]);
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
			ok++;
		else if (errno == EPERM)
			eperm++;
		else
			other++;
		close(fd);
	}
	total = now_ns() - t0;
	printf("ns_per_op=%llu ok=%ld eperm=%ld other=%ld n=%ld\n",
	       (unsigned long long)(total / n), ok, eperm, other, n);
	return 0;
}

static int cmd_storm(int argc, char **argv)
{
	struct sockaddr_storage ss;
	long rate, secs, ok = 0, eperm = 0, other = 0, sent = 0;
	uint64_t t0, t, end;
	socklen_t sl;
	int fd;

	if (argc != 6)
		die("usage: agbench storm ADDR PORT RATE SECS");
	sl = mkaddr(argv[2], argv[3], &ss);
	rate = parse_long(argv[4], "rate");
	secs = parse_long(argv[5], "seconds");
	if (secs < 1 || secs > 3600)
		die("seconds '%s' out of range (1..3600)", argv[5]);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	catch_term();
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	t0 = t = now_ns();
	end = t0 + (uint64_t)secs * 1000000000ull;
	while (!stop && t < end) {
		/* due: what the schedule allows by now; batches of 64 between clock reads */
		long due = rate ? (long)((double)(t - t0) * rate / 1e9) + 1 : sent + 64;

		if (sent >= due) {
			struct timespec ts = { 0, 50000 };

			nanosleep(&ts, NULL);
		}
		for (int k = 0; k < 64 && sent < due; k++, sent++) {
			if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
				/* connected after all: start again with a new socket */
				ok++;
				close(fd);
				fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
				if (fd < 0)
					die("socket: %s", strerror(errno));
			} else if (errno == EPERM) {
				eperm++;
			} else {
				other++;
			}
		}
		t = now_ns();
	}
	close(fd);
	printf("t0_ns=%llu t1_ns=%llu attempts=%ld ok=%ld eperm=%ld other=%ld rate=%.0f\n",
	       (unsigned long long)t0, (unsigned long long)t, sent, ok, eperm, other,
	       sent / ((t - t0) / 1e9));
	return 0;
}

/* ------------------------------------------------------------------------ */

static long status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtol(line + kl + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Sum of the memlock of every BPF map fd of pid (each map counted once);
 * with verbose, one line per map. Returns bytes, or -1. */
static long long maps_memlock(pid_t pid, bool verbose)
{
	char dpath[64], path[384], link[128], line[256];
	unsigned long seen[256];
	int nseen = 0;
	long long total = 0;
	struct dirent *de;
	DIR *dir;

	snprintf(dpath, sizeof(dpath), "/proc/%d/fd", (int)pid);
	dir = opendir(dpath);
	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		unsigned long id = 0, type = 0, maxe = 0;
		long long memlock = 0;
		ssize_t n;
		bool dup = false;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dpath, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = 0;
		if (strcmp(link, "anon_inode:bpf-map"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "map_type:", 9))
				type = strtoul(line + 9, NULL, 10);
			else if (!strncmp(line, "max_entries:", 12))
				maxe = strtoul(line + 12, NULL, 10);
			else if (!strncmp(line, "memlock:", 8))
				memlock = strtoll(line + 8, NULL, 10);
			else if (!strncmp(line, "map_id:", 7))
				id = strtoul(line + 7, NULL, 10);
		}
		fclose(f);
		for (int i = 0; i < nseen; i++)
			if (seen[i] == id)
				dup = true;
		if (dup)
			continue;
		if (nseen < 256)
			seen[nseen++] = id;
		total += memlock;
		if (verbose)
			printf("map id=%lu type=%lu max_entries=%lu memlock=%lld\n", id, type,
			       maxe, memlock);
	}
	closedir(dir);
	return total;
}

static int cmd_mem(int argc, char **argv)
{
	pid_t pid;
	long long ml;

	if (argc != 3)
		die("usage: agbench mem PID");
	pid = parse_long(argv[2], "pid");
	ml = maps_memlock(pid, true);
	printf("hwm_kb=%ld rss_kb=%ld maps_memlock=%lld\n", status_kb(pid, "VmHWM"),
	       status_kb(pid, "VmRSS"), ml);
	return 0;
}

/* Wait for pid up to ms; returns its wait status, or -1 on timeout. */
static int wait_ms(pid_t pid, int ms)
{
	int st;

	for (int i = 0; i < ms; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			return -1;
		usleep(1000);
	}
	return -1;
}

static int cmd_startup(int argc, char **argv)
{
	char buf[4096];
	size_t len = 0;
	uint64_t t0, t_ready = 0, t_term, t_exit;
	long hwm, rss;
	long long ml;
	int p[2], efd, st;
	pid_t pid;

	if (argc < 4)
		die("usage: agbench startup STDERR_FILE CMD [ARG...]");
	efd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (efd < 0)
		die("cannot open '%s': %s", argv[2], strerror(errno));
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(efd, 2);
		execvp(argv[3], argv + 3);
		fprintf(stderr, "agbench: cannot run '%s': %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	close(efd);
	while (!t_ready) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, 30000) <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			die("'%s' printed no 'ready' within 30 s", argv[3]);
		}
		n = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0) {
			waitpid(pid, &st, 0);
			die("'%s' exited before 'ready' (status %d): see '%s'", argv[3], st, argv[2]);
		}
		len += n;
		buf[len] = 0;
		if (strstr(buf, "ready\n"))
			t_ready = now_ns();
		else if (len == sizeof(buf) - 1)
			len = 0;
	}
	hwm = status_kb(pid, "VmHWM");
	rss = status_kb(pid, "VmRSS");
	ml = maps_memlock(pid, false);
	t_term = now_ns();
	kill(pid, SIGTERM);
	st = wait_ms(pid, 30000);
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		die("'%s' did not stop within 30 s of SIGTERM", argv[3]);
	}
	t_exit = now_ns();
	close(p[0]);
	printf("ready_us=%llu stop_us=%llu hwm_kb=%ld rss_kb=%ld maps_memlock=%lld status=%d\n",
	       (unsigned long long)(t_ready - t0) / 1000,
	       (unsigned long long)(t_exit - t_term) / 1000, hwm, rss, ml,
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

/* The size line (the second) of a checkpoint note, or -1. */
static long long ckpt_size(const char *file)
{
	char buf[512];
	ssize_t n;
	char *nl;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	nl = strchr(buf, '\n');
	if (!nl)
		return -1;
	return strtoll(nl + 1, NULL, 10);
}

static int cmd_ckpt_watch(int argc, char **argv)
{
	char dir[4096], *slash;
	long long last = -2;
	uint64_t end;
	int in;

	if (argc != 4)
		die("usage: agbench ckpt-watch FILE SECS");
	end = now_ns() + (uint64_t)parse_long(argv[3], "seconds") * 1000000000ull;
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	/* the directory may not exist yet: then polling alone until it does */
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in >= 0 && inotify_add_watch(in, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		close(in);
		in = -1;
	}
	catch_term();
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!stop && now_ns() < end) {
		struct pollfd pfd = { .fd = in, .events = POLLIN };
		char buf[4096] __attribute__((aligned(8)));
		long long s;

		if (in >= 0 && poll(&pfd, 1, 20) > 0)
			while (read(in, buf, sizeof(buf)) > 0)
				;
		else if (in < 0)
			usleep(20000);
		s = ckpt_size(argv[2]);
		if (s != last && s >= 0) {
			struct timespec rt;

			clock_gettime(CLOCK_REALTIME, &rt);
			printf("t_ns=%llu size=%lld real_ns=%llu\n", (unsigned long long)now_ns(), s,
			       (unsigned long long)rt.tv_sec * 1000000000ull + rt.tv_nsec);
			last = s;
		}
		if (in < 0 && access(dir, F_OK) == 0) {
			in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
			if (in >= 0 && inotify_add_watch(in, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
				close(in);
				in = -1;
			}
		}
	}
	return 0;
}

static int cmd_time(int argc, char **argv)
{
	uint64_t t0, t1;
	int fd, st;
	pid_t pid;

	if (argc < 4)
		die("usage: agbench time OUTFILE CMD [ARG...]");
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("cannot open '%s': %s", argv[2], strerror(errno));
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fd, 1);
		execvp(argv[3], argv + 3);
		fprintf(stderr, "agbench: cannot run '%s': %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	close(fd);
	waitpid(pid, &st, 0);
	t1 = now_ns();
	printf("us=%llu status=%d\n", (unsigned long long)(t1 - t0) / 1000,
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

static int entries_filter(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return !strncmp(de->d_name, "entries-", 8) && n > 6 &&
	       !strcmp(de->d_name + n - 6, ".jsonl");
}

/* The number after `key` in line p (l bytes), or 0. */
static unsigned long long num_after(const char *p, size_t l, const char *key)
{
	const char *q = memmem(p, l, key, strlen(key));

	return q ? strtoull(q + strlen(key), NULL, 10) : 0;
}

/* Every line of the entries-*.jsonl files of dir, in order, to fn (without
 * its newline). Returns the number of files; *bytes gets the bytes read and
 * *torn is set when the last file ends without a newline. Dies on errors. */
static int log_lines(const char *dir, void (*fn)(const char *p, size_t l, void *ctx),
		     void *ctx, unsigned long long *bytes, int *torn)
{
	size_t cap = 1 << 22, len = 0;
	struct dirent **de;
	char *buf;
	int n;

	n = scandir(dir, &de, entries_filter, alphasort);
	if (n < 0)
		die("cannot read '%s': %s", dir, strerror(errno));
	buf = malloc(cap);
	if (!buf)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		char path[4096];
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, de[i]->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("cannot open '%s': %s", path, strerror(errno));
		for (;;) {
			ssize_t r = read(fd, buf + len, cap - len);
			char *p = buf, *nl, *end;

			if (r < 0)
				die("cannot read '%s': %s", path, strerror(errno));
			if (r == 0)
				break;
			if (bytes)
				*bytes += r;
			len += r;
			end = buf + len;
			while ((nl = memchr(p, '\n', end - p))) {
				fn(p, nl - p, ctx);
				p = nl + 1;
			}
			len = end - p;
			memmove(buf, p, len);
			if (len == cap)
				die("a line of '%s' is longer than %zu bytes", path, cap);
		}
		close(fd);
		free(de[i]);
	}
	free(de);
	free(buf);
	if (torn)
		*torn = len > 0;
	return n;
}

struct scan {
	unsigned long long lines, bad, ndeny, nlost, nagg, aggregated, lost_ring, lost_rate;
};

static void scan_line(const char *p, size_t l, void *ctx)
{
	static const char deny[] = "\"type\":\"network.connect\",\"decision\":\"deny\"";
	static const char lost[] = "\"type\":\"events.lost\"";
	static const char agg[] = "\"aggregate\":{\"count\":";
	static const char rl[] = "\"reason\":\"rate limit\"";
	struct scan *c = ctx;

	if (l < 8 || memcmp(p, "{\"seq\":", 7) || strtoull(p + 7, NULL, 10) != c->lines)
		c->bad++;
	if (memmem(p, l, agg, sizeof(agg) - 1)) {
		c->nagg++;
		c->aggregated += num_after(p, l, agg);
	} else if (memmem(p, l, deny, sizeof(deny) - 1)) {
		c->ndeny++;
	} else if (memmem(p, l, lost, sizeof(lost) - 1)) {
		c->nlost++;
		if (memmem(p, l, rl, sizeof(rl) - 1))
			c->lost_rate += num_after(p, l, "\"count\":");
		else
			c->lost_ring += num_after(p, l, "\"count\":");
	}
	c->lines++;
}

static int cmd_log_scan(int argc, char **argv)
{
	struct scan c = { 0 };
	unsigned long long bytes = 0;
	int n, torn;

	if (argc != 3)
		die("usage: agbench log-scan LOGDIR");
	n = log_lines(argv[2], scan_line, &c, &bytes, &torn);
	printf("files=%d lines=%llu seq_bad=%llu deny_connects=%llu events_lost=%llu torn=%d bytes=%llu "
	       "aggregates=%llu aggregated=%llu lost=%llu rate_limited=%llu\n",
	       n, c.lines, c.bad, c.ndeny, c.nlost, torn, bytes, c.nagg, c.aggregated, c.lost_ring,
	       c.lost_rate);
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" at p as ns since the epoch, 0 if not. */
static uint64_t rfc3339_ns(const char *p)
{
	static char cached[17];
	static uint64_t cached_min;
	int sec;
	uint64_t frac = 0;

	if (memcmp(p, cached, 16)) {
		struct tm tm = { 0 };

		if (sscanf(p, "%4d-%2d-%2dT%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min) != 5)
			return 0;
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		cached_min = (uint64_t)timegm(&tm);
		memcpy(cached, p, 16);
	}
	if (p[16] != ':' || p[19] != '.')
		return 0;
	sec = (p[17] - '0') * 10 + (p[18] - '0');
	for (int i = 20; i < 29; i++)
		frac = frac * 10 + (uint64_t)(p[i] - '0');
	return (cached_min + sec) * 1000000000ull + frac;
}

#define LAT_BUCKET_NS	100000ull	/* histogram of 0.1 ms buckets ... */
#define LAT_BUCKETS	100000		/* ... up to 10 s */

struct lat {
	unsigned long long *csize, *creal, n, uncovered, lines, *hist;
	size_t nck, ci;
	uint64_t maxl;
};

static void lat_line(const char *p, size_t l, void *ctx)
{
	static const char deny[] = "\"type\":\"network.connect\",\"decision\":\"deny\"";
	static const char agg[] = "\"aggregate\":";
	struct lat *c = ctx;
	unsigned long long seq = c->lines++;
	const char *t, *nl = p + l;

	if (memmem(p, l, deny, sizeof(deny) - 1) && !memmem(p, l, agg, sizeof(agg) - 1) &&
	    (t = memmem(p, l, "\"time\":\"", 8)) && t + 8 + 30 <= nl) {
		uint64_t et = rfc3339_ns(t + 8), lat;

		/* checkpoints come in seq order: the cursor only moves on */
		while (c->ci < c->nck && c->csize[c->ci] <= seq)
			c->ci++;
		if (c->ci == c->nck || !et) {
			c->uncovered++;
		} else {
			lat = c->creal[c->ci] > et ? c->creal[c->ci] - et : 0;
			c->hist[lat / LAT_BUCKET_NS < LAT_BUCKETS ? lat / LAT_BUCKET_NS : LAT_BUCKETS]++;
			if (lat > c->maxl)
				c->maxl = lat;
			c->n++;
		}
	}
}

static int cmd_latency(int argc, char **argv)
{
	static unsigned long long hist[LAT_BUCKETS + 1];
	struct lat c = { .hist = hist };
	unsigned long long *csize = NULL, *creal = NULL, n;
	uint64_t maxl;
	size_t nck = 0, capck = 0;
	char line[512];
	FILE *f;

	if (argc != 4)
		die("usage: agbench latency LOGDIR CKPT_OUT");
	f = fopen(argv[3], "re");
	if (!f)
		die("cannot open '%s': %s", argv[3], strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long sz, rn;
		char *a = strstr(line, "size="), *b = strstr(line, "real_ns=");

		if (!a || !b)
			continue;
		sz = strtoull(a + 5, NULL, 10);
		rn = strtoull(b + 8, NULL, 10);
		if (nck == capck) {
			capck = capck ? 2 * capck : 1024;
			csize = realloc(csize, capck * sizeof(*csize));
			creal = realloc(creal, capck * sizeof(*creal));
			if (!csize || !creal)
				die("out of memory");
		}
		csize[nck] = sz;
		creal[nck++] = rn;
	}
	fclose(f);
	c.csize = csize;
	c.creal = creal;
	c.nck = nck;
	log_lines(argv[2], lat_line, &c, NULL, NULL);
	n = c.n;
	maxl = c.maxl;
	{
		unsigned long long acc = 0, p50 = 0, p99 = 0;
		bool h50 = false, h99 = false;

		for (int b = 0; b <= LAT_BUCKETS && n; b++) {
			acc += hist[b];
			if (!h50 && acc * 2 >= n)
				p50 = b, h50 = true;
			if (!h99 && acc * 100 >= n * 99)
				p99 = b, h99 = true;
		}
		/* a bucket's upper edge: the latency is at most that */
		printf("n=%llu p50_ms=%.1f p99_ms=%.1f max_ms=%.1f uncovered=%llu checkpoints=%zu\n",
		       n, (p50 + 1) * LAT_BUCKET_NS / 1e6, (p99 + 1) * LAT_BUCKET_NS / 1e6,
		       maxl / 1e6, c.uncovered, nck);
	}
	free(csize);
	free(creal);
	return 0;
}


/* ------------------------------------------------------------------------ */
/* Host and session tax: getpid, open, fork+exec */

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of n block means (ns per op), sorted in place. */
static double median_d(double *v, long n)
{
	qsort(v, n, sizeof(*v), dcmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_blocks(double *v, long nb, uint64_t total_ns, long n, const char *extra)
{
	double mean = (double)total_ns / n, min;

	qsort(v, nb, sizeof(*v), dcmp);
	min = v[0];
	printf("ns_per_op=%.1f mean=%.1f min=%.1f n=%ld blocks=%ld%s\n", median_d(v, nb), mean,
	       min, n, nb, extra);
}

static int cmd_getpid(int argc, char **argv)
{
	long n, nb, per;
	uint64_t t0, total = 0;
	double *v;

	if (argc != 4)
		die("usage: agbench getpid N BLOCKS");
	n = parse_long(argv[2], "count");
	nb = parse_long(argv[3], "blocks");
	if (nb < 1 || nb > 100000 || n < nb || n > 1000000000)
		die("count '%s' or blocks '%s' out of range", argv[2], argv[3]);
	per = n / nb;
	v = calloc(nb, sizeof(*v));
	if (!v)
		die("out of memory");
	/* warm-up: page in, settle the frequency */
	for (long i = 0; i < per; i++)
		syscall(SYS_getpid);
	for (long b = 0; b < nb; b++) {
		t0 = now_ns();
		for (long i = 0; i < per; i++)
			syscall(SYS_getpid);
		t0 = now_ns() - t0;
		total += t0;
		v[b] = (double)t0 / per;
	}
	print_blocks(v, nb, total, per * nb, "");
	free(v);
	return 0;
}

static int cmd_open(int argc, char **argv)
{
	const long per = 1000;
	long n, nb;
	uint64_t t0, total = 0;
	double *v;

	if (argc != 4)
		die("usage: agbench open PATH N");
	n = parse_long(argv[3], "count");
	if (n < per || n > 100000000)
		die("count '%s' out of range (%ld..100000000)", argv[3], per);
	nb = n / per;
	v = calloc(nb, sizeof(*v));
	if (!v)
		die("out of memory");
	for (long b = -1; b < nb; b++) {	/* block -1: warm-up */
		t0 = now_ns();
		for (long i = 0; i < per; i++) {
			int fd = openat(AT_FDCWD, argv[2], O_RDONLY | O_CLOEXEC);

			if (fd < 0)
				die("open '%s' (op %ld): %s", argv[2], (b + 1) * per + i,
				    strerror(errno));
			close(fd);
		}
		t0 = now_ns() - t0;
		if (b < 0)
			continue;
		total += t0;
		v[b] = (double)t0 / per;
	}
	print_blocks(v, nb, total, nb * per, "");
	free(v);
	return 0;
}

static int cmd_open_try(int argc, char **argv)
{
	bool wr = argc == 4 && !strcmp(argv[3], "write");
	int fd;

	if (argc != 3 && !wr)
		die("usage: agbench open-try PATH [write]");
	fd = openat(AT_FDCWD, argv[2], (wr ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		printf("open=ok\n");
	} else {
		const char *e = errno == EACCES ? "EACCES" : errno == EPERM ? "EPERM" :
				errno == ENOENT ? "ENOENT" : "other";

		printf("open=%s errno=%d\n", e, errno);
	}
	return 0;
}

static int cmd_forkexec(int argc, char **argv)
{
	const long per = 25;
	char *cargv[] = { argv[2], NULL }, *cenv[] = { NULL }, extra[96];
	long n, nb;
	uint64_t t0, w0 = 0, total = 0;
	double *v;

	if (argc != 4 && argc != 5)
		die("usage: agbench forkexec PROG N [CPU]");
	if (argc == 5) {
		cpu_set_t set;
		long cpu = parse_long(argv[4], "cpu");

		if (cpu >= CPU_SETSIZE)
			die("invalid cpu '%s'", argv[4]);
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			die("cannot pin to cpu %ld: %s", cpu, strerror(errno));
	}
	n = parse_long(argv[3], "count");
	if (n < per || n > 10000000)
		die("count '%s' out of range (%ld..10000000)", argv[3], per);
	nb = n / per;
	v = calloc(nb, sizeof(*v));
	if (!v)
		die("out of memory");
	for (long b = -1; b < nb; b++) {	/* block -1: warm-up */
		t0 = now_ns();
		if (b == 0)
			w0 = t0;
		for (long i = 0; i < per; i++) {
			pid_t pid = fork();
			int st;

			if (pid < 0)
				die("fork: %s", strerror(errno));
			if (pid == 0) {
				execve(argv[2], cargv, cenv);
				_exit(126);
			}
			if (waitpid(pid, &st, 0) != pid)
				die("waitpid: %s", strerror(errno));
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				die("'%s' did not exit 0 (status 0x%x; 126: execve failed)",
				    argv[2], st);
		}
		t0 = now_ns() - t0;
		if (b < 0)
			continue;
		total += t0;
		v[b] = (double)t0 / per;
	}
	snprintf(extra, sizeof(extra), " t0_ns=%llu t1_ns=%llu", (unsigned long long)w0,
		 (unsigned long long)now_ns());
	print_blocks(v, nb, total, nb * per, extra);
	free(v);
	return 0;
}

/* The CPU time (ns) a process has run, from /proc/PID/schedstat; -1 if gone. */
static long long sched_ns(const char *pid)
{
	char path[64], buf[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/schedstat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtoll(buf, NULL, 10);
}

static int cmd_cpu_watch(int argc, char **argv)
{
	uint64_t end;

	if (argc != 4)
		die("usage: agbench cpu-watch PID SECS");
	parse_long(argv[2], "pid");
	end = now_ns() + (uint64_t)parse_long(argv[3], "seconds") * 1000000000ull;
	catch_term();
	while (!stop && now_ns() < end) {
		long long c = sched_ns(argv[2]);

		if (c < 0)
			break;
		printf("t_ns=%llu cpu_ns=%lld\n", (unsigned long long)now_ns(), c);
		usleep(5000);
	}
	return 0;
}

static int cmd_pause(int argc, char **argv)
{
	uint64_t end;

	if (argc != 3)
		die("usage: agbench pause SECS");
	end = now_ns() + (uint64_t)parse_long(argv[2], "seconds") * 1000000000ull;
	catch_term();
	printf("pausing\n");
	fflush(stdout);
	while (!stop && now_ns() < end)
		usleep(100000);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* BPF program run-time statistics, by raw bpf(2) calls (no libbpf: this
 * binary also runs statically linked in the VM). */

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(SYS_bpf, cmd, a, sizeof(*a));
}

struct prog_stat {
	__u32 id, type;
	char name[BPF_OBJ_NAME_LEN];
	__u64 cnt, ns;
};

/* Every loaded program's counters, up to max; returns how many. */
static int prog_stats(struct prog_stat *ps, int max)
{
	union bpf_attr a;
	__u32 id = 0;
	int n = 0;

	while (n < max) {
		struct bpf_prog_info info;
		int fd;

		memset(&a, 0, sizeof(a));
		a.start_id = id;
		if (sys_bpf(BPF_PROG_GET_NEXT_ID, &a) < 0)
			break;
		id = a.next_id;
		memset(&a, 0, sizeof(a));
		a.prog_id = id;
		fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = fd;
		a.info.info_len = sizeof(info);
		a.info.info = (__u64)(unsigned long)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0) {
			ps[n].id = info.id;
			ps[n].type = info.type;
			memcpy(ps[n].name, info.name, sizeof(ps[n].name));
			ps[n].name[sizeof(ps[n].name) - 1] = 0;
			ps[n].cnt = info.run_cnt;
			ps[n].ns = info.run_time_ns;
			n++;
		}
		close(fd);
	}
	return n;
}

static int cmd_bpf_profile(int argc, char **argv)
{
	static struct prog_stat before[1024], after[1024];
	union bpf_attr a;
	int nb, na, sfd, st;
	pid_t pid;

	if (argc < 3)
		die("usage: agbench bpf-profile CMD [ARG...]");
	memset(&a, 0, sizeof(a));
	a.enable_stats.type = BPF_STATS_RUN_TIME;
	sfd = sys_bpf(BPF_ENABLE_STATS, &a);
	if (sfd < 0)
		die("BPF_ENABLE_STATS: %s", strerror(errno));
	nb = prog_stats(before, 1024);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(sfd);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "agbench: cannot run '%s': %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	waitpid(pid, &st, 0);
	na = prog_stats(after, 1024);
	close(sfd);
	for (int i = 0; i < na; i++) {
		__u64 c = after[i].cnt, t = after[i].ns;

		for (int j = 0; j < nb; j++)
			if (before[j].id == after[i].id) {
				c -= before[j].cnt;
				t -= before[j].ns;
			}
		if (c)
			printf("prog id=%u name=%s type=%u runs=%llu ns_per_run=%.1f\n", after[i].id,
			       after[i].name, after[i].type, (unsigned long long)c, (double)t / c);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "listen", cmd_listen }, { "connect", cmd_connect },
		{ "deny-loop", cmd_deny_loop }, { "storm", cmd_storm },
		{ "startup", cmd_startup }, { "mem", cmd_mem },
		{ "ckpt-watch", cmd_ckpt_watch }, { "time", cmd_time },
		{ "log-scan", cmd_log_scan }, { "getpid", cmd_getpid },
		{ "open", cmd_open }, { "open-try", cmd_open_try },
		{ "forkexec", cmd_forkexec }, { "pause", cmd_pause },
		{ "bpf-profile", cmd_bpf_profile }, { "cpu-watch", cmd_cpu_watch },
		{ "tokens", cmd_tokens }, { "reload-watch", cmd_reload_watch },
		{ "latency", cmd_latency },
	};

	if (argc >= 2 && !strcmp(argv[1], "now")) {
		printf("%llu\n", (unsigned long long)now_ns());
		return 0;
	}
	for (size_t i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc, argv);
	fprintf(stderr, "usage: agbench listen|connect|deny-loop|storm|startup|mem|ckpt-watch|time|"
		"log-scan|now|getpid|open|open-try|forkexec|pause|bpf-profile|cpu-watch|tokens|"
		"reload-watch|latency ...\n");
	return 2;
}
