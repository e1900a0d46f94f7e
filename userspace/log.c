/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonw.h"
#include "merkle.h"
#include "note.h"
#include "util.h"

#define ENTRY_PREFIX	"entries-"
#define ENTRY_SUFFIX	".jsonl"
#define ENTRY_NAME_MAX	48
#define FLUSH_BYTES	(256 * 1024)	/* write() buffered entries past this */
#define READ_BUF	(1 << 20)
#define NOTES_TAIL	(64 * 1024)	/* tail of 'checkpoints' read at open */
#define LEAF_CHUNK	4096		/* leaf records per read */
#define EM_DASH_SP	"\xe2\x80\x94 "
#define EM_DASH_SP_LEN	4

struct ag_log {
	int dirfd;			/* <state>/log, flock()ed */
	struct note_signer *signer;
	struct merkle_hasher *h;
	struct merkle_tree tree;
	uint64_t size;			/* entries appended */
	uint64_t cp_size;		/* newest checkpoint */
	bool have_cp;
	uint64_t rotate;		/* max bytes of an entries file */
	int efd;			/* current entries file, O_APPEND */
	uint64_t efile_bytes;		/* its size including the buffer */
	int lfd;			/* leaves, O_APPEND */
	int cpsfd;			/* checkpoints, O_APPEND */
	uint64_t cps_len;		/* its length */
	char *ebuf;			/* buffered entry lines */
	size_t elen, eoff, ecap;	/* eoff: bytes of ebuf already written */
	uint8_t *lbuf;			/* buffered leaf hashes */
	size_t llen, loff, lcap;
	bool data_dirty;		/* written since the last fdatasync */
	bool dir_dirty;			/* a new file since the last dir fsync */
};

struct entry_file {
	uint64_t first;
	char name[ENTRY_NAME_MAX];
};

static void msg(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void msg(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, LOG_MSG_MAX, fmt, ap);
	va_end(ap);
}

/* ---- small helpers ---------------------------------------------------- */

/* Writes buf[*off..len), advancing *off as bytes go out. */
static int write_from(int fd, const void *buf, size_t *off, size_t len)
{
	while (*off < len) {
		ssize_t w = write(fd, (const char *)buf + *off, len - *off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		*off += w;
	}
	return 0;
}

static ssize_t pread_full(int fd, void *buf, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, off + got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += r;
	}
	return got;
}

static int pwrite_full(int fd, const void *buf, size_t n, off_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = pwrite(fd, (const char *)buf + done, n - done, off + done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += w;
	}
	return 0;
}

/* Parses the {"seq":<n>, every entry begins with; 0 or -1. */
static int parse_seq_prefix(const char *l, size_t len, uint64_t *seq)
{
	static const char pre[] = "{\"seq\":";
	size_t i = sizeof(pre) - 1, start;
	uint64_t v = 0;

	if (len < i + 2 || memcmp(l, pre, i))
		return -1;
	start = i;
	while (i < len && l[i] >= '0' && l[i] <= '9') {
		unsigned d = l[i] - '0';

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		i++;
	}
	if (i == start || i == len || l[i] != ',' ||
	    (l[start] == '0' && i - start > 1))
		return -1;
	*seq = v;
	return 0;
}

static void entry_name(char out[ENTRY_NAME_MAX], uint64_t first)
{
	snprintf(out, ENTRY_NAME_MAX, ENTRY_PREFIX "%012" PRIu64 ENTRY_SUFFIX,
		 first);
}

static int cmp_files(const void *a, const void *b)
{
	const struct entry_file *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* The entry files of dirfd, sorted by first seq; names that are not the
 * canonical entries-<12+ digits>.jsonl are ignored. */
static long list_entry_files(int dirfd, struct entry_file **out)
{
	struct entry_file *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int fd = dup(dirfd);
	DIR *d;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d))) {
		const char *nm = de->d_name;
		size_t len = strlen(nm), pl = strlen(ENTRY_PREFIX), sl = strlen(ENTRY_SUFFIX);
		char canon[ENTRY_NAME_MAX];
		uint64_t first = 0;
		size_t i;

		if (len <= pl + sl || len >= ENTRY_NAME_MAX ||
		    strncmp(nm, ENTRY_PREFIX, pl) || strcmp(nm + len - sl, ENTRY_SUFFIX))
			continue;
		for (i = pl; i < len - sl; i++) {
			unsigned dg = nm[i] - '0';

			if (dg > 9 || first > (UINT64_MAX - dg) / 10)
				break;
			first = first * 10 + dg;
		}
		if (i != len - sl)
			continue;
		entry_name(canon, first);
		if (strcmp(canon, nm))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n].first = first;
		strcpy(v[n].name, nm);
		n++;
	}
	if (errno) {
		int err = -errno;

		free(v);
		closedir(d);
		return err;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_files);
	*out = v;
	return n;
}

