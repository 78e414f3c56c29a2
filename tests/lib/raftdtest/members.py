"""members.py: membership helpers shared by the membership test and the
planned-restart benchmark: new nodes outside the config's list (started
with --join), a leader finder over any addresses, and a writer that keeps
putting through leader changes and counts what failed.

    w = HintWriter(addresses); w.start(); ...; w.finish()
    w.failed   keys whose put was not acknowledged within op_deadline s
    w.acked    key -> value of every acknowledged put
    w.lat      (start time, seconds) of every acknowledged put
"""
import random
import re
import socket
import threading
import time
import xmlrpc.client

from raftdtest import api

HINT = re.compile(r"leader=(\d+)@(\S+)")


def port_pair_free(p):
    """Whether p and p + 1000 (a node's default peer port) are free."""
    for port in (p, p + 1000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def new_addresses(n):
    """n loopback addresses whose port and port + 1000 are free now."""
    out = []
    for _ in range(500):
        if len(out) == n:
            break
        p = random.randint(20000, 39000)
        a = "127.0.0.1:%d" % p
        if port_pair_free(p) and a not in out:
            out.append(a)
    return out


def status_of(addr, timeout=2.0):
    try:
        return api.proxy(addr, timeout=timeout).status()
    except (xmlrpc.client.Fault,) + tuple(api.CONN_ERRORS):
        return None


def leader_of(addrs):
    """(id, address) of a node among addrs that says it leads, or None."""
    for a in addrs:
        st = status_of(a)
        if st is not None and st["state"] == "leader":
            return st["id"], a
    return None


def members(addr):
    return {m["id"]: m for m in api.proxy(addr, timeout=5.0).members()}


class HintWriter:
    """Puts w000001, w000002, ... one at a time, each retried with the same
    tid, following NOT_LEADER hints (to any address, the members added
    later too), until acknowledged or op_deadline seconds: a put that runs
    out of time is a failed client call."""

    def __init__(self, addresses, op_deadline=10.0, prefix="w",
                 limit=100000):
        self.addresses = list(addresses)
        self.op_deadline = op_deadline
        self.prefix = prefix
        self.limit = limit
        self.stop = threading.Event()
        self.acked = {}
        self.failed = []
        self.lat = []
        self.target = self.addresses[0]
        self.thread = threading.Thread(target=self.run, daemon=True)

    def put(self, key, value, tid):
        deadline = time.monotonic() + self.op_deadline
        i = 0
        for _ in range(100000):
            if time.monotonic() >= deadline:
                return False
            try:
                api.proxy(self.target, timeout=3.0).put(key, value, tid)
                return True
            except xmlrpc.client.Fault as f:
                m = HINT.search(f.faultString)
                if f.faultCode == api.NOT_LEADER and m:
                    if m.group(2) not in self.addresses:
                        self.addresses.append(m.group(2))
                    if m.group(2) != self.target:
                        self.target = m.group(2)
                        continue
                elif f.faultCode not in api.RETRY_CODES and \
                        f.faultCode != api.NOT_LEADER:
                    raise
            except api.CONN_ERRORS:
                pass
            i += 1
            self.target = self.addresses[i % len(self.addresses)]
            # A pause between attempts, not a condition: the next
            # attempt checks again.
            time.sleep(0.002)
        return False

    def run(self):
        n = 0
        while not self.stop.is_set() and n < self.limit:
            n += 1
            key, value = "%s%06d" % (self.prefix, n), "v%d" % n
            t0 = time.monotonic()
            if self.put(key, value, "%s-%d" % (self.prefix, n)):
                self.lat.append((t0, time.monotonic() - t0))
                self.acked[key] = value
            else:
                self.failed.append(key)

    def start(self):
        self.thread.start()

    def finish(self):
        self.stop.set()
        self.thread.join(self.op_deadline + 5)

    def worst_between(self, t0, t1):
        """The longest put that started in [t0, t1], in seconds."""
        xs = [d for (t, d) in self.lat if t0 <= t <= t1]
        return max(xs) if xs else 0.0


def call_leader(addresses, method, *args, timeout=20.0):
    """method(*args) on the leader among addresses (following NOT_LEADER
    hints to any address, retrying TIMEOUT, UNAVAILABLE and connection
    errors with the same arguments) until it answers or `timeout` s."""
    addrs = list(addresses)
    target = addrs[0]
    deadline = time.monotonic() + timeout
    last = None
    for i in range(100000):
        if time.monotonic() >= deadline:
            break
        try:
            return getattr(api.proxy(target, timeout=min(
                10.0, max(1.0, deadline - time.monotonic()))), method)(*args)
        except xmlrpc.client.Fault as f:
            last = f
            m = HINT.search(f.faultString)
            if f.faultCode == api.NOT_LEADER and m and m.group(2) != target:
                target = m.group(2)
                continue
            if f.faultCode not in api.RETRY_CODES and \
                    f.faultCode != api.NOT_LEADER:
                raise
        except api.CONN_ERRORS as e:
            last = e
        target = addrs[(i + 1) % len(addrs)]
        # A pause between attempts, not a condition.
        time.sleep(0.02)
    raise TimeoutError("%s%r did not succeed within %.0f s (last: %r)" %
                       (method, args, timeout, last))
