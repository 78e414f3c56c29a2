/* node_impl.h: the inside of a node, shared by node.c (lifecycle and the
 * public API) and driver.c (carrying out the core's updates).  No other
 * module includes it.
 *
 * DESIGN
 *
 * Threads
 *   - the RPC server's threads call the public API (node.h): writes and
 *     reads start an operation (struct node_op) and return; peer
 *     messages are handled and answered in the caller's thread;
 *   - the timer thread calls raft_tick() when the core asked to be woken,
 *     and fails operations past their deadline;
 *   - the peer transport's sender threads (peer.c) hand answers in through
 *     node_on_reply().
 *   Each of them runs a core event through node_run() (driver.c), which
 *   completes the operations the event finished once every lock is
 *   released.
 *
 * Locks, in the order they may be taken:
 *   n->recv_lock  the snapshot being received from the leader (its file
 *               is written under it, chunk by chunk; node_snap.c);
 *   n->hs_lock  serialises writes of the term/vote file;
 *   n->lock     the core, the state machine, the operations, wake_at, the
 *               hard state to write, `stopping`;
 *   a peer's lock (peer.c), the storage's mutex (storage.c) and
 *   peerauth's, all leaves.
 *
 * Every core event runs under n->lock and ends in node_process(), which
 * carries out the update by the plan all callers share (core/plan.h):
 * hands log writes to the storage (write(2) only), sends what may leave
 * now, holds the rest, applies what became committed and finishes the
 * operations that are done.  The fdatasync of those writes (shared between
 * threads: group commit) and the sending of the held messages happen in
 * node_flush(), WITHOUT n->lock.  No lock is held across an RPC or an
 * fsync, with one exception: a follower truncating a conflicting suffix
 * (storage_truncate syncs before returning, which keeps the file's record
 * order simple; it happens at most once per leader change), and two
 * rare steps of snapshots (node_snap.c): renaming a finished snapshot file
 * into place (a rename and a directory fsync, so that a snapshot another
 * thread installs cannot be overtaken by an older one), and a follower
 * installing the leader's snapshot (its log is rewritten in the same
 * update, before anything after it).
 */
#ifndef RAFTD_NODE_IMPL_H
#define RAFTD_NODE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/raft.h"
#include "ident.h"
#include "node.h"

struct peers;
struct storage;

#define BATCH_ENTRIES 1000
#define BATCH_BYTES (1024u * 1024u)

enum node_op_kind { NODE_OP_WRITE, NODE_OP_READ };

/* A client operation in progress.  Heap-allocated by node_write() /
 * node_read(); freed by the driver after its completion ran. */
struct node_op {
	struct node_op *prev, *next; /* in n->writes or n->reads [n->lock] */
	struct node_op *done_next;   /* in a step's done list */
	enum node_op_kind kind;
	uint64_t term;	   /* the leader's term when it started */
	uint64_t deadline; /* now_ms() by which it fails with a timeout */
	void *arg;
	/* NODE_OP_WRITE */
	uint64_t index; /* the proposed entry (of `term`) */
	node_write_fn write_done;
	/* NODE_OP_READ */
	uint64_t read_id;
	bool read_ok;	     /* confirmed by a heartbeat round for... */
	uint64_t read_index; /* ...this index: serve once applied */
	node_copy_fn copy;
	node_read_fn read_done;
	/* the outcome, once done */
	enum node_status st;
	enum sm_result res;
};

/* A list of operations, oldest first. */
struct node_op_list {
	struct node_op *head, *tail;
};

/* What one event left to do outside n->lock: writes to make durable,
 * messages held until then, the answer to a peer request, operations to
 * complete.  Owned by the thread running the event. */
struct step {
	bool event; /* a core event ran: its update must be carried out */
	uint64_t hs_gen;
	uint64_t ticket;
	struct raft_msg *held;
	size_t n_held, cap_held;
	uint32_t reply_to; /* a peer request's sender: its answer... */
	bool has_reply;
	struct raft_msg reply; /* ...kept here, not sent */
	struct node_op *done;  /* finished operations, to complete */
};

struct node {
	const struct config *cfg; /* read-only */
	uint32_t id;		  /* read-only */

	pthread_mutex_t lock;
	pthread_condattr_t cond_attr; /* CLOCK_MONOTONIC */
	pthread_cond_t timer_cond;  /* wake_at or a deadline moved; stopping */
	pthread_cond_t log_cond;    /* the log grew or was cut; stopping */
	struct raft raft;	    /* [lock] */
	struct sm *sm;		    /* [lock] */
	struct storage *st;	    /* thread-safe (its own mutex) */
	struct node_op_list writes; /* [lock] in index order */
	struct node_op_list reads;  /* [lock] in start order */
	uint64_t wake_at;	    /* [lock] */
	uint64_t next_read_id;	    /* [lock] */
	uint64_t last_ticket;	    /* [lock] highest storage ticket */
	uint64_t last_marker_ms;    /* [lock] last COMMIT marker written */
	uint64_t marker_commit;	    /* [lock] */
	bool stopping;		    /* [lock] */
	uint64_t hs_gen;	    /* [lock] hard state to write: */
	uint64_t hs_term;	    /* [lock]   generation and value */
	uint32_t hs_vote;	    /* [lock] */

	pthread_mutex_t hs_lock;
	_Atomic uint64_t hs_done_gen;

	_Atomic uint64_t appends_received;
	uint64_t start_ms; /* read-only: now_ms() at node_start() */
	/* When each peer last answered an RPC of ours (status()'s
	 * lastContactMs), by id; a slot of id 0 is free [lock]. */
	struct {
		uint32_t id;
		uint64_t ms;
	} heard[RAFT_MAX_NODES];
	/* The longest copy-out by a reader under the lock: wall time (what
	 * the other threads waited) and the thread's CPU time (what the copy
	 * costs, without the time the scheduler ran others). */
	_Atomic uint64_t read_copy_ns_max, read_copy_cpu_ns_max;

