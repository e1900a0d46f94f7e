/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cmd_log.c: `agentguard log verify [--state-dir DIR | LOGDIR] [--key VKEY]`
 *
 * Output (stdout), exit 0:
 *   ok: <N> entries, <M> checkpoints, root <base64 root of the newest checkpoint>
 *   unsealed: entries <a>..<b> are not covered by a checkpoint   (if any)
 * or exit 1:
 *   FAIL: entry <i>: <reason>  |  FAIL: checkpoint <k>: <reason>
 * Errors that stop verification go to stderr as "agentguard: log verify: ..."
 * (exit 1); usage errors exit 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "note.h"

#define DEFAULT_STATE_DIR "/var/lib/agentguard"

static const char log_usage[] =
	"usage: agentguard log <command> [options]\n"
	"\n"
	"Commands:\n"
	"  verify    check every entry and signed checkpoint of the event log\n"
	"\n"
	"Run 'agentguard log <command> --help' for the options of a command.\n";

static const char verify_usage[] =
	"usage: agentguard log verify [--state-dir DIR | LOGDIR] [--key VKEY]\n"
	"\n"
	"Recomputes the RFC 6962 Merkle tree over every entry, checks that each\n"
	"entry line is JSON with \"seq\" equal to its index, that each leaf hash\n"
	"matches the leaves store, and that every checkpoint is signed by the\n"
	"key and consistent with the entries.\n"
	"\n"
	"Options:\n"
	"  --state-dir DIR   the daemon's state directory; the log is DIR/log\n"
	"                    (default " DEFAULT_STATE_DIR ")\n"
	"  LOGDIR            a log directory instead (e.g. a copy)\n"
	"  --key VKEY        verifier key: a file holding it, or the key string\n"
	"                    <name>+<hex id>+<base64 key>; default\n"
	"                    DIR/keys/log.vkey, or LOGDIR/../keys/log.vkey\n"
	"  -h, --help        show this help\n"
	"\n"
	"Prints 'ok: <N> entries, <M> checkpoints, root <base64>' (the root of the\n"
	"newest checkpoint) and exits 0, adding 'unsealed: entries <a>..<b> are\n"
	"not covered by a checkpoint' when entries follow the newest checkpoint.\n"
	"Otherwise prints 'FAIL: entry <i>: <reason>' or 'FAIL: checkpoint <k>:\n"
	"<reason>' and exits 1. For a result that no one on this host can forge,\n"
	"pass a verifier key obtained out of band with --key.\n";

/* --opt VALUE or --opt=VALUE: returns the value and advances *i, or NULL
 * if argv[*i] is not opt. *missing is set if the value is missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt,
			     bool *missing)
{
	size_t n = strlen(opt);
	const char *a = argv[*i];

	if (strncmp(a, opt, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n])
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

/* Reads the verifier key: from the file path if it is one, else the
 * string itself when allowed. Returns malloc'd text or NULL (message
 * printed). */
static char *load_vkey(const char *arg, bool allow_string)
{
	char buf[NOTE_KEY_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	int fd;

	if (allow_string && (stat(arg, &st) || !S_ISREG(st.st_mode)))
		return strdup(arg);
	fd = open(arg, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "agentguard: log verify: cannot read '%s': %s\n",
			arg, strerror(errno));
		return NULL;
	}
	n = read(fd, buf, NOTE_KEY_FILE_MAX + 1);
	close(fd);
	if (n < 0 || n > NOTE_KEY_FILE_MAX) {
		fprintf(stderr, "agentguard: log verify: cannot read '%s': %s\n",
			arg, n < 0 ? strerror(errno) : "file too large");
		return NULL;
	}
	buf[n] = '\0';
	return strdup(buf);
}

static int cmd_log_verify(int argc, char **argv)
{
	const char *state_dir = NULL, *logdir_arg = NULL, *key = NULL;
	char logdir[4096], keypath[4096 + 32], b64[48], *vkey;
	struct log_verify_result res;
	bool only_args = false;
	int err;

	for (int i = 1; i < argc; i++) {
		bool missing = false;
		const char *v;

		if (only_args || argv[i][0] != '-' || !strcmp(argv[i], "-")) {
			if (logdir_arg) {
				fprintf(stderr, "agentguard: log verify: unexpected "
					"argument '%s'\n", argv[i]);
				return 2;
			}
			logdir_arg = argv[i];
			continue;
		}
		if (!strcmp(argv[i], "--")) {
			only_args = true;
			continue;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(verify_usage, stdout);
			return 0;
		}
		if ((v = opt_value(argc, argv, &i, "--state-dir", &missing))) {
			state_dir = v;
			continue;
		}
		if (!missing && (v = opt_value(argc, argv, &i, "--key", &missing))) {
			key = v;
			continue;
		}
		if (missing) {
			fprintf(stderr, "agentguard: log verify: option '%s' needs a "
				"value\n", argv[i]);
			return 2;
		}
		fprintf(stderr, "agentguard: log verify: unknown option '%s'\n",
			argv[i]);
		return 2;
	}
	if (state_dir && logdir_arg) {
		fprintf(stderr, "agentguard: log verify: give either --state-dir or "
			"LOGDIR, not both\n");
		return 2;
	}
	if (logdir_arg) {
		snprintf(logdir, sizeof(logdir), "%s", logdir_arg);
		snprintf(keypath, sizeof(keypath), "%s/../keys/log.vkey", logdir_arg);
	} else {
		if (!state_dir)
			state_dir = DEFAULT_STATE_DIR;
		snprintf(logdir, sizeof(logdir), "%s/log", state_dir);
		snprintf(keypath, sizeof(keypath), "%s/keys/log.vkey", state_dir);
	}
	vkey = load_vkey(key ? key : keypath, key != NULL);
	if (!vkey)
		return 1;
	err = log__verify(logdir, vkey, &res);
	free(vkey);
	if (err == -EBADMSG) {
		printf("FAIL: %s\n", res.error);
		return 1;
	}
	if (err == -EINVAL) {
		fprintf(stderr, "agentguard: log verify: invalid verifier key%s%s%s\n",
			key ? "" : " in '", key ? "" : keypath, key ? "" : "'");
		return 1;
	}
	if (err) {
		fprintf(stderr, "agentguard: log verify: %s\n", res.error);
		return 1;
	}
	note__base64_encode(res.newest_root, LOG_HASH_SIZE, b64);
	printf("ok: %" PRIu64 " entries, %" PRIu64 " checkpoints, root %s\n",
	       res.entries, res.checkpoints, b64);
	if (res.unsealed)
		printf("unsealed: entries %" PRIu64 "..%" PRIu64 " are not covered by "
		       "a checkpoint\n", res.newest_size, res.entries - 1);
	if (res.torn_note_bytes)
		printf("torn: %" PRIu64 " bytes at the end of 'checkpoints' are an "
		       "incomplete note (an interrupted write), not a checkpoint\n",
		       res.torn_note_bytes);
	if (res.torn_bytes)
		printf("torn: %" PRIu64 " bytes at the end of the log are an incomplete "
		       "line (an interrupted write), not an entry\n", res.torn_bytes);
	return 0;
}

int cmd_log(int argc, char **argv)
{
	if (argc < 2) {
		fputs(log_usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		fputs(log_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "verify"))
		return cmd_log_verify(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		fprintf(stderr, "agentguard: log: unknown option '%s'\n", argv[1]);
	else
		fprintf(stderr, "agentguard: log: unknown command '%s'\n", argv[1]);
	return 2;
}
