/* scenarios.c: scripted scenarios on the simulated cluster, after the Raft
 * paper, Ongaro's thesis, MIT 6.824's Raft tests and etcd-io/raft's
 * interaction tests.  Each scenario is one function over a fresh world;
 * the world checks the safety invariants after every step, the scenario
 * asserts what the situation it builds must lead to. */
#include "scenarios.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rogue.h"

/* A scenario's own assertion: counted, and on failure it records the
 * reason with the seed and leaves the scenario (no resources to free:
 * the runner owns the world). */
#define REQUIRE(w, cond, ...)                                                  \
	do {                                                                   \
		(w)->checks++;                                                 \
		if (!(cond)) {                                                 \
			world_fail((w), __VA_ARGS__);                          \
			return;                                                \
		}                                                              \
	} while (0)

#define BIT(id) (1u << (id))

/* A line of scenario-specific figures for the summary. */
static char note[160];

static void set_note(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void set_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
}

/* ---- helpers ------------------------------------------------------------ */

static struct node *N(struct world *w, uint32_t id)
{
	return world_node(w, id);
}

/* The i-th (0-based) node of mask, other than `not`. */
static uint32_t nth_in(struct world *w, uint32_t mask, uint32_t not, uint32_t i)
{
	uint32_t id;

	for (id = 1; id <= w->n; id++) {
		if (!(mask & BIT(id)) || id == not )
			continue;
		if (i-- == 0)
			return id;
	}
	return 0;
}

/* One step of churn that keeps at most two nodes faulty (a minority of
 * five): when two are down or cut off, heal one of them; else break one
 * (cut it off or crash it): any node, or with healthy_only one that is
 * not faulty yet. */
static void churn_step(struct world *w, bool healthy_only)
{
	uint32_t k, faulty = 0;

	for (k = 1; k <= w->n; k++)
		if (!N(w, k)->up || N(w, k)->isolated)
			faulty |= BIT(k);
	if (__builtin_popcount(faulty) >= 2) {
		k = nth_in(w, faulty, 0, (uint32_t)rng_below(&w->rng, 2));
		if (N(w, k)->up)
			world_isolate(w, k, false);
		else
			world_restart(w, k);
		return;
	}
	if (healthy_only)
		k = nth_in(w, w->all & ~faulty, 0,
			   (uint32_t)rng_below(
			       &w->rng,
			       (uint64_t)__builtin_popcount(w->all & ~faulty)));
	else
		k = 1 + (uint32_t)rng_below(&w->rng, w->n);
	if (rng_below(&w->rng, 2))
		world_isolate(w, k, true);
	else
		world_crash(w, k);
}

/* Proposes on `leader` and waits for the outcome: true when acknowledged. */
static bool commit_one(struct world *w, uint32_t leader, uint64_t max_ms,
		       uint64_t *pid_out)
{
	uint64_t pid = 0;

	if (world_propose(w, leader, &pid) != 0)
		return false;
	if (pid_out)
		*pid_out = pid;
	return world_wait_prop(w, pid, max_ms) &&
	       w->props[pid - 1].state == PROP_ACKED;
}

/* Proposes k entries at once on `leader`, then waits for all of them. */
static bool commit_many(struct world *w, uint32_t leader, uint32_t k,
			uint64_t max_ms)
{
	uint64_t first = w->n_props + 1, pid, deadline = w->now + max_ms;
	uint32_t i;

	for (i = 0; i < k; i++)
		if (world_propose(w, leader, &pid) != 0)
			return false;
	for (pid = first; pid < first + k; pid++) {
		if (w->now > deadline ||
		    !world_wait_prop(w, pid, deadline - w->now) ||
		    w->props[pid - 1].state != PROP_ACKED)
			return false;
	}
	return true;
}

static bool pred_any_leader(struct world *w, void *arg)
{
	return world_count_leaders(w, *(uint32_t *)arg) > 0;
}

static bool pred_not_leader(struct world *w, void *arg)
{
	const struct node *nd = world_node(w, *(uint32_t *)arg);

	return !nd->up || nd->role != RAFT_LEADER;
}

static bool pred_read_done(struct world *w, void *arg)
{
	enum read_state s = w->reads[*(uint64_t *)arg - 1].state;

	return s != READ_PENDING && s != READ_ANSWERED;
}

/* ---- elections ---------------------------------------------------------- */

/* §5.2: the first election yields exactly one leader, every node agrees on
 * it and its term, and without faults nothing changes for a long time
 * (heartbeats keep followers from campaigning). */
static void sc_first_election(struct world *w)
{
	uint32_t l, i;
	uint64_t term;

	l = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l != 0, "no leader within 3 s");
	REQUIRE(w, world_count_leaders(w, w->all) == 1, "%u leaders",
		world_count_leaders(w, w->all));
	term = N(w, l)->term;
	world_run_for(w, 30000);
	REQUIRE(w,
		world_settled_leader(w, w->all) == l && N(w, l)->term == term,
		"leadership changed without faults: leader n%u term %llu, "
		"then n%u term %llu",
		l, (unsigned long long)term, world_leader(w, w->all),
		(unsigned long long)N(w, world_leader(w, w->all))->term);
	REQUIRE(w, w->elections == 1, "%llu elections won without faults",
		(unsigned long long)w->elections);
	for (i = 1; i <= w->n; i++)
		REQUIRE(w, N(w, i)->applied == N(w, l)->n,
			"n%u applied %llu of the leader's %llu entries", i,
			(unsigned long long)N(w, i)->applied,
			(unsigned long long)N(w, l)->n);
	set_note("leader n%u, term %llu for 30 s", l, (unsigned long long)term);
}

/* 6.824 TestReElection: the leader is cut off; the rest elect another one
 * in a later term, which commits. */
static void sc_reelection(struct world *w)
{
	uint32_t l1, l2;
	uint64_t t1, at;

	l1 = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l1 != 0, "no first leader");
	t1 = N(w, l1)->term;
	world_isolate(w, l1, true);
	at = w->now;
	l2 = world_wait_leader(w, w->all & ~BIT(l1), 3000);
	REQUIRE(w, l2 != 0 && l2 != l1,
		"no new leader within 3 s of cutting "
		"off n%u",
		l1);
	REQUIRE(w, N(w, l2)->term > t1, "new leader in term %llu <= %llu",
		(unsigned long long)N(w, l2)->term, (unsigned long long)t1);
	REQUIRE(w, commit_one(w, l2, 1000, NULL), "new leader cannot commit");
	set_note("n%u -> n%u in %llu ms", l1, l2,
		 (unsigned long long)(w->now - at));
}

/* The old leader comes back: it must follow the new leader without
 * disturbing it (its term did not grow while cut off, thanks to PreVote),
 * and its uncommitted entry is replaced. */
static void sc_old_leader_rejoins(struct world *w)
{
	uint32_t l1, l2, i;
	uint64_t t2, lost = 0;

	l1 = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l1 != 0, "no first leader");
	REQUIRE(w, commit_one(w, l1, 1000, NULL), "first leader cannot commit");
	world_isolate(w, l1, true);
	REQUIRE(w, world_propose(w, l1, &lost) == 0, "cut-off leader refused");
	l2 = world_wait_leader(w, w->all & ~BIT(l1), 3000);
	REQUIRE(w, l2 != 0, "no new leader");
	t2 = N(w, l2)->term;
	REQUIRE(w, commit_one(w, l2, 1000, NULL), "new leader cannot commit");
	world_isolate(w, l1, false);
	world_run_for(w, 3000);
	REQUIRE(w,
		world_settled_leader(w, w->all) == l2 && N(w, l2)->term == t2,
		"rejoining n%u disturbed leader n%u of term %llu (now n%u)", l1,
		l2, (unsigned long long)t2, world_leader(w, w->all));
	REQUIRE(w, w->elections == 2, "%llu elections, expected 2",
		(unsigned long long)w->elections);
	REQUIRE(w, w->props[lost - 1].state == PROP_LOST,
		"the old leader's uncommitted proposal is %d, not lost",
		(int)w->props[lost - 1].state);
	for (i = 1; i <= w->n; i++)
		REQUIRE(w, N(w, i)->applied == N(w, l2)->commit,
			"n%u did not catch up", i);
}

/* 6.824 TestFailNoAgree + TestReElection: with 2 of 3 nodes cut off
 * nobody leads and nothing commits; reconnecting one restores a leader. */
static void sc_no_quorum(struct world *w)
{
	uint32_t l, f1, f2, mask;
	uint64_t g0, p2 = 0;

	l = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l != 0, "no first leader");
	REQUIRE(w, commit_one(w, l, 1000, NULL), "leader cannot commit");
	f1 = nth_in(w, w->all, l, 0);
	f2 = nth_in(w, w->all, l, 1);
	world_isolate(w, f1, true);
	world_isolate(w, f2, true);
	g0 = world_commit_max(w);
	REQUIRE(w, world_propose(w, l, &p2) == 0, "leader refused a proposal");
	/* CheckQuorum: the leader steps down within two election timeouts. */
	REQUIRE(
	    w,
	    world_run_until(w, 2 * w->cfg.election_max_ms, pred_not_leader, &l),
	    "leader n%u without a quorum did not step down", l);
	mask = w->all;
	REQUIRE(w, !world_run_until(w, 3000, pred_any_leader, &mask),
		"a leader was elected without a quorum");
	REQUIRE(w,
		world_commit_max(w) == g0 &&
		    w->props[p2 - 1].state == PROP_PENDING,
		"something committed without a quorum");
	world_isolate(w, f1, false);
	mask = BIT(l) | BIT(f1);
	l = world_wait_leader(w, mask, 3000);
	REQUIRE(w, l != 0, "no leader after reconnecting n%u", f1);
	REQUIRE(w, commit_one(w, l, 1000, NULL), "new leader cannot commit");
}

struct leaders_arg {
	uint32_t connected;
	uint32_t cut;
};

static bool pred_one_leader(struct world *w, void *arg)
{
	const struct leaders_arg *a = arg;

	return world_settled_leader(w, a->connected) != 0 &&
	       world_count_leaders(w, a->connected) == 1 &&
	       world_count_leaders(w, a->cut) == 0;
}

static bool pred_not_one_leader(struct world *w, void *arg)
{
	const struct leaders_arg *a = arg;

	return world_count_leaders(w, a->connected) != 1 ||
	       world_count_leaders(w, a->cut) != 0;
}

/* 6.824 TestManyElections: 7 nodes, 3 random ones cut off, again and
 * again; the connected majority always ends up with exactly one leader
 * and keeps it while nothing changes. */
static void sc_many_elections(struct world *w)
{
	struct leaders_arg a;
	uint32_t iter, k, l;

	REQUIRE(w, world_wait_leader(w, w->all, 3000) != 0, "no first leader");
	for (iter = 0; iter < 12; iter++) {
		a.cut = 0;
		while (__builtin_popcount(a.cut) < 3)
			a.cut |= BIT(1 + (uint32_t)rng_below(&w->rng, w->n));
		a.connected = w->all & ~a.cut;
		for (k = 1; k <= w->n; k++)
			if (a.cut & BIT(k))
				world_isolate(w, k, true);
		REQUIRE(w, world_run_until(w, 5000, pred_one_leader, &a),
			"round %u: no single leader among 0x%x", iter,
			a.connected);
		REQUIRE(w, !world_run_until(w, 1000, pred_not_one_leader, &a),
			"round %u: leadership among 0x%x unstable", iter,
			a.connected);
		l = world_leader(w, a.connected);
		REQUIRE(w, commit_one(w, l, 1000, NULL),
			"round %u: n%u cannot "
			"commit",
			iter, l);
		for (k = 1; k <= w->n; k++)
			world_isolate(w, k, false);
	}
	REQUIRE(w, world_settle(w, 10000), "did not settle");
	set_note("12 rounds, %llu elections", (unsigned long long)w->elections);
}

/* etcd's DisruptiveFollower / thesis §9.6: a follower cut off for ten
 * election timeouts comes back without bumping anyone's term (PreVote)
 * and without deposing the leader (CheckQuorum's lease). */
static void sc_disruptive_follower(struct world *w)
{
	uint32_t l, f;
	uint64_t t;

	l = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l != 0, "no leader");
	t = N(w, l)->term;
	f = nth_in(w, w->all, l, 1);
	world_isolate(w, f, true);
	world_run_for(w, 10 * w->cfg.election_max_ms);
	REQUIRE(w, N(w, f)->term == t,
		"cut-off follower n%u inflated its term to %llu (PreVote)", f,
		(unsigned long long)N(w, f)->term);
	/* Rejoin just before its election timer fires, so that its
	 * (pre)vote requests reach peers before any heartbeat reaches it:
	 * its log is as up to date as theirs, only the leader lease (thesis
	 * §4.2.3) stops them from granting. */
	REQUIRE(w, N(w, f)->wake_at != WORLD_NONE, "n%u has no timer", f);
	if (N(w, f)->wake_at > w->now + 1)
		world_run_for(w, N(w, f)->wake_at - w->now - 1);
	world_isolate(w, f, false);
	world_run_for(w, 2000);
	REQUIRE(w, world_settled_leader(w, w->all) == l && N(w, l)->term == t,
		"rejoining follower n%u disturbed leader n%u of term %llu", f,
		l, (unsigned long long)t);
	REQUIRE(w, w->elections == 1, "%llu elections",
		(unsigned long long)w->elections);
	REQUIRE(w, commit_one(w, l, 1000, NULL), "leader cannot commit");
}

/* Thesis §6.2 (CheckQuorum): a leader cut off from the majority steps
 * down within about two election timeouts; the majority moves on. */
static void sc_leader_stepdown(struct world *w)
{
	uint32_t l, l2;
	uint64_t at, took;

	l = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l != 0, "no leader");
	world_isolate(w, l, true);
	at = w->now;
	REQUIRE(w, world_run_until(w, 5000, pred_not_leader, &l),
		"cut-off leader n%u never stepped down", l);
	took = w->now - at;
	REQUIRE(w, took <= 2 * (uint64_t)w->cfg.election_max_ms,
		"cut-off leader n%u stepped down after %llu ms", l,
		(unsigned long long)took);
	l2 = world_wait_leader(w, w->all & ~BIT(l), 3000);
	REQUIRE(w, l2 != 0, "majority elected no leader");
	set_note("stepped down after %llu ms", (unsigned long long)took);
}

/* The bridge (etcd's "partial partition", the Cloudflare 2020 outage): A
 * and C cannot talk, B talks to both.  The leader must stay put instead of
 * the cut-off end deposing it over and over. */
static void sc_bridge(struct world *w)
{
	uint32_t l, c, l2;
	uint64_t e0, step, acked = 0, pid;

	l = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l != 0, "no leader");
	c = nth_in(w, w->all, l, 1);
	world_set_link(w, l, c, false);
	world_set_link(w, c, l, false);
	e0 = w->elections;
	/* First idle, so that the cut-off end's log stays as up to date as
	 * everyone's and only the leader lease keeps the bridge from
	 * granting its (pre)votes; then with proposals. */
	world_run_for(w, 5000);
	for (step = 0; step < 50; step++) {
		world_run_for(w, 100);
		l2 = world_leader(w, w->all);
		if (l2 && world_propose(w, l2, &pid) == 0)
			acked++;
	}
	/* The bridge hears the leader every heartbeat, so its lease never
	 * lapses and the cut-off end can never win: no change at all. */
	REQUIRE(w, w->elections == e0,
		"%llu leader changes in 10 s of bridge partition",
		(unsigned long long)(w->elections - e0));
	l2 = world_leader(w, w->all);
	REQUIRE(w, l2 != 0, "no leader at the end of the bridge partition");
	REQUIRE(w, commit_one(w, l2, 1000, NULL), "n%u cannot commit", l2);
	REQUIRE(w, world_settle(w, 10000), "did not settle");
	set_note("%llu leader changes",
		 (unsigned long long)(w->elections - e0));
}

