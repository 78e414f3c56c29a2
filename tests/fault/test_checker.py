#!/usr/bin/env python3
# test_checker.py: the linearizability, log and counter checkers on hand-made and generated histories.
import itertools
import os
import random
import sys
import tempfile

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402
from checker import FAIL, OK, UNKNOWN, Op  # noqa: E402

PASSED = [0]
FAILED = [0]


def check(cond, what):
    if cond:
        PASSED[0] += 1
    else:
        FAILED[0] += 1
        print("FAIL: %s" % what, flush=True)


# Short constructors: times are (invoke, complete); complete None = unknown.
def put(p, k, v, t0, t1, status=OK):
    return Op(p, "put", k, v, t0, t1 if status == OK else None, True
              if status == OK else None, status)


def get(p, k, res, t0, t1):
    return Op(p, "get", k, None, t0, t1, res, OK)


def cas(p, k, old, new, res, t0, t1, status=OK):
    return Op(p, "cas", k, (old, new), t0, t1 if status == OK else None,
              res if status == OK else None, status)


def delete(p, k, res, t0, t1, status=OK):
    return Op(p, "delete", k, None, t0, t1 if status == OK else None,
              res if status == OK else None, status)


def lin(ops, want, what, init=None):
    res = checker.check_linearizable(ops, init=init)
    check(res.ok is want, "%s: linearizable %s, want %s (%s)" %
          (what, res.ok, want, res.detail))
    return res


