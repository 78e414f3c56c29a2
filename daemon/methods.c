/* methods.c: the client methods of the XML-RPC API (methods.h).
 *
 * Writes are described by a table (write_specs) and parsed by one
 * function; every method parses and checks its parameters here, hands the
 * work to kv.c or the node, and answers its call from the completion,
 * which runs with no lock held. */
#include "methods.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoconfig.h"

#include "api.h"
#include "command.h"
#include "kv.h"
#include "version.h"
#include "xalloc.h"

/* ---- answers ------------------------------------------------------------- */

/* The fault a node status means (docs/API.md, "Faults"). */
static void status_fault(struct call *c, struct node *n, enum node_status st)
{
	char hint[API_HINT_MAX];

	switch (st) {
	case NODE_NOT_LEADER:
		node_leader_hint(n, hint, sizeof(hint));
		call_fault(c, API_FAULT_NOT_LEADER, "%s", hint);
		break;
	case NODE_TIMEOUT:
		call_fault(c, API_FAULT_TIMEOUT,
			   "timeout: not known to be committed; retry with "
			   "the same tid");
		break;
	case NODE_INVALID:
	case NODE_OK:
		call_fault(c, API_FAULT_INVALID, "invalid request");
		break;
	case NODE_NOT_FOUND:
		call_fault(c, API_FAULT_NOT_FOUND, "not found");
		break;
	case NODE_UNAVAILABLE:
		call_fault(c, API_FAULT_UNAVAILABLE,
			   "unavailable: shutting down");
		break;
	}
}

/* Answers with v, or with the fault env holds. */
static void answer(struct call *c, xmlrpc_env *env, xmlrpc_value *v)
{
	if (env->fault_occurred) {
		if (v != NULL)
			xmlrpc_DECREF(v);
		call_fault_env(c, env);
	} else {
		call_return(c, v);
	}
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

/* ---- parameters ------------------------------------------------------------
 */

static void param_fault(xmlrpc_env *env, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void param_fault(xmlrpc_env *env, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xmlrpc_env_set_fault(env, API_FAULT_INVALID, msg);
}

/* The count must be in [min, max]; returns it, or -1 with env set. */
static int param_count(xmlrpc_env *env, xmlrpc_value *params, int min, int max,
		       const char *method)
{
	int n = xmlrpc_array_size(env, params);

	if (env->fault_occurred)
		return -1;
	if (n < min || n > max) {
		if (min == max)
			param_fault(env, "%s takes %d argument%s, got %d",
				    method, min, min == 1 ? "" : "s", n);
		else
			param_fault(env, "%s takes %d to %d arguments, got %d",
				    method, min, max, n);
		return -1;
	}
	return n;
}

/* A string parameter of at most maxlen bytes; the caller frees *out. */
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
		param_fault(env, "%s must be a string", name);
		goto out;
	}
	xmlrpc_read_string_lp(env, v, len, &s);
	if (env->fault_occurred)
		goto out;
	if (*len > maxlen) {
		param_fault(env, "%s too long (%zu bytes, limit %zu)", name,
			    *len, maxlen);
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

/* A tid: a string or an int, compared as a string (docs/API.md). */
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
		rv = param_string(env, params, i, "tid", COMMAND_MAX_TID, out,
				  len);
		if (rv == 0 && *len == 0) {
			param_fault(env, "tid must not be empty");
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
		param_fault(env, "tid must be a string or an int");
		goto out;
	}
	if (env->fault_occurred)
		goto out;
	*out = xstrdup(buf);
	*len = strlen(buf);
	rv = 0;
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
		param_fault(env, "%s must be an int", name);
		goto out;
	}
	rv = env->fault_occurred ? -1 : 0;
out:
	if (v)
		xmlrpc_DECREF(v);
	return rv;
}

/* multiPut's struct key -> value into c->pairs (owned copies). */
static int param_pairs(xmlrpc_env *env, xmlrpc_value *params, int i,
		       struct command *c)
{
	xmlrpc_value *pairs = NULL;
	size_t total = 0;
	int size, k, rv = -1;

