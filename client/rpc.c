/* rpc.c: raftctl's side of the XML-RPC API: deadline-bounded calls,
 * parallel status scans, leader finding, hint following and retries. */
#include "rpc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xmlrpc-c/client.h>

#include "autoconfig.h" /* PACKAGE_VERSION */
#include "util.h"

/* How long one status() may take during a leader scan: loopback answers in
 * about a millisecond, so this only matters for hung or blackholed nodes. */
#define RPC_SCAN_TIMEOUT_MS 500
/* Backoff between retries: doubled from MIN to MAX. */
#define RPC_BACKOFF_MIN_MS 50
#define RPC_BACKOFF_MAX_MS 500
/* Retries of one call before giving up even if time is left. */
#define RPC_MAX_ATTEMPTS 100
/* A leader may hold a write up to request_timeout_ms before it answers
 * TIMEOUT; wait that long plus a margin before giving up on one attempt. */
#define RPC_DEFAULT_REQUEST_TIMEOUT_MS 5000
#define RPC_CALL_MARGIN_MS 1000

struct rpc {
	struct nodelist nodes;
	xmlrpc_server_info *info[NODELIST_MAX]; /* made when first needed */
	xmlrpc_client *client;
	/* The event loop checks this flag; setting it aborts every RPC in
	 * flight (they complete with -504 "Callback aborted"). */
	int interrupt;
	uint64_t deadline;
	int leader; /* position of the believed leader, -1 if unknown */
	bool verbose;
};

/* One RPC in flight. */
struct call {
	struct rpc *r;
	size_t pos;
	bool done;
	int fault;
	char msg[512];
	xmlrpc_value *result; /* a reference of ours when set */
	/* For status scans: decode here, and maybe stop the scan early. */
	struct rpc_status *st;
	struct scan *scan;
};

/* A parallel status() scan. */
struct scan {
	size_t n;    /* calls started */
	size_t done; /* completed */
	size_t up;   /* answered */
	bool leader; /* some answer says "leader" */
	bool early;  /* stop once a leader and a majority answered */
};

