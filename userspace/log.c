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

#include <jansson.h>

#include "jsonw.h"
#include "merkle.h"
#include "note.h"
#include "util.h"

#define ENTRY_PREFIX	"entries-"
#define ENTRY_SUFFIX	".jsonl"
#define ENTRY_NAME_MAX	48
#define NODE_NAME_MAX	32
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
	/* node store: nodes-<L> for L = LOG_NODE_STRIDE * (k + 1) */
	int nfd[LOG_NODE_FILES];	/* O_APPEND; -1 until its first node */
	uint8_t *nbuf[LOG_NODE_FILES];	/* buffered node hashes */
	size_t nlen[LOG_NODE_FILES], noff[LOG_NODE_FILES], ncap[LOG_NODE_FILES];
	uint32_t ndirty;		/* bit k: nodes-<L> written since its fdatasync */
	/* retention */
	uint64_t nfiles;		/* entry files */
	uint64_t keep_files;		/* at most this many (0: all) */
	int archfd;			/* archive directory, or -1: delete */
};

struct entry_file {
	uint64_t first;
	char name[ENTRY_NAME_MAX];
};

static void node_name(char out[NODE_NAME_MAX], int k)
{
	snprintf(out, NODE_NAME_MAX, "nodes-%02d", LOG_NODE_STRIDE * (k + 1));
}

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
	m->p = NULL;
	m->len = 0;
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

/* What build_tree found in the node store: per nodes file, the first
 * record that is missing or differs from the tree (UINT64_MAX: none). */
struct node_check {
	struct mapped m[LOG_NODE_FILES];
	uint64_t first_bad[LOG_NODE_FILES];
};

static void node_check__note(struct node_check *nc, uint64_t size,
			     uint8_t nodes[][LOG_HASH_SIZE], int done)
{
	for (int k = 0; k < LOG_NODE_FILES && LOG_NODE_STRIDE * (k + 1) <= done; k++) {
		int lv = LOG_NODE_STRIDE * (k + 1);
		uint64_t i = (size >> lv) - 1;

		if (nc->first_bad[k] != UINT64_MAX)
			continue;
		if (i >= nc->m[k].len / LOG_HASH_SIZE ||
		    memcmp(nc->m[k].p + i * LOG_HASH_SIZE, nodes[lv - 1], LOG_HASH_SIZE))
			nc->first_bad[k] = i;
	}
}

/* Builds log->tree from the first n leaf records of fd; *root_ok tells
 * whether the root at the checkpoint's size equals its root. Compares the
 * node store with the tree on the way (nc). */
static int build_tree(struct ag_log *log, int fd, uint64_t n,
		      const struct checkpoint *cp, bool *root_ok,
		      struct node_check *nc)
{
	uint8_t (*buf)[LOG_HASH_SIZE] = malloc(LEAF_CHUNK * LOG_HASH_SIZE);
	uint8_t root[LOG_HASH_SIZE], nodes[MERKLE_MAX_LEVELS][LOG_HASH_SIZE];
	uint64_t k = 0;
	int err = 0, done;

