/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "note.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define ED25519_KEY_SIZE 32
#define ED25519_SIG_SIZE 64
#define EM_DASH_SP "\xe2\x80\x94 "	/* U+2014 and a space */
#define EM_DASH_SP_LEN 4
#define SKEY_PREFIX "PRIVATE+KEY+"

struct note_signer {
	char name[NOTE_NAME_MAX + 1];
	uint32_t id;
	uint8_t pub[ED25519_KEY_SIZE];
	uint8_t seed[ED25519_KEY_SIZE];
	EVP_PKEY *pkey;
};

struct note_verifier {
	char name[NOTE_NAME_MAX + 1];
	uint32_t id;
	uint8_t pub[ED25519_KEY_SIZE];
	EVP_PKEY *pkey;
};

static void set_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* ---- UTF-8 ---------------------------------------------------------- */

/* Decodes one code point at s[0..n); returns its length (1..4) and sets
 * *cp, or 0 if s does not start with a valid, shortest-form, non-surrogate
 * UTF-8 sequence. */
static int utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t c = s[0];
	uint32_t v;
	int len;
	uint8_t lo = 0x80, hi = 0xbf;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if ((size_t)len > n)
		return 0;
	for (int i = 1; i < len; i++) {
		uint8_t b = s[i];

		if (b < lo || b > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
		v = (v << 6) | (b & 0x3f);
	}
	*cp = v;
	return len;
}

/* Go's unicode.IsSpace */
static bool is_unicode_space(uint32_t cp)
{
	switch (cp) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202f: case 0x205f: case 0x3000:
		return true;
	}
	return cp >= 0x2000 && cp <= 0x200a;
}

bool note__valid_name(const char *name)
{
	size_t n = strlen(name);
	const uint8_t *s = (const uint8_t *)name;

	if (n == 0 || n > NOTE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		int l = utf8_next(s + i, n - i, &cp);

		if (!l || cp < 0x20 || cp == 0x7f || cp == '+' ||
		    is_unicode_space(cp))
			return false;
		i += l;
	}
	return true;
}

/* Whether t[0..n) is valid UTF-8 without control characters other than
 * newline; on failure *bad is the offending byte offset. */
static bool valid_note_text(const char *t, size_t n, size_t *bad)
{
	const uint8_t *s = (const uint8_t *)t;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		int l;

		if (s[i] >= 0x20 && s[i] < 0x80) {
			i++;
			continue;
		}
		l = utf8_next(s + i, n - i, &cp);
		if (!l || (cp < 0x20 && cp != '\n')) {
			*bad = i;
			return false;
		}
		i += l;
	}
	return true;
}

/* ---- base64 --------------------------------------------------------- */

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t note__base64_encode(const void *in, size_t len, char *out)
{
	const uint8_t *p = in;
	size_t o = 0, i;

	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = b64chars[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long note__base64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t o = 0, pad = 0;

	if (len % 4)
		return -EINVAL;
	if (len && in[len - 1] == '=')
		pad = (len >= 2 && in[len - 2] == '=') ? 2 : 1;
	if (len / 4 * 3 - pad > cap)
		return -ENOSPC;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int v[4];

		for (int j = 0; j < 4; j++) {
			if (last && j >= 4 - (int)pad) {
				v[j] = 0;
				continue;
			}
			v[j] = b64val(in[i + j]);
			if (v[j] < 0)
				return -EINVAL;
		}
		/* canonical: the bits dropped by padding must be zero */
		if (last && pad == 2 && (v[1] & 0x0f))
			return -EINVAL;
		if (last && pad == 1 && (v[2] & 0x03))
			return -EINVAL;
		out[o++] = v[0] << 2 | v[1] >> 4;
		if (!last || pad < 2)
			out[o++] = (v[1] & 0x0f) << 4 | v[2] >> 2;
		if (!last || pad < 1)
			out[o++] = (v[2] & 0x03) << 6 | v[3];
	}
	return o;
}

/* ---- keys ----------------------------------------------------------- */

