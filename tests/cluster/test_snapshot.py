# test_snapshot.py: snapshots and log compaction on real nodes: logs stay short, restarts load the snapshot, a wiped or lagging follower catches up through InstallSnapshot, tids survive compaction, and forged or disordered snapshot chunks change nothing.
import os
import re
import random
import shutil
import sys
import xmlrpc.client

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster, wait_for  # noqa: E402
from raftdtest import peerwire  # noqa: E402

EVERY = 200     # snapshot_entries
TRAILING = 50   # snapshot_trailing
KEYS = 40


def put_many(c, n, start, prefix="k"):
    """n puts over KEYS keys; returns the expected map."""
    want = {}
    for i in range(start, start + n):
        k = "%s%02d" % (prefix, i % KEYS)
        v = "v%d" % i
        ck_ok = c.call_with_retry("put", k, v)
        assert ck_ok is True, ck_ok
        want[k] = v
    return want


def check_data(ck, c, nid, want, what):
    cl = c.client(nid)
    got = {}
    after = ""
    for _ in range(100):
        page = cl.list("", after, 1000) if after else cl.list("")
        if not page:
            break
        for kv in page:
            got[kv["key"]] = kv["value"]
        after = page[-1]["key"]
        if len(page) < 1000:
            break
    ck.eq({k: v for k, v in got.items() if k in want}, want,
          "%s: node %d holds every value" % (what, nid))


def applied_everywhere(c, nids, index):
    sts = c.statuses(nids)
    return len(sts) == len(nids) and \
        all(s["lastApplied"] >= index for s in sts.values())


def file_size(p):
    try:
        return os.path.getsize(p)
    except OSError:
        return 0


def wipe_and_readd(c, f):
    """Replaces node f's disk the way docs/OPERATIONS.md says: remove it
    from the configuration, wipe its data dir, start it empty and add it
    back (a wiped node that just came back would be refused: its
    incarnation changed, daemon/ident.h)."""
    c.kill9(f)
    c.call_with_retry("removeMember", f, timeout=20,
                      start=[n for n in c.ids() if n != f][0])
    shutil.rmtree(c.data_dir(f))
    c.start(f)
    c.call_with_retry("addMember", f, c.address(f), timeout=30,
                      start=[n for n in c.ids() if n != f][0])