static void trace(const struct rpc *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void trace(const struct rpc *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->verbose)
		return;
	fputs("raftctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void set_error(struct rpc_error *err, int fault, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(struct rpc_error *err, int fault, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->fault = fault;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* Drops what xmlrpc-c puts in front of the interesting part of a
 * message: "RPC failed at server.  " before a server's faultString, and
 * "Client transport failed ... explaining:  " before libcurl's reason. */
static const char *strip_prefix(const char *s)
{
	static const char prefix[] = "RPC failed at server.";
	const char *p;

	if (strncmp(s, prefix, strlen(prefix)) == 0)
		s += strlen(prefix);
	else if ((p = strstr(s, "explaining:")) != NULL)
		s = p + strlen("explaining:");
	while (*s == ' ')
		s++;
	return s;
}

int rpc_new(const struct nodelist *nodes, bool verbose, struct rpc **out,
	    char *err, size_t errlen)
{
	struct xmlrpc_curl_xportparms curl;
	struct xmlrpc_clientparms parms;
	struct rpc *r = xcalloc(1, sizeof(*r));
	xmlrpc_env env;
	int rv = RPC_ESETUP;

	xmlrpc_env_init(&env);
	r->nodes = *nodes;
	r->leader = -1;
	r->verbose = verbose;
	r->deadline = UINT64_MAX;
	memset(&curl, 0, sizeof(curl));
	curl.user_agent = "raftctl/" PACKAGE_VERSION;
	curl.dont_advertise = 1;
	/* Only a backstop: every call is cut short by the interrupt flag
	 * long before this. */
	curl.timeout = 3600 * 1000;
	if (nodes->tls_ca[0] != '\0')
		curl.cainfo = r->nodes.tls_ca; /* verify peer and host */
	memset(&parms, 0, sizeof(parms));
	parms.transport = "curl";
	parms.transportparmsP = &curl;
	parms.transportparm_size = XMLRPC_CXPSIZE(timeout);
	xmlrpc_client_create(&env, XMLRPC_CLIENT_NO_FLAGS, "raftctl",
			     PACKAGE_VERSION, &parms,
			     XMLRPC_CPSIZE(transportparm_size), &r->client);
	if (env.fault_occurred) {
		snprintf(err, errlen, "cannot create the XML-RPC client: %s",
			 env.fault_string);
		r->client = NULL;
		goto out;
	}
	xmlrpc_client_set_interrupt(r->client, &r->interrupt);
	*out = r;
	r = NULL;
	rv = RPC_OK;
out:
	rpc_free(r);
	xmlrpc_env_clean(&env);
	return rv;
}

void rpc_free(struct rpc *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < NODELIST_MAX; i++)
		if (r->info[i])
			xmlrpc_server_info_free(r->info[i]);
	if (r->client)
		xmlrpc_client_destroy(r->client);
	free(r);
}

bool rpc_set_verbose(struct rpc *r, bool verbose)
{
	bool was = r->verbose;

	r->verbose = verbose;
	return was;
}

void rpc_set_deadline(struct rpc *r, uint64_t deadline_ms)
{
	r->deadline = deadline_ms;
}

const struct nodelist *rpc_nodes(const struct rpc *r) { return &r->nodes; }

int rpc_leader_pos(const struct rpc *r) { return r->leader; }

int rpc_add_node(struct rpc *r, uint32_t id, const char *addr, size_t *pos)
{
	return nodelist_add(&r->nodes, id, addr, pos);
}

static uint64_t remaining(const struct rpc *r)
{
	uint64_t now = util_now_ms();

	return now >= r->deadline ? 0 : r->deadline - now;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static xmlrpc_server_info *server_info(struct rpc *r, size_t pos,
				       xmlrpc_env *env)
{
	char url[NODELIST_ADDR_MAX + 16];

	if (r->info[pos] == NULL) {
		snprintf(url, sizeof(url), "%s://%s/RPC2",
			 r->nodes.tls_ca[0] ? "https" : "http",
			 r->nodes.nodes[pos].address);
		r->info[pos] = xmlrpc_server_info_new(env, url);
		if (env->fault_occurred)
			r->info[pos] = NULL;
	}
	return r->info[pos];
}

/* ---- decoding ------------------------------------------------------- */

static int value_int(xmlrpc_value *v, int64_t *out)
{
	xmlrpc_env env;
	int rv = RPC_EPROTO;

	xmlrpc_env_init(&env);
	if (xmlrpc_value_type(v) == XMLRPC_TYPE_INT) {
		int i;
		xmlrpc_read_int(&env, v, &i);
		*out = i;
	} else if (xmlrpc_value_type(v) == XMLRPC_TYPE_I8) {
		xmlrpc_int64 i;
		xmlrpc_read_i8(&env, v, &i);
		*out = i;
	} else {
		goto out;
	}
	if (!env.fault_occurred)
		rv = RPC_OK;
out:
	xmlrpc_env_clean(&env);
	return rv;
}

/* The member `key` of struct `s` (a new reference), or NULL. */
static xmlrpc_value *member(xmlrpc_value *s, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;

	if (xmlrpc_value_type(s) != XMLRPC_TYPE_STRUCT)
		return NULL;
	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, s, key, &v);
	if (env.fault_occurred)
		v = NULL;
	xmlrpc_env_clean(&env);
	return v;
}

int rpc_struct_int(xmlrpc_value *s, const char *key, int64_t *out)
{
	xmlrpc_value *v = member(s, key);
	int rv = RPC_EPROTO;

	if (v) {
		rv = value_int(v, out);
		xmlrpc_DECREF(v);
	}
	return rv;
}

int rpc_value_bool(xmlrpc_value *v, bool *out)
{
	xmlrpc_env env;
	xmlrpc_bool b = 0;
	int rv = RPC_EPROTO;

	if (xmlrpc_value_type(v) != XMLRPC_TYPE_BOOL)
		return RPC_EPROTO;
	xmlrpc_env_init(&env);
	xmlrpc_read_bool(&env, v, &b);
	if (!env.fault_occurred) {
		*out = b != 0;
		rv = RPC_OK;
	}
	xmlrpc_env_clean(&env);
	return rv;
}

int rpc_struct_bool(xmlrpc_value *s, const char *key, bool *out)
{
	xmlrpc_value *v = member(s, key);
	int rv = RPC_EPROTO;

	if (v) {
		rv = rpc_value_bool(v, out);
		xmlrpc_DECREF(v);
	}
	return rv;
}

int rpc_value_strdup(xmlrpc_value *v, char **out)
{
	xmlrpc_env env;
	const char *s = NULL;
	int rv = RPC_EPROTO;

	if (xmlrpc_value_type(v) != XMLRPC_TYPE_STRING)
		return RPC_EPROTO;
	xmlrpc_env_init(&env);
	xmlrpc_read_string(&env, v, &s);
	if (!env.fault_occurred) {
		*out = (char *)s; /* malloc'd by xmlrpc-c: free() it */
		rv = RPC_OK;
	}
	xmlrpc_env_clean(&env);
	return rv;
}

int rpc_struct_strdup(xmlrpc_value *s, const char *key, char **out)
{
	xmlrpc_value *v = member(s, key);
	int rv = RPC_EPROTO;

	if (v) {
		rv = rpc_value_strdup(v, out);
		xmlrpc_DECREF(v);
	}
	return rv;
}

int rpc_struct_base64(xmlrpc_value *s, const char *key, uint8_t **out,
		      size_t *len)
{
	xmlrpc_value *v = member(s, key);
	const unsigned char *bytes = NULL;
	xmlrpc_env env;
	int rv = RPC_EPROTO;

	*out = NULL;
	*len = 0;
	if (v == NULL)
		return RPC_EPROTO;
	xmlrpc_env_init(&env);
	if (xmlrpc_value_type(v) == XMLRPC_TYPE_BASE64) {
		xmlrpc_read_base64(&env, v, len, &bytes);
		if (!env.fault_occurred) {
			/* malloc'd by xmlrpc-c: free() it */
			*out = (uint8_t *)bytes;
			rv = RPC_OK;
		}
	}
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(v);
	return rv;
}

int rpc_struct_str(xmlrpc_value *s, const char *key, char *out, size_t outlen)
{
	char *str = NULL;
	int rv = rpc_struct_strdup(s, key, &str);

	if (rv == RPC_OK)
		snprintf(out, outlen, "%s", str);
	free(str);
	return rv;
}

int rpc_decode_status(xmlrpc_value *v, struct rpc_status *st)
{
	memset(st, 0, sizeof(*st));
	if (rpc_struct_int(v, "id", &st->id) < 0 ||
	    rpc_struct_str(v, "state", st->state, sizeof(st->state)) < 0 ||
	    rpc_struct_int(v, "term", &st->term) < 0 ||
	    rpc_struct_int(v, "leader", &st->leader) < 0 ||
	    rpc_struct_int(v, "commitIndex", &st->commit_index) < 0 ||
	    rpc_struct_int(v, "lastLogIndex", &st->last_log_index) < 0) {
		snprintf(st->error, sizeof(st->error),
			 "status() answer lacks a required member");
		return RPC_EPROTO;
	}
	/* Promised by docs/API.md too, but only informative here. */
	if (rpc_struct_str(v, "leaderAddress", st->leader_address,
			   sizeof(st->leader_address)) < 0)
		st->leader_address[0] = '\0';
	if (rpc_struct_int(v, "lastApplied", &st->last_applied) < 0)
		st->last_applied = -1;
	if (rpc_struct_int(v, "lastLogTerm", &st->last_log_term) < 0)
		st->last_log_term = -1;
	/* Snapshots and the log's size: newer nodes only. */
	{
		static const struct {
			const char *key;
			size_t off;
		} opt[] = {
		    {"snapshotIndex",
		     offsetof(struct rpc_status, snapshot_index)},
		    {"snapshotTerm",
		     offsetof(struct rpc_status, snapshot_term)},
		    {"snapshotBytes",
		     offsetof(struct rpc_status, snapshot_bytes)},
		    {"snapshotsTaken",
		     offsetof(struct rpc_status, snapshots_taken)},
		    {"snapshotsInstalled",
		     offsetof(struct rpc_status, snapshots_installed)},
		    {"snapshotsSent",
		     offsetof(struct rpc_status, snapshots_sent)},
		    {"snapshotPauseMaxUs",
		     offsetof(struct rpc_status, snapshot_pause_max_us)},
		    {"logFirstIndex",
		     offsetof(struct rpc_status, log_first_index)},
		    {"logEntries", offsetof(struct rpc_status, log_entries)},
		    {"logBytes", offsetof(struct rpc_status, log_bytes)},
		};
		for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
			int64_t *f = (int64_t *)((char *)st + opt[i].off);
			if (rpc_struct_int(v, opt[i].key, f) < 0)
				*f = -1;
		}
	}
	st->has_snapshot_error =
	    rpc_struct_str(v, "snapshotError", st->snapshot_error,
			   sizeof(st->snapshot_error)) == RPC_OK;
	st->up = true;
	return RPC_OK;
}

