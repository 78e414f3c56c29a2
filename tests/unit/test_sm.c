/* test_sm.c: unit tests of the command encoding (common/command.c) and the
 * replicated state machine (daemon/sm.c).  Random parts use a fixed seed;
 * SEED=n in the environment replays another. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "sm.h"
#include "tests/lib/check.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state;

/* xorshift64*: deterministic across platforms, unlike rand(). */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rnd_below(size_t n) { return (size_t)(rnd() % n); }

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	CHECK_REQUIRE(p != NULL);
	return p;
}

/* A heap copy of n bytes (which may hold NULs, unlike strdup's). */
static uint8_t *memdup(const void *p, size_t n)
{
	uint8_t *q = xmalloc(n);

	memcpy(q, p, n);
	return q;
}

static struct command_str S(const char *s) {
	struct command_str r = {.p = s, .len = s ? strlen(s) : 0};

	return r;
}

static struct command_str
SN(const char *s, size_t n) {
	struct command_str r = {.p = s, .len = n};

	return r;
}

static bool
str_eq(struct command_str a, struct command_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* Encodes c, requiring success; the caller frees the result. */
static uint8_t *enc(const struct command *c, size_t *len)
{
	uint8_t *buf = NULL;
	int rv = command_encode(c, &buf, len);

	if (rv != COMMAND_OK)
		fprintf(stderr, "encode: %s\n", command_strerror(rv));
	CHECK_REQUIRE(rv == COMMAND_OK && buf != NULL);
	return buf;
}

static void set_tid(struct command *c, const char *tid)
{
	c->has_tid = tid != NULL;
	c->tid = S(tid);
}

static uint8_t *mk_add(const char *tid, const char *data, size_t *len)
{
	struct command c = {.op = COMMAND_ADD};

	set_tid(&c, tid);
	c.data = S(data);
	return enc(&c, len);
}

static uint8_t *mk_put(const char *tid, const char *k, const char *v,
		       size_t *len)
{
	struct command c = {.op = COMMAND_PUT};

	set_tid(&c, tid);
	c.key = S(k);
	c.value = S(v);
	return enc(&c, len);
}

static uint8_t *mk_del(const char *tid, const char *k, size_t *len)
{
	struct command c = {.op = COMMAND_DEL};

	set_tid(&c, tid);
	c.key = S(k);
	return enc(&c, len);
}

static uint8_t *mk_cas(const char *tid, const char *k, const char *old,
		       const char *v, size_t *len)
{
	struct command c = {.op = COMMAND_CAS};

	set_tid(&c, tid);
	c.key = S(k);
	c.expected = S(old);
	c.value = S(v);
	return enc(&c, len);
}

/* kv is a NULL-terminated list: key, value, key, value, ... */
static uint8_t *mk_mput(const char *tid, const char *const *kv, size_t *len)
{
	struct command_pair pairs[64];
	struct command c = {.op = COMMAND_MPUT, .pairs = pairs};

	set_tid(&c, tid);
	for (; kv[0] != NULL; kv += 2) {
		pairs[c.n_pairs].key = S(kv[0]);
		pairs[c.n_pairs].value = S(kv[1]);
		c.n_pairs++;
	}
	return enc(&c, len);
}

/* Applies a payload at the next index (term 1); frees it.  The length
 * comes by pointer because the calls read apply(sm, mk_put(..., &len),
 * &len): the order in which arguments are evaluated is unspecified. */
static enum sm_result apply_rv(struct sm *sm, uint8_t *p, const size_t *len,
			       int *rv)
{
	enum sm_result r = SM_RESULT_FALSE;

	*rv = sm_apply(sm, sm_last_applied(sm) + 1, 1, p, *len, &r);
	free(p);
	return r;
}

static enum sm_result apply(struct sm *sm, uint8_t *p, const size_t *len)
{
	int rv;
	enum sm_result r = apply_rv(sm, p, len, &rv);

	CHECK(rv == SM_OK);
	return r;
}

/* The value of a key as a NUL-terminated string, or NULL when absent. */
static const char *get(const struct sm *sm, const char *k)
{
	const char *v = NULL;
	size_t vlen = 0;

	if (sm_get(sm, k, strlen(k), &v, &vlen) != SM_OK)
		return NULL;
	CHECK(strlen(v) == vlen);
	return v;
}

/* The whole dump as a malloc'd string. */
static char *dump(const struct sm *sm)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	CHECK_REQUIRE(f != NULL);
	CHECK(sm_dump(sm, f) == SM_OK);
	CHECK_REQUIRE(fclose(f) == 0);
	return buf;
}

/* The dump without its first line (last_applied), to compare states
 * across a no-op entry. */
static const char *dump_body(const char *d)
{
	const char *nl = strchr(d, '\n');

	return nl ? nl + 1 : d;
}

/* Collects sm_list() output as "k=v;" text. */
struct collect {
	char buf[8192];
	size_t len;
	size_t stop_after; /* 0: never stop */
	size_t calls;
};

static int collect_fn(void *arg, const char *key, size_t klen, const char *val,
		      size_t vlen)
{
	struct collect *c = arg;
	int n = snprintf(c->buf + c->len, sizeof(c->buf) - c->len, "%.*s=%.*s;",
			 (int)klen, key, (int)vlen, val);

	CHECK_REQUIRE(n > 0 && (size_t)n < sizeof(c->buf) - c->len);
	c->len += (size_t)n;
	c->calls++;
	return c->stop_after != 0 && c->calls >= c->stop_after;
}

static const char *list(const struct sm *sm, const char *prefix, size_t max)
{
	static struct collect c;
	size_t count = 0;

	memset(&c, 0, sizeof(c));
	CHECK(sm_list(sm, prefix, strlen(prefix), max, collect_fn, &c,
		      &count) == SM_OK);
	CHECK(count == c.calls);
	return c.buf;
}

/* ---- encoding ------------------------------------------------------------ */

static void check_same_command(const struct command *a, const struct command *b)
{
	CHECK(a->op == b->op);
	CHECK(a->has_tid == b->has_tid);
	if (a->has_tid)
		CHECK(str_eq(a->tid, b->tid));
	switch (a->op) {
	case COMMAND_ADD:
		CHECK(str_eq(a->data, b->data));
		break;
	case COMMAND_PUT:
		CHECK(str_eq(a->key, b->key));
		CHECK(str_eq(a->value, b->value));
		break;
	case COMMAND_DEL:
		CHECK(str_eq(a->key, b->key));
		break;
	case COMMAND_CAS:
		CHECK(str_eq(a->key, b->key));
		CHECK(str_eq(a->expected, b->expected));
		CHECK(str_eq(a->value, b->value));
		break;
	case COMMAND_MPUT:
		/* b is decoded, hence sorted: find each pair of a in it. */
		CHECK(a->n_pairs == b->n_pairs);
		for (size_t i = 0; i < a->n_pairs; i++) {
			size_t found = 0;

			for (size_t j = 0; j < b->n_pairs; j++)
				if (str_eq(a->pairs[i].key, b->pairs[j].key) &&
				    str_eq(a->pairs[i].value,
					   b->pairs[j].value))
					found++;
			CHECK(found == 1);
		}
		break;
	}
}

/* Encodes, decodes into an exact-size copy (so ASan sees any overread),
 * compares, re-encodes to the same bytes; also every truncation and one
 * extra byte must be rejected.  Returns how many bytes it encoded. */
static size_t roundtrip(const struct command *c)
{
	struct command d;
	size_t len, len2;
	uint8_t *buf = enc(c, &len), *buf2;

	CHECK_REQUIRE(len <= COMMAND_MAX_BYTES);
	CHECK(command_decode(buf, len, &d) == COMMAND_OK);
	check_same_command(c, &d);
	buf2 = enc(&d, &len2);
	CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
	free(buf2);
	command_release(&d);

	/* Every cut of a small payload; for a large one the cuts near both
	 * ends (where the fields start and stop) and every 4099th byte. */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *t;

		if (len > 4096 && cut > 300 && cut < len - 300 &&
		    cut % 4099 != 0)
			continue;
		t = xmalloc(cut);
		memcpy(t, buf, cut);
		CHECK(command_decode(cut ? t : NULL, cut, &d) != COMMAND_OK);
		CHECK(d.pairs == NULL && d.n_pairs == 0);
		free(t);
	}
	buf2 = xmalloc(len + 1);
	memcpy(buf2, buf, len);
	buf2[len] = 0;
	CHECK(command_decode(buf2, len + 1, &d) == COMMAND_ETRAILING);
	free(buf2);
	free(buf);
	return len;
}

