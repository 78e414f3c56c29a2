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
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <xmlrpc-c/base.h>

#include "api.h"
#include "bytes.h"
#include "ident.h"
#include "log.h"
#include "peerauth.h"
#include "snapfile.h"
#include "wire.h"
#include "xalloc.h"

#define PEER_QUEUE_MAX 64
/* Peers created over a node's life (members added, re-added). */
#define PEERS_MAX_SLOTS 64

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
	bool chunk; /* carries a snapshot chunk (the peer's xfer) */
};

/* A snapshot on its way to the peer: the file stays open (a newer
 * snapshot renamed over it does not change what is sent), one chunk in
 * flight at a time. */
struct peer_xfer {
	bool active;
	int fd;
	uint64_t term; /* of the core's message */
	uint64_t index, sterm, size, offset;
	struct peer_req *req; /* the chunk in flight, or NULL */
	uint64_t started;     /* monotonic ms */
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
	bool retired; /* [peers lock] left the configuration */
	bool down; /* last RPC failed (logged once per change); thread only */
	struct log_limit bad_reply_limit;
	struct peer_req reqs[CONFIG_MAX_INFLIGHT];
	size_t n_reqs;
	struct peer_xfer xfer; /* thread only */
};

struct peers {
	const struct config *cfg; /* read-only */
	uint32_t self;
	struct peerauth *auth; /* thread-safe */
	peers_reply_fn on_reply;
	peers_failed_fn on_snapshot_failed;
	const char *snap_path;
	void *arg;
	_Atomic uint64_t appends_sent, entries_sent, snapshot_bytes;
	uint64_t cluster, incarnation; /* written into every frame */
	struct ident_peers *idpeers;   /* thread-safe */
	/* The slots: a peer that leaves the configuration is retired (its
	 * thread told to stop, joined by peers_free), never reused, so a
	 * thread never sees its slot change under it.  `lock` guards n and
	 * every slot's `retired` (taken before a peer's lock). */
	pthread_mutex_t lock;
	struct peer peer[PEERS_MAX_SLOTS];
	size_t n;
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

/* The live peer for id; ps->lock held. */
static struct peer *peer_of(struct peers *ps, uint32_t id)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (ps->peer[i].id == id && !ps->peer[i].retired)
			return &ps->peer[i];
	return NULL;
}

void peers_send(struct peers *ps, struct raft_msg *m)
{
	struct peer *p;

	pthread_mutex_lock(&ps->lock);
	p = peer_of(ps, m->to);
	if (p == NULL) {
		pthread_mutex_unlock(&ps->lock);
		raft_msg_free(m);
		return;
	}
	pthread_mutex_lock(&p->lock);
	pthread_mutex_unlock(&ps->lock);
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

/* Serializes the call `method(frame)` into r's body and starts it, with
 * a deadline.  0, or -1. */
static int req_post(struct peer *p, struct peer_req *r, const char *method,
		    const uint8_t *frame_buf, size_t frame_len,
		    uint64_t deadline)
{
	xmlrpc_value *frame = NULL, *params = NULL;
	xmlrpc_env env;
	int rv = -1;

	xmlrpc_env_init(&env);
	frame = xmlrpc_base64_new(&env, frame_len, frame_buf);
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
		xmlrpc_serialize_call(&env, r->body, method, params);
	if (env.fault_occurred) {
		log_warn("peer %u: cannot build a request: %s", p->id,
			 env.fault_string);
		goto out;
	}
	r->resp_len = 0;
	r->deadline = deadline;
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS,
			 XMLRPC_MEMBLOCK_CONTENTS(char, r->body));
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)XMLRPC_MEMBLOCK_SIZE(char, r->body));
	if (curl_multi_add_handle(p->multi, r->easy) != CURLM_OK)
		goto out;
	r->busy = true;
	rv = 0;