/* ---- the event loop ------------------------------------------------- */

static void scan_progress(struct call *c)
{
	struct scan *s = c->scan;
	size_t known = c->r->nodes.n;

	s->done++;
	if (c->st->up) {
		s->up++;
		if (strcmp(c->st->state, "leader") == 0)
			s->leader = true;
	}
	/* A stale leader in a minority may still claim leadership: only
	 * stop early once a majority has answered, so a newer leader (a
	 * higher term) would have been heard too. */
	if (s->early && s->leader && s->up >= known / 2 + 1 && s->done < s->n)
		c->r->interrupt = 1;
}

static void on_done(const char *url, const char *method, xmlrpc_value *params,
		    void *user, xmlrpc_env *fault, xmlrpc_value *result)
{
	struct call *c = user;

	(void)url;
	(void)method;
	(void)params;
	c->done = true;
	if (fault->fault_occurred) {
		c->fault = fault->fault_code;
		snprintf(c->msg, sizeof(c->msg), "%s",
			 strip_prefix(fault->fault_string));
	} else {
		xmlrpc_INCREF(result);
		c->result = result;
	}
	if (c->st) {
		if (c->result) {
			if (rpc_decode_status(c->result, c->st) < 0)
				snprintf(c->msg, sizeof(c->msg), "%s",
					 c->st->error);
		} else {
			snprintf(c->st->error, sizeof(c->st->error), "%s",
				 c->fault == XMLRPC_NETWORK_ERROR &&
					 c->r->interrupt
				     ? "no answer in time"
				     : c->msg);
		}
		scan_progress(c);
	}
}

