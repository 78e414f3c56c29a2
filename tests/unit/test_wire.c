/* test_wire.c: unit tests of the peer frame codec (daemon/wire.c): every
 * message type through wire_encode and wire_decode field by field, golden
 * bytes written out by hand from the layout wire.h documents (so that a
 * change of the format fails here), every truncation and every malformed
 * field refused with a reason, wire_peek agreeing with wire_decode, and
 * decoded entries borrowed from the frame. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/check.h"
#include "wire.h"

/* Offsets in a frame, from wire.h's layout. */
#define OFF_VERSION 0
#define OFF_TYPE 1
#define OFF_FLAGS 2
#define OFF_RESERVED 3
#define OFF_FROM 4
#define OFF_TO 8
#define OFF_BODY WIRE_HEADER_SIZE
/* AppendEntries: u64 prev_index, prev_term, leader_commit, seq; u32 n. */
#define OFF_N_ENTRIES (OFF_BODY + 32)
#define OFF_RECORDS (OFF_BODY + 36)
#define RECORD_HEADER 13 /* u64 term, u8 type, u32 len */

/* ---- golden frames ------------------------------------------------------ */

/* A PreVote request from 1 to 0x01020304 for term 2^32 + 2, last entry
 * 0x1122334455667788 of term 7. */
static const uint8_t golden_vote[] = {
    0x02, 0x01, 0x00, 0x00,			    /* v2, VOTE, flags, 0 */
    0x01, 0x00, 0x00, 0x00,			    /* from 1 */
    0x04, 0x03, 0x02, 0x01,			    /* to 0x01020304 */
    0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, /* term 2^32 + 2 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* cluster */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* incarnation */
    0x01,					    /* prevote */
    0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* last_log_index */
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* last_log_term 7 */
};

static struct raft_msg golden_vote_msg(void)
{
	struct raft_msg m = {.type = RAFT_MSG_VOTE,
			     .from = 1,
			     .to = 0x01020304,
			     .term = (UINT64_C(1) << 32) + 2};

	m.u.vote.prevote = true;
	m.u.vote.last_log_index = UINT64_C(0x1122334455667788);
	m.u.vote.last_log_term = 7;
	return m;
}

/* A granted vote from 3 to 1 in term 9. */
static const uint8_t golden_vote_resp[] = {
    0x02, 0x02, 0x00, 0x00,			    /* v2, VOTE_RESP */
    0x03, 0x00, 0x00, 0x00,			    /* from 3 */
    0x01, 0x00, 0x00, 0x00,			    /* to 1 */
    0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* term 9 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* cluster */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* incarnation */
    0x00,					    /* not a prevote */
    0x01,					    /* granted */
};

static struct raft_msg golden_vote_resp_msg(void)
{
	struct raft_msg m = {
	    .type = RAFT_MSG_VOTE_RESP, .from = 3, .to = 1, .term = 9};

	m.u.vote_resp.granted = true;
	return m;
}

/* AppendEntries from 1 to 2 in term 5 after (10, 4), commit 9, round 258,
 * with two entries: the command "abc" of term 4 and an empty no-op of
 * term 5. */
static const uint8_t golden_append[] = {
    0x02, 0x03, 0x00, 0x00,			    /* v2, APPEND */
    0x01, 0x00, 0x00, 0x00,			    /* from 1 */
    0x02, 0x00, 0x00, 0x00,			    /* to 2 */
    0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* term 5 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* cluster */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* incarnation */
    0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* prev_index 10 */
    0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* prev_term 4 */
    0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* leader_commit 9 */
    0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* seq 258 */
    0x02, 0x00, 0x00, 0x00,			    /* 2 entries */
    0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* term 4 */
    0x01,					    /* COMMAND */
    0x03, 0x00, 0x00, 0x00,			    /* 3 bytes */
    'a',  'b',	'c',				    /* */
    0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* term 5 */
    0x00,					    /* NOOP */
    0x00, 0x00, 0x00, 0x00,			    /* 0 bytes */
};

static uint8_t abc[] = {'a', 'b', 'c'};
static struct raft_entry golden_entries[] = {
    {.term = 4, .type = RAFT_ENTRY_COMMAND, .len = 3, .buf = abc},
    {.term = 5, .type = RAFT_ENTRY_NOOP, .len = 0, .buf = NULL},
};

static struct raft_msg golden_append_msg(void)
{
	struct raft_msg m = {
	    .type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 5};

	m.u.append.prev_index = 10;
	m.u.append.prev_term = 4;
	m.u.append.leader_commit = 9;
	m.u.append.seq = 258;
	m.u.append.n_entries = 2;
	m.u.append.entries = golden_entries;
	return m;
}

/* A refusal from 2 to 1 in term 5 of the request after (10, ...): the
 * conflict hint says term 3 from index 8, the follower's log ends at 12,
 * round 258. */
static const uint8_t golden_append_resp[] = {
    0x02, 0x04, 0x00, 0x00,			    /* v2, APPEND_RESP */
    0x02, 0x00, 0x00, 0x00,			    /* from 2 */
    0x01, 0x00, 0x00, 0x00,			    /* to 1 */
    0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* term 5 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* cluster */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* incarnation */
    0x00,					    /* refused */
    0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* prev_index 10 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* match_index 0 */
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* conflict_term 3 */
    0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* conflict_index 8 */
    0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* last_log_index 12 */
    0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* seq 258 */
};

static struct raft_msg golden_append_resp_msg(void)
{
	struct raft_msg m = {
	    .type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 5};

