# test_timeline.py: `raftctl timeline` on crafted raftlogs and node logs: the SVG is well-formed XML with the lanes, terms, leaders, down and partitioned spans, divergence and commits the inputs say; hostile names, a corrupt raftlog, garbage and over-long log lines, a FIFO and too many nodes are refused or drawn safely.
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import raftdtest as rt  # noqa: E402
from tlcommon import (Picture, log_line, raftlog_bytes,  # noqa: E402
                      timeline)

T0 = 1796000000.0  # a fixed start time (2026-11-29, UTC)
WEIRD = "w <&\"'> \u00e9"   # a node directory name that must be escaped


def write(path, data, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


def scenario(top):
    """n1 leads term 1, is killed at +3 s (no "stopped"; n2 loses it at
    +4 s), n2 leads term 2 from +5 s, n1 restarts at +8 s.  WEIRD (id 3)
    is cut off from both from +10 s to +14 s.  Every node stops at
    +20 s.  Logs: 1..3 term 1, 4..6 term 2 on n1 and n2, committed to 6;
    WEIRD holds 1..3 term 1 and 4..5 of term 1 (from n1, never
    committed), committed to 3."""
    L = log_line
    good = [(i, 1, b"a") for i in range(1, 4)] + \
        [(i, 2, b"<script>&") for i in range(4, 7)]
    write(top + "/n1/raftlog", raftlog_bytes(good, [3, 6]), "wb")
    write(top + "/n2/raftlog", raftlog_bytes(good, [6]), "wb")
    stale = [(i, 1, b"a") for i in range(1, 6)]
    write(top + "/" + WEIRD + "/raftlog", raftlog_bytes(stale, [3]), "wb")
    n1 = [L(T0, 1, 0, "follower", "raftd 0.1.0 starting: node 1 at x"),
          L(T0 + 0.5, 1, 0, "follower", "term 0: follower -> precandidate"),
          L(T0 + 0.6, 1, 0, "precandidate",
            "term 1: precandidate -> candidate"),
          L(T0 + 1, 1, 1, "candidate", "term 1: candidate -> leader"),
          L(T0 + 1, 1, 1, "candidate", "term 1: leader with log up to 0"),
          L(T0 + 3, 1, 1, "leader", "peer 3 reachable again"),
          "=== a harness line, not raftd's\n",
          L(T0 + 8, 1, 0, "follower", "raftd 0.1.0 starting: node 1 at x"),
          L(T0 + 8.1, 1, 0, "follower", "loaded term 1, vote 1, entries"),
          L(T0 + 8.2, 1, 1, "follower", "term 2: following leader 2"),
          L(T0 + 20, 1, 2, "follower", "stopped")]
    n2 = [L(T0, 2, 0, "follower", "raftd 0.1.0 starting: node 2 at x"),
          L(T0 + 1.1, 2, 1, "follower", "term 1: following leader 1"),
          L(T0 + 4, 2, 1, "follower", "term 1: follower -> precandidate"),
          L(T0 + 4, 2, 1, "precandidate", "peer 1 unreachable: refused"),
          L(T0 + 4.9, 2, 1, "precandidate",
            "term 2: precandidate -> candidate"),
          L(T0 + 5, 2, 2, "candidate", "term 2: candidate -> leader"),
          L(T0 + 8.3, 2, 2, "leader", "peer 1 reachable again"),
          L(T0 + 10, 2, 2, "leader", "peer 3 unreachable: timeout"),
          L(T0 + 14, 2, 2, "leader", "peer 3 reachable again"),
          # A slow moment, both peers past their deadline for 0.2 s:
          # not a partition (drawn as nothing).
          L(T0 + 16, 2, 2, "leader", "peer 1 unreachable: deadline"),
          L(T0 + 16, 2, 2, "leader", "peer 3 unreachable: deadline"),
          L(T0 + 16.2, 2, 2, "leader", "peer 1 reachable again"),
          L(T0 + 16.2, 2, 2, "leader", "peer 3 reachable again"),
          L(T0 + 20, 2, 2, "leader", "stopped")]
    n3 = [L(T0, 3, 0, "follower", "raftd 0.1.0 starting: node 3 at x"),
          L(T0 + 1.1, 3, 1, "follower", "term 1: following leader 1"),
          L(T0 + 5.1, 3, 2, "follower", "term 2: following leader 2"),
          L(T0 + 10.2, 3, 2, "follower", "term 2: follower -> precandidate"),
          L(T0 + 10.2, 3, 2, "precandidate", "peer 1 unreachable: timeout"),
          L(T0 + 10.2, 3, 2, "precandidate", "peer 2 unreachable: timeout"),
          L(T0 + 14, 3, 2, "precandidate", "peer 2 reachable again"),
          L(T0 + 14, 3, 2, "precandidate", "peer 1 reachable again"),
          L(T0 + 14.1, 3, 2, "precandidate", "term 2: following leader 2"),
          L(T0 + 14.1, 3, 2, "precandidate", "term 2: precandidate -> "
            "follower"),
          L(T0 + 20, 3, 2, "follower", "stopped")]
    write(top + "/n1/raftd.log", "".join(n1))
    write(top + "/n2/raftd.log", "".join(n2))
    write(top + "/" + WEIRD + "/raftd.log", "".join(n3))


def test_scenario(ck, top):
    scenario(top)
    rc, out, err = timeline([top])
    ck.eq(rc, 0, "timeline of the scenario: exit status (stderr %r)" % err)
    pic = Picture(out)
    ck.check(pic.has_time_panel(), "a time panel (node logs present)")
    ck.eq(pic.leaders(), {"n1": {1}, "n2": {2}},
          "leader spans: n1 in term 1, n2 in term 2")
    ck.eq(pic.legend(), {1: "n1", 2: "n2"}, "the legend's terms and leaders")
    downs = {n for n, _ in pic.spans("down")}
    ck.check("n1" in downs, "n1 has a down span (killed, restarted): %r" %
             downs)
    ck.check(len(pic.find("mark", "killed")) == 1,
             "one 'killed' mark (n1's run ended without 'stopped')")
    ck.eq(len(pic.find("mark", "start")), 4, "four starts marked")
    ck.check(pic.spans("precandidate"), "precandidate spans drawn")
    cut = [e.get("data-node") for e in pic.find("cut", "partitioned")]
    ck.eq(sorted(set(cut)), [WEIRD],
          "the node cut off from both others is drawn partitioned "
          "(its name escaped and read back intact), not n2 for its "
          "0.2 s slow moment")
    lost = {e.get("data-node") for e in pic.find("cut", "lost")}
    ck.check("n2" in lost, "n2 lost contact with one peer: %r" % lost)
    ck.eq(pic.run_terms("n1"), [1, 2], "n1's log runs: terms 1 and 2")
    ck.eq(pic.run_terms(WEIRD), [1], "the stale node's log: term 1 only")
    div = [(e.get("data-node"), e.get("data-from"))
           for e in pic.find("diverge")]
    ck.eq(div, [(WEIRD, "4")], "divergence: the stale node from index 4")
    com = {e.get("data-node"): int(e.get("data-commit"))
           for e in pic.find("committed")}
    ck.eq(com, {"n1": 6, "n2": 6, WEIRD: 3}, "committed prefixes")
    ck.check(b"<script" not in out, "no payload text in the picture")
    names = [t for t in pic.texts() if t.startswith("w <&")]
    ck.check(len(names) >= 2, "the weird name shown as text: %r" % names)

    # -o FILE writes the same picture; no temporary left behind.
    dst = os.path.join(top, "..", "pic.svg")
    rc, out2, _ = timeline([top, "-o", dst, "--title", "t <1> & \x01"])
    ck.eq(rc, 0, "timeline -o: exit status")
    with open(dst, "rb") as f:
        p2 = Picture(f.read())
    ck.eq(p2.leaders(), pic.leaders(), "-o: the same leaders")
    ck.check(any(t.startswith("t <1> & ?") for t in p2.texts()),
             "the title escaped, the control character replaced")
    ck.check(not os.path.exists(dst + ".tmp"), "no temporary file left")
    ck.eq(out2, b"", "-o: nothing on stdout")


def test_no_nodelogs(ck, top):
    """Without node logs: the logs by index only."""
    for d in os.listdir(top):
        p = os.path.join(top, d, "raftd.log")
        if os.path.exists(p):
            os.unlink(p)
    rc, out, err = timeline([top])
    ck.eq(rc, 0, "no node logs: exit status (%r)" % err)
    pic = Picture(out)
    ck.check(not pic.has_time_panel(), "no time panel")
    ck.eq(pic.run_terms(), [1, 2], "the logs' terms drawn")
    ck.eq(pic.leaders(), {}, "no leader spans")
    ck.eq(sorted(pic.legend()), [1, 2], "the legend lists terms 1 and 2")


def test_hostile(ck, base):
    # A corrupt raftlog (a bad record with valid ones after it), a node
    # log of garbage, NULs, invalid UTF-8 and a 200 KiB line, a name with
    # control characters and invalid UTF-8.
    top = os.path.join(base, "hostile")
    good = [(i, 1, b"x" * 40) for i in range(1, 9)]
    data = bytearray(raftlog_bytes(good, [8]))
    data[32 + 3 * 72 + 20] ^= 0xFF  # inside entry 4
    write(top + "/bad/raftlog", bytes(data), "wb")
    bname = os.path.join(top.encode(), b"c\x01\xff\xfe<")
    os.makedirs(bname)
    with open(os.path.join(bname, b"raftlog"), "wb") as f:
        f.write(raftlog_bytes(good, [8]))
    junk = (b"\x00\xff garbage\n" + b"A" * 200000 + b"\n" +
            b"a NUL\x00 inside\n" +
            log_line(T0, 7, 1, "leader", "term 1: candidate -> leader")
            .encode() +
            b"2026-13-45T99:99:99.999Z node=1 term=1 leader info: x\n" +
            b"2026-01-01T00:00:00.000Z node=99999999999 term=1 x info: y\n" +
            log_line(T0 + 1, 7, 18446744073709551615, "leader",
                     "term 18446744073709551615: follower -> leader")
            .encode() +
            log_line(T0 + 2, 7, 1, "leader", "peer 4294967296 unreachable")
            .encode() +
            log_line(T0 - 5, 7, 1, "leader", "clock went back \xe9\x80")
            .encode("utf-8", "surrogateescape") + b"no newline at the end")
    with open(os.path.join(bname, b"raftd.log"), "wb") as f:
        f.write(junk)
    rc, out, err = timeline([top])
    ck.eq(rc, 1, "a corrupt raftlog: exit 1 (drawn, but incomplete)")
    ck.check("bad/raftlog" in err and "corrupt" in err,
             "the message names the corrupt file: %r" % err)
    pic = Picture(out)
    ck.check(pic.find("unreadable"), "the corrupt node's row is marked")
    ck.check(any(t.startswith("c?") for t in pic.texts()),
             "the control character and invalid bytes replaced")
    ck.eq(sorted(pic.leaders()), ["c???<"],
          "the node log's leader lines drawn, in the lane named with the "
          "bad bytes replaced")
    ck.check(len(out) < 2000000, "the picture stays small: %d bytes" %
             len(out))

    # A torn tail is not an error.
    shutil.rmtree(top)
    data = raftlog_bytes(good, [8])[:-20]
    write(top + "/t/raftlog", data, "wb")
    rc, out, err = timeline([top])
    ck.eq(rc, 0, "a torn tail: exit 0 (%r)" % err)
    ck.check(any("torn tail" in t for t in Picture(out).texts()),
             "the torn tail is noted")

    # A FIFO in the node log's place must not hang the command.
    os.mkfifo(top + "/t/raftd.log")
    rc, out, err = timeline([top], timeout=20)
    ck.eq(rc, 1, "a FIFO as raftd.log: exit 1")
    ck.check("not a regular file" in err, "says so: %r" % err)
    Picture(out)
    os.unlink(top + "/t/raftd.log")

    # A node log of more lines than are read: drawn, but exit 1.
    write(top + "/t/raftd.log",
          log_line(T0, 1, 1, "leader", "term 1: candidate -> leader") +
          "x\n" * 2000000 +
          log_line(T0 + 9, 1, 1, "leader", "stopped"))
    rc, out, err = timeline([top])
    ck.eq(rc, 1, "a node log over 2,000,000 lines: exit 1")
    ck.check("the first 2000000 lines only" in err, "says so: %r" % err)
    ck.eq(Picture(out).leaders(), {"t": {1}}, "the lines read are drawn")
    os.unlink(top + "/t/raftd.log")

    # A file shorter than the header; a header of garbage.
    write(top + "/s/raftlog", b"RAFTD", "wb")
    write(top + "/g/raftlog", b"X" * 64, "wb")
    rc, out, err = timeline([top])
    ck.eq(rc, 1, "short and garbage raftlogs: exit 1")
    ck.eq(len(Picture(out).find("unreadable")), 2, "two rows unreadable")

    # Many terms: the picture's size does not grow with the input's.
    shutil.rmtree(top)
    many = [(i, i, b"") for i in range(1, 3001)]
    write(top + "/m/raftlog", raftlog_bytes(many, [3000]), "wb")
    rc, out, err = timeline([top])
    ck.eq(rc, 0, "3000 terms: exit 0")
    pic = Picture(out)
    ck.check(len(pic.find("run")) <= 1001,
             "at most one rectangle per pixel: %d" % len(pic.find("run")))
    ck.check(len(pic.find("term")) <= 24, "the legend is bounded")

    # Usage errors: no dir, an empty dir, too many nodes, bad options.
    rc, _, err = timeline([])
    ck.eq(rc, 2, "no directory: exit 2")
    empty = os.path.join(base, "empty")
    os.makedirs(empty)
    rc, _, err = timeline([empty])
    ck.eq(rc, 2, "an empty directory: exit 2 (%r)" % err)
    rc, _, err = timeline([top, "--bogus"])
    ck.eq(rc, 2, "an unknown option: exit 2")
    rc, _, err = timeline([top, "-o"])
    ck.eq(rc, 2, "-o without a file: exit 2")
    big = os.path.join(base, "big")
    one = raftlog_bytes([(1, 1, b"")])
    for i in range(65):
        write("%s/n%02d/raftlog" % (big, i), one, "wb")
    rc, out, err = timeline([big])
    ck.eq(rc, 2, "65 nodes: exit 2 (%r)" % err)
    ck.eq(out, b"", "nothing written")


def test_late_reports(ck, base):
    """A leader cut off steps down before its RPCs time out: it logs the
    peers unreachable as a follower, then campaigns without saying so
    again.  It is drawn partitioned from when it campaigns until the
    peers are reachable again."""
    top = os.path.join(base, "late")
    L = log_line
    ents = [(i, 1, b"a") for i in range(1, 4)]
    for n in ("n1", "n2", "n3"):
        write(top + "/%s/raftlog" % n, raftlog_bytes(ents, [3]), "wb")
    n1 = [L(T0, 1, 0, "follower", "raftd 0.1.0 starting: node 1 at x"),
          L(T0 + 0.5, 1, 0, "follower", "term 0: follower -> precandidate"),
          L(T0 + 0.6, 1, 0, "precandidate",
            "term 1: precandidate -> candidate"),
          L(T0 + 1, 1, 1, "candidate", "term 1: candidate -> leader"),
          L(T0 + 4, 1, 1, "follower", "term 1: leader -> follower"),
          L(T0 + 4.5, 1, 1, "follower", "peer 2 unreachable: deadline"),
          L(T0 + 4.5, 1, 1, "follower", "peer 3 unreachable: deadline"),
          L(T0 + 5, 1, 1, "precandidate",
            "term 1: follower -> precandidate"),
          L(T0 + 8, 1, 1, "precandidate", "peer 2 reachable again"),
          L(T0 + 8, 1, 1, "precandidate", "peer 3 reachable again"),
          L(T0 + 8.1, 1, 2, "follower", "term 2: precandidate -> follower"),
          L(T0 + 10, 1, 2, "follower", "stopped")]
    others = {n: [L(T0, n, 0, "follower",
                    "raftd 0.1.0 starting: node %d at x" % n),
                  L(T0 + 1.1, n, 1, "follower", "term 1: following leader 1"),
                  L(T0 + 10, n, 1, "follower", "stopped")] for n in (2, 3)}
    write(top + "/n1/raftd.log", "".join(n1))
    for n, lines in others.items():
        write(top + "/n%d/raftd.log" % n, "".join(lines))
    rc, out, err = timeline([top])
    ck.eq(rc, 0, "late reports: exit status (%r)" % err)
    cut = {e.get("data-node")
           for e in Picture(out).find("cut", "partitioned")}
    ck.eq(cut, {"n1"}, "a leader that logged its peers unreachable after "
          "stepping down, then campaigned, drawn partitioned")


def start_line(n, t=0.0):
    """Node n's "starting" line at T0 + t."""
    return log_line(T0 + t, n, 0, "follower",
                    "raftd 0.1.0 starting: node %d at x" % n)


def campaign(n, t, term):
    """Node n, a follower in term-1, wins term `term` from T0 + t."""
    L = log_line
    return [L(T0 + t, n, term - 1, "follower",
              "term %d: follower -> precandidate" % (term - 1)),
            L(T0 + t + 0.1, n, term - 1, "precandidate",
              "term %d: precandidate -> candidate" % term),
            L(T0 + t + 0.2, n, term, "candidate",
              "term %d: candidate -> leader" % term)]


def test_silent_heal(ck, base):
    """n1 leads term 1 and is cut off with n2 at +3 s; n4 leads term 2 on
    the other side, where n3's last line is "following leader 4".  The
    cut-off pair logs n3, n4 and n5 unreachable; when the partition heals
    they follow n4 and say "reachable again" for n4 and n5 only (no RPC to
    n3 was in flight).  n3 is killed at +8 s (n4 logs it unreachable) and
    restarts at +9 s.  Both cut-off nodes are drawn partitioned, and n3
    down from its kill, not from the partition (the cut-off pair's reports
    are not evidence of its death)."""
    top = os.path.join(base, "silent")
    L = log_line
    ents = [(i, 1, b"a") for i in range(1, 4)]
    for n in range(1, 6):
        write(top + "/n%d/raftlog" % n, raftlog_bytes(ents, [3]), "wb")

    start = start_line

    def cut_off(n, leader):
        lines = [start(n)]
        if leader:
            lines += campaign(n, 0.8, 1) + [
                      L(T0 + 3.3, n, 1, "leader",
                        "term 1: lost contact with a majority, stepping "
                        "down"),
                      L(T0 + 3.3, n, 1, "leader",
                        "term 1: leader -> follower")]
        else:
            lines.append(L(T0 + 1.1, n, 1, "follower",
                           "term 1: following leader 1"))
        lines.append(L(T0 + 3.6, n, 1, "follower",
                       "term 1: follower -> precandidate"))
        lines += [L(T0 + 3.8, n, 1, "precandidate",
                    "peer %d unreachable: deadline passed" % p)
                  for p in (3, 4, 5)]
        lines += [L(T0 + 6, n, 2, "precandidate",
                    "term 2: precandidate -> follower"),
                  L(T0 + 6, n, 2, "follower", "peer 4 reachable again"),
                  L(T0 + 6, n, 2, "follower", "peer 5 reachable again"),
                  L(T0 + 6.1, n, 2, "follower", "term 2: following leader 4"),
                  L(T0 + 12, n, 2, "follower", "stopped")]
        return lines

    logs = {1: cut_off(1, True), 2: cut_off(2, False)}
    logs[3] = [start(3),
               L(T0 + 1.1, 3, 1, "follower", "term 1: following leader 1"),
               L(T0 + 3.5, 3, 2, "follower", "term 2: following leader 4"),
               start(3, 9),
               L(T0 + 9.3, 3, 2, "follower", "term 2: following leader 4"),
               L(T0 + 12, 3, 2, "follower", "stopped")]
    logs[4] = [start(4),
               L(T0 + 1.1, 4, 1, "follower", "term 1: following leader 1")
               ] + campaign(4, 3.2, 2) + [
               L(T0 + 3.9, 4, 2, "leader", "peer 1 unreachable: deadline"),
               L(T0 + 3.9, 4, 2, "leader", "peer 2 unreachable: deadline"),
               L(T0 + 6, 4, 2, "leader", "peer 1 reachable again"),
               L(T0 + 6, 4, 2, "leader", "peer 2 reachable again"),
               L(T0 + 8.2, 4, 2, "leader", "peer 3 unreachable: refused"),
               L(T0 + 9.3, 4, 2, "leader", "peer 3 reachable again"),
               L(T0 + 12, 4, 2, "leader", "stopped")]
    logs[5] = [start(5),
               L(T0 + 1.1, 5, 1, "follower", "term 1: following leader 1"),
               L(T0 + 3.5, 5, 2, "follower", "term 2: following leader 4"),
               L(T0 + 12, 5, 2, "follower", "stopped")]
    for n, lines in logs.items():
        write(top + "/n%d/raftd.log" % n, "".join(lines))
    rc, out, err = timeline([top])
    ck.eq(rc, 0, "silent heal: exit status (%r)" % err)
    pic = Picture(out)
    cut = {e.get("data-node") for e in pic.find("cut", "partitioned")}
    ck.eq(cut, {"n1", "n2"}, "the cut-off pair drawn partitioned, though "
          "neither said n3 was reachable again")
    downs = ["".join(e.itertext()).strip() for e in pic.find("span", "down")
             if e.get("data-node") == "n3"]
    ck.check(len(downs) == 1 and downs[0].startswith("n3: down, +8.2s"),
             "n3 drawn down from its kill at +8.2 s only: %r" % downs)


def test_death_reports(ck, base):
    """Whose "unreachable" dates a kill.  (a) 5 nodes: leader n1 reports
    n5 (killed) at +5.2 s; at +10 s n1 is cut off alone and reports n2,
    n3, n4; n2 leads and reports n5 at +12 s; n5 restarts at +30 s: n5 is
    down from +5.2 s (a reporter cut off long after its report still
    dated it right).  (b) 3 nodes: n2 and n3 killed together; leader n1,
    unable to reach a majority, is the only one to report them (+3.5 s);
    they restart at +6 s: drawn down from +3.5 s, not from their last
    lines (+1.1 s)."""
    L = log_line
    ents = [(i, 1, b"a") for i in range(1, 4)]

    start = start_line

    def leads(n):
        return campaign(n, 0.8, 1)

    def draw(top, logs, what):
        for n, lines in logs.items():
            write(top + "/n%d/raftlog" % n, raftlog_bytes(ents, [3]), "wb")
            write(top + "/n%d/raftd.log" % n, "".join(lines))
        rc, out, err = timeline([top])
        ck.eq(rc, 0, "%s: exit status (%r)" % (what, err))
        pic = Picture(out)
        return {n: ["".join(e.itertext()).strip()
                    for e in pic.find("span", "down")
                    if e.get("data-node") == "n%d" % n] for n in logs}

    logs = {1: [start(1)] + leads(1) + [
        L(T0 + 5.2, 1, 1, "leader", "peer 5 unreachable: refused"),
        L(T0 + 10.5, 1, 1, "leader", "peer 2 unreachable: deadline"),
        L(T0 + 10.5, 1, 1, "leader", "peer 3 unreachable: deadline"),
        L(T0 + 10.5, 1, 1, "leader", "peer 4 unreachable: deadline"),
        L(T0 + 10.6, 1, 1, "leader",
          "term 1: lost contact with a majority, stepping down"),
        L(T0 + 10.6, 1, 1, "leader", "term 1: leader -> follower"),
        L(T0 + 40, 1, 1, "follower", "stopped")]}
    logs[2] = [start(2),
               L(T0 + 1.1, 2, 1, "follower", "term 1: following leader 1")
               ] + campaign(2, 10.8, 2) + [
               L(T0 + 11.5, 2, 2, "leader", "peer 1 unreachable: deadline"),
               L(T0 + 12, 2, 2, "leader", "peer 5 unreachable: refused"),
               L(T0 + 30.5, 2, 2, "leader", "peer 5 reachable again"),
               L(T0 + 40, 2, 2, "leader", "stopped")]
    for n in (3, 4):
        logs[n] = [start(n),
                   L(T0 + 1.1, n, 1, "follower", "term 1: following leader 1"),
                   L(T0 + 11, n, 2, "follower", "term 2: following leader 2"),
                   L(T0 + 40, n, 2, "follower", "stopped")]
    logs[5] = [start(5),
               L(T0 + 1.1, 5, 1, "follower", "term 1: following leader 1"),
               start(5, 30),
               L(T0 + 30.5, 5, 2, "follower", "term 2: following leader 2"),
               L(T0 + 40, 5, 2, "follower", "stopped")]
    downs = draw(os.path.join(base, "late-cut"), logs, "a later cut")
    ck.check(len(downs[5]) == 1 and downs[5][0].startswith("n5: down, +5.2s"),
             "n5 down from the report of its kill at +5.2 s, though the "
             "reporter was cut off at +10.5 s: %r" % downs[5])

    logs = {1: [start(1)] + leads(1) + [
        L(T0 + 3.5, 1, 1, "leader", "peer 2 unreachable: refused"),
        L(T0 + 3.5, 1, 1, "leader", "peer 3 unreachable: refused"),
        L(T0 + 3.8, 1, 1, "leader",
          "term 1: lost contact with a majority, stepping down"),
        L(T0 + 3.8, 1, 1, "leader", "term 1: leader -> follower"),
        L(T0 + 6.5, 1, 1, "follower", "peer 2 reachable again"),
        L(T0 + 6.5, 1, 1, "follower", "peer 3 reachable again"),
        L(T0 + 10, 1, 1, "follower", "stopped")]}
    for n in (2, 3):
        logs[n] = [start(n),
                   L(T0 + 1.1, n, 1, "follower", "term 1: following leader 1"),
                   start(n, 6),
                   L(T0 + 10, n, 1, "follower", "stopped")]
    downs = draw(os.path.join(base, "only-cut"), logs, "only cut reports")
    for n in (2, 3):
        ck.check(len(downs[n]) == 1 and
                 downs[n][0].startswith("n%d: down, +3.5s" % n),
                 "n%d down from the only report of its kill (+3.5 s, by a "
                 "node that could not reach a majority): %r" % (n, downs[n]))


def main(ck):
    base = tempfile.mkdtemp(prefix="raftd-timeline-")
    try:
        top = os.path.join(base, "run")
        test_scenario(ck, top)
        test_no_nodelogs(ck, top)
        test_hostile(ck, base)
        test_late_reports(ck, base)
        test_silent_heal(ck, base)
        test_death_reports(ck, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


rt.run(main)
