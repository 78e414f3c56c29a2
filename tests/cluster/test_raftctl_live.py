# test_raftctl_live.py: every raftctl command against a live 3-node raftd
# cluster on loopback (tests/lib/raftdtest): leader, status, the
# key-value commands, add/entries, log, the calendar (two concurrent adds),
# the shell, a write retried across a leader kill that applies exactly once,
# exit 3 with the cluster gone, and `check` on the nodes' raftlogs.
import json
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster, wait_for  # noqa: E402


def raftctl_path():
    return rt.build_path("raftctl")


class Ctl:
    """Runs raftctl against one cluster's config."""

    def __init__(self, c):
        self.c = c

    def run(self, *args, stdin=None, timeout=60, conf=True):
        argv = [raftctl_path()]
        if conf:
            argv += ["-c", self.c.conf]
        p = subprocess.run(argv + list(args), input=stdin, text=True,
                           capture_output=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def start(self, *args):
        return subprocess.Popen([raftctl_path(), "-c", self.c.conf] +
                                list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


def entries_by_tid(c, tid):
    """The committed addEntry records with this tid (getEntries, paged)."""
    out, frm = [], 1
    for _ in range(10000):
        page = c.call_with_retry("getEntries", frm, 500)
        if not page:
            break
        out += [e for e in page if e["tid"] == tid]
        frm = page[-1]["index"] + 1
    return out


def test_basics(ck, c, ctl):
    lid, term = c.stable_leader(timeout=15)
    rc, out, err = ctl.run("leader")
    ck.eq((rc, out), (0, "%d %s\n" % (lid, c.address(lid))), "leader")
    rc, out, err = ctl.run("--json", "leader")
    ck.check(rc == 0 and json.loads(out)["id"] == lid, "leader --json")

    rc, out, err = ctl.run("status")
    rows = out.splitlines()
    ck.check(rc == 0 and len(rows) == 4, "status: a header and 3 rows")
    ck.eq(rows[0].split(), ["ID", "ADDRESS", "STATE", "TERM", "LEADER",
                            "COMMIT", "LAST", "SNAP", "LOG", "LAG"],
          "status header")
    states = [r.split()[2] for r in rows[1:]]
    ck.eq(sorted(states), ["follower", "follower", "leader"], "states")
    rc, out, err = ctl.run("status", "--json")
    st = json.loads(out)
    ck.check(rc == 0 and [s["id"] for s in st] == [1, 2, 3] and
             all(s["leader"] == lid for s in st), "status --json")

    ck.eq(ctl.run("put", "user:1", "alice")[0], 0, "put")
    ck.eq(ctl.run("put", "user:2", "bob smith")[0], 0, "put 2")
    ck.eq(ctl.run("get", "user:2")[:2], (0, "bob smith\n"), "get")
    rc, out, err = ctl.run("get", "user:9")
    ck.check(rc == 1 and out == "" and "not found" in err, "get absent")
    ck.eq(ctl.run("list", "user:")[:2],
          (0, "user:1\talice\nuser:2\tbob smith\n"), "list")
    ck.eq(ctl.run("cas", "user:1", "alice", "carol")[0], 0, "cas")
    rc, out, err = ctl.run("cas", "user:1", "alice", "dave")
    ck.check(rc == 1 and "cas failed: value differs" in err, "cas differs")
    ck.eq(ctl.run("get", "user:1")[1], "carol\n", "cas result")
    ck.eq(ctl.run("cas", "fresh", "", "1")[0], 0, "cas absent -> create")
    ck.eq(ctl.run("del", "fresh")[0], 0, "del")
    ck.eq(ctl.run("del", "fresh")[0], 1, "del absent")
    # A value of 64 KiB goes through.
    big = "x" * 65536
    ck.eq(ctl.run("put", "big", big)[0], 0, "64 KiB value")
    ck.eq(ctl.run("get", "big")[1], big + "\n", "64 KiB back")
    # put --tid twice applies once; the tid reused otherwise is fault 3.
    ck.eq(ctl.run("put", "--tid", "live-t1", "k", "1")[0], 0, "put --tid")
    ck.eq(ctl.run("put", "--tid", "live-t1", "k", "1")[0], 0, "again")
    rc, out, err = ctl.run("put", "--tid", "live-t1", "k", "2")
    ck.check(rc == 1 and "invalid request" in err, "tid reused: %r" % err)

    ck.eq(ctl.run("add", "live-a1", "hello world")[0], 0, "add")
    ck.eq(ctl.run("add", "live-a1", "hello world")[0], 0, "add repeated")
    ck.eq(len(entries_by_tid(c, "live-a1")), 1, "repeated add: one entry")
    rc, out, err = ctl.run("entries")
    lines = [ln for ln in out.splitlines() if ln.split()[2] == "live-a1"]
    ck.check(rc == 0 and len(lines) == 1 and
             lines[0].split(None, 3)[3] == "hello world",
             "entries: %r" % out)
    rc, out, err = ctl.run("log")
    lines = out.splitlines()
    ck.check(rc == 0 and len(lines) >= 8, "log of the leader")
    ck.check(all(ln.split()[2] in ("C", "U") for ln in lines),
             "log lines carry C or U")
    ck.check(any("live-a1" in ln for ln in lines), "log shows the add")
    rc, out, err = ctl.run("log", "--node", "2", "--json", "1", "3")
    j = json.loads(out)
    ck.check(rc == 0 and [e["index"] for e in j] == [1, 2, 3] and
             all(isinstance(e["committed"], bool) for e in j),
             "log --node 2 --json 1 3")

    # Only one follower listed (-s): hints lead to the leader.
    follower = [n for n in c.ids() if n != lid][0]
    rc, out, err = ctl.run("-s", c.address(follower), "put", "via", "hint",
                           conf=False)
    ck.eq(rc, 0, "put through a follower only: %s" % err)
    ck.eq(ctl.run("get", "via")[1], "hint\n", "value written via hint")


def test_calendar(ck, c, ctl):
    # Two clients add at the same moment: both events are kept.
    procs = [ctl.start("cal", "add", "2026-02-03", "09:30", "Standup",
                       str(i)) for i in range(2)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        ck.check(p.returncode == 0, "concurrent cal add: %s" % err)
        ids.append(out.strip())
    ck.check(len(set(ids)) == 2 and all(ids), "two ids: %r" % ids)
    rc, out, err = ctl.run("cal", "add", "2026-02-28", "18:00", "Dinner")
    dinner = out.strip()
    rc, out, err = ctl.run("cal", "list", "2026-02")
    lines = out.splitlines()
    ck.check(rc == 0 and lines[0].strip() == "February 2026",
             "cal list grid: %r" % out)
    ck.eq(lines[3], " 2   3*  4   5   6   7   8", "3rd marked")
    ck.eq(lines[6], "23  24  25  26  27  28*", "28th marked")
    ev = lines[8:]
    ck.check(len(ev) == 3 and all(i in out for i in ids) and
             ev[2] == "2026-02-28 18:00  %s  Dinner" % dinner,
             "both concurrent events listed, in order: %r" % ev)
    ck.eq(ctl.run("cal", "del", ids[0])[0], 0, "cal del")
    rc, out, err = ctl.run("cal", "list", "2026-02-03")
    ck.check(rc == 0 and ids[0] not in out and ids[1] in out,
             "one day after the delete: %r" % out)
    ck.eq(ctl.run("cal", "del", ids[0])[0], 1, "cal del again: exit 1")


def test_shell(ck, c, ctl):
    script = 'put s "two words"\nget s\nget nope\nstatus\nexit\n'
    rc, out, err = ctl.run("shell", stdin=script)
    lines = out.splitlines()
    ck.check(rc == 0 and lines[0] == "two words" and len(lines) == 5,
             "shell: %r %r" % (out, err))
    ck.check("not found" in err, "shell: errors go on")


def test_retry_across_kill(ck, c, ctl):
    """A write in flight on a leader that dies is retried with the same tid
    and applies exactly once."""
    lid, _ = c.stable_leader(timeout=15)
    others = [n for n in c.ids() if n != lid]
    # Freeze the followers: the leader can append the entry but not
    # commit it, so the write is still pending when the leader dies.
    for n in others:
        os.kill(c.nodes[n].proc.pid, signal.SIGSTOP)
    try:
        p = ctl.start("-v", "-t", "40", "add", "live-kill", "once")
        try:
            appended = wait_for(lambda: any(
                e["tid"] == "live-kill"
                for e in c.client(lid, timeout=2).showLog(1, 100000)),
                5, "the entry on the leader")
        except rt.TestFailure:
            # The leader may have stepped down first (CheckQuorum): the
            # write is then retried anyway.
            appended = False
        ck.note("entry appended on the old leader before the kill: %s" %
                bool(appended))
        c.kill9(lid)
    finally:
        for n in others:
            os.kill(c.nodes[n].proc.pid, signal.SIGCONT)
    out, err = p.communicate(timeout=60)
    ck.check(p.returncode == 0, "add across a leader kill: %s" % err)
    tries = err.count("addEntry on node")
    ck.check(tries >= 2, "the add was retried (%d attempts)" % tries)
    new, _ = c.stable_leader(timeout=15, nids=others)
    ck.check(new != lid, "a new leader")
    ck.eq(len(entries_by_tid(c, "live-kill")), 1,
          "applied exactly once after the retry")
    # The killed leader comes back and catches up; its stale entry (if
    # any) is overwritten.
    c.start(lid)
    c.wait_caught_up(timeout=20)
    ck.eq(len(entries_by_tid(c, "live-kill")), 1, "still once")
    # Once more with the tid, now on another leader: nothing new.
    ck.eq(ctl.run("add", "live-kill", "once")[0], 0, "repeat after change")
    ck.eq(len(entries_by_tid(c, "live-kill")), 1, "still exactly once")


def test_end(ck, c, ctl):
    c.wait_caught_up(timeout=20)
    c.stop_all()
    rc, out, err = ctl.run("-t", "1", "leader")
    ck.check(rc == 3 and "cluster unavailable" in err, "leader: 3")
    rc, out, err = ctl.run("-t", "1", "status")
    ck.check(rc == 3 and out.count("down") == 3, "status: all down, 3")
    rc, out, err = ctl.run("-t", "0.5", "put", "k", "v")
    ck.check(rc == 3, "put: 3")
    # The nodes' raftlogs (DIR/node-N/raftlog) pass the check.
    rc, out, err = ctl.run("check", c.dir)
    ck.check(rc == 0 and "nodes: 3" in out and "no violations" in out,
             "check of the cluster's raftlogs: %r %r" % (out, err))


def main(ck):
    if not os.access(raftctl_path(), os.X_OK):
        print("test_raftctl_live: %s is not built" % raftctl_path())
        sys.exit(99)
    # Elections slow enough that a leader whose followers are frozen stays
    # leader long enough to append a write (test_retry_across_kill).
    c = Cluster(3, name="raftctl", election=(1500, 3000), heartbeat=100)
    ctl = Ctl(c)
    test_basics(ck, c, ctl)
    test_calendar(ck, c, ctl)
    test_shell(ck, c, ctl)
    test_retry_across_kill(ck, c, ctl)
    test_end(ck, c, ctl)
    c.finish(ck)


if __name__ == "__main__":
    rt.run(main)
