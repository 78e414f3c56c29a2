#!/usr/bin/env python3
"""failover.py: how long a raftd cluster is unavailable after its leader dies.

Like the Raft paper's Figure 16: start an N-node cluster on loopback, wait for
a leader, keep writing through it, kill -9 the leader at a random moment
within its heartbeat interval, and time from the kill until a write through a
survivor commits.  The killed node is restarted before the next trial.

    bench/failover.py [--raftd PATH] [--nodes 5] [--trials 20]
                      [--min 150] [--max 300] [--heartbeat 50]

Prints one line per trial and then median, p90 and max in ms.  Talks only to
127.0.0.1; every process it starts is ended by PID.
"""
import argparse
import os
import random
import statistics
import sys
import time
import xmlrpc.client

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../tests/lib")
import raftdtest as rt  # noqa: E402  (the cluster, config and ports)


def write_through_survivor(c, dead, deadline, seq):
    """Time of the first committed write through any survivor."""
    survivors = [i for i in c.ids() if i != dead]
    while time.monotonic() < deadline:
        for i in survivors:
            try:
                c.client(i).put("failover", str(seq), "fo-%d-%d" % (os.getpid(), seq))
                return time.monotonic()
            except xmlrpc.client.Fault:
                pass  # not leader (yet), or timeout: try the next node
            except rt.CONN_ERRORS:
                pass
        time.sleep(0.001)
    return None


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--raftd", default=os.path.join(here, "..", "raftd"))
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--min", type=int, default=150)
    ap.add_argument("--max", type=int, default=300)
    ap.add_argument("--heartbeat", type=int, default=50)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    c = rt.Cluster(a.nodes, name="failover", election=(a.min, a.max),
                   heartbeat=a.heartbeat, request_timeout=2000,
                   raftd=os.path.abspath(a.raftd), start=False)
    times = []
    try:
        c.start_all()
        for t in range(a.trials):
            try:
                leader = c.leader(timeout=10)
            except rt.TestFailure:
                print("trial %d: no leader within 10 s" % t, file=sys.stderr)
                return 1
            # A write through the leader, so it is settled in its term.
            c.client(leader).put("failover", "pre", "pre-%d-%d" % (os.getpid(), t))
            time.sleep(rng.uniform(0, a.heartbeat / 1000.0))
            t0 = time.monotonic()
            c.kill9(leader)
            t1 = write_through_survivor(c, leader, t0 + 10, t)
            if t1 is None:
                print("trial %d: no write committed within 10 s" % t, file=sys.stderr)
                return 1
            ms = (t1 - t0) * 1000
            times.append(ms)
            print("trial %2d: killed leader %d, write committed after %.0f ms" % (t, leader, ms))
            c.start(leader)
            # Let the restarted node catch up before the next kill.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    st = c.status(leader)
                    if st["leader"] != 0 and st["lastApplied"] >= st["commitIndex"] > 0:
                        break
                except rt.CONN_ERRORS + (xmlrpc.client.Fault,):
                    pass
                time.sleep(0.02)
    finally:
        c.close()
        c.remove()
    times.sort()
    p90 = times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))]
    print("failover nodes=%d timeouts=%d-%dms heartbeat=%dms trials=%d "
          "median_ms=%.0f p90_ms=%.0f max_ms=%.0f"
          % (a.nodes, a.min, a.max, a.heartbeat, len(times),
             statistics.median(times), p90, times[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
