/* server.c: raftd's XML-RPC server: the client API and the peer methods.
 *
 * Built on Abyss directly (not xmlrpc_server_abyss_create) so that raftd
 * can bind the configured address only, tune the connection limits, and
 * put a guard in front of the XML parser (XMLRPC-C.md §2, §3, §5):
 *   - any body containing "<!" (a DTD: the entity-expansion bomb) is
 *     refused with a fault before expat sees it;
 *   - 256 connections, 3 s keep-alive, unlimited requests per connection,
 *     a 10 s whole-request deadline: an idle keep-alive flood cannot lock
 *     others out for long;
 *   - the processor runs with a 1 MiB stack (handler threads otherwise
 *     get ~131 KiB).
 * Faults follow contract §3; server.h lists them.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <time.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <xmlrpc-c/abyss.h>

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/server.h>
#include <xmlrpc-c/server_abyss.h>

#include "command.h"
#include "kv.h"
#include "log.h"
#include "peerauth.h"
#include "api.h"
#include "sm.h"
#include "wire.h"

#define SERVER_MAX_CONN 256
#define SERVER_KEEPALIVE_S 3
#define SERVER_TIMEOUT_S 10
#define SERVER_STACK (1024u * 1024u)

struct server {
	struct node *node;
	const struct config *cfg;
	uint32_t self_id;
	xmlrpc_registry *registry;
	TChanSwitch *chan;
	TServer abyss;
	bool created;
	struct log_limit refused_limit; /* refused peer calls */
};

/* ---- helpers ------------------------------------------------------------- */

static void fault(xmlrpc_env *env, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fault(xmlrpc_env *env, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xmlrpc_env_set_fault(env, code, msg);
}

static xmlrpc_value *status_fault(xmlrpc_env *env, struct server *s,
				  enum node_status st)
{
	char hint[CONFIG_ADDRESS_MAX + 64];

	switch (st) {
	case NODE_NOT_LEADER:
		node_leader_hint(s->node, hint, sizeof(hint));
		fault(env, API_FAULT_NOT_LEADER, "%s", hint);
		break;
	case NODE_TIMEOUT:
		fault(env, API_FAULT_TIMEOUT,
		      "timeout: not known to be committed; retry with the "
		      "same tid");
		break;
	case NODE_INVALID:
		fault(env, API_FAULT_INVALID, "invalid request");
		break;
	case NODE_NOT_FOUND:
		fault(env, API_FAULT_NOT_FOUND, "not found");
		break;
	case NODE_UNAVAILABLE:
		fault(env, API_FAULT_UNAVAILABLE, "unavailable: shutting down");
		break;
	case NODE_OK:
		break;
	}
	return NULL;
}

/* An int field: <i4> when it fits (what most clients expect), <i8>
 * beyond. */
static xmlrpc_value *int_value(xmlrpc_env *env, uint64_t x)
{
	if (x <= INT32_MAX)
		return xmlrpc_int_new(env, (int)x);
	return xmlrpc_i8_new(env, (xmlrpc_int64)x);
}

static void struct_set(xmlrpc_env *env, xmlrpc_value *st, const char *key,
		       xmlrpc_value *v)
{
	if (env->fault_occurred || v == NULL)
		return;
	xmlrpc_struct_set_value(env, st, key, v);
	xmlrpc_DECREF(v);
}

/* Parameters: the count must be in [min, max]. */
static int param_count(xmlrpc_env *env, xmlrpc_value *params, int min,
		       int max, const char *method)
{
	int n = xmlrpc_array_size(env, params);

	if (env->fault_occurred)
		return -1;
	if (n < min || n > max) {
		if (min == max)
			fault(env, API_FAULT_INVALID,
			      "%s takes %d argument%s, got %d", method, min,
			      min == 1 ? "" : "s", n);
		else
			fault(env, API_FAULT_INVALID,
			      "%s takes %d to %d arguments, got %d", method,
			      min, max, n);
		return -1;
	}
	return n;
}

/* A string parameter; caller frees *out. */
static int param_string(xmlrpc_env *env, xmlrpc_value *params, int i,
			const char *name, size_t maxlen, char **out,
			size_t *len)
{
	xmlrpc_value *v = NULL;
	const char *s = NULL;
	int rv = -1;

	*out = NULL;
	xmlrpc_array_read_item(env, params, i, &v);
	if (env->fault_occurred)
		goto out;
	if (xmlrpc_value_type(v) != XMLRPC_TYPE_STRING) {
		fault(env, API_FAULT_INVALID, "%s must be a string", name);
		goto out;
	}
	xmlrpc_read_string_lp(env, v, len, &s);
	if (env->fault_occurred)
		goto out;
	if (*len > maxlen) {
		fault(env, API_FAULT_INVALID, "%s too long (%zu bytes, limit %zu)",
		      name, *len, maxlen);
		free((void *)s);
		goto out;
	}
	*out = (char *)s;
	rv = 0;
out:
	if (v)
		xmlrpc_DECREF(v);
	return rv;
}

/* A tid: a string or an int, compared as a string (contract §3). */
static int param_tid(xmlrpc_env *env, xmlrpc_value *params, int i, char **out,
		     size_t *len)
{
	xmlrpc_value *v = NULL;
	char buf[32];
	int rv = -1;

	*out = NULL;
	xmlrpc_array_read_item(env, params, i, &v);
	if (env->fault_occurred)
		goto out;
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_STRING:
		xmlrpc_DECREF(v);
		v = NULL;
		rv = param_string(env, params, i, "tid", COMMAND_MAX_TID, out,
				  len);
		if (rv == 0 && *len == 0) {
			fault(env, API_FAULT_INVALID, "tid must not be empty");
			free(*out);
			*out = NULL;
			rv = -1;
		}
		goto out;
	case XMLRPC_TYPE_INT: {
		int x;
		xmlrpc_read_int(env, v, &x);
		snprintf(buf, sizeof(buf), "%d", x);
		break;
	}
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 x;
		xmlrpc_read_i8(env, v, &x);
		snprintf(buf, sizeof(buf), "%lld", (long long)x);
		break;
	}
	default:
		fault(env, API_FAULT_INVALID, "tid must be a string or an int");
		goto out;
	}
	if (env->fault_occurred)
		goto out;
	*out = strdup(buf);
	*len = strlen(buf);
	rv = *out ? 0 : -1;
