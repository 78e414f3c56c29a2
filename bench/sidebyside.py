#!/usr/bin/env python3
"""sidebyside.py: raftd against etcd on the same machine, in one run.

Starts a 5-node raftd cluster and a 5-node etcd cluster (Debian's etcd 3.4,
--heartbeat-interval=50 --election-timeout=250) on 127.0.0.1, both fsyncing
every commit, and alternates the measurements (raftd, etcd, raftd, etcd, ...)
for --rounds rounds:

  puts/s at 1, 16 and 64 clients (100-byte values, every put a new key),
  put latency p50/p99 (1 and 64 clients), linearizable gets/s (16 clients),
  failover (kill -9 the leader at a random moment within its heartbeat
  interval, time until a write through a survivor commits), peak RSS per
  node (VmHWM, max over the members and over the run) and server CPU per
  put (utime+stime of all 5 members over the measured part of the
  64-client put phase, divided by the puts completed in it).

raftd is driven by bench/raftbench (xmlrpc-c), etcd by bench/etcdbench, a Go
program on etcd's own client (clientv3), built here offline from Debian's
golang-etcd-server-dev (bench/deps.sh installs everything).  Prints progress
lines, then a markdown table for docs/PERFORMANCE.md.  A benchmark, not a
test: the figures depend on the machine and on what else runs on it.

    bench/sidebyside.py [--raftd-build DIR] [--rounds 3] [--seconds 10]
                        [--warmup 2] [--failover-trials 21] [--quick]
                        [--put-clients 1,16,64] [--data DIR]

--data DIR writes every phase and every kill as they happen, to
DIR/sidebyside-loads.csv and DIR/sidebyside-failover.csv, with the command,
date, machine and load average in '#' lines; bench/plots.py draws them.

Talks only to 127.0.0.1; every process it starts is ended by PID, also on
failure, SIGINT or SIGTERM; its data lives under one mktemp directory that
is removed at the end.
"""
import argparse
import os
import platform
import queue
import shlex
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../tests/lib")
import raftdtest as rt  # noqa: E402  (config writer, free ports, proxy)

HEARTBEAT_MS = 50
RAFTD_ELECTION = (150, 300)
ETCD_ELECTION_MS = 250
NODES = 5

# Every process this script starts, so that all of them are ended by PID.
PROCS = []


def log(msg):
    print(msg, flush=True)


def spawn(argv, **kw):
    # A session of its own: a Ctrl-C at the terminal reaches only this
    # script, which then ends its children itself, in order.
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    PROCS.append(p)
    return p


def stop(p, timeout=5.0):
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in PROCS:
        PROCS.remove(p)


def kill9(p):
    p.send_signal(signal.SIGKILL)
    p.wait()
    if p in PROCS:
        PROCS.remove(p)