/* ---- replication -------------------------------------------------------- */

/* A one-node cluster is its own majority. */
static void sc_single_node(struct world *w)
{
	uint64_t rid = 0;

	REQUIRE(w, world_wait_leader(w, w->all, 1000) == 1, "no self-election");
	REQUIRE(w, commit_many(w, 1, 10, 100), "cannot commit alone");
	REQUIRE(w, N(w, 1)->applied == 11, "applied %llu, expected 11",
		(unsigned long long)N(w, 1)->applied);
	REQUIRE(w, world_read(w, 1, &rid) == 0, "read refused");
	REQUIRE(w,
		world_run_until(w, 100, pred_read_done, &rid) &&
		    w->reads[rid - 1].state == READ_SERVED,
		"read not served");
	world_crash(w, 1);
	world_restart(w, 1);
	REQUIRE(w, world_wait_leader(w, w->all, 1000) == 1, "no re-election");
	REQUIRE(w, commit_one(w, 1, 100, NULL), "cannot commit after restart");
	REQUIRE(w, world_settle(w, 2000), "did not settle");
}

struct batch_count {
	uint32_t leader;
	uint64_t msgs[WORLD_MAX_NODES + 1];
	uint32_t max_entries;
};

static void count_batches(struct world *w, const struct raft_msg *m, void *arg)
{
	struct batch_count *b = arg;

	(void)w;
	if (m->type != RAFT_MSG_APPEND || m->from != b->leader ||
	    m->u.append.n_entries == 0)
		return;
	b->msgs[m->to]++;
	if (m->u.append.n_entries > b->max_entries)
		b->max_entries = m->u.append.n_entries;
}

/* Waits for a leader whose term's no-op every node has applied; 0 (and
 * the world failed) if there is none in time. */
static uint32_t settled_leader(struct world *w)
{
	uint32_t l = world_wait_leader(w, w->all, 3000);

	if (l == 0) {
		world_fail(w, "no leader");
		return 0;
	}
	if (!world_wait_applied(w, w->all, N(w, l)->n, 1000)) {
		world_fail(w, "no-op not applied");
		return 0;
	}
	return l;
}

/* Every link delivers after exactly `ms`: FIFO, as over one TCP
 * connection. */
static void fifo_links(struct world *w, uint32_t ms)
{
	uint32_t i, k;

	for (i = 1; i <= w->n; i++)
		for (k = 1; k <= w->n; k++)
			world_set_delay(w, i, k, ms, ms);
}

/* Count, from now on, the AppendEntries with entries that `leader`
 * sends (until w->on_send is reset). */
static void count_start(struct world *w, struct batch_count *b, uint32_t leader)
{
	memset(b, 0, sizeof(*b));
	b->leader = leader;
	w->on_send = count_batches;
	w->on_send_arg = b;
}

/* 1000 proposals at once travel in batches of at most max_batch_entries,
 * in few messages (thesis §10.2.2). */
static void sc_batching(struct world *w)
{
	struct batch_count b;
	uint64_t bound, worst = 0;
	uint32_t l, i;

	l = settled_leader(w);
	if (l == 0)
		return;
	/* FIFO links (one fixed delay), as over one TCP connection: with
	 * reordering, pipelined requests that overtake each other are
	 * rejected and resent, which is another matter (dup-reorder). */
	fifo_links(w, 5);
	count_start(w, &b, l);
	REQUIRE(w, commit_many(w, l, 1000, 3000),
		"1000 proposals not committed");
	REQUIRE(w, world_wait_applied(w, w->all, N(w, l)->commit, 1000),
		"followers did not apply");
	w->on_send = NULL;
	bound = 2 * ((1000 + w->cfg.max_batch_entries - 1) /
		     w->cfg.max_batch_entries) +
		w->cfg.max_inflight;
	for (i = 1; i <= w->n; i++) {
		if (i == l)
			continue;
		REQUIRE(w, b.msgs[i] <= bound,
			"n%u needed %llu AppendEntries for 1000 entries (bound "
			"%llu)",
			i, (unsigned long long)b.msgs[i],
			(unsigned long long)bound);
		if (b.msgs[i] > worst)
			worst = b.msgs[i];
	}
	REQUIRE(w, b.max_entries == w->cfg.max_batch_entries,
		"largest batch %u entries, expected %u", b.max_entries,
		w->cfg.max_batch_entries);
	set_note("1000 entries in <= %llu messages per follower",
		 (unsigned long long)worst);
}

/* Thesis §10.2.1: the leader writes its disk in parallel with
 * replication; with a very slow leader disk, followers' acknowledgements
 * alone commit.  (The world checks on every commit that a majority of
 * disks holds the entry.) */
static void sc_leader_slow_disk(struct world *w)
{
	uint32_t l;
	uint64_t pid = 0, at;

	l = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l != 0, "no leader");
	world_set_persist_delay(w, l, 1000, 1000);
	at = w->now;
	REQUIRE(w, commit_one(w, l, 2000, &pid), "not committed");
	REQUIRE(w, w->props[pid - 1].done_at - at < 100,
		"commit took %llu ms with followers' disks fast",
		(unsigned long long)(w->props[pid - 1].done_at - at));
	set_note("committed in %llu ms, leader disk 1000 ms",
		 (unsigned long long)(w->props[pid - 1].done_at - at));
	world_set_persist_delay(w, l, 0, 2);
	REQUIRE(w, world_settle(w, 5000), "did not settle");
}

/* Duplicated and heavily reordered messages change nothing: every
 * proposal is applied exactly once. */
static void sc_dup_reorder(struct world *w)
{
	uint32_t i, j, l;
	uint64_t k;

	l = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l != 0, "no leader");
	for (i = 1; i <= w->n; i++)
		for (j = 1; j <= w->n; j++) {
			world_set_dup(w, i, j, 300000);
			world_set_delay(w, i, j, 0, 80);
		}
	for (k = 0; k < 300; k++) {
		l = world_leader(w, w->all);
		if (l)
			world_propose(w, l, NULL);
		world_run_for(w, rng_range(&w->rng, 0, 20));
	}
	REQUIRE(w, world_settle(w, 20000), "did not settle");
}

/* §5.3 with the "fast backup" hint: a leader cut off with 50 uncommitted
 * entries rejoins after two later terms; it is brought in line in a few
 * round trips, not one per entry. */
static uint64_t rejections[WORLD_MAX_NODES + 1];

static void count_rejections(struct world *w, const struct raft_msg *m,
			     void *arg)
{
	(void)w;
	(void)arg;
	if (m->type == RAFT_MSG_APPEND_RESP && !m->u.append_resp.success)
		rejections[m->from]++;
}

static void sc_stale_leader_catchup(struct world *w)
{
	uint32_t l1, l2, l3, i;

	l1 = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l1 != 0, "no first leader");
	REQUIRE(w, commit_many(w, l1, 5, 1000), "first leader cannot commit");
	world_isolate(w, l1, true);
	for (i = 0; i < 50; i++)
		REQUIRE(w, world_propose(w, l1, NULL) == 0,
			"cut-off leader "
			"refused");
	l2 = world_wait_leader(w, w->all & ~BIT(l1), 3000);
	REQUIRE(w, l2 != 0, "no second leader");
	REQUIRE(w, commit_many(w, l2, 50, 2000), "second leader cannot commit");
	world_isolate(w, l2, true);
	l3 = world_wait_leader(w, w->all & ~BIT(l1) & ~BIT(l2), 3000);
	REQUIRE(w, l3 != 0, "no third leader");
	REQUIRE(w, commit_many(w, l3, 10, 1000), "third leader cannot commit");

	memset(rejections, 0, sizeof(rejections));
	w->on_send = count_rejections;
	world_isolate(w, l1, false);
	REQUIRE(w, world_wait_applied(w, BIT(l1), N(w, l3)->commit, 3000),
		"stale leader n%u did not catch up", l1);
	world_isolate(w, l2, false);
	REQUIRE(w, world_wait_applied(w, BIT(l2), N(w, l3)->commit, 3000),
		"stale leader n%u did not catch up", l2);
	w->on_send = NULL;
	REQUIRE(
	    w, rejections[l1] <= 4 && rejections[l2] <= 4,
	    "AppendEntries rejections: %llu by n%u, %llu by n%u (want <= 4)",
	    (unsigned long long)rejections[l1], l1,
	    (unsigned long long)rejections[l2], l2);
	REQUIRE(w, world_settle(w, 5000), "did not settle");
	set_note("rejections: n%u %llu, n%u %llu", l1,
		 (unsigned long long)rejections[l1], l2,
		 (unsigned long long)rejections[l2]);
}

/* ---- crashes ------------------------------------------------------------ */

/* 6.824 TestFigure8: propose, crash the leader at random moments, restart
 * nodes so that a majority is usually up.  The world checks on every
 * commit that a leader counts only entries of its own term (§5.4.2) and
 * that no committed entry is ever lost. */
static void sc_figure8(struct world *w)
{
	uint32_t iter, l, up, down, k;

	for (k = 1; k <= w->n; k++)
		world_set_persist_delay(w, k, 0, 5);
	up = w->n;
	for (iter = 0; iter < 1000 && !w->failed; iter++) {
		l = world_leader(w, world_up_mask(w));
		if (l)
			world_propose(w, l, NULL);
		if (rng_below(&w->rng, 1000) < 100)
			world_run_for(w, rng_below(&w->rng, 500));
		else
			world_run_for(w, rng_below(&w->rng, 13));
		l = world_leader(w, world_up_mask(w));
		if (l) {
			world_crash(w, l);
			up--;
		}
		if (up < 3) {
			down = w->all & ~world_up_mask(w);
			k = nth_in(
			    w, down, 0,
			    (uint32_t)rng_below(
				&w->rng, (uint64_t)__builtin_popcount(down)));
			world_restart(w, k);
			up++;
		}
	}
	REQUIRE(w, world_settle(w, 20000), "did not settle");
	REQUIRE(w, w->leader_commits > 0, "no leader ever committed");
	set_note("%llu crashes, %llu leader commits, %llu entries committed",
		 (unsigned long long)w->crashes,
		 (unsigned long long)w->leader_commits,
		 (unsigned long long)world_commit_max(w));
}

/* Every node crashes at once (losing unsynced writes), then every node
 * restarts; nothing committed is lost. */
static void sc_crash_all(struct world *w)
{
	uint32_t l, i, round;
	uint64_t g0;

	for (i = 1; i <= w->n; i++)
		world_set_persist_delay(w, i, 0, 10);
	for (round = 0; round < 3; round++) {
		l = world_wait_leader(w, w->all, 3000);
		REQUIRE(w, l != 0, "round %u: no leader", round);
		REQUIRE(w, commit_many(w, l, 20, 2000),
			"round %u: cannot "
			"commit",
			round);
		for (i = 0; i < 5; i++)
			world_propose(w, l, NULL); /* in flight at the crash */
		world_run_for(w, rng_below(&w->rng, 5));
		g0 = world_commit_max(w);
		for (i = 1; i <= w->n; i++)
			world_crash(w, i);
		world_run_for(w, 100);
		for (i = 1; i <= w->n; i++)
			world_restart(w, i);
		l = world_wait_leader(w, w->all, 3000);
		REQUIRE(w, l != 0, "round %u: no leader after restart", round);
		REQUIRE(w, commit_one(w, l, 1000, NULL),
			"round %u: cannot "
			"commit after restart",
			round);
		REQUIRE(w, world_wait_applied(w, w->all, g0, 2000),
			"round %u: committed entries not re-applied", round);
	}
	REQUIRE(w, world_settle(w, 10000), "did not settle");
}

/* Rolling restarts: one node after the other, leader included, with
 * proposals in flight each time. */
static void sc_crash_rolling(struct world *w)
{
	uint32_t l, i, k;

	for (i = 1; i <= w->n; i++)
		world_set_persist_delay(w, i, 0, 10);
	for (k = 0; k < 2 * w->n; k++) {
		i = 1 + k % w->n;
		l = world_wait_leader(w, world_up_mask(w), 3000);
		REQUIRE(w, l != 0, "no leader before crashing n%u", i);
		REQUIRE(w, commit_many(w, l, 5, 2000), "cannot commit");
		world_propose(w, l, NULL);
		world_run_for(w, rng_below(&w->rng, 5));
		world_crash(w, i);
		world_run_for(w, 300);
		world_restart(w, i);
	}
	REQUIRE(w, world_settle(w, 10000), "did not settle");
}

/* 6.824 TestFigure8Unreliable / TestPersist3 in one: 10% loss, 0-30 ms
 * delays, nodes cut off, crashed and restarted, proposals all along.
 * After healing, every acknowledged proposal is applied exactly once on
 * every node (world_settle). */
static void sc_lossy_churn(struct world *w)
{
	uint32_t i, j, l;
	uint64_t t, acked = 0;

	for (i = 1; i <= w->n; i++)
		for (j = 1; j <= w->n; j++) {
			world_set_loss(w, i, j, 100000);
			world_set_delay(w, i, j, 0, 30);
		}
	for (i = 1; i <= w->n; i++)
		world_set_persist_delay(w, i, 0, 5);
	for (t = 0; t < 20000 && !w->failed; t += 10) {
		l = world_leader(w, world_up_mask(w));
		if (l)
			world_propose(w, l, NULL);
		world_run_for(w, 10);
		if (rng_below(&w->rng, 30) != 0)
			continue;
		churn_step(w, true);
	}
	REQUIRE(w, world_settle(w, 30000), "did not settle");
	for (i = 0; i < w->n_props; i++)
		acked += w->props[i].state == PROP_ACKED;
	REQUIRE(w, acked >= 500, "only %llu proposals acknowledged",
		(unsigned long long)acked);
	set_note("%llu of %llu proposals acknowledged, %llu crashes",
		 (unsigned long long)acked, (unsigned long long)w->n_props,
		 (unsigned long long)w->crashes);
}

/* ---- reads -------------------------------------------------------------- */

struct new_leader_arg {
	uint32_t old;
};

static bool pred_new_leader(struct world *w, void *arg)
{
	uint32_t old = ((struct new_leader_arg *)arg)->old;

	return world_leader(w, w->all & ~BIT(old)) != 0;
}

/* Thesis §6.4: a read issued on a new leader before it has committed
 * anything in its term must still reflect every acknowledged write (the
 * world checks read index >= everything committed before the call); the
 * deposed leader must never answer the read it got after being cut off. */
static void sc_read_after_leader_change(struct world *w)
{
	struct new_leader_arg a;
	uint64_t r0 = 0, r1 = 0, r2 = 0, last = 0;
	uint32_t l1, l2;

	l1 = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l1 != 0, "no leader");
	REQUIRE(w, commit_many(w, l1, 10, 1000), "cannot commit");
	world_isolate(w, l1, true);
	REQUIRE(w, world_read(w, l1, &r0) == 0,
		"cut-off leader refused a read");
	a.old = l1;
	REQUIRE(w, world_run_until(w, 3000, pred_new_leader, &a),
		"no new leader");
	l2 = world_leader(w, w->all & ~BIT(l1));
	REQUIRE(w, world_read(w, l2, &r1) == 0, "new leader refused a read");
	REQUIRE(w, commit_one(w, l2, 1000, &last), "new leader cannot commit");
	REQUIRE(w,
		world_run_until(w, 1000, pred_read_done, &r1) &&
		    w->reads[r1 - 1].state == READ_SERVED,
		"read on the new leader not served (state %d)",
		(int)w->reads[r1 - 1].state);
	REQUIRE(w, world_read(w, l2, &r2) == 0, "second read refused");
	REQUIRE(w,
		world_run_until(w, 1000, pred_read_done, &r2) &&
		    w->reads[r2 - 1].state == READ_SERVED &&
		    w->reads[r2 - 1].index >= w->props[last - 1].index,
		"second read misses the acknowledged write");
	REQUIRE(w,
		world_run_until(w, 2000, pred_read_done, &r0) &&
		    w->reads[r0 - 1].state == READ_FAILED,
		"read on the deposed leader ended in state %d, not failed",
		(int)w->reads[r0 - 1].state);
	REQUIRE(w, world_settle(w, 5000), "did not settle");
	set_note("read index %llu on n%u right after election",
		 (unsigned long long)w->reads[r1 - 1].index, l2);
}

