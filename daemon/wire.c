/* wire.c: Raft peer messages as XML-RPC values (requestVote, appendEntries).
 *
 * Indexes and terms travel as <i8>; entry payloads as <base64>, since they
 * are arbitrary bytes.  The shapes are internal to raftd (contract §3). */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "rpcfault.h"

const char *wire_method(enum raft_msg_type type)
{
	switch (type) {
	case RAFT_MSG_VOTE:
	case RAFT_MSG_VOTE_RESP:
		return "requestVote";
	case RAFT_MSG_APPEND:
	case RAFT_MSG_APPEND_RESP:
		return "appendEntries";
	}
	return "?";
}

static xmlrpc_value *encode_entries(xmlrpc_env *env, const struct raft_msg *m)
{
	xmlrpc_value *arr = xmlrpc_array_new(env);
	uint32_t i;

	for (i = 0; i < m->u.append.n_entries && !env->fault_occurred; i++) {
		const struct raft_entry *e = &m->u.append.entries[i];
		xmlrpc_value *ev = xmlrpc_build_value(
		    env, "{s:I,s:i,s:6}", "term", (xmlrpc_int64)e->term, "type",
		    (xmlrpc_int32)e->type, "data",
		    (const unsigned char *)(e->buf ? (const char *)e->buf : ""),
		    (size_t)e->len);
		if (env->fault_occurred)
			break;
		xmlrpc_array_append_item(env, arr, ev);
		xmlrpc_DECREF(ev);
	}
	if (env->fault_occurred) {
		xmlrpc_DECREF(arr);
		return NULL;
	}
	return arr;
}

xmlrpc_value *wire_encode(xmlrpc_env *env, const struct raft_msg *m,
			  const char *secret)
{
	xmlrpc_value *v = NULL, *entries = NULL;
	const struct raft_msg_append_resp *ar = &m->u.append_resp;
	const struct raft_msg_append *a = &m->u.append;

	switch (m->type) {
	case RAFT_MSG_VOTE:
		v = xmlrpc_build_value(
		    env, "{s:i,s:i,s:I,s:b,s:I,s:I}", "from",
		    (xmlrpc_int32)m->from, "to", (xmlrpc_int32)m->to, "term",
		    (xmlrpc_int64)m->term, "prevote",
		    (xmlrpc_bool)m->u.vote.prevote, "lastLogIndex",
		    (xmlrpc_int64)m->u.vote.last_log_index, "lastLogTerm",
		    (xmlrpc_int64)m->u.vote.last_log_term);
		break;
	case RAFT_MSG_VOTE_RESP:
		v = xmlrpc_build_value(
		    env, "{s:i,s:i,s:I,s:b,s:b}", "from", (xmlrpc_int32)m->from,
		    "to", (xmlrpc_int32)m->to, "term", (xmlrpc_int64)m->term,
		    "prevote", (xmlrpc_bool)m->u.vote_resp.prevote, "granted",
		    (xmlrpc_bool)m->u.vote_resp.granted);
		break;
	case RAFT_MSG_APPEND:
		entries = encode_entries(env, m);
		if (env->fault_occurred)
			return NULL;
		v = xmlrpc_build_value(
		    env, "{s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:A}", "from",
		    (xmlrpc_int32)m->from, "to", (xmlrpc_int32)m->to, "term",
		    (xmlrpc_int64)m->term, "prevIndex",
		    (xmlrpc_int64)a->prev_index, "prevTerm",
		    (xmlrpc_int64)a->prev_term, "commit",
		    (xmlrpc_int64)a->leader_commit, "seq", (xmlrpc_int64)a->seq,
		    "entries", entries);
		xmlrpc_DECREF(entries);
		break;
	case RAFT_MSG_APPEND_RESP:
		v = xmlrpc_build_value(
		    env, "{s:i,s:i,s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:I}", "from",
		    (xmlrpc_int32)m->from, "to", (xmlrpc_int32)m->to, "term",
		    (xmlrpc_int64)m->term, "success", (xmlrpc_bool)ar->success,
		    "prevIndex", (xmlrpc_int64)ar->prev_index, "matchIndex",
		    (xmlrpc_int64)ar->match_index, "conflictTerm",
		    (xmlrpc_int64)ar->conflict_term, "conflictIndex",
		    (xmlrpc_int64)ar->conflict_index, "lastLogIndex",
		    (xmlrpc_int64)ar->last_log_index, "seq",
		    (xmlrpc_int64)ar->seq);
		break;
	}
	if (env->fault_occurred || v == NULL)
		return NULL;
	if (secret != NULL) {
		xmlrpc_value *s = xmlrpc_string_new(env, secret);
		if (!env->fault_occurred) {
			xmlrpc_struct_set_value(env, v, "secret", s);
			xmlrpc_DECREF(s);
		}
		if (env->fault_occurred) {
			xmlrpc_DECREF(v);
			return NULL;
		}
	}
	return v;
}

/* Non-negative 64-bit fields only. */
static int check_u64(xmlrpc_env *env, xmlrpc_int64 x, uint64_t *out)
{
	if (x < 0) {
		xmlrpc_env_set_fault(env, RPC_FAULT_INVALID,
				     "negative index or term");
		return -1;
	}
	*out = (uint64_t)x;
	return 0;
}

static void decode_entries(xmlrpc_env *env, xmlrpc_value *arr,
			   struct raft_msg *m)
{
	int n = xmlrpc_array_size(env, arr);
	int i;

