/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * manifest.c: strict YAML reading (libyaml event API) and the agentguard.io/v1
 * Agent manifest parser, canonical form, generation and explain listing.
 */
#include "manifest.h"
#include "compile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* ------------------------------------------------------------------ */
/* Strict YAML documents                                               */
/* ------------------------------------------------------------------ */

#define ARENA_CHUNK 65536

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct ydoc {
	struct arena_chunk *chunks;
	struct ynode *root;
};

static void *arena_alloc(struct ydoc *d, size_t sz)
{
	struct arena_chunk *c = d->chunks;
	void *p;

	sz = (sz + 15) & ~(size_t)15;
	if (sz > ARENA_CHUNK / 4) {
		/* a dedicated chunk, kept behind the current one */
		c = malloc(sizeof(*c) + sz);
		if (!c)
			return NULL;
		c->cap = c->used = sz;
		if (d->chunks) {
			c->next = d->chunks->next;
			d->chunks->next = c;
		} else {
			c->next = NULL;
			d->chunks = c;
		}
		return c->data;
	}
	if (!c || c->cap - c->used < sz) {
		c = malloc(sizeof(*c) + ARENA_CHUNK);
		if (!c)
			return NULL;
		c->cap = ARENA_CHUNK;
		c->used = 0;
		c->next = d->chunks;
		d->chunks = c;
	}
	p = (char *)c->data + c->used;
	c->used += sz;
	return p;
}

