#!/usr/bin/env python3
# checker.py: linearizability checks of client histories (key-value registers, the addEntry log, a cas counter).
#
# A history is a list of Op records, one per logical client operation (all
# retries of one tid are one operation).  Each has an invoke time, a
# completion time (None when the outcome is unknown: the op may or may not
# have taken effect, at any time after its invoke) and a result.
#
# check_kv() decides linearizability of a key-value map of registers with
# put / get / cas / delete, one key at a time (a map of independent
# registers is linearizable exactly when each key's sub-history is: Herlihy
# and Wing's locality), using the Wing & Gong search with Lowe's memoization
# of (set of linearized ops, state), as Porcupine does.  An op with an
# unknown outcome gets an infinite completion time and accepts any result, so
# it may be linearized anywhere after its invoke or at the very end, which is
# the same as "never".
#
# check_log() checks the addEntry log against the final getEntries read and
# the intermediate reads; check_counter() bounds a counter incremented by cas.
#
# Run as a program on a history file saved by nemesis.py to check it again:
#     tests/fault/checker.py history.json
import bisect
import json
import sys
import time

INF = float("inf")

# Op.status values.
OK = "ok"            # completed, result known
UNKNOWN = "unknown"  # outcome unknown (timeout, lost connection, ...)
FAIL = "fail"        # definitely had no effect (e.g. NOT_LEADER everywhere)

ABSENT = None        # the value of a missing key (get answered NOT_FOUND)


class Op:
    """One logical operation.  f is put/get/cas/delete (kv), add/read (log).
    For put: value; cas: (expected, new) in value; get: result is the value
    or None; cas/delete: result is a bool; add: key is the tid, value the
    data; read: result is a list of (index, tid, data)."""

    __slots__ = ("process", "f", "key", "value", "invoke", "complete",
                 "result", "status", "tid", "note", "node")

    def __init__(self, process, f, key=None, value=None, invoke=0.0,
                 complete=None, result=None, status=OK, tid=None, note=None,
                 node=None):
        self.process = process
        self.f = f
        self.key = key
        self.value = value
        self.invoke = invoke
        self.complete = complete
        self.result = result
        self.status = status
        self.tid = tid
        self.note = note
        self.node = node      # the node that gave the final answer

    def to_json(self):
        d = {s: getattr(self, s) for s in self.__slots__}
        if isinstance(d["value"], tuple):
            d["value"] = list(d["value"])
        return d

    @classmethod
    def from_json(cls, d):
        op = cls(d["process"], d["f"])
        for s in cls.__slots__:
            if s in d:
                setattr(op, s, d[s])
        if op.f == "cas" and isinstance(op.value, list):
            op.value = tuple(op.value)
        if op.f == "read" and op.result is not None:
            op.result = [tuple(e) for e in op.result]
        return op

    def __repr__(self):
        return describe(self)


def describe(op):
    """One line for reports: process, call, result, times."""
    if op.f == "put":
        call = "put(%r, %r)" % (op.key, op.value)
    elif op.f == "get":
        call = "get(%r)" % (op.key,)
    elif op.f == "cas":
        call = "cas(%r, %r, %r)" % (op.key, op.value[0], op.value[1])
    elif op.f == "delete":
        call = "delete(%r)" % (op.key,)
    elif op.f == "add":
        call = "addEntry(%r, %r)" % (op.key, op.value)
    elif op.f == "read":
        call = "getEntries()"
    else:
        call = "%s(%r, %r)" % (op.f, op.key, op.value)
    if op.status == UNKNOWN:
        res = "?"
    elif op.status == FAIL:
        res = "failed"
    elif op.f == "get" and op.result is ABSENT:
        res = "absent"
    elif op.f == "read":
        res = "%d entries" % len(op.result or ())
    else:
        res = repr(op.result)
    end = "?" if op.complete is None else "%.3f" % op.complete
    tid = " tid=%s" % op.tid if op.tid and op.f != "add" else ""
    node = " (node %s)" % op.node if op.node is not None else ""
    return "[p%s %.3f..%s] %s -> %s%s%s" % (op.process, op.invoke, end, call,
                                            res, tid, node)


