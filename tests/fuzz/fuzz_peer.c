/* fuzz_peer.c: what one forged peer frame can do to a node: wire_decode,
 * raft_recv on cores in several states, peerauth (fuzz_peer.h).
 *
 * For every input:
 *
 *  1. peerauth_verify_request/_response on the raw bytes, with the
 *     cluster's key and with another: the other key never verifies; the
 *     right one verifies exactly the frames whose MAC an independent
 *     HMAC (nettle, computed here) confirms; the replay windows behave
 *     as a small model of them says, for (epoch, seq) sequences drawn
 *     from the input (epochs evicted included); signing and verifying
 *     round-trip, and one flipped bit breaks them; without a secret
 *     nothing is signed or refused.
 *  2. wire_decode: a frame that decodes is in bounds (raft_msg_check)
 *     and encodes back to the very same bytes (one encoding per message).
 *  3. The decoded message goes to seven cores built by driving them with
 *     valid events (a follower with a log, a restarted follower with a
 *     divergent tail, a precandidate, a candidate, a leader whose
 *     followers are in REPLICATE, PROBE and unanswered states with a read
 *     pending, a fresh leader of a 3-node cluster, a leader of the last
 *     term there is, RAFT_MAX_TERM) as it is, then
 *     re-addressed from a member to the core, then at the core's term;
 *     time passes (a heartbeat) and the core gets work; then the message
 *     at the next term, and an election timeout.  After every event the
 *     checks of check_step() hold, among them: a refused message changes
 *     nothing; the term never goes back, never jumps by more than
 *     RAFT_MAX_TERM_JUMP and stays <= RAFT_MAX_TERM; one vote per term;
 *     one leader per term (a node never follows another once it knows
 *     its term's leader, a leader is never deposed by a message of its
 *     own term); the commit index never decreases and never passes the
 *     log; committed entries never change; log terms never decrease; a
 *     leader never truncates; the update reports every change of hard
 *     state and log; every message a core sends is in bounds, matches
 *     its log and survives the codec.
 *
 * A broken check abort()s, which is how libFuzzer (and driver.c) learn
 * of it.  Asserts in the core stay on in these builds: reaching one from
 * input is a finding too. */
#include "fuzz_peer.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/hmac.h>

#include "peerauth.h"
#include "wire.h"

uint64_t fuzz_peer_decoded;
uint64_t fuzz_peer_events;

/* ---- failing ------------------------------------------------------------ */

/* Which core and event a failure happened in. */
static const char *cur_core = "-";
static const char *cur_event = "-";

static void fail_at(int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void fail_at(int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr,
		"fuzz_peer.c:%d: invariant broken: %s\n  core %s, "
		"event %s: ",
		line, cond, cur_core, cur_event);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define ENSURE(cond, ...)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			fail_at(__LINE__, #cond, __VA_ARGS__);                 \
	} while (0)

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

/* FNV-1a, for fingerprints of entries and inputs. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(0x100000001B3);
	}
	return h;
}

#define FNV_INIT UINT64_C(0xCBF29CE484222325)

/* ---- messages: comparison and the codec round trip ---------------------- */

static bool entries_equal(const struct raft_entry *a,
			  const struct raft_entry *b)
{
	return a->term == b->term && a->type == b->type && a->len == b->len &&
	       (a->len == 0 || memcmp(a->buf, b->buf, a->len) == 0);
}

static bool msg_equal(const struct raft_msg *a, const struct raft_msg *b)
{
	uint32_t i;

	if (a->type != b->type || a->from != b->from || a->to != b->to ||
	    a->term != b->term)
		return false;
	switch (a->type) {
	case RAFT_MSG_TIMEOUT_NOW:
		return true;
	case RAFT_MSG_VOTE:
		return a->u.vote.prevote == b->u.vote.prevote &&
		       a->u.vote.transfer == b->u.vote.transfer &&
		       a->u.vote.last_log_index == b->u.vote.last_log_index &&
		       a->u.vote.last_log_term == b->u.vote.last_log_term;
	case RAFT_MSG_VOTE_RESP:
		return a->u.vote_resp.prevote == b->u.vote_resp.prevote &&
		       a->u.vote_resp.granted == b->u.vote_resp.granted;
	case RAFT_MSG_APPEND:
		if (a->u.append.prev_index != b->u.append.prev_index ||
		    a->u.append.prev_term != b->u.append.prev_term ||
		    a->u.append.leader_commit != b->u.append.leader_commit ||
		    a->u.append.seq != b->u.append.seq ||
		    a->u.append.n_entries != b->u.append.n_entries)
			return false;
		for (i = 0; i < a->u.append.n_entries; i++)
			if (!entries_equal(&a->u.append.entries[i],
					   &b->u.append.entries[i]))
				return false;
		return true;
	case RAFT_MSG_APPEND_RESP:
		return a->u.append_resp.success == b->u.append_resp.success &&
		       a->u.append_resp.prev_index ==
			   b->u.append_resp.prev_index &&
		       a->u.append_resp.match_index ==
			   b->u.append_resp.match_index &&
		       a->u.append_resp.conflict_term ==
			   b->u.append_resp.conflict_term &&
		       a->u.append_resp.conflict_index ==
			   b->u.append_resp.conflict_index &&
		       a->u.append_resp.last_log_index ==
			   b->u.append_resp.last_log_index &&
		       a->u.append_resp.seq == b->u.append_resp.seq;
	case RAFT_MSG_SNAPSHOT:
		return a->u.snapshot.index == b->u.snapshot.index &&
		       a->u.snapshot.term == b->u.snapshot.term;
	case RAFT_MSG_SNAPSHOT_RESP:
		return a->u.snapshot_resp.success ==
			   b->u.snapshot_resp.success &&
		       a->u.snapshot_resp.index == b->u.snapshot_resp.index;
	}
	return false;
}

/* A message a core sent must survive encoding and decoding unchanged,
 * with and without a trailer. */
static void codec_roundtrip(const struct raft_msg *m)
{
	size_t body = wire_body_size(m);
	uint8_t *buf = xmalloc(body + WIRE_AUTH_SIZE);
	struct raft_msg d;
	const char *why = NULL;
	bool auth = true;
	int k;

	for (k = 0; k < 2; k++) {
		size_t len = body + (k ? WIRE_AUTH_SIZE : 0);
		memset(buf, 0xA5, body + WIRE_AUTH_SIZE);
		wire_encode(m, k == 1, buf);
		ENSURE(wire_decode(buf, len, &d, &auth, &why) == 0,
		       "a message the core sent does not decode: %s", why);
		ENSURE(auth == (k == 1), "trailer flag lost");
		ENSURE(msg_equal(m, &d), "message changed by the codec");
		wire_msg_release(&d);
	}
	free(buf);
}

/* ---- the cores ---------------------------------------------------------- */

#define T0 UINT64_C(100000)

/* What the checks compare across one event. */
struct snap {
	uint64_t term;
	uint32_t vote;
	enum raft_role role;
	uint32_t leader;
	uint64_t commit;
	uint64_t last;
	uint64_t dropped;
	uint32_t term_leader;
	/* The log held in memory: entries first..last (first - 1 is the
	 * offset, of term offset_term, §7), and the latest snapshot. */
	uint64_t first;
	uint64_t offset_term;
	uint64_t snapshot;
	uint64_t *terms;  /* [i - first] for index i */
	uint64_t *hashes; /* entry fingerprints, same indexing */
	/* Where they live for short logs (most): no malloc per event. */
	uint64_t terms_in[32];
	uint64_t hashes_in[32];
};

struct core {
	const char *name;
	struct raft r;
	uint64_t now;
	/* The state after the last event, which is the state before the
	 * next: taken once, not twice (see snap_before). */
	struct snap prev;
	bool have_prev;
};

static void snap_take(struct snap *s, const struct core *c)
{
	const struct raft *r = &c->r;
	uint64_t i;

	s->term = raft_term(r);
	s->vote = r->vote;
	s->role = raft_role(r);
	s->leader = raft_leader(r);
	s->commit = raft_commit_index(r);
	s->last = raft_last_index(r);
	s->dropped = r->dropped_msgs;
	s->term_leader = r->term_leader;
	s->first = raft_first_index(r);
	s->offset_term = raft_term_at(r, s->first - 1);
	s->snapshot = raft_snapshot_index(r);
	s->terms = s->terms_in;
	s->hashes = s->hashes_in;
	if (s->last + 1 - s->first >
	    sizeof(s->terms_in) / sizeof(s->terms_in[0])) {
		s->terms =
		    xmalloc((s->last + 1 - s->first) * sizeof(*s->terms));
		s->hashes =
		    xmalloc((s->last + 1 - s->first) * sizeof(*s->hashes));
	}
	for (i = s->first; i <= s->last; i++) {
		const struct raft_entry *e = raft_entry_at(r, i);
		uint64_t h;
		ENSURE(e != NULL, "entry %llu of %llu..%llu missing",
		       (unsigned long long)i, (unsigned long long)s->first,
		       (unsigned long long)s->last);
		h = fnv(FNV_INIT, &e->term, sizeof(e->term));
		h = fnv(h, &e->type, 1);
		h = fnv(h, &e->len, sizeof(e->len));
		s->terms[i - s->first] = e->term;
		s->hashes[i - s->first] = e->len ? fnv(h, e->buf, e->len) : h;
	}
}

static void snap_free(struct snap *s)
{
	if (s->terms != s->terms_in) {
		free(s->terms);
		free(s->hashes);
	}
}

/* Moves *from into *to (the inline arrays move with it). */
static void snap_move(struct snap *to, struct snap *from)
{
	bool inline_arrays = from->terms == from->terms_in;

	*to = *from;
	if (inline_arrays) {
		to->terms = to->terms_in;
		to->hashes = to->hashes_in;
	}
}

/* The state before an event: the one after the last event, if any. */
static void snap_before(struct core *c, struct snap *b)
{
	if (c->have_prev) {
		snap_move(b, &c->prev);
		c->have_prev = false;
		return;
	}
	snap_take(b, c);
}

/* The term of entry i as s saw it: 0 for index 0 (and past the log), the
 * offset's for the offset, UINT64_MAX for what was compacted before it
 * (unknown). */
static uint64_t snap_term(const struct snap *s, uint64_t i)
{
	if (i == 0 || i > s->last)
		return 0;
	if (i + 1 == s->first)
		return s->offset_term;
	if (i < s->first)
		return UINT64_MAX;
	return s->terms[i - s->first];
}

/* Entry i's fingerprint as s saw it (i within first..last). */
static uint64_t snap_hash(const struct snap *s, uint64_t i)
{
	return s->hashes[i - s->first];
}

static bool is_member(const struct raft *r, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < r->cfg.n_nodes; i++)
		if (r->cfg.nodes[i] == id)
			return true;
	return false;
}