void ydoc__free(struct ydoc *doc)
{
	struct arena_chunk *c, *next;

	if (!doc)
		return;
	for (c = doc->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(doc);
}

const struct ynode *ydoc__root(const struct ydoc *doc)
{
	return doc->root;
}

struct yframe {
	struct ynode *node;
	struct ynode **v;
	size_t n, cap;
};

struct ybuild {
	struct ydoc *doc;
	const char *file;
	struct diag_list *dl;
	struct yframe st[MANIFEST_MAX_NESTING];
	int depth;
	size_t nodes;
	int nerr;
	bool stopped;	/* too many errors */
	bool fatal;	/* cannot continue reading */
	bool nomem;
};

static void yerr(struct ybuild *b, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void yerr(struct ybuild *b, int line, int col, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	if (b->stopped)
		return;
	if (b->nerr >= MANIFEST_MAX_ERRORS) {
		diag_list__add(b->dl, b->file, line, col, "too many errors, giving up");
		b->stopped = b->fatal = true;
		return;
	}
	b->nerr++;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	diag_list__add(b->dl, b->file, line, col, "%s", msg ? msg : "out of memory");
	free(msg);
}

char *ymsg__quote(char *buf, const char *s, size_t len)
{
	size_t i, cut = len > 64 ? 64 : len;
	char *p = buf;

	/* never cut a UTF-8 sequence in half */
	while (cut < len && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	*p++ = '\'';
	for (i = 0; i < cut; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 0x20 && ch < 0x7f && ch != '\\') || ch >= 0x80)
			*p++ = (char)ch;
		else
			p += sprintf(p, "\\x%02x", ch);
	}
	if (cut < len) {
		memcpy(p, "...", 3);
		p += 3;
	}
	*p++ = '\'';
	*p = '\0';
	return buf;
}

static struct ynode *ynew(struct ybuild *b, enum ynode_type t, const yaml_mark_t *mk)
{
	struct ynode *n;

	if (++b->nodes > MANIFEST_MAX_NODES) {
		yerr(b, (int)mk->line + 1, (int)mk->column + 1,
		     "too many YAML nodes (limit %d)", MANIFEST_MAX_NODES);
		b->fatal = true;
		return NULL;
	}
	n = arena_alloc(b->doc, sizeof(*n));
	if (!n) {
		b->nomem = true;
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->type = t;
	n->line = (int)mk->line + 1;
	n->col = (int)mk->column + 1;
	return n;
}

static void yattach(struct ybuild *b, struct ynode *n)
{
	struct yframe *f;

	if (b->depth == 0) {
		b->doc->root = n;
		return;
	}
	f = &b->st[b->depth - 1];
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct ynode **v = realloc(f->v, cap * sizeof(*v));

		if (!v) {
			b->nomem = true;
			return;
		}
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n++] = n;
}

static int ykey_cmp(const void *a, const void *b)
{
	const struct ynode *x = *(const struct ynode *const *)a;
	const struct ynode *y = *(const struct ynode *const *)b;
	int r;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	r = memcmp(x->str, y->str, x->len);
	if (r)
		return r;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

/* Mapping keys must be scalars and distinct. */
static void ycheck_keys(struct ybuild *b, const struct ynode *map)
{
	const struct ynode **keys;
	char q[300];
	size_t nk = 0;

	if (!map->n)
		return;
	keys = malloc(map->n * sizeof(*keys));
	if (!keys) {
		b->nomem = true;
		return;
	}
	for (size_t i = 0; i < map->n; i++) {
		const struct ynode *k = map->items[2 * i];

		if (k->type == YNODE_SCALAR)
			keys[nk++] = k;
		else if (k->type != YNODE_BAD)
			yerr(b, k->line, k->col, "mapping keys must be strings, not %s",
			     ynode__kind(k));
	}
	qsort(keys, nk, sizeof(*keys), ykey_cmp);
	for (size_t i = 1, first = 0; i < nk; i++) {
		if (keys[i]->len == keys[first]->len &&
		    !memcmp(keys[i]->str, keys[first]->str, keys[i]->len))
			yerr(b, keys[i]->line, keys[i]->col,
			     "duplicate key %s (first at line %d, column %d)",
			     ymsg__quote(q, keys[i]->str, keys[i]->len),
			     keys[first]->line, keys[first]->col);
		else
			first = i;
	}
	free(keys);
}

static void yclose(struct ybuild *b)
{
	struct yframe *f = &b->st[--b->depth];
	struct ynode *n = f->node;

	if (f->n) {
		n->items = arena_alloc(b->doc, f->n * sizeof(*n->items));
		if (!n->items) {
			b->nomem = true;
		} else {
			memcpy(n->items, f->v, f->n * sizeof(*n->items));
			n->n = n->type == YNODE_MAP ? f->n / 2 : f->n;
		}
	}
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
	if (n->type == YNODE_MAP && !b->nomem)
		ycheck_keys(b, n);
}

static void ycheck_props(struct ybuild *b, const yaml_mark_t *mk,
			 const yaml_char_t *anchor, const yaml_char_t *tag)
{
	if (anchor)
		yerr(b, (int)mk->line + 1, (int)mk->column + 1,
		     "anchors and aliases are not allowed");
	if (tag)
		yerr(b, (int)mk->line + 1, (int)mk->column + 1, "tags are not allowed");
}

static void offset_pos(const char *buf, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static void yreport(struct ybuild *b, const yaml_parser_t *p, const char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	int line, col;

	if (p->error == YAML_MEMORY_ERROR) {
		b->nomem = true;
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		offset_pos(buf, len, p->problem_offset, &line, &col);
		yerr(b, line, col, "invalid YAML: %s", problem);
		return;
	}
	line = (int)p->problem_mark.line + 1;
	col = (int)p->problem_mark.column + 1;
	if (p->context)
		yerr(b, line, col, "invalid YAML: %s (%s at line %d, column %d)", problem,
		     p->context, (int)p->context_mark.line + 1,
		     (int)p->context_mark.column + 1);
	else
		yerr(b, line, col, "invalid YAML: %s", problem);
}

static void yopen(struct ybuild *b, const yaml_event_t *ev, enum ynode_type t,
		  const yaml_char_t *anchor, const yaml_char_t *tag)
{
	const yaml_mark_t *mk = &ev->start_mark;
	struct ynode *n;

	ycheck_props(b, mk, anchor, tag);
	if (b->depth == MANIFEST_MAX_NESTING) {
		yerr(b, (int)mk->line + 1, (int)mk->column + 1,
		     "nesting deeper than %d levels", MANIFEST_MAX_NESTING);
		b->fatal = true;
		return;
	}
	n = ynew(b, t, mk);
	if (!n)
		return;
	yattach(b, n);
	b->st[b->depth].node = n;
	b->st[b->depth].v = NULL;
	b->st[b->depth].n = b->st[b->depth].cap = 0;
	b->depth++;
}

/* Read buf into a document. Errors that leave a complete tree (anchors,
 * aliases, tags, duplicate or non-scalar keys) are counted in *nerr and the
 * document is still returned, so its content can be checked too; any other
 * error returns NULL with errno EINVAL (or ENOMEM). */
static struct ydoc *yload(const char *file, const char *buf, size_t len,
			  struct diag_list *dl, int *nerr)
{
	struct ybuild b;
	yaml_parser_t p;
	yaml_event_t ev;
	struct ynode *n;
	int ndocs = 0;
	bool done = false;

	memset(&b, 0, sizeof(b));
	b.file = file;
	b.dl = dl;
	b.doc = calloc(1, sizeof(*b.doc));
	if (!b.doc)
		return NULL;
	if (!yaml_parser_initialize(&p)) {
		free(b.doc);
		errno = ENOMEM;
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && !b.fatal && !b.nomem) {
		if (!yaml_parser_parse(&p, &ev)) {
			yreport(&b, &p, buf, len);
			b.fatal = true;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (ndocs++) {
				yerr(&b, (int)ev.start_mark.line + 1,
				     (int)ev.start_mark.column + 1,
				     "multiple documents are not allowed (one per file)");
				b.fatal = true;
			}
			break;
		case YAML_ALIAS_EVENT:
			yerr(&b, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
			     "anchors and aliases are not allowed");
			n = ynew(&b, YNODE_BAD, &ev.start_mark);
			if (n)
				yattach(&b, n);
			break;
		case YAML_SCALAR_EVENT:
			ycheck_props(&b, &ev.start_mark, ev.data.scalar.anchor,
				     ev.data.scalar.tag);
			n = ynew(&b, YNODE_SCALAR, &ev.start_mark);
			if (!n)
				break;
			n->str = arena_alloc(b.doc, ev.data.scalar.length + 1);
			if (!n->str) {
				b.nomem = true;
				break;
			}
			memcpy(n->str, ev.data.scalar.value, ev.data.scalar.length);
			n->str[ev.data.scalar.length] = '\0';
			n->len = ev.data.scalar.length;
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			yattach(&b, n);
			break;
		case YAML_SEQUENCE_START_EVENT:
			yopen(&b, &ev, YNODE_SEQ, ev.data.sequence_start.anchor,
			      ev.data.sequence_start.tag);
			break;
		case YAML_MAPPING_START_EVENT:
			yopen(&b, &ev, YNODE_MAP, ev.data.mapping_start.anchor,
			      ev.data.mapping_start.tag);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (b.depth > 0)
				yclose(&b);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (b.stopped)
			b.fatal = true;
	}
	for (int i = 0; i < b.depth; i++)
		free(b.st[i].v);
	yaml_parser_delete(&p);
	if (b.nomem) {
		ydoc__free(b.doc);
		errno = ENOMEM;
		return NULL;
	}
	if (b.fatal) {
		ydoc__free(b.doc);
		errno = EINVAL;
		return NULL;
	}
	*nerr = b.nerr;
	return b.doc;
}

struct ydoc *ydoc__load(const char *file, const char *buf, size_t len,
			struct diag_list *dl)
{
	struct ydoc *doc;
	int nerr = 0;

	doc = yload(file, buf, len, dl, &nerr);
	if (doc && nerr) {
		ydoc__free(doc);
		errno = EINVAL;
		return NULL;
	}
	return doc;
}

static bool str_in(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

static bool is_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static bool yaml_is_int(const char *s)
{
	if (s[0] == '0' && s[1] == 'o') {
		if (!s[2])
			return false;
		for (s += 2; *s; s++)
			if (*s < '0' || *s > '7')
				return false;
		return true;
	}
	if (s[0] == '0' && s[1] == 'x') {
		if (!s[2])
			return false;
		for (s += 2; *s; s++)
			if (!isxdigit((unsigned char)*s))
				return false;
		return true;
	}
	if (*s == '-' || *s == '+')
		s++;
	return is_digits(s);
}

static bool yaml_is_float(const char *s)
{
	static const char *const special[] = {
		".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
		"-.INF", ".nan", ".NaN", ".NAN", NULL,
	};
	bool digits = false;

	if (str_in(s, special))
		return true;
	if (*s == '-' || *s == '+')
		s++;
	while (isdigit((unsigned char)*s)) {
		s++;
		digits = true;
	}
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s)) {
			s++;
			digits = true;
		}
	}
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

enum yscalar_type yscalar__type(const struct ynode *n)
{
	static const char *const nulls[] = { "~", "null", "Null", "NULL", NULL };
	static const char *const bools[] = {
		"true", "True", "TRUE", "false", "False", "FALSE", NULL,
	};

	if (!n->plain)
		return YSCALAR_STR;
	if (n->len == 0 || str_in(n->str, nulls))
		return YSCALAR_NULL;
	if (str_in(n->str, bools))
		return YSCALAR_BOOL;
	if (yaml_is_int(n->str))
		return YSCALAR_INT;
	if (yaml_is_float(n->str))
		return YSCALAR_FLOAT;
	return YSCALAR_STR;
}

const char *ynode__kind(const struct ynode *n)
{
	switch (n->type) {
	case YNODE_MAP:
		return "a mapping";
	case YNODE_SEQ:
		return "a sequence";
	case YNODE_BAD:
		return "an alias";
	case YNODE_SCALAR:
		break;
	}
	switch (yscalar__type(n)) {
	case YSCALAR_NULL:
		return "null";
	case YSCALAR_BOOL:
		return "a boolean";
	case YSCALAR_INT:
		return "an integer";
	case YSCALAR_FLOAT:
		return "a float";
	case YSCALAR_STR:
		break;
	}
	return "a string";
}

int yfile__read(const char *path, size_t limit, char **bufp, size_t *lenp)
{
	size_t cap, len = 0;
	struct stat st;
	char *buf;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > limit) {
		close(fd);
		return -EFBIG;
	}
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *nb;

			if (cap > limit) {
				free(buf);
				close(fd);
				return -EFBIG;
			}
			cap = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			free(buf);
			close(fd);
			return err;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len > limit) {
		free(buf);
		return -EFBIG;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Manifest checking                                                   */
/* ------------------------------------------------------------------ */

struct mctx {
	const char *file;
	struct diag_list *dl;
	int nerr;
	bool stop;
	bool nomem;
	char path[256];
	size_t plen;
	size_t ncidrs;
	size_t npaths;
	bool cidr_limit_reported;
	bool path_limit_reported;
};

static void merr(struct mctx *c, const struct ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void merr(struct mctx *c, const struct ynode *n, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	if (c->stop)
		return;
	if (c->nerr >= MANIFEST_MAX_ERRORS) {
		diag_list__add(c->dl, c->file, n->line, n->col, "too many errors, giving up");
		c->stop = true;
		return;
	}
	c->nerr++;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	diag_list__add(c->dl, c->file, n->line, n->col, "%s", msg ? msg : "out of memory");
	free(msg);
}

static size_t ppush(struct mctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t ppush(struct mctx *c, const char *fmt, ...)
{
	size_t old = c->plen;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(c->path + c->plen, sizeof(c->path) - c->plen, fmt, ap);
	va_end(ap);
	if (r > 0)
		c->plen += (size_t)r;
	if (c->plen >= sizeof(c->path))
		c->plen = sizeof(c->path) - 1;
	return old;
}

static size_t pkey(struct mctx *c, const char *key)
{
	return c->plen ? ppush(c, ".%s", key) : ppush(c, "%s", key);
}

static void ppop(struct mctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

static char *mdup(struct mctx *c, const char *s, size_t len)
{
	char *d = strndup(s, len);

	if (!d)
		c->nomem = true;
	return d;
}

/* "expected X for 'path', got Y" */
static void mtype(struct mctx *c, const struct ynode *n, const char *expected)
{
	char q[300] = "";

	if (n->type == YNODE_BAD)
		return;
	if (n->type == YNODE_SCALAR && n->len) {
		q[0] = ' ';
		ymsg__quote(q + 1, n->str, n->len);
	}
	if (c->plen)
		merr(c, n, "expected %s for '%s', got %s%s", expected, c->path,
		     ynode__kind(n), q);
	else
		merr(c, n, "expected %s at the top level, got %s%s", expected,
		     ynode__kind(n), q);
}

struct mfield {
	const char *key;
	const struct ynode *val;
};

/* Check n is a mapping with only the keys of f, fill f[].val. */
static bool mfields(struct mctx *c, const struct ynode *n, struct mfield *f, size_t nf)
{
	char q[300], expected[256];
	size_t off = 0;

	if (n->type != YNODE_MAP) {
		mtype(c, n, "a mapping");
		return false;
	}
	for (size_t j = 0; j < nf && off < sizeof(expected); j++)
		off += (size_t)snprintf(expected + off, sizeof(expected) - off, "%s%s",
					j ? ", " : "", f[j].key);
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *k = n->items[2 * i];
		size_t j;

		if (k->type != YNODE_SCALAR)
			continue;
		for (j = 0; j < nf; j++)
			if (strlen(f[j].key) == k->len && !memcmp(f[j].key, k->str, k->len))
				break;
		if (j == nf) {
			if (c->plen)
				merr(c, k, "unknown key %s in '%s' (expected one of: %s)",
				     ymsg__quote(q, k->str, k->len), c->path, expected);
			else
				merr(c, k, "unknown key %s at the top level (expected one of: %s)",
				     ymsg__quote(q, k->str, k->len), expected);
			continue;
		}
		if (!f[j].val)
			f[j].val = n->items[2 * i + 1];
	}
	return true;
}

static void mmissing(struct mctx *c, const struct ynode *map, const char *key)
{
	if (c->plen)
		merr(c, map, "missing required key '%s' in '%s'", key, c->path);
	else
		merr(c, map, "missing required key '%s'", key);
}

static bool is_str(const struct ynode *n)
{
	return n->type == YNODE_SCALAR && yscalar__type(n) == YSCALAR_STR;
}

/* A string of at most maxlen bytes without control characters (newline and
 * tab allowed when multiline). */
static bool mstr(struct mctx *c, const struct ynode *n, size_t maxlen, bool multiline,
		 char **out)
{
	if (!is_str(n)) {
		mtype(c, n, "a string");
		return false;
	}
	if (n->len > maxlen) {
		merr(c, n, "'%s' is too long (%zu bytes, limit %zu)", c->path, n->len, maxlen);
		return false;
	}
	for (size_t i = 0; i < n->len; i++) {
		unsigned char ch = (unsigned char)n->str[i];

		if ((ch < 0x20 && !(multiline && (ch == '\n' || ch == '\t'))) || ch == 0x7f) {
			merr(c, n, "'%s' contains a control character (byte 0x%02x)",
			     c->path, ch);
			return false;
		}
	}
	*out = mdup(c, n->str, n->len);
	return *out != NULL;
}

/* One of the NULL-terminated names; returns its index or -1. */
static int menum(struct mctx *c, const struct ynode *n, const char *const *names)
{
	char q[300], expected[128];
	size_t off = 0;
	int i;

	for (i = 0; names[i]; i++)
		off += (size_t)snprintf(expected + off, sizeof(expected) - off, "%s%s",
					i ? (names[i + 1] ? ", " : " or ") : "", names[i]);
	if (!is_str(n)) {
		snprintf(q, sizeof(q), "one of %s", expected);
		mtype(c, n, q);
		return -1;
	}
	for (i = 0; names[i]; i++)
		if (strlen(names[i]) == n->len && !memcmp(names[i], n->str, n->len))
			return i;
	merr(c, n, "invalid value %s for '%s' (expected %s)", ymsg__quote(q, n->str, n->len),
	     c->path, expected);
	return -1;
}

static bool parse_dec(const char *s, unsigned long long *v)
{
	unsigned long long x = 0;

	if (!is_digits(s))
		return false;
	for (; *s; s++) {
		if (x > (ULLONG_MAX - 9) / 10)
			return false;
		x = x * 10 + (unsigned)(*s - '0');
	}
	*v = x;
	return true;
}

/* A plain decimal integer in [min, max]. */
static bool muint(struct mctx *c, const struct ynode *n, unsigned long long min,
		  unsigned long long max, unsigned long long *out)
{
	char q[300];

	if (n->type != YNODE_SCALAR || yscalar__type(n) != YSCALAR_INT) {
		mtype(c, n, "an integer");
		return false;
	}
	if (!parse_dec(n->str, out) || *out < min || *out > max) {
		merr(c, n, "%s out of range for '%s' (expected %llu..%llu)",
		     ymsg__quote(q, n->str, n->len), c->path, min, max);
		return false;
	}
	return true;
}

/* A sequence of at most max entries (min entries at least). */
static bool mseq(struct mctx *c, const struct ynode *n, size_t min, size_t max)
{
	if (n->type != YNODE_SEQ) {
		mtype(c, n, "a sequence");
		return false;
	}
	if (n->n > max) {
		merr(c, n, "too many entries in '%s' (%zu, limit %zu)", c->path, n->n, max);
		return false;
	}
	if (n->n < min) {
		merr(c, n, "'%s' must not be empty", c->path);
		return false;
	}
	return true;
}

bool manifest__valid_name(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len > MANIFEST_MAX_NAME_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && !(ch == '-' && i > 0 && i < len - 1))
			return false;
	}
	return true;
}

static bool mname(struct mctx *c, const struct ynode *n, char **out)
{
	char q[300];

	if (!is_str(n)) {
		mtype(c, n, "an agent name");
		return false;
	}
	if (memchr(n->str, '\0', n->len) || !manifest__valid_name(n->str)) {
		merr(c, n, "invalid agent name %s in '%s' (expected 1 to 63 lowercase "
		     "letters, digits and '-', starting and ending with a letter or digit)",
		     ymsg__quote(q, n->str, n->len), c->path);
		return false;
	}
	*out = mdup(c, n->str, n->len);
	return *out != NULL;
}

static bool mport_num(const char *s, unsigned *v)
{
	unsigned long long x;

	if (!parse_dec(s, &x) || x < 1 || x > 65535)
		return false;
	*v = (unsigned)x;
	return true;
}

/* A port (integer) or a range "LO-HI" (string). */
static bool mport(struct mctx *c, const struct ynode *n, struct manifest_ports *out)
{
	const char *dash;
	char q[300], lo[16], hi[16];
	unsigned a, b;

	if (n->type != YNODE_SCALAR) {
		mtype(c, n, "a port number or a range 'LO-HI'");
		return false;
	}
	switch (yscalar__type(n)) {
	case YSCALAR_INT:
		if (!mport_num(n->str, &a)) {
			merr(c, n, "port %s out of range in '%s' (expected 1..65535)",
			     ymsg__quote(q, n->str, n->len), c->path);
			return false;
		}
		out->lo = out->hi = (__u16)a;
		return true;
	case YSCALAR_STR:
		dash = memchr(n->str, '-', n->len);
		if (!dash || dash == n->str || (size_t)(dash - n->str) >= sizeof(lo) ||
		    n->len - (size_t)(dash - n->str) - 1 >= sizeof(hi))
			break;
		memcpy(lo, n->str, (size_t)(dash - n->str));
		lo[dash - n->str] = '\0';
		memcpy(hi, dash + 1, n->len - (size_t)(dash - n->str) - 1);
		hi[n->len - (size_t)(dash - n->str) - 1] = '\0';
		if (!is_digits(lo) || !is_digits(hi))
			break;
		if (!mport_num(lo, &a) || !mport_num(hi, &b)) {
			merr(c, n, "port range %s out of range in '%s' (expected 1..65535)",
			     ymsg__quote(q, n->str, n->len), c->path);
			return false;
		}
		if (a > b) {
			merr(c, n, "reversed port range %s in '%s' (low end above high end)",
			     ymsg__quote(q, n->str, n->len), c->path);
			return false;
		}
		out->lo = (__u16)a;
		out->hi = (__u16)b;
		return true;
	default:
		break;
	}
	mtype(c, n, "a port number or a range 'LO-HI'");
	return false;
}

static bool mports(struct mctx *c, const struct ynode *n, size_t min,
		   struct manifest_ports **out, size_t *nout)
{
	bool ok = true;

	if (!mseq(c, n, min, MANIFEST_MAX_PORTS))
		return false;
	if (!n->n)
		return true;
	*out = calloc(n->n, sizeof(**out));
	if (!*out) {
		c->nomem = true;
		return false;
	}
	*nout = n->n;
	for (size_t i = 0; i < n->n; i++) {
		size_t old = ppush(c, "[%zu]", i);

		ok &= mport(c, n->items[i], &(*out)[i]);
		ppop(c, old);
	}
	return ok;
}

static void prefix_mask(__u8 addr[16], unsigned bits)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;

		addr[i] &= (__u8)(0xff00u >> keep);
	}
}

static bool mcidr(struct mctx *c, const struct ynode *n, struct manifest_cidr *out)
{
	char q[300], q2[300], text[64], *slash, addrtxt[INET6_ADDRSTRLEN], hint[80];
	unsigned long long plen;
	unsigned max, bits;
	__u8 raw[16], masked[16];
	int family;

	if (!is_str(n)) {
		mtype(c, n, "a CIDR such as '10.0.0.0/8'");
		return false;
	}
	if (n->len >= sizeof(text) || memchr(n->str, '\0', n->len)) {
		merr(c, n, "invalid CIDR %s in '%s'", ymsg__quote(q, n->str, n->len), c->path);
		return false;
	}
	memcpy(text, n->str, n->len + 1);
	slash = strchr(text, '/');
	if (slash)
		*slash = '\0';
	family = strchr(text, ':') ? AF_INET6 : AF_INET;
	max = family == AF_INET ? 32 : 128;
	memset(raw, 0, sizeof(raw));
	if (inet_pton(family, text, family == AF_INET ? raw + 12 : raw) != 1) {
		merr(c, n, "invalid CIDR %s in '%s' (%s is not %s address)",
		     ymsg__quote(q, n->str, n->len), c->path, ymsg__quote(q2, text, strlen(text)),
		     family == AF_INET6 ? "an IPv6" :
		     text[strspn(text, "0123456789.")] ? "an IPv4 or IPv6" : "an IPv4");
		return false;
	}
	plen = max;
	if (slash && (!parse_dec(slash + 1, &plen) || strlen(slash + 1) > 3 || plen > max)) {
		merr(c, n, "invalid CIDR %s in '%s' (prefix length must be 0..%u)",
		     ymsg__quote(q, n->str, n->len), c->path, max);
		return false;
	}
	if (family == AF_INET) {
		raw[10] = raw[11] = 0xff;
		bits = 96 + (unsigned)plen;
	} else {
		bits = (unsigned)plen;
	}
	memcpy(masked, raw, sizeof(raw));
	prefix_mask(masked, bits);
	if (memcmp(masked, raw, sizeof(raw))) {
		inet_ntop(family, family == AF_INET ? masked + 12 : masked, addrtxt,
			  sizeof(addrtxt));
		snprintf(hint, sizeof(hint), "%s/%llu", addrtxt, plen);
		merr(c, n, "host bits set in CIDR %s in '%s' (did you mean '%s'?)",
		     ymsg__quote(q, n->str, n->len), c->path, hint);
		return false;
	}
	inet_ntop(family, family == AF_INET ? raw + 12 : raw, addrtxt, sizeof(addrtxt));
	snprintf(hint, sizeof(hint), "%s/%llu", addrtxt, plen);
	out->family = family;
	memcpy(out->addr, raw, sizeof(raw));
	out->bits = (__u8)bits;
	out->line = n->line;
	out->col = n->col;
	out->text = mdup(c, n->str, n->len);
	out->norm = mdup(c, hint, strlen(hint));
	return out->text && out->norm;
}

static bool mrule(struct mctx *c, const struct ynode *n, struct manifest_net_rule *r)
{
	static const char *const protos[] = { "tcp", "udp", "any", NULL };
	static const __u8 proto_mask[] = { AG_PROTO_TCP, AG_PROTO_UDP, AG_PROTO_ANY };
	struct mfield f[] = { { "cidr", NULL }, { "ports", NULL }, { "protocol", NULL } };
	bool ok = true;
	size_t old;

	r->line = n->line;
	r->col = n->col;
	r->proto = AG_PROTO_ANY;
	if (!mfields(c, n, f, 3))
		return false;
	if (!f[0].val) {
		mmissing(c, n, "cidr");
		ok = false;
	} else {
		old = pkey(c, "cidr");
		if (mseq(c, f[0].val, 1, SIZE_MAX)) {
			const struct ynode *s = f[0].val;

			if (c->ncidrs + s->n > MANIFEST_MAX_CIDRS) {
				if (!c->cidr_limit_reported)
					merr(c, s, "too many CIDRs in the manifest (limit %d)",
					     MANIFEST_MAX_CIDRS);
				c->cidr_limit_reported = true;
				ok = false;
			} else {
				c->ncidrs += s->n;
				r->cidrs = calloc(s->n, sizeof(*r->cidrs));
				if (!r->cidrs) {
					c->nomem = true;
					ok = false;
				} else {
					r->ncidrs = s->n;
					for (size_t i = 0; i < s->n; i++) {
						size_t o2 = ppush(c, "[%zu]", i);

						ok &= mcidr(c, s->items[i], &r->cidrs[i]);
						ppop(c, o2);
					}
				}
			}
		} else {
			ok = false;
		}
		ppop(c, old);
	}
	if (f[1].val) {
		old = pkey(c, "ports");
		if (f[1].val->type == YNODE_SEQ && f[1].val->n == 0) {
			merr(c, f[1].val, "'%s' must not be empty (leave it out for every port)",
			     c->path);
			ok = false;
		} else {
			ok &= mports(c, f[1].val, 1, &r->ports, &r->nports);
		}
		ppop(c, old);
	}
	if (f[2].val) {
		int i;

		old = pkey(c, "protocol");
		i = menum(c, f[2].val, protos);
		if (i >= 0)
			r->proto = proto_mask[i];
		ok &= i >= 0;
		ppop(c, old);
	}
	return ok;
}

static void mrules(struct mctx *c, const struct ynode *n, struct manifest_net_rule **out,
		   size_t *nout)
{
	if (!mseq(c, n, 0, MANIFEST_MAX_RULES) || !n->n)
		return;
	*out = calloc(n->n, sizeof(**out));
	if (!*out) {
		c->nomem = true;
		return;
	}
	*nout = n->n;
	for (size_t i = 0; i < n->n && !c->stop; i++) {
		size_t old = ppush(c, "[%zu]", i);

		mrule(c, n->items[i], &(*out)[i]);
		ppop(c, old);
	}
}

static const char *const defaults[] = { "deny", "allow", NULL };

static enum ag_section mdefault(struct mctx *c, const struct ynode *n)
{
	size_t old;
	int i;

	if (!n)
		return AG_SECTION_DENY;
	old = pkey(c, "default");
	i = menum(c, n, defaults);
	ppop(c, old);
	return i == 1 ? AG_SECTION_ALLOW : AG_SECTION_DENY;
}

static void megress(struct mctx *c, const struct ynode *n, struct manifest *m)
{
	struct mfield f[] = { { "default", NULL }, { "allow", NULL }, { "deny", NULL } };
	size_t old;

	m->net.egress_line = n->line;
	m->net.egress_col = n->col;
	if (!mfields(c, n, f, 3))
		return;
	m->net.egress = mdefault(c, f[0].val);
	if (f[1].val) {
		old = pkey(c, "allow");
		mrules(c, f[1].val, &m->net.allow, &m->net.nallow);
		ppop(c, old);
	}
	if (f[2].val) {
		old = pkey(c, "deny");
		mrules(c, f[2].val, &m->net.deny, &m->net.ndeny);
		ppop(c, old);
	}
}

static void mbind(struct mctx *c, const struct ynode *n, struct manifest *m)
{
	struct mfield f[] = { { "allow", NULL } };
	size_t old;

	if (!mfields(c, n, f, 1))
		return;
	if (!f[0].val) {
		mmissing(c, n, "allow");
		return;
	}
	m->net.bind_present = true;
	m->net.bind_line = f[0].val->line;
	m->net.bind_col = f[0].val->col;
	old = pkey(c, "allow");
	mports(c, f[0].val, 0, &m->net.bind, &m->net.nbind);
	ppop(c, old);
}

static void mnetwork(struct mctx *c, const struct ynode *n, struct manifest *m)
{
	struct mfield f[] = { { "egress", NULL }, { "bind", NULL } };
	size_t old;

	if (!mfields(c, n, f, 2))
		return;
	if (f[0].val) {
		old = pkey(c, "egress");
		megress(c, f[0].val, m);
		ppop(c, old);
	}
	if (f[1].val) {
		old = pkey(c, "bind");
		mbind(c, f[1].val, m);
		ppop(c, old);
	}
}

static bool mpath(struct mctx *c, const struct ynode *n, struct manifest_path *out)
{
	char q[300];
	const char *s = n->str;

	if (!is_str(n)) {
		mtype(c, n, "an absolute path");
		return false;
	}
	ymsg__quote(q, n->str, n->len);
	if (n->len > MANIFEST_MAX_PATH_LEN) {
		merr(c, n, "path %s in '%s' is too long (%zu bytes, limit %d)", q, c->path,
		     n->len, MANIFEST_MAX_PATH_LEN);
		return false;
	}
	for (size_t i = 0; i < n->len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			merr(c, n, "path %s in '%s' contains a control character", q, c->path);
			return false;
		}
	}
	if (s[0] != '/') {
		merr(c, n, "relative path %s in '%s' (paths must be absolute)", q, c->path);
		return false;
	}
	for (size_t i = 1, start = 1; i <= n->len; i++) {
		size_t clen;

		if (i < n->len && s[i] != '/')
			continue;
		clen = i - start;
		if (clen == 0 && i < n->len) {
			merr(c, n, "path %s in '%s' contains '//'", q, c->path);
			return false;
		}
		if ((clen == 1 && s[start] == '.') ||
		    (clen == 2 && s[start] == '.' && s[start + 1] == '.')) {
			merr(c, n, "path %s in '%s' contains a '%.*s' component", q, c->path,
			     (int)clen, s + start);
			return false;
		}
		start = i + 1;
	}
	out->path = mdup(c, n->str, n->len);
	out->tree = s[n->len - 1] == '/';
	out->line = n->line;
	out->col = n->col;
	return out->path != NULL;
}