	xmlrpc_array_read_item(env, params, i, &pairs);
	if (env->fault_occurred)
		goto out;
	if (xmlrpc_value_type(pairs) != XMLRPC_TYPE_STRUCT) {
		param_fault(env, "pairs must be a struct");
		goto out;
	}
	size = xmlrpc_struct_size(env, pairs);
	if (env->fault_occurred)
		goto out;
	if (size < 1 || (unsigned)size > COMMAND_MAX_PAIRS) {
		param_fault(env, "multiPut takes 1 to %u pairs",
			    COMMAND_MAX_PAIRS);
		goto out;
	}
	c->pairs = xcalloc((size_t)size, sizeof(*c->pairs));
	for (k = 0; k < size; k++) {
		xmlrpc_value *kv = NULL, *vv = NULL;
		const char *ks = NULL, *vs = NULL;
		size_t kl = 0, vl = 0;

		xmlrpc_struct_read_member(env, pairs, (unsigned)k, &kv, &vv);
		if (env->fault_occurred)
			goto out;
		if (xmlrpc_value_type(vv) != XMLRPC_TYPE_STRING) {
			xmlrpc_DECREF(kv);
			xmlrpc_DECREF(vv);
			param_fault(env, "multiPut values must be strings");
			goto out;
		}
		xmlrpc_read_string_lp(env, kv, &kl, &ks);
		if (!env->fault_occurred)
			xmlrpc_read_string_lp(env, vv, &vl, &vs);
		xmlrpc_DECREF(kv);
		xmlrpc_DECREF(vv);
		c->n_pairs = (size_t)k + 1;
		c->pairs[k].key.p = ks;
		c->pairs[k].key.len = kl;
		c->pairs[k].value.p = vs;
		c->pairs[k].value.len = vl;
		if (env->fault_occurred)
			goto out;
		total += kl + vl;
		if (kl > COMMAND_MAX_KEY || vl > COMMAND_MAX_VALUE ||
		    total > COMMAND_MAX_MPUT_BYTES) {
			param_fault(env, "multiPut over the size limits");
			goto out;
		}
	}
	rv = 0;
out:
	if (pairs)
		xmlrpc_DECREF(pairs);
	return rv;
}

/* ---- writes: one table, one parser -------------------------------------- */

enum write_arg {
	ARG_KEY,
	ARG_VALUE,
	ARG_EXPECTED,
	ARG_DATA,
	ARG_TID,
	ARG_PAIRS
};

/* A write method: its command, its parameters in order (the last
 * `n_args - n_required` optional), and whether its answer is the state
 * machine's boolean (delete, cas) or always true. */
struct write_spec {
	enum command_op op;
	enum write_arg args[4];
	int n_required, n_args;
	bool bool_result;
};

static const struct write_spec spec_add = {
    COMMAND_ADD, {ARG_TID, ARG_DATA}, 2, 2, false};
static const struct write_spec spec_put = {
    COMMAND_PUT, {ARG_KEY, ARG_VALUE, ARG_TID}, 2, 3, false};
static const struct write_spec spec_delete = {
    COMMAND_DEL, {ARG_KEY, ARG_TID}, 1, 2, true};
static const struct write_spec spec_cas = {
    COMMAND_CAS, {ARG_KEY, ARG_EXPECTED, ARG_VALUE, ARG_TID}, 3, 4, true};
static const struct write_spec spec_mput = {
    COMMAND_MPUT, {ARG_PAIRS, ARG_TID}, 1, 2, false};

static void command_free(struct command *c)
{
	size_t i;

	free((void *)c->tid.p);
	free((void *)c->key.p);
	free((void *)c->value.p);
	free((void *)c->expected.p);
	free((void *)c->data.p);
	for (i = 0; i < c->n_pairs; i++) {
		free((void *)c->pairs[i].key.p);
		free((void *)c->pairs[i].value.p);
	}
	free(c->pairs);
	memset(c, 0, sizeof(*c));
}

/* The parameters of a write into c (owned copies), by its spec. */
static int parse_write(xmlrpc_env *env, xmlrpc_value *params,
		       const char *method, const struct write_spec *ws,
		       struct command *c)
{
	char *p;
	size_t len;
	int n, i;

	memset(c, 0, sizeof(*c));
	c->op = ws->op;
	n = param_count(env, params, ws->n_required, ws->n_args, method);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct command_str *dst = NULL;
		switch (ws->args[i]) {
		case ARG_KEY:
			if (param_string(env, params, i, "key", COMMAND_MAX_KEY,
					 &p, &len) < 0)
				return -1;
			dst = &c->key;
			break;
		case ARG_VALUE:
		case ARG_EXPECTED:
		case ARG_DATA:
			if (param_string(env, params, i,
					 ws->args[i] == ARG_VALUE  ? "value"
					 : ws->args[i] == ARG_DATA ? "data"
								   : "expected",
					 COMMAND_MAX_VALUE, &p, &len) < 0)
				return -1;
			dst = ws->args[i] == ARG_VALUE	? &c->value
			      : ws->args[i] == ARG_DATA ? &c->data
							: &c->expected;
			break;
		case ARG_TID:
			if (param_tid(env, params, i, &p, &len) < 0)
				return -1;
			c->has_tid = true;
			dst = &c->tid;
			break;
		case ARG_PAIRS:
			if (param_pairs(env, params, i, c) < 0)
				return -1;
			break;
		}
		if (dst != NULL) {
			dst->p = p;
			dst->len = len;
		}
	}
	return 0;
}

struct write_call {
	struct call *call;
	struct node *node;
	bool bool_result;
};

static void write_done(void *arg, int rv, enum node_status st, bool result)
{
	struct write_call *wc = arg;
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	switch (rv) {
	case KV_OK:
		answer(wc->call, &env,
		       xmlrpc_bool_new(&env, wc->bool_result ? result : 1));
		break;
	case KV_ETIDCONFLICT:
		call_fault(wc->call, API_FAULT_INVALID,
			   "tid already used with other arguments");
		break;
	case KV_EINVALID:
		call_fault(wc->call, API_FAULT_INVALID,
			   "request too large or invalid");
		break;
	default:
		status_fault(wc->call, wc->node, st);
		break;
	}
	xmlrpc_env_clean(&env);
	free(wc);
}

