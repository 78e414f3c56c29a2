/* test_peerauth.c: unit tests of peer authentication (daemon/peerauth.c):
 * the trailer and its HMAC as peerauth.h documents them, a wrong key or
 * an altered byte refused, the clock skew, replays, the sliding window of
 * PEERAUTH_WINDOW seqs (against a model of it), new epochs admitted only
 * after the newest one's first frame, answers bound to their request's
 * (epoch, seq), one window per sender, and the insecure mode. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/hmac.h>

#include "bytes.h"
#include "peerauth.h"
#include "tests/lib/check.h"

#define BODY_LEN 37
#define FRAME_LEN (BODY_LEN + PEERAUTH_TRAILER_SIZE)
#define T0 UINT64_C(1700000000000) /* a wall clock, ms since 1970 */

static const char secret[] = "correct horse battery staple";
static const char other_secret[] = "correct horse battery stapler";

struct frame {
	uint8_t b[FRAME_LEN];
	struct peerauth_tag tag; /* what signing returned */
};

static struct peerauth *ctx(const char *key, uint64_t epoch)
{
	struct peerauth *a = NULL;

	if (peerauth_new(key, key ? strlen(key) : 0, epoch, &a) != PEERAUTH_OK)
		CHECK_HARD_ERROR("peerauth_new failed");
	return a;
}

/* A request body (any bytes: peerauth does not parse them), signed by
 * `a` for node `to` at `now`. */
static void sign_request(struct peerauth *a, uint32_t to, uint64_t now,
			 struct frame *f)
{
	for (size_t i = 0; i < BODY_LEN; i++)
		f->b[i] = (uint8_t)(i * 7 + 1);
	peerauth_sign_request(a, to, now, f->b, BODY_LEN, &f->tag);
}

static int verify_request(struct peerauth *b, uint32_t from, uint64_t now,
			  const struct frame *f)
{
	struct peerauth_tag tag;

	return peerauth_verify_request(b, from, now, f->b, FRAME_LEN, true,
				       &tag);
}

/* A request frame built here from peerauth.h's description of the
 * trailer, for any (epoch, seq, time): the windows' tests choose their
 * seqs. */
static void make_request(struct frame *f, const char *key, uint64_t epoch,
			 uint64_t seq, uint64_t time_ms)
{
	static const char label[] = "raftd-peer-request-v1";
	struct hmac_sha256_ctx h;
	uint8_t *t = f->b + BODY_LEN;

	for (size_t i = 0; i < BODY_LEN; i++)
		f->b[i] = (uint8_t)(i * 7 + 1);
	bytes_put_u64(t, epoch);
	bytes_put_u64(t + 8, seq);
	bytes_put_u64(t + 16, time_ms);
	hmac_sha256_set_key(&h, strlen(key), (const uint8_t *)key);
	hmac_sha256_update(&h, sizeof(label), (const uint8_t *)label);
	hmac_sha256_update(&h, BODY_LEN + 24, f->b);
	hmac_sha256_digest(&h, PEERAUTH_MAC_SIZE, t + 24);
	f->tag.epoch = epoch;
	f->tag.seq = seq;
}

/* Delivers request `seq` of epoch 7 from node 1. */
static int deliver(struct peerauth *b, uint64_t seq)
{
	struct frame f;

	make_request(&f, secret, 7, seq, T0);
	return verify_request(b, 1, T0, &f);
}

#define CHECK_RV(expr, want) check_rv((expr), (want), #expr, __LINE__)

static bool check_rv(int rv, int want, const char *expr, int line)
{
	return check_at(rv == want, __FILE__, line, "%s: %d (%s), expected %s",
			expr, rv, peerauth_strerror(rv),
			peerauth_strerror(want));
}

/* ---- tests -------------------------------------------------------------- */

/* The trailer is u64 epoch, u64 seq, u64 time and the HMAC-SHA256 of the
 * label (with its NUL) and every byte before the MAC. */