static void mpaths(struct mctx *c, const struct ynode *n, struct manifest_path_list *out)
{
	if (!mseq(c, n, 0, MANIFEST_MAX_PATHS) || !n->n)
		return;
	if (c->npaths + n->n > MANIFEST_MAX_PATHS) {
		if (!c->path_limit_reported)
			merr(c, n, "too many paths in the manifest (limit %d)",
			     MANIFEST_MAX_PATHS);
		c->path_limit_reported = true;
		return;
	}
	c->npaths += n->n;
	out->v = calloc(n->n, sizeof(*out->v));
	if (!out->v) {
		c->nomem = true;
		return;
	}
	out->n = n->n;
	for (size_t i = 0; i < n->n && !c->stop; i++) {
		size_t old = ppush(c, "[%zu]", i);

		mpath(c, n->items[i], &out->v[i]);
		ppop(c, old);
	}
}

static void mfiles(struct mctx *c, const struct ynode *n, struct manifest *m)
{
	struct mfield f[] = {
		{ "default", NULL }, { "read", NULL }, { "write", NULL }, { "deny", NULL },
	};
	struct manifest_path_list *lists[] = { NULL, &m->files.read, &m->files.write,
					       &m->files.deny };

	if (!mfields(c, n, f, 4))
		return;
	m->files.section = mdefault(c, f[0].val);
	for (int i = 1; i < 4; i++) {
		if (f[i].val) {
			size_t old = pkey(c, f[i].key);

			mpaths(c, f[i].val, lists[i]);
			ppop(c, old);
		}
	}
}