def kv_cases():
    k = "x"
    # Sequential, all legal.
    lin([put(1, k, "a", 0, 1), get(1, k, "a", 2, 3),
         cas(1, k, "a", "b", True, 4, 5), cas(1, k, "a", "c", False, 6, 7),
         get(1, k, "b", 8, 9), delete(1, k, True, 10, 11),
         delete(1, k, False, 12, 13), get(1, k, None, 14, 15),
         cas(1, k, "", "d", True, 16, 17), get(1, k, "d", 18, 19)],
        True, "sequential register")
    lin([], True, "empty history")
    # Stale read: the second put is acknowledged before the read began.
    res = lin([put(1, k, "1", 0, 1), put(1, k, "2", 2, 3),
               get(2, k, "1", 4, 5)], False, "stale read")
    check(res.culprit is not None and res.culprit.f == "get",
          "stale read: the culprit is the get (%r)" % (res.culprit,))
    # A read concurrent with the write may see either value.
    lin([put(1, k, "1", 0, 1), put(1, k, "2", 2, 6),
         get(2, k, "1", 3, 4)], True, "read concurrent with a write, old")
    lin([put(1, k, "1", 0, 1), put(1, k, "2", 2, 6),
         get(2, k, "2", 3, 4)], True, "read concurrent with a write, new")
    # Once a read saw the new value, a later read must not see the old.
    lin([put(1, k, "1", 0, 1), put(1, k, "2", 2, 10),
         get(2, k, "2", 3, 4), get(3, k, "1", 5, 6)], False,
        "new-then-old read during a write")
    # Lost write: acknowledged, then a read finds the key absent.
    lin([put(1, k, "1", 0, 1), get(2, k, None, 2, 3)], False, "lost write")
    lin([put(1, k, "1", 0, 1), put(2, k, "2", 0.5, 1.5),
         get(3, k, "1", 2, 3), get(3, k, "2", 4, 5)], False,
        "lost write, flip-flop")
    # Two concurrent puts, reads in between.
    lin([put(1, k, "1", 0, 10), put(2, k, "2", 0, 10),
         get(3, k, "2", 1, 2), get(3, k, "1", 3, 4)], True,
        "two concurrent puts, both orders seen")
    lin([put(1, k, "1", 0, 10), put(2, k, "2", 0, 10),
         get(3, k, "2", 1, 2), get(3, k, "1", 3, 4),
         get(3, k, "2", 11, 12)], False,
        "two concurrent puts, a value seen twice")
    # cas anomalies.
    lin([put(1, k, "0", 0, 1), cas(2, k, "0", "1", True, 2, 5),
         cas(3, k, "0", "2", True, 2, 5)], False,
        "cas: two concurrent cas from the same value both succeed")
    lin([put(1, k, "0", 0, 1), cas(2, k, "0", "1", True, 2, 5),
         cas(3, k, "0", "2", False, 2, 5), get(1, k, "1", 6, 7)], True,
        "cas: one of two concurrent cas wins")
    lin([put(1, k, "0", 0, 1), cas(2, k, "0", "1", False, 2, 3)], False,
        "cas: fails though the value matched")
    lin([put(1, k, "0", 0, 1), cas(2, k, "9", "1", True, 2, 3)], False,
        "cas: succeeds though the value differed")
    lin([cas(2, k, "", "1", True, 0, 1), get(1, k, "1", 2, 3)], True,
        "cas: expected \"\" on an absent key")
    lin([put(1, k, "0", 0, 1), cas(2, k, "0", "1", True, 2, 3),
         get(1, k, "0", 4, 5)], False, "cas: acknowledged cas lost")
    # delete anomalies.
    lin([put(1, k, "0", 0, 1), delete(2, k, False, 2, 3)], False,
        "delete: says absent though present")
    lin([delete(2, k, True, 0, 1)], False, "delete: says present though "
        "absent")
    lin([put(1, k, "0", 0, 1), delete(2, k, True, 2, 3),
         get(1, k, "0", 4, 5)], False, "delete: key back after a delete")
    # Unknown outcomes.
    lin([put(1, k, "1", 0, None, UNKNOWN), get(2, k, "1", 5, 6)], True,
        "unknown put took effect")
    lin([put(1, k, "1", 0, None, UNKNOWN), get(2, k, None, 5, 6)], True,
        "unknown put did not take effect")
    lin([get(2, k, "1", 0, 1), put(1, k, "1", 2, None, UNKNOWN)], False,
        "read sees an unknown put invoked after the read ended")
    lin([put(1, k, "1", 0, None, UNKNOWN), get(2, k, "1", 5, 6),
         get(2, k, None, 7, 8)], False,
        "unknown put seen, then gone without a delete")
    lin([put(1, k, "0", 0, 1), delete(1, k, None, 2, None, UNKNOWN),
         get(2, k, "0", 5, 6), get(2, k, None, 7, 8)], True,
        "unknown delete took effect late")
    lin([put(1, k, "0", 0, 1), cas(1, k, "0", "1", None, 2, None, UNKNOWN),
         get(2, k, "1", 5, 6), cas(3, k, "1", "2", True, 7, 8),
         get(2, k, "2", 9, 10)], True, "unknown cas took effect")
    lin([put(1, k, "0", 0, 1), cas(1, k, "0", "1", None, 2, None, UNKNOWN),
         put(1, k, "5", 3, 4), get(2, k, "1", 5, 6)], False,
        "unknown cas cannot apply after the value changed")
    failed = put(1, k, "9", 0, None, FAIL)
    lin([failed, get(2, k, None, 1, 2)], True, "failed put ignored")
    # init state.
    lin([get(1, k, "0", 0, 1)], True, "initial value", init="0")
    lin([get(1, k, None, 0, 1)], False, "initial value, read absent",
        init="0")
    # Per-key: the violation is reported on its key only.
    ops = [put(1, "a", "1", 0, 1), get(1, "a", "1", 2, 3),
           put(1, "b", "1", 0, 1), get(2, "b", None, 2, 3)]
    res = checker.check_kv(ops)
    check(res["a"].ok is True and res["b"].ok is False,
          "check_kv splits by key: %r" % ({k: r.ok for k, r in res.items()},))
    text = checker.kv_report(ops, res)
    check("'b'" in text and "get('b')" in text, "kv_report names the key "
          "and the op: %r" % text)