out:
	if (v)
		xmlrpc_DECREF(v);
	return rv;
}

static int param_int(xmlrpc_env *env, xmlrpc_value *params, int i,
		     const char *name, int64_t *out)
{
	xmlrpc_value *v = NULL;
	int rv = -1;

	xmlrpc_array_read_item(env, params, i, &v);
	if (env->fault_occurred)
		goto out;
	if (xmlrpc_value_type(v) == XMLRPC_TYPE_INT) {
		int x;
		xmlrpc_read_int(env, v, &x);
		*out = x;
	} else if (xmlrpc_value_type(v) == XMLRPC_TYPE_I8) {
		xmlrpc_int64 x;
		xmlrpc_read_i8(env, v, &x);
		*out = x;
	} else {
		fault(env, API_FAULT_INVALID, "%s must be an int", name);
		goto out;
	}
	rv = env->fault_occurred ? -1 : 0;
out:
	if (v)
		xmlrpc_DECREF(v);
	return rv;
}

/* Proposes an encoded command and waits for it to apply. */
static xmlrpc_value *do_write(xmlrpc_env *env, struct server *s,
			      const struct command *c, bool bool_result)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum sm_result res = SM_RESULT_INVALID;
	enum node_status st;
	xmlrpc_value *out = NULL;

	if (command_encode(c, &buf, &len) != 0) {
		fault(env, API_FAULT_INVALID, "request too large or invalid");
		return NULL;
	}
	st = node_write(s->node, buf, len, &res);
	free(buf);
	if (st != NODE_OK)
		return status_fault(env, s, st);
	switch (res) {
	case SM_RESULT_TID_CONFLICT:
		fault(env, API_FAULT_INVALID,
		      "tid already used with other arguments");
		break;
	case SM_RESULT_INVALID:
		fault(env, API_FAULT_INVALID, "invalid command");
		break;
	case SM_RESULT_TRUE:
	case SM_RESULT_FALSE:
		out = xmlrpc_bool_new(env, bool_result ? res == SM_RESULT_TRUE
						       : 1);
		break;
	}
	return out;
}

/* ---- client methods ------------------------------------------------------ */

static xmlrpc_value *meth_is_leader(xmlrpc_env *env, xmlrpc_value *params,
				 void *info, void *call)
{
	struct server *s = info;

	if (param_count(env, params, 0, 0, "isLeader") < 0)
		return NULL;
	return xmlrpc_bool_new(env, node_is_leader(s->node));
}

static xmlrpc_value *meth_add_entry(xmlrpc_env *env, xmlrpc_value *params,
				 void *info, void *call)
{
	struct server *s = info;
	struct command c;
	char *tid = NULL, *data = NULL;
	size_t tlen, dlen;
	xmlrpc_value *out = NULL;

	memset(&c, 0, sizeof(c));
	if (param_count(env, params, 2, 2, "addEntry") < 0 ||
	    param_tid(env, params, 0, &tid, &tlen) < 0 ||
	    param_string(env, params, 1, "data", COMMAND_MAX_VALUE, &data,
			 &dlen) < 0)
		goto out;
	c.op = COMMAND_ADD;
	c.has_tid = true;
	c.tid.p = tid;
	c.tid.len = tlen;
	c.data.p = data;
	c.data.len = dlen;
	out = do_write(env, s, &c, false);
out:
	free(tid);
	free(data);
	return out;
}