static void mexec(struct mctx *c, const struct ynode *n, struct manifest *m)
{
	struct mfield f[] = { { "default", NULL }, { "allow", NULL } };

	if (!mfields(c, n, f, 2))
		return;
	m->exec.section = mdefault(c, f[0].val);
	if (f[1].val) {
		size_t old = pkey(c, "allow");

		mpaths(c, f[1].val, &m->exec.allow);
		ppop(c, old);
	}
}

static void mdelegation(struct mctx *c, const struct ynode *n, struct manifest *m)
{
	struct mfield f[] = { { "agents", NULL }, { "maxDepth", NULL } };
	unsigned long long depth = 1;
	size_t old;

	if (!mfields(c, n, f, 2))
		return;
	if (f[1].val) {
		old = pkey(c, "maxDepth");
		muint(c, f[1].val, 1, MANIFEST_MAX_DEPTH, &depth);
		ppop(c, old);
	}
	if (!f[0].val)
		return;
	old = pkey(c, "agents");
	if (mseq(c, f[0].val, 0, MANIFEST_MAX_AGENTS) && f[0].val->n) {
		const struct ynode *s = f[0].val;

		m->delegation.agents = calloc(s->n, sizeof(char *));
		if (!m->delegation.agents) {
			c->nomem = true;
		} else {
			for (size_t i = 0; i < s->n; i++) {
				size_t o2 = ppush(c, "[%zu]", i);
				char *name = NULL;
				bool dup = false;

				if (mname(c, s->items[i], &name)) {
					for (size_t j = 0; j < m->delegation.nagents; j++)
						dup |= !strcmp(m->delegation.agents[j], name);
					if (dup) {
						merr(c, s->items[i], "duplicate agent '%s' in '%s'",
						     name, c->path);
						free(name);
					} else {
						m->delegation.agents[m->delegation.nagents++] = name;
					}
				}
				ppop(c, o2);
			}
		}
	}
	ppop(c, old);
	m->delegation.max_depth = m->delegation.nagents ? (unsigned)depth : 0;
}