/* addEntry, put, delete, cas, multiPut. */
static void meth_write(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	const struct method_def *def = ctx->def;
	const struct write_spec *ws = def->spec;
	struct write_call *wc;
	struct command cmd;
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	if (parse_write(&env, params, def->name, ws, &cmd) < 0) {
		call_fault_env(c, &env);
		goto out;
	}
	wc = xcalloc(1, sizeof(*wc));
	wc->call = c;
	wc->node = ctx->node;
	wc->bool_result = ws->bool_result;
	kv_write(ctx->node, &cmd, write_done, wc);
out:
	command_free(&cmd);
	xmlrpc_env_clean(&env);
}

/* ---- reads
 * -------------------------------------------------------------------- */

/* A read in progress.  Its completion (on a node thread) only hands it
 * to the call's own thread, where `render` builds the answer (kv.h). */
struct read_call {
	struct call *call;
	struct node *node;
	char *what; /* get: the key, for the fault */
	const char *method;
	void (*render)(struct read_call *rc, const struct kv_page *pg);
	struct kv_read *kr;
};

static struct read_call *
read_call_new(struct call *c, struct node *n, const char *method,
	      void (*render)(struct read_call *, const struct kv_page *))
{
	struct read_call *rc = xcalloc(1, sizeof(*rc));

	rc->call = c;
	rc->node = n;
	rc->method = method;
	rc->render = render;
	return rc;
}

static bool read_failed(struct read_call *rc, int rv, enum node_status st);

/* On the call's thread: the outcome, then the answer. */
static void read_render(struct call *c, void *arg)
{
	struct read_call *rc = arg;
	const struct kv_page *pg;
	enum node_status st;
	int rv = kv_read_finish(rc->kr, &st, &pg);

	if (!read_failed(rc, rv, st))
		rc->render(rc, pg);
	kv_read_free(rc->kr);
	free(rc->what);
	free(rc);
}

/* kv_read_fn: on a node thread; hands over. */
static void read_done(void *arg, struct kv_read *r)
{
	struct read_call *rc = arg;

	rc->kr = r;
	call_continue(rc->call, read_render, rc);
}

/* The error side of a read's completion; true when it answered. */
static bool read_failed(struct read_call *rc, int rv, enum node_status st)
{
	const char *method = rc->method;

	switch (rv) {
	case KV_OK:
		return false;
	case KV_ENOTFOUND:
		call_fault(rc->call, API_FAULT_NOT_FOUND, "not found: %.200s",
			   rc->what ? rc->what : "");
		return true;
	case KV_ETOOBIG:
		if (strcmp(method, "list") == 0)
			call_fault(rc->call, API_FAULT_INVALID,
				   "list: the answer passes the response "
				   "limit (%u keys, %u MiB of XML); page with "
				   "list(prefix, after, limit)",
				   KV_PAGE_MAX, KV_RESPONSE_MAX >> 20);
		else
			call_fault(rc->call, API_FAULT_INVALID,
				   "multiGet: the answer passes the response "
				   "limit (%u MiB of XML); ask for fewer keys "
				   "at a time",
				   KV_RESPONSE_MAX >> 20);
		return true;
	default:
		status_fault(rc->call, rc->node, st);
		return true;
	}
}

static void get_render(struct read_call *rc, const struct kv_page *pg)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	answer(rc->call, &env,
	       xmlrpc_string_new_lp(&env, pg->items[0].vlen, pg->items[0].val));
	xmlrpc_env_clean(&env);
}

static void meth_get(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	struct read_call *rc;
	char *key = NULL;
	size_t klen;
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	if (param_count(&env, params, 1, 1, "get") < 0 ||
	    param_string(&env, params, 0, "key", COMMAND_MAX_KEY, &key, &klen) <
		0) {
		call_fault_env(c, &env);
		goto out;
	}
	rc = read_call_new(c, ctx->node, "get", get_render);
	rc->what = xstrdup(key);
	kv_get(ctx->node, key, klen, read_done, rc);
out:
	free(key);
	xmlrpc_env_clean(&env);
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
	return out;
}

static void list_render(struct read_call *rc, const struct kv_page *pg)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	answer(rc->call, &env, page_pairs(&env, pg));
	xmlrpc_env_clean(&env);
}

/* list(), list(prefix): every key with the prefix, or fault 3 when that
 * passes one response; list(prefix, after[, limit]): one page of the keys
 * greater than after (docs/API.md, "Large answers"). */