out:
	if (params)
		xmlrpc_DECREF(params);
	if (frame)
		xmlrpc_DECREF(frame);
	xmlrpc_env_clean(&env);
	return rv;
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
	/* A vote is useless after an election timeout; an append may
	 * carry a big batch, so give it longer. */
	uint64_t deadline =
	    now_ms() + (m->type == RAFT_MSG_VOTE ? cfg->election_min_ms
						 : cfg->election_max_ms + 500);
	int rv = -1;

	wire_encode(m, peerauth_enabled(ps->auth), buf);
	wire_set_ident(buf, ps->cluster, ps->incarnation);
	peerauth_sign_request(ps->auth, m->to, wall_ms(), buf, len, &r->tag);
	r->chunk = false;
	if (req_post(p, r, wire_method(m->type), buf, len + trailer,
		     deadline) != 0)
		goto out;
	r->m = *m;
	memset(m, 0, sizeof(*m));
	if (r->m.type == RAFT_MSG_APPEND) {
		atomic_fetch_add(&ps->appends_sent, 1);
		atomic_fetch_add(&ps->entries_sent, r->m.u.append.n_entries);
	}
	rv = 0;
out:
	if (rv != 0)
		raft_msg_free(m);
	free(buf);
	return rv;
}

/* The answer to r: checked (HTTP, XML-RPC, frame, MAC, sender) and handed
 * to the node.  Returns 0 when a frame was handed on, 1 when the answer is
 * a chunk's acknowledgement (*ack: the offset the peer expects next), -1
 * otherwise (a fault, a bad answer, a failed link). */
static int req_answer(struct peer *p, struct peer_req *r, uint64_t *ack)
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
	int fault_code = 0, arv, rv = -1;

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
	if (r->chunk && xmlrpc_value_type(result) == XMLRPC_TYPE_I8) {
		xmlrpc_int64 next = 0;
		xmlrpc_read_i8(&env, result, &next);
		if (env.fault_occurred || next < 0) {
			bad_reply(p, "bad chunk acknowledgement");
			goto out;
		}
		*ack = (uint64_t)next;
		rv = 1;
		goto out;
	}
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
	if (bytes_get_u64(frame + WIRE_OFF_CLUSTER) != ps->cluster) {
		bad_reply(p, "answer from a node of another cluster");
		goto out_reply;
	}
	arv = peerauth_verify_response(ps->auth, &r->tag, frame, len, has_auth);
	if (arv != PEERAUTH_OK) {
		bad_reply(p, peerauth_strerror(arv));
		goto out_reply;
	}
	/* After the MAC, so that only the cluster's nodes are recorded. */
	if (ps->idpeers != NULL &&
	    ident_peer_check(ps->idpeers, p->id,
			     bytes_get_u64(frame + WIRE_OFF_CLUSTER + 8)) !=
		0) {
		bad_reply(p, "its incarnation changed (data wiped or "
			     "replaced): remove it and add it again");
		goto out_reply;
	}
	if (reply.type != (r->chunk ? RAFT_MSG_SNAPSHOT_RESP
			   : r->m.type == RAFT_MSG_VOTE
			       ? RAFT_MSG_VOTE_RESP
			       : RAFT_MSG_APPEND_RESP) ||
	    reply.from != p->id || reply.to != ps->self) {
		bad_reply(p, "answer of another type or from another node");
		goto out_reply;
	}
	ps->on_reply(ps->arg, &reply);
	rv = 0;
out_reply:
	wire_msg_release(&reply);
out:
	if (rv < 0 && r->chunk && fault_string != NULL)
		log_info("peer %u: snapshot chunk refused: %s", p->id,
			 fault_string);
	free((void *)frame);
	free((void *)fault_string);
	if (result)
		xmlrpc_DECREF(result);
	xmlrpc_env_clean(&env);
	return rv;
}

/* ---- snapshot transfers (the peer's thread) ------------------------------ */