# ---- the register model -----------------------------------------------------

def kv_step(state, op):
    """Applies op to a register holding `state` (None: absent).  Returns
    (legal, new state): legal is False when op's known result could not
    come from this state."""
    f = op.f
    known = op.status == OK
    if f == "put":
        return True, op.value
    if f == "get":
        return (not known) or op.result == state, state
    if f == "cas":
        old, new = op.value
        match = state == old or (state is None and old == "")
        if known and op.result != match:
            return False, state
        return True, (new if match else state)
    if f == "delete":
        existed = state is not None
        if known and op.result != existed:
            return False, state
        return True, None
    raise ValueError("unknown kv op %r" % (f,))


class Result:
    """The outcome of a linearizability check: ok is True, False or None
    (undecided within the search budget)."""

    def __init__(self, ok, steps=0, detail="", ops=0, culprit=None,
                 prefix=None, state=None):
        self.ok = ok
        self.steps = steps
        self.detail = detail
        self.ops = ops
        self.culprit = culprit   # the op that could not be linearized
        self.prefix = prefix     # the longest linearization found
        self.state = state       # the state after that prefix

    def __bool__(self):
        return self.ok is True


def check_linearizable(ops, step=kv_step, init=None, max_steps=20000000,
                       max_seconds=120.0):
    """Wing & Gong / Lowe search over `ops` (one object, e.g. one key).
    Reads with an unknown outcome and failed ops are dropped first (they
    constrain nothing).  Returns a Result."""
    ops = [op for op in ops if op.status != FAIL and
           not (op.status == UNKNOWN and op.f in ("get", "read"))]
    n = len(ops)
    if n == 0:
        return Result(True, ops=0)
    # Events: (time, kind, op); calls (kind 0) sort before returns at the
    # same instant, which makes touching ops concurrent (the lenient side).
    ev = []
    for i, op in enumerate(ops):
        ev.append((op.invoke, 0, i))
        done = op.complete if op.status == OK else None
        ev.append((INF if done is None else done, 1, i))
    ev.sort(key=lambda e: (e[0], e[1]))
    # A doubly linked list over the events; node 0 is the head sentinel,
    # node k+1 is ev[k].
    m = len(ev)
    nxt = list(range(1, m + 2))
    nxt[m] = 0
    prv = list(range(-1, m))
    is_call = [False] * (m + 1)
    opi = [-1] * (m + 1)
    infinite = [False] * (m + 1)
    ret_of = [0] * n
    for k, (t, kind, i) in enumerate(ev):
        node = k + 1
        opi[node] = i
        if kind == 0:
            is_call[node] = True
        else:
            ret_of[i] = node
            infinite[node] = t == INF
    call_of = [0] * n
    for node in range(1, m + 1):
        if is_call[node]:
            call_of[opi[node]] = node

    def lift(node):
        r = ret_of[opi[node]]
        for x in (node, r):
            nxt[prv[x]] = nxt[x]
            if nxt[x]:
                prv[nxt[x]] = prv[x]

    def unlift(node):
        r = ret_of[opi[node]]
        for x in (r, node):
            if nxt[x]:
                prv[nxt[x]] = x
            nxt[prv[x]] = x

    cache = set()
    stack = []
    state = init
    linearized = 0
    entry = nxt[0]
    steps = 0
    best = (-1, None, None, None)   # (depth, culprit op index, prefix, state)
    deadline = time.monotonic() + max_seconds
    while True:
        steps += 1
        if steps > max_steps or (steps & 0xFFFF == 0 and
                                 time.monotonic() > deadline):
            return Result(None, steps, "undecided: the search ran out of "
                          "its budget after %d steps" % steps, n)
        if entry == 0 or infinite[entry]:
            # Every op with a known completion is linearized; the ones
            # left have unknown outcomes and may be placed at the end.
            return Result(True, steps, ops=n)
        if is_call[entry]:
            i = opi[entry]
            legal, new_state = step(state, ops[i])
            if legal:
                lin2 = linearized | (1 << i)
                key = (lin2, new_state)
                if key not in cache:
                    cache.add(key)
                    stack.append((entry, state))
                    state = new_state
                    linearized = lin2
                    lift(entry)
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
        else:
            # The op returning here is not linearized yet: backtrack.
            if len(stack) > best[0]:
                best = (len(stack), opi[entry],
                        [ops[opi[e]] for e, _ in stack], state)
            if not stack:
                break
            node, state = stack.pop()
            linearized &= ~(1 << opi[node])
            unlift(node)
            entry = nxt[node]
    depth, culprit, prefix, st = best
    cop = ops[culprit] if culprit is not None else None
    return Result(False, steps, "not linearizable: after the longest "
                  "linearizable prefix (%d of %d ops, state %r), %s cannot "
                  "be linearized" % (depth, n, st, describe(cop)), n,
                  culprit=cop, prefix=prefix, state=st)