def generated(rng, n_ops, n_procs, unknown_p, values):
    """A linearizable history by construction: ops take effect on a real
    register at increasing instants, each op's interval is drawn around its
    instant; an op with an unknown outcome takes effect or not."""
    state = None
    t = 0.0
    ops = []
    for _ in range(n_ops):
        p = rng.randrange(n_procs)
        t += rng.random()
        start = t - rng.random() * 2
        f = rng.choice(["put", "get", "cas", "delete", "get"])
        unknown = f != "get" and rng.random() < unknown_p
        happens = not unknown or rng.random() < 0.5
        v = rng.choice(values)
        if f == "put":
            op = Op(p, "put", "k", v, start, result=True)
            if happens:
                state = v
        elif f == "get":
            op = Op(p, "get", "k", None, start, result=state)
        elif f == "cas":
            old = state if (state is not None and rng.random() < 0.6) else \
                rng.choice(values + [""])
            match = state == old or (state is None and old == "")
            op = Op(p, "cas", "k", (old, v), start, result=match)
            if happens and match:
                state = v
        else:
            op = Op(p, "delete", "k", None, start, result=state is not None)
            if happens:
                state = None
        if unknown:
            op.status = UNKNOWN
            op.result = None
        else:
            op.complete = t + rng.random() * 2
        ops.append(op)
    return ops


def brute_force(ops, init=None):
    """Linearizable by exhaustive search (tiny histories only): some
    ordering of the known ops and of a subset of the unknown ones, that
    respects real time, explains every known result."""
    ops = [o for o in ops if o.status != FAIL]
    unknown = [o for o in ops if o.status == UNKNOWN]
    known = [o for o in ops if o.status == OK]
    for mask in range(1 << len(unknown)):
        chosen = known + [u for j, u in enumerate(unknown) if mask >> j & 1]
        for perm in itertools.permutations(chosen):
            good = True
            for x in range(len(perm)):
                for y in range(x + 1, len(perm)):
                    if perm[y].complete is not None and \
                            perm[y].complete < perm[x].invoke:
                        good = False
                        break
                if not good:
                    break
            if not good:
                continue
            state = init
            for o in perm:
                legal, state = checker.kv_step(state, o)
                if not legal:
                    good = False
                    break
            if good:
                return True
    return False


def random_tiny(rng):
    """A random history of 2..6 ops on one key with random results."""
    vals = ["a", "b"]
    ops = []
    for _ in range(rng.randint(2, 6)):
        t0 = rng.randint(0, 10)
        t1 = t0 + rng.randint(0, 4) + 0.5
        f = rng.choice(["put", "get", "cas", "delete"])
        status = UNKNOWN if f != "get" and rng.random() < 0.25 else OK
        if f == "put":
            op = put(0, "k", rng.choice(vals), t0, t1, status)
        elif f == "get":
            op = get(0, "k", rng.choice(vals + [None]), t0, t1)
        elif f == "cas":
            op = cas(0, "k", rng.choice(vals + [""]), rng.choice(vals),
                     rng.random() < 0.5, t0, t1, status)
        else:
            op = delete(0, "k", rng.random() < 0.5, t0, t1, status)
        ops.append(op)
    return ops


def generated_cases():
    # The search agrees with exhaustive enumeration on tiny histories.
    rng = random.Random(42)
    agree = 0
    verdicts = set()
    for i in range(600):
        ops = random_tiny(rng)
        want = brute_force(ops)
        got = checker.check_linearizable(ops).ok
        verdicts.add(want)
        if got is want:
            agree += 1
        else:
            check(False, "tiny history %d: search says %s, enumeration %s:"
                  "\n  %s" % (i, got, want, "\n  ".join(map(repr, ops))))
    check(agree == 600, "search and enumeration agree on %d of 600 tiny "
          "histories" % agree)
    check(verdicts == {True, False}, "the tiny histories cover both "
          "verdicts")
    # Histories that are linearizable by construction.
    for seed in range(20):
        rng = random.Random(seed)
        ops = generated(rng, 200, 5, 0.03, ["a", "b", "c"])
        res = checker.check_linearizable(ops)
        check(res.ok is True, "generated history seed %d (%d ops): %s" %
              (seed, len(ops), res.detail))
    # A bigger one, for speed: 3000 ops with some unknown outcomes.
    rng = random.Random(1234)
    ops = generated(rng, 3000, 8, 0.01, ["a", "b", "c", "d"])
    res = checker.check_linearizable(ops)
    check(res.ok is True, "3000-op generated history: %s" % res.detail)
    # The search budget: undecided, not a verdict, when it runs out.
    res = checker.check_linearizable(ops, max_steps=10)
    check(res.ok is None and "budget" in res.detail,
          "a search out of budget is undecided: %s" % res.detail)