static xmlrpc_value *meth_put(xmlrpc_env *env, xmlrpc_value *params, void *info,
			   void *call)
{
	struct server *s = info;
	struct command c;
	char *key = NULL, *val = NULL, *tid = NULL;
	size_t klen, vlen, tlen = 0;
	xmlrpc_value *out = NULL;
	int n;

	memset(&c, 0, sizeof(c));
	n = param_count(env, params, 2, 3, "put");
	if (n < 0 ||
	    param_string(env, params, 0, "key", COMMAND_MAX_KEY, &key, &klen) <
		0 ||
	    param_string(env, params, 1, "value", COMMAND_MAX_VALUE, &val,
			 &vlen) < 0 ||
	    (n == 3 && param_tid(env, params, 2, &tid, &tlen) < 0))
		goto out;
	c.op = COMMAND_PUT;
	c.has_tid = tid != NULL;
	c.tid.p = tid;
	c.tid.len = tlen;
	c.key.p = key;
	c.key.len = klen;
	c.value.p = val;
	c.value.len = vlen;
	out = do_write(env, s, &c, false);
out:
	free(key);
	free(val);
	free(tid);
	return out;
}

static xmlrpc_value *meth_delete(xmlrpc_env *env, xmlrpc_value *params,
			      void *info, void *call)
{
	struct server *s = info;
	struct command c;
	char *key = NULL, *tid = NULL;
	size_t klen, tlen = 0;
	xmlrpc_value *out = NULL;
	int n;

	memset(&c, 0, sizeof(c));
	n = param_count(env, params, 1, 2, "delete");
	if (n < 0 ||
	    param_string(env, params, 0, "key", COMMAND_MAX_KEY, &key, &klen) <
		0 ||
	    (n == 2 && param_tid(env, params, 1, &tid, &tlen) < 0))
		goto out;
	c.op = COMMAND_DEL;
	c.has_tid = tid != NULL;
	c.tid.p = tid;
	c.tid.len = tlen;
	c.key.p = key;
	c.key.len = klen;
	out = do_write(env, s, &c, true);
out:
	free(key);
	free(tid);
	return out;
}

static xmlrpc_value *meth_cas(xmlrpc_env *env, xmlrpc_value *params, void *info,
			   void *call)
{
	struct server *s = info;
	struct command c;
	char *key = NULL, *exp = NULL, *val = NULL, *tid = NULL;
	size_t klen, elen, vlen, tlen = 0;
	xmlrpc_value *out = NULL;
	int n;

	memset(&c, 0, sizeof(c));
	n = param_count(env, params, 3, 4, "cas");
	if (n < 0 ||
	    param_string(env, params, 0, "key", COMMAND_MAX_KEY, &key, &klen) <
		0 ||
	    param_string(env, params, 1, "expected", COMMAND_MAX_VALUE, &exp,
			 &elen) < 0 ||
	    param_string(env, params, 2, "value", COMMAND_MAX_VALUE, &val,
			 &vlen) < 0 ||
	    (n == 4 && param_tid(env, params, 3, &tid, &tlen) < 0))
		goto out;
	c.op = COMMAND_CAS;
	c.has_tid = tid != NULL;
	c.tid.p = tid;
	c.tid.len = tlen;
	c.key.p = key;
	c.key.len = klen;
	c.expected.p = exp;
	c.expected.len = elen;
	c.value.p = val;
	c.value.len = vlen;
	out = do_write(env, s, &c, true);
out:
	free(key);
	free(exp);
	free(val);
	free(tid);
	return out;
}

static xmlrpc_value *meth_multi_put(xmlrpc_env *env, xmlrpc_value *params,
				 void *info, void *call)
{
	struct server *s = info;
	struct command c;
	xmlrpc_value *pairs = NULL, *out = NULL;
	char *tid = NULL;
	size_t tlen = 0, total = 0;
	int n, size = 0, i;

	memset(&c, 0, sizeof(c));
	n = param_count(env, params, 1, 2, "multiPut");
	if (n < 0)
		goto out;
	xmlrpc_array_read_item(env, params, 0, &pairs);
	if (env->fault_occurred)
		goto out;
	if (xmlrpc_value_type(pairs) != XMLRPC_TYPE_STRUCT) {
		fault(env, API_FAULT_INVALID, "pairs must be a struct");
		goto out;
	}
	if (n == 2 && param_tid(env, params, 1, &tid, &tlen) < 0)
		goto out;
	size = xmlrpc_struct_size(env, pairs);
	if (env->fault_occurred)
		goto out;
	if (size < 1 || (unsigned)size > COMMAND_MAX_PAIRS) {
		fault(env, API_FAULT_INVALID, "multiPut takes 1 to %u pairs",
		      COMMAND_MAX_PAIRS);
		goto out;
	}
	c.pairs = calloc((size_t)size, sizeof(*c.pairs));
	if (c.pairs == NULL)
		goto out;
	for (i = 0; i < size; i++) {
		xmlrpc_value *k = NULL, *v = NULL;
		const char *ks = NULL, *vs = NULL;
		size_t kl = 0, vl = 0;

		xmlrpc_struct_read_member(env, pairs, (unsigned)i, &k, &v);
		if (env->fault_occurred)
			goto out;
		if (xmlrpc_value_type(v) != XMLRPC_TYPE_STRING) {
			xmlrpc_DECREF(k);
			xmlrpc_DECREF(v);
			fault(env, API_FAULT_INVALID,
			      "multiPut values must be strings");
			goto out;
		}
		xmlrpc_read_string_lp(env, k, &kl, &ks);
		if (!env->fault_occurred)
			xmlrpc_read_string_lp(env, v, &vl, &vs);
		xmlrpc_DECREF(k);
		xmlrpc_DECREF(v);
		c.n_pairs = (size_t)i + 1;
		c.pairs[i].key.p = ks;
		c.pairs[i].key.len = kl;
		c.pairs[i].value.p = vs;
		c.pairs[i].value.len = vl;
		if (env->fault_occurred)
			goto out;
		total += kl + vl;
		if (kl > COMMAND_MAX_KEY || vl > COMMAND_MAX_VALUE ||
		    total > COMMAND_MAX_MPUT_BYTES) {
			fault(env, API_FAULT_INVALID,
			      "multiPut over the size limits");
			goto out;
		}
	}
	c.op = COMMAND_MPUT;
	c.has_tid = tid != NULL;
	c.tid.p = tid;
	c.tid.len = tlen;
	out = do_write(env, s, &c, false);
out:
	for (i = 0; i < (int)c.n_pairs; i++) {
		free((void *)c.pairs[i].key.p);
		free((void *)c.pairs[i].value.p);
	}
	free(c.pairs);
	free(tid);
	if (pairs)
		xmlrpc_DECREF(pairs);
	return out;
}

