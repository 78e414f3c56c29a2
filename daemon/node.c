/* node.c: one raftd node: its lifecycle, and the public API (node.h) as
 * events for the driver (driver.c; node_impl.h has the design). */
#include "node_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "log.h"
#include "peer.h"
#include "peerauth.h"
#include "storage.h"
#include "xalloc.h"

/* The config and the raftlog speak the core's language. */
_Static_assert(CONFIG_MAX_NODES <= RAFT_MAX_NODES, "config allows more nodes "
						   "than the core");
_Static_assert((int)RAFTLOG_ENTRY_NOOP == (int)RAFT_ENTRY_NOOP &&
		   (int)RAFTLOG_ENTRY_COMMAND == (int)RAFT_ENTRY_COMMAND,
	       "raftlog and core entry types differ");

/* How long a follower holds an AppendEntries that arrived before the one
 * it follows (pipelined requests travel on separate connections, so they
 * can overtake each other) before answering it with a rejection. */
#define REORDER_WAIT_MS 20

/* ---- peer messages ----------------------------------------------------------
 */

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

static int peer_event(struct node *n, struct step *s, void *arg)
{
	const struct raft_msg *m = arg;

	if (m->type == RAFT_MSG_APPEND && m->u.append.n_entries > 0)
		wait_for_gap(n, m);
	if (n->stopping)
		return -1;
	s->event = true;
	return raft_recv(&n->raft, now_ms(), m) == RAFT_OK ? 0 : -1;
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
	rv = node_run(n, &s, peer_event, (void *)m);
	if (s.has_reply) {
		*reply = s.reply;
		*has_reply = true;
		s.has_reply = false;
	}
	step_clear(&s);
	return rv;
}

/* ---- client writes and reads ----------------------------------------------
 */

struct write_args {
	struct node_op *op;
	const uint8_t *payload;
	size_t len;
	const char *tid;
	size_t tid_len;
	uint64_t hash;
};

static int write_event(struct node *n, struct step *s, void *arg)
{
	struct write_args *wa = arg;
	struct node_op *op = wa->op;
	enum sm_tid_state tid_state = SM_TID_UNKNOWN;
	enum sm_result res = SM_RESULT_INVALID;
	uint64_t index, term;
	int rv;

	if (n->stopping) {
		node_op_finish(n, s, op, NODE_UNAVAILABLE, res);
		return 0;
	}
	if (raft_role(&n->raft) != RAFT_LEADER) {
		node_op_finish(n, s, op, NODE_NOT_LEADER, res);
		return 0;
	}
	/* A tid already applied: its first result, without a new entry
	 * (apply would de-duplicate it anyway). */
	if (wa->tid_len > 0 &&
	    sm_tid_check(n->sm, wa->tid, wa->tid_len, wa->hash, &tid_state,
			 &res) == SM_OK &&
	    tid_state != SM_TID_UNKNOWN) {
		node_op_finish(n, s, op, NODE_OK, res);
		return 0;
	}
	rv = raft_propose(&n->raft, now_ms(), RAFT_ENTRY_COMMAND, wa->payload,
			  (uint32_t)wa->len, &index, &term);
	s->event = true;
	if (rv != RAFT_OK) {
		/* RAFT_EBUSY: a leadership transfer is under way (thesis
		 * §3.10): the client goes on to the next leader. */
		node_op_finish(n, s, op,
			       rv == RAFT_ENOTLEADER || rv == RAFT_EBUSY
				   ? NODE_NOT_LEADER
				   : NODE_INVALID,
			       res);
		return 0;
	}
	op->index = index;
	op->term = term;
	node_op_add(n, op);
	return 0;
}

void node_write(struct node *n, const uint8_t *payload, size_t len,
		const char *tid, size_t tid_len, uint64_t hash,
		node_write_fn done, void *arg)
{
	struct write_args wa = {.payload = payload,
				.len = len,
				.tid = tid,
				.tid_len = tid_len,
				.hash = hash};
	struct step s;

	wa.op = xcalloc(1, sizeof(*wa.op));
	wa.op->kind = NODE_OP_WRITE;
	wa.op->write_done = done;
	wa.op->arg = arg;
	memset(&s, 0, sizeof(s));
	node_run(n, &s, write_event, &wa);
	step_clear(&s);
}

