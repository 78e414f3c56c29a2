# test_membership.py: membership changes and leadership transfer on real
# nodes (docs/DESIGN.md, "Membership"): a 3-node cluster grows to 5 (new
# members started with --join, added as learners and promoted once caught
# up) and shrinks to 3 (removing two bootstrap members, the leader among
# them), all under continuous writes that must never fail; then transfers
# (their time), a rolling restart of every node under load (SIGTERM of
# the leader hands over first), identity checks (another cluster's data
# dir, a --join id of the bootstrap list), and every acknowledged write
# read back at the end.
import os
import signal
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster, api  # noqa: E402
from raftdtest.members import (HintWriter, call_leader,  # noqa: E402
                               leader_of, members, new_addresses,
                               status_of)


def wait_leader(addrs, timeout=10.0):
    return rt.wait_for(lambda: leader_of(addrs), timeout, "a leader")


def main(ck):
    c = Cluster(3, name="member")
    c.stable_leader()
    boot = {nid: c.address(nid) for nid in c.ids()}
    fresh = new_addresses(2)
    ck.require(len(fresh) == 2, "two free port pairs for the new members")
    new = {4: fresh[0], 5: fresh[1]}
    ddir = {nid: os.path.join(c.dir, "node-%d" % nid) for nid in (4, 5)}

    def start_new(nid, join=True):
        args = ["-c", c.conf, "-i", str(nid), "--log-level", "info"]
        if join:
            args += ["--join", new[nid]]
        return c.spawn(args, log_name="node-%d" % nid)

    # ---- identity checks ------------------------------------------------
    rc, out = c.run_raw(["-c", c.conf, "-i", "2", "--join",
                         "127.0.0.1:1"], timeout=10)
    ck.eq(rc, 2, "--join with an id of the bootstrap list: exit 2")
    rc, out = c.run_raw(["-c", c.conf, "-i", "9",
                         "-d", os.path.join(c.dir, "nine")], timeout=10)
    ck.check(rc == 2 and "--join" in out,
             "an id outside the node list without --join: exit 2 naming "
             "--join (%d: %s)" % (rc, out.strip()[:120]))

    procs = {nid: start_new(nid) for nid in (4, 5)}
    w = HintWriter(list(boot.values()))
    w.start()
    rt.wait_for(lambda: len(w.acked) >= 20, 20, "the writer's first puts")

    # ---- 3 -> 5 ---------------------------------------------------------
    t0 = time.monotonic()
    for nid in (4, 5):
        call_leader(list(boot.values()), "addMember", nid, new[nid])
        lid, laddr = wait_leader(list(boot.values()) + list(new.values()))
        rt.wait_for(lambda: members(laddr).get(nid, {}).get("voter"), 20,
                    "node %d promoted to voter" % nid)
    grow = time.monotonic() - t0
    lid, laddr = wait_leader(list(boot.values()) + list(new.values()))
    ms = members(laddr)
    ck.eq(sorted(ms), [1, 2, 3, 4, 5], "members after two adds")
    ck.check(all(m["voter"] for m in ms.values()),
             "every member a voter after promotion")
    ck.note("3 -> 5 in %.2f s (learners promoted once caught up)" % grow)

    # ---- 5 -> 3, the leader among the removed -----------------------------
    lid, laddr = wait_leader(list(boot.values()) + list(new.values()))
    if lid not in (1, 2):
        r = api.proxy(laddr, timeout=5.0).transferLeader(1)
        lid, laddr = 1, boot[1]
        ck.eq(r["leader"], 1, "transfer to node 1 before removing it")
    t0 = time.monotonic()
    removed_leader = lid
    for nid in (removed_leader, 3 - removed_leader):
        rt.wait_for(lambda: leader_of(list(boot.values()) +
                                      list(new.values())), 10, "a leader")
        call_leader(list(boot.values()) + list(new.values()),
                    "removeMember", nid)
    shrink = time.monotonic() - t0
    lid, laddr = wait_leader([boot[3], new[4], new[5]])
    ms = members(laddr)
    ck.eq(sorted(ms), [3, 4, 5], "members after removing 1 and 2")
    ck.check(lid in (3, 4, 5), "the new leader (%d) is a member" % lid)
    ck.note("5 -> 3 in %.2f s, removing the leader (node %d) first"
            % (shrink, removed_leader))
    for nid in (1, 2):
        c.stop(nid)

    # ---- transfers: time of each --------------------------------------------
    took = []
    live = [boot[3], new[4], new[5]]
    for i in range(20):
        lid, laddr = wait_leader(live)
        r = api.proxy(laddr, timeout=5.0).transferLeader(0)
        took.append(r["us"] / 1000.0)
        ck.check(r["leader"] != lid and r["leader"] in (3, 4, 5),
                 "transfer %d: %d -> %d" % (i + 1, lid, r["leader"]))
    took.sort()
    ck.note("transfer under load: median %.1f ms, max %.1f ms over %d"
            % (statistics.median(took), took[-1], len(took)))

    # ---- rolling restart of 3, 4, 5 under load ----------------------------
    lat_before = len(w.lat)
    for nid in (3, 4, 5):
        if nid == 3:
            rc, _ = c.stop(3)
            ck.eq(rc, 0, "node 3 stopped cleanly")
            c.start(3)
        else:
            procs[nid].send_signal(signal.SIGTERM)
            procs[nid].wait(timeout=20)
            ck.eq(procs[nid].returncode, 0,
                  "node %d stopped cleanly" % nid)
            # Restarted without --join: its data dir knows its address.
            procs[nid] = start_new(nid, join=False)
        rt.wait_for(lambda: leader_of(live), 20, "a leader")
        rt.wait_for(
            lambda: len({api.proxy(a, timeout=2.0).status()["commitIndex"]
                         for a in live}) == 1 or None
            if all(status_of(a) for a in live) else None,
            30, "node %d caught up" % nid)
    rolling = [d for (_, d) in w.lat[lat_before:]]
    w.finish()
    ck.eq(w.failed, [], "failed client calls during grow, shrink, "
          "transfers and the rolling restart")
    ck.check(len(w.acked) > 100, "the writer made progress (%d puts)"
             % len(w.acked))
    if rolling:
        ck.note("rolling restart of 3 nodes: %d puts, longest %.1f ms, "
                "p50 %.1f ms" % (len(rolling), max(rolling) * 1000,
                                 statistics.median(rolling) * 1000))
    lid, laddr = wait_leader(live)

    # ---- every acknowledged write is there -----------------------------------
    got = {}
    after = ""
    for _ in range(1000):
        page = api.proxy(laddr, timeout=10.0).list("w", after, 1000)
        if not page:
            break
        for kv in page:
            got[kv["key"]] = kv["value"]
        after = page[-1]["key"]
    lost = [k for k, v in w.acked.items() if got.get(k) != v]
    ck.eq(lost[:5], [], "acknowledged writes missing or changed (%d of %d)"
          % (len(lost), len(w.acked)))

    # ---- a data dir of another cluster is refused --------------------------
    procs[5].send_signal(signal.SIGTERM)
    procs[5].wait(timeout=20)
    other = os.path.join(c.dir, "other.conf")
    with open(c.conf) as f:
        text = f.read().replace(boot[1], "127.0.0.1:1")
    with open(other, "w") as f:
        f.write(text)
    rc, out = c.run_raw(["-c", other, "-i", "5", "-d", ddir[5]],
                        timeout=10)
    ck.check(rc != 0 and "another cluster" in out,
             "node 5's data dir with another cluster's config: refused "
             "(%d: %s)" % (rc, out.strip()[-160:]))

    # ---- raftctl's verdicts count the configuration, not the file ----------
    # The config file lists 1, 2, 3 (1 and 2 removed, stopped); members
    # are 3, 4, 5 and 5 is down: 2 of 3 voters answer, a quorum, although
    # only 2 of the 5 nodes raftctl shows do.
    wait_leader([boot[3], new[4]])

    def ctl(*args):
        p = subprocess.run([rt.build_path("raftctl"), "-c", c.conf] +
                           list(args), text=True, capture_output=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    rc, out, err = ctl("status")
    ck.check(rc == 0 and out.count("\n") == 6,
             "status with 2 of 3 voters up (2 of 5 nodes shown): exit 0 "
             "(%d: %s)" % (rc, err.strip()))
    rc, out, err = ctl("health", "--quorum")
    ck.check(rc == 0 and out.count("(not a member)") == 2,
             "health --quorum: exit 0, the removed nodes marked (%d: %s%s)"
             % (rc, out, err.strip()))
    rc, out, err = ctl("health")
    ck.check(rc == 1 and "2 of 3 members healthy" in err,
             "health: exit 1, '2 of 3 members healthy' (%d: %s)"
             % (rc, err.strip()))
    c.finish(ck)


rt.run(main)
