/* fuzz.c: seeded random runs.  A seed chooses a cluster size, a core
 * configuration and network/disk behaviour, then drives the world through
 * a random schedule of partitions (symmetric and one-way), loss,
 * duplication, delays, crashes, restarts, slow disks, spurious ticks,
 * proposals and reads.  In a share of the seeds the nodes also take
 * snapshots at random moments and compact their logs (§7), and snapshot
 * transfers are slow, fail or get lost.  Then everything is healed and
 * the cluster must elect a leader, commit, and converge (world_settle).
 * Everything is drawn from the seed, so SEED=n replays a run exactly.
 * With a rogue (`sim --rogue`), a member also forges a message after
 * every step (rogue.h). */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>

#include "rogue.h"

#define BIT(id) (1u << (id))

/* The share of the seeds that take snapshots. */
#define SNAP_SEEDS_PERCENT 40

static uint32_t pick(struct rng *g, const uint32_t *v, size_t n)
{
	return v[rng_below(g, n)];
}

#define PICK(g, ...)                                                           \
	pick((g), (const uint32_t[]){__VA_ARGS__},                             \
	     sizeof((const uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t))

static void choose_opts(struct rng *g, struct world_opts *o, uint64_t seed)
{
	uint32_t lat;

	world_default_opts(o, "fuzz", seed, PICK(g, 3, 5, 5, 7));
	o->election_min_ms = PICK(g, 100, 150, 150, 300);
	o->election_max_ms = o->election_min_ms * PICK(g, 2, 2, 3);
	o->heartbeat_ms = o->election_min_ms / PICK(g, 3, 3, 5, 10);
	o->max_batch_entries = PICK(g, 1, 4, 64, 64);
	o->max_batch_bytes = PICK(g, 100, 4096, 65536, 65536);
	o->max_inflight = PICK(g, 1, 2, 4, 4, 16);
	o->pipeline_full_only = rng_below(g, 2) != 0;
	/* Mostly the production setting, sometimes without either
	 * protection: safety must not depend on them. */
	o->prevote = rng_below(g, 10) != 0;
	o->check_quorum = rng_below(g, 10) != 0;
	lat = PICK(g, 0, 1, 2);
	o->delay_min = (uint32_t[]){0, 1, 5}[lat];
	o->delay_max = (uint32_t[]){2, 10, 40}[lat];
	lat = PICK(g, 0, 1, 2);
	o->persist_min = (uint32_t[]){0, 0, 1}[lat];
	o->persist_max = (uint32_t[]){0, 3, 20}[lat];
	o->payload_min = 8;
	o->payload_max = PICK(g, 16, 64, 300);
	o->tick_jitter = PICK(g, 0, 0, 5, 30);
	o->random_clocks = true;
	o->crash_keep_ppm = 300000;
}

/* How many nodes are down or cut off. */
static uint32_t faulty(struct world *w)
{
	uint32_t i, n = 0;

	for (i = 1; i <= w->n; i++)
		n += !w->nodes[i].up || w->nodes[i].isolated;
	return n;
}

static uint32_t random_node(struct world *w, struct rng *g)
{
	return 1 + (uint32_t)rng_below(g, w->n);
}

static void all_links(struct world *w, uint32_t what, uint32_t a, uint32_t b)
{
	uint32_t i, j;

	for (i = 1; i <= w->n; i++)
		for (j = 1; j <= w->n; j++) {
			if (i == j)
				continue;
			if (what == 0)
				world_set_loss(w, i, j, a);
			else if (what == 1)
				world_set_dup(w, i, j, a);
			else
				world_set_delay(w, i, j, a, b);
		}
}

/* One random action of the schedule. */
static void act(struct world *w, struct rng *g)
{
	uint32_t r = (uint32_t)rng_below(g, 1000), i, k;
	/* Faults beyond a minority only now and then, so that most of the
	 * time the cluster can make progress worth checking. */
	bool may_fault = faulty(w) < (w->n - 1) / 2 || rng_below(g, 5) == 0;

	if (r < 350) {
		for (i = 1; i <= w->n; i++)
			if (w->nodes[i].up && w->nodes[i].role == RAFT_LEADER &&
			    rng_below(g, 2) == 0)
				world_propose(w, i, NULL);
	} else if (r < 390) {
		k = world_leader(w, world_up_mask(w));
		if (k)
			world_read(w, k, NULL);
	} else if (r < 400) {
		/* A client that picked any node: followers must refuse. */
		k = random_node(w, g);
		if (rng_below(g, 2))
			world_propose(w, k, NULL);
		else
			world_read(w, k, NULL);
	} else if (r < 430) {
		if (may_fault)
			world_isolate(w, random_node(w, g), true);
	} else if (r < 460) {
		world_isolate(w, random_node(w, g), false);
	} else if (r < 480) {
		if (may_fault)
			world_partition(w, (uint32_t)rng_below(g, w->all + 1) &
					       w->all);
	} else if (r < 520) {
		/* One-way: from hears nothing from to, or the reverse. */
		world_set_link(w, random_node(w, g), random_node(w, g), false);
	} else if (r < 550) {
		world_set_link(w, random_node(w, g), random_node(w, g), true);
	} else if (r < 570) {
		world_heal(w);
	} else if (r < 595) {
		all_links(w, 0, PICK(g, 0, 0, 50000, 200000), 0);
	} else if (r < 610) {
		world_set_loss(w, random_node(w, g), random_node(w, g),
			       PICK(g, 0, 500000, 1000000));
	} else if (r < 630) {
		k = PICK(g, 0, 5, 30);
		all_links(w, 2, k, k + PICK(g, 2, 20, 100));
	} else if (r < 645) {
		all_links(w, 1, PICK(g, 0, 0, 50000, 300000), 0);
	} else if (r < 675) {
		if (may_fault)
			world_crash(w, random_node(w, g));
	} else if (r < 725) {
		world_restart(w, random_node(w, g));
	} else if (r < 745) {
		k = PICK(g, 0, 2, 20, 200);
		world_set_persist_delay(w, random_node(w, g), k / 2, k);
	} else if (r < 795) {
		world_tick(w, random_node(w, g));
	} else if (r < 810) {
		/* SIGSTOP, sometimes past the election timeout. */
		world_pause(w, random_node(w, g),
			    rng_range(g, 1, 3 * w->cfg.election_max_ms));
	}
	/* else: just let time pass */
}

/* Snapshots (a share of the seeds): how often, and how slow, lossy and
 * failing their transfers are.  Drawn from a stream of their own, so that
 * a seed's schedule is the same with and without them. */
struct snap_plan {
	bool on;
	uint32_t per_mille; /* chance per action of a snapshot somewhere */
};

static void choose_snapshots(struct rng *sg, struct world_opts *o,
			     struct snap_plan *sp)
{
	sp->on = rng_below(sg, 100) < SNAP_SEEDS_PERCENT;
	if (!sp->on)
		return;
	sp->per_mille = PICK(sg, 20, 50, 100, 300);
	o->snap_persist_min = PICK(sg, 0, 0, 2, 10);
	o->snap_persist_max = o->snap_persist_min + PICK(sg, 0, 5, 30, 200);
	o->snap_xfer_min = PICK(sg, 0, 0, 5, 50);
	o->snap_xfer_max = o->snap_xfer_min + PICK(sg, 0, 10, 100, 500);
	o->snap_fail_ppm = PICK(sg, 0, 0, 50000, 300000);
	o->snap_lose_ppm = PICK(sg, 0, 0, 20000, 200000);
}

/* A random node snapshots what it applied, keeping a random window of
 * entries before the snapshot's index (often none). */
static void snapshot_act(struct world *w, struct rng *sg)
{
	uint32_t id = 1 + (uint32_t)rng_below(sg, w->n);
	uint64_t keep = PICK(sg, 0, 0, 1, 5, 50);

	(void)world_snapshot(w, id, keep);
}

int fuzz_run(uint64_t seed, bool rogue, bool verbose, struct world_totals *t)
{
	struct world_opts o;
	struct world *w = NULL;
	struct rogue rg;
	struct rng g, sg;
	struct snap_plan sp;
	uint64_t chaos_end;
	int rv = -1;

	/* The schedule's own stream, apart from the world's (which the
	 * network and disks draw from). */
	rng_seed(&g, seed ^ 0x5EED5EED5EED5EEDULL);
	choose_opts(&g, &o, seed);
	rng_seed(&sg, seed ^ 0x5A95407A5A95407AULL);
	choose_snapshots(&sg, &o, &sp);
	o.verbose = verbose;
	w = calloc(1, sizeof(*w));
	if (w == NULL || world_init(w, &o) != 0) {
		printf("sim: FAIL [fuzz] SEED=%llu: cannot build the world\n",
		       (unsigned long long)seed);
		t->failures++;
		goto out;
	}
	if (verbose)
		printf("sim: seed %llu: %u nodes, election %u-%u ms, heartbeat "
		       "%u ms, batch %u/%u B, inflight %u%s, prevote %d, "
		       "check_quorum %d, delay %u-%u, disk %u-%u\n",
		       (unsigned long long)seed, o.n_nodes, o.election_min_ms,
		       o.election_max_ms, o.heartbeat_ms, o.max_batch_entries,
		       o.max_batch_bytes, o.max_inflight,
		       o.pipeline_full_only ? " (full batches)" : "", o.prevote,
		       o.check_quorum, o.delay_min, o.delay_max, o.persist_min,
		       o.persist_max);
	if (verbose && sp.on)
		printf("sim: seed %llu: snapshots %u/1000 actions, written in "
		       "%u-%u ms, transfers %u-%u ms more, %u ppm failed, %u "
		       "ppm lost\n",
		       (unsigned long long)seed, sp.per_mille,
		       o.snap_persist_min, o.snap_persist_max, o.snap_xfer_min,
		       o.snap_xfer_max, o.snap_fail_ppm, o.snap_lose_ppm);
	/* The rogue draws from its own stream: the schedule above stays
	 * what the seed says (the world's own stream does not: forged
	 * messages make cores redraw their timer jitter). */
	if (rogue)
		rogue_attach(w, &rg, seed, 1000000);
	chaos_end = w->now + rng_range(&g, 4000, 15000);
	while (!w->failed && w->now < chaos_end) {
		world_run_for(w, rng_range(&g, 1, 30));
		act(w, &g);
		if (sp.on && rng_below(&sg, 1000) < sp.per_mille)
			snapshot_act(w, &sg);
	}
	if (!w->failed)
		world_settle(w, 30000);
	if (rogue) {
		rogue_detach(w);
		if (verbose)
			printf("sim: seed %llu: rogue sent %llu (%llu refused, "
			       "%llu dropped, %llu ignored)\n",
			       (unsigned long long)seed,
			       (unsigned long long)rogue_total(&rg),
			       (unsigned long long)rg.refused,
			       (unsigned long long)rg.dropped,
			       (unsigned long long)rg.ignored);
	}
	t->seeds++;
	world_add_totals(t, w);
	if (!w->failed)
		rv = 0;
	else
		printf("sim: FAIL seed %llu%s; replay: SEED=%llu SIM_VERBOSE=1 "
		       "tests/sim/sim%s\n",
		       (unsigned long long)seed, rogue ? " (rogue)" : "",
		       (unsigned long long)seed, rogue ? " --rogue" : "");
out:
	if (w) {
		world_free(w);
		free(w);
	}
	return rv;
}
