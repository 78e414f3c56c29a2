/* world.c: the simulated cluster (world.h): event loop, network, disks,
 * crashes, and the Raft invariants checked after every step.
 *
 * One step is one event given to one core (a message delivered, a timer
 * tick, a write that became durable, a client call).  After the event the
 * core's update is carried out exactly in the order raft.h prescribes, and
 * everything it reported is checked against what the world has seen so
 * far.  The world is a pure function of its seed: the only randomness is
 * its own splitmix64 stream and events are ordered by (time, kind, id). */
#include "world.h"

#include "core/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* More steps than this at one instant means the cores are ping-ponging
 * without time passing (a livelock), not a busy cluster. */
#define WORLD_LIVELOCK_STEPS 200000u
/* The full O(log) sweep runs this often (in steps) and at the end. */
#define WORLD_DEEP_EVERY 1024u

/* ---- memory ------------------------------------------------------------- */

/* Out of memory is fatal, as everywhere in raftd (common/xalloc.h). */
static void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (q == NULL) {
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	return q;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL) {
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	return p;
}

#define GROW(arr, cap, need)                                                   \
	do {                                                                   \
		if ((need) > (cap)) {                                          \
			size_t c_ = (cap) ? (size_t)(cap)*2 : 16;              \
			while (c_ < (size_t)(need))                            \
				c_ *= 2;                                       \
			(arr) = xrealloc((arr), c_ * sizeof(*(arr)));          \
			(cap) = c_;                                            \
		}                                                              \
	} while (0)

/* ---- failures and checks ------------------------------------------------ */

void world_fail(struct world *w, const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof(w->why) - 128];

	if (w->failed)
		return;
	w->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(w->why, sizeof(w->why), "[%s] SEED=%llu t=%llums: %s",
		 w->o.name, (unsigned long long)w->o.seed,
		 (unsigned long long)w->now, msg);
	printf("sim: FAIL %s\n", w->why);
	fflush(stdout);
}

/* Every assertion about the cores goes through CHECK so it is counted. */
#define CHECK(w, cond, ...)                                                    \
	do {                                                                   \
		(w)->checks++;                                                 \
		if (!(cond))                                                   \
			world_fail((w), __VA_ARGS__);                          \
	} while (0)

/* Verbose output: the trace of a run, for a reader or a golden file. */
static FILE *trace_out(const struct world *w)
{
	return w->o.trace_out != NULL ? w->o.trace_out : stdout;
}

static void vlog(struct world *w, uint32_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void vlog(struct world *w, uint32_t id, const char *fmt, ...)
{
	va_list ap;

	if (!w->o.verbose)
		return;
	fprintf(trace_out(w), "%8llu n%u ", (unsigned long long)w->now, id);
	va_start(ap, fmt);
	vfprintf(trace_out(w), fmt, ap);
	va_end(ap);
	fputc('\n', trace_out(w));
}

static const char *msg_name(enum raft_msg_type t)
{
	switch (t) {
	case RAFT_MSG_VOTE:
		return "vote";
	case RAFT_MSG_VOTE_RESP:
		return "vote-resp";
	case RAFT_MSG_APPEND:
		return "append";
	case RAFT_MSG_APPEND_RESP:
		return "append-resp";
	case RAFT_MSG_SNAPSHOT:
		return "snapshot";
	case RAFT_MSG_SNAPSHOT_RESP:
		return "snapshot-resp";
	case RAFT_MSG_TIMEOUT_NOW:
		return "timeout-now";
	}
	return "?";
}

/* ---- entry hashes ------------------------------------------------------- */

static uint64_t entry_hash(uint64_t term, uint8_t type, const uint8_t *buf,
			   uint32_t len)
{
	uint64_t h = 0xCBF29CE484222325ULL; /* FNV-1a */
	uint32_t i;

	for (i = 0; i < len; i++) {
		h ^= buf[i];
		h *= 0x100000001B3ULL;
	}
	return rng_mix(h ^ rng_mix(term * 256 + type) ^ ((uint64_t)len << 40));
}

static uint64_t chain_next(uint64_t prev, uint64_t eh)
{
	return rng_mix(prev * 0x9E3779B97F4A7C15ULL + eh + 1);
}

/* The proposal id a payload carries (world_propose writes it first). */
static uint64_t payload_pid(uint8_t type, const uint8_t *buf, uint32_t len)
{
	uint64_t pid = 0;
	int i;

	if (type != RAFT_ENTRY_COMMAND || len < 8)
		return 0;
	for (i = 7; i >= 0; i--)
		pid = pid << 8 | buf[i];
	return pid;
}

static uint64_t node_now(const struct world *w, const struct node *nd)
{
	return w->now + nd->clock_offset;
}

/* ---- membership (thesis chapter 4) ----------------------------------------
 */

static void sim_conf_from(struct sim_conf *s, const struct raft_conf *c)
{
	uint32_t i;

	memset(s, 0, sizeof(*s));
	s->n = c->n;
	for (i = 0; i < c->n && i < RAFT_MAX_NODES; i++) {
		s->id[i] = c->m[i].id;
		s->flags[i] = c->m[i].flags;
	}
}

static int sim_conf_find(const struct sim_conf *c, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < c->n; i++)
		if (c->id[i] == id)
			return (int)i;
	return -1;
}

bool sim_conf_has(const struct sim_conf *c, uint32_t id)
{
	return sim_conf_find(c, id) >= 0;
}

bool sim_conf_is_voter(const struct sim_conf *c, uint32_t id)
{
	int k = sim_conf_find(c, id);

	return k >= 0 && (c->flags[k] & RAFT_MEMBER_VOTER) != 0;
}

static uint32_t sim_conf_voters(const struct sim_conf *c)
{
	uint32_t i, n = 0;

	for (i = 0; i < c->n; i++)
		n += (c->flags[i] & RAFT_MEMBER_VOTER) != 0;
	return n;
}

/* Members added, removed, or whose flags changed, from a to b. */
static uint32_t sim_conf_diff(const struct sim_conf *a,
			      const struct sim_conf *b)
{
	uint32_t i, d = 0;

	for (i = 0; i < b->n; i++) {
		int k = sim_conf_find(a, b->id[i]);
		d += k < 0 || a->flags[k] != b->flags[i];
	}
	for (i = 0; i < a->n; i++)
		d += !sim_conf_has(b, a->id[i]);
	return d;
}

/* The configuration in force on nd: its log's latest. */
static const struct sim_conf *node_conf(const struct node *nd)
{
	return nd->n_confs ? &nd->confs[nd->n_confs - 1].conf : &nd->conf_base;
}

/* The index of the entry of nd's configuration (0: the base). */
static uint64_t node_conf_index(const struct node *nd)
{
	return nd->n_confs ? nd->confs[nd->n_confs - 1].index : 0;
}

/* The configuration in force at `index` of nd's log. */
static const struct sim_conf *node_conf_at(const struct node *nd,
					   uint64_t index)
{
	size_t k;

	for (k = nd->n_confs; k > 0; k--)
		if (nd->confs[k - 1].index <= index)
			return &nd->confs[k - 1].conf;
	return &nd->conf_base;
}

/* Whether nd may campaign (the core's may_campaign): a voter of its
 * configuration, or, while that one is uncommitted, of the committed one
 * before it (thesis §4.2.2: a leader cut off after appending its own
 * removal must be able to finish it). */
static bool node_may_campaign(const struct node *nd)
{
	if (sim_conf_is_voter(node_conf(nd), nd->id))
		return true;
	return node_conf_index(nd) > nd->commit &&
	       sim_conf_is_voter(node_conf_at(nd, nd->commit), nd->id);
}

const struct sim_conf *world_node_conf(const struct world *w, uint32_t id)
{
	return node_conf(&w->nodes[id]);
}

uint32_t world_members(const struct world *w)
{
	uint32_t i, m = 0;

	for (i = 0; i < w->conf.n; i++)
		if (w->conf.id[i] >= 1 && w->conf.id[i] <= w->n)
			m |= 1u << w->conf.id[i];
	return m;
}

uint32_t world_voters(const struct world *w)
{
	uint32_t i, m = 0;

	for (i = 0; i < w->conf.n; i++)
		if (w->conf.id[i] >= 1 && w->conf.id[i] <= w->n &&
		    (w->conf.flags[i] & RAFT_MEMBER_VOTER))
			m |= 1u << w->conf.id[i];
	return m;
}

/* The bootstrap configuration (raft_config.nodes, every one a voter). */
static void bootstrap_conf(const struct world *w, struct sim_conf *c)
{
	uint32_t i;

	memset(c, 0, sizeof(*c));
	c->n = w->cfg.n_nodes;
	for (i = 0; i < c->n; i++) {
		c->id[i] = w->cfg.nodes[i];
		c->flags[i] = RAFT_MEMBER_VOTER;
	}
}

/* ---- Log Matching: one (index, term) -> chain map over every log -------- */

static void itmap_grow(struct world *w)
{
	struct itmap_slot *old = w->itmap;
	uint64_t old_cap = w->itmap_cap, i;

	w->itmap_cap = old_cap ? old_cap * 2 : 4096;
	w->itmap = xcalloc(w->itmap_cap, sizeof(*w->itmap));
	for (i = 0; i < old_cap; i++) {
		uint64_t h;
		if (old[i].index == 0)
			continue;
		h = rng_mix(old[i].index * 31 + old[i].term);
		while (w->itmap[h & (w->itmap_cap - 1)].index != 0)
			h++;
		w->itmap[h & (w->itmap_cap - 1)] = old[i];
	}
	free(old);
}

/* §5.3 Log Matching: "if two logs contain an entry with the same index and
 * term, then the logs are identical in all entries up through the given
 * index".  Every entry any log ever held is checked against the first log
 * seen with that (index, term); the chain hash covers the whole prefix. */
static void log_matching(struct world *w, uint64_t index, uint64_t term,
			 uint64_t chain, const char *where, uint32_t id)
{
	uint64_t h;
	struct itmap_slot *s;

	if ((w->itmap_n + 1) * 2 > w->itmap_cap)
		itmap_grow(w);
	h = rng_mix(index * 31 + term);
	for (;;) {
		s = &w->itmap[h & (w->itmap_cap - 1)];
		if (s->index == 0) {
			s->index = index;
			s->term = term;
			s->chain = chain;
			w->itmap_n++;
			w->checks++;
			return;
		}
		if (s->index == index && s->term == term)
			break;
		h++;
	}
	CHECK(w, s->chain == chain,
	      "Log Matching: n%u's %s log holds (index %llu, term %llu) with "
	      "a different entry or prefix than another log",
	      id, where, (unsigned long long)index, (unsigned long long)term);
}

/* ---- the message heap --------------------------------------------------- */

static bool flight_before(const struct flight *a, const struct flight *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_push(struct world *w, struct flight *f)
{
	size_t i;

	GROW(w->heap, w->cap_heap, w->n_heap + 1);
	i = w->n_heap++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!flight_before(f, w->heap[parent]))
			break;
		w->heap[i] = w->heap[parent];
		i = parent;
	}
	w->heap[i] = f;
}

static struct flight *heap_pop(struct world *w)
{
	struct flight *top = w->heap[0], *last;
	size_t i = 0;

	last = w->heap[--w->n_heap];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= w->n_heap)
			break;
		if (c + 1 < w->n_heap &&
		    flight_before(w->heap[c + 1], w->heap[c]))
			c++;
		if (!flight_before(w->heap[c], last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->n_heap > 0)
		w->heap[i] = last;
	return top;
}

/* ---- the network -------------------------------------------------------- */

static bool link_open(const struct world *w, uint32_t from, uint32_t to)
{
	return w->links[from][to].up && !w->nodes[from].isolated &&
	       !w->nodes[to].isolated;
}

/* `data`: a snapshot request's snapshot, which takes `extra` ms more. */
static void flight_schedule(struct world *w, const struct world_link *l,
			    struct raft_msg *m, const struct snap_data *data,
			    uint64_t extra)
{
	struct flight *f = xcalloc(1, sizeof(*f));

	f->m = *m;
	f->snap = *data;
	f->at = w->now + rng_range(&w->rng, l->delay_min, l->delay_max) + extra;
	f->seq = ++w->flight_seq;
	heap_push(w, f);
}

/* The sender of a snapshot request learns that the transfer failed
 * (raft_snapshot_failed), a little later. */
static void snap_notice(struct world *w, const struct raft_msg *m)
{
	struct flight *f = xcalloc(1, sizeof(*f));

	f->m = *m;
	f->notice = true;
	f->incarnation = w->nodes[m->from].incarnation;
	f->at = w->now + rng_range(&w->rng, 1, 20);
	f->seq = ++w->flight_seq;
	heap_push(w, f);
}

/* A snapshot request leaves: the sender's shell transfers its latest
 * durable snapshot, which may be newer than the one the core named, and
 * names it in the message it delivers.  False if the transfer fails or
 * is lost (noticed or not). */
static bool snap_transfer(struct world *w, struct raft_msg *m,
			  struct snap_data *data)
{
	const struct snap_data *latest = &w->nodes[m->from].disk.snap;

	CHECK(w, latest->index >= m->u.snapshot.index,
	      "n%u sends a snapshot up to %llu holding a durable one up to "
	      "%llu only",
	      m->from, (unsigned long long)m->u.snapshot.index,
	      (unsigned long long)latest->index);
	*data = *latest;
	m->u.snapshot.index = latest->index;
	m->u.snapshot.term = latest->term;
	w->snap_transfers++;
	if (rng_ppm(&w->rng, w->o.snap_fail_ppm)) {
		snap_notice(w, m);
		return false;
	}
	return !rng_ppm(&w->rng, w->o.snap_lose_ppm);
}

/* Puts a message on the wire.  Takes ownership of m's entries. */
static void net_post(struct world *w, struct raft_msg *m)
{
	const struct world_link *l;
	struct snap_data data;
	uint64_t extra = 0;

	if (m->to < 1 || m->to > w->n) {
		/* An answer to a forged sender no node of the world is:
		 * nobody listens there. */
		w->msgs_dropped++;
		raft_msg_free(m);
		return;
	}
	l = &w->links[m->from][m->to];
	memset(&data, 0, sizeof(data));

	if (m->type == RAFT_MSG_SNAPSHOT) {
		if (!snap_transfer(w, m, &data)) {
			w->msgs_dropped++;
			raft_msg_free(m);
			return;
		}
		extra =
		    rng_range(&w->rng, w->o.snap_xfer_min, w->o.snap_xfer_max);
	}
	if (!link_open(w, m->from, m->to) || rng_ppm(&w->rng, l->drop_ppm)) {
		w->msgs_dropped++;
		if (m->type == RAFT_MSG_SNAPSHOT && rng_below(&w->rng, 2))
			snap_notice(w, m);
		raft_msg_free(m);
		return;
	}
	if (rng_ppm(&w->rng, l->dup_ppm)) {
		struct raft_msg dup;
		raft_msg_copy(&dup, m);
		flight_schedule(w, l, &dup, &data, extra);
	}
	flight_schedule(w, l, m, &data, extra);
}

