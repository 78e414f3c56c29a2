# test_torn_tail.py: a torn raftlog tail is dropped and refetched; damage in the middle refuses to start.
import hashlib
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster, raftlog  # noqa: E402


def file_state(path):
    st = os.stat(path)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return (st.st_size, st.st_mtime_ns, digest)


def same_log(c, nid, lead, timeout=10):
    """Whether node nid's showLog equals the leader's.  The two are read
    at slightly different moments (a commit index may move in between, or
    the leadership), so poll, bounded, until they agree."""
    def rows(n):
        return [(e["index"], e["term"], e["tid"], e["data"], e["committed"])
                for e in c.client(n).showLog(1, 100000)]

    def agree():
        ld = c.leader() or lead
        return rows(nid) == rows(ld)
    try:
        return rt.wait_for(agree, timeout, "node %d's log to equal the "
                           "leader's" % nid)
    except rt.TestFailure:
        return False


def write_some(ck, c, tag, n):
    for i in range(n):
        ck.eq(c.call_with_retry("addEntry", "%s-%d" % (tag, i),
                                "%s data %d" % (tag, i)), True,
              "addEntry %s-%d" % (tag, i))


ROUND = [0]


def restart_and_check(ck, c, nid, offset, length, lost_index):
    """Restarts nid after its raftlog got a torn tail at `offset` of
    `length` bytes and checks the message and the catch-up."""
    path = c.raftlog(nid)
    ROUND[0] += 1
    write_some(ck, c, "while-%d-down-r%d" % (nid, ROUND[0]), 3)
    c.start(nid)
    log = c.log_text(nid).rsplit("=== harness:", 1)[-1]
    m = re.search(r"dropped torn tail at offset (\d+) \((\d+) bytes\)", log)
    ck.check(m is not None, "node %d logs that it dropped a torn tail" % nid)
    if m:
        ck.eq(int(m.group(1)), offset, "node %d: the torn tail's offset" %
              nid)
        ck.eq(int(m.group(2)), length, "node %d: the torn tail's length" %
              nid)
        ck.check(path in log, "node %d: the message names %s" % (nid, path))
    ck.eq(os.path.getsize(path) >= offset, True, "node %d: the file was "
          "cut at the torn tail, not before" % nid)
    try:
        idx = c.wait_caught_up(timeout=10)
    except rt.TestFailure as e:
        ck.check(False, "node %d catches up after dropping its torn tail: "
                 "%s; statuses %r" % (nid, e, {
                     n: (s["state"], s["term"], s["commitIndex"],
                         s["lastApplied"], s["lastLogIndex"])
                     for n, s in c.statuses().items()}))
        return
    lead = c.leader()
    ck.check(same_log(c, nid, lead), "node %d's showLog equals the "
             "leader's after catching up (index %d)" % (nid, idx))
    if lost_index:
        got = c.client(nid).showLog(lost_index, 1)
        ck.check(len(got) == 1 and got[0]["committed"],
                 "node %d has entry %d again" % (nid, lost_index))


def torn_unacked(ck, c, nid, zeros):
    """The realistic torn tail: an entry the node was writing (never
    synced, so never acknowledged) cut short by the crash, or zeroed
    sectors at the end of the file."""
    c.kill9(nid)
    path = c.raftlog(nid)
    size = os.path.getsize(path)
    if zeros:
        tail = b"\0" * 600
        what = "600 zero bytes"
    else:
        last = raftlog.entries(path)[-1]
        rec = raftlog.entry_record(last["index"] + 1, last["term"], 1,
                                   b"x" * 50)
        tail = rec[:-5]
        what = "ENTRY %d cut 5 bytes short" % (last["index"] + 1)
    with open(path, "ab") as f:
        f.write(tail)
    ck.note("node %d: raftlog of %d bytes + %s" % (nid, size, what))
    restart_and_check(ck, c, nid, size, len(tail), None)


def torn_acked(ck, c, nid):
    """The last ENTRY record on disk cut a few bytes short.  That entry
    had been synced and acknowledged, so this is beyond a crash (a disk
    or an operator lost it), but the node must still start and be
    repaired by the leader."""
    c.kill9(nid)
    path = c.raftlog(nid)
    rec = raftlog.entries(path)[-1]
    cut = rec["offset"] + rec["size"] - 3
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(cut)
    ck.note("node %d: raftlog cut from %d to %d bytes, inside its last "
            "record, ENTRY %d at offset %d" % (nid, size, cut, rec["index"],
                                               rec["offset"]))
    restart_and_check(ck, c, nid, rec["offset"], cut - rec["offset"],
                      rec["index"])


def main(ck):
    c = Cluster(3, name="torn")
    c.stable_leader()
    write_some(ck, c, "first", 10)
    c.wait_caught_up()
    lead = c.leader()
    f1, f2 = [n for n in c.ids() if n != lead]

    torn_unacked(ck, c, f1, zeros=False)
    torn_unacked(ck, c, f2, zeros=True)

    # ---- damage in the middle: refuse to start, touch nothing --------------
    c.wait_caught_up()
    f = [n for n in c.ids() if n != c.leader()][0]
    c.kill9(f)
    path = c.raftlog(f)
    entries = raftlog.entries(path)
    ck.require(len(entries) >= 6, "node %d has at least 6 entries" % f)
    rec = entries[2]  # early: many valid records follow it
    pos = rec["offset"] + 16 + 17  # the first payload byte
    with open(path, "r+b") as fh:
        fh.seek(pos)
        orig = fh.read(1)
        fh.seek(pos)
        fh.write(bytes([orig[0] ^ 0x5A]))
    before = file_state(path)
    meta_before = [file_state(os.path.join(c.data_dir(f), m))
                   for m in ("meta1", "meta2")]
    rc, out = c.run_once(f, [], timeout=15)
    ck.check(rc not in (0, None), "node %d with a corrupt record in the "
             "middle exits non-zero (%r)" % (f, rc))
    ck.check(path in out, "the message names the file %s" % path)
    ck.check(re.search(r"offset %d\b" % rec["offset"], out) is not None,
             "the message names the record's offset %d" % rec["offset"])
    ck.check("entry index %d" % rec["index"] in out,
             "the message names the entry index %d" % rec["index"])
    ck.eq(file_state(path), before, "the raftlog is unchanged (size, "
          "mtime, content)")
    ck.eq([file_state(os.path.join(c.data_dir(f), m))
           for m in ("meta1", "meta2")], meta_before,
          "meta1/meta2 are unchanged")
    ck.check(not os.path.exists(path + ".tmp"), "no raftlog.tmp left")
    ck.note("node %d refused a raftlog with a flipped byte at %d (entry %d "
            "at offset %d): exit %s" % (f, pos, rec["index"], rec["offset"],
                                         rc))
    # Undo the damage: the node starts and catches up again.
    with open(path, "r+b") as fh:
        fh.seek(pos)
        fh.write(orig)
    write_some(ck, c, "after-repair", 3)
    c.start(f)
    c.wait_caught_up(timeout=15)
    ck.check(same_log(c, f, c.leader()), "after the repair node %d catches "
             "up" % f)
    ck.check("torn tail" not in c.log_text(f).rsplit("=== harness:", 1)[-1],
             "the repaired file has no torn tail")

    # ---- last: the last record on disk, an acknowledged entry, cut -------------
    c.wait_caught_up()
    torn_acked(ck, c, [n for n in c.ids() if n != c.leader()][0])
    c.finish(ck)


rt.run(main)
