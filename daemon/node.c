/* node.c: one raftd node: the pure core inside a thin threaded shell.
 *
 * DESIGN
 *
 * Threads
 *   - XML-RPC connection threads (server.c, kv.c) call node_write(),
 *     node_read(), node_log_read() and node_peer_message(); the two
 *     readers run a caller's copy-out callback under n->lock, which only
 *     copies a bounded page (node.h), so no reply is built under it;
 *   - the timer thread calls raft_tick() when the core asked to be woken;
 *   - for each other node, cfg->max_inflight sender threads, each with its
 *     own connection, pop the messages the core addressed to that node
 *     from its queue, make the RPC with a deadline and feed the reply
 *     back, so a slow or dead peer never delays the others, requestVote
 *     goes to all peers in parallel, and AppendEntries can be pipelined.
 *
 * Locks, in the order they may be taken:
 *   n->hs_lock  serialises writes of the term/vote file;
 *   n->lock     the core, the state machine, the waiters, wake_at, the
 *               hard state to write, `stopping`;
 *   p->lock     one peer's queue, stop and down;
 *   the storage's own mutex (inside storage.c), innermost.
 *
 * Every core event runs under n->lock and ends in node_process(), which
 * hands log writes to the storage (write(2) only), applies what became
 * committed, wakes waiting clients and queues messages.  The fdatasync of
 * those writes (shared between threads: group commit) and the sending of
 * messages that must wait for it happen in node_flush(), WITHOUT n->lock.
 * No lock is held across an RPC or an fsync, with one exception: a
 * follower truncating a conflicting suffix (storage_truncate syncs before
 * returning, which keeps the file's record order simple; it happens at
 * most once per leader change).
 *
 * The rule of raft.h: a message may leave only once the hard state and the
 * log writes of its update and all earlier ones are durable, except a
 * leader's AppendEntries requests, which go out at once, in parallel with
 * the leader's own fsync (thesis §10.2.1).
 */
#include "node.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/client.h>

#include "log.h"
#include "peerauth.h"
#include "api.h"
#include "storage.h"
#include "wire.h"

/* The config and the raftlog speak the core's language. */
_Static_assert(CONFIG_MAX_NODES <= RAFT_MAX_NODES, "config allows more nodes "
						    "than the core");
_Static_assert((int)RAFTLOG_ENTRY_NOOP == (int)RAFT_ENTRY_NOOP &&
		   (int)RAFTLOG_ENTRY_COMMAND == (int)RAFT_ENTRY_COMMAND,
	       "raftlog and core entry types differ");

#define PEER_QUEUE_MAX 64
#define COMMIT_MARKER_MS 100
#define BATCH_ENTRIES 1000
#define BATCH_BYTES (1024u * 1024u)
/* How long a follower holds an AppendEntries that arrived before the one
 * it follows (pipelined requests travel on separate connections, so they
 * can overtake each other) before answering it with a rejection. */
#define REORDER_WAIT_MS 20

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
	struct node *node;
	uint32_t id;
	char url[CONFIG_ADDRESS_MAX + 16];
	pthread_mutex_t lock; /* guards the queue, stop and down */
	pthread_cond_t cond;
	struct raft_msg q[PEER_QUEUE_MAX];
	size_t head, len;
	bool stop;
	bool down; /* last RPC failed (log once per change) */
	struct log_limit bad_reply_limit; /* any thread */
	struct peer_conn conns[CONFIG_MAX_INFLIGHT];
	size_t n_conns;
};

enum waiter_kind { WAIT_WRITE, WAIT_READ };

struct waiter {
	struct waiter *prev, *next;
	enum waiter_kind kind;
	uint64_t index, term; /* WAIT_WRITE: the proposed entry */
	bool done, lost;
	enum sm_result result;
	uint64_t read_id; /* WAIT_READ */
	bool read_ok, read_failed;
	uint64_t read_index;
	/* Signalled only when this waiter may be finished (or the role
	 * changed, or the node stops): a broadcast to every client thread on
	 * each commit made 64 waiting clients fight for n->lock. */
	pthread_cond_t cond;
};

struct node {
	const struct config *cfg;
	uint32_t id;

	pthread_mutex_t lock;
	pthread_condattr_t cond_attr; /* CLOCK_MONOTONIC, for waiters */
	pthread_cond_t timer_cond; /* wake_at moved, stopping */
	pthread_cond_t log_cond;   /* the log grew or was cut, stopping */
	struct raft raft;
	struct sm *sm;
	struct storage *st;
	struct waiter waiters; /* list head */
	uint64_t wake_at;
	uint64_t next_read_id;
	uint64_t last_ticket;    /* highest storage ticket handed out */
	uint64_t last_marker_ms; /* last COMMIT marker written */
	uint64_t marker_commit;
	bool stopping;
	uint64_t hs_gen; /* hard state to write: generation and value */
	uint64_t hs_term;
	uint32_t hs_vote;