/* ---- disks -------------------------------------------------------------- */

/* Whether the world knows index as committed with exactly this prefix. */
static bool is_committed_chain(const struct world *w, uint64_t index,
			       uint64_t chain)
{
	return index >= 1 && index <= w->n_committed &&
	       w->committed[index - 1].chain == chain;
}

/* Whether the world knows `s` as a committed prefix: a snapshot holds
 * committed entries only, applied (§7). */
static bool snap_committed(const struct world *w, const struct snap_data *s)
{
	return s->index >= 1 && s->index <= w->n_committed &&
	       w->committed[s->index - 1].chain == s->chain &&
	       w->committed[s->index - 1].term == s->term;
}

/* Sets entries [from, to] of a disk from the committed sequence: what a
 * snapshot covers (payloads gone). */
static void disk_fill_committed(struct world *w, struct disk *d, uint64_t from,
				uint64_t to)
{
	uint64_t i;

	GROW(d->log, d->cap, to);
	for (i = from; i <= to; i++) {
		struct disk_entry *e = &d->log[i - 1];
		e->term = w->committed[i - 1].term;
		e->type = w->committed[i - 1].type;
		e->len = 0;
		e->buf = NULL;
		e->chain = w->committed[i - 1].chain;
	}
}

/* The stored log drops its entries up to `to`, covered by the durable
 * snapshot (the last step of taking one). */
static void disk_compact(struct world *w, struct node *nd, uint64_t to)
{
	struct disk *d = &nd->disk;
	uint64_t i;

	CHECK(w, to <= d->snap.index,
	      "n%u compacts its stored log up to %llu, beyond its durable "
	      "snapshot (%llu)",
	      nd->id, (unsigned long long)to,
	      (unsigned long long)d->snap.index);
	CHECK(w, to <= d->n,
	      "n%u compacts its stored log up to %llu holding %llu entries",
	      nd->id, (unsigned long long)to, (unsigned long long)d->n);
	if (w->failed)
		return;
	for (i = d->base + 1; i <= to; i++) {
		CHECK(w, is_committed_chain(w, i, d->log[i - 1].chain),
		      "n%u compacts entry %llu away, which is not the "
		      "committed one",
		      nd->id, (unsigned long long)i);
		free(d->log[i - 1].buf);
		d->log[i - 1].buf = NULL;
	}
	if (to > d->base)
		d->base = to;
}

/* An install reaches the disk: the snapshot becomes the latest, and the
 * stored log keeps the entries after its index when it holds that index
 * with its term, none otherwise (Figure 13, steps 6-7). */
static void disk_install(struct world *w, struct node *nd,
			 const struct snap_data *s)
{
	struct disk *d = &nd->disk;
	uint64_t i;

	CHECK(w, snap_committed(w, s),
	      "n%u installs a snapshot up to (%llu, %llu) that is not the "
	      "committed prefix",
	      nd->id, (unsigned long long)s->index,
	      (unsigned long long)s->term);
	if (w->failed)
		return;
	if (s->index > d->snap.index)
		d->snap = *s;
	if (d->n >= s->index && d->log[s->index - 1].term == s->term) {
		CHECK(w, d->log[s->index - 1].chain == s->chain,
		      "Log Matching: n%u's disk holds (%llu, %llu) with "
		      "another prefix than the snapshot",
		      nd->id, (unsigned long long)s->index,
		      (unsigned long long)s->term);
		disk_compact(w, nd, s->index);
		return;
	}
	for (i = d->base + 1; i <= d->n; i++) {
		CHECK(w,
		      i <= s->index ||
			  !is_committed_chain(w, i, d->log[i - 1].chain),
		      "n%u's install deletes committed entry %llu from its "
		      "disk",
		      nd->id, (unsigned long long)i);
		free(d->log[i - 1].buf);
		d->log[i - 1].buf = NULL;
	}
	disk_fill_committed(w, d, 1, s->index);
	d->n = s->index;
	d->base = s->index;
}

/* Makes (a prefix of) a batch durable: hard state, install, compaction,
 * truncation, then up to keep_entries of its entries, the order raft.h
 * prescribes. */
static void disk_apply(struct world *w, struct node *nd, struct disk_batch *b,
		       uint64_t keep_entries)
{
	struct disk *d = &nd->disk;
	uint64_t i;

	if (b->has_hs) {
		CHECK(w, b->term >= d->term,
		      "durable term of n%u regressed from %llu to %llu", nd->id,
		      (unsigned long long)d->term, (unsigned long long)b->term);
		CHECK(w,
		      b->term > d->term || d->vote == 0 || d->vote == b->vote,
		      "durable vote of n%u changed from %u to %u in term %llu",
		      nd->id, d->vote, b->vote, (unsigned long long)b->term);
		d->term = b->term;
		d->vote = b->vote;
	}
	if (b->install.index)
		disk_install(w, nd, &b->install);
	if (b->compact_to)
		disk_compact(w, nd, b->compact_to);
	if (b->truncate_from) {
		CHECK(w, b->truncate_from > d->base,
		      "n%u truncates its disk from %llu, compacted up to %llu",
		      nd->id, (unsigned long long)b->truncate_from,
		      (unsigned long long)d->base);
		CHECK(w, b->truncate_from >= 1 && b->truncate_from <= d->n + 1,
		      "n%u truncates its disk from %llu but holds %llu entries",
		      nd->id, (unsigned long long)b->truncate_from,
		      (unsigned long long)d->n);
		for (i = b->truncate_from; i <= d->n; i++) {
			CHECK(
			    w,
			    i > b->committed_then ||
				!is_committed_chain(w, i, d->log[i - 1].chain),
			    "n%u deleted committed entry %llu from its disk",
			    nd->id, (unsigned long long)i);
			free(d->log[i - 1].buf);
		}
		if (b->truncate_from <= d->n)
			d->n = b->truncate_from - 1;
	}
	if (keep_entries > 0)
		CHECK(w, b->append_first == d->n + 1,
		      "n%u appends at %llu to a disk holding %llu entries",
		      nd->id, (unsigned long long)b->append_first,
		      (unsigned long long)d->n);
	for (i = 0; i < keep_entries; i++) {
		struct disk_entry *e = &b->entries[i];
		GROW(d->log, d->cap, d->n + 1);
		d->log[d->n++] = *e;
		e->buf = NULL; /* moved */
		log_matching(w, d->n, e->term, e->chain, "durable", nd->id);
	}
}

static void batch_free(struct disk_batch *b)
{
	uint64_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n_append; i++)
		free(b->entries[i].buf);
	free(b->entries);
	free(b);
}

static void node_process(struct world *w, struct node *nd);

/* Sends every held message whose writes are now durable, in order. */
static void release_held(struct world *w, struct node *nd)
{
	while (nd->held_head &&
	       nd->held_head->need_seq <= nd->disk.durable_seq) {
		struct held_msg *h = nd->held_head;
		nd->held_head = h->next;
		if (nd->held_head == NULL)
			nd->held_tail = NULL;
		net_post(w, &h->m);
		free(h);
	}
}

/* The oldest pending write of nd became durable. */
static void disk_complete(struct world *w, struct node *nd)
{
	struct disk_batch *b = nd->disk.head;
	uint64_t last = 0, last_term = 0;

	nd->disk.head = b->next;
	if (nd->disk.head == NULL)
		nd->disk.tail = NULL;
	disk_apply(w, nd, b, b->n_append);
	nd->disk.durable_seq = b->seq;
	if (b->n_append > 0) {
		last = b->append_first + b->n_append - 1;
		last_term = b->entries[b->n_append - 1].term;
	}
	vlog(w, nd->id, "durable: write %llu%s%s%s%s, %llu entries",
	     (unsigned long long)b->seq, b->has_hs ? ", hard state" : "",
	     b->install.index ? ", install" : "",
	     b->compact_to ? ", compaction" : "",
	     b->truncate_from ? ", truncation" : "",
	     (unsigned long long)b->n_append);
	batch_free(b);
	release_held(w, nd);
	if (nd->disk.head == NULL) {
		/* Everything flushed: the disk is what the updates said. */
		CHECK(w,
		      nd->disk.term == nd->hs_term &&
			  nd->disk.vote == nd->hs_vote,
		      "n%u's flushed hard state (%llu, %u) differs from the "
		      "updates' (%llu, %u)",
		      nd->id, (unsigned long long)nd->disk.term, nd->disk.vote,
		      (unsigned long long)nd->hs_term, nd->hs_vote);
		CHECK(w,
		      nd->disk.n == nd->n &&
			  (nd->n == 0 || nd->disk.log[nd->n - 1].chain ==
					     nd->log[nd->n - 1].chain),
		      "n%u's flushed log (%llu entries) differs from the log "
		      "the updates describe (%llu entries)",
		      nd->id, (unsigned long long)nd->disk.n,
		      (unsigned long long)nd->n);
		CHECK(w, nd->disk.base + 1 == nd->first,
		      "n%u's flushed log is compacted up to %llu, the core's "
		      "starts at %llu",
		      nd->id, (unsigned long long)nd->disk.base,
		      (unsigned long long)nd->first);
	}
	if (last > 0) {
		/* raft.h: tell the core (the leader counts itself for a
		 * commit only through this). */
		raft_persisted(nd->r, node_now(w, nd), last, last_term);
		node_process(w, nd);
	}
}

/* ---- the invariants of the commit path ---------------------------------- */

/* Leader Completeness (§5.4): a leader of term T holds every entry
 * committed in a term below T.  The world knows for each committed index
 * an upper bound of the term it was committed in (the term of the first
 * node seen to commit it); the check uses the highest index whose bound is
 * below T, and the chain covers everything before it. */
static void leader_completeness(struct world *w, struct node *nd)
{
	uint64_t i;

	for (i = w->n_committed; i >= 1; i--)
		if (w->committed[i - 1].seen_term < nd->term)
			break;
	CHECK(w,
	      i == 0 || (i <= nd->n &&
			 nd->log[i - 1].chain == w->committed[i - 1].chain),
	      "Leader Completeness: n%u leads term %llu without committed "
	      "entry %llu (or with a different one)",
	      nd->id, (unsigned long long)nd->term, (unsigned long long)i);
}

/* How many voters of c hold committed entry `index` durably: on disk (or
 * in a durable snapshot), and not doomed by a truncation already decided
 * (a copy the node's log no longer holds will be gone when that write
 * lands). */
static uint32_t durable_voters(const struct world *w, const struct sim_conf *c,
			       uint64_t index)
{
	uint32_t k, durable = 0;

	for (k = 1; k <= w->n; k++) {
		const struct node *x = &w->nodes[k];
		const struct disk *d = &x->disk;
		if (!sim_conf_is_voter(c, k))
			continue;
		if (d->snap.index >= index) {
			durable++; /* in a durable snapshot */
			continue;
		}
		if (d->n < index ||
		    d->log[index - 1].chain != w->committed[index - 1].chain)
			continue;
		if (x->up &&
		    (x->n < index ||
		     x->log[index - 1].chain != w->committed[index - 1].chain))
			continue;
		durable++;
	}
	return durable;
}

/* nd reports commit index c: it must agree with what others committed
 * (State Machine Safety at the log level); a new highest commit must be
 * durable on a majority of disks and held by every leader of a later
 * term. */
static void note_commit(struct world *w, struct node *nd, uint64_t c)
{
	uint64_t g = w->n_committed, i;
	const struct sim_conf *conf = node_conf(nd);
	uint32_t k, durable = 0, voters = sim_conf_voters(conf);

	if (c == 0)
		return;
	if (c <= g) {
		CHECK(w, nd->log[c - 1].chain == w->committed[c - 1].chain,
		      "State Machine Safety: n%u committed a different entry "
		      "%llu (or prefix) than another node",
		      nd->id, (unsigned long long)c);
		return;
	}
	CHECK(w, g == 0 || nd->log[g - 1].chain == w->committed[g - 1].chain,
	      "State Machine Safety: n%u's log disagrees with committed "
	      "entry %llu",
	      nd->id, (unsigned long long)g);
	GROW(w->committed, w->cap_committed, c);
	for (i = g + 1; i <= c; i++) {
		struct committed *e = &w->committed[i - 1];
		e->chain = nd->log[i - 1].chain;
		e->term = nd->log[i - 1].term;
		e->pid = nd->log[i - 1].pid;
		e->type = nd->log[i - 1].type;
		e->seen_term = nd->term;
		if (e->type == RAFT_ENTRY_CONFIG)
			w->conf_committed++;
	}
	w->n_committed = c;
	w->conf = *node_conf_at(nd, c);
	/* §5.3: "a log entry is committed once the leader that created the
	 * entry has replicated it on a majority of the servers" -- on their
	 * disks (raft.h: a node acknowledges only durable entries); the
	 * servers are the voters of the configuration (thesis §4.1, §4.2.1:
	 * learners count in no majority). */
	durable = durable_voters(w, conf, c);
	CHECK(w, durable >= voters / 2 + 1,
	      "entry %llu committed (by n%u) but durable on only %u of %u "
	      "voters' disks",
	      (unsigned long long)c, nd->id, durable, voters);
	for (k = 1; k <= w->n; k++) {
		struct node *l = &w->nodes[k];
		if (!l->up || l->role != RAFT_LEADER || l->term <= nd->term)
			continue;
		CHECK(w,
		      c <= l->n &&
			  l->log[c - 1].chain == w->committed[c - 1].chain,
		      "Leader Completeness: n%u leads term %llu without entry "
		      "%llu committed in term <= %llu",
		      l->id, (unsigned long long)l->term, (unsigned long long)c,
		      (unsigned long long)nd->term);
	}
}

/* Election Safety (§5.2): at most one leader per term, ever. */
static void election_safety(struct world *w, struct node *nd)
{
	uint32_t *slot;

	if (nd->term >= w->cap_term_leader) {
		uint64_t cap = w->cap_term_leader ? w->cap_term_leader : 64;
		while (cap <= nd->term)
			cap *= 2;
		w->term_leader =
		    xrealloc(w->term_leader, cap * sizeof(*w->term_leader));
		memset(w->term_leader + w->cap_term_leader, 0,
		       (cap - w->cap_term_leader) * sizeof(*w->term_leader));
		w->cap_term_leader = cap;
	}
	slot = &w->term_leader[nd->term];
	if (*slot == 0) {
		*slot = nd->id;
		w->elections++;
		w->checks++;
		return;
	}
	CHECK(w, *slot == nd->id,
	      "Election Safety: n%u and n%u both lead term %llu", *slot, nd->id,
	      (unsigned long long)nd->term);
}

