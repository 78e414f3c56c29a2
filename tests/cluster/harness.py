# harness.py: start, stop and inspect real raftd clusters for the integration tests.
#
# A test builds a Cluster (free loopback ports, a config and one data dir per
# node in a fresh temp dir), starts raftd processes and talks XML-RPC to them.
# Only the processes a Cluster started are ever signalled, by their pid.  Every
# wait is bounded in time and in count.  run() wraps a test's main function:
# it counts checks, always stops the processes and removes the temp dir (also
# on an exception, SIGTERM or SIGINT), prints the tail of every node's log when
# something failed, and fails the test when a node's log holds a sanitizer
# report or a node crashed on its own.
import atexit
import http.client
import os
import random
import re
import secrets
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
import xmlrpc.client

NOT_LEADER = 1
TIMEOUT = 2
INVALID = 3
NOT_FOUND = 4
UNAUTHORIZED = 5
UNAVAILABLE = 6

# Bounds for the harness's own waits; sanitizer builds start slowly.
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
RPC_TIMEOUT = 10.0
POLL = 0.02

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:",
                   "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer")

# Exceptions that mean "could not talk to that node" (down, reset, timeout).
CONN_ERRORS = (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError)


class TestFailure(Exception):
    """A check that cannot go on (the rest of the test depends on it)."""


class _Abort(TestFailure):
    """Raised by Checker.require() after counting the failed check."""


def raftd_path():
    top = os.environ.get("top_builddir", ".")
    return os.path.abspath(os.path.join(top, "raftd"))


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


class _Transport(xmlrpc.client.Transport):
    """xmlrpc.client's transport with a socket timeout."""

    def __init__(self, timeout):
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


def proxy(address, timeout=RPC_TIMEOUT):
    return xmlrpc.client.ServerProxy("http://%s/RPC2" % address,
                                     transport=_Transport(timeout),
                                     allow_none=False)


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def free_ports(n):
    """n distinct loopback ports that are free now.  Ports below the
    kernel's ephemeral range are preferred, so that an outgoing connection
    (which takes an ephemeral port) cannot hold a node's port when the test
    restarts that node; each candidate is checked by binding it.  Falls back
    to binding port 0."""
    lo, _ = _ephemeral_range()
    socks = []
    ports = []
    try:
        if lo > 12000:
            for _ in range(200 * n):
                if len(ports) == n:
                    break
                p = random.randrange(10000, lo)
                if p in ports:
                    continue
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    s.close()
                    continue
                socks.append(s)
                ports.append(p)
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def rss_kib(pid):
    """The resident set size of a process in KiB (0 if unknown)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    # The state follows the ")" that closes the command name.
    return st[st.rindex(")") + 2] not in "ZX"


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


# ---- raftlog files (docs/RAFTLOG-FORMAT.md) ---------------------------------

RAFTLOG_HEADER = 32
REC_ENTRY = 1
REC_COMMIT = 2


def _crc32c_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli), as the raftlog uses it."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def raftlog_entry_record(index, term, etype, payload):
    """One valid ENTRY record (with its checksum and padding)."""
    body = struct.pack("<QQB", index, term, etype) + payload
    rest = struct.pack("<IB7x", len(body), REC_ENTRY) + body
    rest += b"\0" * ((-(4 + len(rest))) % 8)
    return struct.pack("<I", crc32c(rest)) + rest


def raftlog_records(path):
    """The records of a raftlog as a list of dicts {offset, size, type,
    index (ENTRY) or commit (COMMIT)}.  Only lengths are parsed (no
    checksums): enough to find record boundaries in a valid file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"RAFTDLOG":
        raise TestFailure("%s: bad magic %r" % (path, data[:8]))
    recs = []
    off = RAFTLOG_HEADER
    for _ in range(10000000):
        if off + 16 > len(data):
            break
        (length,) = struct.unpack_from("<I", data, off + 4)
        rtype = data[off + 8]
        size = 16 + length
        size += (-size) % 8
        if off + size > len(data):
            break
        rec = {"offset": off, "size": size, "type": rtype}
        if rtype == REC_ENTRY:
            rec["index"], rec["term"] = struct.unpack_from("<QQ", data,
                                                           off + 16)
        elif rtype == REC_COMMIT:
            (rec["commit"],) = struct.unpack_from("<Q", data, off + 16)
        recs.append(rec)
        off += size
    return recs


