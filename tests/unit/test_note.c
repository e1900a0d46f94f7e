/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_note: C2SP signed notes and checkpoints. The known answer is the
 * example of Go's golang.org/x/mod/sumdb/note documentation: Ed25519 is
 * deterministic, so signing its text with its key must give its note byte
 * for byte.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "note.h"

static const char go_vkey[] =
	"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char go_skey[] =
	"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char go_text[] =
	"If you think cryptography is the answer to your problem,\n"
	"then you don't know what your problem is.\n";
static const char go_note[] =
	"If you think cryptography is the answer to your problem,\n"
	"then you don't know what your problem is.\n"
	"\n"
	"\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static void test_base64(void **state)
{
	uint8_t out[8];
	char enc[16];

	assert_int_equal(note__base64_encode("", 0, enc), 0);
	assert_string_equal(enc, "");
	assert_int_equal(note__base64_encode("f", 1, enc), 4);
	assert_string_equal(enc, "Zg==");
	note__base64_encode("fo", 2, enc);
	assert_string_equal(enc, "Zm8=");
	note__base64_encode("foo", 3, enc);
	assert_string_equal(enc, "Zm9v");
	note__base64_encode("foobar", 6, enc);
	assert_string_equal(enc, "Zm9vYmFy");
	assert_int_equal(note__base64_decode("Zm9vYmFy", 8, out, 8), 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(note__base64_decode("Zg==", 4, out, 8), 1);
	assert_int_equal(out[0], 'f');
	assert_int_equal(note__base64_decode("Zm8=", 4, out, 8), 2);
	assert_int_equal(note__base64_decode("", 0, out, 8), 0);
	/* not canonical, bad characters, bad padding, too long */
	assert_int_equal(note__base64_decode("Zh==", 4, out, 8), -EINVAL);
	assert_int_equal(note__base64_decode("Zm9=", 4, out, 8), -EINVAL);
	assert_int_equal(note__base64_decode("Zg=", 3, out, 8), -EINVAL);
	assert_int_equal(note__base64_decode("Zg", 2, out, 8), -EINVAL);
	assert_int_equal(note__base64_decode("Z===", 4, out, 8), -EINVAL);
	assert_int_equal(note__base64_decode("Zg==Zg==", 8, out, 8), -EINVAL);
	assert_int_equal(note__base64_decode("Zm9v\nYmFy", 9, out, 8), -EINVAL);
	assert_int_equal(note__base64_decode("Zm-v", 4, out, 8), -EINVAL);
	assert_int_equal(note__base64_decode("Zm9vYmFy", 8, out, 5), -ENOSPC);
}

static void test_names(void **state)
{
	char big[NOTE_NAME_MAX + 2];

	assert_true(note__valid_name("agentguard/host-1"));
	assert_true(note__valid_name("PeterNeumann"));
	assert_true(note__valid_name("h\xc3\xa9llo"));
	assert_false(note__valid_name(""));
	assert_false(note__valid_name("a b"));
	assert_false(note__valid_name("a+b"));
	assert_false(note__valid_name("a\tb"));
	assert_false(note__valid_name("a\xc2\xa0" "b"));	/* no-break space */
	assert_false(note__valid_name("a\xe3\x80\x80" "b"));	/* ideographic space */
	assert_false(note__valid_name("a\xff"));
	assert_false(note__valid_name("a\xc0\xaf"));		/* overlong */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(note__valid_name(big));
	big[NOTE_NAME_MAX] = '\0';
	assert_true(note__valid_name(big));
}

static void test_go_known_answer(void **state)
{
	struct note_signer *s = note_signer__parse(go_skey, strlen(go_skey));
	struct note_verifier *v;
	char *out, *vkey, *skey;
	size_t len, tlen;

	assert_non_null(s);
	assert_string_equal(note_signer__name(s), "PeterNeumann");
	assert_int_equal(note_signer__vkey(s, &vkey), 0);
	assert_string_equal(vkey, go_vkey);
	assert_int_equal(note_signer__skey(s, &skey), 0);
	assert_string_equal(skey, go_skey);
	assert_int_equal(note__sign(s, go_text, strlen(go_text), &out, &len), 0);
	assert_int_equal(len, strlen(go_note));
	assert_string_equal(out, go_note);

	v = note_verifier__parse(go_vkey, strlen(go_vkey));
	assert_non_null(v);
	assert_string_equal(note_verifier__name(v), "PeterNeumann");
	assert_int_equal(note__open(v, go_note, strlen(go_note), &tlen, NULL, 0), 0);
	assert_int_equal(tlen, strlen(go_text));
	/* a trailing newline on key strings is accepted */
	{
		char buf[200];
		struct note_verifier *v2;
		struct note_signer *s2;

		snprintf(buf, sizeof(buf), "%s\n", go_vkey);
		v2 = note_verifier__parse(buf, strlen(buf));
		assert_non_null(v2);
		note_verifier__free(v2);
		snprintf(buf, sizeof(buf), "%s\n", go_skey);
		s2 = note_signer__parse(buf, strlen(buf));
		assert_non_null(s2);
		note_signer__free(s2);
	}
	free(out);
	free(vkey);
	free(skey);
	note_verifier__free(v);
	note_signer__free(s);
}

/* Every substring and every one-byte change of a key string is rejected
 * (the manglings of Go's TestNewVerifier / TestNewSigner). */
static void test_key_manglings(void **state)
{
	const char *keys[] = { go_vkey, go_skey };

	for (int k = 0; k < 2; k++) {
		size_t n = strlen(keys[k]);
		char *b = strdup(keys[k]);

		for (size_t i = 0; i <= n; i++) {
			for (size_t j = i + 1; j <= n; j++) {
				void *p;

				if (i == 0 && j == n)
					continue;
				if (k == 0) {
					p = note_verifier__parse(keys[k] + i, j - i);
					note_verifier__free(p);
				} else {
					p = note_signer__parse(keys[k] + i, j - i);
					note_signer__free(p);
				}
				/* a trailing "\n" cannot occur in a substring */
				if (p)
					fail_msg("accepted '%.*s'", (int)(j - i), keys[k] + i);
				assert_int_equal(errno, EINVAL);
			}
		}
		for (size_t i = 0; i < n; i++) {
			void *p;

			b[i]++;
			if (k == 0) {
				p = note_verifier__parse(b, n);
				note_verifier__free(p);
			} else {
				p = note_signer__parse(b, n);
				note_signer__free(p);
			}
			if (p)
				fail_msg("accepted mangled '%s'", b);
			b[i]--;
		}
		free(b);
	}
	/* wrong algorithm byte with a matching key id is still rejected */
	assert_null(note_verifier__parse(
		"PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", 65));
}

static char *replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	char *out;

	assert_non_null(p);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(p - s), s, to,
			     p + strlen(from)) > 0);
	return out;
}

