/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_token: identity tokens. Sign and verify round trip with every claim,
 * the exact header, each kind of tampering and refused header, time and
 * audience checks, the TTL bound, the key files (modes, refusals, JWK Set,
 * RFC 7638 kid), and a known answer: a token signed by PyJWT (an
 * independent implementation) verifies here.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "token.h"

#define NOW 1800000000LL

static const char *const chain_sids[] = { "01ROOT0000000000000000000A", "01MID00000000000000000000B",
					  "01SELF000000000000000000C" };
static const char *const chain_agents[] = { "root-agent", "mid-agent", "self-agent" };

/* A token by PyJWT 2.6 (Debian's python3-jwt) with its own P-256 key:
 * jwt.encode(claims, key, algorithm="ES256", headers={typ, kid}). */
static const char pyjwt_jwks[] =
	"{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", "
	"\"x\": \"2cyy6pQvrXxOOeEVEQnh53Mb4Kspg1WTH-qlfLXDnVU\", "
	"\"y\": \"8FYhoSrQx6VbJrQVVfodKxKGRyVpUhEp9jwUTlF80uI\", \"kid\": \"pyjwt-test\"}]}";
static const char pyjwt_token[] =
	"eyJhbGciOiJFUzI1NiIsImtpZCI6InB5and0LXRlc3QiLCJ0eXAiOiJhZ2VudC1pZCtqd3QifQ."
	"eyJpc3MiOiJhZ2VudGd1YXJkOi8vcHlqd3QiLCJzdWIiOiJhZ2VudC9pbnRlcm9wIiwiYXVkIjoiYWdlbnRndWFy"
	"ZCIsImlhdCI6MTcwMDAwMDAwMCwibmJmIjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDA5MDAsImp0aSI6IkFBQUFB"
	"QUFBQUFBQUFBQUFBQUFBQUEiLCJzaWQiOiIwMUhaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWiJ9."
	"gHFRrj5kAKaimDlqt_I-JLXvL0hWRPOdUDjzwzQDgV8arIzak5TDsBI3H7Y8rYfpZaSbJsUAZ-nrXYCqjoaR6Q";

/* ---- helpers ------------------------------------------------------------ */

static struct token_claims claims_of(size_t nchain)
{
	struct token_claims c = {
		.host = "testhost",
		.aud = "svc.example",
		.iat = NOW,
		.ttl = 900,
		.gen = "sha256:0123",
		.cgroup = 4242,
		.sids = chain_sids + 3 - nchain,
		.agents = chain_agents + 3 - nchain,
		.nchain = nchain,
		.att = { .pid = 1234, .uid = 1000, .gid = 1001, .exe = "/usr/bin/python3",
			 .exe_sha256 = "ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01",
			 .start_time = 987654 },
	};
	return c;
}

static char *sign_ok(const struct token_key *k, const struct token_claims *c)
{
	char *tok = NULL;

	assert_int_equal(token__sign(k, c, &tok, NULL, NULL), 0);
	assert_non_null(tok);
	return tok;
}

/* verify and expect failure with errno e and a reason containing what */
static void verify_fails(const struct token_jwks *ks, const char *tok, const char *aud,
			 int64_t now, int e, const char *what)
{
	char why[TOKEN_WHY_MAX] = "";
	json_t *c = token__verify(ks, tok, strlen(tok), aud, now, why, sizeof(why));

	if (c) {
		json_decref(c);
		fail_msg("token verified, expected '%s'", what);
	}
	if (errno != e || !strstr(why, what))
		fail_msg("errno %d (%s), why '%s'; expected %d, '%s'", errno, strerror(errno), why,
			 e, what);
}

static json_t *verify_ok(const struct token_jwks *ks, const char *tok, const char *aud,
			 int64_t now)
{
	char why[TOKEN_WHY_MAX] = "";
	json_t *c = token__verify(ks, tok, strlen(tok), aud, now, why, sizeof(why));

	if (!c)
		fail_msg("verify failed: %s", why);
	return c;
}

/* segment i (0 header, 1 payload, 2 signature) of tok, decoded, malloc'd */
static char *segment(const char *tok, int i, size_t *len)
{
	const char *p = tok, *e;
	uint8_t *out;
	long n;

	while (i--)
		p = strchr(p, '.') + 1;
	e = strchr(p, '.');
	if (!e)
		e = p + strlen(p);
	out = malloc(e - p + 1);
	n = token__b64url_decode(p, e - p, out, e - p);
	assert_true(n >= 0);
	out[n] = 0;
	if (len)
		*len = n;
	return (char *)out;
}

/* tok with segment i replaced by the base64url of text[0..len) */
static char *replace_segment(const char *tok, int i, const void *text, size_t len)
{
	char *segs[3], *out, *dup = strdup(tok), *save = NULL;
	char *enc = malloc(len * 2 + 4);

	segs[0] = strtok_r(dup, ".", &save);
	segs[1] = strtok_r(NULL, ".", &save);
	segs[2] = strtok_r(NULL, ".", &save);
	token__b64url_encode(text, len, enc);
	segs[i] = enc;
	assert_true(asprintf(&out, "%s.%s.%s", segs[0], segs[1], segs[2] ? segs[2] : "") > 0);
	free(dup);
	free(enc);
	return out;
}

