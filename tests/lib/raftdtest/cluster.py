"""cluster.py: start, stop, signal and inspect real raftd clusters for the cluster tests, the fault runs and the benchmarks.

A Cluster is n nodes (ids 1..n) with one config and one data dir per node
in a fresh temp dir (or the caller's), on free loopback ports (LoopbackNet)
or on a network the caller sets up (tests/fault/netns.py puts each node in
a namespace of its own).  Only the processes a Cluster started are ever
signalled, by their pid.  Every wait is bounded in time and in count.
Every Cluster is registered until remove(): at exit, whatever still runs
is stopped and the temp dirs are removed.
"""
import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client

from raftdtest import api, config, ports, proc
from raftdtest.errors import HarnessError, TestFailure

# Bounds for the harness's own waits; sanitizer builds start slowly.
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
RPC_TIMEOUT = api.RPC_TIMEOUT
POLL = 0.02

# The line written into a node's log before each start; what follows the
# last one is the output of the node's current run.
START_MARK = "=== harness:"


def wait_for(cond, timeout, what, interval=POLL):
    """Polls cond() until it returns a true value (returned), at most
    `timeout` seconds; raises TestFailure naming `what` otherwise.
    Exceptions of cond() count as "not yet" (the last one is reported)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    max_rounds = int(timeout / interval) + 10
    for _ in range(max_rounds):
        try:
            v = cond()
            if v:
                return v
            last_exc = None
        except Exception as e:  # noqa: BLE001 - any failure is "not yet"
            last_exc = e
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    msg = "timed out after %.1f s waiting for %s" % (timeout, what)
    if last_exc is not None:
        msg += " (last error: %r)" % (last_exc,)
    raise TestFailure(msg)


def brief(sts):
    """{id: (state, term, leader, commit, applied, last)} of statuses, for
    messages."""
    return {nid: (s.get("state"), s.get("term"), s.get("leader"),
                  s.get("commitIndex"), s.get("lastApplied"),
                  s.get("lastLogIndex")) for nid, s in sts.items()}


class LoopbackNet:
    """Nodes on 127.0.0.1 with ports free now; no network faults.  A net
    gives each node an address (addr: id -> (host, port)) and the command
    prefix its raftd runs under."""

    netns = False

    def __init__(self):
        self.addr = {}
        self.peer_addr = {}

    def setup(self, ids):
        # Every node's client port and peer port, all free now (the
        # default peer port, port + 1000, could be anyone's).
        free = ports.free_ports(2 * len(ids))
        self.addr = {nid: ("127.0.0.1", port)
                     for nid, port in zip(ids, free[:len(ids)])}
        self.peer_addr = {nid: ("127.0.0.1", port)
                          for nid, port in zip(ids, free[len(ids):])}

    def renumber(self, ids):
        """New ports, after one was found taken."""
        self.setup(ids)

    def prefix(self, nid):
        return []

    def heal(self):
        pass

    def teardown(self):
        return []

    def describe(self):
        return "loopback"


class Node:
    def __init__(self, nid, host, port, peer_port=None):
        self.id = nid
        self.host = host
        self.port = port
        # The peer listener's port: given, or raftd's default (+1000).
        self.peer_port = peer_port if peer_port else port + 1000
        self.proc = None          # the running raftd (subprocess.Popen)
        self.paused = False       # SIGSTOPped by Cluster.pause()
        self.expect_exit = False  # we signalled it; its exit is no crash
        self.crashes = []         # (monotonic time, status) of crashes
        self.exits = []           # (how it was stopped, return code)
        self.starts = 0

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def pid(self):
        p = self.proc
        return p.pid if p else None


_clusters = []
_clusters_lock = threading.Lock()


def clusters():
    """The clusters not yet removed."""
    with _clusters_lock:
        return list(_clusters)


def _cleanup_all():
    for c in clusters():
        c.close()
        c.remove()


atexit.register(_cleanup_all)


class Cluster:
    """n raftd nodes (ids 1..n).  With start (the default) every node is
    started and answers before the constructor returns.

    election (min, max), heartbeat and request_timeout are in ms;
    max_inflight and extra ({key: value}) are more config keys (None: not
    written).  secret: config.RANDOM (a fresh one), a string, or None (no
    secret); insecure writes `insecure = true;` instead.  net: where the
    nodes live (default LoopbackNet).  workdir: the caller's directory
    instead of a fresh temp dir (remove() removes it all the same).
    raftd: the binary (default: the build tree's).  start_timeout and
    stop_timeout bound a start and a stop; status_timeout is the RPC
    timeout of the status polls (statuses(), stable_leader(), ...)."""

    def __init__(self, n, name="cluster", election=(150, 300), heartbeat=50,
                 request_timeout=5000, secret=config.RANDOM, insecure=False,
                 log_level="info", start=True, max_inflight=None,
                 extra=None, net=None, workdir=None, raftd=None,
                 start_timeout=START_TIMEOUT, stop_timeout=STOP_TIMEOUT,
                 status_timeout=3.0):
        self.name = name
        self.election = election
        self.heartbeat = heartbeat
        self.request_timeout = request_timeout
        self.max_inflight = max_inflight
        self.extra = extra
        # Peers authenticate by default: a random secret unless the caller
        # gives one, or asks for an insecure cluster.
        self.secret = config.resolve_secret(secret, insecure)
        self.insecure = insecure
        self.log_level = log_level
        self.raftd = os.path.abspath(raftd) if raftd else proc.raftd_path()
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.status_timeout = status_timeout
        self.dir = workdir or tempfile.mkdtemp(prefix="raftd-%s-" % name)
        self.conf = os.path.join(self.dir, "raftd.conf")
        self.lock = threading.Lock()
        self.closed = False    # no node starts once this is set
        self.close_done = False
        self.removed = False
        self.problems = []
        self.extra_pids = []   # processes we did not start by Popen (--daemon)
        self.extra_logs = []   # more logs to scan for sanitizer reports
        self.raw_procs = []    # processes started by spawn()/run_raw()
        self.sanitizer_hits = []  # sanitizer reports in run_raw() output
        with _clusters_lock:
            _clusters.append(self)
        self.net = net if net is not None else LoopbackNet()
        self.nodes = {}
        ids = list(range(1, n + 1))
        self.net.setup(ids)
        for nid in ids:
            self.nodes[nid] = Node(nid, *self.net.addr[nid],
                                   peer_port=self._peer_port_of(nid))
        self.write_config()
        if start:
            self.start_all()

    # -- files ----------------------------------------------------------------

    def ids(self):
        return sorted(self.nodes)

    @property
    def quorum(self):
        return len(self.nodes) // 2 + 1

    def address(self, nid):
        return self.nodes[nid].address

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

    def last_run_log(self, nid):
        """The log of node nid's current (or last) run."""
        return self.log_text(nid).rsplit(START_MARK, 1)[-1]

    def _peer_port_of(self, nid):
        pa = getattr(self.net, "peer_addr", {}).get(nid)
        return pa[1] if pa else None

    def peer_port(self, nid):
        """Node nid's peer listener port (requestVote, appendEntries)."""
        return self.nodes[nid].peer_port

    def config_text(self):
        peers = {nid: "%s:%d" % self.net.peer_addr[nid]
                 for nid in self.ids()
                 if nid in getattr(self.net, "peer_addr", {})}
        return config.config_text(
            {nid: self.address(nid) for nid in self.ids()},
            os.path.join(self.dir, "node-%i"), peers=peers,
            secret=self.secret,
            insecure=self.insecure, election=self.election,
            heartbeat=self.heartbeat, request_timeout=self.request_timeout,
            max_inflight=self.max_inflight, extra=self.extra)

    def write_config(self):
        with open(self.conf, "w") as f:
            f.write(self.config_text())
        # Frames a test forges carry this cluster's identity.
        from . import peerwire
        peerwire.ident["cluster"] = peerwire.cluster_id(
            {nid: self.address(nid) for nid in self.ids()})
        peerwire.ident["data_dirs"] = self.dir

    def _renumber(self):
        """New addresses for every node (one was taken), new config, no
        data."""
        if self.net.netns:
            raise HarnessError("node addresses in namespaces cannot be busy")
        self.net.renumber(self.ids())
        for nid, node in self.nodes.items():
            node.host, node.port = self.net.addr[nid]
            node.peer_port = self._peer_port_of(nid) or node.port + 1000
            shutil.rmtree(self.data_dir(nid), ignore_errors=True)
        self.write_config()

    # -- processes ------------------------------------------------------------

    def spawn_node(self, nid, extra_args=()):
        """Starts raftd for node nid (not waiting for it) with extra_args
        added to its command line."""
        node = self.nodes[nid]
        argv = self.net.prefix(nid) + [
            self.raftd, "-c", self.conf, "-i", str(nid), "--log-level",
            self.log_level] + list(extra_args)
        with self.lock:
            if self.closed:
                raise HarnessError("%s is closed: node %d not started" %
                                   (self.name, nid))
            with open(self.log_path(nid), "ab") as logf:
                logf.write(("%s starting node %d: %s\n" %
                            (START_MARK, nid, " ".join(argv))).encode())
                logf.flush()
                node.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                             stdout=logf, stderr=logf,
                                             cwd=self.dir)
            node.expect_exit = False
            node.paused = False
            node.starts += 1

    def reap(self, nid=None):
        """Notes the exits of node nid's (default: every node's) process;
        those we did not ask for are crashes."""
        for node in [self.nodes[nid]] if nid is not None else \
                list(self.nodes.values()):
            p = node.proc
            if p is not None and p.poll() is not None:
                if not node.expect_exit:
                    node.crashes.append((time.monotonic(), p.returncode))
                node.exits.append(("self", p.returncode))
                node.proc = None
                node.paused = False

    def is_running(self, nid):
        # One read of node.proc: catch-up watchers of the fault runs call
        # this while another thread sets proc to None after a kill.
        p = self.nodes[nid].proc
        return p is not None and p.poll() is None

    def running(self):
        return [nid for nid in self.ids() if self.is_running(nid)]

    def up(self):
        """Nodes running and not paused."""
        return [nid for nid in self.ids() if self.is_running(nid) and
                not self.nodes[nid].paused]

    def _kill_and_reap(self, node):
        node.expect_exit = True
        try:
            node.proc.kill()
            node.proc.wait(self.stop_timeout)
        except (OSError, subprocess.TimeoutExpired):
            pass

    def _wait_ready(self, nid, timeout):
        """Waits until node nid answers status() with its own id.  Returns
        True, or False if the process exited first; kills it and raises if
        it did neither within `timeout` s."""
        node = self.nodes[nid]
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / POLL) + 10):
            if node.proc.poll() is not None:
                return False
            try:
                st = self.client(nid, min(2.0, self.status_timeout)).status()
                if st.get("id") == nid:
                    return True
            except api.CONN_ERRORS + (xmlrpc.client.Fault,):
                pass
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL)
        self._kill_and_reap(node)
        node.exits.append(("not ready", node.proc.returncode))
        node.proc = None
        raise HarnessError("node %d did not answer within %.0f s" %
                           (nid, timeout))

    def _bind_failed(self, nid):
        return "cannot listen" in self.last_run_log(nid)

    def _start_failed(self, nid):
        node = self.nodes[nid]
        rc = node.proc.returncode
        node.exits.append(("at start", rc))
        node.proc = None
        return HarnessError("node %d exited with %s at start:\n%s" %
                            (nid, rc, proc.tail(self.log_path(nid), 25)))

    def start_all(self, attempts=5):
        """Starts every node at once and waits until each answers; if one
        cannot bind its address (taken since it was chosen), stops them
        all, picks new ports and tries again."""
        for attempt in range(attempts):
            for nid in self.ids():
                self.spawn_node(nid)
            ok = True
            for nid in self.ids():
                if not self._wait_ready(nid, self.start_timeout):
                    ok = False
                    bind = self._bind_failed(nid)
                    err = self._start_failed(nid)
                    if not bind or self.net.netns:
                        self.stop_all()
                        raise err
            if ok:
                return
            self.stop_all()
            self._renumber()
        raise HarnessError("could not bind the cluster's ports after %d "
                           "attempts" % attempts)

    def start(self, nid, timeout=None, extra_args=()):
        """Starts (or restarts) node nid, which must not be running, on its
        address, with extra_args added to its command line; retries while
        the port is still taken.  Returns once the node answers."""
        self.reap(nid)
        if self.is_running(nid):
            raise HarnessError("node %d is already running" % nid)
        timeout = self.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        for _ in range(100):
            self.spawn_node(nid, extra_args)
            if self._wait_ready(nid, max(1.0, deadline - time.monotonic())):
                return
            bind = self._bind_failed(nid)
            err = self._start_failed(nid)
            if not bind or time.monotonic() >= deadline:
                raise err
            time.sleep(0.2)   # the old socket is still going away
        raise HarnessError("node %d: port %d stayed busy" %
                           (nid, self.nodes[nid].port))

    restart = start

    def run_once(self, nid, args, timeout=None):
        """Runs raftd for node nid expecting it to exit by itself (e.g. a
        refused start).  Returns (exit code, output of this run); kills it
        and raises if it is still running after `timeout` s."""
        node = self.nodes[nid]
        if self.is_running(nid):
            raise HarnessError("node %d is already running" % nid)
        timeout = self.start_timeout if timeout is None else timeout
        self.spawn_node(nid, args)
        node.expect_exit = True
        try:
            rc = node.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill_and_reap(node)
            node.proc = None
            raise TestFailure("node %d was expected to exit but still ran "
                              "after %.0f s" % (nid, timeout))
        node.exits.append(("run_once", rc))
        node.proc = None
        return rc, self.last_run_log(nid)

    def send_signal(self, nid, sig):
        """Sends sig to node nid's raftd if it runs."""
        p = self.nodes[nid].proc
        if p is not None and p.poll() is None:
            os.kill(p.pid, sig)

    def kill9(self, nid, missing_ok=False):
        """SIGKILLs node nid and waits until it is gone.  Raises if it is
        not running, unless missing_ok."""
        node = self.nodes[nid]
        self.reap(nid)
        if node.proc is None:
            if missing_ok:
                return
            raise HarnessError("node %d is not running" % nid)
        node.expect_exit = True
        self.send_signal(nid, signal.SIGKILL)
        try:
            rc = node.proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError("node %d survived SIGKILL" % nid)
        node.exits.append(("SIGKILL", rc))
        node.proc = None
        node.paused = False

    def pause(self, nid):
        """SIGSTOP: the node stops answering until resume()."""
        self.send_signal(nid, signal.SIGSTOP)
        self.nodes[nid].paused = True

    def resume(self, nid):
        self.send_signal(nid, signal.SIGCONT)
        self.nodes[nid].paused = False

    def stop(self, nid, sig=signal.SIGTERM, timeout=None):
        """Sends sig (SIGTERM; after SIGCONT if paused) and waits up to
        `timeout` s for the exit; then SIGKILL.  Returns (return code or
        None if it had to be killed, seconds it took)."""
        node = self.nodes[nid]
        self.reap(nid)
        if node.proc is None:
            return None, 0.0
        timeout = self.stop_timeout if timeout is None else timeout
        node.expect_exit = True
        t0 = time.monotonic()
        if node.paused:
            self.send_signal(nid, signal.SIGCONT)
        self.send_signal(nid, sig)
        try:
            rc = node.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
            self._kill_and_reap(node)
        took = time.monotonic() - t0
        node.exits.append((signal.Signals(sig).name, rc))
        node.proc = None
        node.paused = False
        return rc, took

    def stop_all(self):
        """SIGTERMs every running node at once (SIGKILL after the stop
        bound); returns problems: the nodes that did not exit with 0."""
        problems = []
        self.reap()
        live = self.running()
        for nid in live:
            self.nodes[nid].expect_exit = True
            if self.nodes[nid].paused:
                self.send_signal(nid, signal.SIGCONT)
            self.send_signal(nid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for nid in live:
            node = self.nodes[nid]
            try:
                rc = node.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                rc = None
                self._kill_and_reap(node)
            node.exits.append(("SIGTERM", rc))
            node.proc = None
            node.paused = False
            if rc != 0:
                problems.append("node %d exited with %s on SIGTERM" %
                                (nid, rc))
        return problems

    def kill9_all(self):
        """SIGKILLs every running node at once (then reaps them)."""
        self.reap()
        live = [self.nodes[nid] for nid in self.running()]
        for node in live:
            node.expect_exit = True
            self.send_signal(node.id, signal.SIGKILL)
        for node in live:
            node.exits.append(("SIGKILL", node.proc.wait(self.stop_timeout)))
            node.proc = None
            node.paused = False

    def kill_all(self):
        """SIGKILLs every node, for good: no node starts after this."""
        with self.lock:
            self.closed = True
        for node in self.nodes.values():
            if node.proc is not None:
                self._kill_and_reap(node)
                node.proc = None
                node.paused = False

    def spawn(self, args, cwd=None, log_name="extra"):
        """Starts raftd with exactly `args` (nothing added), stdout and
        stderr to DIR/<log_name>.log (scanned for sanitizer reports).
        Returns the Popen; close() stops it if it still runs."""
        path = os.path.join(self.dir, log_name + ".log")
        if path not in self.extra_logs:
            self.extra_logs.append(path)
        with open(path, "ab") as logf:
            p = subprocess.Popen([self.raftd] + list(args),
                                 stdin=subprocess.DEVNULL, stdout=logf,
                                 stderr=logf, cwd=cwd or self.dir)
        self.raw_procs.append(p)
        return p

    def run_raw(self, args, cwd=None, timeout=None):
        """Runs raftd with exactly `args`, expecting it to exit by itself:
        returns (exit code, stdout + stderr).  Kills it and raises if it
        still runs after `timeout` s."""
        timeout = self.start_timeout if timeout is None else timeout
        p = subprocess.Popen([self.raftd] + list(args),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, cwd=cwd or self.dir)
        self.raw_procs.append(p)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.communicate(timeout=self.stop_timeout)
            raise TestFailure("raftd %s still ran after %.0f s" %
                              (" ".join(args), timeout))
        text = out.decode("utf-8", "replace")
        for mark in proc.sanitizer_marks(text):
            self.sanitizer_hits.append("raftd %s: %s" % (" ".join(args),
                                                         mark))
        return p.returncode, text

    def add_pid(self, pid):
        """A process of this cluster that we did not start by Popen (a
        --daemon raftd): close() kills it if it is still there."""
        self.extra_pids.append(pid)

    def _ours(self, pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return self.dir.encode() in f.read()
        except OSError:
            return False

    def sanitizer_reports(self):
        """The sanitizer reports in the nodes' logs, the extra logs and the
        output of run_raw()."""
        out = ["sanitizer report from %s" % h for h in self.sanitizer_hits]
        for path in [self.log_path(nid) for nid in self.ids()] + \
                self.extra_logs:
            try:
                with open(path, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            for mark in proc.sanitizer_marks(text):
                # The report itself (up to 80 lines from its first line):
                # the node's log is removed with the cluster, and a CI log
                # must say where the race or the error was.
                at = text.index(mark)
                start = text.rfind("\n", 0, at) + 1
                report = "\n".join(text[start:].splitlines()[:80])
                out.append("%s has a sanitizer report (%s):\n%s" %
                           (os.path.basename(path), mark, report))
        return out

    def close(self):
        """Stops every process this cluster started (SIGTERM, then SIGKILL
        after a bound), for good, and returns a list of problems: sanitizer
        reports, crashes, non-zero exits on SIGTERM."""
        with self.lock:
            if self.close_done:
                return []
            self.close_done = True
            self.closed = True
        problems = ["%s: %s at the end of the test" % (self.name, p)
                    for p in self.stop_all()]
        for nid in self.ids():
            for _, rc in self.nodes[nid].crashes:
                problems.append("%s: node %d exited by itself with status "
                                "%s" % (self.name, nid, rc))
        for p in self.raw_procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(self.stop_timeout)
        for pid in self.extra_pids:
            if proc.pid_alive(pid) and self._ours(pid):
                os.kill(pid, signal.SIGKILL)
        problems += ["%s: %s" % (self.name, p)
                     for p in self.sanitizer_reports()]
        self.problems = problems
        return problems

    def finish(self, ck):
        """close(), counting its problems as failed checks; prints the logs
        if the test has failed so far; removes the temp dir."""
        for problem in self.close():
            ck.check(False, problem)
        if ck.failed:
            self.print_logs()
        self.remove()

    def print_logs(self, lines=40):
        for path in [self.log_path(nid) for nid in self.ids()] + \
                self.extra_logs:
            if os.path.exists(path):
                print("---- %s: tail of %s ----" % (self.name, path))
                print(proc.tail(path, lines))
        sys.stdout.flush()

    def remove(self):
        """Removes the cluster's directory (its processes must be stopped)
        and forgets the cluster."""
        if not self.removed:
            self.removed = True
            shutil.rmtree(self.dir, ignore_errors=True)
        with _clusters_lock:
            if self in _clusters:
                _clusters.remove(self)

    # -- talking to nodes -----------------------------------------------------

    def client(self, nid, timeout=RPC_TIMEOUT):
        """An XML-RPC proxy to node nid."""
        return api.proxy(self.address(nid), timeout,
                         cafile=(self.extra or {}).get("tls_ca"))

    def status(self, nid, timeout=RPC_TIMEOUT):
        return self.client(nid, timeout).status()

    def statuses(self, nids=None, timeout=None):
        """{id: status()} of the given (default: running, not paused) nodes
        that answer within `timeout` (default status_timeout) s."""
        out = {}
        timeout = self.status_timeout if timeout is None else timeout
        for nid in nids if nids is not None else self.up():
            try:
                out[nid] = self.status(nid, timeout)
            except api.CONN_ERRORS + (xmlrpc.client.Fault,):
                pass
        return out

    def find_leader(self, nids=None):
        """The node that says it leads with the highest term, now, or
        None.  No waiting."""
        best = None
        for nid, st in self.statuses(nids).items():
            if st.get("state") == "leader" and \
                    (best is None or st["term"] > best[1]):
                best = (nid, st["term"])
        return best[0] if best else None

    def _leader_now(self, nids):
        for nid in nids:
            try:
                if not self.client(nid, timeout=3).isLeader():
                    continue
                st = self.status(nid, timeout=3)
            except api.CONN_ERRORS:
                continue
            if st["state"] == "leader" and st["leader"] == nid:
                return nid
        return None

    def leader(self, timeout=10.0, among=None):
        """The id of the node whose isLeader() is true, with its status()
        agreeing (state "leader", leader = itself).  Waits up to
        `timeout` s."""
        return wait_for(lambda: self._leader_now(
            among if among is not None else self.up()), timeout,
            "a leader among nodes %s" % (among or self.up()))

    @staticmethod
    def _agreed(sts):
        """(leader, term) when every status names the same leader and term
        and that leader says it leads, else None."""
        leaders = {s["leader"] for s in sts.values()}
        terms = {s["term"] for s in sts.values()}
        if len(leaders) != 1 or len(terms) != 1:
            return None
        lid = leaders.pop()
        if lid not in sts or sts[lid]["state"] != "leader":
            return None
        return lid, terms.pop()

    def stable_leader(self, timeout=10.0, nids=None):
        """Waits until every given (default: running) node reports the
        same leader and term, and that leader says it leads; returns
        (leader id, term)."""
        def agreed():
            want = nids if nids is not None else self.up()
            sts = self.statuses(want)
            if len(sts) != len(want):
                return None
            return self._agreed(sts)
        return wait_for(agreed, timeout, "all nodes to agree on a leader")

    def wait_caught_up(self, nids=None, timeout=15.0):
        """Waits until the given (default: running) nodes all have the
        leader's commitIndex and lastApplied, and it has applied all its
        log; returns that index."""
        def same():
            want = nids if nids is not None else self.up()
            sts = self.statuses(want)
            if len(sts) != len(want):
                return None
            vals = {(s["commitIndex"], s["lastApplied"], s["lastLogIndex"])
                    for s in sts.values()}
            if len(vals) != 1:
                return None
            c, a, last = vals.pop()
            return c if c == a == last and c > 0 else None
        return wait_for(same, timeout, "nodes %s to catch up" %
                        (nids or self.up()))

    def wait_healthy(self, timeout, settled=True, nids=None):
        """Waits until every node (or every one of `nids`: the members of
        a changed configuration) is up and agrees on one leader and term;
        with `settled` (no client writing), also until they all have the
        same commit index, applied index and last log index.  Returns (ok,
        the last statuses); never raises."""
        deadline = time.monotonic() + timeout
        want = list(nids) if nids is not None else self.ids()
        sts = {}
        for _ in range(int(timeout / 0.05) + 10):
            if time.monotonic() >= deadline:
                break
            sts = self.statuses(want)
            if len(sts) == len(want) and self._agreed(sts):
                idx = {(s["commitIndex"], s["lastApplied"],
                        s["lastLogIndex"]) for s in sts.values()}
                if not settled:
                    return True, sts
                if len(idx) == 1:
                    c, a, last = idx.pop()
                    if c == a == last:
                        return True, sts
            time.sleep(0.05)
        return False, sts

    def call_sized(self, nid, method, *args, timeout=RPC_TIMEOUT):
        """api.call_sized() on node nid: (result, bytes in the answer)."""
        node = self.nodes[nid]
        return api.call_sized(node.host, node.port, method, *args,
                              timeout=timeout)

    def call_with_retry(self, method, *args, timeout=20.0, start=None,
                        retry_codes=api.RETRY_CODES):
        """Calls `method(*args)` on the leader: follows NOT_LEADER hints,
        retries TIMEOUT/UNAVAILABLE faults and connection errors with the
        same arguments (so the same tid) until `timeout` s have passed.
        Other faults are raised; running out of time raises TestFailure."""
        deadline = time.monotonic() + timeout
        ids = self.ids()
        target = start if start is not None else ids[0]
        last = None
        for attempt in range(2000):
            if time.monotonic() >= deadline:
                break
            left = max(0.5, deadline - time.monotonic())
            try:
                c = self.client(target, timeout=min(RPC_TIMEOUT, left + 1))
                return getattr(c, method)(*args)
            except xmlrpc.client.Fault as f:
                last = f
                if f.faultCode == api.NOT_LEADER:
                    hint = api.leader_hint(f.faultString)
                    if hint and hint[0] in self.nodes and \
                            hint[0] != target:
                        target = hint[0]
                        continue
                    target = ids[(ids.index(target) + 1) % len(ids)]
                elif f.faultCode not in retry_codes:
                    raise
            except api.CONN_ERRORS as e:
                last = e
                target = ids[(ids.index(target) + 1) % len(ids)]
            # A pause between attempts, not a condition: the next attempt
            # checks again.
            time.sleep(0.05)
        raise TestFailure("%s%r did not succeed within %.0f s (last: %r)" %
                          (method, args, timeout, last))
