/* api.h: what raftd's XML-RPC API and its clients agree on (docs/API.md):
 * the fault codes, the NOT_LEADER hint and its parser, the limits a
 * client may rely on and the default timeouts.  raftd answers with these;
 * raftctl reads them; the test harnesses mirror them. */
#ifndef RAFT_COMMON_API_H
#define RAFT_COMMON_API_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* Fault codes (docs/API.md, "Faults"). */
enum api_fault {
	API_FAULT_NOT_LEADER = 1,   /* go to the leader named in the hint */
	API_FAULT_TIMEOUT = 2,	    /* outcome unknown: retry with the tid */
	API_FAULT_INVALID = 3,	    /* fix the call */
	API_FAULT_NOT_FOUND = 4,    /* get of an absent key */
	API_FAULT_UNAUTHORIZED = 5, /* peer call without a valid proof */
	API_FAULT_UNAVAILABLE = 6,  /* shutting down; retry later */
	/* Internal to raftd's peers: a peer message needs no answer. */
	API_FAULT_NO_REPLY = 100,
};

/* The default of request_timeout_ms: how long a call may wait for its
 * commit before fault 2. */
#define API_DEFAULT_REQUEST_TIMEOUT_MS 5000u

/* The largest XML-RPC body either way, and what one answer may hold
 * (docs/API.md, "Limits"). */
#define API_MAX_BODY (4u * 1024u * 1024u)
#define API_MAX_ITEMS 10000u

/* snapshot() waits this long for the snapshot to be written; a
 * readSnapshot() answer carries at most this many bytes of the file (in
 * base64, well within API_MAX_BODY). */
#define API_SNAPSHOT_TIMEOUT_MS 120000u
/* transferLeader() waits this long for another node to lead. */
#define API_TRANSFER_TIMEOUT_MS 3000u
#define API_SNAPSHOT_CHUNK (1024u * 1024u)

/* The NOT_LEADER fault string: "not leader; leader=ID@HOST:PORT", or
 * "not leader; leader=unknown" when id is 0 or addr NULL/empty. */
#define API_HINT_MAX (ADDR_MAX + 48)
void api_format_hint(uint32_t id, const char *addr, char *out, size_t size);

/* Parses a NOT_LEADER fault string (any prefix before "leader=" is
 * ignored, e.g. xmlrpc-c's "RPC failed at server."):
 *   0   a leader is named: *id and addr (a checked HOST:PORT) are set
 *   1   the leader is unknown
 *  -1   no hint, or a malformed one */
int api_parse_hint(const char *fault, uint32_t *id, char *addr, size_t addrlen);

#endif /* RAFT_COMMON_API_H */
