/* world.h: a deterministic simulated cluster for the pure Raft core: N
 * cores on one virtual clock, a network that drops, delays, duplicates,
 * reorders and partitions, per-node disks that lose unsynced writes on a
 * crash, and Raft's safety invariants checked after every step.
 *
 * Node ids are 1..n; sets of nodes are bit masks (bit i = node i). */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/raft.h"
#include "rng.h"

#define WORLD_MAX_NODES 9
#define WORLD_NONE UINT64_MAX /* "no time" for wake-ups and deadlines */

/* A directed link from -> to. */
struct world_link {
	bool up;
	uint32_t drop_ppm; /* per message, parts per million */
	uint32_t dup_ppm;
	uint32_t delay_min; /* ms, uniform in [min, max]: reordering */
	uint32_t delay_max;
};

/* A snapshot of a simulated state machine (§7): its state after applying
 * the entries 1..index, which is the chain hash of those entries (the
 * state machine hashes what it applies, so equal states mean equal
 * applied sequences), and the term of entry `index`.  index 0: none. */
struct snap_data {
	uint64_t index;
	uint64_t term;
	uint64_t chain;
	struct raft_conf conf; /* the configuration at index */
};

/* An entry as a disk holds it (owns buf).  `chain` hashes the entry and
 * every entry before it, so equal chains mean equal prefixes. */
struct disk_entry {
	uint64_t term;
	uint8_t type;
	uint32_t len;
	uint8_t *buf;
	uint64_t chain;
};

/* The writes one update asked for, durable together at `durable_at`. */
struct disk_batch {
	struct disk_batch *next;
	uint64_t seq;
	uint64_t durable_at;
	bool has_hs;
	uint64_t term;
	uint32_t vote;
	/* Installs this snapshot first (after the hard state): it becomes
	 * the latest, and the log starts after it (raft.h, step 2). */
	struct snap_data install;
	/* Compacts the stored log up to here (after a snapshot covering it
	 * was durable: compaction is the last step).  0: none. */
	uint64_t compact_to;
	uint64_t truncate_from;
	/* Highest index known committed when the core decided this write:
	 * a truncation may reach the disk after the cluster has committed
	 * the doomed entries elsewhere, which Raft allows. */
	uint64_t committed_then;
	uint64_t append_first;
	uint64_t n_append;
	struct disk_entry *entries; /* n_append, owned */
};

/* A node's disk: what is durable, and the writes still in the page cache
 * (lost, except maybe a prefix, when the node crashes). */
struct disk {
	uint64_t term;
	uint32_t vote;
	struct disk_entry *log; /* index i at log[i - 1] */
	uint64_t n;
	uint64_t cap;
	/* Entries up to `base` were compacted away: what a real disk would
	 * no longer hold (their payload is freed, buf NULL); their term and
	 * chain stay, as the harness's history.  base <= snap.index. */
	uint64_t base;
	/* The latest durable snapshot (a file apart from the log). */
	struct snap_data snap;
	struct disk_batch *head; /* not yet durable, oldest first */
	struct disk_batch *tail;
	uint64_t issued_seq;
	uint64_t durable_seq;
	uint32_t delay_min; /* persistence latency, ms */
	uint32_t delay_max;
};

/* The harness's image of one entry of a core's log: the whole history
 * 1..n, also below the core's first index (entries compacted or
 * installed from a snapshot, filled in from the committed sequence). */
struct shadow_entry {
	uint64_t term;
	uint64_t chain;
	uint64_t pid; /* proposal id carried in the payload, 0 for a no-op */
	uint8_t type;
};

/* A configuration as the harness keeps it (thesis chapter 4): members'
 * ids and flags (the simulation's addresses are all empty). */
struct sim_conf {
	uint32_t n;
	uint32_t id[RAFT_MAX_NODES];
	uint8_t flags[RAFT_MAX_NODES];
};

/* A configuration entry of a log and the configuration it holds. */
struct conf_mark {
	uint64_t index;
	struct sim_conf conf;
};

/* A message waiting for this node's disk before it may leave. */
struct held_msg {
	struct held_msg *next;
	uint64_t need_seq;
	struct raft_msg m;
};