static void test_encode_roundtrip(void)
{
	static const char bin[] = "a\0b\n\xff\x01";
	struct command_pair pairs[4] = {
	    {S("zeta"), S("1")},
	    {S("alpha"), S("")},
	    {SN(bin, sizeof(bin) - 1), S("x")},
	    {S(""), S("empty key")},
	};
	struct command c;
	size_t len;

	c = (struct command){.op = COMMAND_ADD,
			     .has_tid = true,
			     .tid = S("t-1"),
			     .data = S("hello")};
	roundtrip(&c);
	c.data = S("");
	roundtrip(&c);
	c = (struct command){
	    .op = COMMAND_PUT, .key = S("user:1"), .value = S("alice")};
	roundtrip(&c);
	set_tid(&c, "t-9");
	roundtrip(&c);
	c.value = SN(bin, sizeof(bin) - 1);
	roundtrip(&c);
	c = (struct command){.op = COMMAND_DEL, .key = S("k")};
	roundtrip(&c);
	set_tid(&c, "42");
	roundtrip(&c);
	c = (struct command){.op = COMMAND_CAS,
			     .key = S("k"),
			     .expected = S(""),
			     .value = S("v")};
	roundtrip(&c);
	set_tid(&c, "cas-tid");
	roundtrip(&c);
	c = (struct command){.op = COMMAND_MPUT, .pairs = pairs, .n_pairs = 4};
	roundtrip(&c);
	set_tid(&c, "m");
	roundtrip(&c);
	c.n_pairs = 0;
	roundtrip(&c);

	/* A minimal put is 3 header bytes plus two one-byte lengths. */
	c = (struct command){.op = COMMAND_PUT, .key = S("k"), .value = S("")};
	free(enc(&c, &len));
	CHECK(len == 3 + 2 + 1);

	/* Member order of the struct does not matter: same bytes. */
	{
		struct command_pair rev[4] = {pairs[3], pairs[2], pairs[1],
					      pairs[0]};
		struct command a = {
		    .op = COMMAND_MPUT, .pairs = pairs, .n_pairs = 4};
		struct command b = {
		    .op = COMMAND_MPUT, .pairs = rev, .n_pairs = 4};
		size_t la, lb;
		uint8_t *ea = enc(&a, &la), *eb = enc(&b, &lb);

		CHECK(la == lb && memcmp(ea, eb, la) == 0);
		CHECK(command_hash(ea, la) == command_hash(eb, lb));
		/* The caller's array is left alone. */
		CHECK(str_eq(pairs[0].key, S("zeta")));
		free(ea);
		free(eb);
	}
}

static void test_encode_limits(void)
{
	char *big = xmalloc(COMMAND_MAX_MPUT_BYTES + 2);
	struct command_pair *pairs =
	    xmalloc((COMMAND_MAX_PAIRS + 1) * sizeof(*pairs));
	char(*keys)[8] = xmalloc((COMMAND_MAX_PAIRS + 1) * sizeof(*keys));
	struct command c;
	uint8_t *buf = (uint8_t *)"";
	size_t len = 1, maxlen = 0;

	memset(big, 'v', COMMAND_MAX_MPUT_BYTES + 2);

	/* Exactly at each limit: accepted and round-trips. */
	c = (struct command){.op = COMMAND_CAS,
			     .has_tid = true,
			     .tid = SN(big, COMMAND_MAX_TID),
			     .key = SN(big, COMMAND_MAX_KEY),
			     .expected = SN(big, COMMAND_MAX_VALUE),
			     .value = SN(big, COMMAND_MAX_VALUE)};
	len = roundtrip(&c);
	maxlen = len > maxlen ? len : maxlen;
	c.tid.len++;
	CHECK(command_encode(&c, &buf, &len) == COMMAND_ETOOBIG);
	CHECK(buf == NULL && len == 0);
	c.tid.len--;
	c.key.len++;
	CHECK(command_encode(&c, &buf, &len) == COMMAND_ETOOBIG);
	c.key.len--;
	c.expected.len++;
	CHECK(command_encode(&c, &buf, &len) == COMMAND_ETOOBIG);
	c.expected.len--;
	c.value.len++;
	CHECK(command_encode(&c, &buf, &len) == COMMAND_ETOOBIG);

	c = (struct command){.op = COMMAND_ADD,
			     .has_tid = true,
			     .tid = S("t"),
			     .data = SN(big, COMMAND_MAX_VALUE)};
	roundtrip(&c);
	c.data.len++;
	CHECK(command_encode(&c, &buf, &len) == COMMAND_ETOOBIG);

	/* 1000 pairs holding 512 KiB in all. */
	for (size_t i = 0; i <= COMMAND_MAX_PAIRS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%04zu", i);
		pairs[i].key = S(keys[i]);
		pairs[i].value = SN(big, 0);
	}
	/* Keys take 5 bytes each; two values share the rest. */
	pairs[0].value.len =
	    (COMMAND_MAX_MPUT_BYTES - 5 * COMMAND_MAX_PAIRS) / 2;
	pairs[2].value.len =
	    COMMAND_MAX_MPUT_BYTES - 5 * COMMAND_MAX_PAIRS - pairs[0].value.len;
	c = (struct command){
	    .op = COMMAND_MPUT, .pairs = pairs, .n_pairs = COMMAND_MAX_PAIRS};
	CHECK(pairs[2].value.len <= COMMAND_MAX_VALUE);
	len = roundtrip(&c);
	maxlen = len > maxlen ? len : maxlen;
	pairs[1].value.len = 1; /* one byte over the total */
	CHECK(command_encode(&c, &buf, &len) == COMMAND_ETOOBIG);
	pairs[1].value.len = 0;
	c.n_pairs = COMMAND_MAX_PAIRS + 1;
	CHECK(command_encode(&c, &buf, &len) == COMMAND_ETOOBIG);
	c.n_pairs = 2;
	pairs[1].key.len = COMMAND_MAX_KEY + 1;
	pairs[1].key.p = big;
	CHECK(command_encode(&c, &buf, &len) == COMMAND_ETOOBIG);
	pairs[1].key = S(keys[1]);
	pairs[1].value.len = COMMAND_MAX_VALUE + 1;
	CHECK(command_encode(&c, &buf, &len) == COMMAND_ETOOBIG);
	pairs[1].value.len = 0;

	/* Bad arguments. */
	pairs[1].key = S(keys[0]); /* duplicate key */
	CHECK(command_encode(&c, &buf, &len) == COMMAND_EINVAL);
	c = (struct command){.op = COMMAND_ADD, .data = S("no tid")};
	CHECK(command_encode(&c, &buf, &len) == COMMAND_EINVAL);
	c = (struct command){
	    .op = COMMAND_PUT, .has_tid = true, .tid = S(""), .key = S("k")};
	CHECK(command_encode(&c, &buf, &len) == COMMAND_EINVAL);
	c = (struct command){.op = (enum command_op)9, .key = S("k")};
	CHECK(command_encode(&c, &buf, &len) == COMMAND_EINVAL);
	CHECK(buf == NULL);

	CHECK(maxlen <= COMMAND_MAX_BYTES);
	free(keys);
	free(pairs);
	free(big);
}

/* Decodes a hand-made payload (copied to an exact-size buffer). */
static int decode_bytes(const char *bytes, size_t len)
{
	struct command c;
	uint8_t *b = xmalloc(len);
	int rv;

	memcpy(b, bytes, len);
	rv = command_decode(b, len, &c);
	command_release(&c);
	free(b);
	return rv;
}

#define DECODE(lit) decode_bytes((lit), sizeof(lit) - 1)

static void test_decode_malformed(void)
{
	/* The valid reference: put k="k" v="v". */
	CHECK(DECODE("\x01\x02\x00\x01k\x01v") == COMMAND_OK);
	CHECK(DECODE("\x02\x02\x00\x01k\x01v") == COMMAND_EVERSION);
	CHECK(DECODE("\x00\x02\x00\x01k\x01v") == COMMAND_EVERSION);
	CHECK(DECODE("\x01\x00\x00\x01k\x01v") == COMMAND_EOP);
	CHECK(DECODE("\x01\x06\x00\x01k\x01v") == COMMAND_EOP);
	CHECK(DECODE("\x01\xff\x00\x01k\x01v") == COMMAND_EOP);
	CHECK(DECODE("\x01\x02\x02\x01k\x01v") == COMMAND_EOP); /* flag bit */
	CHECK(DECODE("\x01\x01\x00\x01"
		     "d") == COMMAND_EOP); /* add, no tid */
	CHECK(DECODE("\x01\x01\x01\x01t\x01"
		     "d") == COMMAND_OK);
	CHECK(DECODE("\x01\x02\x01\x00\x01k\x01v") == COMMAND_ENONCANON);
	/* Overlong varint (1 as 0x81 0x00). */
	CHECK(DECODE("\x01\x02\x00\x81\x00k\x01v") == COMMAND_ENONCANON);
	/* Varints past 32 bits and absurd lengths. */
	CHECK(DECODE("\x01\x02\x00\xff\xff\xff\xff\x7f") == COMMAND_ETOOBIG);
	CHECK(DECODE("\x01\x02\x00\xff\xff\xff\xff\xff\x01") ==
	      COMMAND_ETOOBIG);
	CHECK(DECODE("\x01\x02\x00\x81\x08") == COMMAND_ETOOBIG); /* key 1025 */
	CHECK(DECODE("\x01\x02\x00\x80\x08") == COMMAND_ETRUNC);  /* key 1024 */
	CHECK(DECODE("\x01\x02\x00\x01k\xff\xff\x7f") == COMMAND_ETOOBIG);
	CHECK(DECODE("\x01\x02\x00\x01k\x80\x80\x10") == COMMAND_ETRUNC);
	/* Missing and extra fields. */
	CHECK(DECODE("\x01\x02\x00\x01k") == COMMAND_ETRUNC);
	CHECK(DECODE("\x01\x03\x00\x01k\x01v") == COMMAND_ETRAILING);
	CHECK(DECODE("\x01\x04\x00\x01k\x00") == COMMAND_ETRUNC);
	/* multiPut counts and order. */
	CHECK(DECODE("\x01\x05\x00\x00") == COMMAND_OK);
	CHECK(DECODE("\x01\x05\x00\x02\x01"
		     "a\x00\x01"
		     "b\x00") == COMMAND_OK);
	CHECK(DECODE("\x01\x05\x00\x02\x01"
		     "b\x00\x01"
		     "a\x00") == COMMAND_ENONCANON);
	CHECK(DECODE("\x01\x05\x00\x02\x01"
		     "a\x00\x01"
		     "a\x00") == COMMAND_ENONCANON);
	CHECK(DECODE("\x01\x05\x00\x03\x01"
		     "a\x00\x01"
		     "b\x00") == COMMAND_ETRUNC);
	CHECK(DECODE("\x01\x05\x00\xe9\x07") == COMMAND_ETOOBIG); /* 1001 */
	CHECK(DECODE("\x01\x05\x00\xe8\x07") == COMMAND_ETRUNC);  /* 1000 */
	CHECK(DECODE("\x01\x05\x00\xff\xff\xff\xff\x0f") == COMMAND_ETOOBIG);
	CHECK(command_decode(NULL, 0, &(struct command){0}) == COMMAND_ETRUNC);
	for (int rv = 0; rv >= -8; rv--)
		CHECK(strlen(command_strerror(rv)) > 0);
}