/* A follower restarted far behind must catch up while clients keep the
 * leader busy with writes and linearizable reads (a read every simulated
 * millisecond).  Reads share heartbeat rounds and heartbeats carry no
 * entries, so the laggard gets a few full batches, not one per read; and a
 * stalled pipeline is detected although reads keep starting rounds. */
static void sc_catchup_under_reads(struct world *w)
{
	struct batch_count b;
	uint64_t target, rid, pid, t0, took = 0, bound;
	uint32_t l, f, ms, reads = 0;

	l = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l != 0, "no leader");
	f = nth_in(w, w->all, l, 0);
	/* FIFO links, as in sc_batching, so that the count of batches is
	 * not blurred by reordered pipelined requests being resent. */
	fifo_links(w, 2);
	REQUIRE(w, commit_many(w, l, 20, 2000), "cannot commit");
	world_crash(w, f);
	REQUIRE(w, commit_many(w, l, 1500, 10000),
		"1500 proposals not committed without n%u", f);
	world_restart(w, f);
	target = N(w, l)->commit;
	count_start(w, &b, l);
	t0 = w->now;
	for (ms = 0; ms < 3000; ms++) {
		if (world_leader(w, w->all) != l)
			break;
		if (world_read(w, l, &rid) == 0)
			reads++;
		if (ms % 5 == 0)
			(void)world_propose(w, l, &pid);
		world_run_for(w, 1);
		if (N(w, f)->commit >= target) {
			took = w->now - t0;
			break;
		}
	}
	w->on_send = NULL;
	REQUIRE(w, world_leader(w, w->all) == l, "leader changed");
	REQUIRE(w, took != 0,
		"n%u at commit %llu, not %llu, after 3 s of reads and writes",
		f, (unsigned long long)N(w, f)->commit,
		(unsigned long long)target);
	/* The batches the backlog needs, a pipeline's worth more, and one
	 * for each write made meanwhile (every 5 ms). */
	bound = 2 * ((target + w->cfg.max_batch_entries - 1) /
		     w->cfg.max_batch_entries) +
		w->cfg.max_inflight + took / 5 + 1;
	REQUIRE(w, b.msgs[f] <= bound,
		"n%u got %llu AppendEntries with entries in %llu ms (bound "
		"%llu)",
		f, (unsigned long long)b.msgs[f], (unsigned long long)took,
		(unsigned long long)bound);
	REQUIRE(w, world_settle(w, 5000), "did not settle");
	set_note("n%u caught up %llu entries in %llu ms under %u reads, %llu "
		 "batches",
		 f, (unsigned long long)target, (unsigned long long)took, reads,
		 (unsigned long long)b.msgs[f]);
}

static const struct raft_progress *progress_to(struct world *w, uint32_t l,
					       uint32_t f)
{
	const struct raft *r = N(w, l)->r;
	uint32_t i;

	for (i = 0; i < r->cfg.n_nodes; i++)
		if (r->progress[i].id == f)
			return &r->progress[i];
	return NULL;
}

/* With pipeline_full_only (raftd's setting), a leader sends a second
 * AppendEntries to a follower while one is out only when it carries a
 * full batch: under a steady trickle of writes the entries that arrive
 * during a round trip wait and go in one request (one RPC, one follower
 * fsync), while a follower far behind still gets several full batches in
 * flight (thesis §10.2.2). */
static void sc_pipeline_full_only(struct world *w)
{
	struct batch_count b;
	const struct raft_progress *p;
	uint64_t pid, target, bound;
	uint32_t l, f, i, ms, max_out = 0;

	l = settled_leader(w);
	if (l == 0)
		return;
	/* FIFO links with a 5 ms delay: a 10 ms round trip at least. */
	fifo_links(w, 5);
	/* 1. A write every millisecond for 300 ms: about one request per
	 * round trip, not one per write (max_inflight alone would allow a
	 * request per write while fewer than max_inflight are out). */
	count_start(w, &b, l);
	for (ms = 0; ms < 300; ms++) {
		REQUIRE(w, world_propose(w, l, &pid) == 0, "propose refused");
		world_run_for(w, 1);
	}
	REQUIRE(w, world_wait_prop(w, pid, 2000), "writes not committed");
	w->on_send = NULL;
	bound = 300 / 10 + 10;
	for (i = 1; i <= w->n; i++) {
		if (i == l)
			continue;
		REQUIRE(w, b.msgs[i] <= bound,
			"n%u got %llu AppendEntries for 300 writes in 300 ms "
			"(bound %llu)",
			i, (unsigned long long)b.msgs[i],
			(unsigned long long)bound);
	}
	/* 2. A follower 20 batches behind gets full batches pipelined. */
	f = nth_in(w, w->all, l, 0);
	world_crash(w, f);
	REQUIRE(w, commit_many(w, l, 20 * w->cfg.max_batch_entries, 10000),
		"proposals not committed without n%u", f);
	world_restart(w, f);
	target = N(w, l)->commit;
	for (ms = 0; ms < 5000 && N(w, f)->commit < target; ms++) {
		world_run_for(w, 1);
		if (world_leader(w, w->all) != l)
			break;
		p = progress_to(w, l, f);
		if (p != NULL && p->state == RAFT_PROGRESS_REPLICATE &&
		    p->n_inflight > max_out)
			max_out = p->n_inflight;
	}
	REQUIRE(w, world_leader(w, w->all) == l, "leader changed");
	REQUIRE(w, N(w, f)->commit >= target, "n%u did not catch up", f);
	REQUIRE(w, max_out >= 2,
		"at most %u request(s) in flight to n%u while it caught up",
		max_out, f);
	set_note("%llu/%llu requests for 300 writes (bound %llu); %u in "
		 "flight in catch-up",
		 (unsigned long long)b.msgs[nth_in(w, w->all, l, 0)],
		 (unsigned long long)b.msgs[nth_in(w, w->all, l, 1)],
		 (unsigned long long)bound, max_out);
}

/* Pipelined full batches to a follower catching up over a link that
 * reorders (a delay drawn per message): requests that overtake their
 * predecessors are refused, and the leader must recover from each refusal
 * at once (§5.3), never leave a request counted in flight that the
 * follower refused, which would idle the pipeline until stall detection
 * (two heartbeats) noticed. */
static void sc_pipeline_reorder(struct world *w)
{
	uint64_t target, stalls0, t0;
	uint32_t l, f, ms;

	l = settled_leader(w);
	if (l == 0)
		return;
	f = nth_in(w, w->all, l, 0);
	world_crash(w, f);
	REQUIRE(w, commit_many(w, l, 40 * w->cfg.max_batch_entries, 10000),
		"proposals not committed without n%u", f);
	world_set_delay(w, l, f, 1, 15);
	world_set_delay(w, f, l, 1, 15);
	world_restart(w, f);
	target = N(w, l)->commit;
	stalls0 = N(w, l)->r->stall_probes;
	t0 = w->now;
	for (ms = 0; ms < 10000 && N(w, f)->commit < target; ms++) {
		world_run_for(w, 1);
		if (world_leader(w, w->all) != l)
			break;
	}
	REQUIRE(w, world_leader(w, w->all) == l, "leader changed");
	REQUIRE(w, N(w, f)->commit >= target, "n%u did not catch up", f);
	REQUIRE(w, N(w, l)->r->stall_probes == stalls0,
		"the leader's pipeline to n%u stalled %llu time(s)", f,
		(unsigned long long)(N(w, l)->r->stall_probes - stalls0));
	set_note("n%u caught up %llu entries in %llu ms over a reordering "
		 "link",
		 f, (unsigned long long)target,
		 (unsigned long long)(w->now - t0));
}

/* ---- forged messages: a Byzantine-looking peer -----------------------------
 * A member (or anyone with the cluster secret) sends what no correct peer
 * would.  world_inject hands such a message to a node past the network;
 * after each one the node must be exactly as before, save its count of
 * dropped messages, and must send nothing; the world's invariants hold
 * after every step as always.  Raft is not Byzantine fault tolerant: these
 * are the forgeries the core can and must refuse (raft_recv, raft.h), not
 * every lie a member could tell. */

/* The proposal id forged entries carry in their first 8 bytes (world.c
 * reads it as one): never a client's, so such an entry stands out. */
#define FORGED_PID UINT64_C(0xF0F0F0F0F0F0F0F0)

static uint8_t forged_payload[16];
static uint8_t forged_too_big[RAFT_MAX_ENTRY_BYTES + 1];
static struct raft_entry forged_ents[4];

/* Sets forged entry i to (term, type) with the forged payload. */
static void forged_entry(uint32_t i, uint64_t term, uint8_t type)
{
	uint64_t pid = FORGED_PID;
	size_t k;

	for (k = 0; k < sizeof(forged_payload); k++)
		forged_payload[k] =
		    k < 8 ? (uint8_t)(pid >> (8 * k)) : (uint8_t)(0xA0 + k);
	forged_ents[i].term = term;
	forged_ents[i].type = type;
	forged_ents[i].len =
	    type == RAFT_ENTRY_NOOP ? 0 : sizeof(forged_payload);
	forged_ents[i].buf = forged_payload;
}

static struct raft_msg mk_msg(enum raft_msg_type type, uint32_t from,
			      uint32_t to, uint64_t term)
{
	struct raft_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.from = from;
	m.to = to;
	m.term = term;
	return m;
}

static struct raft_msg mk_append(uint32_t from, uint32_t to, uint64_t term,
				 uint64_t prev, uint64_t prev_term,
				 uint64_t commit, uint32_t n_entries)
{
	struct raft_msg m = mk_msg(RAFT_MSG_APPEND, from, to, term);

	m.u.append.prev_index = prev;
	m.u.append.prev_term = prev_term;
	m.u.append.leader_commit = commit;
	m.u.append.seq = 1;
	m.u.append.n_entries = n_entries;
	m.u.append.entries = n_entries ? forged_ents : NULL;
	return m;
}

static struct raft_msg mk_append_resp(uint32_t from, uint32_t to, uint64_t term,
				      bool ok, uint64_t prev, uint64_t match,
				      uint64_t seq)
{
	struct raft_msg m = mk_msg(RAFT_MSG_APPEND_RESP, from, to, term);

	m.u.append_resp.success = ok;
	m.u.append_resp.prev_index = prev;
	m.u.append_resp.match_index = match;
	m.u.append_resp.conflict_index = ok ? 0 : prev + 1;
	m.u.append_resp.last_log_index = match;
	m.u.append_resp.seq = seq;
	return m;
}

/* The term of entry `index` in node id's log (0 for index 0). */
static uint64_t term_at(struct world *w, uint32_t id, uint64_t index)
{
	return index ? N(w, id)->log[index - 1].term : 0;
}

/* What a forged message must leave alone on the node it reaches. */
struct seen {
	uint64_t term;
	uint32_t vote;
	enum raft_role role;
	uint32_t leader;
	uint32_t term_leader;
	uint64_t commit;
	uint64_t n;
	uint64_t last_chain;
	uint64_t dropped;
	uint64_t sent;
};

static void see(struct world *w, uint32_t id, struct seen *s)
{
	const struct node *nd = N(w, id);

	s->term = nd->term;
	s->vote = nd->r->vote;
	s->role = nd->role;
	s->leader = nd->leader;
	s->term_leader = nd->r->term_leader;
	s->commit = nd->commit;
	s->n = nd->n;
	s->last_chain = nd->n ? nd->log[nd->n - 1].chain : 0;
	s->dropped = nd->r->dropped_msgs;
	s->sent = w->msgs_sent;
}

/* Forged messages handed over, for the scenarios' notes. */
static uint64_t forged_count;

/* Injects m into node `to`: raft_recv must say `want` (RAFT_EINVAL:
 * refused on its face; 0: taken, then dropped by Raft's own rules), and
 * the node must be as it was, save one more dropped message, having sent
 * nothing.  False (and the world failed) otherwise. */
static bool forged(struct world *w, uint32_t to, const struct raft_msg *m,
		   int want, const char *what)
{
	struct seen b, a;
	int rv;

	see(w, to, &b);
	rv = world_inject(w, to, m);
	forged_count++;
	if (w->failed)
		return false;
	see(w, to, &a);
	w->checks += 2;
	if (rv != want) {
		world_fail(w, "forged %s to n%u: raft_recv says %s, not %s",
			   what, to, raft_strerror(rv), raft_strerror(want));
		return false;
	}
	if (a.term != b.term || a.vote != b.vote || a.role != b.role ||
	    a.leader != b.leader || a.term_leader != b.term_leader ||
	    a.commit != b.commit || a.n != b.n ||
	    a.last_chain != b.last_chain || a.sent != b.sent ||
	    a.dropped != b.dropped + 1) {
		world_fail(w,
			   "forged %s to n%u changed it: term %llu -> %llu, "
			   "%s -> %s, leader %u -> %u, commit %llu -> %llu, "
			   "log %llu -> %llu, %llu sent, dropped %llu -> %llu",
			   what, to, (unsigned long long)b.term,
			   (unsigned long long)a.term, raft_role_name(b.role),
			   raft_role_name(a.role), b.leader, a.leader,
			   (unsigned long long)b.commit,
			   (unsigned long long)a.commit,
			   (unsigned long long)b.n, (unsigned long long)a.n,
			   (unsigned long long)(a.sent - b.sent),
			   (unsigned long long)b.dropped,
			   (unsigned long long)a.dropped);
		return false;
	}
	return true;
}

/* No forged entry in any log, in memory or on disk, nor ever committed. */
static bool no_forged_entry(struct world *w)
{
	uint64_t i;
	uint32_t k;

	for (i = 0; i < w->n_committed; i++)
		if (w->committed[i].pid == FORGED_PID) {
			world_fail(w, "forged entry committed at %llu",
				   (unsigned long long)(i + 1));
			return false;
		}
	for (k = 1; k <= w->n; k++)
		for (i = 0; i < N(w, k)->n; i++)
			if (N(w, k)->log[i].pid == FORGED_PID) {
				world_fail(w,
					   "n%u holds a forged entry at %llu",
					   k, (unsigned long long)(i + 1));
				return false;
			}
	w->checks++;
	return true;
}

/* Every node up stays in term `term` and `l` leads it. */
static bool same_leader(struct world *w, uint32_t l, uint64_t term)
{
	uint32_t k;

	w->checks++;
	if (world_settled_leader(w, w->all) != l || N(w, l)->term != term) {
		world_fail(
		    w,
		    "leader n%u of term %llu lost its place: leader "
		    "n%u, term %llu",
		    l, (unsigned long long)term, world_leader(w, w->all),
		    (unsigned long long)N(w, world_leader(w, w->all))->term);
		return false;
	}
	for (k = 1; k <= w->n; k++)
		if (N(w, k)->up && N(w, k)->term != term) {
			world_fail(w, "n%u in term %llu, not %llu", k,
				   (unsigned long long)N(w, k)->term,
				   (unsigned long long)term);
			return false;
		}
	return true;
}

