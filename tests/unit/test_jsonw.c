/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_jsonw: the JSON line writer (exact output, escaping, invalid UTF-8,
 * misuse, limits, timestamps) and the validator, checked against jansson.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonw.h"

static const char *finish(struct jsonw *w)
{
	const char *out;
	size_t len;

	assert_int_equal(jsonw__finish(w, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

static void test_event_line(void **state)
{
	struct jsonw w;
	struct timespec ts = { 1795943523, 123456789 };	/* 2026-11-29T09:12:03 */

	jsonw__init(&w, 0);
	jsonw__object_begin(&w);
	jsonw__key_uint(&w, "seq", 42);
	jsonw__key_time(&w, "time", &ts);
	jsonw__key_string(&w, "type", "network.connect");
	jsonw__key_object(&w, "agent");
	jsonw__key_string(&w, "name", "ticket-summarizer");
	jsonw__object_end(&w);
	jsonw__key_object(&w, "session");
	jsonw__key_string(&w, "id", "01JD");
	jsonw__key_array(&w, "lineage");
	jsonw__string(&w, "01JC");
	jsonw__string(&w, "01JD");
	jsonw__array_end(&w);
	jsonw__object_end(&w);
	jsonw__key_array(&w, "empty");
	jsonw__array_end(&w);
	jsonw__key_object(&w, "e");
	jsonw__object_end(&w);
	jsonw__key_int(&w, "neg", -5);
	jsonw__key_bool(&w, "t", true);
	jsonw__key_bool(&w, "f", false);
	jsonw__object_end(&w);
	assert_string_equal(finish(&w),
		"{\"seq\":42,\"time\":\"2026-11-29T09:12:03.123456789Z\","
		"\"type\":\"network.connect\",\"agent\":{\"name\":\"ticket-summarizer\"},"
		"\"session\":{\"id\":\"01JD\",\"lineage\":[\"01JC\",\"01JD\"]},"
		"\"empty\":[],\"e\":{},\"neg\":-5,\"t\":true,\"f\":false}");
	/* reuse after reset */
	jsonw__reset(&w);
	jsonw__object_begin(&w);
	jsonw__key_int(&w, "min", INT64_MIN);
	jsonw__key_int(&w, "max", INT64_MAX);
	jsonw__key_uint(&w, "umax", UINT64_MAX);
	jsonw__key_uint(&w, "zero", 0);
	jsonw__key_string(&w, "null", NULL);
	jsonw__key_array(&w, "a");
	jsonw__string(&w, NULL);
	jsonw__object_begin(&w);
	jsonw__key_uint(&w, "x", 1);
	jsonw__object_end(&w);
	jsonw__array_end(&w);
	jsonw__object_end(&w);
	assert_string_equal(finish(&w),
		"{\"min\":-9223372036854775808,\"max\":9223372036854775807,"
		"\"umax\":18446744073709551615,\"zero\":0,\"null\":\"\","
		"\"a\":[\"\",{\"x\":1}]}");
	jsonw__free(&w);
}

static const char *one_string(struct jsonw *w, const char *s, size_t len)
{
	jsonw__reset(w);
	jsonw__object_begin(w);
	jsonw__key_string_len(w, "k", s, len);
	jsonw__object_end(w);
	return finish(w);
}

#define S(lit) lit, sizeof(lit) - 1

static void test_escaping(void **state)
{
	struct jsonw w;

	jsonw__init(&w, 0);
	assert_string_equal(one_string(&w, S("a\"b\\c/d")), "{\"k\":\"a\\\"b\\\\c/d\"}");
	assert_string_equal(one_string(&w, S("l1\nl2\r\t")), "{\"k\":\"l1\\nl2\\r\\t\"}");
	assert_string_equal(one_string(&w, S("\x01\x08\x0c\x1f\x7f")),
			    "{\"k\":\"\\u0001\\u0008\\u000c\\u001f\\u007f\"}");
	assert_string_equal(one_string(&w, S("nul\0byte")), "{\"k\":\"nul\\u0000byte\"}");
	assert_string_equal(one_string(&w, S("")), "{\"k\":\"\"}");
	/* valid UTF-8 passes through */
	assert_string_equal(one_string(&w, S("\xc3\xa9\xe2\x80\x94\xf0\x9f\x98\x80")),
			    "{\"k\":\"\xc3\xa9\xe2\x80\x94\xf0\x9f\x98\x80\"}");
	/* keys are escaped too */
	jsonw__reset(&w);
	jsonw__object_begin(&w);
	jsonw__key_uint(&w, "a\"b", 1);
	jsonw__object_end(&w);
	assert_string_equal(finish(&w), "{\"a\\\"b\":1}");
	jsonw__free(&w);
}

#define FFFD "\xef\xbf\xbd"

static void test_invalid_utf8(void **state)
{
	struct jsonw w;

	jsonw__init(&w, 0);
	assert_string_equal(one_string(&w, S("a\xff" "b")), "{\"k\":\"a" FFFD "b\"}");
	assert_string_equal(one_string(&w, S("\x80")), "{\"k\":\"" FFFD "\"}");
	/* a truncated sequence is one maximal subpart: one U+FFFD */
	assert_string_equal(one_string(&w, S("\xe2\x80")), "{\"k\":\"" FFFD "\"}");
	assert_string_equal(one_string(&w, S("\xf0\x9f\x98" "A")), "{\"k\":\"" FFFD "A\"}");
	/* overlong, surrogate, beyond U+10FFFF: each byte is its own subpart */
	assert_string_equal(one_string(&w, S("\xc0\xaf")), "{\"k\":\"" FFFD FFFD "\"}");
	assert_string_equal(one_string(&w, S("\xed\xa0\x80")),
			    "{\"k\":\"" FFFD FFFD FFFD "\"}");
	assert_string_equal(one_string(&w, S("\xf4\x90\x80\x80")),
			    "{\"k\":\"" FFFD FFFD FFFD FFFD "\"}");
	assert_string_equal(one_string(&w, S("\xe0\x80\x80")),
			    "{\"k\":\"" FFFD FFFD FFFD "\"}");
	/* the largest code points are fine */
	assert_string_equal(one_string(&w, S("\xf4\x8f\xbf\xbf\xed\x9f\xbf")),
			    "{\"k\":\"\xf4\x8f\xbf\xbf\xed\x9f\xbf\"}");
	/* truncated at the very end of the input */
	assert_string_equal(one_string(&w, S("ok\xc3")), "{\"k\":\"ok" FFFD "\"}");
	jsonw__free(&w);
}

/* Random byte strings: the output is always one line that jansson parses,
 * and equal to the input wherever the input was valid UTF-8. */
static void test_random_strings(void **state)
{
	struct jsonw w;
	char in[64];

	jsonw__init(&w, 0);
	srand(42);
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = rand() % sizeof(in);
		const char *out;
		json_error_t err;
		json_t *j;

		for (size_t i = 0; i < n; i++) {
			int r = rand() % 4;

			in[i] = r == 0 ? rand() % 0x20 : r == 1 ? 0x80 + rand() % 0x80 :
				r == 2 ? 0xc2 + rand() % 0x33 : 0x20 + rand() % 0x60;
		}
		out = one_string(&w, in, n);
		assert_null(strchr(out, '\n'));
		assert_int_equal(jsonw__validate(out, strlen(out)), 0);
		j = json_loads(out, JSON_ALLOW_NUL, &err);
		if (!j)
			fail_msg("jansson rejects %s: %s", out, err.text);
		json_decref(j);
	}
	/* a valid UTF-8 string round-trips */
	{
		const char *orig = "h\xc3\xa9 \"q\" \\ \x01 \t\xe2\x80\x94";
		const char *out = one_string(&w, orig, strlen(orig));
		json_t *j = json_loads(out, 0, NULL);

		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j, "k")), orig);
		json_decref(j);
	}
	jsonw__free(&w);
}

