/* rpc.h: raftctl's side of the XML-RPC API (docs/API.md): calls with
 * sub-second deadlines, parallel status scans, finding the leader, and
 * calls that follow NOT_LEADER hints and retry until an overall deadline.
 *
 * Single-threaded: one xmlrpc-c client, driven through the asynchronous
 * API (xmlrpc_client_start_rpc + event_loop_finish_timeout + an interrupt
 * flag), because the curl transport's own timeouts are 3-second granular
 * (docs/XMLRPC-C.md §4).  xmlrpc_client_setup_global_const() must have
 * been called (once, in main) before rpc_new(). */
#ifndef RAFTCTL_RPC_H
#define RAFTCTL_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xmlrpc-c/base.h>

#include "api.h" /* the fault codes, API_FAULT_* */
#include "nodelist.h"

enum {
	RPC_OK = 0,
	RPC_EUNAVAIL = -1, /* no usable answer before the deadline */
	RPC_EFAULT = -2,   /* a fault retrying cannot fix (err->fault) */
	RPC_EPROTO = -3,   /* an answer of an unexpected shape */
	RPC_ESETUP = -4,   /* the xmlrpc-c client could not be made */
};

/* What went wrong, for the one-line message the user sees. */
struct rpc_error {
	int fault;     /* the fault code; 0 when there was none */
	char msg[512]; /* without xmlrpc-c's "RPC failed at server." */
};

/* One node's status() answer, or why there is none. */
struct rpc_status {
	bool up;
	char error[512]; /* when !up */
	int64_t id;
	char state[16];
	int64_t term;
	int64_t leader;
	char leader_address[NODELIST_ADDR_MAX];
	int64_t commit_index;
	int64_t last_applied;
	int64_t last_log_index;
	int64_t last_log_term;
	/* Snapshots and the log's size (docs/API.md); -1 each when the node
	 * does not report them (an older raftd). */
	int64_t snapshot_index, snapshot_term, snapshot_bytes;
	int64_t snapshots_taken, snapshots_installed, snapshots_sent;
	int64_t snapshot_pause_max_us;
	int64_t log_first_index, log_entries, log_bytes;
	bool has_snapshot_error;
	char snapshot_error[256]; /* "" when the last one went well */
	/* rpc_status_all() only: the whole answer (a reference; release
	 * with rpc_status_release()), NULL when !up. */
	xmlrpc_value *raw;
};

struct rpc;

/* Makes a client for the nodes in `nodes` (copied; hints may add nodes
 * to the copy).  `verbose` traces every attempt on stderr.  On success
 * *out is the caller's (rpc_free()); RPC_ESETUP with a message otherwise. */
int rpc_new(const struct nodelist *nodes, bool verbose, struct rpc **out,
	    char *err, size_t errlen);

/* Frees `r`; NULL is fine. */
void rpc_free(struct rpc *r);

/* Turns the tracing of rpc_new()'s `verbose` on or off; returns what it
 * was (a quiet call in a verbose session puts it back after). */
bool rpc_set_verbose(struct rpc *r, bool verbose);

/* Sets the absolute deadline (util_now_ms() clock) that bounds every
 * later call and retry. */
void rpc_set_deadline(struct rpc *r, uint64_t deadline_ms);

/* The nodes as now known (hints may have added some); borrowed. */
const struct nodelist *rpc_nodes(const struct rpc *r);

/* Asks every node for status() in parallel, waiting at most `timeout_ms`
 * (and never past the deadline).  `st` has room for rpc_nodes()->n
 * answers; nodes that do not answer in time are marked down. */
void rpc_status_all(struct rpc *r, uint64_t timeout_ms, struct rpc_status *st);

/* Drops the answers rpc_status_all() kept in st[0..n-1] (raw). */
void rpc_status_release(struct rpc_status *st, size_t n);

/* Finds the leader: scans status() of all nodes (following leaderAddress
 * to nodes not in the list) until one reports itself leader, retrying
 * with backoff until the deadline.  *pos is its position in rpc_nodes(),
 * *st (may be NULL) its status.  RPC_EUNAVAIL with err set otherwise. */
int rpc_find_leader(struct rpc *r, size_t *pos, struct rpc_status *st,
		    struct rpc_error *err);

/* One call to the node at `pos`, bounded by `timeout_ms` and the
 * deadline.  On RPC_OK *result is a new reference the caller DECREFs.
 * Otherwise err says why: err->fault is the server's fault code, or
 * XMLRPC_NETWORK_ERROR (-504) for any transport problem or time-out.
 * Returns RPC_OK, RPC_EFAULT (any fault) or RPC_EUNAVAIL (deadline
 * already passed). */
int rpc_call_node(struct rpc *r, size_t pos, const char *method,
		  xmlrpc_value *params, uint64_t timeout_ms,
		  xmlrpc_value **result, struct rpc_error *err);

/* Calls `method` on the leader: follows NOT_LEADER hints, and retries
 * TIMEOUT (2), UNAVAILABLE (6) and transport errors with the SAME params
 * (so a write carries the same tid, which the cluster de-duplicates) with
 * a short backoff, until it succeeds or the deadline passes.  The leader
 * found is kept for the next call.  `params` is only read.
 *   RPC_OK        *result is a new reference (DECREF it)
 *   RPC_EFAULT    a final fault (INVALID, NOT_FOUND, ...): err->fault
 *   RPC_EUNAVAIL  the deadline passed; err holds the last problem */
int rpc_call_leader(struct rpc *r, const char *method, xmlrpc_value *params,
		    xmlrpc_value **result, struct rpc_error *err);

/* Where rpc_call_leader() last got an answer, -1 when no leader is known;
 * for messages and the shell prompt. */
int rpc_leader_pos(const struct rpc *r);

/* Adds a node the user did not list (a member the cluster's configuration
 * names): nodelist_add(). */
int rpc_add_node(struct rpc *r, uint32_t id, const char *addr, size_t *pos);

/* ---- decoding answers (result is only read) ------------------------- */

/* Reads an int (i4 or i8) / boolean / string member of a struct; a
 * missing member or a wrong type is RPC_EPROTO.  The string is copied
 * into `out` (cut at outlen - 1 bytes). */
int rpc_struct_int(xmlrpc_value *s, const char *key, int64_t *out);
int rpc_struct_bool(xmlrpc_value *s, const char *key, bool *out);
int rpc_struct_str(xmlrpc_value *s, const char *key, char *out, size_t outlen);
/* As rpc_struct_str(), but a malloc'd copy the caller frees. */
int rpc_struct_strdup(xmlrpc_value *s, const char *key, char **out);

/* Reads a base64 member of a struct: *out is malloc'd (the caller frees
 * it), *len its size.  RPC_EPROTO when missing or of another type. */
int rpc_struct_base64(xmlrpc_value *s, const char *key, uint8_t **out,
		      size_t *len);

/* Reads a boolean / a string (malloc'd, the caller frees) result. */
int rpc_value_bool(xmlrpc_value *v, bool *out);
int rpc_value_strdup(xmlrpc_value *v, char **out);

/* Decodes a status() struct into *st (st->up set). */
int rpc_decode_status(xmlrpc_value *v, struct rpc_status *st);

#endif /* RAFTCTL_RPC_H */
