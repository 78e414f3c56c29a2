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

/* Client reads.  node_read_begin() confirms leadership (ReadIndex) and
 * waits until the state machine has caught up; on NODE_OK the node's lock
 * is HELD and the caller reads the sm through node_sm(), then calls
 * node_read_end(). */
enum node_status node_read_begin(struct node *n);
const struct sm *node_sm(struct node *n);
void node_read_end(struct node *n);

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
};
void node_status(struct node *n, struct node_status_info *out);

/* This node's log as it is now, for showLog: calls fn for entries from
 * `from` on, at most `max`, under the node's lock (fn must not call into
 * the node). */
struct node_log_entry {
	uint64_t index;
	uint64_t term;
	uint8_t type;
	const uint8_t *data;
	uint32_t len;
	bool committed;
};
int node_show_log(struct node *n, uint64_t from, size_t max,
		  int (*fn)(void *arg, const struct node_log_entry *e),
		  void *arg);

#endif /* RAFTD_NODE_H */