struct node {
	uint32_t id;
	bool up;
	bool isolated; /* every link to and from it is cut */
	struct raft *r;
	uint64_t incarnation;
	uint64_t clock_offset; /* the node's clock = world clock + offset */
	uint64_t wake_at;      /* world time of the next tick, or WORLD_NONE */
	uint64_t paused_until; /* SIGSTOPped: processes nothing before then */

	/* What the updates reported: the core's log, hard state, commit. */
	struct shadow_entry *log; /* index i at log[i - 1] */
	uint64_t n;
	uint64_t cap;
	uint64_t first; /* the core's first index (raft_first_index) */
	uint64_t hs_term;
	uint32_t hs_vote;
	uint64_t commit;
	enum raft_role role;
	uint64_t term;
	uint32_t leader;

	/* The state machine: entries 1..applied applied in order; its state
	 * is the chain hash of what it applied (struct snap_data). */
	uint64_t applied;
	uint64_t sm_chain;
	/* A snapshot of the state machine being written (index 0: none),
	 * durable at snap_at; then raft_snapshot_taken() compacts up to
	 * snap_keep entries before its index. */
	struct snap_data snap_pending;
	uint64_t snap_at;
	uint64_t snap_keep;
	uint64_t installs;	/* snapshots installed, the log dropped */
	uint64_t installs_kept; /* ... the entries after it kept */
	/* A snapshot received from the leader, durable here, while its
	 * RAFT_MSG_SNAPSHOT is being delivered (raft.h): what an install in
	 * that update installs. */
	struct snap_data recv_snap;

	struct held_msg *held_head;
	struct held_msg *held_tail;
	struct disk disk;

	/* Membership (thesis chapter 4), as the updates described the log:
	 * the configuration in force before the log's first configuration
	 * entry (the bootstrap one, or an installed snapshot's), then every
	 * configuration entry of the shadow log, oldest first.  The latest
	 * is the one in force (§4.1: on append, committed or not; rolled
	 * back when its entry is truncated). */
	struct sim_conf conf_base;
	struct conf_mark *confs;
	size_t n_confs;
	size_t cap_confs;

	/* Proposals made here not yet known committed or lost (ids). */
	uint64_t *props;
	size_t n_props;
	size_t cap_props;
	/* Reads answered by the core, served once applied >= their index. */
	uint64_t *reads;
	size_t n_reads;
	size_t cap_reads;
};

enum prop_state {
	PROP_PENDING = 0,
	PROP_ACKED,   /* the proposer saw (index, term) committed */
	PROP_LOST,    /* the proposer saw another entry committed there */
	PROP_UNKNOWN, /* the proposer crashed first: may or may not commit */
};

struct proposal {
	uint64_t pid;
	uint32_t node;
	uint64_t index;
	uint64_t term;
	enum prop_state state;
	uint64_t at;
	uint64_t done_at;
};

enum read_state {
	READ_PENDING = 0,
	READ_ANSWERED, /* the core gave an index; waiting for apply */
	READ_SERVED,
	READ_FAILED,
	READ_LOST, /* the node crashed */
};

struct read_req {
	uint64_t rid;
	uint32_t node;
	uint64_t need; /* highest index known committed anywhere at the call */
	uint64_t index;
	enum read_state state;
	uint64_t at;
	uint64_t done_at;
};

/* What the world remembers of a committed index (for State Machine
 * Safety and Leader Completeness). */
struct committed {
	uint64_t chain;
	uint64_t term;
	uint64_t pid;
	uint8_t type;
	uint64_t seen_term; /* term of the first node seen to commit it */
};

/* A message on the wire.  A snapshot request carries the snapshot's data
 * (the sender's latest durable one, which the message then names).  A
 * notice is no message: the sender's transport telling it that its
 * snapshot to m.to failed (raft_snapshot_failed), if it still runs the
 * incarnation that sent it. */
struct flight {
	uint64_t at;
	uint64_t seq;
	struct raft_msg m;
	struct snap_data snap;
	bool notice;
	uint64_t incarnation;
};

/* (index, term) -> chain, for Log Matching across every log ever seen. */
struct itmap_slot {
	uint64_t index; /* 0: empty */
	uint64_t term;
	uint64_t chain;
};

