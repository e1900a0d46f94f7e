/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * token.h: agent identity tokens (DESIGN.md section 7, docs/tokens.md).
 *
 * A token is a JWT in JWS compact serialization signed with ES256 (ECDSA
 * P-256 with SHA-256, RFC 7518 section 3.4: the signature is R || S, 64
 * bytes), with the header
 *
 *   {"alg":"ES256","typ":"agent-id+jwt","kid":"<kid>"}
 *
 * and the claims iss, sub, aud, iat, nbf, exp, jti, sid, gen, cgroup,
 * lineage, act (RFC 8693 actor chain) and att, in that order.
 *
 * Key files under <state-dir>:
 *   keys/token.key   P-256 private key, PKCS#8 PEM, mode 0600, created once
 *   keys/jwks.json   its public key as a JWK Set (RFC 7517), mode 0644
 *
 * kid is the RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key.
 * A pure module: no daemon state; the daemon attests the caller and fills
 * struct token_claims. Base64url here is RFC 4648 section 5 without padding;
 * the decoder accepts only the canonical encoding.
 */
#ifndef AG_TOKEN_H
#define AG_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define TOKEN_ALG		"ES256"
#define TOKEN_TYP		"agent-id+jwt"
#define TOKEN_DEFAULT_AUD	"agentguard"
#define TOKEN_TTL_MAX		3600	/* seconds: no token lives longer (tokenTTL max) */
#define TOKEN_LEEWAY		30	/* seconds of clock skew verify allows */
#define TOKEN_AUD_MAX		255	/* bytes of an audience */
#define TOKEN_PAYLOAD_MAX	10240	/* bytes of the claims JSON */
#define TOKEN_MAX		16384	/* bytes of a compact token */
#define TOKEN_KID_LEN		43	/* base64url of a SHA-256 */
#define TOKEN_JTI_LEN		22	/* base64url of 128 random bits */
#define TOKEN_SHA256_HEX	64
#define TOKEN_JWKS_MAX_KEYS	64
#define TOKEN_KEY_FILE_MAX	4096	/* bytes of keys/token.key */
#define TOKEN_JWKS_FILE_MAX	65536	/* bytes of a JWK Set file */
#define TOKEN_WHY_MAX		320	/* a reason buffer that always suffices */

struct token_key;
struct token_jwks;

/* What the kernel attested about the caller (the claim att). */
struct token_att {
	uint32_t pid, uid, gid;
	const char *exe;		/* readlink /proc/<pid>/exe */
	const char *exe_sha256;		/* 64 lowercase hex digits */
	uint64_t start_time;		/* clock ticks after boot, /proc/<pid>/stat field 22 */
};

/* The claims of one token. */
struct token_claims {
	const char *host;		/* iss is "agentguard://<host>" */
	const char *aud;		/* NULL: TOKEN_DEFAULT_AUD */
	int64_t iat;			/* seconds since the epoch; nbf = iat */
	unsigned ttl;			/* exp = iat + ttl, 1..TOKEN_TTL_MAX */
	const char *gen;		/* the manifest generation */
	uint64_t cgroup;		/* the session's cgroup id */
	/* The session chain, root first: sids[i] is a session id, agents[i]
	 * its agent's name. [nchain - 1] is the token's own session (sid, sub);
	 * all of sids is lineage, and the ones before it make act. */
	const char *const *sids;
	const char *const *agents;
	size_t nchain;
	struct token_att att;
};

/* token__b64url_encode: writes the unpadded base64url of in[0..len) and a
 * NUL to out, which must hold (len * 4 + 2) / 3 + 1 bytes. Returns the
 * length written (without the NUL). */
size_t token__b64url_encode(const void *in, size_t len, char *out);

/* token__b64url_decode: decodes the canonical unpadded base64url
 * in[0..len) into out (capacity cap). Returns the decoded length, or
 * -EINVAL if in is not canonical base64url, -ENOSPC if it does not fit. */
long token__b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/* token__valid_audience: whether aud is 1..TOKEN_AUD_MAX bytes of printable
 * ASCII without spaces (a name or a URI). */
bool token__valid_audience(const char *aud);

/* token_key__generate: a new random P-256 key. NULL with errno ENOMEM or
 * EIO (OpenSSL failure). Free with token_key__free(). */
struct token_key *token_key__generate(void);

/* token_key__load: reads the PEM private key at path. Refuses a file that
 * is not a regular file of this user or that group or others may access
 * (EPERM), larger than TOKEN_KEY_FILE_MAX (EFBIG), not a PEM private key or
 * not an EC P-256 key (EINVAL). NULL with errno set (ENOENT if missing) and,
 * if why is not NULL, a lowercase reason in why[0..whylen). */
struct token_key *token_key__load(const char *path, char *why, size_t whylen);