/* Decodes random and mutated buffers.  Nothing may crash or overread
 * (ASan watches the exact-size copies); whatever decodes must re-encode to
 * the very same bytes (the encoding is canonical) and render. */
static void fuzz_one(const uint8_t *bytes, size_t len, unsigned long *ok)
{
	uint8_t *b = xmalloc(len), *again = NULL;
	struct command c;
	char line[COMMAND_FORMAT_SIZE];
	size_t len2 = 0;

	memcpy(b, bytes, len);
	if (command_decode(b, len, &c) == COMMAND_OK) {
		(*ok)++;
		CHECK(command_encode(&c, &again, &len2) == COMMAND_OK);
		CHECK(len2 == len && memcmp(again, b, len) == 0);
		CHECK(command_format(&c, 0, line, sizeof(line)) == COMMAND_OK);
		CHECK(strlen(line) + 1 < sizeof(line));
		free(again);
		command_release(&c);
	} else {
		CHECK(c.pairs == NULL);
	}
	command_describe(b, len, 0, line, sizeof(line));
	CHECK(strlen(line) > 0);
	free(b);
}

static void test_decode_fuzz(void)
{
	static const char *const kv[] = {"a", "1", "bb", "22", "c", "", NULL};
	uint8_t buf[96];
	unsigned long ok = 0;
	uint8_t *valid[6];
	size_t vlen[6];

	/* Pure garbage, then garbage behind a plausible header. */
	for (int i = 0; i < 3000; i++) {
		size_t len = rnd_below(sizeof(buf));

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rnd();
		if (i % 2 && len >= 3) {
			buf[0] = COMMAND_VERSION;
			buf[1] = (uint8_t)(1 + rnd_below(5));
			buf[2] = (uint8_t)rnd_below(2);
			/* small lengths, so that fields can fit */
			for (size_t j = 3; j < len; j++)
				if (rnd_below(3) == 0)
					buf[j] = (uint8_t)rnd_below(8);
		}
		fuzz_one(buf, len, &ok);
	}

	/* Mutations of valid payloads: flip, insert, delete bytes. */
	valid[0] = mk_add("tid-1", "some data", &vlen[0]);
	valid[1] = mk_put("t", "key", "value", &vlen[1]);
	valid[2] = mk_del(NULL, "key", &vlen[2]);
	valid[3] = mk_cas("x", "key", "old", "new", &vlen[3]);
	valid[4] = mk_mput("m", kv, &vlen[4]);
	valid[5] = mk_mput(NULL, kv, &vlen[5]);
	for (int i = 0; i < 3000; i++) {
		size_t v = rnd_below(6), len = vlen[v], at;

		memcpy(buf, valid[v], len);
		for (int m = 0; m < 1 + (int)rnd_below(3); m++) {
			at = rnd_below(len + 1);
			switch (rnd_below(3)) {
			case 0:
				if (at < len)
					buf[at] = (uint8_t)rnd();
				break;
			case 1:
				if (len < sizeof(buf)) {
					memmove(buf + at + 1, buf + at,
						len - at);
					buf[at] = (uint8_t)rnd();
					len++;
				}
				break;
			default:
				if (at < len) {
					memmove(buf + at, buf + at + 1,
						len - at - 1);
					len--;
				}
				break;
			}
		}
		fuzz_one(buf, len, &ok);
	}
	for (int v = 0; v < 6; v++)
		free(valid[v]);
	/* Some mutations must have produced valid commands, or the
	 * re-encoding check above tested nothing. */
	CHECK(ok > 100);
}

static void check_format(const uint8_t *p, size_t len, unsigned flags,
			 const char *want)
{
	char line[COMMAND_FORMAT_SIZE];

	CHECK(command_describe(p, len, flags, line, sizeof(line)) ==
	      COMMAND_OK);
	if (strcmp(line, want) != 0) {
		fprintf(stderr, "format: got  %s\n        want %s\n", line,
			want);
		CHECK(!"format mismatch");
	}
}

static void test_format(void)
{
	static const char *const kv[] = {"b", "2", "a", "1", "c",
					 "3", "d", "4", NULL};
	char line[COMMAND_FORMAT_SIZE];
	char *big = xmalloc(COMMAND_MAX_VALUE + 1);
	struct command_pair pairs[4];
	struct command c;
	uint8_t *p;
	size_t len;

	p = mk_put("t-9", "user:1", "alice", &len);
	check_format(p, len, 0, "put k=\"user:1\" v=\"alice\" tid=\"t-9\"");
	check_format(p, len, COMMAND_FORMAT_NO_TID,
		     "put k=\"user:1\" v=\"alice\"");
	/* A small buffer: cut, NUL-terminated. */
	CHECK(command_describe(p, len, 0, line, 8) == COMMAND_OK);
	CHECK(strcmp(line, "put k=\"") == 0);
	free(p);
	p = mk_add("t-1", "hello", &len);
	check_format(p, len, 0, "add tid=\"t-1\" data=\"hello\"");
	free(p);
	p = mk_del(NULL, "k", &len);
	check_format(p, len, 0, "del k=\"k\"");
	free(p);
	p = mk_cas("c", "k", "", "v", &len);
	check_format(p, len, 0, "cas k=\"k\" old=\"\" new=\"v\" tid=\"c\"");
	free(p);
	p = mk_mput(NULL, kv, &len);
	check_format(p, len, 0,
		     "mput n=4 \"a\"=\"1\" \"b\"=\"2\" \"c\"=\"3\" ...");
	free(p);

	/* Escapes: quote, backslash, controls, invalid UTF-8, C1; valid
	 * UTF-8 passes through. */
	p = mk_put(NULL, "q\"b\\", "l\n\t\r\x01\x7f\xff\xc3\xa9\xc2\x85", &len);
	check_format(p, len, 0,
		     "put k=\"q\\\"b\\\\\" "
		     "v=\"l\\n\\t\\r\\x01\\x7f\\xff\xc3\xa9\\xc2\\x85\"");
	free(p);

	/* Long values are cut and their length given. */
	memset(big, 'x', COMMAND_MAX_VALUE);
	big[COMMAND_MAX_VALUE] = '\0';
	p = mk_put(NULL, "k", big, &len);
	CHECK(command_describe(p, len, 0, line, sizeof(line)) == COMMAND_OK);
	CHECK(strstr(line, "...(262144 bytes)") != NULL);
	CHECK(strlen(line) < 80);
	free(p);

	/* The worst case (every byte escaped, every field full) still fits
	 * COMMAND_FORMAT_SIZE. */
	memset(big, 0x01, COMMAND_MAX_VALUE);
	for (int i = 0; i < 4; i++) {
		pairs[i].key = SN(big, COMMAND_MAX_KEY);
		pairs[i].value = SN(big, 1000);
	}
	pairs[0].key.len = 10; /* keys must differ */
	pairs[1].key.len = 11;
	pairs[2].key.len = 12;
	c = (struct command){.op = COMMAND_MPUT,
			     .has_tid = true,
			     .tid = SN(big, COMMAND_MAX_TID),
			     .pairs = pairs,
			     .n_pairs = 4};
	CHECK(command_format(&c, 0, line, sizeof(line)) == COMMAND_OK);
	CHECK(strlen(line) + 1 < sizeof(line));
	c = (struct command){.op = COMMAND_CAS,
			     .has_tid = true,
			     .tid = SN(big, COMMAND_MAX_TID),
			     .key = SN(big, COMMAND_MAX_KEY),
			     .expected = SN(big, COMMAND_MAX_VALUE),
			     .value = SN(big, COMMAND_MAX_VALUE)};
	CHECK(command_format(&c, 0, line, sizeof(line)) == COMMAND_OK);
	CHECK(strlen(line) + 1 < sizeof(line));

	CHECK(command_describe("\x01\x09", 2, 0, line, sizeof(line)) ==
	      COMMAND_ETRUNC);
	CHECK(strcmp(line, "invalid command (2 bytes: command truncated)") ==
	      0);
	CHECK(strcmp(command_op_name(COMMAND_MPUT), "mput") == 0);
	free(big);
}