static char *b64u(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 4);

	token__b64url_encode(s, strlen(s), out);
	return out;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static char *mkstate(void)
{
	char *d = strdup("/tmp/test_token.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void rm_rf(char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);

	assert_non_null(f);
	fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* ---- tests -------------------------------------------------------------- */

static void test_b64url(void **state)
{
	uint8_t out[16];
	char enc[16];

	/* RFC 4648 section 10 vectors, unpadded, and the url alphabet */
	assert_int_equal(token__b64url_encode("", 0, enc), 0);
	assert_int_equal(token__b64url_encode("f", 1, enc), 2);
	assert_string_equal(enc, "Zg");
	token__b64url_encode("fo", 2, enc);
	assert_string_equal(enc, "Zm8");
	token__b64url_encode("foobar", 6, enc);
	assert_string_equal(enc, "Zm9vYmFy");
	token__b64url_encode("\xfb\xff", 2, enc);
	assert_string_equal(enc, "-_8");
	assert_int_equal(token__b64url_decode("-_8", 3, out, sizeof(out)), 2);
	assert_memory_equal(out, "\xfb\xff", 2);
	assert_int_equal(token__b64url_decode("Zm9vYmFy", 8, out, sizeof(out)), 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(token__b64url_decode("Zm8", 3, out, sizeof(out)), 2);
	assert_int_equal(token__b64url_decode("Zg", 2, out, sizeof(out)), 1);
	/* not canonical, padded, the standard alphabet, a lone character */
	assert_int_equal(token__b64url_decode("Zh", 2, out, sizeof(out)), -EINVAL);
	assert_int_equal(token__b64url_decode("Zm9", 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(token__b64url_decode("Zg==", 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(token__b64url_decode("+/8", 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(token__b64url_decode("Zm9vY", 5, out, sizeof(out)), -EINVAL);
	assert_int_equal(token__b64url_decode("Zm9vYmFy", 8, out, 5), -ENOSPC);
}

static void test_roundtrip(void **state)
{
	struct token_key *k = token_key__generate();
	struct token_jwks *ks = token_jwks__from_key(k);
	struct token_claims c = claims_of(3);
	char *tok = NULL, jti[TOKEN_JTI_LEN + 1], *hdr, *sig, expect[200];
	json_t *cl, *act, *att;
	size_t siglen;
	int64_t exp;

	assert_non_null(k);
	assert_non_null(ks);
	assert_int_equal(token__sign(k, &c, &tok, jti, &exp), 0);
	assert_int_equal(exp, NOW + 900);
	assert_int_equal(strlen(jti), TOKEN_JTI_LEN);
	/* the header, byte for byte */
	hdr = segment(tok, 0, NULL);
	snprintf(expect, sizeof(expect), "{\"alg\":\"ES256\",\"typ\":\"agent-id+jwt\",\"kid\":\"%s\"}",
		 token_key__kid(k));
	assert_string_equal(hdr, expect);
	/* the signature is raw R || S, not DER */
	sig = segment(tok, 2, &siglen);
	assert_int_equal(siglen, 64);
	assert_int_equal(strlen(strrchr(tok, '.') + 1), 86);

	cl = verify_ok(ks, tok, "svc.example", NOW + 10);
	assert_string_equal(json_string_value(json_object_get(cl, "iss")), "agentguard://testhost");
	assert_string_equal(json_string_value(json_object_get(cl, "sub")), "agent/self-agent");
	assert_string_equal(json_string_value(json_object_get(cl, "aud")), "svc.example");
	assert_int_equal(json_integer_value(json_object_get(cl, "iat")), NOW);
	assert_int_equal(json_integer_value(json_object_get(cl, "nbf")), NOW);
	assert_int_equal(json_integer_value(json_object_get(cl, "exp")), NOW + 900);
	assert_string_equal(json_string_value(json_object_get(cl, "jti")), jti);
	assert_string_equal(json_string_value(json_object_get(cl, "sid")), chain_sids[2]);
	assert_string_equal(json_string_value(json_object_get(cl, "gen")), "sha256:0123");
	assert_int_equal(json_integer_value(json_object_get(cl, "cgroup")), 4242);
	assert_int_equal(json_array_size(json_object_get(cl, "lineage")), 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(json_string_value(json_array_get(json_object_get(cl, "lineage"), i)),
				    chain_sids[i]);
	/* act: the parent, whose act is the grandparent, who has none */
	act = json_object_get(cl, "act");
	assert_string_equal(json_string_value(json_object_get(act, "sub")), "agent/mid-agent");
	assert_string_equal(json_string_value(json_object_get(act, "sid")), chain_sids[1]);
	act = json_object_get(act, "act");
	assert_string_equal(json_string_value(json_object_get(act, "sub")), "agent/root-agent");
	assert_string_equal(json_string_value(json_object_get(act, "sid")), chain_sids[0]);
	assert_null(json_object_get(act, "act"));
	att = json_object_get(cl, "att");
	assert_int_equal(json_integer_value(json_object_get(att, "pid")), 1234);
	assert_int_equal(json_integer_value(json_object_get(att, "uid")), 1000);
	assert_int_equal(json_integer_value(json_object_get(att, "gid")), 1001);
	assert_string_equal(json_string_value(json_object_get(att, "exe")), "/usr/bin/python3");
	assert_string_equal(json_string_value(json_object_get(att, "exe_sha256")), c.att.exe_sha256);
	assert_int_equal(json_integer_value(json_object_get(att, "start_time")), 987654);
	json_decref(cl);
	free(tok);

	/* two tokens never share a jti */
	{
		char j2[TOKEN_JTI_LEN + 1];

		assert_int_equal(token__sign(k, &c, &tok, j2, NULL), 0);
		assert_string_not_equal(jti, j2);
		free(tok);
	}
	/* a root session has lineage of one and no act; aud defaults */
	c = claims_of(1);
	c.aud = NULL;
	tok = sign_ok(k, &c);
	cl = verify_ok(ks, tok, TOKEN_DEFAULT_AUD, NOW);
	assert_int_equal(json_array_size(json_object_get(cl, "lineage")), 1);
	assert_null(json_object_get(cl, "act"));
	assert_string_equal(json_string_value(json_object_get(cl, "sub")), "agent/self-agent");
	assert_string_equal(json_string_value(json_object_get(cl, "aud")), "agentguard");
	json_decref(cl);
	free(tok);
	/* the claims are in the documented order */
	c = claims_of(2);
	tok = sign_ok(k, &c);
	{
		char *p = segment(tok, 1, NULL);
		static const char *const order[] = { "\"iss\"", "\"sub\"", "\"aud\"", "\"iat\"",
			"\"nbf\"", "\"exp\"", "\"jti\"", "\"sid\"", "\"gen\"", "\"cgroup\"",
			"\"lineage\"", "\"act\"", "\"att\"" };
		const char *at = p;

		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			const char *n = strstr(at, order[i]);

			if (!n)
				fail_msg("claim %s missing or out of order in %s", order[i], p);
			at = n;
		}
		free(p);
	}
	free(tok);
	free(hdr);
	free(sig);
	token_jwks__free(ks);
	token_key__free(k);
}

static void test_tampered(void **state)
{
	struct token_key *k = token_key__generate();
	struct token_jwks *ks = token_jwks__from_key(k);
	struct token_claims c = claims_of(2);
	char *tok = sign_ok(k, &c), *p, *t, *h, *s;
	size_t plen, n;

	/* the untouched token verifies: what follows fails by the tampering */
	json_decref(verify_ok(ks, tok, "svc.example", NOW));

	/* payload: another agent, the same signature */
	p = segment(tok, 1, &plen);
	memcpy(strstr(p, "agent/self-agent"), "agent/evil-agent", 16);
	t = replace_segment(tok, 1, p, plen);
	verify_fails(ks, t, "svc.example", NOW, EKEYREJECTED, "bad signature");
	free(t);
	free(p);
	/* payload: one character of the base64 changed */
	t = strdup(tok);
	p = strchr(t, '.') + 5;
	*p = *p == 'A' ? 'B' : 'A';
	verify_fails(ks, t, "svc.example", NOW, EKEYREJECTED, "bad signature");
	free(t);
	/* signature: one bit of S flipped */
	s = segment(tok, 2, &n);
	s[40] ^= 1;
	t = replace_segment(tok, 2, s, n);
	verify_fails(ks, t, "svc.example", NOW, EKEYREJECTED, "bad signature");
	free(t);
	/* signature: R and S swapped */
	{
		char sw[64];

		s[40] ^= 1;
		memcpy(sw, s + 32, 32);
		memcpy(sw + 32, s, 32);
		t = replace_segment(tok, 2, sw, 64);
		verify_fails(ks, t, "svc.example", NOW, EKEYREJECTED, "bad signature");
		free(t);
	}
	/* signature: DER instead of R || S, or truncated, or missing */
	t = replace_segment(tok, 2, s, 63);
	verify_fails(ks, t, "svc.example", NOW, EBADMSG, "not the base64url of 64 bytes");
	free(t);
	free(s);
	t = strdup(tok);
	*(strrchr(t, '.') + 1) = 0;
	verify_fails(ks, t, "svc.example", NOW, EBADMSG, "64 bytes");
	free(t);
	/* header: same fields, one more: the signature covers the header */
	h = segment(tok, 0, &n);
	{
		char h2[256];

		snprintf(h2, sizeof(h2), "%.*s,\"x\":1}", (int)n - 1, h);
		t = replace_segment(tok, 0, h2, strlen(h2));
		verify_fails(ks, t, "svc.example", NOW, EKEYREJECTED, "bad signature");
		free(t);
	}
	free(h);
	/* structure */
	verify_fails(ks, "", "svc.example", NOW, EBADMSG, "three base64url segments");
	verify_fails(ks, "a.b", "svc.example", NOW, EBADMSG, "three base64url segments");
	verify_fails(ks, "a.b.c.d", "svc.example", NOW, EBADMSG, "three base64url segments");
	assert_true(asprintf(&t, "%s.x", tok) > 0);
	verify_fails(ks, t, "svc.example", NOW, EBADMSG, "three base64url segments");
	free(t);
	t = strdup(tok);
	t[3] = '+';
	verify_fails(ks, t, "svc.example", NOW, EBADMSG, "header is not canonical base64url");
	free(t);
	t = replace_segment(tok, 0, "[1]", 3);
	verify_fails(ks, t, "svc.example", NOW, EBADMSG, "header is not a JSON object");
	free(t);
	free(tok);
	token_jwks__free(ks);
	token_key__free(k);
}

static void test_refused_headers(void **state)
{
	struct token_key *k = token_key__generate();
	struct token_jwks *ks = token_jwks__from_key(k);
	struct token_claims c = claims_of(1);
	char *tok = sign_ok(k, &c), *payload = segment(tok, 1, NULL), *t, *h64, *p64, *jwks;
	char hdr[256];
	const char *kid = token_key__kid(k);

	/* alg none: no signature at all */
	h64 = b64u("{\"alg\":\"none\",\"typ\":\"agent-id+jwt\"}");
	p64 = b64u(payload);
	assert_true(asprintf(&t, "%s.%s.", h64, p64) > 0);
	verify_fails(ks, t, "svc.example", NOW, EBADMSG, "alg 'none' is refused");
	free(t);
	free(h64);
	/* alg none, with a kid that exists */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"none\",\"typ\":\"agent-id+jwt\",\"kid\":\"%s\"}", kid);
	h64 = b64u(hdr);
	assert_true(asprintf(&t, "%s.%s.", h64, p64) > 0);
	verify_fails(ks, t, "svc.example", NOW, EBADMSG, "alg 'none' is refused");
	free(t);
	free(h64);
	/* HS256 keyed with the public JWK Set (the key confusion attack) */
	assert_int_equal(token_key__jwks(k, &jwks), 0);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":\"agent-id+jwt\",\"kid\":\"%s\"}", kid);
	h64 = b64u(hdr);
	{
		char *input, mac64[64];
		uint8_t mac[32];
		unsigned int maclen = 0;

		assert_true(asprintf(&input, "%s.%s", h64, p64) > 0);
		assert_non_null(HMAC(EVP_sha256(), jwks, strlen(jwks), (uint8_t *)input,
				     strlen(input), mac, &maclen));
		token__b64url_encode(mac, maclen, mac64);
		assert_true(asprintf(&t, "%s.%s", input, mac64) > 0);
		verify_fails(ks, t, "svc.example", NOW, EBADMSG, "alg 'HS256' is refused");
		free(t);
		free(input);
	}
	free(h64);
	free(jwks);
	/* well signed by the right key, but a header that is not ours */
#define SIGNED_BAD(header, e, what) do {					\
		char *_t = NULL;						\
		snprintf(hdr, sizeof(hdr), header, kid);			\
		assert_int_equal(token__jws_sign(k, hdr, payload, &_t), 0);	\
		verify_fails(ks, _t, "svc.example", NOW, e, what);		\
		free(_t);							\
	} while (0)
	SIGNED_BAD("{\"alg\":\"ES384\",\"typ\":\"agent-id+jwt\",\"kid\":\"%s\"}", EBADMSG,
		   "alg 'ES384' is refused");
	SIGNED_BAD("{\"alg\":\"es256\",\"typ\":\"agent-id+jwt\",\"kid\":\"%s\"}", EBADMSG,
		   "alg 'es256' is refused");
	SIGNED_BAD("{\"typ\":\"agent-id+jwt\",\"kid\":\"%s\"}", EBADMSG, "header has no alg");
	SIGNED_BAD("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", EBADMSG,
		   "typ 'JWT' is not 'agent-id+jwt'");
	SIGNED_BAD("{\"alg\":\"ES256\",\"kid\":\"%s\"}", EBADMSG, "typ '' is not");
	SIGNED_BAD("{\"alg\":\"ES256\",\"typ\":\"agent-id+jwt\",\"kid\":\"%s\",\"crit\":[\"x\"],\"x\":1}",
		   EBADMSG, "crit");
	SIGNED_BAD("{\"alg\":\"ES256\",\"alg\":\"ES256\",\"typ\":\"agent-id+jwt\",\"kid\":\"%s\"}",
		   EBADMSG, "not JSON");
	SIGNED_BAD("{\"alg\":\"ES256\",\"typ\":\"agent-id+jwt\"%.0s}", EBADMSG, "no kid");
	/* and the same with our header verifies: the checks above are the cause */
	{
		char *t2 = NULL;

		snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"agent-id+jwt\",\"kid\":\"%s\"}", kid);
		assert_int_equal(token__jws_sign(k, hdr, payload, &t2), 0);
		json_decref(verify_ok(ks, t2, "svc.example", NOW));
		verify_fails(ks, t2, "other", NOW, EACCES, "does not match");
		free(t2);
	}
#undef SIGNED_BAD
	free(p64);
	free(payload);
	free(tok);
	token_jwks__free(ks);
	token_key__free(k);
}

static void test_times(void **state)
{
	struct token_key *k = token_key__generate();
	struct token_jwks *ks = token_jwks__from_key(k);
	struct token_claims c = claims_of(1);
	char *tok, *t = NULL, hdr[200];

	c.ttl = 60;
	tok = sign_ok(k, &c);
	/* valid until exp, plus the leeway; then expired */
	json_decref(verify_ok(ks, tok, "svc.example", NOW));
	json_decref(verify_ok(ks, tok, "svc.example", NOW + 60 + TOKEN_LEEWAY - 1));
	verify_fails(ks, tok, "svc.example", NOW + 60 + TOKEN_LEEWAY, EKEYEXPIRED, "expired");
	verify_fails(ks, tok, "svc.example", NOW + 100000, EKEYEXPIRED, "token expired");
	/* not before nbf, less the leeway */
	json_decref(verify_ok(ks, tok, "svc.example", NOW - TOKEN_LEEWAY));
	verify_fails(ks, tok, "svc.example", NOW - TOKEN_LEEWAY - 1, EKEYEXPIRED,
		     "not valid before");
	verify_fails(ks, tok, "svc.example", NOW - 3000, EKEYEXPIRED, "not valid before");
	free(tok);
	/* iat in the future while nbf is now */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"agent-id+jwt\",\"kid\":\"%s\"}",
		 token_key__kid(k));
	{
		char payload[512];

		snprintf(payload, sizeof(payload), "{\"iss\":\"i\",\"sub\":\"agent/a\",\"aud\":\"svc.example\","
			 "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,\"jti\":\"j\",\"sid\":\"s\"}",
			 NOW + 600, NOW, NOW + 900);
		assert_int_equal(token__jws_sign(k, hdr, payload, &t), 0);
		verify_fails(ks, t, "svc.example", NOW, EKEYEXPIRED, "issued in the future");
		free(t);
		/* times must be integers, and present */
		snprintf(payload, sizeof(payload), "{\"iss\":\"i\",\"sub\":\"agent/a\",\"aud\":\"svc.example\","
			 "\"iat\":%lld,\"nbf\":%lld,\"exp\":\"%lld\",\"jti\":\"j\",\"sid\":\"s\"}",
			 NOW, NOW, NOW + 900);
		assert_int_equal(token__jws_sign(k, hdr, payload, &t), 0);
		verify_fails(ks, t, "svc.example", NOW, EBADMSG, "claim 'exp' is missing or not an integer");
		free(t);
		snprintf(payload, sizeof(payload), "{\"iss\":\"i\",\"sub\":\"agent/a\",\"aud\":\"svc.example\","
			 "\"iat\":-5,\"nbf\":%lld,\"exp\":9223372036854775807,\"jti\":\"j\",\"sid\":\"s\"}",
			 NOW);
		assert_int_equal(token__jws_sign(k, hdr, payload, &t), 0);
		verify_fails(ks, t, "svc.example", NOW, EBADMSG, "claim 'exp' is out of range");
		free(t);
		snprintf(payload, sizeof(payload), "{\"iss\":\"i\",\"sub\":\"agent/a\",\"aud\":\"svc.example\","
			 "\"iat\":%lld,\"exp\":%lld,\"jti\":\"j\",\"sid\":\"s\"}", NOW, NOW + 900);
		assert_int_equal(token__jws_sign(k, hdr, payload, &t), 0);
		verify_fails(ks, t, "svc.example", NOW, EBADMSG, "claim 'nbf' is missing");
		free(t);
		snprintf(payload, sizeof(payload), "{\"iss\":\"i\",\"aud\":\"svc.example\","
			 "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,\"jti\":\"j\",\"sid\":\"s\"}",
			 NOW, NOW, NOW + 900);
		assert_int_equal(token__jws_sign(k, hdr, payload, &t), 0);
		verify_fails(ks, t, "svc.example", NOW, EBADMSG, "claim 'sub' is missing");
		free(t);
	}
	token_jwks__free(ks);
	token_key__free(k);
}

static void test_audience(void **state)
{
	struct token_key *k = token_key__generate();
	struct token_jwks *ks = token_jwks__from_key(k);
	struct token_claims c = claims_of(1);
	char *tok = sign_ok(k, &c), *t = NULL, hdr[200], payload[512];

	json_decref(verify_ok(ks, tok, "svc.example", NOW));
	verify_fails(ks, tok, "svc.example2", NOW, EACCES,
		     "audience 'svc.example' does not match the expected 'svc.example2'");
	verify_fails(ks, tok, "agentguard", NOW, EACCES, "does not match");
	verify_fails(ks, tok, "", NOW, EINVAL, "invalid expected audience");
	verify_fails(ks, tok, "a b", NOW, EINVAL, "invalid expected audience");
	/* an array of audiences: one must match */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"agent-id+jwt\",\"kid\":\"%s\"}",
		 token_key__kid(k));
	snprintf(payload, sizeof(payload), "{\"iss\":\"i\",\"sub\":\"agent/a\",\"aud\":[\"x\",\"y\"],"
		 "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,\"jti\":\"j\",\"sid\":\"s\"}", NOW, NOW, NOW + 60);
	assert_int_equal(token__jws_sign(k, hdr, payload, &t), 0);
	json_decref(verify_ok(ks, t, "y", NOW));
	verify_fails(ks, t, "z", NOW, EACCES, "does not match");
	free(t);
	snprintf(payload, sizeof(payload), "{\"iss\":\"i\",\"sub\":\"agent/a\",\"aud\":7,"
		 "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,\"jti\":\"j\",\"sid\":\"s\"}", NOW, NOW, NOW + 60);
	assert_int_equal(token__jws_sign(k, hdr, payload, &t), 0);
	verify_fails(ks, t, "7", NOW, EBADMSG, "claim 'aud'");
	free(t);
	/* the signer refuses an invalid audience */
	c.aud = "has space";
	assert_int_equal(token__sign(k, &c, &t, NULL, NULL), -EINVAL);
	c.aud = "";
	assert_int_equal(token__sign(k, &c, &t, NULL, NULL), -EINVAL);
	free(tok);
	token_jwks__free(ks);
	token_key__free(k);
}

static void test_unknown_kid(void **state)
{
	struct token_key *k = token_key__generate(), *k2 = token_key__generate();
	struct token_jwks *ks = token_jwks__from_key(k), *ks2 = token_jwks__from_key(k2);
	struct token_claims c = claims_of(1);
	char *tok = sign_ok(k, &c), *payload = segment(tok, 1, NULL), *t = NULL, hdr[200], want[100];

	assert_string_not_equal(token_key__kid(k), token_key__kid(k2));
	json_decref(verify_ok(ks, tok, "svc.example", NOW));
	snprintf(want, sizeof(want), "unknown kid '%s'", token_key__kid(k));
	verify_fails(ks2, tok, "svc.example", NOW, ENOKEY, want);
	/* another key signs, claiming our kid */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"agent-id+jwt\",\"kid\":\"%s\"}",
		 token_key__kid(k));
	assert_int_equal(token__jws_sign(k2, hdr, payload, &t), 0);
	verify_fails(ks, t, "svc.example", NOW, EKEYREJECTED, "bad signature");
	free(t);
	free(payload);
	free(tok);
	token_jwks__free(ks);
	token_jwks__free(ks2);
	token_key__free(k);
	token_key__free(k2);
}

static void test_ttl_bound(void **state)
{
	struct token_key *k = token_key__generate();
	struct token_jwks *ks = token_jwks__from_key(k);
	struct token_claims c = claims_of(1);
	char *tok = NULL, hdr[200], payload[512];
	int64_t exp;
	json_t *cl;

	c.ttl = 0;
	assert_int_equal(token__sign(k, &c, &tok, NULL, NULL), -EINVAL);
	c.ttl = TOKEN_TTL_MAX + 1;
	assert_int_equal(token__sign(k, &c, &tok, NULL, NULL), -EINVAL);
	assert_null(tok);
	c.ttl = TOKEN_TTL_MAX;
	assert_int_equal(token__sign(k, &c, &tok, NULL, &exp), 0);
	cl = verify_ok(ks, tok, "svc.example", NOW);
	assert_int_equal(json_integer_value(json_object_get(cl, "exp")) -
			 json_integer_value(json_object_get(cl, "iat")), TOKEN_TTL_MAX);
	assert_int_equal(exp, NOW + TOKEN_TTL_MAX);
	json_decref(cl);
	free(tok);
	c.ttl = 45;
	tok = sign_ok(k, &c);
	cl = verify_ok(ks, tok, "svc.example", NOW);
	assert_int_equal(json_integer_value(json_object_get(cl, "exp")), NOW + 45);
	json_decref(cl);
	free(tok);
	/* a well-signed token that claims a longer life is refused */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"agent-id+jwt\",\"kid\":\"%s\"}",
		 token_key__kid(k));
	snprintf(payload, sizeof(payload), "{\"iss\":\"i\",\"sub\":\"agent/a\",\"aud\":\"svc.example\","
		 "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,\"jti\":\"j\",\"sid\":\"s\"}",
		 NOW, NOW, NOW + TOKEN_TTL_MAX + 1);
	assert_int_equal(token__jws_sign(k, hdr, payload, &tok), 0);
	verify_fails(ks, tok, "svc.example", NOW, EKEYEXPIRED, "is not within 1..3600 s");
	free(tok);
	snprintf(payload, sizeof(payload), "{\"iss\":\"i\",\"sub\":\"agent/a\",\"aud\":\"svc.example\","
		 "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,\"jti\":\"j\",\"sid\":\"s\"}", NOW, NOW, NOW);
	assert_int_equal(token__jws_sign(k, hdr, payload, &tok), 0);
	verify_fails(ks, tok, "svc.example", NOW, EKEYEXPIRED, "lifetime exp - iat = 0 s");
	free(tok);
	token_jwks__free(ks);
	token_key__free(k);
}

static void test_claims_limits(void **state)
{
	struct token_key *k = token_key__generate();
	struct token_jwks *ks = token_jwks__from_key(k);
	struct token_claims c = claims_of(2);
	char *tok = NULL, *big = malloc(TOKEN_PAYLOAD_MAX + 1);
	json_t *cl;

	/* an exe path that is not UTF-8 is written with U+FFFD and still verifies */
	c.att.exe = "/tmp/\xff\xfe-agent";
	tok = sign_ok(k, &c);
	cl = verify_ok(ks, tok, "svc.example", NOW);
	assert_string_equal(json_string_value(json_object_get(json_object_get(cl, "att"), "exe")),
			    "/tmp/\xef\xbf\xbd\xef\xbf\xbd-agent");
	json_decref(cl);
	free(tok);
	/* claims too large for a token */
	memset(big, 'a', TOKEN_PAYLOAD_MAX);
	big[TOKEN_PAYLOAD_MAX] = 0;
	c.att.exe = big;
	tok = NULL;
	assert_int_equal(token__sign(k, &c, &tok, NULL, NULL), -E2BIG);
	assert_null(tok);
	/* missing fields */
	c = claims_of(2);
	c.gen = NULL;
	assert_int_equal(token__sign(k, &c, &tok, NULL, NULL), -EINVAL);
	c = claims_of(2);
	c.nchain = 0;
	assert_int_equal(token__sign(k, &c, &tok, NULL, NULL), -EINVAL);
	/* a token longer than TOKEN_MAX is not even parsed */
	{
		char *t = malloc(TOKEN_MAX + 2);

		memset(t, 'a', TOKEN_MAX + 1);
		t[TOKEN_MAX + 1] = 0;
		t[10] = t[20] = '.';
		verify_fails(ks, t, "svc.example", NOW, EBADMSG, "longer than");
		free(t);
	}
	free(big);
	token_jwks__free(ks);
	token_key__free(k);
}

static void test_pyjwt_known_answer(void **state)
{
	char why[TOKEN_WHY_MAX];
	struct token_jwks *ks = token_jwks__parse(pyjwt_jwks, strlen(pyjwt_jwks), why, sizeof(why));
	json_t *cl;
	char *t;

	assert_non_null(ks);
	cl = verify_ok(ks, pyjwt_token, "agentguard", 1700000100);
	assert_string_equal(json_string_value(json_object_get(cl, "sub")), "agent/interop");
	json_decref(cl);
	verify_fails(ks, pyjwt_token, "agentguard", 1700000900 + TOKEN_LEEWAY, EKEYEXPIRED, "expired");
	t = strdup(pyjwt_token);
	t[strlen(t) - 3] = t[strlen(t) - 3] == 'R' ? 'S' : 'R';
	verify_fails(ks, t, "agentguard", 1700000100, EKEYREJECTED, "bad signature");
	free(t);
	token_jwks__free(ks);
}

static void test_jwks_parse(void **state)
{
	struct token_key *k = token_key__generate();
	char why[TOKEN_WHY_MAX], *jwks, buf[2048], *x;
	struct token_jwks *ks;

	assert_int_equal(token_key__jwks(k, &jwks), 0);
	/* with an RSA key and an encryption key beside it: those are skipped */
	snprintf(buf, sizeof(buf), "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":\"enc\",\"kid\":\"e\"},%s",
		 strchr(jwks, '[') + 1);
	ks = token_jwks__parse(buf, strlen(buf), why, sizeof(why));
	if (!ks)
		fail_msg("%s", why);
	token_jwks__free(ks);
#define PARSE_FAILS(text, what) do {						\
		why[0] = 0;							\
		assert_null(token_jwks__parse(text, strlen(text), why, sizeof(why))); \
		assert_int_equal(errno, EINVAL);				\
		if (!strstr(why, what))						\
			fail_msg("why '%s', expected '%s'", why, what);		\
	} while (0)
	PARSE_FAILS("not json", "malformed JWK Set");
	PARSE_FAILS("{\"keys\":{}}", "no \"keys\" array");
	PARSE_FAILS("{\"keys\":[]}", "no EC P-256 key");
	PARSE_FAILS("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"kid\":\"a\"}]}", "no EC P-256 key");
	/* x one byte short; then a point not on the curve */
	strcpy(buf, jwks);
	x = strstr(buf, "\"x\":\"") + 5;
	memmove(x, x + 2, strlen(x + 2) + 1);
	PARSE_FAILS(buf, "x and y must be base64url of 32 bytes");
	strcpy(buf, jwks);
	x = strstr(buf, "\"x\":\"") + 5;
	x[5] = x[5] == 'A' ? 'B' : 'A';
	PARSE_FAILS(buf, "not a point on P-256");
	strcpy(buf, jwks);
	memcpy(strstr(buf, "\"kid\""), "\"kix\"", 5);
	PARSE_FAILS(buf, "has no kid");
#undef PARSE_FAILS
	free(jwks);
	token_key__free(k);
}