def add(p, tid, t0, t1, status=OK, data=None):
    return Op(p, "add", tid, data if data is not None else "d-" + tid, t0,
              t1 if status == OK else None, True if status == OK else None,
              status)


def read(p, tids, t0, t1, final=False, datas=None):
    res = [(i + 1, tid, (datas or {}).get(tid, "d-" + tid))
           for i, tid in enumerate(tids)]
    return Op(p, "read", None, None, t0, t1, res, OK,
              note="final" if final else None)


def entries(tids, datas=None):
    return [(i + 1, tid, (datas or {}).get(tid, "d-" + tid))
            for i, tid in enumerate(tids)]


def log(adds, reads, final_tids, kinds, what, datas=None):
    r = checker.check_log(adds, reads, entries(final_tids, datas))
    check(r.kinds() == sorted(kinds), "%s: anomalies %r, want %r (%s)" %
          (what, r.kinds(), sorted(kinds), r.anomalies))
    return r


def log_cases():
    a, b, c = add(1, "a", 0, 1), add(1, "b", 2, 3), add(1, "c", 4, 5)
    r = log([a, b, c], [read(2, ["a"], 1.5, 1.8),
                        read(2, ["a", "b", "c"], 6, 7)],
            ["a", "b", "c"], [], "good log")
    check(r.acked == 3 and r.lost == 0 and r.reads == 2,
          "good log figures: acked %d lost %d reads %d" %
          (r.acked, r.lost, r.reads))
    r = log([a, b, c], [], ["a", "c"], ["lost"], "lost entry")
    check(r.lost == 1, "lost entry counted: %d" % r.lost)
    log([a, b, c], [], ["a", "b", "a", "c"], ["duplicate"], "duplicate entry")
    log([a, b, c], [], ["b", "a", "c"], ["realtime"], "reordered entries")
    # Concurrent appends may land in either order.
    p, q = add(1, "p", 0, 5), add(2, "q", 1, 4)
    log([p, q], [], ["q", "p"], [], "concurrent appends, one order")
    log([p, q], [], ["p", "q"], [], "concurrent appends, other order")
    # Unknown outcomes: at most once.
    u = add(3, "u", 0, None, UNKNOWN)
    r = log([a, b, u], [], ["a", "u", "b"], [], "unknown entry present")
    check(r.unknown == 1 and r.unknown_present == 1,
          "unknown figures: %d %d" % (r.unknown, r.unknown_present))
    log([a, b, u], [], ["a", "b"], [], "unknown entry absent")
    log([a, b, u], [], ["a", "u", "b", "u"], ["duplicate"],
        "unknown entry twice")
    # An unknown entry still respects real time after its invoke.
    u2 = add(3, "u2", 2, None, UNKNOWN)
    log([a, u2], [], ["u2", "a"], ["realtime"],
        "unknown entry invoked after an ack placed before it")
    log([a, b], [], ["a", "zz", "b"], ["phantom"], "phantom entry")
    f = add(3, "f", 0, None, FAIL)
    log([a, f], [], ["a", "f"], ["phantom"], "failed entry present")
    log([a, b], [], ["a", "b"], ["corrupt"], "corrupt data",
        datas={"b": "other"})
    # Reads.
    log([a, b, c], [read(2, ["a"], 3.5, 3.8)], ["a", "b", "c"],
        ["stale-read"], "stale log read")
    log([a, b, c], [read(2, ["a", "x"], 3.5, 3.8)], ["a", "b", "c"],
        ["read-diverged"], "read diverging from the final log")
    ub = add(1, "ub", 2, None, UNKNOWN)
    log([a, ub], [read(2, ["a", "ub"], 3, 4), read(2, ["a"], 5, 6)],
        ["a", "ub"], ["non-monotonic-read"], "non-monotonic reads")
    log([a, ub], [read(2, ["a", "ub"], 3, 4), read(2, ["a"], 3.5, 6)],
        ["a", "ub"], [], "concurrent reads of different lengths")
    late = add(1, "late", 9, 10)
    log([a, late], [read(2, ["a", "late"], 3, 4)], ["a", "late"],
        ["future-read"], "read sees an entry invoked after it ended")
    r = checker.check_log([a, b], [], entries(["b"]))
    check(r.lost == 1 and "lost" in r.kinds(), "lost + reorder: %r" %
          r.anomalies)