static bool valid_account_name(const char *s, size_t len)
{
	if (len < 1 || len > 32 || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '.')
			continue;
		if (ch == '$' && i == len - 1 && i > 0)
			continue;
		return false;
	}
	return true;
}

static void mprincipals(struct mctx *c, const struct ynode *n, const char *what,
			struct manifest_principal **out, size_t *nout)
{
	char q[300];

	if (!mseq(c, n, 0, MANIFEST_MAX_PRINCIPALS) || !n->n)
		return;
	*out = calloc(n->n, sizeof(**out));
	if (!*out) {
		c->nomem = true;
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *e = n->items[i];
		size_t old = ppush(c, "[%zu]", i);
		struct manifest_principal p = { 0 };
		unsigned long long id;
		enum yscalar_type t = e->type == YNODE_SCALAR ? yscalar__type(e) : YSCALAR_NULL;
		bool dup = false;

		if (e->type != YNODE_SCALAR || (t != YSCALAR_INT && t != YSCALAR_STR)) {
			mtype(c, e, what[0] == 'u' ? "a user name or uid" : "a group name or gid");
			ppop(c, old);
			continue;
		}
		if (is_digits(e->str) && e->len == strlen(e->str)) {
			if (!parse_dec(e->str, &id) || id > 4294967294ULL) {
				merr(c, e, "%s id %s out of range in '%s' (expected 0..4294967294)",
				     what, ymsg__quote(q, e->str, e->len), c->path);
				ppop(c, old);
				continue;
			}
			p.numeric = true;
			p.id = (__u32)id;
		} else if (t == YSCALAR_STR && valid_account_name(e->str, e->len)) {
			p.name = mdup(c, e->str, e->len);
			if (!p.name) {
				ppop(c, old);
				continue;
			}
		} else {
			merr(c, e, "invalid %s %s in '%s' (expected a name or a numeric id)",
			     what, ymsg__quote(q, e->str, e->len), c->path);
			ppop(c, old);
			continue;
		}
		for (size_t j = 0; j < *nout; j++) {
			const struct manifest_principal *o = &(*out)[j];

			if (o->numeric == p.numeric &&
			    (p.numeric ? o->id == p.id : !strcmp(o->name, p.name)))
				dup = true;
		}
		if (dup) {
			merr(c, e, "duplicate %s %s in '%s'", what,
			     ymsg__quote(q, e->str, e->len), c->path);
			free(p.name);
		} else {
			(*out)[(*nout)++] = p;
		}
		ppop(c, old);
	}
}

/* "30s", "15m", "1h", "1h30m": units h, m, s, each at most once, in order. */
static bool mduration(struct mctx *c, const struct ynode *n, unsigned long long *out)
{
	static const char units[] = "hms";
	static const unsigned mult[] = { 3600, 60, 1 };
	unsigned long long total = 0;
	const char *s = n->str;
	char q[300];
	int last = -1;

	if (!is_str(n)) {
		mtype(c, n, "a duration such as '15m' (units h, m, s)");
		return false;
	}
	if (!n->len || memchr(n->str, '\0', n->len))
		goto bad;
	while (*s) {
		unsigned long long v = 0;
		const char *u;
		int idx;

		if (!isdigit((unsigned char)*s))
			goto bad;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (unsigned)(*s++ - '0');
			if (v > 10000000)
				goto bad;
		}
		u = *s ? strchr(units, *s) : NULL;
		if (!u)
			goto bad;
		idx = (int)(u - units);
		if (idx <= last)
			goto bad;
		last = idx;
		total += v * mult[idx];
		s++;
	}
	*out = total;
	return true;
bad:
	merr(c, n, "invalid duration %s for '%s' (expected a number with unit h, m or s, "
	     "such as '15m' or '1h30m')", ymsg__quote(q, n->str, n->len), c->path);
	return false;
}

static void msession(struct mctx *c, const struct ynode *n, struct manifest *m)
{
	struct mfield f[] = { { "tokenTTL", NULL }, { "users", NULL }, { "groups", NULL } };
	unsigned long long ttl;
	size_t old;

	if (!mfields(c, n, f, 3))
		return;
	if (f[0].val) {
		old = pkey(c, "tokenTTL");
		if (mduration(c, f[0].val, &ttl)) {
			if (ttl > MANIFEST_TTL_MAX)
				merr(c, f[0].val, "'%s' of %llus exceeds the maximum of 1h",
				     c->path, ttl);
			else if (ttl < MANIFEST_TTL_MIN)
				merr(c, f[0].val, "'%s' of %llus is below the minimum of %ds",
				     c->path, ttl, MANIFEST_TTL_MIN);
			else
				m->session.token_ttl = (unsigned)ttl;
		}
		ppop(c, old);
	}
	if (f[1].val) {
		old = pkey(c, "users");
		mprincipals(c, f[1].val, "user", &m->session.users, &m->session.nusers);
		ppop(c, old);
	}
	if (f[2].val) {
		old = pkey(c, "groups");
		mprincipals(c, f[2].val, "group", &m->session.groups, &m->session.ngroups);
		ppop(c, old);
	}
}

