/* peer.c: the transport to the other nodes (peer.h). */
#include "peer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/client.h>

#include "api.h"
#include "log.h"
#include "peerauth.h"
#include "wire.h"
#include "xalloc.h"

#define PEER_QUEUE_MAX 64

struct peer;

/* One connection to a peer and the thread that sends on it.  A peer has
 * cfg->max_inflight of them, so that many AppendEntries can be in flight
 * at once (pipelining); the core never has more outstanding than that. */
struct peer_conn {
	struct peer *peer;
	pthread_t thread;
	bool started;
	xmlrpc_client *client; /* used by this connection's thread only */
	xmlrpc_server_info *info;
	int interrupt; /* set to abort an RPC past its deadline */
};

struct peer {
	struct peers *peers;
	uint32_t id;
	char url[CONFIG_ADDRESS_MAX + 16];
	pthread_mutex_t lock; /* guards q, head, len, stop, down */
	pthread_cond_t cond;  /* the queue grew, or stop */
	struct raft_msg q[PEER_QUEUE_MAX];
	size_t head, len;
	bool stop;
	bool down; /* last RPC failed (logged once per change) */
	struct log_limit bad_reply_limit; /* any thread */
	struct peer_conn conns[CONFIG_MAX_INFLIGHT];
	size_t n_conns; /* set up before any thread starts; read-only after */
};

struct peers {
	const struct config *cfg; /* read-only */
	uint32_t self;
	struct peerauth *auth; /* thread-safe */
	peers_reply_fn on_reply;
	void *arg;
	_Atomic uint64_t appends_sent, entries_sent;
	struct peer peer[CONFIG_MAX_NODES];
	size_t n; /* set by peers_new; read-only after */
};

static struct peer *peer_of(struct peers *ps, uint32_t id)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (ps->peer[i].id == id)
			return &ps->peer[i];
	return NULL;
}