def counter_cases():
    ok, text = checker.check_counter(10, 10, 0)
    check(ok, "counter exact: " + text)
    ok, text = checker.check_counter(12, 10, 3)
    check(ok, "counter with unknowns that took effect: " + text)
    ok, text = checker.check_counter(9, 10, 3)
    check(not ok, "counter lost an increment: " + text)
    ok, text = checker.check_counter(14, 10, 3)
    check(not ok, "counter applied an increment twice: " + text)
    ok, text = checker.check_counter(None, 0, 0)
    check(not ok, "counter unread: " + text)


def file_cases():
    ops = [put(1, "x", "1", 0, 1), get(2, "x", "1", 2, 3),
           cas(1, "x", "1", "2", True, 4, 5),
           delete(1, "x", None, 6, None, UNKNOWN),
           add(1, "a", 0, 1), read(2, ["a"], 2, 3, final=True)]
    d = tempfile.mkdtemp(prefix="test_checker-")
    path = os.path.join(d, "h.json")
    try:
        checker.save_history(path, ops, {"init": {}})
        meta, back = checker.load_history(path)
        check([checker.describe(o) for o in back] ==
              [checker.describe(o) for o in ops], "history file round trip")
        ok, text = checker.check_history(back, meta)
        check(ok, "saved history checks: " + text)
        back[1].result = "9"
        ok, text = checker.check_history(back, meta)
        check(not ok and "NOT linearizable" in text,
              "saved bad history fails: " + text)
    finally:
        os.remove(path) if os.path.exists(path) else None
        os.rmdir(d)


def transport_cases():
    """The client transport: a request whose kept-alive connection is reset
    after the node read it, and whose resend is refused, must not look like
    a refusal (the node may have applied it); a plain refusal still does."""
    import socket
    import struct as st
    import threading
    from raftdtest import api
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    got = []

    def read_call(c):
        buf = b""
        for _ in range(100):
            if b"</methodCall>" in buf:
                break
            chunk = c.recv(65536)
            if not chunk:
                break
            buf += chunk
        return buf

    def serve():
        c, _ = srv.accept()
        # Answer one call so that the client keeps the connection...
        body = b"<?xml version='1.0'?><methodResponse><params><param>" \
            b"<value><boolean>1</boolean></value></param></params>" \
            b"</methodResponse>"
        got.append(read_call(c))
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        # ...then read the next one and die: reset, and nobody listens.
        got.append(read_call(c))
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     st.pack("ii", 1, 0))
        c.close()
        srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    p = api.proxy("127.0.0.1:%d" % port, 5.0)
    check(p.isLeader() is True, "transport: the first call is answered")
    try:
        p.put("k", "v")
        outcome = "answered"
    except ConnectionRefusedError:
        outcome = "refused"
    except api.CONN_ERRORS as e:
        outcome = "no answer (%s)" % type(e).__name__
    t.join(5)
    check(len(got) == 2 and b"put" in got[1],
          "transport: the node read the second request")
    check(outcome.startswith("no answer"),
          "transport: reset after delivery, resend refused: %s, want no "
          "answer" % outcome)
    try:
        api.proxy("127.0.0.1:%d" % port, 5.0).isLeader()
        outcome = "answered"
    except ConnectionRefusedError:
        outcome = "refused"
    except api.CONN_ERRORS as e:
        outcome = "no answer (%s)" % type(e).__name__
    check(outcome == "refused", "transport: a fresh connection refused is "
          "a refusal: %s" % outcome)


def main():
    kv_cases()
    generated_cases()
    log_cases()
    counter_cases()
    file_cases()
    transport_cases()
    print("test_checker: %d checks passed, %d failed" %
          (PASSED[0], FAILED[0]))
    return 1 if FAILED[0] else 0


if __name__ == "__main__":
    sys.exit(main())
