/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cmd_log.c: `agentguard log verify [--since FILE]`, `log proof` and
 * `log consistency` (docs/log.md, "Verifying" and "Proofs").
 *
 * verify output (stdout), exit 0:
 *   ok: <N> entries, <M> checkpoints, root <base64 root of the newest checkpoint>
 *   removed: ... / since: ... / unsealed: ... / torn: ...   (if any)
 * or exit 1:
 *   FAIL: entry <i>: <reason>  |  FAIL: checkpoint <k>: <reason>  | ...
 * proof and consistency print one JSON object on one line.
 * Errors go to stderr as "agentguard: log <command>: ..." (exit 1); usage
 * errors exit 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "log.h"
#include "merkle.h"
#include "note.h"

#define DEFAULT_STATE_DIR "/var/lib/agentguard"

static const char log_usage[] =
	"usage: agentguard log <command> [options]\n"
	"\n"
	"Commands:\n"
	"  verify        check every entry and signed checkpoint of the event log\n"
	"  proof         print an RFC 6962 inclusion proof of an entry\n"
	"  consistency   print an RFC 6962 consistency proof between two sizes\n"
	"\n"
	"Run 'agentguard log <command> --help' for the options of a command.\n";

static const char verify_usage[] =
	"usage: agentguard log verify [--state-dir DIR | LOGDIR] [--key VKEY]\n"
	"                            [--since FILE]\n"
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
	"  --since FILE      a checkpoint (signed note) trusted from before: check\n"
	"                    that the log grew from it by appending only\n"
	"  -h, --help        show this help\n"
	"\n"
	"Prints 'ok: <N> entries, <M> checkpoints, root <base64>' (the root of the\n"
	"newest checkpoint) and exits 0, adding 'unsealed: entries <a>..<b> are\n"
	"not covered by a checkpoint' when entries follow the newest checkpoint.\n"
	"Otherwise prints 'FAIL: entry <i>: <reason>' or 'FAIL: checkpoint <k>:\n"
	"<reason>' and exits 1. For a result that no one on this host can forge,\n"
	"pass a verifier key obtained out of band with --key.\n";

static const char proof_usage[] =
	"usage: agentguard log proof --index N [--size M] [--state-dir DIR | LOGDIR]\n"
	"                            [--key VKEY]\n"
	"\n"
	"Prints, as one JSON object, the RFC 6962 inclusion proof (audit path) of\n"
	"entry N in the tree of the first M entries: the leaf hash, the path from\n"
	"the leaf up, the root, the signed checkpoint of size M (if one was\n"
	"signed) and the entry itself (unless retention removed it). See\n"
	"docs/log.md, \"Proofs\".\n"
	"\n"
	"Options:\n"
	"  --index N         the entry (its seq)\n"
	"  --size M          the tree size (default: the newest checkpoint's)\n"
	"  --state-dir DIR   the daemon's state directory (default "
	DEFAULT_STATE_DIR ")\n"
	"  LOGDIR            a log directory instead\n"
	"  --key VKEY        verifier key of the checkpoints (as for log verify)\n"
	"  -h, --help        show this help\n";

static const char consistency_usage[] =
	"usage: agentguard log consistency --from M [--to N] [--state-dir DIR | LOGDIR]\n"
	"                                  [--key VKEY]\n"
	"\n"
	"Prints, as one JSON object, the RFC 6962 consistency proof that the tree\n"
	"of the first N entries extends the tree of the first M (1 <= M <= N),\n"
	"with both roots and the signed checkpoints of those sizes (where they\n"
	"exist). See docs/log.md, \"Proofs\".\n"
	"\n"
	"Options:\n"
	"  --from M          the older tree size\n"
	"  --to N            the newer tree size (default: the newest checkpoint's)\n"
	"  --state-dir DIR   the daemon's state directory (default "
	DEFAULT_STATE_DIR ")\n"
	"  LOGDIR            a log directory instead\n"
	"  --key VKEY        verifier key of the checkpoints (as for log verify)\n"
	"  -h, --help        show this help\n";

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

/* The options of the log commands; opts lists the valued options one
 * command takes (besides --state-dir and --key), NULL-terminated. */