	if (env->fault_occurred)
		return;
	if (n < 0 || n > 100000) {
		xmlrpc_env_set_fault(env, RPC_FAULT_INVALID, "bad entry count");
		return;
	}
	m->u.append.entries = calloc((size_t)n + 1, sizeof(struct raft_entry));
	if (m->u.append.entries == NULL) {
		xmlrpc_env_set_fault(env, RPC_FAULT_INVALID, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		struct raft_entry *e = &m->u.append.entries[i];
		xmlrpc_value *ev = NULL;
		xmlrpc_int64 term;
		xmlrpc_int32 type;
		const unsigned char *data = NULL;
		size_t len = 0;

		xmlrpc_array_read_item(env, arr, i, &ev);
		if (env->fault_occurred)
			return;
		xmlrpc_decompose_value(env, ev, "{s:I,s:i,s:6,*}", "term",
				       &term, "type", &type, "data", &data,
				       &len);
		xmlrpc_DECREF(ev);
		if (env->fault_occurred)
			return;
		m->u.append.n_entries = (uint32_t)i + 1;
		e->buf = (uint8_t *)data;
		e->len = (uint32_t)len;
		if (len > RAFT_MAX_ENTRY_BYTES || type < 0 || type > 255 ||
		    check_u64(env, term, &e->term) < 0) {
			if (!env->fault_occurred)
				xmlrpc_env_set_fault(env, RPC_FAULT_INVALID,
						     "bad entry");
			return;
		}
		if (len == 0) {
			free(e->buf);
			e->buf = NULL;
		}
		e->type = (uint8_t)type;
	}
}

void wire_decode(xmlrpc_env *env, xmlrpc_value *v, enum raft_msg_type type,
		 struct raft_msg *m)
{
	xmlrpc_int32 from = 0, to = 0;
	xmlrpc_int64 term = 0, x[7] = {0};
	xmlrpc_bool b1 = 0, b2 = 0;
	xmlrpc_value *entries = NULL;

	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case RAFT_MSG_VOTE:
		xmlrpc_decompose_value(
		    env, v, "{s:i,s:i,s:I,s:b,s:I,s:I,*}", "from", &from, "to",
		    &to, "term", &term, "prevote", &b1, "lastLogIndex", &x[0],
		    "lastLogTerm", &x[1]);
		if (env->fault_occurred)
			break;
		m->u.vote.prevote = b1;
		if (check_u64(env, x[0], &m->u.vote.last_log_index) < 0 ||
		    check_u64(env, x[1], &m->u.vote.last_log_term) < 0)
			break;
		break;
	case RAFT_MSG_VOTE_RESP:
		xmlrpc_decompose_value(env, v, "{s:i,s:i,s:I,s:b,s:b,*}",
				       "from", &from, "to", &to, "term", &term,
				       "prevote", &b1, "granted", &b2);
		if (env->fault_occurred)
			break;
		m->u.vote_resp.prevote = b1;
		m->u.vote_resp.granted = b2;
		break;
	case RAFT_MSG_APPEND:
		xmlrpc_decompose_value(
		    env, v, "{s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:A,*}", "from", &from,
		    "to", &to, "term", &term, "prevIndex", &x[0], "prevTerm",
		    &x[1], "commit", &x[2], "seq", &x[3], "entries", &entries);
		if (env->fault_occurred)
			break;
		if (check_u64(env, x[0], &m->u.append.prev_index) < 0 ||
		    check_u64(env, x[1], &m->u.append.prev_term) < 0 ||
		    check_u64(env, x[2], &m->u.append.leader_commit) < 0 ||
		    check_u64(env, x[3], &m->u.append.seq) < 0) {
			xmlrpc_DECREF(entries);
			break;
		}
		decode_entries(env, entries, m);
		xmlrpc_DECREF(entries);
		break;
	case RAFT_MSG_APPEND_RESP:
		xmlrpc_decompose_value(
		    env, v, "{s:i,s:i,s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:I,*}", "from",
		    &from, "to", &to, "term", &term, "success", &b1,
		    "prevIndex", &x[0], "matchIndex", &x[1], "conflictTerm",
		    &x[2], "conflictIndex", &x[3], "lastLogIndex", &x[4], "seq",
		    &x[5]);
		if (env->fault_occurred)
			break;
		m->u.append_resp.success = b1;
		if (check_u64(env, x[0], &m->u.append_resp.prev_index) < 0 ||
		    check_u64(env, x[1], &m->u.append_resp.match_index) < 0 ||
		    check_u64(env, x[2], &m->u.append_resp.conflict_term) < 0 ||
		    check_u64(env, x[3], &m->u.append_resp.conflict_index) < 0 ||
		    check_u64(env, x[4], &m->u.append_resp.last_log_index) < 0 ||
		    check_u64(env, x[5], &m->u.append_resp.seq) < 0)
			break;
		break;
	}
	if (!env->fault_occurred &&
	    (from <= 0 || to <= 0 || check_u64(env, term, &m->term) < 0) &&
	    !env->fault_occurred)
		xmlrpc_env_set_fault(env, RPC_FAULT_INVALID, "bad node id");
	if (env->fault_occurred) {
		raft_msg_free(m);
		return;
	}
	m->from = (uint32_t)from;
	m->to = (uint32_t)to;
}