static void test_misuse(void **state)
{
	struct jsonw w;
	const char *out;
	size_t len;

	jsonw__init(&w, 0);
	assert_int_equal(jsonw__finish(&w, &out, &len), -EINVAL);	/* empty */
	jsonw__reset(&w);
	jsonw__key_uint(&w, "x", 1);					/* no object */
	assert_int_equal(jsonw__finish(&w, &out, &len), -EINVAL);
	jsonw__reset(&w);
	jsonw__object_begin(&w);
	assert_int_equal(jsonw__finish(&w, &out, &len), -EINVAL);	/* open */
	jsonw__reset(&w);
	jsonw__object_begin(&w);
	jsonw__string(&w, "x");						/* no key */
	jsonw__object_end(&w);
	assert_int_equal(jsonw__finish(&w, &out, &len), -EINVAL);
	jsonw__reset(&w);
	jsonw__object_begin(&w);
	jsonw__key_array(&w, "a");
	jsonw__key_uint(&w, "x", 1);					/* key in array */
	jsonw__array_end(&w);
	jsonw__object_end(&w);
	assert_int_equal(jsonw__finish(&w, &out, &len), -EINVAL);
	jsonw__reset(&w);
	jsonw__object_begin(&w);
	jsonw__array_end(&w);						/* wrong close */
	assert_int_equal(jsonw__finish(&w, &out, &len), -EINVAL);
	jsonw__reset(&w);
	jsonw__object_begin(&w);
	jsonw__object_end(&w);
	jsonw__object_end(&w);						/* extra close */
	assert_int_equal(jsonw__finish(&w, &out, &len), -EINVAL);
	jsonw__reset(&w);
	jsonw__object_begin(&w);
	jsonw__object_end(&w);
	jsonw__object_begin(&w);					/* second value */
	jsonw__object_end(&w);
	assert_int_equal(jsonw__finish(&w, &out, &len), -EINVAL);
	jsonw__reset(&w);
	jsonw__object_begin(&w);
	for (int i = 0; i < JSONW_MAX_DEPTH; i++)			/* too deep */
		jsonw__key_object(&w, "d");
	assert_int_equal(jsonw__finish(&w, &out, &len), -EINVAL);
	/* and a good object after all that */
	jsonw__reset(&w);
	jsonw__object_begin(&w);
	jsonw__object_end(&w);
	assert_string_equal(finish(&w), "{}");
	jsonw__free(&w);
}

