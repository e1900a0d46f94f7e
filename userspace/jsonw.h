/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * jsonw.h: a small, fast writer of one JSON object per line, keys in the
 * order they are written, into a growable buffer; and a fast validator.
 *
 *   struct jsonw w;
 *   jsonw__init(&w, 0);
 *   jsonw__object_begin(&w);
 *   jsonw__key_uint(&w, "seq", 42);
 *   jsonw__key_object(&w, "agent");
 *   jsonw__key_string(&w, "name", "ticket-summarizer");
 *   jsonw__object_end(&w);
 *   jsonw__object_end(&w);
 *   if (jsonw__finish(&w, &line, &len) == 0) ... {"seq":42,"agent":{...}}
 *
 * Strings are escaped so that the output is always valid UTF-8 JSON on one
 * line: '"' and '\\' are escaped, \n \r \t use their short escapes, other
 * control characters (and DEL) become \u00XX, and every maximal ill-formed
 * UTF-8 subsequence becomes one U+FFFD (the Unicode "maximal subpart"
 * practice). Writers never fail individually: the first error (ENOMEM,
 * E2BIG past the size limit, EINVAL for misuse such as a key inside an
 * array or unbalanced nesting) sticks and is returned by jsonw__finish().
 */
#ifndef AG_JSONW_H
#define AG_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define JSONW_MAX_DEPTH		32
#define JSONW_DEFAULT_MAX	(64 * 1024)	/* bytes of one object */
#define JSONW_VALIDATE_DEPTH	64

struct jsonw {
	char *buf;		/* owned; NUL-terminated after jsonw__finish() */
	size_t len;
	size_t cap;
	size_t max;		/* limit on len */
	int depth;
	int err;		/* first error, negative errno, sticky */
	uint32_t in_array;	/* bit d: container at depth d is an array */
	uint32_t has_items;	/* bit d: container at depth d is not empty */
};

/* jsonw__init: an empty writer whose output may not exceed max bytes
 * (0: JSONW_DEFAULT_MAX). Allocates nothing yet. */
void jsonw__init(struct jsonw *w, size_t max);

/* jsonw__reset: empties w for the next object, keeping its buffer. */
void jsonw__reset(struct jsonw *w);

/* jsonw__free: frees the buffer; w can be initialised again. */
void jsonw__free(struct jsonw *w);

/* jsonw__object_begin: '{' at top level or as an array element. */
void jsonw__object_begin(struct jsonw *w);
/* jsonw__object_end: '}' closing the innermost object. */
void jsonw__object_end(struct jsonw *w);
/* jsonw__key_object / __key_array: "key":{ / "key":[ inside an object. */
void jsonw__key_object(struct jsonw *w, const char *key);
void jsonw__key_array(struct jsonw *w, const char *key);
/* jsonw__array_end: ']' closing the innermost array. */
void jsonw__array_end(struct jsonw *w);
/* jsonw__string: a string element of the innermost array; NULL is
 * written as an empty string. */
void jsonw__string(struct jsonw *w, const char *s);

/* Members of the innermost object. A NULL string is written as "". */
void jsonw__key_string(struct jsonw *w, const char *key, const char *s);
void jsonw__key_string_len(struct jsonw *w, const char *key, const char *s,
			   size_t len);
void jsonw__key_int(struct jsonw *w, const char *key, int64_t v);
void jsonw__key_uint(struct jsonw *w, const char *key, uint64_t v);
void jsonw__key_bool(struct jsonw *w, const char *key, bool v);
/* jsonw__key_time: UTC RFC 3339 with nanoseconds,
 * "2026-11-29T09:12:03.123456789Z"; EINVAL if ts is out of range. */
void jsonw__key_time(struct jsonw *w, const char *key,
		     const struct timespec *ts);

/* jsonw__finish: ends the object. Returns 0 and sets *out / *len to the
 * buffer (NUL-terminated, owned by w, valid until the next call on w), or
 * the sticky error: -ENOMEM, -E2BIG, or -EINVAL if nesting is unbalanced
 * or nothing was written. */
int jsonw__finish(struct jsonw *w, const char **out, size_t *len);

/* jsonw__validate: whether s[0..len) is exactly one JSON object (RFC 8259,
 * whitespace around it allowed) in valid UTF-8, with no unpaired surrogate
 * escape and nesting at most JSONW_VALIDATE_DEPTH. Returns 0 or -EINVAL.
 * Builds nothing: about ten times faster than parsing with jansson. */
int jsonw__validate(const char *s, size_t len);

#endif
