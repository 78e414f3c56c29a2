/* raft.c: the Raft consensus algorithm as a pure state machine (raft.h).
 *
 * References: "In Search of an Understandable Consensus Algorithm (Extended
 * Version)", Ongaro and Ousterhout, 2014 ("the paper", §N), and Ongaro's
 * dissertation "Consensus: Bridging Theory and Practice", 2014 ("thesis").
 *
 * Nothing here reads a clock, draws from rand(), touches a file or socket,
 * or takes a lock: time comes in with every event, randomness comes from a
 * seeded PRNG kept in struct raft, and everything the node must do comes
 * out in struct raft_update.  tests/check-core-purity.sh enforces this.
 */
#include "core/raft.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h> /* vsnprintf only, for trace text */
#include <stdlib.h>
#include <string.h>

/* ---- memory ----------------------------------------------------------- */

/* Out of memory is fatal, as in the rest of raftd (common/xalloc.h). */
static void *core_realloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (q == NULL)
		abort();
	return q;
}

#define GROW(arr, cap, need)                                                   \
	do {                                                                   \
		if ((need) > (cap)) {                                          \
			size_t c_ = (cap) ? (cap)*2 : 16;                      \
			while (c_ < (need))                                    \
				c_ *= 2;                                       \
			(arr) = core_realloc((arr), c_ * sizeof(*(arr)));      \
			(cap) = c_;                                            \
		}                                                              \
	} while (0)

/* ---- the PRNG (xorshift64*), seeded by the caller ------------------- */

static uint64_t rng_next(struct raft *r)
{
	uint64_t x = r->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* ---- trace text -------------------------------------------------------- */

static void trace(struct raft *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void trace(struct raft *r, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	GROW(r->trace, r->trace_cap, r->trace_len + (size_t)n + 2);
	memcpy(r->trace + r->trace_len, line, (size_t)n);
	r->trace_len += (size_t)n;
	r->trace[r->trace_len++] = '\n';
	r->trace[r->trace_len] = '\0';
}

/* A refused message: counted, and traced at most once a second (the
 * core's clock) with the number refused in between, so that a peer
 * flooding us with bad messages cannot flood the log. */
static void drop(struct raft *r, const struct raft_msg *m, const char *why)
{
	r->dropped_msgs++;
	if (r->drop_trace_at != 0 && r->now < r->drop_trace_at + 1000) {
		r->drops_untraced++;
		return;
	}
	trace(r,
	      "term %llu: dropped a message (type %d) from %u: %s "
	      "(%llu more dropped since the last such line)",
	      (unsigned long long)r->term, (int)m->type, m->from, why,
	      (unsigned long long)r->drops_untraced);
	r->drops_untraced = 0;
	r->drop_trace_at = r->now ? r->now : 1;
}

/* ---- the in-memory log ------------------------------------------------- */

static uint64_t log_last_index(const struct raft_log *l)
{
	return l->offset + l->n;
}

static uint64_t log_term_at(const struct raft_log *l, uint64_t index)
{
	if (index == l->offset)
		return l->offset_term;
	if (index < l->offset || index > l->offset + l->n)
		return 0;
	return l->entries[index - l->offset - 1].term;
}

static struct raft_entry *log_at(const struct raft_log *l, uint64_t index)
{
	if (index <= l->offset || index > l->offset + l->n)
		return NULL;
	return &l->entries[index - l->offset - 1];
}

/* Copies buf. */
static void log_append(struct raft_log *l, uint64_t term, uint8_t type,
		       const void *buf, uint32_t len)
{
	struct raft_entry *e;

	GROW(l->entries, l->cap, l->n + 1);
	e = &l->entries[l->n++];
	e->term = term;
	e->type = type;
	e->len = len;
	e->buf = NULL;
	if (len > 0) {
		e->buf = core_realloc(NULL, len);
		memcpy(e->buf, buf, len);
	}
}

/* Drops entries with index >= from. */
static void log_truncate(struct raft_log *l, uint64_t from)
{
	uint64_t i;

	/* Internal: callers truncate only above the commit index, which is
	 * at or above the offset; no message can choose `from`. */
	assert(from > l->offset);
	for (i = from; i <= l->offset + l->n; i++)
		free(l->entries[i - l->offset - 1].buf);
	if (from <= l->offset + l->n)
		l->n = from - l->offset - 1;
}

/* Drops the entries up to `to` (>= the offset, <= the last index): they
 * are covered by a snapshot (§7), and the log now starts after them. */
static void log_compact(struct raft_log *l, uint64_t to)
{
	uint64_t k = to - l->offset, i;

	/* Internal: raft_snapshot_taken and the install check `to` against
	 * the log before calling. */
	assert(to >= l->offset && to <= l->offset + l->n);
	if (k == 0)
		return;
	l->offset_term = l->entries[k - 1].term;
	for (i = 0; i < k; i++)
		free(l->entries[i].buf);
	memmove(l->entries, l->entries + k, (l->n - k) * sizeof(*l->entries));
	l->n -= k;
	l->offset = to;
}

/* Discards the whole log: it now starts after (index, term), the last
 * entry of a snapshot (Figure 13, step 7). */
static void log_reset(struct raft_log *l, uint64_t index, uint64_t term)
{
	uint64_t i;

	for (i = 0; i < l->n; i++)
		free(l->entries[i].buf);
	l->n = 0;
	l->offset = index;
	l->offset_term = term;
}

static void log_free(struct raft_log *l)
{
	uint64_t i;

	for (i = 0; i < l->n; i++)
		free(l->entries[i].buf);
	free(l->entries);
	memset(l, 0, sizeof(*l));
}

/* ---- small helpers ----------------------------------------------------- */

/* ---- configurations (thesis chapter 4) ------------------------------- */

const struct raft_member *raft_conf_member(const struct raft_conf *c,
					   uint32_t id)
{
	uint32_t i;

	for (i = 0; i < c->n; i++)
		if (c->m[i].id == id)
			return &c->m[i];
	return NULL;
}

bool raft_conf_is_voter(const struct raft_conf *c, uint32_t id)
{
	const struct raft_member *m = raft_conf_member(c, id);

	return m != NULL && (m->flags & RAFT_MEMBER_VOTER) != 0;
}

static uint32_t conf_voters(const struct raft_conf *c)
{
	uint32_t i, n = 0;

	for (i = 0; i < c->n; i++)
		if (c->m[i].flags & RAFT_MEMBER_VOTER)
			n++;
	return n;
}

void raft_conf_sort(struct raft_conf *c)
{
	uint32_t i, j;

	for (i = 1; i < c->n; i++) {
		struct raft_member x = c->m[i];
		for (j = i; j > 0 && c->m[j - 1].id > x.id; j--)
			c->m[j] = c->m[j - 1];
		c->m[j] = x;
	}
}

static const char *address_check(const char *a)
{
	size_t i, len = 0;

	while (len <= RAFT_ADDRESS_MAX && a[len] != '\0')
		len++;
	if (len > RAFT_ADDRESS_MAX)
		return "address too long";
	for (i = 0; i < len; i++)
		if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f)
			return "control byte in an address";
	return NULL;
}

const char *raft_conf_check(const struct raft_conf *c)
{
	uint32_t i;
	const char *why;

	if (c->n < 1 || c->n > RAFT_MAX_NODES)
		return "configuration size out of range";
	for (i = 0; i < c->n; i++) {
		const struct raft_member *m = &c->m[i];
		if (m->id == 0)
			return "member id 0";
		if (i > 0 && m->id <= c->m[i - 1].id)
			return "member ids not sorted and unique";
		if ((m->flags & ~(RAFT_MEMBER_VOTER | RAFT_MEMBER_PROMOTE)) !=
			0 ||
		    m->flags == (RAFT_MEMBER_VOTER | RAFT_MEMBER_PROMOTE))
			return "unknown member flags";
		if ((why = address_check(m->address)) != NULL ||
		    (why = address_check(m->peer_address)) != NULL)
			return why;
	}
	if (conf_voters(c) == 0)
		return "configuration without a voter";
	return NULL;
}

#define CONF_VERSION 1

size_t raft_conf_encode(const struct raft_conf *c, uint8_t *buf, size_t cap)
{
	size_t need = 2, off = 0;
	uint32_t i;

	for (i = 0; i < c->n; i++)
		need += 4 + 1 + 8 + 2 + strlen(c->m[i].address) + 2 +
			strlen(c->m[i].peer_address);
	if (need > cap)
		return need;
	buf[off++] = CONF_VERSION;
	buf[off++] = (uint8_t)c->n;
	for (i = 0; i < c->n; i++) {
		const struct raft_member *m = &c->m[i];
		const char *a[2] = {m->address, m->peer_address};
		int k;
		buf[off++] = (uint8_t)m->id;
		buf[off++] = (uint8_t)(m->id >> 8);
		buf[off++] = (uint8_t)(m->id >> 16);
		buf[off++] = (uint8_t)(m->id >> 24);
		buf[off++] = m->flags;
		for (k = 0; k < 8; k++)
			buf[off++] = (uint8_t)(m->incarnation >> (8 * k));
		for (k = 0; k < 2; k++) {
			size_t len = strlen(a[k]);
			buf[off++] = (uint8_t)len;
			buf[off++] = (uint8_t)(len >> 8);
			memcpy(buf + off, a[k], len);
			off += len;
		}
	}
	return need;
}

const char *raft_conf_decode(const uint8_t *buf, size_t len,
			     struct raft_conf *out)
{
	size_t off = 2;
	uint32_t i;

	memset(out, 0, sizeof(*out));
	if (len < 2 || buf[0] != CONF_VERSION)
		return "configuration entry of an unknown version";
	out->n = buf[1];
	if (out->n < 1 || out->n > RAFT_MAX_NODES)
		return "configuration size out of range";
	for (i = 0; i < out->n; i++) {
		struct raft_member *m = &out->m[i];
		char *a[2] = {m->address, m->peer_address};
		int k;
		if (len - off < 13)
			return "configuration entry truncated";
		m->id = (uint32_t)buf[off] | (uint32_t)buf[off + 1] << 8 |
			(uint32_t)buf[off + 2] << 16 |
			(uint32_t)buf[off + 3] << 24;
		m->flags = buf[off + 4];
		for (k = 7; k >= 0; k--)
			m->incarnation = m->incarnation << 8 | buf[off + 5 + k];
		off += 13;
		for (k = 0; k < 2; k++) {
			size_t alen;
			if (len - off < 2)
				return "configuration entry truncated";
			alen = (size_t)buf[off] | (size_t)buf[off + 1] << 8;
			off += 2;
			if (alen > RAFT_ADDRESS_MAX)
				return "address too long";
			if (len - off < alen)
				return "configuration entry truncated";
			memcpy(a[k], buf + off, alen);
			a[k][alen] = '\0';
			if (strlen(a[k]) != alen)
				return "NUL in an address";
			off += alen;
		}
	}
	if (off != len)
		return "bytes after the configuration";
	return raft_conf_check(out);
}

static size_t majority(const struct raft *r)
{
	return conf_voters(&r->conf) / 2 + 1;
}

static struct raft_progress *progress_of(struct raft *r, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < r->n_progress; i++)
		if (r->progress[i].id == id)
			return &r->progress[i];
	return NULL;
}

static bool is_self(const struct raft *r, const struct raft_progress *p)
{
	return p->id == r->cfg.id;
}

/* Whether p's member votes in the current configuration (progress[] is in
 * the configuration's order). */
static bool is_voter(const struct raft *r, const struct raft_progress *p)
{
	return (r->conf.m[p - r->progress].flags & RAFT_MEMBER_VOTER) != 0;
}