	if (!buf)
		return -ENOMEM;
	for (int f = 0; f < LOG_NODE_FILES; f++)
		nc->first_bad[f] = UINT64_MAX;
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
			err = merkle_tree__append_nodes(&log->tree, log->h, buf[i],
							nodes, &done);
			if (err)
				break;
			if (done >= LOG_NODE_STRIDE)
				node_check__note(nc, log->tree.size, nodes, done);
			if (log->have_cp && log->tree.size == cp->size &&
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

/* Rewrites records [from, want) of node file k from the level below it
 * (the leaves for k = 0): each is the root of 2^LOG_NODE_STRIDE records. */
static int regen_nodes(struct merkle_hasher *h, int src, int dst, uint64_t from,
		       uint64_t want)
{
	enum { OUT = 256, FAN = 1 << LOG_NODE_STRIDE };
	uint8_t (*in)[LOG_HASH_SIZE] = malloc(OUT * FAN * LOG_HASH_SIZE);
	uint8_t (*out)[LOG_HASH_SIZE] = malloc(OUT * LOG_HASH_SIZE);
	int err = 0;

	if (!in || !out) {
		err = -ENOMEM;
		goto out;
	}
	for (uint64_t i = from; i < want && !err; ) {
		uint64_t c = want - i < OUT ? want - i : OUT;
		ssize_t rd = pread_full(src, in, c * FAN * LOG_HASH_SIZE,
					i * FAN * LOG_HASH_SIZE);

		if (rd < 0 || (size_t)rd != c * FAN * LOG_HASH_SIZE) {
			err = rd < 0 ? rd : -EIO;
			break;
		}
		for (uint64_t j = 0; j < c && !err; j++) {
			uint8_t (*v)[LOG_HASH_SIZE] = in + j * FAN;

			for (int w = FAN; w > 1 && !err; w /= 2)
				for (int x = 0; x < w / 2 && !err; x++)
					err = merkle__node_hash(h, v[2 * x], v[2 * x + 1], v[x]);
			memcpy(out[j], v[0], LOG_HASH_SIZE);
		}
		if (!err)
			err = pwrite_full(dst, out, c * LOG_HASH_SIZE, i * LOG_HASH_SIZE);
		i += c;
	}
out:
	free(in);
	free(out);
	return err;
}

/* Makes every node file agree with the n leaves (the tree being right):
 * records from the first bad one on are recomputed from the level below,
 * records past the tree removed. Then opens them for appending. */
static int recover_nodes(struct ag_log *log, uint64_t n, struct node_check *nc,
			 struct log_open_info *info)
{
	int src = openat(log->dirfd, "leaves", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int err = 0;

	if (src < 0) {
		err = -errno;
		msg(info->error, "cannot open 'leaves': %s", strerror(errno));
		return err;
	}
	for (int k = 0; k < LOG_NODE_FILES; k++) {
		uint64_t want = n >> (LOG_NODE_STRIDE * (k + 1)), from;
		char name[NODE_NAME_MAX];
		struct stat st;
		int fd;

		unmap(&nc->m[k]);
		node_name(name, k);
		fd = openat(log->dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW |
			    (want ? O_CREAT : 0), 0640);
		if (fd < 0 && errno == ENOENT)
			break;		/* no node this high: none higher */
		if (fd < 0 || fstat(fd, &st)) {
			err = -errno;
			msg(info->error, "cannot open '%s': %s", name, strerror(errno));
			if (fd >= 0)
				close(fd);
			break;
		}
		from = nc->first_bad[k] < want ? nc->first_bad[k] : want;
		if (from < want) {
			err = regen_nodes(log->h, src, fd, from, want);
			info->nodes_repaired += want - from;
		}
		if (!err && (uint64_t)st.st_size != want * LOG_HASH_SIZE &&
		    ftruncate(fd, want * LOG_HASH_SIZE))
			err = -errno;
		if (!err && (from < want || (uint64_t)st.st_size != want * LOG_HASH_SIZE) &&
		    fdatasync(fd))
			err = -errno;
		if (err) {
			msg(info->error, "cannot repair '%s': %s", name, strerror(-err));
			close(fd);
			break;
		}
		close(src);
		src = fd;	/* the source of the next level */
		if (want) {
			log->nfd[k] = openat(log->dirfd, name, O_WRONLY | O_APPEND |
					     O_CLOEXEC | O_NOFOLLOW);
			if (log->nfd[k] < 0) {
				err = -errno;
				msg(info->error, "cannot open '%s': %s", name, strerror(errno));
				break;
			}
		}
	}
	close(src);
	return err;
}

static int recover_leaves(struct ag_log *log, struct entry_file *files,
			  long nfiles, const struct checkpoint *cp,
			  struct log_open_info *info)
{
	uint64_t n = log->size, have, from;
	struct node_check nc = { 0 };
	struct stat st;
	bool root_ok, exists;
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
	for (int k = 0; k < LOG_NODE_FILES && !err; k++) {
		char name[NODE_NAME_MAX];

		node_name(name, k);
		err = map_file(log->dirfd, name, &nc.m[k], &exists);
	}
	if (!err)
		err = build_tree(log, fd, n, cp, &root_ok, &nc);
	if (!err && !root_ok) {
		/* the store disagrees with the checkpoint: rebuild it from the
		 * entries, which are what the checkpoint signed */
		err = repair_leaves(log, fd, files, nfiles, 0, n, n, info);
		if (!err)
			err = build_tree(log, fd, n, cp, &root_ok, &nc);
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
	err = recover_nodes(log, n, &nc, info);
out:
	for (int k = 0; k < LOG_NODE_FILES; k++)
		unmap(&nc.m[k]);
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
	log->dirfd = log->efd = log->lfd = log->cpsfd = log->archfd = -1;
	for (int k = 0; k < LOG_NODE_FILES; k++)
		log->nfd[k] = -1;
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
	log->nfiles = nfiles ? nfiles : 1;
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
	/* the node store after the leaves: a reader that sees a checkpoint
	 * finds every node below its size */
	for (int k = 0; k < LOG_NODE_FILES; k++) {
		if (log->noff[k] == log->nlen[k])
			continue;
		if (log->nfd[k] < 0) {
			char name[NODE_NAME_MAX];

			node_name(name, k);
			log->nfd[k] = openat(log->dirfd, name, O_WRONLY | O_APPEND |
					     O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
			if (log->nfd[k] < 0)
				return -errno;
			log->dir_dirty = true;
		}
		log->ndirty |= 1u << k;
		err = write_from(log->nfd[k], log->nbuf[k], &log->noff[k], log->nlen[k]);
		if (err)
			return err;
		log->nlen[k] = log->noff[k] = 0;
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
	for (int k = 0; k < LOG_NODE_FILES; k++) {
		if (!(log->ndirty & 1u << k))
			continue;
		if (fdatasync(log->nfd[k]))
			return -errno;
		log->ndirty &= ~(1u << k);
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
	log->nfiles++;
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
	uint8_t leaf[LOG_HASH_SIZE], nodes[MERKLE_MAX_LEVELS][LOG_HASH_SIZE];
	uint64_t seq;
	int err, nn, done;

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
	/* the new leaf completes the subtrees of heights 1..ctz(size + 1) */
	nn = log->size == UINT64_MAX ? 0 : __builtin_ctzll(log->size + 1);
	for (int k = 0; k < LOG_NODE_FILES && LOG_NODE_STRIDE * (k + 1) <= nn; k++)
		if (grow((void **)&log->nbuf[k], &log->ncap[k], log->nlen[k] + LOG_HASH_SIZE))
			return -ENOMEM;
	err = merkle__leaf_hash(log->h, entry, len, leaf);
	if (!err)
		err = merkle_tree__append_nodes(&log->tree, log->h, leaf, nodes, &done);
	if (err)
		return err;
	for (int k = 0; k < LOG_NODE_FILES && LOG_NODE_STRIDE * (k + 1) <= done; k++) {
		memcpy(log->nbuf[k] + log->nlen[k], nodes[LOG_NODE_STRIDE * (k + 1) - 1],
		       LOG_HASH_SIZE);
		log->nlen[k] += LOG_HASH_SIZE;
	}
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
	for (int k = 0; k < LOG_NODE_FILES; k++) {
		if (log->nfd[k] >= 0)
			close(log->nfd[k]);
		free(log->nbuf[k]);
	}
	if (log->archfd >= 0)
		close(log->archfd);
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
	struct mapped nodes[LOG_NODE_FILES];	/* the node store */
	int node_bad;			/* first file with a wrong record, or -1 */
	uint64_t node_bad_rec;		/* that record */
	uint64_t retained_end;		/* sealed log.retention entries cover
					 * entries [0, retained_end) */
	const struct checkpoint *since;	/* a trusted checkpoint, or NULL */
	bool since_seen;		/* its size was reached */
};

/* Whether line (sealed) is a log.retention entry; *end its end_seq. */
static bool retention_record(const char *line, size_t len, uint64_t *end)
{
	json_t *o, *r, *e, *t;
	bool ok = false;

	if (!memmem(line, len, "\"log.retention\"", 15))
		return false;
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	t = json_object_get(o, "type");
	r = json_object_get(o, "retention");
	e = json_object_get(r, "end_seq");
	if (json_is_string(t) && !strcmp(json_string_value(t), "log.retention") &&
	    json_is_integer(e) && json_integer_value(e) >= 0) {
		*end = json_integer_value(e);
		ok = true;
	}
	json_decref(o);
	return ok;
}

static int pending_mismatch(struct verifier_state *vs);

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
	if (vs->since && !vs->since_seen && vs->since->size == vs->tree.size) {
		vs->since_seen = true;
		err = merkle_tree__root(&vs->tree, vs->h, root);
		if (err)
			return err;
		if (memcmp(root, vs->since->root, LOG_HASH_SIZE)) {
			if (!pending_mismatch(vs))
				fail(vs->res, "trusted checkpoint: its root differs "
				     "from the log's at size %" PRIu64 " (the log was "
				     "rewritten: it forks from the trusted checkpoint)",
				     vs->since->size);
			return -EBADMSG;
		}
	}
	return 0;
}

/* Adds a leaf hash to the tree: compares the nodes it completes with the
 * node store, and the roots at checkpoint sizes. */
static int tree_add(struct verifier_state *vs, const uint8_t leaf[LOG_HASH_SIZE])
{
	uint8_t nodes[MERKLE_MAX_LEVELS][LOG_HASH_SIZE];
	int done, err;

	err = merkle_tree__append_nodes(&vs->tree, vs->h, leaf, nodes, &done);
	if (err)
		return err;
	for (int k = 0; vs->node_bad < 0 && k < LOG_NODE_FILES &&
	     LOG_NODE_STRIDE * (k + 1) <= done; k++) {
		int lv = LOG_NODE_STRIDE * (k + 1);
		uint64_t i = (vs->tree.size >> lv) - 1;

		if (i < vs->nodes[k].len / LOG_HASH_SIZE &&
		    memcmp(vs->nodes[k].p + i * LOG_HASH_SIZE, nodes[lv - 1],
			   LOG_HASH_SIZE)) {
			vs->node_bad = k;
			vs->node_bad_rec = i;
		}
	}
	return check_roots(vs);
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
	if (i < vs->sealed && retention_record(line, len, &seq) &&
	    seq > vs->retained_end) {
		vs->retained_end = seq;
		vs->res->retention_entry = i;
	}
	return tree_add(vs, leaf);
}

/* The consistency proof from the trusted checkpoint to the newest one,
 * from the leaves and node stores, checked. */
static int check_since_proof(const char *logdir, struct verifier_state *vs)
{
	uint8_t path[MERKLE_PROOF_MAX][LOG_HASH_SIZE];
	struct log_verify_result *res = vs->res;
	struct log_tree *t;
	size_t n = 0;
	int err;

	res->since_size = vs->since->size;
	if (vs->since->size == 0)
		return 0;	/* the empty tree is a prefix of every tree */
	t = log_tree__open(logdir, 0);
	if (!t) {
		err = -errno;
		msg(res->error, "cannot read the leaves store: %s", strerror(errno));
		return err;
	}
	err = log_tree__consistency(t, vs->since->size, res->newest_size, path, &n);
	if (!err)
		err = merkle__check_consistency(vs->h, vs->since->size, res->newest_size,
						vs->since->root, res->newest_root,
						path, n);
	log_tree__free(t);
	if (err == -EBADMSG) {
		fail(res, "trusted checkpoint: the consistency proof from size %"
		     PRIu64 " to %" PRIu64 " does not check", vs->since->size,
		     res->newest_size);
	} else if (err) {
		msg(res->error, "cannot compute the consistency proof: %s",
		    strerror(-err));
	}
	res->since_proof = n;
	return err;
}

int log__verify(const char *logdir, const char *vkey_text,
		struct log_verify_result *res)
{
	return log__verify_since(logdir, vkey_text, NULL, res);
}

int log__verify_since(const char *logdir, const char *vkey_text,
		      const struct checkpoint *since,
		      struct log_verify_result *res)
{
	struct verifier_state vs = { .res = res, .mismatch = UINT64_MAX,
				     .node_bad = -1, .since = since };
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
	for (int k = 0; k < LOG_NODE_FILES; k++) {
		char name[NODE_NAME_MAX];

		node_name(name, k);
		err = map_file(dirfd, name, &vs.nodes[k], &exists);
		if (err) {
			msg(res->error, "cannot read '%s': %s", name, strerror(-err));
			goto out;
		}
	}
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

		if (f == 0 && files[0].first > 0) {
			/* entries removed from the start: their leaf hashes
			 * stand in for them, checked against the checkpoints */
			if (vs.nleaves < files[0].first) {
				fail(res, "entry %" PRIu64 ": missing: the first entries "
				     "file '%s' starts at seq %" PRIu64 " and the leaves "
				     "store has %" PRIu64 " records", vs.nleaves,
				     files[0].name, files[0].first, vs.nleaves);
				err = -EBADMSG;
				goto out;
			}
			for (; i < files[0].first; i++) {
				err = tree_add(&vs, vs.leaves + i * LOG_HASH_SIZE);
				if (err)
					goto out;
			}
			res->removed = i;
		}
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
	if (res->removed > vs.retained_end) {
		if (vs.retained_end)
			fail(res, "entry %" PRIu64 ": missing: entries %" PRIu64 "..%"
			     PRIu64 " were removed, but the log's retention records "
			     "cover only entries 0..%" PRIu64, vs.retained_end,
			     vs.retained_end, res->removed - 1, vs.retained_end - 1);
		else
			fail(res, "entry 0: missing: entries 0..%" PRIu64 " were "
			     "removed, and no sealed log.retention entry says so",
			     res->removed - 1);
		err = -EBADMSG;
		goto out;
	}
	if (vs.node_bad >= 0) {
		char name[NODE_NAME_MAX];

		node_name(name, vs.node_bad);
		fail(res, "%s: record %" PRIu64 " does not match the entries (the "
		     "node store was modified; the daemon rebuilds it at its next "
		     "start)", name, vs.node_bad_rec);
		err = -EBADMSG;
		goto out;
	}
	res->unsealed = i - res->newest_size;
	if (since) {
		if (since->size > res->newest_size) {
			fail(res, "trusted checkpoint: its size %" PRIu64 " is larger "
			     "than the %s (%" PRIu64 "): the log was truncated or "
			     "rolled back", since->size, since->size > i ?
			     "log" : "newest checkpoint", since->size > i ?
			     i : res->newest_size);
			err = -EBADMSG;
			goto out;
		}
		err = check_since_proof(logdir, &vs);
		if (err)
			goto out;
	}
out:
	reader__free(&r);
	unmap(&lv);
	for (int k = 0; k < LOG_NODE_FILES; k++)
		unmap(&vs.nodes[k]);
	close(dirfd);
	free(files);
	free(cps);
	merkle_hasher__free(vs.h);
	note_verifier__free(v);
	if (err && !res->error[0])
		msg(res->error, "cannot verify the log: %s", strerror(-err));
	return err;
}

/* ---- proofs ----------------------------------------------------------- */

struct log_tree {
	int lfd;			/* leaves */
	uint64_t nleaves;
	int nfd[LOG_NODE_FILES];	/* nodes-<LL>, or -1 */
	uint64_t nrec[LOG_NODE_FILES];
	struct merkle_hasher *h;
};

struct log_tree *log_tree__open(const char *logdir, unsigned flags)
{
	struct log_tree *t = calloc(1, sizeof(*t));
	struct stat st;
	int dirfd, err = 0;

	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->lfd = -1;
	for (int k = 0; k < LOG_NODE_FILES; k++)
		t->nfd[k] = -1;
	dirfd = open(logdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		err = errno;
		goto fail;
	}
	t->h = merkle_hasher__new();
	if (!t->h) {
		err = errno;
		goto fail;
	}
	/* leaves first, then nodes: the writer appends in that order, so
	 * every node below the leaves seen here is complete */
	t->lfd = openat(dirfd, "leaves", O_RDONLY | O_CLOEXEC);
	if (t->lfd < 0 || fstat(t->lfd, &st)) {
		err = errno;
		goto fail;
	}
	t->nleaves = st.st_size / LOG_HASH_SIZE;
	for (int k = 0; k < LOG_NODE_FILES && !(flags & LOG_TREE_NO_NODES); k++) {
		char name[NODE_NAME_MAX];

		node_name(name, k);
		t->nfd[k] = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
		if (t->nfd[k] < 0) {
			if (errno != ENOENT) {
				err = errno;
				goto fail;
			}
			break;
		}
		if (fstat(t->nfd[k], &st)) {
			err = errno;
			goto fail;
		}
		t->nrec[k] = st.st_size / LOG_HASH_SIZE;
		/* never more than the leaves seen imply */
		if (t->nrec[k] > t->nleaves >> (LOG_NODE_STRIDE * (k + 1)))
			t->nrec[k] = t->nleaves >> (LOG_NODE_STRIDE * (k + 1));
	}
	close(dirfd);
	return t;
fail:
	if (dirfd >= 0)
		close(dirfd);
	log_tree__free(t);
	errno = err;
	return NULL;
}

void log_tree__free(struct log_tree *t)
{
	if (!t)
		return;
	if (t->lfd >= 0)
		close(t->lfd);
	for (int k = 0; k < LOG_NODE_FILES; k++)
		if (t->nfd[k] >= 0)
			close(t->nfd[k]);
	merkle_hasher__free(t->h);
	free(t);
}

uint64_t log_tree__size(const struct log_tree *t)
{
	return t->nleaves;
}

int log_tree__leaf(struct log_tree *t, uint64_t index, uint8_t out[LOG_HASH_SIZE])
{
	ssize_t rd;

	if (index >= t->nleaves)
		return -ERANGE;
	rd = pread_full(t->lfd, out, LOG_HASH_SIZE, index * LOG_HASH_SIZE);
	if (rd < 0)
		return rd;
	return rd == LOG_HASH_SIZE ? 0 : -EIO;
}

/* The root of the perfect subtree over records [first, first + cnt) of fd
 * (cnt a power of two). */
static int fold_records(struct log_tree *t, int fd, uint64_t first, uint64_t cnt,
			uint8_t out[LOG_HASH_SIZE])
{
	uint8_t small[64][LOG_HASH_SIZE], (*buf)[LOG_HASH_SIZE];
	struct merkle_tree mt;
	uint64_t done = 0;
	ssize_t rd;
	int err = 0;

	if (cnt <= 64) {
		rd = pread_full(fd, small, cnt * LOG_HASH_SIZE, first * LOG_HASH_SIZE);
		if (rd < 0)
			return rd;
		if ((uint64_t)rd != cnt * LOG_HASH_SIZE)
			return -EIO;
		for (uint64_t w = cnt; w > 1 && !err; w /= 2)
			for (uint64_t x = 0; x < w / 2 && !err; x++)
				err = merkle__node_hash(t->h, small[2 * x], small[2 * x + 1],
							small[x]);
		memcpy(out, small[0], LOG_HASH_SIZE);
		return err;
	}
	/* the slow way (a node store that lacks a level): stream */
	buf = malloc(LEAF_CHUNK * LOG_HASH_SIZE);
	if (!buf)
		return -ENOMEM;
	merkle_tree__init(&mt);
	while (done < cnt && !err) {
		uint64_t c = cnt - done < LEAF_CHUNK ? cnt - done : LEAF_CHUNK;

		rd = pread_full(fd, buf, c * LOG_HASH_SIZE, (first + done) * LOG_HASH_SIZE);
		if (rd < 0 || (uint64_t)rd != c * LOG_HASH_SIZE) {
			err = rd < 0 ? rd : -EIO;
			break;
		}
		for (uint64_t i = 0; i < c && !err; i++)
			err = merkle_tree__append(&mt, t->h, buf[i]);
		done += c;
	}
	free(buf);
	if (!err)
		err = merkle_tree__root(&mt, t->h, out);
	return err;
}

/* merkle_node_fn over the leaves and node stores: the highest stored
 * level at or below level that has the records, down to the leaves. */
static int tree_node(void *ctx, unsigned level, uint64_t index,
		     uint8_t out[LOG_HASH_SIZE])
{
	struct log_tree *t = ctx;
	int k = (int)(level / LOG_NODE_STRIDE) - 1;

	if (k >= LOG_NODE_FILES)
		k = LOG_NODE_FILES - 1;
	for (; k >= 0; k--) {
		unsigned d = level - LOG_NODE_STRIDE * (k + 1);

		if (t->nfd[k] >= 0 && (index + 1) << d <= t->nrec[k])
			return fold_records(t, t->nfd[k], index << d, 1ULL << d, out);
	}
	if ((index + 1) << level > t->nleaves)
		return -ERANGE;
	return fold_records(t, t->lfd, index << level, 1ULL << level, out);
}

int log_tree__root(struct log_tree *t, uint64_t size, uint8_t out[LOG_HASH_SIZE])
{
	if (size == 0 || size > t->nleaves)
		return -ERANGE;
	return merkle__range_root(t->h, tree_node, t, 0, size, out);
}

int log_tree__inclusion(struct log_tree *t, uint64_t index, uint64_t size,
			uint8_t path[][LOG_HASH_SIZE], size_t *n)
{
	if (index >= size)
		return -EINVAL;
	if (size > t->nleaves)
		return -ERANGE;
	return merkle__inclusion_proof(t->h, tree_node, t, index, size, path, n);
}

int log_tree__consistency(struct log_tree *t, uint64_t m, uint64_t size,
			  uint8_t path[][LOG_HASH_SIZE], size_t *n)
{
	if (m == 0 || m > size)
		return -EINVAL;
	if (size > t->nleaves)
		return -ERANGE;
	return merkle__consistency_proof(t->h, tree_node, t, m, size, path, n);
}

/* The size line of a note at b[0..n): 0 or -1. */
static int note_size(const char *b, size_t n, uint64_t *size)
{
	const char *nl = memchr(b, '\n', n), *e;
	uint64_t v = 0;

	if (!nl)
		return -1;
	e = memchr(nl + 1, '\n', n - (nl + 1 - b));
	if (!e || e == nl + 1 || (nl[1] == '0' && e - nl > 2))
		return -1;
	for (const char *p = nl + 1; p < e; p++) {
		unsigned d = *p - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*size = v;
	return 0;
}

int log__find_checkpoint(const char *logdir, const struct note_verifier *v,
			 uint64_t size, char **note, size_t *len,
			 struct checkpoint *cp)
{
	struct mapped m;
	size_t pos = 0;
	bool exists;
	int dirfd, err;

	dirfd = open(logdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	err = map_file(dirfd, "checkpoints", &m, &exists);
	close(dirfd);
	if (err)
		return err;
	err = -ENOENT;
	while (pos < m.len) {
		size_t end = next_note_end(m.p, m.len, pos);
		uint64_t sz;

		if (!note_size(m.p + pos, end - pos, &sz) && sz == size &&
		    !checkpoint__open(v, m.p + pos, end - pos, cp, NULL, 0)) {
			*note = strndup(m.p + pos, end - pos);
			*len = end - pos;
			err = *note ? 0 : -ENOMEM;
			break;
		}
		pos = end;
	}
	unmap(&m);
	return err;
}

int log__entry(const char *logdir, uint64_t index, char **line, size_t *len)
{
	struct entry_file *files = NULL;
	struct reader r = { 0 };
	const char *l;
	size_t n;
	bool complete;
	uint64_t loff, seq;
	long nfiles, f;
	int dirfd, fd, got = 0, err;

	dirfd = open(logdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	nfiles = list_entry_files(dirfd, &files);
	if (nfiles < 0) {
		close(dirfd);
		return nfiles;
	}
	for (f = nfiles - 1; f >= 0 && files[f].first > index; f--)
		;
	if (f < 0) {
		err = -ENOENT;
		goto out;
	}
	fd = openat(dirfd, files[f].name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = reader__init(&r, fd);
	seq = files[f].first;
	while (!err && (got = reader__next(&r, &l, &n, &complete, &loff)) > 0) {
		if (!complete)
			break;
		if (seq++ < index)
			continue;
		if (parse_seq_prefix(l, n, &seq) || seq != index) {
			err = -EBADMSG;
			break;
		}
		*line = strndup(l, n);
		*len = n;
		err = *line ? 1 : -ENOMEM;
		break;
	}
	if (!err)
		err = got < 0 && got != -E2BIG ? got : -ENOENT;
	if (err == 1)
		err = 0;
	reader__free(&r);
	close(fd);
out:
	free(files);
	close(dirfd);
	return err;
}

/* ---- retention -------------------------------------------------------- */

int log__set_retention(struct ag_log *log, uint64_t keep_files,
		       const char *archive_dir)
{
	int fd = -1;

	if (archive_dir && archive_dir[0]) {
		if (!keep_files)
			return -EINVAL;
		if (mkdir(archive_dir, 0750) && errno != EEXIST)
			return -errno;
		fd = open(archive_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	if (log->archfd >= 0)
		close(log->archfd);
	log->archfd = fd;
	log->keep_files = keep_files;
	return 0;
}

int log__retention_plan(struct ag_log *log, struct log_retention *plan)
{
	struct entry_file *files = NULL;
	long n, i;

	memset(plan, 0, sizeof(*plan));
	plan->archive = log->archfd >= 0;
	if (!log->keep_files || log->nfiles <= log->keep_files)
		return 0;
	n = list_entry_files(log->dirfd, &files);
	if (n < 0)
		return n;
	log->nfiles = n;
	/* the oldest n - keep files, as far as the newest checkpoint seals
	 * them entirely; never the current (last) one */
	for (i = 0; i + (long)log->keep_files < n && i + 1 < n &&
	     files[i + 1].first <= log->cp_size; i++)
		;
	if (i > 0) {
		plan->files = i;
		plan->first_seq = files[0].first;
		plan->end_seq = files[i].first;
	}
	free(files);
	return 0;
}

/* Copies dirfd/name into the archive as <name>, durably, without
 * replacing anything there. */
static int copy_to_archive(int dirfd, const char *name, int archfd)
{
	char tmp[ENTRY_NAME_MAX + 8], buf[65536];
	int in, out, err = 0;
	ssize_t r;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	in = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -errno;
	out = openat(archfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		     O_NOFOLLOW, 0640);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	while ((r = read(in, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		err = util__write_all(out, buf, r);
		if (err)
			break;
	}
	if (!err && fsync(out))
		err = -errno;
	close(in);
	close(out);
	if (!err && renameat2(archfd, tmp, archfd, name, RENAME_NOREPLACE))
		err = -errno;
	if (err)
		unlinkat(archfd, tmp, 0);
	return err;
}

int log__retain(struct ag_log *log, const struct log_retention *plan)
{
	struct entry_file *files = NULL;
	long n;
	int err = 0;

	if (!plan->files)
		return 0;
	n = list_entry_files(log->dirfd, &files);
	if (n < 0)
		return n;
	for (long i = 0; i + 1 < n && !err; i++) {
		const char *nm = files[i].name;

		if (files[i].first < plan->first_seq || files[i + 1].first > plan->end_seq)
			continue;
		if (log->archfd >= 0) {
			if (renameat2(log->dirfd, nm, log->archfd, nm, RENAME_NOREPLACE)) {
				if (errno != EXDEV) {
					err = -errno;
					break;
				}
				err = copy_to_archive(log->dirfd, nm, log->archfd);
				if (!err && fsync(log->archfd))
					err = -errno;
				if (!err && unlinkat(log->dirfd, nm, 0))
					err = -errno;
			}
		} else if (unlinkat(log->dirfd, nm, 0)) {
			err = -errno;
		}
		if (!err)
			log->nfiles--;
	}
	free(files);
	/* the archive first: a file is never only in a directory not synced */
	if (log->archfd >= 0 && fsync(log->archfd) && !err)
		err = -errno;
	if (fsync(log->dirfd) && !err)
		err = -errno;
	return err;
}
