#!/usr/bin/env python3
# nemesis.py: Jepsen-style fault runs against a real 5-node raftd cluster: concurrent clients record a history while a nemesis injects faults, then the history is checked.
#
# One run: start 5 raftd processes (on loopback, or each in its own network
# namespace on a bridge when the nemesis needs the network), start client
# threads (registers with put/get/cas/delete, a counter incremented by cas,
# addEntry with reads of the log), inject faults from a seeded schedule,
# heal, let the cluster settle, read the final state, and check the history
# (checker.py).  Everything the run creates (processes, namespaces, bridge,
# veths, nft tables, the temp dir) is removed at the end, also when it fails
# or is interrupted.
#
#     tests/fault/nemesis.py --nemesis kill|pause|partition|loss|torn|all|mix
#                            [--seconds S] [--seed N] [--nodes 5]
#
# Every nemesis but mix injects one fault at a time with a healthy gap after
# it; mix keeps several faults active at once (each new one begins while the
# previous one still holds), with at most a minority of the nodes down or
# paused.  SEED=n (or --seed n) replays the fault schedule: which fault,
# which targets (by role or by id), how long and, for mix, when each fault
# begins relative to the previous one are drawn from the seed alone.
# Exit status: 0 all checks passed, 1 a check failed, 77 skipped (the
# nemesis needs namespaces that cannot be had here), 99 the harness failed.
import argparse
import errno
import http.client
import json
import os
import random
import secrets
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import xml.parsers.expat
import xmlrpc.client

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402
from checker import ABSENT, FAIL, OK, UNKNOWN, Op  # noqa: E402

NEMESES = ("kill", "pause", "partition", "loss", "torn")
NET_NEMESES = ("partition", "loss")
PROC_NEMESES = ("kill", "pause", "torn")   # take nodes down or pause them
MIX = "mix"      # all of NEMESES, overlapping (MixNemesis)

# Fault codes (docs/API.md).
NOT_LEADER, TIMEOUT, INVALID, NOT_FOUND, UNAUTHORIZED, UNAVAILABLE = range(
    1, 7)

# "Could not talk to that node": down, reset, timed out, or an answer cut
# short (http.client returns a body cut by a dying node as a short read, so
# the XML parser fails on it).
CONN_ERRORS = (OSError, http.client.HTTPException,
               xmlrpc.client.ProtocolError, xmlrpc.client.ResponseError,
               xml.parsers.expat.ExpatError)
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:",
                   "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer")
TORN_RE = re.compile(r"dropped torn tail at offset (\d+) \((\d+) bytes\)")

START_TIMEOUT = 20.0     # a sanitizer build starts slowly
STOP_TIMEOUT = 8.0
CMD_TIMEOUT = 15.0       # ip / nft commands
SUBNET = "192.168.251"   # only ever on interfaces this file creates
BLOCKS = 16              # /28 blocks of SUBNET.0/24, one per concurrent run
RAFTD_PORT = 8001        # in netns mode every node has an address of its own


class Skip(Exception):
    """This run cannot be done here (exit 77)."""


class HarnessError(Exception):
    """The harness itself failed (exit 99)."""


def now():
    return time.monotonic()


def build_path(name):
    """A program built at the top of the build tree."""
    top = os.environ.get("top_builddir")
    if top is None:
        top = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "..", "..")
    return os.path.abspath(os.path.join(top, name))