/* Set by fuzz_peer_sample(): sees every message the cores send. */
static void (*sample_emit)(const struct raft_msg *m, void *arg);
static void *sample_arg;

/* A message core c sent in the update just taken (a = its state now). */
static void check_sent(const struct core *c, const struct snap *a,
		       const struct raft_msg *m)
{
	const struct raft *r = &c->r;
	const char *why = raft_msg_check(m);
	uint32_t i;

	ENSURE(why == NULL, "sends a message it would refuse: %s", why);
	/* Answers go back to whoever asked, member or not (a leader's
	 * requests are taken from anyone, thesis §4.1). */
	ENSURE(m->from == r->cfg.id && m->to != r->cfg.id && m->to != 0 &&
		   (is_member(r, m->to) || m->type == RAFT_MSG_VOTE_RESP ||
		    m->type == RAFT_MSG_APPEND_RESP ||
		    m->type == RAFT_MSG_SNAPSHOT_RESP),
	       "sends from %u to %u", m->from, m->to);
	switch (m->type) {
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	case RAFT_MSG_VOTE:
		if (m->u.vote.prevote) {
			/* Thesis §9.6: asks about term + 1, unchanged. */
			ENSURE(m->term == a->term + 1 &&
				   a->role == RAFT_PRECANDIDATE,
			       "prevote for %llu in term %llu as %s",
			       (unsigned long long)m->term,
			       (unsigned long long)a->term,
			       raft_role_name(a->role));
		} else {
			/* §5.2: a candidate votes for itself first. */
			ENSURE(m->term == a->term && a->vote == r->cfg.id &&
				   a->role == RAFT_CANDIDATE,
			       "vote request in term %llu as %s voting %u",
			       (unsigned long long)m->term,
			       raft_role_name(a->role), a->vote);
		}
		ENSURE(m->u.vote.last_log_index == a->last &&
			   m->u.vote.last_log_term == snap_term(a, a->last),
		       "vote request misstates the log");
		break;
	case RAFT_MSG_VOTE_RESP:
		if (m->u.vote_resp.prevote && m->u.vote_resp.granted) {
			ENSURE(m->term > a->term,
			       "prevote granted for %llu "
			       "in term %llu",
			       (unsigned long long)m->term,
			       (unsigned long long)a->term);
			break;
		}
		ENSURE(m->term == a->term, "answers in term %llu, is in %llu",
		       (unsigned long long)m->term,
		       (unsigned long long)a->term);
		if (m->u.vote_resp.granted && !m->u.vote_resp.prevote)
			ENSURE(a->vote == m->to, "grants %u, votes %u", m->to,
			       a->vote);
		break;
	case RAFT_MSG_APPEND:
		ENSURE(a->role == RAFT_LEADER && m->term == a->term,
		       "AppendEntries in term %llu as %s of %llu",
		       (unsigned long long)m->term, raft_role_name(a->role),
		       (unsigned long long)a->term);
		ENSURE(m->u.append.prev_index <= a->last &&
			   m->u.append.prev_term ==
			       snap_term(a, m->u.append.prev_index),
		       "prev (%llu, %llu) not in the log",
		       (unsigned long long)m->u.append.prev_index,
		       (unsigned long long)m->u.append.prev_term);
		/* Entries start inside the log (§7: what was compacted
		 * goes by snapshot); prev 0 is a heartbeat's to a follower
		 * whose match was compacted away. */
		ENSURE(m->u.append.prev_index + 1 >= a->first ||
			   (m->u.append.prev_index == 0 &&
			    m->u.append.n_entries == 0),
		       "AppendEntries after %llu, log from %llu",
		       (unsigned long long)m->u.append.prev_index,
		       (unsigned long long)a->first);
		ENSURE(m->u.append.leader_commit <= a->commit,
		       "sends commit %llu beyond its %llu",
		       (unsigned long long)m->u.append.leader_commit,
		       (unsigned long long)a->commit);
		ENSURE(m->u.append.n_entries <= r->cfg.max_batch_entries,
		       "%u entries in one request", m->u.append.n_entries);
		for (i = 0; i < m->u.append.n_entries; i++) {
			uint64_t idx = m->u.append.prev_index + 1 + i;
			const struct raft_entry *e = raft_entry_at(r, idx);
			ENSURE(e != NULL &&
				   entries_equal(e, &m->u.append.entries[i]),
			       "sends entry %llu not as in its log",
			       (unsigned long long)idx);
		}
		break;
	case RAFT_MSG_APPEND_RESP:
		ENSURE(m->term == a->term, "answers in term %llu, is in %llu",
		       (unsigned long long)m->term,
		       (unsigned long long)a->term);
		if (m->u.append_resp.success)
			ENSURE(m->u.append_resp.match_index <= a->last,
			       "acknowledges %llu holding %llu",
			       (unsigned long long)m->u.append_resp.match_index,
			       (unsigned long long)a->last);
		break;
	case RAFT_MSG_SNAPSHOT:
		/* §7: the leader's latest snapshot, of committed entries. */
		ENSURE(a->role == RAFT_LEADER && m->term == a->term &&
			   m->u.snapshot.index == a->snapshot &&
			   m->u.snapshot.index <= a->commit &&
			   m->u.snapshot.index + 1 >= a->first &&
			   m->u.snapshot.term ==
			       snap_term(a, m->u.snapshot.index),
		       "InstallSnapshot (%llu, %llu) in term %llu as %s, "
		       "snapshot %llu, log from %llu, commit %llu",
		       (unsigned long long)m->u.snapshot.index,
		       (unsigned long long)m->u.snapshot.term,
		       (unsigned long long)m->term, raft_role_name(a->role),
		       (unsigned long long)a->snapshot,
		       (unsigned long long)a->first,
		       (unsigned long long)a->commit);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		ENSURE(m->term == a->term, "answers in term %llu, is in %llu",
		       (unsigned long long)m->term,
		       (unsigned long long)a->term);
		if (m->u.snapshot_resp.success)
			ENSURE(m->u.snapshot_resp.index <= a->commit,
			       "says it holds %llu with commit %llu",
			       (unsigned long long)m->u.snapshot_resp.index,
			       (unsigned long long)a->commit);
		break;
	}
	codec_roundtrip(m);
	if (sample_emit)
		sample_emit(m, sample_arg);
}

