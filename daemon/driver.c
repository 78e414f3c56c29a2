/* driver.c: carrying out the core's updates for a node, and the client
 * operations that wait on them (node_impl.h has the design: threads,
 * locks, what each field is guarded by).
 *
 * node_run() is the one sequence every event goes through: lock, event,
 * node_process() (the plan of core/plan.h, which the simulation runs
 * too), unlock, node_flush(), complete the finished operations. */
#include "node_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/plan.h"
#include "log.h"
#include "peer.h"
#include "storage.h"
#include "xalloc.h"

#define COMMIT_MARKER_MS 100

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void abstime_ms(struct timespec *ts, uint64_t at_ms)
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

/* ---- copy-out clocks ------------------------------------------------------
 */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void copy_start(struct copy_clock *c)
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

/* Records how long a reader's copy-out held the lock: the figures that
 * say whether reads stall the node. */
void copy_end(struct node *n, const struct copy_clock *c)
{
	atomic_max(&n->read_copy_ns_max, clock_ns(CLOCK_MONOTONIC) - c->wall);
	atomic_max(&n->read_copy_cpu_ns_max,
		   clock_ns(CLOCK_THREAD_CPUTIME_ID) - c->cpu);
}

/* ---- operations (n->lock held) ------------------------------------------- */

static struct node_op_list *op_list(struct node *n, const struct node_op *op)
{
	return op->kind == NODE_OP_WRITE ? &n->writes : &n->reads;
}

void node_op_add(struct node *n, struct node_op *op)
{
	struct node_op_list *l = op_list(n, op);
	bool was_idle = n->writes.head == NULL && n->reads.head == NULL;

	struct node_op *after = l->tail;

	op->deadline = now_ms() + n->cfg->request_timeout_ms;
	/* Writes wait in index order (plan_apply finishes them from the
	 * head): almost always at the tail; a membership change found in
	 * effect already waits for an earlier entry (node_member.c). */
	if (op->kind == NODE_OP_WRITE)
		while (after != NULL && after->index > op->index)
			after = after->prev;
	op->prev = after;
	op->next = after != NULL ? after->next : l->head;
	if (op->next != NULL)
		op->next->prev = op;
	else
		l->tail = op;
	if (after != NULL)
		after->next = op;
	else
		l->head = op;
	/* The timer sleeps until wake_at only while nothing can time out. */
	if (was_idle)
		pthread_cond_signal(&n->timer_cond);
}

void node_op_finish(struct node *n, struct step *s, struct node_op *op,
		    enum node_status st, enum sm_result res)
{
	struct node_op_list *l = op_list(n, op);

	if (op->prev != NULL)
		op->prev->next = op->next;
	else if (l->head == op)
		l->head = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
	else if (l->tail == op)
		l->tail = op->prev;
	op->prev = op->next = NULL;
	op->st = st;
	op->res = res;
	op->done_next = s->done;
	s->done = op;
}

/* The earliest deadline of a pending operation (lists are in start order,
 * and every deadline is start + request_timeout_ms). */
static uint64_t ops_deadline(const struct node *n)
{
	uint64_t d = UINT64_MAX;

	if (n->writes.head != NULL)
		d = n->writes.head->deadline;
	if (n->reads.head != NULL && n->reads.head->deadline < d)
		d = n->reads.head->deadline;
	return d;
}

static void ops_expire(struct node *n, struct step *s, uint64_t t)
{
	/* Appended but not known to be committed: the outcome is unknown
	 * and the client retries with the same tid (fault 2). */
	while (n->writes.head != NULL && n->writes.head->deadline <= t)
		node_op_finish(n, s, n->writes.head, NODE_TIMEOUT,
			       SM_RESULT_INVALID);
	while (n->reads.head != NULL && n->reads.head->deadline <= t)
		node_op_finish(n, s, n->reads.head, NODE_TIMEOUT,
			       SM_RESULT_INVALID);
}

