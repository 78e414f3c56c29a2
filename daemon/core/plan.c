/* plan.c: carrying out a raft_update in raft.h's order (plan.h). */
#include "core/plan.h"

#include <stddef.h>

bool raft_plan_after_writes(const struct raft_msg *m)
{
	/* raft.h, step 3: a message may leave only once the hard state and
	 * the log writes of its update and of all earlier ones are durable
	 * (a vote must be recorded before it is granted, §5.2; an
	 * acknowledgement must be on disk before the leader counts it,
	 * §5.3; an installed snapshot before it is acknowledged, §7), except
	 * a leader's AppendEntries, which may overlap the leader's own write
	 * (thesis §10.2.1). */
	return m->type != RAFT_MSG_APPEND;
}

void raft_plan_run(const struct raft_update *up,
		   const struct raft_plan_ops *ops, void *ctx)
{
	size_t i;

	if (ops->write != NULL)
		ops->write(ctx, up);
	if (ops->send != NULL)
		for (i = 0; i < up->n_msgs; i++)
			ops->send(ctx, &up->msgs[i],
				  raft_plan_after_writes(&up->msgs[i]));
	if (ops->apply != NULL)
		ops->apply(ctx, up->commit_index);
	if (ops->read != NULL) {
		for (i = 0; i < up->n_reads; i++)
			ops->read(ctx, up->reads[i].id, up->reads[i].index,
				  true);
		for (i = 0; i < up->n_reads_failed; i++)
			ops->read(ctx, up->reads_failed[i], 0, false);
	}
	if (ops->wake != NULL)
		ops->wake(ctx, up->wake_at);
}
