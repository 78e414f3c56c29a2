/* rogue.h: a rogue member for the simulation.  After every step of the
 * world it hands one node a forged message, drawn from its own seeded
 * stream, of a kind the core must refuse or that cannot break safety:
 *
 *   ROGUE_SECOND_LEADER  AppendEntries (or InstallSnapshot, or
 *                        TimeoutNow) of the target's own term, from a
 *                        member other than the leader the target knows
 *                        for that term (or to the leader itself), with
 *                        random prev, entries and commit: dropped (§5.2:
 *                        one leader per term).  Sent only when the
 *                        target knows its term's leader: a member that
 *                        claims a term whose leader the target has not
 *                        heard from yet is obeyed, as Raft must.
 *   ROGUE_OUT_OF_BOUNDS  one field out of raft_msg_check's bounds: a term
 *                        or index above 2^62 - 1, term 0, entry terms
 *                        0, decreasing, below prev_term or above the
 *                        message's term, an unknown entry type, an entry
 *                        too long, too many entries, a vote's last term
 *                        above its term, prev/last index and term that
 *                        disagree: refused.
 *   ROGUE_NEVER_SENT     answers to requests never sent: to a leader, an
 *                        AppendEntries answer of its term whose prev or
 *                        match is past its log or whose seq is past its
 *                        rounds (dropped); to a follower or leader, a
 *                        vote answer or an AppendEntries answer
 *                        (ignored: it asked for nothing).  Never a vote
 *                        answer to a (pre)candidate: that would be a
 *                        forged vote, which Raft cannot detect.
 *   ROGUE_TERM_JUMP      a well-formed message whose term is more than
 *                        RAFT_MAX_TERM_JUMP (2^32) above the target's:
 *                        refused.
 *   ROGUE_MISADDRESSED   a well-formed message to another node, from the
 *                        target itself, or from a non-member: refused;
 *                        except a leader's request (AppendEntries,
 *                        InstallSnapshot, TimeoutNow) from a non-member,
 *                        which is taken (thesis §4.1: a joining server
 *                        must accept a leader it does not know) and then
 *                        dropped as a second leader of the target's term,
 *                        or answered as a stale one (an older term; the
 *                        answer goes back to the sender, and nowhere
 *                        else changes anything).
 *
 * What it never sends: anything at a higher term within the jump bound
 * (a member may legitimately start a term), vote requests or votes in
 * the current term, and AppendEntries that claim a term whose leader the
 * target does not know.  Raft is not Byzantine fault tolerant: a member
 * holding the cluster secret can do those, and they can break safety.
 *
 * Each injection is checked on the spot: the verdict is the one expected
 * (refused, or taken), the target's term, vote, role, leader, commit,
 * log and known leader are unchanged, and it sends nothing.  The world's
 * invariants are checked after every step as always. */
#ifndef SIM_ROGUE_H
#define SIM_ROGUE_H

#include <stdint.h>

#include "world.h"

enum rogue_kind {
	ROGUE_SECOND_LEADER = 0,
	ROGUE_OUT_OF_BOUNDS,
	ROGUE_NEVER_SENT,
	ROGUE_TERM_JUMP,
	ROGUE_MISADDRESSED,
	ROGUE_KINDS
};

struct rogue {
	struct rng g;
	uint32_t ppm; /* chance per step of a forged message (1e6: always) */
	uint64_t sent[ROGUE_KINDS];
	uint64_t refused; /* raft_recv said RAFT_EINVAL */
	uint64_t dropped; /* taken, then dropped by Raft's rules (counted) */
	uint64_t ignored; /* taken and ignored (an answer nobody asked for) */
};

/* Arms w with rogue r (seeded by `seed`); it acts after every step with
 * probability ppm / 1e6 until rogue_detach(). */
void rogue_attach(struct world *w, struct rogue *r, uint64_t seed,
		  uint32_t ppm);
void rogue_detach(struct world *w);
/* One forged message to node `to` now (of a random kind). */
void rogue_send(struct world *w, struct rogue *r, uint32_t to);
uint64_t rogue_total(const struct rogue *r);

#endif /* SIM_ROGUE_H */
