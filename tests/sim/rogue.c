/* rogue.c: a rogue member that forges messages the core must refuse or
 * that cannot break safety (rogue.h lists them and why these). */
#include "rogue.h"

#include <string.h>

/* What a forged entry carries: a proposal id no client ever uses, so
 * that such an entry would stand out anywhere (world.c reads a payload's
 * first 8 bytes as its proposal id). */
#define ROGUE_PID UINT64_C(0xBADBADBADBADBAD0)

static uint8_t payload[16];
static uint8_t too_big[RAFT_MAX_ENTRY_BYTES + 1];
static struct raft_entry ents[4];

/* What must not change when a forged message is refused or dropped. */
struct look {
	uint64_t term;
	uint32_t vote;
	enum raft_role role;
	uint32_t leader;
	uint32_t term_leader;
	uint64_t commit;
	uint64_t last;
	uint64_t last_term;
	uint64_t dropped;
	uint64_t msgs;
};

static void look_at(struct world *w, uint32_t id, struct look *l)
{
	const struct raft *r = world_node(w, id)->r;

	l->term = raft_term(r);
	l->vote = r->vote;
	l->role = raft_role(r);
	l->leader = raft_leader(r);
	l->term_leader = r->term_leader;
	l->commit = raft_commit_index(r);
	l->last = raft_last_index(r);
	l->last_term = raft_last_term(r);
	l->dropped = r->dropped_msgs;
	l->msgs = w->msgs_sent;
}

static uint64_t between(struct rng *g, uint64_t lo, uint64_t hi)
{
	return rng_range(g, lo, hi);
}

/* A member other than a and b, 0 if there is none. */
static uint32_t other_member(struct world *w, struct rng *g, uint32_t a,
			     uint32_t b)
{
	uint32_t c[WORLD_MAX_NODES], n = 0, id;

	for (id = 1; id <= w->n; id++)
		if (id != a && id != b)
			c[n++] = id;
	return n ? c[rng_below(g, n)] : 0;
}

/* n entries with terms non-decreasing from max(lo, 1) to hi: what a
 * leader's log may hold (§5.3). */
static struct raft_entry *make_entries(struct rng *g, uint32_t n, uint64_t lo,
				       uint64_t hi)
{
	uint64_t t = lo > 0 ? lo : 1;
	uint32_t i;

	for (i = 0; i < n; i++) {
		t = between(g, t, hi);
		ents[i].term = t;
		ents[i].type =
		    rng_below(g, 2) ? RAFT_ENTRY_COMMAND : RAFT_ENTRY_NOOP;
		ents[i].len = ents[i].type == RAFT_ENTRY_COMMAND
				  ? (uint32_t)between(g, 8, sizeof(payload))
				  : 0;
		ents[i].buf = payload;
	}
	return ents;
}

/* A message that passes raft_msg_check, from a member to `to`, of a
 * random type and the given term (>= 1), with fields near to's log. */
static void wellformed(struct world *w, struct rng *g, uint32_t to,
		       uint64_t term, struct raft_msg *m)
{
	const struct raft *r = world_node(w, to)->r;
	uint64_t last = raft_last_index(r);

	memset(m, 0, sizeof(*m));
	m->type =
	    (enum raft_msg_type)between(g, RAFT_MSG_VOTE, RAFT_MSG_TIMEOUT_NOW);
	m->from = other_member(w, g, to, to);
	m->to = to;
	m->term = term;
	switch (m->type) {
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	case RAFT_MSG_VOTE:
		m->u.vote.prevote = rng_below(g, 2);
		m->u.vote.last_log_index = between(g, 0, last + 3);
		m->u.vote.last_log_term =
		    m->u.vote.last_log_index ? between(g, 1, term) : 0;
		break;
	case RAFT_MSG_VOTE_RESP:
		m->u.vote_resp.prevote = rng_below(g, 2);
		m->u.vote_resp.granted = rng_below(g, 2);
		break;
	case RAFT_MSG_APPEND: {
		struct raft_msg_append *a = &m->u.append;
		a->prev_index = between(g, 0, last + 2);
		a->prev_term = a->prev_index ? between(g, 1, term) : 0;
		a->n_entries = (uint32_t)rng_below(g, 4);
		a->entries = make_entries(g, a->n_entries, a->prev_term, term);
		a->leader_commit = between(g, 0, last + 5);
		a->seq = between(g, 0, 100);
		break;
	}
	case RAFT_MSG_APPEND_RESP: {
		struct raft_msg_append_resp *a = &m->u.append_resp;
		a->success = rng_below(g, 2);
		a->prev_index = between(g, 0, last + 5);
		a->match_index = between(g, 0, last + 5);
		a->conflict_term = between(g, 0, term);
		a->conflict_index = between(g, 0, last + 5);
		a->last_log_index = between(g, 0, last + 5);
		a->seq = between(g, 0, 100);
		break;
	}
	case RAFT_MSG_SNAPSHOT:
		m->u.snapshot.index = between(g, 1, last + 5);
		m->u.snapshot.term = between(g, 1, term);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		m->u.snapshot_resp.success = rng_below(g, 2);
		m->u.snapshot_resp.index =
		    m->u.snapshot_resp.success ? between(g, 1, last + 5) : 0;
		break;
	}
}

