# test_election.py: 1-, 3- and 5-node clusters elect exactly one leader that commits.
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster  # noqa: E402


def sample_leaders(ck, c, seconds):
    """Polls every node for `seconds` s: at no moment may two nodes claim
    leadership for the same term (election safety as seen from outside).
    Returns how many rounds it sampled."""
    deadline = time.monotonic() + seconds
    rounds = 0
    bad = []
    leaders = {}  # term -> the set of nodes seen leading it
    for _ in range(1000):
        if time.monotonic() >= deadline:
            break
        for nid, st in c.statuses().items():
            if st["state"] == "leader":
                leaders.setdefault(st["term"], set()).add(nid)
        rounds += 1
    bad = {t: sorted(ls) for t, ls in leaders.items() if len(ls) > 1}
    ck.check(not bad, "one leader per term over %d rounds (two or more: "
             "%s)" % (rounds, bad))
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
    rounds = sample_leaders(ck, c, 0.7)
    ck.check(rounds > 0, "%d nodes: sampled the leaders" % n)

    # The leader commits alone (n = 1) or with a majority.  (Through
    # call_with_retry: on a loaded machine leadership may move meanwhile.)
    ck.eq(c.call_with_retry("put", "k%d" % n, "v%d" % n, start=lid), True,
          "%d nodes: put on the leader" % n)
    ck.eq(c.call_with_retry("get", "k%d" % n, start=lid), "v%d" % n,
          "%d nodes: get after put" % n)
    idx = c.wait_caught_up(timeout=10)
    ck.check(idx >= 2, "%d nodes: every node applied the put (index %d)" %
             (n, idx))
    for nid, st in c.statuses().items():
        ck.check(st["lastApplied"] >= idx, "%d nodes: node %d applied up to "
                 "%d" % (n, nid, idx))
    ck.note("%d nodes: node %d leads term %d, put committed at index %d" %
            (n, lid, term, idx))
    c.finish(ck)


def main(ck):
    check_cluster(ck, 3)
    check_cluster(ck, 1)
    check_cluster(ck, 5)


rt.run(main)
