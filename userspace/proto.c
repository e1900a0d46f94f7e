/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

const char *proto__socket_path(const char *explicit_path)
{
	const char *env;

	if (explicit_path && *explicit_path)
		return explicit_path;
	env = getenv("AGENTGUARD_SOCKET");
	if (env && *env)
		return env;
	return PROTO_DEFAULT_SOCKET;
}

/* read() that also takes the descriptors passed with the data: the first
 * into *fd (when fd is not NULL and still -1), the others closed */
static ssize_t read_fds(int sock, void *buf, size_t len, int *fd)
{
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

	if (n < 0)
		return n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t nfd;
		int fds[4];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfd > 4)
			nfd = 4;
		memcpy(fds, CMSG_DATA(c), nfd * sizeof(int));
		for (size_t i = 0; i < nfd; i++) {
			if (fd && *fd < 0)
				*fd = fds[i];
			else
				close(fds[i]);
		}
	}
	return n;
}

json_t *proto__call(const char *path, json_t *req, int timeout_ms, char *err, size_t errlen)
{
	return proto__call_fd(path, req, timeout_ms, NULL, err, errlen);
}

json_t *proto__call_fd(const char *path, json_t *req, int timeout_ms, int *fdp, char *err,
		       size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *out = NULL, *buf = NULL;
	size_t len = 0;
	json_t *resp = NULL;
	json_error_t jerr;
	int fd = -1, e;

	if (fdp)
		*fdp = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path '%s' is too long", path);
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot connect to '%s': %s (is the daemon running?)",
			 path, strerror(e));
		goto fail;
	}
	out = json_dumps(req, JSON_COMPACT);
	if (!out) {
		e = ENOMEM;
		snprintf(err, errlen, "cannot encode request");
		goto fail;
	}
	{
		size_t ol = strlen(out);

		if ((e = -util__write_all(fd, out, ol)) || (e = -util__write_all(fd, "\n", 1))) {
			snprintf(err, errlen, "cannot send request: %s", strerror(e));
			goto fail;
		}
	}
	buf = malloc(PROTO_MAX_FRAME + 1);
	if (!buf) {
		e = ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&pfd, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r == 0 ? ETIMEDOUT : errno;
			snprintf(err, errlen, "no response from '%s': %s", path, strerror(e));
			goto fail;
		}
		n = read_fds(fd, buf + len, PROTO_MAX_FRAME - len, fdp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n ? errno : ECONNRESET;
			snprintf(err, errlen, "daemon closed the connection without a response");
			goto fail;
		}
		len += n;
		if (memchr(buf + len - n, '\n', n))
			break;
		if (len == PROTO_MAX_FRAME) {
			e = EMSGSIZE;
			snprintf(err, errlen, "response from '%s' is too large", path);
			goto fail;
		}
	}
	buf[len] = 0;
	resp = json_loads(buf, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!json_is_object(resp)) {
		json_decref(resp);
		resp = NULL;
		e = EPROTO;
		snprintf(err, errlen, "malformed response from '%s'", path);
		goto fail;
	}
	free(out);
	free(buf);
	close(fd);
	return resp;
fail:
	free(out);
	free(buf);
	if (fd >= 0)
		close(fd);
	if (fdp && *fdp >= 0) {
		close(*fdp);
		*fdp = -1;
	}
	errno = e;
	return NULL;
}