enum ev_kind { EV_RECV, EV_OTHER };

/* Whether raft_recv must refuse m in state b (raft.h: out of bounds, not
 * to us, not from another member, or a term too far ahead). */
static bool must_refuse(const struct core *c, const struct snap *b,
			const struct raft_msg *m)
{
	/* Requests are taken from any peer (thesis §4.1), answers from
	 * members only; a snapshot needs its configuration. */
	bool answer = m->type == RAFT_MSG_VOTE_RESP ||
		      m->type == RAFT_MSG_APPEND_RESP ||
		      m->type == RAFT_MSG_SNAPSHOT_RESP;
	return raft_msg_check(m) != NULL || m->to != c->r.cfg.id ||
	       m->from == 0 || m->from == c->r.cfg.id ||
	       (answer && !is_member(&c->r, m->from)) ||
	       (m->type == RAFT_MSG_SNAPSHOT && m->u.snapshot.conf == NULL) ||
	       (m->type == RAFT_MSG_TIMEOUT_NOW && m->term != b->term) ||
	       m->term > b->term + RAFT_MAX_TERM_JUMP;
}

/* Everything that must hold across one event of core c: b before, the
 * update `up` it produced. */
static void check_step(struct core *c, const struct snap *b,
		       const struct raft_update *up, enum ev_kind kind, int rv,
		       const struct raft_msg *in)
{
	const struct raft *r = &c->r;
	struct snap a;
	uint64_t i, lo, d;
	size_t k;

	fuzz_peer_events++;
	snap_take(&a, c);

	/* Terms: bounded, never back, no jump past the bound (one message
	 * may carry RAFT_MAX_TERM_JUMP, an election adds one more). */
	ENSURE(a.term <= RAFT_MAX_TERM, "term %llu",
	       (unsigned long long)a.term);
	ENSURE(a.term >= b->term, "term back from %llu to %llu",
	       (unsigned long long)b->term, (unsigned long long)a.term);
	ENSURE(a.term - b->term <= RAFT_MAX_TERM_JUMP + 1,
	       "term jumped from %llu to %llu", (unsigned long long)b->term,
	       (unsigned long long)a.term);
	/* §5.2: one vote per term. */
	ENSURE(a.term != b->term || b->vote == 0 || a.vote == b->vote,
	       "voted %u then %u in term %llu", b->vote, a.vote,
	       (unsigned long long)a.term);
	/* (A vote may go to a candidate the configuration does not list:
	 * thesis §4.1.) */
	ENSURE(a.role <= RAFT_LEADER, "role %d", (int)a.role);
	/* A leader's requests are taken from any sender (thesis §4.1: a
	 * joining server follows a leader it does not know yet). */
	ENSURE(a.leader == 0 || a.leader != r->cfg.id || a.role == RAFT_LEADER,
	       "follows %u", a.leader);
	ENSURE(a.role != RAFT_LEADER || a.leader == r->cfg.id,
	       "leader naming %u", a.leader);
	/* §5.2 Election Safety, as one node sees it: once it knows the
	 * leader of its term it never follows another in that term, and a
	 * leader stays leader of its term whatever it receives (only its
	 * own CheckQuorum, on a tick, steps it down). */
	ENSURE(a.term != b->term || b->term_leader == 0 ||
		   a.term_leader == b->term_leader,
	       "leader of term %llu was %u, now %u", (unsigned long long)a.term,
	       b->term_leader, a.term_leader);
	ENSURE(a.leader == 0 || a.leader == a.term_leader,
	       "follows %u, term's leader %u", a.leader, a.term_leader);
	ENSURE(kind != EV_RECV || b->role != RAFT_LEADER || a.term != b->term ||
		   a.role == RAFT_LEADER,
	       "a message of its own term deposed the leader");
	ENSURE(a.role != RAFT_LEADER || b->role == RAFT_LEADER ||
		   b->role == RAFT_CANDIDATE || b->role == RAFT_PRECANDIDATE,
	       "leader from %s", raft_role_name(b->role));

	/* Commit: never back, never past the log; committed entries never
	 * change (§5.4 State Machine Safety, as one node can see it), those
	 * compacted away included: the log starts after the latest
	 * snapshot's index at the most, and within what is committed (§7). */
	ENSURE(a.commit >= b->commit, "commit back from %llu to %llu",
	       (unsigned long long)b->commit, (unsigned long long)a.commit);
	ENSURE(a.commit <= a.last, "commit %llu past the log (%llu)",
	       (unsigned long long)a.commit, (unsigned long long)a.last);
	ENSURE(a.first >= 1 && a.first - 1 <= a.snapshot &&
		   a.snapshot <= a.commit && a.first - 1 <= a.last,
	       "log from %llu to %llu, snapshot %llu, commit %llu",
	       (unsigned long long)a.first, (unsigned long long)a.last,
	       (unsigned long long)a.snapshot, (unsigned long long)a.commit);
	ENSURE(a.first >= b->first && a.snapshot >= b->snapshot,
	       "log start back from %llu to %llu, snapshot from %llu to %llu",
	       (unsigned long long)b->first, (unsigned long long)a.first,
	       (unsigned long long)b->snapshot, (unsigned long long)a.snapshot);
	lo = a.first > b->first ? a.first : b->first;
	for (i = lo; i <= b->commit && i <= a.last; i++)
		ENSURE(snap_hash(&a, i) == snap_hash(b, i),
		       "committed entry %llu changed", (unsigned long long)i);
	ENSURE(b->commit <= a.last || a.first > b->commit,
	       "committed entries up to %llu went (log %llu..%llu)",
	       (unsigned long long)b->commit, (unsigned long long)a.first,
	       (unsigned long long)a.last);

	/* §5.3: terms along a log never decrease, none is 0, none is above
	 * the node's term. */
	for (i = a.first; i <= a.last; i++) {
		uint64_t t = snap_term(&a, i), p = snap_term(&a, i - 1);
		ENSURE(t >= 1 && t <= a.term && (p == UINT64_MAX || t >= p),
		       "log term %llu at %llu (term %llu)",
		       (unsigned long long)t, (unsigned long long)i,
		       (unsigned long long)a.term);
	}

	/* Leader Append-Only (§5.3): while it leads a term, a node only
	 * appends, and only entries of that term.  (Nothing here compacts
	 * a leader's log: raft_snapshot_taken is no event.) */
	if (b->role == RAFT_LEADER && a.role == RAFT_LEADER &&
	    a.term == b->term) {
		ENSURE(up->truncate_from == 0 && a.last >= b->last &&
			   a.first == b->first && up->snapshot_index == 0,
		       "leader truncated or installed (from %llu, %llu -> "
		       "%llu, first %llu -> %llu)",
		       (unsigned long long)up->truncate_from,
		       (unsigned long long)b->last, (unsigned long long)a.last,
		       (unsigned long long)b->first,
		       (unsigned long long)a.first);
		for (i = b->first; i <= b->last; i++)
			ENSURE(snap_hash(&a, i) == snap_hash(b, i),
			       "leader changed entry %llu",
			       (unsigned long long)i);
		for (i = b->last + 1; i <= a.last; i++)
			ENSURE(snap_term(&a, i) == a.term,
			       "leader appended term %llu in term %llu",
			       (unsigned long long)snap_term(&a, i),
			       (unsigned long long)a.term);
	}

	/* The update describes the core exactly (raft.h): the caller
	 * persists only what it reports. */
	ENSURE(up->term == a.term && up->vote == a.vote &&
		   up->commit_index == a.commit && up->role == a.role &&
		   up->leader_id == a.leader,
	       "update differs from the core");
	ENSURE(up->commit_changed == (a.commit != b->commit) &&
		   up->role_changed == (a.role != b->role),
	       "commit_changed/role_changed wrong");
	ENSURE(up->hs_changed || (a.term == b->term && a.vote == b->vote),
	       "term/vote changed (%llu/%u -> %llu/%u) without hs_changed",
	       (unsigned long long)b->term, b->vote, (unsigned long long)a.term,
	       a.vote);
	if (up->snapshot_index != 0 || a.first != b->first) {
		/* An install (§7, Figure 13), of a snapshot received from
		 * the term's leader beyond what was committed here: the log
		 * starts after it and it is committed; the entries after it
		 * stay exactly when the log held it (step 6), nothing else
		 * changes in the log. */
		uint64_t x = up->snapshot_index;
		ENSURE(kind == EV_RECV && in != NULL &&
			   in->type == RAFT_MSG_SNAPSHOT && rv == 0,
		       "the log moved to %llu outside an install",
		       (unsigned long long)a.first);
		ENSURE(
		    x == in->u.snapshot.index &&
			up->snapshot_term == in->u.snapshot.term &&
			a.first == x + 1 &&
			a.offset_term == up->snapshot_term && a.snapshot == x &&
			a.commit == x && x > b->commit &&
			a.role == RAFT_FOLLOWER && a.leader == in->from,
		    "installed (%llu, %llu) from %u: log from %llu, "
		    "snapshot %llu, commit %llu (was %llu), %s of %u",
		    (unsigned long long)x,
		    (unsigned long long)up->snapshot_term, in->from,
		    (unsigned long long)a.first, (unsigned long long)a.snapshot,
		    (unsigned long long)a.commit, (unsigned long long)b->commit,
		    raft_role_name(a.role), a.leader);
		ENSURE(up->truncate_from == 0 && up->n_append == 0,
		       "an install truncated or appended");
		if (snap_term(b, x) == up->snapshot_term) {
			ENSURE(a.last == b->last,
			       "log ending at %llu kept up to %llu only",
			       (unsigned long long)b->last,
			       (unsigned long long)a.last);
			for (i = x + 1; i <= a.last; i++)
				ENSURE(snap_hash(&a, i) == snap_hash(b, i),
				       "entry %llu after the snapshot changed",
				       (unsigned long long)i);
		} else {
			ENSURE(a.last == x, "log not discarded (ends at %llu)",
			       (unsigned long long)a.last);
		}
		d = UINT64_MAX;
	} else {
		lo = a.last < b->last ? a.last : b->last;
		for (d = a.first;
		     d <= lo && snap_hash(&a, d) == snap_hash(b, d); d++)
			;
		/* d: the first index that differs, or lo + 1 */
		if (d <= b->last)
			ENSURE(up->truncate_from >= 1 && up->truncate_from <= d,
			       "entry %llu changed or went, truncate_from %llu",
			       (unsigned long long)d,
			       (unsigned long long)up->truncate_from);
		if (up->truncate_from != 0)
			ENSURE(up->truncate_from > b->commit &&
				   up->truncate_from <= b->last,
			       "truncate_from %llu (commit %llu, last %llu)",
			       (unsigned long long)up->truncate_from,
			       (unsigned long long)b->commit,
			       (unsigned long long)b->last);
		if (d <= a.last)
			ENSURE(up->n_append > 0 && up->append_first <= d,
			       "entries from %llu not reported as appended",
			       (unsigned long long)d);
		if (up->n_append > 0)
			ENSURE(up->append_first >= a.first &&
				   up->append_first + up->n_append - 1 ==
				       a.last,
			       "append %llu+%llu, log %llu..%llu",
			       (unsigned long long)up->append_first,
			       (unsigned long long)up->n_append,
			       (unsigned long long)a.first,
			       (unsigned long long)a.last);
	}

	for (k = 0; k < up->n_msgs; k++)
		check_sent(c, &a, &up->msgs[k]);
	for (k = 0; k < up->n_reads; k++)
		ENSURE(a.role == RAFT_LEADER && up->reads[k].index <= a.commit,
		       "read served at %llu (commit %llu) as %s",
		       (unsigned long long)up->reads[k].index,
		       (unsigned long long)a.commit, raft_role_name(a.role));

	if (kind == EV_RECV) {
		bool refuse = must_refuse(c, b, in);
		ENSURE((rv == RAFT_EINVAL) == refuse && (rv == 0 || refuse),
		       "raft_recv returned %d for a message it must %s", rv,
		       refuse ? "refuse" : "take");
	}
	/* A refused or dropped message (raft.h) changes nothing at all. */
	if (a.dropped != b->dropped) {
		ENSURE(kind == EV_RECV && a.dropped == b->dropped + 1,
		       "dropped %llu -> %llu", (unsigned long long)b->dropped,
		       (unsigned long long)a.dropped);
		ENSURE(a.term == b->term && a.vote == b->vote &&
			   a.role == b->role && a.leader == b->leader &&
			   a.commit == b->commit && a.last == b->last &&
			   a.first == b->first && a.snapshot == b->snapshot &&
			   d > a.last,
		       "a dropped message changed the core");
		ENSURE(up->n_msgs == 0 && !up->hs_changed &&
			   up->truncate_from == 0 && up->n_append == 0 &&
			   up->snapshot_index == 0 && up->n_reads == 0 &&
			   up->n_reads_failed == 0,
		       "a dropped message produced work");
	} else {
		ENSURE(rv != RAFT_EINVAL, "refused without counting it");
	}
	if (c->have_prev)
		snap_free(&c->prev);
	snap_move(&c->prev, &a);
	c->have_prev = true;
}