/* ---- carrying out an update --------------------------------------------- */

/* A configuration entry enters nd's log at `index` (its last): it is in
 * force at once (§4.1).  Checked: it decodes, and it differs from the
 * configuration before it in one member at most (§4.1, single-server
 * changes: any majority of the old voters and any of the new overlap). */
static void conf_push(struct world *w, struct node *nd, uint64_t index,
		      const struct raft_entry *e, bool check)
{
	struct raft_conf rc;
	struct conf_mark *cm;
	/* A copy: node_conf() points into nd->confs, which GROW moves. */
	const struct sim_conf prev_conf = *node_conf(nd), *prev = &prev_conf;
	const char *why = raft_conf_decode(e->buf, e->len, &rc);
	uint32_t d;

	CHECK(w, why == NULL,
	      "n%u holds configuration entry %llu that does "
	      "not decode: %s",
	      nd->id, (unsigned long long)index, why ? why : "");
	if (why != NULL)
		return;
	GROW(nd->confs, nd->cap_confs, nd->n_confs + 1);
	cm = &nd->confs[nd->n_confs];
	cm->index = index;
	sim_conf_from(&cm->conf, &rc);
	if (check) {
		d = sim_conf_diff(prev, &cm->conf);
		CHECK(w, d <= 1,
		      "n%u's log holds consecutive configurations (entry "
		      "%llu) that differ in %u members",
		      nd->id, (unsigned long long)index, d);
		/* A leader making a PROMOTE learner a voter on its own
		 * (§4.2.1). */
		if (d == 1 && raft_role(nd->r) == RAFT_LEADER &&
		    e->term == raft_term(nd->r)) {
			uint32_t i;
			for (i = 0; i < cm->conf.n; i++) {
				int k = sim_conf_find(prev, cm->conf.id[i]);
				if (k >= 0 &&
				    (prev->flags[k] & RAFT_MEMBER_PROMOTE) &&
				    cm->conf.flags[i] == RAFT_MEMBER_VOTER)
					w->promotions++;
			}
		}
	}
	nd->n_confs++;
}

/* nd's log now ends at nd->n: configurations after it are gone (§4.1:
 * rolled back with their entries). */
static void conf_truncate(struct node *nd)
{
	while (nd->n_confs > 0 && nd->confs[nd->n_confs - 1].index > nd->n)
		nd->n_confs--;
}

static void shadow_append(struct world *w, struct node *nd,
			  const struct raft_entry *e, struct disk_entry *copy)
{
	uint64_t prev = nd->n ? nd->log[nd->n - 1].chain : 0;
	uint64_t chain =
	    chain_next(prev, entry_hash(e->term, e->type, e->buf, e->len));
	struct shadow_entry *s;

	GROW(nd->log, nd->cap, nd->n + 1);
	s = &nd->log[nd->n++];
	s->term = e->term;
	s->type = e->type;
	s->chain = chain;
	s->pid = payload_pid(e->type, e->buf, e->len);
	log_matching(w, nd->n, e->term, chain, "in-memory", nd->id);
	if (e->type == RAFT_ENTRY_CONFIG)
		conf_push(w, nd, nd->n, e, true);
	copy->term = e->term;
	copy->type = e->type;
	copy->len = e->len;
	copy->chain = chain;
	copy->buf = NULL;
	if (e->len > 0) {
		copy->buf = xrealloc(NULL, e->len);
		memcpy(copy->buf, e->buf, e->len);
	}
}

/* Issues write b on nd's disk, durable after the disk's latency and after
 * every write issued before it. */
static void disk_queue(struct world *w, struct node *nd, struct disk_batch *b)
{
	uint64_t delay =
	    rng_range(&w->rng, nd->disk.delay_min, nd->disk.delay_max);

	b->seq = ++nd->disk.issued_seq;
	b->durable_at = w->now + delay;
	/* One disk: writes become durable in the order they were issued. */
	if (nd->disk.tail && nd->disk.tail->durable_at > b->durable_at)
		b->durable_at = nd->disk.tail->durable_at;
	if (nd->disk.tail)
		nd->disk.tail->next = b;
	else
		nd->disk.head = b;
	nd->disk.tail = b;
}

/* Sets entries [from, to] of nd's shadow log from the committed sequence
 * (what a snapshot covers). */
static void shadow_fill_committed(struct world *w, struct node *nd,
				  uint64_t from, uint64_t to)
{
	uint64_t i;

	GROW(nd->log, nd->cap, to);
	for (i = from; i <= to; i++) {
		struct shadow_entry *e = &nd->log[i - 1];
		e->term = w->committed[i - 1].term;
		e->chain = w->committed[i - 1].chain;
		e->pid = w->committed[i - 1].pid;
		e->type = w->committed[i - 1].type;
	}
}

/* Step 2's install (raft.h): the snapshot the node just received (or, at
 * start, its own latest when the log it loaded missed it) becomes its
 * log's start and its state machine's state.  Checked: it is one the node
 * holds, it is a committed prefix, it goes past what the node committed,
 * and the core kept the entries after it exactly when its log held the
 * snapshot's last entry (Figure 13, steps 6-7). */
static void take_install(struct world *w, struct node *nd,
			 const struct raft_update *up, struct snap_data *out)
{
	const struct snap_data *s = NULL;
	uint64_t index = up->snapshot_index, i;
	bool held, kept;

	if (nd->recv_snap.index == index &&
	    nd->recv_snap.term == up->snapshot_term)
		s = &nd->recv_snap;
	else if (nd->disk.snap.index == index &&
		 nd->disk.snap.term == up->snapshot_term)
		s = &nd->disk.snap;
	CHECK(w, s != NULL,
	      "n%u installs a snapshot up to (%llu, %llu) it does not hold",
	      nd->id, (unsigned long long)index,
	      (unsigned long long)up->snapshot_term);
	if (w->failed)
		return;
	CHECK(w, snap_committed(w, s),
	      "State Machine Safety: n%u installs a snapshot up to (%llu, "
	      "%llu) that is not the committed prefix",
	      nd->id, (unsigned long long)index, (unsigned long long)s->term);
	CHECK(w,
	      index >= nd->commit &&
		  (s == &nd->disk.snap || index > nd->commit),
	      "n%u installs a snapshot up to %llu with commit %llu", nd->id,
	      (unsigned long long)index, (unsigned long long)nd->commit);
	CHECK(w, nd->role != RAFT_LEADER && raft_role(nd->r) != RAFT_LEADER,
	      "leader n%u installs a snapshot", nd->id);
	if (w->failed)
		return;
	held = nd->n >= index && nd->log[index - 1].term == s->term;
	kept = raft_last_index(nd->r) > index;
	CHECK(w,
	      kept == (held && nd->n > index) &&
		  raft_first_index(nd->r) == index + 1,
	      "n%u's core %s the entries after its snapshot (%llu, %llu), its "
	      "log %s it",
	      nd->id, kept ? "kept" : "dropped", (unsigned long long)index,
	      (unsigned long long)s->term, held ? "holding" : "not holding");
	if (held)
		CHECK(
		    w, nd->log[index - 1].chain == s->chain,
		    "Log Matching: n%u holds (%llu, %llu) with another prefix "
		    "than its snapshot",
		    nd->id, (unsigned long long)index,
		    (unsigned long long)s->term);
	if (w->failed)
		return;
	if (!held) {
		for (i = index + 1; i <= nd->n; i++)
			CHECK(w,
			      !is_committed_chain(w, i, nd->log[i - 1].chain),
			      "n%u's install deleted committed entry %llu",
			      nd->id, (unsigned long long)i);
		shadow_fill_committed(w, nd, 1, index);
		nd->n = index;
		/* The snapshot's configuration is the one at its index
		 * (§7); the log's configurations went with the log. */
		nd->n_confs = 0;
		sim_conf_from(&nd->conf_base, &s->conf);
	}
	nd->first = index + 1;
	if (s == &nd->disk.snap) {
		w->snap_resets++;
	} else if (held && nd->n > index) {
		w->installs_kept++;
		nd->installs_kept++;
	} else {
		w->installs++;
		nd->installs++;
	}
	vlog(w, nd->id, "install snapshot (%llu, %llu), %s",
	     (unsigned long long)index, (unsigned long long)s->term,
	     held ? "keeping the log after it" : "log dropped");
	/* The state machine loads the snapshot (plan.h, write step). */
	if (s->index > nd->applied) {
		nd->applied = s->index;
		nd->sm_chain = s->chain;
	}
	*out = *s;
}

/* Steps 1-2 of raft.h: queue the hard state and log changes for the disk,
 * and mirror them in the shadow log. */
static void take_writes(struct world *w, struct node *nd,
			const struct raft_update *up)
{
	struct disk_batch *b;
	uint64_t i;

	if (!up->hs_changed && up->truncate_from == 0 && up->n_append == 0 &&
	    up->snapshot_index == 0)
		return;
	b = xcalloc(1, sizeof(*b));
	if (up->hs_changed) {
		CHECK(w, up->term >= nd->hs_term,
		      "n%u's term went back from %llu to %llu", nd->id,
		      (unsigned long long)nd->hs_term,
		      (unsigned long long)up->term);
		CHECK(w,
		      up->term > nd->hs_term || nd->hs_vote == 0 ||
			  nd->hs_vote == up->vote,
		      "n%u voted for %u and then %u in term %llu", nd->id,
		      nd->hs_vote, up->vote, (unsigned long long)up->term);
		b->has_hs = true;
		b->term = nd->hs_term = up->term;
		b->vote = nd->hs_vote = up->vote;
	}
	if (up->snapshot_index)
		take_install(w, nd, up, &b->install);
	if (up->truncate_from) {
		CHECK(w, up->truncate_from >= 1 && up->truncate_from <= nd->n,
		      "n%u truncates from %llu but its log has %llu entries",
		      nd->id, (unsigned long long)up->truncate_from,
		      (unsigned long long)nd->n);
		CHECK(w, up->truncate_from > nd->commit,
		      "n%u truncates from %llu below its own commit index %llu",
		      nd->id, (unsigned long long)up->truncate_from,
		      (unsigned long long)nd->commit);
		for (i = up->truncate_from; i <= nd->n; i++)
			CHECK(w,
			      !is_committed_chain(w, i, nd->log[i - 1].chain),
			      "n%u deleted committed entry %llu", nd->id,
			      (unsigned long long)i);
		if (up->truncate_from <= nd->n)
			nd->n = up->truncate_from - 1;
		conf_truncate(nd);
		b->truncate_from = up->truncate_from;
		b->committed_then = w->n_committed;
	}
	if (up->n_append > 0) {
		CHECK(w, up->append_first == nd->n + 1,
		      "n%u appends at %llu to a log of %llu entries", nd->id,
		      (unsigned long long)up->append_first,
		      (unsigned long long)nd->n);
		b->append_first = nd->n + 1;
		b->n_append = up->n_append;
		b->entries = xcalloc(up->n_append, sizeof(*b->entries));
		for (i = 0; i < up->n_append && !w->failed; i++) {
			const struct raft_entry *e =
			    raft_entry_at(nd->r, up->append_first + i);
			CHECK(w, e != NULL,
			      "n%u reports appending %llu, absent", nd->id,
			      (unsigned long long)(up->append_first + i));
			if (e == NULL) {
				b->n_append = i;
				break;
			}
			shadow_append(w, nd, e, &b->entries[i]);
		}
	}
	disk_queue(w, nd, b);
}

