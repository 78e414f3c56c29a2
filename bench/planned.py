#!/usr/bin/env python3
"""planned.py: planned operations on a live cluster, under continuous writes
(a benchmark, not a test).

Starts a 3-node cluster on 127.0.0.1 and one writer (puts one at a time,
each retried with its tid through leader changes, following hints), then:

  grow-shrink   3 -> 5 -> 3: two new nodes started with --join and added
                (learners, promoted once caught up), a rolling restart of
                the five (SIGTERM, start, wait until caught up, next), then
                two of the bootstrap nodes removed, the leader first;
  transfer      --transfers leadership transfers (transferLeader(0)): the
                time each took (the call's own figure);
  sigterm       --restarts planned restarts of the leader: SIGTERM (it
                hands over first), start again, wait until caught up; the
                longest put that started within the second around the
                signal;
  kill          the same with kill -9 (an election decides), for comparison.

Prints, per phase, failed puts, the longest put, and the figures above
(median and max).  Talks only to 127.0.0.1; ends every process it starts
by PID.

    bench/planned.py [--build DIR] [--transfers 20] [--restarts 10]
"""
import argparse
import os
import signal
import statistics
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "lib"))
import raftdtest as rt  # noqa: E402
from raftdtest import api  # noqa: E402
from raftdtest.members import (HintWriter, call_leader,  # noqa: E402
                               leader_of, members, new_addresses,
                               status_of)


def ms(x):
    return "%.1f" % (x * 1000.0)


def wait_leader(addrs, timeout=10.0):
    return rt.wait_for(lambda: leader_of(addrs), timeout, "a leader")


def caught_up(addrs):
    sts = [status_of(a) for a in addrs]
    if any(s is None for s in sts):
        return None
    return len({s["commitIndex"] for s in sts}) == 1 or None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=".")
    ap.add_argument("--transfers", type=int, default=20)
    ap.add_argument("--restarts", type=int, default=10)
    o = ap.parse_args()
    raftd = os.path.join(os.path.abspath(o.build), "raftd")
    c = rt.Cluster(3, name="planned", raftd=raftd)
    procs = {}
    try:
        c.stable_leader()
        boot = {n: c.address(n) for n in c.ids()}
        fresh = new_addresses(2)
        new = {4: fresh[0], 5: fresh[1]}
        w = HintWriter(list(boot.values()))
        w.start()
        rt.wait_for(lambda: len(w.acked) >= 50, 20, "the first puts")

        # ---- 3 -> 5 -> 3 ----------------------------------------------
        t0 = time.monotonic()
        for nid in (4, 5):
            procs[nid] = c.spawn(["-c", c.conf, "-i", str(nid),
                                  "--join", new[nid]],
                                 log_name="node-%d" % nid)
        for nid in (4, 5):
            call_leader(list(boot.values()), "addMember", nid, new[nid])
            _, la = wait_leader(list(boot.values()) + list(new.values()))
            rt.wait_for(lambda: members(la).get(nid, {}).get("voter"), 20,
                        "node %d a voter" % nid)
        t_grow = time.monotonic() - t0

        # ---- a rolling restart of the 5 nodes ----------------------------
        everyone = list(boot.values()) + list(new.values())
        t_roll = time.monotonic()
        for nid in (1, 2, 3, 4, 5):
            rt.wait_for(lambda: caught_up(everyone), 30, "caught up")
            if nid <= 3:
                c.stop(nid)
                c.start(nid)
            else:
                procs[nid].send_signal(signal.SIGTERM)
                procs[nid].wait(timeout=20)
                procs[nid] = c.spawn(["-c", c.conf, "-i", str(nid)],
                                     log_name="node-%d" % nid)
        rt.wait_for(lambda: caught_up(everyone), 30, "caught up")
        print("rolling restart of 5 nodes (SIGTERM, start, caught up, "
              "next): %.2f s; longest put %s ms, failed puts %d"
              % (time.monotonic() - t_roll,
                 ms(w.worst_between(t_roll, time.monotonic())),
                 len(w.failed)))
        lid, la = wait_leader(list(boot.values()) + list(new.values()))
        if lid not in (1, 2):
            api.proxy(la, timeout=5).transferLeader(1)
            lid = 1
        t1 = time.monotonic()
        for nid in (lid, 3 - lid):
            call_leader(everyone, "removeMember", nid)
        t_shrink = time.monotonic() - t1
        for nid in (1, 2):
            c.stop(nid)
        live = [boot[3], new[4], new[5]]
        print("grow-shrink: 3->5 %.2f s, 5->3 %.2f s (the leader removed "
              "first); longest put while growing %s ms, while shrinking "
              "%s ms; failed puts %d"
              % (t_grow, t_shrink, ms(w.worst_between(t0, t0 + t_grow)),
                 ms(w.worst_between(t1, time.monotonic())), len(w.failed)))

        # ---- transfers ------------------------------------------------
        took = []
        t0 = time.monotonic()
        for _ in range(o.transfers):
            _, la = wait_leader(live)
            took.append(api.proxy(la, timeout=5).transferLeader(0)["us"]
                        / 1e6)
        print("transfer: %d, median %s ms, max %s ms; longest put %s ms, "
              "failed puts %d" % (len(took), ms(statistics.median(took)),
                                  ms(max(took)),
                                  ms(w.worst_between(t0, time.monotonic())),
                                  len(w.failed)))

        # ---- planned restarts vs kill -9 --------------------------------
        ids = {boot[3]: 3, new[4]: 4, new[5]: 5}
        for how in ("sigterm", "kill"):
            gaps = []
            phase = time.monotonic()
            for _ in range(o.restarts):
                lid, la = wait_leader(live)
                rt.wait_for(lambda: caught_up(live), 30, "caught up")
                nid = ids[la]
                t_sig = time.monotonic()
                sig = signal.SIGTERM if how == "sigterm" else signal.SIGKILL
                if nid == 3:
                    if how == "sigterm":
                        c.stop(3)
                    else:
                        c.kill9(3)
                else:
                    procs[nid].send_signal(sig)
                    procs[nid].wait(timeout=20)
                # The puts that started around the signal, once a new
                # leader took over.
                wait_leader([a for a in live if a != la], 10)
                # Every put that started in the window has finished once
                # one that started after it is acknowledged.
                rt.wait_for(lambda: (w.lat and w.lat[-1][0] > t_sig + 0.5)
                            or None, 20, "puts after the window")
                gaps.append(w.worst_between(max(phase, t_sig - 0.1),
                                            t_sig + 0.5))
                phase = t_sig + 0.5
                if nid == 3:
                    c.start(3)
                else:
                    procs[nid] = c.spawn(["-c", c.conf, "-i", str(nid)],
                                         log_name="node-%d" % nid)
            print("%s of the leader: %d, longest put around it: median %s "
                  "ms, max %s ms; failed puts %d"
                  % (how, len(gaps), ms(statistics.median(gaps)),
                     ms(max(gaps)), len(w.failed)))
        w.finish()
        print("writer: %d puts acknowledged, %d failed" %
              (len(w.acked), len(w.failed)))
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        c.close()
        c.remove()


if __name__ == "__main__":
    main()