static void meth_list(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	char *prefix = NULL, *after = NULL;
	size_t plen = 0, alen = 0;
	int64_t limit = 0;
	xmlrpc_env env;
	int n;

	xmlrpc_env_init(&env);
	n = param_count(&env, params, 0, 3, "list");
	if (n < 0 ||
	    (n >= 1 && param_string(&env, params, 0, "prefix", COMMAND_MAX_KEY,
				    &prefix, &plen) < 0) ||
	    (n >= 2 && param_string(&env, params, 1, "after", COMMAND_MAX_KEY,
				    &after, &alen) < 0) ||
	    (n == 3 && param_int(&env, params, 2, "limit", &limit) < 0)) {
		call_fault_env(c, &env);
		goto out;
	}
	if (n == 3 && limit < 1) {
		call_fault(c, API_FAULT_INVALID, "limit must be >= 1");
		goto out;
	}
	kv_list(ctx->node, prefix, plen, after, alen,
		limit > KV_PAGE_MAX ? KV_PAGE_MAX : (size_t)limit,
		after == NULL, read_done,
		read_call_new(c, ctx->node, "list", list_render));
out:
	free(prefix);
	free(after);
	xmlrpc_env_clean(&env);
}

static void mget_render(struct read_call *rc, const struct kv_page *pg)
{
	xmlrpc_value *out;
	xmlrpc_env env;
	size_t j;

	xmlrpc_env_init(&env);
	out = xmlrpc_struct_new(&env);
	for (j = 0; j < pg->n && !env.fault_occurred; j++) {
		const struct kv_item *it = &pg->items[j];
		xmlrpc_value *v = xmlrpc_string_new_lp(&env, it->vlen, it->val);

		if (env.fault_occurred)
			break;
		xmlrpc_struct_set_value_n(&env, out, it->key, it->klen, v);
		xmlrpc_DECREF(v);
	}
	answer(rc->call, &env, out);
	xmlrpc_env_clean(&env);
}

static void meth_multi_get(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	xmlrpc_value *keys = NULL;
	struct command_str *ks = NULL;
	xmlrpc_env env;
	int n = 0, i;

	xmlrpc_env_init(&env);
	if (param_count(&env, params, 1, 1, "multiGet") < 0)
		goto fail;
	xmlrpc_array_read_item(&env, params, 0, &keys);
	if (env.fault_occurred)
		goto fail;
	if (xmlrpc_value_type(keys) != XMLRPC_TYPE_ARRAY) {
		param_fault(&env, "keys must be an array");
		goto fail;
	}
	n = xmlrpc_array_size(&env, keys);
	if (env.fault_occurred)
		goto fail;
	if (n > (int)COMMAND_MAX_PAIRS) {
		param_fault(&env, "multiGet takes at most %u keys",
			    COMMAND_MAX_PAIRS);
		goto fail;
	}
	ks = xcalloc((size_t)n + 1, sizeof(*ks));
	for (i = 0; i < n; i++) {
		xmlrpc_value *k = NULL;
		xmlrpc_array_read_item(&env, keys, i, &k);
		if (env.fault_occurred)
			goto fail;
		if (xmlrpc_value_type(k) != XMLRPC_TYPE_STRING) {
			xmlrpc_DECREF(k);
			param_fault(&env, "keys must be strings");
			goto fail;
		}
		xmlrpc_read_string_lp(&env, k, &ks[i].len, &ks[i].p);
		xmlrpc_DECREF(k);
		if (env.fault_occurred)
			goto fail;
	}
	kv_multi_get(ctx->node, ks, (size_t)n, read_done,
		     read_call_new(c, ctx->node, "multiGet", mget_render));
	goto out;
fail:
	call_fault_env(c, &env);
out:
	if (ks)
		for (i = 0; i < n; i++)
			free((void *)ks[i].p);
	free(ks);
	if (keys)
		xmlrpc_DECREF(keys);
	xmlrpc_env_clean(&env);
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
		param_fault(env, "from and max must be >= 0");
		return -1;
	}
	return 0;
}

static void entries_render(struct read_call *rc, const struct kv_page *pg)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	answer(rc->call, &env, page_records(&env, pg, false));
	xmlrpc_env_clean(&env);
}

static void meth_get_entries(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	int64_t from, max;
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	if (param_range(&env, params, "getEntries", &from, &max) < 0)
		call_fault_env(c, &env);
	else
		kv_entries(
		    ctx->node, (uint64_t)from,
		    max > KV_PAGE_MAX ? KV_PAGE_MAX : (size_t)max, read_done,
		    read_call_new(c, ctx->node, "getEntries", entries_render));
	xmlrpc_env_clean(&env);
}

static void meth_show_log(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	struct kv_page pg;
	int64_t from, max;
	xmlrpc_env env;

	memset(&pg, 0, sizeof(pg));
	xmlrpc_env_init(&env);
	if (param_range(&env, params, "showLog", &from, &max) < 0) {
		call_fault_env(c, &env);
	} else {
		kv_show_log(ctx->node, (uint64_t)from,
			    max > KV_PAGE_MAX ? KV_PAGE_MAX : (size_t)max, &pg);
		answer(c, &env, page_records(&env, &pg, true));
	}
	kv_page_free(&pg);
	xmlrpc_env_clean(&env);
}

/* ---- the node itself
 * ----------------------------------------------------------- */