static xmlrpc_value *meth_get(xmlrpc_env *env, xmlrpc_value *params, void *info,
			   void *call)
{
	struct server *s = info;
	struct kv_page pg;
	char *key = NULL;
	size_t klen;
	enum node_status st;
	xmlrpc_value *out = NULL;
	int rv;

	memset(&pg, 0, sizeof(pg));
	if (param_count(env, params, 1, 1, "get") < 0 ||
	    param_string(env, params, 0, "key", COMMAND_MAX_KEY, &key, &klen) <
		0)
		goto out;
	rv = kv_get(s->node, key, klen, &pg, &st);
	if (rv == KV_EREAD)
		status_fault(env, s, st);
	else if (rv == KV_ENOTFOUND)
		fault(env, API_FAULT_NOT_FOUND, "not found: %.200s", key);
	else
		out = xmlrpc_string_new_lp(env, pg.items[0].vlen,
					   pg.items[0].val);
out:
	kv_page_free(&pg);
	free(key);
	return out;
}

/* The replies below are built from a kv page, after the node's lock was
 * released (kv.h): array of {key, value}. */
static xmlrpc_value *page_pairs(xmlrpc_env *env, const struct kv_page *pg)
{
	xmlrpc_value *out = xmlrpc_array_new(env);
	size_t i;

	for (i = 0; i < pg->n && !env->fault_occurred; i++) {
		const struct kv_item *it = &pg->items[i];
		xmlrpc_value *v =
		    xmlrpc_build_value(env, "{s:s#,s:s#}", "key", it->key,
				       it->klen, "value", it->val, it->vlen);
		if (!env->fault_occurred) {
			xmlrpc_array_append_item(env, out, v);
			xmlrpc_DECREF(v);
		}
	}
	if (env->fault_occurred && out != NULL) {
		xmlrpc_DECREF(out);
		out = NULL;
	}
	return out;
}

/* list(), list(prefix): every key with the prefix, or fault 3 when that
 * passes one response; list(prefix, after[, limit]): one page of the keys
 * greater than after (docs/API.md, "Large answers"). */
static xmlrpc_value *meth_list(xmlrpc_env *env, xmlrpc_value *params, void *info,
			    void *call)
{
	struct server *s = info;
	struct kv_page pg;
	char *prefix = NULL, *after = NULL;
	size_t plen = 0, alen = 0;
	int64_t limit = 0;
	enum node_status st;
	xmlrpc_value *out = NULL;
	int n, rv;

	memset(&pg, 0, sizeof(pg));
	n = param_count(env, params, 0, 3, "list");
	if (n < 0 ||
	    (n >= 1 && param_string(env, params, 0, "prefix", COMMAND_MAX_KEY,
				    &prefix, &plen) < 0) ||
	    (n >= 2 && param_string(env, params, 1, "after", COMMAND_MAX_KEY,
				    &after, &alen) < 0) ||
	    (n == 3 && param_int(env, params, 2, "limit", &limit) < 0))
		goto out;
	if (n == 3 && limit < 1) {
		fault(env, API_FAULT_INVALID, "limit must be >= 1");
		goto out;
	}
	rv = kv_list(s->node, prefix, plen, after, alen,
		     limit > KV_PAGE_MAX ? KV_PAGE_MAX : (size_t)limit,
		     after == NULL, &pg, &st);
	if (rv == KV_EREAD) {
		status_fault(env, s, st);
	} else if (rv == KV_ETOOBIG) {
		fault(env, API_FAULT_INVALID,
		      "list: the answer passes the response limit (%u keys, "
		      "%u MiB of XML); page with list(prefix, after, limit)",
		      KV_PAGE_MAX, KV_RESPONSE_MAX >> 20);
	} else {
		out = page_pairs(env, &pg);
	}
out:
	kv_page_free(&pg);
	free(prefix);
	free(after);
	return out;
}