static void mspec(struct mctx *c, const struct ynode *n, struct manifest *m)
{
	static const char *const modes[] = { "enforce", "audit", NULL };
	struct mfield f[] = {
		{ "mode", NULL }, { "network", NULL }, { "files", NULL },
		{ "exec", NULL }, { "delegation", NULL }, { "session", NULL },
	};
	void (*fn[])(struct mctx *, const struct ynode *, struct manifest *) = {
		NULL, mnetwork, mfiles, mexec, mdelegation, msession,
	};

	if (!mfields(c, n, f, 6))
		return;
	if (f[0].val) {
		size_t old = pkey(c, "mode");
		int i = menum(c, f[0].val, modes);

		m->mode = i == 1 ? AG_MODE_AUDIT : AG_MODE_ENFORCE;
		ppop(c, old);
	}
	for (int i = 1; i < 6 && !c->stop; i++) {
		if (f[i].val) {
			size_t old = pkey(c, f[i].key);

			fn[i](c, f[i].val, m);
			ppop(c, old);
		}
	}
}

static bool valid_label_key(const char *s, size_t len)
{
	if (len < 1 || len > MANIFEST_MAX_LABEL_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (isalnum((unsigned char)ch))
			continue;
		if ((ch == '-' || ch == '_' || ch == '.' || ch == '/') && i > 0 && i < len - 1)
			continue;
		return false;
	}
	return true;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct manifest_label *)a)->key,
		      ((const struct manifest_label *)b)->key);
}

static void mlabels(struct mctx *c, const struct ynode *n, struct manifest *m)
{
	char q[300];

	if (n->type != YNODE_MAP) {
		mtype(c, n, "a mapping");
		return;
	}
	if (n->n > MANIFEST_MAX_LABELS) {
		merr(c, n, "too many labels in '%s' (%zu, limit %d)", c->path, n->n,
		     MANIFEST_MAX_LABELS);
		return;
	}
	if (!n->n)
		return;
	m->labels = calloc(n->n, sizeof(*m->labels));
	if (!m->labels) {
		c->nomem = true;
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *k = n->items[2 * i], *v = n->items[2 * i + 1];
		struct manifest_label *l = &m->labels[m->nlabels];
		size_t old;

		if (k->type != YNODE_SCALAR)
			continue;
		if (!is_str(k) || memchr(k->str, '\0', k->len) ||
		    !valid_label_key(k->str, k->len)) {
			merr(c, k, "invalid label key %s in '%s' (expected letters, digits, "
			     "'-', '_', '.' and '/', starting and ending with a letter or digit, "
			     "at most %d bytes)", ymsg__quote(q, k->str, k->len), c->path,
			     MANIFEST_MAX_LABEL_LEN);
			continue;
		}
		old = pkey(c, k->str);
		if (mstr(c, v, MANIFEST_MAX_LABEL_LEN, false, &l->value)) {
			l->key = mdup(c, k->str, k->len);
			if (l->key)
				m->nlabels++;
			else
				free(l->value);
		}
		ppop(c, old);
	}
	qsort(m->labels, m->nlabels, sizeof(*m->labels), label_cmp);
}

static void mmetadata(struct mctx *c, const struct ynode *n, struct manifest *m)
{
	struct mfield f[] = {
		{ "name", NULL }, { "owner", NULL }, { "description", NULL }, { "labels", NULL },
	};
	size_t old;

	if (!mfields(c, n, f, 4))
		return;
	if (!f[0].val) {
		mmissing(c, n, "name");
	} else {
		old = pkey(c, "name");
		if (mname(c, f[0].val, &m->name)) {
			m->name_line = f[0].val->line;
			m->name_col = f[0].val->col;
		}
		ppop(c, old);
	}
	if (!f[1].val) {
		mmissing(c, n, "owner");
	} else {
		old = pkey(c, "owner");
		if (mstr(c, f[1].val, MANIFEST_MAX_OWNER_LEN, false, &m->owner)) {
			bool blank = true;

			for (const char *p = m->owner; *p; p++)
				blank &= isspace((unsigned char)*p) != 0;
			if (blank)
				merr(c, f[1].val, "'%s' must not be empty", c->path);
		}
		ppop(c, old);
	}
	if (f[2].val) {
		old = pkey(c, "description");
		if (mstr(c, f[2].val, MANIFEST_MAX_DESC_LEN, true, &m->description) &&
		    !m->description[0]) {
			free(m->description);
			m->description = NULL;
		}
		ppop(c, old);
	}
	if (f[3].val) {
		old = pkey(c, "labels");
		mlabels(c, f[3].val, m);
		ppop(c, old);
	}
}

static void mroot(struct mctx *c, const struct ynode *n, struct manifest *m)
{
	struct mfield f[] = {
		{ "apiVersion", NULL }, { "kind", NULL }, { "metadata", NULL }, { "spec", NULL },
	};
	char q[300];
	size_t old;

	if (!mfields(c, n, f, 4))
		return;
	if (!f[0].val) {
		mmissing(c, n, "apiVersion");
	} else if (!is_str(f[0].val) || strcmp(f[0].val->str, "agentguard.io/v1")) {
		old = pkey(c, "apiVersion");
		if (!is_str(f[0].val))
			mtype(c, f[0].val, "'agentguard.io/v1'");
		else
			merr(c, f[0].val, "unsupported apiVersion %s (expected 'agentguard.io/v1')",
			     ymsg__quote(q, f[0].val->str, f[0].val->len));
		ppop(c, old);
	}
	if (!f[1].val) {
		mmissing(c, n, "kind");
	} else if (!is_str(f[1].val) || strcmp(f[1].val->str, "Agent")) {
		old = pkey(c, "kind");
		if (!is_str(f[1].val))
			mtype(c, f[1].val, "'Agent'");
		else
			merr(c, f[1].val, "unsupported kind %s (expected 'Agent')",
			     ymsg__quote(q, f[1].val->str, f[1].val->len));
		ppop(c, old);
	}
	if (!f[2].val) {
		mmissing(c, n, "metadata");
	} else {
		old = pkey(c, "metadata");
		mmetadata(c, f[2].val, m);
		ppop(c, old);
	}
	if (f[3].val) {
		old = pkey(c, "spec");
		mspec(c, f[3].val, m);
		ppop(c, old);
	}
}

/* ------------------------------------------------------------------ */
/* Canonical form and generation                                       */
/* ------------------------------------------------------------------ */

static int ports_cmp(const void *a, const void *b)
{
	const struct manifest_ports *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Sorted, with overlapping and adjacent ranges merged; returns the count. */
static size_t ports_normalise(struct manifest_ports *p, size_t n)
{
	size_t w = 0;

	qsort(p, n, sizeof(*p), ports_cmp);
	for (size_t i = 0; i < n; i++) {
		if (w && (unsigned)p[i].lo <= (unsigned)p[w - 1].hi + 1) {
			if (p[i].hi > p[w - 1].hi)
				p[w - 1].hi = p[i].hi;
		} else {
			p[w++] = p[i];
		}
	}
	return w;
}

struct jb {
	bool fail;
};

/* Like json_object_set_new: v is consumed in every case. */
static void jset(struct jb *j, json_t *o, const char *key, json_t *v)
{
	if (!o) {
		json_decref(v);
		j->fail = true;
	} else if (json_object_set_new(o, key, v)) {
		j->fail = true;
	}
}

static void jadd(struct jb *j, json_t *a, json_t *v)
{
	if (!a) {
		json_decref(v);
		j->fail = true;
	} else if (json_array_append_new(a, v)) {
		j->fail = true;
	}
}

static json_t *jports(struct jb *j, const struct manifest_ports *p, size_t n, bool none_is_all)
{
	struct manifest_ports *tmp;
	json_t *a = json_array();

	if (!n && none_is_all) {
		jadd(j, a, json_pack("[ii]", 0, 65535));
		return a;
	}
	if (!n)
		return a;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp) {
		j->fail = true;
		return a;
	}
	memcpy(tmp, p, n * sizeof(*tmp));
	n = ports_normalise(tmp, n);
	for (size_t i = 0; i < n; i++)
		jadd(j, a, json_pack("[ii]", tmp[i].lo, tmp[i].hi));
	free(tmp);
	return a;
}

static json_t *jrules(struct jb *j, const struct manifest_net_rule *r, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object(), *cidrs = json_array();

		for (size_t k = 0; k < r[i].ncidrs; k++)
			jadd(j, cidrs, json_string(r[i].cidrs[k].norm));
		jset(j, o, "cidr", cidrs);
		jset(j, o, "ports", jports(j, r[i].ports, r[i].nports, true));
		jset(j, o, "protocol", json_string(manifest__proto_name(r[i].proto)));
		jadd(j, a, o);
	}
	return a;
}

static json_t *jpaths(struct jb *j, const struct manifest_path_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++)
		jadd(j, a, json_string(l->v[i].path));
	return a;
}

static json_t *jprincipals(struct jb *j, const struct manifest_principal *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		jadd(j, a, p[i].numeric ? json_integer(p[i].id) : json_string(p[i].name));
	return a;
}

