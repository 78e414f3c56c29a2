/* raft.h: the pure Raft consensus core (events in, an update out).
 *
 * The core never reads a clock, calls rand(), touches a file or socket,
 * creates a thread or takes a lock.  The caller (the daemon's shell, or the
 * simulation tests) feeds it events:
 *
 *   raft_tick()       time has passed (the caller's monotonic clock, in ms)
 *   raft_recv()       a message arrived from a peer
 *   raft_persisted()  entries up to (index, term) are durable on local disk
 *   raft_propose()    a client wants an entry appended (leader only)
 *   raft_read()       a client wants a linearizable read (ReadIndex, §6.4 of
 *                     Ongaro's thesis)
 *   raft_snapshot_failed()  a snapshot it asked to send did not get there
 *
 * (raft_snapshot_taken(), the caller's news of a snapshot of its own, is
 * not an event: it changes the log, never asks for anything.)
 * and after every event takes what to do out of `struct raft_update`
 * (raft_update_take).  The caller must act on an update in this order:
 *
 *   1. if `hs_changed`, durably write (term, vote);
 *   2. if `snapshot_index`, install that snapshot (§7): make it the latest
 *      and make the stored log start after it (see the field); then if
 *      `truncate_from`, durably drop log entries with index >= it;
 *      then durably append the `n_append` entries starting at `append_first`
 *      (read them with raft_entry_at() before the next event);
 *   3. send `msgs`.  A message may leave the node only once the hard state
 *      and every log change of this update and of all earlier updates is
 *      durable, EXCEPT append requests of a leader, which may be sent
 *      before the leader's own write completes (thesis §10.2.1): the leader
 *      counts itself towards a commit only for entries reported through
 *      raft_persisted();
 *   4. apply entries up to `commit_index` to the state machine (after an
 *      install, from the snapshot's state on);
 *   5. answer `reads` (a read may be served once the state machine has
 *      applied up to its index) and fail `reads_failed`;
 *   6. call raft_tick() again no later than `wake_at`.
 *
 * Snapshots and log compaction (§7): the core holds a snapshot's metadata
 * only (its last index and term); the caller keeps the data, moves it to
 * followers and says when one is durable (raft_load_snapshot,
 * raft_snapshot_taken, RAFT_MSG_SNAPSHOT).
 *
 * Membership (thesis chapter 4): the configuration is a log entry
 * (RAFT_ENTRY_CONFIG, encoded by raft_conf_encode), in effect as soon as it
 * is in a node's log, committed or not (§4.1), and rolled back if the
 * entry is truncated.  Changes are single-server changes (§4.1): each
 * configuration differs from the one before in one member only (added,
 * removed, or its vote given or taken away), so any majority of the old
 * voters and any majority of the new ones overlap, and no joint
 * configuration (§4.3) is needed.  A leader proposes a change only once
 * the previous configuration is committed and an entry of its own term is
 * committed (the fix Ongaro posted to raft-dev in 2015 for single-server
 * changes across leader changes).  Members are voters or learners; a
 * learner receives the log but is counted in no quorum and never
 * campaigns; a learner added with RAFT_MEMBER_PROMOTE is made a voter by
 * the leader itself once it has caught up (§4.2.1).  A leader removed from
 * the configuration hands over (a transfer) once that is committed, and
 * steps down (§4.2.2).  The configuration
 * in force at the log's offset comes from the bootstrap list
 * (raft_config.nodes) or from a snapshot (raft_load_snapshot, the install
 * message), which carries its configuration.
 *
 * Leadership transfer (thesis §3.10): raft_transfer() makes the leader
 * stop taking proposals, bring the target up to date and send it
 * RAFT_MSG_TIMEOUT_NOW, upon which the target campaigns at once with a
 * vote request that voters grant even while they hear from a leader.
 */
#ifndef RAFT_CORE_RAFT_H
#define RAFT_CORE_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAFT_MAX_NODES 15
#define RAFT_MAX_INFLIGHT 64