static bool pred_campaigning(struct world *w, void *arg)
{
	uint32_t mask = *(uint32_t *)arg, k;

	for (k = 1; k <= w->n; k++)
		if ((mask & BIT(k)) && N(w, k)->up &&
		    (N(w, k)->role == RAFT_PRECANDIDATE ||
		     N(w, k)->role == RAFT_CANDIDATE))
			return true;
	return false;
}

/* (a) Terms no peer can reach: 2^63 - 1, 2^64 - 1, RAFT_MAX_TERM (2^62 -
 * 1: in bounds, but a jump of far more than 2^32), RAFT_MAX_TERM + 1,
 * and the receiver's term + 2^32 + 1, in every message type, from every
 * member to every node: refused, no term moves, the leader stays.
 * Injected in a steady cluster, with proposals in flight, and in the
 * middle of an election. */
static bool forge_terms_to(struct world *w, uint32_t to, uint32_t from)
{
	const struct node *nd = N(w, to);
	uint64_t terms[5], last = nd->n, lt = term_at(w, to, nd->n);
	struct raft_msg m;
	size_t i;
	int type;

	terms[0] = UINT64_C(0x7fffffffffffffff);
	terms[1] = UINT64_MAX;
	terms[2] = RAFT_MAX_TERM;
	terms[3] = RAFT_MAX_TERM + 1;
	terms[4] = nd->term + RAFT_MAX_TERM_JUMP + 1;
	for (i = 0; i < 5; i++) {
		for (type = 0; type < 6; type++) {
			switch (type) {
			case 0:
			case 1:
				m = mk_msg(RAFT_MSG_VOTE, from, to, terms[i]);
				m.u.vote.prevote = type == 1;
				m.u.vote.last_log_index = last + 5;
				m.u.vote.last_log_term = lt + 1;
				break;
			case 2:
				m = mk_msg(RAFT_MSG_VOTE_RESP, from, to,
					   terms[i]);
				m.u.vote_resp.granted = true;
				m.u.vote_resp.prevote = i % 2;
				break;
			case 3:
				forged_entry(0, terms[i], RAFT_ENTRY_COMMAND);
				m = mk_append(from, to, terms[i], last, lt,
					      last + 1, 1);
				break;
			case 4:
				m = mk_append(from, to, terms[i], last, lt,
					      nd->commit, 0);
				break;
			default:
				m = mk_append_resp(from, to, terms[i], true,
						   last, last, 1);
				break;
			}
			if (!forged(w, to, &m, RAFT_EINVAL, "term"))
				return false;
		}
	}
	return true;
}

static bool forge_terms_all(struct world *w, uint32_t mask)
{
	uint32_t to, from;

	for (to = 1; to <= w->n; to++) {
		if (!(mask & BIT(to)) || !N(w, to)->up)
			continue;
		for (from = 1; from <= w->n; from++)
			if (from != to && !forge_terms_to(w, to, from))
				return false;
	}
	return true;
}

static void sc_forged_terms(struct world *w)
{
	uint32_t l, l2, mask, k;
	uint64_t t, e0, n0;

	l = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l != 0, "no leader");
	REQUIRE(w, commit_many(w, l, 5, 1000), "cannot commit");
	t = N(w, l)->term;
	e0 = w->elections;
	n0 = forged_count;
	/* Steady. */
	if (!forge_terms_all(w, w->all))
		return;
	world_run_for(w, 100);
	if (!same_leader(w, l, t))
		return;
	/* Proposals in flight. */
	for (k = 0; k < 5; k++)
		world_propose(w, l, NULL);
	world_run_for(w, rng_below(&w->rng, 3));
	if (!forge_terms_all(w, w->all))
		return;
	world_run_for(w, 2 * w->cfg.election_max_ms);
	if (!same_leader(w, l, t))
		return;
	REQUIRE(w, w->elections == e0, "%llu elections after forged terms",
		(unsigned long long)(w->elections - e0));
	REQUIRE(w, commit_one(w, l, 1000, NULL), "n%u cannot commit", l);
	/* In the middle of an election: the leader is cut off and the
	 * others campaign; forged terms reach candidates too. */
	world_isolate(w, l, true);
	mask = w->all & ~BIT(l);
	REQUIRE(w, world_run_until(w, 3000, pred_campaigning, &mask),
		"nobody campaigned without n%u", l);
	if (!forge_terms_all(w, w->all))
		return;
	l2 = world_wait_leader(w, mask, 3000);
	REQUIRE(w, l2 != 0, "no leader after cutting off n%u", l);
	REQUIRE(w, N(w, l2)->term <= t + 3,
		"new leader n%u in term %llu (was %llu)", l2,
		(unsigned long long)N(w, l2)->term, (unsigned long long)t);
	if (!forge_terms_all(w, w->all))
		return;
	world_isolate(w, l, false);
	REQUIRE(w, commit_one(w, l2, 1000, NULL), "n%u cannot commit", l2);
	set_note("%llu forged messages, leader n%u kept term %llu",
		 (unsigned long long)(forged_count - n0), l,
		 (unsigned long long)t);
}

/* (b) AppendEntries to the leader, of its own term, from another member
 * (§5.2: a second leader of the term cannot exist): heartbeats, entries
 * at its log's end, a whole log from index 1, prev beyond its log, with
 * commit indexes to match.  Dropped: the leader stays leader in the same
 * term and no election follows.  As soon as it leads (before its no-op
 * commits), in steady state, and with proposals in flight. */
static bool forge_to_leader(struct world *w, uint32_t l)
{
	const struct node *nd = N(w, l);
	uint64_t t = nd->term, last = nd->n, lt = term_at(w, l, nd->n);
	struct raft_msg m;
	uint32_t f;

	for (f = 1; f <= w->n; f++) {
		if (f == l)
			continue;
		m = mk_append(f, l, t, last, lt, nd->commit, 0);
		if (!forged(w, l, &m, 0, "heartbeat to the leader"))
			return false;
		forged_entry(0, t, RAFT_ENTRY_COMMAND);
		forged_entry(1, t, RAFT_ENTRY_COMMAND);
		m = mk_append(f, l, t, last, lt, last + 2, 2);
		if (!forged(w, l, &m, 0, "entries to the leader"))
			return false;
		forged_entry(2, t, RAFT_ENTRY_NOOP);
		m = mk_append(f, l, t, 0, 0, 3, 3);
		if (!forged(w, l, &m, 0, "a whole log to the leader"))
			return false;
		m = mk_append(f, l, t, last + 10, t, last + 10, 0);
		if (!forged(w, l, &m, 0, "prev beyond the leader's log"))
			return false;
	}
	return true;
}

static void sc_forged_append_to_leader(struct world *w)
{
	uint32_t l, mask = w->all, k;
	uint64_t t, e0, n0 = forged_count;

	REQUIRE(w, world_run_until(w, 3000, pred_any_leader, &mask),
		"no leader");
	l = world_leader(w, w->all);
	REQUIRE(w, N(w, l)->commit < N(w, l)->n,
		"n%u's no-op committed already", l);
	if (!forge_to_leader(w, l))
		return;
	REQUIRE(w, world_wait_leader(w, w->all, 3000) == l,
		"n%u did not stay leader", l);
	t = N(w, l)->term;
	e0 = w->elections;
	REQUIRE(w, commit_many(w, l, 5, 1000), "n%u cannot commit", l);
	if (!forge_to_leader(w, l))
		return;
	for (k = 0; k < 10; k++)
		world_propose(w, l, NULL);
	world_run_for(w, rng_below(&w->rng, 3));
	if (!forge_to_leader(w, l))
		return;
	world_run_for(w, 2 * w->cfg.election_max_ms);
	if (!same_leader(w, l, t))
		return;
	REQUIRE(w, w->elections == e0, "%llu elections",
		(unsigned long long)(w->elections - e0));
	REQUIRE(w, commit_one(w, l, 1000, NULL), "n%u cannot commit", l);
	if (!no_forged_entry(w))
		return;
	set_note("%llu forged AppendEntries, n%u still leads term %llu",
		 (unsigned long long)(forged_count - n0), l,
		 (unsigned long long)t);
}

/* (c) Entries no leader's log can hold (§5.3, Figure 2), from the real
 * leader in its term to a follower, right after the follower's log:
 * terms decreasing, below prev_term, 0, above the message's term; an
 * unknown entry type; an entry over RAFT_MAX_ENTRY_BYTES; a valid entry
 * followed by a bad one.  Refused whole: the follower's log, commit and
 * term are unchanged.  Needs a leader term >= 3 with entries of two
 * terms, so it first changes leader twice. */
static bool forge_bad_entries(struct world *w, uint32_t l, uint32_t f)
{
	const struct node *nd = N(w, f);
	uint64_t t = N(w, l)->term, last = nd->n, p = term_at(w, f, nd->n);
	uint64_t c = nd->commit;
	struct raft_msg m;
	int v;

	for (v = 0; v < 9; v++) {
		uint32_t n = 1;
		forged_entry(0, t, RAFT_ENTRY_COMMAND);
		forged_entry(1, t, RAFT_ENTRY_COMMAND);
		switch (v) {
		case 0: /* decreasing */
			forged_ents[1].term = t - 1;
			n = 2;
			break;
		case 1: /* below prev_term */
			forged_ents[0].term = p - 1;
			break;
		case 2:
			forged_ents[0].term = 0;
			break;
		case 3: /* above the message's term */
			forged_ents[0].term = t + 1;
			break;
		case 4:
			forged_ents[0].type = 2;
			break;
		case 5:
			forged_ents[0].type = 255;
			break;
		case 6:
			forged_ents[0].len = RAFT_MAX_ENTRY_BYTES + 1;
			forged_ents[0].buf = forged_too_big;
			break;
		case 7: /* a good entry, then an unknown type */
			forged_ents[1].type = 9;
			n = 2;
			break;
		default: /* a good entry, then term 0 */
			forged_ents[1].term = 0;
			n = 2;
			break;
		}
		m = mk_append(l, f, t, last, p, c + n, n);
		if (!forged(w, f, &m, RAFT_EINVAL, "bad entries"))
			return false;
	}
	return true;
}

static bool pred_follows(struct world *w, void *arg)
{
	const uint32_t *lf = arg;

	return N(w, lf[1])->leader == lf[0] &&
	       N(w, lf[1])->term == N(w, lf[0])->term &&
	       N(w, lf[1])->n >= N(w, lf[0])->commit;
}

static void sc_forged_bad_entries(struct world *w)
{
	uint32_t l = 0, round, f, lf[2];
	uint64_t n0 = forged_count;

	for (round = 0; round < 3; round++) {
		if (l != 0)
			world_isolate(w, l, true);
		l = world_wait_leader(w, w->all & ~BIT(l), 3000);
		REQUIRE(w, l != 0, "round %u: no leader", round);
		REQUIRE(w, commit_many(w, l, 3, 1000), "n%u cannot commit", l);
		for (f = 1; f <= w->n; f++)
			world_isolate(w, f, false);
	}
	REQUIRE(w, N(w, l)->term >= 3, "leader's term %llu < 3",
		(unsigned long long)N(w, l)->term);
	for (f = 1; f <= w->n; f++) {
		if (f == l)
			continue;
		lf[0] = l;
		lf[1] = f;
		REQUIRE(w, world_run_until(w, 3000, pred_follows, lf),
			"n%u does not follow n%u", f, l);
		if (!forge_bad_entries(w, l, f))
			return;
		/* With entries on their way to it. */
		world_propose(w, l, NULL);
		world_propose(w, l, NULL);
		world_run_for(w, rng_below(&w->rng, 4));
		if (!forge_bad_entries(w, l, f))
			return;
	}
	REQUIRE(w, commit_one(w, l, 1000, NULL), "n%u cannot commit", l);
	REQUIRE(w, world_settle(w, 5000), "did not settle");
	if (!no_forged_entry(w))
		return;
	set_note("%llu forged AppendEntries refused",
		 (unsigned long long)(forged_count - n0));
}

/* (d) A member that is not the leader forges entries and a commit index
 * for a follower, at the current term: one entry after the follower's
 * log, a whole log from index 1, a commit of what it holds, and entries
 * replacing its uncommitted tail.  Dropped (§5.2: the term's leader is
 * known); nothing forged is ever stored or applied anywhere, and the
 * follower keeps following the real leader.  Also from the deposed
 * leader, at the term that deposed it. */
static bool pred_tail(struct world *w, void *arg)
{
	const struct node *nd = N(w, *(uint32_t *)arg);

	return nd->n > nd->commit;
}

static bool forge_commit(struct world *w, uint32_t x, uint32_t f)
{
	const struct node *nd = N(w, f);
	uint64_t t = nd->term, last = nd->n, c = nd->commit;
	struct raft_msg m;

	forged_entry(0, t, RAFT_ENTRY_COMMAND);
	forged_entry(1, t, RAFT_ENTRY_COMMAND);
	forged_entry(2, t, RAFT_ENTRY_COMMAND);
	m = mk_append(x, f, t, last, term_at(w, f, last), last + 1, 1);
	if (!forged(w, f, &m, 0, "entry and commit from a non-leader"))
		return false;
	m = mk_append(x, f, t, 0, 0, 3, 3);
	if (!forged(w, f, &m, 0, "a whole log from a non-leader"))
		return false;
	m = mk_append(x, f, t, last, term_at(w, f, last), last, 0);
	if (!forged(w, f, &m, 0, "commit from a non-leader"))
		return false;
	m = mk_append(x, f, t, c, term_at(w, f, c), c + 2, 2);
	if (!forged(w, f, &m, 0, "a new tail from a non-leader"))
		return false;
	return true;
}

static void sc_forged_commit(struct world *w)
{
	uint32_t l, l2, f, x, k, lf[2];
	uint64_t n0 = forged_count;

	l = settled_leader(w);
	if (l == 0)
		return;
	REQUIRE(w, commit_many(w, l, 5, 1000), "n%u cannot commit", l);
	f = nth_in(w, w->all, l, 0);
	x = nth_in(w, w->all, l, 1);
	lf[0] = l;
	lf[1] = f;
	REQUIRE(w, world_run_until(w, 1000, pred_follows, lf),
		"n%u does not follow n%u", f, l);
	/* Steady. */
	if (!forge_commit(w, x, f))
		return;
	/* The follower holds entries it does not know committed. */
	for (k = 0; k < 3; k++)
		world_propose(w, l, NULL);
	REQUIRE(w, world_run_until(w, 1000, pred_tail, &f),
		"n%u never held an uncommitted tail", f);
	if (!forge_commit(w, x, f))
		return;
	REQUIRE(w, commit_many(w, l, 5, 1000), "n%u cannot commit", l);
	REQUIRE(w, N(w, f)->leader == l, "n%u left leader n%u", f, l);
	/* A new term: the deposed leader forges in it. */
	world_isolate(w, l, true);
	l2 = world_wait_leader(w, w->all & ~BIT(l), 3000);
	REQUIRE(w, l2 != 0, "no leader without n%u", l);
	f = nth_in(w, w->all & ~BIT(l), l2, 0);
	lf[0] = l2;
	lf[1] = f;
	REQUIRE(w, world_run_until(w, 1000, pred_follows, lf),
		"n%u does not follow n%u", f, l2);
	if (!forge_commit(w, l, f))
		return;
	world_isolate(w, l, false);
	REQUIRE(w, commit_many(w, l2, 5, 1000), "n%u cannot commit", l2);
	REQUIRE(w, world_settle(w, 5000), "did not settle");
	if (!no_forged_entry(w))
		return;
	set_note("%llu forged AppendEntries dropped",
		 (unsigned long long)(forged_count - n0));
}

