# test_no_quorum.py: without a majority, writes and reads fail within request_timeout_ms + 1 s, never hang.
import os
import sys
import threading
import time
import xmlrpc.client

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import NOT_LEADER, TIMEOUT, UNAVAILABLE, Cluster  # noqa: E402

REQUEST_TIMEOUT_MS = 2000
BOUND = REQUEST_TIMEOUT_MS / 1000.0 + 1.0
CODES = (NOT_LEADER, TIMEOUT, UNAVAILABLE)


def timed_fault(ck, fn, what):
    """fn() must raise fault 1, 2 or 6 within BOUND seconds."""
    t0 = time.monotonic()
    f = ck.fault(fn, CODES, what)
    took = time.monotonic() - t0
    ck.check(took <= BOUND, "%s: answered in %.2f s (bound %.1f s)" %
             (what, took, BOUND))
    return f, took


def main(ck):
    c = Cluster(3, name="noquorum", request_timeout=REQUEST_TIMEOUT_MS)
    lead, _ = c.stable_leader()
    ck.eq(c.call_with_retry("put", "k", "before"), True, "put with a quorum")
    others = [n for n in c.ids() if n != lead]
    c.kill9(others[0])
    c.kill9(others[1])
    # The client's socket timeout is far above the bound: a hang would
    # show as a slow answer, not as a client-side timeout.
    cl = c.client(lead, timeout=BOUND + 10)

    # Right away, all at once: the leader may still think it leads.
    calls = [("put", ("k", "lonely", "nq-1")), ("addEntry", ("nq-2", "x")),
             ("get", ("k",)), ("list", ("",)), ("multiGet", (["k"],)),
             ("getEntries", (1, 10))]
    out = {}

    def call(method, args):
        t0 = time.monotonic()
        try:
            r = getattr(c.client(lead, timeout=BOUND + 10), method)(*args)
            out[method] = (r, time.monotonic() - t0)
        except xmlrpc.client.Fault as e:
            out[method] = (e, time.monotonic() - t0)
        except rt.CONN_ERRORS as e:
            out[method] = (e, time.monotonic() - t0)
    ts = [threading.Thread(target=call, args=m) for m in calls]
    for t in ts:
        t.start()
    for t in ts:
        t.join(BOUND + 15)
    for method, _ in calls:
        r, took = out.get(method, (None, None))
        ck.check(isinstance(r, xmlrpc.client.Fault) and
                 r.faultCode in CODES,
                 "%s on the survivor right after the others died: fault "
                 "1/2/6 (got %r)" % (method, r))
        ck.check(took is not None and took <= BOUND,
                 "%s: answered within %.1f s (%s)" % (method, BOUND, took))
    lonely = out.get("put", (None,))[0]
    lonely_code = getattr(lonely, "faultCode", None)
    ck.note("at once: %s" % ", ".join(
        "%s fault %s in %.2f s" % (m, getattr(out[m][0], "faultCode", "?"),
                                   out[m][1]) for m, _ in calls if m in out))

    # Several clients at once, each bounded.
    results = []

    def one(i):
        t0 = time.monotonic()
        try:
            c.client(lead, timeout=BOUND + 10).put("par%d" % i, "v")
            results.append(("ok", time.monotonic() - t0))
        except xmlrpc.client.Fault as e:
            results.append((e.faultCode, time.monotonic() - t0))
        except rt.CONN_ERRORS as e:
            results.append((repr(e), time.monotonic() - t0))
    ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(BOUND + 15)
    ck.eq(len(results), 8, "8 parallel puts all answered")
    ck.check(all(r[0] in CODES and r[1] <= BOUND for r in results),
             "8 parallel puts: faults 1/2/6 within %.1f s (%r)" %
             (BOUND, results))

    # Later the survivor knows it has no quorum: still a fault, quickly.
    rt.wait_for(lambda: not cl.isLeader(), 10,
                "the survivor to step down")
    f, took = timed_fault(ck, lambda: cl.put("k", "later"),
                          "put once the survivor stepped down")
    ck.eq(f and f.faultCode, NOT_LEADER, "a node that stepped down answers "
          "NOT_LEADER")
    ck.check(took < 1.0, "and at once (%.2f s)" % took)

    # A majority again.  A write refused with NOT_LEADER was never
    # appended and must not take effect; one that got TIMEOUT has an
    # unknown outcome (a later leader may commit it).
    c.start(others[0])
    c.stable_leader(timeout=15, nids=[lead, others[0]])
    want = ("before", "lonely") if lonely_code == TIMEOUT else ("before",)
    v = c.call_with_retry("get", "k")
    ck.check(v in want, "k is %r, one of %r (the put refused with "
             "NOT_LEADER did not take effect)" % (v, want))
    absent = [i for i, r in enumerate(results) if r[0] == NOT_LEADER]
    got = c.call_with_retry("multiGet", ["par%d" % i for i in absent])
    ck.eq(got, {}, "no parallel put refused with NOT_LEADER took effect")
    ck.eq(c.call_with_retry("put", "k", "after"), True,
          "put with a majority again")
    ck.eq(c.call_with_retry("get", "k"), "after", "and it reads back")
    c.finish(ck)


rt.run(main)