static int read_event(struct node *n, struct step *s, void *arg)
{
	struct node_op *op = arg;

	if (n->stopping) {
		node_op_finish(n, s, op, NODE_UNAVAILABLE, SM_RESULT_INVALID);
		return 0;
	}
	if (raft_role(&n->raft) != RAFT_LEADER) {
		node_op_finish(n, s, op, NODE_NOT_LEADER, SM_RESULT_INVALID);
		return 0;
	}
	op->term = raft_term(&n->raft);
	op->read_id = ++n->next_read_id;
	/* Added first: the core may confirm it within this very event (a
	 * single-node cluster). */
	node_op_add(n, op);
	s->event = true;
	if (raft_read(&n->raft, now_ms(), op->read_id) != RAFT_OK)
		node_op_finish(n, s, op, NODE_NOT_LEADER, SM_RESULT_INVALID);
	return 0;
}

void node_read(struct node *n, node_copy_fn copy, node_read_fn done, void *arg)
{
	struct node_op *op = xcalloc(1, sizeof(*op));
	struct step s;

	op->kind = NODE_OP_READ;
	op->copy = copy;
	op->read_done = done;
	op->arg = arg;
	memset(&s, 0, sizeof(s));
	node_run(n, &s, read_event, op);
	step_clear(&s);
}

/* ---- what the node says about itself --------------------------------------
 */

struct peerauth *node_peerauth(struct node *n) { return n->auth; }

void node_leader_hint(struct node *n, char *out, size_t size)
{
	char addr[CONFIG_ADDRESS_MAX] = "";
	uint32_t leader;

	pthread_mutex_lock(&n->lock);
	leader = raft_leader(&n->raft);
	if (leader != 0)
		snprintf(addr, sizeof(addr), "%s", node_address_of(n, leader));
	pthread_mutex_unlock(&n->lock);
	api_format_hint(addr[0] ? leader : 0, addr[0] ? addr : NULL, out, size);
}

uint64_t node_cluster_id(struct node *n) { return n->ident.cluster; }

uint64_t node_incarnation(struct node *n) { return n->ident.incarnation; }

int node_check_peer(struct node *n, uint32_t from, uint64_t incarnation,
		    uint64_t leader_term)
{
	uint64_t term;

	if (ident_peer_check(n->idpeers, from, incarnation) == 0)
		return 0;
	if (leader_term == 0)
		return -1;
	pthread_mutex_lock(&n->lock);
	term = raft_term(&n->raft);
	pthread_mutex_unlock(&n->lock);
	/* A stale leader's frame (an old process of the member, or a leader
	 * behind this node's term) goes to the core unrecorded: the core
	 * refuses its term and answers with this node's, so a leader behind
	 * steps down instead of being refused for ever (terms never go
	 * back, so the core's refusal is certain). */
	if (leader_term < term)
		return 0;
	ident_peer_adopt(n->idpeers, from, incarnation);
	return 1;
}

bool node_is_leader(struct node *n)
{
	bool leader;

	pthread_mutex_lock(&n->lock);
	leader = raft_role(&n->raft) == RAFT_LEADER;
	pthread_mutex_unlock(&n->lock);
	return leader;
}

void node_heard(struct node *n, uint32_t id, uint64_t ms)
{
	size_t i, free_slot = RAFT_MAX_NODES;

	for (i = 0; i < RAFT_MAX_NODES; i++) {
		if (n->heard[i].id == id) {
			n->heard[i].ms = ms;
			return;
		}
		if (n->heard[i].id == 0 && free_slot == RAFT_MAX_NODES)
			free_slot = i;
	}
	/* Full (members come and go): reuse the slot heard from longest
	 * ago; status() then shows -1 for the one forgotten. */
	if (free_slot == RAFT_MAX_NODES) {
		free_slot = 0;
		for (i = 1; i < RAFT_MAX_NODES; i++)
			if (n->heard[i].ms < n->heard[free_slot].ms)
				free_slot = i;
	}
	n->heard[free_slot].id = id;
	n->heard[free_slot].ms = ms;
}

