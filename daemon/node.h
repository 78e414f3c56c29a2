/* node.h: one raftd node: the consensus core, its storage, state machine
 * and threads, behind an API of operations that complete by callback.
 *
 * Nothing here blocks a caller on the network or the disk: a write or a
 * linearizable read is started, and its completion function is called
 * once it is done (committed and applied; or confirmed by a heartbeat
 * round and applied), or failed.  Whoever serves clients can therefore
 * park a request without parking a thread.  A completion is called
 * exactly once, with no lock of the node held, either before the starting
 * call returns (the operation failed at once: not leader, stopping) or
 * later from one of the node's threads. */
#ifndef RAFTD_NODE_H
#define RAFTD_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/raft.h"
#include "hist.h"
#include "sm.h"

struct node;
struct peerauth;

/* Outcome of a client operation, mapped onto the API's faults (api.h) by
 * the RPC layer. */
enum node_status {
	NODE_OK = 0,
	NODE_NOT_LEADER,  /* fault 1, with the hint from node_leader_hint() */
	NODE_TIMEOUT,	  /* fault 2: outcome unknown */
	NODE_INVALID,	  /* fault 3 */
	NODE_NOT_FOUND,	  /* fault 4 */
	NODE_UNAVAILABLE, /* fault 6 */
};

/* Opens the data dir (creating it), loads the log into the core and starts
 * the timer and peer threads.  `cfg` must outlive the node.  Returns 0 or
 * -1 with a message in err (the caller exits 1). */
int node_start(const struct config *cfg, uint32_t id, const char *data_dir,
	       const struct config_node *join, struct node **out, char *err,
	       size_t errlen);
/* Marks the node as stopping and fails every pending operation with
 * NODE_UNAVAILABLE (and every later one), so the RPC server can drain. */
void node_begin_stop(struct node *n);
/* Stops the threads, syncs and closes storage, frees everything.  The RPC
 * server must have stopped calling in. */
void node_stop(struct node *n);

/* The node's signer/checker of peer frames (peerauth.h); lives as long as
 * the node. */
struct peerauth *node_peerauth(struct node *n);

/* A peer message (requestVote, appendEntries), from the RPC server.  On
 * success *reply holds the answer, after every write it depends on is
 * durable (release with raft_msg_free()), and *has_reply says whether there
 * is one.  `m` is only read.  The one call here that may wait: an
 * AppendEntries that overtook its predecessor waits for it (20 ms at
 * most), and the answer waits for this node's fsync. */
int node_peer_message(struct node *n, const struct raft_msg *m,
		      struct raft_msg *reply, bool *has_reply);

/* Writes.  `payload` is an encoded command (command_encode(); copied);
 * tid/tid_len/hash name its tid and command_hash(payload) (tid_len 0: no
 * tid), so that a tid applied before is answered at once with its first
 * result, without a new entry and without decoding the payload again.
 * done(arg, status, result): on NODE_OK, result is the state machine's. */
typedef void (*node_write_fn)(void *arg, enum node_status st,
			      enum sm_result res);
void node_write(struct node *n, const uint8_t *payload, size_t len,
		const char *tid, size_t tid_len, uint64_t hash,
		node_write_fn done, void *arg);

/* Linearizable reads (Raft thesis §6.4, ReadIndex): once leadership is
 * confirmed for a read index and the state machine has applied up to it,
 * copy(arg, sm) runs under the node's lock, then done(arg, NODE_OK) with no
 * lock held; on any other status copy is not called.
 *
 * The rule for copy: while it runs, every client, the timer and the peers'
 * replies wait for the lock, so it ONLY COPIES what the answer needs out
 * of the sm into memory made ready beforehand, a bounded amount (kv.c
 * copies one response's page at most), and returns.  It does not build a
 * reply, log, block, or call into the node; what the sm returns is
 * borrowed for its run only. */
typedef void (*node_copy_fn)(void *arg, const struct sm *sm);
typedef void (*node_read_fn)(void *arg, enum node_status st);
void node_read(struct node *n, node_copy_fn copy, node_read_fn done, void *arg);

