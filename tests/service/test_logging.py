# test_logging.py: --log-format json writes one JSON object a line (time, level, node, term, role, message; escaped, also bytes that are not UTF-8); --syslog sends the lines to syslog (facility daemon, levels mapped) and nothing to stderr; on the journal's stream (JOURNAL_STREAM) each line carries its <priority>.
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster  # noqa: E402

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LEVELS = ("error", "warn", "info", "debug")
# A short secret: raftd warns about it, so every run has a warn line.
SHORT_SECRET = "too-short"


def run_node(ck, c, args, what, env=None, argv0=None):
    """Starts node 1 with args (stdout and stderr to a file), waits until
    it answers, writes a key, sends SIGHUP, stops it with SIGTERM.
    Returns (exit code, what it wrote on stdout/stderr)."""
    out = os.path.join(c.dir, "%s.out" % what.replace(" ", "-"))
    c.extra_logs.append(out)
    with open(out, "wb") as f:
        p = subprocess.Popen((argv0 or []) + [c.raftd] + args, env=env,
                             cwd=c.dir, stdin=subprocess.DEVNULL, stdout=f,
                             stderr=f)
    c.raw_procs.append(p)
    st = rt.wait_for(lambda: p.poll() is None and c.status(1, timeout=2),
                     15, "%s: node 1 to answer" % what)
    ck.eq(st["id"], 1, "%s: node 1 serves" % what)
    c.leader(among=[1])
    ck.eq(c.call_with_retry("put", "k", what), True, "%s: a put commits" %
          what)
    os.kill(p.pid, signal.SIGHUP)
    ck.eq(c.status(1)["id"], 1, "%s: survives SIGHUP" % what)
    os.kill(p.pid, signal.SIGTERM)
    try:
        rc = p.wait(15)
    except subprocess.TimeoutExpired:
        rc = None
    with open(out, "rb") as f:
        return rc, f.read()


def check_json(ck, c):
    # A data dir whose name has what JSON must escape: a quote, a
    # backslash, a tab, a byte that is not UTF-8, and an é that is.
    ddir = os.path.join(c.dir.encode(), b'dir "q" \\b\tx\xff\xc3\xa9')
    args = ["-c", c.conf, "-i", "1", "--log-format", "json", "--log-level",
            "debug"]
    rc, out = run_node(ck, c, args + ["-d", ddir.decode("utf-8",
                                                          "surrogateescape")],
                       "json")
    ck.eq(rc, 0, "json: SIGTERM: exit 0")
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as e:
        ck.check(False, "json: the output is UTF-8 (%s)" % e)
        return
    lines = text.splitlines()
    objs, bad = [], []
    for ln in lines:
        try:
            objs.append(json.loads(ln))
        except ValueError:
            bad.append(ln)
    ck.eq(bad[:3], [], "json: every line is a JSON object (%d lines)" %
          len(lines))
    ck.check(len(objs) >= 5, "json: lines were written (%d)" % len(objs))
    want = {"time", "level", "node", "term", "role", "message", "source"}
    odd = [o for o in objs if not isinstance(o, dict) or set(o) != want]
    ck.eq(odd[:2], [], "json: each object has exactly %s (debug adds "
          "source)" % sorted(want))
    ck.check(all(TIME.match(o["time"]) and o["level"] in LEVELS and
                 o["node"] == 1 and isinstance(o["term"], int) and
                 o["role"] in ("follower", "candidate", "leader") and
                 isinstance(o["message"], str) and
                 re.match(r"^[\w/.-]+\.c:\d+$", o["source"])
                 for o in objs if o not in odd),
             "json: the fields have their types and forms")
    ck.check(any(o["role"] == "leader" and o["term"] >= 1 for o in objs),
             "json: role and term follow the node (it led)")
    ck.check(any(o["level"] == "warn" and "secret" in o["message"]
                 for o in objs), "json: a warn line (the short secret)")
    # The data dir came back whole: escaped, and the byte that is not
    # UTF-8 as U+FFFD.
    shown = ddir.decode("utf-8", "replace")
    start = [o["message"] for o in objs if "starting" in o["message"]]
    ck.check(start and start[0].endswith("data dir " + shown),
             "json: the message with quote, backslash, tab, \\xff and é "
             "parses back (%r)" % start[:1])
    ck.check('\\"q\\" \\\\b\\tx\\ufffd\u00e9' in text,
             "json: escaped as \\\" \\\\ \\t \\ufffd (é as UTF-8)")
    ck.note("json: %d lines, all parsed" % len(objs))


