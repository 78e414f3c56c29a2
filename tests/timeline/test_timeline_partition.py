# test_timeline_partition.py: `raftctl timeline` of a run with a network partition: 5 raftd nodes in network namespaces (tests/fault/netns.py) take writes; the leader and one follower are cut off from the other three (nftables), which elect a new leader and take writes while the old one steps down; the partition heals, more writes, one follower is killed and restarted.  The picture must show the two cut-off nodes partitioned, both leaders, the step-down and the down time.  Needs root, ip and nft (else skips).  TIMELINE_KEEP=DIR keeps the collected files and the SVG in DIR (how docs/img/timeline-partition.svg was made).
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE + "/../lib")
sys.path.insert(0, HERE + "/../fault")
sys.path.insert(0, HERE)
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster, build_path, wait_for  # noqa: E402
from netns import NetnsNet  # noqa: E402
from tlcommon import Picture, collect, timeline  # noqa: E402


def writes(ck, cr, prefix, n, start=None, spread=0.0):
    """n puts, one every `spread` s at most (the picture needs time to pass
    under load, as in a real run)."""
    for i in range(n):
        t = time.monotonic()
        ck.eq(cr("put", "%s/%d" % (prefix, i), "v%d" % i, start=start),
              True, "put %s/%d" % (prefix, i))
        rest = spread - (time.monotonic() - t)
        if rest > 0:
            time.sleep(rest)


def main(ck):
    net = NetnsNet()
    c = Cluster(5, name="tlpart", net=net, start=False, request_timeout=1500,
                status_timeout=1.0)
    try:
        run(ck, c, net)
    finally:
        c.close()
        for problem in net.teardown():
            ck.check(False, problem)


def run(ck, c, net):
    c.start_all()
    cr = c.call_with_retry
    old, term = c.stable_leader(timeout=15)
    writes(ck, cr, "before", 15, spread=0.1)

    # The old leader and one follower on one side, three on the other.
    other = [n for n in c.ids() if n != old]
    minority = [old, other[0]]
    majority = other[1:]
    drops = {(a, b) for a in minority for b in majority} | \
        {(b, a) for a in minority for b in majority}
    net.apply(drops, [])
    ck.note("partition: %s | %s" % (minority, majority))
    new, term2 = c.stable_leader(timeout=20, nids=majority)
    ck.require(new in majority and term2 > term,
               "the majority elects n%d in term %d (> %d)" %
               (new, term2, term))
    writes(ck, cr, "during", 15, start=new, spread=0.15)
    wait_for(lambda: c.status(old, 2.0)["state"] != "leader", 10,
             "the old leader to step down")
    net.heal()
    c.wait_caught_up(timeout=20)
    writes(ck, cr, "healed", 10, spread=0.1)

    # A follower killed and restarted: a down time in the picture too.
    victim = [n for n in majority if n != new][0]
    c.kill9(victim)
    writes(ck, cr, "killed", 10, spread=0.1)
    c.start(victim)
    c.wait_caught_up(timeout=20)
    writes(ck, cr, "end", 5, spread=0.1)
    c.stop_all()

    base = tempfile.mkdtemp(prefix="raftd-timeline-part-")
    try:
        top = os.path.join(base, "raftlogs")
        collect(c, top, lambda nid: "h%d" % nid)
        p = subprocess.run([build_path("raftctl"), "check", top],
                           capture_output=True, text=True, timeout=60)
        ck.eq(p.returncode, 0, "raftctl check: %s" % p.stdout[-300:])
        svg = os.path.join(base, "timeline-partition.svg")
        rc, _, err = timeline([top, "-o", svg, "--title",
                               "raftd: 5 nodes, leader h%d and h%d cut off "
                               "from the other three" % (old, minority[1])])
        ck.eq(rc, 0, "raftctl timeline: exit status (%r)" % err)
        with open(svg, "rb") as f:
            pic = Picture(f.read())
        cuts = pic.find("cut", "partitioned")
        cut = {e.get("data-node") for e in cuts}
        if not ck.eq(cut & {"h%d" % n for n in c.ids()},
                     {"h%d" % n for n in minority},
                     "the cut-off nodes, and only they, drawn partitioned "
                     "(%s)" % "; ".join(sorted({"".join(e.itertext()).strip()
                                               for e in cuts}))):
            # What the picture was drawn from, for the failure's report.
            for nid in c.ids():
                with open(os.path.join(top, "h%d" % nid, "raftd.log"),
                          errors="replace") as f:
                    for line in f:
                        if "reachable" in line or " -> " in line or \
                                "starting" in line or "stopped" in line:
                            ck.note("h%d: %s" % (nid, line.rstrip()[:160]))
        lead = pic.leaders()
        ck.check(term in lead.get("h%d" % old, set()) and
                 term2 in lead.get("h%d" % new, set()),
                 "both leaders drawn: %r" % lead)
        ck.check(pic.find("mark", "stepdown"),
                 "the old leader's step-down marked")
        ck.check("h%d" % victim in {n for n, _ in pic.spans("down")},
                 "the killed follower's down time drawn")
        ck.eq(pic.find("diverge"), [], "no divergence left after healing")
        keep = os.environ.get("TIMELINE_KEEP")
        if keep:
            shutil.rmtree(os.path.join(keep, "raftlogs"), ignore_errors=True)
            shutil.copytree(top, os.path.join(keep, "raftlogs"))
            shutil.copy(svg, keep)
            ck.note("kept in %s" % keep)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    c.remove()


why = NetnsNet.available()
if why is not None:
    print("skipped: %s" % why)
    sys.exit(77)
rt.run(main)