	pthread_mutex_t hs_lock;
	_Atomic uint64_t hs_done_gen;

	_Atomic uint64_t appends_sent, entries_sent, appends_received;
	/* The longest copy-out by a reader under the lock: wall time (what
	 * the other threads waited) and the thread's CPU time (what the copy
	 * costs, without the time the scheduler ran others).  note_copy(). */
	_Atomic uint64_t read_copy_ns_max, read_copy_cpu_ns_max;

	struct peerauth *auth; /* signs and checks peer frames (thread-safe) */

	pthread_t timer;
	bool timer_started;
	struct peer peers[RAFT_MAX_NODES];
	size_t n_peers;
};

/* What one event left for node_flush() to do outside the lock. */
struct step {
	uint64_t hs_gen;
	uint64_t ticket;
	uint64_t persist_index, persist_term;
	struct raft_msg *held;
	size_t n_held, cap_held;
	uint32_t reply_to;
	bool has_reply;
	struct raft_msg reply;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void abstime_ms(struct timespec *ts, uint64_t at_ms)
{
	ts->tv_sec = (time_t)(at_ms / 1000);
	ts->tv_nsec = (long)(at_ms % 1000) * 1000000;
}

/* A failed write or fsync leaves the disk in an unknown state; going on
 * could acknowledge what is not durable.  Stop (LogCabin does the same). */
static void node_fatal(const char *what, int rv)
{
	log_error("%s failed: %s; stopping to protect the log", what,
		  storage_strerror(rv));
	_exit(1);
}

/* ---- waiters -------------------------------------------------------------- */

static void waiter_add(struct node *n, struct waiter *w)
{
	pthread_cond_init(&w->cond, &n->cond_attr);
	w->next = n->waiters.next;
	w->prev = &n->waiters;
	n->waiters.next->prev = w;
	n->waiters.next = w;
}

static void waiter_del(struct waiter *w)
{
	w->prev->next = w->next;
	w->next->prev = w->prev;
	pthread_cond_destroy(&w->cond);
}

static void waiters_wake_all(struct node *n)
{
	struct waiter *w;

	for (w = n->waiters.next; w != &n->waiters; w = w->next)
		pthread_cond_signal(&w->cond);
}

/* Wakes the waiters this update may have finished. */
static void waiters_wake(struct node *n, bool role_changed)
{
	struct waiter *w;
	uint64_t applied = sm_last_applied(n->sm);

	if (role_changed) {
		waiters_wake_all(n);
		return;
	}
	for (w = n->waiters.next; w != &n->waiters; w = w->next) {
		bool ready = w->kind == WAIT_WRITE
				 ? w->done || w->lost
				 : w->read_failed ||
				       (w->read_ok && applied >= w->read_index);
		if (ready)
			pthread_cond_signal(&w->cond);
	}
}

/* ---- peer queues ----------------------------------------------------------- */

static struct peer *peer_of(struct node *n, uint32_t id)
{
	size_t i;

