/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * note.h: C2SP signed notes and tlog checkpoints with Ed25519, in the
 * formats of Go's golang.org/x/mod/sumdb/note, so that transparency-log
 * tooling can verify what agentguard signs.
 *
 *   signed note:  <text ending in \n> \n "— " <name> " " base64(keyid4 || sig64) \n ...
 *   checkpoint:   text = <origin>\n<size>\n<base64 root>\n
 *   key id:       first 4 bytes of SHA-256(<name> || "\n" || 0x01 || pubkey32)
 *   vkey:         <name>+<8 hex key id>+<base64(0x01 || pubkey32)>
 *   private key:  PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || seed32)>
 *
 * Base64 is the standard alphabet with padding (RFC 4648 section 4); the
 * decoders here accept only the canonical encoding.
 */
#ifndef AG_NOTE_H
#define AG_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTE_ALG_ED25519	0x01
#define NOTE_NAME_MAX		255	/* bytes of a key name / origin */
#define NOTE_MAX_SIZE		16384	/* bytes of a whole signed note */
#define NOTE_MAX_SIGS		100	/* signature lines in one note */
#define NOTE_KEY_FILE_MAX	4096	/* bytes of a key file */
#define NOTE_WHY_MAX		160	/* a reason buffer that always suffices */
#define CHECKPOINT_HASH_SIZE	32

struct note_signer;
struct note_verifier;

struct checkpoint {
	char origin[NOTE_NAME_MAX + 1];
	uint64_t size;
	uint8_t root[CHECKPOINT_HASH_SIZE];
};

/* note__valid_name: whether name is a valid key name: 1..NOTE_NAME_MAX
 * bytes of UTF-8 without Unicode spaces, control characters or '+'. */
bool note__valid_name(const char *name);

/* note__base64_encode: writes the padded standard base64 of in[0..len) and
 * a NUL to out, which must hold 4 * ((len + 2) / 3) + 1 bytes. Returns the
 * length written (without the NUL). */
size_t note__base64_encode(const void *in, size_t len, char *out);

/* note__base64_decode: decodes the canonical padded base64 in[0..len) into
 * out (capacity cap). Returns the decoded length, or -EINVAL if in is not
 * canonical base64, -ENOSPC if it does not fit. */
long note__base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/* note_signer__generate: a new random Ed25519 key named name. NULL with errno
 * EINVAL (bad name), ENOMEM or EIO (OpenSSL failure). Free with
 * note_signer__free(). */
struct note_signer *note_signer__generate(const char *name);

/* note_signer__parse: the signer of a private key string (one trailing
 * newline allowed). Checks the key id against the name and key. NULL with
 * errno EINVAL if malformed, ENOMEM or EIO. */
struct note_signer *note_signer__parse(const char *skey, size_t len);

/* note_signer__load: reads and parses a private key file. Refuses a file
 * that is not a regular file or that group or others may access (EPERM), or
 * larger than NOTE_KEY_FILE_MAX (EFBIG). NULL with errno set. */
struct note_signer *note_signer__load(const char *path);

/* note_signer__save: writes the private key to skey_path (mode 0600,
 * created exclusively: -EEXIST if it exists) and the verifier key plus a
 * newline to vkey_path (mode 0644, atomically replaced), both fsynced.
 * Returns 0 or -errno. */
int note_signer__save(const struct note_signer *s, const char *skey_path,
		      const char *vkey_path);

/* note_signer__skey / __vkey: the private / verifier key string (no
 * newline), malloc'd into *out, owned by the caller. The private key string
 * holds the secret: clear it (OPENSSL_cleanse) before freeing. Returns 0 or
 * -ENOMEM. */
int note_signer__skey(const struct note_signer *s, char **out);
int note_signer__vkey(const struct note_signer *s, char **out);

/* note_signer__name: the key name, owned by s. */
const char *note_signer__name(const struct note_signer *s);

/* note_signer__free: frees s and clears its secret; NULL is a no-op. */
void note_signer__free(struct note_signer *s);

/* note_verifier__parse: the verifier of a vkey string (surrounding
 * whitespace allowed). Checks the key id. NULL with errno EINVAL if
 * malformed, ENOMEM or EIO. */
struct note_verifier *note_verifier__parse(const char *vkey, size_t len);

/* note_verifier__name: the key name, owned by v. */
const char *note_verifier__name(const struct note_verifier *v);

/* note_verifier__free: frees v; NULL is a no-op. */
void note_verifier__free(struct note_verifier *v);

/* note__sign: the signed note of text[0..len) (valid UTF-8 without control
 * characters other than newline, ending in a newline), malloc'd into *out
 * (NUL-terminated; *out_len without the NUL). Returns 0, -EINVAL for bad
 * text, -ENOMEM or -EIO. */
int note__sign(const struct note_signer *s, const char *text, size_t len,
	       char **out, size_t *out_len);

/* note__open: checks the signed note msg[0..len) against v. Signatures by
 * other keys are ignored (C2SP signed-note); every signature by v must
 * verify and at least one must exist. On success returns 0 and sets
 * *text_len to the length of the text (a prefix of msg). Errors: -EBADMSG
 * (malformed note), -ENOKEY (no signature by v), -EKEYREJECTED (a signature
 * by v does not verify), -ENOMEM, -EIO. If why is not NULL it receives a
 * reason (lowercase) on error, at most whylen bytes with the NUL. */
int note__open(const struct note_verifier *v, const char *msg, size_t len,
	       size_t *text_len, char *why, size_t whylen);

/* checkpoint__sign: the signed checkpoint note "<origin>\n<size>\n<b64
 * root>\n" + signature, with origin = the signer's name. *out is malloc'd
 * and NUL-terminated, *out_len without the NUL. Returns 0 or -errno. */
int checkpoint__sign(const struct note_signer *s, uint64_t size,
		     const uint8_t root[CHECKPOINT_HASH_SIZE], char **out,
		     size_t *out_len);

/* checkpoint__open: note__open() and then a strict parse of the text into
 * cp: exactly three lines; the origin equal to v's name; the size a decimal
 * without sign or leading zeros that fits in 64 bits; the root canonical
 * base64 of exactly 32 bytes. No extension lines. Returns 0 or the errors of
 * note__open() (-EBADMSG for a malformed body); why as in note__open(). */
int checkpoint__open(const struct note_verifier *v, const char *msg,
		     size_t len, struct checkpoint *cp, char *why,
		     size_t whylen);

#endif