def concurrent_with(ops, op, slack=0.0):
    """The ops of `ops` whose interval overlaps op's (for reports)."""
    end = op.complete if op.complete is not None else INF
    out = []
    for o in ops:
        oend = o.complete if o.complete is not None else INF
        if o.invoke <= end + slack and oend >= op.invoke - slack:
            out.append(o)
    return out


def check_kv(ops, init=None, **kw):
    """Checks every key of a kv history separately.  `init` maps keys to
    their initial values (missing: absent).  Returns {key: Result}."""
    by_key = {}
    for op in ops:
        if op.f in ("put", "get", "cas", "delete"):
            by_key.setdefault(op.key, []).append(op)
    out = {}
    for key in sorted(by_key, key=str):
        out[key] = check_linearizable(by_key[key], init=(init or {}).get(key),
                                      **kw)
    return out


def kv_report(ops, results, context=12):
    """Text describing each failed key: the verdict and the history around
    the op that could not be linearized."""
    lines = []
    for key, res in results.items():
        if res.ok is True:
            continue
        lines.append("key %r: %s" % (key, res.detail))
        if res.culprit is None:
            continue
        if res.prefix:
            lines.append("  the linearization found ends with:")
            for o in res.prefix[-context:]:
                lines.append("    " + describe(o))
        lines.append("  ops on %r overlapping the culprit:" % (key,))
        mine = [o for o in ops if o.key == key and o.f != "add"]
        for o in sorted(concurrent_with(mine, res.culprit),
                        key=lambda o: o.invoke)[:4 * context]:
            lines.append("    " + describe(o))
    return "\n".join(lines)


# ---- the addEntry log -------------------------------------------------------

class LogResult:
    def __init__(self):
        self.anomalies = []   # (kind, text)
        self.acked = 0
        self.unknown = 0
        self.unknown_present = 0
        self.lost = 0
        self.entries = 0
        self.reads = 0

    @property
    def ok(self):
        return not self.anomalies

    def add(self, kind, text):
        self.anomalies.append((kind, text))

    def kinds(self):
        return sorted({k for k, _ in self.anomalies})