/* Starts `method` on node `pos`; a failure to start completes the call at
 * once. */
static void start(struct rpc *r, struct call *c, const char *method,
		  xmlrpc_value *params)
{
	xmlrpc_env env;
	xmlrpc_server_info *info;

	xmlrpc_env_init(&env);
	info = server_info(r, c->pos, &env);
	if (info)
		xmlrpc_client_start_rpc(&env, r->client, info, method, params,
					on_done, c);
	if (env.fault_occurred && !c->done) {
		xmlrpc_env fault;

		xmlrpc_env_init(&fault);
		xmlrpc_env_set_fault(&fault, XMLRPC_NETWORK_ERROR,
				     env.fault_string);
		on_done(NULL, method, params, c, &fault, NULL);
		xmlrpc_env_clean(&fault);
	}
	xmlrpc_env_clean(&env);
}

/* Runs the event loop until every started call is done, `timeout_ms`
 * passes, or a callback sets the interrupt flag; then aborts whatever is
 * still in flight, so every call is done when this returns. */
static void run(struct rpc *r, uint64_t timeout_ms)
{
	r->interrupt = 0;
	xmlrpc_client_event_loop_finish_timeout(r->client,
						(unsigned long)timeout_ms);
	/* The loop has no "all done" answer: finish with the flag set
	 * either completes the rest at once or finds nothing to do. */
	r->interrupt = 1;
	xmlrpc_client_event_loop_finish(r->client);
	r->interrupt = 0;
}

int rpc_call_node(struct rpc *r, size_t pos, const char *method,
		  xmlrpc_value *params, uint64_t timeout_ms,
		  xmlrpc_value **result, struct rpc_error *err)
{
	struct call c = {.r = r, .pos = pos};
	uint64_t left = remaining(r);
	uint64_t t0 = util_now_ms();

	*result = NULL;
	if (left == 0) {
		set_error(err, XMLRPC_NETWORK_ERROR, "deadline passed");
		return RPC_EUNAVAIL;
	}
	start(r, &c, method, params);
	if (!c.done)
		run(r, min_u64(timeout_ms, left));
	if (c.result) {
		trace(r, "%s on node %" PRIu32 " (%s): ok in %" PRIu64 " ms",
		      method, r->nodes.nodes[pos].id,
		      r->nodes.nodes[pos].address, util_now_ms() - t0);
		*result = c.result;
		return RPC_OK;
	}
	if (c.fault == XMLRPC_NETWORK_ERROR &&
	    util_now_ms() - t0 >= min_u64(timeout_ms, left))
		snprintf(c.msg, sizeof(c.msg),
			 "no answer within %" PRIu64 " ms",
			 min_u64(timeout_ms, left));
	trace(r, "%s on node %" PRIu32 " (%s): fault %d: %s", method,
	      r->nodes.nodes[pos].id, r->nodes.nodes[pos].address, c.fault,
	      c.msg);
	set_error(err, c.fault, "%s", c.msg);
	return RPC_EFAULT;
}