def syslog_capture_possible():
    """Capturing what raftd sends to /dev/log needs a mount namespace of
    its own (root, unshare)."""
    return os.geteuid() == 0 and shutil.which("unshare") and \
        shutil.which("mount")


# Runs the command in a private mount namespace whose /dev is a fresh
# tmpfs with null, zero, random and urandom bound in, and /dev/log bound
# to the test's socket ($LOGSOCK): the host's /dev is not touched.
NS_SCRIPT = r'''set -e
mkdir -p "$NSDIR/olddev"
mount --bind /dev "$NSDIR/olddev"
mount -t tmpfs -o size=1m,mode=755 tmpfs /dev
for n in null zero random urandom; do
	touch "/dev/$n"
	mount --bind "$NSDIR/olddev/$n" "/dev/$n"
done
touch /dev/log
mount --bind "$LOGSOCK" /dev/log
exec "$@"
'''


def check_syslog(ck, c):
    # --syslog with --log-file: one or the other.
    rc, out = c.run_raw(["-c", c.conf, "-i", "1", "--syslog", "--log-file",
                         os.path.join(c.dir, "x.log")])
    ck.eq(rc, 2, "--syslog --log-file: exit 2")
    ck.check("choose one" in out, "and says so (%r)" % out.strip())
    ck.check(not os.path.exists(os.path.join(c.dir, "x.log")),
             "and creates no log file")

    if not syslog_capture_possible():
        # Without a /dev/log of our own, syslog(3) drops the lines: check
        # what can be checked.
        rc, out = run_node(ck, c, ["-c", c.conf, "-i", "1", "--syslog"],
                           "syslog")
        ck.eq(rc, 0, "--syslog: SIGTERM: exit 0")
        ck.eq(out, b"", "--syslog: nothing on stdout or stderr")
        ck.note("--syslog: not root or no unshare: what reached syslog "
                "was not checked, only that raftd ran and wrote nothing "
                "to stderr")
        return
    nsdir = os.path.join(c.dir, "ns")
    os.mkdir(nsdir)
    logsock = os.path.join(nsdir, "log")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(logsock)
    env = dict(os.environ, NSDIR=nsdir, LOGSOCK=logsock)
    argv0 = ["unshare", "-m", "--propagation", "private", "sh", "-c",
             NS_SCRIPT, "sh"]
    # A syslog daemon reads as the lines come (syslog(3) blocks on a full
    # socket).
    msgs = []
    done = threading.Event()

    def reader():
        sock.settimeout(0.2)
        for _ in range(100000):
            try:
                msgs.append(sock.recv(65536).decode("utf-8", "replace"))
            except socket.timeout:
                if done.is_set():
                    return
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    rc, out = run_node(ck, c, ["-c", c.conf, "-i", "1", "--syslog"],
                       "syslog", env=env, argv0=argv0)
    done.set()
    t.join(10)
    sock.close()
    ck.eq(rc, 0, "--syslog: SIGTERM: exit 0")
    ck.eq(out, b"", "--syslog: nothing on stdout or stderr")
    # <PRI>TIMESTAMP raftd[PID]: node=1 term=T ROLE LEVEL: message
    line = re.compile(r"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d raftd\[(\d+)\]: "
                      r"node=1 term=\d+ (\w+) (\w+): (.*)$")
    parsed = [line.match(m) for m in msgs]
    ck.check(msgs and all(parsed), "syslog: %d lines, each '<PRI>time "
             "raftd[pid]: node=1 term=T role level: message' (%r)" %
             (len(msgs), [m for m, p in zip(msgs, parsed) if not p][:2]))
    sev = {"error": 3, "warn": 4, "info": 6, "debug": 7}
    parsed = [p for p in parsed if p]
    ck.check(parsed and all(int(p.group(1)) == 3 * 8 + sev[p.group(4)]
                            for p in parsed),
             "syslog: facility daemon, severity from the level")
    ck.check(any(p.group(4) == "warn" and int(p.group(1)) == 28
                 for p in parsed), "syslog: a warn line at <28> (daemon."
             "warning)")
    texts = [p.group(5) for p in parsed]
    ck.check(any("starting" in t for t in texts) and
             any("no log file to reopen" in t and "syslog" in t
                 for t in texts) and texts and texts[-1] == "stopped",
             "syslog: the start, the SIGHUP and 'stopped' are there")
    ck.note("syslog: %d lines through /dev/log in a mount namespace" %
            len(msgs))