static xmlrpc_value *meth_multi_get(xmlrpc_env *env, xmlrpc_value *params,
				 void *info, void *call)
{
	struct server *s = info;
	xmlrpc_value *keys = NULL;
	struct command_str *ks = NULL;
	struct kv_page pg;
	xmlrpc_value *out = NULL;
	enum node_status st;
	size_t j;
	int n = 0, i, rv;

	memset(&pg, 0, sizeof(pg));
	if (param_count(env, params, 1, 1, "multiGet") < 0)
		goto out;
	xmlrpc_array_read_item(env, params, 0, &keys);
	if (env->fault_occurred)
		goto out;
	if (xmlrpc_value_type(keys) != XMLRPC_TYPE_ARRAY) {
		fault(env, API_FAULT_INVALID, "keys must be an array");
		goto out;
	}
	n = xmlrpc_array_size(env, keys);
	if (env->fault_occurred)
		goto out;
	if (n > (int)COMMAND_MAX_PAIRS) {
		fault(env, API_FAULT_INVALID, "multiGet takes at most %u keys",
		      COMMAND_MAX_PAIRS);
		goto out;
	}
	ks = calloc((size_t)n + 1, sizeof(*ks));
	if (ks == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		xmlrpc_value *k = NULL;
		xmlrpc_array_read_item(env, keys, i, &k);
		if (env->fault_occurred)
			goto out;
		if (xmlrpc_value_type(k) != XMLRPC_TYPE_STRING) {
			xmlrpc_DECREF(k);
			fault(env, API_FAULT_INVALID, "keys must be strings");
			goto out;
		}
		xmlrpc_read_string_lp(env, k, &ks[i].len, &ks[i].p);
		xmlrpc_DECREF(k);
		if (env->fault_occurred)
			goto out;
	}
	rv = kv_multi_get(s->node, ks, (size_t)n, &pg, &st);
	if (rv == KV_EREAD) {
		status_fault(env, s, st);
		goto out;
	}
	if (rv == KV_ETOOBIG) {
		fault(env, API_FAULT_INVALID,
		      "multiGet: the answer passes the response limit (%u MiB "
		      "of XML); ask for fewer keys at a time",
		      KV_RESPONSE_MAX >> 20);
		goto out;
	}
	out = xmlrpc_struct_new(env);
	for (j = 0; j < pg.n && !env->fault_occurred; j++) {
		const struct kv_item *it = &pg.items[j];
		xmlrpc_value *v = xmlrpc_string_new_lp(env, it->vlen, it->val);

		if (env->fault_occurred)
			break;
		xmlrpc_struct_set_value_n(env, out, it->key, it->klen, v);
		xmlrpc_DECREF(v);
	}
out:
	kv_page_free(&pg);
	if (ks)
		for (i = 0; i < n; i++)
			free((void *)ks[i].p);
	free(ks);
	if (keys)
		xmlrpc_DECREF(keys);
	if (env->fault_occurred && out) {
		xmlrpc_DECREF(out);
		out = NULL;
	}
	return out;
}

/* getEntries and showLog records: {index, term, tid, data[, committed]}. */
static xmlrpc_value *page_records(xmlrpc_env *env, const struct kv_page *pg,
				  bool with_committed)
{
	xmlrpc_value *out = xmlrpc_array_new(env);
	size_t i;

	for (i = 0; i < pg->n && !env->fault_occurred; i++) {
		const struct kv_item *it = &pg->items[i];
		xmlrpc_value *e = xmlrpc_struct_new(env);

		if (env->fault_occurred)
			break;
		struct_set(env, e, "index", int_value(env, it->index));
		struct_set(env, e, "term", int_value(env, it->term));
		struct_set(env, e, "tid",
			   xmlrpc_string_new_lp(env, it->klen, it->key));
		struct_set(env, e, "data",
			   xmlrpc_string_new_lp(env, it->vlen, it->val));
		if (with_committed)
			struct_set(env, e, "committed",
				   xmlrpc_bool_new(env, it->committed));
		if (!env->fault_occurred)
			xmlrpc_array_append_item(env, out, e);
		xmlrpc_DECREF(e);
	}
	if (env->fault_occurred && out != NULL) {
		xmlrpc_DECREF(out);
		out = NULL;
	}
	return out;
}

/* The (from, max) of getEntries and showLog; max is capped by kv. */
static int param_range(xmlrpc_env *env, xmlrpc_value *params,
		       const char *method, int64_t *from, int64_t *max)
{
	if (param_count(env, params, 2, 2, method) < 0 ||
	    param_int(env, params, 0, "from", from) < 0 ||
	    param_int(env, params, 1, "max", max) < 0)
		return -1;
	if (*from < 0 || *max < 0) {
		fault(env, API_FAULT_INVALID, "from and max must be >= 0");
		return -1;
	}
	return 0;
}