	m.u.append_resp.success = false;
	m.u.append_resp.prev_index = 10;
	m.u.append_resp.conflict_term = 3;
	m.u.append_resp.conflict_index = 8;
	m.u.append_resp.last_log_index = 12;
	m.u.append_resp.seq = 258;
	return m;
}

/* InstallSnapshot from 1 to 3 in term 7: the snapshot covers up to index
 * 0x0102030405060708, of term 6. */
static const uint8_t golden_snapshot[] = {
    0x02, 0x05, 0x00, 0x00,			    /* v2, SNAPSHOT */
    0x01, 0x00, 0x00, 0x00,			    /* from 1 */
    0x03, 0x00, 0x00, 0x00,			    /* to 3 */
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* term 7 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* cluster */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* incarnation */
    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* index */
    0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* snapshot term 6 */
};

static struct raft_msg golden_snapshot_msg(void)
{
	struct raft_msg m = {
	    .type = RAFT_MSG_SNAPSHOT, .from = 1, .to = 3, .term = 7};

	m.u.snapshot.index = UINT64_C(0x0102030405060708);
	m.u.snapshot.term = 6;
	return m;
}

/* Its answer from 3 to 1 in term 7: installed, the log held up to 300. */
static const uint8_t golden_snapshot_resp[] = {
    0x02, 0x06, 0x00, 0x00,			    /* v2, SNAPSHOT_RESP */
    0x03, 0x00, 0x00, 0x00,			    /* from 3 */
    0x01, 0x00, 0x00, 0x00,			    /* to 1 */
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* term 7 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* cluster */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* incarnation */
    0x01,					    /* success */
    0x2c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* index 300 */
};

static struct raft_msg golden_snapshot_resp_msg(void)
{
	struct raft_msg m = {
	    .type = RAFT_MSG_SNAPSHOT_RESP, .from = 3, .to = 1, .term = 7};

	m.u.snapshot_resp.success = true;
	m.u.snapshot_resp.index = 300;
	return m;
}

struct golden {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	struct raft_msg (*msg)(void);
};

static const struct golden goldens[] = {
    {"vote", golden_vote, sizeof(golden_vote), golden_vote_msg},
    {"vote answer", golden_vote_resp, sizeof(golden_vote_resp),
     golden_vote_resp_msg},
    {"append", golden_append, sizeof(golden_append), golden_append_msg},
    {"append answer", golden_append_resp, sizeof(golden_append_resp),
     golden_append_resp_msg},
    {"snapshot", golden_snapshot, sizeof(golden_snapshot), golden_snapshot_msg},
    {"snapshot answer", golden_snapshot_resp, sizeof(golden_snapshot_resp),
     golden_snapshot_resp_msg},
};
#define N_GOLDENS (sizeof(goldens) / sizeof(goldens[0]))

/* ---- helpers ------------------------------------------------------------ */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		CHECK_HARD_ERROR("out of memory (%zu bytes)", n);
	return p;
}

/* A copy of buf[0..len) in a block of exactly len bytes, so that a read
 * past the end is a sanitizer's finding.  The caller frees it. */
static uint8_t *exact_copy(const uint8_t *buf, size_t len)
{
	uint8_t *p = xmalloc(len);

	if (len > 0)
		memcpy(p, buf, len);
	return p;
}

/* m's frame (with a trailer of 0xa5 bytes when `auth`) in a block of its
 * exact length; *len gets the length.  The caller frees it. */
static uint8_t *encode(const struct raft_msg *m, bool auth, size_t *len)
{
	size_t body = wire_body_size(m);
	uint8_t *buf;

	*len = body + (auth ? WIRE_AUTH_SIZE : 0);
	buf = xmalloc(*len);
	wire_encode(m, auth, buf);
	if (auth)
		memset(buf + body, 0xa5, WIRE_AUTH_SIZE);
	return buf;
}