/* Runs the copy-outs of reads that can be served (thesis §6.4: confirmed
 * for their index, and the state machine has applied up to it), and fails
 * the operations of a leadership that ended: a write appended in a term
 * this node no longer leads has an unknown outcome (fault 2); a read is
 * refused (fault 1, the client asks the new leader). */
static void ops_settle(struct node *n, struct step *s)
{
	uint64_t applied = sm_last_applied(n->sm);
	bool leading = raft_role(&n->raft) == RAFT_LEADER;
	uint64_t term = raft_term(&n->raft);
	struct node_op *op, *next;

	for (op = n->reads.head; op != NULL; op = next) {
		next = op->next;
		if (op->read_ok && applied >= op->read_index) {
			struct copy_clock cc;
			copy_start(&cc);
			op->copy(op->arg, n->sm);
			copy_end(n, &cc);
			node_op_finish(n, s, op, NODE_OK, SM_RESULT_TRUE);
		} else if (!leading || term != op->term) {
			node_op_finish(n, s, op, NODE_NOT_LEADER,
				       SM_RESULT_INVALID);
		}
	}
	/* Writes are started only while leading, and all of a leadership's
	 * fail together when it ends: the list holds one term's. */
	if (n->writes.head == NULL || (leading && n->writes.head->term == term))
		return;
	while (n->writes.head != NULL)
		node_op_finish(n, s, n->writes.head, NODE_TIMEOUT,
			       SM_RESULT_INVALID);
}

/* Completes the finished operations of s: no lock held. */
static void ops_complete(struct step *s)
{
	while (s->done != NULL) {
		struct node_op *op = s->done;

		s->done = op->done_next;
		if (op->kind == NODE_OP_WRITE)
			op->write_done(op->arg, op->st, op->res);
		else
			op->read_done(op->arg, op->st);
		free(op);
	}
}

/* ---- carrying out an update (n->lock held) ------------------------------- */

struct process_ctx {
	struct node *n;
	struct step *s;
};