static xmlrpc_value *meth_get_entries(xmlrpc_env *env, xmlrpc_value *params,
				      void *info, void *call)
{
	struct server *s = info;
	struct kv_page pg;
	int64_t from, max;
	enum node_status st;
	xmlrpc_value *out = NULL;

	memset(&pg, 0, sizeof(pg));
	if (param_range(env, params, "getEntries", &from, &max) < 0)
		goto out;
	if (kv_entries(s->node, (uint64_t)from,
		       max > KV_PAGE_MAX ? KV_PAGE_MAX : (size_t)max, &pg,
		       &st) != KV_OK) {
		status_fault(env, s, st);
		goto out;
	}
	out = page_records(env, &pg, false);
out:
	kv_page_free(&pg);
	return out;
}

static xmlrpc_value *meth_status(xmlrpc_env *env, xmlrpc_value *params,
			      void *info, void *call)
{
	struct server *s = info;
	struct node_status_info si;
	xmlrpc_value *out;

	if (param_count(env, params, 0, 0, "status") < 0)
		return NULL;
	node_status(s->node, &si);
	out = xmlrpc_struct_new(env);
	struct_set(env, out, "id", int_value(env, si.id));
	struct_set(env, out, "state",
		   xmlrpc_string_new(env, si.role == RAFT_PRECANDIDATE
					      ? "candidate"
					      : raft_role_name(si.role)));
	struct_set(env, out, "term", int_value(env, si.term));
	struct_set(env, out, "leader", int_value(env, si.leader));
	struct_set(env, out, "leaderAddress",
		   xmlrpc_string_new(env, si.leader_address));
	struct_set(env, out, "commitIndex", int_value(env, si.commit_index));
	struct_set(env, out, "lastApplied", int_value(env, si.last_applied));
	struct_set(env, out, "lastLogIndex", int_value(env, si.last_log_index));
	struct_set(env, out, "lastLogTerm", int_value(env, si.last_log_term));
	struct_set(env, out, "logSyncs", int_value(env, si.log_syncs));
	struct_set(env, out, "fsyncMaxUs",
		   int_value(env, si.sync_ns_max / 1000));
	struct_set(env, out, "appendsSent", int_value(env, si.appends_sent));
	struct_set(env, out, "entriesSent", int_value(env, si.entries_sent));
	struct_set(env, out, "appendsReceived",
		   int_value(env, si.appends_received));
	struct_set(env, out, "readCopyMaxUs",
		   int_value(env, si.read_copy_ns_max / 1000));
	struct_set(env, out, "readCopyCpuMaxUs",
		   int_value(env, si.read_copy_cpu_ns_max / 1000));
	if (env->fault_occurred) {
		xmlrpc_DECREF(out);
		return NULL;
	}
	return out;
}

static xmlrpc_value *meth_show_log(xmlrpc_env *env, xmlrpc_value *params,
				void *info, void *call)
{
	struct server *s = info;
	struct kv_page pg;
	int64_t from, max;
	xmlrpc_value *out = NULL;

	memset(&pg, 0, sizeof(pg));
	if (param_range(env, params, "showLog", &from, &max) < 0)
		goto out;
	kv_show_log(s->node, (uint64_t)from,
		    max > KV_PAGE_MAX ? KV_PAGE_MAX : (size_t)max, &pg);
	out = page_records(env, &pg, true);
out:
	kv_page_free(&pg);
	return out;
}

/* ---- peer methods ----------------------------------------------------------- */

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Refused peer calls are logged at most once a second (log_limit), with
 * the count of those not logged, so that a flood of forged calls cannot
 * flood the log. */
static void log_refused(struct server *s, const char *method, const char *why)
{
	uint64_t held;

	if (log_limit_pass(&s->refused_limit, &held))
		log_warn("refused %s: %s (and %llu more refused peer calls "
			 "since the last such line)",
			 method, why, (unsigned long long)held);
}

/* requestVote(frame) and appendEntries(frame): one <base64> frame in
 * (wire.h), checked (decode, bounds, peerauth.h) before the node sees it;
 * the answer's frame out, bound to the request by its MAC. */