static void expect_open(const struct note_verifier *v, const char *msg,
			int want, const char *why_part)
{
	char why[NOTE_WHY_MAX] = "";
	size_t tlen;
	int r = note__open(v, msg, strlen(msg), &tlen, why, sizeof(why));

	if (r != want)
		fail_msg("note__open = %d (%s), want %d for:\n%s", r, why, want, msg);
	if (why_part && !strstr(why, why_part))
		fail_msg("reason '%s' lacks '%s'", why, why_part);
}

static void test_open_bad(void **state)
{
	struct note_verifier *v = note_verifier__parse(go_vkey, strlen(go_vkey));
	struct note_signer *other = note_signer__generate("PeterNeumann");
	struct note_signer *named = note_signer__generate("Someone");
	char *m, *o, *o2;
	size_t len;

	assert_non_null(v);
	assert_non_null(other);
	/* changed text */
	m = replace(go_note, "cryptography", "Cryptography");
	expect_open(v, m, -EKEYREJECTED, "bad signature by key 'PeterNeumann'");
	free(m);
	/* signed by another key of the same name: ignored, so no signature */
	assert_int_equal(note__sign(other, go_text, strlen(go_text), &o, &len), 0);
	expect_open(v, o, -ENOKEY, "no signature by key 'PeterNeumann'");
	/* the other key's signature beside the real one is ignored */
	assert_true(asprintf(&m, "%s%s", go_note, strstr(o, "\n\n") + 2) > 0);
	expect_open(v, m, 0, NULL);
	free(m);
	assert_int_equal(note__sign(named, go_text, strlen(go_text), &o2, &len), 0);
	assert_true(asprintf(&m, "%s%s", o2, strstr(go_note, "\n\n") + 2) > 0);
	expect_open(v, m, 0, NULL);
	free(m);
	free(o);
	free(o2);
	/* truncated signature: not base64 any more, or too short */
	m = replace(go_note, "JnAM=\n", "JnA\n");
	expect_open(v, m, -EBADMSG, "malformed signature line 1");
	free(m);
	m = replace(go_note, "yBwJnAM=\n", "\n");
	expect_open(v, m, -EKEYREJECTED, NULL);
	free(m);
	/* one changed signature byte */
	m = replace(go_note, "Zb6KE6", "Zb6KE7");
	expect_open(v, m, -EKEYREJECTED, NULL);
	free(m);
	/* a changed key id makes it another key's signature */
	m = replace(go_note, "x08go", "x08gp");
	expect_open(v, m, -ENOKEY, NULL);
	free(m);
	/* structure */
	m = replace(go_note, "is.\n\n", "is.\n");
	expect_open(v, m, -EBADMSG, "no blank line");
	free(m);
	m = strdup(go_note);
	m[strlen(m) - 1] = '\0';
	expect_open(v, m, -EBADMSG, "does not end in a newline");
	free(m);
	m = replace(go_note, "\xe2\x80\x94 ", "- ");
	expect_open(v, m, -EBADMSG, "em dash");
	free(m);
	m = replace(go_note, "\xe2\x80\x94 PeterNeumann ", "\xe2\x80\x94 PeterNeumann  ");
	expect_open(v, m, -EBADMSG, "malformed signature line");
	free(m);
	m = replace(go_note, "you think", "you\tthink");
	expect_open(v, m, -EBADMSG, "control character");
	free(m);
	m = replace(go_note, "you think", "you\xff think");
	expect_open(v, m, -EBADMSG, "invalid utf-8");
	free(m);
	m = replace(go_note, "you think", "you\r think");
	expect_open(v, m, -EBADMSG, "control character");
	free(m);
	assert_true(asprintf(&m, "%s\n", go_note) > 0);
	expect_open(v, m, -EBADMSG, NULL);
	free(m);
	expect_open(v, "", -EBADMSG, NULL);
	expect_open(v, "\n\n", -EBADMSG, NULL);
	/* more than NOTE_MAX_SIGS signature lines */
	{
		const char *sig = strstr(go_note, "\n\n") + 2;
		size_t cap = strlen(go_note) + 101 * strlen(sig) + 1;
		char *big = malloc(cap);

		strcpy(big, go_note);
		for (int i = 0; i < 100; i++)
			strcat(big, sig);
		expect_open(v, big, -EBADMSG, "more than 100 signatures");
		free(big);
	}
	note_signer__free(other);
	note_signer__free(named);
	note_verifier__free(v);
}