/* The canonical form: see docs/manifest.md. */
static char *canonical_json(const struct manifest *m)
{
	json_t *root = json_object(), *md = json_object(), *spec = json_object();
	json_t *sess = json_object(), *del = json_object(), *agents = json_array();
	struct jb j = { false };
	char *out = NULL;

	jset(&j, root, "apiVersion", json_string("agentguard.io/v1"));
	jset(&j, root, "kind", json_string("Agent"));
	jset(&j, md, "name", json_string(m->name));
	jset(&j, md, "owner", json_string(m->owner));
	if (m->description)
		jset(&j, md, "description", json_string(m->description));
	if (m->nlabels) {
		json_t *l = json_object();

		for (size_t i = 0; i < m->nlabels; i++)
			jset(&j, l, m->labels[i].key, json_string(m->labels[i].value));
		jset(&j, md, "labels", l);
	}
	jset(&j, root, "metadata", md);

	jset(&j, spec, "mode", json_string(m->mode == AG_MODE_AUDIT ? "audit" : "enforce"));
	if (m->net.egress != AG_SECTION_ABSENT || m->net.bind_present) {
		json_t *net = json_object();

		if (m->net.egress != AG_SECTION_ABSENT) {
			json_t *eg = json_object();

			jset(&j, eg, "default", json_string(manifest__section_name(m->net.egress)));
			jset(&j, eg, "allow", jrules(&j, m->net.allow, m->net.nallow));
			jset(&j, eg, "deny", jrules(&j, m->net.deny, m->net.ndeny));
			jset(&j, net, "egress", eg);
		}
		if (m->net.bind_present) {
			json_t *b = json_object();

			jset(&j, b, "allow", jports(&j, m->net.bind, m->net.nbind, false));
			jset(&j, net, "bind", b);
		}
		jset(&j, spec, "network", net);
	}
	if (m->files.section != AG_SECTION_ABSENT) {
		json_t *f = json_object();

		jset(&j, f, "default", json_string(manifest__section_name(m->files.section)));
		jset(&j, f, "read", jpaths(&j, &m->files.read));
		jset(&j, f, "write", jpaths(&j, &m->files.write));
		jset(&j, f, "deny", jpaths(&j, &m->files.deny));
		jset(&j, spec, "files", f);
	}
	if (m->exec.section != AG_SECTION_ABSENT) {
		json_t *e = json_object();

		jset(&j, e, "default", json_string(manifest__section_name(m->exec.section)));
		jset(&j, e, "allow", jpaths(&j, &m->exec.allow));
		jset(&j, spec, "exec", e);
	}
	for (size_t i = 0; i < m->delegation.nagents; i++)
		jadd(&j, agents, json_string(m->delegation.agents[i]));
	jset(&j, del, "agents", agents);
	jset(&j, del, "maxDepth", json_integer(m->delegation.max_depth));
	jset(&j, spec, "delegation", del);
	jset(&j, sess, "tokenTTL", json_integer(m->session.token_ttl));
	jset(&j, sess, "users", jprincipals(&j, m->session.users, m->session.nusers));
	jset(&j, sess, "groups", jprincipals(&j, m->session.groups, m->session.ngroups));
	jset(&j, spec, "session", sess);
	jset(&j, root, "spec", spec);

	if (!j.fail)
		out = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(root);
	return out;
}

static int finish_generation(struct manifest *m)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *p;

	m->canonical = canonical_json(m);
	if (!m->canonical)
		return -ENOMEM;
	if (!EVP_Digest(m->canonical, strlen(m->canonical), md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		return -ENOMEM;
	p = m->generation + sprintf(m->generation, "sha256:");
	for (unsigned i = 0; i < mdlen; i++)
		p += sprintf(p, "%02x", md[i]);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

static void sort_diags(struct diag_list *dl, int start)
{
	for (int i = start + 1; i < dl->n; i++) {
		struct diag d = dl->v[i];
		int j = i;

		while (j > start && (dl->v[j - 1].line > d.line ||
				     (dl->v[j - 1].line == d.line && dl->v[j - 1].col > d.col))) {
			dl->v[j] = dl->v[j - 1];
			j--;
		}
		dl->v[j] = d;
	}
}

struct manifest *manifest__parse_buf(const char *file, const char *buf, size_t len,
				     struct diag_list *dl)
{
	struct compiled_policy cp;
	struct manifest *m;
	struct mctx c;
	struct ydoc *doc;
	int start = dl->n, err, yerrs = 0;

	if (len > MANIFEST_MAX_FILE_BYTES) {
		diag_list__add(dl, file, 0, 0, "file too large (%zu bytes, limit %u MiB)", len,
			       MANIFEST_MAX_FILE_BYTES >> 20);
		errno = EINVAL;
		return NULL;
	}
	doc = yload(file, buf, len, dl, &yerrs);
	if (!doc) {
		err = errno;
		sort_diags(dl, start);
		errno = err;
		return NULL;
	}
	if (!ydoc__root(doc)) {
		ydoc__free(doc);
		diag_list__add(dl, file, 1, 1, "empty file: expected an agent manifest");
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		ydoc__free(doc);
		errno = ENOMEM;
		return NULL;
	}
	m->file = strdup(file);
	m->session.token_ttl = MANIFEST_TTL_DEFAULT;
	memset(&c, 0, sizeof(c));
	c.file = file;
	c.dl = dl;
	c.nerr = yerrs;	/* one budget of MANIFEST_MAX_ERRORS for both passes */
	mroot(&c, ydoc__root(doc), m);
	ydoc__free(doc);
	if (c.nomem || !m->file) {
		manifest__free(m);
		errno = ENOMEM;
		return NULL;
	}
	if (c.nerr || c.stop) {
		manifest__free(m);
		sort_diags(dl, start);
		errno = EINVAL;
		return NULL;
	}
	err = finish_generation(m);
	if (!err)
		err = compile__policy(m, &cp, dl);
	if (err) {
		manifest__free(m);
		errno = -err;
		return NULL;
	}
	compiled_policy__free(&cp);
	return m;
}

struct manifest *manifest__parse_file(const char *path, struct diag_list *dl)
{
	struct manifest *m;
	size_t len;
	char *buf;
	int err;

	err = yfile__read(path, MANIFEST_MAX_FILE_BYTES, &buf, &len);
	if (err == -EFBIG) {
		diag_list__add(dl, path, 0, 0, "file too large (limit %u MiB)",
			       MANIFEST_MAX_FILE_BYTES >> 20);
		errno = EINVAL;
		return NULL;
	}
	if (err) {
		diag_list__add(dl, path, 0, 0, "cannot read file: %s", strerror(-err));
		errno = -err;
		return NULL;
	}
	m = manifest__parse_buf(path, buf, len, dl);
	err = errno;
	free(buf);
	errno = err;
	return m;
}

static void free_rules(struct manifest_net_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < r[i].ncidrs; k++) {
			free(r[i].cidrs[k].text);
			free(r[i].cidrs[k].norm);
		}
		free(r[i].cidrs);
		free(r[i].ports);
	}
	free(r);
}

static void free_paths(struct manifest_path_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
}

static void free_principals(struct manifest_principal *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].name);
	free(p);
}

void manifest__free(struct manifest *m)
{
	if (!m)
		return;
	free(m->file);
	free(m->name);
	free(m->owner);
	free(m->description);
	for (size_t i = 0; i < m->nlabels; i++) {
		free(m->labels[i].key);
		free(m->labels[i].value);
	}
	free(m->labels);
	free_rules(m->net.allow, m->net.nallow);
	free_rules(m->net.deny, m->net.ndeny);
	free(m->net.bind);
	free_paths(&m->files.read);
	free_paths(&m->files.write);
	free_paths(&m->files.deny);
	free_paths(&m->exec.allow);
	for (size_t i = 0; i < m->delegation.nagents; i++)
		free(m->delegation.agents[i]);
	free(m->delegation.agents);
	free_principals(m->session.users, m->session.nusers);
	free_principals(m->session.groups, m->session.ngroups);
	free(m->canonical);
	free(m);
}

const char *manifest__section_name(enum ag_section s)
{
	switch (s) {
	case AG_SECTION_ALLOW:
		return "allow";
	case AG_SECTION_DENY:
		return "deny";
	default:
		return "absent";
	}
}

const char *manifest__proto_name(__u8 proto)
{
	static const char *const names[8] = {
		"none", "tcp", "udp", "tcp+udp", "other", "tcp+other", "udp+other", "any",
	};

	return names[proto & 7];
}

/* ------------------------------------------------------------------ */
/* Explain                                                             */
/* ------------------------------------------------------------------ */

static void explain_ports(FILE *f, const struct manifest_ports *p, size_t n)
{
	if (!n) {
		fputs("every port", f);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i].lo == p[i].hi)
			fprintf(f, "%s%u", i ? ", " : "", p[i].lo);
		else
			fprintf(f, "%s%u-%u", i ? ", " : "", p[i].lo, p[i].hi);
	}
}