/* Error codes returned by the core's functions (0 on success). */
enum {
	RAFT_OK = 0,
	RAFT_ENOTLEADER = -1, /* proposal or read on a non-leader */
	RAFT_EINVAL = -2,     /* bad argument or message */
	RAFT_ENOMEM = -3,
	RAFT_ETOOBIG = -4, /* entry over RAFT_MAX_ENTRY_BYTES */
	RAFT_ESHUTDOWN = -5,
	RAFT_EBUSY = -6,     /* a configuration change or transfer is under way,
			      * or this leader has not committed an entry of
			      * its term yet */
	RAFT_ENOCHANGE = -7, /* the configuration asked for is the current
			      * one */
};

/* Members' addresses are the shell's, carried opaquely in configuration
 * entries (at most this many bytes each, no NUL). */
#define RAFT_ADDRESS_MAX 280u

enum {
	RAFT_MEMBER_VOTER = 0x01,   /* counted in quorums, may campaign */
	RAFT_MEMBER_PROMOTE = 0x02, /* a learner to be made a voter by the
				     * leader once it has caught up */
};

struct raft_member {
	uint32_t id;
	uint8_t flags; /* RAFT_MEMBER_* */
	/* The shell's identity of the member's data (0: not recorded, as
	 * for the bootstrap configuration); opaque to the core. */
	uint64_t incarnation;
	/* The client address and the peer address, as the shell wants them
	 * ("" when the shell knows them from elsewhere, e.g. the bootstrap
	 * configuration of its config file). */
	char address[RAFT_ADDRESS_MAX + 1];
	char peer_address[RAFT_ADDRESS_MAX + 1];
};

/* A configuration: members in id order, ids unique and non-zero, at
 * least one voter. */
struct raft_conf {
	uint32_t n;
	struct raft_member m[RAFT_MAX_NODES];
};

/* A caught-up learner with RAFT_MEMBER_PROMOTE is one whose match index
 * reached the leader's commit index. */

#define RAFT_MAX_ENTRY_BYTES (1024u * 1024u)

/* Bounds on what a message may carry.  Terms and indexes stay below 2^62
 * so that term + 1, index + n and their signed 64-bit wire form never
 * overflow; a message past them is refused whole (and nothing reaches the
 * core that could overflow its arithmetic).  A term may jump ahead of
 * ours by at most RAFT_MAX_TERM_JUMP in one message: elections add 1 at a
 * time, so no correct peer comes near it, and it keeps one forged message
 * from pinning every node at the top term (where no election can be
 * held). */
#define RAFT_MAX_TERM ((UINT64_C(1) << 62) - 1)
#define RAFT_MAX_INDEX ((UINT64_C(1) << 62) - 1)
#define RAFT_MAX_TERM_JUMP (UINT64_C(1) << 32)
/* Entries one AppendEntries may carry (the shell batches at most 1,000). */
#define RAFT_MAX_MSG_ENTRIES 100000u
/* A leader that sent a snapshot and heard no answer (and no
 * raft_snapshot_failed()) for this many maximal election timeouts sends
 * it again.  A caller whose transfers may take longer keeps the one in
 * progress when asked again for the same follower. */
#define RAFT_SNAPSHOT_TIMEOUT_ELECTIONS 5u

enum raft_role {
	RAFT_FOLLOWER = 0,
	RAFT_PRECANDIDATE, /* PreVote (thesis §9.6): term not yet bumped */
	RAFT_CANDIDATE,
	RAFT_LEADER,
};

enum raft_entry_type {
	RAFT_ENTRY_NOOP = 0, /* appended by a new leader (§8 of the paper) */
	RAFT_ENTRY_COMMAND = 1, /* opaque to the core: the state machine's */
	RAFT_ENTRY_CONFIG = 2,	/* a configuration (raft_conf_encode) */
};

/* One log entry.  `buf` is owned by whoever holds the entry: the core's
 * log owns its copies; entries inside a message the core emitted are
 * borrowed from the core's log and are valid only until the next event. */
struct raft_entry {
	uint64_t term;
	uint8_t type; /* enum raft_entry_type */
	uint32_t len;
	uint8_t *buf;
};

enum raft_msg_type {
	RAFT_MSG_VOTE = 1, /* RequestVote (also PreVote) */
	RAFT_MSG_VOTE_RESP,
	RAFT_MSG_APPEND, /* AppendEntries (also heartbeat) */
	RAFT_MSG_APPEND_RESP,
	RAFT_MSG_SNAPSHOT, /* InstallSnapshot (§7), once its data is durable */
	RAFT_MSG_SNAPSHOT_RESP,
	RAFT_MSG_TIMEOUT_NOW, /* leadership transfer (thesis §3.10): campaign
			       * now; no body, no answer */
};

