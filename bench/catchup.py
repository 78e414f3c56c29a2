#!/usr/bin/env python3
"""catchup.py: how fast a follower that was down catches up, by max_inflight.

Starts a 5-node raftd cluster on loopback for each setting of max_inflight
(AppendEntries in flight per peer), kills -9 one follower, writes a backlog
through the leader with bench/raftbench (100-byte puts, 16 clients), then
restarts the follower and times until its commitIndex reaches the leader's
commit index as it was at the restart.  No other load runs meanwhile, so
the figure is the replication pipeline's own speed.  Settings alternate
(A B A B ...) over the rounds; prints one line per trial and the median
entries/s per setting.

    bench/catchup.py --build BUILD [--inflight 1,2,4] [--rounds 3]
                     [--backlog-seconds 10]

Talks only to 127.0.0.1; every process it starts is ended by PID.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
import xmlrpc.client

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../tests/lib")
import raftdtest as rt  # noqa: E402  (the cluster, config and ports)


def trial(build, inflight, backlog_s):
    c = rt.Cluster(5, name="catchup", request_timeout=2000,
                   max_inflight=inflight, raftd=os.path.join(build, "raftd"),
                   start=False)
    try:
        c.start_all()
        try:
            lead = c.leader(timeout=10)
        except rt.TestFailure:
            raise RuntimeError("no leader within 10 s")
        victim = [i for i in c.ids() if i != lead][0]
        c.kill9(victim)
        servers = ",".join(c.address(i) for i in c.ids() if i != victim)
        subprocess.run([os.path.join(build, "bench", "raftbench"), "-s",
                        servers, "-c", "16", "-d", str(backlog_s), "-w",
                        "0"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=backlog_s + 60)
        target = c.status(lead)["commitIndex"]
        # Not start(), which waits until the node answers: the catch-up
        # is timed from the moment the process starts.
        c.spawn_node(victim)
        t0 = time.monotonic()
        deadline = t0 + 120
        got = 0
        while time.monotonic() < deadline:
            try:
                got = c.status(victim, timeout=2.0)["commitIndex"]
            except rt.CONN_ERRORS + (xmlrpc.client.Fault,):
                got = 0  # not serving yet
            if got >= target:
                break
            time.sleep(0.002)
        took = time.monotonic() - t0
        if got < target:
            return target, None
        return target, took
    finally:
        c.close()
        c.remove()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True,
                    help="build directory holding raftd and bench/raftbench")
    ap.add_argument("--inflight", default="1,2,4")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backlog-seconds", type=int, default=10)
    a = ap.parse_args()
    settings = [int(x) for x in a.inflight.split(",")]
    rates = {s: [] for s in settings}
    for r in range(a.rounds):
        for s in settings:
            n, took = trial(a.build, s, a.backlog_seconds)
            if took is None:
                print("round %d max_inflight=%d: %d entries behind, did "
                      "not catch up within 120 s" % (r + 1, s, n), flush=True)
                continue
            rates[s].append(n / took)
            print("round %d max_inflight=%d: %d entries in %.3f s = %.0f "
                  "entries/s" % (r + 1, s, n, took, n / took), flush=True)
    for s in settings:
        if rates[s]:
            print("max_inflight=%d: median %.0f entries/s over %d trials"
                  % (s, statistics.median(rates[s]), len(rates[s])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
