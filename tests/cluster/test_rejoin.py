# test_rejoin.py: a node that was down while a member was removed, wiped
# and added back (addMember without an incarnation, as an operator who
# starts the node first does) must catch up when that member leads, and
# take it back as a peer (docs/DESIGN.md, "Identity").  Node 5 is stopped;
# node 1 is removed, wiped, started empty, added back and made the leader;
# enough is written that the others compact past node 5's log, so node 5
# learns the removal and the return only from node 1's snapshot, whose
# configuration records no incarnation for node 1.  Node 5 must reach the
# leader's commit index, and then, as the leader itself, count node 1's
# answers (node 1 catches up from it, nothing refused).
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster, wait_for  # noqa: E402

EVERY = 100     # snapshot_entries
TRAILING = 20   # snapshot_trailing


def put_many(c, n, prefix):
    for i in range(n):
        r = c.call_with_retry("put", "%s%03d" % (prefix, i % 50), str(i))
        assert r is True, r


def lead_on(c, ck, nid, among):
    """Hands the leadership to node nid (transferLeader on the leader),
    retried while another election gets in the way (a slow sanitizer
    build); a failed check if nid does not lead after 5 tries."""
    for attempt in range(5):
        lid = c.leader(among=among)
        if lid == nid:
            break
        try:
            c.client(lid).transferLeader(nid)
        except Exception as e:  # noqa: BLE001 - tried again below
            ck.note("transferLeader(%d) on %d: %s" % (nid, lid, e))
    ck.eq(c.leader(among=among), nid, "node %d leads" % nid)


def main(ck):
    # Long election timeouts: a stray election would let node 5 catch up
    # from a leader it knows, and the case would not be tested.
    c = Cluster(5, name="rejoin", election=(600, 1200),
                extra={"snapshot_entries": EVERY,
                       "snapshot_trailing": TRAILING})
    c.stable_leader()
    # Node 5 hears from node 1 as the leader: it records node 1's
    # incarnation (only frames a node receives are recorded).
    lead_on(c, ck, 1, [1, 2, 3, 4, 5])
    put_many(c, 20, "a")
    rc, _ = c.stop(5)
    ck.eq(rc, 0, "node 5 stopped cleanly")
    before = c.status(1)["commitIndex"]
    with open(os.path.join(c.data_dir(5), "peers")) as f:
        ck.check(" ".join(["1", c.status(1)["incarnation"]]) in f.read(),
                 "node 5 recorded node 1's incarnation")

    # Node 1 out, wiped, back with a new data directory.
    live = [1, 2, 3, 4]
    lead_on(c, ck, 2, live)
    old_inc = c.status(1)["incarnation"]
    c.call_with_retry("removeMember", 1, start=2)
    rc, _ = c.stop(1)
    ck.eq(rc, 0, "node 1 stopped cleanly after its removal")
    shutil.rmtree(c.data_dir(1))
    c.start(1)
    new_inc = c.status(1)["incarnation"]
    ck.require(new_inc != old_inc, "node 1 has a new incarnation (%s, was "
               "%s)" % (new_inc, old_inc))
    c.call_with_retry("addMember", 1, c.address(1), start=2)

    def voter(nid):
        lid = c.find_leader(live)
        if lid is None:
            return None
        for m in c.client(lid).members():
            if m["id"] == nid and m["voter"] and m["match"] > 0:
                return True
        return None
    wait_for(lambda: voter(1), 20, "node 1 a voter again")

    # Past node 5's log on every node: it needs a snapshot.
    put_many(c, 3 * EVERY, "b")
    lead_on(c, ck, 1, live)
    wait_for(lambda: c.status(1)["logFirstIndex"] > before + 1, 20,
             "node 1 compacted past node 5's last entry")

    # Node 5 comes back: its only leader is node 1, with an incarnation
    # node 5 never saw; the snapshot's configuration does not record it.
    c.start(5)
    put_many(c, 10, "c")
    commit = c.status(1)["commitIndex"]
    # wait_for raises (a failed check) if it does not happen in time.
    ck.check(wait_for(lambda: c.status(5)["lastApplied"] >= commit, 20,
                      "node 5 to apply %d from node 1" % commit),
             "node 5 caught up from the re-added leader")
    st5 = c.status(5)
    ck.check(st5["leader"] == 1 and st5["snapshotsInstalled"] >= 1,
             "node 5 follows node 1 and installed its snapshot (leader "
             "%s, installed %s)" % (st5["leader"], st5["snapshotsInstalled"]))
    ck.check("node 1 leads term" in c.log_text(5),
             "node 5's log says it took node 1's new incarnation")

    # Node 5 leads: node 1's answers must count (it catches up from 5).
    lead_on(c, ck, 5, [1, 2, 3, 4, 5])
    put_many(c, 10, "d")
    commit = c.status(5)["commitIndex"]
    ck.check(wait_for(lambda: c.status(1)["lastApplied"] >= commit, 20,
                      "node 1 to apply %d from node 5" % commit),
             "node 1 caught up from node 5")

    def match1():
        return [m["match"] for m in c.client(5).members()
                if m["id"] == 1 and m["match"] >= commit]
    ck.check(wait_for(match1, 10, "node 5 to count node 1's answers up to "
                      "%d" % commit),
             "node 5 counts node 1's answers")
    run5 = c.last_run_log(5)
    ck.check("incarnation changed" not in run5 and
             "data directory changed" not in run5,
             "node 5 refused nothing of node 1 (answers or requests)")
    c.finish(ck)


rt.run(main)