/* ---- the key-value state machine ------------------------------------------
 */

static void test_kv_semantics(void)
{
	struct sm *sm = sm_new();
	const char *v;
	size_t len, vlen;

	CHECK(sm_last_applied(sm) == 0);
	CHECK(get(sm, "k") == NULL);
	CHECK(sm_get(sm, "k", 1, &v, &vlen) == SM_ENOTFOUND);

	CHECK(apply(sm, mk_put(NULL, "k", "v1", &len), &len) == SM_RESULT_TRUE);
	CHECK(get(sm, "k") && strcmp(get(sm, "k"), "v1") == 0);
	CHECK(apply(sm, mk_put(NULL, "k", "v2", &len), &len) == SM_RESULT_TRUE);
	CHECK(get(sm, "k") && strcmp(get(sm, "k"), "v2") == 0);
	CHECK(apply(sm, mk_put(NULL, "k", "", &len), &len) == SM_RESULT_TRUE);
	CHECK(get(sm, "k") && strcmp(get(sm, "k"), "") == 0);

	CHECK(apply(sm, mk_del(NULL, "k", &len), &len) == SM_RESULT_TRUE);
	CHECK(get(sm, "k") == NULL);
	CHECK(apply(sm, mk_del(NULL, "k", &len), &len) == SM_RESULT_FALSE);

	/* cas: "" expected on an absent key means "absent". */
	CHECK(apply(sm, mk_cas(NULL, "c", "x", "1", &len), &len) ==
	      SM_RESULT_FALSE);
	CHECK(get(sm, "c") == NULL);
	CHECK(apply(sm, mk_cas(NULL, "c", "", "1", &len), &len) ==
	      SM_RESULT_TRUE);
	CHECK(get(sm, "c") && strcmp(get(sm, "c"), "1") == 0);
	CHECK(apply(sm, mk_cas(NULL, "c", "", "2", &len), &len) ==
	      SM_RESULT_FALSE);
	CHECK(apply(sm, mk_cas(NULL, "c", "11", "2", &len), &len) ==
	      SM_RESULT_FALSE); /* longer than the value */
	CHECK(apply(sm, mk_cas(NULL, "c", "", "2", &len), &len) ==
	      SM_RESULT_FALSE);
	CHECK(apply(sm, mk_cas(NULL, "c", "1", "2", &len), &len) ==
	      SM_RESULT_TRUE);
	CHECK(get(sm, "c") && strcmp(get(sm, "c"), "2") == 0);
	/* A present empty value matches "" too. */
	CHECK(apply(sm, mk_put(NULL, "e", "", &len), &len) == SM_RESULT_TRUE);
	CHECK(apply(sm, mk_cas(NULL, "e", "", "full", &len), &len) ==
	      SM_RESULT_TRUE);
	CHECK(get(sm, "e") && strcmp(get(sm, "e"), "full") == 0);

	/* Keys are bytes: embedded NUL and a 0xff byte. */
	{
		struct command c = {.op = COMMAND_PUT,
				    .key = SN("a\0b", 3),
				    .value = SN("x\0y", 3)};
		uint8_t *p = enc(&c, &len);

		CHECK(apply(sm, p, &len) == SM_RESULT_TRUE);
		CHECK(sm_get(sm, "a\0b", 3, &v, &vlen) == SM_OK && vlen == 3 &&
		      memcmp(v, "x\0y", 4) == 0);
		CHECK(sm_get(sm, "a", 1, &v, &vlen) == SM_ENOTFOUND);
	}
	CHECK(sm_last_applied(sm) == 14);
	CHECK(sm_verify(sm) == SM_OK);
	sm_free(sm);
	sm_free(NULL);
}

static void test_apply_order_and_invalid(void)
{
	struct sm *sm = sm_new();
	enum sm_result r = SM_RESULT_TRUE;
	uint8_t *p;
	size_t len;
	char *before, *after;
	int rv;

	p = mk_put("t", "k", "v", &len);
	CHECK(sm_apply(sm, 2, 1, p, len, &r) == SM_EORDER);
	CHECK(r == SM_RESULT_INVALID);
	CHECK(sm_apply(sm, 0, 1, p, len, &r) == SM_EORDER);
	CHECK(sm_skip(sm, 2) == SM_EORDER);
	CHECK(sm_last_applied(sm) == 0 && get(sm, "k") == NULL);
	CHECK(sm_skip(sm, 1) == SM_OK); /* a NOOP entry */
	CHECK(sm_apply(sm, 2, 1, p, len, &r) == SM_OK && r == SM_RESULT_TRUE);
	CHECK(sm_apply(sm, 2, 1, p, len, &r) == SM_EORDER);
	CHECK(sm_last_applied(sm) == 2);
	free(p);

	/* A malformed entry is consumed and changes nothing else. */
	before = dump(sm);
	len = 5;
	CHECK(apply_rv(sm, memdup("\x01\x02\x00\x05k", 5), &len, &rv) ==
	      SM_RESULT_INVALID);
	CHECK(rv == SM_EINVAL);
	CHECK(sm_apply(sm, 4, 1, NULL, 0, &r) == SM_EINVAL &&
	      r == SM_RESULT_INVALID);
	/* A multiPut broken in its last pair sets none of its pairs. */
	{
		static const char dup[] = "\x01\x05\x00\x02\x01"
					  "a\x00\x01"
					  "a\x00";
		static const char cut[] = "\x01\x05\x00\x02\x01"
					  "a\x00\x01"
					  "b";

		CHECK(sm_apply(sm, 5, 1, dup, sizeof(dup) - 1, &r) ==
		      SM_EINVAL);
		CHECK(sm_apply(sm, 6, 1, cut, sizeof(cut) - 1, &r) ==
		      SM_EINVAL);
	}
	CHECK(get(sm, "a") == NULL);
	after = dump(sm);
	CHECK(sm_last_applied(sm) == 6);
	CHECK(strcmp(dump_body(before), dump_body(after)) == 0);
	free(before);
	free(after);
	CHECK(sm_verify(sm) == SM_OK);
	CHECK(strcmp(sm_strerror(SM_EORDER), "entry applied out of order") ==
	      0);
	CHECK(strcmp(sm_result_name(SM_RESULT_TID_CONFLICT), "tid conflict") ==
	      0);
	sm_free(sm);
}

static void test_list(void)
{
	static const char *const keys[] = {
	    "b",
	    "a",
	    "ab",
	    "abc",
	    "abd",
	    "ac",
	    "\xff",
	    "\xff\xff",
	    "\xff"
	    "a",
	    "\xfe\xff",
	    "\xfe",
	    "",
	    "b\xff",
	};
	const size_t n = sizeof(keys) / sizeof(keys[0]);
	struct sm *sm = sm_new();
	struct collect c;
	size_t len, count;

	/* Insert in a scrambled order. */
	for (size_t i = 0; i < n; i++) {
		size_t k = (i * 5) % n;

		CHECK(apply(sm, mk_put(NULL, keys[k], keys[k], &len), &len) ==
		      SM_RESULT_TRUE);
	}
	CHECK(strcmp(list(sm, "", 0),
		     "=;a=a;ab=ab;abc=abc;abd=abd;ac=ac;b=b;b\xff=b\xff;"
		     "\xfe=\xfe;\xfe\xff=\xfe\xff;\xff=\xff;\xff"
		     "a=\xff"
		     "a;\xff\xff=\xff\xff;") == 0);
	CHECK(strcmp(list(sm, "a", 0), "a=a;ab=ab;abc=abc;abd=abd;ac=ac;") ==
	      0);
	CHECK(strcmp(list(sm, "ab", 0), "ab=ab;abc=abc;abd=abd;") == 0);
	CHECK(strcmp(list(sm, "abc", 0), "abc=abc;") == 0);
	CHECK(strcmp(list(sm, "abcd", 0), "") == 0);
	CHECK(strcmp(list(sm, "aa", 0), "") == 0);
	CHECK(strcmp(list(sm, "b", 0), "b=b;b\xff=b\xff;") == 0);
	CHECK(strcmp(list(sm, "c", 0), "") == 0);
	/* A prefix that is the largest byte: no "next prefix" to stop at. */
	CHECK(strcmp(list(sm, "\xff", 0), "\xff=\xff;\xff"
					  "a=\xff"
					  "a;\xff\xff=\xff\xff;") == 0);
	CHECK(strcmp(list(sm, "\xff\xff", 0), "\xff\xff=\xff\xff;") == 0);
	CHECK(strcmp(list(sm, "\xff\xff\xff", 0), "") == 0);
	CHECK(strcmp(list(sm, "\xfe", 0), "\xfe=\xfe;\xfe\xff=\xfe\xff;") == 0);
	/* max, and a callback that stops. */
	CHECK(strcmp(list(sm, "a", 2), "a=a;ab=ab;") == 0);
	CHECK(strcmp(list(sm, "", 1), "=;") == 0);
	memset(&c, 0, sizeof(c));
	c.stop_after = 3;
	CHECK(sm_list(sm, "a", 1, 0, collect_fn, &c, &count) == SM_OK);
	CHECK(count == 3 && strcmp(c.buf, "a=a;ab=ab;abc=abc;") == 0);
	CHECK(sm_list(sm, "a", 1, 0, collect_fn, &c, NULL) == SM_OK);

	/* After deletes. */
	CHECK(apply(sm, mk_del(NULL, "ab", &len), &len) == SM_RESULT_TRUE);
	CHECK(apply(sm, mk_del(NULL, "\xff", &len), &len) == SM_RESULT_TRUE);
	CHECK(strcmp(list(sm, "ab", 0), "abc=abc;abd=abd;") == 0);
	CHECK(strcmp(list(sm, "\xff", 0), "\xff"
					  "a=\xff"
					  "a;\xff\xff=\xff\xff;") == 0);
	CHECK(sm_verify(sm) == SM_OK);
	sm_free(sm);

	/* An empty map. */
	sm = sm_new();
	CHECK(strcmp(list(sm, "", 0), "") == 0);
	sm_free(sm);
}