static xmlrpc_value *peer_method(xmlrpc_env *env, xmlrpc_value *params,
				 struct server *s, enum raft_msg_type type,
				 const char *method)
{
	xmlrpc_value *arg = NULL, *out = NULL;
	const unsigned char *frame = NULL;
	uint8_t *rbuf = NULL;
	size_t len = 0, rlen;
	struct raft_msg m, reply;
	struct wire_header h;
	struct peerauth_tag tag;
	struct peerauth *auth = node_peerauth(s->node);
	const char *why = NULL;
	bool has_auth = false, decoded = false, has_reply = false;
	int rv;

	memset(&m, 0, sizeof(m));
	if (param_count(env, params, 1, 1, method) < 0)
		goto out;
	xmlrpc_array_read_item(env, params, 0, &arg);
	if (env->fault_occurred)
		goto out;
	if (xmlrpc_value_type(arg) != XMLRPC_TYPE_BASE64) {
		fault(env, API_FAULT_INVALID, "%s takes one base64 frame",
		      method);
		goto out;
	}
	xmlrpc_read_base64(env, arg, &len, &frame);
	if (env->fault_occurred)
		goto out;
	/* Cheapest checks first, and the MAC before anything is allocated
	 * for the body: the header names the sender and the receiver, and a
	 * frame for another node must not touch this node's replay windows
	 * (a captured frame to node C replayed at node B would move B's
	 * window and lock out the sender's real frames). */
	if (wire_peek(frame, len, &h, &why) != 0) {
		log_refused(s, method, why);
		fault(env, API_FAULT_INVALID, "%s: bad frame: %s", method, why);
		goto out;
	}
	if (h.type != type) {
		log_refused(s, method, "frame of another method");
		fault(env, API_FAULT_INVALID, "%s: frame of another method",
		      method);
		goto out;
	}
	if (h.to != s->self_id || h.from == s->self_id ||
	    config_node_by_id(s->cfg, h.from) == NULL) {
		log_refused(s, method, "not from a member to this node");
		fault(env, API_FAULT_INVALID,
		      "%s: not from a member to this node", method);
		goto out;
	}
	rv = peerauth_verify_request(auth, h.from, wall_ms(), frame, len,
				     h.auth, &tag);
	if (rv != PEERAUTH_OK) {
		log_refused(s, method, peerauth_strerror(rv));
		fault(env, API_FAULT_UNAUTHORIZED, "unauthorized: %s",
		      peerauth_strerror(rv));
		goto out;
	}
	if (wire_decode(frame, len, &m, &has_auth, &why) != 0) {
		log_refused(s, method, why);
		fault(env, API_FAULT_INVALID, "%s: bad frame: %s", method, why);
		goto out;
	}
	decoded = true;
	if (node_peer_message(s->node, &m, &reply, &has_reply) != 0 &&
	    !has_reply) {
		fault(env, API_FAULT_INVALID, "%s refused", method);
		goto out;
	}
	if (!has_reply) {
		fault(env, API_FAULT_NO_REPLY, "no reply");
		goto out;
	}
	rlen = wire_body_size(&reply);
	rbuf = malloc(rlen + peerauth_trailer_size(auth));
	if (rbuf == NULL) {
		raft_msg_free(&reply);
		fault(env, API_FAULT_UNAVAILABLE, "out of memory");
		goto out;
	}
	wire_encode(&reply, peerauth_enabled(auth), rbuf);
	peerauth_sign_response(auth, &tag, wall_ms(), rbuf, rlen);
	raft_msg_free(&reply);
	out = xmlrpc_base64_new(env, rlen + peerauth_trailer_size(auth), rbuf);
out:
	free(rbuf);
	if (decoded)
		wire_msg_release(&m);
	free((void *)frame);
	if (arg)
		xmlrpc_DECREF(arg);
	return out;
}

static xmlrpc_value *meth_request_vote(xmlrpc_env *env, xmlrpc_value *params,
				    void *info, void *call)
{
	return peer_method(env, params, info, RAFT_MSG_VOTE, "requestVote");
}

static xmlrpc_value *meth_append_entries(xmlrpc_env *env, xmlrpc_value *params,
				      void *info, void *call)
{
	return peer_method(env, params, info, RAFT_MSG_APPEND, "appendEntries");
}

/* ---- the XML guard and the server ------------------------------------------- */

static void guard_processor(xmlrpc_env *env, void *arg, const char *xml,
			    size_t len, TSession *session,
			    xmlrpc_mem_block **out)
{
	struct server *s = arg;

	/* XMLRPC-C.md §3: expat expands internal entities; a DTD has no
	 * place in XML-RPC and clients escape '<' in strings. */
	/* A UTF-16 or UTF-32 body (a byte-order mark, or NUL bytes) would
	 * hide "<!" from the byte search below, so only ASCII-compatible
	 * encodings pass. */
	if (memmem(xml, len, "<!", 2) != NULL || memchr(xml, '\0', len) ||
	    (len >= 2 && (((unsigned char)xml[0] == 0xFE &&
			   (unsigned char)xml[1] == 0xFF) ||
			  ((unsigned char)xml[0] == 0xFF &&
			   (unsigned char)xml[1] == 0xFE)))) {
		xmlrpc_env fenv;
		xmlrpc_env_init(&fenv);
		xmlrpc_env_set_fault(&fenv, XMLRPC_PARSE_ERROR,
				     "DTDs, entity declarations and UTF-16/32 "
				     "bodies are not accepted");
		*out = XMLRPC_MEMBLOCK_NEW(char, env, 0);
		if (!env->fault_occurred)
			xmlrpc_serialize_fault(env, *out, &fenv);
		xmlrpc_env_clean(&fenv);
		return;
	}
	xmlrpc_registry_process_call2(env, s->registry, xml, len, session, out);
}