static int ev_recv(struct core *c, const struct raft_msg *m0)
{
	static struct raft_conf conf;
	struct raft_msg fm = *m0, *m = &fm;
	struct snap b;
	int rv;

	/* The wire does not carry a snapshot's configuration: the receiving
	 * shell fills it in from the snapshot it received (raft.h), here the
	 * receiver's own. */
	if (m->type == RAFT_MSG_SNAPSHOT && m->u.snapshot.conf == NULL) {
		conf = *raft_conf(&c->r);
		fm.u.snapshot.conf = &conf;
	}
	cur_event = "recv";
	snap_before(c, &b);
	rv = raft_recv(&c->r, c->now, m);
	check_step(c, &b, raft_update_take(&c->r), EV_RECV, rv, m);
	snap_free(&b);
	return rv;
}

static void ev_tick(struct core *c, uint64_t dt)
{
	struct snap b;

	cur_event = "tick";
	c->now += dt;
	snap_before(c, &b);
	raft_tick(&c->r, c->now);
	check_step(c, &b, raft_update_take(&c->r), EV_OTHER, 0, NULL);
	snap_free(&b);
}

/* The caller's disk caught up with the whole log. */
static void ev_persisted(struct core *c)
{
	struct snap b;
	uint64_t last = raft_last_index(&c->r);

	cur_event = "persisted";
	snap_before(c, &b);
	raft_persisted(&c->r, c->now, last, raft_term_at(&c->r, last));
	check_step(c, &b, raft_update_take(&c->r), EV_OTHER, 0, NULL);
	snap_free(&b);
}

static void ev_propose(struct core *c, uint32_t n)
{
	struct snap b;
	uint64_t index, term;
	uint8_t buf[24];
	uint32_t i;
	int rv;

	cur_event = "propose";
	for (i = 0; i < n; i++) {
		snprintf((char *)buf, sizeof(buf), "cmd %u at %llu", i,
			 (unsigned long long)c->now);
		snap_before(c, &b);
		rv = raft_propose(&c->r, c->now, RAFT_ENTRY_COMMAND, buf,
				  (uint32_t)strlen((char *)buf), &index, &term);
		check_step(c, &b, raft_update_take(&c->r), EV_OTHER, 0, NULL);
		ENSURE((rv == 0) == (b.role == RAFT_LEADER),
		       "propose: %d as %s", rv, raft_role_name(b.role));
		if (rv == 0)
			ENSURE(index == b.last + 1 && term == b.term,
			       "proposal at (%llu, %llu)",
			       (unsigned long long)index,
			       (unsigned long long)term);
		snap_free(&b);
	}
}

static void ev_read(struct core *c, uint64_t id)
{
	struct snap b;
	int rv;

	cur_event = "read";
	snap_before(c, &b);
	rv = raft_read(&c->r, c->now, id);
	check_step(c, &b, raft_update_take(&c->r), EV_OTHER, 0, NULL);
	ENSURE((rv == 0) == (b.role == RAFT_LEADER), "read: %d as %s", rv,
	       raft_role_name(b.role));
	snap_free(&b);
}

/* Sets up core `id` of an n-node cluster (ids 1..n) with a hard state and
 * a log of the given terms, and starts it.  Each run of a term begins
 * with a no-op, as a leader's term does (§8). */
/* core_start's options (the rest is the same for every core). */
enum {
	C_PREVOTE = 1,	 /* thesis §9.6 */
	C_NO_QUORUM = 2, /* without CheckQuorum (thesis §6.2) */
	C_FULL_ONLY = 4, /* pipeline_full_only */
};

/* `snap`: NULL, or the stored log's base index and term and the latest
 * snapshot's index and term (raft_load_snapshot); the log's terms then
 * start at base + 1. */