static int key_id(const char *name, const uint8_t pub[ED25519_KEY_SIZE],
		  uint32_t *id)
{
	uint8_t md[32];
	unsigned int mdlen;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t sep[2] = { '\n', NOTE_ALG_ED25519 };
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, name, strlen(name)) == 1 &&
	     EVP_DigestUpdate(ctx, sep, 2) == 1 &&
	     EVP_DigestUpdate(ctx, pub, ED25519_KEY_SIZE) == 1 &&
	     EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -EIO;
	*id = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 |
	      (uint32_t)md[2] << 8 | md[3];
	return 0;
}

/* Completes s from s->name and s->seed: key object, public key, key id. */
static int signer_init(struct note_signer *s)
{
	size_t plen = ED25519_KEY_SIZE;

	s->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, s->seed,
					       ED25519_KEY_SIZE);
	if (!s->pkey || EVP_PKEY_get_raw_public_key(s->pkey, s->pub, &plen) != 1 ||
	    plen != ED25519_KEY_SIZE)
		return -EIO;
	return key_id(s->name, s->pub, &s->id);
}

void note_signer__free(struct note_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->pkey);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

const char *note_signer__name(const struct note_signer *s)
{
	return s->name;
}

struct note_signer *note_signer__generate(const char *name)
{
	struct note_signer *s;
	EVP_PKEY *tmp = NULL;
	size_t slen = ED25519_KEY_SIZE;
	int err;

	if (!name || !note__valid_name(name)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	strcpy(s->name, name);
	tmp = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!tmp || EVP_PKEY_get_raw_private_key(tmp, s->seed, &slen) != 1 ||
	    slen != ED25519_KEY_SIZE) {
		err = EIO;
		goto fail;
	}
	err = -signer_init(s);
	if (err)
		goto fail;
	EVP_PKEY_free(tmp);
	return s;
fail:
	EVP_PKEY_free(tmp);
	note_signer__free(s);
	errno = err;
	return NULL;
}

/* Splits "<name>+<8 hex>+<base64>" (the tail of a vkey or skey) into its
 * parts: the name into name[], the key id into *id, the decoded key (which
 * must be 0x01 followed by 32 bytes) into key[]. */
static int parse_key_fields(const char *p, size_t n, char *name, uint32_t *id,
			    uint8_t key[ED25519_KEY_SIZE])
{
	const char *plus1 = memchr(p, '+', n), *plus2, *hex, *b64;
	uint8_t raw[1 + ED25519_KEY_SIZE + 3];
	size_t nlen;
	long rlen;
	uint32_t v = 0;

	if (!plus1)
		return -EINVAL;
	nlen = plus1 - p;
	if (nlen == 0 || nlen > NOTE_NAME_MAX)
		return -EINVAL;
	memcpy(name, p, nlen);
	name[nlen] = '\0';
	if (strlen(name) != nlen || !note__valid_name(name))
		return -EINVAL;
	hex = plus1 + 1;
	plus2 = memchr(hex, '+', n - (hex - p));
	if (!plus2 || plus2 - hex != 8)
		return -EINVAL;
	for (int i = 0; i < 8; i++) {
		char c = hex[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EINVAL;
		v = v << 4 | d;
	}
	*id = v;
	b64 = plus2 + 1;
	rlen = note__base64_decode(b64, n - (b64 - p), raw, sizeof(raw));
	if (rlen != 1 + ED25519_KEY_SIZE || raw[0] != NOTE_ALG_ED25519) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return -EINVAL;
	}
	memcpy(key, raw + 1, ED25519_KEY_SIZE);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

struct note_signer *note_signer__parse(const char *skey, size_t len)
{
	struct note_signer *s;
	uint32_t id;
	int err;

	if (len && skey[len - 1] == '\n')
		len--;
	if (len < strlen(SKEY_PREFIX) || memcmp(skey, SKEY_PREFIX, strlen(SKEY_PREFIX))) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	err = -parse_key_fields(skey + strlen(SKEY_PREFIX),
				len - strlen(SKEY_PREFIX), s->name, &id, s->seed);
	if (!err)
		err = -signer_init(s);
	if (!err && id != s->id)
		err = EINVAL;
	if (err) {
		note_signer__free(s);
		errno = err;
		return NULL;
	}
	return s;
}

struct note_signer *note_signer__load(const char *path)
{
	char buf[NOTE_KEY_FILE_MAX + 1];
	struct note_signer *s;
	struct stat st;
	size_t len = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st)) {
		err = errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) ||
	    st.st_uid != geteuid()) {
		err = EPERM;
		goto fail;
	}
	err = -util__read_small(fd, buf, sizeof(buf), &len);
	if (err)
		goto fail;
	close(fd);
	s = note_signer__parse(buf, len);
	err = errno;
	OPENSSL_cleanse(buf, sizeof(buf));
	errno = err;
	return s;