static void step_hold(struct step *s, const struct raft_msg *m)
{
	if (s->n_held == s->cap_held) {
		s->cap_held = s->cap_held ? s->cap_held * 2 : 4;
		s->held = xrealloc(s->held, s->cap_held * sizeof(*s->held));
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

/* Plan steps 1-2: the hard state (written by node_flush), then the log
 * changes, in order: issued to the storage (write(2)), not yet synced. */
static void plan_write(void *arg, const struct raft_update *up)
{
	struct process_ctx *pc = arg;
	struct node *n = pc->n;
	struct raftlog_entry *batch;
	size_t i;
	int rv;

	if (up->hs_changed) {
		n->hs_gen++;
		n->hs_term = up->term;
		n->hs_vote = up->vote;
	}
	/* A snapshot from the leader replaces the log's start (and the
	 * state machine) before this update's other log changes. */
	if (up->snapshot_index)
		node_snap_install(n, up->snapshot_index, up->snapshot_term);
	if (up->truncate_from) {
		rv = storage_truncate(n->st, up->truncate_from);
		if (rv != STORAGE_OK)
			node_fatal("raftlog truncate", rv);
	}
	if (up->n_append) {
		batch = xcalloc(up->n_append, sizeof(*batch));
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
		free(batch);
	}
	if (up->n_append || up->truncate_from)
		pthread_cond_broadcast(&n->log_cond);
}

/* Plan step 3: the answer to the peer request being handled stays in the
 * step (its caller returns it once node_flush made every write durable);
 * what may leave now goes to the peers' queues; the rest is held. */
static void plan_send(void *arg, const struct raft_msg *m, bool after_writes)
{
	struct process_ctx *pc = arg;
	struct step *s = pc->s;
	struct raft_msg copy;

	if (m->type == RAFT_MSG_VOTE_RESP || m->type == RAFT_MSG_APPEND_RESP ||
	    m->type == RAFT_MSG_SNAPSHOT_RESP) {
		/* An answer travels only as the reply to its request (the
		 * peer methods take requests alone); one with no request to
		 * ride on is dropped, as the network may drop any message. */
		if (s->reply_to != 0 && m->to == s->reply_to && !s->has_reply) {
			raft_msg_copy(&s->reply, m);
			s->has_reply = true;
		}
	} else if (!after_writes) {
		raft_msg_copy(&copy, m);
		peers_send(pc->n->peers, &copy);
	} else {
		step_hold(s, m);
	}
}

/* Plan step 4: apply, finish the writes whose entries applied, and leave
 * a COMMIT marker now and then for the log checker (advisory; it rides on
 * the next fsync). */
static void plan_apply(void *arg, uint64_t commit)
{
	struct process_ctx *pc = arg;
	struct node *n = pc->n;
	uint64_t i, t;
	int rv;

	if (commit <= sm_last_applied(n->sm))
		return;
	for (i = sm_last_applied(n->sm) + 1; i <= commit; i++) {
		const struct raft_entry *e = raft_entry_at(&n->raft, i);
		enum sm_result res = SM_RESULT_INVALID;

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
			log_error("entry %llu: apply: %s",
				  (unsigned long long)i, sm_strerror(rv));
		/* Writes wait in index order.  One whose entry was replaced
		 * by another leader's is lost: outcome unknown to its
		 * client, which retries with its tid. */
		while (n->writes.head != NULL && n->writes.head->index <= i) {
			struct node_op *op = n->writes.head;
			if (op->index == i && op->term == e->term)
				node_op_finish(n, pc->s, op, NODE_OK, res);
			else
				node_op_finish(n, pc->s, op, NODE_TIMEOUT,
					       SM_RESULT_INVALID);
		}
	}
	node_snap_maybe(n);
	t = now_ms();
	if (t >= n->last_marker_ms + COMMIT_MARKER_MS &&
	    commit > n->marker_commit && commit <= storage_last_index(n->st)) {
		rv = storage_append_commit(n->st, commit, &n->last_ticket);
		if (rv != STORAGE_OK)
			node_fatal("raftlog commit marker", rv);
		n->last_marker_ms = t;
		n->marker_commit = commit;
	}
}

/* Plan step 5: a read confirmed (or failed) by the core. */
static void plan_read(void *arg, uint64_t id, uint64_t index, bool ok)
{
	struct process_ctx *pc = arg;
	struct node_op *op;

	for (op = pc->n->reads.head; op != NULL; op = op->next) {
		if (op->read_id != id)
			continue;
		if (ok) {
			op->read_ok = true;
			op->read_index = index;
		} else {
			node_op_finish(pc->n, pc->s, op, NODE_NOT_LEADER,
				       SM_RESULT_INVALID);
		}
		return;
	}
}

/* Plan step 6. */
static void plan_wake(void *arg, uint64_t at)
{
	struct process_ctx *pc = arg;

	if (at != pc->n->wake_at) {
		pc->n->wake_at = at;
		pthread_cond_signal(&pc->n->timer_cond);
	}
}

static const struct raft_plan_ops plan_ops = {
    .write = plan_write,
    .send = plan_send,
    .apply = plan_apply,
    .read = plan_read,
    .wake = plan_wake,
};

static void node_process(struct node *n, struct step *s)
{
	const struct raft_update *up = raft_update_take(&n->raft);
	struct process_ctx pc = {.n = n, .s = s};

	/* The state first: a trace line such as "candidate -> leader" is
	 * stamped with the term and role it led to. */
	log_set_state(up->term, raft_role_name(up->role));
	if (up->trace[0])
		log_trace(up->trace);
	/* Membership (thesis §4.1): the transport follows the configuration
	 * in force first, so that this update's messages to a new member
	 * find its peer. */
	if (up->conf_changed)
		node_conf_changed(n);
	raft_plan_run(up, &plan_ops, &pc);
	ops_settle(n, s);
	/* What node_flush must make durable before the held messages and
	 * the reply leave: everything issued so far, by any thread. */
	s->hs_gen = n->hs_gen;
	s->ticket = n->last_ticket;
}

/* ---- durability and sending (n->lock NOT held) ----------------------------
 */

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

void step_clear(struct step *s)
{
	size_t i;

	for (i = 0; i < s->n_held; i++)
		raft_msg_free(&s->held[i]);
	free(s->held);
	if (s->has_reply)
		raft_msg_free(&s->reply);
	memset(s, 0, sizeof(*s));
}

static int persisted_event(struct node *n, struct step *s, void *arg)
{
	const struct storage_sync_result *res = arg;

	raft_persisted(&n->raft, now_ms(), res->index, res->term);
	s->event = true;
	return 0;
}

/* Makes the step's writes durable, sends what waited for that, and tells
 * the core what is now persisted (which may commit, finish operations and
 * start another round).  The answer to a peer request stays in s. */
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
			 * covered), so client threads do not all wake up and
			 * take n->lock for each group commit. */
			if (s->n_held == 0 && !s->has_reply)
				rv =
				    storage_sync_nowait(n->st, s->ticket, &res);
			else
				rv =
				    storage_sync_report(n->st, s->ticket, &res);
			if (rv != STORAGE_OK)
				node_fatal("raftlog fdatasync", rv);
		}
		for (i = 0; i < s->n_held; i++)
			peers_send(n->peers, &s->held[i]);
		s->n_held = 0;
		/* raft_persisted() tolerates a report for entries since
		 * overwritten (it checks the term at that index). */
		if (!res.ran || res.index == 0)
			return;

		memset(&next, 0, sizeof(next));
		pthread_mutex_lock(&n->lock);
		persisted_event(n, &next, &res);
		node_process(n, &next);
		pthread_mutex_unlock(&n->lock);
		s->hs_gen = next.hs_gen;
		s->ticket = next.ticket;
		free(s->held);
		s->held = next.held;
		s->n_held = next.n_held;
		s->cap_held = next.cap_held;
		/* Its finished operations are completed with ours. */
		while (next.done != NULL) {
			struct node_op *op = next.done;
			next.done = op->done_next;
			op->done_next = s->done;
			s->done = op;
		}
	}
}