def check_journal(ck, c):
    # stderr is the journal's stream when JOURNAL_STREAM names it: each
    # line starts with <severity>.
    out = os.path.join(c.dir, "journal.out")
    c.extra_logs.append(out)
    with open(out, "wb") as f:
        st = os.fstat(f.fileno())
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev,
                                                          st.st_ino))
        p = subprocess.Popen([c.raftd, "-c", c.conf, "-i", "1"], env=env,
                             cwd=c.dir, stdin=subprocess.DEVNULL,
                             stdout=f, stderr=f)
    c.raw_procs.append(p)
    rt.wait_for(lambda: p.poll() is None and c.status(1, timeout=2), 15,
                "journal: node 1 to answer")
    os.kill(p.pid, signal.SIGTERM)
    ck.eq(p.wait(15), 0, "journal: SIGTERM: exit 0")
    with open(out) as f:
        lines = f.read().splitlines()
    pri = re.compile(r"^<([3467])>\d{4}-\d\d-\d\dT[\d:.]+Z node=1 term=\d+ "
                     r"\w+ (error|warn|info|debug): ")
    ok = [pri.match(ln) for ln in lines]
    ck.check(lines and all(ok), "journal: every line starts with "
             "<severity> (%r)" % [ln for ln, m in zip(lines, ok)
                                  if not m][:2])
    sev = {"error": "3", "warn": "4", "info": "6", "debug": "7"}
    ck.check(all(m.group(1) == sev[m.group(2)] for m in ok if m) and
             any(m.group(1) == "4" for m in ok if m),
             "journal: the severity is the level's (warn <4>, info <6>)")

    # With --log-file, stderr is no longer the journal: plain lines.
    logf = os.path.join(c.dir, "journal-file.log")
    c.extra_logs.append(logf)
    with open(out, "wb") as f:
        p = subprocess.Popen([c.raftd, "-c", c.conf, "-i", "1", "--log-file",
                              logf], env=env, cwd=c.dir,
                             stdin=subprocess.DEVNULL, stdout=f, stderr=f)
    c.raw_procs.append(p)
    rt.wait_for(lambda: p.poll() is None and c.status(1, timeout=2), 15,
                "journal, --log-file: node 1 to answer")
    os.kill(p.pid, signal.SIGTERM)
    ck.eq(p.wait(15), 0, "journal, --log-file: SIGTERM: exit 0")
    with open(logf) as f:
        lines = f.read().splitlines()
    ck.check(lines and all(re.match(r"^\d{4}-", ln) for ln in lines),
             "journal, --log-file: the file's lines have no <severity> "
             "(%r)" % lines[:1])


def main(ck):
    c = Cluster(1, name="logging", start=False, secret=SHORT_SECRET)
    check_json(ck, c)
    check_syslog(ck, c)
    check_journal(ck, c)
    c.finish(ck)


rt.run(main)