/* "not leader; leader=ID@HOST:PORT" or "not leader; leader=unknown". */
void node_leader_hint(struct node *n, char *out, size_t size);

bool node_is_leader(struct node *n);

struct node_status_info {
	uint32_t id;
	enum raft_role role;
	uint64_t term;
	uint32_t leader;
	char leader_address[CONFIG_ADDRESS_MAX];
	uint64_t commit_index;
	uint64_t last_applied;
	uint64_t last_log_index;
	uint64_t last_log_term;
	uint64_t log_syncs;
	uint64_t sync_ns_max;
	uint64_t sync_ns_total;	       /* all raftlog fdatasyncs together */
	uint64_t appends_sent;	       /* AppendEntries RPCs made, all peers */
	uint64_t entries_sent;	       /* entries they carried */
	uint64_t appends_received;     /* AppendEntries requests handled */
	uint64_t read_copy_ns_max;     /* longest copy-out under the lock by
					* a node_read()/node_log_read()
					* caller, wall time */
	uint64_t read_copy_cpu_ns_max; /* ... and CPU time */
	uint64_t dropped_msgs;	       /* peer messages the core refused */
	uint64_t elections;	       /* campaigns this node started */
	uint64_t leaderships;	       /* times it became leader */
	uint64_t sync_hist[HIST_BUCKETS]; /* raftlog fdatasyncs (hist.h) */
	/* As leader: each other member's replication (§5.3): the highest
	 * index known to match, and how far it is behind the log's end. */
	size_t n_peers;
	struct {
		uint32_t id;
		uint64_t match;
		uint64_t next; /* the next index the leader sends it */
		uint64_t lag;
		int64_t contact_ms; /* since its last answer; -1: none yet */
	} peers[CONFIG_MAX_NODES];
	uint64_t uptime_s; /* since node_start() */
	uint64_t keys;	   /* keys in the state machine's map */
};
void node_status(struct node *n, struct node_status_info *out);

/* Snapshots (docs/DESIGN.md, "Snapshots"). */
struct node_snap_info {
	uint64_t index, term; /* the latest snapshot's (0: none) */
	uint64_t bytes;	      /* its file's size */
	uint64_t log_first;   /* the first index the log holds */
	uint64_t log_entries; /* entries in the raftlog */
	uint64_t log_bytes;   /* the raftlog's size */
	uint64_t taken, installed, sent;
	uint64_t pause_ns_last, pause_ns_max; /* the pause of taking one */
	uint64_t write_ms_last;		      /* the writer's run */
	bool busy;
	char error[256]; /* the last failure, "" when none */
};
void node_snap_info(struct node *n, struct node_snap_info *out);

/* ---- membership (node_member.c; docs/DESIGN.md, "Membership") ---------- */

/* This node's identity (ident.h): the cluster id and its incarnation. */
uint64_t node_cluster_id(struct node *n);
uint64_t node_incarnation(struct node *n);
/* 0 if a peer frame's sender may speak (its incarnation is the one
 * recorded for it, or the first seen); -1 otherwise.  `leader_term` is the
 * frame's term when it is a leader's (AppendEntries, a snapshot chunk),
 * else 0: a leader of this node's term or a later one with another
 * incarnation was elected by a quorum that took that incarnation (it was
 * removed and added back while this node was behind), so its new
 * incarnation replaces the recorded one and 1 is returned (ident.h); one
 * of an older term is let through (0) unrecorded, for the core to refuse
 * with this node's term. */
int node_check_peer(struct node *n, uint32_t from, uint64_t incarnation,
		    uint64_t leader_term);

/* The current configuration (the latest in the log, thesis §4.1). */
struct node_member_info {
	uint32_t id;
	bool voter;
	bool promote; /* a learner to be promoted once caught up */
	bool leader;
	uint64_t match; /* as leader: its match index (0 otherwise) */
	char address[CONFIG_ADDRESS_MAX];
	char peer_address[CONFIG_ADDRESS_MAX];
};
void node_members(struct node *n, struct node_member_info *out, size_t *count);