def check_log(adds, reads, final, max_report=10):
    """adds: Op(f="add", key=tid, value=data); reads: Op(f="read") whose
    result is the list of (index, tid, data) a getEntries(1, ...) returned;
    final: the same from the last read, after the cluster has healed.
    Checks:
      - every acknowledged entry is in `final` exactly once, with its data
        (else "lost" / "duplicate" / "corrupt");
      - an entry with an unknown outcome is there at most once, a failed
        one not at all, and nothing else is ("duplicate" / "phantom");
      - indexes strictly increase ("order");
      - if a was acknowledged before b was invoked, a comes before b
        ("realtime");
      - each read is a prefix of `final` ("read-diverged"), holds every
        entry acknowledged before the read began ("stale-read"), none
        invoked after it ended ("future-read"), and a read that began
        after another ended is at least as long ("non-monotonic-read").
    Returns a LogResult."""
    r = LogResult()
    by_tid = {}
    for op in adds:
        if op.key in by_tid:
            r.add("history", "tid %r used by two ops" % (op.key,))
        by_tid[op.key] = op
    r.acked = sum(1 for op in adds if op.status == OK)
    r.unknown = sum(1 for op in adds if op.status == UNKNOWN)
    r.entries = len(final)
    pos = {}
    counts = {}
    last_index = 0
    for p, (index, tid, data) in enumerate(final):
        counts[tid] = counts.get(tid, 0) + 1
        if tid not in pos:
            pos[tid] = p
        if index <= last_index:
            r.add("order", "final read: index %d (tid %r) after index %d" %
                  (index, tid, last_index))
        last_index = index
        op = by_tid.get(tid)
        if op is None:
            r.add("phantom", "entry %d tid %r data %r: no client wrote it" %
                  (index, tid, data))
        elif op.status == FAIL:
            r.add("phantom", "entry %d tid %r: its addEntry definitely "
                  "failed: %s" % (index, tid, describe(op)))
        elif data != op.value:
            r.add("corrupt", "entry %d tid %r holds %r, the client wrote "
                  "%r" % (index, tid, data, op.value))
    for tid, c in counts.items():
        if c > 1:
            r.add("duplicate", "tid %r appears %d times in the final log" %
                  (tid, c))
    for op in adds:
        if op.status == OK and op.key not in pos:
            r.lost += 1
            r.add("lost", "acknowledged entry missing from the final log: "
                  "%s" % describe(op))
        if op.status == UNKNOWN and op.key in pos:
            r.unknown_present += 1
    # Real-time order: sweep the present entries by invoke time, keeping the
    # largest position among acknowledged entries completed before it.
    acked = sorted((op for op in adds if op.status == OK and op.key in pos),
                   key=lambda o: o.complete)
    present = sorted((by_tid[t] for t in pos if t in by_tid),
                     key=lambda o: o.invoke)
    k = 0
    best = None   # the acked op with the largest position so far
    bad = 0
    for b in present:
        while k < len(acked) and acked[k].complete < b.invoke:
            a = acked[k]
            if best is None or pos[a.key] > pos[best.key]:
                best = a
            k += 1
        if best is not None and pos[best.key] > pos[b.key]:
            bad += 1
            if bad <= max_report:
                r.add("realtime", "%s (position %d) was acknowledged before "
                      "%s (position %d) was invoked, but comes after it" %
                      (describe(best), pos[best.key], describe(b),
                       pos[b.key]))
    # Reads.
    final_tids = [tid for _, tid, _ in final]
    done_reads = sorted((op for op in reads if op.status == OK),
                        key=lambda o: o.invoke)
    r.reads = len(done_reads)
    acked_by_done = sorted((op.complete, pos.get(op.key, INF), op)
                           for op in adds if op.status == OK)
    done_times = [a[0] for a in acked_by_done]
    # prefix maximum of the position of acknowledged entries
    pref_max = []
    m = -1
    for _, p, _ in acked_by_done:
        m = max(m, p)
        pref_max.append(m)
    nbad = 0
    for rd in done_reads:
        got = [tid for _, tid, _ in rd.result]
        if got != final_tids[:len(got)]:
            j = next((i for i, (x, y) in enumerate(zip(got, final_tids))
                      if x != y), min(len(got), len(final_tids)))
            nbad += 1
            if nbad <= max_report:
                r.add("read-diverged", "%s: entry %d of the read is %r, "
                      "the final log has %r there" %
                      (describe(rd), j, got[j] if j < len(got) else None,
                       final_tids[j] if j < len(final_tids) else None))
            continue
        n_before = bisect.bisect_left(done_times, rd.invoke)
        if n_before and pref_max[n_before - 1] >= len(got):
            # the acked op with the largest position among those
            missing = [op for t, p, op in acked_by_done[:n_before]
                       if p >= len(got)]
            nbad += 1
            if nbad <= max_report:
                r.add("stale-read", "%s misses %d entries acknowledged "
                      "before it began, e.g. %s" %
                      (describe(rd), len(missing), describe(missing[0])))
        for tid in got:
            op = by_tid.get(tid)
            if op is not None and op.invoke > rd.complete:
                nbad += 1
                if nbad <= max_report:
                    r.add("future-read", "%s holds %r, invoked after the "
                          "read ended: %s" % (describe(rd), tid,
                                              describe(op)))
                break
    # Monotonic reads: sweep by invoke, with the longest read completed
    # before each read's invoke.
    by_done = sorted(done_reads, key=lambda o: o.complete)
    k = 0
    longest = None
    for rd in done_reads:
        while k < len(by_done) and by_done[k].complete < rd.invoke:
            if longest is None or len(by_done[k].result) > \
                    len(longest.result):
                longest = by_done[k]
            k += 1
        if longest is not None and len(rd.result) < len(longest.result):
            nbad += 1
            if nbad <= max_report:
                r.add("non-monotonic-read", "%s returned %d entries after "
                      "%s had returned %d" %
                      (describe(rd), len(rd.result), describe(longest),
                       len(longest.result)))
    return r