int node_run(struct node *n, struct step *s, node_event_fn fn, void *arg)
{
	int rv;

	pthread_mutex_lock(&n->lock);
	rv = fn(n, s, arg);
	if (s->event)
		node_process(n, s);
	pthread_mutex_unlock(&n->lock);
	node_flush(n, s);
	ops_complete(s);
	return rv;
}

/* ---- the timer thread and the peers' answers ------------------------------
 */

static int tick_event(struct node *n, struct step *s, void *arg)
{
	uint64_t t = now_ms();

	if (n->stopping)
		return 0;
	if (t >= n->wake_at) {
		raft_tick(&n->raft, t);
		s->event = true;
	}
	ops_expire(n, s, t);
	return 0;
}

void *node_timer_main(void *arg)
{
	struct node *n = arg;
	struct timespec ts;

	pthread_mutex_lock(&n->lock);
	while (!n->stopping) {
		uint64_t t = now_ms(), next = n->wake_at;
		if (ops_deadline(n) < next)
			next = ops_deadline(n);
		if (t >= next) {
			struct step s;
			memset(&s, 0, sizeof(s));
			pthread_mutex_unlock(&n->lock);
			node_run(n, &s, tick_event, NULL);
			step_clear(&s);
			pthread_mutex_lock(&n->lock);
			continue;
		}
		abstime_ms(&ts, next);
		pthread_cond_timedwait(&n->timer_cond, &n->lock, &ts);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

static int reply_event(struct node *n, struct step *s, void *arg)
{
	const struct raft_msg *m = arg;
	uint64_t now = now_ms();

	if (n->stopping)
		return 0;
	node_heard(n, m->from, now);
	/* A refused answer is traced by the core (rate-limited). */
	raft_recv(&n->raft, now, m);
	s->event = true;
	return 0;
}

void node_on_reply(void *arg, const struct raft_msg *reply)
{
	struct node *n = arg;
	struct step s;

	memset(&s, 0, sizeof(s));
	node_run(n, &s, reply_event, (void *)reply);
	step_clear(&s);
}
