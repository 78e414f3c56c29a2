#!/usr/bin/env python3
"""slowloris.py: raftd under connection floods (a benchmark, not a test).

Starts a 5-node cluster on 127.0.0.1 and measures, for each scenario:

  slow-headers  N sockets to the leader's client port that send an HTTP
                request line and then one header byte a second, never
                finishing: then a new client's puts (p50, p99, max, how
                many failed) and whether the leader or term changed;
  idle          the same with N sockets that send nothing;
  failover      N sockets spread over every node's client port, then
                kill -9 of the leader: the time until a put through a
                survivor commits (the new leader is elected through the
                peers' own listeners, which client sockets cannot reach).

    bench/slowloris.py [--build DIR] [--sockets 300] [--puts 200]
                       [--spread 1500] [--rounds 3]

Talks only to 127.0.0.1; ends every process it starts by PID.
"""
import argparse
import os
import resource
import socket
import statistics
import sys
import threading
import time
import xmlrpc.client

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "lib"))
import raftdtest as rt  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


class Flood:
    """N slow or idle sockets to the given ports, kept open (and, for
    slow ones, fed one header byte a second) until close()."""

    def __init__(self, ports, n, slow):
        self.socks = []
        self.stop = threading.Event()
        self.refused = 0
        for i in range(n):
            port = ports[i % len(ports)]
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
                if slow:
                    s.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\n")
                self.socks.append(s)
            except OSError:
                self.refused += 1
        self.feeder = None
        if slow:
            self.feeder = threading.Thread(target=self._feed, daemon=True)
            self.feeder.start()

    def _feed(self):
        while not self.stop.wait(1.0):
            for s in list(self.socks):
                try:
                    s.sendall(b"X")
                except OSError:
                    self.socks.remove(s)

    def alive(self):
        """Sockets the server has not closed (a closed one reads EOF)."""
        n = 0
        for s in self.socks:
            try:
                s.setblocking(False)
                if s.recv(1, socket.MSG_PEEK) == b"":
                    continue
            except BlockingIOError:
                pass
            except OSError:
                continue
            n += 1
        return n

    def close(self):
        self.stop.set()
        if self.feeder:
            self.feeder.join(3)
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


def puts(c, lid, n):
    """n puts to the leader on a new connection each: latencies (ms) and
    failures."""
    lat, failed = [], 0
    for i in range(n):
        t0 = time.monotonic()
        try:
            px = rt.proxy(c.address(lid), timeout=10)
            px.put("sl/%d" % i, "v")
            lat.append((time.monotonic() - t0) * 1000)
        except (OSError, xmlrpc.client.Error):
            failed += 1
    return lat, failed


def scenario_flood(c, n, n_puts, slow):
    lid, term = c.stable_leader()
    f = Flood([c.nodes[lid].port], n, slow)
    time.sleep(2.0)  # the flood established, a couple of feeds in
    lat, failed = puts(c, lid, n_puts)
    alive = f.alive()
    f.close()
    lid2, term2 = c.stable_leader()
    return {"open": len(f.socks), "refused": f.refused, "alive_end": alive,
            "p50": pct(lat, 50), "p99": pct(lat, 99),
            "max": max(lat) if lat else float("nan"), "failed": failed,
            "leader_changed": (lid2, term2) != (lid, term)}


def scenario_failover(c, n):
    lid, _ = c.stable_leader()
    f = Flood([c.nodes[nid].port for nid in c.ids()], n, True)
    time.sleep(2.0)
    t0 = time.monotonic()
    c.kill9(lid)
    survivors = [nid for nid in c.ids() if nid != lid]
    ok = False
    deadline = t0 + 20
    k = 0
    while time.monotonic() < deadline and not ok:
        for nid in survivors:
            k += 1
            try:
                rt.proxy(c.address(nid), timeout=2).put("fo", str(k))
                ok = True
                break
            except (OSError, xmlrpc.client.Error):
                pass
        time.sleep(0.005)
    took = (time.monotonic() - t0) * 1000 if ok else float("nan")
    f.close()
    c.start(lid)
    return {"open": len(f.socks), "refused": f.refused, "ms": took}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=None,
                    help="build dir with raftd (default: the tree's)")
    ap.add_argument("--sockets", type=int, default=300)
    ap.add_argument("--spread", type=int, default=1500)
    ap.add_argument("--puts", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--legacy", action="store_true",
                    help="a build without peer listeners (no peer_address "
                    "in the config): for before/after figures")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.build:
        os.environ["top_builddir"] = a.build
    res = {"slow": [], "idle": [], "failover": []}
    for r in range(a.rounds):
        net = rt.LoopbackNet()
        if a.legacy:
            net.setup = lambda ids, net=net: rt.LoopbackNet.setup(net, ids) \
                or net.peer_addr.clear()
        c = rt.Cluster(5, name="slowloris", net=net)
        try:
            for kind in ("slow", "idle"):
                x = scenario_flood(c, a.sockets, a.puts, kind == "slow")
                res[kind].append(x)
                print("round %d %s: %r" % (r + 1, kind, x), flush=True)
            x = scenario_failover(c, a.spread)
            res["failover"].append(x)
            print("round %d failover: %r" % (r + 1, x), flush=True)
        finally:
            c.close()
            c.remove()
    print()
    print("| scenario | figure | median [min-max] over %d rounds |" %
          a.rounds)
    print("|---|---|---|")
    for kind in ("slow", "idle"):
        for key in ("p50", "p99", "max", "failed", "alive_end"):
            xs = [x[key] for x in res[kind]]
            print("| %d %s sockets on the leader | new client's put %s%s "
                  "| %.1f [%.1f-%.1f] |" %
                  (a.sockets, kind, key, " ms" if key in
                   ("p50", "p99", "max") else "", statistics.median(xs),
                   min(xs), max(xs)))
        print("| %d %s sockets on the leader | leader changed | %d of %d "
              "rounds |" % (a.sockets, kind,
                            sum(x["leader_changed"] for x in res[kind]),
                            a.rounds))
    xs = [x["ms"] for x in res["failover"]]
    print("| %d slow sockets over 5 nodes, leader killed | ms to a "
          "committed put | %.0f [%.0f-%.0f] |" %
          (a.spread, statistics.median(xs), min(xs), max(xs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
