/* wire.c: Raft peer messages as bytes (the frame format is in wire.h).
 *
 * One <base64> frame per call instead of an XML-RPC struct: parsing a
 * struct per entry cost xmlrpc-c about 5 µs and a dozen mallocs per
 * 100-byte entry, and a frame of bytes is what an HMAC can cover exactly
 * (peerauth.c).  The decoder trusts nothing: it reads through a cursor
 * that refuses to run past the end, and hands the result to the core's
 * own bounds check (raft_msg_check) before anyone acts on it. */
#include "wire.h"

#include "bytes.h"

#include <stdlib.h>
#include <string.h>

#define WIRE_ENTRY_HEADER 13 /* u64 term, u8 type, u32 len */

const char *wire_method(enum raft_msg_type type)
{
	switch (type) {
	case RAFT_MSG_VOTE:
	case RAFT_MSG_VOTE_RESP:
		return "requestVote";
	case RAFT_MSG_APPEND:
	case RAFT_MSG_APPEND_RESP:
		return "appendEntries";
	case RAFT_MSG_SNAPSHOT:
	case RAFT_MSG_SNAPSHOT_RESP:
		return "installSnapshot";
	case RAFT_MSG_TIMEOUT_NOW:
		return "timeoutNow";
	}
	return "?";
}

/* ---- encoding ------------------------------------------------------------ */

static uint8_t *put_u8(uint8_t *p, uint8_t x)
{
	*p = x;
	return p + 1;
}

static uint8_t *put_u32(uint8_t *p, uint32_t x)
{
	bytes_put_u32(p, x);
	return p + 4;
}

static uint8_t *put_u64(uint8_t *p, uint64_t x)
{
	bytes_put_u64(p, x);
	return p + 8;
}

size_t wire_body_size(const struct raft_msg *m)
{
	size_t size = WIRE_HEADER_SIZE;
	uint32_t i;

	switch (m->type) {
	case RAFT_MSG_VOTE:
		return size + 1 + 8 + 8;
	case RAFT_MSG_VOTE_RESP:
		return size + 1 + 1;
	case RAFT_MSG_APPEND:
		size += 8 * 4 + 4;
		for (i = 0; i < m->u.append.n_entries; i++)
			size += WIRE_ENTRY_HEADER + m->u.append.entries[i].len;
		return size;
	case RAFT_MSG_APPEND_RESP:
		return size + 1 + 8 * 6;
	case RAFT_MSG_SNAPSHOT:
		return size + 8 + 8;
	case RAFT_MSG_SNAPSHOT_RESP:
		return size + 1 + 8;
	case RAFT_MSG_TIMEOUT_NOW:
		return size;
	}
	return size;
}

void wire_encode(const struct raft_msg *m, bool auth, uint8_t *buf)
{
	const struct raft_msg_append *a = &m->u.append;
	const struct raft_msg_append_resp *ar = &m->u.append_resp;
	uint8_t *p = buf;
	uint32_t i;

	p = put_u8(p, WIRE_VERSION);
	p = put_u8(p, (uint8_t)m->type);
	p = put_u8(p, auth ? WIRE_FLAG_AUTH : 0);
	p = put_u8(p, 0);
	p = put_u32(p, m->from);
	p = put_u32(p, m->to);
	p = put_u64(p, m->term);
	p = put_u64(p, 0); /* cluster and incarnation: wire_set_ident() */
	p = put_u64(p, 0);
	switch (m->type) {
	case RAFT_MSG_VOTE:
		p = put_u8(p, (uint8_t)((m->u.vote.prevote ? 1 : 0) |
					(m->u.vote.transfer ? 2 : 0)));
		p = put_u64(p, m->u.vote.last_log_index);
		put_u64(p, m->u.vote.last_log_term);
		break;
	case RAFT_MSG_VOTE_RESP:
		p = put_u8(p, m->u.vote_resp.prevote);
		put_u8(p, m->u.vote_resp.granted);
		break;
	case RAFT_MSG_APPEND:
		p = put_u64(p, a->prev_index);
		p = put_u64(p, a->prev_term);
		p = put_u64(p, a->leader_commit);
		p = put_u64(p, a->seq);
		p = put_u32(p, a->n_entries);
		for (i = 0; i < a->n_entries; i++) {
			const struct raft_entry *e = &a->entries[i];
			p = put_u64(p, e->term);
			p = put_u8(p, e->type);
			p = put_u32(p, e->len);
			if (e->len > 0)
				memcpy(p, e->buf, e->len);
			p += e->len;
		}
		break;
	case RAFT_MSG_APPEND_RESP:
		p = put_u8(p, ar->success);
		p = put_u64(p, ar->prev_index);
		p = put_u64(p, ar->match_index);
		p = put_u64(p, ar->conflict_term);
		p = put_u64(p, ar->conflict_index);
		p = put_u64(p, ar->last_log_index);
		put_u64(p, ar->seq);
		break;
	case RAFT_MSG_SNAPSHOT:
		p = put_u64(p, m->u.snapshot.index);
		put_u64(p, m->u.snapshot.term);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		p = put_u8(p, m->u.snapshot_resp.success);
		put_u64(p, m->u.snapshot_resp.index);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	}
}

