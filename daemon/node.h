/* node.h: one raftd node: the core, its storage, state machine and threads. */
#ifndef RAFTD_NODE_H
#define RAFTD_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "command.h"
#include "config.h"
#include "core/raft.h"
#include "sm.h"

struct node;

/* Outcome of a client call, mapped onto the contract's faults by the RPC
 * layer. */
enum node_status {
	NODE_OK = 0,
	NODE_NOT_LEADER,  /* fault 1, with the hint from node_leader_hint() */
	NODE_TIMEOUT,     /* fault 2: outcome unknown */
	NODE_INVALID,     /* fault 3 */
	NODE_NOT_FOUND,   /* fault 4 */
	NODE_UNAVAILABLE, /* fault 6 */
};

/* Opens the data dir (creating it), loads the log into the core and starts
 * the timer and peer threads.  `cfg` must outlive the node.  Returns 0 or
 * -1 with a message in err (the caller exits 1). */
int node_start(const struct config *cfg, uint32_t id, const char *data_dir,
	       struct node **out, char *err, size_t errlen);
/* Marks the node as stopping and wakes every waiting client (they fail
 * with NODE_UNAVAILABLE), so that the RPC server can drain quickly. */
void node_begin_stop(struct node *n);
/* Stops the threads, fails waiting clients with NODE_UNAVAILABLE, syncs
 * and closes storage, frees everything. */
void node_stop(struct node *n);

struct peerauth;
/* The node's signer/checker of peer frames (peerauth.h); lives as long as
 * the node. */
struct peerauth *node_peerauth(struct node *n);

/* Peer messages (requestVote, appendEntries), from the RPC server.  On
 * success *reply holds the answer (release with raft_msg_free()) and
 * *has_reply says whether there is one.  `m` is only read. */
int node_peer_message(struct node *n, const struct raft_msg *m,
		      struct raft_msg *reply, bool *has_reply);

/* Client writes: `payload` is an encoded command (command_encode()).  On
 * NODE_OK *result is the state machine's result for it (enum sm_result). */
enum node_status node_write(struct node *n, const uint8_t *payload, size_t len,
			    enum sm_result *result);

/* Client reads, linearizable (Raft thesis §6.4, ReadIndex): confirms
 * leadership for a read index, waits until the state machine has applied
 * up to it, then calls fn(arg, sm) under the node's lock, releases the
 * lock and returns NODE_OK.  fn is not called on any other status.
 *
 * The rule for fn: while it runs, every client, the timer and the peers'
 * replies wait for the lock, so fn ONLY COPIES what the answer needs out
 * of the sm into memory of its own, a bounded amount (kv.c copies one
 * response's page at most), and returns.  It does not build a reply, log,
 * block, or call into the node; what the sm returns is borrowed for fn's
 * run only.  Nothing outside node.c holds the lock across a return. */
enum node_status node_read(struct node *n,
			   void (*fn)(void *arg, const struct sm *sm),
			   void *arg);

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
	uint64_t appends_sent;     /* AppendEntries RPCs made, all peers */
	uint64_t entries_sent;     /* entries they carried */
	uint64_t appends_received; /* AppendEntries requests handled */
	uint64_t read_copy_ns_max; /* longest copy-out under the lock by
				    * a node_read()/node_log_read()
				    * caller, wall time */
	uint64_t read_copy_cpu_ns_max; /* ... and CPU time */
};
void node_status(struct node *n, struct node_status_info *out);

/* This node's log as it is now, for showLog (any role; not
 * linearizable): calls fn(arg, e) under the node's lock for the entries
 * from `from` on, in index order, until fn returns non-zero or the log
 * ends.  The rule of node_read()'s fn holds: e->data is borrowed, and fn
 * only copies (and bounds what it copies, by stopping). */
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
