#!/usr/bin/env python3
"""failover.py: how long a raftd cluster is unavailable after its leader dies.

Like the Raft paper's Figure 16: start an N-node cluster on loopback, wait for
a leader, keep writing through it, kill -9 the leader at a random moment
within its heartbeat interval, and time from the kill until a write through a
survivor commits.  The killed node is restarted before the next trial.

    bench/failover.py [--raftd PATH] [--nodes 5] [--trials 20]
                      [--min 150] [--max 300] [--heartbeat 50] [--data DIR]

Two times per trial, both from the kill: until a survivor answers isLeader()
true (a new leader), and until a put through it (or, should it lose its
leadership at once, through any survivor) commits.  Prints one line per
trial and then median, p90 and max in ms; --data DIR also writes every
trial to DIR/failover.csv (bench/plots.py draws their distribution).  Talks only to
127.0.0.1; every process it starts is ended by PID.
"""
import argparse
import os
import random
import shlex
import statistics
import sys
import time
import xmlrpc.client

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../tests/lib")
import raftdtest as rt  # noqa: E402  (the cluster, config and ports)


def new_leader(c, dead, deadline):
    """(time, id) of the first survivor seen answering isLeader() true."""
    survivors = [i for i in c.ids() if i != dead]
    while time.monotonic() < deadline:
        for i in survivors:
            try:
                if c.client(i, 0.5).isLeader():
                    return time.monotonic(), i
            except (xmlrpc.client.Fault,) + rt.CONN_ERRORS:
                pass
        time.sleep(0.001)
    return None, None


def write_through_survivor(c, dead, deadline, seq, first=None):
    """Time of the first committed write through `first`, else any survivor."""
    survivors = [i for i in c.ids() if i != dead]
    if first is not None:
        survivors.remove(first)
        survivors.insert(0, first)
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


def loadavg():
    """The first three fields of /proc/loadavg (1, 5 and 15 minutes)."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


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
    ap.add_argument("--data", metavar="DIR",
                    help="write each trial to DIR/failover.csv (bench/README.md)")
    a = ap.parse_args()
    if a.trials < 1 or a.nodes < 3:
        ap.error("--trials must be >= 1 and --nodes >= 3")
    data = None
    if a.data:
        os.makedirs(a.data, exist_ok=True)
        data = open(os.path.join(a.data, "failover.csv"), "w")
        data.write("# bench/failover.py %s\n" % " ".join(shlex.quote(x) for x in sys.argv[1:]))
        data.write("# date: %s\n" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        data.write("# loadavg at start: %s\n" % loadavg())
        data.write("# cluster: %d nodes, election timeouts %d-%d ms, heartbeat %d ms\n"
                   % (a.nodes, a.min, a.max, a.heartbeat))
        data.write("trial,killed,new_leader,leader_ms,write_ms\n")
        data.flush()
    rng = random.Random(a.seed)
    c = rt.Cluster(a.nodes, name="failover", election=(a.min, a.max),
                   heartbeat=a.heartbeat, request_timeout=2000,
                   raftd=os.path.abspath(a.raftd), start=False)
    times = []
    leader_times = []
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
            tl, nl = new_leader(c, leader, t0 + 10)
            if tl is None:
                print("trial %d: no new leader within 10 s" % t, file=sys.stderr)
                return 1
            t1 = write_through_survivor(c, leader, t0 + 10, t, nl)
            if t1 is None:
                print("trial %d: no write committed within 10 s" % t, file=sys.stderr)
                return 1
            ms = (t1 - t0) * 1000
            times.append(ms)
            lms = (tl - t0) * 1000
            leader_times.append(lms)
            print("trial %2d: killed leader %d, node %d leader after %.0f ms, "
                  "write committed after %.0f ms" % (t, leader, nl, lms, ms))
            if data:
                data.write("%d,%d,%d,%.1f,%.1f\n" % (t, leader, nl, lms, ms))
                data.flush()
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
        if data:
            data.write("# loadavg at end: %s\n" % loadavg())
            data.close()
    leader_times.sort()
    times.sort()
    p90 = times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))]
    print("failover nodes=%d timeouts=%d-%dms heartbeat=%dms trials=%d "
          "median_ms=%.0f p90_ms=%.0f max_ms=%.0f leader_median_ms=%.0f "
          "leader_max_ms=%.0f"
          % (a.nodes, a.min, a.max, a.heartbeat, len(times),
             statistics.median(times), p90, times[-1],
             statistics.median(leader_times), leader_times[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
