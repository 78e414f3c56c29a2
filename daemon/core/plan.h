/* plan.h: how a caller carries out a raft_update, in the one order that is
 * safe (raft.h), shared by raftd's shell and the simulation so that the
 * simulation's invariants check the very ordering the daemon runs.
 *
 * raft_plan_run() walks an update and calls the caller's operations:
 *
 *   1-2. write   issue the hard state, the install of a snapshot
 *                (`snapshot_index`: make the snapshot received from the
 *                leader the latest, make the stored log start after it,
 *                load the state machine from it), the truncation and the
 *                appends, if any, in that order (called for every update,
 *                so that a caller can check the update here); the caller
 *                makes them durable in the background, in issue order
 *                (group commit is the caller's business);
 *   3.   send    each message, with `after_writes` set for those that may
 *                leave only once every write issued so far is durable:
 *                all but a leader's AppendEntries requests, which go out
 *                in parallel with the leader's own write (thesis §10.2.1;
 *                the leader counts itself towards a commit only for what
 *                raft_persisted() reported).  So InstallSnapshot's answer
 *                leaves once the install is durable, and a snapshot
 *                request once the snapshot it names is (a node that
 *                installed one and then leads may name it at once);
 *   4.   apply   the state machine up to the commit index;
 *   5.   read    each confirmed read (serve once applied >= index) and
 *                each failed one;
 *   6.   wake    call raft_tick() again by then.
 *
 * Pure, like the core: no clock, no I/O, no allocation. */
#ifndef RAFT_CORE_PLAN_H
#define RAFT_CORE_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/raft.h"

struct raft_plan_ops {
	void (*write)(void *ctx, const struct raft_update *up);
	void (*send)(void *ctx, const struct raft_msg *m, bool after_writes);
	void (*apply)(void *ctx, uint64_t commit_index);
	/* ok: confirmed for `index`; !ok: will never be served. */
	void (*read)(void *ctx, uint64_t id, uint64_t index, bool ok);
	void (*wake)(void *ctx, uint64_t at);
};

/* Whether m may leave only after every write issued so far is durable. */
bool raft_plan_after_writes(const struct raft_msg *m);

/* Calls ops on `up` in the order above.  An operation may be NULL (the
 * caller has nothing to do for it).  `up` is only read. */
void raft_plan_run(const struct raft_update *up,
		   const struct raft_plan_ops *ops, void *ctx);

#endif /* RAFT_CORE_PLAN_H */
