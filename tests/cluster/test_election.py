# test_election.py: 1-, 3- and 5-node clusters elect exactly one leader that commits.
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster  # noqa: E402


def sample_leaders(ck, c, seconds):
    """Polls every node for `seconds` s: at no moment may two nodes claim
    leadership for the same term (election safety as seen from outside)."""
    deadline = time.monotonic() + seconds
    rounds = 0
    for _ in range(1000):
        if time.monotonic() >= deadline:
            break
        by_term = {}
        for nid, st in c.statuses().items():
            if st["state"] == "leader":
                by_term.setdefault(st["term"], []).append(nid)
        for term, ls in by_term.items():
            ck.check(len(ls) == 1, "term %d has leaders %s" % (term, ls))
        rounds += 1
    return rounds


def check_cluster(ck, n):
    c = Cluster(n, name="election%d" % n)
    lid, term = c.stable_leader(timeout=10)
    ck.check(term >= 1, "%d nodes: term %d >= 1" % (n, term))
    flags = {nid: c.client(nid).isLeader() for nid in c.ids()}
    ck.eq([nid for nid, f in flags.items() if f], [lid],
          "%d nodes: the nodes whose isLeader() is true" % n)
    for nid, f in flags.items():
        ck.check(f is (nid == lid), "%d nodes: isLeader() of node %d is the "
                 "boolean %s" % (n, nid, nid == lid))
    sts = c.statuses()
    for nid, st in sts.items():
        ck.eq(st["leader"], lid, "%d nodes: node %d's leader" % (n, nid))
        ck.eq(st["term"], term, "%d nodes: node %d's term" % (n, nid))
        ck.eq(st["leaderAddress"], c.address(lid),
              "%d nodes: node %d's leaderAddress" % (n, nid))
        ck.eq(st["state"], "leader" if nid == lid else "follower",
              "%d nodes: node %d's state" % (n, nid))
    ck.eq(c.leader(), lid, "%d nodes: leader() helper" % n)
    rounds = sample_leaders(ck, c, 1.0)
    ck.check(rounds > 0, "%d nodes: sampled the leaders" % n)

    # The leader commits alone (n = 1) or with a majority.
    ck.eq(c.client(lid).put("k%d" % n, "v%d" % n), True,
          "%d nodes: put on the leader" % n)
    ck.eq(c.client(lid).get("k%d" % n), "v%d" % n,
          "%d nodes: get after put" % n)
    idx = c.wait_caught_up(timeout=10)
    ck.check(idx >= 2, "%d nodes: every node applied the put (index %d)" %
             (n, idx))
    # Still one leader, same term: a stable cluster does not re-elect.
    lid2, term2 = c.stable_leader(timeout=5)
    ck.eq((lid2, term2), (lid, term), "%d nodes: leader and term after "
          "the write" % n)
    ck.note("%d nodes: node %d leads term %d, put committed at index %d" %
            (n, lid, term, idx))
    c.finish(ck)


def main(ck):
    check_cluster(ck, 3)
    check_cluster(ck, 1)
    check_cluster(ck, 5)


harness.run(main)