struct log_args {
	const char *cmd;		/* "verify", "proof", ... */
	const char *state_dir, *logdir_arg, *key;
	const char *val[4];		/* values of opts[i] */
	char logdir[4096];
	char keypath[4096 + 32];
};

/* Returns -1 to go on, or the exit status (0 after --help, 2). */
static int parse_args(int argc, char **argv, struct log_args *a,
		      const char *const *opts, const char *usage)
{
	bool only_args = false;

	for (int i = 1; i < argc; i++) {
		bool missing = false, found = false;
		const char *v;

		if (only_args || argv[i][0] != '-' || !strcmp(argv[i], "-")) {
			if (a->logdir_arg) {
				fprintf(stderr, "agentguard: log %s: unexpected "
					"argument '%s'\n", a->cmd, argv[i]);
				return 2;
			}
			a->logdir_arg = argv[i];
			continue;
		}
		if (!strcmp(argv[i], "--")) {
			only_args = true;
			continue;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		if ((v = opt_value(argc, argv, &i, "--state-dir", &missing))) {
			a->state_dir = v;
			continue;
		}
		if (!missing && (v = opt_value(argc, argv, &i, "--key", &missing))) {
			a->key = v;
			continue;
		}
		for (int k = 0; opts[k] && !missing && !found; k++) {
			if ((v = opt_value(argc, argv, &i, opts[k], &missing))) {
				a->val[k] = v;
				found = true;
			}
		}
		if (found)
			continue;
		if (missing) {
			fprintf(stderr, "agentguard: log %s: option '%s' needs a "
				"value\n", a->cmd, argv[i]);
			return 2;
		}
		fprintf(stderr, "agentguard: log %s: unknown option '%s'\n",
			a->cmd, argv[i]);
		return 2;
	}
	if (a->state_dir && a->logdir_arg) {
		fprintf(stderr, "agentguard: log %s: give either --state-dir or "
			"LOGDIR, not both\n", a->cmd);
		return 2;
	}
	if (a->logdir_arg) {
		snprintf(a->logdir, sizeof(a->logdir), "%s", a->logdir_arg);
		snprintf(a->keypath, sizeof(a->keypath), "%s/../keys/log.vkey",
			 a->logdir_arg);
	} else {
		if (!a->state_dir)
			a->state_dir = DEFAULT_STATE_DIR;
		snprintf(a->logdir, sizeof(a->logdir), "%s/log", a->state_dir);
		snprintf(a->keypath, sizeof(a->keypath), "%s/keys/log.vkey",
			 a->state_dir);
	}
	return -1;
}

/* Reads up to max bytes of path into a malloc'd NUL-terminated buffer.
 * Returns 0, -EFBIG, or -errno. */
static int read_small(const char *path, size_t max, char **out, size_t *len)
{
	char *buf = malloc(max + 1);
	size_t got = 0;
	ssize_t n;
	int fd, err = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		free(buf);
		return err;
	}
	while (got <= max && (n = read(fd, buf + got, max + 1 - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		got += n;
	}
	close(fd);
	if (!err && got > max)
		err = -EFBIG;
	if (err) {
		free(buf);
		return err;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/* Reads the verifier key: from the file path if it is one, else the
 * string itself when allowed. Returns malloc'd text or NULL (message
 * printed). */
static char *load_vkey(const char *cmd, const char *arg, bool allow_string)
{
	struct stat st;
	size_t len;
	char *buf;
	int err;

	if (allow_string && (stat(arg, &st) || !S_ISREG(st.st_mode)))
		return strdup(arg);
	err = read_small(arg, NOTE_KEY_FILE_MAX, &buf, &len);
	if (err) {
		fprintf(stderr, "agentguard: log %s: cannot read '%s': %s\n", cmd,
			arg, err == -EFBIG ? "file too large" : strerror(-err));
		return NULL;
	}
	return buf;
}

/* The verifier of the log's key (message printed on failure). */
static struct note_verifier *load_verifier(const struct log_args *a)
{
	struct note_verifier *v;
	char *vkey = load_vkey(a->cmd, a->key ? a->key : a->keypath, a->key != NULL);

	if (!vkey)
		return NULL;
	v = note_verifier__parse(vkey, strlen(vkey));
	free(vkey);
	if (!v)
		fprintf(stderr, "agentguard: log %s: invalid verifier key%s%s%s\n",
			a->cmd, a->key ? "" : " in '", a->key ? "" : a->keypath,
			a->key ? "" : "'");
	return v;
}

/* Reads and checks a checkpoint note file. Returns 0, or prints why
 * (naming the file) and returns -1. */
static int load_checkpoint(const char *cmd, const char *what, const char *path,
			   const struct note_verifier *v, struct checkpoint *cp,
			   char **note, size_t *len)
{
	char why[NOTE_WHY_MAX];
	int err = read_small(path, NOTE_MAX_SIZE, note, len);

	if (err) {
		fprintf(stderr, "agentguard: log %s: %s'%s': cannot read it: %s\n",
			cmd, what, path, err == -EFBIG ? "larger than a signed note can be" :
			strerror(-err));
		return -1;
	}
	err = checkpoint__open(v, *note, *len, cp, why, sizeof(why));
	if (err) {
		fprintf(stderr, "agentguard: log %s: %s'%s': %s\n", cmd, what, path,
			err == -ENOMEM ? "out of memory" : why);
		free(*note);
		*note = NULL;
		return -1;
	}
	return 0;
}

static int cmd_log_verify(int argc, char **argv)
{
	static const char *const opts[] = { "--since", NULL };
	struct log_args a = { .cmd = "verify" };
	struct checkpoint since;
	struct note_verifier *v;
	struct log_verify_result res;
	char b64[48], *vkey, *note = NULL;
	size_t len;
	int err, rc;

	rc = parse_args(argc, argv, &a, opts, verify_usage);
	if (rc >= 0)
		return rc;
	vkey = load_vkey(a.cmd, a.key ? a.key : a.keypath, a.key != NULL);
	if (!vkey)
		return 1;
	if (a.val[0]) {
		v = note_verifier__parse(vkey, strlen(vkey));
		if (!v) {
			free(vkey);
			fprintf(stderr, "agentguard: log verify: invalid verifier key%s%s%s\n",
				a.key ? "" : " in '", a.key ? "" : a.keypath, a.key ? "" : "'");
			return 1;
		}
		rc = load_checkpoint(a.cmd, "trusted checkpoint ", a.val[0], v, &since,
				     &note, &len);
		note_verifier__free(v);
		free(note);
		if (rc) {
			free(vkey);
			return 1;
		}
	}
	err = log__verify_since(a.logdir, vkey, a.val[0] ? &since : NULL, &res);
	free(vkey);
	if (err == -EBADMSG) {
		printf("FAIL: %s\n", res.error);
		return 1;
	}
	if (err == -EINVAL) {
		fprintf(stderr, "agentguard: log verify: invalid verifier key%s%s%s\n",
			a.key ? "" : " in '", a.key ? "" : a.keypath, a.key ? "" : "'");
		return 1;
	}
	if (err) {
		fprintf(stderr, "agentguard: log verify: %s\n", res.error);
		return 1;
	}
	note__base64_encode(res.newest_root, LOG_HASH_SIZE, b64);
	printf("ok: %" PRIu64 " entries, %" PRIu64 " checkpoints, root %s\n",
	       res.entries, res.checkpoints, b64);
	if (res.removed)
		printf("removed: entries 0..%" PRIu64 " were removed by retention "
		       "(log.retention entry %" PRIu64 "); their leaf hashes verify "
		       "against the checkpoints\n", res.removed - 1, res.retention_entry);
	if (a.val[0])
		printf("since: the log grew from the trusted checkpoint (size %" PRIu64
		       ") to size %" PRIu64 " by appending only (consistency proof of "
		       "%zu hashes)\n", res.since_size, res.newest_size, res.since_proof);
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

/* A decimal without sign, leading zeros or overflow. */
static int parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = *p - '0';

		if (v > (UINT64_MAX - d) / 10)
			break;
		v = v * 10 + d;
	}
	if (p == s || *p || (s[0] == '0' && s[1])) {
		fprintf(stderr, "agentguard: log %s: invalid %s '%s': expected a "
			"non-negative integer\n", cmd, opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* The log's newest checkpoint (message printed on failure). */
static int newest_checkpoint(const struct log_args *a, const struct note_verifier *v,
			     struct checkpoint *cp, char **note, size_t *len)
{
	char path[4096 + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s/checkpoint", a->logdir);
	if (stat(a->logdir, &st)) {
		fprintf(stderr, "agentguard: log %s: cannot open '%s': %s\n", a->cmd,
			a->logdir, strerror(errno));
		return -1;
	}
	if (stat(path, &st) && errno == ENOENT) {
		fprintf(stderr, "agentguard: log %s: '%s' has no checkpoint (the log "
			"has never been committed)\n", a->cmd, a->logdir);
		return -1;
	}
	return load_checkpoint(a->cmd, "", path, v, cp, note, len);
}

/* The signed checkpoint of size, if there is one: *note NULL if none. */
static int checkpoint_of(const struct log_args *a, const struct note_verifier *v,
			 uint64_t size, const struct checkpoint *newest,
			 const char *newest_note, size_t newest_len,
			 struct checkpoint *cp, char **note)
{
	size_t len;
	int err;

	*note = NULL;
	if (size == newest->size) {
		*cp = *newest;
		*note = strndup(newest_note, newest_len);
		return *note ? 0 : -ENOMEM;
	}
	err = log__find_checkpoint(a->logdir, v, size, note, &len, cp);
	return err == -ENOENT ? 0 : err;
}

static json_t *b64_hash(const uint8_t h[LOG_HASH_SIZE])
{
	char b64[48];

	note__base64_encode(h, LOG_HASH_SIZE, b64);
	return json_string(b64);
}

static json_t *b64_path(uint8_t path[][LOG_HASH_SIZE], size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, b64_hash(path[i]));
	return arr;
}

static int print_json(const char *cmd, json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(o);
	if (!text || printf("%s\n", text) < 0 || fflush(stdout)) {
		fprintf(stderr, "agentguard: log %s: cannot write the proof: %s\n", cmd,
			text ? strerror(errno) : "out of memory");
		free(text);
		return 1;
	}
	free(text);
	return 0;
}

static void tree_error(const char *cmd, const char *logdir, int err)
{
	if (err == -ENOENT)
		fprintf(stderr, "agentguard: log %s: '%s/leaves' is missing: the log "
			"cannot be proven from (run 'agentguard log verify')\n", cmd,
			logdir);
	else if (err == -ERANGE || err == -EIO)
		fprintf(stderr, "agentguard: log %s: '%s/leaves' is shorter than the "
			"checkpoint (run 'agentguard log verify')\n", cmd, logdir);
	else
		fprintf(stderr, "agentguard: log %s: cannot read the tree in '%s': %s\n",
			cmd, logdir, strerror(-err));
}

static int cmd_log_proof(int argc, char **argv)
{
	static const char *const opts[] = { "--index", "--size", NULL };
	uint8_t path[MERKLE_PROOF_MAX][LOG_HASH_SIZE], leaf[LOG_HASH_SIZE];
	uint8_t root[LOG_HASH_SIZE], eh[LOG_HASH_SIZE];
	struct log_args a = { .cmd = "proof" };
	struct checkpoint newest, cp;
	struct note_verifier *v = NULL;
	struct merkle_hasher *h = NULL;
	struct log_tree *t = NULL;
	char *nnote = NULL, *note = NULL, *entry = NULL;
	uint64_t index, size;
	size_t nlen, n = 0, elen = 0;
	int rc, err;
	json_t *o;

	rc = parse_args(argc, argv, &a, opts, proof_usage);
	if (rc >= 0)
		return rc;
	if (!a.val[0]) {
		fprintf(stderr, "agentguard: log proof: --index is required\n");
		return 2;
	}
	if (parse_u64(a.cmd, "--index", a.val[0], &index) ||
	    (a.val[1] && parse_u64(a.cmd, "--size", a.val[1], &size)))
		return 2;
	rc = 1;
	v = load_verifier(&a);
	if (!v || newest_checkpoint(&a, v, &newest, &nnote, &nlen))
		goto out;
	if (!a.val[1])
		size = newest.size;
	if (size > newest.size) {
		fprintf(stderr, "agentguard: log proof: size %" PRIu64 " is past the "
			"newest checkpoint (size %" PRIu64 "): later entries are not "
			"sealed yet\n", size, newest.size);
		goto out;
	}
	if (index >= size) {
		fprintf(stderr, "agentguard: log proof: entry %" PRIu64 " is not in the "
			"tree of size %" PRIu64 "%s\n", index, size,
			size ? "" : " (it has no entries)");
		goto out;
	}
	err = checkpoint_of(&a, v, size, &newest, nnote, nlen, &cp, &note);
	if (err) {
		fprintf(stderr, "agentguard: log proof: cannot read '%s/checkpoints': "
			"%s\n", a.logdir, strerror(-err));
		goto out;
	}
	h = merkle_hasher__new();
	if (!h) {
		fprintf(stderr, "agentguard: log proof: out of memory\n");
		goto out;
	}
	/* from the node store, then (if the result does not check against
	 * the signed root: a damaged node store) from the leaves alone */
	for (unsigned flags = 0; flags <= LOG_TREE_NO_NODES; flags++) {
		log_tree__free(t);
		t = log_tree__open(a.logdir, flags);
		err = t ? 0 : -errno;
		if (!err)
			err = log_tree__leaf(t, index, leaf);
		if (!err)
			err = log_tree__inclusion(t, index, size, path, &n);
		if (!err && note)
			memcpy(root, cp.root, LOG_HASH_SIZE);
		else if (!err)
			err = log_tree__root(t, size, root);
		if (err) {
			tree_error(a.cmd, a.logdir, err);
			goto out;
		}
		if (!merkle__check_inclusion(h, index, size, leaf, path, n, root))
			break;
		if (flags == LOG_TREE_NO_NODES) {
			fprintf(stderr, "agentguard: log proof: '%s/leaves' does not match "
				"the checkpoint of size %" PRIu64 " (run 'agentguard log "
				"verify')\n", a.logdir, size);
			goto out;
		}
	}
	err = log__entry(a.logdir, index, &entry, &elen);
	if (err && err != -ENOENT) {
		fprintf(stderr, "agentguard: log proof: entry %" PRIu64 ": cannot read "
			"it from '%s': %s\n", index, a.logdir, err == -EBADMSG ?
			"its file does not hold it (run 'agentguard log verify')" :
			strerror(-err));
		goto out;
	}
	if (entry && (merkle__leaf_hash(h, entry, elen, eh) ||
		      memcmp(eh, leaf, LOG_HASH_SIZE))) {
		fprintf(stderr, "agentguard: log proof: entry %" PRIu64 " does not "
			"match its leaf hash (run 'agentguard log verify')\n", index);
		goto out;
	}
	o = json_object();
	json_object_set_new(o, "proof", json_string("inclusion"));
	json_object_set_new(o, "origin", json_string(newest.origin));
	json_object_set_new(o, "leaf_index", json_integer(index));
	json_object_set_new(o, "tree_size", json_integer(size));
	json_object_set_new(o, "leaf_hash", b64_hash(leaf));
	json_object_set_new(o, "inclusion_path", b64_path(path, n));
	json_object_set_new(o, "root_hash", b64_hash(root));
	if (note)
		json_object_set_new(o, "checkpoint", json_string(note));
	if (entry)
		json_object_set_new(o, "entry", json_stringn(entry, elen));
	rc = print_json(a.cmd, o);
out:
	log_tree__free(t);
	merkle_hasher__free(h);
	note_verifier__free(v);
	free(nnote);
	free(note);
	free(entry);
	return rc;
}

static int cmd_log_consistency(int argc, char **argv)
{
	static const char *const opts[] = { "--from", "--to", NULL };
	uint8_t path[MERKLE_PROOF_MAX][LOG_HASH_SIZE];
	uint8_t r1[LOG_HASH_SIZE], r2[LOG_HASH_SIZE];
	struct log_args a = { .cmd = "consistency" };
	struct checkpoint newest, c1, c2;
	struct note_verifier *v = NULL;
	struct merkle_hasher *h = NULL;
	struct log_tree *t = NULL;
	char *nnote = NULL, *n1 = NULL, *n2 = NULL;
	uint64_t from, to;
	size_t nlen, n = 0;
	int rc, err;
	json_t *o;

	rc = parse_args(argc, argv, &a, opts, consistency_usage);
	if (rc >= 0)
		return rc;
	if (!a.val[0]) {
		fprintf(stderr, "agentguard: log consistency: --from is required\n");
		return 2;
	}
	if (parse_u64(a.cmd, "--from", a.val[0], &from) ||
	    (a.val[1] && parse_u64(a.cmd, "--to", a.val[1], &to)))
		return 2;
	rc = 1;
	v = load_verifier(&a);
	if (!v || newest_checkpoint(&a, v, &newest, &nnote, &nlen))
		goto out;
	if (!a.val[1])
		to = newest.size;
	if (to > newest.size) {
		fprintf(stderr, "agentguard: log consistency: size %" PRIu64 " is past "
			"the newest checkpoint (size %" PRIu64 "): later entries are not "
			"sealed yet\n", to, newest.size);
		goto out;
	}
	if (from == 0 || from > to) {
		fprintf(stderr, "agentguard: log consistency: --from %" PRIu64 " must be "
			"between 1 and the newer size %" PRIu64 "\n", from, to);
		goto out;
	}
	err = checkpoint_of(&a, v, from, &newest, nnote, nlen, &c1, &n1);
	if (!err)
		err = checkpoint_of(&a, v, to, &newest, nnote, nlen, &c2, &n2);
	if (err) {
		fprintf(stderr, "agentguard: log consistency: cannot read '%s/checkpoints': "
			"%s\n", a.logdir, strerror(-err));
		goto out;
	}
	h = merkle_hasher__new();
	if (!h) {
		fprintf(stderr, "agentguard: log consistency: out of memory\n");
		goto out;
	}
	for (unsigned flags = 0; flags <= LOG_TREE_NO_NODES; flags++) {
		log_tree__free(t);
		t = log_tree__open(a.logdir, flags);
		err = t ? 0 : -errno;
		if (!err)
			err = log_tree__consistency(t, from, to, path, &n);
		if (!err && n1)
			memcpy(r1, c1.root, LOG_HASH_SIZE);
		else if (!err)
			err = log_tree__root(t, from, r1);
		if (!err && n2)
			memcpy(r2, c2.root, LOG_HASH_SIZE);
		else if (!err)
			err = log_tree__root(t, to, r2);
		if (err) {
			tree_error(a.cmd, a.logdir, err);
			goto out;
		}
		if (!merkle__check_consistency(h, from, to, r1, r2, path, n))
			break;
		if (flags == LOG_TREE_NO_NODES) {
			fprintf(stderr, "agentguard: log consistency: '%s/leaves' does not "
				"match the checkpoints of sizes %" PRIu64 " and %" PRIu64
				" (run 'agentguard log verify')\n", a.logdir, from, to);
			goto out;
		}
	}
	o = json_object();
	json_object_set_new(o, "proof", json_string("consistency"));
	json_object_set_new(o, "origin", json_string(newest.origin));
	json_object_set_new(o, "tree_size_1", json_integer(from));
	json_object_set_new(o, "tree_size_2", json_integer(to));
	json_object_set_new(o, "root_hash_1", b64_hash(r1));
	json_object_set_new(o, "root_hash_2", b64_hash(r2));
	json_object_set_new(o, "consistency_path", b64_path(path, n));
	if (n1)
		json_object_set_new(o, "checkpoint_1", json_string(n1));
	if (n2)
		json_object_set_new(o, "checkpoint_2", json_string(n2));
	rc = print_json(a.cmd, o);
out:
	log_tree__free(t);
	merkle_hasher__free(h);
	note_verifier__free(v);
	free(nnote);
	free(n1);
	free(n2);
	return rc;
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
	if (!strcmp(argv[1], "proof"))
		return cmd_log_proof(argc - 1, argv + 1);
	if (!strcmp(argv[1], "consistency"))
		return cmd_log_consistency(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		fprintf(stderr, "agentguard: log: unknown option '%s'\n", argv[1]);
	else
		fprintf(stderr, "agentguard: log: unknown command '%s'\n", argv[1]);
	return 2;
}