struct raft_msg_vote {
	bool prevote;
	/* Sent by a candidate told to campaign by its leader (TimeoutNow):
	 * granted even by a voter that hears from a leader (thesis §4.2.3
	 * allows a transfer to disrupt). */
	bool transfer;
	uint64_t last_log_index;
	uint64_t last_log_term;
};

struct raft_msg_vote_resp {
	bool prevote;
	bool granted;
};

struct raft_msg_append {
	uint64_t prev_index;
	uint64_t prev_term;
	uint64_t leader_commit;
	uint64_t seq; /* leader's heartbeat round, echoed back (ReadIndex) */
	uint32_t n_entries;
	struct raft_entry *entries;
};

struct raft_msg_append_resp {
	bool success;
	uint64_t prev_index;  /* echo of the request's prev_index */
	uint64_t match_index; /* success: the last index known to match */
	/* failure: the conflict hint (§5.3, "fast backup"): the follower's
	 * term at prev_index and the first index it holds of that term, or
	 * conflict_term 0 and conflict_index = its last index + 1 when its log
	 * is shorter than prev_index. */
	uint64_t conflict_term;
	uint64_t conflict_index;
	uint64_t last_log_index;
	uint64_t seq; /* echo of the request's seq */
};

/* InstallSnapshot (§7, Figure 13).  The core carries only the snapshot's
 * metadata: the shell moves the data (in chunks, to a file of the
 * receiver's) and hands the receiver this message only once the whole
 * snapshot is durable on its disk.  A leader emits it when a follower
 * needs entries the leader's log no longer holds, naming its latest
 * snapshot; the sending shell may send a newer one (the latest it has)
 * and must then deliver the message with that one's index and term.
 * Bounds (raft_msg_check): message term >= 1, 1 <= index <= RAFT_MAX_INDEX,
 * 1 <= term <= the message's term. */
struct raft_msg_snapshot {
	uint64_t index; /* last index the snapshot includes */
	uint64_t term;	/* its term */
	/* The configuration the snapshot was taken in: filled in by the
	 * receiving shell from the snapshot it received (the wire does not
	 * carry it; the leader's core leaves it NULL).  Borrowed: read
	 * during raft_recv() only.  A snapshot delivered without one is
	 * refused. */
	const struct raft_conf *conf;
};

/* The answer; it leaves only once the install is durable (plan.h).  A
 * refusal (a stale term) carries index 0, a success the index the
 * follower now holds the log up to: the snapshot's, or its own commit
 * index when that was further already. */
struct raft_msg_snapshot_resp {
	bool success;
	uint64_t index; /* success: the follower holds the log up to this */
};

struct raft_msg {
	enum raft_msg_type type;
	uint32_t from;
	uint32_t to;
	uint64_t term;
	union {
		struct raft_msg_vote vote;
		struct raft_msg_vote_resp vote_resp;
		struct raft_msg_append append;
		struct raft_msg_append_resp append_resp;
		struct raft_msg_snapshot snapshot;
		struct raft_msg_snapshot_resp snapshot_resp;
	} u;
};

struct raft_read_result {
	uint64_t id;	/* the caller's id from raft_read() */
	uint64_t index; /* serve once applied >= index */
};

struct raft_config {
	uint32_t id; /* this node's id */
	/* The bootstrap configuration: the voters of a new cluster (the
	 * configuration before any RAFT_ENTRY_CONFIG).  A node not in it is
	 * a new member waiting to be added (it never campaigns until a
	 * configuration makes it a voter). */
	uint32_t n_nodes;
	uint32_t nodes[RAFT_MAX_NODES];
	uint32_t election_min_ms; /* election timeout drawn in [min, max] */
	uint32_t election_max_ms;
	uint32_t heartbeat_ms;
	uint32_t max_batch_entries; /* per AppendEntries */
	uint32_t max_batch_bytes;   /* payload bytes per AppendEntries */
	uint32_t max_inflight;	    /* pipelined AppendEntries per peer,
				     * 1..RAFT_MAX_INFLIGHT */
	bool pipeline_full_only;    /* a second request while one is out
				     * only when it fills a whole batch */
	uint64_t seed;		    /* the PRNG's seed (node-specific) */
	bool prevote;		    /* thesis §9.6 */
	bool check_quorum;	    /* thesis §6.2 */
};

