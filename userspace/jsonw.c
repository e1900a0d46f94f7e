/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "jsonw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void jsonw__init(struct jsonw *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max ? max : JSONW_DEFAULT_MAX;
}

void jsonw__reset(struct jsonw *w)
{
	w->len = 0;
	w->depth = 0;
	w->err = 0;
	w->in_array = 0;
	w->has_items = 0;
}

void jsonw__free(struct jsonw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

/* Makes room for n more bytes (and a NUL); false after an error. */
static bool reserve(struct jsonw *w, size_t n)
{
	size_t need, cap;
	char *b;

	if (w->err)
		return false;
	need = w->len + n + 1;
	if (need > w->max + 1 || need < n) {
		w->err = -E2BIG;
		return false;
	}
	if (need <= w->cap)
		return true;
	cap = w->cap ? w->cap : 512;
	while (cap < need)
		cap *= 2;
	if (cap > w->max + 1)
		cap = w->max + 1;
	b = realloc(w->buf, cap);
	if (!b) {
		w->err = -ENOMEM;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void putc_(struct jsonw *w, char c)
{
	if (!reserve(w, 1))
		return;
	w->buf[w->len++] = c;
}

/* 0: copy as is; 1: needs escaping (ASCII); 2: non-ASCII, check UTF-8 */
static const uint8_t esc_class[256] = {
	[0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x7f] = 1,
	[0x80 ... 0xff] = 2,
};

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 and in *bad the
 * length of the maximal ill-formed subpart (at least 1). */
static int utf8_len(const uint8_t *s, size_t n, int *bad)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	int len;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		*bad = 1;
		return 0;
	}
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

static void put_escaped(struct jsonw *w, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0, start = 0;

	putc_(w, '"');
	while (i < n) {
		uint8_t c = s[i];
		int l, bad;

		if (!esc_class[c]) {
			i++;
			continue;
		}
		put(w, str + start, i - start);
		if (esc_class[c] == 2) {
			l = utf8_len(s + i, n - i, &bad);
			if (l) {
				put(w, str + i, l);
				i += l;
			} else {
				put(w, "\xef\xbf\xbd", 3);	/* U+FFFD */
				i += bad;
			}
		} else if (c == '"' || c == '\\') {
			char e[2] = { '\\', c };

			put(w, e, 2);
			i++;
		} else if (c == '\n') {
			put(w, "\\n", 2);
			i++;
		} else if (c == '\r') {
			put(w, "\\r", 2);
			i++;
		} else if (c == '\t') {
			put(w, "\\t", 2);
			i++;
		} else {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			put(w, e, 6);
			i++;
		}
		start = i;
	}
	put(w, str + start, n - start);
	putc_(w, '"');
}

/* Writes the separator before a new member or element of the innermost
 * container; checks that the container is of the expected kind. */
static void before_item(struct jsonw *w, bool want_array)
{
	uint32_t bit;

	if (w->err)
		return;
	if (w->depth == 0) {
		w->err = -EINVAL;
		return;
	}
	bit = 1u << (w->depth - 1);
	if (!!(w->in_array & bit) != want_array) {
		w->err = -EINVAL;
		return;
	}
	if (w->has_items & bit)
		putc_(w, ',');
	w->has_items |= bit;
}

static void put_key(struct jsonw *w, const char *key)
{
	before_item(w, false);
	if (w->err)
		return;
	put_escaped(w, key, strlen(key));
	putc_(w, ':');
}

static void open_container(struct jsonw *w, char c, bool array)
{
	uint32_t bit;

	if (w->err)
		return;
	if (w->depth == JSONW_MAX_DEPTH) {
		w->err = -EINVAL;
		return;
	}
	putc_(w, c);
	bit = 1u << w->depth;
	w->depth++;
	w->has_items &= ~bit;
	if (array)
		w->in_array |= bit;
	else
		w->in_array &= ~bit;
}

static void close_container(struct jsonw *w, char c, bool array)
{
	uint32_t bit;

	if (w->err)
		return;
	if (w->depth == 0) {
		w->err = -EINVAL;
		return;
	}
	bit = 1u << (w->depth - 1);
	if (!!(w->in_array & bit) != array) {
		w->err = -EINVAL;
		return;
	}
	w->depth--;
	putc_(w, c);
}

void jsonw__object_begin(struct jsonw *w)
{
	if (w->depth == 0 && w->len && !w->err)
		w->err = -EINVAL;	/* a second top-level value */
	if (w->depth > 0)
		before_item(w, true);
	open_container(w, '{', false);
}

void jsonw__object_end(struct jsonw *w)
{
	close_container(w, '}', false);
}

void jsonw__key_object(struct jsonw *w, const char *key)
{
	put_key(w, key);
	open_container(w, '{', false);
}

void jsonw__key_array(struct jsonw *w, const char *key)
{
	put_key(w, key);
	open_container(w, '[', true);
}

void jsonw__array_end(struct jsonw *w)
{
	close_container(w, ']', true);
}

void jsonw__string(struct jsonw *w, const char *s)
{
	before_item(w, true);
	if (!w->err)
		put_escaped(w, s ? s : "", s ? strlen(s) : 0);
}

void jsonw__key_string(struct jsonw *w, const char *key, const char *s)
{
	jsonw__key_string_len(w, key, s ? s : "", s ? strlen(s) : 0);
}

void jsonw__key_string_len(struct jsonw *w, const char *key, const char *s,
			   size_t len)
{
	put_key(w, key);
	if (!w->err)
		put_escaped(w, s, len);
}

static size_t utoa(uint64_t v, char *out)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

void jsonw__key_uint(struct jsonw *w, const char *key, uint64_t v)
{
	char b[20];
	size_t n = utoa(v, b);

	put_key(w, key);
	put(w, b, n);
}

void jsonw__key_int(struct jsonw *w, const char *key, int64_t v)
{
	char b[21];
	size_t n = 0;

	put_key(w, key);
	if (v < 0) {
		b[n++] = '-';
		n += utoa(-(uint64_t)v, b + 1);
	} else {
		n = utoa(v, b);
	}
	put(w, b, n);
}

void jsonw__key_bool(struct jsonw *w, const char *key, bool v)
{
	put_key(w, key);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

static void put_digits(char *p, unsigned v, int n)
{
	while (n--) {
		p[n] = '0' + v % 10;
		v /= 10;
	}
}

void jsonw__key_time(struct jsonw *w, const char *key,
		     const struct timespec *ts)
{
	/* civil_from_days (H. Hinnant), proleptic Gregorian calendar */
	int64_t secs = ts->tv_sec, days, sod, z, era, doe, yoe, y, doy, mp, d, m;
	char b[32];

	put_key(w, key);
	if (w->err)
		return;
	/* 0000-01-01 .. 9999-12-31 */
	if (secs < -62167219200LL || secs > 253402300799LL ||
	    ts->tv_nsec < 0 || ts->tv_nsec > 999999999) {
		w->err = -EINVAL;
		return;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;
	b[0] = '"';
	put_digits(b + 1, y, 4);
	b[5] = '-';
	put_digits(b + 6, m, 2);
	b[8] = '-';
	put_digits(b + 9, d, 2);
	b[11] = 'T';
	put_digits(b + 12, sod / 3600, 2);
	b[14] = ':';
	put_digits(b + 15, sod / 60 % 60, 2);
	b[17] = ':';
	put_digits(b + 18, sod % 60, 2);
	b[20] = '.';
	put_digits(b + 21, ts->tv_nsec, 9);
	b[30] = 'Z';
	b[31] = '"';
	put(w, b, 32);
}

int jsonw__finish(struct jsonw *w, const char **out, size_t *len)
{
	if (!w->err && (w->depth != 0 || w->len == 0))
		w->err = -EINVAL;
	if (w->err)
		return w->err;
	w->buf[w->len] = '\0';	/* reserve() always keeps room for it */
	*out = w->buf;
	*len = w->len;
	return 0;
}

/* ---- validator ------------------------------------------------------ */

struct vstate {
	const uint8_t *p;
	const uint8_t *end;
};

static void skip_ws(struct vstate *v)
{
	while (v->p < v->end && (*v->p == ' ' || *v->p == '\t' ||
				 *v->p == '\n' || *v->p == '\r'))
		v->p++;
}

static int hex4(const uint8_t *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		uint8_t c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

static int v_string(struct vstate *v)
{
	v->p++;	/* opening quote */
	for (;;) {
		uint8_t c;
		int l, bad;

		while (v->p < v->end && !esc_class[*v->p])
			v->p++;
		if (v->p >= v->end)
			return -1;
		c = *v->p;
		if (c == '"') {
			v->p++;
			return 0;
		}
		if (c == 0x7f) {	/* DEL is allowed raw in JSON */
			v->p++;
			continue;
		}
		if (c >= 0x80) {
			l = utf8_len(v->p, v->end - v->p, &bad);
			if (!l)
				return -1;
			v->p += l;
			continue;
		}
		if (c != '\\')
			return -1;	/* raw control character */
		if (v->end - v->p < 2)
			return -1;
		c = v->p[1];
		if (c == 'u') {
			unsigned u, u2;

			if (v->end - v->p < 6 || hex4(v->p + 2, &u))
				return -1;
			v->p += 6;
			if (u >= 0xdc00 && u <= 0xdfff)
				return -1;	/* lone low surrogate */
			if (u >= 0xd800 && u <= 0xdbff) {
				if (v->end - v->p < 6 || v->p[0] != '\\' ||
				    v->p[1] != 'u' || hex4(v->p + 2, &u2) ||
				    u2 < 0xdc00 || u2 > 0xdfff)
					return -1;
				v->p += 6;
			}
			continue;
		}
		if (!strchr("\"\\/bfnrt", c) || c == 0)
			return -1;
		v->p += 2;
	}
}

static bool isdig(const struct vstate *v)
{
	return v->p < v->end && *v->p >= '0' && *v->p <= '9';
}

static int v_number(struct vstate *v)
{
	if (*v->p == '-')
		v->p++;
	if (!isdig(v))
		return -1;
	if (*v->p == '0')
		v->p++;
	else
		while (isdig(v))
			v->p++;
	if (v->p < v->end && *v->p == '.') {
		v->p++;
		if (!isdig(v))
			return -1;
		while (isdig(v))
			v->p++;
	}
	if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
		v->p++;
		if (v->p < v->end && (*v->p == '+' || *v->p == '-'))
			v->p++;
		if (!isdig(v))
			return -1;
		while (isdig(v))
			v->p++;
	}
	return 0;
}

static int v_literal(struct vstate *v, const char *lit, size_t n)
{
	if ((size_t)(v->end - v->p) < n || memcmp(v->p, lit, n))
		return -1;
	v->p += n;
	return 0;
}

static int v_value(struct vstate *v, int depth);

static int v_container(struct vstate *v, int depth, bool object)
{
	char close = object ? '}' : ']';

	if (depth > JSONW_VALIDATE_DEPTH)
		return -1;
	v->p++;
	skip_ws(v);
	if (v->p < v->end && *v->p == close) {
		v->p++;
		return 0;
	}
	for (;;) {
		if (object) {
			if (v->p >= v->end || *v->p != '"' || v_string(v))
				return -1;
			skip_ws(v);
			if (v->p >= v->end || *v->p != ':')
				return -1;
			v->p++;
			skip_ws(v);
		}
		if (v_value(v, depth))
			return -1;
		skip_ws(v);
		if (v->p >= v->end)
			return -1;
		if (*v->p == close) {
			v->p++;
			return 0;
		}
		if (*v->p != ',')
			return -1;
		v->p++;
		skip_ws(v);
	}
}

static int v_value(struct vstate *v, int depth)
{
	if (v->p >= v->end)
		return -1;
	switch (*v->p) {
	case '{':
		return v_container(v, depth + 1, true);
	case '[':
		return v_container(v, depth + 1, false);
	case '"':
		return v_string(v);
	case 't':
		return v_literal(v, "true", 4);
	case 'f':
		return v_literal(v, "false", 5);
	case 'n':
		return v_literal(v, "null", 4);
	default:
		if (*v->p == '-' || (*v->p >= '0' && *v->p <= '9'))
			return v_number(v);
		return -1;
	}
}

int jsonw__validate(const char *s, size_t len)
{
	struct vstate v = { (const uint8_t *)s, (const uint8_t *)s + len };

	skip_ws(&v);
	if (v.p >= v.end || *v.p != '{' || v_container(&v, 1, true))
		return -EINVAL;
	skip_ws(&v);
	return v.p == v.end ? 0 : -EINVAL;
}
