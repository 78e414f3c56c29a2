/* scenarios.c: scripted scenarios on the simulated cluster, after the Raft
 * paper, Ongaro's thesis, MIT 6.824's Raft tests and etcd-io/raft's
 * interaction tests.  Each scenario is one function over a fresh world;
 * the world checks the safety invariants after every step, the scenario
 * asserts what the situation it builds must lead to. */
#include "scenarios.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static void count_start(struct world *w, struct batch_count *b,
			uint32_t leader)
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
	uint32_t i, j, l, k, faulty;
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
		/* At most two nodes faulty: heal one when two are, else
		 * break one (cut it off or crash it). */
		faulty = 0;
		for (i = 1; i <= w->n; i++)
			if (!N(w, i)->up || N(w, i)->isolated)
				faulty |= BIT(i);
		if (__builtin_popcount(faulty) >= 2) {
			k = nth_in(w, faulty, 0,
				   (uint32_t)rng_below(&w->rng, 2));
			if (N(w, k)->up)
				world_isolate(w, k, false);
			else
				world_restart(w, k);
		} else {
			k = nth_in(w, w->all & ~faulty, 0,
				   (uint32_t)rng_below(
				       &w->rng, (uint64_t)__builtin_popcount(
						    w->all & ~faulty)));
			if (rng_below(&w->rng, 2))
				world_isolate(w, k, true);
			else
				world_crash(w, k);
		}
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

/* ---- the table ---------------------------------------------------------- */

static void opts_full_only(struct world_opts *o)
{
	o->pipeline_full_only = true;
	o->max_batch_entries = 16;
}

struct scenario {
	const char *name;
	uint32_t n_nodes;
	void (*run)(struct world *w);
	void (*tune)(struct world_opts *o); /* NULL: the defaults */
};

static const struct scenario scenarios[] = {
    {"first-election-3", 3, sc_first_election, NULL},
    {"first-election-5", 5, sc_first_election, NULL},
    {"reelection", 3, sc_reelection, NULL},
    {"old-leader-rejoins", 3, sc_old_leader_rejoins, NULL},
    {"no-quorum", 3, sc_no_quorum, NULL},
    {"many-elections-7", 7, sc_many_elections, NULL},
    {"disruptive-follower", 5, sc_disruptive_follower, NULL},
    {"leader-stepdown", 5, sc_leader_stepdown, NULL},
    {"figure8", 5, sc_figure8, NULL},
    {"stale-leader-catchup", 5, sc_stale_leader_catchup, NULL},
    {"crash-all", 5, sc_crash_all, NULL},
    {"crash-rolling", 5, sc_crash_rolling, NULL},
    {"lossy-churn", 5, sc_lossy_churn, NULL},
    {"read-after-leader-change", 5, sc_read_after_leader_change, NULL},
    {"bridge", 3, sc_bridge, NULL},
    {"single-node", 1, sc_single_node, NULL},
    {"batching", 3, sc_batching, NULL},
    {"leader-slow-disk", 3, sc_leader_slow_disk, NULL},
    {"dup-reorder", 3, sc_dup_reorder, NULL},
    {"catchup-under-reads", 5, sc_catchup_under_reads, NULL},
    {"pipeline-full-only", 3, sc_pipeline_full_only, opts_full_only},
    {"pipeline-reorder", 3, sc_pipeline_reorder, opts_full_only},
};

int scenarios_run(const char *only, uint64_t seed, bool verbose,
		  struct world_totals *t)
{
	size_t i;
	int failed = 0, ran = 0;

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		const struct scenario *s = &scenarios[i];
		struct world_opts o;
		struct world *w;
		uint64_t sd = seed ? seed : 1000 + 7919 * (uint64_t)i;

		if (only && strcmp(only, s->name) != 0)
			continue;
		ran++;
		world_default_opts(&o, s->name, sd, s->n_nodes);
		if (s->tune != NULL)
			s->tune(&o);
		o.verbose = verbose;
		w = calloc(1, sizeof(*w));
		if (w == NULL || world_init(w, &o) != 0) {
			printf("sim: FAIL [%s]: cannot build the world\n",
			       s->name);
			free(w);
			failed++;
			t->failures++;
			continue;
		}
		note[0] = '\0';
		if (!w->failed)
			s->run(w);
		/* Whatever the scenario left behind, healing must bring
		 * liveness and every end-of-run check must hold. */
		if (!w->failed)
			world_settle(w, 20000);
		t->scenarios++;
		world_add_totals(t, w);
		if (w->failed) {
			failed++;
			printf("sim: FAIL %-26s replay: SIM_SCENARIO=%s "
			       "SEED=%llu SIM_VERBOSE=1 tests/sim/sim\n",
			       s->name, s->name, (unsigned long long)sd);
		} else {
			printf("sim: ok   %-26s %8llu steps %7llu msgs %9llu "
			       "checks %6.1f s%s%s\n",
			       s->name, (unsigned long long)w->steps,
			       (unsigned long long)w->msgs_sent,
			       (unsigned long long)w->checks, w->now / 1000.0,
			       note[0] ? "  " : "", note);
		}
		fflush(stdout);
		world_free(w);
		free(w);
	}
	return ran == 0 ? -1 : failed;
}