static const struct {
	const char *name;
	xmlrpc_method2 fn;
	const char *help;
} methods[] = {
    {"isLeader", meth_is_leader, "isLeader() -> true on the leader"},
    {"addEntry", meth_add_entry, "addEntry(tid, data) -> true once applied"},
    {"getEntries", meth_get_entries,
     "getEntries(from, max) -> [{index, term, tid, data}], a page"},
    {"put", meth_put, "put(key, value[, tid]) -> true"},
    {"get", meth_get, "get(key) -> value; fault 4 if absent"},
    {"delete", meth_delete, "delete(key[, tid]) -> true if it existed"},
    {"cas", meth_cas, "cas(key, expected, value[, tid]) -> true if swapped"},
    {"list", meth_list,
     "list([prefix[, after[, limit]]]) -> [{key, value}] sorted by key"},
    {"multiPut", meth_multi_put, "multiPut({key: value}[, tid]) -> true"},
    {"multiGet", meth_multi_get, "multiGet([key]) -> {key: value}"},
    {"status", meth_status, "status() -> {id, state, term, leader, ...}"},
    {"showLog", meth_show_log,
     "showLog(from, max) -> [{index, term, tid, data, committed}]"},
    {"requestVote", meth_request_vote, "peer RPC"},
    {"appendEntries", meth_append_entries, "peer RPC"},
};

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
		   socklen_t *len, int *family, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char portstr[8];
	int rv;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rv = getaddrinfo(host, portstr, &hints, &res);
	if (rv != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
			 gai_strerror(rv));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	*family = res->ai_family;
	freeaddrinfo(res);
	return 0;
}

int server_create(const struct config *cfg, const struct config_node *self,
		  struct node *node, struct server **out, char *err,
		  size_t errlen)
{
	struct server *s;
	xmlrpc_env env;
	xmlrpc_server_abyss_handler_parms hp;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	const char *error = NULL;
	int family = AF_INET;
	size_t i;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->node = node;
	s->cfg = cfg;
	s->self_id = self->id;
	xmlrpc_env_init(&env);
	s->registry = xmlrpc_registry_new(&env);
	if (env.fault_occurred)
		goto fail_env;
	xmlrpc_registry_disable_introspection(s->registry);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct xmlrpc_method_info3 mi;
		memset(&mi, 0, sizeof(mi));
		mi.methodName = methods[i].name;
		mi.methodFunction = methods[i].fn;
		mi.serverInfo = s;
		mi.stackSize = SERVER_STACK;
		mi.help = methods[i].help;
		xmlrpc_registry_add_method3(&env, s->registry, &mi);
		if (env.fault_occurred)
			goto fail_env;
	}

	if (resolve(self->host, self->port, &ss, &sslen, &family, err,
		    errlen) < 0)
		goto fail;
	/* Bind the configured address only, never 0.0.0.0 (XMLRPC-C.md
	 * §2). */
	ChanSwitchUnixCreate2(family, (struct sockaddr *)&ss, sslen, &s->chan,
			      &error);
	if (error != NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", self->address,
			 error);
		free((void *)error);
		goto fail;
	}
	ServerCreateSwitch(&s->abyss, s->chan, &error);
	if (error != NULL) {
		snprintf(err, errlen, "abyss server: %s", error);
		free((void *)error);
		goto fail;
	}
	s->created = true;
	ServerSetName(&s->abyss, "raftd");
	ServerSetMaxConn(&s->abyss, SERVER_MAX_CONN);
	ServerSetMaxConnBacklog(&s->abyss, SERVER_MAX_CONN);
	ServerSetKeepaliveTimeout(&s->abyss, SERVER_KEEPALIVE_S);
	ServerSetKeepaliveMaxConn(&s->abyss, 1000000);
	ServerSetTimeout(&s->abyss, SERVER_TIMEOUT_S);
	ServerSetAdvertise(&s->abyss, 0);

	memset(&hp, 0, sizeof(hp));
	hp.xml_processor = guard_processor;
	hp.xml_processor_arg = s;
	hp.xml_processor_max_stack = SERVER_STACK;
	hp.uri_path = "/RPC2";
	hp.chunk_response = 0;
	xmlrpc_server_abyss_set_handler3(&env, &s->abyss, &hp,
					 XMLRPC_AHPSIZE(chunk_response));
	if (env.fault_occurred)
		goto fail_env;
	ServerInit2(&s->abyss, &error);
	if (error != NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", self->address,
			 error);
		free((void *)error);
		goto fail;
	}
	xmlrpc_env_clean(&env);
	*out = s;
	return 0;
fail_env:
	snprintf(err, errlen, "xmlrpc server: %s", env.fault_string);
fail:
	xmlrpc_env_clean(&env);
	server_free(s);
	return -1;
}

void server_run(struct server *s)
{
	ServerRun(&s->abyss);
}

void server_terminate(struct server *s)
{
	ServerTerminate(&s->abyss);
}

void server_free(struct server *s)
{
	if (s == NULL)
		return;
	if (s->created)
		ServerFree(&s->abyss);
	if (s->chan)
		ChanSwitchDestroy(s->chan);
	if (s->registry)
		xmlrpc_registry_free(s->registry);
	free(s);
}