fail:
	close(fd);
	OPENSSL_cleanse(buf, sizeof(buf));
	errno = err;
	return NULL;
}

int note_signer__skey(const struct note_signer *s, char **out)
{
	uint8_t raw[1 + ED25519_KEY_SIZE];
	char b64[64];
	int r;

	raw[0] = NOTE_ALG_ED25519;
	memcpy(raw + 1, s->seed, ED25519_KEY_SIZE);
	note__base64_encode(raw, sizeof(raw), b64);
	r = asprintf(out, SKEY_PREFIX "%s+%08x+%s", s->name, s->id, b64);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(b64, sizeof(b64));
	if (r < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int note_signer__vkey(const struct note_signer *s, char **out)
{
	uint8_t raw[1 + ED25519_KEY_SIZE];
	char b64[64];

	raw[0] = NOTE_ALG_ED25519;
	memcpy(raw + 1, s->pub, ED25519_KEY_SIZE);
	note__base64_encode(raw, sizeof(raw), b64);
	if (asprintf(out, "%s+%08x+%s", s->name, s->id, b64) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int note_signer__save(const struct note_signer *s, const char *skey_path,
		      const char *vkey_path)
{
	char *skey = NULL, *vkey = NULL, *tmp = NULL, *line = NULL;
	int err;

	err = note_signer__skey(s, &skey);
	if (!err)
		err = note_signer__vkey(s, &vkey);
	if (err)
		goto out;
	if (asprintf(&line, "%s\n", skey) < 0) {
		line = NULL;
		err = -ENOMEM;
		goto out;
	}
	err = util__write_temp(skey_path, line, strlen(line), 0600, &tmp);
	if (err)
		goto out;
	/* link() never replaces an existing key */
	if (link(tmp, skey_path))
		err = -errno;
	unlink(tmp);
	free(tmp);
	tmp = NULL;
	if (err)
		goto out;
	OPENSSL_cleanse(line, strlen(line));
	free(line);
	if (asprintf(&line, "%s\n", vkey) < 0) {
		line = NULL;
		err = -ENOMEM;
		goto out;
	}
	err = util__write_temp(vkey_path, line, strlen(line), 0644, &tmp);
	if (err)
		goto out;
	if (rename(tmp, vkey_path)) {
		err = -errno;
		unlink(tmp);
		goto out;
	}
	err = util__fsync_parent(skey_path);
	if (!err)
		err = util__fsync_parent(vkey_path);
out:
	if (skey)
		OPENSSL_cleanse(skey, strlen(skey));
	if (line)
		OPENSSL_cleanse(line, strlen(line));
	free(skey);
	free(vkey);
	free(line);
	free(tmp);
	return err;
}

struct note_verifier *note_verifier__parse(const char *vkey, size_t len)
{
	struct note_verifier *v;
	uint32_t id;
	int err;

	while (len && (vkey[len - 1] == '\n' || vkey[len - 1] == ' ' ||
		       vkey[len - 1] == '\t' || vkey[len - 1] == '\r'))
		len--;
	while (len && (*vkey == ' ' || *vkey == '\t' || *vkey == '\n' ||
		       *vkey == '\r')) {
		vkey++;
		len--;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		errno = ENOMEM;
		return NULL;
	}
	err = -parse_key_fields(vkey, len, v->name, &v->id, v->pub);
	if (!err && (err = -key_id(v->name, v->pub, &id)) == 0 && id != v->id)
		err = EINVAL;
	if (!err) {
		v->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
						      v->pub, ED25519_KEY_SIZE);
		if (!v->pkey)
			err = EINVAL;	/* not a point on the curve */
	}
	if (err) {
		note_verifier__free(v);
		errno = err;
		return NULL;
	}
	return v;
}

const char *note_verifier__name(const struct note_verifier *v)
{
	return v->name;
}

void note_verifier__free(struct note_verifier *v)
{
	if (!v)
		return;
	EVP_PKEY_free(v->pkey);
	free(v);
}

/* ---- notes ---------------------------------------------------------- */

int note__sign(const struct note_signer *s, const char *text, size_t len,
	       char **out, size_t *out_len)
{
	uint8_t sig[4 + ED25519_SIG_SIZE];
	size_t siglen = ED25519_SIG_SIZE, bad, nlen = strlen(s->name), total;
	EVP_MD_CTX *ctx;
	char *buf, *p;
	int ok;

	if (len == 0 || text[len - 1] != '\n' || len > NOTE_MAX_SIZE ||
	    !valid_note_text(text, len, &bad))
		return -EINVAL;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) == 1 &&
	     EVP_DigestSign(ctx, sig + 4, &siglen, (const uint8_t *)text, len) == 1 &&
	     siglen == ED25519_SIG_SIZE;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -EIO;
	sig[0] = s->id >> 24;
	sig[1] = s->id >> 16;
	sig[2] = s->id >> 8;
	sig[3] = s->id;
	/* text \n — name SP base64 \n */
	total = len + 1 + EM_DASH_SP_LEN + nlen + 1 + 4 * ((sizeof(sig) + 2) / 3) + 1;
	buf = malloc(total + 1);
	if (!buf)
		return -ENOMEM;
	p = buf;
	memcpy(p, text, len);
	p += len;
	*p++ = '\n';
	memcpy(p, EM_DASH_SP, EM_DASH_SP_LEN);
	p += EM_DASH_SP_LEN;
	memcpy(p, s->name, nlen);
	p += nlen;
	*p++ = ' ';
	p += note__base64_encode(sig, sizeof(sig), p);
	*p++ = '\n';
	*p = '\0';
	*out = buf;
	*out_len = p - buf;
	return 0;
}

static int verify_sig(const struct note_verifier *v, const char *text,
		      size_t len, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	int r;

	if (siglen != ED25519_SIG_SIZE)
		return -EKEYREJECTED;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	r = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, v->pkey);
	if (r == 1)
		r = EVP_DigestVerify(ctx, sig, siglen, (const uint8_t *)text, len);
	EVP_MD_CTX_free(ctx);
	return r == 1 ? 0 : -EKEYREJECTED;
}

int note__open(const struct note_verifier *v, const char *msg, size_t len,
	       size_t *text_len, char *why, size_t whylen)
{
	size_t split, bad, pos, nsigs = 0;
	bool verified = false;
	int err;

	if (len > NOTE_MAX_SIZE) {
		set_why(why, whylen, "note larger than %d bytes", NOTE_MAX_SIZE);
		return -EBADMSG;
	}
	if (!valid_note_text(msg, len, &bad)) {
		set_why(why, whylen,
			"invalid utf-8 or control character at byte %zu", bad);
		return -EBADMSG;
	}
	/* the text ends at the last blank line */
	for (split = len; split >= 2; split--)
		if (msg[split - 1] == '\n' && msg[split - 2] == '\n')
			break;
	if (split < 2) {
		set_why(why, whylen, "no blank line before the signatures");
		return -EBADMSG;
	}
	*text_len = split - 1;
	pos = split;
	if (pos == len || msg[len - 1] != '\n') {
		set_why(why, whylen, "signature block does not end in a newline");
		return -EBADMSG;
	}
	while (pos < len) {
		const char *line = msg + pos, *nl = memchr(line, '\n', len - pos);
		size_t llen = nl - line;
		const char *name, *sp, *b64;
		char nbuf[NOTE_NAME_MAX + 1];
		uint8_t sig[NOTE_MAX_SIZE / 4 * 3];
		long slen;
		uint32_t id;

		pos += llen + 1;
		if (++nsigs > NOTE_MAX_SIGS) {
			set_why(why, whylen, "more than %d signatures", NOTE_MAX_SIGS);
			return -EBADMSG;
		}
		if (llen < EM_DASH_SP_LEN || memcmp(line, EM_DASH_SP, EM_DASH_SP_LEN)) {
			set_why(why, whylen, "signature line %zu does not start with an em dash",
				nsigs);
			return -EBADMSG;
		}
		name = line + EM_DASH_SP_LEN;
		sp = memchr(name, ' ', nl - name);
		if (!sp || sp == name || (size_t)(sp - name) > NOTE_NAME_MAX) {
			set_why(why, whylen, "malformed signature line %zu", nsigs);
			return -EBADMSG;
		}
		memcpy(nbuf, name, sp - name);
		nbuf[sp - name] = '\0';
		b64 = sp + 1;
		slen = note__base64_decode(b64, nl - b64, sig, sizeof(sig));
		if (!note__valid_name(nbuf) || slen < 5) {
			set_why(why, whylen, "malformed signature line %zu", nsigs);
			return -EBADMSG;
		}
		id = (uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 |
		     (uint32_t)sig[2] << 8 | sig[3];
		if (id != v->id || strcmp(nbuf, v->name))
			continue;	/* another key: ignored */
		err = verify_sig(v, msg, *text_len, sig + 4, slen - 4);
		if (err) {
			if (err == -EKEYREJECTED)
				set_why(why, whylen, "bad signature by key '%s'",
					v->name);
			return err;
		}
		verified = true;
	}
	if (!verified) {
		set_why(why, whylen, "no signature by key '%s'", v->name);
		return -ENOKEY;
	}
	return 0;
}

int checkpoint__sign(const struct note_signer *s, uint64_t size,
		     const uint8_t root[CHECKPOINT_HASH_SIZE], char **out,
		     size_t *out_len)
{
	char text[NOTE_NAME_MAX + 80], b64[48];
	int n;

	note__base64_encode(root, CHECKPOINT_HASH_SIZE, b64);
	n = snprintf(text, sizeof(text), "%s\n%llu\n%s\n", s->name,
		     (unsigned long long)size, b64);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -EINVAL;
	return note__sign(s, text, n, out, out_len);
}

int checkpoint__open(const struct note_verifier *v, const char *msg,
		     size_t len, struct checkpoint *cp, char *why,
		     size_t whylen)
{
	const char *lines[4], *p, *end;
	size_t lens[4], text_len;
	int nl = 0, err;
	uint64_t size = 0;
	long rl;

	err = note__open(v, msg, len, &text_len, why, whylen);
	if (err)
		return err;
	p = msg;
	end = msg + text_len;
	while (p < end && nl < 4) {
		const char *e = memchr(p, '\n', end - p);

		lines[nl] = p;
		lens[nl++] = e - p;
		p = e + 1;
	}
	if (nl != 3 || p != end) {
		set_why(why, whylen, "checkpoint body has %s than 3 lines",
			nl < 3 ? "fewer" : "more");
		return -EBADMSG;
	}
	if (lens[0] != strlen(v->name) || memcmp(lines[0], v->name, lens[0])) {
		set_why(why, whylen, "origin is not '%s'", v->name);
		return -EBADMSG;
	}
	if (lens[1] == 0 || lens[1] > 20 || (lines[1][0] == '0' && lens[1] > 1)) {
		set_why(why, whylen, "malformed size");
		return -EBADMSG;
	}
	for (size_t i = 0; i < lens[1]; i++) {
		unsigned d = (unsigned char)lines[1][i] - '0';

		if (d > 9 || size > (UINT64_MAX - d) / 10) {
			set_why(why, whylen, "malformed size");
			return -EBADMSG;
		}
		size = size * 10 + d;
	}
	rl = note__base64_decode(lines[2], lens[2], cp->root, CHECKPOINT_HASH_SIZE);
	if (rl != CHECKPOINT_HASH_SIZE) {
		set_why(why, whylen, "root is not the base64 of 32 bytes");
		return -EBADMSG;
	}
	memcpy(cp->origin, lines[0], lens[0]);
	cp->origin[lens[0]] = '\0';
	cp->size = size;
	return 0;
}
