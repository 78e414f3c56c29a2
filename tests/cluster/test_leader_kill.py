# test_leader_kill.py: after kill -9 of the leader a new one commits, and the old one catches up on restart.
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster  # noqa: E402


def main(ck):
    c = Cluster(3, name="leaderkill")
    old, term = c.stable_leader()
    cr = c.call_with_retry
    for i in range(10):
        ck.eq(cr("put", "before/%d" % i, "b%d" % i), True, "put before/%d" % i)
    ck.eq(cr("addEntry", "lk-1", "before the kill"), True, "addEntry lk-1")
    c.wait_caught_up()

    c.kill9(old)
    new, term2 = c.stable_leader(timeout=10)
    ck.check(new != old, "a new leader: %d (old %d)" % (new, old))
    ck.check(term2 > term, "the new term %d > %d" % (term2, term))
    for i in range(10):
        ck.eq(cr("put", "after/%d" % i, "a%d" % i, start=new), True,
              "put after/%d on the new leader" % i)
    ck.eq(cr("addEntry", "lk-2", "after the kill"), True, "addEntry lk-2")
    for i in range(10):
        ck.eq(cr("get", "before/%d" % i), "b%d" % i,
              "the new leader has before/%d" % i)
    ck.note("node %d killed in term %d; node %d leads term %d and commits" %
            (old, term, new, term2))

    # The old leader comes back as a follower and catches up.
    c.start(old)
    idx = c.wait_caught_up(timeout=15)
    lead = c.leader()
    lst = c.status(lead)
    ost = c.status(old)
    ck.check(ost["commitIndex"] >= lst["commitIndex"] and
             ost["lastApplied"] >= idx,
             "the old leader's commitIndex/lastApplied %d/%d reach the "
             "leader's %d" % (ost["commitIndex"], ost["lastApplied"], idx))
    ck.check(ost["state"] == "follower" or lead == old,
             "the old leader rejoined as %s" % ost["state"])
    ck.eq(ost["term"], lst["term"], "the old leader has the current term")
    want = [(e["index"], e["term"], e["tid"], e["data"])
            for e in c.client(lead).showLog(1, 100000)]
    got = [(e["index"], e["term"], e["tid"], e["data"])
           for e in c.client(old).showLog(1, 100000)]
    ck.eq(got, want, "the old leader's showLog equals the leader's")
    datas = [g[3] for g in got]
    ck.check(any("after/9" in d for d in datas) and
             any(d == "after the kill" for d in datas),
             "the old leader's showLog has the entries written while it "
             "was down")
    ck.check(all(e["committed"] for e in c.client(old).showLog(1, 100000)),
             "all of them committed on the old leader")
    ck.note("node %d restarted and caught up to index %d" % (old, idx))

    # And it serves as a member again: a write needs only a majority, so
    # stop another node and write with the old leader's help.
    third = [n for n in c.ids() if n not in (old, lead)][0]
    c.kill9(third)
    ck.eq(cr("put", "with-old", "yes"), True,
          "a write committed by the leader and the old leader")
    ck.eq(cr("get", "with-old"), "yes", "and read back")
    c.finish(ck)


rt.run(main)