static void test_key_files(void **state)
{
	char *dir = mkstate(), kp[512], jp[512], why[TOKEN_WHY_MAX], kid[TOKEN_KID_LEN + 1];
	struct token_key *k, *k2;
	struct stat st;
	bool created;
	char *text;

	snprintf(kp, sizeof(kp), "%s/keys/token.key", dir);
	snprintf(jp, sizeof(jp), "%s/keys/jwks.json", dir);
	k = token_key__open(dir, &created, why, sizeof(why));
	if (!k)
		fail_msg("%s", why);
	assert_true(created);
	snprintf(kid, sizeof(kid), "%s", token_key__kid(k));
	assert_int_equal(stat(kp, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(jp, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	text = read_file(kp);
	assert_non_null(strstr(text, "-----BEGIN PRIVATE KEY-----"));
	free(text);
	token_key__free(k);
	/* reopened: the same key, not created again */
	k = token_key__open(dir, &created, why, sizeof(why));
	assert_non_null(k);
	assert_false(created);
	assert_string_equal(token_key__kid(k), kid);
	/* jwks.json missing or wrong is rewritten from the key */
	unlink(jp);
	k2 = token_key__open(dir, NULL, why, sizeof(why));
	assert_non_null(k2);
	token_key__free(k2);
	text = read_file(jp);
	assert_non_null(strstr(text, kid));
	free(text);
	write_file(jp, "{\"keys\":[]}\n", 0644);
	k2 = token_key__open(dir, NULL, why, sizeof(why));
	assert_non_null(k2);
	token_key__free(k2);
	text = read_file(jp);
	assert_non_null(strstr(text, kid));
	free(text);
	/* save never replaces a key */
	assert_int_equal(token_key__save(k, kp, jp), -EEXIST);
	token_key__free(k);

	/* group or world may read it: refused, and nothing is replaced */
	assert_int_equal(chmod(kp, 0640), 0);
	assert_null(token_key__open(dir, NULL, why, sizeof(why)));
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(why, kp));
	assert_non_null(strstr(why, "mode 0600 (it is mode 0640"));
	assert_int_equal(chmod(kp, 0604), 0);
	assert_null(token_key__load(kp, why, sizeof(why)));
	assert_int_equal(errno, EPERM);
	assert_int_equal(chmod(kp, 0600), 0);
	k = token_key__load(kp, why, sizeof(why));
	assert_non_null(k);
	assert_string_equal(token_key__kid(k), kid);
	token_key__free(k);
	/* a symlink is not followed */
	{
		char lp[600];

		snprintf(lp, sizeof(lp), "%s/keys/link.key", dir);
		assert_int_equal(symlink(kp, lp), 0);
		assert_null(token_key__load(lp, why, sizeof(why)));
		assert_int_equal(errno, ELOOP);
	}

	/* keys that are not P-256, or not keys */
	{
		EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		char other[600];
		FILE *f;

		snprintf(other, sizeof(other), "%s/keys/other.key", dir);
		f = fopen(other, "w");
		assert_int_equal(PEM_write_PrivateKey(f, p384, NULL, NULL, 0, NULL, NULL), 1);
		fclose(f);
		chmod(other, 0600);
		assert_null(token_key__load(other, why, sizeof(why)));
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(why, "not an EC P-256 key"));
		f = fopen(other, "w");
		assert_int_equal(PEM_write_PrivateKey(f, ed, NULL, NULL, 0, NULL, NULL), 1);
		fclose(f);
		assert_null(token_key__load(other, why, sizeof(why)));
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(why, "not an EC P-256 key"));
		write_file(other, "garbage\n", 0600);
		assert_null(token_key__load(other, why, sizeof(why)));
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(why, "not a PEM private key"));
		/* the daemon's open refuses a bad token.key rather than replace it */
		assert_int_equal(rename(other, kp), 0);
		assert_null(token_key__open(dir, NULL, why, sizeof(why)));
		assert_int_equal(errno, EINVAL);
		text = read_file(kp);
		assert_string_equal(text, "garbage\n");
		free(text);
		EVP_PKEY_free(p384);
		EVP_PKEY_free(ed);
	}
	rm_rf(dir);
}