static void test_sign_rejects(void **state)
{
	struct note_signer *s = note_signer__generate("agentguard/h");
	char *out;
	size_t len;

	assert_non_null(s);
	assert_int_equal(note__sign(s, "no newline", 10, &out, &len), -EINVAL);
	assert_int_equal(note__sign(s, "", 0, &out, &len), -EINVAL);
	assert_int_equal(note__sign(s, "a\tb\n", 4, &out, &len), -EINVAL);
	assert_int_equal(note__sign(s, "a\xffz\n", 4, &out, &len), -EINVAL);
	assert_null(note_signer__generate("bad name"));
	assert_int_equal(errno, EINVAL);
	assert_null(note_signer__generate("a+b"));
	note_signer__free(s);
}

static void test_generate_roundtrip(void **state)
{
	struct note_signer *s = note_signer__generate("agentguard/host-1"), *s2;
	struct note_verifier *v;
	char *skey, *vkey, *vkey2;

	assert_non_null(s);
	assert_int_equal(note_signer__skey(s, &skey), 0);
	assert_int_equal(note_signer__vkey(s, &vkey), 0);
	assert_true(strncmp(skey, "PRIVATE+KEY+agentguard/host-1+", 30) == 0);
	assert_true(strncmp(vkey, "agentguard/host-1+", 18) == 0);
	/* key id: 8 lowercase hex digits, shared by both strings */
	assert_memory_equal(skey + 30, vkey + 18, 9);
	s2 = note_signer__parse(skey, strlen(skey));
	assert_non_null(s2);
	assert_int_equal(note_signer__vkey(s2, &vkey2), 0);
	assert_string_equal(vkey, vkey2);
	v = note_verifier__parse(vkey, strlen(vkey));
	assert_non_null(v);
	free(skey);
	free(vkey);
	free(vkey2);
	note_verifier__free(v);
	note_signer__free(s);
	note_signer__free(s2);
}

