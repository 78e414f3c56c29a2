# test_signals.py: SIGHUP reopens a log file renamed by logrotate; SIGUSR1, SIGUSR2 and the other terminating signals are logged and ignored; SIGTERM still stops a node cleanly; a --daemon keeps its pidfile through them.
import os
import re
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster, pid_alive, wait_for  # noqa: E402

# Signals whose default action is to terminate, that raftd must survive.
IGNORED = [signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGPROF,
           signal.SIGVTALRM, signal.SIGIO, signal.SIGPWR, signal.SIGRTMIN,
           signal.SIGRTMAX]
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z node=\d+ "
                  r"term=\d+ \w+ (error|warn|info|debug): ")


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def torn_lines(text):
    """Lines of a log that are not whole log lines."""
    return [ln for ln in text.splitlines()
            if not LINE.match(ln) and not ln.startswith("=== harness:")]


def serves(c, what, key):
    c.stable_leader(timeout=15)
    return c.call_with_retry("put", key, what) is True and \
        c.call_with_retry("get", key) == what


def main(ck):
    c = Cluster(3, name="signals")
    lead, term = c.stable_leader()
    f = [n for n in c.ids() if n != lead][0]

    # ---- SIGHUP after logrotate renamed the file ----------------------------
    logf = os.path.join(c.dir, "node-%d-file.log" % f)
    c.extra_logs += [logf, logf + ".1", logf + ".2"]
    rc, _ = c.stop(f)
    ck.eq(rc, 0, "node %d stops for its restart with --log-file" % f)
    c.start(f, extra_args=["--log-file", logf])
    wait_for(lambda: "serving XML-RPC" in read(logf), 15,
             "node %d to log into %s" % (f, logf))
    pid = c.nodes[f].pid
    for rot in (1, 2):
        os.rename(logf, "%s.%d" % (logf, rot))
        os.kill(pid, signal.SIGHUP)
        wait_for(lambda: "reopened the log file" in read(logf), 10,
                 "a new %s after SIGHUP %d" % (logf, rot))
        ck.check(c.is_running(f), "rotation %d: node %d survives SIGHUP" %
                 (rot, f))
        ck.eq(c.status(f)["id"], f, "rotation %d: node %d still answers" %
              (rot, f))
        # The SIGHUP line goes to the old file, and the new one starts
        # with the reopen (another thread may log a line into the old
        # file between the two: each line goes wholly to one file).
        old = read("%s.%d" % (logf, rot)).strip().splitlines()
        new = read(logf).strip().splitlines()
        ck.check(any("received SIGHUP: reopening the log file" in ln
                     for ln in old),
                 "rotation %d: the renamed file has the SIGHUP line (%r)" %
                 (rot, old[-2:]))
        ck.check(new and "reopened the log file" in new[0],
                 "rotation %d: the new file starts with the reopen (%r)" %
                 (rot, new[:1]))
    ck.check(serves(c, "after-hup", "k-hup"), "the cluster serves after "
             "two rotations")

    # A node that logs to stderr (no file) shrugs SIGHUP off.
    os.kill(c.nodes[lead].pid, signal.SIGHUP)
    wait_for(lambda: "no log file to reopen" in c.log_text(lead), 10,
             "node %d to log the SIGHUP" % lead)
    ck.check(c.is_running(lead), "a node logging to stderr survives SIGHUP")

    # ---- SIGUSR1, SIGUSR2 and the rest: logged, ignored ---------------------
    for sig in IGNORED:
        for nid in c.ids():
            os.kill(c.nodes[nid].pid, sig)
    for nid in c.ids():
        def logged(nid=nid):
            text = read(logf) if nid == f else c.log_text(nid)
            return len(re.findall(r"\(signal \d+\): ignored", text)) >= \
                len(IGNORED)
        wait_for(logged, 10, "node %d to log %d ignored signals" %
                 (nid, len(IGNORED)))
    ck.eq(c.running(), c.ids(), "every node survives %s" %
          ", ".join(signal.Signals(s).name for s in IGNORED))
    ck.check(serves(c, "after-usr", "k-usr"), "the cluster still serves")
    ck.eq(c.stable_leader()[0], lead, "the leader is the same node")
    ck.note("survived SIGHUP (x2 with a rename, and on stderr) and %d other "
            "signals on every node" % len(IGNORED))

    # ---- a burst of SIGHUPs: the node stays up, every line whole ------------
    # (Pending signals of one kind merge, so fewer reopens than signals
    # may be logged; tests/unit/test_log checks reopens against many
    # concurrent writers line by line.)
    before = read(logf).count("reopened the log file")
    for _ in range(30):
        os.kill(pid, signal.SIGHUP)
        os.kill(pid, signal.SIGUSR1)
    wait_for(lambda: read(logf).count("reopened the log file") > before, 10,
             "node %d to log a reopen after the burst" % f)
    ck.check(c.is_running(f), "node %d survives 30 SIGHUPs" % f)
    ck.eq(c.status(f)["id"], f, "and answers")
    torn = torn_lines(read(logf)) + torn_lines(read(logf + ".1")) + \
        torn_lines(read(logf + ".2"))
    ck.eq(torn, [], "no torn or partial line in the log files")

    # ---- SIGTERM still stops cleanly ----------------------------------------
    rc, took = c.stop(f, timeout=10)
    ck.eq(rc, 0, "SIGTERM after all that: exit status 0")
    lines = read(logf).strip().splitlines()
    ck.check(lines and lines[-1].endswith("stopped"), "the new log file ends "
             "with 'stopped' (%r)" % lines[-1:])
    ck.note("SIGTERM stopped node %d in %.2f s, exit 0" % (f, took))
    c.finish(ck)

    # ---- a --daemon keeps running and keeps its pidfile ---------------------
    c = Cluster(1, name="signals-daemon", start=False)
    pidfile = os.path.join(c.dir, "raftd.pid")
    log = os.path.join(c.data_dir(1), "raftd.log")
    c.extra_logs += [log, log + ".1"]
    rc, out = c.run_raw(["-c", c.conf, "-i", "1", "--daemon", "--pidfile",
                         pidfile], timeout=15)
    ck.eq(rc, 0, "--daemon starts (%s)" % out.strip())
    with open(pidfile) as fp:
        dpid = int(fp.read())
    c.add_pid(dpid)
    wait_for(lambda: c.status(1, timeout=2), 15, "the daemon to answer")
    os.rename(log, log + ".1")
    os.kill(dpid, signal.SIGHUP)
    wait_for(lambda: "reopened the log file" in read(log), 10,
             "the daemon to reopen DATA_DIR/raftd.log")
    os.kill(dpid, signal.SIGUSR1)
    os.kill(dpid, signal.SIGUSR2)
    wait_for(lambda: read(log).count("ignored") >= 2, 10,
             "the daemon to log SIGUSR1 and SIGUSR2")
    ck.check(pid_alive(dpid), "the daemon survives SIGHUP, SIGUSR1, SIGUSR2")
    with open(pidfile) as fp:
        ck.eq(fp.read().strip(), str(dpid), "its pidfile still names it")
    ck.eq(c.status(1)["id"], 1, "and it serves")
    os.kill(dpid, signal.SIGTERM)
    wait_for(lambda: not pid_alive(dpid), 10, "the daemon to stop")
    ck.check(not os.path.exists(pidfile), "SIGTERM: the pidfile is removed")
    ck.check(read(log).strip().endswith("stopped"), "the reopened log ends "
             "with 'stopped'")
    c.finish(ck)


rt.run(main)