static int count_fn(void *arg, const char *key, size_t klen, const char *val,
		    size_t vlen)
{
	(*(size_t *)arg)++;
	return 0;
}

/* sm_list_after() output as "k=v;" text; after NULL is no bound. */
static const char *list_after(const struct sm *sm, const char *prefix,
			      const char *after, size_t alen, size_t max)
{
	static struct collect c;
	size_t count = 0;

	memset(&c, 0, sizeof(c));
	CHECK(sm_list_after(sm, prefix, strlen(prefix), after, alen, max,
			    collect_fn, &c, &count) == SM_OK);
	CHECK(count == c.calls);
	return c.buf;
}

#define AFTER(s) (s), (sizeof(s) - 1)

static void test_list_after(void)
{
	static const char *const keys[] = {
	    "b",
	    "a",
	    "ab",
	    "abc",
	    "abd",
	    "ac",
	    "\xff",
	    "\xff\xff",
	    "\xff"
	    "a",
	    "",
	    "b\xff",
	};
	const size_t n = sizeof(keys) / sizeof(keys[0]);
	struct sm *sm = sm_new();
	size_t len;

	for (size_t i = 0; i < n; i++) {
		size_t k = (i * 7) % n;

		CHECK(apply(sm, mk_put(NULL, keys[k], keys[k], &len), &len) ==
		      SM_RESULT_TRUE);
	}
	/* No bound: the same as sm_list(). */
	CHECK(strcmp(list_after(sm, "a", NULL, 0, 0),
		     "a=a;ab=ab;abc=abc;abd=abd;ac=ac;") == 0);
	/* A bound below the prefix changes nothing. */
	CHECK(strcmp(list_after(sm, "a", AFTER(""), 0),
		     "a=a;ab=ab;abc=abc;abd=abd;ac=ac;") == 0);
	CHECK(strcmp(list_after(sm, "b", AFTER("ac"), 0), "b=b;b\xff=b\xff;") ==
	      0);
	/* Strictly greater: a key equal to the bound is left out. */
	CHECK(strcmp(list_after(sm, "a", AFTER("a"), 0),
		     "ab=ab;abc=abc;abd=abd;ac=ac;") == 0);
	CHECK(strcmp(list_after(sm, "a", AFTER("ab"), 0),
		     "abc=abc;abd=abd;ac=ac;") == 0);
	/* A bound that is no key: the next key after it. */
	CHECK(strcmp(list_after(sm, "a", AFTER("abcz"), 0), "abd=abd;ac=ac;") ==
	      0);
	CHECK(strcmp(list_after(sm, "a", AFTER("ab\0"), 0),
		     "abc=abc;abd=abd;ac=ac;") == 0);
	CHECK(strcmp(list_after(sm, "ab", AFTER("aa\xff"), 0),
		     "ab=ab;abc=abc;abd=abd;") == 0);
	CHECK(strcmp(list_after(sm, "ab", AFTER("a\xff"), 0), "") == 0);
	/* The last key of the run, and bounds past the run. */
	CHECK(strcmp(list_after(sm, "a", AFTER("ac"), 0), "") == 0);
	CHECK(strcmp(list_after(sm, "a", AFTER("b"), 0), "") == 0);
	CHECK(strcmp(list_after(sm, "a", AFTER("\xff\xff\xff"), 0), "") == 0);
	/* The empty key is greater than no bound. */
	CHECK(strcmp(list_after(sm, "", AFTER(""), 2), "a=a;ab=ab;") == 0);
	CHECK(strcmp(list_after(sm, "", NULL, 0, 2), "=;a=a;") == 0);
	/* The largest byte, where no "next prefix" exists. */
	CHECK(strcmp(list_after(sm, "\xff", AFTER("\xff"), 0),
		     "\xff"
		     "a=\xff"
		     "a;\xff\xff=\xff\xff;") == 0);
	CHECK(strcmp(list_after(sm, "\xff",
				AFTER("\xff"
				      "a"),
				0),
		     "\xff\xff=\xff\xff;") == 0);
	CHECK(strcmp(list_after(sm, "\xff", AFTER("\xff\xff"), 0), "") == 0);
	CHECK(strcmp(list_after(sm, "", AFTER("b"), 0),
		     "b\xff=b\xff;\xff=\xff;\xff"
		     "a=\xff"
		     "a;\xff\xff=\xff\xff;") == 0);
	/* max counts from the bound. */
	CHECK(strcmp(list_after(sm, "a", AFTER("ab"), 2), "abc=abc;abd=abd;") ==
	      0);
	sm_free(sm);

	/* An empty map. */
	sm = sm_new();
	CHECK(strcmp(list_after(sm, "", AFTER("x"), 0), "") == 0);
	sm_free(sm);
}

/* Pages with sm_list_after(): remembers the last key and checks order. */
struct pager {
	char last[32];
	size_t last_len;
	size_t seen;
	bool ordered;
};

static int pager_fn(void *arg, const char *key, size_t klen, const char *val,
		    size_t vlen)
{
	struct pager *p = arg;
	size_t m = klen < p->last_len ? klen : p->last_len;
	int c = memcmp(key, p->last, m);

	if (p->seen > 0 && !(c > 0 || (c == 0 && klen > p->last_len)))
		p->ordered = false;
	CHECK_REQUIRE(klen < sizeof(p->last));
	memcpy(p->last, key, klen);
	p->last_len = klen;
	p->seen++;
	return 0;
}

static void test_list_paging(void)
{
	struct sm *sm = sm_new();
	struct pager p;
	char k[16];
	size_t len, count, pages = 0;

	for (int i = 0; i < 10000; i++) {
		snprintf(k, sizeof(k), "%c%05d", i % 2 ? 'o' : 'e', i);
		CHECK(apply(sm, mk_put(NULL, k, "v", &len), &len) ==
		      SM_RESULT_TRUE);
	}
	/* Pages of 7 through the 5000 keys under "o": every key exactly
	 * once, in order, then an empty page. */
	memset(&p, 0, sizeof(p));
	p.ordered = true;
	do {
		CHECK_REQUIRE(pages < 2000);
		CHECK(sm_list_after(sm, "o", 1, pages ? p.last : NULL,
				    p.last_len, 7, pager_fn, &p,
				    &count) == SM_OK);
		pages++;
	} while (count > 0);
	CHECK(p.seen == 5000 && p.ordered);
	CHECK(pages == 5000 / 7 + 2);
	CHECK(p.last_len == 6 && memcmp(p.last, "o09999", 6) == 0);
	sm_free(sm);
}

/* Random maps over a 3-letter alphabet against a brute-force model: every
 * (prefix, after, max) gives the sorted keys with the prefix that are
 * greater than after, the first max of them. */
static int str_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t m = alen < blen ? alen : blen;
	int c = m ? memcmp(a, b, m) : 0;

	return c ? c : (alen > blen) - (alen < blen);
}

static void rnd_key(char *out, size_t *len)
{
	static const char alpha[] = {'a', 'b', '\xff'};

	*len = rnd_below(4);
	for (size_t i = 0; i < *len; i++)
		out[i] = alpha[rnd_below(3)];
	out[*len] = '\0';
}

static void test_list_after_model(void)
{
	for (int round = 0; round < 200; round++) {
		struct sm *sm = sm_new();
		char keys[64][8], want[4096], prefix[8], after[8];
		size_t klens[64], n_keys = 0, len, plen, alen, max;

		for (int i = 0; i < 30; i++) {
			char k[8];
			size_t kl, j;

			rnd_key(k, &kl);
			CHECK(apply(sm, mk_put(NULL, k, "v", &len), &len) ==
			      SM_RESULT_TRUE);
			for (j = 0; j < n_keys; j++)
				if (str_cmp(keys[j], klens[j], k, kl) == 0)
					break;
			if (j == n_keys) {
				memcpy(keys[n_keys], k, kl + 1);
				klens[n_keys++] = kl;
			}
		}
		for (int q = 0; q < 20; q++) {
			bool used[64] = {false};
			size_t wlen = 0, taken = 0;

			want[0] = '\0';
			rnd_key(prefix, &plen);
			plen = plen > 2 ? 2 : plen;
			prefix[plen] = '\0';
			rnd_key(after, &alen);
			max = rnd_below(4);
			/* The model: pick the smallest qualifying key each
			 * time. */
			for (;;) {
				size_t best = n_keys;

				if (max != 0 && taken == max)
					break;
				for (size_t j = 0; j < n_keys; j++) {
					if (used[j] || klens[j] < plen ||
					    memcmp(keys[j], prefix, plen) !=
						0 ||
					    str_cmp(keys[j], klens[j], after,
						    alen) <= 0)
						continue;
					if (best == n_keys ||
					    str_cmp(keys[j], klens[j],
						    keys[best],
						    klens[best]) < 0)
						best = j;
				}
				if (best == n_keys)
					break;
				used[best] = true;
				taken++;
				wlen += (size_t)snprintf(want + wlen,
							 sizeof(want) - wlen,
							 "%s=v;", keys[best]);
			}
			CHECK(strcmp(list_after(sm, prefix, after, alen, max),
				     want) == 0);
		}
		CHECK(sm_verify(sm) == SM_OK);
		sm_free(sm);
	}
}

