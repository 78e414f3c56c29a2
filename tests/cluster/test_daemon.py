# test_daemon.py: --daemon --pidfile detaches, writes the pid, and SIGTERM stops it and removes the pidfile.
import os
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster, pid_alive, wait_for  # noqa: E402


def session_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[3])  # ppid, session


def start_daemon(ck, c, pidfile, extra, what):
    rc, out = c.run_raw(["-c", c.conf, "-i", "1", "--daemon", "--pidfile",
                         pidfile] + extra, timeout=15)
    ck.eq(rc, 0, "%s: the starting process exits 0" % what)
    ck.check(os.path.exists(pidfile), "%s: the pidfile exists" % what)
    with open(pidfile) as f:
        text = f.read()
    ck.check(text.strip().isdigit() and text.endswith("\n"),
             "%s: the pidfile holds a pid and a newline (%r)" % (what, text))
    pid = int(text)
    c.add_pid(pid)
    ck.check(pid_alive(pid), "%s: pid %d runs" % (what, pid))
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        ck.check(c.conf.encode() in f.read(), "%s: pid %d is our raftd" %
                 (what, pid))
    ppid, sid = session_of(pid)
    ck.check(ppid != os.getpid(), "%s: not our child (ppid %d)" % (what,
                                                                   ppid))
    ck.check(sid != os.getsid(0), "%s: in its own session" % what)
    ck.eq(os.path.realpath("/proc/%d/fd/0" % pid), "/dev/null",
          "%s: stdin is /dev/null" % what)
    return pid


def stop_daemon(ck, c, pid, pidfile, what):
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pid_alive(pid), 5, "%s: pid %d to exit" % (what,
                                                                     pid))
    ck.check(True, "%s: SIGTERM stops it within 5 s" % what)
    ck.check(not os.path.exists(pidfile), "%s: the pidfile is removed" %
             what)


def main(ck):
    c = Cluster(1, name="daemon", start=False)
    pidfile = os.path.join(c.dir, "raftd.pid")
    log = os.path.join(c.data_dir(1), "raftd.log")
    c.extra_logs.append(log)

    pid = start_daemon(ck, c, pidfile, [], "--daemon")
    ck.eq(os.path.realpath("/proc/%d/fd/2" % pid), log,
          "stderr goes to DATA_DIR/raftd.log")
    st = wait_for(lambda: c.status(1, timeout=2), 15, "the daemon to answer")
    ck.eq(st["id"], 1, "the daemon serves XML-RPC")
    c.leader(among=[1])
    ck.eq(c.call_with_retry("put", "k", "v"), True, "the daemon commits a put")
    with open(log) as f:
        text = f.read()
    ck.check("serving XML-RPC" in text, "raftd.log has the start-up lines")

    # A second daemon with the same pidfile is refused and changes nothing.
    rc, out = c.run_raw(["-c", c.conf, "-i", "1", "--daemon", "--pidfile",
                         pidfile], timeout=15)
    ck.check(rc != 0, "a second --daemon with a live pidfile fails (%d)" % rc)
    with open(log) as f:
        ck.check("already running" in out + f.read(),
                 "and says it is already running")
    with open(pidfile) as f:
        ck.eq(f.read().strip(), str(pid), "the pidfile still names the "
              "first daemon")
    ck.check(pid_alive(pid), "the first daemon still runs")
    ck.eq(c.status(1)["id"], 1, "and serves")

    stop_daemon(ck, c, pid, pidfile, "--daemon")
    with open(log) as f:
        lines = f.read().strip().splitlines()
    ck.check(lines and lines[-1].endswith("stopped"), "raftd.log ends with "
             "'stopped' (%r)" % (lines[-1:],))
    ck.note("--daemon: pid %d detached, served, stopped on SIGTERM, pidfile "
            "removed" % pid)

    # A stale pidfile (no such process) does not stop a start; --log-file
    # puts the log elsewhere; the data survived the restart.
    with open(pidfile, "w") as f:
        f.write("999999999\n")
    other_log = os.path.join(c.dir, "other.log")
    c.extra_logs.append(other_log)
    pid = start_daemon(ck, c, pidfile, ["--log-file", other_log],
                       "with a stale pidfile and --log-file")
    wait_for(lambda: c.status(1, timeout=2), 15, "the daemon to answer")
    c.leader(among=[1])
    ck.eq(c.call_with_retry("get", "k"), "v", "the put survived the restart")
    ck.check(os.path.exists(other_log) and "serving XML-RPC" in
             open(other_log).read(), "--log-file: the log is there")
    stop_daemon(ck, c, pid, pidfile, "--log-file")

    # A data dir that is two levels deep and does not exist yet (as the
    # example config's relative data_dir = "data/node-%i" is from a fresh
    # directory): --daemon creates all of it for its default log file.
    deep = os.path.join(c.dir, "fresh", "data", "node-1")
    pid = start_daemon(ck, c, pidfile, ["-d", deep],
                       "--daemon with a nested data dir not yet there")
    wait_for(lambda: c.status(1, timeout=2), 15, "the daemon to answer")
    ck.check(os.path.exists(os.path.join(deep, "raftd.log")) and
             os.path.exists(os.path.join(deep, "raftlog")),
             "the nested data dir holds raftd.log and the raftlog")
    c.extra_logs.append(os.path.join(deep, "raftd.log"))
    stop_daemon(ck, c, pid, pidfile, "nested data dir")
    c.finish(ck)


rt.run(main)