/* What the caller must do after an event; see the order at the top. */
struct raft_update {
	bool hs_changed;
	uint64_t term;
	uint32_t vote;

	uint64_t truncate_from; /* 0: no truncation */
	uint64_t append_first;
	uint64_t n_append;

	struct raft_msg *msgs; /* owned by the core; valid until next event */
	size_t n_msgs;

	uint64_t commit_index;
	bool commit_changed;

	struct raft_read_result *reads;
	size_t n_reads;
	uint64_t *reads_failed; /* ids of reads that will never be served */
	size_t n_reads_failed;

	bool role_changed;
	enum raft_role role;
	uint32_t leader_id; /* 0 when unknown */

	/* A snapshot received from the leader was installed (a follower,
	 * step 2 of the order at the top, after the hard state and before
	 * any truncation or append): the log now starts after (index, term)
	 * and the commit index is index.  The shell makes that snapshot its
	 * latest and its stored log match (keeping the entries after index
	 * when it holds index with that term, dropping them all otherwise:
	 * with the earlier writes done in order, that is what the core
	 * decided too) and loads its state machine from that snapshot,
	 * which it already holds durably (it delivered the
	 * RAFT_MSG_SNAPSHOT).  Also set in raft_start()'s update when the
	 * loaded log did not hold the loaded snapshot's last entry (it
	 * became durable before the log writes it covers): then the stored
	 * log is to be dropped the same way, and the state machine is that
	 * snapshot's already.  0 when none. */
	uint64_t snapshot_index;
	uint64_t snapshot_term;

	/* The configuration changed (an entry appended or truncated, a
	 * snapshot installed): the shell reads it with raft_conf() and
	 * updates its transport (peers to add or drop). */
	bool conf_changed;

	uint64_t wake_at; /* call raft_tick() by then (caller's clock, ms) */

	const char *trace; /* newline-separated lines for the log; may be "" */
};

/* Per-peer replication progress on the leader (§5.3, Figure 2). */
enum raft_progress_state {
	RAFT_PROGRESS_PROBE = 0, /* one AppendEntries at a time until match */
	RAFT_PROGRESS_REPLICATE, /* pipelined, next_index advanced
				    optimistically */
	RAFT_PROGRESS_SNAPSHOT,	 /* a snapshot is on its way (§7); nothing
				    but heartbeats until it is answered,
				    fails or times out */
};

struct raft_progress {
	uint32_t id;
	uint64_t next_index;
	uint64_t match_index;
	enum raft_progress_state state;
	/* Last index of each pipelined AppendEntries not yet answered
	 * (REPLICATE); in PROBE one slot marks the single request out. */
	uint64_t inflight[RAFT_MAX_INFLIGHT];
	uint32_t n_inflight;
	uint64_t last_send;	/* time of the last AppendEntries sent */
	uint64_t last_progress; /* time match_index last advanced */
	uint64_t acked_seq;	/* highest heartbeat round answered this term */
	uint64_t probe_seq;	/* PROBE: the round in which the probe left */
	bool recent_active;	/* heard from since the last CheckQuorum */
	bool vote_granted;	/* in the current (pre)election */
	bool vote_answered;
	uint64_t snapshot_sent; /* SNAPSHOT: the index of the one on its way */
	uint64_t snapshot_at;	/* SNAPSHOT: when it was sent */
};

/* The in-memory log: entries [offset+1, offset+n]; the entries up to
 * `offset` were compacted away (covered by a snapshot, §7); the term of the
 * entry at `offset` is `offset_term`. */
struct raft_log {
	struct raft_entry *entries;
	uint64_t n;
	uint64_t cap;
	uint64_t offset;
	uint64_t offset_term;
};

struct raft_pending_read {
	uint64_t id;
	uint64_t seq;	/* heartbeat round that confirms it */
	uint64_t index; /* commit index when it was registered, 0 if waiting
			 * for the leader's first commit in its term */
};