/* (e) AppendEntries answers to requests the leader never sent: success
 * with a match past its log, a seq past its heartbeat rounds, a prev
 * past its log, a refusal naming a prev past its log, everything at
 * RAFT_MAX_INDEX.  Dropped: they commit nothing (the leader is cut off
 * from every real follower), confirm no read, and do not count as
 * contact, so CheckQuorum still deposes the cut-off leader in time.
 * Then, connected, the same answers between the real ones while clients
 * write and read: the world checks that every commit is durable on a
 * majority and every read is linearizable. */
static bool forge_answer(struct world *w, uint32_t l, uint32_t f, int v)
{
	const struct node *nd = N(w, l);
	uint64_t t = nd->term, last = nd->n, seq = nd->r->seq;
	struct raft_msg m;

	switch (v % 5) {
	case 0:
		m = mk_append_resp(f, l, t, true, last, last + 1, seq);
		break;
	case 1:
		m = mk_append_resp(f, l, t, true, last ? last - 1 : 0, last,
				   seq + 1);
		break;
	case 2:
		m = mk_append_resp(f, l, t, true, last + 3, last, seq);
		break;
	case 3:
		m = mk_append_resp(f, l, t, false, last + 1, 0, seq);
		break;
	default:
		m = mk_append_resp(f, l, t, true, RAFT_MAX_INDEX,
				   RAFT_MAX_INDEX, RAFT_MAX_INDEX);
		break;
	}
	return forged(w, l, &m, 0, "AppendEntries answer");
}

static void sc_forged_answers(struct world *w)
{
	uint32_t l, l2, f, i;
	uint64_t g0, pid = 0, rid = 0, at, ms, n0 = forged_count;

	l = settled_leader(w);
	if (l == 0)
		return;
	REQUIRE(w, commit_many(w, l, 5, 1000), "n%u cannot commit", l);
	world_isolate(w, l, true);
	g0 = N(w, l)->commit;
	REQUIRE(w, world_propose(w, l, &pid) == 0, "n%u refused", l);
	REQUIRE(w, world_read(w, l, &rid) == 0, "n%u refused a read", l);
	for (f = 1; f <= w->n; f++)
		for (i = 0; f != l && i < 5; i++)
			if (!forge_answer(w, l, f, (int)i))
				return;
	REQUIRE(w, w->reads[rid - 1].state == READ_PENDING,
		"forged answers confirmed read %llu (state %d)",
		(unsigned long long)rid, (int)w->reads[rid - 1].state);
	/* Keep forging while the cut-off leader waits for its quorum. */
	at = w->now;
	for (ms = 0; ms < 2 * (uint64_t)w->cfg.election_max_ms; ms += 5) {
		if (N(w, l)->role != RAFT_LEADER)
			break;
		f = nth_in(w, w->all, l,
			   (uint32_t)rng_below(&w->rng, w->n - 1));
		if (!forge_answer(w, l, f, (int)rng_below(&w->rng, 5)))
			return;
		REQUIRE(w, N(w, l)->commit == g0,
			"n%u committed %llu with forged answers only", l,
			(unsigned long long)N(w, l)->commit);
		world_run_for(w, 5);
	}
	REQUIRE(w, N(w, l)->role != RAFT_LEADER,
		"cut-off n%u still leads after %llu ms of forged answers", l,
		(unsigned long long)(w->now - at));
	REQUIRE(w,
		N(w, l)->commit == g0 && w->props[pid - 1].state != PROP_ACKED,
		"n%u committed without a real majority", l);
	REQUIRE(w, w->reads[rid - 1].state == READ_FAILED,
		"read on the deposed leader ended in state %d",
		(int)w->reads[rid - 1].state);
	world_isolate(w, l, false);
	/* Connected: forged answers among the real ones. */
	l2 = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l2 != 0, "no leader after healing");
	for (ms = 0; ms < 2000 && !w->failed; ms++) {
		l2 = world_leader(w, w->all);
		if (l2 == 0) {
			world_run_for(w, 1);
			continue;
		}
		if (ms % 5 == 0)
			world_propose(w, l2, NULL);
		if (ms % 20 == 0)
			world_read(w, l2, NULL);
		if (ms % 3 == 0) {
			f = nth_in(w, w->all, l2,
				   (uint32_t)rng_below(&w->rng, w->n - 1));
			if (!forge_answer(w, l2, f, (int)rng_below(&w->rng, 5)))
				return;
		}
		world_run_for(w, 1);
	}
	REQUIRE(w, world_settle(w, 5000), "did not settle");
	set_note("%llu forged answers dropped",
		 (unsigned long long)(forged_count - n0));
}

/* (f) A rogue member (rogue.h) forges a message after every step while
 * clients write and read and a minority of nodes is cut off, crashed and
 * restarted; then everything heals and the cluster must converge with
 * the rogue still at it. */
static void sc_rogue_mix(struct world *w)
{
	static struct rogue r;
	uint32_t l;
	uint64_t t, acked = 0, i;

	rogue_attach(w, &r, w->o.seed, 1000000);
	for (t = 0; t < 10000 && !w->failed; t += 10) {
		l = world_leader(w, world_up_mask(w));
		if (l) {
			world_propose(w, l, NULL);
			if (t % 50 == 0)
				world_read(w, l, NULL);
		}
		world_run_for(w, 10);
		if (rng_below(&w->rng, 100) != 0)
			continue;
		churn_step(w, false);
	}
	if (!w->failed)
		world_settle(w, 20000);
	rogue_detach(w);
	if (w->failed)
		return;
	for (i = 0; i < w->n_props; i++)
		acked += w->props[i].state == PROP_ACKED;
	REQUIRE(w, acked >= 100, "only %llu proposals acknowledged",
		(unsigned long long)acked);
	if (!no_forged_entry(w))
		return;
	set_note("rogue: %llu forged (%llu refused, %llu dropped, %llu "
		 "ignored); %llu acked",
		 (unsigned long long)rogue_total(&r),
		 (unsigned long long)r.refused, (unsigned long long)r.dropped,
		 (unsigned long long)r.ignored, (unsigned long long)acked);
}

/* ---- snapshots and log compaction (§7) -------------------------------------
 * Nodes snapshot their state machines (world_snapshot) and compact their
 * logs; a leader that no longer holds what a follower needs sends its
 * snapshot (InstallSnapshot, Figure 13).  The world checks after every
 * step that snapshots hold committed prefixes only, that every state
 * machine's state is the committed prefix it claims, and that compaction
 * never runs ahead of a durable snapshot; these scenarios build the
 * situations that need it. */

static bool pred_snapshots_durable(struct world *w, void *arg)
{
	uint32_t k;

	(void)arg;
	for (k = 1; k <= w->n; k++)
		if (N(w, k)->up && N(w, k)->snap_pending.index != 0)
			return false;
	return true;
}

/* Every up node of mask snapshots what it applied, keeping `keep` entries
 * before the snapshot; waits until they are durable (and compacted, as
 * far as the core goes). */
static bool snapshot_nodes(struct world *w, uint32_t mask, uint64_t keep)
{
	uint32_t k;

	for (k = 1; k <= w->n; k++)
		if ((mask & BIT(k)) && N(w, k)->up)
			(void)world_snapshot(w, k, keep);
	return world_run_until(w, 1000, pred_snapshots_durable, NULL);
}

/* Snapshot traffic between a leader and a follower, as the cores emit it
 * (until w->on_send is reset). */
struct snap_count {
	uint32_t leader;
	uint32_t follower;
	uint64_t sent;	   /* InstallSnapshot leader -> follower */
	uint64_t ok;	   /* successful answers follower -> leader */
	uint64_t refused;  /* refusals by the follower (a stale term) */
	uint64_t appends;  /* AppendEntries with entries to the follower */
	uint64_t first_at; /* when the first snapshot was sent */
};

static void count_snaps(struct world *w, const struct raft_msg *m, void *arg)
{
	struct snap_count *c = arg;

	if (m->type == RAFT_MSG_SNAPSHOT && m->to == c->follower &&
	    (c->leader == 0 || m->from == c->leader)) {
		if (c->sent++ == 0)
			c->first_at = w->now;
	}
	if (m->type == RAFT_MSG_APPEND && m->to == c->follower &&
	    m->u.append.n_entries > 0 &&
	    (c->leader == 0 || m->from == c->leader))
		c->appends++;
	if (m->type == RAFT_MSG_SNAPSHOT_RESP && m->from == c->follower) {
		if (m->u.snapshot_resp.success)
			c->ok++;
		else
			c->refused++;
	}
}

/* Counts snapshot traffic from `leader` (0: any node) to `follower`. */
static void count_snaps_start(struct world *w, struct snap_count *c,
			      uint32_t leader, uint32_t follower)
{
	memset(c, 0, sizeof(*c));
	c->leader = leader;
	c->follower = follower;
	w->on_send = count_snaps;
	w->on_send_arg = c;
}

static uint64_t installs(const struct world *w)
{
	return w->installs + w->installs_kept;
}

/* A follower cut off while the others commit 200 entries and compact
 * their whole logs (no entry kept before the snapshot): when it comes
 * back, the leader no longer holds what it needs and sends its snapshot
 * (§7); the follower installs it, replies, and AppendEntries go on from
 * there, pipelined.  One snapshot, no more (nothing is lost). */
static void sc_snapshot_catchup_partition(struct world *w)
{
	struct snap_count c;
	const struct raft_progress *p;
	uint32_t l, f;
	uint64_t i0, target, took, t0;

	l = settled_leader(w);
	if (l == 0)
		return;
	f = nth_in(w, w->all, l, (uint32_t)rng_below(&w->rng, w->n - 1));
	REQUIRE(w, commit_many(w, l, 20, 1000), "cannot commit");
	world_isolate(w, f, true);
	REQUIRE(w, commit_many(w, l, 200, 5000), "cannot commit without n%u",
		f);
	REQUIRE(w, snapshot_nodes(w, w->all & ~BIT(f), 0),
		"snapshots not durable");
	REQUIRE(w, raft_first_index(N(w, l)->r) > N(w, f)->n + 1,
		"leader n%u's log (from %llu) still holds what n%u needs "
		"(after %llu)",
		l, (unsigned long long)raft_first_index(N(w, l)->r), f,
		(unsigned long long)N(w, f)->n);
	i0 = N(w, f)->installs;
	count_snaps_start(w, &c, l, f);
	t0 = w->now;
	world_isolate(w, f, false);
	target = N(w, l)->commit;
	REQUIRE(w, world_wait_applied(w, BIT(f), target, 3000),
		"n%u applied %llu of %llu after it came back", f,
		(unsigned long long)N(w, f)->applied,
		(unsigned long long)target);
	took = w->now - t0;
	REQUIRE(w, world_leader(w, w->all) == l, "leader changed");
	REQUIRE(w, c.sent == 1 && c.ok >= 1 && N(w, f)->installs == i0 + 1,
		"%llu snapshots sent to n%u, %llu answered, %llu installed",
		(unsigned long long)c.sent, f, (unsigned long long)c.ok,
		(unsigned long long)(N(w, f)->installs - i0));
	REQUIRE(w, N(w, f)->first > 1 && N(w, f)->r->snapshot_index >= 200,
		"n%u's log starts at %llu, snapshot %llu", f,
		(unsigned long long)N(w, f)->first,
		(unsigned long long)N(w, f)->r->snapshot_index);
	/* Replication goes on after the snapshot, by AppendEntries. */
	REQUIRE(w, commit_many(w, l, 50, 2000), "cannot commit after it");
	REQUIRE(w, world_wait_applied(w, BIT(f), N(w, l)->commit, 1000),
		"n%u does not follow after the snapshot", f);
	w->on_send = NULL;
	p = progress_to(w, l, f);
	REQUIRE(w,
		p != NULL && p->state == RAFT_PROGRESS_REPLICATE &&
		    p->match_index >= target,
		"leader n%u's progress of n%u: state %d, match %llu", l, f,
		p ? (int)p->state : -1,
		p ? (unsigned long long)p->match_index : 0ULL);
	REQUIRE(w, c.appends >= 1, "no AppendEntries to n%u after its snapshot",
		f);
	set_note("n%u caught up %llu entries by one snapshot in %llu ms", f,
		 (unsigned long long)target, (unsigned long long)took);
}

/* A follower crashed while the others commit; the leader keeps a window
 * of entries before its snapshot.  When the window holds what the
 * follower needs it catches up by AppendEntries alone; after a longer
 * absence, past the window, by a snapshot, and then by AppendEntries
 * (the window's entries after the snapshot). */
static void sc_snapshot_crashed_follower(struct world *w)
{
	struct snap_count c;
	uint32_t l, f;
	uint64_t keep, target;

	l = settled_leader(w);
	if (l == 0)
		return;
	f = nth_in(w, w->all, l, 0);
	REQUIRE(w, commit_many(w, l, 20, 1000), "cannot commit");
	/* 1. Within the window. */
	world_crash(w, f);
	REQUIRE(w, commit_many(w, l, 100, 3000), "cannot commit without n%u",
		f);
	/* What the leader knows n%u holds (its acknowledgements), not
	 * what its disk holds. */
	keep = N(w, l)->applied - progress_to(w, l, f)->match_index +
	       rng_range(&w->rng, 0, 20);
	REQUIRE(w, snapshot_nodes(w, w->all & ~BIT(f), keep),
		"snapshots not durable");
	REQUIRE(w,
		raft_first_index(N(w, l)->r) <=
		    progress_to(w, l, f)->match_index + 1,
		"leader n%u compacted beyond its window (log from %llu)", l,
		(unsigned long long)raft_first_index(N(w, l)->r));
	/* What was on the wire to it before it crashed is gone. */
	world_run_for(w, 2 * (uint64_t)w->o.delay_max + 1);
	count_snaps_start(w, &c, 0, f);
	world_restart(w, f);
	target = N(w, l)->commit;
	REQUIRE(w, world_wait_applied(w, BIT(f), target, 3000),
		"n%u did not catch up within the window", f);
	REQUIRE(w, c.sent == 0, "%llu snapshots sent within the window",
		(unsigned long long)c.sent);
	/* 2. Past it: a window of 0-10 entries, 100 committed meanwhile. */
	world_crash(w, f);
	REQUIRE(w, commit_many(w, l, 100, 3000), "cannot commit without n%u",
		f);
	REQUIRE(w,
		snapshot_nodes(w, w->all & ~BIT(f), rng_range(&w->rng, 0, 10)),
		"snapshots not durable");
	REQUIRE(w, raft_first_index(N(w, l)->r) > N(w, f)->disk.n + 1,
		"leader n%u still holds what n%u needs", l, f);
	world_run_for(w, 2 * (uint64_t)w->o.delay_max + 1);
	c.sent = c.ok = 0;
	world_restart(w, f);
	target = N(w, l)->commit;
	REQUIRE(w, world_wait_applied(w, BIT(f), target, 3000),
		"n%u did not catch up past the window", f);
	REQUIRE(w, c.sent >= 1 && c.ok >= 1,
		"n%u caught up with %llu snapshots sent, %llu answered", f,
		(unsigned long long)c.sent, (unsigned long long)c.ok);
	REQUIRE(w, commit_many(w, l, 20, 1000), "cannot commit after it");
	w->on_send = NULL;
	set_note("window %llu entries; then %llu snapshot(s)",
		 (unsigned long long)keep, (unsigned long long)c.sent);
}

static bool pred_snap_sent(struct world *w, void *arg)
{
	(void)w;
	return ((const struct snap_count *)arg)->sent > 0;
}

/* A snapshot racing with appends and with a leader change.  A follower
 * comes back behind the others' compacted logs; the leader's snapshot
 * takes a second to transfer while the leader keeps appending; the
 * leader crashes; the others elect a new one, in whose term the
 * follower votes; then the old leader's snapshot arrives, of a term now
 * stale: refused (Figure 13: reply immediately if term < currentTerm).
 * The new leader sends its own, and the follower catches up while
 * entries keep being appended. */