void rpc_status_all(struct rpc *r, uint64_t timeout_ms, struct rpc_status *st)
{
	struct scan s = {0};
	size_t n = r->nodes.n;
	struct call *c = xcalloc(n, sizeof(*c));
	xmlrpc_value *params = NULL;
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	params = xmlrpc_array_new(&env);
	for (size_t i = 0; i < n; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		c[i].r = r;
		c[i].pos = i;
		c[i].st = &st[i];
		c[i].scan = &s;
	}
	s.n = n;
	for (size_t i = 0; i < n && !env.fault_occurred; i++)
		start(r, &c[i], "status", params);
	run(r, min_u64(timeout_ms, remaining(r)));
	for (size_t i = 0; i < n; i++) {
		if (!c[i].done) /* cannot happen after run(); be safe */
			snprintf(st[i].error, sizeof(st[i].error),
				 "no answer in time");
		if (c[i].result && st[i].up)
			st[i].raw = c[i].result; /* the caller's now */
		else if (c[i].result)
			xmlrpc_DECREF(c[i].result);
		trace(r, "status of node %" PRIu32 " (%s): %s%s%s",
		      r->nodes.nodes[i].id, r->nodes.nodes[i].address,
		      st[i].up ? st[i].state : "down", st[i].up ? "" : ": ",
		      st[i].up ? "" : st[i].error);
	}
	if (params)
		xmlrpc_DECREF(params);
	xmlrpc_env_clean(&env);
	free(c);
}

void rpc_status_release(struct rpc_status *st, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (st[i].raw)
			xmlrpc_DECREF(st[i].raw);
		st[i].raw = NULL;
	}
}

/* One scan round with early stop; fills st (room for NODELIST_MAX). */
static void scan_round(struct rpc *r, struct rpc_status *st)
{
	struct scan s = {.early = true};
	size_t n = r->nodes.n;
	struct call c[NODELIST_MAX];
	xmlrpc_value *params;
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	params = xmlrpc_array_new(&env);
	memset(c, 0, sizeof(c));
	for (size_t i = 0; i < n; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		c[i].r = r;
		c[i].pos = i;
		c[i].st = &st[i];
		c[i].scan = &s;
	}
	s.n = n;
	for (size_t i = 0; i < n; i++)
		start(r, &c[i], "status", params);
	run(r, min_u64(RPC_SCAN_TIMEOUT_MS, remaining(r)));
	for (size_t i = 0; i < n; i++) {
		if (c[i].result)
			xmlrpc_DECREF(c[i].result);
		trace(r, "scan: node %" PRIu32 " (%s): %s%s%s",
		      r->nodes.nodes[i].id, r->nodes.nodes[i].address,
		      st[i].up ? st[i].state : "down", st[i].up ? "" : ": ",
		      st[i].up ? "" : st[i].error);
	}
	xmlrpc_DECREF(params);
	xmlrpc_env_clean(&env);
}

int rpc_find_leader(struct rpc *r, size_t *pos, struct rpc_status *out,
		    struct rpc_error *err)
{
	struct rpc_status st[NODELIST_MAX];
	uint64_t backoff = RPC_BACKOFF_MIN_MS;
	char last[1024] = "no node answered";