static bool self_voter(const struct raft *r)
{
	return raft_conf_is_voter(&r->conf, r->cfg.id);
}

const char *raft_role_name(enum raft_role role)
{
	switch (role) {
	case RAFT_FOLLOWER:
		return "follower";
	case RAFT_PRECANDIDATE:
		return "precandidate";
	case RAFT_CANDIDATE:
		return "candidate";
	case RAFT_LEADER:
		return "leader";
	}
	return "?";
}

const char *raft_strerror(int rv)
{
	switch (rv) {
	case RAFT_OK:
		return "ok";
	case RAFT_ENOTLEADER:
		return "not leader";
	case RAFT_EINVAL:
		return "invalid argument";
	case RAFT_ENOMEM:
		return "out of memory";
	case RAFT_ETOOBIG:
		return "entry too big";
	case RAFT_EBUSY:
		return "a configuration change or leadership transfer is under "
		       "way";
	case RAFT_ENOCHANGE:
		return "no change to the configuration";
	case RAFT_ESHUTDOWN:
		return "shutting down";
	}
	return "unknown error";
}

/* ---- building the update ---------------------------------------------- */

static void update_begin(struct raft *r, uint64_t now)
{
	if (now > r->now)
		r->now =
		    now; /* the caller's clock is monotonic; tolerate ties */
	r->up.hs_changed = false;
	r->up.truncate_from = 0;
	r->up.append_first = 0;
	r->up.n_append = 0;
	r->up.n_msgs = 0;
	r->up.n_reads = 0;
	r->up.n_reads_failed = 0;
	r->up.snapshot_index = 0;
	r->up.snapshot_term = 0;
	r->up.conf_changed = false;
	r->trace_len = 0;
	if (r->trace)
		r->trace[0] = '\0';
	r->up_role0 = r->role;
	r->up_leader0 = r->leader_id;
	r->up_commit0 = r->commit_index;
}

static void note_hard_state(struct raft *r) { r->up.hs_changed = true; }

static void note_append(struct raft *r, uint64_t index)
{
	if (r->up.n_append == 0) {
		r->up.append_first = index;
		r->up.n_append = 1;
	} else {
		/* Internal: the core appends at its log's end only. */
		assert(index == r->up.append_first + r->up.n_append);
		r->up.n_append++;
	}
}

static void note_truncate(struct raft *r, uint64_t from)
{
	if (r->up.truncate_from == 0 || from < r->up.truncate_from)
		r->up.truncate_from = from;
	if (r->up.n_append > 0) {
		if (from <= r->up.append_first)
			r->up.n_append = 0;
		else if (from < r->up.append_first + r->up.n_append)
			r->up.n_append = from - r->up.append_first;
	}
	if (r->persisted_index >= from)
		r->persisted_index = from - 1;
}

