/* peer.c: the transport to the other nodes (peer.h).
 *
 * One thread per peer keeps that peer's pipeline window in flight
 * asynchronously: it takes the peer's messages from its queue in order, up
 * to max_inflight requests at once, and drives them with one libcurl
 * multi handle (a keep-alive connection per request in flight, reused),
 * waking for an answer, a deadline, or a new message (curl_multi_wakeup).
 * xmlrpc-c serializes the calls and parses the answers; the frames inside
 * are wire.h's, signed and checked by peerauth.h.  A slow or dead peer
 * delays nobody else: each has its own thread, queue and connections. */
#include "peer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <xmlrpc-c/base.h>

#include "api.h"
#include "log.h"
#include "peerauth.h"
#include "wire.h"
#include "xalloc.h"

#define PEER_QUEUE_MAX 64

struct peer;

/* One request in flight: its easy handle (reused), the frame's tag for
 * the answer's MAC, what it carried, and the answer's bytes. */
struct peer_req {
	struct peer *peer;
	CURL *easy;
	bool busy;
	struct raft_msg m; /* the request (owned, a deep copy) */
	struct peerauth_tag tag;
	uint64_t deadline; /* monotonic ms */
	xmlrpc_mem_block *body;
	char *resp;
	size_t resp_len, resp_cap;
	struct curl_slist *headers;
};

struct peer {
	struct peers *peers;
	uint32_t id;
	char url[CONFIG_ADDRESS_MAX + 16];
	pthread_mutex_t lock; /* guards q, head, len, stop */
	struct raft_msg q[PEER_QUEUE_MAX];
	size_t head, len;
	bool stop;
	CURLM *multi; /* this peer's thread's (and curl_multi_wakeup) */
	pthread_t thread;
	bool started;
	bool down; /* last RPC failed (logged once per change); thread only */
	struct log_limit bad_reply_limit;
	struct peer_req reqs[CONFIG_MAX_INFLIGHT];
	size_t n_reqs;
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

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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
	pthread_mutex_unlock(&p->lock);
	curl_multi_wakeup(p->multi);
}

static void set_down(struct peer *p, bool down, const char *why)
{
	if (down && !p->down)
		log_info("peer %u unreachable: %s", p->id, why);
	else if (!down && p->down)
		log_info("peer %u reachable again", p->id);
	p->down = down;
}

static void bad_reply(struct peer *p, const char *why)
{
	uint64_t held;

	if (log_limit_pass(&p->bad_reply_limit, &held))
		log_warn("peer %u: bad reply: %s (and %llu more since the "
			 "last such line)",
			 p->id, why, (unsigned long long)held);
}

/* ---- one request ------------------------------------------------------------
 */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct peer_req *r = arg;
	size_t n = size * nmemb;

	/* An answer is one frame of a few dozen bytes in XML: anything
	 * near the XML limit is not an answer. */
	if (r->resp_len + n > API_MAX_BODY)
		return 0; /* aborts the transfer */
	if (r->resp_len + n + 1 > r->resp_cap) {
		r->resp_cap = r->resp_cap ? r->resp_cap : 1024;
		while (r->resp_cap < r->resp_len + n + 1)
			r->resp_cap *= 2;
		r->resp = xrealloc(r->resp, r->resp_cap);
	}
	memcpy(r->resp + r->resp_len, data, n);
	r->resp_len += n;
	return n;
}

/* Encodes, signs and serializes m into r's body and starts it.  Takes
 * ownership of m.  0, or -1 (m freed) when it cannot be built. */
static int req_start(struct peer *p, struct peer_req *r, struct raft_msg *m)
{
	struct peers *ps = p->peers;
	const struct config *cfg = ps->cfg;
	size_t len = wire_body_size(m),
	       trailer = peerauth_trailer_size(ps->auth);
	uint8_t *buf = xmalloc(len + trailer);
	xmlrpc_value *frame = NULL, *params = NULL;
	xmlrpc_env env;
	int rv = -1;

	wire_encode(m, peerauth_enabled(ps->auth), buf);
	peerauth_sign_request(ps->auth, m->to, wall_ms(), buf, len, &r->tag);
	xmlrpc_env_init(&env);
	frame = xmlrpc_base64_new(&env, len + trailer, buf);
	if (!env.fault_occurred)
		params = xmlrpc_array_new(&env);
	if (!env.fault_occurred)
		xmlrpc_array_append_item(&env, params, frame);
	if (!env.fault_occurred) {
		if (r->body == NULL)
			r->body = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
		else
			XMLRPC_MEMBLOCK_RESIZE(char, &env, r->body, 0);
	}
	if (!env.fault_occurred)
		xmlrpc_serialize_call(&env, r->body, wire_method(m->type),
				      params);
	if (env.fault_occurred) {
		log_warn("peer %u: cannot build a request: %s", p->id,
			 env.fault_string);
		goto out;
	}
	r->m = *m;
	memset(m, 0, sizeof(*m));
	r->resp_len = 0;
	/* A vote is useless after an election timeout; an append may
	 * carry a big batch, so give it longer. */
	r->deadline = now_ms() + (r->m.type == RAFT_MSG_VOTE
				      ? cfg->election_min_ms
				      : cfg->election_max_ms + 500);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS,
			 XMLRPC_MEMBLOCK_CONTENTS(char, r->body));
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)XMLRPC_MEMBLOCK_SIZE(char, r->body));
	if (curl_multi_add_handle(p->multi, r->easy) != CURLM_OK) {
		raft_msg_free(&r->m);
		goto out;
	}
	r->busy = true;
	if (r->m.type == RAFT_MSG_APPEND) {
		atomic_fetch_add(&ps->appends_sent, 1);
		atomic_fetch_add(&ps->entries_sent, r->m.u.append.n_entries);
	}
	rv = 0;