void wire_set_ident(uint8_t *buf, uint64_t cluster, uint64_t incarnation)
{
	bytes_put_u64(buf + WIRE_OFF_CLUSTER, cluster);
	bytes_put_u64(buf + WIRE_OFF_CLUSTER + 8, incarnation);
}

/* ---- decoding ------------------------------------------------------------ */

/* A read cursor over untrusted bytes: every get checks the room left and
 * marks the cursor bad instead of reading past the end. */
struct cursor {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->bad || c->left < n) {
		c->bad = true;
		return NULL;
	}
	c->p += n;
	c->left -= n;
	return p;
}

static uint8_t get_u8(struct cursor *c)
{
	const uint8_t *p = take(c, 1);

	return p ? p[0] : 0;
}

static uint32_t get_u32(struct cursor *c)
{
	const uint8_t *p = take(c, 4);

	return p ? bytes_get_u32(p) : 0;
}

static uint64_t get_u64(struct cursor *c)
{
	const uint8_t *p = take(c, 8);

	return p ? bytes_get_u64(p) : 0;
}

/* A bool is one byte, 0 or 1: anything else marks the frame bad. */
static bool get_bool(struct cursor *c)
{
	uint8_t b = get_u8(c);

	if (b > 1)
		c->bad = true;
	return b == 1;
}

static int decode_entries(struct cursor *c, struct raft_msg *m,
			  const char **why)
{
	struct raft_msg_append *a = &m->u.append;
	uint32_t n = get_u32(c), i;

	if (c->bad) {
		*why = "truncated frame";
		return -1;
	}
	/* Each record takes at least its header: a count the frame cannot
	 * hold is refused before anything is allocated for it. */
	if (n > RAFT_MAX_MSG_ENTRIES || n > c->left / WIRE_ENTRY_HEADER) {
		*why = "entry count larger than the frame";
		return -1;
	}
	if (n == 0)
		return 0;
	a->entries = calloc(n, sizeof(*a->entries));
	if (a->entries == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct raft_entry *e = &a->entries[i];
		e->term = get_u64(c);
		e->type = get_u8(c);
		e->len = get_u32(c);
		if (c->bad || e->len > RAFT_MAX_ENTRY_BYTES) {
			*why = "bad entry record";
			return -1;
		}
		/* Borrowed from the frame: raft_recv copies what it keeps. */
		e->buf = e->len ? (uint8_t *)take(c, e->len) : NULL;
		if (c->bad) {
			*why = "entry longer than the frame";
			return -1;
		}
		a->n_entries = i + 1;
	}
	return 0;
}