def run_cmd(argv, input_text=None, check=True):
    """Runs a short command (ip, nft), bounded in time; returns its
    CompletedProcess; raises HarnessError when it fails and check is set."""
    try:
        p = subprocess.run(argv, input=input_text, capture_output=True,
                           text=True, timeout=CMD_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        if check:
            raise HarnessError("%s: %s" % (" ".join(argv), e))
        return None
    if check and p.returncode != 0:
        raise HarnessError("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                                p.stderr.strip()))
    return p


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] not in "ZX"


def tail(path, lines=30, grep=None):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    if grep is not None:
        text = [t for t in text if grep.search(t)]
    return "\n".join(text[-lines:])


# ---- networks ---------------------------------------------------------------

class LoopbackNet:
    """Nodes on 127.0.0.1 with ports free now; no network faults."""

    netns = False

    def setup(self, ids):
        self.addr = {}
        ports = free_ports(len(ids))
        for nid, port in zip(ids, ports):
            self.addr[nid] = ("127.0.0.1", port)

    def renumber(self, ids):
        self.setup(ids)

    def prefix(self, nid):
        return []

    def heal(self):
        pass

    def teardown(self):
        return []

    def describe(self):
        return "loopback"


def free_ports(n):
    """n distinct loopback ports free now, below the ephemeral range (so
    that an outgoing connection cannot take a node's port while it is
    down)."""
    lo = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    ports = []
    socks = []
    try:
        for _ in range(300 * n):
            if len(ports) == n:
                break
            p = random.randrange(10000, lo) if lo > 12000 else 0
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                s.close()
                continue
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    if len(ports) != n:
        raise HarnessError("could not find %d free ports" % n)
    return ports


class NetnsNet:
    """Each node in a network namespace of its own, joined by a veth pair
    to a bridge in the root namespace that also carries the clients'
    address.  Faults are nftables rules in each node's namespace (table
    inet raftfault, chain input), so a cut a -> b drops a's packets when
    they reach b.  Addresses come from a /28 of SUBNET claimed by creating
    the bridge rfault<k> (the name is the lock)."""

    netns = True
    TABLE = "raftfault"

    def __init__(self):
        self.block = None
        self.bridge = None
        self.ns = {}       # nid -> namespace name
        self.veths = []
        self.addr = {}
        self.rules = {}    # nid -> the rules now in its input chain

    @staticmethod
    def available():
        """None when namespaces can be had, else the reason why not."""
        if os.geteuid() != 0:
            return "network namespaces need root (running as uid %d)" % \
                os.geteuid()
        for prog in ("ip", "nft"):
            if shutil.which(prog) is None:
                return "%s is not installed (Debian package %s)" % (
                    prog, {"ip": "iproute2", "nft": "nftables"}[prog])
        return None

    def _ip(self, *args, check=True):
        return run_cmd(["ip"] + list(args), check=check)

    def _claim(self):
        for k in range(BLOCKS):
            name = "rfault%d" % k
            p = self._ip("link", "add", name, "type", "bridge", check=False)
            if p is not None and p.returncode == 0:
                self.block = k
                self.bridge = name
                self._ip("link", "set", "dev", name, "alias",
                         "raftd-fault pid=%d" % os.getpid())
                return
            self._reclaim_stale(k)
            p = self._ip("link", "add", name, "type", "bridge", check=False)
            if p is not None and p.returncode == 0:
                self.block = k
                self.bridge = name
                self._ip("link", "set", "dev", name, "alias",
                         "raftd-fault pid=%d" % os.getpid())
                return
        raise Skip("all %d address blocks of %s.0/24 are in use by other "
                   "fault runs" % (BLOCKS, SUBNET))

    def _reclaim_stale(self, k):
        """Removes what a killed earlier run left in block k: only when the
        bridge's alias names a process of ours that is gone."""
        name = "rfault%d" % k
        p = self._ip("-o", "link", "show", "dev", name, check=False)
        if p is None or p.returncode != 0:
            return
        m = re.search(r"alias raftd-fault pid=(\d+)", p.stdout)
        if not m or pid_alive(int(m.group(1))):
            return
        prefix = "rfault%d-" % k
        p = self._ip("netns", "list", check=False)
        for line in (p.stdout.splitlines() if p else []):
            ns = line.split()[0] if line.split() else ""
            if not ns.startswith(prefix):
                continue
            pids = self._ip("netns", "pids", ns, check=False)
            for pid in (pids.stdout.split() if pids else []):
                # Processes in a namespace of ours are ours (raftd).
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            self._ip("netns", "del", ns, check=False)
        self._ip("link", "del", name, check=False)

    def setup(self, ids):
        why = self.available()
        if why:
            raise Skip(why)
        self._claim()
        base = 16 * self.block
        br = self.bridge
        self.bridge_ip = "%s.%d" % (SUBNET, base + 1)
        self._ip("addr", "add", "%s/28" % self.bridge_ip, "dev", br)
        self._ip("link", "set", br, "up")
        for nid in ids:
            ns = "rfault%d-n%d" % (self.block, nid)
            p = self._ip("netns", "add", ns, check=False)
            if p is None or p.returncode != 0:
                raise Skip("ip netns add failed: %s" %
                           (p.stderr.strip() if p else "no ip"))
            self.ns[nid] = ns
            host = "rf%dv%d" % (self.block, nid)
            peer = "rf%dp%d" % (self.block, nid)
            self._ip("link", "add", host, "type", "veth", "peer", "name",
                     peer)
            self.veths.append(host)
            self._ip("link", "set", peer, "netns", ns)
            self._ip("link", "set", host, "master", br, "up")
            ip = "%s.%d" % (SUBNET, base + 1 + nid)
            self._ip("-n", ns, "link", "set", peer, "name", "eth0")
            self._ip("-n", ns, "addr", "add", "%s/28" % ip, "dev", "eth0")
            self._ip("-n", ns, "link", "set", "eth0", "up")
            self._ip("-n", ns, "link", "set", "lo", "up")
            self._nft(nid, "add table inet %s\n"
                      "add chain inet %s input { type filter hook input "
                      "priority 0; policy accept; }\n" %
                      (self.TABLE, self.TABLE))
            self.addr[nid] = (ip, RAFTD_PORT)
            self.rules[nid] = []

    def renumber(self, ids):
        raise HarnessError("netns addresses cannot be busy")

    def prefix(self, nid):
        return ["ip", "netns", "exec", self.ns[nid]]

    def _nft(self, nid, script):
        run_cmd(["ip", "netns", "exec", self.ns[nid], "nft", "-f", "-"],
                input_text=script)

    def set_rules(self, rules):
        """rules: nid -> list of nft rule bodies for its input chain; the
        chain is replaced atomically (one nft transaction per node)."""
        for nid in self.ns:
            want = list(rules.get(nid, []))
            if want == self.rules.get(nid):
                continue
            script = "flush chain inet %s input\n" % self.TABLE
            for r in want:
                script += "add rule inet %s input %s\n" % (self.TABLE, r)
            self._nft(nid, script)
            self.rules[nid] = want

    def ip(self, nid):
        return self.addr[nid][0]

    def apply(self, drops, losses):
        """Sets the network faults, replacing the ones before.  drops: a
        set of directed pairs (src, dst): packets from src to dst are
        dropped (at dst).  losses: a list of (pct, nids, clients): pct% of
        the packets each of `nids` receives from the other nodes, and with
        `clients` from the clients too, are dropped.  Several partitions
        and losses (the mix nemesis) add up: their rules go into the same
        chains."""
        rules = {}
        for src, dst in sorted(drops):
            rules.setdefault(dst, []).append("ip saddr %s drop" %
                                             self.ip(src))
        for pct, nids, clients in losses:
            for nid in nids:
                srcs = [self.ip(o) for o in self.ns if o != nid]
                if clients:
                    srcs.append(self.bridge_ip)
                rules.setdefault(nid, []).append(
                    "ip saddr { %s } numgen random mod 100 < %d drop" %
                    (", ".join(srcs), pct))
        self.set_rules(rules)

    def heal(self):
        self.set_rules({})

    def list_rules(self, nid):
        p = run_cmd(["ip", "netns", "exec", self.ns[nid], "nft", "list",
                     "table", "inet", self.TABLE], check=False)
        return p.stdout if p else ""

    def netem_probe(self):
        """None when tc netem works in a node's namespace, else why not."""
        if shutil.which("tc") is None:
            return "tc is not installed (Debian package iproute2)"
        nid = sorted(self.ns)[0]
        p = run_cmd(["ip", "netns", "exec", self.ns[nid], "tc", "qdisc",
                     "add", "dev", "eth0", "root", "netem", "delay", "1ms"],
                    check=False)
        if p is None:
            return "tc did not run"
        if p.returncode != 0:
            return "tc netem is not available: %s" % p.stderr.strip()
        run_cmd(["ip", "netns", "exec", self.ns[nid], "tc", "qdisc", "del",
                 "dev", "eth0", "root"], check=False)
        return None

    def teardown(self):
        """Removes everything setup() created; returns problems."""
        problems = []
        for ns in self.ns.values():
            pids = self._ip("netns", "pids", ns, check=False)
            for pid in (pids.stdout.split() if pids else []):
                problems.append("process %s still ran in namespace %s" %
                                (pid, ns))
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            p = self._ip("netns", "del", ns, check=False)
            if p is None or p.returncode != 0:
                problems.append("ip netns del %s failed" % ns)
        for v in self.veths:
            self._ip("link", "del", v, check=False)  # gone with the ns
        if self.bridge:
            p = self._ip("link", "del", self.bridge, check=False)
            if p is None or p.returncode != 0:
                problems.append("ip link del %s failed" % self.bridge)
        self.ns = {}
        self.veths = []
        self.bridge = None
        return problems

    def describe(self):
        return "namespaces rfault%d-n*, bridge %s (%s)" % (
            self.block, self.bridge, self.bridge_ip)


# ---- the cluster ------------------------------------------------------------

class Node:
    def __init__(self, nid):
        self.id = nid
        self.proc = None
        self.paused = False
        self.expect_exit = False
        self.crashes = []     # (time, return code) of exits we did not cause
        self.starts = 0

    @property
    def pid(self):
        return self.proc.pid if self.proc else None


class Cluster:
    def __init__(self, net, n, workdir, election=(150, 300), heartbeat=50,
                 request_timeout=1500, log_level="info"):
        self.net = net
        self.dir = workdir
        self.ids = list(range(1, n + 1))
        self.nodes = {nid: Node(nid) for nid in self.ids}
        self.election = election
        self.heartbeat = heartbeat
        self.request_timeout = request_timeout
        self.secret = secrets.token_hex(16)
        self.log_level = log_level
        self.conf = os.path.join(workdir, "raftd.conf")
        self.raftd = build_path("raftd")
        self.lock = threading.Lock()
        self.closed = False
        net.setup(self.ids)
        self.write_config()

    @property
    def quorum(self):
        return len(self.ids) // 2 + 1

    def address(self, nid):
        host, port = self.net.addr[nid]
        return "%s:%d" % (host, port)

    def data_dir(self, nid):
        return os.path.join(self.dir, "node-%d" % nid)

    def raftlog(self, nid):
        return os.path.join(self.data_dir(nid), "raftlog")

    def log_path(self, nid):
        return os.path.join(self.dir, "node-%d.log" % nid)

    def log_text(self, nid):
        try:
            with open(self.log_path(nid), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def write_config(self):
        nodes = ",\n".join('    { id = %d; address = "%s"; }' %
                           (nid, self.address(nid)) for nid in self.ids)
        with open(self.conf, "w") as f:
            f.write("# written by tests/fault/nemesis.py\n"
                    "cluster = {\n  nodes = (\n%s\n  );\n"
                    '  secret = "%s";\n};\n'
                    'data_dir = "%s/node-%%i";\n'
                    "election_timeout_ms = { min = %d; max = %d; };\n"
                    "heartbeat_ms = %d;\nrequest_timeout_ms = %d;\n" %
                    (nodes, self.secret, self.dir, self.election[0],
                     self.election[1],
                     self.heartbeat, self.request_timeout))

    # -- processes -----------------------------------------------------------

    def _spawn(self, nid):
        with self.lock:
            if self.closed:
                raise HarnessError("the run is over: node %d not started" %
                                   nid)
            self._spawn_locked(nid)

    def _spawn_locked(self, nid):
        node = self.nodes[nid]
        argv = self.net.prefix(nid) + [self.raftd, "-c", self.conf, "-i",
                                       str(nid), "--log-level",
                                       self.log_level]
        with open(self.log_path(nid), "ab") as logf:
            logf.write(("=== nemesis: starting node %d: %s\n" %
                        (nid, " ".join(argv))).encode())
            logf.flush()
            node.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf,
                                         cwd=self.dir)
        node.expect_exit = False
        node.paused = False
        node.starts += 1

    def reap(self):
        """Notes nodes that exited without being asked to (crashes)."""
        for node in self.nodes.values():
            if node.proc is not None and node.proc.poll() is not None:
                if not node.expect_exit:
                    node.crashes.append((now(), node.proc.returncode))
                node.proc = None
                node.paused = False

    def running(self, nid):
        # One read of node.proc: the mix nemesis's catch-up watchers call
        # this while the nemesis thread sets proc to None after a kill.
        proc = self.nodes[nid].proc
        return proc is not None and proc.poll() is None

    def up(self):
        """Nodes running and not paused."""
        return [nid for nid in self.ids if self.running(nid) and
                not self.nodes[nid].paused]

    def _last_run_log(self, nid):
        return self.log_text(nid).rsplit("=== nemesis:", 1)[-1]

    def start(self, nid, timeout=START_TIMEOUT):
        """Starts node nid (not running); waits until it answers status().
        Retries while its port is still taken.  Raises HarnessError if it
        exits at start for another reason (the log says why)."""
        self.reap()
        if self.running(nid):
            raise HarnessError("node %d is already running" % nid)
        deadline = now() + timeout
        for attempt in range(100):
            self._spawn(nid)
            node = self.nodes[nid]
            while now() < deadline:
                if node.proc.poll() is not None:
                    break
                try:
                    st = client_proxy(self.address(nid), 1.0).status()
                    if st.get("id") == nid:
                        return
                except (CONN_ERRORS + (xmlrpc.client.Fault,)):
                    pass
                time.sleep(0.02)
            rc = node.proc.poll()
            if rc is None:
                node.expect_exit = True
                node.proc.kill()
                node.proc.wait(STOP_TIMEOUT)
                node.proc = None
                raise HarnessError("node %d did not answer within %.0f s" %
                                   (nid, timeout))
            node.proc = None
            if "cannot listen" not in self._last_run_log(nid) or \
                    now() >= deadline:
                raise HarnessError("node %d exited with %s at start:\n%s" %
                                   (nid, rc, tail(self.log_path(nid), 15)))
            time.sleep(0.2)   # the old socket is still going away
        raise HarnessError("node %d: could not start" % nid)

    def start_all(self):
        for attempt in range(3):
            try:
                for nid in self.ids:
                    self.start(nid)
                return
            except HarnessError as e:
                if "cannot listen" not in str(e) or self.net.netns:
                    raise
                self.stop_all()
                self.net.renumber(self.ids)
                self.write_config()
        raise HarnessError("could not bind the cluster's ports")

    def signal(self, nid, sig):
        node = self.nodes[nid]
        if node.proc is not None and node.proc.poll() is None:
            os.kill(node.proc.pid, sig)

    def kill9(self, nid):
        node = self.nodes[nid]
        self.reap()
        if node.proc is None:
            return
        node.expect_exit = True
        self.signal(nid, signal.SIGKILL)
        try:
            node.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise HarnessError("node %d survived SIGKILL" % nid)
        node.proc = None
        node.paused = False

    def pause(self, nid):
        self.signal(nid, signal.SIGSTOP)
        self.nodes[nid].paused = True

    def resume(self, nid):
        self.signal(nid, signal.SIGCONT)
        self.nodes[nid].paused = False

    def stop(self, nid):
        """SIGTERM (after SIGCONT); returns the exit code, None if it had
        to be killed."""
        node = self.nodes[nid]
        self.reap()
        if node.proc is None:
            return 0
        node.expect_exit = True
        self.signal(nid, signal.SIGCONT)
        self.signal(nid, signal.SIGTERM)
        try:
            rc = node.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            rc = None
            self.signal(nid, signal.SIGKILL)
            try:
                node.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        node.proc = None
        node.paused = False
        return rc

    def stop_all(self):
        """SIGTERM every node at once; returns problems (non-zero exits)."""
        problems = []
        live = [nid for nid in self.ids if self.running(nid)]
        for nid in live:
            self.nodes[nid].expect_exit = True
            self.signal(nid, signal.SIGCONT)
            self.signal(nid, signal.SIGTERM)
        deadline = now() + STOP_TIMEOUT
        for nid in live:
            node = self.nodes[nid]
            try:
                rc = node.proc.wait(max(0.1, deadline - now()))
            except subprocess.TimeoutExpired:
                rc = None
                node.proc.kill()
                node.proc.wait(STOP_TIMEOUT)
            node.proc = None
            node.paused = False
            if rc != 0:
                problems.append("node %d exited with %s on SIGTERM" %
                                (nid, rc))
        return problems

    def kill_all(self):
        """SIGKILL every node, for good: no node starts after this."""
        with self.lock:
            self.closed = True
        for nid in self.ids:
            node = self.nodes[nid]
            if node.proc is not None:
                node.expect_exit = True
                try:
                    node.proc.kill()
                    node.proc.wait(STOP_TIMEOUT)
                except (OSError, subprocess.TimeoutExpired):
                    pass
                node.proc = None

    def sanitizer_reports(self):
        out = []
        for nid in self.ids:
            text = self.log_text(nid)
            for mark in SANITIZER_MARKS:
                if mark in text:
                    out.append("node %d's log has a sanitizer report (%s)" %
                               (nid, mark))
        return out

    # -- talking to nodes ----------------------------------------------------

    def proxy(self, nid, timeout=2.0):
        return client_proxy(self.address(nid), timeout)

    def statuses(self, nids=None, timeout=1.0):
        out = {}
        for nid in (nids if nids is not None else self.up()):
            try:
                out[nid] = self.proxy(nid, timeout).status()
            except (CONN_ERRORS + (xmlrpc.client.Fault,)):
                pass
        return out

    def leader(self):
        """The node that says it leads with the highest term, or None."""
        best = None
        for nid, st in self.statuses().items():
            if st.get("state") == "leader" and \
                    (best is None or st["term"] > best[1]):
                best = (nid, st["term"])
        return best[0] if best else None

    def wait_healthy(self, timeout, settled=True):
        """Waits until every node is up and agrees on one leader and term;
        with `settled` (no client writing), also until they all have the
        same commit index, applied index and last log index.  Returns (ok,
        the last statuses)."""
        deadline = now() + timeout
        sts = {}
        while now() < deadline:
            sts = self.statuses(self.ids)
            if len(sts) == len(self.ids):
                leaders = {s["leader"] for s in sts.values()}
                terms = {s["term"] for s in sts.values()}
                idx = {(s["commitIndex"], s["lastApplied"], s["lastLogIndex"])
                       for s in sts.values()}
                lid = next(iter(leaders))
                if len(leaders) == 1 and len(terms) == 1 and lid in sts and \
                        sts[lid]["state"] == "leader":
                    if not settled:
                        return True, sts
                    if len(idx) == 1:
                        c, a, last = idx.pop()
                        if c == a == last:
                            return True, sts
            time.sleep(0.05)
        return False, sts


class MaybeDelivered(OSError):
    """A request sent on a kept-alive connection that was then reset or
    closed, and whose resend was refused: the node may have received (and
    applied) the first copy, so this is no answer, not a refusal."""


class _Transport(xmlrpc.client.Transport):
    def __init__(self, timeout):
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn

    def request(self, host, handler, request_body, verbose=False):
        # xmlrpc.client resends once, silently, when a cached connection
        # is reset or closed.  The first copy may have reached a node that
        # then died: if the resend is refused, a plain
        # ConnectionRefusedError would make the client record a write
        # that was applied as one that cannot have been (soak round
        # "mix" seed 2140697075 found this).
        for i in (0, 1):
            try:
                return self.single_request(host, handler, request_body,
                                           verbose)
            except http.client.RemoteDisconnected:
                if i:
                    raise
            except ConnectionRefusedError as e:
                if i:
                    raise MaybeDelivered(e.errno, "connection refused on "
                                         "resend after a reset") from e
                raise
            except OSError as e:
                if i or e.errno not in (errno.ECONNRESET, errno.ECONNABORTED,
                                        errno.EPIPE):
                    raise


def client_proxy(address, timeout):
    return xmlrpc.client.ServerProxy("http://%s/RPC2" % address,
                                     transport=_Transport(timeout))


# ---- the raftlog file (docs/RAFTLOG-FORMAT.md) ------------------------------

REC_ENTRY = 1
REC_COMMIT = 2


def raftlog_records(path):
    """The complete records of a raftlog: dicts {offset, size, type, index,
    term}.  Lengths only (no checksums): enough to find record boundaries;
    a record cut short by the end of the file is left out."""
    with open(path, "rb") as f:
        data = f.read()
    recs = []
    off = 32
    for _ in range(len(data) // 8 + 1):
        if off + 16 > len(data):
            break
        (length,) = struct.unpack_from("<I", data, off + 4)
        size = 16 + length
        size += (-size) % 8
        if off + size > len(data):
            break
        rec = {"offset": off, "size": size, "type": data[off + 8]}
        if rec["type"] == REC_ENTRY and length >= 17:
            rec["index"], rec["term"] = struct.unpack_from("<QQ", data,
                                                           off + 16)
        recs.append(rec)
        off += size
    return recs, len(data)


# ---- clients ----------------------------------------------------------------

class Client:
    """One client thread's view of the cluster: a leader guess, one proxy
    per node, and calls that follow NOT_LEADER hints and retry with the
    same arguments (so the same tid) until a deadline."""

    HINT = re.compile(r"leader=(\d+)@")

    def __init__(self, run, rng, rpc_timeout, op_timeout=6.0):
        self.run = run
        self.cluster = run.cluster
        self.rng = rng
        self.rpc_timeout = rpc_timeout
        self.op_timeout = op_timeout
        self.leader = None
        self.proxies = {}

    def _proxy(self, nid):
        p = self.proxies.get(nid)
        if p is None:
            p = client_proxy(self.cluster.address(nid), self.rpc_timeout)
            self.proxies[nid] = p
        return p

    def _drop(self, nid):
        self.proxies.pop(nid, None)

    def call(self, method, args, timeout, write):
        """Returns (status, result): OK with the answer (a get of an absent
        key answers ABSENT), FAIL when no attempt can have taken effect,
        UNKNOWN otherwise.  self.answered is the node that answered."""
        self.answered = None
        deadline = now() + timeout
        maybe = False
        ids = self.cluster.ids
        for attempt in range(2000):
            if now() >= deadline or self.run.abort.is_set():
                break
            nid = self.leader if self.leader is not None else \
                self.rng.choice(ids)
            pause = 0.0
            t1 = now()
            outcome = "ok"
            try:
                res = getattr(self._proxy(nid), method)(*args)
                self.answered = nid
                return OK, res
            except xmlrpc.client.Fault as f:
                code = f.faultCode
                outcome = "fault %d" % code
                if code == NOT_FOUND and method == "get":
                    self.answered = nid
                    outcome = "ok"
                    return OK, ABSENT
                if code == NOT_LEADER:
                    m = self.HINT.search(f.faultString)
                    hint = int(m.group(1)) if m else None
                    if hint in ids and hint != nid:
                        self.leader = hint
                    else:
                        self.leader = None
                        pause = 0.03
                elif code == TIMEOUT:
                    maybe = maybe or write
                    self.leader = None
                elif code == UNAVAILABLE:
                    maybe = maybe or write
                    self.leader = None
                    pause = 0.03
                else:
                    # INVALID on a retry means the node forgot or confused
                    # our tid: a bug.  Keep the op unknown, report it.
                    self.run.unexpected("%s%r on node %d: fault %d %s" %
                                        (method, tuple(args), nid, code,
                                         f.faultString))
                    return UNKNOWN if write else FAIL, None
            except ConnectionRefusedError:
                outcome = "refused"
                self._drop(nid)
                self.leader = None
                pause = 0.02
            except CONN_ERRORS:
                # The request may have reached the node (a paused or dying
                # node, a reset): the write may have been appended.
                outcome = "no answer"
                self._drop(nid)
                maybe = maybe or write
                self.leader = None
            finally:
                t2 = now()
                if t2 - t1 > 0.25:
                    self.run.slow_attempt(nid, t1, t2, outcome)
            if pause:
                # A pause between attempts (nobody leads, or the node is
                # down): the next attempt checks again.
                time.sleep(pause)
        return (UNKNOWN if maybe else FAIL), None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.incr_acked = 0
        self.incr_unknown = 0


def register_worker(run, p, rng, cl):
    keys = run.keys
    last_seen = {}
    for seq in range(run.max_ops):
        if run.stop.is_set():
            break
        k = rng.choice(keys)
        x = rng.random()
        tid = "%s-p%d-%d" % (run.tag, p, seq)
        v = "p%d-%d" % (p, seq)
        if x < 0.4:
            op = Op(p, "get", k)
            args, write = [k], False
        elif x < 0.65:
            op = Op(p, "put", k, v, tid=tid)
            args, write = [k, v, tid], True
        elif x < 0.85:
            old = last_seen.get(k)
            if old is None or rng.random() < 0.15:
                old = ""
            op = Op(p, "cas", k, (old, v), tid=tid)
            args, write = [k, old, v, tid], True
        else:
            op = Op(p, "delete", k, tid=tid)
            args, write = [k, tid], True
        run.do(cl, op, "get" if op.f == "get" else op.f, args, write)
        if op.f == "get" and op.status == OK:
            last_seen[k] = op.result


def counter_worker(run, p, rng, cl):
    k = run.counter_key
    seq = 0
    for _ in range(run.max_ops):
        if run.stop.is_set():
            break
        rd = Op(p, "get", k)
        run.do(cl, rd, "get", [k], False)
        if rd.status != OK:
            continue
        try:
            v = int(rd.result)
        except (TypeError, ValueError):
            run.unexpected("counter holds %r" % (rd.result,))
            break
        seq += 1
        tid = "%s-c%d-%d" % (run.tag, p, seq)
        op = Op(p, "cas", k, (str(v), str(v + 1)), tid=tid)
        run.do(cl, op, "cas", [k, str(v), str(v + 1), tid], True)
        with run.stats.lock:
            if op.status == OK and op.result is True:
                run.stats.incr_acked += 1
            elif op.status == UNKNOWN:
                run.stats.incr_unknown += 1


def log_worker(run, p, rng, cl):
    for seq in range(run.max_ops):
        if run.stop.is_set():
            break
        if rng.random() < run.log_read_p:
            op = Op(p, "read")
            run.do(cl, op, "getEntries", [1, 100000], False)
        else:
            tid = "%s-a%d-%d" % (run.tag, p, seq)
            op = Op(p, "add", tid, "e-p%d-%d" % (p, seq))
            run.do(cl, op, "addEntry", [tid, op.value], True)


# ---- the nemesis ------------------------------------------------------------

def hold(rng, lo, hi):
    """How long a fault lasts: mostly lo..hi s; one in ten lasts 5-10 s,
    longer than a client's whole retry window, so that some outcomes stay
    unknown and a deposed leader's queued requests time out."""
    if rng.random() < 0.1:
        return round(rng.uniform(5.0, 10.0), 2)
    return round(rng.uniform(lo, hi), 2)


def make_schedule(seed, kinds, n=5, steps=400):
    """The fault schedule, drawn from the seed alone: a list of steps.
    A step names its targets by role ("leader") and by a shuffled list of
    ids that fills in the rest, so replaying a seed replays the choices."""
    rng = random.Random(seed)
    return [draw_step(rng, rng.choice(kinds), n) for _ in range(steps)]


def make_mix_schedule(seed, kinds, n=5, steps=400):
    """The mix nemesis's schedule, drawn from the seed alone: steps as in
    make_schedule, each with `after`, the seconds from its beginning to
    the next step's beginning: a fraction of its own hold, so that the
    next fault begins while this one is still active; and now and then
    `quiet`: before this step every active fault ends and the cluster gets
    that many healthy seconds."""
    rng = random.Random(seed)
    out = []
    for i in range(steps):
        st = draw_step(rng, rng.choice(kinds), n)
        st["after"] = round(min(3.0, max(0.15, rng.uniform(0.15, 0.85) *
                                         st["hold"])), 2)
        quiet = round(rng.uniform(0.5, 1.5), 2)
        st["quiet"] = quiet if rng.random() < 0.12 and i else None
        out.append(st)
    return out


def draw_step(rng, k, n):
    """One step of nemesis k: its targets and parameters (make_schedule)."""
    ids = list(range(1, n + 1))
    rng.shuffle(ids)
    st = {"op": k, "perm": ids, "gap": round(rng.uniform(0.4, 1.5), 2)}
    if k == "kill":
        st.update(n=rng.choice([1, 1, 2]), leader=rng.random() < 0.6,
                  hold=hold(rng, 0.2, 2.5))
    elif k == "pause":
        st.update(n=rng.choice([1, 1, 1, 2]), leader=rng.random() < 0.7,
                  hold=hold(rng, 0.4, 3.0))
    elif k == "partition":
        shape = rng.choice(["halves", "isolate-leader", "bridge",
                            "ring", "one-way-out", "one-way-in",
                            "random-one-way"])
        st.update(shape=shape, leader_pos=rng.randrange(n),
                  hold=hold(rng, 1.0, 4.0))
        if shape == "random-one-way":
            st["edges"] = [(a, b) for a in range(n) for b in range(n)
                           if a != b and rng.random() < 0.35]
    elif k == "loss":
        st.update(pct=rng.choice([5, 10, 20, 30, 50, 70]),
                  scope=rng.choice(["all", "all", "leader", "one"]),
                  clients=rng.random() < 0.3,
                  hold=hold(rng, 1.5, 4.0))
    elif k == "torn":
        st.update(leader=rng.random() < 0.4,
                  mode=rng.choice(["cut", "cut", "zero", "garbage"]),
                  back=rng.randint(1, 4), frac=rng.random(),
                  junk=rng.randint(1, 200),
                  hold=round(rng.uniform(0.2, 1.5), 2))
    return st


def partition_drops(step, ids, leader):
    """The directed (src, dst) pairs to drop for a partition step; the
    leader (if known) is moved to position leader_pos of the permutation."""
    perm = list(step["perm"])
    shape = step["shape"]
    if leader is not None and leader in perm:
        want = 0 if shape in ("isolate-leader", "one-way-out",
                              "one-way-in") else step["leader_pos"]
        i = perm.index(leader)
        perm[i], perm[want] = perm[want], perm[i]
    drops = set()

    def split(a, b):
        for x in a:
            for y in b:
                drops.add((x, y))
                drops.add((y, x))
    if shape == "halves":
        split(perm[:2], perm[2:])
        desc = "%s | %s" % (perm[:2], perm[2:])
    elif shape == "isolate-leader":
        split(perm[:1], perm[1:])
        desc = "%s | %s" % (perm[:1], perm[1:])
    elif shape == "bridge":
        split(perm[:2], perm[3:])
        desc = "%s <-> %d <-> %s" % (perm[:2], perm[2], perm[3:])
    elif shape == "ring":
        n = len(perm)
        for i in range(n):
            for j in range(n):
                if i != j and (j - i) % n not in (1, n - 1):
                    drops.add((perm[i], perm[j]))
        desc = "ring %s" % perm
    elif shape == "one-way-out":
        for y in perm[1:]:
            drops.add((perm[0], y))
        desc = "%d -/-> others" % perm[0]
    elif shape == "one-way-in":
        for y in perm[1:]:
            drops.add((y, perm[0]))
        desc = "others -/-> %d" % perm[0]
    else:
        for a, b in step["edges"]:
            drops.add((perm[a], perm[b]))
        desc = "one-way cuts %s" % sorted(drops)
    return drops, desc


class Nemesis:
    def __init__(self, run, kind, schedule):
        self.run = run
        self.cluster = run.cluster
        self.kind = kind
        self.schedule = schedule
        self.events = []        # (t, text)
        self.counts = {}
        self.down = set()       # killed by us, to restart
        self.paused = set()
        self.net_faults = {}    # key -> (drops, loss or None), active now
        self.keys = 0
        self.torn_checks = []   # (nid, expected offset, got, what)
        self.pauses = []        # (nid, SIGSTOP time, SIGCONT time, leader)
        self.catch_ups = []     # (nid, what, seconds or None, faults that
                                # were active meanwhile: a list of kinds)

    def note(self, text):
        t = now() - self.run.t0
        self.events.append((t, text))
        if self.run.verbose:
            print("  [%7.3f] nemesis: %s" % (t, text), flush=True)

    def pick(self, step, n, with_leader):
        leader = self.cluster.leader() if with_leader else None
        out = [leader] if leader is not None else []
        for nid in step["perm"]:
            if len(out) >= n:
                break
            if nid not in out and nid in self.cluster.up():
                out.append(nid)
        return out, leader

    def wait(self, seconds):
        """Holds a fault for `seconds` (the fault's length, not a stand-in
        for a condition); returns early if the run is aborted."""
        self.run.abort.wait(seconds)

    def heal(self):
        """Undoes every fault: network rules, paused and killed nodes."""
        if self.net_faults:
            self.cluster.net.heal()
            self.net_faults.clear()
        for nid in sorted(self.paused):
            self.cluster.resume(nid)
        self.paused.clear()
        self.cluster.reap()
        for nid in self.cluster.ids:
            if not self.cluster.running(nid):
                self.cluster.start(nid)
        self.down.clear()

    def start_timeout(self):
        return START_TIMEOUT

    def restart_crashed(self):
        """A node that exited by itself (a crash, reported at the end) is
        restarted, so that at most a minority is ever down."""
        self.cluster.reap()
        for nid in self.cluster.ids:
            if not self.cluster.running(nid) and nid not in self.down:
                self.note("node %d is not running: restarting it" % nid)
                self.cluster.start(nid, self.start_timeout())

    def step(self, st):
        """One fault, alone: begin it, hold it, end it, then time the
        catch-up of the nodes it stopped."""
        self.restart_crashed()
        k = st["op"]
        self.counts[k] = self.counts.get(k, 0) + 1
        ctx = getattr(self, "begin_" + k)(st)
        if ctx is None:
            return
        self.wait(st["hold"])
        nids, what = getattr(self, "end_" + k)(st, ctx)
        if nids:
            self.wait_catch_up(nids, what)

    # Each fault is a begin_<kind>(step[, n]) that injects it and returns
    # its context (None: nothing done), and an end_<kind>(step, context)
    # that undoes it and returns (nodes whose catch-up to time, what).

    def begin_kill(self, st, n=None):
        targets, leader = self.pick(st, st["n"] if n is None else n,
                                    st["leader"])
        for nid in targets:
            self.cluster.kill9(nid)
            self.down.add(nid)
        self.note("kill -9 %s%s; down %.2f s" % (
            targets, " (leader %s)" % leader if leader in targets else "",
            st["hold"]))
        return {"targets": targets}

    def end_kill(self, st, ctx):
        targets = ctx["targets"]
        for nid in targets:
            self.cluster.start(nid, self.start_timeout())
            self.down.discard(nid)
        self.note("restarted %s" % targets)
        return targets, "restart after kill -9"

    def begin_pause(self, st, n=None):
        targets, leader = self.pick(st, st["n"] if n is None else n,
                                    st["leader"])
        for nid in targets:
            self.cluster.pause(nid)
            self.paused.add(nid)
        self.note("SIGSTOP %s%s for %.2f s" % (
            targets, " (leader %s)" % leader if leader in targets else "",
            st["hold"]))
        return {"targets": targets, "leader": leader,
                "t_stop": now() - self.run.t0}

    def end_pause(self, st, ctx):
        targets = ctx["targets"]
        for nid in targets:
            self.cluster.resume(nid)
            self.paused.discard(nid)
        t_cont = now() - self.run.t0
        for nid in targets:
            self.pauses.append((nid, ctx["t_stop"], t_cont,
                                nid == ctx["leader"]))
        self.note("SIGCONT %s" % targets)
        return targets, "SIGCONT after %.2f s" % st["hold"]

    def set_net(self, key, drops=(), loss=None):
        """Adds network fault `key` (a partition's drops, or a loss
        (pct, nids, clients)) to those active and applies them all."""
        self.net_faults[key] = (set(drops), loss)
        self._apply_net()

    def clear_net(self, key):
        self.net_faults.pop(key, None)
        self._apply_net()

    def _apply_net(self):
        drops = set()
        losses = []
        for key in sorted(self.net_faults):
            d, loss = self.net_faults[key]
            drops |= d
            if loss is not None:
                losses.append(loss)
        self.cluster.net.apply(drops, losses)

    def begin_partition(self, st, n=None):
        leader = self.cluster.leader()
        drops, desc = partition_drops(st, self.cluster.ids, leader)
        key = self.next_key()
        self.set_net(key, drops=drops)
        self.note("partition %s: %s (leader %s) for %.2f s" % (
            st["shape"], desc, leader, st["hold"]))
        return {"key": key}

    def end_partition(self, st, ctx):
        self.clear_net(ctx["key"])
        self.note("healed partition %s" % st["shape"] if self.net_faults
                  else "healed")
        return [], None

    def begin_loss(self, st, n=None):
        leader = self.cluster.leader()
        if st["scope"] == "all":
            nids = list(self.cluster.ids)
        elif st["scope"] == "leader" and leader is not None:
            nids = [leader]
        else:
            nids = [st["perm"][0]]
        key = self.next_key()
        self.set_net(key, loss=(st["pct"], nids, st["clients"]))
        self.note("loss %d%% of the packets into %s from %s (leader %s) "
                  "for %.2f s" % (st["pct"], nids, "peers and clients" if
                                  st["clients"] else "peers", leader,
                                  st["hold"]))
        return {"key": key}

    def end_loss(self, st, ctx):
        self.clear_net(ctx["key"])
        self.note("healed loss of %d%%" % st["pct"] if self.net_faults
                  else "healed")
        return [], None

    def next_key(self):
        self.keys += 1
        return self.keys

    def begin_torn(self, st, n=None):
        cl = self.cluster
        targets, leader = self.pick(st, 1, st["leader"])
        if not targets:
            self.note("torn: no node up")
            return None
        nid = targets[0]
        cl.kill9(nid)
        self.down.add(nid)
        path = cl.raftlog(nid)
        recs, size = raftlog_records(path)
        ends = recs[-1]["offset"] + recs[-1]["size"] if recs else 32
        cands = self.safe_records(nid, recs)
        if st.get("entry"):
            cands = [r for r in cands if r["type"] == REC_ENTRY]
        mode = st["mode"]
        if mode != "garbage" and not cands:
            mode = "garbage"   # nothing can be cut without losing data
        if mode == "garbage":
            junk = random.Random(st["junk"]).randbytes(st["junk"])
            with open(path, "r+b") as f:
                f.truncate(ends)
                f.seek(ends)
                f.write(junk)
            expect = ends
            what = "%d garbage bytes after offset %d (the file was %d " \
                "bytes%s)" % (len(junk), ends, size, ", with a partial " \
                "record at the end" if size > ends else "")
        else:
            rec = cands[-min(st["back"], len(cands))]
            cut = rec["offset"] + 1 + int(st["frac"] * (rec["size"] - 1))
            cut = min(cut, rec["offset"] + rec["size"] - 1)
            torn = rec
            with open(path, "r+b") as f:
                if mode == "cut":
                    f.truncate(cut)
                else:
                    f.seek(cut)
                    # Zeroing bytes that are already zero (a record's
                    # padding) changes nothing: the torn tail begins at the
                    # record of the first byte that was not zero, which
                    # may be a later one (a cut in the padding at the end
                    # of rec), or there is none (and the partial record
                    # that may follow `ends` goes with the truncate).
                    old = f.read(ends - cut)
                    nz = next((i for i, b in enumerate(old) if b), None)
                    torn = None if nz is None else next(
                        r for r in recs
                        if r["offset"] <= cut + nz < r["offset"] + r["size"])
                    f.truncate(ends)
                    f.seek(cut)
                    f.write(b"\0" * (ends - cut))
            expect = torn["offset"] if torn is not None else None
            lost = [r["index"] for r in recs if "index" in r and
                    torn is not None and r["offset"] >= torn["offset"]]
            what = "%s at offset %d inside the record at %d (%s), file " \
                "was %d bytes; %s%s" % (
                    mode, cut, rec["offset"], "entry %d" % rec["index"]
                    if "index" in rec else "commit marker", size,
                    "" if torn is rec else "only zeros there, so the torn "
                    "tail starts at %s; " % (
                        "offset %d" % torn["offset"] if torn else "no "
                        "offset (nothing changed)"),
                    "entries %d..%d lost" % (lost[0], lost[-1]) if lost
                    else "no entry lost")
        self.note("torn write on node %d%s: %s; down %.2f s" % (
            nid, " (leader)" if nid == leader else "", what, st["hold"]))
        return {"nid": nid, "expect": expect, "what": what}

    def end_torn(self, st, ctx):
        cl = self.cluster
        nid = ctx["nid"]
        before = len(cl.log_text(nid))
        cl.start(nid, self.start_timeout())
        self.down.discard(nid)
        text = cl.log_text(nid)[before:]
        m = TORN_RE.search(text)
        got = int(m.group(1)) if m else None
        self.torn_checks.append((nid, ctx["expect"], got, ctx["what"]))
        self.note("restarted %d: %s" % (
            nid, m.group(0) if m else "NO torn-tail message"))
        return [nid], "torn write: " + ctx["what"]

    def wait_catch_up(self, nids, what, timeout=5.0, fault=None):
        """After a restart or a resume, each of `nids` should learn the
        leader's commit index (sampled now) within `timeout` s while the
        clients go on.  Records (node, what, seconds or None, the other
        faults active meanwhile) in self.catch_ups; returns the seconds of
        the slowest (None: one did not).  `fault` is the mix nemesis's id
        of the fault that stopped them."""
        cl = self.cluster
        t1 = now()
        target = None
        took = {}
        for _ in range(int(timeout / 0.05) + 10):
            if now() - t1 > timeout or self.run.abort.is_set():
                break
            if target is None:
                lead = cl.leader()
                sts = cl.statuses([lead]) if lead else {}
                if lead in sts:
                    target = sts[lead]["commitIndex"]
            else:
                sts = cl.statuses([n for n in nids if n not in took])
                for n, st in sts.items():
                    if st["commitIndex"] >= target:
                        took[n] = now() - t1
                if len(took) == len(nids):
                    break
            time.sleep(0.05)
        others = self.active_between(t1, now(), fault)
        for n in nids:
            self.catch_ups.append((n, what, took.get(n), others))
        late = [n for n in nids if n not in took]
        meanwhile = " (meanwhile %s)" % ", ".join(others) if others else ""
        if not late:
            self.note("%s caught up to commit %d in %.2f s%s" %
                      (nids, target, max(took.values()), meanwhile))
            return max(took.values())
        sts = cl.statuses(cl.ids)
        self.note("%s did NOT catch up to commit %s within %.0f s%s; "
                  "statuses (state, term, leader, commit, applied, last) %s"
                  % (late, target, timeout, meanwhile, _brief(sts)))
        return None

    def active_between(self, t1, t2, fault):
        """The kinds of the faults other than `fault` that were active at
        some time between t1 and t2 (none here: one fault at a time)."""
        return []

    def safe_records(self, nid, recs):
        """The records of nid's raftlog (nid is down) that can be cut
        without losing a committed entry: those at or after the first entry
        from which on every entry is also held (same index and term) by a
        majority of the other nodes, so that a majority still holds it;
        and commit markers after the last entry."""
        cl = self.cluster
        entries = [r for r in recs if r["type"] == REC_ENTRY and
                   "index" in r]
        if not entries:
            return []
        lo = entries[max(0, len(entries) - 64)]["index"]
        held = {}
        for o in cl.ids:
            if o == nid or o not in cl.up():
                continue
            try:
                for e in cl.proxy(o, 2.0).showLog(lo, 1000):
                    key = (e["index"], e["term"])
                    held[key] = held.get(key, 0) + 1
            except (CONN_ERRORS + (xmlrpc.client.Fault,)):
                continue
        first_safe = None
        for r in reversed(entries):
            if r["index"] < lo or \
                    held.get((r["index"], r["term"]), 0) < cl.quorum:
                break
            first_safe = r
        if first_safe is None:
            last = entries[-1]["offset"]
            return [r for r in recs if r["offset"] > last]
        return [r for r in recs if r["offset"] >= first_safe["offset"]]

    def leader_term(self):
        """(leader id, its term) as the leader reports them, or None."""
        lead = self.cluster.leader()
        st = self.cluster.statuses([lead]).get(lead) if lead else None
        return (lead, st["term"]) if st else None

    def final_torn(self):
        """The same torn write at the end of every torn run, once the
        clients have stopped, so that the verdict does not hang on the
        schedule or the load: a follower's last entry (acknowledged, held
        by every node) cut in the middle, the node restarted, and no
        leader change meanwhile that could hide a missed repair (a round
        with a leader change is done again, at most 3 times).  Returns a
        problem text or None."""
        for attempt in range(3):
            before = self.leader_term()
            if before is None:
                continue
            perm = [n for n in self.schedule[0]["perm"] if n != before[0]]
            st = dict(self.schedule[0], op="torn", leader=False,
                      mode="cut", back=1, frac=0.5, hold=0.3, perm=perm,
                      entry=True)
            self.step(st)
            nid, what, took, _ = self.catch_ups[-1]
            what = what[len("torn write: "):]
            after = self.leader_term()
            self.note("final torn write on follower %d: leader (id, term) "
                      "%s before, %s after" % (nid, before, after))
            if after != before:
                continue
            if took is None:
                return "node %d did not catch up within 5 s of its " \
                    "restart after a torn write (%s), with no client load " \
                    "and leader %d unchanged in term %d" % (
                        nid, what, before[0], before[1])
            return None
        return "the final torn write could not be done with a stable " \
            "leader in 3 attempts"

    def main(self, deadline):
        try:
            for st in self.schedule:
                if now() >= deadline or self.run.abort.is_set():
                    break
                self.step(st)
                self.wait(st["gap"])
        except Exception as e:  # noqa: BLE001 - reported, then the run stops
            self.run.harness_error("nemesis: %s\n%s" %
                                   (e, traceback.format_exc()))


class MixNemesis(Nemesis):
    """Overlapping faults: each step of make_mix_schedule begins `after`
    seconds after the one before (while that one still holds), so that
    partitions, loss, kills, pauses and torn restarts are active together:
    a partition while a node is paused, a kill during loss, a torn restart
    while another node is partitioned away, the leader paused while a
    follower is down.  Kills, pauses and torn writes together stop at most
    a minority of the nodes: a step that would stop more takes fewer
    targets, or, when none is left, first waits for a stopped node's fault
    to end.  Partitions and losses add up with everything.  One thread
    begins and ends the faults in time order; the catch-up of the nodes a
    fault stopped is timed in a thread of its own, and a catch-up during
    which another fault was active is counted apart (that fault may be
    what held it back)."""

    def __init__(self, run, kind, schedule):
        super().__init__(run, kind, schedule)
        self.lock = threading.Lock()
        self.active = {}        # fault id -> (step, context, end time)
        self.spans = {}         # fault id -> (kind, begin, end or None)
        self.watchers = []
        self.overlaps = {}      # "kind+kind" -> times both were active
        self.overlapping = 0    # faults that began while another was
        self.max_active = 0
        self.max_stopped = 0    # nodes down or paused at once
        self.budget_waits = 0
        self.quiets = 0

    @property
    def minority(self):
        return (len(self.cluster.ids) - 1) // 2

    def budget(self):
        """How many more nodes a fault may take down or pause."""
        return self.minority - len(self.down) - len(self.paused)

    def start_timeout(self):
        # A node restarted while its client packets are being dropped
        # takes longer to answer the status() that says it is up.
        if any(loss is not None and loss[2]
               for _, loss in self.net_faults.values()):
            return 3 * START_TIMEOUT
        return START_TIMEOUT

    def active_between(self, t1, t2, fault):
        with self.lock:
            spans = list(self.spans.items())
        return sorted(k for fid, (k, b, e) in spans if fid != fault and
                      b < t2 and (e is None or e > t1))

    def begin(self, st):
        k = st["op"]
        n = min(st.get("n", 1), self.budget()) if k in PROC_NEMESES \
            else None
        others = sorted(s_[0]["op"] for s_ in self.active.values())
        if others:
            self.note("%s begins while %s %s active" % (
                k, ", ".join(others), "is" if len(others) == 1 else "are"))
        ctx = getattr(self, "begin_" + k)(st, n)
        if ctx is None:
            return
        t = now()
        fid = self.next_key()
        with self.lock:
            self.active[fid] = (st, ctx, t + st["hold"])
            self.spans[fid] = (k, t, None)
        self.counts[k] = self.counts.get(k, 0) + 1
        if others:
            self.overlapping += 1
        for o in others:
            pair = "+".join(sorted((k, o)))
            self.overlaps[pair] = self.overlaps.get(pair, 0) + 1
        self.max_active = max(self.max_active, len(self.active))
        stopped = len(self.down) + len(self.paused)
        self.max_stopped = max(self.max_stopped, stopped)
        if stopped > self.minority:
            raise HarnessError("mix: %d nodes down or paused at once (%s "
                               "down, %s paused); at most %d may be" % (
                                   stopped, sorted(self.down),
                                   sorted(self.paused), self.minority))

    def end(self, fid):
        with self.lock:
            st, ctx, t_end = self.active.pop(fid)
            k, b, _ = self.spans[fid]
        late = now() - t_end
        if late > 1.0:
            # Beginning or ending another fault (a restart, a torn write's
            # showLog under loss) kept the nemesis thread busy.
            self.note("%s held %.2f s, not %.2f s: the nemesis was busy "
                      "with other faults" % (k, st["hold"] + late,
                                             st["hold"]))
        nids, what = getattr(self, "end_" + st["op"])(st, ctx)
        with self.lock:
            self.spans[fid] = (k, b, now())
        if nids:
            t = threading.Thread(target=self._watch, args=(nids, what, fid),
                                 name="catch-up", daemon=True)
            self.watchers.append(t)
            t.start()

    def _watch(self, nids, what, fid):
        try:
            self.wait_catch_up(nids, what, fault=fid)
        except Exception as e:  # noqa: BLE001 - reported, the run stops
            self.run.harness_error("catch-up of %s: %s\n%s" %
                                   (nids, e, traceback.format_exc()))

    def run_until(self, t):
        """Ends the active faults whose time comes before t, each at its
        time, then waits until t.  With t None: until no fault is
        active."""
        while not self.run.abort.is_set():
            fid = min(self.active, key=lambda f: self.active[f][2],
                      default=None)
            t_end = self.active[fid][2] if fid is not None else None
            if fid is not None and (t is None or t_end <= t):
                self.wait(max(0.0, t_end - now()))
                if self.run.abort.is_set():
                    return
                self.end(fid)
                continue
            if t is not None:
                self.wait(max(0.0, t - now()))
            return

    def play(self, deadline):
        t_next = now()
        for st in self.schedule:
            if self.run.abort.is_set() or now() >= deadline:
                break
            if st["quiet"] is not None:
                # A healthy while now and then: everything heals first.
                self.run_until(None)
                self.note("quiet for %.2f s" % st["quiet"])
                self.quiets += 1
                t_next = max(t_next, now() + st["quiet"])
            self.run_until(t_next)
            if st["op"] in PROC_NEMESES and self.budget() < 1:
                self.budget_waits += 1
                while self.budget() < 1 and not self.run.abort.is_set():
                    ends = [e for s_, _, e in self.active.values()
                            if s_["op"] in PROC_NEMESES]
                    if not ends:
                        raise HarnessError("mix: %s down, %s paused, but "
                                           "no fault holds them" % (
                                               sorted(self.down),
                                               sorted(self.paused)))
                    self.run_until(min(ends))
            if self.run.abort.is_set() or now() >= deadline:
                break
            self.restart_crashed()
            self.begin(st)
            t_next = now() + st["after"]
        # The faults still active end at their time.
        self.run_until(None)

    def main(self, deadline):
        try:
            self.play(deadline)
        except Exception as e:  # noqa: BLE001 - reported, then the run stops
            self.run.harness_error("nemesis: %s\n%s" %
                                   (e, traceback.format_exc()))
        for t in self.watchers:
            t.join(60)
            if t.is_alive():
                self.run.harness_error("a catch-up watcher did not stop")

    def describe(self):
        """The overlap figures of the run, one line."""
        pairs = ", ".join("%s x%d" % kv for kv in sorted(
            self.overlaps.items(), key=lambda kv: (-kv[1], kv[0])))
        return ("%d faults, %d of them begun while others were active "
                "(at most %d at once; at most %d of %d nodes down or paused "
                "at once); overlaps %s; %d waited for a stopped node's fault "
                "to end; %d quiet periods" % (
                    sum(self.counts.values()), self.overlapping,
                    self.max_active, self.max_stopped,
                    len(self.cluster.ids), pairs or "none",
                    self.budget_waits, self.quiets))


# ---- one run ----------------------------------------------------------------

class Run:
    def __init__(self, kind, seconds, seed, nodes=5, verbose=False,
                 log=print, keep=None):
        self.kind = kind
        self.seconds = seconds
        self.seed = seed
        self.n = nodes
        self.verbose = verbose
        self.log = log
        self.keep = keep
        self.tag = "s%d" % seed
        self.keys = ["r0", "r1", "r2"]
        self.counter_key = "counter"
        self.max_ops = 1000000
        self.log_read_p = 0.05
        self.op_timeout = 6.0
        self.stop = threading.Event()
        self.abort = threading.Event()
        self.history = []
        self.hist_lock = threading.Lock()
        self.stats = Stats()
        self.problems = []       # failed checks (strings)
        self.unexpected_faults = []
        self.slow = []           # attempts that took long: (node, t1, t2,
                                 # outcome)
        self.errors = []         # harness errors
        self.t0 = now()
        self.cluster = None
        self.workdir = None
        self.net = None
        self.summary = {}

    # -- recording ------------------------------------------------------------

    def do(self, client, op, method, args, write):
        op.invoke = now() - self.t0
        if method == "getEntries":
            status, result = self.entries_paged(client, args[0])
        else:
            status, result = client.call(method, args, client.op_timeout,
                                         write)
        op.status = status
        op.node = client.answered
        if status == OK:
            op.complete = now() - self.t0
            if op.f == "read":
                result = [(e["index"], e["tid"], e["data"]) for e in result]
            elif op.f == "get" and result is not ABSENT:
                result = str(result)
            op.result = result
        with self.hist_lock:
            self.history.append(op)
        return op

    def entries_paged(self, client, frm):
        """getEntries(frm, ...) page after page until an empty page (a
        response holds at most 10,000 records and 4 MiB, docs/API.md).
        Commits grow the log in index order, so the pages together are the
        committed log as of the last, empty page: a read that takes effect
        between the first call and the last.  Any page failing fails the
        read (a read changes nothing)."""
        out = []
        for _ in range(100000):
            status, page = client.call("getEntries", [frm, 10000],
                                       client.op_timeout, False)
            if status != OK:
                return status, None
            if not page:
                return OK, out
            out.extend(page)
            frm = page[-1]["index"] + 1
        return FAIL, None

    def slow_attempt(self, nid, t1, t2, outcome):
        with self.hist_lock:
            self.slow.append((nid, t1 - self.t0, t2 - self.t0, outcome))

    def unexpected(self, text):
        with self.hist_lock:
            self.unexpected_faults.append(text)

    def harness_error(self, text):
        with self.hist_lock:
            self.errors.append(text)
        self.log("%s: harness error: %s" % (self.kind, text))
        self.abort.set()

    def fail(self, text):
        self.problems.append(text)
        self.log("FAIL: %s" % text)

    # -- phases ---------------------------------------------------------------

    def setup(self):
        kinds = parse_kinds(self.kind)
        need_net = any(k in NET_NEMESES for k in kinds)
        if need_net:
            why = NetnsNet.available()
            if why and all(k in NET_NEMESES for k in kinds):
                raise Skip(why)
            if why:
                self.log("%s: %s left out: %s" % (
                    self.kind, " and ".join(k for k in kinds
                                            if k in NET_NEMESES), why))
                kinds = [k for k in kinds if k not in NET_NEMESES]
                need_net = False
                if self.kind == MIX:
                    self.log("%s: overlapping loopback faults only (%s)" %
                             (self.kind, ", ".join(kinds)))
        self.kinds = kinds
        if not os.access(build_path("raftd"), os.X_OK):
            raise HarnessError("%s is not built" % build_path("raftd"))
        self.workdir = tempfile.mkdtemp(prefix="raftd-fault-%s-" % self.kind)
        self.net = NetnsNet() if need_net else LoopbackNet()
        self.cluster = Cluster(self.net, self.n, self.workdir,
                               log_level=os.environ.get("FAULT_LOG_LEVEL",
                                                        "info"))
        self.cluster.start_all()

    def teardown(self):
        problems = []
        if self.cluster is not None:
            self.cluster.kill_all()
        if self.net is not None:
            problems += self.net.teardown()
        if self.workdir and os.path.isdir(self.workdir):
            if self.keep and (self.problems or self.errors):
                self.save_evidence()
            shutil.rmtree(self.workdir, ignore_errors=True)
        return problems

    def save_evidence(self):
        """With FAULT_KEEP=DIR: the history, the node logs and raftlogs of
        a failed run go to DIR/<nemesis>-<seed>/."""
        dest = os.path.join(self.keep, "%s-%d" % (self.kind, self.seed))
        try:
            os.makedirs(dest, exist_ok=True)
            checker.save_history(os.path.join(dest, "history.json"),
                                 self.history, self.meta())
            for nid in self.cluster.ids:
                for src, name in ((self.cluster.log_path(nid),
                                   "node-%d.log" % nid),
                                  (self.cluster.raftlog(nid),
                                   "node-%d/raftlog" % nid)):
                    if os.path.exists(src):
                        os.makedirs(os.path.dirname(
                            os.path.join(dest, name)), exist_ok=True)
                        shutil.copy(src, os.path.join(dest, name))
            self.log("%s: evidence saved in %s" % (self.kind, dest))
        except OSError as e:
            self.log("%s: could not save evidence: %s" % (self.kind, e))

    def meta(self):
        return {"init": {self.counter_key: "0"}, "seed": self.seed,
                "nemesis": self.kind}

    def final_call(self, cl, f, key, method, args):
        """A read after the faults, retried (bounded) until it completes;
        only the completed attempt stays in the history."""
        op = None
        for _ in range(20):
            op = Op("final", f, key, note="final")
            self.do(cl, op, method, args, False)
            if op.status == OK:
                return op
            with self.hist_lock:
                self.history.remove(op)
            if now() - self.t0 > self.final_deadline or \
                    self.abort.is_set():
                break
        return op

    def execute(self):
        """The whole run; returns True when every check passed."""
        cl = self.cluster
        self.log("%s: seed %d (replay with SEED=%d); %d nodes on %s; "
                 "%.0f s of faults" % (self.kind, self.seed, self.seed,
                                       self.n, self.net.describe(),
                                       self.seconds))
        if "loss" in self.kinds and self.net.netns:
            why = self.net.netem_probe()
            if why:
                self.log("%s: message delay and reordering: skipped: %s "
                         "(the kernel has no sch_netem; nftables can drop "
                         "but not delay packets)" % (self.kind, why))
            else:
                self.log("%s: note: tc netem works here, but this suite "
                         "does not inject delays yet" % self.kind)
        # Initial state: the counter at 0, recorded as an op.
        init_client = Client(self, random.Random(self.seed), 5.0)
        self.final_deadline = 1e9
        op = Op("init", "put", self.counter_key, "0", tid="%s-init" %
                self.tag)
        for _ in range(5):
            self.do(init_client, op, "put", [self.counter_key, "0", op.tid],
                    True)
            if op.status == OK:
                break
        if op.status != OK:
            raise HarnessError("could not initialise the counter: %s" %
                               op.status)
        with self.hist_lock:
            self.history = [o for o in self.history if o is op]
        # Workers: short and long RPC timeouts, so that some clients leave
        # a paused leader early and others are still waiting when it wakes;
        # some give up on an op sooner, so that outcomes stay unknown.
        threads = []
        p = 0
        for fn, count in ((register_worker, 4), (counter_worker, 2),
                          (log_worker, 2)):
            for _ in range(count):
                p += 1
                rng_p = random.Random(self.seed * 1000 + p)
                cl_p = Client(self, rng_p, 1.0 if p % 2 else 4.0,
                              2.0 if p % 3 == 0 else self.op_timeout)
                t = threading.Thread(target=self._worker, name="p%d" % p,
                                     args=(fn, p, rng_p, cl_p), daemon=True)
                threads.append(t)
        if self.kind == MIX:
            nem = MixNemesis(self, self.kind, make_mix_schedule(
                self.seed, self.kinds, self.n))
        else:
            nem = Nemesis(self, self.kind, make_schedule(
                self.seed, self.kinds, self.n))
        for t in threads:
            t.start()
        fault_deadline = now() + self.seconds
        nt = threading.Thread(target=nem.main, args=(fault_deadline,),
                              name="nemesis", daemon=True)
        nt.start()
        nt.join(self.seconds + 120)
        if nt.is_alive():
            self.harness_error("the nemesis did not finish within %.0f s" %
                               (self.seconds + 120))
            self.abort.set()
            nt.join(60)
        # Heal, let the clients work on a healthy cluster, then stop them.
        try:
            nem.heal()
        except HarnessError as e:
            self.fail("could not heal the cluster: %s" % e)
        nem.note("healed everything")
        ok, sts = cl.wait_healthy(30.0, settled=False)
        if not ok:
            self.fail("the cluster did not recover within 30 s after the "
                      "faults ended: no leader all nodes agree on; "
                      "statuses (state, term, leader, commit, applied, "
                      "last) %s" % _brief(sts))
        self.abort.wait(1.0)   # ops on the healed cluster
        self.stop.set()
        for t in threads:
            t.join(self.op_timeout + 10)
            if t.is_alive():
                self.harness_error("client thread %s did not stop" % t.name)
        settled, sts = cl.wait_healthy(30.0)
        if not settled:
            self.fail("the nodes did not catch up within 30 s after the "
                      "clients stopped; statuses (state, term, leader, "
                      "commit, applied, last) %s" % _brief(sts))
        if "torn" in self.kinds and settled and not self.abort.is_set():
            try:
                problem = nem.final_torn()
            except HarnessError as e:
                problem = "the final torn write: %s" % e
            if problem:
                self.fail(problem)
            settled, sts = cl.wait_healthy(10.0)
        # Final reads.
        self.final_deadline = now() - self.t0 + 30
        fc = Client(self, random.Random(self.seed + 1), 5.0)
        finals = {}
        for k in self.keys + [self.counter_key]:
            finals[k] = self.final_call(fc, "get", k, "get", [k])
        flog = self.final_call(fc, "read", None, "getEntries", [1, 100000])
        missing = [k for k, o in finals.items() if o.status != OK]
        if flog.status != OK:
            missing.append("getEntries")
        if missing:
            self.fail("final reads failed for %s" % missing)
        # Every node's log the same (Log Matching on a healed cluster).
        self.compare_logs(settled)
        # Stop the nodes (clean shutdown) and check their raftlogs.
        for prob in cl.stop_all():
            self.fail(prob)
        cl.reap()
        for nid in cl.ids:
            for t, rc in cl.nodes[nid].crashes:
                self.fail("node %d exited by itself (status %s) at t=%.3f:"
                          "\n%s" % (nid, rc, t - self.t0,
                                    tail(cl.log_path(nid), 20)))
        for prob in cl.sanitizer_reports():
            self.fail(prob)
        self.raftctl_check()
        for nid, expect, got, what in nem.torn_checks:
            if got != expect:
                self.fail("torn write on node %d (%s): expected raftd to "
                          "drop a torn tail at offset %s, it said %s" %
                          (nid, what, expect, got))
        self.nemesis = nem
        self.check(finals, flog)
        return not self.problems and not self.errors

    def _worker(self, fn, p, rng, cl):
        try:
            fn(self, p, rng, cl)
        except Exception as e:  # noqa: BLE001 - reported as a harness error
            self.harness_error("client %d: %s\n%s" %
                               (p, e, traceback.format_exc()))

    def fetch_log(self, nid):
        rows = []
        frm = 1
        for _ in range(1000):
            page = self.cluster.proxy(nid, 10.0).showLog(frm, 5000)
            if not page:
                break
            rows += [(e["index"], e["term"], e["tid"], e["data"],
                      e["committed"]) for e in page]
            frm = page[-1]["index"] + 1
        return rows

    def compare_logs(self, settled):
        """Log Matching on the healed cluster: the committed entries of
        every node are the same, and once nothing moves (the same statuses
        before and after reading the logs) the whole logs are the same.
        When the nodes did not settle, only the committed entries."""
        cl = self.cluster
        for attempt in range(5 if settled else 1):
            if settled:
                ok, before = cl.wait_healthy(15.0)
            else:
                ok, before = False, cl.statuses(cl.ids)
            logs = {}
            for nid in cl.ids:
                try:
                    logs[nid] = self.fetch_log(nid)
                except (CONN_ERRORS + (xmlrpc.client.Fault,)) as e:
                    self.fail("showLog of node %d: %s" % (nid, e))
                    return
            after = cl.statuses(cl.ids)
            committed = {nid: [r[:4] for r in rows if r[4]]
                         for nid, rows in logs.items()}
            ref_id = max(committed, key=lambda n: len(committed[n]))
            ref = committed[ref_id]
            bad = False
            for nid, rows in committed.items():
                if rows != ref[:len(rows)]:
                    j = next(i for i, (a, b) in enumerate(zip(rows, ref))
                             if a != b)
                    self.fail("node %d's committed entries differ from node "
                              "%d's at position %d: %r vs %r" %
                              (nid, ref_id, j, rows[j], ref[j]))
                    bad = True
            if bad:
                return
            stable = ok and _brief(before) == _brief(after)
            full = {nid: [r[:4] for r in rows] for nid, rows in logs.items()}
            if len({tuple(v) for v in full.values()}) == 1:
                self.log_length = len(ref)
                return
            if not settled:
                return
            if stable:
                self.fail("the nodes' logs differ although every node "
                          "reports the same commit and last index: %s" %
                          {nid: len(v) for nid, v in full.items()})
                return
        self.fail("the nodes' logs kept changing after the clients "
                  "stopped (5 attempts)")

    def raftctl_check(self):
        raftctl = build_path("raftctl")
        if not os.access(raftctl, os.X_OK):
            self.log("%s: raftctl is not built; raftlog check skipped" %
                     self.kind)
            return
        try:
            p = subprocess.run([raftctl, "check", self.workdir],
                               capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            self.fail("raftctl check: %s" % e)
            return
        if p.returncode != 0:
            self.fail("raftctl check %s: exit %d:\n%s%s" % (
                self.workdir, p.returncode, p.stdout[-3000:],
                p.stderr[-2000:]))

    def check(self, finals, flog):
        h = self.history
        t_check = now()
        kv = checker.check_kv(h, init={self.counter_key: "0"})
        kv_ok = all(r.ok is True for r in kv.values())
        undecided = [k for k, r in kv.items() if r.ok is None]
        if not kv_ok:
            self.fail("key-value history: %s" % "; ".join(
                "%s: %s" % (k, r.detail) for k, r in kv.items()
                if r.ok is not True))
            self.log(checker.kv_report(h, kv))
        adds = [o for o in h if o.f == "add"]
        reads = [o for o in h if o.f == "read"]
        lr = None
        if flog.status == OK:
            lr = checker.check_log(adds, reads, flog.result)
            for kind, text in lr.anomalies:
                self.fail("log %s: %s" % (kind, text))
        fin = finals.get(self.counter_key)
        cval = None
        if fin is not None and fin.status == OK and fin.result is not None:
            try:
                cval = int(fin.result)
            except ValueError:
                cval = None
        c_ok, c_text = checker.check_counter(cval, self.stats.incr_acked,
                                             self.stats.incr_unknown)
        if not c_ok:
            self.fail("counter: %s" % c_text)
        for text in self.unexpected_faults:
            self.fail("unexpected answer: %s" % text)
        for text in self.errors:
            self.fail("harness: %s" % text)
        writes = [o for o in h if o.f in ("put", "cas", "delete", "add")]
        n_ok = sum(1 for o in h if o.status == OK)
        n_unknown = sum(1 for o in h if o.status == UNKNOWN)
        n_fail = sum(1 for o in h if o.status == FAIL)
        lost = (lr.lost if lr else 0) + (
            max(0, self.stats.incr_acked - cval) if cval is not None else 0)
        self.summary = {
            "nemesis": self.kind, "seed": self.seed, "ops": n_ok,
            "unknown": n_unknown, "failed": n_fail,
            "writes": len(writes),
            "linearizable": "yes" if kv_ok else
            ("undecided" if undecided and all(
                r.ok is not False for r in kv.values()) else "NO"),
            "log_ok": bool(lr and lr.ok), "lost": lost,
            "log_entries": lr.entries if lr else None,
            "log_acked": lr.acked if lr else None,
            "log_unknown": lr.unknown if lr else None,
            "counter": cval, "incr_acked": self.stats.incr_acked,
            "incr_unknown": self.stats.incr_unknown,
            "faults": dict(self.nemesis.counts),
            "check_seconds": round(now() - t_check, 1),
        }
        if self.problems and not self.verbose:
            for t, text in self.nemesis.events:
                self.log("  [%7.3f] %s" % (t, text))
        s = self.summary
        if self.nemesis.pauses:
            # Requests a paused node held and answered once it woke: the
            # case of a deposed leader serving a stale read or acknowledging
            # a write (all of them are in the history checked above).
            woke = {"get": 0, "read": 0, "write": 0}
            for o in h:
                if o.status != OK or o.node is None:
                    continue
                for nid, t1, t2, _ in self.nemesis.pauses:
                    if o.node == nid and o.invoke < t2 <= o.complete:
                        kind = o.f if o.f in ("get", "read") else "write"
                        woke[kind] += 1
                        break
            held = {}
            for nid, t1, t2, outcome in self.slow:
                for pid, _, p2, _ in self.nemesis.pauses:
                    if nid == pid and t1 < p2 <= t2 and \
                            outcome != "no answer":
                        held[outcome] = held.get(outcome, 0) + 1
                        break
            s["answered_after_wake"] = woke
            s["held_attempts"] = held
            self.log("%s: %d pauses (%d of the leader); requests a paused "
                     "node held and answered after SIGCONT: %s; of those, "
                     "ops completed by it: %d get, %d getEntries, %d writes "
                     "(all in the checked history)" % (
                         self.kind, len(self.nemesis.pauses),
                         sum(1 for x in self.nemesis.pauses if x[3]),
                         ", ".join("%s %d" % kv_ for kv_ in
                                   sorted(held.items())) or "none",
                         woke["get"], woke["read"], woke["write"]))
        # Catch-ups timed while another fault was active (the mix) are
        # counted apart: that fault may be what held the node back.
        cu = [c for c in self.nemesis.catch_ups if not c[3]]
        cu_over = [c for c in self.nemesis.catch_ups if c[3]]
        if cu or cu_over:
            done = [t for _, _, t, _ in cu if t is not None]
            over_done = [t for _, _, t, _ in cu_over if t is not None]
            s["catch_up"] = {"count": len(cu), "late": len(cu) - len(done),
                             "max_s": round(max(done), 2) if done else None,
                             "overlapped": len(cu_over),
                             "overlapped_late": len(cu_over) -
                             len(over_done)}
            self.log("%s: restarted/resumed nodes that reached the leader's "
                     "commit index within 5 s under load: %d of %d%s%s%s" % (
                         self.kind, len(done), len(cu),
                         " (slowest %.2f s)" % max(done) if done else "",
                         "; late: " + "; ".join(
                             "node %d after %s" % (n, w) for n, w, t, _ in cu
                             if t is None) if len(done) < len(cu) else "",
                         "; while other faults were active (not counted): "
                         "%d of %d" % (len(over_done), len(cu_over))
                         if cu_over else ""))
        if isinstance(self.nemesis, MixNemesis):
            s["overlaps"] = dict(self.nemesis.overlaps)
            s["max_active"] = self.nemesis.max_active
            s["max_stopped"] = self.nemesis.max_stopped
            self.log("%s: %s" % (self.kind, self.nemesis.describe()))
        self.log("%s: faults %s" % (self.kind, ", ".join(
            "%s x%d" % kv_ for kv_ in sorted(s["faults"].items())) or
            "none"))
        self.log("%s: ops %d completed, %d unknown, %d failed; "
                 "linearizable: %s (%s); log: %s entries, %s acknowledged, "
                 "%s unknown, %s; counter %s (acknowledged increments %d, "
                 "unknown %d); acknowledged writes lost: %d; checked in "
                 "%.1f s" % (
                     self.kind, s["ops"], s["unknown"], s["failed"],
                     s["linearizable"], ", ".join(
                         "%s %d ops" % (k, r.ops) for k, r in kv.items()),
                     s["log_entries"], s["log_acked"], s["log_unknown"],
                     "ok" if s["log_ok"] else "ANOMALIES", s["counter"],
                     s["incr_acked"], s["incr_unknown"], s["lost"],
                     s["check_seconds"]))


def parse_kinds(kind):
    """The nemeses a run draws its faults from: "all" or "mix" (every
    one), one name, or names joined by commas.  Raises ValueError on an
    unknown name."""
    if kind in ("all", MIX):
        return list(NEMESES)
    kinds = [k for k in kind.split(",") if k]
    bad = [k for k in kinds if k not in NEMESES]
    if bad or not kinds:
        raise ValueError("unknown nemesis %r (want %s, a comma separated "
                         "list of them, all, or mix)" % (
                             kind, ", ".join(NEMESES)))
    return kinds


def parse_kinds_arg(kind):
    try:
        parse_kinds(kind)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))
    return kind


def _brief(sts):
    return {nid: (s.get("state"), s.get("term"), s.get("leader"),
                  s.get("commitIndex"), s.get("lastApplied"),
                  s.get("lastLogIndex")) for nid, s in sts.items()}


# Signals end a run through the same cleanup as a failure.
def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def run_one(kind, seconds, seed, nodes=5, verbose=False, keep=None,
            log=None):
    """Runs one nemesis; returns (exit status, summary dict)."""
    log = log or (lambda s: print(s, flush=True))
    run = Run(kind, seconds, seed, nodes=nodes, verbose=verbose, log=log,
              keep=keep)
    status = 99
    try:
        run.setup()
        status = 0 if run.execute() else 1
    except Skip as e:
        log("%s: SKIP: %s" % (kind, e))
        status = 77
    except HarnessError as e:
        log("%s: harness error: %s" % (kind, e))
        run.errors.append(str(e))
        status = 99
    except BaseException as e:  # noqa: BLE001 - cleaned up below, re-raised
        if not isinstance(e, (SystemExit, KeyboardInterrupt)):
            traceback.print_exc()
        run.errors.append(repr(e))
        raise
    finally:
        run.abort.set()
        run.stop.set()
        if status not in (0, 77) and run.cluster is not None and \
                run.workdir and os.path.isdir(run.workdir):
            for nid in run.cluster.ids:
                log("---- node %d log (warnings and state changes, last 25)"
                    " ----" % nid)
                log(tail(run.cluster.log_path(nid), 25, re.compile(
                    r"warn|error|leader|torn|refus|starting|stopped")))
        for prob in run.teardown():
            log("%s: cleanup: %s" % (kind, prob))
    return status, run.summary


def default_seed():
    s = os.environ.get("SEED")
    if s:
        return int(s)
    return random.SystemRandom().randrange(1, 2 ** 31)


def test_main(kind, seconds=None, default_seconds=20.0):
    """Entry point of tests/fault/test_<kind>.py: one short run, the
    automake exit codes.  The faults last `seconds`, else FAULT_SECONDS,
    else default_seconds."""
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, _on_signal)
    if seconds is None:
        seconds = float(os.environ.get("FAULT_SECONDS", default_seconds))
    seed = default_seed()
    name = "test_%s" % kind
    t = now()
    status, s = run_one(kind, seconds, seed,
                        verbose=bool(os.environ.get("FAULT_VERBOSE")),
                        keep=os.environ.get("FAULT_KEEP"))
    print("%s: %s in %.1f s (seed %d)" % (
        name, {0: "passed", 1: "FAILED", 77: "skipped",
               99: "harness error"}[status], now() - t, seed), flush=True)
    return status


def main(argv=None):
    ap = argparse.ArgumentParser(description="one nemesis run against a "
                                 "5-node raftd cluster")
    ap.add_argument("--nemesis", type=parse_kinds_arg, required=True,
                    help="kill, pause, partition, loss, torn, a comma "
                    "separated list of them (one fault at a time, each one "
                    "of those), all (the same with every one), or mix "
                    "(every one, several at a time)")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--keep", default=os.environ.get("FAULT_KEEP"),
                    help="save the evidence of a failed run here")
    ap.add_argument("--json", action="store_true",
                    help="print the summary as JSON too")
    a = ap.parse_args(argv)
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, _on_signal)
    seed = a.seed if a.seed is not None else default_seed()
    status, summary = run_one(a.nemesis, a.seconds, seed, nodes=a.nodes,
                              verbose=a.verbose, keep=a.keep)
    if a.json:
        print(json.dumps(summary))
    return status


if __name__ == "__main__":
    sys.exit(main())