static void meth_is_leader(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	if (param_count(&env, params, 0, 0, "isLeader") < 0)
		call_fault_env(c, &env);
	else
		answer(c, &env,
		       xmlrpc_bool_new(&env, node_is_leader(ctx->node)));
	xmlrpc_env_clean(&env);
}

/* status().version: the one place that says which raftd answers. */
/* "0.1.0 (commit 8cf7b9f)": the same string as raftd --version. */
static const char *status_version(void) { return raftd_version_string(); }

/* status().peers: as leader, one struct per other member (docs/API.md);
 * built from the copy node_status() made, with no lock held. */
static xmlrpc_value *status_peers(xmlrpc_env *env,
				  const struct node_status_info *si)
{
	xmlrpc_value *arr = xmlrpc_array_new(env);

	for (size_t i = 0; i < si->n_peers && !env->fault_occurred; i++) {
		xmlrpc_value *p = xmlrpc_struct_new(env);

		if (env->fault_occurred)
			break;
		struct_set(env, p, "id", int_value(env, si->peers[i].id));
		struct_set(env, p, "matchIndex",
			   int_value(env, si->peers[i].match));
		struct_set(env, p, "nextIndex",
			   int_value(env, si->peers[i].next));
		struct_set(env, p, "lag", int_value(env, si->peers[i].lag));
		struct_set(
		    env, p, "lastContactMs",
		    si->peers[i].contact_ms < 0
			? xmlrpc_int_new(env, -1)
			: int_value(env, (uint64_t)si->peers[i].contact_ms));
		if (!env->fault_occurred)
			xmlrpc_array_append_item(env, arr, p);
		xmlrpc_DECREF(p);
	}
	return arr;
}

static void meth_status(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	struct node_status_info si;
	struct node_snap_info sn;
	xmlrpc_value *out;
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	if (param_count(&env, params, 0, 0, "status") < 0) {
		call_fault_env(c, &env);
		goto out;
	}
	node_status(ctx->node, &si);
	out = xmlrpc_struct_new(&env);
	struct_set(&env, out, "id", int_value(&env, si.id));
	struct_set(&env, out, "state",
		   xmlrpc_string_new(&env, si.role == RAFT_PRECANDIDATE
					       ? "candidate"
					       : raft_role_name(si.role)));
	struct_set(&env, out, "term", int_value(&env, si.term));
	struct_set(&env, out, "leader", int_value(&env, si.leader));
	struct_set(&env, out, "leaderAddress",
		   xmlrpc_string_new(&env, si.leader_address));
	{
		char hex[17];
		/* Identity (daemon/ident.h), as 16 hex digits: `raftctl
		 * member add` records a new node's incarnation. */
		snprintf(hex, sizeof(hex), "%016llx",
			 (unsigned long long)node_cluster_id(ctx->node));
		struct_set(&env, out, "cluster", xmlrpc_string_new(&env, hex));
		snprintf(hex, sizeof(hex), "%016llx",
			 (unsigned long long)node_incarnation(ctx->node));
		struct_set(&env, out, "incarnation",
			   xmlrpc_string_new(&env, hex));
	}
	struct_set(&env, out, "commitIndex", int_value(&env, si.commit_index));
	struct_set(&env, out, "lastApplied", int_value(&env, si.last_applied));
	struct_set(&env, out, "lastLogIndex",
		   int_value(&env, si.last_log_index));
	struct_set(&env, out, "lastLogTerm", int_value(&env, si.last_log_term));
	struct_set(&env, out, "logSyncs", int_value(&env, si.log_syncs));
	struct_set(&env, out, "fsyncMaxUs",
		   int_value(&env, si.sync_ns_max / 1000));
	struct_set(&env, out, "appendsSent", int_value(&env, si.appends_sent));
	struct_set(&env, out, "entriesSent", int_value(&env, si.entries_sent));
	struct_set(&env, out, "appendsReceived",
		   int_value(&env, si.appends_received));
	struct_set(&env, out, "readCopyMaxUs",
		   int_value(&env, si.read_copy_ns_max / 1000));
	struct_set(&env, out, "readCopyCpuMaxUs",
		   int_value(&env, si.read_copy_cpu_ns_max / 1000));
	struct_set(&env, out, "droppedMessages",
		   int_value(&env, si.dropped_msgs));
	node_snap_info(ctx->node, &sn);
	struct_set(&env, out, "snapshotIndex", int_value(&env, sn.index));
	struct_set(&env, out, "snapshotTerm", int_value(&env, sn.term));
	struct_set(&env, out, "snapshotBytes", int_value(&env, sn.bytes));
	struct_set(&env, out, "snapshotsTaken", int_value(&env, sn.taken));
	struct_set(&env, out, "snapshotsInstalled",
		   int_value(&env, sn.installed));
	struct_set(&env, out, "snapshotsSent", int_value(&env, sn.sent));
	struct_set(&env, out, "snapshotPauseMaxUs",
		   int_value(&env, sn.pause_ns_max / 1000));
	struct_set(&env, out, "snapshotError",
		   xmlrpc_string_new(&env, sn.error));
	struct_set(&env, out, "logFirstIndex", int_value(&env, sn.log_first));
	struct_set(&env, out, "logEntries", int_value(&env, sn.log_entries));
	struct_set(&env, out, "logBytes", int_value(&env, sn.log_bytes));
	struct_set(&env, out, "version",
		   xmlrpc_string_new(&env, status_version()));
	struct_set(&env, out, "uptime", int_value(&env, si.uptime_s));
	struct_set(&env, out, "keys", int_value(&env, si.keys));
	struct_set(&env, out, "elections", int_value(&env, si.elections));
	struct_set(&env, out, "leaderships", int_value(&env, si.leaderships));
	struct_set(&env, out, "peers", status_peers(&env, &si));
	answer(c, &env, out);
out:
	xmlrpc_env_clean(&env);
}

