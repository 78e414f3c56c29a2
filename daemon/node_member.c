/* node_member.c: membership changes and leadership transfer in the shell
 * (docs/DESIGN.md, "Membership"): the addresses of the current
 * configuration's members, keeping the transport in step with it, and the
 * operator's calls (members, addMember, removeMember, transferLeader).
 *
 * The configuration itself lives in the core (raft_conf(): the latest in
 * the log, in effect on append, thesis §4.1) and in snapshots.  Its
 * entries carry every member's addresses; the bootstrap configuration has
 * none, and its members' addresses come from the config file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ident.h"
#include "log.h"
#include "node_impl.h"
#include "peer.h"
#include "xalloc.h"

/* A member's client and peer addresses; n->lock held. */
void node_member_addresses(struct node *n, const struct raft_member *m,
			   const char **address, const char **peer_address)
{
	const struct config_node *cn = config_node_by_id(n->cfg, m->id);

	*address = m->address;
	*peer_address = m->peer_address;
	if (m->address[0] == '\0')
		*address = cn ? cn->address
			   : m->id == n->id && n->ident.address[0]
			       ? n->ident.address
			       : "";
	if (m->peer_address[0] == '\0')
		*peer_address = cn ? cn->peer_address : "";
}

/* The client address of node `id` in the current configuration (or the
 * config file, or this node's own), "" if unknown; n->lock held. */
const char *node_address_of(struct node *n, uint32_t id)
{
	const struct raft_member *m = raft_conf_member(raft_conf(&n->raft), id);
	const struct config_node *cn;
	const char *a, *pa;

	if (m != NULL) {
		node_member_addresses(n, m, &a, &pa);
		return a;
	}
	if (id == n->id && n->ident.address[0])
		return n->ident.address;
	cn = config_node_by_id(n->cfg, id);
	return cn ? cn->address : "";
}

/* The configuration changed (or the node starts): peers for the members,
 * the members' incarnations, the peer listener's accept list.  n->lock
 * held; nothing here waits for another thread. */
void node_conf_changed(struct node *n)
{
	const struct raft_conf *c = raft_conf(&n->raft);
	struct peers_member pm[RAFT_MAX_NODES];
	uint32_t ids[RAFT_MAX_NODES];
	uint64_t incs[RAFT_MAX_NODES];
	uint32_t i;

	for (i = 0; i < c->n; i++) {
		const char *a;
		node_member_addresses(n, &c->m[i], &a, &pm[i].peer_address);
		pm[i].id = c->m[i].id;
		ids[i] = c->m[i].id;
		incs[i] = c->m[i].incarnation;
	}
	if (n->peers != NULL)
		peers_update(n->peers, pm, c->n);
	/* A member removed may come back with a new data directory. */
	if (n->idpeers != NULL)
		ident_peers_keep(n->idpeers, ids, incs, c->n);
	if (n->conf_hook != NULL)
		n->conf_hook(n->conf_hook_arg, c);
	if (raft_conf_member(c, n->id) == NULL && n->was_member)
		log_warn("this node is no longer a member of the cluster's "
			 "configuration: stop it (it will not campaign)");
	n->was_member = raft_conf_member(c, n->id) != NULL;
}

void node_set_conf_hook(struct node *n, node_conf_fn fn, void *arg)
{
	pthread_mutex_lock(&n->lock);
	n->conf_hook = fn;
	n->conf_hook_arg = arg;
	if (fn != NULL)
		fn(arg, raft_conf(&n->raft));
	pthread_mutex_unlock(&n->lock);
}

