# netns.py: the fault runs' network: each raftd node in a network namespace of its own, on a bridge, with nftables rules for partitions and packet loss.
#
# NetnsNet is a net for raftdtest.Cluster (tests/lib/raftdtest/cluster.py):
# it gives every node an address of its own and the command prefix that
# runs its raftd in its namespace.  It needs root, ip (iproute2) and nft
# (nftables); available() says why not.  Everything it creates carries the
# name of its address block and is removed by teardown(), also what a
# killed earlier run left behind.
import os
import re
import shutil
import signal
import subprocess

from raftdtest import HarnessError, Skip, pid_alive

CMD_TIMEOUT = 15.0       # ip / nft commands
SUBNET = "192.168.251"   # only ever on interfaces this file creates
BLOCKS = 16              # /28 blocks of SUBNET.0/24, one per concurrent run
RAFTD_PORT = 8001        # in netns mode every node has an address of its own


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