static void expect_cp(const struct note_signer *s, const struct note_verifier *v,
		      const char *text, int want, const char *why_part)
{
	char why[NOTE_WHY_MAX] = "", *note;
	struct checkpoint cp;
	size_t len;
	int r;

	assert_int_equal(note__sign(s, text, strlen(text), &note, &len), 0);
	r = checkpoint__open(v, note, len, &cp, why, sizeof(why));
	if (r != want)
		fail_msg("checkpoint__open = %d (%s), want %d for:\n%s", r, why,
			 want, text);
	if (why_part && !strstr(why, why_part))
		fail_msg("reason '%s' lacks '%s'", why, why_part);
	free(note);
}

static void test_checkpoint(void **state)
{
	struct note_signer *s = note_signer__generate("agentguard/h1");
	struct note_verifier *v;
	uint8_t root[32];
	struct checkpoint cp;
	char *vkey, *note, why[NOTE_WHY_MAX];
	const char *R = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
	char t[256];
	size_t len;

	assert_non_null(s);
	assert_int_equal(note_signer__vkey(s, &vkey), 0);
	v = note_verifier__parse(vkey, strlen(vkey));
	assert_non_null(v);
	for (int i = 0; i < 32; i++)
		root[i] = i * 7;
	assert_int_equal(checkpoint__sign(s, 1234567, root, &note, &len), 0);
	assert_true(strncmp(note, "agentguard/h1\n1234567\n", 22) == 0);
	assert_non_null(strstr(note, "\n\n\xe2\x80\x94 agentguard/h1 "));
	assert_int_equal(checkpoint__open(v, note, len, &cp, why, sizeof(why)), 0);
	assert_string_equal(cp.origin, "agentguard/h1");
	assert_int_equal(cp.size, 1234567);
	assert_memory_equal(cp.root, root, 32);
	free(note);
	assert_int_equal(checkpoint__sign(s, UINT64_MAX, root, &note, &len), 0);
	assert_int_equal(checkpoint__open(v, note, len, &cp, why, sizeof(why)), 0);
	assert_true(cp.size == UINT64_MAX);
	free(note);

	snprintf(t, sizeof(t), "agentguard/h1\n0\n%s\n", R);
	expect_cp(s, v, t, 0, NULL);
	snprintf(t, sizeof(t), "agentguard/h1\n18446744073709551615\n%s\n", R);
	expect_cp(s, v, t, 0, NULL);
	snprintf(t, sizeof(t), "agentguard/h1\n18446744073709551616\n%s\n", R);
	expect_cp(s, v, t, -EBADMSG, "malformed size");
	snprintf(t, sizeof(t), "agentguard/h1\n012\n%s\n", R);
	expect_cp(s, v, t, -EBADMSG, "malformed size");
	snprintf(t, sizeof(t), "agentguard/h1\n00\n%s\n", R);
	expect_cp(s, v, t, -EBADMSG, "malformed size");
	snprintf(t, sizeof(t), "agentguard/h1\n-1\n%s\n", R);
	expect_cp(s, v, t, -EBADMSG, "malformed size");
	snprintf(t, sizeof(t), "agentguard/h1\n+1\n%s\n", R);
	expect_cp(s, v, t, -EBADMSG, "malformed size");
	snprintf(t, sizeof(t), "agentguard/h1\n1 \n%s\n", R);
	expect_cp(s, v, t, -EBADMSG, "malformed size");
	snprintf(t, sizeof(t), "agentguard/h1\n\n%s\n", R);
	expect_cp(s, v, t, -EBADMSG, "malformed size");
	snprintf(t, sizeof(t), "agentguard/h1\n5\nAAAA\n");
	expect_cp(s, v, t, -EBADMSG, "root is not");
	snprintf(t, sizeof(t), "agentguard/h1\n5\n%.40s\n", R);
	expect_cp(s, v, t, -EBADMSG, "root is not");
	snprintf(t, sizeof(t), "agentguard/h1\n5\n%sAAAA\n", R);
	expect_cp(s, v, t, -EBADMSG, "root is not");
	snprintf(t, sizeof(t), "agentguard/h1\n5\n%s\nextension\n", R);
	expect_cp(s, v, t, -EBADMSG, "more than 3 lines");
	snprintf(t, sizeof(t), "agentguard/h1\n5\n");
	expect_cp(s, v, t, -EBADMSG, "fewer than 3 lines");
	snprintf(t, sizeof(t), "agentguard/h2\n5\n%s\n", R);
	expect_cp(s, v, t, -EBADMSG, "origin is not 'agentguard/h1'");
	free(vkey);
	note_verifier__free(v);
	note_signer__free(s);
}