void peers_send(struct peers *ps, struct raft_msg *m)
{
	struct peer *p = peer_of(ps, m->to);

	if (p == NULL) {
		raft_msg_free(m);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (p->len == PEER_QUEUE_MAX) {
		raft_msg_free(&p->q[p->head]);
		p->head = (p->head + 1) % PEER_QUEUE_MAX;
		p->len--;
	}
	p->q[(p->head + p->len) % PEER_QUEUE_MAX] = *m;
	p->len++;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* ---- one RPC ------------------------------------------------------------ */

struct rpc_result {
	bool done;
	xmlrpc_env fault;
	xmlrpc_value *value;
};

static void rpc_done(const char *url, const char *method, xmlrpc_value *params,
		     void *arg, xmlrpc_env *fault, xmlrpc_value *result)
{
	struct rpc_result *r = arg;

	r->done = true;
	if (fault->fault_occurred) {
		xmlrpc_env_set_fault(&r->fault, fault->fault_code,
				     fault->fault_string);
	} else if (result != NULL) {
		xmlrpc_INCREF(result);
		r->value = result;
	}
}

static void peer_set_down(struct peer *p, bool down, const char *why)
{
	bool was;

	/* Logged under the lock so that the lines of several connections
	 * come out in the order of the changes. */
	pthread_mutex_lock(&p->lock);
	was = p->down;
	p->down = down;
	if (down && !was)
		log_info("peer %u unreachable: %s", p->id, why);
	else if (!down && was)
		log_info("peer %u reachable again", p->id);
	pthread_mutex_unlock(&p->lock);
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Checks and decodes the answer frame to the request `m` (tag `tag`) into
 * *reply (wire_msg_release() it).  0, or -1 after logging why not. */
static int peer_reply(struct peer *p, const struct raft_msg *m,
		      const struct peerauth_tag *tag, xmlrpc_value *v,
		      const unsigned char **frame, struct raft_msg *reply)
{
	struct peers *ps = p->peers;
	xmlrpc_env env;
	size_t len = 0;
	bool has_auth = false;
	const char *why = NULL;
	int rv = -1, arv;

	xmlrpc_env_init(&env);
	if (xmlrpc_value_type(v) != XMLRPC_TYPE_BASE64) {
		why = "not a frame";
		goto out;
	}
	xmlrpc_read_base64(&env, v, &len, frame);
	if (env.fault_occurred) {
		why = env.fault_string;
		goto out;
	}
	if (wire_decode(*frame, len, reply, &has_auth, &why) != 0)
		goto out;
	arv = peerauth_verify_response(ps->auth, tag, *frame, len, has_auth);
	if (arv != PEERAUTH_OK) {
		why = peerauth_strerror(arv);
		wire_msg_release(reply);
		goto out;
	}
	if (reply->type != (m->type == RAFT_MSG_VOTE ? RAFT_MSG_VOTE_RESP
						     : RAFT_MSG_APPEND_RESP) ||
	    reply->from != p->id || reply->to != ps->self) {
		why = "answer of another type or from another node";
		wire_msg_release(reply);
		goto out;
	}
	rv = 0;
out:
	if (rv != 0) {
		uint64_t held;
		if (log_limit_pass(&p->bad_reply_limit, &held))
			log_warn("peer %u: bad reply: %s (and %llu more since "
				 "the last such line)",
				 p->id, why, (unsigned long long)held);
	}
	xmlrpc_env_clean(&env);
	return rv;
}

/* One RPC carrying m, with a deadline in ms (xmlrpc-c's own timeouts
 * work in 3-second steps: docs/XMLRPC-C.md §4).  0 and *reply on success;
 * *frame then holds the answer's bytes, which *reply borrows from (free
 * it after wire_msg_release(reply)). */
static int peer_call(struct peer_conn *c, const struct raft_msg *m,
		     unsigned long deadline_ms, struct raft_msg *reply,
		     const unsigned char **frame, bool *has_reply)
{
	struct peer *p = c->peer;
	struct peers *ps = p->peers;
	xmlrpc_env env;
	xmlrpc_value *v = NULL, *params = NULL;
	struct rpc_result res;
	struct peerauth_tag tag;
	uint8_t *buf = NULL;
	size_t len = wire_body_size(m);
	int rv = -1;

	*has_reply = false;
	*frame = NULL;
	xmlrpc_env_init(&env);
	memset(&res, 0, sizeof(res));
	xmlrpc_env_init(&res.fault);
	buf = malloc(len + peerauth_trailer_size(ps->auth));
	if (buf == NULL)
		goto out;
	wire_encode(m, peerauth_enabled(ps->auth), buf);
	peerauth_sign_request(ps->auth, m->to, wall_ms(), buf, len, &tag);
	v = xmlrpc_base64_new(&env, len + peerauth_trailer_size(ps->auth), buf);
	if (env.fault_occurred)
		goto out;
	params = xmlrpc_array_new(&env);
	if (env.fault_occurred)
		goto out;
	xmlrpc_array_append_item(&env, params, v);
	if (env.fault_occurred)
		goto out;
	xmlrpc_client_start_rpc(&env, c->client, c->info, wire_method(m->type),
				params, rpc_done, &res);
	if (env.fault_occurred)
		goto out;
	xmlrpc_client_event_loop_finish_timeout(c->client, deadline_ms);
	if (!res.done) {
		c->interrupt = 1;
		xmlrpc_client_event_loop_finish(c->client);
		c->interrupt = 0;
	}
	if (!res.done || res.fault.fault_occurred) {
		if (res.fault.fault_occurred &&
		    res.fault.fault_code == API_FAULT_NO_REPLY)
			rv = 0; /* the peer chose not to answer */
		else
			peer_set_down(p, true,
				      res.done ? res.fault.fault_string
					       : "deadline passed");
		goto out;
	}
	peer_set_down(p, false, NULL);
	if (peer_reply(p, m, &tag, res.value, frame, reply) != 0)
		goto out;
	*has_reply = true;
	rv = 0;
out:
	free(buf);
	if (res.value)
		xmlrpc_DECREF(res.value);
	if (params)
		xmlrpc_DECREF(params);
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_env_clean(&res.fault);
	xmlrpc_env_clean(&env);
	return rv;
}

/* A connection's thread: takes the peer's messages in queue order, so
 * with several connections consecutive AppendEntries go out in order but
 * may arrive out of order (the follower waits for the gap). */
static void *peer_main(void *arg)
{
	struct peer_conn *c = arg;
	struct peer *p = c->peer;
	struct peers *ps = p->peers;
	const struct config *cfg = ps->cfg;

	for (;;) {
		struct raft_msg m, reply;
		const unsigned char *frame = NULL;
		bool has_reply = false;
		unsigned long deadline;

		pthread_mutex_lock(&p->lock);
		while (!p->stop && p->len == 0)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		m = p->q[p->head];
		p->head = (p->head + 1) % PEER_QUEUE_MAX;
		p->len--;
		pthread_mutex_unlock(&p->lock);

		/* A vote is useless after an election timeout; an append
		 * may carry a big batch, so give it longer. */
		deadline = m.type == RAFT_MSG_VOTE ? cfg->election_min_ms
						   : cfg->election_max_ms + 500;
		if (m.type == RAFT_MSG_APPEND) {
			atomic_fetch_add(&ps->appends_sent, 1);
			atomic_fetch_add(&ps->entries_sent,
					 m.u.append.n_entries);
		}
		peer_call(c, &m, deadline, &reply, &frame, &has_reply);
		raft_msg_free(&m);
		if (has_reply) {
			ps->on_reply(ps->arg, &reply);
			wire_msg_release(&reply);
		}
		free((void *)frame);
	}
	return NULL;
}

/* ---- set-up and tear-down ------------------------------------------------ */

static int peer_conn_setup(struct peer *p, struct peer_conn *c, char *err,
			   size_t errlen)
{
	xmlrpc_env env;
	struct xmlrpc_curl_xportparms curl;
	struct xmlrpc_clientparms parms;
	int rv = -1;

	c->peer = p;
	xmlrpc_env_init(&env);
	memset(&curl, 0, sizeof(curl));
	curl.user_agent = "raftd";
	curl.timeout = 0; /* deadlines come from the async loop */
	curl.dont_advertise = 1;
	memset(&parms, 0, sizeof(parms));
	parms.transport = "curl";
	parms.transportparmsP = &curl;
	parms.transportparm_size = XMLRPC_CXPSIZE(dont_advertise);
	/* xmlrpc_client_create is not thread-safe: called from the main
	 * thread before any peer thread starts. */
	xmlrpc_client_create(&env, XMLRPC_CLIENT_NO_FLAGS, "raftd", "0", &parms,
			     XMLRPC_CPSIZE(transportparm_size), &c->client);
	if (env.fault_occurred) {
		snprintf(err, errlen, "xmlrpc client for peer %u: %s", p->id,
			 env.fault_string);
		goto out;
	}
	xmlrpc_client_set_interrupt(c->client, &c->interrupt);
	c->info = xmlrpc_server_info_new(&env, p->url);
	if (env.fault_occurred) {
		snprintf(err, errlen, "peer %u url %s: %s", p->id, p->url,
			 env.fault_string);
		goto out;
	}
	rv = 0;
out:
	xmlrpc_env_clean(&env);
	return rv;
}

static int peer_setup(struct peers *ps, struct peer *p,
		      const struct config_node *cn, char *err, size_t errlen)
{
	p->peers = ps;
	p->id = cn->id;
	snprintf(p->url, sizeof(p->url), "http://%s/RPC2", cn->peer_address);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	while (p->n_conns < ps->cfg->max_inflight) {
		/* Counted before it is set up, so peers_free() frees a
		 * half-made one. */
		struct peer_conn *c = &p->conns[p->n_conns++];
		if (peer_conn_setup(p, c, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int peers_new(const struct config *cfg, uint32_t self, struct peerauth *auth,
	      peers_reply_fn on_reply, void *arg, struct peers **out, char *err,
	      size_t errlen)
{
	struct peers *ps = xcalloc(1, sizeof(*ps));
	size_t i;

	ps->cfg = cfg;
	ps->self = self;
	ps->auth = auth;
	ps->on_reply = on_reply;
	ps->arg = arg;
	*out = ps;
	for (i = 0; i < cfg->n_nodes; i++) {
		if (cfg->nodes[i].id == self)
			continue;
		/* Counted first, so that peers_free() frees a half-made
		 * one. */
		if (peer_setup(ps, &ps->peer[ps->n++], &cfg->nodes[i], err,
			       errlen) != 0)
			return -1;
	}
	return 0;
}

int peers_start(struct peers *ps, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < ps->n; i++) {
		struct peer *p = &ps->peer[i];
		for (j = 0; j < p->n_conns; j++) {
			if (pthread_create(&p->conns[j].thread, NULL, peer_main,
					   &p->conns[j]) != 0) {
				snprintf(err, errlen, "pthread_create: %s",
					 strerror(errno));
				return -1;
			}
			p->conns[j].started = true;
		}
	}
	return 0;
}

void peers_free(struct peers *ps)
{
	size_t i, j;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++) {
		struct peer *p = &ps->peer[i];
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		for (j = 0; j < p->n_conns; j++)
			p->conns[j].interrupt = 1;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
	for (i = 0; i < ps->n; i++) {
		struct peer *p = &ps->peer[i];
		for (j = 0; j < p->n_conns; j++)
			if (p->conns[j].started)
				pthread_join(p->conns[j].thread, NULL);
		while (p->len > 0) {
			raft_msg_free(&p->q[p->head]);
			p->head = (p->head + 1) % PEER_QUEUE_MAX;
			p->len--;
		}
		for (j = 0; j < p->n_conns; j++) {
			if (p->conns[j].info)
				xmlrpc_server_info_free(p->conns[j].info);
			if (p->conns[j].client)
				xmlrpc_client_destroy(p->conns[j].client);
		}
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->cond);
	}
	free(ps);
}

void peers_stats(struct peers *ps, uint64_t *appends, uint64_t *entries)
{
	*appends = atomic_load(&ps->appends_sent);
	*entries = atomic_load(&ps->entries_sent);
}
