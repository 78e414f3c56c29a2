/* peer.h: the transport to the other nodes: per-peer queues, sender
 * threads and the XML-RPC client that carries peer frames (wire.h,
 * peerauth.h).  The node hands it messages; it hands the node the
 * answers.  Nothing here knows Raft beyond the message types, so the
 * transport can be replaced here alone.
 *
 * Threads: one per peer, which keeps that peer's window of requests
 * (cfg->max_inflight) in flight with one libcurl multi handle and passes
 * each answer to on_reply, so a slow or dead peer never delays the others,
 * requestVote goes to all peers in parallel and AppendEntries can be
 * pipelined.  on_reply runs on a peer's thread with no peer lock held.
 *
 * Snapshots: a RAFT_MSG_SNAPSHOT the core emits is not sent as such: the
 * peer's thread streams the node's current snapshot file (snap_path) in
 * chunks (installSnapshot, wire.h), one at a time beside the other
 * requests; the answer to the last chunk is the receiver's
 * RAFT_MSG_SNAPSHOT_RESP, passed to on_reply.  If the transfer fails
 * (the file cannot be read, a chunk is refused or times out),
 * on_snapshot_failed(arg, peer id) is called instead, and the core sends
 * the snapshot again later.
 *
 * Locks: one per peer (its queue and stop flag), a leaf lock. */
#ifndef RAFTD_PEER_H
#define RAFTD_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/raft.h"

struct peers;
struct peerauth;

/* Called with each peer's answer (valid only during the call). */
typedef void (*peers_reply_fn)(void *arg, const struct raft_msg *reply);
/* Called when a snapshot could not be delivered to peer `to`. */
typedef void (*peers_failed_fn)(void *arg, uint32_t to);

/* Creates the clients for every member of the bootstrap configuration
 * but `self` (call from the main thread before any thread starts).  cfg,
 * auth and snap_path must outlive the peers.  Every frame carries
 * `cluster` and `incarnation` (wire.h); an answer from another cluster,
 * or from a member with another incarnation than recorded (idpeers), is
 * refused.  0, or -1 with a message in err. */
struct ident_peers;
int peers_new(const struct config *cfg, uint32_t self, uint64_t cluster,
	      uint64_t incarnation, struct ident_peers *idpeers,
	      struct peerauth *auth, const char *snap_path,
	      peers_reply_fn on_reply, peers_failed_fn on_snapshot_failed,
	      void *arg, struct peers **out, char *err, size_t errlen);

/* A member of the current configuration, as peers_update() takes it. */
struct peers_member {
	uint32_t id;
	const char *peer_address; /* host:port of its peer listener */
};

/* The configuration changed (thesis chapter 4): starts a peer (thread,
 * clients) for each member without one, except self, and retires the
 * peers of those no longer listed (their queued messages are dropped).
 * Any thread, after peers_start(); may be called with the node's lock
 * held (it waits for no peer thread). */
void peers_update(struct peers *ps, const struct peers_member *members,
		  size_t n);

/* Starts the sender threads.  0, or -1 with a message in err. */
int peers_start(struct peers *ps, char *err, size_t errlen);

/* Queues m for its destination and takes ownership of it (a deep copy:
 * raft_msg_copy()).  A full queue drops its oldest message: Raft tolerates
 * loss, and a dead peer must not make the queue grow.  Any thread. */
void peers_send(struct peers *ps, struct raft_msg *m);

/* Stops and joins the threads (aborting RPCs in flight), frees every
 * queued message and the clients.  Accepts NULL. */
void peers_free(struct peers *ps);

/* AppendEntries RPCs made and the entries they carried, all peers; and
 * snapshot bytes sent. */
void peers_stats(struct peers *ps, uint64_t *appends, uint64_t *entries);
uint64_t peers_snapshot_bytes(struct peers *ps);

#endif /* RAFTD_PEER_H */