# ---- the counter ------------------------------------------------------------

def check_counter(final, acked, unknown, init=0):
    """A counter incremented only by cas(v, v+1): the final value must be
    init + acked + (how many unknown increments took effect), so between
    init + acked and init + acked + unknown.  Returns (ok, text)."""
    lo = init + acked
    hi = init + acked + unknown
    ok = final is not None and lo <= final <= hi
    return ok, "final %s, acknowledged increments %d, unknown %d: want " \
        "%d..%d" % (final, acked, unknown, lo, hi)


# ---- history files ----------------------------------------------------------

def save_history(path, ops, meta=None):
    with open(path, "w") as f:
        json.dump({"meta": meta or {}, "ops": [op.to_json() for op in ops]},
                  f)


def load_history(path):
    with open(path) as f:
        d = json.load(f)
    return d.get("meta", {}), [Op.from_json(x) for x in d["ops"]]


def check_history(ops, meta):
    """Runs every check on a saved history; returns (ok, report text)."""
    lines = []
    ok = True
    init = meta.get("init", {})
    kv = check_kv(ops, init=init)
    for key, res in kv.items():
        lines.append("key %r: %s (%d ops, %d steps)" %
                     (key, {True: "linearizable", False: "NOT linearizable",
                            None: "undecided"}[res.ok], res.ops, res.steps))
    if not all(res.ok is True for res in kv.values()):
        ok = False
        lines.append(kv_report(ops, kv))
    adds = [op for op in ops if op.f == "add"]
    reads = [op for op in ops if op.f == "read"]
    final = [op for op in reads if op.note == "final" and op.status == OK]
    if adds or reads:
        if not final:
            ok = False
            lines.append("log: no final read in the history")
        else:
            lr = check_log(adds, reads, final[-1].result)
            lines.append("log: %d entries, %d acknowledged, %d unknown, "
                         "%d lost, %s" % (lr.entries, lr.acked, lr.unknown,
                                          lr.lost, "ok" if lr.ok else
                                          "ANOMALIES"))
            for kind, text in lr.anomalies:
                lines.append("  %s: %s" % (kind, text))
            ok = ok and lr.ok
    return ok, "\n".join(lines)


def main(argv):
    if len(argv) != 2:
        print("usage: checker.py HISTORY.json", file=sys.stderr)
        return 2
    meta, ops = load_history(argv[1])
    ok, text = check_history(ops, meta)
    print(text)
    print("history %s: %s" % (argv[1], "ok" if ok else "VIOLATIONS"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