#define FIELD(f)                                                               \
	check_eq_u64((uint64_t)got->f, (uint64_t)want->f, "decoded " #f,       \
		     "sent " #f, __FILE__, line)

/* got == want, field by field (entries by content). */
static void same_msg(const struct raft_msg *got, const struct raft_msg *want,
		     int line)
{
	FIELD(type);
	FIELD(from);
	FIELD(to);
	FIELD(term);
	if (got->type != want->type)
		return;
	switch (want->type) {
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	case RAFT_MSG_VOTE:
		FIELD(u.vote.prevote);
		FIELD(u.vote.last_log_index);
		FIELD(u.vote.last_log_term);
		break;
	case RAFT_MSG_VOTE_RESP:
		FIELD(u.vote_resp.prevote);
		FIELD(u.vote_resp.granted);
		break;
	case RAFT_MSG_APPEND:
		FIELD(u.append.prev_index);
		FIELD(u.append.prev_term);
		FIELD(u.append.leader_commit);
		FIELD(u.append.seq);
		if (!FIELD(u.append.n_entries))
			break;
		for (uint32_t i = 0; i < want->u.append.n_entries; i++) {
			const struct raft_entry *g = &got->u.append.entries[i];
			const struct raft_entry *w = &want->u.append.entries[i];
			check_at(g->term == w->term && g->type == w->type &&
				     g->len == w->len &&
				     (w->len == 0 ||
				      memcmp(g->buf, w->buf, w->len) == 0),
				 __FILE__, line,
				 "entry %u: term %ju type %u len %u, sent term "
				 "%ju type %u len %u (or other bytes)",
				 i, (uintmax_t)g->term, g->type, g->len,
				 (uintmax_t)w->term, w->type, w->len);
		}
		break;
	case RAFT_MSG_APPEND_RESP:
		FIELD(u.append_resp.success);
		FIELD(u.append_resp.prev_index);
		FIELD(u.append_resp.match_index);
		FIELD(u.append_resp.conflict_term);
		FIELD(u.append_resp.conflict_index);
		FIELD(u.append_resp.last_log_index);
		FIELD(u.append_resp.seq);
		break;
	case RAFT_MSG_SNAPSHOT:
		FIELD(u.snapshot.index);
		FIELD(u.snapshot.term);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		FIELD(u.snapshot_resp.success);
		FIELD(u.snapshot_resp.index);
		break;
	}
}

/* The decoded entries point into the frame: each record's bytes, right
 * after its header; empty entries have no buffer. */
static void entries_borrowed(const struct raft_msg *m, const uint8_t *frame,
			     size_t len, int line)
{
	const uint8_t *p = frame + OFF_RECORDS;

	if (m->type != RAFT_MSG_APPEND)
		return;
	for (uint32_t i = 0; i < m->u.append.n_entries; i++) {
		const struct raft_entry *e = &m->u.append.entries[i];
		p += RECORD_HEADER;
		if (e->len == 0)
			check_at(e->buf == NULL, __FILE__, line,
				 "empty entry %u has a buffer", i);
		else
			check_at(
			    e->buf == p && p + e->len <= frame + len, __FILE__,
			    line,
			    "entry %u's bytes at frame + %td, not at frame "
			    "+ %td (in the frame)",
			    i, e->buf - frame, p - frame);
		p += e->len;
	}
}

/* wire_peek says what wire_decode says of the header. */
static void peek_agrees(const uint8_t *frame, size_t len,
			const struct raft_msg *m, bool auth, int line)
{
	struct wire_header h;
	const char *why = NULL;

	int rv = wire_peek(frame, len, &h, &why);

	if (!check_at(rv == 0, __FILE__, line,
		      "wire_peek refused a frame wire_decode took: %s", why))
		return;
	check_at(h.type == m->type && h.auth == auth && h.from == m->from &&
		     h.to == m->to,
		 __FILE__, line,
		 "wire_peek: type %d auth %d from %u to %u; wire_decode: type "
		 "%d auth %d from %u to %u",
		 (int)h.type, h.auth, h.from, h.to, (int)m->type, auth, m->from,
		 m->to);
}

/* m through encode and decode (with a trailer when `auth`). */
static void roundtrip_at(const struct raft_msg *m, bool auth, int line)
{
	struct raft_msg got;
	const char *why = NULL;
	bool got_auth = !auth;
	size_t len;
	uint8_t *frame = encode(m, auth, &len);
	int rv = wire_decode(frame, len, &got, &got_auth, &why);

	if (!check_at(rv == 0, __FILE__, line,
		      "wire_decode refused its own frame: %s", why)) {
		free(frame);
		return;
	}
	check_at(got_auth == auth, __FILE__, line, "auth %d, sent %d", got_auth,
		 auth);
	same_msg(&got, m, line);
	entries_borrowed(&got, frame, len, line);
	peek_agrees(frame, len, &got, got_auth, line);
	wire_msg_release(&got);
	if (got.type == RAFT_MSG_APPEND)
		check_at(
		    got.u.append.entries == NULL && got.u.append.n_entries == 0,
		    __FILE__, line, "wire_msg_release left the entry array");
	free(frame);
}
#define ROUNDTRIP(m, auth) roundtrip_at((m), (auth), __LINE__)

/* frame[0..len) is refused, with `want` as the reason (any reason when
 * NULL), by wire_decode and, if the header is what is wrong, by wire_peek
 * with the same reason. */
static void refused_at(const uint8_t *frame, size_t len, const char *want,
		       int line)
{
	uint8_t *p = exact_copy(frame, len);
	struct raft_msg m;
	struct wire_header h;
	const char *why = NULL, *peek_why = NULL;
	bool auth = true;
	int rv = wire_decode(p, len, &m, &auth, &why);

	if (check_at(rv == -1, __FILE__, line,
		     "wire_decode took a bad frame of %zu bytes", len)) {
		check_at(why != NULL && why[0] != '\0', __FILE__, line,
			 "refused without a reason");
		if (want != NULL)
			check_eq_str(why, want, "reason", "expected", __FILE__,
				     line);
		check_at(!auth, __FILE__, line, "a refused frame says auth");
		check_at(m.type != RAFT_MSG_APPEND ||
			     (m.u.append.entries == NULL &&
			      m.u.append.n_entries == 0),
			 __FILE__, line, "a refused frame left entries");
	} else {
		wire_msg_release(&m);
	}
	if (wire_peek(p, len, &h, &peek_why) != 0 && why != NULL)
		check_eq_str(peek_why, why, "wire_peek's reason",
			     "wire_decode's", __FILE__, line);
	free(p);
}
#define REFUSED(frame, len, want) refused_at((frame), (len), (want), __LINE__)

/* A golden frame with byte `off` set to `v`, refused for `want`. */
static void refused_with_byte_at(const uint8_t *frame, size_t len, size_t off,
				 uint8_t v, const char *want, int line)
{
	uint8_t *p = exact_copy(frame, len);

	p[off] = v;
	refused_at(p, len, want, line);
	free(p);
}
#define REFUSED_WITH_BYTE(g, off, v, want)                                     \
	refused_with_byte_at((g), sizeof(g), (off), (v), (want), __LINE__)

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- tests -------------------------------------------------------------- */

static void test_method(void)
{
	CHECK_EQ_STR(wire_method(RAFT_MSG_VOTE), "requestVote");
	CHECK_EQ_STR(wire_method(RAFT_MSG_VOTE_RESP), "requestVote");
	CHECK_EQ_STR(wire_method(RAFT_MSG_APPEND), "appendEntries");
	CHECK_EQ_STR(wire_method(RAFT_MSG_APPEND_RESP), "appendEntries");
	CHECK_EQ_STR(wire_method(RAFT_MSG_SNAPSHOT), "installSnapshot");
	CHECK_EQ_STR(wire_method(RAFT_MSG_SNAPSHOT_RESP), "installSnapshot");
}

/* Each golden frame is what wire_encode writes for its message, and
 * decodes to that message (plain, and with a trailer). */
static void test_golden(void)
{
	for (size_t i = 0; i < N_GOLDENS; i++) {
		const struct golden *g = &goldens[i];
		struct raft_msg m = g->msg(), got;
		const char *why = NULL;
		bool auth = true;
		size_t len;
		uint8_t *frame = encode(&m, false, &len), *signed_frame, *p;

		printf("golden %s: %zu bytes\n", g->name, g->len);
		CHECK_EQ_U64(wire_body_size(&m), g->len);
		if (CHECK_EQ_U64(len, g->len))
			CHECK_EQ_MEM(frame, g->bytes, len);
		free(frame);

		/* With a trailer: the same bytes but the flag. */
		signed_frame = encode(&m, true, &len);
		if (CHECK_EQ_U64(len, g->len + WIRE_AUTH_SIZE)) {
			CHECK_EQ_INT(signed_frame[OFF_FLAGS], WIRE_FLAG_AUTH);
			signed_frame[OFF_FLAGS] = 0;
			CHECK_EQ_MEM(signed_frame, g->bytes, g->len);
		}
		free(signed_frame);

		p = exact_copy(g->bytes, g->len);
		if (CHECK(wire_decode(p, g->len, &got, &auth, &why) == 0)) {
			CHECK(!auth);
			same_msg(&got, &m, __LINE__);
			entries_borrowed(&got, p, g->len, __LINE__);
			peek_agrees(p, g->len, &got, auth, __LINE__);
			wire_msg_release(&got);
		}
		free(p);
		ROUNDTRIP(&m, false);
		ROUNDTRIP(&m, true);
	}
}

static void test_roundtrip_votes(void)
{
	struct raft_msg m = {
	    .type = RAFT_MSG_VOTE, .from = 2, .to = 3, .term = 6};

	/* A vote request, a prevote, from an empty log, at the bounds. */
	m.u.vote.last_log_index = 17;
	m.u.vote.last_log_term = 6;
	ROUNDTRIP(&m, false);
	m.u.vote.prevote = true;
	ROUNDTRIP(&m, true);
	m.u.vote.last_log_index = 0;
	m.u.vote.last_log_term = 0;
	ROUNDTRIP(&m, false);
	m.from = UINT32_MAX;
	m.to = 0x80000001u;
	m.term = RAFT_MAX_TERM;
	m.u.vote.last_log_index = RAFT_MAX_INDEX;
	m.u.vote.last_log_term = RAFT_MAX_TERM;
	ROUNDTRIP(&m, false);

	/* Answers: granted and refused, vote and prevote. */
	for (int prevote = 0; prevote <= 1; prevote++)
		for (int granted = 0; granted <= 1; granted++) {
			struct raft_msg r = {.type = RAFT_MSG_VOTE_RESP,
					     .from = 3,
					     .to = 2,
					     .term = 6};
			r.u.vote_resp.prevote = prevote;
			r.u.vote_resp.granted = granted;
			ROUNDTRIP(&r, false);
			ROUNDTRIP(&r, true);
		}
}

static void test_roundtrip_appends(void)
{
	enum { MANY = 1000 };
	struct raft_msg m = {
	    .type = RAFT_MSG_APPEND, .from = 1, .to = 4, .term = 9};
	struct raft_entry *many = xmalloc(MANY * sizeof(*many));
	uint8_t *bytes = xmalloc(MANY * 64);
	struct raft_entry one = {.term = 9, .type = RAFT_ENTRY_COMMAND};
	struct raft_entry big = {.term = 9, .type = RAFT_ENTRY_COMMAND};

	/* A heartbeat: no entries. */
	m.u.append.prev_index = 40;
	m.u.append.prev_term = 8;
	m.u.append.leader_commit = 39;
	m.u.append.seq = 77;
	ROUNDTRIP(&m, false);
	ROUNDTRIP(&m, true);
	/* ... from an empty log. */
	m.u.append.prev_index = 0;
	m.u.append.prev_term = 0;
	m.u.append.leader_commit = 0;
	ROUNDTRIP(&m, false);

	/* One entry, then one empty entry. */
	one.buf = (uint8_t *)"x";
	one.len = 1;
	m.u.append.prev_index = 40;
	m.u.append.prev_term = 8;
	m.u.append.n_entries = 1;
	m.u.append.entries = &one;
	ROUNDTRIP(&m, false);
	ROUNDTRIP(&m, true);
	one.buf = NULL;
	one.len = 0;
	one.type = RAFT_ENTRY_NOOP;
	ROUNDTRIP(&m, false);

	/* Many: lengths 0..63, terms rising from prev_term, both types. */
	for (uint32_t i = 0; i < MANY; i++) {
		many[i].term = 8 + (i >= MANY / 2);
		many[i].type =
		    i % 7 == 0 ? RAFT_ENTRY_NOOP : RAFT_ENTRY_COMMAND;
		many[i].len = i % 64;
		many[i].buf = many[i].len ? bytes + i * 64 : NULL;
		for (uint32_t k = 0; k < many[i].len; k++)
			bytes[i * 64 + k] = (uint8_t)(i * 31 + k);
	}
	m.u.append.n_entries = MANY;
	m.u.append.entries = many;
	ROUNDTRIP(&m, false);
	ROUNDTRIP(&m, true);

	/* The largest entry there is: RAFT_MAX_ENTRY_BYTES. */
	big.len = RAFT_MAX_ENTRY_BYTES;
	big.buf = xmalloc(big.len);
	for (uint32_t k = 0; k < big.len; k++)
		big.buf[k] = (uint8_t)(k ^ (k >> 8));
	m.u.append.n_entries = 1;
	m.u.append.entries = &big;
	ROUNDTRIP(&m, false);
	ROUNDTRIP(&m, true);

	/* Indexes and terms at their bounds. */
	one.term = RAFT_MAX_TERM;
	m.term = RAFT_MAX_TERM;
	m.u.append.prev_index = RAFT_MAX_INDEX - 1;
	m.u.append.prev_term = RAFT_MAX_TERM;
	m.u.append.leader_commit = RAFT_MAX_INDEX;
	m.u.append.seq = UINT64_MAX;
	m.u.append.entries = &one;
	ROUNDTRIP(&m, false);

	free(big.buf);
	free(bytes);
	free(many);
}

static void test_roundtrip_append_answers(void)
{
	struct raft_msg m = {
	    .type = RAFT_MSG_APPEND_RESP, .from = 4, .to = 1, .term = 9};

	m.u.append_resp.success = true;
	m.u.append_resp.prev_index = 40;
	m.u.append_resp.match_index = 41;
	m.u.append_resp.last_log_index = 41;
	m.u.append_resp.seq = 77;
	ROUNDTRIP(&m, false);
	ROUNDTRIP(&m, true);
	m.u.append_resp.success = false;
	m.u.append_resp.match_index = 0;
	m.u.append_resp.conflict_term = 7;
	m.u.append_resp.conflict_index = 33;
	m.u.append_resp.last_log_index = 52;
	ROUNDTRIP(&m, false);
	/* A log shorter than prev: conflict term 0, index its end + 1. */
	m.u.append_resp.conflict_term = 0;
	m.u.append_resp.conflict_index = 20;
	m.u.append_resp.last_log_index = 19;
	ROUNDTRIP(&m, true);
	m.term = RAFT_MAX_TERM;
	m.u.append_resp.prev_index = RAFT_MAX_INDEX;
	m.u.append_resp.match_index = RAFT_MAX_INDEX;
	m.u.append_resp.conflict_term = RAFT_MAX_TERM;
	m.u.append_resp.conflict_index = RAFT_MAX_INDEX;
	m.u.append_resp.last_log_index = RAFT_MAX_INDEX;
	m.u.append_resp.seq = UINT64_MAX;
	ROUNDTRIP(&m, false);
}

static void test_roundtrip_snapshots(void)
{
	struct raft_msg m = {
	    .type = RAFT_MSG_SNAPSHOT, .from = 2, .to = 5, .term = 8};
	struct raft_msg a = {
	    .type = RAFT_MSG_SNAPSHOT_RESP, .from = 5, .to = 2, .term = 8};

	/* The smallest snapshot there is, one of the message's term, one
	 * at the bounds. */
	m.u.snapshot.index = 1;
	m.u.snapshot.term = 1;
	ROUNDTRIP(&m, false);
	ROUNDTRIP(&m, true);
	m.u.snapshot.index = 12345;
	m.u.snapshot.term = 8;
	ROUNDTRIP(&m, false);
	m.term = RAFT_MAX_TERM;
	m.from = UINT32_MAX;
	m.u.snapshot.index = RAFT_MAX_INDEX;
	m.u.snapshot.term = RAFT_MAX_TERM;
	ROUNDTRIP(&m, true);

	/* Answers: installed (or held already) up to an index, and the
	 * refusal of a stale term, which names none. */
	a.u.snapshot_resp.success = true;
	a.u.snapshot_resp.index = 12345;
	ROUNDTRIP(&a, false);
	ROUNDTRIP(&a, true);
	a.u.snapshot_resp.index = RAFT_MAX_INDEX;
	ROUNDTRIP(&a, false);
	a.term = 9;
	a.u.snapshot_resp.success = false;
	a.u.snapshot_resp.index = 0;
	ROUNDTRIP(&a, true);
	a.term = 0;
	ROUNDTRIP(&a, false);
}

/* What raft_msg_check refuses in the snapshot messages, through the
 * decoder: each field out of its bounds (raft.h). */
static void test_snapshot_bounds(void)
{
	uint8_t p[sizeof(golden_snapshot)];
	uint8_t a[sizeof(golden_snapshot_resp)];
	const size_t index = OFF_BODY, term = OFF_BODY + 8;

	memcpy(p, golden_snapshot, sizeof(p));
	put_u64(p + 12, 0);
	REFUSED(p, sizeof(p), "InstallSnapshot for term 0");
	put_u64(p + 12, RAFT_MAX_TERM + 1);
	REFUSED(p, sizeof(p), "term out of range");
	memcpy(p, golden_snapshot, sizeof(p));
	put_u64(p + index, 0);
	REFUSED(p, sizeof(p), "snapshot index out of range");
	put_u64(p + index, RAFT_MAX_INDEX + 1);
	REFUSED(p, sizeof(p), "snapshot index out of range");
	put_u64(p + index, UINT64_MAX);
	REFUSED(p, sizeof(p), "snapshot index out of range");
	memcpy(p, golden_snapshot, sizeof(p));
	put_u64(p + term, 0);
	REFUSED(p, sizeof(p), "snapshot term 0");
	put_u64(p + term, 8); /* the message's term is 7 */
	REFUSED(p, sizeof(p), "snapshot term above the leader's term");
	put_u64(p + term, UINT64_MAX);
	REFUSED(p, sizeof(p), "snapshot term above the leader's term");
	put_u64(p + term, 7); /* of the message's own term: fine */
	{
		struct raft_msg m;
		const char *why = NULL;
		bool auth;
		CHECK(wire_decode(p, sizeof(p), &m, &auth, &why) == 0);
	}

	memcpy(a, golden_snapshot_resp, sizeof(a));
	put_u64(a + OFF_BODY + 1, RAFT_MAX_INDEX + 1);
	REFUSED(a, sizeof(a), "index out of range");
	put_u64(a + OFF_BODY + 1, 0);
	REFUSED(a, sizeof(a), "snapshot answer's index and outcome disagree");
	memcpy(a, golden_snapshot_resp, sizeof(a));
	a[OFF_BODY] = 0; /* a refusal that names an index */
	REFUSED(a, sizeof(a), "snapshot answer's index and outcome disagree");
	put_u64(a + 12, RAFT_MAX_TERM + 1);
	REFUSED(a, sizeof(a), "term out of range");
}

/* Every proper prefix of a valid frame is refused. */
static void truncations_refused(const uint8_t *frame, size_t len, int line)
{
	for (size_t n = 0; n < len; n++)
		refused_at(frame, n, NULL, line);
}

static void test_truncations(void)
{
	struct raft_msg m = golden_append_msg();
	size_t len;
	uint8_t *signed_frame;

	for (size_t i = 0; i < N_GOLDENS; i++)
		truncations_refused(goldens[i].bytes, goldens[i].len, __LINE__);
	signed_frame = encode(&m, true, &len);
	truncations_refused(signed_frame, len, __LINE__);
	free(signed_frame);
	/* Too short for a header: wire_peek says so. */
	REFUSED(golden_vote, WIRE_HEADER_SIZE - 1,
		"frame too short or too long");
	REFUSED(golden_vote, 0, "frame too short or too long");
	/* The header alone: the body is missing. */
	REFUSED(golden_vote, WIRE_HEADER_SIZE, "truncated frame or bad field");
	REFUSED(golden_append, OFF_N_ENTRIES, "truncated frame");
}

static void test_bad_header(void)
{
	static const uint8_t versions[] = {0, 1, 3, 0x81, 0xff};
	static const uint8_t types[] = {0, 8, 0x80, 0xff};
	static const uint8_t flags[] = {0x80, 0x81, 0x04, 0xff};

	for (size_t i = 0; i < sizeof(versions); i++)
		REFUSED_WITH_BYTE(golden_vote_resp, OFF_VERSION, versions[i],
				  "unknown frame version");
	for (size_t i = 0; i < sizeof(types); i++)
		REFUSED_WITH_BYTE(golden_vote_resp, OFF_TYPE, types[i],
				  "unknown message type");
	for (size_t i = 0; i < sizeof(flags); i++)
		REFUSED_WITH_BYTE(golden_append, OFF_FLAGS, flags[i],
				  "unknown frame flags");
	/* The chunk flag belongs to snapshot data alone. */
	REFUSED_WITH_BYTE(golden_append, OFF_FLAGS, WIRE_FLAG_CHUNK,
			  "chunk flag on a message that is not a snapshot");
	REFUSED_WITH_BYTE(golden_vote, OFF_FLAGS,
			  WIRE_FLAG_CHUNK | WIRE_FLAG_AUTH,
			  "chunk flag on a message that is not a snapshot");
	REFUSED_WITH_BYTE(golden_append, OFF_RESERVED, 1,
			  "unknown frame flags");
	REFUSED_WITH_BYTE(golden_append, OFF_RESERVED, 0xff,
			  "unknown frame flags");
	/* Node id 0, as sender or receiver (each byte of a u32 is 0). */
	{
		uint8_t p[sizeof(golden_vote)];
		memcpy(p, golden_vote, sizeof(p));
		put_u32(p + OFF_FROM, 0);
		REFUSED(p, sizeof(p), "node id 0");
		memcpy(p, golden_vote, sizeof(p));
		put_u32(p + OFF_TO, 0);
		REFUSED(p, sizeof(p), "node id 0");
	}
	/* A body read as another type's: too long, too short. */
	REFUSED_WITH_BYTE(golden_append_resp, OFF_TYPE, RAFT_MSG_VOTE,
			  "trailing bytes after the message");
	REFUSED_WITH_BYTE(golden_vote_resp, OFF_TYPE, RAFT_MSG_VOTE,
			  "truncated frame or bad field");
	REFUSED_WITH_BYTE(golden_vote, OFF_TYPE, RAFT_MSG_SNAPSHOT,
			  "trailing bytes after the message");
	/* (its index's first byte, 0x08, is no bool) */
	REFUSED_WITH_BYTE(golden_snapshot, OFF_TYPE, RAFT_MSG_SNAPSHOT_RESP,
			  "truncated frame or bad field");
	REFUSED_WITH_BYTE(golden_snapshot_resp, OFF_TYPE, RAFT_MSG_SNAPSHOT,
			  "truncated frame or bad field");
}

static void test_bad_bools(void)
{
	static const uint8_t bad[] = {2, 0x80, 0xff};

	/* A vote request's first byte is flags: prevote, transfer. */
	REFUSED_WITH_BYTE(golden_vote, OFF_BODY, 4, "unknown vote flags");
	for (size_t i = 0; i < sizeof(bad); i++) {
		if (bad[i] > 3)
			REFUSED_WITH_BYTE(golden_vote, OFF_BODY, bad[i],
					  "unknown vote flags");
		REFUSED_WITH_BYTE(golden_vote_resp, OFF_BODY, bad[i],
				  "truncated frame or bad field");
		REFUSED_WITH_BYTE(golden_vote_resp, OFF_BODY + 1, bad[i],
				  "truncated frame or bad field");
		REFUSED_WITH_BYTE(golden_append_resp, OFF_BODY, bad[i],
				  "truncated frame or bad field");
		REFUSED_WITH_BYTE(golden_snapshot_resp, OFF_BODY, bad[i],
				  "truncated frame or bad field");
	}
}

/* One more byte after any valid frame, or between body and trailer. */
static void test_trailing_bytes(void)
{
	struct raft_msg m = golden_vote_resp_msg();
	size_t len;
	uint8_t *signed_frame = encode(&m, true, &len), *p;

	for (size_t i = 0; i < N_GOLDENS; i++) {
		p = xmalloc(goldens[i].len + 1);
		memcpy(p, goldens[i].bytes, goldens[i].len);
		p[goldens[i].len] = 0;
		REFUSED(p, goldens[i].len + 1,
			"trailing bytes after the message");
		free(p);
	}
	p = xmalloc(len + 1);
	memcpy(p, signed_frame, len);
	p[len] = 0xa5;
	REFUSED(p, len + 1, "trailing bytes after the message");
	free(p);
	free(signed_frame);
}

static void test_bad_entries(void)
{
	uint8_t p[sizeof(golden_append)];
	const size_t rec2 = OFF_RECORDS + RECORD_HEADER + 3;

	/* Counts the frame cannot hold. */
	memcpy(p, golden_append, sizeof(p));
	put_u32(p + OFF_N_ENTRIES, UINT32_MAX);
	REFUSED(p, sizeof(p), "entry count larger than the frame");
	put_u32(p + OFF_N_ENTRIES, RAFT_MAX_MSG_ENTRIES + 1);
	REFUSED(p, sizeof(p), "entry count larger than the frame");
	/* 29 bytes of records: room for the headers of two, not three. */
	put_u32(p + OFF_N_ENTRIES, 3);
	REFUSED(p, sizeof(p), "entry count larger than the frame");
	/* One fewer than the records: trailing bytes. */
	put_u32(p + OFF_N_ENTRIES, 1);
	REFUSED(p, sizeof(p), "trailing bytes after the message");

	/* The last entry's length past the end of the frame. */
	memcpy(p, golden_append, sizeof(p));
	put_u32(p + rec2 + 9, 1);
	REFUSED(p, sizeof(p), "entry longer than the frame");
	/* ... the first's: its bytes run into the second record. */
	memcpy(p, golden_append, sizeof(p));
	put_u32(p + OFF_RECORDS + 9, 17);
	REFUSED(p, sizeof(p), "entry longer than the frame");
	/* ... beyond any entry. */
	put_u32(p + OFF_RECORDS + 9, RAFT_MAX_ENTRY_BYTES + 1);
	REFUSED(p, sizeof(p), "bad entry record");
	put_u32(p + OFF_RECORDS + 9, UINT32_MAX);
	REFUSED(p, sizeof(p), "bad entry record");
	/* A shorter length: the rest does not parse as records. */
	memcpy(p, golden_append, sizeof(p));
	put_u32(p + OFF_RECORDS + 9, 2);
	REFUSED(p, sizeof(p), NULL);

	/* What raft_msg_check refuses, through the decoder. */
	memcpy(p, golden_append, sizeof(p));
	put_u64(p + OFF_RECORDS, 0);
	REFUSED(p, sizeof(p), "entry terms out of order");
	memcpy(p, golden_append, sizeof(p));
	p[OFF_RECORDS + 8] = 3;
	REFUSED(p, sizeof(p), "unknown entry type");
	/* A configuration entry must decode (raft_conf_decode). */
	memcpy(p, golden_append, sizeof(p));
	p[OFF_RECORDS + 8] = RAFT_ENTRY_CONFIG;
	REFUSED(p, sizeof(p), "configuration entry of an unknown version");
	memcpy(p, golden_append, sizeof(p));
	put_u64(p + rec2, 6); /* above the message's term */
	REFUSED(p, sizeof(p), "entry terms out of order");
}

static void test_bounds_checked(void)
{
	uint8_t v[sizeof(golden_vote)];

	memcpy(v, golden_vote, sizeof(v));
	put_u64(v + 12, 0);
	REFUSED(v, sizeof(v), "vote request for term 0");
	put_u64(v + 12, RAFT_MAX_TERM + 1);
	REFUSED(v, sizeof(v), "term out of range");
	put_u64(v + 12, UINT64_MAX);
	REFUSED(v, sizeof(v), "term out of range");
}

/* The frame size limit: exactly WIRE_MAX_FRAME decodes, one byte more is
 * refused before anything is decoded. */
static void test_max_frame(void)
{
	struct raft_entry e[2] = {
	    {.term = 5, .type = RAFT_ENTRY_COMMAND},
	    {.term = 5, .type = RAFT_ENTRY_COMMAND},
	};
	struct raft_msg m = golden_append_msg();
	uint8_t *frame, *body;
	size_t len;
	struct raft_msg got;
	const char *why = NULL;
	bool auth;

	e[0].len = RAFT_MAX_ENTRY_BYTES;
	e[1].len = WIRE_MAX_FRAME - (OFF_RECORDS + 2 * RECORD_HEADER) -
		   RAFT_MAX_ENTRY_BYTES;
	body = xmalloc(RAFT_MAX_ENTRY_BYTES + 1);
	memset(body, 'z', RAFT_MAX_ENTRY_BYTES + 1);
	e[0].buf = e[1].buf = body;
	m.u.append.entries = e;
	frame = encode(&m, false, &len);
	CHECK_EQ_U64(len, WIRE_MAX_FRAME);
	if (CHECK(wire_decode(frame, len, &got, &auth, &why) == 0)) {
		CHECK_EQ_U64(got.u.append.entries[1].len, e[1].len);
		wire_msg_release(&got);
	}
	free(frame);
	e[1].len++;
	frame = encode(&m, false, &len);
	CHECK_EQ_U64(len, WIRE_MAX_FRAME + 1);
	REFUSED(frame, len, "frame too short or too long");
	free(frame);
	/* The same message with a trailer, too big by the trailer. */
	e[1].len--;
	frame = encode(&m, true, &len);
	REFUSED(frame, len, "frame too short or too long");
	free(frame);
	free(body);
}

/* The auth flag on a frame that cannot hold a trailer. */
static void test_auth_too_short(void)
{
	uint8_t p[WIRE_HEADER_SIZE + WIRE_AUTH_SIZE] = {0};

	memcpy(p, golden_vote_resp, WIRE_HEADER_SIZE);
	p[OFF_FLAGS] = WIRE_FLAG_AUTH;
	for (size_t len = WIRE_HEADER_SIZE; len < sizeof(p); len++)
		REFUSED(p, len, "frame too short for its trailer");
	/* Room for the trailer, none for the body. */
	REFUSED(p, sizeof(p), "truncated frame or bad field");
	/* A golden frame with the flag and no trailer. */
	REFUSED_WITH_BYTE(golden_append_resp, OFF_FLAGS, WIRE_FLAG_AUTH,
			  "frame too short for its trailer");
	/* Long enough for one: its last 56 bytes are taken as the trailer,
	 * which leaves the body short of its entry count. */
	REFUSED_WITH_BYTE(golden_append, OFF_FLAGS, WIRE_FLAG_AUTH,
			  "truncated frame");
}

/* wire_peek on each golden frame, and on frames wire_decode refuses for
 * their bodies: the header alone is judged. */
static void test_peek(void)
{
	struct wire_header h;
	const char *why = NULL;
	uint8_t p[sizeof(golden_append)];

	for (size_t i = 0; i < N_GOLDENS; i++) {
		struct raft_msg m = goldens[i].msg();
		if (CHECK(wire_peek(goldens[i].bytes, goldens[i].len, &h,
				    &why) == 0)) {
			CHECK_EQ_INT(h.type, m.type);
			CHECK_EQ_U64(h.from, m.from);
			CHECK_EQ_U64(h.to, m.to);
			CHECK(!h.auth);
		}
	}
	memcpy(p, golden_append, sizeof(p));
	put_u32(p + OFF_N_ENTRIES, UINT32_MAX);
	CHECK(wire_peek(p, sizeof(p), &h, &why) == 0);
	CHECK(wire_peek(NULL, 40, &h, &why) == -1);
}

/* wire_msg_release frees the entry array and accepts what has none. */
static void test_release(void)
{
	struct raft_msg m;
	const char *why = NULL;
	bool auth;
	uint8_t *p = exact_copy(golden_append, sizeof(golden_append));

	memset(&m, 0, sizeof(m));
	wire_msg_release(&m);
	if (CHECK(wire_decode(p, sizeof(golden_append), &m, &auth, &why) ==
		  0)) {
		CHECK(m.u.append.entries != NULL);
		wire_msg_release(&m);
		CHECK(m.u.append.entries == NULL);
		CHECK_EQ_U64(m.u.append.n_entries, 0);
		wire_msg_release(&m); /* twice: nothing left to free */
	}
	free(p);
	m = golden_vote_msg();
	wire_msg_release(&m);
	CHECK_EQ_U64(m.u.vote.last_log_index, UINT64_C(0x1122334455667788));
}

int main(void)
{
	check_start("test_wire", 0);
	test_method();
	test_golden();
	test_roundtrip_votes();
	test_roundtrip_appends();
	test_roundtrip_append_answers();
	test_roundtrip_snapshots();
	test_snapshot_bounds();
	test_truncations();
	test_bad_header();
	test_bad_bools();
	test_trailing_bytes();
	test_bad_entries();
	test_bounds_checked();
	test_max_frame();
	test_auth_too_short();
	test_peek();
	test_release();
	return check_summary();
}
