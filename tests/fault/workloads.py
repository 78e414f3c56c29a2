# workloads.py: the fault runs' clients: a retrying client per thread and the register, counter and log workloads whose histories checker.py checks.
#
# A logical operation is retried with the same arguments (so the same tid)
# after TIMEOUT, UNAVAILABLE or a connection error, and follows NOT_LEADER
# hints, until its deadline; it is recorded once (Run.do in nemesis.py),
# with the outcome ok, fail (no attempt can have taken effect) or unknown.
# The clients know every node of the cluster (ids 1..n): the member
# nemesis removes a node and adds it back under the same id and address,
# so a hint always names one of them, and a removed or wiped node that
# answers NOT_LEADER (or nothing) only sends the client elsewhere.
import threading
import time
import xmlrpc.client

from checker import ABSENT, FAIL, OK, UNKNOWN, Op
from raftdtest import (CONN_ERRORS, NOT_FOUND, NOT_LEADER, TIMEOUT,
                       UNAVAILABLE, leader_hint, proxy)

now = time.monotonic


class Client:
    """One client thread's view of the cluster: a leader guess, one proxy
    per node, and calls that follow NOT_LEADER hints and retry with the
    same arguments (so the same tid) until a deadline."""

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
            p = proxy(self.cluster.address(nid), self.rpc_timeout)
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
        ids = self.cluster.ids()
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
                    hint = leader_hint(f.faultString)
                    if hint and hint[0] in ids and hint[0] != nid:
                        self.leader = hint[0]
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