out:
	if (rv != 0)
		raft_msg_free(m);
	if (params)
		xmlrpc_DECREF(params);
	if (frame)
		xmlrpc_DECREF(frame);
	xmlrpc_env_clean(&env);
	free(buf);
	return rv;
}

/* The answer to r: checked (HTTP, XML-RPC, frame, MAC, sender) and handed
 * to the node. */
static void req_answer(struct peer *p, struct peer_req *r)
{
	struct peers *ps = p->peers;
	xmlrpc_env env;
	xmlrpc_value *result = NULL;
	const unsigned char *frame = NULL;
	const char *fault_string = NULL, *why = NULL;
	struct raft_msg reply;
	size_t len = 0;
	bool has_auth = false;
	long http = 0;
	int fault_code = 0, arv;

	memset(&reply, 0, sizeof(reply));
	xmlrpc_env_init(&env);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &http);
	if (http != 200) {
		char msg[64];
		snprintf(msg, sizeof(msg), "HTTP status %ld", http);
		set_down(p, true, msg);
		goto out;
	}
	xmlrpc_parse_response2(&env, r->resp ? r->resp : "", r->resp_len,
			       &result, &fault_code, &fault_string);
	if (env.fault_occurred) {
		set_down(p, false, NULL);
		bad_reply(p, env.fault_string);
		goto out;
	}
	if (fault_string != NULL) {
		/* The peer chose not to answer (a message it drops): not a
		 * failure of the link. */
		if (fault_code == API_FAULT_NO_REPLY)
			set_down(p, false, NULL);
		else
			set_down(p, true, fault_string);
		goto out;
	}
	set_down(p, false, NULL);
	if (xmlrpc_value_type(result) != XMLRPC_TYPE_BASE64) {
		bad_reply(p, "not a frame");
		goto out;
	}
	xmlrpc_read_base64(&env, result, &len, &frame);
	if (env.fault_occurred) {
		bad_reply(p, env.fault_string);
		goto out;
	}
	if (wire_decode(frame, len, &reply, &has_auth, &why) != 0) {
		bad_reply(p, why);
		goto out;
	}
	arv = peerauth_verify_response(ps->auth, &r->tag, frame, len, has_auth);
	if (arv != PEERAUTH_OK) {
		bad_reply(p, peerauth_strerror(arv));
		goto out_reply;
	}
	if (reply.type != (r->m.type == RAFT_MSG_VOTE ? RAFT_MSG_VOTE_RESP
						      : RAFT_MSG_APPEND_RESP) ||
	    reply.from != p->id || reply.to != ps->self) {
		bad_reply(p, "answer of another type or from another node");
		goto out_reply;
	}
	ps->on_reply(ps->arg, &reply);
out_reply:
	wire_msg_release(&reply);
out:
	free((void *)frame);
	free((void *)fault_string);
	if (result)
		xmlrpc_DECREF(result);
	xmlrpc_env_clean(&env);
}

static void req_finish(struct peer *p, struct peer_req *r)
{
	curl_multi_remove_handle(p->multi, r->easy);
	raft_msg_free(&r->m);
	r->busy = false;
}

/* ---- the peer's thread
 * --------------------------------------------------------- */

static struct peer_req *free_req(struct peer *p)
{
	size_t i;