/* The core's whole state.  Callers read fields through the accessors; the
 * layout is visible only so that it can be embedded. */
struct raft {
	struct raft_config cfg;
	uint64_t now;

	/* Persistent state (Figure 2). */
	uint64_t term;
	uint32_t vote;
	struct raft_log log;

	/* Volatile state. */
	enum raft_role role;
	uint32_t leader_id;
	/* The node known to lead the current term: the sender of the first
	 * AppendEntries accepted in it, or ourselves.  Unlike leader_id it
	 * survives a PreVote round, so that an AppendEntries of the same term
	 * from anyone else (a second leader: impossible from correct peers,
	 * §5.2 Election Safety) is dropped, never obeyed.  0 when unknown;
	 * reset whenever the term changes. */
	uint32_t term_leader;
	uint64_t commit_index;
	uint64_t persisted_index; /* durable locally, reported by the caller */
	uint64_t rng;		  /* xorshift64* state */

	uint64_t election_deadline;   /* followers and candidates */
	uint64_t last_leader_contact; /* last AppendEntries from a leader */
	uint64_t heartbeat_deadline;  /* leaders */
	uint64_t quorum_deadline;     /* leaders: next CheckQuorum */
	bool commit_in_term; /* leader committed an entry of its term */

	/* Membership (thesis chapter 4).  `conf` is the latest configuration
	 * in the log (in effect on append, §4.1), from the entry at
	 * `conf_index`, or `conf_base` (0) when the log holds none:
	 * `conf_base` is the configuration in force at the log's offset (the
	 * bootstrap one, or a snapshot's). */
	struct raft_conf conf;
	uint64_t conf_index;
	struct raft_conf conf_base;
	/* One per member of `conf`, in its order. */
	struct raft_progress progress[RAFT_MAX_NODES];
	uint32_t n_progress;
	/* Leadership transfer (thesis §3.10): the target (0: none) and the
	 * time by which it must have won, or the leader takes proposals
	 * again. */
	uint32_t transfer_to;
	uint64_t transfer_deadline;
	bool timeout_now_sent;
	uint64_t transfers; /* transfers started, for /metrics */
	/* Times a leader found a follower's pipeline stalled (no progress
	 * for two heartbeats) and went back to probing: a lost request, or
	 * a flow-control bug.  For tests and diagnostics. */
	uint64_t stall_probes;
	/* The latest durable snapshot (raft_snapshot_taken, or one
	 * installed): what a leader sends to a follower that needs entries
	 * before the log's offset.  0 when none. */
	uint64_t snapshot_index;
	uint64_t snapshot_term;
	uint64_t snapshots_sent; /* for tests and /metrics */
	/* Elections this node started (terms it campaigned in), and times
	 * it became leader.  For /metrics. */
	uint64_t elections;
	uint64_t leaderships;
	/* Messages refused (out of bounds, malformed, or breaking Raft's own
	 * rules: a second leader in a term, an answer to nothing we sent).
	 * Traced at most once per second (`drop_trace_at`), with the count
	 * of those not traced, so a flood cannot flood the log. */
	uint64_t dropped_msgs;
	uint64_t drop_trace_at;
	uint64_t drops_untraced;

	/* ReadIndex (thesis §6.4).  `seq` numbers the heartbeat rounds;
	 * `read_round` is the round started for reads and not yet answered
	 * by a majority (0 when none), so that concurrent reads share one
	 * round instead of starting one each. */
	uint64_t seq;
	uint64_t read_round;
	struct raft_pending_read *pending_reads;
	size_t n_pending_reads;
	size_t cap_pending_reads;

	/* The update being built. */
	struct raft_update up;
	struct raft_msg *msgs;
	size_t cap_msgs;
	struct raft_read_result *reads;
	size_t cap_reads;
	uint64_t *reads_failed;
	size_t cap_reads_failed;
	char *trace;
	size_t trace_len;
	size_t trace_cap;
	enum raft_role up_role0;
	uint32_t up_leader0;
	uint64_t up_commit0;
};

