/* wire.c: Raft peer messages as XML-RPC values (requestVote, appendEntries).
 *
 * Indexes and terms travel as <i8>; an AppendEntries' entries as one
 * <base64> blob of packed records (see encode_entries).  The shapes are internal to raftd (contract §3). */
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

/* AppendEntries' entries travel as ONE <base64> value holding packed
 * records (term u64, type u8, len u32, little-endian, then the bytes):
 * parsing a struct per entry cost xmlrpc-c about 5 µs and a dozen mallocs
 * per 100-byte entry (XMLRPC-C.md §6), which dominated a follower's CPU. */
#define WIRE_ENTRY_HEADER 13

static void put_le(uint8_t *p, uint64_t x, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t x = 0;
	int i;

	for (i = bytes - 1; i >= 0; i--)
		x = (x << 8) | p[i];
	return x;
}

static xmlrpc_value *encode_entries(xmlrpc_env *env, const struct raft_msg *m)
{
	xmlrpc_value *v = NULL;
	uint8_t *buf = NULL, *p;
	size_t size = 0;
	uint32_t i;

	for (i = 0; i < m->u.append.n_entries; i++)
		size += WIRE_ENTRY_HEADER + m->u.append.entries[i].len;
	buf = malloc(size ? size : 1);
	if (buf == NULL) {
		xmlrpc_env_set_fault(env, RPC_FAULT_INVALID, "out of memory");
		goto out;
	}
	p = buf;
	for (i = 0; i < m->u.append.n_entries; i++) {
		const struct raft_entry *e = &m->u.append.entries[i];
		put_le(p, e->term, 8);
		p[8] = e->type;
		put_le(p + 9, e->len, 4);
		if (e->len)
			memcpy(p + WIRE_ENTRY_HEADER, e->buf, e->len);
		p += WIRE_ENTRY_HEADER + e->len;
	}
	v = xmlrpc_base64_new(env, size, buf);
out:
	free(buf);
	return env->fault_occurred ? NULL : v;
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
		    env, "{s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:V}", "from",
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

static void decode_entries(xmlrpc_env *env, xmlrpc_value *blob,
			   struct raft_msg *m)
{
	const unsigned char *buf = NULL;
	size_t size = 0, off = 0, n = 0;

	xmlrpc_read_base64(env, blob, &size, &buf);
	if (env->fault_occurred)
		return;
	/* Count and check the records first, then copy them out. */
	while (off < size) {
		uint64_t len;
		if (size - off < WIRE_ENTRY_HEADER)
			goto bad;
		len = get_le(buf + off + 9, 4);
		if (len > RAFT_MAX_ENTRY_BYTES ||
		    len > size - off - WIRE_ENTRY_HEADER)
			goto bad;
		off += WIRE_ENTRY_HEADER + len;
		n++;
	}
	if (n > 100000)
		goto bad;
	m->u.append.entries = calloc(n + 1, sizeof(struct raft_entry));
	if (m->u.append.entries == NULL) {
		xmlrpc_env_set_fault(env, RPC_FAULT_INVALID, "out of memory");
		goto out;
	}
	for (off = 0; m->u.append.n_entries < n;) {
		struct raft_entry *e =
		    &m->u.append.entries[m->u.append.n_entries];
		e->term = get_le(buf + off, 8);
		e->type = buf[off + 8];
		e->len = (uint32_t)get_le(buf + off + 9, 4);
		if (e->len) {
			e->buf = malloc(e->len);
			if (e->buf == NULL) {
				xmlrpc_env_set_fault(env, RPC_FAULT_INVALID,
						     "out of memory");
				goto out;
			}
			memcpy(e->buf, buf + off + WIRE_ENTRY_HEADER, e->len);
		}
		m->u.append.n_entries++;
		off += WIRE_ENTRY_HEADER + e->len;
	}
	goto out;
bad:
	xmlrpc_env_set_fault(env, RPC_FAULT_INVALID, "bad entries");
out:
	free((void *)buf);
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
		    env, v, "{s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:V,*}", "from", &from,
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
