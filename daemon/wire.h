/* wire.h: Raft peer messages as XML-RPC values (requestVote, appendEntries). */
#ifndef RAFTD_WIRE_H
#define RAFTD_WIRE_H

#include <xmlrpc-c/base.h>

#include "core/raft.h"

/* The XML-RPC method carrying a request of this type. */
const char *wire_method(enum raft_msg_type type);

/* A struct value for m; `secret` (may be NULL) is added as member
 * "secret".  Returns a new reference, or NULL with env set. */
xmlrpc_value *wire_encode(xmlrpc_env *env, const struct raft_msg *m,
			  const char *secret);

/* Decodes a struct value of the given type into *m.  The entries of an
 * append request are heap copies owned by *m: release with
 * raft_msg_free().  On failure env is set (fault -501/-502/3) and *m holds
 * nothing to free. */
void wire_decode(xmlrpc_env *env, xmlrpc_value *v, enum raft_msg_type type,
		 struct raft_msg *m);

#endif /* RAFTD_WIRE_H */