static void explain_rules(FILE *f, const char *kind, const struct manifest_net_rule *r,
			  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "    %s[%zu] (line %d): %s to ", kind, i, r[i].line,
			manifest__proto_name(r[i].proto));
		for (size_t k = 0; k < r[i].ncidrs; k++)
			fprintf(f, "%s%s", k ? ", " : "", r[i].cidrs[k].norm);
		fputs(r[i].nports ? ", ports " : ", ", f);
		explain_ports(f, r[i].ports, r[i].nports);
		fputc('\n', f);
	}
}

static void explain_ranges(FILE *f, const struct ag_port_range *r, __u32 n)
{
	for (__u32 i = 0; i < n; i++) {
		fprintf(f, "%s%s ", i ? ", " : "", manifest__proto_name(r[i].proto));
		if (r[i].lo == r[i].hi)
			fprintf(f, "%u", r[i].lo);
		else
			fprintf(f, "%u-%u", r[i].lo, r[i].hi);
		fprintf(f, " (rule %u)", r[i].rule);
	}
}

static void explain_paths(FILE *f, const char *what, const struct manifest_path_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "    %-6s %s%s\n", what, l->v[i].path,
			l->v[i].tree ? " (and everything below)" : "");
}

static void explain_principals(FILE *f, const struct manifest_principal *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i].numeric)
			fprintf(f, "%s%u", i ? ", " : "", p[i].id);
		else
			fprintf(f, "%s%s", i ? ", " : "", p[i].name);
	}
}

int manifest__explain(const struct manifest *m, FILE *f)
{
	struct compiled_policy cp;
	struct diag_list dl = { 0 };
	char pfx[64];
	int err;

	err = compile__policy(m, &cp, &dl);
	diag_list__free(&dl);
	if (err)
		return err;

	fprintf(f, "agent '%s' (generation %s)\n", m->name, m->generation);
	fprintf(f, "  owner: %s\n", m->owner);
	fprintf(f, "  mode: %s\n", m->mode == AG_MODE_AUDIT ?
		"audit (would-be denials are logged, nothing is blocked)" :
		"enforce (denials are blocked and logged)");

	if (m->net.egress == AG_SECTION_ABSENT) {
		fputs("  network egress: unrestricted (section absent), observed\n", f);
	} else {
		fprintf(f, "  network egress: default %s; deny rules win over allow rules\n",
			manifest__section_name(m->net.egress));
		explain_rules(f, "deny", m->net.deny, m->net.ndeny);
		explain_rules(f, "allow", m->net.allow, m->net.nallow);
		fprintf(f, "    compiled to %zu net_rules entr%s (longest prefix match):\n",
			cp.nnet, cp.nnet == 1 ? "y" : "ies");
		for (size_t i = 0; i < cp.nnet; i++) {
			const struct compiled_net_entry *e = &cp.net[i];

			compile__prefix_str(e->addr, e->addr_bits, pfx, sizeof(pfx));
			fprintf(f, "      %-5s %-43s ", e->kind == AG_NET_DENY ? "deny" : "allow",
				pfx);
			explain_ranges(f, e->val.r, e->val.n);
			fputc('\n', f);
		}
	}
	if (!m->net.bind_present) {
		fputs("  network bind: unrestricted (section absent)\n", f);
	} else if (!cp.policy.nbind) {
		fputs("  network bind: nothing may be bound\n", f);
	} else {
		fputs("  network bind: only ", f);
		explain_ranges(f, cp.policy.bind_ranges, cp.policy.nbind);
		fputc('\n', f);
	}
	if (m->files.section == AG_SECTION_ABSENT) {
		fputs("  files: unrestricted (section absent), observed\n", f);
	} else {
		fprintf(f, "  files: default %s; deny wins over read and write, write implies read\n",
			manifest__section_name(m->files.section));
		explain_paths(f, "deny", &m->files.deny);
		explain_paths(f, "write", &m->files.write);
		explain_paths(f, "read", &m->files.read);
	}
	if (m->exec.section == AG_SECTION_ABSENT) {
		fputs("  exec: unrestricted (section absent), observed\n", f);
	} else {
		fprintf(f, "  exec: default %s\n", manifest__section_name(m->exec.section));
		explain_paths(f, "allow", &m->exec.allow);
	}
	if (!m->delegation.nagents) {
		fputs("  delegation: may not start sub-agents\n", f);
	} else {
		fputs("  delegation: may start ", f);
		for (size_t i = 0; i < m->delegation.nagents; i++)
			fprintf(f, "%s'%s'", i ? ", " : "", m->delegation.agents[i]);
		fprintf(f, ", at most %u level%s below its session\n", m->delegation.max_depth,
			m->delegation.max_depth == 1 ? "" : "s");
	}
	fprintf(f, "  session: token lifetime %us; started by ", m->session.token_ttl);
	if (!m->session.nusers && !m->session.ngroups) {
		fputs("root only\n", f);
	} else {
		if (m->session.nusers) {
			fputs("users ", f);
			explain_principals(f, m->session.users, m->session.nusers);
		}
		if (m->session.ngroups) {
			fputs(m->session.nusers ? "; groups " : "groups ", f);
			explain_principals(f, m->session.groups, m->session.ngroups);
		}
		fputc('\n', f);
	}
	compiled_policy__free(&cp);
	return ferror(f) ? -EIO : 0;
}

/* ------------------------------------------------------------------ */
/* Sets                                                                */
/* ------------------------------------------------------------------ */

int manifest_set__add(struct manifest_set *set, struct manifest *m, struct diag_list *dl)
{
	struct manifest **v;

	for (size_t i = 0; i < set->n; i++) {
		const struct manifest *o = set->v[i];

		if (!strcmp(o->name, m->name)) {
			diag_list__add(dl, m->file, m->name_line, m->name_col,
				       "duplicate agent name '%s': also defined in '%s' at "
				       "line %d, column %d", m->name, o->file, o->name_line,
				       o->name_col);
			manifest__free(m);
			return -EEXIST;
		}
	}
	v = realloc(set->v, (set->n + 1) * sizeof(*v));
	if (!v) {
		manifest__free(m);
		return -ENOMEM;
	}
	set->v = v;
	set->v[set->n++] = m;
	return 0;
}

const struct manifest *manifest_set__find(const struct manifest_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->v[i]->name, name))
			return set->v[i];
	errno = ENOENT;
	return NULL;
}

void manifest_set__free(struct manifest_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		manifest__free(set->v[i]);
	free(set->v);
	free(set);
}

int manifest_set__load_files(const char *const *paths, size_t n, struct manifest_set **out,
			     struct diag_list *dl)
{
	struct manifest_set *set;
	bool failed = false;

	*out = NULL;
	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	if (n > MANIFEST_MAX_FILES) {
		diag_list__add(dl, paths[MANIFEST_MAX_FILES], 0, 0,
			       "too many manifest files (limit %d)", MANIFEST_MAX_FILES);
		free(set);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct manifest *m = manifest__parse_file(paths[i], dl);
		int err;

		if (!m) {
			if (errno == ENOMEM) {
				manifest_set__free(set);
				return -ENOMEM;
			}
			failed = true;
			continue;
		}
		err = manifest_set__add(set, m, dl);
		if (err == -ENOMEM) {
			manifest_set__free(set);
			return err;
		}
		failed |= err != 0;
	}
	if (failed) {
		manifest_set__free(set);
		return -EINVAL;
	}
	*out = set;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int manifest_set__load_dir(const char *dir, struct manifest_set **out, struct diag_list *dl)
{
	struct dirent *de;
	char **paths = NULL;
	size_t n = 0, cap = 0;
	int err = 0;
	DIR *d;

	*out = NULL;
	d = opendir(dir);
	if (!d) {
		err = -errno;
		diag_list__add(dl, dir, 0, 0, "cannot open directory: %s", strerror(-err));
		return err;
	}
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct stat st;
		char *p;

		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".yaml"))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) || !S_ISREG(st.st_mode))
			continue;
		if (n == MANIFEST_MAX_FILES) {
			diag_list__add(dl, dir, 0, 0, "too many manifest files (limit %d)",
				       MANIFEST_MAX_FILES);
			err = -EINVAL;
			break;
		}
		if (n == cap) {
			char **v;

			cap = cap ? cap * 2 : 16;
			v = realloc(paths, cap * sizeof(*v));
			if (!v) {
				err = -ENOMEM;
				break;
			}
			paths = v;
		}
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0) {
			err = -ENOMEM;
			break;
		}
		paths[n++] = p;
	}
	if (!err && errno) {
		err = -errno;
		diag_list__add(dl, dir, 0, 0, "cannot read directory: %s", strerror(-err));
	}
	closedir(d);
	if (!err) {
		if (n)
			qsort(paths, n, sizeof(*paths), name_cmp);
		err = manifest_set__load_files((const char *const *)paths, n, out, dl);
	}
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return err;
}
