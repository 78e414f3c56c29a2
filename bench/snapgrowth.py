"""snapgrowth.py: disk, memory and restart time over a long write history.

Starts a 3-node raftd cluster on loopback with the default snapshot settings
(or --snapshot-entries / --snapshot-trailing) and writes PUTS puts of
VALUE_BYTES bytes over KEYS keys with bench/raftbench, in rounds.  After
every STEP puts it prints one row per node: the data dir's bytes (snapshot +
raftlog + the rest), the raftlog's first index and entries, the snapshot
index and size, the node's RSS, the longest pause of taking a snapshot
since the node's start (the fork, under the node's lock), and the time a restarted follower takes
from its start to serving with everything it had applied (the restart
rotates over the followers).  At the end a follower's data dir is wiped
and the time and bytes it takes to rejoin (through InstallSnapshot) are
printed.

    bench/snapgrowth.py --build BUILD [--puts 1000000] [--step 100000]
                        [--keys 1000] [--value-bytes 100] [--clients 40]
                        [--snapshot-entries N] [--snapshot-trailing N]

The idle RSS of each node (before the first put) is printed first, so that
"RSS within 2x of an idle node plus the live data" can be read off the
table; the live data is KEYS x (key + value bytes).
Talks only to 127.0.0.1; every process it starts is ended by PID.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
import xmlrpc.client

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../tests/lib")
import raftdtest as rt  # noqa: E402  (the cluster, config and ports)

MAX_ROUNDS = 200


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def dir_bytes(d):
    total = 0
    for name in os.listdir(d):
        try:
            total += os.path.getsize(os.path.join(d, name))
        except OSError:
            pass
    return total


def fsize(p):
    try:
        return os.path.getsize(p)
    except OSError:
        return 0


def serving(c, nid, applied, deadline):
    """Waits until nid answers status() with lastApplied >= applied;
    returns the status, or None at the deadline."""
    while time.monotonic() < deadline:
        try:
            st = c.status(nid, timeout=2.0)
            if st["lastApplied"] >= applied:
                return st
        except rt.CONN_ERRORS + (xmlrpc.client.Fault,):
            pass
        time.sleep(0.002)
    return None


def restart_time(c, nid):
    """Kills nid (-9), starts it again and times its start until it serves
    reads of everything it had applied.  Seconds, or None."""
    applied = c.status(nid)["lastApplied"]
    c.kill9(nid)
    t0 = time.monotonic()
    c.spawn_node(nid)
    st = serving(c, nid, applied, t0 + 120)
    return None if st is None else time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True,
                    help="build directory holding raftd and bench/raftbench")
    ap.add_argument("--puts", type=int, default=1000000)
    ap.add_argument("--step", type=int, default=100000)
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--value-bytes", type=int, default=100)
    ap.add_argument("--clients", type=int, default=40)
    ap.add_argument("--snapshot-entries", type=int, default=None)
    ap.add_argument("--snapshot-trailing", type=int, default=None)
    a = ap.parse_args()
    if a.keys % a.clients:
        ap.error("--keys must be a multiple of --clients (raftbench's -k is "
                 "per client)")
    extra = {}
    if a.snapshot_entries is not None:
        extra["snapshot_entries"] = a.snapshot_entries
    if a.snapshot_trailing is not None:
        extra["snapshot_trailing"] = a.snapshot_trailing
    bench = os.path.join(a.build, "bench", "raftbench")
    c = rt.Cluster(3, name="snapgrowth", request_timeout=5000,
                   raftd=os.path.join(a.build, "raftd"), extra=extra or None,
                   start=False)
    try:
        c.start_all()
        lead = c.leader(timeout=10)
        idle = {nid: rss_kib(c.nodes[nid].pid) for nid in c.ids()}
        live = a.keys * (a.value_bytes + 12)
        print("snapgrowth: 3 nodes, %d puts of %d B over %d keys (%d "
              "clients), snapshot settings %s; idle RSS %s KiB; live data "
              "about %d KiB" % (a.puts, a.value_bytes, a.keys, a.clients,
                                extra or "default", idle, live // 1024),
              flush=True)
        print("%9s %4s %10s %10s %10s %9s %9s %9s %8s %9s %9s" % (
            "puts", "node", "datadir_B", "snap_B", "raftlog_B", "log_first",
            "log_n", "snap_idx", "rss_KiB", "pause_ms", "restart_s"),
            flush=True)
        base = c.status(lead)["commitIndex"]
        done, rate, nxt, turn = 0, 5000.0, a.step, 0
        for _ in range(MAX_ROUNDS):
            if done >= a.puts:
                break
            want = min(nxt, a.puts) - done
            secs = max(1.0, min(60.0, want / rate))
            t0 = time.monotonic()
            subprocess.run([bench, "-s", ",".join(c.address(i)
                                                  for i in c.ids()),
                            "-c", str(a.clients), "-d", "%.1f" % secs,
                            "-w", "0", "-o", "put", "-v", str(a.value_bytes),
                            "-k", str(a.keys // a.clients)],
                           check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=secs + 120)
            lead = c.leader(timeout=10)
            now_done = c.status(lead)["commitIndex"] - base
            rate = max(100.0, (now_done - done) / (time.monotonic() - t0))
            done = now_done
            if done < nxt and done < a.puts:
                continue
            nxt += a.step
            follower = [i for i in c.ids() if i != lead][turn % 2]
            turn += 1
            commit = c.status(lead)["commitIndex"]
            for nid in c.ids():
                serving(c, nid, commit, time.monotonic() + 30)
            took = restart_time(c, follower)
            for nid in c.ids():
                st = c.status(nid)
                d = c.data_dir(nid)
                print("%9d %4d %10d %10d %10d %9d %9d %9d %8d %9.2f %9s" % (
                    done, nid, dir_bytes(d),
                    fsize(os.path.join(d, "snapshot")),
                    fsize(os.path.join(d, "raftlog")),
                    st.get("logFirstIndex", 1), st.get("logEntries", -1),
                    st.get("snapshotIndex", 0), rss_kib(c.nodes[nid].pid),
                    st.get("snapshotPauseMaxUs", 0) / 1000.0,
                    ("%.3f" % took if took is not None else "none")
                    if nid == follower else "-"), flush=True)
        # A wiped follower rejoins.
        lead = c.leader(timeout=10)
        victim = [i for i in c.ids() if i != lead][0]
        sent0 = c.status(lead).get("snapshotsSent", 0)
        commit = c.status(lead)["commitIndex"]
        c.kill9(victim)
        shutil.rmtree(c.data_dir(victim))
        t0 = time.monotonic()
        c.spawn_node(victim)
        st = serving(c, victim, commit, t0 + 300)
        took = time.monotonic() - t0
        lst = c.status(lead)
        if st is None:
            print("snapgrowth: wiped follower %d did not reach index %d "
                  "within 300 s" % (victim, commit))
            return 1
        print("snapgrowth: wiped follower %d rejoined (applied %d) in %.3f "
              "s; the leader sent %d snapshot(s) of %d bytes (snapshot "
              "index %d), then the %d entries after it from its log" % (
                  victim, st["lastApplied"], took,
                  lst.get("snapshotsSent", 0) - sent0,
                  lst.get("snapshotBytes", 0), st.get("snapshotIndex", 0),
                  st["lastApplied"] - st.get("snapshotIndex", 0)),
              flush=True)
        return 0
    finally:
        c.close()
        c.remove()


if __name__ == "__main__":
    sys.exit(main())