static void test_tree_balance(void)
{
	struct sm *sm = sm_new();
	struct sm_stats st;
	char k[16];
	size_t len, count = 0;

	/* Ascending inserts would make an unbalanced tree a list. */
	for (int i = 0; i < 20000; i++) {
		snprintf(k, sizeof(k), "%08d", i);
		CHECK(apply(sm, mk_put(NULL, k, "v", &len), &len) ==
		      SM_RESULT_TRUE);
	}
	CHECK(sm_verify(sm) == SM_OK);
	for (int i = 0; i < 20000; i += 2) {
		snprintf(k, sizeof(k), "%08d", i);
		CHECK(apply(sm, mk_del(NULL, k, &len), &len) == SM_RESULT_TRUE);
	}
	CHECK(sm_verify(sm) == SM_OK);
	sm_stats(sm, &st);
	CHECK(st.n_keys == 10000 && st.kv_bytes == 10000 * 9);
	CHECK(sm_list(sm, "0001", 4, 0, count_fn, &count, NULL) == SM_OK);
	CHECK(count == 5000);
	sm_free(sm);
}

static void test_multi(void)
{
	static const char *const kv1[] = {"x", "1", "y", "2", "z", "3", NULL};
	static const char *const kv2[] = {"y", "20", "w", "0", NULL};
	struct sm *sm = sm_new();
	struct command_str keys[] = {S("z"), S("nope"), S("x"), S("w"), S("x")};
	struct collect c;
	size_t len, count = 0;
	char *big = xmalloc(3001);
	struct command_pair *pairs = xmalloc(1000 * sizeof(*pairs));
	char(*names)[8] = xmalloc(1000 * sizeof(*names));
	struct command cmd = {
	    .op = COMMAND_MPUT, .pairs = pairs, .n_pairs = 1000};
	struct sm_stats st;

	CHECK(apply(sm, mk_mput(NULL, kv1, &len), &len) == SM_RESULT_TRUE);
	CHECK(sm_last_applied(sm) == 1); /* one entry for all three */
	CHECK(strcmp(list(sm, "", 0), "x=1;y=2;z=3;") == 0);
	CHECK(apply(sm, mk_mput("t", kv2, &len), &len) == SM_RESULT_TRUE);
	CHECK(strcmp(list(sm, "", 0), "w=0;x=1;y=20;z=3;") == 0);

	memset(&c, 0, sizeof(c));
	CHECK(sm_multi_get(sm, keys, 5, collect_fn, &c, &count) == SM_OK);
	CHECK(count == 4 && strcmp(c.buf, "z=3;x=1;w=0;x=1;") == 0);
	CHECK(sm_multi_get(sm, keys, 0, collect_fn, &c, &count) == SM_OK &&
	      count == 0);

	/* The largest multiPut lands whole. */
	memset(big, 'v', 3000);
	for (int i = 0; i < 1000; i++) {
		snprintf(names[i], sizeof(names[i]), "m%03d", 999 - i);
		pairs[i].key = S(names[i]);
		pairs[i].value = SN(big, (size_t)(i % 500) * 2);
	}
	CHECK(apply(sm, enc(&cmd, &len), &len) == SM_RESULT_TRUE);
	count = 0;
	CHECK(sm_list(sm, "m", 1, 0, count_fn, &count, NULL) == SM_OK);
	CHECK(count == 1000);
	sm_stats(sm, &st);
	CHECK(st.n_keys == 1004 && st.last_applied == 3);
	CHECK(sm_verify(sm) == SM_OK);
	free(names);
	free(pairs);
	free(big);
	sm_free(sm);
}

/* ---- tid de-duplication ----------------------------------------------------
 */

/* As apply(): the length by pointer. */
static void check_lookup(const struct sm *sm, uint8_t *p, const size_t *len,
			 enum sm_tid_state want, enum sm_result want_result)
{
	enum sm_tid_state st;
	enum sm_result r;

	CHECK(sm_tid_lookup(sm, p, *len, &st, &r) == SM_OK);
	CHECK(st == want);
	if (st == want && want != SM_TID_UNKNOWN)
		CHECK(r == want_result);
	free(p);
}

static void test_tid_dedup(void)
{
	struct sm *sm = sm_new();
	const struct sm_entry *e;
	enum sm_tid_state st;
	enum sm_result r;
	char *before, *after;
	size_t len, n;

	CHECK(apply(sm, mk_put(NULL, "k", "v", &len), &len) == SM_RESULT_TRUE);
	check_lookup(sm, mk_del("d1", "k", &len), &len, SM_TID_UNKNOWN, 0);
	CHECK(apply(sm, mk_del("d1", "k", &len), &len) == SM_RESULT_TRUE);
	CHECK(get(sm, "k") == NULL);
	check_lookup(sm, mk_del("d1", "k", &len), &len, SM_TID_SAME,
		     SM_RESULT_TRUE);
	/* The retry answers the first call's true, though the key is gone. */
	before = dump(sm);
	CHECK(apply(sm, mk_del("d1", "k", &len), &len) == SM_RESULT_TRUE);
	after = dump(sm);
	CHECK(strcmp(dump_body(before), dump_body(after)) == 0);
	free(after);

	/* Reuse with other arguments: a conflict, nothing changes. */
	check_lookup(sm, mk_del("d1", "other", &len), &len, SM_TID_DIFFERENT,
		     SM_RESULT_TID_CONFLICT);
	CHECK(apply(sm, mk_del("d1", "other", &len), &len) ==
	      SM_RESULT_TID_CONFLICT);
	CHECK(apply(sm, mk_put("d1", "k", "v", &len), &len) ==
	      SM_RESULT_TID_CONFLICT);
	CHECK(apply(sm, mk_add("d1", "data", &len), &len) ==
	      SM_RESULT_TID_CONFLICT);
	CHECK(get(sm, "k") == NULL);
	after = dump(sm);
	CHECK(strcmp(dump_body(before), dump_body(after)) == 0);
	free(before);
	free(after);

	/* A put retried after the key changed does not put it back. */
	CHECK(apply(sm, mk_put("p1", "k", "first", &len), &len) ==
	      SM_RESULT_TRUE);
	CHECK(apply(sm, mk_put(NULL, "k", "second", &len), &len) ==
	      SM_RESULT_TRUE);
	CHECK(apply(sm, mk_put("p1", "k", "first", &len), &len) ==
	      SM_RESULT_TRUE);
	CHECK(get(sm, "k") && strcmp(get(sm, "k"), "second") == 0);

	/* A failed cas stays failed on retry, even when it would succeed. */
	CHECK(apply(sm, mk_cas("c1", "k", "first", "third", &len), &len) ==
	      SM_RESULT_FALSE);
	CHECK(apply(sm, mk_put(NULL, "k", "first", &len), &len) ==
	      SM_RESULT_TRUE);
	CHECK(apply(sm, mk_cas("c1", "k", "first", "third", &len), &len) ==
	      SM_RESULT_FALSE);
	CHECK(get(sm, "k") && strcmp(get(sm, "k"), "first") == 0);
	check_lookup(sm, mk_cas("c1", "k", "first", "third", &len), &len,
		     SM_TID_SAME, SM_RESULT_FALSE);

	/* addEntry: one record however often it is retried. */
	CHECK(apply(sm, mk_add("a1", "hello", &len), &len) == SM_RESULT_TRUE);
	CHECK(apply(sm, mk_add("a1", "hello", &len), &len) == SM_RESULT_TRUE);
	CHECK(apply(sm, mk_add("a1", "hello!", &len), &len) ==
	      SM_RESULT_TID_CONFLICT);
	CHECK(sm_entries(sm, 0, 0, &e, &n) == SM_OK && n == 1);
	CHECK(n == 1 && strcmp(e[0].tid, "a1") == 0 &&
	      strcmp(e[0].data, "hello") == 0 && e[0].tid_len == 2);

	/* multiPut with the members in another order is the same call. */
	{
		static const char *const m1[] = {"m1", "1", "m2", "2", NULL};
		static const char *const m2[] = {"m2", "2", "m1", "1", NULL};
		static const char *const m3[] = {"m2", "2", "m1", "X", NULL};

		CHECK(apply(sm, mk_mput("mp", m1, &len), &len) ==
		      SM_RESULT_TRUE);
		CHECK(apply(sm, mk_put(NULL, "m1", "changed", &len), &len) ==
		      SM_RESULT_TRUE);
		CHECK(apply(sm, mk_mput("mp", m2, &len), &len) ==
		      SM_RESULT_TRUE);
		CHECK(strcmp(get(sm, "m1"), "changed") == 0);
		CHECK(apply(sm, mk_mput("mp", m3, &len), &len) ==
		      SM_RESULT_TID_CONFLICT);
	}

	/* Tids are strings: "42" is one tid whatever the op. */
	CHECK(apply(sm, mk_put("42", "n", "1", &len), &len) == SM_RESULT_TRUE);
	CHECK(apply(sm, mk_put("420", "n", "2", &len), &len) == SM_RESULT_TRUE);
	CHECK(apply(sm, mk_put("4", "n", "3", &len), &len) == SM_RESULT_TRUE);
	CHECK(apply(sm, mk_put("42", "n", "2", &len), &len) ==
	      SM_RESULT_TID_CONFLICT);
	CHECK(strcmp(get(sm, "n"), "3") == 0);

	/* Commands without a tid are never de-duplicated. */
	CHECK(apply(sm, mk_del(NULL, "n", &len), &len) == SM_RESULT_TRUE);
	CHECK(apply(sm, mk_del(NULL, "n", &len), &len) == SM_RESULT_FALSE);
	check_lookup(sm, mk_del(NULL, "n", &len), &len, SM_TID_UNKNOWN, 0);
	CHECK(sm_tid_lookup(sm, "\x01", 1, &st, &r) == SM_EINVAL);
	CHECK(st == SM_TID_UNKNOWN);
	CHECK(sm_verify(sm) == SM_OK);
	sm_free(sm);
}