/* token_key__save: writes the private key to key_path (PKCS#8 PEM, mode
 * 0600, created exclusively: -EEXIST if it exists, never replaced) and the
 * JWK Set to jwks_path (mode 0644, atomically replaced), both fsynced with
 * their directory. Returns 0 or -errno. */
int token_key__save(const struct token_key *k, const char *key_path,
		    const char *jwks_path);

/* token_key__open: the daemon's key: loads <state_dir>/keys/token.key, or
 * creates it (and the directories, 0755) when missing; then rewrites
 * keys/jwks.json if it is missing or does not match the key. *created (if
 * not NULL) says whether the key is new. NULL with errno set and a reason
 * naming the file in why (as token_key__load()). */
struct token_key *token_key__open(const char *state_dir, bool *created, char *why,
				  size_t whylen);

/* token_key__kid: the key id (RFC 7638 thumbprint), owned by k. */
const char *token_key__kid(const struct token_key *k);

/* token_key__jwks: the JWK Set of the public key, one JSON object and a
 * newline, malloc'd into *out (owned by the caller):
 *   {"keys":[{"kty":"EC","crv":"P-256","x":..,"y":..,"kid":..,"alg":"ES256","use":"sig"}]}
 * Returns 0 or -ENOMEM. */
int token_key__jwks(const struct token_key *k, char **out);

/* token_key__free: frees k; NULL is a no-op. */
void token_key__free(struct token_key *k);

/* token__sign: the token of c, signed with k, malloc'd into *out (owned by
 * the caller, NUL-terminated). iat = c->iat, nbf = iat, exp = iat + c->ttl
 * (*exp receives it if exp is not NULL); jti is 128 random bits, base64url,
 * copied to jti (if not NULL). Returns 0; -EINVAL for invalid claims (ttl
 * out of 1..TOKEN_TTL_MAX, an invalid audience, a missing field, an empty
 * chain); -E2BIG if the claims exceed TOKEN_PAYLOAD_MAX; -ENOMEM; -EIO. */
int token__sign(const struct token_key *k, const struct token_claims *c, char **out,
		char jti[TOKEN_JTI_LEN + 1], int64_t *exp);

/* token__jws_sign: low level: the JWS compact serialization of the given
 * header and payload bytes (each NUL-terminated), signed ES256 with k, into
 * *out (malloc'd). Nothing is checked: the caller answers for the content
 * (tests use it to forge well-signed bad tokens). Returns 0 or -errno. */
int token__jws_sign(const struct token_key *k, const char *header, const char *payload,
		    char **out);

/* token_jwks__parse: the ES256 keys of the JWK Set text[0..len): members of
 * "keys" with kty "EC" and crv "P-256" (and, when present, use "sig" and
 * alg "ES256"); others are skipped. Each must have a string kid and x and y
 * of 32 bytes each that make a point on the curve. NULL with errno EINVAL
 * (malformed, or no such key; reason in why) or ENOMEM. */
struct token_jwks *token_jwks__parse(const char *text, size_t len, char *why, size_t whylen);

/* token_jwks__load: token_jwks__parse() of the file at path (at most
 * TOKEN_JWKS_FILE_MAX bytes). NULL with errno set, reason in why. */
struct token_jwks *token_jwks__load(const char *path, char *why, size_t whylen);

/* token_jwks__from_key: the JWK Set of k's public key. NULL with errno. */
struct token_jwks *token_jwks__from_key(const struct token_key *k);

/* token_jwks__free: frees ks; NULL is a no-op. */
void token_jwks__free(struct token_jwks *ks);

/* token__verify: checks the compact token tok[0..len) against the keys ks
 * at time now (seconds since the epoch): three base64url segments; the
 * header a JSON object with alg exactly "ES256" (never "none" or any other),
 * typ "agent-id+jwt", a kid found in ks and no "crit"; the signature; then
 * the claims: exp, iat and nbf integers in 0..999999999999 with
 * now < exp + TOKEN_LEEWAY, nbf <= now + TOKEN_LEEWAY,
 * iat <= now + TOKEN_LEEWAY and 0 < exp - iat <= TOKEN_TTL_MAX; aud (a
 * string or an array of strings) contains aud; iss, sub, jti and sid
 * strings. Duplicate JSON keys are refused. Returns the claims (a new reference, owned by the caller), or
 * NULL with errno: EBADMSG (malformed, or a header that is refused),
 * ENOKEY (kid not in ks), EKEYREJECTED (bad signature), EKEYEXPIRED
 * (expired, not yet valid, or a lifetime over TOKEN_TTL_MAX), EACCES (aud
 * does not match), EINVAL (aud NULL or invalid), ENOMEM; and a lowercase
 * reason in why. */
json_t *token__verify(const struct token_jwks *ks, const char *tok, size_t len,
		      const char *aud, int64_t now, char *why, size_t whylen);

#endif