/* What a core sends must fit its own state and the protocol. */
static void check_msg(struct world *w, struct node *nd,
		      const struct raft_msg *m)
{
	uint32_t i;
	uint64_t bytes = 0;
	const struct sim_conf *conf = node_conf(nd);
	bool answer = m->type == RAFT_MSG_VOTE_RESP ||
		      m->type == RAFT_MSG_APPEND_RESP ||
		      m->type == RAFT_MSG_SNAPSHOT_RESP;

	/* An answer goes back to whoever sent the request, member or not
	 * (a leader's requests are taken from anyone, thesis §4.1: a new
	 * server must accept a leader it does not know yet); a request
	 * goes to a member of the sender's configuration only. */
	CHECK(w,
	      m->from == nd->id && m->to != 0 && m->to != nd->id &&
		  (answer ? m->to == w->step_from
			  : m->to <= w->n && sim_conf_has(conf, m->to)),
	      "n%u emits a %s from %u to %u (%s)", nd->id, msg_name(m->type),
	      m->from, m->to,
	      answer ? "not the request's sender"
		     : "not a member of its configuration");
	switch (m->type) {
	case RAFT_MSG_TIMEOUT_NOW:
		/* Thesis §3.10: a leader hands over to a voter. */
		CHECK(w,
		      (nd->role == RAFT_LEADER ||
		       !sim_conf_is_voter(conf, nd->id)) &&
			  m->term == nd->term && m->term == nd->hs_term,
		      "n%u (%s, term %llu) sends TimeoutNow for term %llu",
		      nd->id, raft_role_name(nd->role),
		      (unsigned long long)nd->term,
		      (unsigned long long)m->term);
		CHECK(w, sim_conf_is_voter(conf, m->to),
		      "n%u sends TimeoutNow to n%u, not a voter", nd->id,
		      m->to);
		return;
	case RAFT_MSG_VOTE:
		/* Thesis §4.2.1: a learner, or a server outside its
		 * configuration, never campaigns; votes are asked of
		 * voters only. */
		CHECK(
		    w, node_may_campaign(nd) && sim_conf_is_voter(conf, m->to),
		    "n%u (%s in its configuration) asks n%u (%s) for a %svote",
		    nd->id,
		    sim_conf_is_voter(conf, nd->id) ? "a voter"
		    : sim_conf_has(conf, nd->id)    ? "a learner"
						    : "not a member",
		    m->to,
		    sim_conf_is_voter(conf, m->to) ? "a voter" : "no voter",
		    m->u.vote.prevote ? "pre" : "");
		if (m->u.vote.prevote) {
			/* Thesis §9.6: a prevote asks about term + 1 without
			 * changing the term. */
			CHECK(w, m->term == nd->term + 1,
			      "n%u prevotes for term %llu in term %llu", nd->id,
			      (unsigned long long)m->term,
			      (unsigned long long)nd->term);
		} else {
			CHECK(w,
			      m->term == nd->hs_term && nd->hs_vote == nd->id,
			      "n%u asks votes for term %llu without having "
			      "voted for itself (hard state %llu, %u)",
			      nd->id, (unsigned long long)m->term,
			      (unsigned long long)nd->hs_term, nd->hs_vote);
		}
		CHECK(w,
		      m->u.vote.last_log_index == nd->n &&
			  m->u.vote.last_log_term ==
			      (nd->n ? nd->log[nd->n - 1].term : 0),
		      "n%u's vote request misstates its log", nd->id);
		return;
	case RAFT_MSG_VOTE_RESP:
		if (m->u.vote_resp.prevote && m->u.vote_resp.granted) {
			CHECK(w, m->term > nd->term,
			      "n%u grants a prevote for term %llu in term %llu",
			      nd->id, (unsigned long long)m->term,
			      (unsigned long long)nd->term);
			return;
		}
		CHECK(w, m->term == nd->hs_term,
		      "n%u answers in term %llu, its hard state says %llu",
		      nd->id, (unsigned long long)m->term,
		      (unsigned long long)nd->hs_term);
		if (m->u.vote_resp.granted)
			/* §5.2: the vote must be recorded (and, by the
			 * holding rule, durable) before it is granted. */
			CHECK(w, nd->hs_vote == m->to,
			      "n%u grants its term-%llu vote to %u but its "
			      "hard state votes %u",
			      nd->id, (unsigned long long)m->term, m->to,
			      nd->hs_vote);
		return;
	case RAFT_MSG_APPEND_RESP:
		CHECK(w, m->term == nd->hs_term,
		      "n%u answers in term %llu, its hard state says %llu",
		      nd->id, (unsigned long long)m->term,
		      (unsigned long long)nd->hs_term);
		if (m->u.append_resp.success)
			CHECK(w, m->u.append_resp.match_index <= nd->n,
			      "n%u acknowledges index %llu holding %llu",
			      nd->id,
			      (unsigned long long)m->u.append_resp.match_index,
			      (unsigned long long)nd->n);
		return;
	case RAFT_MSG_SNAPSHOT_RESP:
		CHECK(w, m->term == nd->hs_term,
		      "n%u answers in term %llu, its hard state says %llu",
		      nd->id, (unsigned long long)m->term,
		      (unsigned long long)nd->hs_term);
		if (m->u.snapshot_resp.success)
			CHECK(w, m->u.snapshot_resp.index <= nd->commit,
			      "n%u says it holds a snapshot up to %llu with "
			      "commit %llu",
			      nd->id,
			      (unsigned long long)m->u.snapshot_resp.index,
			      (unsigned long long)nd->commit);
		return;
	case RAFT_MSG_SNAPSHOT: {
		const struct raft_msg_snapshot *sn = &m->u.snapshot;
		CHECK(w,
		      nd->role == RAFT_LEADER && m->term == nd->term &&
			  m->term == nd->hs_term,
		      "n%u (%s, term %llu) sends InstallSnapshot for term %llu",
		      nd->id, raft_role_name(nd->role),
		      (unsigned long long)nd->term,
		      (unsigned long long)m->term);
		/* §7: a snapshot holds committed entries only, and the
		 * leader names its latest (which its log no longer
		 * needs to start before). */
		CHECK(w,
		      sn->index == raft_snapshot_index(nd->r) &&
			  sn->index <= nd->commit && sn->index <= nd->n &&
			  sn->term == nd->log[sn->index - 1].term &&
			  nd->log[sn->index - 1].chain ==
			      w->committed[sn->index - 1].chain,
		      "n%u sends a snapshot up to (%llu, %llu) that is not its "
		      "latest or not committed",
		      nd->id, (unsigned long long)sn->index,
		      (unsigned long long)sn->term);
		return;
	}
	case RAFT_MSG_APPEND:
		break;
	}
	CHECK(w,
	      nd->role == RAFT_LEADER && m->term == nd->term &&
		  m->term == nd->hs_term,
	      "n%u (%s, term %llu) sends AppendEntries for term %llu", nd->id,
	      raft_role_name(nd->role), (unsigned long long)nd->term,
	      (unsigned long long)m->term);
	CHECK(w, m->u.append.leader_commit <= nd->commit,
	      "n%u sends commit %llu beyond its own %llu", nd->id,
	      (unsigned long long)m->u.append.leader_commit,
	      (unsigned long long)nd->commit);
	CHECK(w,
	      m->u.append.prev_index <= nd->n &&
		  m->u.append.prev_term ==
		      (m->u.append.prev_index
			   ? nd->log[m->u.append.prev_index - 1].term
			   : 0),
	      "n%u sends prev (%llu, %llu) not in its log", nd->id,
	      (unsigned long long)m->u.append.prev_index,
	      (unsigned long long)m->u.append.prev_term);
	CHECK(w, m->u.append.n_entries <= w->cfg.max_batch_entries,
	      "n%u sends %u entries, max_batch_entries is %u", nd->id,
	      m->u.append.n_entries, w->cfg.max_batch_entries);
	CHECK(w,
	      m->u.append.n_entries == 0 ||
		  m->u.append.prev_index + 1 >= nd->first,
	      "n%u sends entries from %llu, its log starts at %llu", nd->id,
	      (unsigned long long)(m->u.append.prev_index + 1),
	      (unsigned long long)nd->first);
	for (i = 0; i < m->u.append.n_entries && !w->failed; i++) {
		const struct raft_entry *e = &m->u.append.entries[i];
		uint64_t index = m->u.append.prev_index + 1 + i;
		CHECK(w, index <= nd->n && nd->log[index - 1].term == e->term,
		      "n%u sends entry %llu of term %llu not in its log",
		      nd->id, (unsigned long long)index,
		      (unsigned long long)e->term);
		bytes += e->len;
	}
	CHECK(w, m->u.append.n_entries <= 1 || bytes <= w->cfg.max_batch_bytes,
	      "n%u sends %llu payload bytes in %u entries, max_batch_bytes "
	      "is %u",
	      nd->id, (unsigned long long)bytes, m->u.append.n_entries,
	      w->cfg.max_batch_bytes);
}

/* Step 3: a message leaves now if everything it may depend on is durable;
 * a leader's AppendEntries leaves at once (thesis §10.2.1). */
/* Step 3, for one message: posted now when the plan allows it (a
 * leader's AppendEntries) or nothing is pending on the disk, otherwise
 * held until every write issued so far is durable. */
static void take_msg(struct world *w, struct node *nd, const struct raft_msg *m,
		     bool after_writes)
{
	struct held_msg *h;

	check_msg(w, nd, m);
	if (w->failed)
		return;
	w->msgs_sent++;
	if (w->on_send)
		w->on_send(w, m, w->on_send_arg);
	h = xcalloc(1, sizeof(*h));
	raft_msg_copy(&h->m, m);
	if (!after_writes || nd->disk.durable_seq >= nd->disk.issued_seq) {
		net_post(w, &h->m);
		free(h);
		return;
	}
	h->need_seq = nd->disk.issued_seq;
	if (nd->held_tail)
		nd->held_tail->next = h;
	else
		nd->held_head = h;
	nd->held_tail = h;
}

static void node_drop_prop(struct node *nd, size_t k)
{
	nd->props[k] = nd->props[--nd->n_props];
}

/* raft.h: a proposal is committed when commit_index >= index and
 * raft_term_at(index) is still its term; otherwise it is lost. */
static void resolve_props(struct world *w, struct node *nd)
{
	size_t k = 0;

	while (k < nd->n_props) {
		struct proposal *p = &w->props[nd->props[k] - 1];
		uint64_t t;

		if (p->index > nd->commit) {
			k++;
			continue;
		}
		t = raft_term_at(nd->r, p->index);
		if (p->index + 1 < nd->first) {
			/* Compacted (an install overtook it): the core can
			 * no longer say which entry committed there, so
			 * neither can its shell (raft.h). */
			CHECK(w, t == 0,
			      "n%u's raft_term_at(%llu) is %llu below its "
			      "log's start",
			      nd->id, (unsigned long long)p->index,
			      (unsigned long long)t);
			p->state = PROP_UNKNOWN;
			p->done_at = w->now;
			node_drop_prop(nd, k);
			continue;
		}
		CHECK(w, t == nd->log[p->index - 1].term,
		      "n%u's raft_term_at(%llu) disagrees with its updates",
		      nd->id, (unsigned long long)p->index);
		if (t == p->term) {
			p->state = PROP_ACKED;
			CHECK(
			    w, w->committed[p->index - 1].pid == p->pid,
			    "proposal %llu acknowledged at %llu, which holds "
			    "proposal %llu",
			    (unsigned long long)p->pid,
			    (unsigned long long)p->index,
			    (unsigned long long)w->committed[p->index - 1].pid);
		} else {
			p->state = PROP_LOST;
		}
		p->done_at = w->now;
		node_drop_prop(nd, k);
	}
}

/* Step 4: apply committed entries in order to the state machine; all
 * applied sequences must be prefixes of one another (State Machine
 * Safety, §5.4.3). */
static void apply(struct world *w, struct node *nd)
{
	while (nd->applied < nd->commit && !w->failed) {
		uint64_t i = nd->applied + 1;
		const struct raft_entry *e = raft_entry_at(nd->r, i);
		uint64_t state;

		/* The state machine hashes what it applies onto its state
		 * (which a snapshot may have set): equal states, equal
		 * applied sequences. */
		CHECK(w, e != NULL,
		      "n%u applies entry %llu, which its log (from %llu) does "
		      "not hold",
		      nd->id, (unsigned long long)i,
		      (unsigned long long)nd->first);
		if (e == NULL)
			break;
		state = chain_next(
		    nd->sm_chain, entry_hash(e->term, e->type, e->buf, e->len));
		CHECK(w, state == nd->log[i - 1].chain,
		      "n%u's entry %llu changed since it was appended", nd->id,
		      (unsigned long long)i);
		CHECK(w, state == w->committed[i - 1].chain,
		      "State Machine Safety: n%u applies a different entry "
		      "%llu than another node",
		      nd->id, (unsigned long long)i);
		nd->applied = i;
		nd->sm_chain = state;
	}
}

/* Step 5: reads answered and failed. */
/* Step 5, for one read: answered (at `index`) or failed. */
static void take_read(struct world *w, struct node *nd, uint64_t rid,
		      uint64_t index, bool ok)
{
	struct read_req *q;

	if (!ok) {
		CHECK(w,
		      rid >= 1 && rid <= w->n_reads &&
			  w->reads[rid - 1].node == nd->id &&
			  w->reads[rid - 1].state == READ_PENDING,
		      "n%u fails read %llu it does not hold", nd->id,
		      (unsigned long long)rid);
		if (w->failed)
			return;
		w->reads[rid - 1].state = READ_FAILED;
		w->reads[rid - 1].done_at = w->now;
		return;
	}
	CHECK(w, rid >= 1 && rid <= w->n_reads, "n%u answers unknown read %llu",
	      nd->id, (unsigned long long)rid);
	if (w->failed)
		return;
	q = &w->reads[rid - 1];
	CHECK(w, q->node == nd->id && q->state == READ_PENDING,
	      "n%u answers read %llu (of n%u, state %d)", nd->id,
	      (unsigned long long)rid, q->node, (int)q->state);
	/* Linearizability (thesis §6.4): the read must reflect every
	 * write committed before it was issued. */
	CHECK(w, index >= q->need,
	      "stale read: n%u serves read %llu at index %llu but "
	      "%llu was committed before the read",
	      nd->id, (unsigned long long)rid, (unsigned long long)index,
	      (unsigned long long)q->need);
	CHECK(w, index <= nd->commit,
	      "n%u answers read %llu at %llu beyond its commit %llu", nd->id,
	      (unsigned long long)rid, (unsigned long long)index,
	      (unsigned long long)nd->commit);
	q->index = index;
	q->state = READ_ANSWERED;
	GROW(nd->reads, nd->cap_reads, nd->n_reads + 1);
	nd->reads[nd->n_reads++] = rid;
}

/* Serves the answered reads the state machine has caught up with. */
static void serve_reads(struct node *nd, struct world *w)
{
	size_t i = 0;

	while (i < nd->n_reads) {
		struct read_req *q = &w->reads[nd->reads[i] - 1];
		if (q->index <= nd->applied) {
			q->state = READ_SERVED;
			q->done_at = w->now;
			nd->reads[i] = nd->reads[--nd->n_reads];
		} else {
			i++;
		}
	}
}