	struct peerauth *auth; /* thread-safe */
	struct peers *peers;   /* thread-safe */

	/* ---- membership (node_member.c) ---- */
	struct ident ident;	     /* read-only */
	struct ident_peers *idpeers; /* thread-safe */
	node_conf_fn conf_hook;	     /* [lock] */
	void *conf_hook_arg;	     /* [lock] */
	bool was_member;	     /* [lock] */

	pthread_t timer;
	bool timer_started;

	/* ---- snapshots (node_snap.c) ---- */
	char *data_dir;		    /* read-only */
	char *snap_path;	    /* read-only: data_dir/snapshot */
	pthread_t snap_thread;	    /* takes snapshots, compacts the log */
	bool snap_started;	    /* [lock] the snapshot thread runs */
	pthread_cond_t snap_cond;   /* [lock] snap_wanted set; stopping */
	pthread_cond_t snap_done;   /* [lock] a snapshot job ended */
	bool snap_wanted;	    /* [lock] take one when the thread can */
	bool snap_busy;		    /* [lock] a job runs */
	pid_t snap_pid;		    /* [lock] its writer child, 0: none */
	uint64_t snap_jobs;	    /* [lock] jobs ended (taken or failed) */
	uint64_t snap_taken;	    /* [lock] snapshots taken here */
	uint64_t snap_installed;    /* [lock] installed from the leader */
	uint64_t snap_bytes;	    /* [lock] size of the current file */
	uint64_t snap_pause_ns_max; /* [lock] longest pause (copy or fork) */
	uint64_t snap_pause_ns_last;
	uint64_t snap_write_ms_last; /* [lock] the child's run, last job */
	char snap_error[256];	     /* [lock] last failure, "" if none */
	/* The leader's snapshot, received and loaded, waiting for the core
	 * to accept it (RAFT_MSG_SNAPSHOT) [lock]. */
	struct sm *install_sm;
	uint64_t install_index, install_term, install_bytes;
	/* What is being received [recv_lock]. */
	pthread_mutex_t recv_lock;
	int recv_fd; /* -1: nothing */
	uint32_t recv_from;
	uint64_t recv_term, recv_index, recv_sterm, recv_total, recv_got;
};

/* ---- driver.c ---------------------------------------------------------- */

uint64_t now_ms(void);
uint64_t wall_ms(void);

/* Records that peer `id` answered at `ms` (n->lock held). */
void node_heard(struct node *n, uint32_t id, uint64_t ms);
void abstime_ms(struct timespec *ts, uint64_t at_ms);

/* An event: runs under n->lock.  It calls at most one raft_*() event and
 * then sets s->event (so that its update is carried out), and may finish
 * operations (node_op_finish).  Its return value is node_run()'s. */
typedef int (*node_event_fn)(struct node *n, struct step *s, void *arg);

/* The one way the shell drives the core: takes n->lock, runs fn, carries
 * out its update (node_process), releases the lock, makes the writes
 * durable and sends what waited for them (node_flush, which may run more
 * events: raft_persisted), then completes the finished operations.  The
 * answer to a peer request, if s->reply_to was set, is left in s.  The
 * caller clears s with step_clear() afterwards. */
int node_run(struct node *n, struct step *s, node_event_fn fn, void *arg);
void step_clear(struct step *s);

/* Moves op out of its list into s's done list with status st (and result
 * res).  n->lock held. */
void node_op_finish(struct node *n, struct step *s, struct node_op *op,
		    enum node_status st, enum sm_result res);
/* Adds a started operation to its list, with its deadline.  n->lock held. */
void node_op_add(struct node *n, struct node_op *op);

/* The timer thread. */
void *node_timer_main(void *arg);
/* peers_reply_fn: an answer from a peer. */
void node_on_reply(void *arg, const struct raft_msg *reply);

/* ---- node_member.c ----------------------------------------------------- */

/* A member's addresses (the configuration's, else the config file's);
 * n->lock held. */
void node_member_addresses(struct node *n, const struct raft_member *m,
			   const char **address, const char **peer_address);
/* Node id's client address, "" if unknown; n->lock held. */
const char *node_address_of(struct node *n, uint32_t id);
/* Plan step 2 (n->lock held): the configuration changed. */
void node_conf_changed(struct node *n);

/* ---- node_snap.c ------------------------------------------------------- */

/* Start-up: loads the snapshot (if any) into n->sm and the core, and makes
 * the stored log fit it.  n->st open, the core initialised with its hard
 * state, no entry loaded yet.  0, or -1 with a message. */
int node_snap_load(struct node *n, uint64_t *s_index, uint64_t *s_term,
		   struct raft_conf *s_conf, char *err, size_t errlen);
int node_snap_start(struct node *n, char *err, size_t errlen);
void node_snap_stop(struct node *n);
/* Plan step 4 (n->lock held): asks for a snapshot when enough entries were
 * applied since the last one. */
void node_snap_maybe(struct node *n);
/* Plan step 2, first (n->lock held): the core installed a snapshot
 * (up->snapshot_index): make it this node's. */
void node_snap_install(struct node *n, uint64_t index, uint64_t term);
/* peers' callback: a snapshot could not be delivered to `to`. */
void node_on_snapshot_failed(void *arg, uint32_t to);

/* A copy-out's clocks (status() shows the longest). */
struct copy_clock {
	uint64_t wall, cpu;
};
void copy_start(struct copy_clock *c);
void copy_end(struct node *n, const struct copy_clock *c);

#endif /* RAFTD_NODE_IMPL_H */