/* Lifecycle.  raft_init() validates `cfg` (RAFT_EINVAL if ids are not
 * unique, self is missing, timeouts are inconsistent, ...).  After init the
 * caller loads what it had on disk with raft_load_hard_state() and
 * raft_load_entry(), then calls raft_start(). */
int raft_init(struct raft *r, const struct raft_config *cfg);
void raft_close(struct raft *r);
int raft_load_hard_state(struct raft *r, uint64_t term, uint32_t vote);
/* Snapshots (§7).  At start-up, before raft_load_entry() and at most
 * once: the stored log starts after (base_index, base_term) (0, 0 for a
 * log never compacted), and the latest durable snapshot covers up to
 * (snap_index, snap_term), with base_index <= snap_index (0, 0 for none).
 * The state machine is the caller's, loaded from that snapshot: the core
 * takes snap_index as committed.  The entries loaded next start at
 * base_index + 1; if they do not hold (snap_index, snap_term),
 * raft_start() discards them (its update says so).  RAFT_EINVAL if the
 * four do not fit together (an index without a term or the reverse, base
 * after snap, terms decreasing, out of bounds) or if called late.
 * `snap_conf` is the configuration the snapshot was taken in (NULL: the
 * bootstrap one); it must be valid (raft_conf_check). */
int raft_load_snapshot(struct raft *r, uint64_t base_index, uint64_t base_term,
		       uint64_t snap_index, uint64_t snap_term,
		       const struct raft_conf *snap_conf);
/* Copies `buf`. */
int raft_load_entry(struct raft *r, uint64_t term, uint8_t type,
		    const void *buf, uint32_t len);
void raft_start(struct raft *r, uint64_t now);

/* Events.  Each starts a fresh update; take it with raft_update_take(). */
void raft_tick(struct raft *r, uint64_t now);
/* `m` and its entries are only read (copied as needed).  Anything may
 * arrive here: a message that is out of bounds, malformed or impossible
 * from a correct peer is refused (RAFT_EINVAL, counted in dropped_msgs,
 * traced rate-limited) and changes nothing; none can make the core
 * abort.  raft_msg_check() is the bounds check alone, for decoders. */
int raft_recv(struct raft *r, uint64_t now, const struct raft_msg *m);
/* NULL when `m` is well-formed on its own (every term and index within
 * bounds, entries' terms non-decreasing from prev_term up to the message
 * term, counts consistent); otherwise a static reason.  Membership and
 * the receiver's state are checked by raft_recv() only. */
const char *raft_msg_check(const struct raft_msg *m);
void raft_persisted(struct raft *r, uint64_t now, uint64_t index,
		    uint64_t term);
/* Copies `buf`.  On success *index and *term identify the new entry; it is
 * committed when commit_index >= *index and raft_term_at(*index) is still
 * *term. */
int raft_propose(struct raft *r, uint64_t now, uint8_t type, const void *buf,
		 uint32_t len, uint64_t *index, uint64_t *term);
int raft_read(struct raft *r, uint64_t now, uint64_t id);

/* Proposes a configuration change (leader only, thesis §4.1): `to` must
 * differ from the current configuration in exactly one member (added,
 * removed, or its flags changed), keep at least one voter, and keep every
 * other member's addresses (those that are "" may be filled in).  RAFT_EBUSY
 * while the latest configuration is not committed, before an entry of this
 * leader's term is committed, or during a transfer; RAFT_ENOCHANGE when `to` is
 * the current configuration; RAFT_EINVAL otherwise.  On success (index, term)
 * name the entry, as with raft_propose(). */
int raft_propose_conf(struct raft *r, uint64_t now, const struct raft_conf *to,
		      uint64_t *index, uint64_t *term);

/* Leadership transfer (thesis §3.10) to voter `to` (0: the voter with the
 * most of the log).  The leader takes no proposals until the transfer
 * ends: the target wins (this leader steps down), or an election timeout
 * passes (it takes proposals again).  RAFT_ENOTLEADER, RAFT_EINVAL (not a
 * voter, or self), RAFT_EBUSY (a transfer is under way, or no other
 * voter). */
int raft_transfer(struct raft *r, uint64_t now, uint32_t to);

