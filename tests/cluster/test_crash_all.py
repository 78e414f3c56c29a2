# test_crash_all.py: kill -9 of every node during writes loses no acknowledged write.
import os
import sys
import threading
import time
import xmlrpc.client

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import NOT_LEADER, Cluster  # noqa: E402

WRITERS = 4
ROUNDS = 3


class Writer(threading.Thread):
    """Puts distinct keys until told to stop; records the acknowledged
    ones.  Calls that fail (fault, reset, timeout) are simply not
    acknowledged: the writer moves on to its next key."""

    def __init__(self, c, wid, rnd):
        super().__init__(daemon=True)
        self.c = c
        self.wid = wid
        self.rnd = rnd
        self.acked = {}
        self.errors = 0
        self.stop = threading.Event()
        self.target = c.ids()[wid % len(c.ids())]
        self.unexpected = []

    def run(self):
        ids = self.c.ids()
        for i in range(100000):
            if self.stop.is_set():
                return
            key = "r%d/w%d/%05d" % (self.rnd, self.wid, i)
            val = "value of %s" % key
            try:
                ok = self.c.client(self.target, timeout=3).put(
                    key, val, "tid-" + key)
                if ok is True:
                    self.acked[key] = val
                else:
                    self.unexpected.append((key, ok))
            except xmlrpc.client.Fault as f:
                self.errors += 1
                hint = rt.leader_hint(f.faultString)
                if f.faultCode == NOT_LEADER and hint:
                    self.target = hint[0]
                elif f.faultCode not in (NOT_LEADER,) + rt.RETRY_CODES:
                    self.unexpected.append((key, f.faultCode, f.faultString))
                else:
                    time.sleep(0.02)  # a pause between attempts only
            except rt.CONN_ERRORS:
                self.errors += 1
                self.target = ids[(ids.index(self.target) + 1) % len(ids)]
                time.sleep(0.02)  # a pause between attempts only


def main(ck):
    c = Cluster(3, name="crashall")
    c.stable_leader()
    acked = {}
    for rnd in range(ROUNDS):
        ws = [Writer(c, w, rnd) for w in range(WRITERS)]
        for w in ws:
            w.start()
        # Let them write a while, then kill every node mid-stream.
        rt.wait_for(lambda: sum(len(w.acked) for w in ws) >= 150 + 50 *
                    rnd, 30, "writes to be acknowledged")
        c.kill9_all()
        n_at_kill = sum(len(w.acked) for w in ws)
        for w in ws:
            w.stop.set()
        for w in ws:
            w.join(10)
            ck.check(not w.is_alive(), "writer %d stopped" % w.wid)
            ck.eq(w.unexpected, [], "writer %d: no unexpected answers" %
                  w.wid)
            acked.update(w.acked)
        for nid in c.ids():
            c.start(nid)
        c.stable_leader(timeout=15)
        got = {e["key"]: e["value"] for e in c.call_with_retry("list", "r")}
        lost = sorted(k for k in acked if got.get(k) != acked[k])
        ck.eq(lost, [], "round %d: every acknowledged write survives (%d "
              "acknowledged so far)" % (rnd, len(acked)))
        bad = sorted(k for k, v in got.items() if v != "value of %s" % k)
        ck.eq(bad, [], "round %d: no key has a value it was not given" % rnd)
        extra = len(got) - len([k for k in got if k in acked])
        ck.note("round %d: killed all 3 nodes after %d acknowledged puts; "
                "after restart all %d acknowledged are there (%d more whose "
                "answer was lost)" % (rnd, n_at_kill, len(acked), extra))
    # Every node ends with the same log.
    c.wait_caught_up(timeout=15)
    logs = [[(e["index"], e["term"], e["data"]) for e in
             c.client(nid).showLog(1, 100000)] for nid in c.ids()]
    ck.check(logs[0] == logs[1] == logs[2], "the three logs are equal")
    c.finish(ck)


rt.run(main)