int wire_peek(const uint8_t *buf, size_t len, struct wire_header *h,
	      const char **why)
{
	struct cursor c;
	uint8_t version, type, flags, reserved;

	memset(h, 0, sizeof(*h));
	if (buf == NULL || len < WIRE_HEADER_SIZE || len > WIRE_MAX_FRAME) {
		*why = "frame too short or too long";
		return -1;
	}
	c.p = buf;
	c.left = len;
	c.bad = false;
	version = get_u8(&c);
	type = get_u8(&c);
	flags = get_u8(&c);
	reserved = get_u8(&c);
	if (version != WIRE_VERSION) {
		*why = "unknown frame version";
		return -1;
	}
	if (type < RAFT_MSG_VOTE || type > RAFT_MSG_TIMEOUT_NOW) {
		*why = "unknown message type";
		return -1;
	}
	if ((flags & ~(WIRE_FLAG_AUTH | WIRE_FLAG_CHUNK)) != 0 ||
	    reserved != 0) {
		*why = "unknown frame flags";
		return -1;
	}
	/* A chunk frame carries snapshot data and nothing else.  (A plain
	 * RAFT_MSG_SNAPSHOT frame is the core's metadata message; the
	 * daemon's installSnapshot takes chunk frames only, so a snapshot is
	 * installed only after its data arrived and was checked.) */
	if ((flags & WIRE_FLAG_CHUNK) != 0 && type != RAFT_MSG_SNAPSHOT) {
		*why = "chunk flag on a message that is not a snapshot";
		return -1;
	}
	if ((flags & WIRE_FLAG_AUTH) &&
	    len < WIRE_HEADER_SIZE + WIRE_AUTH_SIZE) {
		*why = "frame too short for its trailer";
		return -1;
	}
	h->type = (enum raft_msg_type)type;
	h->auth = (flags & WIRE_FLAG_AUTH) != 0;
	h->chunk = (flags & WIRE_FLAG_CHUNK) != 0;
	h->from = get_u32(&c);
	h->to = get_u32(&c);
	h->term = get_u64(&c); /* checked when the body is decoded */
	h->cluster = get_u64(&c);
	h->incarnation = get_u64(&c);
	if (h->from == 0 || h->to == 0) {
		*why = "node id 0";
		return -1;
	}
	return 0;
}

int wire_decode(const uint8_t *buf, size_t len, struct raft_msg *m, bool *auth,
		const char **why)
{
	struct wire_header h;
	struct cursor c;
	const char *reason = NULL;

	memset(m, 0, sizeof(*m));
	*auth = false;
	if (wire_peek(buf, len, &h, &reason) != 0)
		goto fail;
	if (h.chunk) {
		reason = "a snapshot chunk, not a message";
		goto fail;
	}
	c.p = buf + 4;
	c.left = len - 4;
	c.bad = false;
	if (h.auth)
		c.left -= WIRE_AUTH_SIZE; /* the body ends where it starts */
	*auth = h.auth;
	m->type = h.type;
	m->from = get_u32(&c);
	m->to = get_u32(&c);
	m->term = get_u64(&c);
	(void)get_u64(&c); /* cluster and incarnation: wire_peek's */
	(void)get_u64(&c);
	switch (m->type) {
	case RAFT_MSG_VOTE: {
		uint8_t f = get_u8(&c);
		if (f > 3) {
			reason = "unknown vote flags";
			goto fail;
		}
		m->u.vote.prevote = (f & 1) != 0;
		m->u.vote.transfer = (f & 2) != 0;
		m->u.vote.last_log_index = get_u64(&c);
		m->u.vote.last_log_term = get_u64(&c);
		break;
	}
	case RAFT_MSG_VOTE_RESP:
		m->u.vote_resp.prevote = get_bool(&c);
		m->u.vote_resp.granted = get_bool(&c);
		break;
	case RAFT_MSG_APPEND:
		m->u.append.prev_index = get_u64(&c);
		m->u.append.prev_term = get_u64(&c);
		m->u.append.leader_commit = get_u64(&c);
		m->u.append.seq = get_u64(&c);
		if (decode_entries(&c, m, &reason) != 0)
			goto fail;
		break;
	case RAFT_MSG_APPEND_RESP:
		m->u.append_resp.success = get_bool(&c);
		m->u.append_resp.prev_index = get_u64(&c);
		m->u.append_resp.match_index = get_u64(&c);
		m->u.append_resp.conflict_term = get_u64(&c);
		m->u.append_resp.conflict_index = get_u64(&c);
		m->u.append_resp.last_log_index = get_u64(&c);
		m->u.append_resp.seq = get_u64(&c);
		break;
	case RAFT_MSG_SNAPSHOT:
		m->u.snapshot.index = get_u64(&c);
		m->u.snapshot.term = get_u64(&c);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		m->u.snapshot_resp.success = get_bool(&c);
		m->u.snapshot_resp.index = get_u64(&c);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	}
	if (c.bad) {
		reason = "truncated frame or bad field";
		goto fail;
	}
	if (c.left != 0) {
		reason = "trailing bytes after the message";
		goto fail;
	}
	reason = raft_msg_check(m);
	if (reason != NULL)
		goto fail;
	return 0;
fail:
	wire_msg_release(m);
	*auth = false;
	*why = reason;
	return -1;
}