static void test_jwks_content(void **state)
{
	char *dir = mkstate(), jp[512], kp[512], why[TOKEN_WHY_MAX], thumb[256], kid[64];
	struct token_key *k = token_key__open(dir, NULL, why, sizeof(why));
	json_t *j, *key;
	json_error_t jerr;
	const char *x, *y, *member;
	uint8_t xb[40], yb[40], md[32], pub[65];
	size_t publen = 0;
	json_t *v;
	char *text;
	EVP_PKEY *pk;
	FILE *f;

	assert_non_null(k);
	snprintf(jp, sizeof(jp), "%s/keys/jwks.json", dir);
	snprintf(kp, sizeof(kp), "%s/keys/token.key", dir);
	text = read_file(jp);
	j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 1);
	assert_int_equal(json_array_size(json_object_get(j, "keys")), 1);
	key = json_array_get(json_object_get(j, "keys"), 0);
	/* exactly these members: no private "d" */
	json_object_foreach(key, member, v) {
		if (strcmp(member, "kty") && strcmp(member, "crv") && strcmp(member, "x") &&
		    strcmp(member, "y") && strcmp(member, "kid") && strcmp(member, "alg") &&
		    strcmp(member, "use"))
			fail_msg("unexpected member '%s'", member);
	}
	assert_int_equal(json_object_size(key), 7);
	assert_string_equal(json_string_value(json_object_get(key, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(key, "crv")), "P-256");
	assert_string_equal(json_string_value(json_object_get(key, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(key, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(key, "kid")), token_key__kid(k));
	x = json_string_value(json_object_get(key, "x"));
	y = json_string_value(json_object_get(key, "y"));
	assert_int_equal(token__b64url_decode(x, strlen(x), xb, sizeof(xb)), 32);
	assert_int_equal(token__b64url_decode(y, strlen(y), yb, sizeof(yb)), 32);
	/* x and y are the private key's public point, as OpenSSL reads the PEM */
	f = fopen(kp, "r");
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(pk);
	assert_int_equal(EVP_PKEY_get_octet_string_param(pk, "pub", pub, sizeof(pub), &publen), 1);
	assert_int_equal(publen, 65);
	assert_int_equal(pub[0], 4);
	assert_memory_equal(pub + 1, xb, 32);
	assert_memory_equal(pub + 33, yb, 32);
	EVP_PKEY_free(pk);
	/* kid is the RFC 7638 thumbprint, computed here on its own */
	snprintf(thumb, sizeof(thumb), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		 x, y);
	assert_int_equal(EVP_Digest(thumb, strlen(thumb), md, NULL, EVP_sha256(), NULL), 1);
	token__b64url_encode(md, 32, kid);
	assert_string_equal(kid, token_key__kid(k));
	assert_int_equal(strlen(kid), TOKEN_KID_LEN);
	/* the file verifies tokens of the key */
	{
		struct token_jwks *ks = token_jwks__load(jp, why, sizeof(why));
		struct token_claims c = claims_of(1);
		char *tok = sign_ok(k, &c);

		assert_non_null(ks);
		json_decref(verify_ok(ks, tok, "svc.example", NOW));
		free(tok);
		token_jwks__free(ks);
	}
	json_decref(j);
	free(text);
	token_key__free(k);
	rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_refused_headers),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_audience),
		cmocka_unit_test(test_unknown_kid),
		cmocka_unit_test(test_ttl_bound),
		cmocka_unit_test(test_claims_limits),
		cmocka_unit_test(test_pyjwt_known_answer),
		cmocka_unit_test(test_jwks_parse),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_jwks_content),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