static void test_tid_eviction(void)
{
	struct sm *sm = sm_new();
	struct sm_stats st;
	char tid[32];
	size_t len, n;
	const struct sm_entry *e;

	/* SM_TID_KEEP + 1 distinct tids: the first one is forgotten. */
	for (unsigned i = 0; i <= SM_TID_KEEP; i++) {
		snprintf(tid, sizeof(tid), "t%u", i);
		if (apply(sm, mk_add(tid, "d", &len), &len) != SM_RESULT_TRUE)
			CHECK(!"add failed");
	}
	sm_stats(sm, &st);
	CHECK(st.n_tids == SM_TID_KEEP);
	CHECK(st.n_entries == SM_TID_KEEP + 1);
	CHECK(sm_verify(sm) == SM_OK);
	check_lookup(sm, mk_add("t0", "d", &len), &len, SM_TID_UNKNOWN, 0);
	check_lookup(sm, mk_add("t1", "d", &len), &len, SM_TID_SAME,
		     SM_RESULT_TRUE);
	snprintf(tid, sizeof(tid), "t%u", SM_TID_KEEP);
	check_lookup(sm, mk_add(tid, "d", &len), &len, SM_TID_SAME,
		     SM_RESULT_TRUE);
	/* A forgotten tid is new again: a second record; now t1 is the
	 * oldest and goes. */
	CHECK(apply(sm, mk_add("t0", "d", &len), &len) == SM_RESULT_TRUE);
	CHECK(sm_entries(sm, 0, 0, &e, &n) == SM_OK);
	CHECK(n == SM_TID_KEEP + 2);
	check_lookup(sm, mk_add("t0", "d", &len), &len, SM_TID_SAME,
		     SM_RESULT_TRUE);
	check_lookup(sm, mk_add("t1", "d", &len), &len, SM_TID_UNKNOWN, 0);
	check_lookup(sm, mk_add("t2", "d", &len), &len, SM_TID_SAME,
		     SM_RESULT_TRUE);
	/* A conflicting reuse is not remembered and evicts nothing. */
	CHECK(apply(sm, mk_add("t2", "other", &len), &len) ==
	      SM_RESULT_TID_CONFLICT);
	check_lookup(sm, mk_add("t2", "d", &len), &len, SM_TID_SAME,
		     SM_RESULT_TRUE);
	sm_stats(sm, &st);
	CHECK(st.n_tids == SM_TID_KEEP);
	CHECK(sm_verify(sm) == SM_OK);
	sm_free(sm);
}

/* ---- getEntries ------------------------------------------------------------
 */

static void test_entries_paging(void)
{
	struct sm *sm = sm_new();
	uint64_t want[200], want_term[200];
	size_t n_want = 0, len, n, got = 0;
	const struct sm_entry *e;
	char tid[16], data[16];
	uint64_t from = 1;
	int rv;

	CHECK(sm_entries(sm, 1, 10, &e, &n) == SM_OK && n == 0);
	/* ADDs among puts, NOOPs and invalid entries, over two terms. */
	for (int i = 0; n_want < 200; i++) {
		uint64_t index = sm_last_applied(sm) + 1;
		enum sm_result r;

		switch (i % 4) {
		case 0:
		case 2:
			snprintf(tid, sizeof(tid), "a%d", i);
			snprintf(data, sizeof(data), "d%d", i);
			{
				uint8_t *p = mk_add(tid, data, &len);

				want_term[n_want] = i < 300 ? 1 : 2;
				CHECK(sm_apply(sm, index, want_term[n_want], p,
					       len, &r) == SM_OK);
				free(p);
			}
			want[n_want++] = index;
			break;
		case 1:
			CHECK(apply(sm, mk_put(NULL, "k", "v", &len), &len) ==
			      SM_RESULT_TRUE);
			break;
		default:
			if (i % 8 == 3)
				CHECK(sm_skip(sm, index) == SM_OK);
			else if ((len = 4) != 0)
				CHECK(apply_rv(sm, memdup("junk", 4), &len,
					       &rv) == SM_RESULT_INVALID);
			break;
		}
	}

	/* Pages of 7: each one picks up after the last index seen. */
	for (;;) {
		CHECK(sm_entries(sm, from, 7, &e, &n) == SM_OK);
		if (n == 0)
			break;
		CHECK(n <= 7);
		for (size_t i = 0; i < n && got < n_want; i++, got++) {
			CHECK(e[i].index == want[got]);
			CHECK(e[i].term == want_term[got]);
		}
		from = e[n - 1].index + 1;
	}
	CHECK(got == n_want);

	/* from between records, at a record, past the end; max 0. */
	CHECK(sm_entries(sm, want[10] - 1, 1, &e, &n) == SM_OK && n == 1 &&
	      e[0].index == want[10]);
	CHECK(sm_entries(sm, want[10], 2, &e, &n) == SM_OK && n == 2 &&
	      e[0].index == want[10] && e[1].index == want[11]);
	CHECK(sm_entries(sm, want[199] + 1, 5, &e, &n) == SM_OK && n == 0);
	CHECK(sm_entries(sm, UINT64_MAX, 5, &e, &n) == SM_OK && n == 0);
	CHECK(sm_entries(sm, 0, 0, &e, &n) == SM_OK && n == 200);
	CHECK(sm_entries(sm, 1, 0, &e, &n) == SM_OK && n == 200 &&
	      strcmp(e[0].tid, "a0") == 0 && strcmp(e[0].data, "d0") == 0 &&
	      e[0].index == 1 && e[0].term == 1);
	CHECK(sm_verify(sm) == SM_OK);
	sm_free(sm);
}

/* ---- determinism, against a naive model ------------------------------------
 */

/* The model: what the state machine must do, written the slow obvious way
 * (linear search, payload bytes compared for tid reuse). */
struct model_kv {
	char *key;
	char *val;
};

struct model_tid {
	char *tid;
	uint8_t *payload;
	size_t len;
	enum sm_result result;
};

struct model {
	struct model_kv kv[256];
	size_t n_kv;
	struct model_tid *tids;
	size_t n_tids;
	size_t n_adds;
};

static struct model_kv *model_find(struct model *m, const char *k)
{
	for (size_t i = 0; i < m->n_kv; i++)
		if (strcmp(m->kv[i].key, k) == 0)
			return &m->kv[i];
	return NULL;
}

static void model_set(struct model *m, const char *k, const char *v)
{
	struct model_kv *e = model_find(m, k);

	if (e == NULL) {
		CHECK_REQUIRE(m->n_kv < 256);
		e = &m->kv[m->n_kv++];
		e->key = strdup(k);
	} else {
		free(e->val);
	}
	e->val = strdup(v);
}

/* A random command of the test: the model applies it from these fields,
 * the sm from their encoding. */
struct rcmd {
	enum command_op op;
	char tid[16];
	bool has_tid;
	char key[8];
	char val[8];
	char old[8];
	char mk[3][8];
	char mv[3][8];
	size_t n_pairs;
};

static enum sm_result model_apply(struct model *m, const struct rcmd *c,
				  const uint8_t *p, size_t len)
{
	struct model_kv *e;
	enum sm_result r = SM_RESULT_TRUE;

	if (c->has_tid) {
		for (size_t i = 0; i < m->n_tids; i++) {
			struct model_tid *t = &m->tids[i];

			if (strcmp(t->tid, c->tid) != 0)
				continue;
			if (t->len == len && memcmp(t->payload, p, len) == 0)
				return t->result;
			return SM_RESULT_TID_CONFLICT;
		}
	}
	switch (c->op) {
	case COMMAND_ADD:
		m->n_adds++;
		break;
	case COMMAND_PUT:
		model_set(m, c->key, c->val);
		break;
	case COMMAND_DEL:
		e = model_find(m, c->key);
		r = e ? SM_RESULT_TRUE : SM_RESULT_FALSE;
		if (e != NULL) {
			free(e->key);
			free(e->val);
			*e = m->kv[--m->n_kv];
		}
		break;
	case COMMAND_CAS:
		e = model_find(m, c->key);
		if (e == NULL ? c->old[0] != '\0' : strcmp(e->val, c->old) != 0)
			r = SM_RESULT_FALSE;
		else
			model_set(m, c->key, c->val);
		break;
	case COMMAND_MPUT:
		for (size_t i = 0; i < c->n_pairs; i++)
			model_set(m, c->mk[i], c->mv[i]);
		break;
	}
	if (c->has_tid) {
		struct model_tid *t;

		m->tids = realloc(m->tids, (m->n_tids + 1) * sizeof(*t));
		CHECK_REQUIRE(m->tids != NULL);
		t = &m->tids[m->n_tids++];
		t->tid = strdup(c->tid);
		t->payload = xmalloc(len);
		memcpy(t->payload, p, len);
		t->len = len;
		t->result = r;
	}
	return r;
}