/* Milliseconds since peer `id` last answered, -1 if it never did
 * (n->lock held). */
static int64_t heard_ago(const struct node *n, uint32_t id, uint64_t now)
{
	for (size_t i = 0; i < RAFT_MAX_NODES; i++)
		if (n->heard[i].id == id && id != 0)
			return n->heard[i].ms <= now
				   ? (int64_t)(now - n->heard[i].ms)
				   : 0;
	return -1;
}

void node_status(struct node *n, struct node_status_info *out)
{
	struct storage_stats ss;
	struct sm_stats sms;
	uint64_t now = now_ms();

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
	snprintf(out->leader_address, sizeof(out->leader_address), "%s",
		 out->leader ? node_address_of(n, out->leader) : "");
	out->dropped_msgs = n->raft.dropped_msgs;
	out->elections = n->raft.elections;
	out->leaderships = n->raft.leaderships;
	sm_stats(n->sm, &sms);
	out->keys = sms.n_keys;
	if (out->role == RAFT_LEADER) {
		for (uint32_t i = 0; i < n->raft.n_progress; i++) {
			const struct raft_progress *p = &n->raft.progress[i];
			if (p->id == n->id)
				continue;
			out->peers[out->n_peers].id = p->id;
			out->peers[out->n_peers].match = p->match_index;
			out->peers[out->n_peers].next = p->next_index;
			out->peers[out->n_peers].lag =
			    out->last_log_index > p->match_index
				? out->last_log_index - p->match_index
				: 0;
			out->peers[out->n_peers].contact_ms =
			    heard_ago(n, p->id, now);
			out->n_peers++;
		}
	}
	pthread_mutex_unlock(&n->lock);
	out->uptime_s = (now - n->start_ms) / 1000;
	storage_get_stats(n->st, &ss);
	out->log_syncs = ss.log_syncs;
	memcpy(out->sync_hist, ss.sync_hist, sizeof(out->sync_hist));
	out->sync_ns_max = ss.sync_ns_max;
	out->sync_ns_total = ss.sync_ns_total;
	peers_stats(n->peers, &out->appends_sent, &out->entries_sent);
	out->appends_received = atomic_load(&n->appends_received);
	out->read_copy_ns_max = atomic_load(&n->read_copy_ns_max);
	out->read_copy_cpu_ns_max = atomic_load(&n->read_copy_cpu_ns_max);
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
	/* Compacted entries are gone (a snapshot holds them). */
	if (from < raft_first_index(&n->raft))
		from = raft_first_index(&n->raft);
	for (i = from; i <= last; i++) {
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

/* ---- start and stop
 * ------------------------------------------------------------ */

static int load_entry(void *arg, const struct raftlog_entry *e)
{
	struct raft *r = arg;

	return raft_load_entry(r, e->term, e->type, e->data, e->len) == RAFT_OK
		   ? 0
		   : -1;
}

static void storage_log(void *arg, const char *msg) { log_warn("%s", msg); }

static int start_event(struct node *n, struct step *s, void *arg)
{
	raft_start(&n->raft, now_ms());
	s->event = true;
	return 0;
}

static uint64_t random_u64(void)
{
	uint64_t x = 0;

	if (getrandom(&x, sizeof(x), 0) != sizeof(x))
		x = wall_ms() ^ ((uint64_t)getpid() << 40) ^ now_ms() << 20;
	return x;
}

/* The core's configuration, from the file's. */
static void core_config(const struct config *cfg, uint32_t id,
			struct raft_config *rc)
{
	size_t i;

	memset(rc, 0, sizeof(*rc));
	rc->id = id;
	rc->n_nodes = (uint32_t)cfg->n_nodes;
	for (i = 0; i < cfg->n_nodes; i++)
		rc->nodes[i] = cfg->nodes[i].id;
	rc->election_min_ms = cfg->election_min_ms;
	rc->election_max_ms = cfg->election_max_ms;
	rc->heartbeat_ms = cfg->heartbeat_ms;
	rc->max_batch_entries = BATCH_ENTRIES;
	rc->max_batch_bytes = BATCH_BYTES;
	rc->max_inflight = cfg->max_inflight;
	rc->pipeline_full_only = true;
	/* The core's PRNG needs a seed; the shell may use the OS's. */
	rc->seed = random_u64() ^ ((uint64_t)id << 32);
	rc->prevote = true;
	rc->check_quorum = true;
}

int node_start(const struct config *cfg, uint32_t id, const char *data_dir,
	       const struct config_node *join, struct node **out, char *err,
	       size_t errlen)
{
	struct node *n;
	struct raft_config rc;
	struct step s;
	uint64_t term, snap_index = 0, snap_term = 0;
	struct raft_conf snap_conf;
	uint32_t vote;
	int rv;

	*out = NULL;
	memset(&s, 0, sizeof(s));
	n = xcalloc(1, sizeof(*n));
	n->cfg = cfg;
	n->id = id;
	n->start_ms = now_ms();
	pthread_mutex_init(&n->lock, NULL);
	pthread_mutex_init(&n->hs_lock, NULL);
	pthread_condattr_init(&n->cond_attr);
	pthread_condattr_setclock(&n->cond_attr, CLOCK_MONOTONIC);
	pthread_cond_init(&n->timer_cond, &n->cond_attr);
	pthread_cond_init(&n->log_cond, &n->cond_attr);
	pthread_cond_init(&n->snap_cond, &n->cond_attr);
	pthread_cond_init(&n->snap_done, &n->cond_attr);
	pthread_mutex_init(&n->recv_lock, NULL);
	n->recv_fd = -1;
	n->data_dir = xstrdup(data_dir);
	if (asprintf(&n->snap_path, "%s/%s", data_dir, "snapshot") < 0) {
		n->snap_path = NULL;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	/* Each incarnation signs with its own random epoch (peerauth.h). */
	if (peerauth_new(cfg->has_secret ? cfg->secret : NULL,
			 cfg->has_secret ? strlen(cfg->secret) : 0,
			 random_u64(), &n->auth) != PEERAUTH_OK) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rv = storage_open(data_dir, storage_log, NULL, &n->st, err, errlen);
	if (rv != STORAGE_OK)
		goto fail;
	if (ident_open(data_dir, cfg, id, join, &n->ident, err, errlen) != 0)
		goto fail;
	n->idpeers = ident_peers_open(data_dir);
	if (node_snap_load(n, &snap_index, &snap_term, &snap_conf, err,
			   errlen) != 0)
		goto fail;

	core_config(cfg, id, &rc);
	if (raft_init(&n->raft, &rc) != RAFT_OK) {
		snprintf(err, errlen, "invalid raft configuration");
		goto fail;
	}
	storage_hard_state(n->st, &term, &vote);
	if (raft_load_hard_state(&n->raft, term, vote) != RAFT_OK) {
		snprintf(err, errlen,
			 "%s: bad term %llu or vote for unknown "
			 "node %u",
			 data_dir, (unsigned long long)term, vote);
		goto fail;
	}
	/* A snapshot in a data dir without an identity yet was put there by
	 * `raftctl restore` (a new cluster from a backup: the members it
	 * names are the old cluster's), or by a raftd before membership
	 * changes (its section lists the config file's nodes): the config
	 * file's node list is the configuration. */
	if (snap_index != 0 && n->ident.created)
		log_info("the snapshot predates this data dir's identity (a "
			 "restored backup): the config file's node list is "
			 "the configuration, not the %u node%s it names",
			 snap_conf.n, snap_conf.n == 1 ? "" : "s");
	if ((snap_index != 0 || storage_first_index(n->st) != 1) &&
	    raft_load_snapshot(&n->raft, storage_first_index(n->st) - 1,
			       storage_base_term(n->st), snap_index, snap_term,
			       snap_index && !n->ident.created
				   ? &snap_conf
				   : NULL) != RAFT_OK) {
		snprintf(err, errlen,
			 "%s: the log (from index %llu) and the snapshot (up "
			 "to %llu) do not fit together",
			 data_dir,
			 (unsigned long long)storage_first_index(n->st),
			 (unsigned long long)snap_index);
		goto fail;
	}
	if (storage_for_each_entry(n->st, load_entry, &n->raft) != 0) {
		snprintf(err, errlen, "%s: cannot load the log into the core",
			 data_dir);
		goto fail;
	}
	log_info("loaded term %llu, vote %u, entries %llu..%llu from %s",
		 (unsigned long long)term, vote,
		 (unsigned long long)raft_first_index(&n->raft),
		 (unsigned long long)raft_last_index(&n->raft), data_dir);

	/* Clients first, from this (the main) thread: xmlrpc-c's client
	 * creation is not thread-safe. */
	if (peers_new(cfg, id, n->ident.cluster, n->ident.incarnation,
		      n->idpeers, n->auth, n->snap_path, node_on_reply,
		      node_on_snapshot_failed, n, &n->peers, err, errlen) != 0)
		goto fail;
	node_run(n, &s, start_event, NULL);
	step_clear(&s);
	if (peers_start(n->peers, err, errlen) != 0)
		goto fail;
	/* Peers for members the bootstrap list does not name. */
	pthread_mutex_lock(&n->lock);
	node_conf_changed(n);
	pthread_mutex_unlock(&n->lock);
	if (pthread_create(&n->timer, NULL, node_timer_main, n) != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(errno));
		goto fail;
	}
	n->timer_started = true;
	if (node_snap_start(n, err, errlen) != 0)
		goto fail;
	*out = n;
	return 0;
fail:
	node_stop(n);
	return -1;
}

static int stop_event(struct node *n, struct step *s, void *arg)
{
	n->stopping = true;
	while (n->writes.head != NULL)
		node_op_finish(n, s, n->writes.head, NODE_UNAVAILABLE,
			       SM_RESULT_INVALID);
	while (n->reads.head != NULL)
		node_op_finish(n, s, n->reads.head, NODE_UNAVAILABLE,
			       SM_RESULT_INVALID);
	pthread_cond_signal(&n->timer_cond);
	pthread_cond_broadcast(&n->log_cond);
	pthread_cond_broadcast(&n->snap_cond);
	pthread_cond_broadcast(&n->snap_done);
	return 0;
}

/* node_stop() must not race with RPC handlers: the server stops first.
 * node_begin_stop() fails waiting clients fast so that it can. */
void node_begin_stop(struct node *n)
{
	struct step s;

	memset(&s, 0, sizeof(s));
	node_run(n, &s, stop_event, NULL);
	step_clear(&s);
}

void node_stop(struct node *n)
{
	if (n == NULL)
		return;
	if (n->st != NULL)
		node_begin_stop(n);
	if (n->timer_started)
		pthread_join(n->timer, NULL);
	node_snap_stop(n);
	peers_free(n->peers);
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
	ident_peers_free(n->idpeers);
	raft_close(&n->raft);
	pthread_mutex_destroy(&n->lock);
	pthread_mutex_destroy(&n->hs_lock);
	pthread_condattr_destroy(&n->cond_attr);
	pthread_cond_destroy(&n->timer_cond);
	pthread_cond_destroy(&n->log_cond);
	pthread_cond_destroy(&n->snap_cond);
	pthread_cond_destroy(&n->snap_done);
	pthread_mutex_destroy(&n->recv_lock);
	free(n->data_dir);
	free(n->snap_path);
	free(n);
}