	for (;;) {
		int best = -1, hint = -1;
		size_t n_up = 0;

		if (remaining(r) == 0)
			break;
		scan_round(r, st);
		for (size_t i = 0; i < r->nodes.n; i++) {
			if (!st[i].up)
				continue;
			n_up++;
			if (strcmp(st[i].state, "leader") == 0 &&
			    (best < 0 || st[i].term > st[best].term))
				best = (int)i;
			if (st[i].leader > 0 && st[i].leader_address[0] &&
			    (hint < 0 || st[i].term > st[hint].term))
				hint = (int)i;
		}
		if (best >= 0) {
			r->leader = best;
			*pos = (size_t)best;
			if (out)
				*out = st[best];
			return RPC_OK;
		}
		if (hint >= 0 && nodelist_find_address(
				     &r->nodes, st[hint].leader_address) < 0) {
			/* A leader we were not told about: add it and ask
			 * it in the next round, without waiting. */
			size_t p;
			if (nodelist_add(&r->nodes, (uint32_t)st[hint].leader,
					 st[hint].leader_address, &p) == 0) {
				trace(r,
				      "scan: adding node %" PRId64
				      " at %s (named leader by node %" PRId64
				      ")",
				      st[hint].leader, st[hint].leader_address,
				      st[hint].id);
				continue;
			}
		}
		if (n_up == 0) {
			snprintf(last, sizeof(last),
				 "no node answered (node %" PRIu32 " at %s: "
				 "%s)",
				 r->nodes.nodes[0].id,
				 r->nodes.nodes[0].address, st[0].error);
		} else {
			snprintf(last, sizeof(last),
				 "%zu of %zu nodes answered, none is leader",
				 n_up, r->nodes.n);
		}
		util_sleep_ms(min_u64(backoff, remaining(r)));
		backoff = min_u64(backoff * 2, RPC_BACKOFF_MAX_MS);
	}
	r->leader = -1;
	set_error(err, XMLRPC_NETWORK_ERROR, "no leader found: %s", last);
	return RPC_EUNAVAIL;
}

/* Faults worth retrying with the same arguments. */
static bool retryable(int fault)
{
	return fault == API_FAULT_TIMEOUT || fault == API_FAULT_UNAVAILABLE ||
	       fault == XMLRPC_NETWORK_ERROR;
}

int rpc_call_leader(struct rpc *r, const char *method, xmlrpc_value *params,
		    xmlrpc_value **result, struct rpc_error *err)
{
	uint64_t backoff = RPC_BACKOFF_MIN_MS;
	uint64_t call_timeout =
	    (r->nodes.request_timeout_ms ? r->nodes.request_timeout_ms
					 : RPC_DEFAULT_REQUEST_TIMEOUT_MS) +
	    RPC_CALL_MARGIN_MS;
	struct rpc_error last = {0};
	size_t hops = 0;
	int rv;

	*result = NULL;
	snprintf(last.msg, sizeof(last.msg), "deadline passed");
	for (int attempt = 0; attempt < RPC_MAX_ATTEMPTS; attempt++) {
		size_t pos;
		bool wait = true;

		if (remaining(r) == 0)
			break;
		if (r->leader < 0) {
			rv = rpc_find_leader(r, &pos, NULL, &last);
			if (rv != RPC_OK)
				break;
		}
		pos = (size_t)r->leader;
		rv = rpc_call_node(r, pos, method, params, call_timeout, result,
				   &last);
		if (rv == RPC_OK)
			return RPC_OK;
		if (rv == RPC_EUNAVAIL)
			break;
		if (last.fault == API_FAULT_NOT_LEADER) {
			uint32_t id;
			char addr[NODELIST_ADDR_MAX];
			size_t p;

			r->leader = -1;
			/* Follow the hint at once, but not around a cycle
			 * of stale hints forever. */
			if (nodelist_parse_hint(last.msg, &id, addr,
						sizeof(addr)) == 0 &&
			    nodelist_add(&r->nodes, id, addr, &p) == 0 &&
			    p != pos && hops++ < 2 * r->nodes.n) {
				trace(r,
				      "following the hint to node %" PRIu32
				      " at %s",
				      id, addr);
				r->leader = (int)p;
				wait = false;
			}
		} else if (retryable(last.fault)) {
			/* The leader may be gone (or has lost leadership
			 * after appending): look again before retrying. */
			r->leader = -1;
		} else {
			*err = last;
			return RPC_EFAULT;
		}
		if (wait) {
			uint64_t left = remaining(r);
			if (left == 0)
				break;
			util_sleep_ms(min_u64(backoff, left));
			backoff = min_u64(backoff * 2, RPC_BACKOFF_MAX_MS);
		}
	}
	*err = last;
	return RPC_EUNAVAIL;
}