struct world_opts {
	const char *name; /* for failure messages */
	uint64_t seed;
	uint32_t n_nodes; /* 1..WORLD_MAX_NODES */
	/* The bootstrap configuration: nodes 1..n_voters, all voters; the
	 * others start outside it and wait to be added (raft_config.nodes
	 * without themselves).  0: every node. */
	uint32_t n_voters;
	/* Core settings; the world fills in id, nodes and seed. */
	uint32_t election_min_ms;
	uint32_t election_max_ms;
	uint32_t heartbeat_ms;
	uint32_t max_batch_entries;
	uint32_t max_batch_bytes;
	uint32_t max_inflight;
	bool pipeline_full_only;
	bool prevote;
	bool check_quorum;
	/* Default link and disk behaviour. */
	uint32_t delay_min;
	uint32_t delay_max;
	uint32_t persist_min;
	uint32_t persist_max;
	uint32_t payload_min; /* bytes per proposal, at least 8 */
	uint32_t payload_max;
	uint32_t tick_jitter; /* ticks come up to this many ms late */
	bool random_clocks;   /* give every node a different clock origin */
	/* Chance that a crash keeps part of the unsynced writes. */
	uint32_t crash_keep_ppm;
	/* Snapshots (world_snapshot): how long writing one takes (a file
	 * apart from the log, so not ordered with the log's writes), how
	 * long a transfer takes on top of the link's delay, and the chance
	 * that a transfer fails (the sender learns of it) or is lost
	 * silently.  A transfer the link drops is noticed half the time. */
	uint32_t snap_persist_min;
	uint32_t snap_persist_max;
	uint32_t snap_xfer_min;
	uint32_t snap_xfer_max;
	uint32_t snap_fail_ppm;
	uint32_t snap_lose_ppm;
	bool verbose;
	FILE *trace_out; /* where verbose output goes; NULL: stdout */
};

struct world {
	struct world_opts o;
	struct raft_config cfg;
	struct rng rng;
	uint64_t now;
	uint32_t n;
	uint32_t all;				/* mask of every node */
	struct node nodes[WORLD_MAX_NODES + 1]; /* [1..n] */
	struct world_link links[WORLD_MAX_NODES + 1][WORLD_MAX_NODES + 1];

	struct flight **heap; /* messages on the wire, by (at, seq) */
	size_t n_heap;
	size_t cap_heap;
	uint64_t flight_seq;

	bool failed;
	char why[1024];

	/* Counters. */
	uint64_t steps;
	uint64_t checks;
	uint64_t msgs_sent;
	uint64_t msgs_delivered;
	uint64_t msgs_dropped;
	uint64_t elections;	 /* distinct (term, leader) pairs seen */
	uint64_t leader_commits; /* commit advances made by a leader counting */
	uint64_t crashes;
	uint64_t snapshots;	 /* made durable by world_snapshot */
	uint64_t compactions;	 /* raft_snapshot_taken that dropped entries */
	uint64_t installs;	 /* snapshots installed, the log dropped */
	uint64_t installs_kept;	 /* ... the entries after it kept */
	uint64_t snap_resets;	 /* restarts whose log missed the snapshot */
	uint64_t snap_notices;	 /* raft_snapshot_failed calls */
	uint64_t snap_transfers; /* snapshot requests put on the wire */
	uint64_t same_time_steps;
	uint64_t last_step_at;
	uint64_t steps_since_deep;
	/* Membership: configurations proposed (raft_propose_conf accepted),
	 * configuration entries committed (the world's committed sequence),
	 * learners promoted by their leader, transfers started, leaders
	 * elected in a transfer's target, and RAFT_EBUSY refusals seen. */
	uint64_t conf_proposed;
	uint64_t conf_committed;
	uint64_t promotions;
	uint64_t transfers;
	uint64_t transfers_won;
	uint64_t busy;
	/* The transfer under way (world_transfer): its target and the term
	 * it was started in (0: none). */
	uint32_t xfer_to;
	uint64_t xfer_term;
	/* The configuration at the highest committed index (the bootstrap
	 * one until a configuration entry commits). */
	struct sim_conf conf;
	/* The sender of the message being handled in this step (0: the step
	 * is no delivery): answers go back to it, member or not. */
	uint32_t step_from;