static void xfer_end(struct peer *p, bool failed, const char *why)
{
	struct peer_xfer *x = &p->xfer;

	if (!x->active)
		return;
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	x->active = false;
	x->req = NULL;
	if (failed) {
		log_info("peer %u: snapshot %llu not delivered: %s", p->id,
			 (unsigned long long)x->index, why);
		p->peers->on_snapshot_failed(p->peers->arg, p->id);
	} else {
		log_info("peer %u: snapshot %llu delivered: %llu bytes in "
			 "%llu ms",
			 p->id, (unsigned long long)x->index,
			 (unsigned long long)x->size,
			 (unsigned long long)(now_ms() - x->started));
	}
}

/* The core asked for a snapshot to go to this peer (m: its
 * RAFT_MSG_SNAPSHOT).  Sends whichever snapshot is current: the core's
 * metadata may name an older one, and the answer says what was
 * installed. */
static void xfer_begin(struct peer *p, const struct raft_msg *m)
{
	struct peer_xfer *x = &p->xfer;
	uint8_t hdr[SNAPFILE_HEADER_SIZE];
	struct snapfile_meta meta;
	const char *why = "cannot read the snapshot file";
	ssize_t got;

	if (x->active) {
		if (m->term <= x->term)
			return; /* already on its way */
		xfer_end(p, false, NULL);
	}
	memset(x, 0, sizeof(*x));
	x->fd = open(p->peers->snap_path, O_RDONLY | O_CLOEXEC);
	x->active = true;
	x->term = m->term;
	x->started = now_ms();
	if (x->fd < 0) {
		xfer_end(p, true, strerror(errno));
		return;
	}
	got = pread(x->fd, hdr, sizeof(hdr), 0);
	if (got < 0 || snapfile_header_decode(hdr, (size_t)got, &meta, &why) !=
			   SNAPFILE_OK) {
		xfer_end(p, true, why);
		return;
	}
	x->index = meta.index;
	x->sterm = meta.term;
	x->size = meta.file_size;
	x->offset = 0;
	log_info("peer %u: sending snapshot %llu (%llu bytes)", p->id,
		 (unsigned long long)x->index, (unsigned long long)x->size);
}

/* Starts the next chunk on r. */
static void xfer_chunk(struct peer *p, struct peer_req *r)
{
	struct peers *ps = p->peers;
	struct peer_xfer *x = &p->xfer;
	struct wire_chunk k;
	uint64_t left = x->size - x->offset;
	size_t n = left < WIRE_CHUNK_MAX ? (size_t)left : WIRE_CHUNK_MAX,
	       len = wire_chunk_size(n),
	       trailer = peerauth_trailer_size(ps->auth);
	uint8_t *buf = xmalloc(len + trailer), *data = xmalloc(n ? n : 1);
	ssize_t got = n ? pread(x->fd, data, n, (off_t)x->offset) : 0;
	bool last = x->offset + n == x->size;
	/* The last chunk's answer waits for the receiver to check, load and
	 * install the whole snapshot: give it time in proportion. */
	uint64_t deadline =
	    now_ms() + ps->cfg->election_max_ms + 5000 +
	    (last ? 10000 + x->size / (10u * 1024u * 1024u) * 1000 : 0);

	if (got < 0 || (size_t)got != n) {
		free(buf);
		free(data);
		xfer_end(p, true, "short read of the snapshot file");
		return;
	}
	memset(&k, 0, sizeof(k));
	k.from = ps->self;
	k.to = p->id;
	k.term = x->term;
	k.index = x->index;
	k.sterm = x->sterm;
	k.total = x->size;
	k.offset = x->offset;
	k.data = data;
	k.len = n;
	wire_chunk_encode(&k, peerauth_enabled(ps->auth), buf);
	wire_set_ident(buf, ps->cluster, ps->incarnation);
	peerauth_sign_request(ps->auth, p->id, wall_ms(), buf, len, &r->tag);
	memset(&r->m, 0, sizeof(r->m));
	r->chunk = true;
	if (req_post(p, r, "installSnapshot", buf, len + trailer, deadline) ==
	    0) {
		x->req = r;
		atomic_fetch_add(&ps->snapshot_bytes, n);
	} else {
		xfer_end(p, true, "cannot build the request");
	}
	free(buf);
	free(data);
}