void wire_msg_release(struct raft_msg *m)
{
	if (m->type == RAFT_MSG_APPEND) {
		free(m->u.append.entries);
		m->u.append.entries = NULL;
		m->u.append.n_entries = 0;
	}
}

/* ---- snapshot chunks ------------------------------------------------------
 */

size_t wire_chunk_size(size_t len)
{
	return WIRE_HEADER_SIZE + WIRE_CHUNK_FIXED + len;
}

void wire_chunk_encode(const struct wire_chunk *k, bool auth, uint8_t *buf)
{
	uint8_t *p = buf;

	p = put_u8(p, WIRE_VERSION);
	p = put_u8(p, (uint8_t)RAFT_MSG_SNAPSHOT);
	p = put_u8(p, (uint8_t)(WIRE_FLAG_CHUNK | (auth ? WIRE_FLAG_AUTH : 0)));
	p = put_u8(p, 0);
	p = put_u32(p, k->from);
	p = put_u32(p, k->to);
	p = put_u64(p, k->term);
	p = put_u64(p, 0); /* cluster and incarnation: wire_set_ident() */
	p = put_u64(p, 0);
	p = put_u64(p, k->index);
	p = put_u64(p, k->sterm);
	p = put_u64(p, k->total);
	p = put_u64(p, k->offset);
	p = put_u32(p, (uint32_t)k->len);
	if (k->len > 0)
		memcpy(p, k->data, k->len);
}

int wire_chunk_decode(const uint8_t *buf, size_t len, struct wire_chunk *k,
		      bool *auth, const char **why)
{
	struct wire_header h;
	struct cursor c;
	const char *reason = NULL;
	uint32_t n;

	memset(k, 0, sizeof(*k));
	*auth = false;
	if (wire_peek(buf, len, &h, &reason) != 0)
		goto fail;
	if (!h.chunk) {
		reason = "not a snapshot chunk";
		goto fail;
	}
	c.p = buf + 4;
	c.left = len - 4;
	c.bad = false;
	if (h.auth)
		c.left -= WIRE_AUTH_SIZE;
	k->from = get_u32(&c);
	k->to = get_u32(&c);
	k->term = get_u64(&c);
	(void)get_u64(&c); /* cluster and incarnation: wire_peek's */
	(void)get_u64(&c);
	k->index = get_u64(&c);
	k->sterm = get_u64(&c);
	k->total = get_u64(&c);
	k->offset = get_u64(&c);
	n = get_u32(&c);
	if (c.bad || n != c.left) {
		reason = "truncated chunk or bad length";
		goto fail;
	}
	k->data = c.p;
	k->len = n;
	/* The core's bounds (raft.h), and a chunk inside its file. */
	if (k->term == 0 || k->term > RAFT_MAX_TERM || k->index == 0 ||
	    k->index > RAFT_MAX_INDEX || k->sterm == 0 || k->sterm > k->term ||
	    k->offset > k->total || n > k->total - k->offset) {
		reason = "chunk fields out of range";
		goto fail;
	}
	*auth = h.auth;
	return 0;
fail:
	memset(k, 0, sizeof(*k));
	*why = reason;
	return -1;
}