# ---- checks and the test runner --------------------------------------------

class Checker:
    """Counts checks; a failed check is reported and counted, and the test
    goes on (use require() when the rest depends on it)."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.lock = threading.Lock()

    def check(self, cond, what):
        with self.lock:
            if cond:
                self.passed += 1
            else:
                self.failed += 1
                print("FAIL: %s" % what, flush=True)
        return bool(cond)

    def eq(self, got, want, what):
        return self.check(got == want,
                          "%s: got %r, want %r" % (what, got, want))

    def require(self, cond, what):
        if not self.check(cond, what):
            raise _Abort(what)

    def fault(self, fn, codes, what):
        """Calls fn(); passes if it raises an XML-RPC fault whose code is
        in `codes` (an int or a tuple).  Returns the fault (or None)."""
        if isinstance(codes, int):
            codes = (codes,)
        try:
            r = fn()
        except xmlrpc.client.Fault as f:
            self.check(f.faultCode in codes,
                       "%s: fault %d (%s), want fault %s" %
                       (what, f.faultCode, f.faultString, codes))
            return f
        self.check(False, "%s: returned %r, want fault %s" % (what, r, codes))
        return None

    def note(self, msg):
        print("%s: %s" % (self.name, msg), flush=True)


_clusters = []
_clusters_lock = threading.Lock()


def _cleanup_all():
    with _clusters_lock:
        cl = list(_clusters)
    for c in cl:
        c.close()
        c.remove()


atexit.register(_cleanup_all)


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def run(main):
    """Runs main(checker) as a test program: prints the checks, cleans up
    every cluster, prints "N passed, M failed" and exits 0 only if all
    passed."""
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    ck = Checker(name)
    if not os.access(raftd_path(), os.X_OK):
        print("%s: %s is not built" % (name, raftd_path()))
        sys.exit(99)
    t0 = time.monotonic()
    try:
        main(ck)
    except _Abort:
        pass
    except TestFailure as e:
        ck.check(False, "aborted: %s" % e)
    except BaseException:  # noqa: BLE001 - report anything, then clean up
        traceback.print_exc()
        ck.check(False, "aborted by an exception")
    finally:
        with _clusters_lock:
            cl = list(_clusters)
        for c in cl:
            for problem in c.close():
                ck.check(False, problem)
        if ck.failed:
            for c in cl:
                c.print_logs()
        for c in cl:
            c.remove()
    print("%s: %.1f s" % (name, time.monotonic() - t0))
    print("%d passed, %d failed" % (ck.passed, ck.failed), flush=True)
    sys.exit(1 if ck.failed else 0)


# ---- the cluster -----------------------------------------------------------

class Node:
    def __init__(self, nid, port):
        self.id = nid
        self.port = port
        self.proc = None       # the running raftd (subprocess.Popen)
        self.expect_exit = False  # we signalled it; its exit is no crash
        self.crashes = []      # exits we did not cause
        self.exits = []        # (how it was stopped, return code)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid if self.proc else None


class Cluster:
    """n raftd nodes (ids 1..n) on loopback, in a fresh temp dir."""

    def __init__(self, n, name="cluster", election=(150, 300), heartbeat=50,
                 request_timeout=5000, secret=None, log_level="info",
                 start=True, insecure=False):
        self.name = name
        self.election = election
        self.heartbeat = heartbeat
        self.request_timeout = request_timeout
        # Peers authenticate by default: a random secret unless the test
        # asks for one, or for an insecure cluster.
        if secret is None and not insecure:
            secret = secrets.token_hex(16)
        self.secret = secret
        self.insecure = insecure
        self.log_level = log_level
        self.dir = tempfile.mkdtemp(prefix="raftd-%s-" % name)
        self.conf = os.path.join(self.dir, "raftd.conf")
        self.nodes = {}
        self.closed = False
        self.removed = False
        self.extra_pids = []   # processes we did not start by Popen (--daemon)
        self.extra_logs = []   # more logs to scan for sanitizer reports
        self.raw_procs = []    # processes started by spawn()/run_raw()
        self.sanitizer_hits = []  # sanitizer reports in run_raw() output
        for nid, port in zip(range(1, n + 1), free_ports(n)):
            self.nodes[nid] = Node(nid, port)
        self.write_config()
        with _clusters_lock:
            _clusters.append(self)
        if start:
            self.start_all()

    # -- files ----------------------------------------------------------------

    def ids(self):
        return sorted(self.nodes)

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

    def config_text(self):
        nodes = ",\n".join('    { id = %d; address = "%s"; }' %
                           (nid, self.address(nid)) for nid in self.ids())
        secret = ""
        if self.secret is not None:
            secret = '  secret = "%s";\n' % self.secret
        insecure = "insecure = true;\n" if self.insecure else ""
        return ("# written by tests/cluster/harness.py\n"
                "cluster = {\n  nodes = (\n%s\n  );\n%s};\n"
                'data_dir = "%s/node-%%i";\n'
                "election_timeout_ms = { min = %d; max = %d; };\n"
                "heartbeat_ms = %d;\n"
                "request_timeout_ms = %d;\n%s" %
                (nodes, secret, self.dir, self.election[0],
                 self.election[1], self.heartbeat, self.request_timeout,
                 insecure))

    def write_config(self):
        with open(self.conf, "w") as f:
            f.write(self.config_text())

    # -- processes ------------------------------------------------------------

    def _spawn(self, nid, extra_args=()):
        node = self.nodes[nid]
        argv = [raftd_path(), "-c", self.conf, "-i", str(nid),
                "--log-level", self.log_level] + list(extra_args)
        with open(self.log_path(nid), "ab") as logf:
            logf.write(("=== harness: starting node %d: %s\n" %
                        (nid, " ".join(argv))).encode())
            logf.flush()
            node.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf,
                                         cwd=self.dir)
        node.expect_exit = False

    def _reap(self, node):
        """Notes an exit of node's process that we did not ask for."""
        if node.proc is not None and node.proc.poll() is not None:
            if not node.expect_exit:
                node.crashes.append(node.proc.returncode)
            node.exits.append(("self", node.proc.returncode))
            node.proc = None

    def is_running(self, nid):
        node = self.nodes[nid]
        return node.proc is not None and node.proc.poll() is None

    def running(self):
        return [nid for nid in self.ids() if self.is_running(nid)]

    def _wait_ready(self, nid, timeout=START_TIMEOUT):
        """Waits until node nid answers status() with its own id.  Returns
        True, or False if the process exited first."""
        node = self.nodes[nid]
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / POLL) + 10):
            if node.proc.poll() is not None:
                return False
            try:
                st = self.client(nid, timeout=2).status()
                if st.get("id") == nid:
                    return True
            except CONN_ERRORS:
                pass
            except xmlrpc.client.Fault:
                pass
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL)
        raise TestFailure("node %d did not answer within %.0f s" %
                          (nid, timeout))

    def _bind_failed(self, nid):
        text = self.log_text(nid)
        return "cannot listen" in text.rsplit("=== harness:", 1)[-1]

    def start_all(self, attempts=5):
        """Starts every node; if one cannot bind its port (taken since we
        chose it), stops them all, picks new ports and tries again."""
        for attempt in range(attempts):
            for nid in self.ids():
                self._spawn(nid)
            ok = True
            for nid in self.ids():
                if not self._wait_ready(nid):
                    ok = False
                    node = self.nodes[nid]
                    rc = node.proc.returncode
                    node.proc = None
                    if not self._bind_failed(nid):
                        self.stop_all()
                        raise TestFailure(
                            "node %d exited with %s at start:\n%s" %
                            (nid, rc, tail(self.log_path(nid))))
            if ok:
                return
            self.stop_all()
            for nid, port in zip(self.ids(), free_ports(len(self.nodes))):
                self.nodes[nid].port = port
                shutil.rmtree(self.data_dir(nid), ignore_errors=True)
            self.write_config()
        raise TestFailure("could not bind the cluster's ports after %d "
                          "attempts" % attempts)

    def start(self, nid, timeout=START_TIMEOUT, extra_args=()):
        """Starts (or restarts) node nid, which must not be running, on its
        port, with extra_args added to its command line; retries while the
        port is still taken.  Returns once the node answers."""
        if self.is_running(nid):
            raise TestFailure("node %d is already running" % nid)
        self._reap(self.nodes[nid])
        deadline = time.monotonic() + timeout
        for _ in range(50):
            self._spawn(nid, extra_args)
            if self._wait_ready(nid, timeout=max(1.0, deadline -
                                                 time.monotonic())):
                return
            node = self.nodes[nid]
            rc = node.proc.returncode
            node.proc = None
            if not self._bind_failed(nid) or time.monotonic() >= deadline:
                raise TestFailure("node %d exited with %s at start:\n%s" %
                                  (nid, rc, tail(self.log_path(nid))))
            time.sleep(0.2)
        raise TestFailure("node %d: port %d stayed busy" %
                          (nid, self.nodes[nid].port))

    restart = start

    def run_once(self, nid, args, timeout=START_TIMEOUT):
        """Runs raftd for node nid expecting it to exit by itself (e.g. a
        refused start).  Returns (exit code, output of this run); kills it
        and raises if it is still running after `timeout` s."""
        node = self.nodes[nid]
        if self.is_running(nid):
            raise TestFailure("node %d is already running" % nid)
        before = len(self.log_text(nid))
        self._spawn(nid, args)
        node.expect_exit = True
        try:
            rc = node.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal(node, signal.SIGKILL)
            node.proc.wait(STOP_TIMEOUT)
            node.proc = None
            raise TestFailure("node %d was expected to exit but still ran "
                              "after %.0f s" % (nid, timeout))
        node.exits.append(("run_once", rc))
        node.proc = None
        return rc, self.log_text(nid)[before:]

    def _signal(self, node, sig):
        if node.proc is not None and node.proc.poll() is None:
            os.kill(node.proc.pid, sig)

    def kill9(self, nid):
        """SIGKILL node nid and waits until it is gone."""
        node = self.nodes[nid]
        self._reap(node)
        if node.proc is None:
            raise TestFailure("node %d is not running" % nid)
        node.expect_exit = True
        self._signal(node, signal.SIGKILL)
        try:
            rc = node.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise TestFailure("node %d survived SIGKILL" % nid)
        node.exits.append(("SIGKILL", rc))
        node.proc = None

    def stop(self, nid, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends sig (SIGTERM) and waits up to `timeout` s for the exit;
        then SIGKILL.  Returns (return code or None if it had to be killed,
        seconds it took)."""
        node = self.nodes[nid]
        self._reap(node)
        if node.proc is None:
            return None, 0.0
        node.expect_exit = True
        t0 = time.monotonic()
        self._signal(node, sig)
        try:
            rc = node.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
            self._signal(node, signal.SIGKILL)
            try:
                node.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        took = time.monotonic() - t0
        node.exits.append((signal.Signals(sig).name, rc))
        node.proc = None
        return rc, took

    def stop_all(self):
        for nid in self.ids():
            self.stop(nid)

    def kill9_all(self):
        """SIGKILL every running node at once (then reaps them)."""
        live = [self.nodes[nid] for nid in self.running()]
        for node in live:
            node.expect_exit = True
            self._signal(node, signal.SIGKILL)
        for node in live:
            node.exits.append(("SIGKILL", node.proc.wait(STOP_TIMEOUT)))
            node.proc = None

    def spawn(self, args, cwd=None, log_name="extra"):
        """Starts raftd with exactly `args` (nothing added), stdout and
        stderr to DIR/<log_name>.log (scanned for sanitizer reports).
        Returns the Popen; close() stops it if it still runs."""
        path = os.path.join(self.dir, log_name + ".log")
        if path not in self.extra_logs:
            self.extra_logs.append(path)
        with open(path, "ab") as logf:
            p = subprocess.Popen([raftd_path()] + list(args),
                                 stdin=subprocess.DEVNULL, stdout=logf,
                                 stderr=logf, cwd=cwd or self.dir)
        self.raw_procs.append(p)
        return p

    def run_raw(self, args, cwd=None, timeout=START_TIMEOUT):
        """Runs raftd with exactly `args`, expecting it to exit by itself:
        returns (exit code, stdout + stderr).  Kills it and raises if it
        still runs after `timeout` s."""
        p = subprocess.Popen([raftd_path()] + list(args),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, cwd=cwd or self.dir)
        self.raw_procs.append(p)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.communicate(timeout=STOP_TIMEOUT)
            raise TestFailure("raftd %s still ran after %.0f s" %
                              (" ".join(args), timeout))
        text = out.decode("utf-8", "replace")
        for mark in SANITIZER_MARKS:
            if mark in text:
                self.sanitizer_hits.append("raftd %s: %s" %
                                           (" ".join(args), mark))
        return p.returncode, text

    def add_pid(self, pid):
        """A process of this cluster that we did not start by Popen (a
        --daemon raftd): close() kills it if it is still there."""
        self.extra_pids.append(pid)

    def close(self):
        """Stops every process this cluster started (SIGTERM, then SIGKILL
        after a bound) and returns a list of problems: sanitizer reports,
        crashes, non-zero exits on SIGTERM."""
        if self.closed:
            return []
        self.closed = True
        problems = []
        # SIGTERM all first, so that they shut down in parallel.
        for nid in self.ids():
            node = self.nodes[nid]
            self._reap(node)
            if node.proc is not None:
                node.expect_exit = True
                self._signal(node, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for nid in self.ids():
            node = self.nodes[nid]
            if node.proc is not None:
                try:
                    rc = node.proc.wait(max(0.1, deadline -
                                            time.monotonic()))
                except subprocess.TimeoutExpired:
                    rc = None
                    self._signal(node, signal.SIGKILL)
                    node.proc.wait(STOP_TIMEOUT)
                node.exits.append(("SIGTERM", rc))
                node.proc = None
                if rc != 0:
                    problems.append("%s: node %d exited with %s on SIGTERM "
                                    "at the end of the test" %
                                    (self.name, nid, rc))
            for c in node.crashes:
                problems.append("%s: node %d exited by itself with status %s"
                                % (self.name, nid, c))
        for p in self.raw_procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(STOP_TIMEOUT)
        for pid in self.extra_pids:
            if pid_alive(pid) and self._ours(pid):
                os.kill(pid, signal.SIGKILL)
        problems.extend("%s: sanitizer report from %s" % (self.name, h)
                        for h in self.sanitizer_hits)
        logs = [self.log_path(nid) for nid in self.ids()] + self.extra_logs
        for path in logs:
            try:
                with open(path, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            for mark in SANITIZER_MARKS:
                if mark in text:
                    problems.append("%s: %s has a sanitizer report (%s)" %
                                    (self.name, os.path.basename(path),
                                     mark))
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

    def _ours(self, pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return self.dir.encode() in f.read()
        except OSError:
            return False

    def print_logs(self, lines=40):
        for path in [self.log_path(nid) for nid in self.ids()] + \
                self.extra_logs:
            if os.path.exists(path):
                print("---- %s: tail of %s ----" % (self.name, path))
                print(tail(path, lines))
        sys.stdout.flush()

    def remove(self):
        if not self.removed:
            self.removed = True
            shutil.rmtree(self.dir, ignore_errors=True)
        with _clusters_lock:
            if self in _clusters:
                _clusters.remove(self)

    # -- talking to nodes -----------------------------------------------------

    def client(self, nid, timeout=RPC_TIMEOUT):
        return proxy(self.address(nid), timeout)

    def status(self, nid, timeout=RPC_TIMEOUT):
        return self.client(nid, timeout).status()

    def statuses(self, nids=None):
        """{id: status()} of the given (default: running) nodes that
        answer."""
        out = {}
        for nid in nids if nids is not None else self.running():
            try:
                out[nid] = self.status(nid, timeout=3)
            except CONN_ERRORS:
                pass
        return out

    def _leader_now(self, nids):
        for nid in nids:
            try:
                if not self.client(nid, timeout=3).isLeader():
                    continue
                st = self.status(nid, timeout=3)
            except CONN_ERRORS:
                continue
            if st["state"] == "leader" and st["leader"] == nid:
                return nid
        return None

    def leader(self, timeout=10.0, among=None):
        """The id of the node whose isLeader() is true, with its status()
        agreeing (state "leader", leader = itself).  Waits up to
        `timeout` s."""
        return wait_for(lambda: self._leader_now(
            among if among is not None else self.running()), timeout,
            "a leader among nodes %s" % (among or self.running()))

    def stable_leader(self, timeout=10.0, nids=None):
        """Waits until every given (default: running) node reports the
        same leader and term, and that leader says it leads; returns
        (leader id, term)."""
        def agreed():
            want = nids if nids is not None else self.running()
            sts = self.statuses(want)
            if len(sts) != len(want):
                return None
            leaders = {s["leader"] for s in sts.values()}
            terms = {s["term"] for s in sts.values()}
            if len(leaders) != 1 or len(terms) != 1:
                return None
            lid = leaders.pop()
            if lid not in sts or sts[lid]["state"] != "leader":
                return None
            return lid, terms.pop()
        return wait_for(agreed, timeout, "all nodes to agree on a leader")

    def wait_caught_up(self, nids=None, timeout=15.0):
        """Waits until the given (default: running) nodes all have the
        leader's commitIndex and lastApplied, and it has applied all its
        log; returns that index."""
        def same():
            want = nids if nids is not None else self.running()
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
                        (nids or self.running()))

    def call_sized(self, nid, method, *args, timeout=RPC_TIMEOUT):
        """Calls method(*args) on node nid over a raw HTTP POST: returns
        (result, number of bytes in the response body), so that a test can
        check response sizes.  A fault is raised as xmlrpc.client.Fault
        (with .body_bytes set), an HTTP error as ProtocolError."""
        body = xmlrpc.client.dumps(tuple(args), method).encode("utf-8")
        conn = http.client.HTTPConnection("127.0.0.1", self.nodes[nid].port,
                                          timeout=timeout)
        try:
            conn.request("POST", "/RPC2", body,
                         {"Content-Type": "text/xml"})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise xmlrpc.client.ProtocolError(self.address(nid), resp.status,
                                              resp.reason, {})
        try:
            (result,), _ = xmlrpc.client.loads(data)
        except xmlrpc.client.Fault as f:
            f.body_bytes = len(data)
            raise
        return result, len(data)

    def call_with_retry(self, method, *args, timeout=20.0, start=None,
                        retry_codes=(TIMEOUT, UNAVAILABLE)):
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
                if f.faultCode == NOT_LEADER:
                    m = re.search(r"leader=(\d+)@", f.faultString)
                    if m and int(m.group(1)) in self.nodes and \
                            int(m.group(1)) != target:
                        target = int(m.group(1))
                        continue
                    target = ids[(ids.index(target) + 1) % len(ids)]
                elif f.faultCode not in retry_codes:
                    raise
            except CONN_ERRORS as e:
                last = e
                target = ids[(ids.index(target) + 1) % len(ids)]
            # A pause between attempts, not a condition: the next attempt
            # checks again.
            time.sleep(0.05)
        raise TestFailure("%s%r did not succeed within %.0f s (last: %r)" %
                          (method, args, timeout, last))
