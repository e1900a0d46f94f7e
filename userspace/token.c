/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "token.h"
#include "jsonw.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#define P256_COORD	32			/* bytes of x, y, r, s */
#define P256_GROUP	"prime256v1"		/* OpenSSL's name of P-256 */
#define SIG_RAW		(2 * P256_COORD)	/* JWS ES256 signature: R || S */
#define B64URL_LEN(n)	(((n) * 4 + 2) / 3)
#define TIME_CLAIM_MAX	999999999999LL		/* exp, iat, nbf */

struct token_key {
	EVP_PKEY *pkey;
	uint8_t x[P256_COORD], y[P256_COORD];
	char kid[TOKEN_KID_LEN + 1];
	char header_b64[160];		/* base64url of the fixed header */
	size_t header_b64_len;
};

struct jwk {
	char *kid;
	EVP_PKEY *pkey;
};

struct token_jwks {
	struct jwk *v;
	size_t n;
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

/* ---- base64url ------------------------------------------------------ */

static const char b64u[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t token__b64url_encode(const void *in, size_t len, char *out)
{
	const uint8_t *p = in;
	size_t o = 0, i;

	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64u[v >> 18];
		out[o++] = b64u[(v >> 12) & 63];
		out[o++] = b64u[(v >> 6) & 63];
		out[o++] = b64u[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		out[o++] = b64u[v >> 18];
		out[o++] = b64u[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		out[o++] = b64u[v >> 18];
		out[o++] = b64u[(v >> 12) & 63];
		out[o++] = b64u[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int b64u_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long token__b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t o = 0, rem = len % 4;
	uint32_t acc = 0;

	if (rem == 1)
		return -EINVAL;
	if (len / 4 * 3 + (rem ? rem - 1 : 0) > cap)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++) {
		int v = b64u_val(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | v;
		if (i % 4 == 3) {
			out[o++] = acc >> 16;
			out[o++] = acc >> 8;
			out[o++] = acc;
			acc = 0;
		}
	}
	/* canonical: the bits past the last byte must be zero */
	if (rem == 2) {
		if (acc & 0x0f)
			return -EINVAL;
		out[o++] = acc >> 4;
	} else if (rem == 3) {
		if (acc & 0x03)
			return -EINVAL;
		out[o++] = acc >> 10;
		out[o++] = acc >> 2;
	}
	return o;
}

bool token__valid_audience(const char *aud)
{
	size_t n;

	if (!aud)
		return false;
	n = strlen(aud);
	if (n == 0 || n > TOKEN_AUD_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (aud[i] <= ' ' || aud[i] > '~')
			return false;
	return true;
}

/* ---- keys ----------------------------------------------------------- */

/* Fills k's coordinates, kid and header from k->pkey, which must be an EC
 * P-256 key. */
static int key_init(struct token_key *k)
{
	char x64[B64URL_LEN(P256_COORD) + 1], y64[B64URL_LEN(P256_COORD) + 1];
	char thumb_in[160], header[128];
	uint8_t md[32];
	BIGNUM *bx = NULL, *by = NULL;
	int n, err = -EIO;

	if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx) != 1 ||
	    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by) != 1 ||
	    BN_bn2binpad(bx, k->x, P256_COORD) != P256_COORD ||
	    BN_bn2binpad(by, k->y, P256_COORD) != P256_COORD)
		goto out;
	token__b64url_encode(k->x, P256_COORD, x64);
	token__b64url_encode(k->y, P256_COORD, y64);
	/* RFC 7638: the required members in lexicographic order, no spaces */
	n = snprintf(thumb_in, sizeof(thumb_in),
		     "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x64, y64);
	if (n < 0 || (size_t)n >= sizeof(thumb_in) ||
	    EVP_Digest(thumb_in, n, md, NULL, EVP_sha256(), NULL) != 1)
		goto out;
	token__b64url_encode(md, sizeof(md), k->kid);
	n = snprintf(header, sizeof(header),
		     "{\"alg\":\"" TOKEN_ALG "\",\"typ\":\"" TOKEN_TYP "\",\"kid\":\"%s\"}",
		     k->kid);
	if (n < 0 || (size_t)n >= sizeof(header) ||
	    B64URL_LEN((size_t)n) >= sizeof(k->header_b64))
		goto out;
	k->header_b64_len = token__b64url_encode(header, n, k->header_b64);
	err = 0;
out:
	BN_free(bx);
	BN_free(by);
	return err;
}

/* Whether pkey is an EC key on P-256. */
static bool is_p256(EVP_PKEY *pkey)
{
	char group[64];
	size_t glen = 0;

	if (!EVP_PKEY_is_a(pkey, "EC"))
		return false;
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
					   sizeof(group), &glen) != 1)
		return false;
	return !strcmp(group, P256_GROUP);
}

void token_key__free(struct token_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *token_key__kid(const struct token_key *k)
{
	return k->kid;
}

struct token_key *token_key__generate(void)
{
	struct token_key *k = calloc(1, sizeof(*k));
	int err;

	if (!k) {
		errno = ENOMEM;
		return NULL;
	}
	k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	err = k->pkey ? -key_init(k) : EIO;
	if (err) {
		token_key__free(k);
		errno = err;
		return NULL;
	}
	return k;
}

struct token_key *token_key__load(const char *path, char *why, size_t whylen)
{
	char buf[TOKEN_KEY_FILE_MAX + 1];
	struct token_key *k = NULL;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *chk = NULL;
	struct stat st;
	size_t len = 0;
	BIO *bio = NULL;
	int fd, err;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		set_why(why, whylen, "cannot open '%s': %s", path, strerror(err));
		errno = err;
		return NULL;
	}
	if (fstat(fd, &st)) {
		err = errno;
		set_why(why, whylen, "cannot stat '%s': %s", path, strerror(err));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) || st.st_uid != geteuid()) {
		err = EPERM;
		set_why(why, whylen, "cannot use '%s': it must be a regular file of this user "
			"with mode 0600 (it is mode %04o, uid %u)", path,
			(unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		goto fail;
	}
	err = -util__read_small(fd, buf, sizeof(buf), &len);
	if (err) {
		set_why(why, whylen, "cannot read '%s': %s", path,
			err == EFBIG ? "larger than a key file can be" : strerror(err));
		goto fail;
	}
	bio = BIO_new_mem_buf(buf, len);
	if (!bio) {
		err = ENOMEM;
		goto fail;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (!pkey) {
		err = EINVAL;
		set_why(why, whylen, "cannot use '%s': not a PEM private key", path);
		goto fail;
	}
	if (!is_p256(pkey)) {
		err = EINVAL;
		set_why(why, whylen, "cannot use '%s': not an EC P-256 key (ES256 needs one)",
			path);
		goto fail;
	}
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!chk || EVP_PKEY_pairwise_check(chk) != 1) {
		err = EINVAL;
		set_why(why, whylen, "cannot use '%s': its private and public parts do not match",
			path);
		goto fail;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		err = ENOMEM;
		goto fail;
	}
	k->pkey = pkey;
	pkey = NULL;
	err = -key_init(k);
	if (err)
		goto fail;
	EVP_PKEY_CTX_free(chk);
	BIO_free(bio);
	close(fd);
	OPENSSL_cleanse(buf, sizeof(buf));
	return k;
fail:
	if (err == ENOMEM || err == EIO)
		set_why(why, whylen, "cannot load '%s': %s", path, strerror(err));
	token_key__free(k);
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	close(fd);
	OPENSSL_cleanse(buf, sizeof(buf));
	errno = err;
	return NULL;
}

int token_key__jwks(const struct token_key *k, char **out)
{
	char x64[B64URL_LEN(P256_COORD) + 1], y64[B64URL_LEN(P256_COORD) + 1];

	token__b64url_encode(k->x, P256_COORD, x64);
	token__b64url_encode(k->y, P256_COORD, y64);
	if (asprintf(out, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\","
		     "\"y\":\"%s\",\"kid\":\"%s\",\"alg\":\"" TOKEN_ALG "\",\"use\":\"sig\"}]}\n",
		     x64, y64, k->kid) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Replaces path with text atomically (temporary file, rename, directory
 * fsync). */
static int replace_file(const char *path, const char *text, size_t len, mode_t mode)
{
	char *tmp = NULL;
	int err = util__write_temp(path, text, len, mode, &tmp);

	if (err)
		return err;
	if (rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
	}
	free(tmp);
	return err ?: util__fsync_parent(path);
}

int token_key__save(const struct token_key *k, const char *key_path, const char *jwks_path)
{
	char *pem = NULL, *jwks = NULL, *tmp = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	long plen;
	int err;

	if (!bio)
		return -ENOMEM;
	if (PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(bio);
		return -EIO;
	}
	plen = BIO_get_mem_data(bio, &pem);
	err = util__write_temp(key_path, pem, plen, 0600, &tmp);
	OPENSSL_cleanse(pem, plen);
	BIO_free(bio);
	if (err)
		return err;
	/* link() never replaces an existing key */
	if (link(tmp, key_path))
		err = -errno;
	unlink(tmp);
	free(tmp);
	if (err)
		return err;
	err = util__fsync_parent(key_path);
	if (!err)
		err = token_key__jwks(k, &jwks);
	if (!err)
		err = replace_file(jwks_path, jwks, strlen(jwks), 0644);
	free(jwks);
	return err;
}

static int mkdir_1(const char *path, mode_t mode)
{
	if (mkdir(path, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

struct token_key *token_key__open(const char *state_dir, bool *created, char *why,
				  size_t whylen)
{
	char keydir[PATH_MAX], kpath[PATH_MAX + 16], jpath[PATH_MAX + 16];
	char cur[4096], *jwks = NULL;
	struct token_key *k;
	size_t curlen = 0;
	int err, fd;

	if (created)
		*created = false;
	if (snprintf(keydir, sizeof(keydir), "%s/keys", state_dir) >= (int)sizeof(keydir)) {
		set_why(why, whylen, "state directory path too long");
		errno = ENAMETOOLONG;
		return NULL;
	}
	snprintf(kpath, sizeof(kpath), "%s/token.key", keydir);
	snprintf(jpath, sizeof(jpath), "%s/jwks.json", keydir);
	if ((err = mkdir_1(state_dir, 0755)) || (err = mkdir_1(keydir, 0755))) {
		set_why(why, whylen, "cannot create '%s': %s", keydir, strerror(-err));
		errno = -err;
		return NULL;
	}
	k = token_key__load(kpath, why, whylen);
	if (!k && errno == ENOENT) {
		k = token_key__generate();
		if (!k) {
			err = errno;
			set_why(why, whylen, "cannot generate the token key: %s", strerror(err));
			errno = err;
			return NULL;
		}
		err = token_key__save(k, kpath, jpath);
		if (err == -EEXIST) {
			/* another process created it meanwhile: use that one */
			token_key__free(k);
			k = token_key__load(kpath, why, whylen);
		} else if (err) {
			token_key__free(k);
			set_why(why, whylen, "cannot write '%s': %s", kpath, strerror(-err));
			errno = -err;
			return NULL;
		} else if (created) {
			*created = true;
		}
	}
	if (!k)
		return NULL;	/* why and errno from token_key__load() */
	/* jwks.json must publish this key: rewrite it if missing or different */
	err = token_key__jwks(k, &jwks);
	if (err)
		goto fail;
	fd = open(jpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		if (util__read_small(fd, cur, sizeof(cur), &curlen))
			curlen = 0;
		close(fd);
	}
	if (curlen != strlen(jwks) || memcmp(cur, jwks, curlen)) {
		err = replace_file(jpath, jwks, strlen(jwks), 0644);
		if (err) {
			set_why(why, whylen, "cannot write '%s': %s", jpath, strerror(-err));
			goto fail;
		}
	}
	free(jwks);
	return k;
fail:
	free(jwks);
	token_key__free(k);
	errno = -err;
	return NULL;
}

/* ---- signing -------------------------------------------------------- */

/* The raw R || S signature of msg[0..len) with k. */
static int es256_sign(const struct token_key *k, const char *msg, size_t len,
		      uint8_t sig[SIG_RAW])
{
	uint8_t der[128];
	const uint8_t *p = der;
	size_t dlen = sizeof(der);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
	     EVP_DigestSign(ctx, der, &dlen, (const uint8_t *)msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -EIO;
	/* OpenSSL gives DER (RFC 3279 Ecdsa-Sig-Value); JWS wants R || S */
	es = d2i_ECDSA_SIG(NULL, &p, dlen);
	if (!es)
		return -EIO;
	ECDSA_SIG_get0(es, &r, &s);
	ok = BN_bn2binpad(r, sig, P256_COORD) == P256_COORD &&
	     BN_bn2binpad(s, sig + P256_COORD, P256_COORD) == P256_COORD;
	ECDSA_SIG_free(es);
	return ok ? 0 : -EIO;
}

/* header_b64 "." payload "." signature, all base64url, into *out. */
static int jws_finish(const struct token_key *k, const char *h64, size_t hlen,
		      const char *payload, size_t plen, char **out)
{
	uint8_t sig[SIG_RAW];
	size_t total = hlen + 1 + B64URL_LEN(plen) + 1 + B64URL_LEN(SIG_RAW) + 1;
	char *buf = malloc(total), *p;
	int err;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, h64, hlen);
	p = buf + hlen;
	*p++ = '.';
	p += token__b64url_encode(payload, plen, p);
	err = es256_sign(k, buf, p - buf, sig);
	if (err) {
		free(buf);
		return err;
	}
	*p++ = '.';
	token__b64url_encode(sig, SIG_RAW, p);
	*out = buf;
	return 0;
}

int token__jws_sign(const struct token_key *k, const char *header, const char *payload,
		    char **out)
{
	size_t hl = strlen(header);
	char *h64 = malloc(B64URL_LEN(hl) + 1);
	int err;

	if (!h64)
		return -ENOMEM;
	token__b64url_encode(header, hl, h64);
	err = jws_finish(k, h64, strlen(h64), payload, strlen(payload), out);
	free(h64);
	return err;
}

/* act for chain level i (the parent of level i + 1): {sub, sid, act...} */
static void write_act(struct jsonw *w, const struct token_claims *c, size_t i)
{
	char sub[300];

	snprintf(sub, sizeof(sub), "agent/%s", c->agents[i]);
	jsonw__key_object(w, "act");
	jsonw__key_string(w, "sub", sub);
	jsonw__key_string(w, "sid", c->sids[i]);
	if (i > 0)
		write_act(w, c, i - 1);
	jsonw__object_end(w);
}

int token__sign(const struct token_key *k, const struct token_claims *c, char **out,
		char jti[TOKEN_JTI_LEN + 1], int64_t *exp)
{
	const char *aud = c->aud ? c->aud : TOKEN_DEFAULT_AUD;
	uint8_t rnd[16];
	char id[TOKEN_JTI_LEN + 1], iss[300], sub[300];
	const char *payload;
	size_t plen, self;
	struct jsonw w;
	int err;

	*out = NULL;
	if (!c->host || !c->gen || !c->sids || !c->agents || !c->nchain || !c->att.exe ||
	    !c->att.exe_sha256 || c->ttl < 1 || c->ttl > TOKEN_TTL_MAX ||
	    !token__valid_audience(aud) || c->iat < 0)
		return -EINVAL;
	self = c->nchain - 1;
	for (size_t i = 0; i < c->nchain; i++)
		if (!c->sids[i] || !c->agents[i])
			return -EINVAL;
	if (snprintf(iss, sizeof(iss), "agentguard://%s", c->host) >= (int)sizeof(iss) ||
	    snprintf(sub, sizeof(sub), "agent/%s", c->agents[self]) >= (int)sizeof(sub))
		return -EINVAL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -EIO;
	token__b64url_encode(rnd, sizeof(rnd), id);

	jsonw__init(&w, TOKEN_PAYLOAD_MAX);
	jsonw__object_begin(&w);
	jsonw__key_string(&w, "iss", iss);
	jsonw__key_string(&w, "sub", sub);
	jsonw__key_string(&w, "aud", aud);
	jsonw__key_int(&w, "iat", c->iat);
	jsonw__key_int(&w, "nbf", c->iat);
	jsonw__key_int(&w, "exp", c->iat + c->ttl);
	jsonw__key_string(&w, "jti", id);
	jsonw__key_string(&w, "sid", c->sids[self]);
	jsonw__key_string(&w, "gen", c->gen);
	jsonw__key_uint(&w, "cgroup", c->cgroup);
	jsonw__key_array(&w, "lineage");
	for (size_t i = 0; i < c->nchain; i++)
		jsonw__string(&w, c->sids[i]);
	jsonw__array_end(&w);
	if (self > 0)
		write_act(&w, c, self - 1);
	jsonw__key_object(&w, "att");
	jsonw__key_uint(&w, "pid", c->att.pid);
	jsonw__key_uint(&w, "uid", c->att.uid);
	jsonw__key_uint(&w, "gid", c->att.gid);
	jsonw__key_string(&w, "exe", c->att.exe);
	jsonw__key_string(&w, "exe_sha256", c->att.exe_sha256);
	jsonw__key_uint(&w, "start_time", c->att.start_time);
	jsonw__object_end(&w);
	jsonw__object_end(&w);
	err = jsonw__finish(&w, &payload, &plen);
	if (!err)
		err = jws_finish(k, k->header_b64, k->header_b64_len, payload, plen, out);
	jsonw__free(&w);
	if (err)
		return err;
	if (jti)
		memcpy(jti, id, sizeof(id));
	if (exp)
		*exp = c->iat + c->ttl;
	return 0;
}

/* ---- JWK Sets ------------------------------------------------------- */

void token_jwks__free(struct token_jwks *ks)
{
	if (!ks)
		return;
	for (size_t i = 0; i < ks->n; i++) {
		free(ks->v[i].kid);
		EVP_PKEY_free(ks->v[i].pkey);
	}
	free(ks->v);
	free(ks);
}

/* The public key of the uncompressed point (x, y) on P-256, checked. */
static EVP_PKEY *p256_public(const uint8_t x[P256_COORD], const uint8_t y[P256_COORD])
{
	uint8_t point[1 + SIG_RAW];
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *pkey = NULL;

	point[0] = 0x04;
	memcpy(point + 1, x, P256_COORD);
	memcpy(point + 1 + P256_COORD, y, P256_COORD);
	if (!bld ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, P256_GROUP, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
					     sizeof(point)) != 1 ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)))
		goto out;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	/* on the curve, not the point at infinity, of the right order */
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!chk || EVP_PKEY_public_check(chk) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int coord(json_t *jk, const char *name, uint8_t out[P256_COORD])
{
	const char *s = jstr(jk, name);

	if (!s)
		return -EINVAL;
	return token__b64url_decode(s, strlen(s), out, P256_COORD) == P256_COORD ? 0 : -EINVAL;
}

struct token_jwks *token_jwks__parse(const char *text, size_t len, char *why, size_t whylen)
{
	struct token_jwks *ks = NULL;
	json_error_t jerr;
	json_t *root, *keys, *jk;
	size_t i;
	int err = EINVAL;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		set_why(why, whylen, "malformed JWK Set: %s at line %d", jerr.text, jerr.line);
		errno = EINVAL;
		return NULL;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(keys)) {
		set_why(why, whylen, "malformed JWK Set: no \"keys\" array");
		goto fail;
	}
	if (json_array_size(keys) > TOKEN_JWKS_MAX_KEYS) {
		set_why(why, whylen, "JWK Set has more than %d keys", TOKEN_JWKS_MAX_KEYS);
		goto fail;
	}
	ks = calloc(1, sizeof(*ks));
	if (ks)
		ks->v = calloc(json_array_size(keys) + 1, sizeof(*ks->v));
	if (!ks || !ks->v) {
		err = ENOMEM;
		goto fail;
	}
	json_array_foreach(keys, i, jk) {
		const char *kty = jstr(jk, "kty"), *crv = jstr(jk, "crv"), *kid = jstr(jk, "kid");
		json_t *use = json_object_get(jk, "use"), *alg = json_object_get(jk, "alg");
		uint8_t x[P256_COORD], y[P256_COORD];
		struct jwk *w = &ks->v[ks->n];

		if (!json_is_object(jk)) {
			set_why(why, whylen, "key %zu of the JWK Set is not an object", i);
			goto fail;
		}
		if (!kty || strcmp(kty, "EC") || !crv || strcmp(crv, "P-256") ||
		    (use && strcmp(json_string_value(use) ?: "", "sig")) ||
		    (alg && strcmp(json_string_value(alg) ?: "", TOKEN_ALG)))
			continue;	/* not an ES256 signing key: not ours to use */
		if (!kid || !*kid) {
			set_why(why, whylen, "key %zu of the JWK Set has no kid", i);
			goto fail;
		}
		if (coord(jk, "x", x) || coord(jk, "y", y)) {
			set_why(why, whylen, "key '%.64s': x and y must be base64url of 32 bytes each",
				kid);
			goto fail;
		}
		w->pkey = p256_public(x, y);
		if (!w->pkey) {
			set_why(why, whylen, "key '%.64s': not a point on P-256", kid);
			goto fail;
		}
		w->kid = strdup(kid);
		ks->n++;
		if (!w->kid) {
			err = ENOMEM;
			goto fail;
		}
	}
	if (ks->n == 0) {
		set_why(why, whylen, "the JWK Set has no EC P-256 key for ES256");
		goto fail;
	}
	json_decref(root);
	return ks;
fail:
	if (err == ENOMEM)
		set_why(why, whylen, "out of memory");
	token_jwks__free(ks);
	json_decref(root);
	errno = err;
	return NULL;
}

struct token_jwks *token_jwks__load(const char *path, char *why, size_t whylen)
{
	char *buf = malloc(TOKEN_JWKS_FILE_MAX + 1);
	struct token_jwks *ks;
	size_t len = 0;
	int fd, err;

	if (!buf) {
		errno = ENOMEM;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		set_why(why, whylen, "cannot read '%s': %s", path, strerror(err));
		free(buf);
		errno = err;
		return NULL;
	}
	err = -util__read_small(fd, buf, TOKEN_JWKS_FILE_MAX + 1, &len);
	close(fd);
	if (err) {
		set_why(why, whylen, "cannot read '%s': %s", path,
			err == EFBIG ? "file too large" : strerror(err));
		free(buf);
		errno = err;
		return NULL;
	}
	ks = token_jwks__parse(buf, len, why, whylen);
	err = errno;
	free(buf);
	if (!ks) {
		char inner[TOKEN_WHY_MAX];

		if (why && whylen) {
			snprintf(inner, sizeof(inner), "%s", why);
			set_why(why, whylen, "'%s': %s", path, inner);
		}
		errno = err;
	}
	return ks;
}

struct token_jwks *token_jwks__from_key(const struct token_key *k)
{
	char *jwks = NULL;
	struct token_jwks *ks;
	int err = token_key__jwks(k, &jwks);

	if (err) {
		errno = -err;
		return NULL;
	}
	ks = token_jwks__parse(jwks, strlen(jwks), NULL, 0);
	err = errno;
	free(jwks);
	errno = err;
	return ks;
}

/* ---- verification --------------------------------------------------- */

static int es256_verify(EVP_PKEY *pkey, const char *msg, size_t len,
			const uint8_t sig[SIG_RAW])
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, P256_COORD, NULL);
	BIGNUM *s = BN_bin2bn(sig + P256_COORD, P256_COORD, NULL);
	uint8_t *der = NULL;
	EVP_MD_CTX *ctx = NULL;
	int dlen, rc = -ENOMEM;

	if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;	/* owned by es now */
	dlen = i2d_ECDSA_SIG(es, &der);
	ctx = EVP_MD_CTX_new();
	if (dlen <= 0 || !ctx)
		goto out;
	rc = -EKEYREJECTED;
	if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	    EVP_DigestVerify(ctx, der, dlen, (const uint8_t *)msg, len) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return rc;
}

/* Decodes the base64url segment seg[0..len) as one JSON object. */
static json_t *segment_json(const char *seg, size_t len, const char *what, char *why,
			    size_t whylen)
{
	uint8_t *buf = malloc(len / 4 * 3 + 3);
	json_error_t jerr;
	json_t *j = NULL;
	long n;

	if (!buf) {
		set_why(why, whylen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	n = token__b64url_decode(seg, len, buf, len / 4 * 3 + 3);
	if (n < 0) {
		set_why(why, whylen, "malformed token: the %s is not canonical base64url", what);
	} else {
		j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &jerr);
		if (!j)
			set_why(why, whylen, "malformed token: the %s is not JSON: %s", what,
				jerr.text);
		else if (!json_is_object(j))
			set_why(why, whylen, "malformed token: the %s is not a JSON object", what);
	}
	free(buf);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	if (!j)
		errno = EBADMSG;
	return j;
}

static bool claim_int(json_t *claims, const char *name, int64_t *v, char *why, size_t whylen)
{
	json_t *j = json_object_get(claims, name);

	if (!json_is_integer(j)) {
		set_why(why, whylen, "claim '%s' is missing or not an integer", name);
		return false;
	}
	*v = json_integer_value(j);
	/* seconds since the epoch, up to the year 33658: no overflow below */
	if (*v < 0 || *v > TIME_CLAIM_MAX) {
		set_why(why, whylen, "claim '%s' is out of range", name);
		return false;
	}
	return true;
}

static bool aud_matches(json_t *a, const char *aud)
{
	size_t i;
	json_t *v;

	if (json_is_string(a))
		return !strcmp(json_string_value(a), aud);
	if (!json_is_array(a))
		return false;
	json_array_foreach(a, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), aud))
			return true;
	return false;
}

/* The token's claims, checked at now. NULL with errno and why. */
static json_t *check_claims(json_t *c, const char *aud, int64_t now, char *why, size_t whylen)
{
	static const char *const strs[] = { "iss", "sub", "jti", "sid" };
	int64_t exp, iat, nbf;
	json_t *a;
	int err = EBADMSG;

	if (!claim_int(c, "exp", &exp, why, whylen) || !claim_int(c, "iat", &iat, why, whylen) ||
	    !claim_int(c, "nbf", &nbf, why, whylen))
		goto fail;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (!json_is_string(json_object_get(c, strs[i]))) {
			set_why(why, whylen, "claim '%s' is missing or not a string", strs[i]);
			goto fail;
		}
	}
	a = json_object_get(c, "aud");
	if (!json_is_string(a) && !json_is_array(a)) {
		set_why(why, whylen, "claim 'aud' is missing or not a string or array");
		goto fail;
	}
	err = EKEYEXPIRED;
	if (exp <= iat || exp - iat > TOKEN_TTL_MAX) {
		set_why(why, whylen, "lifetime exp - iat = %lld s is not within 1..%d s",
			(long long)(exp - iat), TOKEN_TTL_MAX);
		goto fail;
	}
	if (now >= exp + TOKEN_LEEWAY) {
		set_why(why, whylen, "token expired %lld s ago (exp %lld)",
			(long long)(now - exp), (long long)exp);
		goto fail;
	}
	if (nbf > now + TOKEN_LEEWAY) {
		set_why(why, whylen, "token not valid before %lld (%lld s from now)",
			(long long)nbf, (long long)(nbf - now));
		goto fail;
	}
	if (iat > now + TOKEN_LEEWAY) {
		set_why(why, whylen, "token issued in the future (iat %lld, %lld s from now)",
			(long long)iat, (long long)(iat - now));
		goto fail;
	}
	if (!aud_matches(a, aud)) {
		set_why(why, whylen, "audience '%s' does not match the expected '%s'",
			json_is_string(a) ? json_string_value(a) : "[...]", aud);
		err = EACCES;
		goto fail;
	}
	return c;
fail:
	json_decref(c);
	errno = err;
	return NULL;
}

json_t *token__verify(const struct token_jwks *ks, const char *tok, size_t len,
		      const char *aud, int64_t now, char *why, size_t whylen)
{
	const char *dot1, *dot2, *alg, *typ, *kid;
	uint8_t sig[SIG_RAW + 3];
	json_t *hdr, *claims;
	EVP_PKEY *pkey = NULL;
	long slen;
	int err;

	if (!aud || !token__valid_audience(aud)) {
		set_why(why, whylen, "invalid expected audience");
		errno = EINVAL;
		return NULL;
	}
	if (len > TOKEN_MAX) {
		set_why(why, whylen, "malformed token: longer than %d bytes", TOKEN_MAX);
		errno = EBADMSG;
		return NULL;
	}
	dot1 = memchr(tok, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (dot1 + 1 - tok)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (dot2 + 1 - tok))) {
		set_why(why, whylen, "malformed token: not three base64url segments "
			"separated by '.' (JWS compact serialization)");
		errno = EBADMSG;
		return NULL;
	}
	hdr = segment_json(tok, dot1 - tok, "header", why, whylen);
	if (!hdr)
		return NULL;
	alg = jstr(hdr, "alg");
	typ = jstr(hdr, "typ");
	kid = jstr(hdr, "kid");
	err = EBADMSG;
	if (!alg) {
		set_why(why, whylen, "header has no alg");
		goto fail;
	}
	if (strcmp(alg, TOKEN_ALG)) {
		set_why(why, whylen, "alg '%.32s' is refused: only " TOKEN_ALG " is accepted", alg);
		goto fail;
	}
	if (!typ || strcmp(typ, TOKEN_TYP)) {
		set_why(why, whylen, "typ '%.32s' is not '" TOKEN_TYP "'", typ ? typ : "");
		goto fail;
	}
	if (json_object_get(hdr, "crit")) {
		set_why(why, whylen, "header has crit: no extension is understood");
		goto fail;
	}
	if (!kid) {
		set_why(why, whylen, "header has no kid");
		goto fail;
	}
	for (size_t i = 0; i < ks->n && !pkey; i++)
		if (!strcmp(ks->v[i].kid, kid))
			pkey = ks->v[i].pkey;
	if (!pkey) {
		set_why(why, whylen, "unknown kid '%.64s': not in the JWK Set", kid);
		err = ENOKEY;
		goto fail;
	}
	slen = token__b64url_decode(dot2 + 1, len - (dot2 + 1 - tok), sig, sizeof(sig));
	if (slen != SIG_RAW) {
		set_why(why, whylen, "malformed signature: not the base64url of 64 bytes (R || S)");
		goto fail;
	}
	err = -es256_verify(pkey, tok, dot2 - tok, sig);
	if (err) {
		set_why(why, whylen, err == EKEYREJECTED ? "bad signature" : "out of memory");
		goto fail;
	}
	json_decref(hdr);
	claims = segment_json(dot1 + 1, dot2 - dot1 - 1, "payload", why, whylen);
	if (!claims)
		return NULL;
	return check_claims(claims, aud, now, why, whylen);
fail:
	json_decref(hdr);
	errno = err;
	return NULL;
}