def main(ck):
    c = Cluster(3, name="snapshot",
                extra={"snapshot_entries": EVERY,
                       "snapshot_trailing": TRAILING})
    lead, _ = c.stable_leader()
    want = put_many(c, 1500, 0)
    commit = c.status(lead)["commitIndex"]
    wait_for(lambda: applied_everywhere(c, c.ids(), commit), 15,
             "every node to apply %d" % commit)

    # ---- every node snapshots and compacts on its own -----------------------
    def compacted():
        sts = c.statuses()
        return all(s.get("snapshotIndex", 0) >= commit - EVERY and
                   s.get("logFirstIndex", 1) > 1 for s in sts.values())
    wait_for(compacted, 20, "every node to snapshot and compact")
    for nid, s in sorted(c.statuses().items()):
        ck.check(s["snapshotsTaken"] >= 1, "node %d took snapshots (%d)" %
                 (nid, s["snapshotsTaken"]))
        # The log holds the trailing window and what came since.
        held = s["lastLogIndex"] - s["logFirstIndex"] + 1
        ck.check(held <= TRAILING + EVERY + 50,
                 "node %d: %d entries in its log (window %d + %d)" %
                 (nid, held, TRAILING, EVERY))
        ck.check(os.path.exists(os.path.join(c.data_dir(nid), "snapshot")),
                 "node %d has a snapshot file" % nid)
        ck.check(s["snapshotPauseMaxUs"] < 200000,
                 "node %d: longest snapshot pause %d us" %
                 (nid, s["snapshotPauseMaxUs"]))
        ck.eq(s["snapshotError"], "", "node %d: no snapshot error" % nid)
        ck.note("node %d: snapshot %d (%d bytes), log %d..%d (%d bytes), "
                "pause max %d us" %
                (nid, s["snapshotIndex"], s["snapshotBytes"],
                 s["logFirstIndex"], s["lastLogIndex"], s["logBytes"],
                 s["snapshotPauseMaxUs"]))
        ck.check(file_size(c.raftlog(nid)) == s["logBytes"],
                 "node %d: logBytes is the raftlog's size" % nid)
    check_data(ck, c, lead, want, "after compaction")

    # ---- showLog and getEntries after compaction ----------------------------
    s = c.status(lead)
    log = c.client(lead).showLog(1, 10)
    ck.check(log and log[0]["index"] == s["logFirstIndex"],
             "showLog from 1 starts at the log's first index %d (%r)" %
             (s["logFirstIndex"], log[:1]))

    # ---- exactly-once across compaction --------------------------------------
    ck.eq(c.call_with_retry("put", "once", "first", "tid-once"), True,
          "a put with a tid")
    more = put_many(c, 3 * EVERY, 5000)
    want.update(more)
    st = c.status(c.leader())
    ck.check(st["logFirstIndex"] > 1 and st["snapshotIndex"] > 0,
             "compacted again after the tid's entry")
    before = st["lastLogIndex"]
    ck.eq(c.call_with_retry("put", "once", "first", "tid-once"), True,
          "the retry answers as the first call did")
    ck.eq(c.status(c.leader())["lastLogIndex"], before,
          "the retry appended nothing")
    try:
        c.client(c.leader()).put("once", "other", "tid-once")
        ck.check(False, "a tid reused with other arguments is refused")
    except xmlrpc.client.Fault as f:
        ck.eq(f.faultCode, rt.INVALID, "tid reuse is fault 3")

    # ---- a restart loads the snapshot ---------------------------------------
    lead, _ = c.stable_leader()
    f = [n for n in c.ids() if n != lead][0]
    rc, _ = c.stop(f)
    ck.eq(rc, 0, "follower %d stops" % f)
    c.start(f)
    text = c.last_run_log(f)
    ck.check("loaded snapshot" in text, "node %d loads its snapshot on "
             "restart" % f)
    commit = c.status(lead)["commitIndex"]
    wait_for(lambda: applied_everywhere(c, [f], commit), 15,
             "node %d to catch up after its restart" % f)

    # ---- a wiped follower comes back through InstallSnapshot -----------------
    lead, _ = c.stable_leader()
    f = [n for n in c.ids() if n != lead][0]
    sent0 = c.status(lead)["snapshotsSent"]
    log0 = len(c.log_text(lead))
    wipe_and_readd(c, f)
    want.update(put_many(c, 2 * EVERY, 9000))
    commit = c.status(lead)["commitIndex"]
    wait_for(lambda: applied_everywhere(c, [f], commit), 30,
             "the wiped node %d to catch up" % f)
    sf = c.status(f)
    ck.check(sf["snapshotsInstalled"] >= 1, "node %d installed the leader's "
             "snapshot (%d)" % (f, sf["snapshotsInstalled"]))
    ck.check(c.status(lead)["snapshotsSent"] > sent0,
             "the leader sent a snapshot")
    ck.check(sf["logFirstIndex"] > 1, "node %d's log starts after the "
             "snapshot (%d)" % (f, sf["logFirstIndex"]))
    ck.note("wiped node %d: installed snapshot %d, log from %d" %
            (f, sf["snapshotIndex"], sf["logFirstIndex"]))
    # The follower's answer to the last chunk is its core's snapshot
    # answer, and it reaches the leader's core: the transfer ends as
    # delivered, not as a failure recovered later by a heartbeat.
    # (Logged when the answer reaches the leader: maybe just after the
    # follower applied.)
    try:
        wait_for(lambda: re.search(r"peer %d: snapshot \d+ delivered" % f,
                                   c.log_text(lead)[log0:]), 10,
                 "the leader to log the transfer")
    except rt.TestFailure:
        pass
    text = c.log_text(lead)[log0:]
    ck.check(re.search(r"peer %d: snapshot \d+ delivered" % f, text),
             "the leader logged the snapshot to node %d as delivered" % f)
    ck.check("not delivered" not in text,
             "no snapshot transfer failed: %s" % [
                 ln for ln in text.splitlines() if "not delivered" in ln][:3])

    # ---- a follower down while the log moved past compaction ----------------
    lead, _ = c.stable_leader()
    f = [n for n in c.ids() if n != lead][0]
    rc, _ = c.stop(f)
    want.update(put_many(c, 3 * EVERY, 12000))
    first = c.status(lead)["logFirstIndex"]
    ck.check(first > c.status(lead)["lastLogIndex"] - TRAILING - EVERY - 50,
             "the leader compacted while node %d was down" % f)
    c.start(f)
    commit = c.status(lead)["commitIndex"]
    wait_for(lambda: applied_everywhere(c, [f], commit), 30,
             "node %d to catch up past compaction" % f)
    ck.check(c.status(f)["snapshotsInstalled"] >= 1,
             "node %d caught up through a snapshot" % f)

    # Every node ends with the same data: stop the leader so another
    # leads, then read everything there.
    rc, _ = c.stop(lead)
    lead2, _ = c.stable_leader(nids=[n for n in c.ids() if n != lead])
    check_data(ck, c, lead2, want, "after the leader stopped")
    c.start(lead)
    commit = c.status(lead2)["commitIndex"]
    wait_for(lambda: applied_everywhere(c, c.ids(), commit), 30,
             "every node to catch up")

    # ---- whole-cluster restart ----------------------------------------------
    c.stop_all()
    c.start_all()
    lead, _ = c.stable_leader(timeout=15)
    check_data(ck, c, lead, want, "after restarting every node")

    # ---- hostile chunks (an insider with the secret) -------------------------
    lead, term = c.stable_leader()
    f = [n for n in c.ids() if n != lead][0]
    other = [n for n in c.ids() if n not in (lead, f)][0]
    att = peerwire.Signer(c.secret)
    cases = [
        ("stale term", dict(term=max(1, term - 1), index=5, sterm=1,
                            total=200, offset=0, data=b"x" * 10)),
        ("offset with no transfer", dict(term=term, index=5, sterm=1,
                                         total=200, offset=100,
                                         data=b"x" * 10)),
        ("chunk past the size", dict(term=term, index=5, sterm=1, total=50,
                                     offset=0, data=b"x" * 60)),
        ("garbage file", dict(term=term, index=5, sterm=1, total=100,
                              offset=0, data=bytes(random.getrandbits(8)
                                                   for _ in range(100)))),
    ]
    for what, k in cases:
        try:
            r = peerwire.call(c.peer_port(f), "installSnapshot",
                              att.chunk(other, f, **k))
            ck.check(False, "%s: refused (got %r)" % (what, r))
        except xmlrpc.client.Fault as fault:
            ck.eq(fault.faultCode, rt.INVALID, "%s: fault 3 (%s)" %
                  (what, fault.faultString))
    # A whole, valid snapshot (the leader's own file) sent by a member that
    # is not the leader of the current term: received, checked, but the
    # core refuses it (a second leader), so nothing is installed.
    with open(os.path.join(c.data_dir(lead), "snapshot"), "rb") as fp:
        snap = fp.read()
    idx, sterm = peerwire.struct.unpack_from("<QQ", snap, 16)
    inst0 = c.status(f)["snapshotsInstalled"]
    try:
        r = peerwire.call(c.peer_port(f), "installSnapshot",
                          att.chunk(other, f, term=term, index=idx,
                                    sterm=sterm, total=len(snap), offset=0,
                                    data=snap))
        ck.check(False, "a snapshot from a non-leader is not answered "
                 "(got %r)" % (r,))
    except xmlrpc.client.Fault as fault:
        ck.eq(fault.faultCode, 100, "a non-leader's snapshot: no answer "
              "(%s)" % fault.faultString)
    ck.eq(c.status(f)["snapshotsInstalled"], inst0,
          "node %d installed nothing from a non-leader" % f)
    # A chunk with a bad MAC.
    try:
        peerwire.call(c.peer_port(f), "installSnapshot",
                      peerwire.Signer("not the secret").chunk(
                          other, f, term=term, index=5, sterm=1, total=100,
                          offset=0, data=b"y" * 100))
        ck.check(False, "a chunk with a bad MAC is refused")
    except xmlrpc.client.Fault as fault:
        ck.eq(fault.faultCode, rt.UNAUTHORIZED, "bad MAC: fault 5")
    ck.eq(c.running(), c.ids(), "every node alive after the forged chunks")
    ck.check(not os.path.exists(os.path.join(c.data_dir(f), "snapshot.recv")),
             "no partial snapshot left behind")
    ck.eq(c.call_with_retry("put", "after-forgery", "ok"), True,
          "the cluster still commits")
    check_data(ck, c, c.leader(), want, "after the forged chunks")

    # ---- a state past the copy bound: the forked writer, a transfer of
    # several chunks ------------------------------------------------------
    # 24 values of 200 KiB (4.8 MB of state) pass snapshot.h's
    # SNAPSHOT_COPY_MAX: the snapshot is written by a forked child, and a
    # wiped follower receives it in ten 512 KiB chunks.
    big = {"big%02d" % i: chr(ord("a") + i % 26) * (200 * 1024)
           for i in range(24)}
    for k, v in big.items():
        ck.eq(c.call_with_retry("put", k, v), True, "put %s" % k)
    # Every node snapshots the big state (whoever leads next has one to
    # send: a slow machine may change the leader meanwhile).
    lead, _ = c.stable_leader()
    commit = c.status(lead)["commitIndex"]
    wait_for(lambda: applied_everywhere(c, c.ids(), commit), 30,
             "every node to apply the big values")
    snaps = {}
    for nid in c.ids():
        log0 = len(c.log_text(nid))
        r = c.client(nid, 120.0).snapshot()
        snaps[nid] = r
        ck.check(r["bytes"] > 24 * 200 * 1024, "node %d's snapshot holds "
                 "the big values (%d bytes)" % (nid, r["bytes"]))
        ck.check(re.search(r"snapshot taken: index %d, .*\(fork\)" %
                           r["index"], c.log_text(nid)[log0:]),
                 "node %d forked a writer for a state past the copy bound" %
                 nid)
    lead, _ = c.stable_leader()
    f = [n for n in c.ids() if n != lead][0]
    logs0 = {nid: len(c.log_text(nid)) for nid in c.ids()}
    wipe_and_readd(c, f)
    lead, _ = c.stable_leader()
    commit = c.status(lead)["commitIndex"]
    wait_for(lambda: applied_everywhere(c, [f], commit), 60,
             "the wiped node %d to catch up with a big snapshot" % f)
    big_bytes = min(r["bytes"] for r in snaps.values())

    def delivered():
        # The leader logs the transfer when the follower's answer reaches
        # it, which may be a little after the follower has applied.
        for nid in c.ids():
            for m in re.finditer(r"peer %d: snapshot \d+ delivered: (\d+) "
                                 r"bytes" % f, c.log_text(nid)[logs0[nid]:]):
                if int(m.group(1)) >= big_bytes:
                    return m
        return None
    try:
        m = wait_for(delivered, 10, "a leader to log the transfer")
    except rt.TestFailure:
        m = None
    ck.check(m is not None, "a leader delivered a snapshot of at least "
             "%d bytes to node %d (%s)" % (big_bytes, f,
                                           m.group(0) if m else "no line"))
    got = c.client(f).status()
    ck.check(got["snapshotIndex"] >= min(r["index"] for r in snaps.values()),
             "node %d installed it (snapshot %d)" % (f, got["snapshotIndex"]))
    # The big values read back (through the leader).
    for k in ("big00", "big13", "big23"):
        v = c.call_with_retry("get", k)
        ck.eq(v, big[k], "%s read back (%d bytes)" % (k, len(v or "")))
    ck.note("a snapshot of the big state (forked writer) went to wiped "
            "node %d: %s" % (f, m.group(0) if m else "?"))
    c.finish(ck)


rt.run(main)