static void core_start(struct core *c, const char *name, uint32_t id,
		       uint32_t n, unsigned opts, uint64_t term, uint32_t vote,
		       const uint64_t *terms, size_t n_terms,
		       const uint64_t *snap)
{
	struct raft_config cfg;
	struct snap b;
	uint8_t buf[32];
	uint32_t i;
	size_t k;

	cur_core = name;
	cur_event = "start";
	memset(&cfg, 0, sizeof(cfg));
	cfg.id = id;
	cfg.n_nodes = n;
	for (i = 0; i < n; i++)
		cfg.nodes[i] = i + 1;
	cfg.election_min_ms = 150;
	cfg.election_max_ms = 300;
	cfg.heartbeat_ms = 50;
	cfg.max_batch_entries = 4;
	cfg.max_batch_bytes = 256;
	cfg.max_inflight = 4;
	cfg.seed = 0xF00D + id;
	cfg.prevote = (opts & C_PREVOTE) != 0;
	cfg.check_quorum = (opts & C_NO_QUORUM) == 0;
	cfg.pipeline_full_only = (opts & C_FULL_ONLY) != 0;
	c->name = name;
	c->now = T0;
	c->have_prev = false;
	ENSURE(raft_init(&c->r, &cfg) == 0, "raft_init");
	ENSURE(raft_load_hard_state(&c->r, term, vote) == 0, "hard state");
	if (snap != NULL)
		ENSURE(raft_load_snapshot(&c->r, snap[0], snap[1], snap[2],
					  snap[3], NULL) == 0,
		       "load snapshot");
	for (k = 0; k < n_terms; k++) {
		bool noop = k == 0 || terms[k] != terms[k - 1];
		int len =
		    snprintf((char *)buf, sizeof(buf), "entry %zu of term %llu",
			     k + 1, (unsigned long long)terms[k]);
		ENSURE(
		    raft_load_entry(&c->r, terms[k],
				    noop ? RAFT_ENTRY_NOOP : RAFT_ENTRY_COMMAND,
				    buf, noop ? 0 : (uint32_t)len) == 0,
		    "load entry %zu", k + 1);
	}
	snap_before(c, &b);
	raft_start(&c->r, c->now);
	check_step(c, &b, raft_update_take(&c->r), EV_OTHER, 0, NULL);
	snap_free(&b);
}

static struct raft_msg mk_append(uint32_t from, uint32_t to, uint64_t term,
				 uint64_t prev, uint64_t prev_term,
				 uint64_t commit, uint64_t seq,
				 struct raft_entry *e, uint32_t n)
{
	struct raft_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND;
	m.from = from;
	m.to = to;
	m.term = term;
	m.u.append.prev_index = prev;
	m.u.append.prev_term = prev_term;
	m.u.append.leader_commit = commit;
	m.u.append.seq = seq;
	m.u.append.entries = e;
	m.u.append.n_entries = n;
	return m;
}

static struct raft_msg mk_append_resp(uint32_t from, uint32_t to, uint64_t term,
				      bool ok, uint64_t prev, uint64_t match,
				      uint64_t ct, uint64_t ci, uint64_t last,
				      uint64_t seq)
{
	struct raft_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND_RESP;
	m.from = from;
	m.to = to;
	m.term = term;
	m.u.append_resp.success = ok;
	m.u.append_resp.prev_index = prev;
	m.u.append_resp.match_index = match;
	m.u.append_resp.conflict_term = ct;
	m.u.append_resp.conflict_index = ci;
	m.u.append_resp.last_log_index = last;
	m.u.append_resp.seq = seq;
	return m;
}

static struct raft_msg mk_vote_resp(uint32_t from, uint32_t to, uint64_t term,
				    bool prevote, bool granted)
{
	struct raft_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_VOTE_RESP;
	m.from = from;
	m.to = to;
	m.term = term;
	m.u.vote_resp.prevote = prevote;
	m.u.vote_resp.granted = granted;
	return m;
}

static struct raft_msg mk_vote(uint32_t from, uint32_t to, uint64_t term,
			       bool prevote, uint64_t last, uint64_t last_term)
{
	struct raft_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_VOTE;
	m.from = from;
	m.to = to;
	m.term = term;
	m.u.vote.prevote = prevote;
	m.u.vote.last_log_index = last;
	m.u.vote.last_log_term = last_term;
	return m;
}

static void expect(const struct core *c, enum raft_role role, uint64_t term,
		   uint64_t commit, uint64_t last)
{
	ENSURE(raft_role(&c->r) == role && raft_term(&c->r) == term &&
		   raft_commit_index(&c->r) == commit &&
		   raft_last_index(&c->r) == last,
	       "built %s term %llu commit %llu last %llu",
	       raft_role_name(raft_role(&c->r)),
	       (unsigned long long)raft_term(&c->r),
	       (unsigned long long)raft_commit_index(&c->r),
	       (unsigned long long)raft_last_index(&c->r));
}

/* The leader's log of term 5 that most states share (and the corpus's
 * frames refer to). */
static const uint64_t log5[] = {1, 1, 2, 3, 3, 5, 5};
#define N_LOG5 (sizeof(log5) / sizeof(log5[0]))

/* n1 of 5 follows n2 in term 5; it holds 8 entries, 7 committed. */
static void build_follower(struct core *c)
{
	struct raft_entry e = {5, RAFT_ENTRY_COMMAND, 3, (uint8_t *)"set"};
	struct raft_msg m;

	core_start(c, "follower", 1, 5, C_PREVOTE, 5, 2, log5, N_LOG5, NULL);
	m = mk_append(2, 1, 5, 7, 5, 5, 3, NULL, 0);
	ev_recv(c, &m);
	m = mk_append(2, 1, 5, 7, 5, 7, 4, &e, 1);
	ev_recv(c, &m);
	ev_persisted(c);
	expect(c, RAFT_FOLLOWER, 5, 7, 8);
	ENSURE(raft_leader(&c->r) == 2, "follows %u", raft_leader(&c->r));
}

/* n3 of 5 restarted in term 6 with a tail of term 4 that conflicts with
 * log5 from index 5; it knows no leader and nothing committed. */
static void build_restarted(struct core *c)
{
	static const uint64_t t[] = {1, 1, 2, 3, 4, 4, 4, 4};

	core_start(c, "restarted", 3, 5, C_PREVOTE, 6, 3, t, 8, NULL);
	expect(c, RAFT_FOLLOWER, 6, 0, 8);
}

/* n4 of 5 asks for prevotes for term 6; one granted so far. */
static void build_precandidate(struct core *c)
{
	struct raft_msg m;

	core_start(c, "precandidate", 4, 5, C_PREVOTE, 5, 0, log5, N_LOG5 - 1,
		   NULL);
	ev_tick(c, 301);
	m = mk_vote_resp(1, 4, 6, true, true);
	ev_recv(c, &m);
	expect(c, RAFT_PRECANDIDATE, 5, 0, 6);
}

/* n5 of 5 campaigns in term 6 (no PreVote, no CheckQuorum): one vote
 * granted, one refused, two to come. */
static void build_candidate(struct core *c)
{
	struct raft_msg m;

	core_start(c, "candidate", 5, 5, C_NO_QUORUM, 5, 0, log5, N_LOG5, NULL);
	ev_tick(c, 301);
	m = mk_vote_resp(1, 5, 6, false, true);
	ev_recv(c, &m);
	m = mk_vote_resp(2, 5, 6, false, false);
	ev_recv(c, &m);
	expect(c, RAFT_CANDIDATE, 6, 0, 7);
}

/* n2 of 5 leads term 6: n1 and n5 acknowledged its no-op (committed) and
 * get three more entries pipelined (REPLICATE); n3 refused with a
 * conflict hint and is probed from index 5 (PROBE); n4 never answered
 * (PROBE, request out).  A read waits for its heartbeat round. */
static void build_leader(struct core *c)
{
	struct raft_msg m;

	core_start(c, "leader", 2, 5, 0, 5, 0, log5, N_LOG5, NULL);
	ev_tick(c, 301);
	m = mk_vote_resp(1, 2, 6, false, true);
	ev_recv(c, &m);
	m = mk_vote_resp(3, 2, 6, false, true);
	ev_recv(c, &m);
	expect(c, RAFT_LEADER, 6, 0, 8);
	m = mk_append_resp(1, 2, 6, true, 7, 8, 0, 0, 8, 0);
	ev_recv(c, &m);
	m = mk_append_resp(3, 2, 6, false, 7, 0, 4, 5, 8, 0);
	ev_recv(c, &m);
	ev_persisted(c);
	m = mk_append_resp(5, 2, 6, true, 7, 8, 0, 0, 8, 0);
	ev_recv(c, &m);
	ev_propose(c, 3);
	ev_persisted(c);
	ev_read(c, 77);
	expect(c, RAFT_LEADER, 6, 8, 11);
}