static struct raft_msg *msg_new(struct raft *r, enum raft_msg_type type,
				uint32_t to)
{
	struct raft_msg *m;

	GROW(r->msgs, r->cap_msgs, r->up.n_msgs + 1);
	m = &r->msgs[r->up.n_msgs++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = r->cfg.id;
	m->to = to;
	m->term = r->term;
	return m;
}

static void read_done(struct raft *r, uint64_t id, uint64_t index)
{
	GROW(r->reads, r->cap_reads, r->up.n_reads + 1);
	r->reads[r->up.n_reads].id = id;
	r->reads[r->up.n_reads].index = index;
	r->up.n_reads++;
}

static void read_failed(struct raft *r, uint64_t id)
{
	GROW(r->reads_failed, r->cap_reads_failed, r->up.n_reads_failed + 1);
	r->reads_failed[r->up.n_reads_failed++] = id;
}

static uint64_t next_wake(const struct raft *r)
{
	uint64_t w;

	if (r->role == RAFT_LEADER) {
		w = r->heartbeat_deadline;
		if (r->cfg.check_quorum && r->quorum_deadline < w)
			w = r->quorum_deadline;
		return w;
	}
	return r->election_deadline;
}

/* ---- timers -------------------------------------------------------------- */

/* §5.2: election timeouts are chosen randomly from a fixed interval so that
 * split votes are rare and resolved quickly. */
static void reset_election_timer(struct raft *r)
{
	uint64_t span =
	    (uint64_t)r->cfg.election_max_ms - r->cfg.election_min_ms + 1;
	r->election_deadline =
	    r->now + r->cfg.election_min_ms + rng_next(r) % span;
}

/* Thesis §4.2.3 / §9.6: a server that has heard from a current leader
 * within the minimum election timeout does not grant (pre)votes, so a
 * rejoining or partitioned server cannot depose a healthy leader. */
static bool in_lease(const struct raft *r)
{
	if (!r->cfg.check_quorum)
		return false;
	if (r->role == RAFT_LEADER)
		return true;
	return r->leader_id != 0 &&
	       r->now < r->last_leader_contact + r->cfg.election_min_ms;
}

/* ---- role changes --------------------------------------------------------
 * Every change of role goes through set_role(), which checks the transition
 * is one Figure 2 allows and records it for the log. */

static void fail_pending_reads(struct raft *r)
{
	size_t i;

	for (i = 0; i < r->n_pending_reads; i++)
		read_failed(r, r->pending_reads[i].id);
	r->n_pending_reads = 0;
}

static void set_role(struct raft *r, enum raft_role to)
{
	enum raft_role from = r->role;

	/* Internal: every caller checks the role first (recv_vote_resp
	 * acts only as (pre)candidate, elections start only off-leader). */
	switch (to) {
	case RAFT_FOLLOWER:
		break; /* any role may fall back to follower */
	case RAFT_PRECANDIDATE:
	case RAFT_CANDIDATE:
		assert(from != RAFT_LEADER);
		break;
	case RAFT_LEADER:
		assert(from == RAFT_CANDIDATE);
		break;
	}
	if (from == RAFT_LEADER && to != RAFT_LEADER)
		fail_pending_reads(r);
	if (from != to)
		trace(r, "term %llu: %s -> %s", (unsigned long long)r->term,
		      raft_role_name(from), raft_role_name(to));
	r->role = to;
}

/* §5.1: "If a server receives a request or response with a term greater
 * than its own, it updates its term and reverts to follower." */
static void become_follower(struct raft *r, uint64_t term, uint32_t leader)
{
	if (term > r->term) {
		r->term = term;
		r->vote = 0;
		r->term_leader = 0;
		note_hard_state(r);
	}
	if (leader != 0)
		r->term_leader = leader;
	r->transfer_to = 0;
	set_role(r, RAFT_FOLLOWER);
	if (leader != r->leader_id && leader != 0)
		trace(r, "term %llu: following leader %u",
		      (unsigned long long)r->term, leader);
	r->leader_id = leader;
	reset_election_timer(r);
}

static void send_append(struct raft *r, struct raft_progress *p);
static void maybe_send(struct raft *r, struct raft_progress *p);
static void maybe_commit(struct raft *r);
static void check_reads(struct raft *r);

/* A leader's fresh view of a follower: probe from the log's end (§5.3). */
static void progress_reset(struct raft *r, struct raft_progress *p,
			   uint64_t last)
{
	uint32_t id = p->id;

	memset(p, 0, sizeof(*p));
	p->id = id;
	p->next_index = last + 1;
	p->state = RAFT_PROGRESS_PROBE;
	p->recent_active = true;
	p->last_send = r->now;
	p->last_progress = r->now;
}

/* Makes `c` the configuration in force (thesis §4.1: "a server always
 * uses the latest configuration in its log, regardless of whether the
 * entry is committed"), from the entry at `index` (0: conf_base).  The
 * progress of members that stay is kept; a leader starts probing a new
 * member from its log's end. */
static void conf_set(struct raft *r, const struct raft_conf *c, uint64_t index)
{
	struct raft_progress old[RAFT_MAX_NODES];
	uint32_t i, n_old = r->n_progress;
	bool same = memcmp(c, &r->conf, sizeof(*c)) == 0;

	r->conf_index = index;
	if (same)
		return;
	memcpy(old, r->progress, sizeof(old));
	if (c != &r->conf)
		r->conf = *c;
	r->n_progress = r->conf.n;
	for (i = 0; i < r->conf.n; i++) {
		uint32_t k;
		struct raft_progress *p = &r->progress[i];
		for (k = 0; k < n_old && old[k].id != r->conf.m[i].id; k++)
			;
		if (k < n_old) {
			*p = old[k];
		} else {
			p->id = r->conf.m[i].id;
			progress_reset(r, p, log_last_index(&r->log));
			p->vote_answered = false;
			p->vote_granted = false;
		}
	}
	r->up.conf_changed = true;
	trace(r, "term %llu: configuration at %llu: %u member%s, %u voter%s%s",
	      (unsigned long long)r->term, (unsigned long long)index, r->conf.n,
	      r->conf.n == 1 ? "" : "s", conf_voters(&r->conf),
	      conf_voters(&r->conf) == 1 ? "" : "s",
	      raft_conf_member(&r->conf, r->cfg.id) == NULL
		  ? " (this node is not a member)"
	      : self_voter(r) ? ""
			      : " (this node is a learner)");
	if (r->transfer_to != 0 &&
	    !raft_conf_is_voter(&r->conf, r->transfer_to))
		r->transfer_to = 0;
}

/* The configuration in force at `index` (offset <= index <= last): the
 * latest configuration entry at or before it, else conf_base. */
static void conf_at(const struct raft *r, uint64_t index, struct raft_conf *out)
{
	uint64_t i;

	for (i = index; i > r->log.offset; i--) {
		const struct raft_entry *e = log_at(&r->log, i);
		if (e->type == RAFT_ENTRY_CONFIG &&
		    raft_conf_decode(e->buf, e->len, out) == NULL)
			return;
	}
	*out = r->conf_base;
}

/* The latest configuration in the log again, after a truncation removed
 * the entry of the one in force (§4.1: a server falls back to the
 * previous configuration), or after the base changed. */
static void conf_restore(struct raft *r)
{
	struct raft_conf c;
	uint64_t i, at = 0;

	for (i = log_last_index(&r->log); i > r->log.offset; i--) {
		const struct raft_entry *e = log_at(&r->log, i);
		if (e->type == RAFT_ENTRY_CONFIG &&
		    raft_conf_decode(e->buf, e->len, &c) == NULL) {
			at = i;
			break;
		}
	}
	if (at == 0)
		c = r->conf_base;
	conf_set(r, &c, at);
}

/* An entry just appended to the log (any path): a configuration takes
 * effect now.  Its bytes were checked (raft_msg_check, raft_load_entry,
 * raft_propose_conf). */
static void entry_appended(struct raft *r, uint64_t index)
{
	const struct raft_entry *e = log_at(&r->log, index);
	struct raft_conf c;

	if (e->type == RAFT_ENTRY_CONFIG &&
	    raft_conf_decode(e->buf, e->len, &c) == NULL)
		conf_set(r, &c, index);
}

static void become_leader(struct raft *r)
{
	uint32_t i;
	uint64_t last = log_last_index(&r->log);

	set_role(r, RAFT_LEADER);
	r->leaderships++;
	r->leader_id = r->cfg.id;
	r->term_leader = r->cfg.id;
	r->commit_in_term = false;
	r->seq = 0;
	r->read_round = 0;
	r->transfer_to = 0;
	for (i = 0; i < r->n_progress; i++)
		progress_reset(r, &r->progress[i], last);
	r->heartbeat_deadline = r->now + r->cfg.heartbeat_ms;
	r->quorum_deadline = r->now + r->cfg.election_min_ms;
	trace(r, "term %llu: leader with log up to %llu",
	      (unsigned long long)r->term, (unsigned long long)last);

	/* §8: "each leader commit a blank no-op entry into the log at the
	 * start of its term", so that it learns what is committed and can
	 * serve reads (thesis §6.4). */
	log_append(&r->log, r->term, RAFT_ENTRY_NOOP, NULL, 0);
	note_append(r, log_last_index(&r->log));
	for (i = 0; i < r->n_progress; i++)
		if (!is_self(r, &r->progress[i]))
			send_append(r, &r->progress[i]);
	maybe_commit(r); /* a single-node cluster */
}

static void count_votes(struct raft *r, size_t *granted, size_t *rejected)
{
	uint32_t i;

	*granted = 0;
	*rejected = 0;
	for (i = 0; i < r->n_progress; i++) {
		/* Thesis §4.2.1: learners do not vote. */
		if (!is_voter(r, &r->progress[i]) ||
		    !r->progress[i].vote_answered)
			continue;
		if (r->progress[i].vote_granted)
			(*granted)++;
		else
			(*rejected)++;
	}
}

static void reset_votes(struct raft *r)
{
	uint32_t i;

	for (i = 0; i < r->n_progress; i++) {
		bool self = is_self(r, &r->progress[i]);
		r->progress[i].vote_answered = self;
		r->progress[i].vote_granted = self;
	}
}

static void become_candidate(struct raft *r, bool transfer);

/* Asks every peer for a vote (or a prevote, for term + 1). */
static void send_votes(struct raft *r, bool prevote, bool transfer)
{
	uint32_t i;

	for (i = 0; i < r->n_progress; i++) {
		struct raft_msg *m;
		if (is_self(r, &r->progress[i]) ||
		    !is_voter(r, &r->progress[i]))
			continue;
		m = msg_new(r, RAFT_MSG_VOTE, r->progress[i].id);
		m->term = prevote ? r->term + 1 : r->term;
		m->u.vote.prevote = prevote;
		m->u.vote.transfer = transfer;
		m->u.vote.last_log_index = log_last_index(&r->log);
		m->u.vote.last_log_term =
		    log_term_at(&r->log, log_last_index(&r->log));
	}
}

/* Thesis §9.6: before incrementing its term a server first asks whether it
 * could win; the term only grows when a majority says yes, so a server
 * cut off from the cluster does not inflate its term and disrupt the
 * leader when it comes back. */
static void become_precandidate(struct raft *r)
{
	size_t granted, rejected;

	set_role(r, RAFT_PRECANDIDATE);
	r->leader_id = 0;
	reset_votes(r);
	reset_election_timer(r);
	count_votes(r, &granted, &rejected);
	if (granted >= majority(r)) {
		become_candidate(r, false);
		return;
	}
	send_votes(r, true, false);
}

/* §5.2: "To begin an election, a follower increments its current term and
 * transitions to candidate state. It then votes for itself and issues
 * RequestVote RPCs in parallel to each of the other servers." */
static void become_candidate(struct raft *r, bool transfer)
{
	size_t granted, rejected;

	r->term++;
	r->elections++;
	r->vote = r->cfg.id;
	r->term_leader = 0;
	note_hard_state(r);
	set_role(r, RAFT_CANDIDATE);
	r->leader_id = 0;
	reset_votes(r);
	reset_election_timer(r);
	count_votes(r, &granted, &rejected);
	if (granted >= majority(r)) {
		become_leader(r);
		return;
	}
	send_votes(r, false, transfer);
}

/* Whether this node may campaign: a voter of its configuration, or of the
 * committed one before it while its latest is not committed (a leader
 * cut off right after appending its own removal must be able to come
 * back and finish it, thesis §4.2.2: the others may not have the entry,
 * and may need its vote or its log). */
static bool may_campaign(const struct raft *r)
{
	struct raft_conf c;

	if (self_voter(r))
		return true;
	if (r->conf_index <= r->commit_index || r->commit_index < r->log.offset)
		return false;
	conf_at(r, r->commit_index, &c);
	return raft_conf_is_voter(&c, r->cfg.id);
}

static void start_election(struct raft *r)
{
	if (!may_campaign(r)) {
		/* Thesis §4.2.1: a learner, a removed server or a new one
		 * not yet added never campaigns. */
		reset_election_timer(r);
		return;
	}
	if (r->term >= RAFT_MAX_TERM) {
		/* Terms are bounded (raft.h); with no term left to campaign
		 * in, wait for a leader instead of overflowing. */
		trace(r, "term %llu: at the largest term, not campaigning",
		      (unsigned long long)r->term);
		reset_election_timer(r);
		return;
	}
	if (r->cfg.prevote)
		become_precandidate(r);
	else
		become_candidate(r, false);
}

/* ---- replication (leader side) ------------------------------------------ */

/* Sends one AppendEntries to p (§5.3).  Entries start at p->next_index and
 * are bounded by count and bytes (at least one entry when any is due), so
 * one XML-RPC body stays well under the transport's limit. */
static void send_append_from(struct raft *r, struct raft_progress *p,
			     uint64_t next, bool with_entries)
{
	struct raft_msg *m;
	uint64_t last = log_last_index(&r->log);
	uint64_t n = 0, bytes = 0;

	/* Internal: next_index is clamped to [match + 1, last + 1] wherever
	 * an answer moves it (recv_append_resp checks what peers say). */
	assert(next >= 1 && next <= last + 1);
	if (with_entries) {
		while (next + n <= last && n < r->cfg.max_batch_entries) {
			const struct raft_entry *e = log_at(&r->log, next + n);
			if (n > 0 && bytes + e->len > r->cfg.max_batch_bytes)
				break;
			bytes += e->len;
			n++;
		}
	}
	m = msg_new(r, RAFT_MSG_APPEND, p->id);
	m->u.append.prev_index = next - 1;
	m->u.append.prev_term = log_term_at(&r->log, next - 1);
	m->u.append.leader_commit = r->commit_index;
	m->u.append.seq = r->seq;
	m->u.append.n_entries = (uint32_t)n;
	m->u.append.entries = NULL; /* pointed into the log by update_finish */
	p->last_send = r->now;
	if (n > 0 && p->state == RAFT_PROGRESS_REPLICATE) {
		/* Optimistic pipelining (thesis §10.2.2). */
		p->next_index = next + n;
		/* Internal: maybe_send stops at max_inflight <= the array. */
		assert(p->n_inflight < RAFT_MAX_INFLIGHT);
		p->inflight[p->n_inflight++] = next + n - 1;
	}
}

/* §7: "the leader must occasionally send snapshots to followers that lag
 * behind", when the entries a follower needs next were compacted away.
 * The message names the latest snapshot; the caller moves its data (and
 * may send a newer one, which the answer then names).  Nothing else goes
 * to the follower until it is answered (heartbeats aside, which carry no
 * entries), raft_snapshot_failed() is called, or RAFT_SNAPSHOT_TIMEOUT
 * election timeouts pass (raft_tick). */
static void send_snapshot(struct raft *r, struct raft_progress *p)
{
	struct raft_msg *m;

	/* Internal: the log has an offset only once a snapshot covers it
	 * (raft_load_snapshot, raft_snapshot_taken, the install). */
	assert(r->snapshot_index >= r->log.offset && r->snapshot_index >= 1);
	m = msg_new(r, RAFT_MSG_SNAPSHOT, p->id);
	m->u.snapshot.index = r->snapshot_index;
	m->u.snapshot.term = r->snapshot_term;
	p->state = RAFT_PROGRESS_SNAPSHOT;
	p->snapshot_sent = r->snapshot_index;
	p->snapshot_at = r->now;
	p->n_inflight = 0;
	p->last_send = r->now;
	r->snapshots_sent++;
	trace(r,
	      "term %llu: follower %u needs entries from %llu, compacted: "
	      "sending snapshot up to %llu",
	      (unsigned long long)r->term, p->id,
	      (unsigned long long)p->next_index,
	      (unsigned long long)r->snapshot_index);
}

/* The snapshot to p was lost (raft_snapshot_failed) or went unanswered
 * for too long: probe again, which sends it again.  With `later`, the
 * probe counts as out (PROBE's single slot) until p answers a later
 * heartbeat round (send_heartbeat), so that a transport that fails at
 * once is not asked again at every proposal or heartbeat while the
 * follower is unreachable. */
static void snapshot_retry(struct raft *r, struct raft_progress *p, bool later)
{
	p->state = RAFT_PROGRESS_PROBE;
	p->next_index = p->match_index + 1;
	p->n_inflight = later ? 1 : 0;
	p->inflight[0] = 0;
	p->probe_seq = r->seq;
}

static void send_append(struct raft *r, struct raft_progress *p)
{
	if (p->next_index - 1 < r->log.offset) {
		/* The entries it needs are gone (§7). */
		send_snapshot(r, p);
		return;
	}
	if (p->state == RAFT_PROGRESS_PROBE) {
		/* One request at a time until the follower's log matches. */
		send_append_from(r, p, p->next_index, true);
		p->n_inflight = 1;
		p->inflight[0] = 0;
		p->probe_seq = r->seq;
	} else {
		send_append_from(r, p, p->next_index, true);
	}
}

/* A heartbeat carries no entries and names the index known to match as
 * prev, so it never conflicts with requests still in flight and costs
 * little however far behind the follower is.  A follower in PROBE with no
 * probe out gets the probe instead; one whose probe is out gets it again
 * only once it has answered a later round (the probe or its answer was
 * lost), not with every heartbeat: a burst of heartbeats must not turn
 * into a burst of full batches to a lagging follower. */
static void send_heartbeat(struct raft *r, struct raft_progress *p)
{
	if (p->state == RAFT_PROGRESS_PROBE &&
	    (p->n_inflight == 0 || p->acked_seq > p->probe_seq))
		send_append(r, p);
	else if (p->match_index < r->log.offset)
		/* The term at match_index was compacted away (a follower
		 * waiting for a snapshot, or about to need one): prev (0, 0)
		 * matches every log.  Heartbeats go on while a snapshot is
		 * out, so that the follower does not campaign meanwhile and
		 * its answers count for CheckQuorum and ReadIndex. */
		send_append_from(r, p, 1, false);
	else
		send_append_from(r, p, p->match_index + 1, false);
}

/* Whether the entries from `next` on fill a whole AppendEntries. */
static bool batch_full(const struct raft *r, uint64_t next)
{
	uint64_t last = log_last_index(&r->log);
	uint64_t i, bytes = 0;

	if (last + 1 - next >= r->cfg.max_batch_entries)
		return true;
	for (i = next; i <= last; i++) {
		bytes += log_at(&r->log, i)->len;
		if (bytes > r->cfg.max_batch_bytes)
			return true;
	}
	return false;
}

/* Sends what the flow control allows: in PROBE one request until answered,
 * in REPLICATE up to max_inflight batches.  With pipeline_full_only, a
 * request goes out while others are in flight only if it is a full batch
 * (a follower catching up): in steady state, where the CPU, not the
 * network, is the bottleneck, entries that arrive while a request is out
 * wait for its answer and then go together, one RPC and one follower
 * fsync for all of them, rather than as many small requests. */
static void maybe_send(struct raft *r, struct raft_progress *p)
{
	uint64_t last = log_last_index(&r->log);

	/* A leader that just stepped down (thesis §4.2.2: the configuration
	 * removing it committed, in maybe_commit, which answers call before
	 * this) sends no more AppendEntries. */
	if (r->role != RAFT_LEADER)
		return;
	switch (p->state) {
	case RAFT_PROGRESS_SNAPSHOT:
		return; /* §7: nothing until the snapshot is answered */
	case RAFT_PROGRESS_PROBE:
		if (p->n_inflight == 0)
			send_append(r, p);
		return;
	case RAFT_PROGRESS_REPLICATE:
		break;
	}
	while (p->state == RAFT_PROGRESS_REPLICATE && p->next_index <= last &&
	       p->n_inflight < r->cfg.max_inflight) {
		if (p->next_index - 1 < r->log.offset) {
			send_snapshot(r, p); /* compacted meanwhile */
			break;
		}
		if (p->n_inflight > 0 && r->cfg.pipeline_full_only &&
		    !batch_full(r, p->next_index))
			break;
		send_append(r, p);
	}
}

/* Starts a new heartbeat round (seq) to every follower.  Only the periodic
 * round moves the heartbeat deadline, so that rounds started for reads
 * cannot postpone the periodic work in raft_tick (stall detection). */
static void broadcast_heartbeat(struct raft *r, bool periodic)
{
	uint32_t i;

	r->seq++;
	for (i = 0; i < r->n_progress; i++)
		if (!is_self(r, &r->progress[i]))
			send_heartbeat(r, &r->progress[i]);
	if (periodic)
		r->heartbeat_deadline = r->now + r->cfg.heartbeat_ms;
}

/* Insertion sort, descending: at most RAFT_MAX_NODES values. */
static void sort_desc(uint64_t *v, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		uint64_t x = v[i];
		for (j = i; j > 0 && v[j - 1] < x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* §5.3/§5.4.2: the leader commits the highest index stored on a majority,
 * but only if that entry is of its current term ("Raft never commits log
 * entries from previous terms by counting replicas", Figure 8); earlier
 * entries are then committed indirectly by the Log Matching Property.  The
 * leader counts itself only for entries durable on its own disk. */
static void commit_advance(struct raft *r)
{
	uint64_t matches[RAFT_MAX_NODES];
	uint64_t q;
	uint32_t i, n = 0;

	/* Voters only (thesis §4.2.1); the leader itself counts only while
	 * it is one (§4.2.2: a leader removing itself replicates the new
	 * configuration without counting itself). */
	for (i = 0; i < r->n_progress; i++) {
		const struct raft_progress *p = &r->progress[i];
		if (!is_voter(r, p))
			continue;
		matches[n++] =
		    is_self(r, p) ? r->persisted_index : p->match_index;
	}
	sort_desc(matches, n);
	q = matches[majority(r) - 1];
	if (q <= r->commit_index)
		return;
	if (log_term_at(&r->log, q) != r->term)
		return;
	r->commit_index = q;
	if (!r->commit_in_term) {
		size_t k;
		r->commit_in_term = true;
		/* Thesis §6.4: reads that arrived before the leader knew
		 * what was committed take the commit index from now. */
		for (k = 0; k < r->n_pending_reads; k++)
			if (r->pending_reads[k].index == 0)
				r->pending_reads[k].index = r->commit_index;
		check_reads(r);
	}
}

/* ---- membership and transfer, leader side (thesis §3.10, §4) ----------- */

/* Appends a configuration entry (checked by the caller) and sends it. */
static void append_conf(struct raft *r, const struct raft_conf *c)
{
	size_t need = raft_conf_encode(c, NULL, 0);
	uint8_t *buf = core_realloc(NULL, need);
	uint64_t index;
	uint32_t i;

	raft_conf_encode(c, buf, need);
	log_append(&r->log, r->term, RAFT_ENTRY_CONFIG, buf, (uint32_t)need);
	free(buf);
	index = log_last_index(&r->log);
	note_append(r, index);
	entry_appended(r, index);
	for (i = 0; i < r->n_progress; i++)
		if (!is_self(r, &r->progress[i]))
			maybe_send(r, &r->progress[i]);
}

/* Whether a leader may change the configuration now: the latest one is
 * committed (one change at a time, §4.1), this leader committed an entry
 * of its term (Ongaro, raft-dev 2015: otherwise a change of a deposed
 * leader's, uncommitted, and this one could have disjoint majorities) and
 * no transfer is under way. */
static bool conf_change_allowed(const struct raft *r)
{
	return r->role == RAFT_LEADER && r->conf_index <= r->commit_index &&
	       r->commit_in_term && r->transfer_to == 0;
}

/* §4.2.1: a learner added to be promoted becomes a voter once it has
 * caught up (its match index reached the commit index), so that adding a
 * server never leaves the cluster waiting for a new voter's log. */
static void maybe_promote(struct raft *r)
{
	uint32_t i;

	if (!conf_change_allowed(r))
		return;
	for (i = 0; i < r->n_progress; i++) {
		const struct raft_member *mb = &r->conf.m[i];
		struct raft_conf c;
		if ((mb->flags & RAFT_MEMBER_PROMOTE) == 0 ||
		    r->progress[i].match_index < r->commit_index)
			continue;
		c = r->conf;
		c.m[i].flags = RAFT_MEMBER_VOTER;
		trace(r,
		      "term %llu: learner %u caught up (%llu): promoting it "
		      "to voter",
		      (unsigned long long)r->term, mb->id,
		      (unsigned long long)r->progress[i].match_index);
		append_conf(r, &c);
		return; /* one change at a time */
	}
}

/* Thesis §3.10: once the target holds the whole log, tell it to campaign
 * now. */
static void maybe_timeout_now(struct raft *r)
{
	struct raft_progress *p = progress_of(r, r->transfer_to);

	if (p == NULL || r->timeout_now_sent ||
	    p->match_index < log_last_index(&r->log))
		return;
	msg_new(r, RAFT_MSG_TIMEOUT_NOW, p->id);
	r->timeout_now_sent = true;
	trace(r,
	      "term %llu: transfer: %u holds the log up to %llu, "
	      "sending TimeoutNow",
	      (unsigned long long)r->term, p->id,
	      (unsigned long long)p->match_index);
}

/* §4.2.2: a leader that is not a voter of its configuration steps down
 * once that configuration is committed.  It hands over to the voter
 * holding the most of the log (TimeoutNow, when one holds all of it), so
 * the cluster does not wait an election timeout for a new leader. */
static void step_down_removed(struct raft *r)
{
	struct raft_progress *best = NULL;
	uint32_t i;

	if (r->transfer_to != 0) {
		maybe_timeout_now(r);
		return; /* handing over already */
	}
	for (i = 0; i < r->n_progress; i++) {
		struct raft_progress *p = &r->progress[i];
		if (!is_self(r, p) && is_voter(r, p) &&
		    (best == NULL || p->match_index > best->match_index))
			best = p;
	}
	if (best == NULL) {
		/* Internal: a configuration has a voter, and we are not
		 * one. */
		become_follower(r, r->term, 0);
		return;
	}
	/* A transfer, taking no more proposals: the target gets the rest of
	 * the log and TimeoutNow; if it has not taken over within the
	 * minimum election timeout, step down anyway (raft_tick). */
	trace(r,
	      "term %llu: not a voter of the committed configuration: "
	      "handing over to %u",
	      (unsigned long long)r->term, best->id);
	r->transfer_to = best->id;
	r->transfer_deadline = r->now + r->cfg.election_min_ms;
	r->timeout_now_sent = false;
	maybe_send(r, best);
	maybe_timeout_now(r);
}

/* After a follower's progress or the commit index moved (leader). */
static void maybe_commit(struct raft *r)
{
	if (r->role != RAFT_LEADER)
		return;
	commit_advance(r);
	if (!self_voter(r) && r->conf_index <= r->commit_index) {
		step_down_removed(r);
		return;
	}
	if (r->transfer_to != 0)
		maybe_timeout_now(r);
	maybe_promote(r);
}

int raft_propose_conf(struct raft *r, uint64_t now, const struct raft_conf *to,
		      uint64_t *index, uint64_t *term)
{
	uint32_t i, diffs = 0;

	update_begin(r, now);
	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (raft_conf_check(to) != NULL)
		return RAFT_EINVAL;
	if (!conf_change_allowed(r))
		return RAFT_EBUSY;
	if (log_last_index(&r->log) >= RAFT_MAX_INDEX)
		return RAFT_EINVAL;
	/* §4.1: one server added, removed or changed at a time. */
	for (i = 0; i < to->n; i++) {
		const struct raft_member *a = &to->m[i];
		const struct raft_member *b = raft_conf_member(&r->conf, a->id);
		if (b == NULL) {
			diffs++;
			continue;
		}
		/* Addresses stay (a member moves by remove and add); the
		 * bootstrap configuration's, "", may be filled in. */
		if ((b->address[0] && strcmp(a->address, b->address) != 0) ||
		    (b->peer_address[0] &&
		     strcmp(a->peer_address, b->peer_address) != 0) ||
		    (b->incarnation && a->incarnation != b->incarnation))
			return RAFT_EINVAL;
		if (a->flags != b->flags)
			diffs++;
	}
	for (i = 0; i < r->conf.n; i++)
		if (raft_conf_member(to, r->conf.m[i].id) == NULL)
			diffs++;
	if (diffs == 0)
		return RAFT_ENOCHANGE;
	if (diffs > 1)
		return RAFT_EINVAL;
	trace(r, "term %llu: proposing a configuration change",
	      (unsigned long long)r->term);
	append_conf(r, to);
	*index = log_last_index(&r->log);
	*term = r->term;
	maybe_commit(r); /* a single voter */
	return RAFT_OK;
}

int raft_transfer(struct raft *r, uint64_t now, uint32_t to)
{
	struct raft_progress *p;
	uint32_t i;

	update_begin(r, now);
	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (r->transfer_to != 0)
		return RAFT_EBUSY;
	if (to == 0) {
		struct raft_progress *best = NULL;
		for (i = 0; i < r->n_progress; i++) {
			p = &r->progress[i];
			if (!is_self(r, p) && is_voter(r, p) &&
			    (best == NULL ||
			     p->match_index > best->match_index))
				best = p;
		}
		if (best == NULL)
			return RAFT_EBUSY;
		to = best->id;
	} else if (to == r->cfg.id || !raft_conf_is_voter(&r->conf, to)) {
		return RAFT_EINVAL;
	}
	r->transfer_to = to;
	r->transfer_deadline = r->now + r->cfg.election_max_ms;
	r->timeout_now_sent = false;
	r->transfers++;
	trace(r, "term %llu: transferring leadership to %u",
	      (unsigned long long)r->term, to);
	p = progress_of(r, to);
	maybe_send(r, p);
	maybe_timeout_now(r);
	return RAFT_OK;
}

/* ---- ReadIndex (thesis §6.4) ---------------------------------------------
 * A read is registered with the current commit index and a new heartbeat
 * round number (seq).  Once a majority has answered a heartbeat of that
 * round or later, no other leader can have existed when the read arrived,
 * so serving it at any state that includes the read index is linearizable. */

/* The highest round answered by a majority (the leader counts itself). */
static uint64_t quorum_acked_seq(const struct raft *r)
{
	uint64_t acked[RAFT_MAX_NODES];
	uint32_t k, n = 0;

	for (k = 0; k < r->n_progress; k++) {
		const struct raft_progress *p = &r->progress[k];
		if (is_voter(r, p))
			acked[n++] = is_self(r, p) ? r->seq : p->acked_seq;
	}
	sort_desc(acked, n);
	return acked[majority(r) - 1];
}

static void check_reads(struct raft *r)
{
	uint64_t q = quorum_acked_seq(r);
	size_t i, keep = 0;
	bool waiting = false;

	for (i = 0; i < r->n_pending_reads; i++) {
		struct raft_pending_read *pr = &r->pending_reads[i];

		if (q >= pr->seq && pr->index != 0) {
			read_done(r, pr->id, pr->index);
		} else {
			if (pr->seq > r->seq)
				waiting = true;
			r->pending_reads[keep++] = *pr;
		}
	}
	r->n_pending_reads = keep;
	if (r->read_round != 0 && q >= r->read_round)
		r->read_round = 0;
	/* Reads that arrived while a round was out wait for the next one:
	 * start it now that the previous one is answered.  One round per
	 * round trip serves any number of reads (batching, as etcd does). */
	if (waiting && r->read_round == 0 && r->role == RAFT_LEADER) {
		broadcast_heartbeat(r, false);
		r->read_round = r->seq;
	}
}

int raft_read(struct raft *r, uint64_t now, uint64_t id)
{
	struct raft_pending_read *pr;

	update_begin(r, now);
	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	GROW(r->pending_reads, r->cap_pending_reads, r->n_pending_reads + 1);
	pr = &r->pending_reads[r->n_pending_reads++];
	pr->id = id;
	/* Confirmed by a round that starts after the read arrived: the next
	 * one (started by check_reads at once if no read round is out). */
	pr->seq = r->seq + 1;
	pr->index = r->commit_in_term ? r->commit_index : 0;
	if (conf_voters(&r->conf) == 1 && self_voter(r))
		r->seq++; /* nobody to ask: the leader alone is a majority */
	check_reads(r);
	return RAFT_OK;
}

/* ---- receiving messages -------------------------------------------------- */

/* §5.4.1: a vote goes only to a candidate whose log is at least as
 * up-to-date: a later last term, or the same last term and a log at least
 * as long. */
static bool log_up_to_date(const struct raft *r, uint64_t last_index,
			   uint64_t last_term)
{
	uint64_t my_index = log_last_index(&r->log);
	uint64_t my_term = log_term_at(&r->log, my_index);

	return last_term > my_term ||
	       (last_term == my_term && last_index >= my_index);
}

static void recv_vote(struct raft *r, const struct raft_msg *m)
{
	const struct raft_msg_vote *v = &m->u.vote;
	struct raft_msg *resp;
	bool grant = false;

	if (m->term > r->term && in_lease(r) && !v->transfer) {
		/* Thesis §4.2.3: ignore it, do not even adopt the term. */
		trace(r,
		      "term %llu: ignored %svote from %u for term %llu "
		      "(leader %u is alive)",
		      (unsigned long long)r->term, v->prevote ? "pre" : "",
		      m->from, (unsigned long long)m->term, r->leader_id);
		return;
	}
	if (v->prevote) {
		/* Thesis §9.6: grant when the candidate's proposed term is
		 * newer and its log up to date; change nothing here. */
		grant = m->term > r->term &&
			log_up_to_date(r, v->last_log_index, v->last_log_term);
	} else if (m->term >= r->term) {
		if (m->term > r->term)
			become_follower(r, m->term, 0);
		/* §5.2: at most one vote per term, first come first served. */
		if ((r->vote == 0 || r->vote == m->from) &&
		    log_up_to_date(r, v->last_log_index, v->last_log_term)) {
			grant = true;
			if (r->vote != m->from) {
				r->vote = m->from;
				note_hard_state(r);
			}
			/* §5.2: granting a vote resets the election timer. */
			reset_election_timer(r);
			trace(r, "term %llu: voted for %u",
			      (unsigned long long)r->term, m->from);
		}
	}
	resp = msg_new(r, RAFT_MSG_VOTE_RESP, m->from);
	resp->u.vote_resp.prevote = v->prevote;
	resp->u.vote_resp.granted = grant;
	/* A granted prevote echoes the proposed term (our own is lower). */
	resp->term = (grant && v->prevote) ? m->term : r->term;
}

static void recv_vote_resp(struct raft *r, const struct raft_msg *m)
{
	const struct raft_msg_vote_resp *v = &m->u.vote_resp;
	struct raft_progress *p = progress_of(r, m->from);
	size_t granted, rejected;

	if (v->prevote) {
		if (r->role != RAFT_PRECANDIDATE)
			return;
		if (v->granted && m->term != r->term + 1)
			return; /* from an older round */
	} else {
		if (r->role != RAFT_CANDIDATE || m->term != r->term)
			return;
	}
	if (p->vote_answered)
		return;
	p->vote_answered = true;
	p->vote_granted = v->granted;
	count_votes(r, &granted, &rejected);
	if (granted >= majority(r)) {
		if (v->prevote)
			become_candidate(r, false);
		else
			become_leader(r);
	} else if (rejected >= majority(r)) {
		/* Lost: wait for the next election timeout as a follower. */
		set_role(r, RAFT_FOLLOWER);
	}
}

static struct raft_msg *send_append_resp(struct raft *r,
					 const struct raft_msg *req,
					 bool success, uint64_t match,
					 uint64_t conflict_term,
					 uint64_t conflict_index)
{
	struct raft_msg *resp = msg_new(r, RAFT_MSG_APPEND_RESP, req->from);

	resp->u.append_resp.success = success;
	resp->u.append_resp.prev_index = req->u.append.prev_index;
	resp->u.append_resp.match_index = match;
	resp->u.append_resp.conflict_term = conflict_term;
	resp->u.append_resp.conflict_index = conflict_index;
	resp->u.append_resp.last_log_index = log_last_index(&r->log);
	resp->u.append_resp.seq = req->u.append.seq;
	return resp;
}

static void recv_append(struct raft *r, const struct raft_msg *m)
{
	const struct raft_msg_append *a = &m->u.append;
	uint64_t last = log_last_index(&r->log);
	uint64_t i, match;

	if (m->term < r->term) {
		/* §5.1: reject a stale leader; our term makes it step down.
		 * (No conflict hint: conflict_index 0 marks this kind.)  The
		 * answer carries OUR term, so the heartbeat round it echoes
		 * must not count: the same node may lead our term by now
		 * (rounds restart at 0 in each term), and a round number
		 * from an older term could confirm one of its reads that no
		 * majority confirmed (thesis §6.4).  Round 0 confirms
		 * nothing. */
		send_append_resp(r, m, false, 0, 0, 0)->u.append_resp.seq = 0;
		return;
	}
	/* m->term >= r->term: m->from claims to lead m->term.  §5.2
	 * (Election Safety): a term has at most one leader, so a claim for
	 * our own term by anyone but the leader we know of (or by anyone
	 * while we lead it) is from a broken or forged peer.  Obeying it
	 * could make us apply entries no leader ever committed: drop it.
	 * (raft_recv already moved us to m->term if it was newer, with
	 * m->from as the term's leader.) */
	if (r->role == RAFT_LEADER) {
		drop(r, m, "AppendEntries from a second leader of our term");
		return;
	}
	if (r->term_leader != 0 && r->term_leader != m->from) {
		drop(r, m, "AppendEntries from a second leader of the term");
		return;
	}
	if (r->role != RAFT_FOLLOWER || r->leader_id != m->from)
		become_follower(r, m->term, m->from);
	r->last_leader_contact = r->now;
	reset_election_timer(r);

	if (a->prev_index < r->log.offset) {
		/* Entries up to the offset were compacted into a snapshot:
		 * they are committed, so the leader of our term holds the
		 * same ones (§5.4, Leader Completeness), and so it does up to
		 * our commit index.  Whatever this request carries up to
		 * there is here already: answer with the commit index as the
		 * match (etcd does the same) and let the leader go on after
		 * it.  (A heartbeat to a follower waiting for a snapshot has
		 * prev 0, below any offset.) */
		send_append_resp(r, m, true, r->commit_index, 0, 0);
		return;
	}
	/* §5.3 consistency check, with the conflict hint of the paper's
	 * "fast backup" note so the leader skips a whole term per round
	 * trip instead of one entry. */
	if (a->prev_index > last) {
		send_append_resp(r, m, false, 0, 0, last + 1);
		return;
	}
	if (log_term_at(&r->log, a->prev_index) != a->prev_term) {
		uint64_t ct = log_term_at(&r->log, a->prev_index);
		uint64_t ci = a->prev_index;
		while (ci - 1 > r->log.offset &&
		       log_term_at(&r->log, ci - 1) == ct)
			ci--;
		send_append_resp(r, m, false, 0, ct, ci);
		return;
	}
	/* §5.3: "If an existing entry conflicts with a new one (same index
	 * but different terms), delete the existing entry and all that
	 * follow it"; entries already present are kept, so a delayed or
	 * duplicated request never shortens the log. */
	for (i = 0; i < a->n_entries; i++) {
		uint64_t index = a->prev_index + 1 + i;
		const struct raft_entry *e = &a->entries[i];

		if (index <= log_last_index(&r->log)) {
			if (log_term_at(&r->log, index) == e->term)
				continue;
			if (index <= r->commit_index) {
				/* Never happens unless a peer is broken. */
				trace(r,
				      "term %llu: refused append from %u "
				      "overwriting committed index %llu",
				      (unsigned long long)r->term, m->from,
				      (unsigned long long)index);
				return;
			}
			trace(r, "term %llu: truncating log from %llu",
			      (unsigned long long)r->term,
			      (unsigned long long)index);
			log_truncate(&r->log, index);
			note_truncate(r, index);
			if (index <= r->conf_index)
				conf_restore(r);
		}
		log_append(&r->log, e->term, e->type, e->buf, e->len);
		note_append(r, index);
		entry_appended(r, index);
	}
	match = a->prev_index + a->n_entries;
	/* Figure 2: commitIndex = min(leaderCommit, index of last new
	 * entry): only what this request proved to match. */
	if (a->leader_commit > r->commit_index) {
		uint64_t c =
		    a->leader_commit < match ? a->leader_commit : match;
		if (c > r->commit_index)
			r->commit_index = c;
	}
	send_append_resp(r, m, true, match, 0, 0);
}

static void progress_free_inflight(struct raft_progress *p, uint64_t match)
{
	uint32_t i, keep = 0;

	for (i = 0; i < p->n_inflight; i++)
		if (p->inflight[i] > match)
			p->inflight[keep++] = p->inflight[i];
	p->n_inflight = keep;
}

/* p holds our log up to its match_index (a snapshot's answer, or an
 * AppendEntries answer while a snapshot was out): replicate from there,
 * pipelined since the match is known (maybe_send sends a newer snapshot
 * if even that was compacted since). */
static void snapshot_done(struct raft *r, struct raft_progress *p)
{
	p->state = RAFT_PROGRESS_REPLICATE;
	p->next_index = p->match_index + 1;
	p->n_inflight = 0;
	p->last_progress = r->now;
}

static void recv_append_resp(struct raft *r, const struct raft_msg *m)
{
	const struct raft_msg_append_resp *a = &m->u.append_resp;
	struct raft_progress *p = progress_of(r, m->from);
	uint64_t last = log_last_index(&r->log);
	uint64_t next;

	if (r->role != RAFT_LEADER || m->term != r->term)
		return; /* stale */
	/* An answer names a request we sent: its prev_index is within our
	 * log (a leader's log only grows), its match within our log, its
	 * round one we started.  Anything else would move next_index past
	 * our log or confirm reads no majority confirmed. */
	if (a->prev_index > last || a->match_index > last || a->seq > r->seq) {
		drop(r, m, "AppendEntries answer to a request never sent");
		return;
	}
	p->recent_active = true;
	if (a->seq > p->acked_seq) {
		p->acked_seq = a->seq;
		check_reads(r);
	}
	if (a->success) {
		if (a->match_index > p->match_index) {
			p->match_index = a->match_index;
			p->last_progress = r->now;
		}
		if (p->state == RAFT_PROGRESS_SNAPSHOT) {
			/* A heartbeat's answer while the snapshot is out.  Once
			 * the follower holds what the log still has (it
			 * installed the snapshot and that answer was lost, or
			 * it caught up otherwise), replicate from its match;
			 * until then, wait. */
			if (p->match_index >= r->log.offset)
				snapshot_done(r, p);
			maybe_commit(r);
			maybe_send(r, p);
			return;
		}
		if (p->state == RAFT_PROGRESS_PROBE &&
		    a->match_index + 1 < p->next_index) {
			/* A heartbeat's answer (prev = match_index): the probe
			 * further on is still out, or lost and resent by
			 * send_heartbeat. */
			maybe_commit(r);
			return;
		}
		if (p->next_index < p->match_index + 1)
			p->next_index = p->match_index + 1;
		if (p->state == RAFT_PROGRESS_PROBE) {
			p->state = RAFT_PROGRESS_REPLICATE;
			p->n_inflight = 0;
			p->next_index = p->match_index + 1;
		} else {
			progress_free_inflight(p, p->match_index);
		}
		maybe_commit(r);
		maybe_send(r, p);
		return;
	}
	if (p->state == RAFT_PROGRESS_SNAPSHOT)
		return; /* an older request's: the snapshot answers for it */
	/* Rejected.  A follower whose log now ends below what it once
	 * acknowledged has lost entries (a disk fault, or an operator cut
	 * its raftlog): believe its log end and repair it from there, or it
	 * would be rejected forever. */
	if (a->conflict_term == 0 && a->conflict_index >= 1 &&
	    a->conflict_index <= p->match_index &&
	    a->prev_index >= a->conflict_index) {
		trace(r,
		      "term %llu: follower %u lost entries after %llu "
		      "(had acknowledged %llu); repairing",
		      (unsigned long long)r->term, m->from,
		      (unsigned long long)(a->conflict_index - 1),
		      (unsigned long long)p->match_index);
		p->match_index = a->conflict_index - 1;
		p->state = RAFT_PROGRESS_PROBE;
		p->next_index = a->conflict_index;
		p->n_inflight = 0;
		send_append(r, p);
		return;
	}
	/* Ignore answers to requests we no longer care about.  In
	 * REPLICATE a rejection with prev_index == match_index is not one
	 * of them: a pipelined request that overtook its predecessor was
	 * refused before the predecessor landed, and its entries (still
	 * counted in flight) were never appended; the generic path below
	 * resumes from match_index + 1. */
	if (p->state == RAFT_PROGRESS_PROBE) {
		if (a->prev_index + 1 != p->next_index)
			return;
	} else if (a->prev_index < p->match_index) {
		return;
	}
	if (a->conflict_term != 0) {
		/* Skip to after our last entry of the conflicting term, or
		 * past the follower's whole term if we have none of it. */
		uint64_t i = a->prev_index < last ? a->prev_index : last;
		while (i > r->log.offset &&
		       log_term_at(&r->log, i) > a->conflict_term)
			i--;
		if (i > r->log.offset &&
		    log_term_at(&r->log, i) == a->conflict_term)
			next = i + 1;
		else
			next = a->conflict_index;
	} else {
		next = a->conflict_index;
	}
	if (next > a->prev_index)
		next = a->prev_index; /* always move back */
	if (next < p->match_index + 1)
		next = p->match_index + 1;
	if (next > last + 1)
		next = last + 1;
	if (next < 1)
		next = 1;
	p->state = RAFT_PROGRESS_PROBE;
	p->next_index = next;
	p->n_inflight = 0;
	send_append(r, p);
}

static void send_snapshot_resp(struct raft *r, const struct raft_msg *req,
			       bool success, uint64_t index)
{
	struct raft_msg *resp = msg_new(r, RAFT_MSG_SNAPSHOT_RESP, req->from);

	resp->u.snapshot_resp.success = success;
	resp->u.snapshot_resp.index = index;
}

/* InstallSnapshot, receiver side (§7, Figure 13).  The caller delivers the
 * message once the snapshot's data is durable here; the core only decides
 * what becomes of the log and the commit index, and reports it in the
 * update (snapshot_index, step 2 of raft.h's order) for the caller to
 * carry out before the answer leaves. */
static void recv_snapshot(struct raft *r, const struct raft_msg *m)
{
	const struct raft_msg_snapshot *s = &m->u.snapshot;
	bool keep;

	if (m->term < r->term) {
		/* Figure 13: "Reply immediately if term < currentTerm"; our
		 * term makes the stale leader step down (§5.1). */
		send_snapshot_resp(r, m, false, 0);
		return;
	}
	/* m->from claims to lead m->term, as with AppendEntries: a claim
	 * for a term whose leader we know, by anyone else (or while we
	 * lead it), is from a broken or forged peer (§5.2, Election
	 * Safety).  Installing it could replace entries no leader ever
	 * committed: drop it. */
	if (r->role == RAFT_LEADER) {
		drop(r, m, "InstallSnapshot from a second leader of our term");
		return;
	}
	if (r->term_leader != 0 && r->term_leader != m->from) {
		drop(r, m, "InstallSnapshot from a second leader of the term");
		return;
	}
	if (r->role != RAFT_FOLLOWER || r->leader_id != m->from)
		become_follower(r, m->term, m->from);
	r->last_leader_contact = r->now;
	reset_election_timer(r);

	if (s->index <= r->commit_index) {
		/* We hold everything it covers, committed (an answer that
		 * was lost, a duplicate, or a follower that caught up
		 * meanwhile): nothing to install. */
		send_snapshot_resp(r, m, true, r->commit_index);
		return;
	}
	/* Figure 13, step 6: "If existing log entry has same index and term
	 * as snapshot's last included entry, retain log entries following
	 * it" (by Log Matching they are the leader's too); step 7: otherwise
	 * "discard the entire log".  Entries after the commit index are the
	 * only ones that can go, and none of them is committed. */
	keep = s->index <= log_last_index(&r->log) &&
	       log_term_at(&r->log, s->index) == s->term;
	if (keep) {
		log_compact(&r->log, s->index);
		if (r->persisted_index < s->index)
			r->persisted_index = s->index;
	} else {
		log_reset(&r->log, s->index, s->term);
		r->persisted_index = s->index;
	}
	/* The snapshot's configuration is the one at its index (§4.1,
	 * §7: "the snapshot includes the latest configuration"); one in
	 * the entries kept after it is newer. */
	r->conf_base = *s->conf;
	conf_restore(r);
	r->commit_index = s->index;
	r->snapshot_index = s->index;
	r->snapshot_term = s->term;
	r->up.snapshot_index = s->index;
	r->up.snapshot_term = s->term;
	trace(r,
	      "term %llu: installed the snapshot of %u up to (%llu, %llu), "
	      "%s",
	      (unsigned long long)r->term, m->from,
	      (unsigned long long)s->index, (unsigned long long)s->term,
	      keep ? "keeping the entries after it" : "discarding the log");
	send_snapshot_resp(r, m, true, s->index);
}

/* InstallSnapshot's answer, on the leader.  Its index, not the one the
 * request named, is what the follower now holds: the caller may have
 * sent a newer snapshot than the message said. */
static void recv_snapshot_resp(struct raft *r, const struct raft_msg *m)
{
	const struct raft_msg_snapshot_resp *a = &m->u.snapshot_resp;
	struct raft_progress *p = progress_of(r, m->from);

	if (r->role != RAFT_LEADER || m->term != r->term)
		return; /* stale */
	/* A leader without a snapshot never sent one; a follower of our
	 * term refuses none (it refuses a stale term only, answering with
	 * its newer one); and what it holds is committed, so within our
	 * log (§5.4).  Anything else would move match_index past our log. */
	if (r->snapshot_index == 0 || !a->success ||
	    a->index > log_last_index(&r->log)) {
		drop(r, m, "InstallSnapshot answer to a request never sent");
		return;
	}
	p->recent_active = true;
	if (a->index > p->match_index) {
		p->match_index = a->index;
		p->last_progress = r->now;
	}
	if (p->state == RAFT_PROGRESS_REPLICATE) {
		/* A late or duplicate answer: the pipeline goes on. */
		if (p->next_index < p->match_index + 1)
			p->next_index = p->match_index + 1;
		progress_free_inflight(p, p->match_index);
	} else {
		trace(r,
		      "term %llu: follower %u installed a snapshot up to %llu",
		      (unsigned long long)r->term, m->from,
		      (unsigned long long)a->index);
		snapshot_done(r, p);
	}
	maybe_commit(r);
	maybe_send(r, p);
}

/* Thesis §3.10: our leader tells us to campaign now (it stopped taking
 * proposals and we hold its whole log).  The election skips PreVote and
 * its requests say so, so that voters who hear from the leader grant them
 * (§4.2.3). */
static void recv_timeout_now(struct raft *r, const struct raft_msg *m)
{
	if (m->term != r->term || r->role != RAFT_FOLLOWER ||
	    r->term_leader != m->from) {
		drop(r, m, "TimeoutNow not from the leader of our term");
		return;
	}
	if (!self_voter(r) || r->term >= RAFT_MAX_TERM)
		return;
	trace(r, "term %llu: leader %u hands over: campaigning now",
	      (unsigned long long)r->term, m->from);
	become_candidate(r, true);
}

/* Bounds a message must respect on its own, whatever the receiver's state
 * (raft.h).  Nothing from the network is trusted: these are the checks that
 * keep a forged or corrupted message from overflowing the core's
 * arithmetic or storing a log that breaks Raft's invariants. */
const char *raft_msg_check(const struct raft_msg *m)
{
	uint32_t i;

	if (m->term > RAFT_MAX_TERM)
		return "term out of range";
	switch (m->type) {
	case RAFT_MSG_VOTE: {
		const struct raft_msg_vote *v = &m->u.vote;
		if (m->term == 0)
			return "vote request for term 0";
		if (v->last_log_index > RAFT_MAX_INDEX)
			return "last log index out of range";
		/* A candidate's log holds no term above the one it asks for;
		 * an empty log has term 0, every entry a term >= 1. */
		if (v->last_log_term > m->term)
			return "last log term above the request's term";
		if ((v->last_log_index == 0) != (v->last_log_term == 0))
			return "last log index and term disagree";
		return NULL;
	}
	case RAFT_MSG_VOTE_RESP:
		return NULL;
	case RAFT_MSG_APPEND: {
		const struct raft_msg_append *a = &m->u.append;
		uint64_t prev = a->prev_term;
		if (m->term == 0)
			return "AppendEntries for term 0";
		if (a->prev_index > RAFT_MAX_INDEX ||
		    a->leader_commit > RAFT_MAX_INDEX)
			return "index out of range";
		if (a->n_entries > RAFT_MAX_MSG_ENTRIES ||
		    a->prev_index + a->n_entries > RAFT_MAX_INDEX)
			return "too many entries";
		if (a->prev_term > m->term)
			return "prev term above the leader's term";
		if ((a->prev_index == 0) != (a->prev_term == 0))
			return "prev index and prev term disagree";
		if (a->n_entries > 0 && a->entries == NULL)
			return "entries missing";
		/* §5.3, Figure 2: a leader's log holds entries whose terms
		 * never decrease, none above its own term, none of term 0. */
		for (i = 0; i < a->n_entries; i++) {
			const struct raft_entry *e = &a->entries[i];
			if (e->term == 0 || e->term < prev || e->term > m->term)
				return "entry terms out of order";
			if (e->type != RAFT_ENTRY_NOOP &&
			    e->type != RAFT_ENTRY_COMMAND &&
			    e->type != RAFT_ENTRY_CONFIG)
				return "unknown entry type";
			if (e->len > RAFT_MAX_ENTRY_BYTES ||
			    (e->len > 0 && e->buf == NULL))
				return "bad entry length";
			if (e->type == RAFT_ENTRY_CONFIG) {
				struct raft_conf c;
				const char *why =
				    raft_conf_decode(e->buf, e->len, &c);
				if (why != NULL)
					return why;
			}
			prev = e->term;
		}
		return NULL;
	}
	case RAFT_MSG_APPEND_RESP: {
		const struct raft_msg_append_resp *a = &m->u.append_resp;
		if (a->prev_index > RAFT_MAX_INDEX ||
		    a->match_index > RAFT_MAX_INDEX ||
		    a->conflict_index > RAFT_MAX_INDEX ||
		    a->last_log_index > RAFT_MAX_INDEX)
			return "index out of range";
		if (a->conflict_term > m->term)
			return "conflict term above the follower's term";
		return NULL;
	}
	case RAFT_MSG_SNAPSHOT: {
		const struct raft_msg_snapshot *sn = &m->u.snapshot;
		if (m->term == 0)
			return "InstallSnapshot for term 0";
		/* A snapshot covers at least one entry, of a term >= 1 and
		 * not above the leader's (§5.3: its log holds no later
		 * term). */
		if (sn->index == 0 || sn->index > RAFT_MAX_INDEX)
			return "snapshot index out of range";
		if (sn->term == 0)
			return "snapshot term 0";
		if (sn->term > m->term)
			return "snapshot term above the leader's term";
		if (sn->conf != NULL && raft_conf_check(sn->conf) != NULL)
			return "snapshot's configuration invalid";
		return NULL;
	}
	case RAFT_MSG_TIMEOUT_NOW:
		if (m->term == 0)
			return "TimeoutNow for term 0";
		return NULL;
	case RAFT_MSG_SNAPSHOT_RESP: {
		const struct raft_msg_snapshot_resp *a = &m->u.snapshot_resp;
		if (a->index > RAFT_MAX_INDEX)
			return "index out of range";
		/* Success names what the follower holds (>= 1: a snapshot
		 * covers an entry); a refusal names nothing. */
		if (a->success != (a->index != 0))
			return "snapshot answer's index and outcome disagree";
		return NULL;
	}
	}
	return "unknown message type";
}

/* raft_msg_check() plus what depends on this node: addressed to us, from
 * another member, and a term within reach of ours. */
static const char *msg_refusal(const struct raft *r, const struct raft_msg *m)
{
	const char *why = raft_msg_check(m);

	if (why != NULL)
		return why;
	if (m->to != r->cfg.id)
		return "addressed to another node";
	if (m->from == 0 || m->from == r->cfg.id)
		return "not from a peer";
	/* Refused before its term is taken (raft.h: a refused message
	 * changes nothing), not dropped after. */
	if (m->type == RAFT_MSG_SNAPSHOT && m->u.snapshot.conf == NULL)
		return "InstallSnapshot without its configuration";
	/* Requests are taken from any peer (thesis §4.1: "servers process
	 * incoming RPC requests without consulting their current
	 * configurations"): a new member, or one whose log lags, must
	 * accept a leader its configuration does not list yet, and grant a
	 * vote to a candidate it does not know is a voter (the only one
	 * with the whole log may be such a one).  A removed server cannot
	 * disrupt the cluster by campaigning: voters that hear from a
	 * leader ignore it (§4.2.3, the lease in recv_vote), and PreVote
	 * keeps it from raising terms.  Answers come only from members we
	 * asked. */
	if ((m->type == RAFT_MSG_VOTE_RESP || m->type == RAFT_MSG_APPEND_RESP ||
	     m->type == RAFT_MSG_SNAPSHOT_RESP) &&
	    progress_of((struct raft *)r, m->from) == NULL)
		return "an answer from a non-member";
	/* TimeoutNow skips PreVote and the voters' lease: only the leader
	 * of our own term may send it (it never adopts a term). */
	if (m->type == RAFT_MSG_TIMEOUT_NOW && m->term != r->term)
		return "TimeoutNow of another term";
	if (m->term > r->term + RAFT_MAX_TERM_JUMP)
		return "term jumps too far ahead";
	return NULL;
}

int raft_recv(struct raft *r, uint64_t now, const struct raft_msg *m)
{
	const char *why;

	update_begin(r, now);
	why = msg_refusal(r, m);
	if (why != NULL) {
		drop(r, m, why);
		return RAFT_EINVAL;
	}

	/* §5.1: a higher term makes us a follower, except for what PreVote
	 * must not disturb: a prevote request, and a granted prevote reply
	 * (which carries the proposed term, not the voter's).  Vote requests
	 * are handled in recv_vote, which may ignore them (lease). */
	if (m->term > r->term && m->type != RAFT_MSG_VOTE &&
	    !(m->type == RAFT_MSG_VOTE_RESP && m->u.vote_resp.prevote &&
	      m->u.vote_resp.granted)) {
		uint32_t leader = (m->type == RAFT_MSG_APPEND ||
				   m->type == RAFT_MSG_SNAPSHOT ||
				   m->type == RAFT_MSG_TIMEOUT_NOW)
				      ? m->from
				      : 0;
		become_follower(r, m->term, leader);
	}

	switch (m->type) {
	case RAFT_MSG_VOTE:
		recv_vote(r, m);
		break;
	case RAFT_MSG_VOTE_RESP:
		recv_vote_resp(r, m);
		break;
	case RAFT_MSG_APPEND:
		recv_append(r, m);
		break;
	case RAFT_MSG_APPEND_RESP:
		recv_append_resp(r, m);
		break;
	case RAFT_MSG_SNAPSHOT:
		recv_snapshot(r, m);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		recv_snapshot_resp(r, m);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		recv_timeout_now(r, m);
		break;
	}
	return RAFT_OK;
}

/* ---- other events ----------------------------------------------------------
 */

void raft_tick(struct raft *r, uint64_t now)
{
	uint32_t i;

	update_begin(r, now);
	if (r->role != RAFT_LEADER) {
		/* §5.2: no word from a leader within the timeout: campaign. */
		if (r->now >= r->election_deadline)
			start_election(r);
		return;
	}
	if (r->transfer_to != 0 && r->now >= r->transfer_deadline) {
		/* Thesis §3.10: the target did not take over within an
		 * election timeout: take proposals again; or, for a leader
		 * handing over because it was removed (§4.2.2), step down
		 * (the others elect a leader). */
		trace(r, "term %llu: transfer to %u timed out",
		      (unsigned long long)r->term, r->transfer_to);
		r->transfer_to = 0;
		if (!self_voter(r) && r->conf_index <= r->commit_index) {
			become_follower(r, r->term, 0);
			return;
		}
	}
	if (r->cfg.check_quorum && r->now >= r->quorum_deadline) {
		/* Thesis §6.2: a leader that has not heard from a majority
		 * within an election timeout steps down, so clients find the
		 * real leader and a partitioned leader stops serving. */
		size_t active = 0;
		for (i = 0; i < r->n_progress; i++)
			if (is_voter(r, &r->progress[i]) &&
			    (is_self(r, &r->progress[i]) ||
			     r->progress[i].recent_active))
				active++;
		if (active < majority(r)) {
			trace(r,
			      "term %llu: lost contact with a majority, "
			      "stepping down",
			      (unsigned long long)r->term);
			become_follower(r, r->term, 0);
			return;
		}
		for (i = 0; i < r->n_progress; i++)
			r->progress[i].recent_active = false;
		r->quorum_deadline = r->now + r->cfg.election_min_ms;
	}
	if (r->now >= r->heartbeat_deadline) {
		/* A pipelined follower that made no progress for two
		 * heartbeats probably lost a request: probe again from
		 * its match index (retransmission). */
		for (i = 0; i < r->n_progress; i++) {
			struct raft_progress *p = &r->progress[i];
			if (!is_self(r, p) &&
			    p->state == RAFT_PROGRESS_SNAPSHOT &&
			    r->now >=
				p->snapshot_at +
				    RAFT_SNAPSHOT_TIMEOUT_ELECTIONS *
					(uint64_t)r->cfg.election_max_ms) {
				/* §7: no answer (the request or the answer
				 * lost, and the caller did not notice): send
				 * it again, with this round. */
				trace(r,
				      "term %llu: snapshot to %u unanswered "
				      "since %llu; sending it again",
				      (unsigned long long)r->term, p->id,
				      (unsigned long long)p->snapshot_at);
				snapshot_retry(r, p, false);
				continue;
			}
			if (is_self(r, p) ||
			    p->state != RAFT_PROGRESS_REPLICATE)
				continue;
			if (p->match_index < log_last_index(&r->log) &&
			    r->now >= p->last_progress +
					  2 * (uint64_t)r->cfg.heartbeat_ms) {
				p->state = RAFT_PROGRESS_PROBE;
				p->next_index = p->match_index + 1;
				p->n_inflight = 0;
				p->last_progress = r->now;
				r->stall_probes++;
			}
		}
		broadcast_heartbeat(r, true);
	}
}

void raft_persisted(struct raft *r, uint64_t now, uint64_t index, uint64_t term)
{
	update_begin(r, now);
	if (index <= r->persisted_index || index > log_last_index(&r->log))
		return;
	if (log_term_at(&r->log, index) != term)
		return; /* overwritten since: that write is moot */
	r->persisted_index = index;
	maybe_commit(r);
}

int raft_propose(struct raft *r, uint64_t now, uint8_t type, const void *buf,
		 uint32_t len, uint64_t *index, uint64_t *term)
{
	uint32_t i;

	update_begin(r, now);
	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (r->transfer_to != 0)
		return RAFT_EBUSY; /* thesis §3.10: new entries would only
				    * delay the target */
	if (len > RAFT_MAX_ENTRY_BYTES)
		return RAFT_ETOOBIG;
	if (type != RAFT_ENTRY_COMMAND && type != RAFT_ENTRY_NOOP)
		return RAFT_EINVAL;
	if (log_last_index(&r->log) >= RAFT_MAX_INDEX)
		return RAFT_EINVAL;
	/* §5.3: "the leader appends the command to its log as a new entry,
	 * then issues AppendEntries RPCs in parallel". */
	log_append(&r->log, r->term, type, buf, len);
	note_append(r, log_last_index(&r->log));
	*index = log_last_index(&r->log);
	*term = r->term;
	for (i = 0; i < r->n_progress; i++)
		if (!is_self(r, &r->progress[i]))
			maybe_send(r, &r->progress[i]);
	return RAFT_OK;
}

const struct raft_update *raft_update_take(struct raft *r)
{
	size_t i;

	/* Point append requests at the log now that no entry will move. */
	for (i = 0; i < r->up.n_msgs; i++) {
		struct raft_msg *m = &r->msgs[i];
		if (m->type == RAFT_MSG_APPEND && m->u.append.n_entries > 0)
			m->u.append.entries =
			    log_at(&r->log, m->u.append.prev_index + 1);
	}
	r->up.term = r->term;
	r->up.vote = r->vote;
	r->up.msgs = r->msgs;
	r->up.reads = r->reads;
	r->up.reads_failed = r->reads_failed;
	r->up.commit_index = r->commit_index;
	r->up.commit_changed = r->commit_index != r->up_commit0;
	r->up.role = r->role;
	r->up.role_changed = r->role != r->up_role0;
	r->up.leader_id = r->leader_id;
	r->up.wake_at = next_wake(r);
	r->up.trace = r->trace ? r->trace : "";
	return &r->up;
}

/* ---- lifecycle -------------------------------------------------------------
 */

int raft_init(struct raft *r, const struct raft_config *cfg)
{
	uint32_t i, j;
	bool self = false;

	memset(r, 0, sizeof(*r));
	if (cfg->n_nodes < 1 || cfg->n_nodes > RAFT_MAX_NODES || cfg->id == 0)
		return RAFT_EINVAL;
	for (i = 0; i < cfg->n_nodes; i++) {
		if (cfg->nodes[i] == 0)
			return RAFT_EINVAL;
		if (cfg->nodes[i] == cfg->id)
			self = true;
		for (j = 0; j < i; j++)
			if (cfg->nodes[j] == cfg->nodes[i])
				return RAFT_EINVAL;
	}
	(void)self; /* a node outside the bootstrap list waits to be added */
	if (cfg->election_min_ms < 1 ||
	    cfg->election_min_ms > cfg->election_max_ms ||
	    cfg->heartbeat_ms < 1 ||
	    cfg->heartbeat_ms >= cfg->election_min_ms ||
	    cfg->max_batch_entries < 1 || cfg->max_batch_bytes < 1 ||
	    cfg->max_inflight < 1 || cfg->max_inflight > RAFT_MAX_INFLIGHT)
		return RAFT_EINVAL;
	r->cfg = *cfg;
	r->rng = cfg->seed ? cfg->seed : 0x9E3779B97F4A7C15ULL;
	/* The bootstrap configuration: every listed node a voter. */
	r->conf_base.n = cfg->n_nodes;
	for (i = 0; i < cfg->n_nodes; i++) {
		r->conf_base.m[i].id = cfg->nodes[i];
		r->conf_base.m[i].flags = RAFT_MEMBER_VOTER;
	}
	raft_conf_sort(&r->conf_base);
	r->conf = r->conf_base;
	r->n_progress = r->conf.n;
	for (i = 0; i < r->conf.n; i++)
		r->progress[i].id = r->conf.m[i].id;
	r->role = RAFT_FOLLOWER;
	return RAFT_OK;
}

void raft_close(struct raft *r)
{
	log_free(&r->log);
	free(r->pending_reads);
	free(r->msgs);
	free(r->reads);
	free(r->reads_failed);
	free(r->trace);
	memset(r, 0, sizeof(*r));
}

int raft_load_hard_state(struct raft *r, uint64_t term, uint32_t vote)
{
	/* The vote may be for a member the bootstrap list does not name
	 * (added later): any id. */
	if (term > RAFT_MAX_TERM)
		return RAFT_EINVAL;
	r->term = term;
	r->vote = vote;
	return RAFT_OK;
}

int raft_load_snapshot(struct raft *r, uint64_t base_index, uint64_t base_term,
		       uint64_t snap_index, uint64_t snap_term,
		       const struct raft_conf *snap_conf)
{
	/* Once, before any entry and before raft_start (which draws the
	 * first election deadline, never 0). */
	if (r->log.n != 0 || r->log.offset != 0 || r->snapshot_index != 0 ||
	    r->election_deadline != 0)
		return RAFT_EINVAL;
	if (snap_index > RAFT_MAX_INDEX || snap_term > RAFT_MAX_TERM ||
	    base_index > snap_index)
		return RAFT_EINVAL;
	/* Index 0 has term 0, every entry a term >= 1, and terms never
	 * decrease along a log (§5.3). */
	if ((base_index == 0) != (base_term == 0) ||
	    (snap_index == 0) != (snap_term == 0) || base_term > snap_term ||
	    (base_index == snap_index && base_term != snap_term))
		return RAFT_EINVAL;
	if (snap_conf != NULL && raft_conf_check(snap_conf) != NULL)
		return RAFT_EINVAL;
	/* The snapshot's configuration stands for the one at the log's
	 * offset: any configuration entry between the offset and the
	 * snapshot's index is still in the log and found by the scans, and
	 * nothing before the snapshot is ever truncated (it is committed). */
	if (snap_conf != NULL)
		r->conf_base = *snap_conf;
	r->log.offset = base_index;
	r->log.offset_term = base_term;
	r->snapshot_index = snap_index;
	r->snapshot_term = snap_term;
	/* A snapshot holds only committed entries (§7), applied by the
	 * state machine it was taken of. */
	r->commit_index = snap_index;
	r->persisted_index = base_index;
	return RAFT_OK;
}

int raft_load_entry(struct raft *r, uint64_t term, uint8_t type,
		    const void *buf, uint32_t len)
{
	if (len > RAFT_MAX_ENTRY_BYTES)
		return RAFT_ETOOBIG;
	if (term == 0 || term > RAFT_MAX_TERM ||
	    log_last_index(&r->log) >= RAFT_MAX_INDEX ||
	    term < log_term_at(&r->log, log_last_index(&r->log)))
		return RAFT_EINVAL; /* terms never decrease along a log */
	if (type == RAFT_ENTRY_CONFIG) {
		struct raft_conf c;
		if (raft_conf_decode(buf, len, &c) != NULL)
			return RAFT_EINVAL;
	}
	log_append(&r->log, term, type, buf, len);
	r->persisted_index = log_last_index(&r->log);
	return RAFT_OK;
}

void raft_start(struct raft *r, uint64_t now)
{
	update_begin(r, now);
	r->now = now;
	r->role = RAFT_FOLLOWER;
	r->leader_id = 0;
	r->term_leader = 0;
	if (r->snapshot_index > r->log.offset &&
	    log_term_at(&r->log, r->snapshot_index) != r->snapshot_term) {
		/* The stored log does not reach the snapshot's last entry,
		 * or holds another one there: the snapshot became durable
		 * before the log writes it covers (a crash between the two),
		 * or before an install's rewrite of the log.  What the log
		 * holds up to there is superseded by the committed entries
		 * the snapshot covers, and what follows a different entry
		 * at its index is not committed (Log Matching): Figure 13,
		 * step 7, discard it.  The update asks the caller to do the
		 * same to its stored log. */
		trace(r,
		      "term %llu: the log (%llu..%llu) does not hold the "
		      "snapshot's last entry (%llu, %llu); discarding it",
		      (unsigned long long)r->term,
		      (unsigned long long)r->log.offset + 1,
		      (unsigned long long)log_last_index(&r->log),
		      (unsigned long long)r->snapshot_index,
		      (unsigned long long)r->snapshot_term);
		log_reset(&r->log, r->snapshot_index, r->snapshot_term);
		r->persisted_index = r->snapshot_index;
		r->up.snapshot_index = r->snapshot_index;
		r->up.snapshot_term = r->snapshot_term;
	}
	/* The latest configuration in the loaded log, else the base. */
	conf_restore(r);
	/* A log entry of a term we never recorded means the hard state was
	 * lost; adopt the term and have it written again, with a vote for
	 * ourselves: we may have voted in that term, so we must not vote for
	 * anyone else in it (§5.2, one vote per term). */
	if (r->term < log_term_at(&r->log, log_last_index(&r->log))) {
		r->term = log_term_at(&r->log, log_last_index(&r->log));
		r->vote = r->cfg.id;
		note_hard_state(r);
	}
	reset_election_timer(r);
}

/* ---- snapshots taken by the caller (§7) --------------------------------- */

int raft_snapshot_taken(struct raft *r, uint64_t index, uint64_t compact_to)
{
	/* A snapshot holds committed entries only (§7), of the log we hold
	 * (its last entry's term must be known: the offset's counts), and
	 * never goes back to an older one than the latest. */
	if (index == 0 || index > r->commit_index || index < r->log.offset ||
	    index > log_last_index(&r->log) || index < r->snapshot_index)
		return RAFT_EINVAL;
	if (compact_to < r->log.offset || compact_to > index)
		return RAFT_EINVAL;
	r->snapshot_index = index;
	r->snapshot_term = log_term_at(&r->log, index);
	/* The configuration in force at the new offset becomes the base
	 * (what a scan of the log no longer finds). */
	conf_at(r, compact_to, &r->conf_base);
	/* Nothing else refers to the entries that go: a follower's
	 * next_index below the new offset makes the next send a snapshot
	 * (send_append, maybe_send), a heartbeat names prev 0 when the
	 * follower's match is below it (send_heartbeat), reads name only
	 * indexes, and messages of the last update were the caller's to
	 * use before this call (raft.h). */
	log_compact(&r->log, compact_to);
	if (r->persisted_index < compact_to)
		r->persisted_index = compact_to;
	return RAFT_OK;
}

void raft_snapshot_failed(struct raft *r, uint64_t now, uint32_t to)
{
	struct raft_progress *p;

	update_begin(r, now);
	if (r->role != RAFT_LEADER)
		return;
	p = progress_of(r, to);
	if (p == NULL || is_self(r, p) || p->state != RAFT_PROGRESS_SNAPSHOT)
		return; /* answered, timed out or deposed meanwhile */
	trace(r,
	      "term %llu: snapshot to %u failed; sending it again once it "
	      "answers a heartbeat",
	      (unsigned long long)r->term, to);
	snapshot_retry(r, p, true);
}

/* ---- accessors
 * --------------------------------------------------------------- */

enum raft_role raft_role(const struct raft *r) { return r->role; }

uint64_t raft_term(const struct raft *r) { return r->term; }

uint32_t raft_leader(const struct raft *r) { return r->leader_id; }

uint64_t raft_commit_index(const struct raft *r) { return r->commit_index; }

uint64_t raft_last_index(const struct raft *r)
{
	return log_last_index(&r->log);
}

uint64_t raft_last_term(const struct raft *r)
{
	return log_term_at(&r->log, log_last_index(&r->log));
}

uint64_t raft_first_index(const struct raft *r) { return r->log.offset + 1; }

uint64_t raft_snapshot_index(const struct raft *r) { return r->snapshot_index; }

const struct raft_conf *raft_conf(const struct raft *r) { return &r->conf; }

uint64_t raft_conf_index(const struct raft *r) { return r->conf_index; }

int raft_conf_at(const struct raft *r, uint64_t index, struct raft_conf *out)
{
	if (index < r->log.offset || index > log_last_index(&r->log))
		return RAFT_EINVAL;
	conf_at(r, index, out);
	return RAFT_OK;
}

uint64_t raft_match_index(const struct raft *r, uint32_t id)
{
	uint32_t i;

	if (r->role != RAFT_LEADER)
		return 0;
	for (i = 0; i < r->n_progress; i++)
		if (r->progress[i].id == id)
			return is_self(r, &r->progress[i])
				   ? r->persisted_index
				   : r->progress[i].match_index;
	return 0;
}

uint32_t raft_transfer_target(const struct raft *r) { return r->transfer_to; }

uint64_t raft_term_at(const struct raft *r, uint64_t index)
{
	return log_term_at(&r->log, index);
}

const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index)
{
	return log_at(&r->log, index);
}

/* ---- message copies
 * ------------------------------------------------------------ */

int raft_msg_copy(struct raft_msg *dst, const struct raft_msg *src)
{
	uint32_t i, n;

	*dst = *src;
	if (src->type == RAFT_MSG_SNAPSHOT)
		dst->u.snapshot.conf = NULL; /* borrowed: not the copy's */
	if (src->type != RAFT_MSG_APPEND || src->u.append.n_entries == 0) {
		if (src->type == RAFT_MSG_APPEND)
			dst->u.append.entries = NULL;
		return RAFT_OK;
	}
	n = src->u.append.n_entries;
	dst->u.append.entries =
	    core_realloc(NULL, n * sizeof(struct raft_entry));
	for (i = 0; i < n; i++) {
		const struct raft_entry *s = &src->u.append.entries[i];
		struct raft_entry *d = &dst->u.append.entries[i];
		*d = *s;
		d->buf = NULL;
		if (s->len > 0) {
			d->buf = core_realloc(NULL, s->len);
			memcpy(d->buf, s->buf, s->len);
		}
	}
	return RAFT_OK;
}

void raft_msg_free(struct raft_msg *m)
{
	uint32_t i;

	if (m->type == RAFT_MSG_APPEND && m->u.append.entries != NULL) {
		for (i = 0; i < m->u.append.n_entries; i++)
			free(m->u.append.entries[i].buf);
		free(m->u.append.entries);
	}
	m->u.append.entries = NULL;
	m->u.append.n_entries = 0;
}
