/* peer_rpc.c: the peer methods, requestVote(frame), appendEntries(frame)
 * and installSnapshot(frame) (peer_rpc.h).  A frame is refused by its header
 * (receiver, member sender, method), then its MAC, before its body is
 * decoded; only then does the node see the message. */
#include "peer_rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "log.h"
#include "peerauth.h"
#include "wire.h"
#include "xalloc.h"

struct peer_rpc {
	struct node *node;
	const struct config *cfg;
	uint32_t self_id;
	struct log_limit refused_limit; /* refused peer calls, any thread */
};

struct peer_rpc *peer_rpc_new(struct node *node, const struct config *cfg,
			      uint32_t self_id)
{
	struct peer_rpc *s = xcalloc(1, sizeof(*s));

	s->node = node;
	s->cfg = cfg;
	s->self_id = self_id;
	return s;
}

void peer_rpc_free(struct peer_rpc *s) { free(s); }

static void peer_fault(xmlrpc_env *env, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void peer_fault(xmlrpc_env *env, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xmlrpc_env_set_fault(env, code, msg);
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Refused peer calls are logged at most once a second (log_limit), with
 * the count of those not logged, so that a flood of forged calls cannot
 * flood the log. */
static void log_refused(struct peer_rpc *s, const char *method, const char *why)
{
	uint64_t held;

	if (log_limit_pass(&s->refused_limit, &held))
		log_warn("refused %s: %s (and %llu more refused peer calls "
			 "since the last such line)",
			 method, why, (unsigned long long)held);
}

/* The checks every peer frame passes before its body is decoded: one
 * <base64> argument, a header for this method, from a member to this
 * node, and its MAC.  On success *frame (the caller frees it), *len, *h
 * and *tag are set; otherwise a fault is set in env. */
static int frame_open(xmlrpc_env *env, xmlrpc_value *params, struct peer_rpc *s,
		      enum raft_msg_type type, const char *method,
		      const unsigned char **frame, size_t *len,
		      struct wire_header *h, struct peerauth_tag *tag)
{
	xmlrpc_value *arg = NULL;
	const char *why = NULL;
	uint64_t leader_term;
	int rv;

	*frame = NULL;
	*len = 0;
	if (xmlrpc_array_size(env, params) != 1 && !env->fault_occurred)
		peer_fault(env, API_FAULT_INVALID, "%s takes one argument",
			   method);
	if (env->fault_occurred)
		goto out;
	xmlrpc_array_read_item(env, params, 0, &arg);
	if (env->fault_occurred)
		goto out;
	if (xmlrpc_value_type(arg) != XMLRPC_TYPE_BASE64) {
		peer_fault(env, API_FAULT_INVALID, "%s takes one base64 frame",
			   method);
		goto out;
	}
	xmlrpc_read_base64(env, arg, len, frame);
	if (env->fault_occurred)
		goto out;
	/* Cheapest checks first, and the MAC before anything is allocated
	 * for the body: the header names the sender and the receiver, and a
	 * frame for another node must not touch this node's replay windows
	 * (a captured frame to node C replayed at node B would move B's
	 * window and lock out the sender's real frames). */
	if (wire_peek(*frame, *len, h, &why) != 0) {
		log_refused(s, method, why);
		peer_fault(env, API_FAULT_INVALID, "%s: bad frame: %s", method,
			   why);
		goto out;
	}
	if (h->type != type) {
		log_refused(s, method, "frame of another method");
		peer_fault(env, API_FAULT_INVALID,
			   "%s: frame of another method", method);
		goto out;
	}
	/* Any other node of the cluster may send (a member the config
	 * file does not list, or one this node's log does not list yet:
	 * thesis §4.1); the core decides what a non-member may say. */
	if (h->to != s->self_id || h->from == s->self_id) {
		log_refused(s, method, "not from a peer to this node");
		peer_fault(env, API_FAULT_INVALID,
			   "%s: not from a peer to this node", method);
		goto out;
	}
	if (h->cluster != node_cluster_id(s->node)) {
		log_refused(s, method, "from a node of another cluster");
		peer_fault(env, API_FAULT_UNAUTHORIZED,
			   "unauthorized: node %u belongs to another cluster "
			   "(id %016llx, ours %016llx)",
			   h->from, (unsigned long long)h->cluster,
			   (unsigned long long)node_cluster_id(s->node));
		goto out;
	}
	rv = peerauth_verify_request(node_peerauth(s->node), h->from, wall_ms(),
				     *frame, *len, h->auth, tag);
	if (rv != PEERAUTH_OK) {
		log_refused(s, method, peerauth_strerror(rv));
		peer_fault(env, API_FAULT_UNAUTHORIZED, "unauthorized: %s",
			   peerauth_strerror(rv));
		goto out;
	}
	/* After the MAC, so that only the cluster's nodes are recorded.  A
	 * leader's frame with a new incarnation is taken once its term is
	 * this node's or later (node_check_peer): this node missed the
	 * member's removal and return, and only the leader can bring it the
	 * entries that say so. */
	leader_term = h->type == RAFT_MSG_APPEND || h->type == RAFT_MSG_SNAPSHOT
			  ? h->term
			  : 0;
	rv = node_check_peer(s->node, h->from, h->incarnation, leader_term);
	if (rv > 0)
		log_warn("node %u leads term %llu with another incarnation "
			 "(%016llx) than this node recorded: taken; it was "
			 "removed and added back with a new data directory "
			 "while this node was behind",
			 h->from, (unsigned long long)h->term,
			 (unsigned long long)h->incarnation);
	if (rv < 0) {
		log_refused(s, method,
			    "the sender's data directory changed (wiped or "
			    "replaced): remove it from the configuration and "
			    "add it again");
		peer_fault(env, API_FAULT_UNAUTHORIZED,
			   "unauthorized: node %u's incarnation changed: "
			   "remove it (raftctl member remove %u) and add it "
			   "again",
			   h->from, h->from);
		goto out;
	}
out:
	if (arg)
		xmlrpc_DECREF(arg);
	if (env->fault_occurred) {
		free((void *)*frame);
		*frame = NULL;
		return -1;
	}
	return 0;
}

/* The answer frame for reply, signed for the request's tag.  Frees
 * reply. */
static xmlrpc_value *answer_frame(xmlrpc_env *env, struct peer_rpc *s,
				  struct raft_msg *reply,
				  const struct peerauth_tag *tag)
{
	struct peerauth *auth = node_peerauth(s->node);
	size_t rlen = wire_body_size(reply);
	uint8_t *rbuf = malloc(rlen + peerauth_trailer_size(auth));
	xmlrpc_value *out = NULL;

	if (rbuf == NULL) {
		peer_fault(env, API_FAULT_UNAVAILABLE, "out of memory");
		goto out;
	}
	wire_encode(reply, peerauth_enabled(auth), rbuf);
	wire_set_ident(rbuf, node_cluster_id(s->node),
		       node_incarnation(s->node));
	peerauth_sign_response(auth, tag, wall_ms(), rbuf, rlen);
	out = xmlrpc_base64_new(env, rlen + peerauth_trailer_size(auth), rbuf);
out:
	raft_msg_free(reply);
	free(rbuf);
	return out;
}

/* requestVote(frame) and appendEntries(frame): one <base64> frame in
 * (wire.h), checked (decode, bounds, peerauth.h) before the node sees it;
 * the answer's frame out, bound to the request by its MAC. */
static xmlrpc_value *peer_method(xmlrpc_env *env, xmlrpc_value *params,
				 struct peer_rpc *s, enum raft_msg_type type,
				 const char *method)
{
	xmlrpc_value *out = NULL;
	const unsigned char *frame = NULL;
	size_t len = 0;
	struct raft_msg m, reply;
	struct wire_header h;
	struct peerauth_tag tag;
	const char *why = NULL;
	bool has_auth = false, decoded = false, has_reply = false;

	memset(&m, 0, sizeof(m));
	if (frame_open(env, params, s, type, method, &frame, &len, &h, &tag) !=
	    0)
		goto out;
	if (wire_decode(frame, len, &m, &has_auth, &why) != 0) {
		log_refused(s, method, why);
		peer_fault(env, API_FAULT_INVALID, "%s: bad frame: %s", method,
			   why);
		goto out;
	}
	decoded = true;
	if (node_peer_message(s->node, &m, &reply, &has_reply) != 0 &&
	    !has_reply) {
		peer_fault(env, API_FAULT_INVALID, "%s refused", method);
		goto out;
	}
	if (!has_reply) {
		peer_fault(env, API_FAULT_NO_REPLY, "no reply");
		goto out;
	}
	out = answer_frame(env, s, &reply, &tag);
out:
	if (decoded)
		wire_msg_release(&m);
	free((void *)frame);
	return out;
}

/* installSnapshot(frame): one chunk of the leader's snapshot (wire.h).
 * Answers the offset expected next (an i8), or, for the chunk that
 * completes it, the core's RAFT_MSG_SNAPSHOT_RESP as a signed frame. */
static xmlrpc_value *chunk_method(xmlrpc_env *env, xmlrpc_value *params,
				  struct peer_rpc *s)
{
	static const char method[] = "installSnapshot";
	xmlrpc_value *out = NULL;
	const unsigned char *frame = NULL;
	size_t len = 0;
	struct wire_chunk k;
	struct node_chunk c;
	struct raft_msg reply;
	struct wire_header h;
	struct peerauth_tag tag;
	const char *why = NULL;
	char err[512];
	uint64_t next = 0;
	bool has_auth = false, has_reply = false;

	if (frame_open(env, params, s, RAFT_MSG_SNAPSHOT, method, &frame, &len,
		       &h, &tag) != 0)
		goto out;
	if (wire_chunk_decode(frame, len, &k, &has_auth, &why) != 0) {
		log_refused(s, method, why);
		peer_fault(env, API_FAULT_INVALID, "%s: bad frame: %s", method,
			   why);
		goto out;
	}
	c.from = k.from;
	c.term = k.term;
	c.index = k.index;
	c.sterm = k.sterm;
	c.total = k.total;
	c.offset = k.offset;
	c.data = k.data;
	c.len = k.len;
	if (node_snapshot_chunk(s->node, &c, &next, &reply, &has_reply, err,
				sizeof(err)) != 0) {
		log_refused(s, method, err);
		peer_fault(env, API_FAULT_INVALID, "%s: %s", method, err);
		goto out;
	}
	if (has_reply)
		out = answer_frame(env, s, &reply, &tag);
	else if (next < k.total)
		out = xmlrpc_i8_new(env, (xmlrpc_int64)next);
	else
		peer_fault(env, API_FAULT_NO_REPLY, "no reply");
out:
	free((void *)frame);
	return out;
}

/* The peer methods answer in the calling thread (node_peer_message()
 * waits for this node's own fsync, as Raft requires of an answer). */
static void peer_call(struct call *c, xmlrpc_value *params, void *arg,
		      enum raft_msg_type type, const char *method)
{
	xmlrpc_env env;
	xmlrpc_value *v;

	xmlrpc_env_init(&env);
	v = peer_method(&env, params, arg, type, method);
	if (env.fault_occurred)
		call_fault_env(c, &env);
	else
		call_return(c, v);
	xmlrpc_env_clean(&env);
}

static void meth_request_vote(struct call *c, xmlrpc_value *params, void *arg)
{
	peer_call(c, params, arg, RAFT_MSG_VOTE, "requestVote");
}

static void meth_append_entries(struct call *c, xmlrpc_value *params, void *arg)
{
	peer_call(c, params, arg, RAFT_MSG_APPEND, "appendEntries");
}

static void meth_timeout_now(struct call *c, xmlrpc_value *params, void *arg)
{
	peer_call(c, params, arg, RAFT_MSG_TIMEOUT_NOW, "timeoutNow");
}

static void meth_install_snapshot(struct call *c, xmlrpc_value *params,
				  void *arg)
{
	xmlrpc_env env;
	xmlrpc_value *v;

	xmlrpc_env_init(&env);
	v = chunk_method(&env, params, arg);
	if (env.fault_occurred)
		call_fault_env(c, &env);
	else
		call_return(c, v);
	xmlrpc_env_clean(&env);
}

const struct method_def peer_rpc_methods[] = {
    {"requestVote", meth_request_vote, NULL, "peer RPC"},
    {"appendEntries", meth_append_entries, NULL, "peer RPC"},
    {"installSnapshot", meth_install_snapshot, NULL, "peer RPC"},
    {"timeoutNow", meth_timeout_now, NULL, "peer RPC"},
};

const size_t peer_rpc_methods_count =
    sizeof(peer_rpc_methods) / sizeof(peer_rpc_methods[0]);