/* Whether m asks the receiver to follow its sender: AppendEntries,
 * InstallSnapshot and TimeoutNow are taken from any sender (thesis §4.1:
 * a server joining must accept a leader it does not know yet). */
static bool leader_request(const struct raft_msg *m)
{
	return m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_SNAPSHOT ||
	       m->type == RAFT_MSG_TIMEOUT_NOW;
}

/* Breaks one bound of raft_msg_check in m (of the term near to's). */
static void out_of_bounds(struct rng *g, struct raft_msg *m)
{
	struct raft_msg_append *a = &m->u.append;
	struct raft_msg_append_resp *ar = &m->u.append_resp;
	static const uint64_t huge[] = {RAFT_MAX_TERM + 1, RAFT_MAX_TERM + 7,
					UINT64_C(0x7fffffffffffffff),
					UINT64_MAX};
	uint64_t big = huge[rng_below(g, 4)];

	if (rng_below(g, 5) == 0) {
		m->term = big; /* any type */
		return;
	}
	switch (m->type) {
	case RAFT_MSG_TIMEOUT_NOW:
		/* No body: only its term can be out of bounds. */
		m->term = rng_below(g, 2) ? 0 : big;
		break;
	case RAFT_MSG_VOTE:
		switch (rng_below(g, 5)) {
		case 0:
			m->u.vote.last_log_index = big;
			break;
		case 1:
			m->u.vote.last_log_term = m->term + between(g, 1, 5);
			m->u.vote.last_log_index |= 1;
			break;
		case 2:
			m->u.vote.last_log_index = 0;
			m->u.vote.last_log_term = 1;
			break;
		case 3:
			m->u.vote.last_log_index = between(g, 1, 9);
			m->u.vote.last_log_term = 0;
			break;
		default:
			m->term = 0;
			m->u.vote.last_log_index = 0;
			m->u.vote.last_log_term = 0;
			break;
		}
		break;
	case RAFT_MSG_VOTE_RESP:
		m->term = big;
		break;
	case RAFT_MSG_APPEND:
		/* One entry at least, of the message's term, for the entry
		 * cases; then break exactly one thing. */
		if (a->n_entries == 0) {
			a->n_entries = 1;
			a->entries = make_entries(g, 1, m->term, m->term);
		}
		switch (rng_below(g, 12)) {
		case 0:
			a->prev_index = big;
			break;
		case 1:
			a->leader_commit = big;
			break;
		case 2:
			a->n_entries = RAFT_MAX_MSG_ENTRIES + 1;
			a->entries = NULL;
			break;
		case 3:
			a->prev_index = RAFT_MAX_INDEX;
			a->prev_term = m->term;
			a->entries[0].term = m->term;
			break;
		case 4:
			a->prev_term = m->term + between(g, 1, 5);
			a->prev_index |= 1;
			break;
		case 5:
			a->prev_index = 0;
			a->prev_term = between(g, 1, m->term);
			break;
		case 6:
			a->entries[rng_below(g, a->n_entries)].term = 0;
			break;
		case 7:
			a->entries[a->n_entries - 1].term =
			    m->term + between(g, 1, 5);
			break;
		case 8:
			/* Below prev_term (or decreasing): needs term 2. */
			if (m->term < 2) {
				m->term = 0;
				break;
			}
			a->prev_index |= 1;
			a->prev_term = m->term;
			a->entries[0].term = m->term - 1;
			break;
		case 9:
			a->entries[rng_below(g, a->n_entries)].type =
			    (uint8_t)between(g, 2, 255);
			break;
		case 10:
			a->entries[0].len = RAFT_MAX_ENTRY_BYTES + 1;
			a->entries[0].buf = too_big;
			break;
		default:
			a->entries = NULL;
			break;
		}
		break;
	case RAFT_MSG_APPEND_RESP:
		switch (rng_below(g, 5)) {
		case 0:
			ar->prev_index = big;
			break;
		case 1:
			ar->match_index = big;
			break;
		case 2:
			ar->conflict_index = big;
			break;
		case 3:
			ar->last_log_index = big;
			break;
		default:
			ar->conflict_term = m->term + between(g, 1, 5);
			break;
		}
		break;
	case RAFT_MSG_SNAPSHOT:
		switch (rng_below(g, 5)) {
		case 0:
			m->u.snapshot.index = big;
			break;
		case 1:
			m->u.snapshot.index = 0;
			break;
		case 2:
			m->u.snapshot.term = 0;
			break;
		case 3:
			m->u.snapshot.term = m->term + between(g, 1, 5);
			break;
		default:
			m->term = 0;
			break;
		}
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		switch (rng_below(g, 3)) {
		case 0:
			m->u.snapshot_resp.index = big;
			break;
		case 1: /* success naming nothing */
			m->u.snapshot_resp.success = true;
			m->u.snapshot_resp.index = 0;
			break;
		default: /* a refusal naming an index */
			m->u.snapshot_resp.success = false;
			m->u.snapshot_resp.index = between(g, 1, 1000);
			break;
		}
		break;
	}
}