static void test_trailer_format(void)
{
	struct peerauth *a = ctx(secret, UINT64_C(0x0102030405060708));
	struct hmac_sha256_ctx h;
	uint8_t mac[PEERAUTH_MAC_SIZE];
	static const char rlabel[] = "raftd-peer-response-v1";
	struct frame f, g;
	const uint8_t *t = f.b + BODY_LEN;

	CHECK(peerauth_enabled(a));
	CHECK_EQ_U64(peerauth_trailer_size(a), 56);
	CHECK_EQ_U64(PEERAUTH_TRAILER_SIZE, 56);
	sign_request(a, 2, T0 + 5, &f);
	CHECK_EQ_U64(bytes_get_u64(t), UINT64_C(0x0102030405060708));
	CHECK_EQ_U64(t[0], 0x08); /* little-endian */
	CHECK_EQ_U64(bytes_get_u64(t + 8), 1);
	CHECK_EQ_U64(bytes_get_u64(t + 16), T0 + 5);
	CHECK_EQ_U64(f.tag.epoch, UINT64_C(0x0102030405060708));
	CHECK_EQ_U64(f.tag.seq, 1);
	make_request(&g, secret, UINT64_C(0x0102030405060708), 1, T0 + 5);
	CHECK_EQ_MEM(f.b, g.b, FRAME_LEN);

	/* An answer: the request's epoch and seq, the answer's time. */
	{
		struct peerauth_tag req = {.epoch = 99, .seq = 1234};
		peerauth_sign_response(a, &req, T0 + 6, f.b, BODY_LEN);
		CHECK_EQ_U64(bytes_get_u64(t), 99);
		CHECK_EQ_U64(bytes_get_u64(t + 8), 1234);
		CHECK_EQ_U64(bytes_get_u64(t + 16), T0 + 6);
		hmac_sha256_set_key(&h, strlen(secret),
				    (const uint8_t *)secret);
		hmac_sha256_update(&h, sizeof(rlabel), (const uint8_t *)rlabel);
		hmac_sha256_update(&h, BODY_LEN + 24, f.b);
		hmac_sha256_digest(&h, sizeof(mac), mac);
		CHECK_EQ_MEM(t + 24, mac, sizeof(mac));
	}
	peerauth_free(a);
}

/* Seqs count 1, 2, 3 ... per destination. */
static void test_round_trip(void)
{
	struct peerauth *a = ctx(secret, 7), *b = ctx(secret, 8);
	struct peerauth_tag tag;
	struct frame f;

	for (uint64_t seq = 1; seq <= 3; seq++) {
		sign_request(a, 2, T0, &f);
		CHECK_EQ_U64(f.tag.seq, seq);
		CHECK_RV(peerauth_verify_request(b, 1, T0 + 10, f.b, FRAME_LEN,
						 true, &tag),
			 PEERAUTH_OK);
		CHECK(tag.epoch == 7 && tag.seq == seq);
	}
	sign_request(a, 3, T0, &f);
	CHECK_EQ_U64(f.tag.seq, 1);
	sign_request(a, 2, T0, &f);
	CHECK_EQ_U64(f.tag.seq, 4);
	peerauth_free(a);
	peerauth_free(b);
}

/* Another key, an altered byte anywhere, no trailer: refused. */
static void test_refused(void)
{
	struct peerauth *a = ctx(secret, 7), *b = ctx(secret, 8);
	struct peerauth *other = ctx(other_secret, 9);
	struct peerauth_tag tag;
	struct frame f;

	sign_request(a, 2, T0, &f);
	CHECK_RV(verify_request(other, 1, T0, &f), PEERAUTH_EMAC);
	for (size_t i = 0; i < FRAME_LEN; i++) {
		struct frame g = f;
		g.b[i] ^= (uint8_t)(1u << (i % 8));
		if (!CHECK_RV(verify_request(b, 1, T0, &g), PEERAUTH_EMAC))
			printf("  (byte %zu altered)\n", i);
	}
	CHECK_RV(peerauth_verify_request(b, 1, T0, f.b, FRAME_LEN, false, &tag),
		 PEERAUTH_EMISSING);
	CHECK_RV(peerauth_verify_request(b, 1, T0, f.b,
					 PEERAUTH_TRAILER_SIZE - 1, true, &tag),
		 PEERAUTH_EMISSING);
	/* One byte short: the MAC is read from the wrong place. */
	CHECK_RV(
	    peerauth_verify_request(b, 1, T0, f.b, FRAME_LEN - 1, true, &tag),
	    PEERAUTH_EMAC);
	/* None of that used up the frame. */
	CHECK_RV(verify_request(b, 1, T0, &f), PEERAUTH_OK);
	peerauth_free(a);
	peerauth_free(b);
	peerauth_free(other);
}