static void print_trace(struct world *w, struct node *nd, const char *trace)
{
	const char *p = trace, *nl;

	if (!w->o.verbose || trace == NULL)
		return;
	while (*p) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		fprintf(trace_out(w), "%8llu n%u   | %.*s\n",
			(unsigned long long)w->now, nd->id, (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

/* After nd's update: its core is in the configuration its log says
 * (§4.1: the latest entry, committed or not); (a) only a voter of its
 * own configuration campaigns or becomes leader (§4.2.1), and a leader
 * that is no voter stays one only while that configuration is
 * uncommitted (§4.2.2); (c) a leader's log holds at most one uncommitted
 * configuration entry (§4.1: one change at a time). */
static void membership_checks(struct world *w, struct node *nd, bool was_leader,
			      uint64_t old_term)
{
	const struct sim_conf *conf = node_conf(nd);
	struct sim_conf core;
	bool voter = sim_conf_is_voter(conf, nd->id);

	sim_conf_from(&core, raft_conf(nd->r));
	CHECK(w, sim_conf_diff(&core, conf) == 0,
	      "n%u's core is in another configuration (%u members) than its "
	      "log's latest (entry %llu, %u members)",
	      nd->id, core.n, (unsigned long long)node_conf_index(nd), conf->n);
	switch (nd->role) {
	case RAFT_FOLLOWER:
		return;
	case RAFT_PRECANDIDATE:
	case RAFT_CANDIDATE:
		CHECK(w, node_may_campaign(nd),
		      "n%u campaigns (%s) as %s of its configuration", nd->id,
		      raft_role_name(nd->role),
		      sim_conf_has(conf, nd->id) ? "a learner" : "no member");
		return;
	case RAFT_LEADER:
		break;
	}
	if (!was_leader || old_term != nd->term)
		CHECK(w, node_may_campaign(nd),
		      "n%u became leader of term %llu as %s", nd->id,
		      (unsigned long long)nd->term,
		      sim_conf_has(conf, nd->id) ? "a learner" : "no member");
	else
		/* §4.2.2: a removed leader steps down once the configuration
		 * without it is committed; raftd hands over first (a
		 * transfer, no proposals taken, bounded by the minimum
		 * election timeout). */
		CHECK(w,
		      voter || node_conf_index(nd) > nd->commit ||
			  raft_transfer_target(nd->r) != 0,
		      "n%u still leads term %llu though the configuration "
		      "without its vote (entry %llu) is committed (%llu)",
		      nd->id, (unsigned long long)nd->term,
		      (unsigned long long)node_conf_index(nd),
		      (unsigned long long)nd->commit);
	/* Committed as the world knows it: a new leader learns what is
	 * committed only once its no-op is, and may hold its predecessor's
	 * committed configuration and the one after it. */
	CHECK(w,
	      nd->n_confs < 2 ||
		  nd->confs[nd->n_confs - 2].index <= w->n_committed,
	      "leader n%u holds two uncommitted configurations (%llu, %llu; "
	      "committed %llu)",
	      nd->id,
	      (unsigned long long)(nd->n_confs < 2
				       ? 0
				       : nd->confs[nd->n_confs - 2].index),
	      (unsigned long long)node_conf_index(nd),
	      (unsigned long long)w->n_committed);
	if (nd->id == w->xfer_to && nd->term > w->xfer_term) {
		w->transfers_won++;
		w->xfer_to = 0;
	}
}

/* Takes the update of the event just given to nd and carries it out in
 * raft.h's order, checking it on the way. */
/* Carrying out an update by the plan the daemon runs too (core/plan.h),
 * checking it on the way: the operations below are the simulation's
 * storage, network, state machine, reads and timer. */
struct sim_plan {
	struct world *w;
	struct node *nd;
	bool was_leader;
	uint64_t old_term, old_n;
};

/* Steps 1-2, then the checks that need the writes taken, and the commit
 * index (the messages below may carry it). */
static void sim_write(void *arg, const struct raft_update *up)
{
	struct sim_plan *sp = arg;
	struct world *w = sp->w;
	struct node *nd = sp->nd;
	bool was_leader = sp->was_leader;
	uint64_t old_term = sp->old_term, old_n = sp->old_n;
	enum raft_role role;
	size_t i;

	if (w->failed)
		return;
	take_writes(w, nd, up);
	if (w->failed)
		return;

	/* The updates must describe the core exactly. */
	role = raft_role(nd->r);
	nd->term = raft_term(nd->r);
	nd->leader = raft_leader(nd->r);
	CHECK(w, nd->term == nd->hs_term && up->term == nd->term,
	      "n%u is in term %llu but its updates said %llu", nd->id,
	      (unsigned long long)nd->term, (unsigned long long)nd->hs_term);
	CHECK(w, nd->term >= old_term, "n%u's term went back from %llu to %llu",
	      nd->id, (unsigned long long)old_term,
	      (unsigned long long)nd->term);
	CHECK(w,
	      raft_last_index(nd->r) == nd->n &&
		  raft_last_term(nd->r) ==
		      (nd->n ? nd->log[nd->n - 1].term : 0),
	      "n%u's log ends at (%llu, %llu); its updates say (%llu, %llu)",
	      nd->id, (unsigned long long)raft_last_index(nd->r),
	      (unsigned long long)raft_last_term(nd->r),
	      (unsigned long long)nd->n,
	      (unsigned long long)(nd->n ? nd->log[nd->n - 1].term : 0));
	CHECK(w, up->role == role && up->leader_id == nd->leader,
	      "n%u's update says %s/leader %u, the core %s/leader %u", nd->id,
	      raft_role_name(up->role), up->leader_id, raft_role_name(role),
	      nd->leader);
	if (role == RAFT_LEADER) {
		/* Leader Append-Only (§5.3): a leader never overwrites or
		 * deletes entries in its log; it only appends, in its term. */
		CHECK(w, up->truncate_from == 0,
		      "Leader Append-Only: leader n%u truncated from %llu in "
		      "term %llu",
		      nd->id, (unsigned long long)up->truncate_from,
		      (unsigned long long)nd->term);
		for (i = old_n; i < nd->n; i++)
			CHECK(w, nd->log[i].term == nd->term,
			      "leader n%u appended entry %llu of term %llu in "
			      "term %llu",
			      nd->id, (unsigned long long)(i + 1),
			      (unsigned long long)nd->log[i].term,
			      (unsigned long long)nd->term);
		CHECK(w, nd->leader == nd->id, "leader n%u names leader %u",
		      nd->id, nd->leader);
	}
	nd->role = role;
	if (role == RAFT_LEADER) {
		election_safety(w, nd);
		if (!was_leader || old_term != nd->term) {
			vlog(w, nd->id, "leader of term %llu",
			     (unsigned long long)nd->term);
			leader_completeness(w, nd);
		}
	}

	/* The commit index first: the messages below may carry it. */
	CHECK(w, up->commit_index == raft_commit_index(nd->r),
	      "n%u's update says commit %llu, the core %llu", nd->id,
	      (unsigned long long)up->commit_index,
	      (unsigned long long)raft_commit_index(nd->r));
	CHECK(w, up->commit_index >= nd->commit,
	      "n%u's commit index went back from %llu to %llu", nd->id,
	      (unsigned long long)nd->commit,
	      (unsigned long long)up->commit_index);
	CHECK(w, up->commit_index <= nd->n,
	      "n%u commits %llu beyond its log (%llu)", nd->id,
	      (unsigned long long)up->commit_index, (unsigned long long)nd->n);
	CHECK(w, up->commit_changed == (up->commit_index != nd->commit),
	      "n%u's commit_changed is wrong", nd->id);
	if (w->failed)
		return;
	if (up->commit_index > nd->commit) {
		if (was_leader && role == RAFT_LEADER && old_term == nd->term) {
			/* Thesis §4.2.1: a leader commits an entry once a
			 * majority of the VOTERS of its configuration hold it
			 * (learners are never counted). */
			const struct sim_conf *c = node_conf(nd);
			uint64_t ci = up->commit_index;
			uint32_t v = sim_conf_voters(c), d;
			if (ci <= w->n_committed &&
			    nd->log[ci - 1].chain ==
				w->committed[ci - 1].chain) {
				d = durable_voters(w, c, ci);
				CHECK(w, d >= v / 2 + 1,
				      "leader n%u commits %llu held by %u of "
				      "its %u voters",
				      nd->id, (unsigned long long)ci, d, v);
			}
			/* §5.4.2 (Figure 8): "Raft never commits log entries
			 * from previous terms by counting replicas." */
			w->leader_commits++;
			CHECK(w, nd->log[up->commit_index - 1].term == nd->term,
			      "leader n%u of term %llu committed index %llu of "
			      "term %llu by counting",
			      nd->id, (unsigned long long)nd->term,
			      (unsigned long long)up->commit_index,
			      (unsigned long long)nd->log[up->commit_index - 1]
				  .term);
		}
		nd->commit = up->commit_index;
		note_commit(w, nd, nd->commit);
		resolve_props(w, nd);
	}
	membership_checks(w, nd, was_leader, old_term);
}

static void sim_send(void *arg, const struct raft_msg *m, bool after_writes)
{
	struct sim_plan *sp = arg;

	if (!sp->w->failed)
		take_msg(sp->w, sp->nd, m, after_writes);
}

static void sim_apply(void *arg, uint64_t commit)
{
	struct sim_plan *sp = arg;

	if (!sp->w->failed)
		apply(sp->w, sp->nd);
}

static void sim_read(void *arg, uint64_t id, uint64_t index, bool ok)
{
	struct sim_plan *sp = arg;

	if (!sp->w->failed)
		take_read(sp->w, sp->nd, id, index, ok);
}

/* Step 6: the next tick, converted to the world's clock. */
static void sim_wake(void *arg, uint64_t at)
{
	struct sim_plan *sp = arg;
	struct world *w = sp->w;
	struct node *nd = sp->nd;
	uint64_t wake = at >= nd->clock_offset ? at - nd->clock_offset : 0;

	/* A timer thread wakes up late now and then. */
	if (w->o.tick_jitter)
		wake += rng_below(&w->rng, w->o.tick_jitter + 1);
	nd->wake_at = wake;
}

static const struct raft_plan_ops sim_plan_ops = {
    .write = sim_write,
    .send = sim_send,
    .apply = sim_apply,
    .read = sim_read,
    .wake = sim_wake,
};

static void node_process(struct world *w, struct node *nd)
{
	const struct raft_update *up = raft_update_take(nd->r);
	struct sim_plan sp = {.w = w,
			      .nd = nd,
			      .was_leader = nd->role == RAFT_LEADER,
			      .old_term = nd->term,
			      .old_n = nd->n};

	print_trace(w, nd, up->trace);
	if (w->failed)
		return;
	raft_plan_run(up, &sim_plan_ops, &sp);
	if (!w->failed)
		serve_reads(nd, w);
}

/* ---- snapshots taken by the nodes (§7) ---------------------------------- */

int world_snapshot(struct world *w, uint32_t id, uint64_t keep)
{
	struct node *nd = &w->nodes[id];

	if (w->failed || !nd->up || nd->paused_until > w->now ||
	    nd->snap_pending.index != 0 || nd->applied == 0 ||
	    nd->applied <= nd->disk.snap.index)
		return -1;
	/* The state machine's own state, as it stands. */
	nd->snap_pending.index = nd->applied;
	nd->snap_pending.term = nd->log[nd->applied - 1].term;
	nd->snap_pending.chain = nd->sm_chain;
	CHECK(w, raft_conf_at(nd->r, nd->applied, &nd->snap_pending.conf) == 0,
	      "raft_conf_at(n%u, %llu)", id, (unsigned long long)nd->applied);
	nd->snap_keep = keep;
	nd->snap_at = w->now + rng_range(&w->rng, w->o.snap_persist_min,
					 w->o.snap_persist_max);
	vlog(w, id, "snapshot up to (%llu, %llu) being written",
	     (unsigned long long)nd->snap_pending.index,
	     (unsigned long long)nd->snap_pending.term);
	return 0;
}

/* nd's snapshot is durable: it becomes the latest (unless an install
 * made a newer one durable meanwhile); the core hears of it
 * (raft_snapshot_taken) and the stored log is compacted behind the
 * writes already queued, the last step. */
static void snap_complete(struct world *w, struct node *nd)
{
	struct snap_data s = nd->snap_pending;
	uint64_t offset = raft_first_index(nd->r) - 1, compact_to;
	bool fits;
	int rv;

	memset(&nd->snap_pending, 0, sizeof(nd->snap_pending));
	CHECK(w, snap_committed(w, &s),
	      "State Machine Safety: n%u's state machine at %llu is not the "
	      "committed prefix",
	      nd->id, (unsigned long long)s.index);
	if (w->failed || s.index <= nd->disk.snap.index)
		return; /* an install overtook it */
	nd->disk.snap = s;
	w->snapshots++;
	compact_to = s.index > nd->snap_keep ? s.index - nd->snap_keep : 0;
	if (compact_to < offset)
		compact_to = offset;
	/* raft.h: refused when an install moved the log past it. */
	fits = s.index >= offset && s.index >= raft_snapshot_index(nd->r) &&
	       s.index <= raft_commit_index(nd->r) && s.index <= nd->n;
	if (!fits)
		compact_to = offset;
	rv = raft_snapshot_taken(nd->r, s.index, compact_to);
	vlog(w, nd->id,
	     "durable: snapshot up to (%llu, %llu), compact to %llu: %s",
	     (unsigned long long)s.index, (unsigned long long)s.term,
	     (unsigned long long)compact_to, raft_strerror(rv));
	CHECK(w, rv == (fits ? 0 : RAFT_EINVAL),
	      "raft_snapshot_taken(n%u, %llu, %llu) with log %llu..%llu, "
	      "commit %llu: %s",
	      nd->id, (unsigned long long)s.index,
	      (unsigned long long)compact_to, (unsigned long long)offset + 1,
	      (unsigned long long)nd->n, (unsigned long long)nd->commit,
	      raft_strerror(rv));
	if (rv != 0 || w->failed)
		return;
	CHECK(w,
	      raft_snapshot_index(nd->r) == s.index &&
		  raft_first_index(nd->r) == compact_to + 1 &&
		  raft_last_index(nd->r) == nd->n,
	      "n%u's core after raft_snapshot_taken(%llu, %llu): snapshot "
	      "%llu, log %llu..%llu",
	      nd->id, (unsigned long long)s.index,
	      (unsigned long long)compact_to,
	      (unsigned long long)raft_snapshot_index(nd->r),
	      (unsigned long long)raft_first_index(nd->r),
	      (unsigned long long)raft_last_index(nd->r));
	if (compact_to > offset) {
		struct disk_batch *b = xcalloc(1, sizeof(*b));
		b->compact_to = compact_to;
		disk_queue(w, nd, b);
		nd->first = compact_to + 1;
		w->compactions++;
	}
}

/* ---- nodes: start, crash ------------------------------------------------ */

static void node_start(struct world *w, struct node *nd)
{
	struct raft_config cfg = w->cfg;
	uint64_t i;
	int rv;

	cfg.id = nd->id;
	/* The brief's seed ^ id, mixed with the incarnation so a restarted
	 * node does not replay its previous timeouts. */
	cfg.seed =
	    w->o.seed ^ nd->id ^ (nd->incarnation * 0x9E3779B97F4A7C15ULL);
	nd->r = xcalloc(1, sizeof(*nd->r));
	rv = raft_init(nd->r, &cfg);
	if (rv != 0) {
		world_fail(w, "raft_init(n%u): %s", nd->id, raft_strerror(rv));
		return;
	}
	rv = raft_load_hard_state(nd->r, nd->disk.term, nd->disk.vote);
	CHECK(w, rv == 0, "raft_load_hard_state(n%u): %s", nd->id,
	      raft_strerror(rv));
	if (nd->disk.snap.index != 0 || nd->disk.base != 0) {
		/* The stored log starts after its base; the state machine
		 * is loaded from the latest snapshot. */
		const struct disk *d = &nd->disk;
		rv = raft_load_snapshot(nd->r, d->base,
					d->base ? d->log[d->base - 1].term : 0,
					d->snap.index, d->snap.term,
					d->snap.index ? &d->snap.conf : NULL);
		CHECK(w, rv == 0,
		      "raft_load_snapshot(n%u, %llu, %llu, %llu, %llu): %s",
		      nd->id, (unsigned long long)d->base,
		      (unsigned long long)(d->base ? d->log[d->base - 1].term
						   : 0),
		      (unsigned long long)d->snap.index,
		      (unsigned long long)d->snap.term, raft_strerror(rv));
	}
	/* The configuration before the log's: the snapshot's, else the
	 * bootstrap one; then the stored log's after the snapshot. */
	if (nd->disk.snap.index != 0)
		sim_conf_from(&nd->conf_base, &nd->disk.snap.conf);
	else
		bootstrap_conf(w, &nd->conf_base);
	nd->n_confs = 0;
	/* The shadow holds the whole history: compacted entries as the
	 * disk remembers them (the committed ones), then the stored log. */
	nd->n = 0;
	for (i = 0; i < nd->disk.n && !w->failed; i++) {
		const struct disk_entry *e = &nd->disk.log[i];
		struct shadow_entry *s;
		GROW(nd->log, nd->cap, nd->n + 1);
		s = &nd->log[nd->n++];
		s->term = e->term;
		s->type = e->type;
		s->chain = e->chain;
		if (i < nd->disk.base) {
			s->pid = w->committed[i].pid;
			continue;
		}
		s->pid = payload_pid(e->type, e->buf, e->len);
		if (e->type == RAFT_ENTRY_CONFIG &&
		    i + 1 > nd->disk.snap.index) {
			struct raft_entry re = {e->term, e->type, e->len,
						e->buf};
			conf_push(w, nd, i + 1, &re, false);
		}
		rv = raft_load_entry(nd->r, e->term, e->type, e->buf, e->len);
		CHECK(w, rv == 0, "raft_load_entry(n%u, %llu): %s", nd->id,
		      (unsigned long long)(i + 1), raft_strerror(rv));
	}
	nd->first = nd->disk.base + 1;
	nd->hs_term = nd->disk.term;
	nd->hs_vote = nd->disk.vote;
	nd->term = nd->disk.term;
	nd->role = RAFT_FOLLOWER;
	nd->leader = 0;
	/* The state machine is the latest snapshot's, then rebuilt from the
	 * log; what the snapshot holds is committed. */
	nd->commit = nd->disk.snap.index;
	nd->applied = nd->disk.snap.index;
	nd->sm_chain = nd->disk.snap.chain;
	memset(&nd->snap_pending, 0, sizeof(nd->snap_pending));
	memset(&nd->recv_snap, 0, sizeof(nd->recv_snap));
	nd->up = true;
	nd->disk.issued_seq = nd->disk.durable_seq = 0;
	raft_start(nd->r, node_now(w, nd));
	node_process(w, nd);
	if (nd->disk.n > nd->disk.base && !w->failed) {
		raft_persisted(nd->r, node_now(w, nd), nd->disk.n,
			       nd->disk.log[nd->disk.n - 1].term);
		node_process(w, nd);
	}
}

void world_crash(struct world *w, uint32_t id)
{
	struct node *nd = &w->nodes[id];
	struct disk_batch *b;
	uint64_t keep = 0, k;
	bool torn = false;

	if (!nd->up)
		return;
	w->crashes++;
	/* Writes not yet durable are lost -- or, now and then, a prefix of
	 * them reached the platter anyway, ending in a torn batch (its hard
	 * state, its truncation and a prefix of its entries). */
	if (nd->disk.head && rng_ppm(&w->rng, w->o.crash_keep_ppm)) {
		for (b = nd->disk.head; b; b = b->next)
			keep++;
		keep = rng_below(&w->rng, keep);
		torn = true;
	}
	for (k = 0; nd->disk.head; k++) {
		b = nd->disk.head;
		nd->disk.head = b->next;
		if (k < keep)
			disk_apply(w, nd, b, b->n_append);
		else if (k == keep && torn)
			disk_apply(w, nd, b,
				   rng_below(&w->rng, b->n_append + 1));
		batch_free(b);
	}
	nd->disk.tail = NULL;
	while (nd->held_head) {
		struct held_msg *h = nd->held_head;
		nd->held_head = h->next;
		raft_msg_free(&h->m);
		free(h);
	}
	nd->held_tail = NULL;
	for (k = 0; k < nd->n_props; k++)
		w->props[nd->props[k] - 1].state = PROP_UNKNOWN;
	nd->n_props = 0;
	for (k = 0; k < w->n_reads; k++) {
		struct read_req *q = &w->reads[k];
		if (q->node == id &&
		    (q->state == READ_PENDING || q->state == READ_ANSWERED))
			q->state = READ_LOST;
	}
	nd->n_reads = 0;
	/* A snapshot still being written is lost with the page cache. */
	memset(&nd->snap_pending, 0, sizeof(nd->snap_pending));
	raft_close(nd->r);
	free(nd->r);
	nd->r = NULL;
	nd->up = false;
	nd->wake_at = WORLD_NONE;
	nd->role = RAFT_FOLLOWER;
	vlog(w, id, "CRASH (kept %llu unsynced writes)",
	     (unsigned long long)keep);
}

void world_pause(struct world *w, uint32_t id, uint64_t ms)
{
	struct node *nd = &w->nodes[id];

	if (!nd->up)
		return;
	nd->paused_until = w->now + ms;
	vlog(w, id, "PAUSED for %llu ms", (unsigned long long)ms);
}

void world_restart(struct world *w, uint32_t id)
{
	struct node *nd = &w->nodes[id];

	if (nd->up || w->failed)
		return;
	nd->paused_until = 0;
	nd->incarnation++;
	if (nd->disk.snap.index == 0 && nd->disk.base == 0)
		vlog(w, id, "RESTART with term %llu vote %u and %llu entries",
		     (unsigned long long)nd->disk.term, nd->disk.vote,
		     (unsigned long long)nd->disk.n);
	else
		vlog(w, id,
		     "RESTART with term %llu vote %u, snapshot (%llu, %llu) "
		     "and entries %llu..%llu",
		     (unsigned long long)nd->disk.term, nd->disk.vote,
		     (unsigned long long)nd->disk.snap.index,
		     (unsigned long long)nd->disk.snap.term,
		     (unsigned long long)nd->disk.base + 1,
		     (unsigned long long)nd->disk.n);
	node_start(w, nd);
}

/* ---- the event loop ----------------------------------------------------- */

enum { EV_NONE, EV_DISK, EV_SNAP, EV_MSG, EV_WAKE };

static void vlog_msg(struct world *w, const struct raft_msg *m)
{
	const struct raft_msg_append *a = &m->u.append;
	const struct raft_msg_append_resp *ar = &m->u.append_resp;

	switch (m->type) {
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	case RAFT_MSG_VOTE:
		vlog(w, m->to, "<- n%u %svote term %llu last (%llu, %llu)",
		     m->from, m->u.vote.prevote ? "pre" : "",
		     (unsigned long long)m->term,
		     (unsigned long long)m->u.vote.last_log_index,
		     (unsigned long long)m->u.vote.last_log_term);
		break;
	case RAFT_MSG_VOTE_RESP:
		vlog(w, m->to, "<- n%u %svote-resp term %llu %s", m->from,
		     m->u.vote_resp.prevote ? "pre" : "",
		     (unsigned long long)m->term,
		     m->u.vote_resp.granted ? "granted" : "rejected");
		break;
	case RAFT_MSG_APPEND:
		vlog(w, m->to,
		     "<- n%u append term %llu prev (%llu, %llu) +%u commit "
		     "%llu seq %llu",
		     m->from, (unsigned long long)m->term,
		     (unsigned long long)a->prev_index,
		     (unsigned long long)a->prev_term, a->n_entries,
		     (unsigned long long)a->leader_commit,
		     (unsigned long long)a->seq);
		break;
	case RAFT_MSG_APPEND_RESP:
		vlog(w, m->to,
		     "<- n%u append-resp term %llu %s prev %llu match %llu "
		     "conflict (%llu, %llu) last %llu",
		     m->from, (unsigned long long)m->term,
		     ar->success ? "ok" : "REJECT",
		     (unsigned long long)ar->prev_index,
		     (unsigned long long)ar->match_index,
		     (unsigned long long)ar->conflict_term,
		     (unsigned long long)ar->conflict_index,
		     (unsigned long long)ar->last_log_index);
		break;
	case RAFT_MSG_SNAPSHOT:
		vlog(w, m->to, "<- n%u snapshot term %llu up to (%llu, %llu)",
		     m->from, (unsigned long long)m->term,
		     (unsigned long long)m->u.snapshot.index,
		     (unsigned long long)m->u.snapshot.term);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		vlog(w, m->to, "<- n%u snapshot-resp term %llu %s index %llu",
		     m->from, (unsigned long long)m->term,
		     m->u.snapshot_resp.success ? "ok" : "REJECT",
		     (unsigned long long)m->u.snapshot_resp.index);
		break;
	}
}

/* The sender's transport reports a failed snapshot transfer. */
static void deliver_notice(struct world *w, struct flight *f)
{
	struct node *nd = &w->nodes[f->m.from];

	if (!nd->up || nd->incarnation != f->incarnation)
		return; /* the process that sent it is gone */
	w->snap_notices++;
	vlog(w, nd->id, "snapshot to n%u failed", f->m.to);
	raft_snapshot_failed(nd->r, node_now(w, nd), f->m.to);
	node_process(w, nd);
}

static void deliver(struct world *w, struct flight *f)
{
	struct node *to = &w->nodes[f->m.to];
	int rv;

	if (f->notice) {
		deliver_notice(w, f);
		return;
	}
	if (!to->up || !link_open(w, f->m.from, f->m.to)) {
		w->msgs_dropped++;
		/* A transfer cut short: the sender may notice. */
		if (f->m.type == RAFT_MSG_SNAPSHOT && rng_below(&w->rng, 2))
			snap_notice(w, &f->m);
		return;
	}
	w->msgs_delivered++;
	if (w->o.verbose)
		vlog_msg(w, &f->m);
	if (f->m.type == RAFT_MSG_SNAPSHOT) {
		/* The data is durable here before the message is handed
		 * over (raft.h); the install, if any, promotes it. */
		CHECK(w,
		      f->snap.index == f->m.u.snapshot.index &&
			  f->snap.term == f->m.u.snapshot.term,
		      "a snapshot request names (%llu, %llu), carries (%llu, "
		      "%llu)",
		      (unsigned long long)f->m.u.snapshot.index,
		      (unsigned long long)f->m.u.snapshot.term,
		      (unsigned long long)f->snap.index,
		      (unsigned long long)f->snap.term);
		to->recv_snap = f->snap;
		f->m.u.snapshot.conf = &f->snap.conf;
	}
	rv = raft_recv(to->r, node_now(w, to), &f->m);
	CHECK(w, rv == 0 || !sim_conf_has(node_conf(to), f->m.from),
	      "raft_recv(n%u, %s from n%u): %s", to->id, msg_name(f->m.type),
	      f->m.from, raft_strerror(rv));
	w->step_from = f->m.from;
	node_process(w, to);
	w->step_from = 0;
	memset(&to->recv_snap, 0, sizeof(to->recv_snap));
}

/* Election Safety over every node at once (roles change only in the
 * stepped node, but this is cheap and catches bookkeeping slips). */
static void step_checks(struct world *w)
{
	uint32_t i;

	for (i = 1; i <= w->n; i++) {
		struct node *nd = &w->nodes[i];
		if (nd->up && nd->role == RAFT_LEADER) {
			w->checks++;
			if (nd->term < w->cap_term_leader &&
			    w->term_leader[nd->term] != nd->id)
				world_fail(w,
					   "Election Safety: n%u leads term "
					   "%llu, recorded leader is n%u",
					   i, (unsigned long long)nd->term,
					   w->term_leader[nd->term]);
		}
	}
	if (++w->steps_since_deep >= WORLD_DEEP_EVERY) {
		w->steps_since_deep = 0;
		world_deep_check(w);
	}
}

/* Runs the earliest event due no later than `limit`; false if none. */
static bool world_step(struct world *w, uint64_t limit)
{
	uint64_t best = WORLD_NONE, t;
	uint32_t who = 0, i;
	int kind = EV_NONE;

	if (w->failed)
		return false;
	/* Ties: durable writes first (they release messages), then the
	 * wire, then timers; each by node id, messages by send order. */
	for (i = 1; i <= w->n; i++) {
		struct node *nd = &w->nodes[i];
		if (!nd->up || nd->disk.head == NULL)
			continue;
		t = nd->disk.head->durable_at;
		t = t > w->now ? t : w->now;
		t = t > nd->paused_until ? t : nd->paused_until;
		if (t < best) {
			best = t;
			kind = EV_DISK;
			who = i;
		}
	}
	for (i = 1; i <= w->n; i++) {
		struct node *nd = &w->nodes[i];
		if (!nd->up || nd->snap_pending.index == 0)
			continue;
		t = nd->snap_at > w->now ? nd->snap_at : w->now;
		t = t > nd->paused_until ? t : nd->paused_until;
		if (t < best) {
			best = t;
			kind = EV_SNAP;
			who = i;
		}
	}
	if (w->n_heap > 0) {
		t = w->heap[0]->at > w->now ? w->heap[0]->at : w->now;
		if (t < best) {
			best = t;
			kind = EV_MSG;
		}
	}
	for (i = 1; i <= w->n; i++) {
		struct node *nd = &w->nodes[i];
		if (!nd->up || nd->wake_at == WORLD_NONE)
			continue;
		t = nd->wake_at > w->now ? nd->wake_at : w->now;
		t = t > nd->paused_until ? t : nd->paused_until;
		if (t < best) {
			best = t;
			kind = EV_WAKE;
			who = i;
		}
	}
	if (kind == EV_NONE || best > limit)
		return false;
	if (best == w->last_step_at) {
		if (++w->same_time_steps > WORLD_LIVELOCK_STEPS) {
			world_fail(w, "livelock: %u steps without time passing",
				   WORLD_LIVELOCK_STEPS);
			return false;
		}
	} else {
		w->same_time_steps = 0;
	}
	w->now = w->last_step_at = best;
	w->steps++;
	switch (kind) {
	case EV_DISK:
		disk_complete(w, &w->nodes[who]);
		break;
	case EV_SNAP:
		snap_complete(w, &w->nodes[who]);
		break;
	case EV_MSG: {
		struct flight *f = heap_pop(w);
		struct node *to = &w->nodes[f->notice ? f->m.from : f->m.to];
		if (to->up && to->paused_until > w->now) {
			/* It waits in the socket buffer, in order. */
			f->at = to->paused_until;
			heap_push(w, f);
			break;
		}
		deliver(w, f);
		raft_msg_free(&f->m);
		free(f);
		break;
	}
	case EV_WAKE: {
		struct node *nd = &w->nodes[who];
		nd->wake_at = WORLD_NONE;
		raft_tick(nd->r, node_now(w, nd));
		node_process(w, nd);
		break;
	}
	}
	step_checks(w);
	if (w->on_step != NULL && !w->failed)
		w->on_step(w, w->on_step_arg);
	return !w->failed;
}

int world_inject(struct world *w, uint32_t to, const struct raft_msg *m0)
{
	struct raft_msg fm = *m0, *m = &fm;
	struct node *nd;
	int rv;

	if (w->failed || to < 1 || to > w->n)
		return RAFT_ESHUTDOWN;
	nd = &w->nodes[to];
	if (!nd->up || nd->paused_until > w->now)
		return RAFT_ESHUTDOWN;
	w->steps++;
	w->injected++;
	if (w->o.verbose) {
		vlog(w, to, "FORGED message (from %u to %u):", m->from, m->to);
		vlog_msg(w, m);
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		/* Data no state machine ever had: installing it would be
		 * caught (take_install). */
		nd->recv_snap.index = m->u.snapshot.index;
		nd->recv_snap.term = m->u.snapshot.term;
		nd->recv_snap.chain = UINT64_C(0xF0F0F0F0F0F0F0F0);
		nd->recv_snap.conf = *raft_conf(nd->r);
		if (fm.u.snapshot.conf == NULL)
			fm.u.snapshot.conf = &nd->recv_snap.conf;
	}
	rv = raft_recv(nd->r, node_now(w, nd), m);
	vlog(w, to, "FORGED message %s", rv == 0 ? "taken" : raft_strerror(rv));
	w->step_from = m->from;
	node_process(w, nd);
	w->step_from = 0;
	memset(&nd->recv_snap, 0, sizeof(nd->recv_snap));
	step_checks(w);
	return rv;
}

void world_run_for(struct world *w, uint64_t ms)
{
	uint64_t until = w->now + ms;

	while (world_step(w, until))
		;
	if (!w->failed && w->now < until)
		w->now = until;
}

bool world_run_until(struct world *w, uint64_t max_ms,
		     bool (*pred)(struct world *w, void *arg), void *arg)
{
	uint64_t until = w->now + max_ms;

	if (w->failed)
		return false;
	if (pred(w, arg))
		return true;
	while (world_step(w, until))
		if (pred(w, arg))
			return true;
	if (!w->failed && w->now < until)
		w->now = until;
	return false;
}

/* ---- leaders ------------------------------------------------------------ */

uint32_t world_count_leaders(struct world *w, uint32_t mask)
{
	uint32_t i, n = 0;

	for (i = 1; i <= w->n; i++)
		if ((mask & (1u << i)) && w->nodes[i].up &&
		    w->nodes[i].role == RAFT_LEADER)
			n++;
	return n;
}

uint32_t world_leader(struct world *w, uint32_t mask)
{
	uint32_t i, best = 0;

	for (i = 1; i <= w->n; i++) {
		struct node *nd = &w->nodes[i];
		if (!(mask & (1u << i)) || !nd->up || nd->role != RAFT_LEADER)
			continue;
		if (best == 0 || nd->term > w->nodes[best].term)
			best = i;
	}
	return best;
}

uint32_t world_settled_leader(struct world *w, uint32_t mask)
{
	uint32_t l = world_leader(w, mask), i;

	if (l == 0)
		return 0;
	for (i = 1; i <= w->n; i++) {
		struct node *nd = &w->nodes[i];
		if (!(mask & (1u << i)) || !nd->up)
			continue;
		if (nd->term != w->nodes[l].term || nd->leader != l)
			return 0;
	}
	return l;
}

static bool pred_settled(struct world *w, void *arg)
{
	return world_settled_leader(w, *(uint32_t *)arg) != 0;
}

uint32_t world_wait_leader(struct world *w, uint32_t mask, uint64_t max_ms)
{
	if (!world_run_until(w, max_ms, pred_settled, &mask))
		return 0;
	return world_settled_leader(w, mask);
}

uint32_t world_up_mask(struct world *w)
{
	uint32_t i, m = 0;

	for (i = 1; i <= w->n; i++)
		if (w->nodes[i].up)
			m |= 1u << i;
	return m;
}

/* ---- clients ------------------------------------------------------------ */

int world_propose(struct world *w, uint32_t id, uint64_t *pid)
{
	struct node *nd = &w->nodes[id];
	uint8_t buf[4096];
	uint32_t len, i;
	uint64_t index = 0, term = 0, p;
	struct proposal *pr;
	int rv;

	if (!nd->up || nd->paused_until > w->now || w->failed)
		return RAFT_ESHUTDOWN;
	len = (uint32_t)rng_range(&w->rng, w->o.payload_min, w->o.payload_max);
	p = w->n_props + 1;
	for (i = 0; i < len; i++)
		buf[i] =
		    i < 8 ? (uint8_t)(p >> (8 * i)) : (uint8_t)(p * 131 + i);
	rv = raft_propose(nd->r, node_now(w, nd), RAFT_ENTRY_COMMAND, buf, len,
			  &index, &term);
	if (rv == 0) {
		CHECK(w,
		      index == nd->n + 1 && term == nd->term &&
			  nd->role == RAFT_LEADER,
		      "n%u accepted a proposal at (%llu, %llu) holding %llu "
		      "entries in term %llu",
		      id, (unsigned long long)index, (unsigned long long)term,
		      (unsigned long long)nd->n, (unsigned long long)nd->term);
		GROW(w->props, w->cap_props, w->n_props + 1);
		pr = &w->props[w->n_props++];
		memset(pr, 0, sizeof(*pr));
		pr->pid = p;
		pr->node = id;
		pr->index = index;
		pr->term = term;
		pr->at = w->now;
		GROW(nd->props, nd->cap_props, nd->n_props + 1);
		nd->props[nd->n_props++] = p;
		if (pid)
			*pid = p;
		vlog(w, id, "propose #%llu at (%llu, %llu)",
		     (unsigned long long)p, (unsigned long long)index,
		     (unsigned long long)term);
	} else if (rv == RAFT_EBUSY) {
		/* Thesis §3.10: no proposals during a transfer. */
		CHECK(w,
		      nd->role == RAFT_LEADER &&
			  raft_transfer_target(nd->r) != 0,
		      "raft_propose(n%u, %s) busy with no transfer under way",
		      id, raft_role_name(nd->role));
		w->busy++;
	} else {
		CHECK(w, rv == RAFT_ENOTLEADER && nd->role != RAFT_LEADER,
		      "raft_propose(n%u, %s): %s", id, raft_role_name(nd->role),
		      raft_strerror(rv));
	}
	node_process(w, nd);
	if (rv == 0)
		CHECK(w, nd->n >= index && nd->log[index - 1].pid == p,
		      "n%u did not append proposal %llu at %llu", id,
		      (unsigned long long)p, (unsigned long long)index);
	return rv;
}

static bool pred_prop_done(struct world *w, void *arg)
{
	return w->props[*(uint64_t *)arg - 1].state != PROP_PENDING;
}

bool world_wait_prop(struct world *w, uint64_t pid, uint64_t max_ms)
{
	return world_run_until(w, max_ms, pred_prop_done, &pid);
}

int world_read(struct world *w, uint32_t id, uint64_t *rid)
{
	struct node *nd = &w->nodes[id];
	struct read_req *q;
	int rv;

	if (!nd->up || nd->paused_until > w->now || w->failed)
		return RAFT_ESHUTDOWN;
	/* Registered first: the core may answer within the call. */
	GROW(w->reads, w->cap_reads, w->n_reads + 1);
	q = &w->reads[w->n_reads++];
	memset(q, 0, sizeof(*q));
	q->rid = w->n_reads;
	q->node = id;
	q->need = w->n_committed;
	q->at = w->now;
	rv = raft_read(nd->r, node_now(w, nd), q->rid);
	if (rv != 0) {
		CHECK(w, rv == RAFT_ENOTLEADER && nd->role != RAFT_LEADER,
		      "raft_read(n%u, %s): %s", id, raft_role_name(nd->role),
		      raft_strerror(rv));
		w->n_reads--;
	} else {
		vlog(w, id, "read #%llu (needs index %llu)",
		     (unsigned long long)q->rid, (unsigned long long)q->need);
		if (rid)
			*rid = q->rid;
	}
	node_process(w, nd);
	return rv;
}

int world_set_member(struct world *w, uint32_t leader, uint32_t id,
		     uint8_t flags, bool remove, uint64_t *index)
{
	struct node *nd = &w->nodes[leader];
	static struct raft_conf to; /* 8 KiB: not on the stack */
	uint64_t idx = 0, term = 0, old_n;
	uint32_t i, k;
	bool uncommitted, busy_ok;
	int rv;

	if (leader < 1 || leader > w->n || !nd->up ||
	    nd->paused_until > w->now || w->failed)
		return RAFT_ESHUTDOWN;
	to = *raft_conf(nd->r);
	for (k = 0; k < to.n && to.m[k].id != id; k++)
		;
	if (remove) {
		if (k < to.n) {
			for (i = k; i + 1 < to.n; i++)
				to.m[i] = to.m[i + 1];
			to.n--;
		}
	} else if (k < to.n) {
		to.m[k].flags = flags;
	} else if (to.n < RAFT_MAX_NODES) {
		memset(&to.m[to.n], 0, sizeof(to.m[to.n]));
		to.m[to.n].id = id;
		to.m[to.n].flags = flags;
		to.n++;
		raft_conf_sort(&to);
	}
	/* raft.h: busy while the latest configuration is uncommitted,
	 * before the leader committed an entry of its term, or during a
	 * transfer. */
	uncommitted = node_conf_index(nd) > nd->commit;
	busy_ok = uncommitted || !nd->r->commit_in_term ||
		  raft_transfer_target(nd->r) != 0;
	old_n = nd->n;
	rv = raft_propose_conf(nd->r, node_now(w, nd), &to, &idx, &term);
	vlog(w, leader, "propose configuration: n%u %s: %s", id,
	     remove			   ? "removed"
	     : flags & RAFT_MEMBER_VOTER   ? "voter"
	     : flags & RAFT_MEMBER_PROMOTE ? "learner to promote"
					   : "learner",
	     raft_strerror(rv));
	switch (rv) {
	case RAFT_OK:
		CHECK(w,
		      nd->role == RAFT_LEADER && !busy_ok && idx == old_n + 1 &&
			  term == nd->term,
		      "raft_propose_conf(n%u) took a change at (%llu, %llu) "
		      "(%s, %s uncommitted configuration, commit in term "
		      "%d, transfer to %u)",
		      leader, (unsigned long long)idx, (unsigned long long)term,
		      raft_role_name(nd->role), uncommitted ? "an" : "no",
		      (int)nd->r->commit_in_term, raft_transfer_target(nd->r));
		w->conf_proposed++;
		break;
	case RAFT_EBUSY:
		CHECK(w, nd->role == RAFT_LEADER && busy_ok,
		      "raft_propose_conf(n%u) busy with the configuration "
		      "committed, an entry of its term committed and no "
		      "transfer",
		      leader);
		w->busy++;
		break;
	case RAFT_ENOTLEADER:
		CHECK(w, nd->role != RAFT_LEADER,
		      "raft_propose_conf(n%u, leader): not leader", leader);
		break;
	default:
		break; /* the scenario judges EINVAL and ENOCHANGE */
	}
	node_process(w, nd);
	if (rv == RAFT_OK)
		CHECK(w, nd->n >= idx && node_conf_index(nd) >= idx,
		      "n%u did not append its configuration at %llu", leader,
		      (unsigned long long)idx);
	if (index)
		*index = idx;
	return rv;
}

int world_transfer(struct world *w, uint32_t leader, uint32_t to)
{
	struct node *nd = &w->nodes[leader];
	int rv;

	if (leader < 1 || leader > w->n || !nd->up ||
	    nd->paused_until > w->now || w->failed)
		return RAFT_ESHUTDOWN;
	rv = raft_transfer(nd->r, node_now(w, nd), to);
	vlog(w, leader, "transfer leadership to n%u: %s", to,
	     raft_strerror(rv));
	if (rv == RAFT_OK) {
		w->transfers++;
		w->xfer_to = raft_transfer_target(nd->r);
		w->xfer_term = nd->term;
	}
	node_process(w, nd);
	return rv;
}

struct applied_arg {
	uint32_t mask;
	uint64_t index;
};

static bool pred_applied(struct world *w, void *arg)
{
	const struct applied_arg *a = arg;
	uint32_t i;

	for (i = 1; i <= w->n; i++)
		if ((a->mask & (1u << i)) &&
		    (!w->nodes[i].up || w->nodes[i].applied < a->index))
			return false;
	return true;
}

bool world_wait_applied(struct world *w, uint32_t mask, uint64_t index,
			uint64_t max_ms)
{
	struct applied_arg a = {mask, index};

	return world_run_until(w, max_ms, pred_applied, &a);
}

/* ---- faults ------------------------------------------------------------- */

void world_isolate(struct world *w, uint32_t id, bool isolated)
{
	w->nodes[id].isolated = isolated;
	vlog(w, id, "%s", isolated ? "ISOLATED" : "reconnected");
}

void world_set_link(struct world *w, uint32_t from, uint32_t to, bool up)
{
	w->links[from][to].up = up;
	vlog(w, from, "link to n%u %s", to, up ? "up" : "CUT");
}

void world_partition(struct world *w, uint32_t side)
{
	uint32_t i, j;

	for (i = 1; i <= w->n; i++)
		for (j = 1; j <= w->n; j++)
			if (i != j &&
			    !!(side & (1u << i)) != !!(side & (1u << j)))
				w->links[i][j].up = false;
	vlog(w, 0, "PARTITION 0x%x", side);
}

void world_set_loss(struct world *w, uint32_t from, uint32_t to, uint32_t ppm)
{
	w->links[from][to].drop_ppm = ppm;
}

void world_set_dup(struct world *w, uint32_t from, uint32_t to, uint32_t ppm)
{
	w->links[from][to].dup_ppm = ppm;
}

void world_set_delay(struct world *w, uint32_t from, uint32_t to,
		     uint32_t min_ms, uint32_t max_ms)
{
	w->links[from][to].delay_min = min_ms;
	w->links[from][to].delay_max = max_ms < min_ms ? min_ms : max_ms;
}

void world_set_persist_delay(struct world *w, uint32_t id, uint32_t min_ms,
			     uint32_t max_ms)
{
	w->nodes[id].disk.delay_min = min_ms;
	w->nodes[id].disk.delay_max = max_ms < min_ms ? min_ms : max_ms;
}

void world_heal(struct world *w)
{
	uint32_t i, j;

	for (i = 1; i <= w->n; i++) {
		w->nodes[i].isolated = false;
		if (w->nodes[i].paused_until > w->now)
			w->nodes[i].paused_until = w->now; /* SIGCONT */
		for (j = 1; j <= w->n; j++) {
			struct world_link *l = &w->links[i][j];
			l->up = true;
			l->drop_ppm = 0;
			l->dup_ppm = 0;
			l->delay_min = w->o.delay_min;
			l->delay_max = w->o.delay_max;
		}
	}
	vlog(w, 0, "HEAL");
}

void world_tick(struct world *w, uint32_t id)
{
	struct node *nd = &w->nodes[id];

	if (!nd->up || nd->paused_until > w->now || w->failed)
		return;
	raft_tick(nd->r, node_now(w, nd));
	node_process(w, nd);
}

/* ---- whole-world checks ------------------------------------------------- */

void world_deep_check(struct world *w)
{
	uint32_t k;
	uint64_t i;

	for (k = 1; k <= w->n && !w->failed; k++) {
		struct node *nd = &w->nodes[k];
		uint64_t chain = 0;

		/* The durable snapshot and what it covers: committed
		 * entries only, and compaction never ahead of it (§7). */
		CHECK(w,
		      nd->disk.base <= nd->disk.snap.index &&
			  (nd->disk.snap.index == 0 ||
			   snap_committed(w, &nd->disk.snap)),
		      "n%u's disk is compacted up to %llu with a snapshot up "
		      "to %llu (committed: %d)",
		      k, (unsigned long long)nd->disk.base,
		      (unsigned long long)nd->disk.snap.index,
		      nd->disk.snap.index ? snap_committed(w, &nd->disk.snap)
					  : 1);
		/* The durable log: its chains are right and every entry
		 * agrees with every other log (Log Matching). */
		for (i = 1; i <= nd->disk.n && !w->failed; i++) {
			const struct disk_entry *e = &nd->disk.log[i - 1];
			if (i <= nd->disk.base) {
				CHECK(w,
				      e->buf == NULL &&
					  is_committed_chain(w, i, e->chain),
				      "n%u's compacted entry %llu is not "
				      "the committed one",
				      k, (unsigned long long)i);
				chain = e->chain;
				continue;
			}
			chain = chain_next(chain, entry_hash(e->term, e->type,
							     e->buf, e->len));
			CHECK(w, chain == e->chain,
			      "n%u's durable entry %llu is corrupt", k,
			      (unsigned long long)i);
			log_matching(w, i, e->term, e->chain, "durable", k);
		}
		if (!nd->up)
			continue;
		/* The core's log is the one its updates described. */
		CHECK(w,
		      raft_last_index(nd->r) == nd->n &&
			  raft_first_index(nd->r) == nd->first &&
			  nd->first <= nd->n + 1,
		      "n%u holds entries %llu..%llu, its updates say "
		      "%llu..%llu",
		      k, (unsigned long long)raft_first_index(nd->r),
		      (unsigned long long)raft_last_index(nd->r),
		      (unsigned long long)nd->first, (unsigned long long)nd->n);
		CHECK(w,
		      raft_snapshot_index(nd->r) + 1 >= nd->first &&
			  raft_snapshot_index(nd->r) <= nd->commit &&
			  (nd->disk.head != NULL ||
			   raft_snapshot_index(nd->r) <= nd->disk.snap.index),
		      "n%u's snapshot index %llu (log from %llu, commit %llu, "
		      "durable snapshot %llu)",
		      k, (unsigned long long)raft_snapshot_index(nd->r),
		      (unsigned long long)nd->first,
		      (unsigned long long)nd->commit,
		      (unsigned long long)nd->disk.snap.index);
		chain = nd->first >= 2 ? nd->log[nd->first - 2].chain : 0;
		if (nd->first >= 2)
			CHECK(w, is_committed_chain(w, nd->first - 1, chain),
			      "n%u's log starts after %llu, which is not the "
			      "committed one",
			      k, (unsigned long long)(nd->first - 1));
		for (i = nd->first; i <= nd->n && !w->failed; i++) {
			const struct raft_entry *e = raft_entry_at(nd->r, i);
			CHECK(w, e != NULL, "n%u lost entry %llu", k,
			      (unsigned long long)i);
			if (e == NULL)
				break;
			chain = chain_next(chain, entry_hash(e->term, e->type,
							     e->buf, e->len));
			CHECK(w, chain == nd->log[i - 1].chain,
			      "n%u's entry %llu differs from what its updates "
			      "reported",
			      k, (unsigned long long)i);
			log_matching(w, i, e->term, chain, "in-memory", k);
		}
		CHECK(w,
		      nd->applied <= nd->commit && nd->commit <= nd->n &&
			  nd->applied + 1 >= nd->first,
		      "n%u: applied %llu, commit %llu, log %llu..%llu", k,
		      (unsigned long long)nd->applied,
		      (unsigned long long)nd->commit,
		      (unsigned long long)nd->first, (unsigned long long)nd->n);
		/* State Machine Safety: the state machine's state is the
		 * committed prefix it claims to have applied. */
		CHECK(w,
		      nd->applied == 0
			  ? nd->sm_chain == 0
			  : is_committed_chain(w, nd->applied, nd->sm_chain),
		      "State Machine Safety: n%u's state machine at %llu is "
		      "not the committed prefix",
		      k, (unsigned long long)nd->applied);
		CHECK(w,
		      nd->commit == 0 ||
			  (nd->commit <= w->n_committed &&
			   nd->log[nd->commit - 1].chain ==
			       w->committed[nd->commit - 1].chain),
		      "n%u's committed prefix differs from the cluster's", k);
	}
}

void world_final_check(struct world *w)
{
	uint32_t k;
	uint64_t i, *count;

	if (w->failed)
		return;
	world_deep_check(w);
	for (k = 1; k <= w->n; k++) {
		struct node *nd = &w->nodes[k];
		/* Servers outside the configuration need not follow. */
		if (!(world_members(w) & (1u << k)))
			continue;
		CHECK(w, nd->up && nd->applied == w->n_committed,
		      "n%u applied %llu of %llu committed entries", k,
		      (unsigned long long)nd->applied,
		      (unsigned long long)w->n_committed);
	}
	count = xcalloc(w->n_props + 1, sizeof(*count));
	for (i = 0; i < w->n_committed; i++)
		if (w->committed[i].pid >= 1 &&
		    w->committed[i].pid <= w->n_props)
			count[w->committed[i].pid]++;
	for (i = 0; i < w->n_props && !w->failed; i++) {
		const struct proposal *p = &w->props[i];
		const struct node *nd = &w->nodes[p->node];
		switch (p->state) {
		case PROP_ACKED:
			/* Acknowledged: applied exactly once, everywhere. */
			CHECK(w, count[p->pid] == 1,
			      "acknowledged proposal %llu applied %llu times",
			      (unsigned long long)p->pid,
			      (unsigned long long)count[p->pid]);
			break;
		case PROP_LOST:
			CHECK(w, count[p->pid] == 0,
			      "proposal %llu reported lost but applied",
			      (unsigned long long)p->pid);
			break;
		case PROP_PENDING:
			/* Only a proposal whose leader lost its term may stay
			 * unresolved; the current leader's are committed by
			 * the barrier. */
			CHECK(w,
			      !(nd->up && nd->role == RAFT_LEADER &&
				nd->term == p->term),
			      "proposal %llu on leader n%u never committed",
			      (unsigned long long)p->pid, p->node);
			/* fall through */
		case PROP_UNKNOWN:
			CHECK(w, count[p->pid] <= 1,
			      "proposal %llu applied %llu times",
			      (unsigned long long)p->pid,
			      (unsigned long long)count[p->pid]);
			break;
		}
	}
	free(count);
	for (i = 0; i < w->n_reads && !w->failed; i++) {
		const struct read_req *q = &w->reads[i];
		CHECK(w, q->state != READ_PENDING && q->state != READ_ANSWERED,
		      "read %llu on n%u never resolved (state %d)",
		      (unsigned long long)q->rid, q->node, (int)q->state);
	}
}

/* Every node follows one leader in its term and has applied everything
 * the leader holds, which the leader has committed. */
static bool pred_converged(struct world *w, void *arg)
{
	uint32_t mask = world_members(w);
	uint32_t id = world_settled_leader(w, mask), i;
	const struct node *l = &w->nodes[id];

	(void)arg;
	if (id == 0 || l->commit != l->n)
		return false;
	for (i = 1; i <= w->n; i++) {
		const struct node *nd = &w->nodes[i];
		if (!(mask & (1u << i)))
			continue;
		if (!nd->up || nd->term != l->term ||
		    nd->applied != l->commit || nd->n != l->n ||
		    nd->disk.head != NULL)
			return false;
	}
	return true;
}

/* A leader every member of the committed configuration follows (the
 * configuration may change meanwhile: a removal commits). */
static bool pred_members_settled(struct world *w, void *arg)
{
	(void)arg;
	return world_settled_leader(w, world_members(w)) != 0;
}

/* The barrier is resolved, or orphaned: its proposer no longer leads the
 * term it was proposed in, so it may never learn the outcome. */
static bool pred_barrier_done(struct world *w, void *arg)
{
	const struct proposal *p = &w->props[*(uint64_t *)arg - 1];
	const struct node *nd = &w->nodes[p->node];

	return p->state != PROP_PENDING || !nd->up || nd->role != RAFT_LEADER ||
	       nd->term != p->term;
}

bool world_settle(struct world *w, uint64_t max_ms)
{
	uint64_t deadline = w->now + max_ms, pid = 0;
	uint32_t i, l;

	/* Healing includes the disks: Raft promises progress only while
	 * writes and round trips are well below the election timeout. */
	world_heal(w);
	for (i = 1; i <= w->n; i++) {
		world_set_persist_delay(w, i, w->o.persist_min,
					w->o.persist_max);
		world_restart(w, i);
	}
	for (;;) {
		if (w->failed)
			return false;
		if (w->now >= deadline) {
			world_fail(w,
				   "liveness: no leader committed a barrier "
				   "within %llu ms of healing",
				   (unsigned long long)max_ms);
			return false;
		}
		l = 0;
		if (world_run_until(w, deadline - w->now, pred_members_settled,
				    NULL))
			l = world_settled_leader(w, world_members(w));
		if (l == 0)
			continue;
		if (world_propose(w, l, &pid) != 0) {
			/* Never retry without letting time pass. */
			world_run_for(w, 1);
			continue;
		}
		world_run_until(w, deadline - w->now, pred_barrier_done, &pid);
		if (w->props[pid - 1].state == PROP_ACKED)
			break;
		world_run_for(w, 1);
	}
	if (!world_run_until(w, deadline - w->now, pred_converged, NULL)) {
		world_fail(w,
			   "liveness: nodes did not converge on one leader's "
			   "log within %llu ms of healing",
			   (unsigned long long)max_ms);
		return false;
	}
	world_final_check(w);
	return !w->failed;
}

void world_add_totals(struct world_totals *t, const struct world *w)
{
	t->steps += w->steps;
	t->msgs += w->msgs_sent;
	t->checks += w->checks;
	t->injected += w->injected;
	t->snapshots += w->snapshots;
	t->compactions += w->compactions;
	t->installs += w->installs + w->installs_kept;
	t->snap_resets += w->snap_resets;
	t->snap_transfers += w->snap_transfers;
	t->snap_notices += w->snap_notices;
	t->conf_proposed += w->conf_proposed;
	t->conf_committed += w->conf_committed;
	t->promotions += w->promotions;
	t->transfers += w->transfers;
	t->transfers_won += w->transfers_won;
	t->busy += w->busy;
	if (w->failed)
		t->failures++;
}

/* ---- life cycle --------------------------------------------------------- */

void world_default_opts(struct world_opts *o, const char *name, uint64_t seed,
			uint32_t n_nodes)
{
	memset(o, 0, sizeof(*o));
	o->name = name;
	o->seed = seed;
	o->n_nodes = n_nodes;
	o->election_min_ms = 150;
	o->election_max_ms = 300;
	o->heartbeat_ms = 50;
	o->max_batch_entries = 64;
	o->max_batch_bytes = 64 * 1024;
	o->max_inflight = 4;
	o->prevote = true;
	o->check_quorum = true;
	o->delay_min = 1;
	o->delay_max = 10;
	o->persist_min = 0;
	o->persist_max = 2;
	o->payload_min = 8;
	o->payload_max = 64;
	o->snap_persist_min = 0;
	o->snap_persist_max = 2;
}

int world_init(struct world *w, const struct world_opts *o)
{
	uint32_t i;

	memset(w, 0, sizeof(*w));
	if (o->n_nodes < 1 || o->n_nodes > WORLD_MAX_NODES ||
	    o->payload_min < 8 || o->payload_max > 4096 ||
	    o->payload_max < o->payload_min)
		return -1;
	if (o->n_voters > o->n_nodes)
		return -1;
	w->o = *o;
	w->n = o->n_nodes;
	rng_seed(&w->rng, o->seed * 0x2545F4914F6CDD1DULL + 1);
	/* The bootstrap configuration; nodes after it wait to be added. */
	w->cfg.n_nodes = o->n_voters ? o->n_voters : w->n;
	for (i = 0; i < w->cfg.n_nodes; i++)
		w->cfg.nodes[i] = i + 1;
	w->cfg.election_min_ms = o->election_min_ms;
	w->cfg.election_max_ms = o->election_max_ms;
	w->cfg.heartbeat_ms = o->heartbeat_ms;
	w->cfg.max_batch_entries = o->max_batch_entries;
	w->cfg.max_batch_bytes = o->max_batch_bytes;
	w->cfg.max_inflight = o->max_inflight;
	w->cfg.pipeline_full_only = o->pipeline_full_only;
	w->cfg.prevote = o->prevote;
	w->cfg.check_quorum = o->check_quorum;
	w->last_step_at = WORLD_NONE;
	bootstrap_conf(w, &w->conf);
	for (i = 1; i <= w->n; i++) {
		w->all |= 1u << i;
		w->nodes[i].id = i;
		w->nodes[i].wake_at = WORLD_NONE;
		w->nodes[i].disk.delay_min = o->persist_min;
		w->nodes[i].disk.delay_max = o->persist_max;
		/* Monotonic clocks of different machines share no origin. */
		if (o->random_clocks)
			w->nodes[i].clock_offset =
			    rng_below(&w->rng, (uint64_t)1 << 40);
	}
	world_heal(w);
	for (i = 1; i <= w->n && !w->failed; i++)
		node_start(w, &w->nodes[i]);
	return 0;
}

void world_free(struct world *w)
{
	uint32_t k;
	uint64_t i;

	for (k = 1; k <= w->n; k++) {
		struct node *nd = &w->nodes[k];
		if (nd->r) {
			raft_close(nd->r);
			free(nd->r);
		}
		while (nd->disk.head) {
			struct disk_batch *b = nd->disk.head;
			nd->disk.head = b->next;
			batch_free(b);
		}
		while (nd->held_head) {
			struct held_msg *h = nd->held_head;
			nd->held_head = h->next;
			raft_msg_free(&h->m);
			free(h);
		}
		for (i = 0; i < nd->disk.n; i++)
			free(nd->disk.log[i].buf);
		free(nd->disk.log);
		free(nd->log);
		free(nd->props);
		free(nd->reads);
		free(nd->confs);
	}
	for (i = 0; i < w->n_heap; i++) {
		raft_msg_free(&w->heap[i]->m);
		free(w->heap[i]);
	}
	free(w->heap);
	free(w->term_leader);
	free(w->itmap);
	free(w->committed);
	free(w->props);
	free(w->reads);
	memset(w, 0, sizeof(*w));
}