def proc_cpu_ticks(pid):
    """utime + stime of a process, in clock ticks (0 when it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return int(rest[11]) + int(rest[12])  # fields 14 and 15
    except (OSError, IndexError, ValueError):
        return 0


class Cluster:
    """What the raftd and etcd clusters share: members, PIDs, RSS, CPU."""

    name = "?"

    def __init__(self, top):
        self.dir = os.path.join(top, self.name)
        os.mkdir(self.dir)
        self.procs = {}  # node id (1-based) -> Popen
        self.hwm_kib = 0

    def sample_hwm(self):
        for p in self.procs.values():
            if p.poll() is None:
                self.hwm_kib = max(self.hwm_kib, rt.hwm_kib(p.pid))

    def cpu_ticks(self):
        return sum(proc_cpu_ticks(p.pid) for p in self.procs.values())

    def start_all(self):
        for i in range(1, NODES + 1):
            self.start(i)

    def stop_all(self):
        self.sample_hwm()
        for p in list(self.procs.values()):
            stop(p)

    def kill_leader_and_time(self, rng, trial):
        """One failover trial; returns ms from the kill to the first commit."""
        leader = self.wait_leader(10)
        if leader is None:
            raise RuntimeError("%s: no leader within 10 s" % self.name)
        self.put_through(leader)  # the leader is settled in its term
        time.sleep(rng.uniform(0, HEARTBEAT_MS / 1000.0))
        self.sample_hwm()
        t0 = time.monotonic()
        kill9(self.procs[leader])
        ok = self.write_through_survivor(leader, 10)
        t1 = time.monotonic()
        if not ok:
            raise RuntimeError("%s trial %d: no write committed within 10 s"
                               % (self.name, trial))
        self.start(leader)
        if not self.wait_ready(leader, 20):
            raise RuntimeError("%s: restarted node %d did not catch up in 20 s"
                               % (self.name, leader))
        return (t1 - t0) * 1000.0, leader


class Raftd(Cluster):
    name = "raftd"

    def __init__(self, top, build):
        super().__init__(top)
        self.raftd = os.path.join(build, "raftd")
        self.bench = os.path.join(build, "bench", "raftbench")
        self.ports = rt.free_ports(NODES)
        self.conf = os.path.join(self.dir, "cluster.conf")
        rt.write_config(self.conf, {i + 1: "127.0.0.1:%d" % p
                                    for i, p in enumerate(self.ports)},
                        os.path.join(self.dir, "node-%i"),
                        election=RAFTD_ELECTION, heartbeat=HEARTBEAT_MS)
        self.endpoints = ",".join("127.0.0.1:%d" % p for p in self.ports)

    def start(self, i):
        with open(os.path.join(self.dir, "node-%d.log" % i), "ab") as lf:
            self.procs[i] = spawn([self.raftd, "-c", self.conf, "-i", str(i)],
                                  stdout=lf, stderr=lf)

    def proxy(self, i, timeout=2.0):
        return rt.proxy("127.0.0.1:%d" % self.ports[i - 1], timeout)

    def wait_leader(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for i, p in self.procs.items():
                if p.poll() is not None:
                    continue
                try:
                    if self.proxy(i, 0.5).isLeader():
                        return i
                except (OSError, xmlrpc.client.Error):
                    pass
            time.sleep(0.01)
        return None

    def put_through(self, i):
        self.proxy(i).put("failover", "pre-%d" % os.getpid())

    def write_through_survivor(self, dead, seconds):
        survivors = [(i, self.proxy(i)) for i in self.procs if i != dead]
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            for _, px in survivors:
                n += 1
                try:
                    px.put("failover", "fo-%d-%d" % (os.getpid(), n))
                    return True
                except (OSError, xmlrpc.client.Error):
                    pass  # not leader (yet), or timed out: the next one
            time.sleep(0.001)
        return False

    def wait_ready(self, i, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                st = self.proxy(i, 0.5).status()
                if st["leader"] != 0 and st["lastApplied"] >= st["commitIndex"] > 0:
                    return True
            except (OSError, xmlrpc.client.Error, KeyError):
                pass
            time.sleep(0.02)
        return False

    def bench_argv(self, op, clients, seconds, warmup):
        return [self.bench, "-s", self.endpoints, "-c", str(clients),
                "-d", str(seconds), "-w", str(warmup), "-o", op, "-v", "100"]


class Etcd(Cluster):
    name = "etcd"

    def __init__(self, top, etcd, etcdbench, conns):
        super().__init__(top)
        self.etcd = etcd
        self.bench = etcdbench
        self.conns = conns
        ports = rt.free_ports(2 * NODES)
        self.client_ports, self.peer_ports = ports[:NODES], ports[NODES:]
        self.endpoints = ",".join("127.0.0.1:%d" % p for p in self.client_ports)
        self.initial = ",".join("n%d=http://127.0.0.1:%d" % (i + 1, p)
                                for i, p in enumerate(self.peer_ports))
        self.ctl = None

    def start(self, i):
        cu = "http://127.0.0.1:%d" % self.client_ports[i - 1]
        pu = "http://127.0.0.1:%d" % self.peer_ports[i - 1]
        # On a restart the member finds its WAL and ignores the --initial-*.
        argv = [self.etcd, "--name", "n%d" % i,
                "--data-dir", os.path.join(self.dir, "node-%d" % i),
                "--listen-client-urls", cu, "--advertise-client-urls", cu,
                "--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
                "--initial-cluster", self.initial,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", "sidebyside-%d" % os.getpid(),
                "--heartbeat-interval=%d" % HEARTBEAT_MS,
                "--election-timeout=%d" % ETCD_ELECTION_MS,
                "--logger=zap", "--log-outputs=stderr", "--log-level=warn"]
        with open(os.path.join(self.dir, "node-%d.log" % i), "ab") as lf:
            self.procs[i] = spawn(argv, stdout=lf, stderr=lf)

    def ctl_cmd(self, line, timeout):
        """One command to the etcdbench failover helper; its reply line."""
        if self.ctl is None:
            self.ctl = spawn([self.bench, "-s", self.endpoints, "-o", "failover"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=open(os.path.join(self.dir, "ctl.log"), "ab"),
                             text=True, bufsize=1)
            self.ctl_lines = queue.Queue()

            def reader(f, q):
                for ln in f:
                    q.put(ln.strip())
                q.put(None)
            threading.Thread(target=reader, args=(self.ctl.stdout, self.ctl_lines),
                             daemon=True).start()
        self.ctl.stdin.write(line + "\n")
        self.ctl.stdin.flush()
        try:
            reply = self.ctl_lines.get(timeout=timeout)
        except queue.Empty:
            reply = None
        if reply is None:
            raise RuntimeError("etcdbench helper: no reply to %r" % line)
        return reply

    def wait_leader(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            r = self.ctl_cmd("leader", 10).split()
            if len(r) == 2 and r[1] != "0":
                return int(r[1])
            time.sleep(0.02)
        return None

    def put_through(self, i):
        r = self.ctl_cmd("put %d" % i, 10)
        if r != "ok":
            raise RuntimeError("etcd put through %d: %s" % (i, r))

    def write_through_survivor(self, dead, seconds):
        return self.ctl_cmd("failover %d %d" % (dead, seconds * 1000),
                            seconds + 5) == "ok"

    def wait_ready(self, i, seconds):
        return self.ctl_cmd("ready %d %d" % (i, seconds * 1000), seconds + 5) == "ok"

    def bench_argv(self, op, clients, seconds, warmup):
        return [self.bench, "-s", self.endpoints, "-c", str(clients),
                "-n", str(self.conns), "-d", str(seconds), "-w", str(warmup),
                "-o", op, "-v", "100"]

    def stop_all(self):
        if self.ctl is not None:
            try:
                self.ctl.stdin.write("quit\n")
                self.ctl.stdin.flush()
            except OSError:
                pass
            stop(self.ctl)
            self.ctl = None
        super().stop_all()


def run_load(cl, op, clients, seconds, warmup, logdir):
    """One load phase; the bench's key=value summary plus the members' CPU
    ticks over its measured window (from its last warm-up progress line to
    its last progress line, which it prints at the end of the window)."""
    argv = cl.bench_argv(op, clients, seconds, warmup)
    errlog = open(os.path.join(logdir, "%s-%s-%d.log" % (cl.name, op, clients)), "a")
    marks = {}
    p = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if warmup == 0:
        marks["start"] = cl.cpu_ticks()

    def watch_stderr():
        for line in p.stderr:
            errlog.write(line)
            m = re.search(r"bench:\s+(\d+)s ", line)
            if m:
                sec = int(m.group(1))
                if sec == warmup:
                    marks["start"] = cl.cpu_ticks()
                elif sec == warmup + seconds:
                    marks["end"] = cl.cpu_ticks()
    t = threading.Thread(target=watch_stderr, daemon=True)
    t.start()
    # Not communicate(): it would read stderr too, behind the watcher's back.
    try:
        p.wait(timeout=warmup + seconds + 60)
    except subprocess.TimeoutExpired:
        stop(p)
        raise RuntimeError("%s: %s timed out" % (cl.name, " ".join(argv)))
    out = p.stdout.read()  # one summary line: fits in the pipe's buffer
    p.stdout.close()
    if p in PROCS:
        PROCS.remove(p)
    t.join(5)
    p.stderr.close()
    errlog.close()
    cl.sample_hwm()
    res = {}
    for kv in out.split():
        k, _, v = kv.partition("=")
        try:
            res[k] = float(v)
        except ValueError:
            res[k] = v
    if p.returncode != 0 or "ops_per_s" not in res:
        raise RuntimeError("%s: %s failed (exit %s): %s"
                           % (cl.name, " ".join(argv), p.returncode, out.strip()))
    if "start" in marks and "end" in marks and res["ops"] > 0:
        tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
        res["cpu_us_per_op"] = (marks["end"] - marks["start"]) * tick_us / res["ops"]
    return res


def build_etcdbench(src, outdir):
    env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode",
               GOFLAGS="", GOPROXY="off", CGO_ENABLED="0")
    if "HOME" not in env and "GOCACHE" not in env:
        env["GOCACHE"] = os.path.join(outdir, "gocache")
    out = os.path.join(outdir, "etcdbench")
    r = subprocess.run(["go", "build", "-o", out, "."], cwd=src, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=600)
    if r.returncode != 0:
        raise RuntimeError("building etcdbench failed (bench/deps.sh installs "
                           "golang-go and golang-etcd-server-dev):\n" + r.stdout)
    return out


def first_line(argv):
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=30)
        return r.stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def machine_line():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    u = platform.uname()
    return "%d cores (nproc), %s %s %s, %s" % (os.cpu_count(), u.system, u.release,
                                                u.machine, model)


def loadavg():
    """The first three fields of /proc/loadavg (1, 5 and 15 minutes)."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