/* n1 of 3 has just won term 4 (after a PreVote round): its no-op is not
 * committed yet, so a read waits for the leader's first commit.  It
 * pipelines only full batches (raftd's setting). */
static void build_leader3(struct core *c)
{
	static const uint64_t t[] = {1, 2, 3};
	struct raft_msg m;

	core_start(c, "leader-of-3", 1, 3, C_PREVOTE | C_FULL_ONLY, 3, 0, t, 3,
		   NULL);
	ev_tick(c, 301);
	m = mk_vote_resp(2, 1, 4, true, true);
	ev_recv(c, &m);
	m = mk_vote_resp(3, 1, 4, false, true);
	ev_recv(c, &m);
	ev_persisted(c);
	ev_read(c, 5);
	expect(c, RAFT_LEADER, 4, 0, 4);
}

/* n3 of 3 at the top of the term space: its log ends in term
 * RAFT_MAX_TERM - 1 above its hard state's (lost, so raft_start adopts
 * it), and it wins RAFT_MAX_TERM, the last term there is. */
static void build_top(struct core *c)
{
	static const uint64_t t[] = {1, 2, RAFT_MAX_TERM - 1};
	struct raft_msg m;

	core_start(c, "top-term", 3, 3, C_PREVOTE, RAFT_MAX_TERM - 2, 0, t, 3,
		   NULL);
	ev_tick(c, 301);
	m = mk_vote_resp(1, 3, RAFT_MAX_TERM, true, true);
	ev_recv(c, &m);
	m = mk_vote_resp(2, 3, RAFT_MAX_TERM, false, true);
	ev_recv(c, &m);
	ev_persisted(c);
	expect(c, RAFT_LEADER, RAFT_MAX_TERM, 0, 4);
}

/* The core has no prev snapshot: the next event takes a fresh one (after
 * a change that is no event, raft_snapshot_taken). */
static void forget_prev(struct core *c)
{
	if (c->have_prev)
		snap_free(&c->prev);
	c->have_prev = false;
}

/* n2 of 3 restarted from a snapshot up to (6, 2) with its stored log
 * compacted up to (4, 2) and entries 5..8 of terms 2, 2, 3, 3; it wins
 * term 4 (no PreVote), n1 acknowledges its no-op (9, committed), it
 * snapshots that and compacts up to 7 (§7).  n3 refuses with a log
 * ending at 3, which the log no longer reaches: n3 waits for a snapshot
 * (RAFT_PROGRESS_SNAPSHOT). */
static void build_compacted(struct core *c)
{
	static const uint64_t t[] = {2, 2, 3, 3};
	static const uint64_t snap[] = {4, 2, 6, 2};
	struct raft_msg m;
	uint32_t i;

	core_start(c, "compacted", 2, 3, 0, 3, 0, t, 4, snap);
	expect(c, RAFT_FOLLOWER, 3, 6, 8);
	ev_tick(c, 301);
	m = mk_vote_resp(1, 2, 4, false, true);
	ev_recv(c, &m);
	ev_persisted(c);
	m = mk_append_resp(1, 2, 4, true, 8, 9, 0, 0, 9, 0);
	ev_recv(c, &m);
	expect(c, RAFT_LEADER, 4, 9, 9);
	ENSURE(raft_snapshot_taken(&c->r, 9, 7) == 0, "snapshot taken");
	forget_prev(c);
	m = mk_append_resp(3, 2, 4, false, 8, 0, 0, 4, 3, 0);
	ev_recv(c, &m);
	for (i = 0; i < c->r.cfg.n_nodes; i++)
		if (c->r.progress[i].id == 3)
			ENSURE(c->r.progress[i].state == RAFT_PROGRESS_SNAPSHOT,
			       "n3 not waiting for a snapshot");
	ENSURE(raft_first_index(&c->r) == 8 && raft_snapshot_index(&c->r) == 9,
	       "log from %llu, snapshot %llu",
	       (unsigned long long)raft_first_index(&c->r),
	       (unsigned long long)raft_snapshot_index(&c->r));
}

static void (*const builders[])(struct core *c) = {
    build_follower, build_restarted, build_precandidate, build_candidate,
    build_leader,   build_leader3,   build_top,		 build_compacted,
};
#define N_BUILDERS (sizeof(builders) / sizeof(builders[0]))

static void core_close(struct core *c)
{
	if (c->have_prev)
		snap_free(&c->prev);
	c->have_prev = false;
	raft_close(&c->r);
	cur_core = "-";
}

/* Another member than c itself, chosen by `from` (so the fuzzer picks). */
static uint32_t member_for(const struct core *c, uint32_t from)
{
	uint32_t n = c->r.cfg.n_nodes, id = 1 + from % n;

	return id == c->r.cfg.id ? 1 + id % n : id;
}

/* m as it came, then from a member to c, then that at c's own term;
 * time passes (a heartbeat is due) and c gets work, so that what the
 * message left behind is acted on; then m at the next term, which
 * deposes a leader, and time again (an election timeout, CheckQuorum,
 * and the deposed leader's election timeout). */
static void feed(struct core *c, const struct raft_msg *m)
{
	struct raft_msg v = *m; /* entries borrowed: raft_recv only reads */

	ev_recv(c, &v);
	v.from = member_for(c, m->from);
	v.to = c->r.cfg.id;
	ev_recv(c, &v);
	v.term = raft_term(&c->r);
	ev_recv(c, &v);
	ev_persisted(c);
	ev_tick(c, 50);
	ev_propose(c, 1);
	ev_read(c, 99);
	ev_persisted(c);
	v.term = raft_term(&c->r) + 1;
	ev_recv(c, &v);
	ev_tick(c, 50);
	ev_tick(c, 400);
	ev_persisted(c);
	ev_tick(c, 400); /* a leader unheard of since: CheckQuorum */
	ev_tick(c, 400); /* and, deposed, its election timeout */
}

/* ---- peerauth ----------------------------------------------------------- */

static const char label_request[] = "raftd-peer-request-v1";
static const char label_response[] = "raftd-peer-response-v1";

static void put_u64(uint8_t *p, uint64_t x)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t x = 0;
	int i;

	for (i = 7; i >= 0; i--)
		x = (x << 8) | p[i];
	return x;
}

/* The MAC peerauth.h specifies, computed here on its own: HMAC-SHA256
 * keyed with the secret over the label (with its NUL) and the bytes. */
static void oracle_mac(const char *label, const uint8_t *data, size_t len,
		       uint8_t out[PEERAUTH_MAC_SIZE])
{
	static struct hmac_sha256_ctx keyed;
	static bool have_key;
	struct hmac_sha256_ctx ctx;

	if (!have_key) {
		hmac_sha256_set_key(&keyed, strlen(FUZZ_PEER_SECRET),
				    (const uint8_t *)FUZZ_PEER_SECRET);
		have_key = true;
	}
	ctx = keyed;
	hmac_sha256_update(&ctx, strlen(label) + 1, (const uint8_t *)label);
	hmac_sha256_update(&ctx, len, data);
	hmac_sha256_digest(&ctx, PEERAUTH_MAC_SIZE, out);
}

/* Whether the frame ends in a trailer whose MAC is right for label. */
static bool oracle_ok(const char *label, const uint8_t *data, size_t len)
{
	uint8_t mac[PEERAUTH_MAC_SIZE];

	if (len < PEERAUTH_TRAILER_SIZE)
		return false;
	oracle_mac(label, data, len - PEERAUTH_MAC_SIZE, mac);
	return memcmp(mac, data + len - PEERAUTH_MAC_SIZE, PEERAUTH_MAC_SIZE) ==
	       0;
}

/* Writes a request trailer for (epoch, seq, time) at frame + body. */
static void oracle_sign(uint8_t *frame, size_t body, uint64_t epoch,
			uint64_t seq, uint64_t time_ms)
{
	put_u64(frame + body, epoch);
	put_u64(frame + body + 8, seq);
	put_u64(frame + body + 16, time_ms);
	oracle_mac(label_request, frame, body + 24, frame + body + 24);
}

static bool skewed(uint64_t t, uint64_t now)
{
	return t > now ? t - now > PEERAUTH_MAX_SKEW_MS
		       : now - t > PEERAUTH_MAX_SKEW_MS;
}

