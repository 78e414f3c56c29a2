/* peer.h: the transport to the other nodes: per-peer queues, sender
 * threads and the XML-RPC client that carries peer frames (wire.h,
 * peerauth.h).  The node hands it messages; it hands the node the
 * answers.  Nothing here knows Raft beyond the message types, so the
 * transport can be replaced here alone.
 *
 * Threads: for each peer, cfg->max_inflight sender threads, each with its
 * own xmlrpc-c client and keep-alive connection, take that peer's
 * messages from one queue in order, make the RPC with a deadline and pass
 * the answer to on_reply, so a slow or dead peer never delays the others,
 * requestVote goes to all peers in parallel and AppendEntries can be
 * pipelined.  on_reply runs on a sender thread with no peer lock held.
 *
 * Locks: one per peer (its queue, stop and down flags), a leaf lock. */
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

/* Creates the clients for every member but `self` (xmlrpc_client_create is
 * not thread-safe: call from the main thread before any thread starts).
 * cfg and auth must outlive the peers.  0, or -1 with a message in err. */
int peers_new(const struct config *cfg, uint32_t self, struct peerauth *auth,
	      peers_reply_fn on_reply, void *arg, struct peers **out, char *err,
	      size_t errlen);

/* Starts the sender threads.  0, or -1 with a message in err. */
int peers_start(struct peers *ps, char *err, size_t errlen);

/* Queues m for its destination and takes ownership of it (a deep copy:
 * raft_msg_copy()).  A full queue drops its oldest message: Raft tolerates
 * loss, and a dead peer must not make the queue grow.  Any thread. */
void peers_send(struct peers *ps, struct raft_msg *m);

/* Stops and joins the threads (aborting RPCs in flight), frees every
 * queued message and the clients.  Accepts NULL. */
void peers_free(struct peers *ps);

/* AppendEntries RPCs made and the entries they carried, all peers. */
void peers_stats(struct peers *ps, uint64_t *appends, uint64_t *entries);

#endif /* RAFTD_PEER_H */