static void sc_snapshot_race(struct world *w)
{
	struct snap_count c;
	uint32_t l1, l2, f;
	uint64_t t1, k, pid;

	l1 = settled_leader(w);
	if (l1 == 0)
		return;
	f = nth_in(w, w->all, l1, 1);
	REQUIRE(w, commit_many(w, l1, 20, 1000), "cannot commit");
	world_isolate(w, f, true);
	REQUIRE(w, commit_many(w, l1, 100, 3000), "cannot commit without n%u",
		f);
	REQUIRE(w, snapshot_nodes(w, w->all & ~BIT(f), 0),
		"snapshots not durable");
	t1 = N(w, l1)->term;
	w->o.snap_xfer_min = 1000;
	w->o.snap_xfer_max = 1100;
	count_snaps_start(w, &c, 0, f);
	world_isolate(w, f, false);
	REQUIRE(w, world_run_until(w, 500, pred_snap_sent, &c),
		"n%u sent no snapshot to n%u", l1, f);
	/* Appends race with the transfer. */
	for (k = 0; k < 10; k++) {
		REQUIRE(w, world_propose(w, l1, &pid) == 0, "n%u refused", l1);
		world_run_for(w, 5);
	}
	world_crash(w, l1);
	l2 = world_wait_leader(w, w->all & ~BIT(l1), 3000);
	REQUIRE(w, l2 != 0 && N(w, l2)->term > t1, "no new leader");
	REQUIRE(w, N(w, f)->term > t1, "n%u still in term %llu", f,
		(unsigned long long)N(w, f)->term);
	/* Appends on the new leader while its snapshot travels. */
	for (k = 0; k < 300 && !w->failed; k++) {
		if (N(w, f)->applied >= N(w, l2)->commit && c.refused > 0 &&
		    k > 20)
			break;
		if (world_leader(w, w->all) == l2)
			(void)world_propose(w, l2, NULL);
		world_run_for(w, 10);
	}
	REQUIRE(w, world_leader(w, w->all) == l2, "leader changed again");
	REQUIRE(w, c.refused >= 1,
		"the old leader's snapshot was not refused by n%u (%llu sent, "
		"%llu answered)",
		f, (unsigned long long)c.sent, (unsigned long long)c.ok);
	REQUIRE(w, world_wait_applied(w, BIT(f), N(w, l2)->commit, 3000),
		"n%u did not catch up with n%u", f, l2);
	w->o.snap_xfer_min = w->o.snap_xfer_max = 0;
	world_restart(w, l1);
	REQUIRE(w, commit_many(w, l2, 5, 2000), "n%u cannot commit", l2);
	w->on_send = NULL;
	set_note("n%u -> n%u; %llu snapshots to n%u, %llu refused", l1, l2,
		 (unsigned long long)c.sent, f, (unsigned long long)c.refused);
}

/* Figure 13, step 6: a follower that holds the snapshot's last entry
 * keeps the entries after it.  Its answers to the leader are lost (a
 * one-way cut) while it receives everything, and the third node's disk
 * is slow so that the commit index lags: the leader's snapshot (of what
 * it applied) ends before the follower's log, after its commit index. */
static bool pred_replicating(struct world *w, void *arg)
{
	const uint32_t *lf = arg;
	const struct raft_progress *p = progress_to(w, lf[0], lf[1]);

	return p != NULL && p->state == RAFT_PROGRESS_REPLICATE &&
	       p->match_index == N(w, lf[0])->n;
}

static void sc_snapshot_keeps_tail(struct world *w)
{
	uint32_t l, f, x, lf[2];
	uint64_t k0, x_index;

	/* In order (one entry per request, all in flight at once): the
	 * follower gets them all, and nothing else stalls. */
	fifo_links(w, 2);
	l = settled_leader(w);
	if (l == 0)
		return;
	f = nth_in(w, w->all, l, 0);
	x = nth_in(w, w->all, l, 1);
	REQUIRE(w, commit_many(w, l, 10, 1000), "cannot commit");
	lf[0] = l;
	lf[1] = f;
	REQUIRE(w,
		commit_many(w, l, 5, 1000) &&
		    world_run_until(w, 1000, pred_replicating, lf),
		"n%u does not replicate to n%u", l, f);
	lf[1] = x;
	REQUIRE(w, world_run_until(w, 1000, pred_replicating, lf),
		"n%u does not replicate to n%u", l, x);
	world_set_link(w, f, l, false);
	world_set_persist_delay(w, x, 40, 50);
	for (k0 = 0; k0 < 6; k0++) {
		REQUIRE(w, world_propose(w, l, NULL) == 0, "n%u refused", l);
		world_run_for(w, 1);
	}
	for (k0 = 0; k0 < 30; k0++) {
		(void)world_propose(w, l, NULL);
		world_run_for(w, 2);
	}
	world_run_for(w, 10);
	REQUIRE(w, N(w, l)->applied < N(w, f)->n,
		"n%u holds %llu entries, n%u applied %llu", f,
		(unsigned long long)N(w, f)->n, l,
		(unsigned long long)N(w, l)->applied);
	REQUIRE(w, snapshot_nodes(w, BIT(l), 0), "snapshot not durable");
	x_index = raft_snapshot_index(N(w, l)->r);
	REQUIRE(w, x_index > N(w, f)->commit && x_index < N(w, f)->n,
		"snapshot at %llu, n%u's commit %llu, log %llu",
		(unsigned long long)x_index, f,
		(unsigned long long)N(w, f)->commit,
		(unsigned long long)N(w, f)->n);
	k0 = N(w, f)->installs_kept;
	world_set_link(w, f, l, true);
	world_set_persist_delay(w, x, w->o.persist_min, w->o.persist_max);
	REQUIRE(w, world_wait_applied(w, BIT(f), N(w, l)->commit, 3000),
		"n%u did not catch up", f);
	REQUIRE(w, N(w, f)->installs_kept == k0 + 1,
		"n%u installed %llu snapshots keeping its tail", f,
		(unsigned long long)(N(w, f)->installs_kept - k0));
	REQUIRE(w, commit_many(w, l, 10, 1000), "cannot commit after it");
	set_note("snapshot at %llu kept n%u's entries after it",
		 (unsigned long long)x_index, f);
}

/* A snapshot transfer lost, then failing, then getting through.  Lost
 * silently: the leader sends it again after RAFT_SNAPSHOT_TIMEOUT_ELECTIONS
 * election timeouts, not sooner, with heartbeats going on meanwhile (the
 * follower does not campaign).  Failing at once (the sender's transport
 * says so, raft_snapshot_failed): sent again once the follower answers a
 * heartbeat, at most once a heartbeat, not in a loop. */
static void sc_snapshot_lost(struct world *w)
{
	struct snap_count c;
	uint32_t l, f;
	uint64_t timeout, phase, e0, n0, bound;

	l = settled_leader(w);
	if (l == 0)
		return;
	f = nth_in(w, w->all, l, 0);
	REQUIRE(w, commit_many(w, l, 20, 1000), "cannot commit");
	world_crash(w, f);
	REQUIRE(w, commit_many(w, l, 100, 3000), "cannot commit without n%u",
		f);
	REQUIRE(w, snapshot_nodes(w, w->all & ~BIT(f), 0),
		"snapshots not durable");
	timeout =
	    RAFT_SNAPSHOT_TIMEOUT_ELECTIONS * (uint64_t)w->cfg.election_max_ms;
	e0 = w->elections;
	/* 1. Lost, unnoticed. */
	w->o.snap_lose_ppm = 1000000;
	world_run_for(w, 2 * (uint64_t)w->o.delay_max + 1);
	count_snaps_start(w, &c, l, f);
	world_restart(w, f);
	phase = 3 * timeout + timeout / 2;
	world_run_for(w, phase);
	REQUIRE(w, c.sent >= 3 && c.sent <= 4,
		"%llu snapshots sent in %llu ms of silent loss (timeout %llu)",
		(unsigned long long)c.sent, (unsigned long long)phase,
		(unsigned long long)timeout);
	REQUIRE(w, N(w, f)->applied < N(w, l)->commit && w->elections == e0,
		"n%u caught up or an election happened", f);
	/* 2. Failing, noticed (from the next send on: the one out may be
	 * waiting for its timeout). */
	w->o.snap_lose_ppm = 0;
	w->o.snap_fail_ppm = 1000000;
	c.sent = 0;
	REQUIRE(w, world_run_until(w, timeout + 100, pred_snap_sent, &c),
		"no snapshot sent again within the timeout");
	n0 = w->snap_notices;
	c.sent = 0;
	phase = 20 * (uint64_t)w->cfg.heartbeat_ms;
	world_run_for(w, phase);
	bound = phase / w->cfg.heartbeat_ms + 2;
	REQUIRE(w,
		c.sent >= 3 && c.sent <= bound &&
		    w->snap_notices - n0 + 1 >= c.sent,
		"%llu snapshots sent in %llu ms of failures (%llu noticed, "
		"bound %llu)",
		(unsigned long long)c.sent, (unsigned long long)phase,
		(unsigned long long)(w->snap_notices - n0),
		(unsigned long long)bound);
	REQUIRE(w, w->elections == e0, "an election happened");
	/* 3. Through. */
	w->o.snap_fail_ppm = 0;
	REQUIRE(w, world_wait_applied(w, BIT(f), N(w, l)->commit, 2000),
		"n%u did not catch up once transfers worked", f);
	REQUIRE(w, commit_many(w, l, 10, 1000), "cannot commit after it");
	w->on_send = NULL;
	set_note("resent after %llu ms silent loss; %llu failures noticed",
		 (unsigned long long)timeout,
		 (unsigned long long)(w->snap_notices - n0));
}

/* Restarts from a snapshot and the log's tail.  (a) Every node snapshots
 * with a random window and the cluster crashes whole with writes in
 * flight: each restarts from its snapshot and the entries after its
 * base.  (b) A node crashes with its snapshot durable and its log not yet
 * compacted (its log disk slow): it restarts with the log from before
 * and the newer snapshot.  (c) A follower applies entries its own disk
 * does not hold yet, snapshots them (the snapshot file is quicker than
 * the log) and crashes: its log does not reach the snapshot, and
 * raft_start drops it. */
static void sc_snapshot_restart(struct world *w)
{
	uint32_t l, f, i;
	uint64_t g0, r0;

	l = settled_leader(w);
	if (l == 0)
		return;
	/* (a) */
	for (i = 0; i < 2; i++) {
		REQUIRE(w, commit_many(w, l, 50, 2000), "cannot commit");
		REQUIRE(w, snapshot_nodes(w, w->all, rng_range(&w->rng, 0, 30)),
			"snapshots not durable");
		(void)world_propose(w, l, NULL);
		(void)world_propose(w, l, NULL);
		world_run_for(w, rng_below(&w->rng, 3));
		g0 = world_commit_max(w);
		for (f = 1; f <= w->n; f++)
			world_crash(w, f);
		world_run_for(w, 50);
		for (f = 1; f <= w->n; f++)
			world_restart(w, f);
		l = world_wait_leader(w, w->all, 3000);
		REQUIRE(w, l != 0, "no leader after restarting");
		REQUIRE(w, commit_one(w, l, 1000, NULL), "cannot commit");
		REQUIRE(w, world_wait_applied(w, w->all, g0, 2000),
			"committed entries not applied after restarting");
	}
	/* (b) */
	f = nth_in(w, w->all, l, 0);
	REQUIRE(w, commit_many(w, l, 20, 1000), "cannot commit");
	world_set_persist_delay(w, f, 300, 300);
	REQUIRE(w, commit_many(w, l, 5, 1000), "cannot commit");
	REQUIRE(w, snapshot_nodes(w, BIT(f), 0), "snapshot not durable");
	REQUIRE(w, N(w, f)->disk.base < N(w, f)->disk.snap.index,
		"n%u's log compacted (to %llu) at once", f,
		(unsigned long long)N(w, f)->disk.base);
	world_crash(w, f);
	world_set_persist_delay(w, f, w->o.persist_min, w->o.persist_max);
	world_restart(w, f);
	REQUIRE(w, commit_many(w, l, 5, 1000), "cannot commit");
	REQUIRE(w, world_wait_applied(w, BIT(f), N(w, l)->commit, 2000),
		"n%u did not catch up after restarting", f);
	/* (c) */
	r0 = w->snap_resets;
	world_set_persist_delay(w, f, 500, 500);
	for (i = 0; i < 5; i++) {
		(void)world_propose(w, l, NULL);
		world_run_for(w, 15);
	}
	world_run_for(w, 30);
	REQUIRE(w, N(w, f)->applied > N(w, f)->disk.n,
		"n%u applied %llu, its disk holds %llu", f,
		(unsigned long long)N(w, f)->applied,
		(unsigned long long)N(w, f)->disk.n);
	REQUIRE(w, snapshot_nodes(w, BIT(f), 0), "snapshot not durable");
	world_crash(w, f);
	world_set_persist_delay(w, f, w->o.persist_min, w->o.persist_max);
	world_restart(w, f);
	REQUIRE(w, w->snap_resets == r0 + 1,
		"n%u restarted without dropping its short log", f);
	REQUIRE(w, commit_many(w, l, 5, 1000), "cannot commit");
	REQUIRE(w, world_wait_applied(w, BIT(f), N(w, l)->commit, 2000),
		"n%u did not catch up after restarting", f);
	set_note("%llu snapshots, %llu compactions",
		 (unsigned long long)w->snapshots,
		 (unsigned long long)w->compactions);
}

/* The random workload with snapshots: 10 s of proposals and reads under
 * 5% loss and 0-30 ms delays, a minority crashed or cut off now and then,
 * and a random node snapshotting every 50 ms or so with a random window
 * (often none); transfers take up to 50 ms more, 5% fail and 5% are
 * lost. */
static void sc_snapshot_random(struct world *w)
{
	uint32_t i, j, l;
	uint64_t t, acked = 0;

	for (i = 1; i <= w->n; i++)
		for (j = 1; j <= w->n; j++) {
			world_set_loss(w, i, j, 50000);
			world_set_delay(w, i, j, 0, 30);
		}
	for (t = 0; t < 10000 && !w->failed; t += 10) {
		l = world_leader(w, world_up_mask(w));
		if (l) {
			world_propose(w, l, NULL);
			if (t % 50 == 0)
				world_read(w, l, NULL);
		}
		world_run_for(w, 10);
		if (rng_below(&w->rng, 5) == 0)
			(void)world_snapshot(
			    w, 1 + (uint32_t)rng_below(&w->rng, w->n),
			    (uint64_t[]){0, 0, 1, 10,
					 100}[rng_below(&w->rng, 5)]);
		if (rng_below(&w->rng, 50) != 0)
			continue;
		churn_step(w, false);
	}
	REQUIRE(w, world_settle(w, 30000), "did not settle");
	for (t = 0; t < w->n_props; t++)
		acked += w->props[t].state == PROP_ACKED;
	REQUIRE(w, acked >= 300 && w->snapshots >= 50 && w->compactions >= 20,
		"%llu acknowledged, %llu snapshots, %llu compactions",
		(unsigned long long)acked, (unsigned long long)w->snapshots,
		(unsigned long long)w->compactions);
	set_note("%llu acked, %llu snapshots, %llu compactions, %llu installs",
		 (unsigned long long)acked, (unsigned long long)w->snapshots,
		 (unsigned long long)w->compactions,
		 (unsigned long long)installs(w));
}