static void test_save_load(void **state)
{
	char dir[] = "/tmp/test_note.XXXXXX", sk[64], vk[64], *vkey, buf[256];
	struct note_signer *s = note_signer__generate("agentguard/h"), *l;
	struct stat st;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(sk, sizeof(sk), "%s/log.key", dir);
	snprintf(vk, sizeof(vk), "%s/log.vkey", dir);
	umask(022);
	assert_int_equal(note_signer__save(s, sk, vk), 0);
	assert_int_equal(stat(sk, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(vk, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* never overwrites a key */
	assert_int_equal(note_signer__save(s, sk, vk), -EEXIST);
	l = note_signer__load(sk);
	assert_non_null(l);
	assert_int_equal(note_signer__vkey(l, &vkey), 0);
	f = fopen(vk, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_int_equal(strlen(buf), strlen(vkey) + 1);
	assert_memory_equal(buf, vkey, strlen(vkey));
	free(vkey);
	note_signer__free(l);
	/* a key others can read is refused */
	assert_int_equal(chmod(sk, 0640), 0);
	assert_null(note_signer__load(sk));
	assert_int_equal(errno, EPERM);
	assert_int_equal(chmod(sk, 0600), 0);
	/* a missing key: ENOENT */
	unlink(sk);
	assert_null(note_signer__load(sk));
	assert_int_equal(errno, ENOENT);
	unlink(vk);
	rmdir(dir);
	note_signer__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_go_known_answer),
		cmocka_unit_test(test_key_manglings),
		cmocka_unit_test(test_open_bad),
		cmocka_unit_test(test_sign_rejects),
		cmocka_unit_test(test_generate_roundtrip),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