	/* History for the invariants. */
	uint32_t *term_leader; /* [term] = the leader of that term, 0 none */
	uint64_t cap_term_leader;
	struct itmap_slot *itmap;
	uint64_t itmap_cap;
	uint64_t itmap_n;
	struct committed *committed; /* [index - 1], 1..n_committed */
	uint64_t n_committed;
	uint64_t cap_committed;

	struct proposal *props; /* [pid - 1] */
	uint64_t n_props;
	uint64_t cap_props;
	struct read_req *reads; /* [rid - 1] */
	uint64_t n_reads;
	uint64_t cap_reads;

	/* Sees every message a core emits (before the network does). */
	void (*on_send)(struct world *w, const struct raft_msg *m, void *arg);
	void *on_send_arg;
	/* Called after every step of the event loop (world_inject's steps
	 * excepted): a rogue peer (rogue.h) acts here. */
	void (*on_step)(struct world *w, void *arg);
	void *on_step_arg;
	/* Forged messages handed to cores by world_inject. */
	uint64_t injected;
};

/* What a whole test run adds up, for the summary line. */
struct world_totals {
	uint64_t scenarios;
	uint64_t seeds;
	uint64_t steps;
	uint64_t msgs;
	uint64_t checks;
	uint64_t injected;
	uint64_t failures;
	/* Snapshots (§7): taken, compactions, installs, restarts that
	 * dropped a log missing the snapshot, transfers, failure notices. */
	uint64_t snapshots;
	uint64_t compactions;
	uint64_t installs;
	uint64_t snap_resets;
	uint64_t snap_transfers;
	uint64_t snap_notices;
	/* Membership (world.h, struct world). */
	uint64_t conf_proposed;
	uint64_t conf_committed;
	uint64_t promotions;
	uint64_t transfers;
	uint64_t transfers_won;
	uint64_t busy;
};

/* Adds w's counters (and its failure, if any) to *t. */
void world_add_totals(struct world_totals *t, const struct world *w);

/* Default options: the brief's configuration (election 150-300 ms,
 * heartbeat 50 ms, PreVote and CheckQuorum on, batches of 64 entries or
 * 64 KiB, 4 in flight), 1-10 ms links, 0-2 ms disks. */
void world_default_opts(struct world_opts *o, const char *name, uint64_t seed,
			uint32_t n_nodes);
/* Builds the world and starts every node.  Returns 0 or -1 (bad opts). */
int world_init(struct world *w, const struct world_opts *o);
void world_free(struct world *w);