class DataFiles:
    """The raw results as CSV, one row per phase or kill, written (and
    flushed) as they come, so that an interrupted run keeps what it took."""

    LOAD_KEYS = ("ops", "errors", "ops_per_s", "p50_ms", "p90_ms", "p99_ms",
                 "p999_ms", "max_ms", "cpu_us_per_op")

    def __init__(self, d, header):
        os.makedirs(d, exist_ok=True)
        self.loads = open(os.path.join(d, "sidebyside-loads.csv"), "w")
        self.fo = open(os.path.join(d, "sidebyside-failover.csv"), "w")
        for f, cols in ((self.loads, "system,round,op,clients,seconds,load1,"
                         + ",".join(self.LOAD_KEYS)),
                        (self.fo, "system,round,trial,killed,ms,load1")):
            for line in header:
                f.write("# %s\n" % line)
            f.write(cols + "\n")
            f.flush()

    def load(self, name, rnd, op, clients, seconds, load1, res):
        vals = []
        for k in self.LOAD_KEYS:
            v = res.get(k)
            if v is None:
                vals.append("")
            elif k in ("ops", "errors"):
                vals.append("%d" % v)
            else:
                vals.append("%.3f" % v)
        self.loads.write("%s,%d,%s,%d,%d,%s,%s\n" % (name, rnd, op, clients, seconds,
                                                    load1, ",".join(vals)))
        self.loads.flush()

    def kill(self, name, rnd, trial, killed, ms, load1):
        self.fo.write("%s,%d,%d,%d,%.1f,%s\n" % (name, rnd, trial, killed, ms, load1))
        self.fo.flush()

    def close(self, footer):
        for f in (self.loads, self.fo):
            for line in footer:
                f.write("# %s\n" % line)
            f.close()


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--raftd-build", default=os.path.dirname(here),
                    help="directory holding raftd and bench/raftbench")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10, help="measured seconds per phase")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up seconds per phase")
    ap.add_argument("--failover-trials", type=int, default=21,
                    help="leader kills per system, spread over the rounds")
    ap.add_argument("--etcd", default=shutil.which("etcd") or "/usr/bin/etcd")
    ap.add_argument("--etcdbench", default=None,
                    help="a built bench/etcdbench (default: build it now)")
    ap.add_argument("--etcd-conns", type=int, default=1,
                    help="gRPC connections the etcd clients share (0: one each)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 round, 2 s phases, 1 s warm-up, 3 kills")
    ap.add_argument("--put-clients", default="1,16,64",
                    help="client counts of the put phases, comma-separated")
    ap.add_argument("--data", metavar="DIR",
                    help="write the raw results as CSV into DIR (bench/plots.py)")
    a = ap.parse_args()
    try:
        put_clients = [int(x) for x in a.put_clients.split(",")]
    except ValueError:
        put_clients = []
    if not put_clients or min(put_clients) < 1 or max(put_clients) > 1000:
        ap.error("--put-clients: a comma-separated list of counts from 1 to 1000")
    if a.quick:
        a.rounds, a.seconds, a.warmup, a.failover_trials = 1, 2, 1, 3
    if a.rounds < 1 or a.seconds < 1 or a.warmup < 0 or a.failover_trials < 1:
        ap.error("--rounds, --seconds and --failover-trials must be >= 1")
    build = os.path.abspath(a.raftd_build)
    for f in (os.path.join(build, "raftd"), os.path.join(build, "bench", "raftbench"), a.etcd):
        if not os.access(f, os.X_OK):
            ap.error("%s: not found or not executable (bench/deps.sh, make)" % f)
    rng = random.Random(a.seed)

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    # SIGINT too, explicitly: a shell starts a background job with SIGINT
    # ignored, and Python then installs no handler of its own.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    top = tempfile.mkdtemp(prefix="sidebyside-")
    clusters = []
    data = None
    rc = 1
    try:
        logdir = os.path.join(top, "logs")
        os.mkdir(logdir)
        if a.etcdbench:
            etcdbench = os.path.abspath(a.etcdbench)
        else:
            log("== building bench/etcdbench (clientv3, offline, GOPATH mode)")
            etcdbench = build_etcdbench(os.path.join(here, "etcdbench"), top)
        versions = {
            "raftd": first_line([os.path.join(build, "raftd"), "--version"]),
            "etcd": first_line([a.etcd, "--version"]),
            "go": first_line(["go", "version"]),
        }
        conns = ("one per client" if a.etcd_conns == 0 else
                 "%d shared" % a.etcd_conns)
        clients_line = (
            "raftd: bench/raftbench (C, xmlrpc-c + libcurl; one thread and one "
            "keep-alive HTTP/1.1 connection per client, to the leader); "
            "etcd: bench/etcdbench (Go, etcd clientv3 3.4 from golang-etcd-server-dev; "
            "clients are goroutines over gRPC, connections to the leader: %s)" % conns)
        log("== machine: " + machine_line())
        log("== versions: %s; %s; %s" % (versions["raftd"], versions["etcd"], versions["go"]))
        log("== clients: " + clients_line)

        if a.data:
            data = DataFiles(a.data, [
                "bench/sidebyside.py " + " ".join(shlex.quote(x) for x in sys.argv[1:]),
                "date: " + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "loadavg at start: " + loadavg(),
                "machine: " + machine_line(),
                "versions: %s; %s; %s" % (versions["raftd"], versions["etcd"],
                                          versions["go"]),
                "rounds: %d, %d s measured after %d s warm-up per phase, "
                "%d kills per system" % (a.rounds, a.seconds, a.warmup,
                                         a.failover_trials)])

        raftd = Raftd(top, build)
        etcd = Etcd(top, a.etcd, etcdbench, a.etcd_conns)
        clusters = [raftd, etcd]
        for cl in clusters:
            cl.start_all()
        for cl in clusters:
            if cl.wait_leader(30) is None:
                raise RuntimeError("%s: no leader within 30 s (logs in %s)" % (cl.name, cl.dir))
        log("== %d nodes each on 127.0.0.1, fsync on, 100-byte values; "
            "raftd election %d-%d ms, etcd --election-timeout=%d; heartbeat %d ms"
            % (NODES, RAFTD_ELECTION[0], RAFTD_ELECTION[1], ETCD_ELECTION_MS, HEARTBEAT_MS))

        phases = [("put", c) for c in put_clients] + [("get", 16)]
        res = {(cl.name, op, c): [] for cl in clusters for op, c in phases}
        fo = {cl.name: [] for cl in clusters}
        per_round = [a.failover_trials // a.rounds + (1 if r < a.failover_trials % a.rounds else 0)
                     for r in range(a.rounds)]
        for r in range(a.rounds):
            for op, c in phases:
                for cl in clusters:
                    load1 = loadavg().split()[0]
                    x = run_load(cl, op, c, a.seconds, a.warmup, logdir)
                    res[(cl.name, op, c)].append(x)
                    if data:
                        data.load(cl.name, r + 1, op, c, a.seconds, load1, x)
                    cpu = x.get("cpu_us_per_op")
                    log("[round %d/%d] %-5s %s c=%-2d %8.0f ops/s  p50 %.3f ms  p99 %.3f ms  "
                        "errors %d%s" % (r + 1, a.rounds, cl.name, op, c, x["ops_per_s"],
                                         x["p50_ms"], x["p99_ms"], x["errors"],
                                         "  cpu %.0f us/op" % cpu if cpu is not None else ""))
            for cl in clusters:
                for t in range(per_round[r]):
                    load1 = loadavg().split()[0]
                    ms, who = cl.kill_leader_and_time(rng, t)
                    fo[cl.name].append(ms)
                    if data:
                        data.kill(cl.name, r + 1, t + 1, who, ms, load1)
                    log("[round %d/%d] %-5s failover %d: killed node %d, write committed "
                        "after %.0f ms" % (r + 1, a.rounds, cl.name, t + 1, who, ms))
        for cl in clusters:
            cl.sample_hwm()

        def m(name, op, c, key):
            return med([x[key] for x in res[(name, op, c)] if key in x])

        rows = []

        def row(metric, rv, ev, unit, fmt, target="", ok=None):
            ratio = rv / ev if ev else float("nan")
            t = target
            if ok is not None:
                t += " (met)" if ok else " (NOT met)"
            rows.append("| %s | %s | %s | %.2f | %s |" % (
                metric, (fmt % rv) + unit, (fmt % ev) + unit, ratio, t))

        for c in (c for c in (1, 16, 64) if c in put_clients):
            rv, ev = m("raftd", "put", c, "ops_per_s"), m("etcd", "put", c, "ops_per_s")
            if c == 64:
                row("puts/s, 64 clients", rv, ev, "", "%.0f", "≥ 3× etcd", rv >= 3 * ev)
            else:
                row("puts/s, %d client%s" % (c, "s" if c > 1 else ""), rv, ev, "", "%.0f")
        if 1 in put_clients:
            rv, ev = m("raftd", "put", 1, "p50_ms"), m("etcd", "put", 1, "p50_ms")
            row("put p50, 1 client", rv, ev, " ms", "%.3f", "≤ 0.6 ms", rv <= 0.6)
            row("put p99, 1 client", m("raftd", "put", 1, "p99_ms"),
                m("etcd", "put", 1, "p99_ms"), " ms", "%.3f")
        if 64 in put_clients:
            row("put p50, 64 clients", m("raftd", "put", 64, "p50_ms"),
                m("etcd", "put", 64, "p50_ms"), " ms", "%.3f")
            row("put p99, 64 clients", m("raftd", "put", 64, "p99_ms"),
                m("etcd", "put", 64, "p99_ms"), " ms", "%.3f")
        row("linearizable gets/s, 16 clients", m("raftd", "get", 16, "ops_per_s"),
            m("etcd", "get", 16, "ops_per_s"), "", "%.0f")
        rv, ev = med(fo["raftd"]), med(fo["etcd"])
        row("failover median (%d kills each)" % len(fo["raftd"]), rv, ev, " ms", "%.0f",
            "≤ 250 ms", rv <= 250)
        rv, ev = max(fo["raftd"]), max(fo["etcd"])
        row("failover max", rv, ev, " ms", "%.0f", "≤ 600 ms", rv <= 600)
        rv, ev = raftd.hwm_kib / 1024.0, etcd.hwm_kib / 1024.0
        row("peak RSS per node (VmHWM, max)", rv, ev, " MiB", "%.1f", "≤ 15 MiB", rv <= 15)
        if 64 in put_clients:
            rv, ev = (m("raftd", "put", 64, "cpu_us_per_op"),
                      m("etcd", "put", 64, "cpu_us_per_op"))
            row("server CPU per put, 5 nodes summed (64-client phase)", rv, ev, " µs",
                "%.0f", "≤ 150 µs", rv <= 150)

        log("")
        log("Machine: " + machine_line())
        log("Versions: %s; %s; %s" % (versions["raftd"], versions["etcd"], versions["go"]))
        log("Clients: " + clients_line)
        log("Run: %d round%s alternating raftd and etcd, %d s measured after %d s warm-up "
            "per phase; figures are medians over the rounds (failover: all kills pooled); "
            "ratio = raftd / etcd." % (a.rounds, "s" if a.rounds > 1 else "", a.seconds,
                                        a.warmup))
        log("")
        log("| metric | raftd | etcd | ratio | target |")
        log("|---|---|---|---|---|")
        for line in rows:
            log(line)
        if data:
            data.close(["loadavg at end: " + loadavg(),
                        "peak RSS per node (VmHWM, max): raftd %.1f MiB, etcd %.1f MiB"
                        % (raftd.hwm_kib / 1024.0, etcd.hwm_kib / 1024.0),
                        "complete: yes"])
            data = None
        rc = 0
    except KeyboardInterrupt as e:
        print("sidebyside: interrupted (%s); stopping everything" % (e or "SIGINT"),
              file=sys.stderr)
        rc = 130
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print("sidebyside: %s" % e, file=sys.stderr)
        rc = 1
    finally:
        if data:
            data.close(["loadavg at end: " + loadavg(), "complete: no (the run failed)"])
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for cl in clusters:
            try:
                cl.stop_all()
            except (OSError, RuntimeError):
                pass
        for p in list(PROCS):
            stop(p)
        if rc != 0 and os.environ.get("SIDEBYSIDE_KEEP"):
            print("sidebyside: logs kept in %s" % top, file=sys.stderr)
        else:
            shutil.rmtree(top, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