long log__entry_files(const char *logdir, char ***names, uint64_t **firsts)
{
	struct entry_file *f = NULL;
	int dirfd = open(logdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;

	if (dirfd < 0)
		return -errno;
	n = list_entry_files(dirfd, &f);
	close(dirfd);
	if (n < 0)
		return n;
	*names = calloc(n + 1, sizeof(char *));
	*firsts = calloc(n + 1, sizeof(uint64_t));
	if (!*names || !*firsts)
		goto nomem;
	for (long i = 0; i < n; i++) {
		(*names)[i] = strdup(f[i].name);
		if (!(*names)[i])
			goto nomem;
		(*firsts)[i] = f[i].first;
	}
	free(f);
	return n;
nomem:
	if (*names)
		for (long i = 0; i < n; i++)
			free((*names)[i]);
	free(*names);
	free(*firsts);
	free(f);
	return -ENOMEM;
}

/* ---- line reader ------------------------------------------------------ */

struct reader {
	int fd;
	char *buf;
	size_t cap, pos, end;
	bool eof;
	uint64_t off;	/* file offset of buf[0] */
};

static int reader__init(struct reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->cap = READ_BUF;
	r->buf = malloc(r->cap);
	return r->buf ? 0 : -ENOMEM;
}

static void reader__reset(struct reader *r, int fd)
{
	r->fd = fd;
	r->pos = r->end = 0;
	r->off = 0;
	r->eof = false;
}

static void reader__free(struct reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* The next line (without its newline) in *line / *len, at file offset
 * *loff. Returns 1, or 0 at the end, -E2BIG for a line longer than the
 * buffer, -errno on a read error. *complete is false for a final line
 * without newline. */
static int reader__next(struct reader *r, const char **line, size_t *len,
			bool *complete, uint64_t *loff)
{
	size_t scanned = r->pos;

	for (;;) {
		char *nl = memchr(r->buf + scanned, '\n', r->end - scanned);
		ssize_t n;

		if (nl) {
			*line = r->buf + r->pos;
			*len = nl - *line;
			*complete = true;
			*loff = r->off + r->pos;
			r->pos = nl - r->buf + 1;
			return 1;
		}
		if (r->eof) {
			if (r->pos == r->end)
				return 0;
			*line = r->buf + r->pos;
			*len = r->end - r->pos;
			*complete = false;
			*loff = r->off + r->pos;
			r->pos = r->end;
			return 1;
		}
		if (r->pos) {
			memmove(r->buf, r->buf + r->pos, r->end - r->pos);
			r->off += r->pos;
			r->end -= r->pos;
			r->pos = 0;
		}
		scanned = r->end;
		if (r->end == r->cap)
			return -E2BIG;
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			r->eof = true;
		r->end += n;
	}
}

/* ---- keys ------------------------------------------------------------- */

static int read_text_file(int dirfd, const char *name, char *buf, size_t cap,
			  size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread_full(fd, buf, cap, 0);
	close(fd);
	if (n < 0)
		return n;
	if ((size_t)n == cap)
		return -EFBIG;
	*len = n;
	return 0;
}

/* Replaces dirfd/name with text atomically (temp file, fsync, rename, dir
 * fsync). */
static int replace_file(int dirfd, const char *name, const char *text,
			size_t len, mode_t mode)
{
	char tmp[64];
	int fd, err;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    mode);
	if (fd < 0)
		return -errno;
	err = fchmod(fd, mode) ? -errno : 0;
	if (!err)
		err = util__write_all(fd, text, len);
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	if (err) {
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	return fsync(dirfd) ? -errno : 0;
}

static int load_key(struct ag_log *log, const char *keydir,
		    const char *hostname, struct log_open_info *info)
{
	char skey[4096 + 16], vkey_path[4096 + 16], name[NOTE_NAME_MAX + 1];
	char cur[NOTE_KEY_FILE_MAX], *vkey = NULL, *line = NULL;
	size_t curlen = 0;
	int kfd, err;

	snprintf(skey, sizeof(skey), "%s/log.key", keydir);
	snprintf(vkey_path, sizeof(vkey_path), "%s/log.vkey", keydir);
	log->signer = note_signer__load(skey);
	if (!log->signer && errno == ENOENT) {
		if (snprintf(name, sizeof(name), "agentguard/%s", hostname) >=
		    (int)sizeof(name) || !note__valid_name(name)) {
			msg(info->error, "invalid hostname '%s' for the log origin",
			    hostname);
			return -EINVAL;
		}
		log->signer = note_signer__generate(name);
		if (!log->signer) {
			err = -errno;
			msg(info->error, "cannot generate the log key: %s",
			    strerror(errno));
			return err;
		}
		err = note_signer__save(log->signer, skey, vkey_path);
		if (err == -EEXIST) {
			/* another process created it meanwhile: use that one */
			note_signer__free(log->signer);
			log->signer = note_signer__load(skey);
		} else if (err) {
			msg(info->error, "cannot write '%s': %s", skey, strerror(-err));
			return err;
		} else {
			info->created = true;
		}
	}
	if (!log->signer) {
		err = -errno;
		if (errno == EPERM)
			msg(info->error, "cannot use '%s': it must be a regular file "
			    "of this user with mode 0600", skey);
		else
			msg(info->error, "cannot load '%s': %s", skey,
			    errno == EINVAL ? "not a valid private key" : strerror(errno));
		return err;
	}
	snprintf(info->origin, sizeof(info->origin), "%s",
		 note_signer__name(log->signer));
	/* the vkey must match the key: rewrite it if missing or different */
	err = note_signer__vkey(log->signer, &vkey);
	if (err)
		return err;
	if (asprintf(&line, "%s\n", vkey) < 0) {
		free(vkey);
		return -ENOMEM;
	}
	free(vkey);
	kfd = open(keydir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (kfd < 0) {
		err = -errno;
		free(line);
		return err;
	}
	err = read_text_file(kfd, "log.vkey", cur, sizeof(cur), &curlen);
	if (err || curlen != strlen(line) || memcmp(cur, line, curlen)) {
		err = replace_file(kfd, "log.vkey", line, strlen(line), 0644);
		if (err)
			msg(info->error, "cannot write '%s': %s", vkey_path,
			    strerror(-err));
	}
	close(kfd);
	free(line);
	return err;
}

/* ---- recovery: checkpoints ------------------------------------------- */

static bool starts_sig(const char *p, size_t n)
{
	return n >= EM_DASH_SP_LEN && !memcmp(p, EM_DASH_SP, EM_DASH_SP_LEN);
}

/* Start of the line that ends just before offset p (p - 1 is its '\n'),
 * or of the last line if p is the end of a text not ending in '\n'. */
static size_t line_start(const char *b, size_t p)
{
	size_t s = p ? p - 1 : 0;

	while (s > 0 && b[s - 1] != '\n')
		s--;
	return s;
}

/* In b[0..e) (e is 0 or just after a '\n'), the last note that is complete
 * as text: 3 body lines, a blank line, and signature lines, the last of
 * which ends before e. Sets [*s, *ne); whole tells whether b starts at a
 * line boundary. Returns 0 or -1 if there is none. */
static int find_last_note(const char *b, size_t e, bool whole, size_t *s,
			  size_t *ne)
{
	size_t p = e, ls, q;
	int body;

	/* the last signature line */
	for (;;) {
		if (p == 0)
			return -1;
		ls = line_start(b, p);
		if (ls == 0 && !whole)
			return -1;
		if (starts_sig(b + ls, p - ls))
			break;
		p = ls;
	}
	*ne = p;
	/* back over the signature lines */
	q = ls;
	while (q > 0) {
		size_t ps = line_start(b, q);

		if (!starts_sig(b + ps, q - ps))
			break;
		if (ps == 0 && !whole)
			return -1;
		q = ps;
	}
	/* the blank line, then three body lines */
	if (q < 2 || b[q - 1] != '\n' || b[q - 2] != '\n')
		return -1;
	q--;
	for (body = 0; body < 3; body++) {
		if (q == 0)
			return -1;
		q = line_start(b, q);
		if (q == 0 && !whole && body < 3)
			return -1;
	}
	*s = q;
	return 0;
}

static int recover_checkpoints(struct ag_log *log, const struct note_verifier *v,
			       struct checkpoint *cp, struct log_open_info *info)
{
	char *buf = NULL, *win, cur[NOTE_MAX_SIZE + 1], why[NOTE_WHY_MAX];
	size_t curlen = 0, e, s = 0, ne = 0;
	uint64_t off;
	ssize_t n;
	struct stat st;
	bool found = false, whole;
	int err;

	log->cpsfd = openat(log->dirfd, "checkpoints",
			    O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (log->cpsfd < 0 || fstat(log->cpsfd, &st)) {
		err = -errno;
		msg(info->error, "cannot open 'checkpoints': %s", strerror(errno));
		return err;
	}
	off = st.st_size > NOTES_TAIL ? st.st_size - NOTES_TAIL : 0;
	buf = malloc(NOTES_TAIL + 1);
	if (!buf)
		return -ENOMEM;
	/* with the byte before the window, to know if it starts a line */
	n = pread_full(log->cpsfd, buf, st.st_size - off + !!off, off - !!off);
	if (n < 0 || (size_t)n != st.st_size - off + !!off) {
		err = n < 0 ? n : -EIO;
		msg(info->error, "cannot read 'checkpoints': %s", strerror(-err));
		goto out;
	}
	win = buf + !!off;
	whole = off == 0 || buf[0] == '\n';
	n -= !!off;
	/* a partial last line is torn */
	e = n;
	while (e > 0 && win[e - 1] != '\n')
		e--;
	for (int attempt = 0; attempt < 2 && !found; attempt++) {
		if (find_last_note(win, e, whole, &s, &ne)) {
			if (off == 0) {	/* no complete note at all */
				ne = 0;
				break;
			}
			msg(info->error, "'checkpoints' has no complete note in its "
			    "last %d bytes", NOTES_TAIL);
			err = -EUCLEAN;
			goto out;
		}
		err = checkpoint__open(v, win + s, ne - s, cp, why, sizeof(why));
		if (!err) {
			found = true;
			break;
		}
		if (err != -EBADMSG || attempt == 1) {
			/* complete and well-formed but not ours: not a torn
			 * write; keep it as evidence */
			msg(info->error, "'checkpoints': the newest checkpoint does "
			    "not verify: %s", why);
			err = -EUCLEAN;
			goto out;
		}
		e = s;	/* a malformed last note: torn, drop it */
		ne = s;
	}
	if (off + ne < (uint64_t)st.st_size) {
		info->checkpoints_dropped_bytes = st.st_size - (off + ne);
		if (ftruncate(log->cpsfd, off + ne) || fdatasync(log->cpsfd)) {
			err = -errno;
			msg(info->error, "cannot truncate 'checkpoints': %s",
			    strerror(errno));
			goto out;
		}
	}
	log->cps_len = off + ne;

	/* 'checkpoint' must be the newest note */
	err = read_text_file(log->dirfd, "checkpoint", cur, sizeof(cur), &curlen);
	if (err && err != -ENOENT && err != -EFBIG) {
		msg(info->error, "cannot read 'checkpoint': %s", strerror(-err));
		goto out;
	}
	if (found) {
		if (err || curlen != ne - s || memcmp(cur, win + s, curlen)) {
			err = replace_file(log->dirfd, "checkpoint", win + s, ne - s, 0644);
			if (err) {
				msg(info->error, "cannot write 'checkpoint': %s",
				    strerror(-err));
				goto out;
			}
			info->checkpoint_restored = true;
		}
	} else if (!err) {
		/* 'checkpoints' lost its notes but 'checkpoint' has one */
		err = checkpoint__open(v, cur, curlen, cp, why, sizeof(why));
		if (err) {
			msg(info->error, "'checkpoint' does not verify: %s", why);
			err = -EUCLEAN;
			goto out;
		}
		err = util__write_all(log->cpsfd, cur, curlen);
		if (!err && fdatasync(log->cpsfd))
			err = -errno;
		if (err) {
			msg(info->error, "cannot write 'checkpoints': %s", strerror(-err));
			goto out;
		}
		log->cps_len += curlen;
		info->checkpoint_restored = true;
		found = true;
	}
	err = 0;
	log->have_cp = found;
	log->cp_size = found ? cp->size : 0;
out:
	free(buf);
	return err;
}

/* ---- recovery: entries ----------------------------------------------- */

static int open_new_entry_file(struct ag_log *log, uint64_t first)
{
	char name[ENTRY_NAME_MAX];

	entry_name(name, first);
	log->efd = openat(log->dirfd, name, O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
			  O_CLOEXEC | O_NOFOLLOW, 0640);
	if (log->efd < 0)
		return -errno;
	log->efile_bytes = 0;
	log->dir_dirty = true;
	return 0;
}

static int recover_entries(struct ag_log *log, struct entry_file *files,
			   long nfiles, struct log_open_info *info)
{
	struct reader r;
	const char *line;
	size_t len;
	bool complete;
	uint64_t loff, seq, good_end = 0, want;
	struct stat st;
	int err, got;

	if (nfiles == 0) {
		log->size = 0;
		err = open_new_entry_file(log, 0);
		if (err)
			msg(info->error, "cannot create the first entries file: %s",
			    strerror(-err));
		return err;
	}
	log->efd = openat(log->dirfd, files[nfiles - 1].name,
			  O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (log->efd < 0 || fstat(log->efd, &st)) {
		err = -errno;
		msg(info->error, "cannot open '%s': %s", files[nfiles - 1].name,
		    strerror(errno));
		return err;
	}
	err = reader__init(&r, log->efd);
	if (err)
		return err;
	want = files[nfiles - 1].first;
	while ((got = reader__next(&r, &line, &len, &complete, &loff)) > 0) {
		bool ok = complete && len <= LOG_ENTRY_MAX &&
			  !parse_seq_prefix(line, len, &seq) && seq == want &&
			  !memchr(line, '\0', len) &&
			  (want < log->cp_size || !jsonw__validate(line, len));

		if (!ok)
			break;
		want++;
		good_end = loff + len + 1;
	}
	reader__free(&r);
	if (got < 0 && got != -E2BIG) {
		msg(info->error, "cannot read '%s': %s", files[nfiles - 1].name,
		    strerror(-got));
		return got;
	}
	if (good_end < (uint64_t)st.st_size) {
		if (want < log->cp_size) {
			msg(info->error, "entry %" PRIu64 ": invalid, but sealed by the "
			    "newest checkpoint (size %" PRIu64 "): not truncating",
			    want, log->cp_size);
			return -EUCLEAN;
		}
		/* count the lines cut */
		char buf[65536];
		uint64_t o = good_end, lines = 0;
		char last = '\n';

		while (o < (uint64_t)st.st_size) {
			ssize_t n = pread_full(log->efd, buf, sizeof(buf), o);

			if (n <= 0)
				break;
			for (ssize_t i = 0; i < n; i++)
				lines += buf[i] == '\n';
			last = buf[n - 1];
			o += n;
		}
		info->dropped_lines = lines + (last != '\n');
		info->dropped_bytes = st.st_size - good_end;
		if (ftruncate(log->efd, good_end) || fdatasync(log->efd)) {
			err = -errno;
			msg(info->error, "cannot truncate '%s': %s",
			    files[nfiles - 1].name, strerror(errno));
			return err;
		}
	}
	log->size = want;
	log->efile_bytes = good_end;
	if (log->size < log->cp_size) {
		msg(info->error, "the log has %" PRIu64 " entries, fewer than its "
		    "newest checkpoint (size %" PRIu64 ")", log->size, log->cp_size);
		return -EUCLEAN;
	}
	return 0;
}

/* ---- recovery: leaves ------------------------------------------------- */

/* Recomputes leaf hashes of entries [from, n) and makes the leaves store
 * (fd, holding have records) agree with them. */
static int repair_leaves(struct ag_log *log, int fd, struct entry_file *files,
			 long nfiles, uint64_t from, uint64_t n, uint64_t have,
			 struct log_open_info *info)
{
	uint8_t (*calc)[LOG_HASH_SIZE] = NULL, (*disk)[LOG_HASH_SIZE] = NULL;
	struct reader r = { 0 };
	uint64_t k = from, chunk_start = from;
	size_t nc = 0;
	long fi = 0;
	int err = 0;

	if (from >= n)
		return 0;
	calc = malloc(LEAF_CHUNK * LOG_HASH_SIZE);
	disk = malloc(LEAF_CHUNK * LOG_HASH_SIZE);
	err = reader__init(&r, -1);
	if (!calc || !disk || err) {
		err = -ENOMEM;
		goto out;
	}
	while (fi + 1 < nfiles && files[fi + 1].first <= from)
		fi++;
	for (; fi < nfiles && k < n; fi++) {
		int efd = openat(log->dirfd, files[fi].name, O_RDONLY | O_CLOEXEC);
		uint64_t seq = files[fi].first, loff, s;
		const char *line;
		size_t len;
		bool complete;
		int got = 0;

		if (efd < 0) {
			err = -errno;
			msg(info->error, "cannot open '%s': %s", files[fi].name,
			    strerror(errno));
			goto out;
		}
		reader__reset(&r, efd);
		while (k < n && (got = reader__next(&r, &line, &len, &complete, &loff)) > 0) {
			if (seq++ < k)
				continue;
			if (!complete || parse_seq_prefix(line, len, &s) || s != k) {
				close(efd);
				msg(info->error, "entry %" PRIu64 ": no entry with this "
				    "seq in '%s'", k, files[fi].name);
				err = -EUCLEAN;
				goto out;
			}
			err = merkle__leaf_hash(log->h, line, len, calc[nc++]);
			if (err) {
				close(efd);
				goto out;
			}
			k++;
			if (nc == LEAF_CHUNK || k == n) {
				/* compare with what the store has, write the rest */
				size_t old = 0;

				if (chunk_start < have) {
					ssize_t rd;

					old = have - chunk_start < nc ? have - chunk_start : nc;
					rd = pread_full(fd, disk, old * LOG_HASH_SIZE,
							chunk_start * LOG_HASH_SIZE);
					if (rd < 0) {
						err = rd;
						close(efd);
						goto out;
					}
					old = rd / LOG_HASH_SIZE;
				}
				for (size_t i = 0; i < nc; i++)
					if (i >= old || memcmp(disk[i], calc[i], LOG_HASH_SIZE))
						info->leaves_repaired++;
				err = pwrite_full(fd, calc, nc * LOG_HASH_SIZE,
						  chunk_start * LOG_HASH_SIZE);
				if (err) {
					close(efd);
					msg(info->error, "cannot write 'leaves': %s",
					    strerror(-err));
					goto out;
				}
				chunk_start = k;
				nc = 0;
			}
		}
		close(efd);
		if (got < 0) {
			err = got;
			msg(info->error, "cannot read '%s': %s", files[fi].name,
			    strerror(-got));
			goto out;
		}
	}
	if (k < n) {
		msg(info->error, "entry %" PRIu64 ": missing from the entries files", k);
		err = -EUCLEAN;
	}
out:
	reader__free(&r);
	free(calc);
	free(disk);
	return err;
}

/* Builds log->tree from the first n leaf records of fd; *root_ok tells
 * whether the root at the checkpoint's size equals its root. */
static int build_tree(struct ag_log *log, int fd, uint64_t n,
		      const struct checkpoint *cp, bool *root_ok)
{
	uint8_t (*buf)[LOG_HASH_SIZE] = malloc(LEAF_CHUNK * LOG_HASH_SIZE);
	uint8_t root[LOG_HASH_SIZE];
	uint64_t k = 0;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	merkle_tree__init(&log->tree);
	*root_ok = !log->have_cp;
	while (true) {
		size_t want = n - k < LEAF_CHUNK ? n - k : LEAF_CHUNK;
		ssize_t rd;

		if (log->have_cp && log->tree.size == cp->size) {
			err = merkle_tree__root(&log->tree, log->h, root);
			if (err)
				break;
			*root_ok = !memcmp(root, cp->root, LOG_HASH_SIZE);
		}
		if (k == n)
			break;
		rd = pread_full(fd, buf, want * LOG_HASH_SIZE, k * LOG_HASH_SIZE);
		if (rd < 0 || (size_t)rd != want * LOG_HASH_SIZE) {
			err = rd < 0 ? rd : -EIO;
			break;
		}
		for (size_t i = 0; i < want && !err; i++) {
			err = merkle_tree__append(&log->tree, log->h, buf[i]);
			if (!err && log->have_cp && log->tree.size == cp->size &&
			    i + 1 < want) {
				err = merkle_tree__root(&log->tree, log->h, root);
				*root_ok = !memcmp(root, cp->root, LOG_HASH_SIZE);
			}
		}
		if (err)
			break;
		k += want;
	}
	free(buf);
	return err;
}

static int recover_leaves(struct ag_log *log, struct entry_file *files,
			  long nfiles, const struct checkpoint *cp,
			  struct log_open_info *info)
{
	uint64_t n = log->size, have, from;
	struct stat st;
	bool root_ok;
	int fd, err;

	fd = openat(log->dirfd, "leaves", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0640);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		msg(info->error, "cannot open 'leaves': %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	have = st.st_size / LOG_HASH_SIZE;
	if (have > n || st.st_size % LOG_HASH_SIZE) {
		info->leaves_dropped = (have > n ? have - n : 0) +
				       (st.st_size % LOG_HASH_SIZE ? 1 : 0);
		if (have > n)
			have = n;
		if (ftruncate(fd, have * LOG_HASH_SIZE)) {
			err = -errno;
			msg(info->error, "cannot truncate 'leaves': %s", strerror(errno));
			goto out;
		}
	}
	/* records after the newest checkpoint were not necessarily durable:
	 * recompute them, and any the store lacks */
	from = have < log->cp_size ? have : log->cp_size;
	err = repair_leaves(log, fd, files, nfiles, from, n, have, info);
	if (err)
		goto out;
	err = build_tree(log, fd, n, cp, &root_ok);
	if (!err && !root_ok) {
		/* the store disagrees with the checkpoint: rebuild it from the
		 * entries, which are what the checkpoint signed */
		err = repair_leaves(log, fd, files, nfiles, 0, n, n, info);
		if (!err)
			err = build_tree(log, fd, n, cp, &root_ok);
		if (!err && !root_ok) {
			msg(info->error, "the entries do not match the newest "
			    "checkpoint (size %" PRIu64 "): the log was modified",
			    cp->size);
			err = -EUCLEAN;
		}
	}
	if (err) {
		if (!info->error[0])
			msg(info->error, "cannot rebuild the tree: %s", strerror(-err));
		goto out;
	}
	if (fdatasync(fd)) {
		err = -errno;
		goto out;
	}
out:
	close(fd);
	if (err)
		return err;
	log->lfd = openat(log->dirfd, "leaves", O_WRONLY | O_APPEND | O_CLOEXEC |
			  O_NOFOLLOW);
	if (log->lfd < 0) {
		err = -errno;
		msg(info->error, "cannot open 'leaves': %s", strerror(errno));
	}
	return err;
}

/* ---- open / append / commit ------------------------------------------ */

static int mkdir_p1(const char *path, mode_t mode)
{
	if (mkdir(path, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

struct ag_log *log__open(const char *state_dir, const char *hostname,
			 struct log_open_info *info)
{
	struct log_open_info dummy;
	struct note_verifier *v = NULL;
	struct entry_file *files = NULL;
	struct checkpoint cp = { 0 };
	char keydir[4096], logdir[4096], *vkey = NULL;
	struct ag_log *log;
	long nfiles = 0;
	int err;

	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	log = calloc(1, sizeof(*log));
	if (!log) {
		errno = ENOMEM;
		return NULL;
	}
	log->dirfd = log->efd = log->lfd = log->cpsfd = -1;
	log->rotate = LOG_ROTATE_DEFAULT;
	if (snprintf(keydir, sizeof(keydir), "%s/keys", state_dir) >= (int)sizeof(keydir) ||
	    snprintf(logdir, sizeof(logdir), "%s/log", state_dir) >= (int)sizeof(logdir)) {
		msg(info->error, "state directory path too long");
		err = -ENAMETOOLONG;
		goto fail;
	}
	if ((err = mkdir_p1(state_dir, 0755)) || (err = mkdir_p1(keydir, 0755)) ||
	    (err = mkdir_p1(logdir, 0750))) {
		msg(info->error, "cannot create the directories under '%s': %s",
		    state_dir, strerror(-err));
		goto fail;
	}
	log->dirfd = open(logdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (log->dirfd < 0) {
		err = -errno;
		msg(info->error, "cannot open '%s': %s", logdir, strerror(errno));
		goto fail;
	}
	if (flock(log->dirfd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		msg(info->error, "cannot lock '%s': %s", logdir,
		    err == -EBUSY ? "another process writes this log" : strerror(errno));
		goto fail;
	}
	err = load_key(log, keydir, hostname, info);
	if (err)
		goto fail;
	log->h = merkle_hasher__new();
	err = note_signer__vkey(log->signer, &vkey);
	if (!log->h || err) {
		err = -ENOMEM;
		goto fail;
	}
	v = note_verifier__parse(vkey, strlen(vkey));
	if (!v) {
		err = -errno;
		goto fail;
	}
	err = recover_checkpoints(log, v, &cp, info);
	if (err)
		goto fail;
	nfiles = list_entry_files(log->dirfd, &files);
	if (nfiles < 0) {
		err = nfiles;
		msg(info->error, "cannot list '%s': %s", logdir, strerror(-err));
		goto fail;
	}
	err = recover_entries(log, files, nfiles, info);
	if (err)
		goto fail;
	err = recover_leaves(log, files, nfiles, &cp, info);
	if (err)
		goto fail;
	if (log->dir_dirty && fsync(log->dirfd)) {
		err = -errno;
		goto fail;
	}
	log->dir_dirty = false;
	info->entries = log->size;
	info->checkpoint_size = log->cp_size;
	info->unsealed = log->size - log->cp_size;
	free(files);
	free(vkey);
	note_verifier__free(v);
	return log;
fail:
	if (!info->error[0])
		msg(info->error, "cannot open the log: %s", strerror(-err));
	free(files);
	free(vkey);
	note_verifier__free(v);
	log->have_cp = true;	/* no commit from log__close() */
	log->cp_size = log->size;
	log__close(log);
	errno = -err;
	return NULL;
}

int log__set_rotate_bytes(struct ag_log *log, uint64_t bytes)
{
	if (bytes < LOG_ROTATE_MIN)
		return -EINVAL;
	log->rotate = bytes;
	return 0;
}

uint64_t log__size(const struct ag_log *log)
{
	return log->size;
}

uint64_t log__checkpoint_size(const struct ag_log *log)
{
	return log->cp_size;
}

const char *log__origin(const struct ag_log *log)
{
	return note_signer__name(log->signer);
}

/* write() everything buffered (no fsync) */
static int flush(struct ag_log *log)
{
	int err;

	if (log->eoff < log->elen) {
		log->data_dirty = true;
		err = write_from(log->efd, log->ebuf, &log->eoff, log->elen);
		if (err)
			return err;
	}
	if (log->loff < log->llen) {
		log->data_dirty = true;
		err = write_from(log->lfd, log->lbuf, &log->loff, log->llen);
		if (err)
			return err;
	}
	log->elen = log->eoff = 0;
	log->llen = log->loff = 0;
	return 0;
}

static int sync_data(struct ag_log *log)
{
	if (log->data_dirty) {
		if (fdatasync(log->efd) || fdatasync(log->lfd))
			return -errno;
		log->data_dirty = false;
	}
	if (log->dir_dirty) {
		if (fsync(log->dirfd))
			return -errno;
		log->dir_dirty = false;
	}
	return 0;
}

static int rotate(struct ag_log *log)
{
	int err = flush(log), fd = log->efd;

	if (!err)
		err = sync_data(log);
	if (err)
		return err;
	err = open_new_entry_file(log, log->size);
	if (err) {
		log->efd = fd;
		return err;
	}
	close(fd);
	return 0;
}

static int grow(void **buf, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 64 * 1024;
	void *nb;

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

int log__append(struct ag_log *log, const char *entry, size_t len)
{
	uint8_t leaf[LOG_HASH_SIZE];
	uint64_t seq;
	int err;

	if (len == 0 || len > LOG_ENTRY_MAX || parse_seq_prefix(entry, len, &seq) ||
	    seq != log->size || memchr(entry, '\n', len) || memchr(entry, '\0', len))
		return -EINVAL;
	if (log->efile_bytes && log->efile_bytes + len + 1 > log->rotate) {
		err = rotate(log);
		if (err)
			return err;
	}
	if (log->elen - log->eoff + len + 1 > FLUSH_BYTES) {
		err = flush(log);
		if (err)
			return err;
	}
	if (grow((void **)&log->ebuf, &log->ecap, log->elen + len + 1) ||
	    grow((void **)&log->lbuf, &log->lcap, log->llen + LOG_HASH_SIZE))
		return -ENOMEM;
	err = merkle__leaf_hash(log->h, entry, len, leaf);
	if (!err)
		err = merkle_tree__append(&log->tree, log->h, leaf);
	if (err)
		return err;
	memcpy(log->ebuf + log->elen, entry, len);
	log->ebuf[log->elen + len] = '\n';
	log->elen += len + 1;
	memcpy(log->lbuf + log->llen, leaf, LOG_HASH_SIZE);
	log->llen += LOG_HASH_SIZE;
	log->efile_bytes += len + 1;
	log->size++;
	return 0;
}

int log__flush(struct ag_log *log)
{
	return flush(log);
}

int log__root(struct ag_log *log, uint8_t root[LOG_HASH_SIZE])
{
	return merkle_tree__root(&log->tree, log->h, root);
}

int log__commit(struct ag_log *log)
{
	uint8_t root[LOG_HASH_SIZE];
	char *note = NULL;
	size_t len;
	int err;

	err = flush(log);
	if (!err)
		err = sync_data(log);
	if (err || (log->have_cp && log->cp_size == log->size))
		return err;
	err = merkle_tree__root(&log->tree, log->h, root);
	if (!err)
		err = checkpoint__sign(log->signer, log->size, root, &note, &len);
	if (err)
		return err;
	err = util__write_all(log->cpsfd, note, len);
	if (!err && fdatasync(log->cpsfd))
		err = -errno;
	if (err) {
		/* never leave a torn note for the next one to follow */
		if (ftruncate(log->cpsfd, log->cps_len) == 0)
			fdatasync(log->cpsfd);
		free(note);
		return err;
	}
	log->cps_len += len;
	err = replace_file(log->dirfd, "checkpoint", note, len, 0644);
	free(note);
	if (err)
		return err;	/* 'checkpoints' has it: log__open() restores it */
	log->cp_size = log->size;
	log->have_cp = true;
	return 0;
}

void log__close(struct ag_log *log)
{
	if (!log)
		return;
	if (log->efd >= 0 && log->lfd >= 0 && log->cpsfd >= 0)
		log__commit(log);
	if (log->efd >= 0)
		close(log->efd);
	if (log->lfd >= 0)
		close(log->lfd);
	if (log->cpsfd >= 0)
		close(log->cpsfd);
	if (log->dirfd >= 0)
		close(log->dirfd);	/* releases the flock */
	note_signer__free(log->signer);
	merkle_hasher__free(log->h);
	free(log->ebuf);
	free(log->lbuf);
	free(log);
}

/* ---- verify ----------------------------------------------------------- */

struct cp_rec {
	uint64_t size;
	uint8_t root[LOG_HASH_SIZE];
	uint64_t k;		/* index in 'checkpoints'; M for 'checkpoint' */
};

struct mapped {
	const char *p;
	size_t len;
};

static int map_file(int dirfd, const char *name, struct mapped *m, bool *exists)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	m->p = NULL;
	m->len = 0;
	*exists = fd >= 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (st.st_size > 0) {
		void *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (p == MAP_FAILED) {
			int err = -errno;

			close(fd);
			return err;
		}
		m->p = p;
		m->len = st.st_size;
	}
	close(fd);
	return 0;
}

static void unmap(struct mapped *m)
{
	if (m->p)
		munmap((void *)m->p, m->len);
}

/* End of the note that starts at pos: after its blank line and the run of
 * signature lines that follows it. */
static size_t next_note_end(const char *b, size_t n, size_t p)
{
	while (p < n) {
		const char *nl = memchr(b + p, '\n', n - p);

		if (!nl)
			return n;
		if (nl == b + p) {
			p++;
			break;
		}
		p = nl - b + 1;
	}
	while (p < n && starts_sig(b + p, n - p)) {
		const char *nl = memchr(b + p, '\n', n - p);

		if (!nl)
			return n;
		p = nl - b + 1;
	}
	return p;
}

/* Whether a note has a complete signature line after a blank line: a
 * prefix of a note being appended never has one. */
static bool has_signature_line(const char *b, size_t n)
{
	for (size_t p = 0; p + 1 < n; p++) {
		if (b[p] == '\n' && b[p + 1] == '\n' &&
		    starts_sig(b + p + 2, n - p - 2) &&
		    memchr(b + p + 2, '\n', n - p - 2))
			return true;
	}
	return false;
}

static int verify_checkpoints(int dirfd, const struct note_verifier *v,
			      struct cp_rec **out, size_t *nout,
			      struct log_verify_result *res)
{
	struct mapped m, c;
	struct cp_rec *recs = NULL;
	size_t n = 0, cap = 0, pos = 0, last_start = 0, last_end = 0;
	char why[NOTE_WHY_MAX];
	struct checkpoint cp;
	bool exists, cexists;
	int err;

	/* 'checkpoint' before 'checkpoints': the daemon appends to the latter
	 * first, so a copy read first is always in the list read second */
	err = map_file(dirfd, "checkpoint", &c, &cexists);
	if (err) {
		msg(res->error, "cannot read 'checkpoint': %s", strerror(-err));
		return err;
	}
	err = map_file(dirfd, "checkpoints", &m, &exists);
	if (err) {
		msg(res->error, "cannot read 'checkpoints': %s", strerror(-err));
		unmap(&c);
		return err;
	}
	while (pos < m.len) {
		size_t end = next_note_end(m.p, m.len, pos);

		if (end == m.len && !has_signature_line(m.p + pos, end - pos)) {
			/* an interrupted (or concurrent) append: not a note */
			res->torn_note_bytes = end - pos;
			break;
		}
		err = checkpoint__open(v, m.p + pos, end - pos, &cp, why, sizeof(why));
		if (err == -ENOMEM || err == -EIO) {
			msg(res->error, "cannot check checkpoint %zu: %s", n,
			    strerror(-err));
			goto out;
		}
		if (err) {
			msg(res->error, "checkpoint %zu: %s", n, why);
			err = -EBADMSG;
			goto out;
		}
		if (n && cp.size < recs[n - 1].size) {
			msg(res->error, "checkpoint %zu: size %" PRIu64 " is smaller "
			    "than the size %" PRIu64 " of checkpoint %zu", n, cp.size,
			    recs[n - 1].size, n - 1);
			err = -EBADMSG;
			goto out;
		}
		if (n == cap) {
			struct cp_rec *nr;

			cap = cap ? cap * 2 : 64;
			nr = realloc(recs, (cap + 1) * sizeof(*recs));
			if (!nr) {
				err = -ENOMEM;
				goto out;
			}
			recs = nr;
		}
		recs[n].size = cp.size;
		memcpy(recs[n].root, cp.root, LOG_HASH_SIZE);
		recs[n].k = n;
		n++;
		last_start = pos;
		last_end = end;
		pos = end;
	}
	res->checkpoints = n;
	/* 'checkpoint' is the newest note, or right after a crash the one
	 * before it: either way it must be one of 'checkpoints' */
	if (cexists && !(n && c.len == last_end - last_start &&
			 !memcmp(c.p, m.p + last_start, c.len))) {
		bool found = false;

		err = checkpoint__open(v, c.p ? c.p : "", c.len, &cp, why, sizeof(why));
		if (err == -ENOMEM || err == -EIO) {
			msg(res->error, "cannot check 'checkpoint': %s", strerror(-err));
		} else if (err) {
			msg(res->error, "checkpoint %zu: file 'checkpoint': %s", n, why);
			err = -EBADMSG;
		} else {
			for (size_t i = 0; i < n && !found; i++)
				found = recs[i].size == cp.size &&
					!memcmp(recs[i].root, cp.root, LOG_HASH_SIZE);
			if (!found) {
				msg(res->error, "checkpoint %zu: file 'checkpoint' (size %"
				    PRIu64 ") is not in 'checkpoints'", n, cp.size);
				err = -EBADMSG;
			}
		}
	}
out:
	unmap(&c);
	unmap(&m);
	if (err) {
		free(recs);
		return err;
	}
	*out = recs;
	*nout = n;
	return 0;
}

static void fail(struct log_verify_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct log_verify_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
}

struct verifier_state {
	struct log_verify_result *res;
	struct merkle_hasher *h;
	struct merkle_tree tree;
	const struct cp_rec *cps;
	size_t ncps, next_cp;		/* next checkpoint to compare */
	const uint8_t *leaves;		/* the leaves store, mapped */
	uint64_t nleaves;
	uint64_t sealed;		/* size of the newest checkpoint */
	uint64_t mismatch;		/* first leaf mismatch, or UINT64_MAX */
};

/* Compares the roots of every checkpoint whose size is the tree's size. */
static int check_roots(struct verifier_state *vs)
{
	uint8_t root[LOG_HASH_SIZE];
	int err;

	while (vs->next_cp < vs->ncps && vs->cps[vs->next_cp].size == vs->tree.size) {
		const struct cp_rec *c = &vs->cps[vs->next_cp++];
		bool ok;

		err = merkle_tree__root(&vs->tree, vs->h, root);
		if (err)
			return err;
		ok = !memcmp(root, c->root, LOG_HASH_SIZE);
		if (vs->mismatch != UINT64_MAX) {
			/* the leaves store and an entry disagree: the signed
			 * root tells which one was changed */
			if (ok)
				fail(vs->res, "entry %" PRIu64 ": the leaves store "
				     "record differs, but the entry matches checkpoint %"
				     PRIu64 " (the leaves store was modified)",
				     vs->mismatch, c->k);
			else
				fail(vs->res, "entry %" PRIu64 ": modified (its hash "
				     "differs from the leaves store and checkpoint %"
				     PRIu64 " does not match)", vs->mismatch, c->k);
			return -EBADMSG;
		}
		if (!ok) {
			fail(vs->res, "checkpoint %" PRIu64 ": root does not match "
			     "the entries at size %" PRIu64, c->k, c->size);
			return -EBADMSG;
		}
	}
	return 0;
}

static int pending_mismatch(struct verifier_state *vs)
{
	if (vs->mismatch == UINT64_MAX)
		return 0;
	fail(vs->res, "entry %" PRIu64 ": modified, or its leaves store record "
	     "was (the two differ)", vs->mismatch);
	return -EBADMSG;
}

static int verify_line(struct verifier_state *vs, uint64_t i, const char *line,
		       size_t len)
{
	uint8_t leaf[LOG_HASH_SIZE];
	uint64_t seq;
	int err;

	if (len > LOG_ENTRY_MAX) {
		if (!pending_mismatch(vs))
			fail(vs->res, "entry %" PRIu64 ": longer than %d bytes", i,
			     LOG_ENTRY_MAX);
		return -EBADMSG;
	}
	if (jsonw__validate(line, len)) {
		if (!pending_mismatch(vs))
			fail(vs->res, "entry %" PRIu64 ": not a valid JSON object", i);
		return -EBADMSG;
	}
	if (parse_seq_prefix(line, len, &seq)) {
		if (!pending_mismatch(vs))
			fail(vs->res, "entry %" PRIu64 ": does not begin with "
			     "{\"seq\":%" PRIu64 ",", i, i);
		return -EBADMSG;
	}
	if (seq != i) {
		if (!pending_mismatch(vs))
			fail(vs->res, "entry %" PRIu64 ": has seq %" PRIu64 " (a line "
			     "was deleted, inserted or moved)", i, seq);
		return -EBADMSG;
	}
	err = merkle__leaf_hash(vs->h, line, len, leaf);
	if (err)
		return err;
	if (i < vs->nleaves) {
		if (vs->mismatch == UINT64_MAX &&
		    memcmp(leaf, vs->leaves + i * LOG_HASH_SIZE, LOG_HASH_SIZE))
			vs->mismatch = i;
	} else if (i < vs->sealed) {
		if (!pending_mismatch(vs))
			fail(vs->res, "entry %" PRIu64 ": missing from the leaves "
			     "store (%" PRIu64 " records)", i, vs->nleaves);
		return -EBADMSG;
	}
	err = merkle_tree__append(&vs->tree, vs->h, leaf);
	if (err)
		return err;
	return check_roots(vs);
}

int log__verify(const char *logdir, const char *vkey_text,
		struct log_verify_result *res)
{
	struct verifier_state vs = { .res = res, .mismatch = UINT64_MAX };
	struct note_verifier *v = NULL;
	struct entry_file *files = NULL;
	struct cp_rec *cps = NULL;
	struct mapped lv = { 0 };
	struct reader r = { 0 };
	size_t ncps = 0;
	long nfiles = 0;
	uint64_t i = 0;
	bool exists;
	int dirfd, err;

	memset(res, 0, sizeof(*res));
	merkle__empty_root(res->newest_root);
	v = note_verifier__parse(vkey_text, strlen(vkey_text));
	if (!v) {
		msg(res->error, "invalid verifier key");
		return -EINVAL;
	}
	dirfd = open(logdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		err = -errno;
		msg(res->error, "cannot open '%s': %s", logdir, strerror(errno));
		note_verifier__free(v);
		return err;
	}
	vs.h = merkle_hasher__new();
	if (!vs.h || reader__init(&r, -1)) {
		err = -ENOMEM;
		goto out;
	}
	/* Read in the reverse of the order the daemon writes (entries, then
	 * leaves, then checkpoints): whatever a checkpoint read here covers
	 * is in the leaves read next, and whatever those cover is in the
	 * entries read last. So verify is exact while the daemon runs. */
	err = verify_checkpoints(dirfd, v, &cps, &ncps, res);
	if (err)
		goto out;
	err = map_file(dirfd, "leaves", &lv, &exists);
	if (err) {
		msg(res->error, "cannot read 'leaves': %s", strerror(-err));
		goto out;
	}
	vs.leaves = (const uint8_t *)lv.p;
	vs.nleaves = lv.len / LOG_HASH_SIZE;
	vs.cps = cps;
	vs.ncps = ncps;
	if (ncps) {
		res->have_checkpoint = true;
		res->newest_size = cps[ncps - 1].size;
		memcpy(res->newest_root, cps[ncps - 1].root, LOG_HASH_SIZE);
		vs.sealed = res->newest_size;
	}
	merkle_tree__init(&vs.tree);
	err = check_roots(&vs);		/* checkpoints of size 0 */
	if (err)
		goto out;
	nfiles = list_entry_files(dirfd, &files);
	if (nfiles < 0) {
		err = nfiles;
		msg(res->error, "cannot list '%s': %s", logdir, strerror(-err));
		goto out;
	}
	for (long f = 0; f < nfiles; f++) {
		const char *line;
		size_t len;
		bool complete;
		uint64_t loff;
		int fd, got;

		if (files[f].first != i) {
			if (!(err = pending_mismatch(&vs)))
				fail(res, "entry %" PRIu64 ": file '%s' starts at seq %"
				     PRIu64 " (an entries file is missing or renamed)",
				     i, files[f].name, files[f].first);
			err = -EBADMSG;
			goto out;
		}
		fd = openat(dirfd, files[f].name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			msg(res->error, "cannot open '%s': %s", files[f].name,
			    strerror(errno));
			goto out;
		}
		reader__reset(&r, fd);
		while ((got = reader__next(&r, &line, &len, &complete, &loff)) > 0) {
			if (!complete) {
				if (f == nfiles - 1) {	/* an interrupted write */
					res->torn_bytes = len;
					break;
				}
				if (!pending_mismatch(&vs))
					fail(res, "entry %" PRIu64 ": no newline at the end "
					     "of '%s'", i, files[f].name);
				got = -EBADMSG;
				break;
			}
			err = verify_line(&vs, i, line, len);
			if (err) {
				got = err;
				break;
			}
			i++;
		}
		close(fd);
		if (got == -E2BIG) {
			if (!pending_mismatch(&vs))
				fail(res, "entry %" PRIu64 ": longer than %d bytes", i,
				     LOG_ENTRY_MAX);
			got = -EBADMSG;
		}
		if (got < 0) {
			err = got;
			if (err != -EBADMSG && !res->error[0])
				msg(res->error, "cannot read '%s': %s", files[f].name,
				    strerror(-err));
			goto out;
		}
	}
	res->entries = i;
	err = pending_mismatch(&vs);
	if (err)
		goto out;
	if (vs.next_cp < ncps) {
		fail(res, "checkpoint %" PRIu64 ": size %" PRIu64 " is larger than "
		     "the log (%" PRIu64 " entries)", cps[vs.next_cp].k,
		     cps[vs.next_cp].size, i);
		err = -EBADMSG;
		goto out;
	}
	if (vs.nleaves > i) {
		fail(res, "entry %" PRIu64 ": missing (the leaves store has %" PRIu64
		     " records)", i, vs.nleaves);
		err = -EBADMSG;
		goto out;
	}
	res->unsealed = i - res->newest_size;
out:
	reader__free(&r);
	unmap(&lv);
	close(dirfd);
	free(files);
	free(cps);
	merkle_hasher__free(vs.h);
	note_verifier__free(v);
	if (err && !res->error[0])
		msg(res->error, "cannot verify the log: %s", strerror(-err));
	return err;
}
