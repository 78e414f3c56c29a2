#!/usr/bin/env python3
# test_catchup.py: a follower that restarts behind must catch up while clients keep writing, with and without linearizable reads.
#
# 5 raftd nodes on loopback.  Writers add log entries; a follower is killed,
# the others go on until it is over 1500 entries behind, and it is
# restarted: it must reach the leader's commit index (as it was at the
# restart) within 10 s while the writers go on.  Once with writers only,
# once with readers calling get() in a loop as well (every read is a
# ReadIndex round of heartbeats to all followers).
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import xmlrpc.client

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nemesis  # noqa: E402
from raftdtest import (CONN_ERRORS, NOT_FOUND, HarnessError,  # noqa: E402
                       LoopbackNet, brief, on_signal, raftd_path, tail)

now = time.monotonic

BEHIND = 1500
CATCH_UP = 10.0


def load(cl, lead, stop, kind, k, counts):
    """Writes (addEntry) or reads (get) on the leader until stopped; errors
    are counted, not fatal (the leader may be busy)."""
    p = cl.client(lead, 5.0)
    for i in range(10000000):
        if stop.is_set():
            return
        try:
            if kind == "write":
                p.addEntry("w%d-%d-%d" % (k, i, random.randrange(1 << 30)),
                           "data %d %d" % (k, i))
            else:
                try:
                    p.get("some-key")
                except xmlrpc.client.Fault as f:
                    if f.faultCode != NOT_FOUND:
                        raise
            counts[kind] += 1
        except (CONN_ERRORS + (xmlrpc.client.Fault,)):
            counts["errors"] += 1
            p = cl.client(lead, 5.0)


def round_(cl, readers):
    """One kill / fall behind / restart / catch up round.  Returns (seconds
    to catch up or None, entries behind at the restart, text)."""
    lead = cl.find_leader()
    if lead is None:
        raise HarnessError("no leader")
    victim = [n for n in cl.ids() if n != lead][0]
    stop = threading.Event()
    counts = {"write": 0, "read": 0, "errors": 0}
    threads = [threading.Thread(target=load, daemon=True,
                                args=(cl, lead, stop, "write", k, counts))
               for k in range(4)]
    threads += [threading.Thread(target=load, daemon=True,
                                 args=(cl, lead, stop, "read", k, counts))
                for k in range(readers)]
    try:
        for t in threads:
            t.start()
        cl.kill9(victim)
        base = cl.statuses([lead])[lead]["commitIndex"]
        t0 = now()
        behind = 0
        while now() - t0 < 60:
            behind = cl.statuses([lead]).get(lead, {}).get(
                "commitIndex", 0) - base
            if behind >= BEHIND:
                break
            time.sleep(0.05)
        cl.start(victim)
        target = cl.statuses([lead])[lead]["commitIndex"]
        t1 = now()
        took = None
        last = None
        while now() - t1 < CATCH_UP:
            last = cl.statuses([victim]).get(victim)
            if last and last["commitIndex"] >= target:
                took = now() - t1
                break
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    text = "node %d restarted %d entries behind leader %d; %s; load: %d " \
        "writes, %d reads, %d errors; node %d then at commit %s, last %s" % (
            victim, target - base, lead,
            "caught up in %.2f s" % took if took is not None else
            "NOT caught up to commit %d within %.0f s" % (target, CATCH_UP),
            counts["write"], counts["read"], counts["errors"], victim,
            last and last["commitIndex"], last and last["lastLogIndex"])
    return took, text


def main():
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, on_signal)
    if not os.access(raftd_path(), os.X_OK):
        print("test_catchup: raftd is not built")
        return 99
    work = tempfile.mkdtemp(prefix="raftd-fault-catchup-")
    cl = None
    passed = failed = 0
    try:
        cl = nemesis.new_cluster(LoopbackNet(), 5, work, "catchup")
        cl.start_all()
        ok, _ = cl.wait_healthy(20.0, settled=False)
        if not ok:
            raise HarnessError("no leader")
        for readers in (0, 3):
            took, text = round_(cl, readers)
            good = took is not None
            print("test_catchup: %d readers: %s" % (readers, text),
                  flush=True)
            if good:
                passed += 1
            else:
                failed += 1
                print("FAIL: with %d readers a restarted follower did not "
                      "catch up within %.0f s" % (readers, CATCH_UP))
            ok, sts = cl.wait_healthy(30.0)
            if ok:
                passed += 1
            else:
                failed += 1
                print("FAIL: the nodes did not catch up within 30 s after "
                      "the load stopped: %s" % brief(sts))
        for prob in cl.stop_all() + cl.sanitizer_reports():
            failed += 1
            print("FAIL: %s" % prob)
    except HarnessError as e:
        print("test_catchup: harness error: %s" % e)
        return 99
    finally:
        if cl is not None:
            if failed:
                for nid in cl.ids():
                    print("---- node %d log (last 10 lines) ----" % nid)
                    print(tail(cl.log_path(nid), 10))
            cl.kill_all()
            cl.remove()
        shutil.rmtree(work, ignore_errors=True)
    print("test_catchup: %d checks passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
