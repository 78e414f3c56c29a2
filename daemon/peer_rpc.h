/* peer_rpc.h: the peer methods of the XML-RPC API (docs/API.md, "Peer
 * methods"): one frame in (wire.h), checked and authenticated
 * (peerauth.h), handed to the node, its answer's frame out. */
#ifndef RAFTD_PEER_RPC_H
#define RAFTD_PEER_RPC_H

#include <stdint.h>

#include "config.h"
#include "methods.h"
#include "node.h"

struct peer_rpc;

/* The peer methods' context: fn of peer_rpc_methods is called with it. */
struct peer_rpc *peer_rpc_new(struct node *node, const struct config *cfg,
			      uint32_t self_id);
void peer_rpc_free(struct peer_rpc *s);

extern const struct method_def peer_rpc_methods[];
extern const size_t peer_rpc_methods_count;

#endif /* RAFTD_PEER_RPC_H */