void node_members(struct node *n, struct node_member_info *out, size_t *count)
{
	const struct raft_conf *c;
	uint32_t i;

	pthread_mutex_lock(&n->lock);
	c = raft_conf(&n->raft);
	for (i = 0; i < c->n; i++) {
		const char *a, *pa;
		node_member_addresses(n, &c->m[i], &a, &pa);
		out[i].id = c->m[i].id;
		out[i].voter = (c->m[i].flags & RAFT_MEMBER_VOTER) != 0;
		out[i].promote = (c->m[i].flags & RAFT_MEMBER_PROMOTE) != 0;
		snprintf(out[i].address, sizeof(out[i].address), "%s", a);
		snprintf(out[i].peer_address, sizeof(out[i].peer_address), "%s",
			 pa);
		out[i].leader = raft_leader(&n->raft) == c->m[i].id;
		out[i].match = raft_match_index(&n->raft, c->m[i].id);
	}
	*count = c->n;
	pthread_mutex_unlock(&n->lock);
}

/* ---- changes --------------------------------------------------------------
 * A change is proposed like a write (an operation waiting for its entry to
 * be applied) and the caller's thread waits for it: these are operator's
 * calls, rare, and bounded by request_timeout_ms. */

struct sync_wait {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool done;
	enum node_status st;
};

