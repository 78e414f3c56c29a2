# test_startup.py: --version names the git commit; without --config raftd reads the compiled-in default; a start that fails leaves nothing behind and names only files that exist: a port in use (foreground and --daemon) creates no data dir, a --daemon that fails before its log is open does not point at a log file.
import os
import re
import socket
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster  # noqa: E402

VERSION = re.compile(r"^raftd (\d+\.\d+\.\d+) \(commit ([0-9a-f]{7,40}"
                     r"(-dirty)?|unknown)\)\n$")


def source_commit(top):
    """The commit the source tree says it is, as the build would record
    it (without -dirty), or None if it cannot say."""
    if os.path.exists(os.path.join(top, ".git")):
        try:
            out = subprocess.run(["git", "-C", top, "rev-parse", "--short=7",
                                  "HEAD"], capture_output=True, text=True,
                                 timeout=10)
        except OSError:
            return None
        return out.stdout.strip() if out.returncode == 0 else None
    try:
        with open(os.path.join(top, "COMMIT")) as f:
            return f.readline().strip().split("-")[0]
    except OSError:
        return None


def check_version(ck, c):
    rc, out = c.run_raw(["--version"])
    ck.eq(rc, 0, "--version exits 0")
    m = VERSION.match(out)
    ck.check(m, "--version: 'raftd X.Y.Z (commit HASH)' (%r)" % out)
    if not m:
        return
    top = os.environ.get("top_srcdir", rt.proc.SOURCE_TOP)
    want = source_commit(top)
    got = m.group(2).split("-")[0]
    if want is None:
        ck.eq(got, "unknown", "--version: no git and no COMMIT file: "
              "commit unknown")
    else:
        ck.check(len(want) >= 7 and (got.startswith(want) or
                                     want.startswith(got)),
                 "--version: the commit is the source's (%s, built %s)" %
                 (want, got))
    ck.note("--version: %s" % out.strip())


def check_default_config(ck, c):
    rc, out = c.run_raw(["--help"])
    m = re.search(r"--config FILE .*default:\s+(/\S+)", out)
    ck.check(rc == 0 and m, "--help names the default config")
    if not m:
        return
    path = m.group(1)
    ck.check(path.endswith("/raftd/raftd.conf"), "the default is "
             "SYSCONFDIR/raftd/raftd.conf (%s)" % path)
    if os.path.exists(path):
        ck.note("%s exists here (installed): running without --config "
                "would start that node; not run" % path)
        return
    before = sorted(os.listdir(c.dir))
    rc, out = c.run_raw(["-i", "1"])
    ck.eq(rc, 2, "no --config and no %s: exit 2" % path)
    ck.check(path in out and "--config" in out, "and the message names "
             "the default and --config (%r)" % out.strip())
    ck.eq(sorted(os.listdir(c.dir)), before, "and nothing is created")


def holding(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    return s


def check_port_taken(ck, c):
    for which, port in (("client", c.nodes[1].port),
                        ("peer", c.peer_port(1))):
        for daemon in (False, True):
            what = "%s port taken%s" % (which, ", --daemon" if daemon
                                        else "")
            ddir = os.path.join(c.dir, "fresh-%s-%d" % (which, daemon))
            pidfile = os.path.join(c.dir, "raftd-%s.pid" % which)
            args = ["-c", c.conf, "-i", "1", "--data-dir", ddir]
            if daemon:
                args += ["--daemon", "--pidfile", pidfile]
            with holding(port):
                rc, out = c.run_raw(args)
            ck.eq(rc, 1, "%s: exit 1" % what)
            ck.check("cannot listen on" in out and str(port) in out,
                     "%s: a clear error naming the port (%r)" %
                     (what, out.strip()))
            ck.check(not os.path.exists(ddir), "%s: no data dir created" %
                     what)
            ck.check(not os.path.exists(pidfile), "%s: no pidfile" % what)
            ck.check("see " not in out, "%s: no pointer to a log file "
                     "(%r)" % (what, out.strip()))


def check_daemon_failures(ck, c):
    # The log file cannot be created: said on the terminal, and not
    # "see <that file>".
    ddir = os.path.join(c.dir, "d-nolog")
    pidfile = os.path.join(c.dir, "nolog.pid")
    log = os.path.join(c.dir, "no-such-dir", "raftd.log")
    rc, out = c.run_raw(["-c", c.conf, "-i", "1", "-d", ddir, "--daemon",
                         "--pidfile", pidfile, "--log-file", log])
    ck.eq(rc, 1, "--daemon, log file in a missing dir: exit 1")
    ck.check(log in out and "No such file" in out,
             "and the error names the log file (%r)" % out.strip())
    ck.check("see " not in out, "and does not send the reader to it")
    ck.check(not os.path.exists(pidfile), "and removes its pidfile")
    ck.check(not os.path.exists(ddir), "and creates no data dir")

    # The pidfile cannot be written: not "see DATA_DIR/raftd.log" either
    # (that file was never created).
    ddir = os.path.join(c.dir, "d-nopid")
    pidfile = os.path.join(c.dir, "no-such-dir", "raftd.pid")
    rc, out = c.run_raw(["-c", c.conf, "-i", "1", "-d", ddir, "--daemon",
                         "--pidfile", pidfile])
    ck.eq(rc, 1, "--daemon, pidfile in a missing dir: exit 1")
    ck.check(pidfile in out, "and the error names the pidfile (%r)" %
             out.strip())
    ck.check("see " not in out and "raftd.log" not in out,
             "and does not send the reader to a log file")
    ck.check(not os.path.exists(os.path.join(ddir, "raftd.log")),
             "and no log file was created")

    # A failure after the log is open (the data dir is in use by a running
    # node): the message names the log, which exists and says why.
    ddir = os.path.join(c.dir, "d-busy")
    p = c.spawn(["-c", c.conf, "-i", "1", "-d", ddir], log_name="busy")
    rt.wait_for(lambda: p.poll() is None and c.status(1, timeout=2), 15,
                "node 1 to answer")
    log = os.path.join(c.dir, "busy-daemon.log")
    c.extra_logs.append(log)
    pidfile = os.path.join(c.dir, "busy.pid")
    rc, out = c.run_raw(["-c", c.conf, "-i", "2", "-d", ddir, "--daemon",
                         "--pidfile", pidfile, "--log-file", log])
    ck.eq(rc, 1, "--daemon on a data dir in use: exit 1")
    ck.check("see %s" % log in out, "and the message names its log "
             "(%r)" % out.strip())
    ck.check(os.path.exists(log) and "in use" in open(log).read(),
             "which exists and says the data dir is in use")
    ck.check(not os.path.exists(pidfile), "and the pidfile is removed")
    ck.eq(c.status(1)["id"], 1, "the running node is untouched")


def main(ck):
    c = Cluster(2, name="startup", start=False)
    check_version(ck, c)
    check_default_config(ck, c)
    check_port_taken(ck, c)
    check_daemon_failures(ck, c)
    c.finish(ck)


rt.run(main)