static void test_skew(void)
{
	struct peerauth *a = ctx(secret, 7), *b = ctx(secret, 8);
	struct frame f;

	sign_request(a, 2, T0, &f);
	CHECK_RV(verify_request(b, 1, T0 + PEERAUTH_MAX_SKEW_MS + 1, &f),
		 PEERAUTH_ESKEW);
	CHECK_RV(verify_request(b, 1, T0 - PEERAUTH_MAX_SKEW_MS - 1, &f),
		 PEERAUTH_ESKEW);
	CHECK_RV(verify_request(b, 1, T0 + PEERAUTH_MAX_SKEW_MS, &f),
		 PEERAUTH_OK);
	sign_request(a, 2, T0, &f);
	CHECK_RV(verify_request(b, 1, T0 - PEERAUTH_MAX_SKEW_MS, &f),
		 PEERAUTH_OK);
	peerauth_free(a);
	peerauth_free(b);
}

/* Edges of the window, by hand: a seq is taken once, and refused once it
 * is PEERAUTH_WINDOW or more below the highest; seq 0 never. */
static void test_window_edges(void)
{
	struct peerauth *b = ctx(secret, 8);

	CHECK_RV(deliver(b, 0), PEERAUTH_EREPLAY);
	CHECK_RV(deliver(b, 1), PEERAUTH_OK);
	CHECK_RV(deliver(b, 1), PEERAUTH_EREPLAY);
	CHECK_RV(deliver(b, 0), PEERAUTH_EREPLAY);
	CHECK_RV(deliver(b, 1025), PEERAUTH_OK);
	CHECK_RV(deliver(b, 2), PEERAUTH_OK); /* 1023 below the top */
	CHECK_RV(deliver(b, 2), PEERAUTH_EREPLAY);
	CHECK_RV(deliver(b, 1026), PEERAUTH_OK);
	CHECK_RV(deliver(b, 2), PEERAUTH_EREPLAY); /* 1024 below */
	CHECK_RV(deliver(b, 3), PEERAUTH_OK);
	/* Seen seqs keep their bits across shifts by 1, 63, 64 and 65. */
	CHECK_RV(deliver(b, 1027), PEERAUTH_OK);
	CHECK_RV(deliver(b, 1090), PEERAUTH_OK);
	CHECK_RV(deliver(b, 1154), PEERAUTH_OK);
	CHECK_RV(deliver(b, 1219), PEERAUTH_OK);
	CHECK_RV(deliver(b, 1025), PEERAUTH_EREPLAY);
	CHECK_RV(deliver(b, 1026), PEERAUTH_EREPLAY);
	CHECK_RV(deliver(b, 1090), PEERAUTH_EREPLAY);
	CHECK_RV(deliver(b, 1154), PEERAUTH_EREPLAY);
	CHECK_RV(deliver(b, 1100), PEERAUTH_OK);
	/* A jump of a whole window forgets everything below it. */
	CHECK_RV(deliver(b, 3000), PEERAUTH_OK);
	CHECK_RV(deliver(b, 1976), PEERAUTH_EREPLAY);
	CHECK_RV(deliver(b, 1977), PEERAUTH_OK);
	CHECK_RV(deliver(b, 2999), PEERAUTH_OK);
	CHECK_RV(deliver(b, 2999), PEERAUTH_EREPLAY);
	/* The largest seqs there are. */
	CHECK_RV(deliver(b, UINT64_MAX - 1), PEERAUTH_OK);
	CHECK_RV(deliver(b, UINT64_MAX), PEERAUTH_OK);
	CHECK_RV(deliver(b, UINT64_MAX - 1), PEERAUTH_EREPLAY);
	CHECK_RV(deliver(b, UINT64_MAX - 1023), PEERAUTH_OK);
	CHECK_RV(deliver(b, UINT64_MAX - 1024), PEERAUTH_EREPLAY);
	peerauth_free(b);
}