static void model_free(struct model *m)
{
	for (size_t i = 0; i < m->n_kv; i++) {
		free(m->kv[i].key);
		free(m->kv[i].val);
	}
	for (size_t i = 0; i < m->n_tids; i++) {
		free(m->tids[i].tid);
		free(m->tids[i].payload);
	}
	free(m->tids);
}

static int model_kv_cmp(const void *a, const void *b)
{
	const struct model_kv *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* Small alphabets, so that keys collide, share prefixes and tids repeat. */
static void rnd_word(char *out, size_t max, const char *alphabet)
{
	size_t n = rnd_below(max), na = strlen(alphabet);

	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[rnd_below(na)];
	out[n] = '\0';
}

static void rnd_cmd(struct rcmd *c, unsigned long step)
{
	memset(c, 0, sizeof(*c));
	c->op = (enum command_op)(1 + rnd_below(5));
	/* Half carry a tid; a small pool makes retries and conflicts common,
	 * a step-numbered one keeps fresh tids coming. */
	c->has_tid = c->op == COMMAND_ADD || rnd_below(2);
	if (rnd_below(3) == 0)
		snprintf(c->tid, sizeof(c->tid), "r%lu", step);
	else
		snprintf(c->tid, sizeof(c->tid), "p%zu", rnd_below(40));
	rnd_word(c->key, 4, "ab\xff");
	rnd_word(c->val, 3, "xy");
	rnd_word(c->old, 3, "xy");
	if (c->op == COMMAND_MPUT) {
		c->n_pairs = rnd_below(4);
		for (size_t i = 0; i < c->n_pairs; i++) {
			c->mk[i][0] = 'm';
			c->mk[i][1] = (char)('0' + i);
			c->mk[i][2] = "ab"[rnd_below(2)];
			c->mk[i][3] = '\0';
			rnd_word(c->mv[i], 3, "xy");
		}
	}
}

static uint8_t *rcmd_encode(const struct rcmd *r, size_t *len)
{
	struct command_pair pairs[3];
	struct command c = {.op = r->op,
			    .has_tid = r->has_tid,
			    .tid = S(r->tid),
			    .key = S(r->key),
			    .value = S(r->val),
			    .expected = S(r->old),
			    .data = S(r->val),
			    .pairs = pairs,
			    .n_pairs = r->n_pairs};

	for (size_t i = 0; i < r->n_pairs; i++) {
		pairs[i].key = S(r->mk[i]);
		pairs[i].value = S(r->mv[i]);
	}
	return enc(&c, len);
}

static int read_everything(const struct sm *sm)
{
	const struct sm_entry *e;
	const char *v;
	size_t n = 0, vlen;
	struct command_str keys[] = {S("a"), S("ab"), S("m0a")};

	sm_list(sm, "a", 1, 0, count_fn, &n, NULL);
	sm_multi_get(sm, keys, 3, count_fn, &n, NULL);
	sm_entries(sm, 1, 3, &e, &n);
	return sm_get(sm, "b", 1, &v, &vlen);
}

static void test_determinism(void)
{
	struct sm *a = sm_new(), *b = sm_new();
	struct model m;
	unsigned long conflicts = 0, dups = 0;
	char *da, *db;
	struct rcmd rc, recent[32];
	size_t n_recent = 0;
	const struct sm_entry *e;
	size_t n;

	memset(&m, 0, sizeof(m));
	for (unsigned long step = 0; step < 20000; step++) {
		uint64_t index = step + 1;
		enum sm_result ra = SM_RESULT_FALSE, rb = SM_RESULT_FALSE, rm;
		enum sm_tid_state st;
		enum sm_result lr;
		int rva, rvb;
		size_t len;
		uint8_t *p;
		size_t kind = rnd_below(100);

		if (kind < 3) { /* a NOOP entry */
			CHECK(sm_skip(a, index) == SM_OK);
			CHECK(sm_skip(b, index) == SM_OK);
			continue;
		}
		if (kind < 5) { /* committed garbage */
			struct command dc;

			len = rnd_below(12);
			p = xmalloc(len);
			for (size_t i = 0; i < len; i++)
				p[i] = (uint8_t)rnd_below(6);
			/* Garbage that happens to decode would be a command
			 * the model does not know: send an empty one. */
			if (command_decode(p, len, &dc) == COMMAND_OK) {
				command_release(&dc);
				len = 0;
			}
			rva = sm_apply(a, index, 1, p, len, &ra);
			rvb = sm_apply(b, index, 1, p, len, &rb);
			CHECK(rva == SM_EINVAL && rvb == SM_EINVAL);
			CHECK(ra == SM_RESULT_INVALID &&
			      rb == SM_RESULT_INVALID);
			free(p);
			continue;
		}
		/* Clients retry: some commands are sent again verbatim. */
		if (n_recent > 0 && kind < 20) {
			rc = recent[rnd_below(n_recent)];
		} else {
			rnd_cmd(&rc, step);
			recent[n_recent < 32 ? n_recent++ : rnd_below(32)] = rc;
		}
		p = rcmd_encode(&rc, &len);
		rm = model_apply(&m, &rc, p, len);

		/* b also looks the tid up first and is read in between:
		 * neither may change anything. */
		CHECK(sm_tid_lookup(b, p, len, &st, &lr) == SM_OK);
		read_everything(b);
		rva = sm_apply(a, index, 1 + step / 5000, p, len, &ra);
		rvb = sm_apply(b, index, 1 + step / 5000, p, len, &rb);
		CHECK(rva == SM_OK && rvb == SM_OK);
		if (ra != rb || ra != rm) {
			fprintf(stderr, "step %lu: sm %s, sm %s, model %s\n",
				step, sm_result_name(ra), sm_result_name(rb),
				sm_result_name(rm));
			CHECK(ra == rb && ra == rm);
		}
		if (st == SM_TID_SAME) {
			CHECK(rb == lr);
			dups++;
		} else if (st == SM_TID_DIFFERENT) {
			CHECK(rb == SM_RESULT_TID_CONFLICT);
		} else {
			CHECK(rb != SM_RESULT_TID_CONFLICT);
		}
		conflicts += ra == SM_RESULT_TID_CONFLICT;
		free(p);
		if (step % 2000 == 0)
			CHECK(sm_verify(a) == SM_OK);
	}
	/* The random run exercised the interesting paths. */
	CHECK(conflicts > 100 && dups > 100);

	/* Byte-identical states, and equal to the model's. */
	da = dump(a);
	db = dump(b);
	CHECK(strcmp(da, db) == 0);
	CHECK(sm_verify(a) == SM_OK && sm_verify(b) == SM_OK);
	{
		struct collect c;
		char want[8192];
		size_t wlen = 0;

		qsort(m.kv, m.n_kv, sizeof(m.kv[0]), model_kv_cmp);
		for (size_t i = 0; i < m.n_kv; i++)
			wlen += (size_t)snprintf(want + wlen,
						 sizeof(want) - wlen, "%s=%s;",
						 m.kv[i].key, m.kv[i].val);
		CHECK_REQUIRE(wlen < sizeof(want));
		memset(&c, 0, sizeof(c));
		CHECK(sm_list(a, "", 0, 0, collect_fn, &c, NULL) == SM_OK);
		CHECK(strcmp(c.buf, want) == 0);
	}
	CHECK(sm_entries(a, 0, 0, &e, &n) == SM_OK && n == m.n_adds);
	CHECK(sm_last_applied(a) == 20000);
	free(da);
	free(db);
	model_free(&m);
	sm_free(a);
	sm_free(b);
}

int main(void)
{
	const char *seed = getenv("SEED");

	check_start("test_sm", 0);
	rng_state = seed ? strtoull(seed, NULL, 0) : 0x5eed5eed5eedull;
	if (rng_state == 0)
		rng_state = 1;

	test_encode_roundtrip();
	test_encode_limits();
	test_decode_malformed();
	test_decode_fuzz();
	test_format();
	test_kv_semantics();
	test_apply_order_and_invalid();
	test_list();
	test_list_after();
	test_list_paging();
	test_list_after_model();
	test_tree_balance();
	test_multi();
	test_tid_dedup();
	test_tid_eviction();
	test_entries_paging();
	test_determinism();

	if (check_failures() > 0)
		printf("test_sm: random parts seeded with SEED=%s\n",
		       seed ? seed : "0x5eed5eed5eed (the default)");
	return check_summary();
}