/* (g) Forged snapshot messages.  InstallSnapshot from a member that is
 * not the term's leader (to a follower, and to the leader itself), at the
 * current term, naming entries beyond the follower's log, its commit, or
 * below it; the same from the deposed leader at the term that deposed it;
 * each field out of its bounds; and snapshot answers the leader never
 * asked for (more than its log, a refusal in its own term, any success
 * before it has a snapshot).  Dropped or refused: nothing changes,
 * nothing is installed (the world would catch forged data installed),
 * and the cluster goes on compacting and sending real snapshots. */
static bool forge_snapshot(struct world *w, uint32_t x, uint32_t to)
{
	const struct node *nd = N(w, to);
	uint64_t t = nd->term, idx[3];
	struct raft_msg m;
	int k;

	idx[0] = nd->n + 5;
	idx[1] = nd->commit + 1;
	idx[2] = nd->commit ? nd->commit : 1;
	for (k = 0; k < 3; k++) {
		m = mk_msg(RAFT_MSG_SNAPSHOT, x, to, t);
		m.u.snapshot.index = idx[k];
		m.u.snapshot.term = t;
		if (!forged(w, to, &m, 0, "snapshot from a non-leader"))
			return false;
	}
	return true;
}

static bool forge_snapshot_bounds(struct world *w, uint32_t l, uint32_t to)
{
	uint64_t t = N(w, to)->term;
	struct raft_msg m;
	int v;

	for (v = 0; v < 8; v++) {
		m = mk_msg(RAFT_MSG_SNAPSHOT, l, to, t);
		m.u.snapshot.index = N(w, to)->n + 1;
		m.u.snapshot.term = t;
		switch (v) {
		case 0:
			m.u.snapshot.index = 0;
			break;
		case 1:
			m.u.snapshot.index = RAFT_MAX_INDEX + 1;
			break;
		case 2:
			m.u.snapshot.index = UINT64_MAX;
			break;
		case 3:
			m.u.snapshot.term = 0;
			break;
		case 4:
			m.u.snapshot.term = t + 1;
			break;
		case 5:
			m.term = 0;
			m.u.snapshot.term = 0;
			break;
		case 6:
			m = mk_msg(RAFT_MSG_SNAPSHOT_RESP, to, l, t);
			m.u.snapshot_resp.success = true;
			break;
		default:
			m = mk_msg(RAFT_MSG_SNAPSHOT_RESP, to, l, t);
			m.u.snapshot_resp.index = RAFT_MAX_INDEX + 1;
			m.u.snapshot_resp.success = true;
			break;
		}
		if (!forged(w, v >= 6 ? l : to, &m, RAFT_EINVAL,
			    "snapshot message out of bounds"))
			return false;
	}
	return true;
}

static bool forge_snapshot_answers(struct world *w, uint32_t l, uint32_t f)
{
	const struct node *nd = N(w, l);
	struct raft_msg m;

	m = mk_msg(RAFT_MSG_SNAPSHOT_RESP, f, l, nd->term);
	m.u.snapshot_resp.success = true;
	m.u.snapshot_resp.index = nd->n + 1;
	if (!forged(w, l, &m, 0, "snapshot answer past the log"))
		return false;
	m.u.snapshot_resp.index = RAFT_MAX_INDEX;
	if (!forged(w, l, &m, 0, "snapshot answer at the largest index"))
		return false;
	m.u.snapshot_resp.success = false;
	m.u.snapshot_resp.index = 0;
	if (!forged(w, l, &m, 0, "snapshot refusal in the leader's term"))
		return false;
	if (raft_snapshot_index(nd->r) == 0) {
		m.u.snapshot_resp.success = true;
		m.u.snapshot_resp.index = nd->commit ? nd->commit : 1;
		if (!forged(w, l, &m, 0, "snapshot answer, none sent"))
			return false;
	}
	return true;
}

static void sc_forged_snapshot(struct world *w)
{
	uint32_t l, l2, f, x, lf[2];
	uint64_t n0 = forged_count, i0;

	l = settled_leader(w);
	if (l == 0)
		return;
	REQUIRE(w, commit_many(w, l, 10, 1000), "n%u cannot commit", l);
	f = nth_in(w, w->all, l, 0);
	x = nth_in(w, w->all, l, 1);
	lf[0] = l;
	lf[1] = f;
	REQUIRE(w, world_run_until(w, 1000, pred_follows, lf),
		"n%u does not follow n%u", f, l);
	/* Before any snapshot exists. */
	if (!forge_snapshot(w, x, f) || !forge_snapshot(w, x, l) ||
	    !forge_snapshot_bounds(w, l, f) || !forge_snapshot_answers(w, l, f))
		return;
	/* With snapshots and compacted logs; a follower waiting for one. */
	world_isolate(w, f, true);
	REQUIRE(w, commit_many(w, l, 50, 2000), "n%u cannot commit", l);
	REQUIRE(w, snapshot_nodes(w, w->all & ~BIT(f), 0),
		"snapshots not durable");
	w->o.snap_xfer_min = w->o.snap_xfer_max = 200;
	i0 = N(w, f)->installs;
	world_isolate(w, f, false);
	world_run_for(w, 2 * (uint64_t)w->cfg.heartbeat_ms);
	if (!forge_snapshot(w, x, f) || !forge_snapshot(w, x, l) ||
	    !forge_snapshot_bounds(w, l, f) || !forge_snapshot_answers(w, l, f))
		return;
	REQUIRE(w, world_wait_applied(w, BIT(f), N(w, l)->commit, 2000),
		"n%u did not catch up by the real snapshot", f);
	REQUIRE(w, N(w, f)->installs == i0 + 1, "n%u installed %llu snapshots",
		f, (unsigned long long)(N(w, f)->installs - i0));
	if (!forge_snapshot(w, x, f) || !forge_snapshot_answers(w, l, f))
		return;
	/* The deposed leader, at the term that deposed it. */
	world_isolate(w, l, true);
	l2 = world_wait_leader(w, w->all & ~BIT(l), 3000);
	REQUIRE(w, l2 != 0, "no leader without n%u", l);
	f = nth_in(w, w->all & ~BIT(l), l2, 0);
	lf[0] = l2;
	lf[1] = f;
	REQUIRE(w, world_run_until(w, 1000, pred_follows, lf),
		"n%u does not follow n%u", f, l2);
	if (!forge_snapshot(w, l, f) || !forge_snapshot(w, l, l2) ||
	    !forge_snapshot_answers(w, l2, f))
		return;
	world_isolate(w, l, false);
	w->o.snap_xfer_min = w->o.snap_xfer_max = 0;
	REQUIRE(w, commit_many(w, l2, 5, 1000), "n%u cannot commit", l2);
	REQUIRE(w, world_settle(w, 5000), "did not settle");
	if (!no_forged_entry(w))
		return;
	set_note("%llu forged snapshot messages dropped or refused",
		 (unsigned long long)(forged_count - n0));
}

/* ---- membership changes and leadership transfer (thesis ch. 4, §3.10) -----
 * The world checks after every step that the core is in its log's latest
 * configuration, that only voters of their own configuration campaign,
 * lead or ask for votes, that every leader commit is durable on a
 * majority of its configuration's voters, that a leader holds at most one
 * uncommitted configuration and that consecutive configurations differ in
 * one member at most.  These scenarios build the changes. */

/* The up leader of the highest term, 0 if none. */
static uint32_t cur_leader(struct world *w)
{
	return world_leader(w, world_up_mask(w));
}

struct member_want {
	uint32_t id;
	int want; /* 0: absent, 1: a learner, 2: a voter */
};

static int committed_role(const struct world *w, uint32_t id)
{
	if (sim_conf_is_voter(&w->conf, id))
		return 2;
	return sim_conf_has(&w->conf, id) ? 1 : 0;
}

/* The committed configuration (the world's) has id as wanted. */
static bool pred_member(struct world *w, void *arg)
{
	const struct member_want *m = arg;

	return committed_role(w, m->id) == m->want;
}

static bool wait_member(struct world *w, uint32_t id, int want, uint64_t max_ms)
{
	struct member_want m = {id, want};

	return world_run_until(w, max_ms, pred_member, &m);
}

/* Asks the current leader for the change until one takes it (a leader
 * is busy until its previous change and an entry of its term commit);
 * returns the last code. */
static int change(struct world *w, uint32_t id, uint8_t flags, bool remove,
		  uint64_t max_ms)
{
	uint64_t deadline = w->now + max_ms;
	int rv = RAFT_ENOTLEADER;

	while (!w->failed && w->now < deadline) {
		uint32_t l = cur_leader(w);
		if (l != 0) {
			rv = world_set_member(w, l, id, flags, remove, NULL);
			if (rv == RAFT_OK || rv == RAFT_ENOCHANGE)
				return rv;
		}
		world_run_for(w, 10);
	}
	return rv;
}

/* A client writing to whoever leads, every `every` ms, for ms. */
static void load_for(struct world *w, uint64_t ms, uint64_t every)
{
	uint64_t t;

	for (t = 0; t < ms && !w->failed; t += every) {
		uint32_t l = cur_leader(w);
		if (l)
			world_propose(w, l, NULL);
		world_run_for(w, every);
	}
}

static uint64_t acked_count(const struct world *w)
{
	uint64_t i, n = 0;

	for (i = 0; i < w->n_props; i++)
		n += w->props[i].state == PROP_ACKED;
	return n;
}

/* §4.1: one change at a time.  A second raft_propose_conf while the
 * first is uncommitted is refused (RAFT_EBUSY), and so is one by a new
 * leader before it has committed an entry of its term (Ongaro's fix on
 * raft-dev, 2015); asking for the configuration in force is
 * RAFT_ENOCHANGE.  5 nodes, 3 of them bootstrap voters. */
static void sc_member_busy(struct world *w)
{
	uint32_t l, l2;
	uint64_t busy0 = w->busy;
	int rv;

	l = world_wait_leader(w, BIT(1) | BIT(2) | BIT(3), 3000);
	REQUIRE(w, l != 0, "no leader");
	REQUIRE(w, commit_one(w, l, 2000, NULL), "no commit");
	rv = world_set_member(w, l, 4, RAFT_MEMBER_VOTER, false, NULL);
	REQUIRE(w, rv == RAFT_OK, "adding n4: %s", raft_strerror(rv));
	rv = world_set_member(w, l, 5, RAFT_MEMBER_VOTER, false, NULL);
	REQUIRE(w, rv == RAFT_EBUSY,
		"a second change while n4's is uncommitted: %s",
		raft_strerror(rv));
	rv = world_set_member(w, l, 3, 0, true, NULL);
	REQUIRE(w, rv == RAFT_EBUSY, "a removal while n4's is uncommitted: %s",
		raft_strerror(rv));
	REQUIRE(w, wait_member(w, 4, 2, 3000), "n4's addition not committed");
	rv = world_set_member(w, l, 4, RAFT_MEMBER_VOTER, false, NULL);
	REQUIRE(w, rv == RAFT_ENOCHANGE, "the same configuration again: %s",
		raft_strerror(rv));
	REQUIRE(w, change(w, 5, RAFT_MEMBER_VOTER, false, 3000) == RAFT_OK,
		"adding n5");
	REQUIRE(w, wait_member(w, 5, 2, 3000), "n5's addition not committed");
	/* A new leader: busy until its no-op commits. */
	l = cur_leader(w);
	world_crash(w, l);
	l2 = world_wait_leader(w, w->all & ~BIT(l), 3000);
	REQUIRE(w, l2 != 0, "no leader after n%u crashed", l);
	rv = world_set_member(w, l2, l, 0, true, NULL);
	if (!N(w, l2)->r->commit_in_term)
		REQUIRE(w, rv == RAFT_EBUSY,
			"a change before n%u committed in its term: %s", l2,
			raft_strerror(rv));
	else
		REQUIRE(w, rv == RAFT_OK, "removing n%u: %s", l,
			raft_strerror(rv));
	set_note("%llu refused busy", (unsigned long long)(w->busy - busy0));
}

/* Thesis §4.2.1: 3 -> 5 under client load, each new server added as a
 * learner with RAFT_MEMBER_PROMOTE and made a voter by the leader itself
 * once caught up; then the five-voter cluster commits with two down. */
static void sc_member_grow(struct world *w)
{
	uint32_t l, k, down = 0;
	uint64_t acked0;

	l = world_wait_leader(w, BIT(1) | BIT(2) | BIT(3), 3000);
	REQUIRE(w, l != 0, "no leader");
	load_for(w, 300, 10);
	for (k = 4; k <= 5; k++) {
		REQUIRE(w,
			change(w, k, RAFT_MEMBER_PROMOTE, false, 3000) ==
			    RAFT_OK,
			"adding n%u as a learner", k);
		load_for(w, 20, 10);
		REQUIRE(w, committed_role(w, k) != 2 || w->promotions > 0,
			"n%u a voter without a promotion", k);
		/* No further call: the leader promotes it. */
		while (!w->failed && committed_role(w, k) != 2 &&
		       w->now < 20000)
			load_for(w, 50, 10);
		REQUIRE(w, committed_role(w, k) == 2,
			"n%u never promoted (committed role %d)", k,
			committed_role(w, k));
	}
	REQUIRE(w, w->promotions >= 2 && world_voters(w) == w->all,
		"%llu promotions, voters 0x%x",
		(unsigned long long)w->promotions, world_voters(w));
	load_for(w, 300, 10);
	l = cur_leader(w);
	REQUIRE(w, l != 0, "no leader after growing");
	for (k = 1; k <= w->n && __builtin_popcount(down) < 2; k++)
		if (k != l) {
			world_crash(w, k);
			down |= BIT(k);
		}
	acked0 = acked_count(w);
	REQUIRE(w, commit_one(w, l, 3000, NULL),
		"five voters, two down: no commit on n%u", l);
	set_note("%llu promotions, %llu acked",
		 (unsigned long long)w->promotions,
		 (unsigned long long)acked_count(w));
	(void)acked0;
}

/* Thesis §4.2.2: 5 -> 3 under load, removing a follower and then the
 * leader itself: it replicates the configuration without counting
 * itself, steps down once it is committed, and a remaining voter leads a
 * later term. */
static void sc_member_shrink(struct world *w)
{
	uint32_t l, f, l2;
	uint64_t term;
	struct new_leader_arg na;

	l = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l != 0, "no leader");
	load_for(w, 200, 10);
	l = cur_leader(w);
	f = nth_in(w, w->all, l, (uint32_t)rng_below(&w->rng, 4));
	REQUIRE(w, change(w, f, 0, true, 3000) == RAFT_OK, "removing n%u", f);
	load_for(w, 50, 10);
	REQUIRE(w, wait_member(w, f, 0, 3000), "n%u's removal not committed",
		f);
	load_for(w, 100, 10);
	l = cur_leader(w);
	REQUIRE(w, l != 0, "no leader");
	term = N(w, l)->term;
	REQUIRE(w, change(w, l, 0, true, 3000) == RAFT_OK,
		"removing the leader n%u", l);
	REQUIRE(w, wait_member(w, l, 0, 3000),
		"leader n%u's removal not "
		"committed",
		l);
	REQUIRE(w, world_run_until(w, 100, pred_not_leader, &l),
		"n%u still leads after its removal committed", l);
	na.old = l;
	REQUIRE(w, world_run_until(w, 3000, pred_new_leader, &na),
		"no new leader after n%u left", l);
	l2 = cur_leader(w);
	REQUIRE(w, N(w, l2)->term > term && sim_conf_is_voter(&w->conf, l2),
		"n%u leads term %llu after n%u (term %llu) left", l2,
		(unsigned long long)N(w, l2)->term, l,
		(unsigned long long)term);
	load_for(w, 300, 10);
	REQUIRE(w, commit_one(w, cur_leader(w), 3000, NULL),
		"no commit with three voters");
	REQUIRE(w, __builtin_popcount(world_voters(w)) == 3, "voters 0x%x",
		world_voters(w));
	set_note("n%u and leader n%u removed; n%u leads term %llu", f, l, l2,
		 (unsigned long long)N(w, l2)->term);
}