static uint64_t rng = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rnd(uint64_t n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (rng * UINT64_C(0x2545f4914f6cdd1d)) % n;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* The window against a model of it (a seq is taken iff it is not 0, not
 * taken before, and above the top or less than PEERAUTH_WINDOW below it)
 * over 20,000 deliveries: mostly in order, with jumps around a window's
 * and a word's width, old seqs, and replays of recent ones. */
static void test_window_model(void)
{
	enum { DELIVERIES = 20000, MAX_JUMP = 1025, RECENT = 16 };
	static const uint64_t jumps[] = {1,   2,   63,	 64,   65,
					 127, 128, 1023, 1024, MAX_JUMP};
	const uint64_t cap = (uint64_t)DELIVERIES * MAX_JUMP + 1;
	struct peerauth *b = ctx(secret, 8);
	uint8_t *seen = calloc(cap / 8 + 1, 1);
	uint64_t top = 0, ok = 0, replays = 0, too_old = 0, mismatches = 0;
	uint64_t recent[RECENT] = {0}; /* the last seqs delivered */

	if (seen == NULL)
		CHECK_HARD_ERROR("out of memory");
	for (int i = 0; i < DELIVERIES; i++) {
		uint64_t seq, r = rnd(100);
		bool was_seen, want;
		int rv;

		if (r < 45)
			seq = top + 1 + rnd(3);
		else if (r < 55)
			seq = top + jumps[rnd(10)];
		else if (r < 75)
			seq = top - rnd(min_u64(top, 1100) + 1);
		else if (r < 85)
			seq = top - rnd(min_u64(top, 70) + 1);
		else
			seq = recent[rnd(RECENT)];
		recent[i % RECENT] = seq;
		was_seen = seen[seq / 8] & (1u << (seq % 8));
		want = seq != 0 && !was_seen &&
		       (seq > top || top - seq < PEERAUTH_WINDOW);
		rv = deliver(b, seq);
		if ((rv == PEERAUTH_OK) != want ||
		    (rv != PEERAUTH_OK && rv != PEERAUTH_EREPLAY)) {
			if (mismatches++ < 5)
				printf("delivery %d: seq %ju (top %ju): %s, "
				       "the model says %s\n",
				       i, (uintmax_t)seq, (uintmax_t)top,
				       peerauth_strerror(rv),
				       want ? "ok" : "replay");
		}
		if (want) {
			seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
			if (seq > top)
				top = seq;
			ok++;
		} else if (was_seen) {
			replays++;
		} else {
			too_old++;
		}
	}
	printf("window model: %ju taken, %ju replays and %ju too old refused, "
	       "top %ju\n",
	       (uintmax_t)ok, (uintmax_t)replays, (uintmax_t)too_old,
	       (uintmax_t)top);
	CHECK_EQ_U64(mismatches, 0);
	/* The run covers each verdict. */
	CHECK(ok > 10000 && replays > 1000 && too_old > 100);
	free(seen);
	peerauth_free(b);
}

/* A restarted sender (a new epoch) is let in only with a time later than
 * the first frame of the newest epoch; the windows of PEERAUTH_EPOCHS
 * epochs are kept, the least recently used is dropped, and a dropped
 * epoch's frames never get a window back. */
static void test_epochs(void)
{
	struct peerauth *b = ctx(secret, 100);
	struct peerauth *e[6];
	struct frame f, late2;

	for (int i = 1; i <= 5; i++)
		e[i] = ctx(secret, 1000 + (uint64_t)i);
	sign_request(e[1], 2, T0, &f);
	CHECK_RV(verify_request(b, 1, T0, &f), PEERAUTH_OK);
	/* Epoch 2 starts: not at or before epoch 1's first frame. */
	sign_request(e[2], 2, T0, &f);
	CHECK_RV(verify_request(b, 1, T0 + 1, &f), PEERAUTH_EREPLAY);
	sign_request(e[2], 2, T0 - 1, &f);
	CHECK_RV(verify_request(b, 1, T0 + 1, &f), PEERAUTH_EREPLAY);
	sign_request(e[2], 2, T0 + 1, &f);
	CHECK_RV(verify_request(b, 1, T0 + 2, &f), PEERAUTH_OK);
	/* Captured from epoch 2, delivered later. */
	sign_request(e[2], 2, T0 + 1, &late2);
	/* Epoch 1 keeps its window: its frames still count. */
	sign_request(e[1], 2, T0 + 2, &f);
	CHECK_RV(verify_request(b, 1, T0 + 3, &f), PEERAUTH_OK);
	/* Epoch 3: later than epoch 2's first frame (T0 + 1), the newest. */
	sign_request(e[3], 2, T0 + 1, &f);
	CHECK_RV(verify_request(b, 1, T0 + 4, &f), PEERAUTH_EREPLAY);
	sign_request(e[3], 2, T0 + 2, &f);
	CHECK_RV(verify_request(b, 1, T0 + 5, &f), PEERAUTH_OK);
	sign_request(e[4], 2, T0 + 3, &f);
	CHECK_RV(verify_request(b, 1, T0 + 6, &f), PEERAUTH_OK);
	/* Four windows, epoch 2's least recently used.  Epoch 5 takes it;
	 * the frame captured from epoch 2 is then a new epoch's, older than
	 * the newest first frame. */
	sign_request(e[5], 2, T0 + 4, &f);
	CHECK_RV(verify_request(b, 1, T0 + 7, &f), PEERAUTH_OK);
	CHECK_RV(verify_request(b, 1, T0 + 8, &late2), PEERAUTH_EREPLAY);
	/* Epoch 1 was used more recently and still has its window. */
	sign_request(e[1], 2, T0 + 5, &f);
	CHECK_RV(verify_request(b, 1, T0 + 9, &f), PEERAUTH_OK);
	peerauth_free(b);
	for (int i = 1; i <= 5; i++)
		peerauth_free(e[i]);

	/* Before the eviction the captured frame would have been taken. */
	b = ctx(secret, 100);
	e[1] = ctx(secret, 1001);
	e[2] = ctx(secret, 1002);
	sign_request(e[1], 2, T0, &f);
	CHECK_RV(verify_request(b, 1, T0, &f), PEERAUTH_OK);
	sign_request(e[2], 2, T0 + 1, &f);
	sign_request(e[2], 2, T0 + 1, &late2);
	CHECK_RV(verify_request(b, 1, T0 + 1, &f), PEERAUTH_OK);
	CHECK_RV(verify_request(b, 1, T0 + 2, &late2), PEERAUTH_OK);
	peerauth_free(b);
	peerauth_free(e[1]);
	peerauth_free(e[2]);
}

/* An answer verifies only with the (epoch, seq) of its own request, only
 * as an answer, and only under the cluster's key. */
static void test_answers(void)
{
	struct peerauth *a = ctx(secret, 7), *b = ctx(secret, 8);
	struct peerauth *other = ctx(other_secret, 9);
	struct peerauth_tag got, wrong;
	struct frame req, ans;

	sign_request(a, 2, T0, &req);
	CHECK_RV(
	    peerauth_verify_request(b, 1, T0, req.b, FRAME_LEN, true, &got),
	    PEERAUTH_OK);
	CHECK(got.epoch == req.tag.epoch && got.seq == req.tag.seq);
	memset(ans.b, 0x3c, BODY_LEN);
	peerauth_sign_response(b, &got, T0 + 1, ans.b, BODY_LEN);
	CHECK_RV(peerauth_verify_response(a, &req.tag, ans.b, FRAME_LEN, true),
		 PEERAUTH_OK);
	wrong = req.tag;
	wrong.seq++;
	CHECK_RV(peerauth_verify_response(a, &wrong, ans.b, FRAME_LEN, true),
		 PEERAUTH_EMISMATCH);
	wrong = req.tag;
	wrong.epoch++;
	CHECK_RV(peerauth_verify_response(a, &wrong, ans.b, FRAME_LEN, true),
		 PEERAUTH_EMISMATCH);
	CHECK_RV(
	    peerauth_verify_response(other, &req.tag, ans.b, FRAME_LEN, true),
	    PEERAUTH_EMAC);
	CHECK_RV(peerauth_verify_response(a, &req.tag, ans.b, FRAME_LEN, false),
		 PEERAUTH_EMISSING);
	/* The direction label: an answer is no request, a request no answer
	 * (even bound to its own tag). */
	CHECK_RV(verify_request(a, 2, T0, &ans), PEERAUTH_EMAC);
	CHECK_RV(peerauth_verify_response(a, &req.tag, req.b, FRAME_LEN, true),
		 PEERAUTH_EMAC);
	/* An altered answer. */
	ans.b[3] ^= 1;
	CHECK_RV(peerauth_verify_response(a, &req.tag, ans.b, FRAME_LEN, true),
		 PEERAUTH_EMAC);
	peerauth_free(a);
	peerauth_free(b);
	peerauth_free(other);
}

/* Windows are per sender; PEERAUTH_MAX_PEERS of them. */
static void test_senders(void)
{
	struct peerauth *a = ctx(secret, 7), *b = ctx(secret, 8);
	struct frame f;
	int ok = 0;

	sign_request(a, 2, T0, &f);
	for (uint32_t from = 1; from <= PEERAUTH_MAX_PEERS; from++)
		ok += verify_request(b, from, T0, &f) == PEERAUTH_OK;
	CHECK_EQ_INT(ok, PEERAUTH_MAX_PEERS);
	CHECK_RV(verify_request(b, PEERAUTH_MAX_PEERS + 1, T0, &f),
		 PEERAUTH_ENOMEM);
	CHECK_RV(verify_request(b, 1, T0, &f), PEERAUTH_EREPLAY);
	peerauth_free(a);
	peerauth_free(b);
}

/* No secret: nothing signed, nothing refused. */
static void test_insecure(void)
{
	struct peerauth *a = ctx(NULL, 7), *b = ctx(NULL, 8);
	struct peerauth_tag tag = {.epoch = 1, .seq = 1};
	struct frame f;
	uint8_t before[FRAME_LEN];

	CHECK(!peerauth_enabled(a));
	CHECK_EQ_U64(peerauth_trailer_size(a), 0);
	memset(f.b, 0x5a, FRAME_LEN);
	memcpy(before, f.b, FRAME_LEN);
	peerauth_sign_request(a, 2, T0, f.b, BODY_LEN, &f.tag);
	CHECK_EQ_MEM(f.b, before, FRAME_LEN);
	CHECK(f.tag.epoch == 0 && f.tag.seq == 0);
	peerauth_sign_response(a, &tag, T0, f.b, BODY_LEN);
	CHECK_EQ_MEM(f.b, before, FRAME_LEN);
	for (int i = 0; i < 3; i++) {
		CHECK_RV(peerauth_verify_request(b, 1, T0, f.b, BODY_LEN, false,
						 &tag),
			 PEERAUTH_OK);
		CHECK(tag.epoch == 0 && tag.seq == 0);
		CHECK_RV(peerauth_verify_request(b, 1, 0, f.b, FRAME_LEN, true,
						 &tag),
			 PEERAUTH_OK);
	}
	CHECK_RV(peerauth_verify_response(a, &tag, f.b, BODY_LEN, false),
		 PEERAUTH_OK);
	peerauth_free(a);
	peerauth_free(b);
	peerauth_free(NULL);
}

static void test_strerror(void)
{
	static const int codes[] = {PEERAUTH_OK,      PEERAUTH_EMISSING,
				    PEERAUTH_EMAC,    PEERAUTH_ESKEW,
				    PEERAUTH_EREPLAY, PEERAUTH_EMISMATCH,
				    PEERAUTH_ENOMEM};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		CHECK(strcmp(peerauth_strerror(codes[i]), "unknown error") !=
		      0);
	CHECK_EQ_STR(peerauth_strerror(-100), "unknown error");
}

int main(void)
{
	check_start("test_peerauth", 0);
	test_trailer_format();
	test_round_trip();
	test_refused();
	test_skew();
	test_window_edges();
	test_window_model();
	test_epochs();
	test_answers();
	test_senders();
	test_insecure();
	test_strerror();
	return check_summary();
}