/* The caller made a snapshot of its state machine durable, covering the
 * log up to `index` (<= the commit index; the term is the log's at
 * index): a leader sends it to followers that need what compaction
 * removed.  Then the core drops its log up to `compact_to` (the current
 * offset <= compact_to <= index; equal to the offset to keep everything,
 * below index to keep a window for followers a little behind): the
 * caller drops them from its storage too, after the snapshot is durable
 * and after every log write issued before (compaction is the last step).
 * Not an event: no update.  Call it between events, once done with the
 * last update: the entries it frees may be the ones that update's
 * messages and appends point to.  RAFT_EINVAL (and nothing changes) if
 * index is 0, beyond the commit index, outside the log (the offset
 * counts) or older than the latest snapshot, or compact_to is outside
 * [offset, index]. */
int raft_snapshot_taken(struct raft *r, uint64_t index, uint64_t compact_to);

/* The caller could not deliver the snapshot the core asked it to send to
 * node `to` (transport failure): the leader goes back to probing it, and
 * sends it again once `to` answers a later heartbeat (so a peer that is
 * down costs no transfer per heartbeat).  An event; nothing happens
 * unless this node leads and waits for a snapshot's answer from `to`. */
void raft_snapshot_failed(struct raft *r, uint64_t now, uint32_t to);

/* The update built by the last event.  Pointers inside are valid until the
 * next event. */
const struct raft_update *raft_update_take(struct raft *r);

/* Accessors. */
enum raft_role raft_role(const struct raft *r);
uint64_t raft_term(const struct raft *r);
uint32_t raft_leader(const struct raft *r);
uint64_t raft_commit_index(const struct raft *r);
uint64_t raft_last_index(const struct raft *r);
uint64_t raft_last_term(const struct raft *r);
/* The first index the log holds (offset + 1), and the latest snapshot's
 * last index (0: none). */
uint64_t raft_first_index(const struct raft *r);
uint64_t raft_snapshot_index(const struct raft *r);
/* 0 when index is outside the log. */
uint64_t raft_term_at(const struct raft *r, uint64_t index);
/* NULL when index is outside the log; valid until the next event. */
const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index);

/* The current configuration (in effect, maybe uncommitted), the index of
 * its entry (0: the bootstrap one or a snapshot's), and the configuration
 * in force at `index` (committed entries only are asked for: a snapshot's
 * configuration; RAFT_EINVAL when index is before the log's offset or
 * after its end). */
const struct raft_conf *raft_conf(const struct raft *r);
uint64_t raft_conf_index(const struct raft *r);
int raft_conf_at(const struct raft *r, uint64_t index, struct raft_conf *out);
/* The leader's view of a member's replication (match index; 0 when not
 * leading or not a member) and the transfer under way (0: none). */
uint64_t raft_match_index(const struct raft *r, uint32_t id);
uint32_t raft_transfer_target(const struct raft *r);
/* A member of a configuration, or NULL. */
const struct raft_member *raft_conf_member(const struct raft_conf *c,
					   uint32_t id);
bool raft_conf_is_voter(const struct raft_conf *c, uint32_t id);

/* Configuration entries' bytes: u8 version (1), u8 n, then n times u32
 * id, u8 flags, u64 incarnation, u16 address length, address, u16 peer
 * address length, peer address (little-endian).  raft_conf_encode writes at
 * most `cap` bytes and returns the size needed; raft_conf_decode checks
 * untrusted bytes (NULL, or a static reason); raft_conf_check checks a struct
 * (sorted unique non-zero ids, known flags, at least one voter, addresses
 * NUL-terminated without control bytes). */
size_t raft_conf_encode(const struct raft_conf *c, uint8_t *buf, size_t cap);
const char *raft_conf_decode(const uint8_t *buf, size_t len,
			     struct raft_conf *out);
const char *raft_conf_check(const struct raft_conf *c);
/* Sorts c's members by id (for callers building one). */
void raft_conf_sort(struct raft_conf *c);

const char *raft_role_name(enum raft_role role);
const char *raft_strerror(int rv);

/* Message helpers for callers that hold messages across events (the
 * simulation's network, the shell's queues): a deep copy, and its free. */
int raft_msg_copy(struct raft_msg *dst, const struct raft_msg *src);
void raft_msg_free(struct raft_msg *m);

#endif /* RAFT_CORE_RAFT_H */