/* Changes of every kind (learners, promotions, voters added, removed,
 * demoted, the leader among them, transfers) while the network cuts
 * nodes off and nodes crash, restart and take snapshots (which carry the
 * configuration, §7); then everything heals and the members must
 * converge (the runner's settle). */
static void sc_member_churn(struct world *w)
{
	uint64_t t;

	for (t = 0; t < 5000 && !w->failed; t += 10) {
		uint32_t l = cur_leader(w);
		if (l) {
			world_propose(w, l, NULL);
			if (rng_below(&w->rng, 8) == 0) {
				uint32_t k =
				    1 + (uint32_t)rng_below(&w->rng, w->n);
				/* Learners (to promote or not), demotions
				 * and removals; no server is made a voter
				 * but by its promotion once caught up
				 * (§4.2.1; see the README on adding voters
				 * with an empty log). */
				static const uint8_t fl[] = {
				    0, RAFT_MEMBER_PROMOTE,
				    RAFT_MEMBER_PROMOTE};
				bool rm = rng_below(&w->rng, 3) == 0;
				/* Not the leader itself: see the README
				 * (findings) on a leader cut off with the
				 * uncommitted configuration removing it. */
				if (k == l)
					k = 1 + k % w->n;
				(void)world_set_member(
				    w, l, k, fl[rng_below(&w->rng, 3)], rm,
				    NULL);
			} else if (rng_below(&w->rng, 100) == 0) {
				(void)world_transfer(w, l, 0);
			}
		}
		world_run_for(w, 10);
		if (rng_below(&w->rng, 10) == 0)
			(void)world_snapshot(
			    w, 1 + (uint32_t)rng_below(&w->rng, w->n),
			    rng_below(&w->rng, 2) ? 0 : 5);
		if (rng_below(&w->rng, 40) == 0)
			churn_step(w, false);
	}
	set_note("%llu changes proposed, %llu committed, %llu promotions",
		 (unsigned long long)w->conf_proposed,
		 (unsigned long long)w->conf_committed,
		 (unsigned long long)w->promotions);
}

/* Thesis §4.2.1: learners count in no quorum.  3 voters and 2 learners
 * (no promotion); with 2 voters down nothing commits, although 3 of 5
 * servers hold every entry; the voters back, it commits. */
static void sc_member_learner_quorum(struct world *w)
{
	uint32_t l, k, down = 0;
	uint64_t c0, pid = 0;

	l = world_wait_leader(w, BIT(1) | BIT(2) | BIT(3), 3000);
	REQUIRE(w, l != 0, "no leader");
	for (k = 4; k <= 5; k++) {
		REQUIRE(w, change(w, k, 0, false, 3000) == RAFT_OK,
			"adding learner n%u", k);
		REQUIRE(w, wait_member(w, k, 1, 3000),
			"learner n%u not committed", k);
	}
	load_for(w, 200, 10);
	l = cur_leader(w);
	REQUIRE(w, l != 0 && l <= 3, "leader n%u", l);
	REQUIRE(w, world_wait_applied(w, w->all, w->n_committed, 2000),
		"learners not caught up");
	for (k = 1; k <= 3; k++)
		if (k != l) {
			world_crash(w, k);
			down |= BIT(k);
		}
	/* Answers the crashed voters sent before they went down may still
	 * commit what they held: let them land. */
	world_run_for(w, 2 * w->o.delay_max + 10);
	c0 = w->n_committed;
	world_propose(w, l, &pid);
	load_for(w, 3000, 20);
	REQUIRE(w, w->n_committed == c0,
		"committed %llu -> %llu with one voter of three and two "
		"learners up",
		(unsigned long long)c0, (unsigned long long)w->n_committed);
	REQUIRE(w, pid == 0 || w->props[pid - 1].state != PROP_ACKED,
		"proposal acknowledged without a voter majority");
	for (k = 1; k <= 3; k++)
		if (down & BIT(k))
			world_restart(w, k);
	l = world_wait_leader(w, BIT(1) | BIT(2) | BIT(3), 5000);
	REQUIRE(w, l != 0 && commit_one(w, l, 3000, NULL),
		"no commit with the voters back");
	set_note("nothing committed for 3 s with 2 learners and 1 voter up");
}

struct leads_arg {
	uint32_t id;
	uint64_t term;
};

static bool pred_leads_later(struct world *w, void *arg)
{
	const struct leads_arg *a = arg;
	const struct node *nd = N(w, a->id);

	return nd->up && nd->role == RAFT_LEADER && nd->term > a->term;
}

static bool pred_no_transfer(struct world *w, void *arg)
{
	const struct node *nd = N(w, *(uint32_t *)arg);

	return !nd->up || raft_transfer_target(nd->r) == 0;
}

/* Thesis §3.10: leadership transfer under load.  The leader refuses
 * proposals (RAFT_EBUSY) while it brings the target up to date and
 * sends TimeoutNow; the target wins a later term.  Then a transfer to a
 * crashed voter: after an election timeout the leader, still leading
 * its term, takes proposals again. */
static void sc_member_transfer(struct world *w)
{
	uint32_t l, x, y;
	uint64_t term, busy0 = w->busy, t;
	struct leads_arg a;
	int rv;

	l = world_wait_leader(w, w->all, 3000);
	REQUIRE(w, l != 0, "no leader");
	load_for(w, 300, 5);
	l = cur_leader(w);
	REQUIRE(w, l != 0 && commit_one(w, l, 2000, NULL), "no commit");
	x = nth_in(w, w->all, l, (uint32_t)rng_below(&w->rng, 4));
	term = N(w, l)->term;
	rv = world_transfer(w, l, x);
	REQUIRE(w, rv == RAFT_OK, "transfer n%u -> n%u: %s", l, x,
		raft_strerror(rv));
	rv = world_propose(w, l, NULL);
	REQUIRE(w, rv == RAFT_EBUSY, "proposal during the transfer: %s",
		raft_strerror(rv));
	a.id = x;
	a.term = term;
	for (t = 0; t < 2000 && !w->failed && !pred_leads_later(w, &a);
	     t += 5) {
		world_propose(w, l, NULL);
		world_run_for(w, 5);
	}
	REQUIRE(w, pred_leads_later(w, &a),
		"n%u did not take over from n%u (term %llu)", x, l,
		(unsigned long long)term);
	load_for(w, 300, 5);
	/* To a crashed target: times out, proposals resume. */
	l = cur_leader(w);
	REQUIRE(w, l != 0, "no leader after the transfer");
	term = N(w, l)->term;
	y = nth_in(w, w->all, l, (uint32_t)rng_below(&w->rng, 4));
	world_crash(w, y);
	rv = world_transfer(w, l, y);
	REQUIRE(w, rv == RAFT_OK, "transfer n%u -> crashed n%u: %s", l, y,
		raft_strerror(rv));
	REQUIRE(w, world_propose(w, l, NULL) == RAFT_EBUSY,
		"proposal during the transfer to n%u", y);
	REQUIRE(w,
		world_run_until(w, w->o.election_max_ms + 200, pred_no_transfer,
				&l),
		"the transfer to crashed n%u never timed out", y);
	REQUIRE(w, N(w, l)->role == RAFT_LEADER && N(w, l)->term == term,
		"n%u no longer leads term %llu", l, (unsigned long long)term);
	REQUIRE(w, commit_one(w, l, 2000, NULL),
		"no proposal taken after the transfer timed out");
	set_note("n%u took over; %llu proposals refused busy", x,
		 (unsigned long long)(w->busy - busy0));
}

/* ---- the table ---------------------------------------------------------- */

static void opts_full_only(struct world_opts *o)
{
	o->pipeline_full_only = true;
	o->max_batch_entries = 16;
}

static void opts_wide_pipeline(struct world_opts *o)
{
	o->max_inflight = RAFT_MAX_INFLIGHT;
}

static void opts_snap_random(struct world_opts *o)
{
	o->snap_persist_max = 20;
	o->snap_xfer_max = 50;
	o->snap_fail_ppm = 50000;
	o->snap_lose_ppm = 50000;
	o->crash_keep_ppm = 300000;
}

static void opts_three_voters(struct world_opts *o) { o->n_voters = 3; }

static void opts_churn(struct world_opts *o)
{
	o->n_voters = 3;
	o->crash_keep_ppm = 300000;
	o->snap_persist_max = 10;
	o->snap_xfer_max = 30;
}

struct scenario {
	const char *name;
	uint32_t n_nodes;
	void (*run)(struct world *w);
	void (*tune)(struct world_opts *o); /* NULL: the defaults */
	uint32_t seeds;			    /* runs by default (0: one) */
};

static const struct scenario scenarios[] = {
    {"first-election-3", 3, sc_first_election, NULL, 0},
    {"first-election-5", 5, sc_first_election, NULL, 0},
    {"reelection", 3, sc_reelection, NULL, 0},
    {"old-leader-rejoins", 3, sc_old_leader_rejoins, NULL, 0},
    {"no-quorum", 3, sc_no_quorum, NULL, 0},
    {"many-elections-7", 7, sc_many_elections, NULL, 0},
    {"disruptive-follower", 5, sc_disruptive_follower, NULL, 0},
    {"leader-stepdown", 5, sc_leader_stepdown, NULL, 0},
    {"figure8", 5, sc_figure8, NULL, 0},
    {"stale-leader-catchup", 5, sc_stale_leader_catchup, NULL, 0},
    {"crash-all", 5, sc_crash_all, NULL, 0},
    {"crash-rolling", 5, sc_crash_rolling, NULL, 0},
    {"lossy-churn", 5, sc_lossy_churn, NULL, 0},
    {"read-after-leader-change", 5, sc_read_after_leader_change, NULL, 0},
    {"bridge", 3, sc_bridge, NULL, 0},
    {"single-node", 1, sc_single_node, NULL, 0},
    {"batching", 3, sc_batching, NULL, 0},
    {"leader-slow-disk", 3, sc_leader_slow_disk, NULL, 0},
    {"dup-reorder", 3, sc_dup_reorder, NULL, 0},
    {"catchup-under-reads", 5, sc_catchup_under_reads, NULL, 0},
    {"pipeline-full-only", 3, sc_pipeline_full_only, opts_full_only, 0},
    {"pipeline-reorder", 3, sc_pipeline_reorder, opts_full_only, 0},
    {"forged-terms", 5, sc_forged_terms, NULL, 0},
    {"forged-append-to-leader", 5, sc_forged_append_to_leader, NULL, 0},
    {"forged-bad-entries", 3, sc_forged_bad_entries, NULL, 0},
    {"forged-commit", 5, sc_forged_commit, NULL, 0},
    {"forged-answers", 3, sc_forged_answers, NULL, 0},
    {"rogue-mix", 5, sc_rogue_mix, NULL, 0},
    {"snapshot-catchup-partition", 5, sc_snapshot_catchup_partition, NULL, 0},
    {"snapshot-crashed-follower", 3, sc_snapshot_crashed_follower, NULL, 0},
    {"snapshot-race", 5, sc_snapshot_race, NULL, 0},
    {"snapshot-keeps-tail", 3, sc_snapshot_keeps_tail, opts_wide_pipeline, 0},
    {"snapshot-lost", 3, sc_snapshot_lost, NULL, 0},
    {"snapshot-restart", 3, sc_snapshot_restart, NULL, 0},
    {"snapshot-random", 5, sc_snapshot_random, opts_snap_random, 0},
    {"forged-snapshot", 5, sc_forged_snapshot, NULL, 0},
    {"member-busy", 5, sc_member_busy, opts_three_voters, 200},
    {"member-grow", 5, sc_member_grow, opts_three_voters, 200},
    {"member-shrink", 5, sc_member_shrink, NULL, 200},
    {"member-churn", 5, sc_member_churn, opts_churn, 200},
    {"member-learner-quorum", 5, sc_member_learner_quorum, opts_three_voters,
     100},
    {"member-transfer", 5, sc_member_transfer, NULL, 200},
};

/* One run of scenario s with seed sd; returns whether it passed.  With
 * `quiet`, only a failure is printed (the caller sums up the runs). */
static bool run_one(const struct scenario *s, uint64_t sd, bool verbose,
		    bool quiet, struct world_totals *t)
{
	struct world_opts o;
	struct world *w;
	bool ok;

	world_default_opts(&o, s->name, sd, s->n_nodes);
	if (s->tune != NULL)
		s->tune(&o);
	o.verbose = verbose;
	w = calloc(1, sizeof(*w));
	if (w == NULL || world_init(w, &o) != 0) {
		printf("sim: FAIL [%s]: cannot build the world\n", s->name);
		free(w);
		t->failures++;
		return false;
	}
	note[0] = '\0';
	if (!w->failed)
		s->run(w);
	/* Whatever the scenario left behind, healing must bring liveness
	 * and every end-of-run check must hold. */
	if (!w->failed)
		world_settle(w, 20000);
	t->scenarios++;
	world_add_totals(t, w);
	ok = !w->failed;
	if (!ok)
		printf("sim: FAIL %-26s replay: SIM_SCENARIO=%s SEED=%llu "
		       "SIM_VERBOSE=1 tests/sim/sim\n",
		       s->name, s->name, (unsigned long long)sd);
	else if (!quiet)
		printf("sim: ok   %-26s %8llu steps %7llu msgs %9llu checks "
		       "%6.1f s%s%s\n",
		       s->name, (unsigned long long)w->steps,
		       (unsigned long long)w->msgs_sent,
		       (unsigned long long)w->checks, w->now / 1000.0,
		       note[0] ? "  " : "", note);
	fflush(stdout);
	world_free(w);
	free(w);
	return ok;
}

int scenarios_run(const char *only, uint64_t seed, uint64_t n_seeds,
		  bool verbose, struct world_totals *t)
{
	size_t k;
	int failed = 0, ran = 0;

	for (k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++) {
		const struct scenario *s = &scenarios[k];
		/* SIM_SCENARIO_SEEDS, else one run for a replay (SEED),
		 * else the scenario's own count. */
		uint64_t runs = n_seeds	   ? n_seeds
				: seed	   ? 1
				: s->seeds ? s->seeds
					   : 1;
		uint64_t j, nfail = 0;
		struct world_totals before = *t;

		if (only && fnmatch(only, s->name, 0) != 0)
			continue;
		ran++;
		for (j = 0; j < runs; j++) {
			uint64_t sd =
			    seed ? seed + j : 1000 + 7919 * (uint64_t)k + j;
			if (!run_one(s, sd, verbose, runs > 1 && s->seeds > 1,
				     t))
				nfail++;
		}
		failed += (int)nfail;
		if (runs > 1 && s->seeds > 1)
			printf("sim: %s %-26s %llu seeds, %llu failed, %llu "
			       "steps, %llu checks; %llu changes committed, "
			       "%llu promotions, %llu transfers (%llu won), "
			       "%llu refused busy\n",
			       nfail ? "FAIL" : "ok  ", s->name,
			       (unsigned long long)runs,
			       (unsigned long long)nfail,
			       (unsigned long long)(t->steps - before.steps),
			       (unsigned long long)(t->checks - before.checks),
			       (unsigned long long)(t->conf_committed -
						    before.conf_committed),
			       (unsigned long long)(t->promotions -
						    before.promotions),
			       (unsigned long long)(t->transfers -
						    before.transfers),
			       (unsigned long long)(t->transfers_won -
						    before.transfers_won),
			       (unsigned long long)(t->busy - before.busy));
	}
	return ran == 0 ? -1 : failed;
}
