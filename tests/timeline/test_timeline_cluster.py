# test_timeline_cluster.py: `raftctl timeline` of a real run: a 3-node loopback cluster takes writes, its leader is killed (-9), a new leader takes writes, the old one restarts and catches up; the picture of the collected raftlogs and node logs shows both leaders, two terms or more and the killed node's down time, and `raftctl check` reads the same directory.
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster, build_path, raftlog  # noqa: E402
from tlcommon import Picture, collect, timeline  # noqa: E402


def main(ck):
    c = Cluster(3, name="timeline")
    cr = c.call_with_retry
    old, term = c.stable_leader()
    for i in range(5):
        ck.eq(cr("put", "before/%d" % i, "b"), True, "put before/%d" % i)
    ck.eq(cr("addEntry", "tl-1", "before the kill"), True, "addEntry tl-1")
    c.wait_caught_up()
    c.kill9(old)
    new, term2 = c.stable_leader(timeout=10)
    ck.require(new != old and term2 > term,
               "a new leader %d in term %d (old %d, term %d)" %
               (new, term2, old, term))
    for i in range(5):
        ck.eq(cr("put", "after/%d" % i, "a", start=new), True,
              "put after/%d" % i)
    c.start(old)
    c.wait_caught_up(timeout=15)
    c.stop_all()

    base = tempfile.mkdtemp(prefix="raftd-timeline-run-")
    try:
        top = os.path.join(base, "raftlogs")
        collect(c, top)
        p = subprocess.run([build_path("raftctl"), "check", top],
                           capture_output=True, text=True, timeout=60)
        ck.eq(p.returncode, 0, "raftctl check on the same directory: %s" %
              p.stdout[-300:])
        svg = os.path.join(base, "run.svg")
        rc, _, err = timeline([top, "-o", svg])
        ck.eq(rc, 0, "raftctl timeline: exit status (%r)" % err)
        with open(svg, "rb") as f:
            pic = Picture(f.read())
        lead = pic.leaders()
        oldn, newn = "n%d" % old, "n%d" % new
        ck.check(term in lead.get(oldn, set()),
                 "n%d drawn as leader of term %d: %r" % (old, term, lead))
        ck.check(term2 in lead.get(newn, set()),
                 "n%d drawn as leader of term %d: %r" % (new, term2, lead))
        ck.check(len(lead) >= 2, "two leaders or more: %r" % lead)
        terms = pic.legend()
        ck.check(len(terms) >= 2 and term in terms and term2 in terms,
                 "the legend has terms %d and %d: %r" % (term, term2, terms))
        ck.eq(terms[term2], newn, "the legend's leader of term %d" % term2)
        downs = [n for n, _ in pic.spans("down")]
        ck.check(oldn in downs, "a down span on the killed node's lane: %r"
                 % downs)
        killed = pic.find("mark", "killed")
        ck.eq(len(killed), 1, "one kill marked")
        ck.check(set(pic.run_terms(oldn)) >= {term, term2},
                 "the restarted node's log has entries of both terms")
        com = {e.get("data-node"): int(e.get("data-commit"))
               for e in pic.find("committed")}
        # The underline ends at each node's highest COMMIT marker (the
        # daemon writes them now and then; `check` counts the same).
        want = {}
        for nid in c.ids():
            marks = [r["commit"] for r in
                     raftlog.records(os.path.join(top, "n%d" % nid,
                                                  "raftlog"))
                     if r["type"] == raftlog.REC_COMMIT]
            if marks:
                want["n%d" % nid] = max(marks)
        ck.eq(com, want, "the committed prefixes are the COMMIT markers")
        ck.eq(pic.find("diverge"), [], "no divergence")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    c.finish(ck)


rt.run(main)
