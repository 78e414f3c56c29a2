# test_tid.py: a repeated tid returns the first result and adds nothing, also across leader changes and restarts.
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import INVALID, NOT_LEADER, TIMEOUT, Cluster  # noqa: E402


def tid_counts(c):
    """{tid: number of log entries carrying it} from the leader's showLog,
    once every running node has caught up."""
    c.wait_caught_up()
    counts = {}
    for e in c.client(c.leader()).showLog(1, 100000):
        if e["tid"]:
            counts[e["tid"]] = counts.get(e["tid"], 0) + 1
    return counts


def entry_counts(c):
    """{tid: number of getEntries records carrying it}."""
    counts = {}
    for t in entry_tids(c):
        counts[t] = counts.get(t, 0) + 1
    return counts


def entry_tids(c):
    """The tids of getEntries(), in order."""
    return [e["tid"] for e in c.call_with_retry("getEntries", 1, 100000)]


def main(ck):
    # A short request timeout: the no-quorum write below must give up soon.
    c = Cluster(3, name="tid", request_timeout=1500)
    c.stable_leader()
    cr = c.call_with_retry

    # ---- on one leader ------------------------------------------------------
    ck.eq(cr("addEntry", "t-a", "alpha"), True, "addEntry t-a")
    ck.eq(cr("addEntry", "t-a", "alpha"), True, "addEntry t-a again")
    ck.eq(entry_tids(c).count("t-a"), 1, "t-a is one entry in getEntries")
    ck.fault(lambda: cr("addEntry", "t-a", "beta"), INVALID,
             "t-a reused with other data")

    ck.eq(cr("put", "k", "v1", "t-put"), True, "put with tid t-put")
    ck.eq(cr("put", "k", "v1", "t-put"), True, "the same put again")
    ck.fault(lambda: cr("put", "k", "v2", "t-put"), INVALID,
             "t-put reused with another value")
    ck.fault(lambda: cr("put", "k2", "v1", "t-put"), INVALID,
             "t-put reused with another key")
    ck.fault(lambda: cr("addEntry", "t-put", "x"), INVALID,
             "t-put reused by addEntry")
    ck.eq(cr("get", "k"), "v1", "k keeps the first put's value")

    cr("put", "dk", "present")
    ck.eq(cr("delete", "dk", "t-del"), True, "delete with tid t-del: existed")
    ck.eq(cr("delete", "dk", "t-del"), True, "delete t-del again returns the "
          "original true (the key is gone now)")
    ck.eq(cr("delete", "dk"), False, "a delete without tid sees it gone")

    ck.eq(cr("cas", "ck", "", "x", "t-cas"), True, "cas t-cas creates ck")
    ck.eq(cr("cas", "ck", "", "x", "t-cas"), True, "cas t-cas again returns "
          "the original true")
    ck.eq(cr("cas", "ck", "", "x"), False, "the same cas without tid fails")
    ck.eq(cr("cas", "ck", "nope", "y", "t-cas-f"), False, "a failing cas "
          "with tid t-cas-f")
    cr("put", "ck", "nope")
    ck.eq(cr("cas", "ck", "nope", "y", "t-cas-f"), False, "cas t-cas-f again "
          "returns the original false, though it would succeed now")
    ck.eq(cr("get", "ck"), "nope", "and changes nothing")

    pairs = {"mp/a": "1", "mp/b": "2"}
    ck.eq(cr("multiPut", pairs, "t-mp"), True, "multiPut t-mp")
    ck.eq(cr("multiPut", pairs, "t-mp"), True, "multiPut t-mp again")
    ck.fault(lambda: cr("multiPut", {"mp/a": "9"}, "t-mp"),
             INVALID, "t-mp reused with other pairs")

    counts = tid_counts(c)
    for tid in ("t-a", "t-put", "t-del", "t-cas", "t-cas-f", "t-mp"):
        ck.eq(counts.get(tid), 1, "one log entry with tid %s" % tid)
    ck.note("de-duplication on one leader: addEntry, put, delete, cas, "
            "multiPut; reuse with other arguments is fault 3")

    # ---- across a leader change ------------------------------------------------
    old = c.leader()
    ck.eq(c.client(old).addEntry("t-lc", "lc-data"), True,
          "addEntry t-lc on leader %d" % old)
    c.kill9(old)
    new = c.leader(timeout=10)
    ck.check(new != old, "a new leader (%d) after kill -9 of %d" % (new, old))
    ck.eq(cr("addEntry", "t-lc", "lc-data", start=new), True,
          "t-lc retried on the new leader")
    ck.eq(entry_tids(c).count("t-lc"), 1, "t-lc is one entry")
    ck.fault(lambda: cr("addEntry", "t-lc", "other"), INVALID,
             "t-lc reused with other data on the new leader")
    ck.note("t-lc retried after kill -9 of leader %d, new leader %d" %
            (old, new))

    # ---- an outcome the client does not know -----------------------------------
    # The new leader alone (its only peer killed) appends, cannot commit:
    # TIMEOUT (or NOT_LEADER if it already stepped down).  The retry once
    # the others are back must leave exactly one entry.
    lead = c.leader()
    other = [n for n in c.running() if n != lead][0]
    c.kill9(other)
    f = ck.fault(lambda: c.client(lead, timeout=10).addEntry("t-unk", "u"),
                 (TIMEOUT, NOT_LEADER), "addEntry t-unk without a quorum")
    c.start(other)
    c.start(old)
    ck.eq(cr("addEntry", "t-unk", "u"), True, "t-unk retried with a quorum")
    ck.eq(cr("addEntry", "t-unk", "u"), True, "t-unk retried once more")
    ck.eq(entry_tids(c).count("t-unk"), 1, "t-unk is one entry")
    ck.note("t-unk: fault %s without quorum, then one entry after retries" %
            (f.faultCode if f else None))

    # ---- after a full restart ----------------------------------------------------
    # From here on the raw log may hold a retried write twice: a new
    # leader that has not applied the first copy yet appends it again,
    # and applying the second copy does nothing (the state machine knows
    # the tid).  So the checks look at what clients see: getEntries and
    # the results and values.
    before = entry_counts(c)
    c.kill9_all()
    for nid in c.ids():
        c.start(nid)
    c.stable_leader()
    ck.eq(cr("addEntry", "t-a", "alpha"), True, "t-a after a full restart")
    ck.eq(cr("addEntry", "t-lc", "lc-data"), True, "t-lc after a full "
          "restart")
    ck.eq(cr("addEntry", "t-unk", "u"), True, "t-unk after a full restart")
    ck.eq(cr("put", "k", "v1", "t-put"), True, "t-put after a full restart")
    ck.eq(cr("delete", "dk", "t-del"), True, "t-del after a full restart "
          "still returns the original true")
    ck.eq(cr("cas", "ck", "nope", "y", "t-cas-f"), False, "t-cas-f after a "
          "full restart still returns the original false")
    ck.eq(cr("multiPut", pairs, "t-mp"), True, "t-mp after a full restart")
    ck.fault(lambda: cr("addEntry", "t-a", "beta"), INVALID,
             "t-a reused with other data after a full restart")
    after = entry_counts(c)
    ck.eq(after, before, "getEntries gained no record after the restart")
    ck.check(all(v == 1 for v in after.values()),
             "every addEntry tid is in getEntries once (%r)" % after)
    ck.eq(cr("get", "ck"), "nope", "ck unchanged by the retried cas")
    ck.eq(cr("get", "k"), "v1", "k unchanged by the retried put")
    ck.eq(cr("multiGet", ["mp/a", "mp/b", "dk"]), pairs,
          "mp/* unchanged, dk still deleted")
    raw = tid_counts(c)
    ck.note("after kill -9 of all nodes and a restart: %d addEntry tids, "
            "one record each (raw log copies per tid: %r)" %
            (len(after), raw))
    c.finish(ck)


rt.run(main)