/* The raw input as a request and as an answer. */
static void auth_raw(struct peerauth *good, struct peerauth *bad,
		     const uint8_t *data, size_t size, uint32_t from)
{
	struct peerauth_tag tag, want = {0, 0};
	uint64_t t = 0, now;
	bool req_ok = oracle_ok(label_request, data, size);
	bool resp_ok = oracle_ok(label_response, data, size);
	int rv, k;

	if (size >= PEERAUTH_TRAILER_SIZE) {
		want.epoch = get_u64(data + size - PEERAUTH_TRAILER_SIZE);
		want.seq = get_u64(data + size - PEERAUTH_TRAILER_SIZE + 8);
		t = get_u64(data + size - PEERAUTH_TRAILER_SIZE + 16);
	}
	/* The receiver's clock: the frame's own time, unless that is so
	 * close to 2^64 that peerauth's window arithmetic would wrap. */
	now = t < UINT64_MAX - 2 * PEERAUTH_MAX_SKEW_MS ? t : FUZZ_PEER_TIME_MS;
	for (k = 0; k < 2; k++) {
		bool ht = k == 1;
		rv = peerauth_verify_request(bad, from, now, data, size, ht,
					     &tag);
		ENSURE(rv != PEERAUTH_OK, "verified with the wrong key");
		rv = peerauth_verify_response(bad, &want, data, size, ht);
		ENSURE(rv != PEERAUTH_OK, "answer verified with the wrong key");
		rv = peerauth_verify_response(good, &want, data, size, ht);
		ENSURE((rv == PEERAUTH_OK) == (ht && resp_ok),
		       "answer: verify %d, oracle %d", rv, ht && resp_ok);
		if (rv == PEERAUTH_OK) {
			struct peerauth_tag other = want;
			other.seq++;
			rv = peerauth_verify_response(good, &other, data, size,
						      true);
			ENSURE(rv == PEERAUTH_EMISMATCH,
			       "answer bound to another request: %d", rv);
		}
		rv = peerauth_verify_request(good, from, now, data, size, ht,
					     &tag);
		if (!ht || !req_ok) {
			ENSURE(rv == PEERAUTH_EMISSING || rv == PEERAUTH_EMAC,
			       "request without a valid MAC: %d", rv);
			continue;
		}
		/* A sender's first frame opens its window only with a
		 * time after 0 (a new epoch must follow the newest one's
		 * first frame, and a fresh sender's is 0). */
		if (want.seq == 0 || skewed(t, now) || t == 0) {
			ENSURE(rv != PEERAUTH_OK,
			       "seq 0, skew or time 0 accepted");
			continue;
		}
		ENSURE(rv == PEERAUTH_OK && tag.epoch == want.epoch &&
			   tag.seq == want.seq,
		       "a valid request refused: %d", rv);
		rv = peerauth_verify_request(good, from, now, data, size, ht,
					     &tag);
		ENSURE(rv == PEERAUTH_EREPLAY, "replay accepted: %d", rv);
	}
}

/* Signing and verifying round-trip over the input's bytes as a body, and
 * one flipped bit (chosen by the input) breaks it. */
static void auth_roundtrip(struct peerauth *good, const uint8_t *data,
			   size_t size, uint64_t h, uint32_t from)
{
	size_t body = size < 512 ? size : 512,
	       len = body + PEERAUTH_TRAILER_SIZE;
	uint8_t *f = xmalloc(len);
	struct peerauth_tag tag, got, other;
	size_t bit = (size_t)(h % (len * 8));
	int rv;

	if (body > 0)
		memcpy(f, data, body);
	peerauth_sign_request(good, 3, FUZZ_PEER_TIME_MS, f, body, &tag);
	rv = peerauth_verify_request(good, from, FUZZ_PEER_TIME_MS, f, len,
				     true, &got);
	ENSURE(rv == PEERAUTH_OK && got.epoch == tag.epoch &&
		   got.seq == tag.seq,
	       "own request refused: %d", rv);
	ENSURE(oracle_ok(label_request, f, len), "request MAC not HMAC");
	rv = peerauth_verify_request(good, from, FUZZ_PEER_TIME_MS, f, len,
				     true, &got);
	ENSURE(rv == PEERAUTH_EREPLAY, "own request replayed: %d", rv);
	f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	rv = peerauth_verify_request(good, from + 1, FUZZ_PEER_TIME_MS, f, len,
				     true, &got);
	ENSURE(rv != PEERAUTH_OK, "request verified with bit %zu flipped", bit);
	f[bit / 8] ^= (uint8_t)(1u << (bit % 8));

	peerauth_sign_response(good, &tag, FUZZ_PEER_TIME_MS, f, body);
	ENSURE(oracle_ok(label_response, f, len), "answer MAC not HMAC");
	rv = peerauth_verify_response(good, &tag, f, len, true);
	ENSURE(rv == PEERAUTH_OK, "own answer refused: %d", rv);
	other = tag;
	other.epoch ^= 1;
	rv = peerauth_verify_response(good, &other, f, len, true);
	ENSURE(rv == PEERAUTH_EMISMATCH, "answer to another request: %d", rv);
	f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	rv = peerauth_verify_response(good, &tag, f, len, true);
	ENSURE(rv != PEERAUTH_OK, "answer verified with bit %zu flipped", bit);
	free(f);
}

/* The replay windows (peerauth.h) as a model: a window per epoch of the
 * sender, at most PEERAUTH_EPOCHS of them, a new epoch taking the place
 * of the one that accepted least recently; per window, the highest seq
 * accepted and every seq accepted.  A seq is accepted once, if it is not
 * 0 and not PEERAUTH_WINDOW or more below the highest; the first seq of
 * an epoch opens its window, if its time follows the first frame of the
 * newest epoch before it (an older incarnation never gets one back). */
struct wmodel {
	bool used;
	uint64_t epoch;
	uint64_t top;
	uint64_t last_ms;
	uint64_t seen[32];
	size_t n_seen;
};

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* A seq near the window's top (or anything), as the input decides. */
static uint64_t pick_seq(uint64_t *s, uint64_t r, const struct wmodel *w)
{
	uint64_t base = w ? w->top : 1000, k = (r >> 32) % 3;

	switch ((r >> 8) % 14) {
	case 0:
		return base + 1 + k;
	case 1:
		return base - k;
	case 2:
		return base - (PEERAUTH_WINDOW - 1);
	case 3:
		return base - PEERAUTH_WINDOW;
	case 4:
		return base + PEERAUTH_WINDOW - 1;
	case 5:
		return base + PEERAUTH_WINDOW;
	case 6:
		return base + 100000;
	case 7:
		return 0;
	case 8:
		return UINT64_MAX;
	case 9:
		return base - 63 - k;
	case 10:
		return base - 127 - k;
	case 11:
		return w && w->n_seen ? w->seen[(r >> 32) % w->n_seen] : base;
	case 12:
		return mix(s);
	default:
		return base + 64 + k;
	}
}