static void test_limit(void **state)
{
	struct jsonw w;
	const char *out;
	size_t len;
	char big[200];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	jsonw__init(&w, 100);
	jsonw__object_begin(&w);
	jsonw__key_string(&w, "k", big);
	jsonw__object_end(&w);
	assert_int_equal(jsonw__finish(&w, &out, &len), -E2BIG);
	/* exactly at the limit is fine: {"k":"x...x"} is 8 + n bytes */
	jsonw__reset(&w);
	big[92] = '\0';
	jsonw__object_begin(&w);
	jsonw__key_string(&w, "k", big);
	jsonw__object_end(&w);
	assert_int_equal(jsonw__finish(&w, &out, &len), 0);
	assert_int_equal(len, 100);
	jsonw__reset(&w);
	big[92] = 'x';
	big[93] = '\0';
	jsonw__object_begin(&w);
	jsonw__key_string(&w, "k", big);
	jsonw__object_end(&w);
	assert_int_equal(jsonw__finish(&w, &out, &len), -E2BIG);
	jsonw__free(&w);
}

static void test_time(void **state)
{
	struct jsonw w;
	const char *out;
	size_t len;

	jsonw__init(&w, 0);
	srand(7);
	for (int i = 0; i < 20000; i++) {
		int64_t secs = i < 4 ? (int64_t[]){ 0, -1, 951782400, 253402300799LL }[i] :
			(int64_t)((((uint64_t)rand() << 31) ^ rand()) %
				  (253402300800ULL + 62167219200ULL)) - 62167219200LL;
		struct timespec ts = { secs, rand() % 1000000000 };
		time_t t = secs;
		struct tm tm;
		char want[128], date[80];

		assert_non_null(gmtime_r(&t, &tm));
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
		if (tm.tm_year + 1900 < 1000)	/* strftime does not pad %Y */
			snprintf(date, sizeof(date), "%04d-%02d-%02dT%02d:%02d:%02d",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
				 tm.tm_hour, tm.tm_min, tm.tm_sec);
		snprintf(want, sizeof(want), "{\"t\":\"%s.%09ldZ\"}", date, ts.tv_nsec);
		jsonw__reset(&w);
		jsonw__object_begin(&w);
		jsonw__key_time(&w, "t", &ts);
		jsonw__object_end(&w);
		assert_string_equal(finish(&w), want);
	}
	jsonw__reset(&w);
	jsonw__object_begin(&w);
	jsonw__key_time(&w, "t", &(struct timespec){ 253402300800LL, 0 });
	jsonw__object_end(&w);
	assert_int_equal(jsonw__finish(&w, &out, &len), -EINVAL);
	jsonw__reset(&w);
	jsonw__object_begin(&w);
	jsonw__key_time(&w, "t", &(struct timespec){ 0, 1000000000 });
	jsonw__object_end(&w);
	assert_int_equal(jsonw__finish(&w, &out, &len), -EINVAL);
	jsonw__free(&w);
}