/* snapshot(): takes one on this node now and answers its
 * {index, term, bytes}.  Blocks this server thread while the snapshot is
 * written (it is an operator's command). */
static void meth_snapshot(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	struct node_snap_info sn;
	xmlrpc_value *out;
	xmlrpc_env env;
	uint64_t index = 0, term = 0;
	char err[256];

	xmlrpc_env_init(&env);
	if (param_count(&env, params, 0, 0, "snapshot") < 0) {
		call_fault_env(c, &env);
		goto out;
	}
	if (node_snapshot_now(ctx->node, API_SNAPSHOT_TIMEOUT_MS, &index, &term,
			      err, sizeof(err)) != 0) {
		call_fault(c, API_FAULT_UNAVAILABLE, "snapshot: %s", err);
		goto out;
	}
	node_snap_info(ctx->node, &sn);
	out = xmlrpc_struct_new(&env);
	struct_set(&env, out, "index", int_value(&env, index));
	struct_set(&env, out, "term", int_value(&env, term));
	struct_set(&env, out, "bytes", int_value(&env, sn.bytes));
	answer(c, &env, out);
out:
	xmlrpc_env_clean(&env);
}

/* readSnapshot(index, offset, max): up to max bytes (at most
 * API_SNAPSHOT_CHUNK) of this node's current snapshot file from offset,
 * as {index, size, data (base64)}; index 0 takes whichever is current.
 * Fault 6 when there is none, or it was replaced since (start again). */
static void meth_read_snapshot(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	xmlrpc_value *out;
	xmlrpc_env env;
	int64_t index = 0, offset = 0, max = 0;
	uint64_t idx, size = 0;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256];

	xmlrpc_env_init(&env);
	if (param_count(&env, params, 3, 3, "readSnapshot") < 0 ||
	    param_int(&env, params, 0, "index", &index) < 0 ||
	    param_int(&env, params, 1, "offset", &offset) < 0 ||
	    param_int(&env, params, 2, "max", &max) < 0) {
		call_fault_env(c, &env);
		goto out;
	}
	if (index < 0 || offset < 0 || max < 1 || max > API_SNAPSHOT_CHUNK) {
		call_fault(c, API_FAULT_INVALID,
			   "readSnapshot: index and offset >= 0, max 1..%u",
			   API_SNAPSHOT_CHUNK);
		goto out;
	}
	buf = malloc((size_t)max);
	if (buf == NULL) {
		call_fault(c, API_FAULT_UNAVAILABLE, "out of memory");
		goto out;
	}
	idx = (uint64_t)index;
	if (node_snapshot_read(ctx->node, &idx, (uint64_t)offset, buf,
			       (size_t)max, &len, &size, err,
			       sizeof(err)) != 0) {
		call_fault(c, API_FAULT_UNAVAILABLE, "readSnapshot: %s", err);
		goto out;
	}
	out = xmlrpc_struct_new(&env);
	struct_set(&env, out, "index", int_value(&env, idx));
	struct_set(&env, out, "size", int_value(&env, size));
	struct_set(&env, out, "data", xmlrpc_base64_new(&env, len, buf));
	answer(c, &env, out);
out:
	free(buf);
	xmlrpc_env_clean(&env);
}

/* ---- the table
 * ---------------------------------------------------------------- */

/* ---- membership (docs/API.md, "Membership") ----------------------------- */

/* members() -> [{id, address, peerAddress, voter, learner, promote,
 * leader, match}]: the configuration in force on this node (the latest in
 * its log, thesis §4.1; any node, not linearizable). */