static void sync_done(void *arg, enum node_status st, enum sm_result res)
{
	struct sync_wait *w = arg;

	(void)res;
	pthread_mutex_lock(&w->mu);
	w->done = true;
	w->st = st;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

struct change_args {
	struct node_op *op;
	const struct node_member_change *ch;
	int rv;	   /* the core's answer */
	char *err; /* for a refusal made here */
	size_t errlen;
};

/* The change asked for is the configuration in force already (a retry):
 * done once that configuration is committed, which it may not be yet (a
 * leader change can still drop it). */
static void in_effect(struct node *n, struct step *s, struct node_op *op)
{
	uint64_t at = raft_conf_index(&n->raft);

	if (at <= raft_commit_index(&n->raft)) {
		node_op_finish(n, s, op, NODE_OK, SM_RESULT_INVALID);
		return;
	}
	op->index = at;
	op->term = raft_term_at(&n->raft, at);
	node_op_add(n, op);
}

static int change_event(struct node *n, struct step *s, void *arg)
{
	struct change_args *ca = arg;
	const struct node_member_change *ch = ca->ch;
	struct raft_conf c = *raft_conf(&n->raft);
	struct raft_member *m = NULL;
	uint64_t index, term;
	uint32_t i;

	if (n->stopping) {
		node_op_finish(n, s, ca->op, NODE_UNAVAILABLE,
			       SM_RESULT_INVALID);
		return 0;
	}
	if (raft_role(&n->raft) != RAFT_LEADER) {
		node_op_finish(n, s, ca->op, NODE_NOT_LEADER,
			       SM_RESULT_INVALID);
		return 0;
	}
	/* Every member's addresses are written into the new configuration
	 * (the bootstrap one has none: the config file's), so that a node
	 * that joins later knows them all. */
	for (i = 0; i < c.n; i++) {
		const char *a, *pa;
		node_member_addresses(n, &c.m[i], &a, &pa);
		/* (a and pa may be c's own strings: no overlapping copy) */
		if (a != c.m[i].address)
			snprintf(c.m[i].address, sizeof(c.m[i].address), "%s",
				 a);
		if (pa != c.m[i].peer_address)
			snprintf(c.m[i].peer_address,
				 sizeof(c.m[i].peer_address), "%s", pa);
		if (c.m[i].id == ch->id)
			m = &c.m[i];
	}
	switch (ch->kind) {
	case NODE_MEMBER_ADD:
		if (m != NULL) {
			if (strcmp(m->address, ch->address) != 0) {
				snprintf(ca->err, ca->errlen,
					 "node %u is a member already, at %s",
					 ch->id, m->address);
				ca->rv = RAFT_EINVAL;
				goto refused;
			}
			/* The same add again (a retry). */
			in_effect(n, s, ca->op);
			return 0;
		}
		if (c.n == RAFT_MAX_NODES) {
			snprintf(ca->err, ca->errlen,
				 "the configuration has %u members, the most "
				 "there can be",
				 (unsigned)RAFT_MAX_NODES);
			ca->rv = RAFT_EINVAL;
			goto refused;
		}
		m = &c.m[c.n++];
		memset(m, 0, sizeof(*m));
		m->id = ch->id;
		m->flags =
		    ch->voter_now ? RAFT_MEMBER_VOTER : RAFT_MEMBER_PROMOTE;
		m->incarnation = ch->incarnation;
		snprintf(m->address, sizeof(m->address), "%s", ch->address);
		snprintf(m->peer_address, sizeof(m->peer_address), "%s",
			 ch->peer_address);
		/* A node of the bootstrap list coming back (removed, its
		 * disk replaced, added again) at the same address keeps the
		 * peer address the config file gives it. */
		{
			const struct config_node *cn =
			    config_node_by_id(n->cfg, ch->id);
			if (cn != NULL && !ch->peer_given &&
			    strcmp(cn->address, ch->address) == 0)
				snprintf(m->peer_address,
					 sizeof(m->peer_address), "%s",
					 cn->peer_address);
		}
		raft_conf_sort(&c);
		break;
	case NODE_MEMBER_REMOVE:
		if (m == NULL) {
			in_effect(n, s, ca->op);
			return 0;
		}
		*m = c.m[c.n - 1];
		c.n--;
		raft_conf_sort(&c);
		break;
	}
	ca->rv = raft_propose_conf(&n->raft, now_ms(), &c, &index, &term);
	s->event = true;
	if (ca->rv == RAFT_ENOCHANGE) {
		in_effect(n, s, ca->op);
		return 0;
	}
	if (ca->rv != RAFT_OK) {
		snprintf(ca->err, ca->errlen, "%s",
			 ca->rv == RAFT_EINVAL && ch->kind == NODE_MEMBER_REMOVE
			     ? "the configuration would have no voter left"
			     : raft_strerror(ca->rv));
		goto refused;
	}
	log_info("configuration change proposed at %llu: %s node %u%s%s",
		 (unsigned long long)index,
		 ch->kind == NODE_MEMBER_ADD ? "add" : "remove", ch->id,
		 ch->kind == NODE_MEMBER_ADD ? " at " : "",
		 ch->kind == NODE_MEMBER_ADD ? ch->address : "");
	ca->op->index = index;
	ca->op->term = term;
	node_op_add(n, ca->op);
	return 0;
refused:
	node_op_finish(n, s, ca->op,
		       ca->rv == RAFT_EBUSY ? NODE_UNAVAILABLE : NODE_INVALID,
		       SM_RESULT_INVALID);
	return 0;
}

static void wait_until(struct sync_wait *w, uint64_t deadline_ms)
{
	struct timespec ts;

	pthread_mutex_lock(&w->mu);
	abstime_ms(&ts, deadline_ms);
	while (!w->done)
		if (pthread_cond_timedwait(&w->cond, &w->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&w->mu);
}

enum node_status node_member_change(struct node *n,
				    const struct node_member_change *ch,
				    char *err, size_t errlen)
{
	struct sync_wait w = {.done = false, .st = NODE_TIMEOUT};
	struct change_args ca = {.ch = ch, .err = err, .errlen = errlen};
	struct step s;
	enum node_status st;

	err[0] = '\0';
	pthread_mutex_init(&w.mu, NULL);
	pthread_condattr_t ca_attr;
	pthread_condattr_init(&ca_attr);
	pthread_condattr_setclock(&ca_attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &ca_attr);
	pthread_condattr_destroy(&ca_attr);
	ca.op = xcalloc(1, sizeof(*ca.op));
	ca.op->kind = NODE_OP_WRITE;
	ca.op->write_done = sync_done;
	ca.op->arg = &w;
	memset(&s, 0, sizeof(s));
	node_run(n, &s, change_event, &ca);
	step_clear(&s);
	/* The operation's own deadline (request_timeout_ms) ends it; the
	 * extra second only covers the timer thread's delay. */
	wait_until(&w, now_ms() + n->cfg->request_timeout_ms + 1000);
	pthread_mutex_lock(&w.mu);
	st = w.done ? w.st : NODE_TIMEOUT;
	while (!w.done) /* the op still points at w: wait for its end */
		pthread_cond_wait(&w.cond, &w.mu);
	pthread_mutex_unlock(&w.mu);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.mu);
	if (st == NODE_UNAVAILABLE && err[0] == '\0')
		snprintf(err, errlen, "shutting down");
	return st;
}

/* ---- leadership transfer (thesis §3.10) ---------------------------------- */

struct transfer_args {
	uint32_t to;
	int rv;
};

static int transfer_event(struct node *n, struct step *s, void *arg)
{
	struct transfer_args *ta = arg;

	(void)s;
	if (n->stopping) {
		ta->rv = RAFT_ESHUTDOWN;
		return 0;
	}
	ta->rv = raft_transfer(&n->raft, now_ms(), ta->to);
	s->event = true;
	if (ta->rv == RAFT_OK)
		ta->to = raft_transfer_target(&n->raft);
	return 0;
}

enum node_status node_transfer(struct node *n, uint32_t to, uint64_t timeout_ms,
			       uint32_t *leader, uint64_t *elapsed_us,
			       char *err, size_t errlen)
{
	struct transfer_args ta = {.to = to, .rv = 0};
	struct timespec t0, t1;
	struct step s;
	uint64_t deadline;

	/* The core gives the target an election timeout (election_max_ms):
	 * wait at least that, and the new leader's first round. */
	if (timeout_ms < 2 * (uint64_t)n->cfg->election_max_ms)
		timeout_ms = 2 * (uint64_t)n->cfg->election_max_ms;
	deadline = now_ms() + timeout_ms;
	enum node_status st = NODE_TIMEOUT;

	*leader = 0;
	*elapsed_us = 0;
	err[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&s, 0, sizeof(s));
	node_run(n, &s, transfer_event, &ta);
	step_clear(&s);
	switch (ta.rv) {
	case RAFT_OK:
		break;
	case RAFT_ENOTLEADER:
		return NODE_NOT_LEADER;
	case RAFT_ESHUTDOWN:
		snprintf(err, errlen, "shutting down");
		return NODE_UNAVAILABLE;
	case RAFT_EBUSY:
		snprintf(err, errlen, "%s",
			 "a transfer is under way, or no other voter");
		return NODE_UNAVAILABLE;
	default:
		snprintf(err, errlen, "node %u is not another voter", to);
		return NODE_INVALID;
	}
	/* Done when this node no longer leads and knows who does; failed
	 * when it still leads with no transfer under way (timed out). */
	while (now_ms() < deadline) {
		struct timespec ts = {0, 1000000};
		uint32_t l;
		bool leading, moving;
		pthread_mutex_lock(&n->lock);
		l = raft_leader(&n->raft);
		leading = raft_role(&n->raft) == RAFT_LEADER;
		moving = raft_transfer_target(&n->raft) != 0;
		pthread_mutex_unlock(&n->lock);
		if (!leading && l != 0 && l != n->id) {
			*leader = l;
			st = NODE_OK;
			break;
		}
		if (leading && !moving) {
			snprintf(err, errlen,
				 "node %u did not take over within an "
				 "election timeout",
				 ta.to);
			st = NODE_UNAVAILABLE;
			break;
		}
		nanosleep(&ts, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*elapsed_us = (uint64_t)(((int64_t)t1.tv_sec - t0.tv_sec) * 1000000 +
				 ((int64_t)t1.tv_nsec - t0.tv_nsec) / 1000);
	if (st == NODE_TIMEOUT)
		snprintf(err, errlen, "no new leader within %llu ms",
			 (unsigned long long)timeout_ms);
	return st;
}
