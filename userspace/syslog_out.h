/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * syslog_out.h: the daemon's syslog output (docs/shipping.md). Each sealed
 * log entry, and each new signed checkpoint, is sent as one RFC 5424
 * message over UDP (RFC 5426), TCP with octet-counting framing (RFC 6587)
 * or a unix datagram socket (/dev/log).
 *
 * The daemon's loop only copies entries into a bounded queue
 * (syslog_out__entry) and releases them when a checkpoint seals them
 * (syslog_out__commit); a thread of its own formats and sends them, so a
 * slow, dead or unreachable receiver never stalls the loop or the log. What
 * does not fit in the queue is dropped and counted; the connection is
 * re-established with backoff.
 *
 * Not to be confused with <syslog.h>: the name avoids it on purpose.
 */
#ifndef AG_SYSLOG_OUT_H
#define AG_SYSLOG_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYSLOG_SD_ID		"agentguard@32473"	/* see docs/shipping.md */
#define SYSLOG_APP_NAME		"agentguard"
#define SYSLOG_TARGET_MAX	300	/* bytes of a target string */
#define SYSLOG_QUEUE_DEFAULT	(16u << 20)
#define SYSLOG_QUEUE_MIN	(64u << 10)
#define SYSLOG_QUEUE_MAX	(1u << 30)
#define SYSLOG_FACILITY_DEFAULT	4	/* auth */

enum syslog_transport { SYSLOG_UDP, SYSLOG_TCP, SYSLOG_UNIX };
enum syslog_format { SYSLOG_FORMAT_JSON = 0, SYSLOG_FORMAT_OCSF };

struct syslog_target {
	enum syslog_transport transport;
	char host[256];			/* udp, tcp: a name or an address */
	char port[6];			/* udp, tcp: 1..65535 */
	char path[108];			/* unix: an absolute path */
};

/* syslog_target__parse: "udp:HOST:PORT", "tcp:HOST:PORT" (an IPv6 address
 * in brackets: "tcp:[::1]:6514") or "unix:/PATH". Returns 0, or -EINVAL
 * with a reason (lowercase) in why. */
int syslog_target__parse(const char *s, struct syslog_target *t, char *why, size_t whylen);

/* syslog_facility__parse: a facility name (kern, user, mail, daemon, auth,
 * syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, security, console,
 * solaris-cron, local0..local7) as its number, or -EINVAL. */
int syslog_facility__parse(const char *name);

/* syslog_facility__name: the name of facility f (0..23), or "?". */
const char *syslog_facility__name(int f);

/* syslog__severity: the RFC 5424 severity of an entry: 4 (warning) for a
 * denial and for events.lost, log.recovered, manifest.rejected and
 * syslog.dropped, 5 (notice) for an audit decision, else 6 (informational). */
int syslog__severity(const char *type, const char *decision);

/* syslog__format_entry: the RFC 5424 message of entry seq (line[0..len), a
 * log entry), in *buf (grown as needed; *cap its size). format json sends
 * the line as it is, ocsf its OCSF event (origin names the log). Returns
 * the length, or -EINVAL (not an entry) or -ENOMEM. */
long syslog__format_entry(char **buf, size_t *cap, int facility, enum syslog_format format,
			  const char *hostname, int pid, const char *origin, uint64_t seq,
			  const char *line, size_t len);

/* syslog__format_checkpoint: the RFC 5424 message of a signed checkpoint
 * note (note[0..len)) of the log origin, sealing size entries, sent at
 * time_ns (UTC). Returns the length or -EINVAL (not a checkpoint), -ENOMEM. */
long syslog__format_checkpoint(char **buf, size_t *cap, int facility, const char *hostname,
			       int pid, uint64_t time_ns, const char *note, size_t len);

struct syslog_out_opts {
	const char *target;		/* as syslog_target__parse() takes it */
	int facility;			/* 0..23 */
	enum syslog_format format;
	bool entries;			/* send entries */
	bool checkpoints;		/* send checkpoints */
	size_t queue_bytes;		/* bound of the queue */
	const char *hostname;		/* the HOSTNAME field */
	const char *origin;		/* the log's origin (OCSF metadata.uid) */
};

struct syslog_out_stats {
	uint64_t sent, checkpoints_sent;	/* handed to the socket */
	uint64_t dropped, checkpoints_dropped;	/* queue full, too large, or
						 * still queued at close */
	uint64_t queued;			/* messages waiting */
	uint64_t queued_bytes;
	uint64_t connects;			/* successful (re)connections */
	bool connected;
	char last_error[160];			/* "" or the last failure */
};

struct syslog_out;

/* syslog_out__open: starts the output (its thread, no connection yet: it
 * connects in the background and retries). Returns NULL with errno EINVAL
 * (bad target or options), ENOMEM, or the errno of a failed thread start. */
struct syslog_out *syslog_out__open(const struct syslog_out_opts *o);

/* syslog_out__entry: queues entry seq (line[0..len)), to be sent once a
 * checkpoint seals it. Never blocks: when the queue is full, the entry is
 * dropped and counted. */
void syslog_out__entry(struct syslog_out *so, uint64_t seq, const char *line, size_t len);

/* syslog_out__commit: a checkpoint of size entries was written: releases
 * the queued entries below size and queues the note (note[0..len), NULL for
 * none: counted as a dropped checkpoint) after them. size covers every entry
 * queued before (the log seals all it has). Never blocks. */
void syslog_out__commit(struct syslog_out *so, uint64_t size, const char *note, size_t len);

/* syslog_out__stats: the counters, consistent with each other. */
void syslog_out__stats(struct syslog_out *so, struct syslog_out_stats *st);

/* syslog_out__close: sends what is released for at most timeout_ms (none
 * if the receiver is away, less if it fails meanwhile), drops and counts the
 * rest, stops the thread and frees so; the final counters in *st
 * (optional). NULL is a no-op. */
void syslog_out__close(struct syslog_out *so, unsigned timeout_ms, struct syslog_out_stats *st);

#endif