static void meth_members(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	struct node_member_info m[RAFT_MAX_NODES];
	xmlrpc_value *out = NULL;
	xmlrpc_env env;
	size_t i, n = 0;

	xmlrpc_env_init(&env);
	if (param_count(&env, params, 0, 0, "members") < 0) {
		call_fault_env(c, &env);
		goto out;
	}
	node_members(ctx->node, m, &n);
	out = xmlrpc_array_new(&env);
	for (i = 0; i < n && !env.fault_occurred; i++) {
		xmlrpc_value *st = xmlrpc_struct_new(&env), *b;
		struct_set(&env, st, "id", int_value(&env, m[i].id));
		struct_set(&env, st, "address",
			   xmlrpc_string_new(&env, m[i].address));
		struct_set(&env, st, "peerAddress",
			   xmlrpc_string_new(&env, m[i].peer_address));
		b = xmlrpc_bool_new(&env, m[i].voter);
		struct_set(&env, st, "voter", b);
		b = xmlrpc_bool_new(&env, m[i].promote);
		struct_set(&env, st, "promote", b);
		b = xmlrpc_bool_new(&env, m[i].leader);
		struct_set(&env, st, "leader", b);
		struct_set(&env, st, "match", int_value(&env, m[i].match));
		if (!env.fault_occurred)
			xmlrpc_array_append_item(&env, out, st);
		xmlrpc_DECREF(st);
	}
	answer(c, &env, out);
out:
	xmlrpc_env_clean(&env);
}

static void member_fault(struct call *c, struct node *n, enum node_status st,
			 const char *err)
{
	switch (st) {
	case NODE_INVALID:
		call_fault(c, API_FAULT_INVALID, "invalid: %s", err);
		break;
	case NODE_UNAVAILABLE:
		call_fault(c, API_FAULT_UNAVAILABLE, "unavailable: %s", err);
		break;
	case NODE_TIMEOUT:
		call_fault(c, API_FAULT_TIMEOUT,
			   "timeout: the change is not known to be committed; "
			   "retry it (a repeated change is harmless)");
		break;
	default:
		status_fault(c, n, st);
	}
}

static int member_id(xmlrpc_env *env, xmlrpc_value *params, int i, uint32_t *id)
{
	int64_t x = 0;

	if (param_int(env, params, i, "id", &x) != 0)
		return -1;
	if (x < 1 || x > CONFIG_MAX_ID) {
		param_fault(env, "id must be 1..%d", CONFIG_MAX_ID);
		return -1;
	}
	*id = (uint32_t)x;
	return 0;
}

/* addMember(id, address[, voterNow[, peerAddress[, incarnation]]]) ->
 * true once the change is applied here (leader only).  `incarnation` (hex,
 * the new node's status().incarnation, "" for none) is recorded in the
 * configuration: every node then takes that node's frames, also after
 * having known another incarnation of its id (daemon/ident.h).  A new member
 * joins as a learner and the leader makes it a voter once it has caught up
 * (thesis §4.2.1), unless voterNow.  Its peer address is peerAddress, else its
 * port + 1000 (as in the config file).  Blocks this server thread until then
 * (an operator's call). */
static void meth_add_member(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	struct node_member_change ch = {.kind = NODE_MEMBER_ADD};
	struct config_node cn;
	xmlrpc_value *v = NULL;
	xmlrpc_env env;
	char addr[CONFIG_ADDRESS_MAX] = "", paddr[CONFIG_ADDRESS_MAX] = "";
	char err[512];
	char *s = NULL, *ps = NULL;
	size_t len = 0;
	enum node_status st;
	int n;

	xmlrpc_env_init(&env);
	n = param_count(&env, params, 2, 5, "addMember");
	if (n < 0 || member_id(&env, params, 0, &ch.id) != 0 ||
	    param_string(&env, params, 1, "address", CONFIG_ADDRESS_MAX - 1, &s,
			 &len) != 0)
		goto fault;
	if (len >= sizeof(addr) || memchr(s, '\0', len) != NULL) {
		param_fault(&env, "address too long or not text");
		goto fault;
	}
	memcpy(addr, s, len);
	if (n == 5) {
		char *is = NULL, *end = NULL;
		size_t ilen = 0;
		if (param_string(&env, params, 4, "incarnation", 16, &is,
				 &ilen) != 0)
			goto fault;
		errno = 0;
		ch.incarnation = ilen ? strtoull(is, &end, 16) : 0;
		if (ilen && (errno || end != is + ilen || *is == '-')) {
			free(is);
			param_fault(&env, "incarnation: 16 hex digits");
			goto fault;
		}
		free(is);
	}
	if (n >= 4) {
		size_t plen = 0;
		if (param_string(&env, params, 3, "peerAddress",
				 CONFIG_ADDRESS_MAX - 1, &ps, &plen) != 0)
			goto fault;
		if (memchr(ps, '\0', plen) != NULL) {
			param_fault(&env, "peerAddress not text");
			goto fault;
		}
		memcpy(paddr, ps, plen);
		ch.peer_given = plen > 0;
	}
	if (n >= 3) {
		xmlrpc_bool b = 0;
		xmlrpc_array_read_item(&env, params, 2, &v);
		if (!env.fault_occurred &&
		    xmlrpc_value_type(v) != XMLRPC_TYPE_BOOL)
			param_fault(&env, "voterNow must be a boolean");
		else if (!env.fault_occurred)
			xmlrpc_read_bool(&env, v, &b);
		if (env.fault_occurred)
			goto fault;
		ch.voter_now = b != 0;
	}
	if (config_node_make(ch.id, addr, paddr, &cn, err, sizeof(err)) != 0) {
		param_fault(&env, "%s", err);
		goto fault;
	}
	ch.address = cn.address;
	ch.peer_address = cn.peer_address;
	st = node_member_change(ctx->node, &ch, err, sizeof(err));
	if (st == NODE_OK)
		call_return(c, xmlrpc_bool_new(&env, 1));
	else
		member_fault(c, ctx->node, st, err);
	goto out;
fault:
	call_fault_env(c, &env);
out:
	if (v)
		xmlrpc_DECREF(v);
	free(s);
	free(ps);
	xmlrpc_env_clean(&env);
}