	for (i = 0; i < n->n_peers; i++)
		if (n->peers[i].id == id)
			return &n->peers[i];
	return NULL;
}

/* Takes ownership of *m.  A full queue drops its oldest message: Raft
 * tolerates loss, and a dead peer must not make the queue grow. */
static void peer_enqueue(struct node *n, struct raft_msg *m)
{
	struct peer *p = peer_of(n, m->to);

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

/* ---- acting on the core's update (n->lock held) -------------------------- */

static void step_hold(struct step *s, const struct raft_msg *m)
{
	if (s->n_held == s->cap_held) {
		s->cap_held = s->cap_held ? s->cap_held * 2 : 4;
		s->held = realloc(s->held, s->cap_held * sizeof(*s->held));
		if (s->held == NULL)
			abort();
	}
	raft_msg_copy(&s->held[s->n_held++], m);
}

static void log_trace(const char *trace)
{
	const char *p = trace, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		log_info("%.*s", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

static void apply_committed(struct node *n, uint64_t commit)
{
	uint64_t i;
	struct waiter *w;

	for (i = sm_last_applied(n->sm) + 1; i <= commit; i++) {
		const struct raft_entry *e = raft_entry_at(&n->raft, i);
		enum sm_result res = SM_RESULT_INVALID;
		int rv;

		if (e == NULL)
			break;
		if (e->type == RAFT_ENTRY_COMMAND)
			rv = sm_apply(n->sm, i, e->term, e->buf, e->len, &res);
		else
			rv = sm_skip(n->sm, i);
		if (rv == SM_EINVAL)
			log_warn("entry %llu: malformed command, applied as "
				 "a no-op",
				 (unsigned long long)i);
		else if (rv != SM_OK)
			log_error("entry %llu: apply: %s", (unsigned long long)i,
				  sm_strerror(rv));
		for (w = n->waiters.next; w != &n->waiters; w = w->next) {
			if (w->kind != WAIT_WRITE || w->index != i)
				continue;
			if (w->term == e->term) {
				w->done = true;
				w->result = res;
			} else {
				w->lost = true;
			}
		}
	}
}

static void node_process(struct node *n, struct step *s)
{
	const struct raft_update *up = raft_update_take(&n->raft);
	struct raftlog_entry *batch = NULL;
	struct waiter *w;
	size_t i;
	int rv;

	if (up->trace[0])
		log_trace(up->trace);
	log_set_state(up->term, raft_role_name(up->role));

	/* 1. The hard state: written by node_flush(). */
	if (up->hs_changed) {
		n->hs_gen++;
		n->hs_term = up->term;
		n->hs_vote = up->vote;
	}
	/* 2. Log changes: truncation, then appends, in order. */
	if (up->truncate_from) {
		rv = storage_truncate(n->st, up->truncate_from);
		if (rv != STORAGE_OK)
			node_fatal("raftlog truncate", rv);
	}
	if (up->n_append) {
		batch = calloc(up->n_append, sizeof(*batch));
		if (batch == NULL)
			abort();
		for (i = 0; i < up->n_append; i++) {
			const struct raft_entry *e =
			    raft_entry_at(&n->raft, up->append_first + i);
			batch[i].index = up->append_first + i;
			batch[i].term = e->term;
			batch[i].type = e->type;
			batch[i].len = e->len;
			batch[i].data = e->buf;
		}
		rv = storage_append_entries(n->st, batch, up->n_append,
					    &n->last_ticket);
		if (rv != STORAGE_OK)
			node_fatal("raftlog append", rv);
		s->persist_index = batch[up->n_append - 1].index;
		s->persist_term = batch[up->n_append - 1].term;
		free(batch);
	}
	if (up->n_append || up->truncate_from)
		pthread_cond_broadcast(&n->log_cond);
	s->hs_gen = n->hs_gen;
	s->ticket = n->last_ticket;

	/* 3. Messages. */
	for (i = 0; i < up->n_msgs; i++) {
		const struct raft_msg *m = &up->msgs[i];
		struct raft_msg copy;

		if ((m->type == RAFT_MSG_VOTE_RESP ||
		     m->type == RAFT_MSG_APPEND_RESP) &&
		    m->to == s->reply_to && !s->has_reply) {
			raft_msg_copy(&s->reply, m);
			s->has_reply = true;
		} else if (m->type == RAFT_MSG_APPEND) {
			raft_msg_copy(&copy, m);
			peer_enqueue(n, &copy);
		} else if (m->type == RAFT_MSG_VOTE ||
			   m->type == RAFT_MSG_APPEND_RESP ||
			   m->type == RAFT_MSG_VOTE_RESP) {
			step_hold(s, m);
		}
	}

	/* 4. Apply, and leave a COMMIT marker now and then for the log
	 * checker (advisory; it rides on the next fsync). */
	if (up->commit_index > sm_last_applied(n->sm)) {
		uint64_t t = now_ms();
		apply_committed(n, up->commit_index);
		if (t >= n->last_marker_ms + COMMIT_MARKER_MS &&
		    up->commit_index > n->marker_commit &&
		    up->commit_index <= storage_last_index(n->st)) {
			rv = storage_append_commit(n->st, up->commit_index,
						   &n->last_ticket);
			if (rv != STORAGE_OK)
				node_fatal("raftlog commit marker", rv);
			n->last_marker_ms = t;
			n->marker_commit = up->commit_index;
		}
	}

	/* 5. Reads. */
	for (i = 0; i < up->n_reads; i++)
		for (w = n->waiters.next; w != &n->waiters; w = w->next)
			if (w->kind == WAIT_READ &&
			    w->read_id == up->reads[i].id) {
				w->read_ok = true;
				w->read_index = up->reads[i].index;
			}
	for (i = 0; i < up->n_reads_failed; i++)
		for (w = n->waiters.next; w != &n->waiters; w = w->next)
			if (w->kind == WAIT_READ &&
			    w->read_id == up->reads_failed[i])
				w->read_failed = true;
	if (up->commit_changed || up->n_reads || up->n_reads_failed ||
	    up->role_changed)
		waiters_wake(n, up->role_changed);

	/* 6. The timer. */
	if (up->wake_at != n->wake_at) {
		n->wake_at = up->wake_at;
		pthread_cond_signal(&n->timer_cond);
	}
}

/* ---- durability and sending (n->lock NOT held) ---------------------------- */

static void hs_flush(struct node *n, uint64_t gen)
{
	uint64_t term, g;
	uint32_t vote;
	int rv;

	if (gen == 0 || atomic_load(&n->hs_done_gen) >= gen)
		return;
	pthread_mutex_lock(&n->hs_lock);
	if (atomic_load(&n->hs_done_gen) < gen) {
		pthread_mutex_lock(&n->lock);
		term = n->hs_term;
		vote = n->hs_vote;
		g = n->hs_gen;
		pthread_mutex_unlock(&n->lock);
		rv = storage_set_hard_state(n->st, term, vote);
		if (rv != STORAGE_OK)
			node_fatal("term/vote write", rv);
		atomic_store(&n->hs_done_gen, g);
	}
	pthread_mutex_unlock(&n->hs_lock);
}

static void step_clear(struct step *s)
{
	size_t i;

	for (i = 0; i < s->n_held; i++)
		raft_msg_free(&s->held[i]);
	free(s->held);
	memset(s, 0, sizeof(*s));
}

/* Makes the step's writes durable, sends what waited for that, and tells
 * the core what is now persisted (which may commit and start another
 * step).  The reply of a peer request stays in s for the caller. */
static void node_flush(struct node *n, struct step *s)
{
	for (;;) {
		struct step next;
		struct storage_sync_result res = {0};
		size_t i;
		int rv;

		hs_flush(n, s->hs_gen);
		if (s->ticket) {
			/* With no message or reply waiting for these writes,
			 * this thread need not see them on disk: a client's
			 * write waits for its commit, which needs the
			 * leader's persisted report.  Only the thread that
			 * runs an fdatasync reports it (for every write it
			 * covered), so 64 client threads do not all wake up
			 * and take n->lock for each group commit. */
			if (s->n_held == 0 && !s->has_reply)
				rv = storage_sync_nowait(n->st, s->ticket, &res);
			else
				rv = storage_sync_report(n->st, s->ticket, &res);
			if (rv != STORAGE_OK)
				node_fatal("raftlog fdatasync", rv);
		}
		for (i = 0; i < s->n_held; i++)
			peer_enqueue(n, &s->held[i]);
		s->n_held = 0;
		/* raft_persisted() tolerates a report for entries since
		 * overwritten (it checks the term at that index). */
		if (!res.ran || res.index == 0)
			return;

		memset(&next, 0, sizeof(next));
		pthread_mutex_lock(&n->lock);
		raft_persisted(&n->raft, now_ms(), res.index, res.term);
		node_process(n, &next);
		pthread_mutex_unlock(&n->lock);
		s->persist_index = 0;
		s->hs_gen = next.hs_gen;
		s->ticket = next.ticket;
		s->persist_index = next.persist_index;
		s->persist_term = next.persist_term;
		free(s->held);
		s->held = next.held;
		s->n_held = next.n_held;
		s->cap_held = next.cap_held;
	}
}

/* ---- the timer thread ------------------------------------------------------- */

static void *timer_main(void *arg)
{
	struct node *n = arg;
	struct timespec ts;

	pthread_mutex_lock(&n->lock);
	while (!n->stopping) {
		uint64_t t = now_ms();
		if (t >= n->wake_at) {
			struct step s;
			memset(&s, 0, sizeof(s));
			raft_tick(&n->raft, t);
			node_process(n, &s);
			pthread_mutex_unlock(&n->lock);
			node_flush(n, &s);
			step_clear(&s);
			pthread_mutex_lock(&n->lock);
			continue;
		}
		abstime_ms(&ts, n->wake_at);
		pthread_cond_timedwait(&n->timer_cond, &n->lock, &ts);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

/* ---- peer threads ------------------------------------------------------------ */

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
	struct node *n = p->node;
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
	arv = peerauth_verify_response(n->auth, tag, *frame, len, has_auth);
	if (arv != PEERAUTH_OK) {
		why = peerauth_strerror(arv);
		wire_msg_release(reply);
		goto out;
	}
	if (reply->type != (m->type == RAFT_MSG_VOTE ? RAFT_MSG_VOTE_RESP
						     : RAFT_MSG_APPEND_RESP) ||
	    reply->from != p->id || reply->to != n->id) {
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
 * work in 3-second steps: XMLRPC-C.md §4).  0 and *reply on success;
 * *frame then holds the answer's bytes, which *reply borrows from (free
 * it after wire_msg_release(reply)). */
static int peer_call(struct peer_conn *c, const struct raft_msg *m,
		     unsigned long deadline_ms, struct raft_msg *reply,
		     const unsigned char **frame, bool *has_reply)
{
	struct peer *p = c->peer;
	struct node *n = p->node;
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
	buf = malloc(len + peerauth_trailer_size(n->auth));
	if (buf == NULL)
		goto out;
	wire_encode(m, peerauth_enabled(n->auth), buf);
	peerauth_sign_request(n->auth, m->to, wall_ms(), buf, len, &tag);
	v = xmlrpc_base64_new(&env, len + peerauth_trailer_size(n->auth), buf);
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
 * may arrive out of order (node_peer_message() waits for the gap). */
static void *peer_main(void *arg)
{
	struct peer_conn *c = arg;
	struct peer *p = c->peer;
	struct node *n = p->node;
	const struct config *cfg = n->cfg;

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
			atomic_fetch_add(&n->appends_sent, 1);
			atomic_fetch_add(&n->entries_sent,
					 m.u.append.n_entries);
		}
		peer_call(c, &m, deadline, &reply, &frame, &has_reply);
		raft_msg_free(&m);
		if (has_reply) {
			struct step s;
			memset(&s, 0, sizeof(s));
			pthread_mutex_lock(&n->lock);
			if (!n->stopping) {
				/* A refused reply is traced by the core
				 * (rate-limited). */
				raft_recv(&n->raft, now_ms(), &reply);
				node_process(n, &s);
			}
			pthread_mutex_unlock(&n->lock);
			node_flush(n, &s);
			step_clear(&s);
			wire_msg_release(&reply);
		}
		free((void *)frame);
	}
	return NULL;
}

/* ---- the API for the RPC server ------------------------------------------ */

/* An AppendEntries from the current leader whose entries start past the
 * end of this log is most likely a pipelined request that overtook the
 * one before it on another connection: wait (bounded) for that one to
 * land, rather than reject it and send the leader back to probing
 * (§5.3's consistency check would refuse it).  n->lock held. */
static void wait_for_gap(struct node *n, const struct raft_msg *m)
{
	struct timespec ts;

	/* Requests overtaken on other connections hold at most
	 * max_inflight - 1 batches; a wider gap is a follower that is
	 * really behind, and the leader should hear so at once.  The
	 * leader's setting may differ from ours: use the largest. */
	if (m->u.append.prev_index >
	    raft_last_index(&n->raft) +
		(uint64_t)(CONFIG_MAX_INFLIGHT - 1) * BATCH_ENTRIES)
		return;
	abstime_ms(&ts, now_ms() + REORDER_WAIT_MS);
	while (!n->stopping && raft_role(&n->raft) == RAFT_FOLLOWER &&
	       m->term == raft_term(&n->raft) &&
	       raft_leader(&n->raft) == m->from &&
	       m->u.append.prev_index > raft_last_index(&n->raft)) {
		if (pthread_cond_timedwait(&n->log_cond, &n->lock, &ts) ==
		    ETIMEDOUT)
			break;
	}
}

int node_peer_message(struct node *n, const struct raft_msg *m,
		      struct raft_msg *reply, bool *has_reply)
{
	struct step s;
	int rv;

	*has_reply = false;
	memset(&s, 0, sizeof(s));
	s.reply_to = m->from;
	if (m->type == RAFT_MSG_APPEND)
		atomic_fetch_add(&n->appends_received, 1);
	pthread_mutex_lock(&n->lock);
	if (m->type == RAFT_MSG_APPEND && m->u.append.n_entries > 0)
		wait_for_gap(n, m);
	if (n->stopping) {
		pthread_mutex_unlock(&n->lock);
		return -1;
	}
	rv = raft_recv(&n->raft, now_ms(), m);
	node_process(n, &s);
	pthread_mutex_unlock(&n->lock);
	node_flush(n, &s);
	if (s.has_reply) {
		*reply = s.reply;
		*has_reply = true;
		s.has_reply = false;
	}
	step_clear(&s);
	return rv == RAFT_OK ? 0 : -1;
}

static bool still_leader(struct node *n, uint64_t term)
{
	return raft_role(&n->raft) == RAFT_LEADER && raft_term(&n->raft) == term;
}

enum node_status node_write(struct node *n, const uint8_t *payload, size_t len,
			    enum sm_result *result)
{
	struct waiter w;
	struct step s;
	struct timespec ts;
	enum sm_tid_state tid_state = SM_TID_UNKNOWN;
	enum node_status status;
	uint64_t deadline, index, term;
	int rv;

	memset(&w, 0, sizeof(w));
	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&n->lock);
	if (n->stopping) {
		status = NODE_UNAVAILABLE;
		goto out_unlock;
	}
	if (raft_role(&n->raft) != RAFT_LEADER) {
		status = NODE_NOT_LEADER;
		goto out_unlock;
	}
	/* A tid already applied: answer from the state machine without a
	 * new entry (apply would de-duplicate it anyway). */
	if (sm_tid_lookup(n->sm, payload, len, &tid_state, result) == SM_OK &&
	    tid_state != SM_TID_UNKNOWN) {
		status = NODE_OK;
		goto out_unlock;
	}
	rv = raft_propose(&n->raft, now_ms(), RAFT_ENTRY_COMMAND, payload,
			  (uint32_t)len, &index, &term);
	if (rv != RAFT_OK) {
		node_process(n, &s);
		status = rv == RAFT_ENOTLEADER ? NODE_NOT_LEADER : NODE_INVALID;
		goto out_unlock;
	}
	w.kind = WAIT_WRITE;
	w.index = index;
	w.term = term;
	waiter_add(n, &w);
	node_process(n, &s);
	pthread_mutex_unlock(&n->lock);
	node_flush(n, &s);
	pthread_mutex_lock(&n->lock);

	deadline = now_ms() + n->cfg->request_timeout_ms;
	abstime_ms(&ts, deadline);
	while (!w.done && !w.lost && !n->stopping && still_leader(n, term) &&
	       now_ms() < deadline)
		pthread_cond_timedwait(&w.cond, &n->lock, &ts);
	waiter_del(&w);
	if (w.done) {
		*result = w.result;
		status = NODE_OK;
	} else if (n->stopping) {
		status = NODE_UNAVAILABLE;
	} else {
		/* Appended, but not known to be committed: the outcome is
		 * unknown and the client retries with the same tid. */
		status = NODE_TIMEOUT;
	}
out_unlock:
	pthread_mutex_unlock(&n->lock);
	step_clear(&s);
	return status;
}

/* A reader's copy-out: when it started, on both clocks. */
struct copy_clock {
	uint64_t wall, cpu;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void copy_start(struct copy_clock *c)
{
	c->wall = clock_ns(CLOCK_MONOTONIC);
	c->cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static void atomic_max(_Atomic uint64_t *m, uint64_t v)
{
	uint64_t cur = atomic_load(m);

	while (v > cur && !atomic_compare_exchange_weak(m, &cur, v))
		;
}

/* Records how long a reader's copy-out held the lock (status() shows the
 * longest): the figures that say whether reads stall the node. */
static void copy_end(struct node *n, const struct copy_clock *c)
{
	atomic_max(&n->read_copy_ns_max, clock_ns(CLOCK_MONOTONIC) - c->wall);
	atomic_max(&n->read_copy_cpu_ns_max,
		   clock_ns(CLOCK_THREAD_CPUTIME_ID) - c->cpu);
}

enum node_status
node_read(struct node *n, void (*fn)(void *arg, const struct sm *sm), void *arg)
{
	struct waiter w;
	struct step s;
	struct timespec ts;
	enum node_status status = NODE_NOT_LEADER;
	struct copy_clock cc;
	uint64_t deadline, term;
	int rv;

	memset(&w, 0, sizeof(w));
	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&n->lock);
	if (n->stopping) {
		status = NODE_UNAVAILABLE;
		goto out;
	}
	if (raft_role(&n->raft) != RAFT_LEADER)
		goto out;
	term = raft_term(&n->raft);
	w.kind = WAIT_READ;
	w.read_id = ++n->next_read_id;
	waiter_add(n, &w);
	rv = raft_read(&n->raft, now_ms(), w.read_id);
	node_process(n, &s);
	if (rv != RAFT_OK) {
		waiter_del(&w);
		goto out;
	}
	pthread_mutex_unlock(&n->lock);
	node_flush(n, &s);
	step_clear(&s);
	pthread_mutex_lock(&n->lock);

	/* Thesis §6.4: serve once leadership is confirmed for the read
	 * index and the state machine has applied up to it. */
	deadline = now_ms() + n->cfg->request_timeout_ms;
	abstime_ms(&ts, deadline);
	while (!(w.read_ok && sm_last_applied(n->sm) >= w.read_index) &&
	       !w.read_failed && !n->stopping && still_leader(n, term) &&
	       now_ms() < deadline)
		pthread_cond_timedwait(&w.cond, &n->lock, &ts);
	waiter_del(&w);
	if (w.read_ok && sm_last_applied(n->sm) >= w.read_index) {
		/* The only place a reader sees the sm: fn copies a bounded
		 * page out and returns (node.h). */
		copy_start(&cc);
		fn(arg, n->sm);
		copy_end(n, &cc);
		status = NODE_OK;
	} else if (n->stopping) {
		status = NODE_UNAVAILABLE;
	} else if (w.read_failed || !still_leader(n, term)) {
		status = NODE_NOT_LEADER;
	} else {
		status = NODE_TIMEOUT;
	}
out:
	pthread_mutex_unlock(&n->lock);
	step_clear(&s);
	return status;
}

struct peerauth *node_peerauth(struct node *n)
{
	return n->auth;
}

void node_leader_hint(struct node *n, char *out, size_t size)
{
	const struct config_node *cn;
	uint32_t leader;

	pthread_mutex_lock(&n->lock);
	leader = raft_leader(&n->raft);
	pthread_mutex_unlock(&n->lock);
	cn = leader ? config_node_by_id(n->cfg, leader) : NULL;
	api_format_hint(cn ? cn->id : 0, cn ? cn->address : NULL, out, size);
}

bool node_is_leader(struct node *n)
{
	bool leader;

	pthread_mutex_lock(&n->lock);
	leader = raft_role(&n->raft) == RAFT_LEADER;
	pthread_mutex_unlock(&n->lock);
	return leader;
}

void node_status(struct node *n, struct node_status_info *out)
{
	const struct config_node *cn;
	struct storage_stats ss;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&n->lock);
	out->id = n->id;
	out->role = raft_role(&n->raft);
	out->term = raft_term(&n->raft);
	out->leader = raft_leader(&n->raft);
	out->commit_index = raft_commit_index(&n->raft);
	out->last_applied = sm_last_applied(n->sm);
	out->last_log_index = raft_last_index(&n->raft);
	out->last_log_term = raft_last_term(&n->raft);
	pthread_mutex_unlock(&n->lock);
	storage_get_stats(n->st, &ss);
	out->log_syncs = ss.log_syncs;
	out->sync_ns_max = ss.sync_ns_max;
	out->appends_sent = atomic_load(&n->appends_sent);
	out->entries_sent = atomic_load(&n->entries_sent);
	out->appends_received = atomic_load(&n->appends_received);
	out->read_copy_ns_max = atomic_load(&n->read_copy_ns_max);
	out->read_copy_cpu_ns_max = atomic_load(&n->read_copy_cpu_ns_max);
	cn = out->leader ? config_node_by_id(n->cfg, out->leader) : NULL;
	if (cn != NULL)
		snprintf(out->leader_address, sizeof(out->leader_address), "%s",
			 cn->address);
}

void node_log_read(struct node *n, uint64_t from,
		   int (*fn)(void *arg, const struct node_log_entry *e),
		   void *arg)
{
	struct copy_clock cc;
	uint64_t i, last, commit;

	pthread_mutex_lock(&n->lock);
	copy_start(&cc);
	last = raft_last_index(&n->raft);
	commit = raft_commit_index(&n->raft);
	/* fn bounds the run by returning non-zero once its page is full. */
	for (i = from < 1 ? 1 : from; i <= last; i++) {
		const struct raft_entry *e = raft_entry_at(&n->raft, i);
		struct node_log_entry le;
		if (e == NULL)
			continue;
		le.index = i;
		le.term = e->term;
		le.type = e->type;
		le.data = e->buf;
		le.len = e->len;
		le.committed = i <= commit;
		if (fn(arg, &le) != 0)
			break;
	}
	copy_end(n, &cc);
	pthread_mutex_unlock(&n->lock);
}

/* ---- start and stop ------------------------------------------------------------ */

static int load_entry(void *arg, const struct raftlog_entry *e)
{
	struct raft *r = arg;

	return raft_load_entry(r, e->term, e->type, e->data, e->len) ==
		       RAFT_OK
		   ? 0
		   : -1;
}

static void storage_log(void *arg, const char *msg)
{
	log_warn("%s", msg);
}

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
	xmlrpc_client_create(&env, XMLRPC_CLIENT_NO_FLAGS, "raftd", "0",
			     &parms, XMLRPC_CPSIZE(transportparm_size),
			     &c->client);
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

static int peer_setup(struct node *n, struct peer *p,
		      const struct config_node *cn, char *err, size_t errlen)
{
	p->node = n;
	p->id = cn->id;
	snprintf(p->url, sizeof(p->url), "http://%s/RPC2", cn->address);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	while (p->n_conns < n->cfg->max_inflight) {
		/* Counted before it is set up, so node_stop() frees a
		 * half-made one. */
		struct peer_conn *c = &p->conns[p->n_conns++];
		if (peer_conn_setup(p, c, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int node_start(const struct config *cfg, uint32_t id, const char *data_dir,
	       struct node **out, char *err, size_t errlen)
{
	struct node *n = NULL;
	struct raft_config rc;
	struct step s;
	uint64_t term, seed = 0;
	uint32_t vote;
	size_t i;
	int rv;

	*out = NULL;
	memset(&s, 0, sizeof(s));
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n->cfg = cfg;
	n->id = id;
	n->waiters.next = n->waiters.prev = &n->waiters;
	pthread_mutex_init(&n->lock, NULL);
	pthread_mutex_init(&n->hs_lock, NULL);
	pthread_condattr_init(&n->cond_attr);
	pthread_condattr_setclock(&n->cond_attr, CLOCK_MONOTONIC);
	pthread_cond_init(&n->timer_cond, &n->cond_attr);
	pthread_cond_init(&n->log_cond, &n->cond_attr);

	/* Each incarnation signs with its own random epoch (peerauth.h). */
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = wall_ms() ^ ((uint64_t)getpid() << 40);
	if (peerauth_new(cfg->has_secret ? cfg->secret : NULL,
			 cfg->has_secret ? strlen(cfg->secret) : 0, seed,
			 &n->auth) != PEERAUTH_OK) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rv = storage_open(data_dir, storage_log, NULL, &n->st, err, errlen);
	if (rv != STORAGE_OK)
		goto fail;

	memset(&rc, 0, sizeof(rc));
	rc.id = id;
	rc.n_nodes = (uint32_t)cfg->n_nodes;
	for (i = 0; i < cfg->n_nodes; i++)
		rc.nodes[i] = cfg->nodes[i].id;
	rc.election_min_ms = cfg->election_min_ms;
	rc.election_max_ms = cfg->election_max_ms;
	rc.heartbeat_ms = cfg->heartbeat_ms;
	rc.max_batch_entries = BATCH_ENTRIES;
	rc.max_batch_bytes = BATCH_BYTES;
	rc.max_inflight = cfg->max_inflight;
	rc.pipeline_full_only = true;
	/* The core's PRNG needs a seed; the shell may use the OS's. */
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = now_ms();
	rc.seed = seed ^ ((uint64_t)id << 32);
	rc.prevote = true;
	rc.check_quorum = true;
	if (raft_init(&n->raft, &rc) != RAFT_OK) {
		snprintf(err, errlen, "invalid raft configuration");
		goto fail;
	}
	storage_hard_state(n->st, &term, &vote);
	if (raft_load_hard_state(&n->raft, term, vote) != RAFT_OK) {
		snprintf(err, errlen, "%s: vote for unknown node %u", data_dir,
			 vote);
		goto fail;
	}
	if (storage_first_index(n->st) != 1) {
		snprintf(err, errlen, "%s: log starts at index %llu", data_dir,
			 (unsigned long long)storage_first_index(n->st));
		goto fail;
	}
	if (storage_for_each_entry(n->st, load_entry, &n->raft) != 0) {
		snprintf(err, errlen, "%s: cannot load the log into the core",
			 data_dir);
		goto fail;
	}
	n->sm = sm_new();
	if (n->sm == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	log_info("loaded term %llu, vote %u, %llu entries from %s",
		 (unsigned long long)term, vote,
		 (unsigned long long)raft_last_index(&n->raft), data_dir);

	for (i = 0; i < cfg->n_nodes; i++) {
		if (cfg->nodes[i].id == id)
			continue;
		if (peer_setup(n, &n->peers[n->n_peers++], &cfg->nodes[i], err,
			       errlen) != 0)
			goto fail;
	}

	pthread_mutex_lock(&n->lock);
	raft_start(&n->raft, now_ms());
	node_process(n, &s);
	pthread_mutex_unlock(&n->lock);
	node_flush(n, &s);
	step_clear(&s);

	for (i = 0; i < n->n_peers; i++) {
		struct peer *p = &n->peers[i];
		size_t j;

		for (j = 0; j < p->n_conns; j++) {
			if (pthread_create(&p->conns[j].thread, NULL,
					   peer_main, &p->conns[j]) != 0) {
				snprintf(err, errlen, "pthread_create: %s",
					 strerror(errno));
				goto fail;
			}
			p->conns[j].started = true;
		}
	}
	if (pthread_create(&n->timer, NULL, timer_main, n) != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(errno));
		goto fail;
	}
	n->timer_started = true;
	*out = n;
	return 0;
fail:
	node_stop(n);
	return -1;
}

void node_stop(struct node *n)
{
	size_t i;

	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	n->stopping = true;
	waiters_wake_all(n);
	pthread_cond_signal(&n->timer_cond);
	pthread_cond_broadcast(&n->log_cond);
	pthread_mutex_unlock(&n->lock);
	for (i = 0; i < n->n_peers; i++) {
		struct peer *p = &n->peers[i];
		size_t j;
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		for (j = 0; j < p->n_conns; j++)
			p->conns[j].interrupt = 1;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
	if (n->timer_started)
		pthread_join(n->timer, NULL);
	for (i = 0; i < n->n_peers; i++) {
		struct peer *p = &n->peers[i];
		size_t j;
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
	if (n->st != NULL) {
		uint64_t commit = raft_commit_index(&n->raft);
		if (commit > n->marker_commit &&
		    commit <= storage_last_index(n->st))
			storage_append_commit(n->st, commit, NULL);
		storage_sync(n->st, UINT64_MAX);
		storage_close(n->st);
	}
	sm_free(n->sm);
	peerauth_free(n->auth);
	raft_close(&n->raft);
	pthread_mutex_destroy(&n->lock);
	pthread_mutex_destroy(&n->hs_lock);
	pthread_condattr_destroy(&n->cond_attr);
	pthread_cond_destroy(&n->timer_cond);
	pthread_cond_destroy(&n->log_cond);
	free(n);
}

/* node_stop() must not race with RPC handlers: the server stops first.
 * node_begin_stop() fails waiting clients fast so that it can. */
void node_begin_stop(struct node *n)
{
	pthread_mutex_lock(&n->lock);
	n->stopping = true;
	waiters_wake_all(n);
	pthread_cond_signal(&n->timer_cond);
	pthread_cond_broadcast(&n->log_cond);
	pthread_mutex_unlock(&n->lock);
}