/* Records the first failure (printed with the seed); later steps stop. */
void world_fail(struct world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Running.  All stop early once the world has failed. */
void world_run_for(struct world *w, uint64_t ms);
/* Steps until pred is true (checked after every step) or max_ms pass.
 * Returns whether pred became true. */
bool world_run_until(struct world *w, uint64_t max_ms,
		     bool (*pred)(struct world *w, void *arg), void *arg);

/* Leaders.  `mask` restricts the nodes considered. */
uint32_t world_count_leaders(struct world *w, uint32_t mask);
/* The up node in mask that is leader with the highest term, 0 if none. */
uint32_t world_leader(struct world *w, uint32_t mask);
/* A leader in mask that every up node in mask follows in its term. */
uint32_t world_settled_leader(struct world *w, uint32_t mask);
uint32_t world_wait_leader(struct world *w, uint32_t mask, uint64_t max_ms);

/* Clients.  world_propose returns the core's code; on success *pid names
 * the proposal (w->props[*pid - 1]). */
int world_propose(struct world *w, uint32_t id, uint64_t *pid);
bool world_wait_prop(struct world *w, uint64_t pid, uint64_t max_ms);
int world_read(struct world *w, uint32_t id, uint64_t *rid);
bool world_wait_applied(struct world *w, uint32_t mask, uint64_t index,
			uint64_t max_ms);

/* Membership (thesis chapter 4).  world_set_member asks leader `leader`
 * (raft_propose_conf) for its configuration with member `id` given
 * `flags` (RAFT_MEMBER_*: 0 a learner, RAFT_MEMBER_PROMOTE a learner to
 * promote once caught up, RAFT_MEMBER_VOTER a voter; added if absent), or
 * removed when `remove`.  Returns the core's code (checked: RAFT_EBUSY
 * only while a change is uncommitted, before the leader committed in its
 * term, or during a transfer); on success *index names the entry.
 * world_transfer calls raft_transfer(leader, to). */
int world_set_member(struct world *w, uint32_t leader, uint32_t id,
		     uint8_t flags, bool remove, uint64_t *index);
int world_transfer(struct world *w, uint32_t leader, uint32_t to);
/* The members (mask) of w->conf, the committed configuration, and its
 * voters. */
uint32_t world_members(const struct world *w);
uint32_t world_voters(const struct world *w);
/* The configuration in force on node id (its latest in the log). */
const struct sim_conf *world_node_conf(const struct world *w, uint32_t id);
bool sim_conf_is_voter(const struct sim_conf *c, uint32_t id);
bool sim_conf_has(const struct sim_conf *c, uint32_t id);

/* Faults. */
void world_isolate(struct world *w, uint32_t id, bool isolated);
void world_set_link(struct world *w, uint32_t from, uint32_t to, bool up);
/* Cuts every link between `side` and the rest, both directions. */
void world_partition(struct world *w, uint32_t side);
void world_set_loss(struct world *w, uint32_t from, uint32_t to, uint32_t ppm);
void world_set_dup(struct world *w, uint32_t from, uint32_t to, uint32_t ppm);
void world_set_delay(struct world *w, uint32_t from, uint32_t to,
		     uint32_t min_ms, uint32_t max_ms);
void world_set_persist_delay(struct world *w, uint32_t id, uint32_t min_ms,
			     uint32_t max_ms);
/* Every link up, no loss or duplication, default delays. */
void world_heal(struct world *w);
/* The process stops (SIGSTOP) for ms: messages, timers and finished
 * writes wait for it; clients calling it get RAFT_ESHUTDOWN. */
void world_pause(struct world *w, uint32_t id, uint64_t ms);
void world_crash(struct world *w, uint32_t id);
void world_restart(struct world *w, uint32_t id);
/* Node id's state machine starts writing a snapshot of what it applied
 * (durable after snap_persist_min..max ms, unless it crashes first);
 * then raft_snapshot_taken() is called with up to `keep` entries kept
 * before the snapshot's index, and the stored log is compacted behind
 * the writes already queued.  Returns 0, or -1 if there is nothing to do
 * (down, paused, nothing applied since its latest snapshot, one being
 * written). */
int world_snapshot(struct world *w, uint32_t id, uint64_t keep);
/* An extra raft_tick() at an arbitrary moment (must be harmless). */
void world_tick(struct world *w, uint32_t id);
/* A forged message: hands m to node `to` now, as if it had just arrived
 * from m->from, past every link and whatever m says (m->to need not be
 * `to`; the sender need never have sent it).  One step: the core's
 * update is carried out and checked like any other (answers go out on
 * the network as usual).  Returns raft_recv's result, or RAFT_ESHUTDOWN
 * when the node is down or paused.  m is only read. */
int world_inject(struct world *w, uint32_t to, const struct raft_msg *m);
uint32_t world_up_mask(struct world *w);

/* Liveness: heal everything, restart crashed nodes, then require within
 * max_ms a leader, a committed barrier entry and every node applying the
 * same sequence.  Then the end-of-run checks (world_final_check). */
bool world_settle(struct world *w, uint64_t max_ms);
/* Every acknowledged proposal applied exactly once everywhere, lost ones
 * never, every read resolved; the full invariant sweep. */
void world_final_check(struct world *w);
/* The O(log size) invariant sweep the per-step checks approximate. */
void world_deep_check(struct world *w);

/* Highest index any node has reported committed. */
static inline uint64_t world_commit_max(const struct world *w)
{
	return w->n_committed;
}

static inline struct node *world_node(struct world *w, uint32_t id)
{
	return &w->nodes[id];
}

#endif /* SIM_WORLD_H */
