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
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Cluster:
    def __init__(self, raftd, n, emin, emax, hb):
        self.raftd = raftd
        self.dir = tempfile.mkdtemp(prefix="raftd-failover-")
        self.ports = free_ports(n)
        self.procs = {}
        conf = os.path.join(self.dir, "cluster.conf")
        nodes = ",\n".join('{ id = %d; address = "127.0.0.1:%d"; }' % (i + 1, p)
                           for i, p in enumerate(self.ports))
        with open(conf, "w") as f:
            f.write('cluster = { nodes = (\n%s\n);\n  secret = "%s"; };\n' %
                    (nodes, secrets.token_hex(16)))
            f.write('data_dir = "%s/node-%%i";\n' % self.dir)
            f.write("election_timeout_ms = { min = %d; max = %d; };\n" % (emin, emax))
            f.write("heartbeat_ms = %d;\nrequest_timeout_ms = 2000;\n" % hb)
        self.conf = conf

    def start(self, i):
        log = open(os.path.join(self.dir, "node-%d.log" % i), "ab")
        self.procs[i] = subprocess.Popen(
            [self.raftd, "-c", self.conf, "-i", str(i)], stderr=log, stdout=log)

    def proxy(self, i):
        return xmlrpc.client.ServerProxy("http://127.0.0.1:%d/RPC2" % self.ports[i - 1])

    def leader(self, deadline):
        while time.monotonic() < deadline:
            for i in self.procs:
                try:
                    if self.proxy(i).isLeader():
                        return i
                except (OSError, xmlrpc.client.Error):
                    pass
            time.sleep(0.005)
        return None

    def close(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def write_through_survivor(c, dead, deadline, seq):
    """Time of the first committed write through any survivor."""
    while time.monotonic() < deadline:
        for i in c.procs:
            if i == dead:
                continue
            try:
                c.proxy(i).put("failover", str(seq), "fo-%d-%d" % (os.getpid(), seq))
                return time.monotonic()
            except xmlrpc.client.Fault:
                pass  # not leader (yet), or timeout: try the next node
            except OSError:
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
    c = Cluster(os.path.abspath(a.raftd), a.nodes, a.min, a.max, a.heartbeat)
    times = []
    try:
        for i in range(1, a.nodes + 1):
            c.start(i)
        for t in range(a.trials):
            leader = c.leader(time.monotonic() + 10)
            if leader is None:
                print("trial %d: no leader within 10 s" % t, file=sys.stderr)
                return 1
            # A write through the leader, so it is settled in its term.
            c.proxy(leader).put("failover", "pre", "pre-%d-%d" % (os.getpid(), t))
            time.sleep(rng.uniform(0, a.heartbeat / 1000.0))
            t0 = time.monotonic()
            c.procs[leader].send_signal(signal.SIGKILL)
            c.procs[leader].wait()
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
                    st = c.proxy(leader).status()
                    if st["leader"] != 0 and st["lastApplied"] >= st["commitIndex"] > 0:
                        break
                except (OSError, xmlrpc.client.Error):
                    pass
                time.sleep(0.02)
    finally:
        c.close()
    times.sort()
    p90 = times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))]
    print("failover nodes=%d timeouts=%d-%dms heartbeat=%dms trials=%d "
          "median_ms=%.0f p90_ms=%.0f max_ms=%.0f"
          % (a.nodes, a.min, a.max, a.heartbeat, len(times),
             statistics.median(times), p90, times[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