	for (i = 0; i < p->n_reqs; i++)
		if (!p->reqs[i].busy)
			return &p->reqs[i];
	return NULL;
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	for (;;) {
		struct peer_req *r;
		CURLMsg *msg;
		uint64_t t, next;
		size_t i;
		int running = 0, left = 0, timeout;

		/* Start what the window allows, in queue order. */
		pthread_mutex_lock(&p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		while (p->len > 0 && (r = free_req(p)) != NULL) {
			struct raft_msg m = p->q[p->head];
			p->head = (p->head + 1) % PEER_QUEUE_MAX;
			p->len--;
			pthread_mutex_unlock(&p->lock);
			req_start(p, r, &m);
			pthread_mutex_lock(&p->lock);
		}
		pthread_mutex_unlock(&p->lock);

		curl_multi_perform(p->multi, &running);
		while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			for (i = 0; i < p->n_reqs; i++) {
				r = &p->reqs[i];
				if (!r->busy || r->easy != msg->easy_handle)
					continue;
				if (msg->data.result == CURLE_OK)
					req_answer(p, r);
				else
					set_down(p, true,
						 curl_easy_strerror(
						     msg->data.result));
				req_finish(p, r);
			}
		}
		/* Deadlines: an RPC past its own is abandoned (Raft resends
		 * what matters), and its connection with it. */
		t = now_ms();
		next = t + 1000;
		for (i = 0; i < p->n_reqs; i++) {
			r = &p->reqs[i];
			if (!r->busy)
				continue;
			if (t >= r->deadline) {
				set_down(p, true, "deadline passed");
				req_finish(p, r);
			} else if (r->deadline < next) {
				next = r->deadline;
			}
		}
		timeout = (int)(next > t ? next - t : 0);
		/* Sleeps until a transfer moves, a deadline, or
		 * curl_multi_wakeup() (a new message, or stop). */
		curl_multi_poll(p->multi, NULL, 0, timeout, NULL);
	}
	return NULL;
}

/* ---- set-up and tear-down
 * ----------------------------------------------------- */

static int req_setup(struct peer *p, struct peer_req *r, char *err,
		     size_t errlen)
{
	r->peer = p;
	r->easy = curl_easy_init();
	if (r->easy == NULL) {
		snprintf(err, errlen, "peer %u: curl_easy_init failed", p->id);
		return -1;
	}
	r->headers = curl_slist_append(NULL, "Content-Type: text/xml");
	curl_easy_setopt(r->easy, CURLOPT_URL, p->url);
	curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "raftd");
	/* No "Expect: 100-continue" round trip before a large batch. */
	r->headers = curl_slist_append(r->headers, "Expect:");
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	/* TLS: the peer's certificate must be signed by the cluster's CA and
	 * name the host dialled (curl's defaults: verify peer and host). */
	if (p->peers->cfg->tls)
		curl_easy_setopt(r->easy, CURLOPT_CAINFO,
				 p->peers->cfg->tls_ca);
	return 0;
}

static int peer_setup(struct peers *ps, struct peer *p,
		      const struct config_node *cn, char *err, size_t errlen)
{
	p->peers = ps;
	p->id = cn->id;
	snprintf(p->url, sizeof(p->url), "%s://%s/RPC2",
		 ps->cfg->tls ? "https" : "http", cn->peer_address);
	pthread_mutex_init(&p->lock, NULL);
	p->multi = curl_multi_init();
	if (p->multi == NULL) {
		snprintf(err, errlen, "peer %u: curl_multi_init failed", p->id);
		return -1;
	}
	/* One keep-alive connection per request in flight. */
	curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)ps->cfg->max_inflight);
	curl_multi_setopt(p->multi, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
	while (p->n_reqs < ps->cfg->max_inflight) {
		/* Counted first, so that peers_free() frees a half-made
		 * one. */
		struct peer_req *r = &p->reqs[p->n_reqs++];
		if (req_setup(p, r, err, errlen) != 0)
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
	size_t i;

	for (i = 0; i < ps->n; i++) {
		struct peer *p = &ps->peer[i];
		if (pthread_create(&p->thread, NULL, peer_main, p) != 0) {
			snprintf(err, errlen, "pthread_create: %s",
				 strerror(errno));
			return -1;
		}
		p->started = true;
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
		pthread_mutex_unlock(&p->lock);
		if (p->multi)
			curl_multi_wakeup(p->multi);
	}
	for (i = 0; i < ps->n; i++) {
		struct peer *p = &ps->peer[i];
		if (p->started)
			pthread_join(p->thread, NULL);
		while (p->len > 0) {
			raft_msg_free(&p->q[p->head]);
			p->head = (p->head + 1) % PEER_QUEUE_MAX;
			p->len--;
		}
		for (j = 0; j < p->n_reqs; j++) {
			struct peer_req *r = &p->reqs[j];
			if (r->busy)
				req_finish(p, r);
			if (r->easy)
				curl_easy_cleanup(r->easy);
			curl_slist_free_all(r->headers);
			if (r->body)
				xmlrpc_mem_block_free(r->body);
			free(r->resp);
		}
		if (p->multi)
			curl_multi_cleanup(p->multi);
		pthread_mutex_destroy(&p->lock);
	}
	free(ps);
}

void peers_stats(struct peers *ps, uint64_t *appends, uint64_t *entries)
{
	*appends = atomic_load(&ps->appends_sent);
	*entries = atomic_load(&ps->entries_sent);
}