/* Called with the configuration whenever it changes, and once at once
 * (node's lock held: the callee must not call into the node). */
typedef void (*node_conf_fn)(void *arg, const struct raft_conf *c);
void node_set_conf_hook(struct node *n, node_conf_fn fn, void *arg);

enum node_member_kind { NODE_MEMBER_ADD, NODE_MEMBER_REMOVE };
struct node_member_change {
	enum node_member_kind kind;
	uint32_t id;
	const char *address;	  /* ADD: host:port of its client API */
	const char *peer_address; /* ADD: host:port of its peer listener */
	bool peer_given;	  /* ADD: the caller named it (else port +
				   * 1000, or the config file's for a node
				   * of its list at the same address) */
	bool voter_now;		  /* ADD: a voter at once, not a learner */
	uint64_t incarnation;	  /* ADD: its data dir's (0: unknown) */
};
/* Proposes the change (leader only) and waits until it is applied here, or
 * request_timeout_ms.  NODE_OK also when nothing was to change (the same
 * add or remove again); NODE_UNAVAILABLE with a reason in err while
 * another change or a transfer is under way; NODE_INVALID with a reason. */
enum node_status node_member_change(struct node *n,
				    const struct node_member_change *ch,
				    char *err, size_t errlen);

/* Leadership transfer (thesis §3.10) to voter `to` (0: the most up to
 * date) and waits up to timeout_ms until another node leads: its id in
 * *leader, the time taken in *elapsed_us. */
enum node_status node_transfer(struct node *n, uint32_t to, uint64_t timeout_ms,
			       uint32_t *leader, uint64_t *elapsed_us,
			       char *err, size_t errlen);

/* Takes a snapshot now (unless one covering everything applied exists)
 * and waits for it, at most timeout_ms.  0 with its index, or -1 with a
 * message. */
int node_snapshot_now(struct node *n, uint64_t timeout_ms, uint64_t *index,
		      uint64_t *term, char *err, size_t errlen);

/* Reads up to `max` bytes at `offset` of the current snapshot file, if it
 * is still the one of `index` (0: whichever is current; *index says which).
 * 0 with *len bytes (0 at the end) and *size the file's size; -1 with a
 * message when there is none or it was replaced (start again). */
int node_snapshot_read(struct node *n, uint64_t *index, uint64_t offset,
		       uint8_t *buf, size_t max, size_t *len, uint64_t *size,
		       char *err, size_t errlen);

/* One chunk of the leader's snapshot (the installSnapshot peer method,
 * after the frame's MAC was checked).  The file is written as it comes;
 * the last chunk makes it durable, checks and loads it, and hands the core
 * RAFT_MSG_SNAPSHOT: then *has_reply and *reply are set as for
 * node_peer_message().  Otherwise *next is the offset expected next. 0,
 * or -1 with a message (a chunk out of order, a stale term, a damaged
 * snapshot: the sender starts again). */
struct node_chunk {
	uint32_t from;
	uint64_t term;	/* the sender's */
	uint64_t index; /* the snapshot's */
	uint64_t sterm;
	uint64_t total; /* the file's size */
	uint64_t offset;
	const uint8_t *data;
	size_t len;
};
int node_snapshot_chunk(struct node *n, const struct node_chunk *c,
			uint64_t *next, struct raft_msg *reply, bool *has_reply,
			char *err, size_t errlen);

/* This node's log as it is now, for showLog (any role; not
 * linearizable): calls fn(arg, e) under the node's lock for the entries
 * from `from` on, in index order, until fn returns non-zero or the log
 * ends.  The rule of node_read()'s copy holds: e->data is borrowed, and
 * fn only copies (and bounds what it copies, by stopping). */
struct node_log_entry {
	uint64_t index;
	uint64_t term;
	uint8_t type;
	const uint8_t *data;
	uint32_t len;
	bool committed;
};
void node_log_read(struct node *n, uint64_t from,
		   int (*fn)(void *arg, const struct node_log_entry *e),
		   void *arg);

#endif /* RAFTD_NODE_H */