/* removeMember(id) -> true once the change is applied here (leader
 * only).  Removing the leader itself works: it steps down once the change
 * is committed and hands over (thesis §4.2.2). */
static void meth_remove_member(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	struct node_member_change ch = {.kind = NODE_MEMBER_REMOVE};
	xmlrpc_env env;
	char err[512];
	enum node_status st;

	xmlrpc_env_init(&env);
	if (param_count(&env, params, 1, 1, "removeMember") < 0 ||
	    member_id(&env, params, 0, &ch.id) != 0) {
		call_fault_env(c, &env);
		goto out;
	}
	st = node_member_change(ctx->node, &ch, err, sizeof(err));
	if (st == NODE_OK)
		call_return(c, xmlrpc_bool_new(&env, 1));
	else
		member_fault(c, ctx->node, st, err);
out:
	xmlrpc_env_clean(&env);
}

/* transferLeader([id]) -> {leader, ms}: leadership transfer (thesis
 * §3.10) to voter id (0 or none: the most up-to-date one), answered once
 * another node leads. */
static void meth_transfer(struct call *c, xmlrpc_value *params, void *arg)
{
	const struct methods_ctx *ctx = arg;
	xmlrpc_value *out;
	xmlrpc_env env;
	uint32_t to = 0, leader = 0;
	uint64_t us = 0;
	int64_t x = 0;
	char err[512];
	enum node_status st;
	int n;

	xmlrpc_env_init(&env);
	n = param_count(&env, params, 0, 1, "transferLeader");
	if (n < 0 || (n == 1 && param_int(&env, params, 0, "id", &x) != 0)) {
		call_fault_env(c, &env);
		goto out;
	}
	if (x < 0 || x > CONFIG_MAX_ID) {
		call_fault(c, API_FAULT_INVALID, "id must be 0..%d",
			   CONFIG_MAX_ID);
		goto out;
	}
	to = (uint32_t)x;
	st = node_transfer(ctx->node, to, API_TRANSFER_TIMEOUT_MS, &leader, &us,
			   err, sizeof(err));
	if (st != NODE_OK) {
		member_fault(c, ctx->node, st, err);
		goto out;
	}
	out = xmlrpc_struct_new(&env);
	struct_set(&env, out, "leader", int_value(&env, leader));
	struct_set(&env, out, "us", int_value(&env, us));
	answer(c, &env, out);
out:
	xmlrpc_env_clean(&env);
}

const struct method_def methods_client[] = {
    {"isLeader", meth_is_leader, NULL, "isLeader() -> true on the leader"},
    {"addEntry", meth_write, &spec_add,
     "addEntry(tid, data) -> true once applied"},
    {"getEntries", meth_get_entries, NULL,
     "getEntries(from, max) -> [{index, term, tid, data}]"},
    {"put", meth_write, &spec_put, "put(key, value[, tid]) -> true"},
    {"get", meth_get, NULL, "get(key) -> value; fault 4 if absent"},
    {"delete", meth_write, &spec_delete,
     "delete(key[, tid]) -> true if it existed"},
    {"cas", meth_write, &spec_cas,
     "cas(key, expected, value[, tid]) -> true if swapped"},
    {"list", meth_list, NULL,
     "list([prefix[, after[, limit]]]) -> [{key, value}] sorted by key"},
    {"multiPut", meth_write, &spec_mput,
     "multiPut({key: value}[, tid]) -> true"},
    {"multiGet", meth_multi_get, NULL, "multiGet([key]) -> {key: value}"},
    {"status", meth_status, NULL, "status() -> {id, state, term, leader, ...}"},
    {"showLog", meth_show_log, NULL,
     "showLog(from, max) -> [{index, term, tid, data, committed}]"},
    {"snapshot", meth_snapshot, NULL,
     "snapshot() -> {index, term, bytes}: take one on this node now"},
    {"readSnapshot", meth_read_snapshot, NULL,
     "readSnapshot(index, offset, max) -> {index, size, data}"},
    {"members", meth_members, NULL,
     "members() -> [{id, address, peerAddress, voter, promote, leader, "
     "match}]"},
    {"addMember", meth_add_member, NULL,
     "addMember(id, address[, voterNow[, peerAddress[, incarnation]]]) "
     "-> true once applied"},
    {"removeMember", meth_remove_member, NULL,
     "removeMember(id) -> true once applied"},
    {"transferLeader", meth_transfer, NULL,
     "transferLeader([id]) -> {leader, us}"},
};

const size_t methods_client_count =
    sizeof(methods_client) / sizeof(methods_client[0]);
