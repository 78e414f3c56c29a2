# test_backup.py: snapshots from raftctl's side against live 3-node clusters: automatic snapshots compact the logs, `raftctl snapshot` takes one and `status` shows it, `raftctl check` passes on compacted logs and snapshots, `raftctl backup FILE` saves the leader's, and a NEW cluster built from it by the documented restore procedure (docs/RAFTCTL.md, "Restoring a backup") holds every key and remembers every tid (a repeated write applies once).
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import INVALID, NOT_FOUND, Cluster, wait_for  # noqa: E402

# Small snapshots: one every 20 applied entries, 5 kept before it.
SNAP = {"snapshot_entries": 20, "snapshot_trailing": 5}
KEYS = 120
# Large values, so that the snapshot spans several readSnapshot chunks
# (API_SNAPSHOT_CHUNK, 1 MiB).
BIG = 12
BIG_LEN = 200000


def big(i):
    return ("big %d " % i) * (BIG_LEN // 6)


def raftctl(conf, *args, timeout=60):
    p = subprocess.run([rt.build_path("raftctl"), "-c", conf] + list(args),
                       text=True, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def key(i):
    return "bk/%04d" % i


def status_rows(out):
    """{id: columns} of `raftctl status` lines after the header."""
    rows = {}
    for line in out.splitlines()[1:]:
        cols = line.split()
        if cols and cols[0].isdigit():
            rows[int(cols[0])] = cols
    return rows


def write_keys(ck, c):
    cr = c.call_with_retry
    for i in range(KEYS):
        cr("put", key(i), "value %d" % i, "tid-" + key(i))
    for i in range(BIG):
        cr("put", "big/%d" % i, big(i), "tid-big-%d" % i)
    ck.eq(cr("addEntry", "t-once", "once-data"), True, "addEntry t-once")
    ck.eq(cr("delete", key(7), "tid-del-7"), True, "delete with a tid")
    ck.note("%d puts, %d puts of %d bytes, an addEntry and a delete, with "
            "tids" % (KEYS, BIG, len(big(0))))


def test_snapshots(ck, c):
    """Automatic snapshots, `raftctl snapshot`, `status`."""
    c.wait_caught_up()
    sts = wait_for(lambda: (lambda s: s if len(s) == 3 and all(
        x.get("snapshotIndex", 0) > 0 for x in s.values()) else None)(
        c.statuses()), 15, "every node to take a snapshot of its own")
    for nid, s in sorted(sts.items()):
        ck.check(s["logFirstIndex"] > 1 and
                 s["logFirstIndex"] <= s["snapshotIndex"] + 1,
                 "node %d: log compacted after its snapshot: first %d, "
                 "snapshot %d" % (nid, s["logFirstIndex"],
                                  s["snapshotIndex"]))
    ck.note("automatic snapshots: %s" % {
        nid: (s["snapshotIndex"], s["logFirstIndex"], s["logEntries"])
        for nid, s in sorted(sts.items())})

    # raftctl snapshot: the leader by default, a node by --node.
    lid = c.leader()
    last = c.status(lid)["lastApplied"]
    rc, out, err = raftctl(c.conf, "snapshot")
    m = re.match(r"node (\d+): snapshot at index (\d+) \(term (\d+)\), "
                 r"(\d+) bytes\n$", out)
    ck.check(rc == 0 and m is not None, "snapshot: %r %r" % (out, err))
    if m:
        ck.eq(int(m.group(1)), lid, "snapshot: taken on the leader")
        ck.check(int(m.group(2)) >= last, "snapshot: index %s, applied %d "
                 "before" % (m.group(2), last))
        ck.note("raftctl snapshot: %s" % out.strip())
    other = [n for n in c.ids() if n != lid][0]
    rc, out, err = raftctl(c.conf, "--json", "snapshot", "--node",
                           str(other))
    js = json.loads(out) if rc == 0 else {}
    ck.check(rc == 0 and js.get("id") == other and js.get("index", 0) > 0
             and js.get("bytes", 0) > 64,
             "snapshot --node %d --json: %r %r" % (other, out, err))
    rc, out, err = raftctl(c.conf, "snapshot", "--node", "9")
    ck.check(rc == 2 and "no node with id 9" in err,
             "snapshot --node 9: %d %r" % (rc, err))

    # status: SNAP and LOG columns, and the fields in --json.
    rc, out, err = raftctl(c.conf, "status")
    rows = status_rows(out)
    sts = c.statuses()
    ck.check(rc == 0 and out.splitlines()[0].split()[7:9] == ["SNAP", "LOG"]
             and len(rows) == 3, "status: %r" % out)
    for nid, cols in sorted(rows.items()):
        ck.check(len(cols) == 10 and cols[7].isdigit() and
                 int(cols[7]) > 0 and "/" in cols[8],
                 "status row of node %d: %r" % (nid, cols))
    ck.eq(int(rows.get(lid, ["0"] * 10)[7]), sts[lid]["snapshotIndex"],
          "status: the leader's SNAP is its snapshotIndex")
    rc, out, err = raftctl(c.conf, "status", "--json")
    st = json.loads(out) if rc == 0 else []
    keys = ("snapshotIndex", "snapshotTerm", "snapshotBytes",
            "logFirstIndex", "logEntries", "logBytes")
    ck.check(rc == 0 and len(st) == 3 and
             all(all(k in s for k in keys) for s in st),
             "status --json has the snapshot and log fields: %r" % out)
    ck.note("raftctl status:\n" + raftctl(c.conf, "status")[1].rstrip())


def test_backup(ck, c, work):
    """raftctl backup FILE; returns (FILE, its index)."""
    path = os.path.join(work, "kv.snap")
    rc, out, err = raftctl(c.conf, "backup", os.path.join(work, "no", "dir",
                                                          "x.snap"))
    ck.check(rc == 1 and "cannot create" in err,
             "backup into a missing dir: %d %r" % (rc, err))
    lid = c.leader()
    applied = c.status(lid)["lastApplied"]
    rc, out, err = raftctl(c.conf, "backup", path)
    m = re.match(r"saved (.*): snapshot of node (\d+) at index (\d+) "
                 r"\(term (\d+)\), (\d+) bytes\n$", out)
    ck.check(rc == 0 and m is not None, "backup: %r %r" % (out, err))
    if not m:
        return path, 0
    index = int(m.group(3))
    ck.eq(int(m.group(2)), lid, "backup: from the leader")
    ck.check(index >= applied, "backup: index %d >= applied %d before it" %
             (index, applied))
    ck.eq(os.path.getsize(path), int(m.group(5)), "backup: the file's size")
    ck.check(int(m.group(5)) > 2 * 1024 * 1024, "backup: %s bytes, several "
             "1 MiB chunks" % m.group(5))
    ck.check(not os.path.exists(path + ".tmp"), "backup: no FILE.tmp left")
    ck.note("raftctl backup: %s" % out.strip())
    # The same again, --json, over an existing file (replaced whole).
    rc, out, err = raftctl(c.conf, "--json", "backup", path)
    js = json.loads(out) if rc == 0 else {}
    ck.check(rc == 0 and js.get("index", 0) >= index and
             js.get("bytes") == os.path.getsize(path),
             "backup --json: %r %r" % (out, err))
    return path, js.get("index", index)


def test_restore_refusals(ck, c, path, work):
    """restore never writes over a node's data dir, nor from a bad file."""
    rc, out, err = raftctl(c.conf, "restore", path, c.data_dir(1))
    ck.check(rc == 1 and "nothing restored" in err,
             "restore into a node's data dir: %d %r" % (rc, err))
    bad = os.path.join(work, "bad.snap")
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[len(data) // 2] ^= 0x20
    with open(bad, "wb") as f:
        f.write(data)
    target = os.path.join(work, "never")
    rc, out, err = raftctl(c.conf, "restore", bad, target)
    ck.check(rc == 1 and "not a valid snapshot" in err and
             not os.path.exists(target),
             "restore of a damaged file: %d %r" % (rc, err))


def test_restored(ck, c2, index):
    """The new cluster holds the backup: every key, every tid."""
    lid, term = c2.stable_leader(timeout=15)
    cr = c2.call_with_retry
    sts = c2.statuses()
    for nid, s in sorted(sts.items()):
        ck.check(s.get("snapshotIndex", 0) >= index and
                 s.get("commitIndex", 0) >= index,
                 "restored node %d: snapshot %s, commit %s (backup %d)" %
                 (nid, s.get("snapshotIndex"), s.get("commitIndex"), index))
    missing = []
    for i in range(KEYS):
        if i == 7:
            continue
        try:
            v = cr("get", key(i))
        except Exception as e:  # noqa: BLE001 - reported below
            v = repr(e)
        if v != "value %d" % i:
            missing.append((key(i), v))
    for i in range(BIG):
        if cr("get", "big/%d" % i) != big(i):
            missing.append("big/%d" % i)
    ck.eq(missing, [], "every key of the backup is in the new cluster")
    ck.fault(lambda: cr("get", key(7)), NOT_FOUND, "the deleted key stays "
             "deleted")
    ck.fault(lambda: cr("get", "after-backup"), NOT_FOUND,
             "a key written after the backup is not in it")
    # Exactly once: the tids came with the state machine.
    ck.eq(cr("put", key(3), "value 3", "tid-" + key(3)), True,
          "a put repeated with its tid answers as the first")
    ck.fault(lambda: cr("put", key(3), "other", "tid-" + key(3)), INVALID,
             "the tid of a put before the backup, reused with another "
             "value: fault 3 (the tid is remembered)")
    ck.eq(cr("get", key(3)), "value 3", "and the value is unchanged")
    ck.eq(cr("addEntry", "t-once", "once-data"), True,
          "addEntry t-once repeated")
    ents = cr("getEntries", 1, 100000)
    ck.eq([e["data"] for e in ents if e["tid"] == "t-once"], ["once-data"],
          "t-once is one addEntry record after the repeat")
    ck.eq(cr("delete", key(7), "tid-del-7"), True,
          "the delete repeated with its tid answers as the first (true)")
    # The new cluster works on: writes, and snapshots of its own.
    for i in range(30):
        cr("put", "new/%02d" % i, "n%d" % i)
    ck.eq(cr("get", "new/29"), "n29", "the new cluster takes writes")
    rc, out, err = raftctl(c2.conf, "status")
    rows = status_rows(out)
    ck.check(rc == 0 and len(rows) == 3 and
             all(int(r[7]) >= index for r in rows.values()
                 if r[7].isdigit()), "status of the restored cluster: %r" %
             out)
    ck.note("restored cluster, status:\n" + out.rstrip())


def main(ck):
    if not os.access(rt.build_path("raftctl"), os.X_OK):
        print("test_backup: %s is not built" % rt.build_path("raftctl"))
        sys.exit(99)
    work = tempfile.mkdtemp(prefix="raftd-backup-")
    try:
        c = Cluster(3, name="backup", extra=SNAP)
        c.stable_leader()
        write_keys(ck, c)
        test_snapshots(ck, c)
        path, index = test_backup(ck, c, work)
        ck.require(index > 0, "a backup to restore")
        c.call_with_retry("put", "after-backup", "x")
        test_restore_refusals(ck, c, path, work)
        c.stop_all()
        rc, out, err = raftctl(c.conf, "check", c.dir)
        ck.check(rc == 0 and "no violations" in out and
                 "log starts after index" in out,
                 "check of the compacted logs and snapshots: %r %r" %
                 (out, err))
        ck.note("raftctl check of the old cluster:\n" + out.rstrip())
        c.finish(ck)

        # A new cluster (other ports, new data dirs) from the backup.
        c2 = Cluster(3, name="restored", extra=SNAP, start=False)
        rc, out, err = raftctl(c2.conf, "restore", path,
                               *[c2.data_dir(n) for n in c2.ids()])
        ck.check(rc == 0 and out.count("restored (") == 3,
                 "restore into 3 new data dirs: %r %r" % (out, err))
        ck.require(all(os.path.isfile(os.path.join(c2.data_dir(n),
                                                   "snapshot"))
                       for n in c2.ids()), "DIR/snapshot on every node")
        c2.start_all()
        test_restored(ck, c2, index)
        c2.stop_all()
        rc, out, err = raftctl(c2.conf, "check", c2.dir)
        ck.check(rc == 0 and "no violations" in out,
                 "check of the restored cluster: %r %r" % (out, err))
        c2.finish(ck)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    rt.run(main)