static void test_validate_cases(void **state)
{
	static const char *good[] = {
		"{}", " {} ", "{\"a\":1}", "{\"a\":[1,2.5,-0,1e10,1E-2,0.0e+1]}",
		"{\"a\":{\"b\":{\"c\":[]}}}", "{\"a\":\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
		"{\"a\":true,\"b\":false,\"c\":null}", "{\"\":\"\"}",
		"{\"a\":\"\xc3\xa9\xf4\x8f\xbf\xbf\x7f\"}", "\t\r\n{\"a\" : [ 1 , 2 ] }\n",
		"{\"a\":\"\\u0000\"}",
	};
	static const char *bad[] = {
		"", " ", "[]", "1", "\"a\"", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
		"{,}", "{\"a\":1}}", "{\"a\":1} x", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
		"{\"a\":-}", "{\"a\":1e}", "{\"a\":+1}", "{\"a\":tru}", "{\"a\":nul}",
		"{\"a\":\"x}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\ud800\"}",
		"{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\x01\"}",
		"{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
		"{\"a\":[1 2]}", "{\"a\":[1,]}", "{a:1}", "{'a':1}", "{\"a\":NaN}",
		"{\"a\":\"\t\"}", "{\"a\":1}{}",
	};
	char deep[2 * JSONW_VALIDATE_DEPTH + 8];
	int n;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (jsonw__validate(good[i], strlen(good[i])))
			fail_msg("rejected %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!jsonw__validate(bad[i], strlen(bad[i])))
			fail_msg("accepted %s", bad[i]);
	/* nesting: JSONW_VALIDATE_DEPTH levels pass, one more fails */
	for (int extra = 0; extra < 2; extra++) {
		n = 0;
		deep[n++] = '{';
		deep[n++] = '"';
		deep[n++] = 'a';
		deep[n++] = '"';
		deep[n++] = ':';
		for (int i = 0; i < JSONW_VALIDATE_DEPTH - 1 + extra; i++)
			deep[n++] = '[';
		for (int i = 0; i < JSONW_VALIDATE_DEPTH - 1 + extra; i++)
			deep[n++] = ']';
		deep[n++] = '}';
		assert_int_equal(jsonw__validate(deep, n), extra ? -EINVAL : 0);
	}
	/* an embedded NUL byte is a raw control character */
	assert_int_equal(jsonw__validate("{\"a\":\"\0\"}", 9), -EINVAL);
	assert_int_equal(jsonw__validate("{\"a\":1}\0", 8), -EINVAL);
}

/* Differential test: random mutations of event lines, validator vs jansson.
 * jansson rejects numbers it cannot represent, which JSON allows: those
 * cases are skipped. */
static void test_validate_vs_jansson(void **state)
{
	static const char *seeds[] = {
		"{\"seq\":42,\"time\":\"2026-11-29T09:12:03.123456789Z\",\"type\":\"network.connect\",\"agent\":{\"name\":\"t-s\",\"lineage\":[\"a\",\"b\"]},\"ok\":true,\"n\":null,\"x\":-1.5e3}",
		"{\"a\":\"\\u00e9\\ud83d\\ude00\",\"b\":[{},[],\"\xc3\xa9\"]}",
	};
	static const char alphabet[] = "{}[]\":,\\u0123456789eE+-.tfnlrsa \t\xc3\xa9\xed\xa0\xff\x01" "d8";
	char buf[512];
	int compared = 0, accepted = 0;

	srand(99);
	for (int iter = 0; iter < 200000; iter++) {
		const char *seed = seeds[iter % 2];
		size_t n = strlen(seed);
		int muts = 1 + rand() % 3;
		json_error_t err;
		json_t *j;
		bool ok_j, ok_v;

		memcpy(buf, seed, n);
		for (int m = 0; m < muts; m++) {
			size_t pos = rand() % (n + 1);
			int op = rand() % 3;
			char c = alphabet[rand() % (sizeof(alphabet) - 1)];

			if (op == 0 && pos < n) {
				buf[pos] = c;
			} else if (op == 1 && n + 1 < sizeof(buf)) {
				memmove(buf + pos + 1, buf + pos, n - pos);
				buf[pos] = c;
				n++;
			} else if (pos < n) {
				memmove(buf + pos, buf + pos + 1, n - pos - 1);
				n--;
			}
		}
		j = json_loadb(buf, n, JSON_ALLOW_NUL, &err);
		if (!j && (strstr(err.text, "too big") || strstr(err.text, "overflow")))
			continue;
		ok_j = j && json_is_object(j);
		json_decref(j);
		ok_v = jsonw__validate(buf, n) == 0;
		if (ok_j != ok_v)
			fail_msg("validator %s, jansson %s (%s): %.*s",
				 ok_v ? "accepts" : "rejects",
				 ok_j ? "accepts" : "rejects", j ? "" : err.text,
				 (int)n, buf);
		compared++;
		accepted += ok_v;
	}
	printf("# validate vs jansson: %d inputs agree (%d valid)\n", compared,
	       accepted);
	assert_true(accepted > 1000 && compared - accepted > 1000);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_speed(void **state)
{
	enum { N = 300000 };
	struct jsonw w;
	struct timespec ts = { 1795943523, 123456789 };
	const char *out;
	size_t len = 0;
	double t0, tw, tv, tj;

	jsonw__init(&w, 0);
	t0 = now();
	for (int i = 0; i < N; i++) {
		jsonw__reset(&w);
		jsonw__object_begin(&w);
		jsonw__key_uint(&w, "seq", i);
		jsonw__key_time(&w, "time", &ts);
		jsonw__key_string(&w, "host", "agent-host-1");
		jsonw__key_string(&w, "type", "network.connect");
		jsonw__key_string(&w, "decision", "deny");
		jsonw__key_string(&w, "mode", "enforce");
		jsonw__key_object(&w, "agent");
		jsonw__key_string(&w, "name", "ticket-summarizer");
		jsonw__key_string(&w, "generation", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
		jsonw__object_end(&w);
		jsonw__key_object(&w, "process");
		jsonw__key_uint(&w, "pid", 1234);
		jsonw__key_string(&w, "comm", "curl");
		jsonw__key_string(&w, "exe", "/usr/bin/curl");
		jsonw__object_end(&w);
		jsonw__key_object(&w, "target");
		jsonw__key_string(&w, "ip", "10.1.2.3");
		jsonw__key_uint(&w, "port", 443);
		jsonw__object_end(&w);
		jsonw__key_string(&w, "rule", "network.egress.default");
		jsonw__object_end(&w);
		assert_int_equal(jsonw__finish(&w, &out, &len), 0);
	}
	tw = now() - t0;
	t0 = now();
	for (int i = 0; i < N; i++)
		assert_int_equal(jsonw__validate(out, len), 0);
	tv = now() - t0;
	t0 = now();
	for (int i = 0; i < N / 10; i++) {
		json_t *j = json_loadb(out, len, 0, NULL);

		assert_non_null(j);
		json_decref(j);
	}
	tj = (now() - t0) * 10;
	printf("# jsonw: %zu-byte event lines: write %.2f M/s, validate %.2f M/s, "
	       "jansson parse %.2f M/s\n", len, N / tw / 1e6, N / tv / 1e6,
	       N / tj / 1e6);
	assert_true(N / tw > 200000);
	jsonw__free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_line),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_random_strings),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_validate_cases),
		cmocka_unit_test(test_validate_vs_jansson),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