#define ROGUE_CHECK(w, cond, ...)                                              \
	do {                                                                   \
		(w)->checks++;                                                 \
		if (!(cond))                                                   \
			world_fail((w), __VA_ARGS__);                          \
	} while (0)

void rogue_send(struct world *w, struct rogue *r, uint32_t to)
{
	struct node *nd = world_node(w, to);
	struct rng *g = &r->g;
	const struct raft *tr;
	struct look before, after;
	struct raft_msg m;
	enum rogue_kind kind;
	uint64_t cur, last;
	bool refuse = true, count = true;
	uint64_t answers = 0; /* messages the target must send back */
	int rv;

	if (w->failed || !nd->up || nd->paused_until > w->now)
		return;
	tr = nd->r;
	cur = raft_term(tr);
	last = raft_last_index(tr);
	kind = (enum rogue_kind)rng_below(g, ROGUE_KINDS);
	if (kind == ROGUE_SECOND_LEADER && raft_role(tr) != RAFT_LEADER &&
	    tr->term_leader == 0)
		kind = ROGUE_TERM_JUMP; /* it knows no leader to defend */
	switch (kind) {
	case ROGUE_SECOND_LEADER:
		/* §5.2: the term has a leader; anyone else claiming it is
		 * forged.  A well-formed AppendEntries or InstallSnapshot,
		 * dropped whole; or a TimeoutNow (thesis §3.10: only the
		 * term's leader hands over), dropped. */
		do
			wellformed(w, g, to, cur, &m);
		while (!leader_request(&m));
		m.from = other_member(w, g, to, tr->term_leader);
		refuse = false;
		break;
	case ROGUE_OUT_OF_BOUNDS:
		wellformed(w, g, to, between(g, cur > 1 ? cur - 1 : 1, cur + 2),
			   &m);
		out_of_bounds(g, &m);
		break;
	case ROGUE_NEVER_SENT:
		refuse = false;
		if (raft_role(tr) == RAFT_LEADER && rng_below(g, 4) == 0) {
			/* A snapshot answer naming more than the leader's
			 * log, or a refusal in its own term (a follower
			 * refuses a stale term only): dropped. */
			do
				wellformed(w, g, to, cur, &m);
			while (m.type != RAFT_MSG_SNAPSHOT_RESP);
			if (m.u.snapshot_resp.success)
				m.u.snapshot_resp.index =
				    last + between(g, 1, 1000);
			break;
		}
		if (raft_role(tr) == RAFT_LEADER && rng_below(g, 3) != 0) {
			/* An answer naming a request beyond anything sent:
			 * dropped. */
			struct raft_msg_append_resp *a = &m.u.append_resp;
			do
				wellformed(w, g, to, cur, &m);
			while (m.type != RAFT_MSG_APPEND_RESP);
			a->prev_index = between(g, 0, last);
			a->match_index = between(g, 0, last);
			a->seq = between(g, 0, tr->seq);
			switch (rng_below(g, 3)) {
			case 0:
				a->prev_index = last + between(g, 1, 1000);
				break;
			case 1:
				a->match_index = last + between(g, 1, 1000);
				break;
			default:
				a->seq = tr->seq + between(g, 1, 1000);
				break;
			}
			break;
		}
		/* An answer nobody here asked for, at no newer term (a
		 * newer one would rightly move the node to it): ignored,
		 * not counted.  No vote answers to (pre)candidates. */
		count = false;
		do
			wellformed(w, g, to,
				   between(g, cur > 2 ? cur - 2 : 0, cur), &m);
		while (m.type != RAFT_MSG_APPEND_RESP &&
		       m.type != RAFT_MSG_SNAPSHOT_RESP &&
		       !(m.type == RAFT_MSG_VOTE_RESP &&
			 (raft_role(tr) == RAFT_FOLLOWER ||
			  raft_role(tr) == RAFT_LEADER)));
		if (m.type == RAFT_MSG_APPEND_RESP &&
		    raft_role(tr) == RAFT_LEADER && m.term == cur) {
			/* Of its term, a leader answers it: keep it stale. */
			if (cur < 2) {
				count = true;
				m.u.append_resp.seq = tr->seq + 1;
			} else {
				m.term = cur - 1;
				m.u.append_resp.conflict_term = 0;
			}
		}
		if (m.type == RAFT_MSG_SNAPSHOT_RESP &&
		    raft_role(tr) == RAFT_LEADER && m.term == cur) {
			/* The same: stale, or a refusal (dropped). */
			if (cur < 2) {
				count = true;
				m.u.snapshot_resp.success = false;
				m.u.snapshot_resp.index = 0;
			} else {
				m.term = cur - 1;
			}
		}
		break;
	case ROGUE_TERM_JUMP:
		wellformed(w, g, to,
			   cur + RAFT_MAX_TERM_JUMP + between(g, 1, 1000), &m);
		break;
	default: /* ROGUE_MISADDRESSED */
		wellformed(w, g, to, between(g, cur > 1 ? cur - 1 : 1, cur + 1),
			   &m);
		switch (rng_below(g, 6)) {
		case 0:
			m.to = other_member(w, g, to, to);
			break;
		case 1:
			m.to = rng_below(g, 2)
				   ? 0
				   : w->n + 1 + (uint32_t)rng_below(g, 100);
			break;
		case 2:
			m.from = to;
			break;
		case 3:
			m.from = 0;
			break;
		case 4:
			m.from = w->n + 1 + (uint32_t)rng_below(g, 100);
			break;
		default:
			m.from = UINT32_MAX;
			break;
		}
		/* A vote request from a non-member is taken too (thesis
		 * §4.1: the candidate may be a voter the target does not
		 * know of yet) and judged as any vote request, whose outcome
		 * (granted, refused, or ignored under the lease) the other
		 * kinds cover; here the sender is made no peer at all. */
		if (m.from > w->n && m.type == RAFT_MSG_VOTE)
			m.from = 0;
		if (m.from > w->n && leader_request(&m)) {
			/* A leader's request from a non-member is taken
			 * (thesis §4.1), and then judged as any claim to lead:
			 * of the target's term while it knows that term's
			 * leader (or leads it), a second leader (§5.2):
			 * dropped; of an older term, a stale leader: refused
			 * with an answer carrying the target's term
			 * (TimeoutNow: refused, msg_refusal).  Never a term the
			 * target knows no leader of: that claim is obeyed, from
			 * a member as from anyone. */
			uint32_t from = m.from;
			enum raft_msg_type type = m.type;
			bool knows = raft_role(tr) == RAFT_LEADER ||
				     tr->term_leader != 0;
			uint64_t term = knows && rng_below(g, 2) ? cur
					: cur >= 2		 ? cur - 1
								 : 0;
			if (term == 0) {
				m.from = 0; /* refused: not from a peer */
				break;
			}
			do
				wellformed(w, g, to, term, &m);
			while (m.type != type);
			m.from = from;
			/* TimeoutNow of another term than the target's is
			 * refused outright (it skips PreVote and the lease). */
			refuse = type == RAFT_MSG_TIMEOUT_NOW && term != cur;
			count = term == cur || type == RAFT_MSG_TIMEOUT_NOW;
			answers = count ? 0 : 1;
		}
		break;
	}
	r->sent[kind]++;
	look_at(w, to, &before);
	rv = world_inject(w, to, &m);
	if (w->failed)
		return;
	look_at(w, to, &after);
	ROGUE_CHECK(w, rv == (refuse ? RAFT_EINVAL : 0),
		    "rogue (kind %d, type %d from %u) to n%u: raft_recv says "
		    "%s",
		    (int)kind, (int)m.type, m.from, to, raft_strerror(rv));
	ROGUE_CHECK(
	    w,
	    after.term == before.term && after.vote == before.vote &&
		after.role == before.role && after.leader == before.leader &&
		after.term_leader == before.term_leader &&
		after.commit == before.commit && after.last == before.last &&
		after.last_term == before.last_term &&
		after.msgs == before.msgs + answers,
	    "rogue (kind %d, type %d from %u term %llu) changed n%u: "
	    "term %llu -> %llu, role %s -> %s, leader %u -> %u, "
	    "commit %llu -> %llu, log %llu -> %llu, %llu messages "
	    "sent",
	    (int)kind, (int)m.type, m.from, (unsigned long long)m.term, to,
	    (unsigned long long)before.term, (unsigned long long)after.term,
	    raft_role_name(before.role), raft_role_name(after.role),
	    before.leader, after.leader, (unsigned long long)before.commit,
	    (unsigned long long)after.commit, (unsigned long long)before.last,
	    (unsigned long long)after.last,
	    (unsigned long long)(after.msgs - before.msgs));
	ROGUE_CHECK(w, after.dropped == before.dropped + (count ? 1 : 0),
		    "rogue (kind %d) to n%u: dropped_msgs %llu -> %llu",
		    (int)kind, to, (unsigned long long)before.dropped,
		    (unsigned long long)after.dropped);
	if (rv != 0)
		r->refused++;
	else if (count)
		r->dropped++;
	else
		r->ignored++;
}

static void rogue_step(struct world *w, void *arg)
{
	struct rogue *r = arg;
	uint32_t to;

	if (!rng_ppm(&r->g, r->ppm))
		return;
	to = 1 + (uint32_t)rng_below(&r->g, w->n);
	rogue_send(w, r, to);
}

void rogue_attach(struct world *w, struct rogue *r, uint64_t seed, uint32_t ppm)
{
	uint64_t pid = ROGUE_PID;
	size_t i;

	memset(r, 0, sizeof(*r));
	rng_seed(&r->g, seed ^ UINT64_C(0x0B0B0B0B0B0B0B0B));
	r->ppm = ppm;
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = i < 8 ? (uint8_t)(pid >> (8 * i)) : (uint8_t)i;
	w->on_step = rogue_step;
	w->on_step_arg = r;
}

void rogue_detach(struct world *w)
{
	w->on_step = NULL;
	w->on_step_arg = NULL;
}

uint64_t rogue_total(const struct rogue *r)
{
	uint64_t n = 0;
	int k;

	for (k = 0; k < ROGUE_KINDS; k++)
		n += r->sent[k];
	return n;
}