static void auth_window(struct peerauth *good, uint64_t h, uint32_t from)
{
	static const uint64_t epochs[] = {1, 2, 0x5EED, UINT64_MAX, 7, 0};
	struct wmodel mdl[PEERAUTH_EPOCHS], *w;
	uint8_t f[WIRE_HEADER_SIZE + PEERAUTH_TRAILER_SIZE];
	struct peerauth_tag tag;
	uint64_t s = h, now = FUZZ_PEER_TIME_MS;
	/* The time of the first frame of the newest epoch: a new epoch is
	 * admitted only with a later one. */
	uint64_t newest_first = 0;
	int op, rv;

	memset(mdl, 0, sizeof(mdl));
	memset(f, 0, sizeof(f));
	f[0] = WIRE_VERSION;
	f[1] = RAFT_MSG_VOTE_RESP;
	f[2] = WIRE_FLAG_AUTH;
	for (op = 0; op < 10; op++) {
		uint64_t r = mix(&s), epoch, seq, t;
		bool ok;
		size_t i;

		/* Mostly the first four epochs; now and then a fifth or
		 * sixth, which evicts one. */
		epoch = epochs[(r & 0xff) < 224 ? r % 4 : 4 + r % 2];
		for (w = NULL, i = 0; i < PEERAUTH_EPOCHS; i++)
			if (mdl[i].used && mdl[i].epoch == epoch)
				w = &mdl[i];
		seq = pick_seq(&s, r, w);
		now++; /* so that "least recently" is never a tie */
		t = now;
		if ((r >> 16) % 8 == 0)
			t = now + PEERAUTH_MAX_SKEW_MS + 1;
		else if ((r >> 16) % 8 == 1)
			t = now - PEERAUTH_MAX_SKEW_MS - 1;
		oracle_sign(f, WIRE_HEADER_SIZE, epoch, seq, t);
		rv = peerauth_verify_request(good, from, now, f, sizeof(f),
					     true, &tag);
		if (skewed(t, now)) {
			ENSURE(rv == PEERAUTH_ESKEW, "skew: %d", rv);
			continue;
		}
		if (seq == 0)
			ok = false;
		else if (w == NULL)
			ok = t > newest_first;
		else if (seq > w->top)
			ok = true;
		else if (w->top - seq >= PEERAUTH_WINDOW)
			ok = false;
		else
			for (ok = true, i = 0; i < w->n_seen; i++)
				if (w->seen[i] == seq)
					ok = false;
		ENSURE((rv == PEERAUTH_OK) == ok &&
			   (ok || rv == PEERAUTH_EREPLAY),
		       "window: epoch %llu seq %llu top %llu: %d, model %d",
		       (unsigned long long)epoch, (unsigned long long)seq,
		       (unsigned long long)(w ? w->top : 0), rv, ok);
		if (!ok)
			continue;
		if (w == NULL) {
			/* An unused window, else the least recently used. */
			for (w = &mdl[0], i = 0; i < PEERAUTH_EPOCHS; i++)
				if (!mdl[i].used ||
				    (w->used && mdl[i].last_ms < w->last_ms))
					w = &mdl[i];
			memset(w, 0, sizeof(*w));
			w->used = true;
			w->epoch = epoch;
			w->top = seq;
			newest_first = t;
		}
		if (seq > w->top)
			w->top = seq;
		w->last_ms = now;
		if (w->n_seen < sizeof(w->seen) / sizeof(w->seen[0]))
			w->seen[w->n_seen++] = seq;
	}
}

/* The contexts: `bad` has another key (its state never changes: no
 * frame gets past its MAC check); `good` is the cluster's.  Every input
 * gets senders `good` has never seen, so that it meets fresh replay
 * windows, as with a new context; a new context (40 KiB to clear, slow
 * under ASan) is made only when the senders would run out. */
static struct peerauth *good, *bad, *insecure;
static uint32_t next_sender = PEERAUTH_MAX_PEERS;

/* Without a secret (insecure = true) nothing is signed or checked. */
static void auth_insecure(const uint8_t *data, size_t size)
{
	struct peerauth_tag tag = {1, 1};
	uint8_t f[WIRE_HEADER_SIZE + PEERAUTH_TRAILER_SIZE];
	size_t n = size < WIRE_HEADER_SIZE ? size : WIRE_HEADER_SIZE;
	bool flag = size > 2 && (data[2] & WIRE_FLAG_AUTH);

	ENSURE(!peerauth_enabled(insecure) &&
		   peerauth_trailer_size(insecure) == 0,
	       "an insecure context signs");
	ENSURE(peerauth_verify_request(insecure, 1, 0, data, size, flag,
				       &tag) == PEERAUTH_OK &&
		   tag.epoch == 0 && tag.seq == 0 &&
		   peerauth_verify_response(insecure, &tag, data, size, flag) ==
		       PEERAUTH_OK,
	       "an insecure context refused a frame");
	memset(f, 0x5A, sizeof(f));
	if (n > 0)
		memcpy(f, data, n);
	peerauth_sign_request(insecure, 2, FUZZ_PEER_TIME_MS, f, n, &tag);
	peerauth_sign_response(insecure, &tag, FUZZ_PEER_TIME_MS, f, n);
	ENSURE(f[n] == 0x5A && f[sizeof(f) - 1] == 0x5A,
	       "an insecure context wrote a trailer");
}

static void fuzz_auth(const uint8_t *data, size_t size, uint64_t h)
{
	const char wrong[] = "not-" FUZZ_PEER_SECRET;
	uint32_t from;

	cur_core = "peerauth";
	cur_event = "verify";
	if (bad == NULL)
		ENSURE(peerauth_new(wrong, strlen(wrong), 7, &bad) == 0 &&
			   peerauth_new(NULL, 0, 9, &insecure) == 0,
		       "peerauth_new");
	if (next_sender + 4 > PEERAUTH_MAX_PEERS) {
		peerauth_free(good);
		ENSURE(peerauth_new(FUZZ_PEER_SECRET, strlen(FUZZ_PEER_SECRET),
				    FUZZ_PEER_EPOCH, &good) == 0,
		       "peerauth_new");
		next_sender = 0;
	}
	from = 1000 + next_sender;
	next_sender += 4;
	auth_raw(good, bad, data, size, from);
	cur_event = "sign";
	auth_roundtrip(good, data, size, h, from + 1);
	cur_event = "window";
	auth_window(good, h, from + 3);
	cur_event = "insecure";
	auth_insecure(data, size);
	cur_core = "-";
}

void fuzz_peer_sign(uint8_t *frame, size_t len)
{
	if (len >= PEERAUTH_TRAILER_SIZE)
		oracle_mac(label_request, frame, len - PEERAUTH_MAC_SIZE,
			   frame + len - PEERAUTH_MAC_SIZE);
}

/* ---- the entry point ---------------------------------------------------- */

/* A frame that decodes is in bounds and is the one encoding of its
 * message. */
static void check_decoded(const uint8_t *data, size_t size,
			  const struct raft_msg *m, bool auth)
{
	size_t body = size - (auth ? WIRE_AUTH_SIZE : 0);
	uint8_t *buf;

	cur_core = "wire";
	cur_event = "decode";
	ENSURE(raft_msg_check(m) == NULL && m->from != 0 && m->to != 0,
	       "decoded a message out of bounds");
	ENSURE(wire_body_size(m) == body, "body %zu bytes, sizes to %zu", body,
	       wire_body_size(m));
	buf = xmalloc(body);
	wire_encode(m, auth, buf);
	/* The header's cluster and incarnation are no part of the message:
	 * the sender's shell writes them after encoding (wire.h). */
	{
		struct wire_header h;
		const char *why = NULL;
		ENSURE(wire_peek(data, size, &h, &why) == 0,
		       "decoded a frame whose header does not peek: %s",
		       why ? why : "");
		wire_set_ident(buf, h.cluster, h.incarnation);
	}
	ENSURE(memcmp(buf, data, body) == 0, "encodes to other bytes");
	free(buf);
	cur_core = "-";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct raft_msg m;
	const char *why = NULL;
	bool auth = true;
	size_t i;

	fuzz_auth(data, size, fnv(FNV_INIT, data, size));
	if (wire_decode(data, size, &m, &auth, &why) != 0) {
		ENSURE(why != NULL && !auth, "refused without a reason");
		return 0;
	}
	fuzz_peer_decoded++;
	check_decoded(data, size, &m, auth);
	for (i = 0; i < N_BUILDERS; i++) {
		struct core c;
		builders[i](&c);
		feed(&c, &m);
		core_close(&c);
	}
	wire_msg_release(&m);
	return 0;
}

/* ---- for the corpus generator ------------------------------------------- */

void fuzz_peer_sample(void (*emit)(const struct raft_msg *m, void *arg),
		      void *arg)
{
	struct raft_msg m;
	struct core c;
	size_t i;

	sample_emit = emit;
	sample_arg = arg;
	for (i = 0; i < N_BUILDERS; i++) {
		builders[i](&c);
		core_close(&c);
	}
	/* Answers the builders do not provoke: a refused AppendEntries
	 * (conflict hint), votes granted and refused. */
	build_restarted(&c);
	m = mk_vote(2, 3, 7, true, 7, 5);
	ev_recv(&c, &m);
	m = mk_vote(2, 3, 7, false, 9, 6);
	ev_recv(&c, &m);
	m = mk_append(2, 3, 7, 7, 5, 5, 1, NULL, 0);
	ev_recv(&c, &m);
	core_close(&c);
	build_follower(&c);
	m = mk_vote(3, 1, 5, false, 8, 4);
	ev_recv(&c, &m);
	core_close(&c);
	/* InstallSnapshot's answers: refused (a stale term), installed. */
	build_follower(&c);
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_SNAPSHOT;
	m.from = 2;
	m.to = 1;
	m.term = 4;
	m.u.snapshot.index = 12;
	m.u.snapshot.term = 4;
	ev_recv(&c, &m);
	m.term = 5;
	m.u.snapshot.term = 5;
	ev_recv(&c, &m);
	core_close(&c);
	sample_emit = NULL;
	sample_arg = NULL;
}