/* r (the xfer's chunk) ended: ok says whether curl got an answer. */
static void xfer_done(struct peer *p, struct peer_req *r, bool ok)
{
	struct peer_xfer *x = &p->xfer;
	uint64_t ack = 0;
	int rv;

	x->req = NULL;
	if (!ok) {
		xfer_end(p, true, "the transfer failed");
		return;
	}
	rv = req_answer(p, r, &ack);
	if (rv == 0) {
		xfer_end(p, false, NULL); /* the last chunk, answered */
	} else if (rv == 1 && ack > x->offset && ack < x->size) {
		x->offset = ack;
	} else {
		xfer_end(p, true,
			 rv == 1 ? "unexpected acknowledgement"
				 : "chunk refused or not answered");
	}
}

static void req_finish(struct peer *p, struct peer_req *r)
{
	curl_multi_remove_handle(p->multi, r->easy);
	raft_msg_free(&r->m);
	r->busy = false;
	r->chunk = false;
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
		struct peer_req *r = NULL;
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
		while (p->len > 0) {
			struct raft_msg m = p->q[p->head];
			if (m.type != RAFT_MSG_SNAPSHOT &&
			    (r = free_req(p)) == NULL)
				break;
			p->head = (p->head + 1) % PEER_QUEUE_MAX;
			p->len--;
			pthread_mutex_unlock(&p->lock);
			if (m.type == RAFT_MSG_SNAPSHOT) {
				xfer_begin(p, &m);
				raft_msg_free(&m);
			} else {
				req_start(p, r, &m);
			}
			pthread_mutex_lock(&p->lock);
		}
		pthread_mutex_unlock(&p->lock);
		/* One chunk at a time, beside the other requests. */
		if (p->xfer.active && p->xfer.req == NULL &&
		    (r = free_req(p)) != NULL)
			xfer_chunk(p, r);

		curl_multi_perform(p->multi, &running);
		while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			for (i = 0; i < p->n_reqs; i++) {
				r = &p->reqs[i];
				if (!r->busy || r->easy != msg->easy_handle)
					continue;
				if (msg->data.result != CURLE_OK)
					set_down(p, true,
						 curl_easy_strerror(
						     msg->data.result));
				if (r->chunk && p->xfer.req == r)
					xfer_done(p, r,
						  msg->data.result == CURLE_OK);
				else if (msg->data.result == CURLE_OK &&
					 !r->chunk)
					req_answer(p, r, NULL);
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
				if (r->chunk && p->xfer.req == r)
					xfer_done(p, r, false);
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

static int peer_setup(struct peers *ps, struct peer *p, uint32_t id,
		      const char *peer_address, char *err, size_t errlen)
{
	p->peers = ps;
	p->id = id;
	p->xfer.fd = -1;
	snprintf(p->url, sizeof(p->url), "%s://%s/RPC2",
		 ps->cfg->tls ? "https" : "http", peer_address);
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

int peers_new(const struct config *cfg, uint32_t self, uint64_t cluster,
	      uint64_t incarnation, struct ident_peers *idpeers,
	      struct peerauth *auth, const char *snap_path,
	      peers_reply_fn on_reply, peers_failed_fn on_snapshot_failed,
	      void *arg, struct peers **out, char *err, size_t errlen)
{
	struct peers *ps = xcalloc(1, sizeof(*ps));
	size_t i;

	pthread_mutex_init(&ps->lock, NULL);
	ps->cluster = cluster;
	ps->incarnation = incarnation;
	ps->idpeers = idpeers;
	ps->cfg = cfg;
	ps->self = self;
	ps->auth = auth;
	ps->snap_path = snap_path;
	ps->on_snapshot_failed = on_snapshot_failed;
	ps->on_reply = on_reply;
	ps->arg = arg;
	*out = ps;
	for (i = 0; i < cfg->n_nodes; i++) {
		if (cfg->nodes[i].id == self)
			continue;
		/* Counted first, so that peers_free() frees a half-made
		 * one. */
		if (peer_setup(ps, &ps->peer[ps->n++], cfg->nodes[i].id,
			       cfg->nodes[i].peer_address, err, errlen) != 0)
			return -1;
	}
	return 0;
}

void peers_update(struct peers *ps, const struct peers_member *members,
		  size_t n)
{
	size_t i, k;

	pthread_mutex_lock(&ps->lock);
	for (i = 0; i < ps->n; i++) {
		struct peer *p = &ps->peer[i];
		char url[sizeof(p->url)];
		for (k = 0; k < n && members[k].id != p->id; k++)
			;
		if (k < n)
			snprintf(url, sizeof(url), "%s://%s/RPC2",
				 ps->cfg->tls ? "https" : "http",
				 members[k].peer_address);
		/* (A member whose peer address changed, removed and added
		 * back elsewhere, gets a new peer below.) */
		if (p->retired || (k < n && strcmp(url, p->url) == 0))
			continue;
		/* Left the configuration: its thread stops (aborting what
		 * it has in flight) and is joined by peers_free(). */
		p->retired = true;
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_mutex_unlock(&p->lock);
		curl_multi_wakeup(p->multi);
		log_info("peer %u left the configuration", p->id);
	}
	for (k = 0; k < n; k++) {
		struct peer *p;
		char err[256];
		if (members[k].id == ps->self ||
		    peer_of(ps, members[k].id) != NULL)
			continue;
		if (ps->n == PEERS_MAX_SLOTS) {
			log_error("peer %u: no room for another peer (%u "
				  "created); restart this node",
				  members[k].id, (unsigned)PEERS_MAX_SLOTS);
			continue;
		}
		p = &ps->peer[ps->n++];
		if (peer_setup(ps, p, members[k].id, members[k].peer_address,
			       err, sizeof(err)) != 0) {
			log_error("%s", err);
			p->retired = true;
			continue;
		}
		if (pthread_create(&p->thread, NULL, peer_main, p) != 0) {
			log_error("peer %u: pthread_create: %s", p->id,
				  strerror(errno));
			p->retired = true;
			continue;
		}
		p->started = true;
		log_info("peer %u joined the configuration at %s", p->id,
			 members[k].peer_address);
	}
	pthread_mutex_unlock(&ps->lock);
}

int peers_start(struct peers *ps, char *err, size_t errlen)
{
	size_t i;

	pthread_mutex_lock(&ps->lock);
	for (i = 0; i < ps->n; i++) {
		struct peer *p = &ps->peer[i];
		/* peers_update() may have started some already (a node
		 * whose log holds a configuration starts them at once). */
		if (p->started || p->retired)
			continue;
		if (pthread_create(&p->thread, NULL, peer_main, p) != 0) {
			pthread_mutex_unlock(&ps->lock);
			snprintf(err, errlen, "pthread_create: %s",
				 strerror(errno));
			return -1;
		}
		p->started = true;
	}
	pthread_mutex_unlock(&ps->lock);
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
		if (p->xfer.fd >= 0)
			close(p->xfer.fd);
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
	pthread_mutex_destroy(&ps->lock);
	free(ps);
}

void peers_stats(struct peers *ps, uint64_t *appends, uint64_t *entries)
{
	*appends = atomic_load(&ps->appends_sent);
	*entries = atomic_load(&ps->entries_sent);
}

uint64_t peers_snapshot_bytes(struct peers *ps)
{
	return atomic_load(&ps->snapshot_bytes);
}
